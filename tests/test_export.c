/* test_export.c -- every format GDAL can reopen, in WGS84, with Chinese
 * names intact, and areas unchanged after a round trip through the file. */
#include "testutil.h"

#include "ogrio.h"
#include "units.h"

static void write_units(const char *path) {
    gj g;
    gj_begin(&g);
    gj_rect(&g, "county", "320724", "灌南县", 0, 0, 4000, 2000);
    gj_rect(&g, "town", "320724100", "新安镇", 0, 0, 4000, 2000);
    gj_rect(&g, "village", "320724100201", "前进村", 0, 0, 2000, 2000);
    gj_rect(&g, "village", "320724100202", "新华社区", 2000, 0, 4000, 2000);
    gj_rect(&g, "grid", "320724100201001", "前进村第1网格", 0, 0, 2000, 2000);
    gj_rect(&g, "grid", "320724100202001", "新华社区第1网格", 2000, 0, 4000, 2000);
    gj_end(&g, path);
}

/* Opens `path` with GDAL and checks count, CRS and that `name` occurs. */
static void check_file(const char *path, int expect_count, const char *name) {
    wg_gdal_init();
    GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_VECTOR, NULL, NULL, NULL);
    CHECK(ds != NULL);
    if (!ds) return;
    OGRLayerH l = GDALDatasetGetLayer(ds, 0);
    CHECK(OGR_L_GetFeatureCount(l, 1) == expect_count);
    OGRSpatialReferenceH srs = OGR_L_GetSpatialRef(l);
    CHECK(srs != NULL);
    if (srs) {
        OSRAutoIdentifyEPSG(srs);
        const char *code = OSRGetAuthorityCode(srs, NULL);
        CHECK(code && !strcmp(code, "4326"));
    }
    int found = 0;
    OGRFeatureH f;
    while ((f = OGR_L_GetNextFeature(l)) != NULL) {
        int i = OGR_F_GetFieldIndex(f, "name");
        if (i >= 0 && !strcmp(OGR_F_GetFieldAsString(f, i), name)) found = 1;
        OGR_F_Destroy(f);
    }
    if (!found) fprintf(stderr, "%s: name %s not found\n", path, name);
    CHECK(found);
    GDALClose(ds);
}

static double total_area(wg_ctx *ctx, wg_ws *ws, unsigned mask) {
    wg_unitset s;
    double a = 0;
    CHECK_OK(ctx, wg_units_load(ws, mask, NULL, &s));
    for (size_t i = 0; i < s.n; i++) a += s.v[i].area_m2;
    wg_units_free(ctx, &s);
    return a;
}

int main(void) {
    wg_ctx *ctx = NULL;
    CHECK(wg_ctx_new(&ctx) == WG_OK);
    wg_ws *ws = fresh_ws(ctx, "export.sqlite", 4549);
    const char *src = tpath("units.geojson");
    write_units(src);
    wg_import_opts o = import_opts(-1, "EPSG:4549");
    CHECK_OK(ctx, wg_grids_import(ws, src, &o, NULL));
    double admin_area = total_area(ctx, ws, WG_LEVEL_BIT(WG_LEVEL_COUNTY) |
                                                WG_LEVEL_BIT(WG_LEVEL_TOWN) |
                                                WG_LEVEL_BIT(WG_LEVEL_VILLAGE));
    CHECK_NEAR(admin_area, 24e6, 1e-3); /* county + town + 2 villages: 8 + 8 + 2 x 4 km2 */

    const char *exts[] = {"geojson", "shp", "gpkg", "fgb"};
    for (size_t e = 0; e < 4; e++) {
        char name[64];
        snprintf(name, sizeof name, "admin.%s", exts[e]);
        const char *out = tpath(name);
        int64_t n = 0;
        CHECK_OK(ctx, wg_export_layer(ws, WG_LAYER_ADMIN, out, NULL, &n));
        CHECK(n == 4);
        check_file(out, 4, "新华社区");
        if (!strcmp(exts[e], "shp")) {
            char cpg[1100];
            snprintf(cpg, sizeof cpg, "%.*s.cpg", (int)(strlen(out) - 4), out);
            FILE *f = fopen(cpg, "r");
            char buf[16] = "";
            CHECK(f != NULL);
            if (f) {
                CHECK(fgets(buf, sizeof buf, f) != NULL);
                fclose(f);
            }
            CHECK(strncmp(buf, "UTF-8", 5) == 0);
        }
        /* Round trip: the file imports back with the same areas and parents
         * (GeoJSON keeps 9 decimals of a degree, 0.1 mm: within 1 m2 of 24 km2). */
        wg_ws *back = fresh_ws(ctx, "back.sqlite", 4549);
        wg_import_opts bo = import_opts(-1, NULL);
        bo.parent_field = "parent";
        CHECK_OK(ctx, wg_grids_import(back, out, &bo, NULL));
        CHECK_NEAR(total_area(ctx, back, WG_LEVELS_ALL), admin_area, e == 0 ? 1.0 : 1e-3);
        wg_ws_close(back);
    }

    /* Grids and their versions: export at a date before the import is empty. */
    int64_t n = -1;
    CHECK_OK(ctx, wg_export_layer(ws, WG_LAYER_GRIDS, tpath("grids.gpkg"), "2000-01-01", &n));
    CHECK(n == 0);

    /* Failures leave nothing behind. */
    CHECK(wg_export_layer(ws, WG_LAYER_GRIDS, tpath("grids.xyz"), NULL, &n) == WG_ERR_INVALID_ARG);
    CHECK(strstr(wg_ctx_errmsg(ctx), ".xyz") != NULL);
    CHECK(wg_export_layer(ws, WG_LAYER_GRIDS, "/nonexistent-dir/g.geojson", NULL, &n) ==
          WG_ERR_IO);
    CHECK(access("/nonexistent-dir/g.geojson", F_OK) != 0);
    CHECK(wg_export_layer(ws, WG_LAYER_GRIDS, tpath("g.geojson"), "yesterday", &n) ==
          WG_ERR_INVALID_ARG);
    CHECK(access(tpath("g.geojson"), F_OK) != 0);

    wg_layer lay;
    CHECK(wg_layer_parse("officers", &lay) == WG_OK && lay == WG_LAYER_OFFICERS);
    CHECK(wg_layer_parse("roads", &lay) == WG_ERR_INVALID_ARG);
    wg_ws_close(ws);
    wg_ctx_free(ctx);
    TEST_MAIN_END();
}
