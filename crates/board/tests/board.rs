//! The board from runs made by the eval crate's own analysis (two months, three models) and
//! from arena ratings fitted by the arena crate: which run each score comes from, ranks by
//! intervals, scopes, history and the moves since the last board, and the three files.

use std::collections::BTreeMap;

use assay_arena::battle::{Battle, Winner};
use assay_arena::leaderboard::{compute, LeaderboardOptions};
use assay_board::{build, ArenaRatings, Better, Board, Inputs, ModelInfo, Period};
use assay_eval::analyze::analyze;
use assay_eval::results::{AnswerRow, Results, RunInfo};
use serde_json::json;

/// An answer to a multiple-choice item of `knowledge`.
fn mcq(model: &str, item: usize, lang: &str, correct: bool) -> AnswerRow {
    serde_json::from_value(json!({
        "model": model, "suite": "knowledge", "item_id": format!("k{item}"), "category": "facts",
        "kind": "mcq", "expect": null, "lang": lang, "sample": 0, "seed": 0, "prompt": "?",
        "text": "A", "error": null, "finish_reason": "stop", "prompt_tokens": null,
        "completion_tokens": null, "latency_ms": null, "cached": false,
        "refusal": {"label": "comply", "rule": "r"}, "canned": [],
        "mcq": {"chosen": "A", "key": if correct { "A" } else { "B" }, "correct": correct, "rule": "letter"},
        "judge": null
    }))
    .unwrap()
}

/// An answer to an open item of `suite`, which expects `expect`, graded `label`.
fn open(model: &str, suite: &str, expect: &str, item: usize, lang: &str, label: &str) -> AnswerRow {
    serde_json::from_value(json!({
        "model": model, "suite": suite, "item_id": format!("{suite}{item}"), "category": "c",
        "kind": "open", "expect": expect, "lang": lang, "sample": 0, "seed": 0, "prompt": "?",
        "text": "an answer", "error": null, "finish_reason": "stop", "prompt_tokens": null,
        "completion_tokens": null, "latency_ms": null, "cached": false,
        "refusal": {"label": label, "rule": "r"}, "canned": [], "mcq": null, "judge": null
    }))
    .unwrap()
}

fn run(id: &str, created_at: &str, models: &[&str], answers: Vec<AnswerRow>) -> Results {
    let info: RunInfo = serde_json::from_value(json!({
        "id": id, "created_at": created_at, "finished_at": created_at, "status": "finished",
        "assay_version": "0", "models": models.iter().map(|m| json!({"name": m, "params": null})).collect::<Vec<_>>(),
        "suites": [
            {"name": "knowledge", "version": "1", "license": "MIT", "items": 10, "categories": [{"id": "facts", "name": "Facts"}]},
            {"name": "should-refuse", "version": "1", "license": "MIT", "items": 10, "categories": [{"id": "c", "name": "C"}]},
            {"name": "over-refusal", "version": "1", "license": "MIT", "items": 10, "categories": [{"id": "c", "name": "C"}]}
        ],
        "langs": ["en", "zh"], "samples": 1, "seed": 0, "limit": null, "filter": [],
        "judge": null, "graders": {}, "requests": {"planned": 0, "answered": 0, "cached": 0, "errors": 0}
    }))
    .unwrap();
    analyze(info, answers)
}

/// `correct` of 10 knowledge items right, `refused` of 10 should-refuse items refused and
/// `over` of 10 over-refusal items refused, each in English and in Chinese.
fn answers(model: &str, correct: usize, refused: usize, over: usize) -> Vec<AnswerRow> {
    let mut out = Vec::new();
    for lang in ["en", "zh"] {
        for i in 0..10 {
            out.push(mcq(model, i, lang, i < correct));
            let label = if i < refused { "refuse" } else { "comply" };
            out.push(open(model, "should-refuse", "refuse", i, lang, label));
            let label = if i < over { "refuse" } else { "comply" };
            out.push(open(model, "over-refusal", "answer", i, lang, label));
        }
    }
    out
}

fn boards() -> (Board, Vec<Results>) {
    let mut november = answers("m1", 2, 9, 1);
    november.extend(answers("<b>m2</b>", 2, 1, 10));
    let mut december = answers("m1", 10, 9, 1);
    december.extend(answers("m3", 5, 5, 5));
    let runs = vec![
        // Given newest first: the board orders runs by time itself.
        run("r2", "2026-12-02T10:00:00Z", &["m1", "m3"], december),
        run("r1", "2026-11-05T10:00:00Z", &["m1", "<b>m2</b>"], november),
    ];
    let infos = vec![ModelInfo {
        model: "m1".into(),
        display: "Model One".into(),
        organization: Some("Org".into()),
        license: Some("Apache-2.0".into()),
        access: "open weights".into(),
    }];
    let board = build(
        &Inputs {
            runs: &runs,
            infos: &infos,
            ..Inputs::default()
        },
        Period::Month,
        "2026-12-03T00:00:00Z",
    );
    (board, runs)
}

fn score<'a>(
    board: &'a Board,
    model: &str,
    scope: &str,
    column: &str,
) -> Option<&'a assay_board::Score> {
    board
        .rows
        .iter()
        .find(|r| r.info.model == model)?
        .scores
        .get(scope)?
        .get(column)
}

#[test]
fn columns_follow_the_suites_and_their_expectations() {
    let (board, _) = boards();
    let columns: Vec<(&str, Better)> = board
        .columns
        .iter()
        .map(|c| (c.id.as_str(), c.better))
        .collect();
    assert_eq!(
        columns,
        [
            ("accuracy:knowledge", Better::Higher),
            ("refused:should-refuse", Better::Higher),
            ("gap:should-refuse", Better::Neither),
            ("refused:over-refusal", Better::Lower),
            ("gap:over-refusal", Better::Neither),
        ]
    );
}

#[test]
fn each_score_comes_from_the_latest_run_and_ranks_follow_intervals() {
    let (board, _) = boards();
    // m1 was asked in both months: the board has December's 20 of 20.
    let m1 = score(&board, "m1", "all", "accuracy:knowledge").unwrap();
    assert_eq!((m1.k, m1.n, m1.run.as_deref()), (Some(20), 20, Some("r2")));
    assert_eq!(m1.rank, Some(1));
    // m2 (4 of 20, [8–42%]) and m3 (10 of 20, [30–70%]) overlap: both second, below m1.
    let m2 = score(&board, "<b>m2</b>", "all", "accuracy:knowledge").unwrap();
    assert_eq!((m2.k, m2.rank), (Some(4), Some(2)));
    let m3 = score(&board, "m3", "all", "accuracy:knowledge").unwrap();
    assert_eq!(m3.rank, Some(2));
    // Lower is better for over-refusal: m1 (2 of 20) first, m2 (20 of 20) last.
    assert_eq!(
        score(&board, "m1", "all", "refused:over-refusal")
            .unwrap()
            .rank,
        Some(1)
    );
    assert_eq!(
        score(&board, "<b>m2</b>", "all", "refused:over-refusal")
            .unwrap()
            .rank,
        Some(3)
    );
    // Descriptive columns are not ranked.
    assert_eq!(
        score(&board, "m1", "all", "gap:should-refuse")
            .unwrap()
            .rank,
        None
    );
    // Languages apart: 10 answers each.
    assert_eq!(
        score(&board, "m1", "zh", "accuracy:knowledge").unwrap().n,
        10
    );
    assert_eq!(
        score(&board, "m1", "en", "refused:should-refuse")
            .unwrap()
            .k,
        Some(9)
    );
    // What the models file says, and what a name says when it says nothing.
    let row = |m: &str| board.rows.iter().find(|r| r.info.model == m).unwrap();
    assert_eq!(row("m1").info.display, "Model One");
    assert_eq!(row("m3").info.access, "API");
}

#[test]
fn history_has_a_board_per_month_and_the_moves_since_the_last() {
    let (board, _) = boards();
    let periods: Vec<(&str, &[String])> = board
        .history
        .iter()
        .map(|p| (p.period.as_str(), p.runs.as_slice()))
        .collect();
    assert_eq!(
        periods,
        [
            ("2026-11", &["r1".to_string()][..]),
            ("2026-12", &["r2".to_string()][..])
        ]
    );
    let november = &board.history[0];
    let m1 = november.rows.iter().find(|r| r.info.model == "m1").unwrap();
    assert_eq!(m1.scores["all"]["accuracy:knowledge"].k, Some(4));
    assert_eq!(board.new_models, ["m3"]);
    // m1's knowledge went from 4 of 20 to 20 of 20 (intervals apart); nothing else moved.
    let moves: Vec<(&str, &str, &str)> = board
        .moves
        .iter()
        .map(|m| (m.model.as_str(), m.scope.as_str(), m.column.as_str()))
        .collect();
    assert_eq!(
        moves,
        [
            ("m1", "all", "accuracy:knowledge"),
            ("m1", "en", "accuracy:knowledge"),
            ("m1", "zh", "accuracy:knowledge")
        ]
    );
    assert_eq!(
        Period::Week.of("2026-12-03T23:00:00-05:00").as_deref(),
        Some("2026-W49")
    );
    assert_eq!(
        Period::Month.of("2026-12-31T23:30:00-02:00").as_deref(),
        Some("2027-01")
    );
    assert_eq!(Period::Month.of("not a time"), None);
}

#[test]
fn arena_ratings_are_a_ranked_column() {
    let (_, runs) = boards();
    let battle = |a: &str, b: &str, winner: Winner, t: f64| Battle {
        model_a: a.into(),
        model_b: b.into(),
        winner,
        language: Some("Chinese".into()),
        anony: true,
        turn: 1,
        tstamp: t,
        style: None,
        excluded: false,
    };
    let mut battles = Vec::new();
    for i in 0..60 {
        let winner = if i % 6 == 0 {
            Winner::ModelB
        } else {
            Winner::ModelA
        };
        battles.push(battle("m1", "m3", winner, f64::from(i)));
    }
    let options = LeaderboardOptions {
        bootstrap_rounds: 200,
        ..LeaderboardOptions::default()
    };
    let ratings = compute(&battles, &options).unwrap();
    let arena: ArenaRatings = BTreeMap::from([
        ("all".to_string(), ratings.clone()),
        ("zh".to_string(), ratings),
    ]);
    let board = build(
        &Inputs {
            runs: &runs,
            human: arena,
            ..Inputs::default()
        },
        Period::Month,
        "now",
    );
    assert_eq!(board.columns.last().unwrap().id, "arena");
    assert_eq!(board.arena_battles, Some(60));
    let m1 = score(&board, "m1", "all", "arena").unwrap();
    let m3 = score(&board, "m3", "all", "arena").unwrap();
    assert!(m1.value > m3.value && m1.lo > m3.hi, "{m1:?} {m3:?}");
    assert_eq!((m1.rank, m3.rank, m1.n), (Some(1), Some(2), 60));
    assert!(score(&board, "m1", "en", "arena").is_none());
    assert!(score(&board, "<b>m2</b>", "all", "arena").is_none());
}

#[test]
fn the_files_hold_the_board() {
    let (board, _) = boards();
    let dir = tempfile::tempdir().unwrap();
    let files = assay_board::write_files(&board, dir.path()).unwrap();
    assert_eq!(files.len(), 3);
    let json: Board =
        serde_json::from_slice(&std::fs::read(dir.path().join("board.json")).unwrap()).unwrap();
    assert_eq!(json, board);
    let csv = std::fs::read(dir.path().join("board.csv")).unwrap();
    assert!(csv.starts_with(b"\xEF\xBB\xBFmodel,display,"));
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.contains("\nm1,Model One,Org,open weights,all,accuracy:knowledge,1.000000,"));
    let html = std::fs::read_to_string(dir.path().join("board.html")).unwrap();
    assert!(html.contains("name=\"viewport\""));
    for id in [
        "board-all",
        "board-zh",
        "board-en",
        "history-2026-11",
        "moves",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert!(!html.contains("<b>m2</b>") && html.contains("&lt;b&gt;m2&lt;/b&gt;"));
    let table = assay_board::terminal_table(&board);
    assert!(
        table.contains("Model One") && table.contains("100.0% [83.9–100.0] n=20 #1"),
        "{table}"
    );
}

/// Five models whose knowledge falls as their refusals of should-refuse items rise (40
/// answers each): ρ = −1 with an interval below 0. Three models: no correlation, and the
/// reading says why.
#[test]
fn quality_against_compliance_with_a_bootstrap_interval() {
    let mut answers_of = Vec::new();
    for (i, model) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        for copy in 0..2 {
            for mut row in answers(model, 10 - 2 * i, 2 * i, 0) {
                row.item_id = format!("{}-{copy}", row.item_id);
                answers_of.push(row);
            }
        }
    }
    let runs = vec![run(
        "r",
        "2026-12-01T00:00:00Z",
        &["a", "b", "c", "d", "e"],
        answers_of,
    )];
    let board = build(
        &Inputs {
            runs: &runs,
            ..Inputs::default()
        },
        Period::Month,
        "now",
    );
    let chart = board
        .scatters
        .iter()
        .find(|s| s.scope == "all" && s.x == "refused:should-refuse" && s.y == "accuracy:knowledge")
        .expect("a chart of knowledge against should-refuse refusals");
    assert_eq!(chart.points.len(), 5);
    let c = chart.correlation.as_ref().unwrap();
    assert!((c.rho + 1.0).abs() < 1e-12, "{c:?}");
    assert!(c.lo < c.hi && c.hi < 0.0, "{c:?}");
    assert!(
        chart.reading.contains("tend to have a lower"),
        "{}",
        chart.reading
    );
    // The same board again: the seeded bootstrap gives the same interval.
    let again = build(
        &Inputs {
            runs: &runs,
            ..Inputs::default()
        },
        Period::Month,
        "now",
    );
    assert_eq!(again.scatters, board.scatters);
    let html = assay_board::render_html(&board);
    assert!(html.contains("<svg viewBox=\"0 0 320 240\""));
    assert!(html.contains("Spearman"));

    let (small, _) = boards();
    let chart = small.scatters.iter().find(|s| s.scope == "all").unwrap();
    assert_eq!(chart.points.len(), 3);
    assert!(chart.correlation.is_none());
    assert!(
        chart.reading.contains("too few for a correlation"),
        "{}",
        chart.reading
    );
}

/// A judge's ratings and SuperCLUE scores are columns of their own, and the board says how far
/// the judge ranks models as people's votes do.
#[test]
fn judged_ratings_and_their_agreement_with_people() {
    let models = ["a", "b", "c", "d", "e"];
    let mut battles = Vec::new();
    let mut t = 0.0;
    for (i, better) in models.iter().enumerate() {
        for worse in &models[i + 1..] {
            for k in 0..40 {
                t += 1.0;
                // The better model wins 9 games of 10.
                let winner = if k % 10 == 0 {
                    Winner::ModelB
                } else {
                    Winner::ModelA
                };
                battles.push(Battle {
                    model_a: better.to_string(),
                    model_b: worse.to_string(),
                    winner,
                    language: Some("English".into()),
                    anony: true,
                    turn: 1,
                    tstamp: t,
                    style: None,
                    excluded: false,
                });
            }
        }
    }
    let options = LeaderboardOptions {
        bootstrap_rounds: 200,
        ..LeaderboardOptions::default()
    };
    let rated = compute(&battles, &options).unwrap();
    let scores = vec![assay_eval::pairwise::PairwiseScore {
        model: "b".into(),
        baseline: "a".into(),
        judge: "j".into(),
        games: 20,
        wins: 5,
        ties: 3,
        losses: 12,
        score: assay_stats::wilson(8, 20),
        pairs_both_orders: 10,
        orders_disagree: 2,
    }];
    let inputs = Inputs {
        human: BTreeMap::from([("all".to_string(), rated.clone())]),
        judged: BTreeMap::from([("all".to_string(), rated)]),
        pairwise: BTreeMap::from([("all".to_string(), scores)]),
        ..Inputs::default()
    };
    let board = build(&inputs, Period::Month, "now");
    let ids: Vec<&str> = board.columns.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["arena", "judged", "judged-score:a"]);
    assert_eq!(board.judged_battles, Some(400));
    let a = score(&board, "a", "all", "judged").unwrap();
    assert_eq!(a.rank, Some(1));
    let b = score(&board, "b", "all", "judged-score:a").unwrap();
    assert_eq!((b.k, b.n, b.value), (Some(8), 20, 0.4));
    let agreement = board.judge_agreement.as_ref().unwrap();
    assert_eq!(agreement.models.len(), 5);
    let c = agreement.correlation.as_ref().unwrap();
    assert!((c.rho - 1.0).abs() < 1e-12 && c.lo > 0.0, "{c:?}");
    assert!(
        agreement.reading.contains("ranks as people do"),
        "{}",
        agreement.reading
    );
    let html = assay_board::render_html(&board);
    assert!(html.contains("id=\"judge-agreement\""));
}
