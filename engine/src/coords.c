/* coords.c -- judging a row's coordinates: missing, not a number, not
 * finite, out of range, swapped, or fine and converted to WGS84. */
#include "coords.h"
#include "workspace.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void wg_coord_cache_free(wg_coord_cache *cc) {
    for (int k = 0; k < 8; k++) proj_destroy(cc->pj[k]);
    memset(cc, 0, sizeof *cc);
}

/* Plain decimals ("119.334453", "-0.5") without strtod: with at most 15
 * significant digits and at most 22 after the point, the digits form an
 * integer M < 2^53 and 10^k is exact, so M / 10^k is one correctly rounded
 * IEEE division: the very double strtod returns (Clinger's fast path).
 * Anything else -- exponents, spaces, hex, long mantissas -- returns 0 and
 * goes to strtod. */
static int parse_plain_decimal(const char *s, double *out) {
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    int neg = *s == '-';
    if (*s == '-' || *s == '+') s++;
    uint64_t m = 0;
    int digits = 0, frac = -1, any = 0;
    for (;; s++) {
        if (*s >= '0' && *s <= '9') {
            any = 1;
            if (m || *s != '0') digits++; /* leading zeros are not significant */
            m = m * 10 + (uint64_t)(*s - '0');
            if (digits > 15) return 0;
            if (frac >= 0 && ++frac > 22) return 0;
        } else if (*s == '.' && frac < 0) {
            frac = 0;
        } else {
            break;
        }
    }
    if (*s || !any) return 0;
    double v = (double)m / p10[frac > 0 ? frac : 0];
    *out = neg ? -v : v;
    return 1;
}

static int parse_number(const char *s, double *out) {
    if (parse_plain_decimal(s, out)) return 1;
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
