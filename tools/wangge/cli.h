/* cli.h -- what the `wangge` subcommands share: exit codes, error printing,
 * the progress bar, and opening a workspace. Only the public API is used. */
#ifndef WG_CLI_H
#define WG_CLI_H

#include <wangge/wangge.h>

#include <getopt.h>
#include <stdio.h>

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* Prints "wangge CMD: message" to stderr (printf-style) and returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses a --threads value (1..max) into *out; 0 on success, else the
 * usage error's status (EXIT_USAGE) after saying so. */
int cli_threads_opt(const char *cmd, const char *arg, int max, int *out);

/* Prints the context's error for a failed call and returns EXIT_FAIL. */
int cli_fail(const char *cmd, wg_ctx *ctx, wg_status st);

/* Creates a context with the terminal progress bar installed (when stderr
 * is a terminal). Exits the process on failure. */
wg_ctx *cli_ctx(void);

/* Ends a progress bar line if one was drawn. */
void cli_progress_done(void);

/* Prints a JSON value on stdout (one line unless `pretty`) and frees it. */
typedef struct cJSON cJSON;
void cli_json_out(cJSON *o, int pretty);

/* A route as a GeoJSON Feature (see `wangge route --help`), and a snapped
 * point as JSON; new objects, owned by the caller (json_roads.c). */
cJSON *cli_route_json(const wg_route *rt, const char *profile);

/* json_incident.c: a text member, null when v is NULL or empty. */
void cli_json_text(cJSON *o, const char *key, const char *v);
/* Where an incident stands (colour, assignee, deadline_counts,
 * dispatch_deadline, level_since, accepted_at, closed_at, closed_on_time,
 * satisfaction; null when unset) as members of `o` (copied). */
void cli_incident_state_json(cJSON *o, const wg_incident_state *st);

/* json_place.c */
/* A string member that references `value` instead of copying it: print the
 * tree while the string lives. */
void cli_json_ref(cJSON *o, const char *key, const char *value);
/* The answer of `wangge locate` and GET /v1/locate. Strings are referenced,
 * not copied: print it while the placement's locator is held. */
cJSON *cli_locate_json(const wg_placement *pl, double x, double y, const char *crs, double lon,
                       double lat, const char *at);
/* The units whose officers answer for a placement or an incident, in
 * `wangge locate`'s order: grid, micro, village, exclusive (an incident's
 * exclusive codes are split into `buf`). Returns how many (at most
 * WG_PLACE_MAX_EXCL + 3). */
size_t cli_officer_codes(const wg_placement *pl, const wg_incident *inc, const char **codes,
                         char *buf, size_t buflen);
cJSON *cli_snap_json(const wg_snap *s);

/* Adds a dispatch's status, snapped point, ranked officers and counts to
 * `j` (`nst` stations considered). A phone number is included when
 * `show_phone` is NULL or returns non-zero for the officer. */
void cli_dispatch_json(cJSON *j, const wg_dispatch_result *d, size_t nst,
                       int (*show_phone)(const wg_dispatch_hit *h, void *user), void *user);

/* Parses a CRS argument "EPSG:n" / "n" into an EPSG code; 0 if malformed. */
int cli_parse_epsg(const char *s);

/* A subcommand: its name, one-line summary, and entry point. */
typedef struct cli_cmd {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} cli_cmd;

int cmd_init(int argc, char **argv);
int cmd_import_grids(int argc, char **argv);
int cmd_import_officers(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_locate(int argc, char **argv);
int cmd_place(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_keys(int argc, char **argv);
int cmd_roads(int argc, char **argv);
int cmd_route(int argc, char **argv);
int cmd_dispatch(int argc, char **argv);
int cmd_isochrone(int argc, char **argv);
int cmd_coverage(int argc, char **argv);
int cmd_heatmap(int argc, char **argv);
/* The closed loop (issue 7). */
int cmd_incident(int argc, char **argv);
int cmd_rules(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_aggregate(int argc, char **argv);
int cmd_onemap(int argc, char **argv);

#endif
