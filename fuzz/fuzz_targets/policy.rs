//! The normalizer and matcher must never panic, every hit must map back to a valid range of
//! the original text, streaming the text in chunks must find exactly what scanning it whole
//! finds, and the screening path (fast normalization, prefiltered search) must find the same
//! terms.
//!
//! The policy finds the written forms used to evade a filter (ignorable characters,
//! look-alikes, marks, joiners, plurals, spaced letters, split Chinese; leetspeak in the second
//! policy), so the fuzzer also drives the views and the wider stream window they need.
//!
//! Input layout: the first byte picks a chunk size for the streamed scan (low four bits) and
//! the policy (bit 4); the rest (as UTF-8, lossily) is the text.

#![no_main]

use std::sync::OnceLock;

use assay_policy::{NormalizeOptions, Policy, PolicyBuilder};
use libfuzzer_sys::fuzz_target;

fn build(options: NormalizeOptions) -> Policy {
    let mut b = PolicyBuilder::new();
    let c = b.category("c");
    b.add_terms(
        [
            "bomb", "make a bomb", "炸弹", "枪支", "kill", "é", "ﬁle", "a b", "napalm", "pipe bomb",
            "自制炸弹", "3d gun",
        ],
        c,
    );
    b.allow_terms(["kill a process", "bomb calorimeter"]);
    b.set_normalize(options);
    b.build().expect("the fuzz policy builds")
}

fn policy(second: bool) -> &'static Policy {
    static POLICIES: OnceLock<[Policy; 2]> = OnceLock::new();
    let policies = POLICIES.get_or_init(|| {
        [
            build(NormalizeOptions {
                traditional_to_simplified: true,
                ..NormalizeOptions::default()
            }),
            build(NormalizeOptions {
                leetspeak: true,
                ..NormalizeOptions::default()
            }),
        ]
    });
    &policies[usize::from(second)]
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let policy = policy(first & 0x10 != 0);
    let mut whole: Vec<_> = policy.scan(&text).into_iter().map(|h| (h.range, h.rule)).collect();
    for (range, _) in &whole {
        assert!(range.start < range.end && range.end <= text.len());
        assert!(text.is_char_boundary(range.start) && text.is_char_boundary(range.end));
    }
    let mut rules: Vec<String> = whole.iter().map(|(_, rule)| rule.clone()).collect();
    let mut fast: Vec<String> = policy.scan_fast(&text).into_iter().map(|h| h.rule).collect();
    rules.sort();
    fast.sort();
    assert_eq!(rules, fast);
    let step = usize::from(first % 16) + 1;
    let mut scanner = policy.stream();
    let mut streamed = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let mut end = (at + step).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        streamed.extend(scanner.feed(&text[at..end]));
        at = end;
    }
    streamed.extend(scanner.finish());
    let mut streamed: Vec<_> = streamed.into_iter().map(|h| (h.range, h.rule)).collect();
    let key = |h: &(std::ops::Range<usize>, String)| (h.0.end, h.0.start, h.1.clone());
    whole.sort_by_key(key);
    streamed.sort_by_key(key);
    assert_eq!(whole, streamed);
});
