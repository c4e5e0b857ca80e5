/* httpparse.c -- strict parsing of what clients of the HTTP service send:
 * query strings, the JSON body of a report, RFC 3339 times.
 *
 * It lives in the library, not in the server, so that the fuzzers
 * (tests/fuzz/fuzz_query.c, fuzz_json.c) exercise exactly the code the
 * service runs. Everything is strict on purpose: an unknown parameter, a
 * parameter given twice, "1e999", "nan", " 12", a bad percent escape or a
 * byte sequence that is not UTF-8 is an error naming what is wrong, never a
 * silently different request. Query parsing is pure and allocation-free;
 * the JSON body goes through SQLite's JSON parser (RFC 8259 checked with
 * json_valid, members read with json_each), a parser fuzzed far more than
 * anything we would write, on a private in-memory database. */
#include "httpparse.h"
#include "ogrio.h" /* wg_utf8_valid() */

#include <ctype.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- text ---------------------------------------------------------------- */

int wg_text_ok(const char *s, size_t len, size_t max, int multiline) {
    if (len > max) return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0x7F) return 0;
        if (c < 0x20 && !(multiline && (c == '\t' || c == '\n' || c == '\r'))) return 0;
    }
    return wg_utf8_valid(s, len);
}

/* ---- time ---------------------------------------------------------------- */

/* Days since 1970-01-01 of a civil date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int digits(const char *s, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

static int month_days(int y, int m) {
    static const int md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return md[m - 1] + (m == 2 && leap);
}

static int date_ok(const char *s, size_t len, int *y, int *m, int *d) {
    return len >= 10 && digits(s, 4, y) && s[4] == '-' && digits(s + 5, 2, m) && s[7] == '-' &&
           digits(s + 8, 2, d) && *y >= 1970 && *m >= 1 && *m <= 12 && *d >= 1 &&
           *d <= month_days(*y, *m);
}

int wg_time_parse(const char *s, size_t len, int64_t *t) {
    int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;
    if (len < 20 || !date_ok(s, len, &y, &mo, &d)) return 0;
    if ((s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) || s[13] != ':' ||
        !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &se))
        return 0;
    if (h > 23 || mi > 59 || se > 60) return 0;
    size_t i = 19;
    if (i < len && s[i] == '.') { /* fraction: at least one digit, dropped */
        size_t k = ++i;
        while (i < len && isdigit((unsigned char)s[i]) && i - k < 9) i++;
        if (i == k) return 0;
    }
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        sign = s[i] == '-' ? -1 : 1;
        if (len - i < 6 || !digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
            !digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
            return 0;
        i += 6;
    } else {
        return 0;
    }
    if (i != len) return 0;
    if (se == 60) se = 59; /* a leap second: the moment before is close enough */
    int64_t v = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    v -= sign * (oh * 3600 + om * 60);
    if (v < 0) return 0;
    *t = v;
    return 1;
}

void wg_time_format(int64_t t, char out[24]) {
    int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    int64_t sec = t - days * 86400;
    int y, m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(out, 24, "%04d-%02d-%02dT%02d:%02d:%02dZ", y % 10000, m, d, (int)(sec / 3600),
             (int)(sec / 60 % 60), (int)(sec % 60));
}

int64_t wg_time_now(void) { return (int64_t)time(NULL); }

/* ---- query strings ------------------------------------------------------- */

static wg_status fail(wg_input_error *err, wg_status st, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static wg_status fail(wg_input_error *err, wg_status st, const char *code, const char *fmt, ...) {
    va_list ap;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return st;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes s[0..n) into dst ('+' is a space, %XX a byte); returns the decoded
 * length or -1 for a bad escape. dst has room for n + 1 bytes. */
static long pct_decode(const char *s, size_t n, char *dst) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            dst[o++] = ' ';
        } else if (s[i] == '%') {
            if (n - i < 3) return -1;
            int h = hexval((unsigned char)s[i + 1]), l = hexval((unsigned char)s[i + 2]);
            if (h < 0 || l < 0) return -1;
            dst[o++] = (char)(h * 16 + l);
            i += 2;
        } else {
            dst[o++] = s[i];
        }
    }
    dst[o] = '\0';
    return (long)o;
}

/* A strict decimal number: [+-]digits[.digits][e[+-]digits] or [+-].digits...,
 * at most 40 characters, finite. */
static int parse_number(const char *s, size_t n, double *out) {
    if (n == 0 || n > 40) return 0;
    size_t i = 0, nd = 0;
    if (s[i] == '+' || s[i] == '-') i++;
    while (i < n && isdigit((unsigned char)s[i])) i++, nd++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && isdigit((unsigned char)s[i])) i++, nd++;
    }
    if (nd == 0) return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        size_t ne = 0;
        while (i < n && isdigit((unsigned char)s[i])) i++, ne++;
        if (ne == 0) return 0;
    }
    if (i != n) return 0;
    char tmp[48];
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    double v = strtod(tmp, NULL);
    if (!isfinite(v)) return 0;
    *out = v;
    return 1;
}

static int parse_int(const char *s, size_t n, int64_t *out) {
    size_t i = n && s[0] == '-';
    if (n == i || n - i > 18) return 0; /* 18 digits never overflow an int64 */
    int64_t v = 0;
    for (; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = s[0] == '-' ? -v : v;
    return 1;
}

/* Splits "a,b[,c,d]" into exactly `k` numbers. */
static int parse_numbers(const char *s, size_t n, double *v, int k) {
    size_t start = 0;
    for (int j = 0; j < k; j++) {
        size_t end = start;
        while (end < n && s[end] != ',') end++;
        if ((j < k - 1) != (end < n)) return 0;
        if (!parse_number(s + start, end - start, &v[j])) return 0;
        start = end + 1;
    }
    return 1;
}

static wg_status parse_value(const wg_param_spec *sp, char *val, size_t n, char *tbuf,
                             wg_param_value *pv, wg_input_error *err) {
    const char *name = sp->name;
    if (n == 0)
        return fail(err, WG_ERR_INVALID_ARG, "invalid_parameter", "parameter '%s' is empty", name);
    int ok = 1;
    pv->text = val;
    switch (sp->type) {
    case WG_PARAM_NUMBER:
        ok = parse_number(val, n, &pv->num);
        if (!ok)
            return fail(err, WG_ERR_INVALID_ARG, "invalid_parameter",
                        "parameter '%s' is not a finite decimal number", name);
        if (sp->min < sp->max && (pv->num < sp->min || pv->num > sp->max))
            return fail(err, WG_ERR_INVALID_ARG, "invalid_parameter",
                        "parameter '%s' is out of range [%g, %g]", name, sp->min, sp->max);
        break;
    case WG_PARAM_INT:
        ok = parse_int(val, n, &pv->i);
        if (!ok)
            return fail(err, WG_ERR_INVALID_ARG, "invalid_parameter",
                        "parameter '%s' is not an integer", name);
        pv->num = (double)pv->i;
        if (sp->min < sp->max && (pv->num < sp->min || pv->num > sp->max))
            return fail(err, WG_ERR_INVALID_ARG, "invalid_parameter",
                        "parameter '%s' is out of range [%.0f, %.0f]", name, sp->min, sp->max);
        break;
    case WG_PARAM_TEXT: {
        size_t max = sp->max > 0 ? (size_t)sp->max : 64;
        if (!wg_text_ok(val, n, max, 0))
            return fail(err, WG_ERR_INVALID_ARG, "invalid_parameter",
                        "parameter '%s' must be at most %zu bytes of text without control "
                        "characters", name, max);
        break;
    }
    case WG_PARAM_ENUM:
        ok = 0;
        for (const char *const *c = sp->choices; c && *c; c++)
            if (!strcmp(*c, val)) ok = 1;
        if (!ok) {
            char list[160] = "";
            for (const char *const *c = sp->choices; c && *c; c++) {
                size_t l = strlen(list);
                snprintf(list + l, sizeof list - l, "%s%s", l ? ", " : "", *c);
            }
            return fail(err, WG_ERR_INVALID_ARG, "invalid_parameter",
                        "parameter '%s' must be one of: %s", name, list);
        }
        break;
    case WG_PARAM_CRS:
        if (strlen(val) != n || wg_crs_parse(val, &pv->crs, &pv->epsg))
            return fail(err, WG_ERR_INVALID_ARG, "invalid_parameter",
                        "parameter '%s' must be wgs84, cgcs2000, gcj02, bd09 or EPSG:n", name);
        break;
    case WG_PARAM_DATE: {
        int y, m, d;
        if (n != 10 || !date_ok(val, n, &y, &m, &d))
            return fail(err, WG_ERR_INVALID_ARG, "invalid_parameter",
                        "parameter '%s' must be a date YYYY-MM-DD", name);
        break;
    }
    case WG_PARAM_TIME: {
        int64_t t;
        if (!wg_time_parse(val, n, &t))
            return fail(err, WG_ERR_INVALID_ARG, "invalid_parameter",
                        "parameter '%s' must be an RFC 3339 time with an offset, e.g. "
                        "2024-03-01T00:00:00+08:00", name);
        wg_time_format(t, tbuf);
        pv->text = tbuf;
        break;
    }
    case WG_PARAM_BBOX:
        if (!parse_numbers(val, n, pv->v, 4) || fabs(pv->v[0]) > 180 || fabs(pv->v[2]) > 180 ||
            fabs(pv->v[1]) > 90 || fabs(pv->v[3]) > 90 || pv->v[0] > pv->v[2] ||
            pv->v[1] > pv->v[3])
            return fail(err, WG_ERR_INVALID_ARG, "invalid_parameter",
                        "parameter '%s' must be min_lon,min_lat,max_lon,max_lat (WGS84 "
                        "degrees, min <= max)", name);
        break;
    case WG_PARAM_POINT:
        if (!parse_numbers(val, n, pv->v, 2) || fabs(pv->v[0]) > 180 || fabs(pv->v[1]) > 90)
            return fail(err, WG_ERR_INVALID_ARG, "invalid_parameter",
                        "parameter '%s' must be lon,lat (WGS84 degrees)", name);
        break;
    }
    pv->set = 1;
    return WG_OK;
}

wg_status wg_query_parse(const char *qs, size_t len, const wg_param_spec *spec, size_t nspec,
                         wg_query *out, wg_input_error *err) {
    memset(out->v, 0, sizeof out->v);
    err->code = NULL;
    err->message[0] = '\0';
    if (nspec > WG_QUERY_MAX_PARAMS)
        return fail(err, WG_ERR_INVALID_ARG, "invalid_parameter", "too many parameters in spec");
    if (len > WG_QUERY_MAX_LEN)
        return fail(err, WG_ERR_FORMAT, "query_too_long", "the query string is longer than %d "
                    "bytes", WG_QUERY_MAX_LEN);
    /* Decoded text goes to buf: decoding never grows a string, and each
     * value is followed by its NUL; TIME values are rewritten into the
     * value's own room (an RFC 3339 time is at least 20 bytes, its UTC
     * form exactly 20). */
    char *buf = out->buf;
    size_t used = 0, i = 0;
    while (i <= len) {
        size_t j = i;
        while (j < len && qs[j] != '&') j++;
        if (j > i) {
            const char *pair = qs + i;
            size_t plen = j - i, eq = 0;
            while (eq < plen && pair[eq] != '=') eq++;
            char *key = buf + used;
            long kn = pct_decode(pair, eq, key);
            if (kn < 0 || !wg_text_ok(key, (size_t)kn, 64, 0))
                return fail(err, WG_ERR_FORMAT, "malformed_query",
                            "a parameter name has a bad %%-escape, is not UTF-8, holds control "
                            "characters or is longer than 64 bytes");
            used += (size_t)kn + 1;
            char *val = buf + used;
            long vn = eq < plen ? pct_decode(pair + eq + 1, plen - eq - 1, val) : 0;
            if (eq >= plen) val[0] = '\0';
            if (vn < 0 || !wg_utf8_valid(val, (size_t)vn) ||
                memchr(val, '\0', (size_t)vn))
                return fail(err, WG_ERR_FORMAT, "malformed_query",
                            "parameter '%.64s' has a bad %%-escape or is not UTF-8", key);
            used += (size_t)vn + 1;
            size_t k = 0;
            while (k < nspec && strcmp(spec[k].name, key)) k++;
            if (k == nspec) {
                char known[160] = "";
                for (size_t q = 0; q < nspec; q++) {
                    size_t l = strlen(known);
                    snprintf(known + l, sizeof known - l, "%s%s", q ? ", " : "", spec[q].name);
                }
                return fail(err, WG_ERR_INVALID_ARG, "unknown_parameter",
                            "unknown parameter '%.64s' (known: %s)", key, known);
            }
            if (out->v[k].set)
                return fail(err, WG_ERR_INVALID_ARG, "duplicate_parameter",
                            "parameter '%s' is given twice", spec[k].name);
            wg_status rc = parse_value(&spec[k], val, (size_t)vn, val, &out->v[k], err);
            if (rc) return rc;
        }
        i = j + 1;
    }
    for (size_t k = 0; k < nspec; k++)
        if (spec[k].required && !out->v[k].set)
            return fail(err, WG_ERR_INVALID_ARG, "missing_parameter",
                        "parameter '%s' is required", spec[k].name);
    return WG_OK;
}

/* ---- JSON bodies ---------------------------------------------------------- */

struct wg_json_reader {
    sqlite3 *db;
    sqlite3_stmt *valid, *each;
};

void wg_json_reader_free(wg_json_reader *r) {
    if (!r) return;
    sqlite3_finalize(r->valid);
    sqlite3_finalize(r->each);
    sqlite3_close(r->db);
    free(r);
}

wg_status wg_json_reader_new(wg_json_reader **out) {
    wg_json_reader *r = calloc(1, sizeof *r);
    if (!r) return WG_ERR_NOMEM;
    if (sqlite3_open_v2(":memory:", &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) ||
        sqlite3_prepare_v2(r->db,
                           "SELECT CASE WHEN json_valid(?1) THEN json_type(?1) END", -1,
                           &r->valid, NULL) ||
        sqlite3_prepare_v2(r->db, "SELECT key, type, atom FROM json_each(?1)", -1, &r->each,
                           NULL)) {
        wg_json_reader_free(r);
        return WG_ERR_SQLITE;
    }
    *out = r;
    return WG_OK;
}

/* SQLite decodes "\u0000" inside a string by cutting the string short;
 * such bodies are refused before parsing. The escape counts only when the
 * backslash is not itself escaped. */
static int has_nul_escape(const char *s, size_t n) {
    for (size_t i = 0; i + 6 <= n; i++) {
        if (s[i] != '\\') continue;
        if (s[i + 1] == 'u' && s[i + 2] == '0' && s[i + 3] == '0' && s[i + 4] == '0' &&
            s[i + 5] == '0')
            return 1;
        i++; /* skip the escaped character */
    }
    return 0;
}

enum { F_LON, F_LAT, F_CRS, F_CAT, F_DESC, F_TIME, F_REPORTER, F_EXT, NFIELDS };
static const char *const FIELDS[NFIELDS] = {"lon",         "lat",      "crs",    "category",
                                            "description", "reported_at", "reporter", "ext_id"};

static wg_status copy_text(wg_input_error *err, const char *name, sqlite3_stmt *st, char *dst,
                           size_t max, int multiline) {
    const char *s = (const char *)sqlite3_column_text(st, 2);
    size_t n = (size_t)sqlite3_column_bytes(st, 2);
    if (!s || !wg_text_ok(s, n, max, multiline) || memchr(s, '\0', n))
        return fail(err, WG_ERR_INVALID_ARG, "invalid_field",
                    "'%s' must be at most %zu bytes of UTF-8 text without control characters",
                    name, max);
    memcpy(dst, s, n);
    dst[n] = '\0';
    return WG_OK;
}

static wg_status read_member(sqlite3_stmt *st, int f, wg_report *out, wg_input_error *err) {
    const char *type = (const char *)sqlite3_column_text(st, 1);
    const char *name = FIELDS[f];
    int is_num = type && (!strcmp(type, "integer") || !strcmp(type, "real"));
    int is_text = type && !strcmp(type, "text");
    if (type && !strcmp(type, "null")) return WG_OK; /* same as absent */
    if (f == F_LON || f == F_LAT) {
        if (!is_num)
            return fail(err, WG_ERR_INVALID_ARG, "invalid_field", "'%s' must be a number", name);
        double v = sqlite3_column_double(st, 2);
        if (!isfinite(v))
            return fail(err, WG_ERR_INVALID_ARG, "invalid_field", "'%s' is not finite", name);
        *(f == F_LON ? &out->x : &out->y) = v;
        return WG_OK;
    }
    if (!is_text)
        return fail(err, WG_ERR_INVALID_ARG, "invalid_field", "'%s' must be a string", name);
    switch (f) {
    case F_CRS: {
        wg_status rc = copy_text(err, name, st, out->crs, WG_INCIDENT_TEXT_MAX, 0);
        if (rc) return rc;
        if (wg_crs_parse(out->crs, &out->crs_kind, &out->epsg))
            return fail(err, WG_ERR_INVALID_ARG, "invalid_field",
                        "'crs' must be wgs84, cgcs2000, gcj02, bd09 or EPSG:n");
        return WG_OK;
    }
    case F_CAT: return copy_text(err, name, st, out->category, WG_INCIDENT_TEXT_MAX, 0);
    case F_DESC: return copy_text(err, name, st, out->description, WG_INCIDENT_DESC_MAX, 1);
    case F_REPORTER: return copy_text(err, name, st, out->reporter, WG_INCIDENT_TEXT_MAX, 0);
    case F_EXT: return copy_text(err, name, st, out->ext_id, WG_INCIDENT_TEXT_MAX, 0);
    case F_TIME: {
        const char *s = (const char *)sqlite3_column_text(st, 2);
        int64_t t;
        if (!s || !wg_time_parse(s, (size_t)sqlite3_column_bytes(st, 2), &t))
            return fail(err, WG_ERR_INVALID_ARG, "invalid_field",
                        "'reported_at' must be an RFC 3339 time with an offset, e.g. "
                        "2024-03-01T08:00:00+08:00");
        wg_time_format(t, out->reported_at);
        return WG_OK;
    }
    }
    return WG_OK;
}

wg_status wg_report_parse(wg_json_reader *r, const char *body, size_t len, wg_report *out,
                          wg_input_error *err) {
    memset(out, 0, sizeof *out);
    err->code = NULL;
    err->message[0] = '\0';
    out->crs_kind = WG_CRS_WGS84;
    snprintf(out->crs, sizeof out->crs, "wgs84");
    if (len > 65536)
        return fail(err, WG_ERR_INVALID_ARG, "body_too_large", "the body is larger than 64 KiB");
    if (!body || memchr(body, '\0', len) || !wg_utf8_valid(body, len))
        return fail(err, WG_ERR_FORMAT, "invalid_json", "the body is not UTF-8 text");
    if (has_nul_escape(body, len))
        return fail(err, WG_ERR_FORMAT, "invalid_json", "strings must not contain \\u0000");
    wg_status rc = WG_OK;
    sqlite3_bind_text(r->valid, 1, body, (int)len, SQLITE_STATIC);
    int step = sqlite3_step(r->valid);
    const char *type = step == SQLITE_ROW ? (const char *)sqlite3_column_text(r->valid, 0) : NULL;
    int is_obj = type && !strcmp(type, "object");
    int valid = step == SQLITE_ROW && type;
    sqlite3_reset(r->valid);
    sqlite3_clear_bindings(r->valid);
    if (!valid) return fail(err, WG_ERR_FORMAT, "invalid_json", "the body is not valid JSON");
    if (!is_obj)
        return fail(err, WG_ERR_FORMAT, "invalid_json", "the body must be a JSON object");
    int seen[NFIELDS] = {0};
    sqlite3_bind_text(r->each, 1, body, (int)len, SQLITE_STATIC);
    while ((step = sqlite3_step(r->each)) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(r->each, 0);
        size_t klen = (size_t)sqlite3_column_bytes(r->each, 0);
        int f = 0;
        while (f < NFIELDS && !(key && strlen(FIELDS[f]) == klen && !memcmp(FIELDS[f], key, klen)))
            f++;
        if (f == NFIELDS) {
            int printable = key && wg_text_ok(key, klen, 64, 0);
            rc = fail(err, WG_ERR_INVALID_ARG, "unknown_field",
                      "unknown member '%.64s' (known: lon, lat, crs, category, description, "
                      "reported_at, reporter, ext_id)", printable ? key : "?");
            break;
        }
        if (seen[f]++) {
            rc = fail(err, WG_ERR_INVALID_ARG, "duplicate_field", "member '%s' is given twice",
                      FIELDS[f]);
            break;
        }
        if (f == F_LON || f == F_LAT) {
            const char *t = (const char *)sqlite3_column_text(r->each, 1);
            if (t && !strcmp(t, "null")) seen[f] = 0; /* null coordinates are missing */
        }
        if ((rc = read_member(r->each, f, out, err))) break;
    }
    if (!rc && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = fail(err, WG_ERR_FORMAT, "invalid_json", "the body is not valid JSON");
    sqlite3_reset(r->each);
    sqlite3_clear_bindings(r->each);
    if (rc) return rc;
    if (!seen[F_LON] || !seen[F_LAT])
        return fail(err, WG_ERR_INVALID_ARG, "missing_field", "'%s' is required",
                    !seen[F_LON] ? "lon" : "lat");
    if (out->crs_kind != WG_CRS_EPSG && (fabs(out->x) > 180 || fabs(out->y) > 90)) {
        if (fabs(out->x) <= 90 && fabs(out->y) <= 180)
            return fail(err, WG_ERR_INVALID_ARG, "invalid_field",
                        "lat %g is out of range: lon and lat look swapped", out->y);
        return fail(err, WG_ERR_INVALID_ARG, "invalid_field",
                    "coordinates out of range: lon %g, lat %g", out->x, out->y);
    }
    return WG_OK;
}
