/* cmd_aggregate.c -- `wangge aggregate`: incidents counted per grid, micro-grid,
 * village, town or hexagon, as polygons styled for QGIS. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *out) {
    fprintf(out,
        "usage: wangge aggregate WS --by UNIT -o OUT [options]\n\n"
        "Counts the incidents stored in WS (by `place --store` or the HTTP service) per\n"
        "unit and writes one polygon per unit (WGS84) to OUT, any OGR format by its\n"
        "extension (.gpkg .geojson .shp .fgb .csv), with the fields\n"
        "  code, name, level, area_km2 (in the workspace's metric CRS), count,\n"
        "  count_km2, open, overdue, class (1-based quantile class of count_km2),\n"
        "  and one count per category: n_<category> (ASCII other than letters and\n"
        "  digits replaced by '_', Chinese kept; made unique), or cat_01, cat_02, ...\n"
        "  in a Shapefile (10-byte names; --json lists which is which).\n"
        "Units without incidents are written with 0. A unit counts the incidents placed\n"
        "in it (their stored code). Open: status not 'closed' (none, 'reported' and\n"
        "every other status are open); overdue: open with a deadline before --at.\n"
        "The layer's style (quantile classes of count_km2, yellow to red) is written\n"
        "for QGIS: OUT's stem + .qml beside the file, or, in a GeoPackage, the\n"
        "layer_styles table, so QGIS opens the layer coloured. Written aside and moved\n"
        "into place when complete.\n\n"
        "  --by UNIT       grid | micro | village | town | hex:SIZE_M (required).\n"
        "                  hex: flat-topped hexagons of edge SIZE_M metres (centre to\n"
        "                  corner) in the metric CRS, on a lattice fixed to the CRS's\n"
        "                  origin (the same hexagon keeps its code H<col>_<row> from\n"
        "                  run to run), clipped to the county; only incidents inside\n"
        "                  the county are counted\n"
        "  -o OUT          output file (required)\n"
        "  --from DATE     incidents reported on or after DATE (YYYY-MM-DD, as reported)\n"
        "  --to DATE       ... on or before DATE\n"
        "  --category C    only incidents of category C\n"
        "  --at TIME       when overdue is judged: YYYY-MM-DD (00:00 UTC) or RFC 3339\n"
        "                  (default: now)\n"
        "  --classes N     quantile classes for the style, 1..12 (default 5; equal\n"
        "                  breaks are merged)\n"
        "  --json          print the summary as JSON on stdout\n"
        "Exit status: 0 ok, 1 failure, 2 usage error.\n");
}

static int parse_by(const char *s, wg_aggregate_opts *o) {
    static const char *const names[] = {"grid", "micro", "village", "town"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i])) {
            o->by = (wg_agg_by)i;
            return 1;
        }
    if (strncmp(s, "hex:", 4)) return 0;
    char *end;
    o->by = WG_AGG_HEX;
    o->hex_size_m = strtod(s + 4, &end);
    return end != s + 4 && !*end && isfinite(o->hex_size_m) && o->hex_size_m >= 1;
}

static void print_json(const wg_aggregate_opts *o, const char *by, const char *path,
                       const wg_aggregate_report *r) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "by", by);
    if (o->by == WG_AGG_HEX) cJSON_AddNumberToObject(j, "hex_size_m", o->hex_size_m);
    cJSON_AddStringToObject(j, "output", path);
    if (r->style[0]) cJSON_AddStringToObject(j, "style", r->style);
    else cJSON_AddStringToObject(j, "style", "layer_styles");
    cJSON_AddNumberToObject(j, "units", (double)r->units);
    cJSON_AddNumberToObject(j, "selected", (double)r->selected);
    cJSON_AddNumberToObject(j, "counted", (double)r->counted);
    cJSON_AddNumberToObject(j, "open", (double)r->open);
    cJSON_AddNumberToObject(j, "overdue", (double)r->overdue);
    cJSON_AddNumberToObject(j, "area_km2", r->area_km2);
    cJSON_AddNumberToObject(j, "classes", r->classes);
    cJSON_AddItemToObject(j, "breaks", cJSON_CreateDoubleArray(r->breaks, r->classes + 1));
    cJSON *cats = cJSON_AddArrayToObject(j, "categories");
    for (size_t i = 0; i < r->ncategories; i++) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "field", r->categories[i].field);
        cJSON_AddStringToObject(c, "category", r->categories[i].category);
        cJSON_AddNumberToObject(c, "count", (double)r->categories[i].count);
        cJSON_AddItemToArray(cats, c);
    }
    cli_json_out(j, 0);
}

int cmd_aggregate(int argc, char **argv) {
    enum { O_BY = 256, O_FROM, O_TO, O_CAT, O_AT, O_CLASSES, O_JSON };
    static const struct option longopts[] = {
        {"by", required_argument, 0, O_BY},         {"output", required_argument, 0, 'o'},
        {"from", required_argument, 0, O_FROM},     {"to", required_argument, 0, O_TO},
        {"category", required_argument, 0, O_CAT},  {"at", required_argument, 0, O_AT},
        {"classes", required_argument, 0, O_CLASSES}, {"json", no_argument, 0, O_JSON},
        {"help", no_argument, 0, 'h'},              {0, 0, 0, 0}};
    wg_aggregate_opts o;
    memset(&o, 0, sizeof o);
    const char *out = NULL, *by = NULL;
    int json = 0, c;
    char *end;
    while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        switch (c) {
        case O_BY:
            by = optarg;
            if (!parse_by(optarg, &o))
                return cli_usage_error("aggregate", "--by '%s' is not grid, micro, village, town "
                                       "or hex:SIZE_M (metres >= 1)", optarg);
            break;
        case 'o': out = optarg; break;
        case O_FROM: o.from = optarg; break;
        case O_TO: o.to = optarg; break;
        case O_CAT: o.category = optarg; break;
        case O_AT: o.at = optarg; break;
        case O_CLASSES:
            o.classes = (int)strtol(optarg, &end, 10);
            if (*end || end == optarg || o.classes < 1 || o.classes > WG_AGG_MAX_CLASSES)
                return cli_usage_error("aggregate", "--classes needs 1..%d, not '%s'",
                                       WG_AGG_MAX_CLASSES, optarg);
            break;
        case O_JSON: json = 1; break;
        case 'h': help(stdout); return EXIT_OK;
        default: help(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) return cli_usage_error("aggregate", "expected one workspace path");
    if (!by) return cli_usage_error("aggregate", "--by is required");
    if (!out) return cli_usage_error("aggregate", "-o OUT is required");

    wg_ctx *ctx = cli_ctx();
    wg_ws *ws = NULL;
    wg_aggregate_report rep;
    memset(&rep, 0, sizeof rep);
    wg_status st = wg_ws_open(ctx, argv[optind], 1, &ws);
    if (!st) st = wg_aggregate(ws, &o, out, &rep);
    cli_progress_done();
    int rc = EXIT_OK;
    if (st) {
        /* options the engine judges (dates, --at) are usage errors too */
        rc = st == WG_ERR_INVALID_ARG && strstr(wg_ctx_errmsg(ctx), "is not a date")
                 ? (fprintf(stderr, "wangge aggregate: %s\n", wg_ctx_errmsg(ctx)), EXIT_USAGE)
                 : cli_fail("aggregate", ctx, st);
    } else {
        fprintf(stderr, "aggregate by %s: %lld of %lld selected incidents counted in %lld units "
                "(%.3f km2; %lld open, %lld overdue), %d classes -> %s (style: %s)\n",
                by, (long long)rep.counted, (long long)rep.selected, (long long)rep.units,
                rep.area_km2, (long long)rep.open, (long long)rep.overdue, rep.classes, out,
                rep.style[0] ? rep.style : "layer_styles");
        if (json) print_json(&o, by, out, &rep);
    }
    wg_aggregate_report_free(&rep);
    wg_ws_close(ws);
    wg_ctx_free(ctx);
    return rc;
}
