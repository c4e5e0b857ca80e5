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
 * two ends, so each cell costs a projection and a square root.
 *
 * HOW IT IS STAMPED, fast: the pieces' points come to the metric CRS
 * through an interpolated lattice (gridxf.c: 0.27 us a point in PROJ, some
 * tens of ns interpolated); the pieces come in the order of their nodes'
 * ids, which the graph keeps along a Hilbert curve, so consecutive
 * segments touch neighbouring cells (in the search's order, by time, every
 * row a segment touched was a cache miss: 40% of the time); a segment
 * visits, row by row, only the columns its band can cover (an interval
 * from the band's strip and the squares around its ends, no square root),
 * skips cells already at or below its earliest time, and skips cells its
 * time cannot lower even with the widest chord before taking the root.
 * The rows are split into parts of about equal road length, one thread
 * each (par.h); every part reads all segments and writes only its rows.
 * A cell's value is a minimum, so the raster does not depend on the
 * number of parts.
 *
 * THE CELL SIZE. Given (--cell), it must be at most band * sqrt(2), so a
 * node reached by T lies within the band of its own cell's centre and is
 * inside the T polygon; in fact the disc of radius band - cell / sqrt(2)
 * around it is. Not given: band / 2, unless the frame would then exceed
 * AUTO_CELLS cells (2 million); then the size that gives AUTO_CELLS cells,
 * rounded up to a decimetre, at most the band (keeping the margin above
 * at 0.29 band, not 0). On the `large` county's 30-minute area (43 x 43 km)
 * that is 30 m (the band) instead of 15 m: 2.1M cells instead of 8.4M, a
 * quarter of the work, and an outline within 15 m instead of 7.5 m of the
 * band's. Coverage of a whole county grows the same way.
 *
 * THE CONTOUR T is the union of the cells with t(cell) <= T, traced into
 * polygons by outline.c (4-connected: cells touching at a corner only are
 * separate polygons, as GDALPolygonize's default, which it replaces: 1.6-3.4
 * s there on the 8M-cell raster). Contours of one raster are nested
 * exactly (the cell sets are), holes are the cells farther than the band
 * from every road reached by T, and a network node reached by T is inside.
 * The contour's area is its number of cells times cell². The polygon
 * agrees with the union of round-capped buffers of width `band` around the
 * pieces up to half a cell along its outline. */
#include "graph.h"
#include "gridxf.h"
#include "outline.h"
#include "par.h"
#include "workspace.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CELLS 400000000.0 /* 1.6 GB of times */
#define AUTO_CELLS 2e6 /* the raster's size above which automatic cells grow */
#define LATTICE_M 500.0        /* the spacing of the interpolated CRS transformation */

void wg_iso_raster_free(wg_iso_raster *r) {
    if (!r) return;
    free(r->t);
    memset(r, 0, sizeof *r);
}

/* floor() and ceil() for |x| < 2^63 without a libm call (x86-64 before
 * SSE4.1 has no rounding instruction): a few per row of a segment. */
static inline double ffloor(double x) {
    double t = (double)(long long)x;
    return t > x ? t - 1 : t;
}

static inline double fceil(double x) {
    double t = (double)(long long)x;
    return t < x ? t + 1 : t;
}

/* A segment ready for stamping: a, its unit direction u (and the
 * inverses of its components, 0 where a component is 0), length L. */
typedef struct sgeo {
    double ax, ay, bx, by, ux, uy, iux, iuy, L, B;
} sgeo;

/* An x interval [*lo, *hi] holding the points of the horizontal line y =
 * cy within distance B of the segment; 0 if there are none. A filter, not
 * exact (the cells are tested exactly): the band's strip along the segment
 * (0 <= s <= L, |d| <= B, both linear in x) plus the squares around the
 * discs at its ends, without a square root or a division. */
static int span(const sgeo *g, double cy, double *lo, double *hi) {
    double l = HUGE_VAL, h = -HUGE_VAL, q = cy - g->ay, B = g->B;
    if (fabs(q) <= B) l = g->ax - B, h = g->ax + B;
    if (fabs(cy - g->by) <= B) {
        if (g->bx - B < l) l = g->bx - B;
        if (g->bx + B > h) h = g->bx + B;
    }
    if (g->L > 0 && g->uy != 0) {
        /* s = (x - ax) ux + q uy in [0, L]; d = q ux - (x - ax) uy in [-B, B] */
        double sl = -HUGE_VAL, sh = HUGE_VAL;
        if (g->ux != 0) {
            double x1 = g->ax - q * g->uy * g->iux, x2 = x1 + g->L * g->iux;
            sl = x1 < x2 ? x1 : x2, sh = x1 < x2 ? x2 : x1;
        } else if (q * g->uy < 0 || q * g->uy > g->L) return l <= h ? (*lo = l, *hi = h, 1) : 0;
        double x3 = g->ax + (q * g->ux - B) * g->iuy, x4 = g->ax + (q * g->ux + B) * g->iuy;
        if (x3 > x4) {
            double tmp = x3;
            x3 = x4, x4 = tmp;
        }
        if (x3 > sl) sl = x3;
        if (x4 < sh) sh = x4;
        if (sl <= sh) {
            if (sl < l) l = sl;
            if (sh > h) h = sh;
        }
    } else if (g->L > 0 && fabs(q) <= B) { /* a horizontal segment */
        double x1 = g->ax < g->bx ? g->ax : g->bx, x2 = g->ax < g->bx ? g->bx : g->ax;
        if (x1 < l) l = x1;
        if (x2 > h) h = x2;
    }
    *lo = l - 1e-7, *hi = h + 1e-7;
    return l <= h;
}

/* Lowers the cells within the band of segment a-b (times ta at a, tb at b):
 * row by row, only the columns whose centres the band covers, and only
 * cells not already at or below the segment's earliest time. */
static void stamp(wg_iso_raster *r, uint32_t rlo, uint32_t rhi, double ics, double ax, double ay,
                  double bx, double by, double ta, double tb) {
    const double B = r->band, B2 = B * B, cs = r->cell;
    double ya = (ay < by ? ay : by) - B, yb = (ay < by ? by : ay) + B;
    /* the rows whose centre line y1 - (row + 0.5) cs lies in [ya, yb]
     * (first: with several parts, most segments fall outside a part's rows) */
    double fr0 = fceil((r->y1 - yb) * ics - 0.5), fr1 = ffloor((r->y1 - ya) * ics - 0.5);
    if (fr1 < rlo || fr0 >= rhi) return;
    double dx = bx - ax, dy = by - ay, L = sqrt(dx * dx + dy * dy);
    uint32_t r0 = fr0 < rlo ? rlo : (uint32_t)fr0, r1 = fr1 >= rhi ? rhi - 1 : (uint32_t)fr1;
    double iL = L > 0 ? 1 / L : 0, ux = dx * iL, uy = dy * iL, k = (tb - ta) * iL;
    double tmin = ta < tb ? ta : tb;
    uint32_t vmin = tmin >= (double)(WG_W_INF - 1) ? WG_W_INF - 1 : (uint32_t)(tmin > 0 ? tmin : 0);
    sgeo G = {ax, ay, bx, by, ux, uy, dx != 0 ? L / dx : 0, dy != 0 ? L / dy : 0, L, B};
    for (uint32_t row = r0; row <= r1; row++) {
        double cy = r->y1 - (row + 0.5) * cs, lo, hi;
        if (!span(&G, cy, &lo, &hi)) continue;
        double fc0 = fceil((lo - r->x0) * ics - 0.5), fc1 = ffloor((hi - r->x0) * ics - 0.5);
        if (fc1 < 0 || fc0 >= r->w || fc0 > fc1) continue;
        uint32_t c0 = fc0 < 0 ? 0 : (uint32_t)fc0, c1 = fc1 >= r->w ? r->w - 1 : (uint32_t)fc1;
        double py = cy - ay;
        uint32_t *line = r->t + (size_t)row * r->w;
        for (uint32_t col = c0; col <= c1; col++) {
            if (line[col] <= vmin) continue;
            double px = r->x0 + (col + 0.5) * cs - ax;
            double s = px * ux + py * uy;
            /* a bound without the square root: the chord's half is at most B */
            double lb = k >= 0 ? ta + k * (s - B > 0 ? s - B : 0) : ta + k * (s + B < L ? s + B : L);
            if (lb >= (double)line[col]) continue;
            double h2 = px * px + py * py - s * s;
            if (h2 > B2) continue;
            double half = sqrt(B2 - (h2 > 0 ? h2 : 0)), a = s - half, b = s + half;
            if (a < 0) a = 0;
            if (b > L) b = L;
            if (a > b) continue;
            double t = ta + k * (k >= 0 ? a : b);
            uint32_t v = t >= (double)(WG_W_INF - 1) ? WG_W_INF - 1 : (uint32_t)(t > 0 ? t : 0);
            if (v < line[col]) line[col] = v;
        }
    }
}

/* The length of segment q[0], q[1] - q[2], q[3]. */
static double dist(const double *q) {
    double dx = q[2] - q[0], dy = q[3] - q[1];
    return sqrt(dx * dx + dy * dy);
}

/* The work of one part of the raster: its rows. */
typedef struct raster_job {
    wg_iso_raster *r;
    const wg_iso_piece *pc;
    size_t npc;
    const double *xy; /* the pieces' points in the metric CRS */
    size_t npt;
    uint32_t row[WG_PAR_MAX + 1]; /* part k owns rows [row[k], row[k + 1]) */
} raster_job;

/* Clears the part's rows, then lowers them with every segment of every
 * piece, each clipped to the rows (see "HOW IT IS STAMPED" above). */
static void stamp_part(void *arg, int k, int nparts) {
    raster_job *j = arg;
    wg_iso_raster *r = j->r;
    (void)nparts;
    uint32_t rlo = j->row[k], rhi = j->row[k + 1];
    if (rlo >= rhi) return;
    memset(r->t + (size_t)rlo * r->w, 0xff, (size_t)(rhi - rlo) * r->w * sizeof *r->t); /* WG_W_INF */
    const double ics = 1 / r->cell;
    for (size_t i = 0; i < j->npc; i++) {
        const wg_iso_piece *p = &j->pc[i];
        const double *q = j->xy + 2 * (size_t)p->off;
        if (p->npts == 1) {
            stamp(r, rlo, rhi, ics, q[0], q[1], q[0], q[1], p->t0, p->t0);
            continue;
        }
        if (p->npts == 2) {
            stamp(r, rlo, rhi, ics, q[0], q[1], q[2], q[3], p->t0, p->t1);
            continue;
        }
        /* the times along a polyline in proportion to length */
        double len = 0;
        for (uint32_t s = 0; s + 1 < p->npts; s++) len += dist(q + 2 * s);
        double at = 0, rate = len > 0 ? (p->t1 - p->t0) / len : 0;
        for (uint32_t s = 0; s + 1 < p->npts; s++) {
            double sl = dist(q + 2 * s);
            double ta = p->t0 + rate * at, tb = s + 2 == p->npts ? p->t1 : p->t0 + rate * (at + sl);
            stamp(r, rlo, rhi, ics, q[2 * s], q[2 * s + 1], q[2 * s + 2], q[2 * s + 3], ta, tb);
            at += sl;
        }
    }
}

/* Splits the rows into parts of about equal numbers of piece points (the
 * work follows the roads, not the frame: a service area at the county's
 * edge fills one side of its raster). */
static void split_rows(raster_job *j, int nparts) {
    wg_iso_raster *r = j->r;
    size_t *cnt = calloc((size_t)r->h + 1, sizeof *cnt);
    j->row[0] = 0, j->row[nparts] = r->h;
    if (!cnt) { /* even rows then */
        for (int k = 1; k < nparts; k++) j->row[k] = (uint32_t)((uint64_t)r->h * k / nparts);
        return;
    }
    for (size_t i = 0; i < j->npt; i++) {
        double w = ffloor((r->y1 - j->xy[2 * i + 1]) / r->cell);
        cnt[w < 0 ? 0 : w >= r->h ? r->h - 1 : (size_t)w]++;
    }
    size_t sum = 0;
    int k = 1;
    for (uint32_t y = 0; y < r->h && k < nparts; y++) {
        sum += cnt[y];
        while (k < nparts && sum * (size_t)nparts >= j->npt * (size_t)k) j->row[k++] = y + 1;
    }
    while (k < nparts) j->row[k++] = r->h;
    free(cnt);
}

wg_status wg_iso_raster_build(wg_ws *ws, const wg_iso_piece *pc, size_t npc, const double *ll,
                              size_t npt, double band, double cell, int threads,
                              wg_iso_raster *r) {
    wg_ctx *ctx = ws->ctx;
    wg_status rc;
    raster_job *j = NULL;
    memset(r, 0, sizeof *r);
    int automatic = cell <= 0;
    if (automatic) cell = WG_ISO_CELL_OF(band);
    if (!(band > 0) || !(cell > 0) || cell > band * sqrt(2.0) * (1 + 1e-9))
        return wg_err(ctx, WG_ERR_INVALID_ARG, "the cell size (%g m) must be > 0 and at most "
                      "sqrt(2) times the band (%g m): a reached node must lie within the band "
                      "of its cell's centre", cell, band);
    r->band = band, r->cell = cell;
    if (!npc || !npt) return WG_OK;
    /* below some thousands of points a thread costs more than it saves,
     * unless the caller asks for a number */
    int nparts = threads <= 0 && npt < 8192 ? 1 : wg_par_parts(threads);
    double *xy = malloc(npt * 2 * sizeof *xy);
    j = calloc(1, sizeof *j);
    if (!xy || !j) {
        rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory for a service area raster");
        goto done;
    }
    *j = (raster_job){.r = r, .pc = pc, .npc = npc, .xy = xy, .npt = npt};
    {
        double lx0 = HUGE_VAL, ly0 = HUGE_VAL, lx1 = -HUGE_VAL, ly1 = -HUGE_VAL;
        for (size_t i = 0; i < npt; i++) {
            if (ll[2 * i] < lx0) lx0 = ll[2 * i];
            if (ll[2 * i] > lx1) lx1 = ll[2 * i];
            if (ll[2 * i + 1] < ly0) ly0 = ll[2 * i + 1];
            if (ll[2 * i + 1] > ly1) ly1 = ll[2 * i + 1];
        }
        wg_gridxf gx;
        rc = wg_gridxf_make(ws, 0, lx0, ly0, lx1, ly1, LATTICE_M / 111320.0, npt, &gx);
        if (!rc) rc = wg_gridxf_apply_to(&gx, ll, xy, npt, nparts);
        wg_gridxf_free(&gx);
        if (rc) goto done;
    }
    double xmin = HUGE_VAL, ymin = HUGE_VAL, xmax = -HUGE_VAL, ymax = -HUGE_VAL;
    for (size_t i = 0; i < npt; i++) {
        double x = xy[2 * i], y = xy[2 * i + 1];
        if (!isfinite(x) || !isfinite(y)) {
            /* only from a damaged graph file: its coordinates are not checked
             * when it is mapped, and a NaN would reach integer casts below */
            rc = wg_err(ctx, WG_ERR_FORMAT, "a reached road has a point (%g, %g) that is not on "
                        "the earth: the road graph file is damaged; rebuild it with `wangge "
                        "roads WS`", ll[2 * i], ll[2 * i + 1]);
            goto done;
        }
        if (x < xmin) xmin = x;
        if (x > xmax) xmax = x;
        if (y < ymin) ymin = y;
        if (y > ymax) ymax = y;
    }
    if (automatic) {
        /* larger cells for a large frame: up to AUTO_CELLS cells, and at
         * most the band (a reached node then keeps a margin of 0.29 band
         * inside its contour) */
        double fw = (xmax - xmin + 2 * band) / cell, fh = (ymax - ymin + 2 * band) / cell;
        if (fw * fh > AUTO_CELLS) {
            double c = ceil(cell * sqrt(fw * fh / AUTO_CELLS) * 10) / 10;
            cell = c < band ? c : band > cell ? band : cell;
        }
        r->cell = cell;
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
    if (nparts > 1) split_rows(j, nparts);
    else j->row[0] = 0, j->row[1] = r->h;
    wg_par_run(nparts, stamp_part, j);
done:
    free(xy), free(j);
    if (rc) wg_iso_raster_free(r);
    return rc;
}

int wg_iso_raster_at(const wg_iso_raster *r, double x, double y, uint32_t *t) {
    double c = floor((x - r->x0) / r->cell), w = floor((r->y1 - y) / r->cell);
    *t = WG_W_INF;
    if (!r->t || c < 0 || w < 0 || c >= r->w || w >= r->h) return 0;
    *t = r->t[(size_t)w * r->w + (size_t)c];
    return 1;
}

wg_status wg_iso_raster_outline(wg_ctx *ctx, const wg_iso_raster *r, double T, double wx0,
                                double wy0, double wx1, double wy1, int every_corner,
                                wg_outline *o, double *ox, double *oy) {
    o->nxy = o->nrings = o->npolys = 0;
    o->cells = 0;
    *ox = r->x0, *oy = r->y1;
    if (!r->t || !(T >= 0)) return WG_OK;
    /* the window in cells, clamped to the raster */
    double fc0 = floor((wx0 - r->x0) / r->cell), fc1 = ceil((wx1 - r->x0) / r->cell);
    double fr0 = floor((r->y1 - wy1) / r->cell), fr1 = ceil((r->y1 - wy0) / r->cell);
    if (fc0 < 0) fc0 = 0;
    if (fr0 < 0) fr0 = 0;
    if (fc1 > r->w) fc1 = r->w;
    if (fr1 > r->h) fr1 = r->h;
    if (fc1 <= fc0 || fr1 <= fr0) return WG_OK;
    uint32_t c0 = (uint32_t)fc0, r0 = (uint32_t)fr0;
    uint32_t Tq = T >= (double)(WG_W_INF - 1) ? WG_W_INF - 1 : (uint32_t)floor(T);
    *ox = r->x0 + c0 * r->cell, *oy = r->y1 - r0 * r->cell;
    int rc = wg_outline_trace(r->t + (size_t)r0 * r->w + c0, r->w, (uint32_t)(fc1 - fc0),
                              (uint32_t)(fr1 - fr0), Tq, every_corner, o);
    if (rc == -1) return wg_err(ctx, WG_ERR_NOMEM, "out of memory tracing a service area");
    if (rc) return wg_err(ctx, WG_ERR_GEOS, "the outline of a service area is inconsistent (a bug)");
    return WG_OK;
}

wg_status wg_iso_raster_polygons(wg_ctx *ctx, const wg_iso_raster *r, double T, double wx0,
                                 double wy0, double wx1, double wy1, wg_iso_poly_fn fn,
                                 void *user) {
    wg_outline o;
    double ox, oy;
    memset(&o, 0, sizeof o);
    wg_status rc = wg_iso_raster_outline(ctx, r, T, wx0, wy0, wx1, wy1, 0, &o, &ox, &oy);
    for (size_t j = 0; !rc && j < o.npolys; j++) {
        GEOSGeometry *g = wg_outline_polygon(ctx->geos, &o, j, ox, oy, r->cell);
        rc = g ? fn(ctx, user, g)
               : wg_err(ctx, WG_ERR_GEOS, "cannot make a service-area polygon: %s", wg_geos_msg(ctx));
    }
    wg_outline_free(&o);
    return rc;
}
