/* Application layer: read-only queries of a project and its state (cratis get, history, state
 * list|show|unlock, explain, plugin list, artifacts); see app.h. */
#define _GNU_SOURCE
#include "app.h"
#include "app_internal.h"
#include "model/schema.h"

#include <stdlib.h>
#include <string.h>

#include "secret/secret.h"
#include "util/error.h"
#include "banned.h"

static bool own_project(const struct state_row *r, void *payload)
{
	return model_owns_project(payload, r->project);
}

int app_resources(struct app *a, json_t **out, struct diags *d)
{
	struct state_rows rows = { 0 };
	*out = NULL;
	if (store_list(a->store, a->model.env_name, NULL, &rows))
		return diags_add_last_error(d);
	store_rows_keep(&rows, own_project, &a->model);
	json_t *list = json_array();
	for (size_t i = 0; i < a->model.nresources; i++) {
		struct resource *r = a->model.resources[i];
		struct state_row *row = store_rows_find(&rows, r->project, r->id);
		json_t *outputs = row && row->outputs ? json_loads(row->outputs, 0, NULL) : NULL;
		if (outputs) {
			/* sealed sensitive outputs show as their redacted form */
			json_t *pub = secret_public(outputs);
			json_decref(outputs);
			outputs = pub;
		}
		json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "id", r->id, "project", r->project,
		                                      "apiVersion", r->api_version, "status", row ? row->status : "absent",
		                                      "updated", row && row->updated ? row->updated : "",
		                                      "outputs", outputs ? outputs : json_object()));
	}
	for (size_t i = 0; i < rows.n; i++) {
		struct state_row *c = &rows.v[i];
		if (c->owner) {
			/* a child of a Rollout (a release's Service, its Route): shown with its owner */
			json_t *outputs = c->outputs ? json_loads(c->outputs, 0, NULL) : NULL;
			json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:s}", "id", c->id, "project", c->project,
			                                      "apiVersion", c->api_version, "status", c->status, "updated",
			                                      or_empty(c->updated), "outputs", outputs ? outputs : json_object(),
			                                      "owner", c->owner));
		} else if (!model_find(&a->model, c->project, c->id)) {
			json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "id", c->id, "project", c->project,
			                                      "apiVersion", c->api_version, "status", "orphaned (not in manifests)",
			                                      "updated", or_empty(c->updated), "outputs", json_object()));
		}
	}
	store_rows_release(&rows);
	*out = list;
	return CRATIS_OK;
}

int app_history(struct app *a, const char *env, json_t **out, struct diags *d)
{
	struct deployments dep;
	*out = NULL;
	if (store_history(a->store, env, 0, &dep))
		return diags_add_last_error(d);
	json_t *arr = json_array();
	for (size_t i = 0; i < dep.n; i++) {
		json_t *row = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id", (json_int_t)dep.v[i].id,
		                        "environment", or_empty(dep.v[i].environment), "command", or_empty(dep.v[i].command),
		                        "user", or_empty(dep.v[i].user), "host", or_empty(dep.v[i].host),
		                        "started", or_empty(dep.v[i].started), "finished", or_empty(dep.v[i].finished),
		                        "result", or_empty(dep.v[i].result), "summary", or_empty(dep.v[i].summary));
		/* the git commits its manifests came from (docs/locations.md), when any */
		json_t *in = dep.v[i].inputs ? json_loads(dep.v[i].inputs, 0, NULL) : NULL;
		if (json_array_size(json_object_get(in, "sources")))
			json_object_set(row, "sources", json_object_get(in, "sources"));
		json_decref(in);
		json_array_append_new(arr, row);
	}
	store_deployments_release(&dep);
	*out = arr;
	return CRATIS_OK;
}

int app_deployment_steps(struct app *a, int64_t id, json_t **out, struct diags *d)
{
	struct steps st;
	*out = NULL;
	if (store_steps(a->store, id, &st))
		return diags_add_last_error(d);
	if (!st.n) {
		/* no steps: a deployment that changed nothing, or none with that id */
		struct deployments dep;
		if (store_history(a->store, NULL, 0, &dep)) {
			store_steps_release(&st);
			return diags_add_last_error(d);
		}
		bool found = false;
		int64_t last = 0;
		for (size_t i = 0; i < dep.n; i++) {
			found |= dep.v[i].id == id;
			if (dep.v[i].id > last)
				last = dep.v[i].id;
		}
		store_deployments_release(&dep);
		if (!found) {
			store_steps_release(&st);
			struct diag *dg = diags_errorf(d, CRATIS_ENOTFOUND, "no deployment %lld recorded", (long long)id);
			if (last)
				diag_hint(dg, "the latest deployment is %lld; `cratis history` lists them", (long long)last);
			else
				diag_hint(dg, "nothing has been deployed yet");
			return CRATIS_ENOTFOUND;
		}
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < st.n; i++)
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "resource", st.v[i].resource,
		                                     "action", or_empty(st.v[i].action), "result", or_empty(st.v[i].result),
		                                     "message", or_empty(st.v[i].message), "started", or_empty(st.v[i].started),
		                                     "finished", or_empty(st.v[i].finished)));
	store_steps_release(&st);
	*out = arr;
	return CRATIS_OK;
}

int app_state_env(struct app *a, const char *env, char **out, struct diags *d)
{
	*out = NULL;
	if (env) {
		*out = xstrdup(env);
		return CRATIS_OK;
	}
	struct deployments dep;
	if (store_history(a->store, NULL, 1, &dep))
		return diags_add_last_error(d);
	*out = xstrdup(dep.n && dep.v[0].environment ? dep.v[0].environment : "");
	store_deployments_release(&dep);
	return CRATIS_OK;
}

int app_state_list(struct app *a, const char *env, json_t **rows_out, json_t **locks_out, struct diags *d)
{
	struct state_rows rows;
	struct lock_info *locks = NULL;
	size_t nlocks = 0;
	*rows_out = *locks_out = NULL;
	if (store_list(a->store, env, NULL, &rows))
		return diags_add_last_error(d);
	if (store_locks(a->store, &locks, &nlocks)) {
		store_rows_release(&rows);
		return diags_add_last_error(d);
	}
	json_t *r = json_array(), *l = json_array();
	for (size_t i = 0; i < rows.n; i++)
	{
		json_t *e = json_pack("{s:s,s:s,s:s,s:s}", "id", rows.v[i].id, "project", rows.v[i].project,
		                      "status", rows.v[i].status, "updated", or_empty(rows.v[i].updated));
		if (rows.v[i].owner)
			json_object_set_new(e, "owner", json_string(rows.v[i].owner));
		json_array_append_new(r, e);
	}
	for (size_t i = 0; i < nlocks; i++)
		json_array_append_new(l, json_pack("{s:s,s:s,s:I,s:s,s:s,s:s,s:s}", "id", locks[i].id, "environment",
		                                   locks[i].environment, "pid", (json_int_t)locks[i].pid, "host", locks[i].host,
		                                   "user", locks[i].user, "command", locks[i].command, "since", locks[i].since));
	free(locks);
	store_rows_release(&rows);
	*rows_out = r;
	*locks_out = l;
	return CRATIS_OK;
}

int app_state_show(struct app *a, const char *env, const char *address, json_t **out, struct diags *d)
{
	struct state_rows rows;
	*out = NULL;
	if (store_list(a->store, env, NULL, &rows))
		return diags_add_last_error(d);
	struct state_row *r = NULL;
	for (size_t i = 0; i < rows.n && !r; i++) {
		char *full = xasprintf("%s/%s", rows.v[i].project, rows.v[i].id);
		if (!strcmp(rows.v[i].id, address) || !strcmp(full, address))
			r = &rows.v[i];
		free(full);
	}
	int rc = CRATIS_OK;
	if (!r) {
		rc = CRATIS_ENOTFOUND;
		struct diag *dg = diags_errorf(d, rc, "no resource '%s' recorded in environment '%s'", address, env);
		const char **cands = xcalloc(rows.n + 1, sizeof(*cands));
		for (size_t i = 0; i < rows.n; i++)
			cands[i] = rows.v[i].id;
		const char *best = model_suggest(address, cands, rows.n);
		if (best)
			diag_hint(dg, "did you mean '%s'?", best);
		else
			diag_hint(dg, "`cratis state list --env %s` lists what is recorded", env);
		free(cands);
	} else {
		json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "id", r->id, "project", r->project, "environment",
		                      or_empty(r->environment), "apiVersion", r->api_version, "status", r->status,
		                      "updated", or_empty(r->updated), "deployment", (json_int_t)r->deployment);
		json_t *spec = r->spec ? json_loads(r->spec, 0, NULL) : NULL;
		json_t *outputs = r->outputs ? json_loads(r->outputs, 0, NULL) : NULL;
		if (outputs) {
			json_t *pub = secret_public(outputs);
			json_decref(outputs);
			outputs = pub;
		}
		if (r->owner)
			json_object_set_new(o, "owner", json_string(r->owner));
		json_object_set_new(o, "spec", spec ? spec : json_null());
		json_object_set_new(o, "outputs", outputs ? outputs : json_null());
		if (r->message)
			json_object_set_new(o, "message", json_string(r->message));
		*out = o;
	}
	store_rows_release(&rows);
	return rc;
}

int app_state_unlock(struct app *a, const char *lock_id, bool force, json_t **holder, struct diags *d)
{
	struct lock_info h;
	*holder = NULL;
	int rc = store_lock_break(a->store, lock_id, force, &h);
	if (rc) {
		struct diag *dg = diags_errorf(d, rc, "%s", cratis_error_last()->message);
		if (rc == CRATIS_ELOCKED)
			diag_hint(dg, "pass --force to release it anyway");
		return rc;
	}
	*holder = json_pack("{s:s,s:s,s:I,s:s,s:s,s:s,s:s}", "id", h.id, "environment", h.environment, "pid", (json_int_t)h.pid,
	                    "host", h.host, "user", h.user, "command", h.command, "since", h.since);
	return CRATIS_OK;
}

int app_explain(const struct app *a, const char *query, json_t **out, struct diags *d)
{
	if (!query || !*query) {
		*out = schema_kinds(&a->reg);
		return CRATIS_OK;
	}
	return schema_explain(out, &a->reg, query, d);
}

json_t *app_plugins(const struct app *a)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < a->reg.nplugins; i++) {
		const struct plugin *p = a->reg.plugins[i];
		json_t *kinds = json_array();
		bool schema = true;  /* every kind declares its fields (the core's are built in) */
		for (size_t k = 0; k < a->reg.nhandlers; k++) {
			const struct handler *h = a->reg.handlers[k];
			if (h->plugin != p)
				continue;
			schema &= h->has_schema || p->form == PLUGIN_CORE;
			for (size_t v = 0; v < h->versions.n; v++) {
				char *kv = xasprintf("%s/%s %s", h->group, h->versions.v[v], h->kind);
				json_array_append_new(kinds, json_string(kv));
				free(kv);
			}
		}
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:o,s:b}", "name", p->name, "version", or_empty(p->version),
		                                     "form", p->form == PLUGIN_SO ? "so" : p->form == PLUGIN_EXEC ? "exec" : "core",
		                                     "path", p->path, "kinds", kinds, "schema", schema));
	}
	return arr;
}

int app_artifact_record(struct app *a, const char *name, const char *version, const char *digest,
                        json_t **out, struct diags *d)
{
	*out = NULL;
	struct semver v;
	if (semver_parse(&v, version)) {
		diags_errorf(d, CRATIS_EINVAL, "artifact record: VERSION: %s", cratis_error_last()->message);
		return CRATIS_EINVAL;
	}
	bool snapshot = semver_is_snapshot(&v);
	semver_release(&v);
	if (!*name || !*digest) {
		diags_errorf(d, CRATIS_EINVAL, "artifact record: NAME and DIGEST must not be empty");
		return CRATIS_EINVAL;
	}
	struct artifact art = { .name = (char *)name, .version = (char *)version, .digest = (char *)digest,
	                        .snapshot = snapshot, .user = (char *)user_name() };
	enum artifact_outcome outcome;
	struct artifact old;
	memset(&old, 0, sizeof(old));
	int rc = store_artifact_record(a->store, &art, &outcome, &old);
	if (rc) {
		diags_add_last_error(d);
	} else {
		static const char *const names[] = { "new", "same", "replaced" };
		*out = json_pack("{s:s,s:b}", "outcome", names[outcome], "snapshot", snapshot);
		if (outcome == ARTIFACT_REPLACED && old.digest)
			json_object_set_new(*out, "previous", json_string(old.digest));
	}
	artifact_release(&old);
	return rc;
}

int app_artifacts(struct app *a, const char *name, bool history, json_t **out, struct diags *d)
{
	struct artifacts arts;
	*out = NULL;
	if (store_artifacts(a->store, name, history, &arts))
		return diags_add_last_error(d);
	json_t *arr = json_array();
	for (size_t i = 0; i < arts.n; i++)
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:b,s:b,s:s,s:s}", "name", arts.v[i].name, "version",
		                                     arts.v[i].version, "digest", arts.v[i].digest, "snapshot", arts.v[i].snapshot,
		                                     "current", arts.v[i].current, "recorded", or_empty(arts.v[i].recorded),
		                                     "user", or_empty(arts.v[i].user)));
	store_artifacts_release(&arts);
	*out = arr;
	return CRATIS_OK;
}

