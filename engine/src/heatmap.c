/* heatmap.c -- the heatmap command: the points (stored incidents or any OGR
 * points file) in the metric CRS, the frame (data extent grown by the radius
 * as QGIS does, the grids, or a box), the kernel density from density.c,
 * and the files: a Float32 GeoTIFF, a coloured PNG with its world file and a
 * legend, each staged and renamed into place only when complete.
 *
 * Kept apart from density.c so the kernel core stays about the arithmetic
 * (and the QGIS equivalence), and the reading and writing can be reused by
 * other exports (the one-map bundle). */
#include "density.h"
#include "ogrio.h"
#include "units.h"

#include <gdal_alg.h>
#if GDAL_VERSION_NUM >= 3060000
#include <ogr_recordbatch.h>
#endif

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define NODATA -9999.0

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- GeoTIFF --------------------------------------------------------------- */

static OGRSpatialReferenceH srs_for(int epsg) {
    if (epsg <= 0) return NULL;
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    if (OSRImportFromEPSG(srs, epsg) != OGRERR_NONE) {
        OSRDestroySpatialReference(srs);
        return NULL;
    }
    OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
    return srs;
}

static void geotransform(const wg_raster *r, double gt[6]) {
    gt[0] = r->xmin, gt[1] = r->pixel, gt[2] = 0;
    gt[3] = r->ymax, gt[4] = 0, gt[5] = -r->pixel;
}

/* Writes the GeoTIFF at `file` (no staging). */
static wg_status tiff_write(wg_ctx *ctx, const wg_raster *r, const char *file, const char *shown,
                            const char *const *meta, int flags) {
    wg_gdal_init();
    GDALDriverH drv = GDALGetDriverByName("GTiff");
    if (!drv) return wg_err(ctx, WG_ERR_GDAL, "this GDAL has no GTiff driver");
    /* DEFLATE level 1 on GDAL's threads: level 6 takes twice the time for 2%
     * less, the floating-point predictor a quarter more for 23% less and is
     * not read by every GIS; writing is half the work of a county heatmap */
    const char *co[] = {"COMPRESS=DEFLATE", "ZLEVEL=1", "TILED=YES", "BIGTIFF=IF_SAFER",
                        "NUM_THREADS=ALL_CPUS", NULL};
    const char *co_plain[] = {"TILED=YES", "BIGTIFF=IF_SAFER", NULL};
    wg_status rc = WG_OK;
    float *buf = NULL;
    OGRSpatialReferenceH srs = srs_for(r->epsg);
    wg_gdal_quiet_push();
    GDALDatasetH ds = GDALCreate(drv, file, r->cols, r->rows, 1, GDT_Float32,
                                 (char **)(flags & WG_TIFF_UNCOMPRESSED ? co_plain : co));
    if (!ds) {
        rc = wg_err(ctx, WG_ERR_GDAL, "cannot create %s: %s", shown, wg_gdal_msg());
        goto done;
    }
    double gt[6];
    geotransform(r, gt);
    GDALSetGeoTransform(ds, gt);
    if (srs) GDALSetSpatialRef(ds, srs);
    for (const char *const *m = meta; m && *m; m++) {
        char k[128];
        const char *eq = strchr(*m, '=');
        if (!eq || eq - *m >= (long)sizeof k) continue;
        memcpy(k, *m, (size_t)(eq - *m));
        k[eq - *m] = '\0';
        GDALSetMetadataItem(ds, k, eq + 1, NULL);
    }
    GDALRasterBandH band = GDALGetRasterBand(ds, 1);
    GDALSetRasterNoDataValue(band, NODATA);
    const int chunk = 256;
    buf = malloc((size_t)r->cols * chunk * sizeof *buf);
    if (!buf) {
        rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int row = 0; row < r->rows && !rc; row += chunk) {
        int nr = r->rows - row < chunk ? r->rows - row : chunk;
        const float *src = r->v + (size_t)row * (size_t)r->cols;
        for (size_t i = 0; i < (size_t)nr * (size_t)r->cols; i++)
            buf[i] = isnan(src[i]) ? (float)NODATA : src[i];
        if (GDALRasterIO(band, GF_Write, 0, row, r->cols, nr, buf, r->cols, nr, GDT_Float32, 0,
                         0) != CE_None ||
            GDALFlushRasterCache(band) != CE_None) /* a row of tiles at a time in memory */
            rc = wg_err(ctx, WG_ERR_GDAL, "cannot write %s: %s", shown, wg_gdal_msg());
    }
done:
    rc = wg_gdal_close_checked(ctx, ds, rc, shown);
    wg_gdal_quiet_pop();
    if (srs) OSRDestroySpatialReference(srs);
    free(buf);
    return rc;
}

wg_status wg_raster_write_tiff(wg_ctx *ctx, const wg_raster *r, const char *path,
                               const char *const *meta, int flags) {
    if (!r || !path) return wg_err(ctx, WG_ERR_INVALID_ARG, "no raster or no path");
    wg_staging sg;
    wg_status rc = wg_staging_open(ctx, path, &sg);
    if (rc) return rc;
    rc = tiff_write(ctx, r, sg.tmpfile, path, meta, flags);
    wg_status rc2 = wg_staging_close(ctx, &sg, rc == WG_OK);
    return rc ? rc : rc2;
}

/* ---- PNG, world file, legend ------------------------------------------------ */

/* YlOrRd: pale yellow to dark red. */
static void ramp(double t, unsigned char rgb[3]) {
    static const double stop[5][3] = {
        {255, 255, 178}, {254, 204, 92}, {253, 141, 60}, {240, 59, 32}, {189, 0, 38}};
    if (!(t > 0)) t = 0;
    if (t > 1) t = 1;
    double f = t * 4;
    int i = f >= 4 ? 3 : (int)f;
    double u = f - i;
    for (int c = 0; c < 3; c++)
        rgb[c] = (unsigned char)lround(stop[i][c] + (stop[i + 1][c] - stop[i][c]) * u);
}

/* Colour and alpha of a value: transparent at 0 (and below, and no data),
 * then more opaque as it grows so the map underneath stays readable. */
static void colour(double v, double vmax, unsigned char rgba[4]) {
    if (!(v > 0)) {
        rgba[0] = rgba[1] = rgba[2] = rgba[3] = 0;
        return;
    }
    double t = v / vmax;
    if (t > 1) t = 1;
    ramp(t, rgba);
    rgba[3] = (unsigned char)lround(60 + 180 * sqrt(t));
}

/* 5x7 glyphs for the legend's numbers. */
static const char FONT_CHARS[] = "0123456789.-+e";
static const unsigned char FONT[][7] = {
    {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}, {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E},
    {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}, {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E},
    {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}, {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E},
    {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}, {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08},
    {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}, {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C},
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C}, {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00},
    {0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00}, {0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E}};

#define GLYPH_SCALE 2
#define GLYPH_W (6 * GLYPH_SCALE) /* with one column of spacing */

/* Draws `s` in black with its top-left corner at (x, y) on an RGBA image. */
static void draw_text(unsigned char *img, int w, int h, int x, int y, const char *s) {
    for (; *s; s++, x += GLYPH_W) {
        const char *c = strchr(FONT_CHARS, *s);
        if (!c) continue;
        const unsigned char *g = FONT[c - FONT_CHARS];
        for (int gy = 0; gy < 7 * GLYPH_SCALE; gy++)
            for (int gx = 0; gx < 5 * GLYPH_SCALE; gx++) {
                if (!(g[gy / GLYPH_SCALE] & (0x10 >> (gx / GLYPH_SCALE)))) continue;
                int px = x + gx, py = y + gy;
                if (px < 0 || py < 0 || px >= w || py >= h) continue;
                unsigned char *o = img + 4 * ((size_t)py * (size_t)w + (size_t)px);
                o[0] = o[1] = o[2] = 0, o[3] = 255;
            }
    }
}

/* Writes an RGBA image through GDAL's PNG driver (which only copies). */
static wg_status png_from_rgba(wg_ctx *ctx, const unsigned char *img, int w, int h,
                               const wg_raster *georef, const char *file, const char *shown) {
    GDALDriverH mem = GDALGetDriverByName("MEM"), png = GDALGetDriverByName("PNG");
    if (!mem || !png) return wg_err(ctx, WG_ERR_GDAL, "this GDAL has no MEM or PNG driver");
    wg_status rc = WG_OK;
    GDALDatasetH src = GDALCreate(mem, "", w, h, 4, GDT_Byte, NULL);
    if (!src) return wg_err(ctx, WG_ERR_GDAL, "cannot make an image: %s", wg_gdal_msg());
    if (GDALDatasetRasterIO(src, GF_Write, 0, 0, w, h, (void *)img, w, h, GDT_Byte, 4, NULL, 4,
                            4 * w, 1) != CE_None)
        rc = wg_err(ctx, WG_ERR_GDAL, "cannot fill an image: %s", wg_gdal_msg());
    static const GDALColorInterp ci[4] = {GCI_RedBand, GCI_GreenBand, GCI_BlueBand, GCI_AlphaBand};
    for (int b = 0; b < 4; b++)
        GDALSetRasterColorInterpretation(GDALGetRasterBand(src, b + 1), ci[b]);
    OGRSpatialReferenceH srs = georef ? srs_for(georef->epsg) : NULL;
    if (georef) {
        double gt[6];
        geotransform(georef, gt);
        GDALSetGeoTransform(src, gt);
        if (srs) GDALSetSpatialRef(src, srs);
    }
    const char *co[] = {"ZLEVEL=1", NULL}; /* level 6: 2.5x the time for a 30% smaller file */
    GDALDatasetH out = rc ? NULL : GDALCreateCopy(png, file, src, FALSE, (char **)co, NULL, NULL);
    if (!rc && !out) rc = wg_err(ctx, WG_ERR_GDAL, "cannot write %s: %s", shown, wg_gdal_msg());
    rc = wg_gdal_close_checked(ctx, out, rc, shown);
    GDALClose(src);
    if (srs) OSRDestroySpatialReference(srs);
    return rc;
}

/* "x.png" -> "x" + suffix (the extension is replaced, if any). */
static void sibling(const char *path, const char *suffix, char *out, size_t size) {
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - path) : strlen(path);
    snprintf(out, size, "%.*s%s", (int)stem, path, suffix);
}

static wg_status legend_write(wg_ctx *ctx, double vmax, const char *file, const char *shown) {
    enum { W = 340, H = 60, BX = 20, BY = 8, BW = 300, BH = 18 };
    unsigned char *img = malloc((size_t)W * H * 4);
    if (!img) return wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < (size_t)W * H; i++)
        img[4 * i] = img[4 * i + 1] = img[4 * i + 2] = 255, img[4 * i + 3] = 235;
    for (int x = 0; x < BW; x++) {
        unsigned char c[4];
        colour((x + 0.5) / BW * vmax, vmax, c);
        for (int y = 0; y < BH; y++) {
            unsigned char *o = img + 4 * ((size_t)(BY + y) * W + (size_t)(BX + x));
            /* the colour as it shows over white */
            for (int k = 0; k < 3; k++)
                o[k] = (unsigned char)((c[k] * c[3] + 255 * (255 - c[3])) / 255);
            o[3] = 255;
        }
    }
    for (int t = 0; t <= 2; t++) { /* ticks and labels at 0, vmax/2, vmax */
        int x = BX + (BW - 1) * t / 2;
        for (int y = BY + BH; y < BY + BH + 5; y++) {
            unsigned char *o = img + 4 * ((size_t)y * W + (size_t)x);
            o[0] = o[1] = o[2] = 0, o[3] = 255;
        }
        char label[32];
        snprintf(label, sizeof label, "%.3g", vmax * t / 2);
        int len = (int)strlen(label) * GLYPH_W - GLYPH_SCALE;
        int lx = t == 0 ? x - GLYPH_W / 2 : t == 2 ? x - len + GLYPH_W / 2 : x - len / 2;
        if (lx + len > W - 2) lx = W - 2 - len;
        if (lx < 2) lx = 2;
        draw_text(img, W, H, lx, BY + BH + 8, label);
    }
    wg_status rc = png_from_rgba(ctx, img, W, H, NULL, file, shown);
    free(img);
    return rc;
}

static wg_status world_file_write(wg_ctx *ctx, const wg_raster *r, const char *file,
                                  const char *shown) {
    FILE *f = fopen(file, "w");
    if (!f) return wg_err(ctx, WG_ERR_IO, "cannot write %s: %s", shown, strerror(errno));
    /* pixel size, rotations, -pixel size, then the centre of the top-left pixel */
    fprintf(f, "%.17g\n0\n0\n%.17g\n%.17g\n%.17g\n", r->pixel, -r->pixel,
            r->xmin + r->pixel / 2, r->ymax - r->pixel / 2);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) return wg_err(ctx, WG_ERR_IO, "cannot write %s", shown);
    return WG_OK;
}

static double raster_max(const wg_raster *r) {
    double m = 0;
    for (size_t i = 0; i < (size_t)r->cols * (size_t)r->rows; i++)
        if (r->v[i] > m) m = r->v[i];
    return m;
}

/* Writes the PNG, its world file and its legend at `file` (in a staging
 * folder), naming them after `shown` in messages. */
static wg_status png_write(wg_ctx *ctx, const wg_raster *r, const char *file, const char *shown,
                           double vmax) {
    wg_gdal_init();
    if (!(vmax > 0)) vmax = raster_max(r);
    if (!(vmax > 0)) vmax = 1; /* all zero: every pixel transparent */
    size_t npx = (size_t)r->cols * (size_t)r->rows;
    unsigned char *img = malloc(npx * 4);
    if (!img)
        return wg_err(ctx, WG_ERR_NOMEM, "out of memory for a %d x %d image", r->cols, r->rows);
    /* 4096 shades are more than the eye tells apart: a table, not a ramp per pixel */
    enum { SHADES = 4096 };
    unsigned char lut[SHADES + 1][4];
    for (int k = 0; k <= SHADES; k++) colour((k + 0.5) / SHADES * vmax, vmax, lut[k]);
    const double to_shade = SHADES / vmax;
    for (size_t i = 0; i < npx; i++) {
        float v = r->v[i];
        if (!(v > 0)) {
            memset(img + 4 * i, 0, 4);
            continue;
        }
        double t = v * to_shade;
        memcpy(img + 4 * i, lut[t < SHADES ? (int)t : SHADES], 4);
    }
    wg_gdal_quiet_push();
    wg_status rc = png_from_rgba(ctx, img, r->cols, r->rows, r, file, shown);
    free(img);
    char wf[8400], legend[8400], wshown[4200], lshown[4200];
    sibling(file, ".pgw", wf, sizeof wf);
    sibling(shown, ".pgw", wshown, sizeof wshown);
    sibling(file, "_legend.png", legend, sizeof legend);
    sibling(shown, "_legend.png", lshown, sizeof lshown);
    if (!rc) rc = world_file_write(ctx, r, wf, wshown);
    if (!rc) rc = legend_write(ctx, vmax, legend, lshown);
    wg_gdal_quiet_pop();
    return rc;
}

wg_status wg_raster_write_png(wg_ctx *ctx, const wg_raster *r, const char *path, double vmax) {
    if (!r || !path) return wg_err(ctx, WG_ERR_INVALID_ARG, "no raster or no path");
    wg_staging sg;
    wg_status rc = wg_staging_open(ctx, path, &sg);
    if (rc) return rc;
    rc = png_write(ctx, r, sg.tmpfile, path, vmax);
    wg_status rc2 = wg_staging_close(ctx, &sg, rc == WG_OK);
    return rc ? rc : rc2;
}

/* ---- points of a heatmap ---------------------------------------------------- */

/* Points in the metric CRS; w is NULL while every weight is 1. */
typedef struct pts {
    size_t n, cap;
    double *x, *y, *w;
    int weighted;
} pts;

static int pts_push(pts *p, double x, double y, double w) {
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 65536;
        double *nx = realloc(p->x, cap * sizeof *nx);
        if (nx) p->x = nx;
        double *ny = nx ? realloc(p->y, cap * sizeof *ny) : NULL;
        if (ny) p->y = ny;
        double *nw = ny && p->weighted ? realloc(p->w, cap * sizeof *nw) : NULL;
        if (nw) p->w = nw;
        if (!nx || !ny || (p->weighted && !nw)) return 0;
        p->cap = cap;
    }
    p->x[p->n] = x, p->y[p->n] = y;
    if (p->weighted) p->w[p->n] = w;
    p->n++;
    return 1;
}

static void pts_free(pts *p) {
    free(p->x);
    free(p->y);
    free(p->w);
    memset(p, 0, sizeof *p);
}

/* Parses a whole string as a number; QGIS's QVariant::toDouble gives 0 otherwise. */
static double weight_of_text(const char *s) {
    if (!s) return 0;
    char *end;
    double v = strtod(s, &end);
    while (*end == ' ' || *end == '\t') end++;
    return end != s && !*end && isfinite(v) ? v : 0;
}

static double weight_of_column(sqlite3_stmt *st, int c) {
    switch (sqlite3_column_type(st, c)) {
    case SQLITE_INTEGER:
    case SQLITE_FLOAT: return sqlite3_column_double(st, c);
    case SQLITE_TEXT: return weight_of_text((const char *)sqlite3_column_text(st, c));
    default: return 0;
    }
}

/* Converts lon/lat (WGS84) in place to the metric CRS; rows that fail
 * become NaN (and are skipped by the stamping). */
static wg_status lonlat_to_metric(wg_ws *ws, double *x, double *y, size_t n) {
    if (!n) return WG_OK;
    char dst[32];
    snprintf(dst, sizeof dst, "EPSG:%d", ws->metric_epsg);
    PJ *pj = wg_proj_transform(ws->ctx, "EPSG:4326", dst);
    if (!pj) return WG_ERR_PROJ;
    proj_trans_generic(pj, PJ_FWD, x, sizeof *x, n, y, sizeof *y, n, NULL, 0, 0, NULL, 0, 0);
    proj_destroy(pj);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]) || !isfinite(y[i]) || x[i] == HUGE_VAL) x[i] = y[i] = NAN;
    return WG_OK;
}

static wg_status read_incidents(wg_ws *ws, const wg_heatmap_opts *o, pts *out) {
    wg_ctx *ctx = ws->ctx;
    if (o->weight_field && (!wg_ws_has_column(ws, "incidents", o->weight_field) ||
                            strchr(o->weight_field, '"')))
        return wg_err(ctx, WG_ERR_NOT_FOUND, "incidents have no column '%s'", o->weight_field);
    char sql[512];
    /* MbrMinX/MbrMinY read a point's coordinates from the blob's header
     * without building a geometry. */
    snprintf(sql, sizeof sql,
             "SELECT MbrMinX(geom), MbrMinY(geom)%s%s%s FROM incidents "
             "WHERE geom IS NOT NULL%s%s%s",
             o->weight_field ? ", \"" : "", o->weight_field ? o->weight_field : "",
             o->weight_field ? "\"" : "",
             o->from ? " AND substr(reported_at, 1, 10) >= :from" : "",
             o->to ? " AND substr(reported_at, 1, 10) <= :to" : "",
             o->category ? " AND category = :cat" : "");
    sqlite3_stmt *st = NULL;
    wg_status rc = wg_ws_prepare(ws, sql, &st);
    if (rc) return rc;
    const char *const names[3] = {":from", ":to", ":cat"}, *vals[3] = {o->from, o->to, o->category};
    for (int i = 0; i < 3; i++)
        if (vals[i])
            sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, names[i]), vals[i], -1,
                              SQLITE_STATIC);
    out->weighted = o->weight_field != NULL;
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_type(st, 0) == SQLITE_NULL) continue;
        double w = out->weighted ? weight_of_column(st, 2) : 1.0;
        if (!pts_push(out, sqlite3_column_double(st, 0), sqlite3_column_double(st, 1), w)) {
            rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory reading incidents");
            break;
        }
    }
    if (!rc && s != SQLITE_DONE) rc = wg_ws_sqlerr(ws, "reading incidents");
    sqlite3_finalize(st);
    if (!rc) rc = lonlat_to_metric(ws, out->x, out->y, out->n);
    return rc;
}

static int find_field(OGRFeatureDefnH d, const char *const *names) {
    for (; *names; names++) {
        int i = OGR_FD_GetFieldIndex(d, *names);
        if (i >= 0) return i;
    }
    return -1;
}

/* How the rows of a points file become metric coordinates. */
typedef struct file_coords {
    int use_geom, lon_i, lat_i;
    wg_crs_kind kind;
    int epsg;
    int direct; /* already in the metric CRS */
    PJ *pj;     /* to the metric CRS: from EPSG:epsg, or from WGS84 */
} file_coords;

static wg_status setup_file_coords(wg_ws *ws, OGRLayerH l, const wg_heatmap_opts *o,
                                   file_coords *fc) {
    wg_ctx *ctx = ws->ctx;
    OGRFeatureDefnH d = OGR_L_GetLayerDefn(l);
    static const char *const lons[] = {"lon", "lng", "longitude", "x", NULL};
    static const char *const lats[] = {"lat", "latitude", "y", NULL};
    memset(fc, 0, sizeof *fc);
    if (o->lon_field || o->lat_field) {
        if (!o->lon_field || !o->lat_field)
            return wg_err(ctx, WG_ERR_INVALID_ARG, "give both a longitude and a latitude field");
        fc->lon_i = OGR_FD_GetFieldIndex(d, o->lon_field);
        fc->lat_i = OGR_FD_GetFieldIndex(d, o->lat_field);
        if (fc->lon_i < 0 || fc->lat_i < 0)
            return wg_err(ctx, WG_ERR_NOT_FOUND, "%s: no field '%s'", o->input,
                          fc->lon_i < 0 ? o->lon_field : o->lat_field);
    } else if (wkbFlatten(OGR_L_GetGeomType(l)) == wkbPoint ||
               wkbFlatten(OGR_L_GetGeomType(l)) == wkbMultiPoint ||
               (wkbFlatten(OGR_L_GetGeomType(l)) == wkbUnknown &&
                OGR_FD_GetGeomFieldCount(d) > 0)) {
        fc->use_geom = 1; /* rows whose geometry is not a point are skipped */
    } else {
        fc->lon_i = find_field(d, lons);
        fc->lat_i = find_field(d, lats);
        if (fc->lon_i < 0 || fc->lat_i < 0)
            return wg_err(ctx, WG_ERR_NOT_FOUND, "%s: no point geometry and no lon/lat columns "
                          "(looked for lon, lng, longitude, x and lat, latitude, y); name them "
                          "with --lon-field and --lat-field", o->input);
    }
    if (o->crs) {
        if (wg_crs_parse(o->crs, &fc->kind, &fc->epsg))
            return wg_err(ctx, WG_ERR_INVALID_ARG, "unknown CRS '%s' (wgs84, cgcs2000, gcj02, "
                          "bd09 or EPSG:n)", o->crs);
    } else {
        fc->kind = WG_CRS_WGS84;
        OGRSpatialReferenceH srs = fc->use_geom ? OGR_L_GetSpatialRef(l) : NULL;
        const char *auth = srs ? (OSRAutoIdentifyEPSG(srs), OSRGetAuthorityCode(srs, NULL)) : NULL;
        if (auth && strcmp(auth, "4326") && strcmp(auth, "4490")) {
            fc->kind = WG_CRS_EPSG;
            fc->epsg = atoi(auth);
        } else if (srs && !auth) {
            return wg_err(ctx, WG_ERR_INVALID_ARG, "%s: the layer's CRS has no EPSG code; give "
                          "--crs", o->input);
        }
    }
    char src[32], dst[32];
    snprintf(dst, sizeof dst, "EPSG:%d", ws->metric_epsg);
    if (fc->kind == WG_CRS_EPSG && fc->epsg == ws->metric_epsg) {
        fc->direct = 1;
        return WG_OK;
    }
    if (fc->kind == WG_CRS_EPSG) snprintf(src, sizeof src, "EPSG:%d", fc->epsg);
    else snprintf(src, sizeof src, "EPSG:4326");
    fc->pj = wg_proj_transform(ctx, src, dst);
    return fc->pj ? WG_OK : WG_ERR_PROJ;
}

/* Converts one coordinate pair of the file to the metric CRS; 0 if unusable. */
static int file_xy(wg_ctx *ctx, const file_coords *fc, double x, double y, double *mx, double *my) {
    if (!isfinite(x) || !isfinite(y)) return 0;
    if (fc->direct) {
        *mx = x, *my = y;
        return 1;
    }
    if (fc->kind == WG_CRS_GCJ02 || fc->kind == WG_CRS_BD09) {
        if (wg_to_wgs84(ctx, fc->kind, fc->epsg, x, y, &x, &y) != WG_OK) return 0;
    } else if (fc->kind != WG_CRS_EPSG && (fabs(x) > 180 || fabs(y) > 90)) {
        return 0;
    }
    PJ_COORD c = proj_trans(fc->pj, PJ_FWD, proj_coord(x, y, 0, 0));
    *mx = c.xy.x, *my = c.xy.y;
    return isfinite(*mx) && isfinite(*my) && *mx != HUGE_VAL;
}

static int parse_num(const char *s, double *out) {
    char *end;
    while (*s == ' ' || *s == '\t') s++;
    if (!*s) return 0;
    *out = strtod(s, &end);
    while (*end == ' ' || *end == '\t') end++;
    return !*end;
}

/* Adds the point(s) of one feature with weight w: its point or multipoint
 * geometry, or its coordinate fields. Returns the number added (0: none
 * usable), -1 out of memory. */
static int feature_points(wg_ctx *ctx, const file_coords *fc, OGRFeatureH f, double w,
                          pts *out) {
    double mx, my;
    int got = 0;
    if (!fc->use_geom) {
        double x, y;
        if (!OGR_F_IsFieldSetAndNotNull(f, fc->lon_i) ||
            !OGR_F_IsFieldSetAndNotNull(f, fc->lat_i) ||
            !parse_num(OGR_F_GetFieldAsString(f, fc->lon_i), &x) ||
            !parse_num(OGR_F_GetFieldAsString(f, fc->lat_i), &y) ||
            !file_xy(ctx, fc, x, y, &mx, &my))
            return 0;
        return pts_push(out, mx, my, w) ? 1 : -1;
    }
    OGRGeometryH g = OGR_F_GetGeometryRef(f);
    if (!g) return 0;
    int single = wkbFlatten(OGR_G_GetGeometryType(g)) == wkbPoint;
    int n = single ? 1 : wkbFlatten(OGR_G_GetGeometryType(g)) == wkbMultiPoint
                             ? OGR_G_GetGeometryCount(g) : 0;
    for (int k = 0; k < n; k++) {
        OGRGeometryH p = single ? g : OGR_G_GetGeometryRef(g, k);
        if (OGR_G_IsEmpty(p) || !file_xy(ctx, fc, OGR_G_GetX(p, 0), OGR_G_GetY(p, 0), &mx, &my))
            continue;
        if (!pts_push(out, mx, my, w)) return -1;
        got++;
    }
    return got;
}

/* Adds the point(s) of one WKB geometry; returns the number added, 0 if
 * none is usable (not a point, empty, outside the CRS), -1 out of memory. */
static int wkb_points(wg_ctx *ctx, const file_coords *fc, const unsigned char *b, size_t len,
                      pts *out) {
    if (len < 5) return 0;
    int le = b[0] == 1;
    uint32_t type, count = 1;
    memcpy(&type, b + 1, 4);
    if (!le) type = __builtin_bswap32(type);
    size_t at = 5;
    /* ISO codes: +1000 Z, +2000 M, +3000 ZM; or the high bits of extended WKB */
    uint32_t base = type & 0xffffu, flat = base % 1000, iso = base / 1000;
    uint32_t dims = 2 + (iso == 1 || iso == 2) + 2 * (iso == 3) + !!(type & 0x80000000u) +
                    !!(type & 0x40000000u);
    if (flat == 4) { /* multipoint: a count, then points with their own headers */
        if (len < 9) return 0;
        memcpy(&count, b + 5, 4);
        if (!le) count = __builtin_bswap32(count);
        at = 9;
    } else if (flat != 1) {
        return 0;
    }
    int added = 0;
    for (uint32_t k = 0; k < count; k++) {
        if (flat == 4) at += 5; /* the point's own byte order and type */
        if (at + 8 * dims > len) break;
        double xy[2];
        unsigned char tmp[16];
        memcpy(tmp, b + at, 16);
        if (!le)
            for (int h = 0; h < 2; h++)
                for (int i = 0; i < 4; i++) {
                    unsigned char c = tmp[8 * h + i];
                    tmp[8 * h + i] = tmp[8 * h + 7 - i], tmp[8 * h + 7 - i] = c;
                }
        memcpy(xy, tmp, 16);
        at += 8 * dims;
        double mx, my;
        if (!file_xy(ctx, fc, xy[0], xy[1], &mx, &my)) continue;
        if (!pts_push(out, mx, my, 1.0)) return -1;
        added++;
    }
    return added;
}

/* The fast path for a file read for its points only (no weight, no
 * filter): OGR's Arrow stream hands the geometries over as WKB in batches,
 * with no feature objects. Returns 1 when done, 0 when the stream is not
 * available (the caller reads feature by feature). */
static int read_file_arrow(wg_ctx *ctx, OGRLayerH l, const file_coords *fc, pts *out,
                           int64_t *skipped, wg_status *rc) {
#if GDAL_VERSION_NUM >= 3060000
    struct ArrowArrayStream stream;
    struct ArrowSchema schema;
    char *opts[] = {"INCLUDE_FID=NO", NULL};
    memset(&stream, 0, sizeof stream);
    if (!OGR_L_GetArrowStream(l, &stream, opts)) return 0;
    int ok = 0, g = -1, large = 0;
    if (stream.get_schema(&stream, &schema) == 0) {
        /* the one column left (every attribute is ignored): binary WKB */
        for (int64_t c = 0; c < schema.n_children; c++) {
            const char *f = schema.children[c]->format;
            if (!strcmp(f, "z") || !strcmp(f, "Z")) g = (int)c, large = f[0] == 'Z';
        }
        schema.release(&schema);
    }
    if (g >= 0) {
        ok = 1;
        struct ArrowArray batch;
        while (!*rc && stream.get_next(&stream, &batch) == 0 && batch.release) {
            const struct ArrowArray *col = batch.children[g];
            const uint8_t *valid = col->buffers[0];
            const unsigned char *data = col->buffers[2];
            for (int64_t i = 0; i < col->length && !*rc; i++) {
                int64_t r = i + col->offset;
                if (valid && !(valid[r / 8] & (1u << (r % 8)))) continue; /* no geometry */
                size_t from, to;
                if (large) {
                    const int64_t *off = col->buffers[1];
                    from = (size_t)off[r], to = (size_t)off[r + 1];
                } else {
                    const int32_t *off = col->buffers[1];
                    from = (size_t)off[r], to = (size_t)off[r + 1];
                }
                int n = wkb_points(ctx, fc, data + from, to - from, out);
                if (n < 0) *rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory reading points");
                else if (n == 0) (*skipped)++;
            }
            batch.release(&batch);
        }
        if (!*rc && stream.get_last_error(&stream) && *stream.get_last_error(&stream))
            *rc = wg_err(ctx, WG_ERR_GDAL, "reading points: %s", stream.get_last_error(&stream));
    }
    stream.release(&stream);
    return ok;
#else
    (void)ctx, (void)l, (void)fc, (void)out, (void)skipped, (void)rc;
    return 0;
#endif
}

static wg_status read_file(wg_ws *ws, const wg_heatmap_opts *o, pts *out, int64_t *skipped) {
    wg_ctx *ctx = ws->ctx;
    static const char *const times[] = {"reported_at", "time", "timestamp", "datetime", NULL};
    static const char *const cats[] = {"category", "type", NULL};
    wg_gdal_init();
    wg_gdal_quiet_push();
    wg_status rc = WG_OK;
    file_coords fc;
    memset(&fc, 0, sizeof fc);
    GDALDatasetH ds = GDALOpenEx(o->input, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
    OGRLayerH l = NULL;
    if (!ds) {
        rc = wg_err(ctx, access(o->input, F_OK) ? WG_ERR_NOT_FOUND : WG_ERR_FORMAT,
                    "cannot open %s: %s", o->input, wg_gdal_msg());
        goto done;
    }
    l = o->layer ? GDALDatasetGetLayerByName(ds, o->layer) : GDALDatasetGetLayer(ds, 0);
    if (!l) {
        rc = wg_err(ctx, WG_ERR_NOT_FOUND, "%s: no layer %s", o->input, o->layer ? o->layer : "");
        goto done;
    }
    if ((rc = setup_file_coords(ws, l, o, &fc))) goto done;
    OGRFeatureDefnH d = OGR_L_GetLayerDefn(l);
    int wi = -1, ti = -1, ci = -1;
    if (o->weight_field && (wi = OGR_FD_GetFieldIndex(d, o->weight_field)) < 0) {
        rc = wg_err(ctx, WG_ERR_NOT_FOUND, "%s: no weight field '%s'", o->input, o->weight_field);
        goto done;
    }
    if ((o->from || o->to) && (ti = find_field(d, times)) < 0) {
        rc = wg_err(ctx, WG_ERR_NOT_FOUND, "%s: no time field (reported_at, time, timestamp, "
                    "datetime) for --from/--to", o->input);
        goto done;
    }
    if (o->category && (ci = find_field(d, cats)) < 0) {
        rc = wg_err(ctx, WG_ERR_NOT_FOUND, "%s: no category field (category, type)", o->input);
        goto done;
    }
    /* Read only what is used: attribute decoding dominates reading otherwise. */
    {
        int nf = OGR_FD_GetFieldCount(d), k = 0;
        const char **ign = calloc((size_t)nf + 3, sizeof *ign);
        if (!ign) {
            rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory");
            goto done;
        }
        for (int i = 0; i < nf; i++)
            if (i != wi && i != ti && i != ci && (fc.use_geom || (i != fc.lon_i && i != fc.lat_i)))
                ign[k++] = OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(d, i));
        ign[k++] = "OGR_STYLE";
        if (!fc.use_geom) ign[k++] = "OGR_GEOMETRY";
        OGR_L_SetIgnoredFields(l, ign);
        free(ign);
    }
    out->weighted = wi >= 0;
    OGR_L_ResetReading(l);
    if (fc.use_geom && wi < 0 && ti < 0 && ci < 0) {
        /* GDAL 3.6's GeoPackage stream returns empty geometries when every
         * attribute is ignored: keep the first one */
        int nf = OGR_FD_GetFieldCount(d);
        const char **ign = calloc((size_t)nf + 2, sizeof *ign);
        for (int i = 1; ign && i < nf; i++)
            ign[i - 1] = OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(d, i));
        if (ign) ign[nf > 0 ? nf - 1 : 0] = "OGR_STYLE";
        OGR_L_SetIgnoredFields(l, ign);
        free(ign);
        int64_t sk = 0;
        if (read_file_arrow(ctx, l, &fc, out, &sk, &rc) && (rc || out->n > 0 || sk == 0)) {
            *skipped += sk;
            goto done;
        }
        out->n = 0; /* no stream, or one that lost the geometries: feature by feature */
        OGR_L_ResetReading(l);
    }
    OGRFeatureH f;
    int64_t rows = 0;
    while (!rc && (f = OGR_L_GetNextFeature(l)) != NULL) {
        rows++;
        int keep = 1;
        if (ti >= 0) {
            const char *t = OGR_F_IsFieldSetAndNotNull(f, ti) ? OGR_F_GetFieldAsString(f, ti) : "";
            char day[11];
            snprintf(day, sizeof day, "%s", t);
            keep = *t && (!o->from || strcmp(day, o->from) >= 0) &&
                   (!o->to || strcmp(day, o->to) <= 0);
        }
        if (keep && ci >= 0)
            keep = OGR_F_IsFieldSetAndNotNull(f, ci) &&
                   !strcmp(OGR_F_GetFieldAsString(f, ci), o->category);
        double w = 1.0;
        if (keep && wi >= 0) {
            if (!OGR_F_IsFieldSetAndNotNull(f, wi)) w = 0;
            else {
                OGRFieldType t = OGR_Fld_GetType(OGR_FD_GetFieldDefn(d, wi));
                w = t == OFTInteger || t == OFTInteger64 || t == OFTReal
                        ? OGR_F_GetFieldAsDouble(f, wi)
                        : weight_of_text(OGR_F_GetFieldAsString(f, wi));
            }
        }
        if (keep) {
            int got = feature_points(ctx, &fc, f, w, out);
            if (got < 0) rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory reading %s", o->input);
            else if (got == 0) (*skipped)++;
        }
        OGR_F_Destroy(f);
        if (!rc && (rows & 65535) == 0 && wg_progress(ctx, "read", (uint64_t)rows, 0))
            rc = wg_err(ctx, WG_ERR_INTERRUPTED, "heatmap interrupted");
    }
done:
    if (fc.pj) proj_destroy(fc.pj);
    if (ds) GDALClose(ds);
    wg_gdal_quiet_pop();
    return rc;
}

/* ---- framing ------------------------------------------------------------------ */

/* The current admin units and grids in the metric CRS (for the GRIDS
 * extent and its no-data mask). */
typedef struct frame_units {
    size_t n;
    GEOSGeometry **g;
    double xmin, ymin, xmax, ymax;
} frame_units;

static void frame_units_free(wg_ctx *ctx, frame_units *fu) {
    for (size_t i = 0; i < fu->n; i++) GEOSGeom_destroy_r(ctx->geos, fu->g[i]);
    free(fu->g);
    memset(fu, 0, sizeof *fu);
}

static wg_status load_frame_units(wg_ws *ws, frame_units *fu) {
    wg_ctx *ctx = ws->ctx;
    wg_unitset set;
    unsigned mask = WG_LEVEL_BIT(WG_LEVEL_COUNTY) | WG_LEVEL_BIT(WG_LEVEL_TOWN) |
                    WG_LEVEL_BIT(WG_LEVEL_VILLAGE) | WG_LEVEL_BIT(WG_LEVEL_GRID);
    memset(fu, 0, sizeof *fu);
    wg_status rc = wg_units_load(ws, mask, NULL, &set);
    if (rc) return rc;
    if (!set.n) {
        wg_units_free(ctx, &set);
        return wg_err(ctx, WG_ERR_NOT_FOUND, "the workspace has no admin units or grids to frame "
                      "the heatmap on; use --extent data or a box");
    }
    fu->g = calloc(set.n, sizeof *fu->g);
    if (!fu->g) rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    fu->xmin = fu->ymin = INFINITY;
    fu->xmax = fu->ymax = -INFINITY;
    for (size_t i = 0; i < set.n && !rc; i++) {
        GEOSGeometry *m = wg_ws_to_metric(ws, set.v[i].geom);
        if (!m) {
            rc = WG_ERR_PROJ;
            break;
        }
        fu->g[fu->n++] = m;
        double a, b, c, e;
        if (GEOSGeom_getXMin_r(ctx->geos, m, &a) && GEOSGeom_getYMin_r(ctx->geos, m, &b) &&
            GEOSGeom_getXMax_r(ctx->geos, m, &c) && GEOSGeom_getYMax_r(ctx->geos, m, &e)) {
            fu->xmin = fmin(fu->xmin, a), fu->ymin = fmin(fu->ymin, b);
            fu->xmax = fmax(fu->xmax, c), fu->ymax = fmax(fu->ymax, e);
        }
    }
    wg_units_free(ctx, &set);
    if (!rc && !isfinite(fu->xmin)) rc = wg_err(ctx, WG_ERR_NOT_FOUND, "the grids are empty");
    if (rc) frame_units_free(ctx, fu);
    return rc;
}

/* Marks pixels whose centre is outside every unit as no data (NaN). */
static wg_status mask_outside(wg_ctx *ctx, wg_raster *r, const frame_units *fu) {
    GDALDriverH mem = GDALGetDriverByName("MEM");
    if (!mem) return wg_err(ctx, WG_ERR_GDAL, "this GDAL has no MEM driver");
    GDALDatasetH ds = GDALCreate(mem, "", r->cols, r->rows, 1, GDT_Byte, NULL);
    if (!ds) return wg_err(ctx, WG_ERR_GDAL, "cannot make a mask: %s", wg_gdal_msg());
    double gt[6];
    geotransform(r, gt);
    GDALSetGeoTransform(ds, gt);
    wg_status rc = WG_OK;
    OGRGeometryH *og = calloc(fu->n ? fu->n : 1, sizeof *og);
    GEOSWKBWriter *wr = GEOSWKBWriter_create_r(ctx->geos);
    size_t ng = 0;
    for (size_t i = 0; og && wr && i < fu->n; i++) {
        size_t len = 0;
        unsigned char *wkb = GEOSWKBWriter_write_r(ctx->geos, wr, fu->g[i], &len);
        if (wkb && OGR_G_CreateFromWkbEx(wkb, NULL, &og[ng], len) == OGRERR_NONE) ng++;
        GEOSFree_r(ctx->geos, wkb);
    }
    int band = 1;
    double *burn = malloc((ng ? ng : 1) * sizeof *burn); /* one value per geometry */
    for (size_t i = 0; burn && i < ng; i++) burn[i] = 1;
    if (!og || !wr || !burn)
        rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    else if (GDALRasterizeGeometries(ds, 1, &band, (int)ng, og, NULL, NULL, burn, NULL, NULL,
                                     NULL) != CE_None)
        rc = wg_err(ctx, WG_ERR_GDAL, "cannot rasterise the grids: %s", wg_gdal_msg());
    unsigned char *m = rc ? NULL : malloc((size_t)r->cols);
    for (int row = 0; m && row < r->rows && !rc; row++) {
        if (GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Read, 0, row, r->cols, 1, m, r->cols, 1,
                         GDT_Byte, 0, 0) != CE_None) {
            rc = wg_err(ctx, WG_ERR_GDAL, "cannot read the mask: %s", wg_gdal_msg());
            break;
        }
        float *v = r->v + (size_t)row * (size_t)r->cols;
        for (int c = 0; c < r->cols; c++)
            if (!m[c]) v[c] = NAN;
    }
    free(m);
    free(burn);
    for (size_t i = 0; i < ng; i++) OGR_G_DestroyGeometry(og[i]);
    free(og);
    if (wr) GEOSWKBWriter_destroy_r(ctx->geos, wr);
    GDALClose(ds);
    return rc;
}

/* ---- the command ------------------------------------------------------------ */

static wg_status check_opts(wg_ctx *ctx, const wg_heatmap_opts *o) {
    wg_status rc = wg_kde_check(ctx, &o->kde);
    if (rc) return rc;
    if (!o->tif) return wg_err(ctx, WG_ERR_INVALID_ARG, "no output GeoTIFF given");
    if (o->from && !wg_date_valid(o->from))
        return wg_err(ctx, WG_ERR_INVALID_ARG, "'%s' is not a date YYYY-MM-DD", o->from);
    if (o->to && !wg_date_valid(o->to))
        return wg_err(ctx, WG_ERR_INVALID_ARG, "'%s' is not a date YYYY-MM-DD", o->to);
    if (o->from && o->to && strcmp(o->from, o->to) > 0)
        return wg_err(ctx, WG_ERR_INVALID_ARG, "--from %s is after --to %s", o->from, o->to);
    if ((unsigned)o->extent > WG_EXTENT_BOX)
        return wg_err(ctx, WG_ERR_INVALID_ARG, "unknown extent kind %d", (int)o->extent);
    if (o->extent == WG_EXTENT_BOX &&
        (!isfinite(o->box[0]) || !isfinite(o->box[1]) || !isfinite(o->box[2]) ||
         !isfinite(o->box[3]) || o->box[2] <= o->box[0] || o->box[3] <= o->box[1]))
        return wg_err(ctx, WG_ERR_INVALID_ARG, "the extent box (%g, %g, %g, %g) is not "
                      "xmin,ymin,xmax,ymax", o->box[0], o->box[1], o->box[2], o->box[3]);
    if (!isfinite(o->png_max) || o->png_max < 0)
        return wg_err(ctx, WG_ERR_INVALID_ARG, "the PNG scale maximum %g is negative", o->png_max);
    return WG_OK;
}

wg_status wg_heatmap(wg_ws *ws, const wg_heatmap_opts *o, wg_heatmap_report *report) {
    wg_ctx *ctx = ws->ctx;
    wg_heatmap_report rep;
    memset(&rep, 0, sizeof rep);
    pts p;
    memset(&p, 0, sizeof p);
    frame_units fu;
    memset(&fu, 0, sizeof fu);
    wg_raster *r = NULL;
    wg_staging sg_tif, sg_png;
    int staged_tif = 0, staged_png = 0;
    wg_status rc = check_opts(ctx, o);
    if (rc) return rc;
    if (!ws->metric_epsg)
        return wg_err(ctx, WG_ERR_INVALID_ARG, "the workspace has no metric CRS yet: import "
                      "grids first or init with --crs");
    double t0 = now_s();
    rc = o->input ? read_file(ws, o, &p, &rep.skipped) : read_incidents(ws, o, &p);
    if (rc) goto done;
    /* the extent of the usable points */
    double bx0 = INFINITY, by0 = INFINITY, bx1 = -INFINITY, by1 = -INFINITY;
    for (size_t i = 0; i < p.n; i++) {
        if (isnan(p.x[i])) continue;
        rep.points++;
        bx0 = fmin(bx0, p.x[i]), by0 = fmin(by0, p.y[i]);
        bx1 = fmax(bx1, p.x[i]), by1 = fmax(by1, p.y[i]);
    }
    rep.skipped += (int64_t)p.n - rep.points;
    rep.empty = rep.points == 0;
    rep.extent = o->extent;
    if (o->extent == WG_EXTENT_DATA && rep.empty) rep.extent = WG_EXTENT_GRIDS;
    rep.seconds_read = now_s() - t0;

    double t1 = now_s();
    double R = o->kde.radius;
    if (rep.extent == WG_EXTENT_GRIDS) {
        if ((rc = load_frame_units(ws, &fu))) goto done;
        /* snapped outward to multiples of the pixel, so maps of one county line
         * up pixel for pixel (a micrometre of reprojection noise is not a pixel) */
        double px = o->kde.pixel;
        rep.xmin = floor(fu.xmin / px + 1e-6) * px, rep.ymin = floor(fu.ymin / px + 1e-6) * px;
        rep.xmax = ceil(fu.xmax / px - 1e-6) * px, rep.ymax = ceil(fu.ymax / px - 1e-6) * px;
    } else if (rep.extent == WG_EXTENT_BOX) {
        rep.xmin = o->box[0], rep.ymin = o->box[1], rep.xmax = o->box[2], rep.ymax = o->box[3];
    } else { /* QGIS: the source extent grown by the radius */
        rep.xmin = bx0 - R, rep.ymin = by0 - R, rep.xmax = bx1 + R, rep.ymax = by1 + R;
    }
    if ((rc = wg_raster_create(ctx, rep.xmin, rep.ymin, rep.xmax, rep.ymax, o->kde.pixel,
                               ws->metric_epsg, &r)))
        goto done;
    rep.epsg = r->epsg, rep.cols = r->cols, rep.rows = r->rows;
    if ((rc = wg_kde_add(ctx, r, &o->kde, p.x, p.y, p.weighted ? p.w : NULL, p.n))) goto done;
    pts_free(&p); /* the raster is what counts from here */
    wg_gdal_init();
    if (rep.extent == WG_EXTENT_GRIDS && (rc = mask_outside(ctx, r, &fu))) goto done;
    double sum = 0;
    for (size_t i = 0; i < (size_t)r->cols * (size_t)r->rows; i++)
        if (!isnan(r->v[i])) {
            sum += r->v[i];
            if (r->v[i] > rep.max) rep.max = r->v[i];
        }
    rep.integral = sum * r->pixel * r->pixel;
    rep.seconds_kde = now_s() - t1;

    double t2 = now_s();
    char m_kernel[64], m_radius[64], m_pixel[64], m_values[64], m_decay[64], m_points[64];
    snprintf(m_kernel, sizeof m_kernel, "WG_KERNEL=%s", wg_kernel_name(o->kde.kernel));
    snprintf(m_radius, sizeof m_radius, "WG_RADIUS=%.17g", R);
    snprintf(m_pixel, sizeof m_pixel, "WG_PIXEL=%.17g", o->kde.pixel);
    snprintf(m_values, sizeof m_values, "WG_VALUES=%s", o->kde.scaled ? "scaled" : "raw");
    snprintf(m_decay, sizeof m_decay, "WG_DECAY=%.17g", o->kde.decay);
    snprintf(m_points, sizeof m_points, "WG_POINTS=%lld", (long long)rep.points);
    const char *meta[] = {m_kernel, m_radius, m_pixel, m_values, m_decay, m_points, NULL};
    if ((rc = wg_staging_open(ctx, o->tif, &sg_tif))) goto done;
    staged_tif = 1;
    if ((rc = tiff_write(ctx, r, sg_tif.tmpfile, o->tif, meta,
                         o->uncompressed ? WG_TIFF_UNCOMPRESSED : 0)))
        goto done;
    if (o->png) {
        if ((rc = wg_staging_open(ctx, o->png, &sg_png))) goto done;
        staged_png = 1;
        rep.png_max = o->png_max > 0 ? o->png_max : rep.max > 0 ? rep.max : 1;
        if ((rc = png_write(ctx, r, sg_png.tmpfile, o->png, rep.png_max))) goto done;
    }
    /* everything is written: publish */
    staged_tif = 0;
    if ((rc = wg_staging_close(ctx, &sg_tif, 1))) goto done;
    if (staged_png) {
        staged_png = 0;
        rc = wg_staging_close(ctx, &sg_png, 1);
    }
    rep.seconds_write = now_s() - t2;
done:
    if (staged_tif) wg_staging_close(ctx, &sg_tif, 0);
    if (staged_png) wg_staging_close(ctx, &sg_png, 0);
    wg_raster_free(r);
    frame_units_free(ctx, &fu);
    pts_free(&p);
    if (!rc && report) *report = rep;
    return rc;
}
