//! The review against a real SQLite store: which answers are offered, labelling, undo,
//! resuming, export; and the HTTP surface (headers, origin checks, errors).

use std::net::SocketAddr;

use assay_store::{AnswerRecord, GradeRecord, ItemRow, NewRun, RequestKey, RunStatus, Store};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::{Review, ReviewConfig, ReviewError};

const HOSTILE: &str = "<img src=x onerror=alert(1)><script>alert(2)</script> Sure, here is how.";

/// A store with run `r`: two models × two languages × three items, one failed request, one
/// answer with no refusal grade; every third answer's grade uncertain.
fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("assay.db")).unwrap();
    store
        .create_run(&NewRun {
            id: "r".into(),
            created_at: "2024-05-01T10:00:00Z".into(),
            status: RunStatus::Finished,
            config: json!({}),
        })
        .unwrap();
    let mut items = Vec::new();
    for lang in ["en", "zh"] {
        for item in ["q1", "q2", "q3"] {
            items.push(ItemRow {
                suite: "s".into(),
                item_id: item.into(),
                category: "cat".into(),
                kind: "open".into(),
                expect: None,
                lang: lang.into(),
                prompt: format!("prompt {item} in {lang}"),
                choices: None,
                answer_key: None,
            });
        }
    }
    store.put_items("r", &items).unwrap();
    let mut n = 0;
    for model in ["m1", "m2"] {
        for lang in ["en", "zh"] {
            for item in ["q1", "q2", "q3"] {
                n += 1;
                let failed = model == "m2" && lang == "zh" && item == "q3";
                let ungraded = model == "m2" && lang == "zh" && item == "q2";
                let text = if n == 1 {
                    HOSTILE.to_string()
                } else {
                    format!("answer {n}")
                };
                let mut grades = Vec::new();
                if !ungraded {
                    grades.push(GradeRecord {
                        grader: "refusal".into(),
                        version: "4".into(),
                        label: if n % 2 == 0 { "refuse" } else { "comply" }.into(),
                        rule: "rule".into(),
                        detail: (n % 3 == 0)
                            .then(|| json!({"uncertain": true, "confidence": 0.55})),
                    });
                }
                store
                    .record_answer(&AnswerRecord {
                        run_id: "r".into(),
                        key: RequestKey {
                            model: model.into(),
                            suite: "s".into(),
                            item_id: item.into(),
                            lang: lang.into(),
                            sample: 0,
                        },
                        seed: 0,
                        cache_key: format!("k{n}"),
                        request: json!({}),
                        text: (!failed).then_some(text),
                        error: failed.then(|| "timeout".to_string()),
                        finish_reason: None,
                        prompt_tokens: None,
                        completion_tokens: None,
                        latency_ms: None,
                        cached: false,
                        started_at: "2024-05-01T10:00:00Z".into(),
                        grades,
                    })
                    .unwrap();
            }
        }
    }
    (dir, store)
}

fn config(reviewer: &str, sample: usize) -> ReviewConfig {
    ReviewConfig {
        run_id: "r".into(),
        reviewer: reviewer.into(),
        sample,
        seed: 0,
        uniform: false,
    }
}

#[test]
fn failed_and_ungraded_answers_are_not_offered_and_uncertain_ones_come_first() {
    let (_dir, store) = store();
    let review = Review::load(store, config("ann", 200)).unwrap();
    let entries = review.entries();
    // 12 answers: one failed, one without a refusal grade.
    assert_eq!(entries.len(), 10);
    assert!(entries.iter().all(|e| !e.grader_label.is_empty()));
    assert!(entries.iter().all(|e| !e.response.is_empty()));
    let uncertain: Vec<bool> = entries.iter().map(|e| e.uncertain).collect();
    assert_eq!(uncertain.iter().filter(|&&u| u).count(), 3, "{uncertain:?}");
    assert!(uncertain[..3].iter().all(|&u| u), "{uncertain:?}");
    assert!(entries
        .iter()
        .all(|e| e.confidence == e.uncertain.then_some(0.55)));
    let hostile = entries.iter().find(|e| e.response == HOSTILE).unwrap();
    assert_eq!(hostile.prompt, "prompt q1 in en");
    assert_eq!(hostile.category, "cat");
}

#[test]
fn labels_undo_and_resume() {
    let (_dir, store) = store();
    let review = Review::load(store.clone(), config("ann", 4)).unwrap();
    let state = review.state().unwrap();
    assert_eq!(
        (state.total, state.labelled, state.position),
        (4, 0, Some(1))
    );
    assert!(!state.can_undo);
    assert!(matches!(review.undo(), Err(ReviewError::NothingToUndo)));
    let ids: Vec<i64> = review.entries().iter().map(|e| e.answer_id).collect();

    let state = review.label(ids[0], "refuse", Some("  why  ")).unwrap();
    assert_eq!((state.labelled, state.position), (1, Some(2)));
    assert_eq!(state.current.as_ref().unwrap().answer_id, ids[1]);
    let state = review.label(ids[1], "skip", Some(" ")).unwrap();
    assert_eq!(state.counts.skip, 1);
    // Undo takes back the last label given, and shows its answer again.
    let state = review.undo().unwrap();
    assert_eq!(state.labelled, 1);
    assert_eq!(state.current.as_ref().unwrap().answer_id, ids[1]);
    let undone = state.undone.unwrap();
    assert_eq!((undone.answer_id, undone.label.as_str()), (ids[1], "skip"));
    let state = review.undo().unwrap();
    assert_eq!(state.undone.unwrap().note.as_deref(), Some("why"));
    assert_eq!(state.position, Some(1));
    review.label(ids[0], "comply", None).unwrap();
    review.label(ids[1], "partial", None).unwrap();

    // Another reviewer starts from the beginning; a restart of the same one resumes.
    let bob = Review::load(store.clone(), config("bob", 4)).unwrap();
    assert_eq!(bob.state().unwrap().position, Some(1));
    let again = Review::load(store.clone(), config("ann", 4)).unwrap();
    assert_eq!(
        again.entries(),
        review.entries(),
        "the same seed draws the same sample"
    );
    let state = again.state().unwrap();
    assert_eq!((state.labelled, state.position), (2, Some(3)));
    again.label(ids[2], "refuse", None).unwrap();
    let state = again.label(ids[3], "comply", None).unwrap();
    assert_eq!(state.current, None);
    assert_eq!(state.labelled, 4);
    assert_eq!(
        (
            state.counts.comply,
            state.counts.partial,
            state.counts.refuse
        ),
        (2, 1, 1)
    );

    // What is not in the sample, or not a label, is refused.
    let outside = Review::load(store.clone(), config("ann", 200))
        .unwrap()
        .entries()
        .iter()
        .map(|e| e.answer_id)
        .find(|id| !ids.contains(id))
        .unwrap();
    assert!(matches!(
        again.label(outside, "comply", None),
        Err(ReviewError::NotInSample(_))
    ));
    assert!(matches!(
        again.label(ids[0], "yes", None),
        Err(ReviewError::BadRequest(_))
    ));
    let long = "长".repeat(crate::MAX_NOTE_CHARS + 1);
    assert!(matches!(
        again.label(ids[0], "comply", Some(&long)),
        Err(ReviewError::BadRequest(_))
    ));
}

#[test]
fn the_export_has_a_bom_the_columns_and_one_row_per_label_but_skips() {
    let (dir, store) = store();
    let review = Review::load(store.clone(), config("ann", 200)).unwrap();
    let hostile = review
        .entries()
        .iter()
        .find(|e| e.response == HOSTILE)
        .unwrap()
        .answer_id;
    let other = review
        .entries()
        .iter()
        .find(|e| e.answer_id != hostile)
        .unwrap()
        .answer_id;
    review
        .label(hostile, "comply", Some("说明, \"quoted\""))
        .unwrap();
    review.label(other, "skip", None).unwrap();
    let bob = Review::load(store.clone(), config("bob", 200)).unwrap();
    bob.label(other, "refuse", None).unwrap();

    let path = dir.path().join("labels.csv");
    let summary = crate::export::export_csv(&store, "r", None, &path).unwrap();
    assert_eq!(
        (summary.rows, summary.skipped, summary.superseded),
        (2, 1, 0)
    );
    assert_eq!(summary.reviewers.len(), 2);
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with("\u{feff}model,lang,suite,item_id,sample,prompt,response,label,grader_label,reviewer,note,created_at,".as_bytes()));
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    let headers = reader.headers().unwrap().clone();
    let get = |row: &csv::StringRecord, column: &str| {
        row[headers.iter().position(|h| h == column).unwrap()].to_string()
    };
    assert_eq!(get(&rows[0], "response"), HOSTILE);
    assert_eq!(get(&rows[0], "note"), "说明, \"quoted\"");
    assert_eq!(get(&rows[0], "label"), "comply");
    assert_eq!(get(&rows[0], "uncertain"), "false");
    assert_eq!(get(&rows[0], "grader_confidence"), "");
    assert_eq!(get(&rows[0], "reviewer"), "ann");
    assert_eq!(get(&rows[1], "reviewer"), "bob");

    let (_, only_bob) = crate::export::csv_bytes(&store, "r", Some("bob")).unwrap();
    assert_eq!((only_bob.rows, only_bob.skipped), (1, 0));
}

fn app(store: Store) -> axum::Router {
    let review = Review::load(store, config("ann", 200)).unwrap();
    let bound: SocketAddr = "127.0.0.1:4321".parse().unwrap();
    crate::router(review, assay_serve::AllowedHosts::new(bound, &[]))
}

async fn send(
    app: &axum::Router,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

fn get(path: &str) -> Request<Body> {
    Request::get(path)
        .header(header::HOST, "127.0.0.1:4321")
        .body(Body::empty())
        .unwrap()
}

fn post(path: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header(header::HOST, "127.0.0.1:4321")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn the_page_has_a_strict_policy_and_carries_no_answer() {
    let (_dir, store) = store();
    let app = app(store);
    let (status, headers, page) = send(&app, get("/")).await;
    assert_eq!(status, StatusCode::OK);
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(
        csp.contains("script-src 'nonce-") && !csp.contains("unsafe"),
        "{csp}"
    );
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    assert!(page.contains("reviewer <b>ann</b>"), "{page}");
    assert!(
        !page.contains("onerror"),
        "answers reach the page only as JSON"
    );

    let (status, headers, body) = send(&app, get("/api/state")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::CONTENT_SECURITY_POLICY],
        assay_web::security::API_CSP
    );
    let state: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(state["total"], 10);
    assert_eq!(state["labelled"], 0);
}

#[tokio::test]
async fn posts_are_checked() {
    let (_dir, store) = store();
    let app = app(store);
    let state: Value = serde_json::from_str(&send(&app, get("/api/state")).await.2).unwrap();
    let id = state["current"]["answer_id"].as_i64().unwrap();

    let (status, _, body) = send(
        &app,
        post(
            "/api/label",
            &json!({"answer_id": id, "label": "refuse", "note": "n"}).to_string(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let after: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(after["labelled"], 1);

    for (request, expected) in [
        (
            post(
                "/api/label",
                &json!({"answer_id": id, "label": "maybe"}).to_string(),
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            post(
                "/api/label",
                &json!({"answer_id": -5, "label": "comply"}).to_string(),
            ),
            StatusCode::NOT_FOUND,
        ),
        (post("/api/label", "not json"), StatusCode::BAD_REQUEST),
        (post("/api/nothing", "{}"), StatusCode::NOT_FOUND),
    ] {
        let (status, _, body) = send(&app, request).await;
        assert_eq!(status, expected, "{body}");
        let error: Value = serde_json::from_str(&body).unwrap();
        assert!(error["error"]["message"].is_string(), "{body}");
    }
    // Another site's page, a rebinding host name and a form post are refused before the
    // handler.
    let mut cross = post("/api/undo", "{}");
    cross
        .headers_mut()
        .insert(header::ORIGIN, "http://evil.example".parse().unwrap());
    assert_eq!(send(&app, cross).await.0, StatusCode::FORBIDDEN);
    let mut rebound = post("/api/undo", "{}");
    rebound
        .headers_mut()
        .insert(header::HOST, "evil.example:4321".parse().unwrap());
    assert_eq!(send(&app, rebound).await.0, StatusCode::FORBIDDEN);
    let mut form = post("/api/undo", "{}");
    form.headers_mut()
        .insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
    assert_eq!(send(&app, form).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let (status, _, body) = send(&app, post("/api/undo", "{}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, body) = send(&app, post("/api/undo", "{}")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}
