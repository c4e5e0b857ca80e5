#!/usr/bin/env bash
# test_help.sh -- the command line's contract: help texts, exit statuses
# (0 ok, 1 failure, 2 usage error) and a clear message for a missing workspace.
source "$(dirname "$0")/lib.sh"

# Top-level help lists every command; each command is checked below, so a
# new command gets its --help and bad-option checks for free.
expect_exit 0 "$WANGGE" --help
expect_contains "$OUT" "usage: wangge"
cmds=$(awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }' "$OUT")
for want in init import-grids import-officers validate export info; do
    grep -qx -- "$want" <<<"$cmds" || fail "wangge --help does not list '$want'"
done
ok "wangge --help lists $(wc -w <<<"$cmds") commands"

expect_exit 0 "$WANGGE" -h
expect_contains "$OUT" "usage: wangge"
expect_exit 0 "$WANGGE" --version
expect_contains "$OUT" "wangge 0."

for cmd in $cmds; do
    expect_exit 0 "$WANGGE" "$cmd" --help
    expect_contains "$OUT" "usage: wangge $cmd"
    expect_exit 2 "$WANGGE" "$cmd" --no-such-option
    expect_contains "$ERR" "usage: wangge $cmd"
done

# Unknown command, no command.
expect_exit 2 "$WANGGE" frobnicate
expect_contains "$ERR" "unknown command 'frobnicate'"
expect_exit 2 "$WANGGE"
expect_contains "$ERR" "usage: wangge"

# Bad arguments are usage errors (2), never failures (1).
ws="$WG_TMP/ws.sqlite"
expect_exit 2 "$WANGGE" init
expect_exit 2 "$WANGGE" init "$ws" --crs bogus
expect_exit 2 "$WANGGE" init "$ws" extra-arg
expect_exit 2 "$WANGGE" import-grids "$ws" grids.shp
expect_contains "$ERR" "--level"
expect_exit 2 "$WANGGE" import-grids "$ws" grids.shp --level galaxy
expect_exit 2 "$WANGGE" import-grids "$ws" grids.shp --level town --level-field level
expect_exit 2 "$WANGGE" import-officers "$ws"
expect_exit 2 "$WANGGE" validate "$ws" --min-area -1
expect_exit 2 "$WANGGE" validate "$ws" --outlier 0.5
expect_exit 2 "$WANGGE" export "$ws" --layer galaxy -o "$WG_TMP/x.geojson"
expect_exit 2 "$WANGGE" export "$ws" --layer grids
expect_exit 2 "$WANGGE" export "$ws" -o "$WG_TMP/x.geojson"
expect_exit 2 "$WANGGE" info
[ ! -e "$ws" ] || fail "a usage error created $ws"
ok "usage errors created no workspace"

# A missing workspace is a failure (1) whose message names the path, and no
# command creates it as a side effect.
missing="$WG_TMP/no such dir/county.sqlite"
expect_exit 1 "$WANGGE" info "$missing"
expect_contains "$ERR" "$missing"
expect_exit 1 "$WANGGE" validate "$missing"
expect_contains "$ERR" "$missing"
expect_exit 1 "$WANGGE" import-grids "$missing" "$WG_TMP/grids.geojson" --level grid
expect_contains "$ERR" "$missing"
expect_exit 1 "$WANGGE" import-officers "$missing" "$WG_TMP/officers.csv"
expect_contains "$ERR" "$missing"
expect_exit 1 "$WANGGE" export "$missing" --layer grids -o "$WG_TMP/grids.geojson"
expect_contains "$ERR" "$missing"
for f in "$missing" "$WG_TMP/grids.geojson"; do [ ! -e "$f" ] || fail "a failed command left $f behind"; done
ok "failed commands created nothing"

# init refuses to overwrite; info on a fresh workspace is valid JSON.
expect_exit 0 "$WANGGE" init "$ws"
expect_exit 1 "$WANGGE" init "$ws"
expect_contains "$ERR" "$ws"
expect_exit 0 "$WANGGE" info "$ws"
py 'import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema_version"] == 1, d
assert sum(d["units"].values()) == 0 and d["officers"] == 0, d' "$OUT"
ok "info on an empty workspace: schema 1, no units"

pass
