/* graph.c -- the road graph's layout, its binary image, and snapping.
 *
 * The image is built once (wg_graph_build) and then only ever viewed: the
 * loader points the graph's arrays into it after checking the header, the
 * directory, every section's size against the counts, and the per-edge
 * arrays every query relies on (node ids, polyline offsets, names). The
 * rest (arc heads, hierarchy records, components, index entries) is
 * checked where it is read, one comparison each, with the guards in
 * graph.h. So a damaged file can give wrong answers but never a read out
 * of bounds, and opening a 400 MB graph costs a few milliseconds instead
 * of a scan of 400 MB. See graph.h for the model and the file's layout.
 *
 * Snapping uses a uniform grid over the polylines' segments (about two
 * segments a cell): rings of cells are searched outwards from the query
 * point until no unvisited cell can hold anything nearer than the best
 * segment found. Distances are local metres (an equirectangular frame at
 * the query's latitude on the WGS84 ellipsoid): within 0.01% up to a few
 * kilometres, and free of PROJ, so a graph needs no CRS at query time. */
#include "graph.h"
#include "workspace.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "WGGRAPH"
#define VERSION 1u
#define ENDIAN 0x01020304u

typedef struct wg_ghdr {
    char magic[8];
    uint32_t endian, version;
    uint64_t stamp;
    uint64_t dir_off;
    uint32_t nsec, pad;
    uint64_t file_len;
    uint8_t reserved[16];
} wg_ghdr;

struct wg_gsec {
    char tag[24];
    uint64_t off, len;
};

/* ---- the image ----------------------------------------------------------- */

static wg_status img_reserve(wg_ctx *ctx, wg_gimage *img, size_t more) {
    if (img->len + more <= img->cap) return WG_OK;
    size_t cap = img->cap ? img->cap : 1 << 16;
    while (cap < img->len + more) cap *= 2;
    uint8_t *b = realloc(img->buf, cap);
    if (!b) return wg_err(ctx, WG_ERR_NOMEM, "out of memory building the road graph");
    img->buf = b;
    img->cap = cap;
    return WG_OK;
}

wg_status wg_gimage_add(wg_ctx *ctx, wg_gimage *img, const char *tag, const void *data,
                        size_t len) {
    if (!img->len) { /* the header's room */
        if (img_reserve(ctx, img, sizeof(wg_ghdr))) return WG_ERR_NOMEM;
        memset(img->buf, 0, sizeof(wg_ghdr));
        img->len = sizeof(wg_ghdr);
    }
    size_t pad = (8 - img->len % 8) % 8;
    if (img_reserve(ctx, img, pad + len)) return WG_ERR_NOMEM;
    memset(img->buf + img->len, 0, pad);
    img->len += pad;
    if (img->nsec == img->seccap) {
        uint32_t cap = img->seccap ? img->seccap * 2 : 64;
        struct wg_gsec *s = realloc(img->sec, cap * sizeof *s);
        if (!s) return wg_err(ctx, WG_ERR_NOMEM, "out of memory building the road graph");
        img->sec = s;
        img->seccap = cap;
    }
    struct wg_gsec *s = &img->sec[img->nsec++];
    memset(s, 0, sizeof *s);
    snprintf(s->tag, sizeof s->tag, "%s", tag);
    s->off = img->len;
    s->len = len;
    if (len) memcpy(img->buf + img->len, data, len);
    img->len += len;
    return WG_OK;
}

static wg_status img_finish(wg_ctx *ctx, wg_gimage *img, uint64_t stamp) {
    size_t pad = (8 - img->len % 8) % 8, dlen = (size_t)img->nsec * sizeof(struct wg_gsec);
    if (img_reserve(ctx, img, pad + dlen)) return WG_ERR_NOMEM;
    memset(img->buf + img->len, 0, pad);
    img->len += pad;
    wg_ghdr h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, MAGIC, sizeof MAGIC);
    h.endian = ENDIAN;
    h.version = VERSION;
    h.stamp = stamp;
    h.dir_off = img->len;
    h.nsec = img->nsec;
    memcpy(img->buf + img->len, img->sec, dlen);
    img->len += dlen;
    h.file_len = img->len;
    memcpy(img->buf, &h, sizeof h);
    free(img->sec);
    img->sec = NULL;
    img->nsec = img->seccap = 0;
    return WG_OK;
}

static void img_discard(wg_gimage *img) {
    free(img->buf);
    free(img->sec);
    memset(img, 0, sizeof *img);
}

static wg_status addp(wg_ctx *ctx, wg_gimage *img, int p, const char *what, const void *d,
                      size_t len) {
    char tag[24];
    snprintf(tag, sizeof tag, "p%d.%s", p, what);
    return wg_gimage_add(ctx, img, tag, d, len);
}

/* ---- node order ---------------------------------------------------------- */

/* Position of (x, y) on the Hilbert curve filling a 2^16 x 2^16 square. */
static uint64_t hilbert(uint32_t x, uint32_t y) {
    uint64_t d = 0;
    for (uint32_t s = 1u << 15; s; s >>= 1) {
        uint32_t rx = (x & s) ? 1 : 0, ry = (y & s) ? 1 : 0;
        d += (uint64_t)s * s * ((3 * rx) ^ ry);
        if (!ry) {
            if (rx) {
                x = 0xFFFFu - x;
                y = 0xFFFFu - y;
            }
            uint32_t t = x;
            x = y;
            y = t;
        }
    }
    return d;
}

typedef struct hkey {
    uint64_t h;
    uint32_t id;
} hkey;

static int hkey_cmp(const void *a, const void *b) {
    const hkey *p = a, *q = b;
    if (p->h != q->h) return p->h < q->h ? -1 : 1;
    return p->id < q->id ? -1 : p->id > q->id;
}

wg_status wg_graph_hilbert_order(wg_ctx *ctx, const double *ll, uint32_t n, uint32_t **perm) {
    double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
    for (uint32_t i = 0; i < n; i++) {
        x0 = fmin(x0, ll[2 * i]), x1 = fmax(x1, ll[2 * i]);
        y0 = fmin(y0, ll[2 * i + 1]), y1 = fmax(y1, ll[2 * i + 1]);
    }
    double span = fmax(x1 - x0, y1 - y0);
    if (!(span > 0)) span = 1;
    hkey *k = malloc((n ? n : 1) * sizeof *k);
    *perm = malloc((n ? n : 1) * sizeof **perm);
    if (!k || !*perm) {
        free(k);
        free(*perm);
        *perm = NULL;
        return wg_err(ctx, WG_ERR_NOMEM, "out of memory ordering road nodes");
    }
    for (uint32_t i = 0; i < n; i++) {
        double fx = (ll[2 * i] - x0) / span * 65535.0, fy = (ll[2 * i + 1] - y0) / span * 65535.0;
        k[i].h = hilbert((uint32_t)fx, (uint32_t)fy);
        k[i].id = i;
    }
    qsort(k, n, sizeof *k, hkey_cmp);
    for (uint32_t i = 0; i < n; i++) (*perm)[i] = k[i].id;
    free(k);
    return WG_OK;
}

/* ---- per-profile arcs and components ------------------------------------- */

typedef struct csr {
    uint32_t *off, *ref;
    wg_arc *arc;
    uint32_t n;
} csr;

static void csr_free(csr *c) {
    free(c->off);
    free(c->ref);
    free(c->arc);
    memset(c, 0, sizeof *c);
}

/* Out-arcs (backward = 0) or in-arcs (backward = 1) of a profile. */
static wg_status csr_build(wg_ctx *ctx, const wg_graph_src *s, const uint32_t *ew, int backward,
                           csr *c) {
    uint32_t n = s->nnodes, narc = 0;
    c->off = calloc((size_t)n + 1, sizeof *c->off);
    for (uint32_t e = 0; e < s->nedges; e++) narc += (ew[2 * e] != WG_W_INF) + (ew[2 * e + 1] != WG_W_INF);
    c->arc = malloc((narc ? narc : 1) * sizeof *c->arc);
    c->ref = malloc((narc ? narc : 1) * sizeof *c->ref);
    if (!c->off || !c->arc || !c->ref) {
        csr_free(c);
        return wg_err(ctx, WG_ERR_NOMEM, "out of memory building road arcs");
    }
    c->n = narc;
    /* arc d of edge e: tail, head = (u, v) for d = 0, (v, u) for d = 1 */
    for (uint32_t e = 0; e < s->nedges; e++)
        for (int d = 0; d < 2; d++) {
            if (ew[2 * e + d] == WG_W_INF) continue;
            uint32_t tail = s->edge_uv[2 * e + d], head = s->edge_uv[2 * e + 1 - d];
            c->off[(backward ? head : tail) + 1]++;
        }
    for (uint32_t v = 0; v < n; v++) c->off[v + 1] += c->off[v];
    uint32_t *fill = malloc(((size_t)n + 1) * sizeof *fill);
    if (!fill) {
        csr_free(c);
        return wg_err(ctx, WG_ERR_NOMEM, "out of memory building road arcs");
    }
    memcpy(fill, c->off, ((size_t)n + 1) * sizeof *fill);
    for (uint32_t e = 0; e < s->nedges; e++)
        for (int d = 0; d < 2; d++) {
            uint32_t w = ew[2 * e + d];
            if (w == WG_W_INF) continue;
            uint32_t tail = s->edge_uv[2 * e + d], head = s->edge_uv[2 * e + 1 - d];
            uint32_t at = backward ? head : tail, k = fill[at]++;
            c->arc[k].head = backward ? tail : head;
            c->arc[k].w = w;
            c->ref[k] = WG_REF(e, d);
        }
    free(fill);
    return WG_OK;
}

static uint32_t uf_find(uint32_t *p, uint32_t x) {
    while (p[x] != x) {
        p[x] = p[p[x]];
        x = p[x];
    }
    return x;
}

typedef struct compsz {
    uint32_t root, size, first;
} compsz;

static int compsz_cmp(const void *a, const void *b) {
    const compsz *p = a, *q = b;
    if (p->size != q->size) return p->size > q->size ? -1 : 1;
    return p->first < q->first ? -1 : p->first > q->first;
}

/* Weak components, numbered by decreasing size (0 is the main network);
 * WG_NONE for nodes with no usable arc. */
static wg_status components(wg_ctx *ctx, const wg_graph_src *s, const csr *f, uint32_t **comp_out,
                            uint32_t **size_out, uint32_t *ncomp_out) {
    uint32_t n = s->nnodes, nc = 0;
    uint32_t *p = malloc(((size_t)n + 1) * sizeof *p), *comp = malloc(((size_t)n + 1) * sizeof *comp);
    uint32_t *sizes = NULL;
    compsz *cs = NULL;
    wg_status rc = WG_OK;
    if (!p || !comp) goto nomem;
    for (uint32_t v = 0; v < n; v++) p[v] = v, comp[v] = WG_NONE;
    for (uint32_t v = 0; v < n; v++)
        for (uint32_t k = f->off[v]; k < f->off[v + 1]; k++) {
            uint32_t a = uf_find(p, v), b = uf_find(p, f->arc[k].head);
            if (a != b) p[a < b ? b : a] = a < b ? a : b;
            comp[v] = comp[f->arc[k].head] = 0; /* touched */
        }
    for (uint32_t v = 0; v < n; v++)
        if (comp[v] == 0 && uf_find(p, v) == v) nc++;
    cs = calloc(nc ? nc : 1, sizeof *cs);
    sizes = calloc(nc ? nc : 1, sizeof *sizes);
    if (!cs || !sizes) goto nomem;
    /* provisional ids in order of first node, then renumbered by size */
    uint32_t k = 0;
    for (uint32_t v = 0; v < n; v++)
        if (comp[v] == 0 && uf_find(p, v) == v) cs[k].root = v, cs[k].first = v, p[v] = v, k++;
    uint32_t *rid = malloc(((size_t)n + 1) * sizeof *rid);
    if (!rid) goto nomem;
    for (uint32_t i = 0; i < nc; i++) rid[cs[i].root] = i;
    for (uint32_t v = 0; v < n; v++)
        if (comp[v] == 0) cs[rid[uf_find(p, v)]].size++;
    qsort(cs, nc, sizeof *cs, compsz_cmp);
    for (uint32_t i = 0; i < nc; i++) rid[cs[i].root] = i, sizes[i] = cs[i].size;
    for (uint32_t v = 0; v < n; v++)
        if (comp[v] == 0) comp[v] = rid[uf_find(p, v)];
    free(rid);
    free(p);
    free(cs);
    *comp_out = comp;
    *size_out = sizes;
    *ncomp_out = nc;
    return WG_OK;
nomem:
    rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory finding road islands");
    free(p);
    free(comp);
    free(sizes);
    free(cs);
    return rc;
}

/* Nodes of component 0 outside its largest strongly connected component:
 * those one-way roads cut off (iterative Tarjan). */
static wg_status oneway_trapped(wg_ctx *ctx, uint32_t n, const csr *f, const uint32_t *comp,
                                int64_t *out) {
    uint32_t *idx = malloc(((size_t)n + 1) * sizeof *idx), *low = malloc(((size_t)n + 1) * sizeof *low);
    uint32_t *stk = malloc(((size_t)n + 1) * sizeof *stk), *cs_v = malloc(((size_t)n + 1) * sizeof *cs_v);
    uint32_t *cs_k = malloc(((size_t)n + 1) * sizeof *cs_k);
    uint8_t *on = calloc((size_t)n + 1, 1);
    if (!idx || !low || !stk || !cs_v || !cs_k || !on) {
        free(idx), free(low), free(stk), free(cs_v), free(cs_k), free(on);
        return wg_err(ctx, WG_ERR_NOMEM, "out of memory checking one-way roads");
    }
    uint32_t next = 0, sp = 0, main_nodes = 0, biggest = 0;
    for (uint32_t v = 0; v < n; v++) idx[v] = WG_NONE, main_nodes += comp[v] == 0;
    for (uint32_t r = 0; r < n; r++) {
        if (comp[r] != 0 || idx[r] != WG_NONE) continue;
        uint32_t csp = 0;
        cs_v[csp] = r, cs_k[csp] = f->off[r], csp++;
        idx[r] = low[r] = next++, stk[sp++] = r, on[r] = 1;
        while (csp) {
            uint32_t v = cs_v[csp - 1];
            if (cs_k[csp - 1] < f->off[v + 1]) {
                uint32_t w = f->arc[cs_k[csp - 1]++].head;
                if (idx[w] == WG_NONE) {
                    idx[w] = low[w] = next++, stk[sp++] = w, on[w] = 1;
                    cs_v[csp] = w, cs_k[csp] = f->off[w], csp++;
                } else if (on[w] && idx[w] < low[v]) {
                    low[v] = idx[w];
                }
                continue;
            }
            csp--;
            if (csp && low[v] < low[cs_v[csp - 1]]) low[cs_v[csp - 1]] = low[v];
            if (low[v] == idx[v]) {
                uint32_t size = 0, w;
                do {
                    w = stk[--sp];
                    on[w] = 0;
                    size++;
                } while (w != v);
                if (size > biggest) biggest = size;
            }
        }
    }
    *out = (int64_t)main_nodes - biggest;
    free(idx), free(low), free(stk), free(cs_v), free(cs_k), free(on);
    return WG_OK;
}

/* ---- the snapping grid --------------------------------------------------- */

/* Metres per degree on the WGS84 ellipsoid at a latitude: the meridian
 * and prime-vertical radii of curvature (a sphere would be 0.3% off). */
void wg_graph_local_scale(double lat, double *kx, double *ky) {
    const double a = 6378137.0, e2 = 6.69437999014e-3, rad = 3.14159265358979323846 / 180.0;
    double s = sin(lat * rad), w = 1 - e2 * s * s, sw = sqrt(w);
    *ky = a * (1 - e2) / (w * sw) * rad;
    *kx = a / sw * cos(lat * rad) * rad;
    if (*kx < 1e-3 * *ky) *kx = 1e-3 * *ky; /* poles */
}

static wg_status grid_build(wg_ctx *ctx, const wg_graph_src *s, wg_gmeta *m, wg_gimage *img) {
    double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
    for (uint32_t i = 0; i < s->npts; i++) {
        x0 = fmin(x0, s->pt[2 * i]), x1 = fmax(x1, s->pt[2 * i]);
        y0 = fmin(y0, s->pt[2 * i + 1]), y1 = fmax(y1, s->pt[2 * i + 1]);
    }
    if (!s->npts) x0 = y0 = x1 = y1 = 0;
    double kx, ky;
    wg_graph_local_scale((y0 + y1) / 2, &kx, &ky);
    uint64_t nseg = s->npts - s->nedges, cells = nseg / 2 ? nseg / 2 : 1;
    double W = fmax((x1 - x0) * kx, 1.0), H = fmax((y1 - y0) * ky, 1.0);
    double cell_m = fmax(sqrt(W * H / (double)cells), 5.0);
    double nxf = ceil(W / cell_m), nyf = ceil(H / cell_m);
    while (nxf * nyf > (double)(1u << 24)) cell_m *= 1.5, nxf = ceil(W / cell_m), nyf = ceil(H / cell_m);
    uint32_t nx = (uint32_t)fmax(nxf, 1), ny = (uint32_t)fmax(nyf, 1);
    m->gx0 = x0, m->gy0 = y0, m->gnx = nx, m->gny = ny;
    m->gcw = fmax((x1 - x0) / nx, 1e-7) * (1 + 1e-12);
    m->gch = fmax((y1 - y0) / ny, 1e-7) * (1 + 1e-12);
    size_t ncell = (size_t)nx * ny;
    uint32_t *off = calloc(ncell + 1, sizeof *off), *ent = NULL;
    wg_status rc = WG_OK;
    if (!off) return wg_err(ctx, WG_ERR_NOMEM, "out of memory building the snapping index");
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t e = 0; e < s->nedges; e++)
            for (uint32_t k = s->edge_shp[e]; k + 1 < s->edge_shp[e + 1]; k++) {
                const double *a = s->pt + 2 * k, *b = a + 2;
                long i0 = (long)((fmin(a[0], b[0]) - x0) / m->gcw), i1 = (long)((fmax(a[0], b[0]) - x0) / m->gcw);
                long j0 = (long)((fmin(a[1], b[1]) - y0) / m->gch), j1 = (long)((fmax(a[1], b[1]) - y0) / m->gch);
                if (i1 >= (long)nx) i1 = nx - 1;
                if (j1 >= (long)ny) j1 = ny - 1;
                for (long j = j0; j <= j1; j++)
                    for (long i = i0; i <= i1; i++) {
                        size_t c = (size_t)j * nx + (size_t)i;
                        if (pass == 0) {
                            off[c + 1]++;
                        } else {
                            uint32_t at = off[c]++;
                            ent[2 * at] = e;
                            ent[2 * at + 1] = k - s->edge_shp[e];
                        }
                    }
            }
        if (pass == 0) {
            for (size_t c = 0; c < ncell; c++) {
                if ((uint64_t)off[c + 1] + off[c] > UINT32_MAX) {
                    free(off);
                    return wg_err(ctx, WG_ERR_NOMEM, "road network too large to index");
                }
                off[c + 1] += off[c];
            }
            m->ngent = off[ncell];
            ent = malloc(((size_t)m->ngent + 1) * 2 * sizeof *ent);
            if (!ent) {
                free(off);
                return wg_err(ctx, WG_ERR_NOMEM, "out of memory building the snapping index");
            }
        }
    }
    /* the fill pass advanced every off[c] to off[c + 1]: shift back */
    memmove(off + 1, off, ncell * sizeof *off);
    off[0] = 0;
    if ((rc = wg_gimage_add(ctx, img, "cell_off", off, (ncell + 1) * sizeof *off)) == WG_OK)
        rc = wg_gimage_add(ctx, img, "cell_ent", ent, (size_t)m->ngent * 2 * sizeof *ent);
    free(off);
    free(ent);
    return rc;
}

/* ---- building ------------------------------------------------------------ */

static wg_status add_strings(wg_ctx *ctx, wg_gimage *img, const char *offtag, const char *tag,
                             const char *const *v, uint32_t n) {
    uint32_t *off = malloc(((size_t)n + 1) * sizeof *off);
    if (!off) return wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    size_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        off[i] = (uint32_t)total;
        total += strlen(v[i]) + 1;
    }
    off[n] = (uint32_t)total;
    char *blob = malloc(total ? total : 1);
    wg_status rc = WG_OK;
    if (!blob || total > UINT32_MAX) {
        free(off);
        free(blob);
        return wg_err(ctx, WG_ERR_NOMEM, "out of memory (road names)");
    }
    for (uint32_t i = 0; i < n; i++) memcpy(blob + off[i], v[i], off[i + 1] - off[i]);
    if (!(rc = wg_gimage_add(ctx, img, offtag, off, ((size_t)n + 1) * sizeof *off)))
        rc = wg_gimage_add(ctx, img, tag, blob, total);
    free(off);
    free(blob);
    return rc;
}

static wg_status build_profile(wg_ctx *ctx, wg_graph_src *s, int p, wg_gimage *img,
                               wg_roads_profile_report *pr) {
    wg_gpmeta *pm = &s->pm[p];
    csr f = {0}, b = {0};
    uint32_t *comp = NULL, *sizes = NULL, nc = 0, n = s->nnodes;
    size_t noff = ((size_t)n + 1) * sizeof(uint32_t);
    wg_status rc;
    if ((rc = csr_build(ctx, s, s->ew[p], 0, &f)) || (rc = csr_build(ctx, s, s->ew[p], 1, &b)) ||
        (rc = addp(ctx, img, p, "fwd_off", f.off, noff)) ||
        (rc = addp(ctx, img, p, "fwd", f.arc, (size_t)f.n * sizeof *f.arc)) ||
        (rc = addp(ctx, img, p, "fwd_ref", f.ref, (size_t)f.n * sizeof *f.ref)) ||
        (rc = addp(ctx, img, p, "bwd_off", b.off, noff)) ||
        (rc = addp(ctx, img, p, "bwd", b.arc, (size_t)b.n * sizeof *b.arc)) ||
        (rc = addp(ctx, img, p, "bwd_ref", b.ref, (size_t)b.n * sizeof *b.ref)) ||
        (rc = addp(ctx, img, p, "ew", s->ew[p], (size_t)s->nedges * 2 * sizeof(uint32_t))) ||
        (rc = components(ctx, s, &f, &comp, &sizes, &nc)) ||
        (rc = addp(ctx, img, p, "comp", comp, (size_t)n * sizeof *comp)) ||
        (rc = addp(ctx, img, p, "comp_size", sizes, (size_t)nc * sizeof *sizes)))
        goto done;
    pm->narcs_f = f.n;
    pm->narcs_b = b.n;
    pm->ncomp = nc;
    pm->main_comp = 0;
    if (pr) {
        memset(pr, 0, sizeof *pr);
        snprintf(pr->name, sizeof pr->name, "%s", pm->name);
        pr->arcs = f.n;
        pr->components = nc;
        pr->main_nodes = nc ? sizes[0] : 0;
        for (uint32_t c = 1; c < nc; c++) pr->island_nodes += sizes[c];
        for (uint32_t c = 1; c < nc && pr->n_islands < 5; c++) {
            uint32_t v = 0;
            while (comp[v] != c) v++;
            wg_roads_island *is = &pr->islands[pr->n_islands++];
            is->lon = s->node_ll[2 * v], is->lat = s->node_ll[2 * v + 1], is->nodes = sizes[c];
        }
        if (nc && (rc = oneway_trapped(ctx, n, &f, comp, &pr->oneway_trapped))) goto done;
    }
    if (s->with_ch) {
        rc = wg_ch_build(ctx, n, f.off, f.arc, f.ref, p, pm, img);
        pm->has_ch = 1;
        if (!rc && pr) pr->shortcuts = (int64_t)pm->nrec - (int64_t)f.n;
    } else { /* empty sections: the loader's checks stay the same */
        memset(f.off, 0, noff);
        pm->has_ch = 0, pm->nch_f = pm->nch_b = pm->nrec = 0;
        if ((rc = addp(ctx, img, p, "chf_off", f.off, noff)) || (rc = addp(ctx, img, p, "chf", NULL, 0)) ||
            (rc = addp(ctx, img, p, "chb_off", f.off, noff)) || (rc = addp(ctx, img, p, "chb", NULL, 0)))
            goto done;
        rc = addp(ctx, img, p, "rec", NULL, 0);
    }
done:
    csr_free(&f);
    csr_free(&b);
    free(comp);
    free(sizes);
    return rc;
}

/* Profiles are independent: each is built by a worker thread into an image
 * of its own (with a private context for its message), and the sections
 * are appended in profile order, so the file is the same whatever the
 * number of threads. */
typedef struct pjob {
    wg_graph_src *s;
    int p;
    wg_gimage img;
    wg_roads_profile_report pr;
    wg_status rc;
    wg_ctx ctx;
} pjob;

typedef struct pool {
    pjob *jobs;
    int n, next;
    pthread_mutex_t mu;
} pool;

static void *pool_run(void *arg) {
    pool *pl = arg;
    for (;;) {
        pthread_mutex_lock(&pl->mu);
        int i = pl->next < pl->n ? pl->next++ : -1;
        pthread_mutex_unlock(&pl->mu);
        if (i < 0) return NULL;
        pjob *j = &pl->jobs[i];
        j->rc = build_profile(&j->ctx, j->s, j->p, &j->img, &j->pr);
    }
}

static wg_status build_profiles(wg_ctx *ctx, wg_graph_src *s, wg_gimage *img,
                                wg_roads_report *rep) {
    pjob jobs[WG_MAXP];
    pool pl = {jobs, s->nprofiles, 0, PTHREAD_MUTEX_INITIALIZER};
    pthread_t tid[WG_MAXP];
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int nt = s->nprofiles < ncpu ? s->nprofiles : (int)(ncpu > 0 ? ncpu : 1), started = 0;
    wg_status rc = WG_OK;
    memset(jobs, 0, sizeof jobs);
    for (int p = 0; p < s->nprofiles; p++) jobs[p].s = s, jobs[p].p = p;
    for (int t = 1; t < nt; t++)
        if (pthread_create(&tid[started], NULL, pool_run, &pl) == 0) started++;
    pool_run(&pl); /* this thread works too */
    for (int t = 0; t < started; t++) pthread_join(tid[t], NULL);
    for (int p = 0; p < s->nprofiles && !rc; p++) {
        pjob *j = &jobs[p];
        if (j->rc) {
            rc = wg_err(ctx, j->rc, "%s", j->ctx.errmsg);
            break;
        }
        for (uint32_t k = 0; k < j->img.nsec && !rc; k++)
            rc = wg_gimage_add(ctx, img, j->img.sec[k].tag, j->img.buf + j->img.sec[k].off,
                               j->img.sec[k].len);
        if (rep) rep->profiles[p] = j->pr;
    }
    for (int p = 0; p < s->nprofiles; p++) img_discard(&jobs[p].img);
    if (!rc && wg_progress(ctx, "graph", 1, 1))
        rc = wg_err(ctx, WG_ERR_INTERRUPTED, "graph build interrupted");
    return rc;
}

wg_status wg_graph_build(wg_ctx *ctx, wg_graph_src *s, uint64_t stamp, wg_gimage *img,
                         wg_roads_report *rep) {
    memset(img, 0, sizeof *img);
    wg_gmeta m;
    memset(&m, 0, sizeof m);
    m.nnodes = s->nnodes, m.nedges = s->nedges, m.npts = s->npts;
    m.nnames = s->nnames, m.nclasses = s->nclasses, m.nprofiles = (uint32_t)s->nprofiles;
    size_t N = s->nnodes, E = s->nedges;
    wg_status rc;
    if ((rc = wg_gimage_add(ctx, img, "node_ll", s->node_ll, N * 2 * sizeof(double))) ||
        (rc = wg_gimage_add(ctx, img, "edge_uv", s->edge_uv, E * 2 * sizeof(uint32_t))) ||
        (rc = wg_gimage_add(ctx, img, "edge_len", s->len, E * sizeof(double))) ||
        (rc = wg_gimage_add(ctx, img, "edge_shp", s->edge_shp, (E + 1) * sizeof(uint32_t))) ||
        (rc = wg_gimage_add(ctx, img, "shp_ll", s->pt, (size_t)s->npts * 2 * sizeof(double))) ||
        (rc = wg_gimage_add(ctx, img, "shp_cum", s->cum, (size_t)s->npts * sizeof(double))) ||
        (rc = wg_gimage_add(ctx, img, "edge_name", s->edge_name, E * sizeof(uint32_t))) ||
        (rc = wg_gimage_add(ctx, img, "edge_cls", s->edge_cls, E * sizeof(uint32_t))) ||
        (rc = add_strings(ctx, img, "name_off", "names", s->names, s->nnames)) ||
        (rc = add_strings(ctx, img, "cls_off", "classes", s->classes, s->nclasses)) ||
        (rc = grid_build(ctx, s, &m, img)))
        goto fail;
    if ((rc = build_profiles(ctx, s, img, rep))) goto fail;
    if (rep) rep->nprofiles = s->nprofiles;
    size_t mlen = sizeof m + (size_t)s->nprofiles * sizeof(wg_gpmeta);
    uint8_t *mb = malloc(mlen);
    if (!mb) {
        rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory");
        goto fail;
    }
    memcpy(mb, &m, sizeof m);
    memcpy(mb + sizeof m, s->pm, (size_t)s->nprofiles * sizeof(wg_gpmeta));
    rc = wg_gimage_add(ctx, img, "meta", mb, mlen);
    free(mb);
    if (rc || (rc = img_finish(ctx, img, stamp))) goto fail;
    return WG_OK;
fail:
    img_discard(img);
    return rc;
}

/* ---- viewing an image (with every bound checked) -------------------------- */

typedef struct view {
    wg_ctx *ctx;
    const uint8_t *buf;
    size_t len;
    const struct wg_gsec *dir;
    uint32_t nsec;
    char bad[160];
} view;

/* The section `tag` if it holds exactly count elements of `size` bytes. */
static const void *sec(view *v, const char *tag, uint64_t count, size_t size) {
    if (v->bad[0]) return NULL;
    for (uint32_t i = 0; i < v->nsec; i++) {
        const struct wg_gsec *s = &v->dir[i];
        if (strncmp(s->tag, tag, sizeof s->tag) != 0) continue;
        if (s->off > v->len || s->len > v->len - s->off || s->off % 8 ||
            (count != UINT64_MAX && s->len != count * size)) {
            snprintf(v->bad, sizeof v->bad, "section %s has the wrong size", tag);
            return NULL;
        }
        return v->buf + s->off;
    }
    snprintf(v->bad, sizeof v->bad, "section %s is missing", tag);
    return NULL;
}

static const void *psec(view *v, int p, const char *what, uint64_t count, size_t size) {
    char tag[24];
    snprintf(tag, sizeof tag, "p%d.%s", p, what);
    return sec(v, tag, count, size);
}

static int offsets_ok(const uint32_t *off, uint64_t n, uint64_t total) {
    if (off[0] != 0 || off[n] != total) return 0;
    for (uint64_t i = 0; i < n; i++)
        if (off[i] > off[i + 1]) return 0;
    return 1;
}

/* Every string starts inside its blob, and the blob ends with a NUL: no
 * read runs past it. */
static int strings_ok(const uint32_t *off, uint32_t n, uint64_t len, const char *blob) {
    if (!len || blob[len - 1] != '\0') return 0;
    for (uint32_t i = 0; i < n; i++)
        if (off[i] >= len) return 0;
    return 1;
}

/* A profile's sections have the sizes its counts say. Their contents
 * (arc heads, records, components) are checked where they are used, one
 * comparison each, so that opening stays independent of the graph's size
 * (see csr_range() and friends in graph.h). */
static int prof_ok(view *v, wg_graph *g, int p) {
    wg_gprof *P = &g->prof[p];
    const wg_gpmeta *pm = P->m;
    uint64_t N = g->m.nnodes, E = g->m.nedges;
    P->fwd_off = psec(v, p, "fwd_off", N + 1, 4);
    P->fwd = psec(v, p, "fwd", pm->narcs_f, sizeof(wg_arc));
    P->fwd_ref = psec(v, p, "fwd_ref", pm->narcs_f, 4);
    P->bwd_off = psec(v, p, "bwd_off", N + 1, 4);
    P->bwd = psec(v, p, "bwd", pm->narcs_b, sizeof(wg_arc));
    P->bwd_ref = psec(v, p, "bwd_ref", pm->narcs_b, 4);
    P->ew = psec(v, p, "ew", E * 2, 4);
    P->comp = psec(v, p, "comp", N, 4);
    P->comp_size = psec(v, p, "comp_size", pm->ncomp, 4);
    P->chf_off = psec(v, p, "chf_off", N + 1, 4);
    P->chf = psec(v, p, "chf", pm->nch_f, sizeof(wg_charc));
    P->chb_off = psec(v, p, "chb_off", N + 1, 4);
    P->chb = psec(v, p, "chb", pm->nch_b, sizeof(wg_charc));
    P->rec = psec(v, p, "rec", pm->nrec, sizeof(wg_chrec));
    if (v->bad[0]) return 0;
    return memchr(pm->name, '\0', sizeof pm->name) != NULL && pm->name[0] &&
           isfinite(pm->offroad_kmh) && pm->offroad_kmh > 0;
}

wg_status wg_graph_from_image(wg_ctx *ctx, const void *buf, size_t len, int mapped,
                              wg_graph **out) {
    wg_graph *g = calloc(1, sizeof *g);
    view v = {ctx, buf, len, NULL, 0, ""};
    wg_ghdr h;
    if (!g) {
        if (mapped) munmap((void *)buf, len);
        else free((void *)buf);
        return wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    }
    g->image = buf, g->image_len = len, g->mapped = mapped;
    if (len < sizeof h) goto bad;
    memcpy(&h, buf, sizeof h);
    if (memcmp(h.magic, MAGIC, sizeof MAGIC) || h.endian != ENDIAN || h.version != VERSION ||
        h.file_len != len || h.dir_off % 8 || h.dir_off > len ||
        (uint64_t)h.nsec * sizeof(struct wg_gsec) > len - h.dir_off)
        goto bad;
    g->stamp = h.stamp;
    v.dir = (const struct wg_gsec *)(v.buf + h.dir_off);
    v.nsec = h.nsec;
    const uint8_t *mb = sec(&v, "meta", UINT64_MAX, 1);
    if (!mb) goto bad;
    const struct wg_gsec *ms = NULL;
    for (uint32_t i = 0; i < v.nsec; i++)
        if (!strncmp(v.dir[i].tag, "meta", sizeof v.dir[i].tag)) ms = &v.dir[i];
    if (ms->len < sizeof g->m) goto bad;
    memcpy(&g->m, mb, sizeof g->m);
    wg_gmeta *m = &g->m;
    if (m->nprofiles < 1 || m->nprofiles > WG_MAXP ||
        ms->len != sizeof *m + (uint64_t)m->nprofiles * sizeof(wg_gpmeta))
        goto bad;
    uint64_t N = m->nnodes, E = m->nedges, S = m->npts, cells = (uint64_t)m->gnx * m->gny;
    if (!m->nnames || !m->nclasses || !m->gnx || !m->gny || cells > (1u << 26) ||
        !(m->gcw > 0) || !(m->gch > 0) || !isfinite(m->gx0) || !isfinite(m->gy0) ||
        !isfinite(m->gcw) || !isfinite(m->gch))
        goto bad;
    g->node_ll = sec(&v, "node_ll", N * 2, 8);
    g->edge_uv = sec(&v, "edge_uv", E * 2, 4);
    g->edge_len = sec(&v, "edge_len", E, 8);
    g->edge_shp = sec(&v, "edge_shp", E + 1, 4);
    g->shp_ll = sec(&v, "shp_ll", S * 2, 8);
    g->shp_cum = sec(&v, "shp_cum", S, 8);
    g->edge_name = sec(&v, "edge_name", E, 4);
    g->edge_cls = sec(&v, "edge_cls", E, 4);
    g->name_off = sec(&v, "name_off", (uint64_t)m->nnames + 1, 4);
    g->cls_off = sec(&v, "cls_off", (uint64_t)m->nclasses + 1, 4);
    g->cell_off = sec(&v, "cell_off", cells + 1, 4);
    g->cell_ent = sec(&v, "cell_ent", (uint64_t)m->ngent * 2, 4);
    if (v.bad[0]) goto bad;
    g->names = sec(&v, "names", g->name_off[m->nnames], 1);
    g->classes = sec(&v, "classes", g->cls_off[m->nclasses], 1);
    if (v.bad[0]) goto bad;
    if (!strings_ok(g->name_off, m->nnames, g->name_off[m->nnames], g->names) ||
        !strings_ok(g->cls_off, m->nclasses, g->cls_off[m->nclasses], g->classes) ||
        !offsets_ok(g->edge_shp, E, S))
        goto bad;
    for (uint64_t e = 0; e < E; e++)
        if (g->edge_uv[2 * e] >= N || g->edge_uv[2 * e + 1] >= N || g->edge_name[e] >= m->nnames ||
            g->edge_cls[e] >= m->nclasses || g->edge_shp[e + 1] - g->edge_shp[e] < 2)
            goto bad;
    const wg_gpmeta *pms = (const wg_gpmeta *)(mb + sizeof *m);
    for (uint32_t p = 0; p < m->nprofiles; p++) {
        g->prof[p].m = &pms[p];
        if (!prof_ok(&v, g, (int)p)) goto bad;
    }
    *out = g;
    return WG_OK;
bad:
    wg_err(ctx, WG_ERR_FORMAT, "the road graph file is damaged or from another version%s%s",
           v.bad[0] ? ": " : "", v.bad);
    wg_graph_free(g);
    return WG_ERR_FORMAT;
}

void wg_graph_free(wg_graph *g) {
    if (!g) return;
    if (g->mapped) munmap((void *)g->image, g->image_len);
    else free((void *)g->image);
    free(g);
}

/* ---- the file ------------------------------------------------------------ */

wg_status wg_graph_path(wg_ws *ws, char *buf, size_t size) {
    const char *db = sqlite3_db_filename(ws->db, "main");
    if (!db || !*db) return wg_err(ws->ctx, WG_ERR_INVALID_ARG, "the workspace has no file name");
    if ((size_t)snprintf(buf, size, "%s.graph", db) >= size)
        return wg_err(ws->ctx, WG_ERR_INVALID_ARG, "workspace path too long");
    return WG_OK;
}

wg_status wg_graph_write_tmp(wg_ctx *ctx, const wg_gimage *img, const char *path, char *tmp,
                             size_t tmpsize) {
    snprintf(tmp, tmpsize, "%s.tmp-%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) return wg_err(ctx, WG_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    size_t put = fwrite(img->buf, 1, img->len, f);
    int bad = put != img->len;
    bad |= fflush(f) != 0;
    bad |= fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad) {
        unlink(tmp);
        return wg_err(ctx, WG_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    }
    return WG_OK;
}

/* Maps the file if it exists, is a graph, and carries `stamp`. */
static int try_file(wg_ctx *ctx, const char *path, uint64_t stamp, wg_graph **out) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return 0;
    struct stat sb;
    void *map = MAP_FAILED;
    if (fstat(fd, &sb) == 0 && sb.st_size >= (off_t)sizeof(wg_ghdr))
        map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return 0;
    wg_ghdr h;
    memcpy(&h, map, sizeof h);
    if (h.stamp != stamp) {
        munmap(map, (size_t)sb.st_size);
        return 0;
    }
    return wg_graph_from_image(ctx, map, (size_t)sb.st_size, 1, out) == WG_OK;
}

wg_status wg_graph_open(wg_ws *ws, wg_graph **out) {
    wg_ctx *ctx = ws->ctx;
    char path[4200], *stamp_s = NULL;
    wg_status rc = wg_ws_meta_get(ws, "roads_stamp", &stamp_s);
    if (rc) return rc;
    if (!stamp_s)
        return wg_err(ctx, WG_ERR_NOT_FOUND, "the workspace has no road network; build one with "
                      "`wangge roads WS ROADS` (an .osm.pbf or a line layer)");
    uint64_t stamp = strtoull(stamp_s, NULL, 16);
    free(stamp_s);
    if ((rc = wg_graph_path(ws, path, sizeof path))) return rc;
    if (try_file(ctx, path, stamp, out)) return WG_OK;
    /* Missing, stale or damaged: the table is the truth. */
    wg_gimage img;
    uint64_t st2 = 0;
    if ((rc = wg_roads_image_from_ws(ws, &img, &st2))) return rc;
    rc = wg_graph_from_image(ctx, img.buf, img.len, 0, out);
    if (!rc) (*out)->rebuilt = 1;
    return rc;
}

void wg_graph_get_info(const wg_graph *g, wg_graph_info *out) {
    memset(out, 0, sizeof *out);
    out->nodes = g->m.nnodes;
    out->edges = g->m.nedges;
    out->nprofiles = (int)g->m.nprofiles;
    for (uint32_t p = 0; p < g->m.nprofiles; p++) out->profiles[p] = g->prof[p].m->name;
    out->bytes = (int64_t)g->image_len;
    out->from_file = !g->rebuilt;
}

wg_status wg_graph_node(const wg_graph *g, int64_t i, double *lon, double *lat) {
    if (!g || i < 0 || i >= (int64_t)g->m.nnodes) return WG_ERR_INVALID_ARG;
    *lon = g->node_ll[2 * i];
    *lat = g->node_ll[2 * i + 1];
    return WG_OK;
}

const char *wg_graph_edge_name(const wg_graph *g, uint32_t e) {
    return g->names + g->name_off[g->edge_name[e]];
}

const char *wg_graph_edge_class(const wg_graph *g, uint32_t e) {
    return g->classes + g->cls_off[g->edge_cls[e]];
}

/* ---- snapping ------------------------------------------------------------ */

int wg_graph_snap(const wg_graph *g, int p, double lon, double lat, double max_m,
                  wg_gsnap *out) {
    const wg_gmeta *m = &g->m;
    const uint32_t *ew = g->prof[p].ew;
    if (!m->nedges || !isfinite(lon) || !isfinite(lat) || !(max_m > 0)) return 0;
    double kx, ky;
    wg_graph_local_scale(lat, &kx, &ky);
    double fx = (lon - m->gx0) / m->gcw, fy = (lat - m->gy0) / m->gch;
    if (fabs(fx) > 1e8 || fabs(fy) > 1e8) return 0;
    long cx = (long)floor(fx), cy = (long)floor(fy), nx = m->gnx, ny = m->gny;
    double cell_m = fmin(m->gcw * kx, m->gch * ky), best = max_m * max_m;
    uint32_t be = WG_NONE, bs = 0;
    double bt = 0;
    for (long r = 0;; r++) {
        double ring_min = (r - 1) * cell_m; /* nothing in ring r is nearer */
        if (r > 0 && (ring_min > max_m || (be != WG_NONE && ring_min * ring_min >= best))) break;
        if (cx - r < 0 && cx + r >= nx && cy - r < 0 && cy + r >= ny && r > 0) {
            /* the ring has left the grid on every side: nothing further out */
            if (cx - r + 1 < 0 && cx + r - 1 >= nx && cy - r + 1 < 0 && cy + r - 1 >= ny) break;
        }
        long y0 = cy - r < 0 ? 0 : cy - r, y1 = cy + r >= ny ? ny - 1 : cy + r;
        for (long y = y0; y <= y1; y++) {
            int edge_row = y == cy - r || y == cy + r;
            long step = edge_row ? 1 : 2 * r;
            for (long x = cx - r; x <= cx + r; x += step ? step : 1) {
                if (x < 0 || x >= nx) {
                    if (!step) break;
                    continue;
                }
                size_t c = (size_t)y * (size_t)nx + (size_t)x;
                for (uint32_t k = g->cell_off[c], end = wg_csr_end(g->cell_off, (uint32_t)c, m->ngent);
                     k < end; k++) {
                    uint32_t e = g->cell_ent[2 * k], sg = g->cell_ent[2 * k + 1];
                    if (e >= m->nedges || (uint64_t)sg + 1 >= g->edge_shp[e + 1] - g->edge_shp[e])
                        continue; /* a damaged file */
                    if (ew[2 * e] == WG_W_INF && ew[2 * e + 1] == WG_W_INF) continue;
                    const double *a = g->shp_ll + 2 * ((size_t)g->edge_shp[e] + sg), *b = a + 2;
                    double ax = (a[0] - lon) * kx, ay = (a[1] - lat) * ky;
                    double dx = (b[0] - a[0]) * kx, dy = (b[1] - a[1]) * ky;
                    double l2 = dx * dx + dy * dy;
                    double t = l2 > 0 ? -(ax * dx + ay * dy) / l2 : 0;
                    t = t < 0 ? 0 : t > 1 ? 1 : t;
                    double px = ax + t * dx, py = ay + t * dy, d2 = px * px + py * py;
                    if (d2 < best || (d2 == best && be != WG_NONE && e < be)) {
                        best = d2, be = e, bs = sg, bt = t;
                    }
                }
                if (!step) break;
            }
        }
    }
    if (be == WG_NONE) return 0;
    size_t k = (size_t)g->edge_shp[be] + bs;
    const double *a = g->shp_ll + 2 * k;
    out->edge = be;
    out->seg = bs;
    out->lon = a[0] + bt * (a[2] - a[0]);
    out->lat = a[1] + bt * (a[3] - a[1]);
    out->dist_m = sqrt(best);
    double c0 = g->shp_cum[k] - g->shp_cum[g->edge_shp[be]];
    double c1 = g->shp_cum[k + 1] - g->shp_cum[g->edge_shp[be]];
    out->along_m = c0 + bt * (c1 - c0);
    double len = g->edge_len[be];
    out->frac = len > 0 ? out->along_m / len : 0;
    if (out->frac < 0) out->frac = 0;
    if (out->frac > 1) out->frac = 1;
    if (bt == 0 && bs == 0) out->frac = 0, out->along_m = 0;
    if (bt == 1 && k + 2 == g->edge_shp[be + 1]) out->frac = 1, out->along_m = len;
    return 1;
}

/* The point `at` metres along edge e (declared in graph.h). */
void wg_graph_along(const wg_graph *g, uint32_t e, double at, double *lon, double *lat) {
    uint32_t k0 = g->edge_shp[e], k1 = g->edge_shp[e + 1] - 1;
    const double *cum = g->shp_cum, *ll = g->shp_ll;
    if (at <= cum[k0]) {
        *lon = ll[2 * k0], *lat = ll[2 * k0 + 1];
        return;
    }
    if (at >= cum[k1]) {
        *lon = ll[2 * k1], *lat = ll[2 * k1 + 1];
        return;
    }
    uint32_t k = k0;
    while (k + 1 < k1 && cum[k + 1] < at) k++;
    double seg = cum[k + 1] - cum[k], t = seg > 0 ? (at - cum[k]) / seg : 0;
    *lon = ll[2 * k] + t * (ll[2 * k + 2] - ll[2 * k]);
    *lat = ll[2 * k + 1] + t * (ll[2 * k + 3] - ll[2 * k + 1]);
}
