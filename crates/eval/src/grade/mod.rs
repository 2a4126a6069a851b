//! Graders: functions from an answer to a label, each label carrying the rule that decided it
//! so a reader can audit every grade.

/// Graders read at most this many bytes of an answer (cut on a character boundary): every
/// rule looks at how an answer opens, and a flood of text (a 50 MB answer took 99 s and
/// 1.1 GB to grade) must not cost more than this prefix does.
pub const GRADE_PREFIX_BYTES: usize = 64 * 1024;

/// The first `max` bytes of `text`, or fewer, ending on a character boundary.
pub fn prefix(text: &str, max: usize) -> &str {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// What the graders read of `answer`.
pub fn graded(answer: &str) -> &str {
    prefix(answer, GRADE_PREFIX_BYTES)
}

pub mod canned;
pub mod judge;
pub mod mcq;
pub mod refusal;
