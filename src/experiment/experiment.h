/* Experiments (issue 12): the cratis/v1 Experiment kind, its controller and the decision loop.
 * An Experiment runs variants of a Rollout's application beside its live release (the control),
 * deals users to them through the Rollout's Route (`spec.split`: the dealer), measures an
 * objective and guardrails (src/experiment/metrics.h), decides with decide_tick
 * (src/experiment/decide.h) and promotes the winner through the Rollout's blue/green switch, or
 * keeps the control. State lives in a store record of kind "experiment", scope "ENV/PROJECT",
 * named after the experiment. docs/experiments.md documents the kind, the lifecycle and the
 * commands. */
#ifndef CRATIS_EXPERIMENT_H
#define CRATIS_EXPERIMENT_H

#include <stdatomic.h>
#include <stdbool.h>

#include <jansson.h>

#include "rollout/rollout.h"

/* The record kind experiment state is kept under. */
#define EXPERIMENT_RECORD_KIND "experiment"
/* History points kept in the record (the oldest are dropped). */
#define EXPERIMENT_HISTORY_MAX 500

/* Register the built-in handler for cratis/v1 Experiment in reg, beside the Rollout handler
 * (rollout_register must have run: the handler joins its "cratis" core plugin). env (the same
 * view the Rollout handler uses) must outlive reg. Returns CRATIS_OK, CRATIS_ENOTFOUND when the
 * core plugin is not registered, or the registry's error (in errors). */
int experiment_register(struct registry *reg, struct rollout_env *env, struct diags *errors);

/* Which experiment a command acts on. Every string is borrowed. */
struct experiment_target {
	const char *project, *environment, *name;
	const char *spec;            /* the Experiment's recorded spec (JSON) */
	const char *workdir;         /* the project directory */
	const char *statedir;        /* the Experiment's state directory (STATE/run/ENV/PROJECT/Experiment-NAME) */
};

/* The record scope of an experiment: "ENV/PROJECT" (heap). */
char *experiment_scope(const char *environment, const char *project);

/* A decision loop in progress: what one `experiment run` keeps between ticks (the metrics read
 * so far, the access log kept open, the record revision it last wrote). Opaque. */
struct experiment_runner;

/* Start a runner for t (nothing read yet). Free with experiment_runner_free. */
struct experiment_runner *experiment_runner_new(struct rollout_env *env, const struct experiment_target *t);
void experiment_runner_free(struct experiment_runner *r);

/* One tick of the decision loop; the caller holds the environment's lock. Reads the record (a
 * record written by someone else since this runner's last write, or a first tick, restores the
 * metrics and decision state from it), reads the metrics provider (incrementally for the access
 * log), calls decide_tick, appends a history point and writes the record with compare-and-set.
 * A verdict other than continue concludes the experiment: with promotion automatic the winner
 * is promoted through the Rollout's switch (the control kept hot as its previous release) and
 * the losers stopped; keep-control and the stops remove the split and stop the variants; with
 * promotion manual the record becomes "decided" and waits for experiment_conclude. A record left
 * "concluding" by an interrupted run is concluded first. *done is set when the experiment no
 * longer runs (concluded, decided, stopped, aborted); *status (new reference, may be NULL) gets
 * experiment_status_json of the record written. Returns CRATIS_OK; CRATIS_ENOTFOUND (never
 * applied); CRATIS_EEXISTS (another writer changed the record meanwhile: call again);
 * CRATIS_EINVAL (the spec or the recorded state is invalid), CRATIS_EIO (store, provider),
 * or the status of a failed promotion, with the detail in the last error. */
int experiment_tick(struct experiment_runner *r, bool *done, json_t **status);

/* Conclude a running or decided experiment by hand (`cratis experiment conclude`), under the
 * environment's lock: winner names the variant to promote (the control: keep it), or NULL to
 * carry out the verdict already decided. Returns CRATIS_OK; CRATIS_ENOTFOUND (never applied, no
 * such variant); CRATIS_EINVAL (already ended, or no verdict yet and no winner named); or the
 * status of the promotion, with the detail in the last error. */
int experiment_conclude(struct rollout_env *env, const struct experiment_target *t, const char *winner);

/* Abort a running experiment (`cratis experiment abort`), under the environment's lock: the
 * Rollout's Route goes back to its one live release, the variants stop, the record becomes
 * "aborted". Returns CRATIS_OK; CRATIS_ENOTFOUND (never applied); CRATIS_EINVAL (it has ended);
 * CRATIS_EIO. */
int experiment_abort(struct rollout_env *env, const struct experiment_target *t);

/* The status document of the experiment's record (`experiment status -o json`; reads only):
 * {project, environment, name, status: running|decided|concluded|aborted|stopped|failed|
 * concluding, verdict, winner, control, started, updated, elapsedSeconds, result:
 * <decide_result_to_json or null>, history: [{time, elapsedSeconds, variants: [{name, value,
 * ciLow, ciHigh, exposures}]}], variants: [{name, control, release, port, weight}], rollout,
 * reasons: [..], message}. *out is a new reference. Returns CRATIS_OK, CRATIS_ENOTFOUND (no
 * record: never applied), CRATIS_EIO. */
int experiment_status(struct store *s, const struct experiment_target *t, json_t **out);

#endif
