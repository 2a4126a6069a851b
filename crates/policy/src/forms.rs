//! Other written forms of a term, found by searching a view of the normalized text (and the
//! terms put through the same view when the matcher is built):
//!
//! - joiners: `-`, `_` and `.` between two ASCII letters or digits become a space, so
//!   `pipe-bomb`, `pipe_bomb` and `pipe.bomb` read `pipe bomb` (the view keeps every byte
//!   where it is);
//! - leetspeak (off by default): the digits 0 1 3 4 5 7 read o i e a s t (in place too);
//! - split Chinese: a run of one to three spaces or punctuation marks between two CJK
//!   ideographs is dropped, so `自 制 炸 弹`, `自制·炸弹` and `自制，炸弹` read `自制炸弹`;
//! - spaced letters: a run of three or more single ASCII letters or digits, each separated
//!   from the next by one space, `-`, `_` or `.` (`n a p a l m`, `n.a.p.a.l.m`), is noted
//!   so that the matcher can search it with the separators removed.
//!
//! English plurals are found by the matcher itself (a whole-word term may end with `s` or
//! `es` added); pinyin by extra spellings of the terms.
//!
//! Most text has none of these: the view is found 64 bytes at a time over plain ASCII or
//! runs of ideographs (a few vector instructions a sixteen bytes), eight or sixteen at a time
//! elsewhere, and is the text itself (borrowed) when nothing changes.

use std::borrow::Cow;
use std::ops::Range;

use crate::normalize::NormalizeOptions;
use crate::swar;

/// Which forms are searched for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Forms {
    pub joiners: bool,
    pub plurals: bool,
    pub spaced_letters: bool,
    pub split_cjk: bool,
    pub leetspeak: bool,
    pub pinyin: bool,
}

impl Forms {
    pub(crate) fn of(o: &NormalizeOptions) -> Forms {
        Forms {
            joiners: o.joiners,
            plurals: o.plurals,
            spaced_letters: o.spaced_letters,
            split_cjk: o.split_cjk,
            leetspeak: o.leetspeak,
            pinyin: o.pinyin,
        }
    }

    /// Whether the view can differ from the text.
    fn any_view(&self) -> bool {
        self.joiners || self.spaced_letters || self.split_cjk || self.leetspeak
    }
}

/// Most separator characters dropped between two ideographs in a row.
pub(crate) const MAX_CJK_SEPARATORS: usize = 3;

/// Characters of normalized text after a hit's end that can change it (a plural `es` then a
/// character; in spaced letters ` e s` and the next token with the byte after it).
pub(crate) const LOOKAHEAD_CHARS: usize = 7;

/// Characters of normalized text before a hit's start that can change it (whether the
/// spaced letter before it is a single one).
pub(crate) const LOOKBEHIND_CHARS: usize = 3;

/// The normalized text as the matcher reads it.
#[derive(Debug)]
pub(crate) struct View<'a> {
    pub text: Cow<'a, str>,
    /// (offset in the view, bytes dropped before it) for each place where bytes were
    /// dropped, in order.
    gaps: Vec<(usize, usize)>,
    /// Runs of spaced letters: the offsets of each run's letters in the view.
    pub runs: Vec<Vec<usize>>,
}

impl View<'_> {
    /// How many places bytes were dropped at.
    pub(crate) fn gaps_len(&self) -> usize {
        self.gaps.len()
    }

    /// The text offset of view offset `at`.
    fn text_offset(&self, at: usize) -> usize {
        let i = self.gaps.partition_point(|&(start, _)| start <= at);
        at + if i == 0 { 0 } else { self.gaps[i - 1].1 }
    }

    /// The text range of a non-empty view range.
    pub(crate) fn text_range(&self, range: Range<usize>) -> Range<usize> {
        if self.gaps.is_empty() {
            return range;
        }
        let start = self.text_offset(range.start);
        // A character is never split by a gap: its last byte maps one to one.
        let end = self.text_offset(range.end - 1) + 1;
        start..end
    }
}

/// The view of `text` (normalized) for `forms`.
pub(crate) fn view<'a>(text: &'a str, forms: &Forms) -> View<'a> {
    let mut v = Builder::new(text);
    if forms.any_view() {
        v.scan(forms);
    }
    let Builder {
        out,
        copied,
        gaps,
        runs,
        ..
    } = v;
    let text = match out {
        Some(mut out) => {
            out.push_str(&text[copied..]);
            Cow::Owned(out)
        }
        None => Cow::Borrowed(text),
    };
    View { text, gaps, runs }
}

struct Builder<'a> {
    text: &'a str,
    /// The view so far, once it differs from the text.
    out: Option<String>,
    /// Bytes of the text that the view has taken (copied or dropped).
    copied: usize,
    /// Bytes dropped so far.
    dropped: usize,
    gaps: Vec<(usize, usize)>,
    runs: Vec<Vec<usize>>,
}

impl<'a> Builder<'a> {
    /// A builder at the start of `text`, nothing copied or dropped yet.
    fn new(text: &'a str) -> Builder<'a> {
        Builder {
            text,
            out: None,
            copied: 0,
            dropped: 0,
            gaps: Vec::new(),
            runs: Vec::new(),
        }
    }

    fn out(&mut self) -> &mut String {
        let text = self.text;
        self.out
            .get_or_insert_with(|| String::with_capacity(text.len()))
    }

    /// Byte `at` (ASCII) reads `b` in the view.
    fn replace(&mut self, at: usize, b: u8) {
        let text = self.text;
        let copied = self.copied;
        let out = self.out();
        out.push_str(&text[copied..at]);
        out.push(b as char);
        self.copied = at + 1;
    }

    /// Bytes `range` of the text are not in the view.
    fn drop_bytes(&mut self, range: Range<usize>) {
        let text = self.text;
        let copied = self.copied;
        let out = self.out();
        out.push_str(&text[copied..range.start]);
        let at = out.len();
        self.copied = range.end;
        self.dropped += range.len();
        self.gaps.push((at, self.dropped));
    }

    fn scan(&mut self, forms: &Forms) {
        let bytes = self.text.as_bytes();
        // Text offset before which spaced letters are already part of a noted run.
        let mut run_end = 0;
        // Every byte before `i` has been looked at.
        let mut i = 0;
        // Eight bytes at a time, most of which need nothing; a chunk that may looks at its
        // characters one by one, from the last byte of the chunk before (a spaced letter
        // there is seen from this chunk).
        let mut previous = Previous::default();
        let mut chunk = 0;
        let quick = !forms.leetspeak;
        // Where the next block may be tried.
        let mut block_from = 0;
        while let Some(x) = swar::load(bytes, chunk) {
            // Sixty-four bytes of ASCII or of ideographs that no form changes at once.
            if quick && chunk >= block_from {
                if let Some(block) = plain_block(bytes, chunk) {
                    previous = block;
                    chunk += BLOCK;
                    continue;
                }
                block_from = chunk + SKIP_AFTER_FAILED_BLOCK;
            }
            // Sixteen bytes of plain lowercase English or of ideographs at once.
            if quick {
                if let Some(y) = swar::load(bytes, chunk + 8) {
                    if let Some(separators) = plain(x, y, &previous) {
                        previous.separators = separators;
                        previous.high = y >> 63 != 0;
                        chunk += 16;
                        continue;
                    }
                }
            }
            match may_change(x, &mut previous, forms) {
                Change::None => {}
                Change::At(mut at) => {
                    // Every other character of the chunk steps over itself: only these can
                    // start a joiner or a split (and none of them is a letter of a run).
                    while at != 0 {
                        let j = chunk + at.trailing_zeros() as usize / 8;
                        at &= at - 1;
                        if j >= i {
                            i = self.step(j, forms, &mut run_end);
                        }
                    }
                }
                Change::Any => {
                    i = self.steps(
                        i.max(chunk.saturating_sub(1)),
                        chunk + 8,
                        forms,
                        &mut run_end,
                    );
                }
            }
            chunk += 8;
        }
        self.steps(
            i.max(chunk.saturating_sub(1)),
            bytes.len(),
            forms,
            &mut run_end,
        );
    }

    /// Looks at each character from `from` to `to` (and past `to` when a step takes more);
    /// answers where it stopped.
    fn steps(&mut self, from: usize, to: usize, forms: &Forms, run_end: &mut usize) -> usize {
        let mut j = from;
        while j < to {
            j = self.step(j, forms, run_end);
        }
        j
    }

    /// Looks at the character at `i`; answers where to go on.
    fn step(&mut self, i: usize, forms: &Forms, run_end: &mut usize) -> usize {
        let bytes = self.text.as_bytes();
        let b = bytes[i];
        if (0x80..0xC0).contains(&b) {
            // Inside a character (the eight-byte steps can end there).
            return i + 1;
        }
        if b >= 0x80 {
            let len = utf8_len(b);
            // A split starts with a separator, and only these bytes start one (Latin-1 signs,
            // general punctuation, CJK marks, full-width and small forms): not an ideograph,
            // most of such text.
            if forms.split_cjk && matches!(b, 0xC2 | 0xE2 | 0xE3 | 0xEF) {
                if let Some(end) = self.cjk_split(i) {
                    self.drop_bytes(i..end);
                    return end;
                }
            }
            return i + len;
        }
        if forms.spaced_letters && i >= *run_end && is_single(bytes, i) {
            if let Some(end) = self.spaced_run(i) {
                *run_end = end;
            }
        }
        if forms.joiners
            && matches!(b, b'-' | b'_' | b'.')
            && i > 0
            && bytes[i - 1].is_ascii_alphanumeric()
            && bytes.get(i + 1).is_some_and(u8::is_ascii_alphanumeric)
        {
            self.replace(i, b' ');
            return i + 1;
        }
        if forms.leetspeak {
            if let Some(letter) = leet(b) {
                self.replace(i, letter);
                return i + 1;
            }
        }
        if forms.split_cjk && !b.is_ascii_alphanumeric() {
            if let Some(end) = self.cjk_split(i) {
                self.drop_bytes(i..end);
                return end;
            }
        }
        i + 1
    }

    /// When a run of one to three separators starts at `i` between two ideographs: where it
    /// ends.
    fn cjk_split(&self, i: usize) -> Option<usize> {
        if !ideograph_before(self.text.as_bytes(), i) {
            return None;
        }
        let text = self.text;
        let mut end = i;
        for (count, c) in text[i..].chars().enumerate() {
            if is_ideograph(c) {
                return (count > 0).then_some(end);
            }
            if count == MAX_CJK_SEPARATORS || !is_separator(c) {
                return None;
            }
            end += c.len_utf8();
        }
        None
    }

    /// Notes the run of spaced letters around the single letter at `i`, when it has three
    /// or more; answers the text offset after it.
    fn spaced_run(&mut self, i: usize) -> Option<usize> {
        let bytes = self.text.as_bytes();
        let mut first = i;
        while first >= 2 && is_run_separator(bytes[first - 1]) && is_single(bytes, first - 2) {
            first -= 2;
        }
        let mut last = i;
        while last + 2 < bytes.len()
            && is_run_separator(bytes[last + 1])
            && is_single(bytes, last + 2)
        {
            last += 2;
        }
        if (last - first) / 2 + 1 < 3 {
            return None;
        }
        // No bytes are dropped inside a run (it is ASCII): its view offsets are shifted alike.
        let shift = self.dropped;
        self.runs
            .push((first..=last).step_by(2).map(|p| p - shift).collect());
        Some(last + 1)
    }
}

/// Bytes after a block that is not plain before the next is tried: mixed text breaks most
/// blocks (a sentence in the other script, a spaced letter), and trying one at every chunk
/// costs more than the chunks themselves.
const SKIP_AFTER_FAILED_BLOCK: usize = 32;

/// Bytes that [`plain_block`] looks at together.
const BLOCK: usize = 64;

/// When the [`BLOCK`] bytes from `at` hold nothing that a form other than leetspeak changes
/// and no spaced letter: what [`may_change`] would keep after them.
///
/// Either every byte is ASCII other than `-` and `_`, each `.` is followed by a space (such a
/// dot joins nothing and separates no spaced letters; English sentences end so), no two
/// spaces two bytes apart have other than a lowercase letter two bytes beyond each (three
/// spaced letters `x y z` have; `of a dog` has not, and English has many such), nor is a
/// space two bytes after a separator of spaced letters just before the block, and the byte
/// before the block is ASCII (so that no separator there follows an ideograph); or every byte
/// is non-ASCII and each first byte of a character is an ideograph's (0xE4–0xE9). A spaced
/// run or a joiner that reaches into the block from either side is found from the chunk it
/// starts or ends in, as with the eight-byte steps. Each is one loop with no early exit over
/// a fixed-size array, which the compiler turns into a few vector instructions a sixteen
/// bytes.
#[inline]
fn plain_block(bytes: &[u8], at: usize) -> Option<Previous> {
    let last = swar::load(bytes, (at + BLOCK).checked_sub(8)?)?;
    if bytes.get(at)? < &0x80 {
        // The block, the four bytes before it and the two after.
        let w: &[u8; BLOCK + 6] = bytes
            .get(at.checked_sub(4)?..at + BLOCK + 2)?
            .try_into()
            .ok()?;
        let mut bad = w[3] >= 0x80
            || (is_run_separator(w[2]) && w[4] == b' ')
            || (is_run_separator(w[3]) && w[5] == b' ');
        let mut pairs = false;
        for k in 0..BLOCK {
            let b = w[k + 4];
            bad |= (b >= 0x80) | (b == b'-') | ((b == b'.') & (w[k + 5] != b' ')) | (b == b'_');
            pairs |= (b == b' ') & (w[k + 2] == b' ');
        }
        if pairs && !bad {
            for k in 0..BLOCK {
                bad |= (w[k + 4] == b' ')
                    & (w[k + 2] == b' ')
                    & !w[k].is_ascii_lowercase()
                    & !w[k + 6].is_ascii_lowercase();
            }
        }
        if bad {
            return None;
        }
        let spaces = !(last ^ 0x2020_2020_2020_2020).wrapping_add(0x7F7F_7F7F_7F7F_7F7F) & !last;
        return Some(Previous {
            separators: spaces & swar::HIGH,
            high: false,
        });
    }
    let block: &[u8; BLOCK] = bytes.get(at..at + BLOCK)?.try_into().ok()?;
    let mut bad = false;
    for &b in block {
        // ASCII, or the first byte of a character other than an ideograph's.
        bad |= (b < 0x80) | ((b >= 0xC0) & !(0xE4..=0xE9).contains(&b));
    }
    (!bad).then_some(Previous {
        separators: 0,
        high: true,
    })
}

/// What [`may_change`] keeps from one chunk for the next.
#[derive(Default)]
struct Previous {
    /// The separators of spaced letters (high bit of each byte).
    separators: u64,
    /// Whether the last byte is not ASCII.
    high: bool,
}

/// When the sixteen bytes `x`, `y` are plain text that no form changes: lowercase ASCII
/// letters (or `{|}~`) and spaces with no two spaces two bytes apart, or first bytes of
/// ideographs (0xE4–0xE9) and bytes inside characters, after no non-ASCII byte for ASCII
/// text; answers the spaces of `y` (for the chunk after).
#[inline(always)]
fn plain(x: u64, y: u64, previous: &Previous) -> Option<u64> {
    let (hx, hy) = (x & swar::HIGH, y & swar::HIGH);
    if hx | hy == 0 && !previous.high {
        let letters = |x: u64| x.wrapping_add(0x1F1F_1F1F_1F1F_1F1F) & swar::HIGH;
        let spaces =
            |x: u64| !(x ^ 0x2020_2020_2020_2020).wrapping_add(0x7F7F_7F7F_7F7F_7F7F) & swar::HIGH;
        let (sx, sy) = (spaces(x), spaces(y));
        let plain = (letters(x) | sx) & (letters(y) | sy) == swar::HIGH
            && sx & ((sx << 16) | (previous.separators >> 48)) == 0
            && sy & ((sy << 16) | (sx >> 48)) == 0;
        return plain.then_some(sy);
    }
    if hx & hy == swar::HIGH {
        let other_leads = |x: u64| x & (x << 1) & swar::HIGH & !swar::low7_in(x, 0x64, 0x69);
        return (other_leads(x) | other_leads(y) == 0).then_some(0);
    }
    None
}

/// What the eight bytes `x` may hold that the view changes (a necessary condition; those
/// characters are then looked at).
enum Change {
    None,
    /// A joiner or a split may start at the bytes whose high bit is set, nowhere else; each
    /// is the first byte of a character, none a letter or digit.
    At(u64),
    /// Leetspeak digits or a spaced run: every character is looked at, as a run is noted
    /// from any of its letters (the first one looked at) and is seen from a chunk that has
    /// two of its separators (or from the chunk before, when it is looked at through).
    Any,
}

#[inline(always)]
fn may_change(x: u64, previous: &mut Previous, forms: &Forms) -> Change {
    let high = x & swar::HIGH;
    let follows_high = previous.high;
    previous.high = x >> 63 != 0;
    if high == 0 && !follows_high && !forms.leetspeak {
        // Most of English: lowercase letters (and `{|}~`, from 0x61 up) and spaces, no two
        // spaces two bytes apart: nothing to look at, in a few instructions.
        let letters = x.wrapping_add(0x1F1F_1F1F_1F1F_1F1F) & swar::HIGH;
        let spaces = !(x ^ 0x2020_2020_2020_2020).wrapping_add(0x7F7F_7F7F_7F7F_7F7F) & swar::HIGH;
        if letters | spaces == swar::HIGH
            && spaces & ((spaces << 16) | (previous.separators >> 48)) == 0
        {
            previous.separators = spaces;
            return Change::None;
        }
    }
    let mut t = 0;
    if high == swar::HIGH {
        // All non-ASCII (Chinese, say): only a first byte other than the ideographs' (0xE4 to
        // 0xE9) may start a separator.
        previous.separators = 0;
        let leads = x & (x << 1) & swar::HIGH;
        if forms.split_cjk {
            t = leads & !swar::low7_in(x, 0x64, 0x69);
        }
        return if t == 0 { Change::None } else { Change::At(t) };
    }
    if forms.split_cjk {
        let leads = x & (x << 1) & swar::HIGH;
        t |= leads & !swar::low7_in(x, 0x64, 0x69);
        // ASCII right after a non-ASCII byte (a separator after an ideograph).
        t |= !x & swar::HIGH & ((high << 8) | u64::from(follows_high) << 7);
    }
    let ascii = !x & swar::HIGH;
    let joiners = (swar::low7_in(x, b'-', b'.') | swar::low7_in(x, b'_', b'_')) & ascii;
    if forms.joiners {
        t |= joiners;
    }
    let mut any = false;
    if forms.leetspeak {
        any |= (swar::low7_in(x, b'0', b'1')
            | swar::low7_in(x, b'3', b'5')
            | swar::low7_in(x, b'7', b'7'))
            & ascii
            != 0;
    }
    if forms.spaced_letters {
        // Two separators two bytes apart (a single letter between them), also across chunks.
        let separators = (swar::low7_in(x, b' ', b' ') & ascii) | joiners;
        any |= separators & ((separators << 16) | (previous.separators >> 48)) != 0;
        previous.separators = separators;
    }
    if any {
        Change::Any
    } else if t != 0 {
        Change::At(t)
    } else {
        Change::None
    }
}

/// Whether byte `at` is an ASCII letter or digit with no letter, digit or non-ASCII byte on
/// either side.
fn is_single(bytes: &[u8], at: usize) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b >= 0x80;
    bytes[at].is_ascii_alphanumeric()
        && !(at > 0 && word(bytes[at - 1]))
        && !bytes.get(at + 1).is_some_and(|&b| word(b))
}

pub(crate) fn is_run_separator(b: u8) -> bool {
    matches!(b, b' ' | b'-' | b'_' | b'.')
}

/// The letter a leetspeak digit stands for.
fn leet(b: u8) -> Option<u8> {
    Some(match b {
        b'0' => b'o',
        b'1' => b'i',
        b'3' => b'e',
        b'4' => b'a',
        b'5' => b's',
        b'7' => b't',
        _ => return None,
    })
}

/// Length of the UTF-8 character whose first byte is `b`.
fn utf8_len(b: u8) -> usize {
    match b {
        0..=0x7F => 1,
        0x80..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

/// Whether the character that ends at `i` (a character boundary) is an ideograph, decoded
/// from its last bytes rather than by walking back: an ideograph takes three bytes or four
/// (first byte 0xF0), and the first byte of a longer character is never one of the last two
/// bytes of a character.
#[inline]
fn ideograph_before(bytes: &[u8], i: usize) -> bool {
    let cont = |b: u8| u32::from(b & 0x3F);
    let c = if i >= 3 && bytes[i - 3] & 0xF0 == 0xE0 {
        u32::from(bytes[i - 3] & 0x0F) << 12 | cont(bytes[i - 2]) << 6 | cont(bytes[i - 1])
    } else if i >= 4 && bytes[i - 4] == 0xF0 {
        cont(bytes[i - 3]) << 12 | cont(bytes[i - 2]) << 6 | cont(bytes[i - 1])
    } else {
        return false;
    };
    char::from_u32(c).is_some_and(is_ideograph)
}

/// CJK ideographs (unified, extensions, compatibility) and 々 〇.
pub(crate) fn is_ideograph(c: char) -> bool {
    matches!(c as u32,
        0x3005 | 0x3007 | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3FFFF)
}

/// Spaces and punctuation that can be put between the characters of a Chinese word.
fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        return c == ' ' || c.is_ascii_punctuation();
    }
    // Only Latin-1 has letters and digits among these (ª ² µ ¼ …): `is_alphanumeric` is a
    // table search outside ASCII, slow for the marks of every Chinese sentence (、 。). A
    // test checks every character against the ranges less all letters and digits.
    if (0xA0..=0xBF).contains(&(c as u32)) {
        return !c.is_alphanumeric();
    }
    matches!(c as u32,
            0x2010..=0x205E
            | 0x3000..=0x3004
            | 0x3008..=0x3020
            | 0x3030
            | 0x30FB
            | 0xFE10..=0xFE19
            | 0xFE30..=0xFE6B
            | 0xFF01..=0xFF0F
            | 0xFF1A..=0xFF20
            | 0xFF3B..=0xFF40
            | 0xFF5B..=0xFF65)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Forms {
        Forms {
            joiners: true,
            plurals: true,
            spaced_letters: true,
            split_cjk: true,
            leetspeak: true,
            pinyin: false,
        }
    }

    fn read(text: &str) -> (String, Vec<String>) {
        let v = view(text, &all());
        let runs = v
            .runs
            .iter()
            .map(|r| r.iter().map(|&p| v.text.as_bytes()[p] as char).collect())
            .collect();
        (v.text.to_string(), runs)
    }

    #[test]
    fn each_form() {
        assert_eq!(read("pipe-bomb pipe_bomb a.b").0, "pipe bomb pipe bomb a b");
        assert_eq!(read("n4p4lm 2").0, "napalm 2");
        assert_eq!(read("自 制 炸 弹").0, "自制炸弹");
        assert_eq!(read("自制·炸弹，自制 , 炸弹").0, "自制炸弹自制炸弹");
        assert_eq!(read("自制 ,,, 炸弹 x 弹").0, "自制 ,,, 炸弹 x 弹");
        assert_eq!(read("n a p a l m").1, ["napalm"]);
        assert_eq!(read("so: n.a.p.a.l.m.").1, ["napalm"]);
        assert_eq!(read("i a b").1, ["iab"]);
        assert_eq!(read("a b, cd e f").1, Vec::<String>::new());
        // Long text, so that the eight-byte steps are used, with the forms across them.
        let filler = "plain words here ".repeat(3);
        let text = format!("{filler}p-b{filler}自 制{filler}x y z {filler}");
        let (viewed, runs) = read(&text);
        assert_eq!(
            viewed,
            format!("{filler}p b{filler}自制{filler}x y z {filler}")
        );
        assert_eq!(runs, ["xyz"]);
    }

    /// The view of `text` for `forms` when every character is looked at, one by one.
    fn every_character<'a>(text: &'a str, forms: &Forms) -> View<'a> {
        let mut every = Builder::new(text);
        let mut run_end = 0;
        every.steps(0, text.len(), forms, &mut run_end);
        let viewed = match every.out {
            Some(mut out) => {
                out.push_str(&text[every.copied..]);
                Cow::Owned(out)
            }
            None => Cow::Borrowed(text),
        };
        View {
            text: viewed,
            gaps: every.gaps,
            runs: every.runs,
        }
    }

    /// Random texts (`rounds` of them, up to `most` pieces each) of `plain` pieces and, one
    /// time in `rare`, one of `other` (`rare` 1: every piece from either): the view with and
    /// without leetspeak (which turns the block and sixteen-byte skips off), and without
    /// joiners (so that `-_.` are only separators of spaced letters), equals one that looks
    /// at every character.
    fn filtered_equals_every(plain: &[&str], other: &[&str], rare: u64, rounds: u64, most: u64) {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..rounds {
            let mut text = String::new();
            for _ in 0..(round % most) {
                let pieces = if next() % rare == 0 { other } else { plain };
                text.push_str(pieces[(next() % pieces.len() as u64) as usize]);
            }
            let quick = Forms {
                leetspeak: false,
                ..all()
            };
            let no_joiners = Forms {
                joiners: false,
                ..quick
            };
            for forms in [all(), quick, no_joiners] {
                let filtered = view(&text, &forms);
                let expected = every_character(&text, &forms);
                assert_eq!(filtered.text, expected.text, "{text:?}");
                assert_eq!(filtered.gaps, expected.gaps, "{text:?}");
                assert_eq!(filtered.runs, expected.runs, "{text:?}");
            }
        }
    }

    /// The eight-byte filter only skips work: the view equals one that looks at every
    /// character, over random text with the forms across chunk boundaries.
    #[test]
    fn filtered_view_equals_every_character_looked_at() {
        let pieces = [
            "a",
            "b",
            "ab",
            " ",
            "-",
            ".",
            "_",
            "4",
            "0",
            "9",
            "自",
            "制",
            "，",
            "·",
            "、",
            " , ",
            "é",
            "ж",
            "“",
            "\u{3041}",
            "𝄞",
            "x y",
            "pipe-bomb",
        ];
        filtered_equals_every(&pieces, &pieces, 1, 3000, 40);
    }

    /// The same over long plain stretches that the 64-byte blocks skip (English words with
    /// capitals, digits and other punctuation; runs of ideographs), with the forms and other
    /// characters now and then at every place relative to a block.
    #[test]
    fn skipped_blocks_equal_every_character_looked_at() {
        let english = ["word ", "plain ", "text ", "Caps ", "x9, ", "(ok) ", "ab"];
        let chinese = ["自制", "炸弹", "国家", "自", "弹"];
        let other = [
            " ", "-", ".", "_", "a b", "x y z ", "，", "·", "é", "\u{3041}", "𝄞", "n.a.p", "p-b",
            "自 制", "自", "word ", "䷀", "(x.y z, ", "(q-r s) ", "[m_n o] ", "(x.y", " z, ",
            "(x y z) ",
        ];
        filtered_equals_every(&english, &other, 12, 3000, 120);
        filtered_equals_every(&chinese, &other, 12, 3000, 120);
    }

    /// The module's rules applied one character at a time, written apart from the builder:
    /// (view text, gaps, runs).
    fn reference(text: &str, forms: &Forms) -> (String, Vec<(usize, usize)>, Vec<Vec<usize>>) {
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        let at = |k: usize| chars.get(k).map(|&(_, c)| c);
        let alnum = |k: usize| at(k).is_some_and(|c| c.is_ascii_alphanumeric());
        let word = |k: usize| at(k).is_some_and(|c| c.is_ascii_alphanumeric() || !c.is_ascii());
        let single = |k: usize| alnum(k) && !(k > 0 && word(k - 1)) && !word(k + 1);
        let run_separator = |k: usize| at(k).is_some_and(|c| " -_.".contains(c));
        let ideograph = |k: usize| at(k).is_some_and(is_ideograph);
        // The separators as first written: ASCII space or punctuation, or these ranges less
        // letters and digits.
        let separator = |c: char| {
            if c.is_ascii() {
                return c == ' ' || c.is_ascii_punctuation();
            }
            matches!(c as u32,
                0xA0..=0xBF | 0x2010..=0x205E | 0x3000..=0x3004 | 0x3008..=0x3020 | 0x3030
                | 0x30FB | 0xFE10..=0xFE19 | 0xFE30..=0xFE6B | 0xFF01..=0xFF0F
                | 0xFF1A..=0xFF20 | 0xFF3B..=0xFF40 | 0xFF5B..=0xFF65)
                && !c.is_alphanumeric()
        };
        let (mut out, mut gaps, mut runs) = (String::new(), Vec::new(), Vec::new());
        let (mut dropped, mut run_end, mut k) = (0, 0, 0);
        while k < chars.len() {
            let (i, c) = chars[k];
            // A run is met first at its first letter.
            if forms.spaced_letters && k >= run_end && single(k) {
                let mut last = k;
                while run_separator(last + 1) && single(last + 2) {
                    last += 2;
                }
                if last - k >= 4 {
                    runs.push(
                        (k..=last)
                            .step_by(2)
                            .map(|q| chars[q].0 - dropped)
                            .collect(),
                    );
                    run_end = last + 1;
                }
            }
            if forms.joiners && "-_.".contains(c) && k > 0 && alnum(k - 1) && alnum(k + 1) {
                out.push(' ');
                k += 1;
                continue;
            }
            if forms.leetspeak && "013457".contains(c) {
                out.push(b"o?ieas?t"[c as usize - '0' as usize] as char);
                k += 1;
                continue;
            }
            if forms.split_cjk && !c.is_ascii_alphanumeric() && k > 0 && ideograph(k - 1) {
                let mut end = k;
                while end < k + MAX_CJK_SEPARATORS && at(end).is_some_and(separator) {
                    end += 1;
                }
                if end > k && ideograph(end) {
                    dropped += chars[end].0 - i;
                    gaps.push((out.len(), dropped));
                    k = end;
                    continue;
                }
            }
            out.push(c);
            k += 1;
        }
        (out, gaps, runs)
    }

    #[test]
    fn separators_are_the_ranges_less_letters_and_digits() {
        for c in (0..=0x10_FFFF).filter_map(char::from_u32) {
            let ranges = c.is_ascii() && (c == ' ' || c.is_ascii_punctuation())
                || matches!(c as u32,
                    0xA0..=0xBF | 0x2010..=0x205E | 0x3000..=0x3004 | 0x3008..=0x3020 | 0x3030
                    | 0x30FB | 0xFE10..=0xFE19 | 0xFE30..=0xFE6B | 0xFF01..=0xFF0F
                    | 0xFF1A..=0xFF20 | 0xFF3B..=0xFF40 | 0xFF5B..=0xFF65);
            assert_eq!(is_separator(c), ranges && !c.is_alphanumeric(), "{c:?}");
        }
    }

    /// The view equals the reference over random mixed English and Chinese text, with plain
    /// stretches long enough for the block and sixteen-byte skips and every form between them.
    #[test]
    fn view_equals_reference_on_mixed_text() {
        let english = [
            "word ",
            "the quick brown fox ",
            "jumps over the lazy dog",
            ". ",
            ", ",
        ];
        let chinese = [
            "炸弹",
            "国家的人民",
            "一是了我不人在他有这个上们来到时大地为子中你说生国年着就那和要她出也得里后自以会",
            "、",
            "。",
            "，",
        ];
        let other: Vec<&str> = concat!(
            "a|n|x|9|0|4| |-|_|.|,|?|'|(|)|{|}|~|e.g.|a b c|n.a.p|pipe-bomb|x_y|自|制|、|。|，|·|・|：|",
            "！|（|）|；|？|「|」|…|—|\u{3000}|々|〇|豈|𠀀|䷀|¼|ª|é|ж|\u{3041}|\u{FE30}|\u{FF5E}|",
            "\u{FF21}|\n"
        )
        .split('|')
        .collect();
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let all = all();
        let variants = [
            all,
            Forms {
                leetspeak: false,
                ..all
            },
            Forms {
                leetspeak: false,
                joiners: false,
                ..all
            },
            Forms {
                leetspeak: false,
                spaced_letters: false,
                ..all
            },
            Forms {
                leetspeak: false,
                split_cjk: false,
                ..all
            },
        ];
        for round in 0..4000 {
            // Mostly one script at a time, switching now and then, as in mixed documents.
            let mut text = String::new();
            let mut in_chinese = next() % 2 == 0;
            for _ in 0..(round % 150) {
                let r = next();
                if r % 16 == 0 {
                    in_chinese = !in_chinese;
                }
                let pieces: &[&str] = if r % 5 == 0 {
                    &other
                } else if in_chinese {
                    &chinese
                } else {
                    &english
                };
                text.push_str(pieces[(r >> 8) as usize % pieces.len()]);
            }
            for forms in &variants {
                let v = view(&text, forms);
                let (expected, gaps, runs) = reference(&text, forms);
                assert_eq!(v.text, expected, "{text:?} {forms:?}");
                assert_eq!(v.gaps, gaps, "{text:?} {forms:?}");
                assert_eq!(v.runs, runs, "{text:?} {forms:?}");
            }
        }
    }

    #[test]
    fn ranges_map_back_across_gaps() {
        let text = "自 制 炸 弹 and 自制，炸弹";
        let v = view(text, &all());
        let at = v.text.find("自制炸弹").unwrap();
        assert_eq!(
            &text[v.text_range(at..at + "自制炸弹".len())],
            "自 制 炸 弹"
        );
        let at = v.text.rfind("自制炸弹").unwrap();
        assert_eq!(&text[v.text_range(at..at + "自制炸弹".len())], "自制，炸弹");
    }
}
