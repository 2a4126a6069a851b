//! Style control: length-driven votes, FastChat's fixture, and the intervals.

mod ratings_support;

use assay_arena::battle::load_battles;
use assay_arena::bt::{fit, BtOptions, PairCounts};
use assay_arena::style::{
    fit_style_control, fit_style_data, style_bootstrap, style_sandwich, StyleData,
    DEFAULT_STYLE_L2, STYLE_FEATURES,
};
use ratings_support::{fixture, length_driven, names};

fn spread(scores: &[f64]) -> f64 {
    let max = scores.iter().copied().fold(f64::MIN, f64::max);
    let min = scores.iter().copied().fold(f64::MAX, f64::min);
    max - min
}

#[test]
fn length_driven_votes_are_explained_by_length() {
    // Equal models; the verbose ones win only because voters like length.
    let models = names(6);
    let tokens = [100.0, 200.0, 400.0, 600.0, 800.0, 1000.0];
    let battles = length_driven(&models, &tokens, 20_000, 4.0, 17);
    let opts = BtOptions::default();

    let plain = fit(&PairCounts::from_battles(&battles), &opts).expect("plain fit");
    assert!(
        spread(&plain.scores) > 150.0,
        "plain BT spread {}",
        spread(&plain.scores)
    );
    assert_eq!(
        plain.ranked()[0].0,
        "m05",
        "the most verbose model tops plain BT"
    );

    let result = fit_style_control(&battles, &opts, DEFAULT_STYLE_L2).expect("style fit");
    let names: Vec<&str> = result
        .coefficients
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(names, STYLE_FEATURES);
    let length = result.coefficients[0].1;
    assert!(length > 0.5, "length coefficient {length}");
    for (name, b) in &result.coefficients[1..] {
        assert!(b.abs() < 0.05, "{name} coefficient {b} should be ~0");
    }
    let controlled = spread(&result.scores.scores);
    assert!(controlled < 25.0, "controlled spread {controlled}");
    let mean = result.scores.scores.iter().sum::<f64>() / 6.0;
    assert!((mean - 1000.0).abs() < 1e-6, "mean {mean}");
}

#[test]
fn matches_fastchat_style_control_fixture() {
    // bench/arena-ratings/fastchat_fixture.py: FastChat's compute_style_control
    // (rating_systems.py), reg 0.5, L-BFGS run to gtol 1e-12.
    let path = fixture("battles_small_fastchat_style.json");
    let text = std::fs::read_to_string(&path).expect("style fixture");
    let want: serde_json::Value = serde_json::from_str(&text).expect("json");
    let battles = load_battles(&fixture("battles_small.json")).expect("battles");
    let l2 = want["l2"].as_f64().expect("l2");
    let result = fit_style_control(&battles, &BtOptions::default(), l2).expect("fit");
    let scores = want["scores"].as_object().expect("scores");
    assert_eq!(scores.len(), result.scores.models.len());
    for (model, w) in scores {
        let w = w.as_f64().unwrap();
        let s = result.scores.get(model).expect("model");
        assert!((s - w).abs() < 1e-3, "{model}: ours {s}, FastChat {w}");
    }
    let coefficients = want["coefficients"].as_array().expect("coefficients");
    for ((name, b), w) in result.coefficients.iter().zip(coefficients) {
        assert_eq!(name, w[0].as_str().unwrap());
        let w = w[1].as_f64().unwrap();
        assert!((b - w).abs() < 1e-5, "{name}: ours {b}, FastChat {w}");
    }
}

#[test]
fn style_intervals_cover_the_estimates_and_agree() {
    let models = names(5);
    let battles = length_driven(&models, &[300.0, 300.0, 500.0, 700.0, 300.0], 3000, 3.0, 23);
    let data = StyleData::from_battles(&battles);
    let opts = BtOptions::default();
    let (result, params) = fit_style_data(&data, &opts, DEFAULT_STYLE_L2).expect("fit");
    let sand = style_sandwich(&data, &params, &opts, DEFAULT_STYLE_L2);
    let boot = style_bootstrap(&data, &opts, DEFAULT_STYLE_L2, 100, 3, 2).expect("bootstrap");
    let again = style_bootstrap(&data, &opts, DEFAULT_STYLE_L2, 100, 3, 1).expect("bootstrap");
    assert_eq!(boot, again, "reproducible whatever the thread count");
    for (i, s) in result.scores.scores.iter().enumerate() {
        assert!(sand[i].contains(*s) && boot[i].contains(*s));
        let (ws, wb) = (sand[i].hi - sand[i].lo, boot[i].hi - boot[i].lo);
        assert!(
            ws > 5.0 && (0.7..1.4).contains(&(wb / ws)),
            "widths {ws} {wb}"
        );
    }
}

#[test]
fn battles_without_style_are_skipped() {
    let models = names(3);
    let mut battles = length_driven(&models, &[100.0, 200.0, 300.0], 600, 2.0, 1);
    for b in battles.iter_mut().step_by(2) {
        b.style = None;
    }
    battles[1].excluded = true;
    let data = StyleData::from_battles(&battles);
    assert_eq!(data.len(), 299);
    assert!(fit_style_control(&battles, &BtOptions::default(), 0.5).is_ok());
    assert!(fit_style_control(&battles, &BtOptions::default(), -1.0).is_err());
    let none: Vec<_> = battles
        .into_iter()
        .map(|mut b| {
            b.style = None;
            b
        })
        .collect();
    assert!(fit_style_control(&none, &BtOptions::default(), 0.5).is_err());
}
