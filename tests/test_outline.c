/* test_outline.c -- the outline tracer (outline.c) against GDALPolygonize on
 * the same masks: random masks of many sizes and densities, and structured
 * ones (checkerboards, rings within rings, diagonal touches, a single cell,
 * the full window, outside ground reaching the window's edge through a gap,
 * one-cell-wide corridors, holes touching the shell or each other at a
 * corner). For each: the same number of polygons (4-connected components),
 * every polygon valid for GEOS with a counter-clockwise shell, the
 * polygons' areas adding up to their union's (no overlaps) and to the
 * number of inside cells times cell², and the symmetric difference of the
 * union with GDAL's union of zero area. Both corner modes (every corner,
 * turns only) are checked, in a window of a wider array (stride > width). */
#include "testutil.h"

#include "ogrio.h"
#include "outline.h"

#include <gdal_alg.h>

#define CELL 2.5
#define OX 1000.0
#define OY 5000.0

static wg_ctx *C;
static int cases;

static uint64_t rng = 88172645463325252ULL;
static uint32_t rnd(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

/* GDAL's polygons of mask m (w x h, 1 = inside) as GEOS geometries. */
static size_t gdal_polys(const unsigned char *m, int w, int h, GEOSGeometry **out, size_t max) {
    GDALDatasetH ds = GDALCreate(GDALGetDriverByName("MEM"), "", w, h, 1, GDT_Byte, NULL);
    GDALDatasetH vds = GDALCreate(GDALGetDriverByName("Memory"), "", 0, 0, 0, GDT_Unknown, NULL);
    OGRLayerH l = GDALDatasetCreateLayer(vds, "p", NULL, wkbPolygon, NULL);
    double gt[6] = {OX, CELL, 0, OY, 0, -CELL};
    GDALSetGeoTransform(ds, gt);
    GDALRasterBandH b = GDALGetRasterBand(ds, 1);
    CHECK(GDALRasterIO(b, GF_Write, 0, 0, w, h, (void *)m, w, h, GDT_Byte, 0, 0) == CE_None);
    CHECK(GDALPolygonize(b, b, l, -1, NULL, NULL, NULL) == CE_None);
    GEOSWKBReader *rd = GEOSWKBReader_create_r(C->geos);
    size_t n = 0;
    OGRFeatureH f;
    OGR_L_ResetReading(l);
    while ((f = OGR_L_GetNextFeature(l))) {
        OGRGeometryH g = OGR_F_GetGeometryRef(f);
        size_t len = (size_t)OGR_G_WkbSize(g);
        unsigned char *wkb = malloc(len);
        OGR_G_ExportToIsoWkb(g, wkbNDR, wkb);
        if (n < max) out[n] = GEOSWKBReader_read_r(C->geos, rd, wkb, len);
        n++;
        free(wkb);
        OGR_F_Destroy(f);
    }
    GEOSWKBReader_destroy_r(C->geos, rd);
    GDALClose(vds), GDALClose(ds);
    return n;
}

static double area(const GEOSGeometry *g) {
    double a = -1;
    GEOSArea_r(C->geos, g, &a);
    return a;
}

/* Unions n geometries (consumed). */
static GEOSGeometry *unite(GEOSGeometry **v, size_t n) {
    if (!n) return GEOSGeom_createEmptyPolygon_r(C->geos);
    GEOSGeometry *coll = GEOSGeom_createCollection_r(C->geos, GEOS_GEOMETRYCOLLECTION, v, (unsigned)n);
    GEOSGeometry *u = GEOSUnaryUnion_r(C->geos, coll);
    GEOSGeom_destroy_r(C->geos, coll);
    return u;
}

/* Checks the tracer on mask m (w x h) with both corner modes. */
static void check_mask(const unsigned char *m, int w, int h, const char *what) {
    int fails = wg_test_failures;
    cases++;
    /* the mask as times in a window of a wider array: inside = time <= 7 */
    int pad = 3, W = w + 2 * pad;
    uint32_t *t = malloc((size_t)W * (h + 2) * sizeof *t);
    for (size_t i = 0; i < (size_t)W * (h + 2); i++) t[i] = 3; /* inside, outside the window */
    int64_t cells = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            t[(size_t)(y + 1) * W + pad + x] = m[y * w + x] ? rnd() % 8 : 8 + rnd() % 100;
            cells += m[y * w + x];
        }
    size_t cap = (size_t)w * h + 1, ng = 0;
    GEOSGeometry **gv = calloc(cap, sizeof *gv);
    size_t ngdal = gdal_polys(m, w, h, gv, cap);
    GEOSGeometry *ug = unite(gv, ngdal < cap ? ngdal : cap);
    for (int every = 0; every < 2; every++) {
        wg_outline o;
        memset(&o, 0, sizeof o);
        CHECK(wg_outline_trace(t + W + pad, (size_t)W, (uint32_t)w, (uint32_t)h, 7, every, &o) == 0);
        CHECK(o.cells == cells);
        CHECK(o.npolys == ngdal);
        GEOSGeometry **mv = calloc(o.npolys + 1, sizeof *mv);
        double sum = 0;
        ng = 0;
        for (size_t j = 0; j < o.npolys; j++) {
            GEOSGeometry *p = wg_outline_polygon(C->geos, &o, j, OX, OY, CELL);
            CHECK(p != NULL);
            if (!p) continue;
            CHECK(GEOSisValid_r(C->geos, p) == 1);
            char ccw = 0;
            const GEOSCoordSequence *cs = GEOSGeom_getCoordSeq_r(C->geos, GEOSGetExteriorRing_r(C->geos, p));
            CHECK(cs && GEOSCoordSeq_isCCW_r(C->geos, cs, &ccw) && ccw == 1);
            for (int k = 0; k < GEOSGetNumInteriorRings_r(C->geos, p); k++) {
                cs = GEOSGeom_getCoordSeq_r(C->geos, GEOSGetInteriorRingN_r(C->geos, p, k));
                CHECK(cs && GEOSCoordSeq_isCCW_r(C->geos, cs, &ccw) && ccw == 0);
            }
            sum += area(p);
            mv[ng++] = p;
        }
        /* every corner: one vertex per unit step of the rings */
        if (every)
            for (size_t r = 0; r < o.nrings; r++)
                for (size_t i = o.ring[r]; i + 1 < o.ring[r + 1]; i++)
                    CHECK(abs(o.xy[2 * i + 2] - o.xy[2 * i]) + abs(o.xy[2 * i + 3] - o.xy[2 * i + 1]) == 1);
        CHECK_NEAR(sum, (double)cells * CELL * CELL, 1e-9);
        GEOSGeometry *um = unite(mv, ng);
        CHECK_NEAR(area(um), sum, 1e-9); /* no overlaps */
        GEOSGeometry *d = GEOSSymDifference_r(C->geos, um, ug);
        CHECK(d && area(d) == 0.0);
        if (d) GEOSGeom_destroy_r(C->geos, d);
        GEOSGeom_destroy_r(C->geos, um);
        free(mv);
        wg_outline_free(&o);
    }
    GEOSGeom_destroy_r(C->geos, ug);
    free(gv), free(t);
    if (wg_test_failures != fails) {
        fprintf(stderr, "  in %s (%d x %d):\n", what, w, h);
        for (int y = 0; y < h && y < 40; y++) {
            fprintf(stderr, "    ");
            for (int x = 0; x < w && x < 80; x++) fputc(m[y * w + x] ? '#' : '.', stderr);
            fputc('\n', stderr);
        }
    }
}

/* A mask from rows of '#' (inside) and '.' */
static void check_art(const char *const *rows, int h, const char *what) {
    int w = (int)strlen(rows[0]);
    unsigned char *m = malloc((size_t)w * h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) m[y * w + x] = rows[y][x] == '#';
    check_mask(m, w, h, what);
    free(m);
}

static void structured(void) {
    unsigned char *m = malloc(64 * 64);
    /* checkerboards: every inside cell alone, outside all one region */
    for (int s = 1; s <= 9; s += 4) {
        for (int y = 0; y < 7 + s; y++)
            for (int x = 0; x < 9 + s; x++) m[y * (9 + s) + x] = (x + y) % 2 == 0;
        check_mask(m, 9 + s, 7 + s, "checkerboard");
        for (int y = 0; y < 7 + s; y++)
            for (int x = 0; x < 9 + s; x++) m[y * (9 + s) + x] = (x + y) % 2 == 1;
        check_mask(m, 9 + s, 7 + s, "checkerboard, odd");
    }
    /* rings within rings: concentric square frames */
    for (int n = 1; n <= 31; n += 10) {
        for (int y = 0; y < n; y++)
            for (int x = 0; x < n; x++) {
                int dx = abs(2 * x - (n - 1)), dy = abs(2 * y - (n - 1)), r = dx > dy ? dx : dy;
                m[y * n + x] = (r / 2) % 2 == 0;
            }
        check_mask(m, n, n, "rings within rings");
    }
    /* single cell, full window, empty window */
    m[0] = 1;
    check_mask(m, 1, 1, "one cell");
    m[0] = 0;
    check_mask(m, 1, 1, "one empty cell");
    memset(m, 1, 17 * 13);
    check_mask(m, 17, 13, "full");
    memset(m, 0, 17 * 13);
    check_mask(m, 17, 13, "empty");
    /* diagonals and an X */
    memset(m, 0, 15 * 15);
    for (int i = 0; i < 15; i++) m[i * 15 + i] = m[i * 15 + 14 - i] = 1;
    check_mask(m, 15, 15, "X of diagonal cells");
    static const char *const pinch[] = {
        "......", ".####.", ".#.##.", ".##.#.", ".####.", "......",
    };
    check_art(pinch, 6, "two holes touching at a corner");
    static const char *const pinch2[] = {
        "#####", "#..##", "#..##", "###.#", "#####",
    };
    check_art(pinch2, 5, "holes of two sizes touching at a corner, at the edge");
    static const char *const shellhole[] = {
        ".......", ".#####.", ".#...#.", ".#...#.", ".#...##", ".####.#", "......#",
    };
    check_art(shellhole, 7, "a hole touching the outside at a corner");
    static const char *const gap[] = {
        "#######", "#.....#", "#.###.#", "#.#.#.#", "#.###.#", "#......", "#######",
    };
    check_art(gap, 7, "outside reaching the edge through a gap, an island with a hole");
    static const char *const corridor[] = {
        "#.#########", "#.#.......#", "#.#.#####.#", "#.#.#...#.#", "#.#.#.#.#.#",
        "#.#.#.#.#.#", "#.#...#...#", "#.#######.#", "#.........#", "###########",
    };
    check_art(corridor, 10, "one-cell-wide corridors");
    static const char *const stairs[] = {
        "#....#", ".#..#.", "..##..", "..##..", ".#..#.", "#....#", "##..##",
    };
    check_art(stairs, 7, "diagonal touches around a block");
    static const char *const comb[] = {
        "#.#.#.#.#", "#########", "#.#.#.#.#", ".#.#.#.#.", "#########",
    };
    check_art(comb, 5, "combs");
    free(m);
}

static void random_masks(void) {
    unsigned char *m = malloc(48 * 40);
    for (int it = 0; it < 250; it++) {
        int w = 1 + (int)(rnd() % 48), h = 1 + (int)(rnd() % 40);
        uint32_t p = 5 + rnd() % 90; /* density in % */
        for (int i = 0; i < w * h; i++) m[i] = rnd() % 100 < p;
        check_mask(m, w, h, "random");
    }
    free(m);
}

int main(void) {
    C = NULL;
    if (wg_ctx_new(&C) != WG_OK) return 2;
    wg_gdal_init();
    CPLSetErrorHandler(CPLQuietErrorHandler);
    structured();
    random_masks();
    fprintf(stderr, "%d masks\n", cases);
    wg_ctx_free(C);
    TEST_MAIN_END();
}
