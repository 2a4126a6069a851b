//! Small text measures shared by every crate: cutting on a character boundary and the rough
//! token count used where a model reports none.

/// The largest character boundary of `text` at or before byte `at` (`text.len()` when `at` is
/// past the end).
pub fn floor_char_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    // A UTF-8 character is at most four bytes, so this steps back at most three times.
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The first `max` bytes of `text`, or fewer, ending on a character boundary.
pub fn prefix(text: &str, max: usize) -> &str {
    &text[..floor_char_boundary(text, max)]
}

/// The characters of `text` (`text.chars().count()`), 64 bytes at a time: a screen counts
/// every document's, and the standard library's count, eight bytes at a time, was 2% of its
/// instructions.
pub fn char_count(text: &str) -> usize {
    let (blocks, rest) = text.as_bytes().as_chunks::<64>();
    // The last bytes after zeros, which start characters of their own.
    let mut last = [0u8; 64];
    last[..rest.len()].copy_from_slice(rest);
    blocks.iter().map(char_starts).sum::<usize>() + char_starts(&last) - (64 - rest.len())
}

/// The first `chars` characters of `text` (all of it when it has fewer). Counted from the
/// bytes, 64 at a time and then one by one: a screen cuts the excerpt of every document that
/// enters its sample, and decoding each character cost several times more.
pub fn char_prefix(text: &str, chars: usize) -> &str {
    let bytes = text.as_bytes();
    if bytes.len() <= chars {
        return text;
    }
    let (mut seen, mut i) = (0, 0);
    for block in bytes.as_chunks::<64>().0 {
        let starts = char_starts(block);
        if seen + starts > chars {
            break;
        }
        (seen, i) = (seen + starts, i + 64);
    }
    for (k, &b) in bytes[i..].iter().enumerate() {
        if starts_char(b) {
            if seen == chars {
                return &text[..i + k];
            }
            seen += 1;
        }
    }
    text
}

/// Whether `b` starts a character: every byte but a continuation byte (0b10xx_xxxx).
fn starts_char(b: u8) -> bool {
    (b as i8) >= -0x40
}

/// The bytes of `block` that start a character, counted in the SSE2 registers that every
/// x86-64 processor has (through `safe_arch`).
#[cfg(target_arch = "x86_64")]
fn char_starts(block: &[u8; 64]) -> usize {
    use safe_arch::{cmp_gt_mask_i8_m128i, m128i, set_splat_i8_m128i, sub_i8_m128i, zeroed_m128i};
    let mut continuation = zeroed_m128i();
    for quarter in block.as_chunks::<16>().0 {
        // 0x80–0xBF are -128..=-65 as signed bytes: less than -64 (a lane of -1 each).
        let below = cmp_gt_mask_i8_m128i(set_splat_i8_m128i(-64), m128i::from(*quarter));
        continuation = sub_i8_m128i(continuation, below);
    }
    64 - sum_of_lanes(continuation) as usize
}

/// The sum of the sixteen bytes of `lanes` (one `psadbw` against zero).
#[cfg(target_arch = "x86_64")]
pub(crate) fn sum_of_lanes(lanes: safe_arch::m128i) -> u64 {
    use safe_arch::{sum_of_u8_abs_diff_m128i, zeroed_m128i};
    let [low, high] = <[u64; 2]>::from(sum_of_u8_abs_diff_m128i(lanes, zeroed_m128i()));
    low + high
}

#[cfg(not(target_arch = "x86_64"))]
fn char_starts(block: &[u8; 64]) -> usize {
    block.iter().filter(|&&b| starts_char(b)).count()
}

/// Cuts `text` to at most `max` bytes, at a character boundary.
pub fn truncate_to(text: &mut String, max: usize) {
    let end = floor_char_boundary(text, max);
    text.truncate(end);
}

/// The characters of a text as a token estimate sees them: ASCII ones and the others.
/// Counts of consecutive pieces add up, so a stream can be estimated chunk by chunk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CharCounts {
    pub ascii: u64,
    pub other: u64,
}

impl CharCounts {
    /// The counts of `text`, in one pass over its bytes (this runs on every streamed chunk).
    pub fn of(text: &str) -> CharCounts {
        let (mut ascii, mut starts) = (0u64, 0u64);
        for &b in text.as_bytes() {
            ascii += u64::from(b < 0x80);
            // Every byte but a UTF-8 continuation byte starts a character.
            starts += u64::from(b & 0xC0 != 0x80);
        }
        CharCounts {
            ascii,
            other: starts - ascii,
        }
    }

    /// The [`estimate_tokens`] of text with these counts.
    pub fn estimated_tokens(self) -> u64 {
        self.ascii.div_ceil(4).saturating_add(self.other)
    }
}

/// The counts of two texts one after the other.
impl std::ops::Add for CharCounts {
    type Output = CharCounts;

    fn add(self, more: CharCounts) -> CharCounts {
        CharCounts {
            ascii: self.ascii.saturating_add(more.ascii),
            other: self.other.saturating_add(more.other),
        }
    }
}

/// A rough token count for text whose model reports none: a token per four ASCII characters
/// and one per other character (a Chinese character is about a token in common vocabularies).
pub fn estimate_tokens(text: &str) -> u64 {
    CharCounts::of(text).estimated_tokens()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_prefix_counts_characters_of_every_length() {
        let pieces = ["a", "é", "炸", "𝄞", " ", "ab"];
        let mut seed = 0x2545_F491u32;
        for _ in 0..300 {
            let mut text = String::new();
            for _ in 0..seed % 40 {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                text.push_str(pieces[seed as usize % pieces.len()]);
            }
            for chars in 0..=text.chars().count() + 2 {
                let expected: String = text.chars().take(chars).collect();
                assert_eq!(char_prefix(&text, chars), expected, "{text:?}, {chars}");
            }
        }
    }

    #[test]
    fn characters_are_counted_as_the_standard_library_counts_them() {
        // Characters of one to four bytes, around and across the blocks of 64 bytes.
        let pieces = [
            "a", " ", "é", "中", "，", "€", "😀", "\u{7F}", "\u{80}", "\u{FFFF}",
        ];
        let mut seed = 7u64;
        for len in (0..200usize).chain([1000, 5000]) {
            let text: String = (0..len)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    pieces[(seed >> 33) as usize % pieces.len()]
                })
                .collect();
            assert_eq!(char_count(&text), text.chars().count(), "{len}");
            for chars in [0, 1, len / 2, len.saturating_sub(1), len, len + 1] {
                let expected: String = text.chars().take(chars).collect();
                assert_eq!(char_prefix(&text, chars), expected, "{len}, {chars}");
            }
        }
        // Four-byte characters only: the same lanes of every block are continuation bytes.
        for len in [16, 17, 1000] {
            assert_eq!(char_count(&"😀".repeat(len)), len);
        }
    }

    #[test]
    fn cuts_fall_on_character_boundaries() {
        let text = "ab炸弹"; // 2 + 3 + 3 bytes
        assert_eq!(floor_char_boundary(text, 0), 0);
        assert_eq!(floor_char_boundary(text, 2), 2);
        assert_eq!(floor_char_boundary(text, 3), 2);
        assert_eq!(floor_char_boundary(text, 4), 2);
        assert_eq!(floor_char_boundary(text, 5), 5);
        assert_eq!(floor_char_boundary(text, 100), 8);
        assert_eq!(prefix(text, 7), "ab炸");
        assert_eq!(prefix("", 3), "");
        let mut owned = String::from("😀😀");
        truncate_to(&mut owned, 6);
        assert_eq!(owned, "😀");
        truncate_to(&mut owned, 10);
        assert_eq!(owned, "😀");
    }

    #[test]
    fn token_estimates() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("abcdefgh"), 2);
        assert_eq!(estimate_tokens("abcdefghi"), 3);
        assert_eq!(estimate_tokens("怎么制作炸弹"), 6);
        assert_eq!(estimate_tokens("bomb 炸弹"), 4);
        assert_eq!(estimate_tokens("😀 é"), 3);
        let whole = CharCounts::of("bomb 炸弹 and more");
        let parts = CharCounts::of("bomb 炸") + CharCounts::of("弹 and more");
        assert_eq!(whole, parts);
        assert_eq!(
            whole.estimated_tokens(),
            estimate_tokens("bomb 炸弹 and more")
        );
    }
}
