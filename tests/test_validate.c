/* test_validate.c -- each defect found once, with the right code and area.
 *
 * The layout is rectangles in metres (EPSG:4549), so the expected areas are
 * exact products, independent of the code under test:
 *   county/town [0,4000]x[0,2000]; villages V1 [0,2000], V2 [2000,4000];
 *   four 1 km grids per village. Defects:
 *   - G2 starts at x=900 instead of 1000: overlaps G1 by 100 x 1000 m;
 *   - G4 stops at y=900 instead of 1000: leaves 1000 x 100 m of V1 uncovered;
 *   - G7 is a bow-tie (invalid), and in the same village G6 starts at
 *     x=2950 instead of 3000: overlaps G5 by 50 x 1000 m (an invalid unit
 *     must not hide its neighbours' overlaps);
 *   - G8 carries G6's code (duplicate);
 *   - G5's code does not begin with V2's code (prefix);
 *   - exclusive grid E1 [1850,2100]x[500,700] pokes 100 x 200 m out of V1. */
#include "testutil.h"

static void write_layout(const char *path, int defects) {
    gj g;
    gj_begin(&g);
    gj_rect(&g, "county", "320724", "灌南县", 0, 0, 4000, 2000);
    gj_rect(&g, "town", "320724100", "新安镇", 0, 0, 4000, 2000);
    gj_rect(&g, "village", "320724100201", "V1", 0, 0, 2000, 2000);
    gj_rect(&g, "village", "320724100202", "V2", 2000, 0, 4000, 2000);
    gj_rect(&g, "grid", "320724100201001", "G1", 0, 1000, 1000, 2000);
    gj_rect(&g, "grid", "320724100201002", "G2", defects ? 900 : 1000, 1000, 2000, 2000);
    gj_rect(&g, "grid", "320724100201003", "G3", 0, 0, 1000, 1000);
    gj_rect(&g, "grid", "320724100201004", "G4", 1000, 0, 2000, defects ? 900 : 1000);
    gj_rect(&g, "grid", defects ? "320724100299001" : "320724100202001", "G5", 2000, 1000, 3000,
            2000);
    gj_rect(&g, "grid", "320724100202002", "G6", defects ? 2950 : 3000, 1000, 4000, 2000);
    if (defects) {
        double bowtie[8] = {2000, 0, 3000, 1000, 3000, 0, 2000, 1000};
        gj_poly(&g, "grid", "320724100202003", "G7", bowtie, 4);
    } else {
        gj_rect(&g, "grid", "320724100202003", "G7", 2000, 0, 3000, 1000);
    }
    gj_rect(&g, "grid", defects ? "320724100202002" : "320724100202004", "G8", 3000, 0, 4000,
            1000);
    gj_rect(&g, "exclusive", "32072410020100401001", "E1", defects ? 1850 : 1700, 500,
            defects ? 2100 : 1950, 700);
    gj_end(&g, path);
}

static size_t count_kind(const wg_issue_list *l, wg_issue_kind k) {
    size_t n = 0;
    for (size_t i = 0; i < l->count; i++) n += l->items[i].kind == k;
    return n;
}

static const wg_issue *find_kind(const wg_issue_list *l, wg_issue_kind k) {
    for (size_t i = 0; i < l->count; i++)
        if (l->items[i].kind == k) return &l->items[i];
    return NULL;
}

static wg_issue_list *run(wg_ctx *ctx, const char *name, int defects) {
    wg_ws *ws = fresh_ws(ctx, name, 4549);
    char gj_name[64];
    snprintf(gj_name, sizeof gj_name, "%s.geojson", name);
    const char *p = tpath(gj_name);
    write_layout(p, defects);
    wg_import_opts o = import_opts(-1, "EPSG:4549");
    wg_import_report rep;
    CHECK_OK(ctx, wg_grids_import(ws, p, &o, &rep));
    wg_issue_list *l = NULL;
    CHECK_OK(ctx, wg_validate(ws, NULL, &l));
    wg_ws_close(ws);
    return l;
}

/* Sizes: an urban town (village A: forty 50 m wide grids, 0.1 km2 each;
 * village B: B1 as small, B2 3.9 km2) beside a rural one (village C: two
 * 2 km2 grids; village D: four 1 km2 grids). B, C and D have fewer than
 * five grids, so each grid is compared with its cousins (the grids of its
 * town): B2 is 39x its town's median and is the one warning; C's and D's
 * grids are ordinary for their town though 10-20x the county's median. */
static void test_sizes(wg_ctx *ctx) {
    gj g;
    gj_begin(&g);
    gj_rect(&g, "county", "320724", "灌南县", 0, 0, 8000, 2000);
    gj_rect(&g, "town", "320724100", "T1", 0, 0, 4000, 2000);
    gj_rect(&g, "town", "320724101", "T2", 4000, 0, 8000, 2000);
    gj_rect(&g, "village", "320724100201", "A", 0, 0, 2000, 2000);
    gj_rect(&g, "village", "320724100202", "B", 2000, 0, 4000, 2000);
    gj_rect(&g, "village", "320724101201", "C", 4000, 0, 6000, 2000);
    gj_rect(&g, "village", "320724101202", "D", 6000, 0, 8000, 2000);
    char code[32], name[16];
    for (int k = 0; k < 40; k++) {
        snprintf(code, sizeof code, "320724100201%03d", k + 1);
        snprintf(name, sizeof name, "A%d", k + 1);
        gj_rect(&g, "grid", code, name, k * 50, 0, (k + 1) * 50, 2000);
    }
    gj_rect(&g, "grid", "320724100202001", "B1", 2000, 0, 2050, 2000);
    gj_rect(&g, "grid", "320724100202002", "B2", 2050, 0, 4000, 2000);
    gj_rect(&g, "grid", "320724101201001", "C1", 4000, 0, 5000, 2000);
    gj_rect(&g, "grid", "320724101201002", "C2", 5000, 0, 6000, 2000);
    for (int k = 0; k < 4; k++) {
        snprintf(code, sizeof code, "320724101202%03d", k + 1);
        snprintf(name, sizeof name, "D%d", k + 1);
        gj_rect(&g, "grid", code, name, 6000 + k * 500, 0, 6500 + k * 500, 2000);
    }
    gj_end(&g, tpath("sizes.geojson"));
    wg_ws *ws = fresh_ws(ctx, "sizes.sqlite", 4549);
    wg_import_opts o = import_opts(-1, "EPSG:4549");
    CHECK_OK(ctx, wg_grids_import(ws, tpath("sizes.geojson"), &o, NULL));
    wg_issue_list *l = NULL;
    CHECK_OK(ctx, wg_validate(ws, NULL, &l));
    if (l) {
        CHECK(count_kind(l, WG_ISSUE_SIZE_OUTLIER) == 1);
        const wg_issue *is = find_kind(l, WG_ISSUE_SIZE_OUTLIER);
        CHECK(is && !strcmp(is->code, "320724100202002"));
        CHECK(is && strstr(is->message, "cousins") != NULL);
        CHECK(is && fabs(is->area_m2 - 3.9e6) < 1.0);
        for (size_t i = 0; i < l->count; i++)
            if (l->items[i].kind == WG_ISSUE_SIZE_OUTLIER)
                fprintf(stderr, "  sizes: %s\n", l->items[i].message);
    }
    wg_issue_list_free(l);
    wg_ws_close(ws);
}

int main(void) {
    wg_ctx *ctx = NULL;
    CHECK(wg_ctx_new(&ctx) == WG_OK);
    test_sizes(ctx);

    wg_issue_list *clean = run(ctx, "clean.sqlite", 0);
    CHECK(clean && clean->errors == 0 && clean->warnings == 0);
    for (size_t i = 0; clean && i < clean->count; i++)
        fprintf(stderr, "unexpected: %s\n", clean->items[i].message);
    wg_issue_list_free(clean);

    wg_issue_list *l = run(ctx, "defects.sqlite", 1);
    if (!l) TEST_MAIN_END();
    for (size_t i = 0; i < l->count; i++)
        fprintf(stderr, "  %s: %s (%.3f m2 at %.6f,%.6f)\n", wg_issue_kind_name(l->items[i].kind),
                l->items[i].message, l->items[i].area_m2, l->items[i].lon, l->items[i].lat);
    CHECK(count_kind(l, WG_ISSUE_OVERLAP) == 2);
    CHECK(count_kind(l, WG_ISSUE_GAP) == 1);
    CHECK(count_kind(l, WG_ISSUE_INVALID_GEOMETRY) == 1);
    CHECK(count_kind(l, WG_ISSUE_DUPLICATE_CODE) == 1);
    CHECK(count_kind(l, WG_ISSUE_CODE_PREFIX) == 1);
    CHECK(count_kind(l, WG_ISSUE_OUTSIDE_PARENT) == 1);
    CHECK(count_kind(l, WG_ISSUE_ORPHAN) == 0);
    CHECK(l->errors == 7 && l->warnings == 0);

    const wg_issue *is = find_kind(l, WG_ISSUE_OVERLAP);
    for (size_t i = 0; i < l->count; i++)
        if (l->items[i].kind == WG_ISSUE_OVERLAP && !strcmp(l->items[i].code, "320724100202002")) {
            CHECK_NEAR(l->items[i].area_m2, 50.0 * 1000.0, 0.01);
            CHECK(l->items[i].other_code && !strcmp(l->items[i].other_code, "320724100299001"));
        }
    if (is) {
        CHECK_NEAR(is->area_m2, 100.0 * 1000.0, 0.01);
        CHECK(!strcmp(is->code, "320724100201001") && is->other_code &&
              !strcmp(is->other_code, "320724100201002"));
        /* The location lies in the overlap strip: x in [900,1000] m from the origin. */
        CHECK(is->lon > 119.45 && is->lon < 119.47 && is->lat > 34.1 && is->lat < 34.2);
    }
    if ((is = find_kind(l, WG_ISSUE_GAP))) {
        CHECK_NEAR(is->area_m2, 1000.0 * 100.0, 0.01);
        CHECK_STR(is->code, "320724100201");
    }
    if ((is = find_kind(l, WG_ISSUE_OUTSIDE_PARENT))) {
        CHECK_NEAR(is->area_m2, 100.0 * 200.0, 0.01);
        CHECK_STR(is->code, "32072410020100401001");
        CHECK(is->other_code && !strcmp(is->other_code, "320724100201"));
    }
    if ((is = find_kind(l, WG_ISSUE_INVALID_GEOMETRY))) {
        CHECK_STR(is->code, "320724100202003");
        CHECK(strstr(is->message, "Self-intersection") != NULL);
    }
    if ((is = find_kind(l, WG_ISSUE_DUPLICATE_CODE))) CHECK_STR(is->code, "320724100202002");
    if ((is = find_kind(l, WG_ISSUE_CODE_PREFIX))) CHECK_STR(is->code, "320724100299001");
    wg_issue_list_free(l);

    /* Repair fixes the bow-tie in place: afterwards no invalid geometry. */
    wg_ws *ws = NULL;
    CHECK_OK(ctx, wg_ws_open(ctx, tpath("defects.sqlite"), 0, &ws));
    wg_issue_list *fixed = NULL;
    CHECK_OK(ctx, wg_grids_repair(ws, &fixed));
    CHECK(fixed && fixed->count == 1);
    if (fixed && fixed->count) {
        CHECK_STR(fixed->items[0].code, "320724100202003");
        /* MakeValid splits the bow-tie into its two triangles: 2 x 250,000 m2. */
        CHECK_NEAR(fixed->items[0].area_m2, 500000.0, 0.01);
    }
    wg_issue_list_free(fixed);
    CHECK_OK(ctx, wg_validate(ws, NULL, &l));
    if (l) {
        CHECK(count_kind(l, WG_ISSUE_INVALID_GEOMETRY) == 0);
        /* With G7 valid again, the two triangles of its square that the bow-tie
         * never covered (top and bottom, 250,000 m2 each) show as gaps of V2,
         * beside V1's gap. */
        CHECK(count_kind(l, WG_ISSUE_GAP) == 3);
        double v2_gap = 0;
        for (size_t i = 0; i < l->count; i++)
            if (l->items[i].kind == WG_ISSUE_GAP && !strcmp(l->items[i].code, "320724100202"))
                v2_gap += l->items[i].area_m2;
        CHECK_NEAR(v2_gap, 500000.0, 0.01);
        wg_issue_list_free(l);
    }
    wg_ws_close(ws);
    wg_ctx_free(ctx);
    TEST_MAIN_END();
}
