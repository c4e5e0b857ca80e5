/* unitinfo.c -- one unit as the HTTP service shows it (GeoJSON geometry
 * from SpatiaLite's AsGeoJSON), and a fingerprint of the units, the
 * officer roster and the road network that tells a long-running service
 * when its locator, officer index and graph are stale. */
#include "httpparse.h"
#include "workspace.h"

#include <stdlib.h>
#include <string.h>

void wg_unit_info_free(wg_unit_info *u) {
    if (!u) return;
    free(u->code);
    free(u->name);
    free(u->level);
    free(u->parent);
    free(u->kind);
    free(u->valid_from);
    free(u->valid_to);
    free(u->geojson);
    free(u);
}

static int dup_col(sqlite3_stmt *st, int i, char **out) {
    const char *s = (const char *)sqlite3_column_text(st, i);
    *out = NULL;
    if (!s) return 1;
    return (*out = strdup(s)) != NULL;
}

wg_status wg_unit_get(wg_ws *ws, const char *code, const char *at, wg_unit_info **out) {
    wg_ctx *ctx = ws->ctx;
    if (!code || !*code) return wg_err(ctx, WG_ERR_INVALID_ARG, "no unit code");
    if (at && !wg_date_valid(at))
        return wg_err(ctx, WG_ERR_INVALID_ARG, "'%.20s' is not a date YYYY-MM-DD", at);
    sqlite3_stmt *st = NULL;
    /* Two rows can share a code only in a workspace `validate` complains
     * about; the newest one wins. */
    wg_status rc = wg_ws_prepare(
        ws,
        at ? "SELECT code, name, level, parent_code, kind, valid_from, valid_to, area_m2, "
             "AsGeoJSON(geom, 7) FROM units WHERE code = ?1 AND valid_from <= ?2 AND "
             "(valid_to IS NULL OR valid_to > ?2) ORDER BY valid_from DESC, id DESC LIMIT 1"
           : "SELECT code, name, level, parent_code, kind, valid_from, valid_to, area_m2, "
             "AsGeoJSON(geom, 7) FROM units WHERE code = ?1 AND valid_to IS NULL "
             "ORDER BY id DESC LIMIT 1",
        &st);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
    if (at) sqlite3_bind_text(st, 2, at, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        wg_unit_info *u = calloc(1, sizeof *u);
        int ok = u && dup_col(st, 0, &u->code) && dup_col(st, 1, &u->name) &&
                 dup_col(st, 2, &u->level) && dup_col(st, 3, &u->parent) &&
                 dup_col(st, 4, &u->kind) && dup_col(st, 5, &u->valid_from) &&
                 dup_col(st, 6, &u->valid_to) && dup_col(st, 8, &u->geojson);
        if (u) u->area_m2 = sqlite3_column_double(st, 7);
        if (!ok || !u->geojson) {
            wg_unit_info_free(u);
            rc = wg_err(ctx, ok ? WG_ERR_FORMAT : WG_ERR_NOMEM,
                        ok ? "unit %.64s has no geometry" : "out of memory", code);
        } else {
            *out = u;
        }
    } else if (r == SQLITE_DONE) {
        rc = wg_err(ctx, WG_ERR_NOT_FOUND, "no unit with code '%.64s'%s%s", code,
                    at ? " on " : "", at ? at : "");
    } else {
        rc = wg_ws_sqlerr(ws, "reading a unit");
    }
    sqlite3_finalize(st);
    return rc;
}

static uint64_t fnv(uint64_t h, const unsigned char *t) {
    for (; t && *t; t++) h = (h ^ *t) * 1099511628211ULL;
    return (h ^ 0x1f) * 1099511628211ULL;
}

wg_status wg_units_stamp(wg_ws *ws, uint64_t *out) {
    /* Units: aggregates move with any import, version or repair. The
     * roster is replaced wholesale by an import (rowids start over), so
     * its rows are hashed: a few milliseconds for a county's roster. */
    static const char *const SQL[] = {
        ("SELECT count(*), coalesce(max(id), 0), total(length(geom)), total(area_m2), "
         "coalesce(max(valid_to), ''), coalesce(max(valid_from), ''), "
         "(SELECT coalesce(max(id), 0) FROM imports) FROM units"),
        ("SELECT g.officer_id, g.grid_code, g.role, o.name, o.phone, AsText(o.geom) "
         "FROM officer_grids g JOIN officers o USING(officer_id)"),
        /* the road network: roads.c stamps every import and rebuild */
        "SELECT value FROM wg_meta WHERE key = 'roads_stamp'"};
    uint64_t h = 1469598103934665603ULL;
    wg_status rc = wg_ws_exec(ws, "BEGIN");
    for (size_t q = 0; q < sizeof SQL / sizeof SQL[0] && !rc; q++) {
        sqlite3_stmt *st = NULL;
        if ((rc = wg_ws_prepare(ws, SQL[q], &st))) break;
        int r;
        while ((r = sqlite3_step(st)) == SQLITE_ROW)
            for (int c = 0; c < sqlite3_column_count(st); c++) h = fnv(h, sqlite3_column_text(st, c));
        if (r != SQLITE_DONE) rc = wg_ws_sqlerr(ws, "reading the workspace's fingerprint");
        sqlite3_finalize(st);
    }
    wg_ws_exec(ws, "COMMIT");
    if (!rc) *out = h;
    return rc;
}
