/* test_density.c -- heatmaps: the frame QGIS would make, kernels that
 * integrate to the total weight when scaled, a lone point's symmetry, equality
 * with a naive per-pixel sum written here, thread-count independence, and the
 * files: a GeoTIFF GDAL reopens with the right CRS, frame and nodata, a PNG
 * of the raster's size with alpha 0 where the density is 0, its world file
 * and legend; an empty time window gives an all-zero raster, not an error. */
#include "testutil.h"

#include "ogrio.h"

static const wg_kernel KERNELS[] = {WG_KERNEL_QUARTIC, WG_KERNEL_TRIANGULAR, WG_KERNEL_UNIFORM,
                                    WG_KERNEL_TRIWEIGHT, WG_KERNEL_EPANECHNIKOV};
#define NK 5
#define PI_ 3.14159265358979323846

static wg_kde_params params(wg_kernel k, double radius, double pixel, int scaled) {
    wg_kde_params p;
    memset(&p, 0, sizeof p);
    p.kernel = k, p.radius = radius, p.pixel = pixel, p.scaled = scaled;
    return p;
}

/* A deterministic uniform in [0, 1). */
static double rnd(unsigned long long *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / 9007199254740992.0;
}

static double sum(const wg_raster *r) {
    double s = 0; /* in double: the raster's floats summed exactly enough */
    for (size_t i = 0; i < (size_t)r->cols * (size_t)r->rows; i++) s += r->v[i];
    return s;
}

static double at(const wg_raster *r, int row, int col) {
    return r->v[(size_t)row * (size_t)r->cols + (size_t)col];
}

static void test_names(void) {
    wg_kernel k;
    for (int i = 0; i < NK; i++) {
        CHECK(wg_kernel_parse(wg_kernel_name(KERNELS[i]), &k) == WG_OK && k == KERNELS[i]);
    }
    CHECK(wg_kernel_parse("Epanechnikov", &k) == WG_OK && k == WG_KERNEL_EPANECHNIKOV);
    CHECK(wg_kernel_parse("gaussian", &k) == WG_ERR_INVALID_ARG);
    CHECK(wg_kernel_name((wg_kernel)99) == NULL);
    /* QGIS's KERNEL parameter numbering */
    CHECK(WG_KERNEL_QUARTIC == 0 && WG_KERNEL_TRIANGULAR == 1 && WG_KERNEL_UNIFORM == 2 &&
          WG_KERNEL_TRIWEIGHT == 3 && WG_KERNEL_EPANECHNIKOV == 4);
}

/* QGIS: origin at (xmin, ymax), ceil(size / pixel) + 1 columns and rows. */
static void test_frame(wg_ctx *ctx) {
    wg_raster *r = NULL;
    CHECK_OK(ctx, wg_raster_create(ctx, 100, 200, 195, 240, 10, 4549, &r));
    if (r) {
        CHECK(r->cols == 11 && r->rows == 5);
        CHECK(r->xmin == 100 && r->ymax == 240 && r->pixel == 10 && r->epsg == 4549);
        CHECK(sum(r) == 0);
    }
    wg_raster_free(r);
    r = NULL;
    CHECK_OK(ctx, wg_raster_create(ctx, 0, 0, 100, 50, 10, 0, &r)); /* exact multiples: +1 still */
    if (r) CHECK(r->cols == 11 && r->rows == 6);
    wg_raster_free(r);
    r = NULL;
    CHECK_OK(ctx, wg_raster_create(ctx, 5, 5, 5, 5, 10, 0, &r)); /* a single point */
    if (r) CHECK(r->cols == 1 && r->rows == 1);
    wg_raster_free(r);
    wg_raster_free(NULL);
    CHECK(wg_raster_create(ctx, 0, 0, 10, 10, 0, 0, &r) == WG_ERR_INVALID_ARG);
    CHECK(wg_raster_create(ctx, 10, 0, 0, 10, 1, 0, &r) == WG_ERR_INVALID_ARG);
    CHECK(wg_raster_create(ctx, 0, 0, NAN, 10, 1, 0, &r) == WG_ERR_INVALID_ARG);
    CHECK(wg_raster_create(ctx, 0, 0, 1e7, 1e7, 0.01, 0, &r) == WG_ERR_NOMEM);
}

/* A lone point framed as QGIS frames it (its extent grown by the radius)
 * sits on a pixel corner; one placed at a pixel centre (where QGIS's row
 * rule keeps it in place) is the centre of a mirror-symmetric kernel. */
static void test_symmetry(wg_ctx *ctx) {
    for (int k = 0; k < NK; k++) {
        wg_kde_params p = params(KERNELS[k], 200, 10, 1);
        if (KERNELS[k] == WG_KERNEL_TRIANGULAR) p.decay = 0.25;
        double x = 1000, y = 2000;
        wg_raster *r = NULL;
        CHECK_OK(ctx, wg_raster_create(ctx, x - 200, y - 200, x + 200, y + 200, 10, 0, &r));
        if (!r) continue;
        CHECK(r->cols == 41 && r->rows == 41);
        CHECK_OK(ctx, wg_kde_add(ctx, r, &p, &x, &y, NULL, 1));
        double worst = 0, peak = at(r, 19, 19);
        for (int i = 0; i < 40; i++)
            for (int j = 0; j < 40; j++) {
                double v = at(r, i, j);
                worst = fmax(worst, fabs(v - at(r, i, 39 - j)));
                worst = fmax(worst, fabs(v - at(r, 39 - i, j)));
                worst = fmax(worst, fabs(v - at(r, j, i)));
                CHECK(v <= peak);
            }
        for (int i = 0; i < 41; i++) CHECK(at(r, 40, i) == 0 && at(r, i, 40) == 0);
        CHECK(worst <= 1e-15 * peak);
        CHECK(peak > 0 && at(r, 19, 20) == peak && at(r, 20, 20) == peak);
        wg_raster_free(r);

        /* at the centre of pixel (20, 20) of a frame [0, 400] x [0, 400] */
        r = NULL;
        x = 205, y = 195;
        CHECK_OK(ctx, wg_raster_create(ctx, 0, 0, 400, 400, 10, 0, &r));
        if (!r) continue;
        CHECK_OK(ctx, wg_kde_add(ctx, r, &p, &x, &y, NULL, 1));
        worst = 0;
        peak = at(r, 20, 20);
        for (int i = -20; i <= 20; i++)
            for (int j = -20; j <= 20; j++) {
                double v = at(r, 20 + i, 20 + j);
                worst = fmax(worst, fabs(v - at(r, 20 - i, 20 + j)));
                worst = fmax(worst, fabs(v - at(r, 20 + i, 20 - j)));
                worst = fmax(worst, fabs(v - at(r, 20 + j, 20 + i)));
            }
        CHECK(worst <= 1e-15 * peak);
        /* the centre holds the kernel's peak: scaled constant times K(0) */
        double c = KERNELS[k] == WG_KERNEL_UNIFORM        ? 1 / (PI_ * 200 * 200)
                   : KERNELS[k] == WG_KERNEL_QUARTIC      ? 3 / (PI_ * 200 * 200)
                   : KERNELS[k] == WG_KERNEL_TRIWEIGHT    ? 4 / (PI_ * 200 * 200)
                   : KERNELS[k] == WG_KERNEL_EPANECHNIKOV ? 2 / (PI_ * 200 * 200)
                                                          : 3 / (1.5 * PI_ * 200 * 200);
        CHECK_NEAR(peak, c, 1e-7 * c); /* float32 */
        /* on the radius: uniform and triangular with decay keep a value, others reach 0 */
        double edge = at(r, 20, 40); /* d = 200 exactly */
        if (KERNELS[k] == WG_KERNEL_UNIFORM) CHECK_NEAR(edge, c, 1e-7 * c);
        else if (KERNELS[k] == WG_KERNEL_TRIANGULAR) CHECK_NEAR(edge, 0.25 * c, 1e-7 * c);
        else CHECK(fabs(edge) <= 1e-15 * c);
        CHECK(at(r, 20, 41) == 0); /* d = 210 > radius */
        wg_raster_free(r);
    }
}

/* Scaled values integrate to the total weight, within discretisation. */
static void test_integral(wg_ctx *ctx) {
    unsigned long long s = 7;
    enum { N = 40 };
    double x[N], y[N], w[N], total = 0;
    for (int i = 0; i < N; i++) {
        x[i] = 5000 + 3000 * rnd(&s);
        y[i] = 7000 + 2000 * rnd(&s);
        w[i] = 0.5 + 2 * rnd(&s);
        total += w[i];
    }
    for (int k = 0; k < NK; k++)
        for (int d = 0; d < 2; d++) {
            if (d && KERNELS[k] != WG_KERNEL_TRIANGULAR) continue;
            wg_kde_params p = params(KERNELS[k], 200, 10, 1);
            p.decay = d ? 0.4 : 0;
            wg_raster *r = NULL;
            CHECK_OK(ctx, wg_raster_create(ctx, 4700, 6700, 8300, 9300, 10, 0, &r));
            if (!r) continue;
            CHECK_OK(ctx, wg_kde_add(ctx, r, &p, x, y, w, N));
            double integral = sum(r) * 100;
            /* the uniform kernel's disc edge costs most: ~0.2% for 20-pixel radii */
            double tol = KERNELS[k] == WG_KERNEL_UNIFORM || d ? 4e-3 : 1e-3;
            if (fabs(integral / total - 1) > tol)
                fprintf(stderr, "%s decay %g: integral %.6f, weights %.6f\n",
                        wg_kernel_name(KERNELS[k]), p.decay, integral, total);
            CHECK(fabs(integral / total - 1) <= tol);
            /* raw values: scaled ones divided by the kernel's constant */
            wg_kde_params praw = p;
            praw.scaled = 0;
            wg_raster *raw = NULL;
            CHECK_OK(ctx, wg_raster_create(ctx, 4700, 6700, 8300, 9300, 10, 0, &raw));
            CHECK_OK(ctx, wg_kde_add(ctx, raw, &praw, x, y, w, N));
            double c = KERNELS[k] == WG_KERNEL_UNIFORM        ? 1
                       : KERNELS[k] == WG_KERNEL_QUARTIC      ? 3
                       : KERNELS[k] == WG_KERNEL_TRIWEIGHT    ? 4
                       : KERNELS[k] == WG_KERNEL_EPANECHNIKOV ? 2
                                                              : 3 / (1 + 2 * p.decay);
            c /= PI_ * 200 * 200;
            CHECK_NEAR(sum(r), c * sum(raw), 1e-6 * sum(r)); /* float32 sums */
            wg_raster_free(raw);
            wg_raster_free(r);
        }
}

/* ---- the oracle ------------------------------------------------------------ */

/* QGIS's kernels from their formulas, with pow() as QGIS writes them. */
static double kernel_value(wg_kernel k, double d, double r, double decay, int scaled) {
    switch (k) {
    case WG_KERNEL_UNIFORM: return scaled ? 2. / (PI_ * r) * (0.5 / r) : 1.0;
    case WG_KERNEL_QUARTIC:
        return (scaled ? 16. / (5. * PI_ * pow(r, 2)) * (15. / 16.) : 1.0) *
               pow(1. - pow(d / r, 2), 2);
    case WG_KERNEL_TRIWEIGHT:
        return (scaled ? 128. / (35. * PI_ * pow(r, 2)) * (35. / 32.) : 1.0) *
               pow(1. - pow(d / r, 2), 3);
    case WG_KERNEL_EPANECHNIKOV:
        return (scaled ? 8. / (3. * PI_ * pow(r, 2)) * (3. / 4.) : 1.0) * (1. - pow(d / r, 2));
    case WG_KERNEL_TRIANGULAR:
        return (scaled && decay >= 0 ? 3. / ((1. + 2. * decay) * PI_ * pow(r, 2)) : 1.0) *
               (1. - (1. - decay) * (d / r));
    default: return 0;
    }
}

/* Per pixel, the sum over every point: a pixel (row, col) gets a point's
 * kernel if it lies in the point's square of 2b+1 pixels and its centre is
 * within the radius of the point's effective position (x, y'), y' being
 * QGIS's row placement (see wg_kde_add). Points are in QGIS's frame (their
 * extent grown by the radius). */
static void naive(const wg_raster *fr, const wg_kde_params *p, const double *x, const double *y,
                  const double *w, size_t n, double *out) {
    int b = (int)(p->radius / p->pixel);
    if (p->radius - b * p->pixel > 0.5) b++;
    for (int row = 0; row < fr->rows; row++)
        for (int col = 0; col < fr->cols; col++) {
            double xc = fr->xmin + (col + 0.5) * p->pixel;
            double yc = fr->ymax - (row + 0.5) * p->pixel;
            double v = 0;
            for (size_t i = 0; i < n; i++) {
                /* QGIS's (unsigned int) casts */
                double col0 = trunc((x[i] - fr->xmin) / p->pixel - b);
                double row0 = trunc((fr->ymax - y[i]) / p->pixel - b);
                double ycen0 = trunc((y[i] - fr->ymin) / p->pixel - b);
                if (col < col0 || col > col0 + 2 * b || row < row0 || row > row0 + 2 * b) continue;
                double ye = fr->ymin + fr->ymax - y[i] + (ycen0 - row0) * p->pixel;
                double d = sqrt(pow(xc - x[i], 2) + pow(yc - ye, 2));
                if (d > p->radius) continue;
                v += (w ? w[i] : 1.0) * kernel_value(p->kernel, d, p->radius, p->decay, p->scaled);
            }
            out[(size_t)row * (size_t)fr->cols + (size_t)col] = v;
        }
}

static void test_oracle(wg_ctx *ctx) {
    unsigned long long s = 12345;
    enum { N = 150 };
    double x[N], y[N], w[N];
    struct {
        double radius, pixel, decay;
    } cases[] = {{57.3, 4.1, 0}, {30, 5, 0.5}, {12.3, 1.7, -0.5}, {25.6, 2.5, 0}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double bx0 = INFINITY, by0 = INFINITY, bx1 = -INFINITY, by1 = -INFINITY;
        for (int i = 0; i < N; i++) {
            /* clustered, as incidents are */
            double cx = i % 3 ? 300 : 700, cy = i % 2 ? 250 : 400;
            x[i] = cx + 250 * (rnd(&s) - 0.5) * (1 + i % 4);
            y[i] = cy + 180 * (rnd(&s) - 0.5) * (1 + i % 5);
            w[i] = i % 7 == 0 ? 0 : 0.25 + 3 * rnd(&s);
            bx0 = fmin(bx0, x[i]), by0 = fmin(by0, y[i]);
            bx1 = fmax(bx1, x[i]), by1 = fmax(by1, y[i]);
        }
        double R = cases[c].radius;
        for (int k = 0; k < NK; k++)
            for (int scaled = 0; scaled < 2; scaled++) {
                wg_kde_params p = params(KERNELS[k], R, cases[c].pixel, scaled);
                if (KERNELS[k] == WG_KERNEL_TRIANGULAR) p.decay = cases[c].decay;
                p.threads = 3;
                wg_raster *r = NULL;
                CHECK_OK(ctx, wg_raster_create(ctx, bx0 - R, by0 - R, bx1 + R, by1 + R,
                                               cases[c].pixel, 0, &r));
                if (!r) continue;
                CHECK_OK(ctx, wg_kde_add(ctx, r, &p, x, y, c % 2 ? w : NULL, N));
                size_t npx = (size_t)r->cols * (size_t)r->rows;
                double *want = malloc(npx * sizeof *want);
                naive(r, &p, x, y, c % 2 ? w : NULL, N, want);
                double scale = 0, worst = 0;
                size_t nz = 0, nzw = 0;
                for (size_t i = 0; i < npx; i++) scale = fmax(scale, fabs(want[i]));
                for (size_t i = 0; i < npx; i++) {
                    /* relative, except where contributions cancel (negative decay:
                     * relative to the largest value); the raster sums in float32 */
                    double den = fmax(fmax(fabs(want[i]), fabs(r->v[i])),
                                      (p.decay < 0 ? 1 : 1e-6) * scale);
                    worst = fmax(worst, fabs(want[i] - r->v[i]) / den);
                    nz += want[i] != 0;
                    nzw += r->v[i] != 0;
                }
                if (!(worst <= 2e-6))
                    fprintf(stderr, "case %zu %s scaled %d: worst relative difference %g\n", c,
                            wg_kernel_name(KERNELS[k]), scaled, worst);
                CHECK(worst <= 2e-6);
                CHECK(nz == nzw); /* the same pixels reached: the inclusion test is exact */
                CHECK(scale > 0);
                free(want);
                wg_raster_free(r);
            }
    }
}

/* Any number of threads gives the same bits; points outside the frame are
 * clipped, not lost; bad parameters are refused. */
static void test_threads_and_clipping(wg_ctx *ctx) {
    unsigned long long s = 99;
    enum { N = 5000 };
    double *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    for (int i = 0; i < N; i++) {
        x[i] = -500 + 6000 * rnd(&s);
        y[i] = -500 + 4000 * rnd(&s);
    }
    wg_raster *a = NULL, *b = NULL;
    wg_kde_params p = params(WG_KERNEL_QUARTIC, 120, 3, 0);
    CHECK_OK(ctx, wg_raster_create(ctx, 0, 0, 5000, 3000, 3, 0, &a));
    CHECK_OK(ctx, wg_raster_create(ctx, 0, 0, 5000, 3000, 3, 0, &b));
    p.threads = 1;
    CHECK_OK(ctx, wg_kde_add(ctx, a, &p, x, y, NULL, N));
    p.threads = 7;
    CHECK_OK(ctx, wg_kde_add(ctx, b, &p, x, y, NULL, N));
    if (a && b)
        CHECK(!memcmp(a->v, b->v, (size_t)a->cols * (size_t)a->rows * sizeof *a->v));
    /* the portable loops give the same bits as the AVX2 ones, for every kernel */
    for (int k = 0; k < NK; k++) {
        wg_kde_params q = params(KERNELS[k], 120, 3, 1);
        q.decay = 0.3;
        wg_raster *fast = NULL, *slow = NULL;
        CHECK_OK(ctx, wg_raster_create(ctx, 0, 0, 2000, 1500, 3, 0, &fast));
        CHECK_OK(ctx, wg_raster_create(ctx, 0, 0, 2000, 1500, 3, 0, &slow));
        CHECK_OK(ctx, wg_kde_add(ctx, fast, &q, x, y, NULL, 2000));
        setenv("WG_NO_AVX2", "1", 1);
        CHECK_OK(ctx, wg_kde_add(ctx, slow, &q, x, y, NULL, 2000));
        unsetenv("WG_NO_AVX2");
        if (fast && slow)
            CHECK(!memcmp(fast->v, slow->v,
                          (size_t)fast->cols * (size_t)fast->rows * sizeof *fast->v));
        wg_raster_free(fast);
        wg_raster_free(slow);
    }
    /* adding twice doubles */
    p.threads = 2;
    CHECK_OK(ctx, wg_kde_add(ctx, b, &p, x, y, NULL, N));
    if (a && b) CHECK_NEAR(sum(b), 2 * sum(a), 1e-9 * sum(a));
    /* a point just outside the frame still reaches in */
    wg_raster *c = NULL;
    double px = -60, py = 1500, pw = 2;
    CHECK_OK(ctx, wg_raster_create(ctx, 0, 0, 5000, 3000, 3, 0, &c));
    CHECK_OK(ctx, wg_kde_add(ctx, c, &p, &px, &py, &pw, 1));
    if (c) CHECK(sum(c) > 0 && at(c, 500, 0) > 0 && at(c, 500, 30) == 0);
    /* non-finite points and weights are skipped */
    double nx[2] = {NAN, 100}, ny[2] = {100, 100}, nw[2] = {1, INFINITY};
    wg_raster_free(c);
    c = NULL;
    CHECK_OK(ctx, wg_raster_create(ctx, 0, 0, 500, 500, 3, 0, &c));
    CHECK_OK(ctx, wg_kde_add(ctx, c, &p, nx, ny, nw, 2));
    if (c) CHECK(sum(c) == 0);
    p.radius = -1;
    CHECK(wg_kde_add(ctx, c, &p, x, y, NULL, 1) == WG_ERR_INVALID_ARG);
    p = params(WG_KERNEL_QUARTIC, 100, 5, 0); /* pixel differs from the raster's */
    CHECK(wg_kde_add(ctx, c, &p, x, y, NULL, 1) == WG_ERR_INVALID_ARG);
    wg_raster_free(a);
    wg_raster_free(b);
    wg_raster_free(c);
    free(x);
    free(y);
}

/* ---- files ----------------------------------------------------------------- */

/* Reopens a GeoTIFF and checks its frame and CRS; returns its values (free()). */
static float *check_tiff(const char *path, int epsg, double x0, double y0, double pixel, int cols,
                         int rows) {
    wg_gdal_init();
    GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
    CHECK(ds != NULL);
    if (!ds) return NULL;
    CHECK(GDALGetRasterXSize(ds) == cols && GDALGetRasterYSize(ds) == rows);
    CHECK(GDALGetRasterCount(ds) == 1);
    double gt[6];
    CHECK(GDALGetGeoTransform(ds, gt) == CE_None);
    CHECK_NEAR(gt[0], x0, 1e-6);
    CHECK_NEAR(gt[3], y0, 1e-6);
    CHECK(gt[1] == pixel && gt[5] == -pixel && gt[2] == 0 && gt[4] == 0);
    OGRSpatialReferenceH srs = GDALGetSpatialRef(ds);
    CHECK(srs != NULL);
    if (srs) {
        char code[16];
        snprintf(code, sizeof code, "%d", epsg);
        const char *got = OSRGetAuthorityCode(srs, NULL);
        CHECK_STR(got, code);
    }
    GDALRasterBandH band = GDALGetRasterBand(ds, 1);
    CHECK(GDALGetRasterDataType(band) == GDT_Float32);
    int has = 0;
    CHECK(GDALGetRasterNoDataValue(band, &has) == -9999 && has);
    const char *comp = GDALGetMetadataItem(ds, "COMPRESSION", "IMAGE_STRUCTURE");
    CHECK_STR(comp, "DEFLATE");
    float *v = malloc((size_t)cols * (size_t)rows * sizeof *v);
    CHECK(GDALRasterIO(band, GF_Read, 0, 0, cols, rows, v, cols, rows, GDT_Float32, 0, 0) ==
          CE_None);
    GDALClose(ds);
    return v;
}

/* A workspace with two grids (4 km x 2 km) and incidents in March and May. */
static wg_ws *county(wg_ctx *ctx) {
    wg_ws *ws = fresh_ws(ctx, "density.sqlite", 4549);
    const char *src = tpath("units.geojson");
    gj g;
    gj_begin(&g);
    gj_rect(&g, "county", "320724", "灌南县", 0, 0, 4000, 2000);
    gj_rect(&g, "grid", "320724100201001", "第1网格", 0, 0, 2000, 2000);
    gj_rect(&g, "grid", "320724100202001", "第2网格", 2000, 0, 4000, 2000);
    gj_end(&g, src);
    wg_import_opts o = import_opts(-1, "EPSG:4549");
    CHECK_OK(ctx, wg_grids_import(ws, src, &o, NULL));
    const char *csv = tpath("incidents.csv");
    FILE *f = fopen(csv, "w");
    fprintf(f, "incident_id,x,y,reported_at,category,severity\n");
    unsigned long long s = 3;
    for (int i = 0; i < 300; i++)
        fprintf(f, "I%03d,%.3f,%.3f,2025-%02d-%02dT08:%02d:00+08:00,%s,%d\n", i,
                T_X0 + 500 + 1500 * rnd(&s) + (i % 2) * 1500, T_Y0 + 300 + 1400 * rnd(&s),
                i % 3 ? 3 : 5, 1 + i % 28, i % 60, i % 4 ? "治安问题" : "环境卫生",
                1 + i % 3);
    fclose(f);
    wg_place_opts po;
    memset(&po, 0, sizeof po);
    po.lon_field = "x", po.lat_field = "y", po.crs = "EPSG:4549", po.store = 1;
    po.tolerance_m = -1;
    wg_place_report pr;
    CHECK_OK(ctx, wg_place_file(ws, csv, tpath("placed.csv"), &po, &pr));
    CHECK(pr.stored == 300);
    return ws;
}

static void test_heatmap_files(wg_ctx *ctx) {
    wg_ws *ws = county(ctx);
    wg_heatmap_opts o;
    memset(&o, 0, sizeof o);
    o.kde = params(WG_KERNEL_QUARTIC, 200, 10, 1);
    o.tif = tpath("heat.tif");
    o.png = tpath("heat.png");
    unlink(o.tif);
    unlink(o.png);
    wg_heatmap_report rep;
    CHECK_OK(ctx, wg_heatmap(ws, &o, &rep));
    CHECK(rep.points == 300 && !rep.empty && rep.epsg == 4549 && rep.extent == WG_EXTENT_DATA);
    /* the data extent grown by the radius, inside the generated area */
    CHECK(rep.xmin >= T_X0 + 300 - 1e-6 && rep.xmin <= T_X0 + 400);
    CHECK(rep.ymax <= T_Y0 + 1900 + 1e-6 && rep.ymax >= T_Y0 + 1800);
    CHECK(rep.cols == (int)ceil((rep.xmax - rep.xmin) / 10) + 1);
    CHECK(rep.rows == (int)ceil((rep.ymax - rep.ymin) / 10) + 1);
    CHECK_NEAR(rep.integral, 300, 300 * 1e-3); /* 300 incidents, weight 1 */
    float *v = check_tiff(o.tif, 4549, rep.xmin, rep.ymax, 10, rep.cols, rep.rows);
    if (v) {
        double s = 0, mx = 0;
        for (size_t i = 0; i < (size_t)rep.cols * (size_t)rep.rows; i++) {
            CHECK(v[i] >= 0);
            s += v[i];
            mx = fmax(mx, v[i]);
        }
        CHECK_NEAR(s * 100, rep.integral, 1e-4 * rep.integral);
        CHECK_NEAR(mx, rep.max, 1e-6 * rep.max);
    }
    /* the PNG: the raster's size, alpha 0 exactly where the density is 0 */
    GDALDatasetH png = GDALOpen(o.png, GA_ReadOnly);
    CHECK(png != NULL);
    if (png && v) {
        CHECK(GDALGetRasterXSize(png) == rep.cols && GDALGetRasterYSize(png) == rep.rows);
        CHECK(GDALGetRasterCount(png) == 4);
        unsigned char *a = malloc((size_t)rep.cols * (size_t)rep.rows);
        CHECK(GDALRasterIO(GDALGetRasterBand(png, 4), GF_Read, 0, 0, rep.cols, rep.rows, a,
                           rep.cols, rep.rows, GDT_Byte, 0, 0) == CE_None);
        size_t bad = 0, zero = 0;
        for (size_t i = 0; i < (size_t)rep.cols * (size_t)rep.rows; i++) {
            if ((v[i] > 0) != (a[i] > 0)) bad++;
            zero += v[i] == 0;
        }
        CHECK(bad == 0);
        CHECK(zero > 0);
        free(a);
    }
    if (png) GDALClose(png);
    free(v);
    /* world file: pixel size and the centre of the top-left pixel */
    char pgw[1100], legend[1100];
    snprintf(pgw, sizeof pgw, "%.*s.pgw", (int)strlen(o.png) - 4, o.png);
    snprintf(legend, sizeof legend, "%.*s_legend.png", (int)strlen(o.png) - 4, o.png);
    FILE *f = fopen(pgw, "r");
    CHECK(f != NULL);
    if (f) {
        double wf[6] = {0};
        for (int i = 0; i < 6; i++) CHECK(fscanf(f, "%lf", &wf[i]) == 1);
        fclose(f);
        CHECK(wf[0] == 10 && wf[1] == 0 && wf[2] == 0 && wf[3] == -10);
        CHECK_NEAR(wf[4], rep.xmin + 5, 1e-6);
        CHECK_NEAR(wf[5], rep.ymax - 5, 1e-6);
    }
    GDALDatasetH lg = GDALOpen(legend, GA_ReadOnly);
    CHECK(lg != NULL);
    if (lg) {
        CHECK(GDALGetRasterXSize(lg) > 100 && GDALGetRasterYSize(lg) > 20);
        GDALClose(lg);
    }

    /* a category, weights from a column, the grids' frame with nodata outside */
    memset(&o, 0, sizeof o);
    o.kde = params(WG_KERNEL_EPANECHNIKOV, 150, 20, 0);
    o.category = "环境卫生";
    o.weight_field = "id";
    o.extent = WG_EXTENT_GRIDS;
    o.tif = tpath("heat_grids.tif");
    CHECK_OK(ctx, wg_heatmap(ws, &o, &rep));
    CHECK(rep.points == 75 && rep.extent == WG_EXTENT_GRIDS);
    CHECK_NEAR(rep.xmin, T_X0, 1e-3);
    CHECK_NEAR(rep.ymax, T_Y0 + 2000, 1e-3);
    CHECK(rep.cols == 201 && rep.rows == 101);
    v = check_tiff(o.tif, 4549, rep.xmin, rep.ymax, 20, rep.cols, rep.rows);
    if (v) { /* the frame's extra column and row are outside the grids */
        CHECK(v[200] == -9999 && v[(size_t)100 * 201] == -9999);
        CHECK(v[(size_t)50 * 201 + 100] >= 0);
    }
    free(v);
    /* the raster alone, uncompressed, reopens with the same frame */
    {
        wg_raster *r = NULL;
        float one = 0;
        CHECK_OK(ctx, wg_raster_create(ctx, T_X0, T_Y0, T_X0 + 100, T_Y0 + 50, 10, 4549, &r));
        if (r) r->v[3] = 2.5f, r->v[4] = NAN;
        const char *meta[] = {"WG_TEST=yes", NULL};
        const char *plain = tpath("plain.tif");
        CHECK_OK(ctx, wg_raster_write_tiff(ctx, r, plain, meta, WG_TIFF_UNCOMPRESSED));
        GDALDatasetH ds = GDALOpen(plain, GA_ReadOnly);
        CHECK(ds != NULL);
        if (ds) {
            CHECK(GDALGetRasterXSize(ds) == 11 && GDALGetRasterYSize(ds) == 6);
            CHECK(GDALGetMetadataItem(ds, "COMPRESSION", "IMAGE_STRUCTURE") == NULL);
            CHECK_STR(GDALGetMetadataItem(ds, "WG_TEST", NULL), "yes");
            CHECK(GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Read, 3, 0, 1, 1, &one, 1, 1,
                               GDT_Float32, 0, 0) == CE_None && one == 2.5f);
            CHECK(GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Read, 4, 0, 1, 1, &one, 1, 1,
                               GDT_Float32, 0, 0) == CE_None && one == -9999.0f);
            GDALClose(ds);
        }
        wg_raster_free(r);
    }
    /* an explicit box in the metric CRS */
    memset(&o, 0, sizeof o);
    o.kde = params(WG_KERNEL_UNIFORM, 100, 25, 0);
    o.extent = WG_EXTENT_BOX;
    o.box[0] = T_X0 + 1000, o.box[1] = T_Y0 + 500, o.box[2] = T_X0 + 2000, o.box[3] = T_Y0 + 1000;
    o.tif = tpath("heat_box.tif");
    CHECK_OK(ctx, wg_heatmap(ws, &o, &rep));
    CHECK(rep.cols == 41 && rep.rows == 21 && rep.points == 300);
    free(check_tiff(o.tif, 4549, T_X0 + 1000, T_Y0 + 1000, 25, 41, 21));

    /* an empty time window: all zero, framed on the grids, and said so */
    memset(&o, 0, sizeof o);
    o.kde = params(WG_KERNEL_QUARTIC, 200, 10, 0);
    o.from = "2025-04-01";
    o.to = "2025-04-30";
    o.tif = tpath("empty.tif");
    o.png = tpath("empty.png");
    CHECK_OK(ctx, wg_heatmap(ws, &o, &rep));
    CHECK(rep.empty && rep.points == 0 && rep.max == 0 && rep.extent == WG_EXTENT_GRIDS);
    v = check_tiff(o.tif, 4549, T_X0, T_Y0 + 2000, 10, 401, 201);
    if (v) {
        size_t zeros = 0, other = 0;
        for (size_t i = 0; i < (size_t)401 * 201; i++) {
            if (v[i] == 0) zeros++;
            else if (v[i] != -9999) other++;
        }
        CHECK(other == 0 && zeros == (size_t)400 * 200);
    }
    free(v);
    /* the window's bounds are inclusive dates */
    o.from = "2025-05-28";
    o.to = "2025-05-28";
    CHECK_OK(ctx, wg_heatmap(ws, &o, &rep));
    CHECK(rep.points == 4 && !rep.empty); /* i % 3 == 0 and i % 28 == 27: 27, 111, 195, 279 */

    /* errors leave nothing behind */
    memset(&o, 0, sizeof o);
    o.kde = params(WG_KERNEL_QUARTIC, 200, 10, 0);
    o.tif = tpath("never.tif");
    unlink(o.tif);
    o.weight_field = "no_such_column";
    CHECK(wg_heatmap(ws, &o, &rep) == WG_ERR_NOT_FOUND);
    o.weight_field = NULL;
    o.input = tpath("missing.gpkg");
    CHECK(wg_heatmap(ws, &o, &rep) == WG_ERR_NOT_FOUND);
    o.input = NULL;
    o.from = "2025-13-01";
    CHECK(wg_heatmap(ws, &o, &rep) == WG_ERR_INVALID_ARG);
    o.from = NULL;
    o.kde.pixel = 0;
    CHECK(wg_heatmap(ws, &o, &rep) == WG_ERR_INVALID_ARG);
    CHECK(access(o.tif, F_OK) != 0);
    wg_ws_close(ws);
}

/* A points file in the metric CRS gives the same raster as the stored
 * incidents it came from; a lon/lat CSV in GCJ-02 is converted. */
static void test_input_file(wg_ctx *ctx) {
    wg_ws *ws = fresh_ws(ctx, "density_in.sqlite", 4549);
    const char *csv = tpath("pts.csv");
    FILE *f = fopen(csv, "w");
    fprintf(f, "x,y,w\n");
    unsigned long long s = 5;
    for (int i = 0; i < 200; i++)
        fprintf(f, "%.3f,%.3f,%s\n", T_X0 + 3000 * rnd(&s), T_Y0 + 2000 * rnd(&s),
                i == 0 ? "" : i == 1 ? "abc" : "2");
    fclose(f);
    wg_heatmap_opts o;
    memset(&o, 0, sizeof o);
    o.kde = params(WG_KERNEL_TRIANGULAR, 100, 10, 1);
    o.input = csv;
    o.lon_field = "x", o.lat_field = "y", o.crs = "EPSG:4549";
    o.weight_field = "w";
    o.tif = tpath("in.tif");
    wg_heatmap_report rep;
    CHECK_OK(ctx, wg_heatmap(ws, &o, &rep));
    CHECK(rep.points == 200 && rep.skipped == 0);
    CHECK_NEAR(rep.integral, 198 * 2, 396 * 2e-3); /* empty and non-numeric weigh 0 */
    /* the same points as a GeoPackage layer (read through OGR's Arrow stream)
     * and as GeoJSON multipoints: the same raster as from the CSV */
    o.weight_field = NULL;
    o.tif = tpath("in_csv.tif");
    CHECK_OK(ctx, wg_heatmap(ws, &o, &rep));
    wg_heatmap_report want = rep;
    const char *gpkg = tpath("pts.gpkg"), *gjson = tpath("pts.geojson");
    unlink(gpkg);
    wg_gdal_init();
    GDALDatasetH src = GDALOpenEx(csv, GDAL_OF_VECTOR, NULL, NULL, NULL);
    GDALDatasetH dst = GDALCreate(GDALGetDriverByName("GPKG"), gpkg, 0, 0, 0, GDT_Unknown, NULL);
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(srs, 4549);
    OGRLayerH in = src ? GDALDatasetGetLayer(src, 0) : NULL;
    OGRLayerH out = dst ? GDALDatasetCreateLayer(dst, "pts", srs, wkbPoint, NULL) : NULL;
    OGRFieldDefnH fd = OGR_Fld_Create("tag", OFTString);
    if (out) CHECK(OGR_L_CreateField(out, fd, 1) == OGRERR_NONE);
    OGR_Fld_Destroy(fd);
    gj g;
    gj_begin(&g);
    double first[2] = {0, 0};
    OGRFeatureH feat;
    for (int i = 0; in && out && (feat = OGR_L_GetNextFeature(in)) != NULL; i++) {
        double x = OGR_F_GetFieldAsDouble(feat, 0), y = OGR_F_GetFieldAsDouble(feat, 1);
        OGRFeatureH nf = OGR_F_Create(OGR_L_GetLayerDefn(out));
        OGRGeometryH pt = OGR_G_CreateGeometry(wkbPoint);
        OGR_G_SetPoint_2D(pt, 0, x, y);
        OGR_F_SetGeometryDirectly(nf, pt);
        OGR_F_SetFieldString(nf, 0, "x");
        CHECK(OGR_L_CreateFeature(out, nf) == OGRERR_NONE);
        OGR_F_Destroy(nf);
        OGR_F_Destroy(feat);
        if (i % 2 == 0) { /* pairs as one multipoint */
            first[0] = x, first[1] = y;
        } else {
            gj_put(&g, "%s{\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":"
                       "\"MultiPoint\",\"coordinates\":[[%.3f,%.3f],[%.3f,%.3f]]}}",
                   g.count++ ? "," : "", first[0], first[1], x, y);
        }
    }
    gj_end(&g, gjson);
    OSRDestroySpatialReference(srs);
    if (src) GDALClose(src);
    if (dst) GDALClose(dst);
    memset(&o, 0, sizeof o);
    o.kde = params(WG_KERNEL_TRIANGULAR, 100, 10, 1);
    o.input = gpkg;
    o.tif = tpath("in_gpkg.tif");
    CHECK_OK(ctx, wg_heatmap(ws, &o, &rep));
    CHECK(rep.points == 200 && rep.cols == want.cols && rep.rows == want.rows);
    CHECK(rep.max == want.max && rep.integral == want.integral);
    o.input = gjson;
    o.crs = "EPSG:4549"; /* GeoJSON says WGS84; these are metres */
    o.tif = tpath("in_json.tif");
    CHECK_OK(ctx, wg_heatmap(ws, &o, &rep));
    CHECK(rep.points == 200 && rep.cols == want.cols && rep.rows == want.rows);
    CHECK(rep.max == want.max && rep.integral == want.integral);
    o = (wg_heatmap_opts){0};
    o.kde = params(WG_KERNEL_TRIANGULAR, 100, 10, 1);
    o.input = csv;
    o.lon_field = "x", o.lat_field = "y", o.crs = "EPSG:4549";
    o.tif = tpath("in.tif");
    o.weight_field = "nope";
    CHECK(wg_heatmap(ws, &o, &rep) == WG_ERR_NOT_FOUND);
    o.weight_field = NULL;
    o.from = "2025-01-01"; /* no time field to filter on */
    CHECK(wg_heatmap(ws, &o, &rep) == WG_ERR_NOT_FOUND);
    wg_ws_close(ws);
}

int main(void) {
    wg_ctx *ctx = NULL;
    CHECK(wg_ctx_new(&ctx) == WG_OK);
    test_names();
    test_frame(ctx);
    test_symmetry(ctx);
    test_integral(ctx);
    test_oracle(ctx);
    test_threads_and_clipping(ctx);
    test_heatmap_files(ctx);
    test_input_file(ctx);
    wg_ctx_free(ctx);
    TEST_MAIN_END();
}
