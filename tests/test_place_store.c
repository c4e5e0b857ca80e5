/* test_place_store.c -- place --store through the CSV fast path stores
 * exactly what the OGR path stores: the same incidents (every column, the
 * geometry and the spatial index), the same 'import' history events, the
 * same refusals, into an empty workspace and into one that already holds
 * incidents. The two paths run on two workspaces built alike and are
 * compared with SQL over both; the expected counts come from the rows the
 * test wrote. */
#include "testutil.h"

#include <proj.h>

/* Every column of incidents, the geometry as hex. */
#define INC_ALL                                                                              \
    "id, ext_id, reported_at, category, description, src_crs, grid_code, micro_code, "       \
    "excl_codes, village_code, town_code, county_code, status, place_status, dist_m, "       \
    "reporter, received_at, level, deadline, hex(geom), assignee, accepted_at, closed_at, "  \
    "satisfaction, level_since, deadline_clock, dispatch_deadline"

static long long one_int(wg_ws *ws, const char *sql) {
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_prepare_v2(ws->db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else
        fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(ws->db));
    sqlite3_finalize(st);
    return v;
}

/* Rows of `a` missing from `b` and the other way, for one table's query. */
static long long differ(wg_ws *ws, const char *cols, const char *table) {
    char sql[2048];
    snprintf(sql, sizeof sql,
             "SELECT (SELECT count(*) FROM (SELECT %s FROM main.%s EXCEPT SELECT %s FROM o.%s)) + "
             "(SELECT count(*) FROM (SELECT %s FROM o.%s EXCEPT SELECT %s FROM main.%s))",
             cols, table, cols, table, cols, table, cols, table);
    return one_int(ws, sql);
}

static int64_t good_rows; /* rows the test expects stored by one batch */

/* A batch of n history rows around the small county: inside, on the GPS
 * tolerance, outside, unusable coordinates; empty ids, categories, times
 * and CRSs; every status, closing times and satisfactions; descriptions
 * that need quoting (one over two lines). `bad` > 0 puts a refused status
 * on that data row. */
static void write_batch(PJ *to_ll, const char *path, int n, int bad, int seed) {
    static const char *const st[] = {"reported", "accepted", "assigned", "handled", "verified",
                                     "closed",   ""};
    static const char *const cats[] = {"治安", "环境", "", "违章建筑"};
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    fprintf(f, "incident_id,lon,lat,crs,reported_at,category,description,status,closed_at,"
               "satisfaction\n");
    good_rows = 0;
    for (int i = 0; i < n; i++) {
        int k = i * 7 + seed;
        /* x over -100..4100 m, y over -50..2050 m: some outside, some near. */
        double dx = (double)((k * 37) % 4200) - 100, dy = (double)((k * 53) % 2100) - 50;
        PJ_COORD c = proj_trans(to_ll, PJ_FWD, proj_coord(T_X0 + dx, T_Y0 + dy, 0, 0));
        char lon[32], lat[32];
        snprintf(lon, sizeof lon, "%.8f", c.xy.x);
        snprintf(lat, sizeof lat, "%.8f", c.xy.y);
        if (i % 29 == 3) snprintf(lon, sizeof lon, "abc");
        if (i % 31 == 4) lat[0] = '\0';
        good_rows += i % 29 != 3 && i % 31 != 4;
        const char *status = i + 1 == bad ? "lost" : st[i % 7];
        char when[40] = "", closed[40] = "", sat[4] = "";
        if (i % 19 != 5)
            snprintf(when, sizeof when, "2025-%02d-%02dT%02d:%02d:00+08:00", 1 + i % 12,
                     1 + i % 28, i % 24, i % 60);
        if (!strcmp(status, "closed") && when[0]) {
            snprintf(closed, sizeof closed, "2025-%02d-%02dT23:%02d:00+08:00", 1 + i % 12,
                     1 + i % 28, i % 60);
            if (i % 3) snprintf(sat, sizeof sat, "%d", 1 + i % 5);
        }
        char id[24] = "";
        if (i % 13 != 6) snprintf(id, sizeof id, "S%d-%05d", seed, i);
        const char *desc = i % 37 == 8 ? "\"two\nlines, and \"\"quotes\"\"\""
                           : i % 11 == 2 ? "\"a, b; c\""
                                         : "plain";
        fprintf(f, "%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", id, lon, lat,
                i % 23 == 7 ? "" : "wgs84", when, cats[i % 4], desc, status, closed, sat);
    }
    fclose(f);
}

static wg_ws *county_ws(wg_ctx *ctx, const char *name) {
    wg_ws *ws = fresh_ws(ctx, name, 4549);
    tu_small_county(ctx, ws, "store_county.geojson", 1000, NULL);
    return ws;
}

/* Places `in` into `ws` with storing, by the fast path or the OGR path. */
static wg_status store(wg_ws *ws, const char *in, const char *out, int ogr, wg_place_report *rep) {
    wg_place_opts o;
    memset(&o, 0, sizeof o);
    o.crs_field = "crs";
    o.tolerance_m = -1;
    o.threads = 3;
    o.store = 1;
    o.status_field = "status";
    o.closed_field = "closed_at";
    o.satisfaction_field = "satisfaction";
    /* The OGR path's workspace also fills its spatial index the other way
     * (row by row after the batch, not built beside it and copied). */
    if (ogr) setenv("WG_PLACE_NO_FASTPATH", "1", 1);
    if (ogr) setenv("WG_STORE_NO_SIDE_INDEX", "1", 1);
    wg_status rc = wg_place_file(ws, in, out, &o, rep);
    unsetenv("WG_PLACE_NO_FASTPATH");
    unsetenv("WG_STORE_NO_SIDE_INDEX");
    return rc;
}

int main(void) {
    wg_ctx *ctx = NULL;
    CHECK(wg_ctx_new(&ctx) == WG_OK);
    PJ *raw = proj_create_crs_to_crs(ctx->proj, "EPSG:4549", "EPSG:4326", NULL);
    PJ *to_ll = proj_normalize_for_visualization(ctx->proj, raw);
    proj_destroy(raw);
    wg_ws *fast = county_ws(ctx, "store_fast.sqlite");
    wg_ws *ogr = county_ws(ctx, "store_ogr.sqlite");

    /* Two batches: the second lands on incidents already stored. */
    int64_t expect = 0, good_b2 = 0;
    for (int batch = 0; batch < 2; batch++) {
        const char *in = tpath(batch ? "store_b2.csv" : "store_b1.csv");
        write_batch(to_ll, in, batch ? 1500 : 4000, 0, batch);
        wg_place_report rf, ro;
        CHECK_OK(ctx, store(fast, in, tpath("store_fast.csv"), 0, &rf));
        CHECK_OK(ctx, store(ogr, in, tpath("store_ogr.csv"), 1, &ro));
        expect += good_rows;
        good_b2 = good_rows;
        CHECK(rf.stored == good_rows && ro.stored == good_rows);
        CHECK(rf.rows == ro.rows && rf.rejected == ro.rejected);
        for (int k = 0; k < 3; k++) CHECK(rf.status[k] == ro.status[k]);
        CHECK(rf.status[WG_PLACE_OUTSIDE] > 0 && rf.status[WG_PLACE_NEAREST] > 0);
    }

    char sql[1200];
    snprintf(sql, sizeof sql, "ATTACH '%s' AS o", tpath("store_ogr.sqlite"));
    CHECK(sqlite3_exec(fast->db, sql, NULL, NULL, NULL) == SQLITE_OK);
    CHECK(one_int(fast, "SELECT count(*) FROM main.incidents") == expect);
    CHECK(one_int(fast, "SELECT count(*) FROM o.incidents") == expect);
    CHECK(one_int(fast, "SELECT count(*) FROM main.incident_events") == expect);
    CHECK(differ(fast, INC_ALL, "incidents") == 0);
    CHECK(differ(fast, "*", "incident_events") == 0);
    CHECK(differ(fast, "*", "idx_incidents_geom") == 0);
    CHECK(one_int(fast, "SELECT count(*) FROM main.idx_incidents_geom") == expect);
    /* The first batch found the index empty: the fast workspace's tree was
     * built beside the inserts and copied. It is SQLite's own tree for the
     * same rows in the same order, node for node, and SQLite checks it. */
    CHECK(differ(fast, "*", "idx_incidents_geom_node") == 0);
    CHECK(differ(fast, "*", "idx_incidents_geom_rowid") == 0);
    CHECK(differ(fast, "*", "idx_incidents_geom_parent") == 0);
    CHECK(one_int(fast, "SELECT rtreecheck('main', 'idx_incidents_geom') = 'ok'") == 1);
    CHECK(one_int(fast, "SELECT rtreecheck('o', 'idx_incidents_geom') = 'ok'") == 1);
    /* Every incident is in the index, in its own box. */
    CHECK(one_int(fast, "SELECT count(*) FROM incidents i JOIN idx_incidents_geom x ON "
                        "x.pkid = i.id WHERE X(i.geom) BETWEEN x.xmin AND x.xmax AND "
                        "Y(i.geom) BETWEEN x.ymin AND x.ymax") == expect);
    /* The fixture covers what it means to: every status, deadlines with and
     * without a report time, closings, ratings, county-level rows, empty
     * ids and categories kept as empty texts, rows of the default CRS. */
    CHECK(one_int(fast, "SELECT count(DISTINCT status) FROM incidents") == 6);
    CHECK(one_int(fast, "SELECT count(*) FROM incidents WHERE deadline IS NULL") > 0);
    CHECK(one_int(fast, "SELECT count(*) FROM incidents WHERE dispatch_deadline IS NOT NULL") > 0);
    CHECK(one_int(fast, "SELECT count(*) FROM incidents WHERE closed_at IS NOT NULL") > 0);
    CHECK(one_int(fast, "SELECT count(*) FROM incidents WHERE satisfaction IS NOT NULL") > 0);
    CHECK(one_int(fast, "SELECT count(*) FROM incidents WHERE level = 'county'") > 0);
    CHECK(one_int(fast, "SELECT count(*) FROM incidents WHERE ext_id = ''") > 0);
    CHECK(one_int(fast, "SELECT count(*) FROM incidents WHERE category = ''") > 0);
    CHECK(one_int(fast, "SELECT count(*) FROM incidents WHERE description LIKE '%' || "
                        "char(10) || '%'") > 0);
    CHECK(one_int(fast, "SELECT count(*) FROM incidents WHERE excl_codes LIKE '%;%'") > 0);
    CHECK(one_int(fast, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND "
                        "tbl_name = 'incidents'") == 8);
    CHECK(sqlite3_exec(fast->db, "DETACH o", NULL, NULL, NULL) == SQLITE_OK);

    /* A refused row fails the batch on both paths, with the row named, and
     * leaves both workspaces as they were. */
    const char *bad = tpath("store_bad.csv");
    write_batch(to_ll, bad, 3000, 2500, 7);
    unsigned long long df = ws_digest(fast), dg = ws_digest(ogr);
    long long ev = one_int(fast, "SELECT count(*) FROM incident_events");
    wg_place_report r;
    /* The OGR path names the record (line 2501 were no record two lines
     * long); the fast path its true first line. */
    int two_line = 0;
    for (int i = 0; i < 2499; i++) two_line += i % 37 == 8;
    char want[64];
    snprintf(want, sizeof want, "row %d: status 'lost'", 2501 + two_line);
    CHECK(store(fast, bad, tpath("store_badf.csv"), 0, &r) == WG_ERR_FORMAT);
    CHECK(strstr(wg_ctx_errmsg(ctx), want) != NULL);
    CHECK(store(ogr, bad, tpath("store_bado.csv"), 1, &r) == WG_ERR_FORMAT);
    CHECK(strstr(wg_ctx_errmsg(ctx), "row 2501: status 'lost'") != NULL);
    CHECK(ws_digest(fast) == df && ws_digest(ogr) == dg);
    CHECK(one_int(fast, "SELECT count(*) FROM incident_events") == ev);
    CHECK(access(tpath("store_badf.csv"), F_OK) != 0 && access(tpath("store_bado.csv"), F_OK) != 0);

    /* The same refusal on an empty workspace, where the index was being
     * built beside the inserts: nothing is kept, and the next batch builds
     * a sound index. */
    wg_ws *empty = county_ws(ctx, "store_empty.sqlite");
    unsigned long long de = ws_digest(empty);
    CHECK(store(empty, bad, tpath("store_bade.csv"), 0, &r) == WG_ERR_FORMAT);
    CHECK(ws_digest(empty) == de);
    CHECK(one_int(empty, "SELECT count(*) FROM idx_incidents_geom_rowid") == 0);
    CHECK_OK(ctx, store(empty, tpath("store_b2.csv"), tpath("store_e.csv"), 0, &r));
    CHECK(r.stored == good_b2);
    CHECK(one_int(empty, "SELECT count(*) FROM incidents") == good_b2);
    CHECK(one_int(empty, "SELECT count(*) FROM idx_incidents_geom") == good_b2);
    CHECK(one_int(empty, "SELECT rtreecheck('idx_incidents_geom') = 'ok'") == 1);
    wg_ws_close(empty);

    /* The OGR path with typed fields (GeoJSON numbers): each value read is
     * its own, not the feature's last formatted number. GDAL's GeoJSON
     * reader turns RFC 3339 strings into its own DateTime (formatted
     * '2025/03/03 18:00:00+08'): stored as RFC 3339 again, in UTC. */
    wg_ws *typed = county_ws(ctx, "store_typed.sqlite");
    PJ_COORD c = proj_trans(to_ll, PJ_FWD, proj_coord(T_X0 + 700, T_Y0 + 300, 0, 0));
    char gjs[1024];
    snprintf(gjs, sizeof gjs,
             "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\","
             "\"properties\":{\"incident_id\":101,\"reported_at\":\"2025-03-03T09:00:00+08:00\","
             "\"category\":7,\"status\":\"closed\",\"closed_at\":\"2025-03-03T17:30:15-01:30\","
             "\"satisfaction\":4},\"geometry\":{\"type\":\"Point\",\"coordinates\":[%.9f,%.9f]}},"
             "{\"type\":\"Feature\",\"properties\":{\"incident_id\":102,"
             "\"reported_at\":\"2025-03-04T01:02:03Z\",\"status\":\"reported\"},"
             "\"geometry\":{\"type\":\"Point\",\"coordinates\":[%.9f,%.9f]}}]}",
             c.xy.x, c.xy.y, c.xy.x, c.xy.y);
    write_file(tpath("store_typed.geojson"), gjs);
    wg_place_opts to;
    memset(&to, 0, sizeof to);
    to.tolerance_m = -1;
    to.store = 1;
    to.status_field = "status";
    to.satisfaction_field = "satisfaction";
    to.closed_field = "closed_at";
    CHECK_OK(ctx, wg_place_file(typed, tpath("store_typed.geojson"), tpath("store_typed.gpkg"),
                                &to, &r));
    CHECK(r.stored == 2);
    CHECK(one_int(typed, "SELECT count(*) FROM incidents WHERE ext_id = '101' AND category = '7' "
                         "AND satisfaction = 4 AND status = 'closed' AND "
                         "grid_code = '320724100201001'") == 1);
    /* the times as RFC 3339 with their offsets: the deadline (end of the
     * local day), the closing time in UTC, a UTC report */
    CHECK(one_int(typed, "SELECT count(*) FROM incidents WHERE ext_id = '101' AND "
                         "reported_at = '2025-03-03T09:00:00+08:00' AND "
                         "closed_at = '2025-03-03T19:00:15Z' AND deadline IS NOT NULL") == 1);
    CHECK(one_int(typed, "SELECT count(*) FROM incidents WHERE ext_id = '102' AND "
                         "reported_at = '2025-03-04T01:02:03Z'") == 1);
    wg_ws_close(typed);

    proj_destroy(to_ll);
    wg_ws_close(fast);
    wg_ws_close(ogr);
    wg_ctx_free(ctx);
    TEST_MAIN_END();
}
