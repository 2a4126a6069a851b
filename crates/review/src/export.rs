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

/// A label read back from an exported CSV, with the run it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLabel {
    pub run_id: String,
    pub label: assay_store::ReviewLabel,
}

/// Reads the labels of a CSV written by [`export_csv`] (or edited after, in a spreadsheet:
/// only `run_id`, `answer_id`, `label` and `reviewer` are needed). A row whose label is not one
/// of `comply`, `partial`, `refuse`, `skip` is an error naming its line.
pub fn read_csv(path: &Path) -> Result<Vec<FileLabel>, ReviewError> {
    let error = |message: String| ReviewError::Read {
        path: path.to_path_buf(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| error(format!("cannot read it: {e}")))?;
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&bytes);
    let mut reader = csv::Reader::from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| error(format!("not a CSV: {e}")))?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| {
                error(format!(
                    "no column {name:?} (write the file with `assay review export RUN --out FILE`)"
                ))
            })
    };
    let [run, answer, label, reviewer] = ["run_id", "answer_id", "label", "reviewer"].map(column);
    let (run, answer, label, reviewer) = (run?, answer?, label?, reviewer?);
    let note = headers.iter().position(|h| h.trim() == "note");
    let created = headers.iter().position(|h| h.trim() == "created_at");
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| error(format!("not a CSV: {e}")))?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |i: usize| record.get(i).unwrap_or("").trim();
        let answer_id = field(answer).parse::<i64>().map_err(|_| {
            error(format!(
                "line {line}: answer_id {:?} is not a number",
                field(answer)
            ))
        })?;
        let value = field(label).to_ascii_lowercase();
        if !assay_store::REVIEW_LABELS.contains(&value.as_str()) {
            return Err(error(format!(
                "line {line}: label {:?} is not one of {}",
                field(label),
                assay_store::REVIEW_LABELS.join(", ")
            )));
        }
        out.push(FileLabel {
            run_id: field(run).to_string(),
            label: assay_store::ReviewLabel {
                answer_id,
                reviewer: field(reviewer).to_string(),
                label: value,
                note: note
                    .map(field)
                    .filter(|n| !n.is_empty())
                    .map(str::to_string),
                created_at: created.map(field).unwrap_or("").to_string(),
            },
        });
    }
    Ok(out)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_labels_file_is_read_back_and_a_bad_row_is_named_by_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("labels.csv");
        std::fs::write(
            &path,
            "\u{feff}model,run_id,answer_id,label,reviewer,note\r\nm,r1,7,Refuse,ann,too vague\r\nm,r1,8,skip,ann,\r\n",
        )
        .unwrap();
        let labels = read_csv(&path).unwrap();
        assert_eq!(labels.len(), 2);
        assert_eq!(labels[0].run_id, "r1");
        assert_eq!(labels[0].label.answer_id, 7);
        assert_eq!(labels[0].label.label, "refuse");
        assert_eq!(labels[0].label.note.as_deref(), Some("too vague"));
        assert_eq!(labels[1].label.note, None);

        std::fs::write(
            &path,
            "run_id,answer_id,label,reviewer\nr1,7,refuse,ann\nr1,8,maybe,ann\n",
        )
        .unwrap();
        let e = read_csv(&path).unwrap_err().to_string();
        assert!(e.contains("labels.csv: line 3: label \"maybe\""), "{e}");
        std::fs::write(&path, "run_id,label,reviewer\nr1,refuse,ann\n").unwrap();
        let e = read_csv(&path).unwrap_err().to_string();
        assert!(e.contains("no column \"answer_id\""), "{e}");
    }
}
