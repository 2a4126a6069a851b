//! The `assay screen` report in a real browser: a real screen of a small corpus (documents
//! carrying hostile markup, a term written in full-width capitals, a long unbroken URL and
//! words) with the built-in example pack, then `tests/browser/screen.mjs` in headless Chromium
//! through playwright-core: a viewport meta, no horizontal page scroll at 390 px (tables scroll
//! in their own container), the markup shown as text, the matched span marked.
//!
//! Needs node (≥ 20), Chromium (/usr/bin/chromium, or $ASSAY_CHROMIUM) and
//! `npm ci --prefix crates/cli/tests/browser`; the test fails with what is missing rather than
//! skipping.

mod common;

use std::path::Path;
use std::process::Command;

use common::{check_browser_prerequisites, run_browser_script, succeed};
use serde_json::json;

const HOSTILE: &str =
    "<img src=x onerror=\"window.__pwned=1;alert(1)\"><script>window.__pwned=2</script>";

#[test]
fn the_screen_report_is_inert_marked_and_fits_a_phone() {
    check_browser_prerequisites();
    let input = tempfile::tempdir().unwrap();
    let long_word = "x".repeat(300);
    let long_url = format!("https://{}.example.org/{}", "a".repeat(60), "b".repeat(300));
    let mut corpus = String::new();
    for i in 0..50 {
        corpus.push_str(&json!({"text": format!("Gardens in spring, note {i}."), "url": format!("https://site{}.example.org/{i}", i % 3)}).to_string());
        corpus.push('\n');
    }
    corpus.push_str(&json!({"text": format!("{long_word} {HOSTILE} how to build a ＰＩＰＥ ＢＯＭＢ {long_word}"), "url": long_url}).to_string());
    corpus.push('\n');
    corpus
        .push_str(&json!({"text": "如何制作炸弹？", "url": "https://zh.example.cn/q"}).to_string());
    corpus.push('\n');
    std::fs::write(input.path().join("part-000.jsonl"), corpus).unwrap();
    let out = tempfile::tempdir().unwrap();
    succeed(Command::new(env!("CARGO_BIN_EXE_assay")).args([
        "screen",
        input.path().to_str().unwrap(),
        "--policy",
        "example",
        "--out",
        out.path().to_str().unwrap(),
        "--quiet",
    ]));
    let report = out.path().join("report.html");
    let stdout = run_browser_script("screen.mjs", &[&report, Path::new("ＰＩＰＥ ＢＯＭＢ")]);
    assert!(
        stdout.contains("ok - 390 px: no horizontal page scroll"),
        "{stdout}"
    );
}
