/* crs.c -- the coordinate systems handsets speak, and the metric CRS we pick.
 *
 * Phones and web maps in China rarely hand us WGS84. AMap and Tencent report
 * GCJ-02, a WGS84 position pushed by a deterministic, smooth offset of a few
 * hundred metres; Baidu reports BD-09, a further polar-coordinate wobble on
 * top of GCJ-02. PROJ knows neither, so they live here as pure functions.
 *
 * Design decisions, and why:
 *  - The forward maps (WGS84 -> GCJ-02 -> BD-09) are the widely published
 *    formulas, with the Krasovsky 1940 ellipsoid constants the original uses.
 *    Every implementation in circulation shares them, so our output agrees
 *    with the phones' to the last digit that matters.
 *  - The inverses are not closed-form. The usual shortcut (subtract the
 *    offset computed at the obfuscated point) is wrong by up to a metre or
 *    two, which is enough to move a house into the neighbouring grid. We
 *    instead solve F(w) = g by fixed-point iteration w <- w - (F(w) - g).
 *    The offset's derivative is tiny (about 1e-5 per degree, since the offset
 *    barely changes across hundreds of metres), so each step gains about five
 *    decimal digits and two or three steps reach 1e-12 degrees. We stop when
 *    the forward-mapped error is under 1e-10 degrees (about 0.01 mm) and cap
 *    the steps, so a pathological input cannot spin. Newton was rejected: the
 *    GCJ-02 polynomial has a sqrt(|lon - 105|) term, not differentiable on
 *    the 105E meridian, and the plain contraction needs no derivative.
 *  - GCJ-02 applies only inside China's rough bounding box (the same box the
 *    published code uses); outside it the map is the identity. That makes
 *    the map discontinuous on the box's edge, where a GCJ point may have two
 *    preimages; the inverse prefers the one inside the box (see below). BD-09 is
 *    applied wherever it is asked for: it is a formula on GCJ-02 values.
 *  - The metric CRS is the CGCS2000 3-degree Gauss-Krüger zone inside China
 *    (what Chinese surveying offices deliver; at a zone's edge the scale
 *    error stays under 0.035 %, a third of a 6-degree UTM zone's), else
 *    WGS84 UTM.
 *  - No context argument: these functions cannot fail except on bad input,
 *    which the status reports on its own. */
#include "wangge/wangge.h"

#include <math.h>

#define WG_PI 3.14159265358979323846

/* Krasovsky 1940, as in the published GCJ-02 code. */
static const double KRASOVSKY_A = 6378245.0;
static const double KRASOVSKY_EE = 0.00669342162296594323;

/* BD-09's angular constant. */
static const double BD_X_PI = WG_PI * 3000.0 / 180.0;

/* Inverse iteration: stop below this forward error (degrees), or after this
 * many steps. 1e-10 degrees is about 0.011 mm of latitude. */
static const double INVERSE_TOL_DEG = 1e-10;
enum { INVERSE_MAX_STEPS = 30 };

static int valid_lonlat(double lon, double lat) {
    return isfinite(lon) && isfinite(lat) && fabs(lon) <= 180.0 && fabs(lat) <= 90.0;
}

/* The box, grown by `slack` degrees on every side. */
static int in_box(double lon, double lat, double slack) {
    return lon >= 72.004 - slack && lon <= 137.8347 + slack && lat >= 0.8293 - slack &&
           lat <= 55.8271 + slack;
}

static int in_china_bbox(double lon, double lat) { return in_box(lon, lat, 0.0); }

/* The two offset polynomials, in metres-ish units, of x = lon - 105 and
 * y = lat - 35. */
static double offset_lat(double x, double y) {
    double r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt(fabs(x));
    r += (20.0 * sin(6.0 * x * WG_PI) + 20.0 * sin(2.0 * x * WG_PI)) * 2.0 / 3.0;
    r += (20.0 * sin(y * WG_PI) + 40.0 * sin(y / 3.0 * WG_PI)) * 2.0 / 3.0;
    r += (160.0 * sin(y / 12.0 * WG_PI) + 320.0 * sin(y * WG_PI / 30.0)) * 2.0 / 3.0;
    return r;
}

static double offset_lon(double x, double y) {
    double r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt(fabs(x));
    r += (20.0 * sin(6.0 * x * WG_PI) + 20.0 * sin(2.0 * x * WG_PI)) * 2.0 / 3.0;
    r += (20.0 * sin(x * WG_PI) + 40.0 * sin(x / 3.0 * WG_PI)) * 2.0 / 3.0;
    r += (150.0 * sin(x / 12.0 * WG_PI) + 300.0 * sin(x / 30.0 * WG_PI)) * 2.0 / 3.0;
    return r;
}

/* The GCJ-02 offset applied unconditionally (the caller checks the box). */
static void gcj_shift(double lon, double lat, double *olon, double *olat) {
    double dlat = offset_lat(lon - 105.0, lat - 35.0);
    double dlon = offset_lon(lon - 105.0, lat - 35.0);
    double radlat = lat / 180.0 * WG_PI;
    double magic = sin(radlat);
    magic = 1.0 - KRASOVSKY_EE * magic * magic;
    double sqrtmagic = sqrt(magic);
    dlat = (dlat * 180.0) / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrtmagic) * WG_PI);
    dlon = (dlon * 180.0) / (KRASOVSKY_A / sqrtmagic * cos(radlat) * WG_PI);
    *olon = lon + dlon;
    *olat = lat + dlat;
}

/* The forward map: shifted inside the box, the identity outside. */
static void gcj_forward(double lon, double lat, double *olon, double *olat) {
    if (in_china_bbox(lon, lat)) {
        gcj_shift(lon, lat, olon, olat);
    } else {
        *olon = lon;
        *olat = lat;
    }
}

static void bd_forward(double lon, double lat, double *olon, double *olat) {
    double z = sqrt(lon * lon + lat * lat) + 0.00002 * sin(lat * BD_X_PI);
    double theta = atan2(lat, lon) + 0.000003 * cos(lon * BD_X_PI);
    *olon = z * cos(theta) + 0.0065;
    *olat = z * sin(theta) + 0.006;
}

/* Solves fwd(w) = (lon, lat) for w by fixed-point iteration from `start`. */
static void invert(void (*fwd)(double, double, double *, double *), double lon, double lat,
                   double start_lon, double start_lat, double *olon, double *olat) {
    double wlon = start_lon, wlat = start_lat;
    for (int i = 0; i < INVERSE_MAX_STEPS; i++) {
        double flon, flat;
        fwd(wlon, wlat, &flon, &flat);
        double elon = flon - lon, elat = flat - lat;
        if (fabs(elon) < INVERSE_TOL_DEG && fabs(elat) < INVERSE_TOL_DEG) break;
        wlon -= elon;
        wlat -= elat;
    }
    *olon = wlon;
    *olat = wlat;
}

wg_status wg_gcj02_from_wgs84(double lon, double lat, double *out_lon, double *out_lat) {
    if (!valid_lonlat(lon, lat)) return WG_ERR_INVALID_ARG;
    gcj_forward(lon, lat, out_lon, out_lat);
    return WG_OK;
}

wg_status wg_wgs84_from_gcj02(double lon, double lat, double *out_lon, double *out_lat) {
    if (!valid_lonlat(lon, lat)) return WG_ERR_INVALID_ARG;
    /* The offset is under 0.01 degree, so a GCJ point further than that
     * outside the box can only be the image of itself. */
    if (!in_box(lon, lat, 0.05)) {
        *out_lon = lon;
        *out_lat = lat;
        return WG_OK;
    }
    /* Invert the shift itself, not the piecewise map: along the box's edge a
     * GCJ point can have two preimages (a shifted one inside the box and
     * itself outside it), and the one inside is the one a Chinese handset
     * produced. Starting at the GCJ point, the first step is the usual
     * one-step approximation. If the solution falls outside the box while
     * the point itself is outside too, the identity is the answer. The
     * slack lets a point exactly on the edge survive the last rounding. */
    double wlon, wlat;
    invert(gcj_shift, lon, lat, lon, lat, &wlon, &wlat);
    if (!in_box(wlon, wlat, 1e-9) && !in_china_bbox(lon, lat)) {
        wlon = lon;
        wlat = lat;
    }
    *out_lon = wlon;
    *out_lat = wlat;
    return WG_OK;
}

wg_status wg_bd09_from_gcj02(double lon, double lat, double *out_lon, double *out_lat) {
    if (!valid_lonlat(lon, lat)) return WG_ERR_INVALID_ARG;
    bd_forward(lon, lat, out_lon, out_lat);
    return WG_OK;
}

wg_status wg_gcj02_from_bd09(double lon, double lat, double *out_lon, double *out_lat) {
    if (!valid_lonlat(lon, lat)) return WG_ERR_INVALID_ARG;
    /* Start from Baidu's published one-step inverse, then polish. */
    double x = lon - 0.0065, y = lat - 0.006;
    double z = sqrt(x * x + y * y) - 0.00002 * sin(y * BD_X_PI);
    double theta = atan2(y, x) - 0.000003 * cos(x * BD_X_PI);
    invert(bd_forward, lon, lat, z * cos(theta), z * sin(theta), out_lon, out_lat);
    return WG_OK;
}

int wg_crs_metric_epsg(double lon, double lat) {
    if (!valid_lonlat(lon, lat)) return 0;
    if (in_china_bbox(lon, lat)) {
        /* CGCS2000 / 3-degree Gauss-Kruger CM 75E (EPSG:4534) .. CM 135E
         * (EPSG:4554), the variants without the zone number prefixed to the
         * easting. The box reaches past both ends, so clamp. */
        int cm = 3 * (int)lround(lon / 3.0);
        if (cm < 75) cm = 75;
        if (cm > 135) cm = 135;
        return 4534 + (cm - 75) / 3;
    }
    /* Plain UTM zones. The Norway (32V) and Svalbard (31X-37X) exceptions
     * are ignored: a standard zone is still a fine metric CRS there, and
     * nobody runs Chinese grid governance in Bergen. Beyond 84N/80S UTM is
     * formally undefined (UPS takes over); we still return the zone. */
    int zone = (int)floor((lon + 180.0) / 6.0) + 1;
    if (zone > 60) zone = 60; /* lon == 180 */
    return (lat >= 0.0 ? 32600 : 32700) + zone;
}
