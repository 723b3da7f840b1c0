#!/usr/bin/python3
"""Reference values for the statistics of src/stats, computed with scipy (Debian python3-scipy)
on the inputs of tests/stats/cases.txt and the sample files it names. Prints each case as
"KIND ARGS... | RESULTS..." (floats with repr precision); tests/unit/test_stats.c runs this script
and compares its own results with these.

Where scipy has the test itself, it is used: norm, t, chi2 (scipy.stats), betainc/gammainc
(scipy.special), chi2_contingency without Yates' correction for the pooled two-proportion z-test
(z^2 equals that chi-square), ttest_ind_from_stats(equal_var=False) for Welch, mannwhitneyu
(method='asymptotic') and chisquare. Intervals, lifts, the Hodges-Lehmann estimate (numpy median
of the pairwise differences), Holm and the sample-size formulas are written out from their
published definitions with scipy's quantiles, independently of the C code."""
import math
import os
import sys

import numpy as np
from scipy import special, stats

HERE = os.path.dirname(os.path.abspath(__file__))


def lift(c, se_c, t, se_t, alpha):
    if c == 0:
        return [math.nan] * 3
    lf = t / c - 1
    h = stats.norm.ppf(1 - alpha / 2) * math.sqrt(se_t**2 / c**2 + t**2 * se_c**2 / c**4)
    return [lf, lf - h, lf + h]


def prop(nc, xc, nt, xt, alpha):
    pc, pt = xc / nc, xt / nt
    table = [[xc, nc - xc], [xt, nt - xt]]
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    z = math.copysign(math.sqrt(chi2), pt - pc)
    se_c, se_t = math.sqrt(pc * (1 - pc) / nc), math.sqrt(pt * (1 - pt) / nt)
    se = math.hypot(se_c, se_t)
    q = stats.norm.ppf(1 - alpha / 2)
    return [pt - pc, pt - pc - q * se, pt - pc + q * se, p, z] + lift(pc, se_c, pt, se_t, alpha)


def welch(mc, sc, nc, mt, st, nt, alpha):
    r = stats.ttest_ind_from_stats(mt, st, nt, mc, sc, nc, equal_var=False)
    qc, qt = sc**2 / nc, st**2 / nt
    df = (qc + qt) ** 2 / (qc**2 / (nc - 1) + qt**2 / (nt - 1))
    se = math.sqrt(qc + qt)
    q = stats.t.ppf(1 - alpha / 2, df)
    d = mt - mc
    return [r.statistic, r.pvalue, df, d - q * se, d + q * se]


def mw(name, alpha):
    with open(os.path.join(HERE, name)) as f:
        rows = [ln for ln in f if ln.strip() and not ln.startswith('#')]
    x = np.array([float(v) for v in rows[0].split()])
    y = np.array([float(v) for v in rows[1].split()])
    r = stats.mannwhitneyu(y, x, alternative='two-sided', use_continuity=True, method='asymptotic')
    d = np.sort(np.subtract.outer(y, x).ravel())
    m, n = len(x), len(y)
    c = math.floor(m * n / 2 - stats.norm.ppf(1 - alpha / 2) * math.sqrt(m * n * (m + n + 1) / 12))
    return [r.statistic, r.pvalue, float(np.median(d)), d[c - 1], d[m * n - c]]


def holm(ps):
    n = len(ps)
    order = sorted(range(n), key=lambda i: (ps[i], i))
    adj, run = [0.0] * n, 0.0
    for k, i in enumerate(order):
        run = max(run, min(1.0, (n - k) * ps[i]))
        adj[i] = run
    return adj


def ss_prop(p1, p2, alpha, power):
    za, zb = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    pbar = (p1 + p2) / 2
    num = za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return [math.ceil(num**2 / (p2 - p1) ** 2)]


def ss_mean(sigma, delta, alpha, power):
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return [math.ceil(2 * sigma**2 * z**2 / delta**2)]


def run(kind, a):
    f = [float(v) for v in a] if kind != 'mw' else None
    if kind == 'norm_cdf':
        return [stats.norm.cdf(f[0])]
    if kind == 'norm_sf':
        return [stats.norm.sf(f[0])]
    if kind == 'norm_ppf':
        return [stats.norm.ppf(f[0])]
    if kind == 't_cdf':
        return [stats.t.cdf(f[0], f[1])]
    if kind == 't_sf':
        return [stats.t.sf(f[0], f[1])]
    if kind == 't_ppf':
        return [stats.t.ppf(f[0], f[1])]
    if kind == 'chi2_sf':
        return [stats.chi2.sf(f[0], f[1])]
    if kind == 'beta_inc':
        return [special.betainc(f[0], f[1], f[2])]
    if kind == 'gamma_p':
        return [special.gammainc(f[0], f[1])]
    if kind == 'gamma_q':
        return [special.gammaincc(f[0], f[1])]
    if kind == 'prop':
        return prop(*f)
    if kind == 'welch':
        return welch(*f)
    if kind == 'mw':
        return mw(a[0], float(a[1]))
    if kind == 'chi2gof':
        k = int(f[0])
        obs, w = np.array(f[1:1 + k]), np.array(f[1 + k:1 + 2 * k])
        r = stats.chisquare(obs, f_exp=obs.sum() * w / w.sum())
        return [r.statistic, r.pvalue]
    if kind == 'holm':
        return holm(f[1:])
    if kind == 'ss_prop':
        return ss_prop(*f)
    if kind == 'ss_mean':
        return ss_mean(*f)
    sys.exit('reference.py: unknown kind ' + kind)


def main():
    with open(os.path.join(HERE, 'cases.txt')) as f:
        for line in f:
            if not line.strip() or line.startswith('#'):
                continue
            kind, *args = line.split()
            out = run(kind, args)
            print(kind, ' '.join(args), '|', ' '.join(repr(float(v)) for v in out))


if __name__ == '__main__':
    main()
