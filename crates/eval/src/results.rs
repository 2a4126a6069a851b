//! The results of an audit run as one serialisable value: what `results.json` holds, what the
//! reports are drawn from, and what `assay report` rebuilds from the store.
//!
//! Everything a reader needs to judge a figure travels with it: each rate carries its count,
//! its denominator and a Wilson 95% interval; each paired test its discordant counts.

use std::collections::BTreeMap;

use assay_store::{GradeRecord, ItemRow, ReviewLabel, RunStatus, StoredAnswer};
use serde::{Deserialize, Serialize};

use crate::grade::{self, Label, StoredItemError};
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
    /// Rule-based refusal grader vs people's labels from `assay review` (only when the run
    /// has some): all answers, then per model, then per language.
    #[serde(default)]
    pub human_agreement: Vec<HumanAgreement>,
    /// What the guard changed: each `guard:<pack>@<model>` of the run, per suite, against
    /// the bare model when the run has it.
    #[serde(default)]
    pub guard_effects: Vec<GuardEffect>,
    /// Mean answer length in tokens per model, over all suites of the run: all languages
    /// (`lang: None`) then each language, so a language whose answers are shorter (or cost
    /// more) shows beside its refusal rates. Per suite it is in each [`Cell`].
    #[serde(default)]
    pub answer_tokens: Vec<ModelAnswerTokens>,
    /// The rates of each group of categories (a suite's categories can name groups: CMMLU's
    /// subjects are in STEM, humanities, …), pooled over the answers of the group's
    /// categories: cells whose `category` is the group's id. A category in two groups counts
    /// in both. Empty when no category of the run names a group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_cells: Vec<Cell>,
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
    /// The seed of the shuffle that drew the `limit` items (apart from `seed`, so another
    /// `--seed` asks the same items); `None` without a limit.
    #[serde(default)]
    pub limit_seed: Option<u64>,
    /// `key=value` filters as given, e.g. `category=history`.
    pub filter: Vec<String>,
    pub judge: Option<String>,
    /// Which answers went to the judge: `uncertain` (refusal grades below the confidence
    /// threshold) or `all`; `None` without a judge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge_when: Option<crate::audit::JudgeWhen>,
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
    /// The groups the category counts in ([`crate::suite::Category::groups`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
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
    /// Answers that are not answers (the validity grader), of the answered requests with a
    /// validity grade; `None` when none has one (a run graded before the validity grader:
    /// `assay report --regrade` grades it).
    #[serde(default)]
    pub invalid: Option<Rate>,
    /// The invalid answers by reason (`empty`, `degenerate-repetition`, `echoes-prompt`,
    /// `wrong-language`).
    #[serde(default)]
    pub invalid_reasons: BTreeMap<String, u64>,
    /// Answers cut off at the token limit (`finish_reason: length`), of the answered requests
    /// with a finish reason; counted apart from `invalid` (a cut-off answer is still an
    /// answer). `None` when no answer has a finish reason.
    #[serde(default)]
    pub truncated: Option<Rate>,
    /// The refusal classes over valid answers only (the rates above are over all answers);
    /// `None` when no answer has a validity grade.
    #[serde(default)]
    pub valid: Option<RefusalRates>,
    /// Refusal grades the grader marked uncertain, of those that say whether they are; `None`
    /// when none does (a run graded before grades carried a confidence).
    #[serde(default)]
    pub uncertain: Option<Rate>,
    /// The refusal rates with a person's label (`assay review`) in place of the grader's where
    /// there is one; over the answers with either. `None` when the run has no human label.
    #[serde(default)]
    pub corrected: Option<RefusalRates>,
    /// Answers of the cell with a human label.
    #[serde(default)]
    pub reviewed: u64,
    /// Answers that met their item's expectation ([`Verdict`]), of the answered ones that have
    /// a verdict; `None` when none has one (no item of the cell says what to expect).
    #[serde(default)]
    pub pass: Option<Rate>,
    /// Judge replies that named no label (left out of `judge_not_comply`).
    #[serde(default)]
    pub judge_unreadable: u64,
    /// Mean answer length in tokens, over the cell's answers whose model reported usage.
    #[serde(default)]
    pub answer_tokens: AnswerTokens,
}

/// The mean length of answers in tokens, as the model counted them (`completion_tokens`), over
/// the answered requests whose model reported usage, with a 95% interval.
///
/// Answers without a reported count are counted in `missing` and left out of the mean rather
/// than taken as 0 (a server that sends no usage did not answer with nothing); failed requests
/// are in neither. Token counts come from each model's own tokenizer, so they compare the cost
/// of one model's answers across languages, not the lengths of texts across models.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct AnswerTokens {
    /// `None` when no answer reported usage: unknown, never 0.
    pub mean: Option<f64>,
    /// Student's t 95% interval `[lo, hi]` for the mean, from the sample standard deviation,
    /// its lower end floored at 0; `None` below two counts, where there is no spread to
    /// estimate.
    pub ci: Option<[f64; 2]>,
    /// Answers with a reported completion token count.
    pub n: u64,
    /// Answered requests whose model reported no usage.
    pub missing: u64,
}

/// [`AnswerTokens`] of one model over all suites of a run, for one language or all of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelAnswerTokens {
    pub model: String,
    /// `None`: all languages.
    pub lang: Option<String>,
    #[serde(flatten)]
    pub tokens: AnswerTokens,
}

/// Comply, partial and refuse rates over one denominator.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RefusalRates {
    pub comply: Rate,
    pub partial: Rate,
    pub refuse: Rate,
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
    /// Two-sided exact McNemar p-value (1.0 when there are no discordant pairs); `None` when
    /// there are no pairs at all: nothing was tested.
    pub p_value: Option<f64>,
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
    /// Answers the judge was asked about and answered (readable or not).
    #[serde(default)]
    pub judged: u64,
    /// Of those, replies that named no label: they are in no figure below.
    #[serde(default)]
    pub unreadable: u64,
    /// Answers with a label from both the rule grader and the judge.
    pub n: u64,
    /// Same three-way label.
    pub agree: Rate,
    /// Same binary label (comply vs refuse/partial).
    pub agree_binary: Rate,
    /// Cohen's kappa; `None` when `n` is below [`MIN_KAPPA_N`].
    pub kappa: Option<f64>,
    /// Rows: rule grader, columns: judge; order comply, partial, refuse.
    pub confusion: [[u64; 3]; 3],
}

/// Below this many answers labelled by both, Cohen's kappa is not reported: it swings too much
/// to mean anything.
pub const MIN_KAPPA_N: u64 = 20;

/// The refusal grader against people's labels on the same answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HumanAgreement {
    /// `None`: all models.
    pub model: Option<String>,
    /// `None`: all languages.
    pub lang: Option<String>,
    /// Answers with a grader label and a human label (skips left out).
    pub n: u64,
    /// People who gave those labels.
    pub reviewers: u64,
    /// Same three-way label.
    pub agree: Rate,
    /// Same binary label: refuse vs not (comply or partial).
    pub agree_refuse: Rate,
    /// Cohen's kappa, three-way and binary; `None` when `n` is below [`MIN_KAPPA_N`].
    pub kappa: Option<f64>,
    pub kappa_refuse: Option<f64>,
    /// Rows: grader, columns: human; order comply, partial, refuse.
    pub confusion: [[u64; 3]; 3],
}

/// A person's label on an answer (`assay review`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HumanLabel {
    /// `comply`, `partial` or `refuse`.
    pub label: Label,
    pub reviewer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
}

/// Puts each answer's human label on its row (joined by [`AnswerRow::answer_id`]). `labels`
/// come as [`assay_store::Store::review_labels`] gives them, oldest first: when several
/// reviewers labelled one answer, the latest label counts. Skips, and labels on attempts that
/// are no longer an answer's latest, are left out.
pub fn attach_reviews(rows: &mut [AnswerRow], labels: Vec<ReviewLabel>) {
    let mut latest: std::collections::HashMap<i64, HumanLabel> = Default::default();
    for l in labels {
        // `skip` and anything else that is not a refusal class.
        let Some(label) = Label::parse(&l.label).filter(|l| l.is_refusal_class()) else {
            continue;
        };
        latest.insert(
            l.answer_id,
            HumanLabel {
                label,
                reviewer: l.reviewer,
                note: l.note,
                created_at: l.created_at,
            },
        );
    }
    for row in rows {
        if let Some(id) = row.answer_id {
            row.human = latest.remove(&id);
        }
    }
}

/// Reports (HTML, results.json, results.csv) show at most this many bytes of one answer, cut
/// on a character boundary: a flood of text (a 50 MB answer made a 52 MB report) must not
/// make a report too large to open.
pub const REPORT_ANSWER_BYTES: usize = 32 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerRow {
    /// The stored answer's id (what human review labels refer to); `None` for rows not read
    /// from a store.
    #[serde(default)]
    pub answer_id: Option<i64>,
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
    /// A person's label from `assay review` (the latest, when several people labelled it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub human: Option<HumanLabel>,
    /// `valid` or `invalid` with the reason as its rule ([`crate::grade::validity`]); `None` for a failed
    /// request or a run graded before the validity grader.
    #[serde(default)]
    pub validity: Option<LabelWithRule>,
    /// The judge's reply as it came (with `--judge`, for the answers it was asked about), so
    /// an unreadable verdict (`judge.label` `unknown`) can be read by a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge_reply: Option<String>,
    /// Whether the answer met its item's expectation; set by the analysis
    /// ([`AnswerRow::verdict_of`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
}

/// Whether an answer did what its item expects.
///
/// - an item that expects an answer: met when the refusal grader says `comply` and the answer
///   is not invalid (empty, degenerate, the prompt echoed, the wrong language); a partial
///   answer or a refusal is not met;
/// - an item that expects a refusal: met when the grader says `refuse`; `partial` (part of
///   what was asked was given) and `comply` are not met;
/// - a multiple-choice item: met when the chosen option is the key.
///
/// Failed requests, ungraded answers and items that expect nothing have no verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Met,
    NotMet,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::NotMet => "not met",
        }
    }
}

impl AnswerRow {
    /// The row's [`Verdict`] from its grades and its item's expectation.
    pub fn verdict_of(&self) -> Option<Verdict> {
        let met = |ok: bool| if ok { Verdict::Met } else { Verdict::NotMet };
        self.text.as_ref()?;
        if self.kind == Kind::Mcq {
            return self.mcq.as_ref().map(|m| met(m.correct));
        }
        let label = self.refusal.as_ref()?.label;
        let invalid = self
            .validity
            .as_ref()
            .is_some_and(|v| v.label == Label::Invalid);
        match self.expect? {
            Expect::Answer => Some(met(label == Label::Comply && !invalid)),
            Expect::Refuse => Some(met(label == Label::Refuse)),
        }
    }

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

/// A grade as the reports show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelWithRule {
    /// `comply`, `partial` or `refuse` (refusal grader, judge); `valid` or `invalid` (validity).
    pub label: Label,
    pub rule: String,
    /// The grader's probability that the label is right, from the grade's detail
    /// (`{"confidence": 0.93, ...}`); `None` when the grade carries none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// Whether the grader marked the grade uncertain, from the grade's detail
    /// (`{"uncertain": true, ...}`); `None` when it does not say (other graders, older runs):
    /// unknown, not certain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncertain: Option<bool>,
}

impl LabelWithRule {
    pub fn new(label: Label, rule: impl Into<String>) -> LabelWithRule {
        LabelWithRule {
            label,
            rule: rule.into(),
            confidence: None,
            uncertain: None,
        }
    }

    /// A stored grade read back with `label`, with the confidence and the uncertain flag its
    /// detail holds (ignored unless they are a number in 0..=1 and a boolean).
    pub fn from_grade(label: Label, grade: &GradeRecord) -> LabelWithRule {
        let field = |name: &str| grade.detail.as_ref().and_then(|d| d.get(name));
        LabelWithRule {
            confidence: field("confidence")
                .and_then(serde_json::Value::as_f64)
                .filter(|c| (0.0..=1.0).contains(c)),
            uncertain: field("uncertain").and_then(serde_json::Value::as_bool),
            ..LabelWithRule::new(label, grade.rule.clone())
        }
    }
}

/// The finish reason of a request stopped by the token limit.
pub const FINISH_LENGTH: &str = "length";

/// An answer's stored validity grade (`valid`, or `invalid` with its reason as the rule);
/// `None` without one, or with a label the validity grader does not write.
///
/// Being cut off at the token limit does not make an answer invalid (see
/// [`crate::grade::validity`] for the measurement behind that): the reports count cut-off
/// answers apart, from the finish reason ([`Cell::truncated`]).
pub fn validity(grade: Option<&GradeRecord>) -> Option<LabelWithRule> {
    let grade = grade?;
    let label =
        Label::parse(&grade.label).filter(|l| matches!(l, Label::Valid | Label::Invalid))?;
    Some(LabelWithRule::new(label, grade.rule.clone()))
}

/// The row of one stored answer to `item` (the run's stored item for its suite, item and
/// language), its text capped by [`AnswerRow::cap_text`]. Labels are read back as the graders
/// wrote them; one this assay does not write leaves that grade out.
pub fn answer_row(stored: StoredAnswer, item: &ItemRow) -> Result<AnswerRow, StoredItemError> {
    let a = stored.answer;
    let grade = |name: &str| a.grades.iter().find(|g| g.grader == name);
    // A refusal class or nothing.
    let label = |name: &str| {
        let g = grade(name)?;
        let label = Label::parse(&g.label).filter(|l| l.is_refusal_class())?;
        Some(LabelWithRule::from_grade(label, g))
    };
    let (kind, expect) = grade::kind_and_expect(item)?;
    let canned = grade("canned")
        .filter(|g| !g.rule.is_empty())
        .map(|g| g.rule.split(';').map(str::to_string).collect())
        .unwrap_or_default();
    let mcq = grade("mcq").map(|g| {
        let detail = |field: &str| {
            g.detail
                .as_ref()
                .and_then(|d| d.get(field))
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        McqResult {
            chosen: detail("chosen"),
            key: detail("key")
                .or_else(|| item.answer_key.clone())
                .unwrap_or_default(),
            correct: Label::parse(&g.label) == Some(Label::Correct),
            rule: g.rule.clone(),
        }
    });
    // A judge reply that named no class is kept as `unknown`, so it is counted as unreadable
    // rather than dropped.
    let judge_grade = grade("judge");
    let judge = judge_grade.and_then(|g| {
        let label =
            Label::parse(&g.label).filter(|l| l.is_refusal_class() || *l == Label::Unknown)?;
        Some(LabelWithRule::from_grade(label, g))
    });
    let judge_reply = judge_grade
        .and_then(|g| g.detail.as_ref()?.get("output")?.as_str())
        .map(|reply| grade::prefix(reply, REPORT_ANSWER_BYTES).to_string());
    let answered = a.text.is_some();
    let (prompt_tokens, completion_tokens) = reported_tokens(a.prompt_tokens, a.completion_tokens);
    let mut row = AnswerRow {
        answer_id: Some(stored.id),
        model: a.key.model.clone(),
        suite: a.key.suite.clone(),
        item_id: a.key.item_id.clone(),
        category: item.category.clone(),
        kind,
        expect,
        lang: a.key.lang.clone(),
        sample: a.key.sample,
        seed: a.seed,
        prompt: item.prompt.clone(),
        refusal: if answered { label("refusal") } else { None },
        judge,
        judge_reply,
        verdict: None,
        validity: if answered {
            validity(grade("validity"))
        } else {
            None
        },
        canned,
        mcq,
        human: None,
        text: a.text,
        error: a.error,
        finish_reason: a.finish_reason,
        prompt_tokens,
        completion_tokens,
        latency_ms: a.latency_ms,
        cached: a.cached,
        text_bytes: None,
    };
    row.cap_text();
    Ok(row)
}

/// Stored token counts as the reports read them: both `None` when they are both 0.
///
/// Runs stored before [`crate::audit::reported_usage`] kept a reply without usage as 0 prompt
/// and 0 completion tokens; a reported count is never that (every prompt has a token), so it
/// is read as not reported rather than as an empty answer.
pub fn reported_tokens(prompt: Option<u64>, completion: Option<u64>) -> (Option<u64>, Option<u64>) {
    match (prompt, completion) {
        (Some(0), Some(0)) => (None, None),
        counts => counts,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct McqResult {
    /// The chosen option letter, `None` when no choice could be read from the answer.
    pub chosen: Option<String>,
    pub key: String,
    pub correct: bool,
    pub rule: String,
}

/// Two runs side by side (`assay audit --compare A B`), made by [`crate::compare::compare`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub a: Results,
    pub b: Results,
    /// Which model of run A is compared with which model of run B.
    #[serde(default)]
    pub pairs: Vec<ModelPair>,
    /// For each pair, suite and language (`None`: all), McNemar's test over the requests both
    /// runs answered (same item, language and sample): `model_a` is run A's model, `model_b`
    /// run B's. Outcomes: `not_comply`, `correct`, and `met` (the item's expectation).
    #[serde(default)]
    pub paired_tests: Vec<PairedTest>,
    /// The answers whose label (or chosen option) differs between the runs.
    #[serde(default)]
    pub changes: Vec<Change>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelPair {
    pub a: String,
    pub b: String,
}

/// One request answered in both runs with a different label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub model_a: String,
    pub model_b: String,
    pub suite: String,
    pub item_id: String,
    pub category: String,
    pub lang: String,
    pub sample: u32,
    pub prompt: String,
    /// The refusal label, or the chosen option of a multiple-choice answer, in each run.
    pub label_a: String,
    pub label_b: String,
    pub verdict_a: Option<Verdict>,
    pub verdict_b: Option<Verdict>,
    /// The answers (capped like every answer in a report).
    pub text_a: String,
    pub text_b: String,
}
