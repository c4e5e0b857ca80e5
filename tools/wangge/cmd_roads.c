/* cmd_roads.c -- `wangge roads`, `wangge route` and `wangge dispatch`: the
 * road graph, the fastest way between two points, and who can be at an
 * incident first. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double r3(double x) { return round(x * 1000) / 1000; }
static double r1(double x) { return round(x * 10) / 10; }
static double r7(double x) { return round(x * 1e7) / 1e7; }

/* "LON,LAT" into two finite numbers. */
static int parse_pair(const char *s, double *x, double *y) {
    char *end;
    *x = strtod(s, &end);
    if (end == s || *end != ',' || !isfinite(*x)) return 0;
    const char *t = end + 1;
    *y = strtod(t, &end);
    return end != t && !*end && isfinite(*y);
}

static int parse_num(const char *s, double *out) {
    char *end;
    *out = strtod(s, &end);
    return *s && !*end && isfinite(*out);
}

/* Converts a point given in `crs` to WGS84; prints the error itself. */
static int to_wgs84(const char *cmd, wg_ctx *ctx, const char *crs, const char *what, double x,
                    double y, double *lon, double *lat) {
    wg_crs_kind kind;
    int epsg;
    if (wg_crs_parse(crs, &kind, &epsg) == WG_OK &&
        wg_to_wgs84(ctx, kind, epsg, x, y, lon, lat) == WG_OK)
        return 1;
    fprintf(stderr, "wangge %s: error: %s (%g, %g) is not a valid %s coordinate%s%s\n", cmd, what,
            x, y, crs, *wg_ctx_errmsg(ctx) ? ": " : "", wg_ctx_errmsg(ctx));
    return 0;
}

static int crs_ok(const char *crs) {
    wg_crs_kind kind;
    int epsg;
    return wg_crs_parse(crs, &kind, &epsg) == WG_OK;
}

/* ---- wangge roads ----------------------------------------------------------- */

static void roads_help(FILE *out) {
    fprintf(out,
        "usage: wangge roads WS [SRC] [options]\n\n"
        "Builds the road graph of a workspace from an OpenStreetMap file (.osm.pbf, .osm,\n"
        "read with GDAL's OSM driver: highway, name, oneway incl. -1, maxspeed, access,\n"
        "junction=roundabout) or from any OGR line layer, replacing the roads it had.\n"
        "Lines are split at every vertex they share with another line. Without SRC the\n"
        "graph is rebuilt from the roads already stored, e.g. after editing profiles.\n\n"
        "The roads go to the table road_edges of WS (SQL-readable, WGS84) and the graph\n"
        "to WS.graph beside it (binary: arcs per profile, contraction hierarchies and a\n"
        "snapping index; loaded in milliseconds by route and dispatch).\n\n"
        "  --layer L          layer of SRC (default: lines for OSM, else the first)\n"
        "  --class-field F    road class, looked up in the profiles (default: class)\n"
        "  --name-field F     street name (default: name)\n"
        "  --oneway-field F   yes/1/true: one way along the line; -1: against it;\n"
        "                     anything else: both ways (default: oneway)\n"
        "  --speed-field F    the road's own speed, km/h (default: speed)\n"
        "                     (the defaults apply only when the layer has such a field)\n"
        "  --s-srs CRS        source CRS when the layer has none (EPSG:n, WKT, PROJ)\n"
        "  --profiles FILE    speeds per road class for each profile (walk, ebike, car,\n"
        "                     ...); default: the ones stored with the roads, else the\n"
        "                     built-in file printed by --print-profiles\n"
        "  --print-profiles   print the built-in profile file (to copy and edit) and exit\n"
        "  --json             print the report as JSON on stdout\n"
        "  -h, --help         this text\n\n"
        "The report gives, per profile, the arcs it may use and the road network's\n"
        "islands: pieces not connected to the main network, with a point on each.\n");
}

static cJSON *roads_json(const char *src, const wg_roads_report *r) {
    cJSON *j = cJSON_CreateObject();
    if (src) cJSON_AddStringToObject(j, "source", src);
    cJSON_AddStringToObject(j, "kind", r->source);
    cJSON_AddNumberToObject(j, "features", (double)r->features);
    cJSON_AddNumberToObject(j, "not_roads", (double)r->not_roads);
    cJSON_AddNumberToObject(j, "bad_geometry", (double)r->bad_geometry);
    cJSON_AddNumberToObject(j, "nodes", (double)r->nodes);
    cJSON_AddNumberToObject(j, "edges", (double)r->edges);
    cJSON_AddNumberToObject(j, "length_km", r3(r->length_km));
    cJSON_AddNumberToObject(j, "graph_bytes", (double)r->graph_bytes);
    cJSON_AddNumberToObject(j, "read_seconds", r3(r->read_seconds));
    cJSON_AddNumberToObject(j, "build_seconds", r3(r->build_seconds));
    cJSON_AddNumberToObject(j, "seconds", r3(r->seconds));
    cJSON *ps = cJSON_AddArrayToObject(j, "profiles");
    for (int i = 0; i < r->nprofiles; i++) {
        const wg_roads_profile_report *p = &r->profiles[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", p->name);
        cJSON_AddNumberToObject(o, "arcs", (double)p->arcs);
        cJSON_AddNumberToObject(o, "components", (double)p->components);
        cJSON_AddNumberToObject(o, "main_nodes", (double)p->main_nodes);
        cJSON_AddNumberToObject(o, "island_nodes", (double)p->island_nodes);
        cJSON_AddNumberToObject(o, "oneway_trapped", (double)p->oneway_trapped);
        cJSON_AddNumberToObject(o, "shortcuts", (double)p->shortcuts);
        cJSON *is = cJSON_AddArrayToObject(o, "islands");
        for (int k = 0; k < p->n_islands; k++) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddNumberToObject(x, "lon", r7(p->islands[k].lon));
            cJSON_AddNumberToObject(x, "lat", r7(p->islands[k].lat));
            cJSON_AddNumberToObject(x, "nodes", (double)p->islands[k].nodes);
            cJSON_AddItemToArray(is, x);
        }
        cJSON_AddItemToArray(ps, o);
    }
    return j;
}

static void roads_print(const char *ws, const char *src, const wg_roads_report *r) {
    double mins = r->seconds / 60, edges = 0;
    for (int i = 0; i < r->nprofiles; i++) edges = fmax(edges, (double)r->profiles[i].arcs);
    char from[4200];
    if (src) snprintf(from, sizeof from, "from %s (%s)", src, r->source);
    else snprintf(from, sizeof from, "rebuilt from the stored roads");
    fprintf(stderr, "roads: %lld edges between %lld nodes, %.1f km, %s in %.1f s "
            "(%.2f M directed edges/minute); graph %.1f MB in %s.graph\n",
            (long long)r->edges, (long long)r->nodes, r->length_km, from, r->seconds,
            mins > 0 ? edges / 1e6 / mins : 0, r->graph_bytes / 1e6, ws);
    if (r->not_roads || r->bad_geometry)
        fprintf(stderr, "  skipped %lld features that are not roads and %lld with unusable "
                "geometry (of %lld)\n", (long long)r->not_roads, (long long)r->bad_geometry,
                (long long)r->features);
    for (int i = 0; i < r->nprofiles; i++) {
        const wg_roads_profile_report *p = &r->profiles[i];
        fprintf(stderr, "  %-8s %lld arcs; main network %lld nodes", p->name, (long long)p->arcs,
                (long long)p->main_nodes);
        if (p->components > 1)
            fprintf(stderr, "; %lld islands (%lld nodes)", (long long)p->components - 1,
                    (long long)p->island_nodes);
        if (p->oneway_trapped)
            fprintf(stderr, "; %lld nodes cut off by one-way roads", (long long)p->oneway_trapped);
        fprintf(stderr, "\n");
        for (int k = 0; k < p->n_islands; k++)
            fprintf(stderr, "           island of %lld nodes at %.6f,%.6f\n",
                    (long long)p->islands[k].nodes, p->islands[k].lon, p->islands[k].lat);
    }
}

int cmd_roads(int argc, char **argv) {
    enum { O_LAYER = 256, O_CLASS, O_NAME, O_ONEWAY, O_SPEED, O_SSRS, O_PROF, O_PRINT, O_JSON };
    static const struct option longopts[] = {
        {"layer", required_argument, 0, O_LAYER},         {"class-field", required_argument, 0, O_CLASS},
        {"name-field", required_argument, 0, O_NAME},     {"oneway-field", required_argument, 0, O_ONEWAY},
        {"speed-field", required_argument, 0, O_SPEED},   {"s-srs", required_argument, 0, O_SSRS},
        {"profiles", required_argument, 0, O_PROF},       {"print-profiles", no_argument, 0, O_PRINT},
        {"json", no_argument, 0, O_JSON},                 {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    wg_roads_opts o;
    memset(&o, 0, sizeof o);
    int json = 0, c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_LAYER: o.layer = optarg; break;
        case O_CLASS: o.class_field = optarg; break;
        case O_NAME: o.name_field = optarg; break;
        case O_ONEWAY: o.oneway_field = optarg; break;
        case O_SPEED: o.speed_field = optarg; break;
        case O_SSRS: o.s_srs = optarg; break;
        case O_PROF: o.profiles = optarg; break;
        case O_PRINT: fputs(wg_roads_default_profiles(), stdout); return EXIT_OK;
        case O_JSON: json = 1; break;
        case 'h': roads_help(stdout); return EXIT_OK;
        default: roads_help(stderr); return EXIT_USAGE;
        }
    }
    int nargs = argc - optind;
    if (nargs < 1 || nargs > 2) return cli_usage_error("roads", "expected WS and an optional SRC");
    const char *wsp = argv[optind], *src = nargs == 2 ? argv[optind + 1] : NULL;
    if (!src && (o.layer || o.class_field || o.name_field || o.oneway_field || o.speed_field || o.s_srs))
        return cli_usage_error("roads", "field and layer options need a SRC to read");
    wg_ctx *ctx = cli_ctx();
    wg_ws *ws = NULL;
    wg_roads_report rep;
    wg_status st = wg_ws_open(ctx, wsp, 0, &ws);
    if (!st) st = src ? wg_roads_import(ws, src, &o, &rep) : wg_roads_rebuild(ws, o.profiles, &rep);
    int rc = st ? cli_fail("roads", ctx, st) : EXIT_OK;
    cli_progress_done();
    if (!st) {
        roads_print(wsp, src, &rep);
        if (json) cli_json_out(roads_json(src, &rep), 0);
    }
    wg_ws_close(ws);
    wg_ctx_free(ctx);
    return rc;
}

/* ---- shared by route and dispatch -------------------------------------------- */

/* Opens the workspace read-only, its graph, and a router for `profile`;
 * says so when WS.graph had to be rebuilt in memory. */
static wg_status open_router(const char *cmd, wg_ctx *ctx, const char *wsp, const char *profile,
                             wg_ws **ws, wg_graph **g, wg_router **r, double *load_ms) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    wg_status st = wg_ws_open(ctx, wsp, 1, ws);
    if (!st) st = wg_graph_open(*ws, g);
    if (!st) {
        wg_graph_info gi;
        wg_graph_get_info(*g, &gi);
        if (!gi.from_file)
            fprintf(stderr, "wangge %s: note: %s.graph is missing or out of date, so the graph was "
                    "rebuilt in memory without its hierarchies (exact, slower); `wangge roads %s` "
                    "writes it again\n", cmd, wsp, wsp);
        st = wg_router_new(ctx, *g, profile, r);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (load_ms) *load_ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    return st;
}


/* ---- wangge route ------------------------------------------------------------ */

static void route_help(FILE *out) {
    fprintf(out,
        "usage: wangge route WS --from LON,LAT --to LON,LAT [options]\n"
        "       wangge route WS --bench N [--profile P]\n\n"
        "The fastest route along the roads (exact: contraction hierarchies; see\n"
        "--algorithm), printed as a GeoJSON Feature: a LineString in WGS84 lon/lat from\n"
        "the origin to the destination, with properties duration_s, distance_m, walk_m,\n"
        "streets (the street names along the way), steps (per street: distance_m,\n"
        "duration_s) and where each end met the road. Each point walks in a straight\n"
        "line, at the profile's offroad speed, to the nearest point of the nearest road\n"
        "the profile may use; a partial road piece counts its share of the time.\n"
        "When there is no way (no road near an end, islands, one-way roads) the Feature\n"
        "has a null geometry, status and reason, and the exit status is 1.\n\n"
        "  --from LON,LAT     origin\n"
        "  --to LON,LAT       destination\n"
        "  --profile P        a profile of the graph (default: car)\n"
        "  --crs C            CRS of --from and --to: wgs84 (default) | cgcs2000 |\n"
        "                     gcj02 (AMap, Tencent) | bd09 (Baidu) | EPSG:n\n"
        "  --max-snap M       farthest a point may be from a road, metres (default 5000)\n"
        "  --algorithm A      ch (default) | dijkstra (bidirectional, on the plain arcs;\n"
        "                     same answer, slower: a check)\n"
        "  --bench N          time N routes between random road nodes (seed --seed S,\n"
        "                     default 1) and print the timings as JSON\n"
        "  -h, --help         this text\n");
}

static int cmpd(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double now_ms(clockid_t clk) {
    struct timespec t;
    clock_gettime(clk, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* Routes between random node pairs: wall and CPU time per route. */
static int route_bench(wg_router *r, const wg_graph *g, const char *profile, long n,
                       unsigned seed, const wg_route_opts *ro, double load_ms) {
    wg_graph_info gi;
    wg_graph_get_info(g, &gi);
    double *wall = malloc((size_t)n * sizeof *wall), *cpu = malloc((size_t)n * sizeof *cpu);
    if (!wall || !cpu || gi.nodes < 1) {
        free(wall), free(cpu);
        fprintf(stderr, "wangge route: error: cannot benchmark (out of memory or empty graph)\n");
        return EXIT_FAIL;
    }
    uint64_t x = seed ? seed : 1, settled = 0;
    long found = 0;
    for (long i = 0; i < n; i++) {
        double ll[4];
        for (int k = 0; k < 2; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
            wg_graph_node(g, (int64_t)(x % (uint64_t)gi.nodes), &ll[2 * k], &ll[2 * k + 1]);
        }
        wg_route *rt = NULL;
        double w0 = now_ms(CLOCK_MONOTONIC), c0 = now_ms(CLOCK_THREAD_CPUTIME_ID);
        wg_status st = wg_route_compute(r, ll[0], ll[1], ll[2], ll[3], ro, &rt);
        cpu[i] = now_ms(CLOCK_THREAD_CPUTIME_ID) - c0;
        wall[i] = now_ms(CLOCK_MONOTONIC) - w0;
        if (!st) {
            found += rt->status == WG_ROUTE_FOUND;
            settled += (uint64_t)rt->settled;
        }
        wg_route_free(rt);
    }
    qsort(wall, (size_t)n, sizeof *wall, cmpd);
    qsort(cpu, (size_t)n, sizeof *cpu, cmpd);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "profile", profile);
    cJSON_AddStringToObject(j, "algorithm", ro->algorithm == WG_ALGO_CH ? "ch" : "dijkstra");
    cJSON_AddNumberToObject(j, "nodes", (double)gi.nodes);
    cJSON_AddNumberToObject(j, "routes", (double)n);
    cJSON_AddNumberToObject(j, "found", (double)found);
    cJSON_AddNumberToObject(j, "load_ms", r3(load_ms));
    cJSON_AddNumberToObject(j, "p50_ms", r3(wall[n / 2]));
    cJSON_AddNumberToObject(j, "p99_ms", r3(wall[(n * 99) / 100]));
    cJSON_AddNumberToObject(j, "cpu_p50_ms", r3(cpu[n / 2]));
    cJSON_AddNumberToObject(j, "cpu_p99_ms", r3(cpu[(n * 99) / 100]));
    cJSON_AddNumberToObject(j, "settled_mean", r1((double)settled / (double)n));
    cli_json_out(j, 0);
    free(wall), free(cpu);
    return EXIT_OK;
}


int cmd_route(int argc, char **argv) {
    enum { O_FROM = 256, O_TO, O_PROFILE, O_CRS, O_SNAP, O_ALGO, O_BENCH, O_SEED };
    static const struct option longopts[] = {
        {"from", required_argument, 0, O_FROM},       {"to", required_argument, 0, O_TO},
        {"profile", required_argument, 0, O_PROFILE}, {"crs", required_argument, 0, O_CRS},
        {"max-snap", required_argument, 0, O_SNAP},   {"algorithm", required_argument, 0, O_ALGO},
        {"bench", required_argument, 0, O_BENCH},     {"seed", required_argument, 0, O_SEED},
        {"help", no_argument, 0, 'h'},                {0, 0, 0, 0}};
    double fx = NAN, fy = NAN, tx = NAN, ty = NAN, v;
    const char *profile = "car", *crs = "wgs84";
    wg_route_opts ro;
    memset(&ro, 0, sizeof ro);
    long bench = 0;
    unsigned seed = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_FROM:
            if (!parse_pair(optarg, &fx, &fy)) return cli_usage_error("route", "--from '%s' is not LON,LAT", optarg);
            break;
        case O_TO:
            if (!parse_pair(optarg, &tx, &ty)) return cli_usage_error("route", "--to '%s' is not LON,LAT", optarg);
            break;
        case O_PROFILE: profile = optarg; break;
        case O_CRS: crs = optarg; break;
        case O_SNAP:
            if (!parse_num(optarg, &ro.max_snap_m) || ro.max_snap_m <= 0)
                return cli_usage_error("route", "--max-snap needs metres > 0");
            break;
        case O_ALGO:
            if (!strcmp(optarg, "ch")) ro.algorithm = WG_ALGO_CH;
            else if (!strcmp(optarg, "dijkstra")) ro.algorithm = WG_ALGO_DIJKSTRA;
            else return cli_usage_error("route", "--algorithm '%s' is not ch or dijkstra", optarg);
            break;
        case O_BENCH:
            if (!parse_num(optarg, &v) || v < 1 || v > 1e7 || v != floor(v))
                return cli_usage_error("route", "--bench needs a count of routes (1 to 10000000)");
            bench = (long)v;
            break;
        case O_SEED:
            if (!parse_num(optarg, &v) || v < 0 || v > 4e9) return cli_usage_error("route", "--seed needs a number");
            seed = (unsigned)v;
            break;
        case 'h': route_help(stdout); return EXIT_OK;
        default: route_help(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) return cli_usage_error("route", "expected one workspace path");
    if (!bench && (isnan(fx) || isnan(tx))) return cli_usage_error("route", "--from and --to are required");
    if (!crs_ok(crs))
        return cli_usage_error("route", "--crs '%s' is not wgs84, cgcs2000, gcj02, bd09 or EPSG:n", crs);
    wg_ctx *ctx = cli_ctx();
    wg_ws *ws = NULL;
    wg_graph *g = NULL;
    wg_router *r = NULL;
    wg_route *rt = NULL;
    double flon = 0, flat = 0, tlon = 0, tlat = 0, load_ms = 0;
    int rc = EXIT_OK;
    if (!bench && (!to_wgs84("route", ctx, crs, "--from", fx, fy, &flon, &flat) ||
                   !to_wgs84("route", ctx, crs, "--to", tx, ty, &tlon, &tlat))) {
        rc = EXIT_FAIL;
        goto done;
    }
    wg_status st = open_router("route", ctx, argv[optind], profile, &ws, &g, &r, &load_ms);
    if (st) {
        rc = cli_fail("route", ctx, st);
        goto done;
    }
    if (bench) {
        rc = route_bench(r, g, profile, bench, seed, &ro, load_ms);
        goto done;
    }
    if ((st = wg_route_compute(r, flon, flat, tlon, tlat, &ro, &rt))) {
        rc = cli_fail("route", ctx, st);
        goto done;
    }
    cli_json_out(cli_route_json(rt, profile), 1);
    if (rt->status != WG_ROUTE_FOUND) {
        fprintf(stderr, "wangge route: %s: %s\n", wg_route_status_name(rt->status), rt->reason);
        rc = EXIT_FAIL;
    }
done:
    wg_route_free(rt);
    wg_router_free(r);
    wg_graph_free(g);
    wg_ws_close(ws);
    wg_ctx_free(ctx);
    return rc;
}

/* ---- wangge dispatch --------------------------------------------------------- */

static void dispatch_help(FILE *out) {
    fprintf(out,
        "usage: wangge dispatch WS --at LON,LAT [options]\n\n"
        "Ranks officers by travel time from their station (the lon/lat given at\n"
        "import-officers) to the point, along the roads, fastest first. One backward\n"
        "search from the point reaches every station at once; it stops as soon as the\n"
        "first --limit officers are certain. Prints JSON: for each officer officer_id,\n"
        "name, phone, role, grid (and grids), eta_s, distance_m and the station.\n"
        "Officers without a station are not ranked; those whose station has no road\n"
        "near, or no way to the point, are counted (no_road, unreachable).\n\n"
        "  --at LON,LAT       the incident\n"
        "  --profile P        a profile of the graph (default: car)\n"
        "  --role R           only officers with this role (grid_worker, police, ...)\n"
        "  --limit N          the N fastest (default 10; 0: all)\n"
        "  --crs C            CRS of --at: wgs84 (default) | cgcs2000 | gcj02 | bd09 |\n"
        "                     EPSG:n\n"
        "  --max-snap M       farthest a point or station may be from a road, metres\n"
        "                     (default 5000)\n"
        "  -h, --help         this text\n");
}

int cmd_dispatch(int argc, char **argv) {
    enum { O_AT = 256, O_PROFILE, O_ROLE, O_LIMIT, O_CRS, O_SNAP };
    static const struct option longopts[] = {
        {"at", required_argument, 0, O_AT},       {"profile", required_argument, 0, O_PROFILE},
        {"role", required_argument, 0, O_ROLE},   {"limit", required_argument, 0, O_LIMIT},
        {"crs", required_argument, 0, O_CRS},     {"max-snap", required_argument, 0, O_SNAP},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    double x = NAN, y = NAN, v, snap = 0;
    const char *profile = "car", *role = NULL, *crs = "wgs84";
    size_t limit = 10;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_AT:
            if (!parse_pair(optarg, &x, &y)) return cli_usage_error("dispatch", "--at '%s' is not LON,LAT", optarg);
            break;
        case O_PROFILE: profile = optarg; break;
        case O_ROLE: role = optarg; break;
        case O_LIMIT:
            if (!parse_num(optarg, &v) || v < 0 || v > 1e9 || v != floor(v))
                return cli_usage_error("dispatch", "--limit needs a count >= 0");
            limit = (size_t)v;
            break;
        case O_CRS: crs = optarg; break;
        case O_SNAP:
            if (!parse_num(optarg, &snap) || snap <= 0) return cli_usage_error("dispatch", "--max-snap needs metres > 0");
            break;
        case 'h': dispatch_help(stdout); return EXIT_OK;
        default: dispatch_help(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) return cli_usage_error("dispatch", "expected one workspace path");
    if (isnan(x)) return cli_usage_error("dispatch", "--at is required");
    if (!crs_ok(crs))
        return cli_usage_error("dispatch", "--crs '%s' is not wgs84, cgcs2000, gcj02, bd09 or EPSG:n", crs);
    wg_ctx *ctx = cli_ctx();
    wg_ws *ws = NULL;
    wg_graph *g = NULL;
    wg_router *r = NULL;
    wg_stations *s = NULL;
    wg_dispatch_result *d = NULL;
    double lon = 0, lat = 0;
    int rc = EXIT_OK;
    wg_status st;
    if (!to_wgs84("dispatch", ctx, crs, "--at", x, y, &lon, &lat)) {
        rc = EXIT_FAIL;
        goto done;
    }
    if ((st = open_router("dispatch", ctx, argv[optind], profile, &ws, &g, &r, NULL)) ||
        (st = wg_stations_load(ws, r, role, snap, &s)) ||
        (st = wg_dispatch(r, s, lon, lat, limit, snap, &d))) {
        rc = cli_fail("dispatch", ctx, st);
        goto done;
    }
    int64_t nst = 0;
    wg_stations_count(s, &nst, NULL);
    cJSON *j = cJSON_CreateObject(), *at = cJSON_AddObjectToObject(j, "at");
    cJSON_AddNumberToObject(at, "lon", x);
    cJSON_AddNumberToObject(at, "lat", y);
    cJSON_AddStringToObject(at, "crs", crs);
    cJSON_AddNumberToObject(at, "wgs84_lon", r7(lon));
    cJSON_AddNumberToObject(at, "wgs84_lat", r7(lat));
    cJSON_AddStringToObject(j, "profile", profile);
    if (role) cJSON_AddStringToObject(j, "role", role);
    cli_dispatch_json(j, d, nst, NULL, NULL);
    cli_json_out(j, 1);
    if (d->status != WG_ROUTE_FOUND) {
        fprintf(stderr, "wangge dispatch: %s: %s\n", wg_route_status_name(d->status), d->reason);
        rc = EXIT_FAIL;
    }
done:
    wg_dispatch_free(d);
    wg_stations_free(s);
    wg_router_free(r);
    wg_graph_free(g);
    wg_ws_close(ws);
    wg_ctx_free(ctx);
    return rc;
}
