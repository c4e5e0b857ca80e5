/* serve_roads.c -- route, dispatch and isochrones over HTTP.
 *
 * The road graph is loaded with the current locator (serve.c) and shared
 * read-only; each handler thread keeps one router per profile for it (a
 * router holds a search's memory and is one thread's). Officers' stations
 * snapped for dispatch are made once per profile and role and shared.
 * Answers are those of `wangge route` and `wangge dispatch` (cmd_roads.c),
 * key for key; dispatch follows the key's scope like locate: a point
 * outside it is refused, and phones are shown only for officers serving a
 * grid within it.
 * Isochrones run per request on the thread's own workspace connection
 * (the metric CRS for buffering) and the shared graph. */
#include "serve.h"
#include "serve_routes.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static double r1(double x) { return round(x * 10) / 10; }
static double r7(double x) { return round(x * 1e7) / 1e7; }

void roads_free_worker(worker *w) {
    for (int i = 0; i < WG_ROADS_MAX_PROFILES; i++) {
        wg_router_free(w->routers[i].r);
        w->routers[i].r = NULL;
    }
}

void roads_free_locref(locref *lr) {
    for (int i = 0; i < lr->nstations; i++) wg_stations_free(lr->stations[i].s);
    lr->nstations = 0;
    wg_graph_free(lr->graph);
    lr->graph = NULL;
}

/* The thread's router for `profile` on lr's graph; NULL after an answer
 * (400 unknown profile, 503). */
static wg_router *router_for(req *r, worker *w, const locref *lr, const char *profile) {
    int free_slot = -1;
    for (int i = 0; i < WG_ROADS_MAX_PROFILES; i++) {
        if (w->routers[i].r && w->routers[i].gen != lr->gen) { /* an older graph's */
            wg_router_free(w->routers[i].r);
            w->routers[i].r = NULL;
        }
        if (w->routers[i].r && !strcmp(w->routers[i].profile, profile)) return w->routers[i].r;
        if (!w->routers[i].r && free_slot < 0) free_slot = i;
    }
    wg_router *rt = NULL;
    wg_status st = wg_router_new(w->ctx, lr->graph, profile, &rt);
    if (st == WG_ERR_NOT_FOUND) {
        req_error(r, 400, "invalid_parameter", "%s", wg_ctx_errmsg(w->ctx));
        return NULL;
    }
    if (st) {
        req_error(r, 503, "unavailable", "cannot route: %s", wg_ctx_errmsg(w->ctx));
        return NULL;
    }
    if (free_slot < 0) { /* all taken (more profiles than slots cannot happen) */
        wg_router_free(w->routers[0].r);
        free_slot = 0;
    }
    snprintf(w->routers[free_slot].profile, sizeof w->routers[free_slot].profile, "%s", profile);
    w->routers[free_slot].r = rt;
    w->routers[free_slot].gen = lr->gen;
    return rt;
}

/* The officers' stations of `role` (NULL: all) snapped for `rt`'s profile;
 * made once and kept with the graph. NULL after an answer (503). */
static const wg_stations *stations_for(req *r, worker *w, locref *lr, wg_router *rt,
                                       const char *profile, const char *role) {
    const char *rl = role ? role : "";
    wg_stations *s = NULL;
    pthread_mutex_lock(&lr->stations_mu);
    for (int i = 0; i < lr->nstations && !s; i++)
        if (!strcmp(lr->stations[i].profile, profile) && !strcmp(lr->stations[i].role, rl))
            s = lr->stations[i].s;
    /* Loaded under the lock: a few profiles and roles, each once. */
    wg_status st = WG_OK;
    if (!s && lr->nstations < (int)(sizeof lr->stations / sizeof lr->stations[0]) &&
        (st = wg_stations_load(w->ws, rt, role, 0, &s)) == WG_OK) {
        int k = lr->nstations++;
        snprintf(lr->stations[k].profile, sizeof lr->stations[k].profile, "%s", profile);
        snprintf(lr->stations[k].role, sizeof lr->stations[k].role, "%s", rl);
        lr->stations[k].s = s;
    }
    pthread_mutex_unlock(&lr->stations_mu);
    if (!s) req_error(r, 503, "unavailable", "cannot load the officers' stations: %s",
                      st ? wg_ctx_errmsg(w->ctx) : "too many kinds");
    return s;
}

/* Converts a point (x, y in the request's CRS); 0 after a 400. */
static int point(req *r, worker *w, const wg_param_value *c, double x, double y, double *lon,
                 double *lat) {
    if (wg_to_wgs84(w->ctx, c->set ? c->crs : WG_CRS_WGS84, c->epsg, x, y, lon, lat) == WG_OK)
        return 1;
    req_error(r, 400, "invalid_parameter", "(%g, %g) is not a valid %s coordinate (lon/x first)",
              x, y, c->set ? c->text : "wgs84");
    return 0;
}

/* The current locator with a road graph, or NULL after an answer. */
static locref *with_roads(req *r, worker *w) {
    wg_status st = WG_OK;
    locref *lr = loc_acquire(w, NULL, &st);
    if (lr && lr->graph) return lr;
    loc_release(lr);
    req_error(r, 503, "no_road_network",
              "the workspace has no road network (load one with `wangge roads WS SRC`)");
    return NULL;
}



void h_route(req *r, worker *w) {
    const wg_param_value *v = r->q.v, *c = &v[TQ_CRS];
    const char *profile = v[TQ_PROFILE].set ? v[TQ_PROFILE].text : "car";
    double a[2], b[2];
    if (!point(r, w, c, v[TQ_FROM].v[0], v[TQ_FROM].v[1], &a[0], &a[1]) ||
        !point(r, w, c, v[TQ_TO].v[0], v[TQ_TO].v[1], &b[0], &b[1]))
        return;
    locref *lr = with_roads(r, w);
    if (!lr) return;
    wg_router *rt = router_for(r, w, lr, profile);
    wg_route *way = NULL;
    if (rt) {
        wg_status st = wg_route_compute(rt, a[0], a[1], b[0], b[1], NULL, &way);
        if (st) {
            req_error(r, st == WG_ERR_INVALID_ARG ? 400 : 503,
                      st == WG_ERR_INVALID_ARG ? "invalid_parameter" : "unavailable", "%s",
                      wg_ctx_errmsg(w->ctx));
        } else {
            r->ctype = "application/geo+json";
            req_reply_json(r, 200, cli_route_json(way, profile));
        }
    }
    wg_route_free(way);
    loc_release(lr);
}

/* Among the ','-joined grids, one within the scope? */
static int any_in_scope(const char *grids, const char *scope);

/* Officers' phone numbers are shown only inside the key's scope. */
static int phone_in_scope(const wg_dispatch_hit *h, void *scope) {
    return any_in_scope(h->grids, scope);
}

static int any_in_scope(const char *grids, const char *scope) {
    if (!scope || !*scope) return 1;
    for (const char *s = grids; s && *s;) {
        size_t n = strcspn(s, ",");
        if (n >= strlen(scope) && !strncmp(s, scope, strlen(scope))) return 1;
        s += n + (s[n] == ',');
    }
    return 0;
}

void h_dispatch(req *r, worker *w) {
    const wg_param_value *v = r->q.v, *c = &v[DQ_CRS];
    const char *profile = v[DQ_PROFILE].set ? v[DQ_PROFILE].text : "car";
    const char *role = v[DQ_ROLE].set ? v[DQ_ROLE].text : NULL;
    size_t limit = v[DQ_LIMIT].set ? (size_t)v[DQ_LIMIT].i : 10;
    double x = v[DQ_LON].num, y = v[DQ_LAT].num, lon, lat;
    if (!point(r, w, c, x, y, &lon, &lat)) return;
    locref *lr = with_roads(r, w);
    if (!lr) return;
    /* The point must lie within the key's scope, as for locate. */
    wg_placement pl;
    wg_locator_place(lr->loc, lon, lat, SRV.tolerance_m, &pl);
    const char *code = pl.grid.code      ? pl.grid.code
                       : pl.village.code ? pl.village.code
                       : pl.town.code    ? pl.town.code
                                         : pl.county.code;
    if (!wg_code_in_scope(code, r->key.scope)) {
        req_error(r, 403, "forbidden", "the point %s%s is outside the scope '%s' of key '%s'",
                  code ? "in " : "", code ? code : "(outside every unit)", r->key.scope,
                  r->key.name);
        loc_release(lr);
        return;
    }
    wg_router *rt = router_for(r, w, lr, profile);
    const wg_stations *s = rt ? stations_for(r, w, lr, rt, profile, role) : NULL;
    wg_dispatch_result *d = NULL;
    if (s && wg_dispatch(rt, s, lon, lat, limit, 0, &d)) {
        req_error(r, 503, "unavailable", "dispatch failed: %s", wg_ctx_errmsg(w->ctx));
    } else if (d) { /* as `wangge dispatch` prints it */
        int64_t nst = 0;
        wg_stations_count(s, &nst, NULL);
        cJSON *j = cJSON_CreateObject(), *at = cJSON_AddObjectToObject(j, "at");
        cJSON_AddNumberToObject(at, "lon", x);
        cJSON_AddNumberToObject(at, "lat", y);
        cJSON_AddStringToObject(at, "crs", c->set ? c->text : "wgs84");
        cJSON_AddNumberToObject(at, "wgs84_lon", r7(lon));
        cJSON_AddNumberToObject(at, "wgs84_lat", r7(lat));
        cJSON_AddStringToObject(j, "profile", profile);
        if (role) cJSON_AddStringToObject(j, "role", role);
        cli_dispatch_json(j, d, nst, phone_in_scope, (void *)r->key.scope);
        req_reply_json(r, 200, j);
    }
    wg_dispatch_free(d);
    loc_release(lr);
}

/* ---- isochrones ----------------------------------------------------------- */

/* A bounded reader of the (Multi)Polygon WKB the isochrone hands out. */
typedef struct wkb_rd {
    const unsigned char *p, *end;
    int le; /* little-endian */
} wkb_rd;

static int rd_u32(wkb_rd *w, uint32_t *v) {
    if (w->end - w->p < 4) return 0;
    const unsigned char *b = w->p;
    *v = w->le ? (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24
               : (uint32_t)b[3] | (uint32_t)b[2] << 8 | (uint32_t)b[1] << 16 | (uint32_t)b[0] << 24;
    w->p += 4;
    return 1;
}

static int rd_f64(wkb_rd *w, double *v) {
    if (w->end - w->p < 8) return 0;
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = w->p[w->le ? i : 7 - i];
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--) u = u << 8 | b[i];
    memcpy(v, &u, sizeof *v);
    w->p += 8;
    return isfinite(*v);
}

/* One polygon's rings as a GeoJSON coordinates array; NULL if malformed. */
static cJSON *wkb_polygon(wkb_rd *w) {
    uint32_t nrings, type;
    if (w->p >= w->end) return NULL;
    w->le = *w->p++ == 1;
    if (!rd_u32(w, &type) || type != 3 || !rd_u32(w, &nrings)) return NULL;
    cJSON *rings = cJSON_CreateArray();
    for (uint32_t k = 0; k < nrings; k++) {
        uint32_t n;
        if (!rd_u32(w, &n) || (size_t)(w->end - w->p) / 16 < n) goto bad;
        cJSON *ring = cJSON_CreateArray();
        cJSON_AddItemToArray(rings, ring);
        for (uint32_t i = 0; i < n; i++) {
            double xy[2];
            if (!rd_f64(w, &xy[0]) || !rd_f64(w, &xy[1])) goto bad;
            xy[0] = r7(xy[0]), xy[1] = r7(xy[1]);
            cJSON_AddItemToArray(ring, cJSON_CreateDoubleArray(xy, 2));
        }
    }
    return rings;
bad:
    cJSON_Delete(rings);
    return NULL;
}

/* A GeoJSON geometry (7 decimals, as everywhere in the service) from WKB. */
static cJSON *wkb_geojson(const unsigned char *wkb, size_t len) {
    wkb_rd w = {wkb, wkb + len, 1};
    uint32_t type, n;
    if (len < 5) return NULL;
    w.le = wkb[0] == 1;
    w.p = wkb + 1;
    if (!rd_u32(&w, &type)) return NULL;
    cJSON *g = cJSON_CreateObject(), *coords = NULL;
    if (type == 3) {
        w.p = wkb;
        cJSON_AddStringToObject(g, "type", "Polygon");
        coords = wkb_polygon(&w);
    } else if (type == 6 && rd_u32(&w, &n)) {
        cJSON_AddStringToObject(g, "type", "MultiPolygon");
        coords = cJSON_CreateArray();
        for (uint32_t i = 0; i < n && coords; i++) {
            cJSON *poly = wkb_polygon(&w);
            if (poly) {
                cJSON_AddItemToArray(coords, poly);
            } else {
                cJSON_Delete(coords);
                coords = NULL;
            }
        }
    }
    if (!coords) {
        cJSON_Delete(g);
        return NULL;
    }
    cJSON_AddItemToObject(g, "coordinates", coords);
    return g;
}

/* The service area of one point: a FeatureCollection of nested contours
 * (smallest first) with minutes, area_m2, nodes and pieces, the figures
 * `wangge isochrone --json` prints, and the contours as geometry. */
void h_isochrone(req *r, worker *w) {
    const wg_param_value *v = r->q.v;
    double lonlat[2], minutes = v[SQ_MINUTES].num;
    if (!point(r, w, &v[SQ_CRS], v[SQ_LON].num, v[SQ_LAT].num, &lonlat[0], &lonlat[1])) return;
    locref *lr = with_roads(r, w);
    if (!lr) return;
    wg_isochrone_opts opts;
    memset(&opts, 0, sizeof opts);
    opts.profile = v[SQ_PROFILE].set ? v[SQ_PROFILE].text : "car";
    wg_isochrone *iso = NULL;
    wg_status st = wg_isochrone_compute(w->ws, lr->graph, lonlat, 1, &minutes, 1, &opts, &iso);
    if (st == WG_ERR_NOT_FOUND || st == WG_ERR_INVALID_ARG) {
        req_error(r, 400, "invalid_parameter", "%s", wg_ctx_errmsg(w->ctx));
    } else if (st) {
        req_error(r, 503, "unavailable", "cannot compute the isochrone: %s", wg_ctx_errmsg(w->ctx));
    } else {
        wg_isochrone_info info;
        wg_isochrone_get_info(iso, &info);
        cJSON *fc = cJSON_CreateObject(), *feats = cJSON_CreateArray();
        cJSON_AddStringToObject(fc, "type", "FeatureCollection");
        cJSON_AddStringToObject(fc, "profile", opts.profile);
        cJSON_AddNumberToObject(fc, "origins", (double)info.origins);
        cJSON_AddNumberToObject(fc, "no_road", (double)info.no_road);
        cJSON_AddNumberToObject(fc, "settled", (double)info.settled);
        int bad = 0;
        for (size_t i = 0; i < wg_isochrone_count(iso); i++) {
            wg_isochrone_contour ct;
            if (wg_isochrone_get(iso, i, &ct)) continue;
            cJSON *f = cJSON_CreateObject(), *p = cJSON_CreateObject();
            cJSON_AddStringToObject(f, "type", "Feature");
            cJSON *g = ct.wkb ? wkb_geojson(ct.wkb, ct.wkb_len) : NULL;
            bad |= ct.wkb && !g;
            if (g) cJSON_AddItemToObject(f, "geometry", g);
            else cJSON_AddNullToObject(f, "geometry");
            cJSON_AddNumberToObject(p, "minutes", ct.minutes);
            cJSON_AddNumberToObject(p, "area_m2", r1(ct.area_m2));
            cJSON_AddNumberToObject(p, "nodes", (double)ct.nodes);
            cJSON_AddNumberToObject(p, "pieces", (double)ct.pieces);
            cJSON_AddItemToObject(f, "properties", p);
            cJSON_AddItemToArray(feats, f);
        }
        cJSON_AddItemToObject(fc, "features", feats);
        if (bad) {
            cJSON_Delete(fc);
            req_error(r, 500, "internal", "a contour's geometry could not be read");
        } else {
            r->ctype = "application/geo+json";
            req_reply_json(r, 200, fc);
        }
    }
    wg_isochrone_free(iso);
    loc_release(lr);
}
