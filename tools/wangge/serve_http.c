/* serve_http.c -- one request's life on libmicrohttpd.
 *
 * The URI callback creates the request (so we see the raw query string,
 * not libmicrohttpd's lenient decoding of it: wg_query_parse() judges it),
 * the access handler routes, authenticates and answers, and the completion
 * callback writes the access log line and frees the request. A report's
 * connection is suspended while the writer thread commits it and resumed
 * for the answer; nothing in a handler thread ever waits on the disk.
 *
 * Every refusal is a JSON error {"error": code, "message": text} with the
 * status that says why: 400 bad input, 401 no or unknown key, 403 role or
 * scope, 404, 405 (with Allow), 408 a body too slow, 413 a body too
 * large, 414 a query too long, 415 not JSON, 429 (with Retry-After). */
#include "serve.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- per-thread workers --------------------------------------------------- */

static pthread_key_t worker_key;
static pthread_once_t worker_once = PTHREAD_ONCE_INIT;

static void make_key(void) { pthread_key_create(&worker_key, NULL); }

static void worker_free(worker *w) {
    if (!w) return;
    wg_json_reader_free(w->json);
    free(w->out);
    officer_cache_free(w);
    roads_free_worker(w);
    wg_keyring_free(w->keys);
    wg_ws_close(w->ws);
    wg_ctx_free(w->ctx);
    free(w);
}

worker *worker_get(void) {
    pthread_once(&worker_once, make_key);
    worker *w = pthread_getspecific(worker_key);
    if (w) return w;
    w = calloc(1, sizeof *w);
    if (!w || wg_ctx_new(&w->ctx) || wg_ws_open(w->ctx, SRV.ws_path, 1, &w->ws) ||
        wg_keyring_open(w->ws, &w->keys) || wg_json_reader_new(&w->json)) {
        if (w && w->ctx)
            fprintf(stderr, "wangge serve: a handler thread cannot open the workspace: %s\n",
                    wg_ctx_errmsg(w->ctx));
        worker_free(w);
        return NULL;
    }
    pthread_setspecific(worker_key, w);
    pthread_mutex_lock(&SRV.mu);
    w->next = SRV.workers;
    SRV.workers = w;
    pthread_mutex_unlock(&SRV.mu);
    return w;
}

/* Called once the daemon's threads are gone. */
void workers_free(void) {
    for (worker *w = SRV.workers, *n; w; w = n) {
        n = w->next;
        worker_free(w);
    }
    SRV.workers = NULL;
}

/* ---- responses ------------------------------------------------------------ */

void req_reply(req *r, int status, char *body) {
    free(r->resp);
    r->status = status;
    r->resp = body;
    r->resp_len = body ? strlen(body) : 0;
    if (!r->ctype) r->ctype = "application/json";
}

/* Prints into the thread's buffer (grown as needed), then copies the
 * text out: one allocation per answer instead of cJSON's growing ones. */
void req_reply_json(req *r, int status, cJSON *o) {
    worker *w = r->w;
    char *s = NULL;
    while (o && w && !s) {
        if (w->out_cap && cJSON_PrintPreallocated(o, w->out, (int)w->out_cap, 0)) {
            size_t n = strlen(w->out);
            if ((s = malloc(n + 1))) memcpy(s, w->out, n + 1);
            break;
        }
        size_t cap = w->out_cap ? w->out_cap * 2 : 16384;
        char *b = cap <= (64u << 20) ? realloc(w->out, cap) : NULL;
        if (!b) break;
        w->out = b;
        w->out_cap = cap;
    }
    if (o && !s) s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s) {
        req_error(r, 500, "internal", "out of memory");
        return;
    }
    req_reply(r, status, s);
}

void req_error(req *r, int status, const char *code, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", code);
    cJSON_AddStringToObject(o, "message", msg);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    r->ctype = "application/json";
    if (!s) { /* out of memory: a fixed answer */
        static const char oom[] = "{\"error\":\"internal\",\"message\":\"out of memory\"}";
        s = malloc(sizeof oom);
        if (s) memcpy(s, oom, sizeof oom);
        status = 500;
    }
    req_reply(r, status, s);
}

/* 1 if the request announced a body (which we may not have read). */
static int body_pending(const req *r) {
    const char *cl =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    return (cl && strcmp(cl, "0")) ||
           MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
}

static enum MHD_Result queue(req *r) {
    struct MHD_Response *resp;
    if (r->ctype && !strcmp(r->ctype, "openapi")) { /* the embedded document */
        resp = MHD_create_response_from_buffer(WG_OPENAPI_JSON_LEN, (void *)WG_OPENAPI_JSON,
                                               MHD_RESPMEM_PERSISTENT);
        r->ctype = "application/json";
        r->resp_len = WG_OPENAPI_JSON_LEN;
    } else {
        resp = MHD_create_response_from_buffer(r->resp_len, r->resp ? r->resp : (void *)"",
                                               r->resp ? MHD_RESPMEM_MUST_FREE
                                                       : MHD_RESPMEM_PERSISTENT);
        if (resp) r->resp = NULL; /* libmicrohttpd frees it now */
    }
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            !strcmp(r->ctype, "application/json")
                                ? "application/json; charset=utf-8"
                                : r->ctype);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (r->location[0]) MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, r->location);
    if (r->allow[0]) MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
    if (r->status == 401) MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (r->retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", r->retry_after);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    /* While draining, and after refusing a body we did not read, the
     * connection is not kept: the client reconnects (elsewhere). */
    if (atomic_load(&SRV.draining) || (r->state == RQ_BODY && r->status >= 400 && body_pending(r)))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    r->queued = 1;
    r->bytes = r->resp_len;
    return ret;
}

/* ---- routing -------------------------------------------------------------- */

static int hexv(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Strict %-decoding of one path segment into dst (cap bytes); 0 if bad. */
static int decode_segment(const char *s, size_t n, char *dst, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (n - i < 3 || hexv(s[i + 1]) < 0 || hexv(s[i + 2]) < 0) return 0;
            c = hexv(s[i + 1]) * 16 + hexv(s[i + 2]);
            i += 2;
        }
        if (c == 0 || o + 1 >= cap) return 0;
        dst[o++] = (char)c;
    }
    dst[o] = '\0';
    return o > 0;
}

/* Finds the route; on failure sets the 404/405/400 answer and returns 0. */
static int route_request(req *r, const char **qs, size_t *qlen) {
    const char *uri = r->uri ? r->uri : "";
    const char *q = strchr(uri, '?');
    size_t plen = q ? (size_t)(q - uri) : strlen(uri);
    *qs = q ? q + 1 : "";
    *qlen = q ? strlen(q + 1) : 0;
    const char *m = !strcmp(r->method, "HEAD") ? "GET" : r->method;
    char allow[64] = "";
    int path_found = 0;
    for (size_t i = 0; i < NROUTES; i++) {
        const route *rt = &ROUTES[i];
        size_t n = strlen(rt->path);
        size_t sl = rt->suffix ? strlen(rt->suffix) : 0;
        int match = rt->param ? plen > n + sl && !strncmp(uri, rt->path, n) &&
                                    (!sl || !strncmp(uri + plen - sl, rt->suffix, sl)) &&
                                    !memchr(uri + n, '/', plen - n - sl)
                              : plen == n && !strncmp(uri, rt->path, n);
        if (!match) continue;
        path_found = 1;
        if (strcmp(rt->method, m)) {
            size_t l = strlen(allow);
            snprintf(allow + l, sizeof allow - l, "%s%s", l ? ", " : "", rt->method);
            if (!strcmp(rt->method, "GET")) {
                l = strlen(allow);
                snprintf(allow + l, sizeof allow - l, ", HEAD");
            }
            continue;
        }
        r->rt = rt;
        if (rt->param && !decode_segment(uri + n, plen - n - sl, r->param, sizeof r->param)) {
            req_error(r, 400, "invalid_parameter", "bad path parameter");
            return 0;
        }
        return 1;
    }
    if (path_found) {
        snprintf(r->allow, sizeof r->allow, "%s", allow);
        req_error(r, 405, "method_not_allowed", "%s is not allowed here (allowed: %s)", r->method,
                  allow);
        return 0;
    }
    req_error(r, 404, "not_found", "no such endpoint (see /v1/openapi.json)");
    return 0;
}

static int status_of(const char *code) {
    if (!strcmp(code, "query_too_long")) return 414;
    if (!strcmp(code, "body_too_large")) return 413;
    return 400;
}

/* Route, key, rate, role, query; for a POST also the body's headers. */
static int admit(req *r, worker *w) {
    const char *qs;
    size_t qlen;
    if (!route_request(r, &qs, &qlen) || !auth_request(r, w)) return 0;
    wg_input_error err;
    if (wg_query_parse(qs, qlen, r->rt->spec, r->rt->nspec, &r->q, &err)) {
        req_error(r, status_of(err.code), err.code, "%s", err.message);
        return 0;
    }
    if (strcmp(r->rt->method, "POST")) return 1;
    const char *ct =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    size_t n = ct ? strcspn(ct, "; \t") : 0;
    if (!ct || n != 16 || strncasecmp(ct, "application/json", 16)) {
        req_error(r, 415, "unsupported_media_type", "send the body as application/json");
        return 0;
    }
    const char *cl =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > SRV.body_max) {
        req_error(r, 413, "body_too_large", "the body is larger than %zu bytes", SRV.body_max);
        return 0;
    }
    return 1;
}

/* Takes a chunk of the body; on refusal sets the answer and returns 0. */
static int take_body(req *r, const char *data, size_t n) {
    if (r->body_len + n > SRV.body_max) {
        req_error(r, 413, "body_too_large", "the body is larger than %zu bytes", SRV.body_max);
        return 0;
    }
    if (r->body_len + n + 1 > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap : 1024;
        while (cap < r->body_len + n + 1) cap *= 2;
        char *b = realloc(r->body, cap);
        if (!b) {
            req_error(r, 503, "unavailable", "out of memory");
            return 0;
        }
        r->body = b;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return 1;
}

/* The request a connection is busy with, so that a request libmicrohttpd
 * gives up on before our handler ever runs (e.g. 431: too many header
 * records) is still logged and freed when its connection closes. */
typedef struct conn_state {
    req *cur;
} conn_state;

static conn_state *state_of(struct MHD_Connection *conn) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

void *http_uri_log(void *cls, const char *uri, struct MHD_Connection *conn) {
    (void)cls;
    req *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->uri = strdup(uri ? uri : "");
    r->conn = conn;
    r->t0 = now_s();
    conn_state *cs = state_of(conn);
    if (cs) cs->cur = r;
    atomic_fetch_add(&SRV.active, 1);
    return r;
}

static enum MHD_Result refuse_oom(struct MHD_Connection *conn) {
    static const char body[] = "{\"error\":\"unavailable\",\"message\":\"out of memory\"}";
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, 503, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result http_access(void *cls, struct MHD_Connection *conn, const char *url,
                            const char *method, const char *version, const char *upload,
                            size_t *upload_size, void **con_cls) {
    (void)cls, (void)url, (void)version;
    req *r = *con_cls;
    if (!r || !r->uri) {
        *upload_size = 0;
        return refuse_oom(conn);
    }
    if (r->queued) { /* answered already: swallow what is left of a body */
        *upload_size = 0;
        return MHD_YES;
    }
    worker *w = worker_get();
    r->w = w;
    if (!w) {
        *upload_size = 0;
        req_error(r, 503, "unavailable", "the server cannot open the workspace");
        return queue(r);
    }
    /* Answers are queued on the call after the first: libmicrohttpd closes
     * a connection whose answer came before it knew the request had no
     * body. Only a refused request with a body pending is answered at once
     * (and its connection closed: we do not want the rest). */
    switch (r->state) {
    case RQ_NEW:
        snprintf(r->method, sizeof r->method, "%s", method);
        r->state = RQ_BODY;
        if (!admit(r, w)) {
            if (body_pending(r)) return queue(r);
            r->state = RQ_DONE;
            return MHD_YES;
        }
        if (!strcmp(r->rt->method, "POST")) return MHD_YES; /* the body comes next */
        r->state = RQ_DONE;
        r->rt->fn(r, w);
        return MHD_YES;
    case RQ_DONE:
        *upload_size = 0;
        return queue(r);
    case RQ_BODY:
        if (*upload_size) {
            size_t n = *upload_size;
            *upload_size = 0;
            /* A body trickling in for longer than the timeout is cut off:
             * the connection is closed (no answer can be sent mid-body). */
            if (now_s() - r->t0 > SRV.timeout_s) return MHD_NO;
            /* libmicrohttpd takes no answer before the body's end: a refused
             * body (too large) is read and dropped, then answered. */
            if (!r->refused && !take_body(r, upload, n)) r->refused = 1;
            return MHD_YES;
        }
        if (r->refused) {
            r->state = RQ_DONE;
            return queue(r);
        }
        /* The whole body is here. If the handler hands the request over
         * (a report queued for the writer), another thread owns it now. */
        if (r->rt->body(r, w)) return MHD_YES;
        r->state = RQ_DONE;
        return queue(r);
    case RQ_STORED: /* resumed by the writer */
        r->state = RQ_DONE;
        if (r->kind == 1) h_event_answer(r, w);
        else h_incident_answer(r, w);
        return queue(r);
    default: /* RQ_QUEUED: the writer has it */
        *upload_size = 0;
        return MHD_YES;
    }
}

static const char *termination(enum MHD_RequestTerminationCode toe) {
    switch (toe) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK: return "ok";
    case MHD_REQUEST_TERMINATED_WITH_ERROR: return "error";
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED: return "timeout";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN: return "shutdown";
    case MHD_REQUEST_TERMINATED_READ_ERROR: return "read-error";
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT: return "client-abort";
    }
    return "?";
}

/* One line per request on stderr, written with one write(2) so lines of
 * different threads never interleave. The query string is left out: it
 * holds people's positions. */
static void access_log(req *r, struct MHD_Connection *conn, enum MHD_RequestTerminationCode toe) {
    char when[32], ip[INET6_ADDRSTRLEN] = "-", line[640];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    const union MHD_ConnectionInfo *ci =
        conn ? MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS) : NULL;
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, ip,
                      sizeof ip);
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, ip,
                      sizeof ip);
    }
    const char *uri = r->uri ? r->uri : "";
    int plen = (int)strcspn(uri, "?");
    if (plen > 200) plen = 200;
    char status[8];
    if (r->queued) snprintf(status, sizeof status, "%d", r->status);
    else snprintf(status, sizeof status, "-");
    int n = snprintf(line, sizeof line, "%s %s \"%s %.*s\" %s %zu %.3fms key=%s%s%s\n", when, ip,
                     r->method[0] ? r->method : "-", plen, uri, status, r->bytes,
                     (now_s() - r->t0) * 1000.0, r->authed ? r->key.name : "-",
                     toe != MHD_REQUEST_TERMINATED_COMPLETED_OK ? " end=" : "",
                     toe != MHD_REQUEST_TERMINATED_COMPLETED_OK ? termination(toe) : "");
    if (n > (int)sizeof line - 1) {
        n = (int)sizeof line - 1;
        line[n - 1] = '\n';
    }
    ssize_t wr = write(2, line, (size_t)n);
    (void)wr;
}

static void finish(req *r, struct MHD_Connection *conn, enum MHD_RequestTerminationCode toe) {
    if (!SRV.quiet) access_log(r, conn, toe);
    if (r->lr) loc_release(r->lr);
    free(r->uri);
    free(r->body);
    free(r->step_note);
    free(r->resp);
    free(r);
    atomic_fetch_sub(&SRV.active, 1);
}

void http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                    enum MHD_RequestTerminationCode toe) {
    (void)cls;
    req *r = *con_cls;
    if (!r) return;
    *con_cls = NULL;
    conn_state *cs = state_of(conn);
    if (cs && cs->cur == r) cs->cur = NULL;
    finish(r, conn, toe);
}

void http_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                     enum MHD_ConnectionNotificationCode toe) {
    (void)cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        *socket_context = calloc(1, sizeof(conn_state));
        return;
    }
    conn_state *cs = *socket_context;
    *socket_context = NULL;
    if (cs && cs->cur) finish(cs->cur, conn, MHD_REQUEST_TERMINATED_WITH_ERROR);
    free(cs);
}
