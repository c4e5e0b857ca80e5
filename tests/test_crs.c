/* test_crs.c -- GCJ-02 / BD-09 conversions and the metric CRS choice.
 *
 * Oracles: check pairs published by other, independent implementations of
 * the same public formulas (sources beside each table), the round trip of
 * our own inverses against our forwards, and PROJ for the zone choice. */
#include "wangge/wangge.h"
#include "coords.h"
#include "test.h"

#include <proj.h>

/* Metres per degree of latitude (mean); good enough to state mm errors. */
#define M_PER_DEG 111320.0
#define DEG_TO_RAD (3.14159265358979323846 / 180.0)

/* Ground distance in metres of a small (dlon, dlat) step at latitude lat. */
static double metres(double dlon, double dlat, double lat) {
    double x = dlon * M_PER_DEG * cos(lat * DEG_TO_RAD);
    double y = dlat * M_PER_DEG;
    return sqrt(x * x + y * y);
}

typedef struct pair {
    double lon, lat;   /* input */
    double elon, elat; /* expected output */
    double tol;        /* degrees: what the source's printed precision allows */
    const char *source;
} pair;

/* WGS84 -> GCJ-02. */
static const pair wgs_to_gcj[] = {
    /* wandergis/coordtransform README (npm "coordtransform"), full doubles. */
    {116.404, 39.915, 116.41024449916938, 39.91640428150164, 1e-9, "coordtransform README"},
    /* npm "wgs2mars" 2.0.0 test/test.js, full doubles (Fuzhou). */
    {119.3122312, 26.0240049, 119.31705425869873, 26.02096344048847, 1e-9, "wgs2mars test.js"},
    /* Tiananmen Square, madlogos/asesgeo tests/testthat/test_tranform_coord.R
     * (8 decimals). */
    {116.39089, 39.90734, 116.39713094, 39.90874107, 1e-8, "asesgeo test, Tiananmen"},
    /* Beijing railway station, CRAN leafletZH tests/testthat/test-cppFun.R
     * (6 decimals). */
    {116.42079, 39.90105, 116.427022, 39.902446, 1e-6, "leafletZH test, Beijing station"},
    /* Same station, CRAN geoChina ?wgs2gcj example (5 decimals, and its
     * longitude is off by one in the last digit: allow 1e-5). */
    {116.42079, 39.90105, 116.42703, 39.90245, 1e-5, "geoChina wgs2gcj example"},
};

/* GCJ-02 -> WGS84. The source uses an iterative inverse too. */
static const pair gcj_to_wgs[] = {
    /* madlogos/asesgeo tests/testthat/test_tranform_coord.R, Tiananmen. */
    {116.397131, 39.908746, 116.39089006, 39.90734493, 1e-8, "asesgeo test, Tiananmen"},
    /* coordtransform README: a one-step inverse, off by a few centimetres;
     * agreeing to 1e-6 degree confirms direction and magnitude. */
    {116.404, 39.915, 116.39775550083061, 39.91359571849836, 1e-6, "coordtransform README"},
};

/* GCJ-02 -> BD-09. */
static const pair gcj_to_bd[] = {
    {116.404, 39.915, 116.41036949371029, 39.92133699351021, 1e-9, "coordtransform README"},
    /* CRAN geoChina ?bd2gcj example, Beijing railway station (5 decimals). */
    {116.42703, 39.90245, 116.43351, 39.90851, 1e-5, "geoChina bd2gcj example"},
};

/* BD-09 -> GCJ-02. The coordtransform value is Baidu's one-step inverse,
 * off by about 2e-7 degree; geoChina's is the reverse of the pair above. */
static const pair bd_to_gcj[] = {
    {116.404, 39.915, 116.39762729119315, 39.90865673957631, 1e-6, "coordtransform README"},
    {116.43351, 39.90851, 116.42703, 39.90245, 1e-5, "geoChina bd2gcj example"},
};

typedef wg_status (*convert_fn)(double, double, double *, double *);

static void check_pairs(const char *what, convert_fn fn, const pair *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        double lon = 0, lat = 0;
        CHECK(fn(p[i].lon, p[i].lat, &lon, &lat) == WG_OK);
        if (fabs(lon - p[i].elon) > p[i].tol || fabs(lat - p[i].elat) > p[i].tol)
            fprintf(stderr, "%s #%zu (%s): got %.12f %.12f\n", what, i, p[i].source, lon, lat);
        CHECK_NEAR(lon, p[i].elon, p[i].tol);
        CHECK_NEAR(lat, p[i].elat, p[i].tol);
    }
}

/* WGS84 -> GCJ-02 -> WGS84 and GCJ-02 -> BD-09 -> GCJ-02 over China's box,
 * every 0.1 degree: the worst error must stay under 1 mm. */
static void test_round_trips(void) {
    double worst_gcj = 0, worst_bd = 0, worst_fwd = 0;
    long n = 0, failures = 0;
    for (double lat = 0.85; lat <= 55.8; lat += 0.1) {
        for (double lon = 72.05; lon <= 137.8; lon += 0.1) {
            double g_lon, g_lat, w_lon, w_lat, b_lon, b_lat, c_lon, c_lat;
            if (wg_gcj02_from_wgs84(lon, lat, &g_lon, &g_lat) != WG_OK ||
                wg_wgs84_from_gcj02(g_lon, g_lat, &w_lon, &w_lat) != WG_OK ||
                wg_bd09_from_gcj02(g_lon, g_lat, &b_lon, &b_lat) != WG_OK ||
                wg_gcj02_from_bd09(b_lon, b_lat, &c_lon, &c_lat) != WG_OK) {
                failures++;
                continue;
            }
            double e = metres(w_lon - lon, w_lat - lat, lat);
            if (e > worst_gcj) worst_gcj = e;
            e = metres(c_lon - g_lon, c_lat - g_lat, g_lat);
            if (e > worst_bd) worst_bd = e;
            /* The offset really is applied (GCJ-02 moves points by tens to
             * hundreds of metres, never by more than a kilometre). */
            e = metres(g_lon - lon, g_lat - lat, lat);
            if (e > worst_fwd) worst_fwd = e;
            if (e < 1.0) failures++;
            n++;
        }
    }
    fprintf(stderr, "round trips over %ld points: WGS-GCJ-WGS worst %.3g m, "
                    "GCJ-BD-GCJ worst %.3g m, largest GCJ offset %.0f m\n",
            n, worst_gcj, worst_bd, worst_fwd);
    CHECK(n > 300000);
    CHECK(failures == 0);
    CHECK(worst_gcj < 0.001);
    CHECK(worst_bd < 0.001);
    CHECK(worst_fwd < 1000.0);
}

/* The 105E meridian, where the offset has a sqrt(|lon - 105|) kink, and the
 * box's edges. */
static void test_awkward_places(void) {
    const double pts[][2] = {
        {105.0, 35.0},      {105.0 + 1e-9, 30.0}, {105.0 - 1e-12, 40.0},
        {72.004, 39.0},     {137.8347, 45.0},     {120.0, 0.8293},
        {100.0, 55.8271},   {137.83, 55.82},      {72.01, 0.84},
    };
    for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) {
        double g_lon, g_lat, w_lon, w_lat;
        CHECK(wg_gcj02_from_wgs84(pts[i][0], pts[i][1], &g_lon, &g_lat) == WG_OK);
        CHECK(wg_wgs84_from_gcj02(g_lon, g_lat, &w_lon, &w_lat) == WG_OK);
        double e = metres(w_lon - pts[i][0], w_lat - pts[i][1], pts[i][1]);
        if (!(e < 0.001)) fprintf(stderr, "awkward #%zu: error %g m\n", i, e);
        CHECK(e < 0.001);
    }
}

/* Outside the box GCJ-02 is the identity, both ways. BD-09 is not: it is a
 * formula on GCJ-02 values wherever applied. */
static void test_outside_china(void) {
    const double pts[][2] = {
        {-87.6298, 41.8781},  /* Chicago */
        {151.2093, -33.8688}, /* Sydney */
        {139.6917, 35.6895},  /* Tokyo: east of the box */
        {2.3522, 48.8566},    /* Paris */
        {0.0, 0.0},           {180.0, 90.0}, {-180.0, -90.0},
        {72.0, 39.0},         /* just west of the box */
        {120.0, 0.8},         /* just south of it */
    };
    for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) {
        double lon = -1, lat = -1;
        CHECK(wg_gcj02_from_wgs84(pts[i][0], pts[i][1], &lon, &lat) == WG_OK);
        CHECK(lon == pts[i][0] && lat == pts[i][1]);
        lon = lat = -1;
        CHECK(wg_wgs84_from_gcj02(pts[i][0], pts[i][1], &lon, &lat) == WG_OK);
        CHECK(lon == pts[i][0] && lat == pts[i][1]);
    }
}

static void test_invalid_input(void) {
    const double bad[][2] = {
        {NAN, 39.0}, {116.0, NAN}, {INFINITY, 39.0}, {116.0, -INFINITY},
        {180.5, 0.0}, {-181.0, 0.0}, {0.0, 90.0001}, {0.0, -91.0},
    };
    convert_fn fns[] = {wg_gcj02_from_wgs84, wg_wgs84_from_gcj02, wg_bd09_from_gcj02,
                        wg_gcj02_from_bd09};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (size_t f = 0; f < sizeof fns / sizeof fns[0]; f++) {
            double lon = 7, lat = 8;
            CHECK(fns[f](bad[i][0], bad[i][1], &lon, &lat) == WG_ERR_INVALID_ARG);
            CHECK(lon == 7 && lat == 8); /* untouched on failure */
        }
        CHECK(wg_crs_metric_epsg(bad[i][0], bad[i][1]) == 0);
    }
}

static void test_metric_epsg(void) {
    CHECK(wg_crs_metric_epsg(119.5, 34.2) == 4549);    /* Guannan, CM 120E */
    CHECK(wg_crs_metric_epsg(116.4, 39.9) == 4548);    /* Beijing, CM 117E */
    CHECK(wg_crs_metric_epsg(87.6, 43.8) == 4538);     /* Urumqi, CM 87E */
    CHECK(wg_crs_metric_epsg(121.47, 31.23) == 4549);  /* Shanghai, CM 120E */
    CHECK(wg_crs_metric_epsg(121.6, 31.23) == 4550);   /* Pudong east, CM 123E */
    CHECK(wg_crs_metric_epsg(113.26, 23.13) == 4547);  /* Guangzhou, CM 114E */
    CHECK(wg_crs_metric_epsg(73.0, 39.0) == 4534);     /* clamped to CM 75E */
    CHECK(wg_crs_metric_epsg(137.5, 45.0) == 4554);    /* clamped to CM 135E */
    CHECK(wg_crs_metric_epsg(-87.63, 41.88) == 32616); /* Chicago */
    CHECK(wg_crs_metric_epsg(151.21, -33.87) == 32756); /* Sydney */
    CHECK(wg_crs_metric_epsg(2.35, 48.86) == 32631);   /* Paris */
    CHECK(wg_crs_metric_epsg(-180.0, 10.0) == 32601);
    CHECK(wg_crs_metric_epsg(180.0, -10.0) == 32760);
    CHECK(wg_crs_metric_epsg(0.0, 0.0) == 32631);
    CHECK(wg_crs_metric_epsg(NAN, 34.0) == 0);
}

/* PROJ, as the oracle for the zone choice: a point on the chosen zone's
 * central meridian projects to the false easting, 500000 m; one 0.5 degree
 * off it lands about 46 km away at 34N. */
static void check_with_proj(PJ_CONTEXT *pc, double lon, double lat, double expect_e) {
    int epsg = wg_crs_metric_epsg(lon, lat);
    char target[32];
    snprintf(target, sizeof target, "EPSG:%d", epsg);
    PJ *raw = proj_create_crs_to_crs(pc, "EPSG:4326", target, NULL);
    CHECK(raw != NULL);
    if (!raw) return;
    PJ *p = proj_normalize_for_visualization(pc, raw);
    proj_destroy(raw);
    CHECK(p != NULL);
    if (!p) return;
    PJ_COORD c = proj_coord(lon, lat, 0, 0);
    PJ_COORD r = proj_trans(p, PJ_FWD, c);
    proj_destroy(p);
    CHECK(isfinite(r.xy.x) && isfinite(r.xy.y));
    if (fabs(r.xy.x - expect_e) > 1000.0)
        fprintf(stderr, "%s: easting %.1f, expected about %.1f\n", target, r.xy.x, expect_e);
    CHECK_NEAR(r.xy.x, expect_e, 1000.0);
    /* Northing: no false northing in either family north of the equator. */
    if (lat > 0) CHECK_NEAR(r.xy.y, lat * M_PER_DEG, 0.01 * lat * M_PER_DEG);
}

static void test_proj_oracle(void) {
    PJ_CONTEXT *pc = proj_context_create();
    CHECK(pc != NULL);
    if (!pc) return;
    proj_log_level(pc, PJ_LOG_NONE);
    check_with_proj(pc, 120.0, 34.2, 500000.0);  /* EPSG:4549 on its CM */
    check_with_proj(pc, 87.0, 43.8, 500000.0);   /* EPSG:4538 on its CM */
    check_with_proj(pc, -87.0, 41.88, 500000.0); /* EPSG:32616 on its CM */
    /* Guannan, 0.5 degree west of CM 120E: 0.5 * 111.32 km * cos(34.2). */
    check_with_proj(pc, 119.5, 34.2, 500000.0 - 0.5 * M_PER_DEG * cos(34.2 * DEG_TO_RAD));
    proj_context_destroy(pc);
}

/* Coordinates as text: the plain-decimal fast path must give strtod's
 * double, bit for bit, on decimals of every length around its limits
 * (15 significant digits, 22 after the point), and defer to strtod for the
 * rest (exponents, spaces, signs, hex). */
static void test_number_parsing(void) {
    wg_ctx *ctx = NULL;
    CHECK_OK(ctx, wg_ctx_new(&ctx));
    if (!ctx) return;
    wg_coord_cache cache;
    memset(&cache, 0, sizeof cache);
    uint64_t seed = 12345;
    int bad = 0, n = 0;
    char sx[64], sy[64];
    for (int i = 0; i < 200000; i++) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        int ip = (int)(seed % 180), nd = (int)((seed >> 8) % 25), neg = (int)((seed >> 13) & 1);
        uint64_t frac = seed >> 16;
        /* nd fraction digits of a random 48-bit number, zero-padded */
        char digits[32];
        snprintf(digits, sizeof digits, "%024llu", (unsigned long long)(frac % 1000000000000000ull) * 1000000000ull);
        snprintf(sx, sizeof sx, "%s%d%s%.*s", neg ? "-" : "", ip, nd ? "." : "", nd, digits);
        snprintf(sy, sizeof sy, "%d.%.*s", ip % 90, nd, digits + (seed >> 40) % 8);
        wg_coord_result r;
        wg_coords_from_text(ctx, &cache, sx, sy, NULL, WG_CRS_WGS84, 0, &r);
        double x = strtod(sx, NULL), y = strtod(sy, NULL);
        n++;
        if (!r.ok || memcmp(&x, &r.lon, sizeof x) != 0 || memcmp(&y, &r.lat, sizeof y) != 0) {
            if (bad++ < 5) fprintf(stderr, "parse '%s' '%s': got %.17g %.17g want %.17g %.17g\n", sx, sy,
                                   r.lon, r.lat, x, y);
        }
    }
    CHECK(bad == 0);
    fprintf(stderr, "number parsing: %d pairs equal strtod's\n", n);
    static const char *const odd[][2] = {{"1.5e1", "2"}, {" 119.5", "34.25 "}, {"+119.5", "+0"},
                                         {"-0", "-0.0"}, {"119.", ".5"}, {"0x10", "1"},
                                         {"119.33445300000000000000000001", "34.1"},
                                         {"0000000000000000000119.5", "34.000"}};
    for (size_t k = 0; k < sizeof odd / sizeof *odd; k++) {
        wg_coord_result r;
        wg_coords_from_text(ctx, &cache, odd[k][0], odd[k][1], NULL, WG_CRS_WGS84, 0, &r);
        double x = strtod(odd[k][0], NULL), y = strtod(odd[k][1], NULL);
        CHECK(r.ok);
        CHECK(memcmp(&x, &r.lon, sizeof x) == 0 && memcmp(&y, &r.lat, sizeof y) == 0);
    }
    wg_coord_cache_free(&cache);
    wg_ctx_free(ctx);
}

int main(void) {
    test_number_parsing();
    check_pairs("wgs->gcj", wg_gcj02_from_wgs84, wgs_to_gcj, sizeof wgs_to_gcj / sizeof *wgs_to_gcj);
    check_pairs("gcj->wgs", wg_wgs84_from_gcj02, gcj_to_wgs, sizeof gcj_to_wgs / sizeof *gcj_to_wgs);
    check_pairs("gcj->bd", wg_bd09_from_gcj02, gcj_to_bd, sizeof gcj_to_bd / sizeof *gcj_to_bd);
    check_pairs("bd->gcj", wg_gcj02_from_bd09, bd_to_gcj, sizeof bd_to_gcj / sizeof *bd_to_gcj);
    test_round_trips();
    test_awkward_places();
    test_outside_china();
    test_invalid_input();
    test_metric_epsg();
    test_proj_oracle();
    TEST_MAIN_END();
}
