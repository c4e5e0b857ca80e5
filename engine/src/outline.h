/* outline.h -- the polygons of a thresholded raster window (outline.c). */
#ifndef WG_OUTLINE_H
#define WG_OUTLINE_H

#include "ctx.h"

#include <stddef.h>
#include <stdint.h>

/* The outline of the cells of a w x h window whose value is <= T: one
 * polygon per 4-connected set of such cells (cells touching at a corner
 * only are separate polygons, as GDALPolygonize's default), each a shell
 * and its holes. Corners are integer (X, Y), X = 0..w to the east, Y =
 * 0..h down the rows (row 0 on top); cell (x, y) spans corners x..x+1,
 * y..y+1. Rings are closed (the first corner repeated at the end), simple,
 * with the inside on their left in the usual y-up orientation (shells
 * counter-clockwise, holes clockwise); a shell and a hole, or two holes,
 * may touch at one corner (a valid OGC polygon). */
typedef struct wg_outline {
    int32_t *xy;   /* corners of all rings back to back, (X, Y) pairs */
    size_t nxy;    /* corners in xy */
    size_t *ring;  /* ring k: corners [ring[k], ring[k + 1]); nrings + 1 entries */
    size_t nrings;
    size_t *poly;  /* polygon j: rings [poly[j], poly[j + 1]), the shell first */
    size_t npolys;
    int64_t cells; /* the cells inside */
    /* private working space, kept between calls */
    size_t xycap, ringcap, polycap;
    void *work;
} wg_outline;

/* Traces the cells with t[y * stride + x] <= T (0 <= x < w, 0 <= y < h).
 * every_corner = 1 gives a corner at every cell corner along the rings
 * (needed when the outline is bent by a map projection afterwards and
 * contours sharing a stretch must keep the same vertices); 0 gives only the
 * corners where a ring turns. Time and memory linear in the window's rows
 * plus runs of inside cells plus the outline's length (one pass over the
 * window's cells). Returns 0, or -1 when out of memory (the outline is then
 * empty). o must be zeroed before its first use and freed with
 * wg_outline_free(); it can be reused. */
int wg_outline_trace(const uint32_t *t, size_t stride, uint32_t w, uint32_t h, uint32_t T,
                     int every_corner, wg_outline *o);
void wg_outline_free(wg_outline *o);

/* Polygon j of o as a new GEOS polygon (free with GEOSGeom_destroy_r),
 * corner (X, Y) placed at (x0 + X * cell, y1 - Y * cell); NULL when GEOS
 * fails or memory runs out. */
GEOSGeometry *wg_outline_polygon(GEOSContextHandle_t h, const wg_outline *o, size_t j, double x0,
                                 double y1, double cell);

#endif
