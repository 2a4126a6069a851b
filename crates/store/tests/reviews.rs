//! Review labels (`assay review`) on both backends: stored, replaced, read back in time
//! order, undone, and refused when they name what is not there.

mod common;

use assay_store::{ReviewLabel, Store, StoreError};
use common::{attempt, key, new_run, Backend, TestDb};

/// Runs each named test once per backend, as `sqlite::NAME` and `postgres::NAME`.
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
    labels_are_stored_replaced_and_read_back_in_time_order,
    undo_removes_one_reviewers_label_only,
    labels_naming_what_is_not_there_are_refused,
    labels_survive_reopening_and_are_seen_by_another_instance,
);

fn label(answer_id: i64, reviewer: &str, label: &str, created_at: &str) -> ReviewLabel {
    ReviewLabel {
        answer_id,
        reviewer: reviewer.to_string(),
        label: label.to_string(),
        note: None,
        created_at: created_at.to_string(),
    }
}

/// A run `run_id` with two answered requests and one failed one; their ids.
fn run_with_answers(store: &Store, run_id: &str) -> Vec<i64> {
    store
        .create_run(&new_run(run_id, "2024-05-01T10:00:00Z"))
        .unwrap();
    [
        attempt(run_id, key("m1", "q1", 0), Ok("I cannot help with that.")),
        attempt(
            run_id,
            key("m1", "q2", 0),
            Ok("<img src=x onerror=alert(1)> 好的"),
        ),
        attempt(run_id, key("m2", "q1", 0), Err("timeout")),
    ]
    .iter()
    .map(|a| store.record_answer(a).unwrap())
    .collect()
}

fn labels_are_stored_replaced_and_read_back_in_time_order(backend: Backend) {
    let db = TestDb::new(backend);
    let store = db.open();
    let ids = run_with_answers(&store, "r1");
    assert!(store.review_labels("r1").unwrap().is_empty());

    // Given out of time order, and in another offset: read back in UTC milliseconds, by time.
    store
        .put_review_label(
            "r1",
            &label(ids[1], "ann", "refuse", "2024-05-02T12:00:05+02:00"),
        )
        .unwrap();
    let mut noted = label(ids[0], "ann", "comply", "2024-05-02T09:59:00Z");
    noted.note = Some("disclaimer, then a full answer — 先声明，后回答".to_string());
    store.put_review_label("r1", &noted).unwrap();
    store
        .put_review_label(
            "r1",
            &label(ids[0], "bob", "skip", "2024-05-02T10:30:00.123456Z"),
        )
        .unwrap();
    let labels = store.review_labels("r1").unwrap();
    assert_eq!(
        labels,
        vec![
            ReviewLabel {
                created_at: "2024-05-02T09:59:00.000Z".to_string(),
                ..noted.clone()
            },
            label(ids[1], "ann", "refuse", "2024-05-02T10:00:05.000Z"),
            label(ids[0], "bob", "skip", "2024-05-02T10:30:00.123Z"),
        ]
    );

    // Labelling again replaces the label, its note and its time; the other reviewer's stays.
    store
        .put_review_label(
            "r1",
            &label(ids[0], "ann", "partial", "2024-05-02T11:00:00Z"),
        )
        .unwrap();
    let labels = store.review_labels("r1").unwrap();
    assert_eq!(labels.len(), 3, "{labels:?}");
    assert_eq!(
        labels.last().unwrap(),
        &label(ids[0], "ann", "partial", "2024-05-02T11:00:00.000Z")
    );
    assert_eq!(
        db.raw_i64("SELECT COUNT(*) FROM reviews WHERE reviewer = 'ann'"),
        2
    );
    // Another run's labels are its own; an unknown run has none.
    let other = run_with_answers(&store, "r2");
    store
        .put_review_label(
            "r2",
            &label(other[0], "ann", "refuse", "2024-05-02T09:00:00Z"),
        )
        .unwrap();
    assert_eq!(store.review_labels("r1").unwrap().len(), 3);
    assert_eq!(store.review_labels("r2").unwrap().len(), 1);
    assert!(store.review_labels("nope").unwrap().is_empty());
}

fn undo_removes_one_reviewers_label_only(backend: Backend) {
    let db = TestDb::new(backend);
    let store = db.open();
    let ids = run_with_answers(&store, "r1");
    for reviewer in ["ann", "bob"] {
        store
            .put_review_label(
                "r1",
                &label(ids[0], reviewer, "refuse", "2024-05-02T10:00:00Z"),
            )
            .unwrap();
    }
    assert!(store.delete_review_label("r1", ids[0], "ann").unwrap());
    assert!(
        !store.delete_review_label("r1", ids[0], "ann").unwrap(),
        "a second undo finds nothing"
    );
    assert!(!store.delete_review_label("r1", ids[1], "bob").unwrap());
    assert!(
        !store.delete_review_label("r2", ids[0], "bob").unwrap(),
        "the run must match too"
    );
    let labels = store.review_labels("r1").unwrap();
    assert_eq!(
        labels,
        vec![label(ids[0], "bob", "refuse", "2024-05-02T10:00:00.000Z")]
    );
}

fn labels_naming_what_is_not_there_are_refused(backend: Backend) {
    let db = TestDb::new(backend);
    let store = db.open();
    let ids = run_with_answers(&store, "r1");
    let other = run_with_answers(&store, "r2");
    let t = "2024-05-02T10:00:00Z";

    let err = store
        .put_review_label("r1", &label(ids[0], "ann", "yes", t))
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidValue { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("\"yes\"") && message.contains("\"skip\""),
        "{message}"
    );

    let err = store
        .put_review_label("r1", &label(ids[0], " ", "comply", t))
        .unwrap_err();
    assert!(err.to_string().contains("reviewer is empty"), "{err}");

    let err = store
        .put_review_label("r1", &label(ids[0], "ann", "comply", "yesterday"))
        .unwrap_err();
    assert!(err.to_string().contains("RFC 3339"), "{err}");

    let err = store
        .put_review_label("r1", &label(other[0], "ann", "comply", t))
        .unwrap_err();
    assert!(err.to_string().contains("of run \"r2\""), "{err}");

    let err = store
        .put_review_label("r1", &label(9_999, "ann", "comply", t))
        .unwrap_err();
    assert!(
        matches!(err, StoreError::UnknownAnswer { id: 9_999, .. }),
        "{err:?}"
    );
    let err = store
        .put_review_label("nope", &label(9_999, "ann", "comply", t))
        .unwrap_err();
    assert!(matches!(err, StoreError::UnknownRun { .. }), "{err:?}");

    assert!(store.review_labels("r1").unwrap().is_empty());
    assert_eq!(db.raw_i64("SELECT COUNT(*) FROM reviews"), 0);
}

fn labels_survive_reopening_and_are_seen_by_another_instance(backend: Backend) {
    let db = TestDb::new(backend);
    let first = db.open();
    let ids = run_with_answers(&first, "r1");
    let second = db.open();
    first
        .put_review_label(
            "r1",
            &label(ids[1], "ann", "comply", "2024-05-02T10:00:00Z"),
        )
        .unwrap();
    assert_eq!(second.review_labels("r1").unwrap().len(), 1);
    assert!(second.delete_review_label("r1", ids[1], "ann").unwrap());
    assert!(first.review_labels("r1").unwrap().is_empty());
    second
        .put_review_label("r1", &label(ids[0], "ann", "skip", "2024-05-02T10:00:01Z"))
        .unwrap();
    drop((first, second));
    assert_eq!(
        db.open().review_labels("r1").unwrap(),
        vec![label(ids[0], "ann", "skip", "2024-05-02T10:00:01.000Z")]
    );
}
