/* fuzz_coords.c -- libFuzzer target for judging a row's coordinates
 * (engine/src/coords.c) and parsing CRS names (wg_crs_parse), the text a
 * hotline export or a handset hands us.
 *
 * The input is split at the first two NUL bytes into longitude, latitude
 * and CRS text. Invariants: a row is either accepted with finite WGS84
 * coordinates in range, or rejected with a reason; never both, never
 * neither; and the converters never return out-of-range values. */
#include "coords.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static wg_ctx *ctx;
static wg_coord_cache cache;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!ctx && wg_ctx_new(&ctx) != WG_OK) abort();
    if (size > 512) return 0;
    char buf[520];
    memcpy(buf, data, size);
    buf[size] = '\0';
    buf[size + 1] = '\0';
    buf[size + 2] = '\0';
    const char *sx = buf, *sy = sx + strlen(sx) + 1;
    const char *crs = sy <= buf + size ? sy + strlen(sy) + 1 : buf + size + 1;
    if (crs > buf + size + 1) crs = buf + size + 1;
    wg_crs_kind kind;
    int epsg;
    /* EPSG codes go through PROJ's database: keep the fuzzer on our code. */
    if (wg_crs_parse(crs, &kind, &epsg) == WG_OK && kind == WG_CRS_EPSG) crs = "gcj02";
    wg_coord_result r;
    wg_coords_from_text(ctx, &cache, sx, sy, *crs ? crs : NULL, WG_CRS_WGS84, 0, &r);
    if (r.ok) {
        if (r.reason[0]) abort();
        /* WGS84 rows are taken as written: the numbers must be strtod's,
         * to the bit, whichever parser read them. */
        if (!*crs) {
            char *e1, *e2;
            double x = strtod(sx, &e1), y = strtod(sy, &e2);
            if (memcmp(&x, &r.lon, sizeof x) != 0 || memcmp(&y, &r.lat, sizeof y) != 0) abort();
        }
        if (!isfinite(r.lon) || !isfinite(r.lat) || fabs(r.lon) > 180 || fabs(r.lat) > 90) abort();
    } else if (!r.reason[0]) {
        abort();
    }
    /* The handset converters round-trip inside China and never leave range. */
    double a, b, c, d;
    if (r.ok && wg_gcj02_from_wgs84(r.lon, r.lat, &a, &b) == WG_OK) {
        if (!isfinite(a) || !isfinite(b)) abort();
        if (wg_wgs84_from_gcj02(a, b, &c, &d) == WG_OK && (fabs(c - r.lon) > 1e-6 || fabs(d - r.lat) > 1e-6))
            abort();
    }
    return 0;
}
