/* test_lifecycle.c -- the closed loop's state machine: every action from
 * every status (allowed or refused, against the matrix written out below),
 * refusals that change nothing, escalation up the whole chain with each
 * level's deadline worked out by hand, the history rows, the checks on
 * officers, times, notes and satisfaction, and a workspace of the previous
 * version gaining the columns at its first read-write use. */
#include "testutil.h"

#include "deadlines.h"

#include <proj.h>

static PJ *to_ll;
static wg_ws *WS;
static wg_ctx *CTX;
static wg_locator *LOC;

static void build(void) {
    gj g;
    gj_begin(&g);
    gj_rect(&g, "county", "320724", "灌南县", 0, 0, 4000, 2000);
    gj_rect(&g, "town", "320724100", "新安镇", 0, 0, 4000, 2000);
    gj_rect(&g, "village", "320724100201", "V1", 0, 0, 2000, 2000);
    gj_rect(&g, "grid", "320724100201001", "G1", 0, 0, 1000, 2000);
    gj_end(&g, tpath("lc-units.geojson"));
    wg_import_opts o = import_opts(-1, "EPSG:4549");
    o.valid_from = "2024-01-01";
    CHECK_OK(CTX, wg_grids_import(WS, tpath("lc-units.geojson"), &o, NULL));
    write_file(tpath("lc-officers.csv"), "officer_id,name,phone,grid_code,role\n"
                                         "OF1,张三,13800000001,320724100201001,grid_worker\n"
                                         "OF2,李四,13800000002,320724100201001,police\n");
    CHECK_OK(CTX, wg_officers_import(WS, tpath("lc-officers.csv"), NULL));
}

/* A new incident in grid G1 (or 500 m outside the county), reported at `when`. */
static int64_t report(const char *when, int outside) {
    wg_incident_new in;
    memset(&in, 0, sizeof in);
    PJ_COORD c = proj_trans(to_ll, PJ_FWD,
                            proj_coord(T_X0 + (outside ? 3000 : 500), T_Y0 + (outside ? -500 : 500), 0, 0));
    in.lon = c.xy.x, in.lat = c.xy.y;
    in.reported_at = when;
    in.category = "环境卫生";
    wg_incident_receipt r;
    CHECK_OK(CTX, wg_incident_add(WS, LOC, 30, &in, &r));
    return r.id;
}

static wg_status act(int64_t id, wg_action a, const char *at) {
    wg_step s;
    memset(&s, 0, sizeof s);
    s.action = a;
    s.at = at;
    s.actor = "tester";
    if (a == WG_ACT_ASSIGN) s.officer = "OF1";
    if (a == WG_ACT_CLOSE) s.satisfaction = 4;
    return wg_incident_step(WS, id, &s, NULL);
}

static void q1(const char *sql, int64_t id, char *out, size_t n) {
    sqlite3_stmt *st = NULL;
    out[0] = 0;
    sqlite3_prepare_v2(WS->db, sql, -1, &st, NULL);
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
}

static int64_t nevents(int64_t id) {
    char b[32];
    q1("SELECT count(*) FROM incident_events WHERE incident_id = ?", id, b, sizeof b);
    return atoll(b);
}

static void status_of(int64_t id, char *out) {
    q1("SELECT status FROM incidents WHERE id = ?", id, out, 16);
}

/* ---- the matrix ------------------------------------------------------------ */

static const char *const STATUSES[] = {"reported", "accepted", "assigned", "handled", "verified",
                                       "closed"};
/* The path from a new incident to each status. */
static const wg_action PATH[] = {WG_ACT_ACCEPT, WG_ACT_ASSIGN, WG_ACT_HANDLE, WG_ACT_VERIFY,
                                 WG_ACT_CLOSE};
/* EXPECT[status][action]: the status after the action, NULL = refused.
 * Actions: accept, assign, escalate, handle, verify, reject, close. */
static const char *const EXPECT[6][7] = {
    /* reported */ {"accepted", NULL, "accepted", NULL, NULL, NULL, NULL},
    /* accepted */ {NULL, "assigned", "accepted", NULL, NULL, NULL, NULL},
    /* assigned */ {NULL, "assigned", "accepted", "handled", NULL, NULL, NULL},
    /* handled  */ {NULL, NULL, NULL, NULL, "verified", "assigned", NULL},
    /* verified */ {NULL, NULL, NULL, NULL, NULL, NULL, "closed"},
    /* closed   */ {NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};

static void matrix(void) {
    int allowed = 0, refused = 0;
    for (int s = 0; s < 6; s++)
        for (int a = 0; a < WG_ACTION_COUNT; a++) {
            int64_t id = report("2024-03-01T09:00:00+08:00", 0);
            for (int k = 0; k < s; k++) CHECK_OK(CTX, act(id, PATH[k], "2024-03-01T10:00:00+08:00"));
            char st[16];
            status_of(id, st);
            CHECK_STR(st, STATUSES[s]);
            int64_t before = nevents(id);
            CHECK(before == 1 + s);
            wg_status rc = act(id, (wg_action)a, "2024-03-01T11:00:00+08:00");
            status_of(id, st);
            if (EXPECT[s][a]) {
                allowed++;
                if (rc != WG_OK)
                    fprintf(stderr, "%s from %s: %s\n", wg_action_name((wg_action)a), STATUSES[s],
                            wg_ctx_errmsg(CTX));
                CHECK(rc == WG_OK);
                CHECK_STR(st, EXPECT[s][a]);
                CHECK(nevents(id) == before + 1);
                char ev[32], from[16];
                q1("SELECT event FROM incident_events WHERE incident_id = ? ORDER BY id DESC", id,
                   ev, sizeof ev);
                q1("SELECT from_status FROM incident_events WHERE incident_id = ? ORDER BY id DESC",
                   id, from, sizeof from);
                CHECK_STR(ev, wg_action_name((wg_action)a));
                CHECK_STR(from, STATUSES[s]);
            } else {
                refused++;
                if (rc != WG_ERR_CONSTRAINT)
                    fprintf(stderr, "%s from %s gave %s\n", wg_action_name((wg_action)a),
                            STATUSES[s], wg_status_str(rc));
                CHECK(rc == WG_ERR_CONSTRAINT);
                CHECK(strstr(wg_ctx_errmsg(CTX), STATUSES[s]) != NULL);
                CHECK_STR(st, STATUSES[s]); /* nothing changed */
                CHECK(nevents(id) == before);
            }
        }
    CHECK(allowed == 10 && refused == 32);
}

/* ---- escalation ---------------------------------------------------------------- */

static void escalation(void) {
    /* Friday 2024-03-01 10:00 in Beijing; default limits in calendar days
     * ending at local midnight (UTC 16:00 the day before ends at 15:59:59Z). */
    int64_t id = report("2024-03-01T10:00:00+08:00", 0);
    char b[64];
    q1("SELECT deadline FROM incidents WHERE id = ?", id, b, sizeof b);
    CHECK_STR(b, "2024-03-01T15:59:59Z"); /* grid: the same day */
    q1("SELECT dispatch_deadline FROM incidents WHERE id = ?", id, b, sizeof b);
    CHECK_STR(b, "2024-03-04T15:59:59Z"); /* 1 working day after a Friday: Monday */
    CHECK_OK(CTX, act(id, WG_ACT_ACCEPT, "2024-03-01T10:30:00+08:00"));
    CHECK_OK(CTX, act(id, WG_ACT_ASSIGN, "2024-03-01T11:00:00+08:00"));
    wg_step s;
    memset(&s, 0, sizeof s);
    s.action = WG_ACT_ESCALATE;
    s.at = "2024-03-01T12:00:00+08:00";
    s.note = "需要村里协调";
    wg_step_result r;
    CHECK_OK(CTX, wg_incident_step(WS, id, &s, &r));
    CHECK_STR(r.level, "village");
    CHECK_STR(r.from_status, "assigned");
    CHECK_STR(r.to_status, "accepted");
    CHECK_STR(r.deadline, "2024-03-04T15:59:59Z"); /* 3 days: Monday's end */
    q1("SELECT coalesce(assignee, '-') FROM incidents WHERE id = ?", id, b, sizeof b);
    CHECK_STR(b, "-");
    q1("SELECT level_since FROM incidents WHERE id = ?", id, b, sizeof b);
    CHECK_STR(b, "2024-03-01T04:00:00Z");
    s.at = "2024-03-02T09:00:00+08:00";
    CHECK_OK(CTX, wg_incident_step(WS, id, &s, &r));
    CHECK_STR(r.level, "town");
    CHECK_STR(r.deadline, "2024-03-07T15:59:59Z"); /* 5 days from Saturday */
    s.at = "2024-03-02T23:30:00+08:00";
    CHECK_OK(CTX, wg_incident_step(WS, id, &s, &r));
    CHECK_STR(r.level, "county");
    CHECK_STR(r.deadline, "2024-03-09T15:59:59Z"); /* 7 days */
    s.at = "2024-03-03T09:00:00+08:00";
    CHECK(wg_incident_step(WS, id, &s, &r) == WG_ERR_CONSTRAINT);
    CHECK(strstr(wg_ctx_errmsg(CTX), "county") != NULL);
    q1("SELECT group_concat(level, '>') FROM (SELECT level FROM incident_events WHERE "
       "incident_id = ? AND event = 'escalate' ORDER BY id)", id, b, sizeof b);
    CHECK_STR(b, "village>town>county");
    q1("SELECT note FROM incident_events WHERE incident_id = ? AND event = 'escalate'", id, b,
       sizeof b);
    CHECK_STR(b, "需要村里协调");
    /* The county assigns and closes it. */
    CHECK_OK(CTX, act(id, WG_ACT_ASSIGN, "2024-03-04T09:00:00+08:00"));
    CHECK_OK(CTX, act(id, WG_ACT_HANDLE, "2024-03-05T09:00:00+08:00"));
    CHECK_OK(CTX, act(id, WG_ACT_VERIFY, "2024-03-05T10:00:00+08:00"));
    CHECK_OK(CTX, act(id, WG_ACT_CLOSE, "2024-03-05T11:00:00+08:00"));
    wg_incident_state stt;
    CHECK_OK(CTX, wg_incident_state_get(WS, NULL, id, 1709251200 + 30 * 86400, &stt));
    CHECK_STR(stt.status, "closed");
    CHECK_STR(stt.level, "county");
    CHECK_STR(stt.closed_at, "2024-03-05T03:00:00Z");
    CHECK_STR(stt.accepted_at, "2024-03-01T02:30:00Z");
    CHECK(stt.satisfaction == 4 && stt.closed_on_time == 1 && stt.colour == WG_COLOUR_CLOSED);

    /* Outside every grid: the county's from the start; nothing above it. */
    int64_t far = report("2024-03-01T10:00:00+08:00", 1);
    CHECK(act(far, WG_ACT_ESCALATE, "2024-03-01T11:00:00+08:00") == WG_ERR_CONSTRAINT);
}

/* ---- checks on the step's input ------------------------------------------------- */

static void inputs(void) {
    int64_t id = report("2024-03-01T09:00:00+08:00", 0);
    wg_step s;
    memset(&s, 0, sizeof s);
    s.action = WG_ACT_ACCEPT;
    s.at = "2024-03-01T08:00:00+08:00"; /* before the report */
    CHECK(wg_incident_step(WS, id, &s, NULL) == WG_ERR_CONSTRAINT);
    s.at = "2024-03-01 10:00";
    CHECK(wg_incident_step(WS, id, &s, NULL) == WG_ERR_INVALID_ARG);
    s.at = "2099-01-01T00:00:00Z";
    CHECK(wg_incident_step(WS, id, &s, NULL) == WG_ERR_INVALID_ARG);
    s.at = "2024-03-01T10:00:00+08:00";
    s.satisfaction = 5; /* only when closing */
    CHECK(wg_incident_step(WS, id, &s, NULL) == WG_ERR_INVALID_ARG);
    s.satisfaction = 0;
    s.note = "bad\x01note";
    CHECK(wg_incident_step(WS, id, &s, NULL) == WG_ERR_INVALID_ARG);
    s.note = NULL;
    CHECK(wg_incident_step(WS, 999999, &s, NULL) == WG_ERR_NOT_FOUND);
    CHECK(nevents(id) == 1);
    CHECK_OK(CTX, wg_incident_step(WS, id, &s, NULL));
    s.action = WG_ACT_ASSIGN;
    CHECK(wg_incident_step(WS, id, &s, NULL) == WG_ERR_INVALID_ARG); /* no officer */
    s.officer = "NOBODY";
    CHECK(wg_incident_step(WS, id, &s, NULL) == WG_ERR_NOT_FOUND);
    s.officer = "OF2";
    CHECK_OK(CTX, wg_incident_step(WS, id, &s, NULL));
    char b[32];
    q1("SELECT assignee FROM incidents WHERE id = ?", id, b, sizeof b);
    CHECK_STR(b, "OF2");
    q1("SELECT officer FROM incident_events WHERE incident_id = ? AND event = 'assign'", id, b,
       sizeof b);
    CHECK_STR(b, "OF2");
    s.action = WG_ACT_HANDLE;
    s.officer = NULL;
    CHECK_OK(CTX, wg_incident_step(WS, id, &s, NULL));
    s.action = WG_ACT_VERIFY;
    CHECK_OK(CTX, wg_incident_step(WS, id, &s, NULL));
    s.action = WG_ACT_CLOSE;
    s.satisfaction = 6;
    CHECK(wg_incident_step(WS, id, &s, NULL) == WG_ERR_INVALID_ARG);
    s.satisfaction = 0; /* not rated */
    CHECK_OK(CTX, wg_incident_step(WS, id, &s, NULL));
    q1("SELECT coalesce(satisfaction, 'none') FROM incidents WHERE id = ?", id, b, sizeof b);
    CHECK_STR(b, "none");
    wg_action a;
    CHECK(wg_action_parse("verify", &a) == WG_OK && a == WG_ACT_VERIFY);
    CHECK(wg_action_parse("approve", &a) == WG_ERR_INVALID_ARG);
}

/* A workspace made by the previous version (no closed-loop columns) gains
 * them at its first read-write use; read-only it says what to do. */
static void migration(void) {
    wg_ws *old = fresh_ws(CTX, "lc-old.sqlite", 4549);
    CHECK(wg_lifecycle_ready(old)); /* a new workspace has it all from the start */
    /* back to the previous version's schema */
    CHECK_OK(CTX, wg_ws_exec(old, "DROP VIEW incident_state; DROP TABLE deadline_rules; "
                                  "DROP TABLE work_calendar; DROP INDEX incidents_reported;"));
    static const char *const added[] = {"incidents.assignee",       "incidents.accepted_at",
                                        "incidents.closed_at",      "incidents.satisfaction",
                                        "incidents.level_since",    "incidents.deadline_clock",
                                        "incidents.dispatch_deadline", "incident_events.officer",
                                        "incident_events.level"};
    for (size_t i = 0; i < sizeof added / sizeof added[0]; i++) {
        char sql[128];
        const char *dot = strchr(added[i], '.');
        snprintf(sql, sizeof sql, "ALTER TABLE %.*s DROP COLUMN %s", (int)(dot - added[i]), added[i],
                 dot + 1);
        CHECK_OK(CTX, wg_ws_exec(old, sql));
    }
    CHECK(!wg_lifecycle_ready(old));
    CHECK_OK(CTX, wg_ws_exec(old, "INSERT INTO incidents(id, reported_at, status, grid_code, "
                                  "geom) VALUES(7, '2024-01-02T03:04:05Z', 'reported', "
                                  "'320724100201001', MakePoint(119.4, 34.1, 4326))"));
    wg_ws_close(old);
    CHECK_OK(CTX, wg_ws_open(CTX, tpath("lc-old.sqlite"), 1, &old));
    wg_incident_state st;
    CHECK(wg_incident_state_get(old, NULL, 7, 0, &st) == WG_ERR_INVALID_ARG);
    CHECK(strstr(wg_ctx_errmsg(CTX), "read-write") != NULL);
    wg_ws_close(old);
    CHECK_OK(CTX, wg_ws_open(CTX, tpath("lc-old.sqlite"), 0, &old));
    wg_step s;
    memset(&s, 0, sizeof s);
    s.action = WG_ACT_ACCEPT;
    s.at = "2024-01-02T04:00:00Z";
    CHECK_OK(CTX, wg_incident_step(old, 7, &s, NULL));
    CHECK(wg_lifecycle_ready(old));
    CHECK_OK(CTX, wg_incident_state_get(old, NULL, 7, 0, &st));
    CHECK_STR(st.status, "accepted");
    CHECK_STR(st.level, "grid");
    CHECK_STR(st.accepted_at, "2024-01-02T04:00:00Z");
    wg_ws_close(old);
}

int main(void) {
    CHECK(wg_ctx_new(&CTX) == WG_OK);
    PJ *raw = proj_create_crs_to_crs(CTX->proj, "EPSG:4549", "EPSG:4326", NULL);
    to_ll = proj_normalize_for_visualization(CTX->proj, raw);
    proj_destroy(raw);
    WS = fresh_ws(CTX, "lifecycle.sqlite", 4549);
    build();
    CHECK_OK(CTX, wg_locator_build(WS, NULL, &LOC));
    if (!LOC) TEST_MAIN_END();
    matrix();
    escalation();
    inputs();
    migration();
    wg_locator_free(LOC);
    wg_ws_close(WS);
    proj_destroy(to_ll);
    wg_ctx_free(CTX);
    TEST_MAIN_END();
}
