//! The streaming scanner finds exactly what scanning the whole text finds, whatever the chunks:
//! random texts over an alphabet rich in what normalization changes (case, full width,
//! zero-width characters, combining marks, whitespace runs, Traditional characters), cut at
//! random places, seeded so that a failure reproduces.

use std::ops::Range;

use assay_policy::{NormalizeOptions, Policy, PolicyBuilder};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const PIECES: &[&str] = &[
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
];

fn policy(t2s: bool) -> Policy {
    let mut b = PolicyBuilder::new();
    let c = b.category("c");
    b.add_terms(
        ["bomb", "make a bomb", "炸弹", "kill", "枪支", "fi1", "é"],
        c,
    );
    b.allow_terms(["kill a process"]);
    b.set_normalize(NormalizeOptions {
        traditional_to_simplified: t2s,
        ..NormalizeOptions::default()
    });
    b.build().unwrap()
}

fn hits_whole(p: &Policy, text: &str) -> Vec<(Range<usize>, String)> {
    let mut v: Vec<_> = p
        .scan(text)
        .into_iter()
        .map(|h| (h.range, h.rule))
        .collect();
    v.sort_by(|a, b| (a.0.end, a.0.start, &a.1).cmp(&(b.0.end, b.0.start, &b.1)));
    v
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
    v.sort_by(|a, b| (a.0.end, a.0.start, &a.1).cmp(&(b.0.end, b.0.start, &b.1)));
    v
}

#[test]
fn chunked_equals_whole() {
    for t2s in [false, true] {
        let p = policy(t2s);
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
            let whole = hits_whole(&p, &text);
            let chunked = hits_chunked(&p, &text, &cuts);
            assert_eq!(
                chunked, whole,
                "case {case} (t2s {t2s}): {text:?} cut at {cuts:?}"
            );
        }
    }
}

#[test]
fn fast_normalization_equals_the_mapped_one() {
    use assay_policy::Normalizer;
    let mut rng = StdRng::seed_from_u64(7);
    for bits in 0..8 {
        let (t2s, case_fold, fold_whitespace) = (bits & 1 != 0, bits & 2 != 0, bits & 4 != 0);
        let n = Normalizer::new(NormalizeOptions {
            traditional_to_simplified: t2s,
            case_fold,
            fold_whitespace,
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
