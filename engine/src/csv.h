/* csv.h -- a strict, streaming RFC 4180 reader (private to the engine).
 *
 * Why our own: the officer and incident files come from many hands, and a
 * good error must name the physical line where a record starts, even when
 * quoted fields span lines. The reader is small, allocation-bounded and
 * fuzzed (tests/fuzz/fuzz_csv.c). */
#ifndef WG_CSV_H
#define WG_CSV_H

#include "wangge/wangge.h"

typedef struct wg_csv wg_csv;

/* Opens `path` for reading. A leading UTF-8 BOM is skipped. Free with
 * wg_csv_close(). */
wg_status wg_csv_open(wg_ctx *ctx, const char *path, wg_csv **out);

/* Reads from memory (`buf` is borrowed and must outlive the reader). */
wg_status wg_csv_open_mem(wg_ctx *ctx, const char *buf, size_t len, wg_csv **out);

void wg_csv_close(wg_csv *csv);

/* Advances to the next record: returns 1 when a record was read, 0 at end
 * of input, -1 on malformed input (the context's message names the line and
 * the fault: unterminated quote, stray quote, NUL byte, invalid UTF-8, field
 * over 64 KiB, record over 1024 fields). Blank lines are skipped. */
int wg_csv_next(wg_csv *csv);

/* The current record's field count and fields (NUL-terminated UTF-8,
 * borrowed until the next wg_csv_next()). Out-of-range `i` returns "". */
size_t wg_csv_nfields(const wg_csv *csv);
const char *wg_csv_field(const wg_csv *csv, size_t i);

/* The 1-based physical line on which the current record starts. */
long wg_csv_line(const wg_csv *csv);

/* Bytes of input consumed so far (BOM included): after wg_csv_next()
 * returns a record, the offset just past that record's line end. */
size_t wg_csv_consumed(const wg_csv *csv);

/* Numbers lines from `line` onwards (call before the first wg_csv_next()):
 * for a reader over a slice of a larger file that starts on that line. */
void wg_csv_set_line(wg_csv *csv, long line);

/* When the current record was one plain line (no quotes, no CR), points
 * *p at its bytes without the line end -- the fields joined by commas --
 * and returns 1; else 0. Borrowed until the next wg_csv_next(). Lets a
 * caller copy a record through without re-joining its fields. */
int wg_csv_raw(const wg_csv *csv, const char **p, size_t *n);

/* Tests only: 1 makes the reader take every byte through its slow,
 * byte-at-a-time path, so the fast lane can be compared against it. */
void wg_csv_set_slow_only(wg_csv *csv, int on);

#endif
