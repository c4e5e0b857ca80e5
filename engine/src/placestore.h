/* placestore.h -- storing placed rows as incidents (place --store), shared
 * by the OGR path (place.c) and the CSV fast path (place_csv.c) so both
 * store exactly the same rows, columns and history events.
 *
 * Storing is split in two so the costly part can run on worker threads:
 *  - wg_store_rec_make() turns one row's fields and placement into the
 *    values to insert (status checked, times parsed and formatted, level,
 *    deadlines from the rules, closing time, satisfaction). It touches no
 *    database and only reads the rules: any thread may call it with a
 *    context of its own.
 *  - wg_store_put() binds a record and inserts it (and its 'import' event)
 *    with statements prepared once, on the workspace's thread, inside the
 *    one transaction wg_store_open() began. wg_store_finish() indexes the
 *    new rows and commits, or rolls everything back. */
#ifndef WG_PLACESTORE_H
#define WG_PLACESTORE_H

#include "workspace.h"

#include <stddef.h>
#include <stdint.h>

/* One row's input fields that storing reads. NULL = no such column (or a
 * null field); "" is kept as an empty text where the column is copied.
 * `crs` is the row's CRS field (NULL without --crs-field; empty means
 * wgs84; stored cut to 15 bytes), `crs_default` the batch's CRS. */
typedef struct wg_store_in {
    const char *id, *time, *cat, *desc, *crs, *status, *closed, *sat;
    const char *crs_default;
} wg_store_in;

/* The text values of a record, in a growable buffer (offsets, so the
 * buffer may move while records are made). */
enum {
    WG_SV_ID, WG_SV_TIME, WG_SV_CAT, WG_SV_DESC, WG_SV_CRS, WG_SV_GRID, WG_SV_MICRO, WG_SV_EXCL,
    WG_SV_VILLAGE, WG_SV_TOWN, WG_SV_COUNTY, WG_SV_PSTATUS, WG_SV_STATUS, WG_SV_LEVEL,
    WG_SV_DEADLINE, WG_SV_SINCE, WG_SV_CLOCK, WG_SV_DISPATCH, WG_SV_CLOSED, WG_SV_AT, WG_SV_N
};
#define WG_SV_NULL ((uint32_t)-1)

typedef struct wg_store_buf {
    char *p;
    size_t n, cap;
} wg_store_buf;

typedef struct wg_store_rec {
    uint32_t off[WG_SV_N]; /* into the buffer, or WG_SV_NULL */
    double lon, lat, dist_m;
    int sat; /* 1..5, 0 = none */
} wg_store_rec;

/* Makes the record of one placed row (`line` names it in errors). On a bad
 * status, closing time or satisfaction, or a missing deadline rule, fails
 * with a message naming the row; WG_ERR_NOMEM if the buffer cannot grow. */
wg_status wg_store_rec_make(wg_ctx *ctx, const wg_rules *rules, const wg_store_in *in,
                            const wg_placement *p, double lon, double lat, int64_t line,
                            wg_store_buf *b, wg_store_rec *rec);

void wg_store_buf_free(wg_store_buf *b);

typedef struct wg_side_rtree wg_side_rtree;

typedef struct wg_store {
    wg_ws *ws;
    sqlite3_stmt *ins, *ev; /* ev only for a history import */
    wg_rules *rules;
    wg_bulk bulk;
    int open;    /* in the transaction */
    int indexed; /* wg_store_index() done */
    /* When the workspace's spatial index of incidents is empty, a thread
     * builds it beside the inserts, with SQLite's own R*Tree module in a
     * private in-memory database; wg_store_index() then copies that
     * tree's tables into the workspace's (as GDAL does for GeoPackages)
     * instead of inserting every row into the index after the batch.
     * WG_STORE_NO_SIDE_INDEX=1 in the environment turns it off (tests
     * compare both ways). */
    wg_side_rtree *side;
} wg_store;

/* Adds the closed loop's columns if missing and loads the deadline rules
 * (outside any transaction), then begins the batch's transaction with
 * SpatiaLite's per-row triggers suspended. `history`: write an 'import'
 * event per row (a status field was given). */
wg_status wg_store_open(wg_ws *ws, int history, wg_store *s);

/* Inserts one record whose texts are in `b`. */
wg_status wg_store_put(wg_store *s, const wg_store_rec *rec, const wg_store_buf *b);

/* Indexes the new rows and restores the triggers (once; still inside the
 * transaction). */
wg_status wg_store_index(wg_store *s);

/* commit: index the new rows (unless done), restore the triggers and
 * commit; else (or if that fails) roll back. Frees everything; returns
 * the commit's status. */
wg_status wg_store_finish(wg_store *s, int commit);

#endif
