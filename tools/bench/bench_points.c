/* bench_points.c -- one WGS84 point file for every engine of the benchmark.
 *
 * The generator's incidents.csv mixes WGS84 and GCJ-02 rows. PostGIS knows
 * nothing of GCJ-02, so the benchmark converts once, up front, with
 * libwangge's own wg_to_wgs84() (the conversion `wangge place` applies), and
 * writes id,lon,lat with as many digits as it takes (at most 17) to read
 * back as the very same doubles: every engine then parses exactly those.
 *
 * usage: bench_points IN.csv OUT.csv [--limit N] [--id-field F]
 *            [--lon-field F] [--lat-field F] [--crs-field F] */
#include "bench_util.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

/* The shortest of %.15g, %.16g, %.17g that reads back as the same double. */
static const char *shortest(char buf[32], double v) {
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, 32, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    return buf;
}

int main(int argc, char **argv) {
    enum { O_LIMIT = 256, O_ID, O_LON, O_LAT, O_CRS };
    static const struct option longopts[] = {
        {"limit", required_argument, 0, O_LIMIT},  {"id-field", required_argument, 0, O_ID},
        {"lon-field", required_argument, 0, O_LON}, {"lat-field", required_argument, 0, O_LAT},
        {"crs-field", required_argument, 0, O_CRS}, {0, 0, 0, 0}};
    bench_fields bf = {0};
    size_t limit = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case O_LIMIT: limit = (size_t)strtoull(optarg, NULL, 10); break;
        case O_ID: bf.id = optarg; break;
        case O_LON: bf.lon = optarg; break;
        case O_LAT: bf.lat = optarg; break;
        case O_CRS: bf.crs = optarg; break;
        default: optind = argc; break;
        }
    }
    if (optind != argc - 2) {
        fputs("usage: bench_points IN.csv OUT.csv [--limit N] [--id-field F] [--lon-field F]\n"
              "                    [--lat-field F] [--crs-field F]\n"
              "Writes incident_id,lon,lat in WGS84 (GCJ-02/BD-09 rows converted, per the\n"
              "crs column if there is one) with 17 significant digits.\n",
              stderr);
        return 2;
    }
    bench_points p;
    if (bench_points_read(argv[optind], &bf, limit, &p)) return 1;
    FILE *f = fopen(argv[optind + 1], "w");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", argv[optind + 1]);
        bench_points_free(&p);
        return 1;
    }
    fputs("incident_id,lon,lat\n", f);
    for (size_t i = 0; i < p.n; i++) {
        char x[32], y[32];
        bench_csv_field(f, p.ids + p.id_off[i]);
        fprintf(f, ",%s,%s\n", shortest(x, p.lon[i]), shortest(y, p.lat[i]));
    }
    int bad = fclose(f) != 0;
    if (bad) fprintf(stderr, "cannot write %s\n", argv[optind + 1]);
    else
        printf("points          %zu   (%zu converted from GCJ-02/BD-09, %zu rejected) -> %s\n",
               p.n, p.converted, p.rejected, argv[optind + 1]);
    bench_points_free(&p);
    return bad;
}
