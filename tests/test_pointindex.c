/* test_pointindex.c -- the point index against GEOS, the oracle.
 *
 *  - Real polygons (Chicago's 77 community areas, thousands of vertices,
 *    holes and multipolygons): for 200,000 random points the set of
 *    containing polygons equals GEOS's covers for every point GEOS does not
 *    place on a boundary.
 *  - A clean coverage: points on shared edges and vertices belong to
 *    exactly one polygon. */
#include "testutil.h"

#include "ogrio.h"
#include "pointindex.h"

static uint64_t rng = 88172645463325252ULL;
static double urand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

/* Reads every polygon of a GeoJSON file as GEOS geometries. */
static size_t read_polys(wg_ctx *ctx, const char *path, GEOSGeometry **out, size_t max) {
    wg_gdal_init();
    GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_VECTOR, NULL, NULL, NULL);
    if (!ds) return 0;
    OGRLayerH l = GDALDatasetGetLayer(ds, 0);
    OGRFeatureH f;
    size_t n = 0;
    GEOSWKBReader *rd = GEOSWKBReader_create_r(ctx->geos);
    while ((f = OGR_L_GetNextFeature(l)) != NULL && n < max) {
        OGRGeometryH g = OGR_F_GetGeometryRef(f);
        size_t len = (size_t)OGR_G_WkbSize(g);
        unsigned char *buf = malloc(len);
        OGR_G_ExportToIsoWkb(g, wkbNDR, buf);
        out[n++] = GEOSWKBReader_read_r(ctx->geos, rd, buf, len);
        free(buf);
        OGR_F_Destroy(f);
    }
    GEOSWKBReader_destroy_r(ctx->geos, rd);
    GDALClose(ds);
    return n;
}

static void test_real(wg_ctx *ctx, double edges_per_cell) {
    char path[1024];
    snprintf(path, sizeof path, "%s/realworld/chicago_community_areas_77_wgs84.geojson",
             getenv("WG_FIXTURES") ? getenv("WG_FIXTURES") : "fixtures");
    if (access(path, R_OK) != 0)
        snprintf(path, sizeof path,
                 "../shared/data/chicago/polygons/chicago_community_areas_77_wgs84.geojson");
    GEOSGeometry *g[100];
    size_t n = read_polys(ctx, path, g, 100);
    CHECK(n == 77);
    if (n != 77) {
        fprintf(stderr, "cannot read %s\n", path);
        return;
    }
    wg_pindex *ix = NULL;
    CHECK_OK(ctx, wg_pindex_build(ctx, (const GEOSGeometry *const *)g, n, edges_per_cell, &ix));
    const GEOSPreparedGeometry *prep[100];
    double bb[4] = {INFINITY, INFINITY, -INFINITY, -INFINITY};
    for (size_t i = 0; i < n; i++) {
        prep[i] = GEOSPrepare_r(ctx->geos, g[i]);
        double b[4];
        wg_pindex_bbox(ix, (uint32_t)i, b);
        bb[0] = fmin(bb[0], b[0]), bb[1] = fmin(bb[1], b[1]);
        bb[2] = fmax(bb[2], b[2]), bb[3] = fmax(bb[3], b[3]);
    }
    long agree = 0, disagree = 0, boundary = 0, inside = 0;
    for (int t = 0; t < 200000; t++) {
        double x = bb[0] - 0.01 + urand() * (bb[2] - bb[0] + 0.02);
        double y = bb[1] - 0.01 + urand() * (bb[3] - bb[1] + 0.02);
        uint32_t ids[8];
        size_t k = wg_pindex_query(ix, x, y, ids, 8);
        GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(ctx->geos, x, y);
        size_t gk = 0;
        uint32_t gids[8];
        int on_edge = 0;
        for (size_t i = 0; i < n; i++) {
            if (GEOSPreparedCovers_r(ctx->geos, prep[i], pt) != 1) continue;
            if (GEOSPreparedContainsProperly_r(ctx->geos, prep[i], pt) != 1) on_edge = 1;
            if (gk < 8) gids[gk] = (uint32_t)i;
            gk++;
        }
        GEOSGeom_destroy_r(ctx->geos, pt);
        if (on_edge) {
            boundary++;
            continue;
        }
        inside += gk > 0;
        if (k == gk && (k == 0 || memcmp(ids, gids, k * sizeof *ids) == 0)) agree++;
        else disagree++;
    }
    fprintf(stderr, "real (%g edges a cell): %ld agree (%ld inside), %ld disagree, %ld on a "
            "boundary; index %zu bytes\n",
            edges_per_cell, agree, inside, disagree, boundary, wg_pindex_memory(ix));
    CHECK(disagree == 0);
    CHECK(inside > 50000); /* the points test the polygons, not only the lake */
    /* Single-polygon test agrees too. */
    for (size_t i = 0; i < n; i++) GEOSPreparedGeom_destroy_r(ctx->geos, prep[i]);
    for (size_t i = 0; i < n; i++) GEOSGeom_destroy_r(ctx->geos, g[i]);
    wg_pindex_free(ix);
}

/* A 6x5 coverage of irregular quadrilaterals sharing jittered vertices. */
static void test_partition(wg_ctx *ctx, double edges_per_cell) {
    enum { NX = 6, NY = 5 };
    double vx[NY + 1][NX + 1], vy[NY + 1][NX + 1];
    for (int j = 0; j <= NY; j++)
        for (int i = 0; i <= NX; i++) {
            int edge = i == 0 || j == 0 || i == NX || j == NY;
            vx[j][i] = 119.0 + i * 0.01 + (edge ? 0 : (urand() - 0.5) * 0.004);
            vy[j][i] = 34.0 + j * 0.01 + (edge ? 0 : (urand() - 0.5) * 0.004);
        }
    GEOSGeometry *g[NX * NY];
    for (int j = 0; j < NY; j++)
        for (int i = 0; i < NX; i++) {
            GEOSCoordSequence *cs = GEOSCoordSeq_create_r(ctx->geos, 5, 2);
            int ci[5] = {0, 1, 1, 0, 0}, cj[5] = {0, 0, 1, 1, 0};
            for (int k = 0; k < 5; k++)
                GEOSCoordSeq_setXY_r(ctx->geos, cs, k, vx[j + cj[k]][i + ci[k]],
                                     vy[j + cj[k]][i + ci[k]]);
            g[j * NX + i] = GEOSGeom_createPolygon_r(ctx->geos,
                                                     GEOSGeom_createLinearRing_r(ctx->geos, cs),
                                                     NULL, 0);
        }
    wg_pindex *ix = NULL;
    CHECK_OK(ctx, wg_pindex_build(ctx, (const GEOSGeometry *const *)g, NX * NY, edges_per_cell, &ix));
    long not_one = 0, tested = 0;
    /* Every interior lattice vertex, and points along every shared edge. */
    for (int j = 1; j < NY; j++)
        for (int i = 1; i < NX; i++) {
            uint32_t ids[8];
            tested++;
            if (wg_pindex_query(ix, vx[j][i], vy[j][i], ids, 8) != 1) not_one++;
        }
    for (int j = 0; j <= NY; j++)
        for (int i = 0; i <= NX; i++)
            for (int d = 0; d < 2; d++) {
                int i2 = i + (d == 0), j2 = j + (d == 1);
                if (i2 > NX || j2 > NY) continue;
                int interior = d == 0 ? (j > 0 && j < NY) : (i > 0 && i < NX);
                if (!interior) continue;
                for (int s = 1; s < 16; s++) {
                    double t = s / 16.0;
                    double x = vx[j][i] + t * (vx[j2][i2] - vx[j][i]);
                    double y = vy[j][i] + t * (vy[j2][i2] - vy[j][i]);
                    uint32_t ids[8];
                    tested++;
                    if (wg_pindex_query(ix, x, y, ids, 8) != 1) not_one++;
                }
            }
    fprintf(stderr, "partition: %ld boundary points, %ld not in exactly one polygon\n", tested,
            not_one);
    CHECK(tested > 400 && not_one == 0);
    /* A point on an east-west edge goes north; on a north-south edge, east. */
    uint32_t id;
    CHECK(wg_pindex_query(ix, 119.005, 34.0, &id, 1) == 1 && id == 0);
    CHECK(wg_pindex_query(ix, 119.0, 34.005, &id, 1) == 1 && id == 0);
    CHECK(wg_pindex_query(ix, 118.9999, 34.005, &id, 1) == 0);
    CHECK(wg_pindex_query(ix, NAN, 34.005, &id, 1) == 0);
    /* Distance to the boundary from outside: 0.001 degree of latitude south. */
    CHECK_NEAR(wg_pindex_distance_m(ix, 0, 119.005, 33.999), 111.195, 0.05);
    for (int k = 0; k < NX * NY; k++) GEOSGeom_destroy_r(ctx->geos, g[k]);
    wg_pindex_free(ix);
}

int main(void) {
    wg_ctx *ctx = NULL;
    CHECK(wg_ctx_new(&ctx) == WG_OK);
    /* The hot-path fineness and the coarse one of rarely asked indexes. */
    test_partition(ctx, 1);
    test_partition(ctx, 16);
    test_real(ctx, 1);
    test_real(ctx, 16);
    wg_ctx_free(ctx);
    TEST_MAIN_END();
}
