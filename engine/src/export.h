/* export.h -- what the export modules share: writing workspace layers into
 * an open OGR dataset (export.c), aggregates (aggregate.c), QGIS styles
 * (style.c); the one-map bundle (onemap.c) puts them together. */
#ifndef WG_EXPORT_H
#define WG_EXPORT_H

#include "ogrio.h"
#include "units.h"

/* ---- export.c ---- */

/* Layer creation options for a driver: RFC 7946 for GeoJSON, UTF-8 (.cpg)
 * for Shapefiles, none otherwise. Static. */
const char *const *wg_export_lco(const char *driver);

/* Creates layer `name` (WGS84) in `ds` and writes the current units of the
 * levels in `level_mask` (WG_LEVEL_BIT) valid at `at` (NULL = now): code,
 * name, level, parent, kind, valid_from, valid_to, area_m2. */
wg_status wg_export_units_to(wg_ws *ws, GDALDatasetH ds, const char *name, unsigned level_mask,
                             const char *at, const char *const *lco, int64_t *written);

/* The same for the officers' stations (points; officers without one are
 * left out) and the stored incidents (points). */
wg_status wg_export_officers_to(wg_ws *ws, GDALDatasetH ds, const char *name,
                                const char *const *lco, int64_t *written);
wg_status wg_export_incidents_to(wg_ws *ws, GDALDatasetH ds, const char *name,
                                 const char *const *lco, int64_t *written);

/* ---- style.c: QGIS layer styles (.qml) ---- */

typedef enum wg_geomkind { WG_GK_POLYGON = 0, WG_GK_LINE, WG_GK_POINT } wg_geomkind;

/* One class of a graduated style: values in (lower, upper] (the first class
 * also takes lower itself), drawn in rgb. */
typedef struct wg_style_range {
    double lower, upper;
    unsigned char rgb[3];
} wg_style_range;

/* Colour t in [0, 1] of the sequential ramp (ColorBrewer YlOrRd, 5 stops). */
void wg_ramp_ylorrd(double t, unsigned char rgb[3]);

/* QML documents (new strings; free()), NULL when out of memory:
 *  - graduated: polygons coloured by the classes of numeric field `attr`;
 *  - simple: one symbol, fill and stroke as "r,g,b,a" (fill ignored for
 *    lines), stroke width in mm, point size in mm;
 *  - categorized: one symbol per text value of `attr`. */
char *wg_qml_graduated(const char *attr, const wg_style_range *r, int n);
char *wg_qml_simple(wg_geomkind kind, const char *fill, const char *stroke, double width_mm,
                    double size_mm);
char *wg_qml_categorized(wg_geomkind kind, const char *attr, const char *const *values,
                         const char *const *fills, int n);

/* Writes `qml` to `path` (no staging: the caller stages). */
wg_status wg_qml_write(wg_ctx *ctx, const char *qml, const char *path);

/* Adds `qml` as the default style of `layer` (geometry column `geom_col`)
 * in the GeoPackage `ds`, in QGIS's layer_styles table (created when
 * missing), so QGIS opens the layer with it. */
wg_status wg_gpkg_style_add(wg_ctx *ctx, GDALDatasetH ds, const char *layer, const char *geom_col,
                            const char *style_name, const char *qml);

/* ---- aggregate.c ---- */

/* Writes the aggregate of opts into layer `name` of `ds` (created there),
 * filling `rep`; *qml gets the layer's graduated style (free()). */
wg_status wg_aggregate_to(wg_ws *ws, const wg_aggregate_opts *opts, GDALDatasetH ds,
                          const char *name, const char *const *lco, wg_aggregate_report *rep,
                          char **qml);

/* "x/y.gpkg" -> "x/y" + suffix, into out. */
void wg_path_sibling(const char *path, const char *suffix, char *out, size_t size);

#endif
