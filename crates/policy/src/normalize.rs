//! Text normalization before matching, with a map from the normalized text back to the
//! original.
//!
//! The steps, each optional ([`NormalizeOptions`]), in this order per character:
//!
//! 1. drop every Default_Ignorable_Code_Point of Unicode (zero-width characters, bidi
//!    controls, soft hyphen, variation selectors, tag characters U+E0000–U+E0FFF, Hangul
//!    fillers, …: the table in `unicode_tables.rs`, generated from DerivedCoreProperties.txt);
//! 2. Unicode NFKC (compatibility forms: ligatures, circled and super-/subscript digits,
//!    full-width forms, half-width katakana, …), applied to each starter together with the
//!    combining marks that follow it;
//! 3. look-alike letters to the ASCII letter they are confusable with (Cyrillic `а` → `a`,
//!    Greek `Ο` → `O`: the UTS #39 confusables whose skeleton is an ASCII letter's), and Latin
//!    letters without their combining marks (`á`, `n` + U+0301 → `a`, `n`: the canonical
//!    decomposition's base letter when it is ASCII, and marks after an ASCII letter dropped);
//! 4. full-width → half-width for U+FF01–U+FF5E and the ideographic space (NFKC does this too;
//!    this step is for packs that turn NFKC off);
//! 5. case folding (Unicode lowercase);
//! 6. Traditional → Simplified Chinese, character by character (the `fast2s` tables, without
//!    their context rules for the few ambiguous characters, so that text cut into chunks
//!    normalizes exactly as the whole does);
//! 7. whitespace folding: a run of whitespace becomes one space.
//!
//! The options also say which other written forms of a term the keyword matcher finds
//! ([`crate::keywords`] and `forms.rs`): words joined by `-`, `_` or `.`, English plurals,
//! letters spaced out, Chinese split by spaces or punctuation, and (off by default)
//! leetspeak digits and pinyin.
//!
//! Every normalized character remembers the span of original bytes it came from, so a match in
//! the normalized text maps back to exactly the original text that produced it
//! ([`Normalized::original_span`]).
//!
//! NFKC is applied per segment (a starter and its combining marks), not across segments: the
//! only compositions this misses are of conjoining Hangul jamo written as separate letters,
//! which running text does not use.

use std::ops::Range;

use serde::Deserialize;

use crate::{swar, unicode_tables};
use unicode_normalization::char::{canonical_combining_class, is_combining_mark};
use unicode_normalization::UnicodeNormalization;

/// Which normalization steps run, and which other forms of a term are found; all on by
/// default except Traditional → Simplified, leetspeak and pinyin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NormalizeOptions {
    pub nfkc: bool,
    pub case_fold: bool,
    pub full_width: bool,
    /// Drop Default_Ignorable_Code_Point characters.
    pub strip_format: bool,
    pub fold_whitespace: bool,
    pub traditional_to_simplified: bool,
    /// Look-alike letters (UTS #39 confusables) to ASCII letters.
    pub confusables: bool,
    /// Combining marks on Latin letters dropped (`nápálm` → `napalm`).
    pub strip_marks: bool,
    /// `-`, `_` and `.` between letters or digits join words as a space does
    /// (`pipe-bomb`, `pipe_bomb` find `pipe bomb`).
    pub joiners: bool,
    /// English terms also found with a plural `-s` / `-es` (last word of three letters or more).
    pub plurals: bool,
    /// Letters spaced out (`n a p a l m`, `n.a.p.a.l.m`, `p i p e b o m b`) find the term.
    pub spaced_letters: bool,
    /// Chinese split by up to three spaces or punctuation marks between two ideographs
    /// (`自 制 炸 弹`, `自制·炸弹`) finds the term.
    pub split_cjk: bool,
    /// Digits read as the letters they stand for in leetspeak (`n4p4lm`): 0 o, 1 i, 3 e,
    /// 4 a, 5 s, 7 t. Off by default (it costs false positives: bench/RESULTS.md).
    pub leetspeak: bool,
    /// Chinese terms also found written in toneless pinyin (`zhadan`, `zha dan`). Off by
    /// default.
    pub pinyin: bool,
}

impl Default for NormalizeOptions {
    fn default() -> Self {
        NormalizeOptions {
            nfkc: true,
            case_fold: true,
            full_width: true,
            strip_format: true,
            fold_whitespace: true,
            traditional_to_simplified: false,
            confusables: true,
            strip_marks: true,
            joiners: true,
            plurals: true,
            spaced_letters: true,
            split_cjk: true,
            leetspeak: false,
            pinyin: false,
        }
    }
}

/// Normalized text and, for each of its characters, the original bytes it came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Normalized {
    pub text: String,
    /// `(start in text, original span)`, one per normalized character, in order.
    spans: Vec<(usize, Range<usize>)>,
}

impl Normalized {
    /// The original bytes that produced `range` of the normalized text: from the start of the
    /// original of its first character to the end of the original of its last.
    pub fn original_span(&self, range: Range<usize>) -> Range<usize> {
        if self.spans.is_empty() || range.is_empty() {
            let at = self
                .locate(range.start)
                .map_or(0, |i| self.spans[i].1.start);
            return at..at;
        }
        let first = self.locate(range.start).unwrap_or(0);
        let last = self.locate(range.end - 1).unwrap_or(self.spans.len() - 1);
        self.spans[first].1.start..self.spans[last].1.end
    }

    /// Index of the normalized character containing byte `at` of the text.
    fn locate(&self, at: usize) -> Option<usize> {
        match self.spans.binary_search_by(|(start, _)| start.cmp(&at)) {
            Ok(i) => Some(i),
            Err(0) => None,
            Err(i) => Some(i - 1),
        }
    }
}

/// A normalizer for one set of options.
#[derive(Debug, Clone, Copy, Default)]
pub struct Normalizer {
    pub options: NormalizeOptions,
}

impl Normalizer {
    pub fn new(options: NormalizeOptions) -> Normalizer {
        Normalizer { options }
    }

    /// The normalized text with its map back to `text`.
    pub fn normalize(&self, text: &str) -> Normalized {
        let mut out = Normalized {
            text: String::with_capacity(text.len()),
            spans: Vec::with_capacity(text.len()),
        };
        self.run(text, 0, &mut |c, span| {
            out.spans.push((out.text.len(), span));
            out.text.push(c);
        });
        out
    }

    /// Only the normalized text (for matching where offsets are not needed). Runs of ASCII
    /// and of CJK ideographs go through byte loops that copy what needs no change in bulk;
    /// the rest through [`Normalizer::run`]. Same result as `normalize(text).text`.
    pub fn normalize_text(&self, text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        let mut in_space = false;
        let mut i = 0;
        while i < bytes.len() {
            let mut end = self.skip_fast_chunks(text, i);
            loop {
                while end < bytes.len() && self.is_fast_lead(bytes[end]) {
                    end += if bytes[end] < 0x80 { 1 } else { 3 };
                }
                // `、` and `。`, a mark every sentence or so of Chinese text, are left as they
                // are: inside the run when what follows them is too.
                if !is_kept_mark(bytes, end) {
                    break;
                }
                end = self.skip_fast_chunks(text, end + 3);
            }
            // A character followed by a combining mark belongs to its segment: leave it to
            // the general path.
            if end < bytes.len() && end > i {
                let next = text[end..].chars().next().unwrap_or(' ');
                // (No mark below U+0300, nor among the punctuation of Chinese text.)
                let may_be_mark = next as u32 >= 0x300
                    && !matches!(next as u32, 0x3001 | 0x3002 | 0xFF01..=0xFF5E);
                if may_be_mark && canonical_combining_class(next) != 0 {
                    end -= if bytes[end - 1] < 0x80 { 1 } else { 3 };
                }
            }
            in_space = self.fast_run(&text[i..end], in_space, &mut out);
            i = end;
            if i >= bytes.len() {
                break;
            }
            // Punctuation of Chinese text (a comma or full stop every sentence) would send
            // each sentence through the general path below: the common marks are done here.
            if let Some((c, len)) = self.punctuation(text, i) {
                out.push(c);
                in_space = false;
                i += len;
                continue;
            }
            // The stretch up to the next character the fast path takes (every such character
            // starts a new segment), the held-back one included.
            let stretch_end = bytes[i + 1..]
                .iter()
                .position(|&b| self.is_fast_lead(b))
                .map_or(bytes.len(), |n| i + 1 + n);
            // Marks after an ASCII letter that the fast path copied are the letter's (an
            // ignorable between them is dropped first).
            let after_letter = out.as_bytes().last().is_some_and(u8::is_ascii_alphabetic);
            in_space = self.run_from(
                &text[i..stretch_end],
                i,
                in_space,
                after_letter,
                &mut |c, _| out.push(c),
            );
            i = stretch_end;
        }
        out
    }

    /// How far from `i` (a character start) the text is, eight bytes at a time, made only of
    /// characters [`Normalizer::fast_run`] takes; answers a character start.
    fn skip_fast_chunks(&self, text: &str, i: usize) -> usize {
        let bytes = text.as_bytes();
        let cjk = !self.options.traditional_to_simplified;
        let mut end = i;
        while let Some(x) = swar::load(bytes, end) {
            // First bytes of multi-byte characters (0xC0 and up) must be 0xE4..=0xE9.
            let leads = x & (x << 1) & swar::HIGH;
            let fine = if cjk {
                leads & !swar::low7_in(x, 0x64, 0x69) == 0
            } else {
                x & swar::HIGH == 0
            };
            if !fine {
                break;
            }
            end += 8;
        }
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        end
    }

    /// Whether `b` starts a character [`Normalizer::fast_run`] takes: ASCII, or U+4000–U+9FFF
    /// (CJK ideographs and Yijing hexagrams, which every step but Traditional → Simplified
    /// leaves as they are). Continuation bytes are not.
    /// The normalized form of the punctuation mark at `i`, and its length, when it is one of
    /// the marks of Chinese text that the general path would only map to ASCII (full-width
    /// `，！？：；（）` and the like: NFKC and half-width both give `c - 0xFEE0`) or leave as
    /// they are (`、` `。`, and the full-width ones when neither option is on), and no
    /// combining mark follows (a mark would join it into a segment). `None` sends it to the
    /// general path.
    fn punctuation(&self, text: &str, i: usize) -> Option<(char, usize)> {
        let bytes = text.as_bytes();
        let &[lead, b1, b2] = bytes.get(i..i + 3)? else {
            return None;
        };
        let c = match (lead, b1, b2) {
            (0xE3, 0x80, 0x81 | 0x82) => char::from_u32(0x3000 | u32::from(b2 & 0x3F))?,
            (0xEF, 0xBC | 0xBD, _) => {
                let c = 0xF000 | (u32::from(b1 & 0x3F) << 6) | u32::from(b2 & 0x3F);
                // Full-width ASCII punctuation and symbols; letters and digits go the
                // general way (case folding, look-alikes).
                if !matches!(c, 0xFF01..=0xFF0F | 0xFF1A..=0xFF20 | 0xFF3B..=0xFF40 | 0xFF5B..=0xFF5E)
                {
                    return None;
                }
                if self.options.nfkc || self.options.full_width {
                    char::from(u8::try_from(c - 0xFEE0).ok()?)
                } else {
                    char::from_u32(c)?
                }
            }
            _ => return None,
        };
        let next = bytes.get(i + 3).copied().unwrap_or(0);
        let plain_next = next < 0x80 || (0xE4..=0xE9).contains(&next);
        if !plain_next {
            let n = text.get(i + 3..)?.chars().next()?;
            if canonical_combining_class(n) != 0 || (self.options.strip_format && is_invisible(n)) {
                return None;
            }
        }
        Some((c, 3))
    }

    fn is_fast_lead(&self, b: u8) -> bool {
        b < 0x80 || ((0xE4..=0xE9).contains(&b) && !self.options.traditional_to_simplified)
    }

    /// Normalizes a run of ASCII and CJK ideographs (none followed by a combining mark) onto
    /// `out`, copying stretches that need no change at once; `in_space`: whether the last
    /// character out is a folded space. Answers the same for the end of the run.
    fn fast_run(&self, run: &str, mut in_space: bool, out: &mut String) -> bool {
        let (fold_whitespace, case_fold) = (self.options.fold_whitespace, self.options.case_fold);
        let bytes = run.as_bytes();
        let mut copied = 0;
        let mut i = 0;
        while i < bytes.len() {
            // Eight bytes that need no change (no capital, no control character, no space
            // after a space) are stepped over at once.
            if let Some(x) = swar::load(bytes, i) {
                let spaces = swar::ascii_in(x, b' ', b' ');
                let changes = (case_fold && swar::ascii_in(x, b'A', b'Z') != 0)
                    || (fold_whitespace
                        && (swar::ascii_in(x, 0, 0x1F) != 0
                            || spaces & (spaces >> 8) != 0
                            || (in_space && spaces & 0x80 != 0)));
                if !changes {
                    in_space = fold_whitespace && spaces >> 63 != 0;
                    i += 8;
                    continue;
                }
            }
            let end = (i + 8).min(bytes.len());
            while i < end {
                let b = bytes[i];
                // Without branches on what is common (spaces between words come at random),
                // so that only changes, which are rare, cost a branch.
                let class = FAST_CLASS[b as usize];
                let space = fold_whitespace & (class == SPACE);
                let other_space = fold_whitespace & (class == OTHER_SPACE);
                let upper = case_fold & (class == UPPER);
                let change = ((space | other_space) & in_space) | (other_space & !in_space) | upper;
                let was_in_space = in_space;
                in_space = space | other_space;
                if change {
                    out.push_str(&run[copied..i]);
                    if upper {
                        out.push(b.to_ascii_lowercase() as char);
                    } else if !was_in_space {
                        out.push(' ');
                    }
                    copied = i + 1;
                }
                i += 1;
            }
        }
        out.push_str(&run[copied..]);
        in_space
    }

    /// Normalizes `text`, whose first byte is at `offset` in a larger whole, calling `emit`
    /// with each normalized character and its original span. Whitespace folding is local to
    /// this call.
    pub(crate) fn run<F: FnMut(char, Range<usize>)>(
        &self,
        text: &str,
        offset: usize,
        emit: &mut F,
    ) {
        self.run_from(text, offset, false, false, emit);
    }

    /// [`Normalizer::run`] continuing text whose last emitted character was a folded space
    /// (`in_space`) or an ASCII letter (`after_letter`); answers whether the end of `text`
    /// is in a folded space.
    fn run_from<F: FnMut(char, Range<usize>)>(
        &self,
        text: &str,
        offset: usize,
        in_space: bool,
        after_letter: bool,
        emit: &mut F,
    ) -> bool {
        let o = self.options;
        let mut in_space = in_space;
        // Whether the last character emitted is an ASCII letter: combining marks after it
        // are dropped (strip_marks).
        let mut latin = after_letter;
        let mut push = |c: char, span: Range<usize>, in_space: &mut bool| {
            if o.fold_whitespace && c.is_whitespace() {
                if !*in_space {
                    emit(' ', span);
                }
                *in_space = true;
                return;
            }
            *in_space = false;
            emit(c, span);
        };
        let mut chars = text.char_indices().peekable();
        let mut segment = String::new();
        while let Some((at, c)) = chars.next() {
            if o.strip_format && is_invisible(c) {
                continue;
            }
            let start = offset + at;
            let next_is_mark = matches!(chars.peek(), Some((_, n)) if !n.is_ascii() && canonical_combining_class(*n) != 0);
            // CJK ideographs are NFKC-stable, caseless and of one width: only Traditional →
            // Simplified applies. With ASCII below, the fast paths for most text.
            if is_cjk_ideograph(c) && !next_is_mark {
                latin = false;
                let span = start..start + c.len_utf8();
                let c = if o.traditional_to_simplified {
                    simplified(c)
                } else {
                    c
                };
                push(c, span, &mut in_space);
                continue;
            }
            // ASCII needs only case folding.
            if c.is_ascii() && !next_is_mark {
                let c = if o.case_fold {
                    c.to_ascii_lowercase()
                } else {
                    c
                };
                latin = c.is_ascii_alphabetic();
                push(c, start..start + 1, &mut in_space);
                continue;
            }
            // A segment: this character and the combining marks after it.
            segment.clear();
            segment.push(c);
            let mut end = start + c.len_utf8();
            while let Some(&(next_at, n)) = chars.peek() {
                if canonical_combining_class(n) == 0 && !(o.strip_format && is_invisible(n)) {
                    break;
                }
                chars.next();
                // Dropped characters are consumed but do not stretch the span: a hit ends at
                // its last visible character.
                if !(o.strip_format && is_invisible(n)) {
                    segment.push(n);
                    end = offset + next_at + n.len_utf8();
                }
            }
            let span = start..end;
            let mut emit_one = |c: char, in_space: &mut bool| {
                let c = if o.full_width { half_width(c) } else { c };
                if o.case_fold {
                    let lower = c.to_lowercase();
                    if lower.len() != 1 || lower.clone().next() != Some(c) {
                        for l in lower {
                            push(l, span.clone(), in_space);
                        }
                        return;
                    }
                }
                let c = if o.traditional_to_simplified {
                    simplified(c)
                } else {
                    c
                };
                push(c, span.clone(), in_space);
            };
            let mut fold = |n: char, in_space: &mut bool| {
                if o.strip_format && is_invisible(n) {
                    return;
                }
                if o.strip_marks && latin && is_combining_mark(n) {
                    return;
                }
                let n = self.fold_letter(n);
                latin = n.is_ascii_alphabetic();
                emit_one(n, in_space);
            };
            if o.nfkc {
                for n in segment.nfkc() {
                    fold(n, &mut in_space);
                }
            } else {
                for n in segment.chars() {
                    fold(n, &mut in_space);
                }
            }
        }
        in_space
    }

    /// A letter to the ASCII letter it is written as: its canonical decomposition's base
    /// letter when that is ASCII (strip_marks), or the ASCII letter it is confusable with
    /// (confusables). Anything else as it is.
    fn fold_letter(&self, c: char) -> char {
        let o = self.options;
        if c.is_ascii() || !(o.confusables || o.strip_marks) {
            return c;
        }
        let mut base = c;
        if o.strip_marks {
            let mut first = None;
            unicode_normalization::char::decompose_canonical(c, |d| {
                first.get_or_insert(d);
            });
            base = first.unwrap_or(c);
            if base.is_ascii_alphabetic() {
                return base;
            }
        }
        if o.confusables {
            if let Some(letter) = confusable_letter(base) {
                return letter;
            }
        }
        c
    }
}

/// Whether `、` or `。` is at `i` of `bytes`, followed by the end, ASCII or the first byte of
/// an ideograph (nothing, such as a combining mark, that would make it part of a segment).
fn is_kept_mark(bytes: &[u8], i: usize) -> bool {
    matches!(bytes.get(i..i + 3), Some([0xE3, 0x80, 0x81 | 0x82]))
        && bytes
            .get(i + 3)
            .is_none_or(|&b| b < 0x80 || (0xE4..=0xE9).contains(&b))
}

/// The ASCII letter that `c` is confusable with (UTS #39), if any.
fn confusable_letter(c: char) -> Option<char> {
    let table = unicode_tables::CONFUSABLE_LETTERS;
    table
        .binary_search_by(|(k, _)| k.cmp(&c))
        .ok()
        .map(|i| table[i].1 as char)
}

/// Byte classes of [`Normalizer::fast_run`]: everything else (other ASCII, and the bytes of
/// ideographs) is copied as is.
const SPACE: u8 = 1;
const OTHER_SPACE: u8 = 2;
const UPPER: u8 = 3;
const FAST_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b' ' as usize] = SPACE;
    let mut b = 0;
    while b < 128 {
        if matches!(b as u8, b'\t' | b'\n' | b'\x0B' | b'\x0C' | b'\r') {
            t[b] = OTHER_SPACE;
        }
        if (b as u8).is_ascii_uppercase() {
            t[b] = UPPER;
        }
        b += 1;
    }
    t
};

/// CJK Unified Ideographs and Extension A (NFKC maps none of them; the compatibility
/// ideographs at U+F900 are elsewhere).
fn is_cjk_ideograph(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')
}

/// Characters that render as nothing and are used to split words past filters: Unicode's
/// Default_Ignorable_Code_Point (zero-width characters, bidi controls, soft hyphen, variation
/// selectors, tag characters, Hangul fillers, …).
pub fn is_invisible(c: char) -> bool {
    let c = c as u32;
    if c < 0xAD {
        return false;
    }
    let table = unicode_tables::DEFAULT_IGNORABLE;
    let i = table.partition_point(|&(_, last)| last < c);
    table.get(i).is_some_and(|&(first, _)| first <= c)
}

/// Full-width ASCII forms and the ideographic space to their ASCII counterparts.
fn half_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// Traditional → Simplified for one character (itself when it has no other form).
fn simplified(c: char) -> char {
    if (c as u32) < 0x2E80 {
        return c;
    }
    let mut buf = [0u8; 4];
    let converted = fast2s::convert(c.encode_utf8(&mut buf));
    let mut chars = converted.chars();
    match (chars.next(), chars.next()) {
        (Some(s), None) => s,
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(text: &str) -> String {
        Normalizer::default().normalize_text(text)
    }

    #[test]
    fn each_step() {
        assert_eq!(norm("HeLLo  World"), "hello world");
        assert_eq!(norm("ＡＢＣ１２３！"), "abc123!");
        assert_eq!(norm("炸\u{200B}弹"), "炸弹");
        assert_eq!(norm("bo\u{00AD}mb"), "bomb");
        assert_eq!(norm("ﬁle ①"), "file 1");
        assert_eq!(norm("e\u{0301}"), "e");
        assert_eq!(norm("a\u{3000}\t\n b"), "a b");
        assert_eq!(norm("ÀB"), "ab");
        let keep_marks = Normalizer::new(NormalizeOptions {
            strip_marks: false,
            ..NormalizeOptions::default()
        });
        assert_eq!(keep_marks.normalize_text("e\u{0301}ÀB"), "éàb");
        let keep_case = Normalizer::new(NormalizeOptions {
            case_fold: false,
            ..NormalizeOptions::default()
        });
        assert_eq!(keep_case.normalize_text("ＡbC"), "AbC");
        let t2s = Normalizer::new(NormalizeOptions {
            traditional_to_simplified: true,
            ..NormalizeOptions::default()
        });
        assert_eq!(t2s.normalize_text("炸彈與槍"), "炸弹与枪");
    }

    #[test]
    fn offsets_map_back_to_the_original() {
        let original = "Ｂｏ\u{200B}ｍｂ 炸\u{200D}彈 e\u{0301}x";
        let n = Normalizer::new(NormalizeOptions {
            traditional_to_simplified: true,
            ..NormalizeOptions::default()
        })
        .normalize(original);
        assert_eq!(n.text, "bomb 炸弹 ex");
        let at = n.text.find("bomb").unwrap();
        let span = n.original_span(at..at + 4);
        assert_eq!(&original[span], "Ｂｏ\u{200B}ｍｂ");
        let at = n.text.find("炸弹").unwrap();
        let span = n.original_span(at..at + "炸弹".len());
        assert_eq!(&original[span], "炸\u{200D}彈");
        let at = n.text.find("ex").unwrap();
        assert_eq!(&original[n.original_span(at..at + 1)], "e\u{0301}");
    }

    /// Every Default_Ignorable_Code_Point goes, not a list of a few: variation selectors,
    /// tag characters, Mongolian free variation selectors, Hangul fillers, the soft hyphen.
    #[test]
    fn default_ignorables_are_dropped() {
        for c in [
            '\u{00AD}',
            '\u{034F}',
            '\u{061C}',
            '\u{115F}',
            '\u{17B4}',
            '\u{180B}',
            '\u{180F}',
            '\u{200B}',
            '\u{2065}',
            '\u{206F}',
            '\u{3164}',
            '\u{FE00}',
            '\u{FE0F}',
            '\u{FFA0}',
            '\u{1BCA0}',
            '\u{1D173}',
            '\u{E0001}',
            '\u{E0041}',
            '\u{E0100}',
            '\u{E0FFF}',
        ] {
            assert!(is_invisible(c), "{:04X}", c as u32);
            assert_eq!(norm(&format!("bo{c}mb")), "bomb", "{:04X}", c as u32);
            assert_eq!(norm(&format!("炸{c}弹")), "炸弹", "{:04X}", c as u32);
        }
        for c in [
            'a', ' ', '\u{00AC}', '\u{00AE}', '\u{200A}', '\u{2070}', '\u{FE10}', '炸',
        ] {
            assert!(!is_invisible(c), "{:04X}", c as u32);
        }
        // Tag characters spelling a hidden word, and a keycap-style sequence.
        assert_eq!(
            norm("na\u{E0070}\u{E0061}palm bo\u{FE0F}\u{20E3}mb"),
            "napalm bomb"
        );
    }

    #[test]
    fn lookalikes_and_marks_read_as_latin() {
        // Cyrillic а, Greek ο, Cyrillic capital А Р, Cyrillic і.
        assert_eq!(norm("n\u{0430}palm"), "napalm");
        assert_eq!(norm("b\u{03BF}mb"), "bomb");
        assert_eq!(norm("N\u{0410}\u{0420}ALM"), "napalm");
        assert_eq!(norm("sar\u{0456}n"), "sarin");
        // Marks, precomposed or combining, several, and after an ignorable.
        assert_eq!(norm("nápálm"), "napalm");
        assert_eq!(norm("n\u{0301}apalm"), "napalm");
        assert_eq!(norm("n\u{0301}\u{0308}a\u{0323}palm"), "napalm");
        assert_eq!(norm("n\u{200B}\u{0301}apalm"), "napalm");
        assert_eq!(norm("Ñ\u{0430}\u{0301}palm"), "napalm");
        // Marks on other scripts stay (they make other letters there).
        assert_eq!(norm("が"), "が");
        assert_eq!(norm("й"), "й");
        let plain = Normalizer::new(NormalizeOptions {
            confusables: false,
            ..NormalizeOptions::default()
        });
        assert_eq!(plain.normalize_text("n\u{0430}palm"), "n\u{0430}palm");
    }
}
