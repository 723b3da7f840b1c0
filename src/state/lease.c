/* Lease keeper: a thread that renews one lock's lease every lease/3 until stopped (store.h). It
 * waits on real (monotonic) time; the timestamps it writes come from the store's clock. */
#define _GNU_SOURCE
#include "store.h"

#include <stdatomic.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cratis/plugin.h"
#include "util/error.h"
#include "util/subprocess.h"
#include "util/util.h"
#include "banned.h"

struct lock_keeper {
	struct store *s;
	char lock_id[40];
	int interval_ms;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	int status;           /* first renewal error, CRATIS_OK while none */
	char *message;        /* its message (heap) */
	atomic_int *lost; /* set to CANCEL_LEASE_LOST on a failed renewal, or NULL */
};

static void deadline_after(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *keeper_main(void *arg)
{
	struct lock_keeper *k = arg;
	pthread_mutex_lock(&k->mu);
	while (!k->stop) {
		struct timespec ts;
		deadline_after(&ts, k->interval_ms);
		int w = 0;
		while (!k->stop && w != ETIMEDOUT)
			w = pthread_cond_timedwait(&k->cv, &k->mu, &ts);
		if (k->stop)
			break;
		pthread_mutex_unlock(&k->mu);
		int rc = store_lock_renew(k->s, k->lock_id);
		pthread_mutex_lock(&k->mu);
		if (rc) {
			k->status = rc;
			k->message = xstrdup(cratis_error_last()->message);
			if (k->lost && !*k->lost)
				*k->lost = CANCEL_LEASE_LOST;
			break; /* the lock is lost or the store fails: renewing again cannot help */
		}
	}
	pthread_mutex_unlock(&k->mu);
	error_clear(); /* the thread's last-error buffer dies with the thread */
	return NULL;
}

int lock_keeper_start(struct lock_keeper **out, struct store *s, const char *lock_id, int lease_ms,
                      atomic_int *lost)
{
	*out = NULL;
	struct lock_keeper *k = xcalloc(1, sizeof(*k));
	k->s = s;
	k->lost = lost;
	snprintf(k->lock_id, sizeof(k->lock_id), "%s", lock_id);
	k->interval_ms = (lease_ms > 0 ? lease_ms : STORE_LEASE_MS_DEFAULT) / 3;
	if (k->interval_ms < 1)
		k->interval_ms = 1;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&k->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&k->mu, NULL);
	int e = pthread_create(&k->thread, NULL, keeper_main, k);
	if (e) {
		pthread_cond_destroy(&k->cv);
		pthread_mutex_destroy(&k->mu);
		free(k);
		return error_set(CRATIS_ERROR, "cannot start the lease keeper of lock '%s': %s", lock_id, strerror(e));
	}
	*out = k;
	return CRATIS_OK;
}

int lock_keeper_stop(struct lock_keeper *k)
{
	if (!k)
		return CRATIS_OK;
	pthread_mutex_lock(&k->mu);
	k->stop = true;
	pthread_cond_signal(&k->cv);
	pthread_mutex_unlock(&k->mu);
	pthread_join(k->thread, NULL);
	int rc = k->status;
	if (rc)
		error_set(rc, "%s", k->message);
	free(k->message);
	pthread_cond_destroy(&k->cv);
	pthread_mutex_destroy(&k->mu);
	free(k);
	return rc;
}
