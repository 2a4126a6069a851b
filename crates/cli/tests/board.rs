//! `assay board` end to end on the embedded model: two variants of SmolLM2 (greedy, and
//! sampled at temperature 1.0), a third with a system prompt and a `guard:` variant, asked the
//! knowledge, over-refusal and sensitive suites in two runs on different dates (the first
//! backdated in the store), open answers judged pairwise against the greedy one with SmolLM2
//! as the judge (the machinery, not the finding), people's votes cast through the arena's web
//! app; then the board's table, JSON, files and the arena's `/board` page in headless Chromium.

mod arena_process;
mod common;

use std::path::Path;

use arena_process::{Arena, Voter};
use assay_board::Board;
use common::{assay, check_browser_prerequisites, engine_lock, ok, run_browser_script};

const GREEDY: &str = "local:smollm2?max_tokens=16";
const HOT: &str = "local:smollm2?temperature=1.0&max_tokens=16";
const TERSE: &str = "local:smollm2?system=Answer in one short sentence.&max_tokens=16";
const GUARDED: &str = "guard:example@local:smollm2?max_tokens=16";

const MODELS_FILE: &str = r#"
[[models]]
name = "local:smollm2?max_tokens=16"
display = "SmolLM2 greedy"
organization = "Hugging Face"
license = "Apache-2.0"
access = "open weights"

[[models]]
name = "local:smollm2?temperature=1.0&max_tokens=16"
display = "SmolLM2 hot"
organization = "Hugging Face"
license = "Apache-2.0"
access = "open weights"

[[models]]
name = "local:smollm2?system=Answer in one short sentence.&max_tokens=16"
display = "SmolLM2 terse"
organization = "Hugging Face"
access = "open weights"

[[models]]
name = "guard:example@local:smollm2?max_tokens=16"
display = "SmolLM2 guarded"
organization = "assay"
access = "app"
"#;

fn audit(db: &Path, limit: &str, langs: &str, extra: &[&str]) -> String {
    let models = [GREEDY, HOT, TERSE, GUARDED].join(",");
    let reports = db.with_file_name(format!("report-{langs}"));
    let mut args = vec![
        "audit",
        "--models",
        &models,
        "--suite",
        "knowledge,over-refusal,sensitive",
        "--limit",
        limit,
        "--langs",
        langs,
        "--db",
        db.to_str().unwrap(),
        "--out",
        reports.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = assay(&args);
    let printed = ok(&out);
    format!("{printed}{}", String::from_utf8_lossy(&out.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_board_puts_audits_judged_answers_and_votes_side_by_side() {
    check_browser_prerequisites();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("assay.db");
    let models_file = dir.path().join("models.toml");
    std::fs::write(&models_file, MODELS_FILE).unwrap();

    let engine = engine_lock();
    // The first run (one item per suite, in English: a 135M judge takes seconds a game),
    // judged pairwise against the greedy variant, then dated in October.
    let first = audit(
        &db,
        "1",
        "en",
        &["--judge", "local:smollm2", "--pairwise", GREEDY],
    );
    let games = first
        .lines()
        .find(|l| l.starts_with("pairwise against"))
        .unwrap_or_else(|| panic!("no pairwise summary in\n{first}"))
        .to_string();
    // After the baseline's name (which has digits of its own).
    let (_, counts) = games.split_once(": ").unwrap();
    let counted: Vec<u64> = counts
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    // "judged J game(s) now, 0 before; unreadable verdicts U, failed judge requests E"
    let [judged, before, unreadable, failed] = counted[..] else {
        panic!("{games}");
    };
    // 1 open item × 2 suites × 3 models × 2 orders.
    assert_eq!((before, judged + unreadable + failed), (0, 12), "{games}");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let first_id: String = conn
        .query_row("SELECT id FROM runs", [], |r| r.get(0))
        .unwrap();
    // `assay audit` kept the run's analysis for the board at the run's revision; dating the
    // run again makes what was kept stale (the board below reads the answers again).
    let revisions = |conn: &rusqlite::Connection| -> (i64, i64) {
        conn.query_row(
            "SELECT k.revision, r.revision FROM kept_analyses k JOIN runs r ON r.id = k.run_id \
             WHERE r.id = ?1",
            [&first_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    };
    let (kept, now) = revisions(&conn);
    assert_eq!(kept, now);
    conn.execute(
        "UPDATE runs SET created_at = '2026-10-15T10:00:00.000Z' WHERE id = ?1",
        [&first_id],
    )
    .unwrap();
    let (kept, now) = revisions(&conn);
    assert!(now > kept, "kept at {kept}, the run is at {now}");
    drop(conn);
    audit(&db, "2", "en,zh", &[]);
    drop(engine);

    // People's votes between the two main variants, through the arena's pages.
    // (The arena's engine is a process of its own; this binary has no other test to wait for.)
    let arena = Arena::start_with(
        &format!("{GREEDY},{HOT}"),
        db.to_str().unwrap(),
        &["--models-config", models_file.to_str().unwrap()],
        &[("ASSAY_ARENA_IP_SALT", arena_process::TEST_SALT)],
    );
    let voter = Voter::open(&arena).await;
    // A vote whose answer names a model is kept but left out of the ratings; the hot variant
    // samples, so whether one does can change from run to run.
    let mut rated_votes = 0;
    for (prompt, winner) in [
        ("What is the capital of France?", "model_a"),
        ("Name a colour.", "model_b"),
        ("法国的首都是哪里？", "tie"),
        ("What is 2 + 2?", "model_a"),
    ] {
        let vote = voter.battle_and_vote(&arena, prompt, winner).await;
        if vote["identity_leak"] == false {
            rated_votes += 1;
        }
    }
    assert!(rated_votes > 0, "every answer named a model");

    // The board on the command line: every score with its interval, two periods.
    let out = dir.path().join("board");
    let printed = ok(&assay(&[
        "board",
        "--db",
        db.to_str().unwrap(),
        "--models-config",
        models_file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(
        printed.contains("SmolLM2 greedy") && printed.contains("2 run(s), 2 period(s)"),
        "{printed}"
    );
    let board: Board =
        serde_json::from_slice(&std::fs::read(out.join("board.json")).unwrap()).unwrap();
    let ids: Vec<&str> = board.columns.iter().map(|c| c.id.as_str()).collect();
    for id in [
        "accuracy:knowledge",
        "refused:over-refusal",
        "refused:sensitive",
        "gap:over-refusal",
        "gap:sensitive",
        "guard:sensitive",
        "arena",
    ] {
        assert!(ids.contains(&id), "no column {id} in {ids:?}");
    }
    assert_eq!(ids.contains(&"judged"), judged > 0, "{ids:?} after {games}");
    let displays: Vec<&str> = board.rows.iter().map(|r| r.info.display.as_str()).collect();
    assert_eq!(
        displays,
        [
            "SmolLM2 greedy",
            "SmolLM2 hot",
            "SmolLM2 terse",
            "SmolLM2 guarded"
        ]
    );
    let guarded = &board.rows[3].info;
    assert_eq!(
        (guarded.access.as_str(), guarded.organization.as_deref()),
        ("app", Some("assay"))
    );
    for row in &board.rows {
        for (scope, scores) in &row.scores {
            for (column, s) in scores {
                assert!(
                    s.lo <= s.value && s.value <= s.hi && s.n > 0,
                    "{} {scope} {column}: {s:?}",
                    row.info.display
                );
            }
        }
        let all = &row.scores["all"];
        assert_eq!(
            all["accuracy:knowledge"].n, 4,
            "2 items × 2 languages, from the latest run"
        );
        assert_ne!(
            all["accuracy:knowledge"].run.as_deref(),
            Some(first_id.as_str())
        );
    }
    // People's votes rate the two variants they saw; the judge's votes are not among them.
    let arena_rows: Vec<(&str, u64)> = board
        .rows
        .iter()
        .filter_map(|r| Some((r.info.display.as_str(), r.scores["all"].get("arena")?.n)))
        .collect();
    assert_eq!(
        arena_rows,
        [
            ("SmolLM2 greedy", rated_votes),
            ("SmolLM2 hot", rated_votes)
        ]
    );
    assert_eq!(board.arena_battles, Some(rated_votes));
    let periods: Vec<&str> = board.history.iter().map(|p| p.period.as_str()).collect();
    assert_eq!(periods.len(), 2);
    assert_eq!(periods[0], "2026-10");
    assert_eq!(board.history[0].runs, std::slice::from_ref(&first_id));
    // The scatter of knowledge against refusals, with the four models and a correlation.
    let chart = board
        .scatters
        .iter()
        .find(|c| c.scope == "all" && c.x == "refused:sensitive" && c.y == "accuracy:knowledge")
        .expect("knowledge against sensitive refusals");
    assert_eq!(chart.points.len(), 4);
    assert!(chart.reading.contains("4 models"), "{}", chart.reading);
    let csv = std::fs::read(out.join("board.csv")).unwrap();
    assert!(csv.starts_with(b"\xEF\xBB\xBFmodel,"));

    // The arena's /board page, in a real browser at desktop and phone width.
    let url = format!("{}/board", arena.url);
    let stdout = run_browser_script("board.mjs", &[Path::new(&url)]);
    assert!(
        stdout.contains("ok - 390 px: no horizontal page scroll"),
        "{stdout}"
    );
    drop(arena);
}
