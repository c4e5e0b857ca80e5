/* fuzz_csv.c -- libFuzzer target for the CSV reader (engine/src/csv.c).
 *
 * Runs the reader over the input from memory and touches every byte of every
 * field, so ASan sees any read past a field; then checks the invariants the
 * header promises: at most 1024 fields of at most 64 KiB each, start lines
 * that never go backwards, and a "line N" message on every failure -- and
 * that the reader's fast lane (whole unquoted lines split at once) gives
 * exactly what its byte-at-a-time path gives on the same input. */
#include "csv.h"
#include "ctx.h" /* WG_ERRMSG_MAX */
#include "wangge/wangge.h"

#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static wg_ctx *ctx; /* one for the process: the reader is what we fuzz */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!ctx && wg_ctx_new(&ctx) != WG_OK) abort();
    /* The same bytes through the fast lane and through the byte path only:
     * records, lines, offsets, the outcome and the message must agree. */
    wg_csv *csv = NULL, *ref = NULL;
    if (wg_csv_open_mem(ctx, (const char *)data, size, &csv) != WG_OK) abort();
    if (wg_csv_open_mem(ctx, (const char *)data, size, &ref) != WG_OK) abort();
    wg_csv_set_slow_only(ref, 1);
    long last_line = 0;
    volatile size_t sink = 0;
    int r, rr;
    char msg[WG_ERRMSG_MAX];
    for (;;) {
        r = wg_csv_next(csv);
        snprintf(msg, sizeof msg, "%s", wg_ctx_errmsg(ctx));
        rr = wg_csv_next(ref);
        if (r != rr) abort();
        if (r == -1 && strcmp(msg, wg_ctx_errmsg(ctx)) != 0) abort();
        if (r != 1) break;
        size_t n = wg_csv_nfields(csv);
        if (n < 1 || n > 1024 || n != wg_csv_nfields(ref)) abort();
        long line = wg_csv_line(csv);
        if (line <= last_line || line != wg_csv_line(ref)) abort();
        if (wg_csv_consumed(csv) != wg_csv_consumed(ref)) abort();
        last_line = line;
        for (size_t i = 0; i < n; i++) {
            size_t len = strlen(wg_csv_field(csv, i));
            if (len > 65536 || strcmp(wg_csv_field(csv, i), wg_csv_field(ref, i)) != 0) abort();
            sink += len;
        }
        if (wg_csv_field(csv, n)[0] != '\0') abort();
    }
    if (r == -1 && strncmp(msg, "line ", 5) != 0) abort();
    if (r != -1 && r != 0) abort();
    if (wg_csv_next(csv) != r) abort(); /* end and failure both stick */
    wg_csv_close(csv);
    wg_csv_close(ref);
    (void)sink;
    return 0;
}
