#!/usr/bin/env bash
# test_heatmap.sh -- `wangge heatmap` on the generator's tiny county: the
# stored incidents as a Float32 GeoTIFF that GDAL reopens in the workspace's
# metric CRS with QGIS's frame, nodata and DEFLATE; the PNG, world file and
# legend; kernels, scaling, filters, extents and a points file; an empty time
# window (all zero, a note, exit 0); usage errors (exit 2) and failures (exit
# 1) that leave no output behind. With qgis_process installed, the values are
# also compared with QGIS's own heatmap.
source "$(dirname "$0")/lib.sh"
for tool in gdalinfo ogr2ogr; do
    command -v "$tool" >/dev/null || fail "$tool (gdal-bin) missing"
done

gen="$WG_TMP/gen"
gen_county "$gen" --scale tiny --seed 1
ws="$WG_TMP/county.sqlite"
expect_exit 0 "$WANGGE" init "$ws"
expect_exit 0 "$WANGGE" import-grids "$ws" "$gen/admin.shp" --level-field level --parent-field parent
expect_exit 0 "$WANGGE" import-grids "$ws" "$gen/grids.shp" --level grid --parent-field parent
expect_exit 0 "$WANGGE" place "$ws" "$gen/incidents.csv" -o "$WG_TMP/placed.csv" --crs-field crs --store --json
stored=$("$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["stored"])' "$OUT")
[ "$stored" -gt 0 ] || fail "no incidents stored"
ok "$stored incidents stored"

# json FIELD -- a field of the last --json summary
json() { "$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$OUT" "$1"; }

# ---- the default: stored incidents, quartic, raw -----------------------------
tif="$WG_TMP/out/heat.tif"
png="$WG_TMP/out/heat.png"
mkdir -p "$WG_TMP/out"
expect_exit 0 "$WANGGE" heatmap "$ws" --radius 200 --pixel 10 -o "$tif" --png "$png" --json
expect_contains "$ERR" "heatmap of $stored points (quartic, radius 200 m, pixel 10 m, raw values)"
expect_eq "$(json points)" "$stored" "points stamped"
expect_eq "$(json epsg)" "4549" "the workspace's metric CRS"
expect_eq "$(json extent)" "data" "framing"
py 'import json, math, sys
d = json.load(open(sys.argv[1]))
x0, y0, x1, y1 = d["bounds"]
assert d["cols"] == math.ceil((x1 - x0) / 10) + 1 and d["rows"] == math.ceil((y1 - y0) / 10) + 1, d
assert d["max"] > 0 and d["integral"] > 0, d' "$OUT"
ok "QGIS frame: ceil(size/pixel)+1 columns and rows"
cp "$OUT" "$WG_TMP/heat.json"
expect_exit 0 gdalinfo "$tif"
expect_contains "$OUT" 'ID["EPSG",4549]'
expect_contains "$OUT" "Type=Float32"
expect_contains "$OUT" "NoData Value=-9999"
expect_contains "$OUT" "COMPRESSION=DEFLATE"
py 'import json, re, sys
d, info = json.load(open(sys.argv[1])), open(sys.argv[2]).read()
size = re.search(r"Size is (\d+), (\d+)", info).groups()
assert (int(size[0]), int(size[1])) == (d["cols"], d["rows"]), (size, d)
origin = re.search(r"Origin = \(([-\d.]+),([-\d.]+)\)", info).groups()
assert abs(float(origin[0]) - d["bounds"][0]) < 1e-6 and abs(float(origin[1]) - d["bounds"][3]) < 1e-6, origin
assert "Pixel Size = (10.000000000000000,-10.000000000000000)" in info' "$WG_TMP/heat.json" "$OUT"
ok "GDAL reopens the GeoTIFF: size, origin, pixel size as reported"
expect_exit 0 gdalinfo -stats "$tif"
py 'import json, re, sys
d, info = json.load(open(sys.argv[1])), open(sys.argv[2]).read()
mx = float(re.search(r"Maximum=([-\d.e+]+)", info).group(1))
mn = float(re.search(r"Minimum=([-\d.e+]+)", info).group(1))
assert mn == 0 and abs(mx - d["max"]) <= 1e-3 * d["max"], (mn, mx, d["max"])' "$WG_TMP/heat.json" "$OUT"
ok "the GeoTIFF's range is 0 .. the reported maximum"
rm -f "$tif.aux.xml"

# the PNG: the raster's size, RGBA; its world file and legend beside it
expect_exit 0 gdalinfo "$png"
py 'import json, re, sys
d, info = json.load(open(sys.argv[1])), open(sys.argv[2]).read()
size = re.search(r"Size is (\d+), (\d+)", info).groups()
assert (int(size[0]), int(size[1])) == (d["cols"], d["rows"]), size
assert "ColorInterp=Alpha" in info, "no alpha band"' "$WG_TMP/heat.json" "$OUT"
ok "the PNG has the raster's size and an alpha band"
[ -s "$WG_TMP/out/heat.pgw" ] || fail "no world file heat.pgw"
[ -s "$WG_TMP/out/heat_legend.png" ] || fail "no legend heat_legend.png"
py 'import json, sys
d = json.load(open(sys.argv[1]))
w = [float(v) for v in open(sys.argv[2]).read().split()]
assert w[:4] == [10, 0, 0, -10], w
assert abs(w[4] - (d["bounds"][0] + 5)) < 1e-6 and abs(w[5] - (d["bounds"][3] - 5)) < 1e-6, w' \
    "$WG_TMP/heat.json" "$WG_TMP/out/heat.pgw"
ok "world file: pixel size and the centre of the top-left pixel"
expect_exit 0 gdalinfo "$WG_TMP/out/heat_legend.png"
expect_contains "$OUT" "Size is 340, 60"
[ -z "$(ls -A "$WG_TMP/out" | grep wangge-tmp || true)" ] || fail "a staging folder was left behind"
ok "no staging folder left behind"

# ---- kernels, scaling, filters ------------------------------------------------
for k in quartic triangular uniform triweight epanechnikov; do
    expect_exit 0 "$WANGGE" heatmap "$ws" --radius 150 --pixel 10 --kernel "$k" --scaled \
        -o "$WG_TMP/k_$k.tif" --json
    py 'import json, sys
d = json.load(open(sys.argv[1]))
assert abs(d["integral"] / d["points"] - 1) < 0.01, d' "$OUT"
    ok "$k, scaled: integrates to the number of incidents"
done
expect_exit 0 "$WANGGE" heatmap "$ws" --radius 150 --pixel 10 --kernel triangular --decay 0.5 \
    --scaled -o "$WG_TMP/tri.tif" --json
expect_eq "$(json decay)" "0.5" "decay"
ncat=$("$PYTHON" -c 'import csv, sys
print(sum(1 for r in csv.DictReader(open(sys.argv[1], encoding="utf-8-sig")) if r["category"] == "治安问题"))' "$gen/incidents.csv")
expect_exit 0 "$WANGGE" heatmap "$ws" --radius 200 --pixel 20 --category 治安问题 -o "$WG_TMP/cat.tif" --json
expect_eq "$(json points)" "$ncat" "incidents of category 治安问题"
nmar=$("$PYTHON" -c 'import csv, sys
print(sum(1 for r in csv.DictReader(open(sys.argv[1], encoding="utf-8-sig")) if "2025-03-01" <= r["reported_at"][:10] <= "2025-03-31"))' "$gen/incidents.csv")
expect_exit 0 "$WANGGE" heatmap "$ws" --radius 200 --pixel 20 --from 2025-03-01 --to 2025-03-31 \
    -o "$WG_TMP/march.tif" --json
expect_eq "$(json points)" "$nmar" "incidents reported in March 2025"

# ---- extents --------------------------------------------------------------------
expect_exit 0 "$WANGGE" heatmap "$ws" --radius 200 --pixel 20 --extent grids -o "$WG_TMP/grids.tif" --json
expect_eq "$(json extent)" "grids" "framing"
py 'import json, sys
d = json.load(open(sys.argv[1]))
assert all(abs(v / 20 - round(v / 20)) < 1e-9 for v in d["bounds"]), d["bounds"]' "$OUT"
ok "--extent grids: bounds snapped to whole pixels"
expect_exit 0 gdalinfo -stats "$WG_TMP/grids.tif"
expect_contains "$OUT" "STATISTICS_VALID_PERCENT="
expect_not_contains "$OUT" "STATISTICS_VALID_PERCENT=100"
ok "--extent grids: pixels outside the county are nodata"
box=$("$PYTHON" -c 'import json, sys
x0, y0, x1, y1 = json.load(open(sys.argv[1]))["bounds"]
print("%.3f,%.3f,%.3f,%.3f" % (x0 + 500, y0 + 500, x0 + 1500, y0 + 1000))' "$WG_TMP/heat.json")
expect_exit 0 "$WANGGE" heatmap "$ws" --radius 200 --pixel 10 --extent "$box" -o "$WG_TMP/box.tif" --json
expect_eq "$(json cols)x$(json rows)" "101x51" "--extent box: 1000 m x 500 m at 10 m"

# ---- an uncompressed GeoTIFF, as QGIS writes it: the same values ----------------------
expect_exit 0 "$WANGGE" heatmap "$ws" --radius 200 --pixel 10 --compress none -o "$WG_TMP/plain.tif" --json
expect_eq "$(json compress)" "none" "compression"
expect_exit 0 gdalinfo -stats "$WG_TMP/plain.tif"
expect_not_contains "$OUT" "COMPRESSION=DEFLATE"
cp "$OUT" "$WG_TMP/plain.info"
expect_exit 0 gdalinfo -stats "$tif"
py 'import re, sys
stats = [re.search(r"Minimum=.*", open(f).read()).group(0) for f in sys.argv[1:]]
assert stats[0] == stats[1], stats' "$WG_TMP/plain.info" "$OUT"
ok "--compress none: the same statistics as the DEFLATE GeoTIFF"
rm -f "$tif.aux.xml" "$WG_TMP/plain.tif.aux.xml"

# ---- a points file ------------------------------------------------------------------
expect_exit 0 "$WANGGE" heatmap "$ws" --input "$gen/incidents.csv" --radius 200 --pixel 10 \
    -o "$WG_TMP/csv.tif" --json
expect_eq "$(json points)" "$(($(wc -l <"$gen/incidents.csv") - 1))" "rows of incidents.csv (lon/lat columns found)"
expect_exit 0 "$WANGGE" heatmap "$ws" --input "$gen/incidents.csv" --lon-field lon --lat-field lat \
    --crs gcj02 --category 治安问题 --radius 200 --pixel 10 -o "$WG_TMP/csv2.tif" --json
expect_eq "$(json points)" "$ncat" "category filter on a points file"

# ---- an empty time window: all zero, a note, not an error -----------------------------------
expect_exit 0 "$WANGGE" heatmap "$ws" --radius 200 --pixel 10 --from 2030-01-01 --to 2030-01-31 \
    -o "$WG_TMP/empty.tif" --png "$WG_TMP/empty.png" --json
expect_contains "$ERR" "note: no incidents from 2030-01-01 to 2030-01-31"
expect_contains "$ERR" "all zero"
expect_eq "$(json empty)" "True" "empty"
expect_eq "$(json points)" "0" "points"
expect_exit 0 gdalinfo -stats "$WG_TMP/empty.tif"
expect_contains "$OUT" "Minimum=0.000, Maximum=0.000"
[ -s "$WG_TMP/empty.png" ] || fail "no PNG for the empty window"
ok "empty window: an all-zero GeoTIFF and a (transparent) PNG"

# ---- usage errors (2) and failures (1) ---------------------------------------------------------
expect_exit 0 "$WANGGE" heatmap --help
expect_contains "$OUT" "usage: wangge heatmap"
expect_exit 2 "$WANGGE" heatmap "$ws" --radius 200 --pixel 10 -o "$WG_TMP/x.tif" --no-such-option
expect_exit 2 "$WANGGE" heatmap "$ws" --pixel 10 -o "$WG_TMP/x.tif"
expect_contains "$ERR" "--radius is required"
expect_exit 2 "$WANGGE" heatmap "$ws" --radius 200 --pixel 10
expect_contains "$ERR" "-o OUT.tif is required"
expect_exit 2 "$WANGGE" heatmap "$ws" --radius -5 --pixel 10 -o "$WG_TMP/x.tif"
expect_exit 2 "$WANGGE" heatmap "$ws" --radius 200 --pixel 10 --kernel gaussian -o "$WG_TMP/x.tif"
expect_exit 2 "$WANGGE" heatmap "$ws" --radius 200 --pixel 10 --decay 0.5 -o "$WG_TMP/x.tif"
expect_contains "$ERR" "triangular kernel only"
expect_exit 2 "$WANGGE" heatmap "$ws" --radius 200 --pixel 10 --extent 1,2,3 -o "$WG_TMP/x.tif"
expect_exit 2 "$WANGGE" heatmap "$ws" --radius 200 --pixel 10 --from 2025-3-1 -o "$WG_TMP/x.tif"
expect_exit 2 "$WANGGE" heatmap "$ws" --radius 200 --pixel 10 --from 2025-04-01 --to 2025-03-01 -o "$WG_TMP/x.tif"
expect_exit 2 "$WANGGE" heatmap "$ws" --radius 200 --pixel 10 -o "$WG_TMP/x.png"
expect_exit 2 "$WANGGE" heatmap "$ws" --radius 200 --pixel 10 --compress lzw -o "$WG_TMP/x.tif"
expect_exit 2 "$WANGGE" heatmap "$ws" --radius 200 --pixel 10 --crs gcj02 -o "$WG_TMP/x.tif"
expect_exit 1 "$WANGGE" heatmap "$ws" --radius 200 --pixel 10 --weight-field nope -o "$WG_TMP/x.tif"
expect_contains "$ERR" "no column 'nope'"
expect_exit 1 "$WANGGE" heatmap "$WG_TMP/missing.sqlite" --radius 200 --pixel 10 -o "$WG_TMP/x.tif"
expect_exit 1 "$WANGGE" heatmap "$ws" --input "$WG_TMP/missing.gpkg" --radius 200 --pixel 10 -o "$WG_TMP/x.tif"
[ ! -e "$WG_TMP/x.tif" ] || fail "a failed heatmap left $WG_TMP/x.tif"
ok "failures leave no output"

# ---- the same numbers as QGIS (when qgis_process and GDAL's Python are here) ----------------------
QGIS=$(command -v qgis_process.bin || command -v qgis_process || true)
GPY=""
for p in /usr/bin/python3 "$PYTHON"; do
    if "$p" -c 'import numpy; from osgeo import gdal' 2>/dev/null; then GPY=$p; break; fi
done
if [ -n "$QGIS" ] && [ -n "$GPY" ]; then
    # Coordinates rounded to the millimetre: QGIS takes a GeoPackage's extent
    # from gpkg_contents, printed with 15 digits.
    pts="$WG_TMP/pts.gpkg"
    ogr2ogr -f GPKG "$pts" "$ws" -dialect sqlite -nln pts -nlt POINT -a_srs EPSG:4549 \
        -sql "SELECT id, MakePoint(round(X(p), 3), round(Y(p), 3), 4549) AS geom
              FROM (SELECT id, ST_Transform(geom, 4549) AS p FROM incidents)" ||
        fail "ogr2ogr could not write $pts"
    mkdir -p "$WG_TMP/xdg" && chmod 700 "$WG_TMP/xdg"
    for case in "0 0 quartic" "1 1 triangular" "4 1 epanechnikov"; do
        read -r kn sc kname <<<"$case"
        flag=""; [ "$sc" = 1 ] && flag=--scaled
        QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR="$WG_TMP/xdg" "$QGIS" run \
            qgis:heatmapkerneldensityestimation -- INPUT="$pts" RADIUS=200 PIXEL_SIZE=10 \
            KERNEL="$kn" OUTPUT_VALUE="$sc" OUTPUT="$WG_TMP/qgis_$kname.tif" >"$WG_TMP/qgis.log" 2>&1 ||
            fail "qgis_process failed: $(tail -n 5 "$WG_TMP/qgis.log")"
        expect_exit 0 "$WANGGE" heatmap "$ws" --input "$pts" --radius 200 --pixel 10 --kernel "$kname" \
            $flag -o "$WG_TMP/wg_$kname.tif"
        "$GPY" - "$WG_TMP/qgis_$kname.tif" "$WG_TMP/wg_$kname.tif" <<'PYEOF' || fail "$kname differs from QGIS"
import sys
import numpy as np
from osgeo import gdal
a, b = gdal.Open(sys.argv[1]), gdal.Open(sys.argv[2])
assert a.GetGeoTransform() == b.GetGeoTransform() or max(
    abs(p - q) for p, q in zip(a.GetGeoTransform(), b.GetGeoTransform())) < 1e-6
A, B = a.ReadAsArray().astype(float), b.ReadAsArray().astype(float)
A[A == -9999] = 0
den = np.maximum(np.abs(A), np.abs(B))
rel = np.abs(A - B)[den > 0] / den[den > 0]
assert rel.max() < 1e-4, rel.max()
PYEOF
        ok "$kname: equal to QGIS's heatmap within 1e-4 relative at every pixel"
    done
else
    echo "# skipped the comparison with QGIS (needs qgis_process and GDAL's Python with numpy)"
fi

pass
