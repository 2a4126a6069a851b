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

use daachorse::CharwiseDoubleArrayAhoCorasick;

use crate::prefilter::{is_word_char, Prefilter};

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
    index: std::collections::HashMap<String, usize>,
    allow: Vec<String>,
}

impl KeywordBuilder {
    pub fn new() -> KeywordBuilder {
        KeywordBuilder::default()
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

    pub fn build(self) -> Result<KeywordMatcher, String> {
        // Patterns are unique and non-empty (see `add` and `allow`), as daachorse requires.
        let automaton = |patterns: &[String]| {
            CharwiseDoubleArrayAhoCorasick::<u32>::new(patterns).map_err(|e| e.to_string())
        };
        let whole_word = self.terms.iter().map(|t| is_word_term(t)).collect();
        let longest = self
            .terms
            .iter()
            .map(|t| t.chars().count())
            .max()
            .unwrap_or(0);
        let longest_allow = self
            .allow
            .iter()
            .map(|t| t.chars().count())
            .max()
            .unwrap_or(0);
        let prefilter = Prefilter::new(
            self.terms
                .iter()
                .zip(&whole_word)
                .map(|(t, &w)| (t.as_str(), w)),
        );
        Ok(KeywordMatcher {
            automaton: (!self.terms.is_empty())
                .then(|| automaton(&self.terms))
                .transpose()?,
            allow: (!self.allow.is_empty())
                .then(|| automaton(&self.allow))
                .transpose()?,
            terms: self.terms,
            categories: self.categories,
            whole_word,
            longest_chars: longest,
            longest_allow_chars: longest_allow,
            prefilter,
        })
    }
}

/// The compiled keyword lists of a policy.
#[derive(Clone)]
pub struct KeywordMatcher {
    automaton: Option<CharwiseDoubleArrayAhoCorasick<u32>>,
    allow: Option<CharwiseDoubleArrayAhoCorasick<u32>>,
    terms: Vec<String>,
    categories: Vec<Vec<u32>>,
    whole_word: Vec<bool>,
    longest_chars: usize,
    longest_allow_chars: usize,
    prefilter: Prefilter,
}

impl std::fmt::Debug for KeywordMatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeywordMatcher")
            .field("terms", &self.terms.len())
            .field("allow", &self.allow.is_some())
            .finish()
    }
}

impl KeywordMatcher {
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

    /// Characters in the longest term: how much text a streaming scanner must keep to find
    /// matches across chunks.
    pub fn longest_chars(&self) -> usize {
        self.longest_chars
    }

    /// Characters in the longest allow phrase.
    pub fn longest_allow_chars(&self) -> usize {
        self.longest_allow_chars
    }

    /// Every term occurrence in `text` (normalized), overlapping ones included, in order of
    /// their end (then start); hits inside an allow-listed phrase are dropped.
    pub fn find(&self, text: &str) -> Vec<TermMatch> {
        self.find_with(text, Scan::Auto)
    }

    /// [`KeywordMatcher::find`] by a given way of scanning (all give the same result, which
    /// the tests check).
    fn find_with(&self, text: &str, scan: Scan) -> Vec<TermMatch> {
        let Some(automaton) = &self.automaton else {
            return Vec::new();
        };
        // Past about one read of the text in comparisons, one pass of the automaton is
        // cheaper.
        let found = match scan {
            Scan::Full => None,
            Scan::Auto => self.prefilter.find(text, &self.terms, text.len() + 256),
            Scan::Candidates => self.prefilter.find(text, &self.terms, usize::MAX),
        };
        let mut out: Vec<TermMatch> = match found {
            Some(found) => found
                .into_iter()
                .map(|(start, term)| TermMatch {
                    term: term as usize,
                    range: start..start + self.terms[term as usize].len(),
                })
                .collect(),
            None => automaton
                .find_overlapping_iter(text)
                .map(|m| TermMatch {
                    term: m.value() as usize,
                    range: m.start()..m.end(),
                })
                .collect(),
        };
        out.sort_unstable_by_key(|m| (m.range.end, m.range.start));
        out.retain(|m| !self.whole_word[m.term] || at_word_boundaries(text, m.range.clone()));
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

    #[test]
    fn allow_phrases_cancel_hits_inside_them() {
        let m = matcher(&[("kill", 1)], &["kill a process", "kill -9"]);
        assert_eq!(found(&m, "how do I kill a process"), Vec::<String>::new());
        assert_eq!(found(&m, "kill -9 1234 then kill him"), ["kill"]);
    }
}
