/* Composite objectives of an experiment (issue 12): an expression over several metrics'
 * per-variant values, `revenue.mean * buy.rate - 0.1 * latency.mean`, evaluated in the Lua 5.4
 * sandbox of src/capability/sandbox.h (no io, os, load or require). Its value per variant comes
 * with a standard error by the delta method over numerical partial derivatives, and becomes the
 * decide_sample (DECIDE_MEAN) that decide_tick compares. docs/experiments.md ("Composite
 * objectives") documents the expression's names and the method. */
#ifndef CRATIS_EXPERIMENT_OBJECTIVE_H
#define CRATIS_EXPERIMENT_OBJECTIVE_H

#include <stdbool.h>
#include <stddef.h>

#include "experiment/decide.h"
#include "experiment/metrics.h"
#include "util/diag.h"

#define OBJECTIVE_MAX_METRICS METRICS_MAX_METRICS
/* The field errors are reported at when the caller gives none. */
#define OBJECTIVE_FIELD "spec.objective.expression"

/* One metric's data for one variant, as metric_set_sample gives it: a ratio has n (exposures)
 * and conversions, a mean has n, the mean and the sample variance. */
struct objective_metric {
	const char *name;                /* [A-Za-z0-9_.-]+; borrowed */
	enum decide_metric kind;
	struct decide_sample sample;
};

/* A compiled expression (owns its sandbox). */
struct objective;

/* Compile expression (Lua 5.4 expression text) over metrics[0..n_metrics) (their names and
 * kinds; samples unused), and evaluate it once on representative values. In the expression, each
 * metric is a table {rate, mean, n, conversions, sum}: a global by its name when the name is a Lua
 * identifier (and not a keyword or a library's name), and metrics["NAME"] for any name. Every
 * other name must be one of the sandbox's (math, string, table, tonumber, tostring, type, pairs,
 * ipairs, select, error, assert, next, rawequal, rawlen, rawget, hours, metrics). field names the
 * field in messages (NULL: OBJECTIVE_FIELD). *out is the objective (free with objective_free), or
 * NULL after an error. Returns 0, or CRATIS_EINVAL with an error diagnostic in *d located at
 * field: an empty expression, a syntax error (Lua's message), an unknown metric ("unknown metric
 * 'revnue' (the metrics are: buy, revenue)"), an unknown field of a metric, `conversions` of a
 * mean, more than OBJECTIVE_MAX_METRICS metrics or a bad metric name, a runtime error on the
 * representative values, or a value that is not a number (a string, a boolean, nil, a table);
 * CRATIS_ENOMEM when the sandbox cannot be created. */
int objective_compile(struct objective **out, const char *expression,
                      const struct objective_metric *metrics, size_t n_metrics, const char *field,
                      struct diags *d);
void objective_free(struct objective *o);

/* True when the expression reads metric i (of the compile-time list) by name, or reads the
 * `metrics` table (then every metric counts as read). */
bool objective_uses(const struct objective *o, size_t i);

/* The expression's value for one variant, with its delta-method standard error. */
struct objective_estimate {
	bool has_data;                   /* every metric read has data (ratio n > 0, mean n >= 2) and
	                                    the value is finite */
	double value;                    /* f at the estimates; NaN without data */
	double se;                       /* standard error of value; NaN without data */
	double n;                        /* the smallest n of the metrics read */
	double partial[OBJECTIVE_MAX_METRICS];   /* df/dθ_i (0 for metrics not read) */
	double var_theta[OBJECTIVE_MAX_METRICS]; /* the variance of each θ_i */
};

/* Evaluate o for one variant with metrics[0..n_metrics) (the same names, kinds and order as at
 * objective_compile; variant names the variant in messages). The estimate θ_i of each metric is
 * its rate (ratio) or mean (mean); its variance is p(1-p)/n with p = (x + 1/2)/(n + 1) (a ratio,
 * as decide.c's sequential test) or s²/n (a mean). value = f(θ); each partial derivative is a
 * central difference with step h_i = cbrt(DBL_EPSILON) · max(|θ_i|, sd(θ_i)) (1e-6 when both
 * are 0), in which n stays fixed and rate, mean, conversions and sum all follow θ_i;
 * se² = Σ (∂f/∂θ_i)² var(θ_i) (the metrics taken as independent). A metric read without data
 * (ratio n = 0, mean n < 2) or a value or derivative that is not finite gives has_data false (not
 * an error). Returns 0, or CRATIS_EINVAL with an error diagnostic located at the compile-time
 * field: the metrics differ from those compiled, an expression error at these values (Lua's
 * message, prefixed with the variant), or a value that is not a number. */
int objective_estimate(struct objective_estimate *out, struct objective *o,
                       const struct objective_metric *metrics, size_t n_metrics,
                       const char *variant, struct diags *d);

/* The decide_sample decide_tick compares for an estimate (decide_config.metric must be
 * DECIDE_MEAN): n = e->n, mean = e->value, var = se² · n, so that var / n, the variance of the
 * value decide uses, is se². Without data: n = 0, mean NaN, var 0. */
void objective_sample(struct decide_sample *out, const struct objective_estimate *e);

/* objective_estimate then objective_sample for variant v of set, its metrics taken in the set's
 * order (as compiled: compile with the set's definitions' names and kinds). Returns as
 * objective_estimate; *est (may be NULL) receives the estimate. */
int objective_sample_from_set(struct decide_sample *out, struct objective_estimate *est,
                              struct objective *o, const struct metric_set *set, size_t v,
                              struct diags *d);

#endif
