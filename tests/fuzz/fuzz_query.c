/* fuzz_query.c -- libFuzzer target for the query strings of `wangge serve`
 * (wg_query_parse, engine/src/httpparse.c): the raw text after '?', as the
 * server receives it.
 *
 * Each input is judged against the parameter specs of the service's
 * endpoints (locate, incidents, route) and one holding every type.
 * Invariants: a query is accepted or refused with a code and a message,
 * never neither; when accepted, every required parameter is set, numbers
 * are finite and within their range, boxes and points are valid WGS84,
 * texts are UTF-8 without control characters within their length, times
 * are normalised UTC that parses back, dates are real dates. */
#include "httpparse.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const STATUSES[] = {"reported", "accepted", "assigned", "handled",
                                       "verified", "closed",   NULL};

static const wg_param_spec LOCATE[] = {
    {"lon", WG_PARAM_NUMBER, 1, 0, 0, NULL},      {"lat", WG_PARAM_NUMBER, 1, 0, 0, NULL},
    {"crs", WG_PARAM_CRS, 0, 0, 0, NULL},         {"at", WG_PARAM_DATE, 0, 0, 0, NULL},
    {"tolerance", WG_PARAM_NUMBER, 0, 0, 1000, NULL},
};
static const wg_param_spec INCIDENTS[] = {
    {"bbox", WG_PARAM_BBOX, 0, 0, 0, NULL},       {"since", WG_PARAM_TIME, 0, 0, 0, NULL},
    {"until", WG_PARAM_TIME, 0, 0, 0, NULL},      {"grid", WG_PARAM_TEXT, 0, 0, 64, NULL},
    {"status", WG_PARAM_ENUM, 0, 0, 0, STATUSES}, {"limit", WG_PARAM_INT, 0, 1, 1000, NULL},
    {"after", WG_PARAM_INT, 0, 0, 9e15, NULL},
};
static const wg_param_spec ROUTE[] = {
    {"from", WG_PARAM_POINT, 1, 0, 0, NULL},      {"to", WG_PARAM_POINT, 1, 0, 0, NULL},
    {"crs", WG_PARAM_CRS, 0, 0, 0, NULL},         {"profile", WG_PARAM_TEXT, 0, 0, 31, NULL},
};
static const wg_param_spec ALL[] = {
    {"n", WG_PARAM_NUMBER, 0, -5, 5, NULL},       {"i", WG_PARAM_INT, 0, -3, 3, NULL},
    {"t", WG_PARAM_TEXT, 0, 0, 4, NULL},          {"e", WG_PARAM_ENUM, 0, 0, 0, STATUSES},
    {"c", WG_PARAM_CRS, 0, 0, 0, NULL},           {"d", WG_PARAM_DATE, 0, 0, 0, NULL},
    {"s", WG_PARAM_TIME, 0, 0, 0, NULL},          {"b", WG_PARAM_BBOX, 0, 0, 0, NULL},
    {"p", WG_PARAM_POINT, 0, 0, 0, NULL},         {"u", WG_PARAM_NUMBER, 0, 0, 0, NULL},
    {"lon", WG_PARAM_NUMBER, 0, 0, 0, NULL},      {"lat", WG_PARAM_NUMBER, 0, 0, 0, NULL},
    {"crs", WG_PARAM_CRS, 0, 0, 0, NULL},         {"status", WG_PARAM_ENUM, 0, 0, 0, STATUSES},
    {"limit", WG_PARAM_INT, 0, 1, 1000, NULL},    {"since", WG_PARAM_TIME, 0, 0, 0, NULL},
};

static void check(const char *qs, size_t n, const wg_param_spec *spec, size_t ns) {
    wg_query q;
    wg_input_error err;
    memset(&err, 0x5a, sizeof err);
    if (wg_query_parse(qs, n, spec, ns, &q, &err) != WG_OK) {
        if (!err.code || !err.message[0] || !memchr(err.message, '\0', sizeof err.message))
            abort();
        return;
    }
    for (size_t k = 0; k < ns; k++) {
        const wg_param_spec *sp = &spec[k];
        const wg_param_value *v = &q.v[k];
        if (sp->required && !v->set) abort();
        if (!v->set) continue;
        const char *t = v->text;
        if (!t || t < q.buf || t >= q.buf + sizeof q.buf) abort();
        size_t tl = strlen(t);
        switch (sp->type) {
        case WG_PARAM_NUMBER:
        case WG_PARAM_INT:
            if (!isfinite(v->num)) abort();
            if (sp->min < sp->max && (v->num < sp->min || v->num > sp->max)) abort();
            break;
        case WG_PARAM_TEXT:
            if (!wg_text_ok(t, tl, sp->max > 0 ? (size_t)sp->max : 64, 0)) abort();
            break;
        case WG_PARAM_ENUM: {
            int found = 0;
            for (const char *const *c = sp->choices; *c; c++) found |= !strcmp(*c, t);
            if (!found) abort();
            break;
        }
        case WG_PARAM_CRS: {
            wg_crs_kind kind;
            int epsg;
            if (wg_crs_parse(t, &kind, &epsg) || kind != v->crs || epsg != v->epsg) abort();
            break;
        }
        case WG_PARAM_DATE:
            if (tl != 10 || t[4] != '-' || t[7] != '-') abort();
            break;
        case WG_PARAM_TIME: {
            int64_t s;
            if (tl != 20 || t[19] != 'Z' || !wg_time_parse(t, tl, &s)) abort();
            char again[24];
            wg_time_format(s, again);
            if (strcmp(again, t)) abort();
            break;
        }
        case WG_PARAM_BBOX:
            for (int i = 0; i < 4; i++)
                if (!isfinite(v->v[i])) abort();
            if (v->v[0] > v->v[2] || v->v[1] > v->v[3] || fabs(v->v[0]) > 180 ||
                fabs(v->v[2]) > 180 || fabs(v->v[1]) > 90 || fabs(v->v[3]) > 90)
                abort();
            break;
        case WG_PARAM_POINT:
            if (!(fabs(v->v[0]) <= 180 && fabs(v->v[1]) <= 90)) abort();
            break;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 2 * WG_QUERY_MAX_LEN) return 0;
    /* The parser must read only `size` bytes: give it an exact-size copy. */
    char *qs = malloc(size ? size : 1);
    if (!qs) return 0;
    memcpy(qs, data, size);
    check(qs, size, LOCATE, sizeof LOCATE / sizeof LOCATE[0]);
    check(qs, size, INCIDENTS, sizeof INCIDENTS / sizeof INCIDENTS[0]);
    check(qs, size, ROUTE, sizeof ROUTE / sizeof ROUTE[0]);
    check(qs, size, ALL, sizeof ALL / sizeof ALL[0]);
    check(qs, size, NULL, 0);
    free(qs);
    return 0;
}
