/* serve_json.c -- the service's JSON answers (cJSON).
 *
 * GET /v1/locate answers with cli_locate_json() (json_place.c), what
 * `wangge locate` prints, so the two agree key for key (the CLI test
 * compares them). Incidents are GeoJSON Features (RFC 7946, lon/lat). */
#include "serve.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A string member without copies (see cli_json_ref). */
static void add_ref(cJSON *o, const char *key, const char *value) { cli_json_ref(o, key, value); }


typedef struct officers_ctx {
    cJSON *by_role;
    const char *scope;
    cJSON *arr;
    const char *last_role;
} officers_ctx;

static int add_officer(void *user, const wg_officer *of) {
    officers_ctx *oc = user;
    /* Officers come ordered by role: the last array is the one to extend. */
    cJSON *arr = oc->last_role && !strcmp(oc->last_role, of->role) ? oc->arr : NULL;
    if (!arr) arr = cJSON_GetObjectItemCaseSensitive(oc->by_role, of->role);
    if (!arr) cJSON_AddItemToObjectCS(oc->by_role, of->role, arr = cJSON_CreateArray());
    oc->arr = arr;
    oc->last_role = of->role;
    cJSON *o = cJSON_CreateObject();
    add_ref(o, "officer_id", of->officer_id);
    add_ref(o, "name", of->name);
    /* A phone number is shown only for officers of units within the key's
     * scope: a town's key does not learn the county's phone book. */
    if (of->phone && wg_code_in_scope(of->unit_code, oc->scope)) add_ref(o, "phone", of->phone);
    add_ref(o, "unit", of->unit_code);
    cJSON_AddItemToArray(arr, o);
    return 0;
}

static wg_status officers_json(cJSON *o, const wg_officer_index *ix, const char *const *codes,
                               size_t n, const char *scope) {
    officers_ctx oc = {cJSON_CreateObject(), scope, NULL, NULL};
    wg_status st = wg_officer_index_for_units(ix, codes, n, add_officer, &oc);
    cJSON_AddItemToObjectCS(o, "officers", oc.by_role);
    return st;
}

void officer_cache_free(worker *w) {
    if (!w->frags) return;
    for (size_t i = 0; i < OFFICER_CACHE; i++) {
        free(w->frags[i].key);
        free(w->frags[i].json);
    }
    free(w->frags);
    w->frags = NULL;
}

/* Many requests fall in the same few hundred grids: the officers of a set
 * of units (for one scope) are rendered once per locator and thread, then
 * reused as raw JSON. The cache is the thread's own: no locks. */
wg_status json_add_officers(cJSON *o, worker *w, const locref *lr, const char *const *codes,
                            size_t n, const char *scope) {
    char key[(WG_INCIDENT_TEXT_MAX + 1) * (WG_PLACE_MAX_EXCL + 4) + 8];
    size_t len = (size_t)snprintf(key, sizeof key, "%s", scope ? scope : "");
    for (size_t i = 0; i < n && len < sizeof key; i++)
        len += (size_t)snprintf(key + len, sizeof key - len, "\x1f%s", codes[i]);
    if (!w || len >= sizeof key) return officers_json(o, lr->officers, codes, n, scope);
    if (!w->frags && !(w->frags = calloc(OFFICER_CACHE, sizeof *w->frags)))
        return officers_json(o, lr->officers, codes, n, scope);
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)key[i]) * 1099511628211ULL;
    officer_frag *f = &w->frags[h % OFFICER_CACHE];
    if (f->gen == lr->gen && f->key && !strcmp(f->key, key)) {
        cJSON_AddItemToObjectCS(o, "officers", cJSON_CreateRaw(f->json));
        return WG_OK;
    }
    cJSON *tmp = cJSON_CreateObject();
    wg_status st = officers_json(tmp, lr->officers, codes, n, scope);
    cJSON *by_role = cJSON_DetachItemFromObjectCaseSensitive(tmp, "officers");
    cJSON_Delete(tmp);
    char *json = st ? NULL : cJSON_PrintUnformatted(by_role);
    char *k = json ? strdup(key) : NULL;
    if (json && k) {
        free(f->key);
        free(f->json);
        f->key = k, f->json = json, f->gen = lr->gen;
        cJSON_Delete(by_role);
        cJSON_AddItemToObjectCS(o, "officers", cJSON_CreateRaw(json));
    } else { /* out of memory for the cache: answer without it */
        free(json);
        free(k);
        cJSON_AddItemToObjectCS(o, "officers", by_role);
    }
    return st;
}

static void add_str(cJSON *o, const char *k, const char *v) {
    if (v) cJSON_AddStringToObject(o, k, v);
    else cJSON_AddNullToObject(o, k);
}

cJSON *json_incident(const wg_incident *inc) {
    cJSON *f = cJSON_CreateObject(), *g = cJSON_CreateObject(), *p = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "type", "Feature");
    cJSON_AddNumberToObject(f, "id", (double)inc->id);
    if (isfinite(inc->lon) && isfinite(inc->lat)) {
        cJSON_AddStringToObject(g, "type", "Point");
        double c[2] = {inc->lon, inc->lat};
        cJSON_AddItemToObject(g, "coordinates", cJSON_CreateDoubleArray(c, 2));
        cJSON_AddItemToObject(f, "geometry", g);
    } else {
        cJSON_Delete(g);
        cJSON_AddNullToObject(f, "geometry");
    }
    cJSON_AddNumberToObject(p, "id", (double)inc->id);
    add_str(p, "ext_id", inc->ext_id);
    add_str(p, "status", inc->status);
    add_str(p, "category", inc->category);
    add_str(p, "description", inc->description);
    add_str(p, "reporter", inc->reporter);
    add_str(p, "reported_at", inc->reported_at);
    add_str(p, "received_at", inc->received_at);
    add_str(p, "level", inc->level);
    add_str(p, "deadline", inc->deadline);
    add_str(p, "placement", inc->place_status);
    if (isfinite(inc->dist_m)) cJSON_AddNumberToObject(p, "distance_m", round(inc->dist_m * 100) / 100);
    else cJSON_AddNullToObject(p, "distance_m");
    add_str(p, "county", inc->county);
    add_str(p, "town", inc->town);
    add_str(p, "village", inc->village);
    add_str(p, "grid", inc->grid);
    add_str(p, "micro", inc->micro);
    cJSON *ex = cJSON_CreateArray();
    if (inc->exclusive && *inc->exclusive) {
        const char *s = inc->exclusive;
        while (*s) {
            size_t n = strcspn(s, ";");
            char code[WG_INCIDENT_TEXT_MAX * 2];
            snprintf(code, sizeof code, "%.*s", (int)(n < sizeof code - 1 ? n : sizeof code - 1), s);
            cJSON_AddItemToArray(ex, cJSON_CreateString(code));
            s += n + (s[n] == ';');
        }
    }
    cJSON_AddItemToObject(p, "exclusive", ex);
    add_str(p, "src_crs", inc->src_crs);
    cJSON_AddItemToObject(f, "properties", p);
    return f;
}
