//! The leaderboard: ranks, votes, online Elo, pairwise tables, rendering, model info.

mod ratings_support;

use assay_arena::battle::{load_battles, Battle, Winner};
use assay_arena::bt::BtOptions;
use assay_arena::ci::Interval;
use assay_arena::elo::online_elo;
use assay_arena::leaderboard::{
    compute, pairwise, ranks_by_ci, render_table, set_info, CiMethod, LeaderboardOptions,
};
use assay_arena::models::ModelInfo;
use ratings_support::{fixture, length_driven, names, synthetic};

fn quick(ci: CiMethod) -> LeaderboardOptions {
    LeaderboardOptions {
        bootstrap_rounds: 100,
        ci,
        ..LeaderboardOptions::default()
    }
}

#[test]
fn leaderboard_from_the_fixture() {
    let mut battles = load_battles(&fixture("battles_small.json")).expect("fixture");
    for b in battles.iter_mut().take(50) {
        b.excluded = true;
    }
    for ci in [CiMethod::Bootstrap, CiMethod::Sandwich] {
        let lb = compute(&battles, &quick(ci)).expect("leaderboard");
        assert_eq!(lb.battles, 4950);
        assert_eq!(lb.excluded, 50);
        assert_eq!(lb.rows.len(), 8);
        assert!(lb.warnings.is_empty(), "{:?}", lb.warnings);
        assert!(lb.rows.windows(2).all(|w| w[0].score >= w[1].score));
        assert_eq!(lb.rows.iter().map(|r| r.votes).sum::<u64>(), 2 * 4950);
        let intervals: Vec<Interval> = lb
            .rows
            .iter()
            .map(|r| Interval { lo: r.lo, hi: r.hi })
            .collect();
        let ranks: Vec<usize> = lb.rows.iter().map(|r| r.rank).collect();
        assert_eq!(ranks, ranks_by_ci(&intervals));
        assert_eq!(ranks[0], 1);
        assert!(lb.rows.iter().all(|r| r.lo < r.score && r.score < r.hi));
        assert_eq!(lb.elo.len(), 8);
        assert!(lb.style_coefficients.is_none());
    }
}

#[test]
fn style_controlled_leaderboard_reports_coefficients() {
    let battles = length_driven(&names(4), &[100.0, 300.0, 600.0, 900.0], 4000, 3.0, 5);
    let opts = LeaderboardOptions {
        style_control: true,
        ..quick(CiMethod::Sandwich)
    };
    let lb = compute(&battles, &opts).expect("leaderboard");
    let coefficients = lb.style_coefficients.as_ref().expect("coefficients");
    assert_eq!(coefficients[0].0, "length");
    assert!(coefficients[0].1 > 0.3);
    let text = render_table(&lb);
    assert!(
        text.contains("style-controlled") && text.contains("length +"),
        "{text}"
    );
    let json = lb.to_json();
    assert_eq!(json["style_coefficients"][0][0], "length");
}

#[test]
fn render_and_json() {
    let battles = synthetic(
        &names(5),
        &[900.0, 950.0, 1000.0, 1050.0, 1100.0],
        2000,
        0.2,
        3,
    );
    let mut lb = compute(&battles, &quick(CiMethod::Sandwich)).expect("leaderboard");
    let info = [
        ModelInfo {
            display: "m04".to_string(),
            aliases: Vec::new(),
            organization: Some("Acme".into()),
            license: Some("Apache-2.0".into()),
            access: None,
        },
        ModelInfo {
            display: "m00".to_string(),
            aliases: Vec::new(),
            organization: Some("Other".into()),
            license: None,
            access: None,
        },
    ];
    set_info(&mut lb, &info);
    assert_eq!(lb.rows[0].model, "m04");
    assert_eq!(lb.rows[0].organization.as_deref(), Some("Acme"));
    assert_eq!(lb.rows[0].license.as_deref(), Some("Apache-2.0"));
    let last = lb.rows.last().unwrap();
    assert_eq!(
        (last.model.as_str(), last.license.as_deref()),
        ("m00", None)
    );

    let text = render_table(&lb);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("Rank") && lines[0].contains("95% CI"),
        "{text}"
    );
    assert!(
        lines[2].contains("m04") && lines[2].contains("Acme"),
        "{text}"
    );
    assert!(
        text.contains("2000 battles rated (0 excluded); 95% CI by sandwich"),
        "{text}"
    );

    let json = lb.to_json();
    assert_eq!(json["rows"].as_array().unwrap().len(), 5);
    assert_eq!(json["rows"][0]["model"], "m04");
    assert_eq!(json["ci"], "sandwich");
    assert_eq!(json["battles"], 2000);
}

#[test]
fn an_unbeaten_model_gets_a_warning_not_an_error() {
    let mut battles = synthetic(&names(3), &[1000.0, 1000.0, 1000.0], 300, 0.2, 8);
    battles.push(Battle::new("newcomer", "m00", Winner::ModelA));
    battles.push(Battle::new("m01", "newcomer", Winner::ModelB));
    let lb = compute(&battles, &quick(CiMethod::Bootstrap)).expect("leaderboard");
    assert_eq!(lb.rows[0].model, "newcomer");
    assert_eq!(lb.warnings.len(), 1);
    assert!(
        lb.warnings[0].contains("{newcomer} never lost"),
        "{:?}",
        lb.warnings
    );
    // Exact MLE refuses instead.
    let exact = LeaderboardOptions {
        bt: BtOptions {
            ridge: 0.0,
            ..BtOptions::default()
        },
        ..quick(CiMethod::Sandwich)
    };
    assert!(compute(&battles, &exact).is_err());
}

#[test]
fn online_elo_follows_the_update_rule() {
    let battles = vec![
        Battle::new("a", "b", Winner::ModelA),
        Battle::new("b", "c", Winner::Tie),
        Battle::new("c", "a", Winner::TieBothBad),
    ];
    let elo = online_elo(&battles, 4.0, 400.0, 10.0, 1000.0);
    // a beats b from 1000 each: ±2. Then b (998) ties c (1000); then c ties a (1002).
    let mut a = 1002.0;
    let mut b = 998.0;
    let mut c = 1000.0;
    let e = |x: f64, y: f64| 1.0 / (1.0 + 10f64.powf((y - x) / 400.0));
    let u = 4.0 * (0.5 - e(b, c));
    b += u;
    c -= u;
    let u = 4.0 * (0.5 - e(c, a));
    c += u;
    a -= u;
    assert_eq!(elo.models, vec!["a", "b", "c"]);
    for (got, want) in elo.scores.iter().zip([a, b, c]) {
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }
}

#[test]
fn pairwise_win_rates_count_ties_half() {
    let mut battles = vec![
        Battle::new("a", "b", Winner::ModelA),
        Battle::new("b", "a", Winner::ModelA),
        Battle::new("b", "a", Winner::Tie),
        Battle::new("a", "b", Winner::ModelA),
        Battle::new("a", "c", Winner::ModelB),
    ];
    let mut hidden = Battle::new("a", "c", Winner::ModelA);
    hidden.excluded = true;
    battles.push(hidden);
    let order = vec![
        "a".to_string(),
        "b".to_string(),
        "c".to_string(),
        "d".to_string(),
    ];
    let p = pairwise(&battles, &order);
    assert_eq!(p.battles[0][1], 4);
    assert_eq!(p.battles[1][0], 4);
    assert_eq!(p.win_rate[0][1], Some(2.5 / 4.0));
    assert_eq!(p.win_rate[1][0], Some(1.5 / 4.0));
    assert_eq!(p.win_rate[0][2], Some(0.0));
    assert_eq!(p.win_rate[2][0], Some(1.0));
    assert_eq!(p.win_rate[0][3], None);
    assert_eq!(p.win_rate[0][0], None);
}

#[test]
fn chinese_model_names_line_up_in_the_terminal_table() {
    use assay_arena::leaderboard::{Leaderboard, Row};
    use unicode_width::UnicodeWidthStr;

    let row = |rank: usize, model: &str, organization: &str| Row {
        rank,
        model: model.to_string(),
        score: 1000.0 + rank as f64,
        lo: 990.0,
        hi: 1010.0,
        votes: 120,
        preliminary: false,
        organization: Some(organization.to_string()),
        // As wide as the header "License", so every line ends at the same column.
        license: Some("License".to_string()),
    };
    let lb = Leaderboard {
        rows: vec![
            row(1, "通义千问-7B-对话", "阿里巴巴"),
            row(2, "smollm2", "Hugging Face"),
            row(3, "Qwen-中文", "Alibaba"),
        ],
        battles: 180,
        excluded: 0,
        style_coefficients: None,
        elo: Vec::new(),
        warnings: Vec::new(),
        ci: CiMethod::Bootstrap,
        style_control: false,
        preliminary_below: 50,
    };
    let text = render_table(&lb);
    let lines: Vec<&str> = text.lines().take(5).collect();
    // Each column starts at the same terminal column on every line: the lines are equally wide
    // and "Score" ends where every score ends.
    let widths: Vec<usize> = lines.iter().map(|l| l.width()).collect();
    assert!(widths.iter().all(|&w| w == widths[0]), "{widths:?}\n{text}");
    let score_end = |line: &str, score: &str| {
        let at = line.find(score).expect("score in line") + score.len();
        line[..at].width()
    };
    let header_end = score_end(lines[0], "Score");
    for (line, score) in lines[2..].iter().zip(["1001", "1002", "1003"]) {
        assert_eq!(score_end(line, score), header_end, "\n{text}");
    }
}

/// Models with fewer votes than the threshold are marked preliminary, in words: in the JSON, in
/// the terminal table next to the name, and in a note under it.
#[test]
fn models_with_few_votes_are_preliminary() {
    // m00 and m01 meet often; m02 only a few times.
    let mut battles = Vec::new();
    for k in 0..60 {
        let winner = if k % 3 == 0 {
            Winner::ModelB
        } else {
            Winner::ModelA
        };
        battles.push(Battle::new("m00", "m01", winner));
    }
    for k in 0..8 {
        let winner = if k % 2 == 0 {
            Winner::ModelB
        } else {
            Winner::ModelA
        };
        battles.push(Battle::new("m02", "m00", winner));
    }
    let lb = compute(&battles, &quick(CiMethod::Sandwich)).expect("leaderboard");
    let preliminary: Vec<(&str, u64, bool)> = {
        let mut rows: Vec<(&str, u64, bool)> = lb
            .rows
            .iter()
            .map(|r| (r.model.as_str(), r.votes, r.preliminary))
            .collect();
        rows.sort();
        rows
    };
    assert_eq!(
        preliminary,
        [("m00", 68, false), ("m01", 60, false), ("m02", 8, true)]
    );
    let json = lb.to_json();
    let m02 = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["model"] == "m02")
        .unwrap();
    assert_eq!(m02["preliminary"], true);
    let text = render_table(&lb);
    assert!(text.contains("m02 (preliminary)"), "{text}");
    assert!(!text.contains("m00 (preliminary)"), "{text}");
    assert!(
        text.contains("preliminary: fewer than 50 votes; the score may still move a lot"),
        "{text}"
    );
    // The threshold is an option; 0 marks nothing.
    let none = compute(
        &battles,
        &LeaderboardOptions {
            preliminary_below: 0,
            ..quick(CiMethod::Sandwich)
        },
    )
    .unwrap();
    assert!(none.rows.iter().all(|r| !r.preliminary));
    assert!(!render_table(&none).contains("preliminary"));
}
