//! The SSE parser must give the same events however its input is chunked, must never panic,
//! and must never produce an event that the wire format could not have expressed.
//!
//! Input layout: the first byte chooses where the input is split and the chunk size of a
//! second, fine-grained feed; the rest is the stream.

#![no_main]

use assay_models::sse::{SseEvent, SseParser};
use libfuzzer_sys::fuzz_target;

/// Events from the pushes (up to the first error), whether one failed, and `finish()`.
type Outcome = (Vec<SseEvent>, bool, Option<SseEvent>);

fn run<'a>(chunks: impl Iterator<Item = &'a [u8]>, max: usize) -> Outcome {
    let mut parser = SseParser::with_max_event_size(max);
    let mut events = Vec::new();
    for chunk in chunks {
        match parser.push(chunk) {
            Ok(evs) => events.extend(evs),
            Err(_) => return (events, true, None),
        }
    }
    (events, false, parser.finish())
}

fn check_event(e: &SseEvent) {
    // CR and LF end lines, so no field can carry them, except the LF that joins data lines.
    assert!(!e.data.contains('\r'), "{e:?}");
    for field in [&e.event, &e.id].into_iter().flatten() {
        assert!(!field.contains(['\r', '\n']), "{e:?}");
        assert!(
            !field.is_empty(),
            "empty fields are reported as None: {e:?}"
        );
    }
    assert!(!e.id.as_deref().unwrap_or("").contains('\0'), "{e:?}");
}

fuzz_target!(|input: &[u8]| {
    let Some((&control, stream)) = input.split_first() else {
        return;
    };
    let split = usize::from(control) * (stream.len() + 1) / 256;
    let step = 1 + usize::from(control % 7);

    for max in [
        assay_models::sse::DEFAULT_MAX_EVENT_SIZE,
        1 + usize::from(control % 64),
    ] {
        let whole = run(std::iter::once(stream), max);
        let (head, tail) = stream.split_at(split);
        let halves = run([head, tail].into_iter(), max);
        let small = run(stream.chunks(step), max);

        // Whether the size bound trips may not depend on chunking; which events came out before
        // it did may (push drops the events of the chunk that failed), so compare them only on
        // success.
        assert_eq!(whole.1, halves.1, "failure differs, split at {split}");
        assert_eq!(whole.1, small.1, "failure differs, chunks of {step}");
        if !whole.1 {
            assert_eq!(whole, halves, "split at {split}");
            assert_eq!(whole, small, "chunks of {step}");
        }
        for e in whole
            .0
            .iter()
            .chain(&halves.0)
            .chain(&small.0)
            .chain(whole.2.iter())
        {
            check_event(e);
        }
    }
});
