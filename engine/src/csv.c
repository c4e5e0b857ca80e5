/* csv.c -- a strict, streaming RFC 4180 reader.
 *
 * Design, and why:
 *  - Streaming. A file is read through one fixed 64 KiB buffer, so an
 *    incident log of several gigabytes costs the same memory as a ten-line
 *    officer list. Memory input is parsed in place, without a copy.
 *  - One growing buffer per reader. A record's fields are appended, each
 *    NUL-terminated, to a single byte buffer, and their starts kept as
 *    offsets (not pointers, so the buffer may move while growing). Both
 *    buffers are reused for every record: after the first few records the
 *    reader allocates nothing. The limits (64 KiB a field, 1024 fields a
 *    record) bound that buffer at 64 MiB whatever the input.
 *  - A byte-at-a-time state machine. Every byte passes one gate, take(),
 *    which refills the buffer, counts physical lines and columns, rejects
 *    NUL bytes and validates UTF-8 (strictly: no overlongs, no surrogates,
 *    nothing past U+10FFFF). The CSV grammar sits on top and never sees a
 *    byte the gate did not vet. Simple to reason about, simple to fuzz.
 *  - Strict, with good messages. Files come from many hands; guessing what
 *    a stray quote or a lone CR meant hides mistakes in officer rosters.
 *    Every fault stops the reader with a message that starts "line N:" (the
 *    physical line, counting CRLF and LF as one line end), naming the byte
 *    column where that helps and, for an unterminated quote, the line the
 *    quote opened on. Columns count bytes (a Chinese character is three) and
 *    start after a BOM. Callers prefix the file name.
 *  - Blank lines are skipped (a physically empty line, not a line holding
 *    "" or spaces: those are records with one field). */
#include "csv.h"

#include "ctx.h"
#include "ogrio.h" /* wg_utf8_valid() */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CSV_BUF_SIZE (64 * 1024)
#define CSV_MAX_FIELD 65536 /* bytes, without the NUL */
#define CSV_MAX_FIELDS 1024

/* take() results besides a byte. */
#define B_EOF (-1)
#define B_ERR (-2) /* the message is set */

enum csv_state { CSV_READING, CSV_DONE, CSV_FAILED };

struct wg_csv {
    wg_ctx *ctx;
    FILE *fp;          /* NULL when reading memory */
    char *own;         /* the file buffer (fp != NULL) */
    const char *buf;   /* bytes to parse: own, or the caller's memory */
    size_t len, pos;   /* bytes in buf, bytes consumed */
    size_t base;       /* bytes consumed from earlier file buffers */
    int at_eof;        /* no more refills */
    enum csv_state state;

    long line, col;    /* position of the last byte taken: 1-based line,
                          1-based column (0 = nothing taken on this line) */
    long rec_line;     /* line the current record starts on */

    /* UTF-8 validation: continuation bytes still expected, the range the
     * next one must fall in, and where the sequence started. */
    int u8_need;
    unsigned char u8_lo, u8_hi;
    long u8_line, u8_col;

    int slow_only;     /* tests: never take the fast lane */
    const char *raw;   /* the current record's bytes, if read by the fast lane */
    size_t raw_len;

    char *rec;         /* the record's fields, each NUL-terminated */
    size_t rec_len, rec_cap;
    size_t *offs;      /* field i starts at rec + offs[i] */
    size_t nfields;
};

static int fail(wg_csv *c, wg_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets the message and marks the reader failed; returns B_ERR. */
static int fail(wg_csv *c, wg_status st, const char *fmt, ...) {
    char msg[WG_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    wg_err(c->ctx, st, "%s", msg);
    c->state = CSV_FAILED;
    c->nfields = 0;
    return B_ERR;
}

/* Refills the file buffer; 0 at end of input or on a read error (then
 * c->state is CSV_FAILED). */
static int refill(wg_csv *c) {
    if (c->at_eof) return 0;
    if (!c->fp) {
        c->at_eof = 1;
        return 0;
    }
    size_t n = fread(c->own, 1, CSV_BUF_SIZE, c->fp);
    c->base += c->len;
    c->buf = c->own;
    c->len = n;
    c->pos = 0;
    if (n > 0) return 1;
    c->at_eof = 1;
    if (ferror(c->fp)) fail(c, WG_ERR_IO, "line %ld: read error: %s", c->line, strerror(errno));
    return 0;
}

/* The UTF-8 gate for one byte at (c->line, c->col); 0 if it is fine. */
static int utf8_check(wg_csv *c, int b) {
    if (c->u8_need > 0) {
        if (b < c->u8_lo || b > c->u8_hi) goto bad;
        c->u8_need--;
        c->u8_lo = 0x80;
        c->u8_hi = 0xBF;
        return 0;
    }
    if (b < 0x80) return 0;
    c->u8_line = c->line;
    c->u8_col = c->col;
    c->u8_lo = 0x80;
    c->u8_hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
        c->u8_need = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
        c->u8_need = 2;
        if (b == 0xE0) c->u8_lo = 0xA0; /* no overlongs */
        if (b == 0xED) c->u8_hi = 0x9F; /* no surrogates */
    } else if (b >= 0xF0 && b <= 0xF4) {
        c->u8_need = 3;
        if (b == 0xF0) c->u8_lo = 0x90; /* no overlongs */
        if (b == 0xF4) c->u8_hi = 0x8F; /* nothing past U+10FFFF */
    } else {
        goto bad; /* a stray continuation byte, C0/C1 or F5..FF */
    }
    return 0;
bad:
    fail(c, WG_ERR_FORMAT, "line %ld, byte %ld: invalid UTF-8 (is the file in another encoding?)",
         c->u8_need > 0 ? c->u8_line : c->line, c->u8_need > 0 ? c->u8_col : c->col);
    return -1;
}

/* The gate every byte passes: the next byte, B_EOF or B_ERR. */
static int take(wg_csv *c) {
    if (c->pos == c->len && !refill(c)) {
        if (c->state == CSV_FAILED) return B_ERR;
        if (c->u8_need > 0)
            return fail(c, WG_ERR_FORMAT, "line %ld, byte %ld: invalid UTF-8 (truncated at end of input)",
                        c->u8_line, c->u8_col);
        return B_EOF;
    }
    int b = (unsigned char)c->buf[c->pos++];
    c->col++;
    if (b == 0) return fail(c, WG_ERR_FORMAT, "line %ld, byte %ld: NUL byte", c->line, c->col);
    if (utf8_check(c, b) != 0) return B_ERR;
    return b;
}

/* Called after a '\n' was taken: the next byte starts a new line. */
static void newline(wg_csv *c) {
    c->line++;
    c->col = 0;
}

/* After a CR: the next byte must be LF. Returns 0 when it is. */
static int expect_lf(wg_csv *c) {
    long line = c->line, col = c->col;
    int b = take(c);
    if (b == '\n') {
        newline(c);
        return 0;
    }
    if (b != B_ERR)
        fail(c, WG_ERR_FORMAT,
             "line %ld, byte %ld: carriage return not followed by line feed (old Mac line endings?)",
             line, col);
    return -1;
}

/* Appends a byte to the current field. */
static int append(wg_csv *c, char ch) {
    if (c->rec_len - c->offs[c->nfields] >= CSV_MAX_FIELD) {
        fail(c, WG_ERR_FORMAT, "line %ld: field %zu is longer than %d bytes", c->line,
             c->nfields + 1, CSV_MAX_FIELD);
        return -1;
    }
    if (c->rec_len == c->rec_cap) {
        size_t cap = c->rec_cap * 2;
        char *p = realloc(c->rec, cap);
        if (!p) {
            fail(c, WG_ERR_NOMEM, "line %ld: out of memory", c->line);
            return -1;
        }
        c->rec = p;
        c->rec_cap = cap;
    }
    c->rec[c->rec_len++] = ch;
    return 0;
}

/* Reads a quoted field whose opening quote was just taken; returns the
 * byte after the closing quote (or B_EOF, B_ERR). */
static int quoted_field(wg_csv *c) {
    long open_line = c->line, open_col = c->col;
    for (;;) {
        int b = take(c);
        if (b == B_ERR) return B_ERR;
        if (b == B_EOF) {
            long last = (c->col == 0 && c->line > 1) ? c->line - 1 : c->line;
            return fail(c, WG_ERR_FORMAT,
                        "line %ld: unterminated quoted field (opened on line %ld, byte %ld)", last,
                        open_line, open_col);
        }
        if (b == '"') {
            b = take(c);
            if (b != '"') return b; /* the closing quote */
        }
        if (append(c, (char)b) != 0) return B_ERR;
        if (b == '\n') newline(c);
    }
}

/* Reads an unquoted field starting with `b`; returns the byte after it. */
static int plain_field(wg_csv *c, int b) {
    while (b >= 0 && b != ',' && b != '\n' && b != '\r') {
        if (b == '"')
            return fail(c, WG_ERR_FORMAT,
                        "line %ld, byte %ld: quote inside an unquoted field (quote the whole field "
                        "and double the quote)",
                        c->line, c->col);
        if (append(c, (char)b) != 0) return B_ERR;
        b = take(c);
    }
    return b;
}

/* The fast lane. Nearly every record of a real file is one line without a
 * quote: such a line, whole in the buffer, is split at its commas in one
 * pass instead of a call per byte (the byte-at-a-time path costs ~5x as
 * much). Anything unusual -- a quote, a lone CR, a NUL, a byte that is not
 * valid UTF-8, a blank line, a limit reached, a line cut by the buffer's
 * end -- returns 0 with nothing changed, and the byte path, which knows
 * how to report every fault, reads the record instead. Both paths give the
 * same fields, line numbers and offsets (tests/test_csv.c and the fuzzer
 * compare them). */
static int fast_line(wg_csv *c) {
    if (c->slow_only || c->u8_need || c->col != 0 || c->pos >= c->len) return 0;
    const char *p = c->buf + c->pos, *end = c->buf + c->len;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl && c->fp) return 0; /* the line may go on in the next buffer */
    size_t n = (size_t)((nl ? nl : end) - p);
    size_t m = n > 0 && p[n - 1] == '\r' && nl ? n - 1 : n; /* CRLF */
    if (m == 0) return 0;
    if (m + 1 > c->rec_cap) {
        char *r = realloc(c->rec, m + 1);
        if (!r) return 0;
        c->rec = r;
        c->rec_cap = m + 1;
    }
    size_t nf = 1, start = 0;
    unsigned high = 0;
    c->offs[0] = 0;
    for (size_t i = 0; i < m; i++) {
        unsigned char b = (unsigned char)p[i];
        if (b == ',') {
            if (i - start > CSV_MAX_FIELD || nf == CSV_MAX_FIELDS) return 0;
            c->rec[i] = '\0';
            c->offs[nf++] = start = i + 1;
            continue;
        }
        if (b == '"' || b == '\r' || b == 0) return 0;
        high |= b;
        c->rec[i] = (char)b;
    }
    if (m - start > CSV_MAX_FIELD || ((high & 0x80) && !wg_utf8_valid(p, m))) return 0;
    c->rec[m] = '\0';
    c->rec_len = m + 1;
    c->nfields = nf;
    c->rec_line = c->line;
    c->raw = p;
    c->raw_len = m;
    if (nl) {
        c->pos += n + 1;
        newline(c);
    } else {
        c->pos = c->len;
        c->col += (long)n;
    }
    return 1;
}

void wg_csv_set_slow_only(wg_csv *c, int on) { c->slow_only = on; }

int wg_csv_raw(const wg_csv *c, const char **p, size_t *n) {
    if (!c->raw) return 0;
    *p = c->raw;
    *n = c->raw_len;
    return 1;
}

int wg_csv_next(wg_csv *c) {
    if (c->state == CSV_DONE) return 0;
    if (c->state == CSV_FAILED) return -1;
    c->nfields = 0;
    c->rec_len = 0;
    c->raw = NULL;
    if (fast_line(c)) return 1;

    /* Skip blank lines; b is the record's first byte. */
    int b;
    for (;;) {
        b = take(c);
        if (b == B_ERR) return -1;
        if (b == B_EOF) {
            c->state = CSV_DONE;
            return 0;
        }
        if (b == '\n') {
            newline(c);
        } else if (b == '\r') {
            if (expect_lf(c) != 0) return -1;
        } else {
            break;
        }
    }
    c->rec_line = c->line;

    for (;;) {
        if (c->nfields == CSV_MAX_FIELDS) {
            fail(c, WG_ERR_FORMAT, "line %ld: record has more than %d fields", c->line,
                 CSV_MAX_FIELDS);
            return -1;
        }
        c->offs[c->nfields] = c->rec_len;
        if (b == '"') {
            b = quoted_field(c);
            if (b >= 0 && b != ',' && b != '\n' && b != '\r') {
                fail(c, WG_ERR_FORMAT,
                     "line %ld, byte %ld: unexpected character after a closing quote", c->line,
                     c->col);
                return -1;
            }
        } else {
            b = plain_field(c, b);
        }
        if (b == B_ERR) return -1;
        /* The field's NUL: not counted against the field limit. */
        if (c->rec_len == c->rec_cap) {
            char *p = realloc(c->rec, c->rec_cap * 2);
            if (!p) {
                fail(c, WG_ERR_NOMEM, "line %ld: out of memory", c->line);
                return -1;
            }
            c->rec = p;
            c->rec_cap *= 2;
        }
        c->rec[c->rec_len++] = '\0';
        c->nfields++;
        if (b == ',') {
            b = take(c);
            if (b == B_ERR) return -1;
            continue;
        }
        if (b == '\r' && expect_lf(c) != 0) return -1;
        if (b == '\n') newline(c);
        return 1; /* '\n', CRLF or end of input */
    }
}

/* Shared by both openers: allocates the reader and its record buffers. */
static wg_status csv_new(wg_ctx *ctx, wg_csv **out) {
    wg_csv *c = calloc(1, sizeof *c);
    if (!c) goto nomem;
    c->ctx = ctx;
    c->line = 1;
    c->rec_cap = 4096;
    c->rec = malloc(c->rec_cap);
    c->offs = malloc(CSV_MAX_FIELDS * sizeof *c->offs);
    if (!c->rec || !c->offs) goto nomem;
    *out = c;
    return WG_OK;
nomem:
    wg_csv_close(c);
    return wg_err(ctx, WG_ERR_NOMEM, "out of memory opening a CSV reader");
}

/* Skips a UTF-8 BOM at the start of the input. */
static void skip_bom(wg_csv *c) {
    if (c->fp) {
        /* A short read (a pipe) may deliver fewer than three bytes. */
        while (c->len < 3 && !c->at_eof) {
            size_t n = fread(c->own + c->len, 1, CSV_BUF_SIZE - c->len, c->fp);
            if (n == 0) break;
            c->len += n;
        }
    }
    if (c->len >= 3 && memcmp(c->buf, "\xEF\xBB\xBF", 3) == 0) c->pos = 3;
}

wg_status wg_csv_open(wg_ctx *ctx, const char *path, wg_csv **out) {
    wg_csv *c = NULL;
    wg_status st = csv_new(ctx, &c);
    if (st != WG_OK) return st;
    c->own = malloc(CSV_BUF_SIZE);
    if (!c->own) {
        st = wg_err(ctx, WG_ERR_NOMEM, "out of memory opening %s", path);
        goto done;
    }
    c->buf = c->own;
    c->fp = fopen(path, "rb");
    if (!c->fp) {
        st = wg_err(ctx, WG_ERR_IO, "cannot open %s: %s", path, strerror(errno));
        goto done;
    }
    skip_bom(c);
    if (ferror(c->fp)) {
        st = wg_err(ctx, WG_ERR_IO, "cannot read %s: %s", path, strerror(errno));
        goto done;
    }
done:
    if (st != WG_OK) {
        wg_csv_close(c);
        return st;
    }
    *out = c;
    return WG_OK;
}

wg_status wg_csv_open_mem(wg_ctx *ctx, const char *buf, size_t len, wg_csv **out) {
    wg_csv *c = NULL;
    wg_status st = csv_new(ctx, &c);
    if (st != WG_OK) return st;
    c->buf = len ? buf : "";
    c->len = len;
    skip_bom(c);
    *out = c;
    return WG_OK;
}

void wg_csv_close(wg_csv *c) {
    if (!c) return;
    if (c->fp) fclose(c->fp);
    free(c->own);
    free(c->rec);
    free(c->offs);
    free(c);
}

size_t wg_csv_nfields(const wg_csv *c) { return c->nfields; }

const char *wg_csv_field(const wg_csv *c, size_t i) {
    if (i >= c->nfields) return "";
    return c->rec + c->offs[i];
}

long wg_csv_line(const wg_csv *c) { return c->rec_line; }

size_t wg_csv_consumed(const wg_csv *c) { return c->base + c->pos; }

void wg_csv_set_line(wg_csv *c, long line) { c->line = line; }
