/* test_incidents.c -- incidents reported one at a time: placement, the
 * level and deadline of the default rules (computed here by hand), the
 * first event of the history, retries by ext_id, all-or-nothing batches,
 * text checks, and queries compared with a brute-force filter over what the
 * test itself stored. Also the units the service shows (wg_unit_get) and
 * the fingerprint that tells it to rebuild its locator. */
#include "testutil.h"

#include "httpparse.h"

#include <proj.h>

static PJ *to_ll;

static void ll(double dx, double dy, double *lon, double *lat) {
    PJ_COORD c = proj_trans(to_ll, PJ_FWD, proj_coord(T_X0 + dx, T_Y0 + dy, 0, 0));
    *lon = c.xy.x, *lat = c.xy.y;
}

static void build(wg_ctx *ctx, wg_ws *ws, const char *name) {
    gj g;
    gj_begin(&g);
    gj_rect(&g, "county", "320724", "灌南县", 0, 0, 4000, 2000);
    gj_rect(&g, "town", "320724100", "新安镇", 0, 0, 2000, 2000);
    gj_rect(&g, "town", "320724101", "堆沟港镇", 2000, 0, 4000, 2000);
    gj_rect(&g, "village", "320724100201", "V1", 0, 0, 2000, 2000);
    gj_rect(&g, "village", "320724101202", "V2", 2000, 0, 4000, 2000);
    gj_rect(&g, "grid", "320724100201001", "G1", 0, 0, 1000, 2000);
    gj_rect(&g, "grid", "320724100201002", "G2", 1000, 0, 2000, 2000);
    gj_rect(&g, "grid", "320724101202001", "G3", 2000, 0, 4000, 2000);
    gj_rect(&g, "micro", "320724100201001001", "M1", 0, 0, 500, 2000);
    gj_rect(&g, "exclusive", "32072410020100101001", "School", 100, 100, 600, 600);
    gj_end(&g, tpath(name));
    wg_import_opts o = import_opts(-1, "EPSG:4549");
    o.valid_from = "2024-01-01";
    CHECK_OK(ctx, wg_grids_import(ws, tpath(name), &o, NULL));
}

static int64_t count_incidents(wg_ws *ws) {
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    sqlite3_prepare_v2(ws->db, "SELECT count(*) FROM incidents", -1, &st, NULL);
    if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static wg_incident_new at_offset(double dx, double dy) {
    wg_incident_new in;
    memset(&in, 0, sizeof in);
    ll(dx, dy, &in.lon, &in.lat);
    return in;
}

/* ---- queries against a brute-force oracle ----------------------------------- */

#define NQ 300
typedef struct stored {
    int64_t id;
    double lon, lat;
    char reported[24], grid[20], town[12];
    int inside;
} stored;
static stored S[NQ];

typedef struct got_ids {
    int64_t ids[NQ + 10];
    size_t n;
} got_ids;

static int collect(void *user, const wg_incident *inc) {
    got_ids *g = user;
    if (g->n < NQ + 10) g->ids[g->n++] = inc->id;
    return 0;
}

static int matches(const stored *s, const wg_incident_query *q) {
    if (q->has_bbox && !(s->lon >= q->bbox[0] && s->lon <= q->bbox[2] && s->lat >= q->bbox[1] &&
                         s->lat <= q->bbox[3]))
        return 0;
    if (q->since && strcmp(s->reported, q->since) < 0) return 0;
    if (q->until && strcmp(s->reported, q->until) >= 0) return 0;
    const char *code = s->grid[0] ? s->grid : s->town[0] ? s->town : NULL;
    if (q->code && (!code || strncmp(code, q->code, strlen(q->code)))) return 0;
    if (q->scope && *q->scope && (!code || strncmp(code, q->scope, strlen(q->scope)))) return 0;
    return s->id > q->after_id;
}

static void check_query(wg_ctx *ctx, wg_ws *ws, wg_incident_query q, const char *what) {
    got_ids g = {{0}, 0};
    CHECK_OK(ctx, wg_incidents_query(ws, &q, collect, &g));
    size_t limit = q.limit ? q.limit : 100, n = 0;
    int same = 1;
    for (int i = 0; i < NQ && n < limit; i++)
        if (matches(&S[i], &q)) same &= n < g.n && g.ids[n++] == S[i].id;
    same &= n == g.n;
    if (!same) fprintf(stderr, "query '%s': %zu rows, oracle %zu\n", what, g.n, n);
    CHECK(same);
}

static void queries(wg_ctx *ctx, wg_ws *ws, const wg_locator *loc) {
    /* NQ points on a lattice over the county and 150 m beyond (outside),
     * one a day from 2024-03-01, in batches of 50. */
    wg_incident_new in[50];
    wg_incident_receipt out[50];
    char when[50][32];
    for (int b = 0; b < NQ / 50; b++) {
        for (int k = 0; k < 50; k++) {
            int i = b * 50 + k;
            in[k] = at_offset(-150 + (i % 20) * 230.0, -150 + (i / 20) * 160.0);
            int64_t t = 1709251200 + (int64_t)i * 86400; /* 2024-03-01T00:00:00Z */
            wg_time_format(t, when[k]);
            in[k].reported_at = when[k];
            in[k].category = "q";
        }
        CHECK_OK(ctx, wg_incidents_add(ws, loc, 30, in, 50, out));
        for (int k = 0; k < 50; k++) {
            stored *s = &S[b * 50 + k];
            s->id = out[k].id;
            s->lon = in[k].lon, s->lat = in[k].lat;
            snprintf(s->reported, sizeof s->reported, "%s", out[k].reported_at);
            snprintf(s->grid, sizeof s->grid, "%s", out[k].placement.grid.code ? out[k].placement.grid.code : "");
            snprintf(s->town, sizeof s->town, "%s", out[k].placement.town.code ? out[k].placement.town.code : "");
            s->inside = out[k].placement.status != WG_PLACE_OUTSIDE;
        }
    }
    int outside = 0;
    for (int i = 0; i < NQ; i++) outside += !S[i].inside;
    CHECK(outside > 20 && outside < NQ - 100);
    wg_incident_query q;
    double lon0, lat0, lon1, lat1;
    memset(&q, 0, sizeof q);
    q.after_id = S[0].id - 1;
    q.limit = 10000;
    check_query(ctx, ws, q, "all");
    q.limit = 0;
    check_query(ctx, ws, q, "default limit 100");
    q.limit = 10000;
    ll(300, 300, &lon0, &lat0);
    ll(2500, 1500, &lon1, &lat1);
    q.has_bbox = 1;
    q.bbox[0] = lon0, q.bbox[1] = lat0, q.bbox[2] = lon1, q.bbox[3] = lat1;
    check_query(ctx, ws, q, "bbox");
    q.has_bbox = 0;
    q.since = "2024-04-01T08:00:00+08:00"; /* = 2024-04-01T00:00:00Z */
    check_query(ctx, ws, (wg_incident_query){.since = "2024-04-01T00:00:00Z",
                                             .after_id = q.after_id, .limit = 10000},
                "since (UTC)");
    q.until = "2024-05-01T00:00:00Z";
    {
        /* the oracle compares normalised text: give it the UTC form */
        wg_incident_query o = q;
        o.since = "2024-04-01T00:00:00Z";
        got_ids g = {{0}, 0}, h = {{0}, 0};
        CHECK_OK(ctx, wg_incidents_query(ws, &q, collect, &g));
        CHECK_OK(ctx, wg_incidents_query(ws, &o, collect, &h));
        CHECK(g.n == 30 && h.n == 30 && !memcmp(g.ids, h.ids, g.n * sizeof g.ids[0]));
        check_query(ctx, ws, o, "since until");
    }
    q.since = q.until = NULL;
    q.code = "320724101";
    check_query(ctx, ws, q, "code prefix of a town");
    q.code = "320724100201001";
    check_query(ctx, ws, q, "one grid");
    q.code = NULL;
    q.scope = "320724100";
    check_query(ctx, ws, q, "scope");
    q.code = "320724101"; /* disjoint from the scope: nothing */
    got_ids g = {{0}, 0};
    CHECK_OK(ctx, wg_incidents_query(ws, &q, collect, &g));
    CHECK(g.n == 0);
    q.code = NULL;
    q.scope = NULL;
    q.status = "reported";
    check_query(ctx, ws, q, "status reported");
    q.status = "closed";
    g.n = 0;
    CHECK_OK(ctx, wg_incidents_query(ws, &q, collect, &g));
    CHECK(g.n == 0);
    q.status = NULL;
    /* Paging by after_id reproduces the whole list. */
    int64_t after = q.after_id;
    size_t total = 0;
    int in_order = 1;
    for (;;) {
        wg_incident_query p = {.after_id = after, .limit = 37};
        got_ids pg = {{0}, 0};
        CHECK_OK(ctx, wg_incidents_query(ws, &p, collect, &pg));
        for (size_t i = 0; i < pg.n; i++) in_order &= pg.ids[i] == S[total + i].id;
        total += pg.n;
        if (pg.n < 37) break;
        after = pg.ids[pg.n - 1];
    }
    CHECK(total == NQ && in_order);
    /* Bad filters. */
    q.since = "yesterday";
    CHECK(wg_incidents_query(ws, &q, collect, &g) == WG_ERR_INVALID_ARG);
    q.since = NULL;
    q.has_bbox = 1;
    q.bbox[0] = 2, q.bbox[2] = 1;
    CHECK(wg_incidents_query(ws, &q, collect, &g) == WG_ERR_INVALID_ARG);
}

typedef struct evs {
    int n, from_null;
    char to[16], actor[32], event[16];
} evs;

static int on_event(void *user, const wg_incident_event *ev) {
    evs *e = user;
    e->n++;
    e->from_null = ev->from_status == NULL;
    snprintf(e->to, sizeof e->to, "%s", ev->to_status ? ev->to_status : "");
    snprintf(e->actor, sizeof e->actor, "%s", ev->actor ? ev->actor : "");
    snprintf(e->event, sizeof e->event, "%s", ev->event ? ev->event : "");
    return 0;
}

int main(void) {
    wg_ctx *ctx = NULL;
    CHECK(wg_ctx_new(&ctx) == WG_OK);
    PJ *raw = proj_create_crs_to_crs(ctx->proj, "EPSG:4549", "EPSG:4326", NULL);
    to_ll = proj_normalize_for_visualization(ctx->proj, raw);
    proj_destroy(raw);
    wg_ws *ws = fresh_ws(ctx, "incidents.sqlite", 4549);
    build(ctx, ws, "units.geojson");
    CHECK_OK(ctx, wg_incidents_init(ws));
    CHECK_OK(ctx, wg_incidents_init(ws)); /* idempotent */
    wg_locator *loc = NULL;
    CHECK_OK(ctx, wg_locator_build(ws, NULL, &loc));
    if (!loc) TEST_MAIN_END();

    /* Inside: the grid worker's, due at the end of the local (UTC+8) day. */
    wg_incident_new in = at_offset(300, 300);
    in.src_crs = "gcj02";
    in.category = "治安问题";
    in.description = "两行\n描述\t";
    in.reporter = "OF0000001";
    in.reported_at = "2024-03-01T08:00:00+08:00";
    in.ext_id = "H-1";
    in.actor = "key:handset";
    wg_incident_receipt r;
    CHECK_OK(ctx, wg_incident_add(ws, loc, 30, &in, &r));
    CHECK(r.id == 1 && !r.duplicate);
    CHECK(r.placement.status == WG_PLACE_INSIDE);
    CHECK_STR(r.placement.grid.code, "320724100201001");
    CHECK_STR(r.placement.micro.code, "320724100201001001");
    CHECK_STR(r.level, "grid");
    CHECK_STR(r.reported_at, "2024-03-01T00:00:00Z");
    CHECK_STR(r.deadline, "2024-03-01T15:59:59Z"); /* 23:59:59 in Beijing */
    CHECK(strlen(r.received_at) == 20);
    wg_incident *inc = NULL;
    CHECK_OK(ctx, wg_incident_get(ws, r.id, &inc));
    if (inc) {
        CHECK_STR(inc->status, "reported");
        CHECK_STR(inc->grid, "320724100201001");
        CHECK_STR(inc->micro, "320724100201001001");
        CHECK_STR(inc->village, "320724100201");
        CHECK_STR(inc->town, "320724100");
        CHECK_STR(inc->county, "320724");
        CHECK_STR(inc->exclusive, "32072410020100101001");
        CHECK_STR(inc->category, "治安问题");
        CHECK_STR(inc->description, "两行\n描述\t");
        CHECK_STR(inc->reporter, "OF0000001");
        CHECK_STR(inc->src_crs, "gcj02");
        CHECK_STR(inc->ext_id, "H-1");
        CHECK_STR(inc->place_status, "inside");
        CHECK_STR(inc->level, "grid");
        CHECK_STR(inc->deadline, r.deadline);
        CHECK_STR(inc->reported_at, "2024-03-01T00:00:00Z");
        CHECK_STR(inc->received_at, r.received_at);
        CHECK(inc->lon == in.lon && inc->lat == in.lat && inc->dist_m == 0);
        CHECK_STR(wg_incident_scope_code(inc), "320724100201001");
    }
    wg_incident_free(inc);
    CHECK(wg_incident_get(ws, 99, &inc) == WG_ERR_NOT_FOUND);

    /* Its history starts with the report. */
    evs e = {0};
    CHECK_OK(ctx, wg_incident_events(ws, 1, on_event, &e));
    CHECK(e.n == 1);
    CHECK_STR(e.event, "report");
    CHECK_STR(e.to, "reported");
    CHECK_STR(e.actor, "key:handset");
    CHECK(e.from_null);

    /* Reported in the evening UTC = the next local day. */
    in.ext_id = NULL;
    in.reported_at = "2024-03-01T16:30:00Z"; /* 2024-03-02T00:30 in Beijing */
    CHECK_OK(ctx, wg_incident_add(ws, loc, 30, &in, &r));
    CHECK_STR(r.deadline, "2024-03-02T15:59:59Z");
    in.reported_at = "2024-03-01T23:59:59+08:00";
    CHECK_OK(ctx, wg_incident_add(ws, loc, 30, &in, &r));
    CHECK_STR(r.deadline, "2024-03-01T15:59:59Z");
    /* No time given: now. */
    in.reported_at = NULL;
    CHECK_OK(ctx, wg_incident_add(ws, loc, 30, &in, &r));
    CHECK_STR(r.reported_at, r.received_at);

    /* 20 m outside every grid: snapped, still the grid's. 500 m out: the county's,
     * due in 7 days, with no unit codes. */
    wg_incident_new near = at_offset(3000, -20), far = at_offset(3000, -500);
    near.reported_at = far.reported_at = "2024-03-01T08:00:00+08:00";
    CHECK_OK(ctx, wg_incident_add(ws, loc, 30, &near, &r));
    CHECK(r.placement.status == WG_PLACE_NEAREST);
    CHECK_STR(r.placement.grid.code, "320724101202001");
    CHECK_STR(r.level, "grid");
    CHECK_OK(ctx, wg_incident_add(ws, loc, 30, &far, &r));
    CHECK(r.placement.status == WG_PLACE_OUTSIDE);
    CHECK_STR(r.level, "county");
    CHECK_STR(r.deadline, "2024-03-08T15:59:59Z");
    CHECK_OK(ctx, wg_incident_get(ws, r.id, &inc));
    if (inc) {
        CHECK(inc->grid == NULL && inc->county == NULL && isnan(inc->dist_m));
        CHECK(wg_incident_scope_code(inc) == NULL);
        CHECK_STR(inc->place_status, "outside");
        CHECK_STR(inc->src_crs, "wgs84");
    }
    wg_incident_free(inc);

    /* A retry with the same ext_id and reporter stores nothing new; another
     * reporter's ext_id is another incident. */
    int64_t n0 = count_incidents(ws);
    in = at_offset(300, 300);
    in.ext_id = "H-1";
    in.reporter = "OF0000001";
    CHECK_OK(ctx, wg_incident_add(ws, loc, 30, &in, &r));
    CHECK(r.duplicate && r.id == 1 && count_incidents(ws) == n0);
    in.reporter = "OF0000002";
    CHECK_OK(ctx, wg_incident_add(ws, loc, 30, &in, &r));
    CHECK(!r.duplicate && r.id > 1 && count_incidents(ws) == n0 + 1);
    /* ... also inside one batch. */
    wg_incident_new two[2] = {in, in};
    two[0].ext_id = two[1].ext_id = "H-2";
    wg_incident_receipt rr[3];
    CHECK_OK(ctx, wg_incidents_add(ws, loc, 30, two, 2, rr));
    CHECK(!rr[0].duplicate && rr[1].duplicate && rr[0].id == rr[1].id);
    CHECK(count_incidents(ws) == n0 + 2);

    /* Bad input fails the whole batch and stores nothing. */
    n0 = count_incidents(ws);
    wg_incident_new bad[3] = {at_offset(100, 100), at_offset(200, 200), at_offset(300, 300)};
    bad[1].lon = NAN;
    CHECK(wg_incidents_add(ws, loc, 30, bad, 3, rr) == WG_ERR_INVALID_ARG);
    bad[1] = at_offset(200, 200);
    bad[1].lat = 91;
    CHECK(wg_incidents_add(ws, loc, 30, bad, 3, rr) == WG_ERR_INVALID_ARG);
    bad[1] = at_offset(200, 200);
    const char *texts[] = {"a\x01" "b", "\xff\xfe", "x\ny"};
    for (int i = 0; i < 3; i++) {
        bad[1].category = texts[i];
        CHECK(wg_incidents_add(ws, loc, 30, bad, 3, rr) == WG_ERR_INVALID_ARG);
    }
    bad[1].category = NULL;
    char longtext[WG_INCIDENT_DESC_MAX + 2];
    memset(longtext, 'x', sizeof longtext - 1);
    longtext[sizeof longtext - 1] = '\0';
    bad[1].description = longtext;
    CHECK(wg_incidents_add(ws, loc, 30, bad, 3, rr) == WG_ERR_INVALID_ARG);
    longtext[WG_INCIDENT_DESC_MAX] = '\0'; /* exactly the limit: fine below */
    bad[1].description = NULL;
    const char *times[] = {"2024-03-01", "2024-03-01T08:00:00", "2024-02-30T08:00:00Z",
                           "2099-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "tomorrow"};
    for (int i = 0; i < 6; i++) {
        bad[1].reported_at = times[i];
        CHECK(wg_incidents_add(ws, loc, 30, bad, 3, rr) == WG_ERR_INVALID_ARG);
    }
    CHECK(count_incidents(ws) == n0);
    bad[1].reported_at = NULL;
    bad[1].description = longtext;
    CHECK_OK(ctx, wg_incidents_add(ws, loc, 30, bad, 3, rr));
    CHECK(rr[1].id == rr[0].id + 1 && rr[2].id == rr[1].id + 1);
    CHECK(count_incidents(ws) == n0 + 3);
    CHECK(wg_incidents_add(ws, NULL, 30, bad, 3, rr) == WG_ERR_INVALID_ARG);
    CHECK_OK(ctx, wg_incidents_add(ws, loc, 30, bad, 0, rr)); /* nothing to do */

    queries(ctx, ws, loc);

    /* The units the service shows. */
    wg_unit_info *u = NULL;
    CHECK_OK(ctx, wg_unit_get(ws, "320724100201001", NULL, &u));
    if (u) {
        CHECK_STR(u->name, "G1");
        CHECK_STR(u->level, "grid");
        CHECK_STR(u->parent, "320724100201");
        CHECK(u->valid_to == NULL && u->area_m2 > 1.99e6 && u->area_m2 < 2.01e6);
        CHECK(!strncmp(u->geojson, "{\"type\":\"MultiPolygon\",\"coordinates\":[[[", 40));
    }
    wg_unit_info_free(u);
    u = NULL;
    CHECK_OK(ctx, wg_unit_get(ws, "320724", "2024-06-01", &u));
    wg_unit_info_free(u);
    CHECK(wg_unit_get(ws, "320724", "2023-06-01", &u) == WG_ERR_NOT_FOUND);
    CHECK(wg_unit_get(ws, "nope", NULL, &u) == WG_ERR_NOT_FOUND);
    CHECK(wg_unit_get(ws, "320724", "2024-13-01", &u) == WG_ERR_INVALID_ARG);
    CHECK(wg_unit_get(ws, "", NULL, &u) == WG_ERR_INVALID_ARG);

    /* The fingerprint moves with the units, not with incidents. */
    uint64_t s1 = 0, s2 = 0, s3 = 0;
    CHECK_OK(ctx, wg_units_stamp(ws, &s1));
    CHECK_OK(ctx, wg_incident_add(ws, loc, 30, &in, &r));
    CHECK_OK(ctx, wg_units_stamp(ws, &s2));
    CHECK(s1 == s2);
    gj g;
    gj_begin(&g);
    gj_rect(&g, "grid", "320724100201003", "G4", 0, 0, 1000, 1000);
    gj_end(&g, tpath("g4.geojson"));
    wg_import_opts o = import_opts(WG_LEVEL_GRID, "EPSG:4549");
    o.valid_from = "2025-01-01";
    CHECK_OK(ctx, wg_grids_import(ws, tpath("g4.geojson"), &o, NULL));
    CHECK_OK(ctx, wg_units_stamp(ws, &s3));
    CHECK(s3 != s2);
    wg_locator_free(loc);
    wg_ws_close(ws);

    /* Read-only: reading works, adding is refused. */
    CHECK_OK(ctx, wg_ws_open(ctx, tpath("incidents.sqlite"), 1, &ws));
    CHECK_OK(ctx, wg_locator_build(ws, NULL, &loc));
    CHECK_OK(ctx, wg_incident_get(ws, 1, &inc));
    wg_incident_free(inc);
    in = at_offset(300, 300);
    CHECK(wg_incident_add(ws, loc, 30, &in, &r) == WG_ERR_INVALID_ARG);
    wg_locator_free(loc);
    wg_ws_close(ws);
    proj_destroy(to_ll);
    wg_ctx_free(ctx);
    TEST_MAIN_END();
}
