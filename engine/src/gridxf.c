/* gridxf.c -- a CRS transformation sampled on a lattice and interpolated.
 *
 * Why: PROJ's Gauss-Kruger takes about 0.27 us a point here, and a
 * county's 30-minute service area has ~800,000 road points to project and
 * ~500,000 outline corners to bring back to lon/lat: 350 ms of the 100 ms
 * budget. The map is smooth at this scale, so PROJ runs on a lattice of
 * nodes (every 500 m: ~10,000 nodes for a 45 km square) and every point
 * takes the quadratic of its nearest node (its value, slopes and
 * curvatures from the 3 x 3 nodes around it; ~12 multiply-adds a point).
 * Bilinear interpolation between nodes 480 m apart was 3 mm off on
 * EPSG:4549; the quadratic's error is of third order. It is measured when the
 * lattice is made, against PROJ at points between the nodes; above
 * TOL_LL degrees (inverse) or TOL_M metres (forward), or when the
 * lattice would cost as much as the points themselves, every point goes
 * through PROJ instead. The same input always gives the same output, so
 * outlines that share corners still share them after the transform. */
#include "gridxf.h"
#include "par.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TOL_LL 1e-10 /* degrees, about 10 um */
#define TOL_M 1e-5   /* metres */

void wg_gridxf_free(wg_gridxf *g) {
    if (!g) return;
    free(g->v), free(g->c);
    memset(g, 0, sizeof *g);
}

/* The quadratic of every inner node, from its 3 x 3 neighbours (central
 * differences), in node units: f(i + du, j + dv) ~ c0 + c1 du + c2 dv +
 * c3 du² + c4 du dv + c5 dv², for each output coordinate. */
static void coefficients(wg_gridxf *g) {
    const size_t nx = g->nx;
    for (size_t j = 1; j + 1 < g->ny; j++)
        for (size_t i = 1; i + 1 < nx; i++)
            for (int o = 0; o < 2; o++) {
#define F(a, b) g->v[2 * ((j + (b)) * nx + i + (a)) + o]
                double *c = g->c + 12 * (j * nx + i) + 6 * o;
                c[0] = F(0, 0);
                c[1] = 0.5 * (F(1, 0) - F(-1, 0));
                c[2] = 0.5 * (F(0, 1) - F(0, -1));
                c[3] = 0.5 * (F(1, 0) - 2 * F(0, 0) + F(-1, 0));
                c[4] = 0.25 * (F(1, 1) - F(1, -1) - F(-1, 1) + F(-1, -1));
                c[5] = 0.5 * (F(0, 1) - 2 * F(0, 0) + F(0, -1));
#undef F
            }
}

/* The node nearest to (x, y) and the offsets from it; 0 outside. */
static int node_of(const wg_gridxf *g, double x, double y, size_t *k, double *du, double *dv) {
    double u = (x - g->x0) * g->istep + 1, v = (y - g->y0) * g->istep + 1;
    if (!(u >= 0.5 && v >= 0.5 && u + 1.5 < g->nx && v + 1.5 < g->ny)) return 0;
    double fu = (double)(long long)(u + 0.5), fv = (double)(long long)(v + 0.5); /* floor, > 0 */
    if (!(fu >= 1 && fv >= 1 && fu + 1 < g->nx && fv + 1 < g->ny)) return 0;
    *k = (size_t)fv * g->nx + (size_t)fu, *du = u - fu, *dv = v - fv;
    return 1;
}

/* Interpolates one point; returns 0 outside the lattice. */
static int interp(const wg_gridxf *g, double x, double y, double *ox, double *oy) {
    size_t k;
    double du, dv;
    if (!node_of(g, x, y, &k, &du, &dv)) return 0;
    const double *c = g->c + 12 * k;
    *ox = c[0] + du * (c[1] + c[3] * du + c[4] * dv) + dv * (c[2] + c[5] * dv);
    *oy = c[6] + du * (c[7] + c[9] * du + c[10] * dv) + dv * (c[8] + c[11] * dv);
    return 1;
}

wg_status wg_gridxf_make(wg_ws *ws, int inverse, double x0, double y0, double x1, double y1,
                         double step, size_t npts, wg_gridxf *g) {
    memset(g, 0, sizeof *g);
    g->ws = ws, g->inverse = inverse, g->exact = 1;
    if (!(step > 0) || !(x1 >= x0) || !(y1 >= y0) || !isfinite(x1 - x0) || !isfinite(y1 - y0))
        return WG_OK;
    double nx = ceil((x1 - x0) / step) + 4, ny = ceil((y1 - y0) / step) + 4;
    if (nx * ny > 0.5 * (double)npts || nx * ny > 1e7) return WG_OK; /* not worth it */
    g->x0 = x0, g->y0 = y0, g->step = step, g->istep = 1 / step;
    g->nx = (uint32_t)nx, g->ny = (uint32_t)ny;
    size_t n = (size_t)g->nx * g->ny;
    if (!(g->v = malloc(2 * n * sizeof *g->v)))
        return wg_err(ws->ctx, WG_ERR_NOMEM, "out of memory for a transformation lattice");
    for (uint32_t j = 0; j < g->ny; j++)
        for (uint32_t i = 0; i < g->nx; i++) {
            g->v[2 * ((size_t)j * g->nx + i)] = x0 + ((double)i - 1) * step;
            g->v[2 * ((size_t)j * g->nx + i) + 1] = y0 + ((double)j - 1) * step;
        }
    wg_status rc = wg_ws_metric_xy(ws, inverse, g->v, n);
    if (rc) {
        wg_gridxf_free(g);
        return rc;
    }
    if (!(g->c = malloc(12 * n * sizeof *g->c))) {
        wg_gridxf_free(g);
        return wg_err(ws->ctx, WG_ERR_NOMEM, "out of memory for a transformation lattice");
    }
    coefficients(g);
    /* the error between the nodes, against PROJ, over the whole rectangle */
    enum { K = 7 };
    double pt[2 * K * K], ex[2 * K * K];
    for (int b = 0; b < K; b++)
        for (int a = 0; a < K; a++) {
            /* fractions of the rectangle, off the nodes (near the middle of a square) */
            double fx = (a + 0.37) / K, fy = (b + 0.61) / K;
            pt[2 * (b * K + a)] = x0 + fx * (x1 - x0) + 0.5 * step * (a % 2);
            pt[2 * (b * K + a) + 1] = y0 + fy * (y1 - y0) + 0.5 * step * (b % 2);
            if (pt[2 * (b * K + a)] > x1) pt[2 * (b * K + a)] = x1;
            if (pt[2 * (b * K + a) + 1] > y1) pt[2 * (b * K + a) + 1] = y1;
        }
    memcpy(ex, pt, sizeof ex);
    if ((rc = wg_ws_metric_xy(ws, inverse, ex, K * K))) {
        wg_gridxf_free(g);
        return rc;
    }
    double tol = inverse ? TOL_LL : TOL_M, worst = 0;
    for (int k = 0; k < K * K; k++) {
        double ix, iy;
        if (!interp(g, pt[2 * k], pt[2 * k + 1], &ix, &iy)) worst = HUGE_VAL;
        else {
            double e = fmax(fabs(ix - ex[2 * k]), fabs(iy - ex[2 * k + 1]));
            if (!(e <= worst)) worst = e;
        }
    }
    if (worst <= tol) g->exact = 0;
    else free(g->v), free(g->c), g->v = g->c = NULL;
    return WG_OK;
}

static int within(const wg_gridxf *g, double x, double y) {
    size_t k;
    double du, dv;
    return node_of(g, x, y, &k, &du, &dv);
}

wg_status wg_gridxf_apply(const wg_gridxf *g, double *xy, size_t n) {
    if (g->exact) return wg_ws_metric_xy(g->ws, g->inverse, xy, n);
    for (size_t i = 0; i < n; i++) /* a point outside the lattice: PROJ for all */
        if (!within(g, xy[2 * i], xy[2 * i + 1])) return wg_ws_metric_xy(g->ws, g->inverse, xy, n);
    for (size_t i = 0; i < n; i++) interp(g, xy[2 * i], xy[2 * i + 1], &xy[2 * i], &xy[2 * i + 1]);
    return WG_OK;
}

typedef struct xf_job {
    const wg_gridxf *g;
    const double *in;
    double *out;
    size_t n;
    int outside[WG_PAR_MAX]; /* a part met a point outside the lattice */
} xf_job;

static void xf_part(void *arg, int k, int nparts) {
    xf_job *j = arg;
    size_t lo, hi;
    wg_par_range(j->n, k, nparts, &lo, &hi);
    for (size_t i = lo; i < hi; i++)
        if (!interp(j->g, j->in[2 * i], j->in[2 * i + 1], &j->out[2 * i], &j->out[2 * i + 1])) {
            j->outside[k] = 1;
            return;
        }
}

wg_status wg_gridxf_apply_to(const wg_gridxf *g, const double *in, double *out, size_t n,
                             int threads) {
    if (!n) return WG_OK;
    if (!g->exact) {
        /* interpolation only in the parts: PROJ's context is one thread's */
        xf_job j = {g, in, out, n, {0}};
        int nparts = threads <= 0 && n < 65536 ? 1 : wg_par_parts(threads), outside = 0;
        wg_par_run(nparts, xf_part, &j);
        for (int k = 0; k < nparts; k++) outside |= j.outside[k];
        if (!outside) return WG_OK;
    }
    memcpy(out, in, 2 * n * sizeof *in); /* PROJ for all (a point outside the lattice) */
    return wg_ws_metric_xy(g->ws, g->inverse, out, n);
}
