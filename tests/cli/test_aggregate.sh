#!/usr/bin/env bash
# test_aggregate.sh -- `wangge aggregate` on the generator's tiny county:
# per-grid and per-village counts (total, per category, open, overdue)
# equal to independent SQL counts on the workspace; hexagons clipped to the
# county whose counts equal a spatial count of the incidents inside each
# (SpatiaLite through GDAL, not wangge), sum to the incidents inside the
# county, and whose areas sum to the county's area; GDAL reopens every
# output; the style (.qml beside a file, layer_styles in a GeoPackage)
# parses as XML with the quantile ranges recomputed here; Shapefiles get a
# .cpg; usage errors (exit 2) and failures (exit 1) leave nothing behind.
source "$(dirname "$0")/lib.sh"
for tool in ogrinfo ogr2ogr; do
    command -v "$tool" >/dev/null || fail "$tool (gdal-bin) missing"
done

gen="$WG_TMP/gen"
gen_county "$gen" --scale tiny --seed 3
ws="$WG_TMP/county.sqlite"
expect_exit 0 "$WANGGE" init "$ws"
expect_exit 0 "$WANGGE" import-grids "$ws" "$gen/admin.shp" --level-field level --parent-field parent
expect_exit 0 "$WANGGE" import-grids "$ws" "$gen/grids.shp" --level grid --parent-field parent
expect_exit 0 "$WANGGE" place "$ws" "$gen/incidents.csv" -o "$WG_TMP/placed.csv" --crs-field crs --store
# a lifecycle to count: some closed, deadlines before and after the --at time
expect_exit 0 ogrinfo -q "$ws" -sql "UPDATE incidents SET status = CASE WHEN id % 7 = 0 THEN 'closed' WHEN id % 7 = 1 THEN 'assigned' ELSE status END, deadline = CASE WHEN id % 3 = 0 THEN '2025-03-01T00:00:00Z' WHEN id % 3 = 1 THEN '2025-09-01T08:00:00Z' END"
epsg=$("$PYTHON" -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT value FROM wg_meta WHERE key = \"metric_epsg\"").fetchone()[0])' "$ws" 2>/dev/null || echo 4549)
mkdir -p "$WG_TMP/out"

# sqlq SQL -- rows of an SQL query on the workspace (SpatiaLite via GDAL), as JSON lines
sqlq() {
    ogr2ogr -q -f GeoJSONSeq /vsistdout/ "$ws" -sql "$1" | "$PYTHON" -c 'import json, sys
for l in sys.stdin:
    l = l.strip().lstrip("\x1e")
    if l: print(json.dumps(json.loads(l)["properties"], ensure_ascii=False))'
}

# ---- by grid, into a GeoPackage ------------------------------------------------
gpkg="$WG_TMP/out/grids.gpkg"
expect_exit 0 "$WANGGE" aggregate "$ws" --by grid --at 2025-06-01 -o "$gpkg" --json
cp "$OUT" "$WG_TMP/grid.json"
expect_contains "$ERR" "aggregate by grid:"
sqlq "SELECT grid_code AS code, count(*) AS n, sum(status IS NULL OR status <> 'closed') AS open,
             sum((status IS NULL OR status <> 'closed') AND (deadline < '2025-06-01' OR
                 (coalesce(status, 'reported') IN ('reported', 'accepted') AND
                  dispatch_deadline < '2025-06-01'))) AS overdue
      FROM incidents WHERE grid_code IS NOT NULL GROUP BY grid_code" >"$WG_TMP/oracle_grid.jsonl"
sqlq "SELECT grid_code AS code, category AS cat, count(*) AS n FROM incidents
      WHERE grid_code IS NOT NULL GROUP BY grid_code, category" >"$WG_TMP/oracle_grid_cat.jsonl"
sqlq "SELECT code FROM units WHERE level = 'grid' AND valid_to IS NULL" >"$WG_TMP/grid_units.jsonl"
ogr2ogr -q -f GeoJSON "$WG_TMP/grids_back.geojson" "$gpkg" grids || fail "GDAL cannot reopen $gpkg"
ok "GDAL reopens the GeoPackage"
py 'import json, sys
summary = json.load(open(sys.argv[1]))
feats = json.load(open(sys.argv[2], encoding="utf-8"))["features"]
oracle = {r["code"]: r for r in map(json.loads, open(sys.argv[3], encoding="utf-8"))}
cats = {}
for r in map(json.loads, open(sys.argv[4], encoding="utf-8")):
    cats.setdefault(r["code"], {})[r["cat"]] = r["n"]
units = {json.loads(l)["code"] for l in open(sys.argv[5])}
got = {f["properties"]["code"]: f["properties"] for f in feats}
assert set(got) == units, (set(got) ^ units)
assert summary["units"] == len(units), summary
field = {c["field"]: c["category"] for c in summary["categories"]}
assert all(f.startswith("n_") for f in field), field
checked = 0
for code, p in got.items():
    o = oracle.get(code, {"n": 0, "open": 0, "overdue": 0})
    assert (p["count"], p["open"], p["overdue"]) == (o["n"], o["open"], o["overdue"]), (code, p, o)
    for f, cat in field.items():
        assert p[f] == cats.get(code, {}).get(cat, 0), (code, f, p[f])
    assert abs(p["count_km2"] - p["count"] / p["area_km2"]) < 1e-9 * max(1, p["count_km2"]), p
    checked += 1
assert sum(p["overdue"] for p in got.values()) > 0 and sum(p["open"] for p in got.values()) < sum(p["count"] for p in got.values())
print(checked, "grids checked")' "$WG_TMP/grid.json" "$WG_TMP/grids_back.geojson" "$WG_TMP/oracle_grid.jsonl" \
    "$WG_TMP/oracle_grid_cat.jsonl" "$WG_TMP/grid_units.jsonl"
ok "per grid: count, open, overdue and every category equal the SQL counts"

# the style, in QGIS's layer_styles table
sqlstyle() { ogr2ogr -q -f GeoJSONSeq /vsistdout/ "$gpkg" -sql "$1"; }
sqlstyle "SELECT f_table_name, f_geometry_column, styleName, styleQML, useAsDefault, f_table_schema FROM layer_styles" >"$WG_TMP/styles.jsonl"
# check_qml QML_FILE SUMMARY_JSON VALUES_GEOJSON -- ranges parse and follow the recomputed quantiles
check_qml='import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
summary = json.load(open(sys.argv[2]))
feats = json.load(open(sys.argv[3], encoding="utf-8"))["features"]
r = root.find("renderer-v2")
assert root.tag == "qgis" and r.get("type") == "graduatedSymbol" and r.get("attr") == "count_km2"
ranges = r.findall("ranges/range")
symbols = r.findall("symbols/symbol")
v = sorted(f["properties"]["count_km2"] for f in feats)
k, n = 5, len(v)
breaks = [v[0]]
for i in range(1, k + 1):
    if i < k:
        pos = (n - 1) * i / k
        j = int(pos)
        b = v[j] + (pos - j) * (v[j + 1] - v[j]) if j + 1 < n else v[j]
    else:
        b = v[-1]
    if b > breaks[-1]:
        breaks.append(b)
if len(breaks) == 1:
    breaks.append(v[-1])
assert len(ranges) == len(breaks) - 1 == summary["classes"] == len(symbols), (len(ranges), breaks, summary["classes"])
for i, rg in enumerate(ranges):
    lo, hi = float(rg.get("lower")), float(rg.get("upper"))
    assert abs(lo - breaks[i]) <= 1e-9 * max(1, hi) and abs(hi - breaks[i + 1]) <= 1e-9 * max(1, hi), (i, lo, hi, breaks)
colours = [s.find("layer/prop[@k=\"color\"]").get("v") for s in symbols]
assert len(set(colours)) == len(colours), colours
for f in feats:
    p = f["properties"]
    c = p["class"]
    lo, hi = breaks[c - 1], breaks[c]
    assert (lo < p["count_km2"] or c == 1) and p["count_km2"] <= hi + 1e-9, (p, breaks)
print(len(ranges), "ranges")'
py 'import json, sys
rows = [json.loads(l.lstrip("\x1e"))["properties"] for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
assert len(rows) == 1, rows
r = rows[0]
assert (r["f_table_name"], r["f_geometry_column"], r["useAsDefault"], r["f_table_schema"]) == ("grids", "geom", 1, ""), r
open(sys.argv[2], "w", encoding="utf-8").write(r["styleQML"])' "$WG_TMP/styles.jsonl" "$WG_TMP/grids_style.qml"
ok "layer_styles has the layer's default style"
py "$check_qml" "$WG_TMP/grids_style.qml" "$WG_TMP/grid.json" "$WG_TMP/grids_back.geojson"
ok "the stored QML parses and has the quantile ranges of count_km2"

# ---- by village, filtered, into GeoJSON ------------------------------------------
vj="$WG_TMP/out/villages.geojson"
cat=$(sqlq "SELECT category FROM incidents GROUP BY category ORDER BY count(*) DESC LIMIT 1" |
      "$PYTHON" -c 'import json, sys; print(json.loads(sys.stdin.readline())["category"])')
expect_exit 0 "$WANGGE" aggregate "$ws" --by village --from 2025-03-01 --to 2025-08-31 --category "$cat" -o "$vj" --json
cp "$OUT" "$WG_TMP/village.json"
sqlq "SELECT village_code AS code, count(*) AS n FROM incidents WHERE village_code IS NOT NULL
      AND substr(reported_at, 1, 10) BETWEEN '2025-03-01' AND '2025-08-31' AND category = '$cat'
      GROUP BY village_code" >"$WG_TMP/oracle_village.jsonl"
py 'import json, sys
summary = json.load(open(sys.argv[1]))
feats = json.load(open(sys.argv[2], encoding="utf-8"))["features"]
oracle = {r["code"]: r["n"] for r in map(json.loads, open(sys.argv[3], encoding="utf-8"))}
assert sum(oracle.values()) > 0
for f in feats:
    p = f["properties"]
    assert p["level"] == "village" and p["count"] == oracle.get(p["code"], 0), (p, oracle.get(p["code"]))
    assert p["name"], p
assert summary["counted"] == sum(oracle.values()) and len(summary["categories"]) == 1, summary
print(len(feats), "villages")' "$WG_TMP/village.json" "$vj" "$WG_TMP/oracle_village.jsonl"
ok "per village, one category in a date window: counts equal the SQL counts"
[ -f "$WG_TMP/out/villages.qml" ] || fail "no villages.qml beside the GeoJSON"
py "$check_qml" "$WG_TMP/out/villages.qml" "$WG_TMP/village.json" "$vj"
ok "villages.qml parses and has the quantile ranges"

# ---- hexagons -----------------------------------------------------------------
hj="$WG_TMP/out/hex.geojson"
expect_exit 0 "$WANGGE" aggregate "$ws" --by hex:250 -o "$hj" --json
cp "$OUT" "$WG_TMP/hex.json"
inside=$(sqlq "SELECT count(*) AS n FROM incidents i, units u WHERE u.level = 'county' AND u.valid_to IS NULL
               AND ST_Intersects(u.geom, i.geom)" | "$PYTHON" -c 'import json, sys; print(json.loads(sys.stdin.readline())["n"])')
county_m2=$(sqlq "SELECT sum(ST_Area(ST_Transform(geom, $epsg))) AS a FROM units WHERE level = 'county' AND valid_to IS NULL" |
            "$PYTHON" -c 'import json, sys; print(json.loads(sys.stdin.readline())["a"])')
hex_m2=$(ogr2ogr -q -f GeoJSONSeq /vsistdout/ "$hj" -dialect SQLite -sql \
         "SELECT sum(ST_Area(ST_Transform(SetSRID(geometry, 4326), $epsg))) AS a, max(ST_Area(ST_Transform(SetSRID(geometry, 4326), $epsg))) AS mx FROM hex" |
         "$PYTHON" -c 'import json, sys; p = json.loads(sys.stdin.readline().lstrip("\x1e"))["properties"]; print(p["a"], p["mx"])')
py 'import json, sys, math
summary = json.load(open(sys.argv[1]))
feats = json.load(open(sys.argv[2], encoding="utf-8"))["features"]
inside, county, hexsum, hexmax = int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
total = sum(f["properties"]["count"] for f in feats)
assert total == inside == summary["counted"], (total, inside, summary["counted"])
assert abs(hexsum - county) <= 1e-6 * county, (hexsum, county)
full = 1.5 * math.sqrt(3) * 250 ** 2
assert hexmax <= full * (1 + 1e-6) and abs(hexmax - full) < 1e-3 * full, (hexmax, full)
codes = [f["properties"]["code"] for f in feats]
assert len(set(codes)) == len(codes) and all(c.startswith("H") for c in codes)
print(len(feats), "hexagons,", total, "incidents, areas", hexsum, county)' \
    "$WG_TMP/hex.json" "$hj" "$inside" "$county_m2" $hex_m2
ok "hexagons: counts sum to the incidents inside the county, areas to the county's area"
# per hexagon, a spatial count by SpatiaLite on a copy of the workspace
cp "$ws" "$WG_TMP/copy.sqlite"
ogr2ogr -q -update "$WG_TMP/copy.sqlite" "$hj" -nln hexes -nlt MULTIPOLYGON || fail "cannot copy the hexagons"
ogr2ogr -q -f GeoJSONSeq /vsistdout/ "$WG_TMP/copy.sqlite" -sql \
    "SELECT h.code AS code, h.count AS got, (SELECT count(*) FROM incidents i WHERE ST_Intersects(h.GEOMETRY, i.geom)) AS want FROM hexes h" \
    >"$WG_TMP/hexcheck.jsonl" || fail "spatial oracle failed"
py 'import json, sys
rows = [json.loads(l.lstrip("\x1e"))["properties"] for l in open(sys.argv[1]) if l.strip()]
bad = [r for r in rows if r["got"] != r["want"]]
assert rows and not bad, bad[:5]
print(len(rows), "hexagons agree")' "$WG_TMP/hexcheck.jsonl"
ok "every hexagon's count equals SpatiaLite's count of the incidents inside it"
py "$check_qml" "$WG_TMP/out/hex.qml" "$WG_TMP/hex.json" "$hj"
ok "hex.qml parses and has the quantile ranges"

# ---- Shapefile: .cpg, .qml, cat_NN columns --------------------------------------
shp="$WG_TMP/out/towns.shp"
expect_exit 0 "$WANGGE" aggregate "$ws" --by town -o "$shp" --json
for ext in shp dbf shx prj cpg qml; do
    [ -f "$WG_TMP/out/towns.$ext" ] || fail "no towns.$ext"
done
expect_exit 0 ogrinfo -q "$shp" towns -fid 0
expect_contains "$OUT" "cat_01 (Integer64)"
name=$(sqlq "SELECT name FROM units WHERE level = 'town' AND valid_to IS NULL ORDER BY code LIMIT 1" |
       "$PYTHON" -c 'import json, sys; print(json.loads(sys.stdin.readline())["name"])')
expect_exit 0 ogrinfo -q "$shp" -where "name = '$name'" towns
expect_contains "$OUT" "name (String) = $name"

# ---- errors -----------------------------------------------------------------------
expect_exit 2 "$WANGGE" aggregate "$ws" --by county -o "$WG_TMP/out/x.gpkg"
expect_exit 2 "$WANGGE" aggregate "$ws" --by hex:0 -o "$WG_TMP/out/x.gpkg"
expect_exit 2 "$WANGGE" aggregate "$ws" --by grid --at yesterday -o "$WG_TMP/out/x.gpkg"
expect_exit 2 "$WANGGE" aggregate "$ws" --by grid
expect_exit 1 "$WANGGE" aggregate "$ws" --by micro -o "$WG_TMP/out/micro.gpkg"
expect_contains "$ERR" "no current micro units"
expect_exit 1 "$WANGGE" aggregate "$ws" --by hex:0.5e9 -o "$WG_TMP/out/x.txt"
[ ! -e "$WG_TMP/out/micro.gpkg" ] && [ -z "$(ls -A "$WG_TMP/out" | grep -e '^\.' || true)" ] ||
    fail "a failed aggregate left files behind: $(ls -A "$WG_TMP/out")"
ok "failures leave nothing behind"
expect_exit 0 "$WANGGE" aggregate --help
expect_contains "$OUT" "hex:SIZE_M"
pass
