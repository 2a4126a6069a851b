//! Confidence intervals for Bradley–Terry scores.
//!
//! # Bootstrap
//!
//! The LMSYS leaderboard resamples the battles with replacement and refits, 1000 times, and
//! reports the 2.5th and 97.5th percentiles of each model's score. Resampling `N` battles with
//! replacement is the same as drawing, for the unique `(pair, outcome)` rows with counts `c_k`, a
//! multinomial `(N; c_k / N)` vector of new counts — which is what we draw, row by row as
//! sequential binomials (`X_k ~ Binomial(N − Σ_{l<k} X_l, c_k / Σ_{l≥k} c_l)`), so a round costs
//! one binomial per row (at most three per pair) instead of `N` draws. Each round then refits
//! from the full-data solution by a chord method: Newton steps that all use the full data's
//! Hessian, factored once, so a round needs gradients only (a resample's Hessian differs from
//! the full one by a few percent, so each step gains about two digits). A round that this does
//! not settle within [`CHORD_MAX_ITER`] steps (a model held only by the ridge, say) is refitted
//! by full Newton. Rounds run in parallel on a rayon pool; round `r` uses its own generator
//! (rand_xoshiro's xoshiro256++) seeded with `seed + r`, so the result does not depend on the
//! number of threads. Percentiles interpolate linearly between order
//! statistics, as numpy's and pandas' defaults do.
//!
//! Rounds use at least [`DEFAULT_RIDGE`](crate::bt::DEFAULT_RIDGE) even when the point fit uses
//! none: a resample can lose a model's only loss even when the full data are identifiable. A
//! model that draws no battles at all in a round gets no sample from it (its column is NaN and
//! its percentiles skip it, as pandas skips the missing column in FastChat's bootstrap); if the
//! anchor model draws none, the round is skipped for everyone.
//!
//! # Sandwich
//!
//! The robust (Huber–White) covariance of the estimates: `A⁻¹ B A⁻¹` with `A` the observed
//! information (the Laplacian with weights `n·p·(1 − p)`, plus the ridge) and `B` the sum of
//! outer products of per-battle scores (the Laplacian with weights `Σ_outcomes c·(y − p)²`).
//! When the model holds, `B ≈ A` and this is the usual inverse-information covariance; with
//! ties scored ½ the binomial variance overstates the noise and the sandwich corrects it. The
//! gauge is handled as in the fit (`A + J`, whose inverse acts as the pseudo-inverse on the
//! mean-zero subspace); with an anchor, the variance is that of `s_i − s_anchor`. Intervals are
//! `score ± 1.96·SE` on the rating scale. It costs one `m×m` inversion, against 1000 refits.

use std::sync::atomic::{AtomicUsize, Ordering};

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::bt::{
    cholesky_in_place, cholesky_inverse, cholesky_solve, fit_natural, maximize, sigmoid, BtOptions,
    FitError, Objective, PairCounts, PairData, PairObjective, PairRow, Scores, DEFAULT_RIDGE,
    MAX_NEWTON_ITER,
};

/// Bootstrap refits stop after a full Newton step below this (natural units, 0.017 points):
/// convergence is quadratic, so what is left is of order its square, ~1e-8 — far below the
/// Monte Carlo error of a 1000-round percentile (tenths of a point), and it saves the third
/// Cholesky factorization of most rounds.
const BOOTSTRAP_TOL: f64 = 1e-4;

/// Chord steps are linear, not quadratic: stop at a step this small, which leaves an error of
/// about the step times the contraction rate (a few percent), ~1e-7 natural units.
const CHORD_TOL: f64 = 1e-5;

/// Chord steps a round may take before it falls back to full Newton.
const CHORD_MAX_ITER: usize = 30;

/// The 97.5% quantile of the standard normal.
pub const Z95: f64 = 1.959_963_984_540_054;

/// A 95% interval on the rating scale.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub lo: f64,
    pub hi: f64,
}

impl Interval {
    pub fn contains(&self, x: f64) -> bool {
        self.lo <= x && x <= self.hi
    }
}

/// Bootstrap scores: `rounds[r][i]` is model `i`'s score in round `r` (NaN if it drew no
/// battles in that round).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootstrapSamples {
    pub models: Vec<String>,
    pub rounds: Vec<Vec<f64>>,
}

impl BootstrapSamples {
    /// The `[q_lo, q_hi]` percentile interval of each model (NaN where a model has no samples).
    pub fn intervals(&self, q_lo: f64, q_hi: f64) -> Vec<Interval> {
        (0..self.models.len())
            .map(|i| {
                let mut xs: Vec<f64> = self
                    .rounds
                    .iter()
                    .map(|r| r[i])
                    .filter(|x| x.is_finite())
                    .collect();
                xs.sort_by(f64::total_cmp);
                Interval {
                    lo: quantile_sorted(&xs, q_lo),
                    hi: quantile_sorted(&xs, q_hi),
                }
            })
            .collect()
    }
}

/// Linear interpolation between order statistics (numpy's default, "type 7").
pub fn quantile_sorted(xs: &[f64], q: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let h = (xs.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(xs.len() - 1);
    xs[lo] + (h - lo as f64) * (xs[hi] - xs[lo])
}

/// 95% percentile-bootstrap intervals, in the order of `counts.models`; see the module docs.
/// `threads` = 0 uses all available cores.
pub fn bootstrap(
    counts: &PairCounts,
    opts: &BtOptions,
    rounds: usize,
    seed: u64,
    threads: usize,
) -> Result<Vec<Interval>, FitError> {
    Ok(bootstrap_samples(counts, opts, rounds, seed, threads)?.intervals(0.025, 0.975))
}

/// The bootstrap scores themselves; see [`bootstrap`].
pub fn bootstrap_samples(
    counts: &PairCounts,
    opts: &BtOptions,
    rounds: usize,
    seed: u64,
    threads: usize,
) -> Result<BootstrapSamples, FitError> {
    let anchor = opts.anchor_index(&counts.models)?;
    let full = fit_natural(counts, opts)?;
    let m = counts.models.len();
    let round_opts = BtOptions {
        ridge: opts.ridge.max(DEFAULT_RIDGE),
        ..opts.clone()
    };
    let sampler = RowSampler::new(counts);
    let chord = FullHessian::factor(counts, &full, round_opts.ridge);
    let one_round = |round: usize| -> Result<Vec<f64>, FitError> {
        let mut rng = round_rng(seed, round);
        let drawn = sampler.draw(&mut rng);
        let mut present = vec![false; m];
        let rows: Vec<PairRow> = counts
            .pairs
            .iter()
            .zip(&drawn)
            .filter(|(_, c)| c.iter().sum::<u64>() > 0)
            .map(|(p, c)| {
                present[p.i] = true;
                present[p.j] = true;
                drawn_row(p.i, p.j, c)
            })
            .collect();
        let data = PairData { rows };
        let objective = PairObjective {
            data: &data,
            m,
            ridge: round_opts.ridge,
        };
        let natural = match chord.as_ref().and_then(|c| c.refit(&objective, &full)) {
            Some(natural) => natural,
            None => maximize(&objective, full.clone(), MAX_NEWTON_ITER, BOOTSTRAP_TOL)?,
        };
        if anchor.is_some_and(|a| !present[a]) {
            return Ok(vec![f64::NAN; m]);
        }
        let mut scores = round_opts.to_scores(&natural, anchor);
        for (s, here) in scores.iter_mut().zip(&present) {
            if !here {
                *s = f64::NAN;
            }
        }
        Ok(scores)
    };
    Ok(BootstrapSamples {
        models: counts.models.clone(),
        rounds: run_rounds(rounds, threads, one_round)?,
    })
}

/// The Cholesky factor of the full data's negative Hessian (gauge term included), for chord
/// refits of resamples.
struct FullHessian {
    factor: Vec<f64>,
    m: usize,
}

impl FullHessian {
    /// `None` when the Hessian cannot be factored (the rounds then use Newton).
    fn factor(counts: &PairCounts, at: &[f64], ridge: f64) -> Option<FullHessian> {
        let m = counts.models.len();
        let data = PairData::from_counts(counts);
        let objective = PairObjective {
            data: &data,
            m,
            ridge,
        };
        let mut g = vec![0.0; m];
        let mut h = vec![0.0; m * m];
        objective.gradient_hessian(at, &mut g, &mut h);
        cholesky_in_place(&mut h, m).ok()?;
        Some(FullHessian { factor: h, m })
    }

    /// Chord iterations from `start`: the maximum of `objective`, or `None` when the steps do
    /// not shrink below [`CHORD_TOL`] within [`CHORD_MAX_ITER`].
    fn refit(&self, objective: &PairObjective<'_>, start: &[f64]) -> Option<Vec<f64>> {
        let mut x = start.to_vec();
        let mut step = vec![0.0; self.m];
        for _ in 0..CHORD_MAX_ITER {
            objective.gradient(&x, &mut step);
            cholesky_solve(&self.factor, self.m, &mut step);
            // Stay on the mean-zero subspace, as Newton does.
            let mean = step.iter().sum::<f64>() / self.m as f64;
            let mut largest = 0.0_f64;
            for (xi, di) in x.iter_mut().zip(&step) {
                let d = di - mean;
                *xi += d;
                largest = largest.max(d.abs());
            }
            if !largest.is_finite() {
                return None;
            }
            if largest < CHORD_TOL {
                return Some(x);
            }
        }
        None
    }
}

/// Runs `one_round(r)` for `r in 0..rounds` on a rayon pool of `threads` threads (0: all
/// cores); results come back in round order. On failure it reports the lowest failing round:
/// rounds above a failure already seen are skipped, rounds below it still run.
pub(crate) fn run_rounds<F>(
    rounds: usize,
    threads: usize,
    one_round: F,
) -> Result<Vec<Vec<f64>>, FitError>
where
    F: Fn(usize) -> Result<Vec<f64>, FitError> + Sync + Send,
{
    let lowest_failure = AtomicUsize::new(usize::MAX);
    let run = || -> Vec<Option<Result<Vec<f64>, FitError>>> {
        (0..rounds)
            .into_par_iter()
            .map(|round| {
                if round > lowest_failure.load(Ordering::Relaxed) {
                    return None;
                }
                let result = one_round(round);
                if result.is_err() {
                    lowest_failure.fetch_min(round, Ordering::Relaxed);
                }
                Some(result)
            })
            .collect()
    };
    let threads = worker_count(threads, rounds);
    let results = match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) => pool.install(run),
        // No threads to be had: the rounds run here, one after another.
        Err(_) => run(),
    };
    let mut out = Vec::with_capacity(rounds);
    for (round, result) in results.into_iter().enumerate() {
        match result {
            Some(Ok(scores)) => out.push(scores),
            Some(Err(e)) => {
                return Err(FitError::Bootstrap {
                    round,
                    source: Box::new(e),
                })
            }
            // Skipped: a lower round failed, and its error comes first.
            None => out.push(Vec::new()),
        }
    }
    Ok(out)
}

/// Threads to use: `requested`, or all cores for 0, and never more than there is work.
pub(crate) fn worker_count(requested: usize, work: usize) -> usize {
    let available = std::thread::available_parallelism().map_or(1, |n| n.get());
    let t = if requested == 0 { available } else { requested };
    t.clamp(1, work.max(1))
}

/// Draws multinomial resamples of the `(pair, outcome)` rows by sequential binomials.
struct RowSampler {
    /// `(pair index, outcome slot, P(row | not an earlier row))`; slots: wins_i, wins_j, ties.
    rows: Vec<(usize, usize, f64)>,
    pairs: usize,
    total: u64,
}

/// The fit's row for pair `(i, j)` from drawn counts `[wins of i, wins of j, ties]`.
fn drawn_row(i: usize, j: usize, c: &[u64; 3]) -> PairRow {
    PairRow {
        i,
        j,
        w: c[0] as f64 + c[2] as f64 / 2.0,
        n: (c[0] + c[1] + c[2]) as f64,
    }
}

impl RowSampler {
    fn new(counts: &PairCounts) -> RowSampler {
        let mut raw = Vec::new();
        for (k, p) in counts.pairs.iter().enumerate() {
            for (slot, c) in [p.wins_i, p.wins_j, p.ties].into_iter().enumerate() {
                if c > 0 {
                    raw.push((k, slot, c));
                }
            }
        }
        let total: u64 = raw.iter().map(|r| r.2).sum();
        // The conditional probability of each row given the rows before it were not chosen,
        // from exact integer suffix sums so the last row gets exactly 1.
        let mut rest = total;
        let rows = raw
            .into_iter()
            .map(|(k, slot, c)| {
                let p = c as f64 / rest as f64;
                rest -= c;
                (k, slot, p)
            })
            .collect();
        RowSampler {
            rows,
            pairs: counts.pairs.len(),
            total,
        }
    }

    /// New counts per pair and outcome, summing to the original total.
    fn draw<R: Rng>(&self, rng: &mut R) -> Vec<[u64; 3]> {
        let mut drawn = vec![[0u64; 3]; self.pairs];
        let mut remaining = self.total;
        for &(k, slot, p) in &self.rows {
            if remaining == 0 {
                break;
            }
            let x = if p >= 1.0 {
                remaining
            } else {
                binomial(rng, remaining, p)
            };
            drawn[k][slot] = x;
            remaining -= x;
        }
        drawn
    }
}

/// The generator of the bootstrap rounds: xoshiro256++ (Blackman & Vigna). A round draws
/// tens of thousands of numbers, and this generator is several times cheaper than the
/// cryptographic `StdRng`; its quality is ample for resampling.
pub(crate) type RoundRng = Xoshiro256PlusPlus;

/// The generator for round `round`, seeded through SplitMix64 from `seed + round`
/// (`seed_from_u64`). Round `r` gets the same stream whatever thread runs it, so results do
/// not depend on the thread count.
pub(crate) fn round_rng(seed: u64, round: usize) -> RoundRng {
    RoundRng::seed_from_u64(seed.wrapping_add(round as u64))
}

/// A draw from Binomial(n, p): Hörmann's BTRS (transformed rejection with squeeze, 1993) when
/// `n·min(p, 1−p) ≥ 10`, otherwise inversion (a walk up the cumulative distribution). BTRS accepts
/// about 80% of draws with two uniforms and no logarithm, which is what makes a bootstrap round
/// (tens of thousands of draws) cheap; `rand_distr`'s BTPE was 5× slower here.
pub(crate) fn binomial<R: Rng>(rng: &mut R, n: u64, p: f64) -> u64 {
    if n == 0 || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return n;
    }
    // Sample the rarer side, for which both methods are designed.
    if p > 0.5 {
        return n - binomial(rng, n, 1.0 - p);
    }
    let nf = n as f64;
    if nf * p < 10.0 {
        // Inversion: walk up the cdf from P(0) = qⁿ with P(k+1) = P(k)·(n−k)/(k+1)·p/q.
        // n·p < 10 keeps qⁿ > e⁻¹⁴ (no underflow) and the walk short (n·p + 1 steps on average).
        let ratio = p / (1.0 - p);
        let mut pk = (nf * (-p).ln_1p()).exp();
        let mut cdf = pk;
        let u: f64 = rng.gen();
        let mut k = 0u64;
        while u > cdf && k < n {
            pk *= (n - k) as f64 / (k + 1) as f64 * ratio;
            cdf += pk;
            k += 1;
        }
        return k;
    }
    let q = 1.0 - p;
    let spq = (nf * p * q).sqrt();
    let b = 1.15 + 2.53 * spq;
    let a = -0.0873 + 0.0248 * b + 0.01 * p;
    let c = nf * p + 0.5;
    let v_r = 0.92 - 4.2 / b;
    let r = p / q;
    let alpha = (2.83 + 5.1 / b) * spq;
    let m = ((nf + 1.0) * p).floor();
    loop {
        let u: f64 = rng.gen::<f64>() - 0.5;
        let v: f64 = rng.gen();
        let us = 0.5 - u.abs();
        let k = ((2.0 * a / us + b) * u + c).floor();
        if k < 0.0 || k > nf {
            continue;
        }
        // The squeeze: inside it the transformed density is surely below the hat.
        if us >= 0.07 && v <= v_r {
            return k as u64;
        }
        let v = (v * alpha / (a / (us * us) + b)).ln();
        let bound = (m + 0.5) * ((m + 1.0) / (r * (nf - m + 1.0))).ln()
            + (nf + 1.0) * ((nf - m + 1.0) / (nf - k + 1.0)).ln()
            + (k + 0.5) * (r * (nf - k + 1.0) / (k + 1.0)).ln()
            + stirling_tail(m)
            + stirling_tail(nf - m)
            - stirling_tail(k)
            - stirling_tail(nf - k);
        if v <= bound {
            return k as u64;
        }
    }
}

/// `ln k! − [(k + ½)·ln(k + 1) − (k + 1) + ½·ln(2π)]`, the error of Stirling's formula at
/// `k + 1`: exact values for small `k`, the asymptotic series beyond.
fn stirling_tail(k: f64) -> f64 {
    const SMALL: [f64; 10] = [
        0.081_061_466_795_327_2,
        0.041_340_695_955_409_2,
        0.027_677_925_684_998_3,
        0.020_790_672_103_765_09,
        0.016_644_691_189_821_1,
        0.013_876_128_823_070_7,
        0.011_896_709_945_891_7,
        0.010_411_265_261_972_0,
        0.009_255_462_182_712_73,
        0.008_330_563_433_362_87,
    ];
    if k <= 9.0 {
        return SMALL[k as usize];
    }
    let kp1 = k + 1.0;
    let kp1sq = kp1 * kp1;
    (1.0 / 12.0 - (1.0 / 360.0 - 1.0 / 1260.0 / kp1sq) / kp1sq) / kp1
}

/// Sandwich (Huber–White) 95% intervals around `scores`, in the order of `scores.models`; see
/// the module docs. Models missing from `counts`, or all models if the information matrix is
/// singular (disconnected data with `ridge = 0`), get NaN bounds.
pub fn sandwich(counts: &PairCounts, scores: &Scores, opts: &BtOptions) -> Vec<Interval> {
    let nan = Interval {
        lo: f64::NAN,
        hi: f64::NAN,
    };
    let m = counts.models.len();
    let k = opts.points_per_unit();
    // Natural strengths in the counts' order; only differences matter, so no centring needed.
    let s: Vec<Option<f64>> = counts
        .models
        .iter()
        .map(|name| scores.get(name).map(|x| (x - opts.init) / k))
        .collect();
    // Every model in the counts needs a score to evaluate the likelihood at.
    let Some(s) = s.into_iter().collect::<Option<Vec<f64>>>() else {
        return vec![nan; scores.models.len()];
    };
    let mut bread = vec![1.0; m * m]; // J, for the gauge
    let mut meat = vec![0.0; m * m];
    for p in &counts.pairs {
        let prob = sigmoid(s[p.i] - s[p.j]);
        let n = p.total() as f64;
        let info = n * prob * (1.0 - prob);
        let (a, b, t) = (p.wins_i as f64, p.wins_j as f64, p.ties as f64);
        let score_sq = a * (1.0 - prob).powi(2) + b * prob.powi(2) + t * (0.5 - prob).powi(2);
        for (mat, c) in [(&mut bread, info), (&mut meat, score_sq)] {
            mat[p.i * m + p.i] += c;
            mat[p.j * m + p.j] += c;
            mat[p.i * m + p.j] -= c;
            mat[p.j * m + p.i] -= c;
        }
    }
    for i in 0..m {
        bread[i * m + i] += opts.ridge;
    }
    if cholesky_in_place(&mut bread, m).is_err() {
        return vec![nan; scores.models.len()];
    }
    let inv = cholesky_inverse(&bread, m);
    let cov = sandwich_product(&inv, &meat, m);
    let anchor = opts.anchor_index(&counts.models).ok().flatten();
    scores
        .models
        .iter()
        .zip(&scores.scores)
        .map(|(name, &x)| {
            let Some(i) = counts.index_of(name) else {
                return nan;
            };
            let var = match anchor {
                Some(a) => cov[i * m + i] - 2.0 * cov[i * m + a] + cov[a * m + a],
                None => cov[i * m + i],
            };
            let half = Z95 * k * var.max(0.0).sqrt();
            Interval {
                lo: x - half,
                hi: x + half,
            }
        })
        .collect()
}

/// `M·B·M` for symmetric `M`, `B` (row-major `m×m`).
pub(crate) fn sandwich_product(inv: &[f64], meat: &[f64], m: usize) -> Vec<f64> {
    let tmp = product(inv, meat, m);
    product(&tmp, inv, m)
}

/// `A·B` (row-major `m×m`), skipping the zeros of `A`.
fn product(a: &[f64], b: &[f64], m: usize) -> Vec<f64> {
    let mut out = vec![0.0; m * m];
    for r in 0..m {
        for k in 0..m {
            let x = a[r * m + k];
            if x == 0.0 {
                continue;
            }
            for c in 0..m {
                out[r * m + c] += x * b[k * m + c];
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngCore;

    /// Pearson's χ² of `draws` samples against the exact Binomial(n, p) pmf, over the cells
    /// with an expected count of at least 5 (the rest pooled), and the degrees of freedom.
    fn chi_square(n: u64, p: f64, draws: usize, seed: u64) -> (f64, usize) {
        let mut rng = round_rng(seed, 0);
        let mut observed = vec![0usize; n as usize + 1];
        for _ in 0..draws {
            observed[binomial(&mut rng, n, p) as usize] += 1;
        }
        // pmf by the recurrence P(k+1) = P(k)·(n−k)/(k+1)·p/q, from P(0) = qⁿ.
        let mut pmf = vec![(n as f64 * (1.0 - p).ln()).exp()];
        for k in 0..n {
            let last = pmf[k as usize];
            pmf.push(last * (n - k) as f64 / (k + 1) as f64 * p / (1.0 - p));
        }
        let (mut chi, mut cells) = (0.0, 0);
        let (mut pooled_e, mut pooled_o) = (0.0, 0.0);
        for (k, &o) in observed.iter().enumerate() {
            let e = pmf[k] * draws as f64;
            if e >= 5.0 {
                chi += (o as f64 - e).powi(2) / e;
                cells += 1;
            } else {
                pooled_e += e;
                pooled_o += o as f64;
            }
        }
        if pooled_e > 0.0 {
            chi += (pooled_o - pooled_e).powi(2) / pooled_e;
            cells += 1;
        }
        (chi, cells - 1)
    }

    #[test]
    fn binomial_matches_the_exact_distribution() {
        // BTRS (n·p ≥ 10), inversion (n·p < 10), and the flipped side (p > ½).
        for (n, p) in [
            (100, 0.3),
            (2000, 0.03),
            (40, 0.1),
            (500, 0.004),
            (300, 0.9),
        ] {
            let (chi, df) = chi_square(n, p, 200_000, n + 7);
            // χ² has mean df and sd √(2·df); allow 5 sd.
            let limit = df as f64 + 5.0 * (2.0 * df as f64).sqrt();
            assert!(chi < limit, "Binomial({n}, {p}): χ² {chi:.1} on {df} df");
        }
    }

    #[test]
    fn binomial_mean_and_variance_at_bootstrap_sizes() {
        let (n, p) = (2_000_000u64, 3.0e-5);
        let mut rng = round_rng(3, 0);
        let draws = 200_000;
        let xs: Vec<f64> = (0..draws)
            .map(|_| binomial(&mut rng, n, p) as f64)
            .collect();
        let mean = xs.iter().sum::<f64>() / draws as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (draws - 1) as f64;
        let (mu, sigma2) = (n as f64 * p, n as f64 * p * (1.0 - p));
        assert!(
            (mean - mu).abs() < 5.0 * (sigma2 / draws as f64).sqrt(),
            "mean {mean}"
        );
        assert!(
            (var / sigma2 - 1.0).abs() < 0.02,
            "variance {var} vs {sigma2}"
        );
        assert_eq!(binomial(&mut rng, 0, 0.5), 0);
        assert_eq!(binomial(&mut rng, 10, 1.0), 10);
        assert_eq!(binomial(&mut rng, 10, 0.0), 0);
    }

    #[test]
    fn multinomial_rows_keep_the_total() {
        let counts = PairCounts {
            models: vec!["a".into(), "b".into(), "c".into()],
            pairs: vec![
                crate::bt::Pair {
                    i: 0,
                    j: 1,
                    wins_i: 50,
                    wins_j: 30,
                    ties: 20,
                },
                crate::bt::Pair {
                    i: 0,
                    j: 2,
                    wins_i: 5,
                    wins_j: 0,
                    ties: 1,
                },
                crate::bt::Pair {
                    i: 1,
                    j: 2,
                    wins_i: 0,
                    wins_j: 7,
                    ties: 0,
                },
            ],
        };
        let sampler = RowSampler::new(&counts);
        let mut rng = round_rng(1, 0);
        let mut sums = [[0u64; 3]; 3];
        let rounds = 20_000;
        for _ in 0..rounds {
            let drawn = sampler.draw(&mut rng);
            assert_eq!(drawn.iter().flatten().sum::<u64>(), 113);
            // Rows that were empty stay empty.
            assert_eq!((drawn[1][1], drawn[2][0], drawn[2][2]), (0, 0, 0));
            for (s, d) in sums.iter_mut().zip(&drawn) {
                for k in 0..3 {
                    s[k] += d[k];
                }
            }
        }
        // Each row's mean count is its original count.
        let means: Vec<f64> = sums
            .iter()
            .flatten()
            .map(|&s| s as f64 / rounds as f64)
            .collect();
        let want = [50.0, 30.0, 20.0, 5.0, 0.0, 1.0, 0.0, 7.0, 0.0];
        for (m, w) in means.iter().zip(want) {
            assert!((m - w).abs() < 0.05 * w.max(1.0), "{means:?}");
        }
    }

    #[test]
    fn chord_refits_agree_with_newton() {
        // 12 models of spread strengths, every pair played, counts uneven.
        let m = 12;
        let mut rng = round_rng(7, 0);
        let mut pairs = Vec::new();
        for i in 0..m {
            for j in i + 1..m {
                let n = 20 + (rng.next_u32() % 400) as u64;
                let p = 1.0 / (1.0 + (-((i as f64) - (j as f64)) * 0.3).exp());
                let wins_i = binomial(&mut rng, n, p * 0.9);
                let ties = binomial(&mut rng, n - wins_i, 0.1);
                pairs.push(crate::bt::Pair {
                    i,
                    j,
                    wins_i,
                    wins_j: n - wins_i - ties,
                    ties,
                });
            }
        }
        let counts = PairCounts {
            models: (0..m).map(|i| format!("m{i}")).collect(),
            pairs,
        };
        let opts = BtOptions::default();
        let full = fit_natural(&counts, &opts).unwrap();
        let chord = FullHessian::factor(&counts, &full, DEFAULT_RIDGE).unwrap();
        let sampler = RowSampler::new(&counts);
        for round in 0..50 {
            let drawn = sampler.draw(&mut round_rng(3, round));
            let rows = counts
                .pairs
                .iter()
                .zip(&drawn)
                .map(|(p, c)| drawn_row(p.i, p.j, c))
                .collect();
            let data = PairData { rows };
            let objective = PairObjective {
                data: &data,
                m,
                ridge: DEFAULT_RIDGE,
            };
            let by_chord = chord.refit(&objective, &full).expect("chord converges");
            let by_newton = maximize(&objective, full.clone(), MAX_NEWTON_ITER, 1e-12).unwrap();
            for (a, b) in by_chord.iter().zip(&by_newton) {
                assert!((a - b).abs() < 1e-6, "round {round}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn round_rng_matches_the_reference_xoshiro256pp() {
        // xoshiro256++ from the state (1, 2, 3, 4): the reference implementation's first
        // outputs are 41943041, 58720359, 3588806011781223.
        let mut seed = [0u8; 32];
        for (chunk, word) in seed.chunks_mut(8).zip([1u64, 2, 3, 4]) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        let mut rng = RoundRng::from_seed(seed);
        assert_eq!(rng.next_u64(), 41_943_041);
        assert_eq!(rng.next_u64(), 58_720_359);
        assert_eq!(rng.next_u64(), 3_588_806_011_781_223);
        // Rounds get different streams; the same round the same one.
        let a = round_rng(7, 0).next_u64();
        assert_eq!(a, round_rng(7, 0).next_u64());
        assert_ne!(a, round_rng(7, 1).next_u64());
    }

    fn pinned_counts() -> PairCounts {
        let pair = |i, j, wins_i, wins_j, ties| crate::bt::Pair {
            i,
            j,
            wins_i,
            wins_j,
            ties,
        };
        PairCounts {
            models: vec!["a".into(), "b".into(), "c".into(), "d".into()],
            pairs: vec![
                pair(0, 1, 50, 30, 20),
                pair(0, 2, 25, 10, 3),
                pair(1, 2, 12, 17, 0),
                pair(2, 3, 40, 41, 9),
                pair(0, 3, 8, 2, 1),
            ],
        }
    }

    #[test]
    fn bootstrap_streams_and_intervals_are_pinned() {
        // Recorded from the hand-written xoshiro256++ that rand_xoshiro replaced: the
        // generator, and so every published bootstrap interval, must not move.
        let mut rng = round_rng(2024, 5);
        let first: Vec<u64> = (0..4).map(|_| rng.next_u64()).collect();
        assert_eq!(
            first,
            [
                9923216271840649564,
                13741356179139466562,
                14167773183314207466,
                18143634891568861465
            ]
        );
        let mut rng = round_rng(7, 0);
        let floats: Vec<f64> = (0..3).map(|_| rng.gen::<f64>()).collect();
        assert_eq!(
            floats,
            [0.05536043647833311, 0.17211585444811772, 0.7175761283586594]
        );
        for threads in [1, 2] {
            let intervals =
                bootstrap(&pinned_counts(), &BtOptions::default(), 200, 42, threads).unwrap();
            let bits: Vec<(u64, u64)> = intervals
                .iter()
                .map(|i| (i.lo.to_bits(), i.hi.to_bits()))
                .collect();
            assert_eq!(
                bits,
                [
                    (4652282750143018471, 4652672162600726957),
                    (4651444919976525615, 4652281727712517733),
                    (4651360327105352390, 4652096983127414817),
                    (4651236232540542680, 4652141180209692513)
                ],
                "{intervals:?}"
            );
        }
    }

    #[test]
    fn quantiles_match_numpy_linear() {
        let xs = [1.0, 2.0, 3.0, 4.0];
        // numpy.quantile([1,2,3,4], [0.025, 0.5, 0.975]) = [1.075, 2.5, 3.925]
        assert!((quantile_sorted(&xs, 0.025) - 1.075).abs() < 1e-12);
        assert!((quantile_sorted(&xs, 0.5) - 2.5).abs() < 1e-12);
        assert!((quantile_sorted(&xs, 0.975) - 3.925).abs() < 1e-12);
        assert!(quantile_sorted(&[], 0.5).is_nan());
    }
}
