/* The decision of an experiment at one tick (contract and rules in decide.h; the user's view in
 * docs/experiments.md). */
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "experiment/decide.h"
#include "util/buf.h"
#include "util/error.h"

void decide_state_init(struct decide_state *state)
{
	memset(state, 0, sizeof(*state));
}

void decide_result_release(struct decide_result *res)
{
	strv_release(&res->reasons);
}

const char *decide_verdict_name(enum decide_verdict v)
{
	switch (v) {
	case DECIDE_CONTINUE: return "continue";
	case DECIDE_PROMOTE: return "promote";
	case DECIDE_KEEP_CONTROL: return "keep-control";
	case DECIDE_STOP_GUARDRAIL: return "stop-guardrail";
	case DECIDE_STOP_INVALID: return "stop-invalid";
	}
	return "unknown";
}

static void reason(struct decide_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void reason(struct decide_result *res, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	strv_push_owned(&res->reasons, buf_detach(&b));
}

static bool in_unit(double x)
{
	return x > 0.0 && x < 1.0;
}

static int check_sample(const struct decide_sample *s, enum decide_metric m, const char *variant,
                        const char *what)
{
	if (!(s->n >= 0.0) || !isfinite(s->n))
		return error_set(CRATIS_EINVAL, "variant '%s': %s: count %g is negative", variant, what,
		                 s->n);
	if (m == DECIDE_RATIO && (!(s->conversions >= 0.0) || s->conversions > s->n))
		return error_set(CRATIS_EINVAL, "variant '%s': %s: conversions %g outside 0..%g",
		                 variant, what, s->conversions, s->n);
	if (m == DECIDE_MEAN && s->n > 0 && (!(s->var >= 0.0) || !isfinite(s->mean)))
		return error_set(CRATIS_EINVAL, "variant '%s': %s: variance %g is negative or mean %g "
		                 "is not finite", variant, what, s->var, s->mean);
	return 0;
}

static int validate(struct decide_config *c, const struct decide_observation *obs)
{
	if (c->alpha == 0.0)
		c->alpha = 0.05;
	if (c->power == 0.0)
		c->power = 0.8;
	if (c->srm_alpha == 0.0)
		c->srm_alpha = 0.001;
	if (!in_unit(c->alpha))
		return error_set(CRATIS_EINVAL, "alpha: %g is outside (0, 1)", c->alpha);
	if (!in_unit(c->power))
		return error_set(CRATIS_EINVAL, "power: %g is outside (0, 1)", c->power);
	if (!in_unit(c->srm_alpha))
		return error_set(CRATIS_EINVAL, "srm alpha: %g is outside (0, 1)", c->srm_alpha);
	if (!(c->mde > 0.0) || !isfinite(c->mde))
		return error_set(CRATIS_EINVAL, "minimumDetectableEffect: %g must be positive", c->mde);
	if (!(c->tau2 >= 0.0) || !isfinite(c->tau2))
		return error_set(CRATIS_EINVAL, "tau2: %g must be non-negative", c->tau2);
	if (!(c->min_duration_s >= 0.0) || !(c->min_samples >= 0.0))
		return error_set(CRATIS_EINVAL, "duration.min and minSamples must be non-negative");
	if (!(c->max_duration_s > 0.0) || c->max_duration_s < c->min_duration_s)
		return error_set(CRATIS_EINVAL, "duration.max: %g s must be positive and at least "
		                 "duration.min (%g s)", c->max_duration_s, c->min_duration_s);
	if (c->n_guardrails > DECIDE_MAX_GUARDRAILS || (c->n_guardrails && !c->guardrails))
		return error_set(CRATIS_EINVAL, "guardrails: %zu given, at most %d", c->n_guardrails,
		                 DECIDE_MAX_GUARDRAILS);
	for (size_t g = 0; g < c->n_guardrails; g++)
		if (!(c->guardrails[g].threshold >= 0.0) || !isfinite(c->guardrails[g].threshold))
			return error_set(CRATIS_EINVAL, "guardrails[%zu].threshold: %g must be "
			                 "non-negative", g, c->guardrails[g].threshold);
	if (obs->n_variants < 2 || obs->n_variants > DECIDE_MAX_VARIANTS || !obs->variants)
		return error_set(CRATIS_EINVAL, "variants: %zu given, 2 to %d expected", obs->n_variants,
		                 DECIDE_MAX_VARIANTS);
	if (obs->control >= obs->n_variants)
		return error_set(CRATIS_EINVAL, "control: index %zu out of %zu variants", obs->control,
		                 obs->n_variants);
	for (size_t i = 0; i < obs->n_variants; i++) {
		const struct decide_variant_obs *v = &obs->variants[i];
		const char *name = v->name ? v->name : "?";
		if (!(v->weight > 0.0) || !isfinite(v->weight))
			return error_set(CRATIS_EINVAL, "variant '%s': weight %g must be positive", name,
			                 v->weight);
		if (!(v->exposures >= 0.0) || !isfinite(v->exposures))
			return error_set(CRATIS_EINVAL, "variant '%s': exposures %g is negative", name,
			                 v->exposures);
		int rc = check_sample(&v->objective, c->metric, name, "objective");
		for (size_t g = 0; !rc && g < c->n_guardrails; g++)
			rc = check_sample(&v->guardrails[g], c->guardrails[g].metric, name,
			                  c->guardrails[g].name ? c->guardrails[g].name : "guardrail");
		if (rc)
			return rc;
	}
	return 0;
}

/* The value of a sample (rate or mean); NaN without data. */
static double value_of(const struct decide_sample *s, enum decide_metric m)
{
	if (!(s->n > 0.0))
		return NAN;
	return m == DECIDE_RATIO ? s->conversions / s->n : s->mean;
}

/* Variance of the value's estimate, for the sequential test. For a rate it uses
 * (x + 1/2)/(n + 1) so that it never collapses to 0 when none or all convert. */
static double var_of(const struct decide_sample *s, enum decide_metric m)
{
	if (m == DECIDE_RATIO) {
		if (!(s->n > 0.0))
			return NAN;
		double p = (s->conversions + 0.5) / (s->n + 1.0);
		return p * (1.0 - p) / s->n;
	}
	if (!(s->n >= 2.0))
		return NAN;
	return s->var / s->n;
}

/* The fixed-horizon test of t against c; false when there is not enough data yet. */
static bool fixed_test(struct stats_comparison *out, const struct decide_sample *c,
                       const struct decide_sample *t, enum decide_metric m, double alpha)
{
	int rc;
	if (m == DECIDE_RATIO) {
		if (!(c->n > 0.0) || !(t->n > 0.0))
			return false;
		rc = stats_two_proportions(out, c->n, c->conversions, t->n, t->conversions, alpha);
	} else {
		struct stats_summary sc = { c->n, c->mean, c->var }, st = { t->n, t->mean, t->var };
		if (!(c->n >= 2.0) || !(t->n >= 2.0) || c->var + t->var <= 0.0)
			return false;
		rc = stats_welch(out, &sc, &st, alpha);
	}
	if (rc)
		error_clear();
	return rc == 0;
}

/* One look of a sequential test of t - c; starts it (tau2 from want_tau2) on the first usable
 * look. Returns whether the test has taken at least one look. */
static bool seq_look(struct stats_msprt *m, const struct decide_sample *c,
                     const struct decide_sample *t, enum decide_metric kind, double want_tau2,
                     double alpha)
{
	double vc = value_of(c, kind), vt = value_of(t, kind);
	double v = var_of(c, kind) + var_of(t, kind);
	if (m->tau2 == 0.0) {
		if (!(want_tau2 > 0.0) || !isfinite(want_tau2))
			return false;
		if (stats_msprt_init(m, want_tau2, alpha)) {
			error_clear();
			return false;
		}
	}
	if (isfinite(vc) && isfinite(vt) && v > 0.0 && isfinite(v) &&
	    stats_msprt_update(m, vt - vc, v))
		error_clear();
	return m->looks > 0;
}

/* Samples per variant the plan needs, from the control's data; NaN when unknown. */
static double planned(const struct decide_config *cfg, const struct decide_sample *c, double tau2)
{
	double n = NAN, base = value_of(c, cfg->metric);
	if (!isfinite(base) || base == 0.0)
		return NAN;
	double sign = cfg->direction == DECIDE_MAXIMIZE ? 1.0 : -1.0;
	double delta = sign * cfg->mde * fabs(base), var_sum;
	if (cfg->metric == DECIDE_RATIO) {
		double p2 = base + delta;
		if (!in_unit(base) || !in_unit(p2))
			return NAN;
		var_sum = base * (1 - base) + p2 * (1 - p2);
		if (cfg->mode == DECIDE_FIXED) {
			if (stats_sample_size_proportions(&n, base, p2, cfg->alpha, cfg->power))
				goto out_unknown;
			return n;
		}
	} else {
		if (!(c->n >= 2.0) || !(c->var > 0.0))
			return NAN;
		var_sum = 2.0 * c->var;
		if (cfg->mode == DECIDE_FIXED) {
			if (stats_sample_size_means(&n, sqrt(c->var), delta, cfg->alpha, cfg->power))
				goto out_unknown;
			return n;
		}
	}
	if (!(tau2 > 0.0))
		tau2 = delta * delta;
	if (stats_sample_size_msprt(&n, var_sum, delta, tau2, cfg->alpha, cfg->power))
		goto out_unknown;
	return n;
out_unknown:
	error_clear();
	return NAN;
}

static const char *vname(const struct decide_observation *obs, size_t i)
{
	return obs->variants[i].name ? obs->variants[i].name : "?";
}

int decide_tick(struct decide_result *out, const struct decide_config *config,
                const struct decide_observation *obs, struct decide_state *state)
{
	memset(out, 0, sizeof(*out));
	out->verdict = DECIDE_CONTINUE;
	out->planned_n = NAN;
	struct decide_config cfg = *config;
	int rc = validate(&cfg, obs);
	if (rc)
		return rc;
	size_t nv = obs->n_variants, ci = obs->control;
	const struct decide_variant_obs *cv = &obs->variants[ci];
	out->n_variants = nv;
	out->winner = ci;

	/* sample-ratio mismatch: exposures against the configured weights */
	double expo[DECIDE_MAX_VARIANTS], w[DECIDE_MAX_VARIANTS], total = 0.0, wsum = 0.0;
	for (size_t i = 0; i < nv; i++) {
		expo[i] = obs->variants[i].exposures;
		w[i] = obs->variants[i].weight;
		total += expo[i];
		wsum += w[i];
	}
	bool enough = total > 0.0;
	for (size_t i = 0; i < nv; i++)
		if (total * w[i] / wsum < 5.0)
			enough = false;  /* chi-square needs >= 5 expected per cell */
	if (enough && stats_chi2_gof(&out->srm_statistic, &out->srm_p_value, expo, w, nv) == 0)
		out->srm_checked = true;

	/* per variant: the fixed test, the sequential look, the guardrails */
	double c_val = value_of(&cv->objective, cfg.metric);
	double want_tau2 = cfg.tau2 > 0.0 ? cfg.tau2 : pow(cfg.mde * c_val, 2.0);
	out->planned_n = planned(&cfg, &cv->objective, cfg.tau2 > 0.0 ? cfg.tau2
	                                               : state->objective[ci == 0 ? 1 : 0].tau2);
	double sign = cfg.direction == DECIDE_MAXIMIZE ? 1.0 : -1.0;
	for (size_t i = 0; i < nv; i++) {
		struct decide_variant_result *r = &out->variants[i];
		const struct decide_variant_obs *v = &obs->variants[i];
		r->name = v->name;
		r->is_control = i == ci;
		r->p_value = r->p_adjusted = 1.0;
		r->ci_low = -INFINITY;
		r->ci_high = INFINITY;
		r->samples_needed = isfinite(out->planned_n) ? fmax(0.0, out->planned_n - v->objective.n)
		                                             : NAN;
		for (size_t g = 0; g < cfg.n_guardrails; g++) {
			const struct decide_guardrail *gr = &cfg.guardrails[g];
			struct decide_guardrail_result *gres = &r->guardrails[g];
			double gc = value_of(&cv->guardrails[g], gr->metric);
			double gt = value_of(&v->guardrails[g], gr->metric);
			double gsign = gr->direction == DECIDE_MINIMIZE ? 1.0 : -1.0;
			gres->control = gc;
			gres->treatment = gt;
			gres->worsening = gsign * (gt - gc);
			gres->worsening_low = -INFINITY;
			gres->limit = gr->relative ? gr->threshold * fabs(gc) : gr->threshold;
			if (r->is_control)
				continue;
			struct stats_msprt *m = &state->guardrail[i][g];
			double gtau = fmax(fmax(gres->limit, 0.1 * fabs(gc)), 1e-6);
			if (isfinite(gc) && seq_look(m, &cv->guardrails[g], &v->guardrails[g], gr->metric,
			                             gtau * gtau, cfg.alpha)) {
				gres->worsening_low = gsign > 0 ? m->ci_low : -m->ci_high;
				gres->breached = isfinite(gres->limit) && gres->worsening_low > gres->limit;
			}
		}
		if (r->is_control) {
			r->has_data = isfinite(c_val);
			r->test.control = r->test.treatment = c_val;
			continue;
		}
		r->has_data = fixed_test(&r->test, &cv->objective, &v->objective, cfg.metric,
		                         cfg.alpha);
		bool seq = seq_look(&state->objective[i], &cv->objective, &v->objective, cfg.metric,
		                    want_tau2, cfg.alpha);
		if (cfg.mode == DECIDE_SEQUENTIAL) {
			if (seq) {
				r->p_value = state->objective[i].p_value;
				r->ci_low = state->objective[i].ci_low;
				r->ci_high = state->objective[i].ci_high;
			}
		} else if (r->has_data) {
			r->p_value = r->test.p_value;
			r->ci_low = r->test.ci_low;
			r->ci_high = r->test.ci_high;
		}
		r->better = r->has_data && sign * r->test.effect > 0.0;
	}

	/* Holm across the comparisons with the control */
	double p[DECIDE_MAX_VARIANTS], adj[DECIDE_MAX_VARIANTS];
	size_t idx[DECIDE_MAX_VARIANTS], k = 0;
	for (size_t i = 0; i < nv; i++)
		if (i != ci) {
			idx[k] = i;
			p[k++] = out->variants[i].p_value;
		}
	if (stats_holm(adj, p, k))
		return error_prefix("holm");
	for (size_t j = 0; j < k; j++) {
		struct decide_variant_result *r = &out->variants[idx[j]];
		r->p_adjusted = adj[j];
		r->significant = r->has_data && adj[j] < cfg.alpha;
	}

	if (out->srm_checked && out->srm_p_value < cfg.srm_alpha) {
		out->verdict = DECIDE_STOP_INVALID;
		struct buf b = BUF_INIT;
		for (size_t i = 0; i < nv; i++)
			buf_addf(&b, "%s%s %.0f (%.1f%%, weight %.1f%%)", i ? ", " : "", vname(obs, i),
			         expo[i], 100.0 * expo[i] / total, 100.0 * w[i] / wsum);
		reason(out, "sample ratio mismatch: exposures %s; chi-square %.2f, p = %.3g < %g: the "
		       "split does not deliver the configured weights, so the results cannot be trusted",
		       b.ptr, out->srm_statistic, out->srm_p_value, cfg.srm_alpha);
		buf_release(&b);
		return 0;
	}
	for (size_t i = 0; i < nv; i++)
		for (size_t g = 0; g < cfg.n_guardrails; g++) {
			const struct decide_guardrail_result *gres = &out->variants[i].guardrails[g];
			if (i == ci || !gres->breached)
				continue;
			out->verdict = DECIDE_STOP_GUARDRAIL;
			out->breached_variant = i;
			out->breached_guardrail = g;
			reason(out, "guardrail '%s' breached by variant '%s': %g against %g for the control "
			       "(worse by at least %g, more than the %g allowed); keeping the control",
			       cfg.guardrails[g].name ? cfg.guardrails[g].name : "?", vname(obs, i),
			       gres->treatment, gres->control, gres->worsening_low, gres->limit);
			return 0;
		}

	if (obs->elapsed_s < cfg.min_duration_s) {
		reason(out, "minimum duration not reached (%.0f of %.0f s)", obs->elapsed_s,
		       cfg.min_duration_s);
		return 0;
	}
	for (size_t i = 0; i < nv; i++)
		if (obs->variants[i].objective.n < cfg.min_samples) {
			reason(out, "variant '%s' has %.0f of the %.0f samples required", vname(obs, i),
			       obs->variants[i].objective.n, cfg.min_samples);
			return 0;
		}

	bool at_max = obs->elapsed_s >= cfg.max_duration_s;
	size_t best = ci, n_worse = 0;
	for (size_t i = 0; i < nv; i++) {
		const struct decide_variant_result *r = &out->variants[i];
		if (i == ci || !r->significant)
			continue;
		if (!r->better) {
			n_worse++;
			continue;
		}
		if (best == ci || sign * r->test.effect > sign * out->variants[best].test.effect)
			best = i;
	}
	bool decide_now;
	if (cfg.mode == DECIDE_FIXED) {
		bool horizon = isfinite(out->planned_n);
		for (size_t i = 0; horizon && i < nv; i++)
			if (obs->variants[i].objective.n < out->planned_n)
				horizon = false;
		decide_now = at_max || (cfg.until == DECIDE_UNTIL_SIGNIFICANCE && horizon);
		if (!decide_now) {
			if (isfinite(out->planned_n))
				reason(out, "fixed horizon: waiting for %.0f samples per variant", out->planned_n);
			else
				reason(out, "fixed horizon: the control has no data to plan the sample size");
			return 0;
		}
	} else {
		decide_now = at_max;
		if (cfg.until == DECIDE_UNTIL_SIGNIFICANCE && best != ci)
			decide_now = true;
		if (cfg.until == DECIDE_UNTIL_SIGNIFICANCE && n_worse == nv - 1) {
			out->verdict = DECIDE_KEEP_CONTROL;
			reason(out, "every variant is significantly worse than the control; keeping the "
			       "control");
			return 0;
		}
		if (!decide_now) {
			reason(out, "no significant difference yet (%.0f s of %.0f s)", obs->elapsed_s,
			       cfg.max_duration_s);
			return 0;
		}
	}
	if (best != ci) {
		const struct decide_variant_result *r = &out->variants[best];
		out->verdict = DECIDE_PROMOTE;
		out->winner = best;
		reason(out, "variant '%s' beats the control: effect %g (%g to %g), lift %.2f%%, adjusted "
		       "p = %.3g < %g", vname(obs, best), r->test.effect, r->ci_low, r->ci_high,
		       100.0 * r->test.lift, r->p_adjusted, cfg.alpha);
		return 0;
	}
	out->verdict = DECIDE_KEEP_CONTROL;
	reason(out, "no significant difference at %s; keeping the control",
	       at_max ? "the maximum duration" : "the planned sample size");
	return 0;
}

/* A number, or null when it is NaN or infinite. */
static json_t *num(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

static json_t *pair(double a, double b)
{
	return json_pack("[o, o]", num(a), num(b));
}

json_t *decide_result_to_json(const struct decide_result *res, const struct decide_config *cfg)
{
	json_t *vars = json_array(), *reasons = json_array();
	for (size_t i = 0; i < res->reasons.n; i++)
		json_array_append_new(reasons, json_string(res->reasons.v[i]));
	for (size_t i = 0; i < res->n_variants; i++) {
		const struct decide_variant_result *r = &res->variants[i];
		json_t *gs = json_array();
		for (size_t g = 0; g < cfg->n_guardrails && g < DECIDE_MAX_GUARDRAILS; g++) {
			const struct decide_guardrail_result *gr = &r->guardrails[g];
			const char *name = cfg->guardrails[g].name ? cfg->guardrails[g].name : "";
			if (r->is_control)
				json_array_append_new(gs, json_pack("{s:s, s:o}", "name", name, "value",
				                                    num(gr->treatment)));
			else
				json_array_append_new(
					gs, json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:b}", "name", name,
				                  "control", num(gr->control), "value", num(gr->treatment),
				                  "worsening", num(gr->worsening), "worsening_low",
				                  num(gr->worsening_low), "limit", num(gr->limit), "breached",
				                  gr->breached));
		}
		json_t *v;
		if (r->is_control) {
			v = json_pack("{s:s?, s:b, s:o, s:o}", "name", r->name, "control", 1, "value",
			              num(r->test.treatment), "guardrails", gs);
		} else {
			v = json_pack("{s:s?, s:b, s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b, "
			              "s:b, s:o, s:o}",
			              "name", r->name, "control", 0, "has_data", r->has_data,
			              "control_value", num(r->has_data ? r->test.control : NAN),
			              "value", num(r->has_data ? r->test.treatment : NAN),
			              "effect", num(r->has_data ? r->test.effect : NAN),
			              "ci", pair(r->ci_low, r->ci_high), "p_value", num(r->p_value),
			              "p_adjusted", num(r->p_adjusted),
			              "fixed_p_value", num(r->has_data ? r->test.p_value : NAN),
			              "lift", num(r->has_data ? r->test.lift : NAN),
			              "lift_ci", pair(r->has_data ? r->test.lift_low : NAN,
			                              r->has_data ? r->test.lift_high : NAN),
			              "significant", r->significant, "better", r->better,
			              "samples_needed", num(r->samples_needed), "guardrails", gs);
		}
		json_array_append_new(vars, v);
	}
	json_t *j = json_pack("{s:s, s:o, s:o, s:{s:b, s:o, s:o}, s:o, s:o}",
	                      "verdict", decide_verdict_name(res->verdict),
	                      "winner", res->verdict == DECIDE_PROMOTE && res->winner < res->n_variants &&
	                                res->variants[res->winner].name
	                                    ? json_string(res->variants[res->winner].name)
	                                    : json_null(),
	                      "reasons", reasons, "srm", "checked", res->srm_checked, "statistic",
	                      num(res->srm_checked ? res->srm_statistic : NAN), "p_value",
	                      num(res->srm_checked ? res->srm_p_value : NAN), "planned_n",
	                      num(res->planned_n), "variants", vars);
	if (res->verdict == DECIDE_STOP_GUARDRAIL && res->breached_variant < res->n_variants &&
	    res->breached_guardrail < cfg->n_guardrails) {
		const char *gname = cfg->guardrails[res->breached_guardrail].name;
		json_object_set_new(j, "breached",
		                    json_pack("{s:s?, s:s?}", "variant",
		                              res->variants[res->breached_variant].name, "guardrail",
		                              gname));
	}
	return j;
}

static json_t *state_num(double x)
{
	if (isinf(x))
		return json_string(x < 0 ? "-inf" : "inf");
	return json_real(x);
}

static json_t *msprt_to_json(const struct stats_msprt *m)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:I}", "tau2", state_num(m->tau2), "alpha",
	                 state_num(m->alpha), "p_value", state_num(m->p_value), "ci_low",
	                 state_num(m->ci_low), "ci_high", state_num(m->ci_high), "lambda",
	                 state_num(m->lambda), "looks", (json_int_t)m->looks);
}

json_t *decide_state_to_json(const struct decide_state *state, size_t n_variants,
                             size_t n_guardrails)
{
	json_t *obj = json_array(), *gs = json_array();
	if (n_variants > DECIDE_MAX_VARIANTS)
		n_variants = DECIDE_MAX_VARIANTS;
	if (n_guardrails > DECIDE_MAX_GUARDRAILS)
		n_guardrails = DECIDE_MAX_GUARDRAILS;
	for (size_t i = 0; i < n_variants; i++) {
		json_array_append_new(obj, msprt_to_json(&state->objective[i]));
		json_t *row = json_array();
		for (size_t g = 0; g < n_guardrails; g++)
			json_array_append_new(row, msprt_to_json(&state->guardrail[i][g]));
		json_array_append_new(gs, row);
	}
	return json_pack("{s:o, s:o}", "objective", obj, "guardrails", gs);
}

static int state_field(double *out, const json_t *m, const char *key, const char *where)
{
	json_t *v = json_object_get(m, key);
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return 0;
	}
	if (json_is_string(v) && !strcmp(json_string_value(v), "inf")) {
		*out = INFINITY;
		return 0;
	}
	if (json_is_string(v) && !strcmp(json_string_value(v), "-inf")) {
		*out = -INFINITY;
		return 0;
	}
	return error_set(CRATIS_EINVAL, "experiment state: %s.%s: expected a number, \"inf\" or "
	                 "\"-inf\"", where, key);
}

static int msprt_from_json(struct stats_msprt *m, const json_t *j, const char *where)
{
	if (!json_is_object(j))
		return error_set(CRATIS_EINVAL, "experiment state: %s: expected an object", where);
	int rc;
	if ((rc = state_field(&m->tau2, j, "tau2", where)) ||
	    (rc = state_field(&m->alpha, j, "alpha", where)) ||
	    (rc = state_field(&m->p_value, j, "p_value", where)) ||
	    (rc = state_field(&m->ci_low, j, "ci_low", where)) ||
	    (rc = state_field(&m->ci_high, j, "ci_high", where)) ||
	    (rc = state_field(&m->lambda, j, "lambda", where)))
		return rc;
	json_t *looks = json_object_get(j, "looks");
	if (!json_is_integer(looks) || json_integer_value(looks) < 0)
		return error_set(CRATIS_EINVAL, "experiment state: %s.looks: expected a non-negative "
		                 "integer", where);
	m->looks = (unsigned long)json_integer_value(looks);
	return 0;
}

int decide_state_from_json(struct decide_state *out, const json_t *j)
{
	decide_state_init(out);
	json_t *obj = json_object_get(j, "objective"), *gs = json_object_get(j, "guardrails");
	if (!json_is_array(obj) || !json_is_array(gs))
		return error_set(CRATIS_EINVAL, "experiment state: expected arrays 'objective' and "
		                 "'guardrails'");
	if (json_array_size(obj) > DECIDE_MAX_VARIANTS || json_array_size(gs) > DECIDE_MAX_VARIANTS)
		return error_set(CRATIS_EINVAL, "experiment state: more than %d variants",
		                 DECIDE_MAX_VARIANTS);
	char where[64];
	for (size_t i = 0; i < json_array_size(obj); i++) {
		snprintf(where, sizeof(where), "objective[%zu]", i);
		int rc = msprt_from_json(&out->objective[i], json_array_get(obj, i), where);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < json_array_size(gs); i++) {
		json_t *row = json_array_get(gs, i);
		if (!json_is_array(row) || json_array_size(row) > DECIDE_MAX_GUARDRAILS)
			return error_set(CRATIS_EINVAL, "experiment state: guardrails[%zu]: expected an "
			                 "array of at most %d", i, DECIDE_MAX_GUARDRAILS);
		for (size_t g = 0; g < json_array_size(row); g++) {
			snprintf(where, sizeof(where), "guardrails[%zu][%zu]", i, g);
			int rc = msprt_from_json(&out->guardrail[i][g], json_array_get(row, g), where);
			if (rc)
				return rc;
		}
	}
	return 0;
}
