#!/usr/bin/env bash
# bench_place.sh -- placing a county's incidents in their grids: wangge against
# PostGIS and plain GEOS, on the same machine, the same points, in one run.
#
#   1. PostgreSQL 15 + PostGIS 3: installed (apt-get) if missing, started.
#   2. wangge built with -DWG_BENCH=ON (Release) into build-bench/.
#   3. The synthetic county (wg_gencounty --seed 42) into out/bench/<scale>/,
#      loaded into a workspace as the README of the CLI says.
#   4. The first N incidents converted once to WGS84 (GCJ-02 rows through
#      libwangge's own conversion) into out/bench/points.csv: every engine
#      reads exactly these doubles.
#   5. Timed: wangge place (CSV in, CSV out; all threads and 1 thread), the
#      locator alone in memory (bench_locator), PostGIS (load, GiST, the
#      ST_Covers join as planned and forced grid by grid, each in parallel and
#      on one process), GEOS prepared geometries in an STRtree
#      (bench_geos_place, one thread).
#   6. Answers compared: points a peer puts in exactly one grid but wangge
#      elsewhere or nowhere; points on a boundary (covered by 2+ grids),
#      where wangge must pick one of them; points in no grid that wangge
#      calls inside.
#   7. One table on stdout, also saved to out/bench/place.txt.
#
# usage: bash tools/bench/bench_place.sh [--scale large|county] [--points N] [--repeat R]
#                                        [--no-build]
#   --scale S    generator scale (default large: ~4000 grids, 1M incidents)
#   --points N   place the first N incidents (default 1000000; capped at what
#                the generator wrote: county has 200000)
#   --repeat R   time every engine R times and keep the best (default 1; use
#                3 on a machine shared with other jobs)
#   --no-build   use the binaries already in build-bench/ as they are
# Environment: WG_BENCH_BUILD, WG_BENCH_OUT override build-bench/ and out/bench/.
# Needs root or sudo for apt-get and for running psql as the postgres user.
# Not part of the test suite.
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(...) stops the script too

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SCALE=large
NPOINTS=1000000
SEED=42
DB=wangge_bench
BUILD_IT=1
REPEAT=1
while [ $# -gt 0 ]; do
    case "$1" in
        --scale) SCALE=${2:?--scale needs large or county}; shift ;;
        --points) NPOINTS=${2:?--points needs a number}; shift ;;
        --repeat) REPEAT=${2:?--repeat needs a number}; shift ;;
        --no-build) BUILD_IT=0 ;;
        -h|--help) sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench_place.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done
case "$SCALE" in large|county|tiny) ;; *) echo "bench_place.sh: --scale large|county" >&2; exit 2 ;; esac
case "$NPOINTS" in ''|*[!0-9]*) echo "bench_place.sh: --points needs a number" >&2; exit 2 ;; esac
case "$REPEAT" in ''|*[!0-9]*|0) echo "bench_place.sh: --repeat needs a number >= 1" >&2; exit 2 ;; esac

BUILD=${WG_BENCH_BUILD:-$ROOT/build-bench}
OUT=${WG_BENCH_OUT:-$ROOT/out/bench}
DATA=$OUT/$SCALE
WS=$OUT/$SCALE.wangge
PTS=$OUT/points.csv
NCPU=$(nproc 2>/dev/null || echo 1)
T_START=$(date +%s)

. "$ROOT/tools/bench/lib.sh"

# ---- 1. PostgreSQL + PostGIS ---------------------------------------------
pg_start postgresql-15-postgis-3
for tool in ogr2ogr python3 cmake; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (bash tools/deps.sh installs it)"
done
pg_fresh_db postgis
PG_VERSION=$(pg -At -c "SELECT current_setting('server_version')")
POSTGIS_VERSION=$(pg -At -c "SELECT postgis_lib_version()")
say "PostgreSQL $PG_VERSION, PostGIS $POSTGIS_VERSION"

# ---- 2. build ---------------------------------------------------------------
mkdir -p "$OUT"
if [ "$BUILD_IT" = 1 ]; then
    say "building wangge with -DWG_BENCH=ON into $BUILD"
    { cmake -S "$ROOT" -B "$BUILD" -DWG_BENCH=ON -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release &&
        cmake --build "$BUILD" -j"$NCPU"; } >"$OUT/build.log" 2>&1 ||
        { tail -n 30 "$OUT/build.log" >&2; die "the build failed (log: $OUT/build.log)"; }
else
    say "using the binaries in $BUILD as they are (--no-build)"
fi
WANGGE=$BUILD/tools/wangge
GEN=$BUILD/fixtures/wg_gencounty
BENCH=$BUILD/tools/bench
for b in "$WANGGE" "$GEN" "$BENCH/bench_points" "$BENCH/bench_locator" "$BENCH/bench_geos_place"; do
    [ -x "$b" ] || die "$b was not built (is tools/bench hooked into tools/CMakeLists.txt?)"
done

# ---- 3. county and workspace -------------------------------------------------
rm -rf "$DATA" "$WS"
say "generating the $SCALE county (seed $SEED) into $DATA"
"$GEN" --scale "$SCALE" --seed "$SEED" -o "$DATA" >"$OUT/$SCALE.summary.json" 2>"$OUT/$SCALE.gen.log" ||
    { cat "$OUT/$SCALE.gen.log" >&2; die "wg_gencounty --scale $SCALE --seed $SEED failed"; }
say "loading the workspace $WS"
load_units "$WANGGE" "$WS" "$DATA" >"$OUT/load.log" 2>&1 || { cat "$OUT/load.log" >&2; die "loading the workspace failed"; }

# ---- 4. one WGS84 point file ---------------------------------------------------
say "converting the first $NPOINTS incidents to WGS84 once ($PTS)"
"$BENCH/bench_points" "$DATA/incidents.csv" "$PTS" --limit "$NPOINTS" >"$OUT/points.log"
N=$(($(wc -l <"$PTS") - 1))
[ "$N" -gt 0 ] || die "no points in $PTS"
[ "$N" -eq "$NPOINTS" ] || say "note: the $SCALE county has $N usable incidents, not $NPOINTS: using $N"
NGRIDS=$(ogrinfo -ro -q "$WS" -sql \
    "SELECT count(*) AS n FROM units WHERE level = 'grid' AND valid_to IS NULL" | awk '/n \(Integer/ { print $NF }')

# ---- 5a. wangge ----------------------------------------------------------------
# Wall time of the whole command, as a user waits for it (best of --repeat);
# peak RSS from GNU time if present.
timed() { # timed NAME CMD... -> $OUT/NAME.log (stderr), $OUT/NAME.time ("seconds rss_kib")
    local name=$1 t0 best="" rss=0 r
    shift
    for ((r = 0; r < REPEAT; r++)); do
        t0=$(now)
        if [ -x /usr/bin/time ]; then
            /usr/bin/time -f '%M' -o "$OUT/$name.rss" "$@" >"$OUT/$name.out" 2>"$OUT/$name.log" ||
                { cat "$OUT/$name.log" >&2; die "$name failed"; }
            rss=$(tail -n 1 "$OUT/$name.rss")
        else
            "$@" >"$OUT/$name.out" 2>"$OUT/$name.log" || { cat "$OUT/$name.log" >&2; die "$name failed"; }
        fi
        best=$(min "$best" "$(elapsed "$t0" "$(now)")")
    done
    echo "$best $rss" >"$OUT/$name.time"
}
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
say "load average before timing: $LOAD_BEFORE (other jobs on the machine skew the figures)"
# The locator's indexes are cached beside the workspace (WS.locator) after
# the first build: time a build without the cache, then fill it, so every
# timed run below starts from the same state (cached).
say "wangge locator build without the index cache (bench_locator, WANGGE_INDEX_CACHE=0)"
rm -f "$WS.locator"
WANGGE_INDEX_CACHE=0 "$BENCH/bench_locator" "$WS" "$PTS" --limit 1 >"$OUT/locator_cold.txt"
"$WANGGE" locate "$WS" --lon 0 --lat 0 >/dev/null 2>&1 || true # builds and saves the cache
[ -f "$WS.locator" ] || say "note: no index cache was written beside $WS: every run builds"
say "wangge place, $NCPU threads"
timed place_nt "$WANGGE" place "$WS" "$PTS" -o "$OUT/wangge.csv" --threads "$NCPU"
say "wangge place, 1 thread"
timed place_1t "$WANGGE" place "$WS" "$PTS" -o "$OUT/wangge_1t.csv" --threads 1
say "wangge locator in memory (bench_locator), 1 and $NCPU threads"
"$BENCH/bench_locator" "$WS" "$PTS" --threads "$NCPU" --repeat "$REPEAT" >"$OUT/locator.txt"

# ---- 5b. PostGIS ----------------------------------------------------------------
say "PostGIS: loading the grids (ogr2ogr PGDump of the workspace, hex EWKB: exact)"
t0=$(now)
ogr2ogr -f PGDump "$OUT/grids.sql" "$WS" --config PG_USE_COPY YES -nln grids -nlt MULTIPOLYGON \
    -lco GEOMETRY_NAME=geom -lco SPATIAL_INDEX=NONE \
    -sql "SELECT code, geom FROM units WHERE level = 'grid' AND valid_to IS NULL"
pg -f - <"$OUT/grids.sql" >/dev/null
pg -c "CREATE INDEX grids_geom ON grids USING gist (geom)" -c "ANALYZE grids"
T_PG_GRIDS=$(elapsed "$t0" "$(now)")
say "PostGIS: loading $N points (COPY, ST_MakePoint, GiST)"
t0=$(now)
# Through psql's stdin: the postgres user need not be able to read $OUT.
pg -c "CREATE UNLOGGED TABLE pts_raw(id text, lon float8, lat float8)" \
   -c "\\copy pts_raw FROM pstdin WITH (FORMAT csv, HEADER true)" <"$PTS" >/dev/null
T_PG_COPY=$(elapsed "$t0" "$(now)")
t1=$(now)
pg -f - >/dev/null <<'SQL'
CREATE UNLOGGED TABLE pts AS
    SELECT id, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geometry(Point, 4326) AS geom FROM pts_raw;
CREATE INDEX pts_geom ON pts USING gist (geom);
ANALYZE pts;
SQL
T_PG_PTS=$(elapsed "$t0" "$(now)")
T_PG_GEOM=$(elapsed "$t1" "$(now)")

# The join as written in issue 3, and the same join forced to run grid by
# grid. Which table the planner puts outside matters tenfold: with the grids
# outside, ST_Covers sees the same polygon for a run of points and PostGIS
# reuses its prepared form; with the points outside, the polygon changes on
# every call. The planner picks either, depending on its statistics, so both
# are timed. OFFSET 0 stops it from flattening the LATERAL subquery.
JOIN="SELECT p.id, g.code FROM pts p JOIN grids g ON ST_Covers(g.geom, p.geom)"
PERGRID="SELECT p.id, g.code FROM grids g CROSS JOIN LATERAL
    (SELECT pts.id FROM pts WHERE ST_Covers(g.geom, pts.geom) OFFSET 0) p"
# EXPLAIN ANALYZE runs a query to the end on the server without shipping
# rows; TIMING OFF keeps per-row clock calls out of it. For parallel runs the
# parallel costs are zeroed, or the planner keeps a join this size on one
# process (it does at the county scale).
pg_explain() { # pg_explain NAME WORKERS QUERY -> seconds (best of --repeat); plan in $OUT/postgis_NAME_WORKERS.plan
    local par=() best="" r
    if [ "$2" -gt 0 ]; then
        par=(-c "SET parallel_setup_cost = 0" -c "SET parallel_tuple_cost = 0"
             -c "SET min_parallel_table_scan_size = 0" -c "SET min_parallel_index_scan_size = 0")
    fi
    for ((r = 0; r < REPEAT; r++)); do
        pg -c "SET max_parallel_workers_per_gather = $2" "${par[@]}" \
           -c "EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) $3" >"$OUT/postgis_$1_$2.plan"
        best=$(min "$best" "$(awk '/Execution Time/ { printf "%.3f", $3 / 1000 }' "$OUT/postgis_$1_$2.plan")")
    done
    echo "$best"
}
# "1+k workers, points outer": the leader and k workers, and the outer table of the join.
plan_label() { # plan_label NAME WORKERS
    awk -v w="$2" '
        /Workers Launched/ { k = $3 }
        !outer && match($0, /Seq Scan on [a-z_]+/) { split(substr($0, RSTART, RLENGTH), a, " "); outer = a[4] }
        END { printf "%s, %s outer", (w > 0 ? "1+" (k + 0) " workers" : "1 process"),
                     (outer == "pts" ? "points" : outer) }' "$OUT/postgis_$1_$2.plan"
}
PG_PAR=$NCPU
pg -c "SELECT count(*) FROM pts" -c "SELECT count(*) FROM grids" >/dev/null # warm the cache
say "PostGIS: ST_Covers join, up to $PG_PAR parallel workers"
T_PG_PAR=$(pg_explain join "$PG_PAR" "$JOIN")
say "PostGIS: ST_Covers join, one process"
T_PG_1=$(pg_explain join 0 "$JOIN")
say "PostGIS: the same join grid by grid (LATERAL), up to $PG_PAR parallel workers"
T_PG_GPAR=$(pg_explain pergrid "$PG_PAR" "$PERGRID")
say "PostGIS: the same join grid by grid (LATERAL), one process"
T_PG_G1=$(pg_explain pergrid 0 "$PERGRID")
export PG_L_PAR=$(plan_label join "$PG_PAR") PG_L_1=$(plan_label join 0) \
    PG_L_GPAR=$(plan_label pergrid "$PG_PAR") PG_L_G1=$(plan_label pergrid 0)
say "PostGIS: writing its answers for the comparison"
pg -c "\\copy ($PERGRID) TO pstdout WITH (FORMAT csv, HEADER true)" >"$OUT/postgis.csv"

# ---- 5c. GEOS ---------------------------------------------------------------------
say "GEOS prepared geometries in an STRtree (bench_geos_place, 1 thread)"
"$BENCH/bench_geos_place" "$WS" "$PTS" -o "$OUT/geos.csv" --repeat "$REPEAT" >"$OUT/geos.txt"

# ---- 6 and 7. compare and tabulate ---------------------------------------------------
say "comparing answers and writing $OUT/place.txt"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
read -r T_PLACE_NT RSS_PLACE_NT <"$OUT/place_nt.time"
read -r T_PLACE_1T RSS_PLACE_1T <"$OUT/place_1t.time"
L=$OUT/locator.txt G=$OUT/geos.txt
export OUT SCALE SEED N NGRIDS NCPU REPEAT PG_PAR LOAD_BEFORE LOAD_AFTER PG_VERSION POSTGIS_VERSION \
    T_PLACE_NT RSS_PLACE_NT T_PLACE_1T RSS_PLACE_1T T_PG_GRIDS T_PG_COPY T_PG_GEOM T_PG_PTS T_PG_PAR T_PG_1 \
    T_PG_GPAR T_PG_G1
export L_COLD=$(figure "$OUT/locator_cold.txt" index_build_s) \
    L_BUILD=$(figure "$L" index_build_s) L_MIB=$(figure "$L" index_mib) \
    L_RSS=$(figure "$L" peak_rss_mib) L_1T=$(figure "$L" query_1t_s) L_NT=$(figure "$L" query_nt_s) \
    L_B1T=$(figure "$L" batch_1t_s) L_BNT=$(figure "$L" batch_nt_s) \
    G_BUILD=$(figure "$G" index_build_s) G_RSS=$(figure "$G" peak_rss_mib) G_Q=$(figure "$G" query_s) \
    G_ENGINE=$(awk '$1 == "engine" { print $3; exit }' "$G")
python3 - <<'PYEOF' | tee "$OUT/place.txt"
import csv, os, platform, time
E = os.environ
out = E["OUT"]

def read_wangge(path):
    grid, status = {}, {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            grid[r["incident_id"]] = r["wg_grid"]
            status[r["incident_id"]] = r["wg_status"]
    return grid, status

def read_postgis(path):
    cov = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            cov.setdefault(r["id"], []).append(r["code"])
    return cov

def read_geos(path):
    cov = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            cov[r["incident_id"]] = [c for c in r["grid_code"].split(";") if c]
    return cov

wg, wst = read_wangge(os.path.join(out, "wangge.csv"))
wg1, _ = read_wangge(os.path.join(out, "wangge_1t.csv"))
pgc = read_postgis(os.path.join(out, "postgis.csv"))
geo = read_geos(os.path.join(out, "geos.csv"))

def compare(cov):
    """wangge against a peer's covering sets: (single, boundary, boundary_bad, none_bad)."""
    single = boundary = boundary_bad = none_bad = 0
    for pid, g in wg.items():
        c = cov.get(pid, [])
        if len(c) == 1:
            single += g != c[0]
        elif len(c) >= 2:
            boundary += 1
            boundary_bad += g not in c
        else:
            none_bad += wst[pid] == "inside"
    return single, boundary, boundary_bad, none_bad

n = int(E["N"])
d_pg, d_geos = compare(pgc), compare(geo)
same_threads = sum(wg1.get(k) != v for k, v in wg.items())
peers_differ = sum(sorted(pgc.get(k, [])) != sorted(geo.get(k, [])) for k in wg)
counts = {s: sum(1 for v in wst.values() if v == s) for s in ("inside", "nearest", "outside")}

def f(x): return float(E[x])
rows = []  # engine, seconds, baseline seconds (wangge locator, same threads), disagreements
ncpu = int(E["NCPU"])
rows.append(("wangge place, CSV->CSV, %d threads" % ncpu, f("T_PLACE_NT"), f("L_NT"), "-"))
rows.append(("wangge place, CSV->CSV, 1 thread", f("T_PLACE_1T"), f("L_1T"), "%d vs %d thr" % (same_threads, ncpu)))
rows.append(("wangge locator, in memory, %d threads" % ncpu, f("L_NT"), f("L_NT"), "-"))
rows.append(("wangge locator, in memory, 1 thread", f("L_1T"), f("L_1T"), "-"))
rows.append(("wangge locator, batch, %d threads" % ncpu, f("L_BNT"), f("L_NT"), "-"))
rows.append(("wangge locator, batch, 1 thread", f("L_B1T"), f("L_1T"), "-"))
dis = lambda d: "%d (+%d/%d bnd, %d none)" % (d[0], d[2], d[1], d[3])
rows.append(("PostGIS join, " + E["PG_L_PAR"], f("T_PG_PAR"), f("L_NT"), dis(d_pg)))
rows.append(("PostGIS join, " + E["PG_L_1"], f("T_PG_1"), f("L_1T"), dis(d_pg)))
rows.append(("PostGIS per grid, " + E["PG_L_GPAR"], f("T_PG_GPAR"), f("L_NT"), "as above"))
rows.append(("PostGIS per grid, " + E["PG_L_G1"], f("T_PG_G1"), f("L_1T"), "as above"))
rows.append(("GEOS %s prepared+STRtree, 1 thread" % E["G_ENGINE"].split("-")[0], f("G_Q"), f("L_1T"), dis(d_geos)))

print("wangge placement benchmark: scale %s (seed %s), %d points, %s grids; %d CPUs (%s), %s%s"
      % (E["SCALE"], E["SEED"], n, E["NGRIDS"], ncpu, platform.processor() or platform.machine(),
         time.strftime("%Y-%m-%d %H:%M"),
         "; best of %s runs" % E["REPEAT"] if E["REPEAT"] != "1" else ""))
print()
print("%-44s %9s %9s %11s %9s  %s" % ("engine", "points", "seconds", "points/s", "x wangge", "disagreements"))
for name, s, base, d in rows:
    print("%-44s %9d %9.3f %11.0f %9.2f  %s" % (name, n, s, n / s if s > 0 else 0, s / base if base > 0 else 0, d))
print()
print("seconds: wangge place = the whole command (open, build, read CSV, place, write CSV);")
print("  locator = wg_locator_place() over points in memory, in input order (every level:")
print("  county to exclusive); batch = wg_locator_place_many() over the same points, which visits")
print("  them in the index's memory order (sort included) -- what wangge place uses;")
print("  PostGIS = EXPLAIN ANALYZE execution time (GiST on both tables; 1+k = leader and k")
print("  parallel workers): 'join' is the ST_Covers join as the planner runs it, 'per grid' the")
print("  same join forced grid by grid (LATERAL); GEOS = the query loop (grids only).")
print("  Loading is listed below.")
print("x wangge: seconds / the wangge locator's seconds at the same thread count (>1 = slower).")
print("disagreements: points the peer covers by exactly one grid that wangge puts elsewhere or")
print("  nowhere; +b/B bnd: of B points the peer covers by 2+ grids (a shared edge or corner), b")
print("  that wangge put in none of them; none: points in no grid that wangge calls inside.")
print("  On the 1-thread wangge place row: points whose wg_grid differs from the %d-thread run." % ncpu)
print()
print("wangge: %d inside, %d nearest (<= 30 m), %d outside" % (counts["inside"], counts["nearest"], counts["outside"]))
print("build and load:")
print("  wangge locator build      %8.3f s   no cache: open, read units, build both indexes" % f("L_COLD"))
print("  wangge locator load       %8.3f s   cached (WS.locator mapped); index %s MiB, bench_locator peak RSS %s MiB" % (f("L_BUILD"), E["L_MIB"], E["L_RSS"]))
print("  wangge place peak RSS     %8.1f MiB (%d threads), %.1f MiB (1 thread)"
      % (f("RSS_PLACE_NT") / 1024, ncpu, f("RSS_PLACE_1T") / 1024))
print("  GEOS index build          %8.3f s   (read, prepare, STRtree), peak RSS %s MiB" % (f("G_BUILD"), E["G_RSS"]))
print("  PostGIS load grids        %8.3f s   (ogr2ogr PGDump + psql + GiST)" % f("T_PG_GRIDS"))
print("  PostGIS load points       %8.3f s   (COPY %.3f s, geometry + GiST + ANALYZE %.3f s)"
      % (f("T_PG_PTS"), f("T_PG_COPY"), f("T_PG_GEOM")))
print("PostgreSQL %s, PostGIS %s; PostGIS and GEOS answers differ on %d points"
      % (E["PG_VERSION"], E["POSTGIS_VERSION"], peers_differ))
print("load average (1, 5, 15 min): %s before timing, %s after" % (E["LOAD_BEFORE"], E["LOAD_AFTER"]))
PYEOF
say "done in $(($(date +%s) - T_START)) s; table in $OUT/place.txt"
