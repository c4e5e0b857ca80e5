/* fuzz_csv.c -- libFuzzer target for the CSV reader (engine/src/csv.c).
 *
 * Runs the reader over the input from memory and touches every byte of every
 * field, so ASan sees any read past a field; then checks the invariants the
 * header promises: at most 1024 fields of at most 64 KiB each, start lines
 * that never go backwards, and a "line N" message on every failure. */
#include "csv.h"
#include "wangge/wangge.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static wg_ctx *ctx; /* one for the process: the reader is what we fuzz */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!ctx && wg_ctx_new(&ctx) != WG_OK) abort();
    wg_csv *csv = NULL;
    if (wg_csv_open_mem(ctx, (const char *)data, size, &csv) != WG_OK) abort();
    long last_line = 0;
    volatile size_t sink = 0;
    int r;
    while ((r = wg_csv_next(csv)) == 1) {
        size_t n = wg_csv_nfields(csv);
        if (n < 1 || n > 1024) abort();
        long line = wg_csv_line(csv);
        if (line <= last_line) abort();
        last_line = line;
        for (size_t i = 0; i < n; i++) {
            size_t len = strlen(wg_csv_field(csv, i));
            if (len > 65536) abort();
            sink += len;
        }
        if (wg_csv_field(csv, n)[0] != '\0') abort();
    }
    if (r == -1 && strncmp(wg_ctx_errmsg(ctx), "line ", 5) != 0) abort();
    if (r != -1 && r != 0) abort();
    if (wg_csv_next(csv) != r) abort(); /* end and failure both stick */
    wg_csv_close(csv);
    (void)sink;
    return 0;
}
