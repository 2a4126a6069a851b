//! `assay arena ratings` and `assay arena export` as a user runs them: on the fixture battle
//! file, on a malformed file, and on a store's votes exported and read back.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

use assay_store::{Store, VoteRecord};
use serde_json::{json, Value};

fn assay(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(args)
        .output()
        .expect("assay runs")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../arena/tests/fixtures")
        .join(name)
}

fn json_of(out: &Output) -> Value {
    common::assert_succeeded(out);
    serde_json::from_slice(&out.stdout).expect("--json prints JSON")
}

/// `assay arena ratings --input FILE --bootstrap ROUNDS --json EXTRA…`, parsed.
fn ratings_json(file: &str, rounds: &str, extra: &[&str]) -> Value {
    let args = [
        "arena",
        "ratings",
        "--input",
        file,
        "--bootstrap",
        rounds,
        "--json",
    ];
    json_of(&assay(&[&args[..], extra].concat()))
}

/// (model, score) of each row.
fn scores(board: &Value) -> Vec<(String, f64)> {
    board["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["model"].as_str().unwrap().to_string(),
                r["score"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn ratings_of_an_lmsys_file() {
    let file = fixture("battles_small.json");
    let file = file.to_str().unwrap();
    let board = ratings_json(file, "100", &[]);
    let rows = board["rows"].as_array().unwrap();
    assert!(rows.len() >= 3, "{board}");
    let mut mean = 0.0;
    for (i, row) in rows.iter().enumerate() {
        let (score, lo, hi) = (
            row["score"].as_f64().unwrap(),
            row["lo"].as_f64().unwrap(),
            row["hi"].as_f64().unwrap(),
        );
        assert!(lo <= score && score <= hi, "{row}");
        assert!(row["votes"].as_u64().unwrap() > 0, "{row}");
        if i > 0 {
            assert!(
                rows[i - 1]["score"].as_f64().unwrap() >= score,
                "rows are sorted"
            );
        }
        mean += score / rows.len() as f64;
    }
    assert!(
        (mean - 1000.0).abs() < 1e-6,
        "the mean is anchored at 1000: {mean}"
    );
    assert!(board["timings"]["total_s"].as_f64().unwrap() >= 0.0);

    // The same seed gives the same intervals; the table names every model.
    let again = ratings_json(file, "100", &[]);
    assert_eq!(board["rows"], again["rows"]);
    let table = assay(&["arena", "ratings", "--input", file, "--bootstrap", "20"]);
    assert!(table.status.success());
    let table = String::from_utf8_lossy(&table.stdout);
    for row in rows {
        assert!(table.contains(row["model"].as_str().unwrap()), "{table}");
    }

    // An anchor pins one model; a language filter keeps only its battles.
    let top = rows[0]["model"].as_str().unwrap();
    let anchored = ratings_json(file, "0", &["--anchor", &format!("{top}=1200")]);
    let pinned = scores(&anchored)
        .into_iter()
        .find(|(m, _)| m == top)
        .unwrap()
        .1;
    assert!((pinned - 1200.0).abs() < 1e-6, "{pinned}");
    let english = ratings_json(file, "0", &["--filter", "language=English"]);
    assert!(english["battles"].as_u64().unwrap() < board["battles"].as_u64().unwrap());

    // Language codes, as people type them: en is English, zh Chinese, zh|en either.
    let en = ratings_json(file, "0", &["--filter", "language=en"]);
    assert_eq!(en["battles"], english["battles"]);
    let chinese = ratings_json(file, "0", &["--filter", "language=Chinese"]);
    let zh = ratings_json(file, "0", &["--filter", "language=zh"]);
    assert_eq!(zh["battles"], chinese["battles"]);
    assert!(
        zh["battles"].as_u64().unwrap() > 0,
        "the fixture has Chinese battles"
    );
    let either = ratings_json(file, "0", &["--filter", "language=zh|en"]);
    assert_eq!(
        either["battles"].as_u64().unwrap(),
        en["battles"].as_u64().unwrap() + zh["battles"].as_u64().unwrap()
    );
    // An unknown language: one line naming the valid ones.
    let out = assay(&[
        "arena",
        "ratings",
        "--input",
        file,
        "--filter",
        "language=cn",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("language=cn: unknown language; valid: zh (Chinese), en (English)"),
        "{stderr}"
    );
}

/// `--models-config` names votes stored under either spelling of a model by its display
/// name, warns about entries that match no battle, and models with few votes are marked
/// preliminary (`--preliminary-below`).
#[test]
fn display_names_for_either_spelling_and_preliminary_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("arena.db");
    let store = Store::open(&db).unwrap();
    // smollm2's votes are stored under its default name and under its model string.
    for i in 0..40 {
        let (a, b) = match i % 4 {
            0 => ("smollm2", "qwen"),
            1 => ("local:smollm2", "qwen"),
            2 => ("qwen", "smollm2"),
            _ => ("gemma", "qwen"),
        };
        assert!(store
            .record_vote(&vote(i, a, b, ["model_a", "model_b", "tie"][i % 3], false))
            .unwrap());
    }
    drop(store);
    let config = dir.path().join("models.toml");
    std::fs::write(
        &config,
        "[[models]]\nname = \"local:smollm2\"\ndisplay = \"SmolLM2-135M\"\norganization = \"Hugging Face\"\n\n         [[models]]\nname = \"http://127.0.0.1:8000/v1#qwen\"\ndisplay = \"Qwen\"\n\n         [[models]]\nname = \"openai:gpt-4o\"\ndisplay = \"GPT-4o\"\n",
    )
    .unwrap();
    let out = assay(&[
        "arena",
        "ratings",
        "--db",
        db.to_str().unwrap(),
        "--bootstrap",
        "0",
        "--models-config",
        config.to_str().unwrap(),
        "--preliminary-below",
        "20",
        "--json",
    ]);
    let board = json_of(&out);
    let mut rows: Vec<(String, u64, bool, Value)> = board["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["model"].as_str().unwrap().to_string(),
                r["votes"].as_u64().unwrap(),
                r["preliminary"].as_bool().unwrap(),
                r["organization"].clone(),
            )
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        rows,
        [
            ("Qwen".to_string(), 40, false, Value::Null),
            ("SmolLM2-135M".to_string(), 30, false, json!("Hugging Face")),
            ("gemma".to_string(), 10, true, Value::Null),
        ]
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: --models-config: GPT-4o matches no battle"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("SmolLM2-135M matches no battle"),
        "{stderr}"
    );
    // A model filter may name the model by its string too.
    let only = json_of(&assay(&[
        "arena",
        "ratings",
        "--db",
        db.to_str().unwrap(),
        "--bootstrap",
        "0",
        "--models-config",
        config.to_str().unwrap(),
        "--filter",
        "model=local:smollm2",
        "--json",
    ]));
    assert_eq!(only["battles"], 30, "{only}");

    // The terminal table says it in words.
    let out = assay(&[
        "arena",
        "ratings",
        "--db",
        db.to_str().unwrap(),
        "--bootstrap",
        "0",
        "--preliminary-below",
        "20",
    ]);
    common::assert_succeeded(&out);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("gemma (preliminary)"), "{table}");
    assert!(
        table.contains("preliminary: fewer than 20 votes"),
        "{table}"
    );
}

#[test]
fn a_malformed_file_is_refused_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("votes.jsonl");
    let stderr = refused(
        &path,
        "{\"model_a\":\"a\",\"model_b\":\"b\",\"winner\":\"model_a\"}\n{\"model_a\":\"a\",\"model_b\":\"b\",\"winner\":\"model_c\"}\n",
    );
    assert!(
        stderr.contains("votes.jsonl") && stderr.contains(":2") && stderr.contains("winner"),
        "{stderr}"
    );

    let stderr = refused(
        &path,
        "{\"model_a\":\"a\",\"model_b\":\"b\",\"winner\":\"model_a\"}\n{\"model_a\":\"a\",",
    );
    assert!(stderr.contains("votes.jsonl:2"), "{stderr}");
}

/// Writes `votes` to `path`, then the stderr of `assay arena ratings --input PATH`, which must
/// fail.
fn refused(path: &std::path::Path, votes: &str) -> String {
    std::fs::write(path, votes).unwrap();
    let out = assay(&["arena", "ratings", "--input", path.to_str().unwrap()]);
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn vote(i: usize, a: &str, b: &str, winner: &str, leak: bool) -> VoteRecord {
    VoteRecord {
        battle_id: format!("battle-{i}"),
        created_at: format!("2026-11-28T10:{:02}:00.000Z", i % 60),
        battle_started_at: "2026-11-28T09:59:00.000Z".to_string(),
        model_a: a.to_string(),
        model_b: b.to_string(),
        winner: winner.to_string(),
        conversation_a: json!([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": format!("**Hello** from A {i}")}]),
        conversation_b: json!([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "- hello\n- from B"}]),
        language: if i.is_multiple_of(3) {
            "Chinese"
        } else {
            "English"
        }
        .to_string(),
        voter_id: format!("voter-{}", i % 4),
        ip_hash: "secret-ip-hash".to_string(),
        identity_leak: leak,
        turns: 1,
        metadata: json!({}),
    }
}

#[test]
fn exported_votes_rate_like_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("arena.db");
    let store = Store::open(&db).unwrap();
    let models = ["alpha", "beta", "gamma"];
    let winners = [
        "model_a",
        "model_b",
        "tie",
        "model_a",
        "tie (bothbad)",
        "model_a",
    ];
    for i in 0..60 {
        let (a, b) = (models[i % 3], models[(i + 1 + i / 3 % 2) % 3]);
        let leak = i == 7;
        assert!(store
            .record_vote(&vote(i, a, b, winners[i % winners.len()], leak))
            .unwrap());
    }
    drop(store);
    let db = db.to_str().unwrap();
    let export = dir.path().join("votes.jsonl");
    let out = assay(&[
        "arena",
        "export",
        "--db",
        db,
        "--out",
        export.to_str().unwrap(),
        "--conversations",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&export).unwrap();
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 60);
    assert_eq!(records[7]["excluded"], true);
    assert_eq!(records[0]["question_id"], "battle-0");
    assert_eq!(
        records[0]["conversation_b"][1]["content"],
        "- hello\n- from B"
    );
    assert!(
        !text.contains("secret-ip-hash") && !text.contains("voter-"),
        "no voter data leaves the store"
    );

    for extra in [&[][..], &["--style-control"][..]] {
        let mut from_db = vec![
            "arena",
            "ratings",
            "--db",
            db,
            "--bootstrap",
            "50",
            "--json",
        ];
        from_db.extend_from_slice(extra);
        let mut from_file = vec![
            "arena",
            "ratings",
            "--input",
            export.to_str().unwrap(),
            "--bootstrap",
            "50",
            "--json",
        ];
        from_file.extend_from_slice(extra);
        let (db_board, file_board) = (json_of(&assay(&from_db)), json_of(&assay(&from_file)));
        assert_eq!(db_board["battles"], 59, "{db_board}");
        assert_eq!(db_board["excluded"], 1);
        assert_eq!(db_board["rows"], file_board["rows"], "{extra:?}");
    }
}
