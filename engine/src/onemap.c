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
} om;

enum { STEPS = 9 };

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

static wg_status service_layers(om *m) {
    wg_ctx *ctx = m->ctx;
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
    char iso_path[4200], cov_path[4200], gap_path[4200];
    snprintf(iso_path, sizeof iso_path, "%s/service_tmp.gpkg", m->stage);
    snprintf(cov_path, sizeof cov_path, "%s/coverage_tmp.gpkg", m->stage);
    snprintf(gap_path, sizeof gap_path, "%s/gaps_tmp.gpkg", m->stage);
    wg_isochrone *iso = NULL;
    if (!rc && n) {
        wg_isochrone_opts io;
        memset(&io, 0, sizeof io);
        size_t nm = minutes[1] != minutes[0] ? 2 : 1;
        rc = wg_isochrone_compute(m->ws, g, ll, n, minutes, nm, &io, &iso);
        if (!rc) rc = wg_isochrone_write(iso, iso_path, NULL);
        int64_t k = 0;
        if (!rc) rc = copy_in(m, iso_path, "service_areas", &k);
        if (!rc)
            rc = record(m, "service_areas", k,
                        wg_qml_simple(WG_GK_POLYGON, "44,162,95,50", "44,162,95,255", 0.3, 0));
    }
    if (!rc && n) {
        wg_coverage_opts co;
        memset(&co, 0, sizeof co);
        co.minutes = minutes[0];
        rc = wg_coverage_run(m->ws, g, &co, cov_path, gap_path, NULL);
        int64_t k = 0;
        if (!rc) rc = copy_in(m, cov_path, "coverage", &k);
        static const char *const values[] = {"full", "partial", "none"};
        static const char *const fills[] = {"26,150,65,110", "253,174,97,130", "215,25,28,130"};
        if (!rc) rc = record(m, "coverage", k, wg_qml_categorized(WG_GK_POLYGON, "status",
                                                                   values, fills, 3));
        if (!rc) rc = copy_in(m, gap_path, "coverage_gaps", &k);
        if (!rc)
            rc = record(m, "coverage_gaps", k,
                        wg_qml_simple(WG_GK_POLYGON, "215,25,28,90", "215,25,28,255", 0.2, 0));
    }
    wg_isochrone_free(iso);
    free(ll);
    wg_graph_free(g);
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

static wg_status geojson_copies(om *m) {
    wg_ctx *ctx = m->ctx;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/geojson", m->stage);
    if (mkdir(dir, 0755) != 0)
        return wg_err(ctx, WG_ERR_IO, "cannot create %s: %s", dir, strerror(errno));
    GDALDriverH drv = GDALGetDriverByName("GeoJSON");
    if (!drv) return wg_err(ctx, WG_ERR_GDAL, "this GDAL has no GeoJSON driver");
    const char *const *lco = wg_export_lco("GeoJSON");
    wg_status rc = WG_OK;
    for (size_t i = 0; i < m->rep->nlayers && !rc; i++) {
        const char *name = m->rep->layers[i].name;
        char path[4300];
        snprintf(path, sizeof path, "%s/%s.geojson", dir, name);
        OGRLayerH src = GDALDatasetGetLayerByName(m->gpkg, name);
        GDALDatasetH ds = GDALCreate(drv, path, 0, 0, 0, GDT_Unknown, NULL);
        if (!src || !ds || !GDALDatasetCopyLayer(ds, src, name, (char **)lco))
            rc = wg_err(ctx, WG_ERR_GDAL, "cannot write geojson/%s.geojson: %s", name,
                        wg_gdal_msg());
        if (ds) GDALClose(ds);
    }
    return rc;
}

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

/* Layers left out of the tiles (see wg_onemap_report): GDAL's MVT writer
 * spends minutes on one polygon with hundreds of holes (service areas,
 * coverage gaps) and on a county's 200,000 incident points; the heatmap,
 * grid_stats and coverage show the same in tiles. */
static int tiled(const char *name) {
    static const char *const untiled[] = {"service_areas", "coverage_gaps", "incidents"};
    for (size_t i = 0; i < sizeof untiled / sizeof untiled[0]; i++)
        if (!strcmp(name, untiled[i])) return 0;
    return 1;
}

static wg_status mbtiles(om *m, const double b[4]) {
    wg_ctx *ctx = m->ctx;
    double midlat = (b[1] + b[3]) / 2 * M_PI / 180;
    double span = fmax(b[2] - b[0], (b[3] - b[1]) / fmax(cos(midlat), 0.01));
    int zmin = m->o->minzoom > 0 ? m->o->minzoom
                                 : clampi((int)floor(log2(360.0 / fmax(span, 1e-6))), 0, 14);
    int zmax = m->o->maxzoom > 0 ? m->o->maxzoom : clampi(zmin + 6, zmin, 16);
    if (zmax < zmin)
        return wg_err(ctx, WG_ERR_INVALID_ARG, "maxzoom %d is below minzoom %d", zmax, zmin);
    m->rep->minzoom = zmin, m->rep->maxzoom = zmax;
    GDALDriverH drv = GDALGetDriverByName("MVT");
    if (!drv) return wg_err(ctx, WG_ERR_GDAL, "this GDAL has no MVT driver");
    char path[4200], zmin_s[32], zmax_s[32];
    snprintf(path, sizeof path, "%s/onemap.mbtiles", m->stage);
    snprintf(zmin_s, sizeof zmin_s, "MINZOOM=%d", zmin);
    snprintf(zmax_s, sizeof zmax_s, "MAXZOOM=%d", zmax);
    const char *dsco[] = {"FORMAT=MBTILES", zmin_s, zmax_s, "NAME=onemap",
                          "DESCRIPTION=wangge one map", NULL};
    const char *lco[] = {zmin_s, zmax_s, NULL};
    GDALDatasetH ds = GDALCreate(drv, path, 0, 0, 0, GDT_Unknown, (char **)dsco);
    wg_status rc = ds ? WG_OK
                      : wg_err(ctx, WG_ERR_GDAL, "cannot create onemap.mbtiles: %s", wg_gdal_msg());
    for (size_t i = 0; i < m->rep->nlayers && !rc; i++) {
        const char *name = m->rep->layers[i].name;
        if (!tiled(name)) continue;
        OGRLayerH src = GDALDatasetGetLayerByName(m->gpkg, name);
        if (!src || !GDALDatasetCopyLayer(ds, src, name, (char **)lco))
            rc = wg_err(ctx, WG_ERR_GDAL, "cannot tile %s: %s", name, wg_gdal_msg());
        m->rep->layers[i].tiled = 1;
    }
    if (ds) {
        CPLErrorReset();
        GDALClose(ds); /* the tiles are built here */
        if (!rc && CPLGetLastErrorType() >= CE_Failure)
            rc = wg_err(ctx, WG_ERR_GDAL, "cannot finish onemap.mbtiles: %s", wg_gdal_msg());
    }
    if (!rc) rc = count_tiles(m, path);
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
    double t0 = now_s();
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
    wg_status rc = extent(&m, b);
    wg_gdal_init();
    GDALDriverH gp = GDALGetDriverByName("GPKG");
    char path[4200];
    snprintf(path, sizeof path, "%s/onemap.gpkg", m.stage);
    wg_gdal_quiet_push();
    if (!rc && !(m.gpkg = gp ? GDALCreate(gp, path, 0, 0, 0, GDT_Unknown, NULL) : NULL))
        rc = wg_err(ctx, WG_ERR_GDAL, "cannot create onemap.gpkg: %s", wg_gdal_msg());
    if (!rc) rc = units_layers(&m);
    if (!rc && !(rc = step(&m))) rc = points_layers(&m);
    if (!rc && !(rc = step(&m))) rc = stats_layer(&m);
    if (!rc && !(rc = step(&m))) rc = service_layers(&m);
    if (!rc && !(rc = step(&m))) rc = heatmap(&m, b);
    if (!rc && !(rc = step(&m))) rc = geojson_copies(&m);
    if (!rc && !(rc = step(&m))) rc = mbtiles(&m, b);
    if (m.gpkg) {
        CPLErrorReset();
        GDALClose(m.gpkg);
        if (!rc && CPLGetLastErrorType() >= CE_Failure)
            rc = wg_err(ctx, WG_ERR_GDAL, "cannot finish onemap.gpkg: %s", wg_gdal_msg());
    }
    wg_gdal_quiet_pop();
    if (!rc && !(rc = step(&m))) rc = publish(&m, dir, exists, parent, base);
    if (rc) rm_tree(m.stage);
    rep.seconds = now_s() - t0;
    if (!rc && report) *report = rep;
    return rc;
}
