/* serve_auth.c -- who may do what: API keys, roles, rate limits.
 *
 * Every request carries "Authorization: Bearer KEY". The key is looked up
 * (by its SHA-256) on the thread's own read-only connection at every
 * request, so a key revoked with `wangge keys revoke` stops working at
 * once, in every server on the workspace. Scopes (code prefixes) are
 * enforced by the handlers, which know what a request touches.
 *
 * Rate limits are token buckets per key, kept in this process: a key with
 * rate R may make R requests a second on average and a burst of max(R, 1);
 * beyond that it is answered 429 with Retry-After. */
#include "serve.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Takes a token from the key's bucket; 0 and *retry (seconds) if empty. */
static int rate_take(int64_t id, double rate, int *retry) {
    double now = now_s(), burst = rate > 1 ? rate : 1;
    int ok = 1;
    pthread_mutex_lock(&SRV.rate_mu);
    if (SRV.rate_n * 2 >= SRV.rate_cap) { /* grow the open-addressing table */
        size_t cap = SRV.rate_cap ? SRV.rate_cap * 2 : 64;
        rate_slot *t = calloc(cap, sizeof *t);
        if (!t) {
            pthread_mutex_unlock(&SRV.rate_mu);
            return 1; /* out of memory: do not refuse for our own failure */
        }
        for (size_t i = 0; i < SRV.rate_cap; i++) {
            if (!SRV.rates[i].key_id) continue;
            size_t h = (size_t)SRV.rates[i].key_id * 0x9E3779B97F4A7C15ULL & (cap - 1);
            while (t[h].key_id) h = (h + 1) & (cap - 1);
            t[h] = SRV.rates[i];
        }
        free(SRV.rates);
        SRV.rates = t;
        SRV.rate_cap = cap;
    }
    size_t h = (size_t)id * 0x9E3779B97F4A7C15ULL & (SRV.rate_cap - 1);
    while (SRV.rates[h].key_id && SRV.rates[h].key_id != id) h = (h + 1) & (SRV.rate_cap - 1);
    rate_slot *s = &SRV.rates[h];
    if (!s->key_id) {
        s->key_id = id;
        s->tokens = burst;
        s->last = now;
        SRV.rate_n++;
    }
    s->tokens = fmin(burst, s->tokens + (now - s->last) * rate);
    s->last = now;
    if (s->tokens >= 1) {
        s->tokens -= 1;
    } else {
        ok = 0;
        *retry = (int)ceil((1 - s->tokens) / rate);
        if (*retry < 1) *retry = 1;
    }
    pthread_mutex_unlock(&SRV.rate_mu);
    return ok;
}

void rate_free(void) {
    free(SRV.rates);
    SRV.rates = NULL;
    SRV.rate_cap = SRV.rate_n = 0;
}

int auth_request(req *r, worker *w) {
    const char *h =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7)) {
        req_error(r, 401, "unauthorized", "send an API key: Authorization: Bearer KEY");
        return 0;
    }
    const char *key = h + 7;
    while (*key == ' ') key++;
    wg_status st = wg_keyring_check(w->keys, key, &r->key);
    if (st == WG_ERR_NOT_FOUND) {
        req_error(r, 401, "unauthorized", "unknown or revoked API key");
        return 0;
    }
    if (st) {
        req_error(r, 503, "unavailable", "cannot check the key: %s", wg_ctx_errmsg(w->ctx));
        return 0;
    }
    r->authed = 1;
    int retry = 0;
    if (r->key.rate_per_s > 0 && !rate_take(r->key.id, r->key.rate_per_s, &retry)) {
        r->retry_after = retry;
        req_error(r, 429, "rate_limited", "key '%s' is limited to %g requests/s", r->key.name,
                  r->key.rate_per_s);
        return 0;
    }
    if (!(r->rt->roles & ROLE_BIT(r->key.role))) {
        req_error(r, 403, "forbidden", "a %s key may not %s %s", wg_role_name(r->key.role),
                  r->rt->method, r->rt->path);
        return 0;
    }
    return 1;
}
