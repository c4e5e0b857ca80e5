#!/usr/bin/env bash
# bench_store.sh -- `wangge place WS INPUT -o OUT --store`: placing a year of
# hotline incidents and keeping them in the workspace (issues 3 and 7).
#
#   1. The synthetic county (wg_gencounty --scale county|large --seed 42:
#      200,000 or 1,000,000 incidents) loaded into OUT/store-SCALE.wangge
#      (admin units, grids, micro-grids, exclusive grids), once, and kept as
#      the empty base every run copies.
#   2. Timed, on a fresh copy of that base each time (so every run stores
#      into an empty incidents table, as a first history import does):
#      `place --store` CSV -> CSV and CSV -> GeoPackage (the demo's command),
#      and `place` CSV -> CSV without storing for reference. Wall seconds and
#      CPU seconds (user + sys, from GNU time), best of R runs.
#   3. With --baseline BIN, the same runs with another wangge binary (e.g. a
#      build of an older commit), interleaved run by run so both see the same
#      load; and the stored incidents of both compared with SQL.
#
# usage: bash tools/bench/bench_store.sh [--scale county|large] [--repeat R]
#            [--baseline PATH/TO/wangge] [--no-build]
# Environment: WG_BENCH_BUILD (default build/), WG_BENCH_OUT (default out/bench/).
# Needs GNU time (/usr/bin/time) and the sqlite3 shell. Not part of the tests.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$ROOT/tools/bench/lib.sh"
SCALE=county
REPEAT=3
BASE_BIN=
BUILD_IT=1
while [ $# -gt 0 ]; do
    case "$1" in
    --scale) SCALE=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --baseline) BASE_BIN=$2; shift 2 ;;
    --no-build) BUILD_IT=0; shift ;;
    -h|--help) sed -n 2,21p "$0"; exit 0 ;;
    *) echo "bench_store.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
BUILD=${WG_BENCH_BUILD:-$ROOT/build}
OUT=${WG_BENCH_OUT:-$ROOT/out/bench}
WANGGE=$BUILD/tools/wangge
GEN=$BUILD/fixtures/wg_gencounty
if [ "$BUILD_IT" = 1 ]; then
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$BUILD" -j2 --target wangge_cli wg_gencounty >/dev/null
fi
mkdir -p "$OUT"
CTY=$OUT/store-$SCALE
BASE=$OUT/store-$SCALE.wangge
if [ ! -f "$CTY/incidents.csv" ]; then
    echo "generating the $SCALE county into $CTY"
    mkdir -p "$CTY"
    "$GEN" --scale "$SCALE" --seed 42 -o "$CTY" >"$CTY/summary.json"
fi
if [ ! -f "$BASE" ]; then
    echo "loading its grids into $BASE"
    load_units "$WANGGE" "$BASE" "$CTY" >/dev/null || { echo "loading $BASE failed" >&2; exit 1; }
fi
ROWS=$(($(wc -l <"$CTY/incidents.csv") - 1))
RUN=$OUT/store-run
mkdir -p "$RUN"

# one BIN LABEL ARGS... -- one timed run on a fresh copy; prints "wall cpu".
one() {
    local bin=$1 label=$2
    shift 2
    rm -f "$RUN/$label".* "$RUN/ws-$label".wangge*
    cp "$BASE" "$RUN/ws-$label.wangge"
    /usr/bin/time -f "%e %U %S" -o "$RUN/time" "$bin" place "$RUN/ws-$label.wangge" \
        "$CTY/incidents.csv" --crs-field crs "$@" >/dev/null 2>"$RUN/$label.log" ||
        { cat "$RUN/$label.log" >&2; exit 1; }
    awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' "$RUN/time"
}

declare -A BEST_W BEST_C
record() { # record KEY "wall cpu"
    local w=${2% *} c=${2#* }
    if [ -z "${BEST_W[$1]:-}" ] || awk -v a="$w" -v b="${BEST_W[$1]}" 'BEGIN { exit !(a < b) }'; then
        BEST_W[$1]=$w
    fi
    if [ -z "${BEST_C[$1]:-}" ] || awk -v a="$c" -v b="${BEST_C[$1]}" 'BEGIN { exit !(a < b) }'; then
        BEST_C[$1]=$c
    fi
}

BINS=("wangge:$WANGGE")
[ -n "$BASE_BIN" ] && BINS+=("baseline:$BASE_BIN")
CASES=("store-csv:-o:RUN/out.csv:--store" "store-gpkg:-o:RUN/out.gpkg:--store" "place-csv:-o:RUN/out.csv")
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 1; r <= REPEAT; r++)); do
    for c in "${CASES[@]}"; do
        IFS=: read -r -a parts <<<"$c"
        name=${parts[0]}
        args=("${parts[@]:1}")
        for b in "${BINS[@]}"; do
            tag=${b%%:*}
            out=${args[1]/RUN/$RUN}
            out=${out/out./$tag-$name.}
            rest=("${args[@]:2}")
            record "$tag/$name" "$(one "${b#*:}" "$tag-$name" -o "$out" "${rest[@]}")"
        done
    done
done
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"
printf '\n%s county, %d rows, best of %d\n' "$SCALE" "$ROWS" "$REPEAT"
printf '%-10s %-11s %9s %9s %12s\n' binary case wall_s cpu_s rows/s_wall
for b in "${BINS[@]}"; do
    tag=${b%%:*}
    for c in "${CASES[@]}"; do
        name=${c%%:*}
        w=${BEST_W[$tag/$name]}
        printf '%-10s %-11s %9s %9s %12.0f\n' "$tag" "$name" "$w" "${BEST_C[$tag/$name]}" \
            "$(awk -v n="$ROWS" -v w="$w" 'BEGIN { print n / w }')"
    done
done
if [ -n "$BASE_BIN" ]; then
    # The last store-csv runs of both binaries: the same incidents?
    cols="id, ext_id, reported_at, category, description, src_crs, grid_code, micro_code,
          excl_codes, village_code, town_code, county_code, status, place_status, dist_m,
          level, deadline, hex(geom), closed_at, satisfaction, level_since, deadline_clock,
          dispatch_deadline"
    diff=$(sqlite3 "$RUN/ws-wangge-store-csv.wangge" \
        "ATTACH '$RUN/ws-baseline-store-csv.wangge' AS b;
         SELECT (SELECT count(*) FROM (SELECT $cols FROM main.incidents EXCEPT SELECT $cols FROM b.incidents))
              + (SELECT count(*) FROM (SELECT $cols FROM b.incidents EXCEPT SELECT $cols FROM main.incidents))
              + (SELECT count(*) FROM (SELECT * FROM main.idx_incidents_geom EXCEPT SELECT * FROM b.idx_incidents_geom))
              + abs((SELECT count(*) FROM main.incidents) - (SELECT count(*) FROM b.incidents));")
    echo "stored incidents differing from the baseline's: $diff"
fi
