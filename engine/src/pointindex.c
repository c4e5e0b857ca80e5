/* pointindex.c -- the hot path of placing incidents: which units contain a point.
 *
 * Two levels, both flat arrays:
 *  1. A uniform grid over the extent. Each cell lists the polygons whose
 *     bounding box meets it, marked FULL when no edge of the polygon comes
 *     near the cell and the cell lies inside it (then the answer needs no
 *     geometry at all: most points in a county fall in such cells), or
 *     PARTIAL when an edge passes nearby.
 *  2. For PARTIAL cells, the entry keeps the polygon's edges that meet the
 *     cell and whether the cell's centre is inside. The point's answer is the
 *     centre's, flipped once per edge the segment centre->point crosses:
 *     a handful of orientation tests. Before any test, the entry's 4 x 4
 *     subcell mask: a subcell no edge of the polygon comes near (with the
 *     same 1e-6-cell margin as the cells) is wholly inside or wholly
 *     outside, and the mask says which. On the large synthetic county
 *     three in four PARTIAL entries a point meets are answered so: the
 *     hot index lists every shared boundary twice (and micro-grids repeat
 *     their grid's), so a boundary cell holds ~3.5 edges an entry, and
 *     those ring tests were half of a batch's time. Four bytes an entry;
 *     a finer uniform grid would have cost far more memory for the same.
 *  3. When that segment touches a vertex or an edge only degenerately (an
 *     orientation that is zero or too close to zero to trust), the exact
 *     crossing-number test on the whole polygon decides. Each polygon's edges
 *     are sorted into horizontal bands, so the ray cast from the point only
 *     meets the edges of one band, not all of the polygon's.
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
#include <stdint.h>
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

#define ENT_FULL 1u   /* the whole cell is inside the polygon */
#define ENT_REF_IN 2u /* PARTIAL: the cell's centre is inside */
#define ENT_NOREF 4u  /* PARTIAL: the centre is on an edge: always test exactly */

/* PARTIAL entries split their cell into SUB x SUB subcells: bit j of `sub`
 * (j = row * SUB + column) says no edge of the polygon comes near subcell j,
 * so all of it is inside or all outside, and bit SUB*SUB + j which. */
#define SUB 4

typedef struct cellent {
    uint32_t id;    /* polygon */
    uint32_t flags;
    uint32_t e0, ne; /* PARTIAL: edges [e0, e0+ne) of cell_edges */
    uint32_t sub;    /* PARTIAL: the subcells decided without a test */
} cellent;

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
    cellent *cell_ent;
    size_t ncell_ent;
    edge *cell_edges; /* copies of the edges of PARTIAL entries, cell by cell:
                         one cache line fetch instead of one per edge */
    size_t ncell_edges;
    int borrowed; /* arrays point into a mapping (wg_pindex_load) */
};

/* For the query path: fmin/fmax are library calls unless NaN handling is
 * waived, and every value a query meets is finite (NaN is rejected first).
 * The build keeps fmin/fmax, which ignore a NaN. */
static inline double dmin(double a, double b) { return a < b ? a : b; }
static inline double dmax(double a, double b) { return a > b ? a : b; }

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

/* Sign of the orientation of (a, b, p): +1 left, -1 right, 0 when it is
 * zero or too close to zero to be sure of in double precision. */
static inline int orient_sign(double ax, double ay, double bx, double by, double px, double py) {
    double l = (bx - ax) * (py - ay);
    double r = (px - ax) * (by - ay);
    double d = l - r;
    double bound = 3.3306690738754716e-16 * (fabs(l) + fabs(r));
    return d > bound ? 1 : d < -bound ? -1 : 0;
}

static int poly_contains(const wg_pindex *ix, const poly *p, double x, double y) {
    if (!(x >= p->bb[0] && x <= p->bb[2] && y >= p->bb[1] && y <= p->bb[3])) return 0; /* NaN */
    /* clamped before the cast: out of range it is undefined (a damaged
     * cache's band height can make the quotient huge; found by fuzz_pindex) */
    double fb = floor((y - p->bb[1]) / p->band_h);
    long b = fb < 0 ? 0 : fb >= (double)p->nbands ? (long)p->nbands - 1 : (long)fb;
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

/* The answer for a PARTIAL entry: 1 inside, 0 outside, -1 undecided. */
static int cell_test(const wg_pindex *ix, const cellent *ce, double cx, double cy, double x,
                     double y) {
    if (ce->flags & ENT_NOREF) return -1;
    int in = (ce->flags & ENT_REF_IN) != 0;
    double sx0 = dmin(cx, x), sx1 = dmax(cx, x), sy0 = dmin(cy, y), sy1 = dmax(cy, y);
    for (uint32_t k = ce->e0; k < ce->e0 + ce->ne; k++) {
        const edge *e = &ix->cell_edges[k];
        /* Boxes apart: no crossing, no doubt (ay <= by by construction). */
        if (e->by < sy0 || e->ay > sy1 || dmax(e->ax, e->bx) < sx0 || dmin(e->ax, e->bx) > sx1)
            continue;
        int s1 = orient_sign(cx, cy, x, y, e->ax, e->ay);
        int s2 = orient_sign(cx, cy, x, y, e->bx, e->by);
        if (s1 == 0 || s2 == 0) return -1;
        if (s1 == s2) continue;
        int s3 = orient_sign(e->ax, e->ay, e->bx, e->by, cx, cy);
        int s4 = orient_sign(e->ax, e->ay, e->bx, e->by, x, y);
        if (s3 == 0 || s4 == 0) return -1;
        if (s3 != s4) in ^= 1;
    }
    return in;
}

uint32_t wg_pindex_cell(const wg_pindex *ix, double x, double y) {
    if (!(x >= ix->gx0 && y >= ix->gy0)) return UINT32_MAX;
    double fx = (x - ix->gx0) / ix->cw, fy = (y - ix->gy0) / ix->ch;
    if (!(fx < ix->nx && fy < ix->ny)) return UINT32_MAX;
    return (uint32_t)fy * ix->nx + (uint32_t)fx;
}

/* The answer in cell (cx, cy); *uniform (if asked) says whether every entry
 * is FULL, i.e. whether any point of the cell gets the same answer. */
static inline size_t query_in(const wg_pindex *ix, size_t cx, size_t cy, double fx, double fy,
                              double x, double y, uint32_t *ids, size_t max, int *uniform) {
    size_t c = cy * ix->nx + cx, n = 0;
    double rx = ix->gx0 + (cx + 0.5) * ix->cw, ry = ix->gy0 + (cy + 0.5) * ix->ch;
    /* The point's subcell. fx - cx is in [0, 1) but clamp all the same: a
     * point is never more than a rounding error outside the subcell it is
     * given, and the build kept edges a margin of 1e-6 cells away. */
    int sx = (int)((fx - (double)cx) * SUB), sy = (int)((fy - (double)cy) * SUB);
    sx = sx < 0 ? 0 : sx >= SUB ? SUB - 1 : sx;
    sy = sy < 0 ? 0 : sy >= SUB ? SUB - 1 : sy;
    uint32_t bit = 1u << (sy * SUB + sx), all = ENT_FULL;
    for (uint32_t k = ix->cell_off[c]; k < ix->cell_off[c + 1]; k++) {
        const cellent *ce = &ix->cell_ent[k];
        all &= ce->flags;
        int in;
        if (ce->flags & ENT_FULL) in = 1;
        else if (ce->sub & bit) in = (ce->sub & bit << (SUB * SUB)) != 0;
        else in = cell_test(ix, ce, rx, ry, x, y);
        if (in < 0) in = poly_contains(ix, &ix->polys[ce->id], x, y);
        if (in) {
            if (n < max) ids[n] = ce->id;
            n++;
        }
    }
    if (uniform) *uniform = all != 0;
    return n;
}

size_t wg_pindex_query(const wg_pindex *ix, double x, double y, uint32_t *ids, size_t max) {
    if (!(x >= ix->gx0 && y >= ix->gy0)) return 0; /* also rejects NaN */
    double fx = (x - ix->gx0) / ix->cw, fy = (y - ix->gy0) / ix->ch;
    if (!(fx < ix->nx && fy < ix->ny)) return 0; /* before the cast: far away it overflows */
    return query_in(ix, (size_t)fx, (size_t)fy, fx, fy, x, y, ids, max, NULL);
}

size_t wg_pindex_query_cell(const wg_pindex *ix, uint32_t cell, double x, double y, uint32_t *ids,
                            size_t max, int *uniform) {
    size_t cy = cell / ix->nx, cx = cell - cy * ix->nx;
    return query_in(ix, cx, cy, (x - ix->gx0) / ix->cw, (y - ix->gy0) / ix->ch, x, y, ids, max,
                    uniform);
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
           ((size_t)ix->nx * ix->ny + 1) * sizeof(uint32_t) + ix->ncell_edges * sizeof(edge) +
           ix->ncell_ent * sizeof(cellent);
}

size_t wg_pindex_npoly(const wg_pindex *ix) { return ix ? ix->npoly : 0; }

void wg_pindex_free(wg_pindex *ix) {
    if (!ix) return;
    if (ix->borrowed) {
        free(ix);
        return;
    }
    free(ix->polys);
    free(ix->edges);
    free(ix->band_off);
    free(ix->band_edges);
    free(ix->cell_off);
    free(ix->cell_ent);
    free(ix->cell_edges);
    free(ix);
}

/* ---- saving and loading ------------------------------------------------- */

/* The header: every count, then the grid's geometry. */
typedef struct saved_head {
    uint64_t npoly, nedges, nband_off, nband_edges, ncell_ent, ncell_edges, nx, ny;
    double gx0, gy0, cw, ch;
} saved_head;

static int put_arr(FILE *fp, const void *p, size_t bytes) {
    static const char zero[8] = {0};
    size_t pad = (8 - bytes % 8) % 8;
    return (bytes && fwrite(p, 1, bytes, fp) != bytes) || (pad && fwrite(zero, 1, pad, fp) != pad)
               ? -1
               : 0;
}

int wg_pindex_save(const wg_pindex *ix, FILE *fp) {
    saved_head h = {ix->npoly, ix->nedges, ix->nband_off, ix->nband_edges, ix->ncell_ent,
                    ix->ncell_edges, ix->nx, ix->ny, ix->gx0, ix->gy0, ix->cw, ix->ch};
    return put_arr(fp, &h, sizeof h) || put_arr(fp, ix->polys, ix->npoly * sizeof *ix->polys) ||
                   put_arr(fp, ix->edges, ix->nedges * sizeof *ix->edges) ||
                   put_arr(fp, ix->band_off, (ix->nband_off + 1) * sizeof *ix->band_off) ||
                   put_arr(fp, ix->band_edges, ix->nband_edges * sizeof *ix->band_edges) ||
                   put_arr(fp, ix->cell_off, ((size_t)ix->nx * ix->ny + 1) * sizeof *ix->cell_off) ||
                   put_arr(fp, ix->cell_ent, ix->ncell_ent * sizeof *ix->cell_ent) ||
                   put_arr(fp, ix->cell_edges, ix->ncell_edges * sizeof *ix->cell_edges)
               ? -1
               : 0;
}

/* Points *dst at `count` items of `size` bytes at *off; -1 past the end. */
static int take_arr(const unsigned char *base, size_t len, size_t *off, uint64_t count,
                    size_t size, const void **dst) {
    if (count > (SIZE_MAX - 8) / size) return -1;
    size_t bytes = (size_t)count * size, padded = bytes + (8 - bytes % 8) % 8;
    if (*off > len || padded > len - *off) return -1;
    *dst = base + *off;
    *off += padded;
    return 0;
}

int wg_pindex_load(const unsigned char *base, size_t len, size_t *off, wg_pindex **out) {
    const saved_head *h;
    if (take_arr(base, len, off, 1, sizeof *h, (const void **)&h)) return -1;
    if (h->npoly >= (1u << 31) || h->nx == 0 || h->ny == 0 || h->nx > 8192 || h->ny > 8192 ||
        h->nedges > UINT32_MAX || h->ncell_edges > UINT32_MAX || h->nband_edges > UINT32_MAX ||
        h->nband_off > UINT32_MAX || h->ncell_ent > UINT32_MAX || !(h->cw > 0) || !(h->ch > 0) ||
        !isfinite(h->gx0) || !isfinite(h->gy0) || !isfinite(h->cw) || !isfinite(h->ch))
        return -1;
    wg_pindex *ix = calloc(1, sizeof *ix);
    if (!ix) return -1;
    ix->borrowed = 1;
    ix->npoly = h->npoly, ix->nedges = h->nedges, ix->nband_off = h->nband_off;
    ix->nband_edges = h->nband_edges, ix->ncell_ent = h->ncell_ent;
    ix->ncell_edges = h->ncell_edges, ix->nx = (uint32_t)h->nx, ix->ny = (uint32_t)h->ny;
    ix->gx0 = h->gx0, ix->gy0 = h->gy0, ix->cw = h->cw, ix->ch = h->ch;
    size_t ncell = (size_t)ix->nx * ix->ny;
    if (take_arr(base, len, off, ix->npoly, sizeof(poly), (const void **)&ix->polys) ||
        take_arr(base, len, off, ix->nedges, sizeof(edge), (const void **)&ix->edges) ||
        take_arr(base, len, off, ix->nband_off + 1, sizeof(uint32_t), (const void **)&ix->band_off) ||
        take_arr(base, len, off, ix->nband_edges, sizeof(uint32_t), (const void **)&ix->band_edges) ||
        take_arr(base, len, off, ncell + 1, sizeof(uint32_t), (const void **)&ix->cell_off) ||
        take_arr(base, len, off, ix->ncell_ent, sizeof(cellent), (const void **)&ix->cell_ent) ||
        take_arr(base, len, off, ix->ncell_edges, sizeof(edge), (const void **)&ix->cell_edges))
        goto bad;
    /* Every index the queries follow stays inside its array. */
    for (size_t i = 0; i < ix->npoly; i++) {
        const poly *p = &ix->polys[i];
        if ((uint64_t)p->e0 + p->ne > ix->nedges || p->nbands < 1 ||
            (uint64_t)p->band0 + p->nbands > ix->nband_off || !(p->band_h > 0) ||
            !isfinite(p->band_h) || !(p->bb[0] <= p->bb[2]) || !(p->bb[1] <= p->bb[3]) ||
            !isfinite(p->bb[0] + p->bb[1] + p->bb[2] + p->bb[3]))
            goto bad;
        for (uint32_t b = 0; b <= p->nbands; b++)
            if (ix->band_off[p->band0 + b] > ix->nband_edges ||
                (b && ix->band_off[p->band0 + b] < ix->band_off[p->band0 + b - 1]))
                goto bad;
    }
    for (size_t k = 0; k < ix->nband_edges; k++)
        if (ix->band_edges[k] >= ix->nedges) goto bad;
    if (ix->cell_off[0] != 0 || ix->cell_off[ncell] != ix->ncell_ent) goto bad;
    for (size_t c = 0; c < ncell; c++)
        if (ix->cell_off[c + 1] < ix->cell_off[c]) goto bad;
    for (size_t k = 0; k < ix->ncell_ent; k++) {
        const cellent *ce = &ix->cell_ent[k];
        if (ce->id >= ix->npoly || (uint64_t)ce->e0 + ce->ne > ix->ncell_edges) goto bad;
    }
    /* a cell's entries by strictly ascending id: queries answer in that
     * order, each polygon once (found by fuzz_pindex) */
    for (size_t c = 0; c < ncell; c++)
        for (uint32_t k = ix->cell_off[c] + 1; k < ix->cell_off[c + 1]; k++)
            if (ix->cell_ent[k].id <= ix->cell_ent[k - 1].id) goto bad;
    *out = ix;
    return 0;
bad:
    free(ix);
    return -1;
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

/* A growable array of T. */
#define GROW(arr, n, cap, extra)                                              \
    do {                                                                      \
        if ((n) + (extra) > (cap)) {                                          \
            size_t nc_ = ((cap) + (extra)) * 2;                               \
            void *np_ = realloc((arr), nc_ * sizeof *(arr));                  \
            if (!np_) goto nomem;                                             \
            (arr) = np_;                                                      \
            (cap) = nc_;                                                      \
        }                                                                     \
    } while (0)

typedef struct tmpent {
    uint32_t cell;
    cellent ce;
} tmpent;

/* Whether segment e comes near the box [x0, x1] x [y0, y1]: its box meets
 * the box and its line passes within the box's half-extent of the box's
 * centre. The slack (1e-12 relative) only ever says "near" too often, and
 * the caller widens the box by a margin far above any rounding, so "no" is
 * never wrong. */
static int edge_meets_box(const edge *e, double x0, double y0, double x1, double y1) {
    if (e->by < y0 || e->ay > y1 || fmax(e->ax, e->bx) < x0 || fmin(e->ax, e->bx) > x1) return 0;
    double dx = e->bx - e->ax, dy = e->by - e->ay;
    double l = dx * ((y0 + y1) * 0.5 - e->ay), r = dy * ((x0 + x1) * 0.5 - e->ax);
    double reach = fabs(dx) * (y1 - y0) * 0.5 + fabs(dy) * (x1 - x0) * 0.5;
    return fabs(l - r) <= reach + 1e-12 * (fabs(l) + fabs(r) + reach);
}

/* The `sub` mask of a PARTIAL entry of cell (cx, cy): the subcells no edge
 * of the entry comes near (all the polygon's edges near the cell are the
 * entry's), with the status of each -- its centre's, which the entry's own
 * test finds from the cell's centre (the whole polygon when that is in
 * doubt). Each edge is tried only against the subcells its box meets. */
static uint32_t subcells(const wg_pindex *ix, const cellent *ce, const poly *p, long cx, long cy) {
    const double sw = ix->cw / SUB, sh = ix->ch / SUB;
    const double mx = ix->cw * 1e-6, my = ix->ch * 1e-6;
    const double x0 = ix->gx0 + cx * ix->cw, y0 = ix->gy0 + cy * ix->ch;
    double rx = ix->gx0 + (cx + 0.5) * ix->cw, ry = ix->gy0 + (cy + 0.5) * ix->ch;
    uint32_t near = 0;
    for (uint32_t k = ce->e0; k < ce->e0 + ce->ne; k++) {
        const edge *e = &ix->cell_edges[k];
        /* the subcells whose widened box the edge's box may meet (a wider
         * range than needed is only slower) */
        long sx0 = (long)floor((fmin(e->ax, e->bx) - mx - x0) / sw) - 1;
        long sx1 = (long)floor((fmax(e->ax, e->bx) + mx - x0) / sw) + 1;
        long sy0 = (long)floor((e->ay - my - y0) / sh) - 1;
        long sy1 = (long)floor((e->by + my - y0) / sh) + 1;
        sx0 = sx0 < 0 ? 0 : sx0, sy0 = sy0 < 0 ? 0 : sy0;
        sx1 = sx1 >= SUB ? SUB - 1 : sx1, sy1 = sy1 >= SUB ? SUB - 1 : sy1;
        for (long sy = sy0; sy <= sy1; sy++)
            for (long sx = sx0; sx <= sx1; sx++) {
                uint32_t bit = 1u << (sy * SUB + sx);
                double bx = x0 + sx * sw, by = y0 + sy * sh;
                if (!(near & bit) &&
                    edge_meets_box(e, bx - mx, by - my, bx + sw + mx, by + sh + my))
                    near |= bit;
            }
    }
    /* Edge-free subcells side by side form an edge-free rectangle: one
     * status for each connected group, found at one centre. */
    uint32_t sub = 0;
    for (int j = 0; j < SUB * SUB; j++) {
        if ((near | sub) & 1u << j) continue;
        double px = x0 + (j % SUB + 0.5) * sw, py = y0 + (j / SUB + 0.5) * sh;
        int in = cell_test(ix, ce, rx, ry, px, py);
        if (in < 0) in = poly_contains(ix, p, px, py);
        int stack[SUB * SUB], top = 0;
        stack[top++] = j;
        sub |= 1u << j;
        while (top) {
            int q = stack[--top], qx = q % SUB, qy = q / SUB;
            sub |= (uint32_t)in << (SUB * SUB + q);
            int nb[4] = {qx > 0 ? q - 1 : -1, qx < SUB - 1 ? q + 1 : -1, qy > 0 ? q - SUB : -1,
                         qy < SUB - 1 ? q + SUB : -1};
            for (int t = 0; t < 4; t++)
                if (nb[t] >= 0 && !((near | sub) & 1u << nb[t])) {
                    sub |= 1u << nb[t];
                    stack[top++] = nb[t];
                }
        }
    }
    return sub;
}

/* For each polygon: the cells its edges come near (with those edges), then
 * every cell of its bounding box: near an edge -> PARTIAL with the edge list
 * and the centre's status; else FULL if inside; else nothing. The entries
 * are then grouped by cell (counting sort, keeping polygon order).
 *
 * Two things keep this linear: the edges are bucketed by cell with a
 * counting sort over the polygon's bounding box (edge order kept), and a
 * cell no edge comes near has the status of its western neighbour when that
 * one had no edge near it either -- the segment between their centres stays
 * inside the two cells, which no edge meets -- so a row of such cells costs
 * one point-in-polygon test, not one per cell. */
static wg_status build_cells(wg_pindex *ix, int with_sub) {
    size_t ncell = (size_t)ix->nx * ix->ny;
    uint32_t *bucket = NULL, *bedge = NULL; /* per bbox cell: offsets; edges */
    size_t cap_bucket = 0, cap_bedge = 0;
    tmpent *ents = NULL;
    size_t nents = 0, cap_ents = 0, cap_edges = 0;
    const double mx = ix->cw * 1e-6, my = ix->ch * 1e-6; /* margin against rounding */
    for (size_t i = 0; i < ix->npoly; i++) {
        const poly *p = &ix->polys[i];
        long cx0 = (long)floor((p->bb[0] - mx - ix->gx0) / ix->cw), cx1 = (long)floor((p->bb[2] + mx - ix->gx0) / ix->cw);
        long cy0 = (long)floor((p->bb[1] - my - ix->gy0) / ix->ch), cy1 = (long)floor((p->bb[3] + my - ix->gy0) / ix->ch);
        cx0 = cx0 < 0 ? 0 : cx0, cy0 = cy0 < 0 ? 0 : cy0;
        cx1 = cx1 >= (long)ix->nx ? (long)ix->nx - 1 : cx1;
        cy1 = cy1 >= (long)ix->ny ? (long)ix->ny - 1 : cy1;
        if (!p->ne || cx1 < cx0 || cy1 < cy0) continue;
        size_t bw = (size_t)(cx1 - cx0 + 1), nb = bw * (size_t)(cy1 - cy0 + 1);
        GROW(bucket, 0, cap_bucket, nb + 2);
        memset(bucket, 0, (nb + 2) * sizeof *bucket);
        /* Pass 0 counts the (cell, edge) pairs, pass 1 files the edges. */
        for (int pass = 0; pass < 2; pass++) {
            for (uint32_t k = p->e0; k < p->e0 + p->ne; k++) {
                const edge *e = &ix->edges[k];
                double x0 = fmin(e->ax, e->bx) - mx, x1 = fmax(e->ax, e->bx) + mx;
                long ex0 = (long)floor((x0 - ix->gx0) / ix->cw), ex1 = (long)floor((x1 - ix->gx0) / ix->cw);
                long ey0 = (long)floor((e->ay - my - ix->gy0) / ix->ch);
                long ey1 = (long)floor((e->by + my - ix->gy0) / ix->ch);
                ex0 = ex0 < cx0 ? cx0 : ex0, ey0 = ey0 < cy0 ? cy0 : ey0;
                ex1 = ex1 > cx1 ? cx1 : ex1, ey1 = ey1 > cy1 ? cy1 : ey1;
                for (long cy = ey0; cy <= ey1; cy++)
                    for (long cx = ex0; cx <= ex1; cx++) {
                        size_t lc = (size_t)(cy - cy0) * bw + (size_t)(cx - cx0);
                        if (pass == 0) bucket[lc + 2]++;
                        else bedge[bucket[lc + 1]++] = k;
                    }
            }
            if (pass == 0) {
                for (size_t c = 2; c < nb + 2; c++) bucket[c] += bucket[c - 1];
                GROW(bedge, 0, cap_bedge, bucket[nb + 1] + 1);
            }
        }
        /* Now the edges of bbox cell lc are bedge[bucket[lc] .. bucket[lc+1]). */
        for (long cy = cy0; cy <= cy1; cy++) {
            int run_valid = 0, run_inside = 0; /* status of the edge-free cell to the west */
            for (long cx = cx0; cx <= cx1; cx++) {
                uint32_t c = (uint32_t)(cy * ix->nx + cx);
                size_t lc = (size_t)(cy - cy0) * bw + (size_t)(cx - cx0);
                double rx = ix->gx0 + (cx + 0.5) * ix->cw, ry = ix->gy0 + (cy + 0.5) * ix->ch;
                cellent ce = {(uint32_t)i, 0, 0, 0, 0};
                uint32_t b0 = bucket[lc], b1 = bucket[lc + 1];
                if (b0 == b1) {
                    if (!run_valid) run_inside = poly_contains(ix, p, rx, ry), run_valid = 1;
                    if (!run_inside) continue;
                    ce.flags = ENT_FULL;
                } else {
                    run_valid = 0;
                    ce.e0 = (uint32_t)ix->ncell_edges;
                    GROW(ix->cell_edges, ix->ncell_edges, cap_edges, b1 - b0);
                    for (uint32_t q = b0; q < b1; q++) {
                        const edge *e = &ix->edges[bedge[q]];
                        ix->cell_edges[ix->ncell_edges++] = *e;
                        if (orient_sign(e->ax, e->ay, e->bx, e->by, rx, ry) == 0 &&
                            rx >= fmin(e->ax, e->bx) && rx <= fmax(e->ax, e->bx) &&
                            ry >= e->ay && ry <= e->by)
                            ce.flags |= ENT_NOREF;
                    }
                    ce.ne = (uint32_t)(ix->ncell_edges - ce.e0);
                    if (poly_contains(ix, p, rx, ry)) ce.flags |= ENT_REF_IN;
                    if (with_sub) ce.sub = subcells(ix, &ce, p, cx, cy);
                }
                GROW(ents, nents, cap_ents, 1);
                ents[nents++] = (tmpent){c, ce};
            }
        }
    }
    free(bucket);
    free(bedge);
    bucket = bedge = NULL;
    /* Group by cell: counting sort, stable so ids ascend within a cell. */
    ix->cell_off = calloc(ncell + 1, sizeof *ix->cell_off);
    ix->cell_ent = malloc((nents + 1) * sizeof *ix->cell_ent);
    uint32_t *fill = calloc(ncell + 1, sizeof *fill);
    if (!ix->cell_off || !ix->cell_ent || !fill) {
        free(fill);
        goto nomem;
    }
    for (size_t k = 0; k < nents; k++) ix->cell_off[ents[k].cell + 1]++;
    for (size_t c = 0; c < ncell; c++) ix->cell_off[c + 1] += ix->cell_off[c];
    for (size_t k = 0; k < nents; k++) {
        uint32_t c = ents[k].cell;
        ix->cell_ent[ix->cell_off[c] + fill[c]++] = ents[k].ce;
    }
    ix->ncell_ent = nents;
    free(fill);
    free(ents);
    return WG_OK;
nomem:
    free(bucket);
    free(bedge);
    free(ents);
    return WG_ERR_NOMEM;
}

wg_status wg_pindex_build(wg_ctx *ctx, const GEOSGeometry *const *geoms, size_t n,
                          double edges_per_cell, wg_pindex **out) {
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
    /* About one cell per edge (measured with callgrind on the county: 8 edges
     * a cell cost 2,100 instructions a query, 1 edge a cell 350), at most 16M cells. */
    double w = gb[2] - gb[0], hgt = gb[3] - gb[1];
    if (!(edges_per_cell >= 1)) edges_per_cell = 1;
    double cells = fmin(fmax((double)ix->nedges / edges_per_cell, 1.0), 16e6);
    double side = sqrt((w > 0 ? w : 1e-9) * (hgt > 0 ? hgt : 1e-9) / cells);
    if (!(side > 0)) side = 1e-6;
    ix->nx = (uint32_t)fmin(fmax(ceil(w / side), 1), 8192);
    ix->ny = (uint32_t)fmin(fmax(ceil(hgt / side), 1), 8192);
    ix->gx0 = gb[0];
    ix->gy0 = gb[1];
    ix->cw = w > 0 ? w / ix->nx * (1 + 1e-12) : 1e-9;
    ix->ch = hgt > 0 ? hgt / ix->ny * (1 + 1e-12) : 1e-9;
    if ((rc = build_bands(ix)) || (rc = build_cells(ix, edges_per_cell < 2))) {
        wg_err(ctx, rc, "out of memory building the point index");
        goto fail;
    }
    *out = ix;
    return WG_OK;
fail:
    wg_pindex_free(ix);
    return rc;
}
