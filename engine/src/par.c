/* par.c -- fork-join for the inner loops of one request (par.h says why). */
#include "par.h"

#include <pthread.h>
#include <unistd.h>

int wg_par_parts(int requested) {
    long n = requested > 0 ? requested : sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > WG_PAR_MAX ? WG_PAR_MAX : (int)n;
}

typedef struct job {
    wg_par_fn fn;
    void *arg;
    int part, nparts;
} job;

static void *run_job(void *p) {
    job *j = p;
    j->fn(j->arg, j->part, j->nparts);
    return NULL;
}

void wg_par_run(int nparts, wg_par_fn fn, void *arg) {
    if (nparts < 1) nparts = 1;
    if (nparts > WG_PAR_MAX) nparts = WG_PAR_MAX;
    job jobs[WG_PAR_MAX];
    pthread_t tid[WG_PAR_MAX];
    int started[WG_PAR_MAX] = {0};
    for (int k = 1; k < nparts; k++) {
        jobs[k] = (job){fn, arg, k, nparts};
        started[k] = pthread_create(&tid[k], NULL, run_job, &jobs[k]) == 0;
    }
    fn(arg, 0, nparts);
    for (int k = 1; k < nparts; k++)
        if (!started[k]) fn(arg, k, nparts); /* no thread: do it here */
    for (int k = 1; k < nparts; k++)
        if (started[k]) pthread_join(tid[k], NULL);
}
