/* fuzz_graph.c -- libFuzzer target for the road graph file WS.graph
 * (wg_graph_from_image, engine/src/graph.c), memory-mapped by every
 * route, dispatch and service area; a full disk or a stray write can
 * damage it.
 *
 * Invariants: damaged bytes are refused with WG_ERR_FORMAT, or give a
 * graph on which snapping, routes by both algorithms and a whole service
 * area (search, pieces, raster, outline) stay inside their arrays and
 * within defined behaviour (ASan, UBSan) and answer. (Not that the two
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
static wg_ws *ws;

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

static int small_frame(const wg_graph *g) {
    double x0 = HUGE_VAL, y0 = HUGE_VAL, x1 = -HUGE_VAL, y1 = -HUGE_VAL;
    const double *pts[2] = {g->node_ll, g->shp_ll};
    size_t cnt[2] = {g->m.nnodes, g->m.npts};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < cnt[k]; i++) {
            double x = pts[k][2 * i], y = pts[k][2 * i + 1];
            if (!isfinite(x) || !isfinite(y)) continue; /* refused by the raster itself */
            x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1, y0 = y < y0 ? y : y0, y1 = y > y1 ? y : y1;
        }
    return x1 - x0 <= 0.5 && y1 - y0 <= 0.5;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* a workspace for the metric CRS of the service areas (EPSG:4549, the
     * seed's Gauss-Kruger zone), in memory */
    if (!ctx && (wg_ctx_new(&ctx) != WG_OK || wg_ws_create(ctx, ":memory:", 4549, &ws) != WG_OK))
        abort();
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
        /* a whole service area: search, pieces, raster, outline, WKB --
         * when the graph's finite coordinates span at most half a degree:
         * a damaged file can spread them over the globe, and a raster of
         * hundreds of millions of cells is legal but not a fuzzer's job */
        if (!small_frame(g)) continue;
        wg_isochrone_opts io;
        memset(&io, 0, sizeof io);
        io.profile = name, io.reverse = (int)(p & 1), io.threads = 1 + (int)(p & 1);
        double minutes = 10;
        wg_isochrone *iso = NULL;
        if (wg_isochrone_compute(ws, g, a, 1, &minutes, 1, &io, &iso) == WG_OK) {
            wg_isochrone_contour c;
            if (wg_isochrone_count(iso) != 1 || wg_isochrone_get(iso, 0, &c) != WG_OK ||
                !(c.area_m2 >= 0))
                abort();
        }
        wg_isochrone_free(iso);
    }
    wg_graph_free(g);
    return 0;
}
