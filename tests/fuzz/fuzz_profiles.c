/* fuzz_profiles.c -- libFuzzer target for the travel profile file of
 * `wangge roads --profiles FILE` (engine/src/roads.c), text an analyst
 * edits by hand.
 *
 * The input is taken as the file reader would pass it on (UTF-8 text, no
 * NUL byte; anything else is refused before parsing). Invariants: the text
 * is accepted with 1 to WG_MAXP profiles, or refused with a message that
 * starts with the file's name; no memory error, no leak (ASan). */
#include "graph.h"
#include "ogrio.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static wg_ctx *ctx;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!ctx && wg_ctx_new(&ctx) != WG_OK) abort();
    if (size > 8192 || memchr(data, 0, size) || !wg_utf8_valid((const char *)data, size)) return 0;
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    int n = -1;
    wg_status st = wg_profiles_check(ctx, text, "fuzz.profiles", &n);
    free(text);
    if (st == WG_OK && (n < 1 || n > WG_MAXP)) abort();
    if (st != WG_OK && st != WG_ERR_NOMEM && strncmp(wg_ctx_errmsg(ctx), "fuzz.profiles", 13))
        abort();
    return 0;
}
