//! Policy packs on disk: a directory with `policy.toml` and the lists it names.
//!
//! ```toml
//! name = "example"
//! version = "1.0"
//! description = "What this pack is for"
//! updated = "2026-11-30"           # optional: when the lists were last revised (YYYY-MM-DD)
//!
//! [normalize]                      # optional; these are the defaults
//! nfkc = true
//! case_fold = true
//! full_width = true
//! strip_format = true
//! fold_whitespace = true
//! traditional_to_simplified = false
//! confusables = true               # look-alike letters (Cyrillic а) read as ASCII letters
//! strip_marks = true               # marks on Latin letters dropped (á → a)
//! joiners = true                   # pipe-bomb, pipe_bomb, pipe.bomb find "pipe bomb"
//! plurals = true                   # "pipe bombs" finds "pipe bomb"
//! spaced_letters = true            # N A P A L M, n.a.p.a.l.m find "napalm"
//! split_cjk = true                 # 自 制 炸 弹, 自制·炸弹 find 自制炸弹
//! leetspeak = false                # n4p4lm finds "napalm"
//! pinyin = false                   # zhadan, zha dan find 炸弹
//!
//! [[categories]]
//! id = "weapons"
//! name = "Weapons and explosives"
//! name_zh = "武器和爆炸物"          # optional: the name shown to people writing in Chinese
//! description = "Making or acquiring weapons"
//! parent = "violence"              # optional: another category's id
//! risks = ["A.1h"]                 # optional: the risks it covers (`assay assess` profiles)
//! keywords = ["keywords/weapons.txt"]   # one term per line
//! patterns = ["patterns/weapons.txt"]   # one regular expression per line
//! domains = ["domains/weapons.txt"]     # one domain per line
//! urls = ["urls/weapons.txt"]           # one host/path prefix per line
//!
//! [allow]                          # never count
//! keywords = ["allow/phrases.txt"] # phrases that cancel the hits inside them
//! domains = ["allow/domains.txt"]
//!
//! [[ut1]]                          # a UT1 blacklist tree: <dir>/<category>/{domains,urls}
//! dir = "ut1"
//! categories = ["gambling", "phishing"]   # optional; default: every category directory
//! ```
//!
//! In every list file, blank lines and lines whose first non-blank character is `#` are
//! skipped. Paths are relative to the pack directory. UT1 categories that the manifest does
//! not declare become categories of their own, named after their directory.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::normalize::NormalizeOptions;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Manifest {
    pub name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub description: String,
    pub updated: Option<String>,
    #[serde(default)]
    pub normalize: NormalizeOptions,
    #[serde(default)]
    pub categories: Vec<CategorySpec>,
    #[serde(default)]
    pub allow: AllowSpec,
    #[serde(default)]
    pub ut1: Vec<Ut1Spec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CategorySpec {
    pub id: String,
    pub name: Option<String>,
    pub name_zh: Option<String>,
    #[serde(default)]
    pub description: String,
    pub parent: Option<String>,
    #[serde(default)]
    pub risks: Vec<String>,
    #[serde(default)]
    pub keywords: Vec<PathBuf>,
    #[serde(default)]
    pub patterns: Vec<PathBuf>,
    #[serde(default)]
    pub domains: Vec<PathBuf>,
    #[serde(default)]
    pub urls: Vec<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AllowSpec {
    #[serde(default)]
    pub keywords: Vec<PathBuf>,
    #[serde(default)]
    pub domains: Vec<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Ut1Spec {
    pub dir: PathBuf,
    pub categories: Option<Vec<String>>,
}

/// A pack, a list or a pattern that cannot be used. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Manifest { path: PathBuf, message: String },
    #[error("{path}:{line}: invalid pattern: {message}")]
    Pattern {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}:{line}: not UTF-8")]
    Encoding { path: PathBuf, line: usize },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

pub(crate) fn parse_manifest(path: &Path, text: &str) -> Result<Manifest, PackError> {
    toml::from_str(text).map_err(|e| PackError::Manifest {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// The packs built into assay: (name, [(path in the pack, contents)]), `policy.toml` first.
pub const BUILTIN: &[(&str, &[(&str, &str)])] = &[(
    "example",
    &[
        ("policy.toml", include_str!("../packs/example/policy.toml")),
        (
            "keywords/weapons.txt",
            include_str!("../packs/example/keywords/weapons.txt"),
        ),
        (
            "keywords/drugs.txt",
            include_str!("../packs/example/keywords/drugs.txt"),
        ),
        (
            "keywords/cyber.txt",
            include_str!("../packs/example/keywords/cyber.txt"),
        ),
        (
            "keywords/self-harm.txt",
            include_str!("../packs/example/keywords/self-harm.txt"),
        ),
        (
            "keywords/hate.txt",
            include_str!("../packs/example/keywords/hate.txt"),
        ),
        (
            "keywords/fraud.txt",
            include_str!("../packs/example/keywords/fraud.txt"),
        ),
        (
            "keywords/privacy.txt",
            include_str!("../packs/example/keywords/privacy.txt"),
        ),
        (
            "patterns/privacy.txt",
            include_str!("../packs/example/patterns/privacy.txt"),
        ),
        (
            "domains/fraud.txt",
            include_str!("../packs/example/domains/fraud.txt"),
        ),
        (
            "allow/phrases.txt",
            include_str!("../packs/example/allow/phrases.txt"),
        ),
    ],
)];

/// The entries of a list file: (1-based line number, entry).
pub(crate) type Entries = Vec<(usize, String)>;

/// The entries of a list file: trimmed, without blank and comment lines. Lines that are not
/// UTF-8 are an error naming the line.
pub(crate) fn read_list(path: &Path) -> Result<Entries, PackError> {
    let bytes = std::fs::read(path).map_err(|source| PackError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_list(path, &bytes)
}

/// [`read_list`] of bytes already read; `path` names them in errors.
pub(crate) fn parse_list(path: &Path, bytes: &[u8]) -> Result<Entries, PackError> {
    Ok(entries(path, bytes)?
        .map(|(line, entry)| (line, entry.to_string()))
        .collect())
}

/// A list file's bytes as text, checked all at once (several times faster than line by
/// line); an error naming the line of the first byte that is not UTF-8.
pub(crate) fn list_text<'b>(path: &Path, bytes: &'b [u8]) -> Result<&'b str, PackError> {
    std::str::from_utf8(bytes).map_err(|e| encoding_error(path, bytes, e))
}

/// [`list_text`], keeping the bytes.
pub(crate) fn list_string(path: &Path, bytes: Vec<u8>) -> Result<String, PackError> {
    String::from_utf8(bytes).map_err(|e| encoding_error(path, e.as_bytes(), e.utf8_error()))
}

/// The error of a list file's first byte that is not UTF-8, with its line.
fn encoding_error(path: &Path, bytes: &[u8], error: std::str::Utf8Error) -> PackError {
    PackError::Encoding {
        path: path.to_path_buf(),
        line: bytes[..error.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1,
    }
}

/// Each entry of a list file's bytes (borrowed from them) with its 1-based line number; an
/// error naming the line of the first byte that is not UTF-8.
pub(crate) fn entries<'b>(
    path: &Path,
    bytes: &'b [u8],
) -> Result<impl Iterator<Item = (usize, &'b str)>, PackError> {
    let text = list_text(path, bytes)?;
    // Lines are short: a byte loop finds their ends faster than a searcher.
    let mut start = 0;
    let lines = bytes
        .iter()
        .enumerate()
        .filter_map(|(at, &b)| (b == b'\n').then_some(at))
        .chain([bytes.len()])
        .map(move |end| {
            let line = &text[start..end];
            start = end + 1;
            trim_entry(line)
        });
    Ok(lines
        .enumerate()
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .map(|(i, line)| (i + 1, line)))
}

/// A list entry without the whitespace (and byte-order mark) around it; most entries have
/// none, and are answered without the Unicode tables.
pub(crate) fn trim_entry(line: &str) -> &str {
    let bytes = line.as_bytes();
    let bare = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_graphic());
    if bare(bytes.first()) && bare(bytes.last()) {
        return line;
    }
    line.trim_start_matches('\u{feff}').trim()
}

/// The category directories of a UT1 tree (those holding `domains` or `urls`), sorted.
pub(crate) fn ut1_categories(dir: &Path) -> Result<Vec<String>, PackError> {
    let entries = std::fs::read_dir(dir).map_err(|source| PackError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| PackError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        if path.is_dir() && (path.join("domains").is_file() || path.join("urls").is_file()) {
            if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                out.push(name.to_string());
            }
        }
    }
    out.sort();
    Ok(out)
}
