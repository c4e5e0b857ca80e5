#!/usr/bin/env bash
# demo.sh -- wangge's main job, end to end, on a synthetic county.
#
# Generates 灌南县 (Guannan county) at the `county` scale (seed 42), builds a
# workspace from it (admin units, grids, micro-grids, exclusive grids,
# officers), validates it, places a year of hotline incidents in their grids
# and exports the grids and officers for the command centre. Everything goes
# to out/demo/ (removed first, so it can be re-run).
#
# usage: bash tools/demo.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

OUT=out/demo
GEN=$OUT/county
WS=$OUT/guannan.sqlite
EXPORT=$OUT/export
WANGGE=build/tools/wangge
GENCOUNTY=build/fixtures/wg_gencounty

TIMES=()
# step LABEL CMD... -- runs CMD, shows it, and records how long it took.
step() {
    local label=$1
    shift
    printf '\n--- %s\n$ %s\n' "$label" "$*"
    local t0=$EPOCHREALTIME
    "$@"
    TIMES+=("$(awk -v a="$t0" -v b="$EPOCHREALTIME" -v l="$label" \
        'BEGIN { printf "%8.2fs  %s", b - a, l }')")
}

build() {
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >build/cmake.log 2>&1 ||
        { cat build/cmake.log; return 1; }
    cmake --build build -j "$(nproc)" >build/build.log 2>&1 ||
        { tail -n 40 build/build.log; return 1; }
}

generate() {
    mkdir -p "$GEN"
    "$GENCOUNTY" --scale county --seed 42 -o "$GEN" >"$GEN/summary.json"
}

# validate -- exit status 1 with a report means "errors found": the demo goes
# on, and says so at the end. Anything else is a failure.
validate_errors=0
validate() {
    local rc=0
    "$WANGGE" validate "$WS" --json >"$OUT/validate.json" || rc=$?
    if [ "$rc" = 1 ] && python3 -c 'import json, sys
sys.exit(0 if json.load(open(sys.argv[1]))["errors"] > 0 else 1)' "$OUT/validate.json" 2>/dev/null; then
        validate_errors=1
        rc=0
    fi
    return "$rc"
}

step "install missing packages" bash tools/deps.sh
mkdir -p build
step "build (build/)" build
rm -rf "$OUT"
mkdir -p "$OUT" "$EXPORT"
step "generate county (seed 42)" generate
step "create workspace" "$WANGGE" init "$WS"
step "import admin units" "$WANGGE" import-grids "$WS" "$GEN/admin.shp" \
    --level-field level --parent-field parent
step "import grids" "$WANGGE" import-grids "$WS" "$GEN/grids.shp" --level grid --parent-field parent
step "import micro-grids" "$WANGGE" import-grids "$WS" "$GEN/micro.shp" --level micro \
    --parent-field parent
step "import exclusive grids" "$WANGGE" import-grids "$WS" "$GEN/exclusive.shp" --level exclusive \
    --parent-field parent --kind-field kind
step "import officers" "$WANGGE" import-officers "$WS" "$GEN/officers.csv"
step "validate" validate
step "place incidents, CSV to CSV" "$WANGGE" place "$WS" "$GEN/incidents.csv" \
    -o "$EXPORT/incidents_placed.csv" --crs-field crs --rejects "$EXPORT/incidents_rejected.csv"
step "place and store incidents" "$WANGGE" place "$WS" "$GEN/incidents.csv" -o "$EXPORT/incidents.gpkg" \
    --crs-field crs --store
# Two reported points (as the handsets sent them) for the one-point commands.
read -r LON1 LAT1 CRS1 < <(awk -F, 'NR == 2 { print $2, $3, $4 }' "$GEN/incidents.csv")
read -r LON2 LAT2 < <(awk -F, 'NR > 2 && $4 == "wgs84" { print $2, $3; exit }' "$GEN/incidents.csv")
locate() { "$WANGGE" locate "$WS" --lon "$LON1" --lat "$LAT1" --crs "$CRS1" >"$OUT/locate.json"; }
step "locate one incident" locate
step "build the road graph" "$WANGGE" roads "$WS" "$GEN/roads.shp"
route() {
    "$WANGGE" route "$WS" --from "$LON2,$LAT2" --to "$(python3 -c 'import json,sys
q=json.load(open(sys.argv[1]))["query"]; print("%.7f,%.7f" % (q["wgs84_lon"], q["wgs84_lat"]))' "$OUT/locate.json")" \
        >"$OUT/route.geojson"
}
step "route between two incidents" route
dispatch() {
    "$WANGGE" dispatch "$WS" --at "$(python3 -c 'import json,sys
q=json.load(open(sys.argv[1]))["query"]; print("%.7f,%.7f" % (q["wgs84_lon"], q["wgs84_lat"]))' "$OUT/locate.json")" \
        --limit 5 >"$OUT/dispatch.json"
}
step "dispatch: 5 nearest officers" dispatch
isochrone() {
    "$WANGGE" isochrone "$WS" --from "$(python3 -c 'import json,sys
q=json.load(open(sys.argv[1]))["query"]; print("%.7f,%.7f" % (q["wgs84_lon"], q["wgs84_lat"]))' "$OUT/locate.json")" \
        --minutes 10,30 -o "$EXPORT/service_area.gpkg"
}
step "10- and 30-minute service area of one incident" isochrone
step "heatmap of the stored incidents" "$WANGGE" heatmap "$WS" --radius 200 --pixel 10 --extent grids \
    -o "$EXPORT/heatmap.tif" --png "$EXPORT/heatmap.png"
# The closed loop (issue 7): the deadline rules, one incident taken from report to close,
# another escalated, and the figures per town (JSON) and per grid (a map layer).
closed_loop() {
    "$WANGGE" rules "$WS" >"$OUT/rules.txt"
    local officer
    officer=$(python3 -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT o.officer_id FROM officer_grids o JOIN incidents i ON i.grid_code = o.grid_code WHERE i.id = 1 ORDER BY 1").fetchone()[0])' "$WS")
    "$WANGGE" incident "$WS" 1 --accept --note "受理" >/dev/null
    "$WANGGE" incident "$WS" 1 --assign "$officer" >/dev/null
    "$WANGGE" incident "$WS" 1 --handle --note "已处置" >/dev/null
    "$WANGGE" incident "$WS" 1 --verify >/dev/null
    "$WANGGE" incident "$WS" 1 --close --satisfaction 5 >"$OUT/incident_1.json"
    "$WANGGE" incident "$WS" 2 --escalate --note "需村里协调" >"$OUT/incident_2.json"
    "$WANGGE" stats "$WS" --by town >"$OUT/stats_town.json"
    "$WANGGE" stats "$WS" --by grid -o "$EXPORT/stats_grids.gpkg"
}
step "closed loop: rules, steps, statistics" closed_loop
step "incidents per 500 m hexagon (styled for QGIS)" "$WANGGE" aggregate "$WS" --by hex:500 \
    -o "$EXPORT/incidents_hex.gpkg"
onemap_demo() { "$WANGGE" onemap "$WS" -o "$EXPORT/onemap" >"$OUT/onemap.json"; }
step "one-map bundle for the command center" onemap_demo
# The HTTP service: a key scoped to the county (admin: it locates and reports), one report over
# HTTP, read back, then a clean shutdown (SIGTERM drains).
serve_demo() {
    local key port pid
    key=$("$WANGGE" keys add "$WS" --name demo --role admin --scope 320724 | tail -n 1)
    rm -f "$OUT/serve.port"
    "$WANGGE" serve "$WS" --listen 127.0.0.1:0 --port-file "$OUT/serve.port" --quiet &
    pid=$!
    for _ in $(seq 100); do [ -s "$OUT/serve.port" ] && break; sleep 0.1; done
    port=$(cat "$OUT/serve.port")
    curl -sf -H "Authorization: Bearer $key" \
        "http://127.0.0.1:$port/v1/locate?lon=$LON1&lat=$LAT1&crs=$CRS1" >"$OUT/http_locate.json"
    curl -sf -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
        -d "{\"lon\":$LON2,\"lat\":$LAT2,\"crs\":\"wgs84\",\"category\":\"环境卫生\",\"description\":\"demo report\",\"reporter\":\"demo\"}" \
        "http://127.0.0.1:$port/v1/incidents" >"$OUT/http_report.json"
    kill -TERM "$pid"
    wait "$pid"
}
step "HTTP service: locate and report over HTTP" serve_demo
step "export grids (GeoJSON)" "$WANGGE" export "$WS" --layer grids -o "$EXPORT/grids.geojson"
step "export grids (Shapefile)" "$WANGGE" export "$WS" --layer grids -o "$EXPORT/grids.shp"
step "export grids (GeoPackage)" "$WANGGE" export "$WS" --layer grids -o "$EXPORT/grids.gpkg"
step "export officers (GeoJSON)" "$WANGGE" export "$WS" --layer officers -o "$EXPORT/officers.geojson"

printf '\n--- workspace\n'
"$WANGGE" info "$WS"

printf '\n--- timings\n'
printf '%s\n' "${TIMES[@]}"

errors=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["errors"])' "$OUT/validate.json")
warnings=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["warnings"])' "$OUT/validate.json")
cat <<EOF

--- outputs
  generated county   $GEN/  (generator summary: $GEN/summary.json)
  workspace          $WS
  validation         $OUT/validate.json  ($errors errors, $warnings warnings)
  grids              $EXPORT/grids.geojson
                     $EXPORT/grids.shp (+ .shx .dbf .prj .cpg)
                     $EXPORT/grids.gpkg
  officers           $EXPORT/officers.geojson
  placed incidents   $EXPORT/incidents_placed.csv (rows that could not be placed: $EXPORT/incidents_rejected.csv)
                     $EXPORT/incidents.gpkg (and stored in the workspace)
  one incident       $OUT/locate.json (its grid, micro-grid, exclusive grids, officers)
  road graph         table road_edges of $WS, and $WS.graph
  route              $OUT/route.geojson
  dispatch           $OUT/dispatch.json
  service area       $EXPORT/service_area.gpkg (10 and 30 minutes by car)
  heatmap            $EXPORT/heatmap.tif (Float32 GeoTIFF), $EXPORT/heatmap.png (+ .pgw, legend)
  hexagon counts     $EXPORT/incidents_hex.gpkg (style in layer_styles: opens coloured in QGIS)
  one-map bundle     $EXPORT/onemap/ (onemap.gpkg, geojson/, onemap.mbtiles, heatmap.tif/.png;
                     summary $OUT/onemap.json)
  HTTP answers       $OUT/http_locate.json, $OUT/http_report.json (wangge serve)
  closed loop        $OUT/rules.txt (deadline rules), $OUT/incident_1.json (report to close),
                     $OUT/incident_2.json (escalated), $OUT/stats_town.json,
                     $EXPORT/stats_grids.gpkg (figures per grid with its polygon)
EOF
if [ "$validate_errors" != 0 ]; then
    echo "demo: done, but validation found $errors error(s): see $OUT/validate.json" >&2
    exit 1
fi
echo "demo: done"
