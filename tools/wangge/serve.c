/* serve.c -- `wangge serve`: the HTTP service of one county workspace.
 *
 * This file owns the process: options, the listening socket, signals, the
 * shared locators, and an orderly end. The main thread starts the writer
 * and libmicrohttpd's thread pool, then only waits for signals (all other
 * threads block them), checking every two seconds whether the units
 * changed (another process imported or repaired) and swapping in a fresh
 * locator if so; requests in flight keep the one they started with.
 *
 * SIGTERM or SIGINT drains: stop accepting, let every request in flight
 * finish (a report being written is committed and answered), then stop.
 * SIGHUP rebuilds the locator at once. */
#include "serve.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

server SRV;

#ifndef WG_CONN_POOL
#define WG_CONN_POOL (32 * 1024)
#endif

static void help(FILE *out) {
    fprintf(out,
        "usage: wangge serve WS --listen ADDR:PORT [options]\n\n"
        "Serves the workspace over HTTP for handsets and the command center (JSON,\n"
        "GeoJSON; the API is described at /v1/openapi.json). Every request needs\n"
        "`Authorization: Bearer KEY` with a key from `wangge keys add`.\n\n"
        "  --listen ADDR:PORT  where to listen: 127.0.0.1:8080, [::1]:8080, :8080 (all\n"
        "                      IPv4 interfaces); port 0 picks a free one\n"
        "  --threads N         handler threads (default: one per CPU)\n"
        "  --tolerance M       GPS error allowance for `nearest`, metres (default 30)\n"
        "  --timeout S         idle connections and slow bodies are cut after S seconds\n"
        "                      (default 15)\n"
        "  --max-body BYTES    largest request body (default 65536)\n"
        "  --max-conn N        concurrent connections (default 1000)\n"
        "  --per-ip N          concurrent connections per client address (default: no limit)\n"
        "  --drain S           on SIGTERM, wait at most S seconds for requests in flight\n"
        "                      (default 30)\n"
        "  --port-file FILE    write the port there once listening (for scripts)\n"
        "  --quiet             no access log (one line per request on stderr otherwise)\n\n"
        "Units, officers and roads changed by another process are reloaded within\n"
        "seconds (requests in flight finish with what they started with).\n"
        "Signals: SIGTERM/SIGINT drain and exit 0; SIGHUP reloads at once.\n");
}

/* ---- locators ------------------------------------------------------------- */

static void locref_free(locref *lr) {
    if (!lr) return;
    roads_free_locref(lr);
    wg_locator_free(lr->loc);
    wg_officer_index_free(lr->officers);
    pthread_mutex_destroy(&lr->stations_mu);
    free(lr);
}

/* Builds a locator (of the units valid on `at`, NULL = now) and the
 * officer index, ready to share. NULL on failure (message on ctx). */
static locref *locref_build(wg_ws *ws, const char *at, wg_status *st) {
    locref *lr = calloc(1, sizeof *lr);
    if (!lr) {
        *st = WG_ERR_NOMEM;
        return NULL;
    }
    pthread_mutex_init(&lr->stations_mu, NULL);
    if ((*st = wg_locator_build(ws, at, &lr->loc)) ||
        (*st = wg_officer_index_build(ws, &lr->officers))) {
        locref_free(lr);
        return NULL;
    }
    /* The road graph goes with the current units (routes and dispatch
     * always use the newest); a workspace without roads has none. */
    if (!at && (*st = wg_graph_open(ws, &lr->graph)) != WG_OK) {
        if (*st != WG_ERR_NOT_FOUND) {
            locref_free(lr);
            return NULL;
        }
        lr->graph = NULL;
        *st = WG_OK;
    }
    snprintf(lr->at, sizeof lr->at, "%s", at ? at : "");
    lr->held = 1;
    static atomic_ullong gens;
    lr->gen = atomic_fetch_add(&gens, 1) + 1;
    return lr;
}

/* Lets go of a cache slot's locator (under SRV.mu); returns it if it is
 * now unused and must be freed (outside the lock). */
static locref *unhold(locref *lr) {
    if (!lr) return NULL;
    lr->held = 0;
    return lr->refs == 0 ? lr : NULL;
}

locref *loc_acquire(worker *w, const char *at, wg_status *st) {
    pthread_mutex_lock(&SRV.mu);
    if (!at) {
        locref *lr = SRV.current;
        lr->refs++;
        pthread_mutex_unlock(&SRV.mu);
        return lr;
    }
    for (int i = 0; i < SRV_DATED_MAX; i++)
        if (SRV.dated[i] && !strcmp(SRV.dated[i]->at, at)) {
            locref *lr = SRV.dated[i];
            lr->refs++;
            lr->last_use = ++SRV.tick;
            pthread_mutex_unlock(&SRV.mu);
            return lr;
        }
    pthread_mutex_unlock(&SRV.mu);
    /* Built outside the lock (it reads every unit); two threads asking for
     * the same new date may both build it: the second copy is dropped. */
    locref *mine = locref_build(w->ws, at, st), *drop = NULL, *got = NULL;
    if (!mine) return NULL;
    pthread_mutex_lock(&SRV.mu);
    int slot = 0;
    for (int i = 0; i < SRV_DATED_MAX && !got; i++) {
        if (SRV.dated[i] && !strcmp(SRV.dated[i]->at, at)) got = SRV.dated[i];
        else if (!SRV.dated[i] || (SRV.dated[slot] && SRV.dated[i]->last_use < SRV.dated[slot]->last_use))
            slot = i;
    }
    if (got) {
        drop = mine;
    } else {
        drop = unhold(SRV.dated[slot]);
        SRV.dated[slot] = got = mine;
    }
    got->refs++;
    got->last_use = ++SRV.tick;
    pthread_mutex_unlock(&SRV.mu);
    if (drop) locref_free(drop);
    return got;
}

void loc_release(locref *lr) {
    if (!lr) return;
    pthread_mutex_lock(&SRV.mu);
    int last = --lr->refs == 0 && !lr->held;
    pthread_mutex_unlock(&SRV.mu);
    if (last) locref_free(lr);
}

/* Replaces the current locator (and forgets dated ones: versions changed). */
static wg_status reload(wg_ctx *ctx, wg_ws *ws, uint64_t stamp) {
    wg_status st = WG_OK;
    locref *lr = locref_build(ws, NULL, &st), *drop[SRV_DATED_MAX + 1] = {0};
    if (!lr) {
        fprintf(stderr, "wangge serve: cannot rebuild the locator (keeping the old one): %s\n",
                wg_ctx_errmsg(ctx));
        return st;
    }
    pthread_mutex_lock(&SRV.mu);
    drop[0] = unhold(SRV.current);
    SRV.current = lr;
    for (int i = 0; i < SRV_DATED_MAX; i++) {
        drop[i + 1] = unhold(SRV.dated[i]);
        SRV.dated[i] = NULL;
    }
    SRV.stamp = stamp;
    pthread_mutex_unlock(&SRV.mu);
    for (int i = 0; i <= SRV_DATED_MAX; i++) locref_free(drop[i]);
    return WG_OK;
}

/* ---- the socket ----------------------------------------------------------- */

/* Opens a listening socket for "HOST:PORT", "[V6]:PORT" or ":PORT". */
static int listen_on(const char *spec, char *shown, size_t shown_len, int *v6) {
    char host[256];
    const char *port;
    if (spec[0] == '[') {
        const char *e = strchr(spec, ']');
        if (!e || e[1] != ':' || (size_t)(e - spec - 1) >= sizeof host) return -1;
        snprintf(host, sizeof host, "%.*s", (int)(e - spec - 1), spec + 1);
        port = e + 2;
    } else {
        const char *c = strrchr(spec, ':');
        if (!c || (size_t)(c - spec) >= sizeof host) return -1;
        snprintf(host, sizeof host, "%.*s", (int)(c - spec), spec);
        port = c + 1;
    }
    if (!*port || strspn(port, "0123456789") != strlen(port) || atol(port) > 65535) return -1;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = *host ? AF_UNSPEC : AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if (getaddrinfo(*host ? host : NULL, port, &hints, &res) || !res) return -2;
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    *v6 = res->ai_family == AF_INET6;
    if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
                    bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 1024))) {
        close(fd);
        fd = -3;
    }
    freeaddrinfo(res);
    if (fd < 0) return fd;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    int p = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                     : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    snprintf(shown, shown_len, "%s%s%s:%d", *v6 ? "[" : "", *host ? host : "0.0.0.0",
             *v6 ? "]" : "", p);
    return fd;
}

static int write_port_file(const char *path, const char *shown) {
    const char *c = strrchr(shown, ':');
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return 0;
    fprintf(f, "%s\n", c ? c + 1 : shown);
    if (fclose(f) || rename(tmp, path)) {
        unlink(tmp);
        return 0;
    }
    return 1;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n') msg[--n] = '\0';
    fprintf(stderr, "wangge serve: libmicrohttpd: %s\n", msg);
}

static int count_active(void *user, const wg_api_key *k) {
    if (!k->revoked_at[0]) ++*(int *)user;
    return 0;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out) {
    char *end;
    if (!*s || strspn(s, "0123456789") != strlen(s)) return 0;
    *out = strtoul(s, &end, 10);
    return *out <= max;
}

int cmd_serve(int argc, char **argv) {
    enum { O_LISTEN = 256, O_THREADS, O_TOL, O_TIMEOUT, O_MAXBODY, O_MAXCONN, O_PERIP, O_DRAIN,
           O_PORTFILE, O_QUIET };
    static const struct option longopts[] = {
        {"listen", required_argument, 0, O_LISTEN},   {"threads", required_argument, 0, O_THREADS},
        {"tolerance", required_argument, 0, O_TOL},   {"timeout", required_argument, 0, O_TIMEOUT},
        {"max-body", required_argument, 0, O_MAXBODY}, {"max-conn", required_argument, 0, O_MAXCONN},
        {"per-ip", required_argument, 0, O_PERIP},    {"drain", required_argument, 0, O_DRAIN},
        {"port-file", required_argument, 0, O_PORTFILE}, {"quiet", no_argument, 0, O_QUIET},
        {"help", no_argument, 0, 'h'},                 {0, 0, 0, 0}};
    const char *listen_spec = NULL, *port_file = NULL;
    unsigned long threads = 0, timeout = 15, max_body = 65536, max_conn = 1000, per_ip = 0,
                  drain = 30;
    double tol = 30.0;
    int quiet = 0, c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        char *end;
        switch (c) {
        case O_LISTEN: listen_spec = optarg; break;
        case O_THREADS:
            if (!parse_uint(optarg, 256, &threads) || !threads)
                return cli_usage_error("serve", "--threads needs 1..256");
            break;
        case O_TOL:
            tol = strtod(optarg, &end);
            if (*end || !(tol >= 0 && tol <= 1000))
                return cli_usage_error("serve", "--tolerance needs metres in 0..1000");
            break;
        case O_TIMEOUT:
            if (!parse_uint(optarg, 3600, &timeout) || !timeout)
                return cli_usage_error("serve", "--timeout needs 1..3600 seconds");
            break;
        case O_MAXBODY:
            if (!parse_uint(optarg, 1 << 20, &max_body) || max_body < 256)
                return cli_usage_error("serve", "--max-body needs 256..1048576 bytes");
            break;
        case O_MAXCONN:
            if (!parse_uint(optarg, 100000, &max_conn) || !max_conn)
                return cli_usage_error("serve", "--max-conn needs 1..100000");
            break;
        case O_PERIP:
            if (!parse_uint(optarg, 100000, &per_ip))
                return cli_usage_error("serve", "--per-ip needs a count");
            break;
        case O_DRAIN:
            if (!parse_uint(optarg, 3600, &drain))
                return cli_usage_error("serve", "--drain needs 0..3600 seconds");
            break;
        case O_PORTFILE: port_file = optarg; break;
        case O_QUIET: quiet = 1; break;
        case 'h': help(stdout); return EXIT_OK;
        default: help(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) return cli_usage_error("serve", "expected one workspace path");
    if (!listen_spec) return cli_usage_error("serve", "--listen ADDR:PORT is required");
    if (!threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned long)n : 1;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        max_conn + 64 > rl.rlim_cur)
        max_conn = rl.rlim_cur > 128 ? (unsigned long)rl.rlim_cur - 64 : 64;

    /* Requests allocate and free the same few kilobytes over and over; by
     * default glibc hands the top of each thread's heap back to the kernel
     * (and faults it in again) every time. Keep it. */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    memset(&SRV, 0, sizeof SRV);
    SRV.ws_path = argv[optind];
    SRV.tolerance_m = tol;
    SRV.timeout_s = (unsigned)timeout;
    SRV.body_max = max_body;
    SRV.quiet = quiet;
    SRV.started = now_s();
    pthread_mutex_init(&SRV.mu, NULL);
    pthread_mutex_init(&SRV.rate_mu, NULL);
    pthread_mutex_init(&SRV.wq_mu, NULL);
    pthread_cond_init(&SRV.wq_cv, NULL);

    int rc = EXIT_FAIL, fd = -1, v6 = 0, nkeys = 0;
    wg_ctx *mctx = cli_ctx();
    wg_ws *mws = NULL;
    uint64_t stamp = 0;
    wg_status st;
    wg_ctx_set_progress(mctx, NULL, NULL);
    /* The writer's connection first: it adds the service's tables to an
     * older workspace, which the read-only connections then find. */
    if ((st = wg_ctx_new(&SRV.wctx))) {
        fprintf(stderr, "wangge serve: out of memory\n");
        goto done;
    }
    if ((st = wg_ws_open(SRV.wctx, SRV.ws_path, 0, &SRV.wws)) || (st = wg_incidents_init(SRV.wws))) {
        rc = cli_fail("serve", SRV.wctx, st);
        goto done;
    }
    if ((st = wg_ws_open(mctx, SRV.ws_path, 1, &mws)) || (st = wg_units_stamp(mws, &stamp)) ||
        !(SRV.current = locref_build(mws, NULL, &st)) ||
        (st = wg_keys_list(mws, count_active, &nkeys))) {
        rc = cli_fail("serve", mctx, st);
        goto done;
    }
    SRV.stamp = stamp;
    if (!nkeys)
        fprintf(stderr, "wangge serve: warning: the workspace has no active API key, so every "
                        "request will be refused (add one with `wangge keys add`)\n");
    char shown[300];
    fd = listen_on(listen_spec, shown, sizeof shown, &v6);
    if (fd < 0) {
        if (fd == -1) rc = cli_usage_error("serve", "--listen '%s' is not ADDR:PORT", listen_spec);
        else fprintf(stderr, "wangge serve: error: cannot listen on %s: %s\n", listen_spec,
                     fd == -2 ? "unknown address" : strerror(errno));
        goto done;
    }
    /* Signals go to this thread only: block them before any thread starts. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (!writer_start()) {
        fprintf(stderr, "wangge serve: error: cannot start the writer thread\n");
        goto done;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
    SRV.daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, http_access, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
        /* A connection's memory pool: the request line, the headers and the
         * query's parameters (kept as records). Above 32 KiB libmicrohttpd
         * mmap()s pools and each request then costs page faults (measured:
         * 150 us of CPU a request instead of 100), so it stays at 32 KiB: a
         * query longer than 4 KiB is ours to refuse (414), one of more than
         * ~400 tiny parameters is cut by libmicrohttpd first (431, closed). */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)WG_CONN_POOL, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)timeout, MHD_OPTION_CONNECTION_LIMIT, (unsigned)max_conn,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)per_ip, MHD_OPTION_URI_LOG_CALLBACK,
        http_uri_log, NULL, MHD_OPTION_NOTIFY_COMPLETED, http_completed, NULL,
        MHD_OPTION_NOTIFY_CONNECTION, http_connection, NULL, MHD_OPTION_END);
    if (!SRV.daemon) {
        fprintf(stderr, "wangge serve: error: cannot start the HTTP daemon\n");
        goto done;
    }
    fprintf(stderr, "wangge serve: listening on http://%s (%lu threads, workspace %s)\n", shown,
            threads, SRV.ws_path);
    if (port_file && !write_port_file(port_file, shown))
        fprintf(stderr, "wangge serve: warning: cannot write %s\n", port_file);

    double last_check = now_s();
    for (;;) {
        struct timespec ts = {1, 0};
        int sig = sigtimedwait(&sigs, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT) break;
        if (sig == SIGHUP || now_s() - last_check >= 2.0) {
            last_check = now_s();
            uint64_t s2 = 0;
            if (wg_units_stamp(mws, &s2) == WG_OK && (s2 != SRV.stamp || sig == SIGHUP) &&
                reload(mctx, mws, s2) == WG_OK)
                fprintf(stderr, "wangge serve: units, officers or roads changed: reloaded\n");
        }
    }
    fprintf(stderr, "wangge serve: draining (%d requests in flight)\n",
            atomic_load(&SRV.active));
    atomic_store(&SRV.draining, 1);
    MHD_quiesce_daemon(SRV.daemon);
    double t0 = now_s();
    while (atomic_load(&SRV.active) > 0 && now_s() - t0 < (double)drain) {
        struct timespec nap = {0, 10 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    if (atomic_load(&SRV.active) > 0)
        fprintf(stderr, "wangge serve: %d requests still open after %lu s: closing them\n",
                atomic_load(&SRV.active), drain);
    rc = EXIT_OK;
done:
    writer_stop(); /* commits and resumes whatever is queued */
    if (SRV.daemon) MHD_stop_daemon(SRV.daemon);
    if (fd >= 0) close(fd);
    if (rc == EXIT_OK)
        fprintf(stderr, "wangge serve: stopped; %lld incidents stored in %lld commits\n",
                (long long)atomic_load(&SRV.stored), (long long)atomic_load(&SRV.batches));
    workers_free();
    rate_free();
    pthread_mutex_lock(&SRV.mu);
    locref *drop[SRV_DATED_MAX + 1] = {unhold(SRV.current)};
    for (int i = 0; i < SRV_DATED_MAX; i++) drop[i + 1] = unhold(SRV.dated[i]);
    pthread_mutex_unlock(&SRV.mu);
    for (int i = 0; i <= SRV_DATED_MAX; i++) locref_free(drop[i]);
    wg_ws_close(mws);
    wg_ctx_free(mctx);
    wg_ws_close(SRV.wws);
    wg_ctx_free(SRV.wctx);
    return rc;
}
