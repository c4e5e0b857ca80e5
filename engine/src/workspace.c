/* workspace.c -- the workspace file: a SpatiaLite database.
 *
 * One file holds everything a county has: units of every level with their
 * versions, officers, assignments and incidents. SQLite gives us atomic
 * imports (one transaction each) and WAL lets the HTTP service read while a
 * batch writes. Geometries are stored in WGS84 (EPSG:4326) so every consumer
 * agrees on them; metric work goes through the workspace's projected CRS,
 * registered in spatial_ref_sys so SQL's ST_Transform() can use it too. */
#include "workspace.h"
#include "deadlines.h"

#include <math.h>
#include <spatialite.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const SCHEMA_SQL =
    "CREATE TABLE wg_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);\n"
    "CREATE TABLE imports(\n"
    "  id INTEGER PRIMARY KEY, at TEXT NOT NULL, what TEXT NOT NULL,\n"
    "  source TEXT NOT NULL, layer TEXT, level TEXT, rows INTEGER, valid_from TEXT);\n"
    /* Admin units, comprehensive grids, micro-grids and exclusive grids share
     * one table: they are levels of one hierarchy, found by the same queries. */
    "CREATE TABLE units(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  level TEXT NOT NULL CHECK(level IN "
    "('county','town','village','grid','micro','exclusive')),\n"
    "  code TEXT NOT NULL, name TEXT, parent_code TEXT, kind TEXT,\n"
    "  valid_from TEXT NOT NULL, valid_to TEXT,\n"
    "  import_id INTEGER NOT NULL REFERENCES imports(id), src_fid INTEGER,\n"
    "  area_m2 REAL);\n"
    "CREATE INDEX units_code ON units(code, valid_from);\n"
    "CREATE INDEX units_level ON units(level, valid_to);\n"
    "CREATE VIEW admin_units AS SELECT * FROM units WHERE level IN ('county','town','village');\n"
    "CREATE VIEW current_units AS SELECT * FROM units WHERE valid_to IS NULL;\n"
    "CREATE TABLE officers(\n"
    "  officer_id TEXT PRIMARY KEY, name TEXT NOT NULL, phone TEXT,\n"
    "  import_id INTEGER REFERENCES imports(id));\n"
    "CREATE TABLE officer_grids(\n"
    "  officer_id TEXT NOT NULL REFERENCES officers(officer_id) ON DELETE CASCADE,\n"
    "  grid_code TEXT NOT NULL, role TEXT NOT NULL,\n"
    "  PRIMARY KEY(officer_id, grid_code, role));\n"
    "CREATE INDEX officer_grids_grid ON officer_grids(grid_code);\n"
    "CREATE TABLE incidents(\n"
    "  id INTEGER PRIMARY KEY, ext_id TEXT, reported_at TEXT, category TEXT,\n"
    "  description TEXT, src_crs TEXT, grid_code TEXT, micro_code TEXT,\n"
    "  excl_codes TEXT, village_code TEXT, town_code TEXT, county_code TEXT,\n"
    "  status TEXT, place_status TEXT, dist_m REAL,\n"
    "  reporter TEXT, received_at TEXT, level TEXT, deadline TEXT);\n"
    "CREATE INDEX incidents_grid ON incidents(grid_code, reported_at);\n"
    "CREATE INDEX incidents_ext ON incidents(ext_id, reporter);\n"
    "CREATE INDEX incidents_status ON incidents(status, deadline);\n"
    /* The closed loop's history: one row per transition. */
    "CREATE TABLE incident_events(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  incident_id INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,\n"
    "  at TEXT NOT NULL, event TEXT NOT NULL, from_status TEXT, to_status TEXT NOT NULL,\n"
    "  actor TEXT, note TEXT);\n"
    "CREATE INDEX incident_events_incident ON incident_events(incident_id, id);\n"
    /* API keys of the HTTP service: only a hash of each key is kept. */
    "CREATE TABLE api_keys(\n"
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL,\n"
    "  role TEXT NOT NULL CHECK(role IN ('handset','analyst','admin')),\n"
    "  scope TEXT NOT NULL DEFAULT '', rate_per_s REAL NOT NULL DEFAULT 0,\n"
    "  hash TEXT NOT NULL UNIQUE, prefix TEXT NOT NULL,\n"
    "  created_at TEXT NOT NULL, revoked_at TEXT);\n";

/* SpatiaLite's metadata functions report failure by returning 0, not by an
 * SQL error, so each is run and its result checked. */
static const char *const SPATIAL_SQL[] = {
    "SELECT AddGeometryColumn('units','geom',4326,'MULTIPOLYGON','XY',1)",
    "SELECT CreateSpatialIndex('units','geom')",
    "SELECT AddGeometryColumn('officers','geom',4326,'POINT','XY',0)",
    "SELECT CreateSpatialIndex('officers','geom')",
    "SELECT AddGeometryColumn('incidents','geom',4326,'POINT','XY',1)",
    "SELECT CreateSpatialIndex('incidents','geom')",
};

static wg_status exec_checked(wg_ws *ws, const char *sql) {
    sqlite3_stmt *st = NULL;
    wg_status rc = wg_ws_prepare(ws, sql, &st);
    if (rc) return rc;
    if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int(st, 0) != 1)
        rc = wg_err(ws->ctx, WG_ERR_SQLITE, "workspace: SpatiaLite failed: %s", sql);
    sqlite3_finalize(st);
    return rc;
}

wg_status wg_ws_sqlerr(wg_ws *ws, const char *what) {
    return wg_err(ws->ctx, WG_ERR_SQLITE, "workspace: %s: %s", what, sqlite3_errmsg(ws->db));
}

int wg_ws_has_column(wg_ws *ws, const char *table, const char *column) {
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(ws->db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
        found = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return found;
}

wg_status wg_ws_exec(wg_ws *ws, const char *sql) {
    char *msg = NULL;
    if (sqlite3_exec(ws->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        wg_err(ws->ctx, WG_ERR_SQLITE, "workspace: %s (in: %.60s)", msg ? msg : "error", sql);
        sqlite3_free(msg);
        return WG_ERR_SQLITE;
    }
    return WG_OK;
}

wg_status wg_ws_prepare(wg_ws *ws, const char *sql, sqlite3_stmt **out) {
    if (sqlite3_prepare_v2(ws->db, sql, -1, out, NULL) != SQLITE_OK)
        return wg_err(ws->ctx, WG_ERR_SQLITE, "workspace: %s (in: %.60s)",
                      sqlite3_errmsg(ws->db), sql);
    return WG_OK;
}

wg_status wg_ws_begin(wg_ws *ws) { return wg_ws_exec(ws, "BEGIN IMMEDIATE"); }
wg_status wg_ws_commit(wg_ws *ws) { return wg_ws_exec(ws, "COMMIT"); }
void wg_ws_rollback(wg_ws *ws) {
    if (!sqlite3_get_autocommit(ws->db)) sqlite3_exec(ws->db, "ROLLBACK", NULL, NULL, NULL);
}

wg_status wg_ws_meta_get(wg_ws *ws, const char *key, char **out) {
    sqlite3_stmt *st = NULL;
    wg_status rc = wg_ws_prepare(ws, "SELECT value FROM wg_meta WHERE key = ?", &st);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    *out = NULL;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        *out = strdup((const char *)sqlite3_column_text(st, 0));
        if (!*out) rc = WG_ERR_NOMEM;
    } else if (r != SQLITE_DONE) {
        rc = wg_ws_sqlerr(ws, "reading wg_meta");
    }
    sqlite3_finalize(st);
    return rc;
}

wg_status wg_ws_meta_set(wg_ws *ws, const char *key, const char *value) {
    sqlite3_stmt *st = NULL;
    wg_status rc = wg_ws_prepare(ws, "INSERT OR REPLACE INTO wg_meta(key, value) VALUES(?, ?)", &st);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) rc = wg_ws_sqlerr(ws, "writing wg_meta");
    sqlite3_finalize(st);
    return rc;
}

PJ *wg_proj_transform(wg_ctx *ctx, const char *src, const char *dst) {
    PJ *raw = proj_create_crs_to_crs(ctx->proj, src, dst, NULL);
    if (!raw) {
        wg_err(ctx, WG_ERR_PROJ, "PROJ cannot transform from %.200s to %.200s: %s", src, dst,
               proj_context_errno_string(ctx->proj, proj_context_errno(ctx->proj)));
        return NULL;
    }
    /* PROJ follows each CRS's official axis order (lat first for EPSG:4326);
     * we always speak lon/lat, easting/northing. */
    PJ *pj = proj_normalize_for_visualization(ctx->proj, raw);
    proj_destroy(raw);
    if (!pj) wg_err(ctx, WG_ERR_PROJ, "PROJ cannot normalise the transform from %.200s", src);
    return pj;
}

struct xform_state {
    PJ *pj;
    int failed;
};

static int xform_cb(double *x, double *y, void *user) {
    struct xform_state *s = user;
    PJ_COORD c = proj_coord(*x, *y, 0, 0);
    c = proj_trans(s->pj, PJ_FWD, c);
    if (!isfinite(c.xy.x) || !isfinite(c.xy.y) || c.xy.x == HUGE_VAL) {
        s->failed = 1;
        return 0;
    }
    *x = c.xy.x;
    *y = c.xy.y;
    return 1;
}

GEOSGeometry *wg_geom_transform(wg_ctx *ctx, PJ *pj, const GEOSGeometry *g) {
    struct xform_state s = {pj, 0};
    GEOSGeometry *out = GEOSGeom_transformXY_r(ctx->geos, g, xform_cb, &s);
    if (!out || s.failed) {
        if (out) GEOSGeom_destroy_r(ctx->geos, out);
        wg_err(ctx, WG_ERR_PROJ, "coordinates outside the domain of the transformation");
        return NULL;
    }
    return out;
}

static wg_status ensure_metric_pj(wg_ws *ws) {
    if (ws->to_metric) return WG_OK;
    if (!ws->metric_epsg)
        return wg_err(ws->ctx, WG_ERR_INVALID_ARG,
                      "the workspace has no metric CRS yet: import data or init with --crs");
    char dst[32];
    snprintf(dst, sizeof dst, "EPSG:%d", ws->metric_epsg);
    ws->to_metric = wg_proj_transform(ws->ctx, "EPSG:4326", dst);
    ws->from_metric = ws->to_metric ? wg_proj_transform(ws->ctx, dst, "EPSG:4326") : NULL;
    return ws->from_metric ? WG_OK : WG_ERR_PROJ;
}

GEOSGeometry *wg_ws_to_metric(wg_ws *ws, const GEOSGeometry *g) {
    if (ensure_metric_pj(ws)) return NULL;
    return wg_geom_transform(ws->ctx, ws->to_metric, g);
}

GEOSGeometry *wg_ws_from_metric(wg_ws *ws, const GEOSGeometry *g) {
    if (ensure_metric_pj(ws)) return NULL;
    return wg_geom_transform(ws->ctx, ws->from_metric, g);
}

wg_status wg_ws_metric_xy(wg_ws *ws, int inverse, double *xy, size_t n) {
    wg_status rc = ensure_metric_pj(ws);
    if (rc || !n) return rc;
    proj_trans_generic(inverse ? ws->from_metric : ws->to_metric, PJ_FWD, xy, 2 * sizeof *xy, n,
                       xy + 1, 2 * sizeof *xy, n, NULL, 0, 0, NULL, 0, 0);
    for (size_t i = 0; i < 2 * n; i++)
        if (!isfinite(xy[i]) || xy[i] == HUGE_VAL)
            return wg_err(ws->ctx, WG_ERR_PROJ, "point %zu of %zu is outside the domain of the "
                          "workspace's CRS transformation", i / 2 + 1, n);
    return WG_OK;
}

wg_status wg_ws_set_metric(wg_ws *ws, int epsg) {
    char sql[96], val[16];
    snprintf(sql, sizeof sql, "SELECT InsertEpsgSrid(%d)", epsg);
    wg_status rc = exec_checked(ws, sql);
    if (rc) return rc;
    snprintf(val, sizeof val, "%d", epsg);
    rc = wg_ws_meta_set(ws, "metric_epsg", val);
    if (rc) return rc;
    if (ws->metric_epsg != epsg) {
        proj_destroy(ws->to_metric);
        proj_destroy(ws->from_metric);
        ws->to_metric = ws->from_metric = NULL;
    }
    ws->metric_epsg = epsg;
    return WG_OK;
}

void wg_today(char buf[11]) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 11, "%Y-%m-%d", &tm);
}

int wg_date_valid(const char *s) {
    int y, m, d;
    char tail;
    if (!s || strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3) return 0;
    if (s[4] != '-' || s[7] != '-' || y < 1900 || m < 1 || m > 12 || d < 1) return 0;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= mdays[m - 1] + (m == 2 && leap);
}

/* Opens the SQLite handle and attaches SpatiaLite's functions to it. */
static wg_status open_db(wg_ctx *ctx, const char *path, int flags, wg_ws **out) {
    wg_ws *ws = calloc(1, sizeof *ws);
    if (!ws) return wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    ws->ctx = ctx;
    if (sqlite3_open_v2(path, &ws->db, flags, NULL) != SQLITE_OK) {
        wg_err(ctx, WG_ERR_IO, "cannot open workspace %s: %s", path,
               ws->db ? sqlite3_errmsg(ws->db) : "out of memory");
        sqlite3_close(ws->db);
        free(ws);
        return WG_ERR_IO;
    }
    ws->splite = spatialite_alloc_connection();
    spatialite_init_ex(ws->db, ws->splite, 0);
    sqlite3_busy_timeout(ws->db, 10000);
    /* Imports are one transaction each: a page cache big enough to hold
     * them keeps SQLite from spilling dirty pages to the WAL mid-way (64 MiB,
     * allocated only as used). */
    sqlite3_exec(ws->db, "PRAGMA cache_size=-65536", NULL, NULL, NULL);
    *out = ws;
    return WG_OK;
}

wg_status wg_ws_create(wg_ctx *ctx, const char *path, int metric_epsg, wg_ws **out) {
    struct stat sb;
    if (!path || !*path) return wg_err(ctx, WG_ERR_INVALID_ARG, "no workspace path given");
    if (stat(path, &sb) == 0)
        return wg_err(ctx, WG_ERR_INVALID_ARG, "%s already exists; refusing to overwrite it",
                      path);
    if (metric_epsg) {
        char crs[32];
        snprintf(crs, sizeof crs, "EPSG:%d", metric_epsg);
        PJ *pj = proj_create(ctx->proj, crs);
        int ok = pj && proj_get_type(pj) == PJ_TYPE_PROJECTED_CRS;
        proj_destroy(pj);
        if (!ok)
            return wg_err(ctx, WG_ERR_PROJ, "%s is not a projected CRS PROJ knows; "
                          "the metric CRS must be projected (metres)", crs);
    }
    wg_ws *ws = NULL;
    wg_status rc = open_db(ctx, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &ws);
    if (rc) return rc;
    char ver[16];
    snprintf(ver, sizeof ver, "%d", WG_SCHEMA_VERSION);
    if ((rc = wg_ws_exec(ws, "PRAGMA journal_mode=WAL")) || (rc = wg_ws_begin(ws)) ||
        (rc = exec_checked(ws, "SELECT InitSpatialMetadata(0, 'NONE')")) ||
        (rc = exec_checked(ws, "SELECT InsertEpsgSrid(4326)")) ||
        (rc = wg_ws_exec(ws, SCHEMA_SQL)))
        goto fail;
    for (size_t i = 0; i < sizeof SPATIAL_SQL / sizeof SPATIAL_SQL[0]; i++)
        if ((rc = exec_checked(ws, SPATIAL_SQL[i]))) goto fail;
    if ((rc = wg_ws_meta_set(ws, "schema_version", ver)) ||
        (rc = wg_ws_meta_set(ws, "generator", "wangge " WG_VERSION_STRING)) ||
        (metric_epsg && (rc = wg_ws_set_metric(ws, metric_epsg))) ||
        (rc = wg_ws_commit(ws)) ||
        /* the closed loop's columns, rules and view now, not at the first
         * write, so a read-only user (the server, a QGIS layer on the
         * incident_state view) finds them in a new workspace */
        (rc = wg_lifecycle_init(ws))) {
    fail:
        wg_ws_rollback(ws);
        wg_ws_close(ws);
        unlink(path);
        char wal[4096];
        snprintf(wal, sizeof wal, "%s-wal", path);
        unlink(wal);
        snprintf(wal, sizeof wal, "%s-shm", path);
        unlink(wal);
        return rc;
    }
    *out = ws;
    return WG_OK;
}

wg_status wg_ws_open(wg_ctx *ctx, const char *path, int readonly, wg_ws **out) {
    struct stat sb;
    if (!path || stat(path, &sb) != 0)
        return wg_err(ctx, WG_ERR_NOT_FOUND, "workspace %s does not exist (create it with "
                      "`wangge init %s`)", path ? path : "(null)", path ? path : "WS");
    wg_ws *ws = NULL;
    wg_status rc = open_db(ctx, path, readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE, &ws);
    if (rc) return rc;
    ws->readonly = readonly;
    char *ver = NULL, *epsg = NULL;
    if ((rc = wg_ws_meta_get(ws, "schema_version", &ver))) {
        wg_err(ctx, WG_ERR_FORMAT, "%s is not a wangge workspace (%s)", path,
               sqlite3_errmsg(ws->db));
        rc = WG_ERR_FORMAT;
        goto done;
    }
    if (!ver || atoi(ver) != WG_SCHEMA_VERSION) {
        rc = wg_err(ctx, WG_ERR_VERSION, "%s has schema version %s; this wangge reads %d", path,
                    ver ? ver : "(none)", WG_SCHEMA_VERSION);
        goto done;
    }
    if ((rc = wg_ws_meta_get(ws, "metric_epsg", &epsg))) goto done;
    ws->metric_epsg = epsg ? atoi(epsg) : 0;
done:
    free(ver);
    free(epsg);
    if (rc) {
        wg_ws_close(ws);
        return rc;
    }
    *out = ws;
    return WG_OK;
}

/* A read-only connection cannot checkpoint, so SQLite leaves WS-wal and
 * WS-shm beside the workspace when it is the last to close. A read-write
 * connection that reads once and closes lets SQLite tidy up as the last
 * user -- and does nothing if another connection (a server, another
 * command) still uses them, or if the file is not ours to write. */
static void tidy_wal(const char *path) {
    char aux[4200];
    struct stat sb;
    int wal = (size_t)snprintf(aux, sizeof aux, "%s-wal", path) < sizeof aux && stat(aux, &sb) == 0;
    int shm = (size_t)snprintf(aux, sizeof aux, "%s-shm", path) < sizeof aux && stat(aux, &sb) == 0;
    if (!wal && !shm) return;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK)
        sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
    sqlite3_close(db);
}

void wg_ws_close(wg_ws *ws) {
    if (!ws) return;
    proj_destroy(ws->to_metric);
    proj_destroy(ws->from_metric);
    char path[4096] = "";
    const char *fn = ws->readonly ? sqlite3_db_filename(ws->db, "main") : NULL;
    if (fn && *fn) snprintf(path, sizeof path, "%s", fn);
    sqlite3_close_v2(ws->db);
    if (path[0]) tidy_wal(path);
    if (ws->splite) spatialite_cleanup_ex(ws->splite);
    free(ws);
}

int wg_ws_metric_epsg(const wg_ws *ws) { return ws ? ws->metric_epsg : 0; }

wg_status wg_ws_bulk_begin(wg_ws *ws, const char *table, wg_bulk *b) {
    memset(b, 0, sizeof *b);
    snprintf(b->table, sizeof b->table, "%s", table);
    char q[1024], names[8][128];
    snprintf(q, sizeof q,
             "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = '%s' "
             "AND name IN ('ggi_%s_geom', 'tmi_%s_geom', 'tmd_%s_geom', 'gii_%s_geom')",
             table, table, table, table, table);
    sqlite3_stmt *st = NULL;
    wg_status rc = wg_ws_prepare(ws, q, &st);
    while (!rc && b->n < 8 && sqlite3_step(st) == SQLITE_ROW) {
        snprintf(names[b->n], sizeof names[b->n], "%s", (const char *)sqlite3_column_text(st, 0));
        if (!strncmp(names[b->n], "gii_", 4)) b->had_index = 1;
        if (!(b->sql[b->n++] = strdup((const char *)sqlite3_column_text(st, 1))))
            rc = wg_err(ws->ctx, WG_ERR_NOMEM, "out of memory");
    }
    sqlite3_finalize(st);
    snprintf(q, sizeof q, "SELECT coalesce(max(rowid), 0) FROM \"%s\"", table);
    if (!rc && !(rc = wg_ws_prepare(ws, q, &st))) {
        if (sqlite3_step(st) == SQLITE_ROW) b->last_rowid = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    for (int i = 0; i < b->n && !rc; i++) {
        snprintf(q, sizeof q, "DROP TRIGGER \"%.128s\"", names[i]);
        rc = wg_ws_exec(ws, q);
    }
    return rc;
}

wg_status wg_ws_bulk_end(wg_ws *ws, wg_bulk *b) {
    char q[640];
    wg_status rc = WG_OK;
    if (b->had_index) {
        snprintf(q, sizeof q,
                 "INSERT INTO \"idx_%s_geom\"(pkid, xmin, xmax, ymin, ymax) SELECT rowid, "
                 "MbrMinX(geom), MbrMaxX(geom), MbrMinY(geom), MbrMaxY(geom) FROM \"%s\" "
                 "WHERE rowid > %lld AND geom IS NOT NULL",
                 b->table, b->table, (long long)b->last_rowid);
        rc = wg_ws_exec(ws, q);
    }
    for (int i = 0; i < b->n && !rc; i++) rc = wg_ws_exec(ws, b->sql[i]);
    if (!rc) {
        snprintf(q, sizeof q,
                 "UPDATE geometry_columns_time SET last_insert = strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', "
                 "'now'), last_delete = strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', 'now') WHERE "
                 "Lower(f_table_name) = Lower('%s') AND Lower(f_geometry_column) = 'geom'",
                 b->table);
        rc = wg_ws_exec(ws, q);
    }
    return rc;
}

void wg_bulk_free(wg_bulk *b) {
    for (int i = 0; i < b->n; i++) free(b->sql[i]);
    memset(b, 0, sizeof *b);
}
