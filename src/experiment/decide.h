/* The decision of an experiment at one tick: a pure function of the experiment's configuration,
 * the per-variant observations so far and the sequential state carried from the previous tick,
 * to continue / promote a winner / keep the control / stop (guardrail breached, or invalid for a
 * sample-ratio mismatch), with the statistics per variant and the reasons in words. The
 * Experiment controller calls decide_tick every tick and stores the state between ticks;
 * docs/experiments.md ("Statistics", "Decision") documents the rules. */
#ifndef CRATIS_EXPERIMENT_DECIDE_H
#define CRATIS_EXPERIMENT_DECIDE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "stats/stats.h"
#include "util/util.h"

#define DECIDE_MAX_VARIANTS 16   /* control included */
#define DECIDE_MAX_GUARDRAILS 8

/* What a metric is: a ratio (conversions per exposure, compared with the two-proportion z-test)
 * or the mean of a value (compared with Welch's t-test). */
enum decide_metric { DECIDE_RATIO = 0, DECIDE_MEAN = 1 };
/* Which way is better. */
enum decide_direction { DECIDE_MAXIMIZE = 0, DECIDE_MINIMIZE = 1 };
/* until: significance (stop as soon as the answer is known) or max (run to the maximum duration,
 * then decide). */
enum decide_until { DECIDE_UNTIL_SIGNIFICANCE = 0, DECIDE_UNTIL_MAX = 1 };
/* sequential: always-valid mSPRT p-values and intervals, safe to look at every tick;
 * fixed: classical tests, read once at the planned sample size (or at max). */
enum decide_mode { DECIDE_SEQUENTIAL = 0, DECIDE_FIXED = 1 };

/* A metric that must not get worse. */
struct decide_guardrail {
	const char *name;                /* shown in reasons ("error-rate"); borrowed */
	enum decide_metric metric;
	enum decide_direction direction; /* the good direction: DECIDE_MINIMIZE for error rate */
	double threshold;                /* largest tolerated worsening (>= 0), in the metric's unit,
	                                    or a fraction of the control's value when relative */
	bool relative;
};

/* An experiment's configuration. Zero values of alpha, power and srm_alpha take the defaults. */
struct decide_config {
	enum decide_metric metric;       /* the objective's kind */
	enum decide_direction direction;
	double alpha;                    /* family-wise significance level; default 0.05 */
	double power;                    /* for the planned sample size; default 0.8 */
	double mde;                      /* minimum detectable effect relative to the control (> 0,
	                                    e.g. 0.10 for 10%) */
	double tau2;                     /* mSPRT mixing variance of the objective's difference;
	                                    0: (mde * control value)^2, fixed at the first look */
	double min_duration_s;           /* no decision before (seconds) */
	double max_duration_s;           /* decide at the latest then (seconds, > 0) */
	double min_samples;              /* no decision before every variant has this many */
	enum decide_until until;
	enum decide_mode mode;
	double srm_alpha;                /* sample-ratio mismatch level; default 0.001 */
	size_t n_guardrails;             /* <= DECIDE_MAX_GUARDRAILS */
	const struct decide_guardrail *guardrails;  /* borrowed */
};

/* A metric's data for one variant. Ratio: n exposures and conversions (mean and var unused).
 * Mean: n observations, their mean and sample variance (conversions unused). */
struct decide_sample {
	double n;
	double conversions;
	double mean;
	double var;
};

/* One variant's observations. */
struct decide_variant_obs {
	const char *name;                /* borrowed */
	double weight;                   /* configured split weight (> 0, any scale) */
	double exposures;                /* users the split sent to it (for the sample-ratio check) */
	struct decide_sample objective;
	struct decide_sample guardrails[DECIDE_MAX_GUARDRAILS];  /* in config order */
};

/* Everything observed so far. */
struct decide_observation {
	double elapsed_s;                /* since the split went live (seconds) */
	size_t n_variants;               /* 2..DECIDE_MAX_VARIANTS */
	size_t control;                  /* index of the control */
	const struct decide_variant_obs *variants;  /* borrowed */
};

/* Carried from tick to tick (plain values: a controller may persist the fields and restore
 * them). tau2 == 0 in an entry means "not started". */
struct decide_state {
	struct stats_msprt objective[DECIDE_MAX_VARIANTS];
	struct stats_msprt guardrail[DECIDE_MAX_VARIANTS][DECIDE_MAX_GUARDRAILS];
};

enum decide_verdict {
	DECIDE_CONTINUE = 0,
	DECIDE_PROMOTE = 1,              /* promote result.winner */
	DECIDE_KEEP_CONTROL = 2,         /* no variant significantly better (at max or horizon) */
	DECIDE_STOP_GUARDRAIL = 3,       /* a guardrail breached: stop, keep the control */
	DECIDE_STOP_INVALID = 4,         /* sample-ratio mismatch: the data cannot be trusted */
};

/* A guardrail's comparison of a variant with the control. */
struct decide_guardrail_result {
	double control, treatment;       /* rate or mean */
	double worsening;                /* how much worse the variant is (> 0 worse), metric unit */
	double worsening_low;            /* always-valid lower bound of worsening */
	double limit;                    /* the threshold in the metric's unit */
	bool breached;                   /* worsening_low > limit */
};

/* One variant against the control (the control's own entry has is_control set and no test). */
struct decide_variant_result {
	const char *name;                /* borrowed from the observation */
	bool is_control;
	bool has_data;                   /* enough data for the test */
	struct stats_comparison test;    /* fixed-horizon test: effect, CI, p-value, lift */
	double p_value;                  /* the p-value the decision uses: always-valid (sequential)
	                                    or the fixed test's */
	double p_adjusted;               /* Holm-adjusted across the variants */
	double ci_low, ci_high;          /* the interval the decision uses (always-valid in
	                                    sequential mode) of treatment - control */
	bool significant;                /* p_adjusted < alpha */
	bool better;                     /* effect in the configured direction */
	double samples_needed;           /* more samples to reach planned_n (0 when reached, NaN
	                                    when unknown) */
	struct decide_guardrail_result guardrails[DECIDE_MAX_GUARDRAILS];
};

struct decide_result {
	enum decide_verdict verdict;
	size_t winner;                   /* PROMOTE: the variant to promote; else the control */
	size_t breached_variant;         /* STOP_GUARDRAIL: which variant */
	size_t breached_guardrail;       /* STOP_GUARDRAIL: which guardrail (config index) */
	bool srm_checked;                /* enough exposures for the chi-square test */
	double srm_statistic, srm_p_value;
	double planned_n;                /* samples per variant the plan needs for power at mde
	                                    (fixed or sequential formula; NaN before the control has
	                                    data) */
	size_t n_variants;
	struct decide_variant_result variants[DECIDE_MAX_VARIANTS];
	struct strv reasons;             /* sentences in order, lowercase, no full stop; owned */
};

/* Zero a state for a new experiment. */
void decide_state_init(struct decide_state *state);

/* Decide at one tick. Reads cfg and obs (borrowed), updates *state (the sequential tests take
 * this tick's look), and fills *out (initialised by this call: release it with
 * decide_result_release, also after an error). Rules, in order: sample-ratio mismatch ->
 * STOP_INVALID; a guardrail whose always-valid lower bound of worsening exceeds its threshold ->
 * STOP_GUARDRAIL; before min_duration_s or min_samples -> CONTINUE; then, sequential mode:
 * until significance, a significantly better variant -> PROMOTE (the largest effect), every
 * variant significantly worse -> KEEP_CONTROL; at max_duration_s -> PROMOTE a significantly
 * better variant or KEEP_CONTROL; fixed mode: at the planned sample size (until significance) or
 * at max -> PROMOTE or KEEP_CONTROL. Returns 0, or CRATIS_EINVAL (last error set, naming the
 * field) for an invalid configuration (alpha, power, srm_alpha outside (0, 1); mde <= 0;
 * max_duration_s <= 0 or below min_duration_s; too many guardrails; a negative threshold) or
 * observation (fewer than 2 or more than DECIDE_MAX_VARIANTS variants, control out of range, a
 * weight <= 0, a negative count, conversions above exposures, a negative variance). */
int decide_tick(struct decide_result *out, const struct decide_config *cfg,
                const struct decide_observation *obs, struct decide_state *state);

/* Free what a result holds (its reasons); the struct may be reused. */
void decide_result_release(struct decide_result *res);

/* The result as JSON, for `experiment status -o json` and events (cfg gives the guardrails'
 * names; it must be the configuration of the tick):
 *   {"verdict": "promote", "winner": "c" | null, "reasons": ["..."],
 *    "srm": {"checked": bool, "statistic": x, "p_value": x}, "planned_n": x,
 *    "breached": {"variant": "b", "guardrail": "error-rate"}   (stop-guardrail only),
 *    "variants": [{"name", "control": bool, "has_data", "control_value", "value", "effect",
 *                  "ci": [lo, hi], "p_value", "p_adjusted", "fixed_p_value", "lift",
 *                  "lift_ci": [lo, hi], "significant", "better", "samples_needed",
 *                  "guardrails": [{"name", "control", "value", "worsening", "worsening_low",
 *                                  "limit", "breached"}]}]}
 * "winner" is null unless the verdict is promote; the control's entry has only name, control,
 * value and guardrails' values. NaN and infinities are null. New reference. */
json_t *decide_result_to_json(const struct decide_result *res, const struct decide_config *cfg);

/* The state as JSON, for a controller to persist between ticks and across restarts:
 * {"objective": [M, ...], "guardrails": [[M, ...], ...]} for n_variants entries of n_guardrails
 * each, M = {"tau2", "alpha", "p_value", "ci_low", "ci_high", "lambda", "looks"}, infinities as
 * the strings "-inf" and "inf". Doubles are written with 17 significant digits, so that
 * decide_state_from_json restores them exactly. New reference. */
json_t *decide_state_to_json(const struct decide_state *state, size_t n_variants,
                             size_t n_guardrails);
/* Restore a state written by decide_state_to_json into *out (zeroed first; entries not in the
 * JSON stay "not started"). Returns 0, or CRATIS_EINVAL (last error set, naming the key) when j
 * is not of that shape or has more than DECIDE_MAX_VARIANTS / DECIDE_MAX_GUARDRAILS entries. */
int decide_state_from_json(struct decide_state *out, const json_t *j);

/* "continue", "promote", "keep-control", "stop-guardrail", "stop-invalid". */
const char *decide_verdict_name(enum decide_verdict v);

#endif
