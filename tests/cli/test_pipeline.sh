#!/usr/bin/env bash
# test_pipeline.sh -- the whole county workflow on the generator's `tiny`
# county: init, import every layer and the officers, validate (clean), info
# (counts as the generator says), and export every layer to GeoJSON,
# Shapefile, GeoPackage and FlatGeobuf, each reopened by GDAL's ogrinfo with
# its feature count, EPSG:4326, and (Shapefile) a .cpg keeping Chinese names.
source "$(dirname "$0")/lib.sh"
GEOMSUM="$PYTHON $CLI_DIR/geomsum.py"
command -v ogrinfo >/dev/null || fail "ogrinfo (gdal-bin) missing"

gen="$WG_TMP/gen"
gen_county "$gen" --scale tiny --seed 1
S="$gen/summary.json"
count() { "$PYTHON" -c 'import json, sys; d = json.load(open(sys.argv[1]))
print(eval(sys.argv[2], {}, d))' "$S" "$1"; }
ok "generated tiny seed 1: $(count 'counts["grids"]') grids, $(count 'counts["micro"]') micro-grids"

ws="$WG_TMP/county.sqlite"
imported_is() { # imported_is N -- import --json says N imported, none without parent
    py 'import json, sys
d = json.load(open(sys.argv[1]))
assert d["imported"] == int(sys.argv[2]), d
assert d.get("orphans", 0) == 0, d' "$OUT" "$1"
}
expect_exit 0 "$WANGGE" init "$ws"
expect_exit 0 "$WANGGE" import-grids "$ws" "$gen/admin.shp" --level-field level --parent-field parent --json
imported_is "$(count 'counts["admin"]')"
expect_exit 0 "$WANGGE" import-grids "$ws" "$gen/grids.shp" --level grid --parent-field parent --json
imported_is "$(count 'counts["grids"]')"
expect_exit 0 "$WANGGE" import-grids "$ws" "$gen/micro.shp" --level micro --parent-field parent --json
imported_is "$(count 'counts["micro"]')"
expect_exit 0 "$WANGGE" import-grids "$ws" "$gen/exclusive.shp" --level exclusive \
    --parent-field parent --kind-field kind --json
imported_is "$(count 'counts["exclusive"]')"
expect_exit 0 "$WANGGE" import-officers "$ws" "$gen/officers.csv" --json
imported_is "$(count 'counts["officers"]')"

# A generated county is clean: no errors.
expect_exit 0 "$WANGGE" validate "$ws" --json
py 'import json, sys
d = json.load(open(sys.argv[1]))
assert d["errors"] == 0, [i for i in d["issues"] if i["severity"] == "error"][:5]' "$OUT"
ok "validate: 0 errors"

# info agrees with the generator's own counts.
expect_exit 0 "$WANGGE" info "$ws"
py 'import json, sys
info, gen = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))["counts"]
want = {"county": gen["county"], "town": gen["towns"],
        "village": gen["communities"] + gen["villages"], "grid": gen["grids"],
        "micro": gen["micro"], "exclusive": gen["exclusive"]}
assert info["units"] == want, (info["units"], want)
assert info["officers"] == gen["officers"], (info["officers"], gen["officers"])
assert info["assignments"] == gen["officer_lines"], (info["assignments"], gen["officer_lines"])
assert info["unit_versions"] == sum(want.values()), info
assert info["metric_epsg"] == 4549, info  # Guannan: CGCS2000 3-degree zone 40, CM 120E' "$OUT" "$S"
ok "info: units per level, officers and assignments as the generator says"

# Expected features per exported layer: units as generated; officers with a
# station (lon/lat on one of their lines), counted from the CSV itself.
stations=$("$PYTHON" -c 'import csv, sys
print(len({r["officer_id"] for r in csv.DictReader(open(sys.argv[1], encoding="utf-8-sig"))
           if r.get("lon", "").strip() and r.get("lat", "").strip()}))' "$gen/officers.csv")
declare -A want=(
    [admin]=$(count 'counts["admin"]') [grids]=$(count 'counts["grids"]')
    [micro]=$(count 'counts["micro"]') [exclusive]=$(count 'counts["exclusive"]')
    [officers]=$stations
)
out="$WG_TMP/export"
mkdir -p "$out"
for layer in admin grids micro exclusive officers; do
    for ext in geojson shp gpkg fgb; do
        f="$out/$layer.$ext"
        expect_exit 0 "$WANGGE" export "$ws" --layer "$layer" -o "$f" --json
        py 'import json, sys; d = json.load(open(sys.argv[1])); assert d["features"] == int(sys.argv[2]), d' \
            "$OUT" "${want[$layer]}"
        expect_exit 0 ogrinfo -so -al "$f"
        expect_contains "$OUT" "Feature Count: ${want[$layer]}"
        expect_contains "$OUT" 'ID["EPSG",4326]'
    done
    [ -f "$out/$layer.cpg" ] || fail "no $layer.cpg beside $layer.shp"
    expect_contains "$out/$layer.cpg" "UTF-8"
done
for f in "$out"/.wangge-tmp*; do [ -e "$f" ] && fail "export left its staging folder $f"; done
ok "no staging folder left behind"

# Units keep code, name, vertices and rings (source in EPSG:4549, export in
# 4326: a reprojection must not add or drop vertices).
for layer in admin grids micro exclusive; do
    $GEOMSUM summary --out "$WG_TMP/src-$layer.json" "$gen/$layer.shp" || fail "cannot read $layer.shp"
    $GEOMSUM summary "$out/$layer.geojson" "$out/$layer.shp" || fail "cannot read the $layer exports"
    $GEOMSUM compare --no-area --what "generated $layer vs export" "$WG_TMP/src-$layer.json" \
        "$out/$layer.geojson.sum.json" "$out/$layer.shp.sum.json" || fail "$layer export lost something"
    ok "$layer: codes, names, vertices and rings as generated (GeoJSON and Shapefile)"
done

# Chinese names survive the Shapefile round trip: every town's name (e.g.
# 新安镇) is in ogrinfo's reading of the exported .shp.
towns=$("$PYTHON" -c 'import json, sys
for f in json.load(open(sys.argv[1]))["features"]:
    if f["properties"]["level"] == "town": print(f["properties"]["name"])' "$out/admin.geojson")
[ -n "$towns" ] || fail "no town in the admin export"
grep -q '镇' <<<"$towns" || fail "no town name ending in 镇 among: $towns"
expect_exit 0 ogrinfo -al "$out/admin.shp"
while IFS= read -r town; do expect_contains "$OUT" "$town"; done <<<"$towns"

# Exclusive grids keep their kind.
py 'import collections, json, sys
got = collections.Counter(f["properties"]["kind"] for f in json.load(open(sys.argv[1]))["features"])
want = {k: v for k, v in json.load(open(sys.argv[2]))["counts"]["exclusive_by_kind"].items() if v}
assert dict(got) == want, (dict(got), want)' "$out/exclusive.geojson" "$S"
ok "exclusive grids keep their kinds"

pass
