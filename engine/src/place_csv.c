/* place_csv.c -- the streaming fast path of batch placement: CSV in, CSV out.
 *
 * Going through OGR features costs microseconds a row (a feature object,
 * string copies, per-field formatting), hundreds of times the placement
 * itself. For the everyday case -- a hotline export in CSV, placed into a
 * CSV -- this path streams the bytes instead:
 *
 *  1. the main thread reads a block of the file and cuts it at record
 *     boundaries (a quote-aware scan for line ends) into one slice per
 *     thread, counting physical lines so errors keep true line numbers;
 *  2. each worker parses its slice with the same strict CSV reader as
 *     everywhere else (wg_csv over memory), judges the coordinates with the
 *     same rules as the OGR path (coords.c), places the point, and formats
 *     its output and rejects lines into buffers of its own;
 *  3. the main thread writes the buffers in order.
 * Input fields are copied through (re-quoted only where CSV needs it), so
 * the output equals the OGR path's row for row.
 *
 * With --store the workers also make each placed row's record (status,
 * times, level, deadlines: place_store.c, the code the OGR path uses too)
 * and the main thread inserts the records in input order, in the batch's
 * one transaction, after writing the block. */
#include "coords.h"
#include "csv.h"
#include "ogrio.h"
#include "placestore.h"
#include "units.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define BLOCK (8u << 20)  /* bytes read at a time */
#define MAX_THREADS 64

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

/* Makes room for `extra` more bytes (and a NUL). */
static int buf_reserve(buf *b, size_t extra) {
    if (b->n + extra + 1 <= b->cap) return 0;
    size_t cap = (b->cap + extra + 1) * 2;
    char *np = realloc(b->p, cap);
    if (!np) return -1;
    b->p = np;
    b->cap = cap;
    return 0;
}

static int buf_put(buf *b, const char *s, size_t n) {
    if (buf_reserve(b, n)) return -1;
    memcpy(b->p + b->n, s, n);
    b->n += n;
    return 0;
}

/* Bytes that make a field need quotes: a quote, a line end, or anything a
 * reader might take for a separator (as GDAL's CSV writer does). */
static const unsigned char NEEDS_QUOTE[256] = {
    [','] = 1, [';'] = 1, ['\t'] = 1, ['"'] = 1, ['\r'] = 1, ['\n'] = 1};

/* Appends a field, quoted only where NEEDS_QUOTE says. One pass over the
 * bytes for the common case (this runs ~15 times a row). */
static int put_field(buf *b, const char *s, int first) {
    size_t n = 0;
    while (s[n] && !NEEDS_QUOTE[(unsigned char)s[n]]) n++;
    if (!s[n]) {
        if (buf_reserve(b, n + 1)) return -1;
        if (!first) b->p[b->n++] = ',';
        memcpy(b->p + b->n, s, n);
        b->n += n;
        return 0;
    }
    if ((!first && buf_put(b, ",", 1)) || buf_put(b, "\"", 1)) return -1;
    for (const char *q; (q = strchr(s, '"')) != NULL; s = q + 1)
        if (buf_put(b, s, (size_t)(q - s) + 1) || buf_put(b, "\"", 1)) return -1;
    return buf_put(b, s, strlen(s)) || buf_put(b, "\"", 1);
}

/* What every worker shares (read-only). */
typedef struct shared {
    const wg_locator *loc;
    double tol;
    int lon_i, lat_i, crs_i;
    wg_crs_kind kind;
    int epsg;
    size_t nin;       /* header fields */
    const int *keep;  /* per input field: copied to the outputs */
    int keep_all;     /* every input field is */
    int want_rejects;
    /* --store: the columns storing reads (-1 = none; id, report time,
     * category, description, status, closing time, satisfaction), the
     * deadline rules and the batch's CRS. */
    int store;
    int scol[8]; /* id, time, category, description, crs, status, closed, satisfaction */
    const wg_rules *rules;
    const char *crs_default;
} shared;

/* A placed row's answer, kept small: the codes (borrowed from the
 * locator) and the first exclusive grids; a row in more exclusive grids
 * than fit is placed again when written. */
#define RES_EXCL 4
typedef struct row_res {
    const char *grid, *micro, *village, *town, *county;
    const char *excl[RES_EXCL];
    int n_excl;
    wg_place_status status;
    double dist_m;
} row_res;

/* The rows of a slice whose coordinates are good, between the passes. */
typedef struct rows {
    size_t n, cap;
    double *lon, *lat;
    size_t *in_off, *in_len; /* each row's input fields, formatted, in `in` */
    row_res *res;
    buf in;
    /* With --store: each row's line, the fields storing reads (copied in
     * pass 1 to `raw` at raw_off, NUL-terminated, in scol order, present
     * columns only) and, after pass 3, its record (texts in `sb`). */
    long *line;
    size_t *raw_off;
    buf raw;
    wg_store_rec *rec;
    wg_store_buf sb;
} rows;

typedef struct worker {
    const shared *sh;
    wg_ctx *ctx;
    wg_coord_cache cache;
    const char *data;
    size_t len;
    long first_line;
    buf out, rej;
    rows ok;
    int64_t status[3], rejected, swapped, rows;
    wg_status rc;
    int plain; /* rc's message names the row itself (no file prefix) */
} worker;

static int rows_push(rows *r, double lon, double lat, size_t in_off, size_t in_len, int store) {
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 4096;
        if (store) {
            long *l = realloc(r->line, cap * sizeof *l);
            if (l) r->line = l;
            size_t *o = l ? realloc(r->raw_off, cap * sizeof *o) : NULL;
            if (o) r->raw_off = o;
            wg_store_rec *sr = o ? realloc(r->rec, cap * sizeof *sr) : NULL;
            if (!sr) return -1;
            r->rec = sr;
        }
        double *a = realloc(r->lon, cap * sizeof *a), *b = a ? realloc(r->lat, cap * sizeof *b) : NULL;
        if (a) r->lon = a;
        if (b) r->lat = b;
        size_t *c = b ? realloc(r->in_off, cap * sizeof *c) : NULL;
        if (c) r->in_off = c;
        size_t *d = c ? realloc(r->in_len, cap * sizeof *d) : NULL;
        if (d) r->in_len = d;
        row_res *e = d ? realloc(r->res, cap * sizeof *e) : NULL;
        if (!e) return -1;
        r->res = e;
        r->cap = cap;
    }
    r->lon[r->n] = lon, r->lat[r->n] = lat;
    r->in_off[r->n] = in_off, r->in_len[r->n] = in_len;
    r->n++;
    return 0;
}

static void rows_free(rows *r) {
    free(r->lon);
    free(r->lat);
    free(r->in_off);
    free(r->in_len);
    free(r->res);
    free(r->in.p);
    free(r->line);
    free(r->raw_off);
    free(r->raw.p);
    free(r->rec);
    wg_store_buf_free(&r->sb);
}

/* Pass 1 of a stored row: its line and the fields storing reads. */
static int keep_store_fields(rows *r, const shared *sh, wg_csv *csv) {
    r->line[r->n - 1] = wg_csv_line(csv);
    r->raw_off[r->n - 1] = r->raw.n;
    for (int k = 0; k < 8; k++)
        if (sh->scol[k] >= 0) {
            const char *v = wg_csv_field(csv, (size_t)sh->scol[k]);
            if (buf_put(&r->raw, v, strlen(v) + 1)) return -1;
        }
    return 0;
}

/* Pass 3 of a stored row: its record. */
static wg_status make_store_rec(worker *w, size_t i, const wg_placement *pl) {
    const shared *sh = w->sh;
    rows *ok = &w->ok;
    const char *v[8], *p = ok->raw.p + ok->raw_off[i];
    for (int k = 0; k < 8; k++) {
        v[k] = NULL;
        if (sh->scol[k] < 0) continue;
        v[k] = p;
        p += strlen(p) + 1;
    }
    wg_store_in in = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], sh->crs_default};
    return wg_store_rec_make(w->ctx, sh->rules, &in, pl, ok->lon[i], ok->lat[i], ok->line[i],
                             &ok->sb, &ok->rec[i]);
}

static int put_input_fields(buf *b, const shared *sh, wg_csv *csv) {
    /* A plain line with every field kept is its own output when nothing in
     * it needs quotes (a plain line has no quote or line end; a ; or a tab
     * would still need them). */
    const char *raw;
    size_t n;
    if (sh->keep_all && wg_csv_raw(csv, &raw, &n) && !memchr(raw, ';', n) && !memchr(raw, '\t', n))
        return buf_put(b, raw, n);
    int first = 1;
    for (size_t i = 0; i < sh->nin; i++) {
        if (!sh->keep[i]) continue;
        if (put_field(b, wg_csv_field(csv, i), first)) return -1;
        first = 0;
    }
    return 0;
}

static int put_placement(buf *b, const wg_placement *p) {
    char excl[WG_PLACE_MAX_EXCL * 40] = "", dist[32] = "";
    for (int k = 0; k < p->n_excl; k++) {
        size_t n = strlen(excl);
        snprintf(excl + n, sizeof excl - n, "%s%s", k ? ";" : "", p->excl[k].code);
    }
    /* As GDAL prints a real: shortest form, here of centimetres. */
    if (p->status == WG_PLACE_NEAREST) snprintf(dist, sizeof dist, "%.15g", round(p->dist_m * 100) / 100);
    else if (p->status == WG_PLACE_INSIDE) strcpy(dist, "0");
    const char *v[8] = {p->grid.code,   p->micro.code,  excl, p->village.code,
                        p->town.code,   p->county.code, wg_place_status_name(p->status), dist};
    for (int k = 0; k < 8; k++)
        if (put_field(b, v[k] ? v[k] : "", 0)) return -1;
    return buf_put(b, "\n", 1);
}

/* wg_locator_place_many()'s callback: keeps the answer with its row. */
static void on_placed(void *user, size_t i, wg_status rc, const wg_placement *p) {
    worker *w = user;
    row_res *r = &w->ok.res[i];
    (void)rc; /* the coordinates were judged valid: placement cannot fail */
    r->grid = p->grid.code, r->micro = p->micro.code, r->village = p->village.code;
    r->town = p->town.code, r->county = p->county.code;
    r->n_excl = p->n_excl;
    for (int k = 0; k < p->n_excl && k < RES_EXCL; k++) r->excl[k] = p->excl[k].code;
    r->status = p->status;
    r->dist_m = p->dist_m;
    w->status[p->status]++;
}

/* One slice in three passes, so that placement can visit the points in the
 * index's memory order (several times faster on scattered points):
 *  1. parse every record, judge its coordinates, format its input fields
 *     (good rows) or its reject line;
 *  2. place the good rows with wg_locator_place_many();
 *  3. write the good rows in input order with their answers. */
static void *work_slice(void *arg) {
    worker *w = arg;
    const shared *sh = w->sh;
    rows *ok = &w->ok;
    ok->n = 0;
    ok->in.n = 0;
    ok->raw.n = 0;
    ok->sb.n = 0;
    wg_csv *csv = NULL;
    if ((w->rc = wg_csv_open_mem(w->ctx, w->data, w->len, &csv))) return NULL;
    wg_csv_set_line(csv, w->first_line);
    int r;
    while ((r = wg_csv_next(csv)) == 1) {
        w->rows++;
        wg_coord_result c;
        size_t nf = wg_csv_nfields(csv);
        if (nf != sh->nin) {
            memset(&c, 0, sizeof c);
            snprintf(c.reason, sizeof c.reason, "%zu fields where the header has %zu", nf, sh->nin);
        } else {
            wg_coords_from_text(w->ctx, &w->cache, wg_csv_field(csv, (size_t)sh->lon_i),
                                wg_csv_field(csv, (size_t)sh->lat_i),
                                sh->crs_i >= 0 ? wg_csv_field(csv, (size_t)sh->crs_i) : NULL,
                                sh->kind, sh->epsg, &c);
        }
        int bad = 0;
        if (c.ok) {
            size_t at = ok->in.n;
            bad = put_input_fields(&ok->in, sh, csv) ||
                  rows_push(ok, c.lon, c.lat, at, ok->in.n - at, sh->store) ||
                  (sh->store && keep_store_fields(ok, sh, csv));
        } else {
            w->rejected++;
            w->swapped += c.swapped;
            if (sh->want_rejects) {
                char line[32];
                snprintf(line, sizeof line, "%ld", wg_csv_line(csv));
                bad = put_input_fields(&w->rej, sh, csv) || put_field(&w->rej, line, 0) ||
                      put_field(&w->rej, c.reason, 0) || buf_put(&w->rej, "\n", 1);
            }
        }
        if (bad) {
            w->rc = wg_err(w->ctx, WG_ERR_NOMEM, "out of memory formatting output");
            break;
        }
    }
    if (r < 0) w->rc = WG_ERR_FORMAT;
    wg_csv_close(csv);
    if (w->rc) return NULL;
    if (wg_locator_place_many(sh->loc, ok->n, ok->lon, ok->lat, sh->tol, on_placed, w)) {
        w->rc = wg_err(w->ctx, WG_ERR_NOMEM, "out of memory placing a block of rows");
        return NULL;
    }
    for (size_t i = 0; i < ok->n; i++) {
        const row_res *res = &ok->res[i];
        wg_placement pl;
        if (res->n_excl > RES_EXCL) {
            wg_locator_place(sh->loc, ok->lon[i], ok->lat[i], sh->tol, &pl);
        } else {
            pl.status = res->status;
            pl.dist_m = res->dist_m;
            pl.grid.code = res->grid, pl.micro.code = res->micro, pl.village.code = res->village;
            pl.town.code = res->town, pl.county.code = res->county;
            pl.n_excl = res->n_excl;
            for (int k = 0; k < res->n_excl; k++) pl.excl[k].code = res->excl[k];
        }
        if (buf_put(&w->out, ok->in.p + ok->in_off[i], ok->in_len[i]) ||
            put_placement(&w->out, &pl)) {
            w->rc = wg_err(w->ctx, WG_ERR_NOMEM, "out of memory formatting output");
            break;
        }
        if (sh->store && (w->rc = make_store_rec(w, i, &pl))) {
            w->plain = 1;
            break;
        }
    }
    return NULL;
}

static long count_lines(const char *p, size_t n) {
    long c = 0;
    for (const char *e = p + n; (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++) c++;
    return c;
}

/* Scans data[0..len) (which starts at a record boundary) for record ends
 * outside quotes. Returns the offset just past the last complete record
 * (or len at end of input), fills cuts[1..nt-1] with boundaries near equal
 * shares, and lines[k] with the physical line each slice starts on. */
static size_t cut_block(const char *data, size_t len, int at_eof, int nt, size_t *cuts,
                        long *lines, long first_line) {
    size_t last = 0;
    int k = 1;
    cuts[0] = 0;
    lines[0] = first_line;
    if (!memchr(data, '"', len)) {
        /* No quotes (the usual file): every LF ends a record, and memchr
         * finds them far faster than a byte loop. */
        for (const char *p = data + len; p > data; p--)
            if (p[-1] == '\n') {
                last = (size_t)(p - data);
                break;
            }
        for (; k < nt; k++) {
            size_t from = len / (size_t)nt * (size_t)k;
            from = from > 0 ? from - 1 : 0;
            if (from < cuts[k - 1]) from = cuts[k - 1];
            const char *nl = from < last ? memchr(data + from, '\n', last - from) : NULL;
            if (!nl) break;
            cuts[k] = (size_t)(nl - data) + 1;
            lines[k] = lines[k - 1] + count_lines(data + cuts[k - 1], cuts[k] - cuts[k - 1]);
        }
        long nl_all = lines[k - 1] - first_line + count_lines(data + cuts[k - 1], len - cuts[k - 1]);
        if (at_eof) last = len;
        for (; k < nt; k++) {
            cuts[k] = last;
            lines[k] = first_line + nl_all;
        }
        cuts[nt] = last;
        return last;
    }
    int inq = 0;
    long nl = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = data[i];
        if (ch == '"') inq = !inq;
        else if (ch == '\n') {
            nl++;
            if (!inq) {
                last = i + 1;
                if (k < nt && last >= len / (size_t)nt * (size_t)k) {
                    cuts[k] = last;
                    lines[k] = first_line + nl;
                    k++;
                }
            }
        }
    }
    if (at_eof) last = len;
    for (; k < nt; k++) { /* fewer records than threads: empty slices */
        cuts[k] = last;
        lines[k] = first_line + nl;
    }
    cuts[nt] = last;
    return last;
}

static int find_col(wg_csv *hdr, const char *name, const char *const *fallbacks) {
    size_t n = wg_csv_nfields(hdr);
    for (size_t i = 0; name && i < n; i++)
        if (!strcasecmp(wg_csv_field(hdr, i), name)) return (int)i;
    if (name) return -1;
    for (; fallbacks && *fallbacks; fallbacks++)
        for (size_t i = 0; i < n; i++)
            if (!strcasecmp(wg_csv_field(hdr, i), *fallbacks)) return (int)i;
    return -1;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct sink {
    wg_staging sg;
    FILE *fp;
    int open;
} sink;

static wg_status sink_open(wg_ctx *ctx, const char *path, sink *s) {
    wg_status rc = wg_staging_open(ctx, path, &s->sg);
    if (rc) return rc;
    s->open = 1;
    s->fp = fopen(s->sg.tmpfile, "wb");
    if (!s->fp) return wg_err(ctx, WG_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    return WG_OK;
}

/* Closes the staged file (flushing it); it stays aside until sink_close(). */
static wg_status sink_flush(wg_ctx *ctx, sink *s, int commit, const char *path) {
    wg_status rc = WG_OK;
    if (s->fp && fclose(s->fp) != 0 && commit)
        rc = wg_err(ctx, WG_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    s->fp = NULL;
    return rc;
}

/* Moves the file into place (commit) or deletes it. */
static wg_status sink_close(wg_ctx *ctx, sink *s, int commit, const char *path) {
    wg_status rc = sink_flush(ctx, s, commit, path);
    if (s->open) {
        wg_status r2 = wg_staging_close(ctx, &s->sg, commit && !rc);
        if (!rc) rc = r2;
    }
    s->open = 0;
    return rc;
}

wg_status wg_place_csv(wg_ws *ws, const char *input, const char *output,
                       const wg_place_opts *o, wg_place_report *report);

wg_status wg_place_csv(wg_ws *ws, const char *input, const char *output,
                       const wg_place_opts *o, wg_place_report *report) {
    wg_ctx *ctx = ws->ctx;
    double t0 = now_s();
    wg_place_report rep;
    memset(&rep, 0, sizeof rep);
    int nt = o->threads < 1 ? 1 : o->threads > MAX_THREADS ? MAX_THREADS : o->threads;
    worker w[MAX_THREADS];
    memset(w, 0, sizeof w);
    shared sh;
    memset(&sh, 0, sizeof sh);
    sink out = {0}, rej = {0};
    wg_store sto;
    memset(&sto, 0, sizeof sto);
    int storing = 0;
    wg_locator *loc = NULL;
    wg_csv *hdr = NULL;
    int *keep = NULL;
    size_t cap = BLOCK, len = 0, hdr_len;
    char *data = malloc(cap);
    wg_status rc = WG_OK;
    FILE *in = fopen(input, "rb");
    if (!data) return wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    if (!in) {
        free(data);
        return wg_err(ctx, WG_ERR_IO, "%s: cannot open: %s", input, strerror(errno));
    }
    len = fread(data, 1, cap, in);
    int at_eof = len < cap;

    /* The header: read with the strict reader, then skipped. */
    if ((rc = wg_csv_open_mem(ctx, data, len, &hdr))) goto done;
    if (wg_csv_next(hdr) != 1) {
        rc = wg_err(ctx, WG_ERR_FORMAT, "%s: %s", input,
                    *wg_ctx_errmsg(ctx) ? wg_ctx_errmsg(ctx) : "the file is empty");
        goto done;
    }
    hdr_len = wg_csv_consumed(hdr);
    static const char *const lons[] = {"lon", "lng", "longitude", "x", NULL};
    static const char *const lats[] = {"lat", "latitude", "y", NULL};
    sh.nin = wg_csv_nfields(hdr);
    sh.lon_i = find_col(hdr, o->lon_field, lons);
    sh.lat_i = find_col(hdr, o->lat_field, lats);
    sh.crs_i = o->crs_field ? find_col(hdr, o->crs_field, NULL) : -1;
    if (sh.lon_i < 0 || sh.lat_i < 0 || (o->crs_field && sh.crs_i < 0)) {
        rc = o->lon_field || o->crs_field
                 ? wg_err(ctx, WG_ERR_NOT_FOUND, "%s: no field '%s'", input,
                          sh.lon_i < 0 ? o->lon_field : sh.lat_i < 0 ? o->lat_field : o->crs_field)
                 : wg_err(ctx, WG_ERR_NOT_FOUND, "%s: no lon/lat columns (looked for lon, lng, "
                          "longitude, x and lat, latitude, y); name them with --lon-field and "
                          "--lat-field", input);
        goto done;
    }
    if (wg_crs_parse(o->crs ? o->crs : "wgs84", &sh.kind, &sh.epsg)) {
        rc = wg_err(ctx, WG_ERR_INVALID_ARG, "unknown CRS '%s'", o->crs);
        goto done;
    }
    if (!(keep = calloc(sh.nin + 1, sizeof *keep))) {
        rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory");
        goto done;
    }
    sh.keep = keep;
    sh.want_rejects = o->rejects != NULL;
    sh.tol = o->tolerance_m;
    if ((rc = wg_locator_build(ws, o->at, &loc))) goto done;
    sh.loc = loc;
    if (o->store) {
        /* The fields storing reads, found as the OGR path finds them. */
        static const char *const ids[] = {"incident_id", "id", "ext_id", NULL};
        static const char *const times[] = {"reported_at", "time", "timestamp", "datetime", NULL};
        static const char *const cats[] = {"category", "type", NULL};
        static const char *const descs[] = {"description", "desc", "content", NULL};
        const char *named[4][2] = {{"--time-field", o->time_field},
                                   {"--status-field", o->status_field},
                                   {"--closed-field", o->closed_field},
                                   {"--satisfaction-field", o->satisfaction_field}};
        sh.store = 1;
        sh.scol[0] = find_col(hdr, NULL, ids);
        sh.scol[1] = find_col(hdr, o->time_field, times);
        sh.scol[2] = find_col(hdr, NULL, cats);
        sh.scol[3] = find_col(hdr, NULL, descs);
        sh.scol[4] = sh.crs_i;
        sh.scol[5] = o->status_field ? find_col(hdr, o->status_field, NULL) : -1;
        sh.scol[6] = o->closed_field ? find_col(hdr, o->closed_field, NULL) : -1;
        sh.scol[7] = o->satisfaction_field ? find_col(hdr, o->satisfaction_field, NULL) : -1;
        sh.crs_default = o->crs ? o->crs : "wgs84";
        const int at[4] = {1, 5, 6, 7};
        for (int k = 0; k < 4; k++)
            if (named[k][1] && sh.scol[at[k]] < 0) {
                rc = wg_err(ctx, WG_ERR_NOT_FOUND, "%s: the input has no field '%s'", named[k][0],
                            named[k][1]);
                goto done;
            }
    }

    /* Headers of the outputs: the input's own fields (ours are replaced). */
    buf head = {0}, rhead = {0};
    int first = 1, oom = 0;
    for (size_t i = 0; i < sh.nin; i++) {
        keep[i] = strncasecmp(wg_csv_field(hdr, i), "wg_", 3) != 0;
        if (!keep[i]) continue;
        oom |= put_field(&head, wg_csv_field(hdr, i), first) | put_field(&rhead, wg_csv_field(hdr, i), first);
        first = 0;
    }
    static const char *const outf[] = {"wg_grid", "wg_micro", "wg_excl", "wg_village",
                                       "wg_town", "wg_county", "wg_status", "wg_dist_m"};
    sh.keep_all = 1;
    for (size_t i = 0; i < sh.nin; i++) sh.keep_all &= keep[i];
    for (int k = 0; k < 8; k++) oom |= put_field(&head, outf[k], 0);
    oom |= put_field(&rhead, "wg_line", 0) | put_field(&rhead, "wg_reason", 0);
    oom |= buf_put(&head, "\n", 1) | buf_put(&rhead, "\n", 1);
    if (!oom && !(rc = sink_open(ctx, output, &out)) &&
        !(o->rejects && (rc = sink_open(ctx, o->rejects, &rej)))) {
        fwrite(head.p, 1, head.n, out.fp);
        if (rej.fp) fwrite(rhead.p, 1, rhead.n, rej.fp);
    }
    free(head.p);
    free(rhead.p);
    if (oom && !rc) rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    if (rc) goto done;
    if (sh.store) {
        storing = 1;
        if ((rc = wg_store_open(ws, sh.scol[5] >= 0, &sto))) goto done;
        sh.rules = sto.rules;
    }

    for (int t = 0; t < nt; t++) {
        w[t].sh = &sh;
        if (wg_ctx_new(&w[t].ctx)) {
            rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory");
            goto done;
        }
    }
    long line = 1 + count_lines(data, hdr_len);
    size_t start = hdr_len;
    for (;;) {
        size_t cuts[MAX_THREADS + 1];
        long lines[MAX_THREADS];
        size_t end = cut_block(data + start, len - start, at_eof, nt, cuts, lines, line);
        if (end == 0 && !at_eof) { /* one record longer than the buffer: grow it */
            if (cap >= (512u << 20)) {
                rc = wg_err(ctx, WG_ERR_FORMAT, "%s: line %ld: a record over 512 MiB (an "
                            "unterminated quote?)", input, line);
                goto done;
            }
            char *nd = realloc(data, cap * 2);
            if (!nd) {
                rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory");
                goto done;
            }
            data = nd;
            cap *= 2;
        } else {
            pthread_t tid[MAX_THREADS];
            for (int t = 0; t < nt; t++) {
                w[t].data = data + start + cuts[t];
                w[t].len = cuts[t + 1] - cuts[t];
                w[t].first_line = lines[t];
                w[t].out.n = w[t].rej.n = 0;
                if (t == 0 || pthread_create(&tid[t], NULL, work_slice, &w[t]) != 0) tid[t] = 0;
            }
            for (int t = 0; t < nt; t++) {
                if (tid[t]) pthread_join(tid[t], NULL);
                else work_slice(&w[t]);
            }
            for (int t = 0; t < nt && !rc; t++) {
                if (w[t].rc) {
                    rc = w[t].plain ? wg_err(ctx, w[t].rc, "%s", wg_ctx_errmsg(w[t].ctx))
                                    : wg_err(ctx, w[t].rc, "%s: %s", input, wg_ctx_errmsg(w[t].ctx));
                    break;
                }
                if (fwrite(w[t].out.p, 1, w[t].out.n, out.fp) != w[t].out.n ||
                    (rej.fp && fwrite(w[t].rej.p, 1, w[t].rej.n, rej.fp) != w[t].rej.n))
                    rc = wg_err(ctx, WG_ERR_IO, "cannot write %s: %s", output, strerror(errno));
                /* Stored in input order, in the batch's one transaction. */
                for (size_t i = 0; storing && i < w[t].ok.n && !rc; i++)
                    rc = wg_store_put(&sto, &w[t].ok.rec[i], &w[t].ok.sb);
                if (!rc && storing) rep.stored += (int64_t)w[t].ok.n;
            }
            if (rc) goto done;
            line += count_lines(data + start, end);
            start += end;
            uint64_t done_rows = 0;
            for (int t = 0; t < nt; t++) done_rows += (uint64_t)w[t].rows;
            if (wg_progress(ctx, "place", done_rows, 0)) {
                rc = wg_err(ctx, WG_ERR_INTERRUPTED, "placement interrupted");
                goto done;
            }
            if (at_eof && start >= len) break;
            memmove(data, data + start, len - start); /* keep the partial record */
            len -= start;
            start = 0;
        }
        if (!at_eof) {
            size_t got = fread(data + len, 1, cap - len, in);
            len += got;
            at_eof = len < cap;
            if (ferror(in)) {
                rc = wg_err(ctx, WG_ERR_IO, "%s: read error: %s", input, strerror(errno));
                goto done;
            }
        }
    }
    for (int t = 0; t < nt; t++) {
        rep.rows += w[t].rows;
        rep.rejected += w[t].rejected;
        rep.swapped += w[t].swapped;
        for (int k = 0; k < 3; k++) rep.status[k] += w[t].status[k];
    }
    if (rep.rows == 0) rc = wg_err(ctx, WG_ERR_FORMAT, "%s: no rows to place", input);
done:
    if (in) fclose(in);
    free(data);
    free(keep);
    wg_csv_close(hdr);
    for (int t = 0; t < nt; t++) {
        wg_coord_cache_free(&w[t].cache);
        rows_free(&w[t].ok);
        wg_ctx_free(w[t].ctx);
        free(w[t].out.p);
        free(w[t].rej.p);
    }
    wg_locator_free(loc);
    /* Flush the files, then commit the store, then move the files into
     * place: on any failure before the last step neither is kept. */
    wg_status r1 = sink_flush(ctx, &out, rc == WG_OK, output);
    if (!rc) rc = r1;
    r1 = sink_flush(ctx, &rej, rc == WG_OK, o->rejects);
    if (!rc) rc = r1;
    if (storing) {
        r1 = wg_store_finish(&sto, rc == WG_OK);
        if (!rc) rc = r1;
    }
    r1 = sink_close(ctx, &out, rc == WG_OK, output);
    if (!rc) rc = r1;
    r1 = sink_close(ctx, &rej, rc == WG_OK, o->rejects);
    if (!rc) rc = r1;
    rep.seconds = now_s() - t0;
    if (!rc && report) *report = rep;
    return rc;
}
