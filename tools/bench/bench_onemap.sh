#!/usr/bin/env bash
# bench_onemap.sh -- `wangge onemap` on the demo county, phase by phase.
#
#   1. The synthetic county (wg_gencounty --scale county --seed 42: 625 grids,
#      1,078 micro-grids, 11,707 officers, 200,000 incidents stored with
#      `place --store`, the road graph) loaded into out/bench/onemap.sqlite,
#      as tools/demo.sh does. An existing workspace there is reused.
#   2. `wangge onemap` run R times (default 2); each run prints its wall and CPU
#      seconds and the phases of its JSON summary (units, points, grid_stats,
#      service, service_copy, heatmap, copies; mbtiles and geojson are the
#      worker threads' own times, which overlap the heatmap and each other).
#      With --baseline BIN, BIN (another build's wangge) runs before each run
#      of this build, on the same workspace, so both are measured in the same
#      minutes (a shared machine's load changes from minute to minute).
#
# usage: bash tools/bench/bench_onemap.sh [--repeat R] [--baseline BIN] [--no-build]
# Environment: WG_BENCH_BUILD (default build/), WG_BENCH_OUT (default out/bench/).
# Not part of the test suite.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$ROOT/tools/bench/lib.sh"
REPEAT=2
BASELINE=
BUILD_IT=1
while [ $# -gt 0 ]; do
    case "$1" in
    --repeat) REPEAT=$2; shift 2 ;;
    --baseline) BASELINE=$2; shift 2 ;;
    --no-build) BUILD_IT=0; shift ;;
    -h|--help) sed -n 2,18p "$0"; exit 0 ;;
    *) echo "bench_onemap.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
BUILD=${WG_BENCH_BUILD:-$ROOT/build}
OUT=${WG_BENCH_OUT:-$ROOT/out/bench}
WANGGE=$BUILD/tools/wangge
if [ "$BUILD_IT" = 1 ]; then
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$BUILD" -j "$(nproc)" >/dev/null
fi
mkdir -p "$OUT"
WS=$OUT/onemap.sqlite
GEN=$OUT/onemap_county
if [ ! -s "$WS" ] || [ ! -s "$WS.graph" ]; then
    echo "loading the demo county into $WS ..." >&2
    rm -rf "$GEN" "$WS" "$WS".*
    mkdir -p "$GEN"
    "$BUILD/fixtures/wg_gencounty" --scale county --seed 42 -o "$GEN" >/dev/null
    q() { "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; }
    q load_units "$WANGGE" "$WS" "$GEN"
    q "$WANGGE" import-officers "$WS" "$GEN/officers.csv"
    q "$WANGGE" place "$WS" "$GEN/incidents.csv" -o "$OUT/onemap_placed.csv" --crs-field crs --store
    q "$WANGGE" roads "$WS" "$GEN/roads.shp"
fi

run() { # LABEL BIN
    local dir=$OUT/onemap_$1 t0 t1
    rm -rf "$dir"
    t0=$EPOCHREALTIME
    "$2" onemap "$WS" -o "$dir" >"$OUT/onemap_$1.json" 2>"$OUT/onemap_$1.err" ||
        { cat "$OUT/onemap_$1.err" >&2; exit 1; }
    t1=$EPOCHREALTIME
    python3 - "$1" "$OUT/onemap_$1.json" "$t0" "$t1" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PYEOF'
import json, sys
label, path, t0, t1, load = sys.argv[1:]
s = json.load(open(path))
ph = " ".join("%s %.1f" % kv for kv in s.get("phases", {}).items())
cpu = s.get("cpu_seconds")
print("%-9s wall %6.1f s  cpu %s  load %s  %s" % (label, float(t1) - float(t0),
      "%.1f s" % cpu if cpu is not None else "  -  ", load, ph))
PYEOF
}
for _ in $(seq "$REPEAT"); do
    [ -n "$BASELINE" ] && run baseline "$BASELINE"
    run this "$WANGGE"
done
