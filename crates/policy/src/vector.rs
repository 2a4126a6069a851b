//! Masks of a block of bytes, a bit a byte, sixteen bytes at a time in the SSE2 registers that
//! every x86-64 processor has (through `safe_arch`, with no `unsafe` here): a comparison and
//! one `pmovmskb` per sixteen bytes. Elsewhere the same masks come from flags computed a byte
//! each and packed eight at a time ([`crate::swar`]); the tests check that both agree.
//!
//! Packing flags was most of the cost of marking the words of a block: on English text about
//! 180 instructions a block of 64 bytes, a tenth of the keyword search.

use crate::swar;

/// Bit `k` set when byte `k` of `block` is an ASCII letter, a digit or `_`; `None` when a byte
/// may begin a letter outside ASCII: `0xC2..=0xE2` (characters below U+3000), and `0xEF` too
/// when `FULL_WIDTH` (full-width letters).
#[inline(always)]
pub(crate) fn ascii_word_mask<const FULL_WIDTH: bool>(block: &[u8; 64]) -> Option<u64> {
    #[cfg(target_arch = "x86_64")]
    {
        sse2::ascii_word_mask::<FULL_WIDTH>(block)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        portable::ascii_word_mask::<FULL_WIDTH>(block)
    }
}

/// The byte-a-flag way, for any processor.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
mod portable {
    use super::swar;

    #[inline(always)]
    pub(crate) fn ascii_word_mask<const FULL_WIDTH: bool>(block: &[u8; 64]) -> Option<u64> {
        let mut flags = [0u8; 64];
        let mut may_be_letter = false;
        for (flag, &b) in flags.iter_mut().zip(block) {
            let letter = (b | 0x20).wrapping_sub(b'a') < 26;
            let digit = b.wrapping_sub(b'0') < 10;
            *flag = u8::from(letter | digit | (b == b'_')) << 7;
            may_be_letter |= b.wrapping_sub(0xC2) <= 0xE2 - 0xC2 || (FULL_WIDTH && b == 0xEF);
        }
        (!may_be_letter).then(|| swar::pack_flags(&flags))
    }
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use safe_arch::{
        bitor_m128i, cmp_eq_mask_i8_m128i, m128i, min_u8_m128i, move_mask_i8_m128i,
        set_splat_i8_m128i, sub_i8_m128i,
    };

    fn splat(b: u8) -> m128i {
        set_splat_i8_m128i(b as i8)
    }

    /// All ones in each byte of `x` in `lo..=hi` (unsigned): `x - lo` wraps above `hi - lo`
    /// for the others.
    #[inline(always)]
    fn in_range(x: m128i, lo: u8, hi: u8) -> m128i {
        let offset = sub_i8_m128i(x, splat(lo));
        cmp_eq_mask_i8_m128i(min_u8_m128i(offset, splat(hi - lo)), offset)
    }

    fn load(bytes: &[u8], at: usize) -> m128i {
        let mut sixteen = [0u8; 16];
        sixteen.copy_from_slice(&bytes[at..at + 16]);
        m128i::from(sixteen)
    }

    #[inline(always)]
    pub(crate) fn ascii_word_mask<const FULL_WIDTH: bool>(block: &[u8; 64]) -> Option<u64> {
        let (mut mask, mut may_be_letter) = (0u64, 0);
        for k in 0..4 {
            let x = load(block, 16 * k);
            let word = bitor_m128i(
                bitor_m128i(
                    in_range(bitor_m128i(x, splat(0x20)), b'a', b'z'),
                    in_range(x, b'0', b'9'),
                ),
                cmp_eq_mask_i8_m128i(x, splat(b'_')),
            );
            let mut letter_start = in_range(x, 0xC2, 0xE2);
            if FULL_WIDTH {
                letter_start = bitor_m128i(letter_start, cmp_eq_mask_i8_m128i(x, splat(0xEF)));
            }
            may_be_letter |= move_mask_i8_m128i(letter_start);
            mask |= u64::from(move_mask_i8_m128i(word) as u16) << (16 * k);
        }
        (may_be_letter == 0).then_some(mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocks of ASCII; of ASCII and the bytes of CJK ideographs (no byte that may begin a
    /// letter); of any bytes; and of one byte repeated, for every byte.
    fn blocks() -> Vec<[u8; 64]> {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut out = Vec::new();
        for round in 0..6000 {
            let mut block = [0u8; 64];
            for b in &mut block {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let byte = (seed >> 8) as u8;
                *b = match (round % 3, seed % 4) {
                    (0, _) | (1, 0 | 1) => byte & 0x7F,
                    (1, 2) => 0x80 | (byte & 0x3F),
                    (1, _) => 0xE4 + byte % 6,
                    _ => byte,
                };
            }
            out.push(block);
        }
        out.extend((0..=255u8).map(|b| [b; 64]));
        out
    }

    #[test]
    fn the_vector_masks_are_the_portable_ones() {
        for block in blocks() {
            assert_eq!(
                ascii_word_mask::<false>(&block),
                portable::ascii_word_mask::<false>(&block),
                "{block:?}"
            );
            assert_eq!(
                ascii_word_mask::<true>(&block),
                portable::ascii_word_mask::<true>(&block),
                "{block:?}"
            );
        }
    }

    #[test]
    fn portable_masks_follow_the_byte_rules() {
        let mut block = [b' '; 64];
        block[..12].copy_from_slice(b"ab_9 Z\x7f\t\xc3\xa9x-");
        // `\xc3` may begin a letter: no word mask.
        assert_eq!(portable::ascii_word_mask::<false>(&block), None);
        block[8] = b'.';
        block[9] = b'.';
        assert_eq!(
            portable::ascii_word_mask::<false>(&block),
            Some(0b0100_0010_1111)
        );
    }
}
