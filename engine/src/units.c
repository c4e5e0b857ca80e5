/* units.c -- the unit hierarchy and reading units back from the workspace.
 *
 * County → town → village → comprehensive grid → micro-grid form a strict
 * hierarchy; exclusive grids (schools, hospitals, ...) overlap the grids and
 * hang under the village that holds them. */
#include "units.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const LEVEL_NAMES[WG_LEVEL_COUNT] = {"county", "town",  "village",
                                                         "grid",   "micro", "exclusive"};

const char *wg_level_name(wg_level level) {
    return (unsigned)level < WG_LEVEL_COUNT ? LEVEL_NAMES[level] : NULL;
}

wg_status wg_level_parse(const char *name, wg_level *out) {
    if (!name) return WG_ERR_INVALID_ARG;
    for (int i = 0; i < WG_LEVEL_COUNT; i++)
        if (strcmp(name, LEVEL_NAMES[i]) == 0) {
            *out = (wg_level)i;
            return WG_OK;
        }
    /* Accept the common synonyms analysts' layers use. */
    static const struct {
        const char *alias;
        wg_level level;
    } aliases[] = {{"comprehensive", WG_LEVEL_GRID}, {"street", WG_LEVEL_TOWN},
                   {"community", WG_LEVEL_VILLAGE}, {"microgrid", WG_LEVEL_MICRO},
                   {"micro-grid", WG_LEVEL_MICRO},  {"exclusive_grid", WG_LEVEL_EXCLUSIVE}};
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcmp(name, aliases[i].alias) == 0) {
            *out = aliases[i].level;
            return WG_OK;
        }
    return WG_ERR_INVALID_ARG;
}

int wg_level_parent(wg_level level) {
    switch (level) {
    case WG_LEVEL_COUNTY: return -1;
    case WG_LEVEL_TOWN: return WG_LEVEL_COUNTY;
    case WG_LEVEL_VILLAGE: return WG_LEVEL_TOWN;
    case WG_LEVEL_GRID: return WG_LEVEL_VILLAGE;
    case WG_LEVEL_MICRO: return WG_LEVEL_GRID;
    case WG_LEVEL_EXCLUSIVE: return WG_LEVEL_VILLAGE;
    default: return -1;
    }
}

static char *dup_col(sqlite3_stmt *st, int i) {
    const unsigned char *s = sqlite3_column_text(st, i);
    return s ? strdup((const char *)s) : NULL;
}

void wg_units_free(wg_ctx *ctx, wg_unitset *set) {
    if (!set) return;
    for (size_t i = 0; i < set->n; i++) {
        wg_unit *u = &set->v[i];
        free(u->code);
        free(u->name);
        free(u->parent);
        free(u->kind);
        free(u->valid_from);
        free(u->valid_to);
        if (u->geom) GEOSGeom_destroy_r(ctx->geos, u->geom);
    }
    free(set->v);
    set->v = NULL;
    set->n = 0;
}

/* A 64-bit digest, 8 bytes at a time: multiply-xorshift mixing, enough to
 * tell changed geometry from unchanged (not a defence against forgery). */
typedef struct digest {
    uint64_t h;
} digest;

static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ull;
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ull;
    return x ^ (x >> 32);
}

static void digest_bytes(digest *d, const void *p, size_t n) {
    const unsigned char *b = p;
    uint64_t h = d->h ^ (n * 0x9e3779b97f4a7c15ull);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        h = mix64(h ^ w) + 0x9e3779b97f4a7c15ull;
    }
    uint64_t tail = 0;
    if (n > i) memcpy(&tail, b + i, n - i);
    d->h = mix64(h ^ tail ^ ((uint64_t)(n - i) << 56));
}

wg_status wg_units_load(wg_ws *ws, unsigned level_mask, const char *at, wg_unitset *out) {
    return wg_units_load_ex(ws, level_mask, at, 0, out, NULL);
}

wg_status wg_units_load_ex(wg_ws *ws, unsigned level_mask, const char *at, unsigned flags,
                           wg_unitset *out, uint64_t *dig) {
    wg_ctx *ctx = ws->ctx;
    int want_geom = !(flags & WG_UNITS_NO_GEOM);
    digest d = {0x5157414e4747454eull};
    char sql[640], levels[128] = "";
    for (int l = 0; l < WG_LEVEL_COUNT; l++) {
        if (!(level_mask & WG_LEVEL_BIT(l))) continue;
        if (*levels) strcat(levels, ",");
        strcat(levels, "'");
        strcat(levels, LEVEL_NAMES[l]);
        strcat(levels, "'");
    }
    if (!*levels) return wg_err(ctx, WG_ERR_INVALID_ARG, "no level selected");
    snprintf(sql, sizeof sql,
             "SELECT id, level, code, name, parent_code, kind, valid_from, valid_to, area_m2, "
             "geom, %s FROM units WHERE level IN (%s) AND %s "
             "ORDER BY CASE level WHEN 'county' THEN 0 WHEN 'town' THEN 1 WHEN 'village' THEN 2 "
             "WHEN 'grid' THEN 3 WHEN 'micro' THEN 4 ELSE 5 END, code, id",
             want_geom ? "AsBinary(geom)" : "NULL", levels,
             at ? "valid_from <= ?1 AND (valid_to IS NULL OR valid_to > ?1)" : "valid_to IS NULL");
    sqlite3_stmt *st = NULL;
    wg_status rc = wg_ws_prepare(ws, sql, &st);
    if (rc) return rc;
    if (at) sqlite3_bind_text(st, 1, at, -1, SQLITE_STATIC);
    GEOSWKBReader *rd = GEOSWKBReader_create_r(ctx->geos);
    wg_unitset set = {0, NULL};
    size_t cap = 0;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (set.n == cap) {
            cap = cap ? cap * 2 : 256;
            wg_unit *nv = realloc(set.v, cap * sizeof *nv);
            if (!nv) {
                rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory loading units");
                goto done;
            }
            set.v = nv;
        }
        wg_unit *u = &set.v[set.n];
        memset(u, 0, sizeof *u);
        set.n++;
        u->id = sqlite3_column_int64(st, 0);
        wg_level_parse((const char *)sqlite3_column_text(st, 1), &u->level);
        u->code = dup_col(st, 2);
        u->name = dup_col(st, 3);
        u->parent = dup_col(st, 4);
        u->kind = dup_col(st, 5);
        u->valid_from = dup_col(st, 6);
        u->valid_to = dup_col(st, 7);
        u->area_m2 = sqlite3_column_double(st, 8);
        if (dig) {
            int64_t key[2] = {u->id, (int64_t)u->level};
            digest_bytes(&d, key, sizeof key);
            digest_bytes(&d, sqlite3_column_blob(st, 9), (size_t)sqlite3_column_bytes(st, 9));
        }
        if (!want_geom) continue;
        const void *wkb = sqlite3_column_blob(st, 10);
        int len = sqlite3_column_bytes(st, 10);
        u->geom = wkb ? GEOSWKBReader_read_r(ctx->geos, rd, wkb, (size_t)len) : NULL;
        if (!u->geom) {
            rc = wg_err(ctx, WG_ERR_FORMAT, "unit %s (row %lld) has an unreadable geometry: %s",
                        u->code ? u->code : "?", (long long)u->id, wg_geos_msg(ctx));
            goto done;
        }
    }
    if (r != SQLITE_DONE) rc = wg_ws_sqlerr(ws, "loading units");
done:
    GEOSWKBReader_destroy_r(ctx->geos, rd);
    sqlite3_finalize(st);
    if (rc) {
        wg_units_free(ctx, &set);
        return rc;
    }
    if (dig) *dig = d.h;
    *out = set;
    return WG_OK;
}

static wg_status count_query(wg_ws *ws, const char *sql, int64_t *out) {
    sqlite3_stmt *st = NULL;
    wg_status rc = wg_ws_prepare(ws, sql, &st);
    if (rc) return rc;
    if (sqlite3_step(st) == SQLITE_ROW) *out = sqlite3_column_int64(st, 0);
    else rc = wg_ws_sqlerr(ws, "counting");
    sqlite3_finalize(st);
    return rc;
}

wg_status wg_ws_count(wg_ws *ws, wg_ws_counts *out) {
    wg_ws_counts c;
    memset(&c, 0, sizeof c);
    char sql[160];
    wg_status rc = WG_OK;
    for (int l = 0; l < WG_LEVEL_COUNT && !rc; l++) {
        snprintf(sql, sizeof sql,
                 "SELECT COUNT(*) FROM units WHERE level = '%s' AND valid_to IS NULL",
                 LEVEL_NAMES[l]);
        rc = count_query(ws, sql, &c.units[l]);
    }
    if (rc || (rc = count_query(ws, "SELECT COUNT(*) FROM units", &c.unit_versions)) ||
        (rc = count_query(ws, "SELECT COUNT(*) FROM officers", &c.officers)) ||
        (rc = count_query(ws, "SELECT COUNT(*) FROM officer_grids", &c.assignments)) ||
        (rc = count_query(ws, "SELECT COUNT(*) FROM incidents", &c.incidents)))
        return rc;
    *out = c;
    return WG_OK;
}
