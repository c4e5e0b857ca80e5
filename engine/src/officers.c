/* officers.c -- officers and their assignments to grids.
 *
 * The import replaces all officers at once: the county's roster is the
 * source of truth and arrives whole. It is validated in the same pass that
 * writes it, inside one transaction; any bad line rolls everything back and
 * the message lists the first bad lines, so the analyst can fix the file in
 * one go rather than one error at a time. */
#include "csv.h"
#include "workspace.h"

#include <ctype.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const ROLES[] = {"grid_worker", "grid_chief", "grid_instructor", "volunteer",
                                    "police",      "judge",      "prosecutor",      "lawyer"};

static int role_known(const char *r) {
    for (size_t i = 0; i < sizeof ROLES / sizeof ROLES[0]; i++)
        if (!strcmp(r, ROLES[i])) return 1;
    return 0;
}

enum { C_ID, C_NAME, C_ROLE, C_GRID, C_PHONE, C_LON, C_LAT, C_COUNT };
static const char *const COLS[C_COUNT] = {"officer_id", "name", "role", "grid_code",
                                          "phone",      "lon",  "lat"};

/* Accumulates line errors: the first few verbatim, then a count. */
typedef struct errlist {
    char text[3000];
    int count;
} errlist;

static int errlist_add(errlist *e, long line, const char *what, const char *value) {
    e->count++;
    if (e->count > 10) return 1;
    size_t n = strlen(e->text);
    snprintf(e->text + n, sizeof e->text - n, "\n  line %ld: %s%s%.80s%s", line, what,
             value ? " '" : "", value ? value : "", value ? "'" : "");
    return 1;
}

static int parse_coord(const char *s, double lo, double hi, double *out) {
    char *end;
    while (isspace((unsigned char)*s)) s++;
    if (!*s) return 0;
    double v = strtod(s, &end);
    while (isspace((unsigned char)*end)) end++;
    if (*end || !isfinite(v) || v < lo || v > hi) return 0;
    *out = v;
    return 1;
}

/* Maps the header's column names to indexes; all but lon/lat required. */
static wg_status read_header(wg_ctx *ctx, wg_csv *csv, const char *path, int idx[C_COUNT]) {
    int r = wg_csv_next(csv);
    if (r < 0) return WG_ERR_FORMAT;
    if (r == 0) return wg_err(ctx, WG_ERR_FORMAT, "%s: the file is empty", path);
    for (int c = 0; c < C_COUNT; c++) idx[c] = -1;
    for (size_t i = 0; i < wg_csv_nfields(csv); i++)
        for (int c = 0; c < C_COUNT; c++)
            if (!strcasecmp(wg_csv_field(csv, i), COLS[c])) idx[c] = (int)i;
    for (int c = 0; c <= C_PHONE; c++)
        if (idx[c] < 0)
            return wg_err(ctx, WG_ERR_FORMAT, "%s: line 1: the header has no '%s' column "
                          "(required: officer_id, name, role, grid_code, phone; optional: lon, lat)",
                          path, COLS[c]);
    if ((idx[C_LON] < 0) != (idx[C_LAT] < 0))
        return wg_err(ctx, WG_ERR_FORMAT, "%s: line 1: give both lon and lat columns or neither",
                      path);
    return WG_OK;
}

typedef struct stmts {
    sqlite3_stmt *grid_exists, *ins_officer, *get_officer, *ins_assign;
} stmts;

/* Checks and stores one line; returns 1 if it was bad. */
static int check_line(wg_ws *ws, wg_csv *csv, const int idx[C_COUNT], stmts *s, errlist *errs) {
    long line = wg_csv_line(csv);
    const char *v[C_COUNT];
    for (int c = 0; c < C_COUNT; c++) v[c] = idx[c] >= 0 ? wg_csv_field(csv, (size_t)idx[c]) : "";
    if (!*v[C_ID]) return errlist_add(errs, line, "empty officer_id", NULL);
    if (!*v[C_NAME]) return errlist_add(errs, line, "empty name for officer", v[C_ID]);
    if (!role_known(v[C_ROLE])) return errlist_add(errs, line, "unknown role", v[C_ROLE]);
    sqlite3_reset(s->grid_exists);
    sqlite3_bind_text(s->grid_exists, 1, v[C_GRID], -1, SQLITE_STATIC);
    if (sqlite3_step(s->grid_exists) != SQLITE_ROW)
        return errlist_add(errs, line, "unknown grid code", v[C_GRID]);
    double lon = 0, lat = 0;
    int has_pt = *v[C_LON] || *v[C_LAT];
    if (has_pt && !(parse_coord(v[C_LON], -180, 180, &lon) && parse_coord(v[C_LAT], -90, 90, &lat)))
        return errlist_add(errs, line, "station lon/lat must be numbers in range, got",
                           *v[C_LON] ? v[C_LON] : v[C_LAT]);
    sqlite3_stmt *ins = s->ins_officer;
    sqlite3_reset(ins);
    sqlite3_bind_text(ins, 1, v[C_ID], -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 2, v[C_NAME], -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 3, v[C_PHONE], -1, SQLITE_STATIC);
    if (has_pt) {
        sqlite3_bind_double(ins, 4, lon);
        sqlite3_bind_double(ins, 5, lat);
    } else {
        sqlite3_bind_null(ins, 4);
        sqlite3_bind_null(ins, 5);
    }
    if (sqlite3_step(ins) != SQLITE_DONE)
        return errlist_add(errs, line, sqlite3_errmsg(ws->db), NULL);
    if (sqlite3_changes(ws->db) == 0) { /* seen before: must be the same person */
        sqlite3_reset(s->get_officer);
        sqlite3_bind_text(s->get_officer, 1, v[C_ID], -1, SQLITE_STATIC);
        if (sqlite3_step(s->get_officer) == SQLITE_ROW &&
            strcmp((const char *)sqlite3_column_text(s->get_officer, 0), v[C_NAME]) != 0)
            return errlist_add(errs, line, "officer_id given before with another name:", v[C_ID]);
    }
    sqlite3_reset(s->ins_assign);
    sqlite3_bind_text(s->ins_assign, 1, v[C_ID], -1, SQLITE_STATIC);
    sqlite3_bind_text(s->ins_assign, 2, v[C_GRID], -1, SQLITE_STATIC);
    sqlite3_bind_text(s->ins_assign, 3, v[C_ROLE], -1, SQLITE_STATIC);
    if (sqlite3_step(s->ins_assign) != SQLITE_DONE)
        return errlist_add(errs, line, sqlite3_errmsg(ws->db), NULL);
    return 0;
}

wg_status wg_officers_import(wg_ws *ws, const char *path, int64_t *imported) {
    wg_ctx *ctx = ws->ctx;
    wg_csv *csv = NULL;
    stmts s = {NULL, NULL, NULL, NULL};
    errlist errs;
    errs.text[0] = '\0';
    errs.count = 0;
    int idx[C_COUNT], in_tx = 0;
    wg_status rc;
    if (ws->readonly) return wg_err(ctx, WG_ERR_INVALID_ARG, "the workspace is open read-only");
    if ((rc = wg_csv_open(ctx, path, &csv))) return rc;
    if ((rc = read_header(ctx, csv, path, idx))) goto done;
    if ((rc = wg_ws_begin(ws))) goto done;
    in_tx = 1;
    if ((rc = wg_ws_exec(ws, "DELETE FROM officer_grids; DELETE FROM officers;")) ||
        (rc = wg_ws_prepare(ws, "SELECT 1 FROM units WHERE code = ? AND valid_to IS NULL",
                            &s.grid_exists)) ||
        (rc = wg_ws_prepare(ws, "INSERT INTO officers(officer_id, name, phone, geom) VALUES(?, ?, "
                            "?, MakePoint(?, ?, 4326)) ON CONFLICT(officer_id) DO NOTHING",
                            &s.ins_officer)) ||
        (rc = wg_ws_prepare(ws, "SELECT name FROM officers WHERE officer_id = ?", &s.get_officer)) ||
        (rc = wg_ws_prepare(ws, "INSERT OR IGNORE INTO officer_grids(officer_id, grid_code, role) "
                            "VALUES(?, ?, ?)", &s.ins_assign)))
        goto done;
    int r;
    long lines = 0;
    while ((r = wg_csv_next(csv)) == 1) {
        check_line(ws, csv, idx, &s, &errs);
        if (++lines % 1000 == 0 && wg_progress(ctx, "officers", (uint64_t)lines, 0)) {
            rc = wg_err(ctx, WG_ERR_INTERRUPTED, "import interrupted");
            goto done;
        }
    }
    if (r < 0) {
        rc = WG_ERR_FORMAT;
        wg_err_append(ctx, " (in %s)", path);
        goto done;
    }
    if (errs.count) {
        rc = wg_err(ctx, WG_ERR_CONSTRAINT, "%s: %d bad line%s, nothing imported:%s%s", path,
                    errs.count, errs.count > 1 ? "s" : "", errs.text,
                    errs.count > 10 ? "\n  ..." : "");
        goto done;
    }
    if (lines == 0) {
        rc = wg_err(ctx, WG_ERR_FORMAT, "%s: no officers below the header", path);
        goto done;
    }
    sqlite3_stmt *cnt = NULL;
    if ((rc = wg_ws_prepare(ws, "SELECT COUNT(*) FROM officers", &cnt))) goto done;
    int64_t n = sqlite3_step(cnt) == SQLITE_ROW ? sqlite3_column_int64(cnt, 0) : 0;
    sqlite3_finalize(cnt);
    if ((rc = wg_ws_commit(ws))) goto done;
    in_tx = 0;
    if (imported) *imported = n;
done:
    sqlite3_finalize(s.grid_exists);
    sqlite3_finalize(s.ins_officer);
    sqlite3_finalize(s.get_officer);
    sqlite3_finalize(s.ins_assign);
    if (in_tx) wg_ws_rollback(ws);
    wg_csv_close(csv);
    return rc;
}
