/* aggregate.c -- incidents counted per unit (grid, micro-grid, village, town)
 * or per hexagon, as polygons styled for QGIS.
 *
 * Admin units and grids count an incident by the code it was placed in
 * (stored at placement with the boundary rule and the GPS tolerance), so a
 * grid's count is the number its officers are answerable for. Hexagons
 * count by position: the hexagon of a point is found by arithmetic (axial
 * coordinates, cube rounding), and for the hexagons the county boundary
 * cuts, by GEOS on the clipped hexagon, so a point outside the county is
 * never counted. Areas are taken in the workspace's metric CRS. Class
 * breaks are quantiles of count per km² (linear interpolation between
 * order statistics), equal breaks merged. */
#include "export.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SQRT3 1.7320508075688772

const char *wg_incident_is_open_sql(void) { return "(status IS NULL OR status <> 'closed')"; }

const char *wg_incident_is_overdue_sql(int with_dispatch) {
    /* The lifecycle's rule (see the incident_state view in lifecycle.c): past
     * the deadline, or still unassigned past the dispatch deadline. */
    if (with_dispatch)
        return "((status IS NULL OR status <> 'closed') AND "
               "((deadline IS NOT NULL AND julianday(deadline) < julianday(:at)) OR "
               "(coalesce(status, 'reported') IN ('reported', 'accepted') AND "
               "dispatch_deadline IS NOT NULL AND julianday(dispatch_deadline) < julianday(:at))))";
    return "((status IS NULL OR status <> 'closed') AND deadline IS NOT NULL AND "
           "julianday(deadline) < julianday(:at))";
}

void wg_path_sibling(const char *path, const char *suffix, char *out, size_t size) {
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - path) : strlen(path);
    snprintf(out, size, "%.*s%s", (int)stem, path, suffix);
}

void wg_aggregate_report_free(wg_aggregate_report *rep) {
    if (!rep) return;
    for (size_t i = 0; i < rep->ncategories; i++) {
        free(rep->categories[i].field);
        free(rep->categories[i].category);
    }
    free(rep->categories);
    rep->categories = NULL;
    rep->ncategories = 0;
}

/* ---- the units ------------------------------------------------------------ */

typedef struct cell {
    char *code;          /* owned */
    const char *name;    /* borrowed from the unit set, or NULL */
    GEOSGeometry *wgs;   /* owned: the polygon written out (WGS84) */
    GEOSGeometry *clip;  /* hexagons cut by the boundary: the metric polygon; else NULL */
    const GEOSPreparedGeometry *prep; /* of clip, made on first use */
    double area_m2;
    int64_t count, open, overdue;
    int64_t *cat; /* per category */
} cell;

typedef struct agg {
    wg_ws *ws;
    wg_ctx *ctx;
    const wg_aggregate_opts *o;
    size_t n;
    cell *c;
    size_t *by_code; /* unit cells sorted by code */
    /* hexagons: the lattice window and its cell per position (-1: none) */
    long col0, row0, ncol, nrow;
    long *lattice;
    size_t ncat;
    char **cats; /* categories in order of first appearance (owned) */
    wg_unitset units;
} agg;

static void agg_free(agg *a) {
    for (size_t i = 0; i < a->n; i++) {
        cell *c = &a->c[i];
        free(c->code);
        if (c->prep) GEOSPreparedGeom_destroy_r(a->ctx->geos, c->prep);
        if (c->clip) GEOSGeom_destroy_r(a->ctx->geos, c->clip);
        if (c->wgs) GEOSGeom_destroy_r(a->ctx->geos, c->wgs);
        free(c->cat);
    }
    free(a->c);
    free(a->by_code);
    free(a->lattice);
    for (size_t i = 0; i < a->ncat; i++) free(a->cats[i]);
    free(a->cats);
    wg_units_free(a->ctx, &a->units);
}

static const agg *sort_ctx; /* qsort has no user pointer; used on one thread at a time */

static int by_code_cmp(const void *x, const void *y) {
    return strcmp(sort_ctx->c[*(const size_t *)x].code, sort_ctx->c[*(const size_t *)y].code);
}

static const wg_level AGG_LEVEL[] = {WG_LEVEL_GRID, WG_LEVEL_MICRO, WG_LEVEL_VILLAGE,
                                     WG_LEVEL_TOWN};
static const char *const AGG_COLUMN[] = {"grid_code", "micro_code", "village_code", "town_code"};

static wg_status load_units(agg *a) {
    wg_ctx *ctx = a->ctx;
    wg_level lv = AGG_LEVEL[a->o->by];
    wg_status rc = wg_units_load(a->ws, WG_LEVEL_BIT(lv), NULL, &a->units);
    if (rc) return rc;
    if (!a->units.n)
        return wg_err(ctx, WG_ERR_NOT_FOUND, "the workspace has no current %s units to "
                      "aggregate on", wg_level_name(lv));
    a->c = calloc(a->units.n, sizeof *a->c);
    a->by_code = calloc(a->units.n, sizeof *a->by_code);
    if (!a->c || !a->by_code) return wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < a->units.n; i++) {
        wg_unit *u = &a->units.v[i];
        cell *c = &a->c[a->n++];
        c->code = strdup(u->code);
        c->name = u->name;
        c->wgs = GEOSGeom_clone_r(ctx->geos, u->geom);
        GEOSGeometry *m = wg_ws_to_metric(a->ws, u->geom);
        if (!m) return WG_ERR_PROJ;
        if (!GEOSArea_r(ctx->geos, m, &c->area_m2)) c->area_m2 = 0;
        GEOSGeom_destroy_r(ctx->geos, m);
        if (!c->code || !c->wgs) return wg_err(ctx, WG_ERR_NOMEM, "out of memory");
        a->by_code[i] = i;
    }
    sort_ctx = a;
    qsort(a->by_code, a->n, sizeof *a->by_code, by_code_cmp);
    return WG_OK;
}

static long find_code(const agg *a, const char *code) {
    size_t lo = 0, hi = a->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(a->c[a->by_code[mid]].code, code);
        if (c == 0) return (long)a->by_code[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

/* ---- hexagons ------------------------------------------------------------- */

/* The (col, row) of the flat-topped hexagon of edge s containing (x, y):
 * axial coordinates, cube rounding, then "odd-q" offsets (odd columns half
 * a row up). */
static void hex_of(double x, double y, double s, long *col, long *row) {
    double q = (2.0 / 3.0) * x / s, r = (-x / 3.0 + SQRT3 / 3.0 * y) / s, z = -q - r;
    double rq = round(q), rr = round(r), rz = round(z);
    double dq = fabs(rq - q), dr = fabs(rr - r), dz = fabs(rz - z);
    if (dq > dr && dq > dz) rq = -rr - rz;
    else if (dr > dz) rr = -rq - rz;
    long lq = (long)rq, lr = (long)rr;
    *col = lq;
    *row = lr + (lq - (lq & 1)) / 2;
}

static void hex_centre(long col, long row, double s, double *x, double *y) {
    *x = 1.5 * s * (double)col;
    *y = SQRT3 * s * ((double)row + (double)(col & 1) / 2.0);
}

static GEOSGeometry *hex_polygon(GEOSContextHandle_t h, long col, long row, double s) {
    double cx, cy;
    hex_centre(col, row, s, &cx, &cy);
    GEOSCoordSequence *cs = GEOSCoordSeq_create_r(h, 7, 2);
    if (!cs) return NULL;
    for (int k = 0; k <= 6; k++) {
        double ang = (k % 6) * (3.14159265358979323846 / 3.0);
        GEOSCoordSeq_setXY_r(h, cs, (unsigned)k, cx + s * cos(ang), cy + s * sin(ang));
    }
    GEOSGeometry *ring = GEOSGeom_createLinearRing_r(h, cs);
    return ring ? GEOSGeom_createPolygon_r(h, ring, NULL, 0) : NULL;
}

/* The county in the metric CRS: the union of the first level that has units. */
static wg_status county_shape(agg *a, GEOSGeometry **out) {
    wg_ctx *ctx = a->ctx;
    static const wg_level order[] = {WG_LEVEL_COUNTY, WG_LEVEL_TOWN, WG_LEVEL_VILLAGE,
                                     WG_LEVEL_GRID};
    for (size_t k = 0; k < 4; k++) {
        wg_unitset set;
        wg_status rc = wg_units_load(a->ws, WG_LEVEL_BIT(order[k]), NULL, &set);
        if (rc) return rc;
        if (!set.n) {
            wg_units_free(ctx, &set);
            continue;
        }
        GEOSGeometry **parts = calloc(set.n, sizeof *parts);
        size_t np = 0;
        for (size_t i = 0; parts && i < set.n && !rc; i++) {
            parts[np] = wg_ws_to_metric(a->ws, set.v[i].geom);
            if (parts[np]) np++;
            else rc = WG_ERR_PROJ;
        }
        wg_units_free(ctx, &set);
        if (!parts) return wg_err(ctx, WG_ERR_NOMEM, "out of memory");
        if (rc) {
            for (size_t i = 0; i < np; i++) GEOSGeom_destroy_r(ctx->geos, parts[i]);
            free(parts);
            return rc;
        }
        GEOSGeometry *coll =
            GEOSGeom_createCollection_r(ctx->geos, GEOS_GEOMETRYCOLLECTION, parts, (unsigned)np);
        free(parts); /* the collection owns them now */
        GEOSGeometry *u = coll ? GEOSUnaryUnion_r(ctx->geos, coll) : NULL;
        if (coll) GEOSGeom_destroy_r(ctx->geos, coll);
        if (!u)
            return wg_err(ctx, WG_ERR_GEOS, "cannot unite the %s units into the county: %s",
                          wg_level_name(order[k]), wg_geos_msg(ctx));
        *out = u;
        return WG_OK;
    }
    return wg_err(ctx, WG_ERR_NOT_FOUND, "the workspace has no admin units or grids to clip "
                  "the hexagons to");
}

/* Keeps only the polygonal parts of `g` (an intersection may add lines and
 * points where boundaries touch); takes ownership; NULL if none. */
static GEOSGeometry *polygonal(GEOSContextHandle_t h, GEOSGeometry *g) {
    int t = GEOSGeomTypeId_r(h, g);
    if (t == GEOS_POLYGON || t == GEOS_MULTIPOLYGON) return g;
    int n = GEOSGetNumGeometries_r(h, g);
    GEOSGeometry **keep = calloc(n > 0 ? (size_t)n : 1, sizeof *keep);
    unsigned nk = 0;
    for (int i = 0; keep && i < n; i++) {
        const GEOSGeometry *p = GEOSGetGeometryN_r(h, g, i);
        int pt = GEOSGeomTypeId_r(h, p);
        if (pt == GEOS_POLYGON || pt == GEOS_MULTIPOLYGON) keep[nk++] = GEOSGeom_clone_r(h, p);
    }
    GEOSGeom_destroy_r(h, g);
    GEOSGeometry *r = NULL;
    if (keep && nk) {
        GEOSGeometry *coll = GEOSGeom_createCollection_r(h, GEOS_GEOMETRYCOLLECTION, keep, nk);
        r = coll ? GEOSUnaryUnion_r(h, coll) : NULL;
        if (coll) GEOSGeom_destroy_r(h, coll);
    }
    free(keep);
    return r;
}

static wg_status build_hexes(agg *a, double *county_m2) {
    wg_ctx *ctx = a->ctx;
    GEOSContextHandle_t h = ctx->geos;
    double s = a->o->hex_size_m;
    GEOSGeometry *county = NULL;
    wg_status rc = county_shape(a, &county);
    if (rc) return rc;
    const GEOSPreparedGeometry *pc = GEOSPrepare_r(h, county);
    double x0, y0, x1, y1;
    if (!pc || !GEOSGeom_getXMin_r(h, county, &x0) || !GEOSGeom_getYMin_r(h, county, &y0) ||
        !GEOSGeom_getXMax_r(h, county, &x1) || !GEOSGeom_getYMax_r(h, county, &y1) ||
        !GEOSArea_r(h, county, county_m2)) {
        rc = wg_err(ctx, WG_ERR_GEOS, "cannot prepare the county: %s", wg_geos_msg(ctx));
        goto done;
    }
    a->col0 = (long)floor(x0 / (1.5 * s)) - 1;
    a->row0 = (long)floor(y0 / (SQRT3 * s)) - 1;
    a->ncol = (long)ceil(x1 / (1.5 * s)) + 2 - a->col0;
    a->nrow = (long)ceil(y1 / (SQRT3 * s)) + 2 - a->row0;
    if ((double)a->ncol * (double)a->nrow > 2e7) {
        rc = wg_err(ctx, WG_ERR_INVALID_ARG, "hexagons of %g m make %ld x %ld cells over the "
                    "county: choose a larger size", s, a->ncol, a->nrow);
        goto done;
    }
    size_t cap = (size_t)(*county_m2 / (1.5 * SQRT3 * s * s)) * 2 + 64, total = (size_t)(a->ncol * a->nrow);
    a->lattice = malloc(total * sizeof *a->lattice);
    a->c = calloc(cap, sizeof *a->c);
    if (!a->lattice || !a->c) {
        rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < total; i++) a->lattice[i] = -1;
    for (long ci = 0; ci < a->ncol && !rc; ci++) {
        for (long ri = 0; ri < a->nrow && !rc; ri++) {
            long col = a->col0 + ci, row = a->row0 + ri;
            GEOSGeometry *hx = hex_polygon(h, col, row, s);
            if (!hx) {
                rc = wg_err(ctx, WG_ERR_GEOS, "cannot make a hexagon");
                break;
            }
            GEOSGeometry *piece = NULL;
            int full = 0;
            if (GEOSPreparedContains_r(h, pc, hx) == 1) {
                piece = hx, full = 1;
            } else if (GEOSPreparedIntersects_r(h, pc, hx) == 1) {
                GEOSGeometry *x = GEOSIntersection_r(h, county, hx);
                GEOSGeom_destroy_r(h, hx);
                piece = x ? polygonal(h, x) : NULL;
                if (!x) {
                    rc = wg_err(ctx, WG_ERR_GEOS, "cannot clip hexagon H%ld_%ld: %s", col, row,
                                wg_geos_msg(ctx));
                    break;
                }
            } else {
                GEOSGeom_destroy_r(h, hx);
            }
            double area = 0;
            if (piece && (!GEOSArea_r(h, piece, &area) || area <= 0)) {
                GEOSGeom_destroy_r(h, piece);
                piece = NULL;
            }
            if (!piece) continue;
            if (a->n == cap) {
                cell *nc = realloc(a->c, 2 * cap * sizeof *nc);
                if (!nc) {
                    GEOSGeom_destroy_r(h, piece);
                    rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory");
                    break;
                }
                memset(nc + cap, 0, cap * sizeof *nc);
                a->c = nc, cap *= 2;
            }
            cell *c = &a->c[a->n];
            char code[64];
            snprintf(code, sizeof code, "H%ld_%ld", col, row);
            c->code = strdup(code);
            c->area_m2 = area;
            c->wgs = wg_ws_from_metric(a->ws, piece);
            if (full) GEOSGeom_destroy_r(h, piece);
            else c->clip = piece;
            a->lattice[ci * a->nrow + ri] = (long)a->n++;
            if (!c->code || !c->wgs) rc = c->code ? WG_ERR_PROJ : wg_err(ctx, WG_ERR_NOMEM, "out of memory");
        }
        if (!rc && wg_progress(ctx, "hexagons", (uint64_t)ci + 1, (uint64_t)a->ncol))
            rc = wg_err(ctx, WG_ERR_INTERRUPTED, "aggregate interrupted");
    }
done:
    if (pc) GEOSPreparedGeom_destroy_r(h, pc);
    GEOSGeom_destroy_r(h, county);
    return rc;
}

/* The hexagon cell counting metric point (x, y), or -1 (outside the county). */
static long hex_cell(agg *a, double x, double y) {
    long col, row;
    hex_of(x, y, a->o->hex_size_m, &col, &row);
    long ci = col - a->col0, ri = row - a->row0;
    if (ci < 0 || ri < 0 || ci >= a->ncol || ri >= a->nrow) return -1;
    long k = a->lattice[ci * a->nrow + ri];
    if (k < 0) return -1;
    cell *c = &a->c[k];
    if (!c->clip) return k;
    GEOSContextHandle_t h = a->ctx->geos;
    if (!c->prep) c->prep = GEOSPrepare_r(h, c->clip);
    GEOSCoordSequence *cs = GEOSCoordSeq_create_r(h, 1, 2);
    if (!cs || !c->prep) return -1;
    GEOSCoordSeq_setXY_r(h, cs, 0, x, y);
    GEOSGeometry *pt = GEOSGeom_createPoint_r(h, cs);
    int in = pt ? GEOSPreparedIntersects_r(h, c->prep, pt) : 0;
    if (pt) GEOSGeom_destroy_r(h, pt);
    return in == 1 ? k : -1;
}

/* ---- counting ------------------------------------------------------------- */

static long category_index(agg *a, const char *cat) {
    if (!cat) cat = "";
    for (size_t i = 0; i < a->ncat; i++)
        if (!strcmp(a->cats[i], cat)) return (long)i;
    char **nc = realloc(a->cats, (a->ncat + 1) * sizeof *nc);
    if (!nc) return -1;
    a->cats = nc;
    if (!(a->cats[a->ncat] = strdup(cat))) return -1;
    for (size_t i = 0; i < a->n; i++) {
        int64_t *v = realloc(a->c[i].cat, (a->ncat + 1) * sizeof *v);
        if (!v) return -1;
        v[a->ncat] = 0;
        a->c[i].cat = v;
    }
    return (long)a->ncat++;
}

/* "now" or opts->at as RFC 3339 UTC. */
static void at_time(const char *at, char out[32]) {
    if (at && strlen(at) == 10) {
        snprintf(out, 32, "%sT00:00:00Z", at);
    } else if (at) {
        snprintf(out, 32, "%s", at);
    } else {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
}

static wg_status count_incidents(agg *a, wg_aggregate_report *rep) {
    wg_ctx *ctx = a->ctx;
    int hex = a->o->by == WG_AGG_HEX;
    int have_deadline = wg_ws_has_column(a->ws, "incidents", "deadline");
    const char *overdue_sql =
        wg_incident_is_overdue_sql(wg_ws_has_column(a->ws, "incidents", "dispatch_deadline"));
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT MbrMinX(geom), MbrMinY(geom), %s, category, %s, %s FROM incidents "
             "WHERE 1%s%s%s%s",
             hex ? "NULL" : AGG_COLUMN[a->o->by], wg_incident_is_open_sql(),
             have_deadline ? overdue_sql : "0",
             hex ? " AND geom IS NOT NULL" : "",
             a->o->from ? " AND substr(reported_at, 1, 10) >= :from" : "",
             a->o->to ? " AND substr(reported_at, 1, 10) <= :to" : "",
             a->o->category ? " AND category = :cat" : "");
    sqlite3_stmt *st = NULL;
    wg_status rc = wg_ws_prepare(a->ws, sql, &st);
    if (rc) return rc;
    char at[32];
    at_time(a->o->at, at);
    const char *const names[4] = {":from", ":to", ":cat", ":at"};
    const char *vals[4] = {a->o->from, a->o->to, a->o->category, at};
    for (int i = 0; i < 4; i++) {
        int k = sqlite3_bind_parameter_index(st, names[i]);
        if (k && vals[i]) sqlite3_bind_text(st, k, vals[i], -1, SQLITE_TRANSIENT);
    }
    PJ *pj = NULL;
    if (hex) {
        char dst[32];
        snprintf(dst, sizeof dst, "EPSG:%d", a->ws->metric_epsg);
        if (!(pj = wg_proj_transform(ctx, "EPSG:4326", dst))) rc = WG_ERR_PROJ;
    }
    int s = SQLITE_DONE;
    while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
        rep->selected++;
        long k = -1;
        if (hex) {
            PJ_COORD c = proj_coord(sqlite3_column_double(st, 0), sqlite3_column_double(st, 1), 0, 0);
            c = proj_trans(pj, PJ_FWD, c);
            if (isfinite(c.xy.x) && isfinite(c.xy.y)) k = hex_cell(a, c.xy.x, c.xy.y);
        } else {
            const char *code = (const char *)sqlite3_column_text(st, 2);
            if (code) k = find_code(a, code);
        }
        if (k < 0) continue;
        long ci = category_index(a, (const char *)sqlite3_column_text(st, 3));
        if (ci < 0) {
            rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory");
            break;
        }
        cell *c = &a->c[k];
        c->count++;
        c->cat[ci]++;
        int open = sqlite3_column_int(st, 4), overdue = sqlite3_column_int(st, 5);
        c->open += open, c->overdue += overdue;
        rep->counted++, rep->open += open, rep->overdue += overdue;
    }
    if (!rc && s != SQLITE_DONE) rc = wg_ws_sqlerr(a->ws, "reading incidents");
    sqlite3_finalize(st);
    if (pj) proj_destroy(pj);
    return rc;
}

/* ---- classes --------------------------------------------------------------- */

static int dbl_cmp(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static double per_km2(const cell *c) { return c->area_m2 > 0 ? c->count / (c->area_m2 / 1e6) : 0; }

static wg_status classes(agg *a, int k, wg_aggregate_report *rep) {
    double *v = malloc((a->n ? a->n : 1) * sizeof *v);
    if (!v) return wg_err(a->ctx, WG_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < a->n; i++) v[i] = per_km2(&a->c[i]);
    qsort(v, a->n, sizeof *v, dbl_cmp);
    double lo = a->n ? v[0] : 0, hi = a->n ? v[a->n - 1] : 0;
    rep->breaks[0] = lo;
    int m = 0;
    for (int i = 1; i <= k; i++) {
        double b = hi;
        if (i < k && a->n) {
            double pos = (double)(a->n - 1) * i / k;
            size_t j = (size_t)pos;
            double f = pos - (double)j;
            b = j + 1 < a->n ? v[j] + f * (v[j + 1] - v[j]) : v[j];
        }
        if (b > rep->breaks[m] || (m == 0 && i == k)) rep->breaks[++m] = b;
    }
    if (m == 0) rep->breaks[++m] = hi; /* every value equal */
    rep->classes = m;
    free(v);
    return WG_OK;
}

static int class_of(const wg_aggregate_report *rep, double v) {
    for (int i = 0; i < rep->classes; i++)
        if (v <= rep->breaks[i + 1]) return i + 1;
    return rep->classes;
}

/* ---- writing ---------------------------------------------------------------- */

/* Column names for the categories (see wg_agg_category). */
static wg_status category_fields(agg *a, int shapefile, wg_aggregate_report *rep) {
    rep->categories = calloc(a->ncat ? a->ncat : 1, sizeof *rep->categories);
    if (!rep->categories) return wg_err(a->ctx, WG_ERR_NOMEM, "out of memory");
    rep->ncategories = a->ncat;
    for (size_t i = 0; i < a->ncat; i++) {
        char f[128];
        if (shapefile) {
            snprintf(f, sizeof f, "cat_%02zu", i + 1);
        } else {
            const char *s = a->cats[i];
            size_t o = 0;
            f[o++] = 'n', f[o++] = '_';
            for (; *s && o < 60; s++) {
                unsigned char ch = (unsigned char)*s;
                int keep = ch >= 0x80 || (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
                           (ch >= 'A' && ch <= 'Z');
                f[o++] = keep ? *s : '_';
            }
            while (o > 2 && ((unsigned char)f[o - 1] & 0xC0) == 0x80 && s[0] &&
                   ((unsigned char)s[0] & 0xC0) == 0x80)
                o--; /* cut mid-character: drop the partial character */
            while (o > 2 && ((unsigned char)f[o - 1] & 0xC0) == 0xC0) o--;
            if (o == 2) f[o++] = '_';
            f[o] = '\0';
            /* unique among the columns so far (case-insensitively, as drivers compare) */
            char base[128];
            snprintf(base, sizeof base, "%s", f);
            for (int dup = 2;; dup++) {
                int clash = 0;
                for (size_t j = 0; j < i && !clash; j++)
                    clash = !strcasecmp(rep->categories[j].field, f);
                static const char *const fixed[] = {"code", "name", "level", "area_km2", "count",
                                                    "count_km2", "open", "overdue", "class"};
                for (size_t j = 0; j < sizeof fixed / sizeof fixed[0] && !clash; j++)
                    clash = !strcasecmp(fixed[j], f);
                if (!clash) break;
                snprintf(f, sizeof f, "%.100s_%d", base, dup);
            }
        }
        rep->categories[i].field = strdup(f);
        rep->categories[i].category = strdup(a->cats[i]);
        if (!rep->categories[i].field || !rep->categories[i].category)
            return wg_err(a->ctx, WG_ERR_NOMEM, "out of memory");
        for (size_t u = 0; u < a->n; u++) rep->categories[i].count += a->c[u].cat[i];
    }
    return WG_OK;
}

static wg_status write_layer(agg *a, GDALDatasetH ds, const char *name, const char *const *lco,
                             wg_aggregate_report *rep) {
    wg_ctx *ctx = a->ctx;
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(srs, 4326);
    OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
    OGRLayerH l = GDALDatasetCreateLayer(ds, name, srs, wkbMultiPolygon, (char **)lco);
    OSRDestroySpatialReference(srs);
    if (!l) return wg_err(ctx, WG_ERR_GDAL, "cannot create layer %s: %s", name, wg_gdal_msg());
    static const struct {
        const char *name;
        OGRFieldType t;
    } fixed[] = {{"code", OFTString},  {"name", OFTString},      {"level", OFTString},
                 {"area_km2", OFTReal}, {"count", OFTInteger64}, {"count_km2", OFTReal},
                 {"open", OFTInteger64}, {"overdue", OFTInteger64}, {"class", OFTInteger}};
    size_t nf = sizeof fixed / sizeof fixed[0];
    for (size_t i = 0; i < nf + rep->ncategories; i++) {
        const char *fname = i < nf ? fixed[i].name : rep->categories[i - nf].field;
        OGRFieldDefnH fd = OGR_Fld_Create(fname, i < nf ? fixed[i].t : OFTInteger64);
        OGRErr e = OGR_L_CreateField(l, fd, 0);
        OGR_Fld_Destroy(fd);
        if (e != OGRERR_NONE)
            return wg_err(ctx, WG_ERR_GDAL, "cannot create field %s: %s", fname, wg_gdal_msg());
    }
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(l);
    GEOSWKBWriter *wr = GEOSWKBWriter_create_r(ctx->geos);
    const char *level = a->o->by == WG_AGG_HEX ? "hex" : wg_level_name(AGG_LEVEL[a->o->by]);
    wg_status rc = wr ? WG_OK : wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    GDALDatasetStartTransaction(ds, 0);
    for (size_t i = 0; i < a->n && !rc; i++) {
        cell *c = &a->c[i];
        OGRFeatureH f = OGR_F_Create(defn);
        OGR_F_SetFieldString(f, 0, c->code);
        if (c->name) OGR_F_SetFieldString(f, 1, c->name);
        OGR_F_SetFieldString(f, 2, level);
        OGR_F_SetFieldDouble(f, 3, c->area_m2 / 1e6);
        OGR_F_SetFieldInteger64(f, 4, c->count);
        OGR_F_SetFieldDouble(f, 5, per_km2(c));
        OGR_F_SetFieldInteger64(f, 6, c->open);
        OGR_F_SetFieldInteger64(f, 7, c->overdue);
        OGR_F_SetFieldInteger(f, 8, class_of(rep, per_km2(c)));
        for (size_t k = 0; k < rep->ncategories; k++)
            OGR_F_SetFieldInteger64(f, (int)(nf + k), c->cat[k]);
        size_t len = 0;
        unsigned char *wkb = GEOSWKBWriter_write_r(ctx->geos, wr, c->wgs, &len);
        OGRGeometryH g = NULL;
        if (wkb) OGR_G_CreateFromWkbEx(wkb, NULL, &g, len);
        GEOSFree_r(ctx->geos, wkb);
        if (g) g = OGR_G_ForceToMultiPolygon(g);
        if (!g || OGR_F_SetGeometryDirectly(f, g) != OGRERR_NONE ||
            OGR_L_CreateFeature(l, f) != OGRERR_NONE)
            rc = wg_err(ctx, WG_ERR_GDAL, "cannot write unit %s: %s", c->code, wg_gdal_msg());
        OGR_F_Destroy(f);
    }
    if (!rc && GDALDatasetCommitTransaction(ds) == OGRERR_FAILURE)
        rc = wg_err(ctx, WG_ERR_GDAL, "cannot write layer %s: %s", name, wg_gdal_msg());
    if (wr) GEOSWKBWriter_destroy_r(ctx->geos, wr);
    if (!rc) rep->units = (int64_t)a->n;
    return rc;
}

static char *style_of(const wg_aggregate_report *rep) {
    wg_style_range r[WG_AGG_MAX_CLASSES];
    for (int i = 0; i < rep->classes; i++) {
        r[i].lower = rep->breaks[i], r[i].upper = rep->breaks[i + 1];
        wg_ramp_ylorrd(rep->classes > 1 ? (double)i / (rep->classes - 1) : 0.5, r[i].rgb);
    }
    return wg_qml_graduated("count_km2", r, rep->classes);
}

/* YYYY-MM-DD, or an RFC 3339 time YYYY-MM-DDTHH:MM:SS[.f](Z|+hh:mm) */
static int time_valid(const char *s) {
    char d[11];
    size_t n = strlen(s);
    if (n < 10) return 0;
    memcpy(d, s, 10), d[10] = '\0';
    if (!wg_date_valid(d)) return 0;
    if (n == 10) return 1;
    int hh, mm, ss, used = 0;
    if (n < 20 || (s[10] != 'T' && s[10] != 't') ||
        sscanf(s + 11, "%2d:%2d:%2d%n", &hh, &mm, &ss, &used) != 3 || used != 8 || hh > 23 ||
        mm > 59 || ss > 60)
        return 0;
    const char *z = s + 19;
    if (*z == '.') do z++; while (*z >= '0' && *z <= '9');
    return !strcmp(z, "Z") || !strcmp(z, "z") ||
           ((*z == '+' || *z == '-') && strlen(z) == 6 && z[3] == ':');
}

static wg_status check_opts(wg_ctx *ctx, const wg_aggregate_opts *o) {
    if (!o) return wg_err(ctx, WG_ERR_INVALID_ARG, "no options");
    if ((unsigned)o->by > WG_AGG_HEX)
        return wg_err(ctx, WG_ERR_INVALID_ARG, "unknown aggregation unit %d", (int)o->by);
    if (o->by == WG_AGG_HEX && !(isfinite(o->hex_size_m) && o->hex_size_m >= 1))
        return wg_err(ctx, WG_ERR_INVALID_ARG, "hexagon size %g m: give at least 1 m",
                      o->hex_size_m);
    if (o->from && !wg_date_valid(o->from))
        return wg_err(ctx, WG_ERR_INVALID_ARG, "'%s' is not a date YYYY-MM-DD", o->from);
    if (o->to && !wg_date_valid(o->to))
        return wg_err(ctx, WG_ERR_INVALID_ARG, "'%s' is not a date YYYY-MM-DD", o->to);
    if (o->from && o->to && strcmp(o->from, o->to) > 0)
        return wg_err(ctx, WG_ERR_INVALID_ARG, "--from %s is after --to %s", o->from, o->to);
    if (o->at && !time_valid(o->at))
        return wg_err(ctx, WG_ERR_INVALID_ARG, "'%s' is not a date YYYY-MM-DD or an RFC 3339 "
                      "time", o->at);
    if (o->classes < 0 || o->classes > WG_AGG_MAX_CLASSES)
        return wg_err(ctx, WG_ERR_INVALID_ARG, "%d classes: give 1 to %d", o->classes,
                      WG_AGG_MAX_CLASSES);
    return WG_OK;
}

wg_status wg_aggregate_to(wg_ws *ws, const wg_aggregate_opts *o, GDALDatasetH ds,
                          const char *name, const char *const *lco, wg_aggregate_report *rep,
                          char **qml) {
    wg_ctx *ctx = ws->ctx;
    memset(rep, 0, sizeof *rep);
    *qml = NULL;
    wg_status rc = check_opts(ctx, o);
    if (rc) return rc;
    if (!ws->metric_epsg)
        return wg_err(ctx, WG_ERR_INVALID_ARG, "the workspace has no metric CRS yet: import "
                      "grids first or init with --crs");
    agg a;
    memset(&a, 0, sizeof a);
    a.ws = ws, a.ctx = ctx, a.o = o;
    double county_m2 = 0;
    if (o->by == WG_AGG_HEX) rc = build_hexes(&a, &county_m2);
    else rc = load_units(&a);
    for (size_t i = 0; !rc && i < a.n; i++) {
        a.c[i].cat = calloc(1, sizeof *a.c[i].cat);
        if (!a.c[i].cat) rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    }
    if (!rc) rc = count_incidents(&a, rep);
    if (!rc) rc = classes(&a, o->classes ? o->classes : 5, rep);
    if (!rc) {
        const char *drv = GDALGetDriverShortName(GDALGetDatasetDriver(ds));
        rc = category_fields(&a, drv && !strcmp(drv, "ESRI Shapefile"), rep);
    }
    if (!rc) rc = write_layer(&a, ds, name, lco, rep);
    if (!rc) {
        if (o->by == WG_AGG_HEX) rep->area_km2 = county_m2 / 1e6;
        else
            for (size_t i = 0; i < a.n; i++) rep->area_km2 += a.c[i].area_m2 / 1e6;
        if (!(*qml = style_of(rep))) rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    }
    agg_free(&a);
    if (rc) wg_aggregate_report_free(rep);
    return rc;
}

wg_status wg_aggregate(wg_ws *ws, const wg_aggregate_opts *o, const char *path,
                       wg_aggregate_report *report) {
    wg_ctx *ctx = ws->ctx;
    wg_aggregate_report rep;
    memset(&rep, 0, sizeof rep);
    if (!path) return wg_err(ctx, WG_ERR_INVALID_ARG, "no output given");
    wg_status rc = check_opts(ctx, o);
    if (rc) return rc;
    const char *drv_name = wg_ogr_driver_for(ctx, path);
    if (!drv_name) return WG_ERR_INVALID_ARG;
    wg_gdal_init();
    GDALDriverH drv = GDALGetDriverByName(drv_name);
    if (!drv) return wg_err(ctx, WG_ERR_GDAL, "this GDAL has no %s driver", drv_name);
    wg_staging sg;
    if ((rc = wg_staging_open(ctx, path, &sg))) return rc;
    int gpkg = !strcmp(drv_name, "GPKG");
    char lname[256];
    wg_path_sibling(strrchr(sg.tmpfile, '/') + 1, "", lname, sizeof lname);
    char *qml = NULL;
    wg_gdal_quiet_push();
    GDALDatasetH ds = GDALCreate(drv, sg.tmpfile, 0, 0, 0, GDT_Unknown, NULL);
    if (!ds) rc = wg_err(ctx, WG_ERR_GDAL, "cannot create %s: %s", path, wg_gdal_msg());
    if (!rc) rc = wg_aggregate_to(ws, o, ds, lname, wg_export_lco(drv_name), &rep, &qml);
    if (!rc && gpkg) rc = wg_gpkg_style_add(ctx, ds, lname, "geom", lname, qml);
    rc = wg_gdal_close_checked(ctx, ds, rc, path);
    wg_gdal_quiet_pop();
    if (!rc && !gpkg) {
        char qpath[8500];
        wg_path_sibling(sg.tmpfile, ".qml", qpath, sizeof qpath);
        rc = wg_qml_write(ctx, qml, qpath);
        wg_path_sibling(path, ".qml", rep.style, sizeof rep.style);
    }
    free(qml);
    wg_status rc2 = wg_staging_close(ctx, &sg, rc == WG_OK);
    if (!rc) rc = rc2;
    if (rc || !report) wg_aggregate_report_free(&rep);
    else *report = rep;
    return rc;
}
