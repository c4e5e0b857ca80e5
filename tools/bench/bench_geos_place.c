/* bench_geos_place.c -- the naive peer of `wangge place`: GEOS alone.
 *
 * What a GIS programmer would write first: read the current comprehensive
 * grids from the workspace with plain SQLite + SpatiaLite (AsBinary), make a
 * prepared geometry of each, put them in a GEOS STRtree, and for every point
 * ask the tree for candidates and each candidate's prepared geometry whether
 * it covers the point. Every covering grid is collected, so a point on a
 * shared edge shows up with n_cover = 2 (or more at a corner): that is what
 * makes this an oracle for wangge's one-owner boundary rule as well as a
 * speed peer. Single thread, reentrant GEOS API only.
 *
 * usage: bench_geos_place WS POINTS.csv -o OUT.csv [--id-field F]
 *            [--lon-field F] [--lat-field F] [--crs-field F] [--limit N]
 *            [--repeat R]
 * Writes incident_id,grid_code,n_cover (grid_code: the covering grids'
 * codes in ascending order joined by ';', empty when none) and prints one
 * line per figure on stdout. */
#include "bench_util.h"

#include <geos_c.h>
#include <sqlite3.h>
/* after sqlite3.h, which it needs */
#include <spatialite.h>
#include <wangge/wangge.h>

#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct grids {
    size_t n;
    char **code;                     /* ascending */
    GEOSGeometry **geom;
    const GEOSPreparedGeometry **prep;
    GEOSSTRtree *tree;
} grids;

/* What the tree callback needs for one point. */
typedef struct query {
    GEOSContextHandle_t h;
    const grids *g;
    const GEOSGeometry *pt;
    uint32_t *hits;
    size_t nhits, cap;
    int oom;
} query;

static void geos_msg(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("GEOS: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void grids_free(GEOSContextHandle_t h, grids *g) {
    if (g->tree) GEOSSTRtree_destroy_r(h, g->tree);
    for (size_t i = 0; i < g->n; i++) {
        if (g->prep && g->prep[i]) GEOSPreparedGeom_destroy_r(h, g->prep[i]);
        if (g->geom && g->geom[i]) GEOSGeom_destroy_r(h, g->geom[i]);
        if (g->code) free(g->code[i]);
    }
    free(g->code);
    free(g->geom);
    free(g->prep);
    memset(g, 0, sizeof *g);
}

/* Reads the current comprehensive grids. Returns 0 or -1 (message printed). */
static int grids_read(GEOSContextHandle_t h, const char *path, grids *g) {
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    void *splite = NULL;
    GEOSWKBReader *rd = GEOSWKBReader_create_r(h);
    size_t cap = 0;
    int rc = -1, r;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", path, db ? sqlite3_errmsg(db) : "cannot open");
        goto done;
    }
    splite = spatialite_alloc_connection();
    spatialite_init_ex(db, splite, 0);
    if (sqlite3_prepare_v2(db,
                           "SELECT code, AsBinary(geom) FROM units "
                           "WHERE level = 'grid' AND valid_to IS NULL AND geom IS NOT NULL "
                           "ORDER BY code",
                           -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", path, sqlite3_errmsg(db));
        goto done;
    }
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (g->n == cap) {
            cap = cap ? cap * 2 : 256;
            char **c = realloc(g->code, cap * sizeof *c);
            if (c) g->code = c;
            GEOSGeometry **gg = realloc(g->geom, cap * sizeof *gg);
            if (gg) g->geom = gg;
            if (!c || !gg) {
                fprintf(stderr, "out of memory\n");
                goto done;
            }
        }
        const unsigned char *wkb = sqlite3_column_blob(st, 1);
        size_t len = (size_t)sqlite3_column_bytes(st, 1);
        GEOSGeometry *geom = wkb ? GEOSWKBReader_read_r(h, rd, wkb, len) : NULL;
        if (!geom) {
            fprintf(stderr, "%s: grid %s: unreadable geometry\n", path,
                    (const char *)sqlite3_column_text(st, 0));
            goto done;
        }
        g->geom[g->n] = geom;
        g->code[g->n] = strdup((const char *)sqlite3_column_text(st, 0));
        g->n++;
        if (!g->code[g->n - 1]) {
            fprintf(stderr, "out of memory\n");
            goto done;
        }
    }
    if (r != SQLITE_DONE) {
        fprintf(stderr, "%s: %s\n", path, sqlite3_errmsg(db));
        goto done;
    }
    rc = 0;
done:
    sqlite3_finalize(st);
    if (db) sqlite3_close(db);
    if (splite) spatialite_cleanup_ex(splite);
    GEOSWKBReader_destroy_r(h, rd);
    return rc;
}

static void ignore(void *item, void *user) {
    (void)item;
    (void)user;
}

/* Prepares every grid, fills the STRtree and makes GEOS build the lazy
 * parts now (the tree on its first query, each prepared polygon's point
 * locator on its first predicate) so that the build time is all here. */
static int grids_index(GEOSContextHandle_t h, grids *g) {
    g->prep = calloc(g->n + 1, sizeof *g->prep);
    g->tree = GEOSSTRtree_create_r(h, 10);
    if (!g->prep || !g->tree) return -1;
    for (size_t i = 0; i < g->n; i++) {
        if (!(g->prep[i] = GEOSPrepare_r(h, g->geom[i]))) return -1;
        GEOSSTRtree_insert_r(h, g->tree, g->geom[i], (void *)(uintptr_t)i);
    }
    /* GEOS 3.11 has no GEOSSTRtree_build_r: the first query builds the tree. */
    for (size_t i = 0; i < g->n; i++) {
        GEOSGeometry *p = GEOSPointOnSurface_r(h, g->geom[i]);
        if (!p) return -1;
        if (i == 0) GEOSSTRtree_query_r(h, g->tree, p, ignore, NULL);
        GEOSPreparedCovers_r(h, g->prep[i], p);
        GEOSGeom_destroy_r(h, p);
    }
    return 0;
}

static void on_candidate(void *item, void *user) {
    query *q = user;
    uint32_t i = (uint32_t)(uintptr_t)item;
    if (GEOSPreparedCovers_r(q->h, q->g->prep[i], q->pt) != 1) return;
    if (q->nhits == q->cap) {
        size_t nc = q->cap ? q->cap * 2 : 1024;
        uint32_t *nh = realloc(q->hits, nc * sizeof *nh);
        if (!nh) {
            q->oom = 1;
            return;
        }
        q->hits = nh, q->cap = nc;
    }
    q->hits[q->nhits++] = i;
}

/* The covering grids of every point: point i's are hits[off[i] .. off[i+1]). */
typedef struct result {
    uint32_t *off, *hits;
    size_t nhits, cap;
    size_t ncov[3]; /* points covered by 0, 1, 2+ grids */
} result;

/* The timed part: per point, one point geometry, one tree query and a
 * prepared covers test on each candidate. Returns -1 when out of memory. */
static int place_all(query *q, const bench_points *pts, result *res) {
    GEOSContextHandle_t h = q->h;
    if (!res->off && !(res->off = malloc((pts->n + 1) * sizeof *res->off))) return -1;
    res->nhits = 0;
    memset(res->ncov, 0, sizeof res->ncov);
    for (size_t i = 0; i < pts->n; i++) {
        GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(h, pts->lon[i], pts->lat[i]);
        q->pt = pt;
        q->nhits = 0;
        GEOSSTRtree_query_r(h, q->g->tree, pt, on_candidate, q);
        GEOSGeom_destroy_r(h, pt);
        if (q->oom) return -1;
        if (res->nhits + q->nhits > res->cap) {
            size_t nc = (res->cap + q->nhits) * 2 + 1024;
            uint32_t *nh = realloc(res->hits, nc * sizeof *nh);
            if (!nh) return -1;
            res->hits = nh, res->cap = nc;
        }
        res->off[i] = (uint32_t)res->nhits;
        memcpy(res->hits + res->nhits, q->hits, q->nhits * sizeof *q->hits);
        res->nhits += q->nhits;
        res->ncov[q->nhits < 2 ? q->nhits : 2]++;
    }
    res->off[pts->n] = (uint32_t)res->nhits;
    return 0;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void usage(FILE *f) {
    fputs("usage: bench_geos_place WS POINTS.csv -o OUT.csv [--id-field F] [--lon-field F]\n"
          "                        [--lat-field F] [--crs-field F] [--limit N] [--repeat R]\n"
          "Places every point with GEOS prepared geometries in an STRtree (one thread)\n"
          "and writes incident_id,grid_code,n_cover; grid_code lists every covering\n"
          "grid (ascending, ';'-joined). Coordinates are WGS84 unless a crs column\n"
          "(default: 'crs' if present) says gcj02 or bd09 for the row. --repeat R times\n"
          "the query loop R times and keeps the best.\n",
          f);
}

int main(int argc, char **argv) {
    enum { O_ID = 256, O_LON, O_LAT, O_CRS, O_LIMIT, O_REP };
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'},  {"id-field", required_argument, 0, O_ID},
        {"lon-field", required_argument, 0, O_LON}, {"lat-field", required_argument, 0, O_LAT},
        {"crs-field", required_argument, 0, O_CRS}, {"limit", required_argument, 0, O_LIMIT},
        {"repeat", required_argument, 0, O_REP},    {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    bench_fields bf = {0};
    const char *out = NULL;
    size_t limit = 0;
    int c, repeat = 1;
    while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case O_ID: bf.id = optarg; break;
        case O_LON: bf.lon = optarg; break;
        case O_LAT: bf.lat = optarg; break;
        case O_CRS: bf.crs = optarg; break;
        case O_LIMIT: limit = (size_t)strtoull(optarg, NULL, 10); break;
        case O_REP: repeat = atoi(optarg); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 2 || !out || repeat < 1) {
        usage(stderr);
        return 2;
    }
    const char *ws = argv[optind], *src = argv[optind + 1];

    int rc = 1;
    grids g = {0};
    bench_points pts = {0};
    query q = {0};
    result res = {0};
    FILE *f = NULL;
    GEOSContextHandle_t h = GEOS_init_r();
    GEOSContext_setErrorHandler_r(h, geos_msg);

    double t0 = bench_now();
    if (grids_read(h, ws, &g)) goto done;
    double t1 = bench_now();
    if (grids_index(h, &g)) {
        fprintf(stderr, "cannot build the GEOS index\n");
        goto done;
    }
    double t2 = bench_now();
    if (bench_points_read(src, &bf, limit, &pts)) goto done;
    double t3 = bench_now();

    /* The timed loop; with --repeat it runs again from scratch and the
     * best time is kept. */
    q.h = h;
    q.g = &g;
    double qs = 0, t4 = t3;
    for (int r = 0; r < repeat; r++) {
        double tq = bench_now();
        if (place_all(&q, &pts, &res)) goto oom;
        t4 = bench_now();
        if (r == 0 || t4 - tq < qs) qs = t4 - tq;
    }

    if (!(f = fopen(out, "w"))) {
        fprintf(stderr, "cannot write %s\n", out);
        goto done;
    }
    fputs("incident_id,grid_code,n_cover\n", f);
    for (size_t i = 0; i < pts.n; i++) {
        uint32_t *hs = res.hits + res.off[i], k = res.off[i + 1] - res.off[i];
        qsort(hs, k, sizeof *hs, cmp_u32);
        bench_csv_field(f, pts.ids + pts.id_off[i]);
        putc(',', f);
        for (uint32_t j = 0; j < k; j++) {
            if (j) putc(';', f);
            bench_csv_field(f, g.code[hs[j]]);
        }
        fprintf(f, ",%u\n", k);
    }
    if (fclose(f)) {
        f = NULL;
        fprintf(stderr, "cannot write %s\n", out);
        goto done;
    }
    f = NULL;
    double t5 = bench_now();

    printf("engine          GEOS %s prepared geometries in an STRtree, single thread\n",
           GEOSversion());
    printf("grids           %zu\n", g.n);
    printf("index_build_s   %.3f   (read+parse %.3f, prepare+STRtree %.3f)\n", t2 - t0, t1 - t0,
           t2 - t1);
    printf("points          %zu   (%zu converted from GCJ-02/BD-09, %zu rejected)\n", pts.n,
           pts.converted, pts.rejected);
    printf("points_read_s   %.3f\n", t3 - t2);
    printf("query_s         %.3f   (single thread%s)\n", qs, repeat > 1 ? ", best of repeats" : "");
    printf("points_per_s    %.0f\n", qs > 0 ? (double)pts.n / qs : 0.0);
    printf("covered_by_0    %zu\n", res.ncov[0]);
    printf("covered_by_1    %zu\n", res.ncov[1]);
    printf("covered_by_2+   %zu\n", res.ncov[2]);
    printf("write_s         %.3f   (%s)\n", t5 - t4, out);
    printf("peak_rss_mib    %.1f\n", bench_peak_rss_mib());
    rc = 0;
    goto done;
oom:
    fprintf(stderr, "out of memory\n");
done:
    if (f) fclose(f);
    free(q.hits);
    free(res.hits);
    free(res.off);
    bench_points_free(&pts);
    grids_free(h, &g);
    GEOS_finish_r(h);
    return rc;
}
