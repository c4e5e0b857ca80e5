/* deadlines.h -- what the closed loop's modules (deadlines.c, lifecycle.c,
 * stats.c, incidents.c) share privately. */
#ifndef WG_DEADLINES_H
#define WG_DEADLINES_H

#include "wangge/wangge.h"

/* Parses a clock name; 1 on success. */
int wg_clock_parse(const char *s, wg_clock *out);

/* Creates the rule tables if missing (inside the caller's transaction). */
wg_status wg_rules_tables(wg_ws *ws);

/* 1 if some rule covers `level` (any category). */
int wg_rules_has(const wg_rules *r, const char *level);

/* How the limit of `level` and `category` counts; 1 if a rule covers it. */
int wg_rules_clock_of(const wg_rules *r, const char *level, const char *category,
                      wg_clock *clock);

/* The colour at `at` of an incident from its stored columns (any may be
 * NULL): the handling limit from `start` to `deadline` on `clock`, and
 * until it is assigned the dispatch limit too; closed incidents are
 * WG_COLOUR_CLOSED, incidents without a deadline green (lifecycle.c). */
wg_colour wg_state_colour(const wg_rules *r, const char *status, const char *category,
                          const char *clock, const char *start, const char *deadline,
                          const char *dispatch, int64_t at);

/* The warning share (0..1). */
double wg_rules_warning(const wg_rules *r);

/* Adds the closed loop's columns, tables, indexes and the incident_state
 * view to a read-write workspace if missing (lifecycle.c). Idempotent and
 * cheap once done; WG_ERR_INVALID_ARG on a read-only workspace that lacks
 * them. */
wg_status wg_lifecycle_init(wg_ws *ws);

/* 1 if the workspace already has everything wg_lifecycle_init() adds. */
int wg_lifecycle_ready(wg_ws *ws);

#endif
