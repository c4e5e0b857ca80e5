/* officerindex.c -- the officer roster in memory, for services that look
 * officers up thousands of times a second.
 *
 * wg_officers_for_units() prepares an SQL statement per call, which is
 * most of the cost of answering "who is responsible here" over HTTP. The
 * index reads every assignment once into one array sorted by unit code
 * (strings in one arena), so a lookup is a binary search per code, a copy
 * of the matching rows and a sort in the order the SQL gives: role, name,
 * officer id (bytewise, as SQLite's BINARY collation). Immutable once
 * built: threads share it without locks. A roster imported later is not
 * seen; rebuild when wg_units_stamp() changes. */
#include "httpparse.h"
#include "workspace.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct orow {
    const char *officer_id, *name, *role, *phone, *unit;
    double lon, lat;
} orow;

struct wg_officer_index {
    orow *rows; /* sorted by unit */
    size_t n;
    char *arena;
};

void wg_officer_index_free(wg_officer_index *ix) {
    if (!ix) return;
    free(ix->rows);
    free(ix->arena);
    free(ix);
}

static int by_unit(const void *a, const void *b) {
    return strcmp(((const orow *)a)->unit, ((const orow *)b)->unit);
}

/* The order of wg_officers_for_units(), then the unit for a total order. */
static int by_role_name(const void *a, const void *b) {
    const orow *x = a, *y = b;
    int c = strcmp(x->role, y->role);
    if (!c) c = strcmp(x->name, y->name);
    if (!c) c = strcmp(x->officer_id, y->officer_id);
    if (!c) c = strcmp(x->unit, y->unit);
    return c;
}

wg_status wg_officer_index_build(wg_ws *ws, wg_officer_index **out) {
    wg_ctx *ctx = ws->ctx;
    static const char *const SQL =
        "SELECT o.officer_id, o.name, g.role, o.phone, g.grid_code, X(o.geom), Y(o.geom) "
        "FROM officer_grids g JOIN officers o USING(officer_id)";
    wg_officer_index *ix = calloc(1, sizeof *ix);
    if (!ix) return wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    /* Two passes in one read transaction: sizes, then copies. */
    sqlite3_stmt *st = NULL;
    wg_status rc = wg_ws_exec(ws, "BEGIN");
    if (rc) goto fail;
    if ((rc = wg_ws_prepare(ws, SQL, &st))) goto done;
    size_t n = 0, bytes = 0;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        n++;
        for (int c = 0; c < 5; c++) bytes += (size_t)sqlite3_column_bytes(st, c) + 1;
    }
    if (r != SQLITE_DONE) {
        rc = wg_ws_sqlerr(ws, "reading officers");
        goto done;
    }
    sqlite3_reset(st);
    ix->rows = malloc((n + 1) * sizeof *ix->rows);
    ix->arena = malloc(bytes + 1);
    if (!ix->rows || !ix->arena) {
        rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory");
        goto done;
    }
    char *p = ix->arena;
    while (ix->n < n && (r = sqlite3_step(st)) == SQLITE_ROW) {
        orow *o = &ix->rows[ix->n++];
        const char **f[5] = {&o->officer_id, &o->name, &o->role, &o->phone, &o->unit};
        for (int c = 0; c < 5; c++) {
            const char *s = (const char *)sqlite3_column_text(st, c);
            if (!s) {
                *f[c] = NULL;
                continue;
            }
            size_t len = (size_t)sqlite3_column_bytes(st, c);
            memcpy(p, s, len);
            p[len] = '\0';
            *f[c] = p;
            p += len + 1;
        }
        if (!o->officer_id) o->officer_id = "";
        if (!o->name) o->name = "";
        if (!o->role) o->role = "";
        if (!o->unit) o->unit = "";
        o->lon = sqlite3_column_type(st, 5) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 5);
        o->lat = sqlite3_column_type(st, 6) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 6);
    }
    qsort(ix->rows, ix->n, sizeof *ix->rows, by_unit);
done:
    sqlite3_finalize(st);
    wg_ws_exec(ws, "COMMIT");
    if (!rc) {
        *out = ix;
        return WG_OK;
    }
fail:
    wg_officer_index_free(ix);
    return rc;
}

size_t wg_officer_index_count(const wg_officer_index *ix) { return ix ? ix->n : 0; }

/* The first row of `unit`, or ix->n. */
static size_t lower_bound(const wg_officer_index *ix, const char *unit) {
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(ix->rows[mid].unit, unit) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

wg_status wg_officer_index_for_units(const wg_officer_index *ix, const char *const *codes,
                                     size_t n, int (*fn)(void *user, const wg_officer *o),
                                     void *user) {
    if (!ix || n > 500) return WG_ERR_INVALID_ARG;
    orow local[64], *sel = local;
    size_t cap = 64, k = 0;
    wg_status rc = WG_OK;
    for (size_t i = 0; i < n; i++) {
        if (!codes[i]) continue;
        int seen = 0; /* a code given twice counts once, as in SQL's IN */
        for (size_t j = 0; j < i && !seen; j++) seen = codes[j] && !strcmp(codes[j], codes[i]);
        if (seen) continue;
        for (size_t r = lower_bound(ix, codes[i]); r < ix->n && !strcmp(ix->rows[r].unit, codes[i]);
             r++) {
            if (k == cap) {
                orow *bigger = malloc(cap * 2 * sizeof *bigger);
                if (!bigger) {
                    rc = WG_ERR_NOMEM;
                    goto done;
                }
                memcpy(bigger, sel, k * sizeof *sel);
                if (sel != local) free(sel);
                sel = bigger;
                cap *= 2;
            }
            sel[k++] = ix->rows[r];
        }
    }
    qsort(sel, k, sizeof *sel, by_role_name);
    for (size_t i = 0; i < k; i++) {
        wg_officer o = {sel[i].officer_id, sel[i].name, sel[i].role, sel[i].phone, sel[i].unit,
                        sel[i].lon, sel[i].lat};
        if (fn(user, &o)) break;
    }
done:
    if (sel != local) free(sel);
    return rc;
}
