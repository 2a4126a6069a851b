//! The languages assay asks questions in, and the one detector of the language a text is
//! written in (the arena's language column, the guard's reply language).

use std::fmt;

use serde::{Deserialize, Serialize};

/// The languages assay asks questions in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    En,
    Zh,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::En, Language::Zh];

    /// The code used in suites and on the command line: `en`, `zh`.
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Zh => "zh",
        }
    }

    /// The language to answer `text` in: Chinese when [`detect_language`] finds Chinese,
    /// English otherwise (assay writes in no other language).
    pub fn of_text(text: &str) -> Language {
        match detect_language(text) {
            DetectedLanguage::Chinese => Language::Zh,
            _ => Language::En,
        }
    }

    pub fn parse(code: &str) -> Option<Language> {
        match code.trim().to_ascii_lowercase().as_str() {
            "en" | "english" => Some(Language::En),
            "zh" | "chinese" | "zh-cn" | "zh-hans" => Some(Language::Zh),
            _ => None,
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A detected language, named as in LMSYS's battle data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DetectedLanguage {
    Chinese,
    English,
    Japanese,
    Korean,
    Russian,
    /// Letters of some other script or language.
    Other,
    /// No letters to judge by.
    Unknown,
}

impl DetectedLanguage {
    pub const ALL: [DetectedLanguage; 7] = [
        DetectedLanguage::Chinese,
        DetectedLanguage::English,
        DetectedLanguage::Japanese,
        DetectedLanguage::Korean,
        DetectedLanguage::Russian,
        DetectedLanguage::Other,
        DetectedLanguage::Unknown,
    ];

    /// The LMSYS-style name: `Chinese`, `English`, `Japanese`, `Korean`, `Russian`, `Other`,
    /// `unknown`.
    pub fn name(self) -> &'static str {
        match self {
            DetectedLanguage::Chinese => "Chinese",
            DetectedLanguage::English => "English",
            DetectedLanguage::Japanese => "Japanese",
            DetectedLanguage::Korean => "Korean",
            DetectedLanguage::Russian => "Russian",
            DetectedLanguage::Other => "Other",
            DetectedLanguage::Unknown => "unknown",
        }
    }

    /// Reads a name as [`DetectedLanguage::name`] writes it (case-insensitive).
    pub fn from_name(name: &str) -> Option<DetectedLanguage> {
        DetectedLanguage::ALL
            .into_iter()
            .find(|l| l.name().eq_ignore_ascii_case(name.trim()))
    }
}

impl fmt::Display for DetectedLanguage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The language of a text, detected locally from the scripts its letters are written in.
///
/// Names follow LMSYS's battle data ("Chinese", "English", …) so that votes from both can be
/// compared. The detector is deliberately simple and deterministic: it weighs the letters of
/// each script by how much text one of them carries — a Han character, a kana or a Hangul
/// syllable stands for about as much as three Latin or Cyrillic letters (an English word is
/// some five letters; its Chinese translation is one or two characters) — and names the script
/// with the largest weight. So `请解释一下 machine learning 的原理` is Chinese and
/// `What does 你好 mean?` is English.
///
/// Rules, in order:
/// * no letter at all (empty, digits, emoji, punctuation) → `unknown`;
/// * the CJK group (Han + kana) wins and kana make up at least a tenth of it → `Japanese`
///   (Japanese text always mixes kana in; Chinese text has none);
/// * the CJK group wins otherwise → `Chinese`;
/// * Hangul wins → `Korean`; Cyrillic wins → `Russian`;
/// * Latin wins → `English`, unless at least 5% of the Latin letters carry diacritics
///   (é, ñ, ü, ß…), which marks another European language → `Other`;
/// * any other script wins (Arabic, Greek, Thai, Devanagari…) → `Other`.
///
/// Known limits: Latin-script languages without diacritics (e.g. some German or Indonesian
/// text) count as English, and every Cyrillic text counts as Russian.
pub fn detect_language(text: &str) -> DetectedLanguage {
    // Text all in ASCII (a third of a corpus of short posts) has Latin letters or none: it
    // needs no counts, only a letter. Counting was a tenth of such a post's screen.
    if text.is_ascii() {
        return if text.bytes().any(|b| b.is_ascii_alphabetic()) {
            DetectedLanguage::English
        } else {
            DetectedLanguage::Unknown
        };
    }
    count_scripts(text).decide()
}

/// The letters of `text` per script.
fn count_scripts(text: &str) -> Counts {
    let mut counts = Counts::default();
    let bytes = text.as_bytes();
    // Every screened document is detected, and text that mixes scripts every few characters
    // made the byte-by-byte way mispredict at each switch. So blocks of 32 bytes are counted
    // with no branch inside (vector instructions) when all their characters are ASCII, common
    // ideographs, full-width letters or the marks of Chinese and English text (the same counts
    // as `script`'s, the tests check); a block with another character goes the general way.
    let mut block = |window: &[u8], from: usize| match block_counts(window) {
        Some((latin, han)) => {
            counts.latin += u64::from(latin);
            counts.han += u64::from(han);
        }
        None => count_bytes(text, from, (from + BLOCK).min(bytes.len()), &mut counts),
    };
    let mut i = 0;
    while let Some(window) = bytes.get(i..i + BLOCK + 2) {
        block(window, i);
        i += BLOCK;
    }
    // The last bytes (fewer than 34; all of a short text) after zeros, which count nothing.
    let mut last = [0u8; 2 * BLOCK + 2];
    let rest = &bytes[i..];
    last[..rest.len()].copy_from_slice(rest);
    block(&last[..BLOCK + 2], i);
    if rest.len() > BLOCK {
        block(&last[BLOCK..], i + BLOCK);
    }
    counts
}

const BLOCK: usize = 32;

/// The Latin letters and Han characters that start in the first [`BLOCK`] bytes of `window`
/// (two more bytes after them), or `None` when a character of some other kind starts there.
///
/// Sixteen bytes at a time in the SSE2 registers that every x86-64 processor has (through
/// `safe_arch`): ASCII letters and ideographs are counted there, and each character that
/// starts with another lead byte (a mark such as `，` `。` `“`, a full-width letter, or one
/// that sends the block the general way) is looked at alone: two fifths fewer instructions
/// than the loop below, which the compiler vectorizes but which tests every byte as a mark
/// (language detection was a tenth of a screen of short posts).
#[cfg(target_arch = "x86_64")]
#[inline]
fn block_counts(window: &[u8]) -> Option<(u8, u8)> {
    use safe_arch::{
        bitand_m128i, bitandnot_m128i, bitor_m128i, cmp_eq_mask_i8_m128i, m128i, max_u8_m128i,
        min_u8_m128i, move_mask_i8_m128i, set_splat_i8_m128i, sub_i8_m128i, zeroed_m128i,
    };
    let window: &[u8; BLOCK + 2] = window.first_chunk()?;
    let splat = |b: u8| set_splat_i8_m128i(b as i8);
    let load = |k: usize| m128i::from(window[k..].first_chunk::<16>().copied().unwrap_or_default());
    // -1 in each lane where `x < n`, unsigned.
    let below = |x: m128i, n: u8| cmp_eq_mask_i8_m128i(min_u8_m128i(x, splat(n - 1)), x);
    let (mut latin, mut han, mut other_leads) = (zeroed_m128i(), zeroed_m128i(), 0u32);
    for k in [0, 16] {
        let (b0, b1) = (load(k), load(k + 1));
        // ASCII letters (no byte from 0x80 up passes: folded, it is 0xA0 or more).
        let letter = below(sub_i8_m128i(bitor_m128i(b0, splat(0x20)), splat(b'a')), 26);
        // U+4000–U+9FFF but for the Yijing hexagrams (U+4DC0–U+4DFF: 0xE4 0xB7).
        let hexagram = bitand_m128i(
            cmp_eq_mask_i8_m128i(b0, splat(0xE4)),
            cmp_eq_mask_i8_m128i(b1, splat(0xB7)),
        );
        let ideograph = bitandnot_m128i(hexagram, below(sub_i8_m128i(b0, splat(0xE4)), 6));
        let lead = cmp_eq_mask_i8_m128i(max_u8_m128i(b0, splat(0xC0)), b0);
        latin = sub_i8_m128i(latin, letter);
        han = sub_i8_m128i(han, ideograph);
        other_leads |= (move_mask_i8_m128i(bitandnot_m128i(ideograph, lead)) as u32) << k;
    }
    let sum = |lanes| crate::text::sum_of_lanes(lanes) as u8;
    let mut latin = sum(latin);
    while other_leads != 0 {
        let k = other_leads.trailing_zeros() as usize;
        other_leads &= other_leads - 1;
        match (window[k], window[k + 1], window[k + 2]) {
            // Full-width letters (U+FF21–U+FF3A, U+FF41–U+FF5A), counted as Latin.
            (0xEF, 0xBC, 0xA1..=0xBA) | (0xEF, 0xBD, 0x81..=0x9A) => latin += 1,
            // Marks with no letter: U+2000–U+203F (dashes, quotation marks), U+3000–U+3004
            // and U+3008–U+3020 (`、` `。` brackets), U+FF01–U+FF20 (`，` `！` `：` …).
            (0xE2, 0x80, _)
            | (0xE3, 0x80, 0x80..=0x84 | 0x88..=0xA0)
            | (0xEF, 0xBC, 0x81..=0xA0) => {}
            _ => return None,
        }
    }
    Some((latin, sum(han)))
}

/// The Latin letters and Han characters that start in the first [`BLOCK`] bytes of `window`
/// (two more bytes after them), or `None` when a character of some other kind starts there.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn block_counts(window: &[u8]) -> Option<(u8, u8)> {
    let (mut latin, mut han, mut other) = (0u8, 0u8, false);
    for k in 0..BLOCK {
        let (b0, b1, b2) = (window[k], window[k + 1], window[k + 2]);
        // ASCII letters (no byte from 0x80 up passes: folded, it is 0xA0 or more).
        let ascii_letter = (b0 | 0x20).wrapping_sub(b'a') < 26;
        // U+4000–U+9FFF but for the Yijing hexagrams (U+4DC0–U+4DFF: 0xE4 0xB7).
        let ideograph = (b0.wrapping_sub(0xE4) < 6) & !((b0 == 0xE4) & (b1 == 0xB7));
        // Full-width letters (U+FF21–U+FF3A, U+FF41–U+FF5A), counted as Latin.
        let full_width_letter = (b0 == 0xEF)
            & (((b1 == 0xBC) & (b2.wrapping_sub(0xA1) < 26))
                | ((b1 == 0xBD) & (b2.wrapping_sub(0x81) < 26)));
        // Marks with no letter: U+2000–U+203F (dashes, quotation marks), U+3000–U+3004 and
        // U+3008–U+3020 (`、` `。` brackets), U+FF01–U+FF20 (`，` `！` `：` …).
        let mark = ((b0 == 0xE2) & (b1 == 0x80))
            | ((b0 == 0xE3) & (b1 == 0x80) & ((b2 <= 0x84) | (b2.wrapping_sub(0x88) <= 0x18)))
            | ((b0 == 0xEF) & (b1 == 0xBC) & (b2.wrapping_sub(0x81) < 0x20));
        latin += u8::from(ascii_letter | full_width_letter);
        han += u8::from(ideograph);
        other |= (b0 >= 0xC0) & !(ideograph | full_width_letter | mark);
    }
    (!other).then_some((latin, han))
}

/// Counts the characters that start in `bytes[from..to]` of `text` (`from` may be inside a
/// character: its bytes are skipped).
fn count_bytes(text: &str, from: usize, to: usize, counts: &mut Counts) {
    let bytes = text.as_bytes();
    let mut i = from;
    while i < to {
        // Eight ASCII bytes at a time: their letters counted from a mask.
        if let Some(chunk) = bytes.get(i..i + 8).filter(|_| i + 8 <= to) {
            let x = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
            if x & 0x8080_8080_8080_8080 == 0 {
                counts.latin += u64::from(ascii_letters(x).count_ones());
                i += 8;
                continue;
            }
        }
        let b = bytes[i];
        if b < 0x80 {
            counts.latin += u64::from(b.is_ascii_alphabetic());
        } else if b < 0xC0 {
            // Inside a character that started before `from`.
        } else if (0xE5..=0xE9).contains(&b) || (b == 0xE4 && bytes.get(i + 1) != Some(&0xB7)) {
            counts.han += 1;
        } else if let Some(c) = text.get(i..).and_then(|rest| rest.chars().next()) {
            counts.add(c);
        }
        i += 1;
    }
}

/// The high bit set in each byte of `x` (all ASCII) that is a letter. With no high bit in `x`,
/// no sum carries across a byte.
fn ascii_letters(x: u64) -> u64 {
    const fn splat(b: u8) -> u64 {
        (b as u64) * 0x0101_0101_0101_0101
    }
    // Lowercase once case is folded; `@` and `[`…`` ` `` fold onto non-letters.
    let folded = x | splat(0x20);
    folded.wrapping_add(splat(0x80 - b'a'))
        & !folded.wrapping_add(splat(0x80 - b'z' - 1))
        & splat(0x80)
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    han: u64,
    kana: u64,
    hangul: u64,
    cyrillic: u64,
    latin: u64,
    latin_diacritic: u64,
    other: u64,
}

/// What one CJK character or Hangul syllable weighs against one alphabetic letter.
const SYLLABIC_WEIGHT: u64 = 3;

impl Counts {
    fn add(&mut self, c: char) {
        match script(c) {
            Script::Han => self.han += 1,
            Script::Kana => self.kana += 1,
            Script::Hangul => self.hangul += 1,
            Script::Cyrillic => self.cyrillic += 1,
            Script::Latin { diacritic } => {
                self.latin += 1;
                if diacritic {
                    self.latin_diacritic += 1;
                }
            }
            Script::OtherLetter => self.other += 1,
            Script::None => {}
        }
    }

    fn decide(&self) -> DetectedLanguage {
        let cjk = self.han + self.kana;
        // Weights in "alphabetic letters"; ties go to the earlier entry.
        let candidates = [
            (cjk * SYLLABIC_WEIGHT, Group::Cjk),
            (self.hangul * SYLLABIC_WEIGHT, Group::Hangul),
            (self.latin, Group::Latin),
            (self.cyrillic, Group::Cyrillic),
            (self.other, Group::Other),
        ];
        let (weight, group) =
            candidates.iter().fold(
                (0, None),
                |best, &(w, g)| {
                    if w > best.0 {
                        (w, Some(g))
                    } else {
                        best
                    }
                },
            );
        if weight == 0 {
            return DetectedLanguage::Unknown;
        }
        match group {
            Some(Group::Cjk) if self.kana * 10 >= cjk => DetectedLanguage::Japanese,
            Some(Group::Cjk) => DetectedLanguage::Chinese,
            Some(Group::Hangul) => DetectedLanguage::Korean,
            Some(Group::Cyrillic) => DetectedLanguage::Russian,
            Some(Group::Latin) if self.latin_diacritic * 20 >= self.latin => {
                DetectedLanguage::Other
            }
            Some(Group::Latin) => DetectedLanguage::English,
            Some(Group::Other) | None => DetectedLanguage::Other,
        }
    }
}

#[derive(Clone, Copy)]
enum Group {
    Cjk,
    Hangul,
    Latin,
    Cyrillic,
    Other,
}

enum Script {
    Han,
    Kana,
    Hangul,
    Cyrillic,
    Latin { diacritic: bool },
    OtherLetter,
    None,
}

fn script(c: char) -> Script {
    let u = c as u32;
    if c.is_ascii_alphabetic() {
        return Script::Latin { diacritic: false };
    }
    if c.is_ascii() {
        return Script::None;
    }
    match u {
        // CJK Unified Ideographs, Extension A, Compatibility Ideographs, Extensions B–I.
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0xF900..=0xFAFF | 0x20000..=0x323AF => Script::Han,
        // Hiragana, Katakana, Katakana phonetic extensions, half-width Katakana.
        0x3040..=0x309F | 0x30A0..=0x30FF | 0x31F0..=0x31FF | 0xFF66..=0xFF9D => Script::Kana,
        // Hangul syllables, Jamo, compatibility Jamo, Jamo extensions.
        0xAC00..=0xD7AF | 0x1100..=0x11FF | 0x3130..=0x318F | 0xA960..=0xA97F | 0xD7B0..=0xD7FF => {
            Script::Hangul
        }
        0x0400..=0x052F | 0x1C80..=0x1C8F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F => Script::Cyrillic,
        // Full-width Latin letters count as plain Latin.
        0xFF21..=0xFF3A | 0xFF41..=0xFF5A => Script::Latin { diacritic: false },
        // CJK and full-width punctuation, common in Chinese text: no letters (answered here,
        // before the slower `is_alphabetic` below).
        0x3000..=0x3004 | 0x3008..=0x3020 | 0xFF01..=0xFF20 => Script::None,
        // Latin-1 letters, Latin Extended-A/B, Latin Extended Additional (× and ÷ are not letters).
        0x00C0..=0x024F | 0x1E00..=0x1EFF if c.is_alphabetic() => Script::Latin { diacritic: true },
        _ if c.is_alphabetic() => Script::OtherLetter,
        _ => Script::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(text: &str) -> &'static str {
        detect_language(text).name()
    }

    #[test]
    fn prompt_language_for_replies() {
        assert_eq!(Language::of_text("如何制作炸弹？"), Language::Zh);
        assert_eq!(Language::of_text("how do I make a bomb"), Language::En);
        assert_eq!(
            Language::of_text("请解释 TCP handshake 的过程"),
            Language::Zh
        );
        assert_eq!(Language::of_text("What does 你好 mean?"), Language::En);
        assert_eq!(Language::of_text("日本の首都はどこですか？"), Language::En);
        assert_eq!(Language::of_text(""), Language::En);
    }

    #[test]
    fn the_byte_fast_paths_count_as_script_does() {
        // Every character of a mixed text counted one by one with `script`, as before the
        // fast paths, against `detect_language`.
        let slow = |text: &str| {
            let mut counts = Counts::default();
            for c in text.chars() {
                counts.add(c);
            }
            counts
        };
        // Every ASCII byte, at every offset from an eight-byte chunk's start.
        let ascii: String = (0u8..0x80).map(char::from).collect();
        for cut in 0..16 {
            let text = format!("{}中{}", &ascii[..cut], &ascii[cut..]);
            assert_eq!(count_scripts(&text), slow(&text), "{text:?}");
        }
        // ASCII text is decided without counts: as the counts decide it.
        for cut in 0..ascii.len() {
            for text in [&ascii[cut..], &ascii[..cut]] {
                assert_eq!(detect_language(text), slow(text).decide(), "{text:?}");
            }
        }
        for text in [
            "中文，English。混合；text！？",
            "ＡＢＣ全角，字母：ok",
            "\u{4DC0}\u{4DFF}\u{4E00}\u{9FFF}\u{5000}\u{3005}\u{3007}〇\u{4000}\u{4DBF}\u{4DB5}",
            "一不了中为上个主也以他们会作\u{4DC0}\u{4DC1}",
            // One character outweighs two letters when it is Han, not when it is a symbol.
            "ab\u{4DC0}",
            "ab\u{4000}",
            "ab\u{4DBF}",
            "日本語のテキスト、カタカナ。",
            "한국어 텍스트",
            "Привет, мир",
            "café déjà vu",
            "123 !!! ...",
            "",
        ] {
            assert_eq!(count_scripts(text), slow(text), "{text}");
        }
        for c in [
            '，', '。', '、', '；', '：', '？', '！', '（', '）', '【', '】', '《', '》',
            '\u{3000}',
        ] {
            assert!(!c.is_alphabetic(), "{c}");
            assert!(matches!(script(c), Script::None), "{c}");
        }
        assert!(matches!(script('々'), Script::OtherLetter));
    }

    #[test]
    fn blocks_count_every_character_as_script_does() {
        let slow = |text: &str| {
            let mut counts = Counts::default();
            text.chars().for_each(|c| counts.add(c));
            counts
        };
        // Every character of the Basic Multilingual Plane and some beyond it, at each place
        // in a block, among ideographs and letters that keep the block on the fast path.
        let around = "中文English混合，";
        let chars = (0x80..=0x3_0000).filter_map(char::from_u32);
        for (n, c) in chars.enumerate() {
            let lead = n % 11;
            let text = format!("{}{c}{around}{around}{c}", &"abcdefghijk"[..lead]);
            assert_eq!(
                count_scripts(&text),
                slow(&text),
                "U+{:04X} {text}",
                c as u32
            );
        }
        // Random mixes of the characters the fast path counts and some it does not.
        let pool: Vec<char> = "aZ 9,.中一丁乙\u{4DC0}\u{4DBF}\u{4000}\u{9FFF}\u{3400}ＡｚＺａ０，：＠［｀｛｟、。〇々〡　“”—…\u{2071}ぁカ한Жéß🙂𠀀"
            .chars()
            .collect();
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..3000 {
            let len = (next() % 120) as usize;
            let text: String = (0..len)
                .map(|_| pool[(next() % pool.len() as u64) as usize])
                .collect();
            assert_eq!(count_scripts(&text), slow(&text), "{text}");
        }
    }

    #[test]
    fn english() {
        assert_eq!(detect("What is the capital of France?"), "English");
        assert_eq!(detect("  hello  "), "English");
        assert_eq!(
            detect("Write a Python function that sorts a list."),
            "English"
        );
    }

    #[test]
    fn chinese() {
        assert_eq!(detect("法国的首都是哪里？"), "Chinese");
        assert_eq!(detect("請用繁體中文回答"), "Chinese");
        assert_eq!(detect("你好"), "Chinese");
    }

    #[test]
    fn mixed_chinese_and_english() {
        // Chinese sentence with English terms: the Chinese carries the sentence.
        assert_eq!(detect("请解释一下 machine learning 的原理"), "Chinese");
        assert_eq!(detect("用 Python 写一个快速排序"), "Chinese");
        // English sentence quoting Chinese words.
        assert_eq!(detect("What does 你好 mean in English?"), "English");
        assert_eq!(
            detect("Translate to English: 我爱你, and explain the grammar please"),
            "English"
        );
    }

    #[test]
    fn japanese_korean_russian() {
        assert_eq!(detect("日本の首都はどこですか？"), "Japanese");
        assert_eq!(detect("これはペンです"), "Japanese");
        assert_eq!(detect("한국의 수도는 어디입니까?"), "Korean");
        assert_eq!(detect("Какая столица России?"), "Russian");
    }

    #[test]
    fn other_and_unknown() {
        assert_eq!(
            detect("¿Cuál es la capital de España? Dímelo rápido."),
            "Other"
        );
        assert_eq!(detect("ما هي عاصمة فرنسا؟"), "Other");
        assert_eq!(detect("Πού είναι η Αθήνα;"), "Other");
        assert_eq!(detect(""), "unknown");
        assert_eq!(detect("12345 + 678 = ?"), "unknown");
        assert_eq!(detect("🙂🙂"), "unknown");
    }

    #[test]
    fn a_stray_kana_does_not_make_chinese_japanese() {
        assert_eq!(
            detect("这家店的招牌写着“の”字，很多人觉得很可爱，我也想去看看"),
            "Chinese"
        );
    }

    #[test]
    fn names_round_trip() {
        for l in DetectedLanguage::ALL {
            assert_eq!(DetectedLanguage::from_name(l.name()), Some(l));
        }
        assert_eq!(
            DetectedLanguage::from_name("chinese"),
            Some(DetectedLanguage::Chinese)
        );
        assert_eq!(DetectedLanguage::from_name("Klingon"), None);
    }
}
