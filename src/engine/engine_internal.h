/* Helpers shared by plan.c and apply.c; not part of the engine's interface. */
#ifndef CRATIS_ENGINE_INTERNAL_H
#define CRATIS_ENGINE_INTERNAL_H

#include "engine.h"
#include "util/map.h"

/* Canonical JSON text (compact, sorted keys); caller frees. NULL for NULL. */
char *json_text(const json_t *v);
/* {"spec":...,"outputs":...} of a recorded row, or NULL when it was never applied (pending_too:
 * then the spec an interrupted first apply was applying, if any); caller frees. */
char *prior_text(const struct state_row *row, bool pending_too);
/* Per-resource directory for plugin files (pidfiles, logs) into *out; not created here, a plugin
 * that keeps files creates it. Caller frees *out. Errors as engine_statedir. */
int item_statedir(char **out, const struct engine_opts *o, const char *env, const char *project, const char *id);
/* Fill the identity and context fields of a request for it: identity, project, environment,
 * the target System, and a deadline of now + o->timeout_ms (none when 0). dry_run stays 0: the
 * plan's callers set it. */
void item_request(struct cratis_request *req, const struct plan_item *it, const char *env,
                  const struct engine_opts *o);
/* The prior document a plugin gets for it's recorded row (prior_text's {"spec","outputs"}) into
 * *prior, and when spec is not NULL the recorded spec alone into *spec (NULL when nothing was
 * revealed: use the row's text): secret and sensitive strings that the manifest still names
 * unchanged carry their values, sealed outputs are opened (and remembered for scrubbing).
 * Values that cannot be revealed (the resource left the manifests, the secret changed) stay
 * redacted. The caller wipes (explicit_bzero) and frees both. Returns CRATIS_OK. */
int plugin_prior(struct plan *p, struct plan_item *it, bool pending_too, char **prior, char **spec);
/* Resolve it's output references into it->desired: at plan time from unchanged dependencies
 * (others become KNOWN_AFTER_APPLY), at apply time from what dependencies produced; it->request
 * gets the same with secret and sensitive values when the spec has any (else NULL). */
int item_resolve(struct plan *p, struct plan_item *it, bool at_apply, struct diags *errors);

/* What a call's {secret: NAME} references resolve through (struct call.secret): the plan's
 * secret store and the spec.secrets of it's project. */
struct secret_ctx {
	struct plan *p;
	struct plan_item *it;
	bool redacted;      /* some string took a secret or sensitive value */
};
/* Set c->secret and c->secret_payload (sc, filled here, must outlive the call) for it. */
void call_use_secrets(struct call *c, struct secret_ctx *sc, struct plan *p, struct plan_item *it);

/* The request for plan item it, a child of a Rollout (it->row->owner set; store_children): a
 * Service/NAME.RELEASE gets the Service handler's apiVersion and kind, name NAME@RELEASE,
 * statedir ROLLOUT_STATEDIR/releases/RELEASE and its recorded spec (also as req->prior's
 * {spec, outputs: {}}, which observe reads); a Route/NAME the Route
 * handler's, name NAME, statedir ROLLOUT_STATEDIR/router and the router spec of its outputs
 * (needed unless it->action is a delete: a Route under an experiment's split has none)
 * (where and how the Rollout runs them: src/rollout/common.c). Identity and System as
 * item_request. *name, *dir and *spec (heap, caller frees; NULL when unused or on error) back
 * req's strings. Returns CRATIS_OK, or CRATIS_EINVAL (not such a child, or a name that cannot
 * make a statedir). */
int child_request(struct cratis_request *req, const struct plan_item *it, const char *env, const struct engine_opts *o,
                  char **name, char **dir, char **spec);

/* ---- -target (plan_target.c), used by plan.c's build ---- */

/* Which resources (keep_res, per model resource) and recorded rows (keep_row, per row) a plan
 * limited to targets covers: for a plan, the targets and what they depend on, and a recorded
 * target that is no longer desired (its delete); for a destroy, the recorded targets and every
 * recorded resource that depends on them. Unknown addresses are errors (CRATIS_ENOTFOUND). */
int select_targets(const struct plan *p, const struct model *m, const struct graph *g, const char *const *targets,
                   size_t ntargets, bool destroy, bool *keep_res, bool *keep_row, struct diags *errors);

/* ---- saved plans (plan_saved.c), used by plan.c's build ---- */

/* The entries of a saved plan's list by project and address. */
struct saved_index {
	struct map map;
	struct strv keys;
};
/* Index list (a saved plan's "resources" or "prior_state": objects with project and address);
 * x starts as { MAP_INIT, STRV_INIT }. Release with saved_index_release. */
void saved_index_init(struct saved_index *x, const json_t *list);
void saved_index_release(struct saved_index *x);
/* Item i of p takes the action, changes, reason and predicted outputs the saved plan recorded for
 * it (res indexes its "resources"); a resource the saved plan does not have with the same kind of
 * action, or whose desired spec resolves differently now (a secret, variable, artifact or output
 * changed), is a "saved plan is stale" error in errors. */
void take_saved_item(struct plan *p, size_t i, const struct saved_index *res, struct diags *errors);
/* The recorded state now against the rows the saved plan saw: each there and unchanged (row
 * digests), none added. Returns CRATIS_OK, or CRATIS_EINVAL with "saved plan is stale" errors. */
int check_saved_state(const struct plan *p, const json_t *saved, struct diags *errors);

#endif
