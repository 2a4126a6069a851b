//! Grading answers that already exist: a CSV or JSONL file with an answer per row, graded with
//! the refusal grader, one JSON line out per row; with a column of human labels, how well the
//! grader agrees with them.
//!
//! A row that cannot be read (a malformed JSON line, invalid UTF-8, a missing column) becomes
//! an output line with an `error` naming the file and line, and grading goes on.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::grade::refusal::confidence::{confidence, features, uncertain_below};
use crate::grade::refusal::{grade_refusal_to, Label};
use crate::results::Rate;
use crate::stats::{cohen_kappa, wilson};

/// Answer columns looked for, in order, when none is named: XSTest's completions, the audit's
/// `results.csv`, `assay review export`'s CSV.
pub const RESPONSE_COLUMNS: [&str; 3] = ["completion", "answer", "response"];

/// The prompt column used when none is named and the file has it (`results.csv`, XSTest, the
/// review export all call it so).
pub const PROMPT_COLUMN: &str = "prompt";

/// What a CSV starts with when written for Excel (`results.csv`, the review export): skipped.
const BOM: char = '\u{feff}';

/// Which columns (CSV) or keys (JSONL) hold what.
#[derive(Debug, Clone)]
pub struct Columns {
    /// The prompt; `None`: [`PROMPT_COLUMN`] where there is one.
    pub prompt: Option<String>,
    /// The answer; `None`: the first of [`RESPONSE_COLUMNS`] there is.
    pub response: Option<String>,
    pub labels: Option<String>,
    /// Also write each grade's confidence features (what the training script reads).
    pub features: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum GradeFileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: no column {column:?} (columns: {available})")]
    MissingColumn {
        path: PathBuf,
        column: String,
        available: String,
    },
    #[error("{path}: {message}")]
    Csv { path: PathBuf, message: String },
    #[error("writing the output: {0}")]
    Output(std::io::Error),
}

/// Agreement of the grader with human labels. Rows and columns of `confusion`: comply, partial,
/// refuse; rows are the human labels, columns the grader's.
#[derive(Debug, Clone, PartialEq)]
pub struct Agreement {
    pub n: u64,
    pub confusion: [[u64; 3]; 3],
    /// Same three-way label.
    pub accuracy: Rate,
    /// Same binary label: comply vs refuse or partial.
    pub binary_accuracy: Rate,
    pub kappa: f64,
    pub binary_kappa: f64,
    /// Rows whose human label was missing or not one we read.
    pub unlabelled: u64,
    /// Rows that could not be read.
    pub bad_rows: u64,
    /// Grades below the confidence threshold.
    pub uncertain: u64,
    /// Binary agreement on the confident grades and on the uncertain ones.
    pub binary_accuracy_confident: Rate,
    pub binary_accuracy_uncertain: Rate,
}

/// Reads a human label: our names or XSTest's (`1_full_compliance`, `2_full_refusal`,
/// `3_partial_refusal`).
pub fn parse_label(text: &str) -> Option<Label> {
    match text.trim().to_ascii_lowercase().as_str() {
        "comply" | "compliance" | "full_compliance" | "1_full_compliance" | "1" => {
            Some(Label::Comply)
        }
        "partial" | "partial_refusal" | "3_partial_refusal" | "3" => Some(Label::Partial),
        "refuse" | "refusal" | "full_refusal" | "2_full_refusal" | "2" => Some(Label::Refuse),
        _ => None,
    }
}

impl Agreement {
    fn from_pairs(pairs: &[(Label, Label, bool)], unlabelled: u64, bad_rows: u64) -> Agreement {
        let mut confusion = [[0u64; 3]; 3];
        let mut binary = [[0u64; 2]; 2];
        // [confident, uncertain]: (same binary verdict, n)
        let mut by_certainty = [(0u64, 0u64); 2];
        for &(human, ours, uncertain) in pairs {
            // Both sides are refusal classes: human labels are read as one, and the
            // refusal grader gives nothing else.
            let (Some(h), Some(o)) = (human.refusal_index(), ours.refusal_index()) else {
                continue;
            };
            confusion[h][o] += 1;
            binary[usize::from(human != Label::Comply)][usize::from(ours != Label::Comply)] += 1;
            let cell = &mut by_certainty[usize::from(uncertain)];
            cell.0 += u64::from((human != Label::Comply) == (ours != Label::Comply));
            cell.1 += 1;
        }
        let n = pairs.len() as u64;
        let same: u64 = (0..3).map(|i| confusion[i][i]).sum();
        let same_binary = binary[0][0] + binary[1][1];
        Agreement {
            n,
            confusion,
            accuracy: wilson(same, n),
            binary_accuracy: wilson(same_binary, n),
            kappa: cohen_kappa(&confusion),
            binary_kappa: cohen_kappa(&binary),
            unlabelled,
            bad_rows,
            uncertain: by_certainty[1].1,
            binary_accuracy_confident: wilson(by_certainty[0].0, by_certainty[0].1),
            binary_accuracy_uncertain: wilson(by_certainty[1].0, by_certainty[1].1),
        }
    }

    /// A plain-text summary for the terminal.
    pub fn render(&self) -> String {
        let pct = |r: &Rate| format!("{:.3} [{:.3}–{:.3}]", r.p, r.lo, r.hi);
        let mut out = String::new();
        let _ = writeln!(out, "rows compared: {}", self.n);
        let _ = writeln!(out, "                 assay: comply  partial   refuse");
        for (i, label) in Label::REFUSAL.iter().enumerate() {
            let _ = writeln!(
                out,
                "human {:<8}        {:>8} {:>8} {:>8}",
                label.as_str(),
                self.confusion[i][0],
                self.confusion[i][1],
                self.confusion[i][2]
            );
        }
        let _ = writeln!(out, "accuracy (3-way):            {}", pct(&self.accuracy));
        let _ = writeln!(
            out,
            "accuracy (binary, refuse+partial vs comply): {}",
            pct(&self.binary_accuracy)
        );
        let _ = writeln!(
            out,
            "Cohen's kappa: 3-way {:.3}, binary {:.3}",
            self.kappa, self.binary_kappa
        );
        let _ = writeln!(
            out,
            "uncertain grades (confidence < {}): {} of {}; binary agreement on confident {}, on uncertain {}",
            uncertain_below(),
            self.uncertain,
            self.n,
            pct(&self.binary_accuracy_confident),
            pct(&self.binary_accuracy_uncertain)
        );
        if self.unlabelled > 0 {
            let _ = writeln!(out, "rows without a readable label: {}", self.unlabelled);
        }
        if self.bad_rows > 0 {
            let _ = writeln!(out, "rows that could not be read: {}", self.bad_rows);
        }
        out
    }
}

/// Grades every row of `path` (`.jsonl`/`.json`: JSON lines; anything else: CSV with a header),
/// writing one JSON line per row to `out`. Returns the agreement when `columns.labels` is set.
pub fn grade_file(
    path: &Path,
    columns: &Columns,
    out: &mut dyn Write,
) -> Result<Option<Agreement>, GradeFileError> {
    let io = |source| GradeFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let is_jsonl = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("jsonl" | "json" | "ndjson")
    );
    let mut pairs = Vec::new();
    let mut unlabelled = 0u64;
    let mut bad_rows = 0u64;
    // Columns not named are looked up in each row (JSON lines may differ; a CSV's are fixed
    // once its header is read).
    let mut columns = columns.clone();
    let mut handle = |line: u64,
                      row: Result<Map<String, Value>, String>,
                      columns: &Columns|
     -> std::io::Result<()> {
        let row = match row {
            Ok(row) => row,
            Err(message) => {
                bad_rows += 1;
                let error = format!("{}:{line}: {message}", path.display());
                return writeln!(out, "{}", json!({"line": line, "error": error}));
            }
        };
        let text = |key: &str| row.get(key).and_then(Value::as_str);
        let response = match &columns.response {
            Some(named) => named.clone(),
            None => RESPONSE_COLUMNS
                .iter()
                .find(|k| row.contains_key(**k))
                .map_or_else(|| RESPONSE_COLUMNS.join(", "), |k| k.to_string()),
        };
        let Some(answer) = text(&response) else {
            bad_rows += 1;
            let error = format!(
                "{}:{line}: field {response:?} is missing or not text",
                path.display(),
            );
            return writeln!(out, "{}", json!({"line": line, "error": error}));
        };
        let prompt = match &columns.prompt {
            Some(named) => text(named),
            None => text(PROMPT_COLUMN),
        };
        let grade = grade_refusal_to(prompt, answer);
        let sure = confidence(prompt, answer, &grade);
        let mut line_out = json!({
            "line": line,
            "label": grade.label.as_str(),
            "rule": grade.rule,
            "confidence": (sure.p * 1000.0).round() / 1000.0,
            "uncertain": sure.uncertain,
        });
        if columns.features {
            line_out["features"] = json!(features(prompt, answer, &grade));
        }
        if let Some(prompt) = prompt {
            line_out["prompt"] = json!(prompt);
        }
        if let Some(labels) = &columns.labels {
            match text(labels).and_then(parse_label) {
                Some(human) => {
                    line_out["human"] = json!(human.as_str());
                    pairs.push((human, grade.label, sure.uncertain));
                }
                None => unlabelled += 1,
            }
        }
        writeln!(out, "{line_out}")
    };

    if is_jsonl {
        let mut reader = BufReader::new(file);
        let mut buf = Vec::new();
        let mut line = 0u64;
        loop {
            buf.clear();
            let read = reader.read_until(b'\n', &mut buf).map_err(io)?;
            if read == 0 {
                break;
            }
            line += 1;
            let bytes = if line == 1 {
                buf.strip_prefix(BOM.to_string().as_bytes()).unwrap_or(&buf)
            } else {
                &buf
            };
            let row = match std::str::from_utf8(bytes) {
                Err(e) => Err(format!("invalid UTF-8 at byte {}", e.valid_up_to())),
                Ok(s) if s.trim().is_empty() => continue,
                Ok(s) => match serde_json::from_str::<Value>(s) {
                    Ok(Value::Object(map)) => Ok(map),
                    Ok(_) => Err("not a JSON object".to_string()),
                    Err(e) => Err(format!("malformed JSON: {e}")),
                },
            };
            handle(line, row, &columns).map_err(GradeFileError::Output)?;
        }
    } else {
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
        let mut headers = reader
            .headers()
            .map_err(|e| GradeFileError::Csv {
                path: path.to_path_buf(),
                message: format!("cannot read the header: {e}"),
            })?
            .clone();
        // The csv crate keeps a byte order mark as part of the first column's name.
        if headers.get(0).is_some_and(|h| h.starts_with(BOM)) {
            headers = headers
                .iter()
                .enumerate()
                .map(|(i, h)| if i == 0 { h.trim_start_matches(BOM) } else { h })
                .collect();
        }
        let has = |name: &str| headers.iter().any(|h| h == name);
        if columns.response.is_none() {
            let found = RESPONSE_COLUMNS.iter().find(|c| has(c));
            columns.response =
                Some(found.map_or_else(|| RESPONSE_COLUMNS.join(" or "), |c| c.to_string()));
        }
        if columns.prompt.is_none() && has(PROMPT_COLUMN) {
            columns.prompt = Some(PROMPT_COLUMN.to_string());
        }
        let wanted = [
            columns.response.as_ref(),
            columns.prompt.as_ref(),
            columns.labels.as_ref(),
        ]
        .into_iter()
        .flatten();
        for column in wanted {
            if !headers.iter().any(|h| h == column) {
                return Err(GradeFileError::MissingColumn {
                    path: path.to_path_buf(),
                    column: column.clone(),
                    available: headers.iter().collect::<Vec<_>>().join(", "),
                });
            }
        }
        let mut record = csv::ByteRecord::new();
        loop {
            let line = reader.position().line();
            match reader.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    let line = record.position().map_or(line, |p| p.line());
                    let mut row = Map::new();
                    let mut problem = None;
                    for (header, field) in headers.iter().zip(record.iter()) {
                        match std::str::from_utf8(field) {
                            Ok(s) => {
                                row.insert(header.to_string(), json!(s));
                            }
                            Err(e) => {
                                problem.get_or_insert(format!(
                                    "column {header:?}: invalid UTF-8 at byte {}",
                                    e.valid_up_to()
                                ));
                            }
                        }
                    }
                    let row = match problem {
                        Some(p) => Err(p),
                        None => Ok(row),
                    };
                    handle(line, row, &columns).map_err(GradeFileError::Output)?;
                }
                Err(e) => {
                    // A broken record (an unterminated quote) ends what the reader can trust.
                    handle(line, Err(format!("malformed CSV: {e}")), &columns)
                        .map_err(GradeFileError::Output)?;
                    break;
                }
            }
        }
    }
    Ok(columns
        .labels
        .as_ref()
        .map(|_| Agreement::from_pairs(&pairs, unlabelled, bad_rows)))
}
