#!/usr/bin/env bash
# test_isochrone.sh -- service areas from the command line on the
# generator's tiny county: `wangge isochrone` (one feature per contour,
# nested, --lines with start/end times inside the largest contour, origins
# from a CSV merged, --reverse, decimal minutes; no road near = exit 1 with
# a reason) and `wangge coverage` (one feature per grid, the printed summary
# agreeing with the features, incidents counted, --rule, --officers --role,
# uncovered parts), and the usage errors.
source "$(dirname "$0")/lib.sh"

ws="$WG_TMP/county.sqlite"
expect_exit 2 "$WANGGE" isochrone "$ws" --minutes 10 -o x.geojson
expect_exit 2 "$WANGGE" isochrone "$ws" --from 119.4,34.1 -o x.geojson
expect_exit 2 "$WANGGE" isochrone "$ws" --from 119.4,34.1 --minutes 0 -o x.geojson
expect_exit 2 "$WANGGE" isochrone "$ws" --from 119.4 --minutes 10 -o x.geojson
expect_contains "$ERR" "is not LON,LAT"
expect_exit 2 "$WANGGE" coverage "$ws" -o x.geojson
expect_exit 2 "$WANGGE" coverage "$ws" --officers --origins o.csv -o x.geojson
expect_exit 2 "$WANGGE" coverage "$ws" --officers --minutes 10 --rule town:10 -o x.geojson
expect_exit 2 "$WANGGE" coverage "$ws" --origins o.csv --role police -o x.geojson
[ ! -e "$ws" ] || fail "a usage error created $ws"
ok "usage errors are exit 2"

gen="$WG_TMP/gen"
gen_county "$gen" --scale tiny --seed 3
expect_exit 0 "$WANGGE" init "$ws"
expect_exit 0 "$WANGGE" import-grids "$ws" "$gen/admin.shp" --level-field level --parent-field parent
expect_exit 0 "$WANGGE" import-grids "$ws" "$gen/grids.shp" --level grid --parent-field parent
expect_exit 0 "$WANGGE" import-officers "$ws" "$gen/officers.csv"
expect_exit 0 "$WANGGE" place "$ws" "$gen/incidents.csv" -o "$WG_TMP/placed.csv" --crs-field crs --store
expect_exit 0 "$WANGGE" roads "$ws" "$gen/roads.shp"

# two officers' stations as origins
py 'import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1], encoding="utf-8")) if r.get("lon")]
with open(sys.argv[2], "w") as f:
    f.write("id,lon,lat\n")
    for r in (rows[0], rows[len(rows) // 2]):
        f.write("%s,%s,%s\n" % (r["officer_id"], r["lon"], r["lat"]))' "$gen/officers.csv" "$WG_TMP/origins.csv"
o1=$(sed -n 2p "$WG_TMP/origins.csv" | cut -d, -f2,3)

expect_exit 0 "$WANGGE" isochrone "$ws" --from "$o1" --minutes 2.5,10,5 -o "$WG_TMP/iso.geojson" \
    --lines "$WG_TMP/lines.geojson" --json
cp "$OUT" "$WG_TMP/iso.json"
py 'import json, sys
j = json.load(open(sys.argv[1])); fc = json.load(open(sys.argv[2])); ln = json.load(open(sys.argv[3]))
c = j["contours"]
assert [x["minutes"] for x in c] == [2.5, 5, 10], c
assert c[0]["area_m2"] < c[1]["area_m2"] < c[2]["area_m2"], c
assert c[0]["nodes"] <= c[1]["nodes"] <= c[2]["nodes"] and c[0]["nodes"] > 0, c
f = fc["features"]
assert len(f) == 3 and [x["properties"]["minutes"] for x in f] == [10, 5, 2.5], [x["properties"] for x in f]
assert all(x["geometry"]["type"] == "MultiPolygon" for x in f)
L = ln["features"]
assert len(L) == j["pieces"] > 0
for x in L:
    p = x["properties"]
    assert 0 <= p["start_min"] <= p["end_min"] <= 10 + 1e-6, p
assert any(abs(x["properties"]["end_min"] - 10) < 1e-3 for x in L), "no frontier piece"
# RFC 7946 right-hand rule: shells counter-clockwise, holes clockwise
sa = lambda r: sum(r[i][0] * r[i + 1][1] - r[i + 1][0] * r[i][1] for i in range(len(r) - 1))
for x in f:
    for poly in x["geometry"]["coordinates"]:
        assert sa(poly[0]) > 0 and all(sa(h) < 0 for h in poly[1:]), "ring orientation"' \
    "$WG_TMP/iso.json" "$WG_TMP/iso.geojson" "$WG_TMP/lines.geojson"
ok "isochrone: three nested contours, largest first in the file, pieces with times, frontier included"

# the same files from one thread and from three (the work is split among them)
expect_exit 0 "$WANGGE" isochrone "$ws" --from "$o1" --minutes 2.5,10,5 -o "$WG_TMP/iso_t1.geojson" \
    --lines "$WG_TMP/lines_t1.geojson" --threads 1
expect_exit 0 "$WANGGE" isochrone "$ws" --from "$o1" --minutes 2.5,10,5 -o "$WG_TMP/iso_t3.geojson" \
    --lines "$WG_TMP/lines_t3.geojson" --threads 3
cmp -s "$WG_TMP/iso_t1.geojson" "$WG_TMP/iso_t3.geojson" || fail "contours differ between 1 and 3 threads"
cmp -s "$WG_TMP/lines_t1.geojson" "$WG_TMP/lines_t3.geojson" || fail "pieces differ between 1 and 3 threads"
cmp -s "$WG_TMP/iso_t1.geojson" "$WG_TMP/iso.geojson" || fail "contours differ between 1 thread and the default"
expect_exit 2 "$WANGGE" isochrone "$ws" --from "$o1" --minutes 10 -o "$WG_TMP/x.geojson" --threads 0
ok "isochrone: --threads 1, 3 and the default write the same bytes; --threads 0 refused"

# the pieces lie inside the largest contour (a point in the middle of each)
if python3 -c 'import shapely' 2>/dev/null; then
    py 'import json, sys
from shapely.geometry import shape, Point
poly = shape(json.load(open(sys.argv[1]))["features"][0]["geometry"])
for x in json.load(open(sys.argv[2]))["features"]:
    c = x["geometry"]["coordinates"]; m = c[len(c) // 2]
    assert poly.buffer(1e-7).contains(Point(m)), m' "$WG_TMP/iso.geojson" "$WG_TMP/lines.geojson"
    ok "every reached piece lies inside the 10-minute polygon"
fi

# merged origins cover at least what one does; reverse works; GeoPackage out
expect_exit 0 "$WANGGE" isochrone "$ws" --origins "$WG_TMP/origins.csv" --minutes 10 -o "$WG_TMP/iso2.gpkg" --json
py 'import json, sys
a = json.load(open(sys.argv[1]))["contours"][-1]; b = json.loads(open(sys.argv[2]).read())["contours"][0]
assert b["area_m2"] >= a["area_m2"] and b["nodes"] >= a["nodes"], (a, b)' "$WG_TMP/iso.json" "$OUT"
[ -s "$WG_TMP/iso2.gpkg" ] || fail "no GeoPackage written"
expect_exit 0 "$WANGGE" isochrone "$ws" --from "$o1" --minutes 10 --reverse --profile walk -o "$WG_TMP/rev.geojson"
expect_contains "$OUT" "10 min:"
ok "isochrone: origins merged from a CSV, GeoPackage output, --reverse"

# no road near: a clear answer, exit 1, nothing written
expect_exit 1 "$WANGGE" isochrone "$ws" --from 100.0,20.0 --minutes 10 -o "$WG_TMP/none.geojson"
expect_contains "$ERR" "no origin has a road"
[ ! -e "$WG_TMP/none.geojson" ] || fail "an empty service area was written"
ok "isochrone: no road near the origin is exit 1 with a reason"

# coverage from the officers' stations
expect_exit 0 "$WANGGE" coverage "$ws" --officers --minutes 10 -o "$WG_TMP/cov.geojson" \
    --uncovered "$WG_TMP/uncov.geojson"
expect_contains "$OUT" "grids fully covered"
line=$(head -1 "$OUT")
py 'import json, re, sys
m = re.match(r"(\d+) of (\d+) grids fully covered", sys.argv[2]); assert m, sys.argv[2]
f = json.load(open(sys.argv[1]))["features"]
assert int(m.group(2)) == len(f) > 0
full = [x for x in f if x["properties"]["status"] == "full"]
assert int(m.group(1)) == len(full), (m.group(1), len(full))
inc = 0
for x in f:
    p = x["properties"]
    assert 0 <= p["area_share"] <= 1 and p["covered_m2"] <= p["area_m2"] + 0.1, p
    assert p["incidents_in"] <= p["incidents"], p
    if p["status"] == "full": assert p["area_m2"] - p["covered_m2"] < 1.1, p
    if p.get("worst_min") is not None: assert p["worst_min"] >= 0 and p["unreached_nodes"] == 0, p
    inc += p["incidents"]
assert inc > 0, "no incidents counted"
u = json.load(open(sys.argv[3]))["features"]
assert len(u) == len(f) - len(full), (len(u), len(f), len(full))' "$WG_TMP/cov.geojson" "$line" "$WG_TMP/uncov.geojson"
ok "coverage: one feature per grid, summary agrees, incidents counted, uncovered parts"

expect_exit 0 "$WANGGE" coverage "$ws" --officers --role grid_worker --rule 'town:10,village:30,*:20' \
    -o "$WG_TMP/cov2.shp" --json
py 'import json, sys
j = json.loads(open(sys.argv[1]).read())
assert j["grids"] == j["full"] + j["partial"] + j["none"] > 0, j' "$OUT"
[ -s "$WG_TMP/cov2.shp" ] && [ -s "$WG_TMP/cov2.dbf" ] || fail "no Shapefile written"
expect_exit 1 "$WANGGE" coverage "$ws" --officers --rule 'school:10' -o "$WG_TMP/cov3.geojson"
expect_contains "$ERR" "no rule key matches grid"
expect_exit 1 "$WANGGE" coverage "$ws" --officers --role nobody -o "$WG_TMP/cov3.geojson"
expect_contains "$ERR" "no officer with role nobody"
[ ! -e "$WG_TMP/cov3.geojson" ] || fail "a failed coverage left a file"
ok "coverage: --rule, --role, Shapefile output, failures leave no file"

pass
