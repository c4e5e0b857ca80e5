#!/usr/bin/env bash
# test_roads.sh -- the road network from the command line: `wangge roads` on
# the generator's tiny county (counts as the generator says, one connected
# network) and on real OpenStreetMap (Monaco), `wangge route` (a GeoJSON
# Feature; the same time by both algorithms; no road near an end is exit 1
# with a reason), `wangge dispatch` (sorted, by role, limited), profiles
# edited and applied without re-importing, and the failure paths.
source "$(dirname "$0")/lib.sh"

# The built-in profiles are the fixture file, word for word.
expect_exit 0 "$WANGGE" roads --print-profiles
cmp -s "$OUT" "$WG_FIXTURES/profiles.default" || fail "--print-profiles differs from fixtures/profiles.default"
ok "--print-profiles is fixtures/profiles.default"

# Usage errors are 2 and touch nothing.
ws="$WG_TMP/county.sqlite"
expect_exit 2 "$WANGGE" roads
expect_exit 2 "$WANGGE" roads "$ws" a.shp b.shp
expect_exit 2 "$WANGGE" roads "$ws" --layer lines
expect_contains "$ERR" "need a SRC"
expect_exit 2 "$WANGGE" route "$ws" --from 119.4,34.1
expect_exit 2 "$WANGGE" route "$ws" --from 119.4 --to 119.5,34.1
expect_contains "$ERR" "is not LON,LAT"
expect_exit 2 "$WANGGE" route "$ws" --from 119.4,34.1 --to 119.5,34.1 --algorithm astar
expect_exit 2 "$WANGGE" route "$ws" --from 119.4,34.1 --to 119.5,34.1 --crs mars
expect_exit 2 "$WANGGE" dispatch "$ws"
expect_exit 2 "$WANGGE" dispatch "$ws" --at 119.4,34.1 --limit -3
[ ! -e "$ws" ] || fail "a usage error created $ws"
expect_exit 1 "$WANGGE" roads "$ws" roads.shp
expect_contains "$ERR" "$ws"

gen="$WG_TMP/gen"
gen_county "$gen" --scale tiny --seed 3
S="$gen/summary.json"
expect_exit 0 "$WANGGE" init "$ws"
expect_exit 0 "$WANGGE" import-grids "$ws" "$gen/admin.shp" --level-field level --parent-field parent
expect_exit 0 "$WANGGE" import-grids "$ws" "$gen/grids.shp" --level grid --parent-field parent
expect_exit 0 "$WANGGE" import-officers "$ws" "$gen/officers.csv"

# No roads yet: a clear failure.
expect_exit 1 "$WANGGE" route "$ws" --from 119.4,34.1 --to 119.5,34.1
expect_contains "$ERR" "no road network"

expect_exit 0 "$WANGGE" roads "$ws" "$gen/roads.shp" --json
cp "$OUT" "$WG_TMP/roads.json"
expect_contains "$ERR" "edges between"
py 'import json, sys
r = json.load(open(sys.argv[1])); s = json.load(open(sys.argv[2]))
assert r["kind"] == "ogr", r
assert r["edges"] == s["counts"]["roads"] == r["features"], (r["edges"], s["counts"])
assert r["nodes"] == s["road_graph"]["nodes"], (r["nodes"], s["road_graph"])
p = {x["name"]: x for x in r["profiles"]}
assert set(p) == {"car", "ebike", "walk"}, p.keys()
assert p["car"]["arcs"] == s["road_graph"]["directed_edges"], (p["car"], s["road_graph"])
assert p["walk"]["arcs"] == 2 * r["edges"], p["walk"]
for x in p.values():
    assert x["components"] == s["road_graph"]["components"] == 1 and x["island_nodes"] == 0, x
assert r["graph_bytes"] > 0' "$WG_TMP/roads.json" "$S"
ok "roads: edges, nodes, directed edges and one component, as the generator made them"
[ -s "$ws.graph" ] || fail "no $ws.graph"

# Two officers' stations, far apart: route there and back.
read -r A B < <("$PYTHON" -c 'import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["lon"]]
a = rows[0]; b = max(rows, key=lambda r: (float(r["lon"]) - float(a["lon"])) ** 2 + (float(r["lat"]) - float(a["lat"])) ** 2)
print("%s,%s %s,%s" % (a["lon"], a["lat"], b["lon"], b["lat"]))' "$gen/officers.csv")
expect_exit 0 "$WANGGE" route "$ws" --from "$A" --to "$B"
cp "$OUT" "$WG_TMP/route.json"
py 'import json, math, sys
f = json.load(open(sys.argv[1])); p = f["properties"]
a = [float(x) for x in sys.argv[2].split(",")]; b = [float(x) for x in sys.argv[3].split(",")]
assert f["type"] == "Feature" and f["geometry"]["type"] == "LineString", f["geometry"]["type"]
c = f["geometry"]["coordinates"]
assert len(c) >= 2 and abs(c[0][0] - a[0]) < 1e-6 and abs(c[-1][1] - b[1]) < 1e-6, (c[0], c[-1])
assert p["status"] == "found" and p["profile"] == "car", p
R = 6371008.8; k = math.pi / 180
d = R * math.hypot((b[0] - a[0]) * k * math.cos(a[1] * k), (b[1] - a[1]) * k)
assert p["distance_m"] >= 0.99 * d, (p["distance_m"], d)
assert 0 < p["duration_s"] < 4 * 3600 and len(p["streets"]) >= 1, p
assert abs(sum(s["distance_m"] for s in p["steps"]) + p["walk_m"] - p["distance_m"]) < 1, p' \
    "$WG_TMP/route.json" "$A" "$B"
ok "route: a LineString from A to B, no shorter than the straight line"
t_ch=$("$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["properties"]["duration_s"])' "$WG_TMP/route.json")
expect_exit 0 "$WANGGE" route "$ws" --from "$A" --to "$B" --algorithm dijkstra
t_dj=$("$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["properties"]["duration_s"])' "$OUT")
expect_eq "$t_dj" "$t_ch" "bidirectional Dijkstra's time = the hierarchy's"
expect_exit 0 "$WANGGE" route "$ws" --from "$B" --to "$A" --profile walk
expect_contains "$OUT" '"profile":	"walk"'
expect_exit 0 "$WANGGE" route "$ws" --from "$A" --to "$B" --crs gcj02
expect_exit 1 "$WANGGE" route "$ws" --from "$A" --to "$B" --profile tractor
expect_contains "$ERR" "car, ebike, walk"

# No road near an end: exit 1, a Feature without geometry, and why.
expect_exit 1 "$WANGGE" route "$ws" --from 119.0,33.0 --to "$B"
expect_contains "$OUT" '"geometry":	null'
expect_contains "$OUT" '"status":	"no_road"'
expect_contains "$ERR" "no road usable by car within 5000 m of the origin"

# Dispatch: fastest first, by role, limited.
expect_exit 0 "$WANGGE" dispatch "$ws" --at "$A" --limit 0
py 'import json, sys
d = json.load(open(sys.argv[1]))
o = d["officers"]
assert d["status"] == "found" and len(o) >= 50, (d["status"], len(o))
assert all(o[i]["eta_s"] <= o[i + 1]["eta_s"] for i in range(len(o) - 1))
assert len(o) + d["unreachable"] + d["no_road"] == d["stations"], d
assert all(k in o[0] for k in ("officer_id", "role", "grid", "eta_s", "distance_m")), o[0]' "$OUT"
ok "dispatch: every station ranked by eta"
expect_exit 0 "$WANGGE" dispatch "$ws" --at "$A" --role police --limit 3
py 'import json, sys
o = json.load(open(sys.argv[1]))["officers"]
assert len(o) == 3 and all(x["role"] == "police" for x in o), o' "$OUT"
ok "dispatch --role police --limit 3"

# Timings of many routes.
expect_exit 0 "$WANGGE" route "$ws" --bench 300
py 'import json, sys
b = json.load(open(sys.argv[1]))
assert b["routes"] == 300 and b["found"] >= 250 and b["p50_ms"] > 0, b' "$OUT"
ok "route --bench 300"

# Profiles edited and applied without importing again: cars crawl on streets.
sed -e 's/^street = 40$/street = 10/' -e 's/^arterial = 60$/arterial = 10/' \
    -e 's/^rural = 50$/rural = 10/' "$WG_FIXTURES/profiles.default" >"$WG_TMP/slow.profiles"
sed -i 's/^road_speed = replace$/road_speed = cap/' "$WG_TMP/slow.profiles"
expect_exit 0 "$WANGGE" roads "$ws" --profiles "$WG_TMP/slow.profiles"
expect_exit 0 "$WANGGE" route "$ws" --from "$A" --to "$B"
t_slow=$("$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["properties"]["duration_s"])' "$OUT")
"$PYTHON" -c 'import sys; assert float(sys.argv[1]) > 1.5 * float(sys.argv[2]), sys.argv[1:]' "$t_slow" "$t_ch" ||
    fail "slower profiles: $t_slow s is not slower than $t_ch s"
ok "edited profiles applied by a rebuild ($t_ch s -> $t_slow s)"
printf '[car]\nmode = boat\n' >"$WG_TMP/bad.profiles"
expect_exit 1 "$WANGGE" roads "$ws" --profiles "$WG_TMP/bad.profiles"
expect_contains "$ERR" "bad.profiles:2: mode 'boat'"

# A failed import leaves the network as it was; a lost graph file is rebuilt.
expect_exit 1 "$WANGGE" roads "$ws" "$WG_TMP/no-such-roads.shp"
expect_exit 0 "$WANGGE" route "$ws" --from "$A" --to "$B"
expect_contains "$OUT" "\"duration_s\":	$t_slow"
rm "$ws.graph"
expect_exit 0 "$WANGGE" route "$ws" --from "$A" --to "$B"
expect_contains "$OUT" "\"duration_s\":	$t_slow"
expect_contains "$ERR" "rebuilt in memory"
expect_exit 0 "$WANGGE" roads "$ws"
[ -s "$ws.graph" ] || fail "wangge roads WS did not write $ws.graph again"
expect_exit 0 "$WANGGE" route "$ws" --from "$A" --to "$B"
expect_not_contains "$ERR" "rebuilt in memory"
expect_exit 0 "$WANGGE" info "$ws"

# Real OpenStreetMap: Monaco.
osm="$WG_TMP/monaco.sqlite"
expect_exit 0 "$WANGGE" init "$osm" --crs EPSG:32632
expect_exit 0 "$WANGGE" roads "$osm" "$WG_FIXTURES/osm/monaco_2016-03-05.osm.pbf" --json
py 'import json, sys
r = json.load(open(sys.argv[1]))
p = {x["name"]: x for x in r["profiles"]}
assert r["kind"] == "osm" and r["edges"] > 5000 and r["nodes"] > 3000, r
assert p["car"]["arcs"] < p["walk"]["arcs"], p' "$OUT"
ok "Monaco imported from .osm.pbf"
expect_exit 0 "$WANGGE" route "$osm" --from 7.4163,43.7314 --to 7.4280,43.7396
expect_contains "$OUT" '"status":	"found"'
expect_exit 0 "$WANGGE" route "$osm" --from 7.4163,43.7314 --to 7.4280,43.7396 --profile walk

pass
