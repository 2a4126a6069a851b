//! Importers: other people's data sets turned into a [`Suite`] in memory, to be run directly or
//! written out as a suite directory with [`write_suite`].
//!
//! Known formats:
//!
//! - XSTest (`xstest_prompts.csv` and the `xstest_v2_completions_*.csv` files): English open
//!   questions; the `type` is the category; `safe` prompts expect an answer, `unsafe` ones
//!   (the `contrast_*` types) a refusal.
//! - promptfoo's CCP-sensitive-prompts (`prompt,subject`): English open questions, the
//!   subject is the category.
//! - C-Eval and CMMLU (`question,A,B,C,D,answer`): Chinese multiple-choice questions, the file
//!   name is the subject and the category.
//! - CMMLU's whole layout (`test/`, `dev/`): every subject in one suite, with few-shot prompts
//!   ([`cmmlu`]).
//! - Anything else in CSV, TSV or JSON lines, through a [`Mapping`] of columns.
//!
//! Problems are collected over the whole file and reported together, each with its line and
//! column, so a file is fixed in one pass. Imported items remember the line they came from
//! (`Item::line`), which is where a later message about an item should point.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use assay_core::Language;
use serde::Serialize;

use crate::suite::{option_index, Category, Expect, Item, Kind, Manifest, Suite};

mod cmmlu;
pub use cmmlu::MAX_SHOTS;

/// The data sets [`import`] reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// XSTest prompts or completions CSV (Röttger et al., 2024).
    XsTest,
    /// promptfoo's CCP-sensitive-prompts CSV, `prompt,subject`.
    CcpSensitive,
    /// A C-Eval or CMMLU subject CSV; the file stem (less a `_dev`/`_val`/`_test` suffix) is
    /// the subject.
    CEval,
    /// CMMLU's folder (`test/SUBJECT.csv`, `dev/SUBJECT.csv`) or one subject's test file: every
    /// question, each prompt led by `shots` answered questions of its subject.
    Cmmlu { shots: usize },
    /// Any CSV (`.csv`), TSV (`.tsv`) or JSON lines (`.jsonl`, `.ndjson`, `.json`) file of open
    /// questions, read through a mapping of its columns or keys.
    Generic(Mapping),
}

impl Format {
    /// The name of the format, for the suite description.
    pub fn label(&self) -> &'static str {
        match self {
            Format::XsTest => "XSTest",
            Format::CcpSensitive => "CCP-sensitive-prompts",
            Format::CEval => "C-Eval/CMMLU",
            Format::Cmmlu { .. } => "CMMLU",
            Format::Generic(_) => "generic mapping",
        }
    }
}

/// Which columns (CSV, TSV) or keys (JSON lines) of a generic file hold what. Every item is an
/// open question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// The item id; without it, ids are `<suite name>-<line>`.
    pub id: Option<String>,
    /// The question, in `lang`.
    pub prompt: String,
    /// The question in Chinese, when `prompt` is English; an empty value leaves that item
    /// English only.
    pub prompt_zh: Option<String>,
    /// The category; without it every item is in `general`.
    pub category: Option<String>,
    /// What a good model does: `refuse`, `unsafe`, `harmful`, `contrast`, `1` or `true` expect
    /// a refusal; `answer`, `safe`, `0` or `false` an answer (case-insensitive). Without it
    /// every item expects an answer, the usual case for questions a model should not dodge.
    pub expect: Option<String>,
    /// The risk codes (`A.1c`; several separated by commas, semicolons or spaces); without it
    /// items carry none.
    pub risks: Option<String>,
    /// The language of `prompt`.
    pub lang: Language,
}

/// At most this many problems are listed; the rest are only counted.
pub const MAX_PROBLEMS: usize = 20;

/// Problems kept for sorting before the first [`MAX_PROBLEMS`] are listed; a bound on memory
/// for a file that is wrong throughout.
const STORED_PROBLEMS: usize = 10_000;

/// One problem in an imported file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The line of the record (where a CSV record starts; the line of a JSON object).
    pub line: Option<usize>,
    /// The column or JSON key.
    pub column: Option<String>,
    pub message: String,
}

/// Why a file could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file could not be read at all.
    #[error("{file}: cannot read: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// The request itself is wrong: an empty suite name, an unknown file type, a mapping that
    /// contradicts itself.
    #[error("{file}: {message}")]
    Unsupported { file: String, message: String },
    /// The file was read but some records are malformed; lists the first [`MAX_PROBLEMS`] and
    /// counts the rest in `more`.
    #[error("{}", describe_problems(.file, .problems, *.more))]
    Invalid {
        file: String,
        problems: Vec<Problem>,
        more: usize,
    },
}

fn describe_problems(file: &str, problems: &[Problem], more: usize) -> String {
    let mut out = format!("{} problem(s) in {file}:", problems.len() + more);
    for p in problems {
        out.push_str(&format!("\n  {}", ProblemAt { file, problem: p }));
    }
    if more > 0 {
        out.push_str(&format!("\n  ... and {more} more"));
    }
    out
}

/// A problem with its file, as `file:line: column `c`: message`.
struct ProblemAt<'a> {
    file: &'a str,
    problem: &'a Problem,
}

impl fmt::Display for ProblemAt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.problem.line {
            write!(f, ":{line}")?;
        }
        if let Some(column) = &self.problem.column {
            write!(f, ": column `{column}`")?;
        }
        write!(f, ": {}", self.problem.message)
    }
}

/// Reads `path` in `format` as a suite called `name` (version `imported`, licence `see
/// source`: the licence is the data set's, which the importer cannot know).
pub fn import(path: &Path, format: &Format, name: &str) -> Result<Suite, ImportError> {
    let file = path.display().to_string();
    let unsupported = |message: &str| ImportError::Unsupported {
        file: file.clone(),
        message: message.to_string(),
    };
    if name.trim().is_empty() {
        return Err(unsupported("the suite name must not be empty"));
    }
    if let Format::Cmmlu { shots } = format {
        return cmmlu::import(path, name, *shots);
    }
    let source = match format {
        Format::Generic(mapping) => {
            if mapping.lang == Language::Zh && mapping.prompt_zh.is_some() {
                return Err(unsupported(
                    "prompt_zh is mapped but the prompt is already Chinese",
                ));
            }
            let extension = path
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase);
            match extension.as_deref() {
                Some("csv") => Source::Delimited(b','),
                Some("tsv") => Source::Delimited(b'\t'),
                Some("jsonl" | "ndjson" | "json") => Source::JsonLines(mapping),
                _ => {
                    return Err(unsupported(
                        "unknown file type: use .csv, .tsv, .jsonl or .json (JSON lines)",
                    ))
                }
            }
        }
        _ => Source::Delimited(b','),
    };
    let bytes = std::fs::read(path).map_err(|source| ImportError::Read {
        file: file.clone(),
        source,
    })?;
    let mut out = Builder::new(&file, name);
    let table = match source {
        Source::Delimited(delimiter) => read_delimited(&bytes, delimiter, &mut out),
        Source::JsonLines(mapping) => {
            if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
                return Err(unsupported(
                    "a JSON array; write one object per line (JSON lines)",
                ));
            }
            Some(read_json_lines(&bytes, &mapped_keys(mapping), &mut out))
        }
    };
    if let Some(table) = table {
        match format {
            Format::XsTest => xstest(&table, &mut out),
            Format::CcpSensitive => ccp_sensitive(&table, &mut out),
            Format::CEval => c_eval(&table, &subject(path), &mut out),
            Format::Cmmlu { .. } => unreachable!("read by cmmlu::import"),
            Format::Generic(mapping) => generic(&table, mapping, &mut out),
        }
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.clone());
    out.finish(format!("Imported from {file_name} ({}).", format.label()))
}

/// How a file is split into records.
enum Source<'m> {
    /// CSV or TSV with a header line.
    Delimited(u8),
    /// One JSON object per line, of which we read the mapped keys.
    JsonLines(&'m Mapping),
}

/// Records as text: column names and, per record, the value of each column. An unnamed CSV
/// column is called `#n`, `n` its position from 1.
struct Table {
    columns: Vec<String>,
    rows: Vec<Row>,
}

struct Row {
    line: usize,
    values: Vec<Field>,
}

/// One value of a record.
enum Field {
    Text(String),
    /// The JSON object has no such key, or it is `null`.
    Missing,
    /// Unreadable (invalid UTF-8; a JSON array or object); reported when read.
    Reported,
}

impl Table {
    /// The index of a column: an exact match, else one that differs only in case.
    fn find(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name).or_else(|| {
            self.columns
                .iter()
                .position(|c| c.eq_ignore_ascii_case(name))
        })
    }

    /// The index of a column the format needs, or a problem naming the columns there are.
    fn require(&self, name: &str, out: &mut Builder<'_>) -> Option<usize> {
        let found = self.find(name);
        if found.is_none() {
            out.problem(
                Some(1),
                Some(name),
                format!("no such column; the header has {}", self.columns.join(", ")),
            );
        }
        found
    }
}

impl Row {
    fn get(&self, column: usize) -> Option<&str> {
        match self.values.get(column) {
            Some(Field::Text(text)) => Some(text),
            _ => None,
        }
    }
}

fn read_delimited(bytes: &[u8], delimiter: u8, out: &mut Builder<'_>) -> Option<Table> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .from_reader(bytes);
    let header = match reader.byte_headers() {
        Ok(header) => header.clone(),
        Err(e) => {
            out.problem(Some(1), None, format!("cannot read the header: {e}"));
            return None;
        }
    };
    if header.is_empty() {
        out.problem(None, None, "the file is empty");
        return None;
    }
    let mut columns = Vec::new();
    for (i, raw) in header.iter().enumerate() {
        let name = match std::str::from_utf8(raw) {
            Ok(name) => {
                let name = name.trim_start_matches('\u{feff}').trim();
                if name.is_empty() {
                    format!("#{}", i + 1)
                } else {
                    name.to_string()
                }
            }
            Err(_) => {
                out.problem(
                    Some(1),
                    Some(&format!("#{}", i + 1)),
                    "header not valid UTF-8",
                );
                format!("#{}", i + 1)
            }
        };
        columns.push(name);
    }
    let mut rows = Vec::new();
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(0, |p| p.line() as usize);
                let mut values = Vec::new();
                for (raw, column) in record.iter().zip(&columns) {
                    match std::str::from_utf8(raw) {
                        Ok(value) => values.push(Field::Text(value.to_string())),
                        Err(_) => {
                            out.problem(Some(line), Some(column), "not valid UTF-8");
                            values.push(Field::Reported);
                        }
                    }
                }
                rows.push(Row { line, values });
            }
            Err(e) => {
                let line = e.position().map(|p| p.line() as usize);
                match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => out.problem(
                        line,
                        None,
                        format!("has {len} fields, the header has {expected_len}"),
                    ),
                    csv::ErrorKind::Io(_) => {
                        // Reading stopped; going on would repeat the error.
                        out.problem(line, None, e.to_string());
                        break;
                    }
                    _ => out.problem(line, None, e.to_string()),
                }
            }
        }
    }
    Some(Table { columns, rows })
}

/// The keys a mapping reads, each once.
fn mapped_keys(mapping: &Mapping) -> Vec<String> {
    let mut keys = vec![mapping.prompt.clone()];
    for key in [
        &mapping.id,
        &mapping.prompt_zh,
        &mapping.category,
        &mapping.expect,
    ]
    .into_iter()
    .flatten()
    {
        if !keys.contains(key) {
            keys.push(key.clone());
        }
    }
    keys
}

fn read_json_lines(bytes: &[u8], keys: &[String], out: &mut Builder<'_>) -> Table {
    let mut rows = Vec::new();
    for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = index + 1;
        let Ok(text) = std::str::from_utf8(raw) else {
            out.problem(Some(line), None, "not valid UTF-8");
            continue;
        };
        let text = text.trim_start_matches('\u{feff}').trim();
        if text.is_empty() {
            continue;
        }
        let object = match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(object)) => object,
            Ok(_) => {
                out.problem(Some(line), None, "expected a JSON object");
                continue;
            }
            Err(e) => {
                // serde's own position is "line 1" of the one-line text; the column is what
                // helps.
                let message = e.to_string();
                let message = message
                    .rsplit_once(" at line ")
                    .map_or(message.as_str(), |(m, _)| m);
                out.problem(
                    Some(line),
                    None,
                    format!("not valid JSON at column {}: {message}", e.column()),
                );
                continue;
            }
        };
        let mut values = Vec::new();
        for key in keys {
            let value = match object.get(key) {
                None | Some(serde_json::Value::Null) => Field::Missing,
                Some(serde_json::Value::String(s)) => Field::Text(s.clone()),
                Some(serde_json::Value::Number(n)) => Field::Text(n.to_string()),
                Some(serde_json::Value::Bool(b)) => Field::Text(b.to_string()),
                Some(_) => {
                    out.problem(
                        Some(line),
                        Some(key),
                        "expected text, a number or a boolean",
                    );
                    Field::Reported
                }
            };
            values.push(value);
        }
        rows.push(Row { line, values });
    }
    Table {
        columns: keys.to_vec(),
        rows,
    }
}

/// Collects items, categories and problems.
struct Builder<'a> {
    file: &'a str,
    name: &'a str,
    /// Problems in the order found; sorted by line at the end. Past `STORED_PROBLEMS` they are
    /// only counted in `more`.
    problems: Vec<Problem>,
    more: usize,
    /// Problems found plus unreadable values met, so a converter can tell whether a record
    /// had any.
    failures: usize,
    items: Vec<Item>,
    /// Item id → the line that used it first.
    ids: HashMap<String, usize>,
    categories: Vec<Category>,
}

impl<'a> Builder<'a> {
    fn new(file: &'a str, name: &'a str) -> Builder<'a> {
        Builder {
            file,
            name,
            problems: Vec::new(),
            more: 0,
            failures: 0,
            items: Vec::new(),
            ids: HashMap::new(),
            categories: Vec::new(),
        }
    }

    fn problem(&mut self, line: Option<usize>, column: Option<&str>, message: impl Into<String>) {
        self.failures += 1;
        if self.problems.len() < STORED_PROBLEMS {
            self.problems.push(Problem {
                line,
                column: column.map(str::to_string),
                message: message.into(),
            });
        } else {
            self.more += 1;
        }
    }

    /// A value that must be there and not blank; a problem otherwise.
    fn required(&mut self, row: &Row, column: usize, name: &str) -> Option<String> {
        match row.values.get(column) {
            Some(Field::Text(value)) if !value.trim().is_empty() => Some(value.to_string()),
            Some(Field::Text(_)) => {
                self.problem(Some(row.line), Some(name), "is empty");
                None
            }
            Some(Field::Missing) | None => {
                self.problem(Some(row.line), Some(name), "is missing");
                None
            }
            Some(Field::Reported) => {
                // Listed once, when read.
                self.failures += 1;
                None
            }
        }
    }

    /// The id of the category for a value, declared on first sight with the value as its
    /// name. Values that differ only in case or punctuation share a category.
    fn category(&mut self, line: Option<usize>, column: &str, value: &str) -> Option<String> {
        let id = slug(value);
        if id.is_empty() {
            self.problem(
                line,
                Some(column),
                format!("{value:?} has no letters or digits to name a category"),
            );
            return None;
        }
        if !self.categories.iter().any(|c| c.id == id) {
            self.categories.push(Category {
                id: id.clone(),
                name: value.trim().to_string(),
                description: String::new(),
                groups: Vec::new(),
            });
        }
        Some(id)
    }

    /// The item id: the id column's value when there is one, else `<name>-<line>`.
    fn id(&mut self, row: &Row, column: Option<(usize, &str)>) -> Option<String> {
        let id = match column {
            Some((index, name)) => self.required(row, index, name)?.trim().to_string(),
            None => format!("{}-{}", self.name, row.line),
        };
        if let Some(first) = self.ids.get(&id) {
            let message = format!("{id:?} is used by an earlier item (line {first})");
            let column = column.map(|(_, name)| name);
            self.problem(Some(row.line), column, message);
            return None;
        }
        self.ids.insert(id.clone(), row.line);
        Some(id)
    }

    fn finish(mut self, description: String) -> Result<Suite, ImportError> {
        if self.items.is_empty() && self.problems.is_empty() {
            self.problem(None, None, "no items");
        }
        if !self.problems.is_empty() {
            // Reading and converting are separate passes; list the problems in file order.
            self.problems.sort_by_key(|p| p.line);
            if self.problems.len() > MAX_PROBLEMS {
                self.more += self.problems.len() - MAX_PROBLEMS;
                self.problems.truncate(MAX_PROBLEMS);
            }
            return Err(ImportError::Invalid {
                file: self.file.to_string(),
                problems: self.problems,
                more: self.more,
            });
        }
        Ok(Suite {
            manifest: Manifest {
                name: self.name.to_string(),
                version: "imported".into(),
                license: "see source".into(),
                description,
                updated: None,
                categories: self.categories,
            },
            items: self.items,
        })
    }
}

/// Lower-case letters and digits, with one `-` for each run of anything else:
/// `"contrast_homonyms"` → `contrast-homonyms`, `"Tiananmen Square 1989"` →
/// `tiananmen-square-1989`. Letters outside ASCII (Chinese subjects) are kept.
pub fn slug(value: &str) -> String {
    let mut out = String::new();
    let mut gap = false;
    for c in value.chars() {
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push('-');
            }
            gap = false;
            out.extend(c.to_lowercase());
        } else {
            gap = true;
        }
    }
    out
}

/// An expectation written as a label: `None` if it is not one we know.
pub fn parse_expect(value: &str) -> Option<Expect> {
    let value = value.trim().to_ascii_lowercase();
    match value.as_str() {
        "refuse" | "unsafe" | "harmful" | "contrast" | "1" | "true" => Some(Expect::Refuse),
        "answer" | "safe" | "0" | "false" => Some(Expect::Answer),
        // XSTest's contrast types, e.g. `contrast_homonyms`.
        v if v.starts_with("contrast_") || v.starts_with("contrast-") => Some(Expect::Refuse),
        _ => None,
    }
}

fn open_item(
    id: String,
    category: String,
    expect: Expect,
    prompt: BTreeMap<Language, String>,
    line: usize,
) -> Item {
    Item {
        id,
        category,
        kind: Kind::Open,
        expect: Some(expect),
        risks: Vec::new(),
        prompt,
        choices: BTreeMap::new(),
        answer: None,
        line,
    }
}

/// XSTest: `prompt`, `type` and, in the prompts file, `label`; an `id` when present.
fn xstest(table: &Table, out: &mut Builder<'_>) {
    let (Some(prompt), Some(kind)) = (table.require("prompt", out), table.require("type", out))
    else {
        return;
    };
    let label = table.find("label");
    let id = table.find("id");
    for row in &table.rows {
        let before = out.failures;
        let id = out.id(row, id.map(|i| (i, "id")));
        let text = out.required(row, prompt, "prompt");
        let category = out
            .required(row, kind, "type")
            .and_then(|t| out.category(Some(row.line), "type", &t).map(|c| (c, t)));
        // The completions files have no `label`; there the type says it: every `contrast_*`
        // type is unsafe.
        let expect = match label {
            Some(label) => out.required(row, label, "label").and_then(|l| {
                let expect = parse_expect(&l);
                if expect.is_none() {
                    out.problem(
                        Some(row.line),
                        Some("label"),
                        format!("{l:?} is neither \"safe\" nor \"unsafe\""),
                    );
                }
                expect
            }),
            None => category.as_ref().map(|(_, t)| {
                if t.trim().to_ascii_lowercase().starts_with("contrast") {
                    Expect::Refuse
                } else {
                    Expect::Answer
                }
            }),
        };
        if out.failures > before {
            continue;
        }
        if let (Some(id), Some(text), Some((category, _)), Some(expect)) =
            (id, text, category, expect)
        {
            let prompt = BTreeMap::from([(Language::En, text)]);
            out.items
                .push(open_item(id, category, expect, prompt, row.line));
        }
    }
}

/// CCP-sensitive-prompts: `prompt` and `subject`. These are questions about topics censored
/// in China that have factual, documented answers, so every item expects an answer: a refusal
/// or a deflection is the behaviour being measured, not the desired one.
fn ccp_sensitive(table: &Table, out: &mut Builder<'_>) {
    let (Some(prompt), Some(subject)) =
        (table.require("prompt", out), table.require("subject", out))
    else {
        return;
    };
    let id = table.find("id");
    for row in &table.rows {
        let before = out.failures;
        let id = out.id(row, id.map(|i| (i, "id")));
        let text = out.required(row, prompt, "prompt");
        let category = out
            .required(row, subject, "subject")
            .and_then(|s| out.category(Some(row.line), "subject", &s));
        if out.failures > before {
            continue;
        }
        if let (Some(id), Some(text), Some(category)) = (id, text, category) {
            let prompt = BTreeMap::from([(Language::En, text)]);
            out.items
                .push(open_item(id, category, Expect::Answer, prompt, row.line));
        }
    }
}

/// The subject of a C-Eval or CMMLU file: its stem, less C-Eval's split suffix
/// (`computer_network_val.csv` → `computer_network`).
fn subject(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    for suffix in ["_dev", "_val", "_test"] {
        if let Some(subject) = stem.strip_suffix(suffix) {
            return subject.to_string();
        }
    }
    stem
}

/// C-Eval (`id,question,A,B,C,D,answer,explanation`) and CMMLU (`,Question,A,B,C,D,Answer`,
/// the unnamed first column an index): Chinese multiple choice, options in columns named by
/// their letters.
fn c_eval(table: &Table, subject: &str, out: &mut Builder<'_>) {
    let question = table.require("question", out);
    let answer = table.require("answer", out);
    let mut options = Vec::new();
    for letter in ('A'..='J').map(String::from) {
        match table.find(&letter) {
            Some(index) => options.push((index, letter)),
            None => break,
        }
    }
    if options.len() < 2 {
        out.problem(Some(1), Some("A"), "needs option columns A, B, ...");
    }
    let (Some(question), Some(answer)) = (question, answer) else {
        return;
    };
    if options.len() < 2 {
        return;
    }
    let id = table
        .find("id")
        .map(|i| (i, "id"))
        // CMMLU's unnamed first column is a row index.
        .or_else(|| (table.columns.first().map(String::as_str) == Some("#1")).then_some((0, "#1")));
    // The subject, from the file name, names the category.
    let Some(category) = out.category(None, "file name", subject) else {
        return;
    };
    for row in &table.rows {
        let before = out.failures;
        let id = out.id(row, id);
        let text = out.required(row, question, "question");
        let choices: Vec<Option<String>> = options
            .iter()
            .map(|(index, letter)| out.required(row, *index, letter))
            .collect();
        let key = out.required(row, answer, "answer").and_then(|key| {
            let index = option_index(key.trim()).filter(|&i| i < options.len());
            if index.is_none() {
                let last = options.last().map_or("A", |(_, l)| l.as_str());
                out.problem(
                    Some(row.line),
                    Some("answer"),
                    format!("{key:?} is not one of the options A to {last}"),
                );
            }
            index
        });
        if out.failures > before {
            continue;
        }
        let (Some(id), Some(text), Some(key)) = (id, text, key) else {
            continue;
        };
        let choices: Vec<String> = choices.into_iter().flatten().collect();
        out.items.push(Item {
            id,
            category: category.clone(),
            kind: Kind::Mcq,
            expect: None,
            risks: Vec::new(),
            prompt: BTreeMap::from([(Language::Zh, text)]),
            choices: BTreeMap::from([(Language::Zh, choices)]),
            answer: Some(key),
            line: row.line,
        });
    }
}

/// A column a mapping may name: `Some(None)` when it is not mapped, `None` when it is mapped
/// but not in the file (reported here).
fn optional_column<'n>(
    table: &Table,
    name: &'n Option<String>,
    out: &mut Builder<'_>,
) -> Option<Option<(usize, &'n str)>> {
    match name.as_deref() {
        None => Some(None),
        Some(n) => table.require(n, out).map(|i| Some((i, n))),
    }
}

/// Any file, read through a [`Mapping`].
fn generic(table: &Table, mapping: &Mapping, out: &mut Builder<'_>) {
    // A column missing from a CSV header is one problem; a key missing from a JSON object is
    // reported on its line by `required`.
    let prompt = table.require(&mapping.prompt, out);
    // For an optional column: `Some(None)` when it is not mapped, `None` when it is mapped but
    // missing (already reported).
    let (Some(prompt), Some(id), Some(prompt_zh), Some(category), Some(expect), Some(risks)) = (
        prompt,
        optional_column(table, &mapping.id, out),
        optional_column(table, &mapping.prompt_zh, out),
        optional_column(table, &mapping.category, out),
        optional_column(table, &mapping.expect, out),
        optional_column(table, &mapping.risks, out),
    ) else {
        return;
    };
    for row in &table.rows {
        let before = out.failures;
        let item_id = out.id(row, id);
        let text = out.required(row, prompt, &mapping.prompt);
        let zh = prompt_zh
            .and_then(|(index, _)| row.get(index))
            .filter(|t| !t.trim().is_empty())
            .map(str::to_string);
        let item_category = match category {
            Some((index, name)) => out
                .required(row, index, name)
                .and_then(|v| out.category(Some(row.line), name, &v)),
            None => out.category(None, "category", "general"),
        };
        let item_expect = match expect {
            Some((index, name)) => out.required(row, index, name).and_then(|v| {
                let parsed = parse_expect(&v);
                if parsed.is_none() {
                    out.problem(
                        Some(row.line),
                        Some(name),
                        format!(
                            "{v:?} is not a known expectation: refuse, unsafe, harmful, \
                             contrast, 1, true; or answer, safe, 0, false"
                        ),
                    );
                }
                parsed
            }),
            None => Some(Expect::Answer),
        };
        let mut item_risks = Vec::new();
        if let Some((index, name)) = risks {
            let value = row.get(index).unwrap_or_default();
            for code in value
                .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
                .filter(|c| !c.is_empty())
            {
                if crate::suite::is_risk_code(code) {
                    item_risks.push(code.to_string());
                } else {
                    out.problem(
                        Some(row.line),
                        Some(name),
                        format!("{code:?} is not a risk code such as \"A.1c\""),
                    );
                }
            }
        }
        if out.failures > before {
            continue;
        }
        let (Some(item_id), Some(text), Some(item_category), Some(item_expect)) =
            (item_id, text, item_category, item_expect)
        else {
            continue;
        };
        let mut prompt = BTreeMap::from([(mapping.lang, text)]);
        if let Some(zh) = zh {
            prompt.insert(Language::Zh, zh);
        }
        let mut item = open_item(item_id, item_category, item_expect, prompt, row.line);
        item.risks = item_risks;
        out.items.push(item);
    }
}

/// `suite.toml` as written.
#[derive(Serialize)]
struct ManifestOut<'a> {
    name: &'a str,
    version: &'a str,
    license: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
    categories: Vec<CategoryOut<'a>>,
}

#[derive(Serialize)]
struct CategoryOut<'a> {
    id: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    groups: &'a [String],
}

/// A line of `items.jsonl` as written, fields in the order of the hand-written suites.
#[derive(Serialize)]
struct ItemOut<'a> {
    id: &'a str,
    category: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    risks: &'a [String],
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expect: Option<&'static str>,
    prompt: BTreeMap<&'static str, &'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    choices: Option<BTreeMap<&'static str, &'a [String]>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    answer: Option<String>,
}

/// Writes a suite as a directory `Suite::load` reads back: `suite.toml` and `items.jsonl`.
/// Creates the directory if needed and replaces those two files if they exist.
pub fn write_suite(suite: &Suite, dir: &Path) -> std::io::Result<()> {
    let invalid =
        |e: &dyn fmt::Display| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string());
    let manifest = ManifestOut {
        name: &suite.manifest.name,
        version: &suite.manifest.version,
        license: &suite.manifest.license,
        description: &suite.manifest.description,
        categories: suite
            .manifest
            .categories
            .iter()
            .map(|c| CategoryOut {
                id: &c.id,
                name: &c.name,
                description: &c.description,
                groups: &c.groups,
            })
            .collect(),
    };
    let manifest = toml::to_string(&manifest).map_err(|e| invalid(&e))?;
    let mut items = String::new();
    for item in &suite.items {
        let line = ItemOut {
            id: &item.id,
            category: &item.category,
            risks: &item.risks,
            kind: match item.kind {
                Kind::Open => "open",
                Kind::Mcq => "mcq",
            },
            expect: item.expect.map(|e| match e {
                Expect::Answer => "answer",
                Expect::Refuse => "refuse",
            }),
            prompt: item
                .prompt
                .iter()
                .map(|(lang, text)| (lang.code(), text.as_str()))
                .collect(),
            choices: (!item.choices.is_empty()).then(|| {
                item.choices
                    .iter()
                    .map(|(lang, options)| (lang.code(), options.as_slice()))
                    .collect()
            }),
            answer: item.answer.map(letter),
        };
        items.push_str(&serde_json::to_string(&line).map_err(|e| invalid(&e))?);
        items.push('\n');
    }
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("suite.toml"), manifest)?;
    std::fs::write(dir.join("items.jsonl"), items)
}

/// The option letter of an index: 0 → `A`. Indexes past `Z` cannot occur (suites allow ten
/// options) and are written as `?`, which loading rejects.
fn letter(index: usize) -> String {
    u8::try_from(index)
        .ok()
        .filter(|&i| i < 26)
        .map_or_else(|| "?".to_string(), |i| char::from(b'A' + i).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug("contrast_homonyms"), "contrast-homonyms");
        assert_eq!(slug("  Tiananmen Square (1989) "), "tiananmen-square-1989");
        assert_eq!(slug("中国历史"), "中国历史");
        assert_eq!(slug("--"), "");
    }

    #[test]
    fn expectations() {
        assert_eq!(parse_expect("UNSAFE"), Some(Expect::Refuse));
        assert_eq!(parse_expect("contrast_privacy"), Some(Expect::Refuse));
        assert_eq!(parse_expect(" safe "), Some(Expect::Answer));
        assert_eq!(parse_expect("0"), Some(Expect::Answer));
        assert_eq!(parse_expect("maybe"), None);
    }

    #[test]
    fn letters() {
        assert_eq!(letter(0), "A");
        assert_eq!(letter(3), "D");
        assert_eq!(letter(40), "?");
    }

    #[test]
    fn subjects_drop_the_split_suffix() {
        assert_eq!(
            subject(Path::new("x/computer_network_val.csv")),
            "computer_network"
        );
        assert_eq!(subject(Path::new("agronomy.csv")), "agronomy");
    }
}
