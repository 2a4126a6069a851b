//! Scanning text that arrives in chunks (a streamed model answer): each hit is reported once,
//! as soon as it is certain, including hits that straddle chunk boundaries, and the hits of a
//! chunked text are exactly those of the whole text (for keywords; see below).
//!
//! How: received text is normalized up to the last point where normalization cannot change
//! (before the last visible starter character, and before a trailing run of whitespace, so
//! combining marks and whitespace folding see what they would see in the whole text). The
//! normalized text is kept in a window long enough for the longest match (a term in its
//! longest form: spaced out, split by separators, plural) and allow phrase, with the few
//! characters around a match that decide it, and rescanned as it grows. A hit is reported
//! once nothing that may still arrive could change it: the characters after it that decide
//! it are known (the next one for whole-word terms, a few more for plurals and spaced
//! letters), and any allow phrase that could cover it would already be complete.
//!
//! Regular expressions are matched within the window (at least [`PATTERN_CONTEXT_CHARS`]
//! characters); a pattern match longer than that, or one that a later chunk would have
//! extended, may be reported differently than on the whole text.

use std::ops::{Deref, Range};

use unicode_normalization::char::{canonical_combining_class, is_combining_mark};

use crate::forms::{LOOKAHEAD_CHARS, LOOKBEHIND_CHARS};
use crate::normalize::is_invisible;
use crate::{Hit, Policy};

/// Characters of normalized context kept for regular expressions.
pub const PATTERN_CONTEXT_CHARS: usize = 256;

/// A scanner for one stream; see the module docs. `P` is how it holds its policy: `&Policy`
/// ([`Policy::stream`]), or `Arc<Policy>` for a scanner that must outlive a borrow (a guarded
/// answer streamed by a server task).
pub struct StreamScanner<P: Deref<Target = Policy>> {
    policy: P,
    /// Received text not normalized yet.
    pending: String,
    /// Original offset of `pending`.
    pending_at: usize,
    /// Normalized text kept for matching, and per character (start in `window`, original
    /// span).
    window: String,
    spans: Vec<(usize, Range<usize>)>,
    /// Characters of the window before which every hit has been decided (reported, or
    /// cancelled by an allow phrase).
    horizon: usize,
    /// Characters of normalized text a term's match can cover (and, with patterns, the
    /// context kept for them).
    term_chars: usize,
    finished: bool,
}

impl<P: Deref<Target = Policy>> StreamScanner<P> {
    pub fn new(policy: P) -> StreamScanner<P> {
        let longest = policy.keywords().longest_chars();
        let term_chars = if policy.patterns().is_empty() {
            longest
        } else {
            longest.max(PATTERN_CONTEXT_CHARS)
        };
        StreamScanner {
            policy,
            pending: String::new(),
            pending_at: 0,
            window: String::new(),
            spans: Vec::new(),
            horizon: 0,
            term_chars,
            finished: false,
        }
    }

    /// Adds the next chunk; answers the hits that became certain.
    pub fn feed(&mut self, chunk: &str) -> Vec<Hit> {
        if self.finished {
            return Vec::new();
        }
        self.pending.push_str(chunk);
        let cut = safe_cut(&self.pending);
        if cut > 0 {
            self.normalize_pending(cut);
        }
        self.scan(false)
    }

    /// Ends the stream; answers the hits that were waiting for what came after them.
    pub fn finish(&mut self) -> Vec<Hit> {
        if self.finished {
            return Vec::new();
        }
        let all = self.pending.len();
        self.normalize_pending(all);
        let hits = self.scan(true);
        self.finished = true;
        hits
    }

    /// Original bytes before this offset can no longer be part of a hit not yet reported: a
    /// caller holding text back may release them.
    pub fn settled_before(&self) -> usize {
        if self.finished {
            return self.pending_at;
        }
        let chars = self.spans.len();
        // Hits not reported yet end after the horizon or wait for an allow phrase: they
        // start within this many characters of the end.
        let allow = self.policy.keywords().longest_allow_chars();
        let keep = LOOKAHEAD_CHARS + self.term_chars.max(allow) + 1;
        if chars <= keep {
            return self.spans.first().map_or(self.pending_at, |(_, s)| s.start);
        }
        self.spans[chars - keep].1.start
    }

    fn normalize_pending(&mut self, cut: usize) {
        let piece: String = self.pending.drain(..cut).collect();
        let (window, spans) = (&mut self.window, &mut self.spans);
        self.policy
            .normalizer()
            .run(&piece, self.pending_at, &mut |c, span| {
                spans.push((window.len(), span));
                window.push(c);
            });
        self.pending_at += cut;
    }

    fn scan(&mut self, at_end: bool) -> Vec<Hit> {
        // The last characters are held back until what follows them is known (whole-word
        // terms look at the next character, plurals and spaced letters a few more), unless
        // the stream has ended.
        let horizon = if at_end {
            self.spans.len()
        } else {
            self.spans.len().saturating_sub(LOOKAHEAD_CHARS)
        };
        let allow = self.policy.keywords().longest_allow_chars();
        let previous = self.horizon;
        // A hit is final once it lies before the horizon and every allow phrase that could
        // cover it (starting at or before it, at most `allow` long) would be complete.
        let final_at = |start: usize, end: usize, horizon: usize, at_end: bool| {
            end <= horizon && (at_end || allow == 0 || start + allow <= horizon)
        };
        let mut out = Vec::new();
        for hit in self.policy.scan_normalized(&self.window, |r| r) {
            let start = self.char_index(hit.range.start);
            let end = self.char_index(hit.range.end);
            if final_at(start, end, horizon, at_end) && !final_at(start, end, previous, false) {
                out.push(Hit {
                    range: self.original_span(hit.range.clone()),
                    ..hit
                });
            }
        }
        self.horizon = horizon;
        self.trim();
        out
    }

    /// Index of the normalized character starting at byte `at` of the window (the count of
    /// characters before it).
    fn char_index(&self, at: usize) -> usize {
        match self.spans.binary_search_by(|(s, _)| s.cmp(&at)) {
            Ok(i) | Err(i) => i,
        }
    }

    fn original_span(&self, range: Range<usize>) -> Range<usize> {
        let first = match self.spans.binary_search_by(|(s, _)| s.cmp(&range.start)) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let last = match self
            .spans
            .binary_search_by(|(s, _)| s.cmp(&(range.end - 1)))
        {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        self.spans[first].1.start..self.spans[last].1.end
    }

    /// Drops normalized text that no future hit can reach.
    fn trim(&mut self) {
        let keep = self.term_chars
            + self.policy.keywords().longest_allow_chars()
            + LOOKAHEAD_CHARS
            + LOOKBEHIND_CHARS
            + 2;
        if self.spans.len() <= 2 * keep {
            return;
        }
        let drop_chars = self.spans.len() - keep;
        let drop_bytes = self.spans[drop_chars].0;
        self.window.drain(..drop_bytes);
        self.spans.drain(..drop_chars);
        for (start, _) in &mut self.spans {
            *start -= drop_bytes;
        }
        self.horizon = self.horizon.saturating_sub(drop_chars);
    }
}

/// Where received text can be cut for normalization: before the last visible starter
/// character, and before the whitespace run that precedes it.
fn safe_cut(text: &str) -> usize {
    let Some((at, _)) = text.char_indices().rev().find(|&(_, c)| {
        canonical_combining_class(c) == 0
            && !is_combining_mark(c)
            && !is_invisible(c)
            && !c.is_whitespace()
    }) else {
        return 0;
    };
    let before = &text[..at];
    let trimmed = before.trim_end_matches(|c: char| c.is_whitespace() || is_invisible(c));
    if trimmed.len() < before.len() {
        trimmed.len()
    } else {
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PolicyBuilder;

    fn policy() -> Policy {
        let mut b = PolicyBuilder::new();
        let weapons = b.category("weapons");
        b.add_terms(["炸弹", "bomb", "make a bomb", "нож"], weapons);
        b.allow_terms(["bomb calorimeter"]);
        b.build().unwrap()
    }

    fn whole(policy: &Policy, text: &str) -> Vec<(Range<usize>, String)> {
        policy
            .scan(text)
            .into_iter()
            .map(|h| (h.range, h.rule))
            .collect()
    }

    fn chunked(policy: &Policy, text: &str, cuts: &[usize]) -> Vec<(Range<usize>, String)> {
        let mut scanner = policy.stream();
        let mut hits = Vec::new();
        let mut last = 0;
        for &cut in cuts {
            hits.extend(scanner.feed(&text[last..cut]));
            last = cut;
        }
        hits.extend(scanner.feed(&text[last..]));
        hits.extend(scanner.finish());
        let mut out: Vec<_> = hits.into_iter().map(|h| (h.range, h.rule)).collect();
        out.sort_by_key(|(r, _)| (r.end, r.start));
        out
    }

    #[test]
    fn straddling_hits_are_found_once() {
        let p = policy();
        let text = "how to make a bomb: 炸\u{200B}弹, not a bomb calorimeter, nor bombastic";
        let want = whole(&p, text);
        assert_eq!(want.len(), 3, "{want:?}");
        let boundaries: Vec<usize> = (1..text.len())
            .filter(|&i| text.is_char_boundary(i))
            .collect();
        for &cut in &boundaries {
            assert_eq!(chunked(&p, text, &[cut]), want, "cut at {cut}");
        }
        // One character at a time.
        assert_eq!(chunked(&p, text, &boundaries), want);
    }

    #[test]
    fn settled_text_trails_the_input() {
        let p = policy();
        let mut s = p.stream();
        s.feed("a long harmless sentence that goes on and on ");
        let settled = s.settled_before();
        assert!(settled > 0 && settled < 45, "{settled}");
    }
}
