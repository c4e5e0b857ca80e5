/* ogrio.h -- small helpers around GDAL/OGR shared by import and export. */
#ifndef WG_OGRIO_H
#define WG_OGRIO_H

#include "ctx.h"
#include <gdal.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <cpl_conv.h>

/* Registers GDAL's drivers once per process (thread-safe). */
void wg_gdal_init(void);

/* GDAL's last error message for this thread, or "" (borrowed). */
const char *wg_gdal_msg(void);

/* Silences GDAL's default stderr printing on this thread; errors are read
 * back with wg_gdal_msg() and reported through the context instead. */
void wg_gdal_quiet_push(void);
void wg_gdal_quiet_pop(void);

/* Closes `ds` (NULL is fine) -- which is when GDAL flushes and finishes
 * many formats -- and turns a failure reported during the close into
 * "cannot finish WHAT: <GDAL's message>", unless `rc` already holds an
 * error. Returns the status to keep. */
wg_status wg_gdal_close_checked(wg_ctx *ctx, GDALDatasetH ds, wg_status rc, const char *what);

/* Adds a field of type t to layer l (precision digits after the point
 * when >= 0, e.g. for a Shapefile's reals); a failure says which field. */
wg_status wg_ogr_add_field(wg_ctx *ctx, OGRLayerH l, const char *name, OGRFieldType t,
                           int precision);

/* The OGR driver for an output path's extension (.geojson/.json, .shp,
 * .gpkg, .fgb, .csv), or NULL with a message naming the extension. */
const char *wg_ogr_driver_for(wg_ctx *ctx, const char *path);

/* Staging for outputs: files are written into a hidden folder beside the
 * target (same file system) and renamed into place only when complete, so
 * a failure never leaves a half-written layer where the command center
 * would load it. Several files may be staged together (a Shapefile's
 * parts, an output and its rejects). */
typedef struct wg_staging {
    char dir[4096];    /* the target's folder */
    char tmpdir[4200]; /* the hidden folder inside it */
    char tmpfile[8400];/* where to write the target */
} wg_staging;

/* Creates the staging folder for `path`; sg->tmpfile is where to write. */
wg_status wg_staging_open(wg_ctx *ctx, const char *path, wg_staging *sg);

/* Moves every staged file into the target folder (commit = 1) or deletes
 * them (commit = 0), then removes the staging folder. */
wg_status wg_staging_close(wg_ctx *ctx, wg_staging *sg, int commit);

/* Non-zero if `s` is valid UTF-8 (no overlongs, no surrogates). */
int wg_utf8_valid(const char *s, size_t len);

#endif
