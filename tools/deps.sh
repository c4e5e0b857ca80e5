#!/usr/bin/env bash
# deps.sh -- installs what wangge needs on Debian 12 (bookworm), if missing.
#
# Checks every package with dpkg-query first, so on a machine that has them
# all it prints nothing and touches nothing (no apt-get update). Otherwise it
# installs the missing ones non-interactively, as root or through sudo.
# Usage: bash tools/deps.sh [--check]   (--check: only report, exit 1 if missing)
set -euo pipefail

PACKAGES=(
    build-essential cmake pkg-config   # compiler, make, cmake >= 3.18
    libgeos-dev                        # GEOS C API (geometry)
    libproj-dev proj-data              # PROJ (reprojection) and its grids/database
    libgdal-dev gdal-bin               # GDAL/OGR (formats) and ogrinfo/ogr2ogr for the tests
    libspatialite-dev libsqlite3-mod-spatialite libsqlite3-dev  # the workspace (SpatiaLite)
    libcjson-dev                       # JSON output
    libmicrohttpd-dev                  # the HTTP service
    python3                            # test oracles
    curl                               # the demo and HTTP tests talk to wangge serve
    clang libclang-rt-14-dev           # libFuzzer and sanitizer runtimes
)

check_only=0
case "${1:-}" in
    --check) check_only=1 ;;
    "") ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "deps.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
esac

missing=()
for p in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps.sh: missing packages: ${missing[*]}" >&2
if [ "$check_only" = 1 ]; then exit 1; fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "deps.sh: error: no apt-get here; wangge's scripts expect Debian 12 (bookworm)." >&2
    echo "         Install the equivalents of: ${missing[*]}" >&2
    exit 1
fi
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "deps.sh: error: not root and no sudo; as root run:" >&2
        echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp "${TMPDIR:-/tmp}/wangge-deps.XXXXXX")
trap 'rm -f "$log"' EXIT
echo "deps.sh: apt-get update && apt-get install ${missing[*]} (log: $log)" >&2
if ! "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >"$log" 2>&1 ||
   ! "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
    echo "deps.sh: error: apt-get failed; its last lines:" >&2
    tail -n 25 "$log" >&2
    trap - EXIT
    echo "deps.sh: full log kept in $log" >&2
    exit 1
fi
echo "deps.sh: installed ${missing[*]}" >&2
