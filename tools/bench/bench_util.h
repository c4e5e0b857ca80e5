/* bench_util.h -- what the placement benchmarks share (not API).
 *
 * The peers must see exactly the points wangge sees, so every bench program
 * reads the same CSV the same way: a header row, RFC 4180 quoting, lon/lat
 * in WGS84 unless a `crs` column says gcj02/bd09 for that row, converted
 * with libwangge's public functions. Points live in flat arrays (ids in one
 * buffer) so the timed loops touch nothing else. */
#ifndef WG_BENCH_UTIL_H
#define WG_BENCH_UTIL_H

#include <stddef.h>
#include <stdio.h>

/* A set of points, WGS84. */
typedef struct bench_points {
    size_t n;
    double *lon, *lat;
    size_t *id_off; /* id i is ids + id_off[i], NUL-terminated */
    char *ids;
    size_t rejected; /* rows with unusable coordinates (not in the set) */
    size_t converted; /* rows converted from GCJ-02 or BD-09 */
} bench_points;

/* Column names; NULL picks the default: id = the first column, lon = "lon",
 * lat = "lat", crs = "crs" when there is such a column (else all WGS84). */
typedef struct bench_fields {
    const char *id, *lon, *lat, *crs;
} bench_fields;

/* Reads up to `limit` points (0 = all) from `path`. Returns 0 on success;
 * on failure prints why to stderr and returns -1. Free with
 * bench_points_free(). */
int bench_points_read(const char *path, const bench_fields *f, size_t limit, bench_points *out);
void bench_points_free(bench_points *p);

/* Writes `s` as one CSV field (quoted when it needs to be). */
void bench_csv_field(FILE *f, const char *s);

/* Monotonic wall clock, seconds. */
double bench_now(void);

/* Peak resident set size of this process so far, MiB. */
double bench_peak_rss_mib(void);

/* Number of online CPUs (at least 1). */
int bench_ncpu(void);

#endif
