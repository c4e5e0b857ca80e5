#!/usr/bin/env bash
# test_onemap.sh -- `wangge onemap` on the generator's tiny county with a road
# graph: GDAL reopens every output; each layer's feature count equals the
# workspace's count (SQL on the workspace, not wangge) in the GeoPackage, its
# GeoJSON copy and the JSON summary; GeoJSON is RFC 7946 (WGS84, lon first,
# no crs member); the MBTiles has tiles at its min and max zoom, each layer in
# the zooms of the tile plan (micro-grids absent at minzoom), and its grids
# layer carries each grid's incident count (SQL oracle) and coverage status;
# a Chinese name reads back intact from the GeoPackage, the GeoJSON and
# (ogrinfo) the MBTiles; every layer has its style in layer_styles; a failure half-way
# leaves the previous bundle untouched and no staging folder behind.
source "$(dirname "$0")/lib.sh"
for tool in ogrinfo ogr2ogr gdalinfo; do
    command -v "$tool" >/dev/null || fail "$tool (gdal-bin) missing"
done

gen="$WG_TMP/gen"
gen_county "$gen" --scale tiny --seed 5
ws="$WG_TMP/county.sqlite"
expect_exit 0 "$WANGGE" init "$ws"
expect_exit 0 "$WANGGE" import-grids "$ws" "$gen/admin.shp" --level-field level --parent-field parent
expect_exit 0 "$WANGGE" import-grids "$ws" "$gen/grids.shp" --level grid --parent-field parent
expect_exit 0 "$WANGGE" import-grids "$ws" "$gen/micro.shp" --level micro
expect_exit 0 "$WANGGE" import-grids "$ws" "$gen/exclusive.shp" --level exclusive --kind-field kind
expect_exit 0 "$WANGGE" import-officers "$ws" "$gen/officers.csv"
expect_exit 0 "$WANGGE" place "$ws" "$gen/incidents.csv" -o "$WG_TMP/placed.csv" --crs-field crs --store
expect_exit 0 "$WANGGE" roads "$ws" "$gen/roads.shp"

dir="$WG_TMP/out/bundle"
mkdir -p "$WG_TMP/out"
expect_exit 0 "$WANGGE" onemap "$ws" -o "$dir"
cp "$OUT" "$WG_TMP/summary.json"
expect_contains "$ERR" "onemap: 12 layers"

# the workspace's own counts, by SQL
"$PYTHON" - "$ws" >"$WG_TMP/ws_counts.json" <<'PYEOF'
import json, sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
q = lambda sql: db.execute(sql).fetchone()[0]
unit = lambda lv: q("SELECT count(*) FROM units WHERE valid_to IS NULL AND level = '%s'" % lv)
print(json.dumps({"county": unit("county"), "towns": unit("town"), "villages": unit("village"),
                  "grids": unit("grid"), "micro": unit("micro"), "exclusive": unit("exclusive"),
                  "officers": q("SELECT count(*) FROM officers WHERE geom IS NOT NULL"),
                  "incidents": q("SELECT count(*) FROM incidents WHERE geom IS NOT NULL"),
                  "grid_stats": unit("grid"), "coverage": unit("grid"),
                  "town_name": q("SELECT name FROM units WHERE level = 'town' AND valid_to IS NULL ORDER BY code LIMIT 1"),
                  "town_code": q("SELECT code FROM units WHERE level = 'town' AND valid_to IS NULL ORDER BY code LIMIT 1")},
                 ensure_ascii=False))
PYEOF
py 'import json, sys
s, w = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
layers = {l["name"]: l for l in s["layers"]}
want = ["county", "towns", "villages", "grids", "micro", "exclusive", "officers", "incidents",
        "grid_stats", "service_areas", "coverage", "coverage_gaps"]
assert list(layers) == want, list(layers)
for name in want:
    if name in w:
        assert layers[name]["features"] == w[name] > 0, (name, layers[name], w[name])
assert layers["service_areas"]["features"] == 2 and s["road_graph"] is True, s
untiled = {"service_areas", "coverage_gaps", "incidents", "grid_stats", "coverage"}
assert all(l["tiled"] == (n not in untiled) for n, l in layers.items()), layers
# the zoom plan: every tiled layer down to maxzoom; fine layers start deeper
zmin, zmax = s["mbtiles"]["minzoom"], s["mbtiles"]["maxzoom"]
first = {"county": zmin, "towns": zmin, "villages": min(zmin + 2, zmax), "grids": min(zmin + 2, zmax),
         "micro": max(zmin, zmax - 2), "exclusive": max(zmin, zmax - 2), "officers": max(zmin, zmax - 2)}
assert {n: (l["minzoom"], l["maxzoom"]) for n, l in layers.items() if l["tiled"]} == \
    {n: (z, zmax) for n, z in first.items()}, layers
assert s["phases"]["copies"] >= 0 and s["cpu_seconds"] > 0, s
assert s["mbtiles"]["tiles_minzoom"] > 0 and s["mbtiles"]["tiles_maxzoom"] > 0, s["mbtiles"]
assert s["heatmap"]["points"] == w["incidents"], s["heatmap"]' "$WG_TMP/summary.json" "$WG_TMP/ws_counts.json"
ok "JSON summary: 12 layers whose counts equal the workspace's"

# ---- the GeoPackage, reopened by GDAL ---------------------------------------------
gpkg="$dir/onemap.gpkg"
expect_exit 0 ogrinfo -so -al "$gpkg"
cp "$OUT" "$WG_TMP/gpkg_info.txt"
py 'import json, re, sys
s, info = json.load(open(sys.argv[1])), open(sys.argv[2], encoding="utf-8").read()
got = dict(re.findall(r"Layer name: (\w+)\n(?:.*\n)*?Feature Count: (\d+)", info))
for l in s["layers"]:
    assert int(got[l["name"]]) == l["features"], (l, got.get(l["name"]))
assert int(got["layer_styles"]) == len(s["layers"]), got["layer_styles"]' "$WG_TMP/summary.json" "$WG_TMP/gpkg_info.txt"
ok "GDAL reopens onemap.gpkg: every layer's count as reported, one style per layer"
ogr2ogr -q -f GeoJSONSeq /vsistdout/ "$gpkg" -sql "SELECT f_table_name, styleQML FROM layer_styles" >"$WG_TMP/styles.jsonl"
py 'import json, sys, xml.etree.ElementTree as ET
rows = [json.loads(l.lstrip("\x1e"))["properties"] for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
for r in rows:
    q = ET.fromstring(r["styleQML"].split("\n", 1)[1])
    assert q.tag == "qgis" and q.find("renderer-v2") is not None, r["f_table_name"]
kinds = {r["f_table_name"]: ET.fromstring(r["styleQML"].split("\n", 1)[1]).find("renderer-v2").get("type") for r in rows}
assert kinds["grid_stats"] == "graduatedSymbol" and kinds["coverage"] == "categorizedSymbol" and kinds["grids"] == "singleSymbol", kinds' "$WG_TMP/styles.jsonl"
ok "every stored style parses as QML"
town_name=$("$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["town_name"])' "$WG_TMP/ws_counts.json")
town_code=$("$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["town_code"])' "$WG_TMP/ws_counts.json")
expect_exit 0 ogrinfo -q "$gpkg" towns -where "code = '$town_code'"
expect_contains "$OUT" "name (String) = $town_name"

# ---- GeoJSON copies: RFC 7946 ---------------------------------------------------------
py 'import json, sys, os
s = json.load(open(sys.argv[1]))
for l in s["layers"]:
    d = json.load(open(l["geojson"], encoding="utf-8"))
    assert "crs" not in d and len(d["features"]) == l["features"], l
    for f in d["features"][:50]:
        c = f["geometry"]["coordinates"]
        while isinstance(c[0], list):
            c = c[0]
        assert 119 < c[0] < 120 and 34 < c[1] < 35, (l["name"], c)
towns = json.load(open(os.path.join(os.path.dirname(s["layers"][1]["geojson"]), "towns.geojson"), encoding="utf-8"))
assert sys.argv[2] in [f["properties"]["name"] for f in towns["features"]], sys.argv[2]' "$WG_TMP/summary.json" "$town_name"
ok "GeoJSON copies: counts, no crs member, lon first, Chinese names intact"
expect_exit 0 ogrinfo -so "$dir/geojson/grids.geojson" grids
expect_contains "$OUT" 'ID["EPSG",4326]'

# ---- MBTiles ------------------------------------------------------------------------
py 'import json, sqlite3, sys
s = json.load(open(sys.argv[1]))
db = sqlite3.connect(sys.argv[2])
meta = dict(db.execute("SELECT name, value FROM metadata"))
zmin, zmax = s["mbtiles"]["minzoom"], s["mbtiles"]["maxzoom"]
assert (int(meta["minzoom"]), int(meta["maxzoom"])) == (zmin, zmax) and meta["format"] == "pbf", meta
n = dict(db.execute("SELECT zoom_level, count(*) FROM tiles GROUP BY zoom_level"))
assert n.get(zmin, 0) > 0 and n.get(zmax, 0) > 0 and n[zmin] == s["mbtiles"]["tiles_minzoom"], n
layers = {l["id"]: (l["minzoom"], l["maxzoom"]) for l in json.loads(meta["json"])["vector_layers"]}
assert layers == {l["name"]: (l["minzoom"], l["maxzoom"]) for l in s["layers"] if l["tiled"]}, layers
print("tiles per zoom", n)' "$WG_TMP/summary.json" "$dir/onemap.mbtiles"
ok "MBTiles: tiles at the min and the max zoom, every tiled layer listed"
expect_exit 0 ogrinfo -q "$dir/onemap.mbtiles" towns
expect_contains "$OUT" "name (String) = $town_name"
# micro-grids only at the deepest zooms: none in the minzoom tiles, all of them at maxzoom
zmin=$("$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["mbtiles"]["minzoom"])' "$WG_TMP/summary.json")
expect_exit 0 ogrinfo -so -oo ZOOM_LEVEL="$zmin" "$dir/onemap.mbtiles" micro
expect_contains "$OUT" "Feature Count: 0"
expect_exit 0 ogrinfo -q "$dir/onemap.mbtiles" micro
py 'import json, re, sys
codes = set(re.findall(r"code \(String\) = (\S+)", open(sys.argv[1], encoding="utf-8").read()))
assert len(codes) == json.load(open(sys.argv[2]))["micro"], len(codes)' "$OUT" "$WG_TMP/ws_counts.json"
ok "micro-grids: none at minzoom, every one at maxzoom"
# the grids tile layer carries each grid's incident count (SQL on the workspace) and coverage
# status (the GeoPackage's coverage layer)
"$PYTHON" - "$ws" >"$WG_TMP/grid_counts.txt" <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
for code, n in db.execute("SELECT u.code, (SELECT count(*) FROM incidents i WHERE i.grid_code = u.code) "
                          "FROM units u WHERE u.level = 'grid' AND u.valid_to IS NULL"):
    print(code, n)
PYEOF
expect_exit 0 ogrinfo -q "$dir/onemap.mbtiles" grids
cp "$OUT" "$WG_TMP/tile_grids.txt"
expect_exit 0 ogrinfo -q "$gpkg" coverage
cp "$OUT" "$WG_TMP/gpkg_coverage.txt"
py 'import re, sys
def feats(path):
    out = {}
    for block in open(path, encoding="utf-8").read().split("OGRFeature(")[1:]:
        f = dict(re.findall(r"^  (\w+) \(\w+\) = (.*)$", block, re.M))
        out.setdefault(f["code"], []).append(f)
    return out
tiles, cov = feats(sys.argv[1]), feats(sys.argv[2])
want = dict(l.split() for l in open(sys.argv[3]))
assert set(tiles) == set(want), (len(tiles), len(want))
for code, fs in tiles.items():
    for f in fs:
        assert float(f["count"]) == int(want[code]), (code, f["count"], want[code])
        assert f["coverage"] == cov[code][0]["status"], (code, f["coverage"])
        assert f["cover_roads"] == cov[code][0]["road_status"], (code, f["cover_roads"])
        assert f["cover_roads"] in ("all", "some", "none", "no_roads"), f["cover_roads"]
assert sum(int(n) for n in want.values()) > 0' "$WG_TMP/tile_grids.txt" "$WG_TMP/gpkg_coverage.txt" "$WG_TMP/grid_counts.txt"
ok "grids tile layer: incident count per grid (SQL), coverage and road status (gpkg) on every piece"

# ---- the heatmap ---------------------------------------------------------------------
expect_exit 0 gdalinfo "$dir/heatmap.tif"
expect_contains "$OUT" "Type=Float32"
py 'import json, sys, struct
s = json.load(open(sys.argv[1]))
b = open(sys.argv[2], "rb").read(24)
assert b[:8] == b"\x89PNG\r\n\x1a\n"
assert struct.unpack(">II", b[16:24]) == (s["heatmap"]["cols"], s["heatmap"]["rows"]), s["heatmap"]' "$WG_TMP/summary.json" "$dir/heatmap.png"
ok "heatmap.tif and heatmap.png of the reported size"

# ---- atomicity -------------------------------------------------------------------------
sum_before=$(cd "$dir" && find . -type f | sort | xargs sha256sum | sha256sum)
expect_exit 1 "$WANGGE" onemap "$ws" -o "$dir" --pixel 0.01
expect_contains "$ERR" "more than 4096 pixels"
sum_after=$(cd "$dir" && find . -type f | sort | xargs sha256sum | sha256sum)
expect_eq "$sum_after" "$sum_before" "the earlier bundle after a failed run"
[ -z "$(ls -A "$WG_TMP/out" | grep -v '^bundle$' || true)" ] || fail "staging left behind: $(ls -A "$WG_TMP/out")"
ok "no staging folder left behind"
mkdir -p "$WG_TMP/out/other" && echo keep >"$WG_TMP/out/other/notes.txt"
expect_exit 1 "$WANGGE" onemap "$ws" -o "$WG_TMP/out/other"
expect_contains "$ERR" "is not an earlier onemap bundle"
[ "$(cat "$WG_TMP/out/other/notes.txt")" = keep ] || fail "a foreign folder was touched"
ok "a folder that is not a bundle is refused and untouched"

# ---- replacing a bundle, without a road graph ---------------------------------------------
rm -f "$ws.graph"
"$PYTHON" -c 'import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.execute("DELETE FROM road_edges"); db.commit()' "$ws" 2>/dev/null ||
    ogrinfo -q "$ws" -sql "DELETE FROM road_edges" >/dev/null
expect_exit 0 "$WANGGE" onemap "$ws" -o "$dir" --minzoom 11 --maxzoom 13
expect_contains "$ERR" "no road graph"
py 'import json, sys
s = json.load(open(sys.argv[1]))
names = [l["name"] for l in s["layers"]]
assert "service_areas" not in names and len(names) == 9 and s["road_graph"] is False, names
assert (s["mbtiles"]["minzoom"], s["mbtiles"]["maxzoom"]) == (11, 13)
z = {l["name"]: (l["minzoom"], l["maxzoom"]) for l in s["layers"] if l["tiled"]}
assert z["county"] == (11, 13) and z["grids"] == (13, 13) and z["micro"] == (11, 13), z' "$OUT"
ok "without a road graph: 9 layers and a note; the bundle was replaced"
[ ! -e "$dir/geojson/service_areas.geojson" ] || fail "the old bundle's files survived the replacement"
ok "nothing of the old bundle left"

expect_exit 2 "$WANGGE" onemap "$ws"
expect_exit 2 "$WANGGE" onemap "$ws" -o "$dir" --minzoom 14 --maxzoom 12
expect_exit 0 "$WANGGE" onemap --help
expect_contains "$OUT" "RFC 7946"
pass
