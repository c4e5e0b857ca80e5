/* cmd_keys.c -- `wangge keys add|list|revoke`: API keys of `wangge serve`. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *out) {
    fprintf(out,
        "usage: wangge keys add WS --name N --role handset|analyst|admin [--scope CODE_PREFIX]\n"
        "                          [--rate N]\n"
        "       wangge keys list WS [--json]\n"
        "       wangge keys revoke WS ID|NAME\n\n"
        "API keys for `wangge serve`. `add` prints the new key alone on the last line of\n"
        "standard output: it is shown this once, the workspace keeps only its SHA-256.\n\n"
        "  --name N        who holds the key (a handset, the hotline, an analyst)\n"
        "  --role R        handset: locate, report incidents, route\n"
        "                  analyst: read (locate, incidents, grids, route, dispatch, isochrone)\n"
        "                  admin:   everything\n"
        "  --scope P       a unit code prefix: the key cannot read or write incidents, grids\n"
        "                  or officers' phone numbers outside it (default: the whole workspace)\n"
        "  --rate N        at most N requests per second (a burst of max(N, 1)); N may be\n"
        "                  fractional, or written N/min; default: no limit\n"
        "`revoke` takes effect at once, in every running server.\n");
}

static int parse_rate(const char *s, double *out) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v) || v < 0) return 0;
    if (!strcmp(end, "/min")) v /= 60.0;
    else if (*end && strcmp(end, "/s")) return 0;
    *out = v;
    return v <= 1e6;
}

static int keys_add(int argc, char **argv) {
    enum { O_NAME = 256, O_ROLE, O_SCOPE, O_RATE };
    static const struct option longopts[] = {
        {"name", required_argument, 0, O_NAME}, {"role", required_argument, 0, O_ROLE},
        {"scope", required_argument, 0, O_SCOPE}, {"rate", required_argument, 0, O_RATE},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *name = NULL, *role_s = NULL, *scope = "";
    double rate = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_NAME: name = optarg; break;
        case O_ROLE: role_s = optarg; break;
        case O_SCOPE: scope = optarg; break;
        case O_RATE:
            if (!parse_rate(optarg, &rate))
                return cli_usage_error("keys add", "--rate needs requests per second (e.g. 5, "
                                       "0.5 or 30/min)");
            break;
        case 'h': help(stdout); return EXIT_OK;
        default: help(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) return cli_usage_error("keys add", "expected one workspace path");
    if (!name || !*name) return cli_usage_error("keys add", "--name is required");
    wg_role role;
    if (!role_s || wg_role_parse(role_s, &role))
        return cli_usage_error("keys add", "--role must be handset, analyst or admin");
    wg_ctx *ctx = cli_ctx();
    wg_ws *ws = NULL;
    char key[WG_KEY_LEN + 1];
    wg_api_key info;
    int rc = EXIT_OK;
    wg_status st;
    if ((st = wg_ws_open(ctx, argv[optind], 0, &ws)) ||
        (st = wg_keys_add(ws, name, role, scope, rate, key, &info))) {
        rc = cli_fail("keys add", ctx, st);
    } else {
        char r[32] = "no limit";
        if (info.rate_per_s > 0) snprintf(r, sizeof r, "%g requests/s", info.rate_per_s);
        printf("key %lld for '%s': role %s, scope %s, rate %s\n", (long long)info.id, info.name,
               wg_role_name(info.role), info.scope[0] ? info.scope : "(everything)", r);
        printf("store it now: it is not shown again\n%s\n", key);
        memset(key, 0, sizeof key);
    }
    wg_ws_close(ws);
    wg_ctx_free(ctx);
    return rc;
}

typedef struct list_out {
    cJSON *arr;
    int json, n;
} list_out;

static int print_key(void *user, const wg_api_key *k) {
    list_out *lo = user;
    lo->n++;
    if (lo->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", (double)k->id);
        cJSON_AddStringToObject(o, "name", k->name);
        cJSON_AddStringToObject(o, "role", wg_role_name(k->role));
        cJSON_AddStringToObject(o, "scope", k->scope);
        cJSON_AddNumberToObject(o, "rate_per_s", k->rate_per_s);
        cJSON_AddStringToObject(o, "prefix", k->prefix);
        cJSON_AddStringToObject(o, "created_at", k->created_at);
        if (k->revoked_at[0]) cJSON_AddStringToObject(o, "revoked_at", k->revoked_at);
        else cJSON_AddNullToObject(o, "revoked_at");
        cJSON_AddItemToArray(lo->arr, o);
        return 0;
    }
    char rate[32] = "-";
    if (k->rate_per_s > 0) snprintf(rate, sizeof rate, "%g/s", k->rate_per_s);
    printf("%-5lld %-20s %-8s %-20s %-9s %-10s %-21s %s\n", (long long)k->id, k->name,
           wg_role_name(k->role), k->scope[0] ? k->scope : "*", rate, k->prefix, k->created_at,
           k->revoked_at[0] ? k->revoked_at : "active");
    return 0;
}

static int keys_list(int argc, char **argv) {
    static const struct option longopts[] = {
        {"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    list_out lo = {NULL, 0, 0};
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j': lo.json = 1; break;
        case 'h': help(stdout); return EXIT_OK;
        default: help(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) return cli_usage_error("keys list", "expected one workspace path");
    wg_ctx *ctx = cli_ctx();
    wg_ws *ws = NULL;
    int rc = EXIT_OK;
    wg_status st = wg_ws_open(ctx, argv[optind], 1, &ws);
    if (!st) {
        if (lo.json) lo.arr = cJSON_CreateArray();
        else printf("%-5s %-20s %-8s %-20s %-9s %-10s %-21s %s\n", "id", "name", "role", "scope",
                    "rate", "prefix", "created", "revoked");
        st = wg_keys_list(ws, print_key, &lo);
    }
    if (st) {
        rc = cli_fail("keys list", ctx, st);
        cJSON_Delete(lo.arr);
    } else if (lo.json) {
        cli_json_out(lo.arr, 1);
    }
    wg_ws_close(ws);
    wg_ctx_free(ctx);
    return rc;
}

static int keys_revoke(int argc, char **argv) {
    static const struct option longopts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'h') {
            help(stdout);
            return EXIT_OK;
        }
        help(stderr);
        return EXIT_USAGE;
    }
    if (optind != argc - 2) return cli_usage_error("keys revoke", "expected WS and a key id or name");
    wg_ctx *ctx = cli_ctx();
    wg_ws *ws = NULL;
    int64_t n = 0;
    int rc = EXIT_OK;
    wg_status st;
    if ((st = wg_ws_open(ctx, argv[optind], 0, &ws)) ||
        (st = wg_keys_revoke(ws, argv[optind + 1], &n)))
        rc = cli_fail("keys revoke", ctx, st);
    else
        printf("revoked %lld key%s\n", (long long)n, n == 1 ? "" : "s");
    wg_ws_close(ws);
    wg_ctx_free(ctx);
    return rc;
}

int cmd_keys(int argc, char **argv) {
    if (argc < 2) {
        help(stderr);
        return EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
        help(stdout);
        return EXIT_OK;
    }
    if (!strcmp(sub, "add")) return keys_add(argc - 1, argv + 1);
    if (!strcmp(sub, "list")) return keys_list(argc - 1, argv + 1);
    if (!strcmp(sub, "revoke")) return keys_revoke(argc - 1, argv + 1);
    fprintf(stderr, "wangge keys: unknown subcommand '%s' (add, list or revoke)\n\n", sub);
    help(stderr);
    return EXIT_USAGE;
}
