//! Keyword matching: every term of every category found in normalized text, overlapping
//! matches included, with allow-listed phrases that cancel the hits inside them ("kill a
//! process" cancels "kill").
//!
//! Most text is searched by the prefilter ([`crate::prefilter`]: Bloom filters of how terms
//! begin, each candidate confirmed by comparison), about three times faster than an automaton
//! over every byte; text dense with term beginnings goes through an Aho–Corasick automaton,
//! and the tests check that both find the same. The automaton is `daachorse`'s
//! character-wise double array, chosen by measuring it
//! against the `aho-corasick` crate with 10,000 mixed English/Chinese terms over 64 MB of
//! mixed text, counting overlapping matches (`examples/matchers.rs`; bench/RESULTS.md): as
//! fast as `aho-corasick`'s DFA when matches are rare, 4.7× faster when they are dense, with
//! a 30× smaller automaton that builds 6× faster.
//!
//! Terms are normalized with the policy's normalizer when they are added, so `ＢＯＭＢ` in a
//! list matches `bomb` in text. Terms made only of ASCII letters and digits match whole words
//! (no letter or digit right before or after: `ass` does not match `class`); all other terms,
//! Chinese among them, match anywhere, since Chinese has no spaces between words.

use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use daachorse::CharwiseDoubleArrayAhoCorasick;
// The terms' maps are the user's own lists, hashed once each at a build: SipHash's guard
// against crafted keys bought nothing, and cost a tenth of building 10,000 terms.
use rustc_hash::FxHashMap as HashMap;

use crate::forms::{self, Forms, MAX_CJK_SEPARATORS};
use crate::kept::{self, IndexCache};
use crate::normalize::NormalizeOptions;
use crate::prefilter::{is_word_char, Prefilter};

mod cache;

/// A term found in normalized text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermMatch {
    /// Index of the term ([`KeywordMatcher::term`]).
    pub term: usize,
    /// Byte range in the normalized text.
    pub range: Range<usize>,
}

/// Builds a [`KeywordMatcher`].
#[derive(Debug, Default)]
pub struct KeywordBuilder {
    terms: Vec<String>,
    categories: Vec<Vec<u32>>,
    index: HashMap<String, usize>,
    allow: Vec<String>,
    forms: Forms,
}

impl KeywordBuilder {
    /// A builder whose matcher finds terms exactly as written (after normalization).
    pub fn new() -> KeywordBuilder {
        KeywordBuilder::default()
    }

    /// Also finds the other forms of the terms that `options` turns on (joiners, plurals,
    /// spaced letters, split Chinese, leetspeak, pinyin; see [`NormalizeOptions`]).
    pub fn forms(&mut self, options: &NormalizeOptions) -> &mut Self {
        self.forms = Forms::of(options);
        self
    }

    /// Adds an already normalized term for `category`; empty terms are ignored.
    pub fn add(&mut self, term: &str, category: u32) {
        let term = term.trim();
        if term.is_empty() {
            return;
        }
        match self.index.get(term) {
            Some(&i) => {
                if !self.categories[i].contains(&category) {
                    self.categories[i].push(category);
                }
            }
            None => {
                self.index.insert(term.to_string(), self.terms.len());
                self.terms.push(term.to_string());
                self.categories.push(vec![category]);
            }
        }
    }

    /// Adds an already normalized allow-listed phrase.
    pub fn allow(&mut self, phrase: &str) {
        let phrase = phrase.trim();
        if !phrase.is_empty() && !self.allow.iter().any(|a| a == phrase) {
            self.allow.push(phrase.to_string());
        }
    }

    /// [`KeywordBuilder::build`], through a file in `dir` for a list of a thousand terms or
    /// more: read when an earlier run wrote one for the same terms, categories, allow phrases
    /// and forms, and written otherwise (see [`IndexCache`]); `None` for a shorter list, which
    /// is built as it is. The matcher of 10,000 terms (and of their spaced letters) is read
    /// back in a sixth of the instructions it takes to build.
    pub fn build_kept(
        mut self,
        dir: &Path,
    ) -> Result<(KeywordMatcher, Option<IndexCache>), String> {
        if self.terms.len() < cache::KEPT_TERMS {
            return Ok((self.build()?, None));
        }
        let key = cache::key(&self);
        let path = cache::path(dir, key);
        let terms = std::mem::take(&mut self.terms);
        match cache::read(&path, key, terms, &self.categories, &self.forms) {
            Ok(matcher) => {
                kept::touch(&path);
                return Ok((matcher, Some(IndexCache::Read(path))));
            }
            Err(terms) => self.terms = terms,
        }
        let matcher = self.build()?;
        let kept = match cache::write(&path, key, &matcher) {
            Ok(()) => IndexCache::Written(path),
            Err(e) => IndexCache::NotWritten(path, e),
        };
        Ok((matcher, Some(kept)))
    }

    pub fn build(self) -> Result<KeywordMatcher, String> {
        let forms = self.forms;
        let mut categories = self.categories;
        // What the automaton looks for: each term as the view reads it (and its pinyin),
        // with the term it stands for. Terms that read the same share a pattern.
        let mut patterns: Vec<String> = Vec::new();
        let mut entry_of: Vec<u32> = Vec::new();
        let mut pattern_index: HashMap<String, usize> = HashMap::default();
        for (entry, term) in self.terms.iter().enumerate() {
            let mut spellings = vec![forms::view(term, &forms).text.trim().to_string()];
            if forms.pinyin {
                spellings.extend(pinyin_spellings(term));
            }
            // English plurals are patterns of their own (`pipe bombs`, `pipe bombes`): no
            // work per word of text, and the automaton finds exactly what the prefilter does.
            if forms.plurals {
                let plurals: Vec<String> = spellings
                    .iter()
                    .filter(|p| is_word_term(p) && ends_in_word(p))
                    .flat_map(|p| [format!("{p}s"), format!("{p}es")])
                    .collect();
                spellings.extend(plurals);
            }
            for pattern in spellings {
                if pattern.is_empty() {
                    continue;
                }
                match pattern_index.get(&pattern) {
                    Some(&i) => {
                        let first = entry_of[i] as usize;
                        if first != entry {
                            let more = categories[entry].clone();
                            for c in more {
                                if !categories[first].contains(&c) {
                                    categories[first].push(c);
                                }
                            }
                        }
                    }
                    None => {
                        pattern_index.insert(pattern.clone(), patterns.len());
                        patterns.push(pattern);
                        entry_of.push(entry as u32);
                    }
                }
            }
        }
        let mut allow: Vec<String> = Vec::new();
        for phrase in &self.allow {
            let pattern = forms::view(phrase, &forms).text.trim().to_string();
            if !pattern.is_empty() && !allow.contains(&pattern) {
                allow.push(pattern);
            }
        }
        // The matcher of spaced letters is built at its first use (most screens never see
        // spaced letters, and it was a third of building 10,000 terms), unless there are allow
        // phrases: its automaton of them can fail to build, and that fails the build.
        let squashed = if forms.spaced_letters && !allow.is_empty() {
            Some(squash(&patterns, &entry_of, &allow)?)
        } else {
            None
        };
        let mut matcher = KeywordMatcher::of_patterns(
            self.terms, categories, patterns, entry_of, allow, forms, true,
        )?;
        if forms.spaced_letters {
            // A spaced run takes about two characters a letter.
            let longest = matcher
                .patterns
                .iter()
                .filter_map(|p| squashed_len(p))
                .max();
            matcher.span_chars = matcher.span_chars.max(2 * longest.unwrap_or(0));
        }
        if let Some(squashed) = squashed {
            matcher.allow_span_chars = matcher.allow_span_chars.max(
                squashed
                    .as_ref()
                    .map_or(0, |squashed| squashed.matcher.allow_span_chars),
            );
            matcher.squashed = OnceLock::from(squashed.map(Box::new));
        }
        Ok(matcher)
    }
}

/// The letters of a whole-word term of letters and spaces (`pipe bomb`) that spaced letters
/// can spell (`p i p e b o m b`): how many there are, `None` for other terms.
fn squashed_len(pattern: &str) -> Option<usize> {
    let letters_or_spaces = pattern
        .bytes()
        .all(|b| b == b' ' || b.is_ascii_alphanumeric());
    // A word term starts with a letter or digit: it is not all spaces.
    (is_word_term(pattern) && letters_or_spaces)
        .then(|| pattern.bytes().filter(|&b| b != b' ').count())
}

/// The matcher of spaced-out letters: whole-word terms and allow phrases without their
/// spaces (`pipebomb`), each with the terms it stands for.
#[derive(Debug, Clone)]
struct Squashed {
    matcher: KeywordMatcher,
    entries: Vec<Vec<u32>>,
}

fn squash(
    patterns: &[String],
    entry_of: &[u32],
    allow: &[String],
) -> Result<Option<Squashed>, String> {
    let squashed = |p: &str| squashed_len(p).map(|_| p.replace(' ', ""));
    let mut names: Vec<String> = Vec::new();
    let mut entries: Vec<Vec<u32>> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::default();
    for (pattern, &entry) in patterns.iter().zip(entry_of) {
        let Some(s) = squashed(pattern) else {
            continue;
        };
        let i = *index.entry(s.clone()).or_insert_with(|| {
            names.push(s);
            entries.push(Vec::new());
            names.len() - 1
        });
        if !entries[i].contains(&entry) {
            entries[i].push(entry);
        }
    }
    if names.is_empty() {
        return Ok(None);
    }
    // Phrases that differ only in their spaces (`a b`, `ab`) are one here, as the automaton
    // requires (they failed the build).
    let mut allow: Vec<String> = allow.iter().filter_map(|a| squashed(a)).collect();
    allow.sort_unstable();
    allow.dedup();
    let count = names.len();
    // Letters of a run are found anywhere in it: `a n a p a l m` is "a napalm" spaced out.
    let matcher = KeywordMatcher::of_patterns(
        names.clone(),
        vec![Vec::new(); count],
        names,
        (0..count as u32).collect(),
        allow,
        Forms::default(),
        false,
    )?;
    // A spaced run takes about two characters a letter.
    let mut matcher = matcher;
    matcher.span_chars *= 2;
    matcher.allow_span_chars *= 2;
    Ok(Some(Squashed { matcher, entries }))
}

/// The compiled keyword lists of a policy.
#[derive(Clone)]
pub struct KeywordMatcher {
    /// Built once documents over their budget have spent the rent (most screens never need
    /// it: building it for 10,000 terms is a tenth of the start-up); `None` inside when it
    /// cannot be built, and the prefilter then does without a budget (it finds the same, only
    /// slower).
    automaton: OnceLock<Option<CharwiseDoubleArrayAhoCorasick<u32>>>,
    /// What the prefilter may still spend past the budgets of documents, in its units, before
    /// the automaton is built: see [`KeywordMatcher::past_budget`].
    rent: Rent,
    allow: Option<CharwiseDoubleArrayAhoCorasick<u32>>,
    /// The allow phrases the automaton looks for (a matcher kept in a file builds it again).
    allow_patterns: Vec<String>,
    /// The terms as added, and their categories.
    terms: Vec<String>,
    categories: Vec<Vec<u32>>,
    /// What is searched for, and the term each stands for.
    patterns: Vec<String>,
    entry_of: Vec<u32>,
    whole_word: Vec<bool>,
    span_chars: usize,
    allow_span_chars: usize,
    prefilter: Prefilter,
    forms: Forms,
    /// The matcher of spaced letters, when the forms look for them; built at its first use
    /// (see [`KeywordBuilder::build`]).
    squashed: OnceLock<Option<Box<Squashed>>>,
}

impl std::fmt::Debug for KeywordMatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeywordMatcher")
            .field("terms", &self.terms.len())
            .field("allow", &self.allow.is_some())
            .finish()
    }
}

/// Normalized characters that a match of `pattern` can cover in the text it was found in:
/// the separators that split Chinese may add.
fn span_of(pattern: &str, forms: &Forms) -> usize {
    let (mut chars, mut ideographs) = (0, 0);
    for c in pattern.chars() {
        chars += 1;
        ideographs += usize::from(forms::is_ideograph(c));
    }
    let split = if forms.split_cjk && ideographs > 1 {
        MAX_CJK_SEPARATORS * (chars - 1)
    } else {
        0
    };
    chars + split
}

impl KeywordMatcher {
    fn of_patterns(
        terms: Vec<String>,
        categories: Vec<Vec<u32>>,
        patterns: Vec<String>,
        entry_of: Vec<u32>,
        allow: Vec<String>,
        forms: Forms,
        whole_words: bool,
    ) -> Result<KeywordMatcher, String> {
        // Patterns are unique and non-empty (see `build`), as daachorse requires.
        let automaton = |patterns: &[String]| {
            CharwiseDoubleArrayAhoCorasick::<u32>::new(patterns).map_err(|e| e.to_string())
        };
        let whole_word: Vec<bool> = patterns
            .iter()
            .map(|t| whole_words && is_word_term(t))
            .collect();
        let span_chars = patterns
            .iter()
            .map(|p| span_of(p, &forms))
            .max()
            .unwrap_or(0);
        let allow_span_chars = allow.iter().map(|p| span_of(p, &forms)).max().unwrap_or(0);
        let prefilter = Prefilter::new(
            patterns
                .iter()
                .zip(&whole_word)
                .map(|(t, &w)| (t.as_str(), w)),
        );
        Ok(KeywordMatcher {
            automaton: OnceLock::new(),
            rent: Rent::for_patterns(&patterns),
            allow: (!allow.is_empty()).then(|| automaton(&allow)).transpose()?,
            allow_patterns: allow,
            terms,
            categories,
            patterns,
            entry_of,
            whole_word,
            span_chars,
            allow_span_chars,
            prefilter,
            forms,
            squashed: OnceLock::new(),
        })
    }

    pub fn len(&self) -> usize {
        self.terms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    pub fn term(&self, i: usize) -> &str {
        &self.terms[i]
    }

    pub fn categories(&self, i: usize) -> &[u32] {
        &self.categories[i]
    }

    /// Characters of normalized text that a match can cover at most (the longest term, and
    /// the forms that make it longer): how much text a streaming scanner must keep to find
    /// matches across chunks.
    pub fn longest_chars(&self) -> usize {
        self.span_chars
    }

    /// The same for allow phrases.
    pub fn longest_allow_chars(&self) -> usize {
        self.allow_span_chars
    }

    /// The length of the evasion-forms view of `text` (normalized), plus its gaps and runs:
    /// for timing the view apart (the `scan` example).
    #[doc(hidden)]
    pub fn view_len(&self, text: &str) -> usize {
        let view = forms::view(text, &self.forms);
        view.text.len() + view.gaps_len() + view.runs.len()
    }

    /// Every term occurrence in `text` (normalized), overlapping ones included, in order of
    /// their end (then start); hits inside an allow-listed phrase are dropped.
    pub fn find(&self, text: &str) -> Vec<TermMatch> {
        if self.patterns.is_empty() {
            return Vec::new();
        }
        let view = forms::view(text, &self.forms);
        let mut out = self.find_with(&view.text, Scan::Auto);
        for m in &mut out {
            m.term = self.entry_of[m.term] as usize;
            m.range = view.text_range(m.range.clone());
        }
        // (The matcher of spaced letters only where the view has some: it is built then.)
        let squashed = (!view.runs.is_empty()).then(|| self.squashed()).flatten();
        if let Some(squashed) = squashed {
            for run in &view.runs {
                let letters: String = run
                    .iter()
                    .map(|&at| char::from(view.text.as_bytes()[at]))
                    .collect();
                for m in squashed.matcher.find_with(&letters, Scan::Auto) {
                    let range = view.text_range(run[m.range.start]..run[m.range.end - 1] + 1);
                    for &entry in &squashed.entries[m.term] {
                        out.push(TermMatch {
                            term: entry as usize,
                            range: range.clone(),
                        });
                    }
                }
            }
            out.sort_unstable_by_key(|m| (m.range.end, m.range.start, m.term));
            out.dedup();
        }
        out
    }

    /// [`KeywordMatcher::find`] on `text` normalized, with ranges in `text` itself, found
    /// without normalizing it when `text` is plain (`prefilter/plain.rs`); `None` when it is
    /// not, or when allow-listed phrases would have to be looked for (in the view, which is
    /// not made here). Only for a normalizer that folds case and whitespace, maps full-width
    /// forms and leaves CJK ideographs as they are (the policy checks).
    pub(crate) fn find_in_plain_text(&self, text: &str) -> Option<Vec<TermMatch>> {
        if self.patterns.is_empty() {
            return Some(Vec::new());
        }
        let budget = CONFIRM_BUDGET_PER_BYTE * text.len() + 256;
        let found = self
            .prefilter
            .find_in_plain(text, &self.patterns, &self.forms, budget)?;
        if self.allow.is_some() && !found.is_empty() {
            return None;
        }
        let mut out: Vec<TermMatch> = found
            .into_iter()
            .map(|(range, pattern)| TermMatch {
                term: self.entry_of[pattern as usize] as usize,
                range,
            })
            .collect();
        out.sort_unstable_by_key(|m| (m.range.end, m.range.start, m.term));
        Some(out)
    }

    /// The matcher of spaced letters, built on first use; `None` when the forms do not look
    /// for spaced letters or no term can be spelled so.
    fn squashed(&self) -> Option<&Squashed> {
        if !self.forms.spaced_letters {
            return None;
        }
        self.squashed
            .get_or_init(|| {
                // Without allow phrases (with them it was built with the matcher) nothing in
                // it can fail: no automaton is built.
                squash(&self.patterns, &self.entry_of, &[])
                    .ok()
                    .flatten()
                    .map(Box::new)
            })
            .as_deref()
    }

    /// The automaton over every pattern, built on first use.
    fn automaton(&self) -> Option<&CharwiseDoubleArrayAhoCorasick<u32>> {
        self.automaton
            .get_or_init(|| CharwiseDoubleArrayAhoCorasick::new(&self.patterns).ok())
            .as_ref()
    }

    /// The prefilter's finds in `text`, past the document's budget, while the comparisons
    /// spent that way stay under [`RENT_PER_PATTERN_BYTE`] and the automaton is not built;
    /// `None` once they would not (the automaton is then built). A screen of short posts had
    /// 18 documents in 112,601 over budget, and building the automaton for them cost 94
    /// million instructions, 7% of the screen's; comparing their candidates costs next to
    /// nothing. Text dense with term beginnings spends the rent soon, and pays at most a
    /// part of the build more than before.
    fn past_budget(&self, text: &str) -> Option<Vec<(usize, u32)>> {
        if self.automaton.get().is_some() {
            return None;
        }
        let left = self.rent.0.load(Ordering::Relaxed);
        if left == 0 {
            return None;
        }
        match self.prefilter.find_spending(text, &self.patterns, left) {
            Some((found, spent)) => {
                // Threads that spend at once may each spend what was left: the rent bounds
                // the waste, it is no account.
                let _ = self
                    .rent
                    .0
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |rent| {
                        Some(rent.saturating_sub(spent))
                    });
                Some(found)
            }
            None => {
                self.rent.0.store(0, Ordering::Relaxed);
                None
            }
        }
    }

    /// Matches of the patterns in `text` (the view), by a given way of scanning (all give
    /// the same result, which the tests check); `term` is the pattern's index.
    fn find_with(&self, text: &str, scan: Scan) -> Vec<TermMatch> {
        if self.patterns.is_empty() {
            return Vec::new();
        }
        // Past a few reads of the text in comparisons, one pass of the automaton is cheaper.
        // The prefilter counts each compared term's whole length, but a comparison stops at
        // the first byte that differs, so the real work is a fraction of that count: with one
        // read as the budget, text dense with term beginnings (every word a term's first
        // word, scripts switching every few characters) gave up after comparing, then paid
        // the automaton on top (72 MB/s on bench/screen's worst corpus; 112 MB/s with three).
        let found = match scan {
            Scan::Full => None,
            Scan::Auto => self
                .prefilter
                .find(
                    text,
                    &self.patterns,
                    CONFIRM_BUDGET_PER_BYTE * text.len() + 256,
                )
                .or_else(|| self.past_budget(text)),
            Scan::Candidates => self.prefilter.find(text, &self.patterns, usize::MAX),
        };
        // Ok: the prefilter's finds; Err: the automaton to search with (when it cannot be
        // built, the prefilter goes on without a budget).
        let found = match found {
            Some(found) => Ok(found),
            None => match self.automaton() {
                Some(automaton) => Err(automaton),
                None => Ok(self
                    .prefilter
                    .find(text, &self.patterns, usize::MAX)
                    .unwrap_or_default()),
            },
        };
        let mut out: Vec<TermMatch> = match found {
            Ok(found) => found
                .into_iter()
                .map(|(start, term)| TermMatch {
                    term: term as usize,
                    range: start..start + self.patterns[term as usize].len(),
                })
                .collect(),
            Err(automaton) => automaton
                .find_overlapping_iter(text)
                .map(|m| TermMatch {
                    term: m.value() as usize,
                    range: m.start()..m.end(),
                })
                .collect(),
        };
        out.retain(|m| !self.whole_word[m.term] || at_word_boundaries(text, m.range.clone()));
        out.sort_unstable_by_key(|m| (m.range.end, m.range.start, m.term));
        if let (Some(allow), false) = (&self.allow, out.is_empty()) {
            let allowed: Vec<Range<usize>> = allow
                .find_overlapping_iter(text)
                .map(|m| m.start()..m.end())
                .collect();
            out.retain(|hit| {
                !allowed
                    .iter()
                    .any(|a| a.start <= hit.range.start && hit.range.end <= a.end)
            });
        }
        out
    }
}

/// Bytes of compared terms (as the prefilter counts them) per byte of text before
/// [`KeywordMatcher::find_with`] leaves the candidates for the automaton.
const CONFIRM_BUDGET_PER_BYTE: usize = 3;

/// Comparisons (in the prefilter's units, bytes of compared terms) that documents over their
/// budget may spend before the automaton is built, per byte of the patterns. Building it costs
/// about 900 instructions a pattern byte (94 million for 10,000 terms), and a unit of the
/// prefilter's count one or less (a comparison stops at the first byte that differs): the
/// rent is a fraction of the build.
const RENT_PER_PATTERN_BYTE: usize = 256;

/// [`KeywordMatcher::rent`]: an atomic count, cloned as its value.
#[derive(Debug)]
struct Rent(AtomicUsize);

impl Rent {
    /// The rent of a matcher of `patterns`: [`RENT_PER_PATTERN_BYTE`] for each of their bytes.
    fn for_patterns(patterns: &[String]) -> Rent {
        let bytes: usize = patterns.iter().map(String::len).sum();
        Rent(AtomicUsize::new(RENT_PER_PATTERN_BYTE * bytes))
    }
}

impl Clone for Rent {
    fn clone(&self) -> Rent {
        Rent(AtomicUsize::new(self.0.load(Ordering::Relaxed)))
    }
}

/// How [`KeywordMatcher::find_with`] looks for terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scan {
    /// The automaton over the whole text (tests compare the others with it).
    #[cfg_attr(not(test), allow(dead_code))]
    Full,
    /// The prefilter, however dense the candidates.
    #[cfg_attr(not(test), allow(dead_code))]
    Candidates,
    /// The prefilter, unless candidates are so dense that the automaton is cheaper.
    Auto,
}

/// A term of ASCII letters, digits, spaces and simple punctuation, starting and ending with a
/// letter or digit: matched as whole words.
fn is_word_term(term: &str) -> bool {
    term.is_ascii()
        && term
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && term
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric())
}

/// Whether a whole-word term at `range` has no word character right before or after it.
fn at_word_boundaries(text: &str, range: Range<usize>) -> bool {
    let before = text[..range.start].chars().next_back();
    let after = text[range.end..].chars().next();
    !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
}

/// Whether a term ends with a word of three letters or more (which a plural may follow).
fn ends_in_word(term: &str) -> bool {
    term.bytes()
        .rev()
        .take_while(u8::is_ascii_alphabetic)
        .count()
        >= 3
}

/// Toneless pinyin spellings of a term written in Chinese characters (each character's
/// first reading, from the `pinyin` crate's data): the syllables joined (`zhadan`) and spaced
/// (`zha dan`); none when a character is not an ideograph or has no reading.
fn pinyin_spellings(term: &str) -> Vec<String> {
    use pinyin::ToPinyin;
    let mut syllables = Vec::new();
    for c in term.chars() {
        if !forms::is_ideograph(c) {
            return Vec::new();
        }
        match c.to_pinyin() {
            Some(p) => syllables.push(p.plain()),
            None => return Vec::new(),
        }
    }
    if syllables.is_empty() {
        return Vec::new();
    }
    vec![syllables.concat(), syllables.join(" ")]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(terms: &[(&str, u32)], allow: &[&str]) -> KeywordMatcher {
        let mut b = KeywordBuilder::new();
        for (t, c) in terms {
            b.add(t, *c);
        }
        for a in allow {
            b.allow(a);
        }
        b.build().unwrap()
    }

    fn found(m: &KeywordMatcher, text: &str) -> Vec<String> {
        m.find(text)
            .iter()
            .map(|h| text[h.range.clone()].to_string())
            .collect()
    }

    #[test]
    fn chinese_anywhere_english_by_word() {
        let m = matcher(
            &[("炸弹", 1), ("ass", 2), ("make a bomb", 1), ("bomb", 1)],
            &[],
        );
        assert_eq!(found(&m, "如何制作炸弹"), ["炸弹"]);
        assert_eq!(found(&m, "first class pass"), Vec::<String>::new());
        assert_eq!(found(&m, "how to make a bomb."), ["make a bomb", "bomb"]);
        assert_eq!(found(&m, "bombastic"), Vec::<String>::new());
        assert_eq!(found(&m, "炸弹bomb炸弹"), ["炸弹", "bomb", "炸弹"]);
    }

    /// Chinese terms after long ASCII stretches (which the prefilter skips many bytes at a
    /// time) and in long runs of ideographs.
    #[test]
    fn terms_after_long_stretches() {
        let m = matcher(&[("炸弹", 1), ("制作炸弹", 1), ("make a bomb", 1)], &[]);
        for n in 56..140 {
            let text = format!(
                "{} 炸弹 {}制作炸弹 make a bomb",
                "x ".repeat(n / 2),
                "国".repeat(n)
            );
            assert_eq!(
                found(&m, &text),
                ["炸弹", "制作炸弹", "炸弹", "make a bomb"],
                "{n}"
            );
            assert_eq!(
                m.find_with(&text, Scan::Candidates),
                m.find_with(&text, Scan::Full)
            );
        }
    }

    #[test]
    fn shared_terms_keep_every_category() {
        let m = matcher(&[("gun", 1), ("gun", 3), ("gun", 1)], &[]);
        assert_eq!(m.len(), 1);
        assert_eq!(m.categories(0), [1, 3]);
    }

    /// The prefilter only skips work: random terms of every kind (words, phrases,
    /// punctuation, Chinese, accented letters) over random text from the same pieces find the
    /// same hits with it as without.
    #[test]
    fn prefilter_finds_what_a_full_scan_finds() {
        use rand::rngs::StdRng;
        use rand::{Rng, SeedableRng};
        let pieces = [
            "a", "b", "ab", "ba", "9", "_", " ", " ", "-", ".", "é", "炸", "弹", "国", "“", "𝄞",
            "x",
        ];
        let mut rng = StdRng::seed_from_u64(7);
        let draw = |rng: &mut StdRng, max: usize| -> String {
            (0..rng.gen_range(1..=max))
                .map(|_| pieces[rng.gen_range(0..pieces.len())])
                .collect()
        };
        for round in 0..300 {
            let mut b = KeywordBuilder::new();
            for _ in 0..rng.gen_range(1..12) {
                b.add(&draw(&mut rng, 4), 0);
            }
            if round % 3 == 0 {
                b.allow(&draw(&mut rng, 6));
            }
            let m = b.build().unwrap();
            for _ in 0..20 {
                let text = draw(&mut rng, 60);
                assert_eq!(
                    m.find_with(&text, Scan::Candidates),
                    m.find_with(&text, Scan::Full),
                    "terms {:?}, text {text:?}",
                    m.terms
                );
            }
        }
    }

    /// Mixed English and Chinese text dense with term beginnings (every word a term's first
    /// word, Chinese terms cut short, scripts switching every few characters, punctuation
    /// between ideographs): what the search finds, prefilter or automaton as its budget
    /// decides, is what the automaton alone finds, with every form on.
    #[test]
    fn the_automaton_is_built_once_documents_over_budget_spent_the_rent() {
        let matcher = || {
            let mut b = KeywordBuilder::new();
            for i in 0..500 {
                b.add(&format!("pipe bomb kit{i}"), 0);
            }
            b.add("napalm", 0);
            b.build().unwrap()
        };
        let m = matcher();
        assert_eq!(m.find("how to make napalm at home, and a pipe").len(), 1);
        assert!(m.automaton.get().is_none(), "built for sparse text");
        // Every candidate compares 500 terms, past the document's budget: the prefilter
        // goes on while the rent lasts (most of it for this document).
        let dense = "pipe bomb ".repeat(200) + "kit499";
        let rent = m.rent.0.load(Ordering::Relaxed);
        assert_eq!(m.find(&dense).len(), 1);
        assert!(
            m.automaton.get().is_none(),
            "built for one document over budget"
        );
        let spent = rent - m.rent.0.load(Ordering::Relaxed);
        assert!(spent > rent / 2, "{spent} of {rent} spent");
        // The next one would spend more than is left: the automaton searches it.
        let found = m.find(&dense);
        assert!(
            m.automaton.get().is_some(),
            "not built once the rent was spent"
        );
        assert_eq!(m.rent.0.load(Ordering::Relaxed), 0);
        assert_eq!(found.len(), 1);
        // The full scan, which the tests compare the others with, is the automaton's alone.
        let fresh = matcher();
        fresh.find_with("napalm", Scan::Full);
        assert!(fresh.automaton.get().is_some(), "a full scan without it");
        assert_eq!(
            m.find_with(&dense, Scan::Candidates),
            m.find_with(&dense, Scan::Full)
        );
    }

    #[test]
    fn the_matcher_of_spaced_letters_is_built_at_its_first_use() {
        let with_forms = |allow: &[&str]| {
            let mut b = KeywordBuilder::new();
            b.forms(&NormalizeOptions::default());
            b.add("napalm", 0);
            b.add("a b c d e f g h", 1);
            for a in allow {
                b.allow(a);
            }
            b.build().unwrap()
        };
        let m = with_forms(&[]);
        // The longest term is 15 characters long, and its letters spaced out (eight, two
        // characters each) 16.
        assert_eq!(m.longest_chars(), 16);
        assert!(m.squashed.get().is_none(), "built with the matcher");
        assert_eq!(m.find("nothing spaced out: napalm").len(), 1);
        assert!(
            m.squashed.get().is_none(),
            "built for text without spaced letters"
        );
        let found = m.find("how to make n a p a l m");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].term, 0);
        assert!(matches!(m.squashed.get(), Some(Some(_))));
        // With allow phrases, with the matcher (building their automaton may fail).
        let m = with_forms(&["n a p a l m s"]);
        assert!(matches!(m.squashed.get(), Some(Some(_))));
        assert!(m.find("n a p a l m s").is_empty());
        // 13 characters, and its seven letters spaced out 14.
        assert_eq!(m.longest_allow_chars(), 14);
    }

    #[test]
    fn allow_phrases_that_differ_only_in_their_spaces_build() {
        let mut b = KeywordBuilder::new();
        b.forms(&NormalizeOptions::default());
        b.add("napalm", 0);
        b.allow("napalm s");
        b.allow("napalms");
        let m = b.build().unwrap();
        assert!(m.find("n a p a l m s").is_empty());
        assert_eq!(m.find("n a p a l m").len(), 1);
    }

    #[test]
    fn mixed_text_dense_with_term_beginnings_finds_what_the_automaton_finds() {
        use rand::rngs::StdRng;
        use rand::{Rng, SeedableRng};
        let mut rng = StdRng::seed_from_u64(14);
        let words: Vec<String> = (0..40)
            .map(|i| format!("w{}{}", ["ka", "lo", "mi", "su"][i % 4], i))
            .collect();
        let chars: Vec<char> = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能"
            .chars()
            .collect();
        let mut b = KeywordBuilder::new();
        b.forms(&NormalizeOptions::default());
        let mut english = Vec::new();
        let mut chinese = Vec::new();
        for _ in 0..150 {
            let n = rng.gen_range(1..=3);
            let term: Vec<&str> = (0..n)
                .map(|_| words[rng.gen_range(0..words.len())].as_str())
                .collect();
            english.push(term.join(" "));
            let n = rng.gen_range(2..=4);
            chinese.push(
                (0..n)
                    .map(|_| chars[rng.gen_range(0..chars.len())])
                    .collect::<String>(),
            );
        }
        for t in english.iter().chain(&chinese) {
            b.add(t, 0);
        }
        b.allow(&english[0]);
        let m = b.build().unwrap();
        for _ in 0..300 {
            let mut text = String::new();
            while text.len() < rng.gen_range(50..1500) {
                match rng.gen_range(0..10) {
                    0 => text.push_str(&english[rng.gen_range(0..english.len())]),
                    1 => text.push_str(&chinese[rng.gen_range(0..chinese.len())]),
                    2..=5 => {
                        let t = &english[rng.gen_range(0..english.len())];
                        text.push_str(t.split(' ').next().unwrap_or(t));
                    }
                    _ => {
                        let t = &chinese[rng.gen_range(0..chinese.len())];
                        let cut = t.char_indices().last().map_or(0, |(i, _)| i);
                        text.push_str(&t[..cut]);
                    }
                }
                text.push_str(["", " ", " ", ", ", "，", "。", "-", "."][rng.gen_range(0..8)]);
            }
            let view = forms::view(&text, &m.forms);
            let full = m.find_with(&view.text, Scan::Full);
            assert_eq!(m.find_with(&view.text, Scan::Auto), full, "{text:?}");
            assert_eq!(m.find_with(&view.text, Scan::Candidates), full, "{text:?}");
        }
    }

    #[test]
    fn allow_phrases_cancel_hits_inside_them() {
        let m = matcher(&[("kill", 1)], &["kill a process", "kill -9"]);
        assert_eq!(found(&m, "how do I kill a process"), Vec::<String>::new());
        assert_eq!(found(&m, "kill -9 1234 then kill him"), ["kill"]);
    }
}
