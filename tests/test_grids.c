/* test_grids.c -- importing units: reprojection, areas, spatial parents,
 * versions, encodings, and failures that leave the workspace untouched. */
#include "testutil.h"

#include "units.h"

/* Two villages of four 1 km grids each, under one town and county. */
static void write_clean(const char *path) {
    gj g;
    gj_begin(&g);
    gj_rect(&g, "county", "320724", "灌南县", 0, 0, 4000, 2000);
    gj_rect(&g, "town", "320724100", "新安镇", 0, 0, 4000, 2000);
    gj_rect(&g, "village", "320724100201", "前进村", 0, 0, 2000, 2000);
    gj_rect(&g, "village", "320724100202", "新华村", 2000, 0, 4000, 2000);
    gj_end(&g, path);
}

static void write_grids(const char *path, double shift) {
    gj g;
    gj_begin(&g);
    const char *v[2] = {"320724100201", "320724100202"};
    for (int k = 0; k < 8; k++) {
        char code[32], name[64];
        snprintf(code, sizeof code, "%s%03d", v[k / 4], k % 4 + 1);
        snprintf(name, sizeof name, "第%d网格", k % 4 + 1);
        double x = (k / 4) * 2000 + (k % 2) * 1000, y = (k % 4) < 2 ? 1000 : 0;
        gj_rect(&g, "grid", code, name, x + shift, y, x + 1000 + shift, y + 1000);
    }
    gj_end(&g, path);
}

static const char *parent_of(wg_unitset *s, const char *code) {
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i].code, code)) return s->v[i].parent;
    return "(missing)";
}

int main(void) {
    wg_ctx *ctx = NULL;
    CHECK(wg_ctx_new(&ctx) == WG_OK);
    const char *admin = tpath("admin.geojson"), *grids = tpath("grids.geojson");
    write_clean(admin);
    write_grids(grids, 0);

    /* Metric CRS chosen from the data: 119.5E in China -> CGCS2000 GK CM 120E. */
    wg_ws *ws = fresh_ws(ctx, "grids.sqlite", 0);
    CHECK(wg_ws_metric_epsg(ws) == 0);
    wg_import_opts o = import_opts(-1, "EPSG:4549");
    o.valid_from = "2024-01-01";
    wg_import_report rep;
    CHECK_OK(ctx, wg_grids_import(ws, admin, &o, &rep));
    CHECK(rep.imported == 4 && rep.superseded == 0 && rep.orphans == 0);
    CHECK(rep.metric_epsg == 4549 && wg_ws_metric_epsg(ws) == 4549);

    o = import_opts(WG_LEVEL_GRID, "EPSG:4549");
    o.valid_from = "2024-01-01";
    CHECK_OK(ctx, wg_grids_import(ws, grids, &o, &rep));
    CHECK(rep.imported == 8 && rep.orphans == 0);

    wg_unitset s;
    CHECK_OK(ctx, wg_units_load(ws, WG_LEVELS_ALL, NULL, &s));
    CHECK(s.n == 12);
    /* Areas are computed in the metric CRS: 1 km squares are 1e6 m2 (the
     * round trip 4549 -> 4326 -> 4549 is exact to far below a millimetre). */
    for (size_t i = 0; i < s.n; i++)
        if (s.v[i].level == WG_LEVEL_GRID) CHECK_NEAR(s.v[i].area_m2, 1e6, 1e-3);
    /* Parents found spatially, and from the level field's batch. */
    CHECK_STR(parent_of(&s, "320724100201003"), "320724100201");
    CHECK_STR(parent_of(&s, "320724100202004"), "320724100202");
    CHECK_STR(parent_of(&s, "320724100202"), "320724100");
    CHECK_STR(parent_of(&s, "320724100"), "320724");
    CHECK(parent_of(&s, "320724") == NULL);
    for (size_t i = 0; i < s.n; i++)
        if (!strcmp(s.v[i].code, "320724100")) CHECK_STR(s.v[i].name, "新安镇");
    wg_units_free(ctx, &s);

    /* A new version of the grids: old rows closed, history answerable. */
    write_grids(grids, 10.0);
    o.valid_from = "2025-06-01";
    CHECK_OK(ctx, wg_grids_import(ws, grids, &o, &rep));
    CHECK(rep.imported == 8 && rep.superseded == 8);
    CHECK_OK(ctx, wg_units_load(ws, WG_LEVEL_BIT(WG_LEVEL_GRID), "2024-12-31", &s));
    CHECK(s.n == 8);
    CHECK(s.n && !strcmp(s.v[0].valid_from, "2024-01-01") && s.v[0].valid_to &&
          !strcmp(s.v[0].valid_to, "2025-06-01"));
    wg_units_free(ctx, &s);
    CHECK_OK(ctx, wg_units_load(ws, WG_LEVEL_BIT(WG_LEVEL_GRID), "2025-06-01", &s));
    CHECK(s.n == 8 && s.n && !strcmp(s.v[0].valid_from, "2025-06-01"));
    wg_units_free(ctx, &s);
    CHECK_OK(ctx, wg_units_load(ws, WG_LEVEL_BIT(WG_LEVEL_GRID), "2023-12-31", &s));
    CHECK(s.n == 0);
    wg_units_free(ctx, &s);
    wg_ws_counts counts;
    CHECK_OK(ctx, wg_ws_count(ws, &counts));
    CHECK(counts.units[WG_LEVEL_GRID] == 8 && counts.unit_versions == 20);

    /* A version may not start before the current one. */
    unsigned long long before = ws_digest(ws);
    o.valid_from = "2025-01-01";
    CHECK(wg_grids_import(ws, grids, &o, &rep) == WG_ERR_CONSTRAINT);
    CHECK(strstr(wg_ctx_errmsg(ctx), "2025-06-01") != NULL);
    CHECK(ws_digest(ws) == before);

    /* Failures name the feature and change nothing. */
    struct {
        const char *name, *text, *expect;
        wg_status st;
    } bad[] = {
        {"nocode.geojson",
         "{\"type\":\"FeatureCollection\",\"features\":["
         "{\"type\":\"Feature\",\"properties\":{\"code\":\"A\"},\"geometry\":{\"type\":\"Polygon\","
         "\"coordinates\":[[[119,34],[119.1,34],[119.1,34.1],[119,34]]]}},"
         "{\"type\":\"Feature\",\"properties\":{\"name\":\"x\"},\"geometry\":{\"type\":\"Polygon\","
         "\"coordinates\":[[[119,34],[119.1,34],[119.1,34.1],[119,34]]]}}]}",
         "FID 1 has no code", WG_ERR_FORMAT},
        {"point.geojson",
         "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":"
         "{\"code\":\"P\"},\"geometry\":{\"type\":\"Point\",\"coordinates\":[119,34]}}]}",
         "code P): geometry type is Point", WG_ERR_FORMAT},
        {"empty.geojson", "{\"type\":\"FeatureCollection\",\"features\":[]}", "no features",
         WG_ERR_FORMAT},
        {"huge.geojson",
         "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":"
         "{\"code\":\"H\"},\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[1e300,34],"
         "[119.1,34],[119.1,34.1],[1e300,34]]]}}]}",
         "absurdly large", WG_ERR_FORMAT},
        {"outside.geojson",
         "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":"
         "{\"code\":\"O\"},\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[400,34],"
         "[401,34],[401,35],[400,34]]]}}]}",
         "code O", WG_ERR_FORMAT},
        {"notjson.geojson", "{\"type\":\"FeatureCollection\",\"features\":[", "cannot open",
         WG_ERR_GDAL},
        {"zero.geojson", "", "cannot open", WG_ERR_GDAL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *p = tpath(bad[i].name);
        write_file(p, bad[i].text);
        wg_import_opts b = import_opts(WG_LEVEL_GRID, NULL);
        wg_status st = wg_grids_import(ws, p, &b, &rep);
        CHECK(st == bad[i].st);
        if (!strstr(wg_ctx_errmsg(ctx), bad[i].expect)) {
            fprintf(stderr, "%s: message '%s' lacks '%s'\n", bad[i].name, wg_ctx_errmsg(ctx),
                    bad[i].expect);
            CHECK(0);
        }
        CHECK(ws_digest(ws) == before);
    }
    /* Unknown layer and field are named with what exists. */
    wg_import_opts b = import_opts(WG_LEVEL_GRID, "EPSG:4549");
    b.layer = "nope";
    CHECK(wg_grids_import(ws, grids, &b, &rep) == WG_ERR_NOT_FOUND);
    CHECK(strstr(wg_ctx_errmsg(ctx), "layers:") != NULL);
    b.layer = NULL;
    b.code_field = "grid_no";
    CHECK(wg_grids_import(ws, grids, &b, &rep) == WG_ERR_NOT_FOUND);
    CHECK(strstr(wg_ctx_errmsg(ctx), "fields: level, code, name") != NULL);
    b.code_field = NULL;
    b.s_srs = "EPSG:999999";
    CHECK(wg_grids_import(ws, grids, &b, &rep) == WG_ERR_PROJ);
    b.s_srs = NULL;
    b.valid_from = "2025-02-30";
    CHECK(wg_grids_import(ws, grids, &b, &rep) == WG_ERR_INVALID_ARG);
    CHECK(ws_digest(ws) == before);
    wg_ws_close(ws);

    /* A rollback also forgets a metric CRS chosen by the failed import. */
    ws = fresh_ws(ctx, "grids2.sqlite", 0);
    const char *half = tpath("half.geojson");
    write_file(half, "{\"type\":\"FeatureCollection\",\"features\":["
                     "{\"type\":\"Feature\",\"properties\":{\"code\":\"A\"},\"geometry\":"
                     "{\"type\":\"Polygon\",\"coordinates\":[[[119,34],[119.1,34],[119.1,34.1],"
                     "[119,34]]]}},{\"type\":\"Feature\",\"properties\":{\"code\":\"B\"},"
                     "\"geometry\":null}]}");
    b = import_opts(WG_LEVEL_GRID, NULL);
    before = ws_digest(ws);
    CHECK(wg_grids_import(ws, half, &b, &rep) == WG_ERR_FORMAT);
    CHECK(strstr(wg_ctx_errmsg(ctx), "FID 1 (code B): the geometry is missing") != NULL);
    CHECK(wg_ws_metric_epsg(ws) == 0 && ws_digest(ws) == before);
    wg_ws_close(ws);
    wg_ctx_free(ctx);
    TEST_MAIN_END();
}
