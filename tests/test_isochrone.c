/* test_isochrone.c -- service areas and coverage, against numbers computed
 * here:
 *  - a straight road at 36 km/h (600 m a minute) with square grids along
 *    it: the polygon's area is the number of raster cells whose centre lies
 *    within the band of the reached stretch (counted here by brute force
 *    over the cells, edges on multiples of the cell size) times cell², and
 *    near the stadium 2 * band * reach + pi * band²; each grid's covered
 *    area is the same count inside the grid;
 *  - a lattice walked at 5 km/h: every node a brute-force Dijkstra (on arc
 *    times computed here from road_edges) says is reached within T lies in
 *    the T polygon, every node clearly beyond it does not, the node counts
 *    agree; contours are nested; the lattice's cells are holes;
 *  - an origin off the network, on an island, with no road at all, a
 *    one-way street forwards and --reverse. */
#include "testutil.h"

#include "graph.h"
#include "ogrio.h"

#include <proj.h>

#define SPEED_MPS 10.0 /* 36 km/h */
#define BUF 30.0
#define CELL 10.0 /* the tests' raster cell (the default, BUF / 2, in the lattice) */

static PJ *to_ll, *to_m;
static wg_ctx *C;

static void ll_of(double dx, double dy, double *lon, double *lat) {
    PJ_COORD c = proj_trans(to_ll, PJ_FWD, proj_coord(T_X0 + dx, T_Y0 + dy, 0, 0));
    *lon = c.xy.x, *lat = c.xy.y;
}

static void gj_line(gj *g, const char *cls, const char *oneway, double x0, double y0, double x1,
                    double y1) {
    gj_put(g, "%s{\"type\":\"Feature\",\"properties\":{\"class\":\"%s\",\"name\":\"R%d\"%s%s%s},"
              "\"geometry\":{\"type\":\"LineString\",\"coordinates\":[[%.3f,%.3f],[%.3f,%.3f]]}}",
           g->count ? "," : "", cls, g->count, oneway ? ",\"oneway\":\"" : "", oneway ? oneway : "",
           oneway ? "\"" : "", T_X0 + x0, T_Y0 + y0, T_X0 + x1, T_Y0 + y1);
    g->count++;
}

static const char *const PROFILES =
    "[car]\nmode = car\noneway = yes\nroad_speed = ignore\ndefault = 36\noffroad = 5\n\n"
    "[walk]\nmode = foot\noneway = no\nroad_speed = ignore\ndefault = 5\noffroad = 5\n";

static GEOSGeometry *contour_geom(const wg_isochrone *iso, size_t i, wg_isochrone_contour *c) {
    if (wg_isochrone_get(iso, i, c) != WG_OK) return NULL;
    GEOSWKBReader *rd = GEOSWKBReader_create_r(C->geos);
    GEOSGeometry *g = GEOSWKBReader_read_r(C->geos, rd, c->wkb, c->wkb_len);
    GEOSWKBReader_destroy_r(C->geos, rd);
    return g;
}

static int inside(const GEOSGeometry *poly, double lon, double lat) {
    GEOSGeometry *p = GEOSGeom_createPointFromXY_r(C->geos, lon, lat);
    int r = GEOSIntersects_r(C->geos, poly, p) == 1;
    GEOSGeom_destroy_r(C->geos, p);
    return r;
}

static int inside_m(const GEOSGeometry *poly, double dx, double dy) {
    double lon, lat;
    ll_of(dx, dy, &lon, &lat);
    return inside(poly, lon, lat);
}

/* The area of a full disc of the band: the stadium's two caps. */
static double disc(void) { return M_PI * BUF * BUF; }

/* Distance from (x, y) to segment a-b. */
static double seg_dist(double x, double y, double ax, double ay, double bx, double by) {
    double dx = bx - ax, dy = by - ay, l2 = dx * dx + dy * dy;
    double u = l2 > 0 ? ((x - ax) * dx + (y - ay) * dy) / l2 : 0;
    u = u < 0 ? 0 : u > 1 ? 1 : u;
    return hypot(x - ax - u * dx, y - ay - u * dy);
}

/* The oracle of the raster method: cells of `cell` m (edges on multiples of
 * the cell in the metric CRS) whose centre lies within BUF of one of the n
 * segments (metre offsets from T_X0, T_Y0), counted inside the window
 * [wx0, wx1] x [wy0, wy1] (offsets), times cell². */
static double band_area_in(const double *xy, int n, double cell, double wx0, double wy0,
                           double wx1, double wy1) {
    double x0 = 1e300, y0 = 1e300, x1 = -1e300, y1 = -1e300;
    for (int i = 0; i < 2 * n; i++) {
        double x = T_X0 + xy[2 * i], y = T_Y0 + xy[2 * i + 1];
        x0 = fmin(x0, x), x1 = fmax(x1, x), y0 = fmin(y0, y), y1 = fmax(y1, y);
    }
    long cnt = 0;
    for (double cy = floor((y0 - BUF) / cell) * cell + cell / 2; cy < y1 + BUF + cell; cy += cell)
        for (double cx = floor((x0 - BUF) / cell) * cell + cell / 2; cx < x1 + BUF + cell; cx += cell) {
            if (cx < T_X0 + wx0 || cx > T_X0 + wx1 || cy < T_Y0 + wy0 || cy > T_Y0 + wy1) continue;
            for (int i = 0; i < n; i++)
                if (seg_dist(cx, cy, T_X0 + xy[4 * i], T_Y0 + xy[4 * i + 1], T_X0 + xy[4 * i + 2],
                             T_Y0 + xy[4 * i + 3]) <= BUF) {
                    cnt++;
                    break;
                }
        }
    return (double)cnt * cell * cell;
}

static double band_area(const double *xy, int n) {
    return band_area_in(xy, n, CELL, -1e9, -1e9, 1e9, 1e9);
}

/* Areas: reaches come from geodesic lengths (the Gauss-Krüger scale 50 km
 * off the meridian adds 3e-5 of length), so a cap may gain or lose a few
 * cells against the oracle; against the continuous stadium the staircase
 * of the two caps (perimeter 2 pi BUF) is off by at most half a cell. */
#define TOL(a) (1e-4 * (a) + 4 * CELL * CELL)
#define TOL_STADIUM (M_PI * BUF * CELL)

/* The walk of the first origin (minutes), from the reached pieces. */
static double walk_min(const wg_isochrone *iso) {
    for (size_t i = 0; i < wg_isochrone_lines(iso); i++) {
        wg_isochrone_piece p;
        if (wg_isochrone_line(iso, i, &p) == WG_OK && !p.edge_id) return p.end_min;
    }
    return -1;
}

/* ---- the straight road, its grids, one-way street and island ------------- */

static wg_ws *straight_ws(void) {
    wg_ws *ws = fresh_ws(C, "straight.sqlite", 4549);
    gj g;
    gj_begin(&g);
    gj_line(&g, "street", NULL, 0, 500, 3900, 500);
    gj_line(&g, "street", "yes", 0, -2000, 2000, -2000);
    gj_line(&g, "street", NULL, 0, 3500, 500, 3500); /* an island */
    gj_end(&g, tpath("straight.geojson"));
    write_file(tpath("iso.profiles"), PROFILES);
    wg_roads_opts o;
    memset(&o, 0, sizeof o);
    o.s_srs = "EPSG:4549";
    o.profiles = tpath("iso.profiles");
    CHECK_OK(C, wg_roads_import(ws, tpath("straight.geojson"), &o, NULL));
    gj_begin(&g);
    gj_rect(&g, "county", "320724", "某县", 0, -3000, 4000, 4000);
    gj_rect(&g, "town", "320724100", "某镇", 0, -3000, 4000, 4000);
    gj_rect(&g, "village", "320724100001", "东社区", 0, -3000, 2000, 4000);
    gj_rect(&g, "village", "320724100002", "西村", 2000, -3000, 4000, 4000);
    gj_rect(&g, "grid", "320724100001001", "G1", 0, 0, 1000, 1000);
    gj_rect(&g, "grid", "320724100001002", "G2", 1000, 0, 2000, 1000);
    gj_rect(&g, "grid", "320724100002001", "G3", 2000, 0, 3000, 1000);
    gj_rect(&g, "grid", "320724100002002", "G4", 3000, 0, 4000, 1000);
    gj_rect(&g, "grid", "320724100001003", "G5", 0, 2000, 1000, 3000); /* no roads */
    gj_end(&g, tpath("grids.geojson"));
    wg_import_opts io = import_opts(-1, "EPSG:4549");
    CHECK_OK(C, wg_grids_import(ws, tpath("grids.geojson"), &io, NULL));
    return ws;
}

static void straight_tests(void) {
    wg_ws *ws = straight_ws();
    wg_graph *g = NULL;
    CHECK_OK(C, wg_graph_open(ws, &g));
    if (!g) return;
    wg_isochrone_opts o;
    memset(&o, 0, sizeof o);
    o.profile = "car";
    o.cell_m = CELL;
    double ll[4], mins[2] = {2, 0.5};
    wg_isochrone *iso = NULL;
    wg_isochrone_contour c0, c1;

    /* from the road's west end: 2 min = 1200 m; 0.5 min = 300 m */
    ll_of(0, 500, &ll[0], &ll[1]);
    CHECK_OK(C, wg_isochrone_compute(ws, g, ll, 1, mins, 2, &o, &iso));
    CHECK(wg_isochrone_count(iso) == 2);
    GEOSGeometry *a = contour_geom(iso, 0, &c0), *b = contour_geom(iso, 1, &c1);
    CHECK(a && b);
    CHECK(c0.minutes == 0.5 && c1.minutes == 2);
    {
        double s300[] = {0, 500, 300, 500}, s1200[] = {0, 500, 1200, 500};
        CHECK_NEAR(c0.area_m2, band_area(s300, 1), TOL(c0.area_m2));
        CHECK_NEAR(c1.area_m2, band_area(s1200, 1), TOL(c1.area_m2));
        CHECK_NEAR(c0.area_m2, 300 * 2 * BUF + disc(), TOL_STADIUM);
        CHECK_NEAR(c1.area_m2, 1200 * 2 * BUF + disc(), TOL_STADIUM);
    }
    CHECK(c0.nodes == 1 && c1.nodes == 1);
    CHECK(inside_m(b, 1190, 500) && !inside_m(b, 1240, 500) && inside_m(b, 600, 525));
    CHECK(!inside_m(b, 600, 540));
    /* nested */
    GEOSGeometry *d = GEOSDifference_r(C->geos, a, b);
    double da = 1;
    if (d) GEOSArea_r(C->geos, d, &da), GEOSGeom_destroy_r(C->geos, d);
    CHECK(da < 1e-12);
    /* the frontier piece is in the lines, with its times */
    size_t nl = wg_isochrone_lines(iso);
    int frontier = 0;
    for (size_t i = 0; i < nl; i++) {
        wg_isochrone_piece p;
        CHECK_OK(C, wg_isochrone_line(iso, i, &p));
        if (p.edge_id && fabs(p.end_min - 2) < 1e-6 && p.start_min == 0) frontier++;
    }
    CHECK(frontier >= 1);
    CHECK_OK(C, wg_isochrone_write(iso, tpath("iso.geojson"), tpath("iso_lines.geojson")));
    GEOSGeom_destroy_r(C->geos, a), GEOSGeom_destroy_r(C->geos, b);
    wg_isochrone_free(iso), iso = NULL;

    /* an origin 100 m off the road: 1.2 min walking, then 0.8 min = 480 m each way */
    ll_of(2000, 400, &ll[0], &ll[1]);
    CHECK_OK(C, wg_isochrone_compute(ws, g, ll, 1, mins, 1, &o, &iso));
    a = contour_geom(iso, 0, &c0);
    CHECK(a && inside(a, ll[0], ll[1]));
    CHECK(inside_m(a, 2470, 500) && inside_m(a, 1530, 500));
    CHECK(!inside_m(a, 2520, 500) && !inside_m(a, 1480, 500));
    {
        /* the oracle on the pieces drawn here: the road 480 m each way less
         * the walk's 100 m at 5 km/h (72 s) and the snapping's few mm */
        double walk = walk_min(iso), reach = (2 - walk) * 60 * SPEED_MPS;
        double wm = walk * 5000.0 / 60; /* metres walked at 5 km/h */
        double xy[] = {2000 - reach, 500, 2000 + reach, 500, 2000, 500 - wm, 2000, 500};
        CHECK_NEAR(walk, 1.2, 4e-3); /* snapping measures on the ellipsoid, not in GK */
        CHECK_NEAR(c0.area_m2, band_area(xy, 2), TOL(c0.area_m2));
        /* the road's stadium plus the walk's 70 m outside it (width 2 BUF) */
        CHECK_NEAR(c0.area_m2, 2 * reach * 2 * BUF + disc() + (wm - BUF) * 2 * BUF + disc() / 2,
                   TOL_STADIUM + 2 * BUF * CELL);
    }
    GEOSGeom_destroy_r(C->geos, a);
    wg_isochrone_free(iso), iso = NULL;

    /* two origins merged: both ends of the road */
    ll_of(0, 500, &ll[0], &ll[1]);
    ll_of(3900, 500, &ll[2], &ll[3]);
    CHECK_OK(C, wg_isochrone_compute(ws, g, ll, 2, mins + 1, 1, &o, &iso));
    a = contour_geom(iso, 0, &c0);
    CHECK(a && inside_m(a, 290, 500) && inside_m(a, 3610, 500) && !inside_m(a, 2000, 500));
    {
        double xy[] = {0, 500, 300, 500, 3600, 500, 3900, 500};
        CHECK_NEAR(c0.area_m2, band_area(xy, 2), TOL(c0.area_m2));
        CHECK_NEAR(c0.area_m2, 2 * (300 * 2 * BUF + disc()), 2 * TOL_STADIUM);
    }
    CHECK(c0.nodes == 2);
    if (a) CHECK(GEOSGetNumGeometries_r(C->geos, a) == 2);
    GEOSGeom_destroy_r(C->geos, a);
    wg_isochrone_free(iso), iso = NULL;

    /* an island: only the island is reached, however long */
    double m30 = 30;
    ll_of(250, 3500, &ll[0], &ll[1]);
    CHECK_OK(C, wg_isochrone_compute(ws, g, ll, 1, &m30, 1, &o, &iso));
    a = contour_geom(iso, 0, &c0);
    CHECK(c0.nodes == 2);
    {
        double xy[] = {0, 3500, 500, 3500};
        CHECK_NEAR(c0.area_m2, band_area(xy, 1), TOL(c0.area_m2));
    }
    CHECK(a && !inside_m(a, 0, 500));
    GEOSGeom_destroy_r(C->geos, a);
    wg_isochrone_free(iso), iso = NULL;

    /* no road within reach: a clear answer, empty contours */
    wg_isochrone_opts near = o;
    near.max_snap_m = 200;
    ll_of(3000, 3000, &ll[0], &ll[1]);
    CHECK_OK(C, wg_isochrone_compute(ws, g, ll, 1, mins, 2, &near, &iso));
    wg_isochrone_info info;
    wg_isochrone_get_info(iso, &info);
    CHECK(info.no_road == 1 && info.origins == 1);
    CHECK(wg_isochrone_count(iso) == 2);
    CHECK(wg_isochrone_get(iso, 1, &c1) == WG_OK && c1.area_m2 == 0 && c1.nodes == 0);
    wg_isochrone_free(iso), iso = NULL;
    /* bad arguments */
    double bad = -1;
    CHECK(wg_isochrone_compute(ws, g, ll, 1, &bad, 1, &o, &iso) == WG_ERR_INVALID_ARG && !iso);
    wg_isochrone_opts np = o;
    np.profile = "boat";
    CHECK(wg_isochrone_compute(ws, g, ll, 1, mins, 1, &np, &iso) == WG_ERR_NOT_FOUND && !iso);
    /* cells too large for the band: a node could fall outside its contour */
    wg_isochrone_opts big = o;
    big.cell_m = BUF * 1.5;
    ll_of(0, 500, &ll[0], &ll[1]);
    CHECK(wg_isochrone_compute(ws, g, ll, 1, mins, 1, &big, &iso) == WG_ERR_INVALID_ARG && !iso);

    /* one way (west to east): forwards reaches the east, --reverse the west */
    double one = 1;
    ll_of(1000, -2000, &ll[0], &ll[1]);
    CHECK_OK(C, wg_isochrone_compute(ws, g, ll, 1, &one, 1, &o, &iso));
    a = contour_geom(iso, 0, &c0);
    CHECK(a && inside_m(a, 1500, -2000) && !inside_m(a, 500, -2000));
    GEOSGeom_destroy_r(C->geos, a);
    wg_isochrone_free(iso), iso = NULL;
    wg_isochrone_opts rev = o;
    rev.reverse = 1;
    CHECK_OK(C, wg_isochrone_compute(ws, g, ll, 1, &one, 1, &rev, &iso));
    a = contour_geom(iso, 0, &c0);
    CHECK(a && !inside_m(a, 1500, -2000) && inside_m(a, 500, -2000));
    {
        double reach = (1 - walk_min(iso)) * 600, xy[] = {1000 - reach, -2000, 1000, -2000};
        CHECK_NEAR(c0.area_m2, band_area(xy, 1), TOL(c0.area_m2));
        CHECK_NEAR(c0.area_m2, reach * 2 * BUF + disc(), TOL_STADIUM);
    }
    GEOSGeom_destroy_r(C->geos, a);
    wg_isochrone_free(iso), iso = NULL;
    /* a time shorter than the walk to the road: an empty area, not an error
     * (an empty MultiPolygon: byte order, type, 0 parts) */
    double tiny = 0.1; /* 6 s; the walk of 300 m at 5 km/h takes 216 s */
    ll_of(500, 200, &ll[0], &ll[1]);
    CHECK_OK(C, wg_isochrone_compute(ws, g, ll, 1, &tiny, 1, &o, &iso));
    CHECK(iso && wg_isochrone_count(iso) == 1);
    if (iso && wg_isochrone_get(iso, 0, &c0) == WG_OK)
        CHECK(c0.area_m2 == 0 && c0.nodes == 0 && c0.wkb_len == 9 && c0.wkb[1] == 6);
    wg_isochrone_free(iso), iso = NULL;
    wg_graph_free(g);
    wg_ws_close(ws);
}

/* ---- coverage on the straight road --------------------------------------- */

typedef struct gridrow {
    char code[32], status[16], road_status[16];
    double minutes, area, covered, share, inc_share, worst;
    int64_t incidents, inside, unreached, road_nodes, late_nodes;
    int has_worst, has_inc_share;
} gridrow;

static int read_rows(const char *path, gridrow *rows, int max) {
    wg_gdal_init();
    CPLPushErrorHandler(CPLQuietErrorHandler); /* fields absent from the uncovered layer */
    GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_VECTOR, NULL, NULL, NULL);
    if (!ds) {
        CPLPopErrorHandler();
        return -1;
    }
    OGRLayerH l = GDALDatasetGetLayer(ds, 0);
    OGRFeatureH f;
    int n = 0;
    while ((f = OGR_L_GetNextFeature(l)) && n < max) {
        gridrow *r = &rows[n++];
        memset(r, 0, sizeof *r);
#define FI(name) OGR_F_GetFieldIndex(f, name)
        snprintf(r->code, sizeof r->code, "%s", OGR_F_GetFieldAsString(f, FI("code")));
        snprintf(r->status, sizeof r->status, "%s", OGR_F_GetFieldAsString(f, FI("status")));
        r->minutes = OGR_F_GetFieldAsDouble(f, FI("minutes"));
        r->area = OGR_F_GetFieldAsDouble(f, FI("area_m2"));
        r->covered = OGR_F_GetFieldAsDouble(f, FI("covered_m2"));
        r->share = OGR_F_GetFieldAsDouble(f, FI("area_share"));
        r->incidents = OGR_F_GetFieldAsInteger64(f, FI("incidents"));
        r->inside = OGR_F_GetFieldAsInteger64(f, FI("incidents_in"));
        r->unreached = OGR_F_GetFieldAsInteger64(f, FI("unreached_nodes"));
        r->road_nodes = OGR_F_GetFieldAsInteger64(f, FI("road_nodes"));
        r->late_nodes = OGR_F_GetFieldAsInteger64(f, FI("late_nodes"));
        snprintf(r->road_status, sizeof r->road_status, "%s",
                 OGR_F_GetFieldAsString(f, FI("road_status")));
        r->has_worst = OGR_F_IsFieldSetAndNotNull(f, FI("worst_min"));
        r->worst = OGR_F_GetFieldAsDouble(f, FI("worst_min"));
        r->has_inc_share = OGR_F_IsFieldSetAndNotNull(f, FI("incident_share"));
        r->inc_share = OGR_F_GetFieldAsDouble(f, FI("incident_share"));
#undef FI
        OGR_F_Destroy(f);
    }
    GDALClose(ds);
    CPLPopErrorHandler();
    return n;
}

static const gridrow *row(const gridrow *rows, int n, const char *code) {
    for (int i = 0; i < n; i++)
        if (!strcmp(rows[i].code, code)) return &rows[i];
    return NULL;
}

static void coverage_tests(void) {
    wg_ws *ws = NULL;
    CHECK_OK(C, wg_ws_open(C, tpath("straight.sqlite"), 0, &ws));
    if (!ws) return;
    /* two incidents in G1: on the road and far from it */
    double lon, lat;
    char sql[512];
    ll_of(500, 505, &lon, &lat);
    snprintf(sql, sizeof sql, "INSERT INTO incidents(grid_code, geom) VALUES "
             "('320724100001001', MakePoint(%.10f, %.10f, 4326))", lon, lat);
    CHECK(sqlite3_exec(ws->db, sql, NULL, NULL, NULL) == SQLITE_OK);
    ll_of(500, 900, &lon, &lat);
    snprintf(sql, sizeof sql, "INSERT INTO incidents(grid_code, geom) VALUES "
             "('320724100001001', MakePoint(%.10f, %.10f, 4326))", lon, lat);
    CHECK(sqlite3_exec(ws->db, sql, NULL, NULL, NULL) == SQLITE_OK);
    wg_graph *g = NULL;
    CHECK_OK(C, wg_graph_open(ws, &g));
    double ll[2];
    ll_of(0, 500, &ll[0], &ll[1]);
    wg_coverage_opts o;
    memset(&o, 0, sizeof o);
    o.profile = "car";
    o.origins = ll, o.norigins = 1;
    o.minutes = 2; /* 1200 m east of the origin */
    o.cell_m = CELL; /* cell edges on the grids' edges */
    wg_coverage_report r;
    CHECK_OK(C, wg_coverage_run(ws, g, &o, tpath("cov.geojson"), tpath("uncov.geojson"), &r));
    CHECK(r.grids == 5 && r.full == 0 && r.partial == 2 && r.none == 3);
    CHECK(r.incidents == 2 && r.incidents_in == 1);
    /* the road's two nodes: x = 0 in G1 (the origin, in time), x = 3900 in
     * G4 (6.5 minutes: late); G2, G3 and G5 hold none */
    CHECK(r.roads_all == 1 && r.roads_some == 0 && r.roads_none == 1 && r.no_roads == 3);
    gridrow rows[8];
    int n = read_rows(tpath("cov.geojson"), rows, 8);
    CHECK(n == 5);
    const gridrow *g1 = row(rows, n, "320724100001001"), *g2 = row(rows, n, "320724100001002");
    const gridrow *g4 = row(rows, n, "320724100002002"), *g5 = row(rows, n, "320724100001003");
    CHECK(g1 && g2 && g4 && g5);
    if (g1 && g2 && g4 && g5) {
        CHECK_NEAR(g1->area, 1e6, 1);
        CHECK_NEAR(g1->covered, 1000 * 2 * BUF, 2);
        CHECK_NEAR(g1->share, 0.06, 2e-6);
        double xy[] = {0, 500, 1200, 500};
        CHECK_NEAR(g2->covered, band_area_in(xy, 1, CELL, 1000, 0, 2000, 1000), TOL(g2->covered));
        CHECK_NEAR(g2->covered, 200 * 2 * BUF + disc() / 2, TOL_STADIUM);
        CHECK(g1->incidents == 2 && g1->inside == 1 && g1->has_inc_share);
        CHECK_NEAR(g1->inc_share, 0.5, 1e-9);
        CHECK(g1->has_worst && g1->worst == 0);
        CHECK(g4->has_worst);
        CHECK_NEAR(g4->worst, 3900.0 / SPEED_MPS / 60, 1e-3); /* the road's east end */
        CHECK(!strcmp(g4->status, "none") && !strcmp(g1->status, "partial"));
        CHECK(!g5->has_worst && g5->unreached == 0 && g5->covered == 0);
        CHECK(g1->road_nodes == 1 && g1->late_nodes == 0 && !strcmp(g1->road_status, "all"));
        CHECK(g4->road_nodes == 1 && g4->late_nodes == 1 && !strcmp(g4->road_status, "none"));
        CHECK(g2->road_nodes == 0 && !strcmp(g2->road_status, "no_roads"));
        CHECK(g5->road_nodes == 0 && !strcmp(g5->road_status, "no_roads"));
    }
    /* uncovered parts: the complement, grid by grid */
    n = read_rows(tpath("uncov.geojson"), rows, 8);
    CHECK(n == 5);
    /* a rule: communities (社区) 2 minutes, villages (村) 0.5 */
    o.minutes = 0;
    o.rule = "town:2,village:0.5";
    CHECK_OK(C, wg_coverage_run(ws, g, &o, tpath("cov2.geojson"), NULL, &r));
    n = read_rows(tpath("cov2.geojson"), rows, 8);
    g1 = row(rows, n, "320724100001001");
    g4 = row(rows, n, "320724100002002");
    CHECK(g1 && g4 && g1->minutes == 2 && g4->minutes == 0.5);
    o.rule = "school:3";
    CHECK(wg_coverage_run(ws, g, &o, tpath("cov3.geojson"), NULL, &r) == WG_ERR_INVALID_ARG);
    o.rule = "town:2,village";
    CHECK(wg_coverage_run(ws, g, &o, tpath("cov3.geojson"), NULL, &r) == WG_ERR_INVALID_ARG);
    /* full coverage with a wide buffer and a long time */
    o.rule = NULL;
    o.minutes = 10;
    o.buffer_m = 1400;
    o.cell_m = 100; /* the outline within half a cell of the 1400 m band */
    CHECK_OK(C, wg_coverage_run(ws, g, &o, tpath("cov4.geojson"), NULL, &r));
    CHECK(r.full == 4 && r.none == 1);
    CHECK(r.roads_all == 2 && r.roads_none == 0 && r.no_roads == 3); /* 6.5 <= 10 minutes */
    wg_graph_free(g);
    wg_ws_close(ws);
}

/* ---- the lattice against a brute-force Dijkstra -------------------------- */

#define NL 6
#define SP 300.0

static void lattice_tests(void) {
    wg_ws *ws = fresh_ws(C, "lattice.sqlite", 4549);
    gj g;
    gj_begin(&g);
    for (int i = 0; i < NL; i++)
        for (int j = 0; j < NL; j++) {
            if (i + 1 < NL) gj_line(&g, "street", NULL, i * SP, j * SP, (i + 1) * SP, j * SP);
            if (j + 1 < NL && !(i == 2 && j == 2)) gj_line(&g, "street", NULL, i * SP, j * SP, i * SP, (j + 1) * SP);
        }
    gj_end(&g, tpath("lattice.geojson"));
    wg_roads_opts ro;
    memset(&ro, 0, sizeof ro);
    ro.s_srs = "EPSG:4549";
    ro.profiles = tpath("iso.profiles");
    CHECK_OK(C, wg_roads_import(ws, tpath("lattice.geojson"), &ro, NULL));
    wg_graph *gr = NULL;
    CHECK_OK(C, wg_graph_open(ws, &gr));
    if (!gr) return;
    /* the oracle: arcs from road_edges, 5 km/h both ways */
    int n = 0, m = 0;
    sqlite3_stmt *st;
    sqlite3_prepare_v2(ws->db, "SELECT COUNT(*), MAX(max(source, target)) FROM road_edges", -1, &st, NULL);
    sqlite3_step(st);
    m = sqlite3_column_int(st, 0), n = sqlite3_column_int(st, 1);
    sqlite3_finalize(st);
    int *eu = calloc((size_t)m, sizeof *eu), *ev = calloc((size_t)m, sizeof *ev);
    uint64_t *ew = calloc((size_t)m, sizeof *ew), *d = calloc((size_t)n, sizeof *d);
    char *done = calloc((size_t)n, 1);
    sqlite3_prepare_v2(ws->db, "SELECT id, source, target, length_m FROM road_edges", -1, &st, NULL);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int e = sqlite3_column_int(st, 0) - 1;
        eu[e] = sqlite3_column_int(st, 1) - 1, ev[e] = sqlite3_column_int(st, 2) - 1;
        ew[e] = (uint64_t)llround(sqlite3_column_double(st, 3) * 3600.0 / 5);
    }
    sqlite3_finalize(st);
    /* two origins at lattice nodes (the graph's own coordinates: no walk) */
    int onode[2] = {-1, -1};
    double ll[4], want[2][2] = {{0, 0}, {4 * SP, 3 * SP}};
    for (int k = 0; k < 2; k++) {
        double lon, lat, best = 1e300;
        ll_of(want[k][0], want[k][1], &lon, &lat);
        for (int v = 0; v < n; v++) {
            double x, y;
            wg_graph_node(gr, v, &x, &y);
            double dd = (x - lon) * (x - lon) + (y - lat) * (y - lat);
            if (dd < best) best = dd, onode[k] = v, ll[2 * k] = x, ll[2 * k + 1] = y;
        }
    }
    for (int v = 0; v < n; v++) d[v] = UINT64_MAX;
    d[onode[0]] = d[onode[1]] = 0;
    for (;;) {
        int b = -1;
        for (int v = 0; v < n; v++)
            if (!done[v] && d[v] != UINT64_MAX && (b < 0 || d[v] < d[b])) b = v;
        if (b < 0) break;
        done[b] = 1;
        for (int e = 0; e < m; e++) {
            int x = eu[e] == b ? ev[e] : ev[e] == b ? eu[e] : -1;
            if (x >= 0 && d[b] + ew[e] < d[x]) d[x] = d[b] + ew[e];
        }
    }
    double mins[3] = {12.5, 5, 30};
    wg_isochrone_opts o;
    memset(&o, 0, sizeof o);
    o.profile = "walk";
    wg_isochrone *iso = NULL;
    CHECK_OK(C, wg_isochrone_compute(ws, gr, ll, 2, mins, 3, &o, &iso));
    wg_isochrone_info info;
    wg_isochrone_get_info(iso, &info);
    CHECK(info.cell_m == BUF / 2); /* the default */
    GEOSGeometry *prev = NULL;
    int holes = 0;
    for (size_t i = 0; iso && i < wg_isochrone_count(iso); i++) {
        wg_isochrone_contour c;
        GEOSGeometry *poly = contour_geom(iso, i, &c);
        CHECK(poly != NULL);
        if (!poly) continue;
        /* a node in a cell whose centre is within BUF of a reached road is
         * at most BUF + half the cell's diagonal from it */
        double T = c.minutes * 60000.0, slack = (BUF + BUF / 2 * 0.71 + 1) * 3600.0 / 5;
        int64_t within = 0, bad_in = 0, bad_out = 0;
        for (int v = 0; v < n; v++) {
            double x, y;
            wg_graph_node(gr, v, &x, &y);
            if (d[v] <= T) {
                within++;
                bad_in += !inside(poly, x, y);
            } else if ((double)d[v] > T + slack) {
                bad_out += inside(poly, x, y);
            }
        }
        CHECK(within == c.nodes);
        CHECK(bad_in == 0);
        CHECK(bad_out == 0);
        CHECK(GEOSisValid_r(C->geos, poly) == 1);
        {
            /* the polygon (back in the metric CRS) has the area reported */
            GEOSGeometry *pm = wg_geom_transform(C, to_m, poly);
            double am = -1;
            if (pm) GEOSArea_r(C->geos, pm, &am), GEOSGeom_destroy_r(C->geos, pm);
            CHECK_NEAR(am, c.area_m2, 1e-6 * c.area_m2 + 1e-3);
            CHECK(c.area_m2 > 0);
        }
        if (prev) {
            GEOSGeometry *diff = GEOSDifference_r(C->geos, prev, poly);
            double da = 1;
            if (diff) GEOSArea_r(C->geos, diff, &da), GEOSGeom_destroy_r(C->geos, diff);
            CHECK(da < 1e-12); /* deg², about 0.01 m²: rounding in the union */
            GEOSGeom_destroy_r(C->geos, prev);
        }
        for (int k = 0; k < GEOSGetNumGeometries_r(C->geos, poly); k++)
            holes += GEOSGetNumInteriorRings_r(C->geos, GEOSGetGeometryN_r(C->geos, poly, k));
        prev = poly;
    }
    if (prev) GEOSGeom_destroy_r(C->geos, prev);
    CHECK(holes > 0);
    /* the 30-minute area reaches every node: its holes are the lattice's cells
     * (the missing segment joins two of them) */
    wg_isochrone_contour big;
    CHECK(wg_isochrone_get(iso, 2, &big) == WG_OK && big.nodes == n);
    GEOSGeometry *bigp = contour_geom(iso, 2, &big);
    CHECK(bigp && !inside_m(bigp, 150, 150) && !inside_m(bigp, 1350, 1350));
    CHECK(bigp && inside_m(bigp, 150, 0) && inside_m(bigp, 150, 25));
    if (bigp) GEOSGeom_destroy_r(C->geos, bigp);
    /* the pieces and the raster are split among threads: the answer must
     * not depend on how many (bytes of every contour, every piece) */
    for (int th = 1; th <= 5 && iso; th += 2) {
        wg_isochrone_opts ot = o;
        ot.threads = th;
        wg_isochrone *it = NULL;
        CHECK_OK(C, wg_isochrone_compute(ws, gr, ll, 2, mins, 3, &ot, &it));
        if (!it) continue;
        CHECK(wg_isochrone_count(it) == wg_isochrone_count(iso));
        for (size_t i = 0; i < wg_isochrone_count(it) && i < wg_isochrone_count(iso); i++) {
            wg_isochrone_contour a, b;
            wg_isochrone_get(iso, i, &a), wg_isochrone_get(it, i, &b);
            CHECK(a.wkb_len == b.wkb_len && !memcmp(a.wkb, b.wkb, a.wkb_len));
            CHECK(a.area_m2 == b.area_m2 && a.nodes == b.nodes && a.pieces == b.pieces);
        }
        CHECK(wg_isochrone_lines(it) == wg_isochrone_lines(iso));
        int same = 1;
        for (size_t i = 0; i < wg_isochrone_lines(it) && i < wg_isochrone_lines(iso); i++) {
            wg_isochrone_piece a, b;
            wg_isochrone_line(iso, i, &a), wg_isochrone_line(it, i, &b);
            same &= a.edge_id == b.edge_id && a.start_min == b.start_min &&
                    a.end_min == b.end_min && a.npoints == b.npoints &&
                    !memcmp(a.coords, b.coords, 2 * a.npoints * sizeof *a.coords);
        }
        CHECK(same);
        wg_isochrone_free(it);
    }
    wg_isochrone_free(iso);
    free(eu), free(ev), free(ew), free(d), free(done);
    wg_graph_free(gr);
    wg_ws_close(ws);
}

int main(void) {
    C = NULL;
    if (wg_ctx_new(&C) != WG_OK) return 2;
    to_ll = wg_proj_transform(C, "EPSG:4549", "EPSG:4326");
    to_m = wg_proj_transform(C, "EPSG:4326", "EPSG:4549");
    straight_tests();
    coverage_tests();
    lattice_tests();
    proj_destroy(to_ll);
    proj_destroy(to_m);
    wg_ctx_free(C);
    TEST_MAIN_END();
}
