/* Cost estimates of capabilities: the plugins' cost models loaded and their formulas compiled
 * in the Lua sandbox, resources priced per provider in integer micro-units, lock-in warnings
 * shared by render, plan and cost. */
#define _GNU_SOURCE
#include "cost.h"

#include <stdio.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/error.h"
#include "banned.h"

struct cost_component_def {
	const char *name, *unit, *price_key;
	int quantity_fn;             /* sandbox handle */
	int by_fn;                   /* sandbox handle of price.by, -1: a plain price */
	const json_t *usage;         /* array of usage keys, or NULL: not usage-based */
	char *path;                  /* "kinds.K.components[i]" (owned) */
};

static const char *sget(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* A price value from a cost model: a decimal string, an integer, or a real printed back to its
 * shortest decimal (YAML without quotes). */
static int price_value(int64_t *out, const json_t *v)
{
	if (json_is_string(v))
		return money_parse(out, json_string_value(v));
	if (json_is_integer(v))
		return money_from_int(out, json_integer_value(v));
	if (json_is_real(v)) {
		char s[64];
		snprintf(s, sizeof(s), "%.15g", json_real_value(v));
		return money_parse(out, s);
	}
	return -1;
}

static void cost_model_release_one(struct cost_model *cm)
{
	for (size_t i = 0; i < cm->ncomps; i++)
		free(cm->comps[i].path);
	free(cm->comps);
	free(cm->path);
}

void cost_models_release(struct cost_models *m)
{
	for (size_t i = 0; i < m->n; i++)
		cost_model_release_one(&m->v[i]);
	free(m->v);
	manifest_set_release(&m->docs);
	sandbox_free(m->sb);
	memset(m, 0, sizeof(*m));
	manifest_set_init(&m->docs);
}

/* Compile a formula found at field of doc; -1 after an error. */
static int compile_at(struct cost_models *m, const struct manifest_doc *doc, const char *field, const char *expr,
                      struct diags *errors)
{
	char *err = NULL;
	int fn = sandbox_compile(m->sb, expr, "=formula", &err);
	if (fn < 0) {
		manifest_error(errors, doc, field, "the formula does not compile: %s", err);
		free(err);
	}
	return fn;
}

static void check_prices(const struct manifest_doc *doc, const char *at, const json_t *prices, struct diags *errors)
{
	if (!json_is_object(prices)) {
		manifest_error(errors, doc, at, "expected a mapping of region: {KEY: price or {SIZE: price}}");
		return;
	}
	const char *region, *key, *size;
	json_t *tab, *v, *pv;
	json_object_foreach((json_t *)prices, region, tab) {
		char *rp = xasprintf("%s.%s", at, region);
		if (!json_is_object(tab))
			manifest_error(errors, doc, rp, "expected a mapping of price keys");
		json_object_foreach(json_is_object(tab) ? tab : NULL, key, v) {
			char *kp = xasprintf("%s.%s", rp, key);
			int64_t x;
			if (json_is_object(v)) {
				json_object_foreach(v, size, pv) {
					char *sp = xasprintf("%s.%s", kp, size);
					if (price_value(&x, pv))
						manifest_error(errors, doc, sp, "expected a price: a decimal of at most 6 places such as \"0.023\" (express smaller prices per a larger unit)");
					free(sp);
				}
			} else if (price_value(&x, v)) {
				manifest_error(errors, doc, kp, "expected a price: a decimal of at most 6 places such as \"0.023\", or a mapping SIZE: price");
			}
			free(kp);
		}
		free(rp);
	}
}

/* s is a date YYYY-MM-DD (month 01-12, day 01-31). */
static bool is_date(const char *s)
{
	for (int i = 0; i < 10; i++)
		if (i == 4 || i == 7 ? s[i] != '-' : !isdigit((unsigned char)s[i]))
			return false;
	int mo = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
	return !s[10] && mo >= 1 && mo <= 12 && d >= 1 && d <= 31;
}

static void load_kind_model(struct cost_models *m, const struct cap_kind *k, int pi, const struct manifest_doc *doc,
                            const char *kname, const json_t *def, struct diags *errors)
{
	ALLOC_GROW(m->v, m->n + 1, m->alloc);
	struct cost_model *cm = &m->v[m->n];
	memset(cm, 0, sizeof(*cm));
	cm->kind = k;
	cm->pi = pi;
	cm->doc = doc;
	cm->path = xasprintf("kinds.%s", kname);
	cm->currency = sget(doc->root, "currency") ? sget(doc->root, "currency") : "USD";
	cm->source = sget(def, "source") ? sget(def, "source") : sget(doc->root, "source");
	cm->date = sget(def, "date") ? sget(def, "date") : sget(doc->root, "date");
	if (!cm->source || !cm->date)
		manifest_error(errors, doc, cm->path, "expected the prices' source (URL) and date, in the file or the kind");
	else if (!is_date(cm->date) || (strncmp(cm->source, "https://", 8) && strncmp(cm->source, "http://", 7))) {
		bool date = !is_date(cm->date);
		const char *key = date ? "date" : "source";
		bool in_kind = sget(def, key), said = false;
		for (size_t i = 0; i < m->n && !in_kind; i++)
			said |= m->v[i].doc == doc;   /* the file's own value: reported once, with its first kind */
		char *at = in_kind ? xasprintf("%s.%s", cm->path, key) : xstrdup(key);
		if (!said)
			manifest_error(errors, doc, at, date ? "expected the date the prices were read, as YYYY-MM-DD, found '%s'"
			                                     : "expected the prices' source as a URL (https://...), found '%s'",
			               date ? cm->date : cm->source);
		free(at);
	}
	cm->prices = json_object_get(def, "prices");
	char *pp = xasprintf("%s.prices", cm->path);
	check_prices(doc, pp, cm->prices, errors);
	free(pp);
	const json_t *comps = json_object_get(def, "components");
	if (!json_is_array(comps) || !json_array_size(comps)) {
		char *cp = xasprintf("%s.components", cm->path);
		manifest_error(errors, doc, json_is_array(comps) ? cp : cm->path, "expected components: a sequence of {name, unit, quantity, price}");
		free(cp);
		m->n++;
		return;
	}
	cm->comps = xcalloc(json_array_size(comps), sizeof(*cm->comps));
	size_t i;
	json_t *c;
	json_array_foreach(comps, i, c) {
		struct cost_component_def *cd = &cm->comps[cm->ncomps++];
		cd->path = xasprintf("%s.components[%zu]", cm->path, i);
		cd->quantity_fn = cd->by_fn = -1;
		cd->name = sget(c, "name");
		cd->unit = sget(c, "unit");
		const char *q = sget(c, "quantity");
		const json_t *price = json_object_get(c, "price");
		if (!json_is_object(c) || !cd->name || !cd->unit || !q) {
			manifest_error(errors, doc, cd->path, "expected {name, unit, quantity: LUA EXPRESSION, price: KEY | {table: KEY, by: LUA EXPRESSION}, usage: [KEY...]}");
			continue;
		}
		char *f = xasprintf("%s.quantity", cd->path);
		cd->quantity_fn = compile_at(m, doc, f, q, errors);
		free(f);
		if (json_is_string(price)) {
			cd->price_key = json_string_value(price);
		} else if (json_is_object(price) && sget(price, "table")) {
			cd->price_key = sget(price, "table");
			f = xasprintf("%s.price.by", cd->path);
			cd->by_fn = compile_at(m, doc, f, sget(price, "by") ? sget(price, "by") : "size", errors);
			free(f);
		} else {
			f = xasprintf("%s.price", cd->path);
			manifest_error(errors, doc, price ? f : cd->path, "expected price: KEY (prices.REGION.KEY) or {table: KEY, by: LUA EXPRESSION naming the size}");
			free(f);
		}
		const json_t *usage = json_object_get(c, "usage");
		if (usage) {
			size_t j;
			json_t *u;
			bool ok = json_is_array(usage);
			json_array_foreach(usage, j, u)
				ok &= json_is_string(u);
			if (!ok) {
				f = xasprintf("%s.usage", cd->path);
				manifest_error(errors, doc, f, "expected a sequence of usage keys (the usage file's resource_usage values)");
				free(f);
			} else if (json_array_size(usage)) {
				cd->usage = usage;
			}
		}
	}
	m->n++;
}

int cost_models_load(struct cost_models *out, const struct cap_catalog *c, struct diags *errors)
{
	memset(out, 0, sizeof(*out));
	manifest_set_init(&out->docs);
	if (sandbox_new(&out->sb, 0, 0)) {
		diags_errorf(errors, CRATIS_ERROR, "cannot start the Lua interpreter of cost formulas: out of memory");
		return CRATIS_ERROR;
	}
	size_t before = diags_errors(errors);
	for (size_t i = 0; i < c->nplugins; i++) {
		const struct cap_plugin *p = &c->plugins[i];
		for (int pi = 0; pi < CAP_NPROVIDERS; pi++) {
			char *path = xasprintf("%s/cost_models/%s.yaml", p->dir, cap_providers[pi]);
			if (access(path, F_OK)) {
				free(path);
				continue;
			}
			size_t n0 = out->docs.n;
			if (manifest_load_path(&out->docs, path) == CRATIS_EIO)
				diags_errorf(errors, CRATIS_EIO, "%s", cratis_error_last()->message);
			free(path);
			diags_move(errors, &out->docs.errors);
			if (out->docs.n != n0 + 1)
				continue;
			const struct manifest_doc *doc = out->docs.docs[n0];
			const json_t *kinds = json_object_get(doc->root, "kinds");
			if (!json_is_object(kinds)) {
				manifest_error(errors, doc, "kinds", "expected kinds: {KIND: {components, prices}}");
				continue;
			}
			const char *kname;
			json_t *def;
			json_object_foreach((json_t *)kinds, kname, def) {
				const struct cap_kind *k = NULL;
				for (size_t j = 0; j < p->nkinds && !k; j++)
					if (p->kinds[j].kind && !strcmp(p->kinds[j].kind, kname))
						k = &p->kinds[j];
				char *kp = xasprintf("kinds.%s", kname);
				if (!k)
					manifest_error(errors, doc, kp, "plugin '%s' declares no capability of kind '%s'", p->name, kname);
				else
					load_kind_model(out, k, pi, doc, kname, def, errors);
				free(kp);
			}
		}
	}
	return diags_errors(errors) > before ? CRATIS_EPLUGIN : CRATIS_OK;
}

void cost_estimate_release(struct cost_estimate *e)
{
	for (size_t i = 0; i < e->n; i++) {
		struct cost_resource *r = &e->res[i];
		for (size_t k = 0; k < r->n; k++) {
			free(r->comps[k].name);
			free(r->comps[k].unit);
		}
		free(r->comps);
		free(r->id);
		free(r->kind);
	}
	free(e->res);
	free(e->provider);
	free(e->region);
	free(e->currency);
	strv_release(&e->sources);
	memset(e, 0, sizeof(*e));
}

static const struct cost_model *find_model(const struct cost_models *m, const struct cap_kind *k, int pi)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].kind == k && m->v[i].pi == pi)
			return &m->v[i];
	return NULL;
}

/* The spec with the kind's field defaults filled in (new reference). */
static json_t *config_of(const struct cap_kind *k, const json_t *spec)
{
	json_t *c = json_is_object(spec) ? json_deep_copy(spec) : json_object();
	size_t i;
	json_t *f;
	json_array_foreach(k->fields, i, f) {
		const char *path = sget(f, "path");
		const json_t *def = json_object_get(f, "default");
		if (path && def && !json_object_get(c, path + 5))
			json_object_set(c, path + 5, (json_t *)def);
	}
	return c;
}

/* The usage of id of kind: resource_type_default_usage.KIND overlaid by resource_usage.ID. */
static json_t *usage_of(const json_t *usage, const char *kind, const char *id)
{
	json_t *u = json_object();
	const json_t *def = json_object_get(json_object_get(usage, "resource_type_default_usage"), kind);
	const json_t *own = json_object_get(json_object_get(usage, "resource_usage"), id);
	if (json_is_object(def))
		json_object_update(u, (json_t *)def);
	if (json_is_object(own))
		json_object_update(u, (json_t *)own);
	return u;
}

static void add_source(struct strv *s, const struct cost_model *cm)
{
	char *src = xasprintf("%s (%s)", cm->source ? cm->source : "?", cm->date ? cm->date : "?");
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], src)) {
			free(src);
			return;
		}
	size_t at = 0;
	while (at < s->n && strcmp(s->v[at], src) < 0)
		at++;
	strv_push_owned(s, src);
	memmove(&s->v[at + 1], &s->v[at], (s->n - 1 - at) * sizeof(char *));
	s->v[at] = src;
}

/* Report a formula problem of component cd for item it at the cost model's location. */
static void formula_error(struct diags *d, const struct cost_model *cm, const struct cost_component_def *cd,
                          const char *which, const struct cost_item *it, const char *msg)
{
	char *f = xasprintf("%s.%s", cd->path, which);
	manifest_error(d, cm->doc, f, "%s '%s' of %s: %s", cm->kind->kind, cd->name, it->id, msg);
	free(f);
}

int cost_estimate_items(struct cost_estimate *out, const struct cost_models *m, int pi, const char *region,
                        const struct cost_item *items, size_t n, const json_t *usage, struct diags *d)
{
	memset(out, 0, sizeof(*out));
	out->provider = xstrdup(cap_providers[pi]);
	out->region = xstrdup(region ? region : "");
	out->res = xcalloc(n + 1, sizeof(*out->res));
	int rc = CRATIS_OK;
	for (size_t i = 0; i < n; i++) {
		const struct cost_item *it = &items[i];
		struct cost_resource *r = &out->res[out->n++];
		r->id = xstrdup(it->id);
		r->kind = xstrdup(it->kind->kind);
		const struct cost_model *cm = find_model(m, it->kind, pi);
		if (!cm)
			continue;
		r->priced = true;
		if (!out->currency)
			out->currency = xstrdup(cm->currency);
		add_source(&out->sources, cm);
		json_t *env = json_object();
		json_t *config = config_of(it->kind, it->spec);
		const json_t *size = json_object_get(it->kind->impl[pi], "size");
		if (size) {
			const char *from = sget(size, "from");
			const json_t *sv = from ? json_object_get(config, from + 5) : NULL;
			const json_t *mapped = json_is_string(sv) ? json_object_get(json_object_get(size, "map"), json_string_value(sv)) : NULL;
			if (mapped)
				json_object_set(env, "size", (json_t *)mapped);
		}
		json_object_set_new(env, "config", config);
		json_t *u = usage_of(usage, it->kind->kind, it->id);
		json_object_set(env, "usage", u);
		json_object_set_new(env, "region", json_string(out->region));
		const json_t *table = json_object_get(cm->prices, out->region);
		r->comps = xcalloc(cm->ncomps + 1, sizeof(*r->comps));
		for (size_t k = 0; k < cm->ncomps; k++) {
			const struct cost_component_def *cd = &cm->comps[k];
			if (cd->quantity_fn < 0)
				continue;
			struct cost_component *c = &r->comps[r->n++];
			c->name = xstrdup(cd->name);
			c->unit = xstrdup(cd->unit);
			c->usage_based = cd->usage != NULL;
			c->quantity_known = true;
			size_t j;
			json_t *key;
			json_array_foreach(cd->usage, j, key)
				if (!json_object_get(u, json_string_value(key)))
					c->quantity_known = false;
			char *err = NULL;
			json_t *q = NULL;
			if (c->quantity_known) {
				if (sandbox_eval(m->sb, cd->quantity_fn, env, &q, &err)) {
					formula_error(d, cm, cd, "quantity", it, err);
					rc = CRATIS_EINVAL;
					c->quantity_known = false;
				} else if (json_is_integer(q) ? money_from_int(&c->quantity, json_integer_value(q))
				                              : !json_is_real(q) || money_from_double(&c->quantity, json_real_value(q))) {
					char *s = json_dumps(q, JSON_ENCODE_ANY);
					char *msg = xasprintf("the quantity is %s; expected a number from 0 to 9.2e12", s ? s : "?");
					formula_error(d, cm, cd, "quantity", it, msg);
					free(msg);
					free(s);
					rc = CRATIS_EINVAL;
					c->quantity_known = false;
				}
				json_decref(q);
				free(err);
				err = NULL;
			}
			/* the price: prices.REGION.KEY, or prices.REGION.KEY.SIZE with SIZE from price.by */
			const json_t *pv = json_object_get(table, cd->price_key);
			if (cd->by_fn >= 0 && pv) {
				json_t *sz = NULL;
				if (sandbox_eval(m->sb, cd->by_fn, env, &sz, &err)) {
					formula_error(d, cm, cd, "price.by", it, err);
					rc = CRATIS_EINVAL;
					pv = NULL;
				} else if (json_is_string(sz)) {
					pv = json_object_get(pv, json_string_value(sz));
				} else if (json_is_integer(sz)) {
					char s[32];
					snprintf(s, sizeof(s), "%" JSON_INTEGER_FORMAT, json_integer_value(sz));
					pv = json_object_get(pv, s);
				} else {
					formula_error(d, cm, cd, "price.by", it, json_is_null(sz) ? "the size is nil; expected a string or integer naming a price" :
					              "expected a string or integer naming a price");
					rc = CRATIS_EINVAL;
					pv = NULL;
				}
				json_decref(sz);
				free(err);
			} else if (cd->by_fn < 0 && json_is_object(pv)) {
				pv = NULL;   /* a size table used without `by` */
			}
			if (!pv || price_value(&c->price, pv)) {
				c->price_missing = true;
				c->price = 0;
			}
			if (c->quantity_known && !c->price_missing && money_mul(&c->cost, c->quantity, c->price)) {
				formula_error(d, cm, cd, "quantity", it, "the monthly cost overflows");
				rc = CRATIS_EINVAL;
				c->cost = 0;
			}
			if (!c->quantity_known && c->usage_based)
				out->usage_unknown++;
			if (c->price_missing)
				out->price_missing++;
			if (money_add(&r->total, c->cost) || money_add(&out->total, c->cost)) {
				formula_error(d, cm, cd, "quantity", it, "the total overflows");
				rc = CRATIS_EINVAL;
			}
		}
		json_decref(u);
		json_decref(env);
	}
	if (!out->currency)
		out->currency = xstrdup("USD");
	return rc;
}

const char *cap_region(const struct cap_catalog *c, const struct model *m, const char *provider)
{
	const json_t *spec = m->env && m->env->doc ? json_object_get(m->env->doc->root, "spec") : NULL;
	const char *env_provider = sget(spec, "provider");
	if (env_provider && !strcmp(env_provider, provider) && sget(spec, "region"))
		return sget(spec, "region");
	const char *def = sget(cap_catalog_provider(c, provider), "defaultRegion");
	return def ? def : "";
}

void cap_lock_in_resource(struct diags *warnings, const struct cap_kind *k, const struct resource *r, int pi)
{
	const char *prov = cap_providers[pi];
	const json_t *opts = json_object_get(json_object_get(r->spec, "providerOptions"), prov);
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(k->impl[pi], "options"), i, o) {
		const char *name = sget(o, "name");
		if (!json_object_get(opts, name))
			continue;
		char *field = xasprintf("spec.providerOptions.%s.%s", prov, name);
		struct loc l;
		manifest_locate(r->doc, field, &l);
		struct diag *dg = diags_add(warnings, DIAG_WARNING, CRATIS_OK,
		                            "%s uses the %s-only feature '%s' (%s): it ties this resource to %s",
		                            r->id, prov, name, sget(o, "help"), prov);
		diag_locate(dg, l.file, l.line, l.col, field);
		if (sget(o, "alternative"))
			diag_hint(dg, "portable alternative: %s", sget(o, "alternative"));
		free(field);
	}
}

static int cmp_res_id(const void *a, const void *b)
{
	const struct resource *x = *(const struct resource *const *)a, *y = *(const struct resource *const *)b;
	int c = strcmp(x->id, y->id);
	return c ? c : strcmp(x->project, y->project);
}

void cap_lock_in(struct diags *warnings, const struct cap_catalog *c, const struct model *m, int pi)
{
	if (pi < 0 || pi >= CAP_NPROVIDERS || !m->nresources)
		return;
	const struct resource **v = xcalloc(m->nresources, sizeof(*v));
	for (size_t i = 0; i < m->nresources; i++)
		v[i] = m->resources[i];
	qsort(v, m->nresources, sizeof(*v), cmp_res_id);
	for (size_t i = 0; i < m->nresources; i++) {
		const struct cap_kind *k = cap_catalog_find(c, v[i]->group, v[i]->kind, v[i]->version);
		if (k && k->impl[pi])
			cap_lock_in_resource(warnings, k, v[i], pi);
	}
	free(v);
}

json_t *cost_money_json(int64_t v)
{
	struct buf b = BUF_INIT;
	money_format(&b, v, 0);
	json_t *j = json_string(b.ptr);
	buf_release(&b);
	return j;
}

json_t *cost_estimate_json(const struct cost_estimate *e, const char *project)
{
	json_t *resources = json_array();
	for (size_t i = 0; i < e->n; i++) {
		const struct cost_resource *r = &e->res[i];
		json_t *comps = json_array();
		for (size_t k = 0; k < r->n; k++) {
			const struct cost_component *c = &r->comps[k];
			json_array_append_new(comps, json_pack("{s:s, s:s, s:o, s:o, s:o, s:b, s:b}",
				"name", c->name, "unit", c->unit,
				"monthlyQuantity", c->quantity_known ? cost_money_json(c->quantity) : json_null(),
				"price", cost_money_json(c->price),
				"monthlyCost", c->quantity_known && !c->price_missing ? cost_money_json(c->cost) : json_null(),
				"usageBased", c->usage_based, "priceNotFound", c->price_missing));
		}
		json_array_append_new(resources, json_pack("{s:s, s:s, s:b, s:o, s:o}", "name", r->id, "resourceType", r->kind,
			"priced", r->priced, "monthlyCost", r->priced ? cost_money_json(r->total) : json_null(), "costComponents", comps));
	}
	json_t *sources = json_array();
	for (size_t i = 0; i < e->sources.n; i++)
		json_array_append_new(sources, json_string(e->sources.v[i]));
	size_t unpriced = 0;
	for (size_t i = 0; i < e->n; i++)
		unpriced += !e->res[i].priced;
	return json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:o}, s:{s:o, s:o}, s:{s:I, s:I, s:I, s:I}}",
		"name", e->provider,
		"metadata", "provider", e->provider, "region", e->region, "project", project ? project : "",
		"currency", e->currency ? e->currency : "USD", "priceSources", sources,
		"breakdown", "resources", resources, "totalMonthlyCost", cost_money_json(e->total),
		"summary", "totalResources", (json_int_t)e->n, "totalUnsupportedResources", (json_int_t)unpriced,
		"usageUnknownCostComponents", (json_int_t)e->usage_unknown, "priceNotFoundCostComponents", (json_int_t)e->price_missing);
}
