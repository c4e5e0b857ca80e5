/* test_route.c -- searches over the road graph, against oracles:
 *  - a brute-force O(n^2) Dijkstra written here, on arc times computed here
 *    from road_edges (length, class, speed, oneway) with the documented
 *    formula, for random node pairs and random off-road points on a random
 *    network with one-way, reverse (-1) and parallel roads and an island;
 *    both the contraction hierarchy and the bidirectional Dijkstra must
 *    equal it to the millisecond;
 *  - snapping against a brute-force scan of every segment;
 *  - hand-computed answers: partial edges, walks to the road, one-way and
 *    reverse streets, an origin off the network, on an island, unreachable;
 *  - dispatch against one route per officer. */
#include "testutil.h"

#include "graph.h"

#include <proj.h>

static PJ *to_ll;

static void ll_of(double dx, double dy, double *lon, double *lat) {
    PJ_COORD c = proj_trans(to_ll, PJ_FWD, proj_coord(T_X0 + dx, T_Y0 + dy, 0, 0));
    *lon = c.xy.x, *lat = c.xy.y;
}

static void gj_line(gj *g, const char *cls, const char *oneway, int speed, const double *xy, int n) {
    gj_put(g, "%s{\"type\":\"Feature\",\"properties\":{\"class\":\"%s\",\"name\":\"R%d\"",
           g->count ? "," : "", cls, g->count);
    g->count++;
    if (oneway) gj_put(g, ",\"oneway\":\"%s\"", oneway);
    if (speed) gj_put(g, ",\"speed\":%d", speed);
    gj_put(g, "},\"geometry\":{\"type\":\"LineString\",\"coordinates\":[");
    for (int i = 0; i < n; i++) gj_put(g, "%s[%.3f,%.3f]", i ? "," : "", T_X0 + xy[2 * i], T_Y0 + xy[2 * i + 1]);
    gj_put(g, "]}}");
}

static const char *const PROFILES =
    "[car]\nmode = car\noneway = yes\nroad_speed = replace\ndefault = 30\nstreet = 40\n"
    "track = 15\noffroad = 5\n\n[walk]\nmode = foot\noneway = no\nroad_speed = ignore\n"
    "default = 5\noffroad = 5\n";

static uint64_t rng = 88172645463325252ULL;
static double unit(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

/* ---- the oracle ----------------------------------------------------------- */

typedef struct oracle {
    int n, m;
    int *u, *v;
    uint32_t *w[2]; /* per profile (0 car, 1 walk): 2 per edge, UINT32_MAX = no */
    double *len;
} oracle;

static uint32_t otime(double len, double kmh) { return (uint32_t)llround(len * 3600.0 / kmh); }

static void oracle_load(wg_ws *ws, oracle *o) {
    sqlite3_stmt *st = NULL;
    memset(o, 0, sizeof *o);
    sqlite3_prepare_v2(ws->db, "SELECT COUNT(*), MAX(max(source, target)) FROM road_edges", -1, &st, NULL);
    sqlite3_step(st);
    o->m = sqlite3_column_int(st, 0);
    o->n = sqlite3_column_int(st, 1);
    sqlite3_finalize(st);
    o->u = calloc((size_t)o->m, sizeof *o->u), o->v = calloc((size_t)o->m, sizeof *o->v);
    o->w[0] = calloc(2 * (size_t)o->m, sizeof *o->w[0]), o->w[1] = calloc(2 * (size_t)o->m, sizeof *o->w[1]);
    o->len = calloc((size_t)o->m, sizeof *o->len);
    sqlite3_prepare_v2(ws->db, "SELECT id, source, target, class, oneway, speed_kmh, length_m "
                       "FROM road_edges ORDER BY id", -1, &st, NULL);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int e = sqlite3_column_int(st, 0) - 1;
        o->u[e] = sqlite3_column_int(st, 1) - 1, o->v[e] = sqlite3_column_int(st, 2) - 1;
        const char *cls = (const char *)sqlite3_column_text(st, 3);
        int ow = sqlite3_column_int(st, 4);
        double sp = sqlite3_column_type(st, 5) == SQLITE_NULL ? 0 : sqlite3_column_double(st, 5);
        double len = sqlite3_column_double(st, 6);
        o->len[e] = len;
        double car = sp > 0 ? sp : !strcmp(cls, "street") ? 40 : !strcmp(cls, "track") ? 15 : 30;
        uint32_t wc = otime(len, car), ww = otime(len, 5);
        o->w[0][2 * e] = ow < 0 ? UINT32_MAX : wc;
        o->w[0][2 * e + 1] = ow > 0 ? UINT32_MAX : wc;
        o->w[1][2 * e] = o->w[1][2 * e + 1] = ww;
    }
    sqlite3_finalize(st);
}

static void oracle_free(oracle *o) {
    free(o->u), free(o->v), free(o->w[0]), free(o->w[1]), free(o->len);
}

/* Times from `src` (node, cost) to every node: the textbook O(n^2) Dijkstra. */
static void oracle_dijkstra(const oracle *o, int p, const int *src, const uint64_t *cost, int ns,
                            uint64_t *d) {
    char *done = calloc((size_t)o->n, 1);
    for (int i = 0; i < o->n; i++) d[i] = UINT64_MAX;
    for (int i = 0; i < ns; i++)
        if (cost[i] < d[src[i]]) d[src[i]] = cost[i];
    for (;;) {
        int best = -1;
        for (int i = 0; i < o->n; i++)
            if (!done[i] && d[i] != UINT64_MAX && (best < 0 || d[i] < d[best])) best = i;
        if (best < 0) break;
        done[best] = 1;
        for (int e = 0; e < o->m; e++)
            for (int dir = 0; dir < 2; dir++) {
                int a = dir ? o->v[e] : o->u[e], b = dir ? o->u[e] : o->v[e];
                uint32_t w = o->w[p][2 * e + dir];
                if (a != best || w == UINT32_MAX) continue;
                if (d[best] + w < d[b]) d[b] = d[best] + w;
            }
    }
    free(done);
}

static uint32_t part(double f, uint32_t w) {
    double t = f * (double)w;
    return (uint32_t)llround(t < 0 ? 0 : t > w ? w : t);
}

/* The documented entry into the graph from a snapped point. */
static int oracle_ends(const oracle *o, int p, const wg_snap *s, int to, int *node, uint64_t *cost) {
    int e = (int)s->edge_id - 1, n = 0;
    double f = o->len[e] > 0 ? s->along_m / o->len[e] : 0;
    f = f < 0 ? 0 : f > 1 ? 1 : f;
    uint64_t walk = (uint64_t)llround(s->dist_m * 3600.0 / 5);
    uint32_t wuv = o->w[p][2 * e], wvu = o->w[p][2 * e + 1];
    if (f <= 0) node[n] = o->u[e], cost[n++] = walk;
    else if (f >= 1) node[n] = o->v[e], cost[n++] = walk;
    if (!to) {
        if (wuv != UINT32_MAX && f < 1) node[n] = o->v[e], cost[n++] = walk + part(1 - f, wuv);
        if (wvu != UINT32_MAX && f > 0) node[n] = o->u[e], cost[n++] = walk + part(f, wvu);
    } else {
        if (wuv != UINT32_MAX && f > 0) node[n] = o->u[e], cost[n++] = walk + part(f, wuv);
        if (wvu != UINT32_MAX && f < 1) node[n] = o->v[e], cost[n++] = walk + part(1 - f, wvu);
    }
    return n;
}

/* The oracle's time between two snapped points, UINT64_MAX if none. */
static uint64_t oracle_route(const oracle *o, int p, const wg_snap *a, const wg_snap *b) {
    int sn[3], tn[3];
    uint64_t sc[3], tc[3], best = UINT64_MAX;
    int ns = oracle_ends(o, p, a, 0, sn, sc), nt = oracle_ends(o, p, b, 1, tn, tc);
    uint64_t *d = malloc((size_t)o->n * sizeof *d);
    oracle_dijkstra(o, p, sn, sc, ns, d);
    for (int i = 0; i < nt; i++)
        if (d[tn[i]] != UINT64_MAX && d[tn[i]] + tc[i] < best) best = d[tn[i]] + tc[i];
    free(d);
    if (a->edge_id == b->edge_id) {
        int e = (int)a->edge_id - 1;
        double fa = o->len[e] > 0 ? a->along_m / o->len[e] : 0, fb = o->len[e] > 0 ? b->along_m / o->len[e] : 0;
        uint64_t walk = (uint64_t)llround(a->dist_m * 3600.0 / 5) + (uint64_t)llround(b->dist_m * 3600.0 / 5);
        uint64_t direct = UINT64_MAX;
        if (a->along_m == b->along_m) direct = walk;
        else if (a->along_m < b->along_m && o->w[p][2 * e] != UINT32_MAX)
            direct = walk + part(fb - fa, o->w[p][2 * e]);
        else if (a->along_m > b->along_m && o->w[p][2 * e + 1] != UINT32_MAX)
            direct = walk + part(fa - fb, o->w[p][2 * e + 1]);
        if (direct < best) best = direct;
    }
    return best;
}

/* ---- a random network ----------------------------------------------------- */

#define NX 11
#define NY 11
#define SP 150.0

static double jx[NX][NY], jy[NX][NY];

static const char *rand_oneway(void) {
    double r = unit();
    return r < 0.15 ? "yes" : r < 0.3 ? "-1" : NULL;
}

static int rand_speed(void) {
    static const int s[] = {0, 0, 0, 20, 35, 50, 60};
    return s[(int)(unit() * 7)];
}

static void random_network(const char *path) {
    gj g;
    gj_begin(&g);
    for (int i = 0; i < NX; i++)
        for (int j = 0; j < NY; j++) {
            jx[i][j] = i * SP + (unit() - 0.5) * 60;
            jy[i][j] = j * SP + (unit() - 0.5) * 60;
        }
    /* rows 0, 4 and 8 as one long line each (split at every crossing) */
    for (int j = 0; j < NY; j += 4) {
        double xy[2 * NX];
        for (int i = 0; i < NX; i++) xy[2 * i] = jx[i][j], xy[2 * i + 1] = jy[i][j];
        gj_line(&g, "street", unit() < 0.3 ? "yes" : NULL, 0, xy, NX);
    }
    for (int i = 0; i < NX; i++)
        for (int j = 0; j < NY; j++) {
            if (i + 1 < NX && j % 4 != 0 && unit() < 0.85) {
                double xy[] = {jx[i][j], jy[i][j], jx[i + 1][j], jy[i + 1][j]};
                gj_line(&g, unit() < 0.5 ? "street" : "track", rand_oneway(), rand_speed(), xy, 2);
            }
            if (j + 1 < NY && unit() < 0.85) {
                /* some with a bend: a vertex of their own */
                double mx = (jx[i][j] + jx[i][j + 1]) / 2 + (unit() - 0.5) * 40;
                double my = (jy[i][j] + jy[i][j + 1]) / 2;
                double xy[] = {jx[i][j], jy[i][j], mx, my, jx[i][j + 1], jy[i][j + 1]};
                gj_line(&g, unit() < 0.5 ? "street" : "track", rand_oneway(), rand_speed(), xy, 3);
            }
            if (unit() < 0.05 && i + 1 < NX && j + 1 < NY) { /* a parallel road, slower or faster */
                double xy[] = {jx[i][j], jy[i][j], jx[i][j] + 20, jy[i][j] + 70, jx[i][j + 1], jy[i][j + 1]};
                gj_line(&g, "track", NULL, rand_speed(), xy, 3);
            }
        }
    /* an island, well away */
    double isl[] = {NX * SP + 2000, 0, NX * SP + 2300, 0, NX * SP + 2300, 300};
    gj_line(&g, "street", NULL, 0, isl, 3);
    gj_end(&g, path);
}

static void random_tests(wg_ctx *ctx) {
    wg_ws *ws = fresh_ws(ctx, "random.sqlite", 4549);
    random_network(tpath("random.geojson"));
    write_file(tpath("random.profiles"), PROFILES);
    wg_roads_opts o;
    memset(&o, 0, sizeof o);
    o.s_srs = "EPSG:4549";
    o.profiles = tpath("random.profiles");
    wg_roads_report rep;
    CHECK_OK(ctx, wg_roads_import(ws, tpath("random.geojson"), &o, &rep));
    oracle orc;
    oracle_load(ws, &orc);
    CHECK(orc.n == rep.nodes && orc.m == rep.edges);
    wg_graph *g = NULL;
    CHECK_OK(ctx, wg_graph_open(ws, &g));
    const char *pn[2] = {"car", "walk"};
    wg_route_opts ch = {0, WG_ALGO_CH}, dj = {0, WG_ALGO_DIJKSTRA};
    int unreachable = 0, compared = 0, partial = 0;
    for (int p = 0; p < 2; p++) {
        wg_router *r = NULL;
        CHECK_OK(ctx, wg_router_new(ctx, g, pn[p], &r));
        if (!r) continue;
        uint64_t *d = malloc((size_t)orc.n * sizeof *d);
        /* node to node: from every node to 25 random others */
        for (int s = 0; s < orc.n; s++) {
            uint64_t zero = 0;
            oracle_dijkstra(&orc, p, &s, &zero, 1, d);
            for (int k = 0; k < 25; k++) {
                int t = (int)(unit() * orc.n);
                double a0, a1, b0, b1;
                wg_graph_node(g, s, &a0, &a1);
                wg_graph_node(g, t, &b0, &b1);
                wg_route *r1 = NULL, *r2 = NULL;
                CHECK_OK(ctx, wg_route_compute(r, a0, a1, b0, b1, &ch, &r1));
                CHECK_OK(ctx, wg_route_compute(r, a0, a1, b0, b1, &dj, &r2));
                if (!r1 || !r2) continue;
                compared++;
                if (d[t] == UINT64_MAX) {
                    unreachable++;
                    CHECK(r1->status == WG_ROUTE_UNREACHABLE && r2->status == WG_ROUTE_UNREACHABLE);
                    CHECK(r1->reason[0] != '\0');
                } else {
                    CHECK(r1->status == WG_ROUTE_FOUND && r2->status == WG_ROUTE_FOUND);
                    if (llround(r1->duration_s * 1000) != (long long)d[t] ||
                        llround(r2->duration_s * 1000) != (long long)d[t])
                        fprintf(stderr, "  %s %d->%d: ch %.3f dijkstra %.3f oracle %.3f\n", pn[p], s, t,
                                r1->duration_s, r2->duration_s, d[t] / 1000.0);
                    CHECK(llround(r1->duration_s * 1000) == (long long)d[t]);
                    CHECK(llround(r2->duration_s * 1000) == (long long)d[t]);
                    CHECK(r1->walk_m == 0);
                }
                wg_route_free(r1);
                wg_route_free(r2);
            }
        }
        /* random points, on and off the roads: partial edges and walks */
        for (int k = 0; k < 400; k++) {
            double a0, a1, b0, b1;
            ll_of(unit() * NX * SP - 100, unit() * NY * SP - 100, &a0, &a1);
            ll_of(unit() * NX * SP - 100, unit() * NY * SP - 100, &b0, &b1);
            if (k % 50 == 0) b0 = a0, b1 = a1;          /* the same point */
            wg_snap sa, sb;
            CHECK_OK(ctx, wg_router_snap(r, a0, a1, 0, &sa));
            CHECK_OK(ctx, wg_router_snap(r, b0, b1, 0, &sb));
            if (k % 7 == 0) { /* both on one edge */
                b0 = sa.lon + (sb.lon - sa.lon) * 1e-3, b1 = sa.lat + (sb.lat - sa.lat) * 1e-3;
                CHECK_OK(ctx, wg_router_snap(r, b0, b1, 0, &sb));
            }
            uint64_t want = oracle_route(&orc, p, &sa, &sb);
            wg_route *r1 = NULL, *r2 = NULL;
            CHECK_OK(ctx, wg_route_compute(r, a0, a1, b0, b1, &ch, &r1));
            CHECK_OK(ctx, wg_route_compute(r, a0, a1, b0, b1, &dj, &r2));
            if (!r1 || !r2) continue;
            partial++;
            if (want == UINT64_MAX) {
                CHECK(r1->status == WG_ROUTE_UNREACHABLE && r2->status == WG_ROUTE_UNREACHABLE);
            } else {
                CHECK(r1->status == WG_ROUTE_FOUND && r2->status == WG_ROUTE_FOUND);
                if (llround(r1->duration_s * 1000) != (long long)want ||
                    llround(r2->duration_s * 1000) != (long long)want)
                    fprintf(stderr, "  %s points %d: ch %.3f dijkstra %.3f oracle %.3f (edges %lld %lld)\n",
                            pn[p], k, r1->duration_s, r2->duration_s, want / 1000.0,
                            (long long)sa.edge_id, (long long)sb.edge_id);
                CHECK(llround(r1->duration_s * 1000) == (long long)want);
                CHECK(llround(r2->duration_s * 1000) == (long long)want);
                /* the answer adds up: steps + walks, ends at the points */
                double steps_s = 0, steps_m = 0;
                for (size_t i = 0; i < r1->nsteps; i++)
                    steps_s += r1->steps[i].duration_s, steps_m += r1->steps[i].distance_m;
                double walks = (llround(sa.dist_m * 720) + llround(sb.dist_m * 720)) / 1000.0;
                CHECK_NEAR(steps_s + walks, r1->duration_s, 1e-6);
                CHECK_NEAR(steps_m + r1->walk_m, r1->distance_m, 1e-6);
                CHECK_NEAR(r1->walk_m, sa.dist_m + sb.dist_m, 1e-9);
                CHECK(r1->npoints >= 2);
                CHECK(r1->coords[0] == a0 && r1->coords[1] == a1);
                CHECK(r1->coords[2 * r1->npoints - 2] == b0 && r1->coords[2 * r1->npoints - 1] == b1);
                CHECK_NEAR(r1->distance_m, r2->distance_m, 1e-6 * (1 + r1->distance_m));
            }
            wg_route_free(r1);
            wg_route_free(r2);
        }
        free(d);
        wg_router_free(r);
    }
    fprintf(stderr, "random network: %d nodes, %d edges; %d node pairs (%d unreachable), %d point "
            "pairs checked against the oracle\n", orc.n, orc.m, compared, unreachable, partial);
    CHECK(unreachable > 0 && unreachable < compared / 4);

    /* snapping against a scan of every segment (local metres, as documented) */
    wg_router *r = NULL;
    CHECK_OK(ctx, wg_router_new(ctx, g, "walk", &r));
    for (int k = 0; r && k < 300; k++) {
        double lon, lat;
        ll_of(unit() * (NX * SP + 3000) - 500, unit() * NY * SP * 1.5 - 500, &lon, &lat);
        double kx, ky, best = INFINITY;
        wg_graph_local_scale(lat, &kx, &ky);
        for (uint32_t e = 0; e < g->m.nedges; e++)
            for (uint32_t i = g->edge_shp[e]; i + 1 < g->edge_shp[e + 1]; i++) {
                const double *a = g->shp_ll + 2 * i;
                double ax = (a[0] - lon) * kx, ay = (a[1] - lat) * ky;
                double dx = (a[2] - a[0]) * kx, dy = (a[3] - a[1]) * ky, l2 = dx * dx + dy * dy;
                double t = l2 > 0 ? -(ax * dx + ay * dy) / l2 : 0;
                t = t < 0 ? 0 : t > 1 ? 1 : t;
                double d2 = (ax + t * dx) * (ax + t * dx) + (ay + t * dy) * (ay + t * dy);
                if (d2 < best) best = d2;
            }
        wg_snap s;
        wg_status st = wg_router_snap(r, lon, lat, 1000, &s);
        if (sqrt(best) > 1000) {
            CHECK(st == WG_ERR_NOT_FOUND);
        } else {
            CHECK(st == WG_OK);
            if (st == WG_OK) CHECK_NEAR(s.dist_m, sqrt(best), 1e-6);
        }
    }
    wg_router_free(r);
    wg_graph_free(g);
    oracle_free(&orc);
    wg_ws_close(ws);
}

/* ---- hand-computed cases --------------------------------------------------- */

/*   A(0,0) ==== B(1000,0) ---- C(2000,0)      AB one-way east, 36 km/h; BC both ways
 *                   |                          BD: reverse (-1), i.e. D -> B only
 *                 D(1000,-1000) ... E(2000,-1000): DE both ways, CE both ways
 *   island: F(10000,0) - G(10300,0) */
static void hand(wg_ctx *ctx) {
    wg_ws *ws = fresh_ws(ctx, "hand.sqlite", 4549);
    gj g;
    gj_begin(&g);
    double ab[] = {0, 0, 1000, 0}, bc[] = {1000, 0, 2000, 0}, bd[] = {1000, 0, 1000, -1000};
    double de[] = {1000, -1000, 2000, -1000}, ce[] = {2000, 0, 2000, -1000};
    double fg[] = {10000, 0, 10300, 0};
    gj_line(&g, "street", "yes", 36, ab, 2);
    gj_line(&g, "street", NULL, 36, bc, 2);
    gj_line(&g, "street", "-1", 36, bd, 2);
    gj_line(&g, "street", NULL, 36, de, 2);
    gj_line(&g, "street", NULL, 36, ce, 2);
    gj_line(&g, "street", NULL, 36, fg, 2);
    gj_end(&g, tpath("hand.geojson"));
    write_file(tpath("hand.profiles"), PROFILES);
    wg_roads_opts o;
    memset(&o, 0, sizeof o);
    o.s_srs = "EPSG:4549";
    o.profiles = tpath("hand.profiles");
    CHECK_OK(ctx, wg_roads_import(ws, tpath("hand.geojson"), &o, NULL));
    oracle orc;
    oracle_load(ws, &orc);
    wg_graph *gr = NULL;
    wg_router *car = NULL;
    CHECK_OK(ctx, wg_graph_open(ws, &gr));
    CHECK_OK(ctx, wg_router_new(ctx, gr, "car", &car));
    if (!car) return;
    wg_route *rt = NULL;
    double a0, a1, b0, b1;

    /* on AB: 30 m north of x = 250 to 20 m south of x = 750: along the edge */
    ll_of(250, 30, &a0, &a1);
    ll_of(750, -20, &b0, &b1);
    CHECK_OK(ctx, wg_route_compute(car, a0, a1, b0, b1, NULL, &rt));
    if (rt) {
        CHECK(rt->status == WG_ROUTE_FOUND);
        CHECK(rt->from.edge_id == rt->to.edge_id);
        CHECK_NEAR(rt->from.dist_m, 30, 0.05);
        CHECK_NEAR(rt->to.dist_m, 20, 0.05);
        /* 500 m at 36 km/h = 50 s; 30 + 20 m at 5 km/h = 36 s */
        CHECK_NEAR(rt->duration_s, 86.0, 0.02);
        CHECK_NEAR(rt->distance_m, 550, 0.5);
        CHECK_NEAR(rt->walk_m, 50, 0.1);
    }
    wg_route_free(rt);

    /* backwards on the one-way AB: nothing leads west onto AB (A has no
     * other road), so from x = 750 back to x = 250 there is no way at all */
    CHECK_OK(ctx, wg_route_compute(car, b0, b1, a0, a1, NULL, &rt));
    if (rt) {
        CHECK(rt->status == WG_ROUTE_UNREACHABLE);
        CHECK(strstr(rt->reason, "one-way") != NULL);
    }
    wg_route_free(rt);
    /* walking, one-way streets do not apply */
    wg_router *walk = NULL;
    CHECK_OK(ctx, wg_router_new(ctx, gr, "walk", &walk));
    CHECK_OK(ctx, wg_route_compute(walk, b0, b1, a0, a1, NULL, &rt));
    if (rt) CHECK(rt->status == WG_ROUTE_FOUND && fabs(rt->duration_s - 396.0) < 0.05);
    wg_route_free(rt);

    /* the reverse street: D -> B yes (1000 m, 100 s), B -> D only round by C, E */
    double d0, d1, bb0, bb1;
    ll_of(1000, -1000, &d0, &d1);
    ll_of(1000, 0, &bb0, &bb1);
    CHECK_OK(ctx, wg_route_compute(car, d0, d1, bb0, bb1, NULL, &rt));
    if (rt) CHECK(rt->status == WG_ROUTE_FOUND && fabs(rt->duration_s - 100.0) < 0.05);
    wg_route_free(rt);
    CHECK_OK(ctx, wg_route_compute(car, bb0, bb1, d0, d1, NULL, &rt));
    if (rt) {
        CHECK(rt->status == WG_ROUTE_FOUND && fabs(rt->duration_s - 300.0) < 0.05);
        CHECK(rt->nsteps == 3); /* R1 (BC), R4 (CE), R3 (DE) */
        CHECK_NEAR(rt->distance_m, 3000, 1);
    }
    wg_route_free(rt);

    /* off the network: 2 km south of E, snapping allowed to 5 km by default */
    double f0, f1;
    ll_of(2000, -3000, &f0, &f1);
    CHECK_OK(ctx, wg_route_compute(car, f0, f1, d0, d1, NULL, &rt));
    if (rt) {
        CHECK(rt->status == WG_ROUTE_FOUND);
        CHECK_NEAR(rt->walk_m, 2000, 1);
        CHECK_NEAR(rt->duration_s, 2000 * 0.72 + 100, 1); /* 24 min walk, then E -> D */
    }
    wg_route_free(rt);
    wg_route_opts near = {500, WG_ALGO_CH};
    CHECK_OK(ctx, wg_route_compute(car, f0, f1, d0, d1, &near, &rt));
    if (rt) {
        CHECK(rt->status == WG_ROUTE_NO_ROAD);
        CHECK(strstr(rt->reason, "origin") != NULL);
        CHECK(rt->coords == NULL && rt->npoints == 0);
    }
    wg_route_free(rt);
    wg_snap sn;
    CHECK(wg_router_snap(car, f0, f1, 500, &sn) == WG_ERR_NOT_FOUND);

    /* an origin on the island: a clear answer */
    double i0, i1;
    ll_of(10100, 50, &i0, &i1);
    CHECK_OK(ctx, wg_route_compute(car, i0, i1, d0, d1, NULL, &rt));
    if (rt) {
        CHECK(rt->status == WG_ROUTE_UNREACHABLE);
        CHECK(strstr(rt->reason, "island of 2 road nodes") != NULL);
        CHECK(strstr(rt->reason, "origin") != NULL);
        CHECK_STR(rt->from.name, "R5");
    }
    wg_route_free(rt);
    CHECK_OK(ctx, wg_route_compute(car, d0, d1, i0, i1, NULL, &rt));
    if (rt) CHECK(rt->status == WG_ROUTE_UNREACHABLE && strstr(rt->reason, "destination") != NULL);
    wg_route_free(rt);

    /* the same point: no time, a two-point line */
    CHECK_OK(ctx, wg_route_compute(car, d0, d1, d0, d1, NULL, &rt));
    if (rt) CHECK(rt->status == WG_ROUTE_FOUND && rt->duration_s == 0 && rt->npoints == 2);
    wg_route_free(rt);

    /* bad arguments are errors, not answers */
    CHECK(wg_route_compute(car, NAN, 1, 2, 3, NULL, &rt) == WG_ERR_INVALID_ARG);
    CHECK(wg_route_compute(car, 1, 95, 2, 3, NULL, &rt) == WG_ERR_INVALID_ARG);
    CHECK(wg_router_snap(car, 200, 0, 0, &sn) == WG_ERR_INVALID_ARG);
    wg_router_free(walk);
    wg_router_free(car);
    wg_graph_free(gr);
    oracle_free(&orc);
    wg_ws_close(ws);
}

/* ---- dispatch -------------------------------------------------------------- */

static void dispatch(wg_ctx *ctx) {
    wg_ws *ws = fresh_ws(ctx, "dispatch.sqlite", 4549);
    random_network(tpath("dnet.geojson"));
    write_file(tpath("dispatch.profiles"), PROFILES);
    wg_roads_opts o;
    memset(&o, 0, sizeof o);
    o.s_srs = "EPSG:4549";
    o.profiles = tpath("dispatch.profiles");
    CHECK_OK(ctx, wg_roads_import(ws, tpath("dnet.geojson"), &o, NULL));
    gj g;
    gj_begin(&g);
    gj_rect(&g, "county", "320724", "灌南县", -3000, -3000, 20000, 5000);
    gj_end(&g, tpath("county.geojson"));
    wg_import_opts io = import_opts(-1, "EPSG:4549");
    CHECK_OK(ctx, wg_grids_import(ws, tpath("county.geojson"), &io, NULL));
    /* 40 officers at random stations, some with two roles; one without a
     * station, one far from any road, one on the island */
    char csv[16384] = "officer_id,name,role,grid_code,phone,lon,lat\n";
    for (int i = 0; i < 40; i++) {
        double lon, lat;
        ll_of(unit() * NX * SP - 100, unit() * NY * SP - 100, &lon, &lat);
        if (i == 37) ll_of(NX * SP + 2150, 30, &lon, &lat); /* island */
        if (i == 38) ll_of(NX * SP / 2, -9000, &lon, &lat); /* 9 km south */
        char line[256];
        const char *role = i % 3 ? "grid_worker" : "police";
        if (i == 39) snprintf(line, sizeof line, "OF%03d,员%d,%s,320724,139%08d,,\n", i, i, role, i);
        else snprintf(line, sizeof line, "OF%03d,员%d,%s,320724,139%08d,%.7f,%.7f\n", i, i, role, i, lon, lat);
        strcat(csv, line);
        if (i % 10 == 4) {
            snprintf(line, sizeof line, "OF%03d,员%d,volunteer,320724,139%08d,%.7f,%.7f\n", i, i, i, lon, lat);
            strcat(csv, line);
        }
    }
    write_file(tpath("officers.csv"), csv);
    CHECK_OK(ctx, wg_officers_import(ws, tpath("officers.csv"), NULL));
    wg_graph *gr = NULL;
    wg_router *r = NULL;
    wg_stations *s = NULL, *police = NULL;
    CHECK_OK(ctx, wg_graph_open(ws, &gr));
    CHECK_OK(ctx, wg_router_new(ctx, gr, "car", &r));
    CHECK_OK(ctx, wg_stations_load(ws, r, NULL, 0, &s));
    CHECK_OK(ctx, wg_stations_load(ws, r, "police", 0, &police));
    if (!s || !police) return;
    int64_t nst, noroad;
    wg_stations_count(s, &nst, &noroad);
    CHECK(nst == 39 && noroad == 1);
    for (int q = 0; q < 6; q++) {
        double lon, lat;
        ll_of(unit() * NX * SP, unit() * NY * SP, &lon, &lat);
        wg_dispatch_result *all = NULL, *top = NULL;
        CHECK_OK(ctx, wg_dispatch(r, s, lon, lat, 0, 0, &all));
        CHECK_OK(ctx, wg_dispatch(r, s, lon, lat, 3, 0, &top));
        if (!all || !top) continue;
        CHECK(all->status == WG_ROUTE_FOUND);
        CHECK(all->no_road == 1);
        CHECK(all->unreachable >= 1); /* the island, and perhaps one-way traps */
        CHECK((int64_t)all->count + all->unreachable + all->no_road == 39);
        for (size_t i = 0; i < all->count; i++) {
            const wg_dispatch_hit *h = &all->hits[i];
            if (i) CHECK(all->hits[i - 1].eta_s <= h->eta_s);
            wg_route *rt = NULL;
            CHECK_OK(ctx, wg_route_compute(r, h->lon, h->lat, lon, lat, NULL, &rt));
            if (rt) {
                CHECK(rt->status == WG_ROUTE_FOUND);
                if (llround(rt->duration_s * 1000) != llround(h->eta_s * 1000))
                    fprintf(stderr, "  dispatch %s: eta %.3f, route %.3f\n", h->officer_id, h->eta_s,
                            rt->duration_s);
                CHECK(llround(rt->duration_s * 1000) == llround(h->eta_s * 1000));
                CHECK_NEAR(rt->distance_m, h->distance_m, 1e-6 * (1 + h->distance_m));
            }
            wg_route_free(rt);
            if (!strcmp(h->officer_id, "OF024")) {
                CHECK_STR(h->role, "police,volunteer");
                CHECK_STR(h->grids, "320724");
            }
        }
        CHECK(top->count == 3);
        for (size_t i = 0; i < top->count && i < all->count; i++)
            CHECK_NEAR(top->hits[i].eta_s, all->hits[i].eta_s, 1e-9);
        CHECK(top->settled <= all->settled);
        wg_dispatch_free(all);
        wg_dispatch_free(top);
        wg_dispatch_result *pol = NULL;
        CHECK_OK(ctx, wg_dispatch(r, police, lon, lat, 0, 0, &pol));
        for (size_t i = 0; pol && i < pol->count; i++) CHECK_STR(pol->hits[i].role, "police");
        CHECK(pol && pol->count >= 10 && pol->count <= 14);
        wg_dispatch_free(pol);
    }
    /* the point itself far from roads */
    double lon, lat;
    ll_of(0, -20000, &lon, &lat);
    wg_dispatch_result *far = NULL;
    CHECK_OK(ctx, wg_dispatch(r, s, lon, lat, 5, 0, &far));
    if (far) CHECK(far->status == WG_ROUTE_NO_ROAD && far->count == 0);
    wg_dispatch_free(far);
    CHECK(wg_dispatch(r, s, NAN, lat, 5, 0, &far) == WG_ERR_INVALID_ARG);
    wg_stations_free(s);
    wg_stations_free(police);
    wg_router_free(r);
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
    random_tests(ctx);
    hand(ctx);
    dispatch(ctx);
    proj_destroy(to_ll);
    wg_ctx_free(ctx);
    TEST_MAIN_END();
}
