/* cmd_import.c -- `wangge import-grids` and `wangge import-officers`. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static void grids_help(FILE *out) {
    fprintf(out,
        "usage: wangge import-grids WS SRC [options]\n\n"
        "Imports admin units or grids from any OGR source (Shapefile, GeoPackage,\n"
        "GeoJSON, FlatGeobuf, PostGIS \"PG:...\"), reprojecting to WGS84. One\n"
        "transaction: on any error the workspace is left as it was. Importing a level\n"
        "again makes a new version: the old rows are kept with valid_to set.\n\n"
        "  --layer L          layer of SRC (default: the first)\n"
        "  --level LEVEL      county|town|village|grid|micro|exclusive for every feature\n"
        "  --level-field F    or read each feature's level from field F\n"
        "  --code-field F     unit code field (default: code)\n"
        "  --name-field F     name field (default: name, if present)\n"
        "  --parent-field F   parent code field (default: found spatially)\n"
        "  --kind-field F     kind field (e.g. school/hospital for exclusive grids)\n"
        "  --s-srs CRS        source CRS when the layer has none or a wrong one\n"
        "                     (EPSG:n, WKT or PROJ string)\n"
        "  --encoding ENC     text encoding of a Shapefile's DBF (default: the .cpg, else\n"
        "                     UTF-8 if valid, else GBK)\n"
        "  --valid-from DATE  first day of this version, YYYY-MM-DD (default: today)\n"
        "  --json             print the result as JSON on stdout\n"
        "  -h, --help         this text\n");
}

int cmd_import_grids(int argc, char **argv) {
    enum { O_LAYER = 256, O_LEVEL, O_LEVEL_F, O_CODE_F, O_NAME_F, O_PARENT_F, O_KIND_F, O_SSRS,
           O_ENC, O_FROM, O_JSON };
    static const struct option longopts[] = {
        {"layer", required_argument, 0, O_LAYER},       {"level", required_argument, 0, O_LEVEL},
        {"level-field", required_argument, 0, O_LEVEL_F},
        {"code-field", required_argument, 0, O_CODE_F}, {"name-field", required_argument, 0, O_NAME_F},
        {"parent-field", required_argument, 0, O_PARENT_F},
        {"kind-field", required_argument, 0, O_KIND_F}, {"s-srs", required_argument, 0, O_SSRS},
        {"encoding", required_argument, 0, O_ENC},      {"valid-from", required_argument, 0, O_FROM},
        {"json", no_argument, 0, O_JSON},               {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    wg_import_opts o;
    memset(&o, 0, sizeof o);
    o.level = -1;
    int json = 0, c;
    wg_level lv;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_LAYER: o.layer = optarg; break;
        case O_LEVEL:
            if (wg_level_parse(optarg, &lv))
                return cli_usage_error("import-grids", "--level '%s' is not one of county, town, "
                                       "village, grid, micro, exclusive", optarg);
            o.level = (int)lv;
            break;
        case O_LEVEL_F: o.level_field = optarg; break;
        case O_CODE_F: o.code_field = optarg; break;
        case O_NAME_F: o.name_field = optarg; break;
        case O_PARENT_F: o.parent_field = optarg; break;
        case O_KIND_F: o.kind_field = optarg; break;
        case O_SSRS: o.s_srs = optarg; break;
        case O_ENC: o.encoding = optarg; break;
        case O_FROM: o.valid_from = optarg; break;
        case O_JSON: json = 1; break;
        case 'h': grids_help(stdout); return EXIT_OK;
        default: grids_help(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc - 2) return cli_usage_error("import-grids", "expected WS and SRC");
    if ((o.level < 0) == (o.level_field == NULL))
        return cli_usage_error("import-grids", "give exactly one of --level and --level-field");
    const char *wsp = argv[optind], *src = argv[optind + 1];
    wg_ctx *ctx = cli_ctx();
    wg_ws *ws = NULL;
    wg_import_report rep;
    wg_status st = wg_ws_open(ctx, wsp, 0, &ws);
    if (!st) st = wg_grids_import(ws, src, &o, &rep);
    int rc = st ? cli_fail("import-grids", ctx, st) : EXIT_OK;
    cli_progress_done();
    if (!st) {
        fprintf(stderr, "imported %lld units from %s (encoding %s), superseded %lld, "
                "without parent %lld; metric CRS EPSG:%d\n", (long long)rep.imported, src,
                rep.encoding, (long long)rep.superseded, (long long)rep.orphans, rep.metric_epsg);
        if (json) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "source", src);
            cJSON_AddNumberToObject(j, "imported", (double)rep.imported);
            cJSON_AddNumberToObject(j, "superseded", (double)rep.superseded);
            cJSON_AddNumberToObject(j, "orphans", (double)rep.orphans);
            cJSON_AddStringToObject(j, "encoding", rep.encoding);
            cJSON_AddNumberToObject(j, "metric_epsg", rep.metric_epsg);
            cli_json_out(j, 0);
        }
    }
    wg_ws_close(ws);
    wg_ctx_free(ctx);
    return rc;
}

static void officers_help(FILE *out) {
    fprintf(out,
        "usage: wangge import-officers WS FILE.csv [--json]\n\n"
        "Replaces the workspace's officers and their grid assignments with those in a\n"
        "UTF-8 CSV with a header row and the columns (any order):\n"
        "  officer_id  unique id; repeat the line for each grid an officer serves\n"
        "  name        full name\n"
        "  role        grid_worker | grid_chief | grid_instructor | volunteer | police |\n"
        "              judge | prosecutor | lawyer\n"
        "  grid_code   code of a current unit (grid, micro-grid, village, ...)\n"
        "  phone       contact number\n"
        "  lon, lat    optional: the officer's station, WGS84 degrees\n"
        "Atomic: any bad line (unknown grid code or role, bad coordinate) fails the whole\n"
        "import; the error lists the line numbers.\n");
}

int cmd_import_officers(int argc, char **argv) {
    static const struct option longopts[] = {
        {"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int json = 0, c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'h': officers_help(stdout); return EXIT_OK;
        default: officers_help(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc - 2) return cli_usage_error("import-officers", "expected WS and FILE");
    wg_ctx *ctx = cli_ctx();
    wg_ws *ws = NULL;
    int64_t n = 0;
    wg_status st = wg_ws_open(ctx, argv[optind], 0, &ws);
    if (!st) st = wg_officers_import(ws, argv[optind + 1], &n);
    int rc = st ? cli_fail("import-officers", ctx, st) : EXIT_OK;
    cli_progress_done();
    if (!st) {
        fprintf(stderr, "imported %lld officers from %s\n", (long long)n, argv[optind + 1]);
        if (json) printf("{\"imported\":%lld}\n", (long long)n);
    }
    wg_ws_close(ws);
    wg_ctx_free(ctx);
    return rc;
}
