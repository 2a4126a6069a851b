//! The store against real SQLite files in temporary directories.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use assay_store::{
    AnswerRecord, CachedAnswer, GradeRecord, ItemRow, NewRun, RequestKey, RunCounts, Store,
    StoreError, SCHEMA_VERSION,
};
use serde_json::json;
use tempfile::TempDir;

/// Set (to a database path) only in the child process of the crash test.
const CRASH_CHILD_ENV: &str = "ASSAY_STORE_CRASH_CHILD_DB";
/// What the crash child prints after each commit.
const COMMITTED: &str = "COMMITTED id=";

/// A store in a fresh directory, under subdirectories that do not exist yet.
fn temp_store() -> (TempDir, PathBuf, Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dirs/assay.db");
    let store = Store::open(&path).unwrap();
    (dir, path, store)
}

fn new_run(id: &str, created_at: &str) -> NewRun {
    NewRun {
        id: id.to_string(),
        created_at: created_at.to_string(),
        status: "running".to_string(),
        config: json!({"models": ["m1"], "samples": 2, "nested": {"z": 1, "a": [1, 2]}}),
    }
}

fn key(model: &str, item_id: &str, sample: u32) -> RequestKey {
    RequestKey {
        model: model.to_string(),
        suite: "sensitive".to_string(),
        item_id: item_id.to_string(),
        lang: "en".to_string(),
        sample,
    }
}

fn grade(grader: &str, label: &str) -> GradeRecord {
    GradeRecord {
        grader: grader.to_string(),
        version: "1".to_string(),
        label: label.to_string(),
        rule: format!("{grader}-rule"),
        detail: Some(json!({"matched": label})),
    }
}

/// An attempt at `key`: `Ok(text)` a successful one, `Err(message)` a failed one.
fn attempt(run_id: &str, key: RequestKey, outcome: Result<&str, &str>) -> AnswerRecord {
    let (text, error) = match outcome {
        Ok(text) => (Some(text.to_string()), None),
        Err(error) => (None, Some(error.to_string())),
    };
    AnswerRecord {
        run_id: run_id.to_string(),
        cache_key: format!("ck-{}-{}-{}-{:?}", key.model, key.item_id, key.sample, text),
        seed: 7 + u64::from(key.sample),
        key,
        request: json!({"messages": [{"role": "user", "content": "hi"}], "seed": 7}),
        finish_reason: text.as_ref().map(|_| "stop".to_string()),
        prompt_tokens: Some(12),
        completion_tokens: text.as_ref().map(|_| 34),
        latency_ms: Some(56),
        text,
        error,
        cached: false,
        started_at: "2024-05-01T10:00:00Z".to_string(),
        grades: Vec::new(),
    }
}

#[test]
fn migrating_twice_is_idempotent_and_the_version_is_recorded() {
    let (_dir, path, store) = temp_store();
    assert!(
        path.exists(),
        "the file and its parent directories are created"
    );
    assert_eq!(store.path(), path);
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    store
        .create_run(&new_run("r1", "2024-05-01T10:00:00Z"))
        .unwrap();
    drop(store);

    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert!(
        store.run("r1").unwrap().is_some(),
        "data survives reopening"
    );
    drop(store);

    let conn = rusqlite::Connection::open(&path).unwrap();
    let (rows, max): (i64, i64) = conn
        .query_row(
            "SELECT COUNT(*), MAX(version) FROM schema_migrations",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!((rows, max), (SCHEMA_VERSION, SCHEMA_VERSION));
    let applied_at: String = conn
        .query_row(
            "SELECT applied_at FROM schema_migrations WHERE version = 1",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert!(
        applied_at.ends_with('Z') && applied_at.contains('T'),
        "{applied_at}"
    );
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal", "the file stays in WAL mode");
}

#[test]
fn a_newer_schema_is_refused_naming_the_file() {
    let (_dir, path, store) = temp_store();
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, '2099-01-01T00:00:00Z')",
        [SCHEMA_VERSION + 1],
    )
    .unwrap();
    drop(conn);

    let err = Store::open(&path).unwrap_err();
    match &err {
        StoreError::SchemaTooNew {
            path: p,
            found,
            known,
        } => {
            assert_eq!(p, &path);
            assert_eq!((*found, *known), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
}

#[test]
fn runs_are_created_listed_and_resolved() {
    let (_dir, _path, store) = temp_store();
    let err = store.resolve_run("latest").unwrap_err();
    assert!(matches!(err, StoreError::RunNotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("no runs"), "{err}");

    store
        .create_run(&new_run("20240101-aaa1", "2024-01-01T00:00:00Z"))
        .unwrap();
    store
        .create_run(&new_run("20240103-ccc", "2024-01-03T00:00:00Z"))
        .unwrap();
    store
        .create_run(&new_run("20240101-aab2", "2024-01-01T00:00:01Z"))
        .unwrap();

    let err = store
        .create_run(&new_run("20240103-ccc", "2024-02-01T00:00:00Z"))
        .unwrap_err();
    assert!(
        matches!(err, StoreError::RunExists { ref id, .. } if id == "20240103-ccc"),
        "{err:?}"
    );

    let listed: Vec<String> = store
        .runs()
        .unwrap()
        .into_iter()
        .map(|s| s.run.id)
        .collect();
    assert_eq!(
        listed,
        ["20240103-ccc", "20240101-aab2", "20240101-aaa1"],
        "newest first"
    );

    let run = store.run("20240101-aaa1").unwrap().unwrap();
    assert_eq!(run.config, new_run("x", "y").config, "config round-trips");
    assert_eq!(
        (run.status.as_str(), run.finished_at.as_deref()),
        ("running", None)
    );
    assert_eq!(store.run("nope").unwrap(), None);

    store
        .set_run_status("20240101-aaa1", "finished", Some("2024-01-01T01:00:00Z"))
        .unwrap();
    let run = store.run("20240101-aaa1").unwrap().unwrap();
    assert_eq!(
        (run.status.as_str(), run.finished_at.as_deref()),
        ("finished", Some("2024-01-01T01:00:00Z"))
    );
    store
        .set_run_status("20240101-aaa1", "running", None)
        .unwrap();
    assert_eq!(
        store.run("20240101-aaa1").unwrap().unwrap().finished_at,
        None
    );
    let err = store.set_run_status("nope", "finished", None).unwrap_err();
    assert!(
        matches!(err, StoreError::UnknownRun { ref id, .. } if id == "nope"),
        "{err:?}"
    );

    assert_eq!(store.resolve_run("latest").unwrap(), "20240103-ccc");
    assert_eq!(store.resolve_run("20240101-aaa1").unwrap(), "20240101-aaa1");
    assert_eq!(store.resolve_run("20240103").unwrap(), "20240103-ccc");
    assert_eq!(store.resolve_run("20240101-aab").unwrap(), "20240101-aab2");

    match store.resolve_run("20240101-aa").unwrap_err() {
        StoreError::AmbiguousRun { candidates, .. } => {
            assert_eq!(candidates, ["20240101-aab2", "20240101-aaa1"])
        }
        other => panic!("expected AmbiguousRun, got {other:?}"),
    }
    let err = store.resolve_run("2099").unwrap_err();
    match &err {
        StoreError::RunNotFound { known, .. } => {
            assert_eq!(known, &["20240103-ccc", "20240101-aab2", "20240101-aaa1"])
        }
        other => panic!("expected RunNotFound, got {other:?}"),
    }
    assert!(
        err.to_string().contains("20240103-ccc"),
        "the error lists runs: {err}"
    );
    assert!(
        store.resolve_run("").is_err(),
        "an empty reference matches nothing"
    );
}

#[test]
fn putting_items_twice_is_idempotent() {
    let (_dir, _path, store) = temp_store();
    store
        .create_run(&new_run("r", "2024-05-01T10:00:00Z"))
        .unwrap();
    let item = |item_id: &str, lang: &str| ItemRow {
        suite: "knowledge".to_string(),
        item_id: item_id.to_string(),
        category: "history".to_string(),
        kind: "choice".to_string(),
        expect: Some("answer".to_string()),
        lang: lang.to_string(),
        prompt: format!("prompt {item_id} {lang}"),
        choices: Some(json!(["A", "B", "C"])),
        answer_key: Some("B".to_string()),
    };
    let mut items = vec![item("k2", "en"), item("k1", "zh"), item("k1", "en")];
    items[0].choices = None;
    items[0].expect = None;
    store.put_items("r", &items).unwrap();
    store.put_items("r", &items).unwrap();

    let mut expected = vec![items[2].clone(), items[1].clone(), items[0].clone()];
    assert_eq!(
        store.items("r").unwrap(),
        expected,
        "ordered by suite, item, lang"
    );

    items[1].prompt = "changed".to_string();
    store.put_items("r", &items[1..2]).unwrap();
    expected[1].prompt = "changed".to_string();
    assert_eq!(
        store.items("r").unwrap(),
        expected,
        "an upsert replaces the row"
    );

    assert!(store.items("other").unwrap().is_empty());
    let err = store.put_items("other", &items).unwrap_err();
    assert!(matches!(err, StoreError::UnknownRun { .. }), "{err:?}");
}

#[test]
fn the_latest_attempt_of_each_request_wins() {
    let (_dir, _path, store) = temp_store();
    store
        .create_run(&new_run("r", "2024-05-01T10:00:00Z"))
        .unwrap();
    store
        .create_run(&new_run("other", "2024-05-01T10:00:00Z"))
        .unwrap();

    // a: an error, then a success. b: a success, then an error. c: only errors.
    // d: one success served from the cache, on sample 1.
    let a_fail = attempt("r", key("m1", "a", 0), Err("timeout"));
    let mut a_ok = attempt("r", key("m1", "a", 0), Ok("answer a"));
    a_ok.grades = vec![grade("judge", "complied"), grade("refusal", "refused")];
    let b_ok = attempt("r", key("m1", "b", 0), Ok("answer b"));
    let b_fail = attempt("r", key("m1", "b", 0), Err("HTTP 500"));
    let c_fail = attempt("r", key("m0", "c", 0), Err("connection refused"));
    let mut d_ok = attempt("r", key("m1", "a", 1), Ok("answer d"));
    d_ok.cached = true;
    d_ok.grades = vec![grade("refusal", "complied")];
    // Another run's answers do not leak in.
    let elsewhere = attempt("other", key("m1", "a", 0), Ok("elsewhere"));

    let mut ids = Vec::new();
    for record in [&a_fail, &a_ok, &b_ok, &b_fail, &c_fail, &d_ok, &elsewhere] {
        ids.push(store.record_answer(record).unwrap());
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase: {ids:?}");

    let latest = store.latest_answers("r").unwrap();
    let got: Vec<(i64, &AnswerRecord)> = latest.iter().map(|s| (s.id, &s.answer)).collect();
    assert_eq!(
        got,
        [
            (ids[4], &c_fail),
            (ids[1], &a_ok),
            (ids[5], &d_ok),
            (ids[3], &b_fail),
        ],
        "latest per key, ordered by model, suite, item, lang, sample, with grades"
    );

    let answered = store.answered_keys("r").unwrap();
    let expected: HashSet<RequestKey> =
        [key("m1", "a", 0), key("m1", "b", 0), key("m1", "a", 1)].into();
    assert_eq!(answered, expected, "keys with a successful attempt; not c");

    let hit = store.cache_get(&a_ok.cache_key).unwrap().unwrap();
    assert_eq!(hit.text, "answer a");
    assert_eq!(
        (
            hit.finish_reason.as_deref(),
            hit.prompt_tokens,
            hit.completion_tokens,
            hit.latency_ms
        ),
        (Some("stop"), Some(12), Some(34), Some(56))
    );
    assert!(store.cache_get(&b_ok.cache_key).unwrap().is_some());
    assert_eq!(
        store.cache_get(&a_fail.cache_key).unwrap(),
        None,
        "errors are not cached"
    );
    assert_eq!(store.cache_get(&c_fail.cache_key).unwrap(), None);
    assert_eq!(store.cache_get("no such key").unwrap(), None);

    let counts = RunCounts {
        answered: 2,
        errors: 2,
        cached: 1,
    };
    assert_eq!(store.run_counts("r").unwrap(), counts);
    assert_eq!(store.run_counts("nope").unwrap(), RunCounts::default());
    let summaries = store.runs().unwrap();
    let summary = summaries.iter().find(|s| s.run.id == "r").unwrap();
    assert_eq!(summary.counts, counts);

    let err = store
        .record_answer(&attempt("nope", key("m1", "a", 0), Ok("x")))
        .unwrap_err();
    assert!(matches!(err, StoreError::UnknownRun { .. }), "{err:?}");
}

#[test]
fn a_later_success_replaces_the_cached_answer() {
    let (_dir, _path, store) = temp_store();
    store
        .create_run(&new_run("r", "2024-05-01T10:00:00Z"))
        .unwrap();
    let first = attempt("r", key("m1", "a", 0), Ok("first"));
    let mut second = attempt("r", key("m1", "a", 0), Ok("second"));
    second.cache_key = first.cache_key.clone();
    second.latency_ms = None;
    store.record_answer(&first).unwrap();
    store.record_answer(&second).unwrap();
    let hit = store.cache_get(&first.cache_key).unwrap().unwrap();
    assert_eq!((hit.text.as_str(), hit.latency_ms), ("second", None));
}

#[test]
fn put_grade_adds_and_replaces_by_grader() {
    let (_dir, _path, store) = temp_store();
    store
        .create_run(&new_run("r", "2024-05-01T10:00:00Z"))
        .unwrap();
    let mut record = attempt("r", key("m1", "a", 0), Ok("answer"));
    record.grades = vec![grade("refusal", "refused")];
    let id = store.record_answer(&record).unwrap();

    let judge = grade("judge", "complied");
    store.put_grade(id, &judge).unwrap();
    let mut regrade = grade("refusal", "complied");
    regrade.version = "2".to_string();
    regrade.detail = None;
    store.put_grade(id, &regrade).unwrap();

    let latest = store.latest_answers("r").unwrap();
    assert_eq!(latest.len(), 1);
    assert_eq!(
        latest[0].answer.grades,
        [judge, regrade],
        "one grade per grader"
    );

    let err = store.put_grade(id + 100, &grade("judge", "x")).unwrap_err();
    assert!(matches!(err, StoreError::UnknownAnswer { id: missing, .. } if missing == id + 100));
}

#[test]
fn values_too_large_for_bigint_are_refused_not_wrapped() {
    let (_dir, _path, store) = temp_store();
    store
        .create_run(&new_run("r", "2024-05-01T10:00:00Z"))
        .unwrap();
    let mut record = attempt("r", key("m1", "a", 0), Ok("answer"));
    record.seed = u64::MAX;
    let err = store.record_answer(&record).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::OutOfRange {
                value: u64::MAX,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("seed"), "{err}");
    assert!(
        store.latest_answers("r").unwrap().is_empty(),
        "nothing was stored"
    );

    record.seed = i64::MAX as u64;
    record.latency_ms = Some(i64::MAX as u64);
    store.record_answer(&record).unwrap();
    let latest = store.latest_answers("r").unwrap();
    assert_eq!(
        latest[0].answer, record,
        "the largest storable values round-trip"
    );
}

#[test]
fn open_url_accepts_sqlite_forms_and_refuses_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.db");
    let store = Store::open_url(plain.to_str().unwrap()).unwrap();
    assert_eq!(store.path(), plain);

    let short = dir.path().join("short.db");
    let store = Store::open_url(&format!("sqlite:{}", short.display())).unwrap();
    assert_eq!(store.path(), short);
    assert!(short.exists());

    // `sqlite://` followed by an absolute path, i.e. `sqlite:///tmp/...`.
    let long = dir.path().join("long.db");
    let store = Store::open_url(&format!("sqlite://{}", long.display())).unwrap();
    assert_eq!(store.path(), long);
    store
        .create_run(&new_run("r", "2024-05-01T10:00:00Z"))
        .unwrap();
    drop(store);
    let store = Store::open_url(&format!("sqlite:{}", long.display())).unwrap();
    assert!(
        store.run("r").unwrap().is_some(),
        "all forms name the same file"
    );

    for url in [
        "postgres://assay:hunter2@db.example/assay",
        "postgresql://assay:hunter2@db.example/assay",
    ] {
        let err = Store::open_url(url).unwrap_err();
        let StoreError::Unsupported(message) = &err else {
            panic!("expected Unsupported, got {err:?}");
        };
        assert!(
            message.starts_with("PostgreSQL support is not built yet: "),
            "{message}"
        );
        assert!(
            !message.contains("hunter2"),
            "the password is not echoed: {message}"
        );
    }
    assert!(matches!(
        Store::open_url("mysql://db.example/assay"),
        Err(StoreError::Unsupported(_))
    ));
    assert!(matches!(
        Store::open_url("sqlite:"),
        Err(StoreError::InvalidUrl(_))
    ));
}

#[test]
fn answers_recorded_from_four_threads_all_land() {
    let (_dir, path, store) = temp_store();
    store
        .create_run(&new_run("r", "2024-05-01T10:00:00Z"))
        .unwrap();
    let store = Arc::new(store);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                (0..25)
                    .map(|i| {
                        let mut record =
                            attempt("r", key(&format!("m{t}"), &format!("i{i}"), 0), Ok("x"));
                        record.grades = vec![grade("refusal", "complied")];
                        store.record_answer(&record).unwrap()
                    })
                    .collect::<Vec<i64>>()
            })
        })
        .collect();
    let ids: HashSet<i64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert_eq!(ids.len(), 100, "every call got its own id");

    drop(store);
    let store = Store::open(&path).unwrap();
    let latest = store.latest_answers("r").unwrap();
    let stored: HashSet<i64> = latest.iter().map(|s| s.id).collect();
    assert_eq!(stored, ids);
    assert!(latest.iter().all(|s| s.answer.grades.len() == 1));
    assert_eq!(store.run_counts("r").unwrap().answered, 100);
}

/// The child half of `every_reported_answer_survives_kill_9`: a no-op unless
/// [`CRASH_CHILD_ENV`] names a database. Writes answers until killed, printing each id once
/// its transaction has committed.
#[test]
fn crash_child_writer() {
    let Ok(path) = std::env::var(CRASH_CHILD_ENV) else {
        return;
    };
    let store = Store::open(Path::new(&path)).unwrap();
    // Written straight to stdout (not through the test harness's capture) and flushed, so the
    // parent sees each id as soon as it is committed.
    let mut out = std::io::stdout().lock();
    for i in 0..1_000_000u32 {
        let mut record = attempt("crash", key("m", &format!("item{i:07}"), 0), Ok("text"));
        record.grades = vec![grade("refusal", "complied")];
        let id = store.record_answer(&record).unwrap();
        writeln!(out, "{COMMITTED}{id}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn every_reported_answer_survives_kill_9() {
    let (_dir, path, store) = temp_store();
    store
        .create_run(&new_run("crash", "2024-05-01T10:00:00Z"))
        .unwrap();
    drop(store);

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    // The harness may print "test crash_child_writer ... " on the same line as the first id.
    let parse = |line: &str| -> Option<i64> {
        let at = line.find(COMMITTED)?;
        line[at + COMMITTED.len()..].trim().parse().ok()
    };
    let mut reported = Vec::new();
    let mut line = String::new();
    while reported.len() < 300 {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        reported.extend(parse(&line));
    }
    // SIGKILL, most likely in the middle of a transaction.
    child.kill().unwrap();
    let status = child.wait().unwrap();
    // Ids printed before the kill are still in the pipe: they were committed too.
    for line in reader.lines() {
        reported.extend(parse(&line.unwrap()));
    }
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        reported.len() >= 300,
        "the child stopped early ({status}) after {} answers; stderr:\n{stderr}",
        reported.len()
    );
    assert!(!status.success(), "the child was killed, not finished");

    let store = Store::open(&path).unwrap();
    let stored: HashSet<i64> = store
        .latest_answers("crash")
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    let missing: Vec<i64> = reported
        .iter()
        .copied()
        .filter(|id| !stored.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} answers reported as committed were lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    // At most one more: committed, but killed before it could print the id.
    assert!(
        stored.len() == reported.len() || stored.len() == reported.len() + 1,
        "{} stored, {} reported",
        stored.len(),
        reported.len()
    );
    // The store is still writable after the crash.
    store
        .record_answer(&attempt("crash", key("m", "after", 0), Ok("x")))
        .unwrap();
}

#[test]
fn cache_put_stores_an_entry_of_its_own_and_replaces_it() {
    let (_dir, _path, store) = temp_store();
    assert_eq!(store.cache_get("judge-key").unwrap(), None);
    let entry = |text: &str| CachedAnswer {
        text: text.into(),
        finish_reason: Some("stop".into()),
        prompt_tokens: Some(120),
        completion_tokens: Some(6),
        latency_ms: Some(15),
    };
    store
        .cache_put(
            "judge-key",
            &entry("2_full_refusal"),
            "2026-11-28T00:00:00Z",
        )
        .unwrap();
    assert_eq!(
        store.cache_get("judge-key").unwrap(),
        Some(entry("2_full_refusal"))
    );
    store
        .cache_put(
            "judge-key",
            &entry("1_full_compliance"),
            "2026-11-28T00:00:01Z",
        )
        .unwrap();
    assert_eq!(
        store.cache_get("judge-key").unwrap(),
        Some(entry("1_full_compliance"))
    );
}
