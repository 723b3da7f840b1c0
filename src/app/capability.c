/* The application layer's capability use case: render an environment's capabilities for one
 * provider (docs/capabilities.md). */
#define _GNU_SOURCE
#include "app.h"

#include <stdlib.h>
#include <string.h>

#include "capability/cost.h"

#include "util/error.h"
#include "banned.h"

int app_render(struct app *a, const char *provider, const char *dir, bool deny_lock_in,
               struct render_result *out, struct diags *d)
{
	render_result_init(out);
	int rc = cap_render(out, &a->caps, &a->model, provider, d);
	if (rc)
		return rc;
	if (deny_lock_in && out->warnings.n) {
		for (size_t i = 0; i < out->warnings.n; i++) {
			out->warnings.v[i].severity = DIAG_ERROR;
			out->warnings.v[i].status = CRATIS_EINVAL;
		}
		diags_move(d, &out->warnings);
		return CRATIS_EINVAL;
	}
	if (dir && cap_render_write(out, dir)) {
		diags_add_last_error(d);
		return CRATIS_EIO;
	}
	return CRATIS_OK;
}

/* ---- lock-in warnings and cost (docs/capabilities.md) ---- */

/* Lock-in warnings turned into errors (--deny-lock-in): moved from w into d. */
static int deny(struct diags *w, struct diags *d)
{
	for (size_t i = 0; i < w->n; i++) {
		w->v[i].severity = DIAG_ERROR;
		w->v[i].status = CRATIS_EINVAL;
	}
	diags_move(d, w);
	return CRATIS_EINVAL;
}

int app_lock_in(struct app *a, const char *provider, bool deny_lock_in, struct diags *warnings, struct diags *d)
{
	const json_t *spec = a->model.env && a->model.env->doc ? json_object_get(a->model.env->doc->root, "spec") : NULL;
	if (!provider)
		provider = json_string_value(json_object_get(spec, "provider"));
	struct diags w = DIAGS_INIT;
	for (int pi = 0; pi < CAP_NPROVIDERS; pi++)
		if (!provider || !strcmp(provider, cap_providers[pi]))
			cap_lock_in(&w, &a->caps, &a->model, pi);
	int rc = CRATIS_OK;
	if (deny_lock_in && w.n)
		rc = deny(&w, d);
	else
		diags_move(warnings, &w);
	diags_release(&w);
	return rc;
}

void app_cost_release(struct app_cost *c)
{
	for (int pi = 0; pi < CAP_NPROVIDERS; pi++) {
		cost_estimate_release(&c->est[pi]);
		cost_estimate_release(&c->past[pi]);
	}
	free(c->project);
	free(c->environment);
	diags_release(&c->warnings);
	memset(c, 0, sizeof(*c));
	diags_init(&c->warnings);
}

/* Check the usage document's shape: {resource_usage: {ID: {KEY: scalar}}, resource_type_default_usage: {KIND: {...}}}. */
static void check_usage(const struct manifest_doc *doc, struct diags *d)
{
	if (!json_is_object(doc->root)) {
		manifest_error(d, doc, "", "expected a mapping with resource_usage and resource_type_default_usage");
		return;
	}
	const char *top;
	json_t *v;
	json_object_foreach(doc->root, top, v) {
		if (strcmp(top, "resource_usage") && strcmp(top, "resource_type_default_usage")) {
			if (strcmp(top, "version"))
				manifest_error(d, doc, top, "unknown key: expected resource_usage (by Kind/name) or resource_type_default_usage (by Kind)");
			continue;
		}
		const char *id, *key;
		json_t *u, *x;
		if (!json_is_object(v)) {
			manifest_error(d, doc, top, "expected a mapping of %s: {usage key: value}", !strcmp(top, "resource_usage") ? "Kind/name" : "Kind");
			continue;
		}
		json_object_foreach(v, id, u) {
			char *at = xasprintf("%s.%s", top, id);
			if (!json_is_object(u))
				manifest_error(d, doc, at, "expected a mapping of usage key: value");
			json_object_foreach(json_is_object(u) ? u : NULL, key, x) {
				if (!json_is_number(x) && !json_is_string(x) && !json_is_boolean(x)) {
					char *kp = xasprintf("%s.%s", at, key);
					manifest_error(d, doc, kp, "expected a number, found %s", json_type_phrase(x));
					free(kp);
				}
			}
			free(at);
		}
	}
}

static int cmp_resource(const void *x, const void *y)
{
	const struct resource *a = *(const struct resource *const *)x, *b = *(const struct resource *const *)y;
	int c = strcmp(a->id, b->id);
	return c ? c : strcmp(a->project, b->project);
}

int app_cost(struct app *a, const struct app_cost_options *o, struct app_cost *out, struct diags *d)
{
	memset(out, 0, sizeof(*out));
	diags_init(&out->warnings);
	out->diff = o->diff;
	out->environment = xstrdup(a->model.env_name ? a->model.env_name : "");
	const json_t *espec = a->model.env && a->model.env->doc ? json_object_get(a->model.env->doc->root, "spec") : NULL;
	const char *env_provider = json_string_value(json_object_get(espec, "provider"));
	/* which providers */
	bool want[CAP_NPROVIDERS] = { false };
	if (o->providers && *o->providers) {
		char *copy = xstrdup(o->providers), *save = NULL;
		for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
			int pi = cap_provider_index(p);
			if (pi < 0) {
				struct diag *dg = diags_errorf(d, CRATIS_EINVAL, "--provider: unknown provider '%s'", p);
				diag_hint(dg, "expected a comma-separated list of aws, gcp and azure");
			} else {
				want[pi] = true;
			}
		}
		free(copy);
		if (diags_errors(d))
			return CRATIS_EINVAL;
	} else if (o->diff && cap_provider_index(env_provider) >= 0) {
		want[cap_provider_index(env_provider)] = true;
	} else {
		for (int pi = 0; pi < CAP_NPROVIDERS; pi++)
			want[pi] = true;
	}
	/* the usage file */
	struct manifest_set us;
	manifest_set_init(&us);
	const json_t *usage = NULL;
	int rc = CRATIS_OK;
	if (o->usage_file) {
		if (manifest_load_path(&us, o->usage_file) == CRATIS_EIO)
			diags_add_last_error(d);
		diags_move(d, &us.errors);
		if (us.n == 1) {
			check_usage(us.docs[0], d);
			usage = us.docs[0]->root;
		} else if (!diags_errors(d)) {
			diags_errorf(d, CRATIS_EINVAL, "usage file '%s': expected one YAML document", o->usage_file);
		}
		if (diags_errors(d)) {
			manifest_set_release(&us);
			return CRATIS_EINVAL;
		}
	}
	struct cost_models models;
	if (cost_models_load(&models, &a->caps, d)) {
		rc = diags_status(d);
		goto out_models;
	}
	/* the capabilities of the manifests, by id */
	const struct resource **rv = xcalloc(a->model.nresources + 1, sizeof(*rv));
	struct cost_item *items = xcalloc(a->model.nresources + 1, sizeof(*items));
	size_t n = 0;
	for (size_t i = 0; i < a->model.nresources; i++)
		if (cap_catalog_find(&a->caps, a->model.resources[i]->group, a->model.resources[i]->kind, a->model.resources[i]->version))
			rv[n++] = a->model.resources[i];
	if (n)
		qsort(rv, n, sizeof(*rv), cmp_resource);
	for (size_t i = 0; i < n; i++)
		items[i] = (struct cost_item){ rv[i]->id, cap_catalog_find(&a->caps, rv[i]->group, rv[i]->kind, rv[i]->version),
		                               rv[i]->spec, rv[i]->doc };
	out->project = xstrdup(n ? rv[0]->project : a->model.nprojects ? a->model.projects[0].name : "");
	/* what state records (--diff) */
	struct state_rows rows = { 0 };
	json_t **specs = NULL;
	struct cost_item *past = NULL;
	size_t npast = 0;
	if (o->diff) {
		if (!a->store) {
			diags_errorf(d, CRATIS_EINVAL, "--diff needs the state store");
			rc = CRATIS_EINVAL;
			goto out_items;
		}
		if (store_list(a->store, out->environment, NULL, &rows)) {
			diags_add_last_error(d);
			rc = CRATIS_EIO;
			goto out_items;
		}
		specs = xcalloc(rows.n + 1, sizeof(*specs));
		past = xcalloc(rows.n + 1, sizeof(*past));
		for (size_t i = 0; i < rows.n; i++) {
			const struct state_row *r = &rows.v[i];
			const char *slash = r->api_version ? strchr(r->api_version, '/') : NULL;
			const char *kslash = strchr(r->id, '/');
			if (!r->spec || !slash || !kslash || r->owner)
				continue; /* a Rollout's child is costed with it */
			char *group = xstrndup(r->api_version, (size_t)(slash - r->api_version));
			char *kind = xstrndup(r->id, (size_t)(kslash - r->id));
			const struct cap_kind *k = cap_catalog_find(&a->caps, group, kind, slash + 1);
			free(group);
			free(kind);
			json_t *spec = k ? json_loads(r->spec, 0, NULL) : NULL;
			if (!spec)
				continue;
			specs[npast] = spec;
			past[npast++] = (struct cost_item){ r->id, k, spec, NULL };
		}
	}
	for (int pi = 0; pi < CAP_NPROVIDERS; pi++) {
		if (!want[pi])
			continue;
		const char *region = cap_region(&a->caps, &a->model, cap_providers[pi]);
		out->have[pi] = true;
		if (cost_estimate_items(&out->est[pi], &models, pi, region, items, n, usage, d))
			rc = CRATIS_EINVAL;
		if (o->diff && cost_estimate_items(&out->past[pi], &models, pi, region, past, npast, usage, d))
			rc = CRATIS_EINVAL;
		cap_lock_in(&out->warnings, &a->caps, &a->model, pi);
	}
	if (!rc && o->deny_lock_in && out->warnings.n)
		rc = deny(&out->warnings, d);
out_items:
	for (size_t i = 0; i < npast; i++)
		json_decref(specs[i]);
	free(specs);
	free(past);
	store_rows_release(&rows);
	free(items);
	free(rv);
out_models:
	cost_models_release(&models);
	manifest_set_release(&us);
	return rc;
}

/* The monthly cost of resource id in e, or -1 when e does not list it or cannot price it. */
static int64_t resource_cost(const struct cost_estimate *e, const char *id)
{
	for (size_t i = 0; i < e->n; i++)
		if (!strcmp(e->res[i].id, id))
			return e->res[i].priced ? e->res[i].total : -1;
	return -1;
}

int app_cost_cheapest(const struct app_cost *c, const char *id)
{
	int best = -1;
	int64_t bv = 0;
	for (int pi = 0; pi < CAP_NPROVIDERS; pi++) {
		if (!c->have[pi])
			continue;
		int64_t v = id ? resource_cost(&c->est[pi], id) : c->est[pi].total;
		if (!id) {
			for (size_t i = 0; i < c->est[pi].n; i++)
				if (!c->est[pi].res[i].priced)
					v = -1;
		}
		if (v < 0)
			continue;
		if (best < 0 || v < bv) {
			best = pi;
			bv = v;
		}
	}
	return best;
}

static int cmp_id(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The ids of cur and past, sorted and unique. */
static void diff_ids(struct strv *ids, const struct cost_estimate *cur, const struct cost_estimate *past)
{
	for (int w = 0; w < 2; w++) {
		const struct cost_estimate *e = w ? past : cur;
		for (size_t i = 0; i < e->n; i++) {
			bool have = false;
			for (size_t k = 0; k < ids->n && !have; k++)
				have = !strcmp(ids->v[k], e->res[i].id);
			if (!have)
				strv_push(ids, e->res[i].id);
		}
	}
	if (ids->n)
		qsort(ids->v, ids->n, sizeof(char *), cmp_id);
}

void app_cost_diff(const struct app_cost *c, int pi, struct strv *ids)
{
	diff_ids(ids, &c->est[pi], &c->past[pi]);
}

json_t *app_cost_json(const struct app_cost *c)
{
	json_t *projects = json_array();
	for (int pi = 0; pi < CAP_NPROVIDERS; pi++) {
		if (!c->have[pi])
			continue;
		json_t *p = cost_estimate_json(&c->est[pi], c->project);
		if (c->diff) {
			json_t *past = cost_estimate_json(&c->past[pi], c->project);
			json_object_set(p, "pastBreakdown", json_object_get(past, "breakdown"));
			json_decref(past);
			struct strv ids = STRV_INIT;
			diff_ids(&ids, &c->est[pi], &c->past[pi]);
			json_t *res = json_array();
			for (size_t i = 0; i < ids.n; i++) {
				int64_t now = resource_cost(&c->est[pi], ids.v[i]), then = resource_cost(&c->past[pi], ids.v[i]);
				int64_t delta = (now < 0 ? 0 : now) - (then < 0 ? 0 : then);
				json_array_append_new(res, json_pack("{s:s, s:o, s:o, s:o}", "name", ids.v[i],
					"pastMonthlyCost", then < 0 ? json_null() : cost_money_json(then),
					"monthlyCost", now < 0 ? json_null() : cost_money_json(now),
					"monthlyCostDelta", cost_money_json(delta)));
			}
			strv_release(&ids);
			json_object_set_new(p, "pastTotalMonthlyCost", cost_money_json(c->past[pi].total));
			json_object_set_new(p, "diffTotalMonthlyCost", cost_money_json(c->est[pi].total - c->past[pi].total));
			json_object_set_new(p, "diff", json_pack("{s:o, s:o}", "resources", res,
				"totalMonthlyCost", cost_money_json(c->est[pi].total - c->past[pi].total)));
		}
		json_array_append_new(projects, p);
	}
	/* side by side: each resource's monthly cost per provider and the cheapest */
	json_t *cmp = json_array();
	int first = -1;
	for (int pi = 0; pi < CAP_NPROVIDERS && first < 0; pi++)
		if (c->have[pi])
			first = pi;
	for (size_t i = 0; first >= 0 && i < c->est[first].n; i++) {
		const char *id = c->est[first].res[i].id;
		json_t *costs = json_object();
		for (int pi = 0; pi < CAP_NPROVIDERS; pi++) {
			if (!c->have[pi])
				continue;
			int64_t v = resource_cost(&c->est[pi], id);
			json_object_set_new(costs, cap_providers[pi], v < 0 ? json_null() : cost_money_json(v));
		}
		int best = app_cost_cheapest(c, id);
		json_array_append_new(cmp, json_pack("{s:s, s:o, s:o}", "name", id, "monthlyCost", costs,
			"cheapestProvider", best < 0 ? json_null() : json_string(cap_providers[best])));
	}
	json_t *totals = json_object();
	for (int pi = 0; pi < CAP_NPROVIDERS; pi++)
		if (c->have[pi])
			json_object_set_new(totals, cap_providers[pi], cost_money_json(c->est[pi].total));
	int best = app_cost_cheapest(c, NULL);
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:{s:o, s:o, s:o}}", "version", "0.2", "currency",
		first >= 0 && c->est[first].currency ? c->est[first].currency : "USD", "environment", c->environment,
		"project", c->project ? c->project : "", "projects", projects,
		"comparison", "resources", cmp, "totalMonthlyCost", totals,
		"cheapestProvider", best < 0 ? json_null() : json_string(cap_providers[best]));
}
