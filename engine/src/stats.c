/* stats.c -- the figures leaders judge grids and departments by: received,
 * accepted (受理率), closed, closed on time (按时办结率), open and overdue,
 * median time to close, satisfaction (满意率), per grid, village, town,
 * category or officer.
 *
 * One pass: a single SELECT over the incidents (an index range scan on
 * reported_at when a period is given) feeds per-group accumulators in a
 * hash table; medians come from each group's list of closing times. The
 * period is judged on the parsed time, not the text, because `place
 * --store` keeps the source's text ("...+08:00"): the SQL range is widened
 * by a day on each side and the exact test is made here. Stored deadlines
 * and closing times are normalised UTC text, so "on time" and "overdue"
 * are text comparisons; only the yellow warning of open incidents needs
 * the rules (computed for the open ones only). */
#include "deadlines.h"
#include "httpparse.h"
#include "ogrio.h"
#include "workspace.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const BY[] = {"grid", "village", "town", "category", "officer"};
static const char *const BY_COL[] = {"grid_code", "village_code", "town_code", "category",
                                     "assignee"};

const char *wg_stats_by_name(wg_stats_by by) { return (unsigned)by < 5 ? BY[by] : NULL; }

wg_status wg_stats_by_parse(const char *s, wg_stats_by *out) {
    for (int i = 0; s && i < 5; i++)
        if (!strcmp(s, BY[i])) {
            *out = (wg_stats_by)i;
            return WG_OK;
        }
    return WG_ERR_INVALID_ARG;
}

typedef struct group {
    wg_stats_row row;
    char *key, *name;
    int64_t sat_sum;
    int64_t *close_s; /* seconds from report to close */
    size_t nclose, capclose;
} group;

typedef struct table {
    group *g;
    size_t n, cap;
    size_t *slot; /* open addressing: index + 1, 0 = empty */
    size_t nslot;
} table;

static uint64_t hash(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static wg_status grow(wg_ctx *ctx, table *t) {
    size_t ns = t->nslot ? t->nslot * 2 : 1024;
    size_t *slot = calloc(ns, sizeof *slot);
    if (!slot) return wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < t->n; i++) {
        size_t h = (size_t)hash(t->g[i].key) & (ns - 1);
        while (slot[h]) h = (h + 1) & (ns - 1);
        slot[h] = i + 1;
    }
    free(t->slot);
    t->slot = slot;
    t->nslot = ns;
    return WG_OK;
}

static group *lookup(wg_ctx *ctx, table *t, const char *key) {
    if ((t->n + 1) * 2 > t->nslot && grow(ctx, t)) return NULL;
    size_t h = (size_t)hash(key) & (t->nslot - 1);
    while (t->slot[h]) {
        group *g = &t->g[t->slot[h] - 1];
        if (!strcmp(g->key, key)) return g;
        h = (h + 1) & (t->nslot - 1);
    }
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 256;
        group *ng = realloc(t->g, nc * sizeof *ng);
        if (!ng) {
            wg_err(ctx, WG_ERR_NOMEM, "out of memory");
            return NULL;
        }
        t->g = ng;
        t->cap = nc;
    }
    group *g = &t->g[t->n];
    memset(g, 0, sizeof *g);
    if (!(g->key = strdup(key))) {
        wg_err(ctx, WG_ERR_NOMEM, "out of memory");
        return NULL;
    }
    t->slot[h] = ++t->n;
    return g;
}

static void table_free(table *t) {
    for (size_t i = 0; i < t->n; i++) {
        free(t->g[i].key), free(t->g[i].name);
        free(t->g[i].close_s);
    }
    free(t->g);
    free(t->slot);
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_group(const void *a, const void *b) {
    return strcmp(((const group *)a)->key, ((const group *)b)->key);
}

static double pct(int64_t num, int64_t den) { return den ? 100.0 * (double)num / (double)den : NAN; }

static void finish_row(group *g) {
    wg_stats_row *r = &g->row;
    r->key = g->key, r->name = g->name;
    if (g->nclose) {
        qsort(g->close_s, g->nclose, sizeof *g->close_s, cmp_i64);
        size_t m = g->nclose / 2;
        double med = g->nclose % 2 ? (double)g->close_s[m]
                                   : ((double)g->close_s[m - 1] + (double)g->close_s[m]) / 2;
        r->median_close_h = med / 3600.0;
    } else {
        r->median_close_h = NAN;
    }
    r->mean_satisfaction = r->rated ? (double)g->sat_sum / (double)r->rated : NAN;
    r->acceptance_rate = pct(r->accepted, r->received);
    r->on_time_rate = pct(r->closed_on_time, r->closed);
    r->satisfaction_rate = pct(r->satisfied, r->rated);
}

static const char *txt(sqlite3_stmt *st, int i) { return (const char *)sqlite3_column_text(st, i); }

/* Each group's name: the unit's current one, or the officer's. */
static wg_status name_groups(wg_ws *ws, wg_stats_by by, table *t) {
    if (by == WG_STATS_CATEGORY || !t->n) return WG_OK;
    sqlite3_stmt *q = NULL;
    wg_status rc = wg_ws_prepare(ws, by == WG_STATS_OFFICER
                                         ? "SELECT name FROM officers WHERE officer_id = ?1"
                                         : "SELECT name FROM units WHERE code = ?1 AND level = ?2 "
                                           "AND valid_to IS NULL", &q);
    if (rc) return rc;
    if (by != WG_STATS_OFFICER) sqlite3_bind_text(q, 2, BY[by], -1, SQLITE_STATIC);
    for (size_t i = 0; i < t->n && !rc; i++) {
        group *g = &t->g[i];
        sqlite3_bind_text(q, 1, g->key, -1, SQLITE_STATIC);
        int r = sqlite3_step(q);
        if (r == SQLITE_ROW && txt(q, 0) && !(g->name = strdup(txt(q, 0))))
            rc = wg_err(ws->ctx, WG_ERR_NOMEM, "out of memory");
        else if (r != SQLITE_ROW && r != SQLITE_DONE)
            rc = wg_ws_sqlerr(ws, "reading the groups' names");
        sqlite3_reset(q);
    }
    sqlite3_finalize(q);
    return rc;
}

/* The sums of every group, and all their closing times for the median. */
static wg_status total_group(wg_ctx *ctx, const table *t, group *all) {
    size_t nclose = 0;
    for (size_t i = 0; i < t->n; i++) nclose += t->g[i].nclose;
    if (nclose && !(all->close_s = malloc(nclose * sizeof *all->close_s)))
        return wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    wg_stats_row *a = &all->row;
    for (size_t i = 0; i < t->n; i++) {
        const group *g = &t->g[i];
        const wg_stats_row *r = &g->row;
        a->received += r->received, a->accepted += r->accepted, a->closed += r->closed;
        a->closed_on_time += r->closed_on_time, a->open += r->open;
        a->overdue_open += r->overdue_open, a->warning_open += r->warning_open;
        a->rated += r->rated, a->satisfied += r->satisfied, all->sat_sum += g->sat_sum;
        if (g->nclose) memcpy(all->close_s + all->nclose, g->close_s, g->nclose * sizeof *g->close_s);
        all->nclose += g->nclose;
    }
    return WG_OK;
}

wg_status wg_stats_compute(wg_ws *ws, const wg_stats_opts *o,
                           int (*fn)(void *user, const wg_stats_row *row), void *user) {
    wg_ctx *ctx = ws->ctx;
    if ((unsigned)o->by >= 5) return wg_err(ctx, WG_ERR_INVALID_ARG, "unknown grouping");
    int64_t from = 0, to = 0, at = wg_time_now();
    if (o->from && !wg_time_parse(o->from, strlen(o->from), &from))
        return wg_err(ctx, WG_ERR_INVALID_ARG, "from: '%.40s' is not an RFC 3339 time", o->from);
    if (o->to && !wg_time_parse(o->to, strlen(o->to), &to))
        return wg_err(ctx, WG_ERR_INVALID_ARG, "to: '%.40s' is not an RFC 3339 time", o->to);
    if (o->at && !wg_time_parse(o->at, strlen(o->at), &at))
        return wg_err(ctx, WG_ERR_INVALID_ARG, "at: '%.40s' is not an RFC 3339 time", o->at);
    char at_s[24], lo[24], hi[24];
    wg_time_format(at, at_s);
    wg_time_format(from > 86400 ? from - 86400 : 0, lo);
    wg_time_format(to + 86400, hi);
    wg_rules *rules = NULL;
    table t = {0};
    group all = {0}; /* the total row: key and name NULL */
    sqlite3_stmt *st = NULL;
    wg_status rc = wg_lifecycle_ready(ws) ? WG_OK : wg_lifecycle_init(ws);
    if (rc || (rc = wg_rules_load(ws, &rules))) goto done;
    char sql[900];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(%s, ''), coalesce(status, 'reported'), reported_at, closed_at, "
             "deadline, satisfaction, deadline_clock, coalesce(level_since, received_at, "
             "reported_at), dispatch_deadline, category FROM incidents%s%s%s",
             BY_COL[o->by], o->from || o->to ? " WHERE 1" : "",
             o->from ? " AND reported_at >= ?1" : "", o->to ? " AND reported_at < ?2" : "");
    if ((rc = wg_ws_prepare(ws, sql, &st))) goto done;
    if (o->from) sqlite3_bind_text(st, 1, lo, -1, SQLITE_STATIC);
    if (o->to) sqlite3_bind_text(st, 2, hi, -1, SQLITE_STATIC);
    int r;
    int64_t rows = 0;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if ((++rows & 0xffff) == 0 && wg_progress(ctx, "stats", 0, 0)) {
            rc = wg_err(ctx, WG_ERR_INTERRUPTED, "interrupted");
            goto done;
        }
        const char *rep = txt(st, 2);
        int64_t rt = 0;
        int have_rt = rep && wg_time_parse(rep, (size_t)sqlite3_column_bytes(st, 2), &rt);
        if ((o->from || o->to) && (!have_rt || (o->from && rt < from) || (o->to && rt >= to)))
            continue;
        group *g = lookup(ctx, &t, txt(st, 0));
        if (!g) {
            rc = WG_ERR_NOMEM;
            goto done;
        }
        wg_stats_row *w = &g->row;
        const char *status = txt(st, 1), *closed_at = txt(st, 3), *deadline = txt(st, 4);
        w->received++;
        w->accepted += strcmp(status, "reported") != 0;
        if (!strcmp(status, "closed")) {
            w->closed++;
            w->closed_on_time += closed_at && deadline && strcmp(closed_at, deadline) <= 0;
            int64_t ct;
            if (closed_at && have_rt && wg_time_parse(closed_at, strlen(closed_at), &ct)) {
                if (g->nclose == g->capclose) {
                    size_t nc = g->capclose ? g->capclose * 2 : 16;
                    int64_t *p = realloc(g->close_s, nc * sizeof *p);
                    if (!p) {
                        rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory");
                        goto done;
                    }
                    g->close_s = p;
                    g->capclose = nc;
                }
                g->close_s[g->nclose++] = ct - rt;
            }
        } else {
            w->open++;
            if (deadline && strcmp(deadline, at_s) < 0) {
                w->overdue_open++;
            } else if (deadline) {
                wg_colour c = wg_state_colour(rules, status, txt(st, 9), txt(st, 6), txt(st, 7),
                                              deadline, txt(st, 8), at);
                w->warning_open += c == WG_COLOUR_YELLOW;
                w->overdue_open += c == WG_COLOUR_RED; /* dispatch overdue */
            }
        }
        if (sqlite3_column_type(st, 5) != SQLITE_NULL) {
            int s = sqlite3_column_int(st, 5);
            w->rated++;
            w->satisfied += s >= 4;
            g->sat_sum += s;
        }
    }
    if (r != SQLITE_DONE) {
        rc = wg_ws_sqlerr(ws, "reading incidents");
        goto done;
    }
    if (t.n) qsort(t.g, t.n, sizeof *t.g, cmp_group);
    if ((rc = name_groups(ws, o->by, &t))) goto done;
    if (o->total && (rc = total_group(ctx, &t, &all))) goto done;
    for (size_t i = 0; i < t.n; i++) {
        finish_row(&t.g[i]);
        if (fn(user, &t.g[i].row)) goto done;
    }
    if (o->total) {
        finish_row(&all);
        fn(user, &all.row);
    }
done:
    sqlite3_finalize(st);
    free(all.close_s);
    table_free(&t);
    wg_rules_free(rules);
    return rc;
}

/* ---- writing ---------------------------------------------------------------- */

static const char *const INT_FIELDS[] = {"received", "accepted", "closed", "closed_on_time",
                                         "open", "overdue_open", "warning_open", "rated",
                                         "satisfied"};
static const char *const REAL_FIELDS[] = {"median_close_h", "mean_satisfaction",
                                          "acceptance_rate", "on_time_rate",
                                          "satisfaction_rate"};

static void set_row(OGRFeatureH f, const wg_stats_row *r) {
    const int64_t iv[] = {r->received, r->accepted,   r->closed, r->closed_on_time, r->open,
                          r->overdue_open, r->warning_open, r->rated, r->satisfied};
    const double dv[] = {r->median_close_h, r->mean_satisfaction, r->acceptance_rate,
                         r->on_time_rate, r->satisfaction_rate};
    OGR_F_SetFieldString(f, OGR_F_GetFieldIndex(f, "key"), r->key);
    for (size_t i = 0; i < sizeof iv / sizeof iv[0]; i++)
        OGR_F_SetFieldInteger64(f, OGR_F_GetFieldIndex(f, INT_FIELDS[i]), iv[i]);
    for (size_t i = 0; i < sizeof dv / sizeof dv[0]; i++) {
        int k = OGR_F_GetFieldIndex(f, REAL_FIELDS[i]);
        if (isnan(dv[i])) OGR_F_SetFieldNull(f, k);
        else OGR_F_SetFieldDouble(f, k, round(dv[i] * 100) / 100);
    }
}

wg_status wg_stats_write(wg_ws *ws, const wg_stats_opts *o, const wg_stats_row *rows, size_t n,
                         const char *path) {
    wg_ctx *ctx = ws->ctx;
    const char *drv_name = wg_ogr_driver_for(ctx, path);
    if (!drv_name) return WG_ERR_INVALID_ARG;
    int geom = o->by == WG_STATS_GRID || o->by == WG_STATS_VILLAGE || o->by == WG_STATS_TOWN;
    if (!geom && !strcmp(drv_name, "ESRI Shapefile"))
        return wg_err(ctx, WG_ERR_INVALID_ARG, "figures by %s have no geometry: write .csv, "
                      ".geojson or .gpkg, not a Shapefile", BY[o->by]);
    wg_gdal_init();
    GDALDriverH drv = GDALGetDriverByName(drv_name);
    if (!drv) return wg_err(ctx, WG_ERR_GDAL, "this GDAL has no %s driver", drv_name);
    wg_staging sg;
    wg_status rc = wg_staging_open(ctx, path, &sg);
    if (rc) return rc;
    sqlite3_stmt *gq = NULL;
    if (geom)
        rc = wg_ws_prepare(ws, "SELECT name, AsBinary(geom) FROM units WHERE code = ? AND "
                               "level = ? AND valid_to IS NULL", &gq);
    wg_gdal_quiet_push();
    GDALDatasetH ds = rc ? NULL : GDALCreate(drv, sg.tmpfile, 0, 0, 0, GDT_Unknown, NULL);
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(srs, 4326);
    OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
    const char *lco_geojson[] = {"RFC7946=YES", "COORDINATE_PRECISION=7", NULL};
    const char *lco_shp[] = {"ENCODING=UTF-8", NULL};
    const char **lco = !strcmp(drv_name, "GeoJSON")          ? lco_geojson
                       : !strcmp(drv_name, "ESRI Shapefile") ? lco_shp
                                                             : NULL;
    char lname[256];
    snprintf(lname, sizeof lname, "%s", strrchr(sg.tmpfile, '/') + 1);
    char *dot = strrchr(lname, '.');
    if (dot) *dot = '\0';
    OGRLayerH l = ds ? GDALDatasetCreateLayer(ds, lname, geom ? srs : NULL,
                                              geom ? wkbMultiPolygon : wkbNone, (char **)lco)
                     : NULL;
    if (!rc && !l) rc = wg_err(ctx, WG_ERR_GDAL, "cannot create %s: %s", path, wg_gdal_msg());
    if (!rc) rc = wg_ogr_add_field(ctx, l, "key", OFTString, -1);
    if (!rc && geom) rc = wg_ogr_add_field(ctx, l, "name", OFTString, -1);
    for (size_t i = 0; !rc && i < sizeof INT_FIELDS / sizeof INT_FIELDS[0]; i++)
        rc = wg_ogr_add_field(ctx, l, INT_FIELDS[i], OFTInteger64, -1);
    for (size_t i = 0; !rc && i < sizeof REAL_FIELDS / sizeof REAL_FIELDS[0]; i++)
        rc = wg_ogr_add_field(ctx, l, REAL_FIELDS[i], OFTReal, 2);
    if (!rc) GDALDatasetStartTransaction(ds, 0);
    for (size_t i = 0; !rc && i < n; i++) {
        OGRFeatureH f = OGR_F_Create(OGR_L_GetLayerDefn(l));
        set_row(f, &rows[i]);
        if (geom) {
            sqlite3_reset(gq);
            sqlite3_bind_text(gq, 1, rows[i].key, -1, SQLITE_STATIC);
            sqlite3_bind_text(gq, 2, BY[o->by], -1, SQLITE_STATIC);
            if (sqlite3_step(gq) == SQLITE_ROW) {
                const char *name = (const char *)sqlite3_column_text(gq, 0);
                if (name) OGR_F_SetFieldString(f, OGR_F_GetFieldIndex(f, "name"), name);
                OGRGeometryH g = NULL;
                const void *wkb = sqlite3_column_blob(gq, 1);
                if (wkb)
                    OGR_G_CreateFromWkbEx(wkb, NULL, &g, (size_t)sqlite3_column_bytes(gq, 1));
                if (g) OGR_F_SetGeometryDirectly(f, g);
            }
        }
        if (OGR_L_CreateFeature(l, f) != OGRERR_NONE)
            rc = wg_err(ctx, WG_ERR_GDAL, "cannot write %s (group '%s'): %s", path, rows[i].key,
                        wg_gdal_msg());
        OGR_F_Destroy(f);
    }
    if (!rc && GDALDatasetCommitTransaction(ds) == OGRERR_FAILURE)
        rc = wg_err(ctx, WG_ERR_GDAL, "cannot write %s: %s", path, wg_gdal_msg());
    rc = wg_gdal_close_checked(ctx, ds, rc, path);
    wg_gdal_quiet_pop();
    sqlite3_finalize(gq);
    OSRDestroySpatialReference(srs);
    wg_status rc2 = wg_staging_close(ctx, &sg, rc == WG_OK);
    if (!rc) rc = rc2;
    return rc;
}
