/* cmd_rules.c -- `wangge rules WS --show | --load FILE | --defaults`: the
 * workspace's deadline rules and holiday calendar. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static void help(FILE *out) {
    fprintf(out,
        "usage: wangge rules WS [--show | --load FILE | --defaults]\n\n"
        "The time limits of the closed loop, per level and category, and the working-day\n"
        "calendar. --show (the default) prints them in the file format --load reads, so\n"
        "`wangge rules WS > rules.txt`, edit, `wangge rules WS --load rules.txt`.\n"
        "--defaults puts back the defaults. Lines of a rules file ('#' starts a comment):\n\n"
        "  limit LEVEL CATEGORY AMOUNT UNIT   LEVEL grid|village|town|county|dispatch\n"
        "                                     (dispatch: the time to assign); CATEGORY or *;\n"
        "                                     UNIT days|workdays|hours|workhours\n"
        "  holiday 2024-10-01..2024-10-07     days off (a date or a range)\n"
        "  workday 2024-09-29                 make-up working days (调休)\n"
        "  warning 80%%                        share of the limit that turns a case yellow\n"
        "  work_hours 09:00-17:00             the working window of `workhours`\n"
        "  timezone +08:00\n\n"
        "N days ends at local midnight N days after the start (0 = the same day); N workdays\n"
        "at the end of the Nth working day after the start's day. Defaults: grid 0 days,\n"
        "village 3 days, town 5, county 7, dispatch 1 workday, warning 80%%. Limits not in\n"
        "the file keep the defaults. Loading changes the deadlines of later steps only.\n");
}

int cmd_rules(int argc, char **argv) {
    enum { O_SHOW = 256, O_LOAD, O_DEFAULTS };
    static const struct option longopts[] = {
        {"show", no_argument, 0, O_SHOW}, {"load", required_argument, 0, O_LOAD},
        {"defaults", no_argument, 0, O_DEFAULTS}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *load = NULL;
    int defaults = 0, show = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_SHOW: show = 1; break;
        case O_LOAD: load = optarg; break;
        case O_DEFAULTS: defaults = 1; break;
        case 'h': help(stdout); return EXIT_OK;
        default: help(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) return cli_usage_error("rules", "expected one workspace path");
    if (show + !!load + defaults > 1)
        return cli_usage_error("rules", "--show, --load and --defaults exclude each other");
    wg_ctx *ctx = cli_ctx();
    wg_ws *ws = NULL;
    wg_rules *r = NULL;
    int rc = EXIT_OK;
    wg_status st;
    if ((st = wg_ws_open(ctx, argv[optind], !(load || defaults), &ws))) goto fail;
    if (load || defaults) {
        if ((st = load ? wg_rules_read_file(ctx, load, &r) : wg_rules_default(ctx, &r)) ||
            (st = wg_rules_store(ws, r)))
            goto fail;
        wg_rules_free(r);
        r = NULL;
    }
    if ((st = wg_rules_load(ws, &r))) goto fail;
    char *text = wg_rules_format(r);
    if (!text) {
        st = WG_ERR_NOMEM;
        goto fail;
    }
    fputs(text, stdout);
    free(text);
    if (0) {
    fail:
        rc = cli_fail("rules", ctx, st);
    }
    wg_rules_free(r);
    wg_ws_close(ws);
    wg_ctx_free(ctx);
    return rc;
}
