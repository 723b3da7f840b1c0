/* Composite objectives (contract in objective.h; the user's view in docs/experiments.md,
 * "Composite objectives"). */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "capability/sandbox.h"
#include "experiment/objective.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/util.h"

struct objective {
	struct sandbox *sb;
	int fn;
	char *field;
	size_t n;
	char *names[OBJECTIVE_MAX_METRICS];
	enum decide_metric kinds[OBJECTIVE_MAX_METRICS];
	bool global[OBJECTIVE_MAX_METRICS];   /* reachable as a global by its name */
	bool used[OBJECTIVE_MAX_METRICS];
};

static const char *const keywords[] = { "and", "break", "do", "else", "elseif", "end", "false", "for", "function",
	                                "goto", "if", "in", "local", "nil", "not", "or", "repeat", "return",
	                                "then", "true", "until", "while" };
static const char *const sandbox_globals[] = { "math", "string", "table", "tonumber", "tostring", "type", "pairs",
	                                       "ipairs", "select", "error", "assert", "next", "rawequal",
	                                       "rawlen", "rawget", "hours", "metrics" };
static const char *const fields[] = { "rate", "mean", "n", "conversions", "sum" };

static bool in_list(const char *s, size_t len, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(list[i]) == len && memcmp(list[i], s, len) == 0)
			return true;
	return false;
}

#define IN(s, len, list) in_list(s, len, list, sizeof(list) / sizeof(list[0]))

static struct diag *obj_error(struct diags *d, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static struct diag *obj_error(struct diags *d, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct diag *dg = diags_vadd(d, DIAG_ERROR, CRATIS_EINVAL, fmt, ap);
	va_end(ap);
	diag_locate(dg, NULL, 0, 0, field);
	return dg;
}

static bool is_id_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_id(char c)
{
	return is_id_start(c) || (c >= '0' && c <= '9');
}

/* Length of a long bracket opening at p ("[[", "[==["), 0 when p does not open one; *level is
 * its number of '='. */
static size_t long_open(const char *p, size_t *level)
{
	if (p[0] != '[')
		return 0;
	size_t k = 1;
	while (p[k] == '=')
		k++;
	if (p[k] != '[')
		return 0;
	*level = k - 1;
	return k + 1;
}

/* Past the long bracket's closing "]==]" of level from p (the end of the text when it is
 * missing: Lua reports that). */
static const char *long_close(const char *p, size_t level)
{
	for (; *p; p++) {
		if (*p != ']')
			continue;
		size_t k = 1;
		while (p[k] == '=')
			k++;
		if (p[k] == ']' && k - 1 == level)
			return p + k + 1;
	}
	return p;
}

/* Check the names the expression reads (strings, comments and numbers skipped): every free name
 * is a keyword, a sandbox global or a metric; NAME.FIELD of a metric names one of its fields.
 * Marks the metrics read in o->used. Returns 0 or CRATIS_EINVAL (diagnostic added). */
static int check_names(struct objective *o, const char *expr, struct diags *d)
{
	const char *p = expr;
	char prev = ' ';        /* the last token when it was '.' or ':' (a field or method follows) */
	int metric = -1;        /* the metric named by the last token, when that was a free name */
	bool after_metric_dot = false;
	while (*p) {
		char c = *p;
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
			p++;
			continue;
		}
		size_t level;
		if (c == '-' && p[1] == '-') {
			size_t k = long_open(p + 2, &level);
			if (k)
				p = long_close(p + 2 + k, level);
			else
				while (*p && *p != '\n')
					p++;
			continue;
		}
		int this_metric = -1;
		bool dot = false;
		size_t k = long_open(p, &level);
		if (k) {
			p = long_close(p + k, level);
		} else if (c == '"' || c == '\'') {
			for (p++; *p && *p != c; p++)
				if (*p == '\\' && p[1])
					p++;
			if (*p)
				p++;
		} else if ((c >= '0' && c <= '9') || (c == '.' && p[1] >= '0' && p[1] <= '9')) {
			for (p++; *p; p++) {
				if ((*p == '+' || *p == '-') && strchr("eEpP", p[-1]))
					continue;
				if (!is_id(*p) && *p != '.')
					break;
			}
		} else if (is_id_start(c)) {
			const char *s = p;
			while (is_id(*p))
				p++;
			size_t len = (size_t)(p - s);
			if (after_metric_dot) {
				int m = metric;
				if (!IN(s, len, fields)) {
					obj_error(d, o->field, "metric '%s' has no field '%.*s' (expected rate, mean, n, conversions or sum)",
					          o->names[m], (int)len, s);
					return CRATIS_EINVAL;
				}
				if (o->kinds[m] == DECIDE_MEAN && len == 11) {
					obj_error(d, o->field, "metric '%s' is a mean: it has no conversions (expected rate, mean, n or sum)",
					          o->names[m]);
					return CRATIS_EINVAL;
				}
			} else if (prev != '.' && prev != ':' && !IN(s, len, keywords)) {
				bool found = false;
				for (size_t i = 0; i < o->n && !found; i++)
					if (o->global[i] && strlen(o->names[i]) == len && memcmp(o->names[i], s, len) == 0) {
						o->used[i] = found = true;
						this_metric = (int)i;
					}
				if (!found && len == 7 && memcmp(s, "metrics", 7) == 0)
					for (size_t i = 0; i < o->n; i++)
						o->used[i] = true;
				if (!found && !IN(s, len, sandbox_globals)) {
					struct buf b = BUF_INIT;
					for (size_t i = 0; i < o->n; i++)
						buf_addf(&b, "%s%s", i ? ", " : "", o->names[i]);
					struct diag *dg = obj_error(d, o->field, "unknown metric '%.*s' (the metrics are: %s)", (int)len, s,
					                            b.len ? b.ptr : "none");
					diag_hint(dg, "a metric whose name is not a Lua name is metrics[\"NAME\"]");
					buf_release(&b);
					return CRATIS_EINVAL;
				}
			}
			prev = ' ';
			after_metric_dot = false;
			metric = this_metric;
			continue;
		} else {
			p++;
			if (c == '.' && *p == '.') {
				while (*p == '.')
					p++;
				c = ' ';
			}
			dot = c == '.';
		}
		after_metric_dot = dot && metric >= 0;
		if (!dot)
			metric = -1;
		prev = k ? ' ' : c;
	}
	return CRATIS_OK;
}

/* The JSON object of one metric at estimate theta (n fixed; rate, mean, conversions and sum
 * follow theta), or null when theta is not finite. */
static json_t *metric_table(enum decide_metric kind, double n, double theta)
{
	if (!isfinite(theta) || !isfinite(n))
		return json_null();
	json_t *t = json_pack("{s:f,s:f,s:f,s:f}", "n", n, "rate", theta, "mean", theta, "sum", theta * n);
	if (kind == DECIDE_RATIO)
		json_object_set_new(t, "conversions", json_real(theta * n));
	return t;
}

/* f at theta[0..o->n) with counts n[]: 0 and *value, or -1 with *err (owned) from the sandbox,
 * or with *err NULL and *kind set when the value is not a number. */
static int eval_at(struct objective *o, const double *n, const double *theta, double *value, char **err,
                   const char **kind)
{
	json_t *env = json_object(), *all = json_object();
	for (size_t i = 0; i < o->n; i++) {
		json_t *t = metric_table(o->kinds[i], n[i], theta[i]);
		if (o->global[i])
			json_object_set(env, o->names[i], t);
		json_object_set_new(all, o->names[i], t);
	}
	json_object_set_new(env, "metrics", all);
	json_t *res = NULL;
	*err = NULL;
	*kind = NULL;
	int rc = sandbox_eval(o->sb, o->fn, env, &res, err);
	json_decref(env);
	if (rc)
		return -1;
	/* the wrapper (objective_compile) hands back a finite number, or "cratis:" and what it got */
	const char *tag = json_string_value(res);
	if (json_is_number(res)) {
		*value = json_number_value(res);
	} else if (tag && strcmp(tag, "cratis:nonfinite") == 0) {
		*value = NAN;
	} else {
		static const char *const kinds[][2] = { { "cratis:string", "a string" }, { "cratis:boolean", "a boolean" },
			                                { "cratis:nil", "nil" }, { "cratis:table", "a table" },
			                                { "cratis:function", "a function" } };
		*kind = "a value of another type";
		for (size_t i = 0; tag && i < sizeof(kinds) / sizeof(kinds[0]); i++)
			if (strcmp(tag, kinds[i][0]) == 0)
				*kind = kinds[i][1];
		rc = -1;
	}
	json_decref(res);
	return rc;
}

static void report_eval(struct objective *o, struct diags *d, const char *variant, char *err, const char *kind)
{
	const char *pre = variant ? "variant '" : "", *post = variant ? "': " : "";
	if (kind)
		obj_error(d, o->field, "%s%s%sexpected a number, the expression gave %s", pre, variant ? variant : "", post, kind);
	else
		obj_error(d, o->field, "%s%s%s%s", pre, variant ? variant : "", post, err ? err : "the expression failed");
	free(err);
}

int objective_compile(struct objective **out, const char *expression,
                      const struct objective_metric *metrics, size_t n_metrics, const char *field,
                      struct diags *d)
{
	*out = NULL;
	field = field ? field : OBJECTIVE_FIELD;
	if (!expression || !*expression || strspn(expression, " \t\r\n") == strlen(expression)) {
		obj_error(d, field, "expected an expression over the metrics (\"revenue.mean * buy.rate\")");
		return CRATIS_EINVAL;
	}
	if (n_metrics > OBJECTIVE_MAX_METRICS) {
		obj_error(d, field, "%zu metrics, at most %d", n_metrics, OBJECTIVE_MAX_METRICS);
		return CRATIS_EINVAL;
	}
	struct objective *o = xcalloc(1, sizeof(*o));
	o->field = xstrdup(field);
	o->fn = -1;
	for (size_t i = 0; i < n_metrics; i++) {
		const char *nm = metrics[i].name;
		if (!nm || !*nm || strspn(nm, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(nm)) {
			obj_error(d, field, "metric %zu: expected a name of letters, digits, '_', '.' or '-'", i);
			objective_free(o);
			return CRATIS_EINVAL;
		}
		o->names[i] = xstrdup(nm);
		o->kinds[i] = metrics[i].kind;
		size_t len = strlen(nm);
		bool ident = is_id_start(nm[0]);
		for (size_t k = 0; k < len; k++)
			ident &= is_id(nm[k]);
		o->global[i] = ident && !IN(nm, len, keywords) && !IN(nm, len, sandbox_globals);
		o->n++;
	}
	if (check_names(o, expression, d)) {
		objective_free(o);
		return CRATIS_EINVAL;
	}
	if (sandbox_new(&o->sb, 0, 0)) {
		obj_error(d, field, "cannot create the Lua sandbox")->status = CRATIS_ENOMEM;
		objective_free(o);
		return CRATIS_ENOMEM;
	}
	/* compiled as written first, for Lua's own syntax errors; then inside a wrapper that reports
	 * what is not a finite number as a tag, so that no value depends on how the sandbox hands
	 * it over (it refuses infinities, NaN and invalid UTF-8 alike) */
	char *err = NULL;
	if (sandbox_compile(o->sb, expression, "=" OBJECTIVE_FIELD, &err) < 0) {
		obj_error(d, field, "syntax error: %s", err ? err : "?");
		free(err);
		objective_free(o);
		return CRATIS_EINVAL;
	}
	char *wrapped = xasprintf("(function(v) if type(v) ~= 'number' then return 'cratis:' .. type(v) "
	                          "elseif v ~= v or v == math.huge or v == -math.huge then return 'cratis:nonfinite' "
	                          "end return v end)((%s\n))",
	                          expression);
	o->fn = sandbox_compile(o->sb, wrapped, "=" OBJECTIVE_FIELD, &err);
	free(wrapped);
	if (o->fn < 0) {
		/* the expression closes the wrapper's parentheses itself ("x) + (y") */
		obj_error(d, field, "syntax error: %s", err ? err : "?");
		free(err);
		objective_free(o);
		return CRATIS_EINVAL;
	}
	/* representative values: a ratio of 50 in 100, a mean of 1 over 100 */
	double n[OBJECTIVE_MAX_METRICS], theta[OBJECTIVE_MAX_METRICS], value;
	for (size_t i = 0; i < o->n; i++) {
		n[i] = 100;
		theta[i] = o->kinds[i] == DECIDE_RATIO ? 0.5 : 1.0;
	}
	const char *kind;
	if (eval_at(o, n, theta, &value, &err, &kind)) {
		report_eval(o, d, NULL, err, kind);
		objective_free(o);
		return CRATIS_EINVAL;
	}
	*out = o;
	return CRATIS_OK;
}

void objective_free(struct objective *o)
{
	if (!o)
		return;
	sandbox_free(o->sb);
	for (size_t i = 0; i < o->n; i++)
		free(o->names[i]);
	free(o->field);
	free(o);
}

bool objective_uses(const struct objective *o, size_t i)
{
	return i < o->n && o->used[i];
}

static void no_data(struct objective_estimate *out)
{
	out->has_data = false;
	out->value = NAN;
	out->se = NAN;
}

int objective_estimate(struct objective_estimate *out, struct objective *o,
                       const struct objective_metric *metrics, size_t n_metrics,
                       const char *variant, struct diags *d)
{
	memset(out, 0, sizeof(*out));
	no_data(out);
	out->n = NAN;
	if (n_metrics != o->n) {
		obj_error(d, o->field, "%zu metrics given, the expression was compiled with %zu", n_metrics, o->n);
		return CRATIS_EINVAL;
	}
	double n[OBJECTIVE_MAX_METRICS], theta[OBJECTIVE_MAX_METRICS], sd[OBJECTIVE_MAX_METRICS];
	bool data = true;
	double nmin = INFINITY;
	for (size_t i = 0; i < o->n; i++) {
		const struct decide_sample *s = &metrics[i].sample;
		if (metrics[i].kind != o->kinds[i] || !metrics[i].name || strcmp(metrics[i].name, o->names[i])) {
			obj_error(d, o->field, "metric %zu is '%s' (%s), the expression was compiled with '%s' (%s)", i,
			          metrics[i].name ? metrics[i].name : "?", metrics[i].kind == DECIDE_RATIO ? "ratio" : "mean",
			          o->names[i], o->kinds[i] == DECIDE_RATIO ? "ratio" : "mean");
			return CRATIS_EINVAL;
		}
		n[i] = s->n;
		if (o->kinds[i] == DECIDE_RATIO) {
			bool ok = s->n > 0 && isfinite(s->n) && s->conversions >= 0 && s->conversions <= s->n;
			theta[i] = ok ? s->conversions / s->n : NAN;
			double p = (s->conversions + 0.5) / (s->n + 1.0);
			out->var_theta[i] = ok ? p * (1.0 - p) / s->n : NAN;
		} else {
			bool ok = s->n >= 2 && isfinite(s->n) && isfinite(s->mean) && s->var >= 0 && isfinite(s->var);
			theta[i] = ok ? s->mean : NAN;
			out->var_theta[i] = ok ? s->var / s->n : NAN;
		}
		sd[i] = sqrt(out->var_theta[i]);
		if (o->used[i]) {
			data &= isfinite(theta[i]);
			if (s->n < nmin)
				nmin = s->n;
		}
	}
	out->n = isfinite(nmin) ? nmin : 0;
	if (!data) {
		out->n = 0;
		return CRATIS_OK;
	}
	char *err;
	const char *kind;
	double f0;
	if (eval_at(o, n, theta, &f0, &err, &kind)) {
		report_eval(o, d, variant, err, kind);
		return CRATIS_EINVAL;
	}
	double var = 0;
	for (size_t i = 0; i < o->n; i++) {
		if (!o->used[i])
			continue;
		double scale = fmax(fabs(theta[i]), sd[i]);
		double h = scale > 0 ? cbrt(DBL_EPSILON) * scale : 1e-6;
		double save = theta[i], fp, fm;
		theta[i] = save + h;
		int rc = eval_at(o, n, theta, &fp, &err, &kind);
		if (!rc) {
			theta[i] = save - h;
			rc = eval_at(o, n, theta, &fm, &err, &kind);
		}
		theta[i] = save;
		if (rc) {
			report_eval(o, d, variant, err, kind);
			return CRATIS_EINVAL;
		}
		/* (x + h) - (x - h) as represented, not 2h: the step's rounding cancels */
		out->partial[i] = (fp - fm) / ((save + h) - (save - h));
		var += out->partial[i] * out->partial[i] * out->var_theta[i];
	}
	if (!isfinite(f0) || !isfinite(var)) {
		out->n = 0;
		return CRATIS_OK;
	}
	out->has_data = true;
	out->value = f0;
	out->se = sqrt(var);
	return CRATIS_OK;
}

void objective_sample(struct decide_sample *out, const struct objective_estimate *e)
{
	memset(out, 0, sizeof(*out));
	if (!e->has_data) {
		out->mean = NAN;
		return;
	}
	out->n = e->n;
	out->mean = e->value;
	out->var = e->se * e->se * e->n;
}

int objective_sample_from_set(struct decide_sample *out, struct objective_estimate *est,
                              struct objective *o, const struct metric_set *set, size_t v,
                              struct diags *d)
{
	struct objective_metric m[OBJECTIVE_MAX_METRICS];
	struct objective_estimate local;
	est = est ? est : &local;
	size_t n = set->n_metrics < OBJECTIVE_MAX_METRICS ? set->n_metrics : OBJECTIVE_MAX_METRICS;
	for (size_t i = 0; i < n; i++) {
		m[i].name = set->defs[i].name;
		m[i].kind = set->defs[i].kind == METRIC_RATIO ? DECIDE_RATIO : DECIDE_MEAN;
		metric_set_sample(&m[i].sample, set, i, v);
	}
	int rc = objective_estimate(est, o, m, n, v < set->n_variants ? set->variants[v] : NULL, d);
	objective_sample(out, est);
	return rc;
}
