/* serve_routes.h -- the query parameters of each endpoint, by index into
 * wg_query.v (serve_routes.c defines the specs). */
#ifndef WG_SERVE_ROUTES_H
#define WG_SERVE_ROUTES_H

#include "serve.h"

enum { LQ_LON, LQ_LAT, LQ_CRS, LQ_AT, LQ_TOL };
enum { IQ_BBOX, IQ_SINCE, IQ_UNTIL, IQ_GRID, IQ_STATUS, IQ_LIMIT, IQ_AFTER, IQ_COLOUR };
enum { GQ_AT };
enum { TQ_FROM, TQ_TO, TQ_CRS, TQ_PROFILE };
enum { DQ_LON, DQ_LAT, DQ_CRS, DQ_PROFILE, DQ_LIMIT, DQ_ROLE };
enum { SQ_LON, SQ_LAT, SQ_CRS, SQ_MINUTES, SQ_PROFILE };

extern const wg_param_spec LOCATE_SPEC[], INCIDENTS_SPEC[], GRID_SPEC[], ROUTE_SPEC[],
    DISPATCH_SPEC[], ISOCHRONE_SPEC[];

#endif
