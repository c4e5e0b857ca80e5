/* json_incident.c -- the JSON of where an incident stands (its colour,
 * assignee, deadlines and closing), shared by `wangge incident` and the
 * service's incident answers, which must print the same keys. */
#include "cli.h"

#include <cjson/cJSON.h>

void cli_json_text(cJSON *o, const char *k, const char *v) {
    if (v && *v) cJSON_AddStringToObject(o, k, v);
    else cJSON_AddNullToObject(o, k);
}

void cli_incident_state_json(cJSON *o, const wg_incident_state *st) {
    cli_json_text(o, "colour", wg_colour_name(st->colour));
    cli_json_text(o, "assignee", st->assignee);
    cli_json_text(o, "deadline_counts", st->clock);
    cli_json_text(o, "dispatch_deadline", st->dispatch_deadline);
    cli_json_text(o, "level_since", st->level_since);
    cli_json_text(o, "accepted_at", st->accepted_at);
    cli_json_text(o, "closed_at", st->closed_at);
    if (st->closed_at[0]) cJSON_AddBoolToObject(o, "closed_on_time", st->closed_on_time);
    if (st->satisfaction) cJSON_AddNumberToObject(o, "satisfaction", st->satisfaction);
    else cJSON_AddNullToObject(o, "satisfaction");
}
