/* place_store.c -- storing placed rows as incidents (see placestore.h). */
#include "placestore.h"

#include "deadlines.h"
#include "httpparse.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const STATUSES[] = {"reported", "accepted", "assigned", "handled",
                                       "verified", "closed"};

void wg_store_buf_free(wg_store_buf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* Appends `s` (NUL included) and records its offset; NULL stays NULL. */
static int put(wg_store_buf *b, wg_store_rec *rec, int slot, const char *s) {
    if (!s) {
        rec->off[slot] = WG_SV_NULL;
        return 0;
    }
    size_t n = strlen(s) + 1;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1 << 16;
        while (cap < b->n + n) cap *= 2;
        if (cap >= WG_SV_NULL) return -1; /* offsets are 32-bit: the caller flushes sooner */
        char *np = realloc(b->p, cap);
        if (!np) return -1;
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    rec->off[slot] = (uint32_t)b->n;
    b->n += n;
    return 0;
}

/* An optional text: NULL or "" is stored as NULL. */
static const char *opt(const char *s) { return s && *s ? s : NULL; }

wg_status wg_store_rec_make(wg_ctx *ctx, const wg_rules *rules, const wg_store_in *in,
                            const wg_placement *p, double lon, double lat, int64_t line,
                            wg_store_buf *b, wg_store_rec *rec) {
    const char *status_s = "reported";
    const char *sv = opt(in->status);
    if (sv) {
        status_s = NULL;
        for (int k = 0; k < 6; k++)
            if (!strcmp(sv, STATUSES[k])) status_s = STATUSES[k];
        if (!status_s)
            return wg_err(ctx, WG_ERR_FORMAT, "row %lld: status '%.40s' is not one of "
                          "reported, accepted, assigned, handled, verified, closed",
                          (long long)line, sv);
    }
    /* The level that handles it: its grid's, or the county's when outside. */
    const char *level = p->grid.code ? "grid" : "county";
    const char *rep = opt(in->time), *cat = opt(in->cat);
    char dl_s[24] = "", since[24] = "", disp[24] = "", closed[24] = "";
    const char *clock_s = NULL;
    int64_t t;
    if (rep && wg_time_parse(rep, strlen(rep), &t)) {
        int64_t dl, dd = -1;
        wg_clock clock;
        wg_status rc = wg_rules_deadline(ctx, rules, level, cat, t, &dl, &clock);
        if (!rc && wg_rules_has(rules, "dispatch"))
            rc = wg_rules_deadline(ctx, rules, "dispatch", cat, t, &dd, NULL);
        if (rc) {
            wg_err_append(ctx, " (row %lld)", (long long)line);
            return rc;
        }
        wg_time_format(dl, dl_s);
        wg_time_format(t, since);
        if (dd >= 0) wg_time_format(dd, disp);
        clock_s = wg_clock_name(clock);
    }
    const char *cl = opt(in->closed);
    if (cl && !strcmp(status_s, "closed")) {
        if (!wg_time_parse(cl, strlen(cl), &t))
            return wg_err(ctx, WG_ERR_FORMAT, "row %lld: closing time '%.40s' is not an RFC 3339 "
                          "time with an offset", (long long)line, cl);
        wg_time_format(t, closed);
    }
    rec->sat = 0;
    const char *sat = opt(in->sat);
    if (sat) {
        char *end;
        long v = strtol(sat, &end, 10);
        if (*end || v < 1 || v > 5)
            return wg_err(ctx, WG_ERR_FORMAT, "row %lld: satisfaction '%.20s' is not 1 to 5",
                          (long long)line, sat);
        rec->sat = (int)v;
    }
    char excl[WG_PLACE_MAX_EXCL * 40] = "";
    for (int k = 0; k < p->n_excl; k++) {
        size_t n = strlen(excl);
        snprintf(excl + n, sizeof excl - n, "%s%s", k ? ";" : "", p->excl[k].code);
    }
    char crs[16];
    if (in->crs) snprintf(crs, sizeof crs, "%s", *in->crs ? in->crs : "wgs84");
    /* The history starts when it was closed, else reported, else at 0. */
    const char *at = closed[0] ? closed : since[0] ? since : "1970-01-01T00:00:00Z";
    if (put(b, rec, WG_SV_ID, in->id) || put(b, rec, WG_SV_TIME, in->time) ||
        put(b, rec, WG_SV_CAT, in->cat) || put(b, rec, WG_SV_DESC, in->desc) ||
        put(b, rec, WG_SV_CRS, opt(in->crs ? crs : in->crs_default)) ||
        put(b, rec, WG_SV_GRID, opt(p->grid.code)) || put(b, rec, WG_SV_MICRO, opt(p->micro.code)) ||
        put(b, rec, WG_SV_EXCL, opt(excl)) || put(b, rec, WG_SV_VILLAGE, opt(p->village.code)) ||
        put(b, rec, WG_SV_TOWN, opt(p->town.code)) || put(b, rec, WG_SV_COUNTY, opt(p->county.code)) ||
        put(b, rec, WG_SV_PSTATUS, opt(wg_place_status_name(p->status))) ||
        put(b, rec, WG_SV_STATUS, status_s) || put(b, rec, WG_SV_LEVEL, level) ||
        put(b, rec, WG_SV_DEADLINE, opt(dl_s)) || put(b, rec, WG_SV_SINCE, opt(since)) ||
        put(b, rec, WG_SV_CLOCK, clock_s) || put(b, rec, WG_SV_DISPATCH, opt(disp)) ||
        put(b, rec, WG_SV_CLOSED, opt(closed)) || put(b, rec, WG_SV_AT, at))
        return wg_err(ctx, WG_ERR_NOMEM, "out of memory storing row %lld", (long long)line);
    rec->lon = lon;
    rec->lat = lat;
    rec->dist_m = p->dist_m;
    return WG_OK;
}

/* ---- the spatial index built beside the inserts ------------------------------ */

struct wg_side_rtree {
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    sqlite3 *db; /* the thread's private in-memory database, table r */
    int64_t *id;
    double *xy;
    size_t n, cap, taken;
    int done, failed;
};

static void *side_main(void *arg) {
    wg_side_rtree *t = arg;
    sqlite3_stmt *ins = NULL;
    int ok = sqlite3_prepare_v2(t->db, "INSERT INTO r VALUES(?, ?, ?, ?, ?)", -1, &ins, NULL) ==
             SQLITE_OK;
    size_t cap = 0;
    int64_t *id = NULL;
    double *xy = NULL;
    for (;;) {
        pthread_mutex_lock(&t->mu);
        while (t->taken == t->n && !t->done) pthread_cond_wait(&t->cv, &t->mu);
        size_t from = t->taken, n = t->n - from;
        int last = t->done && n == 0;
        if (ok && n > cap) { /* take a copy: the producer may grow its arrays */
            int64_t *ni = realloc(id, n * sizeof *ni);
            if (ni) id = ni;
            double *nx = ni ? realloc(xy, 2 * n * sizeof *nx) : NULL;
            if (nx) xy = nx, cap = n;
            else ok = 0;
        }
        if (ok && n) {
            memcpy(id, t->id + from, n * sizeof *id);
            memcpy(xy, t->xy + 2 * from, 2 * n * sizeof *xy);
        }
        t->taken += n;
        pthread_mutex_unlock(&t->mu);
        if (last) break;
        for (size_t i = 0; ok && i < n; i++) {
            sqlite3_bind_int64(ins, 1, id[i]);
            sqlite3_bind_double(ins, 2, xy[2 * i]);
            sqlite3_bind_double(ins, 3, xy[2 * i]);
            sqlite3_bind_double(ins, 4, xy[2 * i + 1]);
            sqlite3_bind_double(ins, 5, xy[2 * i + 1]);
            ok = sqlite3_step(ins) == SQLITE_DONE;
            sqlite3_reset(ins);
        }
    }
    sqlite3_finalize(ins);
    free(id);
    free(xy);
    if (ok) ok = sqlite3_exec(t->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
    t->failed = !ok;
    return NULL;
}

static int one_int(sqlite3 *db, const char *sql, int64_t *v) {
    sqlite3_stmt *st = NULL;
    int ok = sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
             sqlite3_step(st) == SQLITE_ROW;
    if (ok) *v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return ok;
}

static void side_free(wg_side_rtree *t) {
    if (!t) return;
    sqlite3_close(t->db);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    free(t->id);
    free(t->xy);
    free(t);
}

/* Starts the side builder if the workspace's index is empty and a tree of
 * the same node size can be built in memory; else leaves s->side NULL (the
 * index is then filled after the batch, row by row). */
static void side_start(wg_store *s) {
    int64_t rows = -1, node = -1, mine = -2;
    if (!s->bulk.had_index ||
        !one_int(s->ws->db, "SELECT count(*) FROM idx_incidents_geom_rowid", &rows) || rows ||
        !one_int(s->ws->db, "SELECT length(data) FROM idx_incidents_geom_node WHERE nodeno = 1",
                 &node))
        return;
    wg_side_rtree *t = calloc(1, sizeof *t);
    if (!t) return;
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    if (sqlite3_open_v2(":memory:", &t->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                        SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
        sqlite3_exec(t->db, "CREATE VIRTUAL TABLE r USING rtree(pkid, xmin, xmax, ymin, ymax); "
                            "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
        !one_int(t->db, "SELECT length(data) FROM r_node WHERE nodeno = 1", &mine) ||
        mine != node || pthread_create(&t->tid, NULL, side_main, t) != 0) {
        side_free(t);
        return;
    }
    s->side = t;
}

/* Hands one stored row to the builder (a failure only disables it). */
static void side_push(wg_side_rtree *t, int64_t id, double x, double y) {
    pthread_mutex_lock(&t->mu);
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1 << 14;
        int64_t *ni = realloc(t->id, cap * sizeof *ni);
        if (ni) t->id = ni;
        double *nx = ni ? realloc(t->xy, 2 * cap * sizeof *nx) : NULL;
        if (nx) t->xy = nx, t->cap = cap;
    }
    if (t->n < t->cap) {
        t->id[t->n] = id;
        t->xy[2 * t->n] = x, t->xy[2 * t->n + 1] = y;
        t->n++;
        if (t->n - t->taken >= 4096) pthread_cond_signal(&t->cv);
    } else {
        t->failed = 1; /* checked after the join */
    }
    pthread_mutex_unlock(&t->mu);
}

/* Waits for the builder; returns 1 if its tree is complete. */
static int side_join(wg_side_rtree *t) {
    pthread_mutex_lock(&t->mu);
    t->done = 1;
    int failed = t->failed;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->tid, NULL);
    return !failed && !t->failed;
}

/* Copies the side tree's three tables into the workspace's index tables. */
static wg_status side_copy(wg_store *s) {
    static const char *const tabs[][2] = {
        {"SELECT nodeno, data FROM r_node", "idx_incidents_geom_node"},
        {"SELECT rowid, nodeno FROM r_rowid", "idx_incidents_geom_rowid"},
        {"SELECT nodeno, parentnode FROM r_parent", "idx_incidents_geom_parent"}};
    wg_ws *ws = s->ws;
    wg_status rc = WG_OK;
    for (int k = 0; k < 3 && !rc; k++) {
        char sql[128];
        snprintf(sql, sizeof sql, "DELETE FROM \"%s\"", tabs[k][1]);
        if ((rc = wg_ws_exec(ws, sql))) break;
        snprintf(sql, sizeof sql, "INSERT INTO \"%s\" VALUES(?, ?)", tabs[k][1]);
        sqlite3_stmt *rd = NULL, *wr = NULL;
        if (sqlite3_prepare_v2(s->side->db, tabs[k][0], -1, &rd, NULL) != SQLITE_OK) {
            rc = wg_err(ws->ctx, WG_ERR_SQLITE, "reading the new spatial index: %s",
                        sqlite3_errmsg(s->side->db));
        } else if (!(rc = wg_ws_prepare(ws, sql, &wr))) {
            int r;
            while (!rc && (r = sqlite3_step(rd)) == SQLITE_ROW) {
                sqlite3_bind_int64(wr, 1, sqlite3_column_int64(rd, 0));
                sqlite3_bind_value(wr, 2, sqlite3_column_value(rd, 1));
                if (sqlite3_step(wr) != SQLITE_DONE) rc = wg_ws_sqlerr(ws, "copying the spatial index");
                sqlite3_reset(wr);
            }
            if (!rc && r != SQLITE_DONE)
                rc = wg_err(ws->ctx, WG_ERR_SQLITE, "reading the new spatial index: %s",
                            sqlite3_errmsg(s->side->db));
        }
        sqlite3_finalize(rd);
        sqlite3_finalize(wr);
    }
    return rc;
}

wg_status wg_store_open(wg_ws *ws, int history, wg_store *s) {
    memset(s, 0, sizeof *s);
    s->ws = ws;
    wg_status rc;
    if ((rc = wg_lifecycle_init(ws)) || (rc = wg_rules_load(ws, &s->rules))) return rc;
    if ((rc = wg_ws_begin(ws))) return rc;
    s->open = 1;
    if ((rc = wg_ws_bulk_begin(ws, "incidents", &s->bulk))) return rc;
    if (!getenv("WG_STORE_NO_SIDE_INDEX")) side_start(s);
    rc = wg_ws_prepare(ws, "INSERT INTO incidents(ext_id, reported_at, category, description, "
                           "src_crs, grid_code, micro_code, excl_codes, village_code, town_code, "
                           "county_code, place_status, dist_m, status, level, deadline, "
                           "level_since, deadline_clock, dispatch_deadline, closed_at, "
                           "satisfaction, geom) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
                           "?, MakePoint(?, ?, 4326))", &s->ins);
    if (!rc && history)
        rc = wg_ws_prepare(ws, "INSERT INTO incident_events(incident_id, at, event, from_status, "
                               "to_status, actor, note, level) VALUES(?, ?, 'import', NULL, ?, "
                               "'place --store', 'loaded from a file', ?)", &s->ev);
    return rc;
}

static void bind(sqlite3_stmt *st, int k, const wg_store_rec *rec, const wg_store_buf *b,
                 int slot) {
    if (rec->off[slot] == WG_SV_NULL) sqlite3_bind_null(st, k);
    else sqlite3_bind_text(st, k, b->p + rec->off[slot], -1, SQLITE_STATIC);
}

wg_status wg_store_put(wg_store *s, const wg_store_rec *rec, const wg_store_buf *b) {
    /* Columns 1..12 are the slots in order; 14..20 the closed loop's. */
    static const int text_slots[] = {WG_SV_ID,      WG_SV_TIME,     WG_SV_CAT,    WG_SV_DESC,
                                     WG_SV_CRS,     WG_SV_GRID,     WG_SV_MICRO,  WG_SV_EXCL,
                                     WG_SV_VILLAGE, WG_SV_TOWN,     WG_SV_COUNTY, WG_SV_PSTATUS,
                                     -1,            WG_SV_STATUS,   WG_SV_LEVEL,  WG_SV_DEADLINE,
                                     WG_SV_SINCE,   WG_SV_CLOCK,    WG_SV_DISPATCH,
                                     WG_SV_CLOSED};
    sqlite3_stmt *st = s->ins;
    for (int k = 0; k < (int)(sizeof text_slots / sizeof text_slots[0]); k++)
        if (text_slots[k] >= 0) bind(st, k + 1, rec, b, text_slots[k]);
    sqlite3_bind_double(st, 13, rec->dist_m);
    if (rec->sat) sqlite3_bind_int(st, 21, rec->sat);
    else sqlite3_bind_null(st, 21);
    sqlite3_bind_double(st, 22, rec->lon);
    sqlite3_bind_double(st, 23, rec->lat);
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r != SQLITE_DONE) return wg_ws_sqlerr(s->ws, "storing an incident");
    if (s->side) side_push(s->side, sqlite3_last_insert_rowid(s->ws->db), rec->lon, rec->lat);
    if (!s->ev) return WG_OK;
    /* A history import: one event saying where the row's history starts. */
    sqlite3_bind_int64(s->ev, 1, sqlite3_last_insert_rowid(s->ws->db));
    bind(s->ev, 2, rec, b, WG_SV_AT);
    bind(s->ev, 3, rec, b, WG_SV_STATUS);
    bind(s->ev, 4, rec, b, WG_SV_LEVEL);
    r = sqlite3_step(s->ev);
    sqlite3_reset(s->ev);
    return r == SQLITE_DONE ? WG_OK : wg_ws_sqlerr(s->ws, "storing an incident's history");
}

wg_status wg_store_index(wg_store *s) {
    if (s->indexed || !s->open) return WG_OK;
    s->indexed = 1;
    if (s->side) {
        wg_side_rtree *t = s->side;
        s->side = NULL;
        wg_status rc = WG_OK;
        /* A builder that failed leaves the index to wg_ws_bulk_end(). */
        if (side_join(t)) {
            s->side = t;
            rc = side_copy(s);
            s->side = NULL;
            s->bulk.had_index = 0; /* filled: bulk_end only restores the triggers */
        }
        side_free(t);
        if (rc) return rc;
    }
    return wg_ws_bulk_end(s->ws, &s->bulk);
}

wg_status wg_store_finish(wg_store *s, int commit) {
    wg_status rc = WG_OK;
    sqlite3_finalize(s->ins);
    sqlite3_finalize(s->ev);
    s->ins = s->ev = NULL;
    if (s->open) {
        if (commit) rc = wg_store_index(s);
        if (commit && !rc) rc = wg_ws_commit(s->ws);
        if (!commit || rc) wg_ws_rollback(s->ws);
    }
    s->open = 0;
    if (s->side) { /* not indexed: drop what is queued, stop the builder */
        pthread_mutex_lock(&s->side->mu);
        s->side->taken = s->side->n;
        pthread_mutex_unlock(&s->side->mu);
        side_join(s->side);
        side_free(s->side);
        s->side = NULL;
    }
    wg_bulk_free(&s->bulk);
    wg_rules_free(s->rules);
    s->rules = NULL;
    return rc;
}
