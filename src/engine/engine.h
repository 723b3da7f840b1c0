/* Engine: plan (diff desired resources against recorded state) and apply/destroy (execute a plan
 * as a dependency graph with bounded parallelism, recording every step). */
#ifndef CRATIS_ENGINE_H
#define CRATIS_ENGINE_H

#include <stdatomic.h>
#include <signal.h>
#include <jansson.h>
#include <stdbool.h>

#include "engine/graph.h"
#include "engine/observer.h"
#include "model/model.h"
#include "plugin/registry.h"
#include "state/store.h"
#include "util/buf.h"
#include "util/util.h"

/* Text shown in a plan for an output that another resource will produce during apply. */
#define KNOWN_AFTER_APPLY "(known after apply)"

struct plan_item {
	enum action action;
	struct resource *res;       /* desired resource; NULL for a delete */
	struct state_row *row;      /* recorded row, or NULL */
	struct handler *handler;
	char *id, *project;         /* "Kind/name" and its project */
	json_t *desired;            /* spec with outputs resolved as far as known (NULL for delete);
	                             * a string that took a secret or sensitive value is redacted
	                             * ("(sensitive) hmac-sha256:..."): what is recorded and shown */
	json_t *request;            /* desired with those values, sent to the plugin only; NULL
	                             * when it has none */
	struct strv changes;        /* changed field paths ("spec.content") */
	char *reason;               /* why, when not a spec change ("drift: ...", "interrupted") */
	json_t *outputs;            /* outputs known so far: recorded (parsed only when a resource
	                             * with references depends on it), then those of this apply */
	json_t *predicted;          /* outputs known before apply, from the plugin's plan reply
	                             * ("outputs", docs/plugins.md) for an update or replace; NULL */
	bool from_prediction;       /* its spec was resolved from a predicted output (or from a
	                             * resource itself so resolved): re-resolved at apply, where a
	                             * no-op whose inputs came back different becomes an update */
	char kind_buf[128];         /* kind of a delete item (from its id) */
	size_t *deps, ndeps, adeps; /* plan items to finish first */
	char *system, *system_type; /* the target System's name and type (NULL when none) */
	char *system_spec;          /* its spec as JSON text (NULL when none) */
};

struct plan {
	struct plan_item *items;
	size_t n;
	struct state_rows rows;
	size_t count[5];            /* per enum action */
	const char *environment;
	const struct model *model;  /* what was planned (secrets, sensitive variables) */
	struct secret_store *secrets; /* values read for this plan and its apply (owned) */
	struct strv targets;        /* -target addresses this plan is limited to (empty: all) */
	bool destroy;               /* planned as a destroy */
};

struct engine_opts {
	const char *workdir;        /* absolute project directory */
	const char *statedir;       /* absolute .cratis directory */
	const char *secret_key_file; /* key of secret hashes and sealed outputs; NULL:
	                             * statedir/secret.key (secret_store_new) */
	bool refresh;               /* observe unchanged resources for drift (default true) */
	bool destroy;               /* plan the removal of everything recorded */
	int jobs;                   /* parallel plugin calls of plan and apply (>= 1) */
	int timeout_ms;             /* per plugin call; 0 = none */
	const struct engine_observer *observer; /* progress, or NULL */
	const atomic_int *cancel; /* when it becomes non-zero: start nothing new, stop running
	                             * subprocesses (SIGTERM, then SIGKILL after grace_ms) */
	int grace_ms;               /* how long cancelled subprocesses get to exit (default 10 s) */
	const char *const *targets; /* -target addresses ("Kind/name" or "project/Kind/name"): plan
	                             * only these and what they depend on (destroy: these and what
	                             * depends on them); NULL or ntargets 0 = everything */
	size_t ntargets;
};

void plan_release(struct plan *p);

/* The directory a resource's plugin keeps its files in, into *out: STATEDIR/run/ENV/PROJECT/KIND-NAME
 * (ENV "_" when none; id is KIND/NAME); not created. Every name must be one path segment, so the
 * path stays under STATEDIR/run (the model's name rule already ensures it; this also covers
 * names read back from the state store). Caller frees *out.
 * Returns CRATIS_OK, or CRATIS_EINVAL (*out NULL, last error naming the name) when env, project
 * or the KIND-NAME segment is empty, ".", ".." or contains '/'. */
int engine_statedir(char **out, const char *statedir, const char *env, const char *project, const char *id);

/* Build the plan for model m (its selected environment) against store s. Calls each handler's
 * validate, then plan or a generic spec diff, then observe for unchanged resources when
 * opts->refresh; the plugin calls run on up to opts->jobs threads, each resource decided after
 * the ones it depends on (the result does not depend on opts->jobs). Caps the process pool of
 * every exec plugin of reg at opts->jobs (registry_set_exec_procs) for this plan and the apply
 * that follows. Errors (cycles, validation, plugin failures) are appended to errors with their
 * file:line:col; returns CRATIS_OK or the first error's status. */
int plan_build(struct plan *p, struct model *m, struct store *s, struct registry *reg,
               const struct engine_opts *opts, struct diags *errors);

/* Offline checks of model m (`cratis validate`): no dependency cycle (error located at the
 * first resource of the cycle), every System's spec.auth made of credential references, and the
 * validate op of every resource's handler (dry_run 1, on up to opts->jobs threads, with the
 * spec as the model holds it). Nothing else is called and no state is read; opts->statedir may
 * be NULL. Problems are appended to errors with their file:line:col; returns CRATIS_OK,
 * CRATIS_ECYCLE, or CRATIS_EINVAL when a check failed. */
int plan_validate(struct model *m, struct registry *reg, const struct engine_opts *opts, struct diags *errors);

/* The plan as JSON (documented in docs/plan-format.md): {format_version, cratis_version,
 * environment, targets?, resources: [{id, project, action, changes, reason?}], resource_changes:
 * [{address, project, type, name, action, change: {actions, before, after, after_unknown,
 * before_sensitive, after_sensitive}}], summary}. Sensitive values appear as "(sensitive)",
 * unknown ones as null with after_unknown true. Caller owns the result. */
json_t *plan_to_json(const struct plan *p);
bool plan_has_changes(const struct plan *p);

/* Version of the JSON plan (plan_to_json) and of the saved plan file (plan_to_saved). */
#define PLAN_FORMAT_VERSION "1.0"

/* ---- values in plans ---- */

enum value_op { VALUE_ADD, VALUE_REMOVE, VALUE_CHANGE };

/* One changed value between a recorded and a desired spec. */
struct value_diff {
	enum value_op op;
	char *path;                 /* "spec.port", "spec.env.FOO", "spec.args[1]", "spec[\"a.b\"]" */
	char *before, *after;       /* shown form: JSON text ("8080", "\"x\""), "(sensitive)" or
	                             * "(known after apply)"; NULL for an added / removed value */
	char *lines;                /* multi-line text on either side: a unified diff of its lines
	                             * ("@@ -1,2 +1,2 @@\n a\n-b\n+c\n"), else NULL */
};

struct value_diffs {
	struct value_diff *v;
	size_t n, alloc;
};
#define VALUE_DIFFS_INIT { NULL, 0, 0 }

/* Append to out every value that differs between before and after (either may be NULL: all
 * added / removed), under path root ("spec"): objects key by key, arrays index by index (extra
 * elements added or removed), anything else as one value. Strings that are redacted
 * (SECRET_REDACTED...) show as "(sensitive)", strings holding KNOWN_AFTER_APPLY as
 * "(known after apply)". Ownership of every string stays with out. */
void plan_values_diff(struct value_diffs *out, const json_t *before, const json_t *after, const char *root);
/* The changed values of an update or replace item (recorded spec against desired); nothing for
 * create, delete and no-op. */
void plan_item_values(struct value_diffs *out, const struct plan_item *it);
void value_diffs_release(struct value_diffs *d);

/* Append to out a unified diff (3 lines of context, "@@ -a,b +c,d @@" hunks, lines prefixed ' ',
 * '-' or '+', each ending in a newline) of the lines of a and b. Nothing when their lines are
 * equal. Inputs larger than 4 million line pairs are shown as every line removed then added. */
void plan_text_diff(struct buf *out, const char *a, const char *b);

/* The change of item it as JSON (Terraform's resource_changes[].change): {actions ("no-op",
 * "create", "update", "delete" + "create" for a replace, "delete"), before, after,
 * after_unknown, before_sensitive, after_sensitive}. Caller owns the result. */
json_t *plan_item_change(const struct plan_item *it);

/* ---- saved plans ---- */

/* The engine's part of a saved plan (docs/plan-format.md): {destroy, targets, resources:
 * [{address, project, action, changes, reason?, spec (desired, redacted; null for a delete)}],
 * prior_state: [{address, project, status, updated, deployment, digest}] (every recorded row the
 * plan saw)}. No secret value is in it. Caller owns the result. */
json_t *plan_to_saved(const struct plan *p);

/* Rebuild the plan that saved (plan_to_saved) describes for model m against store s, without
 * re-planning: no validate, plan or observe calls. The targets and destroy flag come from saved
 * (those of o are ignored). Refused with CRATIS_EINVAL and a diagnostic that
 * starts "saved plan is stale: " when the state differs from what the plan saw (a row added,
 * removed or changed), when the resources to act on differ, or when a desired spec resolves
 * differently now (a secret's hash, a variable or an artifact changed); CRATIS_EINVAL for a
 * malformed saved plan, CRATIS_EIO on a state read error. */
int plan_build_saved(struct plan *p, struct model *m, struct store *s, struct registry *reg,
                     const struct engine_opts *o, const json_t *saved, struct diags *errors);



/* Record the start of deployment d (project, environment, command, user, host, started and
 * inputs filled by the caller; d->id set here) and its dev.cratis.deployment.started event in one
 * transaction (docs/events.md). Every run that records a deployment (apply, destroy, the rollout
 * actions, state surgery) begins it here. Returns CRATIS_OK; CRATIS_EIO when the store fails
 * (nothing written). */
int engine_deployment_begin(struct store *s, struct deployment *d);
/* Record d's result (finished, result, summary set by the caller) and its
 * dev.cratis.deployment.finished event in one transaction; counts (may be NULL) are the event's
 * counts, else its data carries d->summary. Returns CRATIS_OK; CRATIS_EIO. */
int engine_deployment_finish(struct store *s, struct deployment *d, const struct apply_result *counts);

/* Execute p: each item as soon as its dependencies succeeded, at most opts->jobs at a time; a
 * failure skips its dependents while independent work goes on. Every item is marked pending,
 * called and recorded in its own transactions, inside a deployment record named command that
 * keeps inputs (JSON of the variables and artifacts deployed, or NULL) for promotion.
 * Returns CRATIS_OK when everything succeeded, CRATIS_ERROR otherwise (counts in *res). */
int plan_apply(struct plan *p, struct store *s, const struct engine_opts *opts, const char *command,
               const char *project, const char *inputs, struct apply_result *res);

#endif
