/* ogrio.c -- GDAL/OGR plumbing: driver registration, quiet error handling,
 * choosing a driver from a file name, UTF-8 checks. GDAL's error handler
 * stack is per thread, so quieting it here never silences another thread. */
#include "ogrio.h"

#include <pthread.h>
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
