/* Two-sample comparisons, the mSPRT, Holm, chi-square goodness of fit and sample sizes (the
 * contracts and their sources are in stats.h). */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "stats/stats.h"
#include "util/error.h"
#include "util/util.h"

static int check_alpha(double alpha)
{
	if (!(alpha > 0.0 && alpha < 1.0))
		return error_set(CRATIS_EINVAL, "alpha %g is outside (0, 1)", alpha);
	return 0;
}

void stats_lift(double *lift, double *low, double *high, double c, double se_c, double t,
                double se_t, double alpha)
{
	if (c == 0.0 || !isfinite(c)) {
		*lift = *low = *high = NAN;
		return;
	}
	double l = t / c - 1.0;
	double var = se_t * se_t / (c * c) + t * t * se_c * se_c / (c * c * c * c);
	double h = stats_norm_ppf(1.0 - alpha / 2.0) * sqrt(var);
	*lift = l;
	*low = l - h;
	*high = l + h;
}

int stats_two_proportions(struct stats_comparison *out, double n_c, double x_c, double n_t,
                          double x_t, double alpha)
{
	int rc = check_alpha(alpha);
	if (rc)
		return rc;
	if (!(n_c > 0.0) || !(n_t > 0.0) || !(x_c >= 0.0) || !(x_t >= 0.0) || !isfinite(n_c) ||
	    !isfinite(n_t))
		return error_set(CRATIS_EINVAL,
		                 "exposures must be positive and conversions non-negative (control %g/%g, "
		                 "treatment %g/%g)", x_c, n_c, x_t, n_t);
	if (x_c > n_c || x_t > n_t)
		return error_set(CRATIS_EINVAL,
		                 "conversions exceed exposures (control %g/%g, treatment %g/%g)", x_c, n_c,
		                 x_t, n_t);
	double pc = x_c / n_c, pt = x_t / n_t, z = stats_norm_ppf(1.0 - alpha / 2.0);
	double pool = (x_c + x_t) / (n_c + n_t);
	double se_pool = sqrt(pool * (1.0 - pool) * (1.0 / n_c + 1.0 / n_t));
	double se_c = sqrt(pc * (1.0 - pc) / n_c), se_t = sqrt(pt * (1.0 - pt) / n_t);
	struct stats_comparison r = { 0 };
	r.control = pc;
	r.treatment = pt;
	r.effect = pt - pc;
	r.se = sqrt(se_c * se_c + se_t * se_t);
	r.ci_low = r.effect - z * r.se;
	r.ci_high = r.effect + z * r.se;
	if (se_pool > 0.0) {
		r.statistic = r.effect / se_pool;
		r.p_value = fmin(1.0, 2.0 * stats_norm_sf(fabs(r.statistic)));
	} else {
		r.statistic = 0.0;
		r.p_value = 1.0;
	}
	r.df = 0.0;
	stats_lift(&r.lift, &r.lift_low, &r.lift_high, pc, se_c, pt, se_t, alpha);
	*out = r;
	return 0;
}

int stats_welch(struct stats_comparison *out, const struct stats_summary *c,
                const struct stats_summary *t, double alpha)
{
	int rc = check_alpha(alpha);
	if (rc)
		return rc;
	if (!(c->n >= 2.0) || !(t->n >= 2.0))
		return error_set(CRATIS_EINVAL, "each sample needs at least 2 values (control %g, "
		                 "treatment %g)", c->n, t->n);
	if (!(c->var >= 0.0) || !(t->var >= 0.0) || !isfinite(c->mean) || !isfinite(t->mean))
		return error_set(CRATIS_EINVAL, "a variance is negative or a mean is not finite");
	double qc = c->var / c->n, qt = t->var / t->n;
	if (qc + qt <= 0.0)
		return error_set(CRATIS_EINVAL, "both samples have zero variance");
	struct stats_comparison r = { 0 };
	r.control = c->mean;
	r.treatment = t->mean;
	r.effect = t->mean - c->mean;
	r.se = sqrt(qc + qt);
	r.statistic = r.effect / r.se;
	r.df = (qc + qt) * (qc + qt) / (qc * qc / (c->n - 1.0) + qt * qt / (t->n - 1.0));
	r.p_value = fmin(1.0, 2.0 * stats_t_sf(fabs(r.statistic), r.df));
	double q = stats_t_ppf(1.0 - alpha / 2.0, r.df);
	r.ci_low = r.effect - q * r.se;
	r.ci_high = r.effect + q * r.se;
	stats_lift(&r.lift, &r.lift_low, &r.lift_high, c->mean, sqrt(qc), t->mean, sqrt(qt), alpha);
	*out = r;
	return 0;
}

struct mw_value {
	double v;
	int treatment;
};

static int cmp_mw(const void *a, const void *b)
{
	double x = ((const struct mw_value *)a)->v, y = ((const struct mw_value *)b)->v;
	return (x > y) - (x < y);
}

/* The k-th smallest (0-based) of a[0..n), partially reordering a: Wirth's selection (Hoare's
 * FIND, "Algorithms + Data Structures = Programs", 1976, §2.3.4) with a median-of-three pivot,
 * O(n) on average, so that the Hodges-Lehmann statistics need no full sort. */
static double select_kth(double *a, size_t n, size_t k)
{
	ptrdiff_t l = 0, r = (ptrdiff_t)n - 1, kk = (ptrdiff_t)k;
	while (l < r) {
		double p1 = a[l], p2 = a[l + (r - l) / 2], p3 = a[r];
		double x = p1 < p2 ? (p2 < p3 ? p2 : (p1 < p3 ? p3 : p1))
		                   : (p1 < p3 ? p1 : (p2 < p3 ? p3 : p2));
		ptrdiff_t i = l, j = r;
		do {
			while (a[i] < x)
				i++;
			while (x < a[j])
				j--;
			if (i <= j) {
				double t = a[i];
				a[i] = a[j];
				a[j] = t;
				i++;
				j--;
			}
		} while (i <= j);
		if (j < kk)
			l = i;
		if (kk < i)
			r = j;
	}
	return a[k];
}

int stats_mann_whitney(struct stats_comparison *out, const double *x, size_t nx, const double *y,
                       size_t ny, double alpha)
{
	int rc = check_alpha(alpha);
	if (rc)
		return rc;
	if (nx == 0 || ny == 0)
		return error_set(CRATIS_EINVAL, "each sample needs at least 1 value (control %zu, "
		                 "treatment %zu)", nx, ny);
	if (nx > (size_t)1 << 24 || ny > ((size_t)1 << 24) / nx)
		return error_set(CRATIS_EINVAL, "%zu x %zu pairs exceed the 2^24 the Hodges-Lehmann "
		                 "estimate is computed for", nx, ny);
	for (size_t i = 0; i < nx; i++)
		if (!isfinite(x[i]))
			return error_set(CRATIS_EINVAL, "control value %zu is not finite", i);
	for (size_t i = 0; i < ny; i++)
		if (!isfinite(y[i]))
			return error_set(CRATIS_EINVAL, "treatment value %zu is not finite", i);

	/* ranks of the pooled sample, ties given their average rank */
	size_t n = nx + ny;
	struct mw_value *all = xmalloc(n * sizeof(*all));
	for (size_t i = 0; i < nx; i++)
		all[i] = (struct mw_value){ x[i], 0 };
	for (size_t i = 0; i < ny; i++)
		all[nx + i] = (struct mw_value){ y[i], 1 };
	qsort(all, n, sizeof(*all), cmp_mw);
	double rank_sum_t = 0.0, tie_term = 0.0, cx = 0.0, sx = 0.0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && all[j].v == all[i].v)
			j++;
		double tcount = (double)(j - i), avg = 0.5 * (double)(i + 1 + j);
		tie_term += tcount * tcount * tcount - tcount;
		for (size_t k = i; k < j; k++)
			if (all[k].treatment)
				rank_sum_t += avg;
		i = j;
	}
	free(all);
	for (size_t i = 0; i < nx; i++) {
		sx += x[i];
		cx += 1.0;
	}
	double dnx = (double)nx, dny = (double)ny, dn = (double)n;
	double u_t = rank_sum_t - dny * (dny + 1.0) / 2.0;
	double mu = dnx * dny / 2.0;
	double s = sqrt(dnx * dny / 12.0 * ((dn + 1.0) - (n > 1 ? tie_term / (dn * (dn - 1.0)) : 0.0)));
	struct stats_comparison r = { 0 };
	r.statistic = u_t;
	if (s > 0.0) {
		double u = fmax(u_t, dnx * dny - u_t);
		double z = (u - mu - 0.5) / s;
		r.p_value = fmin(1.0, fmax(0.0, 2.0 * stats_norm_sf(z)));
	} else {
		r.p_value = 1.0;
	}

	/* Hodges-Lehmann shift and Moses' interval from the ordered pairwise differences */
	size_t m = nx * ny;
	double *d = xmalloc(m * sizeof(*d));
	for (size_t i = 0, k = 0; i < nx; i++)
		for (size_t j = 0; j < ny; j++)
			d[k++] = y[j] - x[i];
	r.effect = m % 2 ? select_kth(d, m, m / 2)
	                 : 0.5 * (select_kth(d, m, m / 2 - 1) + select_kth(d, m, m / 2));
	double ca = floor(dnx * dny / 2.0 -
	                  stats_norm_ppf(1.0 - alpha / 2.0) * sqrt(dnx * dny * (dn + 1.0) / 12.0));
	if (ca >= 1.0) {
		size_t c = (size_t)ca;
		r.ci_low = select_kth(d, m, c - 1);
		r.ci_high = select_kth(d, m, m - c);
	} else {
		r.ci_low = -INFINITY;
		r.ci_high = INFINITY;
	}
	free(d);
	r.control = sx / cx;
	double sy = 0.0;
	for (size_t j = 0; j < ny; j++)
		sy += y[j];
	r.treatment = sy / dny;
	r.se = NAN;
	r.df = 0.0;
	r.lift = r.control != 0.0 ? r.effect / r.control : NAN;
	r.lift_low = r.lift_high = NAN;
	*out = r;
	return 0;
}

int stats_msprt_init(struct stats_msprt *m, double tau2, double alpha)
{
	int rc = check_alpha(alpha);
	if (rc)
		return rc;
	if (!(tau2 > 0.0) || !isfinite(tau2))
		return error_set(CRATIS_EINVAL, "mixing variance tau^2 %g must be positive", tau2);
	*m = (struct stats_msprt){ .tau2 = tau2, .alpha = alpha, .p_value = 1.0,
	                           .ci_low = -INFINITY, .ci_high = INFINITY, .lambda = 0.0,
	                           .looks = 0 };
	return 0;
}

int stats_msprt_update(struct stats_msprt *m, double theta_hat, double v)
{
	if (!(v > 0.0) || !isfinite(v) || !isfinite(theta_hat))
		return error_set(CRATIS_EINVAL, "mSPRT look needs a finite estimate and a positive "
		                 "variance (got %g, %g)", theta_hat, v);
	double tau2 = m->tau2;
	double log_lambda = 0.5 * log(v / (v + tau2)) +
	                    tau2 * theta_hat * theta_hat / (2.0 * v * (v + tau2));
	m->lambda = exp(log_lambda);
	double p = log_lambda > 0.0 ? exp(-log_lambda) : 1.0;
	if (p < m->p_value)
		m->p_value = p;
	double half = sqrt(v * (v + tau2) / tau2 *
	                   (2.0 * log(1.0 / m->alpha) + log((v + tau2) / v)));
	m->ci_low = fmax(m->ci_low, theta_hat - half);
	m->ci_high = fmin(m->ci_high, theta_hat + half);
	m->looks++;
	return 0;
}

struct holm_item {
	double p;
	size_t i;
};

static int cmp_holm(const void *a, const void *b)
{
	const struct holm_item *x = a, *y = b;
	if (x->p != y->p)
		return (x->p > y->p) - (x->p < y->p);
	return (x->i > y->i) - (x->i < y->i);
}

int stats_holm(double *adjusted, const double *p, size_t n)
{
	if (n == 0 || n > 64)
		return error_set(CRATIS_EINVAL, "holm needs 1 to 64 p-values, got %zu", n);
	struct holm_item it[64];
	for (size_t i = 0; i < n; i++) {
		if (!(p[i] >= 0.0 && p[i] <= 1.0))
			return error_set(CRATIS_EINVAL, "p-value %zu (%g) is outside [0, 1]", i, p[i]);
		it[i] = (struct holm_item){ p[i], i };
	}
	qsort(it, n, sizeof(it[0]), cmp_holm);
	double run = 0.0;
	for (size_t k = 0; k < n; k++) {
		double a = fmin(1.0, (double)(n - k) * it[k].p);
		run = fmax(run, a);
		adjusted[it[k].i] = run;
	}
	return 0;
}

int stats_chi2_gof(double *statistic, double *p_value, const double *observed,
                   const double *weights, size_t k)
{
	if (k < 2)
		return error_set(CRATIS_EINVAL, "a goodness-of-fit test needs 2 or more groups, got %zu",
		                 k);
	double total = 0.0, wsum = 0.0;
	for (size_t i = 0; i < k; i++) {
		if (!(observed[i] >= 0.0) || !isfinite(observed[i]))
			return error_set(CRATIS_EINVAL, "count %zu (%g) is negative", i, observed[i]);
		if (!(weights[i] > 0.0) || !isfinite(weights[i]))
			return error_set(CRATIS_EINVAL, "weight %zu (%g) is not positive", i, weights[i]);
		total += observed[i];
		wsum += weights[i];
	}
	if (total <= 0.0)
		return error_set(CRATIS_EINVAL, "no observations to test");
	double x2 = 0.0;
	for (size_t i = 0; i < k; i++) {
		double e = total * weights[i] / wsum, dd = observed[i] - e;
		x2 += dd * dd / e;
	}
	*statistic = x2;
	*p_value = stats_chi2_sf(x2, (double)(k - 1));
	return 0;
}

static int check_power(double alpha, double power)
{
	int rc = check_alpha(alpha);
	if (rc)
		return rc;
	if (!(power > 0.0 && power < 1.0))
		return error_set(CRATIS_EINVAL, "power %g is outside (0, 1)", power);
	return 0;
}

int stats_sample_size_proportions(double *n, double p1, double p2, double alpha, double power)
{
	int rc = check_power(alpha, power);
	if (rc)
		return rc;
	if (!(p1 > 0.0 && p1 < 1.0) || !(p2 > 0.0 && p2 < 1.0) || p1 == p2)
		return error_set(CRATIS_EINVAL, "rates %g and %g must differ and lie in (0, 1)", p1, p2);
	double za = stats_norm_ppf(1.0 - alpha / 2.0), zb = stats_norm_ppf(power);
	double pbar = 0.5 * (p1 + p2);
	double num = za * sqrt(2.0 * pbar * (1.0 - pbar)) + zb * sqrt(p1 * (1 - p1) + p2 * (1 - p2));
	*n = ceil(num * num / ((p2 - p1) * (p2 - p1)));
	return 0;
}

int stats_sample_size_means(double *n, double sigma, double delta, double alpha, double power)
{
	int rc = check_power(alpha, power);
	if (rc)
		return rc;
	if (!(sigma > 0.0) || !isfinite(sigma) || delta == 0.0 || !isfinite(delta))
		return error_set(CRATIS_EINVAL, "sigma %g must be positive and delta %g non-zero", sigma,
		                 delta);
	double z = stats_norm_ppf(1.0 - alpha / 2.0) + stats_norm_ppf(power);
	*n = ceil(2.0 * sigma * sigma * z * z / (delta * delta));
	return 0;
}

/* Margin by which n per arm clears the power requirement at a single final look. */
static double msprt_margin(double n, double var_sum, double delta, double tau2, double alpha,
                           double zb)
{
	double v = var_sum / n;
	double b = sqrt((v + tau2) / tau2 * (2.0 * log(1.0 / alpha) + log((v + tau2) / v)));
	return fabs(delta) / sqrt(v) - b - zb;
}

int stats_sample_size_msprt(double *n, double var_sum, double delta, double tau2, double alpha,
                            double power)
{
	int rc = check_power(alpha, power);
	if (rc)
		return rc;
	if (!(var_sum > 0.0) || !isfinite(var_sum) || delta == 0.0 || !isfinite(delta) ||
	    !(tau2 > 0.0) || !isfinite(tau2))
		return error_set(CRATIS_EINVAL, "variance %g and tau^2 %g must be positive and delta %g "
		                 "non-zero", var_sum, tau2, delta);
	double zb = stats_norm_ppf(power), hi = 1.0;
	while (msprt_margin(hi, var_sum, delta, tau2, alpha, zb) < 0.0) {
		hi *= 2.0;
		if (hi > 1e12)
			return error_set(CRATIS_EINVAL, "no sample size up to 1e12 reaches power %g", power);
	}
	double lo = hi / 2.0;
	if (hi == 1.0) {
		*n = 1.0;
		return 0;
	}
	/* invariant: margin(lo) < 0 <= margin(hi), integers */
	while (hi - lo > 1.0) {
		double mid = floor(0.5 * (lo + hi));
		if (msprt_margin(mid, var_sum, delta, tau2, alpha, zb) < 0.0)
			lo = mid;
		else
			hi = mid;
	}
	*n = hi;
	return 0;
}
