/* graph.h -- the road graph's insides, shared by roads.c (building it from
 * OSM or line layers), graph.c (node layout, the binary file, snapping),
 * ch.c (contraction hierarchies) and route.c (searches).
 *
 * The model. A road network is a set of EDGES: pieces of road between two
 * NODES (junctions or dead ends), each with a polyline (lon/lat, from its
 * source node u to its target node v), a geodesic length, a class, a name,
 * a one-way flag and access tags. They are the rows of the workspace table
 * road_edges (id = edge + 1, source = u + 1, target = v + 1).
 *
 * A PROFILE (walk, ebike, car, ... from the profile file) turns every edge
 * into at most two ARCS, u->v and v->u, each with a travel time in whole
 * milliseconds:  w = llround(length_m * 3600 / speed_kmh)  (see roads.c for
 * the speed). Integer times make every sum exact, so two searches (or
 * pgRouting given the same arcs) agree to the millisecond, and the
 * contraction hierarchy's shortcuts are exact sums.
 *
 * Per profile the file holds:
 *   - the arcs as two CSR adjacency arrays (out-arcs and in-arcs per node),
 *     for one-to-all searches: dispatch (backward), and later isochrones
 *     (forward, or backward for --reverse) and coverage (multi-source);
 *   - a contraction hierarchy (upward arcs, shortcuts with their two
 *     halves) for point-to-point routes in well under a millisecond;
 *   - per edge the two arc times (the partial costs of snapped points);
 *   - the weakly connected component of every node (islands).
 * Shared by all profiles: node and polyline coordinates, lengths, names,
 * classes and a uniform grid over the polyline segments for snapping.
 *
 * Nodes are numbered along a Hilbert curve, so nodes near each other on
 * the ground are near each other in memory: a search touches few pages.
 *
 * THE FILE (WS.graph beside the workspace WS) is one little-endian image:
 * a 64-byte header (magic, version, the build stamp), a directory of named
 * sections (tag, offset, length) and the 8-byte aligned sections. It is
 * mmap()ed read-only, so loading is checking the directory, the sections'
 * sizes and the per-edge arrays (graph.c says what is checked where);
 * nothing is parsed or copied. The stamp is also stored in
 * the workspace (wg_meta 'roads_stamp'): a file whose stamp differs (a
 * copy of the workspace without its .graph, a crash between the commit and
 * the rename) is ignored and the graph is rebuilt in memory from the
 * road_edges table, which is the source of truth, without hierarchies (they
 * cost a minute on a million edges; routes then use the bidirectional
 * Dijkstra, exact but slower) until `wangge roads WS` writes the file again.
 *
 * For ISOCHRONES and COVERAGE (next), everything needed is here:
 *  - isochrone: snap each origin (wg_graph_snap), turn it into its one or
 *    two weighted sources (wg_route_sources, to = 0; to = 1 and backward = 1
 *    for --reverse), and run ONE wg_search_dijkstra() from all of them with
 *    `limit` = the largest contour in ms. s->settled lists the reached nodes
 *    in order of time and s->dist their times, so every contour T is a
 *    prefix. An edge u->v with time(u) < T is reached up to the fraction
 *    (T - time(u)) / w(u->v) (pgRouting drops these frontier pieces; do
 *    not), and an origin's own edge from its snapped point; the pieces'
 *    geometry comes from edge_shp/shp_ll/shp_cum as route.c's along() cuts
 *    them. The polygon is then GEOS on those pieces (buffer and union, or a
 *    travel-time raster contoured), which keeps contours nested.
 *  - coverage: the same forward search with the officers' stations as the
 *    origins (route.c's station list already holds each station's sources),
 *    or one search per rule class (town:10, village:30); per grid, the share
 *    of its area and incidents inside the polygon and the worst time of its
 *    reached nodes.
 * One-to-all searches never touch the hierarchy: they use the plain arcs
 * (fwd for forward, bwd for reverse), whose CSR layout and Hilbert node
 * order keep a 30-minute search over a million arcs in tens of ms. */
#ifndef WG_GRAPH_H
#define WG_GRAPH_H

#include "ctx.h"

#include <stdint.h>

#define WG_NONE UINT32_MAX  /* no node / no arc / no record */
#define WG_W_INF UINT32_MAX /* an arc that cannot be used; an unreached node */
#define WG_MAXP 8           /* profiles per graph (WG_ROADS_MAX_PROFILES) */

/* Which OSM access tags a profile obeys. */
enum { WG_MODE_CAR = 0, WG_MODE_BIKE = 1, WG_MODE_FOOT = 2 };
/* What a road's own speed (OSM maxspeed, --speed-field) does to a profile. */
enum { WG_RS_REPLACE = 0, WG_RS_CAP = 1, WG_RS_IGNORE = 2 };
/* Per-edge access bits: explicit yes / no per mode, and oneway:bicycle=no. */
#define WG_ACC_YES(mode) (1u << (2 * (mode)))
#define WG_ACC_NO(mode) (2u << (2 * (mode)))
#define WG_ACC_BIKE_TWOWAY 0x40u

/* A profile's parameters, as parsed from the profile file (roads.c). */
typedef struct wg_gpmeta {
    char name[32];
    int32_t mode, oneway, road_speed, has_ch; /* has_ch: the hierarchy was built */
    double max_kmh, offroad_kmh, default_kmh, permitted_kmh;
    /* filled by the builder */
    uint32_t narcs_f, narcs_b; /* usable arcs (equal: every arc is in both lists) */
    uint32_t ncomp, main_comp; /* weak components; the largest one */
    uint32_t nch_f, nch_b;     /* upward arcs of the hierarchy, forward and backward */
    uint32_t nrec, pad2;       /* hierarchy records (originals + shortcuts) */
} wg_gpmeta;

/* Counts and the snapping grid; the "meta" section, followed by one
 * wg_gpmeta per profile. */
typedef struct wg_gmeta {
    uint32_t nnodes, nedges, npts, nnames, nclasses, nprofiles;
    uint32_t gnx, gny, ngent, pad;
    double gx0, gy0, gcw, gch; /* grid origin and cell size, degrees */
} wg_gmeta;

typedef struct wg_arc {
    uint32_t head, w; /* the other node; time in ms */
} wg_arc;

typedef struct wg_charc {
    uint32_t head, w, rec; /* the other (higher) node; time; record */
} wg_charc;

/* A hierarchy record: b == WG_NONE for an original arc (a = its arc ref,
 * see below), else a shortcut made of record a followed by record b. */
typedef struct wg_chrec {
    uint32_t a, b;
} wg_chrec;

/* Arc references: edge << 1 | 1 if the arc runs v->u against the polyline. */
#define WG_REF(e, rev) (((uint32_t)(e) << 1) | (uint32_t)(rev))
#define WG_REF_EDGE(r) ((r) >> 1)
#define WG_REF_REV(r) ((r)&1u)

/* One profile's view into the image. */
typedef struct wg_gprof {
    const wg_gpmeta *m;
    const uint32_t *fwd_off, *bwd_off;    /* nnodes + 1 */
    const wg_arc *fwd, *bwd;              /* out-arcs (head = target), in-arcs (head = source) */
    const uint32_t *fwd_ref, *bwd_ref;    /* arc refs */
    const uint32_t *ew;                   /* 2 per edge: time u->v, v->u, or WG_W_INF */
    const uint32_t *comp, *comp_size;     /* per node (WG_NONE: no usable arc); per component */
    const uint32_t *chf_off, *chb_off;    /* nnodes + 1 */
    const wg_charc *chf, *chb;            /* upward arcs: chf[u] u->x, chb[u] x->u, rank x > u */
    const wg_chrec *rec;
} wg_gprof;

struct wg_graph {
    wg_gmeta m;
    uint64_t stamp;
    const double *node_ll;            /* 2 per node */
    const uint32_t *edge_uv;          /* 2 per edge */
    const double *edge_len;           /* metres, geodesic */
    const uint32_t *edge_shp;         /* nedges + 1 offsets into shp_ll (u first, v last) */
    const double *shp_ll;             /* 2 per point */
    const double *shp_cum;            /* metres from the edge's start to each point */
    const uint32_t *edge_name, *edge_cls;
    const uint32_t *name_off, *cls_off; /* nnames + 1, nclasses + 1 */
    const char *names, *classes;      /* NUL-terminated strings; id 0 is "" */
    const uint32_t *cell_off;         /* gnx * gny + 1 */
    const uint32_t *cell_ent;         /* 2 per entry: edge, segment */
    wg_gprof prof[WG_MAXP];
    const void *image;
    size_t image_len;
    int mapped;  /* image is an mmap (else malloc'd) */
    int rebuilt; /* built in memory from road_edges (the file was missing or stale) */
};

/* Guards for indices read from a graph file. Opening checks sizes and the
 * shared per-edge arrays only (so it costs the same for any graph); every
 * other index from the file is checked where it is used, with these. */
static inline uint32_t wg_csr_end(const uint32_t *off, uint32_t v, uint32_t total) {
    uint32_t e = off[v + 1];
    return e < total ? e : total;
}

/* ---- building (graph.c) -------------------------------------------------- */

/* Everything the builder needs, edges already in their final numbering. */
typedef struct wg_graph_src {
    uint32_t nnodes, nedges, npts;
    const double *node_ll;
    const uint32_t *edge_uv, *edge_shp;
    const double *pt, *cum, *len;
    const uint32_t *edge_name, *edge_cls;
    const char *const *names; /* [0] = "" */
    uint32_t nnames;
    const char *const *classes; /* [0] = "" */
    uint32_t nclasses;
    int nprofiles;
    int with_ch;               /* build contraction hierarchies (else empty sections) */
    wg_gpmeta pm[WG_MAXP];     /* parameters (counts are filled in) */
    const uint32_t *ew[WG_MAXP]; /* per profile, 2 per edge */
} wg_graph_src;

/* A growing image: sections appended, then the directory. */
typedef struct wg_gimage {
    uint8_t *buf;
    size_t len, cap;
    uint32_t nsec, seccap;
    struct wg_gsec *sec;
} wg_gimage;

/* Fills perm[new] = old, the order of the nodes along a Hilbert curve of
 * their lon/lat (2 per node). */
wg_status wg_graph_hilbert_order(wg_ctx *ctx, const double *ll, uint32_t n, uint32_t **perm);

/* Builds the whole image (CSR arcs, components, hierarchies, snapping
 * grid) and fills rep's per-profile figures. The image is a new buffer
 * (free(img->buf) when done). */
wg_status wg_graph_build(wg_ctx *ctx, wg_graph_src *src, uint64_t stamp, wg_gimage *img,
                         wg_roads_report *rep);

/* Views an image as a graph after checking every bound (a corrupt file
 * fails with WG_ERR_FORMAT, never crashes). Takes ownership of `buf`
 * (munmap()ed if mapped, else free()d), also on failure. */
wg_status wg_graph_from_image(wg_ctx *ctx, const void *buf, size_t len, int mapped,
                              wg_graph **out);

/* The path of the graph file of a workspace ("<db file>.graph") into buf. */
wg_status wg_graph_path(wg_ws *ws, char *buf, size_t size);

/* Writes an image to `path` atomically (temporary name, then rename by the
 * caller through `tmp`, which receives the temporary name). */
wg_status wg_graph_write_tmp(wg_ctx *ctx, const wg_gimage *img, const char *path, char *tmp,
                             size_t tmpsize);

/* ---- contraction hierarchies (ch.c) -------------------------------------- */

/* Contracts the n-node graph given by out-arcs (off/arcs/refs; no
 * self-loops needed) and appends the hierarchy's sections for profile `p`
 * to the image; fills pm->nch_f, nch_b, nrec. */
wg_status wg_ch_build(wg_ctx *ctx, uint32_t n, const uint32_t *off, const wg_arc *arcs,
                      const uint32_t *refs, int p, wg_gpmeta *pm, wg_gimage *img);

/* Appends a section (copied) to the image; tags are at most 23 bytes. */
wg_status wg_gimage_add(wg_ctx *ctx, wg_gimage *img, const char *tag, const void *data,
                        size_t len);

/* ---- rebuilding from the workspace (roads.c) ---------------------------- */

/* Builds an image in memory from the road_edges table and the stored
 * profiles (the stamp is the workspace's). */
wg_status wg_roads_image_from_ws(wg_ws *ws, wg_gimage *img, uint64_t *stamp);

/* ---- snapping (graph.c) -------------------------------------------------- */

typedef struct wg_gsnap {
    uint32_t edge, seg;  /* the edge, and the polyline segment on it */
    double along_m;      /* from the edge's start (u) to the snapped point */
    double frac;         /* along_m / length (0 for a zero-length edge) */
    double lon, lat;     /* the snapped point */
    double dist_m;       /* from the query point, metres */
} wg_gsnap;

/* Nearest point on the nearest edge usable by profile p (an arc in either
 * direction) within max_m metres of (lon, lat). Returns 1 if found. */
int wg_graph_snap(const wg_graph *g, int p, double lon, double lat, double max_m,
                  wg_gsnap *out);

/* Local metres per degree of longitude (kx) and latitude (ky) at a
 * latitude, on the WGS84 ellipsoid. */
void wg_graph_local_scale(double lat, double *kx, double *ky);

/* The name / class text of an edge (borrowed from the graph; "" if none). */
const char *wg_graph_edge_name(const wg_graph *g, uint32_t e);
const char *wg_graph_edge_class(const wg_graph *g, uint32_t e);

/* ---- searches (route.c) -------------------------------------------------- */

/* An indexed 4-ary min-heap over node ids and the labels of one search
 * direction. Arrays are sized for the graph and reused across searches: a
 * node's label is valid only when stamp[v] == epoch, so starting a search
 * costs nothing however large the graph. */
typedef struct wg_sdir {
    uint32_t n, epoch;
    uint32_t *stamp, *dist, *par, *pnode, *pos;
    uint32_t *hnode, *hkey, hn;
    uint32_t *settled, nsettled; /* nodes in the order they were settled */
    double *len;                 /* metres along the tree (when wanted) */
} wg_sdir;

wg_status wg_sdir_init(wg_ctx *ctx, wg_sdir *s, uint32_t n, int want_len);
void wg_sdir_free(wg_sdir *s);

/* Starts a new search: no labels, empty heap. */
void wg_sdir_reset(wg_sdir *s);

/* Offers node v the label d (from pnode via par); keeps the smaller.
 * Returns 1 if v's label improved (0 if it was better or v is settled). */
int wg_sdir_offer(wg_sdir *s, uint32_t v, uint32_t d, uint32_t par, uint32_t pnode);

/* Label of v in this search, WG_W_INF if none. */
static inline uint32_t wg_sdir_dist(const wg_sdir *s, uint32_t v) {
    return s->stamp[v] == s->epoch ? s->dist[v] : WG_W_INF;
}

/* A source of a search: a node and its starting time. */
typedef struct wg_source {
    uint32_t node, cost;
    double len_m; /* metres already travelled (walks and partial edges) */
} wg_source;

/* Dijkstra over profile p's arcs (backward: in-arcs, giving times TO the
 * sources) from the given sources, settling nodes in order of time until
 * the heap is empty, the next time exceeds `limit`, or on_settle returns
 * non-zero. s->settled then lists the settled nodes. Returns the number
 * settled. */
uint32_t wg_search_dijkstra(wg_sdir *s, const wg_graph *g, int p, int backward,
                            const wg_source *src, size_t nsrc, uint32_t limit,
                            int (*on_settle)(void *user, uint32_t node, uint32_t t), void *user);

/* The sources a snapped point gives: the ends of its edge with the partial
 * edge time (and the walk to the road added), in the direction of travel
 * (to = 1: the arcs arriving at the point, for a destination). Returns the
 * number written to out[2]. */
int wg_route_sources(const wg_graph *g, int p, const wg_gsnap *sn, uint32_t walk_ms, int to,
                     wg_source out[2]);

/* Parses a profile file's text (roads.c; `where` names it in messages as
 * "where:line:") and frees it again: *n gets the number of profiles. For
 * the fuzzer; `wangge roads --profiles` reads files through the same
 * parser. */
wg_status wg_profiles_check(wg_ctx *ctx, const char *text, const char *where, int *n);

/* ---- service areas (isochrone.c; coverage.c uses them) -------------------- */

/* An origin of a service area: snapped (ok) or left out (no road near). */
typedef struct wg_iso_origin {
    double lon, lat;
    int ok;
    uint32_t walk_ms;
    wg_gsnap sn;
} wg_iso_origin;

/* A reached piece: shp points [off, off + npts) of a piece buffer; edge
 * WG_NONE for an origin's walk; times in ms at its two ends. */
typedef struct wg_iso_piece {
    uint32_t edge, off, npts;
    double t0, t1;
} wg_iso_piece;

/* One multi-source search and its origins. */
typedef struct wg_iso_search {
    const wg_graph *g;
    int p, reverse;
    wg_sdir s;
    wg_iso_origin *orig;
    size_t norig;
    int64_t no_road;
} wg_iso_search;

/* Snaps the n origins (lon, lat pairs) and searches up to limit_ms. Free
 * with wg_iso_search_free() (also after a failure). */
wg_status wg_iso_search_run(wg_ctx *ctx, const wg_graph *g, const char *profile, int reverse,
                            double max_snap_m, const double *ll, size_t n, double limit_ms,
                            wg_iso_search *is);
void wg_iso_search_free(wg_iso_search *is);

/* A piece buffer: the reached pieces and their points (lon, lat pairs). */
typedef struct wg_iso_pbuf {
    wg_iso_piece *v;
    size_t n, cap;
    double *pt;
    size_t npt, ptcap;
    int nomem;
} wg_iso_pbuf;

/* The pieces reached within T ms, frontier pieces and the origins' walks
 * and own edges included (isochrone.c), appended to b, on `threads`
 * threads (0: one per CPU; the same pieces in the same order for any
 * number). Check b->nomem afterwards. */
void wg_iso_collect(const wg_iso_search *is, double T, int threads, wg_iso_pbuf *b);
void wg_iso_pbuf_free(wg_iso_pbuf *b);

/* The travel-time raster of a service area (isoraster.c says how it is
 * made): w x h cells of `cell` metres in the workspace's metric CRS, row 0
 * at the north edge y1, column 0 at the west edge x0; t[] in whole ms,
 * WG_W_INF where nothing is reached. */
typedef struct wg_iso_raster {
    double x0, y1, cell, band;
    uint32_t w, h;
    uint32_t *t;
} wg_iso_raster;

/* Builds the raster of pieces (points `ll`, npt lon/lat pairs) on
 * `threads` threads (0: one per CPU; the same raster for any number) with
 * the band and cell size in metres (cell <= band * sqrt(2); cell <= 0:
 * automatic, isoraster.c says how; r->cell gets the size used). No pieces: an
 * empty raster (w = h = 0). Free with wg_iso_raster_free(), also after a
 * failure. */
wg_status wg_iso_raster_build(wg_ws *ws, const wg_iso_piece *pc, size_t npc, const double *ll,
                              size_t npt, double band, double cell, int threads,
                              wg_iso_raster *r);
void wg_iso_raster_free(wg_iso_raster *r);

/* The time of the cell holding metric point (x, y); returns 0 (and
 * WG_W_INF) outside the raster. */
int wg_iso_raster_at(const wg_iso_raster *r, double x, double y, uint32_t *t);

/* Traces the cells reached within T ms inside the metric window
 * (wx0, wy0)-(wx1, wy1) (widened to whole cells; the whole raster if it
 * covers it) into o (outline.h; zeroed before its first use, freed with
 * wg_outline_free()): corner (X, Y) of o lies at metric (*ox + X * cell,
 * *oy - Y * cell); o->cells counts the cells. every_corner as in
 * wg_outline_trace(). */
struct wg_outline;
wg_status wg_iso_raster_outline(wg_ctx *ctx, const wg_iso_raster *r, double T, double wx0,
                                double wy0, double wx1, double wy1, int every_corner,
                                struct wg_outline *o, double *ox, double *oy);

/* The same cells as polygons: fn gets each polygon (a GEOSGeometry in the
 * metric CRS, vertices where the outline turns, owned by fn from then on,
 * also when it fails). */
typedef wg_status (*wg_iso_poly_fn)(wg_ctx *ctx, void *user, GEOSGeometry *polygon);
wg_status wg_iso_raster_polygons(wg_ctx *ctx, const wg_iso_raster *r, double T, double wx0,
                                 double wy0, double wx1, double wy1, wg_iso_poly_fn fn,
                                 void *user);

/* The cell size for a band when the raster is small: half of it. */
#define WG_ISO_CELL_OF(band) ((band) / 2)

/* Creates `path` (OGR driver by extension, staged) with one WGS84 layer of
 * geometry type `gtype` (an OGRwkbGeometryType) and lets fn fill it
 * (`layer` is an OGRLayerH); committed only if fn returns WG_OK. */
typedef wg_status (*wg_iso_layer_fn)(wg_ctx *ctx, void *layer, void *user);
wg_status wg_iso_write_layer(wg_ctx *ctx, const char *path, const char *layer, int gtype,
                             wg_iso_layer_fn fn, void *user);

/* The lon/lat of the point `at` metres along edge e's polyline, from its
 * start (clamped to the ends). */
void wg_graph_along(const wg_graph *g, uint32_t e, double at, double *lon, double *lat);

#endif
