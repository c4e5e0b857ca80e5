/* test_gridxf.c -- the interpolated CRS transformation (gridxf.c) against
 * PROJ itself (wg_ws_metric_xy) on random points: Gauss-Kruger (EPSG:4549)
 * to lon/lat over a 45 km square and back over its lon/lat box, within
 * 1e-10 degrees and 1e-5 m; a point outside the rectangle still gets
 * PROJ's answer; too few points for a lattice means PROJ for every one;
 * and the same point gives the same answer wherever it comes in a batch
 * (contours sharing corners must keep sharing them). */
#include "testutil.h"

#include "gridxf.h"

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static double uni(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

#define N 20000

static double worst(wg_ws *ws, int inverse, const wg_gridxf *g, double x0, double y0, double x1,
                    double y1) {
    static double a[2 * N], b[2 * N];
    for (int i = 0; i < N; i++) {
        a[2 * i] = b[2 * i] = x0 + uni() * (x1 - x0);
        a[2 * i + 1] = b[2 * i + 1] = y0 + uni() * (y1 - y0);
    }
    CHECK(wg_gridxf_apply(g, a, N) == WG_OK);
    CHECK(wg_ws_metric_xy(ws, inverse, b, N) == WG_OK);
    double w = 0;
    for (int i = 0; i < 2 * N; i++)
        if (!(fabs(a[i] - b[i]) <= w)) w = fabs(a[i] - b[i]);
    return w;
}

int main(void) {
    wg_ctx *C = NULL;
    if (wg_ctx_new(&C) != WG_OK) return 2;
    wg_ws *ws = fresh_ws(C, "gridxf.sqlite", 4549);

    /* metric -> lon/lat over 45 km */
    double x0 = T_X0 - 20000, y0 = T_Y0 - 25000, x1 = T_X0 + 25000, y1 = T_Y0 + 20000;
    wg_gridxf g;
    CHECK_OK(C, wg_gridxf_make(ws, 1, x0, y0, x1, y1, 500, 1000000, &g));
    CHECK(!g.exact && g.nx >= 90 && g.ny >= 90);
    double e = worst(ws, 1, &g, x0, y0, x1, y1);
    fprintf(stderr, "metric -> lon/lat: worst %.3g degrees\n", e);
    CHECK(e <= 1e-10);
    {
        /* the same corner alone and inside a batch: bit-identical */
        double one[2] = {x0 + 1234.5, y0 + 678.0}, many[6] = {x0, y0, x0 + 1234.5, y0 + 678.0, x1, y1};
        CHECK(wg_gridxf_apply(&g, one, 1) == WG_OK && wg_gridxf_apply(&g, many, 3) == WG_OK);
        CHECK(one[0] == many[2] && one[1] == many[3]);
        /* a point outside the rectangle: PROJ's own answer, for the whole batch */
        double out[4] = {x1 + 5000, y1 + 5000, x0 + 100, y0 + 100}, ex[4];
        memcpy(ex, out, sizeof ex);
        CHECK(wg_gridxf_apply(&g, out, 2) == WG_OK && wg_ws_metric_xy(ws, 1, ex, 2) == WG_OK);
        CHECK(out[0] == ex[0] && out[1] == ex[1] && out[2] == ex[2] && out[3] == ex[3]);
    }
    wg_gridxf_free(&g);

    /* lon/lat -> metric over the same area's box */
    double ll[4] = {x0, y0, x1, y1};
    CHECK_OK(C, wg_ws_metric_xy(ws, 1, ll, 2));
    CHECK_OK(C, wg_gridxf_make(ws, 0, ll[0], ll[1], ll[2], ll[3], 500 / 111320.0, 1000000, &g));
    CHECK(!g.exact);
    e = worst(ws, 0, &g, ll[0], ll[1], ll[2], ll[3]);
    fprintf(stderr, "lon/lat -> metric: worst %.3g m\n", e);
    CHECK(e <= 1e-5);
    wg_gridxf_free(&g);

    /* few points: no lattice, PROJ on each */
    CHECK_OK(C, wg_gridxf_make(ws, 1, x0, y0, x1, y1, 500, 100, &g));
    CHECK(g.exact && worst(ws, 1, &g, x0, y0, x1, y1) == 0);
    wg_gridxf_free(&g);

    wg_ws_close(ws);
    wg_ctx_free(C);
    TEST_MAIN_END();
}
