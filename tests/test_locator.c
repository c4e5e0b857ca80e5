/* test_locator.c -- two ways of answering faster must answer the same:
 * the point indexes saved beside the workspace (WS.locator), which must
 * also never outlive the grids they were built from, and batch placement
 * in index order (wg_locator_place_many).
 *
 * The oracle is the same locator built with the cache turned off
 * (WANGGE_INDEX_CACHE=0): every point of a lattice over the county,
 * including points on shared edges, gets the same units from both. Then:
 * a second build reuses the file (not rewritten), a new grid version or
 * another --at date rebuilds it, and a damaged file is refused and
 * replaced, never trusted. Batch placement of the lattice, shuffled and
 * with invalid points mixed in, must give each point what
 * wg_locator_place() gives it, each exactly once. */
#include "testutil.h"

#include <sys/stat.h>

#define NLAT 41 /* lattice points a side: every 100 m, edges included */

/* One answer as text: every unit code and the status. */
static void answer(const wg_placement *p, char *buf, size_t size) {
    int n = snprintf(buf, size, "%d|%s|%s|%s|%s|%s|%s", (int)p->status,
                     p->county.code ? p->county.code : "", p->town.code ? p->town.code : "",
                     p->village.code ? p->village.code : "", p->grid.code ? p->grid.code : "",
                     p->micro.code ? p->micro.code : "", p->n_excl ? p->excl[0].code : "");
    for (int k = 1; k < p->n_excl && n > 0 && (size_t)n < size; k++)
        n += snprintf(buf + n, size - (size_t)n, ";%s", p->excl[k].code);
}

/* Places the lattice (from 100 m outside the county to 100 m beyond it)
 * and writes every answer into ans[NLAT*NLAT][96]. */
static void place_lattice(wg_ctx *ctx, const wg_locator *loc, char (*ans)[96]) {
    PJ *pj = wg_proj_transform(ctx, "EPSG:4549", "EPSG:4326");
    for (int j = 0; j < NLAT; j++)
        for (int i = 0; i < NLAT; i++) {
            double dx = -100 + i * 4200.0 / (NLAT - 1), dy = -100 + j * 2200.0 / (NLAT - 1);
            PJ_COORD c = proj_trans(pj, PJ_FWD, proj_coord(T_X0 + dx, T_Y0 + dy, 0, 0));
            wg_placement p;
            memset(&p, 0, sizeof p);
            CHECK(wg_locator_place(loc, c.xy.x, c.xy.y, 30, &p) == WG_OK);
            answer(&p, ans[j * NLAT + i], sizeof ans[0]);
        }
    proj_destroy(pj);
}

/* Batch placement: the callback files each answer under its point. */
typedef struct many {
    char (*ans)[96];
    int *seen;
    int bad_rc;
} many;

static void on_placed(void *user, size_t i, wg_status rc, const wg_placement *p) {
    many *m = user;
    m->seen[i]++;
    if (rc != WG_OK) {
        snprintf(m->ans[i], sizeof m->ans[0], "rc %d", (int)rc);
        return;
    }
    answer(p, m->ans[i], sizeof m->ans[0]);
}

/* The lattice in a shuffled order plus invalid points, through
 * wg_locator_place_many(), against wg_locator_place() point by point. Each
 * lattice point also comes twice more, once exactly and once moved by up
 * to ~20 cm: neighbours in cell order that share a cell and often an
 * answer (which the batch hands on) and, on the lattice's boundary
 * points, often do not. */
static void test_many(wg_ctx *ctx, const wg_locator *loc) {
    enum { N0 = NLAT * NLAT, N = 3 * N0, EXTRA = 4 };
    static double lon[N + EXTRA], lat[N + EXTRA];
    static char got[N + EXTRA][96], want[N + EXTRA][96];
    static int seen[N + EXTRA];
    PJ *pj = wg_proj_transform(ctx, "EPSG:4549", "EPSG:4326");
    for (int k = 0; k < N0; k++) {
        int j = k / NLAT, i = k % NLAT;
        PJ_COORD c = proj_trans(pj, PJ_FWD, proj_coord(T_X0 - 100 + i * 4200.0 / (NLAT - 1),
                                                       T_Y0 - 100 + j * 2200.0 / (NLAT - 1), 0, 0));
        lon[k] = c.xy.x, lat[k] = c.xy.y;
    }
    proj_destroy(pj);
    uint64_t r = 7;
    for (int k = 0; k < N0; k++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        lon[N0 + k] = lon[k], lat[N0 + k] = lat[k];
        lon[2 * N0 + k] = lon[k] + ((double)(r % 4001) - 2000) * 1e-9;
        lat[2 * N0 + k] = lat[k] + ((double)(r / 4001 % 4001) - 2000) * 1e-9;
    }
    for (int k = N - 1; k > 0; k--) { /* Fisher-Yates */
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        int m = (int)(r % (uint64_t)(k + 1));
        double t = lon[k];
        lon[k] = lon[m], lon[m] = t;
        t = lat[k];
        lat[k] = lat[m], lat[m] = t;
    }
    lon[N] = NAN, lat[N] = 34;
    lon[N + 1] = 119, lat[N + 1] = 95;
    lon[N + 2] = -170, lat[N + 2] = -80; /* valid, far outside the index */
    lon[N + 3] = 119.4, lat[N + 3] = NAN;
    for (int k = 0; k < N + EXTRA; k++) {
        wg_placement p;
        memset(&p, 0, sizeof p);
        wg_status rc = wg_locator_place(loc, lon[k], lat[k], 30, &p);
        if (rc) snprintf(want[k], sizeof want[0], "rc %d", (int)rc);
        else answer(&p, want[k], sizeof want[0]);
    }
    memset(seen, 0, sizeof seen);
    many m = {got, seen, 0};
    CHECK_OK(ctx, wg_locator_place_many(loc, N + EXTRA, lon, lat, 30, on_placed, &m));
    int once = 0, same = 0;
    for (int k = 0; k < N + EXTRA; k++) {
        once += seen[k] == 1;
        same += !strcmp(got[k], want[k]);
    }
    CHECK(once == N + EXTRA);
    CHECK(same == N + EXTRA);
    CHECK(!strncmp(got[N], "rc ", 3) && !strncmp(got[N + 3], "rc ", 3));
    CHECK(got[N + 2][0] == '0' + WG_PLACE_OUTSIDE);
    CHECK_OK(ctx, wg_locator_place_many(loc, 0, NULL, NULL, 30, on_placed, &m));
}

/* Builds a locator at `at` and places the lattice; cache on or off. */
static void run(wg_ctx *ctx, wg_ws *ws, const char *at, int cache, char (*ans)[96]) {
    setenv("WANGGE_INDEX_CACHE", cache ? "1" : "0", 1);
    wg_locator *loc = NULL;
    CHECK_OK(ctx, wg_locator_build(ws, at, &loc));
    if (loc) place_lattice(ctx, loc, ans);
    wg_locator_free(loc);
}

static int differences(char (*a)[96], char (*b)[96]) {
    int d = 0;
    for (int k = 0; k < NLAT * NLAT; k++) d += strcmp(a[k], b[k]) != 0;
    return d;
}

/* The cache file's inode and modification time: changes when rewritten. */
static int file_id(const char *path, struct stat *sb) { return stat(path, sb) == 0; }

static int same_file_id(const struct stat *a, const struct stat *b) {
    return a->st_ino == b->st_ino && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int main(void) {
    wg_ctx *ctx = NULL;
    CHECK(wg_ctx_new(&ctx) == WG_OK);
    wg_ws *ws = fresh_ws(ctx, "cache.sqlite", 4549);
    char cache[1200];
    snprintf(cache, sizeof cache, "%s.locator", tpath("cache.sqlite"));
    unlink(cache);
    tu_small_county(ctx, ws, "c1.geojson", 1000, "2024-01-01");

    static char ref[NLAT * NLAT][96], got[NLAT * NLAT][96], old[NLAT * NLAT][96];
    struct stat s1, s2;

    /* Off: no file; the answers are the oracle. */
    run(ctx, ws, NULL, 0, ref);
    CHECK(access(cache, F_OK) != 0);
    int inside = 0;
    for (int k = 0; k < NLAT * NLAT; k++) inside += ref[k][0] == '0' + WG_PLACE_INSIDE;
    CHECK(inside > NLAT * NLAT / 2);

    /* On: written on the first build, reused (not rewritten) on the second;
     * both answer as the oracle does. */
    run(ctx, ws, NULL, 1, got);
    CHECK(differences(ref, got) == 0);
    CHECK(file_id(cache, &s1));
    run(ctx, ws, NULL, 1, got);
    CHECK(differences(ref, got) == 0);
    CHECK(file_id(cache, &s2) && same_file_id(&s1, &s2));

    /* A new version moves the G1/G2 boundary: the cache is rebuilt and
     * answers as the new oracle does, which differs from the old one. */
    memcpy(old, ref, sizeof ref);
    tu_small_county(ctx, ws, "c2.geojson", 1500, "2025-01-01");
    run(ctx, ws, NULL, 0, ref);
    CHECK(differences(old, ref) > 0);
    run(ctx, ws, NULL, 1, got);
    CHECK(differences(ref, got) == 0);
    CHECK(file_id(cache, &s2) && !same_file_id(&s1, &s2));

    /* Another date is another set of units: the 2024 answers again. */
    run(ctx, ws, "2024-06-30", 1, got);
    CHECK(differences(old, got) == 0);
    run(ctx, ws, NULL, 1, got);
    CHECK(differences(ref, got) == 0);

    /* Batch placement, on the indexes loaded from the cache. */
    wg_locator *loc = NULL;
    CHECK_OK(ctx, wg_locator_build(ws, NULL, &loc));
    if (loc) test_many(ctx, loc);
    wg_locator_free(loc);

    /* Damage: bytes overwritten in the middle, then a truncated file, then
     * a file of garbage. Each is refused, rebuilt, and the answers hold. */
    for (int damage = 0; damage < 3; damage++) {
        CHECK(file_id(cache, &s1));
        FILE *fp = fopen(cache, damage == 2 ? "wb" : "r+b");
        CHECK(fp != NULL);
        if (!fp) break;
        if (damage == 0) {
            fseek(fp, (long)(s1.st_size / 2), SEEK_SET);
            for (int k = 0; k < 4096; k++) fputc(0xFF, fp);
        } else if (damage == 1) {
            CHECK(ftruncate(fileno(fp), s1.st_size / 3) == 0);
        } else {
            fputs("WGLOCIX1 not an index at all", fp);
        }
        fclose(fp);
        CHECK(file_id(cache, &s1));
        run(ctx, ws, NULL, 1, got);
        CHECK(differences(ref, got) == 0);
        /* refused and rewritten (a new file renamed into place), not used */
        CHECK(file_id(cache, &s2) && !same_file_id(&s1, &s2) && s2.st_size > 1000);
        if (same_file_id(&s1, &s2)) fprintf(stderr, "damage %d was not detected\n", damage);
    }

    wg_ws_close(ws);
    unlink(cache);
    wg_ctx_free(ctx);
    TEST_MAIN_END();
}
