/* coords.c -- judging a row's coordinates: missing, not a number, not
 * finite, out of range, swapped, or fine and converted to WGS84. */
#include "coords.h"
#include "workspace.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void wg_coord_cache_free(wg_coord_cache *cc) {
    for (int k = 0; k < 8; k++) proj_destroy(cc->pj[k]);
    memset(cc, 0, sizeof *cc);
}

static int parse_number(const char *s, double *out) {
    while (isspace((unsigned char)*s)) s++;
    if (!*s) return 0;
    char *end;
    *out = strtod(s, &end);
    while (isspace((unsigned char)*end)) end++;
    return *end == '\0';
}

static int epsg_to_wgs84(wg_ctx *ctx, wg_coord_cache *cc, int epsg, double x, double y,
                         double *lon, double *lat) {
    int k;
    for (k = 0; k < 8 && cc->pj[k]; k++)
        if (cc->epsg[k] == epsg) break;
    if (k == 8) { /* full: recycle the last slot */
        k = 7;
        proj_destroy(cc->pj[7]);
        cc->pj[7] = NULL;
    }
    if (!cc->pj[k]) {
        char src[32];
        snprintf(src, sizeof src, "EPSG:%d", epsg);
        if (!(cc->pj[k] = wg_proj_transform(ctx, src, "EPSG:4326"))) return 0;
        cc->epsg[k] = epsg;
    }
    PJ_COORD c = proj_trans(cc->pj[k], PJ_FWD, proj_coord(x, y, 0, 0));
    *lon = c.xy.x, *lat = c.xy.y;
    return isfinite(*lon) && isfinite(*lat) && fabs(*lon) <= 180 && fabs(*lat) <= 90;
}

void wg_coords_from_xy(wg_ctx *ctx, wg_coord_cache *cc, double x, double y, const char *crs,
                       wg_crs_kind kind, int epsg, wg_coord_result *out) {
    memset(out, 0, sizeof *out);
    if (crs && wg_crs_parse(*crs ? crs : "wgs84", &kind, &epsg)) {
        snprintf(out->reason, sizeof out->reason, "unknown CRS '%.40s'", crs);
        return;
    }
    if (!isfinite(x) || !isfinite(y)) {
        snprintf(out->reason, sizeof out->reason, "coordinate is not finite (%g, %g)", x, y);
        return;
    }
    if (kind == WG_CRS_EPSG) {
        if (epsg_to_wgs84(ctx, cc, epsg, x, y, &out->lon, &out->lat)) out->ok = 1;
        else snprintf(out->reason, sizeof out->reason, "(%g, %g) is outside EPSG:%d", x, y, epsg);
        return;
    }
    if (fabs(x) > 180 || fabs(y) > 90) {
        if (fabs(x) <= 90 && fabs(y) <= 180) {
            snprintf(out->reason, sizeof out->reason,
                     "latitude %g out of range: latitude and longitude look swapped", y);
            out->swapped = 1;
        } else {
            snprintf(out->reason, sizeof out->reason, "out of range: lon %g, lat %g", x, y);
        }
        return;
    }
    out->ok = wg_to_wgs84(ctx, kind, epsg, x, y, &out->lon, &out->lat) == WG_OK;
    if (!out->ok) snprintf(out->reason, sizeof out->reason, "cannot convert (%g, %g)", x, y);
}

void wg_coords_from_text(wg_ctx *ctx, wg_coord_cache *cc, const char *sx, const char *sy,
                         const char *crs, wg_crs_kind kind, int epsg, wg_coord_result *out) {
    double x, y;
    memset(out, 0, sizeof *out);
    if (!*sx || !*sy) {
        snprintf(out->reason, sizeof out->reason, "missing %s", !*sx ? "longitude" : "latitude");
        return;
    }
    int hx = parse_number(sx, &x), hy = parse_number(sy, &y);
    if (!hx || !hy) {
        snprintf(out->reason, sizeof out->reason, "%s '%.40s' is not a number",
                 !hx ? "longitude" : "latitude", !hx ? sx : sy);
        return;
    }
    wg_coords_from_xy(ctx, cc, x, y, crs, kind, epsg, out);
}
