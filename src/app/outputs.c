/* Application layer: project outputs (Project spec.outputs) evaluated over recorded state, and
 * the environments of a project (`cratis output`, `cratis env list`, picking the environment of
 * state commands). See app.h. */
#define _GNU_SOURCE
#include "app.h"

#include <stdlib.h>
#include <string.h>

#include "manifest/vars.h"
#include "secret/secret.h"
#include "util/buf.h"
#include "util/error.h"
#include "banned.h"

/* What evaluating one output expression found out. */
struct out_eval {
	struct state_rows *rows;
	const char *project;
	bool unknown;           /* a referenced resource has no recorded outputs */
	bool hidden;            /* a secret or a sensitive variable went into the value */
	struct strv missing;    /* ids of referenced resources without outputs */
};

static int out_ref(const char *id, const char *key, json_t **out, bool *sensitive, void *payload)
{
	struct out_eval *e = payload;
	struct state_row *row = store_rows_find(e->rows, e->project, id);
	json_t *outs = row && row->outputs ? json_loads(row->outputs, 0, NULL) : NULL;
	if (!outs) {
		e->unknown = true;
		if (!strv_has(&e->missing, id))
			strv_push(&e->missing, id);
		return CRATIS_OK;
	}
	json_t *v = json_object_get(outs, key);
	int rc = CRATIS_OK;
	if (v && json_is_string(v) && secret_is_sealed(json_string_value(v))) {
		/* a sensitive output is never opened to show an output: the value is hidden */
		*out = json_string("");
		*sensitive = true;
	} else if (v) {
		*out = json_incref(v);
	} else {
		struct buf names = BUF_INIT;
		const char *k;
		json_t *x;
		json_object_foreach(outs, k, x)
			buf_addf(&names, "%s%s", names.len ? ", " : "", k);
		rc = error_set(CRATIS_ENOTFOUND, "%s has no output '%s' (outputs: %s)", id, key, names.len ? names.ptr : "none");
		buf_release(&names);
	}
	json_decref(outs);
	return rc;
}

/* A secret is never read to show an output: the value is marked hidden instead. */
static int out_secret(char **out, const char *name, void *payload)
{
	(void)name;
	struct out_eval *e = payload;
	e->hidden = true;
	*out = xstrdup("");
	return CRATIS_OK;
}

static int out_redact(char **out, const char *value, size_t len, void *payload)
{
	(void)value;
	(void)len;
	struct out_eval *e = payload;
	e->hidden = true;
	*out = xstrdup(SECRET_REDACTED);
	return CRATIS_OK;
}

/* Evaluate expression v of project p into *out (new reference), as the engine does a spec: the
 * load-time pass (variables), then the last pass (outputs of recorded resources). */
static int eval_output(struct app *a, const json_t *v, struct out_eval *e, json_t **out)
{
	*out = NULL;
	if (!json_is_string(v)) {
		*out = json_incref((json_t *)v);
		return CRATIS_OK;
	}
	const struct environment *env = a->model.env;
	struct vars_ctx first = { .variables = env ? env->variables : NULL, .partial = true,
	                          .sensitive = env ? &env->sensitive : NULL, .artifact = a->model.artifact,
	                          .artifact_payload = a->model.artifact_payload };
	json_t *mid = NULL;
	int rc = vars_expand_string(json_string_value(v), &first, &mid);
	if (rc)
		return rc;
	if (!json_is_string(mid)) {
		*out = mid;
		return CRATIS_OK;
	}
	struct vars_ctx last = { .variables = env ? env->variables : NULL, .sensitive = env ? &env->sensitive : NULL,
	                         .ref = out_ref, .payload = e, .secret = out_secret, .secret_payload = e,
	                         .redact = out_redact, .artifact = a->model.artifact,
	                         .artifact_payload = a->model.artifact_payload };
	rc = vars_expand_string(json_string_value(mid), &last, out);
	json_decref(mid);
	return rc;
}

int app_outputs(struct app *a, json_t **out, struct diags *d)
{
	*out = NULL;
	struct state_rows rows;
	if (store_list(a->store, a->model.env_name, NULL, &rows))
		return diags_add_last_error(d);
	json_t *list = json_array();
	int rc = CRATIS_OK;
	for (size_t i = 0; i < a->model.nprojects; i++) {
		const struct project *p = &a->model.projects[i];
		const char *name;
		json_t *o;
		json_object_foreach((json_t *)p->outputs, name, o) {
			json_t *expr = json_is_object(o) ? json_object_get(o, "value") : o;
			bool sensitive = json_is_object(o) && json_is_true(json_object_get(o, "sensitive"));
			const char *desc = json_is_object(o) ? json_string_value(json_object_get(o, "description")) : NULL;
			struct out_eval e = { .rows = &rows, .project = p->name, .missing = STRV_INIT };
			json_t *val = NULL;
			if (eval_output(a, expr, &e, &val)) {
				char *f = xasprintf("spec.outputs.%s", name);
				manifest_error(d, p->doc, f, "%s", cratis_error_last()->message);
				free(f);
				rc = rc ? rc : cratis_error_last()->status;
				strv_release(&e.missing);
				continue;
			}
			bool known = !e.unknown, clear = !e.hidden;
			json_t *item = json_pack("{s:s,s:s,s:b,s:b,s:b}", "name", name, "project", p->name, "sensitive", sensitive,
			                         "known", known, "clear", clear);
			json_object_set_new(item, "value", known && clear && val ? json_incref(val) : json_null());
			if (desc)
				json_object_set_new(item, "description", json_string(desc));
			if (e.missing.n) {
				json_t *m = json_array();
				for (size_t k = 0; k < e.missing.n; k++)
					json_array_append_new(m, json_string(e.missing.v[k]));
				json_object_set_new(item, "waiting", m);
			}
			json_array_append_new(list, item);
			json_decref(val);
			strv_release(&e.missing);
		}
	}
	store_rows_release(&rows);
	if (rc) {
		json_decref(list);
		return rc;
	}
	*out = list;
	return CRATIS_OK;
}

/* The manifests of a's paths for a look at their Environment documents, without a model: a's
 * own set when it was loaded, else one loaded now into *tmp. NULL when none can be read. */
static const struct manifest_set *env_docs(struct app *a, struct manifest_set *tmp)
{
	if (a->ms.n)
		return &a->ms;
	manifest_set_init(tmp);
	tmp->cache_dir = a->git_cache;
	const char *first = a->o.npaths ? a->o.paths[0] : ".";
	for (size_t i = 0; i < a->o.npaths; i++)
		manifest_load_path(tmp, a->o.paths[i]);
	if (!a->o.npaths)
		manifest_load_path(tmp, first);
	error_clear();
	return tmp->n ? tmp : NULL;
}

int app_environments(struct app *a, json_t **out, struct diags *d)
{
	struct manifest_set tmp;
	memset(&tmp, 0, sizeof(tmp));
	*out = NULL;
	const struct manifest_set *ms = env_docs(a, &tmp);
	if (!ms) {
		diags_errorf(d, CRATIS_EINVAL, "no manifests found in %s (expected *.yaml or *.yml files)",
		             a->o.npaths ? a->o.paths[0] : ".");
		manifest_set_release(&tmp);
		return CRATIS_EINVAL;
	}
	*out = model_environments(ms);
	manifest_set_release(&tmp);
	return CRATIS_OK;
}

int app_pick_env(struct app *a, const char *env, char **out, struct diags *d)
{
	*out = NULL;
	struct manifest_set tmp;
	memset(&tmp, 0, sizeof(tmp));
	const struct manifest_set *ms = env_docs(a, &tmp);
	json_t *envs = ms ? model_environments(ms) : json_array();
	manifest_set_release(&tmp);
	size_t n = json_array_size(envs);
	const char **names = xcalloc(n + 1, sizeof(*names));
	struct buf list = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		names[i] = json_string_value(json_object_get(json_array_get(envs, i), "name"));
		buf_addf(&list, "%s%s", i ? ", " : "", names[i]);
	}
	int rc = CRATIS_OK;
	if (env && n) {
		bool known = false;
		for (size_t i = 0; i < n; i++)
			known |= !strcmp(names[i], env);
		if (known) {
			*out = xstrdup(env);
		} else {
			rc = CRATIS_EINVAL;
			struct diag *dg = diags_errorf(d, rc, "--env: unknown environment '%s' (defined: %s)", env, list.ptr);
			const char *best = model_suggest(env, names, n);
			if (best)
				diag_hint(dg, "did you mean '%s'?", best);
		}
	} else if (!env && n > 1) {
		rc = CRATIS_EINVAL;
		diags_errorf(d, rc, "--env: several environments are defined (%s); choose one with --env NAME", list.ptr);
	} else if (!env && n == 1) {
		*out = xstrdup(names[0]);
	} else {
		/* no manifests to ask (or none defines an environment): as before */
		rc = app_state_env(a, env, out, d);
	}
	buf_release(&list);
	free(names);
	json_decref(envs);
	return rc;
}
