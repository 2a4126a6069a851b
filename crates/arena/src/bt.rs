//! Bradley–Terry ratings by maximum likelihood.
//!
//! # The model
//!
//! Each model `i` has a strength `s_i` (natural-log units). In a battle between `i` and `j`,
//! `P(i beats j) = σ(s_i − s_j)` with `σ(x) = 1 / (1 + e^−x)`. A tie (`tie` or `tie (bothbad)`)
//! counts as half a win for each side, i.e. the outcome `y ∈ {0, ½, 1}` enters the Bernoulli
//! log-likelihood `y·log σ(d) + (1 − y)·log σ(−d)` — the same objective as FastChat's
//! `compute_elo_mle_with_tie`, which duplicates every battle and turns a tie into one win each way.
//!
//! Scores are reported on the Elo scale: `score_i = init + scale · s_i / ln(base)` (defaults
//! 1000, 400, 10, so 400 points is a 10:1 odds ratio). Only differences are identified; we fix
//! the mean of `s` at 0 — so the mean score is `init`, exactly as FastChat's intercept-free
//! logistic regression lands — and then, if an anchor `(model, value)` is given, shift every
//! score so that model has that value.
//!
//! # Data layout
//!
//! The likelihood depends on the battles only through the counts per unordered pair: wins of
//! each side and ties. [`PairCounts`] holds those (at most `m(m−1)/2` rows for `m` models,
//! whatever the number of battles), and every fit works on them.
//!
//! # The fit
//!
//! Newton–Raphson on the log-likelihood. With `d = s_i − s_j`, `p = σ(d)`, `n` battles and `w`
//! half-win-weighted wins of `i` in a pair, the gradient gets `w − n·p` at `i` (and the negative
//! at `j`), and the negative Hessian is the graph Laplacian with edge weights `n·p·(1 − p)`. The
//! Laplacian is singular along the all-ones vector (adding a constant to every `s` changes
//! nothing); we add `J = 1·1ᵀ` to it, which leaves the step on the sum-zero subspace unchanged
//! (the gradient sums to zero) and makes the matrix positive definite when the comparison graph
//! is connected. The step is solved by Cholesky; it is taken in full when the likelihood does not
//! drop (checked cheaply through the directional derivative, with a likelihood comparison and
//! step halving as the fallback). From zero it converges in 5–8 iterations; warm-started (as the
//! bootstrap does) in 2–3. [`fit_mm`] is the classical minorization–maximization iteration
//! (Hunter 2004), slow but simple, kept as the reference the tests compare against.
//!
//! # When the maximum does not exist
//!
//! The MLE is finite only if, for every split of the models into two groups, some model in each
//! group has beaten or tied some model in the other (Ford 1957) — e.g. a model that won all its
//! battles has score +∞. FastChat never notices, because its logistic regression carries an L2
//! penalty. Our choice: a tiny ridge, `ridge/2 · Σ s_i²` with [`DEFAULT_RIDGE`] = 1e-8 (a normal
//! prior with standard deviation 10⁴ natural units, ~1.7 million points), always keeps the fit
//! finite and unique, so a young arena still gets a leaderboard; a model that only ever won then
//! lands thousands of points above the rest with a huge interval, and [`check_identifiable`]
//! names such models (the leaderboard reports its message as a warning). On identifiable data
//! the ridge moves scores by about `ridge·|s| / μ`, `μ` the smallest non-zero eigenvalue of the
//! information matrix — 1e-4 points even for 16 models compared only along a chain, 12 battles
//! per link, and far less for an arena's usual dense comparisons. With `ridge = 0` the fit is
//! the exact MLE and fails with an error naming the models when it does not exist.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::battle::{Battle, Winner};

/// The ridge [`BtOptions::default`] uses; see the module docs.
pub const DEFAULT_RIDGE: f64 = 1e-8;

/// How scores are put on the rating scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BtOptions {
    /// Points per factor `base` in odds (400).
    pub scale: f64,
    /// Odds base (10).
    pub base: f64,
    /// Mean score (1000), before anchoring.
    pub init: f64,
    /// Shift all scores so this model gets this score.
    pub anchor: Option<(String, f64)>,
    /// L2 penalty on the natural-unit strengths; see the module docs. 0 means exact MLE.
    pub ridge: f64,
}

impl Default for BtOptions {
    fn default() -> BtOptions {
        BtOptions {
            scale: 400.0,
            base: 10.0,
            init: 1000.0,
            anchor: None,
            ridge: DEFAULT_RIDGE,
        }
    }
}

impl BtOptions {
    /// Rating points per natural-log unit of strength.
    pub fn points_per_unit(&self) -> f64 {
        self.scale / self.base.ln()
    }

    /// Checks the options; the error says which one is wrong.
    pub fn validate(&self) -> Result<(), FitError> {
        if !(self.scale.is_finite() && self.scale > 0.0) {
            return Err(FitError::Options(format!(
                "scale must be positive, got {}",
                self.scale
            )));
        }
        if !(self.base.is_finite() && self.base > 1.0) {
            return Err(FitError::Options(format!(
                "base must be above 1, got {}",
                self.base
            )));
        }
        if !self.init.is_finite() {
            return Err(FitError::Options(format!(
                "init must be finite, got {}",
                self.init
            )));
        }
        if !(self.ridge.is_finite() && self.ridge >= 0.0) {
            return Err(FitError::Options(format!(
                "ridge must be non-negative, got {}",
                self.ridge
            )));
        }
        if let Some((model, value)) = &self.anchor {
            if !value.is_finite() {
                return Err(FitError::Options(format!(
                    "anchor score for {model:?} must be finite, got {value}"
                )));
            }
        }
        Ok(())
    }

    /// Converts mean-zero natural strengths to scores: scale, add `init`, then anchor.
    /// `anchor_index` is the anchor model's index, if an anchor is set.
    pub(crate) fn to_scores(&self, natural: &[f64], anchor_index: Option<usize>) -> Vec<f64> {
        let k = self.points_per_unit();
        let mut scores: Vec<f64> = natural.iter().map(|s| self.init + k * s).collect();
        if let (Some((_, value)), Some(a)) = (&self.anchor, anchor_index) {
            let shift = value - scores[a];
            for s in &mut scores {
                *s += shift;
            }
        }
        scores
    }

    /// The index of the anchor model in `models`, or an error if it is not there.
    pub(crate) fn anchor_index(&self, models: &[String]) -> Result<Option<usize>, FitError> {
        match &self.anchor {
            None => Ok(None),
            Some((name, _)) => models
                .iter()
                .position(|m| m == name)
                .map(Some)
                .ok_or_else(|| FitError::UnknownAnchor(name.clone())),
        }
    }
}

/// Why a fit failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    #[error("no battles to rate")]
    Empty,
    #[error("the models fall into {} groups that never met, so their relative scores are undefined: {}", groups.len(), format_groups(groups))]
    Disconnected { groups: Vec<Vec<String>> },
    #[error(
        "no finite maximum-likelihood scores: {}",
        describe_unbounded(never_lost, never_won)
    )]
    Unbounded {
        /// Models that never lost or tied against the others (their score would be +∞).
        never_lost: Vec<String>,
        /// Models that never won or tied against the others (−∞).
        never_won: Vec<String>,
    },
    #[error("anchor model {0:?} has no battles")]
    UnknownAnchor(String),
    #[error("the fit did not converge in {iterations} iterations (last step {step:e})")]
    NotConverged { iterations: usize, step: f64 },
    #[error("the Hessian is not positive definite (at row {0}); the data do not identify the scores — set a ridge > 0")]
    Singular(usize),
    #[error("invalid option: {0}")]
    Options(String),
    #[error("bootstrap round {round}: {source}")]
    Bootstrap {
        round: usize,
        #[source]
        source: Box<FitError>,
    },
}

fn format_groups(groups: &[Vec<String>]) -> String {
    groups
        .iter()
        .map(|g| format!("{{{}}}", g.join(", ")))
        .collect::<Vec<_>>()
        .join(" vs ")
}

fn describe_unbounded(never_lost: &[String], never_won: &[String]) -> String {
    let mut parts = Vec::new();
    if !never_lost.is_empty() {
        parts.push(format!(
            "{{{}}} never lost or tied against the other models (score +∞)",
            never_lost.join(", ")
        ));
    }
    if !never_won.is_empty() {
        parts.push(format!(
            "{{{}}} never won or tied against the other models (score −∞)",
            never_won.join(", ")
        ));
    }
    parts.push("add battles, drop them, or fit with a ridge > 0".to_string());
    parts.join("; ")
}

/// Battle counts for one unordered pair of models, `i < j`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pair {
    pub i: usize,
    pub j: usize,
    pub wins_i: u64,
    pub wins_j: u64,
    /// `tie` and `tie (bothbad)` together.
    pub ties: u64,
}

impl Pair {
    pub fn total(&self) -> u64 {
        self.wins_i + self.wins_j + self.ties
    }
}

/// Battles aggregated to counts per unordered pair of models — all the likelihood needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairCounts {
    /// Models in order of first appearance.
    pub models: Vec<String>,
    /// One row per pair that met, sorted by `(i, j)`, `i < j`.
    pub pairs: Vec<Pair>,
}

impl PairCounts {
    /// Aggregates battles. Battles marked `excluded` and battles of a model against itself (no
    /// information about any difference) are skipped.
    pub fn from_battles(battles: &[Battle]) -> PairCounts {
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut models: Vec<String> = Vec::new();
        let mut coded: Vec<(usize, usize, Winner)> = Vec::with_capacity(battles.len());
        for b in battles {
            if b.excluded || b.model_a == b.model_b {
                continue;
            }
            // Keys borrow the battles, so a lookup allocates nothing.
            let a = *index.entry(b.model_a.as_str()).or_insert_with(|| {
                models.push(b.model_a.clone());
                models.len() - 1
            });
            let bb = *index.entry(b.model_b.as_str()).or_insert_with(|| {
                models.push(b.model_b.clone());
                models.len() - 1
            });
            coded.push((a, bb, b.winner));
        }
        let mut builder = PairBuilder::new(models.len());
        for (a, b, w) in coded {
            builder.add(a, b, w, 1);
        }
        PairCounts {
            pairs: builder.finish(),
            models,
        }
    }

    /// Builds counts from explicit rows `(model_a, model_b, winner, count)`.
    pub fn from_rows<'a>(rows: impl IntoIterator<Item = (&'a str, &'a str, Winner, u64)>) -> Self {
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut models = Vec::new();
        let mut coded = Vec::new();
        for (a, b, w, n) in rows {
            if a == b || n == 0 {
                continue;
            }
            let mut id = |name: &str| {
                *index.entry(name.to_string()).or_insert_with(|| {
                    models.push(name.to_string());
                    models.len() - 1
                })
            };
            let (ia, ib) = (id(a), id(b));
            coded.push((ia, ib, w, n));
        }
        let mut builder = PairBuilder::new(models.len());
        for (a, b, w, n) in coded {
            builder.add(a, b, w, n);
        }
        PairCounts {
            pairs: builder.finish(),
            models,
        }
    }

    /// Number of battles counted.
    pub fn total(&self) -> u64 {
        self.pairs.iter().map(Pair::total).sum()
    }

    /// Battles per model, in `models` order.
    pub fn model_battles(&self) -> Vec<u64> {
        let mut n = vec![0; self.models.len()];
        for p in &self.pairs {
            n[p.i] += p.total();
            n[p.j] += p.total();
        }
        n
    }

    /// The index of a model.
    pub fn index_of(&self, model: &str) -> Option<usize> {
        self.models.iter().position(|m| m == model)
    }
}

/// Accumulates pair counts: dense for the usual few hundred models, a map beyond.
struct PairBuilder {
    n: usize,
    dense: Option<Vec<[u64; 3]>>,
    sparse: HashMap<(usize, usize), [u64; 3]>,
}

impl PairBuilder {
    /// Dense storage up to this many models (n² · 24 bytes = 24 MB).
    const DENSE_LIMIT: usize = 1000;

    fn new(n: usize) -> PairBuilder {
        PairBuilder {
            n,
            dense: (n <= Self::DENSE_LIMIT).then(|| vec![[0; 3]; n * n]),
            sparse: HashMap::new(),
        }
    }

    /// Slots: 0 = wins of the lower index, 1 = wins of the higher, 2 = ties.
    fn add(&mut self, a: usize, b: usize, w: Winner, count: u64) {
        let (i, j, swapped) = if a < b { (a, b, false) } else { (b, a, true) };
        let slot = match (w, swapped) {
            (Winner::ModelA, false) | (Winner::ModelB, true) => 0,
            (Winner::ModelB, false) | (Winner::ModelA, true) => 1,
            (Winner::Tie | Winner::TieBothBad, _) => 2,
        };
        match &mut self.dense {
            Some(d) => d[i * self.n + j][slot] += count,
            None => self.sparse.entry((i, j)).or_insert([0; 3])[slot] += count,
        }
    }

    fn finish(self) -> Vec<Pair> {
        let make = |(i, j): (usize, usize), c: [u64; 3]| Pair {
            i,
            j,
            wins_i: c[0],
            wins_j: c[1],
            ties: c[2],
        };
        let mut pairs: Vec<Pair> = match self.dense {
            Some(d) => {
                let n = self.n;
                d.into_iter()
                    .enumerate()
                    .filter(|(_, c)| c.iter().any(|&x| x > 0))
                    .map(|(k, c)| make((k / n, k % n), c))
                    .collect()
            }
            None => self.sparse.into_iter().map(|(k, c)| make(k, c)).collect(),
        };
        pairs.sort_by_key(|p| (p.i, p.j));
        pairs
    }
}

/// Scores on the rating scale, one per model, in the order of the counts' models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    pub models: Vec<String>,
    pub scores: Vec<f64>,
}

impl Scores {
    /// The score of one model.
    pub fn get(&self, model: &str) -> Option<f64> {
        self.models
            .iter()
            .position(|m| m == model)
            .map(|i| self.scores[i])
    }

    /// `(model, score)` sorted by score, best first (ties by name, for a stable order).
    pub fn ranked(&self) -> Vec<(String, f64)> {
        let mut out: Vec<(String, f64)> = self
            .models
            .iter()
            .cloned()
            .zip(self.scores.iter().copied())
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out
    }
}

/// Fits Bradley–Terry scores by Newton–Raphson; see the module docs.
pub fn fit(counts: &PairCounts, opts: &BtOptions) -> Result<Scores, FitError> {
    let natural = fit_natural(counts, opts)?;
    let anchor = opts.anchor_index(&counts.models)?;
    Ok(Scores {
        models: counts.models.clone(),
        scores: opts.to_scores(&natural, anchor),
    })
}

/// The natural-unit, mean-zero strengths (what [`fit`] scales), for warm starts.
pub(crate) fn fit_natural(counts: &PairCounts, opts: &BtOptions) -> Result<Vec<f64>, FitError> {
    opts.validate()?;
    if counts.pairs.is_empty() {
        return Err(FitError::Empty);
    }
    if opts.ridge == 0.0 {
        check_identifiable(counts)?;
    }
    let data = PairData::from_counts(counts);
    let start = vec![0.0; counts.models.len()];
    newton(
        &data,
        counts.models.len(),
        opts.ridge,
        start,
        MAX_NEWTON_ITER,
    )
}

/// The reference fit: Hunter's MM iteration `π_i ← W_i / Σ_j n_ij / (π_i + π_j)`, with `W_i`
/// the wins of `i` plus half its ties, run until no log-strength moves by more than `tol`.
/// It ignores `opts.ridge` (it is the exact MLE) and so needs identifiable data.
pub fn fit_mm(
    counts: &PairCounts,
    opts: &BtOptions,
    tol: f64,
    max_iter: usize,
) -> Result<Scores, FitError> {
    opts.validate()?;
    if counts.pairs.is_empty() {
        return Err(FitError::Empty);
    }
    let anchor = opts.anchor_index(&counts.models)?;
    check_identifiable(counts)?;
    let m = counts.models.len();
    let mut wins = vec![0.0; m];
    for p in &counts.pairs {
        let ties = p.ties as f64 / 2.0;
        wins[p.i] += p.wins_i as f64 + ties;
        wins[p.j] += p.wins_j as f64 + ties;
    }
    // Work with log-strengths, renormalised to mean zero every sweep, so π stays in range.
    let mut log_pi = vec![0.0; m];
    let mut denom = vec![0.0; m];
    for iteration in 0..max_iter {
        let pi: Vec<f64> = log_pi.iter().map(|g| f64::exp(*g)).collect();
        denom.iter_mut().for_each(|d| *d = 0.0);
        for p in &counts.pairs {
            let share = p.total() as f64 / (pi[p.i] + pi[p.j]);
            denom[p.i] += share;
            denom[p.j] += share;
        }
        let mut next: Vec<f64> = (0..m).map(|i| (wins[i] / denom[i]).ln()).collect();
        let mean = next.iter().sum::<f64>() / m as f64;
        next.iter_mut().for_each(|g| *g -= mean);
        let step = next
            .iter()
            .zip(&log_pi)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        log_pi = next;
        if step < tol {
            return Ok(Scores {
                models: counts.models.clone(),
                scores: opts.to_scores(&log_pi, anchor),
            });
        }
        if iteration + 1 == max_iter {
            return Err(FitError::NotConverged {
                iterations: max_iter,
                step,
            });
        }
    }
    Err(FitError::NotConverged {
        iterations: max_iter,
        step: f64::NAN,
    })
}

/// Checks that the maximum-likelihood scores exist (see the module docs) and, if not, names the
/// models responsible: the groups that never met, or the models that never lost (never won)
/// against everyone else.
pub fn check_identifiable(counts: &PairCounts) -> Result<(), FitError> {
    let m = counts.models.len();
    if m == 0 {
        return Err(FitError::Empty);
    }
    // beats[i] lists j such that i won or tied against j at least once.
    let mut beats = vec![Vec::new(); m];
    let mut beaten_by = vec![Vec::new(); m];
    for p in &counts.pairs {
        if p.wins_i + p.ties > 0 {
            beats[p.i].push(p.j);
            beaten_by[p.j].push(p.i);
        }
        if p.wins_j + p.ties > 0 {
            beats[p.j].push(p.i);
            beaten_by[p.i].push(p.j);
        }
    }
    // Undirected components first: groups that never met at all.
    let mut neighbours = vec![Vec::new(); m];
    for p in &counts.pairs {
        neighbours[p.i].push(p.j);
        neighbours[p.j].push(p.i);
    }
    let groups = components(m, &neighbours);
    if groups.len() > 1 {
        let named = groups
            .iter()
            .map(|g| g.iter().map(|&i| counts.models[i].clone()).collect())
            .collect();
        return Err(FitError::Disconnected { groups: named });
    }
    let scc = strongly_connected(m, &beats, &beaten_by);
    let n_comp = scc.iter().copied().max().map_or(0, |c| c + 1);
    if n_comp <= 1 {
        return Ok(());
    }
    // A component nobody outside beat (no incoming edge) never lost outward; one that beat
    // nobody outside never won outward.
    let mut has_in = vec![false; n_comp];
    let mut has_out = vec![false; n_comp];
    for (i, targets) in beats.iter().enumerate() {
        for &j in targets {
            if scc[i] != scc[j] {
                has_out[scc[i]] = true;
                has_in[scc[j]] = true;
            }
        }
    }
    let pick = |flag: &[bool]| -> Vec<String> {
        (0..m)
            .filter(|&i| !flag[scc[i]])
            .map(|i| counts.models[i].clone())
            .collect()
    };
    Err(FitError::Unbounded {
        never_lost: pick(&has_in),
        never_won: pick(&has_out),
    })
}

fn components(m: usize, neighbours: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut seen = vec![false; m];
    let mut groups = Vec::new();
    for start in 0..m {
        if seen[start] {
            continue;
        }
        seen[start] = true;
        let mut group = vec![start];
        let mut stack = vec![start];
        while let Some(v) = stack.pop() {
            for &w in &neighbours[v] {
                if !seen[w] {
                    seen[w] = true;
                    group.push(w);
                    stack.push(w);
                }
            }
        }
        group.sort_unstable();
        groups.push(group);
    }
    groups
}

/// Kosaraju's algorithm, iterative; returns a component id per vertex.
fn strongly_connected(m: usize, out: &[Vec<usize>], inn: &[Vec<usize>]) -> Vec<usize> {
    // First pass: vertices in order of finishing time.
    let mut order = Vec::with_capacity(m);
    let mut seen = vec![false; m];
    for start in 0..m {
        if seen[start] {
            continue;
        }
        seen[start] = true;
        let mut stack = vec![(start, 0usize)];
        while let Some((v, next)) = stack.pop() {
            if next < out[v].len() {
                stack.push((v, next + 1));
                let w = out[v][next];
                if !seen[w] {
                    seen[w] = true;
                    stack.push((w, 0));
                }
            } else {
                order.push(v);
            }
        }
    }
    // Second pass on the reversed graph, in reverse finishing order.
    let mut comp = vec![usize::MAX; m];
    let mut next_id = 0;
    for &start in order.iter().rev() {
        if comp[start] != usize::MAX {
            continue;
        }
        comp[start] = next_id;
        let mut stack = vec![start];
        while let Some(v) = stack.pop() {
            for &w in &inn[v] {
                if comp[w] == usize::MAX {
                    comp[w] = next_id;
                    stack.push(w);
                }
            }
        }
        next_id += 1;
    }
    comp
}

pub(crate) const MAX_NEWTON_ITER: usize = 200;

/// Newton stops after a full step that moved no parameter by more than this (natural units;
/// 1.7e-5 points). Convergence is quadratic, so the error left after it is of order its square.
pub(crate) const NEWTON_TOL: f64 = 1e-7;

/// A pair in the form the fit uses: `w` = wins of `i` + half the ties, `n` = battles.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PairRow {
    pub i: usize,
    pub j: usize,
    pub w: f64,
    pub n: f64,
}

pub(crate) struct PairData {
    pub rows: Vec<PairRow>,
}

impl PairData {
    pub(crate) fn from_counts(counts: &PairCounts) -> PairData {
        PairData {
            rows: counts
                .pairs
                .iter()
                .map(|p| PairRow {
                    i: p.i,
                    j: p.j,
                    w: p.wins_i as f64 + p.ties as f64 / 2.0,
                    n: p.total() as f64,
                })
                .collect(),
        }
    }
}

/// Adds row `r`'s term of the log-likelihood's gradient at `s` to `g`; returns `σ(s_i − s_j)`
/// and `σ(s_j − s_i)`, which the Hessian's term needs too.
#[inline]
fn add_gradient(r: &PairRow, s: &[f64], g: &mut [f64]) -> (f64, f64) {
    let (p, q) = sigmoids(s[r.i] - s[r.j]);
    // w − n·p, written so that it does not cancel when p is near 1.
    let resid = r.w * q - (r.n - r.w) * p;
    g[r.i] += resid;
    g[r.j] -= resid;
    (p, q)
}

/// `log σ(d)`, `log σ(−d)` and `σ(d)` with one `exp` and no overflow.
#[inline]
pub(crate) fn log_sigmoids(d: f64) -> (f64, f64) {
    let e = (-d.abs()).exp();
    let l = e.ln_1p();
    (d.min(0.0) - l, (-d).min(0.0) - l)
}

#[inline]
pub(crate) fn sigmoid(d: f64) -> f64 {
    sigmoids(d).0
}

/// `(σ(d), σ(−d))`, each to full relative precision (so `1 − p` never cancels).
#[inline]
pub(crate) fn sigmoids(d: f64) -> (f64, f64) {
    let e = (-d.abs()).exp();
    let big = 1.0 / (1.0 + e);
    let small = e / (1.0 + e);
    if d >= 0.0 {
        (big, small)
    } else {
        (small, big)
    }
}

/// The BT objective over pair rows: penalised log-likelihood, gradient, negative Hessian.
pub(crate) struct PairObjective<'a> {
    pub data: &'a PairData,
    pub m: usize,
    pub ridge: f64,
}

impl Objective for PairObjective<'_> {
    fn dim(&self) -> usize {
        self.m
    }

    fn gauge(&self) -> usize {
        self.m
    }

    fn value(&self, s: &[f64]) -> f64 {
        let mut ll = 0.0;
        for r in &self.data.rows {
            if r.n == 0.0 {
                continue;
            }
            let (lp, lq) = log_sigmoids(s[r.i] - s[r.j]);
            ll += r.w * lp + (r.n - r.w) * lq;
        }
        ll - 0.5 * self.ridge * s.iter().map(|x| x * x).sum::<f64>()
    }

    fn gradient_hessian(&self, s: &[f64], g: &mut [f64], h: &mut [f64]) {
        let m = self.m;
        g.iter_mut().for_each(|x| *x = 0.0);
        // J = 1·1ᵀ fixes the gauge direction; see the module docs.
        h.iter_mut().for_each(|x| *x = 1.0);
        for r in &self.data.rows {
            if r.n == 0.0 {
                continue;
            }
            let (p, q) = add_gradient(r, s, g);
            let c = r.n * p * q;
            h[r.i * m + r.i] += c;
            h[r.j * m + r.j] += c;
            h[r.i * m + r.j] -= c;
            h[r.j * m + r.i] -= c;
        }
        for i in 0..m {
            g[i] -= self.ridge * s[i];
            h[i * m + i] += self.ridge;
        }
    }
}

impl PairObjective<'_> {
    /// The gradient alone (what [`maximize`] gets with the Hessian), for iterations that reuse
    /// a factored Hessian.
    pub(crate) fn gradient(&self, s: &[f64], g: &mut [f64]) {
        g.iter_mut().for_each(|x| *x = 0.0);
        for r in &self.data.rows {
            if r.n == 0.0 {
                continue;
            }
            add_gradient(r, s, g);
        }
        for (gi, si) in g.iter_mut().zip(s) {
            *gi -= self.ridge * si;
        }
    }
}

/// Newton–Raphson for BT from `start` (mean zero); returns mean-zero natural strengths.
pub(crate) fn newton(
    data: &PairData,
    m: usize,
    ridge: f64,
    start: Vec<f64>,
    max_iter: usize,
) -> Result<Vec<f64>, FitError> {
    maximize(
        &PairObjective { data, m, ridge },
        start,
        max_iter,
        NEWTON_TOL,
    )
}

/// A concave objective for [`maximize`].
pub(crate) trait Objective {
    /// Number of parameters.
    fn dim(&self) -> usize;
    /// The first `gauge()` parameters are only identified up to a common shift: steps are kept
    /// mean-zero over them, and `gradient_hessian` must add `J` on that block.
    fn gauge(&self) -> usize;
    /// The objective (only needed when a step might overshoot).
    fn value(&self, x: &[f64]) -> f64;
    /// The gradient and the negative Hessian (row-major, `dim × dim`) at `x`.
    fn gradient_hessian(&self, x: &[f64], g: &mut [f64], h: &mut [f64]);
}

/// Damped Newton ascent: full steps while the objective keeps rising along them, halving
/// otherwise; stops after a full step that moved no parameter by more than `tol`.
pub(crate) fn maximize(
    obj: &impl Objective,
    start: Vec<f64>,
    max_iter: usize,
    tol: f64,
) -> Result<Vec<f64>, FitError> {
    let d = obj.dim();
    let gauge = obj.gauge();
    let mut x = start;
    let mut g = vec![0.0; d];
    let mut h = vec![0.0; d * d];
    let mut step = vec![0.0; d];
    let mut trial = vec![0.0; d];
    let mut g_trial = vec![0.0; d];
    let mut h_trial = vec![0.0; d * d];
    obj.gradient_hessian(&x, &mut g, &mut h);
    let mut last = f64::INFINITY;
    for _ in 0..max_iter {
        step.copy_from_slice(&g);
        cholesky_in_place(&mut h, d).map_err(FitError::Singular)?;
        cholesky_solve(&h, d, &mut step);
        if gauge > 0 {
            // Keep exactly on the mean-zero subspace despite rounding.
            let mean = step[..gauge].iter().sum::<f64>() / gauge as f64;
            step[..gauge].iter_mut().for_each(|v| *v -= mean);
        }
        let max_step = step.iter().fold(0.0_f64, |a, v| a.max(v.abs()));
        if !max_step.is_finite() {
            return Err(FitError::NotConverged {
                iterations: max_iter,
                step: max_step,
            });
        }
        let mut t = 1.0;
        let mut before = None;
        loop {
            for k in 0..d {
                trial[k] = x[k] + t * step[k];
            }
            obj.gradient_hessian(&trial, &mut g_trial, &mut h_trial);
            // The objective is concave along the step: if it still rises at the end, it rose
            // all the way. Only otherwise compare values (the expensive part), and tiny steps
            // are in the quadratic regime where a full step is right.
            let slope: f64 = g_trial.iter().zip(&step).map(|(a, b)| a * b).sum();
            if slope >= 0.0 || t * max_step < 1e-6 {
                break;
            }
            let v0 = *before.get_or_insert_with(|| obj.value(&x));
            let v1 = obj.value(&trial);
            if v1 >= v0 - 1e-12 * v0.abs() || t < 1e-8 {
                break;
            }
            t *= 0.5;
        }
        std::mem::swap(&mut x, &mut trial);
        std::mem::swap(&mut g, &mut g_trial);
        std::mem::swap(&mut h, &mut h_trial);
        let previous = last;
        last = t * max_step;
        // Converged; or at rounding's floor: quadratic convergence would have shrunk a step this
        // small to nothing, so a step that stopped shrinking is noise (this happens when a
        // strength is held only by the ridge and its information is ~1e-8).
        let full_step = t == 1.0;
        if full_step && (last < tol || (last < 1e-6 && last > 0.25 * previous)) {
            return Ok(x);
        }
    }
    Err(FitError::NotConverged {
        iterations: max_iter,
        step: last,
    })
}

/// In-place Cholesky `A = L·Lᵀ` of a symmetric positive definite row-major `n×n` matrix; the
/// lower triangle becomes `L` (the upper is left as it was). Returns the failing row otherwise.
pub(crate) fn cholesky_in_place(a: &mut [f64], n: usize) -> Result<(), usize> {
    for i in 0..n {
        for j in 0..=i {
            let (upper, lower) = a.split_at_mut(i * n);
            let row_i = &lower[..n];
            let row_j = if j == i {
                row_i
            } else {
                &upper[j * n..j * n + n]
            };
            let sum = row_i[j] - dot(&row_i[..j], &row_j[..j]);
            if j == i {
                if sum <= 0.0 || !sum.is_finite() {
                    return Err(i);
                }
                lower[i] = sum.sqrt();
            } else {
                let d = upper[j * n + j];
                lower[j] = sum / d;
            }
        }
    }
    Ok(())
}

/// Solves `L·Lᵀ x = b` in place with the factor from [`cholesky_in_place`].
pub(crate) fn cholesky_solve(l: &[f64], n: usize, b: &mut [f64]) {
    for i in 0..n {
        let row = &l[i * n..i * n + i];
        b[i] = (b[i] - dot(row, &b[..i])) / l[i * n + i];
    }
    for i in (0..n).rev() {
        let mut sum = b[i];
        for k in i + 1..n {
            sum -= l[k * n + i] * b[k];
        }
        b[i] = sum / l[i * n + i];
    }
}

/// The inverse of `A` from its Cholesky factor, as a full row-major matrix.
pub(crate) fn cholesky_inverse(l: &[f64], n: usize) -> Vec<f64> {
    let mut inv = vec![0.0; n * n];
    let mut col = vec![0.0; n];
    for c in 0..n {
        col.iter_mut().for_each(|x| *x = 0.0);
        col[c] = 1.0;
        cholesky_solve(l, n, &mut col);
        for r in 0..n {
            inv[r * n + c] = col[r];
        }
    }
    inv
}

/// A dot product with four accumulators, so the compiler can vectorise it.
#[inline]
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; 4];
    let chunks_a = a.chunks_exact(4);
    let chunks_b = b.chunks_exact(4);
    let (rest_a, rest_b) = (chunks_a.remainder(), chunks_b.remainder());
    for (x, y) in chunks_a.zip(chunks_b) {
        acc[0] += x[0] * y[0];
        acc[1] += x[1] * y[1];
        acc[2] += x[2] * y[2];
        acc[3] += x[3] * y[3];
    }
    let mut sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (x, y) in rest_a.iter().zip(rest_b) {
        sum += x * y;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_a_small_system() {
        // A = [[4, 2], [2, 3]], b = [2, 1] → x = [0.5, 0].
        let mut a = vec![4.0, 2.0, 2.0, 3.0];
        cholesky_in_place(&mut a, 2).expect("positive definite");
        let mut b = vec![2.0, 1.0];
        cholesky_solve(&a, 2, &mut b);
        assert!((b[0] - 0.5).abs() < 1e-12 && b[1].abs() < 1e-12, "{b:?}");
        let inv = cholesky_inverse(&a, 2);
        // A⁻¹ = [[3, −2], [−2, 4]] / 8.
        let want = [0.375, -0.25, -0.25, 0.5];
        for (x, y) in inv.iter().zip(want) {
            assert!((x - y).abs() < 1e-12, "{inv:?}");
        }
    }

    #[test]
    fn cholesky_rejects_indefinite() {
        let mut a = vec![1.0, 2.0, 2.0, 1.0];
        assert_eq!(cholesky_in_place(&mut a, 2), Err(1));
    }
}
