/* pointindex.c -- the hot path of placing incidents: which units contain a point.
 *
 * Two levels, both flat arrays:
 *  1. A uniform grid over the extent. Each cell lists the polygons whose
 *     bounding box meets it, marked FULL when no edge of the polygon comes
 *     near the cell and the cell lies inside it (then the answer needs no
 *     geometry at all: most points in a county fall in such cells), or
 *     PARTIAL when an edge passes nearby.
 *  2. For PARTIAL cells, an exact crossing-number test on the polygon. Each
 *     polygon's edges are sorted into horizontal bands, so a ray cast from
 *     the point only meets the edges of one band, not all of the polygon's.
 *
 * Edges are stored lower endpoint first, so two polygons sharing an edge
 * evaluate the very same expression on it; with the half-open rule
 * (lower endpoint counts, upper does not; a point on an edge is not left of
 * it) the polygons of a clean coverage partition the plane: a point on a
 * shared edge or vertex lands in exactly one of them. The orientation sign
 * is recomputed in long double when the double result is too close to zero
 * to trust. */
#include "pointindex.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct edge {
    double ax, ay, bx, by; /* ay <= by */
} edge;

typedef struct poly {
    double bb[4];       /* xmin, ymin, xmax, ymax */
    uint32_t e0, ne;    /* edges [e0, e0+ne) */
    uint32_t band0;     /* offsets [band0, band0+nbands] into band_off */
    uint32_t nbands;
    double band_h;
} poly;

#define ENT_FULL 1u

struct wg_pindex {
    size_t npoly;
    poly *polys;
    edge *edges;
    size_t nedges;
    uint32_t *band_off; /* per polygon nbands+1 offsets into band_edges */
    uint32_t *band_edges;
    size_t nband_edges, nband_off;
    /* the uniform grid */
    double gx0, gy0, cw, ch;
    uint32_t nx, ny;
    uint32_t *cell_off; /* nx*ny+1 offsets into cell_ent */
    uint32_t *cell_ent; /* poly id << 1 | ENT_FULL */
    size_t ncell_ent;
};

/* ---- exact-ish predicates --------------------------------------------- */

/* > 0 if (x, y) is left of the upward edge e, 0 on its line, < 0 right. */
static inline double orient(const edge *e, double x, double y) {
    double l = (e->bx - e->ax) * (y - e->ay);
    double r = (x - e->ax) * (e->by - e->ay);
    double d = l - r;
    /* Error bound of the double evaluation (after Shewchuk's ccwerrboundA). */
    double bound = 3.3306690738754716e-16 * (fabs(l) + fabs(r)) + 1e-300;
    if (fabs(d) > bound) return d;
    long double L = ((long double)e->bx - e->ax) * ((long double)y - e->ay);
    long double R = ((long double)x - e->ax) * ((long double)e->by - e->ay);
    return (double)(L - R);
}

static int poly_contains(const wg_pindex *ix, const poly *p, double x, double y) {
    if (x < p->bb[0] || x > p->bb[2] || y < p->bb[1] || y > p->bb[3]) return 0;
    long b = (long)floor((y - p->bb[1]) / p->band_h);
    if (b < 0) b = 0;
    if (b >= (long)p->nbands) b = (long)p->nbands - 1;
    const uint32_t *off = ix->band_off + p->band0;
    int inside = 0;
    for (uint32_t k = off[b]; k < off[b + 1]; k++) {
        const edge *e = &ix->edges[ix->band_edges[k]];
        if (y < e->ay || y >= e->by) continue; /* half-open; skips horizontal edges */
        if (orient(e, x, y) > 0) inside ^= 1;
    }
    return inside;
}

int wg_pindex_contains(const wg_pindex *ix, uint32_t id, double x, double y) {
    return id < ix->npoly && poly_contains(ix, &ix->polys[id], x, y);
}

size_t wg_pindex_query(const wg_pindex *ix, double x, double y, uint32_t *ids, size_t max) {
    if (!(x >= ix->gx0 && y >= ix->gy0)) return 0; /* also rejects NaN */
    size_t cx = (size_t)((x - ix->gx0) / ix->cw), cy = (size_t)((y - ix->gy0) / ix->ch);
    if (cx >= ix->nx || cy >= ix->ny) return 0;
    size_t c = cy * ix->nx + cx, n = 0;
    for (uint32_t k = ix->cell_off[c]; k < ix->cell_off[c + 1]; k++) {
        uint32_t ent = ix->cell_ent[k], id = ent >> 1;
        if ((ent & ENT_FULL) || poly_contains(ix, &ix->polys[id], x, y)) {
            if (n < max) ids[n] = id;
            n++;
        }
    }
    return n;
}

double wg_pindex_distance_m(const wg_pindex *ix, uint32_t id, double lon, double lat) {
    const double R = 6371008.8, rad = 3.14159265358979323846 / 180.0;
    const poly *p = &ix->polys[id];
    double kx = R * rad * cos(lat * rad), ky = R * rad, best = INFINITY;
    for (uint32_t i = p->e0; i < p->e0 + p->ne; i++) {
        const edge *e = &ix->edges[i];
        double ax = (e->ax - lon) * kx, ay = (e->ay - lat) * ky;
        double bx = (e->bx - lon) * kx, by = (e->by - lat) * ky;
        double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
        double t = len2 > 0 ? -(ax * dx + ay * dy) / len2 : 0;
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        double px = ax + t * dx, py = ay + t * dy, d = px * px + py * py;
        if (d < best) best = d;
    }
    return sqrt(best);
}

void wg_pindex_bbox(const wg_pindex *ix, uint32_t id, double bb[4]) {
    memcpy(bb, ix->polys[id].bb, sizeof ix->polys[id].bb);
}

size_t wg_pindex_memory(const wg_pindex *ix) {
    return sizeof *ix + ix->npoly * sizeof(poly) + ix->nedges * sizeof(edge) +
           (ix->nband_off + ix->nband_edges) * sizeof(uint32_t) +
           ((size_t)ix->nx * ix->ny + 1 + ix->ncell_ent) * sizeof(uint32_t);
}

void wg_pindex_free(wg_pindex *ix) {
    if (!ix) return;
    free(ix->polys);
    free(ix->edges);
    free(ix->band_off);
    free(ix->band_edges);
    free(ix->cell_off);
    free(ix->cell_ent);
    free(ix);
}

/* ---- building ------------------------------------------------------------ */

/* Appends the edges of every ring of a polygonal geometry. */
static wg_status add_rings(wg_ctx *ctx, const GEOSGeometry *g, edge **edges, size_t *n,
                           size_t *cap) {
    GEOSContextHandle_t h = ctx->geos;
    int parts = GEOSGetNumGeometries_r(h, g);
    for (int pi = 0; pi < parts; pi++) {
        const GEOSGeometry *pg = GEOSGetGeometryN_r(h, g, pi);
        if (GEOSGeomTypeId_r(h, pg) != GEOS_POLYGON) continue;
        int nholes = GEOSGetNumInteriorRings_r(h, pg);
        for (int r = -1; r < nholes; r++) {
            const GEOSGeometry *ring = r < 0 ? GEOSGetExteriorRing_r(h, pg)
                                             : GEOSGetInteriorRingN_r(h, pg, r);
            const GEOSCoordSequence *cs = GEOSGeom_getCoordSeq_r(h, ring);
            unsigned int m = 0;
            GEOSCoordSeq_getSize_r(h, cs, &m);
            if (*n + m > *cap) {
                size_t nc = (*cap + m) * 2;
                edge *ne = realloc(*edges, nc * sizeof *ne);
                if (!ne) return wg_err(ctx, WG_ERR_NOMEM, "out of memory building the index");
                *edges = ne;
                *cap = nc;
            }
            double px = 0, py = 0;
            for (unsigned int i = 0; i < m; i++) {
                double x, y;
                GEOSCoordSeq_getXY_r(h, cs, i, &x, &y);
                if (i > 0 && !(x == px && y == py)) {
                    edge e = py <= y ? (edge){px, py, x, y} : (edge){x, y, px, py};
                    (*edges)[(*n)++] = e;
                }
                px = x, py = y;
            }
        }
    }
    return WG_OK;
}

static wg_status build_bands(wg_pindex *ix) {
    size_t total_off = 0, total_edges = 0;
    for (size_t i = 0; i < ix->npoly; i++) {
        poly *p = &ix->polys[i];
        uint32_t nb = p->ne / 4;
        p->nbands = nb < 1 ? 1 : nb > 4096 ? 4096 : nb;
        double hgt = p->bb[3] - p->bb[1];
        p->band_h = hgt > 0 ? hgt / p->nbands : 1.0;
        p->band0 = (uint32_t)total_off;
        total_off += p->nbands + 1;
    }
    ix->nband_off = total_off;
    ix->band_off = calloc(total_off + 1, sizeof *ix->band_off);
    if (!ix->band_off) return WG_ERR_NOMEM;
    /* Two passes: count edges per band, then fill. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < ix->npoly; i++) {
            poly *p = &ix->polys[i];
            uint32_t *off = ix->band_off + p->band0;
            for (uint32_t k = p->e0; k < p->e0 + p->ne; k++) {
                const edge *e = &ix->edges[k];
                if (e->ay == e->by) continue; /* never counted */
                long b0 = (long)floor((e->ay - p->bb[1]) / p->band_h);
                long b1 = (long)floor((e->by - p->bb[1]) / p->band_h);
                if (b0 < 0) b0 = 0;
                if (b1 >= (long)p->nbands) b1 = (long)p->nbands - 1;
                for (long b = b0; b <= b1; b++) {
                    if (pass == 0) off[b + 1]++;
                    else ix->band_edges[off[b]++] = k;
                }
            }
            if (pass == 0) {
                for (uint32_t b = 0; b < p->nbands; b++) off[b + 1] += off[b];
                total_edges += off[p->nbands];
            }
        }
        if (pass == 0) {
            /* make offsets global, then keep a copy to restore after filling */
            size_t base = 0;
            for (size_t i = 0; i < ix->npoly; i++) {
                poly *p = &ix->polys[i];
                uint32_t *off = ix->band_off + p->band0;
                for (uint32_t b = 0; b <= p->nbands; b++) off[b] += (uint32_t)base;
                base = off[p->nbands];
            }
            ix->nband_edges = total_edges;
            ix->band_edges = malloc((total_edges + 1) * sizeof *ix->band_edges);
            if (!ix->band_edges) return WG_ERR_NOMEM;
        }
    }
    /* Filling advanced each band's start to its end: shift back by one band. */
    for (size_t i = 0; i < ix->npoly; i++) {
        poly *p = &ix->polys[i];
        uint32_t *off = ix->band_off + p->band0;
        for (uint32_t b = p->nbands; b > 0; b--) off[b] = off[b - 1];
        off[0] = i == 0 ? 0 : ix->band_off[ix->polys[i - 1].band0 + ix->polys[i - 1].nbands];
    }
    return WG_OK;
}

/* Marks, per polygon, the cells its edges come near (cell flags), then lists
 * each polygon in every cell of its bounding box that is near an edge
 * (PARTIAL) or inside it (FULL). */
static wg_status build_cells(wg_pindex *ix) {
    size_t ncell = (size_t)ix->nx * ix->ny;
    uint32_t *mark = calloc(ncell, sizeof *mark); /* poly id + 1 that last marked the cell */
    uint32_t *count = calloc(ncell + 1, sizeof *count);
    if (!mark || !count) {
        free(mark);
        free(count);
        return WG_ERR_NOMEM;
    }
    const double mx = ix->cw * 1e-6, my = ix->ch * 1e-6; /* margin against rounding */
    for (int pass = 0; pass < 2; pass++) {
        memset(mark, 0, ncell * sizeof *mark);
        for (size_t i = 0; i < ix->npoly; i++) {
            const poly *p = &ix->polys[i];
            uint32_t tag = (uint32_t)i + 1;
            for (uint32_t k = p->e0; k < p->e0 + p->ne; k++) {
                const edge *e = &ix->edges[k];
                double x0 = fmin(e->ax, e->bx) - mx, x1 = fmax(e->ax, e->bx) + mx;
                long cx0 = (long)floor((x0 - ix->gx0) / ix->cw), cx1 = (long)floor((x1 - ix->gx0) / ix->cw);
                long cy0 = (long)floor((e->ay - my - ix->gy0) / ix->ch);
                long cy1 = (long)floor((e->by + my - ix->gy0) / ix->ch);
                cx0 = cx0 < 0 ? 0 : cx0, cy0 = cy0 < 0 ? 0 : cy0;
                cx1 = cx1 >= (long)ix->nx ? (long)ix->nx - 1 : cx1;
                cy1 = cy1 >= (long)ix->ny ? (long)ix->ny - 1 : cy1;
                for (long cy = cy0; cy <= cy1; cy++)
                    for (long cx = cx0; cx <= cx1; cx++) mark[cy * ix->nx + cx] = tag;
            }
            long cx0 = (long)floor((p->bb[0] - ix->gx0) / ix->cw), cx1 = (long)floor((p->bb[2] - ix->gx0) / ix->cw);
            long cy0 = (long)floor((p->bb[1] - ix->gy0) / ix->ch), cy1 = (long)floor((p->bb[3] - ix->gy0) / ix->ch);
            cx0 = cx0 < 0 ? 0 : cx0, cy0 = cy0 < 0 ? 0 : cy0;
            cx1 = cx1 >= (long)ix->nx ? (long)ix->nx - 1 : cx1;
            cy1 = cy1 >= (long)ix->ny ? (long)ix->ny - 1 : cy1;
            for (long cy = cy0; cy <= cy1; cy++)
                for (long cx = cx0; cx <= cx1; cx++) {
                    size_t c = (size_t)cy * ix->nx + (size_t)cx;
                    uint32_t ent;
                    if (mark[c] == tag) {
                        ent = (uint32_t)i << 1;
                    } else {
                        double x = ix->gx0 + (cx + 0.5) * ix->cw, y = ix->gy0 + (cy + 0.5) * ix->ch;
                        if (!poly_contains(ix, p, x, y)) continue;
                        ent = (uint32_t)i << 1 | ENT_FULL;
                    }
                    if (pass == 0) count[c + 1]++;
                    else ix->cell_ent[ix->cell_off[c] + count[c]++] = ent;
                }
        }
        if (pass == 0) {
            for (size_t c = 0; c < ncell; c++) count[c + 1] += count[c];
            ix->ncell_ent = count[ncell];
            ix->cell_off = count;
            ix->cell_ent = malloc((ix->ncell_ent + 1) * sizeof *ix->cell_ent);
            count = calloc(ncell + 1, sizeof *count);
            if (!ix->cell_ent || !count) {
                free(mark);
                free(count);
                return WG_ERR_NOMEM;
            }
        }
    }
    free(mark);
    free(count);
    return WG_OK;
}

wg_status wg_pindex_build(wg_ctx *ctx, const GEOSGeometry *const *geoms, size_t n,
                          wg_pindex **out) {
    wg_pindex *ix = calloc(1, sizeof *ix);
    if (!ix || n >= (1u << 31)) {
        free(ix);
        return wg_err(ctx, WG_ERR_NOMEM, "cannot index %zu polygons", n);
    }
    ix->npoly = n;
    ix->polys = calloc(n + 1, sizeof *ix->polys);
    size_t cap = 0;
    wg_status rc = ix->polys ? WG_OK : WG_ERR_NOMEM;
    double gb[4] = {INFINITY, INFINITY, -INFINITY, -INFINITY};
    for (size_t i = 0; i < n && !rc; i++) {
        poly *p = &ix->polys[i];
        p->e0 = (uint32_t)ix->nedges;
        rc = add_rings(ctx, geoms[i], &ix->edges, &ix->nedges, &cap);
        p->ne = (uint32_t)(ix->nedges - p->e0);
        p->bb[0] = p->bb[1] = INFINITY;
        p->bb[2] = p->bb[3] = -INFINITY;
        for (uint32_t k = p->e0; k < p->e0 + p->ne; k++) {
            const edge *e = &ix->edges[k];
            p->bb[0] = fmin(p->bb[0], fmin(e->ax, e->bx));
            p->bb[2] = fmax(p->bb[2], fmax(e->ax, e->bx));
            p->bb[1] = fmin(p->bb[1], e->ay);
            p->bb[3] = fmax(p->bb[3], e->by);
        }
        if (!p->ne) memset(p->bb, 0, sizeof p->bb);
        for (int k = 0; k < 2 && p->ne; k++) {
            gb[k] = fmin(gb[k], p->bb[k]);
            gb[k + 2] = fmax(gb[k + 2], p->bb[k + 2]);
        }
    }
    if (rc) goto fail;
    if (!isfinite(gb[0])) gb[0] = gb[1] = gb[2] = gb[3] = 0;
    /* About 8 edges per cell on average, at most 4M cells. */
    double w = gb[2] - gb[0], hgt = gb[3] - gb[1];
    double cells = fmin(fmax((double)ix->nedges / 8.0, 1.0), 4e6);
    double side = sqrt((w > 0 ? w : 1e-9) * (hgt > 0 ? hgt : 1e-9) / cells);
    if (!(side > 0)) side = 1e-6;
    ix->nx = (uint32_t)fmin(fmax(ceil(w / side), 1), 4096);
    ix->ny = (uint32_t)fmin(fmax(ceil(hgt / side), 1), 4096);
    ix->gx0 = gb[0];
    ix->gy0 = gb[1];
    ix->cw = w > 0 ? w / ix->nx * (1 + 1e-12) : 1e-9;
    ix->ch = hgt > 0 ? hgt / ix->ny * (1 + 1e-12) : 1e-9;
    if ((rc = build_bands(ix)) || (rc = build_cells(ix))) {
        wg_err(ctx, rc, "out of memory building the point index");
        goto fail;
    }
    *out = ix;
    return WG_OK;
fail:
    wg_pindex_free(ix);
    return rc;
}
