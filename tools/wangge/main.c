/* main.c -- the `wangge` command: dispatches to one subcommand per verb.
 * Exit status: 0 success, 1 failure, 2 usage error. */
#include "cli.h"

#include <string.h>

static const cli_cmd COMMANDS[] = {
    {"init", "create a workspace", cmd_init},
    {"import-grids", "import admin units or grids from any OGR source", cmd_import_grids},
    {"import-officers", "import officers and their grid assignments from CSV",
     cmd_import_officers},
    {"validate", "check the coverage: validity, overlaps, gaps, codes", cmd_validate},
    {"export", "write a layer to GeoJSON, Shapefile, GeoPackage or FlatGeobuf", cmd_export},
    {"info", "summarise a workspace (JSON)", cmd_info},
    {"locate", "which units and officers own a GPS point (JSON)", cmd_locate},
    {"place", "place a file of points (CSV, GeoJSON, ...) in their grids", cmd_place},
    {"serve", "the HTTP service for handsets and the command center", cmd_serve},
    {"keys", "API keys of the HTTP service: add, list, revoke", cmd_keys},
    {"roads", "build the road graph from OpenStreetMap or a line layer", cmd_roads},
    {"route", "the fastest route between two points (GeoJSON)", cmd_route},
    {"dispatch", "rank officers by travel time to an incident (JSON)", cmd_dispatch},
    {"isochrone", "service areas: where one can be within T minutes", cmd_isochrone},
    {"coverage", "how much of every grid a service area covers", cmd_coverage},
    {"heatmap", "kernel density of incidents as a GeoTIFF and PNG (QGIS's numbers)", cmd_heatmap},
    {"incident", "an incident's closed loop: show it, accept/assign/.../close it", cmd_incident},
    {"rules", "deadline rules and the holiday calendar of the closed loop", cmd_rules},
    {"stats", "closed-loop figures per grid, village, town, category or officer", cmd_stats},
    {"aggregate", "incidents per grid, village, town or hexagon, styled for QGIS", cmd_aggregate},
    {"onemap", "the one-map bundle: GeoPackage, GeoJSON, vector tiles, heatmap", cmd_onemap},
};

static void usage(FILE *out) {
    fprintf(out, "usage: wangge COMMAND [OPTIONS] (wangge COMMAND --help for details)\n\n"
                 "Spatial engine for grid-based community governance (网格化治理).\n\n"
                 "commands:\n");
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        fprintf(out, "  %-16s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(out, "\nexit status: 0 ok, 1 failure, 2 usage error\n");
}

int main(int argc, char **argv) {
    wg_keep_freed_memory(); /* serve and the batch commands reuse large buffers */
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("wangge %s\n", wg_version());
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (!strcmp(argv[1], COMMANDS[i].name)) return COMMANDS[i].run(argc - 1, argv + 1);
    fprintf(stderr, "wangge: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
