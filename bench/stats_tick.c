/* Cost of the experiment decision (issue 12): decide_tick with 3 variants (control + 2) and 2
 * guardrails, repeated TICKS times on growing counts, and one Mann-Whitney U with the
 * Hodges-Lehmann interval on 2,000 x 2,000 latency values. Prints nanoseconds per tick and the
 * Mann-Whitney time. Usage: stats_tick [TICKS] (default 100000). Driven by bench/stats.sh. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "experiment/decide.h"
#include "stats/stats.h"
#include "util/util.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long ticks = argc > 1 ? atol(argv[1]) : 100000;
	if (ticks <= 0) {
		fprintf(stderr, "usage: stats_tick [TICKS]\n");
		return 64;
	}
	struct decide_guardrail g[2] = {
		{ .name = "error-rate", .metric = DECIDE_RATIO, .direction = DECIDE_MINIMIZE,
		  .threshold = 0.01 },
		{ .name = "latency", .metric = DECIDE_MEAN, .direction = DECIDE_MINIMIZE,
		  .threshold = 0.2, .relative = true },
	};
	struct decide_config c = { .metric = DECIDE_RATIO, .mde = 0.1, .max_duration_s = 1e12,
	                           .until = DECIDE_UNTIL_MAX, .n_guardrails = 2, .guardrails = g };
	struct decide_state st;
	decide_state_init(&st);
	struct decide_variant_obs v[3] = { { .name = "a" }, { .name = "b" }, { .name = "c" } };
	double sink = 0.0, t0 = now_s();
	for (long t = 1; t <= ticks; t++) {
		for (int i = 0; i < 3; i++) {
			double n = 1000.0 * (double)t;
			v[i].weight = 1;
			v[i].exposures = v[i].objective.n = n;
			v[i].objective.conversions = n * (0.1 + 0.001 * i);
			v[i].guardrails[0] = (struct decide_sample){ .n = n, .conversions = n * 0.002 };
			v[i].guardrails[1] = (struct decide_sample){ .n = n, .mean = 200 + i, .var = 2500 };
		}
		struct decide_observation o = { .elapsed_s = (double)t, .n_variants = 3, .control = 0,
		                                .variants = v };
		struct decide_result r;
		if (decide_tick(&r, &c, &o, &st)) {
			fprintf(stderr, "decide_tick failed\n");
			return 1;
		}
		sink += r.variants[1].p_value;
		decide_result_release(&r);
	}
	double per_tick = (now_s() - t0) / (double)ticks;
	size_t n = 2000;
	double *x = xmalloc(n * sizeof(*x)), *y = xmalloc(n * sizeof(*y));
	unsigned long long s = 42;
	for (size_t i = 0; i < n; i++) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		x[i] = 200.0 * exp((double)(s >> 11) / 9007199254740992.0);
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		y[i] = 210.0 * exp((double)(s >> 11) / 9007199254740992.0);
	}
	struct stats_comparison mw;
	t0 = now_s();
	if (stats_mann_whitney(&mw, x, n, y, n, 0.05)) {
		fprintf(stderr, "mann-whitney failed\n");
		return 1;
	}
	double mw_s = now_s() - t0;
	free(x);
	free(y);
	printf("decide_tick, 3 variants, 2 guardrails: %.0f ns per tick over %ld ticks (check %g)\n",
	       per_tick * 1e9, ticks, sink);
	printf("mann-whitney + hodges-lehmann, 2000 x 2000 values: %.1f ms (shift %.2f)\n", mw_s * 1e3,
	       mw.effect);
	return 0;
}
