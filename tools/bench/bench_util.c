/* bench_util.c -- the CSV reader, clocks and memory figures of the benchmarks.
 *
 * The reader is a small streaming RFC 4180 parser (quoted fields, "" inside
 * quotes, newlines inside quotes, CRLF) rather than OGR: the peers should
 * not pay for, nor depend on, the I/O layer wangge itself uses. Coordinates
 * go through wg_to_wgs84(), the very conversion `wangge place` applies, and
 * the same range checks, so a row rejected by one is rejected by all. */
#include "bench_util.h"

#include <wangge/wangge.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

typedef struct csv_reader {
    FILE *f;
    char *buf; /* the record's fields, each NUL-terminated */
    size_t len, cap;
    size_t *off; /* field k starts at buf + off[k] */
    size_t nf, fcap;
} csv_reader;

static int put(csv_reader *r, char c) {
    if (r->len == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 1024;
        char *nb = realloc(r->buf, nc);
        if (!nb) return -1;
        r->buf = nb, r->cap = nc;
    }
    r->buf[r->len++] = c;
    return 0;
}

static int new_field(csv_reader *r) {
    if (r->nf == r->fcap) {
        size_t nc = r->fcap ? r->fcap * 2 : 16;
        size_t *no = realloc(r->off, nc * sizeof *no);
        if (!no) return -1;
        r->off = no, r->fcap = nc;
    }
    r->off[r->nf++] = r->len;
    return 0;
}

/* Reads one record. Returns 1, 0 at end of file, -1 on an unterminated
 * quote or out of memory. */
static int csv_next(csv_reader *r) {
    int c = getc(r->f);
    if (c == EOF) return 0;
    r->len = r->nf = 0;
    if (new_field(r)) return -1;
    int quoted = 0, at_start = 1;
    for (;;) {
        if (quoted) {
            if (c == EOF) return -1;
            if (c == '"') {
                c = getc(r->f);
                if (c == '"') {
                    if (put(r, '"')) return -1;
                    c = getc(r->f);
                } else {
                    quoted = 0; /* look at c again, outside the quotes */
                }
                continue;
            }
            if (put(r, (char)c)) return -1;
            c = getc(r->f);
            continue;
        }
        if (c == EOF || c == '\n') break;
        if (c == ',') {
            if (put(r, '\0') || new_field(r)) return -1;
            at_start = 1;
        } else if (c == '"' && at_start) {
            quoted = 1;
            at_start = 0;
        } else {
            if (c != '\r' && put(r, (char)c)) return -1;
            at_start = 0;
        }
        c = getc(r->f);
    }
    return put(r, '\0') ? -1 : 1;
}

static const char *field(const csv_reader *r, size_t k) {
    return k < r->nf ? r->buf + r->off[k] : NULL;
}

static long find_col(const csv_reader *r, const char *name) {
    for (size_t k = 0; k < r->nf; k++)
        if (!strcmp(field(r, k), name)) return (long)k;
    return -1;
}

static int parse_num(const char *s, double *out) {
    char *end;
    if (!s || !*s) return 0;
    *out = strtod(s, &end);
    while (*end == ' ' || *end == '\t') end++;
    return *end == '\0' && isfinite(*out);
}

/* Appends one point; returns -1 when out of memory. */
static int push_point(bench_points *p, size_t *cap, size_t *idcap, size_t *idlen, const char *id,
                      double lon, double lat) {
    if (p->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 4096;
        double *a = realloc(p->lon, nc * sizeof *a);
        if (a) p->lon = a;
        double *b = realloc(p->lat, nc * sizeof *b);
        if (b) p->lat = b;
        size_t *o = realloc(p->id_off, nc * sizeof *o);
        if (o) p->id_off = o;
        if (!a || !b || !o) return -1;
        *cap = nc;
    }
    size_t l = strlen(id) + 1;
    if (*idlen + l > *idcap) {
        size_t nc = (*idcap + l) * 2;
        char *s = realloc(p->ids, nc);
        if (!s) return -1;
        p->ids = s, *idcap = nc;
    }
    memcpy(p->ids + *idlen, id, l);
    p->id_off[p->n] = *idlen;
    *idlen += l;
    p->lon[p->n] = lon;
    p->lat[p->n] = lat;
    p->n++;
    return 0;
}

int bench_points_read(const char *path, const bench_fields *f, size_t limit, bench_points *out) {
    csv_reader r = {0};
    bench_points p = {0};
    size_t cap = 0, idcap = 0, idlen = 0;
    long line = 1;
    int rc = -1, got;
    memset(out, 0, sizeof *out);
    if (!(r.f = fopen(path, "r"))) {
        fprintf(stderr, "cannot open %s\n", path);
        goto done;
    }
    if (csv_next(&r) != 1) {
        fprintf(stderr, "%s: no header row\n", path);
        goto done;
    }
    long ci = f->id ? find_col(&r, f->id) : 0;
    long cx = find_col(&r, f->lon ? f->lon : "lon");
    long cy = find_col(&r, f->lat ? f->lat : "lat");
    long cc = find_col(&r, f->crs ? f->crs : "crs");
    if (ci < 0 || cx < 0 || cy < 0 || (f->crs && cc < 0)) {
        fprintf(stderr, "%s: no column '%s'\n", path,
                ci < 0 ? f->id : cx < 0 ? (f->lon ? f->lon : "lon")
                       : cy < 0 ? (f->lat ? f->lat : "lat") : f->crs);
        goto done;
    }
    while ((limit == 0 || p.n < limit) && (got = csv_next(&r)) == 1) {
        line++;
        if (r.nf == 1 && !*field(&r, 0)) continue; /* blank line */
        const char *id = field(&r, (size_t)ci), *crs = cc >= 0 ? field(&r, (size_t)cc) : NULL;
        double x, y, lon, lat;
        wg_crs_kind kind = WG_CRS_WGS84;
        int epsg = 0;
        if (!id || !parse_num(field(&r, (size_t)cx), &x) || !parse_num(field(&r, (size_t)cy), &y) ||
            (crs && *crs && wg_crs_parse(crs, &kind, &epsg)) || kind == WG_CRS_EPSG ||
            fabs(x) > 180 || fabs(y) > 90 || wg_to_wgs84(NULL, kind, epsg, x, y, &lon, &lat)) {
            p.rejected++;
            continue;
        }
        if (kind == WG_CRS_GCJ02 || kind == WG_CRS_BD09) p.converted++;
        if (push_point(&p, &cap, &idcap, &idlen, id, lon, lat)) {
            fprintf(stderr, "%s: out of memory at line %ld\n", path, line);
            goto done;
        }
    }
    if (limit == 0 || p.n < limit) {
        if (got < 0) {
            fprintf(stderr, "%s: unterminated quote after line %ld\n", path, line);
            goto done;
        }
    }
    *out = p;
    memset(&p, 0, sizeof p);
    rc = 0;
done:
    if (r.f) fclose(r.f);
    free(r.buf);
    free(r.off);
    bench_points_free(&p);
    return rc;
}

void bench_points_free(bench_points *p) {
    if (!p) return;
    free(p->lon);
    free(p->lat);
    free(p->id_off);
    free(p->ids);
    memset(p, 0, sizeof *p);
}

void bench_csv_field(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    putc('"', f);
    for (; *s; s++) {
        if (*s == '"') putc('"', f);
        putc(*s, f);
    }
    putc('"', f);
}

double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double bench_peak_rss_mib(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru)) return 0;
    return (double)ru.ru_maxrss / 1024.0; /* Linux: KiB */
}

int bench_ncpu(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}
