/* cmd_locate.c -- `wangge locate`: who owns this point. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *out) {
    fprintf(out,
        "usage: wangge locate WS --lon X --lat Y [--crs C] [--at DATE] [--tolerance M]\n\n"
        "Prints, as JSON, the units containing the point (county, town, village,\n"
        "comprehensive grid, micro-grid, every exclusive grid) and the officers\n"
        "responsible for them, grouped by role, with a status:\n"
        "  inside   a comprehensive grid contains the point\n"
        "  nearest  none does, but one lies within the tolerance (distance_m given)\n"
        "  outside  no grid within the tolerance\n"
        "A point on an edge shared by two units belongs to the unit east of it (north of\n"
        "it on an east-west edge), so to exactly one.\n\n"
        "  --lon X, --lat Y   the point (x, y in the CRS for EPSG codes)\n"
        "  --crs C            wgs84 (default, GPS) | cgcs2000 | gcj02 (AMap, Tencent) |\n"
        "                     bd09 (Baidu) | EPSG:n\n"
        "  --at DATE          use the unit versions valid on DATE (YYYY-MM-DD)\n"
        "  --tolerance M      GPS error allowance for `nearest`, metres (default 30)\n");
}

static int add_officer(void *user, const wg_officer *of) {
    cJSON *by_role = user, *arr = cJSON_GetObjectItemCaseSensitive(by_role, of->role);
    if (!arr) cJSON_AddItemToObject(by_role, of->role, arr = cJSON_CreateArray());
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "officer_id", of->officer_id);
    cJSON_AddStringToObject(o, "name", of->name);
    if (of->phone) cJSON_AddStringToObject(o, "phone", of->phone);
    cJSON_AddStringToObject(o, "unit", of->unit_code);
    cJSON_AddItemToArray(arr, o);
    return 0;
}

static int parse_num(const char *s, double *out) {
    char *end;
    *out = strtod(s, &end);
    return *s && !*end && isfinite(*out);
}

int cmd_locate(int argc, char **argv) {
    enum { O_LON = 256, O_LAT, O_CRS, O_AT, O_TOL };
    static const struct option longopts[] = {
        {"lon", required_argument, 0, O_LON}, {"lat", required_argument, 0, O_LAT},
        {"crs", required_argument, 0, O_CRS}, {"at", required_argument, 0, O_AT},
        {"tolerance", required_argument, 0, O_TOL}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    double x = NAN, y = NAN, tol = 30.0;
    const char *crs = "wgs84", *at = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_LON:
            if (!parse_num(optarg, &x)) return cli_usage_error("locate", "--lon '%s' is not a number", optarg);
            break;
        case O_LAT:
            if (!parse_num(optarg, &y)) return cli_usage_error("locate", "--lat '%s' is not a number", optarg);
            break;
        case O_CRS: crs = optarg; break;
        case O_AT: at = optarg; break;
        case O_TOL:
            if (!parse_num(optarg, &tol) || tol < 0)
                return cli_usage_error("locate", "--tolerance needs metres >= 0");
            break;
        case 'h': help(stdout); return EXIT_OK;
        default: help(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) return cli_usage_error("locate", "expected one workspace path");
    if (isnan(x) || isnan(y)) return cli_usage_error("locate", "--lon and --lat are required");
    wg_crs_kind kind;
    int epsg;
    if (wg_crs_parse(crs, &kind, &epsg))
        return cli_usage_error("locate", "--crs '%s' is not wgs84, cgcs2000, gcj02, bd09 or EPSG:n", crs);
    wg_ctx *ctx = cli_ctx();
    wg_ws *ws = NULL;
    wg_locator *loc = NULL;
    wg_placement pl;
    double lon = 0, lat = 0;
    wg_status st = wg_to_wgs84(ctx, kind, epsg, x, y, &lon, &lat);
    if (st) {
        fprintf(stderr, "wangge locate: error: (%g, %g) is not a valid %s coordinate%s%s\n", x, y,
                crs, *wg_ctx_errmsg(ctx) ? ": " : "", wg_ctx_errmsg(ctx));
        wg_ctx_free(ctx);
        return EXIT_FAIL;
    }
    int rc = EXIT_OK;
    if ((st = wg_ws_open(ctx, argv[optind], 1, &ws)) || (st = wg_locator_build(ws, at, &loc)) ||
        (st = wg_locator_place(loc, lon, lat, tol, &pl))) {
        rc = cli_fail("locate", ctx, st);
        goto done;
    }
    cJSON *o = cli_locate_json(&pl, x, y, crs, lon, lat, at);
    /* Officers of the grid, its micro-grid, the village and the exclusive grids. */
    const char *codes[WG_PLACE_MAX_EXCL + 3];
    size_t nc = cli_officer_codes(&pl, NULL, codes, NULL, 0);
    cJSON *officers = cJSON_CreateObject();
    st = wg_officers_for_units(ws, codes, nc, add_officer, officers);
    cJSON_AddItemToObject(o, "officers", officers);
    if (st) {
        rc = cli_fail("locate", ctx, st);
        cJSON_Delete(o);
    } else {
        cli_json_out(o, 1);
    }
done:
    wg_locator_free(loc);
    wg_ws_close(ws);
    wg_ctx_free(ctx);
    return rc;
}
