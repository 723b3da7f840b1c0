/* Unit tests: composite objectives (src/experiment/objective.c): the expression's names and errors,
 * the delta method against closed forms and against a seeded simulation, and the decide_sample
 * decide_tick compares. */
#include "helpers.h"

#include <math.h>

#include "experiment/objective.h"

static struct objective_metric ratio(const char *name, double n, double conversions)
{
	struct objective_metric m = { name, DECIDE_RATIO, { n, conversions, 0, 0 } };
	return m;
}

static struct objective_metric mean(const char *name, double n, double mu, double var)
{
	struct objective_metric m = { name, DECIDE_MEAN, { n, 0, mu, var } };
	return m;
}

/* Compile expr over ms; expect failure with the field and a message containing want. */
static void compile_fails(const char *expr, const struct objective_metric *ms, size_t n, const char *want)
{
	struct diags d = DIAGS_INIT;
	struct objective *o = (struct objective *)1;
	int rc = objective_compile(&o, expr, ms, n, NULL, &d);
	if (rc != CRATIS_EINVAL || d.n != 1 || !strstr(d.v[0].message, want))
		fail_msg("'%s': rc %d, %zu diagnostics, first '%s'; expected '%s'", expr, rc, d.n,
		         d.n ? d.v[0].message : "", want);
	assert_null(o);
	assert_string_equal(d.v[0].field, "spec.objective.expression");
	diags_release(&d);
}

static struct objective *compile_ok(const char *expr, const struct objective_metric *ms, size_t n)
{
	struct diags d = DIAGS_INIT;
	struct objective *o = NULL;
	int rc = objective_compile(&o, expr, ms, n, NULL, &d);
	if (rc)
		fail_msg("'%s': %s", expr, d.n ? d.v[0].message : "?");
	assert_non_null(o);
	diags_release(&d);
	return o;
}

static void estimate_ok(struct objective_estimate *e, struct objective *o, const struct objective_metric *ms, size_t n)
{
	struct diags d = DIAGS_INIT;
	int rc = objective_estimate(e, o, ms, n, "b", &d);
	if (rc)
		fail_msg("estimate: %s", d.n ? d.v[0].message : "?");
	diags_release(&d);
}

static void assert_close(double got, double want, double rel)
{
	if (!(fabs(got - want) <= rel * fabs(want)))
		fail_msg("got %.17g, want %.17g (relative tolerance %g)", got, want, rel);
}

static void test_objective_errors_name_the_field(void **state)
{
	(void)state;
	struct objective_metric ms[] = { mean("revenue", 10, 1, 1), ratio("buy", 10, 1), mean("latency", 10, 1, 1),
		                         ratio("error-rate", 10, 1) };
	compile_fails("", ms, 4, "expected an expression over the metrics");
	compile_fails("  \n", ms, 4, "expected an expression over the metrics");
	compile_fails("revenue.mean *", ms, 4, "syntax error: spec.objective.expression:");
	compile_fails("revenue.mean * (buy.rate", ms, 4, "syntax error");
	compile_fails("revnue.mean * buy.rate", ms, 4, "unknown metric 'revnue' (the metrics are: revenue, buy, latency, error-rate)");
	compile_fails("revenue.avg", ms, 4, "metric 'revenue' has no field 'avg' (expected rate, mean, n, conversions or sum)");
	compile_fails("revenue.conversions", ms, 4, "metric 'revenue' is a mean: it has no conversions");
	/* the sandbox has no io or os: they are unknown names */
	compile_fails("os.time()", ms, 4, "unknown metric 'os'");
	compile_fails("io.open('/etc/passwd')", ms, 4, "unknown metric 'io'");
	compile_fails("require('os')", ms, 4, "unknown metric 'require'");
	compile_fails("load('return 1')()", ms, 4, "unknown metric 'load'");
	/* not a number */
	compile_fails("'a string'", ms, 4, "expected a number, the expression gave a string");
	compile_fails("buy.rate > 0.1", ms, 4, "expected a number, the expression gave a boolean");
	compile_fails("nil", ms, 4, "expected a number, the expression gave nil");
	compile_fails("{1, 2}", ms, 4, "expected a number, the expression gave a table");
	compile_fails("math.sin", ms, 4, "expected a number, the expression gave a function");
	compile_fails("'\\255'", ms, 4, "expected a number, the expression gave a string"); /* not UTF-8 */
	/* runtime errors (Lua's message) */
	compile_fails("metrics.nope.rate", ms, 4, "attempt to index a nil value (field 'nope')");
	compile_fails("error('no')", ms, 4, "no");
	compile_fails("#string.rep('x', 100000000)", ms, 4, "formula needs more than");
	/* what is not a name is not checked as one: strings, comments, numbers, fields, methods */
	struct objective *o = compile_ok("revenue.mean * buy.rate - 0.1 * latency.mean -- revnue.x\n"
	                                 " + #('revnue' .. \"x\") * 0 + 1e-3 * 0 + 0x1p-4 * 0 + ('a'):len() * 0"
	                                 " + math.max(0, buy.n) * 0 + metrics['error-rate'].rate * 0 + ([[x]]):len() * 0",
	                                 ms, 4);
	for (size_t i = 0; i < 4; i++)
		assert_true(objective_uses(o, i)); /* metrics[...] reads them all */
	objective_free(o);
	o = compile_ok("buy.conversions / buy.n", ms, 4);
	assert_false(objective_uses(o, 0));
	assert_true(objective_uses(o, 1));
	assert_false(objective_uses(o, 2));
	objective_free(o);
	/* a metric that is not a Lua name is not a global */
	compile_fails("error-rate.rate", ms, 4, "unknown metric 'rate'");
}

/* The product of two independent means: var(XY) ≈ μ_y² σ_x²/n_x + μ_x² σ_y²/n_y (the first-order
 * delta method, e.g. Casella & Berger, Statistical Inference, 2nd ed., §5.5.4). */
static void test_objective_delta_method_closed_forms(void **state)
{
	(void)state;
	struct objective_metric ms[] = { mean("a", 400, 3, 4), mean("b", 900, 5, 9) };
	struct objective *o = compile_ok("a.mean * b.mean", ms, 2);
	struct objective_estimate e;
	estimate_ok(&e, o, ms, 2);
	assert_true(e.has_data);
	assert_close(e.value, 15, 1e-12);
	assert_close(e.partial[0], 5, 1e-8);
	assert_close(e.partial[1], 3, 1e-8);
	assert_close(e.se, sqrt(25.0 * 4 / 400 + 9.0 * 9 / 900), 1e-8);
	assert_close(e.n, 400, 0);
	objective_free(o);

	/* a rate alone: the variance decide.c's sequential test uses, p = (x + 1/2)/(n + 1) */
	struct objective_metric r[] = { ratio("buy", 1000, 100) };
	o = compile_ok("buy.rate", r, 1);
	estimate_ok(&e, o, r, 1);
	double p = 100.5 / 1001;
	assert_close(e.value, 0.1, 1e-12);
	assert_close(e.se, sqrt(p * (1 - p) / 1000), 1e-8);
	objective_free(o);
	/* conversions and sum follow the rate (n fixed): conversions / n is the rate again */
	o = compile_ok("buy.conversions / buy.n + 0 * buy.sum", r, 1);
	estimate_ok(&e, o, r, 1);
	assert_close(e.value, 0.1, 1e-12);
	assert_close(e.se, sqrt(p * (1 - p) / 1000), 1e-8);
	objective_free(o);

	/* the example of the docs: ∂/∂revenue = rate, ∂/∂rate = revenue, ∂/∂latency = -0.1 */
	struct objective_metric x[] = { mean("revenue", 500, 40, 100), ratio("buy", 2000, 500), mean("latency", 2000, 0.2, 0.01) };
	o = compile_ok("revenue.mean * buy.rate - 0.1 * latency.mean", x, 3);
	estimate_ok(&e, o, x, 3);
	double q = 500.5 / 2001, vr = 100.0 / 500, vb = q * (1 - q) / 2000, vl = 0.01 / 2000;
	assert_close(e.value, 40 * 0.25 - 0.1 * 0.2, 1e-12);
	assert_close(e.partial[0], 0.25, 1e-8);
	assert_close(e.partial[1], 40, 1e-8);
	assert_close(e.partial[2], -0.1, 1e-8);
	assert_close(e.se, sqrt(0.25 * 0.25 * vr + 40.0 * 40 * vb + 0.01 * vl), 1e-8);
	assert_close(e.n, 500, 0);
	objective_free(o);

	/* non-linear: log of a mean, d/dμ = 1/μ, se = σ / (μ √n); a ratio of means */
	struct objective_metric l[] = { mean("a", 100, 0.004, 1e-6), mean("b", 50, 2, 0.5) };
	o = compile_ok("math.log(a.mean)", l, 2);
	estimate_ok(&e, o, l, 2);
	assert_close(e.se, sqrt(1e-6) / (0.004 * 10), 1e-7);
	assert_close(e.n, 100, 0);    /* b is not read: its n does not count */
	objective_free(o);
	o = compile_ok("a.mean / b.mean", l, 2);
	estimate_ok(&e, o, l, 2);
	assert_close(e.se, sqrt(1e-6 / 100 / 4 + 0.004 * 0.004 / 16 * 0.5 / 50), 1e-7);
	assert_close(e.n, 50, 0);
	objective_free(o);
}

/* xorshift64* and Box-Muller: a seeded normal sample without libc's rand */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double uniform(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return ((rng_state * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0) + 1e-300;
}
static double normal(double mu, double sd)
{
	return mu + sd * sqrt(-2 * log(uniform())) * cos(2 * M_PI * uniform());
}

/* The delta method's se against the spread of the product of two sample means in 2,000 seeded
 * replications: the standard deviation of the replications estimates the true se to about 1.6 %
 * (1/√(2·2000)); the delta method's error for these sizes is far smaller, so 6 % is a bound that
 * fails only for a wrong method. */
static void test_objective_delta_method_simulated(void **state)
{
	(void)state;
	const int reps = 2000, na = 400, nb = 900;
	double s1 = 0, s2 = 0, se_sum = 0;
	struct objective_metric ms[] = { mean("a", na, 0, 0), mean("b", nb, 0, 0) };
	struct objective *o = compile_ok("a.mean * b.mean", ms, 2);
	for (int r = 0; r < reps; r++) {
		double sum[2] = { 0, 0 }, sq[2] = { 0, 0 };
		for (int i = 0; i < na; i++) {
			double x = normal(3, 2);
			sum[0] += x;
			sq[0] += x * x;
		}
		for (int i = 0; i < nb; i++) {
			double y = normal(5, 3);
			sum[1] += y;
			sq[1] += y * y;
		}
		ms[0].sample.mean = sum[0] / na;
		ms[0].sample.var = (sq[0] - sum[0] * sum[0] / na) / (na - 1);
		ms[1].sample.mean = sum[1] / nb;
		ms[1].sample.var = (sq[1] - sum[1] * sum[1] / nb) / (nb - 1);
		struct objective_estimate e;
		estimate_ok(&e, o, ms, 2);
		s1 += e.value;
		s2 += e.value * e.value;
		se_sum += e.se;
	}
	double sd = sqrt((s2 - s1 * s1 / reps) / (reps - 1)), se = se_sum / reps;
	print_message("product of means: sd of %d replications %.6f, mean delta-method se %.6f (closed form %.6f)\n",
	              reps, sd, se, sqrt(0.34));
	assert_close(se, sd, 0.06);
	assert_close(se, sqrt(0.34), 0.02);
	objective_free(o);
}

static void test_objective_no_data_and_errors_per_variant(void **state)
{
	(void)state;
	struct objective_metric ms[] = { mean("a", 10, 3, 1), ratio("b", 0, 0) };
	struct objective *o = compile_ok("a.mean * 2", ms, 2);
	struct objective_estimate e;
	estimate_ok(&e, o, ms, 2); /* b has no data but is not read */
	assert_true(e.has_data);
	assert_close(e.value, 6, 1e-12);
	objective_free(o);

	o = compile_ok("a.mean * b.rate", ms, 2);
	estimate_ok(&e, o, ms, 2);
	assert_false(e.has_data);
	struct decide_sample s;
	objective_sample(&s, &e);
	assert_true(s.n == 0 && isnan(s.mean) && s.var == 0);
	objective_free(o);

	/* a mean of one value has no variance yet */
	struct objective_metric one[] = { mean("a", 1, 3, 0), ratio("b", 10, 1) };
	o = compile_ok("a.mean", one, 2);
	estimate_ok(&e, o, one, 2);
	assert_false(e.has_data);
	objective_free(o);

	/* not finite at these values (no conversion yet): no data, not an error */
	struct objective_metric z[] = { mean("a", 10, 3, 1), ratio("b", 10, 0) };
	o = compile_ok("a.mean / b.rate", z, 2);
	estimate_ok(&e, o, z, 2);
	assert_false(e.has_data);
	objective_free(o);

	/* an error that only these values raise names the variant and the field */
	o = compile_ok("a.mean > 2 and error('too big') or a.mean", z, 2);
	struct diags d = DIAGS_INIT;
	assert_int_equal(objective_estimate(&e, o, z, 2, "b", &d), CRATIS_EINVAL);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.v[0].message, "variant 'b': "));
	assert_non_null(strstr(d.v[0].message, "too big"));
	assert_string_equal(d.v[0].field, "spec.objective.expression");
	diags_release(&d);
	objective_free(o);

	/* a string only for some values */
	o = compile_ok("a.mean > 2 and 'x' or a.mean", z, 2);
	assert_int_equal(objective_estimate(&e, o, z, 2, "c", &d), CRATIS_EINVAL);
	assert_non_null(strstr(d.v[0].message, "variant 'c': expected a number, the expression gave a string"));
	diags_release(&d);
	/* other metrics than compiled */
	struct objective_metric other[] = { mean("x", 10, 3, 1), ratio("b", 10, 0) };
	assert_int_equal(objective_estimate(&e, o, other, 2, "c", &d), CRATIS_EINVAL);
	assert_non_null(strstr(d.v[0].message, "metric 0 is 'x' (mean), the expression was compiled with 'a' (mean)"));
	diags_release(&d);
	assert_int_equal(objective_estimate(&e, o, other, 1, "c", &d), CRATIS_EINVAL);
	diags_release(&d);
	objective_free(o);

	/* another field name for messages */
	struct objective *bad = NULL;
	assert_int_equal(objective_compile(&bad, "nope", z, 2, "spec.guardrails[0].expression", &d), CRATIS_EINVAL);
	assert_string_equal(d.v[0].field, "spec.guardrails[0].expression");
	diags_release(&d);
}

/* The sample decide_tick compares: var / n is se², and a variant whose composite is clearly
 * better is promoted (fixed mode at max), an A/A pair is not. */
static void test_objective_sample_decides(void **state)
{
	(void)state;
	struct objective_metric c[] = { mean("revenue", 5000, 10, 4), ratio("buy", 5000, 500) };
	struct objective_metric t[] = { mean("revenue", 5000, 10, 4), ratio("buy", 5000, 700) };
	struct objective *o = compile_ok("revenue.mean * buy.rate", c, 2);
	struct objective_estimate ec, et;
	estimate_ok(&ec, o, c, 2);
	estimate_ok(&et, o, t, 2);
	struct decide_sample sc, st;
	objective_sample(&sc, &ec);
	objective_sample(&st, &et);
	assert_close(sc.n, 5000, 0);
	assert_close(sc.mean, 1.0, 1e-12);
	assert_close(sc.var / sc.n, ec.se * ec.se, 1e-12);
	assert_close(st.mean, 1.4, 1e-12);

	struct decide_config cfg = { .metric = DECIDE_MEAN, .direction = DECIDE_MAXIMIZE, .mde = 0.1,
		                     .max_duration_s = 10, .mode = DECIDE_FIXED, .until = DECIDE_UNTIL_MAX };
	struct decide_variant_obs v[2] = { { .name = "a", .weight = 1, .exposures = 5000, .objective = sc },
		                           { .name = "b", .weight = 1, .exposures = 5000, .objective = st } };
	struct decide_observation obs = { .elapsed_s = 10, .n_variants = 2, .control = 0, .variants = v };
	struct decide_state ds;
	decide_state_init(&ds);
	struct decide_result res;
	assert_int_equal(decide_tick(&res, &cfg, &obs, &ds), 0);
	assert_int_equal(res.verdict, DECIDE_PROMOTE);
	assert_int_equal(res.winner, 1);
	/* Welch's t on the composite: the effect is 0.4 with se √(se_a² + se_b²) */
	assert_close(res.variants[1].test.effect, 0.4, 1e-9);
	decide_result_release(&res);

	v[1].objective = sc;
	decide_state_init(&ds);
	assert_int_equal(decide_tick(&res, &cfg, &obs, &ds), 0);
	assert_int_equal(res.verdict, DECIDE_KEEP_CONTROL);
	decide_result_release(&res);
	objective_free(o);
}

/* From a metric_set: the set's definitions in order, metric_set_sample's values. */
static void test_objective_from_metric_set(void **state)
{
	(void)state;
	struct metric_def defs[2];
	struct diags d = DIAGS_INIT;
	json_t *j1 = json_pack("{s:s,s:s,s:s}", "name", "buy", "kind", "ratio", "conversion", "/buy");
	json_t *j2 = json_pack("{s:s,s:s,s:s}", "name", "revenue", "kind", "mean", "field", "revenue");
	assert_int_equal(metric_def_from_json(&defs[0], j1, "metrics[0]", &d), 0);
	assert_int_equal(metric_def_from_json(&defs[1], j2, "metrics[1]", &d), 0);
	json_decref(j1);
	json_decref(j2);
	const char *variants[] = { "a", "b" };
	struct metric_set set;
	assert_int_equal(metric_set_init(&set, variants, 2, defs, 2), 0);
	set.acc[0][1].exposures = 200;
	set.acc[0][1].conversions = 50;
	double vals[] = { 10, 20, 30, 40 };
	for (size_t i = 0; i < 4; i++) {
		set.acc[1][1].n += 1;
		set.acc[1][1].sum += vals[i];
		set.acc[1][1].sumsq += vals[i] * vals[i];
	}
	struct objective_metric ms[] = { ratio("buy", 0, 0), mean("revenue", 0, 0, 0) };
	struct objective *o = compile_ok("buy.rate * revenue.mean", ms, 2);
	struct decide_sample s;
	struct objective_estimate e;
	assert_int_equal(objective_sample_from_set(&s, &e, o, &set, 1, &d), 0);
	assert_true(e.has_data);
	assert_close(s.mean, 0.25 * 25, 1e-12);
	double q = 50.5 / 201, var_mean = (3000.0 - 100.0 * 100 / 4) / 3 / 4;
	assert_close(e.se, sqrt(25.0 * 25 * q * (1 - q) / 200 + 0.25 * 0.25 * var_mean), 1e-8);
	assert_close(s.n, 4, 0);
	/* variant a has no data */
	assert_int_equal(objective_sample_from_set(&s, NULL, o, &set, 0, &d), 0);
	assert_true(s.n == 0 && isnan(s.mean));
	objective_free(o);
	metric_set_release(&set);
	diags_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_objective_errors_name_the_field),
		cmocka_unit_test(test_objective_delta_method_closed_forms),
		cmocka_unit_test(test_objective_delta_method_simulated),
		cmocka_unit_test(test_objective_no_data_and_errors_per_variant),
		cmocka_unit_test(test_objective_sample_decides),
		cmocka_unit_test(test_objective_from_metric_set),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
