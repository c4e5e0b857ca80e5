/* json_roads.c -- the JSON of routes and snapped points, shared by the
 * `route`/`dispatch` commands and the HTTP service, so both answer alike. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <math.h>

static double r3(double x) { return round(x * 1000) / 1000; }
static double r1(double x) { return round(x * 10) / 10; }
static double r7(double x) { return round(x * 1e7) / 1e7; }

cJSON *cli_snap_json(const wg_snap *s) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "lon", r7(s->lon));
    cJSON_AddNumberToObject(o, "lat", r7(s->lat));
    cJSON_AddNumberToObject(o, "distance_m", r1(s->dist_m));
    cJSON_AddNumberToObject(o, "edge_id", (double)s->edge_id);
    if (s->name && *s->name) cJSON_AddStringToObject(o, "street", s->name);
    return o;
}

cJSON *cli_route_json(const wg_route *rt, const char *profile) {
    cJSON *f = cJSON_CreateObject(), *p = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "type", "Feature");
    if (rt->status == WG_ROUTE_FOUND) {
        cJSON *g = cJSON_AddObjectToObject(f, "geometry");
        cJSON_AddStringToObject(g, "type", "LineString");
        cJSON *cs = cJSON_AddArrayToObject(g, "coordinates");
        for (size_t i = 0; i < rt->npoints; i++) {
            cJSON *pt = cJSON_CreateArray();
            cJSON_AddItemToArray(pt, cJSON_CreateNumber(r7(rt->coords[2 * i])));
            cJSON_AddItemToArray(pt, cJSON_CreateNumber(r7(rt->coords[2 * i + 1])));
            cJSON_AddItemToArray(cs, pt);
        }
    } else {
        cJSON_AddNullToObject(f, "geometry");
    }
    cJSON_AddItemToObject(f, "properties", p);
    cJSON_AddStringToObject(p, "status", wg_route_status_name(rt->status));
    cJSON_AddStringToObject(p, "profile", profile);
    if (rt->status != WG_ROUTE_FOUND) {
        cJSON_AddStringToObject(p, "reason", rt->reason);
    } else {
        cJSON_AddNumberToObject(p, "duration_s", r3(rt->duration_s));
        cJSON_AddNumberToObject(p, "distance_m", r1(rt->distance_m));
        cJSON_AddNumberToObject(p, "walk_m", r1(rt->walk_m));
        cJSON *streets = cJSON_AddArrayToObject(p, "streets");
        cJSON *steps = cJSON_AddArrayToObject(p, "steps");
        for (size_t i = 0; i < rt->nsteps; i++) {
            const wg_route_step *s = &rt->steps[i];
            if (*s->name) cJSON_AddItemToArray(streets, cJSON_CreateString(s->name));
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", s->name);
            cJSON_AddNumberToObject(o, "distance_m", r1(s->distance_m));
            cJSON_AddNumberToObject(o, "duration_s", r3(s->duration_s));
            cJSON_AddItemToArray(steps, o);
        }
    }
    if (rt->from.name) cJSON_AddItemToObject(p, "from", cli_snap_json(&rt->from));
    if (rt->to.name) cJSON_AddItemToObject(p, "to", cli_snap_json(&rt->to));
    cJSON_AddNumberToObject(p, "settled", (double)rt->settled);
    return f;
}

void cli_dispatch_json(cJSON *j, const wg_dispatch_result *d, size_t nst,
                       int (*show_phone)(const wg_dispatch_hit *h, void *user), void *user) {
    cJSON_AddStringToObject(j, "status", wg_route_status_name(d->status));
    if (d->status != WG_ROUTE_FOUND) cJSON_AddStringToObject(j, "reason", d->reason);
    else cJSON_AddItemToObject(j, "snapped", cli_snap_json(&d->at));
    cJSON *arr = cJSON_AddArrayToObject(j, "officers");
    for (size_t i = 0; i < d->count; i++) {
        const wg_dispatch_hit *h = &d->hits[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "officer_id", h->officer_id);
        cJSON_AddStringToObject(o, "name", h->name);
        if (*h->phone && (!show_phone || show_phone(h, user)))
            cJSON_AddStringToObject(o, "phone", h->phone);
        cJSON_AddStringToObject(o, "role", h->role);
        cJSON_AddStringToObject(o, "grid", h->grid);
        cJSON_AddStringToObject(o, "grids", h->grids);
        cJSON_AddNumberToObject(o, "eta_s", r3(h->eta_s));
        cJSON_AddNumberToObject(o, "distance_m", r1(h->distance_m));
        cJSON *stn = cJSON_AddObjectToObject(o, "station");
        cJSON_AddNumberToObject(stn, "lon", r7(h->lon));
        cJSON_AddNumberToObject(stn, "lat", r7(h->lat));
        cJSON_AddItemToArray(arr, o);
    }
    cJSON_AddNumberToObject(j, "stations", (double)nst);
    if (d->unreachable >= 0) cJSON_AddNumberToObject(j, "unreachable", (double)d->unreachable);
    cJSON_AddNumberToObject(j, "no_road", (double)d->no_road);
    cJSON_AddNumberToObject(j, "settled", (double)d->settled);
}
