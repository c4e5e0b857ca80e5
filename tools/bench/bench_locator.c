/* bench_locator.c -- wangge's placement without the file I/O around it.
 *
 * `wangge place` times the whole batch: OGR reading the CSV, coordinate
 * checks, placement, OGR writing the result. This measures the middle only:
 * the locator is built once (timed, with its index memory), the points are
 * read into flat arrays, then wg_locator_place() runs over all of them on
 * one thread and on N threads (contiguous slices, one per thread, sharing
 * the read-only locator as the API allows). The per-status counts are
 * printed so the loops cannot be optimised away and can be checked against
 * `wangge place`.
 *
 * usage: bench_locator WS POINTS.csv [--threads N] [--repeat R]
 *            [--tolerance M] [--limit N] [--id-field F] [--lon-field F]
 *            [--lat-field F] [--crs-field F] */
#include "bench_util.h"

#include <wangge/wangge.h>

#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS 64

typedef struct slice {
    const wg_locator *loc;
    const bench_points *pts;
    size_t from, to;
    double tol;
    int batch; /* wg_locator_place_many() instead of a loop */
    size_t status[3];
    uint64_t check; /* sum over points of (i+1) * grid code pointer: batch == loop */
} slice;

typedef struct batch_acc {
    size_t status[3];
    uint64_t check;
    size_t base;
} batch_acc;

static void on_placed(void *user, size_t i, wg_status rc, const wg_placement *p) {
    batch_acc *a = user;
    if (rc != WG_OK) return;
    a->status[p->status]++;
    a->check += (uint64_t)(a->base + i + 1) * (uint64_t)(uintptr_t)p->grid.code;
}

/* Counts in locals, stored once at the end: the slices sit side by side in
 * one array, and a counter bumped per point there would share a cache line
 * with the next thread's slice (false sharing). */
static void *place_slice(void *arg) {
    slice *s = arg;
    const wg_locator *loc = s->loc;
    const double *lon = s->pts->lon, *lat = s->pts->lat, tol = s->tol;
    if (s->batch) {
        batch_acc a = {{0, 0, 0}, 0, s->from};
        if (wg_locator_place_many(loc, s->to - s->from, lon + s->from, lat + s->from, tol,
                                  on_placed, &a) != WG_OK)
            a.check = 1; /* out of memory: the check fails loudly below */
        memcpy(s->status, a.status, sizeof a.status);
        s->check = a.check;
        return NULL;
    }
    size_t status[3] = {0, 0, 0};
    uint64_t check = 0;
    wg_placement pl;
    for (size_t i = s->from, to = s->to; i < to; i++)
        if (wg_locator_place(loc, lon[i], lat[i], tol, &pl) == WG_OK) {
            status[pl.status]++;
            check += (uint64_t)(i + 1) * (uint64_t)(uintptr_t)pl.grid.code;
        }
    memcpy(s->status, status, sizeof status);
    s->check = check;
    return NULL;
}

/* Places every point on `nt` threads; returns the wall time, fills status. */
static double run(const wg_locator *loc, const bench_points *pts, int nt, double tol, int batch,
                  size_t status[3], uint64_t *check) {
    pthread_t tid[MAX_THREADS];
    slice s[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    double t0 = bench_now();
    for (int t = 0; t < nt; t++) {
        s[t] = (slice){loc, pts, pts->n * (size_t)t / (size_t)nt,
                       pts->n * (size_t)(t + 1) / (size_t)nt, tol, batch, {0, 0, 0}, 0};
        if (t > 0) started[t] = pthread_create(&tid[t], NULL, place_slice, &s[t]) == 0;
    }
    place_slice(&s[0]);
    for (int t = 1; t < nt; t++) {
        if (started[t]) pthread_join(tid[t], NULL);
        else place_slice(&s[t]); /* no thread: do it here */
    }
    double dt = bench_now() - t0;
    memset(status, 0, 3 * sizeof *status);
    *check = 0;
    for (int t = 0; t < nt; t++) {
        for (int k = 0; k < 3; k++) status[k] += s[t].status[k];
        *check += s[t].check;
    }
    return dt;
}

/* Best of `repeat` runs. */
static double best_of(int repeat, const wg_locator *loc, const bench_points *pts, int nt,
                      double tol, int batch, size_t status[3], uint64_t *check) {
    double best = 0;
    for (int r = 0; r < repeat; r++) {
        double dt = run(loc, pts, nt, tol, batch, status, check);
        if (r == 0 || dt < best) best = dt;
    }
    return best;
}

static void usage(FILE *f) {
    fputs("usage: bench_locator WS POINTS.csv [--threads N] [--repeat R] [--tolerance M]\n"
          "                     [--limit N] [--id-field F] [--lon-field F] [--lat-field F]\n"
          "                     [--crs-field F]\n"
          "Builds the workspace's locator (timed, with its memory), reads the points into\n"
          "memory, then times wg_locator_place() over all of them on 1 thread and on N\n"
          "threads (default: one per CPU), then the same through wg_locator_place_many()\n"
          "(points visited in index order; its answers are checked against the loop's).\n"
          "--repeat R keeps the best of R runs (default 1);\n"
          "--tolerance as `wangge place` (default 30 m).\n",
          f);
}

int main(int argc, char **argv) {
    enum { O_THR = 256, O_REP, O_TOL, O_LIMIT, O_ID, O_LON, O_LAT, O_CRS };
    static const struct option longopts[] = {
        {"threads", required_argument, 0, O_THR},   {"repeat", required_argument, 0, O_REP},
        {"tolerance", required_argument, 0, O_TOL}, {"limit", required_argument, 0, O_LIMIT},
        {"id-field", required_argument, 0, O_ID},   {"lon-field", required_argument, 0, O_LON},
        {"lat-field", required_argument, 0, O_LAT}, {"crs-field", required_argument, 0, O_CRS},
        {"help", no_argument, 0, 'h'},              {0, 0, 0, 0}};
    bench_fields bf = {0};
    int threads = bench_ncpu(), repeat = 1, c;
    double tol = 30;
    size_t limit = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_THR: threads = atoi(optarg); break;
        case O_REP: repeat = atoi(optarg); break;
        case O_TOL: tol = strtod(optarg, NULL); break;
        case O_LIMIT: limit = (size_t)strtoull(optarg, NULL, 10); break;
        case O_ID: bf.id = optarg; break;
        case O_LON: bf.lon = optarg; break;
        case O_LAT: bf.lat = optarg; break;
        case O_CRS: bf.crs = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 2 || threads < 1 || threads > MAX_THREADS || repeat < 1 || !(tol >= 0)) {
        usage(stderr);
        return 2;
    }
    int rc = 1;
    wg_ctx *ctx = NULL;
    wg_ws *ws = NULL;
    wg_locator *loc = NULL;
    bench_points pts = {0};
    wg_ws_counts counts;
    wg_status st;
    if ((st = wg_ctx_new(&ctx))) {
        fprintf(stderr, "bench_locator: %s\n", wg_status_str(st));
        goto done;
    }
    double rss0 = bench_peak_rss_mib(), t0 = bench_now();
    if ((st = wg_ws_open(ctx, argv[optind], 1, &ws)) || (st = wg_locator_build(ws, NULL, &loc)) ||
        (st = wg_ws_count(ws, &counts))) {
        fprintf(stderr, "bench_locator: %s: %s\n", wg_status_str(st), wg_ctx_errmsg(ctx));
        goto done;
    }
    double t1 = bench_now(), rss1 = bench_peak_rss_mib();
    if (bench_points_read(argv[optind + 1], &bf, limit, &pts)) goto done;
    double t2 = bench_now();
    size_t s1[3], sn[3], b1[3], bn[3];
    uint64_t c1, cn, cb1, cbn;
    double q1 = best_of(repeat, loc, &pts, 1, tol, 0, s1, &c1);
    double qn = best_of(repeat, loc, &pts, threads, tol, 0, sn, &cn);
    double qb1 = best_of(repeat, loc, &pts, 1, tol, 1, b1, &cb1);
    double qbn = best_of(repeat, loc, &pts, threads, tol, 1, bn, &cbn);
    if (memcmp(s1, sn, sizeof s1) || c1 != cn) {
        fprintf(stderr, "bench_locator: 1 thread and %d threads disagree\n", threads);
        goto done;
    }
    if (memcmp(s1, b1, sizeof s1) || memcmp(s1, bn, sizeof s1) || c1 != cb1 || c1 != cbn) {
        fprintf(stderr, "bench_locator: wg_locator_place_many() and the loop disagree\n");
        goto done;
    }
    int64_t units = 0;
    for (int l = 0; l < WG_LEVEL_COUNT; l++) units += counts.units[l];
    printf("engine          wangge %s locator (wg_locator_place, in memory)\n", wg_version());
    printf("units           %lld   (all levels; %lld grids)\n", (long long)units,
           (long long)counts.units[WG_LEVEL_GRID]);
    printf("index_build_s   %.3f   (open workspace, read units, build the point index)\n", t1 - t0);
    printf("index_mib       %.2f   (wg_locator_memory)\n", (double)wg_locator_memory(loc) / 1048576.0);
    printf("build_rss_mib   %.1f   (peak RSS growth during the build)\n", rss1 - rss0);
    printf("points          %zu   (%zu converted from GCJ-02/BD-09, %zu rejected)\n", pts.n,
           pts.converted, pts.rejected);
    printf("points_read_s   %.3f\n", t2 - t1);
    printf("query_1t_s      %.3f   (1 thread%s)\n", q1, repeat > 1 ? ", best of repeats" : "");
    printf("points_per_s_1t %.0f\n", q1 > 0 ? (double)pts.n / q1 : 0.0);
    printf("threads         %d\n", threads);
    printf("query_nt_s      %.3f   (%d threads%s)\n", qn, threads,
           repeat > 1 ? ", best of repeats" : "");
    printf("points_per_s_nt %.0f\n", qn > 0 ? (double)pts.n / qn : 0.0);
    printf("batch_1t_s      %.3f   (wg_locator_place_many, cell-sorted order, sort included, 1 thread)\n", qb1);
    printf("batch_per_s_1t  %.0f\n", qb1 > 0 ? (double)pts.n / qb1 : 0.0);
    printf("batch_nt_s      %.3f   (wg_locator_place_many, %d threads)\n", qbn, threads);
    printf("batch_per_s_nt  %.0f\n", qbn > 0 ? (double)pts.n / qbn : 0.0);
    printf("inside          %zu\n", s1[WG_PLACE_INSIDE]);
    printf("nearest         %zu   (tolerance %g m)\n", s1[WG_PLACE_NEAREST], tol);
    printf("outside         %zu\n", s1[WG_PLACE_OUTSIDE]);
    printf("peak_rss_mib    %.1f\n", bench_peak_rss_mib());
    rc = 0;
done:
    bench_points_free(&pts);
    wg_locator_free(loc);
    wg_ws_close(ws);
    wg_ctx_free(ctx);
    return rc;
}
