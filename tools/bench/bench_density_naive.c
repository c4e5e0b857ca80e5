/* bench_density_naive.c -- the naive peer of `wangge heatmap`: QGIS's kernel
 * density loop as first written, in memory, one thread.
 *
 * For every point, every pixel of its (2b+1)^2 square: the pixel centre, the
 * distance with sqrt(pow(dx, 2) + pow(dy, 2)), the kernel with pow(), and a
 * float sum, exactly the arithmetic of QgsKernelDensityEstimation::addFeature
 * minus its GDAL read/write of a block per point. The frame is QGIS's: the
 * points' extent grown by the radius, ceil(size/pixel)+1 pixels. Plain GDAL
 * only (no libwangge), so it is also a second, independent oracle.
 *
 * usage: bench_density_naive POINTS -o OUT.tif --radius R --pixel P
 *            [--kernel quartic|triangular|uniform|triweight|epanechnikov]
 *            [--decay D] [--scaled] [--weight-field F]
 * POINTS: any OGR source of points in a projected CRS (the first layer).
 * Writes a Float32 GeoTIFF (nodata -9999 where no kernel reached, as QGIS)
 * and prints one "key value" line per figure on stdout. */
#include <gdal.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <cpl_conv.h>

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define PI_ 3.14159265358979323846
#define NO_DATA -9999.0f

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

enum { QUARTIC, TRIANGULAR, UNIFORM, TRIWEIGHT, EPANECHNIKOV };

/* The kernels as QGIS writes them (quartic with the 3.42 constant, 16/5). */
static double kernel(int k, double d, double r, double decay, int scaled) {
    switch (k) {
    case UNIFORM: return scaled ? 2. / (PI_ * r) * (0.5 / r) : 1.0;
    case QUARTIC:
        return (scaled ? 16. / (5. * PI_ * pow(r, 2)) * (15. / 16.) : 1.0) *
               pow(1. - pow(d / r, 2), 2);
    case TRIWEIGHT:
        return (scaled ? 128. / (35. * PI_ * pow(r, 2)) * (35. / 32.) : 1.0) *
               pow(1. - pow(d / r, 2), 3);
    case EPANECHNIKOV:
        return (scaled ? 8. / (3. * PI_ * pow(r, 2)) * (3. / 4.) : 1.0) * (1. - pow(d / r, 2));
    default: /* triangular */
        return (scaled && decay >= 0 ? 3. / ((1. + 2. * decay) * PI_ * pow(r, 2)) : 1.0) *
               (1. - (1. - decay) * (d / r));
    }
}

static void usage(FILE *f) {
    fputs("usage: bench_density_naive POINTS -o OUT.tif --radius R --pixel P\n"
          "           [--kernel quartic|triangular|uniform|triweight|epanechnikov]\n"
          "           [--decay D] [--scaled] [--weight-field F]\n", f);
}

int main(int argc, char **argv) {
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'}, {"radius", required_argument, 0, 'r'},
        {"pixel", required_argument, 0, 'p'},  {"kernel", required_argument, 0, 'k'},
        {"decay", required_argument, 0, 'd'},  {"scaled", no_argument, 0, 's'},
        {"weight-field", required_argument, 0, 'w'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    static const char *const names[] = {"quartic", "triangular", "uniform", "triweight",
                                        "epanechnikov"};
    const char *out = NULL, *wfield = NULL;
    double radius = 0, pixel = 0, decay = 0;
    int kern = QUARTIC, scaled = 0, c;
    while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'r': radius = atof(optarg); break;
        case 'p': pixel = atof(optarg); break;
        case 'd': decay = atof(optarg); break;
        case 's': scaled = 1; break;
        case 'w': wfield = optarg; break;
        case 'k':
            kern = -1;
            for (int i = 0; i < 5; i++)
                if (!strcasecmp(optarg, names[i])) kern = i;
            if (kern < 0) {
                usage(stderr);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1 || !out || !(radius > 0) || !(pixel > 0)) {
        usage(stderr);
        return 2;
    }

    /* read */
    double t0 = now();
    GDALAllRegister();
    GDALDatasetH src = GDALOpenEx(argv[optind], GDAL_OF_VECTOR, NULL, NULL, NULL);
    if (!src) {
        fprintf(stderr, "bench_density_naive: cannot open %s\n", argv[optind]);
        return 1;
    }
    OGRLayerH l = GDALDatasetGetLayer(src, 0);
    int wi = wfield ? OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(l), wfield) : -1;
    if (wfield && wi < 0) {
        fprintf(stderr, "bench_density_naive: no field %s\n", wfield);
        return 1;
    }
    char *wkt = NULL;
    if (OGR_L_GetSpatialRef(l)) OSRExportToWkt(OGR_L_GetSpatialRef(l), &wkt);
    size_t n = 0, cap = 1 << 16;
    double *x = malloc(cap * sizeof *x), *y = malloc(cap * sizeof *y), *w = malloc(cap * sizeof *w);
    double bx0 = INFINITY, by0 = INFINITY, bx1 = -INFINITY, by1 = -INFINITY;
    OGRFeatureH f;
    while ((f = OGR_L_GetNextFeature(l)) != NULL) {
        OGRGeometryH g = OGR_F_GetGeometryRef(f);
        if (g && !OGR_G_IsEmpty(g) && wkbFlatten(OGR_G_GetGeometryType(g)) == wkbPoint) {
            if (n == cap) {
                cap *= 2;
                x = realloc(x, cap * sizeof *x), y = realloc(y, cap * sizeof *y);
                w = realloc(w, cap * sizeof *w);
            }
            x[n] = OGR_G_GetX(g, 0), y[n] = OGR_G_GetY(g, 0);
            w[n] = wi >= 0 ? OGR_F_GetFieldAsDouble(f, wi) : 1.0;
            bx0 = fmin(bx0, x[n]), by0 = fmin(by0, y[n]);
            bx1 = fmax(bx1, x[n]), by1 = fmax(by1, y[n]);
            n++;
        }
        OGR_F_Destroy(f);
    }
    GDALClose(src);
    double t_read = now() - t0;
    if (!n) {
        fprintf(stderr, "bench_density_naive: no points\n");
        return 1;
    }

    /* QGIS's frame and block */
    double t1 = now();
    double xmin = bx0 - radius, ymin = by0 - radius, xmax = bx1 + radius, ymax = by1 + radius;
    int rows = (int)fmax(ceil((ymax - ymin) / pixel) + 1, 1.0);
    int cols = (int)fmax(ceil((xmax - xmin) / pixel) + 1, 1.0);
    int buffer = (int)(radius / pixel);
    if (radius - pixel * buffer > 0.5) buffer++;
    int block = 2 * buffer + 1;
    float *v = malloc((size_t)rows * (size_t)cols * sizeof *v);
    if (!v) {
        fprintf(stderr, "bench_density_naive: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < (size_t)rows * (size_t)cols; i++) v[i] = NO_DATA;
    for (size_t i = 0; i < n; i++) {
        unsigned xpos = (unsigned)((x[i] - xmin) / pixel - buffer);
        unsigned ypos = (unsigned)((y[i] - ymin) / pixel - buffer);
        unsigned yposio = (unsigned)((ymax - y[i]) / pixel - buffer);
        for (int xp = 0; xp < block; xp++)
            for (int yp = 0; yp < block; yp++) {
                double cx = (xpos + xp + 0.5) * pixel + xmin;
                double cy = (ypos + yp + 0.5) * pixel + ymin;
                double d = sqrt(pow(cx - x[i], 2.0) + pow(cy - y[i], 2.0));
                if (d > radius) continue;
                long col = (long)xpos + xp, row = (long)yposio + yp;
                if (col < 0 || row < 0 || col >= cols || row >= rows) continue;
                float *o = v + (size_t)row * (size_t)cols + (size_t)col;
                if (*o == NO_DATA) *o = 0;
                *o += (float)(w[i] * kernel(kern, d, radius, decay, scaled));
            }
    }
    double t_kde = now() - t1;

    /* write: plain, as QGIS does */
    double t2 = now();
    GDALDriverH drv = GDALGetDriverByName("GTiff");
    GDALDatasetH ds = drv ? GDALCreate(drv, out, cols, rows, 1, GDT_Float32, NULL) : NULL;
    if (!ds) {
        fprintf(stderr, "bench_density_naive: cannot create %s\n", out);
        return 1;
    }
    double gt[6] = {xmin, pixel, 0, ymax, 0, -pixel};
    GDALSetGeoTransform(ds, gt);
    if (wkt) GDALSetProjection(ds, wkt);
    GDALRasterBandH band = GDALGetRasterBand(ds, 1);
    GDALSetRasterNoDataValue(band, NO_DATA);
    CPLErr e = GDALRasterIO(band, GF_Write, 0, 0, cols, rows, v, cols, rows, GDT_Float32, 0, 0);
    GDALClose(ds);
    double t_write = now() - t2;
    if (e != CE_None) {
        fprintf(stderr, "bench_density_naive: cannot write %s\n", out);
        return 1;
    }
    printf("points %zu\ncols %d\nrows %d\nkernel %s\nread_s %.3f\nkde_s %.3f\nwrite_s %.3f\n"
           "total_s %.3f\n", n, cols, rows, names[kern], t_read, t_kde, t_write,
           t_read + t_kde + t_write);
    CPLFree(wkt);
    free(v);
    free(x);
    free(y);
    free(w);
    return 0;
}
