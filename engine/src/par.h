/* par.h -- fork-join over a few threads for the inner loops of one request.
 *
 * Why not a pool: the loops parallelised here (a service area's pieces,
 * raster and transforms) run for milliseconds, a thread starts in tens of
 * microseconds, and a pool would outlive the call with state to manage. */
#ifndef WG_PAR_H
#define WG_PAR_H

#include <stddef.h>

#define WG_PAR_MAX 8 /* at most this many parts (threads) */

/* Part `part` of `nparts`: writes only what that part owns. */
typedef void (*wg_par_fn)(void *arg, int part, int nparts);

/* How many parts to use: `requested` if > 0, else one per online CPU;
 * clamped to [1, WG_PAR_MAX]. */
int wg_par_parts(int requested);

/* Runs fn(arg, k, nparts) for k = 0 .. nparts - 1, part 0 on the calling
 * thread, and returns when all are done. A part whose thread cannot be
 * started runs on the calling thread: callers make parts independent, so
 * the result never depends on how many threads actually ran. */
void wg_par_run(int nparts, wg_par_fn fn, void *arg);

/* [*lo, *hi): part k's share of n items split evenly. */
static inline void wg_par_range(size_t n, int k, int nparts, size_t *lo, size_t *hi) {
    *lo = n * (size_t)k / (size_t)nparts, *hi = n * (size_t)(k + 1) / (size_t)nparts;
}

#endif
