/* onemap.c -- the "one map" (一张图) bundle: every layer the command center
 * loads, in one folder, in one call.
 *
 * The folder is built in a hidden sibling folder and renamed into place at
 * the end, so the command center never sees half a bundle: a failure (or an
 * interruption) removes the staging folder and leaves the old bundle, if
 * any, untouched. The GeoPackage is the master copy: every layer is written
 * there first (with its QGIS style in layer_styles), then copied by GDAL to
 * GeoJSON (RFC 7946) and to Mapbox vector tiles in an MBTiles file (GDAL's
 * MVT driver, which reprojects to Web Mercator tiles itself). */
#define _XOPEN_SOURCE 700 /* nftw */
#include "export.h"

#include <errno.h>
#include <ftw.h>
#include <libgen.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    remove(p);
    return 0;
}

/* Removes a folder we made, with everything in it. */
static void rm_tree(const char *path) { nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct om {
    wg_ws *ws;
    wg_ctx *ctx;
    const wg_onemap_opts *o;
    char stage[4096];
    GDALDatasetH gpkg;
    wg_onemap_report *rep;
    int step;
    double t_phase; /* when the current phase began */
} om;


/* Records `seconds` as phase `name` (work that overlapped other phases). */
static void phase_set(om *m, const char *name, double seconds) {
    wg_onemap_report *r = m->rep;
    if (r->nphases < sizeof r->phases / sizeof r->phases[0]) {
        snprintf(r->phases[r->nphases].name, sizeof r->phases[0].name, "%s", name);
        r->phases[r->nphases++].seconds = seconds;
    }
}

/* Ends the current phase: records its wall-clock time as `name`. */
static void phase(om *m, const char *name) {
    double t = now_s();
    phase_set(m, name, t - m->t_phase);
    m->t_phase = t;
}

enum { STEPS = 6 }; /* the calls of step() */

static wg_status step(om *m) {
    if (wg_progress(m->ctx, "onemap", (uint64_t)++m->step, STEPS))
        return wg_err(m->ctx, WG_ERR_INTERRUPTED, "onemap interrupted");
    return WG_OK;
}

static void note(om *m, const char *s) {
    size_t n = strlen(m->rep->note);
    snprintf(m->rep->note + n, sizeof m->rep->note - n, "%s%s", n ? "; " : "", s);
}

static wg_status record(om *m, const char *name, int64_t n, char *qml) {
    wg_status rc = qml ? wg_gpkg_style_add(m->ctx, m->gpkg, name, "geom", name, qml)
                       : wg_err(m->ctx, WG_ERR_NOMEM, "out of memory");
    free(qml);
    if (rc) return rc;
    if (m->rep->nlayers == WG_ONEMAP_MAX_LAYERS)
        return wg_err(m->ctx, WG_ERR_INVALID_ARG, "too many layers");
    snprintf(m->rep->layers[m->rep->nlayers].name, sizeof m->rep->layers[0].name, "%s", name);
    m->rep->layers[m->rep->nlayers++].features = n;
    return WG_OK;
}

/* ---- the GeoPackage ---------------------------------------------------------- */

static wg_status units_layers(om *m) {
    static const struct {
        const char *name;
        wg_level level;
        const char *fill, *stroke;
        double width;
    } L[] = {{"county", WG_LEVEL_COUNTY, "0,0,0,0", "40,40,40,255", 0.8},
             {"towns", WG_LEVEL_TOWN, "0,0,0,0", "80,80,80,255", 0.5},
             {"villages", WG_LEVEL_VILLAGE, "0,0,0,0", "120,120,120,255", 0.3},
             {"grids", WG_LEVEL_GRID, "31,120,180,30", "31,120,180,255", 0.3},
             {"micro", WG_LEVEL_MICRO, "0,0,0,0", "100,170,210,255", 0.15},
             {"exclusive", WG_LEVEL_EXCLUSIVE, "152,78,163,70", "152,78,163,255", 0.3}};
    wg_status rc = WG_OK;
    for (size_t i = 0; i < sizeof L / sizeof L[0] && !rc; i++) {
        int64_t n = 0;
        rc = wg_export_units_to(m->ws, m->gpkg, L[i].name, WG_LEVEL_BIT(L[i].level), NULL, NULL,
                                &n);
        if (!rc)
            rc = record(m, L[i].name, n,
                        wg_qml_simple(WG_GK_POLYGON, L[i].fill, L[i].stroke, L[i].width, 0));
    }
    return rc;
}

static wg_status points_layers(om *m) {
    int64_t n = 0;
    wg_status rc = wg_export_officers_to(m->ws, m->gpkg, "officers", NULL, &n);
    if (!rc)
        rc = record(m, "officers", n,
                    wg_qml_simple(WG_GK_POINT, "51,160,44,255", "255,255,255,255", 0.2, 1.8));
    if (!rc) rc = step(m);
    if (!rc) rc = wg_export_incidents_to(m->ws, m->gpkg, "incidents", NULL, &n);
    if (!rc)
        rc = record(m, "incidents", n,
                    wg_qml_simple(WG_GK_POINT, "227,26,28,200", "128,0,0,255", 0.1, 1.2));
    return rc;
}

static wg_status stats_layer(om *m) {
    wg_ws_counts wc;
    wg_status rc = wg_ws_count(m->ws, &wc);
    if (rc) return rc;
    if (!wc.units[WG_LEVEL_GRID]) {
        note(m, "no grids: grid_stats skipped");
        return WG_OK;
    }
    wg_aggregate_opts ao;
    memset(&ao, 0, sizeof ao);
    ao.by = WG_AGG_GRID;
    wg_aggregate_report ar;
    char *qml = NULL;
    if ((rc = wg_aggregate_to(m->ws, &ao, m->gpkg, "grid_stats", NULL, &ar, &qml))) return rc;
    int64_t n = ar.units;
    wg_aggregate_report_free(&ar);
    return record(m, "grid_stats", n, qml);
}

/* Copies the first layer of the OGR file `path` into the GeoPackage as `name`. */
static wg_status copy_in(om *m, const char *path, const char *name, int64_t *n) {
    GDALDatasetH src = GDALOpenEx(path, GDAL_OF_VECTOR, NULL, NULL, NULL);
    OGRLayerH l = src ? GDALDatasetGetLayer(src, 0) : NULL;
    wg_status rc = WG_OK;
    if (!l) rc = wg_err(m->ctx, WG_ERR_GDAL, "cannot reopen %s: %s", path, wg_gdal_msg());
    else if (!GDALDatasetCopyLayer(m->gpkg, l, name, NULL))
        rc = wg_err(m->ctx, WG_ERR_GDAL, "cannot copy %s into onemap.gpkg: %s", name,
                    wg_gdal_msg());
    else *n = OGR_L_GetFeatureCount(l, 1);
    if (src) GDALClose(src);
    unlink(path);
    return rc;
}

/* The service areas and the coverage are computed into scratch GeoPackages
 * in the staging folder (service_compute, which does not touch onemap.gpkg:
 * it runs while another thread closes onemap.gpkg, which builds the
 * spatial indexes), then copied in (service_copy_in). */
typedef struct service {
    int iso, cov; /* which scratch files were written */
    char iso_path[4200], cov_path[4200], gap_path[4200];
} service;

static wg_status service_compute(om *m, service *sv) {
    wg_ctx *ctx = m->ctx;
    snprintf(sv->iso_path, sizeof sv->iso_path, "%s/service_tmp.gpkg", m->stage);
    snprintf(sv->cov_path, sizeof sv->cov_path, "%s/coverage_tmp.gpkg", m->stage);
    snprintf(sv->gap_path, sizeof sv->gap_path, "%s/gaps_tmp.gpkg", m->stage);
    wg_graph *g = NULL;
    wg_status rc = wg_graph_open(m->ws, &g);
    if (rc == WG_ERR_NOT_FOUND) {
        note(m, "no road graph (run `wangge roads`): service_areas and coverage skipped");
        return WG_OK;
    }
    if (rc) return rc;
    m->rep->graph = 1;
    double *ll = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *st = NULL;
    rc = wg_ws_prepare(m->ws, "SELECT X(geom), Y(geom) FROM officers WHERE geom IS NOT NULL", &st);
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        if (n == cap) {
            double *nl = realloc(ll, (cap = cap ? 2 * cap : 256) * 2 * sizeof *nl);
            if (!nl) {
                rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory");
                break;
            }
            ll = nl;
        }
        ll[2 * n] = sqlite3_column_double(st, 0), ll[2 * n + 1] = sqlite3_column_double(st, 1);
        n++;
    }
    sqlite3_finalize(st);
    double minutes[2] = {m->o->minutes[0] > 0 ? m->o->minutes[0] : 10,
                         m->o->minutes[1] > 0 ? m->o->minutes[1] : 30};
    if (!rc && !n) note(m, "no officer has a station: service_areas and coverage skipped");
    wg_isochrone *iso = NULL;
    if (!rc && n) {
        wg_isochrone_opts io;
        memset(&io, 0, sizeof io);
        size_t nm = minutes[1] != minutes[0] ? 2 : 1;
        rc = wg_isochrone_compute(m->ws, g, ll, n, minutes, nm, &io, &iso);
        if (!rc) rc = wg_isochrone_write(iso, sv->iso_path, NULL);
        sv->iso = !rc;
    }
    if (!rc && n) {
        wg_coverage_opts co;
        memset(&co, 0, sizeof co);
        co.minutes = minutes[0];
        rc = wg_coverage_run(m->ws, g, &co, sv->cov_path, sv->gap_path, NULL);
        sv->cov = !rc;
    }
    wg_isochrone_free(iso);
    free(ll);
    wg_graph_free(g);
    return rc;
}

static wg_status service_copy_in(om *m, service *sv) {
    wg_status rc = WG_OK;
    int64_t k = 0;
    if (sv->iso) {
        rc = copy_in(m, sv->iso_path, "service_areas", &k);
        if (!rc)
            rc = record(m, "service_areas", k,
                        wg_qml_simple(WG_GK_POLYGON, "44,162,95,50", "44,162,95,255", 0.3, 0));
    }
    if (!rc && sv->cov) {
        rc = copy_in(m, sv->cov_path, "coverage", &k);
        /* coloured by road_status: by area (status) nearly every real grid
         * is "partial", for the band's holes away from the roads */
        static const char *const values[] = {"all", "some", "none", "no_roads"};
        static const char *const fills[] = {"26,150,65,110", "253,174,97,130", "215,25,28,130",
                                            "150,150,150,90"};
        if (!rc) rc = record(m, "coverage", k, wg_qml_categorized(WG_GK_POLYGON, "road_status",
                                                                   values, fills, 4));
        if (!rc) rc = copy_in(m, sv->gap_path, "coverage_gaps", &k);
        if (!rc)
            rc = record(m, "coverage_gaps", k,
                        wg_qml_simple(WG_GK_POLYGON, "215,25,28,90", "215,25,28,255", 0.2, 0));
    }
    return rc;
}

/* Closes onemap.gpkg on a thread of its own (see service). */
typedef struct closer {
    GDALDatasetH ds;
    int failed;
    char msg[600];
} closer;

static void *close_gpkg(void *arg) {
    closer *c = arg;
    CPLPushErrorHandler(CPLQuietErrorHandler);
    CPLErrorReset();
    GDALClose(c->ds);
    if (CPLGetLastErrorType() >= CE_Failure) {
        c->failed = 1;
        snprintf(c->msg, sizeof c->msg, "%s", wg_gdal_msg());
    }
    CPLPopErrorHandler();
    return NULL;
}

/* Closes onemap.gpkg (m->gpkg) while computing the service areas, then
 * reopens it and copies them in. */
static wg_status service_layers(om *m) {
    closer c = {m->gpkg, 0, ""};
    m->gpkg = NULL;
    pthread_t th;
    int threaded = pthread_create(&th, NULL, close_gpkg, &c) == 0;
    if (!threaded) close_gpkg(&c);
    service sv;
    memset(&sv, 0, sizeof sv);
    wg_status rc = service_compute(m, &sv);
    if (threaded) pthread_join(th, NULL);
    phase(m, "service");
    if (!rc && c.failed)
        rc = wg_err(m->ctx, WG_ERR_GDAL, "cannot finish onemap.gpkg: %s", c.msg);
    char path[4200];
    snprintf(path, sizeof path, "%s/onemap.gpkg", m->stage);
    if (!rc && (sv.iso || sv.cov) &&
        !(m->gpkg = GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_UPDATE, NULL, NULL, NULL)))
        rc = wg_err(m->ctx, WG_ERR_GDAL, "cannot reopen onemap.gpkg: %s", wg_gdal_msg());
    if (!rc) rc = service_copy_in(m, &sv);
    if (!sv.iso) unlink(sv.iso_path);
    if (!sv.cov) unlink(sv.cov_path), unlink(sv.gap_path);
    return rc;
}

/* ---- extent, heatmap, copies ------------------------------------------------ */

static wg_status extent(om *m, double b[4]) {
    sqlite3_stmt *st = NULL;
    wg_status rc = wg_ws_prepare(m->ws,
                                 "SELECT min(MbrMinX(geom)), min(MbrMinY(geom)), max(MbrMaxX(geom)), "
                                 "max(MbrMaxY(geom)) FROM units WHERE valid_to IS NULL",
                                 &st);
    if (rc) return rc;
    if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_type(st, 0) == SQLITE_NULL)
        rc = wg_err(m->ctx, WG_ERR_NOT_FOUND, "the workspace has no admin units or grids: "
                    "import them first");
    for (int i = 0; !rc && i < 4; i++) b[i] = sqlite3_column_double(st, i);
    sqlite3_finalize(st);
    return rc;
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static wg_status heatmap(om *m, const double b[4]) {
    double midlat = (b[1] + b[3]) / 2 * M_PI / 180;
    double w = (b[2] - b[0]) * 111320 * cos(midlat), h = (b[3] - b[1]) * 110574;
    wg_heatmap_opts ho;
    memset(&ho, 0, sizeof ho);
    ho.kde.radius = m->o->radius > 0 ? m->o->radius : 250;
    ho.kde.pixel = m->o->pixel > 0 ? m->o->pixel : fmax(10, ceil(fmax(w, h) / 2000));
    ho.kde.kernel = WG_KERNEL_QUARTIC;
    ho.extent = WG_EXTENT_GRIDS;
    char tif[4200], png[4200];
    snprintf(tif, sizeof tif, "%s/heatmap.tif", m->stage);
    snprintf(png, sizeof png, "%s/heatmap.png", m->stage);
    ho.tif = tif, ho.png = png;
    m->rep->radius = ho.kde.radius, m->rep->pixel = ho.kde.pixel;
    wg_status rc = wg_heatmap(m->ws, &ho, &m->rep->heatmap);
    if (!rc && m->rep->heatmap.empty) note(m, "no incidents: the heatmap is all zero");
    return rc;
}

/* ---- the copies: GeoJSON and vector tiles, in parallel ------------------------- */

static wg_status count_tiles(om *m, const char *path) {
    sqlite3 *db = NULL;
    wg_status rc = WG_OK;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        rc = wg_err(m->ctx, WG_ERR_IO, "cannot reopen %s", path);
    } else {
        for (int k = 0; k < 2 && !rc; k++) {
            sqlite3_stmt *st = NULL;
            if (sqlite3_prepare_v2(db, "SELECT count(*) FROM tiles WHERE zoom_level = ?", -1, &st,
                                   NULL) != SQLITE_OK) {
                rc = wg_err(m->ctx, WG_ERR_FORMAT, "%s has no tiles table", path);
                break;
            }
            sqlite3_bind_int(st, 1, k ? m->rep->maxzoom : m->rep->minzoom);
            int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
            sqlite3_finalize(st);
            if (k) m->rep->tiles_max = n;
            else m->rep->tiles_min = n;
        }
    }
    sqlite3_close(db);
    return rc;
}

/* The tile design. Every tiled layer goes down to the deepest zoom (a map
 * client draws a source's deepest tiles, overzoomed, beyond it, but draws
 * nothing of a layer missing from the tiles of the zoom it shows); where a
 * layer starts depends on how fine it is: county and towns from zmin,
 * villages and grids from zmin + 2, micro-grids, exclusive grids and the
 * officers' stations only at the deepest three levels. grid_stats and
 * coverage are the grids again: their figures are fields of the `grids`
 * tile layer instead of two more copies of the same polygons. Left out:
 * service_areas and coverage_gaps (one polygon with thousands of holes
 * each) and the incidents (GDAL's MVT writer took 41 s of CPU for the
 * demo county's 200,000 points at two zoom levels): the heatmap, grid_stats
 * and coverage show them. Returns 0 for a layer not tiled. */
static int tile_plan(const char *name, int zmin, int zmax, int *lo, int *hi) {
    static const struct {
        const char *name;
        int from; /* the first zoom: zmin + from if from >= 0, else zmax + from */
    } P[] = {{"county", 0},   {"towns", 0},      {"villages", 2}, {"grids", 2},
             {"micro", -2},   {"exclusive", -2}, {"officers", -2}};
    for (size_t i = 0; i < sizeof P / sizeof P[0]; i++) {
        if (strcmp(name, P[i].name)) continue;
        int z = P[i].from >= 0 ? zmin + P[i].from : zmax + P[i].from;
        *lo = clampi(z, zmin, zmax), *hi = zmax;
        return 1;
    }
    return 0;
}

/* What a worker does: the vector tiles (one task), or one layer's GeoJSON
 * copy. Workers read onemap.gpkg through their own read-only handle (a
 * GDAL dataset is used by one thread at a time) and report failures in
 * their task, never through the context, which belongs to the caller's
 * thread. */
typedef struct task {
    const char *layer; /* NULL: the vector tiles */
    double seconds;
    int failed;
    char msg[600];
} task;

typedef struct fanout {
    const om *m;
    char gpkg[4200];
    int zmin, zmax;
    task *t;
    size_t n;
    atomic_size_t next, done;
    atomic_int stop; /* a task failed or the caller was interrupted: start no more */
} fanout;

static void task_fail(task *t, const char *what) {
    t->failed = 1;
    snprintf(t->msg, sizeof t->msg, "%s: %s", what, wg_gdal_msg());
}

static void geojson_task(fanout *f, GDALDatasetH src, task *t) {
    char path[4400], what[300];
    snprintf(path, sizeof path, "%s/geojson/%s.geojson", f->m->stage, t->layer);
    snprintf(what, sizeof what, "cannot write geojson/%s.geojson", t->layer);
    GDALDriverH drv = GDALGetDriverByName("GeoJSON");
    OGRLayerH l = GDALDatasetGetLayerByName(src, t->layer);
    GDALDatasetH ds = drv && l ? GDALCreate(drv, path, 0, 0, 0, GDT_Unknown, NULL) : NULL;
    if (!ds || !GDALDatasetCopyLayer(ds, l, t->layer, (char **)wg_export_lco("GeoJSON")))
        task_fail(t, what);
    if (ds) {
        CPLErrorReset();
        GDALClose(ds);
        if (!t->failed && CPLGetLastErrorType() >= CE_Failure) task_fail(t, what);
    }
}

/* The `grids` tile layer: the grids with the figures of grid_stats and
 * coverage (when those layers exist) joined on the grid code. */
static OGRLayerH grids_with_figures(const om *m, GDALDatasetH src) {
    int stats = 0, cov = 0;
    for (size_t i = 0; i < m->rep->nlayers; i++) {
        stats |= !strcmp(m->rep->layers[i].name, "grid_stats");
        cov |= !strcmp(m->rep->layers[i].name, "coverage");
    }
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT g.*%s%s FROM grids g%s%s",
             stats ? ", s.count, s.count_km2, s.open, s.overdue, s.class" : "",
             cov ? ", c.status AS coverage, c.area_share AS cover_area, c.incident_share AS "
                   "cover_incidents, c.road_status AS cover_roads" : "",
             stats ? " LEFT JOIN grid_stats s ON s.code = g.code" : "",
             cov ? " LEFT JOIN coverage c ON c.code = g.code" : "");
    return GDALDatasetExecuteSQL(src, sql, NULL, NULL);
}

static void mbtiles_task(fanout *f, GDALDatasetH src, task *t) {
    const wg_onemap_report *r = f->m->rep;
    GDALDriverH drv = GDALGetDriverByName("MVT");
    char path[4200], zmin_s[32], zmax_s[32];
    snprintf(path, sizeof path, "%s/onemap.mbtiles", f->m->stage);
    snprintf(zmin_s, sizeof zmin_s, "MINZOOM=%d", f->zmin);
    snprintf(zmax_s, sizeof zmax_s, "MAXZOOM=%d", f->zmax);
    const char *dsco[] = {"FORMAT=MBTILES", zmin_s, zmax_s, "NAME=onemap",
                          "DESCRIPTION=wangge one map", NULL};
    GDALDatasetH ds = drv ? GDALCreate(drv, path, 0, 0, 0, GDT_Unknown, (char **)dsco) : NULL;
    if (!ds) {
        task_fail(t, "cannot create onemap.mbtiles");
        return;
    }
    for (size_t i = 0; i < r->nlayers && !t->failed && !atomic_load(&f->stop); i++) {
        const char *name = r->layers[i].name;
        if (!r->layers[i].tiled) continue;
        char lo[32], hi[32], what[200];
        snprintf(lo, sizeof lo, "MINZOOM=%d", r->layers[i].minzoom);
        snprintf(hi, sizeof hi, "MAXZOOM=%d", r->layers[i].maxzoom);
        const char *lco[] = {lo, hi, NULL};
        snprintf(what, sizeof what, "cannot tile %s", name);
        int grids = !strcmp(name, "grids");
        OGRLayerH l = grids ? grids_with_figures(f->m, src) : GDALDatasetGetLayerByName(src, name);
        if (!l || !GDALDatasetCopyLayer(ds, l, name, (char **)lco)) task_fail(t, what);
        if (l && grids) GDALDatasetReleaseResultSet(src, l);
    }
    CPLErrorReset();
    GDALClose(ds); /* the tiles are built here */
    if (!t->failed && CPLGetLastErrorType() >= CE_Failure)
        task_fail(t, "cannot finish onemap.mbtiles");
}

static void *worker(void *arg) {
    fanout *f = arg;
    CPLPushErrorHandler(CPLQuietErrorHandler); /* per thread: messages go into the task */
    for (;;) {
        size_t i = atomic_fetch_add(&f->next, 1);
        if (i >= f->n || atomic_load(&f->stop)) break;
        task *t = &f->t[i];
        double t0 = now_s();
        CPLErrorReset();
        GDALDatasetH src = GDALOpenEx(f->gpkg, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
        if (!src) task_fail(t, "cannot reopen onemap.gpkg");
        else if (t->layer) geojson_task(f, src, t);
        else mbtiles_task(f, src, t);
        if (src) GDALClose(src);
        t->seconds = now_s() - t0;
        if (t->failed) atomic_store(&f->stop, 1);
        atomic_fetch_add(&f->done, 1);
    }
    CPLPopErrorHandler();
    return NULL;
}

/* The zoom range of the tiles, and each layer's (tile_plan). */
static wg_status zooms(om *m, const double b[4]) {
    double midlat = (b[1] + b[3]) / 2 * M_PI / 180;
    double span = fmax(b[2] - b[0], (b[3] - b[1]) / fmax(cos(midlat), 0.01));
    int zmin = m->o->minzoom > 0 ? m->o->minzoom
                                 : clampi((int)floor(log2(360.0 / fmax(span, 1e-6))), 0, 14);
    int zmax = m->o->maxzoom > 0 ? m->o->maxzoom : clampi(zmin + 5, zmin, 16);
    if (zmax < zmin)
        return wg_err(m->ctx, WG_ERR_INVALID_ARG, "maxzoom %d is below minzoom %d", zmax, zmin);
    m->rep->minzoom = zmin, m->rep->maxzoom = zmax;
    for (size_t i = 0; i < m->rep->nlayers; i++)
        m->rep->layers[i].tiled = tile_plan(m->rep->layers[i].name, zmin, zmax,
                                            &m->rep->layers[i].minzoom,
                                            &m->rep->layers[i].maxzoom);
    return WG_OK;
}

/* Writes geojson/ and onemap.mbtiles from the closed onemap.gpkg on worker
 * threads while this thread makes the heatmap. */
static wg_status copies(om *m, const double b[4]) {
    wg_ctx *ctx = m->ctx;
    wg_status rc = zooms(m, b);
    if (rc) return rc;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/geojson", m->stage);
    if (mkdir(dir, 0755) != 0)
        return wg_err(ctx, WG_ERR_IO, "cannot create %s: %s", dir, strerror(errno));
    if (!GDALGetDriverByName("GeoJSON") || !GDALGetDriverByName("MVT"))
        return wg_err(ctx, WG_ERR_GDAL, "this GDAL lacks the GeoJSON or the MVT driver");
    fanout *f = calloc(1, sizeof *f);
    task *t = calloc(m->rep->nlayers + 1, sizeof *t);
    if (!f || !t) {
        free(f), free(t);
        return wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    }
    f->m = m, f->t = t, f->zmin = m->rep->minzoom, f->zmax = m->rep->maxzoom;
    snprintf(f->gpkg, sizeof f->gpkg, "%s/onemap.gpkg", m->stage);
    /* the longest tasks first: the tiles, then the layers with the most vertices */
    static const char *const big[] = {"service_areas", "incidents", "coverage_gaps"};
    f->n = 1;
    for (size_t k = 0; k <= sizeof big / sizeof big[0]; k++)
        for (size_t i = 0; i < m->rep->nlayers; i++) {
            const char *name = m->rep->layers[i].name;
            int isbig = 0;
            for (size_t j = 0; j < sizeof big / sizeof big[0]; j++) isbig |= !strcmp(name, big[j]);
            if (k < sizeof big / sizeof big[0] ? !strcmp(name, big[k]) : !isbig)
                t[f->n++].layer = name;
        }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nthreads = (size_t)(ncpu < 2 ? 2 : ncpu > 8 ? 8 : ncpu);
    if (nthreads > f->n) nthreads = f->n;
    pthread_t th[8];
    size_t started = 0;
    for (; started < nthreads; started++)
        if (pthread_create(&th[started], NULL, worker, f) != 0) break;
    if (!started) worker(f); /* no thread to be had: do it all here */
    rc = heatmap(m, b);
    phase(m, "heatmap");
    /* wait, letting the caller interrupt */
    while (atomic_load(&f->done) < f->n && !atomic_load(&f->stop)) {
        if (!rc && wg_progress(ctx, "onemap", (uint64_t)m->step, STEPS))
            rc = wg_err(ctx, WG_ERR_INTERRUPTED, "onemap interrupted");
        if (rc) atomic_store(&f->stop, 1);
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
    for (size_t i = 0; i < started; i++) pthread_join(th[i], NULL);
    double gj = 0, tiles = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (!rc && t[i].failed) rc = wg_err(ctx, WG_ERR_GDAL, "%s", t[i].msg);
        if (t[i].layer) gj += t[i].seconds;
        else tiles = t[i].seconds;
    }
    if (!rc && atomic_load(&f->done) < f->n)
        rc = wg_err(ctx, WG_ERR_INTERRUPTED, "onemap interrupted");
    free(t), free(f);
    phase(m, "copies");
    /* the workers' own times (they overlap the heatmap and each other) */
    phase_set(m, "mbtiles", tiles);
    phase_set(m, "geojson", gj);
    if (!rc) {
        char path[4200];
        snprintf(path, sizeof path, "%s/onemap.mbtiles", m->stage);
        rc = count_tiles(m, path);
    }
    return rc;
}

/* ---- publishing ---------------------------------------------------------------- */

/* 1 if `dir` may be replaced: missing, empty, or an earlier bundle. */
static int replaceable(const char *dir, int *exists) {
    struct stat sb;
    *exists = stat(dir, &sb) == 0;
    if (!*exists) return 1;
    if (!S_ISDIR(sb.st_mode)) return 0;
    char p[4200];
    snprintf(p, sizeof p, "%s/onemap.gpkg", dir);
    if (access(p, F_OK) == 0) return 1;
    return rmdir(dir) == 0 || errno == ENOENT ? (*exists = 0, 1) : 0;
}

static wg_status publish(om *m, const char *dir, int exists, const char *parent,
                         const char *base) {
    char old[4400];
    snprintf(old, sizeof old, "%.3000s/.wangge-onemap-old-%ld-%.1000s", parent, (long)getpid(),
             base);
    if (exists && rename(dir, old) != 0)
        return wg_err(m->ctx, WG_ERR_IO, "cannot move the old %s aside: %s", dir,
                      strerror(errno));
    if (rename(m->stage, dir) != 0) {
        int e = errno;
        if (exists) rename(old, dir);
        return wg_err(m->ctx, WG_ERR_IO, "cannot move the bundle into %s: %s", dir, strerror(e));
    }
    if (exists) rm_tree(old);
    return WG_OK;
}

wg_status wg_onemap(wg_ws *ws, const char *dir, const wg_onemap_opts *opts,
                    wg_onemap_report *report) {
    wg_ctx *ctx = ws->ctx;
    wg_onemap_opts defaults;
    memset(&defaults, 0, sizeof defaults);
    const wg_onemap_opts *o = opts ? opts : &defaults;
    if (!dir || !*dir) return wg_err(ctx, WG_ERR_INVALID_ARG, "no output folder given");
    if (strlen(dir) > 2800) return wg_err(ctx, WG_ERR_INVALID_ARG, "output path too long");
    if (o->radius < 0 || o->pixel < 0 || !isfinite(o->radius) || !isfinite(o->pixel))
        return wg_err(ctx, WG_ERR_INVALID_ARG, "radius and pixel must be positive");
    if (o->minzoom < 0 || o->maxzoom < 0 || o->minzoom > 22 || o->maxzoom > 22)
        return wg_err(ctx, WG_ERR_INVALID_ARG, "zoom levels are 0 to 22");
    if (!ws->metric_epsg)
        return wg_err(ctx, WG_ERR_INVALID_ARG, "the workspace has no metric CRS yet: import "
                      "grids first");
    wg_onemap_report rep;
    memset(&rep, 0, sizeof rep);
    om m;
    memset(&m, 0, sizeof m);
    m.ws = ws, m.ctx = ctx, m.o = o, m.rep = &rep;
    double t0 = now_s(), c0 = cpu_s();
    char a[4096], bcopy[4096], parent[4096], base[1024];
    snprintf(a, sizeof a, "%s", dir);
    snprintf(bcopy, sizeof bcopy, "%s", dir);
    snprintf(parent, sizeof parent, "%s", dirname(a));
    snprintf(base, sizeof base, "%s", basename(bcopy));
    int exists = 0;
    if (!replaceable(dir, &exists))
        return wg_err(ctx, WG_ERR_INVALID_ARG, "%s exists and is not an earlier onemap bundle "
                      "(no onemap.gpkg in it): choose a new or empty folder", dir);
    snprintf(m.stage, sizeof m.stage, "%.2900s/.wangge-onemap-%ld-%.1000s", parent,
             (long)getpid(), base);
    rm_tree(m.stage);
    if (mkdir(m.stage, 0755) != 0)
        return wg_err(ctx, WG_ERR_IO, "cannot write in %s: %s", parent, strerror(errno));
    double b[4];
    m.t_phase = t0;
    wg_status rc = extent(&m, b);
    wg_gdal_init();
    GDALDriverH gp = GDALGetDriverByName("GPKG");
    char path[4200];
    snprintf(path, sizeof path, "%s/onemap.gpkg", m.stage);
    wg_gdal_quiet_push();
    if (!rc && !(m.gpkg = gp ? GDALCreate(gp, path, 0, 0, 0, GDT_Unknown, NULL) : NULL))
        rc = wg_err(ctx, WG_ERR_GDAL, "cannot create onemap.gpkg: %s", wg_gdal_msg());
    if (!rc) rc = units_layers(&m);
    phase(&m, "units");
    if (!rc && !(rc = step(&m))) rc = points_layers(&m);
    phase(&m, "points");
    if (!rc && !(rc = step(&m))) rc = stats_layer(&m);
    phase(&m, "grid_stats");
    if (!rc && !(rc = step(&m))) rc = service_layers(&m);
    if (m.gpkg) { /* closed before the copies are made from it */
        rc = wg_gdal_close_checked(ctx, m.gpkg, rc, "onemap.gpkg");
        m.gpkg = NULL;
    }
    phase(&m, "service_copy");
    if (!rc && !(rc = step(&m))) rc = copies(&m, b);
    wg_gdal_quiet_pop();
    if (!rc && !(rc = step(&m))) rc = publish(&m, dir, exists, parent, base);
    phase(&m, "publish");
    if (rc) rm_tree(m.stage);
    rep.seconds = now_s() - t0;
    rep.cpu_seconds = cpu_s() - c0;
    if (!rc && report) *report = rep;
    return rc;
}
