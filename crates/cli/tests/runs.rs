//! `assay runs`: the listing as JSON, `rm` and `prune` on a real SQLite file and on a real
//! PostgreSQL server, and a `--filter` that matches nothing refused before any run exists.

mod common;

#[allow(dead_code)] // the store tests use the rest
#[path = "../../store/tests/common/postgres.rs"]
mod pg_server;

use std::path::Path;
use std::process::{Command, Output};

use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

/// An OpenAI-compatible model on 127.0.0.1 that answers "D" at once.
async fn model() -> String {
    let app = Router::new()
        .route(
            "/v1/chat/completions",
            post(|| async {
                Json(json!({
                    "id": "x", "object": "chat.completion", "created": 0, "model": "m",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": "D"},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}
                }))
            }),
        )
        .route(
            "/v1/models",
            get(|| async {
                Json(json!({"object": "list", "data": [{"id": "m", "object": "model"}]}))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/v1#m")
}

/// `assay ARGS… --db DB`, run off the test's runtime (the model answers on it).
async fn assay(db: &str, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_assay"));
    command.args(args).args(["--db", db]);
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

async fn ok(db: &str, args: &[&str]) -> String {
    let out = assay(db, args).await;
    common::assert_succeeded(&out);
    String::from_utf8(out.stdout).unwrap()
}

/// An audit of two knowledge items in English; its run id.
async fn audit(db: &str, model: &str, out: &Path) -> String {
    let out = assay(
        db,
        &[
            "audit",
            "--models",
            model,
            "--suite",
            "knowledge",
            "--limit",
            "2",
            "--langs",
            "en",
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .await;
    common::assert_succeeded(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("run "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no run id in {stderr}"))
        .to_string()
}

async fn listed(db: &str) -> Vec<Value> {
    let stdout = ok(db, &["runs", "--json"]).await;
    serde_json::from_str::<Value>(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}"))
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {stdout}"))
        .clone()
}

fn ids(runs: &[Value]) -> Vec<&str> {
    runs.iter().map(|r| r["id"].as_str().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_are_listed_as_json_pruned_and_removed_in_a_sqlite_store() {
    let model = model().await;
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("assay.db");
    let db = db_path.to_str().unwrap();

    // A --db that does not exist is a typo, not an empty store to create.
    let out = assay(db, &["runs", "--json"]).await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no store at"),
        "{out:?}"
    );
    assert!(!db_path.exists(), "nothing created");

    let old = audit(db, &model, &dir.path().join("a")).await;
    let fresh = audit(db, &model, &dir.path().join("b")).await;

    // A filter value no item has: one line naming the categories there are, and no run.
    let out = assay(
        db,
        &[
            "audit",
            "--models",
            &model,
            "--suite",
            "knowledge",
            "--filter",
            "category=histroy",
        ],
    )
    .await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(r#"no item has category "histroy""#)
            && stderr.contains("knowledge: general, chinese-culture"),
        "{stderr}"
    );

    let runs = listed(db).await;
    assert_eq!(ids(&runs), [fresh.as_str(), old.as_str()], "newest first");
    for run in &runs {
        assert_eq!(run["status"], "finished", "{run}");
        assert_eq!(run["answered"], 2, "{run}");
        assert_eq!(run["errors"], 0, "{run}");
        assert_eq!(run["models"], json!([model]), "{run}");
        assert_eq!(run["suites"], json!(["knowledge"]), "{run}");
        assert!(run["last_answer_at"].is_string(), "{run}");
    }

    // The old run as a killed audit leaves it: still "running", nothing asked for a day.
    let conn = rusqlite::Connection::open(&db_path).unwrap();
    conn.execute(
        "UPDATE runs SET status = 'running', finished_at = NULL, \
         created_at = '2020-01-01T00:00:00.000Z' WHERE id = ?1",
        [&old],
    )
    .unwrap();
    conn.execute(
        "UPDATE answers SET started_at = '2020-01-01T00:00:01.000Z' WHERE run_id = ?1",
        [&old],
    )
    .unwrap();

    let dry = ok(
        db,
        &[
            "runs",
            "prune",
            "--status",
            "running",
            "--older-than",
            "1h",
            "--dry-run",
        ],
    )
    .await;
    assert!(dry.contains(&old) && !dry.contains(&fresh), "{dry}");
    assert!(dry.contains("nothing deleted"), "{dry}");
    assert_eq!(listed(db).await.len(), 2);

    // A fresh finished run is not old enough; the other statuses are not asked for.
    let none = ok(
        db,
        &[
            "runs",
            "prune",
            "--status",
            "finished,interrupted",
            "--older-than",
            "1h",
        ],
    )
    .await;
    assert!(none.contains("no runs to prune"), "{none}");
    let pruned = ok(
        db,
        &["runs", "prune", "--status", "running", "--older-than", "2d"],
    )
    .await;
    assert!(
        pruned.contains(&format!("deleted run {old} (2 items, 2 answers, ")),
        "{pruned}"
    );
    assert_eq!(ids(&listed(db).await), [fresh.as_str()]);
    let orphans: i64 = conn
        .query_row(
            "SELECT (SELECT COUNT(*) FROM answers WHERE run_id = ?1) \
             + (SELECT COUNT(*) FROM items WHERE run_id = ?1)",
            [&old],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0);

    // rm: every reference is resolved before anything goes.
    let out = assay(db, &["runs", "rm", &fresh, "nope"]).await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no run matches \"nope\""),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(listed(db).await.len(), 1);
    let removed = ok(db, &["runs", "rm", &fresh[..fresh.len() - 1]]).await;
    assert!(
        removed.contains(&format!("deleted run {fresh}")),
        "{removed}"
    );
    assert!(listed(db).await.is_empty());

    // Bad values are refused by name.
    let out = assay(
        db,
        &["runs", "prune", "--status", "done", "--older-than", "1h"],
    )
    .await;
    assert!(!out.status.success());
    let out = assay(
        db,
        &["runs", "prune", "--status", "running", "--older-than", "1y"],
    )
    .await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("30m, 1h or 2d"));
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_are_removed_from_a_postgresql_store() {
    let model = model().await;
    let url = pg_server::shared().create_database();
    let dir = tempfile::tempdir().unwrap();
    let run = audit(&url, &model, &dir.path().join("a")).await;
    let kept = audit(&url, &model, &dir.path().join("b")).await;
    assert_eq!(listed(&url).await.len(), 2);

    let removed = ok(&url, &["runs", "rm", &run]).await;
    assert!(
        removed.contains(&format!("deleted run {run} (2 items, 2 answers, ")),
        "{removed}"
    );
    let runs = listed(&url).await;
    assert_eq!(ids(&runs), [kept.as_str()]);
    // The other run's answers are all there: its report still builds.
    let report = ok(
        &url,
        &[
            "report",
            &kept,
            "--out",
            dir.path().join("c").to_str().unwrap(),
        ],
    )
    .await;
    assert!(report.contains("report:"), "{report}");
    pg_server::with_client(&url, |client| {
        let left: i64 = client
            .query_one("SELECT COUNT(*) FROM answers WHERE run_id = $1", &[&run])?
            .get(0);
        assert_eq!(left, 0);
        Ok(())
    })
    .unwrap();
}
