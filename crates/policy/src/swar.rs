//! Eight bytes at a time in a `u64` ("SIMD within a register"): exact masks of the bytes in
//! an ASCII range, so that the scanners can step over text that needs nothing from them
//! (lowercase words, runs of CJK) without a branch per byte.

/// The high bit of every byte.
pub(crate) const HIGH: u64 = 0x8080_8080_8080_8080;
const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;

const fn splat(b: u8) -> u64 {
    (b as u64) * 0x0101_0101_0101_0101
}

/// The eight bytes from `i`, as a little-endian `u64`, when there are eight.
#[inline]
pub(crate) fn load(bytes: &[u8], i: usize) -> Option<u64> {
    chunk(bytes, i).map(|&chunk| u64::from_le_bytes(chunk))
}

/// The `N` bytes from `i`, when there are `N`. Two comparisons: `bytes.get(i..i + N)` also
/// checks that `i + N` does not overflow, a few instructions more at every step of a scan.
#[inline(always)]
pub(crate) fn chunk<const N: usize>(bytes: &[u8], i: usize) -> Option<&[u8; N]> {
    bytes.get(i..)?.first_chunk()
}

/// The high bit set in each byte of `x` whose low seven bits lie in `lo..=hi` (`hi < 0x80`),
/// whatever its own high bit. No carry crosses a byte: each sum stays below 0x100.
#[inline]
pub(crate) fn low7_in(x: u64, lo: u8, hi: u8) -> u64 {
    let low = x & LOW7;
    (low + splat(0x80 - lo)) & !(low + splat(0x80 - (hi + 1))) & HIGH
}

/// The high bit set in each ASCII byte of `x` in `lo..=hi` (`hi < 0x80`).
#[inline]
pub(crate) fn ascii_in(x: u64, lo: u8, hi: u8) -> u64 {
    low7_in(x, lo, hi) & !x
}

/// The high bit set in each byte of `x` that may end a run of plain ASCII: one that is not
/// ASCII, a control character (tab and line breaks too: the caller tells those apart), `_`
/// or DEL. Fewer operations than one [`ascii_in`] for each.
#[inline]
pub(crate) fn may_end_plain_ascii(x: u64) -> u64 {
    let low = x & LOW7;
    let control = !(low + splat(0x60));
    let del = low + splat(0x01);
    let underscore = (low ^ splat(0x20)) + splat(0x01);
    (x | ((control | del | underscore) & !x)) & HIGH
}

/// The high bits of the bytes of `x` (bits 7, 15, … 63) packed into its low eight bits,
/// byte `k`'s in bit `k`.
#[inline]
pub(crate) fn pack_high_bits(mask: u64) -> u64 {
    ((mask >> 7) & 0x0101_0101_0101_0101).wrapping_mul(0x0102_0408_1020_4080) >> 56
}

/// Bit `k` set when byte `k` of `flags` (at most 64, each 0 or 0x80) is set: flags computed
/// a byte each with no branch (vector instructions), packed eight at a time.
#[inline]
pub(crate) fn pack_flags(flags: &[u8]) -> u64 {
    flags.chunks(8).enumerate().fold(0, |mask, (i, eight)| {
        let mut word = [0u8; 8];
        word[..eight.len()].copy_from_slice(eight);
        mask | pack_high_bits(u64::from_le_bytes(word)) << (8 * i)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_agree_with_byte_checks() {
        let mut seed = 0x1234_5678_9ABC_DEF0u64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let bytes = seed.to_le_bytes();
            let expect = |f: &dyn Fn(u8) -> bool| {
                bytes
                    .iter()
                    .enumerate()
                    .filter(|(_, &b)| f(b))
                    .fold(0u64, |m, (k, _)| m | 0x80 << (8 * k))
            };
            assert_eq!(
                ascii_in(seed, b'a', b'z'),
                expect(&|b| b.is_ascii_lowercase())
            );
            assert_eq!(ascii_in(seed, b' ', b' '), expect(&|b| b == b' '));
            assert_eq!(ascii_in(seed, 0, 0x1F), expect(&|b| b < 0x20));
            assert_eq!(
                may_end_plain_ascii(seed),
                expect(&|b| !(0x20..0x7F).contains(&b) || b == b'_')
            );
            let high = seed & HIGH;
            let packed = (0..8).fold(0, |p, k| p | ((high >> (8 * k + 7)) & 1) << k);
            assert_eq!(pack_high_bits(high), packed);
            let flags: Vec<u8> = (0..(seed % 65) as usize)
                .map(|k| if seed >> (k % 64) & 1 == 1 { 0x80 } else { 0 })
                .collect();
            let packed = flags
                .iter()
                .enumerate()
                .fold(0, |p, (k, &f)| p | u64::from(f >> 7) << k);
            assert_eq!(pack_flags(&flags), packed);
        }
    }
}
