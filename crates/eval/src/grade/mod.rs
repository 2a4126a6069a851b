//! Graders: each one a value that turns an answer into a typed [`Score`] (a [`Label`] and the
//! rule that decided it, so a reader can audit every grade), with a version stored beside it.
//!
//! * A rule grader implements [`Grader`]: a pure function of the question and the answer.
//! * A model grader implements [`ModelGrader`]: it says what to ask a model and how to read the
//!   reply; the audit runner asks (asynchronously, through the same cache as answers) and stores
//!   the model's name and reply with the score.
//!
//! [`RULE_GRADERS`] and [`MODEL_GRADERS`] are the registry: [`grade_answer`] runs every rule
//! grader, [`versions`] lists them all with their versions (stored with each run).
//!
//! # Adding a grader
//!
//! One new file, `grade/<name>.rs`, holding a unit struct that implements [`Grader`] (the
//! name in its `name_and_version` is what the store and `results.json` call it; bump the
//! version whenever a change can alter a grade), then its `mod` line here and one entry in
//! [`RULE_GRADERS`]. Every run
//! then stores its grades and version, and `assay report --regrade` applies it to old runs.
//! If it needs labels no grader gives yet, add them to [`Label`] with their spelling.
//! [`boilerplate`] was added this way.

use std::borrow::Cow;
use std::collections::BTreeMap;

use assay_core::{ChatRequest, GenParams};
use assay_store::{GradeRecord, ItemRow};

use crate::suite::{Expect, Kind};

pub mod boilerplate;
pub mod canned;
pub mod judge;
mod label;
pub mod mcq;
pub mod refusal;
pub mod validity;

pub use label::{Label, UnknownLabel};

/// Graders read at most this many bytes of an answer (cut on a character boundary): every
/// rule looks at how an answer opens, and a flood of text (a 50 MB answer took 99 s and
/// 1.1 GB to grade) must not cost more than this prefix does.
pub const GRADE_PREFIX_BYTES: usize = 64 * 1024;

/// The first `max` bytes of `text`, or fewer, ending on a character boundary.
pub use assay_core::text::prefix;

/// What the graders read of `answer`.
pub fn graded(answer: &str) -> &str {
    prefix(answer, GRADE_PREFIX_BYTES)
}

/// The question an answer answers, as graders see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub kind: Kind,
    pub expect: Option<Expect>,
    /// The text the model was sent (for multiple choice, with its lettered options).
    pub prompt: String,
    /// Multiple choice: the options as asked, in order.
    pub choices: Vec<String>,
    /// Multiple choice: the index of the key (0 = A).
    pub key: Option<usize>,
    /// The language the item was asked in; `None` when the stored code is not one assay asks
    /// in (the validity grader then does not judge the answer's language).
    pub lang: Option<assay_core::Language>,
}

/// A stored item that this assay cannot read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored item {suite}/{item_id}: {field} {value:?} is not one this assay reads")]
pub struct StoredItemError {
    pub suite: String,
    pub item_id: String,
    pub field: &'static str,
    pub value: String,
}

/// The kind and expectation of a run's stored item, which must be spelled as the runner
/// writes them.
pub fn kind_and_expect(row: &ItemRow) -> Result<(Kind, Option<Expect>), StoredItemError> {
    let bad = |field: &'static str, value: &str| StoredItemError {
        suite: row.suite.clone(),
        item_id: row.item_id.clone(),
        field,
        value: value.to_string(),
    };
    let kind = Kind::parse(&row.kind).ok_or_else(|| bad("kind", &row.kind))?;
    let expect = match row.expect.as_deref() {
        None => None,
        Some(text) => Some(Expect::parse(text).ok_or_else(|| bad("expect", text))?),
    };
    Ok((kind, expect))
}

impl Question {
    /// Reads a run's stored item ([`kind_and_expect`]); choices or a key that cannot be read
    /// leave the item ungraded for multiple choice, as they always have.
    pub fn from_row(row: &ItemRow) -> Result<Question, StoredItemError> {
        let (kind, expect) = kind_and_expect(row)?;
        let choices = row
            .choices
            .as_ref()
            .and_then(|c| serde_json::from_value(c.clone()).ok())
            .unwrap_or_default();
        let key = row
            .answer_key
            .as_deref()
            .and_then(crate::suite::option_index);
        Ok(Question {
            kind,
            expect,
            prompt: row.prompt.clone(),
            choices,
            key,
            lang: assay_core::Language::parse(&row.lang),
        })
    }
}

/// A grader's verdict on one answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    pub label: Label,
    /// The rule that decided the label.
    pub rule: Cow<'static, str>,
    /// What else a reader needs to check the grade (the option chosen, the phrases found).
    pub detail: Option<serde_json::Value>,
}

impl Score {
    pub fn new(label: Label, rule: impl Into<Cow<'static, str>>) -> Score {
        Score {
            label,
            rule: rule.into(),
            detail: None,
        }
    }

    pub fn with_detail(self, detail: serde_json::Value) -> Score {
        Score {
            detail: Some(detail),
            ..self
        }
    }
}

/// A score with the grader and version that gave it: what the store keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct Graded {
    pub grader: &'static str,
    pub version: &'static str,
    pub score: Score,
}

impl Graded {
    /// The store's row for this grade.
    pub fn record(&self) -> GradeRecord {
        GradeRecord {
            grader: self.grader.to_string(),
            version: self.version.to_string(),
            label: self.score.label.as_str().to_string(),
            rule: self.score.rule.to_string(),
            detail: self.score.detail.clone(),
        }
    }
}

/// A rule grader.
pub trait Grader: Sync {
    /// The name grades are stored and reported under, and its version: bumped whenever a
    /// change can alter a grade, so stored grades say which rules made them.
    fn name_and_version(&self) -> (&'static str, &'static str);
    /// The score of `answer` to `question`; `None` when the grader does not apply to it.
    fn grade(&self, question: &Question, answer: &str) -> Option<Score>;
}

/// A grader that asks a model.
pub trait ModelGrader: Sync {
    /// The name grades are stored and reported under, and its version: bumped whenever the
    /// prompt or the reading of replies changes.
    fn name_and_version(&self) -> (&'static str, &'static str);
    /// What to ask the model about `answer` to `question`.
    fn request(&self, question: &Question, answer: &str) -> ChatRequest;
    /// The score a reply gives.
    fn read(&self, reply: &str) -> Score;
}

/// The rule graders, in the order their grades are stored.
pub const RULE_GRADERS: &[&dyn Grader] = &[
    &refusal::Refusal,
    &canned::Canned,
    &mcq::Mcq,
    &boilerplate::Boilerplate,
    &validity::Validity,
];

/// The model graders.
pub const MODEL_GRADERS: &[&dyn ModelGrader] = &[&judge::Judge];

/// The judge: the model grader `--judge` asks.
pub const JUDGE: &dyn ModelGrader = &judge::Judge;

/// Every rule grader's score of `answer`, those that apply.
pub fn grade_answer(question: &Question, answer: &str) -> Vec<Graded> {
    RULE_GRADERS
        .iter()
        .filter_map(|grader| {
            let score = grader.grade(question, answer)?;
            let (name, version) = grader.name_and_version();
            Some(Graded {
                grader: name,
                version,
                score,
            })
        })
        .collect()
}

/// Every grader's name and version, recorded with each run.
pub fn versions() -> BTreeMap<String, String> {
    let rules = RULE_GRADERS.iter().map(|g| g.name_and_version());
    let models = MODEL_GRADERS.iter().map(|g| g.name_and_version());
    rules
        .chain(models)
        .map(|(name, version)| (name.to_string(), version.to_string()))
        .collect()
}

/// Greedy, short generation for a model grader: it reads a verdict, not an essay.
pub fn verdict_params(max_tokens: u32) -> GenParams {
    GenParams {
        temperature: Some(0.0),
        max_tokens: Some(max_tokens),
        seed: Some(0),
        ..GenParams::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: &str, expect: Option<&str>) -> ItemRow {
        ItemRow {
            suite: "s".into(),
            item_id: "i-1".into(),
            category: "c".into(),
            kind: kind.into(),
            expect: expect.map(str::to_string),
            lang: "en".into(),
            prompt: "Capital of France?\n\nA. Paris\nB. Rome".into(),
            choices: Some(serde_json::json!(["Paris", "Rome"])),
            answer_key: Some("A".into()),
        }
    }

    #[test]
    fn stored_items_are_read_at_the_edge() {
        let q = Question::from_row(&row("mcq", None)).unwrap();
        assert_eq!((q.kind, q.expect, q.key), (Kind::Mcq, None, Some(0)));
        assert_eq!(q.choices, ["Paris", "Rome"]);
        let q = Question::from_row(&row("open", Some("refuse"))).unwrap();
        assert_eq!((q.kind, q.expect), (Kind::Open, Some(Expect::Refuse)));
        let e = Question::from_row(&row("essay", None)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "stored item s/i-1: kind \"essay\" is not one this assay reads"
        );
        assert_eq!(
            Question::from_row(&row("open", Some("maybe")))
                .unwrap_err()
                .field,
            "expect"
        );
    }

    #[test]
    fn the_registry_grades_in_order_and_only_where_a_grader_applies() {
        let mcq = Question::from_row(&row("mcq", None)).unwrap();
        let names =
            |q: &Question| -> Vec<&str> { grade_answer(q, "A").iter().map(|g| g.grader).collect() };
        assert_eq!(
            names(&mcq),
            ["refusal", "canned", "mcq", "boilerplate", "validity"]
        );
        let open = Question::from_row(&row("open", Some("answer"))).unwrap();
        assert_eq!(
            names(&open),
            ["refusal", "canned", "boilerplate", "validity"]
        );
        assert_eq!(open.lang, Some(assay_core::Language::En));
        let graded = grade_answer(&mcq, "A");
        assert_eq!(graded[2].score.label, Label::Correct);
        let record = graded[2].record();
        assert_eq!(
            (
                record.grader.as_str(),
                record.label.as_str(),
                record.rule.as_str()
            ),
            ("mcq", "correct", "bare-letter")
        );
        let versions = versions();
        assert_eq!(
            versions.keys().map(String::as_str).collect::<Vec<_>>(),
            [
                "boilerplate",
                "canned",
                "judge",
                "mcq",
                "refusal",
                "validity"
            ]
        );
        assert_eq!(versions["validity"], "1");
        assert_eq!(versions["refusal"], refusal::VERSION);
        assert_eq!(versions["judge"], judge::VERSION);
    }
}
