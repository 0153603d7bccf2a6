#!/usr/bin/env python3
"""Writes fixtures.json: seeded samples with planted relations and the numbers that numpy,
scipy and statsmodels compute for them. The Rust tests in tests.rs compare every field.

Run from anywhere (numpy, scipy and statsmodels from PyPI):
    python3 -m venv /tmp/stats && /tmp/stats/bin/pip install numpy scipy statsmodels
    /tmp/stats/bin/python app/src/stats/make_fixtures.py
"""
import json
import pathlib

import numpy as np
import scipy
import statsmodels
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.tsa.stattools import acf

rng = np.random.default_rng(20261203)


def ar1(n, phi, scale=1.0):
    """A daily series with lag-1 autocorrelation about phi."""
    out = np.empty(n)
    out[0] = rng.normal(0, scale)
    for i in range(1, n):
        out[i] = phi * out[i - 1] + rng.normal(0, scale)
    return out


def f(values):
    return [float(v) for v in values]


describe = []
samples = [
    [7.5, 6.0, 8.25, 7.0, 5.5],
    f(rng.normal(7.2, 0.8, 28).round(2)),
    f(rng.integers(1, 6, 40)),  # mood 1-5: many ties
    f(np.concatenate([rng.normal(8000, 1500, 89).round(), [42000.0]])),  # one outlier
    [3.0],
    [1.0, 2.0],
]
for values in samples:
    arr = np.array(values)
    mad = stats.median_abs_deviation(arr, scale="normal")
    scores = [float(arr.min()), float(np.median(arr)), float(arr.max()), float(arr.mean())]
    describe.append(
        {
            "values": values,
            "mean": float(arr.mean()),
            "qs": [0, 10, 25, 50, 75, 90, 100, 33.3],
            "percentiles": f(np.percentile(arr, [0, 10, 25, 50, 75, 90, 100, 33.3])),
            "median": float(np.median(arr)),
            "mad_normal": float(mad),
            "robust_z": [float((v - np.median(arr)) / mad) if mad > 0 else None for v in arr],
            "ranks": f(stats.rankdata(arr)),
            "scores": scores,
            "percentile_ranks": [float(stats.percentileofscore(arr, s)) for s in scores],
        }
    )

regressions = []
for n, slope, noise in [(28, 0.05, 0.3), (28, -12.0, 400.0), (14, 0.0, 1.0), (90, 0.8, 5.0), (5, 1.0, 0.0001)]:
    x = np.arange(n, dtype=float)
    y = (10 + slope * x + rng.normal(0, noise, n)).round(4)
    res = stats.linregress(x, y)
    half = stats.t.ppf(0.975, n - 2) * res.stderr
    regressions.append(
        {
            "x": f(x),
            "y": f(y),
            "slope": res.slope,
            "intercept": res.intercept,
            "r": res.rvalue,
            "p": res.pvalue,
            "stderr": res.stderr,
            "intercept_stderr": res.intercept_stderr,
            "ci_low": res.slope - half,
            "ci_high": res.slope + half,
        }
    )

pairs = []
for n, rho, phi, integer_b in [
    (14, 0.7, 0.5, False),
    (30, 0.0, 0.0, False),
    (83, 0.6, 0.6, False),
    (83, -0.4, 0.8, True),
    (200, 0.15, 0.3, False),
    (60, 0.9, -0.3, False),
    (45, 0.3, 0.9, True),
    (20, -0.95, 0.2, False),
]:
    a = ar1(n, phi)
    b = rho * a + np.sqrt(1 - rho * rho) * ar1(n, phi)
    if integer_b:
        b = np.clip(np.round(3 + b), 1, 5)  # a 1-5 rating: ties
    a = (7 + a).round(3)
    b = b.round(3)
    pr = stats.pearsonr(a, b)
    sr = stats.spearmanr(a, b)
    a1 = acf(a, nlags=1, fft=False)[1]
    a2 = acf(b, nlags=1, fft=False)[1]
    n_eff = min(max(n * (1 - a1 * a2) / (1 + a1 * a2), 3), n)
    r = pr.statistic
    t = r * np.sqrt((n_eff - 2) / (1 - r * r))
    p_adj = 2 * stats.t.sf(abs(t), n_eff - 2)
    pairs.append(
        {
            "a": f(a),
            "b": f(b),
            "pearson_r": float(r),
            "pearson_p": float(pr.pvalue),
            "spearman_r": float(sr.statistic),
            "spearman_p": float(sr.pvalue),
            "acf_a": float(a1),
            "acf_b": float(a2),
            "n_eff": float(n_eff),
            "p_adj": float(p_adj),
        }
    )
p_adj = [p["p_adj"] for p in pairs]
q = multipletests(p_adj, method="fdr_bh")[1]
bh_extra = [0.01, 0.04, 0.03, 0.2, 0.5, 0.04, 0.001, 1.0, 0.0]

special = {
    "t_two_sided": [
        {"t": t, "df": df, "p": float(2 * stats.t.sf(abs(t), df))}
        for t in [0.0, 0.3, 1.0, 2.0, 3.5, 8.0, -2.5, 25.0]
        for df in [1.0, 2.5, 12.0, 81.0, 1000.0]
    ],
    "t_quantile": [
        {"p": p, "df": df, "t": float(stats.t.ppf(p, df))}
        for p in [0.975, 0.9, 0.995]
        for df in [1.0, 3.0, 26.0, 88.0, 12.7]
    ],
}

out = {
    "generated_by": f"numpy {np.__version__}, scipy {scipy.__version__}, statsmodels {statsmodels.__version__}",
    "describe": describe,
    "regressions": regressions,
    "pairs": pairs,
    "bh": [
        {"p": p_adj, "q": f(q)},
        {"p": bh_extra, "q": f(multipletests(bh_extra, method="fdr_bh")[1])},
    ],
    "special": special,
}
path = pathlib.Path(__file__).with_name("fixtures.json")
path.write_text(json.dumps(out, indent=1) + "\n")
print(f"wrote {path} ({out['generated_by']})")
