/* Application layer internals shared by its files (app.c, queries.c, outputs.c, surgery.c): the
 * lock a run holds. Not for front ends. */
#ifndef CRATIS_APP_INTERNAL_H
#define CRATIS_APP_INTERNAL_H

#include "app.h"

/* A lock this run holds, with the keeper that renews its lease while the run lives. */
struct run_lock {
	struct lock_info me;
	struct lock_keeper *keeper;
};

/* Take the lock of environment a->model.env_name for this run (as app_apply does: waiting up to
 * o.lock_timeout_ms, renewing its lease from a keeper thread). CRATIS_ELOCKED names the holder
 * in d; CRATIS_ERROR when interrupted while waiting; CRATIS_EIO. */
int app_lock_take(struct app *a, struct run_lock *h, struct diags *d);
/* Stop renewing and release h. CRATIS_ERROR (in d) when the lease was lost meanwhile. */
int app_lock_release(struct app *a, struct run_lock *h, struct diags *d);

/* Project spec.plugins (plugins.c): every entry whose plugin is not loaded is installed into
 * PROJECT/.cratis/plugins (checksum from the entry, else from .cratis/plugins.lock when the
 * source is the one locked), recorded in the lock and loaded into a->reg; a loaded plugin
 * outside the entry's range, a malformed entry or a failed install is an error appended to
 * errors, located at the entry. Called by app_open between the manifests and the model. */
void app_ensure_plugins(struct app *a, struct diags *errors);

/* s, or "" for NULL: for JSON fields that are always strings. */
static inline const char *or_empty(const char *s)
{
	return s ? s : "";
}

/* The lock.taken event of a lock on environment, for store_lock_ev (e->emits): its data, made in
 * the transaction that takes the lock, names the lock and the holder taken over. e's strings are
 * heap (app_lock_event_release); e must stay put while e->emits is used. */
struct app_lock_event {
	struct store_event ev;
	struct store_emits emits;
	char *source;
};
void app_lock_event(struct app *a, const char *environment, struct app_lock_event *e);
void app_lock_event_release(struct app_lock_event *e);

#endif
