#!/usr/bin/env bash
# bench_serve.sh -- `wangge serve` under load: wrk (Debian package) on loopback
# against GET /v1/locate, /v1/route, /v1/dispatch, /v1/isochrone and POST /v1/incidents
# (durable: each 201 is sent after COMMIT with synchronous=FULL), on the
# synthetic county with its roads.
#
#   1. wrk installed with apt-get if missing; wangge built (Release) into
#      build-bench/ unless --no-build.
#   2. The synthetic county (wg_gencounty --seed 42) into out/bench/<scale>/,
#      loaded into out/bench/serve-<scale>.wangge once; each run copies it,
#      so the reports of one run do not pile up in the next.
#   3. A server with an admin key, no access log (--quiet), on a free port.
#   4. locate: wrk cycles through the county's incident points (WGS84).
#      route: between consecutive points (car), at full load with wrk, then
#      paced at 500 requests/s (open loop: latency counted from when each
#      request was due) by a small Python client. dispatch: the 10 nearest.
#      isochrone: 10 minutes by car from each point (4 connections).
#      report: wrk POSTs reports at the same points; afterwards the rows
#      stored are counted and must cover the 201 answers.
#   5. One line per figure on stdout, also saved to out/bench/serve.txt.
#
# usage: bash tools/bench/bench_serve.sh [--scale county|tiny|large] [--duration S]
#                                        [--connections C] [--threads N] [--no-build]
#   --duration S     seconds per wrk run (default 10)
#   --connections C  wrk connections (default 64 for locate, 4x for reports)
#   --threads N      server handler threads (default: CPUs)
# Environment: WG_BENCH_BUILD, WG_BENCH_OUT override build-bench/ and out/bench/.
# Not part of the test suite.
set -euo pipefail
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SCALE=county
DURATION=10
CONNS=64
THREADS=$(nproc 2>/dev/null || echo 2)
BUILD_IT=1
while [ $# -gt 0 ]; do
    case "$1" in
        --scale) SCALE=${2:?}; shift ;;
        --duration) DURATION=${2:?}; shift ;;
        --connections) CONNS=${2:?}; shift ;;
        --threads) THREADS=${2:?}; shift ;;
        --no-build) BUILD_IT=0 ;;
        -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench_serve.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done
case "$SCALE" in large|county|tiny) ;; *) echo "bench_serve.sh: --scale tiny|county|large" >&2; exit 2 ;; esac

BUILD=${WG_BENCH_BUILD:-$ROOT/build-bench}
OUT=${WG_BENCH_OUT:-$ROOT/out/bench}
DATA=$OUT/$SCALE
WS0=$OUT/serve-$SCALE.wangge
RUN=$OUT/serve-run
. "$ROOT/tools/bench/lib.sh"

if ! command -v wrk >/dev/null 2>&1; then
    say "installing wrk"
    SUDO=()
    [ "$(id -u)" -eq 0 ] || SUDO=(sudo)
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null ||
        { "${SUDO[@]}" apt-get update -q >/dev/null && "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null; } ||
        die "cannot install wrk"
fi
mkdir -p "$OUT" "$RUN"
if [ "$BUILD_IT" = 1 ]; then
    say "building wangge (Release) in $BUILD"
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DWG_BENCH=ON >"$OUT/serve-cmake.log" 2>&1 ||
        die "cmake failed: $OUT/serve-cmake.log"
    cmake --build "$BUILD" -j"$(nproc)" --target wangge_cli wg_gencounty >/dev/null
fi
W=$BUILD/tools/wangge
[ -x "$W" ] || die "no $W (build first)"

if [ ! -s "$WS0" ]; then
    if [ ! -s "$DATA/incidents.csv" ]; then
        say "generating the $SCALE county (seed 42)"
        mkdir -p "$DATA"
        "$BUILD/fixtures/wg_gencounty" --scale "$SCALE" --seed 42 -o "$DATA" >"$DATA/summary.json"
    fi
    say "loading $WS0"
    rm -f "$WS0" "$WS0-wal" "$WS0-shm"
    load_units "$W" "$WS0" "$DATA" >/dev/null
    "$W" import-officers "$WS0" "$DATA/officers.csv" >/dev/null
    "$W" roads "$WS0" "$DATA/roads.shp" >/dev/null
fi
WS=$RUN/ws.wangge
rm -f "$WS" "$WS-wal" "$WS-shm" "$WS.graph"
cp "$WS0" "$WS"
[ -f "$WS0.graph" ] && cp "$WS0.graph" "$WS.graph"
KEY=$("$W" keys add "$WS" --name bench --role admin | tail -n 1)

# The points: the first 10,000 WGS84 incidents.
awk -F, 'NR > 1 && $4 == "wgs84" { print $2, $3 } NR > 10001 { exit }' "$DATA/incidents.csv" \
    >"$RUN/points.txt"
cat >"$RUN/locate.lua" <<'LUA'
local pts, i = {}, 0
for line in io.lines(os.getenv("WG_POINTS")) do
  local x, y = line:match("(%S+) (%S+)")
  pts[#pts + 1] = "/v1/locate?lon=" .. x .. "&lat=" .. y
end
wrk.headers["Authorization"] = "Bearer " .. os.getenv("WG_KEY")
request = function()
  i = i + 1
  return wrk.format("GET", pts[(i % #pts) + 1])
end
LUA
cat >"$RUN/route.lua" <<'LUA'
local pts, i = {}, 0
for line in io.lines(os.getenv("WG_POINTS")) do
  local x, y = line:match("(%S+) (%S+)")
  pts[#pts + 1] = x .. "," .. y
end
wrk.headers["Authorization"] = "Bearer " .. os.getenv("WG_KEY")
request = function()
  i = i + 1
  local a, b = pts[(i % #pts) + 1], pts[((i * 7919) % #pts) + 1]
  return wrk.format("GET", "/v1/route?from=" .. a .. "&to=" .. b)
end
LUA
cat >"$RUN/dispatch.lua" <<'LUA'
local pts, i = {}, 0
for line in io.lines(os.getenv("WG_POINTS")) do
  local x, y = line:match("(%S+) (%S+)")
  pts[#pts + 1] = "/v1/dispatch?lon=" .. x .. "&lat=" .. y
end
wrk.headers["Authorization"] = "Bearer " .. os.getenv("WG_KEY")
request = function()
  i = i + 1
  return wrk.format("GET", pts[(i % #pts) + 1])
end
LUA
cat >"$RUN/isochrone.lua" <<'LUA'
local pts, i = {}, 0
for line in io.lines(os.getenv("WG_POINTS")) do
  local x, y = line:match("(%S+) (%S+)")
  pts[#pts + 1] = "/v1/isochrone?minutes=10&lon=" .. x .. "&lat=" .. y
end
wrk.headers["Authorization"] = "Bearer " .. os.getenv("WG_KEY")
request = function()
  i = i + 1
  return wrk.format("GET", pts[(i % #pts) + 1])
end
LUA
cat >"$RUN/paced.py" <<'PY'
# paced.py PORT KEY POINTS RATE SECONDS -- routes at a fixed rate (open loop)
import http.client, sys, threading, time
port, key, pts, rate, secs = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
P = [l.split() for l in open(pts)]
n = int(rate * secs)
lat, bad, lock = [], [0], threading.Lock()
t0 = time.perf_counter() + 0.2
def run(k, nt):
    c = http.client.HTTPConnection("127.0.0.1", port)
    h = {"Authorization": "Bearer " + key}
    for i in range(k, n, nt):
        due = t0 + i / rate
        d = due - time.perf_counter()
        if d > 0:
            time.sleep(d)
        a, b = P[i % len(P)], P[(i * 7919) % len(P)]
        c.request("GET", "/v1/route?from=%s,%s&to=%s,%s" % (a[0], a[1], b[0], b[1]), headers=h)
        r = c.getresponse(); r.read()
        with lock:
            lat.append((time.perf_counter() - due) * 1000)
            bad[0] += r.status != 200
ts = [threading.Thread(target=run, args=(k, 16)) for k in range(16)]
for t in ts: t.start()
for t in ts: t.join()
lat.sort()
took = time.perf_counter() - t0
print("%.0f %.2f %.2f %d %d" % (len(lat) / took, lat[len(lat) // 2], lat[len(lat) * 99 // 100], bad[0], len(lat)))
PY
cat >"$RUN/report.lua" <<'LUA'
local pts, i = {}, 0
for line in io.lines(os.getenv("WG_POINTS")) do
  local x, y = line:match("(%S+) (%S+)")
  pts[#pts + 1] = '{"lon":' .. x .. ',"lat":' .. y .. ',"category":"bench","description":"wrk"}'
end
wrk.headers["Authorization"] = "Bearer " .. os.getenv("WG_KEY")
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i + 1
  return wrk.format("POST", "/v1/incidents", nil, pts[(i % #pts) + 1])
end
LUA

rm -f "$RUN/port"
"$W" serve "$WS" --listen 127.0.0.1:0 --port-file "$RUN/port" --threads "$THREADS" --quiet \
    2>"$RUN/serve.log" &
SPID=$!
trap 'kill -TERM $SPID 2>/dev/null || true' EXIT
for _ in $(seq 600); do [ -s "$RUN/port" ] && break; sleep 0.1; done
[ -s "$RUN/port" ] || die "the server did not start: $RUN/serve.log"
URL=http://127.0.0.1:$(cat "$RUN/port")
export WG_POINTS=$RUN/points.txt WG_KEY=$KEY

# wrk_run NAME CONNS SCRIPT -- prints "req/s p50 p99 non2xx requests"
wrk_run() {
    local log=$RUN/wrk-$1.txt
    wrk -t2 -c"$2" -d"${DURATION}s" --latency -s "$3" "$URL" >"$log" 2>&1 || die "wrk failed: $log"
    awk '
        /Requests\/sec:/ { rps = $2 }
        /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 }
        /Non-2xx or 3xx responses:/ { bad = $5 }
        /requests in/ { n = $1 }
        END { print rps, p50, p99, bad + 0, n }' "$log"
}
ms() { # "1.23ms" / "850.00us" / "1.02s" -> milliseconds
    awk -v v="$1" 'BEGIN { u = v; gsub(/[0-9.]/, "", u); x = v + 0
        if (u == "us") x /= 1000; else if (u == "s") x *= 1000; printf "%.2f", x }'
}

say "warming up"
wrk -t2 -c"$CONNS" -d2s -s "$RUN/locate.lua" "$URL" >/dev/null 2>&1 || true
wrk -t2 -c16 -d2s -s "$RUN/dispatch.lua" "$URL" >/dev/null 2>&1 || true
say "locate: ${DURATION}s, $CONNS connections"
read -r L_RPS L_P50 L_P99 L_BAD L_N < <(wrk_run locate "$CONNS" "$RUN/locate.lua")
say "route: ${DURATION}s, $CONNS connections"
read -r T_RPS T_P50 T_P99 T_BAD T_N < <(wrk_run route "$CONNS" "$RUN/route.lua")
say "route: ${DURATION}s paced at 500/s"
read -r P_RPS P_P50 P_P99 P_BAD P_N < <(python3 "$RUN/paced.py" "$(cat "$RUN/port")" "$KEY" \
    "$RUN/points.txt" 500 "$DURATION")
say "dispatch: ${DURATION}s, $CONNS connections"
read -r D_RPS D_P50 D_P99 D_BAD D_N < <(wrk_run dispatch "$CONNS" "$RUN/dispatch.lua")
say "isochrone: ${DURATION}s, 4 connections"
read -r I_RPS I_P50 I_P99 I_BAD I_N < <(wrk_run isochrone 4 "$RUN/isochrone.lua")
count() { python3 -c 'import sqlite3, sys
print(sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True).execute(
    "SELECT count(*) FROM incidents WHERE category = ?", ("bench",)).fetchone()[0])' "$WS"; }
RCONNS=$((CONNS * 4))
say "report: ${DURATION}s, $RCONNS connections"
read -r R_RPS R_P50 R_P99 R_BAD R_N < <(wrk_run report "$RCONNS" "$RUN/report.lua")
kill -TERM "$SPID"
wait "$SPID" || die "the server did not exit cleanly: $RUN/serve.log"
trap - EXIT
STORED=$(count)
COMMITS=$(sed -n 's/.*stored in \([0-9]*\) commits.*/\1/p' "$RUN/serve.log")
ACKED=$((R_N - R_BAD))

{
    echo "wangge serve on $(nproc) CPUs ($(uname -m)), $SCALE county, $THREADS handler threads, wrk -t2, ${DURATION}s per run"
    printf '%-44s %10s %9s %9s %s\n' "endpoint" "req/s" "p50 ms" "p99 ms" "notes"
    printf '%-44s %10.0f %9s %9s %s\n' "GET /v1/locate ($CONNS connections)" "$L_RPS" \
        "$(ms "$L_P50")" "$(ms "$L_P99")" "goal >= 20000 req/s; non-2xx: $L_BAD"
    printf '%-44s %10.0f %9s %9s %s\n' "GET /v1/route ($CONNS connections)" "$T_RPS" \
        "$(ms "$T_P50")" "$(ms "$T_P99")" "car, point to point; non-2xx: $T_BAD"
    printf '%-44s %10.0f %9s %9s %s\n' "GET /v1/route (paced 500/s, open loop)" "$P_RPS" \
        "$P_P50" "$P_P99" "goal p99 <= 10 ms; non-200: $P_BAD of $P_N"
    printf '%-44s %10.0f %9s %9s %s\n' "GET /v1/dispatch ($CONNS connections)" "$D_RPS" \
        "$(ms "$D_P50")" "$(ms "$D_P99")" "10 nearest officers by car; non-2xx: $D_BAD"
    printf '%-44s %10.1f %9s %9s %s\n' "GET /v1/isochrone (4 connections)" "$I_RPS" \
        "$(ms "$I_P50")" "$(ms "$I_P99")" "10 min by car, polygon included; non-2xx: $I_BAD"
    printf '%-44s %10.0f %9s %9s %s\n' "POST /v1/incidents ($RCONNS conn., durable)" "$R_RPS" \
        "$(ms "$R_P50")" "$(ms "$R_P99")" "goal >= 2000/s; non-2xx: $R_BAD"
    echo "reports: $ACKED answered 201/200, $STORED stored, in ${COMMITS:-?} commits (group commit, synchronous=FULL)"
    echo "load on this machine during the run (1-minute average): $(cut -d' ' -f1 /proc/loadavg) (other processes compete with server and wrk)"
} | tee "$OUT/serve.txt"
[ "$STORED" -ge "$ACKED" ] || die "fewer reports stored ($STORED) than acknowledged ($ACKED)"
