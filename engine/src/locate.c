/* locate.c -- which units and officers own a point.
 *
 * A locator holds every unit of one date in two point indexes: the grid
 * levels (comprehensive grids, micro-grids, exclusive grids), asked for
 * every point, and the admin levels (county, town, village), asked only
 * when a point's grid says nothing about them. Responsibility flows down
 * the registry: a point's village, town and county are its grid's parent
 * chain, found through each unit's parent index, not three more polygon
 * tests whose boundaries duplicate the grids' (so the hot index is half the
 * size and a query does half the work). A point outside every grid gets the
 * admin units that contain it, and a NEAREST point the chain of the grid it
 * snapped to.
 *
 * Batches (wg_locator_place_many) sort the points by index cell first
 * (radix on the cell's bits only: two 10-bit passes on the large county),
 * so the index is read in memory order. In that order four neighbours in
 * five have the hot index's answer of the point before them, and the
 * placement depends only on that answer unless the point is off every grid
 * or its grid's chain is broken: the previous placement is handed on
 * without touching the units again, and in a cell no edge comes near the
 * index is not even asked. The coordinates are gathered in blocks after
 * the sort; carrying them through it instead (24-byte records) was slower,
 * three times the scratch to page in and to move. */
#include "pointindex.h"
#include "units.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct wg_locator {
    wg_unitset units; /* geometries freed after the build; strings kept */
    int32_t *parent;  /* index of each unit's parent, -1 if none */
    wg_pindex *ix;    /* grid, micro and exclusive levels */
    uint32_t *ix_unit;
    wg_pindex *admin; /* county, town and village levels */
    uint32_t *admin_unit;
    uint32_t *grids;  /* ix ids of the comprehensive grids, for NEAREST */
    size_t ngrids;
    void *map;        /* the index cache, when the indexes live in it */
    size_t map_len;
};

const char *wg_place_status_name(wg_place_status st) {
    switch (st) {
    case WG_PLACE_INSIDE: return "inside";
    case WG_PLACE_NEAREST: return "nearest";
    case WG_PLACE_OUTSIDE: return "outside";
    }
    return "unknown";
}

wg_status wg_crs_parse(const char *s, wg_crs_kind *kind, int *epsg) {
    if (!s) return WG_ERR_INVALID_ARG;
    *epsg = 0;
    if (!strcasecmp(s, "wgs84") || !strcasecmp(s, "gps") || !strcasecmp(s, "EPSG:4326"))
        *kind = WG_CRS_WGS84;
    else if (!strcasecmp(s, "cgcs2000") || !strcasecmp(s, "EPSG:4490"))
        *kind = WG_CRS_CGCS2000;
    else if (!strcasecmp(s, "gcj02") || !strcasecmp(s, "gcj-02"))
        *kind = WG_CRS_GCJ02;
    else if (!strcasecmp(s, "bd09") || !strcasecmp(s, "bd-09"))
        *kind = WG_CRS_BD09;
    else if (!strncasecmp(s, "EPSG:", 5) && s[5]) {
        char *end;
        long v = strtol(s + 5, &end, 10);
        if (*end || v <= 0 || v > 999999) return WG_ERR_INVALID_ARG;
        *kind = WG_CRS_EPSG;
        *epsg = (int)v;
    } else {
        return WG_ERR_INVALID_ARG;
    }
    return WG_OK;
}

wg_status wg_to_wgs84(wg_ctx *ctx, wg_crs_kind kind, int epsg, double x, double y, double *lon,
                      double *lat) {
    double gx, gy;
    wg_status rc;
    switch (kind) {
    case WG_CRS_WGS84:
    case WG_CRS_CGCS2000:
        if (!isfinite(x) || !isfinite(y) || fabs(x) > 180 || fabs(y) > 90)
            return WG_ERR_INVALID_ARG;
        *lon = x, *lat = y;
        return WG_OK;
    case WG_CRS_GCJ02: return wg_wgs84_from_gcj02(x, y, lon, lat);
    case WG_CRS_BD09:
        if ((rc = wg_gcj02_from_bd09(x, y, &gx, &gy))) return rc;
        return wg_wgs84_from_gcj02(gx, gy, lon, lat);
    case WG_CRS_EPSG: {
        if (!isfinite(x) || !isfinite(y)) return WG_ERR_INVALID_ARG;
        char src[32];
        snprintf(src, sizeof src, "EPSG:%d", epsg);
        PJ *pj = wg_proj_transform(ctx, src, "EPSG:4326");
        if (!pj) return WG_ERR_PROJ;
        PJ_COORD c = proj_trans(pj, PJ_FWD, proj_coord(x, y, 0, 0));
        proj_destroy(pj);
        if (!isfinite(c.xy.x) || !isfinite(c.xy.y) || fabs(c.xy.x) > 180 || fabs(c.xy.y) > 90)
            return wg_err(ctx, WG_ERR_INVALID_ARG, "(%g, %g) is outside EPSG:%d", x, y, epsg);
        *lon = c.xy.x, *lat = c.xy.y;
        return WG_OK;
    }
    }
    return WG_ERR_INVALID_ARG;
}

/* Orders units as wg_units_load() does: by level, then code. */
static int cmp_level_code(const wg_unit *u, int level, const char *code) {
    if ((int)u->level != level) return (int)u->level < level ? -1 : 1;
    return strcmp(u->code, code);
}

/* Resolves each unit's parent code to an index by binary search. */
static wg_status link_parents(wg_locator *loc) {
    size_t n = loc->units.n;
    loc->parent = malloc((n + 1) * sizeof *loc->parent);
    if (!loc->parent) return WG_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const wg_unit *u = &loc->units.v[i];
        int pl = wg_level_parent(u->level);
        loc->parent[i] = -1;
        if (pl < 0 || !u->parent) continue;
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (cmp_level_code(&loc->units.v[mid], pl, u->parent) < 0) lo = mid + 1;
            else hi = mid;
        }
        if (lo < n && cmp_level_code(&loc->units.v[lo], pl, u->parent) == 0)
            loc->parent[i] = (int32_t)lo;
    }
    return WG_OK;
}

/* ---- the index cache ----------------------------------------------------
 *
 * Grids change with imports, not between queries, yet every `wangge place`,
 * `locate` and server start used to rebuild the point indexes (0.4 s on a
 * 12,000-unit county, three quarters of a 1M-row batch's cost to place).
 * So the built indexes are saved beside the workspace, in WS.locator, and
 * memory-mapped on the next build: loading is page faults, not work, and
 * processes share the pages. The file names the units it was built from by
 * a digest of their row ids, levels and stored geometry bytes (see
 * wg_units_load_ex), so any import, repair or edit of a unit -- or another
 * --at date -- misses and rebuilds, and the new file replaces the old one
 * atomically (rename). Any failure to read or write the cache only costs
 * the rebuild; WANGGE_INDEX_CACHE=0 turns it off. */

#define CACHE_MAGIC "WGLOCIX2" /* 2: subcell masks in the cell entries */

typedef struct cache_head {
    char magic[8];
    uint64_t digest, nunits, nhot, nadm;
    uint64_t layout; /* sizes of the saved structs: another build refuses it */
} cache_head;

static uint64_t cache_layout(void) {
    return (uint64_t)sizeof(cache_head) << 32 | (uint64_t)sizeof(void *) << 16 | 1u;
}

static int cache_enabled(void) {
    const char *e = getenv("WANGGE_INDEX_CACHE");
    return !(e && !strcmp(e, "0"));
}

/* WS.locator beside the workspace; 0 when the workspace is in memory. */
static int cache_path(wg_ws *ws, char *buf, size_t size) {
    const char *db = sqlite3_db_filename(ws->db, "main");
    if (!db || !*db) return 0;
    return (size_t)snprintf(buf, size, "%s.locator", db) < size;
}

/* Maps the cache and points the locator's indexes into it; 0 on success. */
static int cache_load(wg_locator *loc, const char *path, uint64_t dig, size_t nhot, size_t nadm) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat sb;
    void *map = MAP_FAILED;
    if (fstat(fd, &sb) == 0 && sb.st_size >= (off_t)sizeof(cache_head))
        map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return -1;
    const cache_head *h = map;
    size_t off = sizeof *h, len = (size_t)sb.st_size;
    if (memcmp(h->magic, CACHE_MAGIC, 8) != 0 || h->digest != dig || h->nunits != loc->units.n ||
        h->nhot != nhot || h->nadm != nadm || h->layout != cache_layout() ||
        wg_pindex_load(map, len, &off, &loc->ix) ||
        wg_pindex_load(map, len, &off, &loc->admin) || wg_pindex_npoly(loc->ix) != nhot ||
        wg_pindex_npoly(loc->admin) != nadm) {
        wg_pindex_free(loc->ix);
        wg_pindex_free(loc->admin);
        loc->ix = loc->admin = NULL;
        munmap(map, len);
        return -1;
    }
    loc->map = map;
    loc->map_len = len;
    return 0;
}

/* Writes the cache through a temporary file renamed into place. */
static void cache_save(const wg_locator *loc, const char *path, uint64_t dig, size_t nhot,
                       size_t nadm) {
    char tmp[4200];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid()) >= sizeof tmp) return;
    FILE *fp = fopen(tmp, "wb");
    if (!fp) return;
    cache_head h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, CACHE_MAGIC, 8);
    h.digest = dig, h.nunits = loc->units.n, h.nhot = nhot, h.nadm = nadm;
    h.layout = cache_layout();
    int bad = fwrite(&h, sizeof h, 1, fp) != 1 || wg_pindex_save(loc->ix, fp) ||
              wg_pindex_save(loc->admin, fp);
    bad |= fclose(fp) != 0;
    if (bad || rename(tmp, path) != 0) remove(tmp);
}

/* Builds both indexes from the units' geometries (loaded for this). */
static wg_status build_indexes(wg_ws *ws, const char *at, wg_locator *loc) {
    wg_ctx *ctx = ws->ctx;
    wg_unitset full = {0, NULL};
    wg_status rc = wg_units_load(ws, WG_LEVELS_ALL, at, &full);
    if (rc) return rc;
    /* the same query in the same snapshot as the attribute load: same
     * units, same order (checked all the same) */
    if (full.n != loc->units.n) {
        wg_units_free(ctx, &full);
        return wg_err(ctx, WG_ERR_SQLITE, "the workspace's units changed while loading them");
    }
    size_t n = full.n, nhot = 0, nadm = 0;
    const GEOSGeometry **hot = malloc((n + 1) * sizeof *hot);
    const GEOSGeometry **adm = malloc((n + 1) * sizeof *adm);
    if (!hot || !adm) {
        rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    } else {
        for (size_t i = 0; i < n; i++) {
            if (full.v[i].level >= WG_LEVEL_GRID) hot[nhot++] = full.v[i].geom;
            else adm[nadm++] = full.v[i].geom;
        }
        /* The admin index is asked only for points outside every grid: a
         * coarse grid (16 edges a cell) builds in a fraction of the time. */
        rc = wg_pindex_build(ctx, hot, nhot, 1, &loc->ix);
        if (!rc) rc = wg_pindex_build(ctx, adm, nadm, 16, &loc->admin);
    }
    free(hot);
    free(adm);
    wg_units_free(ctx, &full);
    return rc;
}

wg_status wg_locator_build(wg_ws *ws, const char *at, wg_locator **out) {
    wg_ctx *ctx = ws->ctx;
    if (at && !wg_date_valid(at))
        return wg_err(ctx, WG_ERR_INVALID_ARG, "'%s' is not a date YYYY-MM-DD", at);
    wg_locator *loc = calloc(1, sizeof *loc);
    if (!loc) return wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    /* One read transaction: the attributes, the digest and (on a miss) the
     * geometries all come from the same snapshot, even while an import
     * commits beside us. */
    int own_txn = sqlite3_get_autocommit(ws->db) && wg_ws_exec(ws, "BEGIN") == WG_OK;
    uint64_t dig = 0;
    wg_status rc = wg_units_load_ex(ws, WG_LEVELS_ALL, at, WG_UNITS_NO_GEOM, &loc->units, &dig);
    if (rc) goto fail;
    size_t n = loc->units.n, nhot = 0, nadm = 0;
    loc->ix_unit = malloc((n + 1) * sizeof *loc->ix_unit);
    loc->admin_unit = malloc((n + 1) * sizeof *loc->admin_unit);
    loc->grids = malloc((n + 1) * sizeof *loc->grids);
    if (!loc->ix_unit || !loc->admin_unit || !loc->grids) {
        rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        const wg_unit *u = &loc->units.v[i];
        if (u->level >= WG_LEVEL_GRID) {
            if (u->level == WG_LEVEL_GRID) loc->grids[loc->ngrids++] = (uint32_t)nhot;
            loc->ix_unit[nhot++] = (uint32_t)i;
        } else {
            loc->admin_unit[nadm++] = (uint32_t)i;
        }
    }
    char path[4096];
    int cached = cache_enabled() && cache_path(ws, path, sizeof path);
    if (!cached || cache_load(loc, path, dig, nhot, nadm) != 0) {
        if ((rc = build_indexes(ws, at, loc))) goto fail;
        if (cached) cache_save(loc, path, dig, nhot, nadm);
    }
    if (link_parents(loc)) {
        rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (own_txn) wg_ws_rollback(ws); /* nothing was written: just end the snapshot */
    *out = loc;
    return WG_OK;
fail:
    if (own_txn) wg_ws_rollback(ws);
    wg_locator_free(loc);
    return rc;
}

void wg_locator_free(wg_locator *loc) {
    if (!loc) return;
    wg_units_free(NULL, &loc->units); /* no geometries left: no GEOS handle needed */
    free(loc->parent);
    free(loc->grids);
    free(loc->ix_unit);
    free(loc->admin_unit);
    wg_pindex_free(loc->ix);
    wg_pindex_free(loc->admin);
    if (loc->map) munmap(loc->map, loc->map_len);
    free(loc);
}

size_t wg_locator_memory(const wg_locator *loc) {
    return loc ? wg_pindex_memory(loc->ix) + wg_pindex_memory(loc->admin) : 0;
}

static void set_unit(wg_placed_unit *pu, const wg_unit *u) {
    pu->code = u->code;
    pu->name = u->name;
    pu->kind = u->kind;
}

static wg_placed_unit *slot(wg_placement *p, wg_level l) {
    switch (l) {
    case WG_LEVEL_COUNTY: return &p->county;
    case WG_LEVEL_TOWN: return &p->town;
    case WG_LEVEL_VILLAGE: return &p->village;
    case WG_LEVEL_GRID: return &p->grid;
    case WG_LEVEL_MICRO: return &p->micro;
    default: return NULL;
    }
}

/* The nearest comprehensive grid within tol metres, or -1. */
static long nearest_grid(const wg_locator *loc, double lon, double lat, double tol, double *dist) {
    double dlat = tol / 111000.0, dlon = tol / (111000.0 * fmax(cos(lat * 0.017453292519943295), 0.01));
    long best = -1;
    double bd = INFINITY;
    for (size_t k = 0; k < loc->ngrids; k++) {
        double bb[4];
        wg_pindex_bbox(loc->ix, loc->grids[k], bb);
        if (lon < bb[0] - dlon || lon > bb[2] + dlon || lat < bb[1] - dlat || lat > bb[3] + dlat)
            continue;
        double d = wg_pindex_distance_m(loc->ix, loc->grids[k], lon, lat);
        if (d < bd) bd = d, best = (long)loc->ix_unit[loc->grids[k]];
    }
    if (best >= 0 && bd <= tol) {
        *dist = bd;
        return best;
    }
    return -1;
}

/* Fills the admin slots still empty from the units containing the point. */
static void admin_lookup(const wg_locator *loc, double lon, double lat, wg_placement *out) {
    uint32_t ids[16];
    size_t k = wg_pindex_query(loc->admin, lon, lat, ids, 16);
    for (size_t i = 0; i < k && i < 16; i++) {
        const wg_unit *u = &loc->units.v[loc->admin_unit[ids[i]]];
        wg_placed_unit *s = slot(out, u->level);
        if (s && !s->code) set_unit(s, u); /* ids ascend: on overlaps the lowest code wins */
    }
}

/* The placement of (lon, lat) given the hot index's answer ids[0..k) for
 * it (k <= 64). Returns 1 when the placement is the ids' alone -- any point
 * with the same answer gets the same placement -- and 0 when it also
 * depended on the coordinates (admin polygons, the nearest grid). */
static int place_ids(const wg_locator *loc, const uint32_t *ids, size_t k, double lon, double lat,
                     double tolerance_m, wg_placement *out) {
    out->status = WG_PLACE_INSIDE;
    out->dist_m = 0;
    out->county = out->town = out->village = out->grid = out->micro = (wg_placed_unit){0};
    out->n_excl = 0;
    long grid = -1;
    for (size_t i = 0; i < k; i++) {
        uint32_t ui = loc->ix_unit[ids[i]];
        const wg_unit *u = &loc->units.v[ui];
        if (u->level == WG_LEVEL_EXCLUSIVE) {
            if (out->n_excl < WG_PLACE_MAX_EXCL) set_unit(&out->excl[out->n_excl++], u);
            continue;
        }
        wg_placed_unit *s = slot(out, u->level);
        if (s && !s->code) { /* ids ascend: on overlaps the lowest code wins */
            set_unit(s, u);
            if (u->level == WG_LEVEL_GRID) grid = (long)ui;
        }
    }
    int by_ids = 1;
    if (grid < 0) {
        by_ids = 0;
        admin_lookup(loc, lon, lat, out);
        double d = 0;
        grid = tolerance_m > 0 ? nearest_grid(loc, lon, lat, tolerance_m, &d) : -1;
        if (grid < 0) {
            out->status = WG_PLACE_OUTSIDE;
            return 0;
        }
        out->status = WG_PLACE_NEAREST;
        out->dist_m = d;
        set_unit(&out->grid, &loc->units.v[grid]);
    }
    /* The admin chain is the grid's: its parent village, that village's town... */
    for (int32_t p = loc->parent[grid]; p >= 0; p = loc->parent[p]) {
        wg_placed_unit *s = slot(out, loc->units.v[p].level);
        if (s && !s->code) set_unit(s, &loc->units.v[p]);
    }
    /* A broken chain (an orphan grid): ask the admin polygons. */
    if (!out->county.code || !out->town.code || !out->village.code) {
        by_ids = 0;
        admin_lookup(loc, lon, lat, out);
    }
    return by_ids;
}

static int lonlat_ok(double lon, double lat) {
    return lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90;
}

wg_status wg_locator_place(const wg_locator *loc, double lon, double lat, double tolerance_m,
                           wg_placement *out) {
    if (!lonlat_ok(lon, lat)) {
        memset(out, 0, sizeof *out);
        return WG_ERR_INVALID_ARG;
    }
    uint32_t ids[64];
    size_t k = wg_pindex_query(loc->ix, lon, lat, ids, 64);
    place_ids(loc, ids, k > 64 ? 64 : k, lon, lat, tolerance_m, out);
    return WG_OK;
}

/* Sorts `v` (n keys: cell << 32 | point index, cells < 2^bits) by cell,
 * least significant digit first, stable, through `tmp`; returns the sorted
 * array. As few digits as the cells need, and as narrow as that allows:
 * a scatter into 2^10 buckets stays in the cache, one into 2^13 (what a
 * fixed 26-bit cell needed) missed on most stores. */
static uint64_t *sort_by_cell(uint64_t *v, uint64_t *tmp, size_t n, int bits) {
    int passes = bits <= 11 ? 1 : bits <= 22 ? 2 : 3, width = (bits + passes - 1) / passes;
    size_t nb = (size_t)1 << width;
    uint32_t *count = malloc(nb * sizeof *count);
    if (!count) return NULL;
    for (int pass = 0; pass < passes; pass++) {
        int shift = 32 + pass * width;
        memset(count, 0, nb * sizeof *count);
        for (size_t i = 0; i < n; i++) count[(v[i] >> shift) & (nb - 1)]++;
        uint32_t sum = 0;
        for (size_t b = 0; b < nb; b++) {
            uint32_t c = count[b];
            count[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++) tmp[count[(v[i] >> shift) & (nb - 1)]++] = v[i];
        uint64_t *t = v;
        v = tmp;
        tmp = t;
    }
    free(count);
    return v;
}

wg_status wg_locator_place_many(const wg_locator *loc, size_t n, const double *lon,
                                const double *lat, double tolerance_m, wg_placement_fn fn,
                                void *user) {
    if (n == 0) return WG_OK;
    /* Point indexes must fit beside the cell in 64 bits, and the radix
     * counts in 32. */
    if (n >= ((size_t)1 << 32)) return WG_ERR_INVALID_ARG;
    uint64_t *v = malloc(n * sizeof *v), *tmp = malloc(n * sizeof *tmp);
    uint64_t *sorted = v && tmp ? NULL : v;
    /* Points off the grid (or NaN) get the cell after the last one seen:
     * they come last, in input order, and no real cell is mistaken for it. */
    uint32_t off_grid = 0;
    if (v && tmp) {
        uint32_t top = 0;
        int any_off = 0;
        for (size_t i = 0; i < n; i++) {
            uint32_t c = wg_pindex_cell(loc->ix, lon[i], lat[i]);
            if (c == UINT32_MAX) any_off = 1;
            else if (c > top) top = c;
            v[i] = (uint64_t)c << 32 | i;
        }
        off_grid = top + 1; /* cells are < 2^26 */
        if (any_off)
            for (size_t i = 0; i < n; i++)
                if ((v[i] >> 32) == UINT32_MAX)
                    v[i] = (uint64_t)off_grid << 32 | (v[i] & UINT32_MAX);
        int bits = 1;
        while (bits < 32 && (off_grid >> bits)) bits++;
        sorted = sort_by_cell(v, tmp, n, bits);
    }
    if (!v || !tmp || !sorted) {
        free(v);
        free(tmp);
        return WG_ERR_NOMEM;
    }
    /* Gather each block's coordinates in sorted order first: independent
     * loads the CPU overlaps, where reading them inside the placement loop
     * would add two dependent misses to every point. */
    enum { BLOCK = 4096 };
    double *xy = malloc(2 * BLOCK * sizeof *xy);
    if (!xy) {
        free(v);
        free(tmp);
        return WG_ERR_NOMEM;
    }
    const size_t mask = UINT32_MAX;
    wg_placement p;
    /* Neighbours in cell order mostly get the same answer (4 in 5 on the
     * large county): then `p` is still right and is handed on as it is.
     * `reuse` says p is the answer ids[0..nid) alone; `same_cell` that
     * every point of cell `cell` gets it (no edge near: no test at all). */
    uint32_t ids[64], prev[64], cell = UINT32_MAX;
    size_t nid = 0;
    int reuse = 0, same_cell = 0;
    for (size_t k0 = 0; k0 < n; k0 += BLOCK) {
        size_t k1 = k0 + BLOCK < n ? k0 + BLOCK : n;
        for (size_t k = k0; k < k1; k++) {
            size_t i = (size_t)(sorted[k] & mask);
            if (k + 32 < n) { /* ~5% of the batch: the misses start earlier */
                size_t f = (size_t)(sorted[k + 32] & mask);
                __builtin_prefetch(&lon[f]);
                __builtin_prefetch(&lat[f]);
            }
            xy[2 * (k - k0)] = lon[i];
            xy[2 * (k - k0) + 1] = lat[i];
        }
        for (size_t k = k0; k < k1; k++) {
            size_t i = (size_t)(sorted[k] & mask);
            uint32_t c = (uint32_t)(sorted[k] >> 32);
            double x = xy[2 * (k - k0)], y = xy[2 * (k - k0) + 1];
            wg_status rc;
            if (c == off_grid || !lonlat_ok(x, y)) {
                /* off the grid: the plain way */
                rc = wg_locator_place(loc, x, y, tolerance_m, &p);
                reuse = 0, cell = UINT32_MAX;
            } else if (reuse && same_cell && c == cell) {
                rc = WG_OK;
            } else {
                size_t m = wg_pindex_query_cell(loc->ix, c, x, y, ids, 64, &same_cell);
                if (m > 64) m = 64;
                int same = reuse && m == nid;
                for (size_t q = 0; q < m && same; q++) same = ids[q] == prev[q];
                if (!same) {
                    reuse = place_ids(loc, ids, m, x, y, tolerance_m, &p);
                    memcpy(prev, ids, m * sizeof *ids);
                    nid = m;
                }
                cell = c;
                rc = WG_OK;
            }
            fn(user, i, rc, &p);
        }
    }
    free(xy);
    free(v);
    free(tmp);
    return WG_OK;
}

wg_status wg_officers_for_units(wg_ws *ws, const char *const *codes, size_t n,
                                int (*fn)(void *user, const wg_officer *o), void *user) {
    if (n == 0) return WG_OK;
    if (n > 500) return wg_err(ws->ctx, WG_ERR_INVALID_ARG, "too many unit codes (%zu)", n);
    size_t len = 400 + n * 2;
    char *sql = malloc(len);
    if (!sql) return wg_err(ws->ctx, WG_ERR_NOMEM, "out of memory");
    int w = snprintf(sql, len,
                     "SELECT o.officer_id, o.name, g.role, o.phone, g.grid_code, X(o.geom), "
                     "Y(o.geom) FROM officer_grids g JOIN officers o USING(officer_id) "
                     "WHERE g.grid_code IN (");
    for (size_t i = 0; i < n; i++) w += snprintf(sql + w, len - (size_t)w, i ? ",?" : "?");
    snprintf(sql + w, len - (size_t)w, ") ORDER BY g.role, o.name, o.officer_id");
    sqlite3_stmt *st = NULL;
    wg_status rc = wg_ws_prepare(ws, sql, &st);
    free(sql);
    if (rc) return rc;
    for (size_t i = 0; i < n; i++) sqlite3_bind_text(st, (int)i + 1, codes[i], -1, SQLITE_STATIC);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        wg_officer o = {(const char *)sqlite3_column_text(st, 0),
                        (const char *)sqlite3_column_text(st, 1),
                        (const char *)sqlite3_column_text(st, 2),
                        (const char *)sqlite3_column_text(st, 3),
                        (const char *)sqlite3_column_text(st, 4),
                        sqlite3_column_type(st, 5) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 5),
                        sqlite3_column_type(st, 6) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 6)};
        if (fn(user, &o)) break;
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE) rc = wg_ws_sqlerr(ws, "reading officers");
    sqlite3_finalize(st);
    return rc;
}
