/* Statistics for experiments: distributions, two-sample tests of a variant against its control,
 * always-valid (sequential) inference, multiple-comparison correction, sample-ratio mismatch and
 * sample sizes. Pure C11 over libm: no globals, no allocation except where a function says so,
 * safe to call from any thread. The reference values the unit tests check come from scipy
 * (tests/stats/reference.py) and from the textbooks cited next to each function. */
#ifndef CRATIS_STATS_H
#define CRATIS_STATS_H

#include <stddef.h>

/* ---- Distributions ---------------------------------------------------------------------- */

/* Standard normal CDF Phi(x) = P(Z <= x), from erfc (accurate in both tails). Never fails;
 * NaN in gives NaN out. */
double stats_norm_cdf(double x);
/* Standard normal survival function 1 - Phi(x), without cancellation for large x. */
double stats_norm_sf(double x);
/* Standard normal quantile Phi^-1(p) for 0 < p < 1: Wichura, "Algorithm AS 241: The percentage
 * points of the normal distribution", Applied Statistics 37(3), 1988 (PPND16, relative error
 * about 1e-16). Returns -INFINITY for p == 0, +INFINITY for p == 1, NaN outside [0, 1]. */
double stats_norm_ppf(double p);

/* Regularised incomplete beta I_x(a, b) for a > 0, b > 0, 0 <= x <= 1: the continued fraction
 * of Numerical Recipes 3rd ed. §6.4 (betacf) evaluated by the modified Lentz method, with the
 * symmetry I_x(a,b) = 1 - I_{1-x}(b,a) where it converges faster. NaN for invalid arguments. */
double stats_beta_inc(double a, double b, double x);
/* Regularised lower incomplete gamma P(a, x) and upper Q(a, x) = 1 - P(a, x) for a > 0, x >= 0:
 * series for x < a + 1, Lentz continued fraction otherwise (Numerical Recipes 3rd ed. §6.2).
 * NaN for invalid arguments. */
double stats_gamma_p(double a, double x);
double stats_gamma_q(double a, double x);

/* Student t with df > 0 degrees of freedom (df may be fractional, as Welch's is): CDF
 * P(T <= t) through the incomplete beta, the survival function P(T > t), and the quantile
 * (0 < p < 1) found by bisection on the CDF to full double precision. NaN for df <= 0. */
double stats_t_cdf(double t, double df);
double stats_t_sf(double t, double df);
double stats_t_ppf(double p, double df);

/* Chi-square with k > 0 degrees of freedom: survival function P(X > x) = Q(k/2, x/2). */
double stats_chi2_sf(double x, double k);

/* ---- Two-sample comparisons of a treatment (variant) against a control ---------------------- */

/* Summary of one sample of a numeric metric: n observations, their mean and their sample
 * variance (denominator n - 1). */
struct stats_summary {
	double n;
	double mean;
	double var;
};

/* One comparison. effect is treatment - control in the metric's unit (difference of rates or of
 * means; for Mann-Whitney the Hodges-Lehmann shift); [ci_low, ci_high] its two-sided 1 - alpha
 * confidence interval; p_value two-sided. lift is the relative effect treatment/control - 1 with
 * its delta-method interval [lift_low, lift_high] (NaN when the control's value is 0). statistic
 * is the test's statistic (z, Welch's t, or U of the treatment) and df its degrees of freedom
 * (Welch-Satterthwaite; 0 for z and U). se is the standard error of effect. */
struct stats_comparison {
	double control, treatment;   /* the two rates or means (medians are not computed) */
	double effect, se, ci_low, ci_high;
	double lift, lift_low, lift_high;
	double statistic, df, p_value;
};

/* Two-proportion z-test: control x_c conversions out of n_c exposures, treatment x_t out of n_t.
 * p-value from the pooled standard error (sqrt(p(1-p)(1/n_c + 1/n_t)) with p the pooled rate);
 * the interval of the difference from the unpooled one (Wald); lift by the delta method on the
 * ratio of the two rates. alpha in (0, 1). Returns 0, or CRATIS_EINVAL (last error set) when a
 * count is negative, a conversion count exceeds its exposures, an exposure count is 0 or alpha
 * is out of range. When both rates are 0 or both 1 the p-value is 1 and the interval [0, 0]. */
int stats_two_proportions(struct stats_comparison *out, double n_c, double x_c, double n_t,
                          double x_t, double alpha);

/* Welch's unequal-variances t-test of the treatment's mean against the control's, with the
 * Welch-Satterthwaite degrees of freedom; the interval uses the t quantile at those df; lift by
 * the delta method. Returns 0, or CRATIS_EINVAL when a sample has n < 2, a variance is negative,
 * both variances are 0, or alpha is out of range. */
int stats_welch(struct stats_comparison *out, const struct stats_summary *control,
                const struct stats_summary *treatment, double alpha);

/* Mann-Whitney U test of the treatment's values y[0..ny) against the control's x[0..nx):
 * statistic is U of the treatment (pairs with y > x, ties counting 1/2); two-sided p-value from
 * the normal approximation with tie correction and continuity correction, as scipy's
 * mannwhitneyu(y, x, method='asymptotic', use_continuity=True). effect is the Hodges-Lehmann
 * shift, the median of the nx*ny differences y_j - x_i, and its interval the distribution-free
 * one of Hollander & Wolfe, "Nonparametric Statistical Methods" (2nd ed. 1999, §4.3; Moses'
 * order statistics of the differences with the normal approximation for the rank); lift is the
 * shift relative to the control's mean, without an interval. x and y are not modified. Needs
 * nx*ny doubles of temporary memory (aborts when out of memory, like every x* allocator) and
 * O((nx + ny) log(nx + ny) + nx*ny) time (the order statistics by selection, not a sort).
 * Returns 0, or CRATIS_EINVAL when nx or ny is 0, nx*ny exceeds 2^24 (16,777,216), a value is not finite, or
 * alpha is out of range. */
int stats_mann_whitney(struct stats_comparison *out, const double *x, size_t nx, const double *y,
                       size_t ny, double alpha);

/* Relative lift t/c - 1 of two independent estimates with standard errors se_t and se_c, and its
 * delta-method interval at level 1 - alpha: var = se_t^2/c^2 + t^2 se_c^2/c^4. Writes NaN to all
 * three when c == 0. */
void stats_lift(double *lift, double *low, double *high, double c, double se_c, double t,
                double se_t, double alpha);

/* ---- Always-valid inference --------------------------------------------------------------- */

/* Mixture sequential probability ratio test (mSPRT) of H0: theta = 0 for a difference theta of
 * two means or proportions, in the form of Johari, Koomen, Pekelis & Walsh, "Always Valid
 * Inference: Continuous Monitoring of A/B Tests", Operations Research 70(3), 2022 (normal
 * mixture N(0, tau2) over the alternative). With the estimate theta_hat and its variance V at a
 * look,
 *   Lambda = sqrt(V / (V + tau2)) * exp(tau2 * theta_hat^2 / (2 V (V + tau2))),
 * the always-valid p-value is p_n = min(p_{n-1}, 1 / Lambda_n) (monotone, starting at 1) and the
 * always-valid 1 - alpha interval is the running intersection of
 *   theta_hat +- sqrt(V (V + tau2) / tau2 * (2 ln(1/alpha) + ln((V + tau2) / V))).
 * Rejecting when p_n < alpha at any look, however often one looks, keeps the type I error at
 * most alpha. A state is a plain value: a controller may store its fields and restore them. */
struct stats_msprt {
	double tau2;           /* mixing variance, in the squared unit of theta (> 0) */
	double alpha;          /* level of the interval, in (0, 1) */
	double p_value;        /* running always-valid p-value; 1 before the first look */
	double ci_low, ci_high;/* running interval; -inf, +inf before the first look */
	double lambda;         /* Lambda of the last look (0 before the first) */
	unsigned long looks;   /* looks taken so far */
};

/* Start a test: tau2 > 0, alpha in (0, 1). Returns 0 or CRATIS_EINVAL. */
int stats_msprt_init(struct stats_msprt *m, double tau2, double alpha);
/* Take one look with estimate theta_hat and its variance v > 0 (for two proportions
 * p_t(1-p_t)/n_t + p_c(1-p_c)/n_c; for two means s_t^2/n_t + s_c^2/n_c). Updates p_value,
 * the interval, lambda and looks. Returns 0, or CRATIS_EINVAL (state unchanged) when v is not
 * positive and finite or theta_hat is not finite. */
int stats_msprt_update(struct stats_msprt *m, double theta_hat, double v);

/* ---- Several comparisons, sample ratio, sample size -------------------------------------- */

/* Holm's step-down adjusted p-values (Holm, "A simple sequentially rejective multiple test
 * procedure", Scand. J. Statist. 6, 1979): adjusted[i] for p[i], monotone in the order of the
 * p-values and capped at 1; reject H_i at family-wise level alpha iff adjusted[i] < alpha (or
 * <= alpha, as the caller decides). n <= 64. p and adjusted may be the same array. Returns 0,
 * or CRATIS_EINVAL when n is 0 or above 64 or a p-value is outside [0, 1]. */
int stats_holm(double *adjusted, const double *p, size_t n);

/* Pearson's chi-square goodness-of-fit of k observed counts against expected proportions from
 * weights (any positive scale): statistic and p-value with k - 1 degrees of freedom, as
 * scipy.stats.chisquare(observed, f_exp=total*w/sum(w)). For a sample-ratio-mismatch check,
 * p < 0.001 means the split did not deliver the configured weights. Returns 0, or CRATIS_EINVAL
 * when k < 2, a count is negative, a weight is not positive, or the total is 0. */
int stats_chi2_gof(double *statistic, double *p_value, const double *observed,
                   const double *weights, size_t k);

/* Sample size per variant for a two-sided test at level alpha with the given power of a
 * difference between two proportions p1 (control) and p2 (treatment), by the normal
 * approximation without continuity correction (Fleiss, Levin & Paik, "Statistical Methods for
 * Rates and Proportions", 3rd ed. 2003, eq. 4.14):
 *   n = (z_{1-alpha/2} sqrt(2 pbar qbar) + z_{power} sqrt(p1 q1 + p2 q2))^2 / (p2 - p1)^2,
 * rounded up. Returns 0 and writes *n, or CRATIS_EINVAL when a rate is outside (0, 1), the rates
 * are equal, or alpha or power is outside (0, 1). */
int stats_sample_size_proportions(double *n, double p1, double p2, double alpha, double power);
/* The same for a difference delta != 0 of two means with common standard deviation sigma > 0:
 * n = 2 sigma^2 (z_{1-alpha/2} + z_{power})^2 / delta^2, rounded up (Chow, Shao & Wang, "Sample
 * Size Calculations in Clinical Research", 2nd ed. 2008, §3.2.1). Returns 0 or CRATIS_EINVAL. */
int stats_sample_size_means(double *n, double sigma, double delta, double alpha, double power);
/* Sample size per variant at which the mSPRT above, run with mixing variance tau2, rejects with
 * at least the given power a true difference delta of two arms whose per-observation variances
 * sum to var_sum (p1 q1 + p2 q2 for proportions, 2 sigma^2 for means), even if looked at only
 * once at the end: the smallest n with |delta|/sqrt(V) - b(V) >= z_{power}, V = var_sum/n, b the
 * mSPRT boundary in standard errors. Monitoring earlier only adds power, so this is a safe
 * maximum sample size for the sequential mode. Returns 0 or CRATIS_EINVAL (a parameter out of
 * range, or no n up to 1e12 suffices). */
int stats_sample_size_msprt(double *n, double var_sum, double delta, double tau2, double alpha,
                            double power);

#endif
