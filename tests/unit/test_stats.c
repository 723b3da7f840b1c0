/* Unit tests: src/stats against scipy (tests/stats/reference.py run at test time on
 * tests/stats/cases.txt), published table values, and the decision rules of
 * src/experiment/decide.c. */
#include "helpers.h"

#include <math.h>

#include "experiment/decide.h"
#include "stats/stats.h"

struct fake_calls fake_calls;

/* |got - want| within rel relative to want (absolute below 1e-300); NaN equals NaN. */
static bool close_to(double got, double want, double rel)
{
	if (isnan(want) || isnan(got))
		return isnan(want) && isnan(got);
	if (isinf(want))
		return got == want;
	return fabs(got - want) <= rel * fabs(want) + 1e-300;
}

#define assert_close(got, want, rel, what) \
	do { \
		double g_ = (got), w_ = (want); \
		if (!close_to(g_, w_, (rel))) \
			fail_msg("%s: got %.17g, scipy/reference %.17g (rel. error %.3g)", (what), g_, w_, \
			         fabs(g_ - w_) / fabs(w_)); \
	} while (0)

/* The two lines of numbers of a sample file in tests/stats. */
static void read_samples(const char *name, double **x, size_t *nx, double **y, size_t *ny)
{
	char *path = xasprintf("%s/tests/stats/%s", getenv("CRATIS_SOURCE_DIR"), name);
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("cannot read %s", path);
	char *line = NULL;
	size_t cap = 0;
	int which = 0;
	while (which < 2 && getline(&line, &cap, f) > 0) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		double *v = NULL;
		size_t n = 0, alloc = 0;
		char *p = line, *end;
		for (double d = strtod(p, &end); end != p; d = strtod(p, &end)) {
			v = xgrow(v, &alloc, n + 1, sizeof(*v));
			v[n++] = d;
			p = end;
		}
		if (which == 0) {
			*x = v;
			*nx = n;
		} else {
			*y = v;
			*ny = n;
		}
		which++;
	}
	free(line);
	fclose(f);
	free(path);
	assert_int_equal(which, 2);
}

/* Our results for one case of cases.txt: kind and its arguments as text. */
static size_t compute(const char *kind, char **a, size_t na, double *r)
{
	double f[32];
	for (size_t i = 0; i < na && i < 32; i++)
		f[i] = strtod(a[i], NULL);
	struct stats_comparison c;
	if (!strcmp(kind, "norm_cdf"))
		return r[0] = stats_norm_cdf(f[0]), 1;
	if (!strcmp(kind, "norm_sf"))
		return r[0] = stats_norm_sf(f[0]), 1;
	if (!strcmp(kind, "norm_ppf"))
		return r[0] = stats_norm_ppf(f[0]), 1;
	if (!strcmp(kind, "t_cdf"))
		return r[0] = stats_t_cdf(f[0], f[1]), 1;
	if (!strcmp(kind, "t_sf"))
		return r[0] = stats_t_sf(f[0], f[1]), 1;
	if (!strcmp(kind, "t_ppf"))
		return r[0] = stats_t_ppf(f[0], f[1]), 1;
	if (!strcmp(kind, "chi2_sf"))
		return r[0] = stats_chi2_sf(f[0], f[1]), 1;
	if (!strcmp(kind, "beta_inc"))
		return r[0] = stats_beta_inc(f[0], f[1], f[2]), 1;
	if (!strcmp(kind, "gamma_p"))
		return r[0] = stats_gamma_p(f[0], f[1]), 1;
	if (!strcmp(kind, "gamma_q"))
		return r[0] = stats_gamma_q(f[0], f[1]), 1;
	if (!strcmp(kind, "prop")) {
		assert_int_equal(stats_two_proportions(&c, f[0], f[1], f[2], f[3], f[4]), 0);
		double v[] = { c.effect, c.ci_low, c.ci_high, c.p_value, c.statistic, c.lift,
		               c.lift_low, c.lift_high };
		memcpy(r, v, sizeof(v));
		return 8;
	}
	if (!strcmp(kind, "welch")) {
		struct stats_summary sc = { f[2], f[0], f[1] * f[1] }, st = { f[5], f[3], f[4] * f[4] };
		assert_int_equal(stats_welch(&c, &sc, &st, f[6]), 0);
		double v[] = { c.statistic, c.p_value, c.df, c.ci_low, c.ci_high };
		memcpy(r, v, sizeof(v));
		return 5;
	}
	if (!strcmp(kind, "mw")) {
		double *x = NULL, *y = NULL;
		size_t nx = 0, ny = 0;
		read_samples(a[0], &x, &nx, &y, &ny);
		assert_int_equal(stats_mann_whitney(&c, x, nx, y, ny, f[1]), 0);
		free(x);
		free(y);
		double v[] = { c.statistic, c.p_value, c.effect, c.ci_low, c.ci_high };
		memcpy(r, v, sizeof(v));
		return 5;
	}
	if (!strcmp(kind, "chi2gof")) {
		size_t k = (size_t)f[0];
		assert_int_equal(stats_chi2_gof(&r[0], &r[1], f + 1, f + 1 + k, k), 0);
		return 2;
	}
	if (!strcmp(kind, "holm")) {
		size_t k = (size_t)f[0];
		assert_int_equal(stats_holm(r, f + 1, k), 0);
		return k;
	}
	if (!strcmp(kind, "ss_prop")) {
		assert_int_equal(stats_sample_size_proportions(&r[0], f[0], f[1], f[2], f[3]), 0);
		return 1;
	}
	if (!strcmp(kind, "ss_mean")) {
		assert_int_equal(stats_sample_size_means(&r[0], f[0], f[1], f[2], f[3]), 0);
		return 1;
	}
	fail_msg("unknown case kind '%s'", kind);
	return 0;
}

/* Every result agrees with scipy within 1e-9 relative (absolute below 1e-300); the sample sizes,
 * rounded up, exactly. */
#define REFERENCE_TOLERANCE 1e-9

static void test_stats_matches_scipy(void **state)
{
	(void)state;
	char *cmd = xasprintf("/usr/bin/python3 '%s/tests/stats/reference.py'",
	                      getenv("CRATIS_SOURCE_DIR"));
	FILE *p = popen(cmd, "r");
	if (!p)
		fail_msg("cannot run %s", cmd);
	char *line = NULL;
	size_t cap = 0, cases = 0;
	while (getline(&line, &cap, p) > 0) {
		line[strcspn(line, "\n")] = '\0';
		char *tok[64];
		size_t nt = 0, bar = 0;
		/* split at spaces (strtok is banned) */
		for (char *s = line; *s && nt < 64;) {
			while (*s == ' ')
				*s++ = '\0';
			if (!*s)
				break;
			tok[nt++] = s;
			while (*s && *s != ' ')
				s++;
		}
		for (size_t i = 0; i < nt; i++)
			if (!strcmp(tok[i], "|"))
				bar = i;
		assert_true(bar > 0);
		double got[64];
		size_t ng = compute(tok[0], tok + 1, bar - 1, got);
		assert_int_equal(ng, nt - bar - 1);
		for (size_t i = 0; i < ng; i++) {
			char what[160];
			snprintf(what, sizeof(what), "%s case %zu result %zu", tok[0], cases + 1, i);
			assert_close(got[i], strtod(tok[bar + 1 + i], NULL), REFERENCE_TOLERANCE, what);
		}
		cases++;
	}
	free(line);
	int st = pclose(p);
	if (st != 0)
		fail_msg("%s exited with status %d", cmd, st);
	free(cmd);
	print_message("%zu cases agree with scipy\n", cases);
	assert_true(cases >= 60);
}

/* Published values. NIST/SEMATECH e-Handbook of Statistical Methods, §1.3.6.7.1 (normal),
 * §1.3.6.7.2 (t: 2.228 at 10 df, upper 0.025) and §1.3.6.7.4 (chi-square: 7.815 at 3 df, upper
 * 0.05), all printed to 3 decimals; Holm's example from Wikipedia, "Holm-Bonferroni method"
 * (four hypotheses, p = 0.01, 0.04, 0.03, 0.005: reject H1 and H4 at 0.05, not H2 or H3);
 * 63 per group for a standardised difference of 0.5 at alpha 0.05 and power 0.8 (normal
 * approximation; Chow, Shao & Wang 2008, §3.2.1 give the formula). */
static void test_stats_published_values(void **state)
{
	(void)state;
	assert_true(fabs(stats_norm_ppf(0.975) - 1.960) < 0.0005);
	assert_true(fabs(stats_t_ppf(0.975, 10) - 2.228) < 0.0005);
	assert_true(fabs(stats_t_ppf(0.95, 1) - 6.314) < 0.0005);
	assert_true(fabs(stats_chi2_sf(7.815, 3) - 0.05) < 0.0001);
	double p[] = { 0.01, 0.04, 0.03, 0.005 }, adj[4];
	assert_int_equal(stats_holm(adj, p, 4), 0);
	assert_true(adj[0] < 0.05 && adj[3] < 0.05);
	assert_true(adj[1] >= 0.05 && adj[2] >= 0.05);
	double n;
	assert_int_equal(stats_sample_size_means(&n, 1.0, 0.5, 0.05, 0.8), 0);
	assert_true(n == 63.0);
}

static void test_stats_rejects_bad_input(void **state)
{
	(void)state;
	struct stats_comparison c;
	struct stats_summary one = { 1, 2, 1 }, two = { 5, 2, 1 };
	double x = 1, n, s, pv;
	assert_int_equal(stats_two_proportions(&c, 10, 11, 10, 1, 0.05), CRATIS_EINVAL);
	assert_contains(cratis_error_last()->message, "conversions exceed exposures");
	assert_int_equal(stats_two_proportions(&c, 0, 0, 10, 1, 0.05), CRATIS_EINVAL);
	assert_int_equal(stats_two_proportions(&c, 10, 1, 10, 1, 1.5), CRATIS_EINVAL);
	assert_contains(cratis_error_last()->message, "alpha 1.5");
	assert_int_equal(stats_welch(&c, &one, &two, 0.05), CRATIS_EINVAL);
	assert_int_equal(stats_mann_whitney(&c, &x, 0, &x, 1, 0.05), CRATIS_EINVAL);
	double inf = INFINITY;
	assert_int_equal(stats_mann_whitney(&c, &x, 1, &inf, 1, 0.05), CRATIS_EINVAL);
	double w[] = { 1, 0 }, o[] = { 5, 5 };
	assert_int_equal(stats_chi2_gof(&s, &pv, o, w, 2), CRATIS_EINVAL);
	assert_int_equal(stats_chi2_gof(&s, &pv, o, w, 1), CRATIS_EINVAL);
	double bad[] = { 0.5, 1.2 };
	assert_int_equal(stats_holm(bad, bad, 2), CRATIS_EINVAL);
	assert_int_equal(stats_sample_size_proportions(&n, 0.1, 0.1, 0.05, 0.8), CRATIS_EINVAL);
	assert_int_equal(stats_sample_size_means(&n, 1, 0.5, 0.05, 1.0), CRATIS_EINVAL);
	struct stats_msprt m;
	assert_int_equal(stats_msprt_init(&m, 0, 0.05), CRATIS_EINVAL);
	assert_int_equal(stats_msprt_init(&m, 1e-4, 0.05), 0);
	assert_int_equal(stats_msprt_update(&m, 0.1, 0), CRATIS_EINVAL);
	assert_int_equal(m.looks, 0);
	assert_true(isnan(stats_norm_ppf(-0.1)) && isnan(stats_t_cdf(1, 0)));
}

/* The mSPRT's p-value never rises and its interval only shrinks, whatever the estimates do; a
 * large consistent effect drives p below alpha, and Lambda matches its closed form. */
static void test_stats_msprt_is_monotone(void **state)
{
	(void)state;
	struct stats_msprt m;
	assert_int_equal(stats_msprt_init(&m, 0.01, 0.05), 0);
	assert_true(m.p_value == 1.0 && isinf(m.ci_low) && isinf(m.ci_high));
	double theta[] = { 0.3, -0.1, 0.05, 0.2, 0.0, 0.15, 0.12, 0.11, 0.1, 0.1 };
	double prev_p = 1.0, prev_lo = -INFINITY, prev_hi = INFINITY;
	for (size_t i = 0; i < 10; i++) {
		double v = 0.04 / (double)(i + 1);
		assert_int_equal(stats_msprt_update(&m, theta[i], v), 0);
		double lam = sqrt(v / (v + 0.01)) * exp(0.01 * theta[i] * theta[i] / (2 * v * (v + 0.01)));
		assert_close(m.lambda, lam, 1e-12, "lambda");
		assert_true(m.p_value <= prev_p);
		assert_true(m.ci_low >= prev_lo && m.ci_high <= prev_hi);
		prev_p = m.p_value;
		prev_lo = m.ci_low;
		prev_hi = m.ci_high;
	}
	assert_int_equal(m.looks, 10);
	for (int i = 0; i < 200; i++)
		assert_int_equal(stats_msprt_update(&m, 0.1, 0.04 / (11.0 + i * 10)), 0);
	assert_true(m.p_value < 0.05);
	assert_true(m.ci_low > 0.0 && m.ci_low < 0.1 && m.ci_high > 0.1);
	/* the sequential sample size is larger than the fixed one for the same effect and power */
	double nseq, nfix;
	assert_int_equal(stats_sample_size_msprt(&nseq, 0.1 * 0.9 + 0.11 * 0.89, 0.01, 1e-4, 0.05,
	                                         0.8), 0);
	assert_int_equal(stats_sample_size_proportions(&nfix, 0.1, 0.11, 0.05, 0.8), 0);
	print_message("planned samples per variant, p 0.10 -> 0.11: fixed %.0f, sequential %.0f\n",
	              nfix, nseq);
	assert_true(nseq > nfix && nseq < 4 * nfix);
}

/* ---- decide ---- */

static struct decide_config ratio_config(void)
{
	struct decide_config c = { 0 };
	c.metric = DECIDE_RATIO;
	c.direction = DECIDE_MAXIMIZE;
	c.mde = 0.10;
	c.max_duration_s = 14 * 86400.0;
	c.until = DECIDE_UNTIL_SIGNIFICANCE;
	c.mode = DECIDE_SEQUENTIAL;
	return c;
}

static struct decide_variant_obs ratio_variant(const char *name, double n, double conv)
{
	struct decide_variant_obs v = { 0 };
	v.name = name;
	v.weight = 1;
	v.exposures = n;
	v.objective.n = n;
	v.objective.conversions = conv;
	return v;
}

static enum decide_verdict decide1(struct decide_result *res, const struct decide_config *c,
                                   struct decide_variant_obs *v, size_t n, double elapsed,
                                   struct decide_state *st)
{
	struct decide_observation o = { .elapsed_s = elapsed, .n_variants = n, .control = 0,
	                                .variants = v };
	int rc = decide_tick(res, c, &o, st);
	if (rc)
		fail_msg("decide_tick: %s", cratis_error_last()->message);
	return res->verdict;
}

/* SRM: a 50/50 split that delivers 4,500/5,500 over 10,000 users is invalid; 5,030/4,970 is not. */
static void test_stats_srm_flags_45_55(void **state)
{
	(void)state;
	struct decide_config c = ratio_config();
	struct decide_state st;
	struct decide_result r;
	decide_state_init(&st);
	struct decide_variant_obs v[] = { ratio_variant("control", 4500, 450),
	                                  ratio_variant("b", 5500, 550) };
	assert_int_equal(decide1(&r, &c, v, 2, 86400, &st), DECIDE_STOP_INVALID);
	assert_true(r.srm_checked && r.srm_p_value < 1e-20);
	assert_contains(r.reasons.v[0], "sample ratio mismatch");
	assert_contains(r.reasons.v[0], "control 4500 (45.0%, weight 50.0%)");
	print_message("SRM 4500/5500 at 50/50: chi-square %.1f, p = %.3g\n", r.srm_statistic,
	              r.srm_p_value);
	decide_result_release(&r);
	decide_state_init(&st);
	v[0] = ratio_variant("control", 5030, 503);
	v[1] = ratio_variant("b", 4970, 497);
	assert_int_equal(decide1(&r, &c, v, 2, 86400, &st), DECIDE_CONTINUE);
	assert_true(r.srm_checked && r.srm_p_value > 0.5);
	decide_result_release(&r);
}

/* A clear winner among three is promoted (Holm-adjusted), and not before min duration. */
static void test_stats_decide_promotes_best(void **state)
{
	(void)state;
	struct decide_config c = ratio_config();
	c.min_duration_s = 3600;
	struct decide_state st;
	struct decide_result r;
	decide_state_init(&st);
	struct decide_variant_obs v[] = { ratio_variant("a", 20000, 2000),
	                                  ratio_variant("b", 20000, 2050),
	                                  ratio_variant("c", 20000, 2600) };
	assert_int_equal(decide1(&r, &c, v, 3, 600, &st), DECIDE_CONTINUE);
	assert_contains(r.reasons.v[0], "minimum duration not reached (600 of 3600 s)");
	decide_result_release(&r);
	assert_int_equal(decide1(&r, &c, v, 3, 7200, &st), DECIDE_PROMOTE);
	assert_int_equal(r.winner, 2);
	assert_true(r.variants[2].significant && r.variants[2].better);
	assert_false(r.variants[1].significant);
	assert_true(r.variants[2].p_adjusted >= r.variants[2].p_value);
	assert_close(r.variants[2].test.lift, 0.3, 1e-9, "lift");
	assert_true(r.variants[2].ci_low > 0);
	assert_contains(r.reasons.v[0], "variant 'c' beats the control");
	decide_result_release(&r);
	/* the same data minimised: c is worse, b is not significant; continue */
	c.direction = DECIDE_MINIMIZE;
	decide_state_init(&st);
	assert_int_equal(decide1(&r, &c, v, 3, 7200, &st), DECIDE_CONTINUE);
	assert_false(r.variants[2].better);
	decide_result_release(&r);
}

/* A/A at max: no significant difference, keep the control; until max waits for max. */
static void test_stats_decide_keeps_control_at_max(void **state)
{
	(void)state;
	struct decide_config c = ratio_config();
	c.until = DECIDE_UNTIL_MAX;
	struct decide_state st;
	struct decide_result r;
	decide_state_init(&st);
	struct decide_variant_obs v[] = { ratio_variant("a", 20000, 2000),
	                                  ratio_variant("b", 20000, 2600) };
	assert_int_equal(decide1(&r, &c, v, 2, 86400, &st), DECIDE_CONTINUE);
	assert_true(r.variants[1].significant);
	decide_result_release(&r);
	assert_int_equal(decide1(&r, &c, v, 2, c.max_duration_s, &st), DECIDE_PROMOTE);
	decide_result_release(&r);
	v[1] = ratio_variant("b", 20000, 2010);
	decide_state_init(&st);
	assert_int_equal(decide1(&r, &c, v, 2, c.max_duration_s, &st), DECIDE_KEEP_CONTROL);
	assert_int_equal(r.winner, 0);
	assert_contains(r.reasons.v[0], "no significant difference at the maximum duration");
	decide_result_release(&r);
}

/* A variant answering 5xx breaches the error-rate guardrail and stops early. */
static void test_stats_decide_guardrail_stops(void **state)
{
	(void)state;
	struct decide_guardrail g = { .name = "error-rate", .metric = DECIDE_RATIO,
	                              .direction = DECIDE_MINIMIZE, .threshold = 0.01 };
	struct decide_config c = ratio_config();
	c.n_guardrails = 1;
	c.guardrails = &g;
	c.min_duration_s = 86400;
	struct decide_state st;
	struct decide_result r;
	decide_state_init(&st);
	struct decide_variant_obs v[] = { ratio_variant("a", 500, 50), ratio_variant("b", 500, 49) };
	v[0].guardrails[0] = (struct decide_sample){ .n = 500, .conversions = 1 };
	v[1].guardrails[0] = (struct decide_sample){ .n = 500, .conversions = 12 };
	/* 2.4% against 0.2%: not yet sure it is more than 1 point worse */
	assert_int_equal(decide1(&r, &c, v, 2, 60, &st), DECIDE_CONTINUE);
	decide_result_release(&r);
	v[1].guardrails[0].conversions = 500;  /* every request fails */
	assert_int_equal(decide1(&r, &c, v, 2, 120, &st), DECIDE_STOP_GUARDRAIL);
	assert_int_equal(r.breached_variant, 1);
	assert_int_equal(r.breached_guardrail, 0);
	assert_int_equal(r.winner, 0);
	assert_contains(r.reasons.v[0], "guardrail 'error-rate' breached by variant 'b'");
	decide_result_release(&r);
}

/* Fixed mode waits for the planned sample size, then decides once; means use Welch. */
static void test_stats_decide_fixed_horizon_means(void **state)
{
	(void)state;
	struct decide_config c = ratio_config();
	c.metric = DECIDE_MEAN;
	c.mode = DECIDE_FIXED;
	c.mde = 0.05;
	struct decide_state st;
	struct decide_result r;
	decide_state_init(&st);
	struct decide_variant_obs v[2] = { { 0 }, { 0 } };
	for (int i = 0; i < 2; i++) {
		v[i].name = i ? "b" : "a";
		v[i].weight = 1;
		v[i].exposures = v[i].objective.n = 500;
		v[i].objective.var = 400;  /* sd 20 around 100: plan 2*400*7.85/25 = 252 */
	}
	v[0].objective.mean = 100;
	v[1].objective.mean = 104;
	v[0].objective.n = v[1].objective.n = 200;
	v[0].exposures = v[1].exposures = 200;
	assert_int_equal(decide1(&r, &c, v, 2, 3600, &st), DECIDE_CONTINUE);
	double n;
	assert_int_equal(stats_sample_size_means(&n, 20, 5, 0.05, 0.8), 0);
	assert_true(r.planned_n == n);
	assert_true(r.variants[1].samples_needed == n - 200);
	assert_contains(r.reasons.v[0], "fixed horizon: waiting for");
	decide_result_release(&r);
	v[0].objective.n = v[1].objective.n = 300;
	v[0].exposures = v[1].exposures = 300;
	assert_int_equal(decide1(&r, &c, v, 2, 7200, &st), DECIDE_PROMOTE);
	assert_true(r.variants[1].test.df > 500);  /* Welch-Satterthwaite */
	decide_result_release(&r);
}

static void test_stats_decide_rejects_bad_config(void **state)
{
	(void)state;
	struct decide_config c = ratio_config();
	struct decide_state st;
	struct decide_result r;
	decide_state_init(&st);
	struct decide_variant_obs v[] = { ratio_variant("a", 10, 1), ratio_variant("b", 10, 11) };
	struct decide_observation o = { .elapsed_s = 1, .n_variants = 2, .control = 0, .variants = v };
	assert_int_equal(decide_tick(&r, &c, &o, &st), CRATIS_EINVAL);
	assert_contains(cratis_error_last()->message, "variant 'b': objective: conversions 11");
	decide_result_release(&r);
	v[1].objective.conversions = 1;
	c.alpha = 2;
	assert_int_equal(decide_tick(&r, &c, &o, &st), CRATIS_EINVAL);
	assert_contains(cratis_error_last()->message, "alpha");
	decide_result_release(&r);
	c.alpha = 0;
	c.max_duration_s = 0;
	assert_int_equal(decide_tick(&r, &c, &o, &st), CRATIS_EINVAL);
	assert_contains(cratis_error_last()->message, "duration.max");
	decide_result_release(&r);
	c.max_duration_s = 10;
	o.n_variants = 1;
	assert_int_equal(decide_tick(&r, &c, &o, &st), CRATIS_EINVAL);
	decide_result_release(&r);
	o.n_variants = 2;
	o.control = 2;
	assert_int_equal(decide_tick(&r, &c, &o, &st), CRATIS_EINVAL);
	decide_result_release(&r);
	assert_string_equal(decide_verdict_name(DECIDE_STOP_INVALID), "stop-invalid");
}

/* Mann-Whitney at the edges: all values equal (no variance: p = 1, shift 0), a single pair (no
 * interval: infinite), and a shift of a constant recovered exactly by Hodges-Lehmann. */
static void test_stats_mann_whitney_edges(void **state)
{
	(void)state;
	struct stats_comparison c;
	double same[5] = { 3, 3, 3, 3, 3 };
	assert_int_equal(stats_mann_whitney(&c, same, 5, same, 5, 0.05), 0);
	assert_true(c.p_value == 1.0 && c.effect == 0.0);
	assert_int_equal(stats_mann_whitney(&c, same, 1, same, 1, 0.05), 0);
	assert_true(isinf(c.ci_low) && isinf(c.ci_high));
	double x[40], y[40];
	for (int i = 0; i < 40; i++) {
		x[i] = (i * 37) % 40;  /* 0..39, shuffled */
		y[i] = x[i] + 7.0;
	}
	assert_int_equal(stats_mann_whitney(&c, x, 40, y, 40, 0.05), 0);
	assert_true(c.effect == 7.0);
	assert_true(c.ci_low < 7.0 && c.ci_high > 7.0);
	assert_true(c.p_value < 0.05);
	assert_true(x[1] == 37.0);  /* inputs untouched */
}

/* The JSON of a result names the verdict, the winner and each variant's statistics; a state
 * written and read back continues exactly as the uninterrupted one (a restarted controller). */
static void test_stats_decide_json_and_restart(void **state)
{
	(void)state;
	struct decide_guardrail g = { .name = "errors", .metric = DECIDE_RATIO,
	                              .direction = DECIDE_MINIMIZE, .threshold = 0.01 };
	struct decide_config c = ratio_config();
	c.n_guardrails = 1;
	c.guardrails = &g;
	struct decide_state a, b;
	decide_state_init(&a);
	struct decide_result r;
	struct decide_variant_obs v[] = { ratio_variant("a", 3000, 300),
	                                  ratio_variant("b", 3000, 330) };
	for (int i = 0; i < 2; i++)
		v[i].guardrails[0] = (struct decide_sample){ .n = 3000, .conversions = 3 };
	for (int t = 1; t <= 3; t++) {
		assert_int_equal(decide1(&r, &c, v, 2, t * 60.0, &a), DECIDE_CONTINUE);
		decide_result_release(&r);
	}
	json_t *js = decide_state_to_json(&a, 2, 1);
	char *text = json_dumps(js, JSON_COMPACT);
	json_decref(js);
	json_error_t jerr;
	json_t *back = json_loads(text, 0, &jerr);
	assert_non_null(back);
	assert_int_equal(decide_state_from_json(&b, back), 0);
	json_decref(back);
	free(text);
	assert_true(a.objective[1].looks == 3 && isfinite(a.objective[1].ci_low));
	assert_memory_equal(&a, &b, sizeof(a));  /* to the bit, the control's unused entry too */
	/* both continue with a larger effect and agree to the bit */
	v[1].objective.conversions = 420;
	struct decide_result ra, rb;
	decide1(&ra, &c, v, 2, 240, &a);
	decide1(&rb, &c, v, 2, 240, &b);
	assert_int_equal(ra.verdict, rb.verdict);
	assert_true(ra.variants[1].p_value == rb.variants[1].p_value);
	assert_int_equal(ra.verdict, DECIDE_PROMOTE);
	json_t *j = decide_result_to_json(&ra, &c);
	assert_string_equal(json_string_value(json_object_get(j, "verdict")), "promote");
	assert_string_equal(json_string_value(json_object_get(j, "winner")), "b");
	json_t *vb = json_array_get(json_object_get(j, "variants"), 1);
	assert_true(json_is_true(json_object_get(vb, "significant")));
	assert_true(fabs(json_real_value(json_object_get(vb, "lift")) - 0.4) < 1e-12);
	json_t *va = json_array_get(json_object_get(j, "variants"), 0);
	assert_true(fabs(json_real_value(json_object_get(va, "value")) - 0.1) < 1e-12);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(vb,
	                    "guardrails"), 0), "name")), "errors");
	assert_true(json_is_array(json_object_get(j, "reasons")));
	json_decref(j);
	decide_result_release(&ra);
	decide_result_release(&rb);
	/* a damaged state is refused with the key named */
	json_t *bad = json_pack("{s:[{s:s}], s:[]}", "objective", "tau2", "x", "guardrails");
	assert_int_equal(decide_state_from_json(&b, bad), CRATIS_EINVAL);
	assert_contains(cratis_error_last()->message, "objective[0].tau2");
	json_decref(bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stats_matches_scipy),
		cmocka_unit_test(test_stats_published_values),
		cmocka_unit_test(test_stats_rejects_bad_input),
		cmocka_unit_test(test_stats_msprt_is_monotone),
		cmocka_unit_test(test_stats_srm_flags_45_55),
		cmocka_unit_test(test_stats_decide_promotes_best),
		cmocka_unit_test(test_stats_decide_keeps_control_at_max),
		cmocka_unit_test(test_stats_decide_guardrail_stops),
		cmocka_unit_test(test_stats_decide_fixed_horizon_means),
		cmocka_unit_test(test_stats_decide_rejects_bad_config),
		cmocka_unit_test(test_stats_mann_whitney_edges),
		cmocka_unit_test(test_stats_decide_json_and_restart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
