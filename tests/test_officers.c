/* test_officers.c -- the officer roster: assignments, stations, and an
 * all-or-nothing import whose errors name every bad line. */
#include "testutil.h"

static int64_t count(wg_ws *ws, const char *sql) {
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    if (sqlite3_prepare_v2(ws->db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

int main(void) {
    wg_ctx *ctx = NULL;
    CHECK(wg_ctx_new(&ctx) == WG_OK);
    wg_ws *ws = fresh_ws(ctx, "officers.sqlite", 4549);
    const char *units = tpath("units.geojson");
    gj g;
    gj_begin(&g);
    gj_rect(&g, "village", "320724100201", "前进村", 0, 0, 2000, 2000);
    gj_rect(&g, "grid", "320724100201001", "G1", 0, 0, 1000, 2000);
    gj_rect(&g, "grid", "320724100201002", "G2", 1000, 0, 2000, 2000);
    gj_end(&g, units);
    wg_import_opts o = import_opts(-1, "EPSG:4549");
    CHECK_OK(ctx, wg_grids_import(ws, units, &o, NULL));

    const char *good = tpath("good.csv");
    write_file(good,
               "\xEF\xBB\xBFofficer_id,name,role,grid_code,phone,lon,lat\r\n"
               "O1,张伟,grid_worker,320724100201001,13800000001,119.46,34.15\r\n"
               "O2,李娜,grid_chief,320724100201001,13800000002,,\r\n"
               "O3,\"王, 警官\",police,320724100201001,13800000003,119.47,34.16\r\n"
               "O3,\"王, 警官\",police,320724100201002,13800000003,119.47,34.16\r\n"
               "O4,赵敏,grid_instructor,320724100201,13800000004,119.465,34.155\r\n");
    int64_t n = 0;
    CHECK_OK(ctx, wg_officers_import(ws, good, &n));
    CHECK(n == 4);
    CHECK(count(ws, "SELECT COUNT(*) FROM officer_grids") == 5);
    CHECK(count(ws, "SELECT COUNT(*) FROM officers WHERE geom IS NOT NULL") == 3);
    CHECK(count(ws, "SELECT COUNT(*) FROM officers WHERE name = '王, 警官'") == 1);
    CHECK(count(ws, "SELECT COUNT(*) FROM officer_grids WHERE officer_id = 'O3' AND "
                    "role = 'police'") == 2);
    CHECK(count(ws, "SELECT COUNT(*) FROM officers WHERE officer_id = 'O1' AND "
                    "abs(X(geom) - 119.46) < 1e-12 AND abs(Y(geom) - 34.15) < 1e-12") == 1);
    wg_ws_counts c;
    CHECK_OK(ctx, wg_ws_count(ws, &c));
    CHECK(c.officers == 4 && c.assignments == 5);

    /* Bad lines: every one listed, nothing changed. */
    unsigned long long before = ws_digest(ws);
    const char *bad = tpath("bad.csv");
    write_file(bad, "officer_id,name,role,grid_code,phone,lon,lat\n"
                    "O1,张伟,grid_worker,320724100201001,1,,\n"
                    "O2,李娜,grid_chief,320724100201002,2,,\n"
                    "O5,钱七,grid_worker,999999999999999,5,,\n"
                    "O6,孙八,volunteer,320724100201002,6,119.5,\n"
                    "O7,周九,cop,320724100201002,7,,\n"
                    "O1,张三,grid_worker,320724100201002,1,,\n"
                    "O8,吴十,lawyer,320724100201002,8,200,34\n");
    CHECK(wg_officers_import(ws, bad, &n) == WG_ERR_CONSTRAINT);
    const char *msg = wg_ctx_errmsg(ctx);
    CHECK(strstr(msg, "5 bad lines") != NULL);
    CHECK(strstr(msg, "line 4: unknown grid code '999999999999999'") != NULL);
    CHECK(strstr(msg, "line 5: station lon/lat") != NULL);
    CHECK(strstr(msg, "line 6: unknown role 'cop'") != NULL);
    CHECK(strstr(msg, "line 7: officer_id given before with another name") != NULL);
    CHECK(strstr(msg, "line 8: station lon/lat") != NULL);
    CHECK(ws_digest(ws) == before);

    /* Malformed files. */
    struct {
        const char *name, *text, *expect;
    } cases[] = {
        {"empty.csv", "", "empty"},
        {"header.csv", "officer_id,name,role,phone\nO1,a,police,1\n", "no 'grid_code' column"},
        {"lonly.csv", "officer_id,name,role,grid_code,phone,lon\n", "both lon and lat"},
        {"noline.csv", "officer_id,name,role,grid_code,phone\n", "no officers"},
        {"quote.csv", "officer_id,name,role,grid_code,phone\nO1,\"open,police,x,1\n", "line 2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *p = tpath(cases[i].name);
        write_file(p, cases[i].text);
        CHECK(wg_officers_import(ws, p, &n) != WG_OK);
        if (!strstr(wg_ctx_errmsg(ctx), cases[i].expect)) {
            fprintf(stderr, "%s: '%s' lacks '%s'\n", cases[i].name, wg_ctx_errmsg(ctx),
                    cases[i].expect);
            CHECK(0);
        }
        CHECK(ws_digest(ws) == before);
    }
    CHECK(wg_officers_import(ws, tpath("nosuch.csv"), &n) != WG_OK);
    CHECK(strstr(wg_ctx_errmsg(ctx), "nosuch.csv") != NULL);
    wg_ws_close(ws);
    wg_ctx_free(ctx);
    TEST_MAIN_END();
}
