/* cmd_incident.c -- `wangge incident WS ID [STEP]`: one incident's closed
 * loop: show it with its history, or move it one step. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void help(FILE *out) {
    fprintf(out,
        "usage: wangge incident WS ID [--accept | --assign OFFICER | --escalate | --handle |\n"
        "                              --verify | --reject | --close] [--note TEXT]\n"
        "                              [--satisfaction 1-5] [--actor WHO] [--at TIME]\n\n"
        "Shows incident ID (JSON: where it is, its state, deadline and colour, its history)\n"
        "or moves it one step of the closed loop 上报—受理—交办—处置—核查—结案 and then shows it:\n\n"
        "  --accept            reported -> accepted (受理)\n"
        "  --assign OFFICER    accepted|assigned -> assigned to an officer of the roster (交办)\n"
        "  --escalate          reported|accepted|assigned -> accepted one level up\n"
        "                      (grid -> village -> town -> county), with that level's limit\n"
        "  --handle            assigned -> handled (处置)\n"
        "  --verify            handled -> verified (核查)\n"
        "  --reject            handled -> assigned: verification sends it back\n"
        "  --close             verified -> closed (结案)\n"
        "  --note TEXT         a note for the history\n"
        "  --satisfaction N    with --close: the reporter's satisfaction, 1 to 5\n"
        "  --actor WHO         who acts (default: $USER)\n"
        "  --at TIME           RFC 3339 time of the step (default now); when only showing,\n"
        "                      the time the colour is judged at (green/yellow/red)\n\n"
        "A step the incident's status does not allow fails (exit 1) and changes nothing.\n"
        "Deadlines follow the workspace's rules (`wangge rules`).\n");
}

typedef struct show_ctx {
    cJSON *arr;
} show_ctx;

static int on_event(void *user, const wg_incident_event *ev) {
    show_ctx *s = user;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)ev->id);
    cli_json_text(o, "at", ev->at);
    cli_json_text(o, "event", ev->event);
    cli_json_text(o, "from", ev->from_status);
    cli_json_text(o, "to", ev->to_status);
    cli_json_text(o, "actor", ev->actor);
    cli_json_text(o, "note", ev->note);
    cJSON_AddItemToArray(s->arr, o);
    return 0;
}

/* The incident, its state at `at` and its history as one JSON object. */
static wg_status show(wg_ws *ws, int64_t id, int64_t at, cJSON **out) {
    wg_incident *inc = NULL;
    wg_incident_state st;
    wg_status rc;
    if ((rc = wg_incident_get(ws, id, &inc)) || (rc = wg_incident_state_get(ws, NULL, id, at, &st))) {
        wg_incident_free(inc);
        return rc;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)id);
    cli_json_text(o, "status", st.status);
    cli_json_text(o, "level", st.level);
    cli_json_text(o, "deadline", st.deadline);
    cli_incident_state_json(o, &st);
    cli_json_text(o, "category", inc->category);
    cli_json_text(o, "description", inc->description);
    cli_json_text(o, "reported_at", inc->reported_at);
    cli_json_text(o, "reporter", inc->reporter);
    cli_json_text(o, "grid", inc->grid);
    cli_json_text(o, "village", inc->village);
    cli_json_text(o, "town", inc->town);
    cli_json_text(o, "county", inc->county);
    if (isfinite(inc->lon)) {
        cJSON_AddNumberToObject(o, "lon", round(inc->lon * 1e7) / 1e7);
        cJSON_AddNumberToObject(o, "lat", round(inc->lat * 1e7) / 1e7);
    }
    char t[24];
    struct tm tm;
    time_t tt = (time_t)at;
    gmtime_r(&tt, &tm);
    strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%SZ", &tm);
    cJSON_AddStringToObject(o, "colour_at", t);
    show_ctx sc = {cJSON_AddArrayToObject(o, "history")};
    wg_incident_free(inc);
    rc = wg_incident_events(ws, id, on_event, &sc);
    if (rc) cJSON_Delete(o);
    else *out = o;
    return rc;
}

/* Seconds since 1970 of an RFC 3339 time (via the step parser's rules:
 * "YYYY-MM-DDTHH:MM:SS" and Z or an offset); -1 if malformed. */
static int64_t parse_time(const char *s) {
    int y, mo, d, h, mi, se, n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6) return -1;
    const char *z = s + n;
    if (*z == '.')
        for (z++; *z >= '0' && *z <= '9'; z++) {}
    int off = 0;
    if (*z == 'Z' && !z[1]) off = 0;
    else if ((*z == '+' || *z == '-') && strlen(z) == 6 && z[3] == ':')
        off = (*z == '-' ? -1 : 1) * (atoi(z + 1) * 3600 + atoi(z + 4) * 60);
    else return -1;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return -1;
    /* Days from 1970-01-01 of a proleptic Gregorian date (March-based years). */
    int64_t yy = y - (mo <= 2), era = yy / 400, yoe = yy - era * 400;
    int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
    return days * 86400 + h * 3600 + mi * 60 + se - off;
}

int cmd_incident(int argc, char **argv) {
    enum { O_ACCEPT = 256, O_ASSIGN, O_ESCALATE, O_HANDLE, O_VERIFY, O_REJECT, O_CLOSE, O_NOTE,
           O_SAT, O_ACTOR, O_AT };
    static const struct option longopts[] = {
        {"accept", no_argument, 0, O_ACCEPT},     {"assign", required_argument, 0, O_ASSIGN},
        {"escalate", no_argument, 0, O_ESCALATE}, {"handle", no_argument, 0, O_HANDLE},
        {"verify", no_argument, 0, O_VERIFY},     {"reject", no_argument, 0, O_REJECT},
        {"close", no_argument, 0, O_CLOSE},       {"note", required_argument, 0, O_NOTE},
        {"satisfaction", required_argument, 0, O_SAT},
        {"actor", required_argument, 0, O_ACTOR}, {"at", required_argument, 0, O_AT},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    wg_step step;
    memset(&step, 0, sizeof step);
    int nact = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_ACCEPT: case O_ESCALATE: case O_HANDLE: case O_VERIFY: case O_REJECT: case O_CLOSE:
        case O_ASSIGN:
            nact++;
            step.action = c == O_ACCEPT     ? WG_ACT_ACCEPT
                          : c == O_ASSIGN   ? WG_ACT_ASSIGN
                          : c == O_ESCALATE ? WG_ACT_ESCALATE
                          : c == O_HANDLE   ? WG_ACT_HANDLE
                          : c == O_VERIFY   ? WG_ACT_VERIFY
                          : c == O_REJECT   ? WG_ACT_REJECT
                                            : WG_ACT_CLOSE;
            if (c == O_ASSIGN) step.officer = optarg;
            break;
        case O_NOTE: step.note = optarg; break;
        case O_SAT: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 5)
                return cli_usage_error("incident", "--satisfaction must be 1 to 5");
            step.satisfaction = (int)v;
            break;
        }
        case O_ACTOR: step.actor = optarg; break;
        case O_AT: step.at = optarg; break;
        case 'h': help(stdout); return EXIT_OK;
        default: help(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc - 2) return cli_usage_error("incident", "expected WS and an incident id");
    char *end;
    errno = 0;
    long long id = strtoll(argv[optind + 1], &end, 10);
    if (*end || errno || id <= 0)
        return cli_usage_error("incident", "'%s' is not an incident id", argv[optind + 1]);
    if (nact > 1) return cli_usage_error("incident", "one step at a time");
    if (!nact && (step.note || step.satisfaction || step.actor))
        return cli_usage_error("incident", "--note, --satisfaction and --actor go with a step");
    if (step.satisfaction && step.action != WG_ACT_CLOSE)
        return cli_usage_error("incident", "--satisfaction goes with --close");
    int64_t at = step.at ? parse_time(step.at) : (int64_t)time(NULL);
    if (at < 0) return cli_usage_error("incident", "--at needs an RFC 3339 time with an offset "
                                       "(e.g. 2024-03-01T09:00:00+08:00)");
    if (nact && !step.actor) step.actor = getenv("USER");
    wg_ctx *ctx = cli_ctx();
    wg_ws *ws = NULL;
    cJSON *o = NULL;
    int rc = EXIT_OK;
    wg_status st;
    if ((st = wg_ws_open(ctx, argv[optind], 0, &ws)) ||
        (nact && (st = wg_incident_step(ws, (int64_t)id, &step, NULL))) ||
        (st = show(ws, (int64_t)id, at, &o)))
        rc = cli_fail("incident", ctx, st);
    else
        cli_json_out(o, 1);
    wg_ws_close(ws);
    wg_ctx_free(ctx);
    return rc;
}
