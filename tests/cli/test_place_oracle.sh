#!/usr/bin/env bash
# test_place_oracle.sh -- `wangge place` against GEOS, point by point.
#
# The oracle is GEOS's covers predicate, reached through SpatiaLite's
# ST_Covers in SQL that GDAL runs on a copy of the workspace (gdal-bin and
# the SpatiaLite module are test dependencies already), so the test needs
# nothing beyond wangge and wg_gencounty. tools/bench/bench_geos_place asks
# GEOS the same question for the benchmark.
#
# Points, on the tiny county:
#   - its 500 incidents, WGS84 and GCJ-02 rows as wangge converts them (the
#     oracle reads the WGS84 point of wangge's GeoPackage output);
#   - every vertex of every grid: on a shared edge these lie exactly on two
#     grids or more;
#   - the midpoint of every grid edge, within rounding of the edge: the
#     hardest case for an exact point-in-polygon test.
# Asserts, per point:
#   - covered by exactly one grid: wangge gives that grid, 'inside', or
#     'nearest' at 0 m when the point is on the coverage's outer edge (the
#     boundary rule gives edge points to the east/north side);
#   - covered by two or more (a shared boundary): wangge gives one of them;
#   - covered by none: wangge does not say 'inside'.
source "$(dirname "$0")/lib.sh"
command -v ogr2ogr >/dev/null && command -v ogrinfo >/dev/null || fail "ogr2ogr/ogrinfo (gdal-bin) missing"

GEN=$WG_TMP/gen
WS=$WG_TMP/tiny.wangge
ORACLE=$WG_TMP/oracle.sqlite
CURRENT_GRIDS="FROM units WHERE level = 'grid' AND valid_to IS NULL"

gen_county "$GEN" --scale tiny --seed 42
expect_exit 0 "$WANGGE" init "$WS"
expect_exit 0 "$WANGGE" import-grids "$WS" "$GEN/admin.shp" --level-field level --parent-field parent
expect_exit 0 "$WANGGE" import-grids "$WS" "$GEN/grids.shp" --level grid --parent-field parent
expect_exit 0 "$WANGGE" import-grids "$WS" "$GEN/micro.shp" --level micro --parent-field parent
expect_exit 0 "$WANGGE" import-grids "$WS" "$GEN/exclusive.shp" --level exclusive \
    --parent-field parent --kind-field kind

# Boundary points: grid vertices and edge midpoints, with an id (v<n>, s<n>).
ogr() { run "$@"; [ "$RC" = 0 ] || fail "$1 failed"; }
ogr ogr2ogr -f GPKG "$WG_TMP/parts.gpkg" "$WS" -nln v -nlt POINT -explodecollections \
    -sql "SELECT DissolvePoints(geom) AS geom $CURRENT_GRIDS"
ogr ogr2ogr -update "$WG_TMP/parts.gpkg" "$WS" -nln s -nlt LINESTRING -explodecollections \
    -sql "SELECT DissolveSegments(geom) AS geom $CURRENT_GRIDS"
ogr ogr2ogr -f GPKG "$WG_TMP/edges.gpkg" "$WG_TMP/parts.gpkg" -nln edges -nlt POINT -dialect SQLite \
    -sql "SELECT 'v' || fid AS pid, geom FROM v
          UNION ALL SELECT 's' || fid AS pid, Line_Interpolate_Point(geom, 0.5) AS geom FROM s"

# wangge's answers, as GeoPackages (they carry the WGS84 point wangge placed).
expect_exit 0 "$WANGGE" place "$WS" "$GEN/incidents.csv" --crs-field crs -o "$WG_TMP/inc.gpkg"
expect_contains "$ERR" "placed 500 rows"
expect_exit 0 "$WANGGE" place "$WS" "$WG_TMP/edges.gpkg" -o "$WG_TMP/edges_placed.gpkg"

# The oracle: every grid that covers each placed point, per GEOS via SpatiaLite.
cp "$WS" "$ORACLE"
ogr ogr2ogr -update "$ORACLE" "$WG_TMP/inc.gpkg" -nln placed_inc
ogr ogr2ogr -update "$ORACLE" "$WG_TMP/edges_placed.gpkg" -nln placed_edges
covers() { # covers TABLE IDFIELD -> $WG_TMP/TABLE.csv: id, wg_grid, wg_status, wg_dist_m, covers
    ogr ogr2ogr -f CSV "$WG_TMP/$1.csv" "$ORACLE" -sql \
        "SELECT p.$2 AS id, p.wg_grid AS wg_grid, p.wg_status AS wg_status, p.wg_dist_m AS wg_dist_m,
                (SELECT group_concat(code, ';') FROM (SELECT g.code AS code FROM units g
                  WHERE g.level = 'grid' AND g.valid_to IS NULL AND MbrIntersects(g.geom, p.geom)
                    AND ST_Covers(g.geom, p.geom) = 1 ORDER BY g.code)) AS covers
         FROM $1 p"
}
covers placed_inc incident_id
covers placed_edges pid

run "$PYTHON" - "$WG_TMP/placed_inc.csv" "$WG_TMP/placed_edges.csv" <<'PYEOF'
import csv, sys
bad, n = [], {"one": 0, "boundary": 0, "none": 0, "nearest0": 0}
for path in sys.argv[1:]:
    for r in csv.DictReader(open(path, newline="")):
        cov = [c for c in (r["covers"] or "").split(";") if c]
        g, st, d = r["wg_grid"], r["wg_status"], float(r["wg_dist_m"] or 0)
        if len(cov) == 1:
            n["one"] += 1
            n["nearest0"] += st == "nearest"
            if g != cov[0] or not (st == "inside" or (st == "nearest" and d < 0.01)):
                bad.append("%s: GEOS: only %s; wangge: %s %s %.3f m" % (r["id"], cov[0], g, st, d))
        elif cov:
            n["boundary"] += 1
            if g not in cov:
                bad.append("%s: GEOS: on %s; wangge: %s %s" % (r["id"], " and ".join(cov), g, st))
        else:
            n["none"] += 1
            if st == "inside":
                bad.append("%s: GEOS: in no grid; wangge: inside %s" % (r["id"], g))
print("covered by one grid: %(one)d (%(nearest0)d on the outer edge), on a shared boundary: "
      "%(boundary)d, in none: %(none)d" % n)
print("disagreements: %d" % len(bad))
for b in bad[:20]:
    print("  " + b)
sys.exit(1 if bad or n["boundary"] < 100 or n["one"] < 400 else 0)
PYEOF
cat "$OUT"
[ "$RC" = 0 ] || fail "wangge and GEOS disagree (or too few boundary points to mean anything)"
ok "wangge place agrees with GEOS covers on every point"

pass
