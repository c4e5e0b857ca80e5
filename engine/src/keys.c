/* keys.c -- API keys of the HTTP service.
 *
 * A key is 256 bits from the kernel's random source (getrandom, else
 * /dev/urandom), shown once as "wgk_" + base64url. The workspace keeps only
 * its SHA-256 (GDAL's CPL_SHA256, a library we already link), so a copied
 * workspace file gives away no key; a lookup hashes what the client sent
 * and finds the row by hash. Keys are not salted: they are long random
 * strings, not passwords, so a dictionary buys an attacker nothing.
 *
 * Each key carries a role (handset, analyst, admin), a scope (a code prefix:
 * a key for one town sees only that town) and an optional rate limit the
 * service enforces. Revoking sets revoked_at; rows are never deleted, so
 * the history of who reported what stays readable. */
#include "httpparse.h"
#include "workspace.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* GDAL exports its SHA-256 but does not install cpl_sha256.h; this is the
 * declaration from GDAL's port/cpl_sha256.h (GByte is unsigned char). */
void CPL_SHA256(const void *data, size_t len, unsigned char hash[32]);

static const char *const ROLE_NAMES[] = {"handset", "analyst", "admin"};

const char *wg_role_name(wg_role role) {
    return (unsigned)role < 3 ? ROLE_NAMES[role] : NULL;
}

wg_status wg_role_parse(const char *s, wg_role *out) {
    for (int i = 0; s && i < 3; i++)
        if (!strcmp(s, ROLE_NAMES[i])) {
            *out = (wg_role)i;
            return WG_OK;
        }
    return WG_ERR_INVALID_ARG;
}

int wg_code_in_scope(const char *code, const char *scope) {
    if (!scope || !*scope) return 1;
    return code && !strncmp(code, scope, strlen(scope));
}

static int random_bytes(unsigned char *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(buf + got, n - got, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    if (got == n) return 1;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    return got == n;
}

static const char B64URL[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* 32 bytes -> 43 base64url characters (no padding). */
static void b64url32(const unsigned char *in, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < 32; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < 32) v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < 32) v |= in[i + 2];
        out[o++] = B64URL[(v >> 18) & 63];
        out[o++] = B64URL[(v >> 12) & 63];
        if (i + 1 < 32) out[o++] = B64URL[(v >> 6) & 63];
        if (i + 2 < 32) out[o++] = B64URL[v & 63];
    }
    out[o] = '\0';
}

static void key_hash(const char *key, char hex[65]) {
    static const char digits[] = "0123456789abcdef";
    unsigned char h[32];
    CPL_SHA256(key, strlen(key), h);
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[h[i] >> 4];
        hex[2 * i + 1] = digits[h[i] & 15];
    }
    hex[64] = '\0';
}

/* A well-formed key: "wgk_" and 43 base64url characters. */
static int key_well_formed(const char *key) {
    if (!key || strlen(key) != WG_KEY_LEN || strncmp(key, "wgk_", 4)) return 0;
    for (const char *p = key + 4; *p; p++)
        if (!strchr(B64URL, *p)) return 0;
    return 1;
}

static void copy_col(sqlite3_stmt *st, int i, char *dst, size_t cap) {
    const char *s = (const char *)sqlite3_column_text(st, i);
    snprintf(dst, cap, "%s", s ? s : "");
}

#define KEY_COLS "id, name, role, scope, rate_per_s, prefix, created_at, revoked_at"

static void read_key(sqlite3_stmt *st, wg_api_key *k) {
    memset(k, 0, sizeof *k);
    k->id = sqlite3_column_int64(st, 0);
    copy_col(st, 1, k->name, sizeof k->name);
    const char *role = (const char *)sqlite3_column_text(st, 2);
    if (wg_role_parse(role, &k->role)) k->role = WG_ROLE_HANDSET; /* CHECK makes this moot */
    copy_col(st, 3, k->scope, sizeof k->scope);
    k->rate_per_s = sqlite3_column_double(st, 4);
    copy_col(st, 5, k->prefix, sizeof k->prefix);
    copy_col(st, 6, k->created_at, sizeof k->created_at);
    copy_col(st, 7, k->revoked_at, sizeof k->revoked_at);
}

wg_status wg_keys_add(wg_ws *ws, const char *name, wg_role role, const char *scope,
                      double rate_per_s, char key[WG_KEY_LEN + 1], wg_api_key *info) {
    wg_ctx *ctx = ws->ctx;
    if (!scope) scope = "";
    if (!name || !*name || !wg_text_ok(name, strlen(name), WG_INCIDENT_TEXT_MAX, 0))
        return wg_err(ctx, WG_ERR_INVALID_ARG, "a key name is 1 to %d bytes of text",
                      WG_INCIDENT_TEXT_MAX);
    if (!wg_text_ok(scope, strlen(scope), WG_INCIDENT_TEXT_MAX, 0))
        return wg_err(ctx, WG_ERR_INVALID_ARG, "a scope is a code prefix of at most %d bytes",
                      WG_INCIDENT_TEXT_MAX);
    if (!wg_role_name(role)) return wg_err(ctx, WG_ERR_INVALID_ARG, "unknown role %d", (int)role);
    if (!(rate_per_s >= 0 && rate_per_s <= 1e6))
        return wg_err(ctx, WG_ERR_INVALID_ARG, "the rate limit must be 0..1000000 requests/s");
    wg_status rc = wg_incidents_init(ws);
    if (rc) return rc;
    unsigned char raw[32];
    if (!random_bytes(raw, sizeof raw))
        return wg_err(ctx, WG_ERR_IO, "cannot read the system's random source");
    char text[WG_KEY_LEN + 1], hex[65], now[24], prefix[12];
    memcpy(text, "wgk_", 4);
    b64url32(raw, text + 4);
    memset(raw, 0, sizeof raw);
    key_hash(text, hex);
    wg_time_format(wg_time_now(), now);
    snprintf(prefix, sizeof prefix, "%.8s", text);
    sqlite3_stmt *st = NULL;
    if ((rc = wg_ws_prepare(ws, "INSERT INTO api_keys(name, role, scope, rate_per_s, hash, "
                                "prefix, created_at) VALUES(?,?,?,?,?,?,?) RETURNING " KEY_COLS,
                            &st)))
        return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, wg_role_name(role), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, scope, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 4, rate_per_s);
    sqlite3_bind_text(st, 5, hex, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, prefix, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, now, -1, SQLITE_STATIC);
    wg_api_key k;
    if (sqlite3_step(st) == SQLITE_ROW) read_key(st, &k);
    else rc = wg_ws_sqlerr(ws, "storing the key");
    if (!rc && sqlite3_step(st) != SQLITE_DONE) rc = wg_ws_sqlerr(ws, "storing the key");
    sqlite3_finalize(st);
    if (rc) return rc;
    memcpy(key, text, sizeof text);
    memset(text, 0, sizeof text);
    if (info) *info = k;
    return WG_OK;
}

wg_status wg_keys_list(wg_ws *ws, int (*fn)(void *user, const wg_api_key *k), void *user) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(ws->db, "SELECT " KEY_COLS " FROM api_keys ORDER BY id", -1, &st,
                           NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return WG_OK; /* no keys table yet: no keys */
    }
    wg_status rc = WG_OK;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        wg_api_key k;
        read_key(st, &k);
        if (fn(user, &k)) break;
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE) rc = wg_ws_sqlerr(ws, "listing keys");
    sqlite3_finalize(st);
    return rc;
}

wg_status wg_keys_revoke(wg_ws *ws, const char *which, int64_t *n) {
    wg_ctx *ctx = ws->ctx;
    if (!which || !*which) return wg_err(ctx, WG_ERR_INVALID_ARG, "name a key by id or name");
    wg_status rc = wg_incidents_init(ws);
    if (rc) return rc;
    int by_id = strspn(which, "0123456789") == strlen(which);
    char now[24];
    wg_time_format(wg_time_now(), now);
    sqlite3_stmt *st = NULL;
    if ((rc = wg_ws_prepare(ws, by_id ? "UPDATE api_keys SET revoked_at = ?1 WHERE id = ?2 AND "
                                        "revoked_at IS NULL"
                                      : "UPDATE api_keys SET revoked_at = ?1 WHERE name = ?2 "
                                        "AND revoked_at IS NULL",
                            &st)))
        return rc;
    sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
    if (by_id) sqlite3_bind_int64(st, 2, strtoll(which, NULL, 10));
    else sqlite3_bind_text(st, 2, which, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) rc = wg_ws_sqlerr(ws, "revoking");
    sqlite3_finalize(st);
    if (rc) return rc;
    int64_t changed = sqlite3_changes(ws->db);
    if (n) *n = changed;
    if (!changed)
        return wg_err(ctx, WG_ERR_NOT_FOUND, "no active key with %s '%.64s'", by_id ? "id" : "name",
                      which);
    return WG_OK;
}

/* Looks the key up with `st` (prepared on the keys table). */
static wg_status lookup(wg_ws *ws, sqlite3_stmt *st, const char *key, wg_api_key *out) {
    char hex[65];
    key_hash(key, hex);
    sqlite3_bind_text(st, 1, hex, -1, SQLITE_TRANSIENT);
    wg_status rc = WG_OK;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) read_key(st, out);
    else if (r == SQLITE_DONE) rc = wg_err(ws->ctx, WG_ERR_NOT_FOUND, "unknown or revoked key");
    else rc = wg_ws_sqlerr(ws, "looking up a key");
    sqlite3_reset(st); /* ends the read transaction: no snapshot is kept */
    return rc;
}

static const char *const CHECK_SQL =
    "SELECT " KEY_COLS " FROM api_keys WHERE hash = ? AND revoked_at IS NULL";

wg_status wg_keys_check(wg_ws *ws, const char *key, wg_api_key *out) {
    if (!key_well_formed(key)) return wg_err(ws->ctx, WG_ERR_NOT_FOUND, "malformed key");
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(ws->db, CHECK_SQL, -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return wg_err(ws->ctx, WG_ERR_NOT_FOUND, "the workspace has no API keys");
    }
    wg_status rc = lookup(ws, st, key, out);
    sqlite3_finalize(st);
    return rc;
}

/* A keyring remembers its last answers while nothing has been committed
 * to the workspace since (PRAGMA data_version, which moves with every
 * commit of any other connection or process): a revocation, like any
 * commit, empties the memory, so it still takes effect at once. */
#define KEYRING_SLOTS 16

struct wg_keyring {
    wg_ws *ws;
    sqlite3_stmt *st; /* NULL until the keys table exists */
    sqlite3_stmt *dv; /* PRAGMA data_version */
    int64_t version;
    unsigned next;
    struct {
        char hash[65]; /* "" = empty */
        wg_status st;
        wg_api_key key;
    } memo[KEYRING_SLOTS];
};

wg_status wg_keyring_open(wg_ws *ws, wg_keyring **out) {
    wg_keyring *kr = calloc(1, sizeof *kr);
    if (!kr) return wg_err(ws->ctx, WG_ERR_NOMEM, "out of memory");
    kr->ws = ws;
    kr->version = -1;
    if (sqlite3_prepare_v3(ws->db, "PRAGMA data_version", -1, SQLITE_PREPARE_PERSISTENT, &kr->dv,
                           NULL) != SQLITE_OK) {
        wg_status rc = wg_ws_sqlerr(ws, "preparing the keyring");
        wg_keyring_free(kr);
        return rc;
    }
    *out = kr;
    return WG_OK;
}

void wg_keyring_free(wg_keyring *kr) {
    if (!kr) return;
    sqlite3_finalize(kr->st);
    sqlite3_finalize(kr->dv);
    free(kr);
}

wg_status wg_keyring_check(wg_keyring *kr, const char *key, wg_api_key *out) {
    wg_ws *ws = kr->ws;
    if (!key_well_formed(key)) return wg_err(ws->ctx, WG_ERR_NOT_FOUND, "malformed key");
    int64_t v = -2;
    if (sqlite3_step(kr->dv) == SQLITE_ROW) v = sqlite3_column_int64(kr->dv, 0);
    sqlite3_reset(kr->dv);
    if (v != kr->version || v < 0) {
        for (unsigned i = 0; i < KEYRING_SLOTS; i++) kr->memo[i].hash[0] = '\0';
        kr->version = v;
    }
    char hex[65];
    key_hash(key, hex);
    for (unsigned i = 0; i < KEYRING_SLOTS; i++)
        if (!strcmp(kr->memo[i].hash, hex)) {
            if (kr->memo[i].st) return wg_err(ws->ctx, kr->memo[i].st, "unknown or revoked key");
            *out = kr->memo[i].key;
            return WG_OK;
        }
    if (!kr->st && sqlite3_prepare_v3(ws->db, CHECK_SQL, -1, SQLITE_PREPARE_PERSISTENT, &kr->st,
                                      NULL) != SQLITE_OK) {
        sqlite3_finalize(kr->st);
        kr->st = NULL;
        return wg_err(ws->ctx, WG_ERR_NOT_FOUND, "the workspace has no API keys");
    }
    wg_api_key k;
    memset(&k, 0, sizeof k);
    wg_status rc = lookup(ws, kr->st, key, &k);
    if (rc == WG_OK || rc == WG_ERR_NOT_FOUND) { /* remember answers, not failures */
        unsigned i = kr->next++ % KEYRING_SLOTS;
        memcpy(kr->memo[i].hash, hex, sizeof hex);
        kr->memo[i].st = rc;
        kr->memo[i].key = k;
    }
    if (!rc) *out = k;
    return rc;
}
