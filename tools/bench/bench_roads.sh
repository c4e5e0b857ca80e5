#!/usr/bin/env bash
# bench_roads.sh -- building the road graph from OpenStreetMap: `wangge roads`
# on real .osm.pbf extracts and on a large PBF, against osm2pgrouting, in one run.
#
#   1. osmium-tool and osm2pgrouting installed (apt-get) if missing; for the
#      peer also PostgreSQL 15 + PostGIS 3 + pgRouting, cluster started,
#      database wangge_roads recreated.
#   2. wangge built with -DWG_BENCH=ON (Release) into build-bench/.
#   3. Every extract in the OSM directory (default /work/shared/data/osm,
#      *.osm.pbf): `wangge roads WS EXTRACT` into a new workspace, timed with
#      GNU time (wall and CPU, best of --repeat runs).
#   4. The large synthetic county (wg_gencounty --scale large --seed 42):
#      roads.shp written as OSM XML (shp2osm.py: ways tagged highway=<class>,
#      name, oneway, maxspeed; vertices that round to the same 1e-7 degree are
#      one node) and converted to PBF with `osmium cat`; `wangge roads` timed on
#      the PBF and on roads.shp, and the two graphs compared edge by edge
#      (sqlite3 on road_edges: way i is shapefile feature i-1; same attributes,
#      node ids must map one to one, lengths differ by the 1e-7 rounding).
#   5. The peer: osm2pgrouting (default mapconfig.xml plus the county's classes
#      arterial, rural, street) reading the same data as OSM XML (osmium sort of
#      each extract; the county's .osm) into wangge_roads, timed the same way.
#      A run longer than --peer-timeout is stopped and reported as such.
#   6. One table on stdout, also saved to out/bench/roads.txt.
#
# "directed" is what `wangge roads` counts in its edges/minute figure: the arcs
# of the profile that may use the most (walk: both directions of every road it
# may use); for osm2pgrouting, rows of `ways` with cost >= 0 plus rows with
# reverse_cost >= 0. Rates are directed edges per minute of wall time of the
# whole command (open, read, node, build the graph with its contraction
# hierarchies, store).
#
# usage: bash tools/bench/bench_roads.sh [--repeat N] [--osm-dir DIR] [--no-peer]
#                                        [--peer-timeout S] [--no-build]
#   --repeat N        runs of each wangge timing, best kept (default 1)
#   --osm-dir DIR     where the *.osm.pbf extracts are (default /work/shared/data/osm)
#   --no-peer         skip osm2pgrouting and PostgreSQL altogether
#   --peer-timeout S  stop osm2pgrouting after S seconds (default 600)
#   --no-build        use the binaries already in build-bench/ as they are
# Environment: WG_BENCH_BUILD, WG_BENCH_OUT override build-bench/ and out/bench/.
# Needs root or sudo for apt-get and for running psql/osm2pgrouting as postgres.
# Not part of the test suite.
set -euo pipefail
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
REPEAT=1
OSM_DIR=/work/shared/data/osm
PEER=1
PEER_TIMEOUT=600
BUILD_IT=1
DB=wangge_roads
while [ $# -gt 0 ]; do
    case "$1" in
        --repeat) REPEAT=${2:?--repeat needs a number}; shift ;;
        --osm-dir) OSM_DIR=${2:?--osm-dir needs a directory}; shift ;;
        --no-peer) PEER=0 ;;
        --peer-timeout) PEER_TIMEOUT=${2:?--peer-timeout needs seconds}; shift ;;
        --no-build) BUILD_IT=0 ;;
        -h|--help) sed -n '2,40p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench_roads.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done
case "$REPEAT" in ''|*[!0-9]*|0) echo "bench_roads.sh: --repeat needs a number >= 1" >&2; exit 2 ;; esac
case "$PEER_TIMEOUT" in ''|*[!0-9]*|0) echo "bench_roads.sh: --peer-timeout needs seconds >= 1" >&2; exit 2 ;; esac
[ -d "$OSM_DIR" ] || { echo "bench_roads.sh: no directory $OSM_DIR" >&2; exit 2; }

BUILD=${WG_BENCH_BUILD:-$ROOT/build-bench}
OUT=${WG_BENCH_OUT:-$ROOT/out/bench}
DATA=$OUT/large
RUN=$OUT/roads
NCPU=$(nproc 2>/dev/null || echo 1)

. "$ROOT/tools/bench/lib.sh"

# ---- 1. tools -------------------------------------------------------------------
need=(osmium-tool)
[ "$PEER" = 1 ] && need+=(osm2pgrouting)
apt_need "${need[@]}"
for t in osmium ogr2ogr python3 sqlite3; do
    command -v "$t" >/dev/null || die "$t is needed (osmium-tool, gdal-bin, python3, sqlite3)"
done
[ -x /usr/bin/time ] || die "GNU time (/usr/bin/time) is needed"
if [ "$PEER" = 1 ]; then
    pg_start postgresql-15-postgis-3 postgresql-15-pgrouting
    pg_fresh_db postgis pgrouting
    PG_VERSION=$(pg -At -c "SELECT current_setting('server_version')")
    PGR_VERSION=$(pg -At -c "SELECT pgr_version()")
    O2P_VERSION=$(osm2pgrouting --version 2>&1 | awk '/[0-9]\.[0-9]/ { print $NF; exit }')
    say "PostgreSQL $PG_VERSION, pgRouting $PGR_VERSION, osm2pgrouting $O2P_VERSION"
fi

# ---- 2. build ---------------------------------------------------------------------
mkdir -p "$OUT" "$RUN"
if [ "$BUILD_IT" = 1 ]; then
    say "building wangge with -DWG_BENCH=ON into $BUILD"
    { cmake -S "$ROOT" -B "$BUILD" -DWG_BENCH=ON -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release &&
        cmake --build "$BUILD" -j"$NCPU" --target wangge_cli wg_gencounty; } \
        >"$OUT/roads-build.log" 2>&1 ||
        { tail -n 30 "$OUT/roads-build.log" >&2; die "the build failed (log: $OUT/roads-build.log)"; }
fi
W=$BUILD/tools/wangge
for b in "$W" "$BUILD/fixtures/wg_gencounty"; do [ -x "$b" ] || die "$b was not built"; done

# time_roads NAME SRC -- `wangge roads` into a new workspace $RUN/NAME.wangge,
# best of $REPEAT; appends "NAME kind edges nodes directed wall cpu read_s rss_kb"
# to $RUN/wangge.tsv.
time_roads() {
    local name=$1 src=$2 ws=$RUN/$1.wangge best="" bcpu="" bread="" brss="" r
    for ((r = 1; r <= REPEAT; r++)); do
        rm -f "$ws" "$ws.graph" "$ws.locator"
        "$W" init "$ws" >/dev/null 2>&1 || die "wangge init $ws failed"
        /usr/bin/time -o "$RUN/$name.time" -f '%e %U %S %M' \
            "$W" roads "$ws" "$src" --json >"$RUN/$name.json" 2>"$RUN/$name.log" ||
            { tail -n 5 "$RUN/$name.log" >&2; die "wangge roads failed on $src"; }
        read -r wall usr sys rss <"$RUN/$name.time"
        if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN { exit !(a + 0 < b + 0) }'; then
            best=$wall
            bcpu=$(awk -v u="$usr" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
            bread=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["read_seconds"])' \
                "$RUN/$name.json")
            brss=$rss
        fi
    done
    python3 - "$RUN/$name.json" "$name" "$best" "$bcpu" "$bread" "$brss" >>"$RUN/wangge.tsv" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
directed = max(p["arcs"] for p in j["profiles"])
print("\t".join([sys.argv[2], j["kind"], str(j["edges"]), str(j["nodes"]), str(directed)] + sys.argv[3:]))
PY
}

# time_o2p NAME OSM_XML -- osm2pgrouting into $DB, appends "NAME edges nodes
# directed wall cpu status" to $RUN/o2p.tsv (status ok or timeout).
time_o2p() {
    local name=$1 osm=$2 status=ok
    chmod a+r "$osm"
    local as_pg=(runuser -u postgres --)
    [ "$(id -u)" -eq 0 ] || as_pg=(sudo -u postgres)
    if ! /usr/bin/time -o "$RUN/o2p-$name.time" -f '%e %U %S' "${as_pg[@]}" \
        timeout "$PEER_TIMEOUT" osm2pgrouting -f "$osm" -c "$RUN/mapconfig.xml" -d "$DB" \
        -U postgres -h /var/run/postgresql --clean >"$RUN/o2p-$name.log" 2>&1; then
        if grep -q 'Command exited with non-zero status 124' "$RUN/o2p-$name.time"; then
            status=timeout
        else
            status=failed
            say "osm2pgrouting failed on $osm (log: $RUN/o2p-$name.log); going on"
        fi
    fi
    local wall usr sys
    read -r wall usr sys < <(grep -v '^Command' "$RUN/o2p-$name.time")
    local cpu
    cpu=$(awk -v u="$usr" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
    if [ "$status" = ok ]; then
        read -r e n d < <(pg -At -F ' ' -c "SELECT count(*), (SELECT count(*) FROM ways_vertices_pgr),
            count(*) FILTER (WHERE cost >= 0) + count(*) FILTER (WHERE reverse_cost >= 0) FROM ways")
    else
        e=- n=- d=-
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$e" "$n" "$d" "$wall" "$cpu" "$status" >>"$RUN/o2p.tsv"
}

: >"$RUN/wangge.tsv"
: >"$RUN/o2p.tsv"
chmod a+rx "$OUT" "$RUN" 2>/dev/null || true
if [ "$PEER" = 1 ]; then
    # osm2pgrouting's default classes, and the synthetic county's
    sed 's|<tag_value name="unclassified" id="123" />|&\n    <tag_value name="arterial" id="190" />\n    <tag_value name="rural" id="191" />\n    <tag_value name="street" id="192" />|' \
        /usr/share/osm2pgrouting/mapconfig.xml >"$RUN/mapconfig.xml"
    grep -q '"street"' "$RUN/mapconfig.xml" || die "could not extend osm2pgrouting's mapconfig.xml"
    chmod a+r "$RUN/mapconfig.xml"
fi

# ---- 3. the real extracts ---------------------------------------------------------------
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
shopt -s nullglob
extracts=("$OSM_DIR"/*.osm.pbf)
shopt -u nullglob
[ ${#extracts[@]} -gt 0 ] || say "no *.osm.pbf in $OSM_DIR"
for f in "${extracts[@]}"; do
    name=$(basename "$f" .osm.pbf)
    say "wangge roads on $name"
    time_roads "$name" "$f"
    if [ "$PEER" = 1 ]; then
        # sorted: osm2pgrouting crashes on a file with ways after relations
        # (baltimore_se); the order changes nothing else
        osmium sort -O -o "$RUN/$name.osm" "$f"
        say "osm2pgrouting on $name"
        time_o2p "$name" "$RUN/$name.osm"
    fi
done

# ---- 4. the large county as OSM -------------------------------------------------------------
if [ ! -s "$DATA/roads.shp" ]; then
    say "generating the large county (seed 42) into $DATA"
    mkdir -p "$DATA"
    "$BUILD/fixtures/wg_gencounty" --scale large --seed 42 -o "$DATA" >"$DATA/summary.json"
fi
LARGE_OSM=$RUN/large.osm
if [ ! -s "$LARGE_OSM" ] || [ "$LARGE_OSM" -ot "$DATA/roads.shp" ] ||
    [ "$LARGE_OSM" -ot "$ROOT/tools/bench/shp2osm.py" ]; then
    say "writing roads.shp as OSM XML ($LARGE_OSM, half a minute)"
    python3 "$ROOT/tools/bench/shp2osm.py" "$DATA/roads.shp" "$LARGE_OSM" 2>"$RUN/shp2osm.log" ||
        { cat "$RUN/shp2osm.log" >&2; die "shp2osm.py failed"; }
    rm -f "$RUN/large.osm.pbf"
fi
if [ ! -s "$RUN/large.osm.pbf" ]; then
    osmium cat -O -o "$RUN/large.osm.pbf" "$LARGE_OSM"
fi
say "wangge roads on the large county's PBF"
time_roads large-pbf "$RUN/large.osm.pbf"
say "wangge roads on the large county's roads.shp"
time_roads large-shp "$DATA/roads.shp"

# Same graph? Way i of the PBF is feature i-1 of the shapefile (src_fid); the
# edges' order and node ids may differ (layout orders by position, and the
# positions moved by up to 5e-8 degree), so nodes are matched through edges.
say "comparing the two graphs"
read -r CMP_EDGES CMP_PAIRED CMP_ATTR CMP_MAXDL CMP_NMAP CMP_NA CMP_NB < <(sqlite3 -separator ' ' \
    "$RUN/large-shp.wangge" <<SQL
ATTACH '$RUN/large-pbf.wangge' AS p;
CREATE TEMP TABLE m AS
  SELECT a.source AS as_, a.target AS at_, b.source AS bs, b.target AS bt,
         a.class IS NOT b.class OR a.name IS NOT b.name OR a.oneway IS NOT b.oneway OR
         a.speed_kmh IS NOT b.speed_kmh OR a.access IS NOT b.access AS attr_diff,
         abs(a.length_m - b.length_m) AS dl
  FROM main.road_edges a JOIN p.road_edges b ON b.src_fid = a.src_fid + 1;
CREATE TEMP TABLE nm AS SELECT as_ AS a, bs AS b FROM m UNION SELECT at_, bt FROM m;
SELECT (SELECT count(*) FROM p.road_edges), count(*), sum(attr_diff), printf('%.4f', max(dl)),
       (SELECT count(*) FROM nm), (SELECT count(DISTINCT a) FROM nm), (SELECT count(DISTINCT b) FROM nm)
FROM m;
SQL
)
if [ "$PEER" = 1 ]; then
    say "osm2pgrouting on the large county (stopped after $PEER_TIMEOUT s)"
    time_o2p large "$LARGE_OSM"
fi
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- 6. the table ----------------------------------------------------------------------------
{
    printf 'wangge road graph benchmark: %s CPUs (%s); %s; best of %s wangge run(s)\n' "$NCPU" \
        "$(uname -m)" "$(date '+%Y-%m-%d %H:%M')" "$REPEAT"
    printf 'GDAL %s' "$(gdal-config --version 2>/dev/null || echo '?')"
    [ "$PEER" = 1 ] && printf '; PostgreSQL %s, pgRouting %s, osm2pgrouting %s' "${PG_VERSION%% *}" \
        "$PGR_VERSION" "$O2P_VERSION"
    printf '\nload average (1, 5, 15 min): %s before, %s after\n\n' "$LOAD_BEFORE" "$LOAD_AFTER"
    printf '%-28s %-6s %8s %8s %9s %8s %8s %7s %12s %12s\n' "source" "engine" "edges" "nodes" \
        "directed" "wall s" "CPU s" "read s" "directed/min" "per CPU-min"
    while IFS=$'\t' read -r name kind e n d wall cpu rd rss; do
        awk -v nm="$name" -v k="$kind" -v e="$e" -v n="$n" -v d="$d" -v w="$wall" -v c="$cpu" \
            -v r="$rd" 'BEGIN { printf "%-28s %-6s %8d %8d %9d %8.2f %8.2f %7.2f %12.0f %12.0f\n",
                nm, "wangge", e, n, d, w, c, r, d / w * 60, d / c * 60 }'
        [ "$PEER" = 1 ] || continue
        peer=$name
        [ "$name" = large-pbf ] && peer=large
        while IFS=$'\t' read -r pn pe pnod pd pw pc ps; do
            [ "$pn" = "$peer" ] || continue
            if [ "$ps" = ok ]; then
                awk -v nm="$([ "$peer" = large ] && echo large.osm || echo "$peer.osm")" -v e="$pe" \
                    -v n="$pnod" -v d="$pd" -v w="$pw" -v c="$pc" 'BEGIN {
                    printf "%-28s %-6s %8d %8d %9d %8.2f %8.2f %7s %12.0f %12s\n",
                        nm, "o2p", e, n, d, w, c, "-", d / w * 60, "-" }'
            elif [ "$ps" = timeout ]; then
                printf '%-28s %-6s %8s %8s %9s %8s %8s %7s %12s %12s\n' "$peer.osm" "o2p" - - - \
                    ">$PEER_TIMEOUT" - - "stopped" -
            else
                printf '%-28s %-6s %8s %8s %9s %8s %8s %7s %12s %12s\n' "$peer.osm" "o2p" - - - \
                    "$pw" - - "failed" -
            fi
        done <"$RUN/o2p.tsv"
    done <"$RUN/wangge.tsv"
    printf '\nwangge: wall and CPU (user+sys) of the whole `wangge roads` command (GNU time); read s:\n'
    printf 'opening SRC, reading it through GDAL/OGR and noding (read_seconds of --json); per CPU-min:\n'
    printf 'directed edges per minute of CPU time (the graph build runs on more than one thread).\n'
    if [ "$PEER" = 1 ]; then
        printf 'o2p: osm2pgrouting %s reading OSM XML (osmium sort of the same data) into PostgreSQL;\n' \
            "$O2P_VERSION"
        printf 'its CPU column is the client only (the server'"'"'s work is in the wall time).\n'
    fi
    printf 'large-pbf vs large-shp: %s of %s PBF edges paired with a shapefile feature, %s with other\n' \
        "$CMP_PAIRED" "$CMP_EDGES" "$CMP_ATTR"
    printf 'attributes; node ids map one to one: %s pairs, %s and %s distinct; max length difference %s m.\n' \
        "$CMP_NMAP" "$CMP_NA" "$CMP_NB" "$CMP_MAXDL"
} | tee "$OUT/roads.txt"
