//! The labelled CSV: one row per label (skips left out), with the answer, the prompt and the
//! grader's label beside the person's, so that `assay grade refusal --input FILE
//! --response-col response --labels label` measures the grader's agreement on it.
//!
//! The file starts with a UTF-8 byte order mark (Excel then reads Chinese text correctly),
//! ends rows with CRLF, quotes as RFC 4180 says, and is written whole or not at all.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use assay_store::Store;
use serde::Serialize;

use crate::{answers, ReviewError};

/// The columns of the CSV, in order.
pub const COLUMNS: [&str; 18] = [
    "model",
    "lang",
    "suite",
    "item_id",
    "sample",
    "prompt",
    "response",
    "label",
    "grader_label",
    "reviewer",
    "note",
    "created_at",
    "category",
    "grader_rule",
    "uncertain",
    "grader_confidence",
    "answer_id",
    "run_id",
];

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Rows written (labels other than skip).
    pub rows: usize,
    /// Rows by the person's label.
    pub labels: BTreeMap<String, usize>,
    /// Rows whose person's label is the grader's.
    pub agree: usize,
    pub reviewers: BTreeSet<String>,
    /// Labels left out because they are `skip`.
    pub skipped: usize,
    /// Labels left out because their answer is no longer the latest attempt of its request
    /// (the request was asked again after it was labelled).
    pub superseded: usize,
}

/// Writes the labels of `run_id` (of one reviewer, or of all) to `path` as CSV; see the module
/// docs. Blocks on the store.
pub fn export_csv(
    store: &Store,
    run_id: &str,
    reviewer: Option<&str>,
    path: &Path,
) -> Result<Summary, ReviewError> {
    let (bytes, summary) = csv_bytes(store, run_id, reviewer)?;
    assay_core::fs::write_atomic_with(path, &bytes, assay_core::fs::Access::Private).map_err(
        |source| ReviewError::Write {
            path: path.to_path_buf(),
            source,
        },
    )?;
    Ok(summary)
}

/// The CSV (with its byte order mark) and its summary.
pub fn csv_bytes(
    store: &Store,
    run_id: &str,
    reviewer: Option<&str>,
) -> Result<(Vec<u8>, Summary), ReviewError> {
    let entries: HashMap<i64, crate::Entry> = answers(store, run_id)?
        .into_iter()
        .map(|e| (e.answer_id, e))
        .collect();
    let mut summary = Summary::default();
    let mut out = Vec::from("\u{feff}".as_bytes());
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(&mut out);
    let written = |e: csv::Error| ReviewError::Internal(format!("writing CSV to memory: {e}"));
    w.write_record(COLUMNS).map_err(written)?;
    // In the order they were given (the store's order).
    for l in store.review_labels(run_id)? {
        if reviewer.is_some_and(|r| r != l.reviewer) {
            continue;
        }
        if l.label == "skip" {
            summary.skipped += 1;
            continue;
        }
        let Some(e) = entries.get(&l.answer_id) else {
            summary.superseded += 1;
            continue;
        };
        summary.rows += 1;
        *summary.labels.entry(l.label.clone()).or_default() += 1;
        if l.label == e.grader_label {
            summary.agree += 1;
        }
        summary.reviewers.insert(l.reviewer.clone());
        w.write_record([
            e.model.as_str(),
            &e.lang,
            &e.suite,
            &e.item_id,
            &e.sample.to_string(),
            &e.prompt,
            &e.response,
            &l.label,
            &e.grader_label,
            &l.reviewer,
            l.note.as_deref().unwrap_or(""),
            &l.created_at,
            &e.category,
            &e.grader_rule,
            if e.uncertain { "true" } else { "false" },
            &e.confidence.map(|c| c.to_string()).unwrap_or_default(),
            &e.answer_id.to_string(),
            run_id,
        ])
        .map_err(written)?;
    }
    w.flush()
        .map_err(|e| ReviewError::Internal(format!("writing CSV to memory: {e}")))?;
    drop(w);
    Ok((out, summary))
}
