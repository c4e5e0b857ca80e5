/* units.h -- loading units (admin units and grids of every level) from the
 * workspace into memory, for validation, export and the indexes. */
#ifndef WG_UNITS_H
#define WG_UNITS_H

#include "workspace.h"

typedef struct wg_unit {
    int64_t id;
    wg_level level;
    char *code, *name, *parent, *kind; /* owned; name/parent/kind may be NULL */
    char *valid_from, *valid_to;       /* owned; valid_to NULL while current */
    double area_m2;
    GEOSGeometry *geom; /* owned; WGS84 lon/lat */
} wg_unit;

typedef struct wg_unitset {
    size_t n;
    wg_unit *v;
} wg_unitset;

/* Loads the units of the levels in `level_mask` (bit 1<<level) valid at
 * `at` (YYYY-MM-DD) or, with at == NULL, the current ones, ordered by
 * level then code. On success `out` owns them; free with wg_units_free(). */
wg_status wg_units_load(wg_ws *ws, unsigned level_mask, const char *at, wg_unitset *out);

/* The same with choices: WG_UNITS_NO_GEOM leaves every geom NULL (no WKB
 * parsed: far faster); with `digest` non-NULL, *digest receives a 64-bit
 * digest of what the units' geometries are -- each unit's row id, level
 * and stored geometry bytes, in load order -- so a cache built from them
 * can tell whether it is still true. The digest is the same with and
 * without WG_UNITS_NO_GEOM. */
#define WG_UNITS_NO_GEOM 1u
wg_status wg_units_load_ex(wg_ws *ws, unsigned level_mask, const char *at, unsigned flags,
                           wg_unitset *out, uint64_t *digest);
/* Frees the set; `ctx` may be NULL once every geometry has been freed. */
void wg_units_free(wg_ctx *ctx, wg_unitset *set);

/* The level whose units contain units of `level` (county has none: -1). */
int wg_level_parent(wg_level level);

#define WG_LEVEL_BIT(l) (1u << (l))
#define WG_LEVELS_ALL ((1u << WG_LEVEL_COUNT) - 1)

#endif
