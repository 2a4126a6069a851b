//! One board over audit runs and arena votes: a row per model, a column per score, each score
//! with its n and 95% interval, for all languages and for Chinese and English apart.
//!
//! Columns come from what the runs hold, suite by suite: multiple-choice accuracy (and per
//! group of categories: CMMLU's STEM, humanities, …), the refusal rate of open suites (higher
//! is better where the items expect refusals, lower where they expect answers), the share of
//! answers with canned-narrative phrases, the EN–ZH gap in refusals (paired, McNemar), what a
//! `guard:` wrapper filtered, the arena's Bradley–Terry rating of people's votes, and the
//! rating and SuperCLUE score of a judge model's pairwise verdicts (`assay audit --pairwise`),
//! with how far the judge's ranking agrees with people's.
//!
//! A board uses, for each model and suite, the latest run that asked it (runs are not pooled:
//! two runs of the same items would count each item twice). History groups the runs by month
//! or week and gives each period's board; the moves "since the last board" are the scores
//! whose intervals in the last two periods do not overlap. From a store, only the runs that
//! are some period's latest for some model and suite are read (`from_store`): on a store of
//! many runs most are not, and the board is the same.
//!
//! Ranks follow LMArena: `1 + the number of models whose interval lies wholly above` (below,
//! for scores where lower is better), so models share a rank when intervals overlap.

use std::collections::{BTreeMap, BTreeSet};

use assay_arena::leaderboard::Leaderboard;
use assay_eval::pairwise::PairwiseScore;
use assay_eval::results::{Cell, Results};
use assay_eval::runs::RunHeader;
use assay_eval::Expect;
use assay_stats::{wilson, Rate};
use serde::{Deserialize, Serialize};

mod report;
mod scatter;
mod source;

pub use report::{content_security_policy, csv_bytes, render_html, terminal_table, write_files};
pub use scatter::{spearman, Correlation, Point, Scatter};
pub use source::{from_store, BoardError, Selection};

/// The version of `board.json`'s layout.
pub const SCHEMA_VERSION: u32 = 1;

/// The language scopes of a board: all languages, then Chinese and English apart.
pub const SCOPES: [&str; 3] = ["all", "zh", "en"];

/// How runs are grouped over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Month,
    Week,
}

impl Period {
    /// The period a run created at `created_at` (RFC 3339) falls in: `2026-12`, `2026-W49`.
    pub fn of(self, created_at: &str) -> Option<String> {
        let time = chrono::DateTime::parse_from_rfc3339(created_at).ok()?;
        let date = time.with_timezone(&chrono::Utc).date_naive();
        Some(match self {
            Period::Month => date.format("%Y-%m").to_string(),
            Period::Week => {
                let week = chrono::Datelike::iso_week(&date);
                format!("{}-W{:02}", week.year(), week.week())
            }
        })
    }
}

/// Which way a score is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    Higher,
    Lower,
    /// Descriptive only (the share of canned phrases, the EN–ZH gap): not ranked.
    Neither,
}

/// One column of the board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// `accuracy:knowledge`, `accuracy:cmmlu/stem`, `refused:should-refuse`,
    /// `canned:sensitive`, `gap:sensitive`, `guard:sensitive`, `arena`.
    pub id: String,
    pub title: String,
    /// `rate` (a share, 0–1), `difference` (of two shares, −1–1) or `rating` (Bradley–Terry
    /// points).
    pub kind: String,
    pub better: Better,
    pub description: String,
}

/// One score: the value with its 95% interval and what it rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub value: f64,
    pub lo: f64,
    pub hi: f64,
    /// Answers (rates), pairs (gaps) or votes (ratings).
    pub n: u64,
    /// The count behind a rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k: Option<u64>,
    /// McNemar's exact p for a gap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_value: Option<f64>,
    /// The run the score comes from (none for the arena).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// Rank among the models with this score (by intervals); none where no way is better.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<usize>,
}

impl Score {
    fn of_rate(rate: &Rate, run: &str) -> Score {
        Score {
            value: rate.p,
            lo: rate.lo,
            hi: rate.hi,
            n: rate.n,
            k: Some(rate.k),
            p_value: None,
            run: Some(run.to_string()),
            rank: None,
        }
    }
}

/// What is known about a model beyond its name (from the arena's models file).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub model: String,
    pub display: String,
    pub organization: Option<String>,
    pub license: Option<String>,
    /// `open weights`, `API` or `app`: from the models file, else read off the
    /// model name (`local:` and GGUF files are open weights, `guard:` an app (moderated), other
    /// names an API).
    pub access: String,
}

/// A model's scores: scope (`all`, `zh`, `en`) → column id → score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    #[serde(flatten)]
    pub info: ModelInfo,
    pub scores: BTreeMap<String, BTreeMap<String, Score>>,
}

/// A run the board read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRef {
    pub id: String,
    pub created_at: String,
    pub period: String,
    pub models: Vec<String>,
    pub suites: Vec<String>,
}

/// The board of one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodBoard {
    pub period: String,
    pub runs: Vec<String>,
    pub rows: Vec<Row>,
}

/// A score that moved between the last two periods: its intervals do not overlap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Move {
    pub model: String,
    pub scope: String,
    pub column: String,
    pub before: Score,
    pub after: Score,
}

/// The board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Board {
    pub schema: u32,
    pub generated_at: String,
    pub period: Period,
    pub columns: Vec<Column>,
    /// The board over every run read: each model's latest run of each suite.
    pub rows: Vec<Row>,
    pub runs: Vec<RunRef>,
    /// One board per period, oldest first.
    pub history: Vec<PeriodBoard>,
    /// Since the last board (the period before the latest): models new in the latest period,
    /// and scores whose intervals no longer overlap.
    pub new_models: Vec<String>,
    pub moves: Vec<Move>,
    /// Quality against compliance: every compliance column against every quality column, per
    /// scope, with the rank correlation across models.
    pub scatters: Vec<Scatter>,
    /// The seed of the correlations' bootstrap.
    pub seed: u64,
    /// How far the judge's ratings rank models as people's votes do (models with both).
    pub judge_agreement: Option<Agreement>,
    /// Arena battles rated (people's votes), when there are any.
    pub arena_battles: Option<u64>,
    /// Judge games rated (a judge's pairwise votes), when there are any.
    pub judged_battles: Option<u64>,
    /// Things a reader should know (a score resting on few answers, a column missing for
    /// some models, arena warnings).
    pub notes: Vec<String>,
}

/// Arena ratings per scope (`all`, `zh`, `en`), as [`assay_arena::leaderboard::compute`] gives
/// them for the votes of that language.
pub type ArenaRatings = BTreeMap<String, Leaderboard>;

/// Spearman's ρ between two rankings of the same models, with what it supports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    pub models: Vec<String>,
    pub correlation: Option<Correlation>,
    pub reading: String,
}

/// What a board is built from.
#[derive(Default)]
pub struct Inputs<'a> {
    /// Audit runs, in any order.
    pub runs: &'a [Results],
    /// Runs on the board whose answers were not read, because in their period later runs
    /// replace every score they have: listed with the board's runs and
    /// history, nothing more.
    pub replaced: &'a [RunHeader],
    /// Ratings of people's arena votes, per scope.
    pub human: ArenaRatings,
    /// Ratings of a judge's pairwise votes (`assay audit --pairwise`), per scope.
    pub judged: ArenaRatings,
    /// Each model's games against the pairwise baseline, per scope.
    pub pairwise: BTreeMap<String, Vec<PairwiseScore>>,
    /// What the models file says about models (matched by model name or display name).
    pub infos: &'a [ModelInfo],
}

/// Builds the board.
pub fn build(inputs: &Inputs, period: Period, generated_at: &str) -> Board {
    let mut runs: Vec<&Results> = inputs.runs.iter().collect();
    runs.sort_by(|a, b| a.run.created_at.cmp(&b.run.created_at));
    let expectations = expectations(&runs);
    let columns = columns(&runs, &expectations, inputs);
    let rows = board_rows(&runs, &columns, inputs);
    let run_ref = |id: &str, created_at: &str, models: Vec<String>, suites: Vec<String>| RunRef {
        id: id.to_string(),
        created_at: created_at.to_string(),
        period: period.of(created_at).unwrap_or_default(),
        models,
        suites,
    };
    let mut run_refs: Vec<RunRef> = runs
        .iter()
        .map(|r| {
            let models = r.run.models.iter().map(|m| m.name.clone()).collect();
            let suites = r.run.suites.iter().map(|s| s.name.clone()).collect();
            run_ref(&r.run.id, &r.run.created_at, models, suites)
        })
        .collect();
    run_refs.extend(
        inputs
            .replaced
            .iter()
            .map(|r| run_ref(&r.id, &r.created_at, r.models.clone(), r.suites.clone())),
    );
    run_refs.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
    let periods: BTreeSet<&str> = run_refs.iter().map(|r| r.period.as_str()).collect();
    // Votes are not split by period here: ratings are the board's, not history's.
    let history: Vec<PeriodBoard> = periods
        .iter()
        .map(|&p| {
            let in_period: Vec<&Results> = runs
                .iter()
                .filter(|r| period.of(&r.run.created_at).unwrap_or_default() == p)
                .copied()
                .collect();
            let audits_only = Inputs {
                infos: inputs.infos,
                ..Inputs::default()
            };
            PeriodBoard {
                period: p.to_string(),
                runs: run_refs
                    .iter()
                    .filter(|r| r.period == p)
                    .map(|r| r.id.clone())
                    .collect(),
                rows: board_rows(&in_period, &columns, &audits_only),
            }
        })
        .collect();
    let (new_models, moves) = match history.as_slice() {
        [.., before, after] => since_last(before, after),
        _ => (Vec::new(), Vec::new()),
    };
    let seed = 0;
    let scatters = scatter::scatters(&runs, &rows, &columns, seed);
    let judge_agreement = scatter::agreement(&rows, "arena", "judged", seed);
    let mut notes = notes(&rows, &columns);
    for (name, ratings) in [("arena", &inputs.human), ("judged", &inputs.judged)] {
        if let Some(all) = ratings.get("all") {
            notes.extend(all.warnings.iter().map(|w| format!("{name}: {w}")));
        }
    }
    Board {
        schema: SCHEMA_VERSION,
        generated_at: generated_at.to_string(),
        period,
        columns,
        rows,
        runs: run_refs,
        history,
        new_models,
        moves,
        scatters,
        seed,
        judge_agreement,
        arena_battles: inputs.human.get("all").map(|lb| lb.battles),
        judged_battles: inputs.judged.get("all").map(|lb| lb.battles),
        notes,
    }
}

/// For each suite, whether most of its open items expect a refusal.
fn expectations(runs: &[&Results]) -> BTreeMap<String, bool> {
    let mut counts: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for results in runs {
        for answer in &results.answers {
            let entry = counts.entry(answer.suite.clone()).or_default();
            match answer.expect {
                Some(Expect::Refuse) => entry.0 += 1,
                Some(Expect::Answer) => entry.1 += 1,
                None => {}
            }
        }
    }
    counts
        .into_iter()
        .map(|(suite, (refuse, answer))| (suite, refuse > answer))
        .collect()
}

fn column(id: String, title: String, kind: &str, better: Better, description: String) -> Column {
    Column {
        id,
        title,
        kind: kind.to_string(),
        better,
        description,
    }
}

/// The columns the runs can fill, suite by suite in the order first seen, then the arena.
fn columns(
    runs: &[&Results],
    expect_refusal: &BTreeMap<String, bool>,
    inputs: &Inputs,
) -> Vec<Column> {
    let mut out: Vec<Column> = Vec::new();
    let mut push = |c: Column| {
        if !out.iter().any(|o| o.id == c.id) {
            out.push(c);
        }
    };
    for results in runs {
        for suite in &results.run.suites {
            let name = &suite.name;
            let cells: Vec<&Cell> = results
                .cells
                .iter()
                .filter(|c| &c.suite == name && c.category.is_none() && c.lang.is_none())
                .collect();
            if cells.iter().any(|c| c.accuracy.is_some()) {
                push(column(
                    format!("accuracy:{name}"),
                    format!("{name} accuracy"),
                    "rate",
                    Better::Higher,
                    format!("Multiple-choice answers of {name} whose option is the key."),
                ));
                let mut groups: Vec<&str> = results
                    .group_cells
                    .iter()
                    .filter(|c| &c.suite == name && c.accuracy.is_some())
                    .filter_map(|c| c.category.as_deref())
                    .collect();
                groups.dedup();
                for group in groups {
                    push(column(
                        format!("accuracy:{name}/{group}"),
                        format!("{name} {group}"),
                        "rate",
                        Better::Higher,
                        format!("Accuracy on the {group} categories of {name}, answers pooled."),
                    ));
                }
            }
            if cells.iter().any(|c| c.refuse.n > 0 && c.accuracy.is_none()) {
                let refuse = expect_refusal.get(name).copied().unwrap_or(false);
                let (better, why) = if refuse {
                    (Better::Higher, "its items expect refusals")
                } else {
                    (Better::Lower, "its items expect answers")
                };
                push(column(
                    format!("refused:{name}"),
                    format!("{name} refused"),
                    "rate",
                    better,
                    format!("Answers to {name} graded refuse or partial ({why})."),
                ));
                if cells.iter().any(|c| c.canned.k > 0) {
                    push(column(
                        format!("canned:{name}"),
                        format!("{name} canned"),
                        "rate",
                        Better::Neither,
                        format!("Answers to {name} with canned-narrative phrases."),
                    ));
                }
            }
            if results
                .language_gaps
                .iter()
                .any(|g| &g.suite == name && g.outcome != "correct")
            {
                push(column(
                    format!("gap:{name}"),
                    format!("{name} ZH−EN"),
                    "difference",
                    Better::Neither,
                    format!(
                        "Refused in Chinese minus refused in English on the same items of {name} \
                         (Newcombe's interval; McNemar's exact p on the pairs)."
                    ),
                ));
            }
            if results.guard_effects.iter().any(|g| &g.suite == name) {
                push(column(
                    format!("guard:{name}"),
                    format!("{name} guard filtered"),
                    "rate",
                    Better::Neither,
                    format!("Answers to {name} that a guard: wrapper refused or stopped."),
                ));
            }
        }
    }
    if inputs
        .human
        .get("all")
        .is_some_and(|lb| !lb.rows.is_empty())
    {
        push(column(
            "arena".into(),
            "arena rating".into(),
            "rating",
            Better::Higher,
            "Bradley–Terry rating of people's arena votes (Elo scale, bootstrap 95% interval)."
                .into(),
        ));
    }
    if inputs
        .judged
        .get("all")
        .is_some_and(|lb| !lb.rows.is_empty())
    {
        push(column(
            "judged".into(),
            "judged rating".into(),
            "rating",
            Better::Higher,
            "Bradley–Terry rating of a judge model's verdicts on open answers against a \
             baseline's, both orders (Elo scale, bootstrap 95% interval)."
                .into(),
        ));
    }
    let baselines: BTreeSet<String> = inputs
        .pairwise
        .values()
        .flatten()
        .map(|s| info_of(&s.baseline, inputs.infos).display)
        .collect();
    for baseline in baselines {
        push(column(
            format!("judged-score:{baseline}"),
            format!("win+tie vs {baseline}"),
            "rate",
            Better::Higher,
            format!(
                "SuperCLUE's score against {baseline}: (wins + ties) / games as the judge saw \
                 them, each pair judged in both orders."
            ),
        ));
    }
    out
}

/// The board's rows over `runs` (oldest first): each model's latest run of each suite.
fn board_rows(runs: &[&Results], columns: &[Column], inputs: &Inputs) -> Vec<Row> {
    // A model is one row under its display name, whichever of its names a run or a vote used
    // (`local:m` in an audit, `m` in the arena).
    let key_of = |name: &str| info_of(name, inputs.infos).display;
    // (row, suite) → the latest run that has answers for it, and the model's name there.
    let mut latest: BTreeMap<(String, String), (&Results, String)> = BTreeMap::new();
    // Each row with the name its audits used (the first seen), if any.
    let mut models: Vec<(String, Option<String>)> = Vec::new();
    for results in runs {
        for cell in results
            .cells
            .iter()
            .filter(|c| c.category.is_none() && c.lang.is_none())
        {
            let key = key_of(&cell.model);
            latest.insert(
                (key.clone(), cell.suite.clone()),
                (results, cell.model.clone()),
            );
            if !models.iter().any(|(k, _)| *k == key) {
                models.push((key, Some(cell.model.clone())));
            }
        }
    }
    let rated = inputs.human.values().chain(inputs.judged.values());
    for model in rated.flat_map(|lb| lb.rows.iter().map(|r| &r.model)) {
        let key = key_of(model);
        if !models.iter().any(|(k, _)| *k == key) {
            models.push((key, None));
        }
    }
    let mut rows: Vec<Row> = models
        .iter()
        .map(|(key, audited)| {
            let mut scores: BTreeMap<String, BTreeMap<String, Score>> = BTreeMap::new();
            for scope in SCOPES {
                let lang = (scope != "all").then_some(scope);
                let mut by_column = BTreeMap::new();
                for ((k, suite), (results, name)) in &latest {
                    if k == key {
                        let run = results.run.id.as_str();
                        suite_scores(results, name, suite, lang, run, &mut by_column);
                    }
                }
                for (column, ratings) in [("arena", &inputs.human), ("judged", &inputs.judged)] {
                    let lb = ratings.get(scope);
                    let row = lb.and_then(|lb| lb.rows.iter().find(|r| key_of(&r.model) == *key));
                    if let (Some(lb), Some(row)) = (lb, row) {
                        if let Some(score) = arena_score(lb, &row.model) {
                            by_column.insert(column.to_string(), score);
                        }
                    }
                }
                for s in inputs.pairwise.get(scope).into_iter().flatten() {
                    if key_of(&s.model) == *key {
                        let mut score = Score::of_rate(&s.score, "");
                        score.run = None;
                        by_column.insert(format!("judged-score:{}", key_of(&s.baseline)), score);
                    }
                }
                by_column.retain(|id, _| columns.iter().any(|c| &c.id == id));
                scores.insert(scope.to_string(), by_column);
            }
            // The name the audits used, so that a score's answers can be found again.
            let mut info = info_of(audited.as_deref().unwrap_or(key), inputs.infos);
            info.display = key.clone();
            Row { info, scores }
        })
        .collect();
    rank(&mut rows, columns);
    rows
}

/// The scores of one model on one suite of one run, in one language (`None`: all).
fn suite_scores(
    results: &Results,
    model: &str,
    suite: &str,
    lang: Option<&str>,
    run: &str,
    out: &mut BTreeMap<String, Score>,
) {
    let cell = results.cells.iter().find(|c| {
        c.model == model && c.suite == suite && c.category.is_none() && c.lang.as_deref() == lang
    });
    let Some(cell) = cell else {
        return;
    };
    if let Some(accuracy) = &cell.accuracy {
        out.insert(format!("accuracy:{suite}"), Score::of_rate(accuracy, run));
        for group in results
            .group_cells
            .iter()
            .filter(|c| c.model == model && c.suite == suite && c.lang.as_deref() == lang)
        {
            if let (Some(name), Some(accuracy)) = (&group.category, &group.accuracy) {
                out.insert(
                    format!("accuracy:{suite}/{name}"),
                    Score::of_rate(accuracy, run),
                );
            }
        }
        return;
    }
    if cell.refuse.n > 0 {
        let refused = wilson(cell.refuse.k + cell.partial.k, cell.refuse.n);
        out.insert(format!("refused:{suite}"), Score::of_rate(&refused, run));
        out.insert(format!("canned:{suite}"), Score::of_rate(&cell.canned, run));
    }
    if lang.is_none() {
        let gap = results
            .language_gaps
            .iter()
            .find(|g| g.model_a == model && g.suite == suite && g.outcome != "correct");
        if let Some(gap) = gap.filter(|g| g.n > 0) {
            out.insert(format!("gap:{suite}"), gap_score(gap, run));
        }
        if let Some(effect) = results
            .guard_effects
            .iter()
            .find(|g| g.guarded == model && g.suite == suite)
        {
            out.insert(
                format!("guard:{suite}"),
                Score::of_rate(&effect.filtered, run),
            );
        }
    }
}

/// Language B's rate minus language A's on the same pairs, with Newcombe's interval for the
/// difference (it treats the two rates as independent, so it is wider than a paired interval;
/// McNemar's exact p is the paired test).
fn gap_score(gap: &assay_eval::results::PairedTest, run: &str) -> Score {
    let (difference, lo, hi) = assay_stats::newcombe_diff(&gap.rate_a, &gap.rate_b);
    Score {
        value: difference,
        lo,
        hi,
        n: gap.n,
        k: None,
        p_value: gap.p_value,
        run: Some(run.to_string()),
        rank: None,
    }
}

fn arena_score(lb: &Leaderboard, model: &str) -> Option<Score> {
    let row = lb.rows.iter().find(|r| r.model == model)?;
    Some(Score {
        value: row.score,
        lo: row.lo,
        hi: row.hi,
        n: row.votes,
        k: None,
        p_value: None,
        run: None,
        rank: None,
    })
}

/// Ranks each ranked column in each scope by intervals.
fn rank(rows: &mut [Row], columns: &[Column]) {
    for column in columns {
        let sign = match column.better {
            Better::Higher => 1.0,
            Better::Lower => -1.0,
            Better::Neither => continue,
        };
        for scope in SCOPES {
            let intervals: Vec<(usize, f64, f64)> = rows
                .iter()
                .enumerate()
                .filter_map(|(i, row)| {
                    let s = row.scores.get(scope)?.get(&column.id)?;
                    // Lower is better: rank the negated intervals.
                    let (lo, hi) = if sign > 0.0 {
                        (s.lo, s.hi)
                    } else {
                        (-s.hi, -s.lo)
                    };
                    Some((i, lo, hi))
                })
                .collect();
            for &(i, _, hi) in &intervals {
                let above = intervals.iter().filter(|(_, lo, _)| *lo > hi).count();
                if let Some(score) = rows[i]
                    .scores
                    .get_mut(scope)
                    .and_then(|s| s.get_mut(&column.id))
                {
                    score.rank = Some(1 + above);
                }
            }
        }
    }
}

/// What `infos` say about `model`, or what its name says.
fn info_of(model: &str, infos: &[ModelInfo]) -> ModelInfo {
    if let Some(info) = infos
        .iter()
        .find(|i| i.model == model || i.display == model)
    {
        return ModelInfo {
            model: model.to_string(),
            ..info.clone()
        };
    }
    ModelInfo {
        model: model.to_string(),
        display: model.to_string(),
        organization: None,
        license: None,
        access: access_of(model).to_string(),
    }
}

/// How a model is reached, read off its name: `local:` models and GGUF files are open
/// weights, `guard:` wrappers an app (moderated), anything else an API.
pub fn access_of(model: &str) -> &'static str {
    if model.starts_with("guard:") {
        "app"
    } else if model.starts_with("local:") || model.ends_with(".gguf") {
        "open weights"
    } else {
        "API"
    }
}

/// Models new in `after`, and scores whose intervals in `before` and `after` do not overlap.
fn since_last(before: &PeriodBoard, after: &PeriodBoard) -> (Vec<String>, Vec<Move>) {
    let mut new_models = Vec::new();
    let mut moves = Vec::new();
    for row in &after.rows {
        let Some(old) = before.rows.iter().find(|r| r.info.model == row.info.model) else {
            new_models.push(row.info.model.clone());
            continue;
        };
        for (scope, scores) in &row.scores {
            for (column, now) in scores {
                let Some(then) = old.scores.get(scope).and_then(|s| s.get(column)) else {
                    continue;
                };
                if now.lo > then.hi || now.hi < then.lo {
                    moves.push(Move {
                        model: row.info.model.clone(),
                        scope: scope.clone(),
                        column: column.clone(),
                        before: then.clone(),
                        after: now.clone(),
                    });
                }
            }
        }
    }
    (new_models, moves)
}

/// Scores that rest on fewer than 30 answers, and columns some models lack.
fn notes(rows: &[Row], columns: &[Column]) -> Vec<String> {
    let mut notes = Vec::new();
    for column in columns {
        let lacking: Vec<&str> = rows
            .iter()
            .filter(|r| {
                !r.scores
                    .get("all")
                    .is_some_and(|s| s.contains_key(&column.id))
            })
            .map(|r| r.info.display.as_str())
            .collect();
        if !lacking.is_empty() && lacking.len() < rows.len() {
            notes.push(format!(
                "{}: no score for {}",
                column.title,
                lacking.join(", ")
            ));
        }
    }
    for row in rows {
        let few: Vec<&str> = columns
            .iter()
            .filter(|c| c.kind != "rating")
            .filter(|c| {
                row.scores
                    .get("all")
                    .and_then(|s| s.get(&c.id))
                    .is_some_and(|s| s.n < 30)
            })
            .map(|c| c.title.as_str())
            .collect();
        if !few.is_empty() {
            notes.push(format!(
                "{}: fewer than 30 answers behind {} (wide intervals; ranks rarely separate)",
                row.info.display,
                few.join(", ")
            ));
        }
    }
    notes
}
