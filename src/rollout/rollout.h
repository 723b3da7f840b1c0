/* Releases: the Rollout kind (cratis/v1). A rollout runs each release of an application as its
 * own process (through the Service handler) beside the live one, switches traffic with cratis'
 * own nginx (through the Route handler), runs the release hooks (beforePreProd, afterPreProd,
 * exitTests, promote, afterPostProd) and keeps the previous release hot for an instant rollback.
 * Stages and failure semantics: docs/releases.md. */
#ifndef CRATIS_ROLLOUT_H
#define CRATIS_ROLLOUT_H

#include <stdatomic.h>
#include <stdio.h>

#include "engine/observer.h"
#include "plugin/registry.h"
#include "state/store.h"

/* What the rollout handler works with: the registry (Service and Route handlers) and the store. */
struct rollout_env {
	struct registry *reg;
	struct store *store;
	const struct engine_observer *observer; /* stages and log lines, or NULL */
	const atomic_int *cancel;    /* the run's cancellation word: stops hooks, or NULL */
	int grace_ms;                           /* how long a cancelled hook gets before SIGKILL */
};

/* Register the built-in handler for cratis/v1 Rollout in reg (a pseudo plugin "cratis").
 * env must outlive reg. Returns CRATIS_OK or the registry's error. */
int rollout_register(struct registry *reg, struct rollout_env *env, struct diags *errors);

/* Which rollout a command acts on: its identity and recorded spec, as the handler saw them. */
struct rollout_target {
	const char *project, *environment, *name;
	const char *spec;          /* recorded Rollout spec (JSON) */
	const char *workdir, *statedir;
};

/* `cratis rollout promote|abort|rollback`: act on the target, under the environment's lock (the
 * caller holds it): first a switch an interrupted run left half done is settled (completed, and
 * the processes of releases it retired stopped). to (rollback only) names a release id or is
 * NULL for the previous one; a release that failed a check, or never passed its exit tests, is
 * refused unless force; one whose process does not run, or does not own its port, is started
 * again through the Service handler (its HTTP health check and its own process on its port) and
 * refused when that fails. Every switch is written as one unit of work. Progress goes to the log;
 * returns CRATIS_OK, or CRATIS_ENOTFOUND (no release in preview / no such release), CRATIS_EINVAL
 * (already live), CRATIS_ERROR (refused without force), CRATIS_EIO (the store), or the Service or Route
 * handler's status, with the detail in the last error. */
int rollout_promote(struct rollout_env *env, const struct rollout_target *t);
int rollout_abort(struct rollout_env *env, const struct rollout_target *t);
int rollout_rollback(struct rollout_env *env, const struct rollout_target *t, const char *to, bool force);

/* Upkeep between commands (`cratis serve`'s scheduler): whether rels (read without the lock)
 * need rollout_maintain at unix time now: a previous release whose scaleDownDelaySeconds have
 * passed, or a switch an interrupted run left unsettled. */
bool rollout_maintenance_due(const struct releases *rels, int64_t now);
/* Under the environment's lock (the caller holds it): settle a switch an interrupted run left
 * half done and scale down every previous release whose scaleDownDelaySeconds have passed, as
 * the next apply does. *did is set when it changed anything. Returns CRATIS_OK, CRATIS_ENOTFOUND
 * (never applied) or CRATIS_EIO (the store), with the detail in the last error. */
int rollout_maintain(struct rollout_env *env, const struct rollout_target *t, bool *did);

/* True when the release's port answers HTTP (its health check path) right now. */
bool rollout_release_healthy(const struct release *r);

#endif
