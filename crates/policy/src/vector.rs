//! Masks of a block of bytes, a bit a byte, sixteen bytes at a time in the SSE2 registers that
//! every x86-64 processor has (through `safe_arch`, with no `unsafe` here): a comparison and
//! one `pmovmskb` per sixteen bytes. Elsewhere the same masks come from flags computed a byte
//! each and packed eight at a time ([`crate::swar`]); the tests check that both agree.
//!
//! Packed from flags (through 64 bytes on the stack and eight loads), a block's word mask cost
//! whole screens 6–10% of their time, though only 2% of their instructions.

use crate::swar;

/// Bit `k` set when byte `k` of `block` is an ASCII letter, a digit or `_`; `None` when a byte
/// may begin a letter outside ASCII: `0xC2..=0xE2` (characters below U+3000) but for `0xE2
/// 0x80` (U+2000–U+203F: spaces, dashes, quotation marks, which real text of both languages
/// is full of), and `0xEF` too when `FULL_WIDTH` (full-width letters). A last byte `0xE2` may
/// begin a letter (the byte after it is not in the block).
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

/// Where the first `\n` of `bytes` is, if any: sixteen bytes at a time, in line, for lines as
/// short as a list's hosts. With `memchr` called for each line (through a pointer, then its
/// set-up for short input), a screen with a million domains started in 0.09 or in 0.11 s
/// depending on where the build put code that the load does not run.
#[inline]
pub(crate) fn line_end(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..).and_then(|rest| rest.first_chunk::<16>()) {
        let newlines = newlines_16(chunk);
        if newlines != 0 {
            return Some(at + newlines.trailing_zeros() as usize);
        }
        at += 16;
    }
    memchr::memchr(b'\n', &bytes[at..]).map(|i| at + i)
}

/// Bit `k` set when byte `k` of `chunk` is `\n`.
#[inline(always)]
fn newlines_16(chunk: &[u8; 16]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        sse2::newlines_16(chunk)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        chunk
            .iter()
            .enumerate()
            .fold(0, |bits, (k, &b)| bits | (u32::from(b == b'\n') << k))
    }
}

/// Sixteen bytes of text as the quick comparison of a candidate reads them: a bit a byte for
/// the spaces, the other whitespace (tab to carriage return), and the bytes the view may
/// change (not ASCII, `-`, `.`); and the bytes with their ASCII capitals made small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sixteen {
    pub spaces: u32,
    pub whitespace: u32,
    pub changed: u32,
    pub folded: u128,
}

#[inline(always)]
pub(crate) fn sixteen(bytes: &[u8; 16]) -> Sixteen {
    #[cfg(target_arch = "x86_64")]
    {
        sse2::sixteen(bytes)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        portable::sixteen(bytes)
    }
}

/// The byte-a-flag way, for any processor.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
mod portable {
    use super::{swar, Sixteen};

    pub(crate) fn sixteen(bytes: &[u8; 16]) -> Sixteen {
        let bits = |f: &dyn Fn(u8) -> bool| {
            bytes
                .iter()
                .enumerate()
                .fold(0u32, |m, (k, &b)| m | (u32::from(f(b)) << k))
        };
        let folded = bytes
            .iter()
            .rev()
            .fold(0u128, |v, &b| v << 8 | u128::from(b.to_ascii_lowercase()));
        Sixteen {
            spaces: bits(&|b| b == b' '),
            whitespace: bits(&|b| (b'\t'..=b'\r').contains(&b)),
            changed: bits(&|b| b >= 0x80 || b == b'-' || b == b'.'),
            folded,
        }
    }

    #[inline(always)]
    pub(crate) fn ascii_word_mask<const FULL_WIDTH: bool>(block: &[u8; 64]) -> Option<u64> {
        let mut flags = [0u8; 64];
        let mut may_be_letter = false;
        for (k, (flag, &b)) in flags.iter_mut().zip(block).enumerate() {
            let letter = (b | 0x20).wrapping_sub(b'a') < 26;
            let digit = b.wrapping_sub(b'0') < 10;
            *flag = u8::from(letter | digit | (b == b'_')) << 7;
            let punctuation = b == 0xE2 && block.get(k + 1) == Some(&0x80);
            may_be_letter |=
                (b.wrapping_sub(0xC2) <= 0xE2 - 0xC2 && !punctuation) || (FULL_WIDTH && b == 0xEF);
        }
        (!may_be_letter).then(|| swar::pack_flags(&flags))
    }
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use safe_arch::{
        bitand_m128i, bitandnot_m128i, bitor_m128i, byte_shr_imm_u128_m128i, cmp_eq_mask_i8_m128i,
        m128i, min_u8_m128i, move_mask_i8_m128i, set_splat_i8_m128i, sub_i8_m128i,
    };

    #[inline(always)]
    pub(crate) fn sixteen(bytes: &[u8; 16]) -> super::Sixteen {
        let x = m128i::from(*bytes);
        let capitals = bitand_m128i(in_range(x, b'A', b'Z'), splat(0x20));
        super::Sixteen {
            spaces: move_mask_i8_m128i(cmp_eq_mask_i8_m128i(x, splat(b' '))) as u32,
            whitespace: move_mask_i8_m128i(in_range(x, b'\t', b'\r')) as u32,
            changed: move_mask_i8_m128i(bitor_m128i(x, in_range(x, b'-', b'.'))) as u32,
            folded: u128::from(bitor_m128i(x, capitals)),
        }
    }

    #[inline(always)]
    pub(crate) fn newlines_16(chunk: &[u8; 16]) -> u32 {
        let x = m128i::from(*chunk);
        move_mask_i8_m128i(cmp_eq_mask_i8_m128i(x, splat(b'\n'))) as u32
    }

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
        let (mut mask, mut lead) = (0u64, 0);
        for k in 0..4 {
            let x = load(block, 16 * k);
            let word = bitor_m128i(
                bitor_m128i(
                    in_range(bitor_m128i(x, splat(0x20)), b'a', b'z'),
                    in_range(x, b'0', b'9'),
                ),
                cmp_eq_mask_i8_m128i(x, splat(b'_')),
            );
            let mut letter_lead = in_range(x, 0xC2, 0xE2);
            if FULL_WIDTH {
                letter_lead = bitor_m128i(letter_lead, cmp_eq_mask_i8_m128i(x, splat(0xEF)));
            }
            lead |= move_mask_i8_m128i(letter_lead);
            mask |= u64::from(move_mask_i8_m128i(word) as u16) << (16 * k);
        }
        // Most blocks have none of those bytes; those that do, most often for quotation marks
        // and dashes (`0xE2 0x80`), are looked at again.
        (lead == 0 || !may_begin_letter::<FULL_WIDTH>(block)).then_some(mask)
    }

    /// Whether a byte of `block` may begin a letter ([`super::ascii_word_mask`]).
    #[inline(never)]
    fn may_begin_letter<const FULL_WIDTH: bool>(block: &[u8; 64]) -> bool {
        let mut lead = 0;
        for k in 0..4 {
            let x = load(block, 16 * k);
            // The byte after each (zero after the block's last).
            let next = if k < 3 {
                load(block, 16 * k + 1)
            } else {
                byte_shr_imm_u128_m128i::<1>(x)
            };
            // `0xE2` not followed by `0x80`.
            let e2_letter = bitandnot_m128i(
                cmp_eq_mask_i8_m128i(next, splat(0x80)),
                cmp_eq_mask_i8_m128i(x, splat(0xE2)),
            );
            let mut letter_lead = bitor_m128i(in_range(x, 0xC2, 0xE1), e2_letter);
            if FULL_WIDTH {
                letter_lead = bitor_m128i(letter_lead, cmp_eq_mask_i8_m128i(x, splat(0xEF)));
            }
            lead |= move_mask_i8_m128i(letter_lead);
        }
        lead != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocks of ASCII; of ASCII and the bytes of CJK ideographs (no byte that may begin a
    /// letter); of ASCII and `0xE2 0x80`/`0xE2 0x81` characters, with `0xE2` last at times;
    /// of any bytes; and of one byte repeated, for every byte.
    fn blocks() -> Vec<[u8; 64]> {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut out = Vec::new();
        for round in 0..8000 {
            let mut block = [0u8; 64];
            for b in &mut block {
                let r = next();
                let byte = (r >> 8) as u8;
                *b = match (round % 4, r % 4) {
                    (0 | 2, _) | (1, 0 | 1) => byte & 0x7F,
                    (1, 2) => 0x80 | (byte & 0x3F),
                    (1, _) => 0xE4 + byte % 6,
                    _ => byte,
                };
            }
            if round % 4 == 2 {
                for _ in 0..(next() % 4) {
                    let at = (next() % 62) as usize;
                    let second = if next() % 3 == 0 { 0x81 } else { 0x80 };
                    block[at..at + 3].copy_from_slice(&[
                        0xE2,
                        second,
                        0x80 | (next() as u8 & 0x3F),
                    ]);
                }
                if next() % 3 == 0 {
                    block[63] = 0xE2;
                }
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
    fn sixteen_bytes_read_in_registers_are_read_as_byte_by_byte() {
        for block in blocks() {
            for at in [0, 16, 32, 48] {
                let sixteen: &[u8; 16] = block[at..at + 16].try_into().unwrap();
                assert_eq!(
                    super::sixteen(sixteen),
                    portable::sixteen(sixteen),
                    "{sixteen:?}"
                );
            }
        }
        // Every byte in each place, and the byte rules themselves.
        for b in 0..=255u8 {
            let mut chunk = *b"Ab -.\t\r\x80 Zz\n\x0b\xe4\xb8\xad";
            chunk[b as usize % 16] = b;
            assert_eq!(
                super::sixteen(&chunk),
                portable::sixteen(&chunk),
                "{chunk:?}"
            );
        }
        let s = portable::sixteen(b"Ab -.\t\r\x80 Zz\n\x0b\xe4\xb8\xad");
        assert_eq!(s.spaces, 0b0000_0001_0000_0100);
        assert_eq!(s.whitespace, 0b0001_1000_0110_0000);
        assert_eq!(s.changed, 0b1110_0000_1001_1000);
        assert_eq!(&s.folded.to_le_bytes()[..4], b"ab -");
        assert_eq!(s.folded.to_le_bytes()[9], b'z');
    }

    #[test]
    fn line_ends_are_where_memchr_finds_them() {
        let mut text = Vec::new();
        for n in 0..200usize {
            text.extend(std::iter::repeat_n(b'a' + (n % 26) as u8, n % 41));
            text.push(b'\n');
        }
        text.extend_from_slice(b"no newline at the end");
        for from in 0..text.len() {
            assert_eq!(
                line_end(&text[from..]),
                memchr::memchr(b'\n', &text[from..]),
                "from {from}"
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
        // `’` (0xE2 0x80 0x99) is no letter; `ⁿ` (0xE2 0x81 0xBF) may be, and so may a last
        // 0xE2.
        block[20..23].copy_from_slice("’".as_bytes());
        assert!(portable::ascii_word_mask::<false>(&block).is_some());
        block[30..33].copy_from_slice("ⁿ".as_bytes());
        assert_eq!(portable::ascii_word_mask::<false>(&block), None);
        block[30..33].copy_from_slice(b"   ");
        block[63] = 0xE2;
        assert_eq!(portable::ascii_word_mask::<false>(&block), None);
    }
}
