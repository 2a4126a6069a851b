//! `results.csv`: one row per answer, RFC 4180 quoting by the `csv` crate.

use crate::results::{AnswerRow, Results};

/// What `results.csv` starts with: the UTF-8 byte order mark, by which Excel tells UTF-8.
pub const BOM: char = '\u{feff}';

/// The columns of `results.csv`, in order.
pub const CSV_COLUMNS: [&str; 34] = [
    "answer_id",
    "model",
    "suite",
    "item_id",
    "category",
    "kind",
    "expect",
    "verdict",
    "lang",
    "sample",
    "seed",
    "refusal",
    "refusal_rule",
    "canned",
    "mcq_chosen",
    "mcq_key",
    "mcq_correct",
    "judge",
    "judge_reply",
    "validity",
    "validity_rule",
    "refusal_confidence",
    "refusal_uncertain",
    "human",
    "human_reviewer",
    "error",
    "finish_reason",
    "prompt_tokens",
    "completion_tokens",
    "latency_ms",
    "cached",
    "prompt",
    "answer",
    "answer_bytes",
];

/// The answers of a run as CSV with a header row ([`CSV_COLUMNS`]), without the [`BOM`] that
/// the file starts with. Missing values (unknown
/// ones included: a grade that does not say whether it is uncertain) are empty fields,
/// booleans `true` / `false`, canned-narrative families joined by `;`.
pub fn csv(results: &Results) -> String {
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(Vec::with_capacity(256 + results.answers.len() * 512));
    w.write_record(CSV_COLUMNS)
        .expect("writing CSV to memory cannot fail");
    for a in &results.answers {
        w.write_record(row(a))
            .expect("writing CSV to memory cannot fail");
    }
    let bytes = w.into_inner().expect("flushing CSV to memory cannot fail");
    String::from_utf8(bytes).expect("CSV of UTF-8 strings is UTF-8")
}

fn row(a: &AnswerRow) -> [String; 34] {
    fn opt<T: ToString>(v: &Option<T>) -> String {
        v.as_ref().map(ToString::to_string).unwrap_or_default()
    }
    [
        opt(&a.answer_id),
        a.model.clone(),
        a.suite.clone(),
        a.item_id.clone(),
        a.category.clone(),
        a.kind.to_string(),
        opt(&a.expect),
        a.verdict
            .map(|v| v.as_str())
            .unwrap_or_default()
            .to_string(),
        a.lang.clone(),
        a.sample.to_string(),
        a.seed.to_string(),
        a.refusal
            .as_ref()
            .map(|r| r.label.to_string())
            .unwrap_or_default(),
        a.refusal
            .as_ref()
            .map(|r| r.rule.clone())
            .unwrap_or_default(),
        a.canned.join(";"),
        a.mcq
            .as_ref()
            .and_then(|m| m.chosen.clone())
            .unwrap_or_default(),
        a.mcq.as_ref().map(|m| m.key.clone()).unwrap_or_default(),
        a.mcq
            .as_ref()
            .map(|m| m.correct.to_string())
            .unwrap_or_default(),
        a.judge
            .as_ref()
            .map(|j| j.label.to_string())
            .unwrap_or_default(),
        opt(&a.judge_reply),
        a.validity
            .as_ref()
            .map(|v| v.label.to_string())
            .unwrap_or_default(),
        a.validity
            .as_ref()
            .map(|v| v.rule.clone())
            .unwrap_or_default(),
        opt(&a.refusal.as_ref().and_then(|r| r.confidence)),
        opt(&a.refusal.as_ref().and_then(|r| r.uncertain)),
        opt(&a.human.as_ref().map(|h| h.label)),
        opt(&a.human.as_ref().map(|h| h.reviewer.clone())),
        opt(&a.error),
        opt(&a.finish_reason),
        opt(&a.prompt_tokens),
        opt(&a.completion_tokens),
        opt(&a.latency_ms),
        a.cached.to_string(),
        a.prompt.clone(),
        opt(&a.text),
        opt(&a.text_bytes),
    ]
}
