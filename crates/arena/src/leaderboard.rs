//! The leaderboard: scores, 95% intervals, ranks, vote counts, and an online-Elo column.
//!
//! Rank follows the LMSYS rule, which refuses to separate models whose intervals overlap:
//! `rank = 1 + the number of models whose lower bound is above this model's upper bound`. So
//! several models can share a rank, and ranks can skip.
//!
//! Scores are the Bradley–Terry fit ([`crate::bt`]), or the style-controlled fit
//! ([`crate::style`]) when asked; intervals come from the bootstrap or the sandwich estimator
//! ([`crate::ci`]). Only battles not marked `excluded` count; filter battles (language, blind
//! votes, ...) before calling [`compute`].

use std::collections::HashMap;
use std::fmt::Write as _;

use assay_core::table::TextTable;
use serde::{Deserialize, Serialize};

use crate::battle::Battle;
use crate::bt::{check_identifiable, fit, BtOptions, FitError, PairCounts};
use crate::ci::{bootstrap, sandwich, Interval};
use crate::elo::online_elo_iter;
use crate::models::ModelInfo;
use crate::style::{fit_style_data, style_bootstrap, style_sandwich, StyleData, DEFAULT_STYLE_L2};

/// How the 95% intervals are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CiMethod {
    /// Percentile bootstrap over resampled battles (LMSYS's choice).
    #[default]
    Bootstrap,
    /// Huber–White robust standard errors, ±1.96·SE.
    Sandwich,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaderboardOptions {
    pub bootstrap_rounds: usize,
    pub seed: u64,
    /// Worker threads for the bootstrap; 0 uses all cores.
    pub threads: usize,
    /// Rate with style control (only battles with style metadata count).
    pub style_control: bool,
    /// The style-control L2 penalty (FastChat's `reg`).
    pub style_l2: f64,
    pub bt: BtOptions,
    pub ci: CiMethod,
    /// K for the online-Elo column.
    pub elo_k: f64,
    /// Rows of models with fewer rated votes than this are marked preliminary
    /// ([`DEFAULT_PRELIMINARY_BELOW`]; 0: never).
    #[serde(default = "default_preliminary_below")]
    pub preliminary_below: u64,
}

/// Votes below which a model's row is marked preliminary. With fewer than 50 votes a model's
/// 95% interval is typically wider than ±100 points (about ±680/√votes against evenly matched
/// opponents), enough to swap it with most of its neighbours.
pub const DEFAULT_PRELIMINARY_BELOW: u64 = 50;

fn default_preliminary_below() -> u64 {
    DEFAULT_PRELIMINARY_BELOW
}

impl Default for LeaderboardOptions {
    fn default() -> LeaderboardOptions {
        LeaderboardOptions {
            bootstrap_rounds: 1000,
            seed: 0,
            threads: 0,
            style_control: false,
            style_l2: DEFAULT_STYLE_L2,
            bt: BtOptions::default(),
            ci: CiMethod::Bootstrap,
            elo_k: 4.0,
            preliminary_below: DEFAULT_PRELIMINARY_BELOW,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub rank: usize,
    pub model: String,
    pub score: f64,
    /// 95% interval bounds.
    pub lo: f64,
    pub hi: f64,
    /// Battles the model took part in (of those rated).
    pub votes: u64,
    /// Fewer votes than [`Leaderboard::preliminary_below`]: the score may still move a lot.
    #[serde(default)]
    pub preliminary: bool,
    pub organization: Option<String>,
    pub license: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leaderboard {
    /// Sorted by score, best first.
    pub rows: Vec<Row>,
    /// Battles rated.
    pub battles: u64,
    /// Battles marked `excluded` and left out.
    pub excluded: u64,
    /// With style control: the coefficients (log-odds per standard deviation of the feature).
    pub style_coefficients: Option<Vec<(String, f64)>>,
    /// Online Elo over the same battles in time order, best first.
    pub elo: Vec<(String, f64)>,
    /// Things the reader should know (e.g. models whose score rests only on the ridge).
    pub warnings: Vec<String>,
    pub ci: CiMethod,
    pub style_control: bool,
    /// The vote count under which rows are [`Row::preliminary`] (0: none are).
    #[serde(default)]
    pub preliminary_below: u64,
}

/// Rates the battles; see the module docs.
pub fn compute(battles: &[Battle], opts: &LeaderboardOptions) -> Result<Leaderboard, FitError> {
    let excluded = battles.iter().filter(|b| b.excluded).count() as u64;
    let mut warnings = Vec::new();
    let (models, scores, intervals, votes, rated, coefficients) = if opts.style_control {
        let data = StyleData::from_battles(battles);
        let without_style = battles
            .iter()
            .filter(|b| !b.excluded && b.model_a != b.model_b && b.style.is_none())
            .count();
        if without_style > 0 {
            warnings.push(format!(
                "{without_style} battles without style metadata were left out of the style-controlled fit"
            ));
        }
        let (result, params) = fit_style_data(&data, &opts.bt, opts.style_l2)?;
        let intervals = match opts.ci {
            CiMethod::Sandwich => style_sandwich(&data, &params, &opts.bt, opts.style_l2),
            CiMethod::Bootstrap => style_bootstrap(
                &data,
                &opts.bt,
                opts.style_l2,
                opts.bootstrap_rounds,
                opts.seed,
                opts.threads,
            )?,
        };
        (
            data.models.clone(),
            result.scores.scores,
            intervals,
            data.model_battles(),
            data.len() as u64,
            Some(result.coefficients),
        )
    } else {
        let counts = PairCounts::from_battles(battles);
        if opts.bt.ridge > 0.0 {
            if let Err(e) = check_identifiable(&counts) {
                warnings.push(format!("{e}; those scores rest on the ridge prior"));
            }
        }
        let scores = fit(&counts, &opts.bt)?;
        let intervals = match opts.ci {
            CiMethod::Sandwich => sandwich(&counts, &scores, &opts.bt),
            CiMethod::Bootstrap => bootstrap(
                &counts,
                &opts.bt,
                opts.bootstrap_rounds,
                opts.seed,
                opts.threads,
            )?,
        };
        (
            counts.models.clone(),
            scores.scores,
            intervals,
            counts.model_battles(),
            counts.total(),
            None,
        )
    };
    let mut rows: Vec<Row> = models
        .into_iter()
        .zip(scores)
        .zip(intervals)
        .zip(votes)
        .map(|(((model, score), ci), votes)| Row {
            rank: 0,
            model,
            score,
            lo: ci.lo,
            hi: ci.hi,
            votes,
            preliminary: votes < opts.preliminary_below,
            organization: None,
            license: None,
        })
        .collect();
    let bounds: Vec<Interval> = rows
        .iter()
        .map(|r| Interval { lo: r.lo, hi: r.hi })
        .collect();
    for (row, rank) in rows.iter_mut().zip(ranks_by_ci(&bounds)) {
        row.rank = rank;
    }
    rows.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.model.cmp(&b.model))
    });
    // Chronological online Elo; a stable sort keeps file order for equal timestamps.
    let mut timeline: Vec<&Battle> = battles.iter().filter(|b| !b.excluded).collect();
    timeline.sort_by(|a, b| a.tstamp.total_cmp(&b.tstamp));
    let elo = online_elo_iter(
        timeline,
        opts.elo_k,
        opts.bt.scale,
        opts.bt.base,
        opts.bt.init,
    )
    .ranked();
    Ok(Leaderboard {
        rows,
        battles: rated,
        excluded,
        style_coefficients: coefficients,
        elo,
        warnings,
        ci: opts.ci,
        style_control: opts.style_control,
        preliminary_below: opts.preliminary_below,
    })
}

/// `1 + #{j : lo_j > hi_i}` for each interval (NaN bounds never count as above).
pub fn ranks_by_ci(intervals: &[Interval]) -> Vec<usize> {
    intervals
        .iter()
        .map(|me| 1 + intervals.iter().filter(|other| other.lo > me.hi).count())
        .collect()
}

impl Leaderboard {
    /// The leaderboard as JSON (NaN bounds become null).
    pub fn to_json(&self) -> serde_json::Value {
        // Plain data always serializes.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// Head-to-head results in a given model order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pairwise {
    pub models: Vec<String>,
    /// `win_rate[r][c]`: share of battles between r and c that r won, ties counting half;
    /// `None` where they never met (and on the diagonal).
    pub win_rate: Vec<Vec<Option<f64>>>,
    /// Battles between r and c, either side.
    pub battles: Vec<Vec<u64>>,
}

/// Head-to-head win rates and battle counts among the models in `order` (others ignored);
/// `excluded` battles are skipped.
pub fn pairwise(battles: &[Battle], order: &[String]) -> Pairwise {
    let index: HashMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();
    let n = order.len();
    let mut points = vec![vec![0.0; n]; n];
    let mut count = vec![vec![0u64; n]; n];
    for b in battles {
        if b.excluded || b.model_a == b.model_b {
            continue;
        }
        let (Some(&i), Some(&j)) = (index.get(b.model_a.as_str()), index.get(b.model_b.as_str()))
        else {
            continue;
        };
        let s = b.winner.score_a();
        points[i][j] += s;
        points[j][i] += 1.0 - s;
        count[i][j] += 1;
        count[j][i] += 1;
    }
    let win_rate = (0..n)
        .map(|r| {
            (0..n)
                .map(|c| (count[r][c] > 0).then(|| points[r][c] / count[r][c] as f64))
                .collect()
        })
        .collect();
    Pairwise {
        models: order.to_vec(),
        win_rate,
        battles: count,
    }
}

/// A plain-text table for the terminal.
pub fn render_table(lb: &Leaderboard) -> String {
    let header = [
        "Rank",
        "Model",
        "Score",
        "95% CI",
        "Votes",
        "Organization",
        "License",
    ];
    let cells: Vec<[String; 7]> = lb
        .rows
        .iter()
        .map(|r| {
            let ci = if r.lo.is_finite() && r.hi.is_finite() {
                format!("+{:.0}/-{:.0}", r.hi - r.score, r.score - r.lo)
            } else {
                "n/a".to_string()
            };
            [
                r.rank.to_string(),
                // In words, next to the name, as LMSYS does: a marker that survives copying
                // the table into a chat or an e-mail.
                if r.preliminary {
                    format!("{} (preliminary)", r.model)
                } else {
                    r.model.clone()
                },
                format!("{:.0}", r.score),
                ci,
                r.votes.to_string(),
                r.organization.clone().unwrap_or_default(),
                r.license.clone().unwrap_or_default(),
            ]
        })
        .collect();
    // Numbers right-aligned, text left-aligned; widths in terminal columns (a CJK character
    // takes two), so Chinese model names line up.
    let mut table = TextTable::new(&header, &[true, false, true, true, true, false, false]);
    for row in cells {
        table.row(row.to_vec());
    }
    let mut out = table.render("");
    let method = match lb.ci {
        CiMethod::Bootstrap => "bootstrap",
        CiMethod::Sandwich => "sandwich",
    };
    let _ = writeln!(
        out,
        "\n{} battles rated ({} excluded); 95% CI by {method}{}",
        lb.battles,
        lb.excluded,
        if lb.style_control {
            "; style-controlled"
        } else {
            ""
        }
    );
    if lb.rows.iter().any(|r| r.preliminary) {
        let _ = writeln!(
            out,
            "preliminary: fewer than {} votes; the score may still move a lot",
            lb.preliminary_below
        );
    }
    if let Some(coefficients) = &lb.style_coefficients {
        let parts: Vec<String> = coefficients
            .iter()
            .map(|(name, b)| format!("{name} {b:+.3}"))
            .collect();
        let _ = writeln!(
            out,
            "style coefficients (log-odds per SD): {}",
            parts.join(", ")
        );
    }
    for w in &lb.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

/// Fills each row's organization and license from `infos`, matched by display name (rows not
/// listed are left as they are).
pub fn set_info(lb: &mut Leaderboard, infos: &[ModelInfo]) {
    for row in &mut lb.rows {
        if let Some(info) = infos.iter().find(|i| i.display == row.model) {
            row.organization = info.organization.clone();
            row.license = info.license.clone();
        }
    }
}
