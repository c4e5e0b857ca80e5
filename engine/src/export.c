/* export.c -- writing workspace layers to files through OGR.
 *
 * Files are staged (see wg_staging_open) and renamed into place only when
 * complete, so a failure never leaves a half-written layer.
 * Shapefiles get ENCODING=UTF-8, which makes GDAL write the .cpg that keeps
 * Chinese names intact in ArcGIS and QGIS. */
#include "export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const LAYER_NAMES[WG_LAYER_COUNT] = {"admin", "grids", "micro", "exclusive",
                                                         "officers"};

const char *wg_layer_name(wg_layer layer) {
    return (unsigned)layer < WG_LAYER_COUNT ? LAYER_NAMES[layer] : NULL;
}

wg_status wg_layer_parse(const char *name, wg_layer *out) {
    for (int i = 0; name && i < WG_LAYER_COUNT; i++)
        if (!strcmp(name, LAYER_NAMES[i])) {
            *out = (wg_layer)i;
            return WG_OK;
        }
    return WG_ERR_INVALID_ARG;
}

/* ---- layers -------------------------------------------------------------- */

static OGRGeometryH to_ogr(wg_ctx *ctx, GEOSWKBWriter *wr, const GEOSGeometry *g) {
    size_t len = 0;
    unsigned char *wkb = GEOSWKBWriter_write_r(ctx->geos, wr, g, &len);
    OGRGeometryH og = NULL;
    if (wkb) OGR_G_CreateFromWkbEx(wkb, NULL, &og, len);
    GEOSFree_r(ctx->geos, wkb);
    return og;
}

static void set_text(OGRFeatureH f, const char *field, const char *v) {
    if (v) OGR_F_SetFieldString(f, OGR_F_GetFieldIndex(f, field), v);
}

static wg_status write_units(wg_ws *ws, OGRLayerH l, unsigned mask, const char *at,
                             int64_t *written) {
    wg_ctx *ctx = ws->ctx;
    static const char *const fields[] = {"code", "name", "level", "parent", "kind",
                                         "valid_from", "valid_to"};
    wg_status rc = WG_OK;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0] && !rc; i++)
        rc = wg_ogr_add_field(ctx, l, fields[i], OFTString, -1);
    if (rc || (rc = wg_ogr_add_field(ctx, l, "area_m2", OFTReal, -1))) return rc;
    wg_unitset set;
    if ((rc = wg_units_load(ws, mask, at, &set))) return rc;
    GEOSWKBWriter *wr = GEOSWKBWriter_create_r(ctx->geos);
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(l);
    for (size_t i = 0; i < set.n && !rc; i++) {
        const wg_unit *u = &set.v[i];
        OGRFeatureH f = OGR_F_Create(defn);
        set_text(f, "code", u->code);
        set_text(f, "name", u->name);
        set_text(f, "level", wg_level_name(u->level));
        set_text(f, "parent", u->parent);
        set_text(f, "kind", u->kind);
        set_text(f, "valid_from", u->valid_from);
        set_text(f, "valid_to", u->valid_to);
        OGR_F_SetFieldDouble(f, OGR_F_GetFieldIndex(f, "area_m2"), u->area_m2);
        OGRGeometryH g = to_ogr(ctx, wr, u->geom);
        if (g) g = OGR_G_ForceToMultiPolygon(g);
        if (!g || OGR_F_SetGeometryDirectly(f, g) != OGRERR_NONE ||
            OGR_L_CreateFeature(l, f) != OGRERR_NONE)
            rc = wg_err(ctx, WG_ERR_GDAL, "cannot write unit %s: %s", u->code, wg_gdal_msg());
        OGR_F_Destroy(f);
        if (!rc && wg_progress(ctx, "export", i + 1, set.n))
            rc = wg_err(ctx, WG_ERR_INTERRUPTED, "export interrupted");
    }
    if (!rc) *written = (int64_t)set.n;
    GEOSWKBWriter_destroy_r(ctx->geos, wr);
    wg_units_free(ctx, &set);
    return rc;
}

static wg_status write_officers(wg_ws *ws, OGRLayerH l, int64_t *written) {
    wg_ctx *ctx = ws->ctx;
    wg_status rc = WG_OK;
    static const char *const fields[] = {"officer_id", "name", "phone", "roles", "grids"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0] && !rc; i++)
        rc = wg_ogr_add_field(ctx, l, fields[i], OFTString, -1);
    if (rc) return rc;
    sqlite3_stmt *st = NULL;
    if ((rc = wg_ws_prepare(ws,
                            "SELECT o.officer_id, o.name, o.phone, X(o.geom), Y(o.geom), "
                            "(SELECT group_concat(DISTINCT role) FROM officer_grids g "
                            " WHERE g.officer_id = o.officer_id), "
                            "(SELECT group_concat(DISTINCT grid_code) FROM officer_grids g "
                            " WHERE g.officer_id = o.officer_id) "
                            "FROM officers o WHERE o.geom IS NOT NULL ORDER BY o.officer_id",
                            &st)))
        return rc;
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(l);
    int64_t n = 0;
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        OGRFeatureH f = OGR_F_Create(defn);
        for (int i = 0; i < 3; i++) set_text(f, fields[i], (const char *)sqlite3_column_text(st, i));
        set_text(f, "roles", (const char *)sqlite3_column_text(st, 5));
        set_text(f, "grids", (const char *)sqlite3_column_text(st, 6));
        OGRGeometryH pt = OGR_G_CreateGeometry(wkbPoint);
        OGR_G_SetPoint_2D(pt, 0, sqlite3_column_double(st, 3), sqlite3_column_double(st, 4));
        OGR_F_SetGeometryDirectly(f, pt);
        if (OGR_L_CreateFeature(l, f) != OGRERR_NONE)
            rc = wg_err(ctx, WG_ERR_GDAL, "cannot write officer %s: %s",
                        (const char *)sqlite3_column_text(st, 0), wg_gdal_msg());
        OGR_F_Destroy(f);
        n++;
    }
    sqlite3_finalize(st);
    if (!rc) *written = n;
    return rc;
}

const char *const *wg_export_lco(const char *driver) {
    static const char *const lco_geojson[] = {"RFC7946=YES", "COORDINATE_PRECISION=9", NULL};
    static const char *const lco_shp[] = {"ENCODING=UTF-8", NULL};
    return !strcmp(driver, "GeoJSON")          ? lco_geojson
           : !strcmp(driver, "ESRI Shapefile") ? lco_shp
                                               : NULL;
}

/* Creates a WGS84 layer `name` of `type` in `ds`. */
static OGRLayerH create_layer(wg_ctx *ctx, GDALDatasetH ds, const char *name,
                              OGRwkbGeometryType type, const char *const *lco) {
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(srs, 4326);
    OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
    OGRLayerH l = GDALDatasetCreateLayer(ds, name, srs, type, (char **)lco);
    OSRDestroySpatialReference(srs);
    if (!l) wg_err(ctx, WG_ERR_GDAL, "cannot create layer %s: %s", name, wg_gdal_msg());
    return l;
}

/* Commits the transaction a layer was written in, unless writing failed (rc). */
static wg_status in_transaction(wg_ctx *ctx, GDALDatasetH ds, const char *name, wg_status rc) {
    if (!rc && GDALDatasetCommitTransaction(ds) == OGRERR_FAILURE)
        rc = wg_err(ctx, WG_ERR_GDAL, "cannot write layer %s: %s", name, wg_gdal_msg());
    return rc;
}

wg_status wg_export_units_to(wg_ws *ws, GDALDatasetH ds, const char *name, unsigned level_mask,
                             const char *at, const char *const *lco, int64_t *written) {
    OGRLayerH l = create_layer(ws->ctx, ds, name, wkbMultiPolygon, lco);
    if (!l) return WG_ERR_GDAL;
    GDALDatasetStartTransaction(ds, 0);
    return in_transaction(ws->ctx, ds, name, write_units(ws, l, level_mask, at, written));
}

wg_status wg_export_officers_to(wg_ws *ws, GDALDatasetH ds, const char *name,
                                const char *const *lco, int64_t *written) {
    OGRLayerH l = create_layer(ws->ctx, ds, name, wkbPoint, lco);
    if (!l) return WG_ERR_GDAL;
    GDALDatasetStartTransaction(ds, 0);
    return in_transaction(ws->ctx, ds, name, write_officers(ws, l, written));
}

wg_status wg_export_incidents_to(wg_ws *ws, GDALDatasetH ds, const char *name,
                                 const char *const *lco, int64_t *written) {
    wg_ctx *ctx = ws->ctx;
    /* columns every workspace has, then the service's (added by wg_incidents_init) */
    static const char *const cols[] = {"ext_id", "reported_at", "category", "description",
                                       "status", "grid_code", "micro_code", "village_code",
                                       "town_code", "place_status", "received_at", "level",
                                       "deadline"};
    enum { NCOLS = sizeof cols / sizeof cols[0] };
    OGRLayerH l = create_layer(ctx, ds, name, wkbPoint, lco);
    if (!l) return WG_ERR_GDAL;
    wg_status rc = wg_ogr_add_field(ctx, l, "id", OFTInteger64, -1);
    char sql[1024];
    size_t o = (size_t)snprintf(sql, sizeof sql, "SELECT id, X(geom), Y(geom)");
    int have[NCOLS];
    for (int i = 0; i < NCOLS && !rc; i++) {
        have[i] = wg_ws_has_column(ws, "incidents", cols[i]);
        o += (size_t)snprintf(sql + o, sizeof sql - o, ", %s", have[i] ? cols[i] : "NULL");
        rc = wg_ogr_add_field(ctx, l, cols[i], OFTString, -1);
    }
    if (!rc) rc = wg_ogr_add_field(ctx, l, "open", OFTInteger, -1);
    snprintf(sql + o, sizeof sql - o, ", %s FROM incidents WHERE geom IS NOT NULL ORDER BY id",
             wg_incident_is_open_sql());
    sqlite3_stmt *st = NULL;
    if (rc || (rc = wg_ws_prepare(ws, sql, &st))) return rc;
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(l);
    int64_t n = 0;
    GDALDatasetStartTransaction(ds, 0);
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        OGRFeatureH f = OGR_F_Create(defn);
        OGR_F_SetFieldInteger64(f, 0, sqlite3_column_int64(st, 0));
        for (int i = 0; i < NCOLS; i++) {
            const char *v = (const char *)sqlite3_column_text(st, 3 + i);
            if (v) OGR_F_SetFieldString(f, 1 + i, v);
        }
        OGR_F_SetFieldInteger(f, 1 + NCOLS, sqlite3_column_int(st, 3 + NCOLS));
        OGRGeometryH pt = OGR_G_CreateGeometry(wkbPoint);
        OGR_G_SetPoint_2D(pt, 0, sqlite3_column_double(st, 1), sqlite3_column_double(st, 2));
        OGR_F_SetGeometryDirectly(f, pt);
        if (OGR_L_CreateFeature(l, f) != OGRERR_NONE)
            rc = wg_err(ctx, WG_ERR_GDAL, "cannot write incident %lld: %s",
                        (long long)sqlite3_column_int64(st, 0), wg_gdal_msg());
        OGR_F_Destroy(f);
        n++;
    }
    sqlite3_finalize(st);
    rc = in_transaction(ctx, ds, name, rc);
    if (!rc) *written = n;
    return rc;
}

wg_status wg_export_layer(wg_ws *ws, wg_layer layer, const char *path, const char *at,
                          int64_t *written) {
    wg_ctx *ctx = ws->ctx;
    if ((unsigned)layer >= WG_LAYER_COUNT) return wg_err(ctx, WG_ERR_INVALID_ARG, "unknown layer");
    if (at && !wg_date_valid(at))
        return wg_err(ctx, WG_ERR_INVALID_ARG, "'%s' is not a date YYYY-MM-DD", at);
    const char *drv_name = wg_ogr_driver_for(ctx, path);
    if (!drv_name) return WG_ERR_INVALID_ARG;
    wg_gdal_init();
    GDALDriverH drv = GDALGetDriverByName(drv_name);
    if (!drv) return wg_err(ctx, WG_ERR_GDAL, "this GDAL has no %s driver", drv_name);
    wg_staging sg;
    wg_status rc = wg_staging_open(ctx, path, &sg);
    if (rc) return rc;
    int64_t n = 0;
    wg_gdal_quiet_push();
    GDALDatasetH ds = GDALCreate(drv, sg.tmpfile, 0, 0, 0, GDT_Unknown, NULL);
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(srs, 4326);
    OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
    const char *const *lco = wg_export_lco(drv_name);
    char lname[256];
    snprintf(lname, sizeof lname, "%s", strrchr(sg.tmpfile, '/') + 1);
    char *dot = strrchr(lname, '.');
    if (dot) *dot = '\0';
    OGRLayerH l = ds ? GDALDatasetCreateLayer(ds, lname, srs,
                                              layer == WG_LAYER_OFFICERS ? wkbPoint
                                                                         : wkbMultiPolygon,
                                              (char **)lco)
                     : NULL;
    if (!l) {
        rc = wg_err(ctx, WG_ERR_GDAL, "cannot create %s: %s", path, wg_gdal_msg());
    } else {
        GDALDatasetStartTransaction(ds, 0);
        unsigned mask = layer == WG_LAYER_ADMIN ? WG_LEVEL_BIT(WG_LEVEL_COUNTY) |
                                                      WG_LEVEL_BIT(WG_LEVEL_TOWN) |
                                                      WG_LEVEL_BIT(WG_LEVEL_VILLAGE)
                        : layer == WG_LAYER_GRIDS ? WG_LEVEL_BIT(WG_LEVEL_GRID)
                        : layer == WG_LAYER_MICRO ? WG_LEVEL_BIT(WG_LEVEL_MICRO)
                                                  : WG_LEVEL_BIT(WG_LEVEL_EXCLUSIVE);
        rc = layer == WG_LAYER_OFFICERS ? write_officers(ws, l, &n)
                                        : write_units(ws, l, mask, at, &n);
        if (!rc && GDALDatasetCommitTransaction(ds) == OGRERR_FAILURE)
            rc = wg_err(ctx, WG_ERR_GDAL, "cannot write %s: %s", path, wg_gdal_msg());
    }
    rc = wg_gdal_close_checked(ctx, ds, rc, path);
    wg_gdal_quiet_pop();
    OSRDestroySpatialReference(srs);
    wg_status rc2 = wg_staging_close(ctx, &sg, rc == WG_OK);
    if (!rc) rc = rc2;
    if (!rc && written) *written = n;
    return rc;
}
