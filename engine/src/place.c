/* place.c -- placing a file of points in their grids.
 *
 * The batch runs in chunks: the main thread reads rows through OGR, checks
 * and converts their coordinates to WGS84 (PROJ handles are per thread, so
 * conversions stay on this thread), worker threads place the chunk against
 * the shared read-only locator, and the main thread writes the results in
 * input order. Writing through OGR is the slow part; placement itself is a
 * few hundred nanoseconds a point.
 *
 * A row with unusable coordinates is never fatal: it goes to the rejects
 * file with its line and the reason. A failure of the batch itself (I/O,
 * a bad option) leaves no output and stores nothing. */
#include "coords.h"
#include "ogrio.h"
#include "placestore.h"
#include "units.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 32768
#define NOUT 8 /* appended output fields */

static const char *const OUT_FIELDS[NOUT] = {"wg_grid", "wg_micro", "wg_excl",   "wg_village",
                                             "wg_town", "wg_county", "wg_status", "wg_dist_m"};

typedef struct row {
    OGRFeatureH f;
    int64_t line;
    wg_coord_result c; /* ok, lon, lat, or the reason for rejecting */
    char crs[16];      /* the row's own CRS text, if a CRS field was given */
    wg_placement pl;
} row;

typedef struct work {
    const wg_locator *loc;
    row *rows;
    size_t from, to;
    double tol;
} work;

static void *place_worker(void *arg) {
    work *w = arg;
    for (size_t i = w->from; i < w->to; i++)
        if (w->rows[i].c.ok)
            wg_locator_place(w->loc, w->rows[i].c.lon, w->rows[i].c.lat, w->tol, &w->rows[i].pl);
    return NULL;
}

static void place_chunk(const wg_locator *loc, row *rows, size_t n, int threads, double tol) {
    pthread_t tid[64];
    work w[64];
    int nt = threads < 1 ? 1 : threads > 64 ? 64 : threads;
    if ((size_t)nt > n / 1024 + 1) nt = (int)(n / 1024 + 1);
    for (int t = 0; t < nt; t++) {
        w[t] = (work){loc, rows, n * (size_t)t / (size_t)nt, n * (size_t)(t + 1) / (size_t)nt, tol};
        if (t > 0 && pthread_create(&tid[t], NULL, place_worker, &w[t]) != 0) {
            place_worker(&w[t]); /* no thread: do it here */
            tid[t] = 0;
        }
    }
    place_worker(&w[0]);
    for (int t = 1; t < nt; t++)
        if (tid[t]) pthread_join(tid[t], NULL);
}

/* ---- coordinates --------------------------------------------------------- */

typedef struct coord_src {
    int use_geom;
    int lon_i, lat_i, crs_i;
    wg_crs_kind kind; /* when crs_i < 0 */
    int epsg;
    wg_coord_cache cache;
} coord_src;

static int find_field(OGRFeatureDefnH d, const char *const *names) {
    for (; *names; names++) {
        int i = OGR_FD_GetFieldIndex(d, *names);
        if (i >= 0) return i;
    }
    return -1;
}

static wg_status setup_coords(wg_ctx *ctx, OGRLayerH l, const wg_place_opts *o, const char *src,
                              coord_src *cs) {
    OGRFeatureDefnH d = OGR_L_GetLayerDefn(l);
    static const char *const lons[] = {"lon", "lng", "longitude", "x", NULL};
    static const char *const lats[] = {"lat", "latitude", "y", NULL};
    memset(cs, 0, sizeof *cs);
    cs->crs_i = -1;
    if (o->lon_field || o->lat_field) {
        if (!o->lon_field || !o->lat_field)
            return wg_err(ctx, WG_ERR_INVALID_ARG, "give both --lon-field and --lat-field");
        cs->lon_i = OGR_FD_GetFieldIndex(d, o->lon_field);
        cs->lat_i = OGR_FD_GetFieldIndex(d, o->lat_field);
        if (cs->lon_i < 0 || cs->lat_i < 0)
            return wg_err(ctx, WG_ERR_NOT_FOUND, "%s: no field '%s'", src,
                          cs->lon_i < 0 ? o->lon_field : o->lat_field);
    } else if (wkbFlatten(OGR_L_GetGeomType(l)) == wkbPoint) {
        cs->use_geom = 1;
    } else {
        cs->lon_i = find_field(d, lons);
        cs->lat_i = find_field(d, lats);
        if (cs->lon_i < 0 || cs->lat_i < 0)
            return wg_err(ctx, WG_ERR_NOT_FOUND, "%s: no point geometry and no lon/lat columns "
                          "(looked for lon, lng, longitude, x and lat, latitude, y); name them "
                          "with --lon-field and --lat-field", src);
    }
    if (o->crs_field) {
        if ((cs->crs_i = OGR_FD_GetFieldIndex(d, o->crs_field)) < 0)
            return wg_err(ctx, WG_ERR_NOT_FOUND, "%s: no CRS field '%s'", src, o->crs_field);
    } else if (wg_crs_parse(o->crs ? o->crs : "wgs84", &cs->kind, &cs->epsg)) {
        return wg_err(ctx, WG_ERR_INVALID_ARG, "unknown CRS '%s' (wgs84, cgcs2000, gcj02, bd09 "
                      "or EPSG:n)", o->crs);
    }
    if (cs->use_geom && !o->crs && !o->crs_field) {
        /* A layer with a CRS of its own (GeoJSON is WGS84 by definition). */
        OGRSpatialReferenceH srs = OGR_L_GetSpatialRef(l);
        const char *auth = srs ? (OSRAutoIdentifyEPSG(srs), OSRGetAuthorityCode(srs, NULL)) : NULL;
        if (auth && strcmp(auth, "4326") && strcmp(auth, "4490")) {
            cs->kind = WG_CRS_EPSG;
            cs->epsg = atoi(auth);
        }
    }
    return WG_OK;
}

/* Reads one row's coordinates; sets r->c (ok and lon/lat, or the reason). */
static void read_coords(wg_ctx *ctx, coord_src *cs, row *r, int64_t *swapped) {
    const char *crs = NULL;
    r->crs[0] = '\0';
    if (cs->crs_i >= 0) {
        crs = OGR_F_IsFieldSetAndNotNull(r->f, cs->crs_i) ? OGR_F_GetFieldAsString(r->f, cs->crs_i) : "";
        snprintf(r->crs, sizeof r->crs, "%s", *crs ? crs : "wgs84");
    }
    if (cs->use_geom) {
        OGRGeometryH g = OGR_F_GetGeometryRef(r->f);
        if (!g || OGR_G_IsEmpty(g) || wkbFlatten(OGR_G_GetGeometryType(g)) != wkbPoint) {
            memset(&r->c, 0, sizeof r->c);
            snprintf(r->c.reason, sizeof r->c.reason, "no point geometry");
            return;
        }
        wg_coords_from_xy(ctx, &cs->cache, OGR_G_GetX(g, 0), OGR_G_GetY(g, 0), crs, cs->kind,
                          cs->epsg, &r->c);
    } else {
        const char *sx = OGR_F_IsFieldSetAndNotNull(r->f, cs->lon_i) ? OGR_F_GetFieldAsString(r->f, cs->lon_i) : "";
        const char *sy = OGR_F_IsFieldSetAndNotNull(r->f, cs->lat_i) ? OGR_F_GetFieldAsString(r->f, cs->lat_i) : "";
        wg_coords_from_text(ctx, &cs->cache, sx, sy, crs, cs->kind, cs->epsg, &r->c);
    }
    *swapped += r->c.swapped;
}

/* ---- output layers ------------------------------------------------------- */

typedef struct outfile {
    wg_staging sg;
    int staged;
    GDALDatasetH ds;
    OGRLayerH l;
    int *map;   /* input field -> output field (-1 = dropped) */
    int first;  /* index of the first appended field */
    int is_csv;
} outfile;

static wg_status open_out(wg_ctx *ctx, const char *path, OGRFeatureDefnH in, int rejects,
                          outfile *of) {
    memset(of, 0, sizeof *of);
    const char *drv_name = wg_ogr_driver_for(ctx, path);
    if (!drv_name) return WG_ERR_INVALID_ARG;
    wg_status rc = wg_staging_open(ctx, path, &of->sg);
    if (rc) return rc;
    of->staged = 1;
    of->is_csv = !strcmp(drv_name, "CSV");
    GDALDriverH drv = GDALGetDriverByName(drv_name);
    of->ds = drv ? GDALCreate(drv, of->sg.tmpfile, 0, 0, 0, GDT_Unknown, NULL) : NULL;
    if (!of->ds) return wg_err(ctx, WG_ERR_GDAL, "cannot create %s: %s", path, wg_gdal_msg());
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(srs, 4326);
    OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
    const char *lco_shp[] = {"ENCODING=UTF-8", NULL};
    const char *lco_json[] = {"RFC7946=YES", NULL};
    const char *lco_csv[] = {"STRING_QUOTING=IF_NEEDED", NULL};
    char lname[256];
    snprintf(lname, sizeof lname, "%s", strrchr(of->sg.tmpfile, '/') + 1);
    char *dot = strrchr(lname, '.');
    if (dot) *dot = '\0';
    of->l = GDALDatasetCreateLayer(of->ds, lname, of->is_csv ? NULL : srs,
                                   of->is_csv ? wkbNone : wkbPoint,
                                   !strcmp(drv_name, "ESRI Shapefile") ? (char **)lco_shp
                                   : !strcmp(drv_name, "GeoJSON")      ? (char **)lco_json
                                   : of->is_csv                        ? (char **)lco_csv
                                                                       : NULL);
    OSRDestroySpatialReference(srs);
    if (!of->l) return wg_err(ctx, WG_ERR_GDAL, "cannot create a layer in %s: %s", path, wg_gdal_msg());
    int nin = OGR_FD_GetFieldCount(in), nout = 0;
    of->map = malloc((size_t)(nin + 1) * sizeof *of->map);
    if (!of->map) return wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    for (int i = 0; i < nin; i++) {
        OGRFieldDefnH fd = OGR_FD_GetFieldDefn(in, i);
        of->map[i] = -1;
        if (!strncasecmp(OGR_Fld_GetNameRef(fd), "wg_", 3)) continue; /* ours: replaced */
        if (OGR_L_CreateField(of->l, fd, 1) != OGRERR_NONE)
            return wg_err(ctx, WG_ERR_GDAL, "%s: cannot create field %s: %s", path,
                          OGR_Fld_GetNameRef(fd), wg_gdal_msg());
        of->map[i] = nout++;
    }
    of->first = nout;
    static const char *const rej_fields[] = {"wg_line", "wg_reason"};
    int nadd = rejects ? 2 : NOUT;
    for (int k = 0; k < nadd; k++) {
        const char *name = rejects ? rej_fields[k] : OUT_FIELDS[k];
        OGRFieldType t = (rejects && k == 0) ? OFTInteger64 : (!rejects && k == NOUT - 1) ? OFTReal : OFTString;
        OGRFieldDefnH fd = OGR_Fld_Create(name, t);
        OGRErr e = OGR_L_CreateField(of->l, fd, 1);
        OGR_Fld_Destroy(fd);
        if (e != OGRERR_NONE)
            return wg_err(ctx, WG_ERR_GDAL, "%s: cannot create field %s", path, name);
    }
    GDALDatasetStartTransaction(of->ds, 0);
    return WG_OK;
}

/* Closes the dataset, flushing it when `commit`; the file stays staged. */
static wg_status finish_out(wg_ctx *ctx, outfile *of, int commit) {
    wg_status rc = WG_OK;
    if (of->ds) {
        if (commit && GDALDatasetCommitTransaction(of->ds) == OGRERR_FAILURE)
            rc = wg_err(ctx, WG_ERR_GDAL, "cannot write: %s", wg_gdal_msg());
        CPLErrorReset();
        GDALClose(of->ds);
        if (commit && !rc && CPLGetLastErrorType() >= CE_Failure)
            rc = wg_err(ctx, WG_ERR_GDAL, "cannot finish writing: %s", wg_gdal_msg());
        of->ds = NULL;
    }
    return rc;
}

/* Moves the staged file into place (commit) or deletes it. */
static wg_status publish_out(wg_ctx *ctx, outfile *of, int commit) {
    wg_status rc = of->staged ? wg_staging_close(ctx, &of->sg, commit) : WG_OK;
    free(of->map);
    memset(of, 0, sizeof *of);
    return rc;
}

static void set_str(OGRFeatureH f, int i, const char *s) {
    if (s) OGR_F_SetFieldString(f, i, s);
}

static wg_status write_row(wg_ctx *ctx, outfile *of, const row *r) {
    OGRFeatureH f = OGR_F_Create(OGR_L_GetLayerDefn(of->l));
    OGR_F_SetFromWithMap(f, r->f, 1, of->map);
    int b = of->first;
    if (r->c.ok) {
        const wg_placement *p = &r->pl;
        char excl[WG_PLACE_MAX_EXCL * 40] = "";
        for (int k = 0; k < p->n_excl; k++) {
            size_t n = strlen(excl);
            snprintf(excl + n, sizeof excl - n, "%s%s", k ? ";" : "", p->excl[k].code);
        }
        set_str(f, b + 0, p->grid.code);
        set_str(f, b + 1, p->micro.code);
        if (*excl) set_str(f, b + 2, excl);
        set_str(f, b + 3, p->village.code);
        set_str(f, b + 4, p->town.code);
        set_str(f, b + 5, p->county.code);
        set_str(f, b + 6, wg_place_status_name(p->status));
        if (p->status == WG_PLACE_NEAREST) OGR_F_SetFieldDouble(f, b + 7, round(p->dist_m * 100) / 100);
        else if (p->status == WG_PLACE_INSIDE) OGR_F_SetFieldDouble(f, b + 7, 0.0);
        if (!of->is_csv) {
            OGRGeometryH pt = OGR_G_CreateGeometry(wkbPoint);
            OGR_G_SetPoint_2D(pt, 0, r->c.lon, r->c.lat);
            OGR_F_SetGeometryDirectly(f, pt);
        }
    } else {
        OGR_F_SetFieldInteger64(f, b, r->line);
        OGR_F_SetFieldString(f, b + 1, r->c.reason);
    }
    OGRErr e = OGR_L_CreateFeature(of->l, f);
    OGR_F_Destroy(f);
    return e == OGRERR_NONE ? WG_OK
                            : wg_err(ctx, WG_ERR_GDAL, "cannot write row %lld: %s",
                                     (long long)r->line, wg_gdal_msg());
}

/* ---- storing ------------------------------------------------------------- */

/* Where the fields storing reads are in the input (-1 = absent). */
typedef struct store_cols {
    int id_i, time_i, cat_i, desc_i, status_i, closed_i, sat_i;
} store_cols;

/* The index of a field named by an option, or -1 (message set) if absent. */
static int named_field(wg_ctx *ctx, OGRFeatureDefnH d, const char *opt, const char *name,
                       wg_status *rc) {
    if (!name) return -1;
    int i = OGR_FD_GetFieldIndex(d, name);
    if (i < 0) *rc = wg_err(ctx, WG_ERR_NOT_FOUND, "%s: the input has no field '%s'", opt, name);
    return i;
}

static wg_status store_cols_find(wg_ctx *ctx, OGRFeatureDefnH d, const wg_place_opts *o,
                                 store_cols *s) {
    static const char *const ids[] = {"incident_id", "id", "ext_id", NULL};
    static const char *const times[] = {"reported_at", "time", "timestamp", "datetime", NULL};
    static const char *const cats[] = {"category", "type", NULL};
    static const char *const descs[] = {"description", "desc", "content", NULL};
    wg_status rc = WG_OK;
    s->id_i = find_field(d, ids);
    s->time_i = o->time_field ? named_field(ctx, d, "--time-field", o->time_field, &rc)
                              : find_field(d, times);
    s->cat_i = find_field(d, cats);
    s->desc_i = find_field(d, descs);
    s->status_i = named_field(ctx, d, "--status-field", o->status_field, &rc);
    s->closed_i = named_field(ctx, d, "--closed-field", o->closed_field, &rc);
    s->sat_i = named_field(ctx, d, "--satisfaction-field", o->satisfaction_field, &rc);
    return rc;
}

/* A date or date-time field as RFC 3339 text: GDAL's readers (GeoJSON,
 * GeoPackage, ...) turn "2025-03-03T18:00:00+08:00" into their own type,
 * whose string form is "2025/03/03 18:00:00+08", which no deadline or
 * statistic could read. The offset is kept (GDAL's flag: 100 = UTC, 100 +
 * n = n quarters of an hour east); without one (unknown or "local") the
 * time is written without an offset, as a CSV would give it. Returns 0 if
 * the field is not a date. */
static int rfc3339_field(OGRFeatureH f, int i, char *buf, size_t len) {
    OGRFieldType t = OGR_Fld_GetType(OGR_F_GetFieldDefnRef(f, i));
    int y, mo, d, h, mi, tz;
    float sec;
    if ((t != OFTDateTime && t != OFTDate) ||
        !OGR_F_GetFieldAsDateTimeEx(f, i, &y, &mo, &d, &h, &mi, &sec, &tz))
        return 0;
    if (t == OFTDate) {
        snprintf(buf, len, "%04d-%02d-%02d", y, mo, d);
        return 1;
    }
    int n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:", y, mo, d, h, mi);
    if (n < 0 || (size_t)n >= len) return 0;
    double whole = floor(sec);
    n += snprintf(buf + n, len - (size_t)n, sec == whole ? "%02.0f" : "%06.3f", (double)sec);
    if (tz == 100) snprintf(buf + n, len - (size_t)n, "Z");
    else if (tz > 1) {
        int q = tz - 100, m = (q < 0 ? -q : q) * 15;
        snprintf(buf + n, len - (size_t)n, "%c%02d:%02d", q < 0 ? '-' : '+', m / 60, m % 60);
    }
    return 1;
}

/* Copies the fields storing reads into `raw` (a number's text lives in the
 * feature only until its next field is formatted) and points v[] at them. */
static int copy_fields(OGRFeatureH f, const int idx[7], wg_store_buf *raw, const char *v[7]) {
    size_t off[7];
    char when[40];
    raw->n = 0;
    for (int k = 0; k < 7; k++) {
        off[k] = (size_t)-1;
        if (idx[k] < 0 || !OGR_F_IsFieldSetAndNotNull(f, idx[k])) continue;
        const char *s = rfc3339_field(f, idx[k], when, sizeof when) ? when
                                                                     : OGR_F_GetFieldAsString(f, idx[k]);
        size_t n = strlen(s) + 1;
        if (raw->n + n > raw->cap) {
            size_t cap = (raw->n + n) * 2 + 256;
            char *p = realloc(raw->p, cap);
            if (!p) return -1;
            raw->p = p;
            raw->cap = cap;
        }
        memcpy(raw->p + raw->n, s, n);
        off[k] = raw->n;
        raw->n += n;
    }
    for (int k = 0; k < 7; k++) v[k] = off[k] == (size_t)-1 ? NULL : raw->p + off[k];
    return 0;
}

static wg_status store_row(wg_ws *ws, wg_store *s, const store_cols *sc, const row *r,
                           int has_crs_field, const char *crs, wg_store_buf *raw,
                           wg_store_buf *b) {
    const int idx[7] = {sc->id_i,     sc->time_i,   sc->cat_i, sc->desc_i,
                        sc->status_i, sc->closed_i, sc->sat_i};
    const char *v[7];
    if (copy_fields(r->f, idx, raw, v))
        return wg_err(ws->ctx, WG_ERR_NOMEM, "out of memory storing row %lld", (long long)r->line);
    wg_store_in in = {v[0], v[1], v[2], v[3], has_crs_field ? r->crs : NULL, v[4], v[5], v[6], crs};
    wg_store_rec rec;
    b->n = 0;
    wg_status rc = wg_store_rec_make(ws->ctx, s->rules, &in, &r->pl, r->c.lon, r->c.lat, r->line,
                                     b, &rec);
    return rc ? rc : wg_store_put(s, &rec, b);
}

/* Flushes the outputs on a thread of their own while this thread indexes
 * the stored rows (wg_store_index); the first failure is returned. */
typedef struct flush_job {
    wg_ctx *ctx; /* the thread's own, for its message */
    outfile *out, *rej;
    wg_status rc;
} flush_job;

static void *flush_main(void *arg) {
    flush_job *j = arg;
    wg_gdal_quiet_push(); /* GDAL's error handlers are per thread */
    j->rc = finish_out(j->ctx, j->out, 1);
    wg_status r = finish_out(j->ctx, j->rej, j->rc == WG_OK);
    if (!j->rc) j->rc = r;
    wg_gdal_quiet_pop();
    return NULL;
}

static wg_status flush_beside_index(wg_ctx *ctx, outfile *out, outfile *rej, wg_store *sto) {
    flush_job j = {NULL, out, rej, WG_OK};
    pthread_t tid;
    int threaded = wg_ctx_new(&j.ctx) == WG_OK && pthread_create(&tid, NULL, flush_main, &j) == 0;
    if (!threaded) { /* no thread: one after the other */
        wg_ctx_free(j.ctx);
        j.ctx = NULL;
        wg_status rc = finish_out(ctx, out, 1);
        if (!rc) rc = finish_out(ctx, rej, 1);
        return rc ? rc : wg_store_index(sto);
    }
    wg_status ri = wg_store_index(sto);
    pthread_join(tid, NULL);
    wg_status rc = j.rc ? wg_err(ctx, j.rc, "%s", wg_ctx_errmsg(j.ctx)) : ri;
    wg_ctx_free(j.ctx);
    return rc;
}

/* ---- the batch ----------------------------------------------------------- */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

wg_status wg_place_csv(wg_ws *ws, const char *input, const char *output,
                       const wg_place_opts *o, wg_place_report *report);

static int is_csv_path(const char *p) {
    size_t n = p ? strlen(p) : 0;
    return n > 4 && !strcasecmp(p + n - 4, ".csv");
}

wg_status wg_place_file(wg_ws *ws, const char *input, const char *output,
                        const wg_place_opts *opts, wg_place_report *report) {
    wg_ctx *ctx = ws->ctx;
    wg_place_opts o = *opts;
    wg_place_report rep;
    memset(&rep, 0, sizeof rep);
    double t0 = now_s();
    if (o.tolerance_m < 0) o.tolerance_m = 30.0;
    if (o.threads <= 0) o.threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (o.store && ws->readonly)
        return wg_err(ctx, WG_ERR_INVALID_ARG, "the workspace is open read-only");
    /* CSV to CSV streams the bytes (place_csv.c), storing too. */
    if (is_csv_path(input) && is_csv_path(output) && (!o.rejects || is_csv_path(o.rejects)) &&
        !getenv("WG_PLACE_NO_FASTPATH")) {
        if (!wg_ogr_driver_for(ctx, output)) return WG_ERR_INVALID_ARG;
        return wg_place_csv(ws, input, output, &o, report);
    }
    wg_gdal_init();
    wg_gdal_quiet_push();
    GDALDatasetH in = GDALOpenEx(input, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
    wg_locator *loc = NULL;
    coord_src cs;
    memset(&cs, 0, sizeof cs);
    outfile out, rej;
    memset(&out, 0, sizeof out);
    memset(&rej, 0, sizeof rej);
    wg_store sto;
    memset(&sto, 0, sizeof sto);
    store_cols scols = {-1, -1, -1, -1, -1, -1, -1};
    wg_store_buf sbuf = {0}, sraw = {0};
    row *rows = calloc(CHUNK, sizeof *rows);
    size_t n = 0;
    int storing = 0;
    wg_status rc = WG_OK;
    OGRLayerH l = NULL;
    if (!rows) {
        rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (!in) {
        rc = wg_err(ctx, WG_ERR_GDAL, "%s: cannot open: %s", input,
                    *wg_gdal_msg() ? wg_gdal_msg() : "unknown format or missing file");
        goto done;
    }
    l = o.layer ? GDALDatasetGetLayerByName(in, o.layer) : GDALDatasetGetLayer(in, 0);
    if (!l) {
        rc = wg_err(ctx, WG_ERR_NOT_FOUND, "%s: no layer %s", input, o.layer ? o.layer : "at all");
        goto done;
    }
    int is_csv = !strcmp(GDALGetDriverShortName(GDALGetDatasetDriver(in)), "CSV");
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(l);
    if ((rc = setup_coords(ctx, l, &o, input, &cs)) || (rc = wg_locator_build(ws, o.at, &loc)) ||
        (rc = open_out(ctx, output, defn, 0, &out)) ||
        (o.rejects && (rc = open_out(ctx, o.rejects, defn, 1, &rej))))
        goto done;
    if (o.store) {
        storing = 1;
        if ((rc = store_cols_find(ctx, defn, &o, &scols)) ||
            (rc = wg_store_open(ws, scols.status_i >= 0, &sto)))
            goto done;
    }
    GIntBig total = OGR_L_GetFeatureCount(l, 1);
    OGR_L_ResetReading(l);
    int64_t ordinal = 0;
    for (;;) {
        OGRFeatureH f = OGR_L_GetNextFeature(l);
        if (f) {
            row *r = &rows[n++];
            memset(r, 0, sizeof *r);
            r->f = f;
            ordinal++;
            /* CSV: FID 1 is the first data row, on line 2 (after the header). */
            r->line = is_csv ? OGR_F_GetFID(f) + 1 : ordinal;
            read_coords(ctx, &cs, r, &rep.swapped);
        }
        if (n == CHUNK || (!f && n)) {
            place_chunk(loc, rows, n, o.threads, o.tolerance_m);
            for (size_t i = 0; i < n && !rc; i++) {
                row *r = &rows[i];
                if (r->c.ok) {
                    rep.status[r->pl.status]++;
                    rc = write_row(ctx, &out, r);
                    if (!rc && storing) {
                        rc = store_row(ws, &sto, &scols, r, o.crs_field != NULL,
                                       o.crs ? o.crs : "wgs84", &sraw, &sbuf);
                        rep.stored += !rc;
                    }
                } else {
                    rep.rejected++;
                    if (rej.l) rc = write_row(ctx, &rej, r);
                }
            }
            for (size_t i = 0; i < n; i++) OGR_F_Destroy(rows[i].f);
            rep.rows += (int64_t)n;
            n = 0;
            if (!rc && wg_progress(ctx, "place", (uint64_t)rep.rows, total > 0 ? (uint64_t)total : 0))
                rc = wg_err(ctx, WG_ERR_INTERRUPTED, "placement interrupted");
            if (rc) break;
        }
        if (!f) break;
    }
    if (!rc && rep.rows == 0) rc = wg_err(ctx, WG_ERR_FORMAT, "%s: no rows to place", input);
done:
    for (size_t i = 0; i < n; i++) OGR_F_Destroy(rows[i].f);
    free(rows);
    wg_coord_cache_free(&cs.cache);
    wg_store_buf_free(&sbuf);
    wg_store_buf_free(&sraw);
    /* Flush the files, then commit the store, then move the files into
     * place: on any failure before the last step neither is kept. The
     * flush (a GeoPackage builds its spatial index then) and the indexing
     * of the stored rows are both long and independent: they overlap. */
    wg_status r1;
    if (storing && !rc) {
        rc = flush_beside_index(ctx, &out, &rej, &sto);
    } else {
        r1 = finish_out(ctx, &out, rc == WG_OK);
        if (!rc) rc = r1;
        r1 = finish_out(ctx, &rej, rc == WG_OK);
        if (!rc) rc = r1;
    }
    if (storing) {
        r1 = wg_store_finish(&sto, rc == WG_OK);
        if (!rc) rc = r1;
    }
    r1 = publish_out(ctx, &out, rc == WG_OK);
    if (!rc) rc = r1;
    r1 = publish_out(ctx, &rej, rc == WG_OK);
    if (!rc) rc = r1;
    wg_locator_free(loc);
    if (in) GDALClose(in);
    wg_gdal_quiet_pop();
    rep.seconds = now_s() - t0;
    if (!rc && report) *report = rep;
    return rc;
}
