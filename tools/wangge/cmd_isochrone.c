/* cmd_isochrone.c -- `wangge isochrone` (service areas: where one can be
 * within T minutes along the roads) and `wangge coverage` (how much of
 * each grid such an area covers). */
#include "cli.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A growing list of lon, lat pairs. */
typedef struct pts {
    double *v;
    size_t n, cap;
} pts;

static int pts_add(pts *p, double x, double y) {
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        double *v = realloc(p->v, cap * 2 * sizeof *v);
        if (!v) return -1;
        p->v = v, p->cap = cap;
    }
    p->v[2 * p->n] = x, p->v[2 * p->n + 1] = y;
    p->n++;
    return 0;
}

static int parse_pair(const char *s, double *x, double *y) {
    char *end;
    *x = strtod(s, &end);
    if (end == s || *end != ',' || !isfinite(*x)) return 0;
    const char *t = end + 1;
    *y = strtod(t, &end);
    return end != t && !*end && isfinite(*y);
}

/* "10,30,7.5" into a list of minutes. */
static int parse_minutes(const char *s, double *out, size_t max, size_t *n) {
    *n = 0;
    while (*s) {
        char *end;
        double v = strtod(s, &end);
        if (end == s || !isfinite(v) || v <= 0 || v > 1440 || *n == max) return 0;
        out[(*n)++] = v;
        s = end;
        if (*s == ',') s++;
        else if (*s) return 0;
    }
    return *n > 0;
}

static int field_is(const char *f, const char *const *names) {
    for (; *names; names++)
        if (!strcasecmp(f, *names)) return 1;
    return 0;
}

/* Origins from a CSV file with a header naming lon/lng/longitude/x and
 * lat/latitude/y columns (plain comma-separated values). Prints the error. */
static int read_origins(const char *cmd, const char *path, pts *p) {
    static const char *const LON[] = {"lon", "lng", "longitude", "x", NULL};
    static const char *const LAT[] = {"lat", "latitude", "y", NULL};
    FILE *f = fopen(path, "r");
    char line[4096];
    int ilon = -1, ilat = -1, ok = 1;
    long ln = 0;
    if (!f) {
        fprintf(stderr, "wangge %s: error: cannot open %s\n", cmd, path);
        return 0;
    }
    while (ok && fgets(line, sizeof line, f)) {
        ln++;
        line[strcspn(line, "\r\n")] = 0;
        char *s = line + (ln == 1 && !strncmp(line, "\xEF\xBB\xBF", 3) ? 3 : 0);
        if (!*s) continue;
        double x = NAN, y = NAN;
        int col = 0;
        for (char *tok = s, *next; tok; tok = next, col++) {
            next = strchr(tok, ',');
            if (next) *next++ = 0;
            while (isspace((unsigned char)*tok)) tok++;
            if (ilon < 0 || ilat < 0) {
                if (field_is(tok, LON)) ilon = col;
                if (field_is(tok, LAT)) ilat = col;
                continue;
            }
            char *end;
            double v = strtod(tok, &end);
            if (col == ilon) x = end != tok ? v : NAN;
            if (col == ilat) y = end != tok ? v : NAN;
        }
        if (ln == 1) {
            if (ilon < 0 || ilat < 0) {
                fprintf(stderr, "wangge %s: error: %s: the header has no lon and lat columns\n",
                        cmd, path);
                ok = 0;
            }
            continue;
        }
        if (!isfinite(x) || !isfinite(y) || fabs(x) > 180 || fabs(y) > 90) {
            fprintf(stderr, "wangge %s: error: %s:%ld: no valid lon, lat\n", cmd, path, ln);
            ok = 0;
        } else if (pts_add(p, x, y)) {
            fprintf(stderr, "wangge %s: error: out of memory\n", cmd);
            ok = 0;
        }
    }
    fclose(f);
    if (ok && !p->n) {
        fprintf(stderr, "wangge %s: error: %s has no origins\n", cmd, path);
        ok = 0;
    }
    return ok;
}

static double r1(double x) { return round(x * 10) / 10; }

/* Parses --NAME's metres (> 0) into *dst; -1 after a usage error. */
static int metres_opt(const char *cmd, const char *name, const char *arg, double *dst) {
    char *end;
    double x = strtod(arg, &end);
    if (end == arg || *end || !isfinite(x) || x <= 0) {
        cli_usage_error(cmd, "--%s needs metres > 0", name);
        return -1;
    }
    *dst = x;
    return 0;
}

/* Opens the workspace read-only and its graph; notes a rebuilt graph. */
static wg_status open_graph(const char *cmd, wg_ctx *ctx, const char *wsp, wg_ws **ws,
                            wg_graph **g) {
    wg_status st = wg_ws_open(ctx, wsp, 1, ws);
    if (!st) st = wg_graph_open(*ws, g);
    if (!st) {
        wg_graph_info gi;
        wg_graph_get_info(*g, &gi);
        if (!gi.from_file)
            fprintf(stderr, "wangge %s: note: %s.graph is missing or out of date, so the graph "
                    "was rebuilt in memory; `wangge roads %s` writes it again\n", cmd, wsp, wsp);
    }
    return st;
}

/* ---- wangge isochrone ---------------------------------------------------------- */

/* The options isochrone and coverage share, and their help. */
enum { O_AREA_PROFILE = 300, O_BUFFER, O_SNAP, O_CELL, O_THREADS };
#define AREA_LONGOPTS                                                                         \
    {"profile", required_argument, 0, O_AREA_PROFILE}, {"buffer", required_argument, 0, O_BUFFER}, \
        {"max-snap", required_argument, 0, O_SNAP}, {"cell", required_argument, 0, O_CELL},        \
        {"threads", required_argument, 0, O_THREADS}
#define AREA_HELP                                                                             \
    "  --buffer M         the off-road band around the reached roads, metres (30)\n"            \
    "  --cell M           raster cell size, metres (default buffer / 2, larger when the\n"      \
    "                     raster would exceed 2M cells, up to buffer; given: at most\n"         \
    "                     buffer * 1.41)\n"                                                     \
    "  --max-snap M       origins farther than this from a road are left out (5000)\n"          \
    "  --threads N        threads for the pieces and the raster (default: one per\n"            \
    "                     CPU; the result is the same for any number)\n"

/* One of the shared options into its field: 1 taken, 0 not one of them,
 * -1 a bad value (said). */
static int area_opt(const char *cmd, int c, const char *arg, const char **profile, double *buffer_m,
                    double *max_snap_m, double *cell_m, int *threads) {
    switch (c) {
    case O_AREA_PROFILE: *profile = arg; return 1;
    case O_BUFFER: return metres_opt(cmd, "buffer", arg, buffer_m) ? -1 : 1;
    case O_SNAP: return metres_opt(cmd, "max-snap", arg, max_snap_m) ? -1 : 1;
    case O_CELL: return metres_opt(cmd, "cell", arg, cell_m) ? -1 : 1;
    case O_THREADS: return cli_threads_opt(cmd, arg, 64, threads) ? -1 : 1;
    default: return 0;
    }
}

static void isochrone_help(FILE *out) {
    fprintf(out,
        "usage: wangge isochrone WS (--from LON,LAT ... | --origins FILE) --minutes 10,30\n"
        "                       -o OUT [options]\n\n"
        "Service areas: where one can be within the given minutes along the roads from\n"
        "any of the origins (merged into one area), one polygon feature per contour\n"
        "(properties minutes, area_m2, nodes), contours nested, holes where the roads do\n"
        "not reach. Any OGR format by extension (.geojson, .gpkg, .shp, .fgb).\n\n"
        "Method: one search from all origins (each walks straight to its nearest usable\n"
        "road at the profile's offroad speed, then along the roads); the reached road\n"
        "pieces, frontier pieces included, make a travel-time raster in the workspace's\n"
        "metric CRS: each cell of --cell metres takes the earliest time of a reached road\n"
        "within --buffer metres of its centre. A contour is the union of the cells\n"
        "reached in time (traced into polygons): contours are exactly nested, every road\n"
        "node reached in time is inside, and the outline is within half a cell of the\n"
        "--buffer-wide band around the reached roads.\n\n"
        "  --from LON,LAT     an origin (repeatable)\n"
        "  --origins FILE     origins from a CSV with lon and lat columns\n"
        "  --minutes LIST     contours, decimal minutes, comma-separated (required)\n"
        "  --profile P        travel profile (default: car)\n"
        "  --reverse          the area from which the origins can be reached in time\n"
        "  -o, --output OUT   the contours\n"
        "  --lines FILE       also write the reached road pieces with start_min, end_min\n"
        AREA_HELP
        "  --json             print the summary as JSON\n"
        "  -h, --help         this text\n");
}

int cmd_isochrone(int argc, char **argv) {
    enum { O_FROM = 256, O_ORIGINS, O_MINUTES, O_REVERSE, O_LINES, O_JSON };
    static const struct option longopts[] = {
        {"from", required_argument, 0, O_FROM},       {"origins", required_argument, 0, O_ORIGINS},
        {"minutes", required_argument, 0, O_MINUTES}, {"reverse", no_argument, 0, O_REVERSE},
        {"lines", required_argument, 0, O_LINES},     {"output", required_argument, 0, 'o'},
        {"json", no_argument, 0, O_JSON},             {"help", no_argument, 0, 'h'},
        AREA_LONGOPTS,                                {0, 0, 0, 0}};
    pts o = {0};
    double minutes[64];
    size_t nmin = 0;
    const char *origins = NULL, *out = NULL, *lines = NULL;
    wg_isochrone_opts opts;
    memset(&opts, 0, sizeof opts);
    opts.profile = "car";
    int json = 0, c, rc = EXIT_USAGE;
    while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        double x, y;
        switch (c) {
        case O_FROM:
            if (!parse_pair(optarg, &x, &y)) {
                cli_usage_error("isochrone", "--from '%s' is not LON,LAT", optarg);
                goto done;
            }
            if (pts_add(&o, x, y)) goto done;
            break;
        case O_ORIGINS: origins = optarg; break;
        case O_MINUTES:
            if (!parse_minutes(optarg, minutes, 64, &nmin)) {
                cli_usage_error("isochrone", "--minutes '%s' is not a list of minutes in (0, 1440]",
                                optarg);
                goto done;
            }
            break;
        case O_REVERSE: opts.reverse = 1; break;
        case O_LINES: lines = optarg; break;
        case 'o': out = optarg; break;
        case O_JSON: json = 1; break;
        case 'h': isochrone_help(stdout); rc = EXIT_OK; goto done;
        default:
            switch (area_opt("isochrone", c, optarg, &opts.profile, &opts.buffer_m,
                             &opts.max_snap_m, &opts.cell_m, &opts.threads)) {
            case 1: break;
            case 0: isochrone_help(stderr); /* fall through */
            default: goto done;
            }
        }
    }
    if (optind != argc - 1) {
        cli_usage_error("isochrone", "expected one workspace path");
        goto done;
    }
    if (!out || !nmin || (!o.n && !origins) || (o.n && origins)) {
        cli_usage_error("isochrone", "needs -o OUT, --minutes and either --from or --origins");
        goto done;
    }
    if (origins && !read_origins("isochrone", origins, &o)) {
        rc = EXIT_FAIL;
        goto done;
    }
    wg_ctx *ctx = cli_ctx();
    wg_ws *ws = NULL;
    wg_graph *g = NULL;
    wg_isochrone *iso = NULL;
    wg_status st;
    rc = EXIT_FAIL;
    if ((st = open_graph("isochrone", ctx, argv[optind], &ws, &g)) ||
        (st = wg_isochrone_compute(ws, g, o.v, o.n, minutes, nmin, &opts, &iso))) {
        rc = cli_fail("isochrone", ctx, st);
        goto close;
    }
    wg_isochrone_info info;
    wg_isochrone_get_info(iso, &info);
    if (info.no_road == info.origins) {
        fprintf(stderr, "wangge isochrone: no origin has a road usable by %s within %g m: "
                "nothing is reachable (nothing written)\n", opts.profile,
                opts.max_snap_m > 0 ? opts.max_snap_m : 5000.0);
        goto close;
    }
    if (info.no_road)
        fprintf(stderr, "wangge isochrone: warning: %lld of %lld origins have no road within "
                "reach and were left out\n", (long long)info.no_road, (long long)info.origins);
    if ((st = wg_isochrone_write(iso, out, lines))) {
        rc = cli_fail("isochrone", ctx, st);
        goto close;
    }
    rc = EXIT_OK;
    size_t n = wg_isochrone_count(iso);
    if (json) {
        cJSON *j = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(j, "contours");
        cJSON_AddStringToObject(j, "profile", opts.profile);
        cJSON_AddBoolToObject(j, "reverse", opts.reverse);
        cJSON_AddNumberToObject(j, "origins", (double)info.origins);
        cJSON_AddNumberToObject(j, "no_road", (double)info.no_road);
        for (size_t i = 0; i < n; i++) {
            wg_isochrone_contour ct;
            wg_isochrone_get(iso, i, &ct);
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "minutes", ct.minutes);
            cJSON_AddNumberToObject(e, "area_m2", r1(ct.area_m2));
            cJSON_AddNumberToObject(e, "nodes", (double)ct.nodes);
            cJSON_AddItemToArray(arr, e);
        }
        cJSON_AddNumberToObject(j, "pieces", (double)wg_isochrone_lines(iso));
        cJSON_AddNumberToObject(j, "search_ms", r1(info.search_ms));
        cJSON_AddNumberToObject(j, "polygon_ms", r1(info.polygon_ms));
        cJSON_AddNumberToObject(j, "cell_m", info.cell_m);
        cJSON_AddStringToObject(j, "output", out);
        if (lines) cJSON_AddStringToObject(j, "lines", lines);
        cli_json_out(j, 0);
    } else {
        for (size_t i = 0; i < n; i++) {
            wg_isochrone_contour ct;
            wg_isochrone_get(iso, i, &ct);
            printf("%g min: %.3f km2, %lld road nodes\n", ct.minutes, ct.area_m2 / 1e6,
                   (long long)ct.nodes);
        }
        printf("search %.1f ms, polygons %.1f ms (%g m cells); written to %s%s%s\n",
               info.search_ms, info.polygon_ms, info.cell_m, out, lines ? " and " : "",
               lines ? lines : "");
    }
close:
    wg_isochrone_free(iso);
    wg_graph_free(g);
    wg_ws_close(ws);
    wg_ctx_free(ctx);
done:
    free(o.v);
    return rc;
}

/* ---- wangge coverage ------------------------------------------------------------ */

static void coverage_help(FILE *out) {
    fprintf(out,
        "usage: wangge coverage WS (--officers [--role R] | --origins FILE)\n"
        "                      [--minutes M | --rule KEY:M,...] -o OUT [options]\n\n"
        "For every comprehensive grid: the share of its area inside the service area\n"
        "(see `wangge isochrone`), the share of its stored incidents inside it, and the\n"
        "worst travel time to the road nodes inside it. OUT gets one feature per grid\n"
        "(code, name, minutes, area_m2, covered_m2, area_share, incidents, incidents_in,\n"
        "incident_share, worst_min, unreached_nodes, status full|partial|none); the\n"
        "uncovered parts go to --uncovered FILE. Any OGR format by extension. Prints\n"
        "\"x of y grids fully covered\" (full: less than 1 m2 uncovered). Ground farther than\n"
        "--buffer from every road is a hole, so on real ground few grids are full by area:\n"
        "road_nodes, late_nodes (not reached within the grid's time) and road_status\n"
        "(all|some|none|no_roads) say whether an officer can be at every road point in time,\n"
        "and the summary counts grids by it too.\n\n"
        "  --officers         origins are the officers' stations\n"
        "  --role R           only officers in this role\n"
        "  --origins FILE     origins from a CSV with lon and lat columns\n"
        "  --minutes M        service time of every grid (default 10)\n"
        "  --rule LIST        per class, e.g. town:10,village:30: a grid takes the time of\n"
        "                     the first key equal to its own kind or level, else to its\n"
        "                     parent's, and so on up (\"*\" matches every grid)\n"
        "  --profile P        travel profile (default: car)\n"
        "  -o, --output OUT   the grids with their figures\n"
        "  --uncovered FILE   the uncovered parts (code, area_m2)\n"
        AREA_HELP
        "  --json             print the summary as JSON\n"
        "  -h, --help         this text\n");
}

int cmd_coverage(int argc, char **argv) {
    enum { O_OFFICERS = 256, O_ROLE, O_ORIGINS, O_MINUTES, O_RULE, O_UNCOVERED, O_JSON };
    static const struct option longopts[] = {
        {"officers", no_argument, 0, O_OFFICERS},     {"role", required_argument, 0, O_ROLE},
        {"origins", required_argument, 0, O_ORIGINS}, {"minutes", required_argument, 0, O_MINUTES},
        {"rule", required_argument, 0, O_RULE},       {"uncovered", required_argument, 0, O_UNCOVERED},
        {"output", required_argument, 0, 'o'},        {"json", no_argument, 0, O_JSON},
        {"help", no_argument, 0, 'h'},                AREA_LONGOPTS,
        {0, 0, 0, 0}};
    pts o = {0};
    const char *origins = NULL, *out = NULL, *uncovered = NULL;
    int officers = 0, json = 0, c, rc = EXIT_USAGE;
    wg_coverage_opts opts;
    memset(&opts, 0, sizeof opts);
    opts.profile = "car";
    char *end;
    while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        double x;
        switch (c) {
        case O_OFFICERS: officers = 1; break;
        case O_ROLE: opts.role = optarg; break;
        case O_ORIGINS: origins = optarg; break;
        case O_MINUTES:
            x = strtod(optarg, &end);
            if (end == optarg || *end || !isfinite(x) || x <= 0 || x > 1440) {
                cli_usage_error("coverage", "--minutes needs minutes in (0, 1440]");
                goto done;
            }
            opts.minutes = x;
            break;
        case O_RULE: opts.rule = optarg; break;
        case O_UNCOVERED: uncovered = optarg; break;
        case 'o': out = optarg; break;
        case O_JSON: json = 1; break;
        case 'h': coverage_help(stdout); rc = EXIT_OK; goto done;
        default:
            switch (area_opt("coverage", c, optarg, &opts.profile, &opts.buffer_m,
                             &opts.max_snap_m, &opts.cell_m, &opts.threads)) {
            case 1: break;
            case 0: coverage_help(stderr); /* fall through */
            default: goto done;
            }
        }
    }
    if (optind != argc - 1) {
        cli_usage_error("coverage", "expected one workspace path");
        goto done;
    }
    if (!out || officers == !!origins) {
        cli_usage_error("coverage", "needs -o OUT and either --officers or --origins FILE");
        goto done;
    }
    if (opts.role && !officers) {
        cli_usage_error("coverage", "--role goes with --officers");
        goto done;
    }
    if (opts.rule && opts.minutes > 0) {
        cli_usage_error("coverage", "give --minutes or --rule, not both");
        goto done;
    }
    if (origins && !read_origins("coverage", origins, &o)) {
        rc = EXIT_FAIL;
        goto done;
    }
    opts.origins = o.v, opts.norigins = o.n;
    wg_ctx *ctx = cli_ctx();
    wg_ws *ws = NULL;
    wg_graph *g = NULL;
    wg_status st;
    wg_coverage_report r;
    if ((st = open_graph("coverage", ctx, argv[optind], &ws, &g)) ||
        (st = wg_coverage_run(ws, g, &opts, out, uncovered, &r))) {
        rc = cli_fail("coverage", ctx, st);
        goto close;
    }
    rc = EXIT_OK;
    if (r.no_road)
        fprintf(stderr, "wangge coverage: warning: %lld origins have no road within reach and "
                "were left out\n", (long long)r.no_road);
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "grids", (double)r.grids);
        cJSON_AddNumberToObject(j, "full", (double)r.full);
        cJSON_AddNumberToObject(j, "partial", (double)r.partial);
        cJSON_AddNumberToObject(j, "none", (double)r.none);
        cJSON_AddNumberToObject(j, "roads_all", (double)r.roads_all);
        cJSON_AddNumberToObject(j, "roads_some", (double)r.roads_some);
        cJSON_AddNumberToObject(j, "roads_none", (double)r.roads_none);
        cJSON_AddNumberToObject(j, "no_roads", (double)r.no_roads);
        cJSON_AddNumberToObject(j, "origins", (double)r.origins);
        cJSON_AddNumberToObject(j, "no_road", (double)r.no_road);
        cJSON_AddNumberToObject(j, "area_m2", r1(r.area_m2));
        cJSON_AddNumberToObject(j, "covered_m2", r1(r.covered_m2));
        cJSON_AddNumberToObject(j, "incidents", (double)r.incidents);
        cJSON_AddNumberToObject(j, "incidents_in", (double)r.incidents_in);
        cJSON_AddNumberToObject(j, "seconds", round(r.seconds * 1000) / 1000);
        cJSON_AddStringToObject(j, "output", out);
        if (uncovered) cJSON_AddStringToObject(j, "uncovered", uncovered);
        cli_json_out(j, 0);
    } else {
        printf("%lld of %lld grids fully covered (%lld partly, %lld not at all)\n",
               (long long)r.full, (long long)r.grids, (long long)r.partial, (long long)r.none);
        printf("road nodes within each grid's time: all in %lld grids, some in %lld, none in "
               "%lld; %lld grids without road nodes\n", (long long)r.roads_all,
               (long long)r.roads_some, (long long)r.roads_none, (long long)r.no_roads);
        printf("area covered: %.1f%%; incidents inside: %lld of %lld; from %lld origins; "
               "%.2f s; written to %s%s%s\n",
               r.area_m2 > 0 ? 100 * r.covered_m2 / r.area_m2 : 0.0, (long long)r.incidents_in,
               (long long)r.incidents, (long long)r.origins, r.seconds, out,
               uncovered ? " and " : "", uncovered ? uncovered : "");
    }
close:
    wg_graph_free(g);
    wg_ws_close(ws);
    wg_ctx_free(ctx);
done:
    free(o.v);
    return rc;
}
