/* json_place.c -- the JSON of a placement, shared by `wangge locate` and
 * the service's GET /v1/locate (which must print the same keys), and the
 * units whose officers answer for it. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const LEVEL_KEYS[] = {"county", "town", "village", "grid", "micro"};

void cli_json_ref(cJSON *o, const char *key, const char *value) {
    cJSON_AddItemToObjectCS(o, key, cJSON_CreateStringReference(value));
}

static cJSON *unit_json(const wg_placed_unit *u) {
    if (!u->code) return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    cli_json_ref(o, "code", u->code);
    if (u->name) cli_json_ref(o, "name", u->name);
    if (u->kind) cli_json_ref(o, "kind", u->kind);
    return o;
}

cJSON *cli_locate_json(const wg_placement *pl, double x, double y, const char *crs, double lon,
                       double lat, const char *at) {
    cJSON *o = cJSON_CreateObject(), *q = cJSON_CreateObject();
    cJSON_AddNumberToObject(q, "lon", x);
    cJSON_AddNumberToObject(q, "lat", y);
    cli_json_ref(q, "crs", crs);
    cJSON_AddNumberToObject(q, "wgs84_lon", round(lon * 1e8) / 1e8);
    cJSON_AddNumberToObject(q, "wgs84_lat", round(lat * 1e8) / 1e8);
    if (at) cJSON_AddStringToObject(q, "at", at);
    cJSON_AddItemToObject(o, "query", q);
    cli_json_ref(o, "status", wg_place_status_name(pl->status));
    if (pl->status == WG_PLACE_NEAREST)
        cJSON_AddNumberToObject(o, "distance_m", round(pl->dist_m * 100) / 100);
    const wg_placed_unit *lv[5] = {&pl->county, &pl->town, &pl->village, &pl->grid, &pl->micro};
    for (int i = 0; i < 5; i++) cJSON_AddItemToObject(o, LEVEL_KEYS[i], unit_json(lv[i]));
    cJSON *ex = cJSON_CreateArray();
    for (int i = 0; i < pl->n_excl; i++) cJSON_AddItemToArray(ex, unit_json(&pl->excl[i]));
    cJSON_AddItemToObject(o, "exclusive", ex);
    return o;
}

size_t cli_officer_codes(const wg_placement *pl, const wg_incident *inc, const char **codes, char *buf,
                     size_t buflen) {
    size_t n = 0;
    if (pl) { /* the order of `wangge locate` */
        if (pl->grid.code) codes[n++] = pl->grid.code;
        if (pl->micro.code) codes[n++] = pl->micro.code;
        if (pl->village.code) codes[n++] = pl->village.code;
        for (int i = 0; i < pl->n_excl; i++) codes[n++] = pl->excl[i].code;
        return n;
    }
    if (inc->grid) codes[n++] = inc->grid;
    if (inc->micro) codes[n++] = inc->micro;
    if (inc->village) codes[n++] = inc->village;
    if (inc->exclusive && *inc->exclusive) {
        snprintf(buf, buflen, "%s", inc->exclusive);
        for (char *p = buf, *save = NULL, *tok; (tok = strtok_r(p, ";", &save)); p = NULL)
            if (n < WG_PLACE_MAX_EXCL + 3) codes[n++] = tok;
    }
    return n;
}
