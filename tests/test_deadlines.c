/* test_deadlines.c -- the rule table and the working-day calendar.
 *
 * The calendar is China's 2024 National Day holiday: 1-7 October off,
 * Sunday 29 September and Saturday 12 October worked instead (调休).
 * Deadlines are checked two ways: cases worked out by hand from that
 * calendar, and a brute-force oracle that steps minute by minute through
 * local time, judging each day with the C library's own weekday (gmtime)
 * and the holiday list written out here. Also: the colour through a
 * holiday, parsing errors with their line, the text round trip and
 * storing in a workspace. */
#include "testutil.h"

#include "deadlines.h"
#include "httpparse.h"

#include <time.h>

static const char *const RULES =
    "# 2024 National Day\n"
    "warning 80%\n"
    "work_hours 09:00-17:00\n"
    "limit village * 3 workdays\n"
    "limit town * 2 workhours\n"
    "limit county * 36 hours\n"
    "limit grid 噪音扰民 0 workdays   # same working day\n"
    "limit dispatch * 1 workdays\n"
    "holiday 2024-10-01..2024-10-07\n"
    "workday 2024-09-29\n"
    "workday 2024-10-12\n";

static int64_t T(const char *s) {
    int64_t t = -1;
    CHECK(wg_time_parse(s, strlen(s), &t));
    return t;
}

static const char *F(int64_t t) {
    static char buf[8][24];
    static int k;
    char *b = buf[k++ % 8];
    wg_time_format(t, b);
    return b;
}

/* ---- the oracle ----------------------------------------------------------- */

static int oracle_workday(int64_t local_s) {
    time_t tt = (time_t)local_s;
    struct tm tm;
    gmtime_r(&tt, &tm);
    char d[11];
    strftime(d, sizeof d, "%Y-%m-%d", &tm);
    if (!strcmp(d, "2024-09-29") || !strcmp(d, "2024-10-12")) return 1;
    if (strcmp(d, "2024-10-01") >= 0 && strcmp(d, "2024-10-07") <= 0) return 0;
    return tm.tm_wday != 0 && tm.tm_wday != 6;
}

/* N working hours (09:00-17:00 local) from `start`, a minute at a time. */
static int64_t oracle_workhours(int64_t start, int hours) {
    int64_t need = hours * 60, t = start + 8 * 3600; /* local seconds */
    while (need > 0) {
        int mod = (int)(t % 86400);
        if (oracle_workday(t) && mod >= 9 * 3600 && mod < 17 * 3600) need--;
        t += 60;
    }
    return t - 8 * 3600;
}

/* The end of the Nth working day after start's local day. */
static int64_t oracle_workdays(int64_t start, int n) {
    int64_t day = (start + 8 * 3600) / 86400;
    if (n == 0)
        while (!oracle_workday(day * 86400)) day++;
    for (int seen = 0; seen < n;)
        seen += oracle_workday(++day * 86400);
    return (day + 1) * 86400 - 1 - 8 * 3600;
}

static void by_hand(wg_ctx *ctx, const wg_rules *r) {
    int64_t d;
    wg_clock c;
    /* Friday 27 Sept 10:00: Sun 29 (make-up) is 1, Mon 30 is 2, the holiday,
     * Tue 8 Oct is 3. */
    CHECK_OK(ctx, wg_rules_deadline(ctx, r, "village", NULL, T("2024-09-27T10:00:00+08:00"), &d, &c));
    CHECK_STR(F(d), "2024-10-08T15:59:59Z");
    CHECK(c == WG_CLOCK_WORKDAYS);
    /* Saturday 28 Sept: dispatch within 1 working day = Sunday 29 (make-up). */
    CHECK_OK(ctx, wg_rules_deadline(ctx, r, "dispatch", "x", T("2024-09-28T10:00:00+08:00"), &d, NULL));
    CHECK_STR(F(d), "2024-09-29T15:59:59Z");
    /* Monday 30 Sept 16:00 + 2 working hours: 1 h that day, 1 h on 8 Oct. */
    CHECK_OK(ctx, wg_rules_deadline(ctx, r, "town", NULL, T("2024-09-30T16:00:00+08:00"), &d, &c));
    CHECK_STR(F(d), "2024-10-08T02:00:00Z");
    CHECK(c == WG_CLOCK_WORKHOURS);
    /* Friday 11 Oct + 1 working day: Saturday 12 (make-up). */
    CHECK_OK(ctx, wg_rules_deadline(ctx, r, "dispatch", NULL, T("2024-10-11T10:00:00+08:00"), &d, NULL));
    CHECK_STR(F(d), "2024-10-12T15:59:59Z");
    /* A category's own rule: 0 working days from a holiday = end of 8 Oct. */
    CHECK_OK(ctx, wg_rules_deadline(ctx, r, "grid", "噪音扰民", T("2024-10-05T10:00:00+08:00"), &d, NULL));
    CHECK_STR(F(d), "2024-10-08T15:59:59Z");
    /* Other categories keep the default: same calendar day, holiday or not. */
    CHECK_OK(ctx, wg_rules_deadline(ctx, r, "grid", "治安问题", T("2024-10-05T10:00:00+08:00"), &d, &c));
    CHECK_STR(F(d), "2024-10-05T15:59:59Z");
    CHECK(c == WG_CLOCK_DAYS);
    /* Calendar hours ignore the calendar. */
    CHECK_OK(ctx, wg_rules_deadline(ctx, r, "county", NULL, T("2024-09-30T20:00:00+08:00"), &d, NULL));
    CHECK_STR(F(d), "2024-10-02T00:00:00Z");
    CHECK(wg_rules_is_workday(r, T("2024-09-29T12:00:00+08:00")) == 1);
    CHECK(wg_rules_is_workday(r, T("2024-10-01T12:00:00+08:00")) == 0);
    CHECK(wg_rules_is_workday(r, T("2024-10-12T12:00:00+08:00")) == 1);
    CHECK(wg_rules_is_workday(r, T("2024-10-13T12:00:00+08:00")) == 0);
    CHECK(wg_rules_is_workday(r, T("2024-10-14T12:00:00+08:00")) == 1);
    /* Local days: 2024-10-07T23:30Z is already 8 Oct in Beijing. */
    CHECK(wg_rules_is_workday(r, T("2024-10-07T16:30:00Z")) == 1);
    CHECK(wg_rules_is_workday(r, T("2024-10-07T15:30:00Z")) == 0);
}

static void brute_force(wg_ctx *ctx, const wg_rules *r, wg_rules *town_hours[5]) {
    /* Every 97 minutes from 20 Sept to 20 Oct: the workday limits of 0..4
     * days and the workhour limits of 1, 2, 5, 8 and 13 hours. */
    static const int HOURS[5] = {1, 2, 5, 8, 13};
    int n = 0, bad = 0;
    for (int64_t t = T("2024-09-20T00:00:00+08:00"); t < T("2024-10-20T00:00:00+08:00");
         t += 97 * 60) {
        for (int k = 0; k < 5; k++) {
            int64_t d;
            CHECK_OK(ctx, wg_rules_deadline(ctx, town_hours[k], "town", NULL, t, &d, NULL));
            if (d != oracle_workhours(t, HOURS[k]) && bad++ < 5)
                fprintf(stderr, "workhours %d from %s: %s vs %s\n", HOURS[k], F(t), F(d),
                        F(oracle_workhours(t, HOURS[k])));
            CHECK_OK(ctx, wg_rules_deadline(ctx, town_hours[k], "village", NULL, t, &d, NULL));
            if (d != oracle_workdays(t, k) && bad++ < 5)
                fprintf(stderr, "workdays %d from %s: %s vs %s\n", k, F(t), F(d),
                        F(oracle_workdays(t, k)));
            n += 2;
        }
    }
    (void)r;
    CHECK(n > 4000);
    CHECK(bad == 0);
}

static void colours(wg_ctx *ctx, const wg_rules *r) {
    /* Village, 3 working days from Friday 27 Sept 10:00 to the end of 8 Oct:
     * working time 14 + 24 + 24 + 24 = 86 h; 80% = 68.8 h, reached on
     * 8 Oct at 06:48. Through the whole holiday it stays green. */
    int64_t s = T("2024-09-27T10:00:00+08:00"), d;
    CHECK_OK(ctx, wg_rules_deadline(ctx, r, "village", NULL, s, &d, NULL));
    CHECK(wg_rules_colour(r, WG_CLOCK_WORKDAYS, s, d, T("2024-09-30T23:00:00+08:00")) == WG_COLOUR_GREEN);
    CHECK(wg_rules_colour(r, WG_CLOCK_WORKDAYS, s, d, T("2024-10-05T12:00:00+08:00")) == WG_COLOUR_GREEN);
    CHECK(wg_rules_colour(r, WG_CLOCK_WORKDAYS, s, d, T("2024-10-08T06:47:00+08:00")) == WG_COLOUR_GREEN);
    CHECK(wg_rules_colour(r, WG_CLOCK_WORKDAYS, s, d, T("2024-10-08T06:48:00+08:00")) == WG_COLOUR_YELLOW);
    CHECK(wg_rules_colour(r, WG_CLOCK_WORKDAYS, s, d, T("2024-10-08T23:59:59+08:00")) == WG_COLOUR_YELLOW);
    CHECK(wg_rules_colour(r, WG_CLOCK_WORKDAYS, s, d, T("2024-10-09T00:00:00+08:00")) == WG_COLOUR_RED);
    /* Calendar hours: 36 h from 30 Sept 20:00; yellow from 28.8 h. */
    s = T("2024-09-30T20:00:00+08:00");
    CHECK_OK(ctx, wg_rules_deadline(ctx, r, "county", NULL, s, &d, NULL));
    CHECK(wg_rules_colour(r, WG_CLOCK_HOURS, s, d, s + 28 * 3600 + 47 * 60) == WG_COLOUR_GREEN);
    CHECK(wg_rules_colour(r, WG_CLOCK_HOURS, s, d, s + 28 * 3600 + 48 * 60) == WG_COLOUR_YELLOW);
    CHECK(wg_rules_colour(r, WG_CLOCK_HOURS, s, d, s + 36 * 3600 + 1) == WG_COLOUR_RED);
}

static void parsing(wg_ctx *ctx, const wg_rules *r) {
    wg_rules *x = NULL;
    CHECK(wg_rules_parse(ctx, "warning 80%\nlimit town * 2 weeks\n", "f.txt", &x) == WG_ERR_FORMAT);
    CHECK(strstr(wg_ctx_errmsg(ctx), "f.txt:2:") != NULL);
    CHECK(wg_rules_parse(ctx, "limit shire * 2 days\n", "f.txt", &x) == WG_ERR_FORMAT);
    CHECK(wg_rules_parse(ctx, "limit town * 2.5 days\n", "f.txt", &x) == WG_ERR_FORMAT);
    CHECK(wg_rules_parse(ctx, "limit town * -1 hours\n", "f.txt", &x) == WG_ERR_FORMAT);
    CHECK(wg_rules_parse(ctx, "\n\nholiday 2024-02-30\n", "f.txt", &x) == WG_ERR_FORMAT);
    CHECK(strstr(wg_ctx_errmsg(ctx), "f.txt:3:") != NULL);
    CHECK(wg_rules_parse(ctx, "holiday 2024-10-07..2024-10-01\n", "f.txt", &x) == WG_ERR_FORMAT);
    CHECK(wg_rules_parse(ctx, "warning 120%\n", "f.txt", &x) == WG_ERR_FORMAT);
    CHECK(wg_rules_parse(ctx, "work_hours 17:00-09:00\n", "f.txt", &x) == WG_ERR_FORMAT);
    CHECK(wg_rules_parse(ctx, "deadline town 3\n", "f.txt", &x) == WG_ERR_FORMAT);
    CHECK(x == NULL);
    /* Text round trip: formatting and parsing again changes nothing. */
    char *a = wg_rules_format(r);
    CHECK(a && strstr(a, "holiday 2024-10-01..2024-10-07\n") && strstr(a, "workday 2024-09-29\n"));
    CHECK(a && strstr(a, "limit grid 噪音扰民 0 workdays\n"));
    CHECK_OK(ctx, wg_rules_parse(ctx, a, "round", &x));
    char *b = x ? wg_rules_format(x) : NULL;
    CHECK(a && b && !strcmp(a, b));
    free(a);
    free(b);
    wg_rules_free(x);
    /* Overlapping ranges, each within a year, join into a longer run: it is
     * written back in pieces the parser takes (found by fuzz_rules). */
    CHECK_OK(ctx, wg_rules_parse(ctx, "holiday 2024-10-01..2025-10-02\n"
                                      "holiday 2025-10-01..2025-12-02\n", "f.txt", &x));
    a = x ? wg_rules_format(x) : NULL;
    CHECK(a && strstr(a, "holiday 2024-10-01..2025-10-02\nholiday 2025-10-03..2025-12-02\n"));
    wg_rules *y = NULL;
    CHECK_OK(ctx, wg_rules_parse(ctx, a ? a : "", "round", &y));
    b = y ? wg_rules_format(y) : NULL;
    CHECK(a && b && !strcmp(a, b));
    free(a), free(b);
    wg_rules_free(x), wg_rules_free(y);
    x = NULL;
    /* The defaults, in words of the issue. */
    CHECK_OK(ctx, wg_rules_default(ctx, &x));
    int64_t d;
    wg_clock c;
    CHECK_OK(ctx, wg_rules_deadline(ctx, x, "town", NULL, T("2024-03-01T10:00:00+08:00"), &d, &c));
    CHECK_STR(F(d), "2024-03-06T15:59:59Z");
    CHECK(c == WG_CLOCK_DAYS);
    CHECK_OK(ctx, wg_rules_deadline(ctx, x, "dispatch", NULL, T("2024-03-01T10:00:00+08:00"), &d, &c));
    CHECK_STR(F(d), "2024-03-04T15:59:59Z"); /* Friday -> Monday */
    CHECK(c == WG_CLOCK_WORKDAYS);
    wg_rules_free(x);
}

static void stored(wg_ctx *ctx, const wg_rules *r) {
    wg_ws *ws = fresh_ws(ctx, "deadlines.sqlite", 4549);
    wg_rules *x = NULL;
    CHECK_OK(ctx, wg_rules_load(ws, &x)); /* none stored: the defaults */
    char *a = x ? wg_rules_format(x) : NULL;
    CHECK(a && strstr(a, "limit village * 3 days\n"));
    free(a);
    wg_rules_free(x);
    CHECK_OK(ctx, wg_rules_store(ws, r));
    CHECK_OK(ctx, wg_rules_load(ws, &x));
    a = wg_rules_format(r);
    char *b = x ? wg_rules_format(x) : NULL;
    CHECK(a && b && !strcmp(a, b));
    free(a);
    free(b);
    wg_rules_free(x);
    wg_ws_close(ws);
}

int main(void) {
    wg_ctx *ctx = NULL;
    CHECK(wg_ctx_new(&ctx) == WG_OK);
    wg_rules *r = NULL;
    CHECK_OK(ctx, wg_rules_parse(ctx, RULES, "rules.txt", &r));
    if (!r) TEST_MAIN_END();
    by_hand(ctx, r);
    wg_rules *variants[5] = {0};
    static const int HOURS[5] = {1, 2, 5, 8, 13};
    for (int k = 0; k < 5; k++) {
        char text[1024];
        snprintf(text, sizeof text, "%slimit town * %d workhours\nlimit village * %d workdays\n",
                 RULES, HOURS[k], k);
        CHECK_OK(ctx, wg_rules_parse(ctx, text, "variant", &variants[k]));
    }
    if (variants[4]) brute_force(ctx, r, variants);
    for (int k = 0; k < 5; k++) wg_rules_free(variants[k]);
    colours(ctx, r);
    parsing(ctx, r);
    stored(ctx, r);
    wg_rules_free(r);
    wg_ctx_free(ctx);
    TEST_MAIN_END();
}
