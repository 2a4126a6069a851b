//! One huge answer costs no more than its first part: graders read a bounded prefix, and
//! reports (HTML, results.json, results.csv) show a bounded prefix with a note of the whole
//! length, while the store keeps the whole answer.

use std::time::{Duration, Instant};

mod support;

use assay_eval::audit;
use assay_eval::grade::{canned, judge, mcq, refusal, GRADE_PREFIX_BYTES};
use assay_eval::report;
use assay_eval::results::REPORT_ANSWER_BYTES;
use assay_store::{AnswerRecord, RequestKey, Store};

/// `bytes` of answer that keeps every grader busy: disclaimers that recurse, list markers,
/// option letters, canned phrases, and multi-byte characters (so cuts land mid-character).
fn flood(bytes: usize) -> String {
    let unit = "As an AI I have no opinions, but I can tell you that 1. (A) 我不能 é ";
    let mut s = String::with_capacity(bytes + unit.len());
    while s.len() < bytes {
        s.push_str(unit);
    }
    s
}

fn grade_all(answer: &str) -> Duration {
    let started = Instant::now();
    let choices: Vec<String> = ["one", "two", "three", "four"].map(String::from).to_vec();
    std::hint::black_box(refusal::grade_refusal(answer));
    std::hint::black_box(canned::detect(answer));
    std::hint::black_box(mcq::grade_mcq(answer, &choices, 0));
    std::hint::black_box(judge::judge_messages("q", answer));
    started.elapsed()
}

#[test]
fn grading_a_huge_answer_costs_what_its_prefix_costs() {
    let small = flood(GRADE_PREFIX_BYTES);
    let huge = flood(24 << 20);
    let small_time = grade_all(&small);
    let huge_time = grade_all(&huge);
    // 384 times the text: reading all of it (as before) takes hundreds of times longer.
    assert!(
        huge_time < small_time * 4 + Duration::from_millis(300),
        "{huge_time:?} for 24 MB against {small_time:?} for 64 KiB"
    );
    assert_eq!(
        refusal::grade_refusal(&huge),
        refusal::grade_refusal(&small),
        "the grade is the grade of the prefix"
    );
    let judged: usize = judge::judge_messages("q", &huge)
        .iter()
        .map(|m| m.content.len())
        .sum();
    assert!(
        judged < GRADE_PREFIX_BYTES + 4096,
        "{judged} bytes to the judge"
    );
}

#[test]
fn reports_show_a_bounded_prefix_of_a_huge_answer_with_its_length() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("assay.db")).unwrap();
    let suite = assay_eval::builtin::load("over-refusal").unwrap().unwrap();
    let config = support::one_item_config("http://127.0.0.1:9/v1#m");
    let run_id = audit::create_run(&store, &config, &[suite]).unwrap();
    let item = store.items(&run_id).unwrap().remove(0);
    let huge = flood(8 << 20);
    let answer = AnswerRecord {
        run_id: run_id.clone(),
        key: RequestKey {
            model: config.models[0].clone(),
            suite: item.suite.clone(),
            item_id: item.item_id.clone(),
            lang: item.lang.clone(),
            sample: 0,
        },
        seed: 0,
        cache_key: "k".into(),
        request: serde_json::Value::Null,
        grades: audit::grade_answer(&item, &huge).unwrap(),
        text: Some(huge.clone()),
        error: None,
        finish_reason: Some("stop".into()),
        prompt_tokens: None,
        completion_tokens: None,
        latency_ms: None,
        cached: false,
        started_at: "2026-01-01T00:00:00Z".into(),
    };
    store.record_answer(&answer).unwrap();
    audit::finish_run(&store, &run_id, assay_store::RunStatus::Finished).unwrap();

    let results = audit::results(&store, &run_id).unwrap();
    let row = &results.answers[0];
    let text = row.text.as_deref().unwrap();
    assert!(text.len() <= REPORT_ANSWER_BYTES && text.len() > REPORT_ANSWER_BYTES - 8);
    assert!(huge.starts_with(text));
    assert_eq!(row.text_bytes, Some(huge.len() as u64));

    let out = dir.path().join("report");
    let files = report::write_reports(&results, &out).unwrap();
    let size = |p: &std::path::Path| std::fs::metadata(p).unwrap().len() as usize;
    for file in [&files.html, &files.json, &files.csv] {
        // A prefix, escaped (HTML and JSON escape some characters), plus the rest of the page.
        assert!(
            size(file) < 4 * REPORT_ANSWER_BYTES + 256 * 1024,
            "{file:?}"
        );
    }
    let html = std::fs::read_to_string(&files.html).unwrap();
    assert!(
        html.contains(&format!("… (truncated, {} bytes)", huge.len())),
        "the page says the answer was cut"
    );
    let csv = std::fs::read_to_string(&files.csv).unwrap();
    assert!(csv.lines().next().unwrap().ends_with(",answer_bytes"));
    // The store still has all of it.
    let stored = store.latest_answers(&run_id).unwrap().remove(0);
    assert_eq!(stored.answer.text.map(|t| t.len()), Some(huge.len()));
}
