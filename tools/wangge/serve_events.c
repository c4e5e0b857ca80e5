/* serve_events.c -- POST /v1/incidents/{id}/events: a step of the closed
 * loop (accept, assign, escalate, handle, verify, reject, close) sent by a
 * handset or the command center.
 *
 * The handler thread checks the body and the key's scope against the
 * incident (read on its read-only connection), then hands the step to the
 * writer thread, the service's one writer: the step's transaction commits
 * there and the answer (the incident as GET shows it, with its history)
 * is sent only after COMMIT. A step the incident's status does not allow
 * is 409 and changes nothing. */
#include "serve.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const char *const FIELDS[] = {"action", "officer", "note", "satisfaction", "at"};

/* Parses the body into r->step; on failure answers 400 and returns 0. */
static int parse_body(req *r) {
    cJSON *o = cJSON_ParseWithLength(r->body ? r->body : "", r->body_len);
    int ok = 0;
    if (!o || !cJSON_IsObject(o)) {
        req_error(r, 400, "invalid_json", "the body must be one JSON object");
        goto done;
    }
    for (cJSON *m = o->child; m; m = m->next) {
        int known = 0;
        for (size_t i = 0; i < sizeof FIELDS / sizeof FIELDS[0]; i++)
            known |= m->string && !strcmp(m->string, FIELDS[i]);
        if (!known) {
            req_error(r, 400, "unknown_field", "unknown member '%.40s' (action, officer, note, "
                      "satisfaction, at)", m->string ? m->string : "");
            goto done;
        }
        for (cJSON *k = o->child; k != m; k = k->next)
            if (!strcmp(k->string, m->string)) {
                req_error(r, 400, "duplicate_field", "'%s' is given twice", m->string);
                goto done;
            }
    }
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "action");
    if (!cJSON_IsString(a) || wg_action_parse(a->valuestring, &r->step.action)) {
        req_error(r, a ? 400 : 400, a ? "invalid_field" : "missing_field",
                  "'action' must be one of accept, assign, escalate, handle, verify, reject, "
                  "close");
        goto done;
    }
    const cJSON *of = cJSON_GetObjectItemCaseSensitive(o, "officer");
    const cJSON *no = cJSON_GetObjectItemCaseSensitive(o, "note");
    const cJSON *sa = cJSON_GetObjectItemCaseSensitive(o, "satisfaction");
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(o, "at");
    if (of && (!cJSON_IsString(of) || strlen(of->valuestring) > WG_INCIDENT_TEXT_MAX)) {
        req_error(r, 400, "invalid_field", "'officer' must be an officer id (at most %d bytes)",
                  WG_INCIDENT_TEXT_MAX);
        goto done;
    }
    if (no && (!cJSON_IsString(no) || strlen(no->valuestring) > WG_INCIDENT_DESC_MAX)) {
        req_error(r, 400, "invalid_field", "'note' must be text of at most %d bytes",
                  WG_INCIDENT_DESC_MAX);
        goto done;
    }
    if (sa && (!cJSON_IsNumber(sa) || sa->valuedouble != (double)(int)sa->valuedouble ||
               sa->valueint < 1 || sa->valueint > 5)) {
        req_error(r, 400, "invalid_field", "'satisfaction' must be an integer 1 to 5");
        goto done;
    }
    if (at && (!cJSON_IsString(at) || strlen(at->valuestring) >= sizeof r->step_at)) {
        req_error(r, 400, "invalid_field", "'at' must be an RFC 3339 time");
        goto done;
    }
    if (of) snprintf(r->step_officer, sizeof r->step_officer, "%s", of->valuestring);
    if (at) snprintf(r->step_at, sizeof r->step_at, "%s", at->valuestring);
    if (no && !(r->step_note = strdup(no->valuestring))) {
        req_error(r, 503, "unavailable", "out of memory");
        goto done;
    }
    r->step.officer = of ? r->step_officer : NULL;
    r->step.at = at ? r->step_at : NULL;
    r->step.note = r->step_note;
    r->step.satisfaction = sa ? sa->valueint : 0;
    ok = 1;
done:
    cJSON_Delete(o);
    return ok;
}

int h_event_post(req *r, worker *w) {
    const char *p = r->param;
    size_t n = strspn(p, "0123456789");
    if (!*p || p[n] || n > 18 || p[0] == '0') {
        req_error(r, 400, "invalid_parameter", "an incident id is a positive integer");
        return 0;
    }
    r->step_id = strtoll(p, NULL, 10);
    if (!parse_body(r)) return 0;
    /* The scope is the incident's, read before anything is written; an
     * incident's units never change, so the writer acts on what was checked. */
    wg_incident *inc = NULL;
    wg_status st = wg_incident_get(w->ws, r->step_id, &inc);
    if (st == WG_ERR_NOT_FOUND) {
        req_error(r, 404, "not_found", "no incident %lld", (long long)r->step_id);
        return 0;
    }
    if (st) {
        req_error(r, 503, "unavailable", "cannot read incident: %s", wg_ctx_errmsg(w->ctx));
        return 0;
    }
    const char *code = wg_incident_scope_code(inc);
    int inside = wg_code_in_scope(code, r->key.scope);
    if (!inside)
        req_error(r, 403, "forbidden", "incident in %s is outside the scope '%s' of key '%s'",
                  code ? code : "(outside every unit)", r->key.scope, r->key.name);
    wg_incident_free(inc);
    if (!inside) return 0;
    snprintf(r->actor, sizeof r->actor, "key:%s", r->key.name);
    r->step.actor = r->actor;
    r->kind = 1;
    if (writer_submit(r)) return 1;
    req_error(r, 503, "unavailable", "the server is shutting down; send the step again");
    return 0;
}

void writer_run_step(req *r) {
    r->wst = wg_incident_step(SRV.wws, r->step_id, &r->step, NULL);
    if (r->wst) snprintf(r->werr, sizeof r->werr, "%s", wg_ctx_errmsg(SRV.wctx));
}

void h_event_answer(req *r, worker *w) {
    switch (r->wst) {
    case WG_OK: h_incident_show(r, w, r->step_id, 200); break;
    case WG_ERR_CONSTRAINT: req_error(r, 409, "conflict", "%s", r->werr); break;
    case WG_ERR_NOT_FOUND: /* the incident was there: the officer is not */
    case WG_ERR_INVALID_ARG: req_error(r, 400, "invalid_field", "%s", r->werr); break;
    default: req_error(r, 503, "unavailable", "the step was not stored: %s", r->werr); break;
    }
}
