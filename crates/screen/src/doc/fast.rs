//! The named fields of a JSON object read without serde, for the lines that need nothing
//! unusual: on a corpus of short documents, serde_json took about 2,000 instructions a line
//! (`bench/RESULTS.md`), as much as screening a post's text.
//!
//! It reads the whole line as JSON and checks what serde_json checks, but answers `None`, and
//! leaves the line to serde_json (which then says what is wrong, or reads it), at anything it
//! does not read itself: an error of any kind, a key with an escape, a named field that is not
//! a string, a `\u` escape of a surrogate in a named field, or values nested deeper than
//! [`MAX_DEPTH`]. What it answers is what serde_json answers; the tests compare both on many
//! lines, valid and broken.

use std::borrow::Cow;

use super::{FieldNames, Fields};

/// Arrays and objects nested deeper than this inside an ignored value go to serde_json.
const MAX_DEPTH: usize = 64;

/// The fields of `line`, or `None` when serde_json must read it.
pub(super) fn extract<'a>(line: &'a str, names: &FieldNames) -> Option<Fields<'a>> {
    let mut reader = Reader {
        text: line,
        bytes: line.as_bytes(),
        pos: 0,
    };
    let mut fields = Fields::default();
    reader.expect(b'{')?;
    if !reader.next_is(b'}') {
        loop {
            reader.expect(b'"')?;
            let (end, escaped) = reader.string_end()?;
            if escaped {
                return None;
            }
            let key = &line[reader.pos..end];
            reader.pos = end + 1;
            reader.expect(b':')?;
            let slot = if key == names.text {
                Some(&mut fields.text)
            } else if key == names.url {
                Some(&mut fields.url)
            } else if names.source.as_deref() == Some(key) {
                Some(&mut fields.source)
            } else {
                None
            };
            match slot {
                Some(slot) => {
                    reader.expect(b'"')?;
                    *slot = Some(reader.string()?);
                }
                None => reader.skip_value(0)?,
            }
            if reader.next_is(b'}') {
                break;
            }
            reader.expect(b',')?;
        }
    }
    reader.skip_whitespace();
    (reader.pos == reader.bytes.len()).then_some(fields)
}

struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    /// Steps over whitespace and `byte`; `None` when something else comes.
    fn expect(&mut self, byte: u8) -> Option<()> {
        self.skip_whitespace();
        (self.bytes.get(self.pos) == Some(&byte)).then(|| self.pos += 1)
    }

    /// Steps over whitespace and `byte` when it comes next.
    fn next_is(&mut self, byte: u8) -> bool {
        self.expect(byte).is_some()
    }

    /// Where the string that starts at `pos` (after its opening quote) ends (its closing
    /// quote), and whether it has escapes; `None` when it is not a string as JSON writes one.
    fn string_end(&self) -> Option<(usize, bool)> {
        let (mut i, mut escaped) = (self.pos, false);
        loop {
            i = stop(self.bytes, i)?;
            match self.bytes[i] {
                b'"' => return Some((i, escaped)),
                b'\\' => escaped = true,
                _ => return None,
            }
            i += match self.bytes.get(i + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => 2,
                b'u' => {
                    hex4(self.bytes.get(i + 2..i + 6)?)?;
                    6
                }
                _ => return None,
            };
        }
    }

    /// The string that starts at `pos` (after its opening quote), borrowed when it has no
    /// escape; moves past it.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        let (end, escaped) = self.string_end()?;
        let raw = &self.text[self.pos..end];
        self.pos = end + 1;
        if !escaped {
            return Some(Cow::Borrowed(raw));
        }
        let mut out = String::with_capacity(raw.len());
        let mut rest = raw;
        while let Some(k) = rest.find('\\') {
            out.push_str(&rest[..k]);
            let escape = rest.as_bytes().get(k + 1)?;
            let (c, len) = match escape {
                b'b' => ('\u{8}', 2),
                b'f' => ('\u{c}', 2),
                b'n' => ('\n', 2),
                b'r' => ('\r', 2),
                b't' => ('\t', 2),
                b'u' => {
                    // A surrogate (`from_u32` refuses one) goes to serde_json: a pair makes
                    // one character, a lone one is an error.
                    let unit = hex4(rest.as_bytes().get(k + 2..k + 6)?)?;
                    (char::from_u32(u32::from(unit))?, 6)
                }
                &b => (char::from(b), 2),
            };
            out.push(c);
            rest = &rest[k + len..];
        }
        out.push_str(rest);
        Some(Cow::Owned(out))
    }

    /// Steps over one value (after whitespace) as serde_json ignores one: its strings'
    /// escapes checked but not decoded, its numbers' form checked but not their size.
    fn skip_value(&mut self, depth: usize) -> Option<()> {
        self.skip_whitespace();
        match *self.bytes.get(self.pos)? {
            b'"' => {
                self.pos += 1;
                self.pos = self.string_end()?.0 + 1;
            }
            open @ (b'[' | b'{') if depth < MAX_DEPTH => {
                self.pos += 1;
                let close = if open == b'[' { b']' } else { b'}' };
                if self.next_is(close) {
                    return Some(());
                }
                loop {
                    if open == b'{' {
                        self.expect(b'"')?;
                        self.pos = self.string_end()?.0 + 1;
                        self.expect(b':')?;
                    }
                    self.skip_value(depth + 1)?;
                    if self.next_is(close) {
                        return Some(());
                    }
                    self.expect(b',')?;
                }
            }
            b't' => self.literal(b"true")?,
            b'f' => self.literal(b"false")?,
            b'n' => self.literal(b"null")?,
            b'-' | b'0'..=b'9' => self.number()?,
            _ => return None,
        }
        Some(())
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.pos + word.len();
        (self.bytes.get(self.pos..end)? == word).then(|| self.pos = end)
    }

    /// A number as JSON writes one: `-`, then `0` or digits not starting with `0`, then an
    /// optional fraction and exponent, each with at least one digit.
    fn number(&mut self) -> Option<()> {
        if self.bytes[self.pos] == b'-' {
            self.pos += 1;
        }
        match self.bytes.get(self.pos)? {
            // (A digit after a leading `0` is left for the caller, which expects `,` or a close.)
            b'0' => self.pos += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.bytes.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            self.some_digits()?;
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.pos) {
                self.pos += 1;
            }
            self.some_digits()?;
        }
        Some(())
    }

    fn digits(&mut self) {
        while self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
    }

    fn some_digits(&mut self) -> Option<()> {
        let start = self.pos;
        self.digits();
        (self.pos > start).then_some(())
    }
}

/// Where the first quote, backslash or control character (JSON escapes them) from `i` is.
/// Most strings of a line end within 256 bytes (keys, URLs, posts): those bytes are read
/// sixteen at a time, where `memchr2`'s set-up cost more than the search (160 instructions a
/// call, a fifth of reading a post's fields); a longer string (a text) is searched by
/// `memchr2` for its quote or backslash, and the bytes before it for a control character,
/// each with vector instructions.
fn stop(bytes: &[u8], mut i: usize) -> Option<usize> {
    for _ in 0..16 {
        let Some(block) = bytes.get(i..).and_then(|rest| rest.first_chunk::<16>()) else {
            // The last bytes of the line: none after them stops the string.
            let rest = bytes.get(i..)?;
            let mut block = [b' '; 16];
            block[..rest.len()].copy_from_slice(rest);
            let k = stops_16(&block).trailing_zeros() as usize;
            return (k < rest.len()).then_some(i + k);
        };
        let found = stops_16(block);
        if found != 0 {
            return Some(i + found.trailing_zeros() as usize);
        }
        i += 16;
    }
    let rest = bytes.get(i..)?;
    let end = memchr::memchr2(b'"', b'\\', rest)?;
    let before = &rest[..end];
    if before.iter().fold(false, |found, &b| found | (b < 0x20)) {
        return before.iter().position(|&b| b < 0x20).map(|k| i + k);
    }
    Some(i + end)
}

/// Bit `k` set when byte `k` of `block` is a quote, a backslash or a control character: a
/// comparison of each kind and one `pmovmskb` in the SSE2 registers that every x86-64
/// processor has (through `safe_arch`, with no `unsafe` here).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn stops_16(block: &[u8; 16]) -> u32 {
    use safe_arch::{
        bitor_m128i, cmp_eq_mask_i8_m128i, m128i, min_u8_m128i, move_mask_i8_m128i,
        set_splat_i8_m128i,
    };
    let splat = |b: u8| set_splat_i8_m128i(b as i8);
    let x = m128i::from(*block);
    let quote = cmp_eq_mask_i8_m128i(x, splat(b'"'));
    let backslash = cmp_eq_mask_i8_m128i(x, splat(b'\\'));
    // Below 0x20: no greater than 0x1F, unsigned.
    let control = cmp_eq_mask_i8_m128i(min_u8_m128i(x, splat(0x1F)), x);
    move_mask_i8_m128i(bitor_m128i(bitor_m128i(quote, backslash), control)) as u32
}

#[cfg(not(target_arch = "x86_64"))]
fn stops_16(block: &[u8; 16]) -> u32 {
    block.iter().enumerate().fold(0, |bits, (k, &b)| {
        bits | (u32::from(b == b'"' || b == b'\\' || b < 0x20) << k)
    })
}

/// The value of four hex digits; `None` when they are not.
fn hex4(digits: &[u8]) -> Option<u16> {
    // Digits only: `from_str_radix` alone would take a sign.
    if !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u16::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::super::tests::names;
    use super::*;

    /// Whether this reader answered for `line`; when it did, serde_json reads the same fields.
    fn answered_as_serde(line: &str) -> bool {
        let names = names();
        let fast = extract(line, &names);
        if let Some(fields) = &fast {
            let serde = super::super::extract_with_serde(line, &names);
            assert_eq!(serde.as_ref().ok(), Some(fields), "{line:?}: {serde:?}");
        }
        fast.is_some()
    }

    const READ_HERE: &[&str] = &[
        r#"{"id": 1, "url": "https://a.com/x", "text": "hello"}"#,
        " \t{ \"text\" : \"a\" ,\r\n\"url\":\"u\" } \n",
        r#"{"text": "line\nbreak \"quoted\" \\ \/ \t \b \f \r \u4e2d\u0041 end"}"#,
        r#"{"meta": {"a": [1, -2.5e10, true, false, null, {"b": "c\n\ud83d"}], "d": [], "e": {}}, "text": "x"}"#,
        r#"{"n": [0, -0, 1.0, 1e5, 1E+5, 1e-5, 12.34e56, -0.5E-0], "text": "t"}"#,
        r#"{"text": "a", "text": "b", "url": "c", "url": "d"}"#,
        r#"{}"#,
        r#"{"src": "s", "text": "t", "other": "\u00e9"}"#,
        r#"{"text": "中文，English。😀"}"#,
        r#"{"id": 7}"#,
    ];

    #[test]
    fn string_stops_are_where_a_byte_by_byte_search_finds_them() {
        let stops = |b: u8| b == b'"' || b == b'\\' || b < 0x20;
        let by_bytes = |bytes: &[u8], from: usize| {
            bytes[from..]
                .iter()
                .position(|&b| stops(b))
                .map(|k| from + k)
        };
        // Strings of every length to past where the search changes ways (at 256 bytes), each
        // with a quote, backslash or control character at every place, or none, and a closing
        // quote.
        let stop_bytes = [b'"', b'\\', b'\n', 0x1F, 0x00];
        for len in (0..300).chain([529]) {
            let text = "abc xyz中".as_bytes();
            let mut bytes: Vec<u8> = (0..len)
                .map(|k| text[k % text.len()])
                .chain([b'"'])
                .collect();
            for from in [0, 1, 17].into_iter().filter(|&from| from <= len) {
                assert_eq!(stop(&bytes, from), by_bytes(&bytes, from), "{len} {from}");
            }
            for at in 0..len {
                let kept = bytes[at];
                bytes[at] = stop_bytes[(at + len) % stop_bytes.len()];
                for from in [0, 1, 17].into_iter().filter(|&from| from <= len) {
                    assert_eq!(
                        stop(&bytes, from),
                        by_bytes(&bytes, from),
                        "{len} {at} {from}"
                    );
                }
                bytes[at] = kept;
            }
        }
    }

    #[test]
    fn plain_lines_are_read_here_as_serde_json_reads_them() {
        for line in READ_HERE {
            assert!(answered_as_serde(line), "not read here: {line}");
        }
        let escaped = extract(READ_HERE[2], &names()).and_then(|f| f.text);
        assert_eq!(
            escaped.as_deref(),
            Some("line\nbreak \"quoted\" \\ / \t \u{8} \u{c} \r 中A end")
        );
    }

    #[test]
    fn unusual_lines_are_left_to_serde_json() {
        let names = names();
        for line in [
            r#"{"text": 5}"#,
            r#"{"text": null}"#,
            r#"{"te\u0078t": "a"}"#,
            r#"{"text": "\ud83d\ude00"}"#,
        ] {
            assert!(extract(line, &names).is_none(), "{line}");
            assert!(super::super::extract(line, &names).is_ok(), "{line}");
        }
        let deep = format!(
            r#"{{"a": {}1{}, "text": "t"}}"#,
            "[".repeat(100),
            "]".repeat(100)
        );
        assert!(extract(&deep, &names).is_none());
        assert!(super::super::extract(&deep, &names).is_ok());
    }

    #[test]
    fn broken_lines_are_left_to_serde_json_which_refuses_them() {
        let names = names();
        for line in [
            "",
            "{",
            "[1]",
            r#""text""#,
            r#"{"text": "a",}"#,
            r#"{"text" "a"}"#,
            r#"{"text": "a"  "#,
            "{\"text\": \"a\u{1}b\"}",
            "{\"text\": \"more than sixteen bytes, then \u{1f} here\"}",
            r#"{"text": "\q"}"#,
            r#"{"text": "\u12G4"}"#,
            r#"{"text": "\u+123"}"#,
            r#"{"a":"\u12"}"#,
            r#"{"a": 01}"#,
            r#"{"a": 1.}"#,
            r#"{"a": .5}"#,
            r#"{"a": -}"#,
            r#"{"a": 1e}"#,
            r#"{"a": 1e+}"#,
            r#"{"a": tru}"#,
            r#"{"a": nul}"#,
            r#"{"a": truex}"#,
            r#"{"a": [1,]}"#,
            r#"{"a": [1 2]}"#,
            r#"{"a": {"b" 1}}"#,
            r#"{"a": {1: 2}}"#,
            r#"{"text": "a"} x"#,
            r#"{"text": "a"}}"#,
            r#"{"a": 1}{"b": 2}"#,
            r#"{"a": "unterminated}"#,
        ] {
            assert!(extract(line, &names).is_none(), "read here: {line}");
            assert!(super::super::extract(line, &names).is_err(), "{line}");
        }
    }

    #[test]
    fn broken_and_changed_lines_read_here_are_read_as_serde_json_reads_them() {
        // Lines changed at random (characters deleted, inserted from JSON's own, swapped):
        // whatever this reader answers, serde_json answers the same.
        let pool: Vec<char> = "{}[]:,\"\\ 09eE.+-tfnulxa中\u{1}\n".chars().collect();
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let mut read_here = 0;
        for _ in 0..30_000 {
            let mut line: Vec<char> = READ_HERE[next(READ_HERE.len())].chars().collect();
            for _ in 0..1 + next(3) {
                let at = next(line.len() + 1);
                match next(3) {
                    0 if at < line.len() => {
                        line.remove(at);
                    }
                    1 if at + 1 < line.len() => line.swap(at, at + 1),
                    _ => line.insert(at, pool[next(pool.len())]),
                }
            }
            let line: String = line.into_iter().collect();
            read_here += usize::from(answered_as_serde(&line));
        }
        // Some changes leave valid JSON (a space, a digit inside a string): those are read here.
        assert!(read_here > 3_000, "{read_here}");
    }
}
