/* route.c -- searches over the road graph: routes and dispatch.
 *
 * A query point is first snapped to the nearest point of the nearest road
 * the profile may use; it enters the graph through the ends of that edge,
 * each with the walk to the road plus its fraction of the edge's time in
 * the direction of travel (a one-way edge gives one end only). Both ends of
 * a route are such sets of weighted sources, so every search here is a
 * multi-source search, which also makes dispatch and (next) isochrones
 * the same machinery.
 *
 *  - A route is an upward search from each end in the profile's
 *    contraction hierarchy (ch.c), meeting at the fastest route's most
 *    important node; shortcuts are unpacked into the edges they stand for.
 *    A bidirectional Dijkstra on the plain arcs gives the same answer (it
 *    is kept as a check and for tests). Both are exact.
 *  - Dispatch is one backward Dijkstra from the incident (times TO it), the
 *    officers' stations being looked up as their edge ends are settled; it
 *    stops as soon as `limit` stations are certain: a station whose best
 *    time is no more than the current search radius can no longer improve.
 *
 * Search labels live in per-router arrays validated by an epoch stamp, so a
 * query never clears anything proportional to the graph's size. */
#include "graph.h"
#include "workspace.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SNAP_M 5000.0

/* ---- search state and its 4-ary heap ------------------------------------- */

wg_status wg_sdir_init(wg_ctx *ctx, wg_sdir *s, uint32_t n, int want_len) {
    memset(s, 0, sizeof *s);
    size_t m = (size_t)n + 1;
    s->n = n;
    s->epoch = 1;
    s->stamp = calloc(m, sizeof *s->stamp);
    s->dist = malloc(m * sizeof *s->dist);
    s->par = malloc(m * sizeof *s->par);
    s->pnode = malloc(m * sizeof *s->pnode);
    s->pos = malloc(m * sizeof *s->pos);
    s->hnode = malloc(m * sizeof *s->hnode);
    s->hkey = malloc(m * sizeof *s->hkey);
    s->settled = malloc(m * sizeof *s->settled);
    if (want_len) s->len = malloc(m * sizeof *s->len);
    if (!s->stamp || !s->dist || !s->par || !s->pnode || !s->pos || !s->hnode || !s->hkey ||
        !s->settled || (want_len && !s->len)) {
        wg_sdir_free(s);
        return wg_err(ctx, WG_ERR_NOMEM, "out of memory for a road search");
    }
    return WG_OK;
}

void wg_sdir_free(wg_sdir *s) {
    free(s->stamp), free(s->dist), free(s->par), free(s->pnode), free(s->pos);
    free(s->hnode), free(s->hkey), free(s->settled), free(s->len);
    memset(s, 0, sizeof *s);
}

void wg_sdir_reset(wg_sdir *s) {
    if (++s->epoch == 0) {
        memset(s->stamp, 0, ((size_t)s->n + 1) * sizeof *s->stamp);
        s->epoch = 1;
    }
    s->hn = 0;
    s->nsettled = 0;
}

static inline void h_up(wg_sdir *s, uint32_t i) {
    uint32_t v = s->hnode[i], k = s->hkey[i];
    while (i) {
        uint32_t p = (i - 1) / 4;
        if (s->hkey[p] <= k) break;
        s->hnode[i] = s->hnode[p];
        s->hkey[i] = s->hkey[p];
        s->pos[s->hnode[i]] = i;
        i = p;
    }
    s->hnode[i] = v;
    s->hkey[i] = k;
    s->pos[v] = i;
}

static inline uint32_t h_pop(wg_sdir *s) {
    uint32_t top = s->hnode[0], n = --s->hn;
    s->pos[top] = WG_NONE; /* settled */
    if (!n) return top;
    uint32_t v = s->hnode[n], k = s->hkey[n], i = 0;
    for (;;) {
        uint32_t c = 4 * i + 1, m = WG_NONE, mk = k;
        for (uint32_t j = c; j < c + 4 && j < n; j++)
            if (s->hkey[j] < mk) mk = s->hkey[j], m = j;
        if (m == WG_NONE) break;
        s->hnode[i] = s->hnode[m];
        s->hkey[i] = mk;
        s->pos[s->hnode[i]] = i;
        i = m;
    }
    s->hnode[i] = v;
    s->hkey[i] = k;
    s->pos[v] = i;
    return top;
}

int wg_sdir_offer(wg_sdir *s, uint32_t v, uint32_t d, uint32_t par, uint32_t pnode) {
    if (s->stamp[v] != s->epoch) {
        s->stamp[v] = s->epoch;
        s->dist[v] = d, s->par[v] = par, s->pnode[v] = pnode;
        s->hnode[s->hn] = v;
        s->hkey[s->hn] = d;
        h_up(s, s->hn++);
        return 1;
    }
    if (d >= s->dist[v] || s->pos[v] == WG_NONE) return 0;
    s->dist[v] = d, s->par[v] = par, s->pnode[v] = pnode;
    s->hkey[s->pos[v]] = d;
    h_up(s, s->pos[v]);
    return 1;
}

static inline uint32_t h_topkey(const wg_sdir *s) { return s->hn ? s->hkey[0] : WG_W_INF; }

static void seed(wg_sdir *s, const wg_source *src, size_t n) {
    wg_sdir_reset(s);
    for (size_t i = 0; i < n; i++)
        if (wg_sdir_offer(s, src[i].node, src[i].cost, WG_NONE, WG_NONE) && s->len)
            s->len[src[i].node] = src[i].len_m;
}

uint32_t wg_search_dijkstra(wg_sdir *s, const wg_graph *g, int p, int backward,
                            const wg_source *src, size_t nsrc, uint32_t limit,
                            int (*on_settle)(void *user, uint32_t node, uint32_t t), void *user) {
    const wg_gprof *P = &g->prof[p];
    const uint32_t *off = backward ? P->bwd_off : P->fwd_off;
    const wg_arc *arc = backward ? P->bwd : P->fwd;
    const uint32_t *ref = backward ? P->bwd_ref : P->fwd_ref;
    uint32_t narcs = backward ? P->m->narcs_b : P->m->narcs_f, n = g->m.nnodes, E = g->m.nedges;
    seed(s, src, nsrc);
    while (s->hn) {
        uint32_t d = s->hkey[0];
        if (d > limit) break;
        uint32_t v = h_pop(s);
        s->settled[s->nsettled++] = v;
        if (on_settle && on_settle(user, v, d)) break;
        for (uint32_t k = off[v], end = wg_csr_end(off, v, narcs); k < end; k++) {
            uint64_t nd = (uint64_t)d + arc[k].w;
            uint32_t x = arc[k].head, e = WG_REF_EDGE(ref[k]);
            if (nd >= WG_W_INF || x >= n || e >= E) continue;
            if (wg_sdir_offer(s, x, (uint32_t)nd, ref[k], v) && s->len)
                s->len[x] = s->len[v] + g->edge_len[e];
        }
    }
    return s->nsettled;
}

/* ---- entering the graph from a snapped point ------------------------------ */

static uint32_t part(double frac, uint32_t w) {
    double t = frac * (double)w;
    return (uint32_t)llround(t < 0 ? 0 : t > w ? w : t);
}

static uint32_t walk_ms(const wg_gpmeta *pm, double dist_m) {
    double t = dist_m * 3600.0 / pm->offroad_kmh;
    return t >= 4e9 ? WG_W_INF - 1 : (uint32_t)llround(t);
}

/* Partial pieces: `to` = 0, a point leaving towards an end; 1, arriving. */
int wg_route_sources(const wg_graph *g, int p, const wg_gsnap *sn, uint32_t walk, int to,
                     wg_source out[2]) {
    const uint32_t *ew = g->prof[p].ew;
    uint32_t e = sn->edge, u = g->edge_uv[2 * e], v = g->edge_uv[2 * e + 1];
    uint32_t wuv = ew[2 * e], wvu = ew[2 * e + 1];
    double len = g->edge_len[e], a = sn->along_m, f = sn->frac;
    int n = 0;
    /* a point at an end of its edge is that node, whatever the edge allows */
    if (f <= 0) out[n++] = (wg_source){u, walk, 0};
    else if (f >= 1) out[n++] = (wg_source){v, walk, 0};
    if (!to) {
        if (wuv != WG_W_INF && f < 1) out[n++] = (wg_source){v, walk + part(1 - f, wuv), len - a};
        if (wvu != WG_W_INF && f > 0) out[n++] = (wg_source){u, walk + part(f, wvu), a};
    } else {
        if (wuv != WG_W_INF && f > 0) out[n++] = (wg_source){u, walk + part(f, wuv), a};
        if (wvu != WG_W_INF && f < 1) out[n++] = (wg_source){v, walk + part(1 - f, wvu), len - a};
    }
    return n; /* at most 2: at an end, only the piece leaving the other way remains */
}

/* The time along the same edge from snapped point a to b, or WG_W_INF. */
static uint32_t same_edge(const wg_graph *g, int p, const wg_gsnap *a, const wg_gsnap *b) {
    if (a->edge != b->edge) return WG_W_INF;
    const uint32_t *ew = g->prof[p].ew;
    if (a->along_m == b->along_m) return 0;
    if (a->along_m < b->along_m && ew[2 * a->edge] != WG_W_INF)
        return part(b->frac - a->frac, ew[2 * a->edge]);
    if (a->along_m > b->along_m && ew[2 * a->edge + 1] != WG_W_INF)
        return part(a->frac - b->frac, ew[2 * a->edge + 1]);
    return WG_W_INF;
}

/* ---- routers ------------------------------------------------------------- */

struct wg_router {
    wg_ctx *ctx;
    const wg_graph *g;
    int p;
    wg_sdir f, b;
    uint32_t *refs; /* path scratch */
    size_t nrefs, refcap;
    uint32_t *stack;
    size_t stackcap;
};

wg_status wg_router_new(wg_ctx *ctx, const wg_graph *g, const char *profile, wg_router **out) {
    if (!g) return wg_err(ctx, WG_ERR_INVALID_ARG, "no road graph");
    int p = -1;
    char names[300] = "";
    for (uint32_t i = 0; i < g->m.nprofiles; i++) {
        if (profile && !strcmp(profile, g->prof[i].m->name)) p = (int)i;
        size_t l = strlen(names);
        snprintf(names + l, sizeof names - l, "%s%s", i ? ", " : "", g->prof[i].m->name);
    }
    if (!profile && g->m.nprofiles) p = 0;
    if (p < 0)
        return wg_err(ctx, WG_ERR_NOT_FOUND, "no profile '%s' in the road graph (it has: %s)",
                      profile, names);
    wg_router *r = calloc(1, sizeof *r);
    if (!r) return wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    r->ctx = ctx, r->g = g, r->p = p;
    wg_status rc;
    if ((rc = wg_sdir_init(ctx, &r->f, g->m.nnodes, 0)) ||
        (rc = wg_sdir_init(ctx, &r->b, g->m.nnodes, 1))) {
        wg_router_free(r);
        return rc;
    }
    *out = r;
    return WG_OK;
}

void wg_router_free(wg_router *r) {
    if (!r) return;
    wg_sdir_free(&r->f);
    wg_sdir_free(&r->b);
    free(r->refs);
    free(r->stack);
    free(r);
}

static void to_public_snap(const wg_graph *g, const wg_gsnap *s, wg_snap *out) {
    out->lon = s->lon, out->lat = s->lat, out->dist_m = s->dist_m;
    out->edge_id = (int64_t)s->edge + 1;
    out->along_m = s->along_m;
    out->name = wg_graph_edge_name(g, s->edge);
}

static int lonlat_ok(double lon, double lat) {
    return isfinite(lon) && isfinite(lat) && fabs(lon) <= 180 && fabs(lat) <= 90;
}

wg_status wg_router_snap(wg_router *r, double lon, double lat, double max_m, wg_snap *out) {
    if (!lonlat_ok(lon, lat))
        return wg_err(r->ctx, WG_ERR_INVALID_ARG, "(%g, %g) is not a WGS84 lon/lat", lon, lat);
    wg_gsnap s;
    if (max_m <= 0) max_m = DEFAULT_SNAP_M;
    if (!wg_graph_snap(r->g, r->p, lon, lat, max_m, &s))
        return wg_err(r->ctx, WG_ERR_NOT_FOUND, "no road usable by %s within %g m of (%.6f, %.6f)",
                      r->g->prof[r->p].m->name, max_m, lon, lat);
    to_public_snap(r->g, &s, out);
    return WG_OK;
}

static int refs_push(wg_router *r, uint32_t ref) {
    if (r->nrefs == r->refcap) {
        size_t cap = r->refcap ? r->refcap * 2 : 256;
        uint32_t *v = realloc(r->refs, cap * sizeof *v);
        if (!v) return -1;
        r->refs = v;
        r->refcap = cap;
    }
    r->refs[r->nrefs++] = ref;
    return 0;
}

/* Appends the arc refs of hierarchy record `rec`, in travel order. A
 * shortcut's halves are older records: anything else is a damaged file. */
static int unpack(wg_router *r, uint32_t rec) {
    const wg_chrec *R = r->g->prof[r->p].rec;
    uint32_t nrec = r->g->prof[r->p].m->nrec;
    size_t sp = 0;
    if (rec >= nrec) return -1;
    if (!r->stackcap) {
        r->stack = malloc(256 * sizeof *r->stack);
        if (!r->stack) return -1;
        r->stackcap = 256;
    }
    r->stack[sp++] = rec;
    while (sp) {
        uint32_t x = r->stack[--sp];
        if (R[x].b == WG_NONE) {
            if (refs_push(r, R[x].a)) return -1;
            continue;
        }
        if (R[x].a >= x || R[x].b >= x) return -1;
        if (sp + 2 > r->stackcap) {
            uint32_t *s = realloc(r->stack, r->stackcap * 2 * sizeof *s);
            if (!s) return -1;
            r->stack = s;
            r->stackcap *= 2;
        }
        r->stack[sp++] = R[x].b;
        r->stack[sp++] = R[x].a;
    }
    return 0;
}

/* Meeting bookkeeping of the two-sided searches. */
typedef struct meet {
    uint64_t best;
    uint32_t node;
} meet;

static void try_meet(meet *m, uint64_t d, uint32_t v) {
    if (d < m->best) m->best = d, m->node = v;
}

static void seed_both(wg_router *r, const wg_source *src, int ns, const wg_source *dst, int nd,
                      meet *m) {
    seed(&r->f, src, (size_t)ns);
    seed(&r->b, dst, (size_t)nd);
    for (int i = 0; i < ns; i++) {
        uint32_t v = src[i].node, db = wg_sdir_dist(&r->b, v);
        if (db != WG_W_INF) try_meet(m, (uint64_t)wg_sdir_dist(&r->f, v) + db, v);
    }
}

/* Bidirectional Dijkstra on the plain arcs. */
static void bidijkstra(wg_router *r, meet *m) {
    const wg_gprof *P = &r->g->prof[r->p];
    for (;;) {
        uint32_t kf = h_topkey(&r->f), kb = h_topkey(&r->b);
        if (kf == WG_W_INF && kb == WG_W_INF) break;
        if ((uint64_t)kf + kb >= m->best) break; /* no way through the rest is faster */
        int back = kb < kf;
        wg_sdir *s = back ? &r->b : &r->f, *o = back ? &r->f : &r->b;
        const uint32_t *off = back ? P->bwd_off : P->fwd_off;
        const wg_arc *arc = back ? P->bwd : P->fwd;
        const uint32_t *ref = back ? P->bwd_ref : P->fwd_ref;
        uint32_t narcs = back ? P->m->narcs_b : P->m->narcs_f, n = r->g->m.nnodes;
        uint32_t d = s->hkey[0], v = h_pop(s);
        s->settled[s->nsettled++] = v;
        for (uint32_t k = off[v], end = wg_csr_end(off, v, narcs); k < end; k++) {
            uint64_t nd = (uint64_t)d + arc[k].w;
            uint32_t x = arc[k].head;
            if (nd >= WG_W_INF || x >= n || !wg_sdir_offer(s, x, (uint32_t)nd, ref[k], v)) continue;
            uint32_t od = wg_sdir_dist(o, x);
            if (od != WG_W_INF) try_meet(m, nd + od, x);
        }
    }
}

/* Upward searches in the contraction hierarchy. */
static void chquery(wg_router *r, meet *m) {
    const wg_gprof *P = &r->g->prof[r->p];
    int done[2] = {0, 0};
    while (!done[0] || !done[1]) {
        uint32_t kf = done[0] ? WG_W_INF : h_topkey(&r->f);
        uint32_t kb = done[1] ? WG_W_INF : h_topkey(&r->b);
        int back = done[0] || (!done[1] && kb < kf);
        wg_sdir *s = back ? &r->b : &r->f, *o = back ? &r->f : &r->b;
        uint32_t d = back ? kb : kf;
        if (d == WG_W_INF || d >= m->best) {
            done[back] = 1;
            continue;
        }
        uint32_t v = h_pop(s);
        s->settled[s->nsettled++] = v;
        uint32_t od = wg_sdir_dist(o, v);
        if (od != WG_W_INF) try_meet(m, (uint64_t)d + od, v);
        uint32_t n = r->g->m.nnodes;
        /* stall on demand: if a more important node this search already
         * reached leads down to v faster, no shortest way climbs through v */
        const uint32_t *soff = back ? P->chf_off : P->chb_off;
        const wg_charc *sarc = back ? P->chf : P->chb;
        uint32_t sn = back ? P->m->nch_f : P->m->nch_b;
        int stalled = 0;
        for (uint32_t k = soff[v], end = wg_csr_end(soff, v, sn); k < end && !stalled; k++) {
            uint32_t x = sarc[k].head;
            if (x < n && s->stamp[x] == s->epoch && (uint64_t)s->dist[x] + sarc[k].w < d) stalled = 1;
        }
        if (stalled) continue;
        const uint32_t *off = back ? P->chb_off : P->chf_off;
        const wg_charc *arc = back ? P->chb : P->chf;
        uint32_t narcs = back ? P->m->nch_b : P->m->nch_f;
        for (uint32_t k = off[v], end = wg_csr_end(off, v, narcs); k < end; k++) {
            uint64_t nd = (uint64_t)d + arc[k].w;
            if (nd < WG_W_INF && nd < m->best && arc[k].head < n)
                wg_sdir_offer(s, arc[k].head, (uint32_t)nd, arc[k].rec, v);
        }
    }
}

/* The arc refs from a source of the forward search to a target of the
 * backward one through m->node; `ch` says what par[] holds. */
static int collect_path(wg_router *r, const meet *m, int ch) {
    r->nrefs = 0;
    /* forward half, walked back from the meeting node, then reversed */
    for (uint32_t v = m->node; r->f.par[v] != WG_NONE; v = r->f.pnode[v])
        if (refs_push(r, r->f.par[v])) return -1;
    size_t nf = r->nrefs;
    for (size_t i = 0; i < nf / 2; i++) {
        uint32_t t = r->refs[i];
        r->refs[i] = r->refs[nf - 1 - i];
        r->refs[nf - 1 - i] = t;
    }
    for (uint32_t v = m->node; r->b.par[v] != WG_NONE; v = r->b.pnode[v])
        if (refs_push(r, r->b.par[v])) return -1;
    if (!ch) return 0;
    /* expand records into arc refs (in place, through a copy) */
    size_t n = r->nrefs;
    uint32_t *recs = malloc((n ? n : 1) * sizeof *recs);
    if (!recs) return -1;
    if (n) memcpy(recs, r->refs, n * sizeof *recs);
    r->nrefs = 0;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) rc = unpack(r, recs[i]);
    free(recs);
    return rc;
}

/* ---- building the answer ------------------------------------------------- */

typedef struct piece {
    uint32_t edge;
    double a, b;  /* along the edge, from a to b (b < a: against it) */
    uint32_t ms;  /* time */
} piece;

typedef struct rbuild {
    double *xy;
    size_t n, cap;
    wg_route_step *steps;
    size_t nsteps, scap;
    int nomem;
} rbuild;

static void rb_point(rbuild *b, double lon, double lat) {
    if (b->nomem) return;
    if (b->n && b->xy[2 * b->n - 2] == lon && b->xy[2 * b->n - 1] == lat) return;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        double *v = realloc(b->xy, cap * 2 * sizeof *v);
        if (!v) {
            b->nomem = 1;
            return;
        }
        b->xy = v;
        b->cap = cap;
    }
    b->xy[2 * b->n] = lon, b->xy[2 * b->n + 1] = lat;
    b->n++;
}

static void rb_piece(rbuild *b, const wg_graph *g, const piece *pc) {
    if (pc->a == pc->b) return; /* a point at a node: nothing travelled */
    uint32_t e = pc->edge, k0 = g->edge_shp[e], k1 = g->edge_shp[e + 1] - 1;
    double lon, lat;
    wg_graph_along(g, e, pc->a, &lon, &lat);
    rb_point(b, lon, lat);
    if (pc->b >= pc->a) {
        for (uint32_t k = k0; k <= k1; k++)
            if (g->shp_cum[k] > pc->a && g->shp_cum[k] < pc->b)
                rb_point(b, g->shp_ll[2 * k], g->shp_ll[2 * k + 1]);
    } else {
        for (uint32_t k = k1 + 1; k-- > k0;)
            if (g->shp_cum[k] < pc->a && g->shp_cum[k] > pc->b)
                rb_point(b, g->shp_ll[2 * k], g->shp_ll[2 * k + 1]);
    }
    wg_graph_along(g, e, pc->b, &lon, &lat);
    rb_point(b, lon, lat);
    /* the street-name steps */
    const char *name = wg_graph_edge_name(g, e);
    double dist = fabs(pc->b - pc->a), dur = pc->ms / 1000.0;
    if (b->nsteps && !strcmp(b->steps[b->nsteps - 1].name, name)) {
        b->steps[b->nsteps - 1].distance_m += dist;
        b->steps[b->nsteps - 1].duration_s += dur;
        return;
    }
    if (b->nomem) return;
    if (b->nsteps == b->scap) {
        size_t cap = b->scap ? b->scap * 2 : 16;
        wg_route_step *s = realloc(b->steps, cap * sizeof *s);
        if (!s) {
            b->nomem = 1;
            return;
        }
        b->steps = s;
        b->scap = cap;
    }
    b->steps[b->nsteps++] = (wg_route_step){name, dist, dur};
}

/* The piece from a snapped origin to the source node the path starts at. */
static piece origin_piece(const wg_graph *g, int p, const wg_gsnap *s, uint32_t node) {
    const uint32_t *ew = g->prof[p].ew;
    uint32_t e = s->edge, u = g->edge_uv[2 * e], v = g->edge_uv[2 * e + 1];
    double len = g->edge_len[e];
    if ((s->frac <= 0 && node == u) || (s->frac >= 1 && node == v))
        return (piece){e, s->along_m, s->along_m, 0};
    if (node == v && ew[2 * e] != WG_W_INF) return (piece){e, s->along_m, len, part(1 - s->frac, ew[2 * e])};
    return (piece){e, s->along_m, 0, part(s->frac, ew[2 * e + 1])};
}

/* The piece from the node the path ends at to a snapped destination. */
static piece dest_piece(const wg_graph *g, int p, const wg_gsnap *s, uint32_t node) {
    const uint32_t *ew = g->prof[p].ew;
    uint32_t e = s->edge, u = g->edge_uv[2 * e], v = g->edge_uv[2 * e + 1];
    double len = g->edge_len[e];
    if ((s->frac <= 0 && node == u) || (s->frac >= 1 && node == v))
        return (piece){e, s->along_m, s->along_m, 0};
    if (node == u && ew[2 * e] != WG_W_INF) return (piece){e, 0, s->along_m, part(s->frac, ew[2 * e])};
    return (piece){e, len, s->along_m, part(1 - s->frac, ew[2 * e + 1])};
}

const char *wg_route_status_name(wg_route_status st) {
    switch (st) {
    case WG_ROUTE_FOUND: return "found";
    case WG_ROUTE_NO_ROAD: return "no_road";
    case WG_ROUTE_UNREACHABLE: return "unreachable";
    }
    return "unknown";
}

void wg_route_free(wg_route *rt) {
    if (!rt) return;
    free(rt->coords);
    free(rt->steps);
    free(rt);
}

/* Why two snapped points are not connected, for people. */
static void why_unreachable(const wg_graph *g, int p, const wg_gsnap *a, const wg_gsnap *b,
                            char *out, size_t size) {
    const wg_gprof *P = &g->prof[p];
    uint32_t ca = P->comp[g->edge_uv[2 * a->edge]], cb = P->comp[g->edge_uv[2 * b->edge]];
    const char *pn = P->m->name;
    if (ca >= P->m->ncomp || cb >= P->m->ncomp) {
        snprintf(out, size, "no way along the roads usable by %s", pn);
    } else if (ca == cb) {
        snprintf(out, size, "one-way roads allow %s no way from the origin to the destination", pn);
    } else if (ca != 0 && cb != 0) {
        snprintf(out, size, "origin and destination are on two different road islands (%u and %u "
                 "nodes) cut off from each other for %s", P->comp_size[ca], P->comp_size[cb], pn);
    } else {
        int o = ca != 0;
        snprintf(out, size, "the %s's nearest road usable by %s (%s) is on an island of %u road "
                 "nodes, not connected to the rest of the network (%u nodes)",
                 o ? "origin" : "destination", pn,
                 *wg_graph_edge_name(g, o ? a->edge : b->edge) ? wg_graph_edge_name(g, o ? a->edge : b->edge)
                                                               : "unnamed",
                 P->comp_size[o ? ca : cb], P->comp_size[0]);
    }
}

/* The road part of a route along one edge: metres; pieces into b. */
static double along_one_edge(const wg_graph *g, const wg_gsnap *sa, const wg_gsnap *sb,
                             uint32_t ms, rbuild *b) {
    piece pc = {sa->edge, sa->along_m, sb->along_m, ms};
    rb_piece(b, g, &pc);
    return fabs(pc.b - pc.a);
}

/* The road part of a route through the meeting node: the origin's partial
 * edge, the path's edges (shortcuts unpacked), the destination's partial
 * edge. Returns metres; pieces into b (b->nomem on failure). */
static double along_path(wg_router *r, const wg_gsnap *sa, const wg_gsnap *sb, const meet *m,
                         int use_ch, rbuild *b) {
    const wg_graph *g = r->g;
    int p = r->p;
    double dist = 0;
    if (collect_path(r, m, use_ch)) b->nomem = 1;
    for (size_t i = 0; i < r->nrefs; i++)
        if (WG_REF_EDGE(r->refs[i]) >= g->m.nedges) b->nomem = 1; /* a damaged file */
    if (b->nomem) return 0;
    uint32_t first = m->node, last = m->node;
    if (r->nrefs) {
        uint32_t e0 = WG_REF_EDGE(r->refs[0]), e1 = WG_REF_EDGE(r->refs[r->nrefs - 1]);
        first = g->edge_uv[2 * e0 + WG_REF_REV(r->refs[0])];
        last = g->edge_uv[2 * e1 + 1 - WG_REF_REV(r->refs[r->nrefs - 1])];
    }
    piece pc = origin_piece(g, p, sa, first);
    rb_piece(b, g, &pc);
    dist += fabs(pc.b - pc.a);
    for (size_t i = 0; i < r->nrefs; i++) {
        uint32_t e = WG_REF_EDGE(r->refs[i]), rev = WG_REF_REV(r->refs[i]);
        double len = g->edge_len[e];
        piece full = {e, rev ? len : 0, rev ? 0 : len, g->prof[p].ew[2 * e + rev]};
        rb_piece(b, g, &full);
        dist += len;
    }
    pc = dest_piece(g, p, sb, last);
    rb_piece(b, g, &pc);
    return dist + fabs(pc.b - pc.a);
}

wg_status wg_route_compute(wg_router *r, double from_lon, double from_lat, double to_lon,
                           double to_lat, const wg_route_opts *opts, wg_route **out) {
    const wg_graph *g = r->g;
    int p = r->p;
    const wg_gpmeta *pm = g->prof[p].m;
    if (!lonlat_ok(from_lon, from_lat) || !lonlat_ok(to_lon, to_lat))
        return wg_err(r->ctx, WG_ERR_INVALID_ARG, "route ends must be WGS84 lon/lat: (%g, %g) -> "
                      "(%g, %g)", from_lon, from_lat, to_lon, to_lat);
    double max_m = opts && opts->max_snap_m > 0 ? opts->max_snap_m : DEFAULT_SNAP_M;
    /* a graph rebuilt in memory has no hierarchy: Dijkstra is as exact */
    int use_ch = (!opts || opts->algorithm == WG_ALGO_CH) && pm->has_ch;
    wg_route *rt = calloc(1, sizeof *rt);
    if (!rt) return wg_err(r->ctx, WG_ERR_NOMEM, "out of memory");
    wg_gsnap sa, sb;
    int ok_a = wg_graph_snap(g, p, from_lon, from_lat, max_m, &sa);
    int ok_b = wg_graph_snap(g, p, to_lon, to_lat, max_m, &sb);
    if (!ok_a || !ok_b) {
        rt->status = WG_ROUTE_NO_ROAD;
        snprintf(rt->reason, sizeof rt->reason, "no road usable by %s within %g m of the %s",
                 pm->name, max_m, !ok_a && !ok_b ? "origin or the destination" : !ok_a ? "origin" : "destination");
        if (ok_a) to_public_snap(g, &sa, &rt->from);
        if (ok_b) to_public_snap(g, &sb, &rt->to);
        *out = rt;
        return WG_OK;
    }
    to_public_snap(g, &sa, &rt->from);
    to_public_snap(g, &sb, &rt->to);
    uint32_t wa = walk_ms(pm, sa.dist_m), wb = walk_ms(pm, sb.dist_m);
    wg_source src[2], dst[2];
    int ns = wg_route_sources(g, p, &sa, wa, 0, src), nd = wg_route_sources(g, p, &sb, wb, 1, dst);
    meet m = {UINT64_MAX, WG_NONE};
    seed_both(r, src, ns, dst, nd, &m);
    if (use_ch) chquery(r, &m);
    else bidijkstra(r, &m);
    rt->settled = (int64_t)r->f.nsettled + r->b.nsettled;
    /* both on one edge: straight along it may beat any way through a node */
    uint32_t direct = same_edge(g, p, &sa, &sb);
    int use_direct = direct != WG_W_INF && (uint64_t)direct + wa + wb <= m.best;
    if (use_direct) m.best = (uint64_t)direct + wa + wb;
    if (m.best == UINT64_MAX) {
        rt->status = WG_ROUTE_UNREACHABLE;
        why_unreachable(g, p, &sa, &sb, rt->reason, sizeof rt->reason);
        *out = rt;
        return WG_OK;
    }
    rbuild b = {0};
    rb_point(&b, from_lon, from_lat);
    double dist = sa.dist_m + sb.dist_m +
                  (use_direct ? along_one_edge(g, &sa, &sb, direct, &b) : along_path(r, &sa, &sb, &m, use_ch, &b));
    rb_point(&b, to_lon, to_lat);
    if (b.n == 1) { /* from == to: a LineString still needs two positions */
        b.n = 0;
        rb_point(&b, to_lon, to_lat);
        if (!b.nomem) b.xy[2] = to_lon, b.xy[3] = to_lat, b.n = 2;
    }
    if (b.nomem) {
        free(b.xy);
        free(b.steps);
        free(rt);
        return wg_err(r->ctx, WG_ERR_NOMEM, "out of memory (or a damaged road graph) building "
                      "the route");
    }
    rt->status = WG_ROUTE_FOUND;
    rt->duration_s = (double)m.best / 1000.0;
    rt->distance_m = dist;
    rt->walk_m = sa.dist_m + sb.dist_m;
    rt->coords = b.xy, rt->npoints = b.n;
    rt->steps = b.steps, rt->nsteps = b.nsteps;
    *out = rt;
    return WG_OK;
}

/* ---- dispatch ------------------------------------------------------------ */

typedef struct station {
    char *id, *name, *phone, *role, *grid, *grids;
    double lon, lat;
    int ok;
    wg_gsnap sn;
    wg_source src[2]; /* ways from the station into the graph */
    int nsrc;
} station;

struct wg_stations {
    const wg_graph *g;
    int p;
    size_t n;
    station *v;
    int64_t no_road;
    uint32_t *node_off; /* per node: entries station*2+k of stations entering there */
    uint32_t *node_ent;
};

void wg_stations_free(wg_stations *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) {
        station *t = &s->v[i];
        free(t->id), free(t->name), free(t->phone), free(t->role), free(t->grid), free(t->grids);
    }
    free(s->v);
    free(s->node_off);
    free(s->node_ent);
    free(s);
}

void wg_stations_count(const wg_stations *s, int64_t *officers, int64_t *no_road) {
    if (officers) *officers = s ? (int64_t)s->n : 0;
    if (no_road) *no_road = s ? s->no_road : 0;
}

static char *dupz(const unsigned char *s) { return strdup(s ? (const char *)s : ""); }

/* Appends ",text" to a growing joined string unless it is already there. */
static int join_add(char **list, const char *text) {
    size_t n = *list ? strlen(*list) : 0, t = strlen(text);
    if (*list) {
        for (const char *p = *list; (p = strstr(p, text)) != NULL; p++)
            if ((p == *list || p[-1] == ',') && (p[t] == ',' || p[t] == '\0')) return 0;
    }
    char *s = realloc(*list, n + t + 2);
    if (!s) return -1;
    if (n) s[n++] = ',';
    memcpy(s + n, text, t + 1);
    *list = s;
    return 0;
}

wg_status wg_stations_load(wg_ws *ws, wg_router *r, const char *role, double max_snap_m,
                           wg_stations **out) {
    wg_ctx *ctx = ws->ctx;
    const wg_graph *g = r->g;
    sqlite3_stmt *st = NULL;
    wg_stations *s = calloc(1, sizeof *s);
    size_t cap = 0;
    wg_status rc = WG_OK;
    if (!s) return wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    s->g = g, s->p = r->p;
    if (max_snap_m <= 0) max_snap_m = DEFAULT_SNAP_M;
    if ((rc = wg_ws_prepare(ws, "SELECT o.officer_id, o.name, o.phone, ST_X(o.geom), ST_Y(o.geom), "
                            "a.role, a.grid_code FROM officers o JOIN officer_grids a "
                            "ON a.officer_id = o.officer_id WHERE o.geom IS NOT NULL "
                            "AND (?1 IS NULL OR a.role = ?1) ORDER BY o.officer_id, a.role, "
                            "a.grid_code", &st)))
        goto fail;
    if (role) sqlite3_bind_text(st, 1, role, -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        if (!id) continue;
        station *t = s->n ? &s->v[s->n - 1] : NULL;
        if (!t || strcmp(t->id, id) != 0) {
            if (s->n == cap) {
                cap = cap ? cap * 2 : 256;
                station *v = realloc(s->v, cap * sizeof *v);
                if (!v) goto nomem;
                s->v = v;
            }
            t = &s->v[s->n++];
            memset(t, 0, sizeof *t);
            t->id = dupz(sqlite3_column_text(st, 0));
            t->name = dupz(sqlite3_column_text(st, 1));
            t->phone = dupz(sqlite3_column_text(st, 2));
            t->lon = sqlite3_column_double(st, 3);
            t->lat = sqlite3_column_double(st, 4);
            if (!t->id || !t->name || !t->phone) goto nomem;
        }
        const char *rl = (const char *)sqlite3_column_text(st, 5);
        const char *gc = (const char *)sqlite3_column_text(st, 6);
        if (join_add(&t->role, rl ? rl : "") || join_add(&t->grids, gc ? gc : "")) goto nomem;
        if (!t->grid && !(t->grid = dupz((const unsigned char *)gc))) goto nomem;
    }
    if (step != SQLITE_DONE) {
        rc = wg_ws_sqlerr(ws, "reading officers");
        goto fail;
    }
    /* snap every station and index them by the nodes they enter at */
    const wg_gpmeta *pm = g->prof[r->p].m;
    s->node_off = calloc((size_t)g->m.nnodes + 2, sizeof *s->node_off);
    if (!s->node_off) goto nomem;
    for (size_t i = 0; i < s->n; i++) {
        station *t = &s->v[i];
        t->ok = lonlat_ok(t->lon, t->lat) && wg_graph_snap(g, r->p, t->lon, t->lat, max_snap_m, &t->sn);
        if (!t->ok) {
            s->no_road++;
            continue;
        }
        t->nsrc = wg_route_sources(g, r->p, &t->sn, walk_ms(pm, t->sn.dist_m), 0, t->src);
        for (int k = 0; k < t->nsrc; k++) s->node_off[t->src[k].node + 2]++;
    }
    for (uint32_t v = 0; v <= g->m.nnodes; v++) s->node_off[v + 1] += s->node_off[v];
    s->node_ent = malloc(((size_t)s->node_off[g->m.nnodes + 1] + 1) * sizeof *s->node_ent);
    if (!s->node_ent) goto nomem;
    for (size_t i = 0; i < s->n; i++)
        for (int k = 0; k < s->v[i].nsrc; k++)
            s->node_ent[s->node_off[s->v[i].src[k].node + 1]++] = (uint32_t)(i * 2 + (size_t)k);
    sqlite3_finalize(st);
    *out = s;
    return WG_OK;
nomem:
    rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory loading officers");
fail:
    sqlite3_finalize(st);
    wg_stations_free(s);
    return rc;
}

/* Station candidates waiting to become certain, smallest time first. */
typedef struct cand {
    uint64_t t;
    uint32_t st;
} cand;

typedef struct dsp {
    const wg_stations *s;
    const wg_sdir *b;
    uint64_t *best;
    double *len;
    uint8_t *final;
    cand *heap;
    size_t hn, hcap;
    size_t limit, nfinal;
    int nomem;
} dsp;

static void cand_push(dsp *d, uint64_t t, uint32_t st) {
    if (d->hn == d->hcap) {
        size_t cap = d->hcap ? d->hcap * 2 : 256;
        cand *h = realloc(d->heap, cap * sizeof *h);
        if (!h) {
            d->nomem = 1;
            return;
        }
        d->heap = h;
        d->hcap = cap;
    }
    size_t i = d->hn++;
    while (i && d->heap[(i - 1) / 2].t > t) {
        d->heap[i] = d->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    d->heap[i] = (cand){t, st};
}

static cand cand_pop(dsp *d) {
    cand top = d->heap[0], last = d->heap[--d->hn];
    size_t i = 0, n = d->hn;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        uint64_t mt = last.t;
        if (l < n && d->heap[l].t < mt) m = l, mt = d->heap[l].t;
        if (l + 1 < n && d->heap[l + 1].t < mt) m = l + 1;
        if (m == i) break;
        d->heap[i] = d->heap[m];
        i = m;
    }
    if (n) d->heap[i] = last;
    return top;
}

/* Stations whose best time is within the search radius t are certain. */
static int settle_certain(dsp *d, uint64_t t) {
    while (d->hn && d->heap[0].t <= t) {
        cand c = cand_pop(d);
        if (d->final[c.st] || c.t != d->best[c.st]) continue;
        d->final[c.st] = 1;
        d->nfinal++;
    }
    return d->limit && d->nfinal >= d->limit;
}

static int on_settle(void *user, uint32_t v, uint32_t t) {
    dsp *d = user;
    const wg_stations *s = d->s;
    for (uint32_t k = s->node_off[v]; k < s->node_off[v + 1]; k++) {
        uint32_t ent = s->node_ent[k], i = ent / 2;
        const wg_source *src = &s->v[i].src[ent % 2];
        uint64_t c = (uint64_t)src->cost + t;
        if (c < d->best[i]) {
            d->best[i] = c;
            d->len[i] = src->len_m + d->b->len[v] + s->v[i].sn.dist_m;
            cand_push(d, c, i);
        }
    }
    return settle_certain(d, t) || d->nomem;
}

static int hit_cmp(const void *a, const void *b) {
    const wg_dispatch_hit *p = a, *q = b;
    if (p->eta_s != q->eta_s) return p->eta_s < q->eta_s ? -1 : 1;
    return strcmp(p->officer_id, q->officer_id);
}

void wg_dispatch_free(wg_dispatch_result *d) {
    if (!d) return;
    free(d->hits);
    free(d);
}

wg_status wg_dispatch(wg_router *r, const wg_stations *s, double lon, double lat, size_t limit,
                      double max_snap_m, wg_dispatch_result **out) {
    const wg_graph *g = r->g;
    int p = r->p;
    if (!s || s->g != g || s->p != p)
        return wg_err(r->ctx, WG_ERR_INVALID_ARG, "the stations were loaded for another router");
    if (!lonlat_ok(lon, lat))
        return wg_err(r->ctx, WG_ERR_INVALID_ARG, "(%g, %g) is not a WGS84 lon/lat", lon, lat);
    if (max_snap_m <= 0) max_snap_m = DEFAULT_SNAP_M;
    wg_dispatch_result *res = calloc(1, sizeof *res);
    dsp d;
    memset(&d, 0, sizeof d);
    wg_status rc = WG_OK;
    if (!res) return wg_err(r->ctx, WG_ERR_NOMEM, "out of memory");
    res->no_road = s->no_road;
    wg_gsnap sn;
    if (!wg_graph_snap(g, p, lon, lat, max_snap_m, &sn)) {
        res->status = WG_ROUTE_NO_ROAD;
        snprintf(res->reason, sizeof res->reason, "no road usable by %s within %g m of the point",
                 g->prof[p].m->name, max_snap_m);
        *out = res;
        return WG_OK;
    }
    to_public_snap(g, &sn, &res->at);
    const wg_gpmeta *pm = g->prof[p].m;
    wg_source dst[2];
    int nd = wg_route_sources(g, p, &sn, walk_ms(pm, sn.dist_m), 1, dst);
    for (int k = 0; k < nd; k++) dst[k].len_m += sn.dist_m;
    size_t n = s->n ? s->n : 1;
    d.s = s, d.b = &r->b, d.limit = limit;
    d.best = malloc(n * sizeof *d.best);
    d.len = malloc(n * sizeof *d.len);
    d.final = calloc(n, 1);
    if (!d.best || !d.len || !d.final) goto nomem;
    for (size_t i = 0; i < s->n; i++) d.best[i] = UINT64_MAX;
    /* a station on the incident's own edge may go straight along it */
    for (size_t i = 0; i < s->n; i++) {
        if (!s->v[i].ok) continue;
        uint32_t t = same_edge(g, p, &s->v[i].sn, &sn);
        if (t == WG_W_INF) continue;
        d.best[i] = (uint64_t)t + walk_ms(pm, s->v[i].sn.dist_m) + walk_ms(pm, sn.dist_m);
        d.len[i] = fabs(s->v[i].sn.along_m - sn.along_m) + s->v[i].sn.dist_m + sn.dist_m;
        cand_push(&d, d.best[i], (uint32_t)i);
    }
    if (d.nomem) goto nomem;
    int exhausted = 0;
    if (!settle_certain(&d, 0)) {
        wg_search_dijkstra(&r->b, g, p, 1, dst, (size_t)nd, WG_W_INF - 1, on_settle, &d);
        exhausted = r->b.hn == 0 && !(limit && d.nfinal >= limit);
        res->settled = r->b.nsettled;
    }
    if (d.nomem) goto nomem;
    size_t found = 0;
    for (size_t i = 0; i < s->n; i++) found += d.best[i] != UINT64_MAX;
    res->hits = calloc(found ? found : 1, sizeof *res->hits);
    if (!res->hits) goto nomem;
    for (size_t i = 0; i < s->n; i++) {
        if (d.best[i] == UINT64_MAX) continue;
        const station *t = &s->v[i];
        res->hits[res->count++] = (wg_dispatch_hit){t->id, t->name, t->phone, t->role, t->grid,
                                                    t->grids, d.best[i] / 1000.0, d.len[i],
                                                    t->lon, t->lat};
    }
    qsort(res->hits, res->count, sizeof *res->hits, hit_cmp);
    if (limit && res->count > limit) res->count = limit;
    res->unreachable = exhausted ? (int64_t)(s->n - (size_t)s->no_road - found) : -1;
    res->status = WG_ROUTE_FOUND;
    goto done;
nomem:
    rc = wg_err(r->ctx, WG_ERR_NOMEM, "out of memory dispatching");
    wg_dispatch_free(res);
    res = NULL;
done:
    free(d.best), free(d.len), free(d.final), free(d.heap);
    if (res) *out = res;
    return rc;
}
