/* Metric definitions and per-variant accumulators (issue 12): what the providers count, and the
 * decide_sample each metric gives the decision. */
#include "experiment/metrics.h"

#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"
#include "util/error.h"
#include "util/util.h"

#define USER_EXPOSED 1u
#define USER_CONVERTED 2u

static bool valid_name(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '_' || *s == '-' || *s == '.'))
			return false;
	return true;
}

void metric_def_release(struct metric_def *def)
{
	char **strs[] = { &def->name, &def->exposure_path, &def->conversion_path, &def->path,
	                  &def->field, &def->src_exposures, &def->src_conversions, &def->src_count,
	                  &def->src_sum, &def->src_sumsq };
	for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
}

static int def_error(struct diags *d, const char *where, const char *key, const char *msg)
{
	struct diag *dg = diags_errorf(d, CRATIS_EINVAL, "%s", msg);
	char *field = xasprintf("%s%s%s", where, key ? "." : "", key ? key : "");
	diag_locate(dg, NULL, 0, 0, field);
	free(field);
	return CRATIS_EINVAL;
}

int metric_def_from_json(struct metric_def *out, const json_t *j, const char *where,
                         struct diags *d)
{
	memset(out, 0, sizeof *out);
	if (!json_is_object(j))
		return def_error(d, where, NULL, "expected an object");
	static const char *const keys[] = { "name", "kind", "exposure", "conversion", "status", "path",
	                                    "field", "aggregate", "reservoir", "exposures",
	                                    "conversions", "count", "sum", "sumsq" };
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)j, key, v) {
		size_t k = 0;
		while (k < sizeof keys / sizeof *keys && strcmp(keys[k], key) != 0)
			k++;
		if (k == sizeof keys / sizeof *keys)
			return def_error(d, where, key, "unknown field");
		if (k == 8) {
			if (!json_is_integer(v) || json_integer_value(v) < 0 ||
			    json_integer_value(v) > 10000000)
				return def_error(d, where, key, "expected an integer from 0 to 10000000");
		} else if (!json_is_string(v) || json_string_length(v) == 0) {
			return def_error(d, where, key, "expected a non-empty string");
		}
	}
#define STR(k) (json_string_value(json_object_get(j, k)))
#define DUP(k) (STR(k) ? xstrdup(STR(k)) : NULL)
	if (!STR("name") || !valid_name(STR("name")))
		return def_error(d, where, "name", "expected a name of letters, digits, '_', '-' or '.'");
	out->name = DUP("name");
	const char *kind = STR("kind");
	if (!kind || (strcmp(kind, "ratio") != 0 && strcmp(kind, "mean") != 0))
		return def_error(d, where, "kind", "expected \"ratio\" or \"mean\"");
	out->kind = strcmp(kind, "ratio") == 0 ? METRIC_RATIO : METRIC_MEAN;
	out->exposure_path = xstrdup(STR("exposure") ? STR("exposure") : "*");
	out->conversion_path = DUP("conversion");
	out->path = xstrdup(STR("path") ? STR("path") : "*");
	out->field = xstrdup(STR("field") ? STR("field") : "request_time");
	out->src_exposures = DUP("exposures");
	out->src_conversions = DUP("conversions");
	out->src_count = DUP("count");
	out->src_sum = DUP("sum");
	out->src_sumsq = DUP("sumsq");
	const char *status = STR("status");
	if (!status || strcmp(status, "any") == 0)
		out->conversion_status = status ? 0 : 2;
	else if (strlen(status) == 3 && status[0] >= '1' && status[0] <= '5' && status[1] == 'x' &&
	         status[2] == 'x')
		out->conversion_status = status[0] - '0';
	else
		return def_error(d, where, "status", "expected a status class \"1xx\" to \"5xx\" or \"any\"");
	const char *agg = STR("aggregate");
	if (!agg || strcmp(agg, "request") == 0)
		out->aggregate = METRIC_PER_REQUEST;
	else if (strcmp(agg, "user-sum") == 0)
		out->aggregate = METRIC_PER_USER_SUM;
	else if (strcmp(agg, "user-mean") == 0)
		out->aggregate = METRIC_PER_USER_MEAN;
	else
		return def_error(d, where, "aggregate", "expected \"request\", \"user-sum\" or \"user-mean\"");
	json_t *res = json_object_get(j, "reservoir");
	out->reservoir = res ? (size_t)json_integer_value(res) : 0;
	if (out->kind == METRIC_RATIO) {
		if (!out->conversion_path && !(out->src_exposures && out->src_conversions))
			return def_error(d, where, "conversion",
			                 "a ratio needs a conversion path (access log) or both exposures and "
			                 "conversions sources");
		if (!out->src_exposures != !out->src_conversions)
			return def_error(d, where, out->src_exposures ? "conversions" : "exposures",
			                 "a ratio's sources are exposures and conversions together");
		if (out->src_count || out->src_sum || out->src_sumsq || json_object_get(j, "field") ||
		    json_object_get(j, "aggregate") || out->reservoir)
			return def_error(d, where, NULL, "count, sum, sumsq, field, aggregate and reservoir "
			                 "are for a mean");
	} else {
		int srcs = !!out->src_count + !!out->src_sum + !!out->src_sumsq;
		if (srcs != 0 && srcs != 3)
			return def_error(d, where, !out->src_count ? "count" : !out->src_sum ? "sum" : "sumsq",
			                 "a mean's sources are count, sum and sumsq together");
		if (out->conversion_path || out->src_exposures || out->src_conversions ||
		    json_object_get(j, "exposure") || json_object_get(j, "status"))
			return def_error(d, where, NULL, "exposure, conversion, status, exposures and "
			                 "conversions are for a ratio");
		if (out->reservoir && out->aggregate != METRIC_PER_REQUEST)
			return def_error(d, where, "reservoir", "a reservoir keeps per-request values only");
	}
#undef STR
#undef DUP
	return 0;
}

/* ---- user sets ---- */

static uint64_t hash_user(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h ? h : 1;
}

struct metric_user *metric_users_get(struct metric_users *u, uint64_t key, bool *fresh)
{
	if ((u->n + 1) * 4 > u->cap * 3) {
		size_t cap = u->cap ? u->cap * 2 : 64;
		struct metric_user *slots = xcalloc(cap, sizeof *slots);
		for (size_t i = 0; i < u->cap; i++) {
			if (!u->slots[i].key)
				continue;
			size_t j = u->slots[i].key & (cap - 1);
			while (slots[j].key)
				j = (j + 1) & (cap - 1);
			slots[j] = u->slots[i];
		}
		free(u->slots);
		u->slots = slots;
		u->cap = cap;
	}
	size_t j = key & (u->cap - 1);
	while (u->slots[j].key && u->slots[j].key != key)
		j = (j + 1) & (u->cap - 1);
	*fresh = !u->slots[j].key;
	if (*fresh) {
		u->slots[j].key = key;
		u->n++;
	}
	return &u->slots[j];
}

static void users_release(struct metric_users *u)
{
	free(u->slots);
	memset(u, 0, sizeof *u);
}

/* ---- sets ---- */

static void acc_release(struct metric_acc *a)
{
	free(a->values);
	users_release(&a->users);
	memset(a, 0, sizeof *a);
}

int metric_set_init(struct metric_set *set, const char *const *variants, size_t n_variants,
                    struct metric_def *defs, size_t n_metrics)
{
	memset(set, 0, sizeof *set);
	set->rng = 0x9e3779b97f4a7c15ull;
	if (n_variants == 0 || n_variants > METRICS_MAX_VARIANTS)
		return error_set(CRATIS_EINVAL, "an experiment has 1 to %d variants, not %zu",
		                 METRICS_MAX_VARIANTS, n_variants);
	if (n_metrics == 0 || n_metrics > METRICS_MAX_METRICS)
		return error_set(CRATIS_EINVAL, "an experiment has 1 to %d metrics, not %zu",
		                 METRICS_MAX_METRICS, n_metrics);
	for (size_t i = 0; i < n_variants; i++) {
		if (!valid_name(variants[i]))
			return error_set(CRATIS_EINVAL, "variant '%s': expected a name of letters, digits, "
			                 "'_', '-' or '.'", variants[i] ? variants[i] : "");
		for (size_t k = 0; k < i; k++)
			if (strcmp(variants[k], variants[i]) == 0)
				return error_set(CRATIS_EINVAL, "variant '%s' is listed twice", variants[i]);
	}
	for (size_t i = 0; i < n_metrics; i++)
		for (size_t k = 0; k < i; k++)
			if (strcmp(defs[k].name, defs[i].name) == 0)
				return error_set(CRATIS_EINVAL, "metric '%s' is defined twice", defs[i].name);
	for (size_t i = 0; i < n_variants; i++)
		set->variants[i] = xstrdup(variants[i]);
	set->n_variants = n_variants;
	for (size_t i = 0; i < n_metrics; i++) {
		set->defs[i] = defs[i];
		memset(&defs[i], 0, sizeof defs[i]);
	}
	set->n_metrics = n_metrics;
	return 0;
}

void metric_set_clear(struct metric_set *set)
{
	for (size_t m = 0; m < set->n_metrics; m++)
		for (size_t v = 0; v < set->n_variants; v++)
			acc_release(&set->acc[m][v]);
	for (size_t v = 0; v < set->n_variants; v++) {
		users_release(&set->seen_users[v]);
		set->exposures[v] = 0;
	}
}

void metric_set_release(struct metric_set *set)
{
	metric_set_clear(set);
	for (size_t m = 0; m < set->n_metrics; m++)
		metric_def_release(&set->defs[m]);
	for (size_t v = 0; v < set->n_variants; v++)
		free(set->variants[v]);
	memset(set, 0, sizeof *set);
}

int metric_set_variant(const struct metric_set *set, const char *name)
{
	for (size_t v = 0; v < set->n_variants; v++)
		if (strcmp(set->variants[v], name) == 0)
			return (int)v;
	return -1;
}

int metric_set_metric(const struct metric_set *set, const char *name)
{
	for (size_t m = 0; m < set->n_metrics; m++)
		if (strcmp(set->defs[m].name, name) == 0)
			return (int)m;
	return -1;
}

static int variant_index(const struct metric_set *set, const char *s, size_t n)
{
	for (size_t v = 0; v < set->n_variants; v++)
		if (strlen(set->variants[v]) == n && memcmp(set->variants[v], s, n) == 0)
			return (int)v;
	return -1;
}

static bool path_matches(const char *pattern, const char *path)
{
	return (pattern[0] == '*' && pattern[1] == '\0') || fnmatch(pattern, path, 0) == 0;
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

static void add_value(struct metric_set *set, const struct metric_def *def, struct metric_acc *a,
                      double x)
{
	a->n += 1;
	a->sum += x;
	a->sumsq += x * x;
	if (!def->reservoir)
		return;
	a->seen++;
	if (a->n_values < def->reservoir) {
		if (!a->values)
			a->values = xmalloc(def->reservoir * sizeof *a->values);
		a->values[a->n_values++] = x;
	} else {
		uint64_t k = rng_next(&set->rng) % a->seen;   /* Vitter's algorithm R */
		if (k < def->reservoir)
			a->values[k] = x;
	}
}

/* A user's value changes from old (when had) to now: update the sums over users. */
static void user_value(struct metric_acc *a, bool had, double old, double now)
{
	if (!had) {
		a->n += 1;
		a->sum += now;
		a->sumsq += now * now;
	} else {
		a->sum += now - old;
		a->sumsq += now * now - old * old;
	}
}

bool metric_set_add_request(struct metric_set *set, const struct metric_request *req,
                            const char *line, size_t len)
{
	int v = variant_index(set, req->variant, req->variant_len);
	if (v < 0)
		return false;
	_Static_assert(2 * METRICS_MAX_METRICS <= 32, "a ratio's two bits per metric fit the flags");
	char path[4096];
	size_t pn = req->path_len < sizeof path - 1 ? req->path_len : sizeof path - 1;
	memcpy(path, req->path, pn);
	path[pn] = '\0';
	uint64_t user = req->user_len ? hash_user(req->user, req->user_len) : 0;
	bool fresh;
	struct metric_user *seen = NULL;   /* the user's entry: its flags hold every ratio's bits */
	if (user) {
		seen = metric_users_get(&set->seen_users[v], user, &fresh);
		if (fresh)
			set->exposures[v] += 1;
	}
	for (size_t m = 0; m < set->n_metrics; m++) {
		const struct metric_def *def = &set->defs[m];
		struct metric_acc *a = &set->acc[m][v];
		if (def->kind == METRIC_RATIO) {
			if (!user || !def->conversion_path)
				continue;
			bool exp = path_matches(def->exposure_path, path);
			bool conv = path_matches(def->conversion_path, path) &&
			            (def->conversion_status == 0 || req->status / 100 == def->conversion_status);
			if (!exp && !conv)
				continue;
			uint32_t exposed = USER_EXPOSED << (2 * m), converted = USER_CONVERTED << (2 * m);
			if (exp && !(seen->flags & exposed)) {
				seen->flags |= exposed;
				a->exposures += 1;
				if (seen->flags & converted)
					a->conversions += 1;
			}
			if (conv && !(seen->flags & converted)) {
				seen->flags |= converted;
				if (seen->flags & exposed)
					a->conversions += 1;
			}
			continue;
		}
		if (!path_matches(def->path, path))
			continue;
		double x;
		if (strcmp(def->field, "request_time") == 0)
			x = req->request_time;
		else if (!nginx_log_number(&x, line, len, def->field))
			continue;
		if (!isfinite(x))
			continue;
		if (def->aggregate == METRIC_PER_REQUEST) {
			add_value(set, def, a, x);
			continue;
		}
		if (!user)
			continue;
		struct metric_user *u = metric_users_get(&a->users, user, &fresh);
		bool had = u->count > 0;
		double old = def->aggregate == METRIC_PER_USER_SUM ? u->sum
		             : had ? u->sum / u->count : 0;
		u->sum += x;
		u->count++;
		double now = def->aggregate == METRIC_PER_USER_SUM ? u->sum : u->sum / u->count;
		user_value(a, had, old, now);
	}
	return true;
}

void metric_set_sample(struct decide_sample *out, const struct metric_set *set, size_t m,
                       size_t v)
{
	const struct metric_acc *a = &set->acc[m][v];
	memset(out, 0, sizeof *out);
	if (set->defs[m].kind == METRIC_RATIO) {
		out->n = a->exposures;
		out->conversions = a->conversions;
		return;
	}
	out->n = a->n;
	out->mean = a->n > 0 ? a->sum / a->n : NAN;
	if (a->n >= 2) {
		double var = (a->sumsq - a->sum * a->sum / a->n) / (a->n - 1);
		out->var = var > 0 ? var : 0;
	}
}

static json_t *num(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

json_t *metric_set_to_json(const struct metric_set *set)
{
	json_t *vars = json_array();
	for (size_t v = 0; v < set->n_variants; v++) {
		json_t *ms = json_object();
		for (size_t m = 0; m < set->n_metrics; m++) {
			const struct metric_acc *a = &set->acc[m][v];
			struct decide_sample s;
			metric_set_sample(&s, set, m, v);
			json_t *o;
			if (set->defs[m].kind == METRIC_RATIO) {
				o = json_pack("{s:o,s:o,s:o}", "exposures", num(a->exposures), "conversions",
				              num(a->conversions), "rate",
				              num(a->exposures > 0 ? a->conversions / a->exposures : NAN));
			} else {
				o = json_pack("{s:o,s:o,s:o,s:o,s:o,s:I}", "n", num(a->n), "sum", num(a->sum),
				              "sumsq", num(a->sumsq), "mean", num(s.mean), "var", num(s.var),
				              "reservoir", (json_int_t)a->n_values);
			}
			json_object_set_new(ms, set->defs[m].name, o);
		}
		json_array_append_new(vars, json_pack("{s:s,s:o,s:o}", "name", set->variants[v], "users",
		                                      num(set->exposures[v]), "metrics", ms));
	}
	return json_pack("{s:o}", "variants", vars);
}
