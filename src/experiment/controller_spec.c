/* Experiments: the Experiment spec, parsed and checked (the handler's validate and every
 * operation read it through xp_spec_parse). Errors name the field. */
#define _GNU_SOURCE
#include "experiment_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "experiment/objective.h"
#include "util/error.h"
#include "banned.h"

__attribute__((format(printf, 3, 4))) static int bad(struct diags *d, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct diag *dg = diags_vadd(d, DIAG_ERROR, CRATIS_EINVAL, fmt, ap);
	va_end(ap);
	diag_locate(dg, NULL, 0, 0, field);
	return CRATIS_EINVAL;
}

static bool good_name(const char *s)
{
	if (!s || !*s || strlen(s) > 63)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return false;
	return true;
}

/* A number field (integer or real, or a string of one); NAN when absent, -INFINITY when not a number. */
static double num_field(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	if (!v)
		return NAN;
	if (json_is_number(v))
		return json_number_value(v);
	const char *s = json_string_value(v);
	char *end;
	double x = s && *s ? strtod(s, &end) : 0;
	return s && *s && !*end && isfinite(x) ? x : -INFINITY;
}

/* The longest duration accepted: 10 years, in seconds. */
#define XP_MAX_SECONDS (10.0 * 366 * 86400)

/* A duration field: seconds as a number, or "250ms", "30s", "5m", "1h", "7d" (a decimal number
 * and a unit; a bare number is seconds). -1 when bad (negative, not finite, over 10 years), -2
 * when absent. */
static double dur_field(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	if (!v)
		return -2;
	double x;
	if (json_is_number(v)) {
		x = json_number_value(v);
	} else if (json_is_string(v)) {
		const char *t = json_string_value(v);
		char *end;
		x = *t ? strtod(t, &end) : -1;
		if (!*t || end == t)
			return -1;
		double mult = !strcmp(end, "ms") ? 0.001 : (!strcmp(end, "s") || !*end) ? 1 : !strcmp(end, "m") ? 60
		              : !strcmp(end, "h") ? 3600 : !strcmp(end, "d") ? 86400 : -1;
		if (mult < 0)
			return -1;
		x *= mult;
	} else {
		return -1;
	}
	return isfinite(x) && x >= 0 && x <= XP_MAX_SECONDS ? x : -1;
}

static int check_keys(struct diags *d, json_t *o, const char *where, const char *const *keys)
{
	int rc = CRATIS_OK;
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		bool known = false;
		for (size_t i = 0; keys[i] && !known; i++)
			known = !strcmp(keys[i], k);
		if (!known) {
			struct buf all = BUF_INIT;
			for (size_t i = 0; keys[i]; i++)
				buf_addf(&all, "%s%s", i ? ", " : "", keys[i]);
			char *f = xasprintf("%s.%s", where, k);
			rc = bad(d, f, "unknown field (expected one of %s)", all.ptr);
			free(f);
			buf_release(&all);
		}
	}
	return rc;
}

/* The index of the metric called name in the spec's metrics, or -1. */
static int metric_index(json_t *metrics, const char *name)
{
	size_t i;
	json_t *m;
	json_array_foreach(metrics, i, m) {
		const char *n = json_string_value(json_object_get(m, "name"));
		if (n && name && !strcmp(n, name))
			return (int)i;
	}
	return -1;
}

/* The definition slot of spec metric index mi in out->defs (added when new). */
static size_t def_slot(struct xp_spec *out, json_t *metrics, int mi)
{
	json_t *m = json_array_get(metrics, (size_t)mi);
	for (size_t i = 0; i < out->n_defs; i++)
		if (out->defs[i] == m)
			return i;
	out->defs[out->n_defs] = m;
	return out->n_defs++;
}

int xp_spec_parse(struct xp_spec *out, json_t *spec, struct diags *d)
{
	memset(out, 0, sizeof(*out));
	size_t before = diags_errors(d);
	static const char *const top[] = { "rollout", "variants", "split", "objective", "metrics", "provider", "guardrails",
	                                   "duration", "alpha", "power", "minimumDetectableEffect", "until", "mode", "promotion",
	                                   NULL };
	if (!json_is_object(spec))
		return bad(d, "spec", "expected a mapping");
	check_keys(d, spec, "spec", top);
	out->rollout = json_string_value(json_object_get(spec, "rollout"));
	if (!out->rollout || !*out->rollout)
		bad(d, "spec.rollout", "expected the name of the Rollout whose live release is the control (a string)");
	/* variants */
	json_t *vs = json_object_get(spec, "variants");
	size_t nctl = 0;
	if (!json_is_array(vs) || json_array_size(vs) < 2 || json_array_size(vs) > DECIDE_MAX_VARIANTS) {
		bad(d, "spec.variants", "expected a sequence of 2 to %d variants ({name, control: true} or {name, template, variables})",
		    DECIDE_MAX_VARIANTS);
	} else {
		size_t i;
		json_t *v;
		json_array_foreach(vs, i, v) {
			char where[64];
			snprintf(where, sizeof(where), "spec.variants[%zu]", i);
			static const char *const vkeys[] = { "name", "control", "template", "variables", NULL };
			if (!json_is_object(v)) {
				bad(d, where, "expected a mapping {name, control: true} or {name, template, variables}");
				continue;
			}
			check_keys(d, v, where, vkeys);
			struct xp_variant *x = &out->variants[out->n_variants++];
			x->name = json_string_value(json_object_get(v, "name"));
			x->weight = 1;
			char f[96];
			snprintf(f, sizeof(f), "%s.name", where);
			if (!good_name(x->name))
				bad(d, f, "expected a variant name of letters, digits, '_' and '-' (at most 63)");
			for (size_t k = 0; x->name && k + 1 < out->n_variants; k++)
				if (out->variants[k].name && !strcmp(out->variants[k].name, x->name))
					bad(d, f, "variant '%s' is named twice", x->name);
			json_t *ctl = json_object_get(v, "control");
			snprintf(f, sizeof(f), "%s.control", where);
			if (ctl && !json_is_boolean(ctl))
				bad(d, f, "expected true or false");
			x->control = json_is_true(ctl);
			json_t *tmpl = json_object_get(v, "template"), *vars = json_object_get(v, "variables");
			if (x->control) {
				out->control = out->n_variants - 1;
				nctl++;
				if (tmpl || vars) {
					snprintf(f, sizeof(f), "%s.%s", where, tmpl ? "template" : "variables");
					bad(d, f, "the control is the Rollout's live release: it takes no template or variables");
				}
				continue;
			}
			snprintf(f, sizeof(f), "%s.template", where);
			if (tmpl && (!json_is_object(tmpl) || !json_is_array(json_object_get(tmpl, "command"))))
				bad(d, f, "expected a Service template as the Rollout's (command: [argv], env, workdir, health)");
			snprintf(f, sizeof(f), "%s.variables", where);
			if (vars && !json_is_object(vars))
				bad(d, f, "expected a mapping NAME: value, added to the variant's environment");
			const char *vk;
			json_t *vv;
			json_object_foreach(vars, vk, vv)
				if (!json_is_string(vv) && !json_is_number(vv) && !json_is_boolean(vv)) {
					char *g = xasprintf("%s.%s", f, vk);
					bad(d, g, "expected a string, number or boolean");
					free(g);
				}
		}
		if (nctl != 1)
			bad(d, "spec.variants", "expected exactly one variant with control: true (the Rollout's live release), found %zu", nctl);
	}
	/* split */
	json_t *split = json_object_get(spec, "split");
	static const char *const skeys[] = { "weights", "stickiness", "cookie", "pinHeader", "userHeader", NULL };
	if (split && !json_is_object(split))
		bad(d, "spec.split", "expected a mapping {weights, stickiness, cookie, pinHeader, userHeader}");
	check_keys(d, split, "spec.split", skeys);
	out->stickiness = json_string_value(json_object_get(split, "stickiness"));
	if (!out->stickiness)
		out->stickiness = "cookie";
	if (strcmp(out->stickiness, "cookie") && strcmp(out->stickiness, "header") && strcmp(out->stickiness, "none"))
		bad(d, "spec.split.stickiness", "expected cookie, header or none");
	out->cookie = json_string_value(json_object_get(split, "cookie"));
	out->pin_header = json_string_value(json_object_get(split, "pinHeader"));
	out->user_header = json_string_value(json_object_get(split, "userHeader"));
	if (!strcmp(out->stickiness, "header") && !out->user_header)
		bad(d, "spec.split.userHeader", "stickiness: header needs the header carrying the user id (X-User-Id)");
	json_t *weights = json_object_get(split, "weights");
	if (weights && !json_is_object(weights))
		bad(d, "spec.split.weights", "expected a mapping VARIANT: weight");
	const char *wk;
	json_t *wv;
	json_object_foreach(weights, wk, wv) {
		char *f = xasprintf("spec.split.weights.%s", wk);
		size_t k = 0;
		while (k < out->n_variants && (!out->variants[k].name || strcmp(out->variants[k].name, wk)))
			k++;
		if (k == out->n_variants)
			bad(d, f, "no variant is called '%s'", wk);
		else if (!json_is_number(wv) || json_number_value(wv) <= 0 || !isfinite(json_number_value(wv)))
			bad(d, f, "expected a number > 0 (weights are relative: any scale)");
		else
			out->variants[k].weight = json_number_value(wv);
		free(f);
	}
	/* metrics and their provider */
	json_t *metrics = json_object_get(spec, "metrics");
	if (!json_is_array(metrics) || !json_array_size(metrics)) {
		bad(d, "spec.metrics", "expected a sequence of metric definitions ({name, kind: ratio|mean, ...}; docs/experiments.md)");
		metrics = NULL;
	}
	size_t i;
	json_t *m;
	json_array_foreach(metrics, i, m) {
		char where[64];
		snprintf(where, sizeof(where), "spec.metrics[%zu]", i);
		struct metric_def def;
		metric_def_from_json(&def, m, where, d);
		metric_def_release(&def);
	}
	json_t *prov = json_object_get(spec, "provider");
	static const char *const pkeys[] = { "type", "url", "command", "timeoutSeconds", NULL };
	if (prov && !json_is_object(prov))
		bad(d, "spec.provider", "expected a mapping {type: nginx | prometheus | command, url, command}");
	check_keys(d, prov, "spec.provider", pkeys);
	const char *pt = json_string_value(json_object_get(prov, "type"));
	out->prom_url = json_string_value(json_object_get(prov, "url"));
	out->command = json_object_get(prov, "command");
	double to = num_field(prov, "timeoutSeconds");
	out->provider_timeout_ms = to >= 1 && to <= 3600 ? (int)(to * 1000) : 0;
	if (!isnan(to) && !(to >= 1 && to <= 3600))
		bad(d, "spec.provider.timeoutSeconds", "expected a number of seconds from 1 to 3600");
	if (!pt || !strcmp(pt, "nginx")) {
		out->provider = XP_NGINX;
	} else if (!strcmp(pt, "prometheus")) {
		out->provider = XP_PROMETHEUS;
		if (!out->prom_url || (strncmp(out->prom_url, "http://", 7) && strncmp(out->prom_url, "https://", 8)))
			bad(d, "spec.provider.url", "expected the Prometheus server's base URL (http://127.0.0.1:9090)");
	} else if (!strcmp(pt, "command")) {
		out->provider = XP_COMMAND;
		bool ok = json_is_array(out->command) && json_array_size(out->command);
		for (size_t k = 0; ok && k < json_array_size(out->command); k++)
			ok = json_is_string(json_array_get(out->command, k));
		if (!ok)
			bad(d, "spec.provider.command", "expected the command as a sequence of strings (no shell)");
	} else {
		bad(d, "spec.provider.type", "expected nginx (the dealer's access log), prometheus or command");
	}
	/* objective */
	json_t *obj = json_object_get(spec, "objective");
	static const char *const okeys[] = { "metric", "direction", "expression", NULL };
	if (!json_is_object(obj)) {
		bad(d, "spec.objective", "expected a mapping {metric: NAME, direction: maximize | minimize}");
	} else {
		check_keys(d, obj, "spec.objective", okeys);
		json_t *ex = json_object_get(obj, "expression");
		if (ex && json_object_get(obj, "metric"))
			bad(d, "spec.objective", "expected either metric (one metric) or expression (a composite objective), not both");
		if (ex && (!json_is_string(ex) || !*json_string_value(ex)))
			bad(d, "spec.objective.expression", "expected an expression over the metrics (revenue.mean * buy.rate)");
		else if (ex && json_array_size(metrics) > METRICS_MAX_METRICS)
			bad(d, "spec.metrics", "a composite objective reads at most %d metrics", METRICS_MAX_METRICS);
		else if (ex) {
			out->expression = json_string_value(ex);
			out->cfg.metric = DECIDE_MEAN;
			struct objective_metric om[METRICS_MAX_METRICS];
			json_array_foreach(metrics, i, m) {
				def_slot(out, metrics, (int)i);
				const char *kind = json_string_value(json_object_get(m, "kind"));
				om[i] = (struct objective_metric){ .name = json_string_value(json_object_get(m, "name")),
				                                   .kind = kind && !strcmp(kind, "mean") ? DECIDE_MEAN : DECIDE_RATIO };
			}
			bool named = true;
			for (size_t k = 0; k < json_array_size(metrics); k++)
				named = named && om[k].name;
			struct objective *compiled = NULL;
			if (named && metrics)
				objective_compile(&compiled, out->expression, om, json_array_size(metrics), "spec.objective.expression", d);
			objective_free(compiled);
		}
		const char *dir = json_string_value(json_object_get(obj, "direction"));
		if (dir && strcmp(dir, "maximize") && strcmp(dir, "minimize"))
			bad(d, "spec.objective.direction", "expected maximize or minimize");
		out->cfg.direction = dir && !strcmp(dir, "minimize") ? DECIDE_MINIMIZE : DECIDE_MAXIMIZE;
		const char *mn = json_string_value(json_object_get(obj, "metric"));
		int mi = metric_index(metrics, mn);
		if (!ex && mi < 0)
			bad(d, "spec.objective.metric", "expected the name of one of spec.metrics%s%s%s", mn ? " ('" : "", mn ? mn : "",
			    mn ? "' is not one)" : "");
		if (!ex && mi >= 0) {
			out->objective_metric = def_slot(out, metrics, mi);
			const char *kind = json_string_value(json_object_get(json_array_get(metrics, (size_t)mi), "kind"));
			out->cfg.metric = kind && !strcmp(kind, "mean") ? DECIDE_MEAN : DECIDE_RATIO;
		}
	}
	/* guardrails */
	json_t *grs = json_object_get(spec, "guardrails");
	if (grs && (!json_is_array(grs) || json_array_size(grs) > DECIDE_MAX_GUARDRAILS))
		bad(d, "spec.guardrails", "expected a sequence of at most %d {metric, direction, threshold, relative}", DECIDE_MAX_GUARDRAILS);
	json_t *g;
	json_array_foreach(json_is_array(grs) && json_array_size(grs) <= DECIDE_MAX_GUARDRAILS ? grs : NULL, i, g) {
		char where[64], f[96];
		snprintf(where, sizeof(where), "spec.guardrails[%zu]", i);
		static const char *const gkeys[] = { "metric", "direction", "threshold", "relative", NULL };
		if (!json_is_object(g)) {
			bad(d, where, "expected a mapping {metric, direction, threshold, relative}");
			continue;
		}
		check_keys(d, g, where, gkeys);
		struct decide_guardrail *gr = &out->guardrails[out->cfg.n_guardrails];
		const char *mn = json_string_value(json_object_get(g, "metric"));
		int mi = metric_index(metrics, mn);
		snprintf(f, sizeof(f), "%s.metric", where);
		if (mi < 0) {
			bad(d, f, "expected the name of one of spec.metrics");
			continue;
		}
		gr->name = mn;
		const char *kind = json_string_value(json_object_get(json_array_get(metrics, (size_t)mi), "kind"));
		gr->metric = kind && !strcmp(kind, "mean") ? DECIDE_MEAN : DECIDE_RATIO;
		const char *dir = json_string_value(json_object_get(g, "direction"));
		snprintf(f, sizeof(f), "%s.direction", where);
		if (dir && strcmp(dir, "maximize") && strcmp(dir, "minimize"))
			bad(d, f, "expected minimize (lower is better, the default) or maximize");
		gr->direction = dir && !strcmp(dir, "maximize") ? DECIDE_MAXIMIZE : DECIDE_MINIMIZE;
		double th = num_field(g, "threshold");
		snprintf(f, sizeof(f), "%s.threshold", where);
		if (isnan(th) || !(th >= 0) || !isfinite(th))
			bad(d, f, "expected the largest tolerated worsening, a number >= 0 (a fraction of the control's value when relative)");
		gr->threshold = th >= 0 && isfinite(th) ? th : 0;
		json_t *rel = json_object_get(g, "relative");
		snprintf(f, sizeof(f), "%s.relative", where);
		if (rel && !json_is_boolean(rel))
			bad(d, f, "expected true or false");
		gr->relative = json_is_true(rel);
		if (out->n_defs < METRICS_MAX_METRICS)
			out->guardrail_metric[out->cfg.n_guardrails] = def_slot(out, metrics, mi);
		out->cfg.n_guardrails++;
	}
	out->cfg.guardrails = out->guardrails;
	/* duration and statistics */
	json_t *dur = json_object_get(spec, "duration");
	static const char *const dkeys[] = { "min", "max", "minSamples", NULL };
	if (!json_is_object(dur)) {
		bad(d, "spec.duration", "expected a mapping {min, max, minSamples} (max is required: 30m, 2h, 7d in seconds...)");
	} else {
		check_keys(d, dur, "spec.duration", dkeys);
		double mn = dur_field(dur, "min"), mx = dur_field(dur, "max"), ms = num_field(dur, "minSamples");
		if (mn == -1)
			bad(d, "spec.duration.min", "expected a duration (30s, 10m, 2h, 7d) or a number of seconds, at most 10 years");
		if (mx == -2 || mx == -1 || mx <= 0)
			bad(d, "spec.duration.max", "expected the longest the experiment runs: a duration (30m, 2h, 14d) or seconds > 0, at most 10 years");
		else if (mn > mx)
			bad(d, "spec.duration.max", "expected at least duration.min");
		if (!isnan(ms) && !(ms >= 0 && isfinite(ms)))
			bad(d, "spec.duration.minSamples", "expected a number of samples per variant >= 0");
		out->cfg.min_duration_s = mn > 0 ? mn : 0;
		out->cfg.max_duration_s = mx > 0 ? mx : 0;
		out->cfg.min_samples = ms >= 0 && isfinite(ms) ? ms : 0;
	}
	double alpha = num_field(spec, "alpha"), power = num_field(spec, "power"), mde = num_field(spec, "minimumDetectableEffect");
	if (!isnan(alpha) && !(alpha > 0 && alpha < 1))
		bad(d, "spec.alpha", "expected the significance level, a number in (0, 1) such as 0.05");
	if (!isnan(power) && !(power > 0 && power < 1))
		bad(d, "spec.power", "expected the power, a number in (0, 1) such as 0.8");
	if (!isnan(mde) && !(mde > 0 && isfinite(mde)))
		bad(d, "spec.minimumDetectableEffect", "expected the smallest relative effect worth detecting, a number > 0 (0.1 for 10%%)");
	out->cfg.alpha = isnan(alpha) ? 0.05 : alpha;
	out->cfg.power = isnan(power) ? 0.8 : power;
	out->cfg.mde = isnan(mde) ? 0.1 : mde;
	const char *until = json_string_value(json_object_get(spec, "until")), *mode = json_string_value(json_object_get(spec, "mode"));
	const char *promo = json_string_value(json_object_get(spec, "promotion"));
	if (json_object_get(spec, "until") && (!until || (strcmp(until, "significance") && strcmp(until, "max"))))
		bad(d, "spec.until", "expected significance (stop as soon as the answer is known) or max");
	if (json_object_get(spec, "mode") && (!mode || (strcmp(mode, "sequential") && strcmp(mode, "fixed"))))
		bad(d, "spec.mode", "expected sequential (always-valid, the default) or fixed");
	if (json_object_get(spec, "promotion") && (!promo || (strcmp(promo, "automatic") && strcmp(promo, "manual"))))
		bad(d, "spec.promotion", "expected automatic or manual");
	out->cfg.until = until && !strcmp(until, "max") ? DECIDE_UNTIL_MAX : DECIDE_UNTIL_SIGNIFICANCE;
	out->cfg.mode = mode && !strcmp(mode, "fixed") ? DECIDE_FIXED : DECIDE_SEQUENTIAL;
	out->manual = promo && !strcmp(promo, "manual");
	/* identity: the spec's canonical text */
	char *text = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
	uint64_t h = 1469598103934665603ull;
	for (const char *p = text ? text : ""; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	free(text);
	snprintf(out->hash, sizeof(out->hash), "%016llx", (unsigned long long)h);
	return diags_errors(d) > before ? CRATIS_EINVAL : CRATIS_OK;
}

void xp_spec_release(struct xp_spec *s)
{
	for (size_t i = 0; i < s->n_variants; i++)
		json_decref(s->variants[i].tmpl);
	memset(s, 0, sizeof(*s));
}

int xp_spec_defs(const struct xp_spec *s, struct metric_def *defs)
{
	struct diags d = DIAGS_INIT;
	int rc = CRATIS_OK;
	for (size_t i = 0; i < s->n_defs; i++) {
		char where[32];
		snprintf(where, sizeof(where), "metrics[%zu]", i);
		if (metric_def_from_json(&defs[i], s->defs[i], where, &d) && !rc)
			rc = error_set(CRATIS_EINVAL, "%s", d.n ? d.v[0].message : "invalid metric");
	}
	diags_release(&d);
	return rc;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *xp_b64_encode(const void *data, size_t len)
{
	const unsigned char *p = data;
	char *out = xmalloc(4 * ((len + 2) / 3) + 1), *o = out;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < len ? p[i + 2] : 0);
		*o++ = b64[v >> 18 & 63];
		*o++ = b64[v >> 12 & 63];
		*o++ = i + 1 < len ? b64[v >> 6 & 63] : '=';
		*o++ = i + 2 < len ? b64[v & 63] : '=';
	}
	*o = 0;
	return out;
}

void *xp_b64_decode(const char *text, size_t *len)
{
	size_t n = strlen(text);
	*len = 0;
	if (n % 4)
		return NULL;
	unsigned char *out = xmalloc(n / 4 * 3 + 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i += 4) {
		uint32_t v = 0;
		int pad = 0;
		for (size_t j = 0; j < 4; j++) {
			const char *c = strchr(b64, text[i + j]);
			if (text[i + j] == '=' && i + 4 == n && j >= 2) {
				pad++;
				v <<= 6;
			} else if (c && text[i + j] && !pad) {
				v = v << 6 | (uint32_t)(c - b64);
			} else {
				free(out);
				return NULL;
			}
		}
		if ((pad == 2 && (v & 0xffff)) || (pad == 1 && (v & 0xff))) {
			free(out); /* bits under the padding must be 0 (canonical, RFC 4648 3.5) */
			return NULL;
		}
		out[k++] = (unsigned char)(v >> 16);
		if (pad < 2)
			out[k++] = (unsigned char)(v >> 8);
		if (pad < 1)
			out[k++] = (unsigned char)v;
	}
	*len = k;
	return out;
}
