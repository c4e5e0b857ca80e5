/* coverage.c -- how much of every grid a service area covers.
 *
 * One multi-source search (isochrone.c) from all origins (the officers'
 * stations, or given points) without a time limit: its node times give
 * every grid's worst travel time. The reached pieces up to the largest
 * service time make ONE travel-time raster (isoraster.c; the same cells,
 * band and method as `wangge isochrone`), so a rule "town:10,village:30"
 * costs one search and one raster. Per grid, in the metric CRS: the cells
 * of its bounding box reached within the grid's time are polygonised (a
 * small window, not the county's area; the outline tracer of outline.c),
 * then uncovered = grid − cells with GEOS and covered = area(grid) −
 * area(uncovered) (one overlay a grid, not two). An incident (counted by its
 * stored grid_code) is inside when the cell under it is reached within its
 * grid's time. Grid-node membership uses each grid's prepared polygon
 * after a bounding-box test. */
#include "graph.h"
#include "ogrio.h"
#include "units.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_RULES 16

typedef struct rule {
    char key[64];
    double minutes;
} rule;

/* A grid's figures. */
typedef struct gfig {
    double minutes, area, covered, worst_ms;
    int64_t incidents, inside, unreached, nodes;
    int64_t late; /* road nodes not reached within the grid's time (unreached included) */
    GEOSGeometry *uncovered; /* WGS84, or NULL */
} gfig;

typedef struct cov {
    wg_ws *ws;
    wg_unitset units;
    size_t *grids, ngrids; /* indices of the grids in units */
    gfig *f;
} cov;

/* GEOSPreparedContainsXY_r needs GEOS 3.12; Debian 12 has 3.11. */
static int pcontains(GEOSContextHandle_t h, const GEOSPreparedGeometry *pg, double x, double y) {
    GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(h, x, y);
    int r = pt ? GEOSPreparedIntersects_r(h, pg, pt) : 0;
    if (pt) GEOSGeom_destroy_r(h, pt);
    return r == 1;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int parse_rules(wg_ctx *ctx, const char *s, rule *r, int *n) {
    *n = 0;
    while (*s) {
        const char *colon = strchr(s, ':');
        if (!colon || colon == s || (size_t)(colon - s) >= sizeof r->key || *n == MAX_RULES) break;
        memcpy(r[*n].key, s, (size_t)(colon - s));
        r[*n].key[colon - s] = 0;
        char *end;
        double m = strtod(colon + 1, &end);
        if (end == colon + 1 || !isfinite(m) || m <= 0 || m > 1440 || (*end && *end != ',')) break;
        r[(*n)++].minutes = m;
        s = *end ? end + 1 : end;
        if (!*s) return 0;
    }
    wg_err(ctx, WG_ERR_INVALID_ARG, "rule '%s' is not KEY:MINUTES,... (at most %d, minutes in "
           "(0, 1440])", s, MAX_RULES);
    return -1;
}

static int ends_with(const char *s, const char *suf) {
    size_t a = s ? strlen(s) : 0, b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

/* Does rule key k describe unit u? Its kind, a suffix of its name, and the
 * two classes of the service-circle policy: "town" (urban: 社区, 街道,
 * 居委会, 镇) and "village" (rural: 村, 乡, 嘎查 pastoral). */
static int key_matches(const char *k, const wg_unit *u) {
    static const char *const TOWN[] = {"社区", "街道", "居委会", "镇", NULL};
    static const char *const VILLAGE[] = {"村", "乡", "嘎查", NULL};
    if (!strcmp(k, "*")) return 1;
    if (u->kind && !strcmp(u->kind, k)) return 1;
    if (ends_with(u->name, k)) return 1;
    const char *const *cls = !strcmp(k, "town") ? TOWN : !strcmp(k, "village") ? VILLAGE : NULL;
    for (; cls && *cls; cls++)
        if (ends_with(u->name, *cls)) return 1;
    return 0;
}

static const wg_unit *find_code(const wg_unitset *us, const size_t *by_code, const char *code) {
    size_t lo = 0, hi = us->n;
    while (code && lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(us->v[by_code[mid]].code, code);
        if (!c) return &us->v[by_code[mid]];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

static const wg_unitset *g_sort_units;
static int cmp_code(const void *a, const void *b) {
    return strcmp(g_sort_units->v[*(const size_t *)a].code, g_sort_units->v[*(const size_t *)b].code);
}

/* The minutes of every grid from the rules (the first key that matches
 * the grid, else its parent, and so on up). */
static wg_status assign_minutes(wg_ctx *ctx, cov *c, const rule *r, int nr, double dflt) {
    wg_status rc = WG_OK;
    size_t *by_code = NULL;
    if (!nr) {
        for (size_t i = 0; i < c->ngrids; i++) c->f[i].minutes = dflt;
        return WG_OK;
    }
    by_code = malloc((c->units.n ? c->units.n : 1) * sizeof *by_code);
    if (!by_code) return wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < c->units.n; i++) by_code[i] = i;
    g_sort_units = &c->units;
    qsort(by_code, c->units.n, sizeof *by_code, cmp_code);
    for (size_t i = 0; i < c->ngrids && !rc; i++) {
        const wg_unit *u = &c->units.v[c->grids[i]];
        double m = -1;
        for (int depth = 0; u && depth < 8 && m < 0; depth++, u = find_code(&c->units, by_code, u->parent))
            for (int k = 0; k < nr && m < 0; k++)
                if (key_matches(r[k].key, u)) m = r[k].minutes;
        if (m < 0)
            rc = wg_err(ctx, WG_ERR_INVALID_ARG, "no rule key matches grid %s (%s) or its parents; "
                        "add \"*:MINUTES\" for the rest", c->units.v[c->grids[i]].code,
                        c->units.v[c->grids[i]].name ? c->units.v[c->grids[i]].name : "");
        c->f[i].minutes = m;
    }
    free(by_code);
    return rc;
}

/* Origins: the given points, or the officers' stations (distinct officers). */
static wg_status load_origins(wg_ws *ws, const wg_coverage_opts *o, double **ll, size_t *n) {
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    wg_status rc = WG_OK;
    *ll = NULL, *n = 0;
    if (o->origins) {
        if (!o->norigins) return wg_err(ws->ctx, WG_ERR_INVALID_ARG, "no origins");
        *ll = malloc(o->norigins * 2 * sizeof **ll);
        if (!*ll) return wg_err(ws->ctx, WG_ERR_NOMEM, "out of memory");
        memcpy(*ll, o->origins, o->norigins * 2 * sizeof **ll);
        *n = o->norigins;
        return WG_OK;
    }
    if ((rc = wg_ws_prepare(ws, "SELECT DISTINCT o.officer_id, ST_X(o.geom), ST_Y(o.geom) FROM "
                            "officers o JOIN officer_grids a ON a.officer_id = o.officer_id "
                            "WHERE o.geom IS NOT NULL AND (?1 IS NULL OR a.role = ?1)", &st)))
        return rc;
    if (o->role) sqlite3_bind_text(st, 1, o->role, -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            double *v = realloc(*ll, cap * 2 * sizeof *v);
            if (!v) {
                rc = wg_err(ws->ctx, WG_ERR_NOMEM, "out of memory");
                goto done;
            }
            *ll = v;
        }
        (*ll)[2 * *n] = sqlite3_column_double(st, 1);
        (*ll)[2 * *n + 1] = sqlite3_column_double(st, 2);
        (*n)++;
    }
    if (step != SQLITE_DONE) rc = wg_ws_sqlerr(ws, "reading officers' stations");
    else if (!*n)
        rc = wg_err(ws->ctx, WG_ERR_NOT_FOUND, "no officer%s%s has a station position",
                    o->role ? " with role " : "", o->role ? o->role : "");
done:
    sqlite3_finalize(st);
    if (rc) free(*ll), *ll = NULL, *n = 0;
    return rc;
}

/* Worst node times per grid: the nodes sorted by longitude give each
 * grid's strip by binary search; then latitude, then the prepared polygon
 * (a node on a grid's edge counts for the grid). */
static const double *g_sort_ll;
static int cmp_lon(const void *a, const void *b) {
    double x = g_sort_ll[2 * *(const uint32_t *)a], y = g_sort_ll[2 * *(const uint32_t *)b];
    return x < y ? -1 : x > y;
}

static wg_status node_times(wg_ctx *ctx, cov *c, const wg_iso_search *is) {
    GEOSContextHandle_t h = ctx->geos;
    const wg_graph *g = is->g;
    uint32_t nn = g->m.nnodes, *ord = malloc(((size_t)nn + 1) * sizeof *ord);
    if (!ord) return wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    for (uint32_t v = 0; v < nn; v++) ord[v] = v;
    g_sort_ll = g->node_ll;
    qsort(ord, nn, sizeof *ord, cmp_lon);
    for (size_t i = 0; i < c->ngrids; i++) {
        const GEOSGeometry *gg = c->units.v[c->grids[i]].geom;
        double x0, y0, x1, y1;
        gfig *f = &c->f[i];
        if (!GEOSGeom_getXMin_r(h, gg, &x0) || !GEOSGeom_getYMin_r(h, gg, &y0) ||
            !GEOSGeom_getXMax_r(h, gg, &x1) || !GEOSGeom_getYMax_r(h, gg, &y1))
            continue;
        const GEOSPreparedGeometry *pg = GEOSPrepare_r(h, gg);
        if (!pg) continue;
        size_t lo = 0, hi = nn;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (g->node_ll[2 * ord[mid]] < x0) lo = mid + 1;
            else hi = mid;
        }
        for (size_t k = lo; k < nn && g->node_ll[2 * ord[k]] <= x1; k++) {
            uint32_t v = ord[k];
            double lon = g->node_ll[2 * v], lat = g->node_ll[2 * v + 1];
            if (lat < y0 || lat > y1 || !pcontains(h, pg, lon, lat)) continue;
            f->nodes++;
            uint32_t t = wg_sdir_dist(&is->s, v);
            if (t == WG_W_INF) f->unreached++;
            else if (t > f->worst_ms) f->worst_ms = t;
            f->late += t == WG_W_INF || (double)t > f->minutes * 60000.0;
        }
        GEOSPreparedGeom_destroy_r(h, pg);
    }
    free(ord);
    return WG_OK;
}

/* Incidents of each grid (by code), and those in a cell reached within
 * the grid's time. */
static wg_status incidents(cov *c, const wg_iso_raster *r, const size_t *grid_by_code) {
    wg_ws *ws = c->ws;
    sqlite3_stmt *st = NULL;
    wg_status rc = WG_OK;
    size_t n = 0, cap = 0, *gi = NULL;
    double *xy = NULL;
    if ((rc = wg_ws_prepare(ws, "SELECT grid_code, ST_X(geom), ST_Y(geom) FROM incidents "
                            "WHERE grid_code IS NOT NULL AND geom IS NOT NULL", &st)))
        return rc;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *code = (const char *)sqlite3_column_text(st, 0);
        size_t lo = 0, hi = c->ngrids;
        while (code && lo < hi) {
            size_t mid = (lo + hi) / 2;
            int cmp = strcmp(c->units.v[c->grids[grid_by_code[mid]]].code, code);
            if (!cmp) {
                lo = mid;
                break;
            }
            if (cmp < 0) lo = mid + 1;
            else hi = mid;
        }
        if (!code || lo >= c->ngrids || strcmp(c->units.v[c->grids[grid_by_code[lo]]].code, code))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            size_t *g2 = realloc(gi, cap * sizeof *g2);
            if (g2) gi = g2;
            double *x2 = g2 ? realloc(xy, 2 * cap * sizeof *x2) : NULL;
            if (!x2) {
                rc = wg_err(ws->ctx, WG_ERR_NOMEM, "out of memory reading incidents");
                goto done;
            }
            xy = x2;
        }
        gi[n] = grid_by_code[lo];
        xy[2 * n] = sqlite3_column_double(st, 1), xy[2 * n + 1] = sqlite3_column_double(st, 2);
        n++;
    }
    if (step != SQLITE_DONE) {
        rc = wg_ws_sqlerr(ws, "reading incidents");
        goto done;
    }
    if ((rc = wg_ws_metric_xy(ws, 0, xy, n))) goto done;
    for (size_t i = 0; i < n; i++) {
        gfig *f = &c->f[gi[i]];
        uint32_t t;
        f->incidents++;
        if (wg_iso_raster_at(r, xy[2 * i], xy[2 * i + 1], &t) && t <= f->minutes * 60000.0)
            f->inside++;
    }
done:
    sqlite3_finalize(st);
    free(gi), free(xy);
    return rc;
}

/* Gathers polygonised cells as GEOS polygons. */
typedef struct gpolys {
    GEOSGeometry **v;
    size_t n, cap;
} gpolys;

static wg_status add_gpoly(wg_ctx *ctx, void *user, GEOSGeometry *g) {
    gpolys *p = user;
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 64;
        GEOSGeometry **v = realloc(p->v, cap * sizeof *v);
        if (!v) {
            GEOSGeom_destroy_r(ctx->geos, g);
            return wg_err(ctx, WG_ERR_NOMEM, "out of memory");
        }
        p->v = v, p->cap = cap;
    }
    p->v[p->n++] = g;
    return WG_OK;
}

/* The covered area of grid i (metric polygon gm) and its uncovered part. */
static wg_status cover_grid(wg_ws *ws, cov *c, size_t i, const GEOSGeometry *gm,
                            const wg_iso_raster *r) {
    wg_ctx *ctx = ws->ctx;
    GEOSContextHandle_t h = ctx->geos;
    gfig *f = &c->f[i];
    gpolys p = {0};
    GEOSGeometry *cells = NULL, *out = NULL;
    double x0, y0, x1, y1;
    wg_status rc = WG_OK;
    GEOSArea_r(h, gm, &f->area);
    if (!GEOSGeom_getXMin_r(h, gm, &x0) || !GEOSGeom_getYMin_r(h, gm, &y0) ||
        !GEOSGeom_getXMax_r(h, gm, &x1) || !GEOSGeom_getYMax_r(h, gm, &y1))
        return WG_OK; /* empty */
    rc = wg_iso_raster_polygons(ctx, r, f->minutes * 60000.0, x0, y0, x1, y1, add_gpoly, &p);
    if (rc) goto done;
    if (!p.n) {
        f->covered = 0;
        out = GEOSGeom_clone_r(h, gm);
    } else {
        cells = GEOSGeom_createCollection_r(h, GEOS_MULTIPOLYGON, p.v, (unsigned)p.n);
        if (cells) p.n = 0; /* owned by the collection */
        /* one overlay: covered = area - uncovered (the intersection's
         * area is the same up to rounding and cost as much again) */
        out = cells ? GEOSDifference_r(h, gm, cells) : NULL;
        double ua = 0;
        if (out && GEOSArea_r(h, out, &ua)) f->covered = f->area - ua;
    }
    if (!out) {
        rc = wg_err(ctx, WG_ERR_GEOS, "GEOS failed on grid %s: %s", c->units.v[c->grids[i]].code,
                    wg_geos_msg(ctx));
        goto done;
    }
    if (f->covered > f->area) f->covered = f->area;
    if (f->covered < 0) f->covered = 0;
    if (f->area - f->covered >= 1.0 && !(f->uncovered = wg_ws_from_metric(ws, out))) rc = WG_ERR_PROJ;
done:
    for (size_t k = 0; k < p.n; k++) GEOSGeom_destroy_r(h, p.v[k]);
    free(p.v);
    if (cells) GEOSGeom_destroy_r(h, cells);
    if (out) GEOSGeom_destroy_r(h, out);
    return rc;
}

static const cov *g_sort_cov;
static int cmp_grid_code(const void *a, const void *b) {
    const cov *c = g_sort_cov;
    return strcmp(c->units.v[c->grids[*(const size_t *)a]].code,
                  c->units.v[c->grids[*(const size_t *)b]].code);
}

/* ---- writing ------------------------------------------------------------- */

static OGRGeometryH ogr_of(wg_ctx *ctx, const GEOSGeometry *g) {
    GEOSWKBWriter *wr = GEOSWKBWriter_create_r(ctx->geos);
    size_t len = 0;
    unsigned char *wkb = wr ? GEOSWKBWriter_write_r(ctx->geos, wr, g, &len) : NULL;
    OGRGeometryH og = NULL;
    if (wkb) OGR_G_CreateFromWkbEx(wkb, NULL, &og, len);
    GEOSFree_r(ctx->geos, wkb);
    if (wr) GEOSWKBWriter_destroy_r(ctx->geos, wr);
    return og ? OGR_G_ForceToMultiPolygon(og) : NULL;
}

static const char *status_of(const gfig *f) {
    return f->area - f->covered < 1.0 ? "full" : f->covered > 0 ? "partial" : "none";
}

/* By the grid's road nodes: every one reached within its time, some, none
 * (the band's holes away from roads make "full" by area rare on real
 * ground; this says whether an officer can be at every road point). */
static const char *road_status_of(const gfig *f) {
    return !f->nodes ? "no_roads" : !f->late ? "all" : f->late < f->nodes ? "some" : "none";
}

static double rnd(double x, double k) { return round(x * k) / k; }

static wg_status write_grids(wg_ctx *ctx, void *layer, void *user) {
    OGRLayerH l = layer;
    cov *c = user;
    static const char *const names[] = {"code", "name", "minutes", "area_m2", "covered_m2",
                                        "area_share", "incidents", "incidents_in",
                                        "incident_share", "worst_min", "unreached_nodes",
                                        "status", "road_nodes", "late_nodes", "road_status"};
    static const OGRFieldType types[] = {OFTString, OFTString, OFTReal, OFTReal, OFTReal, OFTReal,
                                         OFTInteger64, OFTInteger64, OFTReal, OFTReal,
                                         OFTInteger64, OFTString, OFTInteger64, OFTInteger64,
                                         OFTString};
    wg_status rc;
    for (int k = 0; k < 15; k++)
        if ((rc = wg_ogr_add_field(ctx, l, names[k], types[k], -1))) return rc;
    for (size_t i = 0; i < c->ngrids; i++) {
        const wg_unit *u = &c->units.v[c->grids[i]];
        const gfig *f = &c->f[i];
        OGRFeatureH ft = OGR_F_Create(OGR_L_GetLayerDefn(l));
        OGR_F_SetFieldString(ft, 0, u->code);
        if (u->name) OGR_F_SetFieldString(ft, 1, u->name);
        OGR_F_SetFieldDouble(ft, 2, f->minutes);
        OGR_F_SetFieldDouble(ft, 3, rnd(f->area, 10));
        OGR_F_SetFieldDouble(ft, 4, rnd(f->covered, 10));
        OGR_F_SetFieldDouble(ft, 5, f->area > 0 ? rnd(f->covered / f->area, 1e6) : 0);
        OGR_F_SetFieldInteger64(ft, 6, f->incidents);
        OGR_F_SetFieldInteger64(ft, 7, f->inside);
        if (f->incidents) OGR_F_SetFieldDouble(ft, 8, rnd((double)f->inside / (double)f->incidents, 1e6));
        if (!f->unreached && f->nodes) OGR_F_SetFieldDouble(ft, 9, rnd(f->worst_ms / 60000.0, 1e4));
        OGR_F_SetFieldInteger64(ft, 10, f->unreached);
        OGR_F_SetFieldString(ft, 11, status_of(f));
        OGR_F_SetFieldInteger64(ft, 12, f->nodes);
        OGR_F_SetFieldInteger64(ft, 13, f->late);
        OGR_F_SetFieldString(ft, 14, road_status_of(f));
        OGRGeometryH og = ogr_of(ctx, u->geom);
        if (og) OGR_F_SetGeometryDirectly(ft, og);
        OGRErr e = og ? OGR_L_CreateFeature(l, ft) : OGRERR_FAILURE;
        OGR_F_Destroy(ft);
        if (e != OGRERR_NONE)
            return wg_err(ctx, WG_ERR_GDAL, "cannot write grid %s: %s", u->code, wg_gdal_msg());
    }
    return WG_OK;
}

static wg_status write_uncovered(wg_ctx *ctx, void *layer, void *user) {
    OGRLayerH l = layer;
    cov *c = user;
    wg_status rc;
    if ((rc = wg_ogr_add_field(ctx, l, "code", OFTString, -1)) ||
        (rc = wg_ogr_add_field(ctx, l, "minutes", OFTReal, -1)) ||
        (rc = wg_ogr_add_field(ctx, l, "area_m2", OFTReal, -1)))
        return rc;
    for (size_t i = 0; i < c->ngrids; i++) {
        const gfig *f = &c->f[i];
        if (!f->uncovered) continue;
        OGRFeatureH ft = OGR_F_Create(OGR_L_GetLayerDefn(l));
        OGR_F_SetFieldString(ft, 0, c->units.v[c->grids[i]].code);
        OGR_F_SetFieldDouble(ft, 1, f->minutes);
        OGR_F_SetFieldDouble(ft, 2, rnd(f->area - f->covered, 10));
        OGRGeometryH og = ogr_of(ctx, f->uncovered);
        if (og) OGR_F_SetGeometryDirectly(ft, og);
        OGRErr e = og ? OGR_L_CreateFeature(l, ft) : OGRERR_FAILURE;
        OGR_F_Destroy(ft);
        if (e != OGRERR_NONE)
            return wg_err(ctx, WG_ERR_GDAL, "cannot write the uncovered part of %s: %s",
                          c->units.v[c->grids[i]].code, wg_gdal_msg());
    }
    return WG_OK;
}

/* ---- the run ------------------------------------------------------------- */

wg_status wg_coverage_run(wg_ws *ws, const wg_graph *g, const wg_coverage_opts *opts,
                          const char *path, const char *uncovered_path,
                          wg_coverage_report *report) {
    wg_ctx *ctx = ws->ctx;
    GEOSContextHandle_t h = ctx->geos;
    double t0 = now_s();
    wg_coverage_opts o;
    cov c;
    wg_iso_search is;
    rule rules[MAX_RULES];
    int nr = 0, ntimes = 0;
    double tms[MAX_RULES + 1], *ll = NULL;
    size_t nll = 0, *by_code = NULL;
    wg_iso_pbuf pb = {0};
    wg_iso_raster r = {0};
    wg_coverage_report rep;
    wg_status rc = WG_OK;
    memset(&c, 0, sizeof c);
    memset(&is, 0, sizeof is);
    memset(&rep, 0, sizeof rep);
    if (opts) o = *opts;
    else memset(&o, 0, sizeof o);
    c.ws = ws;
    double band = o.buffer_m > 0 ? o.buffer_m : 30.0;
    double cell = o.cell_m > 0 ? o.cell_m : 0; /* 0: chosen by the raster (isoraster.c) */
    if (o.rule && parse_rules(ctx, o.rule, rules, &nr)) return WG_ERR_INVALID_ARG;
    if ((rc = wg_units_load(ws, WG_LEVEL_BIT(WG_LEVEL_COUNTY) | WG_LEVEL_BIT(WG_LEVEL_TOWN) |
                                    WG_LEVEL_BIT(WG_LEVEL_VILLAGE) | WG_LEVEL_BIT(WG_LEVEL_GRID),
                            NULL, &c.units)))
        goto done;
    c.grids = malloc((c.units.n ? c.units.n : 1) * sizeof *c.grids);
    if (!c.grids) goto nomem;
    for (size_t i = 0; i < c.units.n; i++)
        if (c.units.v[i].level == WG_LEVEL_GRID) c.grids[c.ngrids++] = i;
    if (!c.ngrids) {
        rc = wg_err(ctx, WG_ERR_NOT_FOUND, "the workspace has no comprehensive grids");
        goto done;
    }
    c.f = calloc(c.ngrids, sizeof *c.f);
    if (!c.f) goto nomem;
    if ((rc = assign_minutes(ctx, &c, rules, nr, o.minutes > 0 ? o.minutes : 10.0))) goto done;
    for (size_t i = 0; i < c.ngrids; i++) {
        int k = 0;
        while (k < ntimes && tms[k] != c.f[i].minutes) k++;
        if (k == ntimes) tms[ntimes++] = c.f[i].minutes;
    }
    if ((rc = load_origins(ws, &o, &ll, &nll))) goto done;
    /* no limit: the worst time of a grid may lie beyond its service time */
    if ((rc = wg_iso_search_run(ctx, g, o.profile, 0, o.max_snap_m, ll, nll, (double)WG_W_INF,
                                &is)))
        goto done;
    rep.origins = (int64_t)nll - is.no_road;
    rep.no_road = is.no_road;
    double tmax = 0;
    for (int k = 0; k < ntimes; k++)
        if (tms[k] > tmax) tmax = tms[k];
    wg_iso_collect(&is, tmax * 60000.0, o.threads, &pb);
    if (pb.nomem) goto nomem;
    if ((rc = wg_iso_raster_build(ws, pb.v, pb.n, pb.pt, pb.npt, band, cell, o.threads, &r))) goto done;
    wg_iso_pbuf_free(&pb);
    if ((rc = node_times(ctx, &c, &is))) goto done;
    for (size_t i = 0; i < c.ngrids; i++) {
        GEOSGeometry *gm = wg_ws_to_metric(ws, c.units.v[c.grids[i]].geom);
        if (!gm) {
            rc = WG_ERR_PROJ;
            goto done;
        }
        rc = cover_grid(ws, &c, i, gm, &r);
        GEOSGeom_destroy_r(h, gm);
        if (rc) goto done;
        if (wg_progress(ctx, "coverage", i + 1, c.ngrids)) {
            rc = wg_err(ctx, WG_ERR_INTERRUPTED, "coverage interrupted at grid %zu of %zu", i + 1, c.ngrids);
            goto done;
        }
    }
    by_code = malloc(c.ngrids * sizeof *by_code);
    if (!by_code) goto nomem;
    for (size_t i = 0; i < c.ngrids; i++) by_code[i] = i;
    g_sort_cov = &c;
    qsort(by_code, c.ngrids, sizeof *by_code, cmp_grid_code);
    if ((rc = incidents(&c, &r, by_code))) goto done;
    for (size_t i = 0; i < c.ngrids; i++) {
        const gfig *f = &c.f[i];
        const char *s = status_of(f);
        rep.grids++;
        rep.full += s[0] == 'f';
        rep.partial += s[0] == 'p';
        rep.none += s[0] == 'n';
        const char *rs = road_status_of(f);
        rep.roads_all += rs[0] == 'a';
        rep.roads_some += rs[0] == 's';
        rep.roads_none += !strcmp(rs, "none");
        rep.no_roads += !strcmp(rs, "no_roads");
        rep.area_m2 += f->area, rep.covered_m2 += f->covered;
        rep.incidents += f->incidents;
        rep.incidents_in += f->inside;
    }
    if ((rc = wg_iso_write_layer(ctx, path, "coverage", wkbMultiPolygon, write_grids, &c)))
        goto done;
    if (uncovered_path &&
        (rc = wg_iso_write_layer(ctx, uncovered_path, "uncovered", wkbMultiPolygon,
                                 write_uncovered, &c)))
        goto done;
    rep.seconds = now_s() - t0;
    if (report) *report = rep;
    goto done;
nomem:
    rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory computing coverage");
done:
    wg_iso_raster_free(&r);
    wg_iso_pbuf_free(&pb);
    for (size_t i = 0; c.f && i < c.ngrids; i++)
        if (c.f[i].uncovered) GEOSGeom_destroy_r(h, c.f[i].uncovered);
    free(c.f), free(c.grids), free(by_code), free(ll);
    wg_iso_search_free(&is);
    wg_units_free(ctx, &c.units);
    return rc;
}
