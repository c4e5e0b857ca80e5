/* density.c -- kernel density ("heatmap") rasters, value for value as QGIS's
 * "Heatmap (Kernel Density Estimation)".
 *
 * Analysts check a command center's map against QGIS, so the numbers follow
 * QgsKernelDensityEstimation exactly: the same frame (data extent grown by
 * the radius, origin at its top-left corner, ceil(size/pixel)+1 pixels),
 * the same kernel square per point (2b+1 pixels), the same pixel-centre
 * arithmetic (including QGIS's habit of counting the distance row from the
 * bottom edge while placing it from the top), the same inclusion test
 * (sqrt(d2) <= r, reproduced bit for bit by comparing d2 with the largest
 * double whose square root is <= r) and the same constants.
 *
 * Where QGIS reads and rewrites a block of the GeoTIFF per point and calls
 * pow() and sqrt() per pixel, we stamp into memory:
 *  - per point, the squared x offsets of its kernel's columns are computed
 *    once (2b+1 values); a row of the kernel is then the span of columns
 *    whose d2 = dx2[j] + dy2 passes the test (moved from row to row by the
 *    exact test), and the kernel is a polynomial in d2, so the inner loop
 *    is a multiply-add, four pixels at a time, with no test, pow or sqrt
 *    (the triangular kernel alone needs sqrt(d2));
 *  - the raster is cut into bands of rows; points are counting-sorted by
 *    band of their kernel's first row, then west to east, so the points
 *    touching a band are two slices of the sorted arrays and consecutive
 *    stamps hit the same cache lines; threads take bands from a shared
 *    counter and each writes only its own band's rows: no locks, no
 *    per-thread copies of the raster.
 * Kernel values are computed in double and summed into a float raster,
 * rounding after each point as QGIS's float buffer does; memory is the
 * Float32 raster written out plus the points.
 *
 * This file is the kernel density core (rasters, kernels, stamping);
 * heatmap.c reads the points and writes the GeoTIFF and PNG. */
#define _DEFAULT_SOURCE /* madvise(MADV_HUGEPAGE) */
#include "density.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#define PI 3.14159265358979323846
#define MAX_PIXELS (1LL << 31)
#define MAX_KERNEL_PX 4096 /* radius/pixel beyond this is surely a unit mistake */

static const char *const KERNEL_NAMES[WG_KERNEL_COUNT] = {"quartic", "triangular", "uniform",
                                                          "triweight", "epanechnikov"};

const char *wg_kernel_name(wg_kernel kernel) {
    return (unsigned)kernel < WG_KERNEL_COUNT ? KERNEL_NAMES[kernel] : NULL;
}

wg_status wg_kernel_parse(const char *name, wg_kernel *out) {
    for (int i = 0; name && i < WG_KERNEL_COUNT; i++)
        if (!strcasecmp(name, KERNEL_NAMES[i])) {
            *out = (wg_kernel)i;
            return WG_OK;
        }
    return WG_ERR_INVALID_ARG;
}

/* ---- rasters ------------------------------------------------------------- */

wg_status wg_raster_create(wg_ctx *ctx, double xmin, double ymin, double xmax, double ymax,
                           double pixel, int epsg, wg_raster **out) {
    if (!isfinite(xmin) || !isfinite(ymin) || !isfinite(xmax) || !isfinite(ymax) ||
        xmax < xmin || ymax < ymin)
        return wg_err(ctx, WG_ERR_INVALID_ARG, "raster bounds (%g, %g, %g, %g) are not a box",
                      xmin, ymin, xmax, ymax);
    if (!isfinite(pixel) || pixel <= 0)
        return wg_err(ctx, WG_ERR_INVALID_ARG, "pixel size %g is not positive", pixel);
    /* QGIS: max(ceil(size / pixel) + 1, 1) */
    double fc = fmax(ceil((xmax - xmin) / pixel) + 1, 1.0);
    double fr = fmax(ceil((ymax - ymin) / pixel) + 1, 1.0);
    if (fc * fr > (double)MAX_PIXELS)
        return wg_err(ctx, WG_ERR_NOMEM, "a raster of %.0f x %.0f pixels is too large; use a "
                      "larger pixel or a smaller extent", fc, fr);
    wg_raster *r = calloc(1, sizeof *r);
    if (!r) return wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    r->cols = (int)fc, r->rows = (int)fr;
    r->xmin = xmin, r->ymin = ymin, r->xmax = xmax, r->ymax = ymax;
    r->pixel = pixel;
    r->epsg = epsg;
    size_t bytes = (size_t)r->cols * (size_t)r->rows * sizeof *r->v;
    r->v = calloc(1, bytes);
    if (!r->v) {
        free(r);
        return wg_err(ctx, WG_ERR_NOMEM, "out of memory for a raster of %.0f x %.0f pixels",
                      fc, fr);
    }
#ifdef MADV_HUGEPAGE
    /* A large calloc is fresh, untouched pages: asking for huge ones before
     * the first write saves the stamping threads most of their page faults. */
    const uintptr_t huge = 2u << 20;
    uintptr_t from = ((uintptr_t)r->v + huge - 1) & ~(huge - 1);
    uintptr_t to = ((uintptr_t)r->v + bytes) & ~(huge - 1);
    if (to > from) madvise((void *)from, to - from, MADV_HUGEPAGE);
#endif
    *out = r;
    return WG_OK;
}

void wg_raster_free(wg_raster *r) {
    if (!r) return;
    free(r->v);
    free(r);
}

/* ---- the kernel ---------------------------------------------------------- */

/* Everything a stamping thread needs, fixed for a run. */
typedef struct plan {
    wg_raster *r;
    double p, inv_p, radius, d2max, inv_r2;
    int b, span;     /* kernel half-size and side, pixels */
    int avx2;        /* the CPU has AVX2: use the 4-wide rows */
    wg_kernel kernel;
    double scale;    /* the constant of scaled output (1 for raw) */
    double tri_c1;   /* triangular: (1 - decay) / radius */
    /* Points counting-sorted by key = band(s) * ncolk + column key, where
     * s = kernel's first row + span - 1 (>= 0 for any kernel touching the
     * raster) and the column key = kernel's first column + span - 1: the
     * points of a band come out west to east, so consecutive stamps hit
     * the same cache lines. start[k] = first point with key k. */
    const double *x, *y, *w;
    size_t *start;
    long ncolk, nkeys;
    int band_rows, nbands, nsbands;
    atomic_int next_band, bands_done, stop;
} plan;

/* QGIS converts (offset from an edge / pixel - b) to unsigned int: a
 * truncation, so (-1, 0) gives 0, and (-1, 0) happens to the points within
 * a pixel of its extent's edge when b pixels reach past the radius. We do
 * the same for every point at least a radius inside the frame (all points,
 * in QGIS's frame); nearer the edge or beyond it (grids or box frames,
 * which QGIS has no equivalent of) we floor, which keeps the kernel where
 * the point is. */
static long qgis_index(double offset, const struct plan *pl) {
    double v = offset / pl->p - pl->b;
    if (v >= 0) return (long)v;
    /* 1e-9: x - (x0 - r) may round to just below r */
    if (v > -1 && offset >= pl->radius * (1 - 1e-9)) return 0;
    return (long)floor(v);
}

/* The kernel's first raster column and row, and the row index the distance
 * is counted with, for a point. */
typedef struct foot {
    long col0, row0, ycen0;
} foot;

static foot footprint(const plan *pl, double x, double y) {
    const wg_raster *r = pl->r;
    foot f;
    f.col0 = qgis_index(x - r->xmin, pl);
    f.row0 = qgis_index(r->ymax - y, pl);
    f.ycen0 = qgis_index(y - r->ymin, pl);
    return f;
}

/* The largest double whose square root is <= r: comparing d2 with it is
 * QGIS's `sqrt(d2) > r` test without the sqrt. */
static double d2_limit(double r) {
    double t = r * r;
    while (t > 0 && sqrt(t) > r) t = nextafter(t, 0);
    while (sqrt(nextafter(t, INFINITY)) <= r) t = nextafter(t, INFINITY);
    return t;
}

static double kernel_scale(const wg_kde_params *p) {
    if (!p->scaled) return 1.0;
    double a = PI * p->radius * p->radius;
    switch (p->kernel) {
    case WG_KERNEL_UNIFORM: return 1.0 / a;
    case WG_KERNEL_QUARTIC: return 3.0 / a;
    case WG_KERNEL_TRIWEIGHT: return 4.0 / a;
    case WG_KERNEL_EPANECHNIKOV: return 2.0 / a;
    case WG_KERNEL_TRIANGULAR: return p->decay >= 0 ? 3.0 / ((1.0 + 2.0 * p->decay) * a) : 1.0;
    default: return 1.0;
    }
}

/* One kernel row: o[j] = float(o[j] + wk * K(dx2[j] + dy2)) for j in [0, n),
 * the sum rounded to float after each point as QGIS's float buffer does,
 * the kernel itself in double. These are the innermost loops, written four
 * pixels at a time in GCC's vector extension and compiled twice: for any
 * x86-64 (SSE2) and for AVX2, chosen at run time. The polynomial kernels
 * are t (epanechnikov), t^2 (quartic), t^3 (triweight) with t = 1 - d2/r^2;
 * the triangular one needs d itself. No FMA: the sums round as written. */
typedef double v4d __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16)));

#define LOAD(v, p) memcpy(&(v), (p), sizeof(v))
#define STORE(p, v) memcpy((p), &(v), sizeof(v))

#define ROW_POLY(NAME, ATTR, TERM)                                                        \
    ATTR static void NAME(float *restrict o, const double *restrict dx2, long n,           \
                          double dy2, double inv_r2, double wk) {                          \
        long j = 0;                                                                       \
        const v4d one = {1, 1, 1, 1};                                                     \
        const v4d vdy2 = one * dy2, vinv = one * inv_r2, vwk = one * wk;                  \
        for (; j + 4 <= n; j += 4) {                                                      \
            v4d d;                                                                        \
            v4f of;                                                                       \
            LOAD(d, dx2 + j);                                                             \
            LOAD(of, o + j);                                                              \
            v4d t = one - (d + vdy2) * vinv;                                              \
            v4d acc = __builtin_convertvector(of, v4d) + vwk * (TERM);                    \
            of = __builtin_convertvector(acc, v4f);                                       \
            STORE(o + j, of);                                                             \
        }                                                                                 \
        for (; j < n; j++) {                                                              \
            double t = 1.0 - (dx2[j] + dy2) * inv_r2;                                     \
            o[j] = (float)((double)o[j] + wk * (TERM));                                   \
        }                                                                                 \
    }

#define ROW_UNIFORM(NAME, ATTR)                                                           \
    ATTR static void NAME(float *restrict o, long n, double wk) {                         \
        long j = 0;                                                                       \
        const v4d vwk = {wk, wk, wk, wk};                                                 \
        for (; j + 4 <= n; j += 4) {                                                      \
            v4f of;                                                                       \
            LOAD(of, o + j);                                                              \
            v4d acc = __builtin_convertvector(of, v4d) + vwk;                             \
            of = __builtin_convertvector(acc, v4f);                                       \
            STORE(o + j, of);                                                             \
        }                                                                                 \
        for (; j < n; j++) o[j] = (float)((double)o[j] + wk);                             \
    }

ROW_POLY(row_quartic, , t * t)
ROW_POLY(row_triweight, , t * t * t)
ROW_POLY(row_epanechnikov, , t)
ROW_UNIFORM(row_uniform, )

static void row_triangular(float *restrict o, const double *restrict dx2, long n, double dy2,
                           double c1, double wk) {
    for (long j = 0; j < n; j++)
        o[j] = (float)((double)o[j] + wk * (1.0 - c1 * __builtin_sqrt(dx2[j] + dy2)));
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX2_ROWS 1
#define AVX2 __attribute__((target("avx2")))

/* acc(4 floats at o) += wk * TERM(t), t = 1 - (dx2 + dy2) / r^2, in double */
#define AVX2_ROW_POLY(NAME, TERM)                                                         \
    AVX2 static void NAME(float *restrict o, const double *restrict dx2, long n,           \
                          double dy2, double inv_r2, double wk) {                          \
        long j = 0;                                                                       \
        const __m256d one = _mm256_set1_pd(1.0), vdy2 = _mm256_set1_pd(dy2),               \
                      vinv = _mm256_set1_pd(inv_r2), vwk = _mm256_set1_pd(wk);             \
        for (; j + 8 <= n; j += 8) {                                                      \
            __m256d t = _mm256_sub_pd(                                                    \
                one, _mm256_mul_pd(_mm256_add_pd(_mm256_loadu_pd(dx2 + j), vdy2), vinv));  \
            __m256d u = _mm256_sub_pd(                                                    \
                one, _mm256_mul_pd(_mm256_add_pd(_mm256_loadu_pd(dx2 + j + 4), vdy2), vinv)); \
            __m256d a = _mm256_add_pd(_mm256_cvtps_pd(_mm_loadu_ps(o + j)),               \
                                      _mm256_mul_pd(vwk, TERM(t)));                        \
            __m256d b = _mm256_add_pd(_mm256_cvtps_pd(_mm_loadu_ps(o + j + 4)),           \
                                      _mm256_mul_pd(vwk, TERM(u)));                        \
            _mm_storeu_ps(o + j, _mm256_cvtpd_ps(a));                                     \
            _mm_storeu_ps(o + j + 4, _mm256_cvtpd_ps(b));                                 \
        }                                                                                 \
        for (; j + 4 <= n; j += 4) {                                                      \
            __m256d t = _mm256_sub_pd(                                                    \
                one, _mm256_mul_pd(_mm256_add_pd(_mm256_loadu_pd(dx2 + j), vdy2), vinv));  \
            __m256d a = _mm256_add_pd(_mm256_cvtps_pd(_mm_loadu_ps(o + j)),               \
                                      _mm256_mul_pd(vwk, TERM(t)));                        \
            _mm_storeu_ps(o + j, _mm256_cvtpd_ps(a));                                     \
        }                                                                                 \
        for (; j < n; j++) {                                                              \
            double t = 1.0 - (dx2[j] + dy2) * inv_r2, v = 1;                              \
            for (int e = 0; e < POW_##TERM; e++) v *= t;                                  \
            o[j] = (float)((double)o[j] + wk * v);                                        \
        }                                                                                 \
    }
#define T1(t) (t)
#define T2(t) _mm256_mul_pd(t, t)
#define T3(t) _mm256_mul_pd(_mm256_mul_pd(t, t), t)
#define POW_T1 1
#define POW_T2 2
#define POW_T3 3
AVX2_ROW_POLY(row_quartic_avx2, T2)
AVX2_ROW_POLY(row_triweight_avx2, T3)
AVX2_ROW_POLY(row_epanechnikov_avx2, T1)

AVX2 static void row_uniform_avx2(float *restrict o, long n, double wk) {
    long j = 0;
    const __m256d vwk = _mm256_set1_pd(wk);
    for (; j + 4 <= n; j += 4)
        _mm_storeu_ps(o + j,
                      _mm256_cvtpd_ps(_mm256_add_pd(_mm256_cvtps_pd(_mm_loadu_ps(o + j)), vwk)));
    for (; j < n; j++) o[j] = (float)((double)o[j] + wk);
}

AVX2 static void row_triangular_avx2(float *restrict o, const double *restrict dx2, long n,
                                     double dy2, double c1, double wk) {
    long j = 0;
    const __m256d one = _mm256_set1_pd(1.0), vdy2 = _mm256_set1_pd(dy2),
                  vc1 = _mm256_set1_pd(c1), vwk = _mm256_set1_pd(wk);
    for (; j + 4 <= n; j += 4) {
        __m256d d = _mm256_sqrt_pd(_mm256_add_pd(_mm256_loadu_pd(dx2 + j), vdy2));
        __m256d v = _mm256_mul_pd(vwk, _mm256_sub_pd(one, _mm256_mul_pd(vc1, d)));
        __m256d acc = _mm256_add_pd(_mm256_cvtps_pd(_mm_loadu_ps(o + j)), v);
        _mm_storeu_ps(o + j, _mm256_cvtpd_ps(acc));
    }
    for (; j < n; j++)
        o[j] = (float)((double)o[j] + wk * (1.0 - c1 * __builtin_sqrt(dx2[j] + dy2)));
}
#endif

/* Stamps point (x, y, w) into rows [r0, r1) of the raster. */
static void stamp(const plan *pl, double *dx2, double x, double y, double w, long r0, long r1) {
    const wg_raster *r = pl->r;
    const double p = pl->p, d2max = pl->d2max;
    foot f = footprint(pl, x, y);
    long k0 = r0 - f.row0 > 0 ? r0 - f.row0 : 0;
    long k1 = r1 - f.row0 < pl->span ? r1 - f.row0 : pl->span; /* exclusive */
    long jlo = f.col0 < 0 ? -f.col0 : 0;
    long jhi = r->cols - f.col0 < pl->span ? r->cols - f.col0 : pl->span; /* exclusive */
    if (k0 >= k1 || jlo >= jhi) return;
    for (long j = jlo; j < jhi; j++) {
        double dx = ((double)(f.col0 + j) + 0.5) * p + r->xmin - x;
        dx2[j] = dx * dx;
    }
    const double jc = (x - r->xmin) * pl->inv_p - 0.5 - (double)f.col0; /* where dx = 0 */
    const double wk = w * pl->scale;
    /* The columns of row k passing the test form one interval [jl, jr]
     * (dx2 falls then rises along the row); dy2 falls then rises down the
     * kernel, so from one row to the next the interval only grows or only
     * shrinks: it is moved by the exact test, starting from a sqrt estimate
     * whenever the previous row had none. */
    long jl = 0, jr = -1;
    for (long k = k0; k < k1; k++) {
        double dy = ((double)(f.ycen0 + k) + 0.5) * p + r->ymin - y;
        double dy2 = dy * dy;
        if (dy2 > d2max) {
            jl = 0, jr = -1;
            continue;
        }
        if (jl > jr) { /* a superset from the estimate, then shrunk */
            double h = __builtin_sqrt(d2max - dy2) * pl->inv_p;
            jl = (long)(jc - h) - 1, jr = (long)(jc + h) + 2;
            if (jl < jlo) jl = jlo;
            if (jr > jhi - 1) jr = jhi - 1;
        } else {
            while (jl > jlo && dx2[jl - 1] + dy2 <= d2max) jl--;
            while (jr < jhi - 1 && dx2[jr + 1] + dy2 <= d2max) jr++;
        }
        while (jl <= jr && dx2[jl] + dy2 > d2max) jl++;
        while (jr >= jl && dx2[jr] + dy2 > d2max) jr--;
        if (jl > jr) continue;
        float *o = r->v + (size_t)(f.row0 + k) * (size_t)r->cols + (size_t)(f.col0 + jl);
        const double *d = dx2 + jl;
        long n = jr - jl + 1;
#ifdef HAVE_AVX2_ROWS
        if (pl->avx2) {
            switch (pl->kernel) {
            case WG_KERNEL_QUARTIC: row_quartic_avx2(o, d, n, dy2, pl->inv_r2, wk); break;
            case WG_KERNEL_TRIWEIGHT: row_triweight_avx2(o, d, n, dy2, pl->inv_r2, wk); break;
            case WG_KERNEL_EPANECHNIKOV: row_epanechnikov_avx2(o, d, n, dy2, pl->inv_r2, wk); break;
            case WG_KERNEL_UNIFORM: row_uniform_avx2(o, n, wk); break;
            case WG_KERNEL_TRIANGULAR: row_triangular_avx2(o, d, n, dy2, pl->tri_c1, wk); break;
            default: break;
            }
            continue;
        }
#endif
        switch (pl->kernel) {
        case WG_KERNEL_QUARTIC: row_quartic(o, d, n, dy2, pl->inv_r2, wk); break;
        case WG_KERNEL_TRIWEIGHT: row_triweight(o, d, n, dy2, pl->inv_r2, wk); break;
        case WG_KERNEL_EPANECHNIKOV: row_epanechnikov(o, d, n, dy2, pl->inv_r2, wk); break;
        case WG_KERNEL_UNIFORM: row_uniform(o, n, wk); break;
        case WG_KERNEL_TRIANGULAR: row_triangular(o, d, n, dy2, pl->tri_c1, wk); break;
        default: break;
        }
    }
}

typedef struct worker {
    plan *pl;
    wg_ctx *ctx; /* only the first worker (the calling thread) reports progress */
    double *dx2;
} worker;

static void *band_worker(void *arg) {
    worker *wk = arg;
    plan *pl = wk->pl;
    for (;;) {
        if (atomic_load(&pl->stop)) break;
        int b = atomic_fetch_add(&pl->next_band, 1);
        if (b >= pl->nbands) break;
        long r0 = (long)b * pl->band_rows;
        long r1 = r0 + pl->band_rows < pl->r->rows ? r0 + pl->band_rows : pl->r->rows;
        /* kernels starting in rows [r0 - span + 1, r1 - 1], i.e. s in [r0, r1 + span - 2]:
         * s-band b, and the first rows of s-band b + 1 (band_rows >= span) */
        for (int sb = b; sb <= b + 1 && sb < pl->nsbands; sb++) {
            size_t from = pl->start[(long)sb * pl->ncolk];
            size_t to = pl->start[(long)(sb + 1) * pl->ncolk];
            for (size_t i = from; i < to; i++)
                stamp(pl, wk->dx2, pl->x[i], pl->y[i], pl->w ? pl->w[i] : 1.0, r0, r1);
        }
        int done = atomic_fetch_add(&pl->bands_done, 1) + 1;
        if (wk->ctx && wg_progress(wk->ctx, "heatmap", (uint64_t)done, (uint64_t)pl->nbands))
            atomic_store(&pl->stop, 1);
    }
    return NULL;
}

static int cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

wg_status wg_kde_check(wg_ctx *ctx, const wg_kde_params *p) {
    if (!p) return wg_err(ctx, WG_ERR_INVALID_ARG, "no kernel parameters");
    if (!isfinite(p->radius) || p->radius <= 0)
        return wg_err(ctx, WG_ERR_INVALID_ARG, "radius %g is not positive", p->radius);
    if (!isfinite(p->pixel) || p->pixel <= 0)
        return wg_err(ctx, WG_ERR_INVALID_ARG, "pixel size %g is not positive", p->pixel);
    if (p->radius / p->pixel > MAX_KERNEL_PX)
        return wg_err(ctx, WG_ERR_INVALID_ARG, "radius %g is more than %d pixels of %g",
                      p->radius, MAX_KERNEL_PX, p->pixel);
    if ((unsigned)p->kernel >= WG_KERNEL_COUNT)
        return wg_err(ctx, WG_ERR_INVALID_ARG, "unknown kernel %d", (int)p->kernel);
    if (!isfinite(p->decay))
        return wg_err(ctx, WG_ERR_INVALID_ARG, "decay %g is not finite", p->decay);
    return WG_OK;
}

wg_status wg_kde_add(wg_ctx *ctx, wg_raster *r, const wg_kde_params *p, const double *x,
                     const double *y, const double *w, size_t n) {
    wg_status rc = wg_kde_check(ctx, p);
    if (rc) return rc;
    if (!r || fabs(r->pixel - p->pixel) > 1e-12 * p->pixel)
        return wg_err(ctx, WG_ERR_INVALID_ARG, "the raster's pixel size differs from %g", p->pixel);
    plan pl;
    memset(&pl, 0, sizeof pl);
    pl.r = r;
    pl.p = p->pixel;
    pl.inv_p = 1.0 / p->pixel;
#ifdef HAVE_AVX2_ROWS
    /* WG_NO_AVX2 forces the portable loops (the tests check both give the same bits) */
    pl.avx2 = __builtin_cpu_supports("avx2") && !getenv("WG_NO_AVX2");
#endif
    pl.radius = p->radius;
    /* QGIS's radiusSizeInPixels: the remainder is compared with half a CRS unit */
    pl.b = (int)(p->radius / p->pixel);
    if (p->radius - p->pixel * pl.b > 0.5) pl.b++;
    pl.span = 2 * pl.b + 1;
    pl.d2max = d2_limit(p->radius);
    pl.inv_r2 = 1.0 / (p->radius * p->radius);
    pl.kernel = p->kernel;
    pl.scale = kernel_scale(p);
    pl.tri_c1 = (1.0 - p->decay) / p->radius;
    /* Bands of a few kernels' height: a band's points, west to east, keep a
     * working set of band_rows x ~span pixels in cache. */
    pl.band_rows = 2 * pl.span > 32 ? 2 * pl.span : 32;
    pl.nbands = (int)((r->rows + pl.band_rows - 1) / pl.band_rows);
    pl.nsbands = (int)((r->rows + pl.span - 1 + pl.band_rows - 1) / pl.band_rows);
    pl.ncolk = (long)r->cols + pl.span - 1;
    pl.nkeys = (long)pl.nsbands * pl.ncolk;

    /* Counting sort by (band, column) key (see plan), dropping points whose
     * kernel misses the raster. */
    size_t *start = calloc((size_t)pl.nkeys + 1, sizeof *start);
    uint32_t *key = malloc((n ? n : 1) * sizeof *key);
    double *sx = NULL, *sy = NULL, *sw = NULL;
    worker *wk = NULL;
    pthread_t *tid = NULL;
    if (!start || !key) {
        rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory sorting %zu points", n);
        goto done;
    }
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        key[i] = UINT32_MAX;
        double wi = w ? w[i] : 1.0;
        if (!isfinite(x[i]) || !isfinite(y[i]) || !isfinite(wi) || wi == 0) continue;
        /* far-away points: keep the index arithmetic in range */
        if (fabs((x[i] - r->xmin) / pl.p) > 1e15 || fabs((y[i] - r->ymin) / pl.p) > 1e15) continue;
        foot f = footprint(&pl, x[i], y[i]);
        if (f.col0 + pl.span <= 0 || f.col0 >= r->cols || f.row0 + pl.span <= 0 ||
            f.row0 >= r->rows)
            continue;
        long band = (f.row0 + pl.span - 1) / pl.band_rows;
        key[i] = (uint32_t)(band * pl.ncolk + f.col0 + pl.span - 1);
        start[key[i] + 1]++;
        kept++;
    }
    for (long k = 0; k < pl.nkeys; k++) start[k + 1] += start[k];
    sx = malloc((kept ? kept : 1) * sizeof *sx);
    sy = malloc((kept ? kept : 1) * sizeof *sy);
    sw = w ? malloc((kept ? kept : 1) * sizeof *sw) : NULL;
    if (!sx || !sy || (w && !sw)) {
        rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory sorting %zu points", n);
        goto done;
    }
    {
        size_t *fill = malloc((size_t)pl.nkeys * sizeof *fill);
        if (!fill) {
            rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory sorting %zu points", n);
            goto done;
        }
        memcpy(fill, start, (size_t)pl.nkeys * sizeof *fill);
        for (size_t i = 0; i < n; i++) {
            if (key[i] == UINT32_MAX) continue;
            size_t at = fill[key[i]]++;
            sx[at] = x[i], sy[at] = y[i];
            if (sw) sw[at] = w[i];
        }
        free(fill);
    }
    free(key);
    key = NULL;
    pl.x = sx, pl.y = sy, pl.w = sw;
    pl.start = start;

    int nt = p->threads > 0 ? p->threads : cpu_count();
    if (nt > pl.nbands) nt = pl.nbands;
    if (nt < 1) nt = 1;
    wk = calloc((size_t)nt, sizeof *wk);
    tid = calloc((size_t)nt, sizeof *tid);
    if (!wk || !tid) {
        rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int t = 0; t < nt; t++) {
        wk[t].pl = &pl;
        wk[t].ctx = t == 0 ? ctx : NULL;
        if (!(wk[t].dx2 = malloc((size_t)pl.span * sizeof *wk[t].dx2))) {
            rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory");
            goto done;
        }
    }
    int started = 1;
    for (int t = 1; t < nt; t++, started++)
        if (pthread_create(&tid[t], NULL, band_worker, &wk[t]) != 0) break; /* fewer threads */
    band_worker(&wk[0]);
    for (int t = 1; t < started; t++) pthread_join(tid[t], NULL);
    if (atomic_load(&pl.stop)) rc = wg_err(ctx, WG_ERR_INTERRUPTED, "heatmap interrupted");

done:
    if (wk)
        for (int t = 0; t < nt; t++) free(wk[t].dx2);
    free(wk);
    free(tid);
    free(key);
    free(start);
    free(sx);
    free(sy);
    free(sw);
    return rc;
}
