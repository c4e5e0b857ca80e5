/* cmd_export.c -- `wangge export`. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *out) {
    fprintf(out,
        "usage: wangge export WS --layer admin|grids|micro|exclusive|officers -o FILE [--at DATE]\n\n"
        "Writes a layer of the workspace; the format follows FILE's extension:\n"
        "  .geojson/.json  GeoJSON (RFC 7946, lon/lat)\n"
        "  .shp            ESRI Shapefile, UTF-8 with a .cpg so Chinese names survive\n"
        "  .gpkg           GeoPackage\n"
        "  .fgb            FlatGeobuf\n"
        "The file is written aside and moved into place when complete.\n\n"
        "  --layer L     admin (county, towns, villages), grids, micro, exclusive, officers\n"
        "  -o FILE       output path\n"
        "  --at DATE     the versions valid on DATE (YYYY-MM-DD), default the current ones\n"
        "  --json        print {\"layer\":..,\"file\":..,\"features\":n} on stdout\n");
}

int cmd_export(int argc, char **argv) {
    enum { O_LAYER = 256, O_AT, O_JSON };
    static const struct option longopts[] = {
        {"layer", required_argument, 0, O_LAYER}, {"output", required_argument, 0, 'o'},
        {"at", required_argument, 0, O_AT},       {"json", no_argument, 0, O_JSON},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    const char *out = NULL, *at = NULL, *lname = NULL;
    int json = 0, c;
    wg_layer layer = WG_LAYER_GRIDS;
    while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        switch (c) {
        case O_LAYER:
            lname = optarg;
            if (wg_layer_parse(optarg, &layer))
                return cli_usage_error("export", "--layer '%s' is not one of admin, grids, micro, "
                                       "exclusive, officers", optarg);
            break;
        case 'o': out = optarg; break;
        case O_AT: at = optarg; break;
        case O_JSON: json = 1; break;
        case 'h': help(stdout); return EXIT_OK;
        default: help(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) return cli_usage_error("export", "expected one workspace path");
    if (!lname) return cli_usage_error("export", "--layer is required");
    if (!out) return cli_usage_error("export", "-o FILE is required");
    wg_ctx *ctx = cli_ctx();
    wg_ws *ws = NULL;
    int64_t n = 0;
    wg_status st = wg_ws_open(ctx, argv[optind], 1, &ws);
    if (!st) st = wg_export_layer(ws, layer, out, at, &n);
    int rc = st ? cli_fail("export", ctx, st) : EXIT_OK;
    cli_progress_done();
    if (!st) {
        fprintf(stderr, "wrote %lld %s features to %s\n", (long long)n, lname, out);
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "layer", lname);
            cJSON_AddStringToObject(o, "file", out);
            cJSON_AddNumberToObject(o, "features", (double)n);
            cli_json_out(o, 0);
        }
    }
    wg_ws_close(ws);
    wg_ctx_free(ctx);
    return rc;
}
