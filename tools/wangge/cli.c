/* cli.c -- shared plumbing for the subcommands. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "wangge %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see `wangge %s --help`)\n", cmd);
    return EXIT_USAGE;
}

int cli_threads_opt(const char *cmd, const char *arg, int max, int *out) {
    char *end;
    long n = strtol(arg, &end, 10);
    if (end == arg || *end || n < 1 || n > max)
        return cli_usage_error(cmd, "--threads needs a number in 1..%d, not '%s'", max, arg);
    *out = (int)n;
    return 0;
}

int cli_fail(const char *cmd, wg_ctx *ctx, wg_status st) {
    cli_progress_done();
    const char *msg = wg_ctx_errmsg(ctx);
    fprintf(stderr, "wangge %s: error: %s\n", cmd, *msg ? msg : wg_status_str(st));
    return EXIT_FAIL;
}

static int bar_drawn = 0;
static double bar_last = 0;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int progress_bar(void *user, const char *what, uint64_t done, uint64_t total) {
    (void)user;
    double t = now_s();
    if (t - bar_last < 0.1 && done != total) return 0;
    bar_last = t;
    const int width = 30;
    if (total) {
        int fill = (int)(width * (double)done / (double)total);
        if (fill > width) fill = width;
        fprintf(stderr, "\r%-10s [%.*s%*s] %3d%% %llu/%llu", what, fill,
                "##############################", width - fill, "",
                (int)(100.0 * done / total), (unsigned long long)done, (unsigned long long)total);
    } else {
        fprintf(stderr, "\r%-10s %llu", what, (unsigned long long)done);
    }
    fflush(stderr);
    bar_drawn = 1;
    return 0;
}

void cli_progress_done(void) {
    if (bar_drawn) fprintf(stderr, "\r\033[K");
    bar_drawn = 0;
}

wg_ctx *cli_ctx(void) {
    wg_ctx *ctx = NULL;
    if (wg_ctx_new(&ctx) != WG_OK) {
        fprintf(stderr, "wangge: cannot initialise GEOS/PROJ (out of memory?)\n");
        exit(EXIT_FAIL);
    }
    if (isatty(2)) wg_ctx_set_progress(ctx, progress_bar, NULL);
    return ctx;
}

int cli_parse_epsg(const char *s) {
    if (!s) return 0;
    if (strncasecmp(s, "EPSG:", 5) == 0) s += 5;
    if (!*s) return 0;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p)) return 0;
    long v = strtol(s, NULL, 10);
    return v > 0 && v < 1000000 ? (int)v : 0;
}

void cli_json_out(cJSON *o, int pretty) {
    char *s = pretty ? cJSON_Print(o) : cJSON_PrintUnformatted(o);
    if (s) puts(s);
    else fprintf(stderr, "wangge: out of memory printing JSON\n");
    free(s);
    cJSON_Delete(o);
}
