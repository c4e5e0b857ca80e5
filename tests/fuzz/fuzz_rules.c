/* fuzz_rules.c -- libFuzzer target for the deadline rules file
 * (wg_rules_parse, engine/src/deadlines.c), the text an administrator
 * edits and loads with `wangge rules WS --load FILE`.
 *
 * Invariants: the text is accepted or refused with a "name:line:" message,
 * never neither; accepted rules format to a text that parses back and
 * formats to the same text (what `wangge rules WS` prints can be loaded
 * again unchanged); every level's deadline from a few start times is at or
 * after the start, or refused with a message (a calendar with no working
 * day), and the colour just after the deadline is red, at the start not. */
#include "wangge/wangge.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static wg_ctx *ctx;

static void check_deadlines(const wg_rules *r) {
    static const char *const levels[] = {"grid", "village", "town", "county", "dispatch"};
    /* 2025-01-01T00:00Z, 2025-10-01T09:30Z (a holiday week), 2026-02-17T16:59Z */
    static const int64_t starts[] = {1735689600, 1759311000, 1771347540};
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
        for (size_t k = 0; k < sizeof starts / sizeof starts[0]; k++) {
            int64_t dl = 0;
            wg_clock clock;
            wg_status st = wg_rules_deadline(ctx, r, levels[i], NULL, starts[k], &dl, &clock);
            if (st) {
                if (!*wg_ctx_errmsg(ctx)) abort(); /* refused without a message */
                continue;
            }
            if (dl < starts[k]) abort();
            if (wg_rules_colour(r, clock, starts[k], dl, dl + 1) != WG_COLOUR_RED) abort();
            if (dl > starts[k] && wg_rules_colour(r, clock, starts[k], dl, starts[k]) == WG_COLOUR_RED)
                abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!ctx && wg_ctx_new(&ctx) != WG_OK) abort();
    if (size > 4096) return 0;
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    wg_rules *r = NULL;
    wg_status st = wg_rules_parse(ctx, text, "fuzz.rules", &r);
    free(text);
    if (st) {
        if (r) abort();
        if (strncmp(wg_ctx_errmsg(ctx), "fuzz.rules:", 11) && st == WG_ERR_FORMAT) abort();
        return 0;
    }
    if (!r) abort();
    char *t1 = wg_rules_format(r);
    if (!t1) abort();
    wg_rules *r2 = NULL;
    if (wg_rules_parse(ctx, t1, "formatted", &r2) != WG_OK || !r2) {
        fprintf(stderr, "formatted rules do not parse back: %s\n%s\n", wg_ctx_errmsg(ctx), t1);
        abort();
    }
    char *t2 = wg_rules_format(r2);
    if (!t2 || strcmp(t1, t2)) {
        fprintf(stderr, "format is not stable:\n%s\n---\n%s\n", t1, t2 ? t2 : "(null)");
        abort();
    }
    check_deadlines(r);
    free(t1), free(t2);
    wg_rules_free(r), wg_rules_free(r2);
    return 0;
}
