//! `assay review` end to end in a real browser: a real audit (the embedded SmolLM2 behind a
//! real `assay serve`, and a stub model on 127.0.0.1 whose every answer is hostile HTML) into a
//! temporary SQLite file; `assay review` on it, driven by headless Chromium through
//! playwright-core (`tests/browser/review.mjs`): labels by keyboard and button, undo, a reload
//! and a restart that resume, hostile markup shown as text, a 390 px wide screen; then
//! `assay review export` and `assay grade refusal --labels` on the CSV it writes. The run's
//! report.html and a compare.html are checked in the browser too (`tests/browser/report.mjs`).
//!
//! Needs node (≥ 20), Chromium (/usr/bin/chromium, or $ASSAY_CHROMIUM) and
//! `npm ci --prefix crates/cli/tests/browser`; the test fails with what is missing rather than
//! skipping.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Output};

use common::{
    assert_succeeded, browser_dir, check_browser_prerequisites, chromium, start_listening, succeed,
    Running, Server,
};

/// What the stub model answers to everything: markup that would run script if a page put it
/// in as HTML, and a long unbroken word that would widen a page that does not wrap it.
const HOSTILE: &str = "<img src=x onerror=\"window.__pwned=1;alert(1)\"><script>window.__pwned=2</script> \
     Sure, here it is. https://example.com/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// A chat-completions stub on a free port of 127.0.0.1 answering `HOSTILE`; its base URL.
fn hostile_model() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let body = serde_json::json!({
        "id": "c1", "object": "chat.completion", "created": 0, "model": "hostile",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": HOSTILE}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}
    })
    .to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let body = body.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0usize;
                let mut line = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let header = line.trim_end().to_ascii_lowercase();
                    if header.is_empty() {
                        break;
                    }
                    if let Some(v) = header.strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut request = vec![0; length];
                let _ = reader.read_exact(&mut request);
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    format!("http://127.0.0.1:{port}/v1#hostile")
}

fn assay(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(args)
        .output()
        .expect("assay runs")
}

/// `assay review latest --db DB ...` on a free port; the process and the page's URL.
fn start_review(db: &Path) -> (Running, String) {
    start_listening(
        Command::new(env!("CARGO_BIN_EXE_assay")).args([
            "review",
            "latest",
            "--db",
            db.to_str().unwrap(),
            "--sample",
            "6",
            "--seed",
            "3",
            "--reviewer",
            "ann",
            "--listen",
            "127.0.0.1:0",
        ]),
        "assay review",
    )
}

/// Runs one phase of the browser script; answers how many hostile answers it was shown.
fn browser(url: &str, phase: &str) -> usize {
    let out = Command::new("node")
        .arg(browser_dir().join("review.mjs"))
        .args([url, phase])
        .env("ASSAY_CHROMIUM", chromium())
        .current_dir(browser_dir())
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        out.status.success(),
        "the browser test ({phase}) failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("hostile answers shown: "))
        .and_then(|n| n.trim().parse().ok())
        .expect("the script says how many hostile answers it showed")
}

/// The run's report and a comparison page (the run with itself) at phone width, and the
/// report's filters (`tests/browser/report.mjs`).
fn report_pages_in_a_browser(db: &Path, dir: &Path) {
    let compare = dir.join("compare");
    succeed(Command::new(env!("CARGO_BIN_EXE_assay")).args([
        "audit",
        "--compare",
        "latest",
        "latest",
        "--db",
        db.to_str().unwrap(),
        "--out",
        compare.to_str().unwrap(),
    ]));
    let out = Command::new("node")
        .arg(browser_dir().join("report.mjs"))
        .arg(dir.join("report/report.html"))
        .arg(compare.join("compare.html"))
        .env("ASSAY_CHROMIUM", chromium())
        .current_dir(browser_dir())
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "the report pages failed in the browser ({}):\n{stdout}\n{stderr}",
        out.status
    );
}

#[test]
fn review_in_a_real_browser_then_export_and_measure_agreement() {
    check_browser_prerequisites();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("assay.db");
    {
        let server = Server::start(&[]);
        let models = format!("{}/v1#smollm2,{}", server.base, hostile_model());
        // 2 items × 2 languages × 2 models: 8 answers.
        succeed(Command::new(env!("CARGO_BIN_EXE_assay")).args([
            "audit",
            "--models",
            &models,
            "--suite",
            "over-refusal,should-refuse",
            "--filter",
            "id=over-refusal-001,should-refuse-001",
            "--langs",
            "en,zh",
            "--samples",
            "1",
            "--max-tokens",
            "24",
            "--db",
            db.to_str().unwrap(),
            "--out",
            dir.path().join("report").to_str().unwrap(),
        ]));
    }
    report_pages_in_a_browser(&db, dir.path());

    // Only loopback addresses are served: the page has no login.
    let refused = assay(&[
        "review",
        "latest",
        "--db",
        db.to_str().unwrap(),
        "--listen",
        "0.0.0.0:0",
    ]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("loopback"), "{stderr}");

    let (review, url) = start_review(&db);
    let mut hostile = browser(&url, "first");
    // The same command again carries on where the reviewer stopped.
    drop(review);
    let (review, url) = start_review(&db);
    hostile += browser(&url, "second");
    drop(review);
    assert!(hostile >= 1, "the sample showed a hostile answer");

    let store = assay_store::Store::open(&db).unwrap();
    let run = store.resolve_run("latest").unwrap();
    let labels = store.review_labels(&run).unwrap();
    assert_eq!(labels.len(), 6, "{labels:?}");
    assert!(labels.iter().all(|l| l.reviewer == "ann"));
    let skips = labels.iter().filter(|l| l.label == "skip").count();
    assert_eq!(skips, 1, "{labels:?}");
    assert_eq!(
        labels
            .iter()
            .filter_map(|l| l.note.as_deref())
            .collect::<Vec<_>>(),
        ["kept after undo 注释"],
    );

    // The export: a BOM, the columns, one row per label but the skip.
    let csv_path = dir.path().join("labels.csv");
    let export = succeed(Command::new(env!("CARGO_BIN_EXE_assay")).args([
        "review",
        "export",
        "latest",
        "--db",
        db.to_str().unwrap(),
        "--out",
        csv_path.to_str().unwrap(),
        "--json",
    ]));
    let summary: serde_json::Value = serde_json::from_slice(&export.stdout).unwrap();
    assert_eq!(summary["rows"], 5, "{summary}");
    assert_eq!(summary["skipped"], 1, "{summary}");
    let bytes = std::fs::read(&csv_path).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBFmodel,lang,suite,item_id,sample,prompt,response,label,grader_label,reviewer,note,created_at"));
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|r| &r[column("label")] != "skip"));
    // The audit's refusal grader gives every grade a confidence; the export carries it.
    assert!(rows.iter().all(|r| r[column("grader_confidence")]
        .parse::<f64>()
        .is_ok_and(|p| (0.0..=1.0).contains(&p))));
    assert!(
        rows.iter().any(|r| &r[column("response")] == HOSTILE),
        "the hostile answer is exported as it was given"
    );

    // `assay grade refusal --labels` reads it and compares every row.
    let graded = succeed(Command::new(env!("CARGO_BIN_EXE_assay")).args([
        "grade",
        "refusal",
        "--input",
        csv_path.to_str().unwrap(),
        "--response-col",
        "response",
        "--labels",
        "label",
    ]));
    assert_succeeded(&graded);
    let report = String::from_utf8_lossy(&graded.stderr);
    assert!(report.contains("rows compared: 5"), "{report}");
    assert!(!report.contains("without a readable label"), "{report}");
    assert_eq!(String::from_utf8_lossy(&graded.stdout).lines().count(), 5);
}
