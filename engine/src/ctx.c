/* ctx.c -- the context handle.
 *
 * A wg_ctx bundles what the libraries we sit on want per thread: a GEOS
 * reentrant handle (with its message handlers pointed back at us) and a PROJ
 * context, plus the last error message. Nothing is global, so contexts on
 * different threads never meet. */
#include "ctx.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <string.h>

static void geos_error_handler(const char *msg, void *user) {
    wg_ctx *ctx = user;
    snprintf(ctx->geos_msg, sizeof ctx->geos_msg, "%s", msg);
}

static void geos_notice_handler(const char *msg, void *user) {
    (void)msg;
    (void)user; /* notices (e.g. self-intersection details) are reported through isValidDetail */
}

/* SQLite counts every allocation under one process-wide mutex unless told
 * not to (SQLITE_CONFIG_MEMSTATUS). The engine never reads those counts,
 * and two connections busy on two threads (place --store inserts while
 * its R*Tree is built beside) spent a fifth of their time on that mutex.
 * Only possible before SQLite initialises, so tried once, with the first
 * context (a no-op if the application already uses SQLite). */
static void sqlite_setup(void) { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }

void wg_keep_freed_memory(void) {
#ifdef __GLIBC__
    /* blocks up to 32 MB (glibc's ceiling for this setting) from the heap,
     * not from mmap, and the heap's free top kept up to 1 GB */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

wg_status wg_ctx_new(wg_ctx **out) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sqlite_setup);
    wg_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return WG_ERR_NOMEM;
    ctx->geos = GEOS_init_r();
    ctx->proj = proj_context_create();
    if (!ctx->geos || !ctx->proj) {
        wg_ctx_free(ctx);
        return WG_ERR_NOMEM;
    }
    GEOSContext_setErrorMessageHandler_r(ctx->geos, geos_error_handler, ctx);
    GEOSContext_setNoticeMessageHandler_r(ctx->geos, geos_notice_handler, ctx);
    proj_log_level(ctx->proj, PJ_LOG_NONE);
    *out = ctx;
    return WG_OK;
}

void wg_ctx_free(wg_ctx *ctx) {
    if (!ctx) return;
    if (ctx->geos) GEOS_finish_r(ctx->geos);
    if (ctx->proj) proj_context_destroy(ctx->proj);
    free(ctx);
}

const char *wg_ctx_errmsg(const wg_ctx *ctx) { return ctx ? ctx->errmsg : ""; }

void wg_ctx_set_progress(wg_ctx *ctx, wg_progress_fn fn, void *user) {
    ctx->progress = fn;
    ctx->progress_user = user;
}

int wg_progress(wg_ctx *ctx, const char *what, uint64_t done, uint64_t total) {
    if (!ctx->progress) return 0;
    return ctx->progress(ctx->progress_user, what, done, total);
}

wg_status wg_err(wg_ctx *ctx, wg_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->errmsg, sizeof ctx->errmsg, fmt, ap);
    va_end(ap);
    return st;
}

void wg_err_append(wg_ctx *ctx, const char *fmt, ...) {
    size_t n = strlen(ctx->errmsg);
    if (n + 1 >= sizeof ctx->errmsg) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->errmsg + n, sizeof ctx->errmsg - n, fmt, ap);
    va_end(ap);
}

const char *wg_geos_msg(wg_ctx *ctx) {
    memcpy(ctx->geos_last, ctx->geos_msg, sizeof ctx->geos_last);
    ctx->geos_msg[0] = '\0';
    return ctx->geos_last;
}

const char *wg_status_str(wg_status st) {
    switch (st) {
    case WG_OK: return "ok";
    case WG_ERR_NOMEM: return "out of memory";
    case WG_ERR_INVALID_ARG: return "invalid argument";
    case WG_ERR_IO: return "input/output error";
    case WG_ERR_FORMAT: return "malformed input";
    case WG_ERR_GEOS: return "geometry error (GEOS)";
    case WG_ERR_PROJ: return "coordinate transformation error (PROJ)";
    case WG_ERR_GDAL: return "data access error (GDAL/OGR)";
    case WG_ERR_SQLITE: return "workspace database error (SQLite)";
    case WG_ERR_NOT_FOUND: return "not found";
    case WG_ERR_CONSTRAINT: return "data model rule broken";
    case WG_ERR_VERSION: return "workspace schema version mismatch";
    case WG_ERR_INTERRUPTED: return "interrupted";
    }
    return "unknown status";
}

const char *wg_version(void) { return WG_VERSION_STRING; }
