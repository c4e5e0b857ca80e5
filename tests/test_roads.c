/* test_roads.c -- building the road graph: noding, lengths, one-way and
 * access handling, islands, profiles and their errors, the road_edges table,
 * the WS.graph file (reopened, missing, stale, damaged), bad input, and a
 * real OpenStreetMap import (Monaco, fixtures/osm/).
 *
 * Layouts are lines in metres (EPSG:4549) from the test origin; expected
 * lengths are geodesic, computed here with PROJ's geod_inverse on the
 * points PROJ gives for those metres, independently of the engine. */
#include "testutil.h"

#include "graph.h"

#include <geodesic.h>
#include <proj.h>

static PJ *to_ll;

static void ll_of(double dx, double dy, double *lon, double *lat) {
    PJ_COORD c = proj_trans(to_ll, PJ_FWD, proj_coord(T_X0 + dx, T_Y0 + dy, 0, 0));
    *lon = c.xy.x, *lat = c.xy.y;
}

static double geo_len(const double *xy, int n) {
    struct geod_geodesic g;
    geod_init(&g, 6378137, 1 / 298.257223563);
    double s = 0;
    for (int i = 1; i < n; i++) {
        double a0, a1, b0, b1, d;
        ll_of(xy[2 * i - 2], xy[2 * i - 1], &a0, &a1);
        ll_of(xy[2 * i], xy[2 * i + 1], &b0, &b1);
        geod_inverse(&g, a1, a0, b1, b0, &d, NULL, NULL);
        s += d;
    }
    return s;
}

/* A GeoJSON layer of lines in metre offsets (EPSG:4549, no crs member). */
static void gj_line(gj *g, const char *cls, const char *name, const char *oneway, int speed,
                    const double *xy, int n) {
    gj_put(g, "%s{\"type\":\"Feature\",\"properties\":{\"class\":\"%s\",\"name\":\"%s\"",
           g->count++ ? "," : "", cls, name);
    if (oneway) gj_put(g, ",\"oneway\":\"%s\"", oneway);
    if (speed) gj_put(g, ",\"speed\":%d", speed);
    gj_put(g, "},\"geometry\":{\"type\":\"LineString\",\"coordinates\":[");
    for (int i = 0; i < n; i++) gj_put(g, "%s[%.3f,%.3f]", i ? "," : "", T_X0 + xy[2 * i], T_Y0 + xy[2 * i + 1]);
    gj_put(g, "]}}");
}

static wg_roads_opts opts_4549(void) {
    wg_roads_opts o;
    memset(&o, 0, sizeof o);
    o.s_srs = "EPSG:4549";
    return o;
}

static int64_t count_rows(wg_ws *ws, const char *sql) {
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    if (sqlite3_prepare_v2(ws->db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static const wg_roads_profile_report *prof(const wg_roads_report *r, const char *name) {
    for (int i = 0; i < r->nprofiles; i++)
        if (!strcmp(r->profiles[i].name, name)) return &r->profiles[i];
    return NULL;
}

/* A cross (two lines sharing their middle vertex: both split there), two
 * lines ending on another line where it has no vertex and a bridge crossing
 * it without one (none of these join), repeated points, an island. */
static void noding(wg_ctx *ctx) {
    wg_ws *ws = fresh_ws(ctx, "noding.sqlite", 4549);
    gj g;
    gj_begin(&g);
    double ew[] = {0, 0, 500, 0, 1000, 0};           /* west-east, vertex at 500,0 */
    double ns[] = {500, -500, 500, 0, 500, 500};     /* north-south through it */
    double tee[] = {1000, 500, 800, 200, 800, 0};    /* ends on ew at 800,0, not a vertex of it */
    double tee2[] = {200, 300, 200, 0};               /* likewise at 200,0 */
    double bridge[] = {700, -300, 700, 300};          /* crosses ew at 700,0: no shared vertex */
    double dup[] = {1000, 0, 1000, 0, 1200, 0, 1200, 0, 1400, 0}; /* repeated points */
    double island[] = {5000, 5000, 5300, 5000, 5300, 5400};
    gj_line(&g, "street", "东西路", NULL, 0, ew, 3);
    gj_line(&g, "street", "南北路", NULL, 0, ns, 3);
    gj_line(&g, "street", "", NULL, 0, tee, 3);
    gj_line(&g, "street", "", NULL, 0, tee2, 2);
    gj_line(&g, "street", "桥", NULL, 0, bridge, 2);
    gj_line(&g, "street", "东路", NULL, 0, dup, 5);
    gj_line(&g, "track", "岛", NULL, 0, island, 3);
    gj_end(&g, tpath("noding.geojson"));
    wg_roads_opts o = opts_4549();
    wg_roads_report r;
    CHECK_OK(ctx, wg_roads_import(ws, tpath("noding.geojson"), &o, &r));
    CHECK_STR(r.source, "ogr");
    CHECK(r.features == 7);
    CHECK(r.bad_geometry == 0 && r.not_roads == 0);
    /* ew splits at 500 (shared with ns): 2 edges; ns: 2; tee: 1; tee2: 1;
     * bridge: 1; dup: 1 (1000..1400, joined to ew's end); island: 1 */
    CHECK(r.edges == 9);
    /* nodes: ew 0,500,1000; ns ends 2; tee 2 ends (1000,500), (800,0); tee2 2;
     * bridge 2; dup end 1400; island 2 */
    CHECK(r.nodes == 3 + 2 + 2 + 2 + 2 + 1 + 2);
    double total = geo_len(ew, 3) + geo_len(ns, 3) + geo_len(tee, 3) + geo_len(tee2, 2) +
                   geo_len(bridge, 2) + geo_len(dup, 5) + geo_len(island, 3);
    CHECK_NEAR(r.length_km * 1000, total, 1e-6);
    const wg_roads_profile_report *w = prof(&r, "walk");
    CHECK(w != NULL);
    if (w) {
        /* main piece: ew+ns+dup (1000 m + 1000 m + 400 m); islands: tee, tee2, bridge, island */
        CHECK(w->components == 5);
        CHECK(w->main_nodes == 6);
        CHECK(w->island_nodes == 2 + 2 + 2 + 2);
        CHECK(w->n_islands == 4);
        CHECK(w->arcs == 2 * 9);
    }
    /* the table: one row per edge, geometry and length agree with SpatiaLite */
    CHECK(count_rows(ws, "SELECT COUNT(*) FROM road_edges") == 9);
    CHECK(count_rows(ws, "SELECT COUNT(*) FROM road_edges WHERE GeometryType(geom) = 'LINESTRING' "
                         "AND ST_IsValid(geom) AND ST_Srid(geom) = 4326") == 9);
    CHECK(count_rows(ws, "SELECT COUNT(*) FROM road_edges WHERE abs(ST_Length(geom, 1) - length_m) "
                         "> 1e-6 * length_m") == 0);
    CHECK(count_rows(ws, "SELECT COUNT(*) FROM road_edges WHERE name = '东西路'") == 2);
    CHECK(count_rows(ws, "SELECT COUNT(*) FROM road_edges WHERE name IS NULL") == 2);
    /* the repeated points are gone: dup's edge has 3 points */
    CHECK(count_rows(ws, "SELECT ST_NumPoints(geom) FROM road_edges WHERE name = '东路'") == 3);
    /* edges meet exactly at their shared nodes */
    CHECK(count_rows(ws, "SELECT COUNT(*) FROM road_edges a JOIN road_edges b ON a.target = b.source "
                         "WHERE NOT ST_Equals(ST_EndPoint(a.geom), ST_StartPoint(b.geom))") == 0);
    CHECK(count_rows(ws, "SELECT COUNT(*) FROM imports WHERE what = 'roads'") == 1);
    /* the triggers SpatiaLite keeps on the table survive the bulk load */
    CHECK(count_rows(ws, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND "
                         "tbl_name = 'road_edges'") == 5);
    sqlite3_stmt *st = NULL;
    int rejected = 0;
    if (sqlite3_prepare_v2(ws->db, "INSERT INTO road_edges(id, source, target, length_m, geom) "
                           "VALUES(100, 1, 2, 1, MakePoint(1, 2, 4326))", -1, &st, NULL) == SQLITE_OK)
        rejected = sqlite3_step(st) != SQLITE_DONE;
    sqlite3_finalize(st);
    CHECK(rejected); /* a POINT is refused: the geometry constraint is back */
    wg_ws_close(ws);
}

/* oneway yes / 1 / true / -1 / no on a line layer; walk ignores it. */
static void oneway(wg_ctx *ctx) {
    wg_ws *ws = fresh_ws(ctx, "oneway.sqlite", 4549);
    gj g;
    gj_begin(&g);
    const char *vals[] = {"yes", "1", "true", "-1", "no", "reversible", "TRUE", NULL};
    for (int i = 0; vals[i]; i++) {
        double xy[] = {0, 100.0 * i, 400, 100.0 * i};
        gj_line(&g, "street", "", vals[i], 0, xy, 2);
    }
    double tie[] = {0, 0, 0, 600};
    gj_line(&g, "street", "", NULL, 0, tie, 2);
    gj_end(&g, tpath("oneway.geojson"));
    wg_roads_opts o = opts_4549();
    wg_roads_report r;
    CHECK_OK(ctx, wg_roads_import(ws, tpath("oneway.geojson"), &o, &r));
    CHECK(count_rows(ws, "SELECT COUNT(*) FROM road_edges WHERE oneway = 1") == 4);
    CHECK(count_rows(ws, "SELECT COUNT(*) FROM road_edges WHERE oneway = -1") == 1);
    const wg_roads_profile_report *car = prof(&r, "car"), *walk = prof(&r, "walk");
    CHECK(r.edges == 8);
    CHECK(car && walk);
    if (car && walk) {
        CHECK(walk->arcs == 2 * r.edges);
        CHECK(car->arcs == 2 * r.edges - 5);
    }
    /* --oneway-field names a field that must exist */
    o.oneway_field = "einbahn";
    wg_status st = wg_roads_import(ws, tpath("oneway.geojson"), &o, NULL);
    CHECK(st == WG_ERR_NOT_FOUND);
    CHECK(strstr(wg_ctx_errmsg(ctx), "einbahn") != NULL);
    wg_ws_close(ws);
}

static void write_profiles(const char *name, const char *text) { write_file(tpath(name), text); }

/* Profiles: the default text, edits applied by a rebuild, and errors that
 * name the file and line. */
static void profiles(wg_ctx *ctx) {
    wg_ws *ws = fresh_ws(ctx, "profiles.sqlite", 4549);
    gj g;
    gj_begin(&g);
    double a[] = {0, 0, 1000, 0}, b[] = {1000, 0, 2000, 0};
    gj_line(&g, "street", "甲", NULL, 0, a, 2);
    gj_line(&g, "footway", "乙", NULL, 0, b, 2);
    gj_end(&g, tpath("profiles.geojson"));
    wg_roads_opts o = opts_4549();
    wg_roads_report r;
    CHECK_OK(ctx, wg_roads_import(ws, tpath("profiles.geojson"), &o, &r));
    CHECK(r.nprofiles == 3);
    CHECK_STR(r.profiles[0].name, "car");
    CHECK(prof(&r, "car")->arcs == 2);  /* no cars on footways */
    CHECK(prof(&r, "walk")->arcs == 4);
    CHECK(strstr(wg_roads_default_profiles(), "[ebike]") != NULL);

    /* a new profile set replaces the stored one at rebuild */
    write_profiles("p1.txt", "# two profiles\n[bus]\nmode = car\nstreet = 36\nfootway = 0\n\n"
                             "[runner]\nmode = foot\ndefault = 12 # km/h\n");
    CHECK_OK(ctx, wg_roads_rebuild(ws, tpath("p1.txt"), &r));
    CHECK(r.nprofiles == 2);
    CHECK_STR(r.profiles[1].name, "runner");
    CHECK(r.profiles[0].arcs == 2 && r.profiles[1].arcs == 4);
    wg_graph *gr = NULL;
    CHECK_OK(ctx, wg_graph_open(ws, &gr));
    wg_router *rt = NULL;
    CHECK(wg_router_new(ctx, gr, "car", &rt) == WG_ERR_NOT_FOUND);
    CHECK(strstr(wg_ctx_errmsg(ctx), "bus, runner") != NULL);
    CHECK_OK(ctx, wg_router_new(ctx, gr, "bus", &rt));
    /* 1000 m at 36 km/h: exactly 100 s */
    double lon0, lat0, lon1, lat1;
    ll_of(0, 0, &lon0, &lat0);
    ll_of(1000, 0, &lon1, &lat1);
    wg_route *route = NULL;
    CHECK_OK(ctx, wg_route_compute(rt, lon0, lat0, lon1, lat1, NULL, &route));
    if (route) {
        CHECK(route->status == WG_ROUTE_FOUND);
        double len = geo_len(a, 2);
        CHECK_NEAR(route->duration_s, llround(len * 3600 / 36) / 1000.0, 1e-9);
    }
    wg_route_free(route);
    wg_router_free(rt);
    wg_graph_free(gr);
    /* stored: a rebuild without a file keeps them */
    CHECK_OK(ctx, wg_roads_rebuild(ws, NULL, &r));
    CHECK(r.nprofiles == 2);

    static const struct {
        const char *text, *want;
    } bad[] = {
        {"[car]\nspeed = 10\n", "no mode"},
        {"mode = car\n", ":1: 'mode' before any [profile]"},
        {"[car]\nmode = car\nstreet = fast\n", ":3: street = 'fast'"},
        {"[car]\nmode = car\nstreet = -5\n", ":3:"},
        {"[car]\nmode = plane\n", ":2: mode 'plane'"},
        {"[car]\nmode = car\n[car]\nmode = foot\n", ":3: profile [car] appears twice"},
        {"[a b]\nmode = car\n", ":1: profile name 'a b'"},
        {"[car\nmode = car\n", ":1: a section header"},
        {"[car]\nmode = car\nonewy yes\n", ":3: expected KEY = VALUE"},
        {"[car]\nmode = car\noneway = sometimes\n", ":3: oneway 'sometimes'"},
        {"[car]\nmode = car\nstreet = 10\nstreet = 20\n", ":4: class 'street' twice"},
        {"[car]\nmode = car\noffroad = 0\n", ":3: offroad"},
        {"# nothing\n", "no [profile]"},
        {"[a]\nmode=car\n[b]\nmode=car\n[c]\nmode=car\n[d]\nmode=car\n[e]\nmode=car\n[f]\nmode=car\n"
         "[g]\nmode=car\n[h]\nmode=car\n[i]\nmode=car\n", ":17: at most 8"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_profiles("bad.txt", bad[i].text);
        wg_status st = wg_roads_rebuild(ws, tpath("bad.txt"), NULL);
        CHECK(st == WG_ERR_FORMAT);
        if (!strstr(wg_ctx_errmsg(ctx), bad[i].want) || !strstr(wg_ctx_errmsg(ctx), "bad.txt"))
            fprintf(stderr, "  profile case %zu: got '%s', want '%s'\n", i, wg_ctx_errmsg(ctx),
                    bad[i].want);
        CHECK(strstr(wg_ctx_errmsg(ctx), bad[i].want) != NULL);
    }
    write_file(tpath("bin.txt"), "[car]\nmode = car\n\xff\xfe\n");
    CHECK(wg_roads_rebuild(ws, tpath("bin.txt"), NULL) == WG_ERR_FORMAT);
    CHECK(wg_roads_rebuild(ws, tpath("no-such-profiles.txt"), NULL) == WG_ERR_IO);
    /* nothing of this changed the stored profiles */
    CHECK_OK(ctx, wg_roads_rebuild(ws, NULL, &r));
    CHECK(r.nprofiles == 2);
    wg_ws_close(ws);
}

/* Bad sources fail cleanly and leave the previous network as it was. */
static void bad_input(wg_ctx *ctx) {
    wg_ws *ws = fresh_ws(ctx, "bad.sqlite", 4549);
    wg_graph *gr = NULL;
    CHECK(wg_graph_open(ws, &gr) == WG_ERR_NOT_FOUND); /* no roads yet */
    CHECK(strstr(wg_ctx_errmsg(ctx), "wangge roads") != NULL);
    CHECK(wg_roads_rebuild(ws, NULL, NULL) == WG_ERR_NOT_FOUND);
    gj g;
    gj_begin(&g);
    double a[] = {0, 0, 1000, 0};
    gj_line(&g, "street", "好路", NULL, 0, a, 2);
    gj_end(&g, tpath("good.geojson"));
    wg_roads_opts o = opts_4549();
    CHECK_OK(ctx, wg_roads_import(ws, tpath("good.geojson"), &o, NULL));
    int64_t before = count_rows(ws, "SELECT COUNT(*) FROM road_edges");
    char *stamp = NULL;
    wg_ws_meta_get(ws, "roads_stamp", &stamp);

    CHECK(wg_roads_import(ws, tpath("no-such-file.shp"), &o, NULL) == WG_ERR_GDAL);
    CHECK(wg_roads_import(ws, NULL, &o, NULL) == WG_ERR_INVALID_ARG);
    /* polygons only: nothing usable */
    gj_begin(&g);
    gj_rect(&g, "grid", "1", "x", 0, 0, 10, 10);
    gj_end(&g, tpath("poly.geojson"));
    CHECK(wg_roads_import(ws, tpath("poly.geojson"), &o, NULL) == WG_ERR_FORMAT);
    CHECK(strstr(wg_ctx_errmsg(ctx), "no usable road lines") != NULL);
    /* a CSV of WKT: a point, an empty geometry, absurd coordinates, a
     * degenerate line, and one good line; no CRS unless given */
    write_file(tpath("mixed.csv"), "WKT,class\n\"POINT (1 1)\",a\n,b\n"
                                   "\"LINESTRING (1e300 1,2 3)\",c\n\"LINESTRING (5 5,5 5)\",d\n"
                                   "\"LINESTRING (119.5 34.1,119.51 34.1)\",street\n");
    wg_roads_opts none;
    memset(&none, 0, sizeof none);
    CHECK(wg_roads_import(ws, tpath("mixed.csv"), &none, NULL) == WG_ERR_PROJ);
    CHECK(strstr(wg_ctx_errmsg(ctx), "--s-srs") != NULL);
    CHECK(count_rows(ws, "SELECT COUNT(*) FROM road_edges") == before);
    char *stamp2 = NULL;
    wg_ws_meta_get(ws, "roads_stamp", &stamp2);
    CHECK(stamp && stamp2 && !strcmp(stamp, stamp2));
    free(stamp2);
    none.s_srs = "EPSG:4326";
    wg_roads_report r;
    CHECK_OK(ctx, wg_roads_import(ws, tpath("mixed.csv"), &none, &r));
    CHECK(r.features == 5 && r.edges == 1 && r.bad_geometry == 4);
    /* a read-only workspace refuses */
    wg_ws_close(ws);
    CHECK_OK(ctx, wg_ws_open(ctx, tpath("bad.sqlite"), 1, &ws));
    CHECK(wg_roads_import(ws, tpath("good.geojson"), &o, NULL) == WG_ERR_INVALID_ARG);
    CHECK(wg_roads_rebuild(ws, NULL, NULL) == WG_ERR_INVALID_ARG);
    free(stamp);
    wg_ws_close(ws);
}

/* A small lattice for the file tests. */
static void lattice(wg_ctx *ctx, const char *name) {
    gj g;
    gj_begin(&g);
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) {
            double h[] = {200.0 * i, 200.0 * j, 200.0 * (i + 1), 200.0 * j};
            double v[] = {200.0 * i, 200.0 * j, 200.0 * i, 200.0 * (j + 1)};
            if (i < 5) gj_line(&g, j % 2 ? "street" : "track", "", (i + j) % 5 == 0 ? "yes" : NULL, 0, h, 2);
            if (j < 5) gj_line(&g, "street", "", NULL, 0, v, 2);
        }
    gj_end(&g, tpath(name));
    (void)ctx;
}

static double route_s(wg_ctx *ctx, const wg_graph *gr, const char *profile, double ax, double ay,
                      double bx, double by) {
    wg_router *rt = NULL;
    wg_route *route = NULL;
    double lon0, lat0, lon1, lat1, d = -1;
    ll_of(ax, ay, &lon0, &lat0);
    ll_of(bx, by, &lon1, &lat1);
    if (wg_router_new(ctx, gr, profile, &rt) == WG_OK &&
        wg_route_compute(rt, lon0, lat0, lon1, lat1, NULL, &route) == WG_OK &&
        route->status == WG_ROUTE_FOUND)
        d = route->duration_s;
    wg_route_free(route);
    wg_router_free(rt);
    return d;
}

/* WS.graph: reopened from the file, or rebuilt in memory when missing,
 * stale or damaged, with the same answers. */
static void graph_file(wg_ctx *ctx) {
    wg_ws *ws = fresh_ws(ctx, "file.sqlite", 4549);
    lattice(ctx, "lattice.geojson");
    wg_roads_opts o = opts_4549();
    wg_roads_report r;
    CHECK_OK(ctx, wg_roads_import(ws, tpath("lattice.geojson"), &o, &r));
    char path[1200];
    snprintf(path, sizeof path, "%s.graph", tpath("file.sqlite"));
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && sb.st_size == r.graph_bytes);
    wg_graph *gr = NULL;
    wg_graph_info gi;
    CHECK_OK(ctx, wg_graph_open(ws, &gr));
    wg_graph_get_info(gr, &gi);
    CHECK(gi.from_file == 1 && gi.nodes == 36 && gi.edges == 60 && gi.nprofiles == 3);
    double want = route_s(ctx, gr, "car", 0, 0, 1000, 1000);
    CHECK(want > 0);
    wg_graph_free(gr);

    /* missing: rebuilt from road_edges, same answer */
    char moved[1300];
    snprintf(moved, sizeof moved, "%s.moved", path);
    CHECK(rename(path, moved) == 0);
    CHECK_OK(ctx, wg_graph_open(ws, &gr));
    wg_graph_get_info(gr, &gi);
    CHECK(gi.from_file == 0 && gi.nodes == 36);
    CHECK_NEAR(route_s(ctx, gr, "car", 0, 0, 1000, 1000), want, 1e-9);
    wg_graph_free(gr);

    /* damaged with the right stamp: every byte after the header and every
     * length cut must open (from the file or rebuilt) and route without a
     * crash; the header or directory damaged falls back to a rebuild */
    FILE *f = fopen(moved, "rb");
    size_t len = (size_t)sb.st_size;
    unsigned char *img = malloc(len);
    CHECK(f && fread(img, 1, len, f) == len);
    if (f) fclose(f);
    uint64_t seed = 12345;
    for (int trial = 0; trial < 60; trial++) {
        unsigned char *bad = malloc(len);
        memcpy(bad, img, len);
        size_t cut = len;
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        if (trial % 6 == 5) {
            cut = 64 + seed % (len - 64);
        } else {
            for (int k = 0; k < 1 + trial % 8; k++) {
                seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
                size_t at = 64 + seed % (len - 64);
                bad[at] ^= (unsigned char)(1u << (seed >> 60 & 7));
                if (trial % 3 == 0) bad[at] = 0xFF;
            }
        }
        FILE *w = fopen(path, "wb");
        fwrite(bad, 1, cut, w);
        fclose(w);
        free(bad);
        if (wg_graph_open(ws, &gr) == WG_OK) {
            route_s(ctx, gr, "car", 0, 0, 1000, 1000);
            route_s(ctx, gr, "walk", 100, 30, 900, 700);
            wg_graph_free(gr);
        } else {
            CHECK(0);
        }
    }
    free(img);
    CHECK(rename(moved, path) == 0);

    /* stale: another import changes the stamp; the old file is ignored */
    char old[1300];
    snprintf(old, sizeof old, "%s.old", path);
    FILE *a = fopen(path, "rb"), *b = fopen(old, "wb");
    int c;
    while (a && b && (c = fgetc(a)) != EOF) fputc(c, b);
    if (a) fclose(a);
    if (b) fclose(b);
    gj g;
    gj_begin(&g);
    double line[] = {0, 0, 3000, 0};
    gj_line(&g, "street", "", NULL, 0, line, 2);
    gj_end(&g, tpath("one.geojson"));
    CHECK_OK(ctx, wg_roads_import(ws, tpath("one.geojson"), &o, &r));
    CHECK(rename(old, path) == 0); /* the previous import's file, back in place */
    CHECK_OK(ctx, wg_graph_open(ws, &gr));
    wg_graph_get_info(gr, &gi);
    CHECK(gi.from_file == 0 && gi.nodes == 2 && gi.edges == 1);
    wg_graph_free(gr);
    wg_ws_close(ws);
}

/* OpenStreetMap: Monaco through GDAL's OSM driver. */
static void osm(wg_ctx *ctx) {
    const char *fx = getenv("WG_FIXTURES");
    char src[1024];
    snprintf(src, sizeof src, "%s/osm/monaco_2016-03-05.osm.pbf", fx ? fx : "fixtures");
    wg_ws *ws = fresh_ws(ctx, "monaco.sqlite", 32632);
    wg_roads_report r;
    CHECK_OK(ctx, wg_roads_import(ws, src, NULL, &r));
    CHECK_STR(r.source, "osm");
    fprintf(stderr, "monaco: %lld ways, %lld not roads, %lld edges, %lld nodes, %.1f km, %.2f s\n",
            (long long)r.features, (long long)r.not_roads, (long long)r.edges,
            (long long)r.nodes, r.length_km, r.seconds);
    CHECK(r.features > 2000 && r.edges > r.features && r.nodes > 3000);
    CHECK(r.length_km > 100 && r.length_km < 1000);
    const wg_roads_profile_report *car = prof(&r, "car"), *walk = prof(&r, "walk");
    CHECK(car && walk);
    if (car && walk) {
        CHECK(car->arcs < walk->arcs); /* one-way streets, footways, steps */
        CHECK(car->main_nodes > 1000 && walk->main_nodes > car->main_nodes);
    }
    /* tags became columns */
    CHECK(count_rows(ws, "SELECT COUNT(*) FROM road_edges WHERE oneway = 1") > 100);
    CHECK(count_rows(ws, "SELECT COUNT(*) FROM road_edges WHERE class = 'steps'") > 10);
    CHECK(count_rows(ws, "SELECT COUNT(*) FROM road_edges WHERE speed_kmh = 50") > 10);
    CHECK(count_rows(ws, "SELECT COUNT(*) FROM road_edges WHERE access LIKE '%car=no%'") > 0);
    CHECK(count_rows(ws, "SELECT COUNT(*) FROM road_edges WHERE name = 'Boulevard Albert 1er'") > 0);
    /* a route across the principality, along real streets */
    wg_graph *gr = NULL;
    wg_router *rt = NULL;
    wg_route *route = NULL;
    CHECK_OK(ctx, wg_graph_open(ws, &gr));
    CHECK_OK(ctx, wg_router_new(ctx, gr, "car", &rt));
    if (rt) {
        /* Fontvieille to Monte-Carlo casino */
        CHECK_OK(ctx, wg_route_compute(rt, 7.4163, 43.7314, 7.4280, 43.7396, NULL, &route));
        if (route) {
            CHECK(route->status == WG_ROUTE_FOUND);
            CHECK(route->distance_m > 1300 && route->distance_m < 5000);
            CHECK(route->duration_s > 60 && route->duration_s < 900);
            CHECK(route->nsteps >= 2);
        }
        wg_route_free(route);
    }
    wg_router_free(rt);
    wg_graph_free(gr);
    wg_ws_close(ws);
}

int main(void) {
    wg_ctx *ctx = NULL;
    if (wg_ctx_new(&ctx) != WG_OK) return 2;
    to_ll = proj_create_crs_to_crs(NULL, "EPSG:4549", "EPSG:4326", NULL);
    PJ *norm = proj_normalize_for_visualization(NULL, to_ll);
    proj_destroy(to_ll);
    to_ll = norm;
    noding(ctx);
    oneway(ctx);
    profiles(ctx);
    bad_input(ctx);
    graph_file(ctx);
    osm(ctx);
    proj_destroy(to_ll);
    wg_ctx_free(ctx);
    TEST_MAIN_END();
}
