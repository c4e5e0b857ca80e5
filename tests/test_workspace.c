/* test_workspace.c -- creating, reopening and refusing workspaces; the
 * metric CRS is usable from SQL. */
#include "testutil.h"

int main(void) {
    wg_ctx *ctx = NULL;
    CHECK(wg_ctx_new(&ctx) == WG_OK);
    const char *p = tpath("ws.sqlite");
    unlink(p);
    wg_ws *ws = NULL;

    /* A geographic CRS cannot be the metric CRS. */
    CHECK(wg_ws_create(ctx, p, 4326, &ws) == WG_ERR_PROJ);
    CHECK(strstr(wg_ctx_errmsg(ctx), "not a projected CRS") != NULL);
    CHECK(access(p, F_OK) != 0); /* nothing left behind */

    CHECK_OK(ctx, wg_ws_create(ctx, p, 4549, &ws));
    CHECK(wg_ws_metric_epsg(ws) == 4549);
    wg_ws_close(ws);
    ws = NULL;

    /* Never overwrite an existing file. */
    CHECK(wg_ws_create(ctx, p, 0, &ws) == WG_ERR_INVALID_ARG);
    CHECK(strstr(wg_ctx_errmsg(ctx), "already exists") != NULL);

    CHECK_OK(ctx, wg_ws_open(ctx, p, 0, &ws));
    CHECK(wg_ws_metric_epsg(ws) == 4549);
    wg_ws_counts c;
    CHECK_OK(ctx, wg_ws_count(ws, &c));
    CHECK(c.units[WG_LEVEL_GRID] == 0 && c.officers == 0 && c.unit_versions == 0);

    /* SpatiaLite can transform stored WGS84 geometry to the metric CRS: a
     * point at the central meridian has easting 500000 m. */
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_prepare_v2(ws->db,
                             "SELECT X(ST_Transform(MakePoint(120.0, 34.0, 4326), 4549))", -1,
                             &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK_NEAR(sqlite3_column_double(st, 0), 500000.0, 1e-6);
    sqlite3_finalize(st);

    /* The engine's own transform agrees. */
    GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(ctx->geos, 120.0, 34.0);
    GEOSGeometry *m = wg_ws_to_metric(ws, pt);
    double x = 0, y = 0;
    CHECK(m != NULL);
    if (m) {
        GEOSGeomGetX_r(ctx->geos, m, &x);
        GEOSGeomGetY_r(ctx->geos, m, &y);
        GEOSGeom_destroy_r(ctx->geos, m);
    }
    CHECK_NEAR(x, 500000.0, 1e-6);
    CHECK(y > 3.7e6 && y < 3.8e6);
    GEOSGeom_destroy_r(ctx->geos, pt);
    wg_ws_close(ws);

    /* A file that is not a workspace, and a missing one. */
    const char *junk = tpath("junk.sqlite");
    write_file(junk, "this is not sqlite");
    ws = NULL;
    CHECK(wg_ws_open(ctx, junk, 1, &ws) != WG_OK && ws == NULL);
    CHECK(wg_ws_open(ctx, tpath("missing.sqlite"), 1, &ws) == WG_ERR_NOT_FOUND);
    CHECK(strstr(wg_ctx_errmsg(ctx), "missing.sqlite") != NULL);

    /* Dates. */
    CHECK(wg_date_valid("2024-02-29") && !wg_date_valid("2023-02-29"));
    CHECK(!wg_date_valid("2024-13-01") && !wg_date_valid("2024-1-01") && !wg_date_valid(NULL));

    /* Level names round-trip. */
    for (int l = 0; l < WG_LEVEL_COUNT; l++) {
        wg_level back;
        CHECK(wg_level_parse(wg_level_name((wg_level)l), &back) == WG_OK && (int)back == l);
    }
    wg_level lv;
    CHECK(wg_level_parse("province", &lv) == WG_ERR_INVALID_ARG);

    /* A read-only use leaves no -wal/-shm behind when it was the last one,
     * and leaves them to a read-write user still open. */
    {
        char wal[600], shm[600];
        snprintf(wal, sizeof wal, "%s-wal", p);
        snprintf(shm, sizeof shm, "%s-shm", p);
        wg_ws *ro = NULL, *rw = NULL;
        CHECK_OK(ctx, wg_ws_open(ctx, p, 1, &ro));
        wg_ws_counts cc;
        CHECK_OK(ctx, wg_ws_count(ro, &cc));
        CHECK(access(shm, F_OK) == 0); /* reading made them */
        wg_ws_close(ro);
        CHECK(access(wal, F_OK) != 0 && access(shm, F_OK) != 0);
        CHECK_OK(ctx, wg_ws_open(ctx, p, 0, &rw));
        CHECK_OK(ctx, wg_ws_count(rw, &cc));
        CHECK_OK(ctx, wg_ws_open(ctx, p, 1, &ro));
        CHECK_OK(ctx, wg_ws_count(ro, &cc));
        wg_ws_close(ro);
        CHECK(access(shm, F_OK) == 0); /* still the writer's */
        CHECK_OK(ctx, wg_ws_count(rw, &cc));
        wg_ws_close(rw);
        CHECK(access(wal, F_OK) != 0 && access(shm, F_OK) != 0);
    }
    wg_ctx_free(ctx);
    TEST_MAIN_END();
}
