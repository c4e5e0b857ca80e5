/* gridxf.h -- the workspace's CRS transformation over a rectangle, sampled
 * on a lattice and interpolated (gridxf.c). */
#ifndef WG_GRIDXF_H
#define WG_GRIDXF_H

#include "workspace.h"

typedef struct wg_gridxf {
    wg_ws *ws;
    int inverse, exact; /* exact: PROJ on every point */
    double x0, y0, step, istep; /* istep = 1 / step: a product per point, not a quotient */
    uint32_t nx, ny;
    double *v; /* nx * ny output pairs; node (i, j) at x0 + (i - 1) step, y0 + (j - 1) step */
    double *c; /* 12 coefficients a node (gridxf.c) */
} wg_gridxf;

/* Prepares the transformation of points inside (x0, y0)-(x1, y1): lon/lat
 * to the metric CRS, or back with `inverse`; `step` is the lattice spacing
 * in input units, `npts` about how many points will be transformed (when
 * the lattice would cost as much, every point goes through PROJ). Free
 * with wg_gridxf_free(), also after a failure. */
wg_status wg_gridxf_make(wg_ws *ws, int inverse, double x0, double y0, double x1, double y1,
                         double step, size_t npts, wg_gridxf *g);

/* Transforms n interleaved x, y pairs in place (points outside the
 * rectangle go through PROJ). */
wg_status wg_gridxf_apply(const wg_gridxf *g, double *xy, size_t n);
/* The same from `in` to `out` (n pairs each, not overlapping), on
 * `threads` threads (0: one per CPU for large n; the same output for any
 * number): the lattice's interpolation in parts, PROJ on the calling
 * thread for all when a point lies outside it. */
wg_status wg_gridxf_apply_to(const wg_gridxf *g, const double *in, double *out, size_t n,
                             int threads);
void wg_gridxf_free(wg_gridxf *g);

#endif
