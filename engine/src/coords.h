/* coords.h -- reading one row's coordinates (private), shared by the OGR
 * and the CSV paths of batch placement so both judge a row the same way. */
#ifndef WG_COORDS_H
#define WG_COORDS_H

#include "ctx.h"

/* Per-thread cache of PROJ transforms for EPSG inputs (PJ objects belong
 * to the context that made them, so each thread keeps its own). */
typedef struct wg_coord_cache {
    PJ *pj[8];
    int epsg[8];
} wg_coord_cache;

void wg_coord_cache_free(wg_coord_cache *cc);

/* The verdict on a row: ok with lon/lat (WGS84), or the reason it is
 * rejected (a sentence for the rejects file). */
typedef struct wg_coord_result {
    int ok;
    int swapped; /* a likely lat/lon swap */
    double lon, lat;
    char reason[160];
} wg_coord_result;

/* Parses two text fields; `crs` is the row's CRS text, or NULL to use
 * (kind, epsg). */
void wg_coords_from_text(wg_ctx *ctx, wg_coord_cache *cc, const char *sx, const char *sy,
                         const char *crs, wg_crs_kind kind, int epsg, wg_coord_result *out);

/* Same for numbers already parsed (a point geometry). */
void wg_coords_from_xy(wg_ctx *ctx, wg_coord_cache *cc, double x, double y, const char *crs,
                       wg_crs_kind kind, int epsg, wg_coord_result *out);

#endif
