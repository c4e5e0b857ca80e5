/* testutil.h -- fixtures built by the tests themselves: temporary paths,
 * GeoJSON layers of rectangles in a metric CRS (so expected areas are exact
 * products), and a digest of a workspace's content. */
#ifndef WG_TESTUTIL_H
#define WG_TESTUTIL_H

#include "test.h"
#include "workspace.h"

#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

/* Origin of test rectangles in EPSG:4549 (CGCS2000 GK CM 120E), near Guannan. */
#define T_X0 450000.0
#define T_Y0 3780000.0

/* A path under $WG_TMP (created), unique per test program. Returns one of
 * 64 static buffers: valid for the next 63 calls. */
static inline const char *tpath(const char *name) {
    static char buf[64][1024];
    static int k = 0;
    const char *base = getenv("WG_TMP") ? getenv("WG_TMP") : "/tmp/wangge-tests";
    mkdir(base, 0755);
    char *out = buf[k++ % 64];
    snprintf(out, 1024, "%s/%d-%s", base, (int)getpid(), name);
    return out;
}

static inline void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
}

/* A growing GeoJSON FeatureCollection. */
typedef struct gj {
    char *s;
    size_t n, cap;
    int count;
} gj;

static inline void gj_put(gj *g, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char tmp[4096];
    int len = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (g->n + (size_t)len + 1 > g->cap) {
        g->cap = (g->cap + (size_t)len + 1) * 2;
        g->s = realloc(g->s, g->cap);
    }
    memcpy(g->s + g->n, tmp, (size_t)len + 1);
    g->n += (size_t)len;
}

static inline void gj_begin(gj *g) {
    memset(g, 0, sizeof *g);
    gj_put(g, "{\"type\":\"FeatureCollection\",\"features\":[");
}

/* Adds a feature with a polygon given as n (x,y) metre offsets from the
 * origin (the ring is closed here). */
static inline void gj_poly(gj *g, const char *level, const char *code, const char *name,
                    const double *xy, int n) {
    gj_put(g, "%s{\"type\":\"Feature\",\"properties\":{\"level\":\"%s\",\"code\":\"%s\","
              "\"name\":\"%s\"},\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[",
           g->count++ ? "," : "", level, code, name);
    for (int i = 0; i <= n; i++)
        gj_put(g, "%s[%.3f,%.3f]", i ? "," : "", T_X0 + xy[2 * (i % n)],
               T_Y0 + xy[2 * (i % n) + 1]);
    gj_put(g, "]]}}");
}

static inline void gj_rect(gj *g, const char *level, const char *code, const char *name, double x0,
                    double y0, double x1, double y1) {
    double xy[8] = {x0, y0, x1, y0, x1, y1, x0, y1};
    gj_poly(g, level, code, name, xy, 4);
}

static inline void gj_end(gj *g, const char *path) {
    gj_put(g, "]}");
    write_file(path, g->s);
    free(g->s);
}

/* FNV-1a over every row of the workspace's own tables: equal digests mean
 * equal content. */
static inline unsigned long long ws_digest(wg_ws *ws) {
    static const char *const sql[] = {
        "SELECT * FROM wg_meta ORDER BY key", "SELECT * FROM imports ORDER BY id",
        "SELECT id, level, code, name, parent_code, kind, valid_from, valid_to, import_id, "
        "src_fid, area_m2, hex(geom) FROM units ORDER BY id",
        "SELECT officer_id, name, phone, hex(geom) FROM officers ORDER BY officer_id",
        "SELECT * FROM officer_grids ORDER BY officer_id, grid_code, role",
        "SELECT id, hex(geom) FROM incidents ORDER BY id"};
    unsigned long long h = 1469598103934665603ULL;
    for (size_t q = 0; q < sizeof sql / sizeof sql[0]; q++) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(ws->db, sql[q], -1, &st, NULL) != SQLITE_OK) return 0;
        while (sqlite3_step(st) == SQLITE_ROW)
            for (int c = 0; c < sqlite3_column_count(st); c++) {
                const unsigned char *t = sqlite3_column_text(st, c);
                for (; t && *t; t++) h = (h ^ *t) * 1099511628211ULL;
                h = (h ^ 0x1f) * 1099511628211ULL;
            }
        sqlite3_finalize(st);
    }
    return h;
}

/* A fresh workspace at `name` under the temp dir, metric CRS EPSG:4549. */
static inline wg_ws *fresh_ws(wg_ctx *ctx, const char *name, int epsg) {
    const char *p = tpath(name);
    char side[1100];
    unlink(p);
    snprintf(side, sizeof side, "%s-wal", p);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", p);
    unlink(side);
    wg_ws *ws = NULL;
    if (wg_ws_create(ctx, p, epsg, &ws) != WG_OK) {
        fprintf(stderr, "cannot create %s: %s\n", p, wg_ctx_errmsg(ctx));
        exit(2);
    }
    return ws;
}

static inline wg_import_opts import_opts(int level, const char *s_srs) {
    wg_import_opts o;
    memset(&o, 0, sizeof o);
    o.level = level;
    o.level_field = level < 0 ? "level" : NULL;
    o.s_srs = s_srs;
    return o;
}

/* The small county most placement tests share, imported as one version
 * valid from `from`: 4 km x 2 km (EPSG:4549 offsets from T_X0, T_Y0), one
 * town, villages V1 (x < 2000 m) and V2, grids G1 | G2 split at `split`
 * metres and G3, micro-grid M1 (x < 500 m), and the exclusive grids School
 * and Park overlapping each other. Written to `name` under the temp dir. */
static inline void tu_small_county(wg_ctx *ctx, wg_ws *ws, const char *name, double split,
                                   const char *from) {
    gj g;
    gj_begin(&g);
    gj_rect(&g, "county", "320724", "灌南县", 0, 0, 4000, 2000);
    gj_rect(&g, "town", "320724100", "新安镇", 0, 0, 4000, 2000);
    gj_rect(&g, "village", "320724100201", "V1", 0, 0, 2000, 2000);
    gj_rect(&g, "village", "320724100202", "V2", 2000, 0, 4000, 2000);
    gj_rect(&g, "grid", "320724100201001", "G1", 0, 0, split, 2000);
    gj_rect(&g, "grid", "320724100201002", "G2", split, 0, 2000, 2000);
    gj_rect(&g, "grid", "320724100202001", "G3", 2000, 0, 4000, 2000);
    gj_rect(&g, "micro", "320724100201001001", "M1", 0, 0, 500, 2000);
    gj_rect(&g, "exclusive", "32072410020100101001", "School", 100, 100, 600, 600);
    gj_rect(&g, "exclusive", "32072410020100104001", "Park", 400, 400, 900, 900);
    gj_end(&g, tpath(name));
    wg_import_opts o = import_opts(-1, "EPSG:4549");
    o.valid_from = from;
    if (wg_grids_import(ws, tpath(name), &o, NULL) != WG_OK) {
        fprintf(stderr, "cannot import %s: %s\n", tpath(name), wg_ctx_errmsg(ctx));
        exit(2);
    }
}

#endif
