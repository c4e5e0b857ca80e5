/* fuzz_json.c -- libFuzzer target for the JSON body of a report to
 * `wangge serve` (wg_report_parse, engine/src/httpparse.c: SQLite's JSON
 * parser on a private in-memory database, then our checks).
 *
 * Invariants: a body is accepted or refused with a code and a message,
 * never neither; when accepted the coordinates are finite (and within
 * +-180/+-90 for the geographic CRSs), the CRS text parses to the kind
 * reported, every text is UTF-8 without control characters (tabs and line
 * breaks allowed in the description) within its limit, and reported_at is
 * empty or normalised UTC that parses back. */
#include "httpparse.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static wg_json_reader *reader; /* one for the process, as one per server thread */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!reader && wg_json_reader_new(&reader) != WG_OK) abort();
    if (size > 70000) return 0;
    char *body = malloc(size ? size : 1); /* exact size: no reading past the end */
    if (!body) return 0;
    memcpy(body, data, size);
    wg_report r;
    wg_input_error err;
    memset(&err, 0x5a, sizeof err);
    if (wg_report_parse(reader, body, size, &r, &err) != WG_OK) {
        if (!err.code || !err.message[0] || !memchr(err.message, '\0', sizeof err.message))
            abort();
        free(body);
        return 0;
    }
    free(body);
    if (!isfinite(r.x) || !isfinite(r.y)) abort();
    wg_crs_kind kind;
    int epsg;
    if (wg_crs_parse(r.crs, &kind, &epsg) || kind != r.crs_kind || epsg != r.epsg) abort();
    if (kind != WG_CRS_EPSG && (fabs(r.x) > 180 || fabs(r.y) > 90)) abort();
    const char *texts[] = {r.category, r.reporter, r.ext_id, r.crs};
    for (int i = 0; i < 4; i++)
        if (!wg_text_ok(texts[i], strlen(texts[i]), WG_INCIDENT_TEXT_MAX, 0)) abort();
    if (!wg_text_ok(r.description, strlen(r.description), WG_INCIDENT_DESC_MAX, 1)) abort();
    if (r.reported_at[0]) {
        int64_t t;
        char again[24];
        if (strlen(r.reported_at) != 20 || !wg_time_parse(r.reported_at, 20, &t)) abort();
        wg_time_format(t, again);
        if (strcmp(again, r.reported_at)) abort();
    }
    return 0;
}
