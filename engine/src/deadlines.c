/* deadlines.c -- time limits of the closed loop: the rule table, the
 * working-day calendar and the status colour.
 *
 * Counties set limits per level (grid worker the same day, village 3
 * working days, ...) and sometimes per category, count them in calendar or
 * working time, and publish a holiday calendar each year in which some
 * weekend days become working days (调休). The rules live in the workspace
 * (deadline_rules, work_calendar, wg_meta) and travel as a small text file
 * that an office can edit and load again.
 *
 * All day arithmetic is on local day numbers (days since 1970-01-01 in the
 * rules' UTC offset): China has one zone and no daylight saving, so a fixed
 * offset is exact there. Working time is walked day by day; limits are at
 * most a few weeks, and the colour of work already past its deadline is
 * red without walking, so the loops stay short. */
#include "deadlines.h"
#include "httpparse.h"
#include "workspace.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WALK_DAYS 3660 /* ten years: no limit reaches this */

typedef struct limit {
    char level[16];
    char category[WG_INCIDENT_TEXT_MAX + 1];
    double amount;
    wg_clock clock;
} limit;

typedef struct calday {
    int64_t day; /* local day number */
    int work;    /* 1 make-up working day, 0 holiday */
} calday;

struct wg_rules {
    double warning;
    int offset_s;          /* local time - UTC */
    int work_from, work_to; /* seconds after local midnight */
    limit *lim;
    size_t nlim;
    calday *cal;
    size_t ncal;
};

static const char *const CLOCKS[] = {"days", "workdays", "hours", "workhours"};
static const char *const LEVELS[] = {"grid", "village", "town", "county", "dispatch"};

const char *wg_clock_name(wg_clock c) {
    return (unsigned)c < sizeof CLOCKS / sizeof CLOCKS[0] ? CLOCKS[c] : NULL;
}

const char *wg_colour_name(wg_colour c) {
    static const char *const n[] = {"green", "yellow", "red", "closed"};
    return (unsigned)c < 4 ? n[c] : "green";
}

int wg_clock_parse(const char *s, wg_clock *out) {
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, CLOCKS[i])) {
            *out = (wg_clock)i;
            return 1;
        }
    return 0;
}

static int64_t floordiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

static int64_t local_day(const wg_rules *r, int64_t t) { return floordiv(t + r->offset_s, 86400); }
static int64_t day_start(const wg_rules *r, int64_t d) { return d * 86400 - r->offset_s; }

static int cal_cmp(const void *a, const void *b) {
    int64_t x = ((const calday *)a)->day, y = ((const calday *)b)->day;
    return (x > y) - (x < y);
}

static int workday(const wg_rules *r, int64_t d) {
    calday key = {d, 0};
    const calday *c = r->ncal ? bsearch(&key, r->cal, r->ncal, sizeof *r->cal, cal_cmp) : NULL;
    if (c) return c->work;
    int dow = (int)((d % 7 + 7 + 4) % 7); /* 1970-01-01 was a Thursday; 0 = Sunday */
    return dow != 0 && dow != 6;
}

int wg_rules_is_workday(const wg_rules *r, int64_t t) { return workday(r, local_day(r, t)); }

/* ---- making, copying, freeing --------------------------------------------- */

static wg_status add_limit(wg_ctx *ctx, wg_rules *r, const char *level, const char *cat,
                           double amount, wg_clock clock) {
    for (size_t i = 0; i < r->nlim; i++)
        if (!strcmp(r->lim[i].level, level) && !strcmp(r->lim[i].category, cat)) {
            r->lim[i].amount = amount;
            r->lim[i].clock = clock;
            return WG_OK;
        }
    limit *l = realloc(r->lim, (r->nlim + 1) * sizeof *l);
    if (!l) return wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    r->lim = l;
    limit *n = &l[r->nlim++];
    memset(n, 0, sizeof *n);
    snprintf(n->level, sizeof n->level, "%s", level);
    snprintf(n->category, sizeof n->category, "%s", cat);
    n->amount = amount;
    n->clock = clock;
    return WG_OK;
}

static wg_status add_day(wg_ctx *ctx, wg_rules *r, int64_t d, int work) {
    for (size_t i = 0; i < r->ncal; i++)
        if (r->cal[i].day == d) {
            r->cal[i].work = work;
            return WG_OK;
        }
    calday *c = realloc(r->cal, (r->ncal + 1) * sizeof *c);
    if (!c) return wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    r->cal = c;
    c[r->ncal].day = d;
    c[r->ncal++].work = work;
    return WG_OK;
}

static wg_status defaults(wg_ctx *ctx, wg_rules **out) {
    wg_rules *r = calloc(1, sizeof *r);
    if (!r) return wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    r->warning = 0.8;
    r->offset_s = 8 * 3600;
    r->work_from = 9 * 3600;
    r->work_to = 17 * 3600;
    wg_status rc;
    if ((rc = add_limit(ctx, r, "grid", "*", 0, WG_CLOCK_DAYS)) ||
        (rc = add_limit(ctx, r, "village", "*", 3, WG_CLOCK_DAYS)) ||
        (rc = add_limit(ctx, r, "town", "*", 5, WG_CLOCK_DAYS)) ||
        (rc = add_limit(ctx, r, "county", "*", 7, WG_CLOCK_DAYS)) ||
        (rc = add_limit(ctx, r, "dispatch", "*", 1, WG_CLOCK_WORKDAYS))) {
        wg_rules_free(r);
        return rc;
    }
    *out = r;
    return WG_OK;
}

wg_status wg_rules_default(wg_ctx *ctx, wg_rules **out) { return defaults(ctx, out); }

void wg_rules_free(wg_rules *r) {
    if (!r) return;
    free(r->lim);
    free(r->cal);
    free(r);
}

#define MAX_RANGE_DAYS 366 /* a holiday or workday range spans at most 367 days */

/* ---- parsing ---------------------------------------------------------------- */

static int parse_date(const char *s, size_t len, int64_t *day) {
    int64_t t;
    char buf[32];
    if (len != 10) return 0;
    snprintf(buf, sizeof buf, "%.10sT00:00:00Z", s);
    if (!wg_time_parse(buf, strlen(buf), &t)) return 0;
    *day = t / 86400;
    return 1;
}

static int parse_hhmm(const char *s, int *sec) {
    if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) || s[2] != ':' ||
        !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
        return 0;
    int h = (s[0] - '0') * 10 + s[1] - '0', m = (s[3] - '0') * 10 + s[4] - '0';
    if (h > 24 || m > 59 || (h == 24 && m)) return 0;
    *sec = h * 3600 + m * 60;
    return 1;
}

static wg_status bad(wg_ctx *ctx, const char *name, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static wg_status bad(wg_ctx *ctx, const char *name, int line, const char *fmt, ...) {
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return wg_err(ctx, WG_ERR_FORMAT, "%s:%d: %s", name, line, msg);
}

static int known_level(const char *s) {
    for (size_t i = 0; i < sizeof LEVELS / sizeof LEVELS[0]; i++)
        if (!strcmp(s, LEVELS[i])) return 1;
    return 0;
}

static wg_status parse_line(wg_ctx *ctx, wg_rules *r, char *line, const char *name, int ln) {
    char *tok[8];
    int n = 0;
    for (char *p = strtok(line, " \t\r"); p && n < 8; p = strtok(NULL, " \t\r")) tok[n++] = p;
    if (n == 0) return WG_OK;
    const char *kw = tok[0];
    if (!strcmp(kw, "limit")) {
        if (n != 5) return bad(ctx, name, ln, "expected: limit LEVEL CATEGORY AMOUNT UNIT");
        if (!known_level(tok[1]))
            return bad(ctx, name, ln, "unknown level '%s' (grid, village, town, county, "
                       "dispatch)", tok[1]);
        if (!wg_text_ok(tok[2], strlen(tok[2]), WG_INCIDENT_TEXT_MAX, 0))
            return bad(ctx, name, ln, "the category must be at most %d bytes of UTF-8 text",
                       WG_INCIDENT_TEXT_MAX);
        char *end;
        errno = 0;
        double a = strtod(tok[3], &end);
        wg_clock c;
        if (!wg_clock_parse(tok[4], &c))
            return bad(ctx, name, ln, "unknown unit '%s' (days, workdays, hours, workhours)",
                       tok[4]);
        int whole = c == WG_CLOCK_DAYS || c == WG_CLOCK_WORKDAYS;
        if (*end || errno || !isfinite(a) || a < 0 || a > 366 * 24 ||
            (whole && (a != floor(a) || a > 366)) || (!whole && a <= 0))
            return bad(ctx, name, ln, "'%s' is not a valid amount of %s (%s)", tok[3], tok[4],
                       whole ? "a whole number 0..366" : "a number > 0");
        return add_limit(ctx, r, tok[1], tok[2], a, c);
    }
    if (!strcmp(kw, "holiday") || !strcmp(kw, "workday")) {
        if (n != 2) return bad(ctx, name, ln, "expected: %s YYYY-MM-DD[..YYYY-MM-DD]", kw);
        const char *dots = strstr(tok[1], "..");
        int64_t a, b;
        if (!parse_date(tok[1], dots ? (size_t)(dots - tok[1]) : strlen(tok[1]), &a) ||
            !parse_date(dots ? dots + 2 : tok[1], dots ? strlen(dots + 2) : strlen(tok[1]), &b))
            return bad(ctx, name, ln, "'%s' is not a date or a range of dates", tok[1]);
        if (b < a || b - a > MAX_RANGE_DAYS)
            return bad(ctx, name, ln, "the range '%s' is reversed or longer than a year", tok[1]);
        for (int64_t d = a; d <= b; d++) {
            wg_status rc = add_day(ctx, r, d, kw[0] == 'w');
            if (rc) return rc;
        }
        return WG_OK;
    }
    if (!strcmp(kw, "warning")) {
        char *end;
        double w = n == 2 ? strtod(tok[1], &end) : NAN;
        if (n == 2 && *end == '%' && !end[1]) w /= 100, end++;
        if (n != 2 || *end || !(w > 0 && w < 1))
            return bad(ctx, name, ln, "expected: warning SHARE (e.g. 80%% or 0.8, between 0 "
                       "and 1)");
        r->warning = w;
        return WG_OK;
    }
    if (!strcmp(kw, "work_hours")) {
        int a, b;
        if (n != 2 || strlen(tok[1]) != 11 || tok[1][5] != '-' || !parse_hhmm(tok[1], &a) ||
            !parse_hhmm(tok[1] + 6, &b) || a >= b)
            return bad(ctx, name, ln, "expected: work_hours HH:MM-HH:MM (start before end)");
        r->work_from = a, r->work_to = b;
        return WG_OK;
    }
    if (!strcmp(kw, "timezone")) {
        int s;
        const char *z = n == 2 ? tok[1] : "";
        if (n != 2 || strlen(z) != 6 || (z[0] != '+' && z[0] != '-') || !parse_hhmm(z + 1, &s) ||
            s > 14 * 3600)
            return bad(ctx, name, ln, "expected: timezone +HH:MM");
        r->offset_s = z[0] == '-' ? -s : s;
        return WG_OK;
    }
    return bad(ctx, name, ln, "unknown keyword '%.40s' (limit, holiday, workday, warning, "
               "work_hours, timezone)", kw);
}

static wg_status finish(wg_ctx *ctx, wg_rules *r, const char *name) {
    static const char *const need[] = {"grid", "village", "town", "county"};
    for (int i = 0; i < 4; i++) {
        int found = 0;
        for (size_t k = 0; k < r->nlim; k++)
            found |= !strcmp(r->lim[k].level, need[i]) && !strcmp(r->lim[k].category, "*");
        if (!found) return wg_err(ctx, WG_ERR_FORMAT, "%s: no limit for level %s, category *",
                                  name, need[i]);
    }
    if (r->ncal) qsort(r->cal, r->ncal, sizeof *r->cal, cal_cmp);
    return WG_OK;
}

wg_status wg_rules_parse(wg_ctx *ctx, const char *text, const char *name, wg_rules **out) {
    if (!name) name = "rules";
    wg_rules *r = NULL;
    wg_status rc = defaults(ctx, &r);
    if (rc) return rc;
    if (!wg_text_ok(text, strlen(text), (size_t)1 << 20, 1)) {
        rc = wg_err(ctx, WG_ERR_FORMAT, "%s: not UTF-8 text (or holds control characters)", name);
        goto done;
    }
    int ln = 0;
    for (const char *p = text; *p && !rc;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        ln++;
        char line[512];
        if (len >= sizeof line) {
            rc = bad(ctx, name, ln, "line longer than %zu bytes", sizeof line - 1);
            break;
        }
        memcpy(line, p, len);
        line[len] = 0;
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        rc = parse_line(ctx, r, line, name, ln);
        p = e ? e + 1 : p + len;
    }
    if (!rc) rc = finish(ctx, r, name);
done:
    if (rc) wg_rules_free(r);
    else *out = r;
    return rc;
}

wg_status wg_rules_read_file(wg_ctx *ctx, const char *path, wg_rules **out) {
    FILE *f = fopen(path, "rb");
    if (!f) return wg_err(ctx, WG_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    char *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    int big = buf && n == (1 << 20) - 1 && fgetc(f) != EOF;
    fclose(f);
    if (!buf) return wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    wg_status rc;
    if (big) rc = wg_err(ctx, WG_ERR_FORMAT, "%s: larger than 1 MiB", path);
    else if (memchr(buf, 0, n)) rc = wg_err(ctx, WG_ERR_FORMAT, "%s: not a text file", path);
    else {
        buf[n] = 0;
        rc = wg_rules_parse(ctx, buf, path, out);
    }
    free(buf);
    return rc;
}

/* ---- formatting --------------------------------------------------------------- */

static void day_text(int64_t d, char out[11]) {
    char t[24];
    wg_time_format(d * 86400, t);
    memcpy(out, t, 10);
    out[10] = 0;
}

static int lim_cmp(const void *a, const void *b) {
    const limit *x = a, *y = b;
    int lx = 0, ly = 0;
    for (int i = 0; i < 5; i++) {
        if (!strcmp(x->level, LEVELS[i])) lx = i;
        if (!strcmp(y->level, LEVELS[i])) ly = i;
    }
    if (lx != ly) return lx - ly;
    int sx = strcmp(x->category, "*") != 0, sy = strcmp(y->category, "*") != 0;
    if (sx != sy) return sx - sy;
    return strcmp(x->category, y->category);
}

char *wg_rules_format(const wg_rules *r) {
    size_t cap = 512 + r->nlim * 160 + r->ncal * 40;
    char *s = malloc(cap);
    if (!s) return NULL;
    limit *sorted = malloc((r->nlim + 1) * sizeof *sorted);
    if (!sorted) {
        free(s);
        return NULL;
    }
    memcpy(sorted, r->lim, r->nlim * sizeof *sorted);
    qsort(sorted, r->nlim, sizeof *sorted, lim_cmp);
    size_t w = 0;
    int off = r->offset_s < 0 ? -r->offset_s : r->offset_s;
    w += (size_t)snprintf(s + w, cap - w,
                          "# wangge deadline rules (wangge rules WS --load FILE)\n"
                          "warning %g%%\ntimezone %c%02d:%02d\nwork_hours %02d:%02d-%02d:%02d\n"
                          "# limit LEVEL CATEGORY AMOUNT days|workdays|hours|workhours\n",
                          round(r->warning * 1e6) / 1e4, r->offset_s < 0 ? '-' : '+',
                          off / 3600, off / 60 % 60, r->work_from / 3600, r->work_from / 60 % 60,
                          r->work_to / 3600, r->work_to / 60 % 60);
    for (size_t i = 0; i < r->nlim; i++)
        w += (size_t)snprintf(s + w, cap - w, "limit %s %s %g %s\n", sorted[i].level,
                              sorted[i].category, sorted[i].amount, CLOCKS[sorted[i].clock]);
    free(sorted);
    /* Runs of consecutive days of one kind become ranges, cut every
     * MAX_RANGE_DAYS + 1 days: overlapping ranges loaded from a file can
     * join into a run the parser would refuse as longer than a year. */
    for (size_t i = 0; i < r->ncal;) {
        size_t j = i;
        while (j + 1 < r->ncal && r->cal[j + 1].day == r->cal[j].day + 1 &&
               r->cal[j + 1].work == r->cal[i].work && j - i < MAX_RANGE_DAYS)
            j++;
        char a[11], b[11];
        day_text(r->cal[i].day, a);
        day_text(r->cal[j].day, b);
        if (i == j) w += (size_t)snprintf(s + w, cap - w, "%s %s\n",
                                          r->cal[i].work ? "workday" : "holiday", a);
        else w += (size_t)snprintf(s + w, cap - w, "%s %s..%s\n",
                                   r->cal[i].work ? "workday" : "holiday", a, b);
        i = j + 1;
    }
    return s;
}

/* ---- the workspace's copy ---------------------------------------------------- */

static const char *const RULES_SQL =
    "CREATE TABLE IF NOT EXISTS deadline_rules(\n"
    "  level TEXT NOT NULL, category TEXT NOT NULL DEFAULT '*', amount REAL NOT NULL,\n"
    "  unit TEXT NOT NULL CHECK(unit IN ('days','workdays','hours','workhours')),\n"
    "  PRIMARY KEY(level, category));\n"
    "CREATE TABLE IF NOT EXISTS work_calendar(\n"
    "  day TEXT PRIMARY KEY, kind TEXT NOT NULL CHECK(kind IN ('holiday','workday')));\n";

wg_status wg_rules_tables(wg_ws *ws) { return wg_ws_exec(ws, RULES_SQL); }

static int has_table(wg_ws *ws, const char *name) {
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(ws->db, "SELECT 1 FROM sqlite_master WHERE name = ?", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        found = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return found;
}

wg_status wg_rules_load(wg_ws *ws, wg_rules **out) {
    wg_ctx *ctx = ws->ctx;
    wg_rules *r = NULL;
    wg_status rc = defaults(ctx, &r);
    if (rc) return rc;
    if (!has_table(ws, "deadline_rules")) goto done;
    sqlite3_stmt *st = NULL;
    char *v = NULL;
    if ((rc = wg_ws_prepare(ws, "SELECT level, category, amount, unit FROM deadline_rules", &st)))
        goto done;
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        wg_clock c = WG_CLOCK_DAYS;
        wg_clock_parse((const char *)sqlite3_column_text(st, 3), &c);
        rc = add_limit(ctx, r, (const char *)sqlite3_column_text(st, 0),
                       (const char *)sqlite3_column_text(st, 1), sqlite3_column_double(st, 2), c);
    }
    sqlite3_finalize(st);
    st = NULL;
    if (!rc && !(rc = wg_ws_prepare(ws, "SELECT day, kind FROM work_calendar ORDER BY day", &st)))
        while (!rc && sqlite3_step(st) == SQLITE_ROW) {
            int64_t d;
            const char *day = (const char *)sqlite3_column_text(st, 0);
            if (day && parse_date(day, strlen(day), &d))
                rc = add_day(ctx, r, d, !strcmp((const char *)sqlite3_column_text(st, 1),
                                                "workday"));
        }
    sqlite3_finalize(st);
    if (!rc && !(rc = wg_ws_meta_get(ws, "deadline_warning", &v)) && v) r->warning = atof(v);
    free(v), v = NULL;
    if (!rc && !(rc = wg_ws_meta_get(ws, "deadline_offset_s", &v)) && v) r->offset_s = atoi(v);
    free(v), v = NULL;
    if (!rc && !(rc = wg_ws_meta_get(ws, "deadline_work_hours", &v)) && v)
        sscanf(v, "%d-%d", &r->work_from, &r->work_to);
    free(v);
    if (!rc && r->ncal) qsort(r->cal, r->ncal, sizeof *r->cal, cal_cmp);
done:
    if (rc) wg_rules_free(r);
    else *out = r;
    return rc;
}

wg_status wg_rules_store(wg_ws *ws, const wg_rules *r) {
    if (ws->readonly) return wg_err(ws->ctx, WG_ERR_INVALID_ARG, "the workspace is open read-only");
    wg_status rc = wg_lifecycle_init(ws);
    if (rc || (rc = wg_ws_begin(ws))) return rc;
    sqlite3_stmt *st = NULL;
    char v[64];
    if ((rc = wg_ws_exec(ws, "DELETE FROM deadline_rules; DELETE FROM work_calendar;")) ||
        (rc = wg_ws_prepare(ws, "INSERT INTO deadline_rules VALUES(?, ?, ?, ?)", &st)))
        goto done;
    for (size_t i = 0; i < r->nlim && !rc; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, r->lim[i].level, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, r->lim[i].category, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 3, r->lim[i].amount);
        sqlite3_bind_text(st, 4, CLOCKS[r->lim[i].clock], -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) rc = wg_ws_sqlerr(ws, "storing a deadline rule");
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc || (rc = wg_ws_prepare(ws, "INSERT INTO work_calendar VALUES(?, ?)", &st))) goto done;
    for (size_t i = 0; i < r->ncal && !rc; i++) {
        char d[11];
        day_text(r->cal[i].day, d);
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, d, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, r->cal[i].work ? "workday" : "holiday", -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) rc = wg_ws_sqlerr(ws, "storing the calendar");
    }
    if (rc) goto done;
    snprintf(v, sizeof v, "%.17g", r->warning);
    if ((rc = wg_ws_meta_set(ws, "deadline_warning", v))) goto done;
    snprintf(v, sizeof v, "%d", r->offset_s);
    if ((rc = wg_ws_meta_set(ws, "deadline_offset_s", v))) goto done;
    snprintf(v, sizeof v, "%d-%d", r->work_from, r->work_to);
    rc = wg_ws_meta_set(ws, "deadline_work_hours", v);
done:
    sqlite3_finalize(st);
    if (!rc) rc = wg_ws_commit(ws);
    if (rc) wg_ws_rollback(ws);
    return rc;
}

/* ---- deadlines and colours ---------------------------------------------------- */

static const limit *find(const wg_rules *r, const char *level, const char *category) {
    const limit *any = NULL;
    for (size_t i = 0; i < r->nlim; i++) {
        if (strcmp(r->lim[i].level, level)) continue;
        if (category && !strcmp(r->lim[i].category, category)) return &r->lim[i];
        if (!strcmp(r->lim[i].category, "*")) any = &r->lim[i];
    }
    return any;
}

int wg_rules_has(const wg_rules *r, const char *level) { return find(r, level, NULL) != NULL; }

int wg_rules_clock_of(const wg_rules *r, const char *level, const char *category,
                      wg_clock *clock) {
    const limit *l = find(r, level, category);
    if (l) *clock = l->clock;
    return l != NULL;
}

/* The daily window counted by `clock`, in seconds after local midnight. */
static void window(const wg_rules *r, wg_clock clock, int64_t *from, int64_t *to) {
    if (clock == WG_CLOCK_WORKHOURS) *from = r->work_from, *to = r->work_to;
    else *from = 0, *to = 86400;
}

/* Seconds of working time (per `clock`) in [a, b). */
static int64_t work_between(const wg_rules *r, wg_clock clock, int64_t a, int64_t b) {
    if (clock == WG_CLOCK_DAYS || clock == WG_CLOCK_HOURS) return b > a ? b - a : 0;
    int64_t wf, wt, total = 0;
    window(r, clock, &wf, &wt);
    for (int64_t d = local_day(r, a); a < b && d <= local_day(r, b); d++) {
        if (!workday(r, d)) continue;
        int64_t s = day_start(r, d) + wf, e = day_start(r, d) + wt;
        if (s < a) s = a;
        if (e > b) e = b;
        if (e > s) total += e - s;
    }
    return total;
}

wg_status wg_rules_deadline(wg_ctx *ctx, const wg_rules *r, const char *level,
                            const char *category, int64_t start, int64_t *deadline,
                            wg_clock *clock) {
    const limit *l = find(r, level, category);
    if (!l) return wg_err(ctx, WG_ERR_NOT_FOUND, "no deadline rule for level '%s'", level);
    if (clock) *clock = l->clock;
    int64_t d = local_day(r, start);
    switch (l->clock) {
    case WG_CLOCK_DAYS:
        *deadline = day_start(r, d + (int64_t)l->amount + 1) - 1;
        return WG_OK;
    case WG_CLOCK_HOURS:
        *deadline = start + (int64_t)llround(l->amount * 3600);
        return WG_OK;
    case WG_CLOCK_WORKDAYS: {
        int64_t n = (int64_t)l->amount, k = 0;
        if (n == 0)
            for (k = 0; !workday(r, d) && k < MAX_WALK_DAYS; k++) d++;
        else
            for (int64_t seen = 0; seen < n && k < MAX_WALK_DAYS; k++)
                seen += workday(r, ++d);
        if (k >= MAX_WALK_DAYS) break;
        *deadline = day_start(r, d + 1) - 1;
        return WG_OK;
    }
    case WG_CLOCK_WORKHOURS: {
        int64_t left = (int64_t)llround(l->amount * 3600);
        for (int64_t k = 0; k < MAX_WALK_DAYS; k++, d++) {
            if (!workday(r, d)) continue;
            int64_t s = day_start(r, d) + r->work_from, e = day_start(r, d) + r->work_to;
            if (s < start) s = start;
            if (e <= s) continue;
            if (e - s >= left) {
                *deadline = s + left;
                return WG_OK;
            }
            left -= e - s;
        }
        break;
    }
    }
    return wg_err(ctx, WG_ERR_INVALID_ARG, "the calendar has no working day within ten years "
                  "of the start");
}

wg_colour wg_rules_colour(const wg_rules *r, wg_clock clock, int64_t start, int64_t deadline,
                          int64_t at) {
    if (at > deadline) return WG_COLOUR_RED;
    int64_t total = work_between(r, clock, start, deadline);
    int64_t done = work_between(r, clock, start, at);
    if (total <= 0) return WG_COLOUR_GREEN;
    return (double)done >= r->warning * (double)total ? WG_COLOUR_YELLOW : WG_COLOUR_GREEN;
}

double wg_rules_warning(const wg_rules *r) { return r->warning; }
