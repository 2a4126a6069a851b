//! Terms found in plain text without normalizing it.
//!
//! Most documents of a corpus hold no term, and for them most of a screen went into two
//! copies of the text: the normalized text, then the matcher's view of it. A *plain* document
//! needs neither. It is made only of printable ASCII but `_`, tabs and line breaks, the
//! characters of U+4000–U+9FFF (CJK ideographs, and the Yijing hexagrams), the common marks
//! of Chinese and English text that normalization leaves as they are (`、` `。` `《` `》` `「`
//! `“` `—` …), and the full-width letters, digits and punctuation, which normalize to ASCII
//! (not `＿`). In such text the normalizer only folds capitals and runs of whitespace and
//! turns full-width forms into ASCII, and the view only turns joiners into spaces and drops
//! the separators between ideographs ([`crate::forms`]), each by looking at the characters
//! next to it. So the view's characters, its words and the prefilter's candidates can be read
//! off the original text by those rules, and each candidate compared with the text read the
//! same way.
//!
//! What is found is what the usual way finds, with ranges in the original text; text that is
//! not plain, has what may be spaced letters (the view notes them for a matcher of its own)
//! or so many candidates that the automaton would be cheaper goes the usual way. The tests
//! check both ways against each other.

use std::cell::Cell;
use std::ops::Range;

use super::{
    char_pair, char_triple, for_each_word_of, is_full_width_alphanumeric, tagged, word_hash_at,
    word_hash_mapped, Filed, Prefilter, WordKeys, CHAR_ONE, CHAR_THREE, CHAR_TWO, WORD_ONE,
    WORD_TWO,
};
use crate::forms::{is_run_separator, Forms, MAX_CJK_SEPARATORS};
use crate::{swar, vector};

thread_local! {
    /// The candidate lists of the last text this thread searched, emptied and kept for the
    /// next: a screen searches a document at a time, and growing new lists for each cost
    /// 2% of the instructions on text dense with term beginnings.
    static CANDIDATES: Cell<[Vec<(usize, u64)>; 2]> = const { Cell::new([Vec::new(), Vec::new()]) };
}

/// The most candidates a list keeps room for after its text (a megabyte): a thread that once
/// searched a huge text does not hold on to its lists.
const KEPT_CANDIDATES: usize = 1 << 16;

/// The view's rules that apply to plain text.
#[derive(Debug, Clone, Copy)]
struct Rules {
    joiners: bool,
    split_cjk: bool,
}

/// Which letters or digits plain text may have: the only characters of its words.
#[derive(Debug, Default, Clone, Copy)]
struct Letters {
    /// ASCII ones (or a run of ASCII longer than two bytes, which is taken to have one).
    ascii: bool,
    /// Full-width ones, which the view reads as ASCII.
    full_width: bool,
}

impl Prefilter {
    /// Every `(range, term)` of `terms` (as [`Prefilter::find`] finds them, whole-word terms
    /// at word boundaries only) in `text`, original and not normalized, with ranges in it,
    /// unordered; for a normalizer that folds case and whitespace, maps full-width forms, and
    /// does nothing else to plain text (the caller checks its options). `None` when the text
    /// is not plain or has what may be spaced letters, or when the comparisons cost more
    /// than `budget` bytes.
    pub(crate) fn find_in_plain(
        &self,
        text: &str,
        terms: &[String],
        forms: &Forms,
        budget: usize,
    ) -> Option<Vec<(Range<usize>, u32)>> {
        // Leetspeak changes digits; a term that starts with ASCII and is not whole-word would
        // make every ASCII character a candidate.
        if forms.leetspeak || self.ascii_lead {
            return None;
        }
        let rules = Rules {
            joiners: forms.joiners,
            split_cjk: forms.split_cjk,
        };
        let [mut chars, mut words] = CANDIDATES.take();
        chars.clear();
        words.clear();
        let found = self.find_candidates_in_plain(
            text,
            terms,
            rules,
            forms,
            budget,
            [&mut chars, &mut words],
        );
        for list in [&mut chars, &mut words] {
            if list.capacity() > KEPT_CANDIDATES {
                *list = Vec::new();
            }
        }
        CANDIDATES.set([chars, words]);
        found
    }

    /// [`Prefilter::find_in_plain`] with its candidate lists (empty) to fill.
    fn find_candidates_in_plain(
        &self,
        text: &str,
        terms: &[String],
        rules: Rules,
        forms: &Forms,
        budget: usize,
        [chars, words]: [&mut Vec<(usize, u64)>; 2],
    ) -> Option<Vec<(Range<usize>, u32)>> {
        let bytes = text.as_bytes();
        // Characters first: they also check that the text is plain, and whether it may have
        // words.
        let Letters { ascii, full_width } = self.plain_char_candidates(bytes, rules, chars)?;
        if !self.kinds[WORD_ONE] && !self.kinds[WORD_TWO] || !ascii && !full_width {
            // (With no letter or digit, plain text has no word: Chinese text without a Latin
            // letter skips a pass over it, a seventh of its search.)
        } else if full_width {
            if !self.plain_word_candidates::<true>(text, forms.spaced_letters, words) {
                return None;
            }
        } else if !self.plain_word_candidates::<false>(text, forms.spaced_letters, words) {
            return None;
        }
        let mut found = Vec::new();
        let mut cost = 0usize;
        for (candidates, whole_word) in [(words, true), (chars, false)] {
            for &(start, key) in candidates.iter() {
                let Some(&(from, to)) = self.terms_by_key.get(&key) else {
                    continue;
                };
                // Read once for all the terms filed under the key (two on average where
                // every word begins terms, more in English).
                let head = Head::at(bytes, start);
                for filed in &self.filed[from as usize..to as usize] {
                    cost += filed.len as usize;
                    if cost > budget {
                        return None;
                    }
                    if head.is_some_and(|head| head.surely_not(bytes, start, filed)) {
                        continue;
                    }
                    let term = &terms[filed.term as usize];
                    if let Some(end) = view_match_end(bytes, start, term, rules, whole_word) {
                        found.push((start..end, filed.term));
                    }
                }
            }
        }
        Some(found)
    }

    /// Candidates of terms that are not whole-word, at every character that is not ASCII
    /// (none of them starts with ASCII); `None` when the text is not plain, else which letters
    /// or digits it may have.
    fn plain_char_candidates(
        &self,
        bytes: &[u8],
        rules: Rules,
        out: &mut Vec<(usize, u64)>,
    ) -> Option<Letters> {
        let [_, _, one, two, three] = &self.filters;
        let has_one = self.kinds[CHAR_ONE];
        let n = bytes.len();
        let mut p = 0;
        // Where the last ideograph ends (none yet).
        let mut ideograph_end = usize::MAX;
        let mut letters = Letters::default();
        // Each position's next characters are the next position's too: read once.
        let mut read = ViewChars::default();
        while p < n {
            if bytes[p] < 0x80 {
                let end = skip_plain_ascii(bytes, p)?;
                // Runs of one or two bytes between Chinese characters are mostly spaces and
                // line breaks; a longer one is taken to have a letter.
                letters.ascii |= end - p > 2 || bytes[p..end].iter().any(u8::is_ascii_alphanumeric);
                p = end;
                continue;
            }
            // An ideograph that three more characters of three bytes follow, ideographs or what
            // may be separators the view drops: not a word or two between ASCII words, where
            // the run would stop at once (its start cost more than the general way).
            let may_run = |i: usize| bytes.get(i).is_some_and(|&b| b >= 0xE2);
            if self.any_char_lead
                && is_ideograph_lead(bytes[p])
                && may_run(p + 3)
                && may_run(p + 6)
                && may_run(p + 9)
            {
                // The loop specialized: whether each ideograph's lead byte must be looked up
                // (the terms may not start with every one), and whether characters alone are
                // keys; testing those at every character was a tenth of the loop's
                // instructions.
                p = match (self.ideograph_leads, self.kinds[CHAR_ONE]) {
                    (true, false) => {
                        self.ideograph_run_candidates::<false, false>(bytes, p, rules, out)
                    }
                    (true, true) => {
                        self.ideograph_run_candidates::<false, true>(bytes, p, rules, out)
                    }
                    (false, false) => {
                        self.ideograph_run_candidates::<true, false>(bytes, p, rules, out)
                    }
                    (false, true) => {
                        self.ideograph_run_candidates::<true, true>(bytes, p, rules, out)
                    }
                };
                if p >= n || bytes[p] < 0x80 {
                    continue;
                }
            }
            let (c0, e0) = plain_char(bytes, p, rules)?;
            letters.full_width |=
                bytes[p] == 0xEF && u8::try_from(c0).is_ok_and(|b| b.is_ascii_alphanumeric());
            let dropped = is_separator(c0) && is_dropped(bytes, p, ideograph_end, rules, &mut read);
            if is_ideograph(c0) {
                ideograph_end = e0;
            }
            if self.char_lead[bytes[p] as usize] && !dropped {
                if has_one && one.contains(c0 as u64) {
                    out.push((p, tagged(CHAR_ONE, c0 as u64)));
                }
                if let Some((c1, e1)) = read.quick_view_char(bytes, e0, is_ideograph(c0), rules) {
                    let key = char_pair(c0, c1);
                    let pair = two.probe(key);
                    if pair.is_key() {
                        out.push((p, tagged(CHAR_TWO, key)));
                    }
                    // The third character is read only where a term may start with the two.
                    if pair.starts_key() {
                        if let Some((c2, _)) =
                            read.quick_view_char(bytes, e1, is_ideograph(c1), rules)
                        {
                            let key = char_triple(c0, c1, c2);
                            if three.contains(key) {
                                out.push((p, tagged(CHAR_THREE, key)));
                            }
                        }
                    }
                }
            }
            p = e0;
        }
        Some(letters)
    }

    /// The candidates at each ideograph from `p` while the view's next two characters are
    /// ideographs too (most of Chinese text: the window of three characters moves one a
    /// step); answers where it stopped, `p` when the view has no such three there.
    ///
    /// The separators between two ideographs that the view drops (`，` `。` …) are stepped
    /// over here: at the end of every sentence, leaving the run cost more than the run.
    #[inline(never)]
    fn ideograph_run_candidates<const CHECK_LEAD: bool, const HAS_ONE: bool>(
        &self,
        bytes: &[u8],
        p: usize,
        rules: Rules,
        out: &mut Vec<(usize, u64)>,
    ) -> usize {
        // Each character of the window with where it ends (it is three bytes long).
        let Some(mut c0) = swar::chunk(bytes, p).map(|w| (decode_ideograph(w), p + 3)) else {
            return p;
        };
        let Some(mut c1) = next_run_char(bytes, c0, rules) else {
            return p;
        };
        let Some(mut c2) = next_run_char(bytes, c1, rules) else {
            return p;
        };
        loop {
            // Where the window's characters are next to each other (no separator between
            // them: most of a run), it moves a character a step with one position, and its
            // first two characters are held as their pair's key, which a shift moves on: the
            // loop keeps its state in registers (with three positions and three characters it
            // reloaded some from the stack each step, 9% more instructions on Chinese text).
            if c1.1 == c0.1 + 3 && c2.1 == c1.1 + 3 {
                let (mut start, mut pair, mut third) = (c0.1 - 3, char_pair(c0.0, c1.0), c2.0);
                loop {
                    self.window_candidates(bytes, start, (pair, third), CHECK_LEAD, HAS_ONE, out);
                    match swar::chunk(bytes, start + 9) {
                        Some(w) if is_ideograph_lead(w[0]) => {
                            (pair, third) = (pair << 32 | u64::from(third), decode_ideograph(w));
                            start += 3;
                        }
                        _ => break,
                    }
                }
                c1 = (pair as u32, start + 6);
                c2 = (third, start + 9);
            } else {
                self.window_candidates(
                    bytes,
                    c0.1 - 3,
                    (char_pair(c0.0, c1.0), c2.0),
                    CHECK_LEAD,
                    HAS_ONE,
                    out,
                );
            }
            let Some(c3) = next_run_char(bytes, c2, rules) else {
                return c1.1 - 3;
            };
            (c0, c1, c2) = (c1, c2, c3);
        }
    }

    /// Candidates of whole-word terms, as [`Prefilter::find`]'s with capitals folded (the
    /// words of plain text are its view's: `_` is not in it), and with full-width letters
    /// and digits read as ASCII when `FULL_WIDTH` (the text has some); `false` at a run of
    /// spaced letters (the view notes it for a matcher of its own), or what might be one.
    fn plain_word_candidates<const FULL_WIDTH: bool>(
        &self,
        text: &str,
        spaced_letters: bool,
        out: &mut Vec<(usize, u64)>,
    ) -> bool {
        let mut keys = WordKeys::new(self);
        let bytes = text.as_bytes();
        // A word with full-width characters, as normalized.
        let mut ascii = Vec::new();
        // Single-character words in a row that the view reads as spaced letters (`n a p a l
        // m`): three make a run.
        let (mut singles, mut previous_end) = (0, 0);
        for_each_word_of::<FULL_WIDTH>(text, |start, end| {
            if singles >= 3 {
                return;
            }
            let single = (end - start == 1
                || (FULL_WIDTH && end - start == 3 && bytes[start] >= 0x80))
                && alone(bytes, start, end);
            if spaced_letters && single {
                let gap = &bytes[previous_end..start];
                singles = if singles > 0 && is_spaced_letters_gap(gap) {
                    singles + 1
                } else {
                    1
                };
                if singles >= 3 {
                    return;
                }
            } else {
                singles = 0;
            }
            previous_end = end;
            let hash = if FULL_WIDTH && !text[start..end].is_ascii() {
                // Its characters are ASCII or full-width forms of it (U+FF01 is `!`).
                ascii.clear();
                ascii.extend(text[start..end].chars().map(|c| {
                    let c = u32::from(c);
                    let c = if c >= 0xFF01 { c - 0xFEE0 } else { c };
                    (c as u8).to_ascii_lowercase()
                }));
                word_hash_at(&ascii, 0, ascii.len())
            } else {
                // Its bytes are ASCII letters and digits, where setting 0x20 folds capitals
                // and changes nothing else.
                word_hash_mapped(bytes, start, end - start, |x| x | 0x2020_2020_2020_2020)
            };
            keys.push(start, hash, out);
        });
        singles < 3
    }
}

/// Whether no character next to the word from `start` to `end` stays outside ASCII in the
/// view, as one next to a spaced letter may not (`I’m a` has none). Of the characters of plain
/// text, all three bytes long, the view reads only the full-width forms (`0xEF…`) as ASCII.
fn alone(bytes: &[u8], start: usize, end: usize) -> bool {
    let before = start == 0 || bytes[start - 1] < 0x80 || (start >= 3 && bytes[start - 3] == 0xEF);
    let after = bytes.get(end).is_none_or(|&b| b < 0x80 || b == 0xEF);
    before && after
}

/// Whether the view reads `gap`, between two one-character words, as the one separator that
/// spaced letters have between them ([`is_run_separator`]): whitespace (one space in the
/// view), one such byte, or the full-width `－` and `．`. (Any gap of up to three bytes counted
/// before, and `a, b, c`, `x’ y z` sent text the general way.)
fn is_spaced_letters_gap(gap: &[u8]) -> bool {
    match gap {
        [b] => is_run_separator(*b) || b.is_ascii_whitespace(),
        b"\xEF\xBC\x8D" | b"\xEF\xBC\x8E" => true,
        _ => !gap.is_empty() && gap.iter().all(u8::is_ascii_whitespace),
    }
}

/// Whether `b` is the first byte of a character of U+4000–U+9FFF (most CJK ideographs).
#[inline(always)]
fn is_ideograph_lead(b: u8) -> bool {
    (0xE4..=0xE9).contains(&b)
}

/// The code point of a character of U+4000–U+9FFF from its three bytes.
#[inline(always)]
fn decode_ideograph(w: &[u8; 3]) -> u32 {
    (u32::from(w[0] & 0x0F) << 12) | (u32::from(w[1] & 0x3F) << 6) | u32::from(w[2] & 0x3F)
}

/// The view's next character after `(c, end)` (a character of U+4000–U+9FFF and where it
/// ends) when it is one of U+4000–U+9FFF too, with where it ends: the next character, or the
/// ideograph after the separators that the view drops between two ideographs; `None` when
/// it is not one.
#[inline(always)]
fn next_run_char(bytes: &[u8], (c, end): (u32, usize), rules: Rules) -> Option<(u32, usize)> {
    let w = swar::chunk(bytes, end)?;
    if is_ideograph_lead(w[0]) {
        return Some((decode_ideograph(w), end + 3));
    }
    // (A letter or digit is no separator: most runs in text that mixes scripts end at one.)
    if rules.split_cjk && is_ideograph(c) && !w[0].is_ascii_alphanumeric() {
        dropped_separators_then_ideograph(bytes, end, rules)
    } else {
        None
    }
}

/// The ideograph after one to [`MAX_CJK_SEPARATORS`] separators from `p` (right after an
/// ideograph), with where it ends: the view drops those separators ([`view_char`]).
#[inline(always)]
fn dropped_separators_then_ideograph(
    bytes: &[u8],
    mut p: usize,
    rules: Rules,
) -> Option<(u32, usize)> {
    for _ in 0..MAX_CJK_SEPARATORS {
        // `，` `。` and `、`, most separators of Chinese text, known without the view's rules
        // (read by them, a tenth of a Chinese text's search).
        if let Some(b"\xEF\xBC\x8C" | b"\xE3\x80\x82" | b"\xE3\x80\x81") = swar::chunk(bytes, p) {
            p += 3;
        } else {
            let (c, end) = plain_char(bytes, p, rules)?;
            if !is_separator(c) {
                return None;
            }
            p = end;
        }
        if let Some(w) = swar::chunk(bytes, p).filter(|w| is_ideograph_lead(w[0])) {
            let c = decode_ideograph(w);
            return is_ideograph(c).then_some((c, p + 3));
        }
    }
    None
}

/// Capitals of eight ASCII bytes in lowercase (other bytes unchanged).
#[inline(always)]
fn fold_ascii_capitals(x: u64) -> u64 {
    x | (swar::ascii_in(x, b'A', b'Z') >> 2)
}

/// Where the run of ASCII from `p` ends, when all of it is plain (no control character but
/// tab and line breaks, no `_`, no DEL).
fn skip_plain_ascii(bytes: &[u8], mut p: usize) -> Option<usize> {
    // Where a run of plain ASCII stops: at a byte that is not ASCII (the run ends) or not plain.
    let may_stop = |b: u8| {
        let control = (b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r');
        (b >= 0x7F) | (b == b'_') | control
    };
    // Most runs between other characters are short: up to 32 bytes eight at a time first, to
    // the first byte that is not ASCII (or may not be plain: the blocks below tell).
    for _ in 0..4 {
        let Some(x) = swar::load(bytes, p) else {
            break;
        };
        let stop = swar::may_end_plain_ascii(x);
        if stop == 0 {
            p += 8;
            continue;
        }
        p += (stop.trailing_zeros() / 8) as usize;
        if bytes[p] >= 0x80 {
            return Some(p);
        }
        break;
    }
    // Then 32 bytes at a time, with no branch inside (vector instructions): whether the run
    // may stop in them, then where.
    while let Some(block) = swar::chunk::<32>(bytes, p) {
        if !block.iter().fold(false, |stop, &b| stop | may_stop(b)) {
            p += 32;
            continue;
        }
        let mut flags = [0u8; 32];
        for (flag, &b) in flags.iter_mut().zip(block) {
            *flag = u8::from(may_stop(b)) << 7;
        }
        let stop = p + swar::pack_flags(&flags).trailing_zeros() as usize;
        return (bytes[stop] >= 0x80).then_some(stop);
    }
    // The last few bytes one at a time.
    while let Some(&b) = bytes.get(p) {
        if may_stop(b) {
            return (b >= 0x80).then_some(p);
        }
        p += 1;
    }
    Some(p)
}

fn is_plain_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// The character of the normalized text that the text at `p` (a character start) becomes, as
/// the view reads it, and where it ends in the text: a run of whitespace is one space, a
/// capital its small letter, full-width punctuation its ASCII, a joiner a space. `None` when
/// the character is not plain.
#[inline(always)]
fn plain_char(bytes: &[u8], p: usize, rules: Rules) -> Option<(u32, usize)> {
    let b = *bytes.get(p)?;
    if b < 0x80 {
        return match b {
            b' ' | b'\t' | b'\n' | b'\r' => {
                let mut end = p + 1;
                while bytes.get(end).is_some_and(|&b| is_plain_whitespace(b)) {
                    end += 1;
                }
                Some((u32::from(b' '), end))
            }
            b'_' | 0x7F | 0..=0x1F => None,
            _ => {
                let c = joined(bytes, p, p + 1, b.to_ascii_lowercase(), rules);
                Some((u32::from(c), p + 1))
            }
        };
    }
    let &[b1, b2] = bytes.get(p + 1..p + 3)? else {
        return None;
    };
    let c = (u32::from(b & 0x0F) << 12) | (u32::from(b1 & 0x3F) << 6) | u32::from(b2 & 0x3F);
    match b {
        0xE4..=0xE9 => Some((c, p + 3)),
        // Quotation marks and dashes, `、` `。` and brackets (《》「」…): left as they are.
        0xE2 if matches!(c, 0x2013 | 0x2014 | 0x2018 | 0x2019 | 0x201C | 0x201D) => {
            Some((c, p + 3))
        }
        0xE3 if matches!(c, 0x3001 | 0x3002 | 0x3008..=0x3011 | 0x3014 | 0x3015) => {
            Some((c, p + 3))
        }
        0xEF if is_full_width_punctuation(c) => {
            let ascii = (c - 0xFEE0) as u8;
            Some((u32::from(joined(bytes, p, p + 3, ascii, rules)), p + 3))
        }
        0xEF if is_full_width_alphanumeric(bytes, p) => {
            Some((u32::from(((c - 0xFEE0) as u8).to_ascii_lowercase()), p + 3))
        }
        _ => None,
    }
}

/// The full-width forms of ASCII punctuation (`，` `！` `（` …), but `＿` (`_` joins words).
fn is_full_width_punctuation(c: u32) -> bool {
    matches!(c, 0xFF01..=0xFF0F | 0xFF1A..=0xFF20 | 0xFF3B..=0xFF3E | 0xFF40 | 0xFF5B..=0xFF5E)
}

/// `c` (the normalized character from `p` to `end`), or a space when it is a joiner: `-` or
/// `.` between two letters or digits that normalize to ASCII.
#[inline]
fn joined(bytes: &[u8], p: usize, end: usize, c: u8, rules: Rules) -> u8 {
    if rules.joiners
        && matches!(c, b'-' | b'.')
        && alphanumeric_before(bytes, p)
        && alphanumeric_at(bytes, end)
    {
        b' '
    } else {
        c
    }
}

/// Whether the character at `p` (a character start) normalizes to an ASCII letter or digit.
#[inline]
fn alphanumeric_at(bytes: &[u8], p: usize) -> bool {
    match bytes.get(p) {
        Some(b) if b.is_ascii_alphanumeric() => true,
        Some(0xEF) => is_full_width_alphanumeric(bytes, p),
        _ => false,
    }
}

/// Whether the character that ends at `p` normalizes to an ASCII letter or digit.
#[inline]
fn alphanumeric_before(bytes: &[u8], p: usize) -> bool {
    match p.checked_sub(1).and_then(|i| bytes.get(i)) {
        Some(b) if b.is_ascii_alphanumeric() => true,
        Some(0x80..) => p >= 3 && is_full_width_alphanumeric(bytes, p - 3),
        _ => false,
    }
}

/// The next character of the view from `p` (a character start of plain text, right after a
/// character of the view, an ideograph when `after_ideograph`), and where it ends: past one
/// to three separators between two ideographs, when the view drops them.
#[inline]
fn view_char(bytes: &[u8], p: usize, after_ideograph: bool, rules: Rules) -> Option<(u32, usize)> {
    let first = plain_char(bytes, p, rules)?;
    if !(after_ideograph && rules.split_cjk && is_separator(first.0)) {
        return Some(first);
    }
    let mut next = first.1;
    for _ in 1..MAX_CJK_SEPARATORS {
        match plain_char(bytes, next, rules) {
            Some((c, end)) if is_ideograph(c) => return Some((c, end)),
            Some((c, end)) if is_separator(c) => next = end,
            _ => return Some(first),
        }
    }
    match plain_char(bytes, next, rules) {
        Some((c, end)) if is_ideograph(c) => Some((c, end)),
        _ => Some(first),
    }
}

/// The last two characters of the view read by [`view_char`], with where they were read from.
struct ViewChars {
    read: [(usize, Option<(u32, usize)>); 2],
    next_slot: usize,
}

impl Default for ViewChars {
    fn default() -> ViewChars {
        ViewChars {
            read: [(usize::MAX, None); 2],
            next_slot: 0,
        }
    }
}

impl ViewChars {
    /// [`view_char`], read again only when it is not one of the last two read. Keyed by
    /// position alone: `after_ideograph` is whether the character that ends at `p` is an
    /// ideograph, the same at every call.
    #[inline]
    fn view_char(
        &mut self,
        bytes: &[u8],
        p: usize,
        after_ideograph: bool,
        rules: Rules,
    ) -> Option<(u32, usize)> {
        if let Some(&(_, found)) = self.read.iter().find(|&&(at, _)| at == p) {
            return found;
        }
        let found = view_char(bytes, p, after_ideograph, rules);
        self.read[self.next_slot] = (p, found);
        self.next_slot ^= 1;
        found
    }

    /// [`ViewChars::view_char`] where the text switches scripts: an ideograph, or a letter or
    /// digit (ASCII or full-width), is the view's character as it is but for capitals and
    /// width, and so is a space before one unless the view drops it between two ideographs.
    /// Those are most characters read after a character of a short run, and are read here
    /// with no call and no look at the last two read.
    #[inline(always)]
    fn quick_view_char(
        &mut self,
        bytes: &[u8],
        p: usize,
        after_ideograph: bool,
        rules: Rules,
    ) -> Option<(u32, usize)> {
        let ideograph_at = |p: usize| match bytes.get(p..p + 3) {
            Some(&[lead, b1, b2]) if is_ideograph_lead(lead) => {
                Some((decode_ideograph(&[lead, b1, b2]), p + 3))
            }
            _ => None,
        };
        match bytes.get(p) {
            Some(&b) if is_ideograph_lead(b) => ideograph_at(p),
            Some(&b) if b.is_ascii_alphanumeric() => {
                Some((u32::from(b.to_ascii_lowercase()), p + 1))
            }
            Some(b' ') => match bytes.get(p + 1) {
                Some(b) if b.is_ascii_alphanumeric() => Some((u32::from(b' '), p + 1)),
                Some(&b) if is_ideograph_lead(b) => match ideograph_at(p + 1) {
                    Some(next) if after_ideograph && rules.split_cjk && is_ideograph(next.0) => {
                        Some(next)
                    }
                    _ => Some((u32::from(b' '), p + 1)),
                },
                _ => self.view_char(bytes, p, after_ideograph, rules),
            },
            Some(0xEF) if is_full_width_alphanumeric(bytes, p) => {
                let c = decode_ideograph(&[0xEF, bytes[p + 1], bytes[p + 2]]);
                Some((u32::from(((c - 0xFEE0) as u8).to_ascii_lowercase()), p + 3))
            }
            _ => self.view_char(bytes, p, after_ideograph, rules),
        }
    }
}

/// Whether the view drops the separator at `p`: it is one of those between the ideograph that
/// ends at `ideograph_end` and the next.
fn is_dropped(
    bytes: &[u8],
    p: usize,
    ideograph_end: usize,
    rules: Rules,
    read: &mut ViewChars,
) -> bool {
    if !rules.split_cjk || ideograph_end > p {
        return false;
    }
    // The next character of the view after that ideograph, past the separators it drops.
    match read.view_char(bytes, ideograph_end, true, rules) {
        Some((c, end)) => is_ideograph(c) && p < end - 3,
        None => false,
    }
}

/// The ideographs of plain text.
#[inline(always)]
fn is_ideograph(c: u32) -> bool {
    (0x4000..=0x9FFF).contains(&c) && !(0x4DC0..=0x4DFF).contains(&c)
}

/// The separators of plain text as the view reads them (after normalization): ASCII spaces
/// and punctuation, and every other mark of plain text ([`plain_char`]).
#[inline(always)]
fn is_separator(c: u32) -> bool {
    c == u32::from(b' ')
        || u8::try_from(c).is_ok_and(|b| b.is_ascii_punctuation())
        || matches!(c, 0x2010..=0x205E | 0x3001 | 0x3002 | 0x3008..=0x3020)
}

/// The sixteen bytes of plain text from a candidate's start, with capitals folded, and how
/// many of them the view keeps as they are: most candidates differ from the terms filed under
/// their key within them.
#[derive(Clone, Copy)]
struct Head {
    text: u128,
    kept: usize,
}

impl Head {
    /// The head at `start`; `None` less than sixteen bytes before the end.
    #[inline]
    fn at(bytes: &[u8], start: usize) -> Option<Head> {
        let chunk = swar::chunk::<16>(bytes, start)?;
        if is_ideograph_lead(chunk[0]) {
            // (No capital to fold among ideographs; what follows them is not compared.)
            return Some(Head {
                text: u128::from_le_bytes(*chunk),
                kept: ideograph_run_len(bytes, start),
            });
        }
        let sixteen = vector::sixteen(chunk);
        Some(Head {
            text: sixteen.folded,
            kept: kept_of_sixteen(sixteen),
        })
    }

    /// Whether the term `filed` surely does not start at `start`, the head's start in `bytes`.
    #[inline]
    fn surely_not(self, bytes: &[u8], start: usize, filed: &Filed) -> bool {
        let Head { text, kept } = self;
        let len = filed.len as usize;
        let term = u128::from(filed.head) | u128::from(filed.next) << 64;
        let compared = kept.min(len);
        let mask = u128::MAX
            .checked_shr(128 - 8 * compared as u32)
            .unwrap_or(0);
        // Past what the view keeps as it is, a character that does not become ASCII (only
        // full-width forms, 0xEF, do) where the term has ASCII; or, where the term has a
        // character that is not ASCII, one that stays ASCII: a letter or digit, or any ASCII
        // before one (the view drops separators only between ideographs). Chinese terms cut
        // short by English are most candidates of text that switches scripts every few words.
        let differs_past_kept = kept < len.min(16) && {
            let byte = |v: u128| (v >> (8 * kept)) as u8;
            let (there, wanted) = (byte(text), byte(term));
            if wanted < 0x80 {
                (0xC0..=0xEE).contains(&there)
            } else {
                // (A byte after one that is not ASCII is no letter: it is inside its character.)
                there.is_ascii_alphanumeric()
                    || bytes
                        .get(start + kept + 1)
                        .is_some_and(u8::is_ascii_alphanumeric)
            }
        };
        (text ^ term) & mask != 0 || differs_past_kept
    }
}

/// How many of the sixteen bytes from `start` are characters of U+4000–U+9FFF (lead bytes
/// 0xE4–0xE9) in a row, the last one perhaps cut at the sixteenth: the view keeps them as
/// they are (it drops only separators, and none is between them).
#[inline]
fn ideograph_run_len(bytes: &[u8], start: usize) -> usize {
    let mut p = start;
    while p < start + 16 && bytes.get(p).is_some_and(|&b| is_ideograph_lead(b)) {
        p += 3;
    }
    (p - start).min(16)
}

/// How many of the eight bytes `x` of plain text, from a character start that is not right
/// after an ideograph or is a letter or digit, the view has as they are but for capitals:
/// ASCII up to the first byte it may change (whitespace but a single space, a joiner, not
/// ASCII), less a space that may end them (whitespace after it, or a byte past `x`, may join
/// it).
#[inline(always)]
fn kept_len(x: u64) -> usize {
    let mask = |bytes: u64| swar::pack_high_bits(bytes) as u32;
    let changed = (x & swar::HIGH) | swar::ascii_in(x, b'-', b'.');
    kept_of_masks(
        mask(swar::ascii_in(x, b' ', b' ')),
        mask(swar::ascii_in(x, b'\t', b'\r')),
        mask(changed),
        8,
    )
}

/// [`kept_len`] of sixteen bytes, from their masks.
#[inline(always)]
fn kept_of_sixteen(sixteen: vector::Sixteen) -> usize {
    kept_of_masks(sixteen.spaces, sixteen.whitespace, sixteen.changed, 16)
}

/// [`kept_len`] of `width` bytes from the masks of their spaces, their other whitespace and
/// the bytes the view may change (not ASCII, joiners), a bit a byte: every byte past them
/// may change too.
#[inline(always)]
fn kept_of_masks(spaces: u32, whitespace: u32, changed: u32, width: usize) -> usize {
    // A space before another is changed (the two become one).
    let changed = changed | whitespace | (spaces & (spaces >> 1));
    let kept = (changed.trailing_zeros() as usize).min(width);
    let space_may_join = kept == width || whitespace >> kept & 1 != 0;
    match kept {
        0 => 0,
        _ if space_may_join && spaces >> (kept - 1) & 1 == 1 => kept - 1,
        _ => kept,
    }
}

/// Where `term` ends in plain `bytes` when the view from `start` (where a character of the
/// view starts) begins with it and, for a whole-word term, no letter or digit follows it.
fn view_match_end(
    bytes: &[u8],
    start: usize,
    term: &str,
    rules: Rules,
    whole_word: bool,
) -> Option<usize> {
    let term_bytes = term.as_bytes();
    let (mut p, mut t) = (start, 0);
    let mut after_ideograph = false;
    while t < term_bytes.len() {
        // An ideograph, kept as it is.
        if bytes.get(p).is_some_and(|&b| is_ideograph_lead(b)) {
            let (Some(there), Some(wanted)) = (bytes.get(p..p + 3), term_bytes.get(t..t + 3))
            else {
                return None;
            };
            if there != wanted {
                return None;
            }
            // Not the Yijing hexagrams (U+4DC0–U+4DFF): they are not ideographs.
            after_ideograph = !(there[0] == 0xE4 && there[1] == 0xB7);
            (p, t) = (p + 3, t + 3);
            continue;
        }
        // A full-width letter or digit, which the view reads as its small ASCII form whatever
        // is around it (text that mixes in full-width words compared them by the rules below,
        // at ten times the cost).
        if is_full_width_alphanumeric(bytes, p) {
            let c = 0xF000 | u32::from(bytes[p + 1] & 0x3F) << 6 | u32::from(bytes[p + 2] & 0x3F);
            if term_bytes[t] != ((c - 0xFEE0) as u8).to_ascii_lowercase() {
                return None;
            }
            (p, t, after_ideograph) = (p + 3, t + 1, false);
            continue;
        }
        // The bytes the view keeps, compared at once (not right after an ideograph: the view
        // may drop the separators there).
        if let (Some(x), false) = (swar::load(bytes, p), after_ideograph) {
            let kept = kept_len(x).min(term_bytes.len() - t);
            if kept > 0 {
                let mut y = [0u8; 8];
                y[..kept].copy_from_slice(&term_bytes[t..t + kept]);
                let mask = u64::MAX >> (64 - 8 * kept);
                if (fold_ascii_capitals(x) ^ u64::from_le_bytes(y)) & mask != 0 {
                    return None;
                }
                (p, t) = (p + kept, t + kept);
                continue;
            }
        }
        // A character the view may change, read by its rules.
        let c = term[t..].chars().next()?;
        match view_char(bytes, p, after_ideograph, rules) {
            Some((v, end)) if v == c as u32 => {
                (p, t) = (end, t + c.len_utf8());
                after_ideograph = is_ideograph(v);
            }
            _ => return None,
        }
    }
    let at_boundary = !alphanumeric_at(bytes, p);
    (!whole_word || at_boundary).then_some(p)
}

#[cfg(test)]
mod tests {
    use super::{fold_ascii_capitals, kept_len, kept_of_sixteen, CANDIDATES, KEPT_CANDIDATES};
    use crate::{swar, vector, NormalizeOptions, Policy, PolicyBuilder};

    fn policy(terms: &[&str]) -> Policy {
        let mut builder = PolicyBuilder::new();
        let category = builder.category("listed");
        builder.add_terms(terms.iter().copied(), category);
        builder.build().unwrap()
    }

    /// What the usual way finds (normalize, then search the view): each term with the text
    /// it was found in.
    fn found_the_usual_way(policy: &Policy, text: &str) -> Vec<(usize, String)> {
        let normalized = policy.normalizer().normalize_text(text);
        let found = policy.keywords().find(&normalized);
        found
            .into_iter()
            .map(|m| (m.term, normalized[m.range].to_string()))
            .collect()
    }

    /// `text` has `found` terms the usual way, and the plain-text search finds the same.
    fn finds_as_the_usual_way(policy: &Policy, text: &str, found: usize) {
        let usual = found_the_usual_way(policy, text);
        assert_eq!(usual.len(), found, "{text:?}");
        assert_eq!(found_in_plain(policy, text), Some(usual), "{text:?}");
    }

    /// Each text has its number of terms the usual way, and the plain-text search finds the
    /// same, with sixteen bytes at least after the text (the quick comparison reads them).
    fn padded_find_as_the_usual_way(policy: &Policy, cases: &[(&str, usize)]) {
        for &(text, found) in cases {
            finds_as_the_usual_way(policy, &format!("{text} and after it"), found);
        }
    }

    /// What is found in plain text, the same way (its text normalized).
    fn found_in_plain(policy: &Policy, text: &str) -> Option<Vec<(usize, String)>> {
        let found = policy.keywords().find_in_plain_text(text)?;
        let normalizer = policy.normalizer();
        Some(
            found
                .into_iter()
                .map(|m| (m.term, normalizer.normalize_text(&text[m.range])))
                .collect(),
        )
    }

    fn next(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }

    fn random_text(seed: &mut u64, pieces: &[&str]) -> String {
        let mut text = String::new();
        for _ in 0..next(seed) % 40 {
            text.push_str(pieces[(next(seed) % pieces.len() as u64) as usize]);
            // Words apart half the time.
            if *seed >> 63 == 1 {
                text.push(' ');
            }
        }
        text
    }

    const TERMS: &[&str] = &[
        "bomb",
        "pipe bomb",
        "make a bomb",
        "napalm",
        "3d printer",
        "炸",
        "炸弹",
        "自制炸弹",
        "制作方法",
        "中国人民",
        "炸弹bomb",
        "一，二",
        "。中",
        "dirty trick",
        "核武器",
        "abc",
        "《炸弹》",
        "“bomb”",
        "explosive device",
        "cyanide gas",
    ];

    /// Pieces of plain text: words of the terms and others, in capitals too, joiners,
    /// whitespace runs, the punctuation of Chinese text (full-width, and `、` `。`),
    /// ideographs of the terms and others (`一` starts with 0xE4).
    const PLAIN: &[&str] = &[
        "bomb",
        "Bomb",
        "BOMB",
        "bombs",
        "bombes",
        "pipe",
        "Pipe",
        "make a bomb",
        "napalm",
        "Napalm",
        "killer",
        "3d",
        "printer",
        "pipe-bomb",
        "pipe.bomb",
        "x3",
        " ",
        " ",
        " ",
        "  ",
        "\n",
        "\t\r\n",
        "-",
        ".",
        ",",
        "，",
        "。",
        "、",
        "；",
        "－",
        "．",
        "（",
        "！",
        "炸",
        "弹",
        "自",
        "制",
        "作",
        "方",
        "法",
        "中",
        "国",
        "人",
        "金",
        "属",
        "民",
        "一",
        "二",
        // A Yijing hexagram: plain, but not an ideograph (the view drops no separator after it).
        "\u{4DC0}",
        "\u{4DC0}。中国",
        "?",
        "dirty-trick",
        "Dirty.Trick",
        "dirty",
        "trick",
        "核 ，。武器",
        "核 ， 。武器",
        "核",
        "武器",
        "“",
        "”",
        "《",
        "》",
        "「",
        "」",
        "—",
        "–",
        "‘",
        "’",
        "【",
        "ｂｏｍｂ",
        "Ｂｏｍｂ",
        "ＢＯＭＢ",
        "ｂomb",
        "Bｏｍｂ",
        "ｐｉｐｅ",
        "ｐｉｐｅ－ｂｏｍｂ",
        "ｐｉｐｅ.bomb",
        "pipe．ｂｏｍｂ",
        "３ｄ",
        "ｘ３",
        "Ｄｉｒｔｙ-ｔｒｉｃｋ",
        "explosive",
        "device",
        "explosive  device",
        "explosive-device",
        "Explosive\tdevice",
        "explosive ｄｅｖｉｃｅ",
        "cyanide",
        "gas",
        "cyanide \tgas",
        "Cyanide  gas",
    ];

    /// Pieces that make text not plain, or spaced letters.
    const NOT_PLAIN: &[&str] = &[
        "_",
        "…",
        "·",
        "\u{B}",
        "é",
        " a b c ",
        "a",
        " n a p a l m ",
        "I’m a b",
        "x’ y z",
        "a, b, c",
        " a。b c ",
        "中a b c",
        "a b c中",
        "a  b\nc",
        "a－b．c",
        "ａ b-c",
        "々",
        "\u{4DC0}",
        "\u{3000}",
        "\u{301}",
        "\u{200B}",
        "İ",
        "Ａ",
        " Ａ ",
        "３",
        "ｂ ｏ ｍ ｂ",
        "ｎ．ａ－ｐ",
        "＿",
        "\u{7F}",
        "ﬁ",
    ];

    /// Both ways find the same terms in the same places, and plain text is read the quick
    /// way.
    #[test]
    fn terms_in_plain_text_are_what_the_usual_way_finds() {
        assert_plain_is_the_usual_way(&policy(TERMS));
        // With a term whose first character starts with each lead byte of the ideographs
        // (0xE9: `金`), and without terms of one character: each way of the runs of
        // ideographs.
        let single = |t: &&str| t.chars().count() == 1;
        let all_leads: Vec<&str> = TERMS.iter().copied().chain(["金属"]).collect();
        assert_plain_is_the_usual_way(&policy(&all_leads));
        let no_single: Vec<&str> = all_leads.iter().copied().filter(|t| !single(t)).collect();
        assert_plain_is_the_usual_way(&policy(&no_single));
        assert_plain_is_the_usual_way(&policy(&no_single[..no_single.len() - 1]));
        // No term of two characters: the filter of pairs holds only the starts of triples.
        assert_plain_is_the_usual_way(&policy(&["自制炸弹", "中国人民", "核武器", "bomb"]));
        // Without the rules of the view that look at the characters around them.
        let mut builder = PolicyBuilder::new();
        builder.set_normalize(NormalizeOptions {
            split_cjk: false,
            joiners: false,
            ..NormalizeOptions::default()
        });
        let category = builder.category("listed");
        builder.add_terms(TERMS.iter().copied(), category);
        assert_plain_is_the_usual_way(&builder.build().unwrap());
    }

    #[test]
    fn a_thread_keeps_no_huge_candidate_lists_after_a_huge_text() {
        let policy = policy(&["中国", "people"]);
        let huge = "中国 people ".repeat(100_000);
        found_in_plain(&policy, &huge);
        let [chars, words] = CANDIDATES.take();
        assert!(chars.capacity() <= KEPT_CANDIDATES, "{}", chars.capacity());
        assert!(words.capacity() <= KEPT_CANDIDATES, "{}", words.capacity());
        // A text of the usual size leaves its lists for the next.
        found_in_plain(&policy, &"中国 people ".repeat(100));
        let [chars, words] = CANDIDATES.take();
        assert!(chars.capacity() >= 100 && words.capacity() >= 100);
    }

    #[test]
    fn short_words_between_ideographs_are_found() {
        // The only letters of the text in runs of ASCII of one or two bytes.
        let policy = policy(&["ok", "x", "中国"]);
        for (text, found) in [
            ("你ok中国", 2),
            ("中x中", 1),
            ("中 x\n中", 1),
            ("中国，ok。", 2),
            ("中 \n中国", 1),
        ] {
            finds_as_the_usual_way(&policy, text, found);
        }
    }

    #[test]
    fn chinese_terms_cut_short_and_full_width_letters_are_read_as_the_view_reads_them() {
        let policy = policy(&["中a,国", "自制炸弹", "uivz msr bfu"]);
        let cases = [
            // After a full-width letter the separator stays: it is not between ideographs.
            ("中ａ，国", 1),
            ("中Ａ，国", 1),
            ("中ａ国", 0),
            ("ｕｉｖｚ ｍｓｒ ｂｆｕ", 1),
            ("ｕｉｖｚ ＭＳＲ bfu", 1),
            ("ｕｉｖｚ ｍｓｒ鰤说个", 0),
            ("ｕｉｖｚ ｍｓｒ ｂｆｘ", 0),
            // A term cut short by English, and by what the view drops between ideographs.
            ("自制炸bomb", 0),
            ("自制炸Bomb", 0),
            ("自制炸 bomb", 0),
            ("自制炸 x弹", 0),
            ("自制炸 弹", 1),
            ("自制炸, 弹", 1),
            ("自制炸，弹", 1),
            ("自制炸-弹", 1),
        ];
        padded_find_as_the_usual_way(&policy, &cases);
    }

    /// What the view keeps as it is of `bytes` (see [`kept_len`]), a byte at a time.
    fn kept_byte_by_byte(bytes: &[u8]) -> usize {
        let space = |k: usize| bytes.get(k) == Some(&b' ');
        let whitespace = |k: usize| bytes.get(k).is_some_and(|b| (b'\t'..=b'\r').contains(b));
        let changed = |k: usize| {
            let b = bytes[k];
            b >= 0x80 || b == b'-' || b == b'.' || whitespace(k) || space(k) && space(k + 1)
        };
        let kept = (0..bytes.len())
            .find(|&k| changed(k))
            .unwrap_or(bytes.len());
        let may_join = kept == bytes.len() || whitespace(kept);
        if kept > 0 && space(kept - 1) && may_join {
            kept - 1
        } else {
            kept
        }
    }

    #[test]
    fn a_head_read_in_registers_is_the_head_read_eight_bytes_at_a_time() {
        let pool = b" \t\naZz-._\xe4\x80\xef9";
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..200_000 {
            let mut chunk = [0u8; 16];
            for b in &mut chunk {
                *b = pool[(next(&mut seed) % pool.len() as u64) as usize];
            }
            let (x, y) = (
                swar::load(&chunk, 0).unwrap(),
                swar::load(&chunk, 8).unwrap(),
            );
            let sixteen = vector::sixteen(&chunk);
            assert_eq!(
                kept_of_sixteen(sixteen),
                kept_byte_by_byte(&chunk),
                "{chunk:?}"
            );
            assert_eq!(kept_len(x), kept_byte_by_byte(&chunk[..8]), "{chunk:?}");
            let folded =
                u128::from(fold_ascii_capitals(x)) | u128::from(fold_ascii_capitals(y)) << 64;
            assert_eq!(sixteen.folded, folded, "{chunk:?}");
        }
    }

    #[test]
    fn characters_after_a_short_run_are_read_as_the_view_reads_them() {
        // The characters read after one that starts a term, where text switches scripts: a
        // capital (folded), a space before a letter (kept) or before an ideograph (dropped
        // only after an ideograph, never before a hexagram), a full-width letter (made ASCII).
        let policy = policy(&["卡拉ok", "中 a", "《 中国", "中 ䷀", "中国人"]);
        let cases = [
            ("卡拉OK", 1),
            ("卡拉ＯＫ", 1),
            ("卡拉 OK", 0),
            ("中 A", 1),
            ("中 B", 0),
            ("中 ䷀", 1),
            ("中 国人", 1),
            ("《 中国》", 1),
            ("《中国》", 0),
            ("“ 中国", 0),
        ];
        padded_find_as_the_usual_way(&policy, &cases);
    }

    #[test]
    fn runs_of_ideographs_across_separators_find_what_the_usual_way_finds() {
        // Chinese text as it mostly is: ideographs in a row with `，` `。` `、` `；` between
        // them, and now and then a hexagram (plain, not an ideograph); terms cut from such
        // text, across the separators too.
        let pool = [
            "炸", "弹", "中", "国", "人", "民", "一", "金", "，", "。", "、", "；", "\u{4DC0}",
        ];
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut texts: Vec<Vec<&str>> = (0..4000)
            .map(|_| {
                let len = next(&mut seed) % 24;
                (0..len)
                    .map(|_| pool[(next(&mut seed) % pool.len() as u64) as usize])
                    .collect()
            })
            .collect();
        // A separator before a hexagram stays in the view: a term across one, in a run.
        texts.push(vec!["民", "中", "国", "炸", "，", "\u{4DC0}", "中", "人"]);
        let mut terms = vec!["炸，\u{4DC0}中".to_string()];
        while terms.len() < 60 {
            let text = &texts[(next(&mut seed) % texts.len() as u64) as usize];
            let from = (next(&mut seed) % (text.len() as u64 + 1)) as usize;
            let to = (from + 2 + (next(&mut seed) % 3) as usize).min(text.len());
            let term: String = text[from.min(to)..to].concat();
            let ideograph = |c: char| c.is_alphabetic() && c != '\u{4DC0}';
            if term.starts_with(ideograph) && term.ends_with(ideograph) {
                terms.push(term);
            }
        }
        let terms: Vec<&str> = terms.iter().map(String::as_str).collect();
        let policy = policy(&terms);
        let mut found = 0;
        for text in &texts {
            let text = text.concat();
            let usual = found_the_usual_way(&policy, &text);
            assert_eq!(
                found_in_plain(&policy, &text),
                Some(usual.clone()),
                "{text:?}"
            );
            found += usual.len();
        }
        assert!(found > 1000, "{found}");
    }

    fn assert_plain_is_the_usual_way(policy: &Policy) {
        let mut mixed: Vec<&str> = PLAIN.to_vec();
        mixed.extend(NOT_PLAIN);
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let (mut none, mut some) = (0, 0);
        for round in 0..20_000 {
            let plain = round % 2 == 0;
            let text = random_text(&mut seed, if plain { PLAIN } else { &mixed });
            let usual = found_the_usual_way(policy, &text);
            match found_in_plain(policy, &text) {
                Some(found) => assert_eq!(found, usual, "{text:?}"),
                None => assert!(!plain, "plain text left to the usual way: {text:?}"),
            }
            if plain && usual.is_empty() {
                none += 1;
            } else if plain {
                some += 1;
            }
        }
        // Plain text with terms and without came up many times.
        assert!(
            none > 500 && some > 1000,
            "{none} without terms, {some} with"
        );
    }

    #[test]
    fn only_what_the_view_reads_as_spaced_letters_leaves_plain_text() {
        let policy = policy(&["bomb", "abc"]);
        // No spaced letters in the view (a character of another script against a letter, or
        // a gap that is no one separator): searched here, with what the usual way finds.
        for text in [
            "I’m a bomb maker, a b",
            "x’ y z bomb",
            "a, b, c bomb",
            "中a b c",
            "a b c中",
            "a。b c",
        ] {
            let usual = found_the_usual_way(&policy, text);
            assert_eq!(found_in_plain(&policy, text), Some(usual), "{text:?}");
        }
        // Spaced letters in the view, across whitespace runs, `-`, `.` and full-width forms:
        // left to the usual way, which finds `abc` in them.
        for text in [
            "a b c",
            "a  b\nc",
            "a-b.c",
            "a－b．c",
            "ａ b-c",
            "x a b c y",
        ] {
            assert_eq!(found_in_plain(&policy, text), None, "{text:?}");
            assert!(
                found_the_usual_way(&policy, text)
                    .iter()
                    .any(|(term, _)| *term == 1),
                "{text:?}"
            );
        }
    }

    #[test]
    fn text_that_is_not_plain_is_left_to_the_usual_way() {
        let policy = policy(&["bomb"]);
        assert_eq!(
            found_in_plain(&policy, "a Clean text，一个。"),
            Some(vec![])
        );
        // Full-width letters are plain: they normalize to ASCII.
        assert_eq!(
            found_in_plain(&policy, "一个ｂｏｍｂ。"),
            Some(vec![(0, "bomb".to_string())])
        );
        for text in ["a_b", "café", "…", "n a p a l m", "ｎ ａ ｐ", "\u{3000}"] {
            assert_eq!(found_in_plain(&policy, text), None, "{text:?}");
        }
        // Control characters but tab and line breaks, DEL and `_`, anywhere in a run of ASCII.
        let ascii = "a clean text of ASCII, long enough for blocks of 32 bytes; and more";
        for at in [0, 1, 5, 7, 8, 9, 31, 32, 40, ascii.len()] {
            for odd in [
                '\u{0}', '\u{8}', '\u{B}', '\u{C}', '\u{E}', '\u{1F}', '\u{7F}', '_',
            ] {
                let mut text = ascii.to_string();
                text.insert(at, odd);
                assert_eq!(found_in_plain(&policy, &text), None, "{text:?}");
            }
            for fine in ['\t', '\n', '\r', ' ', '~', '^', '`'] {
                let mut text = ascii.to_string();
                text.insert(at, fine);
                assert_eq!(found_in_plain(&policy, &text), Some(vec![]), "{text:?}");
            }
        }
        // A term that starts with ASCII and is not whole-word makes every ASCII character a
        // candidate: left to the usual way.
        let policy = self::policy(&["bomb炸弹"]);
        assert_eq!(found_in_plain(&policy, "clean"), None);
        // So is text with a term when allow-listed phrases are looked for.
        let mut builder = PolicyBuilder::new();
        let category = builder.category("listed");
        builder
            .add_terms(["kill"], category)
            .allow_terms(["kill a process"]);
        let policy = builder.build().unwrap();
        assert_eq!(found_in_plain(&policy, "kill a process"), None);
        assert_eq!(found_in_plain(&policy, "a process"), Some(vec![]));
    }
}
