/* test_keys.c -- API keys: SHA-256 (GDAL's, checked against FIPS 180-2
 * vectors), keys shown once and stored only hashed, lookup, revocation,
 * roles, scopes, argument checks, read-only workspaces. */
#include "testutil.h"

#include "httpparse.h"

#include <ctype.h>

void CPL_SHA256(const void *data, size_t len, unsigned char hash[32]);

static void hex(const unsigned char *h, char out[65]) {
    for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static void sha256_vectors(void) {
    static const struct {
        const char *in, *out;
    } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        unsigned char h[32];
        char x[65];
        CPL_SHA256(v[i].in, strlen(v[i].in), h);
        hex(h, x);
        CHECK_STR(x, v[i].out);
    }
    /* One million 'a' (FIPS 180-2, B.3): crosses many blocks. */
    size_t n = 1000000;
    char *a = malloc(n);
    memset(a, 'a', n);
    unsigned char h[32];
    char x[65];
    CPL_SHA256(a, n, h);
    hex(h, x);
    CHECK_STR(x, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(a);
}

static int well_formed(const char *k) {
    if (strlen(k) != WG_KEY_LEN || strncmp(k, "wgk_", 4)) return 0;
    for (const char *p = k + 4; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_') return 0;
    return 1;
}

typedef struct seen {
    int n;
    wg_api_key k[16];
} seen;

static int collect(void *user, const wg_api_key *k) {
    seen *s = user;
    if (s->n < 16) s->k[s->n] = *k;
    s->n++;
    return 0;
}

/* 1 if the text occurs anywhere in the file (the database, its WAL). */
static int file_contains(const char *path, const char *text) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = strlen(text), cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    int found = 0;
    size_t r;
    while ((r = fread(buf + len, 1, cap - len, f)) > 0) {
        len += r;
        if (len == cap) buf = realloc(buf, cap *= 2);
    }
    for (size_t i = 0; i + n <= len && !found; i++) found = !memcmp(buf + i, text, n);
    free(buf);
    fclose(f);
    return found;
}

int main(void) {
    wg_ctx *ctx = NULL;
    CHECK(wg_ctx_new(&ctx) == WG_OK);
    sha256_vectors();

    /* Roles and scopes. */
    wg_role role;
    CHECK(wg_role_parse("handset", &role) == WG_OK && role == WG_ROLE_HANDSET);
    CHECK(wg_role_parse("admin", &role) == WG_OK && role == WG_ROLE_ADMIN);
    CHECK(wg_role_parse("Admin", &role) == WG_ERR_INVALID_ARG);
    CHECK(wg_role_parse(NULL, &role) == WG_ERR_INVALID_ARG);
    CHECK_STR(wg_role_name(WG_ROLE_ANALYST), "analyst");
    CHECK(wg_role_name((wg_role)7) == NULL);
    CHECK(wg_code_in_scope("320724100201001", "320724100"));
    CHECK(!wg_code_in_scope("320724101201001", "320724100"));
    CHECK(!wg_code_in_scope("3207", "320724100")); /* a broader unit is not inside */
    CHECK(wg_code_in_scope("anything", ""));
    CHECK(wg_code_in_scope("anything", NULL));
    CHECK(wg_code_in_scope(NULL, NULL));
    CHECK(!wg_code_in_scope(NULL, "32"));

    wg_ws *ws = fresh_ws(ctx, "keys.sqlite", 4549);
    const char *path = tpath("keys.sqlite");

    /* A workspace without keys knows no key. */
    char key[WG_KEY_LEN + 1], key2[WG_KEY_LEN + 1];
    wg_api_key info, got;
    CHECK(wg_keys_check(ws, "wgk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &got) ==
          WG_ERR_NOT_FOUND);

    CHECK_OK(ctx, wg_keys_add(ws, "hotline", WG_ROLE_HANDSET, "320724100", 5, key, &info));
    CHECK(well_formed(key));
    CHECK(info.id == 1 && info.role == WG_ROLE_HANDSET && info.rate_per_s == 5);
    CHECK_STR(info.name, "hotline");
    CHECK_STR(info.scope, "320724100");
    CHECK(!strncmp(info.prefix, key, 8) && strlen(info.prefix) == 8);
    CHECK(info.revoked_at[0] == '\0' && strlen(info.created_at) == 20);
    CHECK_OK(ctx, wg_keys_add(ws, "chief", WG_ROLE_ADMIN, NULL, 0, key2, NULL));
    CHECK(well_formed(key2) && strcmp(key, key2));

    /* Only the hash is stored: the row holds SHA-256(key), the file never the key. */
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(ws->db, "SELECT hash FROM api_keys WHERE id = 1", -1, &st, NULL);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    unsigned char h[32];
    char x[65];
    CPL_SHA256(key, strlen(key), h);
    hex(h, x);
    CHECK_STR((const char *)sqlite3_column_text(st, 0), x);
    sqlite3_finalize(st);
    char wal[1100];
    snprintf(wal, sizeof wal, "%s-wal", path);
    CHECK(!file_contains(path, key) && !file_contains(wal, key));
    CHECK(!file_contains(path, key2) && !file_contains(wal, key2));

    /* Lookup. */
    CHECK_OK(ctx, wg_keys_check(ws, key, &got));
    CHECK(got.id == 1 && got.role == WG_ROLE_HANDSET);
    CHECK_STR(got.scope, "320724100");
    CHECK_OK(ctx, wg_keys_check(ws, key2, &got));
    CHECK(got.id == 2 && got.role == WG_ROLE_ADMIN && got.scope[0] == '\0');
    char wrong[WG_KEY_LEN + 1];
    memcpy(wrong, key, sizeof wrong);
    wrong[10] = wrong[10] == 'A' ? 'B' : 'A';
    CHECK(wg_keys_check(ws, wrong, &got) == WG_ERR_NOT_FOUND);
    CHECK(wg_keys_check(ws, "", &got) == WG_ERR_NOT_FOUND);
    CHECK(wg_keys_check(ws, "wgk_short", &got) == WG_ERR_NOT_FOUND);
    CHECK(wg_keys_check(ws, NULL, &got) == WG_ERR_NOT_FOUND);
    char longer[WG_KEY_LEN + 2];
    snprintf(longer, sizeof longer, "%sA", key);
    CHECK(wg_keys_check(ws, longer, &got) == WG_ERR_NOT_FOUND);

    /* Bad arguments store nothing. */
    CHECK(wg_keys_add(ws, "", WG_ROLE_ADMIN, NULL, 0, key2, NULL) == WG_ERR_INVALID_ARG);
    CHECK(wg_keys_add(ws, NULL, WG_ROLE_ADMIN, NULL, 0, key2, NULL) == WG_ERR_INVALID_ARG);
    CHECK(wg_keys_add(ws, "a\nb", WG_ROLE_ADMIN, NULL, 0, key2, NULL) == WG_ERR_INVALID_ARG);
    CHECK(wg_keys_add(ws, "x", (wg_role)9, NULL, 0, key2, NULL) == WG_ERR_INVALID_ARG);
    CHECK(wg_keys_add(ws, "x", WG_ROLE_ADMIN, NULL, -1, key2, NULL) == WG_ERR_INVALID_ARG);
    CHECK(wg_keys_add(ws, "x", WG_ROLE_ADMIN, NULL, NAN, key2, NULL) == WG_ERR_INVALID_ARG);
    char big[100];
    memset(big, 'n', 99);
    big[99] = '\0';
    CHECK(wg_keys_add(ws, big, WG_ROLE_ADMIN, NULL, 0, key2, NULL) == WG_ERR_INVALID_ARG);
    CHECK(wg_keys_add(ws, "x", WG_ROLE_ADMIN, big, 0, key2, NULL) == WG_ERR_INVALID_ARG);
    CHECK(wg_keys_add(ws, "x", WG_ROLE_ADMIN, "\xff", 0, key2, NULL) == WG_ERR_INVALID_ARG);
    seen s = {0};
    CHECK_OK(ctx, wg_keys_list(ws, collect, &s));
    CHECK(s.n == 2 && s.k[0].id == 1 && s.k[1].id == 2);

    /* Revocation: by id, by name; a revoked key is unknown; twice is an error. */
    char k3[WG_KEY_LEN + 1], k4[WG_KEY_LEN + 1];
    CHECK_OK(ctx, wg_keys_add(ws, "phone", WG_ROLE_HANDSET, NULL, 0, k3, NULL));
    CHECK_OK(ctx, wg_keys_add(ws, "phone", WG_ROLE_HANDSET, NULL, 0, k4, NULL));
    int64_t n = 0;
    CHECK_OK(ctx, wg_keys_revoke(ws, "phone", &n));
    CHECK(n == 2);
    CHECK(wg_keys_check(ws, k3, &got) == WG_ERR_NOT_FOUND);
    CHECK(wg_keys_check(ws, k4, &got) == WG_ERR_NOT_FOUND);
    CHECK(wg_keys_revoke(ws, "phone", &n) == WG_ERR_NOT_FOUND);
    CHECK_OK(ctx, wg_keys_revoke(ws, "1", &n));
    CHECK(n == 1 && wg_keys_check(ws, key, &got) == WG_ERR_NOT_FOUND);
    CHECK(wg_keys_revoke(ws, "99", NULL) == WG_ERR_NOT_FOUND);
    CHECK(wg_keys_revoke(ws, "", NULL) == WG_ERR_INVALID_ARG);
    memset(&s, 0, sizeof s);
    CHECK_OK(ctx, wg_keys_list(ws, collect, &s));
    CHECK(s.n == 4 && s.k[0].revoked_at[0] && !s.k[1].revoked_at[0] && s.k[2].revoked_at[0]);

    /* 200 keys, all different (256 random bits each). */
    char (*many)[WG_KEY_LEN + 1] = malloc(200 * sizeof *many);
    int dup = 0;
    for (int i = 0; i < 200; i++) {
        CHECK_OK(ctx, wg_keys_add(ws, "bulk", WG_ROLE_ANALYST, "32", 0, many[i], NULL));
        for (int j = 0; j < i; j++) dup += !strcmp(many[i], many[j]);
    }
    CHECK(dup == 0);
    free(many);
    wg_ws_close(ws);

    /* Read-only: lookups work, writes are refused. */
    CHECK_OK(ctx, wg_ws_open(ctx, path, 1, &ws));
    CHECK_OK(ctx, wg_keys_check(ws, key2, &got));
    CHECK(got.role == WG_ROLE_ADMIN);
    CHECK(wg_keys_revoke(ws, "2", NULL) != WG_OK);
    CHECK_OK(ctx, wg_keys_check(ws, key2, &got));
    wg_ws_close(ws);
    wg_ctx_free(ctx);
    TEST_MAIN_END();
}
