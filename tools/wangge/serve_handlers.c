/* serve_handlers.c -- the endpoints: locate, incidents, grids, health.
 *
 * Input is already judged (serve_http.c: route, key, role, query string);
 * handlers convert coordinates, check the key's scope against what the
 * request touches (a point's grid, an incident's grid, a unit's code) and
 * answer. Scope refusals are 403 whatever the key's role. */
#include "serve.h"
#include "serve_routes.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *scope_of(const req *r) { return r->key.scope; }

/* The code a placement belongs to for scoping: its grid, else the lowest
 * admin unit it fell in; NULL when it fell nowhere. */
static const char *placement_code(const wg_placement *pl) {
    return pl->grid.code      ? pl->grid.code
           : pl->village.code ? pl->village.code
           : pl->town.code    ? pl->town.code
                              : pl->county.code;
}

static void refuse_scope(req *r, const char *what, const char *code) {
    req_error(r, 403, "forbidden", "%s %s%s is outside the scope '%s' of key '%s'", what,
              code ? "in " : "", code ? code : "(outside every unit)", r->key.scope, r->key.name);
}

/* Converts (x, y) in the request's CRS; on failure answers 400. */
static int to_wgs84(req *r, worker *w, wg_crs_kind kind, int epsg, const char *crs, double x,
                    double y, double *lon, double *lat) {
    if (wg_to_wgs84(w->ctx, kind, epsg, x, y, lon, lat) == WG_OK) return 1;
    req_error(r, 400, "invalid_parameter", "(%g, %g) is not a valid %s coordinate (lon/x first)",
              x, y, crs);
    return 0;
}

void h_health(req *r, worker *w) {
    (void)w;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", atomic_load(&SRV.draining) ? "draining" : "ok");
    cJSON_AddStringToObject(o, "version", wg_version());
    cJSON_AddNumberToObject(o, "uptime_s", round((now_s() - SRV.started) * 10) / 10);
    pthread_mutex_lock(&SRV.mu);
    size_t mem = SRV.current ? wg_locator_memory(SRV.current->loc) : 0;
    int roads = SRV.current && SRV.current->graph;
    pthread_mutex_unlock(&SRV.mu);
    cJSON_AddNumberToObject(o, "locator_bytes", (double)mem);
    cJSON_AddNumberToObject(o, "incidents_stored", (double)atomic_load(&SRV.stored));
    cJSON_AddNumberToObject(o, "commit_batches", (double)atomic_load(&SRV.batches));
    cJSON_AddBoolToObject(o, "roads", roads);
    req_reply_json(r, 200, o);
}

void h_openapi(req *r, worker *w) {
    (void)w;
    r->status = 200;
    r->ctype = "openapi"; /* queue() serves the embedded document */
}

void h_locate(req *r, worker *w) {
    const wg_param_value *v = r->q.v;
    const char *crs = v[LQ_CRS].set ? v[LQ_CRS].text : "wgs84";
    wg_crs_kind kind = v[LQ_CRS].set ? v[LQ_CRS].crs : WG_CRS_WGS84;
    int epsg = v[LQ_CRS].set ? v[LQ_CRS].epsg : 0;
    const char *at = v[LQ_AT].set ? v[LQ_AT].text : NULL;
    double tol = v[LQ_TOL].set ? v[LQ_TOL].num : SRV.tolerance_m;
    double x = v[LQ_LON].num, y = v[LQ_LAT].num, lon, lat;
    if (!to_wgs84(r, w, kind, epsg, crs, x, y, &lon, &lat)) return;
    wg_status st = WG_OK;
    locref *lr = loc_acquire(w, at, &st);
    if (!lr) {
        req_error(r, st == WG_ERR_INVALID_ARG ? 400 : 503,
                  st == WG_ERR_INVALID_ARG ? "invalid_parameter" : "unavailable", "%s",
                  wg_ctx_errmsg(w->ctx));
        return;
    }
    wg_placement pl;
    st = wg_locator_place(lr->loc, lon, lat, tol, &pl);
    if (st) {
        loc_release(lr);
        req_error(r, 400, "invalid_parameter", "(%g, %g) is not a WGS84 lon/lat", lon, lat);
        return;
    }
    if (!wg_code_in_scope(placement_code(&pl), scope_of(r))) {
        refuse_scope(r, "the point", placement_code(&pl));
        loc_release(lr);
        return;
    }
    cJSON *o = cli_locate_json(&pl, x, y, crs, lon, lat, at);
    const char *codes[WG_PLACE_MAX_EXCL + 3];
    size_t nc = cli_officer_codes(&pl, NULL, codes, NULL, 0);
    st = json_add_officers(o, w, lr, codes, nc, scope_of(r));
    if (st) {
        cJSON_Delete(o);
        req_error(r, 503, "unavailable", "cannot read officers: %s", wg_ctx_errmsg(w->ctx));
    } else {
        req_reply_json(r, 200, o);
    }
    loc_release(lr); /* only now: the answer referenced the locator's strings */
}

/* ---- reports ---------------------------------------------------------- */

int h_incident_post(req *r, worker *w) {
    wg_input_error err;
    char future[32]; /* an hour of clock skew is tolerated, as by wg_incidents_add() */
    time_t t = time(NULL) + 3600;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(future, sizeof future, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (wg_report_parse(w->json, r->body ? r->body : "", r->body_len, &r->rep, &err)) {
        req_error(r, !strcmp(err.code, "body_too_large") ? 413 : 400, err.code, "%s",
                  err.message);
        return 0;
    }
    const wg_report *rp = &r->rep;
    if (rp->reported_at[0] && strcmp(rp->reported_at, future) > 0) {
        req_error(r, 400, "invalid_field", "'reported_at' %s is in the future", rp->reported_at);
        return 0;
    }
    double lon, lat;
    if (!to_wgs84(r, w, rp->crs_kind, rp->epsg, rp->crs, rp->x, rp->y, &lon, &lat)) return 0;
    wg_status st = WG_OK;
    r->lr = loc_acquire(w, NULL, &st);
    if (!r->lr) {
        req_error(r, 503, "unavailable", "%s", wg_ctx_errmsg(w->ctx));
        return 0;
    }
    /* Placed here to check the scope before anything is stored; the writer
     * places it again with the same locator and gets the same answer. */
    wg_placement pl;
    wg_locator_place(r->lr->loc, lon, lat, SRV.tolerance_m, &pl);
    if (!wg_code_in_scope(placement_code(&pl), scope_of(r))) {
        refuse_scope(r, "the point", placement_code(&pl));
        return 0;
    }
    snprintf(r->actor, sizeof r->actor, "key:%s", r->key.name);
    wg_incident_new *in = &r->inew;
    in->lon = lon;
    in->lat = lat;
    in->src_crs = rp->crs;
    in->category = rp->category[0] ? rp->category : NULL;
    in->description = rp->description[0] ? rp->description : NULL;
    in->reporter = rp->reporter[0] ? rp->reporter : r->key.name;
    in->reported_at = rp->reported_at[0] ? rp->reported_at : NULL;
    in->ext_id = rp->ext_id[0] ? rp->ext_id : NULL;
    in->actor = r->actor;
    if (writer_submit(r)) return 1;
    req_error(r, 503, "unavailable", "the server is shutting down; send the report again");
    return 0;
}

typedef struct events_ctx {
    cJSON *arr;
} events_ctx;

static int add_event(void *user, const wg_incident_event *ev) {
    events_ctx *ec = user;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "at", ev->at ? ev->at : "");
    cJSON_AddStringToObject(o, "event", ev->event ? ev->event : "");
    if (ev->from_status) cJSON_AddStringToObject(o, "from", ev->from_status);
    else cJSON_AddNullToObject(o, "from");
    cJSON_AddStringToObject(o, "to", ev->to_status ? ev->to_status : "");
    if (ev->actor) cJSON_AddStringToObject(o, "actor", ev->actor);
    if (ev->note) cJSON_AddStringToObject(o, "note", ev->note);
    cJSON_AddItemToArray(ec->arr, o);
    return 0;
}

/* The full view of one incident: the Feature, its officers and history
 * (`events`, taken over). `inc` is borrowed. */
static void render_incident(req *r, worker *w, const wg_incident *inc, cJSON *events, int status,
                            int duplicate) {
    if (!wg_code_in_scope(wg_incident_scope_code(inc), scope_of(r))) {
        if (duplicate)
            req_error(r, 409, "conflict", "ext_id '%s' was already used for another incident",
                      inc->ext_id ? inc->ext_id : "");
        else
            refuse_scope(r, "incident", wg_incident_scope_code(inc));
        cJSON_Delete(events);
        return;
    }
    /* where it stands now, read back (also for a report just committed, so
     * the answer equals what GET /v1/incidents/{id} gives) */
    wg_incident_state ist;
    if (wg_incident_state_get(w->ws, NULL, inc->id, (int64_t)time(NULL), &ist)) {
        cJSON_Delete(events);
        req_error(r, 503, "unavailable", "cannot read the incident's state: %s",
                  wg_ctx_errmsg(w->ctx));
        return;
    }
    cJSON *f = json_incident(inc), *p = cJSON_GetObjectItemCaseSensitive(f, "properties");
    cli_incident_state_json(p, &ist);
    if (duplicate) cJSON_AddBoolToObject(p, "duplicate", 1);
    const char *codes[WG_PLACE_MAX_EXCL + 3];
    char buf[WG_PLACE_MAX_EXCL * (WG_INCIDENT_TEXT_MAX + 1) + 1];
    size_t nc = cli_officer_codes(NULL, inc, codes, buf, sizeof buf);
    wg_status st = WG_OK;
    locref *lr = loc_acquire(w, NULL, &st);
    st = json_add_officers(p, w, lr, codes, nc, scope_of(r));
    cJSON_AddItemToObject(p, "events", events);
    if (st) {
        cJSON_Delete(f);
        req_error(r, 503, "unavailable", "cannot read officers: %s", wg_ctx_errmsg(w->ctx));
    } else {
        r->ctype = "application/geo+json";
        req_reply_json(r, status, f);
    }
    loc_release(lr); /* after printing: the officers were referenced */
}

/* The same, read from the workspace. */
static void answer_incident(req *r, worker *w, int64_t id, int status, int duplicate) {
    wg_incident *inc = NULL;
    wg_status st = wg_incident_get(w->ws, id, &inc);
    if (st == WG_ERR_NOT_FOUND) {
        req_error(r, 404, "not_found", "no incident %lld", (long long)id);
        return;
    }
    events_ctx ec = {cJSON_CreateArray()};
    if (!st) st = wg_incident_events(w->ws, id, add_event, &ec);
    if (st) {
        cJSON_Delete(ec.arr);
        wg_incident_free(inc);
        req_error(r, 503, "unavailable", "cannot read incident: %s", wg_ctx_errmsg(w->ctx));
        return;
    }
    render_incident(r, w, inc, ec.arr, status, duplicate);
    wg_incident_free(inc);
}

/* A report just committed is answered from what was stored (the request
 * and the receipt), exactly as GET /v1/incidents/{id} reads it back, but
 * without reading it back. A retried report is read. */
void h_incident_answer(req *r, worker *w) {
    const wg_incident_receipt *rc = &r->receipt;
    if (r->wst == WG_ERR_INVALID_ARG) {
        req_error(r, 400, "invalid_field", "%s", r->werr);
    } else if (r->wst) {
        req_error(r, 503, "unavailable", "the report was not stored: %s", r->werr);
    } else if (rc->duplicate) {
        snprintf(r->location, sizeof r->location, "/v1/incidents/%lld", (long long)rc->id);
        answer_incident(r, w, rc->id, 200, 1);
    } else {
        const wg_incident_new *in = &r->inew;
        const wg_placement *pl = &rc->placement; /* strings of r->lr's locator */
        char excl[WG_PLACE_MAX_EXCL * (WG_INCIDENT_TEXT_MAX + 1) + 1] = "";
        for (int k = 0; k < pl->n_excl; k++) {
            size_t n = strlen(excl);
            snprintf(excl + n, sizeof excl - n, "%s%s", k ? ";" : "", pl->excl[k].code);
        }
        wg_incident inc = {
            .id = rc->id, .ext_id = in->ext_id, .reported_at = rc->reported_at,
            .received_at = rc->received_at, .category = in->category,
            .description = in->description, .reporter = in->reporter,
            .src_crs = in->src_crs ? in->src_crs : "wgs84", .status = WG_INCIDENT_REPORTED,
            .level = rc->level, .deadline = rc->deadline,
            .place_status = wg_place_status_name(pl->status), .county = pl->county.code,
            .town = pl->town.code, .village = pl->village.code, .grid = pl->grid.code,
            .micro = pl->micro.code, .exclusive = excl[0] ? excl : NULL,
            .dist_m = pl->status == WG_PLACE_OUTSIDE ? NAN : pl->dist_m, .lon = in->lon,
            .lat = in->lat};
        events_ctx ec = {cJSON_CreateArray()};
        wg_incident_event ev = {0, rc->received_at, "report", NULL, WG_INCIDENT_REPORTED,
                                in->actor ? in->actor : in->reporter, NULL};
        add_event(&ec, &ev);
        snprintf(r->location, sizeof r->location, "/v1/incidents/%lld", (long long)rc->id);
        render_incident(r, w, &inc, ec.arr, 201, 0);
    }
    if (r->status >= 400) r->location[0] = '\0';
    if (r->lr) {
        loc_release(r->lr);
        r->lr = NULL;
    }
}

void h_incident_show(req *r, worker *w, int64_t id, int status) {
    answer_incident(r, w, id, status, 0);
}

void h_incident(req *r, worker *w) {
    const char *p = r->param;
    size_t n = strspn(p, "0123456789");
    if (!*p || p[n] || n > 18 || (p[0] == '0')) {
        req_error(r, 400, "invalid_parameter", "an incident id is a positive integer");
        return;
    }
    answer_incident(r, w, strtoll(p, NULL, 10), 200, 0);
}

typedef struct list_ctx {
    wg_ws *ws;
    const wg_rules *rules;
    int64_t now;
    const char *colour; /* only incidents of this colour (NULL: all) */
    cJSON *features;
    size_t n, want, seen;
    int64_t last;
    wg_status st;
} list_ctx;

static int add_feature(void *user, const wg_incident *inc) {
    list_ctx *lc = user;
    wg_incident_state ist;
    lc->seen++;
    lc->last = inc->id;
    if ((lc->st = wg_incident_state_get(lc->ws, lc->rules, inc->id, lc->now, &ist))) return 1;
    if (lc->colour && strcmp(lc->colour, wg_colour_name(ist.colour))) return 0;
    cJSON *f = json_incident(inc);
    cli_incident_state_json(cJSON_GetObjectItemCaseSensitive(f, "properties"), &ist);
    cJSON_AddItemToArray(lc->features, f);
    return ++lc->n >= lc->want;
}

void h_incidents(req *r, worker *w) {
    const wg_param_value *v = r->q.v;
    wg_incident_query q;
    memset(&q, 0, sizeof q);
    if (v[IQ_BBOX].set) {
        q.has_bbox = 1;
        memcpy(q.bbox, v[IQ_BBOX].v, sizeof q.bbox);
    }
    q.since = v[IQ_SINCE].set ? v[IQ_SINCE].text : NULL;
    q.until = v[IQ_UNTIL].set ? v[IQ_UNTIL].text : NULL;
    q.code = v[IQ_GRID].set ? v[IQ_GRID].text : NULL;
    q.status = v[IQ_STATUS].set ? v[IQ_STATUS].text : NULL;
    q.after_id = v[IQ_AFTER].set ? v[IQ_AFTER].i : 0;
    q.limit = v[IQ_LIMIT].set ? (size_t)v[IQ_LIMIT].i : 100;
    q.scope = scope_of(r);
    if (q.code && !wg_code_in_scope(q.code, q.scope)) {
        refuse_scope(r, "grid", q.code);
        return;
    }
    wg_rules *rules = NULL;
    list_ctx lc = {w->ws, NULL, (int64_t)time(NULL), v[IQ_COLOUR].set ? v[IQ_COLOUR].text : NULL,
                   cJSON_CreateArray(), 0, q.limit, 0, 0, WG_OK};
    wg_status st = wg_rules_load(w->ws, &rules);
    lc.rules = rules;
    /* a colour is judged per incident, not in SQL: read on in pages until
     * the page is full or nothing is left */
    if (lc.colour) q.limit = 1000;
    while (!st) {
        lc.seen = 0;
        st = wg_incidents_query(w->ws, &q, add_feature, &lc);
        if (!st) st = lc.st;
        if (st || lc.n >= lc.want || lc.seen < q.limit) break;
        q.after_id = lc.last;
    }
    wg_rules_free(rules);
    if (st) {
        cJSON_Delete(lc.features);
        req_error(r, 503, "unavailable", "cannot query incidents: %s", wg_ctx_errmsg(w->ctx));
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "FeatureCollection");
    cJSON_AddItemToObject(o, "features", lc.features);
    cJSON_AddNumberToObject(o, "count", (double)lc.n);
    if (lc.n == lc.want) cJSON_AddNumberToObject(o, "next_after", (double)lc.last);
    else cJSON_AddNullToObject(o, "next_after");
    r->ctype = "application/geo+json";
    req_reply_json(r, 200, o);
}

/* ---- grids ------------------------------------------------------------ */

void h_grid(req *r, worker *w) {
    const char *code = r->param;
    if (!code[0] || strlen(code) > WG_INCIDENT_TEXT_MAX) {
        req_error(r, 400, "invalid_parameter", "a unit code is 1 to %d bytes",
                  WG_INCIDENT_TEXT_MAX);
        return;
    }
    for (const unsigned char *p = (const unsigned char *)code; *p; p++)
        if (*p < 0x20 || *p == 0x7F) {
            req_error(r, 400, "invalid_parameter", "a unit code has no control characters");
            return;
        }
    if (!wg_code_in_scope(code, scope_of(r))) {
        refuse_scope(r, "unit", code);
        return;
    }
    const char *at = r->q.v[GQ_AT].set ? r->q.v[GQ_AT].text : NULL;
    wg_unit_info *u = NULL;
    wg_status st = wg_unit_get(w->ws, code, at, &u);
    if (st == WG_ERR_NOT_FOUND) {
        req_error(r, 404, "not_found", "no unit with code '%s'%s%s", code, at ? " on " : "",
                  at ? at : "");
        return;
    }
    if (st) {
        req_error(r, 503, "unavailable", "cannot read the unit: %s", wg_ctx_errmsg(w->ctx));
        return;
    }
    cJSON *f = cJSON_CreateObject(), *p = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "type", "Feature");
    cJSON_AddStringToObject(f, "id", u->code);
    cJSON_AddItemToObject(f, "geometry", cJSON_CreateRaw(u->geojson));
    cJSON_AddStringToObject(p, "code", u->code);
    cJSON_AddStringToObject(p, "level", u->level ? u->level : "");
    if (u->name) cJSON_AddStringToObject(p, "name", u->name);
    else cJSON_AddNullToObject(p, "name");
    if (u->parent) cJSON_AddStringToObject(p, "parent", u->parent);
    else cJSON_AddNullToObject(p, "parent");
    if (u->kind) cJSON_AddStringToObject(p, "kind", u->kind);
    cJSON_AddStringToObject(p, "valid_from", u->valid_from ? u->valid_from : "");
    if (u->valid_to) cJSON_AddStringToObject(p, "valid_to", u->valid_to);
    else cJSON_AddNullToObject(p, "valid_to");
    cJSON_AddNumberToObject(p, "area_m2", round(u->area_m2 * 10) / 10);
    const char *codes[1] = {u->code};
    locref *lr = loc_acquire(w, NULL, &st);
    st = json_add_officers(p, w, lr, codes, 1, scope_of(r));
    cJSON_AddItemToObject(f, "properties", p);
    if (st) {
        cJSON_Delete(f);
        req_error(r, 503, "unavailable", "cannot read officers: %s", wg_ctx_errmsg(w->ctx));
    } else {
        r->ctype = "application/geo+json";
        req_reply_json(r, 200, f);
    }
    loc_release(lr);
    wg_unit_info_free(u);
}
