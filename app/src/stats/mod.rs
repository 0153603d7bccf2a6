//! The statistics of the pipeline's Compute stage, pure and without server dependencies,
//! so that the browser recomputes a brushed date range with the very code the server ran.
//!
//! Every function follows one reference so that its numbers can be checked to the digit:
//! numpy (means, linear-interpolation percentiles), scipy.stats (`linregress`, `pearsonr`,
//! `spearmanr`, `rankdata`, `percentileofscore`, `median_abs_deviation`) and statsmodels
//! (`acf`, `multipletests(method="fdr_bh")`). `make_fixtures.py` beside this file writes
//! `fixtures.json` from those libraries; the tests compare every field.
//!
//! Functions take plain slices and return `None` where the reference returns NaN (too few
//! values, a constant series): a caller cannot forget the case.

pub mod daily;
pub mod special;
#[cfg(test)]
mod tests;

use special::{r_two_sided, t_quantile, t_two_sided};

/// The arithmetic mean.
pub fn mean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    Some(values.iter().sum::<f64>() / values.len() as f64)
}

/// The `q`-th percentile (0 to 100) by linear interpolation between closest ranks, as
/// numpy's default (`np.percentile(values, q)`).
pub fn percentile(values: &[f64], q: f64) -> Option<f64> {
    let mut sorted = finite_sorted(values);
    if sorted.is_empty() || !(0.0..=100.0).contains(&q) {
        return None;
    }
    Some(percentile_of_sorted(&mut sorted, q))
}

/// Several percentiles of one sample, sorting it once.
pub fn percentiles(values: &[f64], qs: &[f64]) -> Option<Vec<f64>> {
    let mut sorted = finite_sorted(values);
    if sorted.is_empty() || qs.iter().any(|q| !(0.0..=100.0).contains(q)) {
        return None;
    }
    Some(
        qs.iter()
            .map(|&q| percentile_of_sorted(&mut sorted, q))
            .collect(),
    )
}

fn finite_sorted(values: &[f64]) -> Vec<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    sorted
}

fn percentile_of_sorted(sorted: &mut [f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q / 100.0;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let t = h - lo as f64;
    let (a, b) = (sorted[lo], sorted[hi]);
    // numpy's _lerp: from the nearer end, so that t = 1 gives b exactly.
    if t >= 0.5 {
        b - (b - a) * (1.0 - t)
    } else {
        a + (b - a) * t
    }
}

/// The median (the 50th percentile).
pub fn median(values: &[f64]) -> Option<f64> {
    percentile(values, 50.0)
}

/// Where `score` stands among `values`, 0 to 100, as `scipy.stats.percentileofscore`
/// with its default `kind="rank"` (ties share the mean of their ranks).
pub fn percentile_rank(values: &[f64], score: f64) -> Option<f64> {
    if values.is_empty() || !score.is_finite() {
        return None;
    }
    let n = values.len() as f64;
    let left = values.iter().filter(|&&v| v < score).count() as f64;
    let right = values.iter().filter(|&&v| v <= score).count() as f64;
    let plus1 = if right > left { 1.0 } else { 0.0 };
    Some((left + right + plus1) * 50.0 / n)
}

/// The median absolute deviation scaled to the standard deviation of a normal
/// distribution (`scipy.stats.median_abs_deviation(x, scale="normal")`).
pub fn mad_normal(values: &[f64]) -> Option<f64> {
    /// `scipy.stats.norm.ppf(0.75)`.
    const Q75: f64 = 0.674_489_750_196_081_7;
    let centre = median(values)?;
    let deviations: Vec<f64> = values.iter().map(|v| (v - centre).abs()).collect();
    Some(median(&deviations)? / Q75)
}

/// The robust z of each value against the sample, (x − median) / MAD_normal (Iglewicz and
/// Hoaglin's modified z). `None` for every value when the MAD is 0 (more than half the
/// values equal): no spread to measure outliers by.
pub fn robust_z(values: &[f64]) -> Vec<Option<f64>> {
    let scale = mad_normal(values).filter(|m| *m > 0.0);
    let centre = median(values);
    values
        .iter()
        .map(|v| match (centre, scale) {
            (Some(c), Some(s)) => Some((v - c) / s),
            _ => None,
        })
        .collect()
}

/// Values with |robust z| above this are flagged as outliers (Iglewicz and Hoaglin).
pub const OUTLIER_Z: f64 = 3.5;

/// Ranks from 1, ties given the mean of their ranks (`scipy.stats.rankdata`).
pub fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    // Unstable: equal values share one rank whatever their order.
    order.sort_unstable_by(|&i, &j| values[i].total_cmp(&values[j]));
    ranks_in_order(values.len(), order.into_iter().map(|i| (i, values[i])))
}

/// Ranks of `len` values given as (position, value) in ascending order of value, every
/// position once: [`ranks`] without the sort, for a caller that has the order.
pub fn ranks_in_order(len: usize, sorted: impl Iterator<Item = (usize, f64)>) -> Vec<f64> {
    let mut ranks = vec![0.0; len];
    // The run of equal values so far: its positions and where it starts in the order.
    let mut run: Vec<usize> = Vec::new();
    let (mut run_value, mut run_start) = (f64::NAN, 0);
    fn close(run: &mut Vec<usize>, start: usize, ranks: &mut [f64]) {
        // Places start..start+len hold ranks start+1 ..= start+len.
        let rank = (2 * start + 1 + run.len()) as f64 / 2.0;
        for &i in run.iter() {
            ranks[i] = rank;
        }
        run.clear();
    }
    for (seen, (i, value)) in sorted.enumerate() {
        if run.is_empty() || value != run_value {
            close(&mut run, run_start, &mut ranks);
            (run_value, run_start) = (value, seen);
        }
        run.push(i);
    }
    close(&mut run, run_start, &mut ranks);
    ranks
}

/// An ordinary least-squares line, as `scipy.stats.linregress` reports it, with the 95%
/// interval of the slope from Student's t on n − 2 degrees of freedom.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Regression {
    pub n: usize,
    pub slope: f64,
    pub intercept: f64,
    pub r: f64,
    /// Two-sided p of "slope = 0".
    pub p: f64,
    pub stderr: f64,
    pub intercept_stderr: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// Fits y = intercept + slope x. `None` with fewer than 3 points or when every x is the
/// same.
pub fn linregress(x: &[f64], y: &[f64]) -> Option<Regression> {
    let n = x.len();
    if n != y.len() || n < 3 {
        return None;
    }
    let (xmean, ymean) = (mean(x)?, mean(y)?);
    let nf = n as f64;
    let (mut ssxm, mut ssym, mut ssxym) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (dx, dy) = (a - xmean, b - ymean);
        ssxm += dx * dx;
        ssym += dy * dy;
        ssxym += dx * dy;
    }
    // np.cov(x, y, bias=1): divided by n.
    let (ssxm, ssym, ssxym) = (ssxm / nf, ssym / nf, ssxym / nf);
    if ssxm == 0.0 {
        return None;
    }
    let r = if ssym == 0.0 {
        0.0
    } else {
        (ssxym / (ssxm * ssym).sqrt()).clamp(-1.0, 1.0)
    };
    let slope = ssxym / ssxm;
    let intercept = ymean - slope * xmean;
    let df = nf - 2.0;
    const TINY: f64 = 1.0e-20;
    let t = r * (df / ((1.0 - r + TINY) * (1.0 + r + TINY))).sqrt();
    let p = t_two_sided(t, df);
    let stderr = ((1.0 - r * r) * ssym / ssxm / df).sqrt();
    let intercept_stderr = stderr * (ssxm + xmean * xmean).sqrt();
    let half = t_quantile(0.975, df) * stderr;
    Some(Regression {
        n,
        slope,
        intercept,
        r,
        p,
        stderr,
        intercept_stderr,
        ci_low: slope - half,
        ci_high: slope + half,
    })
}

/// A correlation coefficient with its two-sided p.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Correlation {
    pub n: usize,
    pub r: f64,
    pub p: f64,
}

/// Pearson's r and its two-sided p (`scipy.stats.pearsonr`). `None` with fewer than 3
/// pairs or a constant series.
pub fn pearson(x: &[f64], y: &[f64]) -> Option<Correlation> {
    let n = x.len();
    if n != y.len() || n < 3 {
        return None;
    }
    let r = pearson_r(x, y)?;
    Some(Correlation {
        n,
        r,
        p: r_two_sided(r, n as f64 - 2.0),
    })
}

fn pearson_r(x: &[f64], y: &[f64]) -> Option<f64> {
    let (xmean, ymean) = (mean(x)?, mean(y)?);
    let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (dx, dy) = (a - xmean, b - ymean);
        sxx += dx * dx;
        syy += dy * dy;
        sxy += dx * dy;
    }
    if sxx == 0.0 || syy == 0.0 {
        return None;
    }
    Some((sxy / (sxx.sqrt() * syy.sqrt())).clamp(-1.0, 1.0))
}

/// Spearman's rank correlation and its two-sided p (`scipy.stats.spearmanr`: Pearson's r
/// of the ranks, the t-test on n − 2 degrees of freedom).
pub fn spearman(x: &[f64], y: &[f64]) -> Option<Correlation> {
    spearman_of_ranks(&ranks(x), &ranks(y))
}

/// [`spearman`] from the ranks of both series (as [`ranks`] gives them), for a caller
/// that has them already.
pub fn spearman_of_ranks(x: &[f64], y: &[f64]) -> Option<Correlation> {
    let n = x.len();
    if n != y.len() || n < 3 {
        return None;
    }
    let r = pearson_r(x, y)?;
    Some(Correlation {
        n,
        r,
        p: r_two_sided(r, n as f64 - 2.0),
    })
}

/// The lag-1 autocorrelation of a series in time order, as statsmodels'
/// `acf(x, nlags=1, fft=False)[1]` (biased autocovariances over the lag-0 one).
pub fn lag1_autocorrelation(x: &[f64]) -> Option<f64> {
    if x.len() < 2 {
        return None;
    }
    let m = mean(x)?;
    let c0: f64 = x.iter().map(|v| (v - m) * (v - m)).sum();
    if c0 == 0.0 {
        return None;
    }
    let c1: f64 = x.windows(2).map(|w| (w[0] - m) * (w[1] - m)).sum();
    Some(c1 / c0)
}

/// The effective number of independent pairs of two autocorrelated series,
/// n (1 − a₁a₂) / (1 + a₁a₂), clamped to [3, n] (Bartlett; Bretherton et al. 1999).
pub fn effective_n(n: usize, a1: f64, a2: f64) -> f64 {
    let n = n as f64;
    let ab = a1 * a2;
    if !ab.is_finite() || 1.0 + ab <= 0.0 {
        return n;
    }
    (n * (1.0 - ab) / (1.0 + ab)).clamp(3.0f64.min(n), n)
}

/// One tested pair of daily series: both coefficients with their naive p-values, and the
/// p of Pearson's r corrected for autocorrelation (t-test on n_eff − 2 degrees of freedom).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PairTest {
    pub n: usize,
    pub pearson: Correlation,
    pub spearman: Correlation,
    pub acf_a: f64,
    pub acf_b: f64,
    pub n_eff: f64,
    pub p_adj: f64,
}

/// Tests `a` against `b`, two series of equal length in date order. `None` when a
/// coefficient is undefined (fewer than 3 pairs, a constant series).
pub fn pair_test(a: &[f64], b: &[f64]) -> Option<PairTest> {
    pair_test_ranked(a, b, &ranks(a), &ranks(b))
}

/// [`pair_test`] given the ranks of `a` and `b` too (as [`ranks`] gives them).
pub fn pair_test_ranked(
    a: &[f64],
    b: &[f64],
    a_ranks: &[f64],
    b_ranks: &[f64],
) -> Option<PairTest> {
    let pearson = pearson(a, b)?;
    let spearman = spearman_of_ranks(a_ranks, b_ranks)?;
    let acf_a = lag1_autocorrelation(a)?;
    let acf_b = lag1_autocorrelation(b)?;
    let n_eff = effective_n(pearson.n, acf_a, acf_b);
    let p_adj = r_two_sided(pearson.r, n_eff - 2.0);
    Some(PairTest {
        n: pearson.n,
        pearson,
        spearman,
        acf_a,
        acf_b,
        n_eff,
        p_adj,
    })
}

/// Benjamini-Hochberg q-values, in the order of `p` (statsmodels'
/// `multipletests(p, method="fdr_bh")[1]`). A NaN p gets a NaN q and does not count.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
    order.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
    let m = order.len() as f64;
    let mut q = vec![f64::NAN; p.len()];
    let mut running = f64::INFINITY;
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min(p[i] * m / (rank + 1) as f64);
        q[i] = running.min(1.0);
    }
    q
}
