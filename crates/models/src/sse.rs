//! Incremental Server-Sent Events parser, following the WHATWG "event stream interpretation"
//! rules (<https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation>).
//!
//! Bytes may be fed in chunks split anywhere: inside a UTF-8 sequence, inside the leading BOM,
//! or between the `\r` and `\n` of a CRLF. The result never depends on where the splits fall.
//!
//! Deviations and choices, all deliberate:
//! * Invalid UTF-8 is replaced with U+FFFD, as the spec's "UTF-8 decode" does; it is not an error.
//!   Lines are decoded one at a time, which gives the same result as decoding the whole stream
//!   because `\r` and `\n` can never be part of a multi-byte sequence.
//! * Memory is bounded: the non-comment lines of one event (plus the line being read) may hold at
//!   most [`DEFAULT_MAX_EVENT_SIZE`] bytes, or what [`SseParser::with_max_event_size`] says.
//!   Comment lines are skipped without being buffered, so endless keep-alives cost nothing.
//! * `retry:` is parsed and exposed through [`SseParser::retry`] but never acted on here.

use std::time::Duration;

/// Default bound on one event, see [`SseParser::with_max_event_size`].
pub const DEFAULT_MAX_EVENT_SIZE: usize = 16 * 1024 * 1024;

const BOM: &[u8; 3] = b"\xEF\xBB\xBF";

/// One dispatched event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field; `None` when absent or empty, which the spec calls type `message`.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The last event ID *at the time of dispatch*. As the spec says, it is sticky: an `id:` seen
    /// in one event also applies to the following ones until another `id:` changes it. An empty
    /// `id:` resets it to `None`.
    pub id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    /// An event grew past the configured bound. The parser is unusable afterwards: the stream
    /// cannot be resynchronised safely, and callers abandon it anyway.
    #[error("server-sent event larger than {limit} bytes")]
    EventTooLarge { limit: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineState {
    /// At the start of a line; the first byte decides whether it is a comment.
    Start,
    /// Inside a field line; its bytes are in `line`.
    Field,
    /// Inside a comment line; its bytes are dropped as they come.
    Comment,
}

#[derive(Debug, Clone)]
pub struct SseParser {
    max_event_size: usize,
    /// How many bytes of the BOM have matched so far; `None` once the stream start is behind us.
    bom_matched: Option<usize>,
    /// The previous chunk ended with `\r`, so a `\n` opening the next one belongs to it.
    after_cr: bool,
    line_state: LineState,
    line: Vec<u8>,
    /// Bytes of the complete non-comment lines of the current event.
    event_bytes: usize,
    data: String,
    event_type: String,
    last_event_id: String,
    /// Whether anything other than comments and blank lines arrived since the last dispatch.
    fields_pending: bool,
    retry: Option<u64>,
    failed: Option<SseError>,
}

impl Default for SseParser {
    fn default() -> Self {
        Self::new()
    }
}

impl SseParser {
    pub fn new() -> Self {
        Self::with_max_event_size(DEFAULT_MAX_EVENT_SIZE)
    }

    /// A parser that fails once one event's non-comment lines add up to more than `max` bytes
    /// (line terminators not counted). A hostile or broken server can then not make us buffer
    /// without bound by never sending the blank line that ends an event.
    pub fn with_max_event_size(max: usize) -> Self {
        SseParser {
            max_event_size: max,
            bom_matched: Some(0),
            after_cr: false,
            line_state: LineState::Start,
            line: Vec::new(),
            event_bytes: 0,
            data: String::new(),
            event_type: String::new(),
            last_event_id: String::new(),
            fields_pending: false,
            retry: None,
            failed: None,
        }
    }

    /// Feeds the next bytes of the stream and returns the events they complete, in order.
    ///
    /// On error, events completed earlier in the same chunk are dropped and every later call
    /// fails again: the stream is broken and must be abandoned.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<SseEvent>, SseError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let mut out = Vec::new();
        let mut rest = bytes;
        if let Some(matched) = self.bom_matched {
            rest = self.skip_bom(matched, rest, &mut out)?;
        }
        self.feed(rest, &mut out)?;
        Ok(out)
    }

    /// Ends the stream. Per the spec an event not closed by a blank line is discarded; it is
    /// returned here (if it has data and so would have been dispatched) so that the caller can
    /// tell a clean end from a cut one and decide what to do with it. Its last line may be
    /// truncated. The parser is reset to its initial state, except for the last event ID and
    /// `retry`, which outlive a connection.
    pub fn finish(&mut self) -> Option<SseEvent> {
        if self.failed.is_some() {
            return None;
        }
        let mut out = Vec::new();
        // A BOM prefix cut short is data, not a BOM.
        if let Some(matched) = self.bom_matched.take() {
            if matched > 0 && self.feed(&BOM[..matched], &mut out).is_err() {
                return None;
            }
        }
        // The pending line is taken as if it were terminated; an event needs a blank line too,
        // so nothing can be dispatched into `out` here.
        if self.line_state == LineState::Field {
            let line = std::mem::take(&mut self.line);
            self.process_line(&line);
        }
        let event = (!self.data.is_empty()).then(|| self.take_event());
        let last_event_id = std::mem::take(&mut self.last_event_id);
        *self = SseParser {
            last_event_id,
            retry: self.retry,
            ..Self::with_max_event_size(self.max_event_size)
        };
        event
    }

    /// Whether bytes of an unfinished event (or of an unfinished line) are buffered, i.e.
    /// whether ending the stream now would cut something off.
    pub fn has_pending(&self) -> bool {
        self.fields_pending
            || self.line_state != LineState::Start
            || self.bom_matched.is_some_and(|m| m > 0)
    }

    /// The reconnection time the server last asked for with `retry:`.
    pub fn retry(&self) -> Option<Duration> {
        self.retry.map(Duration::from_millis)
    }

    /// Consumes what of the UTF-8 BOM `bytes` continues; returns the bytes after it.
    fn skip_bom<'a>(
        &mut self,
        mut matched: usize,
        bytes: &'a [u8],
        out: &mut Vec<SseEvent>,
    ) -> Result<&'a [u8], SseError> {
        let mut rest = bytes;
        while let Some((&b, tail)) = rest.split_first() {
            if b != BOM[matched] {
                // Not a BOM after all: what looked like its start is ordinary content.
                self.bom_matched = None;
                self.feed(&BOM[..matched], out)?;
                return Ok(rest);
            }
            matched += 1;
            rest = tail;
            if matched == BOM.len() {
                self.bom_matched = None;
                return Ok(rest);
            }
        }
        self.bom_matched = Some(matched);
        Ok(rest)
    }

    fn feed(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) -> Result<(), SseError> {
        let mut rest = bytes;
        if self.after_cr && !rest.is_empty() {
            self.after_cr = false;
            if let Some(tail) = rest.strip_prefix(b"\n") {
                rest = tail;
            }
        }
        while !rest.is_empty() {
            let end = rest.iter().position(|&b| b == b'\r' || b == b'\n');
            let (content, terminator) = match end {
                Some(i) => (&rest[..i], Some(rest[i])),
                None => (rest, None),
            };
            if self.line_state == LineState::Start {
                match content.first() {
                    Some(b':') => self.line_state = LineState::Comment,
                    Some(_) => self.line_state = LineState::Field,
                    None => {}
                }
            }
            if self.line_state == LineState::Field {
                self.check_size(self.line.len() + content.len())?;
                self.line.extend_from_slice(content);
            }
            let Some(term) = terminator else { break };
            rest = &rest[content.len() + 1..];
            if term == b'\r' {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            match self.line_state {
                LineState::Start => self.dispatch(out),
                LineState::Comment => {}
                LineState::Field => {
                    let line = std::mem::take(&mut self.line);
                    self.event_bytes += line.len();
                    self.process_line(&line);
                    // Keep the allocation for the next line.
                    self.line = line;
                    self.line.clear();
                }
            }
            self.line_state = LineState::Start;
        }
        Ok(())
    }

    fn check_size(&mut self, line_len: usize) -> Result<(), SseError> {
        if self.event_bytes.saturating_add(line_len) > self.max_event_size {
            let e = SseError::EventTooLarge {
                limit: self.max_event_size,
            };
            self.failed = Some(e.clone());
            // Free what the oversized event held; the parser is dead anyway.
            self.line = Vec::new();
            self.data = String::new();
            return Err(e);
        }
        Ok(())
    }

    /// Applies one complete, non-empty, non-comment line.
    fn process_line(&mut self, line: &[u8]) {
        self.fields_pending = true;
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(i) => {
                let value = &line[i + 1..];
                (&line[..i], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                self.data.push_str(&String::from_utf8_lossy(value));
                self.data.push('\n');
            }
            b"event" => self.event_type = String::from_utf8_lossy(value).into_owned(),
            // The spec ignores IDs containing NUL, so that they can be sent in a header.
            b"id" if !value.contains(&0) => {
                self.last_event_id = String::from_utf8_lossy(value).into_owned();
            }
            b"retry" => {
                // Only ASCII digits count; on overflow the spec has no rule, and ignoring the
                // field is the safe reading.
                let ms = value.iter().try_fold(0u64, |acc, &b| {
                    let digit = b.is_ascii_digit().then(|| u64::from(b - b'0'))?;
                    acc.checked_mul(10)?.checked_add(digit)
                });
                if let (false, Some(ms)) = (value.is_empty(), ms) {
                    self.retry = Some(ms);
                }
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        if self.data.is_empty() {
            // Events without data are not dispatched, but they still end here.
            self.event_type.clear();
            self.event_bytes = 0;
            self.fields_pending = false;
            return;
        }
        let event = self.take_event();
        out.push(event);
    }

    fn take_event(&mut self) -> SseEvent {
        let mut data = std::mem::take(&mut self.data);
        if data.ends_with('\n') {
            data.pop();
        }
        let event_type = std::mem::take(&mut self.event_type);
        self.event_bytes = 0;
        self.fields_pending = false;
        SseEvent {
            event: (!event_type.is_empty()).then_some(event_type),
            data,
            id: (!self.last_event_id.is_empty()).then(|| self.last_event_id.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> Vec<SseEvent> {
        let mut p = SseParser::new();
        p.push(input).expect("within the size bound")
    }

    fn data(events: &[SseEvent]) -> Vec<&str> {
        events.iter().map(|e| e.data.as_str()).collect()
    }

    fn ev(event: Option<&str>, data: &str, id: Option<&str>) -> SseEvent {
        SseEvent {
            event: event.map(Into::into),
            data: data.into(),
            id: id.map(Into::into),
        }
    }

    #[test]
    fn simple_events() {
        let events = parse_all(b"data: one\n\ndata: two\n\n");
        assert_eq!(data(&events), ["one", "two"]);
        assert_eq!(events[0], ev(None, "one", None));
    }

    #[test]
    fn multi_line_data_is_joined_with_newlines() {
        let events = parse_all(b"data: {\"a\":\ndata: 1}\ndata:\n\n");
        assert_eq!(data(&events), ["{\"a\":\n1}\n"]);
    }

    #[test]
    fn comments_are_ignored() {
        let events = parse_all(b": keep-alive\n\n:\ndata: x\n: inside\ndata: y\n\n: trailing\n\n");
        assert_eq!(data(&events), ["x\ny"]);
    }

    #[test]
    fn every_line_ending() {
        let cases: [(&[u8], &str); 5] = [
            (b"data: a\r\ndata: b\r\n\r\n", "a\nb"),
            (b"data: a\rdata: b\r\r", "a\nb"),
            (b"data: a\ndata: b\n\n", "a\nb"),
            // Mixed endings in one event; CR LF is one terminator, LF CR is two.
            (b"data: a\r\ndata: b\rdata: c\n\r", "a\nb\nc"),
            (b"data: a\n\r", "a"),
        ];
        for (input, want) in cases {
            assert_eq!(
                data(&parse_all(input)),
                [want],
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
        // CR LF ends one line only, so no event is dispatched yet.
        assert_eq!(parse_all(b"data: a\r\n"), Vec::<SseEvent>::new());
    }

    #[test]
    fn leading_bom_is_skipped_once() {
        let events = parse_all(b"\xEF\xBB\xBFdata: a\n\n");
        assert_eq!(data(&events), ["a"]);
        // A second BOM is part of the field name, which is then unknown.
        let events = parse_all(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\ndata: b\n\n");
        assert_eq!(data(&events), ["b"]);
        // A BOM split over pushes.
        let mut p = SseParser::new();
        assert!(p.push(b"\xEF").unwrap().is_empty());
        assert!(p.push(b"\xBB").unwrap().is_empty());
        assert_eq!(data(&p.push(b"\xBFdata: c\n\n").unwrap()), ["c"]);
    }

    #[test]
    fn broken_bom_prefix_is_content() {
        // EF BB then 'd': the two bytes start the first line, which becomes an unknown field.
        let events = parse_all(b"\xEF\xBBdata: a\n\ndata: b\n\n");
        assert_eq!(data(&events), ["b"]);
        let mut p = SseParser::new();
        p.push(b"\xEF\xBB").unwrap();
        assert!(p.has_pending());
        assert_eq!(p.finish(), None);
    }

    #[test]
    fn field_without_colon_and_space_handling() {
        // `data` alone appends an empty line; only one space after the colon is stripped.
        let events = parse_all(b"data\ndata:  two spaces\ndata:none\n\n");
        assert_eq!(data(&events), ["\n two spaces\nnone"]);
        // A colon in the value is kept.
        assert_eq!(data(&parse_all(b"data: a:b\n\n")), ["a:b"]);
    }

    #[test]
    fn events_without_data_are_not_dispatched() {
        let events = parse_all(b"event: ping\n\nid: 7\n\nretry: 10\n\ndata: x\n\n");
        // The event type does not leak into the next event; the ID does (it is sticky).
        assert_eq!(events, vec![ev(None, "x", Some("7"))]);
        // `data:` with an empty value is data.
        assert_eq!(parse_all(b"data:\n\n"), vec![ev(None, "", None)]);
    }

    #[test]
    fn event_type_and_id() {
        let events = parse_all(
            b"event: delta\nid: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\nid: x\0y\ndata: d\n\n",
        );
        assert_eq!(
            events,
            vec![
                ev(Some("delta"), "a", Some("1")),
                ev(None, "b", Some("1")),
                ev(None, "c", None),
                ev(None, "d", None)
            ]
        );
        // An empty `event:` means the default type.
        assert_eq!(parse_all(b"event:\ndata: a\n\n"), vec![ev(None, "a", None)]);
    }

    #[test]
    fn retry_field() {
        let mut p = SseParser::new();
        p.push(b"retry: 1500\n\nretry: 12x\n\nretry: 99999999999999999999999\n\n")
            .unwrap();
        assert_eq!(p.retry(), Some(Duration::from_millis(1500)));
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let events = parse_all(b"data: a\xFFb\xF0\x9F\n\ndata: \xF0\x9F\x98\x80\n\n");
        assert_eq!(data(&events), ["a\u{FFFD}b\u{FFFD}", "\u{1F600}"]);
    }

    #[test]
    fn finish_reports_unterminated_event() {
        let mut p = SseParser::new();
        assert!(!p.has_pending());
        assert_eq!(p.push(b"data: a\n\ndata: [DONE]").unwrap().len(), 1);
        assert!(p.has_pending());
        assert_eq!(p.finish(), Some(ev(None, "[DONE]", None)));
        assert!(!p.has_pending());
        assert_eq!(p.finish(), None);

        // A line terminated but the event not: still reported.
        let mut p = SseParser::new();
        p.push(b"id: 3\ndata: a\n").unwrap();
        assert_eq!(p.finish(), Some(ev(None, "a", Some("3"))));

        // Pending bytes without data: nothing to report, but has_pending says so.
        let mut p = SseParser::new();
        p.push(b"event: x\n").unwrap();
        assert!(p.has_pending());
        assert_eq!(p.finish(), None);

        // Comments only: a clean end.
        let mut p = SseParser::new();
        p.push(b": ping\n\n: ping\n").unwrap();
        assert!(!p.has_pending());
        assert_eq!(p.finish(), None);
        // An unterminated comment is pending bytes, but no event.
        p.push(b": pi").unwrap();
        assert!(p.has_pending());
        assert_eq!(p.finish(), None);
    }

    #[test]
    fn event_size_is_bounded() {
        let mut p = SseParser::with_max_event_size(16);
        // Exactly at the bound is fine: 8 + 8 bytes.
        assert_eq!(
            data(&p.push(b"data: ab\ndata: cd\n\n").unwrap()),
            ["ab\ncd"]
        );
        // The bound is per event.
        assert_eq!(
            data(&p.push(b"data: ab\ndata: cd\n\n").unwrap()),
            ["ab\ncd"]
        );
        // Over it across lines of one event.
        assert_eq!(
            p.push(b"data: ab\ndata: cde\n\n"),
            Err(SseError::EventTooLarge { limit: 16 })
        );
        // The parser stays failed.
        assert!(p.push(b"data: a\n\n").is_err());

        // A line that never ends fails as soon as it is too long, without waiting for its end.
        let mut p = SseParser::with_max_event_size(16);
        p.push(b"data: 0123456789").unwrap();
        assert!(p.push(b"x").is_err());

        // Comments cost nothing, however long.
        let mut p = SseParser::with_max_event_size(16);
        let mut input = b":".to_vec();
        input.extend(std::iter::repeat_n(b'x', 1000));
        input.extend_from_slice(b"\ndata: ok\n\n");
        assert_eq!(data(&p.push(&input).unwrap()), ["ok"]);
    }

    /// Feeds `input` split at every position set in `splits` (one push per piece).
    fn parse_split(
        input: &[u8],
        cuts: &[usize],
        max: usize,
    ) -> (Result<Vec<SseEvent>, SseError>, Option<SseEvent>) {
        let mut p = SseParser::with_max_event_size(max);
        let mut events = Vec::new();
        let mut start = 0;
        for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
            match p.push(&input[start..cut]) {
                Ok(evs) => events.extend(evs),
                Err(e) => return (Err(e), None),
            }
            start = cut;
        }
        (Ok(events), p.finish())
    }

    const TRICKY: &[u8] = b"\xEF\xBB\xBF: hello\r\nevent: a\r\ndata: x\xF0\x9F\x98\x80y\r\n\r\ndata\rdata:  z\r\r\
        id: 5\ndata:{\"k\":\ndata: 1}\n\n:ka\n\nretry: 3\nevent\ndata: \xE2\x82\xAC\r\n\r\ndata: tail\r";

    #[test]
    fn splitting_anywhere_gives_the_same_events() {
        let (whole, whole_rest) = parse_split(TRICKY, &[], DEFAULT_MAX_EVENT_SIZE);
        let whole = whole.unwrap();
        assert_eq!(
            data(&whole),
            ["x\u{1F600}y", "\n z", "{\"k\":\n1}", "\u{20AC}"]
        );
        assert_eq!(whole_rest.as_ref().map(|e| e.data.as_str()), Some("tail"));
        for i in 0..=TRICKY.len() {
            assert_eq!(
                parse_split(TRICKY, &[i], DEFAULT_MAX_EVENT_SIZE),
                (Ok(whole.clone()), whole_rest.clone()),
                "split at {i}"
            );
            for j in i..=TRICKY.len() {
                assert_eq!(
                    parse_split(TRICKY, &[i, j], DEFAULT_MAX_EVENT_SIZE)
                        .0
                        .as_ref(),
                    Ok(&whole),
                    "split at {i}, {j}"
                );
            }
        }
        // Byte by byte.
        let every: Vec<usize> = (1..TRICKY.len()).collect();
        assert_eq!(
            parse_split(TRICKY, &every, DEFAULT_MAX_EVENT_SIZE),
            (Ok(whole), whole_rest)
        );
    }

    #[test]
    fn size_errors_do_not_depend_on_splitting() {
        for max in 0..40 {
            let whole_failed = parse_split(TRICKY, &[], max).0.is_err();
            for i in 0..=TRICKY.len() {
                assert_eq!(
                    parse_split(TRICKY, &[i], max).0.is_err(),
                    whole_failed,
                    "max {max}, split at {i}"
                );
            }
        }
    }
}
