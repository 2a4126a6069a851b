//! Confidence intervals: coverage of the true scores, reproducibility, and rank by CI.

mod ratings_support;

use assay_arena::battle::{Battle, Winner};
use assay_arena::bt::{fit, BtOptions, PairCounts};
use assay_arena::ci::{bootstrap, bootstrap_samples, sandwich, Interval};
use assay_arena::leaderboard::ranks_by_ci;
use ratings_support::{names, synthetic};

/// Over many models and replications, the share of 95% intervals that contain the true
/// (mean-centred) score, for the bootstrap and the sandwich, and their mean widths.
#[test]
fn intervals_cover_true_scores_at_about_the_nominal_rate() {
    let m = 20;
    let models = names(m);
    let reps = 15;
    let (mut boot_hits, mut sand_hits, mut total) = (0, 0, 0);
    let (mut boot_width, mut sand_width) = (0.0, 0.0);
    for rep in 0..reps {
        // True scores spread over 300 points, centred on 1000 like the fit.
        let raw: Vec<f64> = (0..m)
            .map(|i| ((i * 7 + rep * 3) % m) as f64 * 300.0 / (m - 1) as f64)
            .collect();
        let mean = raw.iter().sum::<f64>() / m as f64;
        let truth: Vec<f64> = raw.iter().map(|x| 1000.0 + x - mean).collect();
        let battles = synthetic(&models, &truth, 4000, 0.2, 1000 + rep as u64);
        let counts = PairCounts::from_battles(&battles);
        let opts = BtOptions::default();
        let scores = fit(&counts, &opts).expect("fit");
        let boot = bootstrap(&counts, &opts, 300, rep as u64, 2).expect("bootstrap");
        let sand = sandwich(&counts, &scores, &opts);
        for (k, model) in counts.models.iter().enumerate() {
            let t = truth[models.iter().position(|x| x == model).unwrap()];
            boot_hits += boot[k].contains(t) as usize;
            sand_hits += sand[k].contains(t) as usize;
            boot_width += boot[k].hi - boot[k].lo;
            sand_width += sand[k].hi - sand[k].lo;
            total += 1;
        }
    }
    let boot_cov = boot_hits as f64 / total as f64;
    let sand_cov = sand_hits as f64 / total as f64;
    assert_eq!(total, 300);
    assert!(
        (0.88..=0.99).contains(&boot_cov),
        "bootstrap coverage {boot_cov}"
    );
    assert!(
        (0.88..=0.99).contains(&sand_cov),
        "sandwich coverage {sand_cov}"
    );
    let ratio = boot_width / sand_width;
    assert!(
        (0.85..1.15).contains(&ratio),
        "bootstrap/sandwich width ratio {ratio}"
    );
}

#[test]
fn bootstrap_is_reproducible_whatever_the_thread_count() {
    let battles = synthetic(
        &names(8),
        &[950.0, 980.0, 1000.0, 1000.0, 1020.0, 1040.0, 900.0, 1100.0],
        2000,
        0.2,
        9,
    );
    let counts = PairCounts::from_battles(&battles);
    let opts = BtOptions::default();
    let one = bootstrap_samples(&counts, &opts, 50, 42, 1).expect("1 thread");
    let three = bootstrap_samples(&counts, &opts, 50, 42, 3).expect("3 threads");
    assert_eq!(one, three);
    let other_seed = bootstrap_samples(&counts, &opts, 50, 43, 1).expect("seed 43");
    assert_ne!(one, other_seed);
    // Every round is a full fit: mean score 1000.
    for round in &one.rounds {
        let mean = round.iter().sum::<f64>() / round.len() as f64;
        assert!((mean - 1000.0).abs() < 1e-6, "round mean {mean}");
    }
    // The point estimate sits inside its interval.
    let scores = fit(&counts, &opts).unwrap();
    for (i, ci) in one.intervals(0.025, 0.975).iter().enumerate() {
        assert!(
            ci.lo < scores.scores[i] && scores.scores[i] < ci.hi,
            "{ci:?}"
        );
    }
}

#[test]
fn anchored_intervals_are_for_differences_to_the_anchor() {
    let battles = synthetic(
        &names(6),
        &[900.0, 950.0, 1000.0, 1050.0, 1100.0, 1000.0],
        3000,
        0.2,
        4,
    );
    let counts = PairCounts::from_battles(&battles);
    let opts = BtOptions {
        anchor: Some(("m02".to_string(), 1100.0)),
        ..BtOptions::default()
    };
    let scores = fit(&counts, &opts).unwrap();
    let a = counts.index_of("m02").unwrap();
    let boot = bootstrap(&counts, &opts, 100, 1, 2).unwrap();
    assert_eq!(
        boot[a],
        Interval {
            lo: 1100.0,
            hi: 1100.0
        }
    );
    let sand = sandwich(&counts, &scores, &opts);
    assert!((sand[a].lo - 1100.0).abs() < 1e-9 && (sand[a].hi - 1100.0).abs() < 1e-9);
    // The others' intervals are proper intervals around the point estimates.
    for (i, ci) in sand.iter().enumerate() {
        if i != a {
            assert!(ci.lo < scores.scores[i] && scores.scores[i] < ci.hi);
        }
    }
}

#[test]
fn a_model_missing_from_a_round_is_skipped_not_zeroed() {
    // "rare" has a single battle: in about e⁻¹ of the rounds it draws none.
    let mut battles = synthetic(&names(4), &[1000.0, 1010.0, 990.0, 1000.0], 400, 0.2, 2);
    battles.push(Battle::new("rare", "m00", Winner::Tie));
    let counts = PairCounts::from_battles(&battles);
    let samples = bootstrap_samples(&counts, &BtOptions::default(), 200, 5, 2).unwrap();
    let r = counts.index_of("rare").unwrap();
    let missing = samples.rounds.iter().filter(|x| x[r].is_nan()).count();
    assert!(
        (40..110).contains(&missing),
        "rare missing in {missing} of 200 rounds"
    );
    let ci = samples.intervals(0.025, 0.975)[r];
    assert!(ci.lo.is_finite() && ci.hi.is_finite());
}

#[test]
fn rank_is_one_plus_models_clearly_above() {
    let intervals = [
        Interval {
            lo: 1200.0,
            hi: 1260.0,
        }, // A
        Interval {
            lo: 1190.0,
            hi: 1230.0,
        }, // B: overlaps A
        Interval {
            lo: 1100.0,
            hi: 1150.0,
        }, // C: below A and B, overlaps D
        Interval {
            lo: 1140.0,
            hi: 1180.0,
        }, // D: below A and B
        Interval {
            lo: 900.0,
            hi: 1000.0,
        }, // E: below everyone
        Interval {
            lo: f64::NAN,
            hi: f64::NAN,
        }, // F: unknown, never counts as above
    ];
    assert_eq!(ranks_by_ci(&intervals), vec![1, 1, 3, 3, 5, 1]);
}
