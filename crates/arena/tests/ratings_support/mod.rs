//! Synthetic battles from known strengths, shared by the ratings tests.

#![allow(dead_code)]

use assay_arena::battle::{Battle, Style, Winner};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// `P(A beats B)` for scores `a`, `b` on the default scale (400 points per factor 10).
pub fn expected(a: f64, b: f64) -> f64 {
    1.0 / (1.0 + 10f64.powf((b - a) / 400.0))
}

/// `n` battles between random distinct pairs of `models` with true `scores`. A battle is a
/// tie with probability `tie` (a third of those "tie (bothbad)"); otherwise A wins with the
/// probability that makes A's expected score exactly `expected(a, b)` — so the half-win
/// likelihood is consistent for the true scores. Needs `tie/2 ≤ expected ≤ 1 − tie/2`.
pub fn synthetic(models: &[String], scores: &[f64], n: usize, tie: f64, seed: u64) -> Vec<Battle> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|k| {
            let (i, j) = distinct_pair(&mut rng, models.len());
            let e = expected(scores[i], scores[j]);
            let win = (e - tie / 2.0) / (1.0 - tie);
            assert!(
                (0.0..=1.0).contains(&win),
                "tie rate too high for these scores"
            );
            let u: f64 = rng.gen();
            let winner = if u < tie {
                if u < tie / 3.0 {
                    Winner::TieBothBad
                } else {
                    Winner::Tie
                }
            } else if rng.gen::<f64>() < win {
                Winner::ModelA
            } else {
                Winner::ModelB
            };
            let mut b = Battle::new(&models[i], &models[j], winner);
            b.tstamp = k as f64;
            b
        })
        .collect()
}

/// Two different indices below `n`, uniformly.
fn distinct_pair(rng: &mut StdRng, n: usize) -> (usize, usize) {
    let i = rng.gen_range(0..n);
    let mut j = rng.gen_range(0..n - 1);
    if j >= i {
        j += 1;
    }
    (i, j)
}

/// Model names `m00`, `m01`, ...
pub fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("m{i:02}")).collect()
}

/// Battles where the outcome depends only on answer length: every model is equally good, but
/// model `i` writes answers around `base_tokens[i]` long and `P(A wins) = σ(effect · r)` with
/// `r = (tokens_a − tokens_b) / (tokens_a + tokens_b + 1)`. Other style counts are random noise.
pub fn length_driven(
    models: &[String],
    base_tokens: &[f64],
    n: usize,
    effect: f64,
    seed: u64,
) -> Vec<Battle> {
    let mut rng = StdRng::seed_from_u64(seed);
    let style = |rng: &mut StdRng, base: f64| Style {
        tokens: (base * rng.gen_range(0.5..1.5_f64)).round(),
        headers: rng.gen_range(0..4) as f64,
        lists: rng.gen_range(0..6) as f64,
        bold: rng.gen_range(0..3) as f64,
    };
    (0..n)
        .map(|k| {
            let (i, j) = distinct_pair(&mut rng, models.len());
            let sa = style(&mut rng, base_tokens[i]);
            let sb = style(&mut rng, base_tokens[j]);
            let r = (sa.tokens - sb.tokens) / (sa.tokens + sb.tokens + 1.0);
            let p = 1.0 / (1.0 + (-effect * r).exp());
            let winner = if rng.gen::<f64>() < p {
                Winner::ModelA
            } else {
                Winner::ModelB
            };
            let mut b = Battle::new(&models[i], &models[j], winner);
            b.tstamp = k as f64;
            b.style = Some((sa, sb));
            b
        })
        .collect()
}

/// The fixture directory.
pub fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}
