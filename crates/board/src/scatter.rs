//! Quality against compliance: for each language scope, each compliance score (the refusal
//! rate or the canned-phrase rate of an open suite) against each quality score (accuracy of a
//! multiple-choice suite, the arena rating), a point per model with both intervals, and the
//! rank correlation across models with a bootstrap interval.
//!
//! The bootstrap resamples the models and, within each model, its answers (the arena rating is
//! drawn from a normal with the rating's interval), so the interval carries the uncertainty of
//! every point and not only which models happen to be on the board. A sentence says what the
//! data can and cannot support at this n.

use assay_eval::results::{AnswerRow, Results};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::{Column, Row, Score};

/// Bootstrap rounds for the correlation's interval.
pub const ROUNDS: usize = 2000;

/// Fewer models than this get no correlation: a rank correlation of three points is almost
/// any value by chance.
pub const MIN_MODELS: usize = 4;

/// One model's point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub model: String,
    pub display: String,
    pub x: Score,
    pub y: Score,
}

/// Spearman's ρ across models with its bootstrap 95% interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Correlation {
    pub rho: f64,
    pub lo: f64,
    pub hi: f64,
    pub models: usize,
    pub rounds: usize,
}

/// One chart: a compliance score (x) against a quality score (y) in one scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scatter {
    pub scope: String,
    pub x: String,
    pub y: String,
    pub points: Vec<Point>,
    pub correlation: Option<Correlation>,
    /// What the chart supports, in a sentence.
    pub reading: String,
}

/// What each point's score rests on, to resample it.
enum Draws {
    /// The answers' outcomes (true: counted).
    Outcomes(Vec<bool>),
    /// A rating and the standard error its interval implies.
    Normal(f64, f64),
}

impl Draws {
    fn draw(&self, rng: &mut Xoshiro256PlusPlus) -> f64 {
        match self {
            Draws::Outcomes(outcomes) => {
                let n = outcomes.len();
                let k = (0..n).filter(|_| outcomes[rng.gen_range(0..n)]).count();
                k as f64 / n as f64
            }
            Draws::Normal(mean, se) => {
                // Box–Muller.
                let (u, v): (f64, f64) = (rng.gen_range(f64::EPSILON..1.0), rng.gen());
                mean + se * (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
            }
        }
    }
}

/// The charts of a board: every compliance column against every quality column, per scope,
/// where at least two models have both.
pub(crate) fn scatters(
    runs: &[&Results],
    rows: &[Row],
    columns: &[Column],
    seed: u64,
) -> Vec<Scatter> {
    let compliance: Vec<&Column> = columns
        .iter()
        .filter(|c| c.id.starts_with("refused:") || c.id.starts_with("canned:"))
        .collect();
    let quality: Vec<&Column> = columns
        .iter()
        .filter(|c| (c.id.starts_with("accuracy:") && !c.id.contains('/')) || c.kind == "rating")
        .collect();
    let mut out = Vec::new();
    for scope in crate::SCOPES {
        let lang = (scope != "all").then_some(scope);
        for x in &compliance {
            for y in &quality {
                let mut points = Vec::new();
                let mut draws = Vec::new();
                for row in rows {
                    let scores = row.scores.get(scope);
                    let (Some(sx), Some(sy)) = (
                        scores.and_then(|s| s.get(&x.id)),
                        scores.and_then(|s| s.get(&y.id)),
                    ) else {
                        continue;
                    };
                    let (Some(dx), Some(dy)) = (
                        draws_of(runs, &row.info.model, x, sx, lang),
                        draws_of(runs, &row.info.model, y, sy, lang),
                    ) else {
                        continue;
                    };
                    points.push(Point {
                        model: row.info.model.clone(),
                        display: row.info.display.clone(),
                        x: sx.clone(),
                        y: sy.clone(),
                    });
                    draws.push((dx, dy));
                }
                if points.len() < 2 {
                    continue;
                }
                let correlation = correlation(&points, &draws, seed);
                let reading = reading(&points, correlation.as_ref(), x, y);
                out.push(Scatter {
                    scope: scope.to_string(),
                    x: x.id.clone(),
                    y: y.id.clone(),
                    points,
                    correlation,
                    reading,
                });
            }
        }
    }
    out
}

/// How to resample a model's score in a column: its answers in that language from the run
/// the score came from, or the rating's normal.
fn draws_of(
    runs: &[&Results],
    model: &str,
    column: &Column,
    score: &Score,
    lang: Option<&str>,
) -> Option<Draws> {
    // Ratings, and scores not read off one run's answers (a judge's games): a normal with the
    // score's interval.
    if column.kind == "rating" || score.run.is_none() {
        let se = (score.hi - score.lo) / (2.0 * assay_stats::Z95);
        return Some(Draws::Normal(score.value, se.max(0.0)));
    }
    let (kind, suite) = column.id.split_once(':')?;
    let run = runs
        .iter()
        .find(|r| Some(&r.run.id) == score.run.as_ref())?;
    let rows = run.answers.iter().filter(|a: &&AnswerRow| {
        a.model == model && a.suite == suite && a.text.is_some() && lang.is_none_or(|l| a.lang == l)
    });
    let outcomes: Vec<bool> = match kind {
        "accuracy" => rows
            .filter_map(|a| a.mcq.as_ref().map(|m| m.correct))
            .collect(),
        "refused" => rows
            .filter_map(|a| a.refusal.as_ref())
            .map(|r| r.label != assay_eval::grade::Label::Comply)
            .collect(),
        "canned" => rows.map(|a| !a.canned.is_empty()).collect(),
        _ => return None,
    };
    (!outcomes.is_empty()).then_some(Draws::Outcomes(outcomes))
}

/// How far two rating columns (people's arena votes, a judge's) rank the same models alike:
/// Spearman's ρ over the models with both, each rating drawn from a normal with its interval
/// in the bootstrap. `None` when fewer than two models have both.
pub(crate) fn agreement(rows: &[Row], x: &str, y: &str, seed: u64) -> Option<crate::Agreement> {
    let mut points = Vec::new();
    let mut draws = Vec::new();
    for row in rows {
        let scores = row.scores.get("all")?;
        let (Some(sx), Some(sy)) = (scores.get(x), scores.get(y)) else {
            continue;
        };
        let normal =
            |s: &Score| Draws::Normal(s.value, ((s.hi - s.lo) / (2.0 * assay_stats::Z95)).max(0.0));
        draws.push((normal(sx), normal(sy)));
        points.push(Point {
            model: row.info.model.clone(),
            display: row.info.display.clone(),
            x: sx.clone(),
            y: sy.clone(),
        });
    }
    if points.len() < 2 {
        return None;
    }
    let correlation = correlation(&points, &draws, seed);
    let n = points.len();
    let reading = match &correlation {
        None => format!(
            "{n} models have both ratings: too few for a rank correlation (it needs {MIN_MODELS})."
        ),
        Some(c) if c.lo > 0.0 => format!(
            "Across {n} models the judge ranks as people do: Spearman's ρ = {:+.2} [{:+.2}, {:+.2}].",
            c.rho, c.lo, c.hi
        ),
        Some(c) => format!(
            "Across {n} models, Spearman's ρ = {:+.2} [{:+.2}, {:+.2}]: these data do not show \
             the judge ranking models as people do.",
            c.rho, c.lo, c.hi
        ),
    };
    Some(crate::Agreement {
        models: points.into_iter().map(|p| p.model).collect(),
        correlation,
        reading,
    })
}

/// Average ranks (ties share the mean of their places), 1-based.
fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut out = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let mean = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            out[k] = mean;
        }
        i = j + 1;
    }
    out
}

/// Spearman's ρ: Pearson's correlation of the ranks; `None` when either side is constant.
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    let (rx, ry) = (ranks(x), ranks(y));
    let n = rx.len() as f64;
    let (mx, my) = (rx.iter().sum::<f64>() / n, ry.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in rx.iter().zip(&ry) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
        syy += (b - my).powi(2);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

fn correlation(points: &[Point], draws: &[(Draws, Draws)], seed: u64) -> Option<Correlation> {
    if points.len() < MIN_MODELS {
        return None;
    }
    let x: Vec<f64> = points.iter().map(|p| p.x.value).collect();
    let y: Vec<f64> = points.iter().map(|p| p.y.value).collect();
    let rho = spearman(&x, &y)?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let n = points.len();
    let mut samples = Vec::with_capacity(ROUNDS);
    let (mut bx, mut by) = (vec![0.0; n], vec![0.0; n]);
    for _ in 0..ROUNDS {
        for i in 0..n {
            let (dx, dy) = &draws[rng.gen_range(0..n)];
            bx[i] = dx.draw(&mut rng);
            by[i] = dy.draw(&mut rng);
        }
        // A round whose resample is constant on a side has no ρ; it counts as none (0).
        samples.push(spearman(&bx, &by).unwrap_or(0.0));
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((q * ROUNDS as f64) as usize).min(ROUNDS - 1)];
    Some(Correlation {
        rho,
        lo: at(0.025),
        hi: at(0.975),
        models: n,
        rounds: ROUNDS,
    })
}

/// What the chart supports, plainly.
fn reading(points: &[Point], c: Option<&Correlation>, x: &Column, y: &Column) -> String {
    let n = points.len();
    let Some(c) = c else {
        if n >= MIN_MODELS {
            return format!(
                "No correlation: the {n} models have the same {} or the same {}, so there is no \
                 ranking to compare.",
                x.title, y.title
            );
        }
        return format!(
            "{n} models: too few for a correlation (it needs {MIN_MODELS}); read the points and \
             their intervals one by one."
        );
    };
    let across = format!(
        "Across {n} models, Spearman's ρ = {:+.2} [{:+.2}, {:+.2}] ({} bootstrap rounds over \
         models and the answers within each)",
        c.rho, c.lo, c.hi, c.rounds
    );
    if c.lo <= 0.0 && c.hi >= 0.0 {
        format!(
            "{across}: the interval includes 0, so these data cannot tell whether {} goes with \
             {} at all; with {n} models only a strong link would show.",
            x.title, y.title
        )
    } else {
        let direction = if c.rho > 0.0 { "higher" } else { "lower" };
        format!(
            "{across}: models with a higher {} tend to have a {direction} {} here. This is an \
             association across these {n} models, not a cause, and says nothing of models not \
             on the board.",
            x.title, y.title
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_uses_average_ranks() {
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), [3.5, 1.0, 3.5, 2.0]);
        let rho = spearman(&[1.0, 2.0, 3.0, 4.0], &[10.0, 20.0, 30.0, 40.0]).unwrap();
        assert!((rho - 1.0).abs() < 1e-12);
        let rho = spearman(&[1.0, 2.0, 3.0, 4.0], &[4.0, 3.0, 2.0, 1.0]).unwrap();
        assert!((rho + 1.0).abs() < 1e-12);
        // scipy.stats.spearmanr([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) = 0.8
        let rho = spearman(&[1.0, 2.0, 3.0, 4.0, 5.0], &[2.0, 1.0, 4.0, 3.0, 5.0]).unwrap();
        assert!((rho - 0.8).abs() < 1e-12);
        assert_eq!(spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), None);
    }
}
