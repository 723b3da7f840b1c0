/* Plan: diff desired resources against recorded state (see engine.h). */
#define _GNU_SOURCE
#include "engine.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "events/event.h"
#include "manifest/vars.h"
#include "model/schema.h"
#include "secret/secret.h"
#include "util/buf.h"
#include "util/error.h"
#include "banned.h"

const char *const action_names[] = { "no-op", "create", "update", "replace", "delete" };

/* Free what one item holds and zero it. */
static void plan_item_release_one(struct plan_item *it)
{
	free(it->id);
	free(it->project);
	json_decref(it->desired);
	json_decref(it->request);
	json_decref(it->outputs);
	json_decref(it->predicted);
	strv_release(&it->changes);
	free(it->reason);
	free(it->deps);
	free(it->system);
	free(it->system_type);
	free(it->system_spec);
	memset(it, 0, sizeof(*it));
}

void plan_release(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		plan_item_release_one(&p->items[i]);
	free(p->items);
	strv_release(&p->targets);
	secret_store_free(p->secrets);
	store_rows_release(&p->rows);
	memset(p, 0, sizeof(*p));
}

static void add_dep(struct plan_item *it, size_t d)
{
	ALLOC_GROW(it->deps, it->ndeps + 1, it->adeps);
	it->deps[it->ndeps++] = d;
}

char *json_text(const json_t *v)
{
	return v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
}

char *prior_text(const struct state_row *row, bool pending_too)
{
	const char *text = row ? row->spec : NULL;
	if (!text && row && pending_too)
		text = row->pending_spec; /* a first apply that was interrupted: what it was applying */
	if (!text)
		return NULL;
	json_t *spec = json_loads(text, 0, NULL);
	json_t *out = row->outputs ? json_loads(row->outputs, 0, NULL) : NULL;
	json_t *p = json_pack("{s:o,s:o}", "spec", spec ? spec : json_object(), "outputs", out ? out : json_object());
	char *t = json_text(p);
	json_decref(p);
	return t;
}

/* Whether s can be one path segment under a root: not empty, not "." or "..", no '/'. */
static bool safe_segment(const char *s)
{
	return *s && strcmp(s, ".") && strcmp(s, "..") && !strchr(s, '/');
}

int engine_statedir(char **out, const char *statedir, const char *env, const char *project, const char *id)
{
	*out = NULL;
	char *kind = xstrdup(id);
	char *slash = strchr(kind, '/');
	if (slash)
		*slash = '-';
	const char *e = *env ? env : "_";
	int rc = CRATIS_OK;
	if (!safe_segment(e))
		rc = error_set(CRATIS_EINVAL, "environment name '%s' cannot name a state directory: the path would leave %s/run", e, statedir);
	else if (!safe_segment(project))
		rc = error_set(CRATIS_EINVAL, "project name '%s' cannot name a state directory: the path would leave %s/run", project, statedir);
	else if (!safe_segment(kind))
		rc = error_set(CRATIS_EINVAL, "resource '%s' cannot name a state directory: the path would leave %s/run", id, statedir);
	else
		*out = xasprintf("%s/run/%s/%s/%s", statedir, e, project, kind);
	free(kind);
	return rc;
}

int item_statedir(char **out, const struct engine_opts *o, const char *env, const char *project, const char *id)
{
	return engine_statedir(out, o->statedir, env, project, id);
}

void item_request(struct cratis_request *req, const struct plan_item *it, const char *env,
                  const struct engine_opts *o)
{
	memset(req, 0, sizeof(*req));
	if (it->res) {
		req->api_version = it->res->api_version;
		req->kind = it->res->kind;
		req->name = it->res->name;
	} else {
		req->api_version = it->row->api_version;
		req->kind = it->kind_buf;
		req->name = strchr(it->id, '/') + 1;
	}
	req->project = it->project;
	req->environment = env;
	req->workdir = o->workdir;
	req->system = it->system;
	req->system_type = it->system_type;
	req->system_spec = it->system_spec;
	req->deadline_ms = o->timeout_ms > 0 ? request_clock_ms() + o->timeout_ms : 0;
}

/* Record on it the System it deploys to: name (NULL = the only System of the model, if any). */
static void item_system(struct plan_item *it, const struct model *m, const char *name)
{
	for (size_t i = 0; i < m->nsystems; i++) {
		const struct system *sys = &m->systems[i];
		if (name ? strcmp(sys->name, name) != 0 : m->nsystems != 1)
			continue;
		it->system = xstrdup(sys->name);
		it->system_type = xstrdup(sys->type ? sys->type : "");
		json_t *spec = json_object_get(sys->doc->root, "spec");
		it->system_spec = json_is_object(spec) ? json_text(spec) : xstrdup("{}");
		return;
	}
}

static void diff_paths(const json_t *a, const json_t *b, struct buf *path, struct strv *out)
{
	if (json_equal((json_t *)a, (json_t *)b))
		return;
	if (json_is_object(a) && json_is_object(b)) {
		size_t mark = path->len;
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)b, k, v) {
			buf_addf(path, ".%s", k);
			diff_paths(json_object_get(a, k), v, path, out);
			path->len = mark;
			path->ptr[mark] = '\0';
		}
		json_object_foreach((json_t *)a, k, v) {
			if (!json_object_get(b, k)) {
				buf_addf(path, ".%s", k);
				strv_push(out, path->ptr);
				path->len = mark;
				path->ptr[mark] = '\0';
			}
		}
		return;
	}
	strv_push(out, path->ptr);
}

struct ref_ctx {
	struct plan *p;
	struct plan_item *it;
	bool at_apply;
};

/* ${Kind/name.outputs.key}: outputs known now (unchanged dependency, or applied in this run). A
 * sensitive output is recorded sealed (secret_store_seal): opened here, and marked sensitive. */
static int resolve_ref(const char *id, const char *key, json_t **out, bool *sensitive, void *payload)
{
	struct ref_ctx *rc = payload;
	struct plan_item *dep = NULL;
	for (size_t i = 0; i < rc->it->ndeps; i++) {
		struct plan_item *d = &rc->p->items[rc->it->deps[i]];
		if (!strcmp(d->id, id))
			dep = d;
	}
	/* a delete item revealing its recorded spec (item_reveal): the referenced resource's
	 * recorded outputs (a destroy deletes dependents first, so it is still recorded) */
	for (size_t i = 0; !dep && !rc->it->res && i < rc->p->n; i++)
		if (!strcmp(rc->p->items[i].id, id) && !strcmp(rc->p->items[i].project, rc->it->project))
			dep = &rc->p->items[i];
	if (!dep)
		return 0;
	if (!rc->at_apply && dep->action != ACT_NOOP) {
		/* a changing resource: known only when its plugin predicted it (the plan reply's
		 * "outputs"); what is resolved from it is checked again at apply */
		json_t *pv = dep->predicted ? json_object_get(dep->predicted, key) : NULL;
		if (!pv)
			return 0;
		rc->it->from_prediction = true;
		*out = json_incref(pv);
		return CRATIS_OK;
	}
	if (!dep->outputs)
		return 0;
	if (!rc->at_apply && dep->from_prediction)
		rc->it->from_prediction = true; /* unchanged only if what it was planned from comes back so */
	json_t *v = json_object_get(dep->outputs, key);
	if (!v) {
		struct buf names = BUF_INIT;
		const char *k;
		json_t *x;
		json_object_foreach(dep->outputs, k, x)
			buf_addf(&names, "%s%s", names.len ? ", " : "", k);
		error_set(CRATIS_ENOTFOUND, "%s has no output '%s' (outputs: %s)", id, key, names.len ? names.ptr : "none");
		buf_release(&names);
		return CRATIS_ENOTFOUND;
	}
	if (json_is_string(v) && secret_is_sealed(json_string_value(v))) {
		int st = secret_store_unseal(rc->p->secrets, out, json_string_value(v));
		if (st)
			return error_set(st, "%s output '%s' is sensitive: %s", id, key, cratis_error_last()->message);
		if (json_is_string(*out))
			secret_store_remember(rc->p->secrets, json_string_value(*out));
		*sensitive = true;
		return CRATIS_OK;
	}
	*out = json_incref(v);
	return CRATIS_OK;
}

struct err_ctx {
	struct diags *errors;
	const struct manifest_doc *doc;
};

static void on_ref_error(const char *field, const char *msg, void *payload)
{
	struct err_ctx *e = payload;
	manifest_error(e->errors, e->doc, field, "%s", msg);
}

/* ${secret:NAME} of the item's project, from the Project's spec.secrets */
static int resolve_secret(char **out, const char *name, void *payload)
{
	struct secret_ctx *sc = payload;
	const json_t *defs = NULL;
	const struct model *m = sc->p->model;
	for (size_t i = 0; m && i < m->nprojects; i++)
		if (!strcmp(m->projects[i].name, sc->it->project))
			defs = json_object_get(json_object_get(m->projects[i].doc->root, "spec"), "secrets");
	return secret_store_get(sc->p->secrets, out, defs, sc->it->project, name);
}

void call_use_secrets(struct call *c, struct secret_ctx *sc, struct plan *p, struct plan_item *it)
{
	*sc = (struct secret_ctx){ p, it, false };
	c->secret = resolve_secret;
	c->secret_payload = sc;
}

static int redact_value(char **out, const char *value, size_t len, void *payload)
{
	struct secret_ctx *sc = payload;
	sc->redacted = true;
	return secret_store_redact(sc->p->secrets, out, value, len);
}

/* Expand res's spec for it into *desired (secret and sensitive strings redacted: what is
 * recorded and shown) and, when some string was redacted, *request (the same with the values:
 * what only the plugin gets; else NULL). Errors go to errors; returns CRATIS_OK or CRATIS_EINVAL. */
static int expand(struct plan *p, struct plan_item *it, const struct resource *res, bool at_apply,
                  struct diags *errors, json_t **desired, json_t **request)
{
	struct ref_ctx rc = { p, it, at_apply };
	struct secret_ctx sc = { p, it, false };
	const struct environment *env = p->model ? p->model->env : NULL;
	struct vars_ctx vc = { .ref = resolve_ref, .payload = &rc, .unknown = at_apply ? NULL : KNOWN_AFTER_APPLY,
	                       .variables = env ? env->variables : NULL, .sensitive = env ? &env->sensitive : NULL,
	                       .secret = resolve_secret, .secret_payload = &sc, .redact = redact_value };
	struct err_ctx ec = { errors, res->doc };
	json_t *spec = json_deep_copy(res->spec);
	int n = vars_expand_tree(&spec, "spec", &vc, on_ref_error, &ec);
	*desired = spec;
	*request = NULL;
	if (!n && sc.redacted) {
		vc.redact = NULL;
		json_t *req = json_deep_copy(res->spec);
		n = vars_expand_tree(&req, "spec", &vc, on_ref_error, &ec);
		if (!n)
			*request = req;
		else
			json_decref(req);
	}
	return n ? CRATIS_EINVAL : CRATIS_OK;
}

int item_resolve(struct plan *p, struct plan_item *it, bool at_apply, struct diags *errors)
{
	json_decref(it->request);
	it->request = NULL;
	if (!at_apply)
		it->from_prediction = false;
	if (!it->res->pending_vars) {
		/* nothing left to expand: share the model's spec */
		json_decref(it->desired);
		it->desired = json_incref(it->res->spec);
		return CRATIS_OK;
	}
	json_t *spec, *req;
	int rc = expand(p, it, it->res, at_apply, errors, &spec, &req);
	json_decref(it->desired);
	it->desired = spec;
	it->request = req;
	return rc;
}

/* rec with each redacted string that red (the current redacted spec) holds unchanged at the same
 * place replaced by what real (the current spec with values) holds there. */
static json_t *reveal_walk(const json_t *rec, const json_t *red, const json_t *real)
{
	if (json_is_string(rec)) {
		const char *t = json_string_value(rec);
		if (real && json_is_string(red) && !strncmp(t, SECRET_REDACTED, strlen(SECRET_REDACTED)) &&
		    !strcmp(t, json_string_value(red)))
			return json_incref((json_t *)real);
		return json_incref((json_t *)rec);
	}
	if (json_is_object(rec)) {
		json_t *o = json_object();
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)rec, k, v)
			json_object_set_new(o, k, reveal_walk(v, json_object_get(red, k), json_object_get(real, k)));
		return o;
	}
	if (json_is_array(rec)) {
		json_t *a = json_array();
		size_t i;
		json_t *v;
		json_array_foreach(rec, i, v)
			json_array_append_new(a, reveal_walk(v, json_array_get(red, i), json_array_get(real, i)));
		return a;
	}
	return json_incref((json_t *)rec);
}

/* The recorded spec rec with its secret and sensitive strings revealed where the manifest still
 * names the same value (the redacted forms are equal); NULL when the resource is no longer in
 * the manifests or nothing could be resolved. */
static json_t *item_reveal(struct plan *p, struct plan_item *it, const json_t *rec)
{
	const struct resource *res = it->res ? it->res : p->model ? model_find(p->model, it->project, it->id) : NULL;
	if (!res || !res->pending_vars)
		return NULL;
	json_t *red = NULL, *real = NULL;
	if (it->res && it->request) {
		red = json_incref(it->desired);
		real = json_incref(it->request);
	} else {
		struct diags errs = DIAGS_INIT;
		expand(p, it, res, true, &errs, &red, &real);
		diags_release(&errs);
	}
	json_t *out = real ? reveal_walk(rec, red, real) : NULL;
	json_decref(red);
	json_decref(real);
	return out;
}

int plugin_prior(struct plan *p, struct plan_item *it, bool pending_too, char **prior, char **spec)
{
	*prior = prior_text(it->row, pending_too);
	if (spec)
		*spec = NULL;
	if (!*prior || !p->secrets || !strstr(*prior, SECRET_REDACTED))
		return CRATIS_OK;
	json_t *doc = json_loads(*prior, 0, NULL);
	json_t *rec = json_object_get(doc, "spec"), *outs = json_object_get(doc, "outputs");
	json_t *rev = rec ? item_reveal(p, it, rec) : NULL;
	if (rev)
		json_object_set_new(doc, "spec", rev);
	const char *k;
	json_t *v;
	json_object_foreach(outs, k, v) {
		json_t *val = NULL;
		if (json_is_string(v) && secret_is_sealed(json_string_value(v)) &&
		    !secret_store_unseal(p->secrets, &val, json_string_value(v))) {
			if (json_is_string(val))
				secret_store_remember(p->secrets, json_string_value(val));
			json_object_set_new(outs, k, val);
		}
	}
	free_wiped(*prior);
	*prior = json_text(doc);
	if (spec && rev)
		*spec = json_text(rev);
	json_decref(doc);
	return CRATIS_OK;
}

static void plugin_error(struct diags *errors, const struct plan_item *it, const struct call *c)
{
	const char *msg = cratis_error_last()->message;
	struct diag *dg;
	if (it->res)
		dg = manifest_error(errors, it->res->doc, c->field.len ? c->field.ptr : "", "%s: %s", it->id, msg);
	else
		dg = diags_errorf(errors, CRATIS_EINVAL, "%s: %s", it->id, msg);
	dg->status = cratis_error_last()->status ? cratis_error_last()->status : CRATIS_EPLUGIN;
}

/* ---- comparing a desired spec with its recorded text without parsing the text ---- */

/* Whether the canonical text at *t (compact JSON, as json_text writes it) is a value equal to v,
 * advancing *t past it. Conservative: true only when json_loads would give back a value that
 * json_equal finds equal to v; anything it does not handle simply (escapes in strings, reals,
 * integers out of range, whitespace, keys out of order, deep nesting) gives false, and the
 * caller compares the parsed text as before. */
static bool text_is(const json_t *v, const char **t, int depth)
{
	const char *p = *t;
	if (depth > 64)
		return false;
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		if (*p++ != '{')
			return false;
		size_t n = 0;
		const char *prev = NULL;
		size_t prevlen = 0;
		while (*p != '}') {
			if (n && *p++ != ',')
				return false;
			if (*p++ != '"')
				return false;
			const char *k = p;
			while ((unsigned char)*p >= 0x20 && *p != '"' && *p != '\\')
				p++;
			if (*p != '"')
				return false;
			size_t klen = (size_t)(p - k);
			/* keys strictly ascending: no duplicate (which json_loads would fold into one) */
			if (prev) {
				int c = memcmp(prev, k, prevlen < klen ? prevlen : klen);
				if (c > 0 || (c == 0 && prevlen >= klen))
					return false;
			}
			prev = k;
			prevlen = klen;
			p++;
			if (*p++ != ':')
				return false;
			json_t *c = json_object_getn(v, k, klen);
			if (!c || !text_is(c, &p, depth + 1))
				return false;
			n++;
		}
		if (n != json_object_size(v))
			return false;
		*t = p + 1;
		return true;
	}
	case JSON_ARRAY: {
		if (*p++ != '[')
			return false;
		size_t n = 0;
		while (*p != ']') {
			if (n && *p++ != ',')
				return false;
			if (n >= json_array_size(v) || !text_is(json_array_get(v, n), &p, depth + 1))
				return false;
			n++;
		}
		if (n != json_array_size(v))
			return false;
		*t = p + 1;
		return true;
	}
	case JSON_STRING: {
		/* the same bytes, none of which needs an escape (a control character, '"' or '\\') */
		const char *sv = json_string_value(v);
		size_t len = json_string_length(v);
		if (*p++ != '"')
			return false;
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)p[i];
			if (c != (unsigned char)sv[i] || c < 0x20 || c == '"' || c == '\\')
				return false;
		}
		if (p[len] != '"')
			return false;
		*t = p + len + 1;
		return true;
	}
	case JSON_INTEGER: {
		/* -?(0|[1-9][0-9]*), not followed by a fraction or an exponent, within json_int_t */
		bool neg = *p == '-';
		const char *d = p + neg;
		size_t nd = strspn(d, "0123456789");
		if (!nd || nd > 18 || (nd > 1 && *d == '0') || d[nd] == '.' || d[nd] == 'e' || d[nd] == 'E')
			return false;
		json_int_t x = 0;
		for (size_t i = 0; i < nd; i++)
			x = x * 10 + (d[i] - '0');
		if ((neg ? -x : x) != json_integer_value(v))
			return false;
		*t = d + nd;
		return true;
	}
	case JSON_TRUE:
		if (strncmp(p, "true", 4))
			return false;
		*t = p + 4;
		return true;
	case JSON_FALSE:
		if (strncmp(p, "false", 5))
			return false;
		*t = p + 5;
		return true;
	case JSON_NULL:
		if (strncmp(p, "null", 4))
			return false;
		*t = p + 4;
		return true;
	default:
		return false;
	}
}

/* True when the recorded spec text is known to equal desired without parsing it (see text_is).
 * json_loads takes only an object or an array at the top. */
static bool recorded_equal(const char *text, const json_t *desired)
{
	if (!json_is_object(desired) && !json_is_array(desired))
		return false;
	const char *t = text;
	return text_is(desired, &t, 0) && *t == '\0';
}

/* True when some string of v holds KNOWN_AFTER_APPLY. */
static bool has_unknown(const json_t *v)
{
	const char *k;
	size_t i;
	json_t *e;
	if (json_is_string(v))
		return strstr(json_string_value(v), KNOWN_AFTER_APPLY) != NULL;
	if (json_is_object(v))
		json_object_foreach((json_t *)v, k, e)
			if (has_unknown(e))
				return true;
	if (json_is_array(v))
		json_array_foreach(v, i, e)
			if (has_unknown(e))
				return true;
	return false;
}

/* The outputs that a plan reply (out) predicts ("outputs": an object, docs/plugins.md) into
 * it->predicted, for an update or a replace: its dependents resolve them at plan time. Ignored
 * when the spec the plugin saw holds a value known only after apply (the prediction would be
 * made from the placeholder), and for outputs the reply names in "sensitive". */
static void take_predicted(struct plan_item *it, const json_t *out)
{
	json_t *outs = json_object_get(out, "outputs");
	json_decref(it->predicted);
	it->predicted = NULL;
	if (!json_is_object(outs) || !json_object_size(outs) || (it->action != ACT_UPDATE && it->action != ACT_REPLACE) ||
	    has_unknown(it->desired))
		return;
	it->predicted = json_deep_copy(outs);
	size_t i;
	json_t *n;
	json_array_foreach(json_object_get(out, "sensitive"), i, n)
		if (json_is_string(n))
			json_object_del(it->predicted, json_string_value(n));
}

/* A Rollout runs what it depends on (a Task's build, a File's content) as much as its template:
 * when one of its dependencies (other than a hook Task) is to change, the Rollout is an update,
 * which makes a new release with its exit tests (docs/releases.md). Its dependencies are decided
 * before it. */
static void rollout_inputs(struct plan *p, struct plan_item *it)
{
	if (it->action != ACT_NOOP || !it->res || strcmp(it->res->group, CORE_GROUP) || strcmp(it->res->kind, "Rollout"))
		return;
	for (size_t k = 0; k < it->ndeps; k++) {
		const struct plan_item *d = &p->items[it->deps[k]];
		if (d->action == ACT_NOOP || d->action == ACT_DELETE)
			continue;
		bool hook = false;
		const char *stage;
		json_t *list;
		json_object_foreach(json_object_get(it->desired, "hooks"), stage, list) {
			size_t i;
			json_t *h;
			json_array_foreach(list, i, h)
				hook = hook || (json_string_value(json_object_get(h, "task")) && !strcmp(json_string_value(json_object_get(h, "task")), d->id));
		}
		if (hook)
			continue;
		it->action = ACT_UPDATE;
		free(it->reason);
		it->reason = xasprintf("%s changes, and the release runs what it produces: a new release", d->id);
		return;
	}
}

static int decide(struct plan *p, struct plan_item *it, const struct engine_opts *o, struct diags *errors)
{
	struct state_row *row = it->row;
	if (item_resolve(p, it, false, errors))
		return CRATIS_EINVAL;
	if (!row || !row->spec) {
		it->action = ACT_CREATE;
		if (row && !strcmp(row->status, "pending"))
			it->reason = xstrdup("a previous run was interrupted before it finished");
		return CRATIS_OK;
	}
	/* the recorded spec is the canonical text of what was applied (json_text): when it reads as
	 * the desired spec, it need not be parsed */
	if (!recorded_equal(row->spec, it->desired)) {
		json_t *prior = json_loads(row->spec, 0, NULL);
		if (!json_equal(prior, it->desired)) {
			struct buf path = BUF_INIT;
			buf_adds(&path, "spec");
			diff_paths(prior, it->desired, &path, &it->changes);
			buf_release(&path);
			it->action = ACT_UPDATE;
		}
		json_decref(prior);
	}
	if (strcmp(row->status, "ready")) {
		if (it->action == ACT_NOOP)
			it->action = ACT_UPDATE;
		it->reason = !strcmp(row->status, "pending") ? xstrdup("a previous run was interrupted before it finished")
		                                              : xasprintf("the last apply failed: %s", row->message ? row->message : "unknown error");
	}
	rollout_inputs(p, it); /* rollout: a change reaching a Rollout through what it depends on */
	bool ask_plan = it->action == ACT_UPDATE && it->changes.n && handler_has_op(it->handler, OP_PLAN);
	bool ask_observe = it->action == ACT_NOOP && o->refresh && handler_has_op(it->handler, OP_OBSERVE);
	if (!ask_plan && !ask_observe)
		return CRATIS_OK;
	struct cratis_request req;
	item_request(&req, it, p->environment, o);
	req.dry_run = 1;
	char *sd;
	if (item_statedir(&sd, o, p->environment, it->project, it->id)) {
		diags_errorf(errors, CRATIS_EINVAL, "%s: %s", it->id, cratis_error_last()->message);
		return CRATIS_EINVAL;
	}
	/* the plugin gets the values of secrets the manifest still names (its replies are scrubbed) */
	char *spec = json_text(it->request && ask_plan ? it->request : it->desired), *pr = NULL, *rspec = NULL;
	plugin_prior(p, it, false, &pr, ask_plan ? NULL : &rspec);
	req.spec = ask_plan ? spec : rspec ? rspec : row->spec;
	req.prior = pr;
	req.statedir = sd;
	struct call c;
	call_init(&c, it->id);
	c.observer = o->observer;
	c.cancel = o->cancel;
	c.grace_ms = o->grace_ms;
	struct secret_ctx csc;
	call_use_secrets(&c, &csc, p, it);
	json_t *out = NULL;
	int rc;
	if (ask_plan) {
		rc = handler_call(it->handler, OP_PLAN, &req, &c, &out);
		const char *a = json_string_value(json_object_get(out, "action"));
		if (a && !strcmp(a, "replace"))
			it->action = ACT_REPLACE;
		else if (a && !strcmp(a, "noop") && !it->reason)
			it->action = ACT_NOOP;
		if (!rc)
			take_predicted(it, out);
		json_t *ch = json_object_get(out, "changes");
		if (json_is_array(ch) && json_array_size(ch)) {
			strv_release(&it->changes);
			for (size_t i = 0; i < json_array_size(ch); i++)
				if (json_is_string(json_array_get(ch, i)))
					strv_push(&it->changes, json_string_value(json_array_get(ch, i)));
		}
	} else {
		rc = handler_call(it->handler, OP_OBSERVE, &req, &c, &out);
		if (!rc && json_is_false(json_object_get(out, "exists"))) {
			it->action = ACT_CREATE;
			it->reason = xstrdup("drift: recorded but no longer exists");
		} else if (!rc && json_is_true(json_object_get(out, "drift"))) {
			const char *why = json_string_value(json_object_get(out, "reason"));
			it->action = ACT_UPDATE;
			it->reason = xasprintf("drift: %s", why ? why : "live state differs from the recorded state");
			/* what would change, when the plugin says (pending migrations: "V3__add_email") */
			json_t *ch = json_object_get(out, "changes");
			for (size_t i = 0; json_is_array(ch) && i < json_array_size(ch); i++)
				if (json_is_string(json_array_get(ch, i)))
					strv_push(&it->changes, json_string_value(json_array_get(ch, i)));
		}
	}
	if (rc)
		plugin_error(errors, it, &c);
	json_decref(out);
	call_release(&c);
	free_wiped(spec);
	free_wiped(pr);
	free_wiped(rspec);
	free(sd);
	return rc;
}

/* dev.cratis.drift.detected for every item whose refresh found drift, in one unit of its own
 * (docs/events.md). A failure to record them is a warning: the plan stands. */
static void emit_drift(const struct plan *p, struct store *s, const struct engine_opts *o)
{
	size_t n = 0;
	for (size_t i = 0; i < p->n; i++)
		n += p->items[i].reason && !strncmp(p->items[i].reason, "drift:", 6);
	if (!n || !s)
		return;
	struct store_event *ev = xcalloc(n, sizeof(*ev));
	char **own = xcalloc(2 * n, sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < p->n; i++) {
		const struct plan_item *it = &p->items[i];
		if (!it->reason || strncmp(it->reason, "drift:", 6))
			continue;
		json_t *ch = json_array();
		for (size_t c = 0; c < it->changes.n; c++)
			json_array_append_new(ch, json_string(it->changes.v[c]));
		json_t *d = json_pack("{s:s,s:s,s:s,s:s,s:o}", "resource", it->id, "project", it->project, "action",
		                      action_names[it->action], "reason", it->reason + 7, "changes", ch);
		own[2 * k] = json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(d);
		own[2 * k + 1] = xasprintf("/projects/%s/environments/%s", it->project, p->environment && *p->environment ? p->environment : "_");
		ev[k] = (struct store_event){ .type = CRATIS_EVENT_PREFIX "drift.detected", .subject = it->id, .data = own[2 * k],
		                              .source = own[2 * k + 1] };
		k++;
	}
	if (store_emit(s, p->environment ? p->environment : "", 0, ev, k))
		engine_logf(o->observer, CRATIS_LOG_WARN, NULL, "the drift.detected events could not be recorded: %s",
		            cratis_error_last()->message);
	for (size_t i = 0; i < 2 * k; i++)
		free(own[i]);
	free(own);
	free(ev);
}

/* True for a credential reference: {"fromEnv":"NAME"}, {"fromFile":"PATH"} or {"secret":"NAME"}. */
static bool is_auth_ref(const json_t *v)
{
	static const char *const keys[] = { "fromEnv", "fromFile", "secret" };
	if (!json_is_object(v) || json_object_size(v) != 1)
		return false;
	for (size_t i = 0; i < 3; i++) {
		const json_t *k = json_object_get(v, keys[i]);
		if (json_is_string(k) && *json_string_value(k))
			return true;
	}
	return false;
}

/* Every leaf of a System's spec.auth must be a reference: a literal would reach plugins and
 * could end up in state or logs. path is the field path so far ("spec.auth"). */
static void check_auth(const struct system *sys, const json_t *v, struct buf *path, struct diags *errors)
{
	if (is_auth_ref(v) || json_is_boolean(v))
		return; /* a switch such as ssh's agent: true is not a credential */
	if (!json_is_object(v)) {
		manifest_error(errors, sys->doc, path->ptr, "expected a reference ({fromEnv: NAME}, {fromFile: PATH} or {secret: NAME}), never a literal credential");
		return;
	}
	const char *k;
	json_t *e;
	json_object_foreach((json_t *)v, k, e) {
		size_t mark = path->len;
		buf_addf(path, ".%s", k);
		check_auth(sys, e, path, errors);
		path->len = mark;
		path->ptr[mark] = '\0';
	}
}

/* Every System's spec.auth of m is made of credential references (check_auth); problems go to
 * errors at their location. */
static void systems_auth_check(const struct model *m, struct diags *errors)
{
	for (size_t i = 0; i < m->nsystems; i++) {
		const json_t *auth = json_object_get(json_object_get(m->systems[i].doc->root, "spec"), "auth");
		struct buf path = BUF_INIT;
		buf_adds(&path, "spec.auth");
		if (auth)
			check_auth(&m->systems[i], auth, &path, errors);
		buf_release(&path);
	}
}

/* ---- running per-item work on up to -j threads ---- */

/* fn(p, i, errors of item i, payload) for every item i of p, on up to jobs threads; with
 * ordered, an item only after every item it depends on (it->deps) has finished. */
typedef void item_fn(struct plan *p, size_t i, struct diags *errors, const void *payload);

struct par {
	struct plan *p;
	item_fn *fn;
	const void *payload;
	struct diags *errs;          /* per item, merged in item order afterwards */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t *remaining;          /* unfinished dependencies */
	size_t **dependents, *ndependents, *adependents;
	size_t *queue, qhead, qtail, done;
};

static void *par_worker(void *arg)
{
	struct par *x = arg;
	pthread_mutex_lock(&x->mu);
	for (;;) {
		while (x->qhead == x->qtail && x->done < x->p->n)
			pthread_cond_wait(&x->cv, &x->mu);
		if (x->qhead == x->qtail)
			break;
		size_t i = x->queue[x->qhead++];
		pthread_mutex_unlock(&x->mu);
		x->fn(x->p, i, &x->errs[i], x->payload);
		pthread_mutex_lock(&x->mu);
		x->done++;
		for (size_t k = 0; k < x->ndependents[i]; k++) {
			size_t d = x->dependents[i][k];
			if (--x->remaining[d] == 0)
				x->queue[x->qtail++] = d;
		}
		pthread_cond_broadcast(&x->cv);
	}
	pthread_mutex_unlock(&x->mu);
	error_clear(); /* the thread's last-error buffer dies with the thread */
	return NULL;
}

static void run_items(struct plan *p, size_t n, int jobs, bool ordered, item_fn *fn, const void *payload,
                      struct diags *errors)
{
	struct par x = { .p = p, .fn = fn, .payload = payload };
	x.errs = xcalloc(n + 1, sizeof(*x.errs));
	size_t nth = jobs > 1 ? (size_t)jobs : 1;
	if (nth > n)
		nth = n;
	if (nth <= 1) {
		/* in order, on this thread */
		for (size_t i = 0; i < n; i++)
			fn(p, i, &x.errs[i], payload);
		goto out_merge;
	}
	x.remaining = xcalloc(n, sizeof(size_t));
	x.dependents = xcalloc(n, sizeof(size_t *));
	x.ndependents = xcalloc(n, sizeof(size_t));
	x.adependents = xcalloc(n, sizeof(size_t));
	x.queue = xcalloc(n, sizeof(size_t));
	for (size_t i = 0; ordered && i < n; i++) {
		struct plan_item *it = &p->items[i];
		x.remaining[i] = it->ndeps;
		for (size_t k = 0; k < it->ndeps; k++) {
			size_t d = it->deps[k];
			ALLOC_GROW(x.dependents[d], x.ndependents[d] + 1, x.adependents[d]);
			x.dependents[d][x.ndependents[d]++] = i;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (!x.remaining[i])
			x.queue[x.qtail++] = i;
	pthread_mutex_init(&x.mu, NULL);
	pthread_cond_init(&x.cv, NULL);
	pthread_t *th = xcalloc(nth, sizeof(*th));
	size_t started = 0;
	while (started < nth && pthread_create(&th[started], NULL, par_worker, &x) == 0)
		started++;
	if (!started) {
		/* no thread to be had: do it all here (dependencies come first in item order) */
		for (size_t i = 0; i < n; i++)
			fn(p, i, &x.errs[i], payload);
	}
	/* fewer threads than asked still do all the work */
	for (size_t t = 0; t < started; t++)
		pthread_join(th[t], NULL);
	free(th);
	pthread_cond_destroy(&x.cv);
	pthread_mutex_destroy(&x.mu);
	for (size_t i = 0; i < n; i++)
		free(x.dependents[i]);
	free(x.dependents);
	free(x.ndependents);
	free(x.adependents);
	free(x.remaining);
	free(x.queue);
out_merge:
	for (size_t i = 0; i < n; i++) {
		diags_move(errors, &x.errs[i]);
	}
	free(x.errs);
}

static void validate_item(struct plan *p, size_t i, struct diags *errors, const void *payload)
{
	const struct engine_opts *o = payload;
	struct plan_item *it = &p->items[i];
	if (!handler_has_op(it->handler, OP_VALIDATE) || (o->cancel && *o->cancel))
		return;
	struct cratis_request req;
	item_request(&req, it, p->environment, o);
	req.dry_run = 1;
	/* as docs/plugins.md says: the resource's statedir, and its spec as the plan shows it (escapes
	 * undone, secrets and sensitive variables redacted); outputs of other resources are not known
	 * before the plan decides, so those references stay as written */
	char *sd = NULL;
	if (item_statedir(&sd, o, p->environment, it->project, it->id)) {
		diags_errorf(errors, CRATIS_EINVAL, "%s: %s", it->id, cratis_error_last()->message);
		return;
	}
	json_t *resolved = NULL;
	if (it->res->pending_vars) {
		struct secret_ctx sc = { p, it, false };
		const struct environment *env = p->model ? p->model->env : NULL;
		struct vars_ctx vc = { .variables = env ? env->variables : NULL, .sensitive = env ? &env->sensitive : NULL,
		                       .secret = resolve_secret, .secret_payload = &sc, .redact = redact_value };
		struct err_ctx ec = { errors, it->res->doc };
		resolved = json_deep_copy(it->res->spec);
		if (vars_expand_tree(&resolved, "spec", &vc, on_ref_error, &ec)) {
			json_decref(resolved);
			free(sd);
			return;
		}
	}
	char *spec = json_text(resolved ? resolved : it->res->spec);
	json_decref(resolved);
	req.spec = spec;
	req.statedir = sd;
	struct call c;
	call_init(&c, it->id);
	c.observer = o->observer;
	c.cancel = o->cancel;
	c.grace_ms = o->grace_ms;
	json_t *out;
	if (handler_call(it->handler, OP_VALIDATE, &req, &c, &out))
		plugin_error(errors, it, &c);
	json_decref(out);
	call_release(&c);
	free(spec);
	free(sd);
}

static void decide_item(struct plan *p, size_t i, struct diags *errors, const void *payload)
{
	const struct engine_opts *o = payload;
	if (o->cancel && *o->cancel)
		return; /* interrupted: decide nothing more */
	decide(p, &p->items[i], payload, errors);
}

/* The release a child Service runs (its outputs' "release"), heap, or NULL. */
static char *child_release(const struct state_row *row)
{
	json_t *o = row->outputs ? json_loads(row->outputs, 0, NULL) : NULL;
	const char *r = json_string_value(json_object_get(o, "release"));
	char *out = r ? xstrdup(r) : NULL;
	json_decref(o);
	return out;
}

/* The parent of a child row (the first of its deps, "Rollout/NAME"), heap, or NULL. */
static char *child_parent(const struct state_row *row)
{
	json_t *d = row->deps ? json_loads(row->deps, 0, NULL) : NULL;
	const char *p = json_string_value(json_array_get(d, 0));
	char *out = p && !strncmp(p, "Rollout/", 8) ? xstrdup(p) : NULL;
	json_decref(d);
	return out;
}

int child_request(struct cratis_request *req, const struct plan_item *it, const char *env, const struct engine_opts *o,
                  char **name, char **dir, char **spec)
{
	*name = *dir = *spec = NULL;
	item_request(req, it, env, o);
	char *rollout = child_parent(it->row), *rel = child_release(it->row), *sd = NULL;
	bool service = !strncmp(it->id, "Service/", 8), route = !strncmp(it->id, "Route/", 6);
	int rc = CRATIS_OK;
	if (route) {
		/* the Route handler's spec the Rollout writes now (store_route_spec) */
		json_t *outs = it->row->outputs ? json_loads(it->row->outputs, 0, NULL) : NULL;
		json_t *rt = json_object_get(outs, "router");
		*spec = json_is_object(rt) ? json_dumps(rt, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		json_decref(outs);
	}
	if (!rollout || (service && !rel) || (!service && !route) || (route && !*spec && it->action != ACT_DELETE))
		rc = error_set(CRATIS_EINVAL, "%s: not a child Service or Route of a Rollout", it->id);
	if (!rc)
		rc = item_statedir(&sd, o, env, it->project, rollout);
	const char *st = !rc ? (service ? it->row->spec : *spec) : NULL;
	if (!rc) {
		/* the names and directories the Rollout gives them (src/rollout/common.c) */
		*dir = service ? xasprintf("%s/releases/%s", sd, rel) : xasprintf("%s/router", sd);
		*name = service ? xasprintf("%s@%s", rollout + 8, rel) : xstrdup(rollout + 8);
		req->api_version = service ? "service/v1" : "router/v1";
		req->kind = service ? "Service" : "Route";
		req->name = *name;
		req->statedir = *dir;
		/* the spec and, as plugins read drift from it, the prior document {spec, outputs}: one
		 * heap block behind *spec holds both texts */
		json_t *sj = st ? json_loads(st, 0, NULL) : NULL;
		json_t *pj = json_pack("{s:o,s:o}", "spec", sj ? sj : json_object(), "outputs", json_object());
		char *prior = json_text(pj);
		json_decref(pj);
		st = st ? st : "{}";
		size_t ls = strlen(st), lp = strlen(prior);
		char *block = xmalloc(ls + lp + 2);
		memcpy(block, st, ls + 1);
		memcpy(block + ls + 1, prior, lp + 1);
		free(prior);
		free(*spec);
		*spec = block;
		req->spec = block;
		req->prior = block + ls + 1;
	}
	free(sd);
	free(rollout);
	free(rel);
	if (rc) {
		free(*spec);
		*spec = NULL;
	}
	return rc;
}

/* Refresh each child Service of a Rollout that the plan leaves as it is through the Service
 * handler's observe (its process runs, owns its port, answers its health check), and plan the
 * repair of each that drifted as an update of the child alone, after its owner. A Rollout that
 * changes is left to its own apply (which may retire the release). With a saved plan (sx), no
 * handler is asked: the children it repairs are taken from it. */
static void plan_children(struct plan *p, struct registry *reg, const struct engine_opts *o,
                          const struct saved_index *sx, struct diags *errors)
{
	struct handler *h = registry_find(reg, "service", "Service", "v1");
	size_t nmodel = p->n;
	for (size_t j = 0; h && j < p->rows.n && !(o->cancel && *o->cancel); j++) {
		struct state_row *row = &p->rows.v[j];
		/* a variant of a running Experiment (owner Experiment/X) is the Experiment's to heal:
		 * its observe reports a dead variant and its apply starts it again; so is the Route
		 * while the Experiment's split is live (no outputs.router then) */
		bool service = !strncmp(row->id, "Service/", 8);
		if (!row->owner || strncmp(row->owner, "Rollout/", 8) || (!service && strncmp(row->id, "Route/", 6)) ||
		    (!service && (!row->outputs || !strstr(row->outputs, "\"router\""))))
			continue;
		char *owner = child_parent(row);
		size_t k = 0;
		while (owner && k < nmodel && (strcmp(p->items[k].id, owner) || strcmp(p->items[k].project, row->project)))
			k++;
		free(owner);
		if (k >= nmodel || p->items[k].action != ACT_NOOP)
			continue;
		struct plan_item *it = &p->items[p->n];
		memset(it, 0, sizeof(*it));
		it->action = ACT_NOOP;
		it->row = row;
		it->handler = h;
		it->id = xstrdup(row->id);
		it->project = xstrdup(row->project);
		snprintf(it->kind_buf, sizeof(it->kind_buf), service ? "Service" : "Route");
		it->handler = service ? h : registry_find(reg, "router", "Route", "v1");
		it->system = p->items[k].system ? xstrdup(p->items[k].system) : NULL;
		it->system_type = p->items[k].system_type ? xstrdup(p->items[k].system_type) : NULL;
		it->system_spec = p->items[k].system_spec ? xstrdup(p->items[k].system_spec) : NULL;
		if (sx) {
			if (map_get_pair(&sx->map, row->project, row->id)) {
				it->action = ACT_UPDATE;
				it->desired = row->spec ? json_loads(row->spec, 0, NULL) : NULL;
				add_dep(it, k);
				take_saved_item(p, p->n++, sx, errors);
			} else {
				plan_item_release_one(it);
			}
			continue;
		}
		struct cratis_request req;
		char *name, *dir, *cspec;
		if (!it->handler || child_request(&req, it, p->environment, o, &name, &dir, &cspec)) {
			if (!it->handler) {
				plan_item_release_one(it);
				continue;
			}
			diags_errorf(errors, CRATIS_EINVAL, "%s: %s", it->id, cratis_error_last()->message);
			plan_item_release_one(it);
			continue;
		}
		req.dry_run = 1;
		struct call c;
		call_init(&c, it->id);
		c.observer = o->observer;
		c.cancel = o->cancel;
		c.grace_ms = o->grace_ms;
		json_t *out = NULL;
		int rc = handler_call(it->handler, OP_OBSERVE, &req, &c, &out);
		bool gone = !rc && json_is_false(json_object_get(out, "exists"));
		if (!rc && (gone || json_is_true(json_object_get(out, "drift")))) {
			const char *why = json_string_value(json_object_get(out, "reason"));
			it->action = ACT_UPDATE;
			it->reason = xasprintf("drift: (owned by %s) %s", row->owner,
			                       why ? why : gone ? "it does not exist" : "live state differs from the recorded state");
			it->desired = row->spec ? json_loads(row->spec, 0, NULL) : NULL;
			add_dep(it, k);
			p->n++;
		} else {
			if (rc)
				diags_errorf(errors, rc, "%s: cannot refresh: %s", it->id, cratis_error_last()->message);
			plan_item_release_one(it);
		}
		json_decref(out);
		call_release(&c);
		free(name);
		free(dir);
		free(cspec);
	}
}

static void cycle_error(struct model *m, const size_t *cycle, size_t n, struct diags *errors)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < n; i++)
		buf_addf(&b, "%s%s", i ? " -> " : "", m->resources[cycle[i]]->id);
	struct resource *r = m->resources[cycle[0]];
	manifest_error(errors, r->doc, "spec.dependsOn", "dependency cycle: %s", b.ptr);
	buf_release(&b);
}

static bool model_has_project(const struct state_row *r, void *payload)
{
	return model_owns_project(payload, r->project);
}

/* 1 + the index that index (key "project:id" -> 1 + position) holds for project and id, or 0. */
static size_t index_of(const struct map *index, const char *project, const char *id)
{
	return (size_t)map_get_pair(index, project, id);
}

/* The dependency graph of m's resources into g (node i is m->resources[i], an edge from each to
 * what it depends on) and index (key -> i + 1, for index_of). Both initialised here. */
static void model_graph(const struct model *m, struct graph *g, struct map *index)
{
	graph_init(g, m->nresources);
	for (size_t i = 0; i < m->nresources; i++)
		map_put(index, m->resources[i]->key, (void *)(i + 1));
	for (size_t i = 0; i < m->nresources; i++) {
		const struct resource *r = m->resources[i];
		for (size_t k = 0; k < r->deps.n; k++) {
			size_t d = index_of(index, r->project, r->deps.v[k]);
			if (d)
				graph_add_edge(g, i, d - 1);
		}
	}
}

static int build(struct plan *p, struct model *m, struct store *s, struct registry *reg,
                 const struct engine_opts *o, const json_t *saved, struct diags *errors)
{
	memset(p, 0, sizeof(*p));
	p->environment = m->env_name;
	p->model = m;
	bool destroy = o->destroy;
	if (saved) {
		destroy = json_is_true(json_object_get(saved, "destroy"));
		size_t k;
		json_t *t;
		json_array_foreach(json_object_get(saved, "targets"), k, t)
			if (json_is_string(t))
				strv_push(&p->targets, json_string_value(t));
	} else {
		for (size_t k = 0; k < o->ntargets; k++)
			strv_push(&p->targets, o->targets[k]);
	}
	p->destroy = destroy;
	p->secrets = secret_store_new(o->statedir, o->workdir, o->timeout_ms, o->secret_key_file);
	/* the values of sensitive variables, for scrubbing what plugins say back */
	for (size_t i = 0; m->env && i < m->env->sensitive.n; i++) {
		const json_t *v = json_object_get(m->env->variables, m->env->sensitive.v[i]);
		struct vars_ctx vc = { .unknown = "" };
		json_t *val = NULL;
		if (json_is_string(v) && vars_expand_string(json_string_value(v), &vc, &val) == CRATIS_OK)
			secret_store_remember(p->secrets, json_string_value(val));
		json_decref(val);
	}
	error_clear();
	registry_set_exec_procs(reg, o->jobs > 0 ? o->jobs : 1);
	int rc = store_list(s, m->env_name, NULL, &p->rows);
	/* one state may hold several projects: this plan sees only the model's own */
	store_rows_keep(&p->rows, model_has_project, m);
	if (rc) {
		diags_errorf(errors, cratis_error_last()->status, "%s", cratis_error_last()->message);
		return rc;
	}
	if (saved && (rc = check_saved_state(p, saved, errors)))
		return rc;
	/* -target of a child acts through its owner (the child's Rollout), as kubectl acts on a
	 * Deployment rather than the ReplicaSet it owns */
	for (size_t k = 0; k < p->targets.n; k++)
		for (size_t j = 0; j < p->rows.n; j++) {
			struct state_row *row = &p->rows.v[j];
			size_t pl = strlen(row->project);
			const char *t = p->targets.v[k];
			bool full = !strncmp(t, row->project, pl) && t[pl] == '/' && !strcmp(t + pl + 1, row->id);
			if (!row->owner || (strcmp(t, row->id) && !full))
				continue;
			char *parent = child_parent(row);
			if (!parent)
				continue;
			engine_logf(o->observer, CRATIS_LOG_INFO, NULL, "-target %s: a child resource of %s; the plan acts through its owner", t, parent);
			char *nt = full ? xasprintf("%s/%s", row->project, parent) : xstrdup(parent);
			free(p->targets.v[k]);
			p->targets.v[k] = nt;
			free(parent);
			break;
		}
	size_t nres = destroy ? 0 : m->nresources;
	/* graph and order of desired resources */
	struct graph g;
	struct map index = MAP_INIT;
	model_graph(m, &g, &index);
	size_t *order = NULL, *cycle = NULL, ncycle = 0;
	if (graph_order(&g, &order, &cycle, &ncycle)) {
		cycle_error(m, cycle, ncycle, errors);
		free(cycle);
		graph_release(&g);
		map_release(&index);
		return error_set(CRATIS_ECYCLE, "dependency cycle");
	}
	/* each recorded row to its resource, by one look-up per row instead of a search per
	 * resource: row_of[i] is the row of resource i (project and id equal); row_desired[j] says
	 * that row j has a resource under its key (not deleted) */
	struct state_row **row_of = xcalloc(m->nresources + 1, sizeof(*row_of));
	bool *row_desired = xcalloc(p->rows.n + 1, sizeof(bool));
	for (size_t j = 0; j < p->rows.n; j++) {
		struct state_row *row = &p->rows.v[j];
		size_t i = index_of(&index, row->project, row->id);
		if (i && row->owner) {
			/* a child's id is its owner's: a manifest cannot declare it (kubectl refuses to
			 * adopt an object another controller owns the same way) */
			manifest_error(errors, m->resources[i - 1]->doc, "metadata.name",
			               "%s is a child resource of %s (one of its releases or its Route) and cannot be declared in a manifest; give this resource another name",
			               row->id, row->owner);
			i = 0;
		}
		row_desired[j] = i != 0 || row->owner;
		if (i && !strcmp(m->resources[i - 1]->project, row->project) && !strcmp(m->resources[i - 1]->id, row->id))
			row_of[i - 1] = row;
	}
	/* -target: only the targets and what they depend on (destroy: what depends on them) */
	bool *keep_res = NULL, *keep_row = NULL;
	if (p->targets.n) {
		keep_res = xcalloc(m->nresources + 1, sizeof(bool));
		keep_row = xcalloc(p->rows.n + 1, sizeof(bool));
		if (select_targets(p, m, &g, (const char *const *)p->targets.v, p->targets.n, destroy, keep_res, keep_row, errors)) {
			free(keep_res);
			free(keep_row);
			free(row_of);
			free(row_desired);
			free(order);
			graph_release(&g);
			map_release(&index);
			return error_set(CRATIS_ENOTFOUND, "unknown -target");
		}
	}
	p->items = xcalloc(nres + p->rows.n + 1, sizeof(*p->items));
	/* items in dependency order: deps always have smaller indices */
	size_t *pos = xcalloc(m->nresources + 1, sizeof(size_t));
	for (size_t k = 0; k < nres; k++) {
		size_t i = order[k];
		if (keep_res && !keep_res[i])
			continue;
		struct resource *r = m->resources[i];
		struct plan_item *it = &p->items[p->n];
		pos[i] = p->n++;
		it->res = r;
		it->id = xstrdup(r->id);
		it->project = xstrdup(r->project);
		it->handler = r->handler;
		it->row = row_of[i];
		item_system(it, m, r->system);
		for (size_t d = 0; d < g.ndeps[i]; d++)
			add_dep(it, pos[g.deps[i][d]]);
		/* recorded outputs are read only by references (resolve_ref), which only a resource
		 * with pending variables has, to the items it depends on: parse just those */
		for (size_t d = 0; r->pending_vars && d < it->ndeps; d++) {
			struct plan_item *dep = &p->items[it->deps[d]];
			if (!dep->outputs && dep->row && dep->row->outputs)
				dep->outputs = json_loads(dep->row->outputs, 0, NULL);
		}
	}
	free(pos);
	free(order);
	free(row_of);
	free(keep_res);
	graph_release(&g);
	map_release(&index);

	/* credentials of Systems are references only (resolved by plugins through host->secret) */
	systems_auth_check(m, errors);

	/* validate every desired resource before deciding anything; then decide each one after the
	 * ones it depends on (their outputs and drift shape its spec), both on up to -j threads */
	struct saved_index sx = { MAP_INIT, STRV_INIT };
	if (saved) {
		/* a saved plan: its decisions, not new ones (no plugin is asked anything) */
		saved_index_init(&sx, json_object_get(saved, "resources"));
		for (size_t i = 0; i < p->n; i++)
			take_saved_item(p, i, &sx, errors);
		if (!destroy && !errors->n)
			plan_children(p, reg, o, &sx, errors);
	} else {
		run_items(p, p->n, o->jobs, false, validate_item, o, errors);
		if (errors->n) {
			free(row_desired);
			free(keep_row);
			return error_set(CRATIS_EINVAL, "validation failed");
		}
		run_items(p, p->n, o->jobs, true, decide_item, o, errors);
		if (!destroy && o->refresh && !errors->n)
			plan_children(p, reg, o, NULL, errors);
	}

	/* recorded resources no longer desired: delete, dependents first */
	size_t first_delete = p->n;
	for (size_t i = 0; i < p->rows.n; i++) {
		struct state_row *row = &p->rows.v[i];
		if (row->owner) {
			/* a child goes when its parent goes, before it (the parent's delete waits for its
			 * children's, through their deps); otherwise its owner's apply manages it */
			char *parent = child_parent(row);
			struct state_row *prow = parent ? store_rows_find(&p->rows, row->project, parent) : NULL;
			free(parent);
			bool goes = prow && (destroy || !row_desired[prow - p->rows.v]) && (!keep_row || keep_row[prow - p->rows.v]);
			if (!goes)
				continue;
		} else if (!destroy && row_desired[i]) {
			continue;
		}
		if (keep_row && !keep_row[i])
			continue;
		struct plan_item *it = &p->items[p->n++];
		it->action = ACT_DELETE;
		it->row = row;
		it->id = xstrdup(row->id);
		it->project = xstrdup(row->project);
		snprintf(it->kind_buf, sizeof(it->kind_buf), "%.*s", (int)(strchr(row->id, '/') - row->id), row->id);
		char *g2 = xstrndup(row->api_version, strcspn(row->api_version, "/"));
		const char *v2 = strchr(row->api_version, '/');
		it->handler = registry_find(reg, g2, it->kind_buf, v2 ? v2 + 1 : "");
		if (!it->handler)
			diags_errorf(errors, CRATIS_EINVAL, "%s (project %s): cannot delete: no plugin handles %s %s (loaded: %s)",
			                                  row->id, row->project, row->api_version, it->kind_buf, "see `cratis plugin list`");
		free(g2);
		if (row->outputs)
			it->outputs = json_loads(row->outputs, 0, NULL);
		json_t *rs = row->spec ? json_loads(row->spec, 0, NULL) : NULL;
		item_system(it, m, json_string_value(json_object_get(rs, "system")));
		json_decref(rs);
	}
	free(row_desired);
	free(keep_row);
	for (size_t i = first_delete; i < p->n; i++) {
		/* a deleted resource waits for the deletion of every deleted resource that depended on it */
		for (size_t j = first_delete; j < p->n; j++) {
			json_t *deps = p->items[j].row->deps ? json_loads(p->items[j].row->deps, 0, NULL) : NULL;
			for (size_t k = 0; json_is_array(deps) && k < json_array_size(deps); k++)
				if (!strcmp(json_string_value(json_array_get(deps, k)), p->items[i].id) &&
				    !strcmp(p->items[j].project, p->items[i].project))
					add_dep(&p->items[i], j);
			json_decref(deps);
		}
	}
	for (size_t i = first_delete; saved && i < p->n; i++)
		take_saved_item(p, i, &sx, errors);
	saved_index_release(&sx);
	for (size_t i = 0; i < p->n; i++)
		p->count[p->items[i].action]++;
	if (!saved && !errors->n)
		emit_drift(p, s, o);
	if (saved && !errors->n && json_array_size(json_object_get(saved, "resources")) != p->n)
		diags_errorf(errors, CRATIS_EINVAL, "saved plan is stale: it acts on %zu resources, the manifests and state now give %zu; run `cratis plan` again",
		             json_array_size(json_object_get(saved, "resources")), p->n);
	if (o->cancel && *o->cancel)
		return error_set(CRATIS_ERROR, "interrupted while planning");
	return errors->n ? error_set(CRATIS_EINVAL, "plan failed") : CRATIS_OK;
}

int plan_validate(struct model *m, struct registry *reg, const struct engine_opts *o, struct diags *errors)
{
	error_clear();
	registry_set_exec_procs(reg, o->jobs > 0 ? o->jobs : 1);
	struct graph g;
	struct map index = MAP_INIT;
	model_graph(m, &g, &index);
	map_release(&index);
	size_t *order = NULL, *cycle = NULL, ncycle = 0;
	int rc = CRATIS_OK;
	if (graph_order(&g, &order, &cycle, &ncycle)) {
		cycle_error(m, cycle, ncycle, errors);
		free(cycle);
		rc = error_set(CRATIS_ECYCLE, "dependency cycle");
	}
	free(order);
	graph_release(&g);
	systems_auth_check(m, errors);
	/* the validate op of each resource, as plan_build calls it; items carry no recorded row */
	struct plan p;
	memset(&p, 0, sizeof(p));
	p.environment = m->env_name;
	p.model = m;
	p.items = xcalloc(m->nresources + 1, sizeof(*p.items));
	for (size_t i = 0; i < m->nresources; i++) {
		struct plan_item *it = &p.items[p.n++];
		it->res = m->resources[i];
		it->id = xstrdup(it->res->id);
		it->project = xstrdup(it->res->project);
		it->handler = it->res->handler;
		item_system(it, m, it->res->system);
	}
	run_items(&p, p.n, o->jobs, false, validate_item, o, errors);
	plan_release(&p);
	if (!rc && errors->n)
		rc = error_set(CRATIS_EINVAL, "validation failed");
	return rc;
}

bool plan_has_changes(const struct plan *p)
{
	return p->count[ACT_CREATE] + p->count[ACT_UPDATE] + p->count[ACT_REPLACE] + p->count[ACT_DELETE] > 0;
}

/* "Kind" of "Kind/name" into kind (size n). */
static void kind_of(char *kind, size_t n, const char *id)
{
	const char *slash = strchr(id, '/');
	snprintf(kind, n, "%.*s", (int)(slash ? (size_t)(slash - id) : strlen(id)), id);
}

json_t *plan_to_json(const struct plan *p)
{
	json_t *items = json_array(), *changes = json_array();
	for (size_t i = 0; i < p->n; i++) {
		const struct plan_item *it = &p->items[i];
		json_t *o = json_pack("{s:s,s:s,s:s}", "id", it->id, "project", it->project, "action", action_names[it->action]);
		json_t *ch = json_array();
		for (size_t k = 0; k < it->changes.n; k++)
			json_array_append_new(ch, json_string(it->changes.v[k]));
		json_object_set_new(o, "changes", ch);
		if (it->reason)
			json_object_set_new(o, "reason", json_string(it->reason));
		json_array_append_new(items, o);
		char kind[128];
		kind_of(kind, sizeof(kind), it->id);
		const char *slash = strchr(it->id, '/');
		json_t *rc = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "address", it->id, "project", it->project, "type", kind,
		                       "name", slash ? slash + 1 : it->id, "action", action_names[it->action],
		                       "change", plan_item_change(it));
		if (it->reason)
			json_object_set_new(rc, "action_reason", json_string(it->reason));
		json_array_append_new(changes, rc);
	}
	json_t *j = json_pack("{s:s,s:s,s:s,s:o,s:o,s:{s:I,s:I,s:I,s:I,s:I}}", "format_version", PLAN_FORMAT_VERSION,
	                      "cratis_version", CRATIS_CORE_VERSION, "environment", p->environment, "resources", items,
	                      "resource_changes", changes,
	                      "summary", "create", (json_int_t)p->count[ACT_CREATE], "update", (json_int_t)p->count[ACT_UPDATE],
	                      "replace", (json_int_t)p->count[ACT_REPLACE], "delete", (json_int_t)p->count[ACT_DELETE],
	                      "noop", (json_int_t)p->count[ACT_NOOP]);
	if (p->targets.n) {
		json_t *t = json_array();
		for (size_t i = 0; i < p->targets.n; i++)
			json_array_append_new(t, json_string(p->targets.v[i]));
		json_object_set_new(j, "targets", t);
	}
	return j;
}

int plan_build(struct plan *p, struct model *m, struct store *s, struct registry *reg,
               const struct engine_opts *o, struct diags *errors)
{
	return build(p, m, s, reg, o, NULL, errors);
}

int plan_build_saved(struct plan *p, struct model *m, struct store *s, struct registry *reg,
                     const struct engine_opts *o, const json_t *saved, struct diags *errors)
{
	if (!json_is_array(json_object_get(saved, "resources")) || !json_is_array(json_object_get(saved, "prior_state"))) {
		memset(p, 0, sizeof(*p));
		diags_errorf(errors, CRATIS_EINVAL, "not a saved plan: expected the arrays 'resources' and 'prior_state'");
		return CRATIS_EINVAL;
	}
	return build(p, m, s, reg, o, saved, errors);
}

