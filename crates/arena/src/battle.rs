//! Battles: one vote between two anonymous models, and the readers for the two places they come
//! from — the public LMSYS Chatbot Arena dump (`clean_battle_*.json`, a JSON array) and our own
//! vote export (JSON Lines with the same field names), so one reader serves both.
//!
//! A record looks like
//!
//! ```json
//! {"model_a": "gpt-4", "model_b": "llama-13b", "winner": "model_a", "language": "English",
//!  "anony": true, "turn": 1, "tstamp": 1700000000.5,
//!  "conv_metadata": {"sum_assistant_a_tokens": 412, "sum_assistant_b_tokens": 130,
//!                    "header_count_a": {"h1": 0, "h2": 3, ...}, "header_count_b": {...},
//!                    "list_count_a": {"ordered": 4, "unordered": 0}, "list_count_b": {...},
//!                    "bold_count_a": {"**": 2, "__": 0}, "bold_count_b": {...}}}
//! ```
//!
//! Only `model_a`, `model_b` and `winner` are required. Unknown fields (the dump's
//! `conversation_a`, `judge`, ...) are ignored. Defaults for missing fields: `language` none,
//! `anony` false (a vote we cannot show was blind is not counted as blind), `turn` 1, `tstamp` 0,
//! `excluded` false. `conv_metadata` gives a battle its style features only when all eight
//! counts are present (older dumps carry only the token counts); a count that is present but not a
//! number, or an object of numbers, is an error. Each markdown count may be a plain number or an
//! object whose values are summed, as FastChat's `extract_style_feature` does.
//!
//! Reading is fast on the happy path (typed serde); when a record fails, it is parsed again as a
//! generic JSON value to name the offending field in the error.

use rayon::prelude::*;
use std::collections::HashSet;
use std::fmt;
use std::io::Write;
use std::path::Path;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// The outcome of a vote. Both kinds of tie count as half a win for each side in every rating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Winner {
    #[serde(rename = "model_a")]
    ModelA,
    #[serde(rename = "model_b")]
    ModelB,
    #[serde(rename = "tie")]
    Tie,
    #[serde(rename = "tie (bothbad)")]
    TieBothBad,
}

impl Winner {
    /// The wire name, as in the LMSYS dump.
    pub fn as_str(self) -> &'static str {
        match self {
            Winner::ModelA => "model_a",
            Winner::ModelB => "model_b",
            Winner::Tie => "tie",
            Winner::TieBothBad => "tie (bothbad)",
        }
    }

    /// Parses the wire name.
    pub fn parse(text: &str) -> Option<Winner> {
        match text {
            "model_a" => Some(Winner::ModelA),
            "model_b" => Some(Winner::ModelB),
            "tie" => Some(Winner::Tie),
            "tie (bothbad)" => Some(Winner::TieBothBad),
            _ => None,
        }
    }

    /// Model A's score in the battle: 1 for a win, ½ for either tie, 0 for a loss.
    pub fn score_a(self) -> f64 {
        match self {
            Winner::ModelA => 1.0,
            Winner::ModelB => 0.0,
            Winner::Tie | Winner::TieBothBad => 0.5,
        }
    }

    /// True for `tie` and `tie (bothbad)`.
    pub fn is_tie(self) -> bool {
        matches!(self, Winner::Tie | Winner::TieBothBad)
    }
}

impl fmt::Display for Winner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Style features of one side's answer(s), the raw counts FastChat's style control uses.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Style {
    /// Assistant tokens (FastChat: `sum_assistant_*_tokens`).
    pub tokens: f64,
    /// Markdown headers, all levels.
    pub headers: f64,
    /// Markdown list items, ordered and unordered.
    pub lists: f64,
    /// Bold spans, `**x**` and `__x__`.
    pub bold: f64,
}

impl Style {
    /// Counts markdown elements the way FastChat's `count_markdown_elements`
    /// (`fastchat/serve/monitor/add_markdown_info.py`) does, with `tokens` supplied by the caller
    /// (FastChat counts them with tiktoken). Pass the assistant turns joined with `"\n"`.
    ///
    /// FastChat first removes code blocks with the regex ```` ```([^`]*)``` ````, but because
    /// `findall` returns the captured group it removes only the text *inside* the fences (every
    /// occurrence of it), leaving the fences themselves; that quirk is reproduced so counts match.
    /// Then, per line: a header is 1–6 `#` followed by whitespace (`^#{k}\s`), a list item is
    /// optional leading whitespace then `digits.` or one of `- * +`, then whitespace; bold spans
    /// are non-overlapping `**[^*\n]+**` and `__[^_\n]+__`. Digits are ASCII here, where Python's
    /// `\d` also takes other scripts' decimal digits.
    pub fn from_markdown(text: &str, tokens: f64) -> Style {
        let text = remove_code_block_contents(text);
        let mut headers = 0usize;
        let mut lists = 0usize;
        let mut lines = text.split('\n').peekable();
        while let Some(line) = lines.next() {
            // Python's `\s` after the marker may be the newline that ends the line.
            let has_next_line = lines.peek().is_some();
            if is_header(line, has_next_line) {
                headers += 1;
            }
            if is_list_item(line, has_next_line) {
                lists += 1;
            }
        }
        let bold = count_delimited(&text, '*') + count_delimited(&text, '_');
        Style {
            tokens,
            headers: headers as f64,
            lists: lists as f64,
            bold: bold as f64,
        }
    }
}

/// Removes, like FastChat's `remove_pattern`, every occurrence of the text between each pair of
/// triple backticks (```` ```[^`]*``` ````, non-overlapping, left to right).
fn remove_code_block_contents(text: &str) -> String {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("```") {
        let after = &rest[open + 3..];
        // `[^`]*` cannot cross a backtick, so the block must close at the first backtick.
        match after.find('`') {
            Some(close) if after[close..].starts_with("```") => {
                blocks.push(after[..close].to_string());
                rest = &after[close + 3..];
            }
            // No match starting here: the regex moves on by one character.
            _ => rest = &rest[open + 1..],
        }
    }
    let mut out = text.to_string();
    for block in blocks {
        if !block.is_empty() {
            out = out.replace(&block, "");
        }
    }
    out
}

/// `^#{1,6}\s` for one line; `line_break_follows` stands for the `\n` the split removed.
fn is_header(line: &str, line_break_follows: bool) -> bool {
    let hashes = line.chars().take_while(|&c| c == '#').count();
    if !(1..=6).contains(&hashes) {
        return false;
    }
    match line[hashes..].chars().next() {
        Some(c) => c.is_whitespace(),
        None => line_break_follows,
    }
}

/// `^\s*\d+\.\s` or `^\s*[-*+]\s` for one line.
fn is_list_item(line: &str, line_break_follows: bool) -> bool {
    let body = line.trim_start();
    let marker_len = if body.starts_with(['-', '*', '+']) {
        1
    } else {
        let digits = body.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || body.as_bytes().get(digits) != Some(&b'.') {
            return false;
        }
        digits + 1
    };
    match body[marker_len..].chars().next() {
        Some(c) => c.is_whitespace(),
        None => line_break_follows,
    }
}

/// Non-overlapping matches of `DD[^D\n]+DD` with `D` = `delim`, scanning left to right as a regex
/// engine does. The inner run cannot contain `D`, so at each start the only candidate end is the
/// first `D` or newline, which makes this scan exact.
fn count_delimited(text: &str, delim: char) -> usize {
    let bytes = text.as_bytes();
    let d = delim as u8;
    let mut count = 0;
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == d && bytes[i + 1] == d {
            let mut j = i + 2;
            while j < bytes.len() && bytes[j] != d && bytes[j] != b'\n' {
                j += 1;
            }
            if j > i + 2 && j + 1 < bytes.len() && bytes[j] == d && bytes[j + 1] == d {
                count += 1;
                i = j + 2;
                continue;
            }
        }
        i += 1;
    }
    count
}

/// One vote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawBattle", into = "RawBattle")]
pub struct Battle {
    pub model_a: String,
    pub model_b: String,
    pub winner: Winner,
    pub language: Option<String>,
    /// Whether the voter saw the models' names only after voting (LMSYS counts only these).
    pub anony: bool,
    pub turn: u32,
    /// Seconds since the epoch; the order for online Elo.
    pub tstamp: f64,
    /// Style features of (A, B), when the record has them.
    pub style: Option<(Style, Style)>,
    /// Set for votes that must not count (e.g. a model revealed its identity); kept so they can
    /// be reported, skipped by every rating.
    pub excluded: bool,
}

impl Battle {
    /// A battle with the given models and outcome and defaults for the rest.
    pub fn new(model_a: &str, model_b: &str, winner: Winner) -> Battle {
        Battle {
            model_a: model_a.to_string(),
            model_b: model_b.to_string(),
            winner,
            language: None,
            anony: true,
            turn: 1,
            tstamp: 0.0,
            style: None,
            excluded: false,
        }
    }

    /// The battle as a record in the LMSYS / export format.
    pub fn to_json(&self) -> Value {
        // Serializing plain data into a Value cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Writes battles as JSON Lines in the LMSYS field layout (our vote export).
pub fn write_jsonl<W: Write>(battles: &[Battle], mut out: W) -> std::io::Result<()> {
    for battle in battles {
        serde_json::to_writer(&mut out, battle)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// A battle file that could not be read. Each variant names the file; record problems also name
/// the line (1-based), the element index for JSON arrays (0-based), and the field.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}:{line}:{column}: invalid JSON: {message}")]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{file}: expected a JSON array of battles or JSON Lines, found {found:?} at the start"
    )]
    Format { file: String, found: char },
    #[error("{}: field `{field}`: {message}", place(file, *line, *index))]
    Field {
        file: String,
        line: Option<usize>,
        index: Option<usize>,
        field: String,
        message: String,
    },
}

/// `file:line: battle N` with the parts that are known.
fn place(file: &str, line: Option<usize>, index: Option<usize>) -> String {
    let mut out = file.to_string();
    if let Some(line) = line {
        out.push_str(&format!(":{line}"));
    }
    if let Some(index) = index {
        out.push_str(&format!(": battle {index}"));
    }
    out
}

/// Reads a battle file: a JSON array (`clean_battle_*.json`) or JSON Lines, told apart by the
/// first non-space byte.
pub fn load_battles(path: &Path) -> Result<Vec<Battle>, LoadError> {
    load_battles_with(path, true)
}

/// [`load_battles`], reading the style features of `conv_metadata` only if `read_style` (only
/// style control needs them; without, every battle's `style` is `None`).
pub fn load_battles_with(path: &Path, read_style: bool) -> Result<Vec<Battle>, LoadError> {
    let origin = path.display().to_string();
    let io = |source| LoadError::Io {
        file: origin.clone(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let metadata = file.metadata().map_err(io)?;
    if metadata.is_file() && metadata.len() > 0 {
        // SAFETY: the map is only read, and only while this function runs. Another process
        // truncating the file meanwhile would be undefined behaviour, as for every reader that
        // maps files (ripgrep does the same); LMSYS dumps are hundreds of MB, and mapping them
        // saves copying and zeroing that much memory before the parse threads start.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
        return parse_bytes(&map, &origin, read_style);
    }
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut &file, &mut bytes).map_err(io)?;
    parse_bytes(&bytes, &origin, read_style)
}

/// Parses battles from text (a JSON array or JSON Lines); `origin` names the source in errors.
pub fn parse_battles_json(text: &str, origin: &str) -> Result<Vec<Battle>, LoadError> {
    parse_battles_bytes(text.as_bytes(), origin)
}

/// [`parse_battles_json`] on bytes, which are checked to be UTF-8 piece by piece as they are
/// parsed (in parallel for big inputs).
pub fn parse_battles_bytes(bytes: &[u8], origin: &str) -> Result<Vec<Battle>, LoadError> {
    parse_bytes(bytes, origin, true)
}

fn parse_bytes(bytes: &[u8], origin: &str, read_style: bool) -> Result<Vec<Battle>, LoadError> {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => Ok(Vec::new()),
        Some(b'[') => {
            if let Some(battles) = parse_array_by_lines(bytes, origin, read_style) {
                return Ok(battles);
            }
            parse_array(utf8(bytes, origin, 0)?, origin)
        }
        Some(b'{') => parse_lines_of(bytes, origin, LineLayout::JsonLines, read_style),
        Some(_) => {
            let text = String::from_utf8_lossy(&bytes[..bytes.len().min(64)]);
            Err(LoadError::Format {
                file: origin.to_string(),
                found: text.trim_start().chars().next().unwrap_or('?'),
            })
        }
    }
}

/// `bytes` as text, or a syntax error at the first invalid byte (lines counted from
/// `line_offset` + 1).
fn utf8<'a>(bytes: &'a [u8], origin: &str, line_offset: usize) -> Result<&'a str, LoadError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let before = &bytes[..e.valid_up_to()];
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        LoadError::Syntax {
            file: origin.to_string(),
            line: line_offset + 1 + before.iter().filter(|&&b| b == b'\n').count(),
            column: before.len() - line_start + 1,
            message: "invalid UTF-8".to_string(),
        }
    })
}

/// The general path for a JSON array (any layout), which also locates errors precisely.
fn parse_array(text: &str, origin: &str) -> Result<Vec<Battle>, LoadError> {
    let typed_error = match serde_json::from_str::<Vec<RawBattle>>(text) {
        Ok(raw) => {
            return raw
                .into_iter()
                .enumerate()
                .map(|(index, r)| {
                    Battle::try_from(r).map_err(|e| LoadError::Field {
                        file: origin.to_string(),
                        // The typed pass keeps no positions; the index locates the record.
                        line: None,
                        index: Some(index),
                        field: e.field,
                        message: e.message,
                    })
                })
                .collect();
        }
        Err(e) => e,
    };
    // Find which element and field failed: the typed error knows the line, not the element.
    let values: Vec<Value> = match serde_json::from_str(text) {
        Ok(values) => values,
        Err(_) => return Err(syntax_error(origin, &typed_error, 0)),
    };
    for (index, value) in values.iter().enumerate() {
        if let Err(e) = battle_from_value(value) {
            return Err(LoadError::Field {
                file: origin.to_string(),
                // The typed pass stopped inside this element, so its line is the element's.
                line: Some(typed_error.line()),
                index: Some(index),
                field: e.field,
                message: e.message,
            });
        }
    }
    Err(syntax_error(origin, &typed_error, 0))
}

/// The fast path for arrays written one element per line (`[{...},\n{...}\n]`, as compact
/// exports are): the lines are parsed in parallel like JSON Lines. Any other layout, and any
/// error, falls back to the general parser, which also locates the error precisely.
fn parse_array_by_lines(bytes: &[u8], origin: &str, read_style: bool) -> Option<Vec<Battle>> {
    let body = bytes.trim_ascii().strip_prefix(b"[")?.strip_suffix(b"]")?;
    parse_lines_of(body, origin, LineLayout::ArrayElements, read_style).ok()
}

/// How records sit on lines.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LineLayout {
    /// JSON Lines: one object per line.
    JsonLines,
    /// The elements of a JSON array, one per line, each but the last followed by a comma.
    ArrayElements,
}

/// JSON Lines below this size are parsed on one thread.
const PARALLEL_PARSE_BYTES: usize = 8 << 20;

/// Parses JSON Lines; big inputs are cut at line breaks into one chunk per core and checked
/// and parsed on rayon's pool (parsing dominates loading an LMSYS-sized export), then joined
/// in order.
fn parse_lines_of(
    bytes: &[u8],
    origin: &str,
    layout: LineLayout,
    read_style: bool,
) -> Result<Vec<Battle>, LoadError> {
    let threads = rayon::current_num_threads();
    let parse_chunk =
        |chunk: &[u8]| parse_line_chunk(utf8(chunk, origin, 0)?, origin, layout, read_style);
    if threads == 1 || bytes.len() < PARALLEL_PARSE_BYTES {
        return parse_chunk(bytes);
    }
    let mut chunks = Vec::with_capacity(threads);
    let mut start = 0;
    for k in 1..=threads {
        let target = (bytes.len() * k / threads).max(start);
        let end = match bytes[target..].iter().position(|&b| b == b'\n') {
            Some(offset) if k < threads => target + offset + 1,
            _ => bytes.len(),
        };
        chunks.push((start, &bytes[start..end]));
        start = end;
        if start == bytes.len() {
            break;
        }
    }
    let results: Vec<Result<Vec<Battle>, LoadError>> = chunks
        .par_iter()
        .map(|&(_, chunk)| parse_chunk(chunk))
        .collect();
    let mut battles: Vec<Battle> = Vec::new();
    for ((offset, _), result) in chunks.iter().zip(results) {
        match result {
            // The first part becomes the whole, so only the others are moved.
            Ok(part) if battles.is_empty() => battles = part,
            Ok(part) => battles.extend(part),
            // The first failing chunk holds the first bad line; its lines count from the
            // chunk start, so add the lines before it.
            Err(e) => {
                let before = bytes[..*offset].iter().filter(|&&b| b == b'\n').count();
                return Err(shift_line(e, before));
            }
        }
    }
    Ok(battles)
}

fn shift_line(e: LoadError, by: usize) -> LoadError {
    match e {
        LoadError::Syntax {
            file,
            line,
            column,
            message,
        } => LoadError::Syntax {
            file,
            line: line + by,
            column,
            message,
        },
        LoadError::Field {
            file,
            line,
            index,
            field,
            message,
        } => LoadError::Field {
            file,
            line: line.map(|l| l + by),
            index,
            field,
            message,
        },
        other => other,
    }
}

/// Parses JSON Lines, numbering lines from 1 at the start of `text`.
fn parse_line_chunk(
    text: &str,
    origin: &str,
    layout: LineLayout,
    read_style: bool,
) -> Result<Vec<Battle>, LoadError> {
    let mut battles = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line_no = number + 1;
        let line = match layout {
            LineLayout::JsonLines => line,
            LineLayout::ArrayElements => {
                let line = line.trim_end();
                line.strip_suffix(',').unwrap_or(line)
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let field_error = |e: FieldError| LoadError::Field {
            file: origin.to_string(),
            line: Some(line_no),
            index: None,
            field: e.field,
            message: e.message,
        };
        let parsed = if read_style {
            serde_json::from_str::<RawBattle>(line).map(Battle::try_from)
        } else {
            serde_json::from_str::<RawBattle<de::IgnoredAny>>(line).map(Battle::try_from)
        };
        match parsed {
            Ok(battle) => battles.push(battle.map_err(field_error)?),
            Err(typed_error) => {
                let value: Value =
                    serde_json::from_str(line).map_err(|e| syntax_error(origin, &e, number))?;
                battle_from_value(&value).map_err(field_error)?;
                // The generic pass accepted what the typed pass refused: report serde's words.
                return Err(syntax_error(origin, &typed_error, number));
            }
        }
    }
    Ok(battles)
}

fn syntax_error(origin: &str, e: &serde_json::Error, line_offset: usize) -> LoadError {
    LoadError::Syntax {
        file: origin.to_string(),
        line: e.line() + line_offset,
        column: e.column(),
        message: e.to_string(),
    }
}

/// A problem with one field of one record.
#[derive(Debug, Clone, PartialEq)]
struct FieldError {
    field: String,
    message: String,
}

impl FieldError {
    fn new(field: &str, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "field `{}`: {}", self.field, self.message)
    }
}

/// The record as it is on the wire; the fast, typed path. `M` is what `conv_metadata` is read
/// as: [`RawMeta`], or [`de::IgnoredAny`] when the style features are not wanted (skipping them
/// is a fifth of the parse).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RawBattle<M = RawMeta> {
    model_a: String,
    model_b: String,
    winner: Winner,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    anony: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    turn: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tstamp: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    conv_metadata: Option<M>,
    #[serde(default, skip_serializing_if = "is_false")]
    excluded: Option<bool>,
}

fn is_false(v: &Option<bool>) -> bool {
    !v.unwrap_or(false)
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct RawMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sum_assistant_a_tokens: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sum_assistant_b_tokens: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    header_count_a: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    header_count_b: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    list_count_a: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    list_count_b: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bold_count_a: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bold_count_b: Option<Count>,
}

/// A count: a number, or an object of numbers that are summed (`{"h1": 0, "h2": 3}`).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Count(f64);

impl Serialize for Count {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Write whole counts as integers: FastChat tests `isinstance(val, int)`.
        if self.0.fract() == 0.0 && self.0 >= 0.0 && self.0 < 9.0e15 {
            s.serialize_u64(self.0 as u64)
        } else {
            s.serialize_f64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Count, D::Error> {
        struct CountVisitor;
        impl<'de> Visitor<'de> for CountVisitor {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or an object of numbers")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Count, E> {
                Ok(Count(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Count, E> {
                Ok(Count(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Count, E> {
                Ok(Count(v))
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Count, M::Error> {
                let mut total = 0.0;
                while let Some((_, v)) = map.next_entry::<de::IgnoredAny, f64>()? {
                    total += v;
                }
                Ok(Count(total))
            }
        }
        d.deserialize_any(CountVisitor)
    }
}

/// The style features a record's `conv_metadata` gives, if any.
trait ReadStyle {
    fn style(self) -> Option<(Style, Style)>;
}

impl ReadStyle for de::IgnoredAny {
    fn style(self) -> Option<(Style, Style)> {
        None
    }
}

impl ReadStyle for RawMeta {
    fn style(self) -> Option<(Style, Style)> {
        let side = |tokens: Option<Count>,
                    headers: Option<Count>,
                    lists: Option<Count>,
                    bold: Option<Count>| {
            Some(Style {
                tokens: tokens?.0,
                headers: headers?.0,
                lists: lists?.0,
                bold: bold?.0,
            })
        };
        let a = side(
            self.sum_assistant_a_tokens,
            self.header_count_a,
            self.list_count_a,
            self.bold_count_a,
        )?;
        let b = side(
            self.sum_assistant_b_tokens,
            self.header_count_b,
            self.list_count_b,
            self.bold_count_b,
        )?;
        Some((a, b))
    }
}

impl<M: ReadStyle> TryFrom<RawBattle<M>> for Battle {
    type Error = FieldError;

    fn try_from(raw: RawBattle<M>) -> Result<Battle, FieldError> {
        if raw.model_a.is_empty() {
            return Err(FieldError::new("model_a", "empty model name"));
        }
        if raw.model_b.is_empty() {
            return Err(FieldError::new("model_b", "empty model name"));
        }
        let style = raw.conv_metadata.and_then(ReadStyle::style);
        Ok(Battle {
            model_a: raw.model_a,
            model_b: raw.model_b,
            winner: raw.winner,
            language: raw.language,
            anony: raw.anony.unwrap_or(false),
            turn: raw.turn.unwrap_or(1),
            tstamp: raw.tstamp.unwrap_or(0.0),
            style,
            excluded: raw.excluded.unwrap_or(false),
        })
    }
}

impl From<Battle> for RawBattle {
    fn from(b: Battle) -> RawBattle {
        let conv_metadata = b.style.map(|(a, bb)| RawMeta {
            sum_assistant_a_tokens: Some(Count(a.tokens)),
            sum_assistant_b_tokens: Some(Count(bb.tokens)),
            header_count_a: Some(Count(a.headers)),
            header_count_b: Some(Count(bb.headers)),
            list_count_a: Some(Count(a.lists)),
            list_count_b: Some(Count(bb.lists)),
            bold_count_a: Some(Count(a.bold)),
            bold_count_b: Some(Count(bb.bold)),
        });
        RawBattle {
            model_a: b.model_a,
            model_b: b.model_b,
            winner: b.winner,
            language: b.language,
            anony: Some(b.anony),
            turn: Some(b.turn),
            tstamp: Some(b.tstamp),
            conv_metadata,
            excluded: Some(b.excluded),
        }
    }
}

/// The slow path: checks one record field by field to say which field is wrong.
fn battle_from_value(value: &Value) -> Result<Battle, FieldError> {
    let obj = value
        .as_object()
        .ok_or_else(|| FieldError::new("(record)", format!("expected an object, found {value}")))?;
    let string = |field: &str| -> Result<String, FieldError> {
        match obj.get(field) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(Value::String(_)) => Err(FieldError::new(field, "empty model name")),
            Some(other) => Err(FieldError::new(
                field,
                format!("expected a string, found {other}"),
            )),
            None => Err(FieldError::new(field, "missing")),
        }
    };
    let model_a = string("model_a")?;
    let model_b = string("model_b")?;
    let winner = match obj.get("winner") {
        Some(Value::String(s)) => Winner::parse(s).ok_or_else(|| {
            FieldError::new(
                "winner",
                format!(
                    "unknown value {s:?} (expected model_a, model_b, tie or \"tie (bothbad)\")"
                ),
            )
        })?,
        Some(other) => {
            return Err(FieldError::new(
                "winner",
                format!("expected a string, found {other}"),
            ))
        }
        None => return Err(FieldError::new("winner", "missing")),
    };
    let language = match obj.get("language") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(FieldError::new(
                "language",
                format!("expected a string, found {other}"),
            ))
        }
    };
    let flag = |field: &str| -> Result<bool, FieldError> {
        match obj.get(field) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(FieldError::new(
                field,
                format!("expected true or false, found {other}"),
            )),
        }
    };
    let anony = flag("anony")?;
    let excluded = flag("excluded")?;
    let turn = match obj.get("turn") {
        None | Some(Value::Null) => 1,
        Some(v) => v
            .as_u64()
            .and_then(|t| u32::try_from(t).ok())
            .ok_or_else(|| {
                FieldError::new(
                    "turn",
                    format!("expected a non-negative integer, found {v}"),
                )
            })?,
    };
    let tstamp = match obj.get("tstamp") {
        None | Some(Value::Null) => 0.0,
        Some(v) => v
            .as_f64()
            .ok_or_else(|| FieldError::new("tstamp", format!("expected a number, found {v}")))?,
    };
    let style = match obj.get("conv_metadata") {
        None | Some(Value::Null) => None,
        Some(Value::Object(meta)) => {
            let count = |key: &str| -> Result<Option<f64>, FieldError> {
                let field = format!("conv_metadata.{key}");
                match meta.get(key) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::Number(n)) => Ok(n.as_f64()),
                    Some(Value::Object(parts)) => {
                        let mut total = 0.0;
                        for (name, v) in parts {
                            total += v.as_f64().ok_or_else(|| {
                                FieldError::new(
                                    &format!("{field}.{name}"),
                                    format!("expected a number, found {v}"),
                                )
                            })?;
                        }
                        Ok(Some(total))
                    }
                    Some(other) => Err(FieldError::new(
                        &field,
                        format!("expected a number or an object of numbers, found {other}"),
                    )),
                }
            };
            let side = |s: &str| -> Result<Option<Style>, FieldError> {
                let tokens = count(&format!("sum_assistant_{s}_tokens"))?;
                let headers = count(&format!("header_count_{s}"))?;
                let lists = count(&format!("list_count_{s}"))?;
                let bold = count(&format!("bold_count_{s}"))?;
                Ok(match (tokens, headers, lists, bold) {
                    (Some(tokens), Some(headers), Some(lists), Some(bold)) => Some(Style {
                        tokens,
                        headers,
                        lists,
                        bold,
                    }),
                    _ => None,
                })
            };
            match (side("a")?, side("b")?) {
                (Some(a), Some(b)) => Some((a, b)),
                _ => None,
            }
        }
        Some(other) => {
            return Err(FieldError::new(
                "conv_metadata",
                format!("expected an object, found {other}"),
            ))
        }
    };
    Ok(Battle {
        model_a,
        model_b,
        winner,
        language,
        anony,
        turn,
        tstamp,
        style,
        excluded,
    })
}

/// Which battles to rate, e.g. from `--filter language=Chinese,anony=true,turn=1`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    /// Keep battles in this language (compared case-insensitively; battles without one never
    /// match).
    pub language: Option<String>,
    /// Keep only blind votes (`anony`), as the LMSYS leaderboard does.
    pub anony_only: bool,
    /// Keep battles with at least this many turns.
    pub min_turn: Option<u32>,
    /// Keep battles with at most this many turns.
    pub max_turn: Option<u32>,
    /// Keep only battles that involve one of these models (empty: all).
    pub models: Vec<String>,
}

/// A `--filter` argument that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--filter {text:?}: {message} (expected KEY=VALUE[,KEY=VALUE...] with KEY one of language, anony, turn, model; turn as N, N+ or N-M; model values joined with |)")]
pub struct FilterError {
    pub text: String,
    pub message: String,
}

/// Parses `language=Chinese,anony=true,turn=2+,model=a|b`. Each key may appear once.
pub fn parse_filter(text: &str) -> Result<Filter, FilterError> {
    let bad = |message: String| FilterError {
        text: text.to_string(),
        message,
    };
    let mut filter = Filter::default();
    let mut seen = HashSet::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| bad(format!("{part:?} has no '='")))?;
        let (key, value) = (key.trim(), value.trim());
        if !seen.insert(key.to_string()) {
            return Err(bad(format!("key {key:?} given twice")));
        }
        match key {
            "language" | "lang" => filter.language = Some(value.to_string()),
            "anony" => {
                filter.anony_only = match value {
                    "true" | "1" | "yes" => true,
                    "false" | "0" | "no" => false,
                    _ => return Err(bad(format!("anony={value:?} is not true or false"))),
                }
            }
            "turn" => {
                let number = |s: &str| {
                    s.trim()
                        .parse::<u32>()
                        .map_err(|_| bad(format!("turn={value:?} is not N, N+ or N-M")))
                };
                if let Some(min) = value.strip_suffix('+') {
                    filter.min_turn = Some(number(min)?);
                } else if let Some((lo, hi)) = value.split_once('-') {
                    filter.min_turn = Some(number(lo)?);
                    filter.max_turn = Some(number(hi)?);
                } else {
                    let n = number(value)?;
                    filter.min_turn = Some(n);
                    filter.max_turn = Some(n);
                }
            }
            "model" | "models" => {
                filter.models = value
                    .split('|')
                    .map(str::trim)
                    .filter(|m| !m.is_empty())
                    .map(str::to_string)
                    .collect();
            }
            _ => return Err(bad(format!("unknown key {key:?}"))),
        }
    }
    Ok(filter)
}

impl Filter {
    /// Whether one battle passes.
    pub fn matches(&self, battle: &Battle) -> bool {
        if let Some(language) = &self.language {
            match &battle.language {
                Some(l) if l.eq_ignore_ascii_case(language) => {}
                _ => return false,
            }
        }
        if self.anony_only && !battle.anony {
            return false;
        }
        if self.min_turn.is_some_and(|t| battle.turn < t) {
            return false;
        }
        if self.max_turn.is_some_and(|t| battle.turn > t) {
            return false;
        }
        if !self.models.is_empty()
            && !self
                .models
                .iter()
                .any(|m| *m == battle.model_a || *m == battle.model_b)
        {
            return false;
        }
        true
    }

    /// Keeps the battles that pass, in order.
    pub fn apply(&self, mut battles: Vec<Battle>) -> Vec<Battle> {
        battles.retain(|b| self.matches(b));
        battles
    }
}
