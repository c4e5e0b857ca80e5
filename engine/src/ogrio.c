/* ogrio.c -- GDAL/OGR plumbing: driver registration, quiet error handling,
 * choosing a driver from a file name, UTF-8 checks. GDAL's error handler
 * stack is per thread, so quieting it here never silences another thread. */
#include "ogrio.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>
#include <strings.h>

static pthread_once_t gdal_once = PTHREAD_ONCE_INIT;

static void gdal_register(void) { GDALAllRegister(); }

void wg_gdal_init(void) { pthread_once(&gdal_once, gdal_register); }

const char *wg_gdal_msg(void) {
    const char *m = CPLGetLastErrorMsg();
    return m ? m : "";
}

void wg_gdal_quiet_push(void) {
    CPLPushErrorHandler(CPLQuietErrorHandler);
    CPLErrorReset();
}

void wg_gdal_quiet_pop(void) { CPLPopErrorHandler(); }

wg_status wg_ogr_add_field(wg_ctx *ctx, OGRLayerH l, const char *name, OGRFieldType t,
                           int precision) {
    OGRFieldDefnH fd = OGR_Fld_Create(name, t);
    if (precision >= 0) OGR_Fld_SetPrecision(fd, precision);
    OGRErr e = OGR_L_CreateField(l, fd, 1);
    OGR_Fld_Destroy(fd);
    return e == OGRERR_NONE ? WG_OK
                            : wg_err(ctx, WG_ERR_GDAL, "cannot create field %s: %s", name,
                                     wg_gdal_msg());
}

wg_status wg_gdal_close_checked(wg_ctx *ctx, GDALDatasetH ds, wg_status rc, const char *what) {
    if (!ds) return rc;
    CPLErrorReset();
    GDALClose(ds); /* returns void before GDAL 3.8: the error state tells */
    if (!rc && CPLGetLastErrorType() >= CE_Failure)
        rc = wg_err(ctx, WG_ERR_GDAL, "cannot finish %s: %s", what, wg_gdal_msg());
    return rc;
}

const char *wg_ogr_driver_for(wg_ctx *ctx, const char *path) {
    static const struct {
        const char *ext, *driver;
    } map[] = {{".geojson", "GeoJSON"}, {".json", "GeoJSON"}, {".shp", "ESRI Shapefile"},
               {".gpkg", "GPKG"},       {".fgb", "FlatGeobuf"}, {".csv", "CSV"}};
    const char *dot = strrchr(path, '.');
    if (dot && !strchr(dot, '/')) {
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
            if (strcasecmp(dot, map[i].ext) == 0) return map[i].driver;
    }
    wg_err(ctx, WG_ERR_INVALID_ARG,
           "%s: unknown output format; use one of .geojson .json .shp .gpkg .fgb .csv", path);
    return NULL;
}

int wg_utf8_valid(const char *str, size_t len) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, min = 0x80, c &= 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, min = 0x800, c &= 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, min = 0x10000, c &= 0x07;
        } else {
            return 0;
        }
        if (i + n >= len) return 0; /* truncated sequence */
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            c = (c << 6) | (s[i + k] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
        i += n + 1;
    }
    return 1;
}

static _Atomic unsigned staging_seq;

wg_status wg_staging_open(wg_ctx *ctx, const char *path, wg_staging *sg) {
    char a[4096], b[4096];
    unsigned seq = staging_seq++;
    snprintf(a, sizeof a, "%s", path);
    snprintf(b, sizeof b, "%s", path);
    snprintf(sg->dir, sizeof sg->dir, "%s", dirname(a));
    snprintf(sg->tmpdir, sizeof sg->tmpdir, "%s/.wangge-tmp-%ld-%u", sg->dir, (long)getpid(), seq);
    int n = snprintf(sg->tmpfile, sizeof sg->tmpfile, "%s/%s", sg->tmpdir, basename(b));
    if (n >= (int)sizeof sg->tmpfile) return wg_err(ctx, WG_ERR_INVALID_ARG, "path too long");
    if (mkdir(sg->tmpdir, 0755) != 0)
        return wg_err(ctx, WG_ERR_IO, "cannot write in %s: %s", sg->dir, strerror(errno));
    return WG_OK;
}

wg_status wg_staging_close(wg_ctx *ctx, wg_staging *sg, int commit) {
    wg_status rc = WG_OK;
    DIR *d = opendir(sg->tmpdir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char from[8192], to[8192];
        snprintf(from, sizeof from, "%s/%s", sg->tmpdir, e->d_name);
        snprintf(to, sizeof to, "%s/%s", sg->dir, e->d_name);
        if (commit && !rc && rename(from, to) != 0)
            rc = wg_err(ctx, WG_ERR_IO, "cannot move %s into place: %s", to, strerror(errno));
        if (!commit || rc) unlink(from);
    }
    if (d) closedir(d);
    rmdir(sg->tmpdir);
    return rc;
}

