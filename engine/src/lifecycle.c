/* lifecycle.c -- the closed loop's state machine: report -> accept ->
 * assign -> handle -> verify -> close, with escalation up the chain of
 * levels and verification sending a case back to handling.
 *
 * The transition table below is the whole policy; wg_incident_step()
 * reads the incident, checks the step against the table, computes what
 * changes (the level and its deadline on escalation, the assignee, the
 * times of acceptance and closing) and writes the update and the history
 * row in one transaction, so the history always explains the status.
 * Steps carry their own time (`at`) so a year of hotline records can be
 * replayed; time never runs backwards within one incident's history (the
 * report counts at its reported_at, so history can be loaded after the fact).
 *
 * The schema additions are made here too, for workspaces of the previous
 * version: missing columns are added at the first read-write use. */
#include "deadlines.h"
#include "httpparse.h"
#include "workspace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- schema --------------------------------------------------------------- */

static const struct {
    const char *table, *column, *type;
} COLUMNS[] = {
    {"incidents", "assignee", "TEXT"},          {"incidents", "accepted_at", "TEXT"},
    {"incidents", "closed_at", "TEXT"},         {"incidents", "satisfaction", "INTEGER"},
    {"incidents", "level_since", "TEXT"},       {"incidents", "deadline_clock", "TEXT"},
    {"incidents", "dispatch_deadline", "TEXT"}, {"incident_events", "officer", "TEXT"},
    {"incident_events", "level", "TEXT"},
};
#define NCOLUMNS (sizeof COLUMNS / sizeof COLUMNS[0])

static const char *const VIEW_SQL =
    "CREATE INDEX IF NOT EXISTS incidents_reported ON incidents(reported_at);\n"
    "CREATE VIEW IF NOT EXISTS incident_state AS SELECT id, grid_code, village_code,\n"
    "  town_code, county_code, category, level, coalesce(status, 'reported') AS status,\n"
    "  assignee, reported_at, accepted_at, closed_at, deadline, dispatch_deadline,\n"
    "  satisfaction, coalesce(status, 'reported') <> 'closed' AS is_open,\n"
    "  (coalesce(status, 'reported') <> 'closed' AND (deadline < strftime('%Y-%m-%dT%H:%M:%SZ',\n"
    "   'now') OR (coalesce(status, 'reported') IN ('reported', 'accepted') AND\n"
    "   dispatch_deadline < strftime('%Y-%m-%dT%H:%M:%SZ', 'now')))) IS 1 AS is_overdue_now\n"
    "FROM incidents;\n";

int wg_lifecycle_ready(wg_ws *ws) {
    sqlite3_stmt *st = NULL;
    int ok = 0;
    if (sqlite3_prepare_v2(
            ws->db,
            "SELECT (SELECT count(*) FROM sqlite_master WHERE name IN ('deadline_rules', "
            "'work_calendar','incident_state','incidents_reported','incident_events','api_keys')) "
            "+ (SELECT count(*) FROM pragma_table_info('incidents') WHERE name IN ('assignee',"
            "'accepted_at','closed_at','satisfaction','level_since','deadline_clock',"
            "'dispatch_deadline','reporter','received_at','level','deadline')) "
            "+ (SELECT count(*) FROM pragma_table_info('incident_events') WHERE name IN "
            "('officer','level'))",
            -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        ok = sqlite3_column_int(st, 0) == 6 + 11 + 2;
    sqlite3_finalize(st);
    return ok;
}

wg_status wg_lifecycle_init(wg_ws *ws) {
    if (wg_lifecycle_ready(ws)) return WG_OK;
    if (ws->readonly)
        return wg_err(ws->ctx, WG_ERR_INVALID_ARG,
                      "the workspace lacks the closed loop's tables (made by an older wangge); "
                      "open it read-write once (e.g. `wangge rules WS --show`)");
    wg_status rc = wg_incidents_init(ws);
    if (rc || (rc = wg_ws_begin(ws))) return rc;
    for (size_t i = 0; i < NCOLUMNS && !rc; i++) {
        if (wg_ws_has_column(ws, COLUMNS[i].table, COLUMNS[i].column)) continue;
        char sql[128];
        snprintf(sql, sizeof sql, "ALTER TABLE %s ADD COLUMN %s %s", COLUMNS[i].table,
                 COLUMNS[i].column, COLUMNS[i].type);
        rc = wg_ws_exec(ws, sql);
    }
    if (!rc) rc = wg_rules_tables(ws);
    if (!rc) rc = wg_ws_exec(ws, VIEW_SQL);
    if (rc) wg_ws_rollback(ws);
    else rc = wg_ws_commit(ws);
    return rc;
}

/* ---- the transition table ----------------------------------------------- */

static const struct {
    const char *name;
    const char *from[4]; /* statuses that allow it */
    const char *to;
} STEPS[WG_ACTION_COUNT] = {
    [WG_ACT_ACCEPT] = {"accept", {"reported"}, "accepted"},
    [WG_ACT_ASSIGN] = {"assign", {"accepted", "assigned"}, "assigned"},
    [WG_ACT_ESCALATE] = {"escalate", {"reported", "accepted", "assigned"}, "accepted"},
    [WG_ACT_HANDLE] = {"handle", {"assigned"}, "handled"},
    [WG_ACT_VERIFY] = {"verify", {"handled"}, "verified"},
    [WG_ACT_REJECT] = {"reject", {"handled"}, "assigned"},
    [WG_ACT_CLOSE] = {"close", {"verified"}, "closed"},
};

const char *wg_action_name(wg_action a) {
    return (unsigned)a < WG_ACTION_COUNT ? STEPS[a].name : NULL;
}

wg_status wg_action_parse(const char *s, wg_action *out) {
    for (int i = 0; s && i < WG_ACTION_COUNT; i++)
        if (!strcmp(s, STEPS[i].name)) {
            *out = (wg_action)i;
            return WG_OK;
        }
    return WG_ERR_INVALID_ARG;
}

static int allowed(wg_action a, const char *status) {
    for (int i = 0; i < 4 && STEPS[a].from[i]; i++)
        if (!strcmp(STEPS[a].from[i], status)) return 1;
    return 0;
}

static const char *const CHAIN[] = {"grid", "village", "town", "county"};

/* The level above `level`, NULL at the top (or for an unknown level). */
static const char *level_up(const char *level) {
    for (int i = 0; i < 3; i++)
        if (!strcmp(level, CHAIN[i])) return CHAIN[i + 1];
    return NULL;
}

/* ---- a step ------------------------------------------------------------------- */

typedef struct cur {
    char status[16], level[16], category[WG_INCIDENT_TEXT_MAX + 1];
    char assignee[WG_INCIDENT_TEXT_MAX + 1], accepted_at[24], closed_at[24];
    char level_since[24], deadline[24], clock[16], dispatch[24], last_at[40];
    int has_grid, satisfaction;
} cur;

static void col(sqlite3_stmt *st, int i, char *out, size_t n) {
    const char *s = (const char *)sqlite3_column_text(st, i);
    snprintf(out, n, "%s", s ? s : "");
}

static wg_status read_cur(wg_ws *ws, int64_t id, cur *c) {
    sqlite3_stmt *st = NULL;
    wg_status rc = wg_ws_prepare(
        ws,
        "SELECT coalesce(status, 'reported'), level, category, assignee, accepted_at, "
        "closed_at, level_since, deadline, deadline_clock, dispatch_deadline, "
        "coalesce((SELECT at FROM incident_events WHERE incident_id = incidents.id AND "
        "event <> 'report' ORDER BY id DESC LIMIT 1), reported_at), grid_code IS NOT NULL, satisfaction FROM incidents WHERE id = ?",
        &st);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, id);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        memset(c, 0, sizeof *c);
        col(st, 0, c->status, sizeof c->status);
        col(st, 1, c->level, sizeof c->level);
        col(st, 2, c->category, sizeof c->category);
        col(st, 3, c->assignee, sizeof c->assignee);
        col(st, 4, c->accepted_at, sizeof c->accepted_at);
        col(st, 5, c->closed_at, sizeof c->closed_at);
        col(st, 6, c->level_since, sizeof c->level_since);
        col(st, 7, c->deadline, sizeof c->deadline);
        col(st, 8, c->clock, sizeof c->clock);
        col(st, 9, c->dispatch, sizeof c->dispatch);
        col(st, 10, c->last_at, sizeof c->last_at);
        c->has_grid = sqlite3_column_int(st, 11);
        c->satisfaction = sqlite3_column_int(st, 12);
        /* Incidents stored before levels existed are the grid's when placed in one. */
        if (!c->level[0]) snprintf(c->level, sizeof c->level, "%s", c->has_grid ? "grid" : "county");
    } else if (r == SQLITE_DONE) {
        rc = wg_err(ws->ctx, WG_ERR_NOT_FOUND, "no incident %lld", (long long)id);
    } else {
        rc = wg_ws_sqlerr(ws, "reading an incident");
    }
    sqlite3_finalize(st);
    return rc;
}

static wg_status officer_exists(wg_ws *ws, const char *officer) {
    sqlite3_stmt *st = NULL;
    wg_status rc = wg_ws_prepare(ws, "SELECT 1 FROM officers WHERE officer_id = ?", &st);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, officer, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    sqlite3_finalize(st);
    if (r == SQLITE_ROW) return WG_OK;
    if (r == SQLITE_DONE)
        return wg_err(ws->ctx, WG_ERR_NOT_FOUND, "no officer '%s' in the roster "
                      "(import-officers)", officer);
    return wg_ws_sqlerr(ws, "looking up an officer");
}

static wg_status check_step(wg_ctx *ctx, const wg_step *s, int64_t now, int64_t *at) {
    if ((unsigned)s->action >= WG_ACTION_COUNT)
        return wg_err(ctx, WG_ERR_INVALID_ARG, "unknown action %d", (int)s->action);
    if (s->note && !wg_text_ok(s->note, strlen(s->note), WG_INCIDENT_DESC_MAX, 1))
        return wg_err(ctx, WG_ERR_INVALID_ARG, "the note must be at most %d bytes of UTF-8 "
                      "text without control characters", WG_INCIDENT_DESC_MAX);
    if (s->actor && !wg_text_ok(s->actor, strlen(s->actor), WG_INCIDENT_TEXT_MAX * 2, 0))
        return wg_err(ctx, WG_ERR_INVALID_ARG, "the actor must be at most %d bytes of UTF-8 "
                      "text without control characters", WG_INCIDENT_TEXT_MAX * 2);
    if (s->action == WG_ACT_ASSIGN &&
        (!s->officer || !*s->officer ||
         !wg_text_ok(s->officer, strlen(s->officer), WG_INCIDENT_TEXT_MAX, 0)))
        return wg_err(ctx, WG_ERR_INVALID_ARG, "assign needs an officer id");
    if (s->action != WG_ACT_ASSIGN && s->officer && *s->officer)
        return wg_err(ctx, WG_ERR_INVALID_ARG, "only assign takes an officer");
    if (s->satisfaction && (s->action != WG_ACT_CLOSE || s->satisfaction < 1 ||
                            s->satisfaction > 5))
        return wg_err(ctx, WG_ERR_INVALID_ARG, s->action != WG_ACT_CLOSE
                      ? "satisfaction is given when closing" : "satisfaction must be 1 to 5");
    *at = now;
    if (s->at) {
        if (!wg_time_parse(s->at, strlen(s->at), at))
            return wg_err(ctx, WG_ERR_INVALID_ARG, "'%.40s' is not an RFC 3339 time with an "
                          "offset", s->at);
        if (*at > now + 3600)
            return wg_err(ctx, WG_ERR_INVALID_ARG, "'%.40s' is in the future", s->at);
    }
    return WG_OK;
}

static void bind_or_null(sqlite3_stmt *st, int k, const char *s) {
    if (s && *s) sqlite3_bind_text(st, k, s, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(st, k);
}

wg_status wg_incident_step(wg_ws *ws, int64_t id, const wg_step *s, wg_step_result *out) {
    wg_ctx *ctx = ws->ctx;
    if (ws->readonly) return wg_err(ctx, WG_ERR_INVALID_ARG, "the workspace is open read-only");
    int64_t at;
    wg_status rc = check_step(ctx, s, wg_time_now(), &at);
    if (rc) return rc;
    wg_rules *rules = NULL;
    sqlite3_stmt *up = NULL, *ev = NULL;
    cur c;
    if ((rc = wg_lifecycle_init(ws)) || (rc = wg_rules_load(ws, &rules)) ||
        (rc = wg_ws_begin(ws)) || (rc = read_cur(ws, id, &c)))
        goto done;
    const char *act = STEPS[s->action].name, *to = STEPS[s->action].to;
    if (!allowed(s->action, c.status)) {
        char from[64] = "";
        for (int i = 0; i < 4 && STEPS[s->action].from[i]; i++)
            snprintf(from + strlen(from), sizeof from - strlen(from), "%s%s", i ? " or " : "",
                     STEPS[s->action].from[i]);
        rc = wg_err(ctx, WG_ERR_CONSTRAINT, "incident %lld is %s: cannot %s it (%s needs an "
                    "incident that is %s)", (long long)id, c.status, act, act, from);
        goto done;
    }
    int64_t last;
    if (c.last_at[0] && wg_time_parse(c.last_at, strlen(c.last_at), &last) && at < last) {
        char a[24];
        wg_time_format(at, a);
        rc = wg_err(ctx, WG_ERR_CONSTRAINT, "incident %lld: %s at %s is before its last event "
                    "(%s)", (long long)id, act, a, c.last_at);
        goto done;
    }
    char ats[24];
    wg_time_format(at, ats);
    switch (s->action) {
    case WG_ACT_ACCEPT: snprintf(c.accepted_at, sizeof c.accepted_at, "%s", ats); break;
    case WG_ACT_ASSIGN:
        if ((rc = officer_exists(ws, s->officer))) goto done;
        snprintf(c.assignee, sizeof c.assignee, "%s", s->officer);
        break;
    case WG_ACT_ESCALATE: {
        const char *up_level = level_up(c.level);
        if (!up_level) {
            rc = wg_err(ctx, WG_ERR_CONSTRAINT, "incident %lld is at level %s: there is no "
                        "level above to escalate to", (long long)id, c.level);
            goto done;
        }
        int64_t dl;
        wg_clock clock;
        const char *cat = c.category[0] ? c.category : NULL;
        if ((rc = wg_rules_deadline(ctx, rules, up_level, cat, at, &dl, &clock))) goto done;
        snprintf(c.level, sizeof c.level, "%s", up_level);
        snprintf(c.level_since, sizeof c.level_since, "%s", ats);
        wg_time_format(dl, c.deadline);
        snprintf(c.clock, sizeof c.clock, "%s", wg_clock_name(clock));
        c.dispatch[0] = 0;
        if (wg_rules_has(rules, "dispatch")) {
            if ((rc = wg_rules_deadline(ctx, rules, "dispatch", cat, at, &dl, NULL))) goto done;
            wg_time_format(dl, c.dispatch);
        }
        c.assignee[0] = 0;
        if (!c.accepted_at[0]) snprintf(c.accepted_at, sizeof c.accepted_at, "%s", ats);
        break;
    }
    case WG_ACT_CLOSE:
        snprintf(c.closed_at, sizeof c.closed_at, "%s", ats);
        c.satisfaction = s->satisfaction;
        break;
    default: break;
    }
    if ((rc = wg_ws_prepare(ws, "UPDATE incidents SET status = ?, level = ?, assignee = ?, "
                                "accepted_at = ?, closed_at = ?, satisfaction = ?, "
                                "level_since = ?, deadline = ?, deadline_clock = ?, "
                                "dispatch_deadline = ? WHERE id = ?", &up)))
        goto done;
    sqlite3_bind_text(up, 1, to, -1, SQLITE_STATIC);
    bind_or_null(up, 2, c.level);
    bind_or_null(up, 3, c.assignee);
    bind_or_null(up, 4, c.accepted_at);
    bind_or_null(up, 5, c.closed_at);
    if (c.satisfaction) sqlite3_bind_int(up, 6, c.satisfaction);
    else sqlite3_bind_null(up, 6);
    bind_or_null(up, 7, c.level_since);
    bind_or_null(up, 8, c.deadline);
    bind_or_null(up, 9, c.clock);
    bind_or_null(up, 10, c.dispatch);
    sqlite3_bind_int64(up, 11, id);
    if (sqlite3_step(up) != SQLITE_DONE) {
        rc = wg_ws_sqlerr(ws, "updating an incident");
        goto done;
    }
    if ((rc = wg_ws_prepare(ws, "INSERT INTO incident_events(incident_id, at, event, "
                                "from_status, to_status, actor, note, officer, level) "
                                "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)", &ev)))
        goto done;
    sqlite3_bind_int64(ev, 1, id);
    sqlite3_bind_text(ev, 2, ats, -1, SQLITE_STATIC);
    sqlite3_bind_text(ev, 3, act, -1, SQLITE_STATIC);
    sqlite3_bind_text(ev, 4, c.status, -1, SQLITE_STATIC);
    sqlite3_bind_text(ev, 5, to, -1, SQLITE_STATIC);
    bind_or_null(ev, 6, s->actor);
    bind_or_null(ev, 7, s->note);
    bind_or_null(ev, 8, s->action == WG_ACT_ASSIGN ? s->officer : NULL);
    bind_or_null(ev, 9, c.level);
    if (sqlite3_step(ev) != SQLITE_DONE) {
        rc = wg_ws_sqlerr(ws, "recording an incident's history");
        goto done;
    }
    if (out) {
        memset(out, 0, sizeof *out);
        out->event_id = sqlite3_last_insert_rowid(ws->db);
        snprintf(out->from_status, sizeof out->from_status, "%s", c.status);
        snprintf(out->to_status, sizeof out->to_status, "%s", to);
        snprintf(out->level, sizeof out->level, "%s", c.level);
        snprintf(out->at, sizeof out->at, "%s", ats);
        snprintf(out->deadline, sizeof out->deadline, "%s", c.deadline);
    }
done:
    sqlite3_finalize(up);
    sqlite3_finalize(ev);
    if (!rc) rc = wg_ws_commit(ws);
    if (rc) wg_ws_rollback(ws);
    wg_rules_free(rules);
    return rc;
}

/* ---- where an incident stands ------------------------------------------------- */

wg_colour wg_state_colour(const wg_rules *r, const char *status, const char *category,
                          const char *clock_s, const char *start_s, const char *deadline_s,
                          const char *dispatch_s, int64_t at) {
    if (status && !strcmp(status, "closed")) return WG_COLOUR_CLOSED;
    int64_t start, dl;
    wg_colour c = WG_COLOUR_GREEN;
    if (!start_s || !deadline_s || !wg_time_parse(start_s, strlen(start_s), &start) ||
        !wg_time_parse(deadline_s, strlen(deadline_s), &dl))
        return c;
    wg_clock clock = WG_CLOCK_DAYS;
    if (clock_s) wg_clock_parse(clock_s, &clock);
    c = wg_rules_colour(r, clock, start, dl, at);
    int undispatched = !status || !strcmp(status, "reported") || !strcmp(status, "accepted");
    if (undispatched && dispatch_s && wg_time_parse(dispatch_s, strlen(dispatch_s), &dl)) {
        wg_clock dc = WG_CLOCK_WORKDAYS;
        wg_rules_clock_of(r, "dispatch", category, &dc);
        wg_colour d = wg_rules_colour(r, dc, start, dl, at);
        if (d > c) c = d;
    }
    return c;
}

wg_status wg_incident_state_get(wg_ws *ws, const wg_rules *rules, int64_t id, int64_t at,
                                wg_incident_state *out) {
    wg_rules *own = NULL;
    sqlite3_stmt *st = NULL;
    wg_status rc = wg_lifecycle_init(ws);
    if (rc) return rc;
    if (!rules) {
        if ((rc = wg_rules_load(ws, &own))) return rc;
        rules = own;
    }
    if ((rc = wg_ws_prepare(ws, "SELECT coalesce(status, 'reported'), level, deadline_clock, "
                                "assignee, coalesce(level_since, received_at, reported_at), "
                                "deadline, dispatch_deadline, accepted_at, closed_at, "
                                "satisfaction, category, grid_code IS NOT NULL FROM incidents "
                                "WHERE id = ?", &st)))
        goto done;
    sqlite3_bind_int64(st, 1, id);
    int r = sqlite3_step(st);
    if (r == SQLITE_DONE) {
        rc = wg_err(ws->ctx, WG_ERR_NOT_FOUND, "no incident %lld", (long long)id);
        goto done;
    }
    if (r != SQLITE_ROW) {
        rc = wg_ws_sqlerr(ws, "reading an incident");
        goto done;
    }
    memset(out, 0, sizeof *out);
    out->id = id;
    col(st, 0, out->status, sizeof out->status);
    col(st, 1, out->level, sizeof out->level);
    if (!out->level[0])
        snprintf(out->level, sizeof out->level, "%s", sqlite3_column_int(st, 11) ? "grid" : "county");
    col(st, 2, out->clock, sizeof out->clock);
    col(st, 3, out->assignee, sizeof out->assignee);
    /* reported_at of incidents stored by an old `place --store` is the
     * source's text: normalise it. */
    const char *since = (const char *)sqlite3_column_text(st, 4);
    int64_t t;
    if (since && wg_time_parse(since, strlen(since), &t)) wg_time_format(t, out->level_since);
    col(st, 5, out->deadline, sizeof out->deadline);
    col(st, 6, out->dispatch_deadline, sizeof out->dispatch_deadline);
    col(st, 7, out->accepted_at, sizeof out->accepted_at);
    col(st, 8, out->closed_at, sizeof out->closed_at);
    out->satisfaction = sqlite3_column_int(st, 9);
    out->colour = wg_state_colour(rules, out->status, (const char *)sqlite3_column_text(st, 10),
                                  out->clock[0] ? out->clock : NULL,
                                  out->level_since[0] ? out->level_since : NULL,
                                  out->deadline[0] ? out->deadline : NULL,
                                  out->dispatch_deadline[0] ? out->dispatch_deadline : NULL, at);
    out->closed_on_time = out->closed_at[0] && out->deadline[0] &&
                          strcmp(out->closed_at, out->deadline) <= 0;
done:
    sqlite3_finalize(st);
    wg_rules_free(own);
    return rc;
}
