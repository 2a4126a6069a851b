//! Reading battle files: a JSON array or JSON Lines, big inputs in parallel, errors that name
//! the file, line, element and field.

use std::path::Path;

use rayon::prelude::*;
use serde::de;
use serde::Deserialize;
use serde_path_to_error::Segment;

use super::wire::{FieldError, RawBattle};
use super::Battle;

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
        #[allow(unsafe_code)] // the one exception to the workspace's `unsafe_code = "deny"`
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
    // Read again tracking the path: it names the element and the field.
    match deserialize_tracked::<Vec<RawBattle>>(text) {
        Err(Failure::Field { index, line, error }) => Err(LoadError::Field {
            file: origin.to_string(),
            line: Some(line),
            index,
            field: error.field,
            message: error.message,
        }),
        Err(Failure::Syntax(e)) => Err(syntax_error(origin, &e, 0)),
        Ok(_) => Err(syntax_error(origin, &typed_error, 0)),
    }
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
                let failure = if read_style {
                    deserialize_tracked::<RawBattle>(line).err()
                } else {
                    deserialize_tracked::<RawBattle<de::IgnoredAny>>(line).err()
                };
                return Err(match failure {
                    Some(Failure::Field { error, .. }) => field_error(error),
                    Some(Failure::Syntax(e)) => syntax_error(origin, &e, number),
                    // The tracking pass accepted what the typed pass refused: serde's words.
                    None => syntax_error(origin, &typed_error, number),
                });
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

/// Why a record (or an array of them) did not deserialize.
enum Failure {
    /// Not JSON.
    Syntax(serde_json::Error),
    /// JSON, but a field is missing or wrong. `index` is the array element, `line` the line
    /// of the text where the error was found (1-based).
    Field {
        index: Option<usize>,
        line: usize,
        error: FieldError,
    },
}

/// The slow path, taken only after the typed pass failed: deserializes `text` again with
/// `serde_path_to_error`, so that a failure names its field (`conv_metadata.header_count_a.h1`)
/// and, in an array, its element.
fn deserialize_tracked<'de, T: Deserialize<'de>>(text: &'de str) -> Result<T, Failure> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(failure)?;
    deserializer.end().map_err(Failure::Syntax)?;
    Ok(value)
}

fn failure(e: serde_path_to_error::Error<serde_json::Error>) -> Failure {
    let path = e.path().clone();
    let inner = e.into_inner();
    if !inner.is_data() {
        return Failure::Syntax(inner);
    }
    let mut index = None;
    let mut names: Vec<String> = Vec::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index: i } if index.is_none() && names.is_empty() => index = Some(*i),
            Segment::Seq { index: i } => names.push(format!("[{i}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => names.push(key.clone()),
            Segment::Unknown => names.push("?".to_string()),
        }
    }
    // serde_json ends its message with the position, which LoadError shows its own way.
    let mut message = inner.to_string();
    let position = format!(" at line {} column {}", inner.line(), inner.column());
    if let Some(bare) = message.strip_suffix(&position) {
        message.truncate(bare.len());
    }
    // A missing field is reported at its record; name the field itself.
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
        .map(str::to_string);
    if let Some(name) = missing {
        names.push(name);
        message = "missing".to_string();
    }
    let field = if names.is_empty() {
        "(record)".to_string()
    } else {
        names.join(".")
    };
    Failure::Field {
        index,
        line: inner.line(),
        error: FieldError { field, message },
    }
}
