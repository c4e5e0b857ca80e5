/* test_httpparse.c -- what clients of the HTTP service send: query
 * strings, report bodies, RFC 3339 times. Tables of input -> verdict (and
 * the error code a client sees); times checked against the C library's
 * gmtime_r as an independent oracle. */
#include "test.h"

#include "httpparse.h"

#include <time.h>

static const char *const CHOICES[] = {"reported", "closed", NULL};
static const wg_param_spec SPEC[] = {
    {"lon", WG_PARAM_NUMBER, 1, 0, 0, NULL},  {"lat", WG_PARAM_NUMBER, 1, -90, 90, NULL},
    {"crs", WG_PARAM_CRS, 0, 0, 0, NULL},     {"at", WG_PARAM_DATE, 0, 0, 0, NULL},
    {"n", WG_PARAM_INT, 0, 1, 100, NULL},     {"name", WG_PARAM_TEXT, 0, 0, 8, NULL},
    {"status", WG_PARAM_ENUM, 0, 0, 0, CHOICES}, {"since", WG_PARAM_TIME, 0, 0, 0, NULL},
    {"bbox", WG_PARAM_BBOX, 0, 0, 0, NULL},   {"from", WG_PARAM_POINT, 0, 0, 0, NULL},
};
#define NSPEC (sizeof SPEC / sizeof SPEC[0])

static const struct {
    const char *qs, *code; /* code NULL: accepted */
} QUERIES[] = {
    {"lon=119.5&lat=34.1", NULL},
    {"lat=34.1&lon=119.5", NULL},
    {"lon=-119&lat=%2B34", NULL},
    {"lon=-119&lat=+34", "invalid_parameter"}, /* '+' is a space */
    {"lon=.5&lat=1.e2", "invalid_parameter"}, /* 100 > 90 */
    {"lon=.5&lat=1.", NULL},
    {"lon=1e3&lat=-9E-1", NULL},
    {"lon=119.5&lat=34.1&&", NULL},
    {"&lon=119.5&lat=34.1", NULL},
    {"lon=119.5", "missing_parameter"},
    {"", "missing_parameter"},
    {"lon=119.5&lat=34.1&x=1", "unknown_parameter"},
    {"lon=119.5&lat=34.1&LON=1", "unknown_parameter"},
    {"lon=119.5&lat=34.1&lon=1", "duplicate_parameter"},
    {"lon=nan&lat=1", "invalid_parameter"},
    {"lon=NaN&lat=1", "invalid_parameter"},
    {"lon=inf&lat=1", "invalid_parameter"},
    {"lon=-Infinity&lat=1", "invalid_parameter"},
    {"lon=1e999&lat=1", "invalid_parameter"},
    {"lon=0x1p3&lat=1", "invalid_parameter"},
    {"lon=1,5&lat=1", "invalid_parameter"},
    {"lon=1.5.5&lat=1", "invalid_parameter"},
    {"lon=+&lat=1", "invalid_parameter"},
    {"lon=e5&lat=1", "invalid_parameter"},
    {"lon=1e&lat=1", "invalid_parameter"},
    {"lon=%201&lat=1", "invalid_parameter"},
    {"lon=1+&lat=1", "invalid_parameter"},
    {"lon=&lat=1", "invalid_parameter"},
    {"lon&lat=1", "invalid_parameter"},
    {"lon=1&lat=90.0001", "invalid_parameter"},
    {"lon=%31%31&lat=%2D1", NULL},
    {"lon=1&lat=1&crs=gcj02", NULL},
    {"lon=1&lat=1&crs=EPSG%3A4549", NULL},
    {"lon=1&lat=1&crs=EPSG:0", "invalid_parameter"},
    {"lon=1&lat=1&crs=mars", "invalid_parameter"},
    {"lon=1&lat=1&at=2024-02-29", NULL},
    {"lon=1&lat=1&at=2023-02-29", "invalid_parameter"},
    {"lon=1&lat=1&at=2024-2-9", "invalid_parameter"},
    {"lon=1&lat=1&n=100", NULL},
    {"lon=1&lat=1&n=0", "invalid_parameter"},
    {"lon=1&lat=1&n=5.0", "invalid_parameter"},
    {"lon=1&lat=1&n=99999999999999999999", "invalid_parameter"},
    {"lon=1&lat=1&n=9999999999999999999", "invalid_parameter"}, /* 19 digits: beyond int64 */
    {"lon=1&lat=1&n=-000000000000000005", "invalid_parameter"}, /* fine, but below 1 */
    {"lon=1&lat=1&n=-", "invalid_parameter"},
    {"lon=1&lat=1&name=%E7%BD%91%E6%A0%BC", NULL}, /* 网格: 6 bytes */
    {"lon=1&lat=1&name=%E7%BD%91%E6%A0%BC%E5%91%98", "invalid_parameter"}, /* 9 bytes > 8 */
    {"lon=1&lat=1&name=a+b", NULL},
    {"lon=1&lat=1&name=a%0Ab", "invalid_parameter"},
    {"lon=1&lat=1&name=a%00b", "malformed_query"},
    {"lon=1&lat=1&name=%C0%AF", "malformed_query"}, /* overlong */
    {"lon=1&lat=1&name=%ED%A0%80", "malformed_query"}, /* surrogate */
    {"lon=1&lat=1&name=%E7%BD", "malformed_query"}, /* truncated */
    {"lon=1&lat=1&name=%G1", "malformed_query"},
    {"lon=1&lat=1&name=%4", "malformed_query"},
    {"lon=1&lat=1&name=%", "malformed_query"},
    {"lon=1&lat=1&%ZZ=1", "malformed_query"},
    {"lon=1&lat=1&status=closed", NULL},
    {"lon=1&lat=1&status=Closed", "invalid_parameter"},
    {"lon=1&lat=1&since=2024-03-01T08:00:00%2B08:00", NULL},
    {"lon=1&lat=1&since=2024-03-01T08:00:00+08:00", "invalid_parameter"}, /* '+' is a space */
    {"lon=1&lat=1&since=2024-03-01T08:00:00.123Z", NULL},
    {"lon=1&lat=1&since=2024-03-01", "invalid_parameter"},
    {"lon=1&lat=1&bbox=119,34,120,35", NULL},
    {"lon=1&lat=1&bbox=119,34,120", "invalid_parameter"},
    {"lon=1&lat=1&bbox=119,34,120,35,1", "invalid_parameter"},
    {"lon=1&lat=1&bbox=120,34,119,35", "invalid_parameter"},
    {"lon=1&lat=1&bbox=119,-91,120,35", "invalid_parameter"},
    {"lon=1&lat=1&bbox=119,34,,35", "invalid_parameter"},
    {"lon=1&lat=1&from=119.4,34.1", NULL},
    {"lon=1&lat=1&from=119.4", "invalid_parameter"},
    {"lon=1&lat=1&from=181,34", "invalid_parameter"},
};

static void query_table(void) {
    for (size_t i = 0; i < sizeof QUERIES / sizeof QUERIES[0]; i++) {
        wg_query q;
        wg_input_error err;
        wg_status st = wg_query_parse(QUERIES[i].qs, strlen(QUERIES[i].qs), SPEC, NSPEC, &q, &err);
        const char *want = QUERIES[i].code;
        int good = want ? st != WG_OK && err.code && !strcmp(err.code, want) && err.message[0]
                        : st == WG_OK;
        if (!good)
            fprintf(stderr, "query '%s': got %s (%s), want %s\n", QUERIES[i].qs,
                    st ? err.code : "ok", st ? err.message : "", want ? want : "ok");
        CHECK(good);
    }
}

static void query_values(void) {
    wg_query q;
    wg_input_error err;
    const char *qs = "lon=%2B119.25&lat=-34.5&crs=BD09&at=2024-02-29&n=42&name=a+b&status=closed"
                     "&since=2024-03-01T08:00:00%2B08:00&bbox=119,34,120.5,35&from=1.5,-2";
    CHECK(wg_query_parse(qs, strlen(qs), SPEC, NSPEC, &q, &err) == WG_OK);
    CHECK(q.v[0].set && q.v[0].num == 119.25 && q.v[1].num == -34.5);
    CHECK(q.v[2].crs == WG_CRS_BD09);
    CHECK_STR(q.v[2].text, "BD09");
    CHECK_STR(q.v[3].text, "2024-02-29");
    CHECK(q.v[4].i == 42 && q.v[4].num == 42);
    CHECK_STR(q.v[5].text, "a b");
    CHECK_STR(q.v[6].text, "closed");
    CHECK_STR(q.v[7].text, "2024-03-01T00:00:00Z");
    CHECK(q.v[8].v[0] == 119 && q.v[8].v[1] == 34 && q.v[8].v[2] == 120.5 && q.v[8].v[3] == 35);
    CHECK(q.v[9].v[0] == 1.5 && q.v[9].v[1] == -2);
    /* Only the given length is read: the query need not end in NUL. */
    const char *cut = "lon=1&lat=2&x=3";
    CHECK(wg_query_parse(cut, 11, SPEC, NSPEC, &q, &err) == WG_OK);
    /* Too long. */
    char big[WG_QUERY_MAX_LEN + 10];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK(wg_query_parse(big, strlen(big), SPEC, NSPEC, &q, &err) == WG_ERR_FORMAT);
    CHECK_STR(err.code, "query_too_long");
    /* The longest query fits the buffer: every byte a parameter. */
    char many[WG_QUERY_MAX_LEN + 1];
    size_t n = 0;
    for (size_t k = 0; n + 40 < WG_QUERY_MAX_LEN; k++)
        n += (size_t)snprintf(many + n, sizeof many - n, "%s%s=%s", n ? "&" : "",
                              SPEC[k % 2].name, "1");
    CHECK(wg_query_parse(many, n, SPEC, NSPEC, &q, &err) != WG_OK); /* duplicates */
    CHECK_STR(err.code, "duplicate_parameter");
}

static const struct {
    const char *body, *code;
} BODIES[] = {
    {"{\"lon\":119.5,\"lat\":34.1}", NULL},
    {" {\"lat\":34.1, \"lon\":119.5 } \n", NULL},
    {"{\"lon\":119,\"lat\":34,\"crs\":\"gcj02\",\"category\":\"治安\",\"description\":\"a\\nb\","
     "\"reported_at\":\"2024-03-01T08:00:00+08:00\",\"reporter\":\"OF1\",\"ext_id\":\"x-1\"}", NULL},
    {"{\"lon\":119,\"lat\":34,\"category\":null}", NULL},
    {"{\"lon\":450000,\"lat\":3780000,\"crs\":\"EPSG:4549\"}", NULL},
    {"{\"lon\":119,\"lat\":34,\"category\":\"\\ud83d\\ude00\"}", NULL},
    {"", "invalid_json"},
    {"{", "invalid_json"},
    {"{\"lon\":1,\"lat\":2", "invalid_json"},
    {"{\"lon\":1,\"lat\":2,}", "invalid_json"},
    {"{'lon':1,'lat':2}", "invalid_json"},
    {"{lon:1,lat:2}", "invalid_json"},
    {"{\"lon\":NaN,\"lat\":2}", "invalid_json"},
    {"{\"lon\":Infinity,\"lat\":2}", "invalid_json"},
    {"{\"lon\":0x10,\"lat\":2}", "invalid_json"},
    {"{\"lon\":01,\"lat\":2}", "invalid_json"},
    {"{\"lon\":1,\"lat\":2} x", "invalid_json"},
    {"{\"lon\":1,\"lat\":2}{}", "invalid_json"},
    {"[1,2]", "invalid_json"},
    {"\"lon\"", "invalid_json"},
    {"null", "invalid_json"},
    {"{\"lon\":1,\"lat\":2,\"category\":\"a\\u0000b\"}", "invalid_json"},
    {"{\"lon\":1,\"lat\":2,\"category\":\"a\tb\"}", "invalid_json"}, /* raw control char */
    {"{\"lon\":1,\"lat\":2,\"category\":\"\\ud800\"}", "invalid_field"},
    {"{\"lon\":1,\"lat\":2,\"category\":\"a\\u0001b\"}", "invalid_field"},
    {"{\"lon\":1,\"lat\":2,\"category\":\"a\\nb\"}", "invalid_field"},
    {"{\"lon\":1,\"lat\":2,\"category\":1}", "invalid_field"},
    {"{\"lon\":1,\"lat\":2,\"category\":[\"a\"]}", "invalid_field"},
    {"{\"lon\":1,\"lat\":2,\"category\":{}}", "invalid_field"},
    {"{\"lon\":\"1\",\"lat\":2}", "invalid_field"},
    {"{\"lon\":true,\"lat\":2}", "invalid_field"},
    {"{\"lon\":1e999,\"lat\":2}", "invalid_field"},
    {"{\"lon\":-1e999,\"lat\":2}", "invalid_field"},
    {"{\"lon\":181,\"lat\":2}", "invalid_field"},
    {"{\"lon\":34,\"lat\":119}", "invalid_field"},
    {"{\"lon\":1,\"lat\":2,\"crs\":\"mars\"}", "invalid_field"},
    {"{\"lon\":1,\"lat\":2,\"reported_at\":\"2024-03-01\"}", "invalid_field"},
    {"{\"lon\":1,\"lat\":2,\"reported_at\":\"2024-03-01T25:00:00Z\"}", "invalid_field"},
    {"{\"lon\":1,\"lat\":2,\"lon\":3}", "duplicate_field"},
    {"{\"lon\":1,\"lat\":2,\"l\\u006fn\":3}", "duplicate_field"},
    {"{\"lon\":1,\"lat\":2,\"zoom\":3}", "unknown_field"},
    {"{\"lon\":1,\"lat\":2,\"\":3}", "unknown_field"},
    {"{\"lat\":2}", "missing_field"},
    {"{\"lon\":null,\"lat\":2}", "missing_field"},
    {"{}", "missing_field"},
};

static void body_table(wg_json_reader *jr) {
    for (size_t i = 0; i < sizeof BODIES / sizeof BODIES[0]; i++) {
        wg_report rep;
        wg_input_error err;
        wg_status st = wg_report_parse(jr, BODIES[i].body, strlen(BODIES[i].body), &rep, &err);
        const char *want = BODIES[i].code;
        int good = want ? st != WG_OK && err.code && !strcmp(err.code, want) : st == WG_OK;
        if (!good)
            fprintf(stderr, "body %s: got %s (%s), want %s\n", BODIES[i].body,
                    st ? err.code : "ok", st ? err.message : "", want ? want : "ok");
        CHECK(good);
    }
    wg_report rep;
    wg_input_error err;
    const char *b = BODIES[2].body;
    CHECK(wg_report_parse(jr, b, strlen(b), &rep, &err) == WG_OK);
    CHECK(rep.x == 119 && rep.y == 34 && rep.crs_kind == WG_CRS_GCJ02);
    CHECK_STR(rep.crs, "gcj02");
    CHECK_STR(rep.category, "治安");
    CHECK_STR(rep.description, "a\nb");
    CHECK_STR(rep.reported_at, "2024-03-01T00:00:00Z");
    CHECK_STR(rep.reporter, "OF1");
    CHECK_STR(rep.ext_id, "x-1");
    b = BODIES[0].body;
    CHECK(wg_report_parse(jr, b, strlen(b), &rep, &err) == WG_OK);
    CHECK(rep.crs_kind == WG_CRS_WGS84 && rep.reported_at[0] == '\0' && rep.category[0] == '\0');
    CHECK_STR(rep.crs, "wgs84");
    /* A NUL byte inside the given length, invalid UTF-8, too large. */
    CHECK(wg_report_parse(jr, "{\"lon\":1,\0\"lat\":2}", 18, &rep, &err) == WG_ERR_FORMAT);
    CHECK(wg_report_parse(jr, "{\"lon\":1,\"lat\":2,\"category\":\"\xff\"}", 31, &rep, &err) ==
          WG_ERR_FORMAT);
    char *big = malloc(70000);
    memset(big, ' ', 70000);
    CHECK(wg_report_parse(jr, big, 70000, &rep, &err) == WG_ERR_INVALID_ARG);
    CHECK_STR(err.code, "body_too_large");
    /* The longest description fits; one byte more does not. */
    int n = snprintf(big, 70000, "{\"lon\":1,\"lat\":2,\"description\":\"");
    memset(big + n, 'd', WG_INCIDENT_DESC_MAX);
    snprintf(big + n + WG_INCIDENT_DESC_MAX, 10, "\"}");
    CHECK(wg_report_parse(jr, big, strlen(big), &rep, &err) == WG_OK);
    CHECK(strlen(rep.description) == WG_INCIDENT_DESC_MAX);
    memset(big + n, 'd', WG_INCIDENT_DESC_MAX + 1);
    snprintf(big + n + WG_INCIDENT_DESC_MAX + 1, 10, "\"}");
    CHECK(wg_report_parse(jr, big, strlen(big), &rep, &err) == WG_ERR_INVALID_ARG);
    /* Deeply nested JSON is refused, not a stack overflow. */
    n = snprintf(big, 70000, "{\"lon\":1,\"lat\":2,\"category\":");
    for (int k = 0; k < 30000; k++) big[n++] = '[';
    for (int k = 0; k < 30000; k++) big[n++] = ']';
    big[n++] = '}';
    CHECK(wg_report_parse(jr, big, (size_t)n, &rep, &err) != WG_OK);
    free(big);
}

static void times(void) {
    static const struct {
        const char *s;
        int64_t t; /* -1: refused */
    } T[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"2024-02-29T12:00:00+08:00", 1709179200},
        {"2024-02-29T04:00:00z", 1709179200},
        {"2024-02-29t04:00:00.999999999Z", 1709179200},
        {"2024-02-29T04:00:00-00:00", 1709179200},
        {"2024-03-01T00:00:00+23:59", 1709164800 + 86400 - 86340},
        {"2016-12-31T23:59:60Z", 1483228799}, /* leap second: the moment before */
        {"9999-12-31T23:59:59Z", 253402300799},
        {"1970-01-01T07:59:59+08:00", -1}, /* before 1970 UTC */
        {"2024-02-30T00:00:00Z", -1},
        {"2023-02-29T00:00:00Z", -1},
        {"2024-01-01T24:00:00Z", -1},
        {"2024-01-01T00:60:00Z", -1},
        {"2024-01-01T00:00:61Z", -1},
        {"2024-01-01 00:00:00Z", -1},
        {"2024-01-01T00:00:00", -1},
        {"2024-01-01T00:00:00+0800", -1},
        {"2024-01-01T00:00:00+24:00", -1},
        {"2024-01-01T00:00:00.Z", -1},
        {"2024-01-01T00:00:00.1234567890Z", -1},
        {"2024-01-01T00:00:00Zx", -1},
        {"24-01-01T00:00:00Z", -1},
        {"", -1},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        int64_t t = -1;
        int ok = wg_time_parse(T[i].s, strlen(T[i].s), &t);
        if (ok != (T[i].t >= 0) || (ok && t != T[i].t))
            fprintf(stderr, "time '%s': %d %lld, want %lld\n", T[i].s, ok, (long long)t,
                    (long long)T[i].t);
        CHECK(ok == (T[i].t >= 0) && (!ok || t == T[i].t));
    }
    /* Formatting against gmtime_r, and parsing back, over 400 years. */
    int bad = 0;
    for (int64_t t = 0; t < 253402300799LL; t += 86400LL * 37 + 3607) {
        char s[24], want[32];
        wg_time_format(t, s);
        time_t tt = (time_t)t;
        struct tm tm;
        gmtime_r(&tt, &tm);
        strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%SZ", &tm);
        int64_t back;
        bad += strcmp(s, want) || !wg_time_parse(s, strlen(s), &back) || back != t;
    }
    CHECK(bad == 0);
}

static void texts(void) {
    CHECK(wg_text_ok("网格", 6, 6, 0));
    CHECK(!wg_text_ok("网格", 6, 5, 0));
    CHECK(!wg_text_ok("a\nb", 3, 10, 0));
    CHECK(wg_text_ok("a\nb\r\tc", 6, 10, 1));
    CHECK(!wg_text_ok("a\x01" "b", 3, 10, 1));
    CHECK(!wg_text_ok("a\x7f", 2, 10, 1));
    CHECK(!wg_text_ok("\xe7\xbd", 2, 10, 0));
}

int main(void) {
    wg_json_reader *jr = NULL;
    CHECK(wg_json_reader_new(&jr) == WG_OK);
    query_table();
    query_values();
    if (jr) body_table(jr);
    times();
    texts();
    wg_json_reader_free(jr);
    wg_json_reader_free(NULL);
    TEST_MAIN_END();
}
