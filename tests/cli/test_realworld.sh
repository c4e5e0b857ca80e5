#!/usr/bin/env bash
# test_realworld.sh -- real polygons in, real polygons out, nothing lost.
#
# Chicago's 77 community areas (fixtures/realworld/, see SOURCES.txt) as a
# State Plane Shapefile without .prj, as WGS84 GeoJSON, and as a GeoPackage
# made here with ogr2ogr. Each is imported, validated, exported to every
# format, and every export imported again. The oracle is GDAL itself
# (ogr2ogr/ogrinfo via geomsum.py), never wangge: same codes and names, same
# vertex count and ring/part structure per feature as the original file
# (Norwood Park keeps its hole), areas equal within 1e-6 across round trips,
# and within 0.2% of the City's own SHAPE_AREA (square US feet).
#
# Then a GBK-encoded Shapefile without .cpg, as Chinese contractors deliver
# them, with a multipolygon and a hole: its names must come through whether
# the encoding is detected or given with --encoding.
source "$(dirname "$0")/lib.sh"
GEOMSUM="$PYTHON $CLI_DIR/geomsum.py"
for tool in ogr2ogr ogrinfo; do command -v $tool >/dev/null || fail "$tool (gdal-bin) missing"; done

RW="$WG_FIXTURES/realworld"
SHP="$RW/chicago77_stateplane/Chicago77.shp"
GEOJSON="$RW/chicago_community_areas_77_wgs84.geojson"
for f in "$SHP" "$GEOJSON"; do [ -f "$f" ] || fail "missing fixture $f"; done
[ ! -e "${SHP%.shp}.prj" ] || fail "the State Plane fixture must have no .prj"
src="$WG_TMP/src"
mkdir -p "$src"
ogr2ogr -f GPKG "$src/chicago.gpkg" "$GEOJSON" || fail "ogr2ogr could not make the GeoPackage"
GPKG="$src/chicago.gpkg"

# The oracle: what the original file holds, read by GDAL.
$GEOMSUM summary --out "$WG_TMP/orig.json" "$SHP:AREA_NUMBE:COMMUNITY" || fail "cannot read $SHP"
py 'import json, sys
d = json.load(open(sys.argv[1]))
assert len(d) == 77, len(d)
assert d["10"]["name"] == "NORWOOD PARK" and d["10"]["polys"] == [2], d["10"]
assert sum(v["npoints"] for v in d.values()) > 40000' "$WG_TMP/orig.json"
ok "original: 77 areas, Norwood Park has a hole, >40000 vertices"

# Without a .prj the import must fail and say what to do.
expect_exit 0 "$WANGGE" init "$WG_TMP/noprj.sqlite"
expect_exit 1 "$WANGGE" import-grids "$WG_TMP/noprj.sqlite" "$SHP" --level town \
    --code-field AREA_NUMBE --name-field COMMUNITY
expect_contains "$ERR" "--s-srs"

# areas_match_city SUM.json -- each area_m2 within 0.2% of SHAPE_AREA (ftUS^2):
# an independent figure (the City's, in State Plane) for the metric areas.
areas_match_city() {
    py 'import json, sys
orig = json.load(open(sys.argv[1]))
got = json.load(open(sys.argv[2]))
ft2 = (1200 / 3937) ** 2
for f in orig["features"]:
    p = f["properties"]
    want, have = p["SHAPE_AREA"] * ft2, got[str(p["AREA_NUMBE"])]["area_m2"]
    assert abs(have / want - 1) < 2e-3, (p["AREA_NUMBE"], have, want)' "$GEOJSON" "$1"
}

expect_features() { # expect_features N -- the --json output of import/export says N
    py 'import json, sys
d = json.load(open(sys.argv[1]))
assert d.get("imported", d.get("features")) == int(sys.argv[2]), d' "$OUT" "$1"
}

FORMATS="geojson shp gpkg"  # FlatGeobuf is covered by test_pipeline.sh
for kind in shp geojson gpkg; do
    case $kind in
        shp) in=$SHP extra=(--s-srs EPSG:3435) ;;
        geojson) in=$GEOJSON extra=() ;;
        gpkg) in=$GPKG extra=() ;;
    esac
    ws="$WG_TMP/$kind.sqlite"
    out="$WG_TMP/out/$kind"
    mkdir -p "$out"
    expect_exit 0 "$WANGGE" init "$ws"
    expect_exit 0 "$WANGGE" import-grids "$ws" "$in" --level town --code-field AREA_NUMBE \
        --name-field COMMUNITY "${extra[@]}" --json
    expect_features 77
    expect_exit 0 "$WANGGE" validate "$ws" --json
    py 'import json, sys; d = json.load(open(sys.argv[1])); assert d["errors"] == 0, d' "$OUT"
    expect_exit 0 "$WANGGE" info "$ws"
    py 'import json, sys; d = json.load(open(sys.argv[1])); assert d["units"]["town"] == 77, d' "$OUT"

    for fmt in $FORMATS; do
        exp="$out/chicago.$fmt"
        expect_exit 0 "$WANGGE" export "$ws" --layer admin -o "$exp" --json
        expect_features 77
        # GDAL reopens it: 77 features in EPSG:4326.
        expect_exit 0 ogrinfo -so -al "$exp"
        expect_contains "$OUT" "Feature Count: 77"
        expect_contains "$OUT" 'ID["EPSG",4326]'
        # Import the export again and export that as GeoJSON.
        expect_exit 0 "$WANGGE" init "$WG_TMP/$kind-$fmt.sqlite"
        expect_exit 0 "$WANGGE" import-grids "$WG_TMP/$kind-$fmt.sqlite" "$exp" --level town --json
        expect_features 77
        expect_exit 0 "$WANGGE" export "$WG_TMP/$kind-$fmt.sqlite" --layer admin \
            -o "$out/again-$fmt.geojson"
    done
    [ -f "$out/chicago.cpg" ] || fail "no .cpg beside the exported Shapefile"

    layers=() sums=() agains=()
    for fmt in $FORMATS; do
        layers+=("$out/chicago.$fmt" "$out/again-$fmt.geojson")
        sums+=("$out/chicago.$fmt.sum.json")
        agains+=("$out/again-$fmt.geojson.sum.json")
    done
    $GEOMSUM summary "${layers[@]}" || fail "cannot read back the exports of the $kind workspace"
    $GEOMSUM compare --no-area --what "original vs $kind workspace" "$WG_TMP/orig.json" \
        "${sums[@]}" || fail "an export of the $kind workspace lost something"
    ok "$kind -> {$FORMATS}: same codes, names, vertices, rings and parts as the original"
    $GEOMSUM compare --rtol 1e-6 --what "$kind workspace round trips" "${sums[0]}" \
        "${sums[@]:1}" "${agains[@]}" || fail "a round trip of the $kind workspace lost something"
    ok "$kind -> {$FORMATS} -> re-import: same features, vertices, structure, areas (1e-6)"
    areas_match_city "${sums[0]}"
    ok "$kind: every area within 0.2% of the City's SHAPE_AREA"
done

# The three sources hold the same polygons, so their workspaces agree
# (the GeoJSON was reprojected by ogr2ogr: areas agree to 1e-6, not exactly).
$GEOMSUM compare --rtol 1e-6 --what "Shapefile, GeoJSON and GeoPackage sources" \
    "$WG_TMP/out/shp/chicago.geojson.sum.json" "$WG_TMP/out/geojson/chicago.geojson.sum.json" \
    "$WG_TMP/out/gpkg/chicago.geojson.sum.json" || fail "sources disagree"
ok "the Shapefile, GeoJSON and GeoPackage sources give the same workspace"

# ---- a GBK Shapefile without .cpg -----------------------------------------
g="$WG_TMP/gbk"
mkdir -p "$g"
# 新安镇: two parts; 堆沟港镇: a hole that 田楼镇 fills.
cat >"$g/towns.geojson" <<'EOF'
{"type": "FeatureCollection", "features": [
{"type": "Feature", "properties": {"code": "320724100", "name": "新安镇"}, "geometry": {"type": "MultiPolygon", "coordinates": [
  [[[119.30, 34.05], [119.34, 34.05], [119.34, 34.10], [119.30, 34.10], [119.30, 34.05]]],
  [[[119.30, 34.11], [119.34, 34.11], [119.34, 34.15], [119.30, 34.15], [119.30, 34.11]]]]}},
{"type": "Feature", "properties": {"code": "320724101", "name": "堆沟港镇"}, "geometry": {"type": "Polygon", "coordinates": [
  [[119.35, 34.05], [119.45, 34.05], [119.45, 34.15], [119.35, 34.15], [119.35, 34.05]],
  [[119.38, 34.08], [119.38, 34.12], [119.42, 34.12], [119.42, 34.08], [119.38, 34.08]]]}},
{"type": "Feature", "properties": {"code": "320724102", "name": "田楼镇"}, "geometry": {"type": "Polygon", "coordinates": [
  [[119.38, 34.08], [119.42, 34.08], [119.42, 34.12], [119.38, 34.12], [119.38, 34.08]]]}}
]}
EOF
$GEOMSUM summary --out "$g/want.json" "$g/towns.geojson"
ogr2ogr -f "ESRI Shapefile" -lco ENCODING=CP936 "$g/gbk.shp" "$g/towns.geojson" ||
    fail "ogr2ogr could not write the GBK Shapefile"
rm -f "$g/gbk.cpg"
# No language id in the DBF header either: nothing declares the encoding.
py 'import sys
p = sys.argv[1]
d = bytearray(open(p, "rb").read())
d[29] = 0
open(p, "wb").write(d)
assert "新安镇".encode("gbk") in d and "新安镇".encode("utf-8") not in d' "$g/gbk.dbf"
ok "fixture: GBK names in the DBF, no .cpg, no language id"

gbk_import() { # gbk_import NAME [import options...] -- imports, checks names and shapes
    local name=$1
    shift
    expect_exit 0 "$WANGGE" init "$g/$name.sqlite"
    expect_exit 0 "$WANGGE" import-grids "$g/$name.sqlite" "$g/gbk.shp" --level town --json "$@"
    cp "$OUT" "$g/$name-import.json"
    expect_exit 0 "$WANGGE" export "$g/$name.sqlite" --layer admin -o "$g/$name.geojson"
    $GEOMSUM summary --out "$g/$name-sum.json" "$g/$name.geojson"
    $GEOMSUM compare --no-area --what "GBK import ($name)" "$g/want.json" "$g/$name-sum.json" ||
        fail "GBK import ($name) mangled names or shapes"
    ok "GBK Shapefile ($name): 新安镇, 堆沟港镇, 田楼镇 intact, multipolygon and hole kept"
}
gbk_import detected
py 'import json, sys
d = json.load(open(sys.argv[1]))
assert d["encoding"].upper() in ("CP936", "GBK", "GB18030"), d' "$g/detected-import.json"
ok "the import reports the detected encoding ($("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["encoding"])' "$g/detected-import.json"))"
gbk_import given --encoding GBK

# Read as UTF-8 it is not text: a clear failure, not mojibake.
expect_exit 0 "$WANGGE" init "$g/wrong.sqlite"
expect_exit 1 "$WANGGE" import-grids "$g/wrong.sqlite" "$g/gbk.shp" --level town --encoding UTF-8
expect_contains "$ERR" "--encoding"

# Exported as Shapefile it is UTF-8 with a .cpg, and reads back intact.
expect_exit 0 "$WANGGE" export "$g/detected.sqlite" --layer admin -o "$g/utf8.shp"
expect_contains "$g/utf8.cpg" "UTF-8"
expect_exit 0 ogrinfo -al "$g/utf8.shp"
expect_contains "$OUT" "新安镇"
expect_contains "$OUT" "堆沟港镇"
expect_exit 0 "$WANGGE" init "$g/back.sqlite"
expect_exit 0 "$WANGGE" import-grids "$g/back.sqlite" "$g/utf8.shp" --level town --json
py 'import json, sys; d = json.load(open(sys.argv[1])); assert d["encoding"].upper().replace("-", "") == "UTF8", d' "$OUT"
expect_exit 0 "$WANGGE" export "$g/back.sqlite" --layer admin -o "$g/back.geojson"
$GEOMSUM summary --out "$g/back-sum.json" "$g/back.geojson"
$GEOMSUM compare --what "GBK Shapefile round trip" "$g/detected-sum.json" "$g/back-sum.json" ||
    fail "the UTF-8 Shapefile round trip lost something"
ok "UTF-8 Shapefile round trip: names, shapes and areas (1e-6) intact"

pass
