/* isochrone.c -- service areas: where one can be within T minutes.
 *
 * One multi-source Dijkstra (route.c) from every origin's ways into the
 * graph (forward; backward with `reverse`, giving times TO the origins),
 * limited to the largest contour. Then the REACHED PIECES (wg_iso_collect):
 *  - on every edge (u, x) touched by a settled node u, the stretch from u
 *    where  t(u) + f * w(u->x) <= T  and u is the faster side, i.e. up to
 *    f* where t(u) + f w1 = t(x) + (1 - f) w2 (the other side x, if
 *    settled); frontier pieces are included (pgRouting drops them);
 *  - on each origin's own edge, the stretches from the snapped point
 *    towards either end the profile may travel, and the straight walk
 *    from the origin to the road (times at walking speed).
 * The pieces of the largest contour carry their times at both ends, and
 * cutting them at a smaller T gives that contour's pieces, so one set of
 * pieces serves every contour. THE POLYGONS come from a travel-time raster
 * of those pieces (isoraster.c): cells of `cell_m` metres (default half
 * the band, larger on large frames) in the workspace's metric CRS take the
 * earliest time of a reached road within `buffer_m` metres (the band,
 * default 30) of their centre, and contour T is the union of the cells
 * reached by T, traced by outline.c. Contours are nested exactly (their
 * cell sets are), ground farther than the band from every road reached in
 * time is a hole, and a node reached by T is inside the T polygon. Areas
 * are cells times cell²; polygons are returned as WGS84 WKB, written here
 * from the traced corners (a corner at every cell corner, brought to
 * lon/lat through one interpolated lattice for all contours, gridxf.c).
 *
 * Why a raster rather than the union of buffers of every piece (the first
 * version): on a county's network the union of a million buffers took 40 s
 * for a 30-minute area; the raster's cost grows with the reached road
 * length and the area's cells, not with overlay work. The price is a
 * staircase outline of half a cell (7.5 m by default). */
#include "graph.h"
#include "gridxf.h"
#include "outline.h"
#include "ogrio.h"
#include "par.h"
#include "workspace.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_SNAP_M 5000.0
#define DEFAULT_BUFFER_M 30.0
#define GRIDXF_M 500.0 /* lattice of the interpolated transformation to lon/lat */

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- pieces ------------------------------------------------------------- */

typedef wg_iso_pbuf pbuf;

void wg_iso_pbuf_free(wg_iso_pbuf *b) {
    free(b->v), free(b->pt);
    memset(b, 0, sizeof *b);
}

static void pb_point(pbuf *b, double lon, double lat) {
    if (b->nomem) return;
    if (b->npt == b->ptcap) {
        size_t cap = b->ptcap ? b->ptcap * 2 : 1024;
        double *p = realloc(b->pt, cap * 2 * sizeof *p);
        if (!p) {
            b->nomem = 1;
            return;
        }
        b->pt = p, b->ptcap = cap;
    }
    b->pt[2 * b->npt] = lon, b->pt[2 * b->npt + 1] = lat;
    b->npt++;
}

static void pb_begin(pbuf *b, uint32_t edge, double t0, double t1) {
    if (b->nomem) return;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        wg_iso_piece *v = realloc(b->v, cap * sizeof *v);
        if (!v) {
            b->nomem = 1;
            return;
        }
        b->v = v, b->cap = cap;
    }
    b->v[b->n++] = (wg_iso_piece){edge, (uint32_t)b->npt, 0, t0, t1};
}

static void pb_end(pbuf *b) {
    if (b->nomem) return;
    wg_iso_piece *p = &b->v[b->n - 1];
    p->npts = (uint32_t)(b->npt - p->off);
    if (p->npts < 2) b->npt = p->off, b->n--; /* a point: nothing travelled */
}

/* Appends edge e from a to b metres (b < a: against the polyline) with
 * times t0 at a and t1 at b. */
static void pb_edge(pbuf *b, const wg_graph *g, uint32_t e, double a, double bb, double t0,
                    double t1) {
    if (a == bb) return;
    uint32_t k0 = g->edge_shp[e], k1 = g->edge_shp[e + 1] - 1;
    double lon, lat;
    pb_begin(b, e, t0, t1);
    wg_graph_along(g, e, a, &lon, &lat);
    pb_point(b, lon, lat);
    if (bb > a) {
        for (uint32_t k = k0; k <= k1; k++)
            if (g->shp_cum[k] > a && g->shp_cum[k] < bb) pb_point(b, g->shp_ll[2 * k], g->shp_ll[2 * k + 1]);
    } else {
        for (uint32_t k = k1 + 1; k-- > k0;)
            if (g->shp_cum[k] < a && g->shp_cum[k] > bb) pb_point(b, g->shp_ll[2 * k], g->shp_ll[2 * k + 1]);
    }
    wg_graph_along(g, e, bb, &lon, &lat);
    pb_point(b, lon, lat);
    pb_end(b);
}

static int settled(const wg_sdir *s, uint32_t v) {
    return s->stamp[v] == s->epoch && s->pos[v] == WG_NONE;
}

/* The nodes settled within T ms in increasing id (*n of them; new,
 * free()). The graph stores nodes along a Hilbert curve and edges by their
 * source, so visiting them in id order reads the arcs, edges and shapes of
 * neighbouring roads together; in the search's order (by time) every node
 * was a few cache misses: 45 of the 30-minute area's 150 ms. Two passes
 * of a 16-bit radix sort. */
static uint32_t *by_node(const wg_sdir *s, double T, uint32_t *n) {
    uint32_t m = 0;
    while (m < s->nsettled && s->dist[s->settled[m]] <= T) m++; /* settled in order of time */
    uint32_t *a = malloc((m ? m : 1) * sizeof *a), *tmp = malloc((m ? m : 1) * sizeof *tmp);
    size_t *cnt = calloc(65536, sizeof *cnt);
    if (!a || !tmp || !cnt) {
        free(a), free(tmp), free(cnt);
        return NULL;
    }
    const uint32_t *src = s->settled;
    uint32_t *dst = tmp;
    for (int pass = 0; pass < 2; pass++) {
        int sh = 16 * pass;
        memset(cnt, 0, 65536 * sizeof *cnt);
        for (uint32_t i = 0; i < m; i++) cnt[(src[i] >> sh) & 0xffff]++;
        size_t sum = 0;
        for (size_t k = 0; k < 65536; k++) {
            size_t c = cnt[k];
            cnt[k] = sum, sum += c;
        }
        for (uint32_t i = 0; i < m; i++) dst[cnt[(src[i] >> sh) & 0xffff]++] = src[i];
        src = dst, dst = a;
    }
    free(tmp), free(cnt);
    *n = m;
    return a;
}

/* The pieces of the edges around nodes order[lo, hi) into b. */
static void collect_nodes(const wg_iso_search *is, double T, const uint32_t *order, size_t lo,
                          size_t hi, pbuf *b) {
    const wg_graph *g = is->g;
    const wg_sdir *s = &is->s;
    const wg_gprof *P = &g->prof[is->p];
    int back = is->reverse;
    const uint32_t *off = back ? P->bwd_off : P->fwd_off;
    const wg_arc *arc = back ? P->bwd : P->fwd;
    const uint32_t *ref = back ? P->bwd_ref : P->fwd_ref;
    uint32_t narcs = back ? P->m->narcs_b : P->m->narcs_f, n = g->m.nnodes, E = g->m.nedges;
    for (size_t i = lo; i < hi; i++) {
        uint32_t u = order[i];
        double tu = s->dist[u];
        for (uint32_t k = off[u], end = wg_csr_end(off, u, narcs); k < end; k++) {
            uint32_t x = arc[k].head, e = WG_REF_EDGE(ref[k]), rev = WG_REF_REV(ref[k]);
            if (x >= n || e >= E) continue;
            double w1 = arc[k].w, w2 = P->ew[2 * e + (1 - rev)];
            double f = w1 > 0 ? (T - tu) / w1 : 1;
            if (f > 1) f = 1;
            if (w2 != WG_W_INF && settled(s, x)) {
                double tx = s->dist[x], fs = w1 + w2 > 0 ? (tx + w2 - tu) / (w1 + w2) : 0.5;
                if (u == x) fs = 0.5; /* a loop: each direction takes half */
                if (fs < f) f = fs;
            }
            if (f <= 0) continue;
            /* u is at the polyline's start when the travelled arc leaves it
             * forwards (forward search, rev 0) or arrives backwards there */
            int u_at_start = back ? rev : !rev;
            double len = g->edge_len[e], a = u_at_start ? 0 : len;
            double bb = u_at_start ? f * len : len - f * len;
            pb_edge(b, g, e, a, bb, tu, tu + f * w1);
        }
    }
}

/* Room for n more pieces and m more points. */
static void pb_reserve(pbuf *b, size_t n, size_t m) {
    if (b->nomem) return;
    if (b->n + n > b->cap) {
        wg_iso_piece *v = realloc(b->v, (b->n + n) * sizeof *v);
        if (!v) {
            b->nomem = 1;
            return;
        }
        b->v = v, b->cap = b->n + n;
    }
    if (b->npt + m > b->ptcap) {
        double *pt = realloc(b->pt, (b->npt + m) * 2 * sizeof *pt);
        if (!pt) {
            b->nomem = 1;
            return;
        }
        b->pt = pt, b->ptcap = b->npt + m;
    }
}

/* Appends a's pieces and points to b (a's offsets shifted). */
static void pb_append(pbuf *b, const pbuf *a) {
    if (a->nomem) b->nomem = 1;
    pb_reserve(b, a->n, a->npt);
    if (b->nomem) return;
    for (size_t i = 0; i < a->n; i++) {
        b->v[b->n + i] = a->v[i];
        b->v[b->n + i].off += (uint32_t)b->npt;
    }
    if (a->npt) memcpy(b->pt + 2 * b->npt, a->pt, a->npt * 2 * sizeof *a->pt);
    b->n += a->n, b->npt += a->npt;
}

typedef struct collect_job {
    const wg_iso_search *is;
    double T;
    const uint32_t *order;
    size_t n;
    pbuf *first;           /* part 0 writes here (the caller's buffer) */
    pbuf part[WG_PAR_MAX]; /* the other parts' pieces */
} collect_job;

static void collect_part(void *arg, int k, int nparts) {
    collect_job *j = arg;
    size_t lo, hi;
    wg_par_range(j->n, k, nparts, &lo, &hi);
    collect_nodes(j->is, j->T, j->order, lo, hi, k ? &j->part[k] : j->first);
}

/* The pieces reached within T ms (see the top of the file), on `threads`
 * threads (0: one per CPU): the nodes in id order split into parts, whose
 * pieces are appended in part order, so the result is the same for any
 * number of threads. */
void wg_iso_collect(const wg_iso_search *is, double T, int threads, pbuf *b) {
    const wg_graph *g = is->g;
    const wg_gprof *P = &g->prof[is->p];
    int back = is->reverse;
    uint32_t nu = 0, *order = by_node(&is->s, T, &nu);
    if (!order) {
        b->nomem = 1;
        return;
    }
    /* below some thousands of nodes a thread costs more than it saves,
     * unless the caller asks for a number */
    int nparts = threads <= 0 && nu < 4096 ? 1 : wg_par_parts(threads);
    collect_job *j = calloc(1, sizeof *j);
    if (!j) {
        free(order);
        b->nomem = 1;
        return;
    }
    *j = (collect_job){.is = is, .T = T, .order = order, .n = nu, .first = b};
    wg_par_run(nparts, collect_part, j);
    for (int k = 1; k < nparts; k++) {
        pb_append(b, &j->part[k]);
        wg_iso_pbuf_free(&j->part[k]);
    }
    free(j), free(order);
    /* the origins' walks and their own edges */
    for (size_t o = 0; o < is->norig; o++) {
        const wg_iso_origin *og = &is->orig[o];
        if (!og->ok) continue;
        double walk = og->walk_ms;
        if (walk > T) continue;
        pb_begin(b, WG_NONE, 0, walk);
        pb_point(b, og->lon, og->lat);
        pb_point(b, og->sn.lon, og->sn.lat);
        pb_end(b);
        uint32_t e = og->sn.edge;
        double len = g->edge_len[e], a = og->sn.along_m;
        /* travelling towards v uses the u->v arc (forward); reaching the
         * origin from beyond it towards u in reverse uses v->u */
        uint32_t w_tov = P->ew[2 * e + (back ? 1 : 0)], w_tou = P->ew[2 * e + (back ? 0 : 1)];
        if (w_tov != WG_W_INF && len > a) {
            double f = w_tov > 0 ? (T - walk) / w_tov : 1, rest = (len - a) / (len > 0 ? len : 1);
            double fr = f < rest ? f : rest;
            pb_edge(b, g, e, a, a + fr * len, walk, walk + fr * w_tov);
        }
        if (w_tou != WG_W_INF && a > 0) {
            double f = w_tou > 0 ? (T - walk) / w_tou : 1, rest = a / (len > 0 ? len : 1);
            double fr = f < rest ? f : rest;
            pb_edge(b, g, e, a, a - fr * len, walk, walk + fr * w_tou);
        }
    }
}

/* ---- the search ---------------------------------------------------------- */

static int profile_index(wg_ctx *ctx, const wg_graph *g, const char *profile, int *p) {
    char names[300] = "";
    *p = -1;
    for (uint32_t i = 0; i < g->m.nprofiles; i++) {
        if (profile && !strcmp(profile, g->prof[i].m->name)) *p = (int)i;
        size_t l = strlen(names);
        snprintf(names + l, sizeof names - l, "%s%s", i ? ", " : "", g->prof[i].m->name);
    }
    if (!profile && g->m.nprofiles) *p = 0;
    if (*p < 0) {
        wg_err(ctx, WG_ERR_NOT_FOUND, "no profile '%s' in the road graph (it has: %s)",
               profile ? profile : "", names);
        return -1;
    }
    return 0;
}

void wg_iso_search_free(wg_iso_search *is) {
    if (!is) return;
    wg_sdir_free(&is->s);
    free(is->orig);
    memset(is, 0, sizeof *is);
}

wg_status wg_iso_search_run(wg_ctx *ctx, const wg_graph *g, const char *profile, int reverse,
                            double max_snap_m, const double *ll, size_t n, double limit_ms,
                            wg_iso_search *is) {
    wg_status rc = WG_OK;
    wg_source *src = NULL;
    memset(is, 0, sizeof *is);
    if (!g) return wg_err(ctx, WG_ERR_INVALID_ARG, "no road graph");
    if (profile_index(ctx, g, profile, &is->p)) return WG_ERR_NOT_FOUND;
    is->g = g, is->reverse = reverse;
    if (max_snap_m <= 0) max_snap_m = DEFAULT_SNAP_M;
    const wg_gpmeta *pm = g->prof[is->p].m;
    is->orig = calloc(n ? n : 1, sizeof *is->orig);
    src = malloc((n ? n : 1) * 2 * sizeof *src);
    if (!is->orig || !src) goto nomem;
    if ((rc = wg_sdir_init(ctx, &is->s, g->m.nnodes, 0))) goto fail;
    is->norig = n;
    size_t ns = 0;
    for (size_t i = 0; i < n; i++) {
        wg_iso_origin *o = &is->orig[i];
        o->lon = ll[2 * i], o->lat = ll[2 * i + 1];
        if (!isfinite(o->lon) || !isfinite(o->lat) || fabs(o->lon) > 180 || fabs(o->lat) > 90) {
            rc = wg_err(ctx, WG_ERR_INVALID_ARG, "origin %zu (%g, %g) is not a WGS84 lon/lat",
                        i + 1, o->lon, o->lat);
            goto fail;
        }
        o->ok = wg_graph_snap(g, is->p, o->lon, o->lat, max_snap_m, &o->sn);
        if (!o->ok) {
            is->no_road++;
            continue;
        }
        double w = o->sn.dist_m * 3600.0 / pm->offroad_kmh;
        o->walk_ms = w >= 4e9 ? WG_W_INF - 1 : (uint32_t)llround(w);
        ns += (size_t)wg_route_sources(g, is->p, &o->sn, o->walk_ms, reverse, src + ns);
    }
    uint32_t lim = limit_ms >= (double)(WG_W_INF - 1) ? WG_W_INF - 1 : (uint32_t)floor(limit_ms);
    wg_search_dijkstra(&is->s, g, is->p, reverse, src, ns, lim, NULL, NULL);
    free(src);
    return WG_OK;
nomem:
    rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory for a service area");
fail:
    free(src);
    wg_iso_search_free(is);
    return rc;
}

/* ---- polygons ------------------------------------------------------------ */

/* Gathers the polygons of a contour into one OGR MultiPolygon. */
typedef struct xybuf {
    double *v;
    size_t cap;
} xybuf;

/* Little-endian (NDR) WKB pieces. */
static unsigned char *wkb_u32(unsigned char *w, size_t v) {
    for (int i = 0; i < 4; i++) w[i] = (unsigned char)(v >> (8 * i));
    return w + 4;
}

static unsigned char *wkb_head(unsigned char *w, uint32_t type, size_t n) {
    *w++ = 1;
    return wkb_u32(wkb_u32(w, type), n);
}

static unsigned char *wkb_doubles(unsigned char *w, const double *v, size_t n) {
    const uint16_t one = 1;
    memcpy(w, v, n * sizeof *v);
    if (!*(const unsigned char *)&one) /* a big-endian host */
        for (size_t i = 0; i < n; i++)
            for (int k = 0; k < 4; k++) {
                unsigned char c = w[8 * i + k];
                w[8 * i + k] = w[8 * i + 7 - k], w[8 * i + 7 - k] = c;
            }
    return w + n * sizeof *v;
}

/* Contour T of the raster as a WGS84 MultiPolygon, ISO WKB (new, free());
 * *cells gets its number of cells. The outline has a corner at every cell
 * corner along it, each transformed from its integer position through gx
 * (made once for the raster): a straight run in the metric CRS is a
 * (slightly) curved line in lon/lat, so two contours sharing a stretch of
 * outline must share all its vertices, computed the same way, to stay
 * exactly nested once transformed. */
static wg_status contour_wkb(wg_ws *ws, const wg_iso_raster *r, const wg_gridxf *gx, double T,
                             int threads, wg_outline *o, xybuf *b, unsigned char **wkb,
                             size_t *len, int64_t *cells) {
    double ox, oy;
    *wkb = NULL, *len = 0;
    wg_status rc = wg_iso_raster_outline(ws->ctx, r, T, -HUGE_VAL, -HUGE_VAL, HUGE_VAL, HUGE_VAL, 1,
                                         o, &ox, &oy);
    if (rc) return rc;
    *cells = o->cells;
    /* the metric corners in the second half of the buffer, lon/lat in the first */
    if (4 * o->nxy > b->cap) {
        double *v = realloc(b->v, 4 * o->nxy * sizeof *v);
        if (!v) return wg_err(ws->ctx, WG_ERR_NOMEM, "out of memory");
        b->v = v, b->cap = 4 * o->nxy;
    }
    double *m = o->nxy ? b->v + 2 * o->nxy : NULL; /* an empty contour has no buffer */
    for (size_t i = 0; i < o->nxy; i++) {
        m[2 * i] = ox + (double)o->xy[2 * i] * r->cell;
        m[2 * i + 1] = oy - (double)o->xy[2 * i + 1] * r->cell;
    }
    if ((rc = wg_gridxf_apply_to(gx, m, b->v, o->nxy, threads))) return rc;
    /* WKB written here: GEOS took 145 ms to build and encode the 30-minute
     * area's million corners, this takes a few ms */
    *len = 9;
    for (size_t p = 0; p < o->npolys; p++) *len += 9 + 4 * (o->poly[p + 1] - o->poly[p]);
    *len += 16 * o->nxy;
    if (!(*wkb = malloc(*len))) return wg_err(ws->ctx, WG_ERR_NOMEM, "out of memory");
    unsigned char *w = *wkb;
    w = wkb_head(w, 6, o->npolys); /* MultiPolygon */
    for (size_t p = 0; p < o->npolys; p++) {
        w = wkb_head(w, 3, o->poly[p + 1] - o->poly[p]); /* Polygon */
        for (size_t k = o->poly[p]; k < o->poly[p + 1]; k++) {
            size_t a = o->ring[k], n = o->ring[k + 1] - a;
            w = wkb_u32(w, n);
            w = wkb_doubles(w, b->v + 2 * a, 2 * n);
        }
    }
    return WG_OK;
}
/* ---- the public object --------------------------------------------------- */

typedef struct contour {
    double minutes, area_m2;
    int64_t nodes, pieces;
    unsigned char *wkb;
    size_t wkb_len;
} contour;

struct wg_isochrone {
    wg_ctx *ctx;
    size_t n;
    contour *c;
    wg_isochrone_info info;
    pbuf lines; /* the pieces of the largest contour */
};

void wg_isochrone_free(wg_isochrone *iso) {
    if (!iso) return;
    for (size_t i = 0; i < iso->n; i++) free(iso->c[i].wkb);
    free(iso->c);
    free(iso->lines.v), free(iso->lines.pt);
    free(iso);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

wg_status wg_isochrone_compute(wg_ws *ws, const wg_graph *g, const double *lonlat,
                               size_t norigins, const double *minutes, size_t nminutes,
                               const wg_isochrone_opts *opts, wg_isochrone **out) {
    wg_ctx *ctx = ws->ctx;
    wg_iso_search is;
    wg_iso_raster r;
    wg_gridxf gx;
    wg_outline ol;
    xybuf xb = {0};
    wg_status rc = WG_OK;
    double *mins = NULL;
    memset(&is, 0, sizeof is);
    memset(&r, 0, sizeof r);
    memset(&gx, 0, sizeof gx);
    memset(&ol, 0, sizeof ol);
    if (!norigins || !nminutes)
        return wg_err(ctx, WG_ERR_INVALID_ARG, "a service area needs origins and minutes");
    for (size_t i = 0; i < nminutes; i++)
        if (!isfinite(minutes[i]) || minutes[i] <= 0 || minutes[i] > 24 * 60)
            return wg_err(ctx, WG_ERR_INVALID_ARG, "minutes must be > 0 and at most 1440, not %g",
                          minutes[i]);
    double band = opts && opts->buffer_m > 0 ? opts->buffer_m : DEFAULT_BUFFER_M;
    double cell = opts && opts->cell_m > 0 ? opts->cell_m : 0; /* 0: chosen by the raster */
    wg_isochrone *iso = calloc(1, sizeof *iso);
    mins = malloc(nminutes * sizeof *mins);
    if (!iso || !mins) {
        free(iso), free(mins);
        return wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    }
    iso->ctx = ctx;
    memcpy(mins, minutes, nminutes * sizeof *mins);
    qsort(mins, nminutes, sizeof *mins, cmp_double);
    double Tmax = mins[nminutes - 1] * 60000.0;
    double t0 = now_ms();
    if ((rc = wg_iso_search_run(ctx, g, opts ? opts->profile : NULL, opts && opts->reverse,
                                opts ? opts->max_snap_m : 0, lonlat, norigins, Tmax, &is)))
        goto fail;
    double t1 = now_ms();
    iso->info.origins = (int64_t)norigins;
    iso->info.no_road = is.no_road;
    iso->info.settled = is.s.nsettled;
    iso->info.search_ms = t1 - t0;

    iso->c = calloc(nminutes, sizeof *iso->c);
    if (!iso->c) goto nomem;
    /* the pieces of the largest contour serve them all (see the top) */
    wg_iso_collect(&is, Tmax, opts ? opts->threads : 0, &iso->lines);
    if (iso->lines.nomem) goto nomem;
    double t2 = now_ms();
    iso->info.pieces_ms = t2 - t1;
    if ((rc = wg_iso_raster_build(ws, iso->lines.v, iso->lines.n, iso->lines.pt, iso->lines.npt,
                                  band, cell, opts ? opts->threads : 0, &r)))
        goto fail;
    cell = r.cell;
    iso->info.cell_m = cell;
    double t3 = now_ms();
    iso->info.raster_ms = t3 - t2;
    /* one transformation to lon/lat for every contour (so shared corners agree) */
    if ((rc = wg_gridxf_make(ws, 1, r.x0, r.y1 - r.h * cell, r.x0 + r.w * cell, r.y1, GRIDXF_M,
                             8 * ((size_t)r.w + r.h), &gx)))
        goto fail;
    for (size_t i = 0; i < nminutes; i++) {
        if (i && mins[i] == mins[i - 1]) continue;
        double T = mins[i] * 60000.0;
        contour *c = &iso->c[iso->n];
        c->minutes = mins[i];
        for (uint32_t k = 0; k < is.s.nsettled && is.s.dist[is.s.settled[k]] <= T; k++) c->nodes++;
        for (size_t k = 0; k < iso->lines.n; k++) c->pieces += iso->lines.v[k].t0 < T;
        int64_t cells = 0;
        if ((rc = contour_wkb(ws, &r, &gx, T, opts ? opts->threads : 0, &ol, &xb, &c->wkb,
                              &c->wkb_len, &cells)))
            goto fail;
        c->area_m2 = (double)cells * cell * cell;
        iso->n++;
    }
    iso->info.polygon_ms = now_ms() - t1;
    iso->info.outline_ms = now_ms() - t3;
    goto done;
nomem:
    rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory building a service area");
fail:
    wg_isochrone_free(iso);
    iso = NULL;
done:
    wg_iso_raster_free(&r);
    wg_gridxf_free(&gx);
    wg_outline_free(&ol);
    wg_iso_search_free(&is);
    free(mins), free(xb.v);
    if (iso) *out = iso;
    return rc;
}

size_t wg_isochrone_count(const wg_isochrone *iso) { return iso ? iso->n : 0; }

wg_status wg_isochrone_get(const wg_isochrone *iso, size_t i, wg_isochrone_contour *out) {
    if (!iso || i >= iso->n) return WG_ERR_INVALID_ARG;
    const contour *c = &iso->c[i];
    *out = (wg_isochrone_contour){c->minutes, c->area_m2, c->nodes, c->pieces, c->wkb, c->wkb_len};
    return WG_OK;
}

void wg_isochrone_get_info(const wg_isochrone *iso, wg_isochrone_info *out) {
    memset(out, 0, sizeof *out);
    if (iso) *out = iso->info;
}

size_t wg_isochrone_lines(const wg_isochrone *iso) { return iso ? iso->lines.n : 0; }

wg_status wg_isochrone_line(const wg_isochrone *iso, size_t i, wg_isochrone_piece *out) {
    if (!iso || i >= iso->lines.n) return WG_ERR_INVALID_ARG;
    const wg_iso_piece *p = &iso->lines.v[i];
    out->edge_id = p->edge == WG_NONE ? 0 : (int64_t)p->edge + 1;
    out->start_min = p->t0 / 60000.0;
    out->end_min = p->t1 / 60000.0;
    out->npoints = p->npts;
    out->coords = iso->lines.pt + 2 * (size_t)p->off;
    return WG_OK;
}

/* ---- writing ------------------------------------------------------------- */

wg_status wg_iso_write_layer(wg_ctx *ctx, const char *path, const char *layer, int gtype,
                             wg_iso_layer_fn fn, void *user) {
    wg_staging sg;
    wg_status rc;
    const char *drv = wg_ogr_driver_for(ctx, path);
    if (!drv) return WG_ERR_INVALID_ARG;
    wg_gdal_init();
    if ((rc = wg_staging_open(ctx, path, &sg))) return rc;
    wg_gdal_quiet_push();
    GDALDriverH d = GDALGetDriverByName(drv);
    GDALDatasetH ds = d ? GDALCreate(d, sg.tmpfile, 0, 0, 0, GDT_Unknown, NULL) : NULL;
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    OGRLayerH l = NULL;
    char *lopts[] = {"ENCODING=UTF-8", NULL};
    /* GeoJSON with 7 decimals (1 cm; the outline follows 15-30 m cells):
     * a county's 30-minute area has ~430,000 corners, and GDAL's default
     * 15 digits cost a quarter more time and half again the bytes. The
     * traced rings already follow RFC 7946's right-hand rule (shells
     * counter-clockwise, holes clockwise); GDAL's RFC7946=YES only
     * re-checks them, 40% slower. */
    char *gjopts[] = {"COORDINATE_PRECISION=7", NULL};
    if (!ds || !srs) {
        rc = wg_err(ctx, WG_ERR_GDAL, "cannot create %s: %s", path, wg_gdal_msg());
        goto done;
    }
    OSRImportFromEPSG(srs, 4326);
    OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
    l = GDALDatasetCreateLayer(ds, layer, srs, (OGRwkbGeometryType)gtype,
                               !strcmp(drv, "ESRI Shapefile") ? lopts
                               : !strcmp(drv, "GeoJSON")      ? gjopts
                                                              : NULL);
    if (!l) {
        rc = wg_err(ctx, WG_ERR_GDAL, "cannot create layer %s in %s: %s", layer, path,
                    wg_gdal_msg());
        goto done;
    }
    rc = fn(ctx, l, user);
done:
    if (ds) GDALClose(ds);
    if (srs) OSRDestroySpatialReference(srs);
    wg_gdal_quiet_pop();
    wg_status rc2 = wg_staging_close(ctx, &sg, rc == WG_OK);
    return rc ? rc : rc2;
}

static wg_status write_contours(wg_ctx *ctx, void *layer, void *user) {
    OGRLayerH l = layer;
    const wg_isochrone *iso = user;
    wg_status rc;
    if ((rc = wg_ogr_add_field(ctx, l, "minutes", OFTReal, -1)) ||
        (rc = wg_ogr_add_field(ctx, l, "area_m2", OFTReal, -1)) ||
        (rc = wg_ogr_add_field(ctx, l, "nodes", OFTInteger64, -1)))
        return rc;
    /* largest first, so a map draws the smaller contours on top */
    for (size_t i = iso->n; i-- > 0;) {
        const contour *c = &iso->c[i];
        OGRFeatureH f = OGR_F_Create(OGR_L_GetLayerDefn(l));
        OGRGeometryH og = NULL;
        OGR_G_CreateFromWkbEx(c->wkb, NULL, &og, c->wkb_len);
        if (og) og = OGR_G_ForceToMultiPolygon(og);
        OGR_F_SetFieldDouble(f, 0, c->minutes);
        OGR_F_SetFieldDouble(f, 1, round(c->area_m2 * 10) / 10);
        OGR_F_SetFieldInteger64(f, 2, c->nodes);
        if (og) OGR_F_SetGeometryDirectly(f, og);
        OGRErr e = og ? OGR_L_CreateFeature(l, f) : OGRERR_FAILURE;
        OGR_F_Destroy(f);
        if (e != OGRERR_NONE)
            return wg_err(ctx, WG_ERR_GDAL, "cannot write the %g-minute contour: %s", c->minutes,
                          wg_gdal_msg());
    }
    return WG_OK;
}

static wg_status write_lines(wg_ctx *ctx, void *layer, void *user) {
    OGRLayerH l = layer;
    const wg_isochrone *iso = user;
    wg_status rc;
    if ((rc = wg_ogr_add_field(ctx, l, "edge_id", OFTInteger64, -1)) ||
        (rc = wg_ogr_add_field(ctx, l, "start_min", OFTReal, -1)) ||
        (rc = wg_ogr_add_field(ctx, l, "end_min", OFTReal, -1)))
        return rc;
    for (size_t i = 0; i < iso->lines.n; i++) {
        wg_isochrone_piece p;
        wg_isochrone_line(iso, i, &p);
        OGRFeatureH f = OGR_F_Create(OGR_L_GetLayerDefn(l));
        OGRGeometryH og = OGR_G_CreateGeometry(wkbLineString);
        for (size_t k = 0; k < p.npoints; k++) OGR_G_AddPoint_2D(og, p.coords[2 * k], p.coords[2 * k + 1]);
        if (p.edge_id) OGR_F_SetFieldInteger64(f, 0, p.edge_id);
        OGR_F_SetFieldDouble(f, 1, round(p.start_min * 1e4) / 1e4);
        OGR_F_SetFieldDouble(f, 2, round(p.end_min * 1e4) / 1e4);
        OGR_F_SetGeometryDirectly(f, og);
        OGRErr e = OGR_L_CreateFeature(l, f);
        OGR_F_Destroy(f);
        if (e != OGRERR_NONE)
            return wg_err(ctx, WG_ERR_GDAL, "cannot write a road piece: %s", wg_gdal_msg());
    }
    return WG_OK;
}

wg_status wg_isochrone_write(const wg_isochrone *iso, const char *path, const char *lines_path) {
    wg_status rc = wg_iso_write_layer(iso->ctx, path, "isochrones", wkbMultiPolygon, write_contours, (void *)iso);
    if (!rc && lines_path)
        rc = wg_iso_write_layer(iso->ctx, lines_path, "reached_roads", wkbLineString, write_lines, (void *)iso);
    return rc;
}
