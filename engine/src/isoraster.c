/* isoraster.c -- the travel-time raster of a service area, and its polygons.
 *
 * THE RASTER. A grid of square cells of `cell` metres in the workspace's
 * metric CRS, its edges on multiples of the cell size (so two rasters of
 * the same cell size share their cell edges), framed on the reached pieces
 * plus the band. A cell's value is the earliest time, in whole ms
 * (floored), at which a reached road point lies within `band` metres of
 * the cell's centre:
 *     t(cell) = min { t(p) : p on a reached piece, |p - centre| <= band }
 * where t(p) runs linearly along each piece from its start time to its end
 * time (pieces: collect() in isochrone.c; frontier pieces and the origins'
 * walks included). The band is the off-road allowance: ground within
 * `band` of a road reached by T counts as reached by T. For one segment
 * the reached points within the band of a centre form one interval of the
 * segment (the chord of the band's circle), and the earliest is one of its
 * two ends, so each cell costs a projection and a square root; only the
 * cells of the segment's box widened by the band are visited.
 *
 * THE CONTOUR T is the union of the cells with t(cell) <= T, polygonised
 * by GDAL (GDALPolygonize, 4-connected: cells touching at a corner only
 * are separate polygons) from a byte mask. Contours of one raster are
 * nested exactly (the cell sets are), holes are the cells farther than the
 * band from every road reached by T, and a network node reached by T is
 * inside: its cell's centre is within cell * sqrt(2) / 2 <= band of it
 * (the cell size is limited to band * sqrt(2)). The contour's area is its
 * number of cells times cell². The polygon agrees with the union of
 * round-capped buffers of width `band` around the pieces up to half a
 * cell along its outline. */
#include "graph.h"
#include "ogrio.h"
#include "workspace.h"

#include <gdal_alg.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CELLS 400000000.0 /* 1.6 GB of times */

void wg_iso_raster_free(wg_iso_raster *r) {
    if (!r) return;
    free(r->t);
    memset(r, 0, sizeof *r);
}

/* Lowers the cells within the band of segment a-b (times ta at a, tb at b). */
static void stamp(wg_iso_raster *r, double ax, double ay, double bx, double by, double ta,
                  double tb) {
    const double B = r->band, B2 = B * B, cs = r->cell;
    double dx = bx - ax, dy = by - ay, L = sqrt(dx * dx + dy * dy);
    double xa = (ax < bx ? ax : bx) - B, xb = (ax < bx ? bx : ax) + B;
    double ya = (ay < by ? ay : by) - B, yb = (ay < by ? by : ay) + B;
    double fc0 = floor((xa - r->x0) / cs), fc1 = floor((xb - r->x0) / cs);
    double fr0 = floor((r->y1 - yb) / cs), fr1 = floor((r->y1 - ya) / cs);
    if (fc1 < 0 || fr1 < 0 || fc0 >= r->w || fr0 >= r->h) return;
    uint32_t c0 = fc0 < 0 ? 0 : (uint32_t)fc0, c1 = fc1 >= r->w ? r->w - 1 : (uint32_t)fc1;
    uint32_t r0 = fr0 < 0 ? 0 : (uint32_t)fr0, r1 = fr1 >= r->h ? r->h - 1 : (uint32_t)fr1;
    double ux = L > 0 ? dx / L : 0, uy = L > 0 ? dy / L : 0, k = L > 0 ? (tb - ta) / L : 0;
    for (uint32_t row = r0; row <= r1; row++) {
        double py = r->y1 - (row + 0.5) * cs - ay;
        uint32_t *line = r->t + (size_t)row * r->w;
        for (uint32_t col = c0; col <= c1; col++) {
            double px = r->x0 + (col + 0.5) * cs - ax;
            double s = px * ux + py * uy, h2 = px * px + py * py - s * s;
            if (h2 > B2) continue;
            double half = sqrt(B2 - (h2 > 0 ? h2 : 0)), lo = s - half, hi = s + half;
            if (lo < 0) lo = 0;
            if (hi > L) hi = L;
            if (lo > hi) continue;
            double t = ta + k * (k >= 0 ? lo : hi);
            uint32_t v = t >= (double)(WG_W_INF - 1) ? WG_W_INF - 1 : (uint32_t)(t > 0 ? t : 0);
            if (v < line[col]) line[col] = v;
        }
    }
}

wg_status wg_iso_raster_build(wg_ws *ws, const wg_iso_piece *pc, size_t npc, const double *ll,
                              size_t npt, double band, double cell, wg_iso_raster *r) {
    wg_ctx *ctx = ws->ctx;
    wg_status rc;
    memset(r, 0, sizeof *r);
    if (!(band > 0) || !(cell > 0) || cell > band * sqrt(2.0) * (1 + 1e-9))
        return wg_err(ctx, WG_ERR_INVALID_ARG, "the cell size (%g m) must be > 0 and at most "
                      "sqrt(2) times the band (%g m): a reached node must lie within the band "
                      "of its cell's centre", cell, band);
    r->band = band, r->cell = cell;
    if (!npc || !npt) return WG_OK;
    double *xy = malloc(npt * 2 * sizeof *xy);
    if (!xy) return wg_err(ctx, WG_ERR_NOMEM, "out of memory for a service area raster");
    memcpy(xy, ll, npt * 2 * sizeof *xy);
    if ((rc = wg_ws_metric_xy(ws, 0, xy, npt))) goto done;
    double xmin = HUGE_VAL, ymin = HUGE_VAL, xmax = -HUGE_VAL, ymax = -HUGE_VAL;
    for (size_t i = 0; i < npt; i++) {
        double x = xy[2 * i], y = xy[2 * i + 1];
        if (x < xmin) xmin = x;
        if (x > xmax) xmax = x;
        if (y < ymin) ymin = y;
        if (y > ymax) ymax = y;
    }
    r->x0 = floor((xmin - band) / cell) * cell;
    r->y1 = ceil((ymax + band) / cell) * cell;
    double w = ceil((xmax + band) / cell) - floor((xmin - band) / cell);
    double h = ceil((ymax + band) / cell) - floor((ymin - band) / cell);
    if (w * h > MAX_CELLS) {
        rc = wg_err(ctx, WG_ERR_INVALID_ARG, "the service area's raster would have %.0f x %.0f "
                    "cells of %g m; use larger cells", w, h, cell);
        goto done;
    }
    r->w = (uint32_t)w, r->h = (uint32_t)h;
    r->t = malloc((size_t)r->w * r->h * sizeof *r->t);
    if (!r->t) {
        rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory for a %u x %u service area raster", r->w,
                    r->h);
        goto done;
    }
    memset(r->t, 0xff, (size_t)r->w * r->h * sizeof *r->t); /* WG_W_INF */
    for (size_t i = 0; i < npc; i++) {
        const wg_iso_piece *p = &pc[i];
        const double *q = xy + 2 * (size_t)p->off;
        double len = 0;
        for (uint32_t k = 0; k + 1 < p->npts; k++)
            len += hypot(q[2 * k + 2] - q[2 * k], q[2 * k + 3] - q[2 * k + 1]);
        double at = 0, rate = len > 0 ? (p->t1 - p->t0) / len : 0;
        for (uint32_t k = 0; k + 1 < p->npts; k++) {
            double sl = hypot(q[2 * k + 2] - q[2 * k], q[2 * k + 3] - q[2 * k + 1]);
            double ta = p->t0 + rate * at, tb = k + 2 == p->npts ? p->t1 : p->t0 + rate * (at + sl);
            stamp(r, q[2 * k], q[2 * k + 1], q[2 * k + 2], q[2 * k + 3], ta, tb);
            at += sl;
        }
        if (p->npts == 1) stamp(r, q[0], q[1], q[0], q[1], p->t0, p->t0);
    }
done:
    free(xy);
    if (rc) wg_iso_raster_free(r);
    return rc;
}

int64_t wg_iso_raster_count(const wg_iso_raster *r, double T) {
    int64_t n = 0;
    size_t N = (size_t)r->w * r->h;
    for (size_t i = 0; i < N; i++) n += r->t[i] <= T;
    return n;
}

int wg_iso_raster_at(const wg_iso_raster *r, double x, double y, uint32_t *t) {
    double c = floor((x - r->x0) / r->cell), w = floor((r->y1 - y) / r->cell);
    *t = WG_W_INF;
    if (!r->t || c < 0 || w < 0 || c >= r->w || w >= r->h) return 0;
    *t = r->t[(size_t)w * r->w + (size_t)c];
    return 1;
}

wg_status wg_iso_raster_polygons(wg_ctx *ctx, const wg_iso_raster *r, double T, double wx0,
                                 double wy0, double wx1, double wy1, wg_iso_poly_fn fn,
                                 void *user) {
    wg_status rc = WG_OK;
    if (!r->t) return WG_OK;
    /* the window in cells, clamped to the raster */
    double fc0 = floor((wx0 - r->x0) / r->cell), fc1 = ceil((wx1 - r->x0) / r->cell);
    double fr0 = floor((r->y1 - wy1) / r->cell), fr1 = ceil((r->y1 - wy0) / r->cell);
    if (fc0 < 0) fc0 = 0;
    if (fr0 < 0) fr0 = 0;
    if (fc1 > r->w) fc1 = r->w;
    if (fr1 > r->h) fr1 = r->h;
    if (fc1 <= fc0 || fr1 <= fr0) return WG_OK;
    uint32_t c0 = (uint32_t)fc0, r0 = (uint32_t)fr0, w = (uint32_t)(fc1 - fc0),
             h = (uint32_t)(fr1 - fr0);
    /* shrink the window to the reached cells' box */
    uint32_t bx0 = w, bx1 = 0, by0 = h, by1 = 0;
    for (uint32_t y = 0; y < h; y++) {
        const uint32_t *src = r->t + (size_t)(r0 + y) * r->w + c0;
        uint32_t x = 0;
        while (x < w && !(src[x] <= T)) x++;
        if (x == w) continue;
        uint32_t xe = w;
        while (!(src[xe - 1] <= T)) xe--;
        if (x < bx0) bx0 = x;
        if (xe > bx1) bx1 = xe;
        if (y < by0) by0 = y;
        by1 = y + 1;
    }
    if (bx0 >= bx1) return WG_OK;
    c0 += bx0, r0 += by0, w = bx1 - bx0, h = by1 - by0;
    unsigned char *mask = malloc((size_t)w * h);
    if (!mask) return wg_err(ctx, WG_ERR_NOMEM, "out of memory for a service area mask");
    for (uint32_t y = 0; y < h; y++) {
        const uint32_t *src = r->t + (size_t)(r0 + y) * r->w + c0;
        unsigned char *dst = mask + (size_t)y * w;
        for (uint32_t x = 0; x < w; x++) dst[x] = src[x] <= T;
    }
    wg_gdal_init();
    GDALDriverH mem = GDALGetDriverByName("MEM"), vmem = GDALGetDriverByName("Memory");
    GDALDatasetH ds = mem ? GDALCreate(mem, "", (int)w, (int)h, 1, GDT_Byte, NULL) : NULL;
    GDALDatasetH vds = vmem ? GDALCreate(vmem, "", 0, 0, 0, GDT_Unknown, NULL) : NULL;
    OGRLayerH l = vds ? GDALDatasetCreateLayer(vds, "contour", NULL, wkbPolygon, NULL) : NULL;
    if (!ds || !l) {
        rc = wg_err(ctx, WG_ERR_GDAL, "GDAL cannot create in-memory datasets: %s", wg_gdal_msg());
        goto done;
    }
    double gt[6] = {r->x0 + c0 * r->cell, r->cell, 0, r->y1 - r0 * r->cell, 0, -r->cell};
    GDALSetGeoTransform(ds, gt);
    GDALRasterBandH b = GDALGetRasterBand(ds, 1);
    if (GDALRasterIO(b, GF_Write, 0, 0, (int)w, (int)h, mask, (int)w, (int)h, GDT_Byte, 0, 0) !=
            CE_None ||
        GDALPolygonize(b, b, l, -1, NULL, NULL, NULL) != CE_None) {
        rc = wg_err(ctx, WG_ERR_GDAL, "GDAL cannot polygonise the service area: %s", wg_gdal_msg());
        goto done;
    }
    OGR_L_ResetReading(l);
    OGRFeatureH f;
    while (!rc && (f = OGR_L_GetNextFeature(l))) {
        OGRGeometryH g = OGR_F_StealGeometry(f);
        OGR_F_Destroy(f);
        if (g) rc = fn(ctx, user, g);
    }
done:
    if (vds) GDALClose(vds);
    if (ds) GDALClose(ds);
    free(mask);
    return rc;
}
