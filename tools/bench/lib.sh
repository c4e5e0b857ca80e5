# lib.sh -- what the tools/bench/*.sh scripts share. Sourced, never run:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# The caller sets DB (the PostgreSQL database) before using the pg_* functions.

BENCH_NAME=$(basename "$0")

say() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '%s: error: %s\n' "$BENCH_NAME" "$*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }'; }
# The value of a "key value ..." line printed by the bench programs.
figure() { awk -v k="$2" '$1 == k { print $2; exit }' "$1"; }

# ---- PostgreSQL peers ---------------------------------------------------------
# apt-get and psql run as root, or through sudo.
SUDO=()
if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi
as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}
# psql on the benchmark database $DB; the script comes on stdin or with -f/-c.
pg() {
    as_postgres env PGOPTIONS='-c client_min_messages=error' \
        psql -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"
}
installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]; }

# apt_need PKG... -- installs the Debian packages not installed yet (apt-get,
# non-interactive; root or sudo).
apt_need() {
    local missing=() p
    for p in "$@"; do installed "$p" || missing+=("$p"); done
    if [ ${#missing[@]} -gt 0 ]; then
        say "installing ${missing[*]} (apt-get, non-interactive)"
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            "${missing[@]}" >/dev/null
    fi
}

# pg_start PACKAGE... -- installs the missing packages (apt-get, non-interactive),
# then creates and starts the PostgreSQL 15 cluster 'main' if it is not running.
pg_start() {
    if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
        die "run as root or install sudo (apt-get and psql as postgres)"
    fi
    apt_need "$@"
    if ! pg_lsclusters -h 2>/dev/null | awk '$1 == 15 && $2 == "main"' | grep -q .; then
        say "creating the PostgreSQL 15 cluster 'main'"
        "${SUDO[@]}" pg_createcluster 15 main >/dev/null
    fi
    if ! pg_lsclusters -h | awk '$1 == 15 && $2 == "main" { print $4 }' | grep -q online; then
        say "starting PostgreSQL 15 (pg_ctlcluster 15 main start)"
        "${SUDO[@]}" pg_ctlcluster 15 main start
    fi
}

# pg_fresh_db EXTENSION... -- drops and recreates $DB with the extensions.
pg_fresh_db() {
    as_postgres psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
    local e
    for e in "$@"; do pg -c "CREATE EXTENSION $e" >/dev/null; done
}

# ---- the synthetic county ------------------------------------------------------
# load_units WANGGE WS DIR -- a new workspace WS holding the county that
# wg_gencounty wrote to DIR: admin units, grids, micro-grids, exclusive grids.
# The commands' own output goes to stdout; returns non-zero at the first failure.
load_units() {
    local w=$1 ws=$2 dir=$3
    "$w" init "$ws" &&
        "$w" import-grids "$ws" "$dir/admin.shp" --level-field level --parent-field parent &&
        "$w" import-grids "$ws" "$dir/grids.shp" --level grid --parent-field parent &&
        "$w" import-grids "$ws" "$dir/micro.shp" --level micro --parent-field parent &&
        "$w" import-grids "$ws" "$dir/exclusive.shp" --level exclusive --parent-field parent \
            --kind-field kind
}
