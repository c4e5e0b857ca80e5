/* workspace.h -- the workspace's insides, for the engine's modules. */
#ifndef WG_WORKSPACE_H
#define WG_WORKSPACE_H

#include "ctx.h"
#include <sqlite3.h>

struct wg_ws {
    wg_ctx *ctx;
    sqlite3 *db;
    void *splite; /* SpatiaLite connection cache */
    int metric_epsg;
    int readonly;
    PJ *to_metric;   /* EPSG:4326 -> metric, lon/lat order; lazily built */
    PJ *from_metric; /* the inverse */
};

/* 1 if `table` has a column `column` (older workspaces lack some). */
int wg_ws_has_column(wg_ws *ws, const char *table, const char *column);

/* Runs SQL without results; on failure sets the message and returns WG_ERR_SQLITE. */
wg_status wg_ws_exec(wg_ws *ws, const char *sql);

/* Prepares a statement; on failure sets the message (with the SQL's first words). */
wg_status wg_ws_prepare(wg_ws *ws, const char *sql, sqlite3_stmt **out);

/* Sets the message from the database's last error and returns WG_ERR_SQLITE. */
wg_status wg_ws_sqlerr(wg_ws *ws, const char *what);

/* Transactions (the engine never nests them). */
wg_status wg_ws_begin(wg_ws *ws);
wg_status wg_ws_commit(wg_ws *ws);
void wg_ws_rollback(wg_ws *ws);

/* Records the metric CRS (once, when first known) inside the current
 * transaction and registers it in spatial_ref_sys. */
wg_status wg_ws_set_metric(wg_ws *ws, int epsg);

/* Reads/writes a key of the wg_meta table. `out` gets a new string (free()) or NULL. */
wg_status wg_ws_meta_get(wg_ws *ws, const char *key, char **out);
wg_status wg_ws_meta_set(wg_ws *ws, const char *key, const char *value);

/* Returns a new geometry: `g` (WGS84 lon/lat) in the workspace's metric CRS,
 * or back. NULL on failure (message set). The caller owns the result. */
GEOSGeometry *wg_ws_to_metric(wg_ws *ws, const GEOSGeometry *g);
GEOSGeometry *wg_ws_from_metric(wg_ws *ws, const GEOSGeometry *g);

/* Transforms n interleaved x, y pairs in place: lon/lat to the metric CRS,
 * or back with `inverse` (one batched PROJ call). Fails (message set) if a
 * coordinate becomes non-finite. */
wg_status wg_ws_metric_xy(wg_ws *ws, int inverse, double *xy, size_t n);

/* Builds a PROJ transform from `src` (any PROJ-understood CRS text) to
 * `dst`, normalised to lon/lat, easting/northing order. NULL on failure. */
PJ *wg_proj_transform(wg_ctx *ctx, const char *src, const char *dst);

/* Applies `pj` to every coordinate of `g`, returning a new geometry, or NULL
 * if a coordinate fails to transform or becomes non-finite (message set). */
GEOSGeometry *wg_geom_transform(wg_ctx *ctx, PJ *pj, const GEOSGeometry *g);

/* Bulk loading a SpatiaLite table inside the caller's transaction.
 * SpatiaLite's per-row triggers (geometry check, time stamps, spatial
 * index alignment that prepares SQL for every row) cost more than the rows
 * themselves in a large load, and our writers produce geometries of the
 * declared type and SRID by construction. wg_ws_bulk_begin() drops those
 * triggers of `table` (column `geom`), remembering their SQL and the last
 * rowid; wg_ws_bulk_end() indexes the new rows in one statement, stamps the
 * time once and puts the triggers back. On failure the caller rolls back,
 * which restores the triggers too. */
typedef struct wg_bulk {
    char table[64];
    char *sql[8];
    int n, had_index;
    int64_t last_rowid;
} wg_bulk;

wg_status wg_ws_bulk_begin(wg_ws *ws, const char *table, wg_bulk *b);
wg_status wg_ws_bulk_end(wg_ws *ws, wg_bulk *b);
void wg_bulk_free(wg_bulk *b);

/* Today's date as YYYY-MM-DD (UTC) into buf[11]. */
void wg_today(char buf[11]);

/* Checks a YYYY-MM-DD date (a real calendar date). */
int wg_date_valid(const char *s);

#endif
