/* test_stats.c -- closed-loop statistics against figures the test works
 * out itself. 400 incidents are reported at pseudo-random places and
 * times, then moved along random paths of the closed loop (with
 * escalations, rejections, reassignments and ratings); the test keeps its
 * own record of every step and computes received, accepted, closed, on
 * time, open, median hours to close and satisfaction per group by brute
 * force in C (no SQL), and the red/yellow counts from each incident's own
 * state (wg_incident_state_get). Checked for every grouping, with and
 * without a period, and the layer written with -o reopened with GDAL. */
#include "testutil.h"

#include "httpparse.h"

#include <gdal.h>
#include <ogr_api.h>
#include <proj.h>

#define N 400

static wg_ctx *CTX;
static wg_ws *WS;
static uint32_t seed = 12345;
static uint32_t rnd(uint32_t n) {
    seed = seed * 1664525u + 1013904223u;
    return (seed >> 8) % n;
}

typedef struct rec {
    int64_t id, reported, closed;
    char key[5][24]; /* grid, village, town, category, officer */
    int accepted, is_closed, sat, on_time;
    char deadline[24];
} rec;
static rec R[N];

static void build(void) {
    gj g;
    gj_begin(&g);
    gj_rect(&g, "county", "320724", "灌南县", 0, 0, 4000, 2000);
    gj_rect(&g, "town", "320724100", "新安镇", 0, 0, 2000, 2000);
    gj_rect(&g, "town", "320724101", "堆沟港镇", 2000, 0, 4000, 2000);
    gj_rect(&g, "village", "320724100201", "V1", 0, 0, 2000, 2000);
    gj_rect(&g, "village", "320724101202", "V2", 2000, 0, 4000, 1000);
    gj_rect(&g, "village", "320724101203", "V3", 2000, 1000, 4000, 2000);
    gj_rect(&g, "grid", "320724100201001", "G1", 0, 0, 1000, 2000);
    gj_rect(&g, "grid", "320724100201002", "G2", 1000, 0, 2000, 2000);
    gj_rect(&g, "grid", "320724101202001", "G3", 2000, 0, 4000, 1000);
    gj_rect(&g, "grid", "320724101203001", "G4", 2000, 1000, 4000, 2000);
    gj_end(&g, tpath("st-units.geojson"));
    wg_import_opts o = import_opts(-1, "EPSG:4549");
    o.valid_from = "2024-01-01";
    CHECK_OK(CTX, wg_grids_import(WS, tpath("st-units.geojson"), &o, NULL));
    write_file(tpath("st-officers.csv"), "officer_id,name,phone,grid_code,role\n"
                                         "OF1,张三,13800000001,320724100201001,grid_worker\n"
                                         "OF2,李四,13800000002,320724101202001,grid_worker\n"
                                         "OF3,王五,13800000003,320724101203001,police\n");
    CHECK_OK(CTX, wg_officers_import(WS, tpath("st-officers.csv"), NULL));
}

static int64_t T(const char *s) {
    int64_t t = 0;
    wg_time_parse(s, strlen(s), &t);
    return t;
}

/* One step at `*t` (advanced by a few hours first); 1 if it was taken. */
static int step(rec *r, wg_action a, int64_t *t, const char *officer, int sat) {
    *t += 600 + rnd(30 * 3600);
    char at[24];
    wg_time_format(*t, at);
    wg_step s;
    memset(&s, 0, sizeof s);
    s.action = a;
    s.at = at;
    s.officer = officer;
    s.satisfaction = sat;
    wg_step_result res;
    wg_status rc = wg_incident_step(WS, r->id, &s, &res);
    if (rc) {
        fprintf(stderr, "step %s of %lld: %s\n", wg_action_name(a), (long long)r->id,
                wg_ctx_errmsg(CTX));
        CHECK(0);
        return 0;
    }
    snprintf(r->deadline, sizeof r->deadline, "%s", res.deadline);
    return 1;
}

static void populate(void) {
    PJ *raw = proj_create_crs_to_crs(CTX->proj, "EPSG:4549", "EPSG:4326", NULL);
    PJ *to_ll = proj_normalize_for_visualization(CTX->proj, raw);
    proj_destroy(raw);
    wg_locator *loc = NULL;
    CHECK_OK(CTX, wg_locator_build(WS, NULL, &loc));
    static const char *const CATS[] = {"环境卫生", "治安问题", "违章建筑", NULL};
    static const char *const OFF[] = {"OF1", "OF2", "OF3"};
    static wg_incident_new in[N];
    static wg_incident_receipt rcs[N];
    static char rep[N][24];
    for (int i = 0; i < N; i++) {
        rec *r = &R[i];
        double x = -300.0 + rnd(4600), y = -300.0 + rnd(2600);
        PJ_COORD c = proj_trans(to_ll, PJ_FWD, proj_coord(T_X0 + x, T_Y0 + y, 0, 0));
        memset(&in[i], 0, sizeof in[i]);
        in[i].lon = c.xy.x, in[i].lat = c.xy.y;
        in[i].category = CATS[rnd(4)];
        r->reported = T("2024-01-01T00:00:00Z") + rnd(90 * 86400);
        wg_time_format(r->reported, rep[i]);
        in[i].reported_at = rep[i];
    }
    CHECK_OK(CTX, wg_incidents_add(WS, loc, 30, in, N, rcs));
    /* Durability is not what this test is about. */
    CHECK_OK(CTX, wg_ws_exec(WS, "PRAGMA synchronous=OFF"));
    for (int i = 0; i < N; i++) {
        rec *r = &R[i];
        const wg_incident_receipt *rc = &rcs[i];
        r->id = rc->id;
        snprintf(r->deadline, sizeof r->deadline, "%s", rc->deadline);
        const wg_placement *p = &rc->placement;
        snprintf(r->key[0], 24, "%s", p->grid.code ? p->grid.code : "");
        snprintf(r->key[1], 24, "%s", p->village.code ? p->village.code : "");
        snprintf(r->key[2], 24, "%s", p->town.code ? p->town.code : "");
        snprintf(r->key[3], 24, "%s", in[i].category ? in[i].category : "");
        /* A random walk along the loop. */
        int64_t t = r->reported;
        int target = (int)rnd(6); /* 0 reported .. 5 closed */
        int level_up = rc->level[0] == 'g' ? 2 : 0; /* escalations possible from grid */
        if (target >= 1 && level_up && rnd(4) == 0 && step(r, WG_ACT_ESCALATE, &t, NULL, 0)) {
            r->accepted = 1;
        } else if (target >= 1 && step(r, WG_ACT_ACCEPT, &t, NULL, 0)) {
            r->accepted = 1;
        }
        if (target >= 2) {
            const char *o = OFF[rnd(3)];
            if (step(r, WG_ACT_ASSIGN, &t, o, 0)) snprintf(r->key[4], 24, "%s", o);
            if (rnd(5) == 0) {
                o = OFF[rnd(3)];
                if (step(r, WG_ACT_ASSIGN, &t, o, 0)) snprintf(r->key[4], 24, "%s", o);
            }
        }
        if (target >= 3) step(r, WG_ACT_HANDLE, &t, NULL, 0);
        if (target >= 3 && rnd(4) == 0) {
            step(r, WG_ACT_REJECT, &t, NULL, 0);
            step(r, WG_ACT_HANDLE, &t, NULL, 0);
        }
        if (target >= 4) step(r, WG_ACT_VERIFY, &t, NULL, 0);
        if (target >= 5) {
            r->sat = (int)rnd(6);
            if (step(r, WG_ACT_CLOSE, &t, NULL, r->sat)) {
                r->is_closed = 1;
                r->closed = t;
                char ct[24];
                wg_time_format(t, ct);
                r->on_time = strcmp(ct, r->deadline) <= 0;
            }
        }
    }
    wg_locator_free(loc);
    proj_destroy(to_ll);
}

/* ---- the oracle --------------------------------------------------------------- */

typedef struct want {
    char key[24];
    int64_t received, accepted, closed, on_time, open, red, yellow, rated, satisfied, sat_sum;
    double close_h[N];
    int nclose;
} want;

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct got {
    wg_stats_row rows[64];
    char keys[64][24];
    int n;
} got;

static int on_row(void *user, const wg_stats_row *r) {
    got *g = user;
    if (g->n < 64) {
        g->rows[g->n] = *r;
        snprintf(g->keys[g->n], 24, "%s", r->key);
        g->rows[g->n].key = g->keys[g->n];
        g->n++;
    }
    return 0;
}

static int64_t YELLOWS;
static wg_rules *RULES;

static void compare(int by, int64_t from, int64_t to, int64_t at) {
    static want W[64];
    int nw = 0;
    for (int i = 0; i < N; i++) {
        const rec *r = &R[i];
        if ((from && r->reported < from) || (to && r->reported >= to)) continue;
        int k = 0;
        while (k < nw && strcmp(W[k].key, r->key[by])) k++;
        if (k == nw) {
            memset(&W[nw], 0, sizeof W[nw]);
            snprintf(W[nw++].key, 24, "%s", r->key[by]);
        }
        want *w = &W[k];
        w->received++;
        w->accepted += r->accepted;
        if (r->is_closed) {
            w->closed++;
            w->on_time += r->on_time;
            w->close_h[w->nclose++] = (double)(r->closed - r->reported) / 3600.0;
            if (r->sat) {
                w->rated++;
                w->satisfied += r->sat >= 4;
                w->sat_sum += r->sat;
            }
        } else {
            w->open++;
            wg_incident_state st;
            CHECK_OK(CTX, wg_incident_state_get(WS, RULES, r->id, at, &st));
            w->red += st.colour == WG_COLOUR_RED;
            w->yellow += st.colour == WG_COLOUR_YELLOW;
        }
    }
    wg_stats_opts o;
    memset(&o, 0, sizeof o);
    o.by = (wg_stats_by)by;
    char f[24], t[24], a[24];
    wg_time_format(from, f);
    wg_time_format(to, t);
    wg_time_format(at, a);
    o.from = from ? f : NULL;
    o.to = to ? t : NULL;
    o.at = a;
    got g = {0};
    CHECK_OK(CTX, wg_stats_compute(WS, &o, on_row, &g));
    CHECK(g.n == nw);
    int64_t total = 0, reds = 0, yellows = 0;
    for (int k = 0; k < nw; k++) {
        const want *w = &W[k];
        const wg_stats_row *r = NULL;
        for (int j = 0; j < g.n; j++)
            if (!strcmp(g.keys[j], w->key)) r = &g.rows[j];
        CHECK(r != NULL);
        if (!r) continue;
        total += r->received;
        reds += w->red;
        yellows += w->yellow;
        YELLOWS += w->yellow;
        CHECK(r->received == w->received && r->accepted == w->accepted);
        CHECK(r->closed == w->closed && r->closed_on_time == w->on_time);
        CHECK(r->open == w->open && r->overdue_open == w->red && r->warning_open == w->yellow);
        CHECK(r->rated == w->rated && r->satisfied == w->satisfied);
        CHECK_NEAR(r->acceptance_rate, 100.0 * (double)w->accepted / (double)w->received, 1e-9);
        if (w->closed) CHECK_NEAR(r->on_time_rate, 100.0 * (double)w->on_time / (double)w->closed, 1e-9);
        else CHECK(isnan(r->on_time_rate));
        if (w->rated) {
            CHECK_NEAR(r->satisfaction_rate, 100.0 * (double)w->satisfied / (double)w->rated, 1e-9);
            CHECK_NEAR(r->mean_satisfaction, (double)w->sat_sum / (double)w->rated, 1e-9);
        } else {
            CHECK(isnan(r->satisfaction_rate) && isnan(r->mean_satisfaction));
        }
        if (w->nclose) {
            double h[N];
            memcpy(h, w->close_h, (size_t)w->nclose * sizeof *h);
            qsort(h, (size_t)w->nclose, sizeof *h, cmp_d);
            double med = w->nclose % 2 ? h[w->nclose / 2]
                                       : (h[w->nclose / 2 - 1] + h[w->nclose / 2]) / 2;
            CHECK_NEAR(r->median_close_h, med, 1e-9);
        } else {
            CHECK(isnan(r->median_close_h));
        }
    }
    for (int j = 1; j < g.n; j++) CHECK(strcmp(g.keys[j - 1], g.keys[j]) < 0);
    if (!from && !to) {
        CHECK(total == N);
        if (by == 0) fprintf(stderr, "open: %lld red, %lld yellow\n", (long long)reds,
                             (long long)yellows);
        if (by == 0) CHECK(reds > 0);
    }
}

static void layer(void) {
    wg_stats_opts o;
    memset(&o, 0, sizeof o);
    o.by = WG_STATS_VILLAGE;
    o.at = "2024-03-15T00:00:00Z";
    got g = {0};
    CHECK_OK(CTX, wg_stats_compute(WS, &o, on_row, &g));
    const char *path = tpath("st-villages.gpkg");
    unlink(path);
    CHECK_OK(CTX, wg_stats_write(WS, &o, g.rows, (size_t)g.n, path));
    GDALAllRegister();
    GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_VECTOR, NULL, NULL, NULL);
    CHECK(ds != NULL);
    if (!ds) return;
    OGRLayerH l = GDALDatasetGetLayer(ds, 0);
    CHECK(OGR_L_GetFeatureCount(l, 1) == g.n);
    OGRFeatureH f;
    int with_geom = 0, v2 = 0;
    while ((f = OGR_L_GetNextFeature(l))) {
        const char *key = OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "key"));
        with_geom += OGR_F_GetGeometryRef(f) != NULL;
        if (!strcmp(key, "320724101202")) {
            v2 = 1;
            CHECK_STR(OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "name")), "V2");
            for (int j = 0; j < g.n; j++)
                if (!strcmp(g.keys[j], key))
                    CHECK(OGR_F_GetFieldAsInteger64(f, OGR_F_GetFieldIndex(f, "received")) ==
                          g.rows[j].received);
            OGREnvelope e;
            OGR_G_GetEnvelope(OGR_F_GetGeometryRef(f), &e);
            CHECK(e.MinX > 119 && e.MaxX < 120 && e.MinY > 34 && e.MaxY < 34.2);
        }
        OGR_F_Destroy(f);
    }
    CHECK(v2 && with_geom == g.n - 1); /* the group "" (outside every village) has none */
    GDALClose(ds);
    o.by = WG_STATS_CATEGORY;
    CHECK(wg_stats_write(WS, &o, g.rows, (size_t)g.n, tpath("st-cat.shp")) == WG_ERR_INVALID_ARG);
}

int main(void) {
    CHECK(wg_ctx_new(&CTX) == WG_OK);
    WS = fresh_ws(CTX, "stats.sqlite", 4549);
    build();
    populate();
    CHECK_OK(CTX, wg_rules_load(WS, &RULES));
    int64_t at = T("2024-03-15T00:00:00Z");
    for (int by = 0; by < 5; by++) {
        compare(by, 0, 0, at);
        compare(by, T("2024-02-01T00:00:00Z"), T("2024-03-01T00:00:00Z"), at);
    }
    compare(0, 0, 0, T("2024-04-30T00:00:00Z"));
    /* Times inside the reporting period, so some open cases are yellow. */
    for (int h = 0; h < 48; h += 3) compare(1, 0, 0, T("2024-03-28T00:00:00Z") + h * 3600);
    CHECK(YELLOWS > 0);
    layer();
    wg_stats_opts o;
    memset(&o, 0, sizeof o);
    o.from = "yesterday";
    got g = {0};
    CHECK(wg_stats_compute(WS, &o, on_row, &g) == WG_ERR_INVALID_ARG);
    wg_rules_free(RULES);
    wg_ws_close(WS);
    wg_ctx_free(CTX);
    TEST_MAIN_END();
}
