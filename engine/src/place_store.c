/* place_store.c -- storing placed rows as incidents (see placestore.h). */
#include "placestore.h"

#include "deadlines.h"
#include "httpparse.h"

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

wg_status wg_store_open(wg_ws *ws, int history, wg_store *s) {
    memset(s, 0, sizeof *s);
    s->ws = ws;
    wg_status rc;
    if ((rc = wg_lifecycle_init(ws)) || (rc = wg_rules_load(ws, &s->rules))) return rc;
    if ((rc = wg_ws_begin(ws))) return rc;
    s->open = 1;
    if ((rc = wg_ws_bulk_begin(ws, "incidents", &s->bulk))) return rc;
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
    wg_bulk_free(&s->bulk);
    wg_rules_free(s->rules);
    s->rules = NULL;
    return rc;
}
