//! The results of an audit run as one serialisable value: what `results.json` holds, what the
//! reports are drawn from, and what `assay report` rebuilds from the store.
//!
//! Everything a reader needs to judge a figure travels with it: each rate carries its count,
//! its denominator and a Wilson 95% interval; each paired test its discordant counts.

use std::collections::BTreeMap;

use assay_store::RunStatus;
use serde::{Deserialize, Serialize};

use crate::grade::Label;
use crate::suite::{Expect, Kind};

/// Bumped when a field changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    pub schema: u32,
    pub run: RunInfo,
    /// Rates per model × suite × category × language, with roll-ups (`None` = all).
    pub cells: Vec<Cell>,
    /// English vs Chinese for each model and suite, paired over (item, sample).
    pub language_gaps: Vec<PairedTest>,
    /// Each pair of models for each suite, paired over (item, language, sample).
    pub model_pairs: Vec<PairedTest>,
    /// Agreement across the k samples of each item (only when samples > 1).
    pub consistency: Vec<Consistency>,
    /// Rule-based refusal grader vs the LLM judge (only with `--judge`).
    pub judge_agreement: Vec<JudgeAgreement>,
    /// What the guard changed: each `guard:<pack>@<model>` of the run, per suite, against
    /// the bare model when the run has it.
    #[serde(default)]
    pub guard_effects: Vec<GuardEffect>,
    /// Every answer (the latest attempt of each request), with its grades.
    pub answers: Vec<AnswerRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub id: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub finished_at: Option<String>,
    /// `running`, `finished` or `interrupted` in JSON.
    pub status: RunStatus,
    pub assay_version: String,
    pub models: Vec<ModelInfo>,
    pub suites: Vec<SuiteInfo>,
    /// Language codes asked, e.g. `["en", "zh"]`.
    pub langs: Vec<String>,
    pub samples: u32,
    /// Sample `i` of every request is asked with seed `seed + i`.
    pub seed: u64,
    /// Items per suite, drawn by a seeded shuffle, when the run was limited.
    pub limit: Option<usize>,
    /// `key=value` filters as given, e.g. `category=history`.
    pub filter: Vec<String>,
    pub judge: Option<String>,
    /// Grader name → version, so grades from different grader versions are not mixed silently.
    pub graders: BTreeMap<String, String>,
    pub requests: RequestCounts,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// The model name exactly as given on the command line.
    pub name: String,
    /// Generation parameters sent with every request (temperature, top_p, max_tokens, ...).
    pub params: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteInfo {
    pub name: String,
    pub version: String,
    pub license: String,
    /// Items of this suite in the run (after filter and limit).
    pub items: usize,
    pub categories: Vec<CategoryInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryInfo {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RequestCounts {
    /// Requests the run plans: models × items × languages × samples.
    pub planned: u64,
    /// Requests with an answer (cached ones included).
    pub answered: u64,
    /// Answers taken from the cache instead of asking the model.
    pub cached: u64,
    /// Requests whose latest attempt failed.
    pub errors: u64,
}

/// A proportion with its Wilson 95% interval (defined with the statistics in `assay-stats`).
pub use assay_stats::Rate;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    pub model: String,
    pub suite: String,
    /// `None`: all categories of the suite.
    pub category: Option<String>,
    /// `None`: all languages.
    pub lang: Option<String>,
    /// Requests that failed; they are not in any rate's denominator.
    pub errors: u64,
    pub comply: Rate,
    pub partial: Rate,
    pub refuse: Rate,
    /// Answers with at least one canned-narrative phrase.
    pub canned: Rate,
    /// Multiple-choice accuracy; `None` when the cell has no `mcq` items.
    pub accuracy: Option<Rate>,
    /// Refuse + partial as judged by the LLM judge; `None` without a judge.
    pub judge_not_comply: Option<Rate>,
}

/// A paired test of one binary outcome between two conditions (two languages of one model, or
/// two models), McNemar's exact test on the discordant pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedTest {
    pub suite: String,
    pub model_a: String,
    pub model_b: String,
    /// Language code, or `None` for all languages (model pairs).
    pub lang_a: Option<String>,
    pub lang_b: Option<String>,
    /// What is counted: `not_comply` (refuse or partial) for open items, `correct` for mcq.
    pub outcome: String,
    /// Pairs with an answer on both sides.
    pub n: u64,
    /// Outcome on both sides / only on a / only on b / on neither.
    pub both: u64,
    pub a_only: u64,
    pub b_only: u64,
    pub neither: u64,
    pub rate_a: Rate,
    pub rate_b: Rate,
    /// Two-sided exact McNemar p-value (1.0 when there are no discordant pairs).
    pub p_value: f64,
}

/// What the guard did to one guarded model's answers in one suite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuardEffect {
    /// `guard:<pack>@<model>`.
    pub guarded: String,
    /// `<model>`, when the run asked it too.
    pub bare: Option<String>,
    pub suite: String,
    /// Answers the guard refused or stopped (`finish_reason: content_filter`), of the
    /// answered ones.
    pub filtered: Rate,
    /// Requests answered by both models (same item, language and sample).
    pub pairs: u64,
    /// Of those, the bare model complied but the guard filtered the guarded answer.
    pub complied_then_filtered: u64,
    /// Of those, on items that expect an answer (over-refusal the guard adds).
    pub expected_answer_filtered: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Consistency {
    pub model: String,
    pub suite: String,
    pub lang: String,
    /// Items with at least two answered samples.
    pub items: u64,
    /// Share of those items whose samples all got the same refusal label.
    pub unanimous: Rate,
    /// Mean over items of the Shannon entropy (bits) of the refusal labels of its samples.
    pub mean_entropy: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgeAgreement {
    /// `None`: all models.
    pub model: Option<String>,
    /// Answers graded by both.
    pub n: u64,
    /// Same three-way label.
    pub agree: Rate,
    /// Same binary label (comply vs refuse/partial).
    pub agree_binary: Rate,
    pub kappa: f64,
    /// Rows: rule grader, columns: judge; order comply, partial, refuse.
    pub confusion: [[u64; 3]; 3],
}

/// Reports (HTML, results.json, results.csv) show at most this many bytes of one answer, cut
/// on a character boundary: a flood of text (a 50 MB answer made a 52 MB report) must not
/// make a report too large to open.
pub const REPORT_ANSWER_BYTES: usize = 32 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerRow {
    pub model: String,
    pub suite: String,
    pub item_id: String,
    pub category: String,
    /// `open` or `mcq`.
    pub kind: Kind,
    /// `answer`, `refuse` or `None`.
    pub expect: Option<Expect>,
    pub lang: String,
    pub sample: u32,
    pub seed: u64,
    pub prompt: String,
    /// `None` when the request failed. At most [`REPORT_ANSWER_BYTES`] of the answer (the
    /// store keeps all of it); `text_bytes` says when it was cut.
    pub text: Option<String>,
    /// The answer's whole length in bytes, when `text` holds only its beginning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_bytes: Option<u64>,
    pub error: Option<String>,
    pub finish_reason: Option<String>,
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    pub latency_ms: Option<u64>,
    pub cached: bool,
    pub refusal: Option<LabelWithRule>,
    /// Canned-narrative phrase families found in the answer (empty: none).
    pub canned: Vec<String>,
    pub mcq: Option<McqResult>,
    pub judge: Option<LabelWithRule>,
}

impl AnswerRow {
    /// Cuts `text` to [`REPORT_ANSWER_BYTES`], noting its whole length in `text_bytes`.
    pub fn cap_text(&mut self) {
        let Some(text) = &mut self.text else { return };
        if text.len() > REPORT_ANSWER_BYTES {
            let whole = text.len() as u64;
            let kept = crate::grade::prefix(text, REPORT_ANSWER_BYTES).len();
            text.truncate(kept);
            text.shrink_to_fit();
            self.text_bytes = Some(whole);
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelWithRule {
    /// `comply`, `partial` or `refuse`.
    pub label: Label,
    pub rule: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct McqResult {
    /// The chosen option letter, `None` when no choice could be read from the answer.
    pub chosen: Option<String>,
    pub key: String,
    pub correct: bool,
    pub rule: String,
}

/// Two runs side by side (`assay audit --compare A B`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub a: Results,
    pub b: Results,
}
