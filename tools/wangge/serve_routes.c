/* serve_routes.c -- the endpoints: path, method, who may call them and the
 * query parameters each accepts (anything else is refused with 400).
 * Keep tools/wangge/openapi.json in step: the CLI test checks that every
 * path it documents is served. */
#include "serve.h"
#include "serve_routes.h"

static const char *const STATUSES[] = {"reported", "accepted", "assigned", "handled",
                                       "verified", "closed",   NULL};
static const char *const COLOURS[] = {"green", "yellow", "red", "closed", NULL};
static const char *const ROLES[] = {"grid_worker", "grid_chief", "grid_instructor", "volunteer",
                                    "police",      "judge",      "prosecutor",      "lawyer",
                                    NULL};

const wg_param_spec LOCATE_SPEC[] = {
    [LQ_LON] = {"lon", WG_PARAM_NUMBER, 1, 0, 0, NULL},
    [LQ_LAT] = {"lat", WG_PARAM_NUMBER, 1, 0, 0, NULL},
    [LQ_CRS] = {"crs", WG_PARAM_CRS, 0, 0, 0, NULL},
    [LQ_AT] = {"at", WG_PARAM_DATE, 0, 0, 0, NULL},
    [LQ_TOL] = {"tolerance", WG_PARAM_NUMBER, 0, 0, 1000, NULL},
};

const wg_param_spec INCIDENTS_SPEC[] = {
    [IQ_BBOX] = {"bbox", WG_PARAM_BBOX, 0, 0, 0, NULL},
    [IQ_SINCE] = {"since", WG_PARAM_TIME, 0, 0, 0, NULL},
    [IQ_UNTIL] = {"until", WG_PARAM_TIME, 0, 0, 0, NULL},
    [IQ_GRID] = {"grid", WG_PARAM_TEXT, 0, 0, 64, NULL},
    [IQ_STATUS] = {"status", WG_PARAM_ENUM, 0, 0, 0, STATUSES},
    [IQ_LIMIT] = {"limit", WG_PARAM_INT, 0, 1, 1000, NULL},
    [IQ_AFTER] = {"after", WG_PARAM_INT, 0, 0, 9e15, NULL},
    [IQ_COLOUR] = {"colour", WG_PARAM_ENUM, 0, 0, 0, COLOURS},
};

const wg_param_spec GRID_SPEC[] = {
    [GQ_AT] = {"at", WG_PARAM_DATE, 0, 0, 0, NULL},
};

const wg_param_spec ROUTE_SPEC[] = {
    [TQ_FROM] = {"from", WG_PARAM_POINT, 1, 0, 0, NULL},
    [TQ_TO] = {"to", WG_PARAM_POINT, 1, 0, 0, NULL},
    [TQ_CRS] = {"crs", WG_PARAM_CRS, 0, 0, 0, NULL},
    [TQ_PROFILE] = {"profile", WG_PARAM_TEXT, 0, 0, 31, NULL},
};

const wg_param_spec DISPATCH_SPEC[] = {
    [DQ_LON] = {"lon", WG_PARAM_NUMBER, 1, 0, 0, NULL},
    [DQ_LAT] = {"lat", WG_PARAM_NUMBER, 1, 0, 0, NULL},
    [DQ_CRS] = {"crs", WG_PARAM_CRS, 0, 0, 0, NULL},
    [DQ_PROFILE] = {"profile", WG_PARAM_TEXT, 0, 0, 31, NULL},
    [DQ_LIMIT] = {"limit", WG_PARAM_INT, 0, 1, 100, NULL},
    [DQ_ROLE] = {"role", WG_PARAM_ENUM, 0, 0, 0, ROLES},
};

const wg_param_spec ISOCHRONE_SPEC[] = {
    [SQ_LON] = {"lon", WG_PARAM_NUMBER, 1, 0, 0, NULL},
    [SQ_LAT] = {"lat", WG_PARAM_NUMBER, 1, 0, 0, NULL},
    [SQ_CRS] = {"crs", WG_PARAM_CRS, 0, 0, 0, NULL},
    [SQ_MINUTES] = {"minutes", WG_PARAM_NUMBER, 1, 0.5, 120, NULL},
    [SQ_PROFILE] = {"profile", WG_PARAM_TEXT, 0, 0, 31, NULL},
};

#define N(a) (sizeof a / sizeof a[0])
#define HANDSET ROLE_BIT(WG_ROLE_HANDSET)
#define ANALYST ROLE_BIT(WG_ROLE_ANALYST)
#define ADMIN ROLE_BIT(WG_ROLE_ADMIN)

/* Handsets report and route (and locate, which reporting is); analysts
 * read; admins do everything. */
const route ROUTES[] = {
    {"GET", "/v1/health", 0, ROLES_ALL, NULL, 0, h_health, NULL, NULL},
    {"GET", "/v1/openapi.json", 0, ROLES_ALL, NULL, 0, h_openapi, NULL, NULL},
    {"GET", "/v1/locate", 0, ROLES_ALL, LOCATE_SPEC, N(LOCATE_SPEC), h_locate, NULL, NULL},
    {"POST", "/v1/incidents", 0, HANDSET | ADMIN, NULL, 0, NULL, h_incident_post, NULL},
    {"GET", "/v1/incidents", 0, ANALYST | ADMIN, INCIDENTS_SPEC, N(INCIDENTS_SPEC), h_incidents, NULL, NULL},
    {"GET", "/v1/incidents/", 1, ANALYST | ADMIN, NULL, 0, h_incident, NULL, NULL},
    {"POST", "/v1/incidents/", 1, ROLES_ALL, NULL, 0, NULL, h_event_post, "/events"},
    {"GET", "/v1/grids/", 1, ANALYST | ADMIN, GRID_SPEC, N(GRID_SPEC), h_grid, NULL, NULL},
    {"GET", "/v1/route", 0, ROLES_ALL, ROUTE_SPEC, N(ROUTE_SPEC), h_route, NULL, NULL},
    {"GET", "/v1/dispatch", 0, ANALYST | ADMIN, DISPATCH_SPEC, N(DISPATCH_SPEC), h_dispatch, NULL, NULL},
    {"GET", "/v1/isochrone", 0, ANALYST | ADMIN, ISOCHRONE_SPEC, N(ISOCHRONE_SPEC), h_isochrone, NULL, NULL},
};
const size_t NROUTES = N(ROUTES);
