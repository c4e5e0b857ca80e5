/* fuzz_graph.c -- libFuzzer target for the road graph file WS.graph
 * (wg_graph_from_image, engine/src/graph.c), memory-mapped by every
 * route, dispatch and service area; a full disk or a stray write can
 * damage it.
 *
 * Invariants: damaged bytes are refused with WG_ERR_FORMAT, or give a
 * graph on which snapping, routes by both algorithms and a service-area
 * search stay inside its arrays (ASan) and answer. (Not that the two
 * algorithms agree: a changed weight in the hierarchy's shortcuts passes
 * every bound check, and a checksum would cost the 400 MB county graph
 * its millisecond load; the file is written atomically by wangge alone.) */
#include "graph.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static wg_ctx *ctx;

static void routes(const wg_graph *g, const char *profile, const double *a, const double *b) {
    wg_router *r = NULL;
    if (wg_router_new(ctx, g, profile, &r) != WG_OK) return;
    for (int k = 0; k < 2; k++) {
        wg_route_opts o = {0, k ? WG_ALGO_DIJKSTRA : WG_ALGO_CH};
        wg_route *rt = NULL;
        if (wg_route_compute(r, a[0], a[1], b[0], b[1], &o, &rt) == WG_OK && rt) {
            if (rt->status == WG_ROUTE_FOUND && !(rt->duration_s >= 0)) abort();
            wg_route_free(rt);
        }
    }
    wg_router_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!ctx && wg_ctx_new(&ctx) != WG_OK) abort();
    if (size > (1u << 20)) return 0;
    void *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    wg_graph *g = NULL;
    wg_status st = wg_graph_from_image(ctx, buf, size, 0, &g); /* takes buf */
    if (st) {
        if (g || st != WG_ERR_FORMAT) abort();
        return 0;
    }
    uint32_t n = g->m.nnodes;
    double a[2] = {0, 0}, b[2] = {0, 0};
    if (n) {
        wg_graph_node(g, 0, &a[0], &a[1]);
        wg_graph_node(g, n - 1, &b[0], &b[1]);
    }
    for (uint32_t p = 0; p < g->m.nprofiles; p++) {
        const char *name = g->prof[p].m->name;
        routes(g, name, a, b);
        double mid[2] = {(a[0] + b[0]) / 2 + 1e-4, (a[1] + b[1]) / 2 - 1e-4};
        routes(g, name, mid, a);
        wg_iso_search is;
        if (wg_iso_search_run(ctx, g, name, (int)(p & 1), 0, a, 1, 600000, &is) == WG_OK) {
            wg_iso_pbuf pb;
            memset(&pb, 0, sizeof pb);
            wg_iso_collect(&is, 600000, 1, &pb);
            wg_iso_pbuf_free(&pb);
        }
        wg_iso_search_free(&is);
    }
    wg_graph_free(g);
    return 0;
}
