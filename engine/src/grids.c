/* grids.c -- importing admin units and grids from any OGR source.
 *
 * An import reads every feature into memory first (a county is at most tens
 * of thousands of polygons), checks and reprojects them, finds parents, and
 * only then writes, inside one transaction. So a bad feature anywhere fails
 * the import before the workspace is touched, and a failure while writing
 * rolls back: the workspace is never half-imported.
 *
 * Shapefiles carry no reliable encoding: with neither a .cpg nor a DBF
 * language id, GDAL hands us the raw bytes. Chinese contractors' files are
 * then usually GBK, so we read raw, and if the text is not valid UTF-8 we
 * read again as CP936 (GBK) and say so in the report. */
#include "ogrio.h"
#include "units.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct feat {
    int64_t fid;
    wg_level level;
    char *code, *name, *parent, *kind;
    GEOSGeometry *geom; /* WGS84 multipolygon */
    double area_m2;
} feat;

typedef struct batch {
    size_t n, cap;
    feat *v;
    unsigned levels; /* bit mask of levels present */
} batch;

static void batch_free(wg_ctx *ctx, batch *b) {
    for (size_t i = 0; i < b->n; i++) {
        free(b->v[i].code);
        free(b->v[i].name);
        free(b->v[i].parent);
        free(b->v[i].kind);
        if (b->v[i].geom) GEOSGeom_destroy_r(ctx->geos, b->v[i].geom);
    }
    free(b->v);
    memset(b, 0, sizeof *b);
}

/* Field indexes resolved against the layer definition. */
typedef struct fields {
    int code, name, parent, kind, level;
} fields;

static wg_status resolve_field(wg_ctx *ctx, OGRFeatureDefnH defn, const char *name, int required,
                               const char *what, const char *src, int *out) {
    *out = -1;
    if (!name) return WG_OK;
    *out = OGR_FD_GetFieldIndex(defn, name);
    if (*out >= 0 || !required) return WG_OK;
    char list[1024] = "";
    for (int i = 0; i < OGR_FD_GetFieldCount(defn); i++) {
        const char *fn = OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, i));
        if (strlen(list) + strlen(fn) + 3 >= sizeof list) break;
        if (*list) strcat(list, ", ");
        strcat(list, fn);
    }
    return wg_err(ctx, WG_ERR_NOT_FOUND, "%s: no %s field '%s' (fields: %s)", src, what, name,
                  *list ? list : "none");
}

/* Copies a field's text; NULL when unset or empty. Sets *bad_utf8 if the
 * bytes are not UTF-8. */
static char *field_text(OGRFeatureH f, int idx, int *bad_utf8) {
    if (idx < 0 || !OGR_F_IsFieldSetAndNotNull(f, idx)) return NULL;
    const char *s = OGR_F_GetFieldAsString(f, idx);
    while (*s == ' ') s++;
    size_t n = strlen(s);
    while (n && s[n - 1] == ' ') n--; /* DBF pads with spaces */
    if (!n) return NULL;
    if (!wg_utf8_valid(s, n)) *bad_utf8 = 1;
    char *out = malloc(n + 1);
    if (out) {
        memcpy(out, s, n);
        out[n] = '\0';
    }
    return out;
}

struct coord_check {
    int bad;
};

static int check_finite_cb(double *x, double *y, void *user) {
    struct coord_check *c = user;
    if (!isfinite(*x) || !isfinite(*y) || fabs(*x) > 1e15 || fabs(*y) > 1e15) c->bad = 1;
    return 1;
}

static int check_lonlat_cb(double *x, double *y, void *user) {
    struct coord_check *c = user;
    if (!(*x >= -180.0 && *x <= 180.0 && *y >= -90.0 && *y <= 90.0)) c->bad = 1;
    return 1;
}

/* Turns an OGR geometry into a GEOS multipolygon in WGS84, or fails with a
 * message naming the feature. */
static wg_status convert_geometry(wg_ctx *ctx, OGRGeometryH og, PJ *to_wgs84, const char *where,
                                  GEOSGeometry **out) {
    *out = NULL;
    if (!og || OGR_G_IsEmpty(og))
        return wg_err(ctx, WG_ERR_FORMAT, "%s: the geometry is missing or empty", where);
    OGRwkbGeometryType t = wkbFlatten(OGR_G_GetGeometryType(og));
    OGRGeometryH lin = NULL;
    if (t == wkbCurvePolygon || t == wkbMultiSurface) {
        lin = OGR_G_GetLinearGeometry(og, 0, NULL);
        og = lin;
        t = og ? wkbFlatten(OGR_G_GetGeometryType(og)) : wkbUnknown;
    }
    if (t != wkbPolygon && t != wkbMultiPolygon) {
        if (lin) OGR_G_DestroyGeometry(lin);
        return wg_err(ctx, WG_ERR_FORMAT, "%s: geometry type is %s; grids must be polygons",
                      where, OGRGeometryTypeToName(t));
    }
    OGR_G_FlattenTo2D(og);
    OGR_G_SetMeasured(og, 0);
    size_t len = (size_t)OGR_G_WkbSize(og);
    unsigned char *wkb = malloc(len ? len : 1);
    wg_status rc = WG_OK;
    GEOSGeometry *g = NULL, *w = NULL;
    if (!wkb) {
        rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory");
        goto done;
    }
    OGR_G_ExportToIsoWkb(og, wkbNDR, wkb);
    GEOSWKBReader *rd = GEOSWKBReader_create_r(ctx->geos);
    g = GEOSWKBReader_read_r(ctx->geos, rd, wkb, len);
    GEOSWKBReader_destroy_r(ctx->geos, rd);
    if (!g) {
        rc = wg_err(ctx, WG_ERR_FORMAT, "%s: unreadable polygon: %s", where, wg_geos_msg(ctx));
        goto done;
    }
    struct coord_check cc = {0};
    GEOSGeometry *tmp = GEOSGeom_transformXY_r(ctx->geos, g, check_finite_cb, &cc);
    if (tmp) GEOSGeom_destroy_r(ctx->geos, tmp);
    if (cc.bad) {
        rc = wg_err(ctx, WG_ERR_FORMAT, "%s: coordinates are NaN, infinite or absurdly large",
                    where);
        goto done;
    }
    w = wg_geom_transform(ctx, to_wgs84, g);
    if (!w) {
        rc = wg_err(ctx, WG_ERR_PROJ, "%s: coordinates cannot be transformed to WGS84 "
                    "(wrong source CRS? see --s-srs)", where);
        goto done;
    }
    tmp = GEOSGeom_transformXY_r(ctx->geos, w, check_lonlat_cb, &cc);
    if (tmp) GEOSGeom_destroy_r(ctx->geos, tmp);
    if (cc.bad) {
        rc = wg_err(ctx, WG_ERR_FORMAT, "%s: coordinates fall outside lon -180..180, lat -90..90 "
                    "after reprojection (wrong source CRS? see --s-srs)", where);
        goto done;
    }
    if (GEOSGeomTypeId_r(ctx->geos, w) == GEOS_POLYGON) {
        GEOSGeometry *parts[1] = {w};
        GEOSGeometry *m = GEOSGeom_createCollection_r(ctx->geos, GEOS_MULTIPOLYGON, parts, 1);
        if (!m) {
            rc = wg_err(ctx, WG_ERR_GEOS, "%s: %s", where, wg_geos_msg(ctx));
            goto done;
        }
        w = m; /* the collection took ownership of the polygon */
    }
    *out = w;
    w = NULL;
done:
    if (w) GEOSGeom_destroy_r(ctx->geos, w);
    if (g) GEOSGeom_destroy_r(ctx->geos, g);
    free(wkb);
    if (lin) OGR_G_DestroyGeometry(lin);
    return rc;
}

/* Builds the transform from the layer's (or the user's) CRS to WGS84. */
static wg_status source_transform(wg_ctx *ctx, OGRLayerH layer, const char *s_srs,
                                  const char *src, PJ **out) {
    char *wkt = NULL;
    if (!s_srs) {
        OGRSpatialReferenceH srs = OGR_L_GetSpatialRef(layer);
        if (!srs || OSRExportToWkt(srs, &wkt) != OGRERR_NONE || !wkt || !*wkt) {
            CPLFree(wkt);
            return wg_err(ctx, WG_ERR_PROJ,
                          "%s: the layer has no coordinate system (a Shapefile without .prj?); "
                          "give it with --s-srs, e.g. --s-srs EPSG:4549", src);
        }
    }
    *out = wg_proj_transform(ctx, s_srs ? s_srs : wkt, "EPSG:4326");
    CPLFree(wkt);
    if (!*out) {
        wg_err_append(ctx, " (source %s)", src);
        return WG_ERR_PROJ;
    }
    return WG_OK;
}

/* Reads every feature of the layer into `b`. *bad_utf8 reports text that
 * is not UTF-8 (the caller may retry with another encoding). */
static wg_status read_layer(wg_ctx *ctx, OGRLayerH layer, const wg_import_opts *o,
                            const char *src, batch *b, int *bad_utf8) {
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(layer);
    if (OGR_L_GetFeatureCount(layer, 1) == 0)
        return wg_err(ctx, WG_ERR_FORMAT, "%s: the layer has no features", src);
    fields fx;
    wg_status rc;
    const char *code_f = o->code_field ? o->code_field : "code";
    const char *name_f = o->name_field ? o->name_field : "name";
    if ((rc = resolve_field(ctx, defn, code_f, 1, "code", src, &fx.code)) ||
        (rc = resolve_field(ctx, defn, name_f, o->name_field != NULL, "name", src, &fx.name)) ||
        (rc = resolve_field(ctx, defn, o->parent_field, 1, "parent", src, &fx.parent)) ||
        (rc = resolve_field(ctx, defn, o->kind_field, 1, "kind", src, &fx.kind)) ||
        (rc = resolve_field(ctx, defn, o->level < 0 ? o->level_field : NULL, 1, "level", src,
                            &fx.level)))
        return rc;
    PJ *to_wgs84 = NULL;
    if ((rc = source_transform(ctx, layer, o->s_srs, src, &to_wgs84))) return rc;

    GIntBig total = OGR_L_GetFeatureCount(layer, 1);
    OGR_L_ResetReading(layer);
    OGRFeatureH f;
    while ((f = OGR_L_GetNextFeature(layer)) != NULL) {
        if (b->n == b->cap) {
            size_t cap = b->cap ? b->cap * 2 : 256;
            feat *nv = realloc(b->v, cap * sizeof *nv);
            if (!nv) {
                OGR_F_Destroy(f);
                rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory reading %s", src);
                break;
            }
            b->v = nv;
            b->cap = cap;
        }
        feat *ft = &b->v[b->n++];
        memset(ft, 0, sizeof *ft);
        ft->fid = OGR_F_GetFID(f);
        ft->code = field_text(f, fx.code, bad_utf8);
        ft->name = field_text(f, fx.name, bad_utf8);
        ft->parent = field_text(f, fx.parent, bad_utf8);
        ft->kind = field_text(f, fx.kind, bad_utf8);
        char where[256];
        snprintf(where, sizeof where, "%s: feature FID %lld%s%s%s", src, (long long)ft->fid,
                 ft->code ? " (code " : "", ft->code ? ft->code : "", ft->code ? ")" : "");
        if (!ft->code) {
            rc = wg_err(ctx, WG_ERR_FORMAT, "%s has no code in field '%s'", where, code_f);
        } else if (o->level >= 0) {
            ft->level = (wg_level)o->level;
        } else {
            char *lv = field_text(f, fx.level, bad_utf8);
            if (wg_level_parse(lv, &ft->level) != WG_OK)
                rc = wg_err(ctx, WG_ERR_FORMAT,
                            "%s: level '%s' in field '%s' is not one of county, town, village, "
                            "grid, micro, exclusive", where, lv ? lv : "", o->level_field);
            free(lv);
        }
        if (!rc) rc = convert_geometry(ctx, OGR_F_GetGeometryRef(f), to_wgs84, where, &ft->geom);
        OGR_F_Destroy(f);
        if (rc) break;
        b->levels |= WG_LEVEL_BIT(ft->level);
        if (b->n % 256 == 0 && wg_progress(ctx, "read", b->n, total > 0 ? (uint64_t)total : 0)) {
            rc = wg_err(ctx, WG_ERR_INTERRUPTED, "import interrupted");
            break;
        }
    }
    if (!rc && b->n == 0) rc = wg_err(ctx, WG_ERR_FORMAT, "%s: the layer has no features", src);
    proj_destroy(to_wgs84);
    return rc;
}

static wg_status open_layer(wg_ctx *ctx, const char *src, const char *layer_name,
                            const char *encoding, GDALDatasetH *ds_out, OGRLayerH *layer_out) {
    char enc_opt[64];
    const char *open_opts[2] = {NULL, NULL};
    if (encoding) {
        snprintf(enc_opt, sizeof enc_opt, "ENCODING=%s", encoding);
        open_opts[0] = enc_opt;
    }
    wg_gdal_quiet_push();
    GDALDatasetH ds = GDALOpenEx(src, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, open_opts, NULL);
    wg_gdal_quiet_pop();
    if (!ds)
        return wg_err(ctx, WG_ERR_GDAL, "%s: cannot open as a vector source: %s", src,
                      *wg_gdal_msg() ? wg_gdal_msg() : "unknown format or missing file");
    OGRLayerH layer = layer_name ? GDALDatasetGetLayerByName(ds, layer_name)
                                 : (GDALDatasetGetLayerCount(ds) > 0 ? GDALDatasetGetLayer(ds, 0)
                                                                     : NULL);
    if (!layer) {
        char list[1024] = "";
        for (int i = 0; i < GDALDatasetGetLayerCount(ds); i++) {
            const char *ln = OGR_L_GetName(GDALDatasetGetLayer(ds, i));
            if (strlen(list) + strlen(ln) + 3 >= sizeof list) break;
            if (*list) strcat(list, ", ");
            strcat(list, ln);
        }
        GDALClose(ds);
        return wg_err(ctx, WG_ERR_NOT_FOUND, "%s: no layer %s%s%s (layers: %s)", src,
                      layer_name ? "'" : "", layer_name ? layer_name : "at all",
                      layer_name ? "'" : "", *list ? list : "none");
    }
    *ds_out = ds;
    *layer_out = layer;
    return WG_OK;
}

/* Reads the source, choosing the text encoding as described at the top. */
static wg_status read_source(wg_ctx *ctx, const char *src, const wg_import_opts *o, batch *b,
                             char enc_used[32]) {
    GDALDatasetH ds = NULL;
    OGRLayerH layer = NULL;
    wg_status rc = open_layer(ctx, src, o->layer, o->encoding, &ds, &layer);
    if (rc) return rc;
    int is_shp = strcmp(GDALGetDriverShortName(GDALGetDatasetDriver(ds)), "ESRI Shapefile") == 0;
    const char *declared = is_shp ? GDALGetMetadataItem(layer, "SOURCE_ENCODING", "SHAPEFILE")
                                  : "UTF-8";
    int has_declared = declared && *declared; /* `declared` dies with the dataset */
    snprintf(enc_used, 32, "%s", o->encoding ? o->encoding : has_declared ? declared : "UTF-8");
    int bad_utf8 = 0;
    rc = read_layer(ctx, layer, o, src, b, &bad_utf8);
    GDALClose(ds);
    if (!rc && bad_utf8 && is_shp && !o->encoding && !has_declared) {
        batch_free(ctx, b);
        snprintf(enc_used, 32, "CP936");
        if ((rc = open_layer(ctx, src, o->layer, "CP936", &ds, &layer))) return rc;
        bad_utf8 = 0;
        rc = read_layer(ctx, layer, o, src, b, &bad_utf8);
        GDALClose(ds);
    }
    if (!rc && bad_utf8)
        rc = wg_err(ctx, WG_ERR_FORMAT, "%s: text is not valid %s; name the encoding with "
                    "--encoding (e.g. GBK)", src, enc_used);
    return rc;
}

/* ---- parents ------------------------------------------------------------ */

typedef struct cand {
    const char *code;
    const GEOSGeometry *geom;
    const GEOSPreparedGeometry *prep;
} cand;

typedef struct cand_query {
    cand **hits;
    size_t n, cap;
} cand_query;

static void cand_collect(void *item, void *user) {
    cand_query *q = user;
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        cand **nv = realloc(q->hits, cap * sizeof *nv);
        if (!nv) return;
        q->hits = nv;
        q->cap = cap;
    }
    q->hits[q->n++] = item;
}

/* The candidate containing the child's interior point, else the one
 * overlapping it most, else NULL. */
static const char *best_parent(wg_ctx *ctx, GEOSSTRtree *tree, const GEOSGeometry *child,
                               cand_query *q) {
    GEOSContextHandle_t h = ctx->geos;
    const char *best = NULL;
    GEOSGeometry *pt = GEOSPointOnSurface_r(h, child);
    if (!pt) return NULL;
    q->n = 0;
    GEOSSTRtree_query_r(h, tree, pt, cand_collect, q);
    for (size_t i = 0; i < q->n && !best; i++) {
        cand *c = q->hits[i];
        if (!c->prep) c->prep = GEOSPrepare_r(h, c->geom);
        if (c->prep && GEOSPreparedContains_r(h, c->prep, pt) == 1) best = c->code;
    }
    GEOSGeom_destroy_r(h, pt);
    if (best) return best;
    q->n = 0;
    GEOSSTRtree_query_r(h, tree, child, cand_collect, q);
    double best_area = 0.0;
    for (size_t i = 0; i < q->n; i++) {
        GEOSGeometry *x = GEOSIntersection_r(h, q->hits[i]->geom, child);
        double a = 0.0;
        if (x && GEOSArea_r(h, x, &a) == 1 && a > best_area) {
            best_area = a;
            best = q->hits[i]->code;
        }
        if (x) GEOSGeom_destroy_r(h, x);
    }
    return best;
}

/* Fills in missing parents of the batch from the parent level's units:
 * those in the batch if it holds that level, else the workspace's current
 * ones. Returns the number of units left without a parent in *orphans. */
static wg_status find_parents(wg_ws *ws, batch *b, int64_t *orphans) {
    wg_ctx *ctx = ws->ctx;
    wg_status rc = WG_OK;
    for (int lv = WG_LEVEL_TOWN; lv < WG_LEVEL_COUNT; lv++) {
        if (!(b->levels & WG_LEVEL_BIT(lv))) continue;
        int pl = wg_level_parent((wg_level)lv);
        int need = 0;
        for (size_t i = 0; i < b->n && !need; i++)
            need = b->v[i].level == (wg_level)lv && !b->v[i].parent;
        if (!need) continue;
        wg_unitset db = {0, NULL};
        if (!(b->levels & WG_LEVEL_BIT(pl)) &&
            (rc = wg_units_load(ws, WG_LEVEL_BIT(pl), NULL, &db)))
            return rc;
        size_t nc = 0;
        cand *cands = calloc(b->n + db.n + 1, sizeof *cands);
        GEOSSTRtree *tree = GEOSSTRtree_create_r(ctx->geos, 10);
        cand_query q = {NULL, 0, 0};
        if (!cands || !tree) {
            rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory finding parents");
            goto next;
        }
        for (size_t i = 0; i < b->n; i++)
            if (b->v[i].level == (wg_level)pl)
                cands[nc++] = (cand){b->v[i].code, b->v[i].geom, NULL};
        for (size_t i = 0; i < db.n; i++) cands[nc++] = (cand){db.v[i].code, db.v[i].geom, NULL};
        for (size_t i = 0; i < nc; i++) GEOSSTRtree_insert_r(ctx->geos, tree, cands[i].geom, &cands[i]);
        for (size_t i = 0; i < b->n; i++) {
            feat *ft = &b->v[i];
            if (ft->level != (wg_level)lv || ft->parent) continue;
            const char *p = nc ? best_parent(ctx, tree, ft->geom, &q) : NULL;
            if (p && !(ft->parent = strdup(p))) {
                rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory");
                goto next;
            }
            if (!p) (*orphans)++;
        }
    next:
        free(q.hits);
        for (size_t i = 0; i < nc; i++)
            if (cands[i].prep) GEOSPreparedGeom_destroy_r(ctx->geos, cands[i].prep);
        if (tree) GEOSSTRtree_destroy_r(ctx->geos, tree);
        free(cands);
        wg_units_free(ctx, &db);
        if (rc) return rc;
    }
    return WG_OK;
}

/* ---- writing ------------------------------------------------------------ */

/* Chooses the metric CRS from the batch's extent when the workspace has none. */
static wg_status choose_metric(wg_ws *ws, const batch *b) {
    if (ws->metric_epsg) return WG_OK;
    double xmin = INFINITY, ymin = INFINITY, xmax = -INFINITY, ymax = -INFINITY;
    for (size_t i = 0; i < b->n; i++) {
        double x0, y0, x1, y1;
        GEOSGeom_getXMin_r(ws->ctx->geos, b->v[i].geom, &x0);
        GEOSGeom_getYMin_r(ws->ctx->geos, b->v[i].geom, &y0);
        GEOSGeom_getXMax_r(ws->ctx->geos, b->v[i].geom, &x1);
        GEOSGeom_getYMax_r(ws->ctx->geos, b->v[i].geom, &y1);
        xmin = fmin(xmin, x0), ymin = fmin(ymin, y0), xmax = fmax(xmax, x1), ymax = fmax(ymax, y1);
    }
    int epsg = wg_crs_metric_epsg((xmin + xmax) / 2, (ymin + ymax) / 2);
    if (!epsg) return wg_err(ws->ctx, WG_ERR_PROJ, "cannot choose a metric CRS for the data");
    return wg_ws_set_metric(ws, epsg);
}

static wg_status compute_areas(wg_ws *ws, batch *b, const char *src) {
    for (size_t i = 0; i < b->n; i++) {
        GEOSGeometry *m = wg_ws_to_metric(ws, b->v[i].geom);
        if (!m)
            return wg_err(ws->ctx, WG_ERR_PROJ, "%s: feature FID %lld (code %s) cannot be "
                          "projected to EPSG:%d", src, (long long)b->v[i].fid, b->v[i].code,
                          ws->metric_epsg);
        GEOSArea_r(ws->ctx->geos, m, &b->v[i].area_m2);
        GEOSGeom_destroy_r(ws->ctx->geos, m);
    }
    return WG_OK;
}

/* Closes the current version of every level in the batch. */
static wg_status supersede(wg_ws *ws, const batch *b, const char *valid_from, int64_t *count) {
    sqlite3_stmt *chk = NULL, *upd = NULL;
    wg_status rc;
    if ((rc = wg_ws_prepare(ws, "SELECT MAX(valid_from) FROM units WHERE level = ? AND "
                                "valid_to IS NULL", &chk)) ||
        (rc = wg_ws_prepare(ws, "UPDATE units SET valid_to = ? WHERE level = ? AND "
                                "valid_to IS NULL", &upd)))
        goto done;
    for (int lv = 0; lv < WG_LEVEL_COUNT; lv++) {
        if (!(b->levels & WG_LEVEL_BIT(lv))) continue;
        sqlite3_reset(chk);
        sqlite3_bind_text(chk, 1, wg_level_name((wg_level)lv), -1, SQLITE_STATIC);
        if (sqlite3_step(chk) == SQLITE_ROW && sqlite3_column_type(chk, 0) != SQLITE_NULL) {
            const char *cur = (const char *)sqlite3_column_text(chk, 0);
            if (strcmp(cur, valid_from) > 0) {
                rc = wg_err(ws->ctx, WG_ERR_CONSTRAINT,
                            "the current %s level is valid from %s; a new version cannot start "
                            "earlier (--valid-from %s)", wg_level_name((wg_level)lv), cur,
                            valid_from);
                goto done;
            }
        }
        sqlite3_reset(upd);
        sqlite3_bind_text(upd, 1, valid_from, -1, SQLITE_STATIC);
        sqlite3_bind_text(upd, 2, wg_level_name((wg_level)lv), -1, SQLITE_STATIC);
        if (sqlite3_step(upd) != SQLITE_DONE) {
            rc = wg_ws_sqlerr(ws, "closing the previous version");
            goto done;
        }
        *count += sqlite3_changes(ws->db);
    }
done:
    sqlite3_finalize(chk);
    sqlite3_finalize(upd);
    return rc;
}

static wg_status insert_import(wg_ws *ws, const char *what, const char *src, const char *layer,
                               const char *level, int64_t rows, const char *valid_from,
                               int64_t *id) {
    sqlite3_stmt *st = NULL;
    wg_status rc = wg_ws_prepare(ws, "INSERT INTO imports(at, what, source, layer, level, rows, "
                                     "valid_from) VALUES(strftime('%Y-%m-%dT%H:%M:%SZ','now'), "
                                     "?, ?, ?, ?, ?, ?)", &st);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, what, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, src, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, layer, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, level, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, rows);
    sqlite3_bind_text(st, 6, valid_from, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) rc = wg_ws_sqlerr(ws, "recording the import");
    *id = sqlite3_last_insert_rowid(ws->db);
    sqlite3_finalize(st);
    return rc;
}

static void bind_opt_text(sqlite3_stmt *st, int i, const char *s) {
    if (s) sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else sqlite3_bind_null(st, i);
}

static wg_status insert_units(wg_ws *ws, const batch *b, const char *valid_from,
                              int64_t import_id) {
    wg_ctx *ctx = ws->ctx;
    sqlite3_stmt *st = NULL;
    wg_status rc = wg_ws_prepare(ws, "INSERT INTO units(level, code, name, parent_code, kind, "
                                     "valid_from, import_id, src_fid, area_m2, geom) "
                                     "VALUES(?,?,?,?,?,?,?,?,?, GeomFromWKB(?, 4326))", &st);
    if (rc) return rc;
    GEOSWKBWriter *wr = GEOSWKBWriter_create_r(ctx->geos);
    for (size_t i = 0; i < b->n && !rc; i++) {
        const feat *ft = &b->v[i];
        size_t len = 0;
        unsigned char *wkb = GEOSWKBWriter_write_r(ctx->geos, wr, ft->geom, &len);
        if (!wkb) {
            rc = wg_err(ctx, WG_ERR_GEOS, "cannot encode code %s: %s", ft->code, wg_geos_msg(ctx));
            break;
        }
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, wg_level_name(ft->level), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, ft->code, -1, SQLITE_STATIC);
        bind_opt_text(st, 3, ft->name);
        bind_opt_text(st, 4, ft->parent);
        bind_opt_text(st, 5, ft->kind);
        sqlite3_bind_text(st, 6, valid_from, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 7, import_id);
        sqlite3_bind_int64(st, 8, ft->fid);
        sqlite3_bind_double(st, 9, ft->area_m2);
        sqlite3_bind_blob(st, 10, wkb, (int)len, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = wg_err(ctx, WG_ERR_SQLITE, "storing code %s (FID %lld): %s", ft->code,
                        (long long)ft->fid, sqlite3_errmsg(ws->db));
        GEOSFree_r(ctx->geos, wkb);
        if (!rc && (i + 1) % 256 == 0 && wg_progress(ctx, "store", i + 1, b->n))
            rc = wg_err(ctx, WG_ERR_INTERRUPTED, "import interrupted");
    }
    GEOSWKBWriter_destroy_r(ctx->geos, wr);
    sqlite3_finalize(st);
    return rc;
}

wg_status wg_grids_import(wg_ws *ws, const char *src, const wg_import_opts *opts,
                          wg_import_report *report) {
    wg_ctx *ctx = ws->ctx;
    wg_import_opts o = *opts;
    wg_import_report rep;
    memset(&rep, 0, sizeof rep);
    char today[11];
    batch b = {0, 0, NULL, 0};
    int old_epsg = ws->metric_epsg, in_tx = 0;
    wg_status rc = WG_OK;

    if (ws->readonly) return wg_err(ctx, WG_ERR_INVALID_ARG, "the workspace is open read-only");
    if (o.level < 0 && !o.level_field)
        return wg_err(ctx, WG_ERR_INVALID_ARG, "give the level (--level) or a level field "
                      "(--level-field)");
    if (o.level >= WG_LEVEL_COUNT) return wg_err(ctx, WG_ERR_INVALID_ARG, "unknown level");
    if (!o.valid_from) {
        wg_today(today);
        o.valid_from = today;
    } else if (!wg_date_valid(o.valid_from)) {
        return wg_err(ctx, WG_ERR_INVALID_ARG, "valid-from '%s' is not a date YYYY-MM-DD",
                      o.valid_from);
    }
    wg_gdal_init();
    if ((rc = read_source(ctx, src, &o, &b, rep.encoding))) goto done;
    if ((rc = wg_ws_begin(ws))) goto done;
    in_tx = 1;
    int64_t import_id = 0;
    char levels[96] = "";
    for (int lv = 0; lv < WG_LEVEL_COUNT; lv++)
        if (b.levels & WG_LEVEL_BIT(lv)) {
            if (*levels) strcat(levels, ",");
            strcat(levels, wg_level_name((wg_level)lv));
        }
    if ((rc = choose_metric(ws, &b)) || (rc = compute_areas(ws, &b, src)) ||
        (rc = find_parents(ws, &b, &rep.orphans)) ||
        (rc = supersede(ws, &b, o.valid_from, &rep.superseded)) ||
        (rc = insert_import(ws, "units", src, o.layer, levels, (int64_t)b.n, o.valid_from,
                            &import_id)) ||
        (rc = insert_units(ws, &b, o.valid_from, import_id)) || (rc = wg_ws_commit(ws)))
        goto done;
    in_tx = 0;
    rep.imported = (int64_t)b.n;
    rep.metric_epsg = ws->metric_epsg;
done:
    if (in_tx) {
        wg_ws_rollback(ws);
        if (ws->metric_epsg != old_epsg) {
            proj_destroy(ws->to_metric);
            proj_destroy(ws->from_metric);
            ws->to_metric = ws->from_metric = NULL;
            ws->metric_epsg = old_epsg;
        }
    }
    batch_free(ctx, &b);
    if (!rc && report) *report = rep;
    return rc;
}
