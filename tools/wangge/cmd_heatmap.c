/* cmd_heatmap.c -- `wangge heatmap`: kernel density of incidents as a GeoTIFF
 * (and a coloured PNG to drape), with QGIS's numbers. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void help(FILE *out) {
    fprintf(out,
        "usage: wangge heatmap WS --radius M --pixel M -o OUT.tif [options]\n\n"
        "Kernel density (heatmap) of the incidents stored in WS (by `place --store`),\n"
        "or of the points of --input FILE, in the workspace's metric CRS. Kernels,\n"
        "decay, raw/scaled values, extent and pixel grid are those of QGIS's \"Heatmap\n"
        "(Kernel Density Estimation)\", so the same parameters give the same numbers:\n"
        "a point of weight w adds w*K(d) to every pixel whose centre is within the\n"
        "radius; the raster starts at the top-left corner of the points' extent grown\n"
        "by the radius and has ceil(size/pixel)+1 columns and rows.\n"
        "Output: Float32 GeoTIFF (DEFLATE, nodata -9999), written aside and moved\n"
        "into place when complete.\n\n"
        "  --radius M          kernel radius (bandwidth), metres (required)\n"
        "  --pixel M           pixel size, metres (required)\n"
        "  -o OUT.tif          output GeoTIFF (required)\n"
        "  --kernel K          quartic (default) | triangular | uniform | triweight |\n"
        "                      epanechnikov\n"
        "  --decay D           triangular only: the kernel's value at the radius\n"
        "                      relative to its centre (QGIS's decay ratio), default 0\n"
        "  --scaled            density values (per m2; integrate to the total weight)\n"
        "                      instead of raw sums of kernel values; x 1e6 for per km2\n"
        "                      (quartic as QGIS since its 2025 fix; older QGIS, e.g. 3.22,\n"
        "                      gives 116/16 times these values)\n"
        "  --weight-field F    weight each point by a numeric column (incidents) or\n"
        "                      field (--input); empty or non-numeric weigh 0\n"
        "  --from DATE         incidents reported on or after DATE (YYYY-MM-DD, the date\n"
        "  --to DATE             as reported) / on or before DATE\n"
        "  --category C        only incidents of category C\n"
        "  --extent E          data (default: the points' extent grown by the radius, as\n"
        "                      QGIS) | grids (the admin units' and grids' extent; pixels\n"
        "                      outside them are nodata) | xmin,ymin,xmax,ymax (metric CRS)\n"
        "  --png OUT.png       also a coloured PNG with transparency (alpha 0 where the\n"
        "                      density is 0), its world file OUT.pgw and a legend\n"
        "                      OUT_legend.png, ready to drape on a map\n"
        "  --png-max V         top of the PNG's colour scale (default: the maximum), to\n"
        "                      compare maps of different periods\n"
        "  --compress C        deflate (default) | none: the GeoTIFF without compression,\n"
        "                      as QGIS writes it (faster to write, ~1.6x larger)\n"
        "  --input FILE        points from FILE (any OGR source) instead of the incidents\n"
        "  --layer L           its layer (default: the first)\n"
        "  --lon-field F       its coordinate fields (default: the point geometry, else\n"
        "  --lat-field F         lon/lng/longitude/x and lat/latitude/y)\n"
        "  --crs C             their CRS: wgs84 | cgcs2000 | gcj02 | bd09 | EPSG:n\n"
        "                      (default: the layer's own, else wgs84)\n"
        "  --threads N         worker threads (default: one per CPU)\n"
        "  --json              print the summary as JSON on stdout\n"
        "An empty selection (e.g. a time window without incidents) is not an error:\n"
        "the raster is all zero (framed on the grids for --extent data) and a note\n"
        "says so. Exit status: 0 ok, 1 failure, 2 usage error.\n");
}

static int parse_pos(const char *s, double *out) {
    char *end;
    *out = strtod(s, &end);
    return !*end && end != s && isfinite(*out) && *out > 0;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && !strcasecmp(s + n - m, suffix);
}

static int parse_box(const char *s, double box[4]) {
    char *end;
    const char *p = s;
    for (int i = 0; i < 4; i++) {
        box[i] = strtod(p, &end);
        if (end == p || !isfinite(box[i])) return 0;
        if (i < 3 && *end != ',') return 0;
        p = end + (i < 3);
    }
    return !*end && box[2] > box[0] && box[3] > box[1];
}

static const char *extent_name(wg_extent_kind e) {
    return e == WG_EXTENT_GRIDS ? "grids" : e == WG_EXTENT_BOX ? "box" : "data";
}

static void print_json(const wg_heatmap_opts *o, const wg_heatmap_report *r, const char *world,
                       const char *legend) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "points", (double)r->points);
    cJSON_AddNumberToObject(j, "skipped", (double)r->skipped);
    cJSON_AddBoolToObject(j, "empty", r->empty);
    cJSON_AddStringToObject(j, "kernel", wg_kernel_name(o->kde.kernel));
    cJSON_AddNumberToObject(j, "radius", o->kde.radius);
    cJSON_AddNumberToObject(j, "pixel", o->kde.pixel);
    if (o->kde.kernel == WG_KERNEL_TRIANGULAR) cJSON_AddNumberToObject(j, "decay", o->kde.decay);
    cJSON_AddStringToObject(j, "values", o->kde.scaled ? "scaled" : "raw");
    cJSON_AddStringToObject(j, "extent", extent_name(r->extent));
    double b[4] = {r->xmin, r->ymin, r->xmax, r->ymax};
    cJSON_AddItemToObject(j, "bounds", cJSON_CreateDoubleArray(b, 4));
    cJSON_AddNumberToObject(j, "epsg", r->epsg);
    cJSON_AddNumberToObject(j, "cols", r->cols);
    cJSON_AddNumberToObject(j, "rows", r->rows);
    cJSON_AddNumberToObject(j, "max", r->max);
    cJSON_AddNumberToObject(j, "integral", r->integral);
    cJSON_AddStringToObject(j, "tif", o->tif);
    cJSON_AddStringToObject(j, "compress", o->uncompressed ? "none" : "deflate");
    if (o->png) {
        cJSON_AddStringToObject(j, "png", o->png);
        cJSON_AddStringToObject(j, "world_file", world);
        cJSON_AddStringToObject(j, "legend", legend);
        cJSON_AddNumberToObject(j, "png_max", r->png_max);
    }
    cJSON *s = cJSON_AddObjectToObject(j, "seconds");
    cJSON_AddNumberToObject(s, "read", r->seconds_read);
    cJSON_AddNumberToObject(s, "kde", r->seconds_kde);
    cJSON_AddNumberToObject(s, "write", r->seconds_write);
    char *txt = cJSON_PrintUnformatted(j);
    puts(txt);
    free(txt);
    cJSON_Delete(j);
}

/* "x.png" -> "x" + suffix, as the engine names the PNG's companions. */
static void sibling(const char *path, const char *suffix, char *out, size_t size) {
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - path) : strlen(path);
    snprintf(out, size, "%.*s%s", (int)stem, path, suffix);
}

int cmd_heatmap(int argc, char **argv) {
    enum { O_RADIUS = 256, O_PIXEL, O_KERNEL, O_DECAY, O_SCALED, O_WEIGHT, O_FROM, O_TO, O_CAT,
           O_EXTENT, O_PNG, O_PNGMAX, O_COMPRESS, O_INPUT, O_LAYER, O_LONF, O_LATF, O_CRS, O_THR, O_JSON };
    static const struct option longopts[] = {
        {"radius", required_argument, 0, O_RADIUS}, {"pixel", required_argument, 0, O_PIXEL},
        {"output", required_argument, 0, 'o'},      {"kernel", required_argument, 0, O_KERNEL},
        {"decay", required_argument, 0, O_DECAY},   {"scaled", no_argument, 0, O_SCALED},
        {"weight-field", required_argument, 0, O_WEIGHT},
        {"from", required_argument, 0, O_FROM},     {"to", required_argument, 0, O_TO},
        {"category", required_argument, 0, O_CAT},  {"extent", required_argument, 0, O_EXTENT},
        {"png", required_argument, 0, O_PNG},       {"png-max", required_argument, 0, O_PNGMAX},
        {"compress", required_argument, 0, O_COMPRESS},
        {"input", required_argument, 0, O_INPUT},   {"layer", required_argument, 0, O_LAYER},
        {"lon-field", required_argument, 0, O_LONF}, {"lat-field", required_argument, 0, O_LATF},
        {"crs", required_argument, 0, O_CRS},       {"threads", required_argument, 0, O_THR},
        {"json", no_argument, 0, O_JSON},           {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    wg_heatmap_opts o;
    memset(&o, 0, sizeof o);
    int json = 0, c, have_decay = 0;
    char *end;
    while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        switch (c) {
        case O_RADIUS:
            if (!parse_pos(optarg, &o.kde.radius))
                return cli_usage_error("heatmap", "--radius needs metres > 0, not '%s'", optarg);
            break;
        case O_PIXEL:
            if (!parse_pos(optarg, &o.kde.pixel))
                return cli_usage_error("heatmap", "--pixel needs metres > 0, not '%s'", optarg);
            break;
        case 'o': o.tif = optarg; break;
        case O_KERNEL:
            if (wg_kernel_parse(optarg, &o.kde.kernel))
                return cli_usage_error("heatmap", "--kernel '%s' is not quartic, triangular, "
                                       "uniform, triweight or epanechnikov", optarg);
            break;
        case O_DECAY:
            o.kde.decay = strtod(optarg, &end);
            if (*end || end == optarg || !isfinite(o.kde.decay))
                return cli_usage_error("heatmap", "--decay needs a number, not '%s'", optarg);
            have_decay = 1;
            break;
        case O_SCALED: o.kde.scaled = 1; break;
        case O_WEIGHT: o.weight_field = optarg; break;
        case O_FROM: o.from = optarg; break;
        case O_TO: o.to = optarg; break;
        case O_CAT: o.category = optarg; break;
        case O_EXTENT:
            if (!strcmp(optarg, "data")) o.extent = WG_EXTENT_DATA;
            else if (!strcmp(optarg, "grids")) o.extent = WG_EXTENT_GRIDS;
            else if (parse_box(optarg, o.box)) o.extent = WG_EXTENT_BOX;
            else
                return cli_usage_error("heatmap", "--extent '%s' is not data, grids or "
                                       "xmin,ymin,xmax,ymax (xmin < xmax, ymin < ymax)",
                                       optarg);
            break;
        case O_PNG: o.png = optarg; break;
        case O_PNGMAX:
            if (!parse_pos(optarg, &o.png_max))
                return cli_usage_error("heatmap", "--png-max needs a value > 0, not '%s'", optarg);
            break;
        case O_COMPRESS:
            if (!strcmp(optarg, "none")) o.uncompressed = 1;
            else if (strcmp(optarg, "deflate"))
                return cli_usage_error("heatmap", "--compress '%s' is not deflate or none", optarg);
            break;
        case O_INPUT: o.input = optarg; break;
        case O_LAYER: o.layer = optarg; break;
        case O_LONF: o.lon_field = optarg; break;
        case O_LATF: o.lat_field = optarg; break;
        case O_CRS: o.crs = optarg; break;
        case O_THR:
            if (cli_threads_opt("heatmap", optarg, 256, &o.kde.threads)) return EXIT_USAGE;
            break;
        case O_JSON: json = 1; break;
        case 'h': help(stdout); return EXIT_OK;
        default: help(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) return cli_usage_error("heatmap", "expected one workspace path");
    if (!(o.kde.radius > 0)) return cli_usage_error("heatmap", "--radius is required");
    if (!(o.kde.pixel > 0)) return cli_usage_error("heatmap", "--pixel is required");
    if (!o.tif) return cli_usage_error("heatmap", "-o OUT.tif is required");
    if (!ends_with(o.tif, ".tif") && !ends_with(o.tif, ".tiff"))
        return cli_usage_error("heatmap", "-o %s: the output is a GeoTIFF (.tif)", o.tif);
    if (o.png && !ends_with(o.png, ".png"))
        return cli_usage_error("heatmap", "--png %s: the name must end in .png", o.png);
    if (o.png_max > 0 && !o.png) return cli_usage_error("heatmap", "--png-max needs --png");
    if (have_decay && o.kde.kernel != WG_KERNEL_TRIANGULAR)
        return cli_usage_error("heatmap", "--decay applies to the triangular kernel only");
    if (!o.input && (o.layer || o.lon_field || o.lat_field || o.crs))
        return cli_usage_error("heatmap", "--layer, --lon-field, --lat-field and --crs "
                               "describe an --input file");
    if (!o.lon_field != !o.lat_field)
        return cli_usage_error("heatmap", "give both --lon-field and --lat-field");
    wg_crs_kind kind;
    int epsg;
    if (o.crs && wg_crs_parse(o.crs, &kind, &epsg))
        return cli_usage_error("heatmap", "--crs '%s' is not wgs84, cgcs2000, gcj02, bd09 or "
                               "EPSG:n", o.crs);
    for (int i = 0; i < 2; i++) {
        const char *d = i ? o.to : o.from;
        int y, m, dd;
        char tail;
        if (d && (strlen(d) != 10 || sscanf(d, "%4d-%2d-%2d%c", &y, &m, &dd, &tail) != 3 ||
                  m < 1 || m > 12 || dd < 1 || dd > 31))
            return cli_usage_error("heatmap", "--%s '%s' is not a date YYYY-MM-DD",
                                   i ? "to" : "from", d);
    }
    if (o.from && o.to && strcmp(o.from, o.to) > 0)
        return cli_usage_error("heatmap", "--from %s is after --to %s", o.from, o.to);

    wg_ctx *ctx = cli_ctx();
    wg_ws *ws = NULL;
    wg_heatmap_report rep;
    wg_status st = wg_ws_open(ctx, argv[optind], 1, &ws);
    if (!st) st = wg_heatmap(ws, &o, &rep);
    int rc = st ? cli_fail("heatmap", ctx, st) : EXIT_OK;
    cli_progress_done();
    if (!st) {
        char world[4200] = "", legend[4200] = "";
        if (o.png) {
            sibling(o.png, ".pgw", world, sizeof world);
            sibling(o.png, "_legend.png", legend, sizeof legend);
        }
        if (rep.empty) {
            char sel[512] = "";
            snprintf(sel, sizeof sel, "%s%s%s%s%s%s%s", o.from ? " from " : "",
                     o.from ? o.from : "", o.to ? " to " : "", o.to ? o.to : "",
                     o.category ? " in category '" : "", o.category ? o.category : "",
                     o.category ? "'" : "");
            fprintf(stderr, "note: no %s%s; the heatmap is all zero, framed on the %s extent\n",
                    o.input ? "points in " : "incidents", o.input ? o.input : sel,
                    extent_name(rep.extent));
        }
        if (rep.skipped)
            fprintf(stderr, "note: %lld rows without usable coordinates were skipped\n",
                    (long long)rep.skipped);
        fprintf(stderr, "heatmap of %lld points (%s, radius %g m, pixel %g m, %s values): %s, "
                "%d x %d pixels in EPSG:%d, max %.6g%s%s%s%s in %.2f s\n",
                (long long)rep.points, wg_kernel_name(o.kde.kernel), o.kde.radius, o.kde.pixel,
                o.kde.scaled ? "scaled" : "raw", o.tif, rep.cols, rep.rows, rep.epsg, rep.max,
                o.png ? "; " : "", o.png ? o.png : "", o.png ? " with " : "", o.png ? legend : "",
                rep.seconds_read + rep.seconds_kde + rep.seconds_write);
        if (json) print_json(&o, &rep, world, legend);
    }
    wg_ws_close(ws);
    wg_ctx_free(ctx);
    return rc;
}
