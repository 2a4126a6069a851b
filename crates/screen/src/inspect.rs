//! What a report shows about the documents beyond counts, gathered per file while screening
//! (and kept in its marker, so that shards merge): examples of removed documents per category
//! with the matched span, and how documents spread over length and language.

use std::collections::BTreeMap;

use assay_core::detect_language;
use assay_policy::{Hit, HitKind, Policy};
use serde::{Deserialize, Serialize};

use crate::doc::Fields;
use crate::FileSummary;

/// Removed documents kept as examples per category and file (the report shows the first
/// [`crate::report::EXAMPLES_SHOWN`] of them, files in name order).
pub const EXAMPLES_PER_FILE: usize = 3;

/// Characters of text shown on each side of a matched span.
const CONTEXT_CHARS: usize = 160;

/// Longest matched span shown whole (a pattern can match a long stretch), in bytes.
const SPAN_BYTES: usize = 400;

/// Bytes at the start of a document that its language is judged by: enough for a distribution,
/// and cheap next to the scan (a whole 2 KB document would cost about a tenth of a screen).
const LANGUAGE_PREFIX_BYTES: usize = 512;

/// Upper bounds (exclusive) of the text-length buckets, in characters; the last bucket is
/// everything from the last bound up.
pub const LENGTH_BOUNDS: [u64; 10] = [
    100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000,
];

/// Documents, and how many of them were removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub docs: u64,
    pub removed: u64,
}

impl Tally {
    fn add(&mut self, removed: bool) {
        self.docs += 1;
        self.removed += u64::from(removed);
    }

    pub fn merge(&mut self, other: &Tally) {
        self.docs += other.docs;
        self.removed += other.removed;
    }
}

/// A removed document, cut around what matched: `before`, `matched` and `after` are the
/// original text (not normalized), so the report can mark the span and escape all three.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedExample {
    pub file: String,
    /// 1-based line (row, for Parquet).
    pub line: u64,
    pub source: String,
    pub url: Option<String>,
    /// `keyword`, `pattern` or `domain`.
    pub kind: String,
    pub rule: String,
    /// Text before the span (up to 160 characters); starts with `…` when cut.
    pub before: String,
    /// The span that matched (empty for a domain hit: the URL matched, not the text).
    pub matched: String,
    /// Text after the span (up to 160 characters); ends with `…` when cut.
    pub after: String,
}

/// The bucket of a text of `chars` characters.
pub fn length_bucket(chars: u64) -> usize {
    LENGTH_BOUNDS.partition_point(|&bound| bound <= chars)
}

/// Counts one document into the length and language distributions, and keeps it as an example
/// of each category it is removed for that has fewer than [`EXAMPLES_PER_FILE`] in this file.
pub(crate) fn observe(
    summary: &mut FileSummary,
    policy: &Policy,
    line: u64,
    source: &str,
    fields: &Fields<'_>,
    hits: &[(String, Hit)],
) {
    let text = fields.text.as_deref().unwrap_or("");
    let removed = !hits.is_empty();
    let bucket = length_bucket(assay_core::text::char_count(text) as u64);
    if summary.lengths.len() <= bucket {
        summary
            .lengths
            .resize(LENGTH_BOUNDS.len() + 1, Tally::default());
    }
    summary.lengths[bucket].add(removed);
    let prefix = assay_core::text::prefix(text, LANGUAGE_PREFIX_BYTES);
    let language = detect_language(prefix).name();
    match summary.languages.get_mut(language) {
        Some(tally) => tally.add(removed),
        None => {
            let mut tally = Tally::default();
            tally.add(removed);
            summary.languages.insert(language.to_string(), tally);
        }
    }
    if removed {
        keep_examples(summary, policy, line, source, fields, hits);
    }
}

fn keep_examples(
    summary: &mut FileSummary,
    policy: &Policy,
    line: u64,
    source: &str,
    fields: &Fields<'_>,
    hits: &[(String, Hit)],
) {
    let wanted = |summary: &FileSummary, category: &str| {
        summary
            .examples
            .get(category)
            .is_none_or(|v| v.len() < EXAMPLES_PER_FILE)
    };
    if !hits.iter().any(|(c, _)| wanted(summary, c)) {
        return;
    }
    let text = fields.text.as_deref().unwrap_or("");
    // Screening scans without the map back to the original text (it needs only verdicts);
    // the few documents kept as examples are scanned again with it.
    let original = policy.scan(text);
    let mut done: Vec<&str> = Vec::new();
    for (category, hit) in hits {
        if done.contains(&category.as_str()) || !wanted(summary, category) {
            continue;
        }
        done.push(category);
        let range = match hit.kind {
            HitKind::Domain => None,
            _ => original
                .iter()
                .find(|h| h.category == hit.category && h.rule == hit.rule)
                .or_else(|| original.iter().find(|h| h.category == hit.category))
                .map(|h| h.range.clone()),
        };
        let (before, matched, after) = cut(text, range);
        let example = RemovedExample {
            file: summary.input.clone(),
            line,
            source: source.to_string(),
            url: fields.url.as_deref().map(str::to_string),
            kind: hit.kind.as_str().to_string(),
            rule: hit.rule.clone(),
            before,
            matched,
            after,
        };
        summary
            .examples
            .entry(category.clone())
            .or_default()
            .push(example);
    }
}

/// The text around `range` (or the text's start, with no range): up to [`CONTEXT_CHARS`]
/// characters on each side, the span itself up to [`SPAN_BYTES`], every cut on a character
/// boundary and marked with `…`.
fn cut(text: &str, range: Option<std::ops::Range<usize>>) -> (String, String, String) {
    let floor = |at: usize| assay_core::text::floor_char_boundary(text, at.min(text.len()));
    let (start, end) = match range {
        Some(r) => {
            let start = floor(r.start);
            (start, floor(r.end.min(start + SPAN_BYTES)).max(start))
        }
        None => (0, 0),
    };
    let from = text[..start]
        .char_indices()
        .rev()
        .nth(CONTEXT_CHARS - 1)
        .map_or(0, |(i, _)| i);
    let to = text[end..]
        .char_indices()
        .nth(CONTEXT_CHARS)
        .map_or(text.len(), |(i, _)| end + i);
    let mut before = String::new();
    if from > 0 {
        before.push('…');
    }
    before.push_str(&text[from..start]);
    let mut after = text[end..to].to_string();
    if to < text.len() {
        after.push('…');
    }
    (before, text[start..end].to_string(), after)
}

/// Adds the length and language distributions of `from` to the totals.
pub(crate) fn merge_into(
    lengths: &mut Vec<Tally>,
    languages: &mut BTreeMap<String, Tally>,
    from: &FileSummary,
) {
    if lengths.len() < from.lengths.len() {
        lengths.resize(from.lengths.len(), Tally::default());
    }
    for (total, t) in lengths.iter_mut().zip(&from.lengths) {
        total.merge(t);
    }
    for (language, t) in &from.languages {
        languages.entry(language.clone()).or_default().merge(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_and_cuts() {
        assert_eq!(length_bucket(0), 0);
        assert_eq!(length_bucket(99), 0);
        assert_eq!(length_bucket(100), 1);
        assert_eq!(length_bucket(100_000), 10);
        assert_eq!(length_bucket(u64::MAX), 10);
        let text = format!("{}炸弹{}", "前".repeat(200), "后".repeat(200));
        let at = text.find("炸弹").unwrap();
        let (before, matched, after) = cut(&text, Some(at..at + "炸弹".len()));
        assert_eq!(matched, "炸弹");
        assert_eq!(before, format!("…{}", "前".repeat(CONTEXT_CHARS)));
        assert_eq!(after, format!("{}…", "后".repeat(CONTEXT_CHARS)));
        let (before, matched, after) = cut("short bomb text", Some(6..10));
        assert_eq!(
            (before.as_str(), matched.as_str(), after.as_str()),
            ("short ", "bomb", " text")
        );
        // A range off a character boundary (never produced, but not a panic either).
        let (_, matched, _) = cut("炸弹", Some(1..4));
        assert_eq!(matched, "炸");
        let (before, matched, after) = cut("abc", None);
        assert_eq!(
            (before.as_str(), matched.as_str(), after.as_str()),
            ("", "", "abc")
        );
    }
}
