/* serve.h -- what the files of `wangge serve` share.
 *
 *   serve.c           the command: options, listening socket, signals,
 *                     locator reloads, draining, shutdown
 *   serve_http.c      libmicrohttpd glue: one request's life, routing,
 *                     responses, the access log
 *   serve_auth.c      API keys, roles, scopes, rate limits
 *   serve_handlers.c  the endpoints (locate, incidents, grids, health, ...)
 *   serve_roads.c     route / dispatch / isochrone on the road graph
 *   serve_writer.c    the one writer thread: group commit of reports
 *   serve_json.c      JSON answers (cJSON)
 *
 * Threads: libmicrohttpd's pool runs the handlers; each pool thread lazily
 * gets a `worker` (its own wg_ctx, read-only workspace connection and JSON
 * reader), so readers never share a connection and are never blocked by
 * the writer (SQLite WAL). Reports are handed to the writer thread, whose
 * read-write connection commits them in batches; the connection waits
 * suspended meanwhile and is answered 201 only after COMMIT. */
#ifndef WG_SERVE_H
#define WG_SERVE_H

#include "cli.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct cJSON;

/* A locator shared by requests; freed when the last one lets go after a
 * newer one replaced it (or it fell out of the dated cache). */
typedef struct locref {
    wg_locator *loc;
    wg_officer_index *officers; /* the roster when the locator was built */
    char at[11]; /* "" for the current units */
    int refs;
    int held;    /* 1 while it is the current one or in the dated cache */
    uint64_t last_use;
    uint64_t gen; /* unique per build: keys the workers' officer caches */
    /* The current one only: the road graph (NULL without roads) and the
     * officers' stations snapped to it, per profile and role, made on
     * first use and shared read-only (serve_roads.c). */
    wg_graph *graph;
    pthread_mutex_t stations_mu;
    int nstations;
    struct {
        char profile[32], role[32];
        wg_stations *s;
    } stations[32];
} locref;

#define SRV_DATED_MAX 4
#define OFFICER_CACHE 1024 /* rendered officer lists per worker thread */

/* The officers of a set of units, as JSON, rendered once per locator. */
typedef struct officer_frag {
    uint64_t gen;
    char *key;  /* scope and codes, 0x1f-separated */
    char *json;
} officer_frag;

/* Per-thread resources of a handler thread. */
typedef struct worker {
    wg_ctx *ctx;
    wg_ws *ws; /* read-only */
    wg_keyring *keys;
    wg_json_reader *json;
    char *out;  /* where answers are printed (cJSON_PrintPreallocated) */
    size_t out_cap;
    officer_frag *frags; /* OFFICER_CACHE slots, allocated on first use */
    struct {             /* routers of the current graph, per profile */
        char profile[32];
        wg_router *r;
        uint64_t gen;
    } routers[WG_ROADS_MAX_PROFILES];
    struct worker *next;
} worker;

typedef struct rate_slot {
    int64_t key_id; /* 0 = empty */
    double tokens, last;
} rate_slot;

struct req;

typedef struct server {
    const char *ws_path;
    double tolerance_m;
    unsigned timeout_s;
    size_t body_max;
    int quiet; /* no access log */
    double started;

    struct MHD_Daemon *daemon;
    atomic_int active;   /* requests between URI and completion */
    atomic_int draining;

    pthread_mutex_t mu; /* locators and workers */
    locref *current;
    locref *dated[SRV_DATED_MAX];
    uint64_t tick, stamp;
    worker *workers;

    pthread_mutex_t rate_mu;
    rate_slot *rates;
    size_t rate_cap, rate_n;

    /* the writer */
    pthread_t writer_tid;
    int writer_started;
    pthread_mutex_t wq_mu;
    pthread_cond_t wq_cv;
    struct req *wq_head, *wq_tail;
    int wq_stop;
    wg_ctx *wctx;
    wg_ws *wws; /* read-write */
    atomic_llong batches, stored;
} server;

extern server SRV;

/* Request states. */
enum { RQ_NEW = 0, RQ_BODY, RQ_QUEUED, RQ_STORED, RQ_DONE };

/* A route's handler: fills the request's response (req_reply*). */
typedef void (*handler_fn)(struct req *r, worker *w);
/* A handler of a request with a body, called once the body is complete:
 * answers at once (returns 0) or hands the request over to another thread
 * (returns 1: the request must not be touched any more). */
typedef int (*body_fn)(struct req *r, worker *w);

typedef struct route {
    const char *method;
    const char *path;  /* exact, or a prefix ending in '/' when `param` */
    int param;         /* 1: the rest of the path is one parameter */
    unsigned roles;    /* bit (1 << wg_role) per allowed role */
    const wg_param_spec *spec;
    size_t nspec;
    handler_fn fn; /* GET */
    body_fn body;  /* POST */
    const char *suffix; /* with `param`: the path goes on after the parameter
                           with exactly this ("/events"); NULL = it ends there */
} route;

#define ROLE_BIT(r) (1u << (r))
#define ROLES_ALL (ROLE_BIT(WG_ROLE_HANDSET) | ROLE_BIT(WG_ROLE_ANALYST) | ROLE_BIT(WG_ROLE_ADMIN))

typedef struct req {
    struct MHD_Connection *conn;
    worker *w;          /* of the thread handling it now */
    char *uri;          /* as received: path and query */
    char method[12];
    double t0;
    const route *rt;
    char param[WG_INCIDENT_TEXT_MAX * 3 + 1]; /* decoded path parameter */
    wg_query q;
    int state;
    int authed;
    wg_api_key key;

    /* request body */
    char *body;
    size_t body_len, body_cap;
    int refused; /* the body is being dropped; the answer is ready */

    /* the response */
    int status;
    char *resp;   /* malloc'd */
    size_t resp_len;
    const char *ctype;
    char location[64];
    int retry_after;
    char allow[64];
    int queued;   /* handed to MHD */
    size_t bytes; /* for the log */

    /* a report on its way through the writer */
    wg_report rep;
    wg_incident_new inew;
    char actor[WG_INCIDENT_TEXT_MAX + 8];
    locref *lr;
    wg_incident_receipt receipt;
    wg_status wst;
    char werr[256];
    struct req *next;

    /* a step of the closed loop on its way through the writer (kind 1) */
    int kind;
    int64_t step_id;
    wg_step step;
    char step_officer[WG_INCIDENT_TEXT_MAX + 1], step_at[40];
    char *step_note; /* malloc'd */
} req;

/* serve_http.c */
void *http_uri_log(void *cls, const char *uri, struct MHD_Connection *conn);
enum MHD_Result http_access(void *cls, struct MHD_Connection *conn, const char *url,
                            const char *method, const char *version, const char *upload,
                            size_t *upload_size, void **con_cls);
void http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                    enum MHD_RequestTerminationCode toe);
void http_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                     enum MHD_ConnectionNotificationCode toe);
double now_s(void);
worker *worker_get(void);
void workers_free(void);
/* Sets the response: takes ownership of `body` (malloc'd JSON text). */
void req_reply(req *r, int status, char *body);
/* Sets a JSON error response {"error": code, "message": ...}. */
void req_error(req *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Sets the response from a cJSON value (deleted here). */
void req_reply_json(req *r, int status, struct cJSON *o);
/* The routes, for the OpenAPI consistency check (serve --routes). */
extern const route ROUTES[];
extern const size_t NROUTES;

/* serve_auth.c */
/* Checks the Authorization header, the rate limit and the route's roles;
 * on refusal sets the error response and returns 0. */
int auth_request(req *r, worker *w);
void rate_free(void);

/* serve.c: locators */
locref *loc_acquire(worker *w, const char *at, wg_status *st);
void loc_release(locref *lr);

/* serve_writer.c */
int writer_start(void);
void writer_stop(void);
/* Suspends the request's connection and queues its report; the writer
 * resumes it once stored. Returns 0 (nothing done) once the writer stops. */
int writer_submit(req *r);

/* serve_handlers.c */
void h_health(req *r, worker *w);
void h_openapi(req *r, worker *w);
void h_locate(req *r, worker *w);
int h_incident_post(req *r, worker *w);
void h_incident_answer(req *r, worker *w);
void h_incidents(req *r, worker *w);
void h_incident(req *r, worker *w);
void h_grid(req *r, worker *w);
/* Answers with incident `id` as GET /v1/incidents/{id} does. */
void h_incident_show(req *r, worker *w, int64_t id, int status);

/* serve_events.c: POST /v1/incidents/{id}/events, the closed loop's steps */
int h_event_post(req *r, worker *w);
void h_event_answer(req *r, worker *w);
/* Applies a queued step (writer thread). */
void writer_run_step(req *r);

/* serve_roads.c */
void roads_free_worker(worker *w);
void roads_free_locref(locref *lr);
void h_route(req *r, worker *w);
void h_dispatch(req *r, worker *w);
void h_isochrone(req *r, worker *w);

/* serve_json.c */
/* Adds "officers": {role: [...]} for `codes` to `o`; phones only within
 * `scope`. Strings are referenced from the index: print while it is held. */
wg_status json_add_officers(struct cJSON *o, worker *w, const locref *lr,
                            const char *const *codes, size_t n, const char *scope);
void officer_cache_free(worker *w);
struct cJSON *json_incident(const wg_incident *inc);

/* openapi_json.c (generated at build time from openapi.json) */
extern const char WG_OPENAPI_JSON[];
extern const size_t WG_OPENAPI_JSON_LEN;

#endif
