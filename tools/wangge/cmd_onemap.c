/* cmd_onemap.c -- `wangge onemap`: the one-map (一张图) bundle for the command
 * center, written in one call. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *out) {
    fprintf(out,
        "usage: wangge onemap WS -o DIR [options]\n\n"
        "Writes everything the command center's map loads into the folder DIR:\n"
        "  onemap.gpkg       layers county, towns, villages, grids, micro, exclusive,\n"
        "                    officers (stations), incidents, grid_stats (`aggregate\n"
        "                    --by grid`), and when the workspace has a road graph\n"
        "                    service_areas (from the officers' stations), coverage and\n"
        "                    coverage_gaps (`coverage --officers`); each layer with its\n"
        "                    QGIS style in the layer_styles table\n"
        "  heatmap.tif       kernel density of the incidents (`heatmap --extent grids`)\n"
        "  heatmap.png       ... coloured, with heatmap.pgw and heatmap_legend.png\n"
        "  geojson/L.geojson every layer as GeoJSON (RFC 7946: WGS84, lon first)\n"
        "  onemap.mbtiles    Mapbox vector tiles. Zoom plan (a map client overzooms the\n"
        "                    deepest tiles): county, towns from minzoom; villages, grids\n"
        "                    from minzoom+2; micro, exclusive, officers at the deepest\n"
        "                    three zooms. The grids tile layer carries grid_stats' figures\n"
        "                    (count, count_km2, open, overdue, class) and coverage's\n"
        "                    (coverage = full|partial|none, cover_area, cover_incidents).\n"
        "                    Not tiled: service_areas, coverage_gaps, incidents (too slow\n"
        "                    for GDAL's MVT writer; the heatmap shows the incidents)\n"
        "The GeoJSON copies and the tiles are written on worker threads (one per CPU,\n"
        "at most 8) beside the heatmap.\n"
        "DIR is built in a hidden folder beside it and renamed at the end: a failure\n"
        "leaves nothing half-written. An existing DIR is replaced only when it is empty\n"
        "or holds an earlier bundle (onemap.gpkg). A JSON summary (layers, feature\n"
        "counts, tile zooms, paths, seconds per phase) is printed on stdout; progress\n"
        "on stderr.\n\n"
        "  -o DIR          output folder (required)\n"
        "  --radius M      heatmap kernel radius, metres (default 250)\n"
        "  --pixel M       heatmap pixel, metres (default: the county's longer side / 2000,\n"
        "                  at least 10)\n"
        "  --minzoom Z     vector tiles' zoom range (default: from the extent: minzoom is\n"
        "  --maxzoom Z       the zoom at which the county spans about one tile, maxzoom\n"
        "                    five levels deeper, at most 16)\n"
        "  --minutes A,B   service areas' minutes (default 10,30; coverage uses A)\n"
        "Exit status: 0 ok, 1 failure, 2 usage error.\n");
}

static int parse_pos(const char *s, double *out) {
    char *end;
    *out = strtod(s, &end);
    return !*end && end != s && isfinite(*out) && *out > 0;
}

static int parse_zoom(const char *s, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    *out = (int)v;
    return !*end && end != s && v >= 1 && v <= 22;
}

static void print_json(const char *dir, const wg_onemap_report *r) {
    cJSON *j = cJSON_CreateObject();
    char p[4200];
    cJSON_AddStringToObject(j, "dir", dir);
    snprintf(p, sizeof p, "%s/onemap.gpkg", dir);
    cJSON_AddStringToObject(j, "gpkg", p);
    cJSON *ls = cJSON_AddArrayToObject(j, "layers");
    for (size_t i = 0; i < r->nlayers; i++) {
        cJSON *l = cJSON_CreateObject();
        cJSON_AddStringToObject(l, "name", r->layers[i].name);
        cJSON_AddNumberToObject(l, "features", (double)r->layers[i].features);
        snprintf(p, sizeof p, "%s/geojson/%s.geojson", dir, r->layers[i].name);
        cJSON_AddStringToObject(l, "geojson", p);
        cJSON_AddBoolToObject(l, "tiled", r->layers[i].tiled);
        if (r->layers[i].tiled) {
            cJSON_AddNumberToObject(l, "minzoom", r->layers[i].minzoom);
            cJSON_AddNumberToObject(l, "maxzoom", r->layers[i].maxzoom);
        }
        cJSON_AddItemToArray(ls, l);
    }
    cJSON *h = cJSON_AddObjectToObject(j, "heatmap");
    snprintf(p, sizeof p, "%s/heatmap.tif", dir);
    cJSON_AddStringToObject(h, "tif", p);
    snprintf(p, sizeof p, "%s/heatmap.png", dir);
    cJSON_AddStringToObject(h, "png", p);
    cJSON_AddNumberToObject(h, "points", (double)r->heatmap.points);
    cJSON_AddNumberToObject(h, "radius", r->radius);
    cJSON_AddNumberToObject(h, "pixel", r->pixel);
    cJSON_AddNumberToObject(h, "cols", r->heatmap.cols);
    cJSON_AddNumberToObject(h, "rows", r->heatmap.rows);
    cJSON_AddNumberToObject(h, "epsg", r->heatmap.epsg);
    cJSON *t = cJSON_AddObjectToObject(j, "mbtiles");
    snprintf(p, sizeof p, "%s/onemap.mbtiles", dir);
    cJSON_AddStringToObject(t, "path", p);
    cJSON_AddNumberToObject(t, "minzoom", r->minzoom);
    cJSON_AddNumberToObject(t, "maxzoom", r->maxzoom);
    cJSON_AddNumberToObject(t, "tiles_minzoom", (double)r->tiles_min);
    cJSON_AddNumberToObject(t, "tiles_maxzoom", (double)r->tiles_max);
    cJSON_AddBoolToObject(j, "road_graph", r->graph);
    cJSON_AddStringToObject(j, "note", r->note);
    cJSON_AddNumberToObject(j, "seconds", r->seconds);
    cJSON_AddNumberToObject(j, "cpu_seconds", round(r->cpu_seconds * 1000) / 1000);
    cJSON *ph = cJSON_AddObjectToObject(j, "phases");
    for (size_t i = 0; i < r->nphases; i++)
        cJSON_AddNumberToObject(ph, r->phases[i].name, round(r->phases[i].seconds * 1000) / 1000);
    cli_json_out(j, 0);
}

int cmd_onemap(int argc, char **argv) {
    enum { O_RADIUS = 256, O_PIXEL, O_MINZ, O_MAXZ, O_MIN };
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'},     {"radius", required_argument, 0, O_RADIUS},
        {"pixel", required_argument, 0, O_PIXEL},  {"minzoom", required_argument, 0, O_MINZ},
        {"maxzoom", required_argument, 0, O_MAXZ}, {"minutes", required_argument, 0, O_MIN},
        {"help", no_argument, 0, 'h'},             {0, 0, 0, 0}};
    wg_onemap_opts o;
    memset(&o, 0, sizeof o);
    const char *dir = NULL;
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': dir = optarg; break;
        case O_RADIUS:
            if (!parse_pos(optarg, &o.radius))
                return cli_usage_error("onemap", "--radius needs metres > 0, not '%s'", optarg);
            break;
        case O_PIXEL:
            if (!parse_pos(optarg, &o.pixel))
                return cli_usage_error("onemap", "--pixel needs metres > 0, not '%s'", optarg);
            break;
        case O_MINZ:
            if (!parse_zoom(optarg, &o.minzoom))
                return cli_usage_error("onemap", "--minzoom needs 1..22, not '%s'", optarg);
            break;
        case O_MAXZ:
            if (!parse_zoom(optarg, &o.maxzoom))
                return cli_usage_error("onemap", "--maxzoom needs 1..22, not '%s'", optarg);
            break;
        case O_MIN:
            o.minutes[0] = strtod(optarg, &end);
            if (*end == ',') o.minutes[1] = strtod(end + 1, &end);
            else o.minutes[1] = o.minutes[0];
            if (*end || !(o.minutes[0] > 0 && o.minutes[0] <= 1440) ||
                !(o.minutes[1] > 0 && o.minutes[1] <= 1440))
                return cli_usage_error("onemap", "--minutes needs A or A,B in (0, 1440], not "
                                       "'%s'", optarg);
            break;
        case 'h': help(stdout); return EXIT_OK;
        default: help(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) return cli_usage_error("onemap", "expected one workspace path");
    if (!dir) return cli_usage_error("onemap", "-o DIR is required");
    if (o.minzoom && o.maxzoom && o.maxzoom < o.minzoom)
        return cli_usage_error("onemap", "--maxzoom %d is below --minzoom %d", o.maxzoom,
                               o.minzoom);

    wg_ctx *ctx = cli_ctx();
    wg_ws *ws = NULL;
    wg_onemap_report rep;
    wg_status st = wg_ws_open(ctx, argv[optind], 1, &ws);
    if (!st) st = wg_onemap(ws, dir, &o, &rep);
    cli_progress_done();
    int rc = st ? cli_fail("onemap", ctx, st) : EXIT_OK;
    if (!st) {
        if (rep.note[0]) fprintf(stderr, "note: %s\n", rep.note);
        int64_t total = 0;
        for (size_t i = 0; i < rep.nlayers; i++) total += rep.layers[i].features;
        fprintf(stderr, "onemap: %zu layers (%lld features), heatmap of %lld incidents, tiles "
                "z%d-z%d -> %s in %.1f s\n", rep.nlayers, (long long)total,
                (long long)rep.heatmap.points, rep.minzoom, rep.maxzoom, dir, rep.seconds);
        print_json(dir, &rep);
    }
    wg_ws_close(ws);
    wg_ctx_free(ctx);
    return rc;
}
