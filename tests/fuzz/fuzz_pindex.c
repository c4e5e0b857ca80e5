/* fuzz_pindex.c -- libFuzzer target for the saved point index
 * (wg_pindex_load, engine/src/pointindex.c): the bytes of the locator's
 * cache file WS.locator, which a full disk, a crash of another program or
 * a hand can damage.
 *
 * Invariants: damaged bytes are refused or give an index whose every query
 * stays inside its arrays (ASan) and answers ids below npoly in ascending
 * order; the cell query agrees with the plain query. */
#include "pointindex.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void probe(const wg_pindex *ix, double x, double y) {
    uint32_t ids[8], ids2[8];
    size_t n = wg_pindex_query(ix, x, y, ids, 8), m = n < 8 ? n : 8;
    for (size_t k = 0; k < m; k++) {
        if (ids[k] >= wg_pindex_npoly(ix) || (k && ids[k] <= ids[k - 1])) abort();
        (void)wg_pindex_contains(ix, ids[k], x, y);
        (void)wg_pindex_distance_m(ix, ids[k], x, y);
    }
    uint32_t cell = wg_pindex_cell(ix, x, y);
    if (cell != UINT32_MAX) {
        int uniform = 0;
        size_t n2 = wg_pindex_query_cell(ix, cell, x, y, ids2, 8, &uniform);
        if (n2 != n || memcmp(ids, ids2, m * sizeof *ids)) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 20)) return 0;
    /* the loader reads in place, 8-aligned, as from a mapping */
    uint64_t *buf = malloc(size / 8 * 8 + 8);
    if (!buf) return 0;
    memcpy(buf, data, size);
    size_t off = 0;
    wg_pindex *ix = NULL;
    if (wg_pindex_load((const unsigned char *)buf, size, &off, &ix) == 0) {
        if (off > size) abort();
        size_t np = wg_pindex_npoly(ix);
        /* a lattice over each polygon's box (its edges included), and some
         * points far outside and not numbers */
        for (size_t i = 0; i < np && i < 8; i++) {
            double bb[4];
            wg_pindex_bbox(ix, (uint32_t)i, bb);
            for (int a = 0; a <= 6; a++)
                for (int b = 0; b <= 6; b++)
                    probe(ix, bb[0] + (bb[2] - bb[0]) * a / 6, bb[1] + (bb[3] - bb[1]) * b / 6);
        }
        probe(ix, 1e300, -1e300);
        probe(ix, NAN, 0);
        probe(ix, 0, INFINITY);
        wg_pindex_free(ix);
    }
    free(buf);
    return 0;
}
