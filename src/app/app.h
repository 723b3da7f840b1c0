/* Application layer: the use cases of cratis (open a project, plan, apply, destroy, promote,
 * rollout actions, history and state queries) as functions that return a status, structured
 * results and diagnostics and never print. The CLI, `cratis serve` and agents are front ends
 * over it; it is the composition root that owns the store, the registry and the model of one
 * open project. Results of queries are JSON documents whose shapes are documented per function
 * (they are also what `-o json` prints and what the HTTP API will return). */
#ifndef CRATIS_APP_H
#define CRATIS_APP_H

#include <stdatomic.h>
#include <signal.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "capability/capability.h"
#include "capability/cost.h"
#include "engine/engine.h"
#include "manifest/manifest.h"
#include "model/model.h"
#include "plugin/registry.h"
#include "release/git.h"
#include "release/policy.h"
#include "release/source.h"
#include "rollout/rollout.h"
#include "state/store.h"
#include "util/diag.h"

/* Manifests given as text (a request body) instead of files. */
struct app_buffer {
	const char *name;             /* display name used in locations ("request.yaml") */
	const char *data;             /* YAML text, not necessarily NUL-terminated */
	size_t len;                   /* bytes of data */
};

/* How a project is opened. Every pointer is borrowed for the life of the struct app. */
struct app_options {
	const char *const *paths;     /* manifest files or directories; the first one's directory (or
	                               * itself) is the project directory (none: the current one) */
	size_t npaths;
	const struct app_buffer *buffers; /* manifests as text, loaded after the paths */
	size_t nbuffers;
	const char *env;              /* environment to act on; NULL: the only one, or none */
	const char *state_dir;        /* state directory; NULL: $CRATIS_STATE_DIR, else PROJECT/.cratis */
	const char *state_url;        /* the store (store_open); NULL: $CRATIS_STATE, else the Project's
	                               * spec.state.url, else sqlite:STATE_DIR/state.db */
	const char *secret_key_file;  /* the key of secret hashes and sealed outputs; NULL:
	                               * $CRATIS_SECRET_KEY_FILE, else STATE_DIR/secret.key */
	int jobs;                     /* parallel plugin calls in plan refresh and apply (>= 1) */
	bool refresh;                 /* plan observes unchanged resources for drift */
	int lock_timeout_ms;          /* how long apply/destroy/rollout wait for a held lock; 0 = fail */
	int grace_ms;                 /* how long cancelled subprocesses get before SIGKILL; 0 = 10 s,
	                               * negative = at once */
	const char *command_line;     /* recorded with locks and deployments ("cratis apply -f x") */
	const json_t *overrides;      /* variables replacing the environment's (promotion), or NULL */
	const json_t *artifact_pins;  /* NAME -> {version, digest} used for ${artifact:NAME}, or NULL */
	const struct engine_observer *observer; /* progress of apply/destroy/rollouts, or NULL */
	const char *const *targets;   /* -target addresses plan, apply and destroy are limited to
	                               * (engine_opts.targets); NULL = everything */
	size_t ntargets;
	atomic_int *cancel; /* the run's cancellation word (src/util/subprocess.h: a signal,
	                               * CANCEL_HARD, CANCEL_LEASE_LOST): non-zero = start nothing new,
	                               * stop what runs. A signal handler sets it; the lease keeper sets
	                               * CANCEL_LEASE_LOST. NULL: the app keeps its own */
};

/* What app_open loads besides the state store. */
enum app_load {
	APP_LOAD_STATE = 0,           /* the state store only */
	APP_LOAD_PLUGINS = 1,         /* the store and the plugins */
	APP_LOAD_MANIFESTS = 3,       /* the store, the plugins, the manifests and the model */
	APP_LOAD_OFFLINE = 4,         /* with the above: no state directory is created and no store
	                               * opened (a->store NULL); ${artifact:...} reads as "(known
	                               * after apply)". For `cratis validate` and `cratis explain`:
	                               * only plugins, app_validate and queries that need no state */
};

/* An open project. Fields are read-only for front ends. */
struct app {
	struct app_options o;
	char *project_dir;            /* absolute */
	char *state_dir;              /* absolute, created when missing */
	char *git_cache;              /* PROJECT/.cratis/git: where git locations are fetched (ms.cache_dir) */
	struct manifest_set ms;
	struct registry reg;
	struct model model;
	struct store *store;
	struct engine_opts opts;
	struct rollout_env rollout;   /* the built-in Rollout handler's view */
	struct cap_catalog caps;      /* capability plugins (src/capability), loaded with the plugins */
	json_t *artifacts;            /* NAME -> {version, digest} resolved for this run */
	atomic_int own_cancel; /* the cancellation word when o.cancel is NULL */
	atomic_int *cancel;    /* o.cancel or &own_cancel */
	char *state_only_env;  /* app_open_state_only: the environment acted on (owned) */
};

/* The project directory of path: the directory itself, or a file's directory, absolute. NULL
 * with errno when path cannot be resolved. Caller frees. */
char *app_project_dir(const char *path);

/* Open the project that o describes, loading what `what` names. On success *out is the project
 * (free with app_close). On failure *out is NULL, the problems are appended to d (each located
 * where it can be) and the status is returned: CRATIS_EIO (unreadable path, state directory or
 * store), CRATIS_EINVAL (invalid manifests, no manifests), CRATIS_EPLUGIN (a plugin failed to
 * load). */
int app_open(struct app **out, const struct app_options *o, enum app_load what, struct diags *d);
/* `cratis validate`: every offline check of the project that o describes, without the state
 * (no directory created, no store opened, no lock) and without calling any plugin op but
 * validate: manifests (YAML, envelope, strict fields), references, variables and scopes
 * (model_build), the dependency graph, System credentials, and each resource's validate op
 * (plan_validate, up to o->jobs at once). With o->env NULL and several environments defined,
 * every environment is checked in turn (a problem they share is reported once). *summary (new
 * reference, also on failure; may be NULL) gets {environments: [names checked], documents: N,
 * resources: N (of the last environment checked)}. Returns CRATIS_OK when the project is
 * valid, else the first problem's status (CRATIS_EINVAL, CRATIS_ECYCLE, CRATIS_EIO for an
 * unreadable path, CRATIS_EPLUGIN for a plugin that failed to load) with every problem in d,
 * located where it can be; notes of the directory walk (files skipped) are appended as
 * DIAG_NOTE either way. */
int app_validate(const struct app_options *o, json_t **summary, struct diags *d);

/* Stop plugins, close the store and free a. NULL is ignored. */
void app_close(struct app *a);

/* The plan of the open environment (APP_LOAD_MANIFESTS). Fills *out (release with
 * plan_release). Returns CRATIS_OK or a status with the problems in d. */
int app_plan(struct app *a, struct plan *out, struct diags *d);
/* True when plan p changes anything; free what p holds (the struct is kept). */
bool app_plan_has_changes(const struct plan *p);
void app_plan_release(struct plan *p);
/* The plan as JSON: {environment, resources: [{id, project, action, changes, reason}], summary}. */
json_t *app_plan_json(const struct plan *p);

/* Called by app_apply once the plan is known, before anything runs: return true to go on.
 * Changes tells whether the plan would change anything (when false app_apply stops after it). */
typedef bool (*app_review_fn)(const struct plan *p, bool changes, void *payload);

/* What an apply or destroy did. */
struct app_run {
	bool changes;                 /* the plan had changes */
	bool approved;                /* review said go */
	bool cancelled;               /* a cancellation stopped it (o->cancel) */
	struct apply_result counts;   /* ok, failed, skipped, deployment id */
};

/* Apply (destroy false) or destroy the open environment: take its lock (waiting up to
 * o->lock_timeout_ms), plan, call review (NULL = approve), execute with o->jobs in parallel,
 * record the deployment with its inputs (variables and artifacts, for promotion), release the
 * lock. *plan_out holds the plan (release with plan_release). Returns CRATIS_OK when nothing
 * failed (also when there was nothing to do or review declined: see *run), CRATIS_ELOCKED when
 * another run holds the lock (its holder is named in d), CRATIS_EINVAL for an invalid plan,
 * CRATIS_ERROR when a resource failed or was skipped, CRATIS_EIO on a state error. */
int app_apply(struct app *a, bool destroy, app_review_fn review, void *payload, struct plan *plan_out,
              struct app_run *run, struct diags *d);

/* ---- saved plans (`cratis plan -out FILE`, `cratis apply FILE`; docs/plan-format.md) ---- */

/* Write plan p of the open project to path as a saved plan: JSON with format_version, kind
 * "cratis-plan", cratis_version, environment, project_dir, state_dir, paths (the manifest paths,
 * absolute), manifests ([{file, sha256}] of every file read), inputs ({variables (sensitive ones
 * redacted), artifacts}), and the engine's part (plan_to_saved: destroy, targets, per-resource
 * action and redacted desired spec, the digest of every recorded row seen). No secret value is
 * written. The file is written to a temporary file in the same directory, created 0600, and
 * renamed over path. Returns CRATIS_OK, or CRATIS_EIO with the problem in d. */
int app_plan_write(struct app *a, const struct plan *p, const char *path, struct diags *d);
/* The saved plan app_plan_write writes, as a JSON object (*out, a new reference; NULL on error),
 * for a front end that hands it to its client (`cratis serve`: POST .../plans with save) and
 * takes it back for app_apply_saved. Returns CRATIS_OK, or CRATIS_EIO (a manifest cannot be
 * read again for its digest) with the problem in d. */
int app_plan_saved(struct app *a, const struct plan *p, json_t **out, struct diags *d);

/* Read the saved plan at path into *out (caller owns it). Returns CRATIS_OK, CRATIS_EIO (cannot
 * read) or CRATIS_EINVAL (not JSON, not a cratis plan, or an unknown format major version), each
 * with the problem in d. */
int app_plan_read(const char *path, json_t **out, struct diags *d);

/* Apply exactly the saved plan saved (app_plan_read) to the open project, which must have been
 * opened with its paths and environment: without re-planning (no validate, plan or observe
 * call). Refused, before anything runs, with CRATIS_EINVAL and a diagnostic "saved plan is
 * stale: ..." when a manifest was changed, added or removed, the deployment inputs differ, the
 * state differs from what the plan saw (checked under the lock), or a desired spec resolves
 * differently (a secret's hash changed); also refused when the plan was made by another cratis
 * version or for another environment. Otherwise as app_apply (review is called with the plan;
 * run, plan_out and the statuses as there). */
int app_apply_saved(struct app *a, const json_t *saved, app_review_fn review, void *payload, struct plan *plan_out,
                    struct app_run *run, struct diags *d);

/* What a promotion takes from its source environment. */
struct app_promotion {
	json_t *overrides;            /* variable name -> value (Project.spec.promotion.variables) */
	json_t *artifact_pins;        /* NAME -> {version, digest} */
	int64_t deployment;           /* the source's deployment taken */
	char *started;                /* when it started (RFC 3339) */
	char *what;                   /* "port=8081, artifact web 1.2.0@sha256:..." for messages */
};
/* Collect what environment `from` of project a (opened with o.env = from) last deployed
 * successfully. Refused (CRATIS_EINVAL with the reason in d) when nothing was deployed, when the
 * last deployment was a destroy or failed, when a resource of it is not ready, or when a
 * promoted variable was not deployed. CRATIS_EIO on a state read error. */
int app_promotion_collect(struct app *a, const char *from, struct app_promotion *out, struct diags *d);
void app_promotion_release(struct app_promotion *p);

/* Resources of the open environment (APP_LOAD_MANIFESTS) with their recorded status: a JSON
 * array of {id, project, apiVersion, status ("ready", "pending", "failed", "absent", "orphaned
 * (not in manifests)"), updated, outputs}. Returns CRATIS_OK or CRATIS_EIO. */
int app_resources(struct app *a, json_t **out, struct diags *d);

/* Deployments of environment env (NULL: all), newest first: a JSON array of {id, environment,
 * command, user, host, started, finished, result, summary}. CRATIS_EIO on a read error. */
int app_history(struct app *a, const char *env, json_t **out, struct diags *d);
/* Steps of deployment id: a JSON array of {resource, action, result, message, started,
 * finished}. CRATIS_EIO on a read error. */
int app_deployment_steps(struct app *a, int64_t id, json_t **out, struct diags *d);

/* The environment state commands act on: env when given, else that of the latest deployment
 * ("" when there is none). *out is heap (caller frees). CRATIS_EIO on a read error. */
int app_state_env(struct app *a, const char *env, char **out, struct diags *d);
/* Recorded resources of env: a JSON array of {id, project, status, updated}; and every lock:
 * a JSON array of {id, environment, pid, host, user, command, since}. CRATIS_EIO on a read
 * error. */
int app_state_list(struct app *a, const char *env, json_t **rows, json_t **locks, struct diags *d);
/* One recorded resource of env by "Kind/name" or "project/Kind/name": {id, project,
 * environment, apiVersion, status, updated, deployment, spec, outputs, message?}.
 * CRATIS_ENOTFOUND when none is recorded, CRATIS_EIO on a read error. */
int app_state_show(struct app *a, const char *env, const char *address, json_t **out, struct diags *d);
/* Release lock lock_id by hand (`cratis state unlock`). A holder that is alive (on this host with
 * a running pid, or elsewhere with an unexpired lease) is refused with CRATIS_ELOCKED naming it
 * (hint: --force) unless force; a dead holder's deployment is closed as interrupted. *holder gets
 * the lock as it was: {id, environment, pid, host, user, command, since}. CRATIS_ENOTFOUND when
 * there is no such lock, CRATIS_EIO. */
int app_state_unlock(struct app *a, const char *lock_id, bool force, json_t **holder, struct diags *d);

/* Copy the whole state of a's store (the source: --state, CRATIS_STATE or the default SQLite file)
 * into the store to_url names (`cratis state migrate --to URL`; store_migrate): resources,
 * deployments, steps, artifacts and releases, in one transaction on the target, then read back
 * and compared by row counts and SHA-256 digests. The source is never written. *out (caller
 * decrefs) gets {"from": URL, "to": URL, "tables": [{name, rows, sha256}...], "verified": true}
 * (URLs without passwords). Errors in d: CRATIS_ELOCKED (the source holds a lock), CRATIS_EEXISTS
 * (the target holds cratis data; nothing written), CRATIS_EINVAL (bad target URL, the same store),
 * CRATIS_EIO (a store error, or the copy read back differs). */
int app_state_migrate(struct app *a, const char *to_url, json_t **out, struct diags *d);

/* `cratis explain` over the loaded plugins (APP_LOAD_PLUGINS; APP_LOAD_OFFLINE is enough):
 * query NULL or "": *out is the list of kinds (schema_kinds); else the explanation of
 * "KIND[.FIELD[.SUB]]" (schema_explain, src/model/schema.h, which documents both shapes).
 * Returns CRATIS_OK, or CRATIS_ENOTFOUND for an unknown kind or field (with a "did you mean"
 * hint in d) or a field of a kind whose plugin declares none. */
int app_explain(const struct app *a, const char *query, json_t **out, struct diags *d);
/* ---- outputs, environments, state surgery, state-only destroy (src/app/outputs.c, surgery.c) ---- */

/* The outputs of the open environment (APP_LOAD_MANIFESTS; Project spec.outputs of every
 * project), evaluated over the outputs its resources recorded in state, without a lock or a
 * plugin call: a JSON array in declaration order of {name, project, description (when given),
 * sensitive (declared sensitive: shown as "(sensitive)"), known (false while a referenced
 * resource has recorded no outputs: waiting lists their ids), clear (false when a secret or a
 * sensitive variable went into the value, which is then never computed nor recorded), value (the
 * value when known and clear, else null)}. Secrets are never read. Errors (located at
 * spec.outputs.NAME in d): CRATIS_ENOTFOUND when a recorded resource has no such output key,
 * CRATIS_EINVAL for an invalid expression; CRATIS_EIO on a state read error. */
int app_outputs(struct app *a, json_t **out, struct diags *d);

/* The Environment documents of the manifests under a's paths (a may be opened with
 * APP_LOAD_STATE; no environment need be selected): a JSON array of {name, systems, variables,
 * sensitive} (names only, never values; model_environments). CRATIS_EINVAL when no manifest can
 * be read. */
int app_environments(struct app *a, json_t **out, struct diags *d);

/* The environment a command that needs one acts on, into *out (heap, caller frees): env when
 * given; else the only Environment of the manifests under a's paths. Errors (CRATIS_EINVAL, in d):
 * env is not one of the environments the manifests define (with a did-you-mean hint); no env
 * and several are defined (naming them). When no manifest can be read or none defines an
 * environment: app_state_env (env, else that of the latest deployment). */
int app_pick_env(struct app *a, const char *env, char **out, struct diags *d);

/* Forget recorded resources of environment env (`cratis state rm`): the things themselves stay.
 * addresses (n of them) are "Kind/name" or "project/Kind/name". Under env's lock; one deployment
 * (a->o.command_line) with a "forget" step per resource, each removal committed with its step.
 * Everything is checked before anything changes: an address not recorded (CRATIS_ENOTFOUND, with
 * a did-you-mean hint), recorded in several projects (CRATIS_EINVAL), or pending (CRATIS_EINVAL:
 * an interrupted run; apply first). CRATIS_ELOCKED (holder named), CRATIS_EIO. *removed gets the
 * addresses forgotten as "project/Kind/name" (a JSON array). */
int app_state_rm(struct app *a, const char *env, const char *const *addresses, size_t n, json_t **removed,
                 struct diags *d);
/* Rename recorded resource from to to in environment env without touching it (`cratis state mv`):
 * to is "Kind/name" or "project/Kind/name" of the same project and kind, with a valid name, not
 * recorded yet (CRATIS_EEXISTS). Under env's lock, recorded as a deployment with a "move" step
 * (store_rename: STORE_CHANGE_RENAME). The plugin's directory (STATEDIR/run/ENV/PROJECT/KIND-NAME)
 * moves with the record (a warning in d when it cannot). Other errors as app_state_rm. *moved
 * gets {project, from, to}. */
int app_state_mv(struct app *a, const char *env, const char *from, const char *to, json_t **moved, struct diags *d);

/* Open the project from its state alone (`cratis destroy` when the manifests are gone or
 * invalid): the store and the plugins, a model with no resource that owns every recorded project,
 * for environment o->env (NULL: that of the latest deployment; a->state_only_env). app_apply with
 * destroy then deletes everything recorded for it, calling each plugin with the recorded spec.
 * Errors as app_open with APP_LOAD_PLUGINS, CRATIS_EIO on a state read error. */
int app_open_state_only(struct app **out, const struct app_options *o, struct diags *d);

/* The file the process of a recorded Service, or of a Rollout's release, writes its stdout and
 * stderr to (`cratis logs`; opened with APP_LOAD_STATE is enough: reads the store only, takes no
 * lock). env: the environment (app_state_env's). address: "Service/NAME", "Rollout/NAME" or
 * "PROJECT/Kind/NAME". release (Rollouts only): NULL or "current" (the active release) or
 * "preview". *out: heap path (caller frees; the file may not exist yet). Errors: CRATIS_EINVAL
 * (not a Service or Rollout address, a bad release, a name recorded by several projects),
 * CRATIS_ENOTFOUND (nothing recorded under address, with a "did you mean" hint; a Rollout
 * without such a release), CRATIS_EIO (the store cannot be read). */
int app_log_file(struct app *a, const char *env, const char *address, const char *release, char **out,
                 struct diags *d);

/* `cratis plugin install`: install the .tar.gz at source (a path or an http(s) URL) into the
 * project's .cratis/plugins, or global: the user's plugin directory (plugin_user_dir), as
 * plugin_install (src/plugin/install.h) does, checking sha256 (64 hex digits, or NULL) and the
 * dependencies against the project's plugin path; a project install is recorded in
 * PROJECT/.cratis/plugins.lock (a path source made absolute). Needs only a->project_dir (any
 * app_load). *out (new reference) gets {name, version, sha256, path, replaced (the older version,
 * absent when none), lock (absent for global)}. Returns CRATIS_OK, or plugin_install's status
 * (CRATIS_EINVAL also for a malformed sha256; CRATIS_ENOTFOUND for global without HOME) with
 * every problem in d. */
int app_plugin_install(struct app *a, const char *source, const char *sha256, bool global, json_t **out,
                       struct diags *d);
/* `cratis plugin remove`: remove plugin name from the project's (or, global, the user's) plugin
 * directory and its lock entry. Returns CRATIS_OK, CRATIS_ENOTFOUND when it is not installed
 * there, CRATIS_EIO (in d). */
int app_plugin_remove(struct app *a, const char *name, bool global, struct diags *d);

/* Loaded plugins (APP_LOAD_PLUGINS): a JSON array of {name, version, form ("so", "exec",
 * "core"), path, kinds: ["group/version Kind", ...]}. */
json_t *app_plugins(const struct app *a);

/* Record artifact name/version/digest: {outcome ("new", "same", "replaced"), snapshot,
 * previous (digest replaced, when replaced)}. CRATIS_EINVAL for a version that is not semver or
 * an empty name or digest, CRATIS_EEXISTS when a stable version is already recorded with another
 * digest (named in d), CRATIS_EIO on a state error. */
int app_artifact_record(struct app *a, const char *name, const char *version, const char *digest,
                        json_t **out, struct diags *d);
/* Current artifacts (history: every recorded row) of name (NULL: all), newest first: a JSON
 * array of {name, version, digest, snapshot, current, recorded, user}. */
int app_artifacts(struct app *a, const char *name, bool history, json_t **out, struct diags *d);

/* Rollout actions (`cratis rollout ...`). */
enum app_rollout_action { APP_ROLLOUT_STATUS, APP_ROLLOUT_PROMOTE, APP_ROLLOUT_ABORT, APP_ROLLOUT_ROLLBACK,
                          APP_ROLLOUT_HISTORY };
/* Act on Rollout `name` (NULL: the only one) of the open environment (APP_LOAD_MANIFESTS);
 * steering actions take the environment lock. to names the release of a rollback (NULL: the
 * previous one). *releases gets the rollout's releases afterwards: a JSON array of {release,
 * colour, status, stage, created, updated, port, health ("up", "down", "-"), live, stages (the
 * recorded stage log)}. Errors: CRATIS_ENOTFOUND (no such Rollout, or none applied), CRATIS_EINVAL
 * (several Rollouts and no name), CRATIS_ELOCKED, or the action's status, each in d. */
int app_rollout(struct app *a, enum app_rollout_action action, const char *name, const char *to, bool force,
                json_t **releases, struct diags *d);

/* ---- experiments (`cratis experiment ...`; src/app/experiment.c, docs/experiments.md) ---- */

/* The status of Experiment `name` (NULL: the only one) of the open environment
 * (APP_LOAD_MANIFESTS), from its record; reads only, takes no lock. *out (new reference) gets
 * experiment_status's document (src/experiment/experiment.h): {project, environment, name,
 * status, verdict, winner, control, started, updated, elapsedSeconds, result, history, ...}.
 * Errors in d: CRATIS_ENOTFOUND (no such Experiment in the manifests, not applied, never
 * started), CRATIS_EINVAL (several and no name), CRATIS_EIO. */
int app_experiment_status(struct app *a, const char *name, json_t **out, struct diags *d);
/* The decision loop of Experiment `name` until it concludes (or is decided, with promotion
 * manual) or *cancel becomes non-zero: every interval_ms (at least 100) one tick under the
 * environment's lock (waiting up to the app's lock timeout): the metrics read, decide_tick,
 * the record written with compare-and-set, and at a verdict the winner promoted or the control
 * kept (experiment_tick). A restarted loop resumes from the record. observer (may be NULL) gets
 * a log line per tick and the controller's stages. *out (new reference, NULL before the first
 * tick) gets the status after the last tick. Returns CRATIS_OK (concluded, decided, ended
 * before, or cancelled: see *out's status), CRATIS_ELOCKED, or the tick's error, in d. */
int app_experiment_run(struct app *a, const char *name, int interval_ms, const atomic_int *cancel,
                       const struct engine_observer *observer, json_t **out, struct diags *d);
/* Conclude Experiment `name` by hand, under the environment's lock and recorded as a
 * deployment ("experiment conclude NAME"): promote winner (the control: keep it), or with winner
 * NULL carry out the decided verdict. *out: the status afterwards. Errors (in d):
 * CRATIS_ENOTFOUND, CRATIS_EINVAL (it has ended; no verdict and no winner), CRATIS_ELOCKED, or
 * the promotion's status. */
int app_experiment_conclude(struct app *a, const char *name, const char *winner, json_t **out, struct diags *d);
/* For `cratis serve` and the dashboard, from the store alone (any app_load but APP_LOAD_OFFLINE;
 * no manifests, no lock; reads only): every experiment recorded, ordered by environment, project
 * and name, as a JSON array of {project, environment, name, rollout, status, verdict, winner,
 * control, started, updated} (*out, new reference); and one experiment's status document, as
 * app_experiment_status gives it, by project, environment and name (CRATIS_ENOTFOUND, in d, when
 * none is recorded). CRATIS_EIO on a store error. */
int app_experiments_list(struct app *a, json_t **out, struct diags *d);
int app_experiment_get(struct app *a, const char *project, const char *environment, const char *name, json_t **out,
                       struct diags *d);
/* Abort Experiment `name`: the Route back to the Rollout's live release, the variants stopped,
 * status aborted; under the lock, recorded as a deployment. *out: the status afterwards.
 * Errors as app_experiment_conclude. */
int app_experiment_abort(struct app *a, const char *name, json_t **out, struct diags *d);

/* ---- upkeep between commands (`cratis serve`'s scheduler; src/app/experiment.c) ---- */

/* What environment env of the store needs (any app_load but APP_LOAD_OFFLINE; reads only, no
 * lock, no manifests): *experiments gets the number of experiments recorded in env that are
 * running or concluding (their decision loop has ticks to do); *rollouts is set when a Rollout
 * recorded in env has a previous release whose scaleDownDelaySeconds have passed, or a switch
 * an interrupted run left unsettled. CRATIS_OK, or CRATIS_EIO in d. */
int app_upkeep_due(struct app *a, const char *env, size_t *experiments, bool *rollouts, struct diags *d);
/* One tick (experiment_tick) of every Experiment of the open environment (APP_LOAD_MANIFESTS)
 * whose record is running or concluding, each under the environment's lock taken without
 * waiting: a lock held by another run (an apply, a CLI `cratis experiment run`) skips that
 * experiment until the next call; a record changed by another writer meanwhile is read again
 * (a few times). A verdict concludes the experiment as `cratis experiment run` does (the winner
 * promoted). The app's cancellation word stops hooks and promotions. *ticked (may be NULL) gets
 * the number of ticks done, *skipped (may be NULL) those skipped for the lock. Returns CRATIS_OK
 * or the first tick's error (in d; the other experiments are still ticked). */
int app_experiments_tick(struct app *a, size_t *ticked, size_t *skipped, struct diags *d);
/* Scheduled scale-downs of the open environment (APP_LOAD_MANIFESTS): for each applied Rollout
 * of the manifests whose releases (read without the lock) need upkeep (app_upkeep_due), take
 * the environment's lock without waiting, read them again, and settle an interrupted switch and
 * scale down the previous releases whose scaleDownDelaySeconds have passed (rollout_maintain),
 * recorded as a deployment of its own ("rollout scale-down NAME") only when it did something.
 * *done (may be NULL) gets the number of Rollouts changed. A held lock is not an error: nothing
 * is done and the next call tries again. Returns CRATIS_OK, or CRATIS_EIO / the rollout's
 * status in d. */
int app_rollouts_maintain(struct app *a, size_t *done, struct diags *d);

/* What versioning commands (`version show|check`, `release`) work on: the project's policy
 * (Project.spec.versioning of the manifests under path, defaults otherwise), its version and
 * where it comes from, the git branch, the rule for it and the highest released version. */
struct app_versioning {
	char *dir;                    /* the project directory */
	struct policy policy;
	struct version_source src;
	struct semver version;
	struct repo *repo;
	char *branch;
	const struct branch_rule *rule;
	bool released;
	struct semver latest;
	char *latest_tag;
	struct verdict verdict;
};
/* Load *vi for the project of paths (the first one's directory is the project's). Returns
 * CRATIS_OK, or a status with the problems in d: CRATIS_EIO (unreadable path), CRATIS_EINVAL
 * (invalid manifests or versioning policy, located), or the status of version_read or of the
 * git operations (release/source.h, release/git.h) with their message.
 * Release *vi with app_versioning_release in every case. */
int app_versioning_open(struct app_versioning *vi, const char *const *paths, size_t npaths, struct diags *d);
void app_versioning_release(struct app_versioning *vi);

/* The names a front end offers for completion, read from the manifests under paths (npaths of
 * them; none: the current directory) without opening state, loading plugins or taking a lock,
 * and without creating anything: the environments (Environment metadata.name) into *envs and the
 * resource addresses ("Kind/name" of every document that is not a System, Environment or
 * Project) into *addresses, each once, in manifest order. Best effort: documents that parse are
 * read even when others do not. Returns CRATIS_OK, or CRATIS_EIO when no path can be read. */
int app_names(const char *const *paths, size_t npaths, struct strv *envs, struct strv *addresses);

/* Render the capability resources of the open environment (APP_LOAD_MANIFESTS) into an OpenTofu
 * root module for provider (NULL: the Environment's spec.provider) and, when dir is not NULL,
 * write it there (cap_render, cap_render_write). out is initialised here; release it with
 * render_result_release. Lock-in warnings are in out->warnings; with deny_lock_in they are
 * errors (moved to d) and the function fails with CRATIS_EINVAL without writing. Returns
 * CRATIS_OK, or CRATIS_EINVAL / CRATIS_EIO with the problems in d. (src/app/capability.c) */
int app_render(struct app *a, const char *provider, const char *dir, bool deny_lock_in,
               struct render_result *out, struct diags *d);

/* Lock-in warnings of the open environment (APP_LOAD_MANIFESTS) for provider (NULL: the
 * Environment's spec.provider; when it names none, every provider): each capability resource
 * setting a provider-only option draws a DIAG_WARNING appended to warnings (the text render
 * prints; cap_lock_in). With deny_lock_in they are errors appended to d instead and
 * CRATIS_EINVAL is returned; else CRATIS_OK. (src/app/capability.c) */
int app_lock_in(struct app *a, const char *provider, bool deny_lock_in, struct diags *warnings, struct diags *d);

/* What `cratis cost` is asked. Strings borrowed. */
struct app_cost_options {
	const char *providers;        /* "aws,gcp" (comma-separated), NULL: all three (with diff: the
	                               * Environment's provider, or all three when it names none) */
	const char *usage_file;       /* an Infracost-shaped usage file, or NULL */
	bool diff;                    /* also price the specs state records for the environment */
	bool deny_lock_in;            /* lock-in warnings are errors */
};

/* The estimates of `cratis cost` (src/capability/cost.h), per provider index. */
struct app_cost {
	bool have[CAP_NPROVIDERS];                 /* the provider was priced */
	struct cost_estimate est[CAP_NPROVIDERS];  /* the manifests' capabilities, in id order */
	struct cost_estimate past[CAP_NPROVIDERS]; /* with diff: what state records */
	bool diff;
	char *project, *environment;               /* owned */
	struct diags warnings;                     /* lock-in warnings of every provider priced */
};

/* Price the capability resources of the open environment (APP_LOAD_MANIFESTS) on each provider
 * of o with the plugins' cost models and o's usage file; with o->diff also the specs state
 * records for the environment (resources whose kind is a capability), so the front end can show
 * each resource's monthly delta. out is initialised here (release with app_cost_release, also
 * on error). Errors in d: an unknown provider, an unreadable or malformed usage file (located),
 * a cost model that does not load, a formula that fails (at the cost model's file:line:col),
 * a store that cannot be read, and with deny_lock_in each lock-in warning. Returns CRATIS_OK or
 * CRATIS_EINVAL / CRATIS_EIO / CRATIS_EPLUGIN. */
int app_cost(struct app *a, const struct app_cost_options *o, struct app_cost *out, struct diags *d);
void app_cost_release(struct app_cost *c);
/* The provider index with the lowest monthly cost for resource id (NULL: the lowest total among
 * providers that price every resource), or -1 when no provider prices it. Ties: the first in
 * aws, gcp, azure order. */
int app_cost_cheapest(const struct app_cost *c, const char *id);
/* The ids of c's estimate and past estimate for provider pi, sorted and unique, appended to ids. */
void app_cost_diff(const struct app_cost *c, int pi, struct strv *ids);
/* c as JSON in Infracost's names: {version, currency, environment, project, projects: [one per
 * provider: cost_estimate_json, with diff also pastBreakdown, pastTotalMonthlyCost,
 * diffTotalMonthlyCost, diff: {resources: [{name, pastMonthlyCost, monthlyCost,
 * monthlyCostDelta}], totalMonthlyCost}], comparison: {resources: [{name, monthlyCost:
 * {provider: cost}, cheapestProvider}], totalMonthlyCost: {provider: cost}, cheapestProvider}}.
 * Money is a decimal string (exact micro-units). New reference. */
json_t *app_cost_json(const struct app_cost *c);

/* ---- events (docs/events.md) ---- */

/* Deliver the outbox to the sinks of the manifests' Projects for at most timeout_ms (store
 * clock), leaving the rest pending. *out: [{sink, delivered, dead, skipped, left, disabled,
 * message}] (caller decrefs). CRATIS_OK; CRATIS_EINVAL (invalid sinks, in d); CRATIS_EIO (store). */
int app_events_deliver(struct app *a, int timeout_ms, json_t **out, struct diags *d);
/* The sinks of the manifests with their state: [{sink, type, status, backlog, delivered, dead,
 * last_error?, last_delivered?, reason?}]. Errors as app_events_deliver. */
int app_events_sinks(struct app *a, json_t **out, struct diags *d);
/* Outbox events in the CloudEvents JSON format plus "seq", in seq order: after sequence number
 * since (digits) or from time since (RFC 3339), of type (exact or prefix*), at most limit (0 =
 * all). CRATIS_EIO. */
int app_events_list(struct app *a, const char *since, const char *type, size_t limit, json_t **out, struct diags *d);
/* Deliver again (store_redeliver): event event_id, or the events since a time, to sink (NULL:
 * every sink). *n gets the deliveries reset. CRATIS_EINVAL, CRATIS_EIO. */
int app_events_redeliver(struct app *a, const char *sink, const char *event_id, const char *since, size_t *n,
                         struct diags *d);
/* Enable sink again (after a 410 Gone disabled it). CRATIS_EIO. */
int app_events_enable(struct app *a, const char *sink, struct diags *d);

#endif
