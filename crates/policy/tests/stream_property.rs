//! The streaming scanner finds exactly what scanning the whole text finds, whatever the chunks:
//! random texts over an alphabet rich in what normalization changes (case, full width,
//! zero-width characters, combining marks, whitespace runs, Traditional characters) and in the
//! written forms used to evade a filter (variation selectors, tag characters, look-alike
//! letters, marks on Latin letters, joiners, plurals, letters spaced out, Chinese split by
//! punctuation, leetspeak), cut at random places, seeded so that a failure reproduces.

use std::ops::Range;

mod support;

use assay_policy::{NormalizeOptions, Policy, PolicyBuilder};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const PIECES: &[&str] = &[
    "，",
    "。",
    "、",
    "！？",
    "（：；）",
    "～",
    "，\u{0301}",
    "、\u{0301}",
    "。\u{200B}",
    "。\u{200B}\u{0301}",
    "＂＇＼",
    "\u{3000}",
    "bomb",
    "BOMB",
    "ｂｏｍｂ",
    "bo\u{200B}mb",
    "make a bomb",
    "make  a\tbomb",
    "炸弹",
    "炸彈",
    "炸\u{200D}弹",
    "e\u{0301}",
    "é",
    "kill",
    "kill a process",
    "a",
    "b",
    " ",
    "  ",
    "\n",
    "x",
    "。",
    "，",
    "ﬁ",
    "①",
    "gun",
    "枪支",
    "槍支",
    "\u{FEFF}",
    "\u{3000}",
    "\u{00A0}",
    "ＡＢ",
    "\u{0301}",
    "ab",
    "s",
    "中华人民共和国",
    "Hello World",
    "\u{4DC0}",
    "zzzzzzzzzz",
    // Evasions and their pieces.
    "bo\u{FE0F}mb",
    "\u{FE0F}",
    "\u{E0061}",
    "\u{E0100}",
    "\u{180B}",
    "\u{3164}",
    "n\u{0430}palm",
    "\u{0430}",
    "\u{039D}\u{0391}",
    "nápálm",
    "n\u{0301}apalm",
    "\u{20E3}",
    "napalm",
    "pipe bomb",
    "pipe-bomb",
    "pipe_bomb",
    "pipe.bombs",
    "bombs",
    "es",
    "-",
    "_",
    ".",
    "N A P A L M",
    "n.a.p.a.l.m",
    "n-a-p",
    " a ",
    "p i p e b o m b",
    "s a r i n",
    "自 制 炸 弹",
    "自制·炸弹",
    "自制，炸弹",
    "自制",
    "炸弹",
    "·",
    " , ",
    "n4p4lm",
    "4",
    "0",
    "zhadan",
    "zi zhi zha dan",
];

fn policy(options: NormalizeOptions) -> Policy {
    let mut b = PolicyBuilder::new();
    let c = b.category("c");
    b.add_terms(
        [
            "bomb",
            "make a bomb",
            "炸弹",
            "kill",
            "枪支",
            "fi1",
            "é",
            "napalm",
            "pipe bomb",
            "自制炸弹",
            "sarin",
            "ab",
        ],
        c,
    );
    b.allow_terms(["kill a process", "bomb calorimeter"]);
    b.set_normalize(options);
    b.build().unwrap()
}

/// The option sets the property runs under: the defaults, Traditional → Simplified,
/// leetspeak with pinyin, and every other form off.
fn option_sets() -> Vec<NormalizeOptions> {
    vec![
        NormalizeOptions::default(),
        NormalizeOptions {
            traditional_to_simplified: true,
            ..NormalizeOptions::default()
        },
        NormalizeOptions {
            leetspeak: true,
            pinyin: true,
            traditional_to_simplified: true,
            ..NormalizeOptions::default()
        },
        support::default_forms_off(),
    ]
}

fn hits_chunked(p: &Policy, text: &str, cuts: &[usize]) -> Vec<(Range<usize>, String)> {
    let mut s = p.stream();
    let mut v = Vec::new();
    let mut last = 0;
    for &c in cuts {
        v.extend(s.feed(&text[last..c]));
        last = c;
    }
    v.extend(s.feed(&text[last..]));
    v.extend(s.finish());
    let mut v: Vec<_> = v.into_iter().map(|h| (h.range, h.rule)).collect();
    support::sort_by_end(&mut v);
    v
}

#[test]
fn chunked_equals_whole() {
    for (set, options) in option_sets().into_iter().enumerate() {
        let p = policy(options);
        let mut rng = StdRng::seed_from_u64(20261128);
        for case in 0..400 {
            let n = rng.gen_range(1..60);
            let text: String = (0..n)
                .map(|_| PIECES[rng.gen_range(0..PIECES.len())])
                .collect();
            let boundaries: Vec<usize> = (1..text.len())
                .filter(|&i| text.is_char_boundary(i))
                .collect();
            let mut cuts: Vec<usize> = boundaries
                .iter()
                .copied()
                .filter(|_| rng.gen_bool(0.3))
                .collect();
            cuts.dedup();
            let whole = support::scan_sorted(&p, &text);
            let chunked = hits_chunked(&p, &text, &cuts);
            assert_eq!(
                chunked, whole,
                "case {case} (options {set}): {text:?} cut at {cuts:?}"
            );
        }
    }
}

/// Each evasion inside random text, cut at every character boundary of the evasion (one cut
/// at a time): streamed equals whole, under every option set.
#[test]
fn every_cut_through_an_evasion() {
    let evasions = [
        "na\u{FE0F}palm",
        "n\u{0430}palm",
        "n\u{0301}apalm",
        "pipe-bombs",
        "N A P A L M s",
        "n.a.p.a.l.m",
        "p i p e b o m b",
        "自 制，炸 弹",
        "自制·炸弹",
        "n4p4lm",
        "zi-zhi zhadan",
    ];
    let mut rng = StdRng::seed_from_u64(13);
    for options in option_sets() {
        let p = policy(options);
        for evasion in evasions {
            for _ in 0..3 {
                let around = |rng: &mut StdRng| -> String {
                    (0..rng.gen_range(0..4))
                        .map(|_| PIECES[rng.gen_range(0..PIECES.len())])
                        .collect()
                };
                let (before, after) = (around(&mut rng), around(&mut rng));
                let text = format!("{before}{evasion}{after}");
                let whole = support::scan_sorted(&p, &text);
                for cut in before.len()..=before.len() + evasion.len() {
                    if cut == 0 || cut >= text.len() || !text.is_char_boundary(cut) {
                        continue;
                    }
                    assert_eq!(
                        hits_chunked(&p, &text, &[cut]),
                        whole,
                        "{text:?} cut at {cut} ({options:?})"
                    );
                }
            }
        }
    }
}

#[test]
fn fast_normalization_equals_the_mapped_one() {
    use assay_policy::Normalizer;
    let mut rng = StdRng::seed_from_u64(7);
    for bits in 0..128 {
        let (t2s, case_fold, fold_whitespace) = (bits & 1 != 0, bits & 2 != 0, bits & 4 != 0);
        let n = Normalizer::new(NormalizeOptions {
            traditional_to_simplified: t2s,
            case_fold,
            fold_whitespace,
            confusables: bits & 8 != 0,
            strip_marks: bits & 16 != 0,
            nfkc: bits & 32 == 0,
            full_width: bits & 64 == 0,
            ..NormalizeOptions::default()
        });
        for _ in 0..1000 {
            let k = rng.gen_range(1..40);
            let text: String = (0..k)
                .map(|_| PIECES[rng.gen_range(0..PIECES.len())])
                .collect();
            assert_eq!(n.normalize_text(&text), n.normalize(&text).text, "{text:?}");
        }
    }
}
