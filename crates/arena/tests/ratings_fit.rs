//! Bradley–Terry fits: Newton against MM, recovery of known strengths, FastChat's fixture, and
//! what happens when the maximum does not exist.

mod ratings_support;

use std::collections::BTreeMap;

use assay_arena::battle::{load_battles, Battle, Winner};
use assay_arena::bt::{check_identifiable, fit, fit_mm, BtOptions, FitError, PairCounts};
use ratings_support::{fixture, names, synthetic};

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn newton_agrees_with_mm_to_convergence() {
    let models = names(12);
    let truth: Vec<f64> = (0..12).map(|i| 850.0 + 25.0 * i as f64).collect();
    let battles = synthetic(&models, &truth, 6000, 0.2, 7);
    let counts = PairCounts::from_battles(&battles);
    for ridge in [0.0, BtOptions::default().ridge] {
        let opts = BtOptions {
            ridge,
            ..BtOptions::default()
        };
        let newton = fit(&counts, &opts).expect("newton fit");
        let mm = fit_mm(&counts, &opts, 1e-13, 1_000_000).expect("mm fit");
        assert_eq!(newton.models, mm.models);
        let d = max_diff(&newton.scores, &mm.scores);
        // The requirement is 0.01 points; in practice both are exact to far better.
        assert!(
            d < 1e-4,
            "ridge {ridge}: Newton and MM differ by {d} points"
        );
    }
}

#[test]
fn newton_agrees_with_mm_on_a_sparse_chain() {
    // Each model meets only its neighbours: a long, badly conditioned graph.
    let mut battles = Vec::new();
    for i in 0..15 {
        let (a, b) = (format!("c{i:02}"), format!("c{:02}", i + 1));
        for (w, n) in [(Winner::ModelA, 7), (Winner::ModelB, 3), (Winner::Tie, 2)] {
            for _ in 0..n {
                battles.push(Battle::new(&a, &b, w));
            }
        }
    }
    let counts = PairCounts::from_battles(&battles);
    let opts = BtOptions {
        anchor: Some(("c07".to_string(), 1200.0)),
        ..BtOptions::default()
    };
    let mm = fit_mm(&counts, &opts, 1e-13, 5_000_000).expect("mm fit");
    let exact = fit(
        &counts,
        &BtOptions {
            ridge: 0.0,
            ..opts.clone()
        },
    )
    .expect("newton fit");
    let d = max_diff(&exact.scores, &mm.scores);
    assert!(d < 1e-4, "Newton and MM differ by {d} points");
    // The default ridge's pull is largest on such a chain, and still tiny.
    let newton = fit(&counts, &opts).expect("newton fit");
    let d = max_diff(&newton.scores, &mm.scores);
    assert!(
        d < 1e-3,
        "Newton (default ridge) and MM differ by {d} points"
    );
    assert_eq!(newton.get("c07"), Some(1200.0));
    // Each step is the same 8-vs-4 (ties half) record: log-odds ln 2 = 120.4 points apart.
    let step = newton.get("c00").unwrap() - newton.get("c01").unwrap();
    assert!((step - 400.0 * 2f64.log10()).abs() < 0.01, "step {step}");
}

#[test]
fn recovers_true_order_and_scores_with_many_battles() {
    let models = names(10);
    let truth: Vec<f64> = (0..10).map(|i| 1000.0 + 40.0 * (i as f64 - 4.5)).collect();
    let battles = synthetic(&models, &truth, 60_000, 0.2, 11);
    let counts = PairCounts::from_battles(&battles);
    let scores = fit(&counts, &BtOptions::default()).expect("fit");
    let mean: f64 = scores.scores.iter().sum::<f64>() / scores.scores.len() as f64;
    assert!((mean - 1000.0).abs() < 1e-6, "mean score {mean}");
    let ranked: Vec<String> = scores.ranked().into_iter().map(|(m, _)| m).collect();
    let mut want = models.clone();
    want.reverse();
    assert_eq!(ranked, want);
    for (m, t) in models.iter().zip(&truth) {
        let s = scores.get(m).unwrap();
        assert!((s - t).abs() < 15.0, "{m}: fitted {s}, true {t}");
    }
}

#[test]
fn matches_fastchat_fixture() {
    // bench/arena-ratings/fastchat_fixture.py: FastChat 0.2.36 compute_elo_mle_with_tie refitted
    // with C=1e12, tol=1e-10. It anchors llama-13b at 800 when present; so do we.
    let battles = load_battles(&fixture("battles_small.json")).expect("fixture battles");
    assert_eq!(battles.len(), 5000);
    let text = std::fs::read_to_string(fixture("battles_small_fastchat.json")).expect("fixture");
    let want: BTreeMap<String, f64> = serde_json::from_str(&text).expect("fixture json");
    let counts = PairCounts::from_battles(&battles);
    let opts = BtOptions {
        anchor: Some(("llama-13b".to_string(), 800.0)),
        ..BtOptions::default()
    };
    let scores = fit(&counts, &opts).expect("fit");
    assert_eq!(scores.models.len(), want.len());
    for (model, w) in &want {
        let s = scores.get(model).expect("model in fit");
        assert!((s - w).abs() < 1e-3, "{model}: ours {s}, FastChat {w}");
    }
    // Without the anchor, the mean is 1000 and the differences are the same.
    let free = fit(&counts, &BtOptions::default()).expect("fit");
    let shift = free.get("llama-13b").unwrap() - 800.0;
    for (model, w) in &want {
        let s = free.get(model).unwrap() - shift;
        assert!((s - w).abs() < 1e-3, "{model}: {s} vs {w}");
    }
}

#[test]
fn ties_count_half_a_win_each_way() {
    // 3 wins, 1 loss and 2 ties is a 4:2 record: odds 2, 120.4 points.
    let mut battles = Vec::new();
    for (w, n) in [
        (Winner::ModelA, 3),
        (Winner::ModelB, 1),
        (Winner::Tie, 1),
        (Winner::TieBothBad, 1),
    ] {
        for _ in 0..n {
            battles.push(Battle::new("a", "b", w));
        }
    }
    let scores = fit(&PairCounts::from_battles(&battles), &BtOptions::default()).unwrap();
    let gap = scores.get("a").unwrap() - scores.get("b").unwrap();
    assert!((gap - 400.0 * 2f64.log10()).abs() < 1e-3, "gap {gap}");
    assert!((scores.get("a").unwrap() + scores.get("b").unwrap() - 2000.0).abs() < 1e-9);
}

#[test]
fn counts_aggregate_both_orders_and_skip_excluded() {
    let mut battles = vec![
        Battle::new("x", "y", Winner::ModelA),
        Battle::new("y", "x", Winner::ModelA),
        Battle::new("y", "x", Winner::Tie),
        Battle::new("x", "x", Winner::ModelA),
    ];
    let mut hidden = Battle::new("x", "z", Winner::ModelA);
    hidden.excluded = true;
    battles.push(hidden);
    let counts = PairCounts::from_battles(&battles);
    assert_eq!(counts.models, vec!["x", "y"]);
    assert_eq!(counts.pairs.len(), 1);
    let p = counts.pairs[0];
    assert_eq!((p.i, p.j, p.wins_i, p.wins_j, p.ties), (0, 1, 1, 1, 1));
    assert_eq!(counts.total(), 3);
    assert_eq!(counts.model_battles(), vec![3, 3]);
    let rows = PairCounts::from_rows([
        ("x", "y", Winner::ModelA, 1),
        ("y", "x", Winner::ModelA, 1),
        ("y", "x", Winner::TieBothBad, 1),
        ("x", "z", Winner::ModelB, 0),
    ]);
    assert_eq!(rows, counts);
}

#[test]
fn unbounded_mle_is_an_error_naming_the_models_without_ridge() {
    let mut battles = synthetic(&names(4), &[1000.0, 1050.0, 950.0, 1000.0], 400, 0.2, 3);
    // "champ" wins every battle; "dud" loses every one.
    for other in ["m00", "m01"] {
        for _ in 0..3 {
            battles.push(Battle::new("champ", other, Winner::ModelA));
            battles.push(Battle::new(other, "dud", Winner::ModelA));
        }
    }
    let counts = PairCounts::from_battles(&battles);
    let exact = BtOptions {
        ridge: 0.0,
        ..BtOptions::default()
    };
    let err = fit(&counts, &exact).unwrap_err();
    assert_eq!(
        err,
        FitError::Unbounded {
            never_lost: vec!["champ".to_string()],
            never_won: vec!["dud".to_string()],
        }
    );
    let message = err.to_string();
    assert!(message.contains("{champ} never lost") && message.contains("{dud} never won"));
    assert!(fit_mm(&counts, &exact, 1e-10, 1000).is_err());
    // With the default ridge the fit is finite, and the champion is far ahead.
    let scores = fit(&counts, &BtOptions::default()).expect("ridge fit");
    assert!(scores.scores.iter().all(|s| s.is_finite()));
    let top = scores.ranked();
    assert_eq!(top[0].0, "champ");
    assert_eq!(top.last().unwrap().0, "dud");
    assert!(check_identifiable(&counts).is_err());
}

#[test]
fn disconnected_groups_are_named() {
    let battles = vec![
        Battle::new("a", "b", Winner::ModelA),
        Battle::new("b", "a", Winner::ModelA),
        Battle::new("c", "d", Winner::Tie),
    ];
    let counts = PairCounts::from_battles(&battles);
    let err = check_identifiable(&counts).unwrap_err();
    assert_eq!(
        err,
        FitError::Disconnected {
            groups: vec![
                vec!["a".to_string(), "b".to_string()],
                vec!["c".to_string(), "d".to_string()]
            ]
        }
    );
    assert!(err.to_string().contains("{a, b} vs {c, d}"), "{err}");
}

#[test]
fn bad_options_and_anchors_are_errors() {
    let counts = PairCounts::from_battles(&[
        Battle::new("a", "b", Winner::ModelA),
        Battle::new("b", "a", Winner::ModelA),
    ]);
    let anchored = BtOptions {
        anchor: Some(("nobody".to_string(), 1000.0)),
        ..BtOptions::default()
    };
    assert_eq!(
        fit(&counts, &anchored).unwrap_err(),
        FitError::UnknownAnchor("nobody".to_string())
    );
    let bad_base = BtOptions {
        base: 1.0,
        ..BtOptions::default()
    };
    assert!(matches!(fit(&counts, &bad_base), Err(FitError::Options(_))));
    assert_eq!(
        fit(&PairCounts::from_battles(&[]), &BtOptions::default()).unwrap_err(),
        FitError::Empty
    );
}

#[test]
fn scale_base_and_init_are_applied() {
    let battles = synthetic(
        &names(5),
        &[900.0, 950.0, 1000.0, 1050.0, 1100.0],
        3000,
        0.1,
        5,
    );
    let counts = PairCounts::from_battles(&battles);
    let default = fit(&counts, &BtOptions::default()).unwrap();
    let natural = fit(
        &counts,
        &BtOptions {
            scale: 1.0,
            base: std::f64::consts::E,
            init: 0.0,
            ..BtOptions::default()
        },
    )
    .unwrap();
    // Natural units times 400 / ln 10, plus 1000, are the default scores.
    let k = 400.0 / 10f64.ln();
    for (d, n) in default.scores.iter().zip(&natural.scores) {
        assert!((d - (1000.0 + k * n)).abs() < 1e-6, "{d} vs {n}");
    }
}
