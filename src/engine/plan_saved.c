/* Saved plans (`cratis plan -out FILE`, `cratis apply FILE`): writing a plan, checking that it is
 * not stale, and taking its items back (see engine.h, docs/plan-format.md). */
#define _GNU_SOURCE
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "secret/secret.h"
#include "util/buf.h"
#include "util/error.h"
#include "banned.h"

/* The digest of a recorded row as a saved plan compares it: every field an apply reads or
 * writes (status, specs, outputs, dependencies, deployment, updated stamp). Returns CRATIS_OK,
 * or the status of secret_sha256_hex (out is then ""). */
static int row_digest(char out[65], const struct state_row *r)
{
	struct buf b = BUF_INIT;
	const char *f[] = { r->api_version, r->status, r->updated, r->spec, r->pending_spec, r->outputs, r->deps, r->message };
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (f[i])
			buf_add(&b, f[i], strlen(f[i]) + 1);
		else
			buf_adds(&b, "\x01null");
		buf_addch(&b, '\x1f');
	}
	buf_addf(&b, "%lld", (long long)r->deployment);
	int rc = secret_sha256_hex(out, b.ptr, b.len);
	if (rc)
		out[0] = '\0';
	buf_release(&b);
	return rc;
}

static const char *jstr(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? v : "";
}

void saved_index_init(struct saved_index *x, const json_t *list)
{
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e) {
		char *key = xasprintf("%s:%s", jstr(e, "project"), jstr(e, "address"));
		strv_push_owned(&x->keys, key);
		map_put(&x->map, key, e);
	}
}

void saved_index_release(struct saved_index *x)
{
	map_release(&x->map);
	strv_release(&x->keys);
}

static const json_t *saved_entry(const struct saved_index *x, const char *project, const char *id)
{
	return map_get_pair(&x->map, project, id);
}

json_t *plan_to_saved(const struct plan *p)
{
	json_t *res = json_array(), *prior = json_array(), *targets = json_array();
	for (size_t i = 0; i < p->n; i++) {
		const struct plan_item *it = &p->items[i];
		json_t *ch = json_array();
		for (size_t k = 0; k < it->changes.n; k++)
			json_array_append_new(ch, json_string(it->changes.v[k]));
		json_t *e = json_pack("{s:s,s:s,s:s,s:o,s:O}", "address", it->id, "project", it->project, "action",
		                      action_names[it->action], "changes", ch, "spec",
		                      it->action != ACT_DELETE && it->desired ? it->desired : json_null());
		if (it->reason)
			json_object_set_new(e, "reason", json_string(it->reason));
		if (it->predicted)
			json_object_set(e, "predicted_outputs", it->predicted);
		json_array_append_new(res, e);
	}
	for (size_t i = 0; i < p->rows.n; i++) {
		const struct state_row *r = &p->rows.v[i];
		char digest[65];
		/* cannot fail here: app_plan_write digested the manifests with the same library first */
		(void)row_digest(digest, r);
		json_array_append_new(prior, json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "address", r->id, "project", r->project,
		                                       "status", r->status ? r->status : "", "updated", r->updated ? r->updated : "",
		                                       "deployment", (json_int_t)r->deployment, "digest", digest));
	}
	for (size_t i = 0; i < p->targets.n; i++)
		json_array_append_new(targets, json_string(p->targets.v[i]));
	return json_pack("{s:b,s:o,s:o,s:o}", "destroy", p->destroy, "targets", targets, "resources", res,
	                 "prior_state", prior);
}

static void stale(struct diags *errors, const char *fmt, const char *a, const char *b)
{
	struct buf m = BUF_INIT;
	buf_addf(&m, fmt, a, b);
	struct diag *dg = diags_errorf(errors, CRATIS_EINVAL, "saved plan is stale: %s", m.ptr);
	diag_hint(dg, "nothing was changed; run `cratis plan -out FILE` again and apply the new plan");
	buf_release(&m);
}

/* The state now against the rows the saved plan saw: each must be there, unchanged. */
int check_saved_state(const struct plan *p, const json_t *saved, struct diags *errors)
{
	const json_t *prior = json_object_get(saved, "prior_state");
	struct saved_index px = { MAP_INIT, STRV_INIT };
	saved_index_init(&px, prior);
	size_t before = errors->n;
	for (size_t i = 0; i < p->rows.n && errors->n == before; i++) {
		const struct state_row *r = &p->rows.v[i];
		const json_t *e = saved_entry(&px, r->project, r->id);
		char digest[65];
		if (row_digest(digest, r)) {
			diags_add_last_error(errors);
			break;
		}
		if (!e)
			stale(errors, "the state changed since the plan was made: %s was recorded (updated %s)", r->id, r->updated ? r->updated : "?");
		else if (strcmp(jstr(e, "digest"), digest))
			stale(errors, "the state changed since the plan was made: %s was updated at %s", r->id, r->updated ? r->updated : "?");
	}
	size_t i;
	json_t *e;
	json_array_foreach(prior, i, e) {
		if (errors->n != before)
			break;
		const char *id = json_string_value(json_object_get(e, "address")), *project = json_string_value(json_object_get(e, "project"));
		if (!id || !project || !store_rows_find((struct state_rows *)&p->rows, project, id))
			stale(errors, "the state changed since the plan was made: %s%s was removed", id ? id : "a resource", "");
	}
	saved_index_release(&px);
	return errors->n != before ? error_set(CRATIS_EINVAL, "saved plan is stale") : CRATIS_OK;
}

void take_saved_item(struct plan *p, size_t i, const struct saved_index *res, struct diags *errors)
{
	struct plan_item *it = &p->items[i];
	const json_t *e = saved_entry(res, it->project, it->id);
	const char *action = json_string_value(json_object_get(e, "action"));
	int a = -1;
	for (int k = 0; action && k < 5; k++)
		if (!strcmp(action, action_names[k]))
			a = k;
	if (!e || a < 0 || (a == ACT_DELETE) != (it->action == ACT_DELETE)) {
		stale(errors, "%s %s", it->id, it->action == ACT_DELETE ? "is no longer in the manifests, and the plan does not delete it"
		                                                         : "is not in the plan (the manifests or state changed since)");
		return;
	}
	it->action = (enum action)a;
	strv_release(&it->changes);
	size_t k;
	json_t *c;
	json_array_foreach(json_object_get(e, "changes"), k, c)
		if (json_is_string(c))
			strv_push(&it->changes, json_string_value(c));
	free(it->reason);
	it->reason = json_is_string(json_object_get(e, "reason")) ? xstrdup(json_string_value(json_object_get(e, "reason"))) : NULL;
	if (it->action == ACT_DELETE || !it->res)
		return; /* a delete, or a child's repair: its spec is its recorded row's (prior_state) */
	/* outputs its plugin predicted: its dependents (later items) resolve them as planned */
	json_decref(it->predicted);
	json_t *pred = json_object_get(e, "predicted_outputs");
	it->predicted = json_is_object(pred) && (it->action == ACT_UPDATE || it->action == ACT_REPLACE) ? json_deep_copy(pred) : NULL;
	/* the desired spec as it resolves now (secrets re-read, redacted) must be the one planned */
	struct diags errs = DIAGS_INIT;
	if (item_resolve(p, it, false, &errs)) {
		diags_move(errors, &errs);
		return;
	}
	const json_t *want = json_object_get(e, "spec");
	if (!json_equal(it->desired, (json_t *)want)) {
		struct value_diffs vd = VALUE_DIFFS_INIT;
		plan_values_diff(&vd, want, it->desired, "spec");
		bool secret = vd.n && ((vd.v[0].before && !strcmp(vd.v[0].before, SECRET_REDACTED)) ||
		                       (vd.v[0].after && !strcmp(vd.v[0].after, SECRET_REDACTED)));
		stale(errors, secret ? "%s: the value of a secret or sensitive variable in %s changed since the plan was made"
		                     : "%s: %s resolves differently now (a variable, an artifact or an output changed)",
		      it->id, vd.n ? vd.v[0].path : "spec");
		value_diffs_release(&vd);
	}
}
