/* pointindex.h -- a static point-in-polygon index (private).
 *
 * Built once from a set of polygons (lon/lat), then answers "which polygons
 * contain this point" without allocating and without calling GEOS. Queries
 * are read-only: any number of threads may query one index. */
#ifndef WG_POINTINDEX_H
#define WG_POINTINDEX_H

#include "ctx.h"

typedef struct wg_pindex wg_pindex;

/* Builds an index over `n` polygonal geometries (Polygon or MultiPolygon,
 * borrowed for the call). Polygon i is reported as id i. */
wg_status wg_pindex_build(wg_ctx *ctx, const GEOSGeometry *const *geoms, size_t n,
                          wg_pindex **out);
void wg_pindex_free(wg_pindex *ix);

/* Writes into ids[0..max) the ids of the polygons containing (x, y) in
 * ascending order and returns how many contain it (which may exceed max).
 * Boundary rule: a point on an edge belongs to the polygon that contains
 * the point nudged by (+e, +e^2) for an infinitesimal e -- i.e. to the
 * polygon on its east side, or, on an east-west edge, on its north side.
 * So in a clean coverage every point belongs to exactly one unit. */
size_t wg_pindex_query(const wg_pindex *ix, double x, double y, uint32_t *ids, size_t max);

/* Exact test of one polygon (same rule). */
int wg_pindex_contains(const wg_pindex *ix, uint32_t id, double x, double y);

/* Distance in metres from (lon, lat) to the boundary of polygon `id`,
 * using a local equirectangular scale (accurate to well under 0.1% over the
 * few hundred metres this is used for). */
double wg_pindex_distance_m(const wg_pindex *ix, uint32_t id, double lon, double lat);

/* The bounding box of polygon `id`. */
void wg_pindex_bbox(const wg_pindex *ix, uint32_t id, double bb[4]);

size_t wg_pindex_memory(const wg_pindex *ix);

#endif
