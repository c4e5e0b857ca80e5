/* incidents.c -- storing and reading incidents reported one at a time
 * (handsets, the hotline) rather than in batches (place.c).
 *
 * An incident is placed with a locator, given the level that must handle
 * it and a deadline, and stored with the first event of its history
 * ("report": status "reported"), all in one transaction. The closed loop
 * (issue 7: accept, assign, handle, verify, close) continues in the same
 * incident_events table and moves `status`, `level` and `deadline`.
 *
 * Durability is the point here: wg_incidents_add() returns only after
 * COMMIT with synchronous=FULL, so the caller may acknowledge. Callers
 * that receive many reports at once (the HTTP service) hand them over in
 * batches: one fsync then covers them all (group commit), which is what
 * makes thousands of durable reports a second possible on a disk that
 * syncs a few hundred times a second.
 *
 * A client may retry a report whose answer it never got: with the same
 * ext_id and reporter, the stored incident is returned instead of a copy. */
#include "deadlines.h"
#include "httpparse.h"
#include "workspace.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the service adds to the schema of workspace.c (kept in step with
 * it: on a new workspace every statement is a no-op). */
static const char *const INIT_SQL =
    "CREATE TABLE IF NOT EXISTS api_keys(\n"
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL,\n"
    "  role TEXT NOT NULL CHECK(role IN ('handset','analyst','admin')),\n"
    "  scope TEXT NOT NULL DEFAULT '', rate_per_s REAL NOT NULL DEFAULT 0,\n"
    "  hash TEXT NOT NULL UNIQUE, prefix TEXT NOT NULL,\n"
    "  created_at TEXT NOT NULL, revoked_at TEXT);\n"
    "CREATE TABLE IF NOT EXISTS incident_events(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  incident_id INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,\n"
    "  at TEXT NOT NULL, event TEXT NOT NULL, from_status TEXT, to_status TEXT NOT NULL,\n"
    "  actor TEXT, note TEXT);\n"
    "CREATE INDEX IF NOT EXISTS incident_events_incident ON incident_events(incident_id, id);\n";

static const char *const NEW_COLUMNS[] = {"reporter", "received_at", "level", "deadline"};

static const char *const INDEX_SQL =
    "CREATE INDEX IF NOT EXISTS incidents_ext ON incidents(ext_id, reporter);\n"
    "CREATE INDEX IF NOT EXISTS incidents_status ON incidents(status, deadline);\n";

/* 1 if everything INIT_SQL and NEW_COLUMNS make is there. */
static int schema_ready(wg_ws *ws) {
    sqlite3_stmt *st = NULL;
    int ok = 0;
    if (sqlite3_prepare_v2(ws->db,
                           "SELECT (SELECT count(*) FROM sqlite_master WHERE name IN "
                           "('api_keys','incident_events','incidents_ext','incidents_status')) "
                           "+ (SELECT count(*) FROM pragma_table_info('incidents') WHERE name IN "
                           "('reporter','received_at','level','deadline'))",
                           -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        ok = sqlite3_column_int(st, 0) == 8;
    sqlite3_finalize(st);
    return ok;
}

wg_status wg_incidents_init(wg_ws *ws) {
    if (schema_ready(ws)) return WG_OK;
    if (ws->readonly)
        return wg_err(ws->ctx, WG_ERR_INVALID_ARG,
                      "the workspace lacks the service's tables; open it read-write once");
    wg_status rc = wg_ws_begin(ws);
    if (rc) return rc;
    if ((rc = wg_ws_exec(ws, INIT_SQL))) goto done;
    for (size_t i = 0; i < sizeof NEW_COLUMNS / sizeof NEW_COLUMNS[0]; i++) {
        /* another process may have been quicker */
        if (wg_ws_has_column(ws, "incidents", NEW_COLUMNS[i])) continue;
        char sql[96];
        snprintf(sql, sizeof sql, "ALTER TABLE incidents ADD COLUMN %s TEXT", NEW_COLUMNS[i]);
        if ((rc = wg_ws_exec(ws, sql))) goto done;
    }
    rc = wg_ws_exec(ws, INDEX_SQL);
done:
    if (rc) wg_ws_rollback(ws);
    else rc = wg_ws_commit(ws);
    return rc;
}

/* ---- adding --------------------------------------------------------------- */

static wg_status check_text(wg_ctx *ctx, size_t i, const char *what, const char *s, size_t max,
                            int multiline) {
    if (s && !wg_text_ok(s, strlen(s), max, multiline))
        return wg_err(ctx, WG_ERR_INVALID_ARG,
                      "incident %zu: %s must be at most %zu bytes of UTF-8 text without control "
                      "characters", i, what, max);
    return WG_OK;
}

static wg_status check_new(wg_ctx *ctx, size_t i, const wg_incident_new *in, int64_t now,
                           int64_t *reported) {
    wg_status rc;
    if (!(in->lon >= -180 && in->lon <= 180 && in->lat >= -90 && in->lat <= 90))
        return wg_err(ctx, WG_ERR_INVALID_ARG, "incident %zu: (%g, %g) is not a WGS84 lon/lat", i,
                      in->lon, in->lat);
    if ((rc = check_text(ctx, i, "src_crs", in->src_crs, WG_INCIDENT_TEXT_MAX, 0)) ||
        (rc = check_text(ctx, i, "category", in->category, WG_INCIDENT_TEXT_MAX, 0)) ||
        (rc = check_text(ctx, i, "reporter", in->reporter, WG_INCIDENT_TEXT_MAX, 0)) ||
        (rc = check_text(ctx, i, "ext_id", in->ext_id, WG_INCIDENT_TEXT_MAX, 0)) ||
        (rc = check_text(ctx, i, "actor", in->actor, WG_INCIDENT_TEXT_MAX * 2, 0)) ||
        (rc = check_text(ctx, i, "description", in->description, WG_INCIDENT_DESC_MAX, 1)))
        return rc;
    *reported = now;
    if (in->reported_at) {
        if (!wg_time_parse(in->reported_at, strlen(in->reported_at), reported))
            return wg_err(ctx, WG_ERR_INVALID_ARG,
                          "incident %zu: reported_at '%.40s' is not an RFC 3339 time with an "
                          "offset", i, in->reported_at);
        if (*reported > now + 3600)
            return wg_err(ctx, WG_ERR_INVALID_ARG,
                          "incident %zu: reported_at '%.40s' is in the future", i,
                          in->reported_at);
    }
    return WG_OK;
}

static void bind_opt(sqlite3_stmt *st, int k, const char *s) {
    if (s && *s) sqlite3_bind_text(st, k, s, -1, SQLITE_STATIC);
    else sqlite3_bind_null(st, k);
}

typedef struct add_stmts {
    sqlite3_stmt *dup, *ins, *ev;
    const wg_rules *rules;
} add_stmts;

static wg_status add_one(wg_ws *ws, add_stmts *s, const wg_locator *loc, double tol,
                         const wg_incident_new *in, int64_t reported, const char *received,
                         wg_incident_receipt *out) {
    memset(out, 0, sizeof *out);
    wg_locator_place(loc, in->lon, in->lat, tol, &out->placement);
    const wg_placement *p = &out->placement;
    int at_grid = p->status != WG_PLACE_OUTSIDE;
    snprintf(out->level, sizeof out->level, "%s", at_grid ? "grid" : "county");
    wg_time_format(reported, out->reported_at);
    snprintf(out->received_at, sizeof out->received_at, "%s", received);
    /* The deadline rules (deadlines.c) give the level's limit from the
     * report, and the time to dispatch (assign) it. */
    int64_t dl, dispatch = -1;
    wg_clock clock;
    wg_status rc = wg_rules_deadline(ws->ctx, s->rules, out->level, in->category, reported, &dl,
                                     &clock);
    if (!rc && wg_rules_has(s->rules, "dispatch"))
        rc = wg_rules_deadline(ws->ctx, s->rules, "dispatch", in->category, reported, &dispatch,
                               NULL);
    if (rc) return rc;
    wg_time_format(dl, out->deadline);
    char dispatch_s[24] = "";
    if (dispatch >= 0) wg_time_format(dispatch, dispatch_s);
    if (in->ext_id && *in->ext_id) {
        sqlite3_reset(s->dup);
        sqlite3_bind_text(s->dup, 1, in->ext_id, -1, SQLITE_STATIC);
        bind_opt(s->dup, 2, in->reporter);
        int r = sqlite3_step(s->dup);
        if (r == SQLITE_ROW) {
            out->id = sqlite3_column_int64(s->dup, 0);
            out->duplicate = 1;
            sqlite3_reset(s->dup);
            return WG_OK;
        }
        sqlite3_reset(s->dup);
        if (r != SQLITE_DONE) return wg_ws_sqlerr(ws, "looking for a retried report");
    }
    char excl[WG_PLACE_MAX_EXCL * (WG_INCIDENT_TEXT_MAX + 1) + 1] = "";
    for (int k = 0; k < p->n_excl; k++) {
        size_t n = strlen(excl);
        snprintf(excl + n, sizeof excl - n, "%s%s", k ? ";" : "", p->excl[k].code);
    }
    sqlite3_stmt *st = s->ins;
    sqlite3_reset(st);
    bind_opt(st, 1, in->ext_id);
    sqlite3_bind_text(st, 2, out->reported_at, -1, SQLITE_STATIC);
    bind_opt(st, 3, in->category);
    bind_opt(st, 4, in->description);
    bind_opt(st, 5, in->src_crs ? in->src_crs : "wgs84");
    bind_opt(st, 6, p->grid.code);
    bind_opt(st, 7, p->micro.code);
    bind_opt(st, 8, excl);
    bind_opt(st, 9, p->village.code);
    bind_opt(st, 10, p->town.code);
    bind_opt(st, 11, p->county.code);
    sqlite3_bind_text(st, 12, WG_INCIDENT_REPORTED, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 13, wg_place_status_name(p->status), -1, SQLITE_STATIC);
    if (p->status == WG_PLACE_OUTSIDE) sqlite3_bind_null(st, 14);
    else sqlite3_bind_double(st, 14, p->dist_m);
    bind_opt(st, 15, in->reporter);
    sqlite3_bind_text(st, 16, out->received_at, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 17, out->level, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 18, out->deadline, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 19, out->reported_at, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 20, wg_clock_name(clock), -1, SQLITE_STATIC);
    bind_opt(st, 21, dispatch_s);
    sqlite3_bind_double(st, 22, in->lon);
    sqlite3_bind_double(st, 23, in->lat);
    if (sqlite3_step(st) != SQLITE_DONE) return wg_ws_sqlerr(ws, "storing an incident");
    out->id = sqlite3_last_insert_rowid(ws->db);
    sqlite3_reset(s->ev);
    sqlite3_bind_int64(s->ev, 1, out->id);
    sqlite3_bind_text(s->ev, 2, out->received_at, -1, SQLITE_STATIC);
    bind_opt(s->ev, 3, in->actor ? in->actor : in->reporter);
    if (sqlite3_step(s->ev) != SQLITE_DONE) return wg_ws_sqlerr(ws, "storing an incident's history");
    return WG_OK;
}

wg_status wg_incidents_add(wg_ws *ws, const wg_locator *loc, double tolerance_m,
                           const wg_incident_new *in, size_t n, wg_incident_receipt *out) {
    wg_ctx *ctx = ws->ctx;
    if (ws->readonly) return wg_err(ctx, WG_ERR_INVALID_ARG, "the workspace is open read-only");
    if (!loc) return wg_err(ctx, WG_ERR_INVALID_ARG, "no locator");
    if (n == 0) return WG_OK;
    if (tolerance_m < 0) tolerance_m = 30.0;
    int64_t now = wg_time_now();
    int64_t *reported = malloc(n * sizeof *reported);
    if (!reported) return wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    wg_status rc = WG_OK;
    for (size_t i = 0; i < n && !rc; i++) rc = check_new(ctx, i, &in[i], now, &reported[i]);
    if (rc) {
        free(reported);
        return rc;
    }
    char received[24];
    wg_time_format(now, received);
    add_stmts s = {0};
    wg_rules *rules = NULL;
    if ((rc = wg_lifecycle_init(ws)) || (rc = wg_rules_load(ws, &rules)) ||
        (rc = wg_ws_exec(ws, "PRAGMA synchronous=FULL")) || (rc = wg_ws_begin(ws)))
        goto done;
    s.rules = rules;
    if ((rc = wg_ws_prepare(ws, "SELECT id FROM incidents WHERE ext_id = ?1 AND reporter IS ?2 "
                                "AND received_at IS NOT NULL ORDER BY id LIMIT 1", &s.dup)) ||
        (rc = wg_ws_prepare(ws, "INSERT INTO incidents(ext_id, reported_at, category, "
                                "description, src_crs, grid_code, micro_code, excl_codes, "
                                "village_code, town_code, county_code, status, place_status, "
                                "dist_m, reporter, received_at, level, deadline, level_since, "
                                "deadline_clock, dispatch_deadline, geom) "
                                "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?, "
                                "MakePoint(?, ?, 4326))",
                            &s.ins)) ||
        (rc = wg_ws_prepare(ws, "INSERT INTO incident_events(incident_id, at, event, "
                                "from_status, to_status, actor) VALUES(?, ?, 'report', NULL, '"
                                WG_INCIDENT_REPORTED "', ?)", &s.ev)))
        goto done;
    for (size_t i = 0; i < n && !rc; i++)
        if ((rc = add_one(ws, &s, loc, tolerance_m, &in[i], reported[i], received, &out[i])))
            wg_err_append(ctx, " (incident %zu of the batch)", i);
done:
    sqlite3_finalize(s.dup);
    sqlite3_finalize(s.ins);
    sqlite3_finalize(s.ev);
    if (!rc) rc = wg_ws_commit(ws);
    if (rc) wg_ws_rollback(ws);
    wg_rules_free(rules);
    free(reported);
    return rc;
}

wg_status wg_incident_add(wg_ws *ws, const wg_locator *loc, double tolerance_m,
                          const wg_incident_new *in, wg_incident_receipt *out) {
    return wg_incidents_add(ws, loc, tolerance_m, in, 1, out);
}

/* ---- reading -------------------------------------------------------------- */

#define INC_COLS                                                                             \
    "id, ext_id, reported_at, received_at, category, description, reporter, src_crs, "       \
    "coalesce(status, '" WG_INCIDENT_REPORTED "'), level, deadline, place_status, "          \
    "county_code, town_code, village_code, grid_code, micro_code, excl_codes, dist_m, "      \
    "X(geom), Y(geom)"
#define INC_NTEXT 17 /* text columns 1..17 */

/* Fills `inc` with strings borrowed from the statement's current row. */
static void row_borrow(sqlite3_stmt *st, wg_incident *inc) {
    const char **f[INC_NTEXT] = {&inc->ext_id,  &inc->reported_at, &inc->received_at,
                                 &inc->category, &inc->description, &inc->reporter,
                                 &inc->src_crs,  &inc->status,      &inc->level,
                                 &inc->deadline, &inc->place_status, &inc->county,
                                 &inc->town,     &inc->village,     &inc->grid,
                                 &inc->micro,    &inc->exclusive};
    inc->id = sqlite3_column_int64(st, 0);
    for (int i = 0; i < INC_NTEXT; i++) *f[i] = (const char *)sqlite3_column_text(st, i + 1);
    inc->dist_m = sqlite3_column_type(st, 18) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 18);
    inc->lon = sqlite3_column_type(st, 19) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 19);
    inc->lat = sqlite3_column_type(st, 20) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 20);
}

/* A copy of the row in one allocation: the struct, then its strings. */
static wg_incident *row_copy(sqlite3_stmt *st) {
    wg_incident tmp;
    row_borrow(st, &tmp);
    const char **f[INC_NTEXT] = {&tmp.ext_id,  &tmp.reported_at, &tmp.received_at,
                                 &tmp.category, &tmp.description, &tmp.reporter,
                                 &tmp.src_crs,  &tmp.status,      &tmp.level,
                                 &tmp.deadline, &tmp.place_status, &tmp.county,
                                 &tmp.town,     &tmp.village,     &tmp.grid,
                                 &tmp.micro,    &tmp.exclusive};
    size_t total = sizeof tmp;
    for (int i = 0; i < INC_NTEXT; i++)
        if (*f[i]) total += strlen(*f[i]) + 1;
    wg_incident *inc = malloc(total);
    if (!inc) return NULL;
    char *p = (char *)(inc + 1);
    for (int i = 0; i < INC_NTEXT; i++) {
        if (!*f[i]) continue;
        size_t n = strlen(*f[i]) + 1;
        memcpy(p, *f[i], n);
        *f[i] = p;
        p += n;
    }
    *inc = tmp;
    return inc;
}

wg_status wg_incident_get(wg_ws *ws, int64_t id, wg_incident **out) {
    sqlite3_stmt *st = NULL;
    wg_status rc = wg_ws_prepare(ws, "SELECT " INC_COLS " FROM incidents WHERE id = ?", &st);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, id);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        *out = row_copy(st);
        if (!*out) rc = wg_err(ws->ctx, WG_ERR_NOMEM, "out of memory");
    } else if (r == SQLITE_DONE) {
        rc = wg_err(ws->ctx, WG_ERR_NOT_FOUND, "no incident %lld", (long long)id);
    } else {
        rc = wg_ws_sqlerr(ws, "reading an incident");
    }
    sqlite3_finalize(st);
    return rc;
}

void wg_incident_free(wg_incident *inc) { free(inc); }

const char *wg_incident_scope_code(const wg_incident *inc) {
    return inc->grid ? inc->grid : inc->village ? inc->village : inc->town ? inc->town : inc->county;
}

#define SCOPE_EXPR "coalesce(grid_code, village_code, town_code, county_code)"

wg_status wg_incidents_query(wg_ws *ws, const wg_incident_query *q,
                             int (*fn)(void *user, const wg_incident *inc), void *user) {
    wg_ctx *ctx = ws->ctx;
    size_t limit = q->limit ? q->limit : 100;
    if (limit > 10000) limit = 10000;
    int64_t t;
    if (q->since && !wg_time_parse(q->since, strlen(q->since), &t))
        return wg_err(ctx, WG_ERR_INVALID_ARG, "since: not an RFC 3339 time");
    if (q->until && !wg_time_parse(q->until, strlen(q->until), &t))
        return wg_err(ctx, WG_ERR_INVALID_ARG, "until: not an RFC 3339 time");
    if (q->has_bbox && !(q->bbox[0] <= q->bbox[2] && q->bbox[1] <= q->bbox[3]))
        return wg_err(ctx, WG_ERR_INVALID_ARG, "bbox: min must not exceed max");
    char sql[1400];
    int w = snprintf(sql, sizeof sql, "SELECT " INC_COLS " FROM incidents WHERE id > ?1");
    /* The R*Tree holds float32 boxes rounded outwards: a coarse filter, then
     * the exact one on the point. */
    if (q->has_bbox)
        w += snprintf(sql + w, sizeof sql - (size_t)w,
                      " AND id IN (SELECT pkid FROM idx_incidents_geom WHERE xmin <= ?4 AND "
                      "xmax >= ?2 AND ymin <= ?5 AND ymax >= ?3) AND X(geom) BETWEEN ?2 AND ?4 "
                      "AND Y(geom) BETWEEN ?3 AND ?5");
    if (q->since)
        w += snprintf(sql + w, sizeof sql - (size_t)w,
                      " AND julianday(reported_at) >= julianday(?6)");
    if (q->until)
        w += snprintf(sql + w, sizeof sql - (size_t)w,
                      " AND julianday(reported_at) < julianday(?7)");
    if (q->status)
        w += snprintf(sql + w, sizeof sql - (size_t)w,
                      " AND coalesce(status, '" WG_INCIDENT_REPORTED "') = ?8");
    if (q->code && *q->code)
        w += snprintf(sql + w, sizeof sql - (size_t)w,
                      " AND substr(" SCOPE_EXPR ", 1, length(?9)) = ?9");
    if (q->scope && *q->scope)
        w += snprintf(sql + w, sizeof sql - (size_t)w,
                      " AND substr(" SCOPE_EXPR ", 1, length(?10)) = ?10");
    snprintf(sql + w, sizeof sql - (size_t)w, " ORDER BY id LIMIT ?11");
    sqlite3_stmt *st = NULL;
    wg_status rc = wg_ws_prepare(ws, sql, &st);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, q->after_id);
    if (q->has_bbox)
        for (int i = 0; i < 4; i++) sqlite3_bind_double(st, 2 + i, q->bbox[i]);
    if (q->since) sqlite3_bind_text(st, 6, q->since, -1, SQLITE_STATIC);
    if (q->until) sqlite3_bind_text(st, 7, q->until, -1, SQLITE_STATIC);
    if (q->status) sqlite3_bind_text(st, 8, q->status, -1, SQLITE_STATIC);
    if (q->code && *q->code) sqlite3_bind_text(st, 9, q->code, -1, SQLITE_STATIC);
    if (q->scope && *q->scope) sqlite3_bind_text(st, 10, q->scope, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 11, (int64_t)limit);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        wg_incident inc;
        row_borrow(st, &inc);
        if (fn(user, &inc)) break;
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE) rc = wg_ws_sqlerr(ws, "querying incidents");
    sqlite3_finalize(st);
    return rc;
}

wg_status wg_incident_events(wg_ws *ws, int64_t id,
                             int (*fn)(void *user, const wg_incident_event *ev), void *user) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(ws->db,
                           "SELECT id, at, event, from_status, to_status, actor, note FROM "
                           "incident_events WHERE incident_id = ? ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return WG_OK; /* a workspace without histories yet */
    }
    sqlite3_bind_int64(st, 1, id);
    wg_status rc = WG_OK;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        wg_incident_event ev = {sqlite3_column_int64(st, 0),
                                (const char *)sqlite3_column_text(st, 1),
                                (const char *)sqlite3_column_text(st, 2),
                                (const char *)sqlite3_column_text(st, 3),
                                (const char *)sqlite3_column_text(st, 4),
                                (const char *)sqlite3_column_text(st, 5),
                                (const char *)sqlite3_column_text(st, 6)};
        if (fn(user, &ev)) break;
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE) rc = wg_ws_sqlerr(ws, "reading an incident's history");
    sqlite3_finalize(st);
    return rc;
}
