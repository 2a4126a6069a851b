//! Where keywords start: one cheap pass over normalized text that finds the few positions
//! where a term could start, each confirmed by comparing the terms that could start there.
//!
//! Running an Aho–Corasick automaton over every byte costs about 4 ns a byte with 10,000
//! terms: most of a corpus screen. Yet almost no position starts a term. The terms are keyed
//! by how they begin, and each kind of key has a one-hash Bloom filter (a bit array) that
//! says which positions might start a term:
//!
//! - whole-word terms (ASCII, see [`crate::keywords`]) start at a word start, and the words
//!   of the text there are the words of the term: the key is the first word of a one-word
//!   term and the first two words of a longer one, and the text is cut into words;
//! - every other term (Chinese ones, say) is keyed by its first three characters (or all of
//!   them when it has fewer), and only positions whose first byte can start such a term are
//!   looked at; a position's first three characters only where its first two may begin a
//!   term's (see [`Bits`]).
//!
//! A filter can answer "maybe" for a position where no term starts, never "no" for one where a
//! term does; each "maybe" looks its key up and compares the terms filed under it with the
//! text. What is found is exactly what the automaton finds over the whole text (the tests
//! check it), and when the comparisons would cost more than one pass of the automaton (text
//! dense with term beginnings), [`Prefilter::find`] says so and the caller runs it instead.

use rustc_hash::FxHashMap;

use crate::{kept, swar, vector};

mod plain;

/// A one-hash Bloom filter: a bit per entry, in 64-bit words, so that a probe is one load and
/// one shift. At 32 bits or more per entry a position that starts no term passes at most 3% of
/// the time. Two bits per entry at 16 bits each passed 0.7%, but working out the second bit at
/// every probe cost more than the lookups of the extra candidates: 6% more instructions on
/// the realistic corpus of `bench/screen`.
///
/// A key has two kinds of entry, each with its own bit in the key's word: whether a term
/// is filed under the key itself, and whether a longer key that starts with it is. The filter
/// of pairs of characters has both (a term's first two characters, of a term of three or
/// more), so one load answers both and the filter of triples is probed only where the second
/// says so: in Chinese text most pairs start no term's first three characters. (Words do not:
/// common words start terms of two words in real keyword lists, and on Zipfian English the
/// branch on it mispredicted more than the probe it saved; `bench/RESULTS.md`.)
#[derive(Debug, Clone)]
struct Bits {
    words: Vec<u64>,
    /// 64 minus log2 of the number of words: the top twelve bits of a multiplied key pick the
    /// bits, the bits below them the word.
    shift: u32,
}

/// An odd constant with well-mixed bits (2^64 / φ) for multiplicative hashing.
const MIX: u64 = 0x9E37_79B9_7F4A_7C15;

/// What a probe of a key reads: the key's word of the filter, the bits of the key's own
/// entry and those of its entry as the start of a longer key.
#[derive(Debug, Clone, Copy)]
struct Probe {
    word: u64,
    own: u64,
    starts: u64,
}

impl Probe {
    /// Whether a term may be filed under the key.
    #[inline(always)]
    fn is_key(self) -> bool {
        self.word & self.own == self.own
    }

    /// Whether a term may be filed under a longer key that starts with the key.
    #[inline(always)]
    fn starts_key(self) -> bool {
        self.word & self.starts == self.starts
    }
}

impl Bits {
    /// A filter of `keys` (each with whether it is filed itself, and whether a longer key
    /// that starts with it is).
    fn of(keys: &[(u64, Entry)]) -> Bits {
        let words = (keys.len() * 32 / 64)
            .next_power_of_two()
            .clamp(64, 1 << 20);
        let mut out = Bits {
            words: vec![0; words],
            shift: 64 - words.trailing_zeros(),
        };
        for &(key, entry) in keys {
            let (word, own, starts) = out.locate(key);
            out.words[word] |= match entry {
                Entry::Own => own,
                Entry::Starts => starts,
            };
        }
        out
    }

    #[inline(always)]
    fn locate(&self, key: u64) -> (usize, u64, u64) {
        // Rotated so that the bits' twelve are the lowest: one shift by the filter's size picks
        // the word.
        let h = key.wrapping_mul(MIX).rotate_left(12);
        let own = 1 << (h & 63);
        let starts = 1 << ((h >> 6) & 63);
        ((h >> self.shift) as usize, own, starts)
    }

    #[inline(always)]
    fn probe(&self, key: u64) -> Probe {
        let (word, own, starts) = self.locate(key);
        Probe {
            word: self.words[word],
            own,
            starts,
        }
    }

    /// Whether a term may be filed under `key` itself.
    #[inline(always)]
    fn contains(&self, key: u64) -> bool {
        self.probe(key).is_key()
    }
}

/// A key's entry in a filter: filed itself, or the start of a longer key that is filed.
#[derive(Debug, Clone, Copy)]
enum Entry {
    Own,
    Starts,
}

/// The kinds of keys, each with its filter.
const WORD_ONE: usize = 0;
const WORD_TWO: usize = 1;
const CHAR_ONE: usize = 2;
const CHAR_TWO: usize = 3;
const CHAR_THREE: usize = 4;

/// A key made distinct across kinds (a word's hash could equal a character's code point).
fn tagged(kind: usize, key: u64) -> u64 {
    key ^ (kind as u64 + 1).wrapping_mul(MIX)
}

/// The terms of one matcher, filed by how they begin.
#[derive(Debug, Clone)]
pub(crate) struct Prefilter {
    /// One filter per kind of key (`WORD_ONE` …).
    filters: [Bits; 5],
    /// Whether any term is filed under each kind of key, so that a kind with none is not
    /// probed. Pairs of characters are probed all the same (the starts of triples are in their
    /// filter): a pair that passes with no term of two characters files none, and the test
    /// on every character cost more than those few lookups.
    kinds: [bool; 5],
    /// Bytes that begin the first character of a term that is not whole-word.
    char_lead: [bool; 256],
    /// Whether any byte does, known when the terms are filed: searching the table for one
    /// cost about 500 instructions a text, a twelfth of searching a post of 150 bytes.
    any_char_lead: bool,
    /// Whether any of those is ASCII.
    ascii_lead: bool,
    /// Whether every first byte of the ideographs U+4000–U+9FFF (0xE4–0xE9) is one of those.
    ideograph_leads: bool,
    /// The terms filed under each tagged key: a range of `filed`.
    terms_by_key: FxHashMap<u64, (u32, u32)>,
    /// The terms of every key, one key's after another's, each with what the comparison
    /// needs first, so that a candidate reads one place of memory before its terms' text.
    filed: Vec<Filed>,
}

/// A term filed under a key.
#[derive(Debug, Clone, Copy)]
struct Filed {
    /// The term's first eight bytes (zero after a shorter term's end).
    head: u64,
    /// Its next eight: the terms filed under one key share their beginning, and in text
    /// dense with term beginnings most candidates differ only past it.
    next: u64,
    term: u32,
    len: u32,
}

impl Filed {
    /// Term `index`, `term`.
    fn of(index: u32, term: &str) -> Filed {
        let mut first = [0u8; 16];
        let n = term.len().min(16);
        first[..n].copy_from_slice(&term.as_bytes()[..n]);
        let [head, next] = [&first[..8], &first[8..]]
            .map(|half| u64::from_le_bytes(half.try_into().unwrap_or_default()));
        Filed {
            head,
            next,
            term: index,
            len: term.len() as u32,
        }
    }
}

impl Prefilter {
    /// Writes the prefilter for [`Prefilter::read`] (`keywords/cache.rs`).
    pub(crate) fn write(&self, out: &mut kept::Out) {
        for bits in &self.filters {
            out.u32(bits.shift);
            out.u64s(&bits.words);
        }
        let flags = [self.any_char_lead, self.ascii_lead, self.ideograph_leads];
        out.bools(&self.kinds);
        out.bools(&self.char_lead);
        out.bools(&flags);
        out.len(self.terms_by_key.len());
        for (&key, &(from, to)) in &self.terms_by_key {
            out.u64(key);
            out.u32(from);
            out.u32(to);
        }
        let filed: Vec<u32> = self.filed.iter().map(|f| f.term).collect();
        out.u32s(&filed);
    }

    /// The prefilter that [`Prefilter::write`] wrote for `terms`, when what was read fits
    /// them: every range of terms in `filed`, every term one of `terms`, every filter sized
    /// as [`Bits::of`] sizes it. (What each term's entry holds is made again from the term.)
    pub(crate) fn read(input: &mut kept::In, terms: &[String]) -> Option<Prefilter> {
        let mut filters = Vec::with_capacity(5);
        for _ in 0..5 {
            let shift = input.u32()?;
            let words = input.u64s()?;
            // (A probe's word is the top bits of a hash past `shift`: in the filter.)
            let sized =
                (64..=1 << 20).contains(&words.len()) && shift == 64 - words.len().trailing_zeros();
            filters.push(sized.then_some(Bits { words, shift })?);
        }
        let kinds = input.bools()?.try_into().ok()?;
        let char_lead = input.bools()?.try_into().ok()?;
        let [any_char_lead, ascii_lead, ideograph_leads] = input.bools()?.try_into().ok()?;
        let n = input.len(16)?;
        let mut terms_by_key = FxHashMap::default();
        terms_by_key.reserve(n);
        for _ in 0..n {
            terms_by_key.insert(input.u64()?, (input.u32()?, input.u32()?));
        }
        let filed = input
            .u32s()?
            .into_iter()
            .map(|term| Some(Filed::of(term, terms.get(term as usize)?)))
            .collect::<Option<Vec<Filed>>>()?;
        let fits = |&(from, to): &(u32, u32)| from <= to && to as usize <= filed.len();
        terms_by_key.values().all(fits).then_some(Prefilter {
            filters: filters.try_into().ok()?,
            kinds,
            char_lead,
            any_char_lead,
            ascii_lead,
            ideograph_leads,
            terms_by_key,
            filed,
        })
    }

    /// Files `terms` (with, for each, whether it matches as whole words) by their keys.
    pub(crate) fn new<'a>(terms: impl Iterator<Item = (&'a str, bool)>) -> Prefilter {
        let mut keys: [Vec<(u64, Entry)>; 5] = Default::default();
        let mut char_lead = [false; 256];
        let mut kinds = [false; 5];
        // Each term with its tagged key; sorted by key below, so that a key's terms are one
        // run (a vector a key cost an allocation for each of tens of thousands of keys).
        let mut by_key: Vec<(u64, Filed)> = Vec::with_capacity(terms.size_hint().0);
        for (index, (term, whole_word)) in terms.enumerate() {
            let filed = Filed::of(index as u32, term);
            let key = if whole_word {
                let mut words = words(term).into_iter().map(word_hash);
                match (words.next(), words.next()) {
                    (Some(a), None) => Some((WORD_ONE, a)),
                    (Some(a), Some(b)) => Some((WORD_TWO, pair_hash(a, b))),
                    // A whole-word term starts with a letter or digit: it has a first word.
                    (None, _) => None,
                }
            } else {
                if let Some(&lead) = term.as_bytes().first() {
                    char_lead[lead as usize] = true;
                }
                let mut chars = term.chars().map(|c| c as u32);
                match (chars.next(), chars.next(), chars.next()) {
                    (Some(a), None, _) => Some((CHAR_ONE, a as u64)),
                    (Some(a), Some(b), None) => Some((CHAR_TWO, char_pair(a, b))),
                    (Some(a), Some(b), Some(c)) => {
                        keys[CHAR_TWO].push((char_pair(a, b), Entry::Starts));
                        Some((CHAR_THREE, char_triple(a, b, c)))
                    }
                    (None, ..) => None,
                }
            };
            if let Some((kind, key)) = key {
                kinds[kind] = true;
                keys[kind].push((key, Entry::Own));
                by_key.push((tagged(kind, key), filed));
            }
        }
        // A key's terms stay in the order given (their indices).
        by_key.sort_unstable_by_key(|&(key, filed)| (key, filed.term));
        let mut filed = Vec::with_capacity(by_key.len());
        let mut terms_by_key = FxHashMap::default();
        for run in by_key.chunk_by(|a, b| a.0 == b.0) {
            let start = filed.len() as u32;
            filed.extend(run.iter().map(|&(_, f)| f));
            terms_by_key.insert(run[0].0, (start, filed.len() as u32));
        }
        Prefilter {
            filters: keys.map(|mut keys| {
                // Terms that share a beginning share its entry.
                keys.sort_unstable_by_key(|&(key, entry)| (key, entry as u8));
                keys.dedup_by_key(|&mut (key, entry)| (key, entry as u8));
                Bits::of(&keys)
            }),
            kinds,
            ascii_lead: char_lead[..0x80].contains(&true),
            ideograph_leads: char_lead[0xE4..=0xE9].iter().all(|&lead| lead),
            any_char_lead: char_lead.contains(&true),
            char_lead,
            terms_by_key,
            filed,
        }
    }

    /// Every `(start, term)` of `terms` (the matcher's, in the order given to
    /// [`Prefilter::new`]) in `text`, unordered; `None` once comparing candidates has cost
    /// more than `budget` bytes.
    pub(crate) fn find(
        &self,
        text: &str,
        terms: &[String],
        budget: usize,
    ) -> Option<Vec<(usize, u32)>> {
        self.find_spending(text, terms, budget)
            .map(|(found, _)| found)
    }

    /// [`Prefilter::find`], with what comparing its candidates cost (at most `budget`).
    pub(crate) fn find_spending(
        &self,
        text: &str,
        terms: &[String],
        budget: usize,
    ) -> Option<(Vec<(usize, u32)>, usize)> {
        let mut candidates = Vec::new();
        if self.kinds[WORD_ONE] || self.kinds[WORD_TWO] {
            self.word_candidates(text, &mut candidates);
        }
        if self.any_char_lead {
            self.char_candidates(text.as_bytes(), &mut candidates);
        }
        let mut found = Vec::new();
        let mut cost = 0usize;
        let bytes = text.as_bytes();
        for (start, key) in candidates {
            let Some(&(from, to)) = self.terms_by_key.get(&key) else {
                continue;
            };
            for &Filed {
                head, term, len, ..
            } in &self.filed[from as usize..to as usize]
            {
                cost += len as usize;
                if cost > budget {
                    return None;
                }
                if is_at(bytes, start, len as usize, head, || {
                    terms[term as usize].as_bytes()
                }) {
                    found.push((start, term));
                }
            }
        }
        Some((found, cost))
    }

    fn word_candidates(&self, text: &str, out: &mut Vec<(usize, u64)>) {
        let mut keys = WordKeys::new(self);
        let bytes = text.as_bytes();
        for_each_word(text, |start, end| {
            keys.push(start, word_hash_at(bytes, start, end - start), out);
        });
    }

    /// The candidates at `start`, a character that begins a window of three characters (of
    /// the view): the first two as their [`char_pair`] key, and the third; `check_lead` when
    /// the terms may not start with every lead byte of the character, `has_one` when
    /// characters alone are keys.
    #[inline(always)]
    fn window_candidates(
        &self,
        bytes: &[u8],
        start: usize,
        (key, third): (u64, u32),
        check_lead: bool,
        has_one: bool,
        out: &mut Vec<(usize, u64)>,
    ) {
        let [_, _, one, two, three] = &self.filters;
        if check_lead && !self.char_lead[bytes[start] as usize] {
            return;
        }
        let (first, second) = ((key >> 32) as u32, key as u32);
        if has_one && one.contains(first as u64) {
            out.push((start, tagged(CHAR_ONE, first as u64)));
        }
        let pair = two.probe(key);
        // With no term of two characters the bits may pass all the same (the filter holds
        // the starts of triples): the key then files no term.
        if pair.is_key() {
            out.push((start, tagged(CHAR_TWO, key)));
        }
        if pair.starts_key() {
            let key = char_triple(first, second, third);
            if three.contains(key) {
                out.push((start, tagged(CHAR_THREE, key)));
            }
        }
    }

    fn char_candidates(&self, bytes: &[u8], out: &mut Vec<(usize, u64)>) {
        let [_, _, one, two, three] = &self.filters;
        let [_, _, has_one, _, has_three] = self.kinds;
        let n = bytes.len();
        let mut i = 0;
        // The next characters after `i` when the previous step decoded them (how many are
        // valid, and each code point with its length): each character is decoded once.
        let mut ahead = 0;
        let (mut next, mut after) = ((0u32, 0usize), (0u32, 0usize));
        while i < n {
            // Runs of three-byte characters (most of CJK), each a term's possible start: the
            // window of three decoded characters moves one character a step, with none of
            // the bookkeeping below. It leaves where a step would need it.
            while ahead == 2 && next.1 == 3 && after.1 == 3 {
                let Some(&[lead, b1, b2]) = swar::chunk(bytes, i + 6) else {
                    break;
                };
                if lead & 0xF0 != 0xE0 || !self.char_lead[bytes[i] as usize] {
                    break;
                }
                let third =
                    ((lead as u32 & 0x0F) << 12) | ((b1 as u32 & 0x3F) << 6) | (b2 as u32 & 0x3F);
                let window = (char_pair(next.0, after.0), third);
                self.window_candidates(bytes, i, window, false, has_one, out);
                (next, after) = (after, (third, 3));
                i += 3;
            }
            // Continuation bytes never start a term's first character, so stepping one byte
            // at a time over text that cannot start one stays on character starts where it
            // matters.
            if !self.char_lead[bytes[i] as usize] {
                i += 1;
                ahead = 0;
                // ASCII many bytes at a time, when no such term starts with ASCII.
                if !self.ascii_lead {
                    // 64 at a time first (an OR of the bytes, in vector instructions).
                    while let Some(block) = swar::chunk::<64>(bytes, i) {
                        if block.iter().fold(0, |a, &b| a | b) >= 0x80 {
                            break;
                        }
                        i += 64;
                    }
                    while let Some(x) = swar::load(bytes, i) {
                        if x & swar::HIGH != 0 {
                            break;
                        }
                        i += 8;
                    }
                }
                continue;
            }
            let first = if ahead > 0 { next } else { decode(bytes, i) };
            let j = i + first.1;
            let second = if ahead > 1 {
                after
            } else if j < n {
                decode(bytes, j)
            } else {
                (0, 0)
            };
            let k = j + second.1;
            let third = if second.1 > 0 && k < n && has_three {
                decode(bytes, k)
            } else {
                (0, 0)
            };
            if has_one && one.contains(first.0 as u64) {
                out.push((i, tagged(CHAR_ONE, first.0 as u64)));
            }
            if second.1 > 0 {
                let key = char_pair(first.0, second.0);
                let pair = two.probe(key);
                if pair.is_key() {
                    out.push((i, tagged(CHAR_TWO, key)));
                }
                if third.1 > 0 && pair.starts_key() {
                    let key = char_triple(first.0, second.0, third.0);
                    if three.contains(key) {
                        out.push((i, tagged(CHAR_THREE, key)));
                    }
                }
            }
            ahead = if second.1 == 0 {
                0
            } else if third.1 == 0 {
                1
            } else {
                2
            };
            (next, after) = (second, third);
            i = j;
        }
    }
}

/// The candidates of whole-word terms at consecutive words: each word alone, and with the
/// word before it.
struct WordKeys<'a> {
    one: &'a Bits,
    two: &'a Bits,
    has_one: bool,
    has_two: bool,
    /// The previous word's start (`usize::MAX` before the first word) and hash.
    previous_start: usize,
    previous_hash: u64,
}

impl<'a> WordKeys<'a> {
    fn new(prefilter: &'a Prefilter) -> WordKeys<'a> {
        let [one, two, ..] = &prefilter.filters;
        WordKeys {
            one,
            two,
            has_one: prefilter.kinds[WORD_ONE],
            has_two: prefilter.kinds[WORD_TWO],
            previous_start: usize::MAX,
            previous_hash: 0,
        }
    }

    /// The candidates of the word of `hash` ([`word_hash`]) at `start`, the next after the
    /// last one pushed.
    #[inline(always)]
    fn push(&mut self, start: usize, hash: u64, out: &mut Vec<(usize, u64)>) {
        if self.has_one && self.one.contains(hash) {
            out.push((start, tagged(WORD_ONE, hash)));
        }
        if self.has_two && self.previous_start != usize::MAX {
            let pair = pair_hash(self.previous_hash, hash);
            if self.two.contains(pair) {
                out.push((self.previous_start, tagged(WORD_TWO, pair)));
            }
        }
        (self.previous_start, self.previous_hash) = (start, hash);
    }
}

/// Whether a term of `len` bytes whose first eight are `head` ([`Filed`]) is in `bytes` at
/// `start`; `term` gives its text. Most candidates differ within eight bytes: those are told
/// apart by one comparison of two words, without reading the term's text.
#[inline]
fn is_at<'t>(
    bytes: &[u8],
    start: usize,
    len: usize,
    head: u64,
    term: impl FnOnce() -> &'t [u8],
) -> bool {
    let Some(there) = bytes.get(start..start + len) else {
        return false;
    };
    let n = len.min(8);
    let x = swar::load(bytes, start).unwrap_or_else(|| {
        let mut b = [0u8; 8];
        b[..n].copy_from_slice(&there[..n]);
        u64::from_le_bytes(b)
    });
    let mask = u64::MAX.checked_shr(64 - 8 * n as u32).unwrap_or(0);
    (x ^ head) & mask == 0 && (len <= 8 || there[n..] == term()[n..])
}

/// Whether `c` is part of a word for whole-word matching. CJK characters are not: `炸弹bomb`
/// holds the word `bomb`.
pub(crate) fn is_word_char(c: char) -> bool {
    // The bound first: `is_alphanumeric` is a table search outside ASCII.
    ((c as u32) < 0x2E80 && c.is_alphanumeric()) || c == '_'
}

/// Calls `visit(start, end)` with the byte range of each word of `text` (maximal runs of
/// [`is_word_char`]), in order.
///
/// The text is read in blocks of 64 bytes: a bit per byte says whether it is part of a word
/// (eight ASCII bytes at a time; other bytes one by one, decoding only characters below
/// U+2E80), and words begin and end where the bits change.
fn for_each_word(text: &str, visit: impl FnMut(usize, usize)) {
    for_each_word_of::<false>(text, visit);
}

/// [`for_each_word`], with the full-width letters and digits (U+FF10–U+FF5A) word characters
/// too when `FULL_WIDTH`: plain text's words are its normalized text's, where they are ASCII.
fn for_each_word_of<const FULL_WIDTH: bool>(text: &str, mut visit: impl FnMut(usize, usize)) {
    let bytes = text.as_bytes();
    let mut marker = WordMarker::<FULL_WIDTH>::default();
    let mut open: Option<usize> = None;
    let mut previous_bit = 0u64;
    let mut block = 0;
    // The last block is shorter than 64 bytes (empty when the text's length is a multiple of
    // 64): the bit just past its end closes a word that runs to the end of the text, so that
    // `visit` is called from one place (and inlined there).
    loop {
        let len = (bytes.len() - block).min(64);
        let mask = match len {
            0 => 0,
            64 => marker.block(bytes, block),
            // The last bytes after zeros (no word bytes), so that they take the vector way
            // too: byte by byte they cost posts of 250 bytes 4% of their search.
            _ => {
                let mut last = [0u8; 64];
                last[..len].copy_from_slice(&bytes[block..]);
                marker.block(&last, 0)
            }
        };
        // Where words start, and where they end (the byte after their last): a word starts
        // and ends once each, in turn, so each word is a step with no test of which it is.
        let shifted = (mask << 1) | previous_bit;
        let mut starts = mask & !shifted;
        let mut ends = !mask & shifted;
        if len < 64 {
            ends &= u64::MAX >> (63 - len);
        }
        // A word that ran on from an earlier block ends at the block's first end, if it has one.
        if let Some(start) = open {
            if ends != 0 {
                open = None;
                visit(start, block + ends.trailing_zeros() as usize);
                ends &= ends - 1;
            }
        }
        if open.is_none() {
            while starts != 0 {
                let start = block + starts.trailing_zeros() as usize;
                starts &= starts - 1;
                if ends == 0 {
                    // It runs on into the next block.
                    open = Some(start);
                    break;
                }
                visit(start, block + ends.trailing_zeros() as usize);
                ends &= ends - 1;
            }
        }
        if len < 64 {
            break;
        }
        previous_bit = mask >> 63;
        block += 64;
    }
}

/// The words of `text` (see [`for_each_word`]).
fn words(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for_each_word(text, |start, end| out.push(&text[start..end]));
    out
}

/// Marks the bytes of word characters, block by block; remembers a character that runs into
/// the next block.
#[derive(Default)]
struct WordMarker<const FULL_WIDTH: bool> {
    /// Bytes of the current character still to mark, and whether it is a word character.
    pending: usize,
    pending_word: bool,
}

impl<const FULL_WIDTH: bool> WordMarker<FULL_WIDTH> {
    /// Bit `k` set when byte `at + k` belongs to a word character, for the 64 bytes from `at`
    /// (`bytes` may go on: a character may run into the next block).
    fn block(&mut self, bytes: &[u8], at: usize) -> u64 {
        // A whole block with no character that may be a letter outside ASCII (most blocks
        // of English, Chinese and text mixing them), in one pass with no branch inside.
        if let (0, Some(block)) = (self.pending, swar::chunk::<64>(bytes, at)) {
            if let Some(mask) = vector::ascii_word_mask::<FULL_WIDTH>(block) {
                return mask;
            }
        }
        let mut mask = 0u64;
        let mut k = 0;
        while k < 64 {
            if self.pending == 0 && k + 8 <= 64 {
                if let Some(x) = swar::load(bytes, at + k) {
                    // With no first byte of a character below U+3000 (0xC2..=0xE2, the only
                    // ones that may be letters), every byte that is not ASCII is outside a
                    // word: text mixing scripts every few characters stays on this path.
                    let high = x & swar::HIGH;
                    let mut may_be_word = swar::low7_in(x, 0x42, 0x62);
                    if FULL_WIDTH {
                        may_be_word |= swar::low7_in(x, 0x6F, 0x6F);
                    }
                    if may_be_word & high == 0 {
                        let ascii = x & !((high >> 7) * 0xFF);
                        mask |= swar::pack_high_bits(ascii_word_bytes(ascii)) << k;
                        k += 8;
                        continue;
                    }
                }
            }
            if self.mark(bytes, at + k) {
                mask |= 1 << k;
            }
            k += 1;
        }
        mask
    }

    /// Whether byte `i` belongs to a word character.
    fn mark(&mut self, bytes: &[u8], i: usize) -> bool {
        if self.pending > 0 {
            self.pending -= 1;
            return self.pending_word;
        }
        let b = bytes[i];
        if FULL_WIDTH && b == 0xEF {
            self.pending = 2;
            self.pending_word = is_full_width_alphanumeric(bytes, i);
            return self.pending_word;
        }
        match BYTE_CLASS[b as usize] {
            ByteClass::Word => true,
            ByteClass::NotWord => false,
            // U+2E80 and up.
            ByteClass::Decode if b == 0xE2 && bytes[i + 1] >= 0xBA => false,
            ByteClass::Decode => {
                let (c, len) = decode(bytes, i);
                let word = char::from_u32(c).is_some_and(is_word_char);
                self.pending = len - 1;
                self.pending_word = word;
                word
            }
        }
    }
}

/// The high bit set in each byte of `x` (all ASCII) that is a letter, a digit or `_`. With no
/// high bit in `x`, no sum below carries across a byte.
#[inline(always)]
fn ascii_word_bytes(x: u64) -> u64 {
    const fn splat(b: u8) -> u64 {
        (b as u64) * 0x0101_0101_0101_0101
    }
    // In a..=z once case is folded (`_` becomes 0x7F, outside it).
    let folded = x | splat(0x20);
    let letters =
        folded.wrapping_add(splat(0x80 - b'a')) & !folded.wrapping_add(splat(0x80 - b'z' - 1));
    let digits = x.wrapping_add(splat(0x80 - b'0')) & !x.wrapping_add(splat(0x80 - b'9' - 1));
    let underscore = !(x ^ splat(b'_')).wrapping_add(splat(0x7F));
    (letters | digits | underscore) & swar::HIGH
}

/// Whether the character at `i` (a character start) is a full-width letter or digit
/// (U+FF10–U+FF19, U+FF21–U+FF3A, U+FF41–U+FF5A), which NFKC makes ASCII.
#[inline]
fn is_full_width_alphanumeric(bytes: &[u8], i: usize) -> bool {
    match bytes.get(i..i + 3) {
        Some(&[0xEF, 0xBC, b]) => (0x90..=0x99).contains(&b) || (0xA1..=0xBA).contains(&b),
        Some(&[0xEF, 0xBD, b]) => (0x81..=0x9A).contains(&b),
        _ => false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ByteClass {
    /// An ASCII letter, digit or `_`.
    Word,
    /// Other ASCII, a byte inside a character, or the first byte of a character from U+3000
    /// up.
    NotWord,
    /// The first byte of a character below U+3000, which may be a letter.
    Decode,
}

const BYTE_CLASS: [ByteClass; 256] = {
    let mut t = [ByteClass::NotWord; 256];
    let mut b = 0;
    while b < 256 {
        if b < 128 {
            if (b as u8).is_ascii_alphanumeric() || b == b'_' as usize {
                t[b] = ByteClass::Word;
            }
        } else if b >= 0xC2 && b <= 0xE2 {
            t[b] = ByteClass::Decode;
        }
        b += 1;
    }
    t
};

/// A hash of a word from its length and its first and last (up to) eight bytes: one load and
/// one multiply, where hashing byte by byte would cost a multiply a byte. Collisions only
/// make extra candidates.
fn word_hash(word: &str) -> u64 {
    word_hash_at(word.as_bytes(), 0, word.len())
}

/// [`word_hash`] of the `n` bytes from `start` in `bytes`, read with whole loads where the
/// bytes after the word allow it.
#[inline]
fn word_hash_at(bytes: &[u8], start: usize, n: usize) -> u64 {
    word_hash_mapped(bytes, start, n, |x| x)
}

/// [`word_hash_at`] of the bytes as `map` changes them, eight at a time (each byte on its
/// own).
#[inline(always)]
fn word_hash_mapped(bytes: &[u8], start: usize, n: usize, map: impl Fn(u64) -> u64) -> u64 {
    // Without a branch on the length (words of random lengths mispredict it): the head is
    // the first eight bytes, cut to the word when it is shorter; the tail the last eight,
    // or nothing when the word is shorter than eight.
    // One bounds check for both loads: the bytes from the head's first to the tail's last.
    let window = bytes
        .get(start..start + n.max(8))
        .and_then(|w| Some((w.first_chunk::<8>()?, w.last_chunk::<8>()?)));
    let (head, tail) = match window {
        Some((head, tail)) => {
            let (head, tail) = (
                map(u64::from_le_bytes(*head)),
                map(u64::from_le_bytes(*tail)),
            );
            let short = u64::from(n < 8);
            let keep = u64::MAX >> (8 * (8 - n.min(8)));
            (head & keep, tail & short.wrapping_sub(1))
        }
        None => {
            // Fewer than eight bytes from `start` to the end of the text: a short word.
            let mut short = [0u8; 8];
            short[..n].copy_from_slice(&bytes[start..start + n]);
            let keep = u64::MAX.checked_shr(8 * (8 - n) as u32).unwrap_or(0);
            (map(u64::from_le_bytes(short)) & keep, 0)
        }
    };
    (head ^ (n as u64) << 59).wrapping_mul(MIX) ^ tail
}

fn pair_hash(first: u64, second: u64) -> u64 {
    first.rotate_left(23).wrapping_mul(MIX) ^ second
}

fn char_pair(first: u32, second: u32) -> u64 {
    ((first as u64) << 32) | second as u64
}

/// Code points have 21 bits.
fn char_triple(first: u32, second: u32, third: u32) -> u64 {
    ((first as u64) << 42) | ((second as u64) << 21) | third as u64
}

/// The code point starting at byte `i` of valid UTF-8, and its length.
#[inline(always)]
fn decode(b: &[u8], i: usize) -> (u32, usize) {
    let x = b[i] as u32;
    let cont = |k: usize| (b[i + k] & 0x3F) as u32;
    if x < 0x80 {
        (x, 1)
    } else if x < 0xE0 {
        (((x & 0x1F) << 6) | cont(1), 2)
    } else if x < 0xF0 {
        (((x & 0x0F) << 12) | (cont(1) << 6) | cont(2), 3)
    } else {
        (
            ((x & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3),
            4,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefilter_read_back_finds_what_it_found_and_one_that_does_not_fit_is_not_read() {
        let terms: Vec<String> = ["bomb", "pipe bomb", "make a bomb", "炸", "炸弹", "自制炸弹"]
            .map(String::from)
            .to_vec();
        let built = Prefilter::new(terms.iter().map(|t| (t.as_str(), t.is_ascii())));
        let bytes = |p: &Prefilter| {
            let mut out = kept::Out::default();
            p.write(&mut out);
            out.0
        };
        let read = |p: &Prefilter, terms: &[String]| {
            let written = bytes(p);
            let mut input = kept::In(&written);
            Prefilter::read(&mut input, terms).filter(|_| input.0.is_empty())
        };
        let back = read(&built, &terms).unwrap();
        let text = "how to make a bomb: a pipe bomb, 自制炸弹 and 炸弹";
        let found = |p: &Prefilter| {
            let mut found = p.find(text, &terms, usize::MAX).unwrap();
            found.sort_unstable();
            found
        };
        assert_eq!(found(&built).len(), 9, "{:?}", found(&built));
        assert_eq!(found(&back), found(&built));
        assert!(read(&built, &terms[..5]).is_none(), "a term past the terms");
        let changes: [fn(&mut Prefilter); 4] = [
            |p| p.terms_by_key.values_mut().for_each(|range| range.1 += 100),
            |p| {
                p.terms_by_key
                    .values_mut()
                    .for_each(|range| range.0 = range.1 + 1)
            },
            |p| p.filters[0].shift -= 1,
            |p| p.filters[1].words.push(0),
        ];
        for (i, change) in changes.iter().enumerate() {
            let mut changed = built.clone();
            change(&mut changed);
            assert!(read(&changed, &terms).is_none(), "change {i}");
        }
    }

    #[test]
    fn a_term_is_at_a_place_exactly_when_the_text_starts_with_it_there() {
        let text = "炸弹 bomb bombs bom 炸弹制作 a pipe bomb at the end bo".as_bytes();
        let terms = [
            "炸弹",
            "bomb",
            "bombs",
            "炸弹制作方",
            "pipe bomb",
            "bo",
            "b",
            "at the end bo",
        ];
        for term in terms.map(str::as_bytes) {
            let mut head = [0u8; 8];
            let n = term.len().min(8);
            head[..n].copy_from_slice(&term[..n]);
            for start in 0..text.len() {
                assert_eq!(
                    is_at(text, start, term.len(), u64::from_le_bytes(head), || term),
                    text[start..].starts_with(term),
                    "{:?} at {start}",
                    String::from_utf8_lossy(term)
                );
            }
        }
    }

    #[test]
    fn words_split_like_word_boundaries() {
        assert_eq!(
            words("炸弹bomb, café_au-lait “x”9…"),
            ["bomb", "café_au", "lait", "x", "9"]
        );
        let mut starts = Vec::new();
        for_each_word("a  bc", |start, _| starts.push(start));
        assert_eq!(starts, [0, 3]);
        // Words that end the text, at and around a multiple of 64 bytes.
        for n in [63, 64, 65, 127, 128] {
            let word = "a".repeat(n);
            assert_eq!(words(&word), [word.as_str()]);
            let text = format!("{} b", "x".repeat(n - 2));
            assert_eq!(words(&text), [&text[..n - 2], "b"]);
        }
        assert!(words("").is_empty());
        assert!(words(&" ".repeat(64)).is_empty());
    }

    /// Against a plain character-by-character split, over random text long enough to
    /// cross many 64-byte blocks, with characters of every length straddling them.
    #[test]
    fn words_equal_a_plain_split() {
        let pieces = [
            "a", "Z", "0", "_", " ", ".", "é", "ß", "ж", "炸", "“", "\u{2E80}", "𝄞", "ab", "\n",
            "、", "ｚ", "\u{2E7F}", "\u{C0}", "ⁱ", "Ｚ", "９", "，", "＿", "ｚｚ", "’", "—",
        ];
        // Without characters below U+3000 that are not ASCII or U+2000–U+203F (quotation
        // marks, dashes): whole blocks of 64 bytes that take the vector path.
        let fast: Vec<&str> = pieces
            .into_iter()
            .filter(|p| {
                p.chars().all(|c| {
                    c.is_ascii() || ('\u{2000}'..='\u{203F}').contains(&c) || c >= '\u{3000}'
                })
            })
            .collect();
        let full_width_word = |c: char| matches!(c, '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ');
        let mut seed = 0x9E37_79B9u64;
        for round in 0..1000 {
            let pieces: &[&str] = if round % 2 == 0 { &pieces } else { &fast };
            let mut text = String::new();
            for _ in 0..(seed % 200) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                text.push_str(pieces[(seed % pieces.len() as u64) as usize]);
            }
            let split = |word_char: &dyn Fn(char) -> bool| {
                let mut expected = Vec::new();
                let mut open = None;
                for (i, c) in text.char_indices() {
                    match (word_char(c), open) {
                        (true, None) => open = Some(i),
                        (false, Some(start)) => {
                            expected.push(&text[start..i]);
                            open = None;
                        }
                        _ => {}
                    }
                }
                if let Some(start) = open {
                    expected.push(&text[start..]);
                }
                expected
            };
            assert_eq!(words(&text), split(&is_word_char), "{text:?}");
            let mut with_full_width = Vec::new();
            for_each_word_of::<true>(&text, |start, end| with_full_width.push(&text[start..end]));
            let expected = split(&|c| is_word_char(c) || full_width_word(c));
            assert_eq!(with_full_width, expected, "{text:?}");
        }
    }

    #[test]
    fn ascii_word_bytes_agree_with_byte_checks() {
        for b in 0..0x80u8 {
            for k in 0..8 {
                let x = (0x2020_2020_2020_2020u64 & !(0xFF << (8 * k))) | (b as u64) << (8 * k);
                let word = b.is_ascii_alphanumeric() || b == b'_';
                assert_eq!(
                    ascii_word_bytes(x),
                    u64::from(word) << (8 * k + 7),
                    "{b:#x} at {k}"
                );
            }
        }
    }

    /// A word hashes the same wherever it is: alone, at the end of a text, or with bytes after
    /// it (read with whole loads).
    #[test]
    fn word_hash_is_the_same_in_any_text() {
        let text = "abcdefghijklmnopqrstuvwxyz0123456789_abcdefghij";
        for start in 0..text.len() {
            for end in start + 1..=text.len() {
                let word = &text[start..end];
                let alone = word_hash(word);
                assert_eq!(word_hash_at(text.as_bytes(), start, end - start), alone);
                let padded = format!("  {word}");
                assert_eq!(word_hash_at(padded.as_bytes(), 2, word.len()), alone);
            }
        }
    }

    #[test]
    fn decode_matches_std() {
        let text = "aé炸𝄞";
        let mut i = 0;
        for c in text.chars() {
            let (code, len) = decode(text.as_bytes(), i);
            assert_eq!((code, len), (c as u32, c.len_utf8()));
            i += len;
        }
    }
}
