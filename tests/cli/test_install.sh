#!/usr/bin/env bash
# test_install.sh -- `cmake --install` into a scratch prefix gives a library,
# the header, a relocatable pkg-config file and the command; a program built
# only from what was installed runs.
source "$(dirname "$0")/lib.sh"
: "${WG_BUILD_DIR:=$REPO/build}"
PREFIX="$WG_TMP/prefix"
expect_exit 0 cmake --install "$WG_BUILD_DIR" --prefix "$PREFIX"
PC=$(find "$PREFIX" -name wangge.pc | head -n 1)
[ -n "$PC" ] || fail "no wangge.pc installed under $PREFIX"
[ -x "$PREFIX/bin/wangge" ] || fail "no bin/wangge installed"
[ -f "$PREFIX/include/wangge/wangge.h" ] || fail "no include/wangge/wangge.h installed"
cat > "$WG_TMP/use.c" <<'C'
#include <wangge/wangge.h>
#include <stdio.h>
int main(void) {
    wg_ctx *ctx = NULL;
    if (wg_ctx_new(&ctx) != WG_OK) return 1;
    int epsg = wg_crs_metric_epsg(119.5, 34.2);
    printf("%s %d\n", wg_version(), epsg);
    wg_ctx_free(ctx);
    return epsg == 4549 ? 0 : 1;
}
C
# A sanitized library needs its runtime first in the program that loads it.
SAN=""
if grep -q '^WG_SANITIZE:BOOL=ON' "$WG_BUILD_DIR/CMakeCache.txt" 2>/dev/null; then
    SAN="-fsanitize=address,undefined"
fi
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$PC")
# shellcheck disable=SC2046
expect_exit 0 cc -std=c11 $SAN "$WG_TMP/use.c" -o "$WG_TMP/use" $(pkg-config --cflags --libs wangge)
LIBDIR=$(pkg-config --variable=libdir wangge)
LD_LIBRARY_PATH="$LIBDIR" expect_exit 0 "$WG_TMP/use"
expect_contains "$OUT" "4549"
LD_LIBRARY_PATH="$LIBDIR" expect_exit 0 "$PREFIX/bin/wangge" --version
pass
