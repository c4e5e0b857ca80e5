/* pointindex.h -- a static point-in-polygon index (private).
 *
 * Built once from a set of polygons (lon/lat), then answers "which polygons
 * contain this point" without allocating and without calling GEOS. Queries
 * are read-only: any number of threads may query one index. */
#ifndef WG_POINTINDEX_H
#define WG_POINTINDEX_H

#include "ctx.h"

#include <stdio.h>

typedef struct wg_pindex wg_pindex;

/* Builds an index over `n` polygonal geometries (Polygon or MultiPolygon,
 * borrowed for the call). Polygon i is reported as id i. `edges_per_cell`
 * sets the grid's fineness: 1 for indexes on the hot path (a query then
 * meets about one edge), more for rarely asked ones (smaller, built
 * faster, ~edges_per_cell times slower near boundaries). Below 2 the cells
 * near boundaries also get subcell masks that answer most points there
 * without a test (4 bytes an entry; on the large county 0.14 s more CPU to
 * build, which the locator's cache pays once). */
wg_status wg_pindex_build(wg_ctx *ctx, const GEOSGeometry *const *geoms, size_t n,
                          double edges_per_cell, wg_pindex **out);
void wg_pindex_free(wg_pindex *ix);

/* Writes into ids[0..max) the ids of the polygons containing (x, y) in
 * ascending order and returns how many contain it (which may exceed max).
 * Boundary rule: a point on an edge belongs to the polygon that contains
 * the point nudged by (+e, +e^2) for an infinitesimal e -- i.e. to the
 * polygon on its east side, or, on an east-west edge, on its north side.
 * So in a clean coverage every point belongs to exactly one unit. */
size_t wg_pindex_query(const wg_pindex *ix, double x, double y, uint32_t *ids, size_t max);

/* The index cell of (x, y) (row-major, so ascending cells walk the index's
 * memory in order), or UINT32_MAX outside the grid or for NaN. */
uint32_t wg_pindex_cell(const wg_pindex *ix, double x, double y);

/* wg_pindex_query() for a point whose cell wg_pindex_cell() gave (not
 * UINT32_MAX): the same answer without finding the cell again. Sets
 * *uniform to 1 when every point of the cell has this answer (the cell lies
 * wholly inside each polygon listed for it and meets no edge), else 0. */
size_t wg_pindex_query_cell(const wg_pindex *ix, uint32_t cell, double x, double y, uint32_t *ids,
                            size_t max, int *uniform);

/* Exact test of one polygon (same rule). */
int wg_pindex_contains(const wg_pindex *ix, uint32_t id, double x, double y);

/* Distance in metres from (lon, lat) to the boundary of polygon `id`,
 * using a local equirectangular scale (accurate to well under 0.1% over the
 * few hundred metres this is used for). */
double wg_pindex_distance_m(const wg_pindex *ix, uint32_t id, double lon, double lat);

/* The bounding box of polygon `id`. */
void wg_pindex_bbox(const wg_pindex *ix, uint32_t id, double bb[4]);

size_t wg_pindex_memory(const wg_pindex *ix);

/* How many polygons the index holds. */
size_t wg_pindex_npoly(const wg_pindex *ix);

/* Serialises the index (flat arrays, native byte order: a cache for this
 * machine, not an exchange format). Returns 0 on success, -1 on a write
 * error. */
int wg_pindex_save(const wg_pindex *ix, FILE *fp);

/* An index over bytes saved by wg_pindex_save(), usually a memory mapping:
 * the arrays are not copied, so `base` must stay mapped until
 * wg_pindex_free(). Reads at `*off` (8-aligned) and advances it. Checks
 * every count, offset and id against the sizes (and the grid's and the
 * polygons' boxes for finite values), so a damaged file is refused (-1)
 * and can never make a query read out of bounds. Edge coordinates are not
 * checksummed: the file is the engine's own, written atomically. */
int wg_pindex_load(const unsigned char *base, size_t len, size_t *off, wg_pindex **out);

#endif
