//! Written forms used to slip a listed term past a filter (issue 13, guard evasion): each is
//! found by the example pack's policy whole, by the screening path, and streamed, cut at every
//! character boundary — and in both of the guard's modes: with hold-back, the settled point
//! (what the guard may show) never passes the start of a hit before it is reported; with
//! retraction, the hit is reported by the end of the stream.

use std::ops::Range;

mod support;

use assay_policy::{NormalizeOptions, Policy, PolicyBuilder};

/// (text, the term it must hit)
const EVASIONS: &[(&str, &str)] = &[
    // Default-ignorable code points: variation selectors, tag characters, soft hyphen,
    // zero-width joiners, a Mongolian variation selector, a Hangul filler.
    ("how to make na\u{FE0F}palm at home", "napalm"),
    ("na\u{E0070}\u{E0061}palm", "napalm"),
    ("nap\u{00AD}alm", "napalm"),
    ("n\u{200D}a\u{200C}p\u{2060}a\u{180B}l\u{3164}m", "napalm"),
    ("pipe bo\u{FE0F}mb", "pipe bomb"),
    ("sa\u{E0100}rin", "sarin"),
    // Look-alikes: Cyrillic а, Greek capitals, Cyrillic і and о.
    ("n\u{0430}palm", "napalm"),
    ("\u{039D}\u{0391}\u{03A1}\u{0391}L\u{039C}", "napalm"),
    ("sar\u{0456}n gas", "sarin"),
    ("pipe b\u{043E}mb", "pipe bomb"),
    // Combining marks on Latin letters, precomposed or not.
    ("nápálm", "napalm"),
    ("n\u{0301}apalm", "napalm"),
    ("ña\u{0308}pa\u{0323}lm", "napalm"),
    // Inflections and joiners.
    ("three pipe bombs", "pipe bomb"),
    ("a pipe-bomb", "pipe bomb"),
    ("pipe_bomb", "pipe bomb"),
    ("pipe.bomb", "pipe bomb"),
    ("Pipe-Bombs!", "pipe bomb"),
    ("nail bombes", "nail bomb"),
    // Letters spaced out.
    ("N A P A L M", "napalm"),
    ("make n.a.p.a.l.m.", "napalm"),
    ("n-a-p-a-l-m", "napalm"),
    ("n_a_p_a_l_m", "napalm"),
    ("p i p e b o m b", "pipe bomb"),
    ("s a r i n s", "sarin"),
    // Chinese split by spaces or punctuation.
    ("自 制 炸 弹", "自制炸弹"),
    ("自制·炸弹", "自制炸弹"),
    ("自制，炸弹", "自制炸弹"),
    ("怎么自制 , 炸弹？", "自制炸弹"),
    ("自\u{200B}制。炸\u{FE0F}弹", "自制炸弹"),
    ("自製炸彈", "自制炸弹"),
];

/// Text that must stay clean.
const CLEAN: &[&str] = &[
    "the pipeline bombed at launch",
    "pipes, bombast and palms",
    "a b c d e f",
    "I a m not here",
    "napalmy",
    "自制的炸弹",
    "自制了 炸弹",
    "nap alm",
    "sari n",
    "zhadan",
    "n4p4lm",
];

fn example() -> Policy {
    Policy::builtin("example").expect("the example pack loads")
}

fn rules(policy: &Policy, text: &str) -> Vec<String> {
    policy.scan(text).into_iter().map(|h| h.rule).collect()
}

/// Streams `text` cut at `cuts`, checking the hold-back contract after every chunk; answers
/// the hits reported.
fn streamed(policy: &Policy, text: &str, cuts: &[usize]) -> Vec<(Range<usize>, String)> {
    let whole = policy.scan(text);
    let mut scanner = policy.stream();
    let mut reported: Vec<(Range<usize>, String)> = Vec::new();
    let mut last = 0;
    for &cut in cuts.iter().chain(std::iter::once(&text.len())) {
        for hit in scanner.feed(&text[last..cut]) {
            reported.push((hit.range, hit.rule));
        }
        last = cut;
        let settled = scanner.settled_before();
        assert!(settled <= cut, "settled {settled} past the input {cut}");
        for hit in &whole {
            let done = reported
                .iter()
                .any(|(r, rule)| *r == hit.range && *rule == hit.rule);
            assert!(
                done || settled <= hit.range.start,
                "hold-back: {text:?} cut at {cuts:?}: settled {settled} passes {:?} ({}) before it was reported",
                hit.range,
                hit.rule
            );
        }
    }
    for hit in scanner.finish() {
        reported.push((hit.range, hit.rule));
    }
    support::sort_by_end(&mut reported);
    reported
}

/// Whole, screening path, and streamed cut at every boundary (one cut, then every
/// character apart), in both modes.
fn check_everywhere(policy: &Policy, text: &str, term: &str) {
    let whole = support::scan_sorted(policy, text);
    assert!(
        whole.iter().any(|(_, rule)| rule == term),
        "{text:?} must hit {term:?}; hits {whole:?}"
    );
    for (range, _) in &whole {
        assert!(
            range.start < range.end && range.end <= text.len(),
            "{range:?} in {text:?}"
        );
        assert!(text.is_char_boundary(range.start) && text.is_char_boundary(range.end));
    }
    let fast: Vec<String> = policy.scan_fast(text).into_iter().map(|h| h.rule).collect();
    assert!(
        fast.iter().any(|r| r == term),
        "screening {text:?}: {fast:?}"
    );
    let boundaries: Vec<usize> = (1..text.len())
        .filter(|&i| text.is_char_boundary(i))
        .collect();
    for &cut in &boundaries {
        assert_eq!(
            streamed(policy, text, &[cut]),
            whole,
            "{text:?} cut at {cut}"
        );
    }
    assert_eq!(
        streamed(policy, text, &boundaries),
        whole,
        "{text:?} a character at a time"
    );
}

#[test]
fn each_evasion_is_caught_whole_screened_and_streamed_in_both_modes() {
    let policy = example();
    for (text, term) in EVASIONS {
        check_everywhere(&policy, text, term);
        // Inside longer text too (the eight-byte fast paths see it then).
        let long = format!("Some words before it, and then {text} and some words after it.");
        check_everywhere(&policy, &long, term);
    }
}

#[test]
fn plain_text_stays_clean() {
    let policy = example();
    for text in CLEAN {
        assert_eq!(rules(&policy, text), Vec::<String>::new(), "{text:?}");
    }
}

#[test]
fn hit_ranges_cover_the_evasion() {
    let policy = example();
    let text = "x n.a.p.a.l.m y; pipe-bombs; 自 制，炸 弹!";
    let found: Vec<&str> = policy
        .scan(text)
        .iter()
        .map(|h| &text[h.range.clone()])
        .collect();
    assert_eq!(found, ["n.a.p.a.l.m", "pipe-bombs", "自 制，炸 弹"]);
}

fn with(options: NormalizeOptions) -> Policy {
    let mut b = PolicyBuilder::new();
    b.add_builtin_pack("example")
        .expect("the example pack loads");
    b.set_normalize(options);
    b.build().expect("builds")
}

#[test]
fn leetspeak_is_an_option() {
    let on = with(NormalizeOptions {
        leetspeak: true,
        ..NormalizeOptions::default()
    });
    for (text, term) in [
        ("n4p4lm", "napalm"),
        ("s4r1n", "sarin"),
        ("p1p3 b0mb5", "pipe bomb"),
    ] {
        check_everywhere(&on, text, term);
        assert_eq!(
            rules(&example(), text),
            Vec::<String>::new(),
            "off by default: {text:?}"
        );
    }
    // Terms with digits are still found as written.
    check_everywhere(&on, "a 3d printed gun", "3d printed gun");
}

#[test]
fn pinyin_is_an_option() {
    let on = with(NormalizeOptions {
        pinyin: true,
        traditional_to_simplified: true,
        ..NormalizeOptions::default()
    });
    for (text, term) in [
        ("zizhizhadan", "自制炸弹"),
        ("how to zi zhi zha dan", "自制炸弹"),
        ("Zi-Zhi-Zha-Dan", "自制炸弹"),
        ("z i z h i z h a d a n", "自制炸弹"),
    ] {
        check_everywhere(&on, text, term);
        assert_eq!(
            rules(&example(), text),
            Vec::<String>::new(),
            "off by default: {text:?}"
        );
    }
}

#[test]
fn each_form_can_be_turned_off() {
    let off = with(support::default_forms_off());
    for text in [
        "n\u{0430}palm",
        "nápálm",
        "pipe bombs",
        "pipe-bomb",
        "N A P A L M",
        "自 制 炸 弹",
    ] {
        assert_eq!(rules(&off, text), Vec::<String>::new(), "{text:?}");
    }
}
