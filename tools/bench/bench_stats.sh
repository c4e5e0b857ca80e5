#!/usr/bin/env bash
# bench_stats.sh -- `wangge stats` over a million stored incidents (issue 7:
# "stats over 1M stored incidents in about a second").
#
#   1. The synthetic county (wg_gencounty --scale county --seed 42) loaded into
#      out/bench/stats.wangge (admin units and grids), the closed loop's
#      columns added (`wangge rules WS --defaults`).
#   2. N incidents (default 1,000,000) written by one SQL statement in the
#      sqlite3 shell with mod_spatialite: a year of reports (2025) spread over
#      the county's grids, with statuses along the loop (about 70% closed),
#      deadlines, acceptance and closing times, assignees and satisfaction.
#      The spatial index triggers are set aside during the insert and the
#      index is filled in one statement afterwards (as wangge's bulk loader does).
#      A workspace already holding exactly N incidents is reused.
#   3. Timed: `wangge stats --by grid|village|town|category|officer` over all of
#      them, and with --from/--to (one quarter), best of R runs, printed one
#      line per figure.
#
# usage: bash tools/bench/bench_stats.sh [--incidents N] [--repeat R] [--no-build]
# Environment: WG_BENCH_BUILD (default build/), WG_BENCH_OUT (default out/bench/).
# Needs the sqlite3 shell and mod_spatialite (libsqlite3-mod-spatialite).
# Not part of the test suite.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
N=1000000
REPEAT=3
BUILD_IT=1
while [ $# -gt 0 ]; do
    case "$1" in
    --incidents) N=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --no-build) BUILD_IT=0; shift ;;
    -h|--help) sed -n 2,22p "$0"; exit 0 ;;
    *) echo "bench_stats.sh: unknown option $1" >&2; exit 2 ;;
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
WS=$OUT/stats.wangge
HAVE=$( [ -f "$WS" ] && sqlite3 "$WS" "SELECT count(*) FROM incidents" 2>/dev/null || echo 0)
if [ "$HAVE" = "$N" ]; then
    echo "reusing $WS ($N incidents)"
else
rm -f "$WS" "$WS-wal" "$WS-shm"
if [ ! -f "$OUT/stats-county/grids.shp" ]; then
    "$GEN" --scale county --seed 42 -o "$OUT/stats-county" >/dev/null 2>&1
fi
"$WANGGE" init "$WS" >/dev/null 2>&1
"$WANGGE" import-grids "$WS" "$OUT/stats-county/admin.shp" --level-field level \
    --parent-field parent >/dev/null 2>&1
"$WANGGE" import-grids "$WS" "$OUT/stats-county/grids.shp" --level grid \
    --parent-field parent >/dev/null 2>&1
"$WANGGE" rules "$WS" --defaults >/dev/null 2>&1

NGRIDS=$(sqlite3 "$WS" "SELECT count(*) FROM units WHERE level = 'grid' AND valid_to IS NULL")
SPATIALITE=$(ls /usr/lib/*/mod_spatialite.so 2>/dev/null | head -1)
SPATIALITE=${SPATIALITE%.so}
t0=$(date +%s.%N)
sqlite3 "$WS" >/dev/null <<SQL
.bail on
.load $SPATIALITE
PRAGMA journal_mode=WAL;
PRAGMA synchronous=OFF;
PRAGMA cache_size=-400000;
BEGIN;
CREATE TEMP TABLE g(k INTEGER PRIMARY KEY, code TEXT);
INSERT INTO g SELECT row_number() OVER (ORDER BY code) - 1, code FROM units
  WHERE level = 'grid' AND valid_to IS NULL;
CREATE TEMP TABLE trg AS SELECT name, sql FROM sqlite_master WHERE type = 'trigger'
  AND tbl_name = 'incidents' AND name LIKE '%_incidents_geom';
DROP TRIGGER IF EXISTS ggi_incidents_geom; DROP TRIGGER IF EXISTS ggu_incidents_geom;
DROP TRIGGER IF EXISTS gii_incidents_geom; DROP TRIGGER IF EXISTS giu_incidents_geom;
DROP TRIGGER IF EXISTS gid_incidents_geom; DROP TRIGGER IF EXISTS tmi_incidents_geom;
DROP TRIGGER IF EXISTS tmu_incidents_geom; DROP TRIGGER IF EXISTS tmd_incidents_geom;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N),
r AS (SELECT i, abs(random()) AS a, abs(random()) AS b, abs(random()) AS c FROM n),
s AS (SELECT i, 1735660800 + a % 31536000 AS rep, b % 100 AS stage, c,
        (SELECT code FROM g WHERE k = a % $NGRIDS) AS grid FROM r)
INSERT INTO incidents(ext_id, reported_at, category, grid_code, village_code, town_code,
  county_code, status, place_status, dist_m, level, deadline, level_since, deadline_clock,
  accepted_at, closed_at, satisfaction, assignee, geom)
SELECT 'B' || i, strftime('%Y-%m-%dT%H:%M:%SZ', rep, 'unixepoch'),
  CASE c % 5 WHEN 0 THEN '环境卫生' WHEN 1 THEN '治安问题' WHEN 2 THEN '违章建筑'
    WHEN 3 THEN '矛盾纠纷' ELSE '安全隐患' END,
  grid, substr(grid, 1, 12), substr(grid, 1, 9), substr(grid, 1, 6),
  CASE WHEN stage < 5 THEN 'reported' WHEN stage < 10 THEN 'accepted'
    WHEN stage < 20 THEN 'assigned' WHEN stage < 25 THEN 'handled'
    WHEN stage < 30 THEN 'verified' ELSE 'closed' END,
  'inside', 0, 'grid',
  strftime('%Y-%m-%dT%H:%M:%SZ', (rep + 28800) / 86400 * 86400 + 86400 - 1 - 28800 + 86400 * (c % 4), 'unixepoch'),
  strftime('%Y-%m-%dT%H:%M:%SZ', rep, 'unixepoch'), 'days',
  CASE WHEN stage >= 5 THEN strftime('%Y-%m-%dT%H:%M:%SZ', rep + 1800, 'unixepoch') END,
  CASE WHEN stage >= 30 THEN strftime('%Y-%m-%dT%H:%M:%SZ', rep + 3600 + c % 400000, 'unixepoch') END,
  CASE WHEN stage >= 30 AND c % 10 < 8 THEN 1 + c % 5 END,
  CASE WHEN stage >= 10 THEN printf('OF%07d', c % 3000) END,
  MakePoint(119.3 + (c % 100000) / 250000.0, 34.0 + (c / 100000 % 100000) / 250000.0, 4326)
FROM s;
INSERT INTO idx_incidents_geom(pkid, xmin, xmax, ymin, ymax)
  SELECT rowid, X(geom), X(geom), Y(geom), Y(geom) FROM incidents;
COMMIT;
SQL
# Put the triggers back (SpatiaLite's own SQL, as it was).
sqlite3 "$WS" ".load $SPATIALITE" "SELECT RecoverSpatialIndex('incidents', 'geom', 1);" >/dev/null 2>&1 || true
t1=$(date +%s.%N)
COUNT=$(sqlite3 "$WS" "SELECT count(*) FROM incidents")
printf 'generated %d incidents in %.1f s\n' "$COUNT" "$(echo "$t1 - $t0" | bc)"
fi
COUNT=$(sqlite3 "$WS" "SELECT count(*) FROM incidents")

best() { # best of REPEAT wall-clock seconds of a command
    local b=999999 t s e
    for _ in $(seq "$REPEAT"); do
        s=$(date +%s.%N)
        "$@" >/dev/null 2>&1
        e=$(date +%s.%N)
        t=$(echo "$e - $s" | bc)
        if [ "$(echo "$t < $b" | bc)" = 1 ]; then b=$t; fi
    done
    printf '%.3f' "$b"
}
for by in grid village town category officer; do
    echo "stats --by $by, $COUNT incidents: $(best "$WANGGE" stats "$WS" --by "$by" --at 2026-01-01T00:00:00Z) s"
done
echo "stats --by grid, one quarter (--from/--to): $(best "$WANGGE" stats "$WS" --by grid \
    --from 2025-04-01T00:00:00+08:00 --to 2025-07-01T00:00:00+08:00 --at 2026-01-01T00:00:00Z) s"
echo "stats --by grid -o grids.gpkg: $(best "$WANGGE" stats "$WS" --by grid \
    --at 2026-01-01T00:00:00Z -o "$OUT/stats-grids.gpkg") s"
