/* test_locate.c -- placing points: the ownership chain, nearest within the
 * GPS tolerance, boundaries, dated versions, handset CRSs, and batch files
 * with rejects. Expected answers come from the rectangle layout (metres in
 * EPSG:4549), converted to lon/lat with PROJ independently of the engine's
 * locator. */
#include "testutil.h"

#include "ogrio.h"

#include <proj.h>

static PJ *to_ll;

/* lon/lat of a metre offset from the layout's origin. */
static void ll(wg_ctx *ctx, double dx, double dy, double *lon, double *lat) {
    (void)ctx;
    PJ_COORD c = proj_trans(to_ll, PJ_FWD, proj_coord(T_X0 + dx, T_Y0 + dy, 0, 0));
    *lon = c.xy.x, *lat = c.xy.y;
}

static wg_placement at(wg_ctx *ctx, const wg_locator *loc, double dx, double dy, double tol) {
    double lon, lat;
    wg_placement p;
    ll(ctx, dx, dy, &lon, &lat);
    CHECK(wg_locator_place(loc, lon, lat, tol, &p) == WG_OK);
    return p;
}

static int eq(const char *a, const char *b) { return a && b && !strcmp(a, b); }

/* Byte-for-byte equality of two files. */
static int same_file(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        if (ca != cb) same = 0;
        if (ca == EOF || cb == EOF) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    if (!same) fprintf(stderr, "%s and %s differ\n", a, b);
    return same;
}

static int count_rows(const char *path) {
    GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_VECTOR, NULL, NULL, NULL);
    if (!ds) return -1;
    int n = (int)OGR_L_GetFeatureCount(GDALDatasetGetLayer(ds, 0), 1);
    GDALClose(ds);
    return n;
}

int main(void) {
    wg_ctx *ctx = NULL;
    CHECK(wg_ctx_new(&ctx) == WG_OK);
    PJ *raw = proj_create_crs_to_crs(ctx->proj, "EPSG:4549", "EPSG:4326", NULL);
    to_ll = proj_normalize_for_visualization(ctx->proj, raw);
    proj_destroy(raw);
    wg_ws *ws = fresh_ws(ctx, "locate.sqlite", 4549);
    tu_small_county(ctx, ws, "v1.geojson", 1000, "2024-01-01");
    tu_small_county(ctx, ws, "v2.geojson", 1500, "2025-01-01"); /* G1/G2 boundary moves east */

    wg_locator *loc = NULL;
    CHECK_OK(ctx, wg_locator_build(ws, NULL, &loc));
    if (!loc) TEST_MAIN_END();
    CHECK(wg_locator_memory(loc) > 0);

    /* Inside: the whole chain, micro-grid and both overlapping exclusives. */
    wg_placement p = at(ctx, loc, 450, 450, 30);
    CHECK(p.status == WG_PLACE_INSIDE && p.dist_m == 0);
    CHECK(eq(p.county.code, "320724") && eq(p.town.code, "320724100"));
    CHECK(eq(p.village.code, "320724100201") && eq(p.grid.code, "320724100201001"));
    CHECK(eq(p.grid.name, "G1") && eq(p.county.name, "灌南县"));
    CHECK(eq(p.micro.code, "320724100201001001"));
    CHECK(p.n_excl == 2 && eq(p.excl[0].code, "32072410020100101001") &&
          eq(p.excl[1].code, "32072410020100104001"));
    /* On M1's east edge (x = 500 m) the point belongs east: G1, but no micro-grid. */
    p = at(ctx, loc, 500, 450, 30);
    CHECK(eq(p.grid.code, "320724100201001") && p.micro.code == NULL);
    /* The current version: x = 1200 m is in G1 (boundary at 1500 since 2025). */
    p = at(ctx, loc, 1200, 1000, 30);
    CHECK(eq(p.grid.code, "320724100201001") && p.micro.code == NULL && p.n_excl == 0);
    /* Exactly on the V1/V2 boundary (x = 2000): east side wins, V2 and G3. */
    p = at(ctx, loc, 2000, 1000, 30);
    CHECK(eq(p.village.code, "320724100202") && eq(p.grid.code, "320724100202001"));
    /* 20 m south of the county: nearest within 30 m, chain filled from G3. */
    p = at(ctx, loc, 3000, -20, 30);
    CHECK(p.status == WG_PLACE_NEAREST && eq(p.grid.code, "320724100202001"));
    CHECK_NEAR(p.dist_m, 20.0, 0.05);
    CHECK(eq(p.village.code, "320724100202") && eq(p.county.code, "320724"));
    /* 50 m away: outside the 30 m tolerance, inside a 60 m one. */
    p = at(ctx, loc, 3000, -50, 30);
    CHECK(p.status == WG_PLACE_OUTSIDE && p.grid.code == NULL && p.county.code == NULL);
    p = at(ctx, loc, 3000, -50, 60);
    CHECK(p.status == WG_PLACE_NEAREST);
    CHECK(wg_locator_place(loc, NAN, 34, 30, &p) == WG_ERR_INVALID_ARG);
    CHECK(wg_locator_place(loc, 119, 95, 30, &p) == WG_ERR_INVALID_ARG);
    wg_locator_free(loc);

    /* The 2024 version: x = 1200 m was G2 then. */
    CHECK_OK(ctx, wg_locator_build(ws, "2024-06-30", &loc));
    p = at(ctx, loc, 1200, 1000, 30);
    CHECK(eq(p.grid.code, "320724100201002"));
    wg_locator_free(loc);
    CHECK(wg_locator_build(ws, "2024-13-01", &loc) == WG_ERR_INVALID_ARG);

    /* Handset coordinate systems: a GCJ-02 reading of a point places like
     * the WGS84 point it came from. */
    double lon, lat, glon, glat, blon, blat, back_lon, back_lat;
    ll(ctx, 500, 500, &lon, &lat);
    CHECK_OK(ctx, wg_gcj02_from_wgs84(lon, lat, &glon, &glat));
    CHECK_OK(ctx, wg_to_wgs84(ctx, WG_CRS_GCJ02, 0, glon, glat, &back_lon, &back_lat));
    CHECK_NEAR(back_lon, lon, 1e-8);
    CHECK_NEAR(back_lat, lat, 1e-8);
    CHECK_OK(ctx, wg_bd09_from_gcj02(glon, glat, &blon, &blat));
    CHECK_OK(ctx, wg_to_wgs84(ctx, WG_CRS_BD09, 0, blon, blat, &back_lon, &back_lat));
    CHECK_NEAR(back_lon, lon, 1e-8);
    CHECK_OK(ctx, wg_to_wgs84(ctx, WG_CRS_EPSG, 4549, T_X0 + 500, T_Y0 + 500, &back_lon, &back_lat));
    CHECK_NEAR(back_lon, lon, 1e-9);
    wg_crs_kind kind;
    int epsg;
    CHECK(wg_crs_parse("GCJ02", &kind, &epsg) == WG_OK && kind == WG_CRS_GCJ02);
    CHECK(wg_crs_parse("EPSG:4549", &kind, &epsg) == WG_OK && kind == WG_CRS_EPSG && epsg == 4549);
    CHECK(wg_crs_parse("EPSG:4326", &kind, &epsg) == WG_OK && kind == WG_CRS_WGS84);
    CHECK(wg_crs_parse("mars", &kind, &epsg) == WG_ERR_INVALID_ARG);
    CHECK(wg_crs_parse("EPSG:abc", &kind, &epsg) == WG_ERR_INVALID_ARG);

    /* Batch: good rows placed, bad rows rejected with their line and reason. */
    double l1, a1, l2, a2;
    ll(ctx, 500, 500, &l1, &a1);
    ll(ctx, 3000, -20, &l2, &a2);
    char csv[2048];
    snprintf(csv, sizeof csv,
             "incident_id,lon,lat,crs,category\n"
             "A,%.8f,%.8f,wgs84,治安\n"
             "B,%.8f,%.8f,gcj02,环境\n"
             "C,,34.1,wgs84,x\n"
             "D,abc,34.1,wgs84,x\n"
             "E,%.8f,%.8f,wgs84,swapped\n"
             "F,%.8f,%.8f,wgs84,near\n"
             "G,0,0,wgs84,far\n"
             "H,119.4,34.1,mars,x\n"
             "I,nan,34.1,wgs84,x\n",
             l1, a1, glon, glat, a1, l1, l2, a2);
    const char *in = tpath("in.csv"), *out = tpath("out.csv"), *rej = tpath("rej.csv");
    write_file(in, csv);
    wg_place_opts po;
    memset(&po, 0, sizeof po);
    po.crs_field = "crs";
    po.rejects = rej;
    po.tolerance_m = -1;
    po.store = 1;
    po.threads = 2;
    wg_place_report rep;
    CHECK_OK(ctx, wg_place_file(ws, in, out, &po, &rep));
    CHECK(rep.rows == 9 && rep.rejected == 5 && rep.swapped == 1 && rep.stored == 4);
    CHECK(rep.status[WG_PLACE_INSIDE] == 2 && rep.status[WG_PLACE_NEAREST] == 1 &&
          rep.status[WG_PLACE_OUTSIDE] == 1);
    CHECK(count_rows(out) == 4 && count_rows(rej) == 5);
    GDALDatasetH ds = GDALOpenEx(out, GDAL_OF_VECTOR, NULL, NULL, NULL);
    if (ds) {
        OGRLayerH l = GDALDatasetGetLayer(ds, 0);
        OGRFeatureH f = OGR_L_GetNextFeature(l);
        CHECK(f && !strcmp(OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "wg_grid")),
                           "320724100201001"));
        CHECK(f && !strcmp(OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "wg_excl")),
                           "32072410020100101001;32072410020100104001"));
        CHECK(f && !strcmp(OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "category")), "治安"));
        OGR_F_Destroy(f);
        f = OGR_L_GetNextFeature(l); /* B: the GCJ-02 copy of A */
        CHECK(f && !strcmp(OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "wg_grid")),
                           "320724100201001"));
        OGR_F_Destroy(f);
        GDALClose(ds);
    }
    ds = GDALOpenEx(rej, GDAL_OF_VECTOR, NULL, NULL, NULL);
    if (ds) {
        OGRLayerH l = GDALDatasetGetLayer(ds, 0);
        OGRFeatureH f;
        const char *expect[][2] = {{"4", "missing longitude"},
                                   {"5", "longitude 'abc' is not a number"},
                                   {"6", "look swapped"},
                                   {"9", "unknown CRS 'mars'"},
                                   {"10", "not finite"}};
        int k = 0;
        while ((f = OGR_L_GetNextFeature(l)) != NULL && k < 5) {
            const char *line = OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "wg_line"));
            const char *why = OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "wg_reason"));
            if (strcmp(line, expect[k][0]) || !strstr(why, expect[k][1])) {
                fprintf(stderr, "reject %d: line %s '%s', expected line %s '%s'\n", k, line, why,
                        expect[k][0], expect[k][1]);
                CHECK(0);
            }
            k++;
            OGR_F_Destroy(f);
        }
        CHECK(k == 5);
        GDALClose(ds);
    }
    wg_ws_counts c;
    CHECK_OK(ctx, wg_ws_count(ws, &c));
    CHECK(c.incidents == 4);
    /* Stored in bulk, yet indexed and with SpatiaLite's triggers back in place. */
    sqlite3_stmt *q = NULL;
    CHECK(sqlite3_prepare_v2(ws->db, "SELECT (SELECT count(*) FROM idx_incidents_geom), "
                             "(SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND "
                             "tbl_name = 'incidents')", -1, &q, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(q) == SQLITE_ROW);
    CHECK(sqlite3_column_int(q, 0) == 4 && sqlite3_column_int(q, 1) == 8);
    sqlite3_finalize(q);

    /* The CSV fast path (no --store) writes byte for byte what the OGR path
     * writes, for the placed rows and the rejects, with several threads. */
    po.store = 0;
    po.threads = 3;
    CHECK_OK(ctx, wg_place_file(ws, in, tpath("fast.csv"), &(wg_place_opts){
        .crs_field = "crs", .rejects = tpath("fastrej.csv"), .tolerance_m = -1, .threads = 3}, &rep));
    CHECK(rep.rows == 9 && rep.rejected == 5 && rep.status[WG_PLACE_NEAREST] == 1);
    setenv("WG_PLACE_NO_FASTPATH", "1", 1);
    CHECK_OK(ctx, wg_place_file(ws, in, tpath("slow.csv"), &(wg_place_opts){
        .crs_field = "crs", .rejects = tpath("slowrej.csv"), .tolerance_m = -1, .threads = 3}, &rep));
    unsetenv("WG_PLACE_NO_FASTPATH");
    CHECK(rep.rows == 9 && rep.rejected == 5);
    CHECK(same_file(tpath("fast.csv"), tpath("slow.csv")));
    CHECK(same_file(tpath("fastrej.csv"), tpath("slowrej.csv")));
    /* Rows the fast path copies through whole, and rows it must not: a
     * field with ';' or a tab (quoted on output), a quoted field, CRLF. */
    char csv2[2048];
    snprintf(csv2, sizeof csv2,
             "id,lon,lat,note\n"
             "1,%.8f,%.8f,plain\n"
             "2,%.8f,%.8f,a;b\n"
             "3,%.8f,%.8f,tab\there\r\n"
             "4,%.8f,%.8f,\"Wang, Li\"\n"
             "5,%.8f,%.8f,\n",
             l1, a1, l1, a1, l2, a2, l1, a1, l2, a2);
    write_file(tpath("in2.csv"), csv2);
    CHECK_OK(ctx, wg_place_file(ws, tpath("in2.csv"), tpath("fast2.csv"),
                                &(wg_place_opts){.tolerance_m = -1, .threads = 2}, &rep));
    CHECK(rep.rows == 5 && rep.rejected == 0);
    setenv("WG_PLACE_NO_FASTPATH", "1", 1);
    CHECK_OK(ctx, wg_place_file(ws, tpath("in2.csv"), tpath("slow2.csv"),
                                &(wg_place_opts){.tolerance_m = -1, .threads = 2}, &rep));
    unsetenv("WG_PLACE_NO_FASTPATH");
    CHECK(same_file(tpath("fast2.csv"), tpath("slow2.csv")));
    /* A structurally broken CSV fails the batch with its line, and leaves no output. */
    write_file(tpath("broken.csv"), "lon,lat\n119.4,34.1\n119.4,\"34.1\n");
    CHECK(wg_place_file(ws, tpath("broken.csv"), tpath("b.csv"), &(wg_place_opts){.tolerance_m = -1},
                        &rep) == WG_ERR_FORMAT);
    CHECK(strstr(wg_ctx_errmsg(ctx), "line 3") != NULL);
    CHECK(access(tpath("b.csv"), F_OK) != 0);

    /* A failing batch (unknown output format) writes and stores nothing. */
    unsigned long long before = ws_digest(ws);
    CHECK(wg_place_file(ws, in, tpath("out.xyz"), &po, &rep) == WG_ERR_INVALID_ARG);
    CHECK(ws_digest(ws) == before);
    po.lon_field = "nope";
    po.lat_field = "lat";
    CHECK(wg_place_file(ws, in, tpath("out2.csv"), &po, &rep) == WG_ERR_NOT_FOUND);
    CHECK(access(tpath("out2.csv"), F_OK) != 0 && ws_digest(ws) == before);

    proj_destroy(to_ll);
    wg_ws_close(ws);
    wg_ctx_free(ctx);
    TEST_MAIN_END();
}
