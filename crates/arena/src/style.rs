//! Style control: Bradley–Terry with style covariates, as in the LMSYS leaderboard's "style
//! control" (FastChat `rating_systems.py`, `compute_style_control`).
//!
//! # The model
//!
//! Voters prefer longer, more formatted answers whatever the model. To separate that from
//! model strength, each battle gets four features — answer tokens, markdown headers, list items,
//! bold spans — as the normalized difference `(a − b) / (a + b + 1)` between the two sides
//! (bounded, scale-free, and 0 for equal answers), each then z-scored over the battles used
//! (population standard deviation, as numpy's `std`; a feature constant over all battles is
//! left at 0 and gets coefficient 0). The outcome model is
//!
//! `P(A beats B) = σ(α·(r_a − r_b) + Σ_k β_k·x_k)`,  `α = ln(base)`,
//!
//! with ties as half a win each way, fitted by maximizing the log-likelihood minus
//! `l2/2 · (Σ r_i² + Σ β_k²)` — FastChat's L2 penalty on all parameters, whose default `reg` is
//! 0.5 ([`DEFAULT_STYLE_L2`]). Ratings `r` are in base-`base` log-odds units, so the controlled
//! score is `init + scale·r` (then anchored), on the same scale as the plain BT scores. The
//! penalty keeps `Σ r = 0`, matching the mean-`init` convention of the plain fit; it also pulls
//! models with few battles toward the mean, as FastChat's does (a prior with standard deviation
//! `1/√l2` ≈ 570 points at the default). `β_k` is the
//! change in log-odds of A winning per standard deviation of feature `k`: positive means voters
//! favour answers with more of it.
//!
//! Fitting is Newton's method on the `(m + 4)`-dimensional problem, as in [`crate::bt`]; one
//! iteration is one pass over the battles. Battles without style metadata are skipped.
//!
//! # Intervals
//!
//! [`style_sandwich`] is the Huber–White covariance `H⁻¹ B H⁻¹` of the penalized fit (cheap).
//! [`style_bootstrap`] resamples battles with replacement and refits each round warm-started;
//! every round is a pass over all battles per Newton iteration, so it costs about
//! `rounds × 3` passes over the data — minutes for millions of battles, where the sandwich takes
//! one.

use std::collections::HashMap;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::battle::Battle;
use crate::bt::{
    cholesky_in_place, cholesky_inverse, log_sigmoids, maximize, sigmoid, sigmoids, BtOptions,
    FitError, Objective, Scores, MAX_NEWTON_ITER, NEWTON_TOL,
};
use crate::ci::{round_rng, run_rounds, sandwich_product, BootstrapSamples, Interval, Z95};

/// Names of the style coefficients, in order.
pub const STYLE_FEATURES: [&str; 4] = ["length", "headers", "lists", "bold"];

/// FastChat's default penalty (`reg = 0.5`).
pub const DEFAULT_STYLE_L2: f64 = 0.5;

/// Controlled scores and the style coefficients `β` (log-odds per standard deviation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StyleResult {
    pub scores: Scores,
    pub coefficients: Vec<(String, f64)>,
}

/// Battles with style features in the form the fit uses.
#[derive(Debug, Clone, PartialEq)]
pub struct StyleData {
    /// Models in order of first appearance.
    pub models: Vec<String>,
    a: Vec<usize>,
    b: Vec<usize>,
    /// Model A's outcome: 1, ½ or 0.
    y: Vec<f64>,
    /// Standardized features.
    x: Vec<[f64; 4]>,
    /// Mean and standard deviation of the normalized differences, before z-scoring.
    pub feature_mean: [f64; 4],
    pub feature_std: [f64; 4],
}

impl StyleData {
    /// Collects the battles that have style metadata, skipping `excluded` and self-battles.
    pub fn from_battles(battles: &[Battle]) -> StyleData {
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut models: Vec<String> = Vec::new();
        let (mut a, mut b, mut y, mut x) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for battle in battles {
            let Some((sa, sb)) = battle.style else {
                continue;
            };
            if battle.excluded || battle.model_a == battle.model_b {
                continue;
            }
            let mut ids = [0; 2];
            for (id, name) in ids.iter_mut().zip([&battle.model_a, &battle.model_b]) {
                *id = *index.entry(name.as_str()).or_insert_with(|| {
                    models.push(name.clone());
                    models.len() - 1
                });
            }
            a.push(ids[0]);
            b.push(ids[1]);
            y.push(battle.winner.score_a());
            let ratio = |p: f64, q: f64| (p - q) / (p + q + 1.0);
            x.push([
                ratio(sa.tokens, sb.tokens),
                ratio(sa.headers, sb.headers),
                ratio(sa.lists, sb.lists),
                ratio(sa.bold, sb.bold),
            ]);
        }
        let n = x.len().max(1) as f64;
        let mut mean = [0.0; 4];
        let mut std = [0.0; 4];
        for k in 0..4 {
            mean[k] = x.iter().map(|f| f[k]).sum::<f64>() / n;
            let var = x.iter().map(|f| (f[k] - mean[k]).powi(2)).sum::<f64>() / n;
            std[k] = var.sqrt();
        }
        for f in &mut x {
            for k in 0..4 {
                // A constant feature carries no information; FastChat would divide by zero.
                f[k] = if std[k] > 0.0 {
                    (f[k] - mean[k]) / std[k]
                } else {
                    0.0
                };
            }
        }
        StyleData {
            models,
            a,
            b,
            y,
            x,
            feature_mean: mean,
            feature_std: std,
        }
    }

    /// Number of battles.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// Battles per model, in `models` order.
    pub fn model_battles(&self) -> Vec<u64> {
        let mut n = vec![0; self.models.len()];
        for (&a, &b) in self.a.iter().zip(&self.b) {
            n[a] += 1;
            n[b] += 1;
        }
        n
    }
}

/// The penalized contextual-BT objective; parameters are `(r_1..r_m, β_1..β_4)`.
struct StyleObjective<'a> {
    data: &'a StyleData,
    /// Resampling weights per battle (bootstrap); all 1 when absent.
    weights: Option<&'a [u32]>,
    alpha: f64,
    l2: f64,
    /// Features that vary; a constant one gets a unit diagonal so its coefficient stays 0.
    active: [bool; 4],
}

impl StyleObjective<'_> {
    fn weight(&self, t: usize) -> f64 {
        self.weights.map_or(1.0, |w| w[t] as f64)
    }

    fn logit(&self, theta: &[f64], t: usize) -> f64 {
        let m = self.data.models.len();
        let x = &self.data.x[t];
        let beta = &theta[m..];
        self.alpha * (theta[self.data.a[t]] - theta[self.data.b[t]])
            + x[0] * beta[0]
            + x[1] * beta[1]
            + x[2] * beta[2]
            + x[3] * beta[3]
    }
}

impl Objective for StyleObjective<'_> {
    fn dim(&self) -> usize {
        self.data.models.len() + 4
    }

    fn gauge(&self) -> usize {
        self.data.models.len()
    }

    fn value(&self, theta: &[f64]) -> f64 {
        let mut ll = 0.0;
        for t in 0..self.data.len() {
            let w = self.weight(t);
            if w == 0.0 {
                continue;
            }
            let (lp, lq) = log_sigmoids(self.logit(theta, t));
            let y = self.data.y[t];
            ll += w * (y * lp + (1.0 - y) * lq);
        }
        ll - 0.5 * self.l2 * theta.iter().map(|v| v * v).sum::<f64>()
    }

    fn gradient_hessian(&self, theta: &[f64], g: &mut [f64], h: &mut [f64]) {
        let m = self.data.models.len();
        let d = m + 4;
        let alpha = self.alpha;
        g.iter_mut().for_each(|v| *v = 0.0);
        h.iter_mut().for_each(|v| *v = 0.0);
        // J on the model block fixes the gauge when l2 = 0 (see crate::bt).
        for r in 0..m {
            h[r * d..r * d + m].iter_mut().for_each(|v| *v = 1.0);
        }
        for t in 0..self.data.len() {
            let w = self.weight(t);
            if w == 0.0 {
                continue;
            }
            let (a, b, x) = (self.data.a[t], self.data.b[t], &self.data.x[t]);
            let (p, q) = sigmoids(self.logit(theta, t));
            // y − p without cancellation when p is near 1.
            let y = self.data.y[t];
            let e = w * (y * q - (1.0 - y) * p);
            let c = w * p * q;
            g[a] += alpha * e;
            g[b] -= alpha * e;
            let cm = alpha * alpha * c;
            h[a * d + a] += cm;
            h[b * d + b] += cm;
            h[a * d + b] -= cm;
            h[b * d + a] -= cm;
            for k in 0..4 {
                g[m + k] += e * x[k];
                let cross = alpha * c * x[k];
                h[a * d + m + k] += cross;
                h[(m + k) * d + a] += cross;
                h[b * d + m + k] -= cross;
                h[(m + k) * d + b] -= cross;
                for l in 0..4 {
                    h[(m + k) * d + m + l] += c * x[k] * x[l];
                }
            }
        }
        for i in 0..d {
            g[i] -= self.l2 * theta[i];
            h[i * d + i] += self.l2;
        }
        for k in 0..4 {
            if !self.active[k] {
                h[(m + k) * d + m + k] += 1.0;
            }
        }
    }
}

fn validate_l2(l2: f64) -> Result<(), FitError> {
    if l2.is_finite() && l2 >= 0.0 {
        Ok(())
    } else {
        Err(FitError::Options(format!(
            "style l2 must be non-negative, got {l2}"
        )))
    }
}

/// Fits the parameters `(r, β)` on `data`, optionally with per-battle weights and a warm start.
fn fit_params(
    data: &StyleData,
    opts: &BtOptions,
    l2: f64,
    weights: Option<&[u32]>,
    start: Option<Vec<f64>>,
    tol: f64,
) -> Result<Vec<f64>, FitError> {
    let active = std::array::from_fn(|k| data.feature_std[k] > 0.0);
    let obj = StyleObjective {
        data,
        weights,
        alpha: opts.base.ln(),
        l2,
        active,
    };
    let start = start.unwrap_or_else(|| vec![0.0; obj.dim()]);
    maximize(&obj, start, MAX_NEWTON_ITER, tol)
}

/// Scores `init + scale·r`, then anchored.
fn params_to_scores(params: &[f64], m: usize, opts: &BtOptions, anchor: Option<usize>) -> Vec<f64> {
    let mut scores: Vec<f64> = params[..m]
        .iter()
        .map(|r| opts.init + opts.scale * r)
        .collect();
    if let (Some((_, value)), Some(a)) = (&opts.anchor, anchor) {
        let shift = value - scores[a];
        scores.iter_mut().for_each(|s| *s += shift);
    }
    scores
}

fn check_inputs(data: &StyleData, opts: &BtOptions, l2: f64) -> Result<Option<usize>, FitError> {
    validate_l2(l2)?;
    // The plain options' checks (scale, base, init, anchor); their ridge plays no part here.
    opts.validate()?;
    if data.is_empty() {
        return Err(FitError::Empty);
    }
    opts.anchor_index(&data.models)
}

/// Style-controlled scores and coefficients from the battles that carry style metadata.
pub fn fit_style_control(
    battles: &[Battle],
    opts: &BtOptions,
    l2: f64,
) -> Result<StyleResult, FitError> {
    fit_style_data(&StyleData::from_battles(battles), opts, l2).map(|(result, _)| result)
}

/// [`fit_style_control`] on prepared data; also returns the raw parameters `(r, β)`.
pub fn fit_style_data(
    data: &StyleData,
    opts: &BtOptions,
    l2: f64,
) -> Result<(StyleResult, Vec<f64>), FitError> {
    let anchor = check_inputs(data, opts, l2)?;
    let m = data.models.len();
    let params = fit_params(data, opts, l2, None, None, NEWTON_TOL)?;
    let result = StyleResult {
        scores: Scores {
            models: data.models.clone(),
            scores: params_to_scores(&params, m, opts, anchor),
        },
        coefficients: STYLE_FEATURES
            .iter()
            .zip(&params[m..])
            .map(|(name, &b)| (name.to_string(), b))
            .collect(),
    };
    Ok((result, params))
}

/// Sandwich 95% intervals for the controlled scores, in `data.models` order.
pub fn style_sandwich(
    data: &StyleData,
    params: &[f64],
    opts: &BtOptions,
    l2: f64,
) -> Vec<Interval> {
    let m = data.models.len();
    let d = m + 4;
    let nan = Interval {
        lo: f64::NAN,
        hi: f64::NAN,
    };
    if params.len() != d {
        return vec![nan; m];
    }
    let active = std::array::from_fn(|k| data.feature_std[k] > 0.0);
    let obj = StyleObjective {
        data,
        weights: None,
        alpha: opts.base.ln(),
        l2,
        active,
    };
    let mut g = vec![0.0; d];
    let mut bread = vec![0.0; d * d];
    obj.gradient_hessian(params, &mut g, &mut bread);
    // The meat: Σ (y − p)² z zᵀ with z = (α(e_a − e_b), x).
    let mut meat = vec![0.0; d * d];
    let alpha = obj.alpha;
    for t in 0..data.len() {
        let (a, b, x) = (data.a[t], data.b[t], &data.x[t]);
        let e = data.y[t] - sigmoid(obj.logit(params, t));
        let mut z: Vec<(usize, f64)> = vec![(a, alpha * e), (b, -alpha * e)];
        z.extend((0..4).map(|k| (m + k, x[k] * e)));
        for &(i, zi) in &z {
            for &(j, zj) in &z {
                meat[i * d + j] += zi * zj;
            }
        }
    }
    if cholesky_in_place(&mut bread, d).is_err() {
        return vec![nan; m];
    }
    let inv = cholesky_inverse(&bread, d);
    let cov = sandwich_product(&inv, &meat, d);
    let anchor = opts.anchor_index(&data.models).ok().flatten();
    let scores = params_to_scores(params, m, opts, anchor);
    (0..m)
        .map(|i| {
            let var = match anchor {
                Some(a) => cov[i * d + i] - 2.0 * cov[i * d + a] + cov[a * d + a],
                None => cov[i * d + i],
            };
            let half = Z95 * opts.scale * var.max(0.0).sqrt();
            Interval {
                lo: scores[i] - half,
                hi: scores[i] + half,
            }
        })
        .collect()
}

/// Percentile-bootstrap 95% intervals for the controlled scores (battles resampled with
/// replacement, round `r` seeded with `seed + r`), in `data.models` order.
pub fn style_bootstrap(
    data: &StyleData,
    opts: &BtOptions,
    l2: f64,
    rounds: usize,
    seed: u64,
    threads: usize,
) -> Result<Vec<Interval>, FitError> {
    let anchor = check_inputs(data, opts, l2)?;
    let m = data.models.len();
    let n = data.len();
    let full = fit_params(data, opts, l2, None, None, NEWTON_TOL)?;
    let one_round = |round: usize| -> Result<Vec<f64>, FitError> {
        let mut rng = round_rng(seed, round);
        let mut weights = vec![0u32; n];
        for _ in 0..n {
            weights[rng.gen_range(0..n)] += 1;
        }
        // Same tolerance argument as the plain bootstrap (crate::ci).
        let params = fit_params(data, opts, l2, Some(&weights), Some(full.clone()), 1e-4)?;
        let mut present = vec![false; m];
        for t in 0..n {
            if weights[t] > 0 {
                present[data.a[t]] = true;
                present[data.b[t]] = true;
            }
        }
        if anchor.is_some_and(|a| !present[a]) {
            return Ok(vec![f64::NAN; m]);
        }
        let mut scores = params_to_scores(&params, m, opts, anchor);
        for (s, here) in scores.iter_mut().zip(&present) {
            if !here {
                *s = f64::NAN;
            }
        }
        Ok(scores)
    };
    let samples = run_rounds(rounds, threads, one_round)?;
    Ok(BootstrapSamples {
        models: data.models.clone(),
        rounds: samples,
    }
    .intervals(0.025, 0.975))
}
