/* cmd_ws.c -- `wangge init` and `wangge info`. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static void init_help(FILE *out) {
    fprintf(out,
            "usage: wangge init WS [--crs EPSG:n]\n\n"
            "Creates the workspace file WS (SpatiaLite). Geometries are stored in WGS84;\n"
            "areas and distances use a projected metric CRS: --crs sets it, otherwise it is\n"
            "chosen from the first imported data (CGCS2000 3-degree Gauss-Kruger zone\n"
            "EPSG:4534-4554 inside China, UTM elsewhere).\n\n"
            "  --crs EPSG:n   metric CRS (must be projected, in metres)\n"
            "  -h, --help     this text\n");
}

int cmd_init(int argc, char **argv) {
    static const struct option longopts[] = {
        {"crs", required_argument, 0, 'c'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int epsg = 0, c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            if (!(epsg = cli_parse_epsg(optarg)))
                return cli_usage_error("init", "--crs '%s' is not EPSG:n", optarg);
            break;
        case 'h': init_help(stdout); return EXIT_OK;
        default: init_help(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) return cli_usage_error("init", "expected one workspace path");
    wg_ctx *ctx = cli_ctx();
    wg_ws *ws = NULL;
    wg_status st = wg_ws_create(ctx, argv[optind], epsg, &ws);
    int rc = st ? cli_fail("init", ctx, st) : EXIT_OK;
    if (!st) {
        if (epsg) fprintf(stderr, "created %s (metric CRS EPSG:%d)\n", argv[optind], epsg);
        else fprintf(stderr, "created %s (metric CRS chosen at first import)\n", argv[optind]);
    }
    wg_ws_close(ws);
    wg_ctx_free(ctx);
    return rc;
}

static void info_help(FILE *out) {
    fprintf(out, "usage: wangge info WS\n\n"
                 "Prints a JSON summary of the workspace: schema version, metric CRS, and the\n"
                 "number of current units per level, officers and incidents.\n");
}

int cmd_info(int argc, char **argv) {
    static const struct option longopts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'h') {
            info_help(stdout);
            return EXIT_OK;
        }
        info_help(stderr);
        return EXIT_USAGE;
    }
    if (optind != argc - 1) return cli_usage_error("info", "expected one workspace path");
    wg_ctx *ctx = cli_ctx();
    wg_ws *ws = NULL;
    wg_ws_counts counts;
    wg_status st = wg_ws_open(ctx, argv[optind], 1, &ws);
    if (!st) st = wg_ws_count(ws, &counts);
    int rc = st ? cli_fail("info", ctx, st) : EXIT_OK;
    if (!st) {
        cJSON *o = cJSON_CreateObject(), *lv = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "workspace", argv[optind]);
        cJSON_AddNumberToObject(o, "schema_version", WG_SCHEMA_VERSION);
        cJSON_AddNumberToObject(o, "metric_epsg", wg_ws_metric_epsg(ws));
        for (int l = 0; l < WG_LEVEL_COUNT; l++)
            cJSON_AddNumberToObject(lv, wg_level_name((wg_level)l), (double)counts.units[l]);
        cJSON_AddItemToObject(o, "units", lv);
        cJSON_AddNumberToObject(o, "unit_versions", (double)counts.unit_versions);
        cJSON_AddNumberToObject(o, "officers", (double)counts.officers);
        cJSON_AddNumberToObject(o, "assignments", (double)counts.assignments);
        cJSON_AddNumberToObject(o, "incidents", (double)counts.incidents);
        cli_json_out(o, 1);
    }
    wg_ws_close(ws);
    wg_ctx_free(ctx);
    return rc;
}
