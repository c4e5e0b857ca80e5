# shellcheck shell=bash
# lib.sh -- helpers shared by the CLI tests (sourced, not run).
#
# ctest gives every test_*.sh: WANGGE (the CLI), WG_GENCOUNTY (the synthetic
# county generator), WG_FIXTURES (the repo's fixtures/) and WG_TMP (a scratch
# folder of its own, emptied here). Run by hand, they default to build/.
#
# A test is a sequence of assertions; the first that fails prints what was
# run, what came out and what was expected, and exits 1.
#
#   run CMD...                 runs CMD; sets RC, and OUT/ERR (files with its output)
#   expect_exit CODE CMD...    run CMD and require exit status CODE
#   expect_contains FILE TEXT  FILE (e.g. "$OUT", "$ERR") contains TEXT (fixed string)
#   expect_not_contains FILE TEXT
#   expect_eq GOT WANT WHAT    string equality
#   py SCRIPT ARGS...          python3 -c SCRIPT ARGS (assertions in python exit 1)
#   ws_dump WS FILE            the workspace's full SQL dump (python3's sqlite3)
#   gen_county OUTDIR ARGS...  runs the generator, its JSON summary in OUTDIR/summary.json
set -euo pipefail

CLI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$CLI_DIR/../.." && pwd)
TEST_NAME=$(basename "$0" .sh)
: "${WANGGE:=$REPO/build/tools/wangge}"
: "${WG_GENCOUNTY:=$REPO/build/fixtures/wg_gencounty}"
: "${WG_FIXTURES:=$REPO/fixtures}"
: "${WG_TMP:=${TMPDIR:-/tmp}/wangge-cli-$TEST_NAME}"
export WANGGE WG_GENCOUNTY WG_FIXTURES WG_TMP

rm -rf "$WG_TMP"
mkdir -p "$WG_TMP"
OUT="$WG_TMP/.stdout"
ERR="$WG_TMP/.stderr"
RC=0
LAST_CMD=""
CHECKS=0

fail() {
    {
        echo "FAIL [$TEST_NAME]: $*"
        if [ -n "$LAST_CMD" ]; then
            echo "  last command: $LAST_CMD"
            echo "  exit status:  $RC"
            echo "  --- stdout (first 40 lines) ---"
            head -n 40 "$OUT" 2>/dev/null | sed 's/^/  /'
            echo "  --- stderr (first 40 lines) ---"
            head -n 40 "$ERR" 2>/dev/null | sed 's/^/  /'
        fi
    } >&2
    exit 1
}

ok() {
    CHECKS=$((CHECKS + 1))
    echo "ok $CHECKS - $*"
}

run() {
    LAST_CMD=$(printf '%q ' "$@")
    RC=0
    "$@" >"$OUT" 2>"$ERR" || RC=$?
}

expect_exit() {
    local want=$1
    shift
    run "$@"
    [ "$RC" = "$want" ] || fail "expected exit status $want, got $RC"
    ok "exit $want: $LAST_CMD"
}

expect_contains() {
    grep -qF -- "$2" "$1" || fail "expected $(basename "$1") to contain: $2"
    ok "$(basename "$1") contains '$2'"
}

expect_not_contains() {
    ! grep -qF -- "$2" "$1" || fail "expected $(basename "$1") not to contain: $2"
    ok "$(basename "$1") lacks '$2'"
}

expect_eq() {
    [ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
    ok "$3 = $2"
}

py() {
    local script=$1
    shift
    "$PYTHON" -c "$script" "$@" || fail "python check failed: ${script%%$'\n'*}..."
}

# Virtual tables (SpatiaLite's SpatialIndex and KNN, R*Tree front-ends) are
# skipped: reading them needs the extension, and what they index lives in
# plain tables that are dumped. Rows are sorted, so the dump is canonical.
ws_dump() {
    "$PYTHON" - "$1" "$2" <<'PYEOF'
import sqlite3, sys
con = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
objs = con.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall()
with open(sys.argv[2], "w") as f:
    for typ, name, sql in objs:
        f.write("%s %s: %s\n" % (typ, name, sql))
        if typ != "table" or (sql or "").upper().startswith("CREATE VIRTUAL"):
            continue
        rows = con.execute('SELECT * FROM "%s"' % name.replace('"', '""')).fetchall()
        for r in sorted(repr(row) for row in rows):
            f.write("  " + r + "\n")
PYEOF
}

gen_county() {
    local dir=$1
    shift
    mkdir -p "$dir"
    "$WG_GENCOUNTY" -o "$dir" "$@" >"$dir/summary.json" 2>"$dir/gen.log" ||
        { cat "$dir/gen.log" >&2; fail "wg_gencounty -o $dir $* failed"; }
}

# Every test ends with `pass`.
pass() {
    echo "PASS $TEST_NAME ($CHECKS checks)"
}

for tool in "$WANGGE" python3; do
    command -v "$tool" >/dev/null 2>&1 || { echo "FAIL [$TEST_NAME]: $tool not found" >&2; exit 1; }
done
# The interpreter itself, not a version manager's shim (pyenv's costs ~0.1 s a call).
PYTHON=$(python3 -c 'import sys; print(sys.executable)')
