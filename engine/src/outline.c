/* outline.c -- polygons of a thresholded raster window by boundary tracing.
 *
 * Why not GDALPolygonize: it labels and polygonises every value of a
 * raster in general, and on a service area's 8M-cell window it took 1.6-3.4
 * s; here there is one class (t <= T) and one pass suffices.
 *
 * 1. RUNS. One pass over the window's cells makes every row's runs of
 *    inside cells; runs of adjacent rows that share a column are joined
 *    (union-find): the 4-connected components, i.e. the polygons.
 * 2. RINGS. The boundary is made of unit cell edges with an inside cell on
 *    one side. Every ring has a horizontal edge; those of row boundary Y
 *    are the columns inside on exactly one side of it (the difference of
 *    the two rows' runs). From each horizontal edge not yet walked the ring
 *    is followed with the inside on its left: at each corner the two cells
 *    ahead decide, go left if the cell ahead-left is outside, else right
 *    if the cell ahead-right is inside, else straight on. At a corner where
 *    the inside cells touch diagonally only (a saddle) this turns left,
 *    around the cell being followed, so diagonal neighbours stay separate
 *    (4-connected inside, 8-connected outside). Horizontal edges walked are
 *    marked in a bitmap, so each ring is followed once: linear in its
 *    length.
 * 3. PINCHES. A ring can come back to a saddle corner it passed (the
 *    outline touching itself at a point: a hole touching the shell, or two
 *    holes touching). The loop closed there is cut off as a ring of its
 *    own, which keeps every ring simple; the saddles of the current ring
 *    are looked up in a small hash table.
 * 4. POLYGONS. A ring's orientation (signed area) tells a shell
 *    (counter-clockwise: the inside is around it) from a hole; its
 *    component is that of the inside cell next to its first edge. One
 *    polygon per component: its shell, then its holes. */
#include "outline.h"

#include <stdlib.h>
#include <string.h>

typedef struct ring_rec {
    size_t off, n; /* in the traced corners */
    uint32_t comp; /* a run of the component (its root after the pass) */
    int shell;
} ring_rec;

typedef struct work {
    /* runs: row y's runs are [roff[y], roff[y + 1]) */
    uint32_t *rs, *re, *parent;
    size_t nruns, runcap;
    size_t *roff;
    size_t roffcap;
    /* horizontal edges walked: bit Y * w + x */
    uint64_t *seen;
    size_t seencap;
    /* the ring being followed */
    int32_t *cur;
    size_t ncur, curcap;
    /* saddles of the ring being followed: corner key -> position in cur */
    uint64_t *hkey;
    uint32_t *hpos, *hgen, gen;
    size_t hcap, hused;
    /* the rings traced, before grouping */
    int32_t *txy;
    size_t ntxy, txycap;
    ring_rec *rr;
    size_t nrr, rrcap;
    int32_t *poly_of; /* component root -> polygon */
    size_t pocap;
    size_t *cnt;
    size_t cntcap;
} work;

static int grow(void *pp, size_t *cap, size_t need, size_t elsize) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *p = realloc(*(void **)pp, c * elsize);
    if (!p) return -1;
    *(void **)pp = p;
    *cap = c;
    return 0;
}

void wg_outline_free(wg_outline *o) {
    if (!o) return;
    work *k = o->work;
    if (k) {
        free(k->rs), free(k->re), free(k->parent), free(k->roff), free(k->seen), free(k->cur);
        free(k->hkey), free(k->hpos), free(k->hgen), free(k->txy), free(k->rr), free(k->poly_of);
        free(k->cnt);
        free(k);
    }
    free(o->xy), free(o->ring), free(o->poly);
    memset(o, 0, sizeof *o);
}

static uint32_t find(uint32_t *p, uint32_t a) {
    while (p[a] != a) a = p[a] = p[p[a]];
    return a;
}

static void join(uint32_t *p, uint32_t a, uint32_t b) {
    a = find(p, a), b = find(p, b);
    if (a < b) p[b] = a;
    else if (b < a) p[a] = b;
}

/* ---- following one ring ---------------------------------------------------- */

typedef struct tracer {
    const uint32_t *t;
    size_t stride;
    uint32_t w, h, T;
    int every;
    work *k;
} tracer;

static inline int in(const tracer *q, int32_t x, int32_t y) {
    return (uint32_t)x < q->w && (uint32_t)y < q->h && q->t[(size_t)y * q->stride + (size_t)x] <= q->T;
}

/* the cells NW, NE, SW, SE of corner (X, Y) */
static int saddle(const tracer *q, int32_t X, int32_t Y) {
    int nw = in(q, X - 1, Y - 1), ne = in(q, X, Y - 1), sw = in(q, X - 1, Y), se = in(q, X, Y);
    return nw == se && ne == sw && nw != ne;
}

static uint64_t key_of(int32_t X, int32_t Y) { return (uint64_t)(uint32_t)X << 32 | (uint32_t)Y; }

static size_t slot_of(uint64_t key, size_t cap) {
    uint64_t h = key * 0x9E3779B97F4A7C15ULL;
    return (size_t)(h >> 20) & (cap - 1);
}

/* The position recorded for saddle `key` in this ring, or SIZE_MAX. */
static size_t hget(work *k, uint64_t key) {
    if (!k->hcap) return SIZE_MAX;
    for (size_t s = slot_of(key, k->hcap);; s = (s + 1) & (k->hcap - 1)) {
        if (k->hgen[s] != k->gen) return SIZE_MAX;
        if (k->hkey[s] == key) return k->hpos[s];
    }
}

static int hput(work *k, uint64_t key, uint32_t pos) {
    if (2 * (k->hused + 1) > k->hcap) {
        size_t oc = k->hcap, nc = oc ? 2 * oc : 64;
        uint64_t *ok = k->hkey;
        uint32_t *op = k->hpos, *og = k->hgen;
        uint64_t *nk = malloc(nc * sizeof *nk);
        uint32_t *np = malloc(nc * sizeof *np), *ng = calloc(nc, sizeof *ng);
        if (!nk || !np || !ng) {
            free(nk), free(np), free(ng);
            return -1;
        }
        k->hkey = nk, k->hpos = np, k->hgen = ng, k->hcap = nc;
        uint32_t g = k->gen;
        k->gen = 1, k->hused = 0;
        for (size_t s = 0; s < oc; s++)
            if (og[s] == g) {
                size_t d = slot_of(ok[s], nc);
                while (ng[d] == 1) d = (d + 1) & (nc - 1);
                nk[d] = ok[s], np[d] = op[s], ng[d] = 1, k->hused++;
            }
        free(ok), free(op), free(og);
    }
    size_t s = slot_of(key, k->hcap);
    while (k->hgen[s] == k->gen && k->hkey[s] != key) s = (s + 1) & (k->hcap - 1);
    if (k->hgen[s] != k->gen) k->hused++;
    k->hkey[s] = key, k->hpos[s] = pos, k->hgen[s] = k->gen;
    return 0;
}

static void hclear(work *k) {
    k->hused = 0;
    if (++k->gen == 0) { /* wrapped: really clear */
        if (k->hgen) memset(k->hgen, 0, k->hcap * sizeof *k->hgen);
        k->gen = 1;
    }
}

/* Stores corners cur[from, ncur) closed by cur[from] as a traced ring. */
static int keep_ring(work *k, size_t from, uint32_t comp) {
    size_t n = k->ncur - from;
    if (grow(&k->txy, &k->txycap, k->ntxy + 2 * (n + 1), sizeof *k->txy) ||
        grow(&k->rr, &k->rrcap, k->nrr + 1, sizeof *k->rr))
        return -1;
    int32_t *d = k->txy + k->ntxy;
    memcpy(d, k->cur + 2 * from, 2 * n * sizeof *d);
    d[2 * n] = d[0], d[2 * n + 1] = d[1];
    /* twice the signed area, y up: shells come out positive */
    int64_t a2 = 0;
    for (size_t i = 0; i < n; i++)
        a2 += (int64_t)d[2 * i + 2] * d[2 * i + 1] - (int64_t)d[2 * i] * d[2 * i + 3];
    k->rr[k->nrr++] = (ring_rec){k->ntxy / 2, n + 1, comp, a2 > 0};
    k->ntxy += 2 * (n + 1);
    return 0;
}

static int emit(const tracer *q, int32_t X, int32_t Y, uint32_t comp, int is_saddle) {
    work *k = q->k;
    if (is_saddle) {
        uint64_t key = key_of(X, Y);
        size_t p = hget(k, key);
        if (p < k->ncur && k->cur[2 * p] == X && k->cur[2 * p + 1] == Y) {
            /* back at a corner of this ring: cut the loop off */
            if (keep_ring(k, p, comp)) return -1;
            k->ncur = p + 1;
            return 0;
        }
        if (hput(k, key, (uint32_t)k->ncur)) return -1;
    }
    if (grow(&k->cur, &k->curcap, 2 * (k->ncur + 1), sizeof *k->cur)) return -1;
    k->cur[2 * k->ncur] = X, k->cur[2 * k->ncur + 1] = Y;
    k->ncur++;
    return 0;
}

enum { E, N, W, S };
static const int DX[4] = {1, 0, -1, 0}, DY[4] = {0, -1, 0, 1};

/* Follows the ring through horizontal edge from corner (sx, sy) heading d0
 * (E or W), the inside on its left. */
static int follow(const tracer *q, int32_t sx, int32_t sy, int d0, uint32_t comp) {
    work *k = q->k;
    const size_t w = q->w;
    int32_t X = sx, Y = sy;
    int d = d0;
    k->ncur = 0;
    hclear(k);
    if (emit(q, X, Y, comp, saddle(q, X, Y))) return -1;
    for (;;) {
        if (d == E) k->seen[((size_t)Y * w + (size_t)X) >> 6] |= 1ULL << (((size_t)Y * w + (size_t)X) & 63);
        else if (d == W)
            k->seen[((size_t)Y * w + (size_t)X - 1) >> 6] |= 1ULL << (((size_t)Y * w + (size_t)X - 1) & 63);
        X += DX[d], Y += DY[d];
        /* the cells ahead-left and ahead-right of corner (X, Y) */
        int l, r;
        switch (d) {
        case E: l = in(q, X, Y - 1), r = in(q, X, Y); break;
        case N: l = in(q, X - 1, Y - 1), r = in(q, X, Y - 1); break;
        case W: l = in(q, X - 1, Y), r = in(q, X - 1, Y - 1); break;
        default: l = in(q, X, Y), r = in(q, X - 1, Y); break;
        }
        int nd = !l ? (d + 1) & 3 : r ? (d + 3) & 3 : d;
        if (X == sx && Y == sy && nd == d0) break;
        /* arriving with the inside on the left, the corner is a saddle
         * exactly when the cell ahead-left is outside and ahead-right inside */
        if ((nd != d || q->every) && emit(q, X, Y, comp, !l && r)) return -1;
        d = nd;
    }
    size_t from = 0;
    if (d == d0 && !q->every) from = 1; /* the start corner is no turn */
    return keep_ring(k, from, comp);
}

/* ---- the pass ----------------------------------------------------------------- */

/* The run of row y holding column x (it exists). */
static uint32_t run_at(const work *k, uint32_t y, uint32_t x) {
    size_t lo = k->roff[y], hi = k->roff[y + 1];
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (k->rs[mid] <= x) lo = mid;
        else hi = mid;
    }
    return (uint32_t)lo;
}

/* Follows every unwalked horizontal edge of columns [a, b) of row boundary
 * Y whose inside is above (up = 1: heading E) or below (heading W). */
static int edges(const tracer *q, uint32_t Y, uint32_t a, uint32_t b, int up) {
    work *k = q->k;
    for (uint32_t x = a; x < b; x++) {
        size_t bit = (size_t)Y * q->w + x;
        if (k->seen[bit >> 6] >> (bit & 63) & 1) continue;
        uint32_t comp = up ? run_at(k, Y - 1, x) : run_at(k, Y, x);
        if (up ? follow(q, (int32_t)x, (int32_t)Y, E, comp)
               : follow(q, (int32_t)x + 1, (int32_t)Y, W, comp))
            return -1;
    }
    return 0;
}

/* The columns of runs [a0, a1) not covered by runs [b0, b1), to edges(). */
static int minus(const tracer *q, uint32_t Y, size_t a0, size_t a1, size_t b0, size_t b1, int up) {
    work *k = q->k;
    size_t j = b0;
    for (size_t i = a0; i < a1; i++) {
        uint32_t s = k->rs[i], e = k->re[i];
        while (j < b1 && k->re[j] <= s) j++;
        for (size_t m = j; s < e; m++) {
            uint32_t cs = m < b1 ? k->rs[m] : e, ce = m < b1 ? k->re[m] : e;
            if (cs > e) cs = e;
            if (cs > s && edges(q, Y, s, cs, up)) return -1;
            if (m >= b1 || ce >= e) break;
            s = ce;
        }
    }
    return 0;
}

static int pass(const tracer *q, wg_outline *o) {
    work *k = q->k;
    const uint32_t w = q->w, h = q->h;
    k->nruns = k->ntxy = k->nrr = 0;
    if (grow(&k->roff, &k->roffcap, (size_t)h + 2, sizeof *k->roff)) return -1;
    int64_t cells = 0;
    k->roff[0] = 0;
    for (uint32_t y = 0; y < h; y++) {
        const uint32_t *row = q->t + (size_t)y * q->stride;
        uint32_t x = 0;
        size_t first = k->nruns;
        while (x < w) {
            while (x < w && row[x] > q->T) x++;
            if (x == w) break;
            uint32_t s = x;
            while (x < w && row[x] <= q->T) x++;
            if (k->nruns == k->runcap) {
                size_t c = k->runcap ? 2 * k->runcap : 1024;
                uint32_t *a = realloc(k->rs, c * sizeof *a);
                if (a) k->rs = a;
                uint32_t *b = a ? realloc(k->re, c * sizeof *b) : NULL;
                if (b) k->re = b;
                uint32_t *p = b ? realloc(k->parent, c * sizeof *p) : NULL;
                if (!p) return -1;
                k->parent = p, k->runcap = c;
            }
            k->rs[k->nruns] = s, k->re[k->nruns] = x, k->parent[k->nruns] = (uint32_t)k->nruns;
            k->nruns++;
            cells += x - s;
        }
        /* join with the row above where they share a column */
        size_t i = y ? k->roff[y - 1] : 0, ie = first;
        for (size_t j = first; j < k->nruns && i < ie;) {
            if (k->re[i] > k->rs[j] && k->rs[i] < k->re[j]) join(k->parent, (uint32_t)i, (uint32_t)j);
            if (k->re[i] <= k->re[j]) i++;
            else j++;
        }
        k->roff[y + 1] = k->nruns;
    }
    o->cells = cells;
    if (k->nruns > UINT32_MAX - 1) return -1;
    size_t nbits = ((size_t)h + 1) * w;
    if (grow(&k->seen, &k->seencap, nbits / 64 + 1, sizeof *k->seen)) return -1;
    memset(k->seen, 0, (nbits / 64 + 1) * sizeof *k->seen);
    for (uint32_t Y = 0; Y <= h; Y++) {
        size_t a0 = Y ? k->roff[Y - 1] : 0, a1 = Y ? k->roff[Y] : 0; /* the row above */
        size_t b0 = Y < h ? k->roff[Y] : 0, b1 = Y < h ? k->roff[Y + 1] : 0;
        if (minus(q, Y, a0, a1, b0, b1, 1) || minus(q, Y, b0, b1, a0, a1, 0)) return -1;
    }
    return 0;
}

/* Groups the traced rings by polygon, shells first, into o. */
static int group(work *k, wg_outline *o) {
    if (grow(&k->poly_of, &k->pocap, k->nruns + 1, sizeof *k->poly_of)) return -1;
    for (size_t i = 0; i < k->nrr; i++) k->poly_of[find(k->parent, k->rr[i].comp)] = -1;
    size_t np = 0;
    for (size_t i = 0; i < k->nrr; i++) {
        uint32_t c = find(k->parent, k->rr[i].comp);
        k->rr[i].comp = c;
        if (k->rr[i].shell) {
            if (k->poly_of[c] >= 0) return -2; /* two shells for one component: a bug */
            k->poly_of[c] = (int32_t)np++;
        }
    }
    if (grow(&k->cnt, &k->cntcap, np + 1, sizeof *k->cnt) ||
        grow(&o->poly, &o->polycap, np + 1, sizeof *o->poly) ||
        grow(&o->ring, &o->ringcap, k->nrr + 1, sizeof *o->ring) ||
        grow(&o->xy, &o->xycap, k->ntxy ? k->ntxy : 1, sizeof *o->xy))
        return -1;
    memset(k->cnt, 0, (np + 1) * sizeof *k->cnt);
    for (size_t i = 0; i < k->nrr; i++) {
        if (k->poly_of[k->rr[i].comp] < 0) return -2; /* a hole without a shell: a bug */
        k->cnt[k->poly_of[k->rr[i].comp] + 1]++;
    }
    for (size_t j = 0; j < np; j++) k->cnt[j + 1] += k->cnt[j];
    memcpy(o->poly, k->cnt, (np + 1) * sizeof *o->poly);
    /* ring slots: the shell takes its polygon's first slot */
    size_t *slot = k->cnt; /* reused: next free slot of each polygon */
    size_t *order = malloc((k->nrr ? k->nrr : 1) * sizeof *order);
    if (!order) return -1;
    for (size_t j = 0; j < np; j++) slot[j] = o->poly[j] + 1;
    for (size_t i = 0; i < k->nrr; i++) {
        int32_t p = k->poly_of[k->rr[i].comp];
        order[k->rr[i].shell ? o->poly[p] : slot[p]++] = i;
    }
    size_t off = 0;
    for (size_t r = 0; r < k->nrr; r++) {
        const ring_rec *q = &k->rr[order[r]];
        o->ring[r] = off;
        memcpy(o->xy + 2 * off, k->txy + 2 * q->off, 2 * q->n * sizeof *o->xy);
        off += q->n;
    }
    o->ring[k->nrr] = off;
    o->nxy = off, o->nrings = k->nrr, o->npolys = np;
    free(order);
    return 0;
}

int wg_outline_trace(const uint32_t *t, size_t stride, uint32_t w, uint32_t h, uint32_t T,
                     int every_corner, wg_outline *o) {
    o->nxy = o->nrings = o->npolys = 0;
    o->cells = 0;
    if (!o->work && !(o->work = calloc(1, sizeof(work)))) return -1;
    if (!w || !h) return 0;
    tracer q = {t, stride, w, h, T, every_corner, o->work};
    int rc = pass(&q, o);
    if (!rc) rc = group(o->work, o);
    if (rc) o->nxy = o->nrings = o->npolys = 0;
    return rc;
}

/* ---- GEOS ---------------------------------------------------------------------- */

static GEOSGeometry *ring_geos(GEOSContextHandle_t h, const wg_outline *o, size_t r, double x0,
                               double y1, double cell) {
    size_t a = o->ring[r], n = o->ring[r + 1] - a;
    GEOSCoordSequence *cs = GEOSCoordSeq_create_r(h, (unsigned)n, 2);
    if (!cs) return NULL;
    for (size_t i = 0; i < n; i++)
        GEOSCoordSeq_setXY_r(h, cs, (unsigned)i, x0 + o->xy[2 * (a + i)] * cell,
                             y1 - o->xy[2 * (a + i) + 1] * cell);
    GEOSGeometry *g = GEOSGeom_createLinearRing_r(h, cs);
    if (!g) GEOSCoordSeq_destroy_r(h, cs);
    return g;
}

GEOSGeometry *wg_outline_polygon(GEOSContextHandle_t h, const wg_outline *o, size_t j, double x0,
                                 double y1, double cell) {
    size_t r0 = o->poly[j], nh = o->poly[j + 1] - r0 - 1;
    GEOSGeometry *shell = ring_geos(h, o, r0, x0, y1, cell), **holes = NULL, *g = NULL;
    if (!shell) return NULL;
    if (nh && !(holes = calloc(nh, sizeof *holes))) goto fail;
    for (size_t i = 0; i < nh; i++)
        if (!(holes[i] = ring_geos(h, o, r0 + 1 + i, x0, y1, cell))) goto fail;
    if ((g = GEOSGeom_createPolygon_r(h, shell, holes, (unsigned)nh))) {
        free(holes);
        return g;
    }
fail:
    for (size_t i = 0; holes && i < nh; i++)
        if (holes[i]) GEOSGeom_destroy_r(h, holes[i]);
    free(holes);
    GEOSGeom_destroy_r(h, shell);
    return NULL;
}
