#!/usr/bin/env bash
# bench_route.sh -- routing and service areas: wangge against pgRouting on the
# same directed edges with the same integer costs, in one run.
#
#   1. PostgreSQL 15 + PostGIS 3 + pgRouting: installed (apt-get) if missing,
#      cluster started, database wangge_bench recreated.
#   2. wangge built with -DWG_BENCH=ON (Release) into build-bench/.
#   3. The synthetic county (wg_gencounty --seed 42) and its road graph
#      (`wangge roads`) into out/bench/route-<scale>.wangge, unless there.
#   4. The graph's arcs of the car profile (bench_route edges: one row per
#      direction, cost = the arc's time in integer milliseconds, exactly what
#      wangge searches on) loaded into the table `edges` (id, source, target,
#      cost) with \copy.
#   5. Routes: N random node pairs of the main network, routed by wangge
#      (wg_route_compute, node to node through the public API, snapping
#      included, contraction hierarchy) and by pgr_dijkstra (one call per pair,
#      directed, timed with clock_timestamp() inside the server); per pair the
#      two costs are compared (in ms; a mismatch is any difference).
#   6. Service areas from two nodes (a pair's source, and the node nearest the
#      middle of the network's frame: the largest area): the nodes reached
#      within M minutes, wangge's search against pgr_drivingDistance
#      (directed), set differences printed; and the whole polygon
#      (wg_isochrone_compute: search, pieces, raster, outline), on one thread
#      per CPU and on one thread.
#   7. One table on stdout, also saved to out/bench/route.txt.
#
# usage: bash tools/bench/bench_route.sh [--scale large|county|tiny] [--pairs N]
#                                        [--minutes M] [--seed S] [--no-build]
#   --scale S    generator scale (default large: ~430,000 nodes, 1.27M arcs)
#   --pairs N    random routes (default 100; pgr_dijkstra reads every edge on
#                each call, about a second a pair on the large network)
#   --minutes M  service-area time (default 30)
#   --seed S     pairs and service-area origin (default 1)
#   --no-build   use the binaries already in build-bench/ as they are
# Environment: WG_BENCH_BUILD, WG_BENCH_OUT override build-bench/ and out/bench/.
# Needs root or sudo for apt-get and for running psql as the postgres user.
# Not part of the test suite.
set -euo pipefail
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SCALE=large
NPAIRS=100
MINUTES=30
SEED=1
DB=wangge_bench
BUILD_IT=1
while [ $# -gt 0 ]; do
    case "$1" in
        --scale) SCALE=${2:?--scale needs large, county or tiny}; shift ;;
        --pairs) NPAIRS=${2:?--pairs needs a number}; shift ;;
        --minutes) MINUTES=${2:?--minutes needs a number}; shift ;;
        --seed) SEED=${2:?--seed needs a number}; shift ;;
        --no-build) BUILD_IT=0 ;;
        -h|--help) sed -n '2,34p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench_route.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done
case "$SCALE" in large|county|tiny) ;; *) echo "bench_route.sh: --scale large|county|tiny" >&2; exit 2 ;; esac
case "$NPAIRS" in ''|*[!0-9]*|0) echo "bench_route.sh: --pairs needs a number >= 1" >&2; exit 2 ;; esac
case "$SEED" in ''|*[!0-9]*) echo "bench_route.sh: --seed needs a number" >&2; exit 2 ;; esac
awk -v m="$MINUTES" 'BEGIN { exit !(m + 0 > 0 && m + 0 <= 1440) }' ||
    { echo "bench_route.sh: --minutes needs minutes in (0, 1440]" >&2; exit 2; }

BUILD=${WG_BENCH_BUILD:-$ROOT/build-bench}
OUT=${WG_BENCH_OUT:-$ROOT/out/bench}
DATA=$OUT/$SCALE
WS=$OUT/route-$SCALE.wangge
RUN=$OUT/route
NCPU=$(nproc 2>/dev/null || echo 1)

. "$ROOT/tools/bench/lib.sh"

# ---- 1. PostgreSQL + PostGIS + pgRouting ----------------------------------
pg_start postgresql-15-postgis-3 postgresql-15-pgrouting
pg_fresh_db postgis pgrouting
PG_VERSION=$(pg -At -c "SELECT current_setting('server_version')")
PGR_VERSION=$(pg -At -c "SELECT pgr_version()")
say "PostgreSQL $PG_VERSION, pgRouting $PGR_VERSION"

# ---- 2. build ---------------------------------------------------------------
mkdir -p "$OUT" "$RUN"
chmod a+rx "$OUT" "$RUN" 2>/dev/null || true
if [ "$BUILD_IT" = 1 ]; then
    say "building wangge with -DWG_BENCH=ON into $BUILD"
    { cmake -S "$ROOT" -B "$BUILD" -DWG_BENCH=ON -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release &&
        cmake --build "$BUILD" -j"$NCPU" --target wangge_cli wg_gencounty bench_route; } \
        >"$OUT/route-build.log" 2>&1 ||
        { tail -n 30 "$OUT/route-build.log" >&2; die "the build failed (log: $OUT/route-build.log)"; }
fi
W=$BUILD/tools/wangge
B=$BUILD/tools/bench/bench_route
for b in "$W" "$B" "$BUILD/fixtures/wg_gencounty"; do [ -x "$b" ] || die "$b was not built"; done

# ---- 3. county, workspace, graph ------------------------------------------------
if [ ! -s "$WS" ] || [ ! -s "$WS.graph" ]; then
    if [ ! -s "$DATA/roads.shp" ]; then
        say "generating the $SCALE county (seed 42) into $DATA"
        mkdir -p "$DATA"
        "$BUILD/fixtures/wg_gencounty" --scale "$SCALE" --seed 42 -o "$DATA" >"$DATA/summary.json"
    fi
    say "building the road graph into $WS (a minute on the large county)"
    rm -f "$WS" "$WS.graph"
    "$W" init "$WS" >/dev/null
    "$W" import-grids "$WS" "$DATA/admin.shp" --level-field level --parent-field parent >/dev/null
    "$W" roads "$WS" "$DATA/roads.shp" >"$RUN/roads.txt"
fi

# ---- 4. the same arcs into PostgreSQL ------------------------------------------
say "exporting the car profile's arcs"
"$B" "$WS" edges "$RUN/edges.csv" >"$RUN/edges.txt"
NARCS=$(figure "$RUN/edges.txt" arcs)
NNODES=$(figure "$RUN/edges.txt" nodes)
chmod a+r "$RUN"/*.csv
say "loading $NARCS arcs into PostgreSQL"
t0=$EPOCHREALTIME
pg <<SQL
CREATE TABLE edges (id bigint PRIMARY KEY, source bigint NOT NULL, target bigint NOT NULL,
                    cost double precision NOT NULL);
\copy edges FROM '$RUN/edges.csv' WITH (FORMAT csv, HEADER true)
CREATE INDEX ON edges (source);
ANALYZE edges;
SQL
LOAD_S=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')

# ---- 5. routes ---------------------------------------------------------------------
say "routing $NPAIRS random pairs with wangge"
"$B" "$WS" pairs "$NPAIRS" "$SEED" "$RUN/pairs.csv" >"$RUN/wangge_pairs.txt"
chmod a+r "$RUN/pairs.csv"
say "routing the same pairs with pgr_dijkstra (one call a pair)"
pg <<SQL >"$RUN/pgr_pairs.log"
CREATE TABLE pairs (pair int PRIMARY KEY, source bigint, target bigint, wg_cost double precision);
\copy pairs FROM '$RUN/pairs.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE pgr_res (pair int, cost double precision, ms double precision);
DO \$\$
DECLARE p record; t0 timestamptz; c double precision;
BEGIN
  FOR p IN SELECT * FROM pairs ORDER BY pair LOOP
    t0 := clock_timestamp();
    SELECT agg_cost INTO c FROM pgr_dijkstra('SELECT id, source, target, cost FROM edges',
                                             p.source, p.target, directed => true)
     WHERE edge = -1;
    INSERT INTO pgr_res VALUES (p.pair, c, extract(epoch FROM clock_timestamp() - t0) * 1000);
  END LOOP;
END \$\$;
SQL
read -r PGR_P50 PGR_P99 MISMATCH NCMP < <(pg -At -F ' ' <<'SQL'
SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY r.ms),
       percentile_disc(0.99) WITHIN GROUP (ORDER BY r.ms),
       count(*) FILTER (WHERE r.cost IS DISTINCT FROM p.wg_cost),
       count(*)
FROM pgr_res r JOIN pairs p USING (pair);
SQL
)
pg -At -F ',' -c "SELECT p.pair, p.source, p.target, p.wg_cost, r.cost FROM pgr_res r JOIN pairs p
                  USING (pair) WHERE r.cost IS DISTINCT FROM p.wg_cost ORDER BY pair" \
    >"$RUN/route_mismatches.csv"
WG_P50=$(figure "$RUN/wangge_pairs.txt" route_p50_ms)
WG_P99=$(figure "$RUN/wangge_pairs.txt" route_p99_ms)

# ---- 6. service areas ---------------------------------------------------------------
# Two origins: a pair's source (seed-dependent; the first ones lie near the
# county's edge) and the node nearest the middle of the network's frame,
# whose 30-minute area is the largest (about 700 km2 on `large`).
service_area() { # service_area TAG LABEL NODE -> $RUN/sa_TAG.row (two table rows)
    local tag=$1 label=$2 origin=$3
    say "service area: $MINUTES minutes from node $origin ($tag)"
    "$B" "$WS" iso "$origin" "$MINUTES" "$RUN/wangge_nodes_$tag.txt" >"$RUN/wangge_iso_$tag.txt"
    chmod a+r "$RUN/wangge_nodes_$tag.txt"
    local limit_ms
    limit_ms=$(awk -v m="$MINUTES" 'BEGIN { printf "%.3f", m * 60000 }')
    pg >"$RUN/pgr_iso_$tag.log" <<SQL
DROP TABLE IF EXISTS wg_nodes, pgr_nodes, dd_time;
CREATE TABLE wg_nodes (node bigint PRIMARY KEY);
\copy wg_nodes FROM '$RUN/wangge_nodes_$tag.txt'
CREATE TABLE pgr_nodes AS SELECT node, agg_cost FROM pgr_drivingDistance(
    'SELECT id, source, target, cost FROM edges', $origin, $limit_ms, directed => true);
CREATE TABLE dd_time AS SELECT 0::double precision AS ms;
DO \$\$
DECLARE t0 timestamptz; n bigint;
BEGIN
  t0 := clock_timestamp();
  SELECT count(*) INTO n FROM pgr_drivingDistance('SELECT id, source, target, cost FROM edges',
                                                  $origin, $limit_ms, directed => true);
  UPDATE dd_time SET ms = extract(epoch FROM clock_timestamp() - t0) * 1000;
END \$\$;
SQL
    local pgr_nodes only_wg only_pgr dd_ms
    read -r pgr_nodes only_wg only_pgr dd_ms < <(pg -At -F ' ' <<'SQL'
SELECT (SELECT count(*) FROM pgr_nodes),
       (SELECT count(*) FROM wg_nodes w WHERE NOT EXISTS (SELECT 1 FROM pgr_nodes p WHERE p.node = w.node)),
       (SELECT count(*) FROM pgr_nodes p WHERE NOT EXISTS (SELECT 1 FROM wg_nodes w WHERE w.node = p.node)),
       (SELECT round(ms::numeric, 1) FROM dd_time);
SQL
)
    local f="$RUN/wangge_iso_$tag.txt"
    awk -v a="$(figure "$f" iso_search_only_ms)" -v b="$dd_ms" -v m="$MINUTES" -v t="$label" \
        -v nw="$(figure "$f" iso_nodes)" -v np="$pgr_nodes" -v ow="$only_wg" -v op="$only_pgr" 'BEGIN {
        printf "%-44s %12.2f %12.1f %10.0f  %d vs %d nodes: %d only wangge, %d only pgRouting\n",
               sprintf("%g-min reachable nodes, %s", m, t), a, b, b / a, nw, np, ow, op }' >"$RUN/sa_$tag.row"
    awk -v a="$(figure "$f" iso_total_ms)" -v a1="$(figure "$f" iso_total_1t_ms)" -v m="$MINUTES" \
        -v t="$label" -v n="$NCPU" -v s="$(figure "$f" iso_search_ms)" -v pc="$(figure "$f" iso_pieces_ms)" \
        -v r="$(figure "$f" iso_raster_ms)" -v o="$(figure "$f" iso_outline_ms)" \
        -v ar="$(figure "$f" iso_area_km2)" -v c="$(figure "$f" iso_cell_m)" 'BEGIN {
        printf "%-44s %12.1f %12s %10s  %.1f km2, %g m cells; search %.1f + pieces %.1f + raster %.1f + outline %.1f ms; 1 thread %.1f ms\n",
               sprintf("%g-min polygon, %s, %d thr", m, t, n), a, "-", "-", ar, c, s, pc, r, o, a1 }' >>"$RUN/sa_$tag.row"
}
ORIGIN=$(awk -F, -v s="$SEED" 'NR == 2 + (s % 10) { print $2 }' "$RUN/pairs.csv")
[ -n "$ORIGIN" ] || ORIGIN=$(awk -F, 'NR == 2 { print $2 }' "$RUN/pairs.csv")
service_area source "from a pair's source" "$ORIGIN"
MIDDLE=$("$B" "$WS" middle)
service_area middle "from the middle" "$MIDDLE"

# ---- 7. the table -------------------------------------------------------------------------
{
    printf 'wangge routing benchmark: scale %s, %s nodes, %s directed edges (car); %s CPUs; %s\n' \
        "$SCALE" "$NNODES" "$NARCS" "$NCPU" "$(date '+%Y-%m-%d %H:%M')"
    printf 'PostgreSQL %s, pgRouting %s; load average %s\n\n' "$PG_VERSION" "$PGR_VERSION" \
        "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf '%-44s %12s %12s %10s  %s\n' "query" "wangge ms" "pgRouting ms" "x faster" "answers"
    awk -v a="$WG_P50" -v b="$PGR_P50" -v mm="$MISMATCH" -v n="$NCMP" 'BEGIN {
        printf "%-44s %12.3f %12.1f %10.0f  %d of %d costs differ\n", "route p50 (pgr_dijkstra)", a, b, b / a, mm, n }'
    awk -v a="$WG_P99" -v b="$PGR_P99" 'BEGIN {
        printf "%-44s %12.3f %12.1f %10.0f\n", "route p99", a, b, b / a }'
    cat "$RUN/sa_source.row" "$RUN/sa_middle.row"
    printf '\nloading the edges into PostgreSQL: %s s; pairs: %s; mismatches: %s\n' "$LOAD_S" \
        "$RUN/pairs.csv" "$RUN/route_mismatches.csv"
} | tee "$OUT/route.txt"
