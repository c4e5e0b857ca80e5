/* test_csv.c -- the strict streaming CSV reader.
 *
 * Each case states its input and the records (start line and fields) it
 * must produce, or the message its fault must produce, so the file reads as
 * a table. A generated 200k-line file checks buffer refills field by field
 * against the generator, read from disk and from memory. */
#include "csv.h"
#include "wangge/wangge.h"
#include "test.h"

#include <errno.h>
#include <sys/stat.h>

#define MAX_EXPECT_FIELDS 8

typedef struct rec {
    long line;
    size_t n;
    const char *f[MAX_EXPECT_FIELDS];
} rec;

static wg_ctx *ctx;

/* Parses `len` bytes and compares with `want` (n records, then end). */
static void expect_records(const char *name, const char *in, size_t len, const rec *want,
                           size_t n) {
    wg_csv *csv = NULL;
    CHECK_OK(ctx, wg_csv_open_mem(ctx, in, len, &csv));
    if (!csv) return;
    for (size_t r = 0; r < n; r++) {
        int got = wg_csv_next(csv);
        if (got != 1) {
            fprintf(stderr, "%s: record %zu: wg_csv_next = %d (%s)\n", name, r, got,
                    wg_ctx_errmsg(ctx));
            CHECK(got == 1);
            wg_csv_close(csv);
            return;
        }
        if (wg_csv_line(csv) != want[r].line || wg_csv_nfields(csv) != want[r].n)
            fprintf(stderr, "%s: record %zu: line %ld, %zu fields\n", name, r, wg_csv_line(csv),
                    wg_csv_nfields(csv));
        CHECK(wg_csv_line(csv) == want[r].line);
        CHECK(wg_csv_nfields(csv) == want[r].n);
        for (size_t i = 0; i < want[r].n && i < wg_csv_nfields(csv); i++)
            CHECK_STR(wg_csv_field(csv, i), want[r].f[i]);
        CHECK_STR(wg_csv_field(csv, want[r].n), ""); /* out of range */
    }
    int end = wg_csv_next(csv);
    if (end != 0) fprintf(stderr, "%s: expected end, got %d\n", name, end);
    CHECK(end == 0);
    CHECK(wg_csv_next(csv) == 0); /* and it stays at the end */
    CHECK(wg_csv_nfields(csv) == 0);
    wg_csv_close(csv);
}

#define EXPECT(name, lit, ...)                                                       \
    do {                                                                             \
        const rec want_[] = {__VA_ARGS__};                                           \
        expect_records(name, lit, sizeof lit - 1, want_, sizeof want_ / sizeof *want_); \
    } while (0)

#define EXPECT_NONE(name, lit) expect_records(name, lit, sizeof lit - 1, NULL, 0)

static void test_valid(void) {
    EXPECT("simple", "a,b,c\n1,2,3\n", {1, 3, {"a", "b", "c"}}, {2, 3, {"1", "2", "3"}});
    EXPECT("no trailing newline", "a,b\n1,2", {1, 2, {"a", "b"}}, {2, 2, {"1", "2"}});
    EXPECT("crlf", "a,b\r\n1,2\r\n", {1, 2, {"a", "b"}}, {2, 2, {"1", "2"}});
    EXPECT("crlf, no trailing", "a,b\r\n1,2", {1, 2, {"a", "b"}}, {2, 2, {"1", "2"}});
    EXPECT("quoted comma", "\"a,b\",c\n", {1, 2, {"a,b", "c"}});
    EXPECT("escaped quotes", "\"he said \"\"hi\"\"\",x\n", {1, 2, {"he said \"hi\"", "x"}});
    EXPECT("only an escaped quote", "\"\"\"\"\n", {1, 1, {"\""}});
    EXPECT("quoted at end of input", "\"abc\"", {1, 1, {"abc"}});
    EXPECT("quoted then crlf", "\"a\"\r\n\"b\",\"c\"\r\n", {1, 1, {"a"}}, {2, 2, {"b", "c"}});
    EXPECT("embedded newlines",
           "id,note\n1,\"line one\nline two\"\n2,\"x\r\ny\"\r\n3,\"\n\n\"\n4,z\n",
           {1, 2, {"id", "note"}}, {2, 2, {"1", "line one\nline two"}},
           {4, 2, {"2", "x\r\ny"}}, {6, 2, {"3", "\n\n"}}, {9, 2, {"4", "z"}});
    EXPECT("bom", "\xEF\xBB\xBFname,code\n\xE5\xBC\xA0\xE4\xB8\x89,1\n",
           {1, 2, {"name", "code"}}, {2, 2, {"\xE5\xBC\xA0\xE4\xB8\x89", "1"}});
    EXPECT("bom only in first position", "a\n\xEF\xBB\xBF" "b\n", {1, 1, {"a"}},
           {2, 1, {"\xEF\xBB\xBF" "b"}});
    EXPECT("empty fields", ",,\na,,b,\n\"\"\n\"\",\n", {1, 3, {"", "", ""}},
           {2, 4, {"a", "", "b", ""}}, {3, 1, {""}}, {4, 2, {"", ""}});
    EXPECT("comma at end of input", "a,", {1, 2, {"a", ""}});
    EXPECT("blank lines", "\n\na\n\r\n\nb\n\n", {3, 1, {"a"}}, {6, 1, {"b"}});
    EXPECT("spaces are data", " \n a , b \n", {1, 1, {" "}}, {2, 2, {" a ", " b "}});
    EXPECT("ragged records", "a\nb,c,d\ne,f\n", {1, 1, {"a"}}, {2, 3, {"b", "c", "d"}},
           {3, 2, {"e", "f"}});
    EXPECT("four-byte utf-8 and the last code point",
           "\xF0\x9F\x98\x80,\xF4\x8F\xBF\xBF,\xEF\xBF\xBD\n",
           {1, 3, {"\xF0\x9F\x98\x80", "\xF4\x8F\xBF\xBF", "\xEF\xBF\xBD"}});
    EXPECT_NONE("empty", "");
    EXPECT_NONE("bom only", "\xEF\xBB\xBF");
    EXPECT_NONE("blank only", "\n\r\n\n");
}

/* Parses `len` bytes expecting `records` good records, then a failure whose
 * message starts with `msg`. */
static void expect_error(const char *name, const char *in, size_t len, size_t records,
                         const char *msg) {
    wg_csv *csv = NULL;
    CHECK_OK(ctx, wg_csv_open_mem(ctx, in, len, &csv));
    if (!csv) return;
    size_t got = 0;
    int r;
    while ((r = wg_csv_next(csv)) == 1) got++;
    const char *err = wg_ctx_errmsg(ctx);
    int ok = r == -1 && got == records && strncmp(err, msg, strlen(msg)) == 0;
    if (!ok)
        fprintf(stderr, "%s: r=%d after %zu records, message \"%s\", expected \"%s...\"\n", name,
                r, got, err, msg);
    CHECK(ok);
    CHECK(wg_csv_next(csv) == -1); /* failures stick */
    CHECK(wg_csv_nfields(csv) == 0);
    wg_csv_close(csv);
}

#define EXPECT_ERR(name, lit, records, msg) expect_error(name, lit, sizeof lit - 1, records, msg)

static void test_errors(void) {
    EXPECT_ERR("unterminated", "a\nb\n\"x\nmore\nstill\n", 2,
               "line 5: unterminated quoted field (opened on line 3, byte 1)");
    EXPECT_ERR("unterminated, no newline", "a,\"bc", 0,
               "line 1: unterminated quoted field (opened on line 1, byte 3)");
    EXPECT_ERR("unterminated after a doubled quote", "\"a\"\"\n", 0,
               "line 1: unterminated quoted field (opened on line 1, byte 1)");
    EXPECT_ERR("stray quote", "a,b\nab\"c,d\n", 1, "line 2, byte 3: quote inside an unquoted field");
    EXPECT_ERR("text after closing quote", "x\n\"ab\"c\n", 1,
               "line 2, byte 5: unexpected character after a closing quote");
    EXPECT_ERR("space after closing quote", "\"ab\" ,c\n", 0,
               "line 1, byte 5: unexpected character after a closing quote");
    EXPECT_ERR("nul", "a\nb\0c\n", 1, "line 2, byte 2: NUL byte");
    EXPECT_ERR("nul in quotes", "\"a\nb\0\"\n", 0, "line 2, byte 2: NUL byte");
    /* Column counts bytes: U+4E2D is three. */
    EXPECT_ERR("bad continuation", "ok\n\xE4\xB8\xAD,\xC3\x28\n", 1, "line 2, byte 5: invalid UTF-8");
    EXPECT_ERR("gbk text", "name\n\xD5\xC5\xC8\xFD\n", 1, "line 2, byte 1: invalid UTF-8");
    EXPECT_ERR("latin-1 text", "caf\xE9\n", 0, "line 1, byte 4: invalid UTF-8");
    EXPECT_ERR("overlong", "a,\xC0\xAF\n", 0, "line 1, byte 3: invalid UTF-8");
    EXPECT_ERR("overlong 3-byte", "\xE0\x80\xAF\n", 0, "line 1, byte 1: invalid UTF-8");
    EXPECT_ERR("surrogate", "\xED\xA0\x80\n", 0, "line 1, byte 1: invalid UTF-8");
    EXPECT_ERR("past U+10FFFF", "\xF4\x90\x80\x80\n", 0, "line 1, byte 1: invalid UTF-8");
    EXPECT_ERR("F5 lead", "ab\xF5\x80\x80\x80\n", 0, "line 1, byte 3: invalid UTF-8");
    EXPECT_ERR("lone continuation", "a\n\n\x80\n", 1, "line 3, byte 1: invalid UTF-8");
    EXPECT_ERR("truncated at end", "a\xE4\xB8", 0, "line 1, byte 2: invalid UTF-8 (truncated");
    EXPECT_ERR("cut by newline", "\"a\xE4\n\"\n", 0, "line 1, byte 3: invalid UTF-8");
    EXPECT_ERR("bare cr", "a\rb\n", 0, "line 1, byte 2: carriage return not followed by line feed");
    EXPECT_ERR("bare cr at end", "a,b\r", 0, "line 1, byte 4: carriage return not followed");
    EXPECT_ERR("bare cr on blank line", "a\n\rb\n", 1, "line 2, byte 1: carriage return");
}

/* Fields of exactly the limit pass; one byte more fails. Same for the field
 * count. */
static void test_limits(void) {
    size_t cap = 70000 + 4 * 1025 + 16;
    char *buf = malloc(cap);
    CHECK(buf != NULL);
    if (!buf) return;
    wg_csv *csv = NULL;

    for (int quoted = 0; quoted <= 1; quoted++) {
        for (size_t size = 65536; size <= 65537; size++) {
            size_t n = 0;
            n += (size_t)sprintf(buf, "h\n");
            if (quoted) buf[n++] = '"';
            memset(buf + n, 'x', size);
            n += size;
            if (quoted) buf[n++] = '"';
            buf[n++] = '\n';
            CHECK_OK(ctx, wg_csv_open_mem(ctx, buf, n, &csv));
            CHECK(wg_csv_next(csv) == 1);
            int r = wg_csv_next(csv);
            if (size == 65536) {
                CHECK(r == 1 && strlen(wg_csv_field(csv, 0)) == 65536);
            } else {
                CHECK(r == -1);
                CHECK_STR(wg_ctx_errmsg(ctx), "line 2: field 1 is longer than 65536 bytes");
            }
            wg_csv_close(csv);
        }
    }

    for (size_t fields = 1024; fields <= 1025; fields++) {
        size_t n = 0;
        for (size_t i = 0; i < fields; i++) n += (size_t)sprintf(buf + n, "%s%zu", i ? "," : "", i % 10);
        buf[n++] = '\n';
        CHECK_OK(ctx, wg_csv_open_mem(ctx, buf, n, &csv));
        int r = wg_csv_next(csv);
        if (fields == 1024) {
            CHECK(r == 1 && wg_csv_nfields(csv) == 1024);
            CHECK_STR(wg_csv_field(csv, 1023), "3");
        } else {
            CHECK(r == -1);
            CHECK_STR(wg_ctx_errmsg(ctx), "line 1: record has more than 1024 fields");
        }
        wg_csv_close(csv);
    }
    free(buf);
}

/* A growing byte buffer for the generator. */
typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t len) {
    if (b->n + len > b->cap) {
        size_t cap = b->cap ? b->cap : 1 << 16;
        while (cap < b->n + len) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) abort();
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static const char *tmp_dir(void) {
    const char *dir = getenv("WG_TMP");
    if (!dir || !*dir) dir = "/tmp";
    /* WG_TMP is one level below an existing build directory. */
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) return "/tmp";
    return dir;
}

static int write_file(const char *path, const char *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, len, f);
    return (fclose(f) == 0 && w == len) ? 0 : -1;
}

/* Record i of the big file, as the generator wrote it. */
#define BIG_RECORDS 200000

static void big_expect(int i, char id[16], char name[64], char note[64]) {
    snprintf(id, 16, "%d", i);
    snprintf(name, 64, "\xE7\xBD\x91\xE6\xA0\xBC\xE5\x91\x98%d", i); /* 网格员 */
    if (i % 7 == 0)
        snprintf(note, 64, "note \"%d\"\nsecond, line", i);
    else
        snprintf(note, 64, "n%d", i);
}

/* Generates the big file; returns each record's start line in lines[]. */
static void big_generate(sbuf *b, long *lines) {
    long line = 1;
    char id[16], name[64], note[64], tmp[160];
    sb_str(b, "\xEF\xBB\xBFid,name,note\r\n");
    line++;
    for (int i = 0; i < BIG_RECORDS; i++) {
        if (i % 1000 == 999) {
            sb_str(b, "\n");
            line++;
        }
        big_expect(i, id, name, note);
        lines[i] = line;
        if (i % 7 == 0) {
            snprintf(tmp, sizeof tmp, "%s,%s,\"note \"\"%d\"\"\nsecond, line\"", id, name, i);
            line++;
        } else {
            snprintf(tmp, sizeof tmp, "%s,%s,%s", id, name, note);
        }
        sb_str(b, tmp);
        sb_str(b, i % 3 == 0 ? "\r\n" : "\n");
        line++;
    }
}

static void big_check(wg_csv *csv, const long *lines, const char *how) {
    char id[16], name[64], note[64];
    long bad = 0;
    CHECK(wg_csv_next(csv) == 1);
    CHECK_STR(wg_csv_field(csv, 0), "id");
    CHECK_STR(wg_csv_field(csv, 2), "note");
    int i;
    for (i = 0; i < BIG_RECORDS; i++) {
        if (wg_csv_next(csv) != 1) break;
        big_expect(i, id, name, note);
        if (wg_csv_nfields(csv) != 3 || wg_csv_line(csv) != lines[i] ||
            strcmp(wg_csv_field(csv, 0), id) != 0 || strcmp(wg_csv_field(csv, 1), name) != 0 ||
            strcmp(wg_csv_field(csv, 2), note) != 0) {
            if (bad++ < 5) fprintf(stderr, "%s: record %d differs (line %ld)\n", how, i, wg_csv_line(csv));
        }
    }
    if (i != BIG_RECORDS) fprintf(stderr, "%s: stopped at %d: %s\n", how, i, wg_ctx_errmsg(ctx));
    CHECK(i == BIG_RECORDS);
    CHECK(bad == 0);
    CHECK(wg_csv_next(csv) == 0);
}

static void test_big_file(void) {
    sbuf b = {0};
    long *lines = malloc(BIG_RECORDS * sizeof *lines);
    CHECK(lines != NULL);
    if (!lines) return;
    big_generate(&b, lines);
    char path[4096];
    snprintf(path, sizeof path, "%s/test_csv_big.csv", tmp_dir());
    CHECK(write_file(path, b.p, b.n) == 0);
    fprintf(stderr, "big file: %zu bytes, %d records\n", b.n, BIG_RECORDS);

    wg_csv *csv = NULL;
    CHECK_OK(ctx, wg_csv_open(ctx, path, &csv));
    if (csv) big_check(csv, lines, "file");
    wg_csv_close(csv);

    csv = NULL;
    CHECK_OK(ctx, wg_csv_open_mem(ctx, b.p, b.n, &csv));
    if (csv) big_check(csv, lines, "memory");
    wg_csv_close(csv);

    remove(path);
    free(lines);
    free(b.p);
}

static void test_small_file(void) {
    char path[4096];
    snprintf(path, sizeof path, "%s/test_csv_small.csv", tmp_dir());
    static const char data[] = "\xEF\xBB\xBF" "officer_id,name,grid_code\r\n"
                               "G001,\"Wang, Li\",320723001001\r\n"
                               "\r\n"
                               "G002,\"Zhao \"\"Xiao\"\" Ming\",320723001002";
    CHECK(write_file(path, data, sizeof data - 1) == 0);
    wg_csv *csv = NULL;
    CHECK_OK(ctx, wg_csv_open(ctx, path, &csv));
    if (!csv) return;
    CHECK(wg_csv_next(csv) == 1);
    CHECK_STR(wg_csv_field(csv, 0), "officer_id");
    CHECK(wg_csv_next(csv) == 1);
    CHECK_STR(wg_csv_field(csv, 1), "Wang, Li");
    CHECK(wg_csv_line(csv) == 2);
    CHECK(wg_csv_next(csv) == 1);
    CHECK(wg_csv_line(csv) == 4);
    CHECK_STR(wg_csv_field(csv, 1), "Zhao \"Xiao\" Ming");
    CHECK_STR(wg_csv_field(csv, 2), "320723001002");
    CHECK(wg_csv_next(csv) == 0);
    wg_csv_close(csv);

    /* A file with an error: the message is the reader's, with its line. */
    static const char broken[] = "a,b\n1,2\n3,\"x\n4,5\n";
    CHECK(write_file(path, broken, sizeof broken - 1) == 0);
    CHECK_OK(ctx, wg_csv_open(ctx, path, &csv));
    if (csv) {
        CHECK(wg_csv_next(csv) == 1);
        CHECK(wg_csv_next(csv) == 1);
        CHECK(wg_csv_next(csv) == -1);
        CHECK_STR(wg_ctx_errmsg(ctx), "line 4: unterminated quoted field (opened on line 3, byte 3)");
        wg_csv_close(csv);
    }

    /* A field straddling the 64 KiB read buffer, from disk. */
    size_t n = 100000;
    char *big = malloc(n);
    CHECK(big != NULL);
    if (big) {
        memset(big, 'y', n);
        memcpy(big, "a\n", 2);
        big[60000] = '\n';
        big[n - 1] = '\n';
        CHECK(write_file(path, big, n) == 0);
        CHECK_OK(ctx, wg_csv_open(ctx, path, &csv));
        if (csv) {
            CHECK(wg_csv_next(csv) == 1);
            CHECK(wg_csv_next(csv) == 1 && strlen(wg_csv_field(csv, 0)) == 59998);
            CHECK(wg_csv_next(csv) == 1 && strlen(wg_csv_field(csv, 0)) == n - 60002);
            CHECK(wg_csv_line(csv) == 3);
            CHECK(wg_csv_next(csv) == 0);
            wg_csv_close(csv);
        }
        free(big);
    }
    remove(path);

    csv = NULL;
    wg_status st = wg_csv_open(ctx, "/nonexistent/dir/officers.csv", &csv);
    CHECK(st == WG_ERR_IO);
    CHECK(csv == NULL);
    CHECK(strstr(wg_ctx_errmsg(ctx), "/nonexistent/dir/officers.csv") != NULL);
    wg_csv_close(NULL); /* accepts NULL */
}

/* Reads `len` bytes from memory and, through a file, from disk -- both
 * with the fast lane for whole unquoted lines -- and from memory through
 * the byte-at-a-time path only, and requires identical results: records,
 * start lines, fields, bytes consumed, and the final status and message.
 * Returns the number of differences. */
static int differential(const char *path, const char *data, size_t len) {
    if (write_file(path, data, len) != 0) return 1;
    wg_ctx *fctx = NULL, *sctx = NULL;
    if (wg_ctx_new(&fctx) != WG_OK || wg_ctx_new(&sctx) != WG_OK) {
        wg_ctx_free(fctx);
        return 1;
    }
    wg_csv *m = NULL, *f = NULL, *sl = NULL;
    int diffs = 0;
    if (wg_csv_open_mem(ctx, data, len, &m) != WG_OK || wg_csv_open(fctx, path, &f) != WG_OK ||
        wg_csv_open_mem(sctx, data, len, &sl) != WG_OK) {
        diffs++;
        goto done;
    }
    wg_csv_set_slow_only(sl, 1);
    for (;;) {
        int rm = wg_csv_next(m), rf = wg_csv_next(f), rs = wg_csv_next(sl);
        if (rm != rf || rm != rs) {
            diffs++;
            break;
        }
        if (rm != 1) {
            if (rm == -1 && (strcmp(wg_ctx_errmsg(ctx), wg_ctx_errmsg(fctx)) != 0 ||
                             strcmp(wg_ctx_errmsg(ctx), wg_ctx_errmsg(sctx)) != 0))
                diffs++;
            break;
        }
        if (wg_csv_line(m) != wg_csv_line(f) || wg_csv_nfields(m) != wg_csv_nfields(f) ||
            wg_csv_line(m) != wg_csv_line(sl) || wg_csv_nfields(m) != wg_csv_nfields(sl) ||
            wg_csv_consumed(m) != wg_csv_consumed(sl) || wg_csv_consumed(m) != wg_csv_consumed(f)) {
            diffs++;
            break;
        }
        for (size_t i = 0; i < wg_csv_nfields(m); i++)
            if (strcmp(wg_csv_field(m, i), wg_csv_field(f, i)) != 0 ||
                strcmp(wg_csv_field(m, i), wg_csv_field(sl, i)) != 0)
                diffs++;
    }
done:
    wg_csv_close(m);
    wg_csv_close(f);
    wg_csv_close(sl);
    wg_ctx_free(fctx);
    wg_ctx_free(sctx);
    return diffs;
}

/* Random files built from the pieces that matter to the two paths (commas,
 * quotes, CR, LF, CRLF, blank lines, UTF-8 good and bad, NUL): fast lane,
 * file reader and byte path must agree on every one. */
static void test_fast_lane_random(void) {
    static const char *pieces[] = {"a", "12.5", ",", ",", "\n", "\n", "\r\n", "\"", "\"\"",
                                   "\xE4\xB8\xAD", "\xC3\x28", "\r", " ", "\xEF\xBB\xBF", "x,y\n",
                                   "\n\n", "\xF0\x9F\x98\x80", "\xED\xA0\x80", ""};
    const size_t npieces = sizeof pieces / sizeof *pieces;
    char path[4096], buf[512];
    snprintf(path, sizeof path, "%s/test_csv_fast.csv", tmp_dir());
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    int diffs = 0, runs = 2000;
    for (int r = 0; r < runs; r++) {
        size_t len = 0;
        int npart = 1 + r % 40;
        for (int k = 0; k < npart; k++) {
            seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
            /* mostly plain text, so many records take the fast lane */
            const char *pc = (seed >> 40) % 4 ? pieces[(seed >> 20) % 6] : pieces[(seed >> 20) % npieces];
            size_t pl = strlen(pc);
            if (len + pl >= sizeof buf) break;
            memcpy(buf + len, pc, pl);
            len += pl;
        }
        if (r % 3 == 0) buf[len++] = (seed >> 8) % 2 ? '\0' : '\n'; /* NUL or LF at the end */
        int d = differential(path, buf, len);
        if (d) fprintf(stderr, "fast lane: random input %d differs\n", r);
        diffs += d;
    }
    CHECK(diffs == 0);
    remove(path);
}

/* Slides tricky snippets across the file reader's 64 KiB buffer edge, so
 * every byte of each (a CRLF, a doubled quote, a UTF-8 sequence, the fault
 * itself) lands on the refill once. */
static void test_buffer_edges(void) {
    static const char *snippets[] = {
        "\"a\"\"b\",\xE4\xB8\xAD\r\n\"x\r\ny\",\r\n\n\r\n\xF0\x9F\x98\x80,last",
        "ok,\"never closed\r\n\xE4\xB8\xAD\r\n",
        "\xE4\xB8\xAD,\xC3\x28,x\n",
        "a,b\rc\n",
        "\"q\"x\n",
    };
    const size_t edge = 64 * 1024, span = 48;
    char path[4096];
    snprintf(path, sizeof path, "%s/test_csv_edges.csv", tmp_dir());
    char *buf = malloc(edge + 256);
    CHECK(buf != NULL);
    if (!buf) return;
    int diffs = 0, runs = 0;
    for (size_t s = 0; s < sizeof snippets / sizeof *snippets; s++) {
        size_t slen = strlen(snippets[s]);
        for (size_t start = edge - span; start <= edge; start++) {
            /* One long first line ending at `start`, then the snippet. */
            memset(buf, 'p', start - 1);
            buf[start - 1] = '\n';
            memcpy(buf + start, snippets[s], slen);
            int d = differential(path, buf, start + slen);
            if (d) fprintf(stderr, "buffer edge: snippet %zu at %zu differs\n", s, start);
            diffs += d;
            runs++;
        }
    }
    fprintf(stderr, "buffer edges: %d file/memory comparisons\n", runs);
    CHECK(diffs == 0);
    remove(path);
    free(buf);
}

int main(void) {
    CHECK_OK(ctx, wg_ctx_new(&ctx));
    if (!ctx) return 1;
    test_valid();
    test_errors();
    test_limits();
    test_small_file();
    test_buffer_edges();
    test_fast_lane_random();
    test_big_file();
    wg_ctx_free(ctx);
    TEST_MAIN_END();
}
