/* ch.c -- contraction hierarchies: what makes a route take microseconds.
 *
 * Nodes are removed ("contracted") one at a time, least important first.
 * Removing v, every pair of remaining neighbours u -> v -> x whose
 * shortest way is through v gets a SHORTCUT u -> x of the same time, found
 * by a small Dijkstra from u that avoids v (a "witness" search: if it finds
 * a way no slower, no shortcut is needed; when it gives up early the
 * shortcut is added anyway, which is never wrong, only larger). The arcs a
 * node has when it is removed all lead to more important nodes; they are
 * its "upward" arcs. A route is then two small Dijkstras that only go
 * upward, one from each end, meeting at the most important node of the
 * fastest route; every shortcut expands back into its two halves.
 *
 * Importance (measured on the synthetic county and OSM, see importance()):
 * twice the edge difference, shortcuts per original arc, the depth of the
 * contracted neighbourhood and the contracted neighbours. Updates are lazy:
 * contracting a node only adjusts its neighbours' cheap terms; a node's
 * witness searches are redone when it reaches the front of the queue, and
 * if it is still the least important the shortcuts that search found are
 * the ones added (one search per contraction, not two). Grid-like road
 * networks (the generator's lattice of tracks and streets) leave a denser
 * core than real ones; that core is most of the build time. A geometric
 * nested-dissection order was tried and gave 2.5 times the shortcuts.
 *
 * Times are integer milliseconds, so shortcut times are exact sums and the
 * hierarchy's answers equal a plain Dijkstra's exactly. */
#include "graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WITNESS_LIMIT 400  /* nodes a witness search may settle */
#define SIMULATE_LIMIT 100 /* ... for the first estimate of every node */

typedef struct ent {
    uint32_t other, w, rec, hops;
} ent;

typedef struct vec {
    ent *d;
    uint32_t n, cap;
} vec;

typedef struct hitem {
    uint32_t key, node;
} hitem;

typedef struct pitem {
    float prio;
    uint32_t node;
} pitem;

typedef struct ch {
    wg_ctx *ctx;
    uint32_t n;
    vec *out, *in;
    wg_chrec *rec;
    uint32_t nrec, reccap;
    /* witness search */
    uint32_t *wd, *wstamp, *tstamp, wepoch;
    hitem *wh;
    uint32_t whn, whcap;
    /* importance */
    float *prio, *sim;
    uint32_t *depth, *deleted;
    uint8_t *done;
    pitem *ph;
    uint32_t phn, phcap;
    /* shortcuts the last search of a node found: u, x, w, rec a, rec b, hops */
    uint32_t (*sc)[6];
    uint32_t nsc, sccap;
    /* upward arcs as collected: tail, head, w, rec */
    uint32_t *up[2];
    uint32_t nup[2], upcap[2];
    int nomem;
} ch;

static int vec_push(vec *v, ent e) {
    if (v->n == v->cap) {
        uint32_t cap = v->cap ? v->cap * 2 : 4;
        ent *d = realloc(v->d, cap * sizeof *d);
        if (!d) return -1;
        v->d = d;
        v->cap = cap;
    }
    v->d[v->n++] = e;
    return 0;
}

static ent *vec_find(vec *v, uint32_t other) {
    for (uint32_t i = 0; i < v->n; i++)
        if (v->d[i].other == other) return &v->d[i];
    return NULL;
}

static void vec_remove(vec *v, uint32_t other) {
    for (uint32_t i = 0; i < v->n; i++)
        if (v->d[i].other == other) {
            v->d[i] = v->d[--v->n];
            return;
        }
}

static uint32_t rec_add(ch *c, uint32_t a, uint32_t b) {
    if (c->nrec == c->reccap) {
        uint32_t cap = c->reccap ? c->reccap * 2 : 1024;
        wg_chrec *r = realloc(c->rec, (size_t)cap * sizeof *r);
        if (!r) {
            c->nomem = 1;
            return WG_NONE;
        }
        c->rec = r;
        c->reccap = cap;
    }
    c->rec[c->nrec] = (wg_chrec){a, b};
    return c->nrec++;
}

/* ---- a binary heap of (key, node), stale entries skipped on pop ---------- */

static int wh_push(ch *c, uint32_t key, uint32_t node) {
    if (c->whn == c->whcap) {
        uint32_t cap = c->whcap ? c->whcap * 2 : 256;
        hitem *h = realloc(c->wh, cap * sizeof *h);
        if (!h) return -1;
        c->wh = h;
        c->whcap = cap;
    }
    uint32_t i = c->whn++;
    while (i && c->wh[(i - 1) / 2].key > key) {
        c->wh[i] = c->wh[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    c->wh[i] = (hitem){key, node};
    return 0;
}

static hitem wh_pop(ch *c) {
    hitem top = c->wh[0], last = c->wh[--c->whn];
    uint32_t i = 0, n = c->whn;
    for (;;) {
        uint32_t l = 2 * i + 1, m = i;
        if (l < n && c->wh[l].key < last.key) m = l;
        if (l + 1 < n && c->wh[l + 1].key < (m == i ? last.key : c->wh[l].key)) m = l + 1;
        if (m == i) break;
        c->wh[i] = c->wh[m];
        i = m;
    }
    if (n) c->wh[i] = last;
    return top;
}

/* Times from s through remaining nodes other than `skip`, up to maxd,
 * settling at most `limit` nodes and stopping once the `ntarget` nodes
 * marked with tstamp == wepoch are settled; read with wdist(). */
static void witness(ch *c, uint32_t s, uint32_t skip, uint32_t maxd, uint32_t limit,
                    uint32_t ntarget) {
    c->whn = 0;
    c->wstamp[s] = c->wepoch;
    c->wd[s] = 0;
    if (wh_push(c, 0, s)) {
        c->nomem = 1;
        return;
    }
    uint32_t settled = 0;
    while (c->whn) {
        hitem h = wh_pop(c);
        if (h.key != c->wd[h.node]) continue; /* stale */
        if (h.key > maxd || ++settled > limit) break;
        if (c->tstamp[h.node] == c->wepoch && --ntarget == 0) break;
        const vec *o = &c->out[h.node];
        for (uint32_t i = 0; i < o->n; i++) {
            uint32_t x = o->d[i].other;
            if (x == skip) continue;
            uint64_t d = (uint64_t)h.key + o->d[i].w;
            if (d > maxd) continue;
            if (c->wstamp[x] != c->wepoch || d < c->wd[x]) {
                c->wstamp[x] = c->wepoch;
                c->wd[x] = (uint32_t)d;
                if (wh_push(c, (uint32_t)d, x)) {
                    c->nomem = 1;
                    return;
                }
            }
        }
    }
}

static uint32_t wdist(const ch *c, uint32_t x) {
    return c->wstamp[x] == c->wepoch ? c->wd[x] : WG_W_INF;
}

/* The shortcuts contracting v needs, into c->sc: for every in-neighbour u
 * a witness search towards v's out-neighbours. Returns their original
 * arcs' count in *hops. */
static void find_shortcuts(ch *c, uint32_t v, uint32_t limit, uint32_t *hops) {
    vec *in = &c->in[v], *out = &c->out[v];
    c->nsc = 0;
    *hops = 0;
    for (uint32_t i = 0; i < in->n && !c->nomem; i++) {
        ent a = in->d[i];
        uint32_t maxd = 0, ntarget = 0;
        if (++c->wepoch == 0) {
            memset(c->wstamp, 0, (size_t)c->n * sizeof *c->wstamp);
            memset(c->tstamp, 0, (size_t)c->n * sizeof *c->tstamp);
            c->wepoch = 1;
        }
        for (uint32_t j = 0; j < out->n; j++) {
            uint32_t x = out->d[j].other;
            if (x == a.other) continue;
            uint64_t t = (uint64_t)a.w + out->d[j].w;
            if (t > maxd) maxd = t > WG_W_INF - 1 ? WG_W_INF - 1 : (uint32_t)t;
            if (c->tstamp[x] != c->wepoch) c->tstamp[x] = c->wepoch, ntarget++;
        }
        if (!ntarget) continue;
        witness(c, a.other, v, maxd, limit, ntarget);
        for (uint32_t j = 0; j < out->n; j++) {
            ent b = out->d[j];
            if (b.other == a.other) continue;
            uint64_t t = (uint64_t)a.w + b.w;
            if (t >= WG_W_INF || wdist(c, b.other) <= t) continue;
            if (c->nsc == c->sccap) {
                uint32_t cap = c->sccap ? c->sccap * 2 : 64;
                void *q = realloc(c->sc, cap * sizeof *c->sc);
                if (!q) {
                    c->nomem = 1;
                    return;
                }
                c->sc = q;
                c->sccap = cap;
            }
            uint32_t *q = c->sc[c->nsc++];
            q[0] = a.other, q[1] = b.other, q[2] = (uint32_t)t, q[3] = a.rec, q[4] = b.rec;
            q[5] = a.hops + b.hops;
            *hops += q[5];
        }
    }
}

/* Adds the shortcuts found, keeping one arc (the fastest) per node pair. */
static void apply_shortcuts(ch *c) {
    for (uint32_t i = 0; i < c->nsc && !c->nomem; i++) {
        const uint32_t *q = c->sc[i];
        ent *ex = vec_find(&c->out[q[0]], q[1]);
        if (ex && ex->w <= q[2]) continue;
        uint32_t r = rec_add(c, q[3], q[4]);
        if (r == WG_NONE) return;
        if (ex) {
            *ex = (ent){q[1], q[2], r, q[5]};
            ent *mirror = vec_find(&c->in[q[1]], q[0]);
            if (mirror) *mirror = (ent){q[0], q[2], r, q[5]};
        } else if (vec_push(&c->out[q[0]], (ent){q[1], q[2], r, q[5]}) ||
                   vec_push(&c->in[q[1]], (ent){q[0], q[2], r, q[5]})) {
            c->nomem = 1;
        }
    }
}

/* A node's importance: twice its edge difference (shortcuts added minus
 * arcs removed), the same in original arcs relative to those removed, the
 * depth of its contracted neighbourhood and its contracted neighbours
 * (these two spread contraction evenly). The search-dependent part is kept
 * in c->sim; the shortcuts found stay in c->sc. */
static float importance(ch *c, uint32_t v, uint32_t limit) {
    uint32_t hops;
    find_shortcuts(c, v, limit, &hops);
    uint32_t removed = c->in[v].n + c->out[v].n, removed_hops = 0;
    for (uint32_t i = 0; i < c->in[v].n; i++) removed_hops += c->in[v].d[i].hops;
    for (uint32_t i = 0; i < c->out[v].n; i++) removed_hops += c->out[v].d[i].hops;
    float qh = removed_hops ? (float)hops / (float)removed_hops : 0;
    c->sim[v] = 2 * ((float)c->nsc - (float)removed) + qh;
    return c->sim[v] + (float)c->depth[v] + (float)c->deleted[v];
}

/* Importance after a neighbour was contracted, without a new search (the
 * pop searches again, lazily). */
static float importance_cheap(const ch *c, uint32_t v) {
    return c->sim[v] + (float)c->depth[v] + (float)c->deleted[v];
}

/* ---- the importance queue (stale entries skipped) ------------------------ */

static int ph_push(ch *c, float prio, uint32_t node) {
    if (c->phn == c->phcap) {
        uint32_t cap = c->phcap ? c->phcap * 2 : 1024;
        pitem *h = realloc(c->ph, cap * sizeof *h);
        if (!h) return -1;
        c->ph = h;
        c->phcap = cap;
    }
    uint32_t i = c->phn++;
    while (i && (c->ph[(i - 1) / 2].prio > prio ||
                 (c->ph[(i - 1) / 2].prio == prio && c->ph[(i - 1) / 2].node > node))) {
        c->ph[i] = c->ph[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    c->ph[i] = (pitem){prio, node};
    return 0;
}

static int pless(pitem a, pitem b) { return a.prio < b.prio || (a.prio == b.prio && a.node < b.node); }

static pitem ph_pop(ch *c) {
    pitem top = c->ph[0], last = c->ph[--c->phn];
    uint32_t i = 0, n = c->phn;
    for (;;) {
        uint32_t l = 2 * i + 1, m = i;
        pitem best = last;
        if (l < n && pless(c->ph[l], best)) m = l, best = c->ph[l];
        if (l + 1 < n && pless(c->ph[l + 1], best)) m = l + 1;
        if (m == i) break;
        c->ph[i] = c->ph[m];
        i = m;
    }
    if (n) c->ph[i] = last;
    return top;
}

static int up_push(ch *c, int d, uint32_t tail, const ent *e) {
    if (c->nup[d] == c->upcap[d]) {
        uint32_t cap = c->upcap[d] ? c->upcap[d] * 2 : 4096;
        uint32_t *u = realloc(c->up[d], (size_t)cap * 4 * sizeof *u);
        if (!u) return -1;
        c->up[d] = u;
        c->upcap[d] = cap;
    }
    uint32_t *q = c->up[d] + (size_t)c->nup[d]++ * 4;
    q[0] = tail, q[1] = e->other, q[2] = e->w, q[3] = e->rec;
    return 0;
}

/* Upward arcs collected as (tail, head, w, rec), into CSR by tail. */
static wg_status up_sections(ch *c, int d, int p, wg_gimage *img) {
    uint32_t n = c->n, m = c->nup[d];
    uint32_t *off = calloc((size_t)n + 1, sizeof *off);
    wg_charc *arcs = malloc((m ? m : 1) * sizeof *arcs);
    wg_status rc = WG_OK;
    if (!off || !arcs) {
        rc = wg_err(c->ctx, WG_ERR_NOMEM, "out of memory building the hierarchy");
        goto done;
    }
    for (uint32_t k = 0; k < m; k++) off[c->up[d][4 * (size_t)k] + 1]++;
    for (uint32_t v = 0; v < n; v++) off[v + 1] += off[v];
    for (uint32_t k = 0; k < m; k++) {
        const uint32_t *q = c->up[d] + 4 * (size_t)k;
        arcs[off[q[0]]++] = (wg_charc){q[1], q[2], q[3]};
    }
    memmove(off + 1, off, (size_t)n * sizeof *off);
    off[0] = 0;
    char tag[24];
    snprintf(tag, sizeof tag, "p%d.%s_off", p, d ? "chb" : "chf");
    if ((rc = wg_gimage_add(c->ctx, img, tag, off, ((size_t)n + 1) * sizeof *off))) goto done;
    snprintf(tag, sizeof tag, "p%d.%s", p, d ? "chb" : "chf");
    rc = wg_gimage_add(c->ctx, img, tag, arcs, (size_t)m * sizeof *arcs);
done:
    free(off);
    free(arcs);
    return rc;
}

static void ch_free(ch *c) {
    for (uint32_t v = 0; c->out && v < c->n; v++) free(c->out[v].d);
    for (uint32_t v = 0; c->in && v < c->n; v++) free(c->in[v].d);
    free(c->out), free(c->in), free(c->rec), free(c->wd), free(c->wstamp), free(c->tstamp);
    free(c->wh);
    free(c->prio), free(c->sim), free(c->depth), free(c->deleted), free(c->done), free(c->ph);
    free(c->up[0]), free(c->up[1]), free(c->sc);
}

wg_status wg_ch_build(wg_ctx *ctx, uint32_t n, const uint32_t *off, const wg_arc *arcs,
                      const uint32_t *refs, int p, wg_gpmeta *pm, wg_gimage *img) {
    ch c;
    memset(&c, 0, sizeof c);
    c.ctx = ctx;
    c.n = n;
    size_t n1 = (size_t)n + 1;
    c.out = calloc(n1, sizeof *c.out), c.in = calloc(n1, sizeof *c.in);
    c.wd = malloc(n1 * sizeof *c.wd), c.wstamp = calloc(n1, sizeof *c.wstamp);
    c.tstamp = calloc(n1, sizeof *c.tstamp);
    c.prio = malloc(n1 * sizeof *c.prio), c.sim = calloc(n1, sizeof *c.sim);
    c.depth = calloc(n1, sizeof *c.depth);
    c.deleted = calloc(n1, sizeof *c.deleted), c.done = calloc(n1, 1);
    wg_status rc = WG_OK;
    if (!c.out || !c.in || !c.wd || !c.wstamp || !c.tstamp || !c.prio || !c.sim || !c.depth || !c.deleted || !c.done)
        goto nomem;
    /* the original arcs, the fastest of parallel ones, no self-loops */
    for (uint32_t u = 0; u < n; u++)
        for (uint32_t k = off[u]; k < off[u + 1]; k++) {
            uint32_t x = arcs[k].head;
            if (x == u) continue;
            ent *ex = vec_find(&c.out[u], x);
            if (ex && ex->w <= arcs[k].w) continue;
            uint32_t r = rec_add(&c, refs[k], WG_NONE);
            if (r == WG_NONE) goto nomem;
            if (ex) {
                *ex = (ent){x, arcs[k].w, r, 1};
                *vec_find(&c.in[x], u) = (ent){u, arcs[k].w, r, 1};
            } else if (vec_push(&c.out[u], (ent){x, arcs[k].w, r, 1}) ||
                       vec_push(&c.in[x], (ent){u, arcs[k].w, r, 1})) {
                goto nomem;
            }
        }
    for (uint32_t v = 0; v < n; v++) {
        c.prio[v] = importance(&c, v, SIMULATE_LIMIT);
        if (c.nomem || ph_push(&c, c.prio[v], v)) goto nomem;
    }
    uint32_t contracted = 0;
    while (c.phn) {
        pitem it = ph_pop(&c);
        uint32_t v = it.node;
        if (c.done[v] || it.prio != c.prio[v]) continue; /* stale */
        /* lazy update: contract only if still the least important */
        float now = importance(&c, v, WITNESS_LIMIT);
        if (c.nomem) goto nomem;
        if (now > it.prio && c.phn && pless(c.ph[0], (pitem){now, v})) {
            c.prio[v] = now;
            if (ph_push(&c, now, v)) goto nomem;
            continue;
        }
        /* its arcs now are its upward arcs */
        for (uint32_t i = 0; i < c.out[v].n; i++)
            if (up_push(&c, 0, v, &c.out[v].d[i])) goto nomem;
        for (uint32_t i = 0; i < c.in[v].n; i++)
            if (up_push(&c, 1, v, &c.in[v].d[i])) goto nomem;
        apply_shortcuts(&c); /* those the lazy update just found */
        if (c.nomem) goto nomem;
        c.done[v] = 1;
        for (uint32_t i = 0; i < c.in[v].n; i++) vec_remove(&c.out[c.in[v].d[i].other], v);
        for (uint32_t i = 0; i < c.out[v].n; i++) vec_remove(&c.in[c.out[v].d[i].other], v);
        /* neighbours: deeper, and their importance changed */
        for (int d = 0; d < 2; d++) {
            vec *nb = d ? &c.out[v] : &c.in[v];
            for (uint32_t i = 0; i < nb->n; i++) {
                uint32_t x = nb->d[i].other;
                if (c.done[x]) continue;
                c.deleted[x]++;
                if (c.depth[x] < c.depth[v] + 1) c.depth[x] = c.depth[v] + 1;
                float px = importance_cheap(&c, x);
                if (px != c.prio[x]) {
                    c.prio[x] = px;
                    if (ph_push(&c, px, x)) goto nomem;
                }
            }
        }
        free(c.out[v].d), free(c.in[v].d);
        memset(&c.out[v], 0, sizeof c.out[v]);
        memset(&c.in[v], 0, sizeof c.in[v]);
        if ((++contracted & 0xFFFF) == 0 && wg_progress(ctx, "hierarchy", contracted, n)) {
            rc = wg_err(ctx, WG_ERR_INTERRUPTED, "graph build interrupted");
            goto done;
        }
    }
    char tag[24];
    snprintf(tag, sizeof tag, "p%d.rec", p);
    if ((rc = up_sections(&c, 0, p, img)) || (rc = up_sections(&c, 1, p, img)) ||
        (rc = wg_gimage_add(ctx, img, tag, c.rec, (size_t)c.nrec * sizeof *c.rec)))
        goto done;
    pm->nch_f = c.nup[0];
    pm->nch_b = c.nup[1];
    pm->nrec = c.nrec;
    goto done;
nomem:
    rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory building the contraction hierarchy");
done:
    ch_free(&c);
    return rc;
}
