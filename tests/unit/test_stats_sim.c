/* Simulation of experiments (seeded, no servers, no clock): decide_tick after every batch of
 * users over 1,000 A/A experiments (false promotions <= alpha), 1,000 experiments with a 10%
 * relative lift run to the planned sequential sample size (detections >= power), the median
 * samples at the decision against the fixed-horizon size, and what peeking at a fixed-horizon
 * test every batch would do instead, and 1,000 A/A/A/A experiments under Holm's correction. Prints the figures. */
#include "helpers.h"

#include <math.h>

#include "experiment/decide.h"
#include "stats/stats.h"

struct fake_calls fake_calls;

#define SIM_EXPERIMENTS 1000
#define SIM_BATCH 1000          /* users per variant between two ticks */
#define SIM_BASE 0.10           /* control conversion rate */
#define SIM_MDE 0.10            /* relative */
#define SIM_ALPHA 0.05
#define SIM_POWER 0.8

/* xoshiro256** (Blackman & Vigna, 2018), seeded through splitmix64. */
struct rng {
	uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

/* Conversions among n users converting with probability p, one Bernoulli draw per user. */
static double conversions(struct rng *r, double n, double p)
{
	uint64_t cut = (uint64_t)(p * 18446744073709551616.0), x = 0;
	for (double i = 0; i < n; i++)
		x += rng_next(r) < cut;
	return (double)x;
}

struct outcome {
	enum decide_verdict verdict;
	size_t winner;
	double n;        /* users per variant at the decision */
	bool fixed_peek; /* a fixed-horizon z-test read at every batch rejected at some batch */
};

/* One experiment of k variants (variant 0 the control) converting at p[i], with a tick after
 * every batch until a decision. */
static struct outcome run_k(struct rng *r, const double *p, size_t k, double max_n)
{
	struct decide_config c = { 0 };
	c.metric = DECIDE_RATIO;
	c.direction = DECIDE_MAXIMIZE;
	c.alpha = SIM_ALPHA;
	c.power = SIM_POWER;
	c.mde = SIM_MDE;
	c.tau2 = pow(SIM_MDE * SIM_BASE, 2);
	c.min_samples = SIM_BATCH;
	c.max_duration_s = ceil(max_n / SIM_BATCH);  /* one second per batch */
	c.until = DECIDE_UNTIL_SIGNIFICANCE;
	c.mode = DECIDE_SEQUENTIAL;
	struct decide_state st;
	decide_state_init(&st);
	struct decide_variant_obs v[4];
	static const char *const names[] = { "control", "b", "c", "d" };
	memset(v, 0, sizeof(v));
	for (size_t i = 0; i < k; i++) {
		v[i].name = names[i];
		v[i].weight = 1;
	}
	struct outcome o = { DECIDE_CONTINUE, 0, 0, false };
	for (double t = 1; o.verdict == DECIDE_CONTINUE; t++) {
		for (size_t i = 0; i < k; i++) {
			v[i].exposures += SIM_BATCH;
			v[i].objective.n += SIM_BATCH;
			v[i].objective.conversions += conversions(r, SIM_BATCH, p[i]);
		}
		struct decide_observation obs = { .elapsed_s = t, .n_variants = k, .control = 0,
		                                  .variants = v };
		struct decide_result res;
		if (decide_tick(&res, &c, &obs, &st))
			fail_msg("decide_tick: %s", cratis_error_last()->message);
		if (res.variants[1].has_data && res.variants[1].test.p_value < SIM_ALPHA &&
		    res.variants[1].test.effect > 0)
			o.fixed_peek = true;
		o.verdict = res.verdict;
		o.winner = res.winner;
		o.n = v[0].objective.n;
		decide_result_release(&res);
		if (t > c.max_duration_s + 1)
			fail_msg("no decision at max");
	}
	return o;
}

static struct outcome run_one(struct rng *r, double p_treatment, double max_n)
{
	double p[2] = { SIM_BASE, p_treatment };
	return run_k(r, p, 2, max_n);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Planned per-variant sizes: fixed-horizon and sequential (mSPRT) for 0.10 -> 0.11. */
static void planned(double *fixed, double *seq)
{
	double p2 = SIM_BASE * (1 + SIM_MDE);
	assert_int_equal(stats_sample_size_proportions(fixed, SIM_BASE, p2, SIM_ALPHA, SIM_POWER), 0);
	assert_int_equal(stats_sample_size_msprt(seq, SIM_BASE * (1 - SIM_BASE) + p2 * (1 - p2),
	                                         p2 - SIM_BASE, pow(SIM_MDE * SIM_BASE, 2), SIM_ALPHA,
	                                         SIM_POWER), 0);
}

static void test_stats_sim_aa_false_promotions_within_alpha(void **state)
{
	(void)state;
	double nfix, nseq;
	planned(&nfix, &nseq);
	struct rng r;
	rng_seed(&r, 12);
	int promoted = 0, peeked = 0, kept = 0;
	for (int e = 0; e < SIM_EXPERIMENTS; e++) {
		struct outcome o = run_one(&r, SIM_BASE, nseq);
		promoted += o.verdict == DECIDE_PROMOTE;
		kept += o.verdict == DECIDE_KEEP_CONTROL;
		peeked += o.fixed_peek;
	}
	double rate = (double)promoted / SIM_EXPERIMENTS;
	double bound = SIM_ALPHA + 3 * sqrt(SIM_ALPHA * (1 - SIM_ALPHA) / SIM_EXPERIMENTS);
	print_message("A/A, %d experiments checked every %d users per variant up to %.0f: false "
	              "promotion rate %.3f (alpha %.2f, bound %.3f); kept the control %d times; a "
	              "fixed-horizon z-test peeked at every batch would have promoted %.3f\n",
	              SIM_EXPERIMENTS, SIM_BATCH, nseq, rate, SIM_ALPHA, bound, kept,
	              (double)peeked / SIM_EXPERIMENTS);
	assert_true(rate <= bound);
	assert_int_equal(promoted + kept, SIM_EXPERIMENTS);
	/* the simulation can tell: peeking at the fixed test inflates the error well past alpha */
	assert_true((double)peeked / SIM_EXPERIMENTS > bound);
}

static void test_stats_sim_lift_detected_with_power(void **state)
{
	(void)state;
	double nfix, nseq;
	planned(&nfix, &nseq);
	struct rng r;
	rng_seed(&r, 13);
	int detected = 0;
	double *n = xcalloc(SIM_EXPERIMENTS, sizeof(*n));
	for (int e = 0; e < SIM_EXPERIMENTS; e++) {
		struct outcome o = run_one(&r, SIM_BASE * (1 + SIM_MDE), nseq);
		detected += o.verdict == DECIDE_PROMOTE && o.winner == 1;
		n[e] = o.n;
	}
	qsort(n, SIM_EXPERIMENTS, sizeof(*n), cmp_double);
	double median = 0.5 * (n[SIM_EXPERIMENTS / 2 - 1] + n[SIM_EXPERIMENTS / 2]);
	double rate = (double)detected / SIM_EXPERIMENTS;
	double bound = SIM_POWER - 3 * sqrt(SIM_POWER * (1 - SIM_POWER) / SIM_EXPERIMENTS);
	print_message("10%% relative lift (0.10 -> 0.11), %d experiments: detection rate %.3f "
	              "(power %.2f, bound %.3f); median samples per variant at the decision %.0f "
	              "against the fixed-horizon %.0f (sequential maximum %.0f)\n", SIM_EXPERIMENTS,
	              rate, SIM_POWER, bound, median, nfix, nseq);
	free(n);
	assert_true(rate >= bound);
}

/* Three identical variants against the control: Holm keeps the family-wise rate of promoting any
 * of them within alpha. */
static void test_stats_sim_aaaa_holm_family_wise(void **state)
{
	(void)state;
	double nfix, nseq, p[4] = { SIM_BASE, SIM_BASE, SIM_BASE, SIM_BASE };
	planned(&nfix, &nseq);
	struct rng r;
	rng_seed(&r, 14);
	int promoted = 0;
	for (int e = 0; e < SIM_EXPERIMENTS; e++)
		promoted += run_k(&r, p, 4, nseq).verdict == DECIDE_PROMOTE;
	double rate = (double)promoted / SIM_EXPERIMENTS;
	double bound = SIM_ALPHA + 3 * sqrt(SIM_ALPHA * (1 - SIM_ALPHA) / SIM_EXPERIMENTS);
	print_message("A/A/A/A (3 comparisons with the control, Holm), %d experiments: family-wise "
	              "false promotion rate %.3f (bound %.3f)\n", SIM_EXPERIMENTS, rate, bound);
	assert_true(rate <= bound);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stats_sim_aa_false_promotions_within_alpha),
		cmocka_unit_test(test_stats_sim_lift_detected_with_power),
		cmocka_unit_test(test_stats_sim_aaaa_holm_family_wise),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
