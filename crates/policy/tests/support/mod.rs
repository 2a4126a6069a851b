//! Shared by the policy tests that compare the hits of different paths.

use std::ops::Range;

use assay_policy::{NormalizeOptions, Policy};

/// Hits as `(range, rule)`.
pub type Found = Vec<(Range<usize>, String)>;

/// Orders found hits by end, then start, then rule: the order every path can agree on.
pub fn sort_by_end(found: &mut Found) {
    found.sort_by(|a, b| (a.0.end, a.0.start, &a.1).cmp(&(b.0.end, b.0.start, &b.1)));
}

/// The hits of scanning `text` whole, ordered by [`sort_by_end`].
pub fn scan_sorted(policy: &Policy, text: &str) -> Found {
    let mut found: Found = policy
        .scan(text)
        .into_iter()
        .map(|h| (h.range, h.rule))
        .collect();
    sort_by_end(&mut found);
    found
}

/// The options with every form that is on by default turned off.
pub fn default_forms_off() -> NormalizeOptions {
    NormalizeOptions {
        confusables: false,
        strip_marks: false,
        joiners: false,
        plurals: false,
        spaced_letters: false,
        split_cjk: false,
        ..NormalizeOptions::default()
    }
}
