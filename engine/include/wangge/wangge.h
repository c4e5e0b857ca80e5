/*
 * wangge.h -- the public API of libwangge, a spatial engine for grid-based
 * community governance (网格化治理).
 *
 * This header is the specification. Anything not declared here is not API.
 *
 * Conventions (after GEOS's geos_c.h, PROJ's proj.h and SQLite's sqlite3.h):
 *  - Every call that touches the outside world takes a `wg_ctx *` first. A
 *    context is used by one thread at a time; create one per thread.
 *  - Functions that can fail return a `wg_status` and write results through
 *    out-parameters. On failure, `wg_ctx_errmsg()` says what and where (file,
 *    line, feature id); out-parameters are left untouched unless stated.
 *  - Ownership is stated on every pointer. Every `*_free` accepts NULL.
 *  - Coordinates are exchanged as WGS84 longitude/latitude in degrees
 *    (EPSG:4326, longitude first, as RFC 7946). Metric work happens in the
 *    workspace's projected CRS.
 *  - Text is UTF-8.
 *  - The library never prints and never exits; the `wangge` command does.
 */
#ifndef WANGGE_H
#define WANGGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(WG_BUILDING_LIBRARY)
#define WG_API __attribute__((visibility("default")))
#else
#define WG_API
#endif

#define WG_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------------ */
/* Status codes                                                             */
/* ------------------------------------------------------------------------ */

typedef enum wg_status {
    WG_OK = 0,
    WG_ERR_NOMEM,       /* allocation failed */
    WG_ERR_INVALID_ARG, /* a caller's argument is out of its domain */
    WG_ERR_IO,          /* a file could not be read or written */
    WG_ERR_FORMAT,      /* input data is malformed (bad CSV, bad geometry, ...) */
    WG_ERR_GEOS,        /* GEOS reported an error */
    WG_ERR_PROJ,        /* PROJ reported an error (unknown CRS, failed transform) */
    WG_ERR_GDAL,        /* GDAL/OGR reported an error */
    WG_ERR_SQLITE,      /* the workspace database reported an error */
    WG_ERR_NOT_FOUND,   /* a named thing (file, layer, field, code) does not exist */
    WG_ERR_CONSTRAINT,  /* input breaks a rule of the data model (unknown grid code, ...) */
    WG_ERR_VERSION,     /* the workspace schema is newer or older than this library */
    WG_ERR_INTERRUPTED  /* the progress callback asked to stop */
} wg_status;

/* Returns static English text for a status; never NULL. */
WG_API const char *wg_status_str(wg_status st);

/* Returns the library version, e.g. "0.1.0". Static text. */
WG_API const char *wg_version(void);

/* ------------------------------------------------------------------------ */
/* Context                                                                  */
/* ------------------------------------------------------------------------ */

/* An opaque context: a GEOS `_r` handle, a PROJ context, the last error and
 * the progress callback. One thread at a time. */
typedef struct wg_ctx wg_ctx;

/* Progress callback: `done` of `total` units of the step named `what`
 * (static text, e.g. "import"). Return non-zero to ask the operation to stop;
 * it then fails with WG_ERR_INTERRUPTED and rolls back. */
typedef int (*wg_progress_fn)(void *user, const char *what, uint64_t done, uint64_t total);

/* Process-wide and optional, for programs that run many queries (the
 * wangge command calls it first, so `serve` does): asks the C library's
 * allocator (glibc; nothing elsewhere) to keep freed memory for reuse
 * rather than hand blocks of megabytes back to the kernel, after which
 * every reuse is faulted in again page by page. A 30-minute service area
 * on a county allocates about 60 MB of buffers; without this a second one
 * took 14,000 page faults and a quarter more time. The price: the process
 * keeps its peak heap (up to 1 GB of it free) instead of shrinking. Call
 * it before the first allocation that matters; it does not change any
 * answer. */
WG_API void wg_keep_freed_memory(void);

/* Creates a context in *out. Returns WG_ERR_NOMEM if GEOS, PROJ or memory
 * could not be initialised. Free with wg_ctx_free(). */
WG_API wg_status wg_ctx_new(wg_ctx **out);

/* Frees a context and everything it owns. Accepts NULL. */
WG_API void wg_ctx_free(wg_ctx *ctx);

/* The message of the last failed call on this context ("" if none).
 * Borrowed; valid until the next call on the context. */
WG_API const char *wg_ctx_errmsg(const wg_ctx *ctx);

/* Installs a progress callback (NULL to remove). `user` is passed through. */
WG_API void wg_ctx_set_progress(wg_ctx *ctx, wg_progress_fn fn, void *user);

/* ------------------------------------------------------------------------ */
/* Coordinate systems of handsets (crs.c)                                   */
/* ------------------------------------------------------------------------ */

/* GCJ-02 ("Mars coordinates", AMap/Tencent) and BD-09 (Baidu) are obfuscated
 * datums PROJ does not know. These pure functions convert between them and
 * WGS84. GCJ-02 applies only inside China's rough bounding box
 * (lon 72.004..137.8347, lat 0.8293..55.8271); outside it a point is returned
 * unchanged. The inverses are iterative and converge to under 1 mm.
 * Return WG_ERR_INVALID_ARG for non-finite input or |lat| > 90, |lon| > 180. */
WG_API wg_status wg_gcj02_from_wgs84(double lon, double lat, double *out_lon, double *out_lat);
WG_API wg_status wg_wgs84_from_gcj02(double lon, double lat, double *out_lon, double *out_lat);
WG_API wg_status wg_bd09_from_gcj02(double lon, double lat, double *out_lon, double *out_lat);
WG_API wg_status wg_gcj02_from_bd09(double lon, double lat, double *out_lon, double *out_lat);

/* The projected CRS wangge uses for metric work around (lon, lat): inside
 * China the CGCS2000 3-degree Gauss-Krüger zone without zone prefix
 * (EPSG:4534..4554, central meridian 75E..135E); elsewhere the WGS84 UTM zone
 * (EPSG:326xx north, 327xx south). Returns 0 for non-finite input. */
WG_API int wg_crs_metric_epsg(double lon, double lat);

/* ------------------------------------------------------------------------ */
/* Workspace (workspace.c)                                                  */
/* ------------------------------------------------------------------------ */

/* An open workspace: one SpatiaLite file holding admin units, grids (with
 * versions), officers, assignments and incidents. Geometries are stored in
 * WGS84 (EPSG:4326); the workspace records one metric CRS for areas and
 * distances. Tied to the context that opened it. */
typedef struct wg_ws wg_ws;

#define WG_SCHEMA_VERSION 1

/* Creates a new workspace file at `path` (which must not exist) with the
 * metric CRS `metric_epsg`, or 0 to choose it from the first imported data.
 * On success *out is an open workspace; close with wg_ws_close(). */
WG_API wg_status wg_ws_create(wg_ctx *ctx, const char *path, int metric_epsg, wg_ws **out);

/* Opens an existing workspace. `readonly` non-zero opens it read-only.
 * Fails with WG_ERR_VERSION if the schema version differs. */
WG_API wg_status wg_ws_open(wg_ctx *ctx, const char *path, int readonly, wg_ws **out);

/* Closes a workspace. Accepts NULL. */
WG_API void wg_ws_close(wg_ws *ws);

/* The workspace's metric EPSG code, or 0 while it is not chosen yet. */
WG_API int wg_ws_metric_epsg(const wg_ws *ws);

/* What a workspace holds (current versions unless said otherwise). */
typedef struct wg_ws_counts {
    int64_t units[6];      /* current units per wg_level */
    int64_t unit_versions; /* all unit rows, superseded ones included */
    int64_t officers, assignments, incidents;
} wg_ws_counts;

/* Fills *out with the workspace's counts. */
WG_API wg_status wg_ws_count(wg_ws *ws, wg_ws_counts *out);

/* ------------------------------------------------------------------------ */
/* Grid levels and import (grids.c)                                         */
/* ------------------------------------------------------------------------ */

/* The levels of the governance hierarchy. Admin units are the upper levels;
 * exclusive grids (专属网格: schools, hospitals, enterprises, parks) overlap
 * the comprehensive grids. */
typedef enum wg_level {
    WG_LEVEL_COUNTY = 0,
    WG_LEVEL_TOWN,
    WG_LEVEL_VILLAGE,
    WG_LEVEL_GRID,  /* comprehensive grid (综合网格) */
    WG_LEVEL_MICRO, /* micro-grid (微网格) */
    WG_LEVEL_EXCLUSIVE,
    WG_LEVEL_COUNT
} wg_level;

/* "county", "town", ...; static text. NULL for an out-of-range value. */
WG_API const char *wg_level_name(wg_level level);
/* Parses a level name; returns WG_ERR_INVALID_ARG if unknown. */
WG_API wg_status wg_level_parse(const char *name, wg_level *out);

/* Options of wg_grids_import(). Zero-initialise, then set what you need;
 * every string is borrowed for the duration of the call. */
typedef struct wg_import_opts {
    const char *layer;       /* layer name; NULL = the first layer */
    int level;               /* a wg_level, or -1 to read it from level_field */
    const char *level_field; /* field holding level names (when level == -1) */
    const char *code_field;  /* default "code" */
    const char *name_field;  /* default "name" */
    const char *parent_field;/* NULL = find the parent spatially */
    const char *kind_field;  /* optional, e.g. school/hospital for exclusive grids */
    const char *s_srs;       /* source CRS override ("EPSG:4549", WKT, PROJ string) */
    const char *encoding;    /* source text encoding (e.g. "GBK"); NULL = detect */
    const char *valid_from;  /* YYYY-MM-DD; NULL = today */
} wg_import_opts;

/* What an import did. */
typedef struct wg_import_report {
    int64_t imported;    /* rows inserted */
    int64_t superseded;  /* older rows given valid_to by this import */
    int64_t orphans;     /* rows whose parent could not be found */
    int metric_epsg;     /* the workspace's metric CRS after the import */
    char encoding[32];   /* encoding the text was read in */
} wg_import_report;

/* Imports polygons from any OGR source into the workspace, reprojecting to
 * WGS84 through PROJ. The whole import is one transaction: on failure the
 * workspace is unchanged and the error names the feature (FID) at fault.
 * Re-importing a level versions it: its current rows get valid_to =
 * valid_from of the new import. `report` may be NULL. */
WG_API wg_status wg_grids_import(wg_ws *ws, const char *src, const wg_import_opts *opts,
                                 wg_import_report *report);

/* ------------------------------------------------------------------------ */
/* Validation (validate.c)                                                  */
/* ------------------------------------------------------------------------ */

typedef enum wg_issue_kind {
    WG_ISSUE_INVALID_GEOMETRY = 0, /* GEOS says invalid; message has the reason */
    WG_ISSUE_OVERLAP,              /* two units of one level overlap; area_m2 */
    WG_ISSUE_GAP,                  /* part of a parent not covered by its children */
    WG_ISSUE_OUTSIDE_PARENT,       /* part of a unit lies outside its parent */
    WG_ISSUE_DUPLICATE_CODE,       /* two current units share a code */
    WG_ISSUE_CODE_PREFIX,          /* numeric code does not extend its parent's */
    WG_ISSUE_CODE_FORMAT,          /* numeric code of unexpected length (warning) */
    WG_ISSUE_SIZE_OUTLIER,         /* area far from the level's median (warning) */
    WG_ISSUE_ORPHAN,               /* no parent found */
    WG_ISSUE_KIND_COUNT
} wg_issue_kind;

typedef enum wg_severity { WG_SEV_ERROR = 0, WG_SEV_WARNING = 1 } wg_severity;

typedef struct wg_issue {
    wg_issue_kind kind;
    wg_severity severity;
    wg_level level;
    char *code;       /* the unit at fault */
    char *other_code; /* the other unit (overlap, duplicate, parent), or NULL */
    double area_m2;   /* overlap/gap/outside area, unit area for outliers; else 0 */
    double lon, lat;  /* a point where the issue is (WGS84) */
    char *message;    /* a sentence for humans */
} wg_issue;

typedef struct wg_issue_list {
    size_t count;
    wg_issue *items;
    size_t errors, warnings;
} wg_issue_list;

/* Options of wg_validate(). Zero-initialise. */
typedef struct wg_validate_opts {
    double min_area_m2; /* overlaps/gaps smaller than this are ignored; 0 = 1.0 m2 */
    double outlier_factor; /* size outlier if area > f*median or < median/f; 0 = 10 */
} wg_validate_opts;

/* Checks the current units: geometry validity, overlaps and gaps per level
 * and parent, units outside their parent, duplicate codes, code layout
 * (GB/T 30428.1 practice, checked but never required), size outliers.
 * On success *out is a new list; free with wg_issue_list_free(). */
WG_API wg_status wg_validate(wg_ws *ws, const wg_validate_opts *opts, wg_issue_list **out);
WG_API void wg_issue_list_free(wg_issue_list *list);
/* "invalid_geometry", "overlap", ...; static text. */
WG_API const char *wg_issue_kind_name(wg_issue_kind kind);

/* Repairs invalid geometries of current units in place with GEOS MakeValid
 * ("structure" method, polygonal parts kept), in one transaction. On success
 * *changes is a new list with one entry per repaired unit (kind
 * WG_ISSUE_INVALID_GEOMETRY, area_m2 the new area, message saying what
 * changed); free with wg_issue_list_free(). */
WG_API wg_status wg_grids_repair(wg_ws *ws, wg_issue_list **changes);

/* ------------------------------------------------------------------------ */
/* Officers (officers.c)                                                    */
/* ------------------------------------------------------------------------ */

/* Imports officers from a UTF-8 CSV with a header row. Columns (any order):
 * officer_id, name, role, grid_code, phone, and optionally lon, lat (the
 * station, WGS84). Roles: grid_worker, grid_chief, grid_instructor,
 * volunteer, police, judge, prosecutor, lawyer. An officer serving several
 * grids appears on several lines with the same officer_id. Atomic: any bad
 * line (unknown grid code, unknown role, bad coordinate) fails the whole
 * import and the message lists the line numbers. *imported may be NULL. */
WG_API wg_status wg_officers_import(wg_ws *ws, const char *csv_path, int64_t *imported);

/* ------------------------------------------------------------------------ */
/* Export (export.c)                                                        */
/* ------------------------------------------------------------------------ */

typedef enum wg_layer {
    WG_LAYER_ADMIN = 0, /* county, town and village units */
    WG_LAYER_GRIDS,     /* comprehensive grids */
    WG_LAYER_MICRO,
    WG_LAYER_EXCLUSIVE,
    WG_LAYER_OFFICERS,  /* one point per officer station (officers without one are skipped) */
    WG_LAYER_COUNT
} wg_layer;

WG_API wg_status wg_layer_parse(const char *name, wg_layer *out);
WG_API const char *wg_layer_name(wg_layer layer);

/* Writes a layer of current units to `path`; the driver follows the
 * extension: .geojson/.json (RFC 7946), .shp (UTF-8 with .cpg), .gpkg, .fgb,
 * .csv. Written to a temporary name and renamed, so a failure leaves no
 * partial file. `at` (YYYY-MM-DD or NULL for now) selects versions. */
WG_API wg_status wg_export_layer(wg_ws *ws, wg_layer layer, const char *path, const char *at,
                                 int64_t *written);

/* ------------------------------------------------------------------------ */
/* Locating points (locate.c)                                               */
/* ------------------------------------------------------------------------ */

/* Input coordinate systems of handsets and files. */
typedef enum wg_crs_kind {
    WG_CRS_WGS84 = 0, /* GPS, EPSG:4326 */
    WG_CRS_CGCS2000,  /* EPSG:4490; treated as WGS84 (they differ by centimetres) */
    WG_CRS_GCJ02,     /* AMap, Tencent */
    WG_CRS_BD09,      /* Baidu */
    WG_CRS_EPSG       /* any EPSG code, through PROJ */
} wg_crs_kind;

/* Parses "wgs84", "cgcs2000", "gcj02", "bd09" or "EPSG:n" (case-insensitive;
 * "EPSG:4326" and "EPSG:4490" map to the first two). *epsg gets n for
 * WG_CRS_EPSG. Returns WG_ERR_INVALID_ARG if unknown. */
WG_API wg_status wg_crs_parse(const char *s, wg_crs_kind *kind, int *epsg);

/* A locator: every current (or dated) unit of a workspace in an in-memory
 * point index. Immutable once built: any number of threads may query one
 * locator at the same time (each with its own output). */
typedef struct wg_locator wg_locator;

/* Builds a locator from the units valid on `at` (YYYY-MM-DD), or the
 * current ones if `at` is NULL. Free with wg_locator_free(). */
WG_API wg_status wg_locator_build(wg_ws *ws, const char *at, wg_locator **out);
WG_API void wg_locator_free(wg_locator *loc);

/* Memory held by the locator's index, in bytes. */
WG_API size_t wg_locator_memory(const wg_locator *loc);

typedef enum wg_place_status {
    WG_PLACE_INSIDE = 0, /* a comprehensive grid contains the point */
    WG_PLACE_NEAREST,    /* none does; the nearest is within the tolerance */
    WG_PLACE_OUTSIDE     /* no grid within the tolerance */
} wg_place_status;

/* "inside", "nearest", "outside"; static text. */
WG_API const char *wg_place_status_name(wg_place_status st);

#define WG_PLACE_MAX_EXCL 16

/* One unit of a placement. Strings are borrowed from the locator and live
 * as long as it does; NULL when there is no such unit. */
typedef struct wg_placed_unit {
    const char *code, *name, *kind;
} wg_placed_unit;

/* Where a point falls. */
typedef struct wg_placement {
    wg_place_status status;
    double dist_m; /* 0 inside; distance to the nearest grid when NEAREST */
    wg_placed_unit county, town, village, grid, micro;
    int n_excl; /* exclusive grids containing the point (at most WG_PLACE_MAX_EXCL kept) */
    wg_placed_unit excl[WG_PLACE_MAX_EXCL];
} wg_placement;

/* Places a WGS84 point. Units of each level are those whose polygon
 * contains the point; on a boundary shared by two units the point belongs
 * to the unit on its east side, or on an east-west edge to the one on its
 * north side, so it belongs to exactly one. When no comprehensive grid
 * contains the point, the nearest one within `tolerance_m` metres is taken
 * (status NEAREST) and the admin units missing from the point's own
 * placement are filled from that grid's parents. Never allocates; never
 * fails for finite input. Returns WG_ERR_INVALID_ARG for non-finite or
 * out-of-range coordinates. */
WG_API wg_status wg_locator_place(const wg_locator *loc, double lon, double lat,
                                  double tolerance_m, wg_placement *out);

/* Receives one point's placement from wg_locator_place_many(): `i` is the
 * point's position in the input arrays, `rc` and `p` what
 * wg_locator_place() returns for it (`p` borrowed for the call). */
typedef void (*wg_placement_fn)(void *user, size_t i, wg_status rc, const wg_placement *p);

/* Places n points (lon[i], lat[i]), calling fn once for each -- not in
 * input order but in the order of the index's memory (the points sorted by
 * index cell): for points scattered over a county-sized index that is
 * several times faster than wg_locator_place() in input order, whose time
 * goes to cache and TLB misses. The answers are exactly
 * wg_locator_place()'s. Allocates 16 bytes of scratch per point; returns
 * WG_ERR_NOMEM (before any call) if it cannot. Thread-safe like
 * wg_locator_place(). */
WG_API wg_status wg_locator_place_many(const wg_locator *loc, size_t n, const double *lon,
                                       const double *lat, double tolerance_m, wg_placement_fn fn,
                                       void *user);

/* Converts (x, y) in `kind` (and `epsg` for WG_CRS_EPSG) to WGS84 lon/lat.
 * WG_CRS_EPSG needs a context for PROJ; the others are pure. */
WG_API wg_status wg_to_wgs84(wg_ctx *ctx, wg_crs_kind kind, int epsg, double x, double y,
                             double *lon, double *lat);

/* ------------------------------------------------------------------------ */
/* Batch placement (place.c)                                                */
/* ------------------------------------------------------------------------ */

/* Options of wg_place_file(). Zero-initialise; strings borrowed. */
typedef struct wg_place_opts {
    const char *layer;        /* input layer; NULL = the first */
    const char *lon_field;    /* NULL: the point geometry if the layer has one, else */
    const char *lat_field;    /*   the first of lon/lng/longitude/x and lat/latitude/y */
    const char *crs;          /* CRS of every row (default wgs84), see wg_crs_parse() */
    const char *crs_field;    /* or a field naming each row's CRS */
    const char *rejects;      /* file for rejected rows (same format rules), or NULL */
    const char *at;           /* unit versions valid on this date; NULL = current */
    double tolerance_m;       /* GPS error allowance for NEAREST; < 0 = 30 m */
    int threads;              /* 0 = one per CPU */
    int store;                /* also store the placed rows as incidents */
    /* With store, a history import (issue 7): fields of each row giving its
     * report time (default: reported_at, time, timestamp or datetime), its
     * status in the closed loop (reported ... closed; default: reported),
     * when it was closed and the satisfaction (1-5). NULL = none. Rows with
     * a parseable report time get a level and deadlines from the rules. */
    const char *time_field, *status_field, *closed_field, *satisfaction_field;
} wg_place_opts;

typedef struct wg_place_report {
    int64_t rows;        /* input rows read */
    int64_t status[3];   /* placed rows per wg_place_status */
    int64_t rejected;    /* rows with unusable coordinates */
    int64_t swapped;     /* of those, rows that look like lat/lon swapped */
    int64_t stored;      /* incidents stored (with opts->store) */
    double seconds;      /* wall time of the whole call */
} wg_place_report;

/* Places every row of `input` (any OGR source: CSV with coordinate
 * columns, GeoJSON, GeoPackage, Shapefile, ...) and writes `output` (format
 * by extension: .csv .geojson .gpkg .shp .fgb) with every input field plus
 * wg_grid, wg_micro, wg_excl (codes joined by ';'), wg_village, wg_town,
 * wg_county, wg_status (inside|nearest|outside) and wg_dist_m, and, except
 * for CSV, a WGS84 point. Rows whose coordinates are missing, not numbers,
 * not finite or out of range are not placed: they go to opts->rejects (the
 * input fields plus wg_line and wg_reason) and are counted; they never fail
 * the batch. Outputs are written aside and moved into place only on success;
 * with opts->store the incidents are stored in the same all-or-nothing way.
 * `report` may be NULL. */
WG_API wg_status wg_place_file(wg_ws *ws, const char *input, const char *output,
                               const wg_place_opts *opts, wg_place_report *report);

/* An officer responsible for a unit. Strings borrowed for the callback. */
typedef struct wg_officer {
    const char *officer_id, *name, *role, *phone, *unit_code;
    double lon, lat; /* station; NaN if unknown */
} wg_officer;

/* Calls `fn` for every officer assigned to one of the `n` unit codes,
 * ordered by role then name. A non-zero return from `fn` stops early. */
WG_API wg_status wg_officers_for_units(wg_ws *ws, const char *const *codes, size_t n,
                                       int (*fn)(void *user, const wg_officer *o), void *user);

/* ------------------------------------------------------------------------ */
/* Road network (roads.c, route.c)                                          */
/* ------------------------------------------------------------------------ */

/* The road graph of a workspace lives in two places: the table road_edges
 * (one row per piece of road between two junctions: source, target, class,
 * name, oneway, speed_kmh, access, length_m and a WGS84 LINESTRING; the
 * source of truth, readable with SQL) and the file WS.graph beside the
 * workspace WS, a compact binary form (arcs per profile, contraction
 * hierarchies, a snapping index) that is mmap()ed in milliseconds. A
 * missing or stale WS.graph is rebuilt in memory from the table.
 *
 * Profiles (walk, ebike, car, ...) give speeds per road class; they come
 * from an editable text file (see wg_roads_default_profiles()). Travel
 * times are whole milliseconds; lengths are geodesic metres (WGS84). */

#define WG_ROADS_MAX_PROFILES 8

/* Options of wg_roads_import(). Zero-initialise; strings are borrowed for
 * the call. For OSM (.osm.pbf, .osm) only `profiles` applies: the class is
 * `highway`, and oneway, maxspeed, access and junction=roundabout come
 * from the tags. For other sources the fields default to class, name,
 * oneway and speed when the layer has them. */
typedef struct wg_roads_opts {
    const char *layer;        /* NULL = "lines" for OSM, else the first layer */
    const char *class_field;  /* road class, looked up in the profiles */
    const char *name_field;   /* street name */
    const char *oneway_field; /* yes/1/true: forward only; -1: reverse only; else both */
    const char *speed_field;  /* km/h */
    const char *profiles;     /* profile file; NULL = the stored ones, else the defaults */
    const char *s_srs;        /* source CRS override for layers without one */
} wg_roads_opts;

/* A disconnected piece of the network ("island"): a node on it and its size. */
typedef struct wg_roads_island {
    double lon, lat;
    int64_t nodes;
} wg_roads_island;

/* What one profile can use of the network. */
typedef struct wg_roads_profile_report {
    char name[32];
    int64_t arcs;           /* directed edges the profile may travel */
    int64_t components;     /* connected pieces, one-way ignored */
    int64_t main_nodes;     /* nodes of the largest piece */
    int64_t island_nodes;   /* nodes of all the other pieces */
    int64_t oneway_trapped; /* nodes of the largest piece that cannot both reach and be
                               reached from its core because of one-way roads */
    int64_t shortcuts;      /* of the contraction hierarchy */
    int n_islands;          /* the largest islands, listed below */
    wg_roads_island islands[5];
} wg_roads_profile_report;

/* What wg_roads_import() / wg_roads_rebuild() did. */
typedef struct wg_roads_report {
    char source[16];       /* "osm", "ogr" or "workspace" (a rebuild) */
    int64_t features;      /* features read */
    int64_t not_roads;     /* skipped: no class a road has (OSM: highway missing or
                              proposed, construction, platform, ...) */
    int64_t bad_geometry;  /* skipped: no geometry, not lines, bad coordinates */
    int64_t nodes, edges;  /* junctions/ends and road pieces between them */
    double length_km;      /* total length of the pieces */
    int nprofiles;
    wg_roads_profile_report profiles[WG_ROADS_MAX_PROFILES];
    int64_t graph_bytes;   /* size of WS.graph */
    double read_seconds, build_seconds, seconds;
} wg_roads_report;

/* Reads roads from `src` (an OpenStreetMap .osm.pbf/.osm file through
 * GDAL's OSM driver, or any OGR line layer in any CRS) and replaces the
 * workspace's road network with them, in one transaction; then writes
 * WS.graph. Lines are split into edges at every vertex they share with
 * another line (OSM's shared nodes; endpoints that coincide in a layer of
 * lines), coordinates being equal after rounding to 1e-7 degree (1 cm).
 * Features that are not roads or have unusable geometry are skipped and
 * counted. `report` may be NULL. */
WG_API wg_status wg_roads_import(wg_ws *ws, const char *src, const wg_roads_opts *opts,
                                 wg_roads_report *report);

/* Rebuilds WS.graph from the stored road_edges with the profile file
 * `profiles` (NULL: the stored profiles). Use it after editing profiles. */
WG_API wg_status wg_roads_rebuild(wg_ws *ws, const char *profiles, wg_roads_report *report);

/* The built-in profile file (walk, ebike, car), with its documentation as
 * comments. Static text. */
WG_API const char *wg_roads_default_profiles(void);

/* A loaded road graph. Immutable: any number of threads may use one graph,
 * each through its own router. Independent of the workspace once open. */
typedef struct wg_graph wg_graph;

/* Loads the workspace's road graph (WS.graph, or rebuilt in memory from
 * road_edges when that file is missing or stale: then without contraction
 * hierarchies, so routes use the bidirectional Dijkstra, exact but slower,
 * until wg_roads_rebuild() writes the file). Fails with WG_ERR_NOT_FOUND
 * when the workspace has no road network. Free with wg_graph_free(). */
WG_API wg_status wg_graph_open(wg_ws *ws, wg_graph **out);
WG_API void wg_graph_free(wg_graph *g);

typedef struct wg_graph_info {
    int64_t nodes, edges;
    int nprofiles;
    const char *profiles[WG_ROADS_MAX_PROFILES]; /* borrowed from the graph */
    int64_t bytes;  /* size of the binary form */
    int from_file;  /* 1: WS.graph; 0: rebuilt in memory (no hierarchies) */
} wg_graph_info;

WG_API void wg_graph_get_info(const wg_graph *g, wg_graph_info *out);

/* The lon/lat of node `i` (0 <= i < nodes); WG_ERR_INVALID_ARG otherwise. */
WG_API wg_status wg_graph_node(const wg_graph *g, int64_t i, double *lon, double *lat);

/* A router: one profile of a graph and the memory of its searches. One
 * thread at a time; make one per thread. Tied to `ctx` for messages and to
 * `g`, which must outlive it. Free with wg_router_free(). Fails with
 * WG_ERR_NOT_FOUND (naming the profiles there are) for an unknown profile. */
typedef struct wg_router wg_router;
WG_API wg_status wg_router_new(wg_ctx *ctx, const wg_graph *g, const char *profile,
                               wg_router **out);
WG_API void wg_router_free(wg_router *r);

/* Where a point meets the road network: the nearest point of the nearest
 * edge the profile can use. */
typedef struct wg_snap {
    double lon, lat;   /* the point on the road */
    double dist_m;     /* straight line from the query point to it */
    int64_t edge_id;   /* road_edges.id */
    double along_m;    /* from the edge's source node along the edge */
    const char *name;  /* the street's name, "" if none; borrowed from the graph */
} wg_snap;

/* Snaps (lon, lat) within max_m metres (<= 0: 5000 m). Returns
 * WG_ERR_NOT_FOUND if no usable road is that close. */
WG_API wg_status wg_router_snap(wg_router *r, double lon, double lat, double max_m,
                                wg_snap *out);

typedef enum wg_route_status {
    WG_ROUTE_FOUND = 0,
    WG_ROUTE_NO_ROAD,    /* an end has no usable road within the snapping distance */
    WG_ROUTE_UNREACHABLE /* no way along the roads (islands, one-way roads) */
} wg_route_status;

/* "found", "no_road", "unreachable"; static text. */
WG_API const char *wg_route_status_name(wg_route_status st);

/* A stretch of a route along one street name. */
typedef struct wg_route_step {
    const char *name; /* "" for unnamed roads; borrowed from the graph */
    double distance_m, duration_s;
} wg_route_step;

typedef struct wg_route {
    wg_route_status status;
    char reason[256];     /* why not found, for people */
    double duration_s;    /* walks to and from the road included */
    double distance_m;    /* likewise */
    double walk_m;        /* the two straight walks between the points and the road */
    wg_snap from, to;     /* where the ends met the road */
    size_t npoints;
    double *coords;       /* lon, lat pairs: from, the road, to */
    size_t nsteps;
    wg_route_step *steps; /* consecutive stretches by street name */
    int64_t settled;      /* nodes the search settled */
} wg_route;

typedef enum wg_route_algo {
    WG_ALGO_CH = 0,   /* contraction hierarchy (default) */
    WG_ALGO_DIJKSTRA  /* bidirectional Dijkstra on the plain arcs (a check) */
} wg_route_algo;

/* Options of wg_route_compute(); zero-initialise. */
typedef struct wg_route_opts {
    double max_snap_m; /* <= 0: 5000 m */
    wg_route_algo algorithm;
} wg_route_opts;

/* The fastest route from one WGS84 point to another: each point walks
 * (at the profile's offroad speed) straight to its snapped point, then
 * along the roads; partial edges count their fraction of the edge's time.
 * Exact: the least total time over every way through the network.
 * On success *out is a new route whatever its status (NO_ROAD and
 * UNREACHABLE are answers, with a reason); free with wg_route_free(). opts
 * may be NULL. Fails only with WG_ERR_INVALID_ARG (coordinates) or
 * WG_ERR_NOMEM. */
WG_API wg_status wg_route_compute(wg_router *r, double from_lon, double from_lat,
                                  double to_lon, double to_lat, const wg_route_opts *opts,
                                  wg_route **out);
WG_API void wg_route_free(wg_route *rt);

/* Officers' stations snapped to one profile's roads, ready for dispatch. */
typedef struct wg_stations wg_stations;

/* Loads every officer with a station (officers.geom) and their grids and
 * roles (only `role` if not NULL), snapping each station within max_snap_m
 * (<= 0: 5000 m). Free with wg_stations_free(); uses `r`'s graph, which
 * must outlive it. */
WG_API wg_status wg_stations_load(wg_ws *ws, wg_router *r, const char *role, double max_snap_m,
                                  wg_stations **out);
WG_API void wg_stations_free(wg_stations *s);

/* Counts of a station set: officers loaded, and those left out for having
 * no usable road within the snapping distance. */
WG_API void wg_stations_count(const wg_stations *s, int64_t *officers, int64_t *no_road);

typedef struct wg_dispatch_hit {
    const char *officer_id, *name, *phone; /* borrowed from the stations */
    const char *role;  /* the officer's roles, ','-joined (only the asked one with a role) */
    const char *grid;  /* the first grid (code) served in that role */
    const char *grids; /* every such grid, ','-joined */
    double eta_s;      /* travel time from the station to the point */
    double distance_m; /* length of that way, walks included */
    double lon, lat;   /* the station */
} wg_dispatch_hit;

typedef struct wg_dispatch_result {
    wg_route_status status; /* NO_ROAD when the point itself has no road near */
    char reason[256];
    wg_snap at;             /* where the point met the road */
    size_t count;           /* hits, fastest first */
    wg_dispatch_hit *hits;
    int64_t unreachable;    /* officers with no way to the point; -1 when the search
                               stopped at `limit` before it could know */
    int64_t no_road;        /* officers whose station has no road near */
    int64_t settled;
} wg_dispatch_result;

/* Ranks the stations by travel time TO (lon, lat), fastest first, keeping
 * `limit` (0: all), from one backward search over the roads that stops as
 * soon as the first `limit` are certain. On success *out is new; free with
 * wg_dispatch_free(). */
WG_API wg_status wg_dispatch(wg_router *r, const wg_stations *s, double lon, double lat,
                             size_t limit, double max_snap_m, wg_dispatch_result **out);
WG_API void wg_dispatch_free(wg_dispatch_result *d);

/* ------------------------------------------------------------------------ */
/* Heatmaps (density.c)                                                     */
/* ------------------------------------------------------------------------ */

/* Kernel shapes, numbered as the KERNEL parameter of QGIS's "Heatmap
 * (Kernel Density Estimation)" (qgis:heatmapkerneldensityestimation). */
typedef enum wg_kernel {
    WG_KERNEL_QUARTIC = 0, /* (1 - (d/r)^2)^2, also called biweight */
    WG_KERNEL_TRIANGULAR,  /* 1 - (1 - decay) d/r */
    WG_KERNEL_UNIFORM,     /* 1 */
    WG_KERNEL_TRIWEIGHT,   /* (1 - (d/r)^2)^3 */
    WG_KERNEL_EPANECHNIKOV,/* 1 - (d/r)^2 */
    WG_KERNEL_COUNT
} wg_kernel;

/* "quartic", "triangular", ...; static text. NULL for an out-of-range value. */
WG_API const char *wg_kernel_name(wg_kernel kernel);
/* Parses a kernel name; returns WG_ERR_INVALID_ARG if unknown. */
WG_API wg_status wg_kernel_parse(const char *name, wg_kernel *out);

/* What to estimate. The values are QGIS's: a point of weight w adds
 * w * K(d) to every pixel whose centre lies within `radius` of it (d <= r),
 * where K is the kernel above ("raw"), or the kernel times the constant
 * that makes its integral 1 ("scaled": uniform 1/(pi r^2), quartic
 * 3/(pi r^2), triweight 4/(pi r^2), epanechnikov 2/(pi r^2), triangular
 * 3/((1 + 2 decay) pi r^2) for decay >= 0 and unscaled below 0), so a
 * scaled raster is a density per square CRS unit that integrates to the
 * total weight. The quartic constant is QGIS's since its fix of February
 * 2025 (QGIS issue 60616); older QGIS (e.g. 3.22) multiplied it by 116/16. */
typedef struct wg_kde_params {
    double radius; /* kernel radius (bandwidth) in CRS units (metres); > 0 */
    double pixel;  /* pixel size in CRS units; > 0 */
    wg_kernel kernel;
    double decay;  /* triangular only: the kernel's value at the radius relative to
                    * its centre (QGIS's decay ratio); 0 = a plain cone */
    int scaled;    /* 0 = raw values, 1 = scaled (density) values */
    int threads;   /* worker threads; 0 = one per CPU */
} wg_kde_params;

/* A north-up grid of values in a projected CRS. Pixel (row, col) spans
 * [xmin + col*pixel, xmin + (col+1)*pixel] x [ymax - (row+1)*pixel,
 * ymax - row*pixel]; its centre is where its value is computed. */
typedef struct wg_raster {
    int cols, rows;
    double xmin, ymin, xmax, ymax; /* the bounds the grid was framed on */
    double pixel;
    int epsg;  /* CRS of the coordinates; 0 if unknown */
    float *v;  /* rows*cols values, row 0 at the top (north); NaN = no data */
} wg_raster;

/* Creates a zero-filled raster framed on the bounds as QGIS frames a
 * heatmap: origin (xmin, ymax), ceil((xmax - xmin)/pixel) + 1 columns and
 * ceil((ymax - ymin)/pixel) + 1 rows (so it reaches past xmax and below
 * ymin). On success *out is new; free with wg_raster_free(). Returns
 * WG_ERR_INVALID_ARG for non-finite or inverted bounds or pixel <= 0, and
 * WG_ERR_NOMEM when the grid does not fit in memory (or exceeds 2^31
 * pixels). */
WG_API wg_status wg_raster_create(wg_ctx *ctx, double xmin, double ymin, double xmax, double ymax,
                                  double pixel, int epsg, wg_raster **out);
WG_API void wg_raster_free(wg_raster *r);

/* Adds the kernels of `n` points (x[i], y[i] in the raster's CRS, weight
 * w[i], or 1 when `w` is NULL) to `r`, pixel for pixel as QGIS's
 * QgsKernelDensityEstimation does on a raster framed on the same bounds
 * (see wg_raster_create), including its placement rules: a kernel covers a
 * square of 2b+1 pixels, b = floor(r/pixel), plus one when the remainder is
 * over half a CRS unit; the pixel's column is counted from the left edge
 * and its row from the bottom edge for the distance but from the top edge
 * for placement, so the kernel's centre lands at y' = ymin + ymax - y +
 * (floor((y - ymin)/pixel) - floor((ymax - y)/pixel)) * pixel, within one
 * pixel of y. Points farther out than the bounds are stamped too, clipped.
 * Points or weights that are not finite are skipped. `r->pixel` must equal
 * `p->pixel`. Runs on p->threads threads; reports progress as "heatmap".
 * Returns WG_ERR_INVALID_ARG for bad parameters, WG_ERR_INTERRUPTED if the
 * progress callback asks to stop (r then holds part of the sum). */
WG_API wg_status wg_kde_add(wg_ctx *ctx, wg_raster *r, const wg_kde_params *p, const double *x,
                            const double *y, const double *w, size_t n);

#define WG_TIFF_UNCOMPRESSED 1 /* flag of wg_raster_write_tiff(): no DEFLATE */

/* Writes `r` as a single-band Float32 GeoTIFF (tiled, DEFLATE unless
 * `flags` has WG_TIFF_UNCOMPRESSED), georeferenced in EPSG:r->epsg, NaN
 * written as the nodata value -9999 (QGIS's). `meta` is NULL or a
 * NULL-terminated list of "KEY=VALUE" strings stored as dataset metadata.
 * Written aside and moved into place when complete. */
WG_API wg_status wg_raster_write_tiff(wg_ctx *ctx, const wg_raster *r, const char *path,
                                      const char *const *meta, int flags);

/* Writes `r` as an RGBA PNG for draping on a map: yellow-orange-red by
 * value from 0 to `vmax` (values above are clamped; vmax <= 0 means the
 * raster's maximum), alpha 0 where the value is 0, negative or no data;
 * beside it PATH's world file (.pgw, from the PNG's extension) and a legend
 * image STEM_legend.png (the colour bar with 0, vmax/2 and vmax marked).
 * All are written aside and moved into place together. */
WG_API wg_status wg_raster_write_png(wg_ctx *ctx, const wg_raster *r, const char *path,
                                     double vmax);

/* Where the heatmap's raster is framed. */
typedef enum wg_extent_kind {
    WG_EXTENT_DATA = 0, /* the selected points' extent grown by the radius (as QGIS) */
    WG_EXTENT_GRIDS,    /* the extent of the current admin units and grids, snapped
                         * outward to multiples of the pixel size; pixels whose centre
                         * is outside all of them are no data */
    WG_EXTENT_BOX       /* opts->box, in the metric CRS */
} wg_extent_kind;

/* Options of wg_heatmap(). Zero-initialise, then set what you need;
 * strings are borrowed for the duration of the call. */
typedef struct wg_heatmap_opts {
    wg_kde_params kde;
    const char *input;        /* points file (any OGR source); NULL = the stored incidents */
    const char *layer;        /* input layer; NULL = the first */
    const char *lon_field;    /* input coordinates: NULL = the point geometry if the layer */
    const char *lat_field;    /*   has one, else lon/lng/longitude/x and lat/latitude/y */
    const char *crs;          /* CRS of the input coordinates (see wg_crs_parse); NULL = the
                               * layer's own CRS when it has one, else WGS84 */
    const char *weight_field; /* numeric incidents column or input field; NULL = weight 1.
                               * Empty or non-numeric values weigh 0 (as QGIS) */
    const char *from, *to;    /* YYYY-MM-DD, inclusive, compared with the date as reported
                               * (the first 10 characters of reported_at); NULL = open */
    const char *category;     /* only incidents of this category; NULL = all */
    wg_extent_kind extent;
    double box[4];            /* xmin, ymin, xmax, ymax for WG_EXTENT_BOX */
    const char *tif;          /* the GeoTIFF to write (required) */
    const char *png;          /* the coloured PNG to write as well, or NULL */
    double png_max;           /* top of the PNG's colour scale; 0 = the raster's maximum */
    int uncompressed;         /* write the GeoTIFF without DEFLATE (faster, ~1.6x larger) */
} wg_heatmap_opts;

/* What wg_heatmap() did. */
typedef struct wg_heatmap_report {
    int64_t points;  /* points stamped */
    int64_t skipped; /* rows without usable coordinates (input files only) */
    int empty;       /* no point was selected: the raster is all zero */
    wg_extent_kind extent; /* the framing used (GRIDS when an empty DATA selection fell back) */
    int epsg;        /* the raster's CRS: the workspace's metric CRS */
    int cols, rows;
    double xmin, ymin, xmax, ymax; /* the bounds the raster was framed on */
    double max;      /* largest pixel value */
    double integral; /* sum of the values times the pixel area (the total weight
                      * when scaled, up to discretisation) */
    double png_max;  /* top of the PNG's colour scale (0 without a PNG) */
    double seconds_read, seconds_kde, seconds_write;
} wg_heatmap_report;

/* Estimates the density of the stored incidents (or of opts->input's
 * points) selected by date and category, in the workspace's metric CRS,
 * and writes opts->tif (see wg_raster_write_tiff) and, with opts->png,
 * the PNG, world file and legend (see wg_raster_write_png); outputs are
 * moved into place only when all are complete. An empty selection is not
 * an error: the raster is all zero, framed on the grids' extent when the
 * data extent was asked for, and report->empty says so. Returns
 * WG_ERR_NOT_FOUND for a missing input, field or (with GRIDS framing, or
 * an empty selection) grids. `report` may be NULL. */
WG_API wg_status wg_heatmap(wg_ws *ws, const wg_heatmap_opts *opts, wg_heatmap_report *report);

/* ------------------------------------------------------------------------ */
/* Service areas (isochrone.c, coverage.c)                                  */
/* ------------------------------------------------------------------------ */

/* A service area ("十分钟服务圈") is where one can be within T minutes of
 * any of its origins along the roads (or, reversed, from where one can
 * reach an origin in T). Method: one multi-source Dijkstra over a
 * profile's arcs, origins entering the graph as routes do (a straight walk
 * at the offroad speed, then the partial edge); the reached road pieces,
 * frontier pieces included, with their times, make a travel-time raster
 * in the workspace's metric CRS: square cells of `cell_m` metres (default
 * buffer_m / 2, larger when the raster would exceed 2 million cells, up
 * to buffer_m; edges on multiples of the cell size) take the
 * earliest time of a reached road within `buffer_m` metres (the off-road
 * band, default 30) of their centre. Contour T is the union of the cells
 * reached by T, traced into polygons: contours are nested exactly, ground farther
 * than buffer_m from every road reached in time is a hole, every network
 * node reached by T is inside, and the outline follows the buffers of the
 * reached roads to within half a cell. cell_m may be at most
 * buffer_m * sqrt(2). */

/* Options of wg_isochrone_compute(); zero-initialise. Strings borrowed. */
typedef struct wg_isochrone_opts {
    const char *profile; /* NULL: the graph's first profile */
    int reverse;         /* 1: times TO the origins */
    double max_snap_m;   /* origins farther from a usable road are left out; <= 0: 5000 */
    double buffer_m;     /* the off-road band around the reached roads, metres; <= 0: 30 */
    double cell_m;       /* the raster's cell size, metres; <= 0: automatic (above) */
    int threads;         /* threads for the pieces and the raster; 0: one per CPU (the
                            answer is the same for any number) */
} wg_isochrone_opts;

/* A computed service area: its contours and the reached road pieces. */
typedef struct wg_isochrone wg_isochrone;

typedef struct wg_isochrone_contour {
    double minutes;
    double area_m2;           /* in the metric CRS */
    int64_t nodes;            /* network nodes reached within the time */
    int64_t pieces;           /* road pieces (and walks) reached within the time */
    const unsigned char *wkb; /* WGS84 MultiPolygon (ISO WKB); borrowed from the isochrone */
    size_t wkb_len;
} wg_isochrone_contour;

typedef struct wg_isochrone_info {
    int64_t origins, no_road; /* origins given; those left out: no road within max_snap_m */
    int64_t settled;          /* nodes the search settled */
    double search_ms, polygon_ms;
    double cell_m;            /* the raster's cell size used */
    /* polygon_ms in parts: collecting the reached pieces, the raster,
     * tracing and writing the contours */
    double pieces_ms, raster_ms, outline_ms;
} wg_isochrone_info;

/* A reached road piece of the largest contour, in the direction of travel
 * (for --reverse: towards the origin), with the times at its two ends.
 * An edge reached from both ends is split where the two times meet; an
 * origin's own edge also carries the pieces leaving the snapped point, and
 * each origin its walk to the road (edge_id 0). */
typedef struct wg_isochrone_piece {
    int64_t edge_id; /* road_edges.id; 0 for an origin's walk */
    double start_min, end_min;
    size_t npoints;
    const double *coords; /* lon, lat pairs; borrowed from the isochrone */
} wg_isochrone_piece;

/* Computes the service area of `norigins` WGS84 points (lon, lat pairs),
 * merged, for each of `nminutes` times (decimal minutes, 0 < m <= 1440;
 * sorted and deduplicated into contours, smallest first). Origins with no
 * road within max_snap_m are counted in info.no_road, not an error; if
 * none has a road every contour is empty (area 0). On success *out is new;
 * free with wg_isochrone_free(). Fails with WG_ERR_INVALID_ARG (bad
 * coordinates or minutes; a cell larger than buffer_m * sqrt(2); a raster
 * over 400M cells), WG_ERR_NOT_FOUND (unknown profile), WG_ERR_GDAL,
 * WG_ERR_PROJ or WG_ERR_NOMEM. */
WG_API wg_status wg_isochrone_compute(wg_ws *ws, const wg_graph *g, const double *lonlat,
                                      size_t norigins, const double *minutes, size_t nminutes,
                                      const wg_isochrone_opts *opts, wg_isochrone **out);
WG_API void wg_isochrone_free(wg_isochrone *iso);
WG_API size_t wg_isochrone_count(const wg_isochrone *iso);
/* Contour i (0 = smallest); WG_ERR_INVALID_ARG if out of range. */
WG_API wg_status wg_isochrone_get(const wg_isochrone *iso, size_t i, wg_isochrone_contour *out);
WG_API void wg_isochrone_get_info(const wg_isochrone *iso, wg_isochrone_info *out);
WG_API size_t wg_isochrone_lines(const wg_isochrone *iso);
WG_API wg_status wg_isochrone_line(const wg_isochrone *iso, size_t i, wg_isochrone_piece *out);

/* Writes the contours (one MultiPolygon feature each, largest first, with
 * minutes, area_m2, nodes) to `path` and, if lines_path is not NULL, the
 * reached pieces (edge_id, start_min, end_min) to lines_path; any OGR
 * format by extension, staged and moved into place only when complete. */
WG_API wg_status wg_isochrone_write(const wg_isochrone *iso, const char *path,
                                    const char *lines_path);

/* Options of wg_coverage_run(); zero-initialise. Strings borrowed. */
typedef struct wg_coverage_opts {
    const char *profile;    /* NULL: the graph's first */
    const double *origins;  /* lon, lat pairs; NULL: the officers' stations */
    size_t norigins;
    const char *role;       /* with officers: only this role (NULL: all) */
    double minutes;         /* the service time of every grid; <= 0: 10 */
    const char *rule;       /* instead: "town:10,village:30": a grid takes the time of
                               the first key equal to its own kind, else its parent's,
                               else its grandparent's... (the level name counts too, and
                               "*" matches any grid); a grid no key matches is an error */
    double max_snap_m, buffer_m, cell_m; /* as for wg_isochrone_opts */
    int threads;                         /* as for wg_isochrone_opts */
} wg_coverage_opts;

typedef struct wg_coverage_report {
    int64_t grids, full, partial, none; /* comprehensive grids; fully / partly / not covered
                                           (by area: within the band of a road reached in time) */
    int64_t roads_all, roads_some, roads_none, no_roads; /* grids whose road nodes are all /
                                           some / none reached within their time; without any */
    int64_t origins, no_road;           /* origins used; left out (no road near) */
    int64_t incidents, incidents_in;    /* stored incidents of those grids; inside */
    double area_m2, covered_m2;
    double seconds;
} wg_coverage_report;

/* For every current comprehensive grid: the share of its area inside the
 * service area (origins or officers' stations, the grid's minutes), the
 * share of its stored incidents (by their grid_code) inside it, and the
 * worst travel time to the network nodes inside it (NULL when one is not
 * reachable at all). Writes one feature per grid to `path` (the grid's
 * polygon; code, name, minutes, area_m2, covered_m2, area_share, incidents,
 * incidents_in, incident_share, worst_min, unreached_nodes, status
 * full|partial|none; full means less than 1 m² uncovered) and, if
 * uncovered_path is not NULL, the uncovered parts (code, area_m2) there;
 * any OGR format, staged. `report` may be NULL. */
WG_API wg_status wg_coverage_run(wg_ws *ws, const wg_graph *g, const wg_coverage_opts *opts,
                                 const char *path, const char *uncovered_path,
                                 wg_coverage_report *report);

/* ------------------------------------------------------------------------ */
/* Incidents and API keys (incidents.c, keys.c)                             */
/* ------------------------------------------------------------------------ */

/* Incidents reported by handsets and the hotline. Each is placed with a
 * locator and stored with its ownership chain, the level that must handle
 * it, a deadline, and the first event of its life: status "reported", the
 * start of the closed loop (reported -> accepted -> assigned -> handled ->
 * verified -> closed) whose later events go to the same history
 * (incident_events). Times are UTC in RFC 3339 ("2024-03-01T00:00:00Z").
 *
 * The tables (api_keys, incident_events) and the incident columns this
 * needs (reporter, received_at, level, deadline) are added to an older
 * workspace by wg_incidents_init(); the functions that write call it. */

#define WG_INCIDENT_TEXT_MAX 64   /* bytes of category, reporter, ext_id, src_crs */
#define WG_INCIDENT_DESC_MAX 4000 /* bytes of a description */
#define WG_INCIDENT_REPORTED "reported" /* the status of a new incident */

/* Adds what the service needs to a read-write workspace if missing.
 * Idempotent and cheap once done. WG_ERR_INVALID_ARG on a read-only one. */
WG_API wg_status wg_incidents_init(wg_ws *ws);

/* A new incident. Strings are borrowed for the call; NULL when unknown.
 * Text must be UTF-8 without control characters (description may hold
 * tabs and line breaks) and within the limits above. */
typedef struct wg_incident_new {
    double lon, lat;         /* WGS84; convert handset CRSs with wg_to_wgs84() first */
    const char *src_crs;     /* the CRS the point was sent in, kept for the record */
    const char *category, *description, *reporter;
    const char *reported_at; /* RFC 3339 with an offset; NULL = now */
    const char *ext_id;      /* the client's own id: sending again the same ext_id
                                with the same reporter stores nothing new */
    const char *actor;       /* who records it (e.g. "key:hotline"), for the history */
} wg_incident_new;

/* What wg_incidents_add() did with one incident. */
typedef struct wg_incident_receipt {
    int64_t id;
    int duplicate; /* 1: an incident with this ext_id and reporter was already stored;
                      id is that one, the other fields describe the new placement */
    wg_placement placement; /* strings borrowed from the locator */
    char level[16];         /* who must handle it: "grid", "village", "town" or "county" */
    char reported_at[24], received_at[24], deadline[24]; /* UTC, RFC 3339 */
} wg_incident_receipt;

/* Places `n` incidents with `loc` (GPS tolerance `tolerance_m`, < 0 = 30 m)
 * and stores them in one transaction, committed durably (synchronous=FULL)
 * before this returns: on WG_OK every one is on disk; on failure none is,
 * and out[] is undefined. An incident inside (or snapped to) a
 * comprehensive grid is the grid worker's, otherwise the county's; its
 * deadline (and dispatch deadline) follow the workspace's rules from the
 * report time (wg_rules_load; by default the same local day for the grid,
 * 7 days for the county). Fails with WG_ERR_INVALID_ARG (and the index of
 * the incident) for bad coordinates or text. */
WG_API wg_status wg_incidents_add(wg_ws *ws, const wg_locator *loc, double tolerance_m,
                                  const wg_incident_new *in, size_t n, wg_incident_receipt *out);

/* The same for one incident. */
WG_API wg_status wg_incident_add(wg_ws *ws, const wg_locator *loc, double tolerance_m,
                                 const wg_incident_new *in, wg_incident_receipt *out);

/* A stored incident. Strings are NULL when unknown; `exclusive` joins the
 * codes of the exclusive grids with ';'. Incidents stored by `place --store`
 * have no received_at, and their reported_at is the source's text; they get
 * a level and deadline when that text is an RFC 3339 time. */
typedef struct wg_incident {
    int64_t id;
    const char *ext_id, *reported_at, *received_at, *category, *description, *reporter;
    const char *src_crs, *status, *level, *deadline, *place_status;
    const char *county, *town, *village, *grid, *micro, *exclusive;
    double dist_m, lon, lat;
} wg_incident;

/* Reads incident `id`. On success *out is new; free with wg_incident_free().
 * WG_ERR_NOT_FOUND if there is no such incident. */
WG_API wg_status wg_incident_get(wg_ws *ws, int64_t id, wg_incident **out);
WG_API void wg_incident_free(wg_incident *inc);

/* A filter for wg_incidents_query(). Zero-initialise; strings borrowed. */
typedef struct wg_incident_query {
    int has_bbox;
    double bbox[4];      /* min lon, min lat, max lon, max lat (WGS84) */
    const char *since;   /* RFC 3339: reported at or after */
    const char *until;   /* RFC 3339: reported before */
    const char *code;    /* a unit code or prefix: the grid (else the lowest unit) starts with it */
    const char *status;  /* exact status ("reported", ...); NULL = any */
    const char *scope;   /* the caller's code prefix; NULL or "" = everything */
    int64_t after_id;    /* only ids greater than this (paging) */
    size_t limit;        /* at most this many, by ascending id; 0 = 100, max 10000 */
} wg_incident_query;

/* Calls `fn` for each matching incident, by ascending id. The incident is
 * borrowed for the call. A non-zero return from `fn` stops early. */
WG_API wg_status wg_incidents_query(wg_ws *ws, const wg_incident_query *q,
                                    int (*fn)(void *user, const wg_incident *inc), void *user);

/* One step of an incident's history. Strings borrowed for the callback. */
typedef struct wg_incident_event {
    int64_t id;
    const char *at, *event, *from_status, *to_status, *actor, *note;
} wg_incident_event;

/* Calls `fn` for each event of incident `id`, oldest first. */
WG_API wg_status wg_incident_events(wg_ws *ws, int64_t id,
                                    int (*fn)(void *user, const wg_incident_event *ev),
                                    void *user);

/* The code an incident belongs to for scoping: its grid, else its village,
 * town or county. Borrowed from `inc`; NULL if it was placed nowhere. */
WG_API const char *wg_incident_scope_code(const wg_incident *inc);

/* 1 if `code` lies within `scope` (a code prefix; NULL or "" = everything),
 * else 0. A NULL code lies only within the empty scope. */
WG_API int wg_code_in_scope(const char *code, const char *scope);

/* ---- API keys ---- */

/* What a key may do. Handsets report and route; analysts read; admins do all. */
typedef enum wg_role { WG_ROLE_HANDSET = 0, WG_ROLE_ANALYST, WG_ROLE_ADMIN } wg_role;

/* "handset", "analyst", "admin"; static text, NULL if out of range. */
WG_API const char *wg_role_name(wg_role role);
/* Parses a role name; WG_ERR_INVALID_ARG if unknown. */
WG_API wg_status wg_role_parse(const char *s, wg_role *out);

#define WG_KEY_LEN 47 /* "wgk_" and 43 base64url characters (256 random bits) */

/* A stored key (never the key itself: only its SHA-256 is kept). */
typedef struct wg_api_key {
    int64_t id;
    char name[WG_INCIDENT_TEXT_MAX + 1];
    char scope[WG_INCIDENT_TEXT_MAX + 1]; /* code prefix; "" = the whole workspace */
    char prefix[12];                      /* the key's first characters, to recognise it */
    wg_role role;
    double rate_per_s;                    /* requests per second; 0 = unlimited */
    char created_at[24], revoked_at[24];  /* RFC 3339; revoked_at "" while active */
} wg_api_key;

/* Creates a key from the system's random source (getrandom) and stores
 * its SHA-256. `key` receives the key text, shown this once; `info` (may
 * be NULL) what was stored. `name` is 1..64 bytes of UTF-8, `scope` a code
 * prefix (NULL or "" for everything), `rate_per_s` >= 0. */
WG_API wg_status wg_keys_add(wg_ws *ws, const char *name, wg_role role, const char *scope,
                             double rate_per_s, char key[WG_KEY_LEN + 1], wg_api_key *info);

/* Calls `fn` for every key (revoked ones too), by id. */
WG_API wg_status wg_keys_list(wg_ws *ws, int (*fn)(void *user, const wg_api_key *k),
                              void *user);

/* Revokes the key with id `which` (all digits) or every active key named
 * `which`. *n (may be NULL) gets how many; WG_ERR_NOT_FOUND if none. */
WG_API wg_status wg_keys_revoke(wg_ws *ws, const char *which, int64_t *n);

/* Looks up an active key. WG_ERR_NOT_FOUND if the key is unknown, revoked,
 * malformed, or the workspace has no keys table. Works read-only. */
WG_API wg_status wg_keys_check(wg_ws *ws, const char *key, wg_api_key *out);

/* The same lookup for a service checking a key per request: the keyring
 * keeps its statement prepared, yet every check reads the table afresh, so
 * a key added or revoked since is seen at once. Borrows `ws` (one thread
 * at a time, like the workspace); free with wg_keyring_free() before
 * closing it. */
typedef struct wg_keyring wg_keyring;
WG_API wg_status wg_keyring_open(wg_ws *ws, wg_keyring **out);
WG_API wg_status wg_keyring_check(wg_keyring *kr, const char *key, wg_api_key *out);
WG_API void wg_keyring_free(wg_keyring *kr);

/* ---- Units for the service (unitinfo.c) ---- */

/* A unit with its geometry as GeoJSON text (RFC 7946, 7 decimals). */
typedef struct wg_unit_info {
    char *code, *name, *level, *parent, *kind, *valid_from, *valid_to; /* NULL if none */
    double area_m2;
    char *geojson;
} wg_unit_info;

/* Reads the unit with `code` valid on `at` (YYYY-MM-DD; NULL = current).
 * On success *out is new; free with wg_unit_info_free(). WG_ERR_NOT_FOUND
 * if no such unit. */
WG_API wg_status wg_unit_get(wg_ws *ws, const char *code, const char *at, wg_unit_info **out);
WG_API void wg_unit_info_free(wg_unit_info *u);

/* A fingerprint of the units, the officer roster and the road network: it
 * changes when an import, a new version or a repair changes any unit, the
 * roster is imported again or the roads are imported or rebuilt, so a
 * long-running service knows when to rebuild its locator, officer index
 * and graph. Incidents and keys do not change it. */
WG_API wg_status wg_units_stamp(wg_ws *ws, uint64_t *out);

/* ---- The officer roster in memory (officerindex.c) ---- */

/* Every officer assignment of a workspace in memory, answering exactly as
 * wg_officers_for_units() without touching the database: for services
 * making that lookup per request. Immutable once built: any number of
 * threads may query one index at a time. It does not see later imports
 * (rebuild when wg_units_stamp() changes). Free with
 * wg_officer_index_free(). */
typedef struct wg_officer_index wg_officer_index;
WG_API wg_status wg_officer_index_build(wg_ws *ws, wg_officer_index **out);
WG_API void wg_officer_index_free(wg_officer_index *ix);
/* Assignments held (officer-unit-role rows). */
WG_API size_t wg_officer_index_count(const wg_officer_index *ix);
/* Calls `fn` for every officer assigned to one of the `n` unit codes
 * (at most 500), ordered by role, then name, then officer id; the officer
 * is borrowed for the call. A non-zero return stops early. */
WG_API wg_status wg_officer_index_for_units(const wg_officer_index *ix, const char *const *codes,
                                            size_t n,
                                            int (*fn)(void *user, const wg_officer *o),
                                            void *user);

/* ---- Requests of the HTTP service (httpparse.c) ---- */

/* Pure, strict parsers for what clients send, kept in the library so the
 * fuzzers test exactly what the service runs. On bad input they return
 * WG_ERR_INVALID_ARG (WG_ERR_FORMAT for malformed syntax) and fill a
 * wg_input_error: a stable code for programs and a message naming the
 * parameter or field. They never allocate except wg_json_reader_new(). */
typedef struct wg_input_error {
    const char *code; /* static: "malformed_query", "query_too_long", "unknown_parameter",
                         "duplicate_parameter", "missing_parameter", "invalid_parameter",
                         "invalid_json", "unknown_field", "duplicate_field",
                         "missing_field", "invalid_field", "body_too_large" */
    char message[240];
} wg_input_error;

typedef enum wg_param_type {
    WG_PARAM_NUMBER, /* a finite decimal number within [min, max] */
    WG_PARAM_INT,    /* decimal digits (optional '-') within [min, max] */
    WG_PARAM_TEXT,   /* UTF-8 without control characters, max bytes = max (0 = 64) */
    WG_PARAM_ENUM,   /* one of `choices` (NULL-terminated) */
    WG_PARAM_CRS,    /* see wg_crs_parse() */
    WG_PARAM_DATE,   /* YYYY-MM-DD, a real date */
    WG_PARAM_TIME,   /* RFC 3339 with an offset; normalised to UTC "...Z" */
    WG_PARAM_BBOX,   /* min_lon,min_lat,max_lon,max_lat in range, min <= max */
    WG_PARAM_POINT   /* lon,lat in range */
} wg_param_type;

typedef struct wg_param_spec {
    const char *name;
    wg_param_type type;
    int required;
    double min, max; /* NUMBER, INT: inclusive range (ignored if min >= max); TEXT: max bytes */
    const char *const *choices;
} wg_param_spec;

#define WG_QUERY_MAX_PARAMS 16
#define WG_QUERY_MAX_LEN 4096

typedef struct wg_param_value {
    int set;
    double num;       /* NUMBER; INT as double too */
    int64_t i;        /* INT */
    double v[4];      /* BBOX; POINT in v[0], v[1] */
    const char *text; /* decoded text (TEXT, ENUM, CRS, DATE; TIME normalised), in the query */
    wg_crs_kind crs;  /* CRS */
    int epsg;
} wg_param_value;

/* A parsed query: v[i] answers spec[i]. Owns its text; no free needed. */
typedef struct wg_query {
    wg_param_value v[WG_QUERY_MAX_PARAMS];
    char buf[WG_QUERY_MAX_LEN + 64];
} wg_query;

/* Parses the query string `qs` (`len` bytes, without the '?'): '&'-separated
 * name=value pairs, percent- and '+'-decoded, each name known to `spec`
 * (at most WG_QUERY_MAX_PARAMS entries), none twice, the required ones
 * present, every value valid for its type. Empty pairs are ignored. */
WG_API wg_status wg_query_parse(const char *qs, size_t len, const wg_param_spec *spec,
                                size_t nspec, wg_query *out, wg_input_error *err);

/* A report's JSON body, checked: see wg_report_parse(). */
typedef struct wg_report {
    double x, y;          /* as sent, in crs */
    wg_crs_kind crs_kind; /* default WG_CRS_WGS84 */
    int epsg;
    char crs[WG_INCIDENT_TEXT_MAX + 1];  /* as sent ("wgs84" if absent) */
    char reported_at[24];                /* normalised UTC, "" if absent */
    char category[WG_INCIDENT_TEXT_MAX + 1], reporter[WG_INCIDENT_TEXT_MAX + 1];
    char ext_id[WG_INCIDENT_TEXT_MAX + 1];
    char description[WG_INCIDENT_DESC_MAX + 1];
} wg_report;

/* A JSON reader (SQLite's JSON parser on a private in-memory database).
 * One thread at a time. Free with wg_json_reader_free(). */
typedef struct wg_json_reader wg_json_reader;
WG_API wg_status wg_json_reader_new(wg_json_reader **out);
WG_API void wg_json_reader_free(wg_json_reader *r);

/* Parses the body of POST /v1/incidents: one RFC 8259 object with "lon" and
 * "lat" (numbers; longitude/easting first) and optionally "crs", "category",
 * "description", "reported_at" (RFC 3339), "reporter" and "ext_id"
 * (strings); no other member, none twice. Coordinates must be finite and,
 * for the geographic CRSs, within +-180/+-90. At most 64 KiB. */
WG_API wg_status wg_report_parse(wg_json_reader *r, const char *body, size_t len,
                                 wg_report *out, wg_input_error *err);

/* ------------------------------------------------------------------------ */
/* The closed loop: lifecycle, deadlines, statistics (lifecycle.c,          */
/* deadlines.c, stats.c)                                                    */
/* ------------------------------------------------------------------------ */

/* Every incident runs report -> accept -> assign -> handle -> verify ->
 * close (上报—受理—交办—处置—核查—结案). The allowed steps:
 *
 *   accept    reported                     -> accepted
 *   assign    accepted | assigned          -> assigned  (to an officer of the roster)
 *   escalate  reported | accepted | assigned -> accepted at the next level up
 *             (grid -> village -> town -> county); the new level's time limit
 *             starts at the escalation and the assignee is cleared
 *   handle    assigned                     -> handled
 *   verify    handled                      -> verified
 *   reject    handled                      -> assigned  (verification sends it back)
 *   close     verified                     -> closed    (optionally with satisfaction 1-5)
 *
 * Each step updates the incident and appends to incident_events in one
 * transaction. Deadlines come from the workspace's rule table (below). The
 * columns and tables this needs are added to an older workspace when it is
 * first opened read-write by a function that writes.
 *
 * For other layers (aggregate, onemap) the workspace has a view
 *   incident_state(id, grid_code, village_code, town_code, county_code,
 *                  category, level, status, assignee, reported_at,
 *                  accepted_at, closed_at, deadline, dispatch_deadline,
 *                  satisfaction, is_open, is_overdue_now)
 * where is_open is 1 unless closed, and is_overdue_now is 1 for an open
 * incident past its deadline, or past its dispatch deadline while not yet
 * assigned (reported/accepted), judged at SQLite's current time (times
 * are normalised "YYYY-MM-DDTHH:MM:SSZ", so text order is time order).
 * Open and overdue counts per grid for a map layer:
 *   SELECT grid_code, sum(is_open), sum(is_overdue_now) FROM incident_state
 *   GROUP BY grid_code; The yellow warning state needs the rules and is computed in C
 * (wg_incident_state_get, wg_stats_compute). */

typedef enum wg_action {
    WG_ACT_ACCEPT = 0,
    WG_ACT_ASSIGN,
    WG_ACT_ESCALATE,
    WG_ACT_HANDLE,
    WG_ACT_VERIFY,
    WG_ACT_REJECT,
    WG_ACT_CLOSE
} wg_action;
#define WG_ACTION_COUNT 7

/* "accept", "assign", ...; static text, NULL if out of range. */
WG_API const char *wg_action_name(wg_action a);
/* Parses an action name; WG_ERR_INVALID_ARG if unknown. */
WG_API wg_status wg_action_parse(const char *s, wg_action *out);

/* One step. Zero-initialise; strings borrowed for the call. */
typedef struct wg_step {
    wg_action action;
    const char *officer; /* ASSIGN: an officer_id of the roster (required) */
    const char *note;    /* free text, at most WG_INCIDENT_DESC_MAX bytes */
    const char *actor;   /* who acts (officer id, "key:name", ...) */
    const char *at;      /* RFC 3339; NULL = now. Not before the last event,
                            not more than an hour in the future */
    int satisfaction;    /* CLOSE only: 1..5, 0 = not rated */
} wg_step;

typedef struct wg_step_result {
    int64_t event_id;
    char from_status[16], to_status[16];
    char level[16];                      /* the level after the step */
    char at[24], deadline[24];           /* UTC, RFC 3339 */
} wg_step_result;

/* Applies `step` to incident `id`. WG_ERR_NOT_FOUND if there is no such
 * incident (or, for ASSIGN, no such officer); WG_ERR_CONSTRAINT if the
 * step is not allowed from the incident's status (the message says which
 * statuses allow it), if escalating a county-level incident, or if `at` is
 * before the incident's last event; WG_ERR_INVALID_ARG for bad text, time
 * or satisfaction. On failure nothing changes. `out` may be NULL. */
WG_API wg_status wg_incident_step(wg_ws *ws, int64_t id, const wg_step *step,
                                  wg_step_result *out);

/* ---- Deadline rules (deadlines.c) ---- */

/* How a time limit is counted: calendar days (the limit ends at the end of
 * the local day N days after the start; 0 = the same day), working days
 * (the end of the Nth working day after the start's day; 0 = the end of
 * the start's day, or of the next working day), calendar hours, or
 * working hours (inside the daily working window of working days).
 * Working days are Monday to Friday except holidays, plus make-up working
 * days (调休). */
typedef enum wg_clock { WG_CLOCK_DAYS = 0, WG_CLOCK_WORKDAYS, WG_CLOCK_HOURS, WG_CLOCK_WORKHOURS } wg_clock;
/* "days", "workdays", "hours", "workhours"; static, NULL if out of range. */
WG_API const char *wg_clock_name(wg_clock c);

/* A rule table: limits per level ("grid", "village", "town", "county",
 * and "dispatch": the time to assign) and category ("*" = any), the
 * holiday calendar, the working hours, the local UTC offset and the
 * warning share. Immutable once made; free with wg_rules_free(). */
typedef struct wg_rules wg_rules;

/* The defaults of practice (issue 7): grid worker the same day, village 3
 * days, town 5 days, county 7 days (calendar days, ending at local
 * midnight), dispatch within 1 working day; warning at 80%; UTC+08:00;
 * working hours 09:00-17:00; no holidays. A rules file can count any of
 * them in working days instead. */
WG_API wg_status wg_rules_default(wg_ctx *ctx, wg_rules **out);

/* Parses a rules file's text (`name` names it in messages: "file:line:").
 * Lines, '#' starts a comment:
 *   limit LEVEL CATEGORY AMOUNT days|workdays|hours|workhours
 *   holiday YYYY-MM-DD[..YYYY-MM-DD]     days off
 *   workday YYYY-MM-DD[..YYYY-MM-DD]     make-up working days (调休)
 *   warning 80%  (or 0.8)                share of the limit that turns yellow
 *   work_hours 09:00-17:00
 *   timezone +08:00
 * Levels not given keep the defaults. WG_ERR_FORMAT with file:line. */
WG_API wg_status wg_rules_parse(wg_ctx *ctx, const char *text, const char *name,
                                wg_rules **out);
/* Reads and parses a file. */
WG_API wg_status wg_rules_read_file(wg_ctx *ctx, const char *path, wg_rules **out);
/* The workspace's rules (the defaults if none were stored). */
WG_API wg_status wg_rules_load(wg_ws *ws, wg_rules **out);
/* Replaces the workspace's rules in one transaction. Incidents keep the
 * deadlines they have; new steps use the new rules. */
WG_API wg_status wg_rules_store(wg_ws *ws, const wg_rules *r);
/* The rules as a file's text (what wg_rules_parse reads back). Returns a
 * new string (free()), NULL if out of memory. */
WG_API char *wg_rules_format(const wg_rules *r);
WG_API void wg_rules_free(wg_rules *r);

/* 1 if the local day holding `t` (seconds since 1970 UTC) is a working day. */
WG_API int wg_rules_is_workday(const wg_rules *r, int64_t t);

/* The deadline of work of `level` and `category` (NULL = any) started at
 * `start`. *clock gets how it counts (may be NULL). WG_ERR_NOT_FOUND if no
 * rule covers the level (only possible for "dispatch" when removed). */
WG_API wg_status wg_rules_deadline(wg_ctx *ctx, const wg_rules *r, const char *level,
                                   const char *category, int64_t start, int64_t *deadline,
                                   wg_clock *clock);

typedef enum wg_colour {
    WG_COLOUR_GREEN = 0, /* 待处: open, within the limit */
    WG_COLOUR_YELLOW,    /* 预警: past the warning share of the limit */
    WG_COLOUR_RED,       /* 超期: past the deadline */
    WG_COLOUR_CLOSED     /* closed */
} wg_colour;
/* "green", "yellow", "red", "closed"; static. */
WG_API const char *wg_colour_name(wg_colour c);

/* The colour at `at` of open work started at `start` and due at
 * `deadline`, the share of the limit measured on `clock` (so working
 * time for working-day limits). */
WG_API wg_colour wg_rules_colour(const wg_rules *r, wg_clock clock, int64_t start,
                                 int64_t deadline, int64_t at);

/* Where an incident stands. */
typedef struct wg_incident_state {
    int64_t id;
    char status[16], level[16], clock[16];
    char assignee[WG_INCIDENT_TEXT_MAX + 1];
    char level_since[24], deadline[24], dispatch_deadline[24]; /* "" if none */
    char accepted_at[24], closed_at[24];                        /* "" if not yet */
    int satisfaction;                                           /* 0 = not rated */
    wg_colour colour;          /* at the time asked: the worse of the handling
                                  limit and, until assigned, the dispatch limit */
    int closed_on_time;        /* closed and closed_at <= deadline */
} wg_incident_state;

/* Reads incident `id`'s state and its colour at `at` (seconds since 1970
 * UTC) under `rules` (NULL: the workspace's). WG_ERR_NOT_FOUND if no such
 * incident. Incidents without a deadline (stored by an old `place
 * --store`) are green until closed. */
WG_API wg_status wg_incident_state_get(wg_ws *ws, const wg_rules *rules, int64_t id,
                                       int64_t at, wg_incident_state *out);

/* ---- Statistics (stats.c) ---- */

typedef enum wg_stats_by {
    WG_STATS_GRID = 0, WG_STATS_VILLAGE, WG_STATS_TOWN, WG_STATS_CATEGORY, WG_STATS_OFFICER
} wg_stats_by;
/* "grid", ...; static. */
WG_API const char *wg_stats_by_name(wg_stats_by by);
WG_API wg_status wg_stats_by_parse(const char *s, wg_stats_by *out);

typedef struct wg_stats_opts {
    wg_stats_by by;
    const char *from, *to; /* RFC 3339: incidents reported in [from, to); NULL = unbounded */
    const char *at;        /* the time "open" and "overdue" are judged at; NULL = now */
    int total;             /* 1: after the groups, one more row over all of them (key NULL) */
} wg_stats_opts;

/* The figures of one group. Rates are percentages (0..100), NAN when the
 * denominator is 0. */
typedef struct wg_stats_row {
    const char *key;              /* the grid/village/town code, category or officer
                                     id; "" for incidents without one; NULL for the
                                     total row. Borrowed */
    const char *name;             /* the unit's current name or the officer's name;
                                     NULL for a category, the total or an unknown key.
                                     Borrowed */
    int64_t received, accepted, closed, closed_on_time;
    int64_t open, overdue_open, warning_open; /* at opts->at: not closed; red (past the
                                     deadline, or the dispatch deadline while unassigned);
                                     yellow */
    double median_close_h;        /* hours from report to close; NAN if none closed */
    int64_t rated, satisfied;     /* satisfaction given; 4 or 5 */
    double mean_satisfaction;     /* NAN if none rated */
    double acceptance_rate;       /* 受理率 accepted / received */
    double on_time_rate;          /* 按时办结率 closed_on_time / closed */
    double satisfaction_rate;     /* 满意率 satisfied / rated */
} wg_stats_row;

/* Computes the figures in one pass over the incidents (one index range
 * scan with from/to) and calls `fn` for each group in key order; the row
 * is borrowed for the call. Accepted counts every incident that reached
 * "accepted" (escalation included); a group by officer counts incidents by
 * their current assignee. */
WG_API wg_status wg_stats_compute(wg_ws *ws, const wg_stats_opts *opts,
                                  int (*fn)(void *user, const wg_stats_row *row), void *user);

/* Writes the figures to `path` (any OGR format by extension) with each
 * grid/village/town's current polygon (no geometry when grouping by
 * category or officer: use .csv or .geojson), atomically. `n` rows. */
WG_API wg_status wg_stats_write(wg_ws *ws, const wg_stats_opts *opts, const wg_stats_row *rows,
                                size_t n, const char *path);

/* ------------------------------------------------------------------------ */
/* Aggregates and the one-map bundle (aggregate.c, onemap.c, style.c)       */
/* ------------------------------------------------------------------------ */

/* The units incidents are counted in. */
typedef enum wg_agg_by {
    WG_AGG_GRID = 0, /* comprehensive grids, by the incident's stored grid_code */
    WG_AGG_MICRO,    /* micro-grids (micro_code) */
    WG_AGG_VILLAGE,  /* villages and communities (village_code) */
    WG_AGG_TOWN,     /* towns and streets (town_code) */
    WG_AGG_HEX       /* hexagons of hex_size_m in the metric CRS, clipped to the county */
} wg_agg_by;

/* Options of wg_aggregate(). Zero-initialise; strings borrowed for the call. */
typedef struct wg_aggregate_opts {
    wg_agg_by by;
    double hex_size_m;    /* WG_AGG_HEX: the hexagons' edge length (= centre to corner), m.
                           * Flat-topped, centred on multiples of (1.5 s, sqrt(3) s) from the
                           * metric CRS's origin, odd columns half a row north */
    const char *from, *to;/* YYYY-MM-DD, inclusive, on the date as reported; NULL = open */
    const char *category; /* only this category; NULL = all */
    const char *at;       /* the time overdue is judged at: YYYY-MM-DD (00:00 UTC) or RFC 3339;
                           * NULL = now */
    int classes;          /* quantile classes of count_km2 for the style; 0 = 5 (max 12) */
} wg_aggregate_opts;

/* One per-category count column of an aggregate. */
typedef struct wg_agg_category {
    char *field;    /* the column: "n_" + the category with ASCII other than letters and
                     * digits replaced by '_' (non-ASCII UTF-8 kept), made unique; in a
                     * Shapefile (10-byte names) "cat_01", "cat_02", ... */
    char *category; /* the category ("" for incidents without one) */
    int64_t count;
} wg_agg_category;

#define WG_AGG_MAX_CLASSES 12

/* What wg_aggregate() wrote. Free the categories with wg_aggregate_report_free(). */
typedef struct wg_aggregate_report {
    int64_t units;     /* features written */
    int64_t selected;  /* incidents selected by date and category */
    int64_t counted;   /* of those, counted in a unit (hexagons: inside the county) */
    int64_t open, overdue; /* of the counted */
    double area_km2;   /* total area of the units (hexagons: of the county) */
    int classes;       /* quantile classes after merging equal breaks (>= 1) */
    double breaks[WG_AGG_MAX_CLASSES + 1]; /* class i is (breaks[i], breaks[i+1]] of
                                            * count_km2; the first also takes breaks[0] */
    size_t ncategories;
    wg_agg_category *categories; /* owned by the report */
    char style[4200];  /* the .qml written beside the file, or "" (a GeoPackage keeps its
                        * style in layer_styles) */
} wg_aggregate_report;

/* Frees what a report owns (not the report itself). Accepts NULL. */
WG_API void wg_aggregate_report_free(wg_aggregate_report *rep);

/* Counts the stored incidents selected by date and category per unit and
 * writes one polygon per unit (WGS84) to `path` (any OGR format by
 * extension; Shapefiles with a .cpg): code, name, level, area_km2 (in the
 * metric CRS), count, count_km2, open, overdue (see wg_incident_is_open_sql),
 * class (1-based quantile class of count_km2), then one column per category.
 * Units without incidents are written with 0. Hexagons are coded "H<col>_<row>"
 * and only those meeting the county are written, clipped to it (the county
 * level's union; without one, the towns', villages' or grids'); only
 * incidents inside the county count. The style (quantile classes, YlOrRd) goes
 * to STEM.qml beside the file, or to the layer_styles table of a GeoPackage.
 * Staged: nothing is left behind on failure. On success *rep is filled (free
 * with wg_aggregate_report_free()); `rep` may be NULL. */
WG_API wg_status wg_aggregate(wg_ws *ws, const wg_aggregate_opts *opts, const char *path,
                              wg_aggregate_report *rep);

/* The SQL expressions (over the incidents table) that decide whether an
 * incident is open and whether it is overdue at the bound parameter :at
 * (RFC 3339), as the closed loop decides them (the incident_state view,
 * wg_stats_compute): open unless its status is 'closed'; overdue when open
 * and past its deadline, or, with `with_dispatch` (the workspace has the
 * closed loop's dispatch_deadline column), still reported/accepted past its
 * dispatch deadline. Static text. */
WG_API const char *wg_incident_is_open_sql(void);
WG_API const char *wg_incident_is_overdue_sql(int with_dispatch);

/* Options of wg_onemap(). Zero-initialise. */
typedef struct wg_onemap_opts {
    double radius;      /* heatmap kernel radius, m; 0 = 250 */
    double pixel;       /* heatmap pixel, m; 0 = the county's longer side / 2000, at least 10 */
    int minzoom, maxzoom; /* vector tiles; 0 = from the extent: minzoom is the zoom at which the
                           * county spans about one tile, maxzoom five levels deeper, at most 16
                           * (map clients overzoom the deepest tiles) */
    double minutes[2];  /* service areas from the officers' stations; 0 = 10 and 30 minutes
                         * (coverage uses the first) */
} wg_onemap_opts;

#define WG_ONEMAP_MAX_LAYERS 16

/* What wg_onemap() wrote (paths inside the output folder). */
typedef struct wg_onemap_report {
    size_t nlayers;
    struct {
        char name[32];
        int64_t features;
        int tiled; /* 1: a layer of onemap.mbtiles too, from zoom minzoom to maxzoom:
                    * county, towns (from the tiles' minzoom), villages, grids (minzoom + 2;
                    * the grids tile layer carries grid_stats' and coverage's figures),
                    * micro, exclusive, officers (the deepest three zooms). Not tiled:
                    * service_areas, coverage_gaps (one polygon with thousands of holes)
                    * and incidents (GDAL's MVT writer is far too slow on 200,000 points;
                    * the heatmap and the grids' figures show them) */
        int minzoom, maxzoom;
    } layers[WG_ONEMAP_MAX_LAYERS]; /* in onemap.gpkg and geojson/NAME.geojson */
    int graph;                     /* 1: a road graph existed; service areas were written */
    int minzoom, maxzoom;
    int64_t tiles_min, tiles_max;  /* tiles at minzoom and at maxzoom */
    wg_heatmap_report heatmap;
    double radius, pixel;
    char note[512];                /* what was skipped and why, or "" */
    double seconds;
    double cpu_seconds;            /* CPU time of the process (all threads) */
    size_t nphases;                /* wall-clock seconds per phase, in order: units, points, */
    struct {                       /* grid_stats, service, gpkg_close, heatmap, copies (the */
        char name[24];             /* GeoJSON copies and the tiles, on worker threads beside */
        double seconds;            /* the heatmap), then the workers' own times: mbtiles, */
    } phases[16];                  /* geojson (summed over layers), then publish */
} wg_onemap_report;

/* Writes everything the command center loads into the folder `dir`:
 * onemap.gpkg (layers county, towns, villages, grids, micro, exclusive,
 * officers, incidents, grid_stats (wg_aggregate by grid), and with a road
 * graph service_areas, coverage and coverage_gaps; each with its QGIS style
 * in layer_styles), heatmap.tif + heatmap.png (+ .pgw, legend; see
 * wg_heatmap, framed on the grids), geojson/LAYER.geojson (RFC 7946) and
 * onemap.mbtiles (Mapbox vector tiles of the layers marked tiled, EPSG:3857
 * tiles of WGS84 data). Everything is written into a hidden folder beside `dir` and
 * renamed to `dir` at the end: a failure leaves `dir` as it was. An
 * existing `dir` is replaced only if it is empty or holds onemap.gpkg
 * (an earlier bundle); otherwise WG_ERR_INVALID_ARG. Progress is reported
 * as "onemap" (steps), always from the calling thread; the GeoJSON copies
 * and the tiles are written on worker threads of their own (one per CPU, at
 * most 8), which use neither `ws` nor its context. `rep` may be NULL. */
WG_API wg_status wg_onemap(wg_ws *ws, const char *dir, const wg_onemap_opts *opts,
                           wg_onemap_report *rep);

#ifdef __cplusplus
}
#endif
#endif /* WANGGE_H */
