/* serve_writer.c -- the one thread that writes reports (group commit).
 *
 * Handler threads queue checked reports and suspend their connections.
 * This thread takes everything queued, stores it with wg_incidents_add()
 * (one transaction, one fsync for the lot), then resumes the connections,
 * whose answers (201) are thus sent only after COMMIT. Under load the
 * batches grow by themselves: while one commit syncs, the next batch
 * gathers. A report never waits for more than one commit in progress.
 *
 * Reports placed with different locators (a reload happened in between)
 * go to different transactions, so each is stored exactly as its scope was
 * checked. If a batch fails as a whole on a bad report, its reports are
 * retried one by one, so one bad report never costs the others. */
#include "serve.h"

#include <stdlib.h>
#include <string.h>

#define BATCH_MAX 512

/* Used by the writer thread only (a receipt is ~700 bytes: not for the stack). */
static wg_incident_new in[BATCH_MAX];
static wg_incident_receipt out[BATCH_MAX];

static void store_run(req **rs, size_t n) {
    for (size_t i = 0; i < n; i++) in[i] = rs[i]->inew;
    wg_status st = wg_incidents_add(SRV.wws, rs[0]->lr->loc, SRV.tolerance_m, in, n, out);
    if (st == WG_ERR_INVALID_ARG && n > 1) {
        for (size_t i = 0; i < n; i++) store_run(&rs[i], 1);
        return;
    }
    atomic_fetch_add(&SRV.batches, 1);
    if (!st) atomic_fetch_add(&SRV.stored, (long long)n);
    for (size_t i = 0; i < n; i++) {
        rs[i]->wst = st;
        if (st) snprintf(rs[i]->werr, sizeof rs[i]->werr, "%s", wg_ctx_errmsg(SRV.wctx));
        else rs[i]->receipt = out[i];
    }
}

static void *writer_main(void *arg) {
    (void)arg;
    req *batch[BATCH_MAX];
    for (;;) {
        pthread_mutex_lock(&SRV.wq_mu);
        while (!SRV.wq_head && !SRV.wq_stop) pthread_cond_wait(&SRV.wq_cv, &SRV.wq_mu);
        if (!SRV.wq_head) {
            pthread_mutex_unlock(&SRV.wq_mu);
            break;
        }
        size_t n = 0;
        while (SRV.wq_head && n < BATCH_MAX) {
            batch[n++] = SRV.wq_head;
            SRV.wq_head = SRV.wq_head->next;
        }
        if (!SRV.wq_head) SRV.wq_tail = NULL;
        pthread_mutex_unlock(&SRV.wq_mu);
        for (size_t i = 0; i < n;) { /* runs of reports sharing a locator */
            if (batch[i]->kind == 1) { /* a step of the closed loop: alone */
                writer_run_step(batch[i++]);
                continue;
            }
            size_t j = i + 1;
            while (j < n && batch[j]->kind == 0 && batch[j]->lr == batch[i]->lr) j++;
            store_run(&batch[i], j - i);
            i = j;
        }
        /* Resuming hands the request back to its handler thread, which
         * may answer and free it at once: nothing touches it after. */
        for (size_t i = 0; i < n; i++) {
            batch[i]->state = RQ_STORED;
            MHD_resume_connection(batch[i]->conn);
        }
    }
    return NULL;
}

int writer_submit(req *r) {
    r->next = NULL;
    pthread_mutex_lock(&SRV.wq_mu);
    if (SRV.wq_stop || !SRV.writer_started) {
        pthread_mutex_unlock(&SRV.wq_mu);
        return 0;
    }
    /* Suspended before the writer can see it, so it cannot be resumed first. */
    r->state = RQ_QUEUED;
    MHD_suspend_connection(r->conn);
    if (SRV.wq_tail) SRV.wq_tail->next = r;
    else SRV.wq_head = r;
    SRV.wq_tail = r;
    pthread_cond_signal(&SRV.wq_cv);
    pthread_mutex_unlock(&SRV.wq_mu);
    return 1;
}

int writer_start(void) {
    SRV.wq_stop = 0;
    if (pthread_create(&SRV.writer_tid, NULL, writer_main, NULL)) return 0;
    SRV.writer_started = 1;
    return 1;
}

/* Stores what is queued, then ends the thread. */
void writer_stop(void) {
    if (!SRV.writer_started) return;
    pthread_mutex_lock(&SRV.wq_mu);
    SRV.wq_stop = 1;
    pthread_cond_signal(&SRV.wq_cv);
    pthread_mutex_unlock(&SRV.wq_mu);
    pthread_join(SRV.writer_tid, NULL);
    SRV.writer_started = 0;
}
