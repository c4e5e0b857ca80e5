/* style.c -- QGIS layer styles, so the command center's analysts open our
 * layers already coloured.
 *
 * A style is a QML document (QGIS's own XML for a layer's symbology). It
 * goes beside a file layer as STEM.qml, which QGIS loads with the layer, or
 * into a GeoPackage's layer_styles table (the table QGIS itself creates
 * when one saves a style "in the database"), marked useAsDefault. Symbol
 * layer properties are written as <prop k= v=/> elements, which every QGIS
 * 3 release reads (3.22 writes them; later releases still read them). */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include "export.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ColorBrewer YlOrRd, 5 classes. */
static const unsigned char YLORRD[5][3] = {
    {255, 255, 178}, {254, 204, 92}, {253, 141, 60}, {240, 59, 32}, {189, 0, 38}};

void wg_ramp_ylorrd(double t, unsigned char rgb[3]) {
    if (!(t > 0)) t = 0;
    if (t > 1) t = 1;
    double x = t * 4;
    int i = (int)x;
    if (i > 3) i = 3;
    double f = x - i;
    for (int k = 0; k < 3; k++)
        rgb[k] = (unsigned char)(YLORRD[i][k] + f * (YLORRD[i + 1][k] - YLORRD[i][k]) + 0.5);
}

/* Writes `s` escaped for an XML attribute. */
static void xml_attr(FILE *f, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void prop(FILE *f, const char *k, const char *v) {
    fprintf(f, "     <prop k=\"%s\" v=\"", k);
    xml_attr(f, v);
    fputs("\"/>\n", f);
}

static const char *const SYMBOL_TYPE[] = {"fill", "line", "marker"};

/* One <symbol> with one simple symbol layer. */
static void symbol(FILE *f, wg_geomkind kind, const char *name, const char *fill,
                   const char *stroke, double width_mm, double size_mm) {
    char w[32], sz[32];
    snprintf(w, sizeof w, "%g", width_mm);
    snprintf(sz, sizeof sz, "%g", size_mm);
    fprintf(f, "   <symbol type=\"%s\" name=\"", SYMBOL_TYPE[kind]);
    xml_attr(f, name);
    fputs("\" alpha=\"1\" clip_to_extent=\"1\" force_rhr=\"0\">\n", f);
    if (kind == WG_GK_POLYGON) {
        fputs("    <layer class=\"SimpleFill\" enabled=\"1\" pass=\"0\" locked=\"0\">\n", f);
        prop(f, "color", fill);
        prop(f, "style", "solid");
        prop(f, "outline_color", stroke);
        prop(f, "outline_style", "solid");
        prop(f, "outline_width", w);
        prop(f, "outline_width_unit", "MM");
        prop(f, "joinstyle", "bevel");
    } else if (kind == WG_GK_LINE) {
        fputs("    <layer class=\"SimpleLine\" enabled=\"1\" pass=\"0\" locked=\"0\">\n", f);
        prop(f, "line_color", stroke);
        prop(f, "line_style", "solid");
        prop(f, "line_width", w);
        prop(f, "line_width_unit", "MM");
        prop(f, "capstyle", "round");
        prop(f, "joinstyle", "round");
    } else {
        fputs("    <layer class=\"SimpleMarker\" enabled=\"1\" pass=\"0\" locked=\"0\">\n", f);
        prop(f, "name", "circle");
        prop(f, "color", fill);
        prop(f, "outline_color", stroke);
        prop(f, "outline_style", "solid");
        prop(f, "outline_width", w);
        prop(f, "outline_width_unit", "MM");
        prop(f, "size", sz);
        prop(f, "size_unit", "MM");
    }
    fputs("    </layer>\n   </symbol>\n", f);
}

static FILE *qml_open(char **buf, size_t *len) {
    FILE *f = open_memstream(buf, len);
    if (f)
        fputs("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
              "<qgis version=\"3.22.16\" styleCategories=\"Symbology\">\n",
              f);
    return f;
}

/* Ends the document; the buffer is only final after fclose. */
static char *qml_close(FILE *f, char **buf, wg_geomkind kind) {
    /* QGIS's layerGeometryType: 0 point, 1 line, 2 polygon */
    fprintf(f, " <layerGeometryType>%d</layerGeometryType>\n</qgis>\n",
            kind == WG_GK_POINT ? 0 : kind == WG_GK_LINE ? 1 : 2);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        free(*buf);
        return NULL;
    }
    return *buf;
}

char *wg_qml_graduated(const char *attr, const wg_style_range *r, int n) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = qml_open(&buf, &len);
    if (!f) return NULL;
    fputs(" <renderer-v2 type=\"graduatedSymbol\" attr=\"", f);
    xml_attr(f, attr);
    fputs("\" graduatedMethod=\"GraduatedColor\" symbollevels=\"0\" forceraster=\"0\" "
          "enableorderby=\"0\">\n  <ranges>\n", f);
    for (int i = 0; i < n; i++)
        fprintf(f, "   <range symbol=\"%d\" lower=\"%.17g\" upper=\"%.17g\" "
                "label=\"%.4g - %.4g\" render=\"true\"/>\n",
                i, r[i].lower, r[i].upper, r[i].lower, r[i].upper);
    fputs("  </ranges>\n  <symbols>\n", f);
    for (int i = 0; i < n; i++) {
        char name[16], fill[32];
        snprintf(name, sizeof name, "%d", i);
        snprintf(fill, sizeof fill, "%d,%d,%d,255", r[i].rgb[0], r[i].rgb[1], r[i].rgb[2]);
        symbol(f, WG_GK_POLYGON, name, fill, "110,110,110,255", 0.26, 0);
    }
    fputs("  </symbols>\n  <mode name=\"quantile\"/>\n"
          "  <classificationMethod id=\"Quantile\"/>\n </renderer-v2>\n", f);
    return qml_close(f, &buf, WG_GK_POLYGON);
}

char *wg_qml_simple(wg_geomkind kind, const char *fill, const char *stroke, double width_mm,
                    double size_mm) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = qml_open(&buf, &len);
    if (!f) return NULL;
    fputs(" <renderer-v2 type=\"singleSymbol\" symbollevels=\"0\" forceraster=\"0\" "
          "enableorderby=\"0\">\n  <symbols>\n", f);
    symbol(f, kind, "0", fill, stroke, width_mm, size_mm);
    fputs("  </symbols>\n </renderer-v2>\n", f);
    return qml_close(f, &buf, kind);
}

char *wg_qml_categorized(wg_geomkind kind, const char *attr, const char *const *values,
                         const char *const *fills, int n) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = qml_open(&buf, &len);
    if (!f) return NULL;
    fputs(" <renderer-v2 type=\"categorizedSymbol\" attr=\"", f);
    xml_attr(f, attr);
    fputs("\" symbollevels=\"0\" forceraster=\"0\" enableorderby=\"0\">\n  <categories>\n", f);
    for (int i = 0; i < n; i++) {
        fprintf(f, "   <category symbol=\"%d\" render=\"true\" value=\"", i);
        xml_attr(f, values[i]);
        fputs("\" label=\"", f);
        xml_attr(f, values[i]);
        fputs("\"/>\n", f);
    }
    fputs("  </categories>\n  <symbols>\n", f);
    for (int i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "%d", i);
        symbol(f, kind, name, fills[i], "90,90,90,255", 0.26, 2);
    }
    fputs("  </symbols>\n </renderer-v2>\n", f);
    return qml_close(f, &buf, kind);
}

wg_status wg_qml_write(wg_ctx *ctx, const char *qml, const char *path) {
    FILE *f = fopen(path, "wb");
    if (!f) return wg_err(ctx, WG_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    size_t n = strlen(qml);
    int bad = fwrite(qml, 1, n, f) != n;
    if (fclose(f) != 0 || bad)
        return wg_err(ctx, WG_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    return WG_OK;
}

/* ---- GeoPackage layer_styles ---------------------------------------------- */

static wg_status styles_layer(wg_ctx *ctx, GDALDatasetH ds, OGRLayerH *out) {
    OGRLayerH l = GDALDatasetGetLayerByName(ds, "layer_styles");
    if (l) {
        *out = l;
        return WG_OK;
    }
    /* QGIS's schema (as QGIS creates it through OGR) */
    static const struct {
        const char *name;
        OGRFieldType type;
        int width;
    } fields[] = {{"f_table_catalog", OFTString, 256}, {"f_table_schema", OFTString, 256},
                  {"f_table_name", OFTString, 256},    {"f_geometry_column", OFTString, 256},
                  {"styleName", OFTString, 30},        {"styleQML", OFTString, 0},
                  {"styleSLD", OFTString, 0},          {"useAsDefault", OFTInteger, 0},
                  {"description", OFTString, 0},       {"owner", OFTString, 30},
                  {"ui", OFTString, 30},               {"update_time", OFTDateTime, 0}};
    const char *lco[] = {"FID=id", NULL};
    l = GDALDatasetCreateLayer(ds, "layer_styles", NULL, wkbNone, (char **)lco);
    if (!l) return wg_err(ctx, WG_ERR_GDAL, "cannot create layer_styles: %s", wg_gdal_msg());
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        OGRFieldDefnH fd = OGR_Fld_Create(fields[i].name, fields[i].type);
        if (fields[i].width) OGR_Fld_SetWidth(fd, fields[i].width);
        if (fields[i].type == OFTInteger) OGR_Fld_SetSubType(fd, OFSTBoolean);
        if (fields[i].type == OFTDateTime) OGR_Fld_SetDefault(fd, "CURRENT_TIMESTAMP");
        OGRErr e = OGR_L_CreateField(l, fd, 1);
        OGR_Fld_Destroy(fd);
        if (e != OGRERR_NONE)
            return wg_err(ctx, WG_ERR_GDAL, "cannot create layer_styles.%s: %s", fields[i].name,
                          wg_gdal_msg());
    }
    *out = l;
    return WG_OK;
}

wg_status wg_gpkg_style_add(wg_ctx *ctx, GDALDatasetH ds, const char *layer, const char *geom_col,
                            const char *style_name, const char *qml) {
    OGRLayerH l = NULL;
    wg_status rc = styles_layer(ctx, ds, &l);
    if (rc) return rc;
    OGRFeatureH f = OGR_F_Create(OGR_L_GetLayerDefn(l));
    OGR_F_SetFieldString(f, OGR_F_GetFieldIndex(f, "f_table_catalog"), "");
    OGR_F_SetFieldString(f, OGR_F_GetFieldIndex(f, "f_table_schema"), "");
    OGR_F_SetFieldString(f, OGR_F_GetFieldIndex(f, "f_table_name"), layer);
    OGR_F_SetFieldString(f, OGR_F_GetFieldIndex(f, "f_geometry_column"), geom_col);
    OGR_F_SetFieldString(f, OGR_F_GetFieldIndex(f, "styleName"), style_name);
    OGR_F_SetFieldString(f, OGR_F_GetFieldIndex(f, "styleQML"), qml);
    OGR_F_SetFieldString(f, OGR_F_GetFieldIndex(f, "styleSLD"), "");
    OGR_F_SetFieldInteger(f, OGR_F_GetFieldIndex(f, "useAsDefault"), 1);
    OGR_F_SetFieldString(f, OGR_F_GetFieldIndex(f, "description"), "written by wangge");
    OGR_F_SetFieldString(f, OGR_F_GetFieldIndex(f, "owner"), "");
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    OGR_F_SetFieldDateTime(f, OGR_F_GetFieldIndex(f, "update_time"), tm.tm_year + 1900,
                           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, 100);
    if (OGR_L_CreateFeature(l, f) != OGRERR_NONE)
        rc = wg_err(ctx, WG_ERR_GDAL, "cannot store the style of %s: %s", layer, wg_gdal_msg());
    OGR_F_Destroy(f);
    return rc;
}
