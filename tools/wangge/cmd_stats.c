/* cmd_stats.c -- `wangge stats WS --by ...`: the closed loop's figures per
 * grid, village, town, category or officer, as JSON or a map layer. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void help(FILE *out) {
    fprintf(out,
        "usage: wangge stats WS --by grid|village|town|category|officer [--from TIME]\n"
        "                    [--to TIME] [--at TIME] [-o FILE]\n\n"
        "Figures of the closed loop per group, over the incidents reported in [--from, --to)\n"
        "(RFC 3339 times; default: all):\n"
        "  received, accepted, closed, closed_on_time (closed by the deadline),\n"
        "  open, overdue_open (red at --at: past the deadline, or past the dispatch deadline\n"
        "  while unassigned), warning_open (yellow at --at), median_close_h (report to close),\n"
        "  rated, satisfied (satisfaction 4-5), mean_satisfaction, and the rates in percent:\n"
        "  acceptance_rate 受理率, on_time_rate 按时办结率, satisfaction_rate 满意率 (null when\n"
        "  nothing to divide by).\n"
        "JSON: {\"groups\": [{\"key\", \"name\" (the unit's or officer's), figures...}],\n"
        "\"total\": {figures over every group}}.\n"
        "  --at TIME   when open incidents are judged (default now)\n"
        "  -o FILE     write a layer instead of JSON (.geojson, .gpkg, .shp, .fgb, .csv): by\n"
        "              grid, village or town with each unit's current polygon and name\n"
        "Officers are counted by their current assignments (`wangge incident --assign`).\n");
}

static void num(cJSON *o, const char *k, double v, int round2) {
    if (isnan(v)) cJSON_AddNullToObject(o, k);
    else cJSON_AddNumberToObject(o, k, round2 ? round(v * 100) / 100 : v);
}

typedef struct collect {
    cJSON *root, *arr;
    wg_stats_row *rows;
    size_t n, cap;
    int failed;
} collect;

static int on_row(void *user, const wg_stats_row *r) {
    collect *c = user;
    if (c->arr) {
        cJSON *o = cJSON_CreateObject();
        if (r->key) {
            cJSON_AddStringToObject(o, "key", r->key);
            if (r->name) cJSON_AddStringToObject(o, "name", r->name);
            else cJSON_AddNullToObject(o, "name");
        }
        num(o, "received", (double)r->received, 0);
        num(o, "accepted", (double)r->accepted, 0);
        num(o, "closed", (double)r->closed, 0);
        num(o, "closed_on_time", (double)r->closed_on_time, 0);
        num(o, "open", (double)r->open, 0);
        num(o, "overdue_open", (double)r->overdue_open, 0);
        num(o, "warning_open", (double)r->warning_open, 0);
        num(o, "median_close_h", r->median_close_h, 1);
        num(o, "rated", (double)r->rated, 0);
        num(o, "satisfied", (double)r->satisfied, 0);
        num(o, "mean_satisfaction", r->mean_satisfaction, 1);
        num(o, "acceptance_rate", r->acceptance_rate, 1);
        num(o, "on_time_rate", r->on_time_rate, 1);
        num(o, "satisfaction_rate", r->satisfaction_rate, 1);
        if (r->key) cJSON_AddItemToArray(c->arr, o);
        else cJSON_AddItemToObject(c->root, "total", o); /* after the groups */
        return 0;
    }
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 64;
        wg_stats_row *p = realloc(c->rows, nc * sizeof *p);
        if (!p) {
            c->failed = 1;
            return 1;
        }
        c->rows = p;
        c->cap = nc;
    }
    c->rows[c->n] = *r;
    c->rows[c->n].name = NULL; /* borrowed for the call only; the writer reads its own */
    if (!(c->rows[c->n].key = strdup(r->key))) {
        c->failed = 1;
        return 1;
    }
    c->n++;
    return 0;
}

int cmd_stats(int argc, char **argv) {
    enum { O_BY = 256, O_FROM, O_TO, O_AT };
    static const struct option longopts[] = {
        {"by", required_argument, 0, O_BY}, {"from", required_argument, 0, O_FROM},
        {"to", required_argument, 0, O_TO}, {"at", required_argument, 0, O_AT},
        {"output", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    wg_stats_opts opts;
    memset(&opts, 0, sizeof opts);
    const char *by = NULL, *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        switch (c) {
        case O_BY: by = optarg; break;
        case O_FROM: opts.from = optarg; break;
        case O_TO: opts.to = optarg; break;
        case O_AT: opts.at = optarg; break;
        case 'o': out = optarg; break;
        case 'h': help(stdout); return EXIT_OK;
        default: help(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) return cli_usage_error("stats", "expected one workspace path");
    if (!by || wg_stats_by_parse(by, &opts.by))
        return cli_usage_error("stats", "--by must be grid, village, town, category or officer");
    wg_ctx *ctx = cli_ctx();
    wg_ws *ws = NULL;
    collect col = {0};
    cJSON *root = NULL;
    int rc = EXIT_OK;
    wg_status st;
    if (!out) {
        root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "by", by);
        if (opts.from) cJSON_AddStringToObject(root, "from", opts.from);
        if (opts.to) cJSON_AddStringToObject(root, "to", opts.to);
        char now[24];
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
        cJSON_AddStringToObject(root, "at", opts.at ? opts.at : now);
        col.root = root;
        col.arr = cJSON_AddArrayToObject(root, "groups");
        opts.total = 1;
    }
    if ((st = wg_ws_open(ctx, argv[optind], 0, &ws)) ||
        (st = wg_stats_compute(ws, &opts, on_row, &col)) ||
        (col.failed && (st = WG_ERR_NOMEM)) ||
        (out && (st = wg_stats_write(ws, &opts, col.rows, col.n, out)))) {
        cli_progress_done();
        rc = cli_fail("stats", ctx, st);
        cJSON_Delete(root);
    } else if (root) {
        cli_progress_done();
        cli_json_out(root, 1);
    } else {
        cli_progress_done();
        fprintf(stderr, "wrote %zu groups by %s to %s\n", col.n, by, out);
    }
    for (size_t i = 0; i < col.n; i++) free((char *)col.rows[i].key);
    free(col.rows);
    wg_ws_close(ws);
    wg_ctx_free(ctx);
    return rc;
}
