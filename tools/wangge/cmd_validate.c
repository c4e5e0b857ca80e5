/* cmd_validate.c -- `wangge validate`. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *out) {
    fprintf(out,
        "usage: wangge validate WS [--json] [--repair] [--min-area M2] [--outlier F]\n\n"
        "Checks the current units of the workspace and lists, each with the unit's code\n"
        "and a lon/lat to look at:\n"
        "  invalid_geometry  GEOS's reason (e.g. self-intersection)\n"
        "  overlap           two units of one level overlap (area m2)\n"
        "  gap               part of a unit covered by none of its children (area m2)\n"
        "  outside_parent    part of a unit outside its parent (area m2)\n"
        "  duplicate_code    two current units share a code\n"
        "  code_prefix       numeric code that does not extend its parent's code\n"
        "  orphan            parent missing (error if named but absent)\n"
        "  code_format       numeric code of unusual length (warning)\n"
        "  size_outlier      area beyond F times or below 1/F of the level median (warning)\n\n"
        "  --json            print {\"errors\":n,\"warnings\":n,\"issues\":[...]} on stdout\n"
        "  --repair          first fix invalid geometries with GEOS MakeValid, saying what\n"
        "                    changed, then validate\n"
        "  --min-area M2     ignore overlaps/gaps smaller than this (default 1)\n"
        "  --outlier F       size outlier factor (default 10)\n"
        "exit status: 0 no errors (warnings allowed), 1 errors found or failure, 2 usage\n");
}

static cJSON *issue_json(const wg_issue *is) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", wg_issue_kind_name(is->kind));
    cJSON_AddStringToObject(o, "severity", is->severity == WG_SEV_ERROR ? "error" : "warning");
    cJSON_AddStringToObject(o, "level", wg_level_name(is->level));
    cJSON_AddStringToObject(o, "code", is->code);
    if (is->other_code) cJSON_AddStringToObject(o, "other_code", is->other_code);
    if (is->area_m2 > 0) cJSON_AddNumberToObject(o, "area_m2", round(is->area_m2 * 10) / 10);
    if (isfinite(is->lon)) {
        cJSON_AddNumberToObject(o, "lon", round(is->lon * 1e7) / 1e7);
        cJSON_AddNumberToObject(o, "lat", round(is->lat * 1e7) / 1e7);
    }
    cJSON_AddStringToObject(o, "message", is->message);
    return o;
}

/* Lists the issues on stderr; the first `max` only (the JSON has them all). */
static void print_text(const wg_issue_list *l, const char *prefix, size_t max) {
    for (size_t i = 0; i < l->count; i++) {
        if (i == max) {
            fprintf(stderr, "... and %zu more (--json lists them all)\n", l->count - max);
            break;
        }
        const wg_issue *is = &l->items[i];
        fprintf(stderr, "%s%-7s %-16s %s", prefix, is->severity == WG_SEV_ERROR ? "error" : "warning",
                wg_issue_kind_name(is->kind), is->message);
        if (isfinite(is->lon)) fprintf(stderr, " at %.6f,%.6f", is->lon, is->lat);
        fputc('\n', stderr);
    }
}

int cmd_validate(int argc, char **argv) {
    enum { O_JSON = 256, O_REPAIR, O_MIN, O_OUT };
    static const struct option longopts[] = {
        {"json", no_argument, 0, O_JSON},         {"repair", no_argument, 0, O_REPAIR},
        {"min-area", required_argument, 0, O_MIN}, {"outlier", required_argument, 0, O_OUT},
        {"help", no_argument, 0, 'h'},             {0, 0, 0, 0}};
    int json = 0, repair = 0, c;
    wg_validate_opts vo;
    memset(&vo, 0, sizeof vo);
    char *end;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_JSON: json = 1; break;
        case O_REPAIR: repair = 1; break;
        case O_MIN:
            vo.min_area_m2 = strtod(optarg, &end);
            if (*end || !(vo.min_area_m2 > 0))
                return cli_usage_error("validate", "--min-area needs a positive number");
            break;
        case O_OUT:
            vo.outlier_factor = strtod(optarg, &end);
            if (*end || !(vo.outlier_factor > 1))
                return cli_usage_error("validate", "--outlier needs a number above 1");
            break;
        case 'h': help(stdout); return EXIT_OK;
        default: help(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) return cli_usage_error("validate", "expected one workspace path");
    wg_ctx *ctx = cli_ctx();
    wg_ws *ws = NULL;
    wg_issue_list *fixed = NULL, *l = NULL;
    wg_status st = wg_ws_open(ctx, argv[optind], !repair, &ws);
    if (!st && repair) st = wg_grids_repair(ws, &fixed);
    if (!st) st = wg_validate(ws, &vo, &l);
    int rc = st ? cli_fail("validate", ctx, st) : (l->errors ? EXIT_FAIL : EXIT_OK);
    cli_progress_done();
    if (!st) {
        if (fixed) print_text(fixed, "repair: ", (size_t)-1);
        print_text(l, "", json ? 0 : 100);
        fprintf(stderr, "%zu error%s, %zu warning%s%s\n", l->errors, l->errors == 1 ? "" : "s",
                l->warnings, l->warnings == 1 ? "" : "s",
                fixed ? " (after repair)" : "");
        if (json) {
            cJSON *o = cJSON_CreateObject(), *arr = cJSON_CreateArray();
            cJSON_AddNumberToObject(o, "errors", (double)l->errors);
            cJSON_AddNumberToObject(o, "warnings", (double)l->warnings);
            for (size_t i = 0; i < l->count; i++) cJSON_AddItemToArray(arr, issue_json(&l->items[i]));
            cJSON_AddItemToObject(o, "issues", arr);
            if (fixed) {
                cJSON *rep = cJSON_CreateArray();
                for (size_t i = 0; i < fixed->count; i++)
                    cJSON_AddItemToArray(rep, issue_json(&fixed->items[i]));
                cJSON_AddItemToObject(o, "repaired", rep);
            }
            cli_json_out(o, 1);
        }
    }
    wg_issue_list_free(l);
    wg_issue_list_free(fixed);
    wg_ws_close(ws);
    wg_ctx_free(ctx);
    return rc;
}
