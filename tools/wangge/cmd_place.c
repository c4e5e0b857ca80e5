/* cmd_place.c -- `wangge place`: a file of points into their grids. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *out) {
    fprintf(out,
        "usage: wangge place WS INPUT -o OUTPUT [options]\n\n"
        "Places every row of INPUT (any OGR source: CSV with coordinate columns,\n"
        "GeoJSON, GeoPackage, Shapefile) in its grid. OUTPUT (.csv .geojson .gpkg .shp\n"
        ".fgb) keeps every input field and adds wg_grid, wg_micro, wg_excl (codes joined\n"
        "by ';'), wg_village, wg_town, wg_county, wg_status (inside|nearest|outside) and\n"
        "wg_dist_m. Rows with missing, non-numeric, non-finite or out-of-range\n"
        "coordinates are not placed: they go to --rejects with wg_line and wg_reason\n"
        "(a likely lat/lon swap is said so) and never stop the batch.\n\n"
        "  -o OUTPUT          output file\n"
        "  --layer L          input layer (default: the first)\n"
        "  --lon-field F      longitude column (default: point geometry, else the first\n"
        "  --lat-field F        of lon/lng/longitude/x and lat/latitude/y)\n"
        "  --crs C            CRS of all rows: wgs84 (default) | cgcs2000 | gcj02 | bd09 |\n"
        "                     EPSG:n\n"
        "  --crs-field F      or a column giving each row's CRS\n"
        "  --rejects FILE     where rejected rows go (same format rules as OUTPUT)\n"
        "  --store            also keep the placed rows as incidents in the workspace\n"
        "                     (fields incident_id, reported_at, category, description)\n"
        "  --time-field F     with --store: the report time field (RFC 3339 with offset)\n"
        "  --status-field F   with --store: each row's closed-loop status (reported,\n"
        "                     accepted, assigned, handled, verified, closed): a history\n"
        "                     import, each row gets an 'import' event\n"
        "  --closed-field F   with --store: when a closed row was closed (RFC 3339)\n"
        "  --satisfaction-field F  with --store: satisfaction 1-5 (empty = not rated)\n"
        "                     Rows with a report time get a level and deadlines from the\n"
        "                     rules (`wangge rules`); `wangge stats` then reads them.\n"
        "  --threads N        worker threads (default: one per CPU)\n"
        "  --tolerance M      GPS error allowance for `nearest`, metres (default 30)\n"
        "  --at DATE          place against the unit versions valid on DATE\n"
        "  --json             print the summary as JSON on stdout\n"
        "A one-line summary goes to stderr. Exit 0 even when rows were rejected;\n"
        "1 when the batch itself failed (then no output is written, nothing stored).\n");
}

int cmd_place(int argc, char **argv) {
    enum { O_LAYER = 256, O_LONF, O_LATF, O_CRS, O_CRSF, O_REJ, O_STORE, O_THR, O_TOL, O_AT, O_JSON,
           O_TIMEF, O_STATF, O_CLOSEDF, O_SATF };
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'},     {"layer", required_argument, 0, O_LAYER},
        {"lon-field", required_argument, 0, O_LONF}, {"lat-field", required_argument, 0, O_LATF},
        {"crs", required_argument, 0, O_CRS},      {"crs-field", required_argument, 0, O_CRSF},
        {"rejects", required_argument, 0, O_REJ},  {"store", no_argument, 0, O_STORE},
        {"threads", required_argument, 0, O_THR},  {"tolerance", required_argument, 0, O_TOL},
        {"at", required_argument, 0, O_AT},        {"json", no_argument, 0, O_JSON},
        {"time-field", required_argument, 0, O_TIMEF},
        {"status-field", required_argument, 0, O_STATF},
        {"closed-field", required_argument, 0, O_CLOSEDF},
        {"satisfaction-field", required_argument, 0, O_SATF},
        {"help", no_argument, 0, 'h'},             {0, 0, 0, 0}};
    wg_place_opts o;
    memset(&o, 0, sizeof o);
    o.tolerance_m = -1;
    const char *out = NULL;
    int json = 0, c;
    char *end;
    while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case O_LAYER: o.layer = optarg; break;
        case O_LONF: o.lon_field = optarg; break;
        case O_LATF: o.lat_field = optarg; break;
        case O_CRS: o.crs = optarg; break;
        case O_CRSF: o.crs_field = optarg; break;
        case O_REJ: o.rejects = optarg; break;
        case O_STORE: o.store = 1; break;
        case O_THR:
            if (cli_threads_opt("place", optarg, 64, &o.threads)) return EXIT_USAGE;
            break;
        case O_TOL:
            o.tolerance_m = strtod(optarg, &end);
            if (*end || !(o.tolerance_m >= 0))
                return cli_usage_error("place", "--tolerance needs metres >= 0");
            break;
        case O_AT: o.at = optarg; break;
        case O_JSON: json = 1; break;
        case O_TIMEF: o.time_field = optarg; break;
        case O_STATF: o.status_field = optarg; break;
        case O_CLOSEDF: o.closed_field = optarg; break;
        case O_SATF: o.satisfaction_field = optarg; break;
        case 'h': help(stdout); return EXIT_OK;
        default: help(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc - 2) return cli_usage_error("place", "expected WS and INPUT");
    if (!out) return cli_usage_error("place", "-o OUTPUT is required");
    if (o.crs && o.crs_field) return cli_usage_error("place", "give --crs or --crs-field, not both");
    if (!o.store && (o.time_field || o.status_field || o.closed_field || o.satisfaction_field))
        return cli_usage_error("place", "--time-field, --status-field, --closed-field and "
                               "--satisfaction-field go with --store");
    wg_crs_kind kind;
    int epsg;
    if (o.crs && wg_crs_parse(o.crs, &kind, &epsg))
        return cli_usage_error("place", "--crs '%s' is not wgs84, cgcs2000, gcj02, bd09 or EPSG:n", o.crs);
    wg_ctx *ctx = cli_ctx();
    wg_ws *ws = NULL;
    wg_place_report rep;
    wg_status st = wg_ws_open(ctx, argv[optind], !o.store, &ws);
    if (!st) st = wg_place_file(ws, argv[optind + 1], out, &o, &rep);
    int rc = st ? cli_fail("place", ctx, st) : EXIT_OK;
    cli_progress_done();
    if (!st) {
        fprintf(stderr, "placed %lld rows in %.2f s (%.0f rows/s): %lld inside, %lld nearest, "
                "%lld outside, %lld rejected (%lld look lat/lon swapped)%s%s; output %s\n",
                (long long)rep.rows, rep.seconds, rep.seconds > 0 ? rep.rows / rep.seconds : 0.0,
                (long long)rep.status[WG_PLACE_INSIDE], (long long)rep.status[WG_PLACE_NEAREST],
                (long long)rep.status[WG_PLACE_OUTSIDE], (long long)rep.rejected,
                (long long)rep.swapped, o.store ? ", stored " : "",
                o.store ? "as incidents" : "", out);
        if (rep.rejected && !o.rejects)
            fprintf(stderr, "note: rejected rows were not written anywhere; use --rejects FILE\n");
        if (json) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddNumberToObject(j, "rows", (double)rep.rows);
            cJSON_AddNumberToObject(j, "inside", (double)rep.status[WG_PLACE_INSIDE]);
            cJSON_AddNumberToObject(j, "nearest", (double)rep.status[WG_PLACE_NEAREST]);
            cJSON_AddNumberToObject(j, "outside", (double)rep.status[WG_PLACE_OUTSIDE]);
            cJSON_AddNumberToObject(j, "rejected", (double)rep.rejected);
            cJSON_AddNumberToObject(j, "swapped", (double)rep.swapped);
            cJSON_AddNumberToObject(j, "stored", (double)rep.stored);
            cJSON_AddNumberToObject(j, "seconds", rep.seconds);
            cJSON_AddStringToObject(j, "output", out);
            if (o.rejects) cJSON_AddStringToObject(j, "rejects", o.rejects);
            cli_json_out(j, 0);
        }
    }
    wg_ws_close(ws);
    wg_ctx_free(ctx);
    return rc;
}
