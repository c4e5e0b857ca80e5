/* bench_route.c -- wangge's side of the routing benchmark (bench_route.sh),
 * the graph's own arcs for pgRouting, and the answers to compare.
 *
 *   bench_route WS edges EDGES.csv [--profile P]
 *       every usable arc of the profile: id,source,target,cost with the
 *       arc's time in integer ms (the weights wangge searches on; node ids
 *       are road_edges' source/target ids, one row per direction)
 *   bench_route WS pairs N SEED PAIRS.csv [--profile P]
 *       N random (source, target) node pairs in the profile's main network
 *       (a fixed LCG from SEED), routed with wg_route_compute() from node to
 *       node through the public API (snapping included); writes
 *       pair,source,target,cost_ms and prints route_p50_ms, route_p99_ms
 *   bench_route WS middle [--profile P]
 *       the id of the main network's node nearest the middle of the nodes' frame
 *   bench_route WS iso NODE|LON,LAT MINUTES NODES.txt [--profile P]
 *       the service area from node NODE (or a point): the reached nodes (id per line,
 *       time <= MINUTES) of the same search `wangge isochrone` runs, then
 *       the whole wg_isochrone_compute() (search + polygon; the median of
 *       5 runs after one warming PROJ up, on one thread per CPU and on one
 *       thread); prints iso_nodes, iso_search_ms, iso_polygon_ms (and its
 *       parts iso_pieces_ms, iso_raster_ms, iso_outline_ms), iso_total_ms,
 *       iso_total_min_ms, iso_total_1t_ms, iso_total_1t_min_ms
 *
 * Links the static library: the arcs and the search are private. */
#include "graph.h"
#include "workspace.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int die(const char *msg, wg_ctx *ctx) {
    fprintf(stderr, "bench_route: %s%s%s\n", msg, ctx ? ": " : "", ctx ? wg_ctx_errmsg(ctx) : "");
    return 1;
}

static int profile_of(const wg_graph *g, const char *name) {
    for (uint32_t i = 0; i < g->m.nprofiles; i++)
        if (!strcmp(g->prof[i].m->name, name)) return (int)i;
    return -1;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static uint64_t lcg(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static int dump_edges(const wg_graph *g, int p, const char *path) {
    const wg_gprof *P = &g->prof[p];
    FILE *f = fopen(path, "w");
    if (!f) return die("cannot write the edges file", NULL);
    fprintf(f, "id,source,target,cost\n");
    uint64_t id = 0;
    for (uint32_t u = 0; u < g->m.nnodes; u++)
        for (uint32_t k = P->fwd_off[u], end = wg_csr_end(P->fwd_off, u, P->m->narcs_f); k < end; k++)
            fprintf(f, "%" PRIu64 ",%u,%u,%u\n", ++id, u + 1, P->fwd[k].head + 1, P->fwd[k].w);
    fclose(f);
    printf("arcs %" PRIu64 "\nnodes %u\n", id, g->m.nnodes);
    return 0;
}

/* The node of the main network nearest the middle of all nodes' frame. */
static int middle(const wg_graph *g, int p) {
    const wg_gprof *P = &g->prof[p];
    double x0 = HUGE_VAL, y0 = HUGE_VAL, x1 = -HUGE_VAL, y1 = -HUGE_VAL;
    for (uint32_t v = 0; v < g->m.nnodes; v++) {
        double x = g->node_ll[2 * v], y = g->node_ll[2 * v + 1];
        x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1, y0 = y < y0 ? y : y0, y1 = y > y1 ? y : y1;
    }
    double cx = (x0 + x1) / 2, cy = (y0 + y1) / 2, best = HUGE_VAL;
    uint32_t b = WG_NONE;
    for (uint32_t v = 0; v < g->m.nnodes; v++) {
        double dx = (g->node_ll[2 * v] - cx) * cos(cy * 3.14159265358979 / 180), dy = g->node_ll[2 * v + 1] - cy;
        if (P->comp[v] == P->m->main_comp && dx * dx + dy * dy < best) best = dx * dx + dy * dy, b = v;
    }
    if (b == WG_NONE) return die("no node in the main network", NULL);
    printf("%u\n", b + 1);
    return 0;
}

static int pairs(wg_ctx *ctx, const wg_graph *g, int p, const char *profile, long n, uint64_t seed,
                 const char *path) {
    const wg_gprof *P = &g->prof[p];
    wg_router *r = NULL;
    if (wg_router_new(ctx, g, profile, &r)) return die("router", ctx);
    FILE *f = fopen(path, "w");
    double *ms = malloc((size_t)n * sizeof *ms);
    if (!f || !ms) return die("cannot write the pairs file", NULL);
    fprintf(f, "pair,source,target,cost_ms\n");
    wg_route_opts o;
    memset(&o, 0, sizeof o);
    for (long i = 0; i < n; i++) {
        uint32_t a, b;
        do a = (uint32_t)(lcg(&seed) % g->m.nnodes);
        while (P->comp[a] != P->m->main_comp);
        do b = (uint32_t)(lcg(&seed) % g->m.nnodes);
        while (P->comp[b] != P->m->main_comp || b == a);
        wg_route *rt = NULL;
        double t0 = now_ms();
        wg_status st = wg_route_compute(r, g->node_ll[2 * a], g->node_ll[2 * a + 1], g->node_ll[2 * b],
                                        g->node_ll[2 * b + 1], &o, &rt);
        ms[i] = now_ms() - t0;
        if (st) return die("route", ctx);
        if (rt->status == WG_ROUTE_FOUND)
            fprintf(f, "%ld,%u,%u,%.0f\n", i + 1, a + 1, b + 1, rt->duration_s * 1000);
        else
            fprintf(f, "%ld,%u,%u,\n", i + 1, a + 1, b + 1);
        wg_route_free(rt);
    }
    fclose(f);
    qsort(ms, (size_t)n, sizeof *ms, cmp_d);
    printf("route_p50_ms %.4f\nroute_p99_ms %.4f\nroute_max_ms %.4f\n", ms[n / 2],
           ms[(size_t)(0.99 * (double)(n - 1) + 0.5)], ms[n - 1]);
    free(ms);
    wg_router_free(r);
    return 0;
}

static int iso(wg_ws *ws, const wg_graph *g, const char *profile, uint32_t node, const double *at,
               double minutes, const char *path) {
    wg_ctx *ctx = ws->ctx;
    double ll[2];
    if (node == 0 && at) ll[0] = at[0], ll[1] = at[1];
    else if (node < 1 || node > g->m.nnodes) return die("no such node", NULL);
    else ll[0] = g->node_ll[2 * (node - 1)], ll[1] = g->node_ll[2 * (node - 1) + 1];
    double T = minutes * 60000.0;
    wg_iso_search is;
    double t0 = now_ms();
    if (wg_iso_search_run(ctx, g, profile, 0, 0, ll, 1, T, &is)) return die("search", ctx);
    double t1 = now_ms();
    FILE *f = fopen(path, "w");
    if (!f) return die("cannot write the nodes file", NULL);
    uint32_t cnt = 0;
    for (uint32_t k = 0; k < is.s.nsettled; k++) {
        uint32_t v = is.s.settled[k];
        if (is.s.dist[v] <= T) fprintf(f, "%u\n", v + 1), cnt++;
    }
    fclose(f);
    wg_iso_search_free(&is);
    wg_isochrone_opts o;
    memset(&o, 0, sizeof o);
    o.profile = profile;
    wg_isochrone *iso = NULL;
    /* once to warm up (PROJ's transformations, page faults), then RUNS
     * timed runs on one thread and on one per CPU: the medians and the
     * fastest total */
    if (wg_isochrone_compute(ws, g, ll, 1, &minutes, 1, &o, &iso)) return die("isochrone", ctx);
    enum { RUNS = 5 };
    double tot[2][RUNS], srch[RUNS], poly[RUNS], pcs[RUNS], rst[RUNS], outl[RUNS];
    wg_isochrone_info info;
    for (int pass = 0; pass < 2; pass++) {
        o.threads = pass == 0 ? 1 : 0;
        for (int k = 0; k < RUNS; k++) {
            wg_isochrone_free(iso), iso = NULL;
            double t2 = now_ms();
            if (wg_isochrone_compute(ws, g, ll, 1, &minutes, 1, &o, &iso))
                return die("isochrone", ctx);
            tot[pass][k] = now_ms() - t2;
            wg_isochrone_get_info(iso, &info);
            srch[k] = info.search_ms, poly[k] = info.polygon_ms;
            pcs[k] = info.pieces_ms, rst[k] = info.raster_ms, outl[k] = info.outline_ms;
        }
    }
    qsort(tot[0], RUNS, sizeof *tot[0], cmp_d), qsort(tot[1], RUNS, sizeof *tot[1], cmp_d);
    qsort(srch, RUNS, sizeof *srch, cmp_d), qsort(poly, RUNS, sizeof *poly, cmp_d);
    qsort(pcs, RUNS, sizeof *pcs, cmp_d), qsort(rst, RUNS, sizeof *rst, cmp_d);
    qsort(outl, RUNS, sizeof *outl, cmp_d);
    wg_isochrone_contour c;
    wg_isochrone_get(iso, 0, &c);
    printf("iso_nodes %u\niso_search_only_ms %.2f\niso_search_ms %.2f\niso_polygon_ms %.2f\n"
           "iso_pieces_ms %.2f\niso_raster_ms %.2f\niso_outline_ms %.2f\n"
           "iso_total_ms %.2f\niso_total_min_ms %.2f\niso_total_1t_ms %.2f\n"
           "iso_total_1t_min_ms %.2f\niso_area_km2 %.3f\niso_cell_m %g\n",
           cnt, t1 - t0, srch[RUNS / 2], poly[RUNS / 2], pcs[RUNS / 2], rst[RUNS / 2],
           outl[RUNS / 2], tot[1][RUNS / 2], tot[1][0], tot[0][RUNS / 2], tot[0][0],
           c.area_m2 / 1e6, info.cell_m);
    wg_isochrone_free(iso);
    return 0;
}

int main(int argc, char **argv) {
    wg_keep_freed_memory(); /* as the wangge command (and so its server) does */
    const char *profile = "car";
    int nargs = argc;
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--profile")) profile = argv[i + 1], nargs = i;
    if (nargs < 3 || (nargs < 4 && strcmp(argv[2], "middle"))) {
        fprintf(stderr, "usage: bench_route WS edges EDGES.csv | pairs N SEED PAIRS.csv | "
                        "iso NODE|LON,LAT MINUTES NODES.txt | middle  [--profile P]\n");
        return 2;
    }
    wg_ctx *ctx = NULL;
    wg_ws *ws = NULL;
    wg_graph *g = NULL;
    if (wg_ctx_new(&ctx) || wg_ws_open(ctx, argv[1], 1, &ws) || wg_graph_open(ws, &g))
        return die("cannot open the workspace and its graph", ctx);
    int p = profile_of(g, profile), rc = 2;
    if (p < 0) return die("no such profile", NULL);
    if (!strcmp(argv[2], "edges")) rc = dump_edges(g, p, argv[3]);
    else if (!strcmp(argv[2], "middle")) rc = middle(g, p);
    else if (!strcmp(argv[2], "pairs") && nargs >= 6)
        rc = pairs(ctx, g, p, profile, atol(argv[3]), strtoull(argv[4], NULL, 10), argv[5]);
    else if (!strcmp(argv[2], "iso") && nargs >= 6) {
        double at[2];
        int ll = strchr(argv[3], ',') && sscanf(argv[3], "%lf,%lf", &at[0], &at[1]) == 2;
        rc = iso(ws, g, profile, ll ? 0 : (uint32_t)atol(argv[3]), ll ? at : NULL, atof(argv[4]),
                 argv[5]);
    }
    else fprintf(stderr, "bench_route: unknown command %s\n", argv[2]);
    wg_graph_free(g);
    wg_ws_close(ws);
    wg_ctx_free(ctx);
    return rc;
}
