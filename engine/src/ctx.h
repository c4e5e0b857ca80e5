/* ctx.h -- the context's insides, shared by the engine's modules. */
#ifndef WG_CTX_H
#define WG_CTX_H

#include "wangge/wangge.h"
#include <geos_c.h>
#include <proj.h>

#define WG_ERRMSG_MAX 4096

struct wg_ctx {
    GEOSContextHandle_t geos;
    PJ_CONTEXT *proj;
    char errmsg[WG_ERRMSG_MAX];
    char geos_msg[1024];  /* last message GEOS sent to its error handler */
    char geos_last[1024]; /* the copy wg_geos_msg() hands out */
    wg_progress_fn progress;
    void *progress_user;
};

/* Sets the context's message (printf-style) and returns `st`, so a failing
 * path reads `return wg_err(ctx, WG_ERR_IO, "cannot open %s", path);`. */
wg_status wg_err(wg_ctx *ctx, wg_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends to the message (used to add context while unwinding). */
void wg_err_append(wg_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last GEOS message ("" if none), and clears it. Borrowed; valid until
 * the next wg_geos_msg() call. */
const char *wg_geos_msg(wg_ctx *ctx);

/* Calls the progress callback, if any; non-zero means stop. */
int wg_progress(wg_ctx *ctx, const char *what, uint64_t done, uint64_t total);

#endif
