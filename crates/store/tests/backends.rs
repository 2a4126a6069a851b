//! The store's behaviour, written once and run against both backends: a SQLite file, and a
//! real PostgreSQL server that the tests start (see `common/postgres.rs`).

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Barrier};

use assay_store::{
    AnswerRecord, CachedAnswer, GuardEventFilter, GuardEventRecord, ItemRow, KeptAnalysis,
    RequestKey, ReviewLabel, RunCounts, RunDeleted, RunStatus, Store, StoreError, SCHEMA_VERSION,
};
use common::{attempt, grade, key, new_run, open_item, vote, Backend, TestDb};
use serde_json::json;

/// Runs each named test function (taking a [`Backend`]) once per backend, as
/// `sqlite::NAME` and `postgres::NAME`.
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $test() { super::$test(super::Backend::Sqlite) })*
        }
        mod postgres {
            $(#[test] fn $test() { super::$test(super::Backend::Postgres) })*
        }
    };
}

on_both_backends!(
    migrating_twice_is_idempotent_and_the_version_is_recorded,
    a_newer_schema_is_refused_naming_the_database,
    runs_are_created_listed_and_resolved,
    putting_items_twice_is_idempotent,
    the_latest_attempt_of_each_request_wins,
    a_later_success_replaces_the_cached_answer,
    put_grade_adds_and_replaces_by_grader,
    values_too_large_for_bigint_are_refused_not_wrapped,
    cache_put_stores_an_entry_of_its_own_and_replaces_it,
    answers_recorded_from_four_threads_all_land,
    votes_are_normalised_and_listed_in_time_order,
    a_battle_takes_only_its_first_vote,
    votes_by_voter_since_counts_from_the_given_time,
    invalid_votes_are_refused_naming_the_battle,
    guard_events_are_logged_and_filtered,
    two_instances_see_each_others_writes,
    one_vote_per_battle_holds_across_racing_instances,
    instances_opening_a_new_database_at_once_migrate_it_once,
    calls_from_inside_a_current_thread_runtime_work,
    deleting_a_run_removes_what_is_stored_under_it_and_nothing_else,
    every_change_to_a_run_raises_its_revision,
);

fn migrating_twice_is_idempotent_and_the_version_is_recorded(backend: Backend) {
    let db = TestDb::new(backend);
    let store = db.open();
    assert_eq!(store.path(), db.expected_path());
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    store
        .create_run(&new_run("r1", "2024-05-01T10:00:00Z"))
        .unwrap();
    drop(store);

    let store = db.open();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert!(
        store.run("r1").unwrap().is_some(),
        "data survives reopening"
    );
    drop(store);

    assert_eq!(
        db.raw_i64("SELECT COUNT(*) FROM schema_migrations"),
        SCHEMA_VERSION,
        "one row per migration"
    );
    assert_eq!(
        db.raw_i64("SELECT MAX(version) FROM schema_migrations"),
        SCHEMA_VERSION
    );
    assert_eq!(
        db.raw_i64(
            "SELECT COUNT(*) FROM schema_migrations \
             WHERE applied_at LIKE '____-__-__T__:__:__.___Z'"
        ),
        SCHEMA_VERSION,
        "applied_at is RFC 3339 UTC"
    );
}

fn a_newer_schema_is_refused_naming_the_database(backend: Backend) {
    let db = TestDb::new(backend);
    drop(db.open());
    db.raw_execute(&format!(
        "INSERT INTO schema_migrations (version, applied_at) \
         VALUES ({}, '2099-01-01T00:00:00Z')",
        SCHEMA_VERSION + 1
    ));

    let err = Store::open_url(&db.url).unwrap_err();
    match &err {
        StoreError::SchemaTooNew { path, found, known } => {
            assert_eq!(path, &db.expected_path());
            assert_eq!((*found, *known), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains(&db.url), "{message}");
}

fn runs_are_created_listed_and_resolved(backend: Backend) {
    let db = TestDb::new(backend);
    let store = db.open();
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
    assert!(
        err.to_string().contains(&db.url),
        "names the database: {err}"
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
        (run.status, run.finished_at.as_deref()),
        (RunStatus::Running, None)
    );
    assert_eq!(store.run("nope").unwrap(), None);

    store
        .set_run_status(
            "20240101-aaa1",
            RunStatus::Finished,
            Some("2024-01-01T01:00:00Z"),
        )
        .unwrap();
    let run = store.run("20240101-aaa1").unwrap().unwrap();
    assert_eq!(
        (run.status, run.finished_at.as_deref()),
        (RunStatus::Finished, Some("2024-01-01T01:00:00Z"))
    );
    assert_eq!(
        db.raw_i64("SELECT COUNT(*) FROM runs WHERE status = 'finished'"),
        1,
        "stored by its lowercase name"
    );
    store
        .set_run_status("20240101-aaa1", RunStatus::Running, None)
        .unwrap();
    assert_eq!(
        store.run("20240101-aaa1").unwrap().unwrap().finished_at,
        None
    );
    let err = store
        .set_run_status("nope", RunStatus::Finished, None)
        .unwrap_err();
    assert!(
        matches!(err, StoreError::UnknownRun { ref id, .. } if id == "nope"),
        "{err:?}"
    );
    // A status this build does not know is damage, not a run to show.
    db.raw_execute("UPDATE runs SET status = 'paused' WHERE id = '20240101-aab2'");
    let err = store.run("20240101-aab2").unwrap_err();
    assert!(
        matches!(err, StoreError::Corrupt { .. }) && err.to_string().contains("paused"),
        "{err:?}"
    );
    db.raw_execute("UPDATE runs SET status = 'running' WHERE id = '20240101-aab2'");

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

fn putting_items_twice_is_idempotent(backend: Backend) {
    let db = TestDb::new(backend);
    let store = db.open();
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
    assert_eq!(
        store.items("r").unwrap(),
        expected,
        "the failed transaction left the store as it was, and usable"
    );
}

fn the_latest_attempt_of_each_request_wins(backend: Backend) {
    let db = TestDb::new(backend);
    let store = db.open();
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

    // Without texts: the same answers and grades, each request `{}` and each text empty.
    let again = store.connect_again().unwrap();
    let lean = again.latest_answers_without_texts("r").unwrap();
    assert_eq!(lean.len(), latest.len());
    for (lean, full) in lean.iter().zip(&latest) {
        assert_eq!((lean.id, &lean.answer.key), (full.id, &full.answer.key));
        assert_eq!(lean.answer.grades, full.answer.grades);
        assert_eq!(lean.answer.error, full.answer.error);
        assert_eq!(lean.answer.request, json!({}));
        assert_eq!(
            lean.answer.text.as_deref(),
            full.answer.text.as_ref().map(|_| "")
        );
    }
    let rows: Vec<String> = again
        .run_rows()
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(
        rows,
        ["r", "other"],
        "newest first, a tie by id as `runs` orders it"
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
    let other = summaries.iter().find(|s| s.run.id == "other").unwrap();
    assert_eq!(
        other.counts,
        RunCounts {
            answered: 1,
            errors: 0,
            cached: 0
        }
    );

    let err = store
        .record_answer(&attempt("nope", key("m1", "a", 0), Ok("x")))
        .unwrap_err();
    assert!(matches!(err, StoreError::UnknownRun { .. }), "{err:?}");
}

fn a_later_success_replaces_the_cached_answer(backend: Backend) {
    let db = TestDb::new(backend);
    let store = db.open();
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

fn put_grade_adds_and_replaces_by_grader(backend: Backend) {
    let db = TestDb::new(backend);
    let store = db.open();
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

fn values_too_large_for_bigint_are_refused_not_wrapped(backend: Backend) {
    let db = TestDb::new(backend);
    let store = db.open();
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
    record.key.sample = u32::MAX;
    store.record_answer(&record).unwrap();
    let latest = store.latest_answers("r").unwrap();
    assert_eq!(
        latest[0].answer, record,
        "the largest storable values round-trip"
    );
}

fn cache_put_stores_an_entry_of_its_own_and_replaces_it(backend: Backend) {
    let db = TestDb::new(backend);
    let store = db.open();
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

fn answers_recorded_from_four_threads_all_land(backend: Backend) {
    let db = TestDb::new(backend);
    let store = db.open();
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
    let store = db.open();
    let latest = store.latest_answers("r").unwrap();
    let stored: HashSet<i64> = latest.iter().map(|s| s.id).collect();
    assert_eq!(stored, ids);
    assert!(latest.iter().all(|s| s.answer.grades.len() == 1));
    assert_eq!(store.run_counts("r").unwrap().answered, 100);
}

fn votes_are_normalised_and_listed_in_time_order(backend: Backend) {
    let db = TestDb::new(backend);
    let store = db.open();
    assert!(store.votes().unwrap().is_empty());

    // Recorded out of order, in several offsets and precisions.
    let mut late = vote("b-late", "v1", "2024-05-01T12:00:00+02:00");
    late.winner = "tie (bothbad)".to_string();
    late.identity_leak = true;
    late.turns = 3;
    let mut same_time_b = vote("b-2", "v2", "2024-05-01T09:30:00.5Z");
    same_time_b.winner = "tie".to_string();
    let same_time_a = vote("b-1", "v1", "2024-05-01T11:30:00.500+02:00");
    let mut early = vote("b-early", "v3", "2024-05-01T09:00:00.123456789Z");
    early.battle_started_at = "2024-05-01T10:58:00+02:00".to_string();
    early.winner = "model_b".to_string();
    for v in [&late, &same_time_b, &same_time_a, &early] {
        assert!(store.record_vote(v).unwrap(), "{} is new", v.battle_id);
    }

    let normalised = |v: &assay_store::VoteRecord, created_at: &str, started_at: &str| {
        let mut v = v.clone();
        v.created_at = created_at.to_string();
        v.battle_started_at = started_at.to_string();
        v
    };
    let started = "2024-05-01T09:59:00.000Z";
    assert_eq!(
        store.votes().unwrap(),
        [
            normalised(
                &early,
                "2024-05-01T09:00:00.123Z",
                "2024-05-01T08:58:00.000Z"
            ),
            normalised(&same_time_a, "2024-05-01T09:30:00.500Z", started),
            normalised(&same_time_b, "2024-05-01T09:30:00.500Z", started),
            normalised(&late, "2024-05-01T10:00:00.000Z", started),
        ],
        "UTC with milliseconds, ordered by time then battle id, everything else as given"
    );
}

fn guard_events_are_logged_and_filtered(backend: Backend) {
    let db = TestDb::new(backend);
    let store = db.open();
    let event = |at: &str, key: &str, category: &str, direction: &str| GuardEventRecord {
        created_at: at.to_string(),
        key_id: key.to_string(),
        request_id: format!("req-{at}"),
        model: "smollm2".to_string(),
        direction: direction.to_string(),
        category: category.to_string(),
        action: "block".to_string(),
        offset: 12,
        rule: "sha256:00ff".to_string(),
    };
    let events = [
        event("2026-11-29T10:00:02+01:00", "team-a", "weapons", "output"),
        event("2026-11-29T08:59:00Z", "team-b", "weapons", "input"),
        event("2026-11-29T09:30:00.25Z", "team-a", "fraud", "input"),
    ];
    for e in &events {
        store.record_guard_event(e).unwrap();
    }
    let all = store.guard_events(&GuardEventFilter::default()).unwrap();
    let times: Vec<&str> = all.iter().map(|e| e.created_at.as_str()).collect();
    assert_eq!(
        times,
        [
            "2026-11-29T08:59:00.000Z",
            "2026-11-29T09:00:02.000Z",
            "2026-11-29T09:30:00.250Z"
        ],
        "oldest first, in UTC"
    );
    assert_eq!(all[0].direction, "input");
    assert_eq!(all[1].offset, 12);
    let filter = |f: GuardEventFilter| store.guard_events(&f).unwrap().len();
    let key = |k: &str| Some(k.to_string());
    assert_eq!(
        filter(GuardEventFilter {
            key_id: key("team-a"),
            ..Default::default()
        }),
        2
    );
    assert_eq!(
        filter(GuardEventFilter {
            category: key("weapons"),
            ..Default::default()
        }),
        2
    );
    assert_eq!(
        filter(GuardEventFilter {
            since: key("2026-11-29T09:00:00Z"),
            ..Default::default()
        }),
        2
    );
    // An age: these events are years old, and one recorded now is not.
    let mut recent = event("2026-11-29T10:00:00Z", "team-c", "privacy", "input");
    recent.created_at = chrono::Utc::now().to_rfc3339();
    recent.request_id = "req-now".to_string();
    store.record_guard_event(&recent).unwrap();
    for age in ["1h", "30m", "2d"] {
        let found = store
            .guard_events(&GuardEventFilter {
                since: key(age),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(found.len(), 1, "--since {age}: {found:?}");
        assert_eq!(found[0].request_id, "req-now");
    }
    let err = store
        .guard_events(&GuardEventFilter {
            since: key("yesterday"),
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("30m, 1h or 2d") && err.contains("yesterday"),
        "{err}"
    );
    assert_eq!(
        store.guard_event_categories().unwrap(),
        ["fraud", "privacy", "weapons"]
    );
    let newest = store
        .guard_events(&GuardEventFilter {
            limit: Some(1),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(newest[0].category, "privacy", "the limit keeps the newest");
    let bad = store.record_guard_event(&event("yesterday", "k", "c", "input"));
    assert!(bad.unwrap_err().to_string().contains("req-yesterday"));
}

fn a_battle_takes_only_its_first_vote(backend: Backend) {
    let db = TestDb::new(backend);
    let store = db.open();
    let first = vote("battle-1", "v1", "2024-05-01T10:00:00.000Z");
    assert!(store.record_vote(&first).unwrap());
    let mut second = vote("battle-1", "v2", "2024-05-01T10:05:00.000Z");
    second.winner = "model_b".to_string();
    assert!(
        !store.record_vote(&second).unwrap(),
        "a second vote on the battle is refused"
    );
    assert!(
        !store.record_vote(&first).unwrap(),
        "so is the same vote again"
    );
    assert_eq!(store.votes().unwrap(), [first], "the first vote stands");
}

fn votes_by_voter_since_counts_from_the_given_time(backend: Backend) {
    let db = TestDb::new(backend);
    let store = db.open();
    for (battle, voter, at) in [
        ("b1", "alice", "2024-05-01T10:00:00.000Z"),
        ("b2", "alice", "2024-05-01T10:00:00.500Z"),
        ("b3", "alice", "2024-05-01T11:00:00.000Z"),
        ("b4", "bob", "2024-05-01T11:00:00.000Z"),
        ("b5", "alice", "2024-05-02T00:00:00.000Z"),
    ] {
        assert!(store.record_vote(&vote(battle, voter, at)).unwrap());
    }
    let count = |voter: &str, since: &str| store.votes_by_voter_since(voter, since).unwrap();
    assert_eq!(count("alice", "2024-01-01T00:00:00Z"), 4);
    assert_eq!(
        count("alice", "2024-05-01T10:00:00Z"),
        4,
        "at `since` counts"
    );
    // "…10:00:00.1Z" sorts after "…10:00:00Z" as raw text but before "…10:00:00.500Z" in
    // time: the normalisation makes the two agree.
    assert_eq!(count("alice", "2024-05-01T10:00:00.1Z"), 3);
    assert_eq!(count("alice", "2024-05-01T10:00:00.500Z"), 3);
    assert_eq!(count("alice", "2024-05-01T10:00:00.501Z"), 2);
    assert_eq!(
        count("alice", "2024-05-01T12:30:00+02:00"),
        2,
        "10:30 UTC, given in another offset"
    );
    assert_eq!(count("alice", "2024-05-02T00:00:00.001Z"), 0);
    assert_eq!(count("bob", "2024-05-01T00:00:00Z"), 1);
    assert_eq!(count("carol", "2024-05-01T00:00:00Z"), 0);

    let err = store
        .votes_by_voter_since("alice", "yesterday")
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidValue { .. }), "{err:?}");
    assert!(err.to_string().contains("yesterday"), "{err}");
}

fn invalid_votes_are_refused_naming_the_battle(backend: Backend) {
    let db = TestDb::new(backend);
    let store = db.open();
    let mut bad_winner = vote("b1", "v", "2024-05-01T10:00:00Z");
    bad_winner.winner = "model_c".to_string();
    let mut bad_time = vote("b2", "v", "2024-05-01 10:00");
    bad_time.battle_id = "b2".to_string();
    let mut bad_start = vote("b3", "v", "2024-05-01T10:00:00Z");
    bad_start.battle_started_at = String::new();
    let no_battle = vote("", "v", "2024-05-01T10:00:00Z");
    for (v, needle) in [
        (&bad_winner, "model_c"),
        (&bad_time, "2024-05-01 10:00"),
        (&bad_start, "battle_started_at"),
        (&no_battle, "battle id"),
    ] {
        let err = store.record_vote(v).unwrap_err();
        assert!(matches!(err, StoreError::InvalidValue { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains(needle), "{message}");
        assert!(message.contains(&v.battle_id), "{message}");
        assert!(message.contains(&db.url), "{message}");
    }
    assert!(store.votes().unwrap().is_empty(), "nothing was stored");
}

fn two_instances_see_each_others_writes(backend: Backend) {
    let db = TestDb::new(backend);
    let one = db.open();
    let two = db.open();
    assert!(one
        .record_vote(&vote("b1", "v1", "2024-05-01T10:00:00.000Z"))
        .unwrap());
    assert!(two
        .record_vote(&vote("b2", "v1", "2024-05-01T10:01:00.000Z"))
        .unwrap());
    assert!(
        !two.record_vote(&vote("b1", "v2", "2024-05-01T10:02:00.000Z"))
            .unwrap(),
        "the other instance's vote on the battle counts"
    );
    for store in [&one, &two] {
        let battles: Vec<String> = store
            .votes()
            .unwrap()
            .into_iter()
            .map(|v| v.battle_id)
            .collect();
        assert_eq!(battles, ["b1", "b2"]);
        assert_eq!(
            store
                .votes_by_voter_since("v1", "2024-05-01T00:00:00Z")
                .unwrap(),
            2
        );
    }

    one.create_run(&new_run("r", "2024-05-01T10:00:00Z"))
        .unwrap();
    let id = two
        .record_answer(&attempt("r", key("m", "a", 0), Ok("from two")))
        .unwrap();
    let latest = one.latest_answers("r").unwrap();
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0].id, id);
    assert!(one
        .cache_get(&latest[0].answer.cache_key)
        .unwrap()
        .is_some());
}

fn one_vote_per_battle_holds_across_racing_instances(backend: Backend) {
    let db = TestDb::new(backend);
    const INSTANCES: usize = 3;
    const BATTLES: usize = 40;
    let stores: Vec<Store> = (0..INSTANCES).map(|_| db.open()).collect();
    let barrier = Barrier::new(INSTANCES);
    // Every instance votes on every battle, at the same moment; each battle takes one vote.
    let accepted: Vec<Vec<usize>> = std::thread::scope(|scope| {
        let handles: Vec<_> = stores
            .iter()
            .enumerate()
            .map(|(instance, store)| {
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    (0..BATTLES)
                        .filter(|battle| {
                            let mut v = vote(
                                &format!("battle-{battle:03}"),
                                &format!("voter-{instance}"),
                                "2024-05-01T10:00:00.000Z",
                            );
                            v.metadata = json!({"instance": instance});
                            store.record_vote(&v).unwrap()
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let total: usize = accepted.iter().map(Vec::len).sum();
    assert_eq!(total, BATTLES, "exactly one accepted vote per battle");
    let votes = stores[0].votes().unwrap();
    assert_eq!(votes.len(), BATTLES);
    for v in votes {
        let battle: usize = v.battle_id["battle-".len()..].parse().unwrap();
        let instance = v.metadata["instance"].as_u64().unwrap() as usize;
        assert!(
            accepted[instance].contains(&battle),
            "the stored vote is the one its instance was told was accepted"
        );
        assert_eq!(v.voter_id, format!("voter-{instance}"));
    }
}

fn instances_opening_a_new_database_at_once_migrate_it_once(backend: Backend) {
    let db = TestDb::new(backend);
    const INSTANCES: usize = 4;
    let barrier = Barrier::new(INSTANCES);
    let stores: Vec<Store> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..INSTANCES)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    Store::open_url(&db.url)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap().expect("every concurrent open succeeds"))
            .collect()
    });
    for store in &stores {
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    }
    assert_eq!(
        db.raw_i64("SELECT COUNT(*) FROM schema_migrations"),
        SCHEMA_VERSION,
        "each migration applied and recorded once"
    );
    assert!(stores[0]
        .record_vote(&vote("b", "v", "2024-05-01T10:00:00Z"))
        .unwrap());
    assert_eq!(stores[3].votes().unwrap().len(), 1);
}

/// The store used from async code on a runtime with one thread: opened there, called directly
/// from the task and from spawned tasks.
fn calls_from_inside_a_current_thread_runtime_work(backend: Backend) {
    let db = TestDb::new(backend);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = Arc::new(Store::open_url(&db.url).unwrap());
        exercise_from_async(&store, "current").await;
        let tasks: Vec<_> = (0..3)
            .map(|i| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    tokio::task::yield_now().await;
                    store
                        .record_vote(&vote(&format!("task-{i}"), "t", "2024-05-01T10:00:00Z"))
                        .unwrap()
                })
            })
            .collect();
        for task in tasks {
            assert!(task.await.unwrap());
        }
        assert_eq!(
            store
                .votes_by_voter_since("t", "2024-01-01T00:00:00Z")
                .unwrap(),
            3
        );
    });
}

/// A bit of everything, called straight from async code (not through `spawn_blocking`).
async fn exercise_from_async(store: &Store, tag: &str) {
    let run = format!("run-{tag}");
    store
        .create_run(&new_run(&run, "2024-05-01T10:00:00Z"))
        .unwrap();
    tokio::task::yield_now().await;
    let mut record = attempt(&run, key("m", "a", 0), Ok("async"));
    record.grades = vec![grade("refusal", "complied")];
    let id = store.record_answer(&record).unwrap();
    store.put_grade(id, &grade("judge", "complied")).unwrap();
    assert_eq!(
        store.latest_answers(&run).unwrap()[0].answer.grades.len(),
        2
    );
    assert!(store
        .record_vote(&vote(&format!("battle-{tag}"), tag, "2024-05-01T10:00:00Z"))
        .unwrap());
    assert_eq!(
        store
            .votes_by_voter_since(tag, "2024-01-01T00:00:00Z")
            .unwrap(),
        1
    );
    assert!(store.runs().unwrap().iter().any(|s| s.run.id == run));
}

/// The store used from async code on tokio's multi-thread runtime, as the web server and the
/// audit runner do: opened inside it, called from many tasks at once.
async fn calls_from_inside_a_multi_thread_runtime_work(backend: Backend) {
    let db = TestDb::new(backend);
    let store = Arc::new(Store::open_url(&db.url).unwrap());
    exercise_from_async(&store, "multi").await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut accepted = 0;
                for j in 0..5 {
                    let v = vote(
                        &format!("battle-{i}-{j}"),
                        &format!("voter-{i}"),
                        "2024-05-01T10:00:00Z",
                    );
                    accepted += usize::from(store.record_vote(&v).unwrap());
                    tokio::task::yield_now().await;
                }
                accepted
            })
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        accepted += task.await.unwrap();
    }
    assert_eq!(accepted, 40);
    assert_eq!(store.votes().unwrap().len(), 41);
    // And from a blocking thread of the same runtime.
    let from_blocking = Arc::clone(&store);
    let count = tokio::task::spawn_blocking(move || {
        from_blocking
            .votes_by_voter_since("voter-3", "2024-01-01T00:00:00Z")
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(count, 5);
}

/// `#[tokio::test]` runtimes, as the web server's and the audit runner's tests use: the store
/// opened and called inside them.
macro_rules! in_tokio_tests {
    ($module:ident, $backend:expr) => {
        mod $module {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn calls_from_inside_a_multi_thread_runtime_work() {
                super::calls_from_inside_a_multi_thread_runtime_work($backend).await
            }

            #[tokio::test]
            async fn calls_from_a_current_thread_tokio_test_work() {
                let db = TestDb::new($backend);
                let store = db.open();
                exercise_from_async(&store, "t").await
            }
        }
    };
}

in_tokio_tests!(sqlite_async, Backend::Sqlite);
in_tokio_tests!(postgres_async, Backend::Postgres);

/// `assay runs rm`: a run goes with its items, attempts, grades and review labels, in one
/// transaction; another run's rows and the shared answer cache stay.
fn deleting_a_run_removes_what_is_stored_under_it_and_nothing_else(backend: Backend) {
    let db = TestDb::new(backend);
    let store = db.open();
    for (run, created) in [
        ("gone", "2024-05-01T10:00:00Z"),
        ("kept", "2024-05-01T11:00:00Z"),
    ] {
        store.create_run(&new_run(run, created)).unwrap();
        store
            .put_items(run, &[open_item("sensitive", "history")])
            .unwrap();
        // Two attempts at one request (a failure, then a success), graded twice.
        store
            .record_answer(&attempt(run, key("m1", "a", 0), Err("timeout")))
            .unwrap();
        let mut answered = attempt(run, key("m1", "a", 0), Ok("answer"));
        answered.grades = vec![grade("refusal", "complied"), grade("validity", "valid")];
        let id = store.record_answer(&answered).unwrap();
        store
            .put_review_label(
                run,
                &ReviewLabel {
                    answer_id: id,
                    reviewer: "ann".to_string(),
                    label: "comply".to_string(),
                    note: None,
                    created_at: "2024-05-02T10:00:00Z".to_string(),
                },
            )
            .unwrap();
    }
    for run in ["gone", "kept"] {
        let kept = KeptAnalysis {
            revision: store.run_revision(run).unwrap().unwrap(),
            format: "f".to_string(),
            body: run.to_string(),
        };
        store.keep_analysis(run, &kept).unwrap();
    }
    store
        .cache_put(
            "shared-key",
            &CachedAnswer {
                text: "cached".to_string(),
                finish_reason: Some("stop".to_string()),
                prompt_tokens: Some(1),
                completion_tokens: Some(1),
                latency_ms: Some(1),
            },
            "2024-05-01T10:00:00Z",
        )
        .unwrap();
    let times = store.last_answer_times().unwrap();
    assert_eq!(times.len(), 2, "{times:?}");

    let deleted = store.delete_run("gone").unwrap();
    assert_eq!(
        deleted,
        RunDeleted {
            items: 1,
            answers: 2,
            grades: 2,
            reviews: 1
        }
    );
    assert!(store.run("gone").unwrap().is_none());
    assert!(store.kept_analysis("gone").unwrap().is_none());
    assert_eq!(store.kept_analysis("kept").unwrap().unwrap().body, "kept");
    for table in ["items", "answers", "reviews"] {
        assert_eq!(
            db.raw_i64(&format!(
                "SELECT COUNT(*) FROM {table} WHERE run_id = 'gone'"
            )),
            0,
            "{table}"
        );
    }
    // Only the kept run's grades are left.
    assert_eq!(db.raw_i64("SELECT COUNT(*) FROM grades"), 2);
    assert_eq!(store.latest_answers("kept").unwrap().len(), 1);
    assert_eq!(store.review_labels("kept").unwrap().len(), 1);
    assert_eq!(store.items("kept").unwrap().len(), 1);
    assert!(store.cache_get("shared-key").unwrap().is_some());
    assert_eq!(
        store
            .last_answer_times()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["kept"]
    );

    let err = store.delete_run("gone").unwrap_err();
    assert!(matches!(err, StoreError::UnknownRun { .. }), "{err}");
}

/// A kept analysis is good only while the run's revision is the one it was made at: every
/// write to what an analysis reads (items, answers, grades, people's labels, the status) must
/// raise it, on each backend, whichever writer makes it.
fn every_change_to_a_run_raises_its_revision(backend: Backend) {
    let db = TestDb::new(backend);
    let store = db.open();
    store
        .create_run(&new_run("r", "2024-05-01T10:00:00Z"))
        .unwrap();
    store
        .create_run(&new_run("other", "2024-05-01T11:00:00Z"))
        .unwrap();
    assert_eq!(store.run_revision("nope").unwrap(), None);
    let mut last = store.run_revision("r").unwrap().unwrap();
    let other = store.run_revision("other").unwrap().unwrap();
    let mut raised = |what: &str| {
        let now = store.run_revision("r").unwrap().unwrap();
        assert!(now > last, "{what} left the revision at {now}");
        last = now;
    };

    store.put_items("r", &[open_item("s", "c")]).unwrap();
    raised("putting an item");
    store.put_items("r", &[open_item("s", "c")]).unwrap();
    raised("putting the item again");
    let id = store
        .record_answer(&attempt("r", key("m1", "a", 0), Ok("answer")))
        .unwrap();
    raised("recording an answer");
    store.put_grade(id, &grade("refusal", "complied")).unwrap();
    raised("adding a grade");
    store.put_grade(id, &grade("refusal", "refused")).unwrap();
    raised("replacing a grade");
    let label = ReviewLabel {
        answer_id: id,
        reviewer: "ann".to_string(),
        label: "comply".to_string(),
        note: None,
        created_at: "2024-05-02T10:00:00Z".to_string(),
    };
    store.put_review_label("r", &label).unwrap();
    raised("a person's label");
    store
        .put_review_label(
            "r",
            &ReviewLabel {
                label: "refuse".to_string(),
                ..label
            },
        )
        .unwrap();
    raised("a person's label replaced");
    assert!(store.delete_review_label("r", id, "ann").unwrap());
    raised("a person's label taken back");
    store
        .set_run_status("r", RunStatus::Finished, Some("2024-05-01T12:00:00Z"))
        .unwrap();
    raised("finishing the run");

    // Keeping an analysis changes nothing it was made of; another run's revision never moved.
    let kept = KeptAnalysis {
        revision: last,
        format: "f".to_string(),
        body: "{}".to_string(),
    };
    store.keep_analysis("r", &kept).unwrap();
    assert_eq!(store.run_revision("r").unwrap(), Some(last));
    assert_eq!(store.kept_analysis("r").unwrap(), Some(kept.clone()));
    let newer = KeptAnalysis {
        body: "{\"newer\": true}".to_string(),
        ..kept
    };
    store.keep_analysis("r", &newer).unwrap();
    assert_eq!(store.kept_analysis("r").unwrap(), Some(newer));
    assert_eq!(store.run_revision("other").unwrap(), Some(other));
    assert_eq!(store.kept_analysis("other").unwrap(), None);
}
