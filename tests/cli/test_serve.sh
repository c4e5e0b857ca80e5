#!/usr/bin/env bash
# test_serve.sh -- `wangge serve` and `wangge keys` for real: a server on a
# free loopback port, spoken to over HTTP (tests/cli/serve_check.py):
#   keys: shown once, only their SHA-256 stored, revocation at once
#   every endpoint; locate, route, dispatch, isochrone answer as the commands;
#   bad input gets a JSON 4xx; roles, scopes (100% of cross-scope requests
#   refused, phones hidden), rate limits; slow clients are cut; an access log
#   line per request; data imported meanwhile is served without a restart
#   kill -9 during a burst of reports loses no acknowledged report
#   SIGTERM drains (a report half sent is still stored and answered 201)
#   two servers on one workspace
source "$(dirname "$0")/lib.sh"
CHECK="$PYTHON $CLI_DIR/serve_check.py"

PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

# start_server NAME ARGS... -- starts a server on a free port; sets SPID, PORT.
start_server() {
    local name=$1
    shift
    rm -f "$WG_TMP/$name.port"
    "$WANGGE" serve "$ws" --listen 127.0.0.1:0 --port-file "$WG_TMP/$name.port" "$@" \
        2>"$WG_TMP/$name.log" &
    SPID=$!
    PIDS+=("$SPID")
    for _ in $(seq 300); do
        [ -s "$WG_TMP/$name.port" ] && break
        kill -0 "$SPID" 2>/dev/null || { cat "$WG_TMP/$name.log" >&2; fail "server $name died"; }
        sleep 0.1
    done
    [ -s "$WG_TMP/$name.port" ] || fail "server $name did not start"
    PORT=$(cat "$WG_TMP/$name.port")
    ok "server $name listening on 127.0.0.1:$PORT"
}

# stop_server PID NAME -- SIGTERM, then the exit status must be 0 within 20 s.
stop_server() {
    kill -TERM "$1"
    local st=0
    for _ in $(seq 200); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$1" 2>/dev/null && fail "server $2 still running 20 s after SIGTERM"
    wait "$1" || st=$?
    [ "$st" = 0 ] || { tail -20 "$WG_TMP/$2.log" >&2; fail "server $2 exited $st after SIGTERM"; }
    ok "server $2: SIGTERM -> exit 0"
}

# ---- a county ---------------------------------------------------------------
gen="$WG_TMP/gen"
gen_county "$gen" --scale tiny --seed 1
ws="$WG_TMP/county.sqlite"
expect_exit 0 "$WANGGE" init "$ws"
expect_exit 0 "$WANGGE" import-grids "$ws" "$gen/admin.shp" --level-field level --parent-field parent
expect_exit 0 "$WANGGE" import-grids "$ws" "$gen/grids.shp" --level grid --parent-field parent
expect_exit 0 "$WANGGE" import-grids "$ws" "$gen/micro.shp" --level micro --parent-field parent
expect_exit 0 "$WANGGE" import-grids "$ws" "$gen/exclusive.shp" --level exclusive \
    --parent-field parent --kind-field kind

# Two points in different towns, from the generator's incidents.
read -r LON_A LAT_A < <(sed -n 2p "$gen/incidents.csv" | awk -F, '{print $2, $3}')
loc_field() { "$WANGGE" locate "$ws" --lon "$1" --lat "$2" | "$PYTHON" -c \
    'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$3"; }
GRID_A=$(loc_field "$LON_A" "$LAT_A" 'd["grid"]["code"]')
TOWN_A=$(loc_field "$LON_A" "$LAT_A" 'd["town"]["code"]')
VILLAGE_A=$(loc_field "$LON_A" "$LAT_A" 'd["village"]["code"]')
COUNTY=$(loc_field "$LON_A" "$LAT_A" 'd["county"]["code"]')
LON_B="" LAT_B="" GRID_B=""
while IFS=, read -r _ lon lat crs _; do
    [ "$crs" = wgs84 ] || continue
    t=$(loc_field "$lon" "$lat" '(d["town"] or {}).get("code")')
    if [ "$t" != "$TOWN_A" ] && [ "$t" != None ]; then
        LON_B=$lon LAT_B=$lat GRID_B=$(loc_field "$lon" "$lat" 'd["grid"]["code"]')
        break
    fi
done < <(tail -n +2 "$gen/incidents.csv" | head -100)
[ -n "$GRID_B" ] || fail "no incident outside town $TOWN_A among the first 100"
read -r LON_G LAT_G < <(grep -m1 ',gcj02,' "$gen/incidents.csv" | awk -F, '{print $2, $3}')
ok "town A $TOWN_A (grid $GRID_A), town B grid $GRID_B"

# The roster, plus an officer of village A (a unit outside a grid-scoped key).
cp "$gen/officers.csv" "$WG_TMP/officers.csv"
echo "OFV0001,村干部,grid_instructor,$VILLAGE_A,13800000000,," >>"$WG_TMP/officers.csv"
expect_exit 0 "$WANGGE" import-officers "$ws" "$WG_TMP/officers.csv"

# ---- keys ---------------------------------------------------------------------
newkey() { # newkey VAR ARGS... -- `keys add`, the key from the last line of stdout
    local var=$1
    shift
    expect_exit 0 "$WANGGE" keys add "$ws" "$@"
    local k
    k=$(tail -n 1 "$OUT")
    [[ "$k" =~ ^wgk_[A-Za-z0-9_-]{43}$ ]] || fail "the last line of keys add is not a key: $k"
    printf -v "$var" '%s' "$k"
}
newkey K_ADMIN --name chief --role admin
newkey K_HS --name handset-a --role handset --scope "$TOWN_A"
newkey K_AN --name analyst-a --role analyst --scope "$TOWN_A"
newkey K_GRID --name grid-a --role analyst --scope "$GRID_A"
newkey K_RATE --name limited --role admin --rate 2
newkey K_GONE --name leaver --role handset
ok "keys made"
expect_exit 2 "$WANGGE" keys add "$ws" --name x
expect_exit 2 "$WANGGE" keys add "$ws" --name x --role king
expect_exit 2 "$WANGGE" keys add "$ws" --name x --role admin --rate fast
expect_exit 2 "$WANGGE" keys frobnicate "$ws"
expect_exit 0 "$WANGGE" keys list "$ws"
expect_contains "$OUT" "handset-a"
expect_not_contains "$OUT" "$K_ADMIN"
expect_exit 0 "$WANGGE" keys list "$ws" --json
py 'import json, sys
keys = json.load(open(sys.argv[1]))
assert [k["name"] for k in keys] == ["chief", "handset-a", "analyst-a", "grid-a", "limited", "leaver"], keys
assert keys[4]["rate_per_s"] == 2 and keys[1]["scope"] == sys.argv[2], keys' "$OUT" "$TOWN_A"
ok "keys list --json"
# Only the SHA-256 is stored: the key text is nowhere in the workspace.
py 'import hashlib, sqlite3, sys
ws, keys = sys.argv[1], sys.argv[2:]
con = sqlite3.connect(ws)
hashes = {h for (h,) in con.execute("SELECT hash FROM api_keys")}
assert all(hashlib.sha256(k.encode()).hexdigest() in hashes for k in keys), "hash mismatch"
con.close()
for path in (ws, ws + "-wal"):
    try:
        data = open(path, "rb").read()
    except FileNotFoundError:
        continue
    assert not any(k.encode() in data for k in keys), "a key is stored in " + path' \
    "$ws" "$K_ADMIN" "$K_HS" "$K_AN" "$K_GRID" "$K_RATE" "$K_GONE"
ok "the workspace holds SHA-256 hashes, never a key"

# ---- the roads --------------------------------------------------------------------
expect_exit 0 "$WANGGE" roads "$ws" "$gen/roads.shp"

# ---- answers computed by the command line, which the server must equal -------------
cases="[]"
add_case() { # add_case PATH CMD CLI-ARGS...
    local path=$1 cmd=$2 f
    shift 2
    f="$WG_TMP/cli_$(echo "$path" | md5sum | cut -c1-8).json"
    "$WANGGE" "$cmd" "$ws" "$@" >"$f" 2>/dev/null || [ "$cmd" != locate ] ||
        fail "wangge $cmd $* failed"
    cases=$("$PYTHON" -c 'import json, sys; c = json.loads(sys.argv[1])
c.append({"path": sys.argv[2], "cmd": sys.argv[3], "cli": sys.argv[4]}); print(json.dumps(c))' \
        "$cases" "$path" "$cmd" "$f")
}
L=/v1/locate
add_case "$L?lon=$LON_A&lat=$LAT_A" locate --lon "$LON_A" --lat "$LAT_A"
add_case "$L?lon=$LON_A&lat=$LAT_A&crs=wgs84&tolerance=5" locate --lon "$LON_A" --lat "$LAT_A" --crs wgs84 --tolerance 5
add_case "$L?lon=$LON_G&lat=$LAT_G&crs=gcj02" locate --lon "$LON_G" --lat "$LAT_G" --crs gcj02
add_case "$L?lon=$LON_A&lat=$LAT_A&crs=bd09" locate --lon "$LON_A" --lat "$LAT_A" --crs bd09
add_case "$L?lon=453900&lat=3779000&crs=EPSG:4549" locate --lon 453900 --lat 3779000 --crs EPSG:4549
add_case "$L?lon=100&lat=30" locate --lon 100 --lat 30
add_case "$L?lon=$LON_B&lat=$LAT_B&at=2030-01-01" locate --lon "$LON_B" --lat "$LAT_B" --at 2030-01-01
add_case "/v1/route?from=$LON_A,$LAT_A&to=$LON_B,$LAT_B" route --from "$LON_A,$LAT_A" --to "$LON_B,$LAT_B"
add_case "/v1/route?from=$LON_B,$LAT_B&to=$LON_A,$LAT_A&profile=walk" route --from "$LON_B,$LAT_B" --to "$LON_A,$LAT_A" --profile walk
add_case "/v1/route?from=$LON_G,$LAT_G&to=$LON_A,$LAT_A&crs=gcj02&profile=ebike" route --from "$LON_G,$LAT_G" --to "$LON_A,$LAT_A" --crs gcj02 --profile ebike
add_case "/v1/route?from=100,30&to=$LON_A,$LAT_A" route --from "100,30" --to "$LON_A,$LAT_A"
add_case "/v1/dispatch?lon=$LON_A&lat=$LAT_A" dispatch --at "$LON_A,$LAT_A"
add_case "/v1/dispatch?lon=$LON_B&lat=$LAT_B&role=police&limit=3&profile=walk" dispatch --at "$LON_B,$LAT_B" --role police --limit 3 --profile walk
expect_exit 0 "$WANGGE" isochrone "$ws" --from "$LON_A,$LAT_A" --minutes 5 \
    -o "$WG_TMP/iso.geojson" --json
cp "$OUT" "$WG_TMP/iso.json"
read -r GW_LON GW_LAT < <("$PYTHON" -c 'import json, sys; q = json.load(open(sys.argv[1]))["query"]
print(q["wgs84_lon"], q["wgs84_lat"])' "$WG_TMP/cli_$(echo "$L?lon=$LON_G&lat=$LAT_G&crs=gcj02" | md5sum | cut -c1-8).json")

# ---- the API -------------------------------------------------------------------
start_server main --timeout 2 --threads 4
MAIN_PID=$SPID
"$PYTHON" - "$WG_TMP/setup.json" <<PYEOF
import json, sys
json.dump({
    "ws": "$ws",
    "openapi": "$REPO/tools/wangge/openapi.json",
    "keys": {"admin": "$K_ADMIN", "handset_a": "$K_HS", "analyst_a": "$K_AN",
             "grid_scoped": "$K_GRID", "rate2": "$K_RATE"},
    "cli_cases": $cases,
    "points": {"in_scope": [$LON_A, $LAT_A], "in_scope_grid": "$GRID_A",
               "out_scope": [$LON_B, $LAT_B], "out_scope_grid": "$GRID_B",
               "gcj02": [$LON_G, $LAT_G], "gcj02_wgs84": [$GW_LON, $GW_LAT],
               "bbox": [0, 0, 1, 1]},
    "county": "$COUNTY", "town_a": "$TOWN_A", "village_officer_unit": "$VILLAGE_A",
    "isochrone": {"minutes": 5, "cli": "$WG_TMP/iso.json", "file": "$WG_TMP/iso.geojson"},
}, open(sys.argv[1], "w"))
PYEOF
run $CHECK api "$PORT" "$WG_TMP/setup.json"
[ "$RC" = 0 ] || fail "API checks failed"
grep '^ok ' "$OUT" | sed 's/^/  /'
ok "API: $(grep -c '^ok ' "$OUT") checks over HTTP"

# Data changed by another process is picked up: a new phone number for the
# village officer shows in /v1/locate within seconds, without a restart.
sed -i 's/,13800000000,/,13900000000,/' "$WG_TMP/officers.csv"
expect_exit 0 "$WANGGE" import-officers "$ws" "$WG_TMP/officers.csv"
seen=0
for _ in $(seq 100); do
    "$PYTHON" -c 'import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
c.request("GET", "/v1/locate?lon=%s&lat=%s" % (sys.argv[3], sys.argv[4]),
          headers={"Authorization": "Bearer " + sys.argv[2]})
sys.exit(0 if b"13900000000" in c.getresponse().read() else 1)' "$PORT" "$K_ADMIN" "$LON_A" "$LAT_A" &&
        { seen=1; break; }
    sleep 0.1
done
[ "$seen" = 1 ] || fail "the new roster was not picked up within 10 s"
grep -q "reloaded" "$WG_TMP/main.log" || fail "no reload message"
ok "a roster imported meanwhile is served within seconds"

# Revocation takes effect at once.
[ "$($CHECK status "$PORT" "$K_GONE" /v1/health)" = 200 ] || fail "key before revocation"
expect_exit 0 "$WANGGE" keys revoke "$ws" leaver
[ "$($CHECK status "$PORT" "$K_GONE" /v1/health)" = 401 ] || fail "a revoked key still works"
ok "a revoked key gets 401 at once"
expect_exit 1 "$WANGGE" keys revoke "$ws" leaver

# Slow clients are cut (--timeout 2), and the server keeps serving.
run $CHECK slowloris "$PORT" 2
[ "$RC" = 0 ] || fail "slow clients"
[ "$($CHECK status "$PORT" "$K_ADMIN" /v1/health)" = 200 ] || fail "server after slow clients"
ok "slow clients cut; the server still answers"

# The access log: one line per request, no coordinates in it.
log="$WG_TMP/main.log"
grep -qE '"GET /v1/locate" 200 [0-9]+ [0-9.]+ms key=chief$' "$log" || fail "no access line for locate"
grep -qE '"POST /v1/incidents" 201 [0-9]+ [0-9.]+ms key=chief$' "$log" || fail "no access line for a report"
grep -qE '"GET /v1/health" 401 ' "$log" || fail "no access line for a 401"
grep -qE '"GET /v1/health" 429 .* key=limited$' "$log" || fail "no access line for a 429"
! grep -q 'lon=' "$log" || fail "the access log holds query strings (positions)"
ok "access log: $(grep -c '"[A-Z]* /v1/' "$log") lines"
stop_server "$MAIN_PID" main

# ---- kill -9 during a burst loses no acknowledged report -------------------------
start_server crash --quiet
CRASH_PID=$SPID
acks="$WG_TMP/acks_crash.txt"
: >"$acks"
$CHECK burst "$PORT" "$K_ADMIN" 100000 8 "$acks" "$LON_A" "$LAT_A" &
BURST=$!
for _ in $(seq 100); do [ "$(wc -l <"$acks")" -ge 200 ] && break; sleep 0.05; done
kill -9 "$CRASH_PID"
wait "$CRASH_PID" 2>/dev/null || true
wait "$BURST" || true
run $CHECK verify "$ws" "$acks" 200
[ "$RC" = 0 ] || fail "acknowledged reports lost after kill -9"
cat "$OUT"
ok "kill -9 mid-burst: $(wc -l <"$acks") acknowledged reports, none lost"
# The workspace opens again (WAL recovery) and serves what it holds.
start_server after-crash --quiet
last_id=$(tail -n 1 "$acks" | cut -d' ' -f2)
[ "$($CHECK status "$PORT" "$K_ADMIN" "/v1/incidents/$last_id")" = 200 ] || fail "incident $last_id after restart"
ok "after the crash the workspace serves incident $last_id"
stop_server "$SPID" after-crash

# ---- SIGTERM drains: a report half sent is finished, stored and answered -----------
start_server drain
DRAIN_PID=$SPID
go="$WG_TMP/go"
rm -f "$go"
$CHECK slowpost "$PORT" "$K_ADMIN" "$go" "$LON_A" "$LAT_A" >"$WG_TMP/slow.out" &
SLOW=$!
for _ in $(seq 100); do grep -q sent-half "$WG_TMP/slow.out" 2>/dev/null && break; sleep 0.05; done
sleep 0.2
kill -TERM "$DRAIN_PID"
sleep 0.5
kill -0 "$DRAIN_PID" 2>/dev/null || fail "the server exited without waiting for a request in flight"
touch "$go"
wait "$SLOW" || fail "slowpost failed"
grep -q "HTTP/1.1 201" "$WG_TMP/slow.out" || { cat "$WG_TMP/slow.out"; fail "the half-sent report was not answered 201"; }
for _ in $(seq 100); do kill -0 "$DRAIN_PID" 2>/dev/null || break; sleep 0.1; done
st=0
wait "$DRAIN_PID" || st=$?
expect_eq "$st" 0 "exit status after draining"
grep -q "draining (1 requests in flight)" "$WG_TMP/drain.log" || fail "no drain message"
py 'import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
assert con.execute("SELECT count(*) FROM incidents WHERE ext_id = ?", ("SLOW-1",)).fetchone()[0] == 1' "$ws"
ok "SIGTERM: the report in flight was stored, answered 201, then exit 0"

# ---- two servers on one workspace --------------------------------------------------
start_server one --quiet
P1=$PORT PID1=$SPID
start_server two --quiet
P2=$PORT PID2=$SPID
a1="$WG_TMP/acks1.txt" a2="$WG_TMP/acks2.txt"
: >"$a1"
: >"$a2"
$CHECK burst "$P1" "$K_ADMIN" 400 4 "$a1" "$LON_A" "$LAT_A" &
B1=$!
$CHECK burst "$P2" "$K_ADMIN" 400 4 "$a2" "$LON_A" "$LAT_A" &
B2=$!
wait "$B1" "$B2"
expect_eq "$(wc -l <"$a1") $(wc -l <"$a2")" "400 400" "reports acknowledged by each server"
cat "$a1" "$a2" >"$WG_TMP/acks12.txt"
run $CHECK verify "$ws" "$WG_TMP/acks12.txt" 800
[ "$RC" = 0 ] || fail "two servers lost reports"
id2=$(tail -n 1 "$a2" | cut -d' ' -f2)
[ "$($CHECK status "$P1" "$K_ADMIN" "/v1/incidents/$id2")" = 200 ] || fail "server one cannot read server two's report"
ok "two servers share the workspace: 800 reports, each readable from the other"
stop_server "$PID1" one
stop_server "$PID2" two

pass
