/* Releases, inside src/rollout: what the handler (rollout.c), the hooks (hooks.c), the switches
 * between releases (switch.c) and the shared helpers (common.c) give each other. Not for use
 * outside src/rollout (the public interface is rollout.h). */
#ifndef CRATIS_ROLLOUT_INTERNAL_H
#define CRATIS_ROLLOUT_INTERNAL_H

#include "rollout.h"

/* One operation on one rollout. */
struct rop {
	struct rollout_env *env;
	const char *project, *environment, *name, *workdir, *statedir;
	json_t *spec;              /* the Rollout spec */
	struct releases rels;      /* newest first */
	const struct cratis_request *parent; /* the Rollout's own request (its System, deadline), or
	                                      * NULL for `cratis rollout` actions */
};

/* Spec fields: the string at k (borrowed) or def; the integer at k, also given as a string of
 * digits (clamped to int), or def. */
const char *ro_sget(json_t *o, const char *k, const char *def);
int ro_iget(json_t *o, const char *k, int def);
/* seconds as milliseconds, clamped to 1 s .. 24 h. */
int ro_seconds_ms(int seconds);

/* The newest release of o with status (borrowed), or the one with id; NULL when none. */
struct release *ro_find(struct rop *o, const char *status);
struct release *ro_find_id(struct rop *o, const char *id);
/* Replace the heap string *field by a copy of v (v may be *field itself; NULL clears). */
void ro_set_str(char **field, const char *v);

/* Append {stage, result, output, at} to r's log, set r's stage and emit the stage to the
 * observer, without saving (ro_save writes). */
void ro_note(struct rop *o, struct release *r, const char *stage, const char *result, const char *output);
/* Write the n releases of v (pointers into o->rels) in one transaction. Returns CRATIS_OK or
 * CRATIS_EIO (logged as a warning too; nothing written). */
int ro_save(struct rop *o, struct release *const *v, size_t n);
/* ro_note then ro_save of r alone. */
void ro_record(struct rop *o, struct release *r, const char *stage, const char *result, const char *output);

/* "http://127.0.0.1:PORT/" (heap), or "" for port 0. */
char *ro_url_of(int port);

/* Call op of the group/kind handler (Service, Route) with spec in statedir dir (created); *out
 * (or NULL) receives the handler's JSON answer. Returns the handler's status, CRATIS_ENOTFOUND
 * when the plugin is not loaded. */
int ro_call_handler(struct rop *o, const char *group, const char *kind, enum op op, const char *name,
                    const char *dir, const char *spec, json_t **out);
/* STATEDIR/releases/ID (heap). */
char *ro_release_dir(struct rop *o, const struct release *r);
/* Apply or destroy r's Service (its process). Status of the Service handler. */
int ro_service(struct rop *o, enum op op, struct release *r);
/* True when r's process runs and is what listens on r's port (the Service's own check). *why
 * (heap, or NULL) says what is wrong otherwise. */
bool ro_release_owns_port(struct rop *o, struct release *r, char **why);
/* Point the router: active traffic to port active (0: nothing live yet), preview to preview. */
int ro_route(struct rop *o, int active, int preview);
int ro_route_destroy(struct rop *o);
/* spec.releasePorts as [*lo, *hi] (default 30000-32767); false when it is not LO-HI. */
bool ro_port_range(json_t *spec, int *lo, int *hi);
/* The port allocator: a port for the new release r from spec.releasePorts that no release
 * recorded in the store holds and nothing listens on, handed out by the store in one
 * transaction that records r with it (store_release_allocate). CRATIS_OK with r->port set, or
 * CRATIS_EINVAL (bad range), CRATIS_ENOTFOUND (none left), CRATIS_EIO. */
int ro_allocate_port(struct rop *o, struct release *r);
/* The Service spec (heap JSON) of a release from the template, listening on port. */
char *ro_service_spec(json_t *tmpl, int port);
/* The identity of what a release runs, 8 hex digits + NUL into out: the template with the
 * recorded spec and outputs of every resource the Rollout depends on (its dependsOn, as the
 * store recorded them for the Rollout, hook Tasks left out), so that a change reaching the
 * release only through a Task's output or a File's content is a new release. Returns CRATIS_OK
 * or the store's status (CRATIS_EIO). */
int ro_release_hash(struct rop *o, json_t *tmpl, char out[9]);
/* False when id is one of the Rollout's hook Tasks (it runs at a stage; not an input). */
bool ro_input_dep(json_t *spec, const char *id);
/* Whether r was made from the identity hash, or won an Experiment run over it (its log says
 * "... serves in place of the Rollout's template HASH", written by src/experiment when it
 * promotes a variant): the winner stays live until the Rollout's template changes. */
bool ro_same_template(const struct release *r, const char *hash);

/* Load o for target t (spec parsed, releases read); ro_op_release frees (also after a failure). */
int ro_op_load(struct rop *o, struct rollout_env *env, const struct rollout_target *t);
void ro_op_release(struct rop *o);

/* Run the hooks of stage for r; CRATIS_OK, or CRATIS_ERROR with the failure in the last error. */
int ro_run_hooks(struct rop *o, struct release *r, const char *stage);

/* Switches (switch.c). */
void ro_retire(struct rop *o, struct release *r, const char *why);
void ro_scale_down(struct rop *o);
void ro_teardown(struct rop *o, struct release *r, const struct release *active, const char *status);
void ro_restore(struct rop *o, struct release *old);
int ro_promote(struct rop *o, struct release *r, struct release *stopped);
/* True when a switch was interrupted (a release is promoting, retiring or failing). */
bool ro_unsettled(const struct rop *o);
/* Finish an interrupted switch (see switch.c); writes, so only under the environment's lock. */
void ro_settle(struct rop *o);

#endif
