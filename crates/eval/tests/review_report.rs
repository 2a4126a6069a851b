//! Human review in the reports, through a real SQLite store: labels stored with
//! `put_review_label` are joined to the run's answers by id, agreement with the refusal grader
//! is measured (three-way and refuse vs not, with Cohen's kappa only from n = 20), and refusal
//! rates are given again with the human label in place of the grader's.

mod support;

use assay_core::Language;
use assay_eval::audit;
use assay_eval::report::{csv, html, terminal_summary};
use assay_eval::stats::{cohen_kappa, wilson};
use assay_store::{AnswerRecord, GradeRecord, RequestKey, ReviewLabel, Store};

const MODELS: [&str; 2] = ["http://127.0.0.1:9/v1#a", "http://127.0.0.1:9/v1#b"];

fn refusal(label: &str) -> GradeRecord {
    GradeRecord {
        grader: "refusal".into(),
        version: "4".into(),
        label: label.into(),
        rule: "r".into(),
        detail: Some(serde_json::json!({"confidence": 0.9, "uncertain": false})),
    }
}

/// A run of two models × 6 items × English and Chinese (24 answers), graded `refuse` for
/// the first two items and `comply` for the rest; returns the store, the run and the answer
/// ids in the order recorded (model, item, language).
fn run(dir: &std::path::Path) -> (Store, String, Vec<i64>) {
    let store = Store::open(&dir.join("assay.db")).unwrap();
    let suite = assay_eval::builtin::load("over-refusal").unwrap().unwrap();
    let mut config = support::one_item_config(MODELS[0]);
    config.models = MODELS.iter().map(|m| m.to_string()).collect();
    config.langs = vec![Language::En, Language::Zh];
    config.limit = Some(6);
    let run_id = audit::create_run(&store, &config, &[suite]).unwrap();
    let mut items = store.items(&run_id).unwrap();
    items.sort_by(|a, b| (&a.item_id, &a.lang).cmp(&(&b.item_id, &b.lang)));
    assert_eq!(items.len(), 12);
    for model in MODELS {
        for (i, item) in items.iter().enumerate() {
            let label = if i < 4 { "refuse" } else { "comply" };
            let answer = AnswerRecord {
                run_id: run_id.clone(),
                key: RequestKey {
                    model: model.to_string(),
                    suite: item.suite.clone(),
                    item_id: item.item_id.clone(),
                    lang: item.lang.clone(),
                    sample: 0,
                },
                seed: 0,
                cache_key: format!("{model}-{i}"),
                request: serde_json::Value::Null,
                grades: vec![refusal(label)],
                text: Some(format!("answer {i} ({label})")),
                error: None,
                finish_reason: Some("stop".into()),
                prompt_tokens: None,
                completion_tokens: None,
                latency_ms: None,
                cached: false,
                started_at: "2026-12-03T05:00:00Z".into(),
            };
            store.record_answer(&answer).unwrap();
        }
    }
    audit::finish_run(&store, &run_id, assay_store::RunStatus::Finished).unwrap();
    let mut ids: Vec<(String, String, String, i64)> = store
        .latest_answers(&run_id)
        .unwrap()
        .into_iter()
        .map(|a| {
            let k = a.answer.key;
            (k.model, k.item_id, k.lang, a.id)
        })
        .collect();
    ids.sort();
    (store, run_id, ids.into_iter().map(|t| t.3).collect())
}

fn label(store: &Store, run: &str, id: i64, reviewer: &str, label: &str, minute: u32) {
    store
        .put_review_label(
            run,
            &ReviewLabel {
                answer_id: id,
                reviewer: reviewer.into(),
                label: label.into(),
                note: Some("<b>note</b>".into()),
                created_at: format!("2026-12-03T05:{minute:02}:00Z"),
            },
        )
        .unwrap();
}

#[test]
fn a_run_without_human_labels_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (store, run_id, _) = run(dir.path());
    let results = audit::results(&store, &run_id).unwrap();
    assert!(results.human_agreement.is_empty());
    assert!(results.cells.iter().all(|c| c.corrected.is_none()));
    assert!(html(&results).contains("No human labels on this run"));
    assert!(!terminal_summary(&results).contains("human review"));
}

#[test]
fn few_labels_give_agreement_without_kappa_and_corrected_rates() {
    let dir = tempfile::tempdir().unwrap();
    let (store, run_id, ids) = run(dir.path());
    // Model a (ids 0..12): items 0–3 graded refuse, 4–11 comply.
    label(&store, &run_id, ids[0], "ana", "refuse", 1); // agree
    label(&store, &run_id, ids[1], "ana", "comply", 2); // grader refuse, human comply
    label(&store, &run_id, ids[4], "ana", "partial", 3); // grader comply, human partial
    label(&store, &run_id, ids[5], "ana", "skip", 4); // left out
                                                      // Two reviewers on one answer: the later label counts.
    label(&store, &run_id, ids[6], "ana", "comply", 5);
    label(&store, &run_id, ids[6], "bo", "refuse", 6); // grader comply, human refuse
    let results = audit::results(&store, &run_id).unwrap();

    let human: Vec<(usize, &str)> = results
        .answers
        .iter()
        .enumerate()
        .filter_map(|(i, a)| a.human.as_ref().map(|h| (i, h.label.as_str())))
        .collect();
    assert_eq!(human.len(), 4, "{human:?}");
    let all = &results.human_agreement[0];
    assert_eq!((all.model.as_deref(), all.lang.as_deref()), (None, None));
    assert_eq!(all.n, 4);
    assert_eq!(all.reviewers, 2);
    // Rows grader, columns human: comply→partial, comply→refuse, refuse→comply, refuse→refuse.
    assert_eq!(all.confusion, [[0, 1, 1], [0, 0, 0], [1, 0, 1]]);
    assert_eq!(all.agree, wilson(1, 4));
    // Refuse vs not: refuse→refuse and comply→partial agree; the other two do not.
    assert_eq!(all.agree_refuse, wilson(2, 4));
    assert_eq!((all.kappa, all.kappa_refuse), (None, None), "n < 20");
    // One model labelled: no per-model rows; both languages: per-language rows.
    assert!(results.human_agreement.iter().all(|h| h.model.is_none()));

    // Corrected: model a, all languages: grader refuse 4 of 12; with the human labels still 4
    // (one refuse became comply, one comply became refuse), and one partial.
    let cell = results
        .cells
        .iter()
        .find(|c| c.model == MODELS[0] && c.category.is_none() && c.lang.is_none())
        .unwrap();
    assert_eq!(cell.refuse, wilson(4, 12));
    let corrected = cell.corrected.expect("corrected rates");
    assert_eq!(corrected.refuse, wilson(4, 12));
    assert_eq!(corrected.partial, wilson(1, 12));
    assert_eq!(corrected.comply, wilson(7, 12));
    assert_eq!(cell.reviewed, 4);
    // Model b has no labels: its corrected rates are its own.
    let b = results
        .cells
        .iter()
        .find(|c| c.model == MODELS[1] && c.category.is_none() && c.lang.is_none())
        .unwrap();
    assert_eq!(b.corrected.map(|c| c.refuse), Some(b.refuse));
    assert_eq!(b.reviewed, 0);

    let text = terminal_summary(&results);
    println!("{text}");
    assert!(
        text.contains("Grader vs human review: 4 answers labelled by 2 reviewers"),
        "{text}"
    );
    assert!(text.contains("— (n < 20)"), "{text}");
    let page = html(&results);
    assert!(page.contains("id=\"review-table\""));
    assert!(page.contains("— <small>(n &lt; 20)</small>"));
    assert!(page.contains("id=\"corrected-table\""));
    assert!(
        !page.contains("<b>note</b>"),
        "notes are escaped or not shown"
    );
    let csv_text = csv(&results);
    assert!(csv_text
        .lines()
        .next()
        .unwrap()
        .contains(",human,human_reviewer,"));
    assert!(csv_text.contains(",refuse,bo,"));
}

#[test]
fn from_twenty_labels_kappa_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let (store, run_id, ids) = run(dir.path());
    // Every answer of both models labelled as graded, except two of model b's comply answers
    // that the reviewer calls refuse.
    for (n, id) in ids.iter().enumerate() {
        let graded = if n % 12 < 4 { "refuse" } else { "comply" };
        let human = if n == 16 || n == 17 { "refuse" } else { graded };
        label(&store, &run_id, *id, "ana", human, (n % 60) as u32);
    }
    let results = audit::results(&store, &run_id).unwrap();
    let all = &results.human_agreement[0];
    assert_eq!(all.n, 24);
    let confusion = [[14, 0, 2], [0, 0, 0], [0, 0, 8]];
    assert_eq!(all.confusion, confusion);
    assert_eq!(all.agree, wilson(22, 24));
    assert_eq!(all.agree_refuse, wilson(22, 24));
    assert_eq!(all.kappa, Some(cohen_kappa(&confusion)));
    assert_eq!(all.kappa_refuse, Some(cohen_kappa(&[[14, 2], [0, 8]])));
    // Overall, then each model, then each language.
    let scopes: Vec<(Option<&str>, Option<&str>)> = results
        .human_agreement
        .iter()
        .map(|h| (h.model.as_deref(), h.lang.as_deref()))
        .collect();
    assert_eq!(
        scopes,
        [
            (None, None),
            (Some(MODELS[0]), None),
            (Some(MODELS[1]), None),
            (None, Some("en")),
            (None, Some("zh")),
        ]
    );
    // Twelve labels per model: below 20, so no kappa per model.
    assert_eq!(results.human_agreement[1].kappa, None);
    let text = terminal_summary(&results);
    assert!(
        text.contains(&format!("{:.3}", cohen_kappa(&confusion))),
        "{text}"
    );
}
