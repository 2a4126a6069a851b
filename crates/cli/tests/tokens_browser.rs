//! The `assay tokens` report in a real browser (`tests/browser/tokens.mjs`, headless Chromium
//! through playwright-core): premium bars with intervals, token strips with split characters
//! marked, a hostile segment shown as text, no horizontal scroll at 390 px.
//!
//! Needs node (≥ 20), Chromium (/usr/bin/chromium, or $ASSAY_CHROMIUM) and
//! `npm ci --prefix crates/cli/tests/browser`; the test fails with what is missing rather than
//! skipping.

mod common;

use std::process::Command;

use common::{check_browser_prerequisites, run_browser_script, succeed};

#[test]
fn the_tokens_report_draws_premiums_and_splits_and_fits_a_phone() {
    check_browser_prerequisites();
    let dir = tempfile::tempdir().unwrap();
    let en = dir.path().join("en.txt");
    let zh = dir.path().join("zh.txt");
    std::fs::write(
        &en,
        "<img src=x onerror=\"window.__pwned=1\"> The weather is nice today.\nWe went to the market to buy vegetables and fish.\nThe library opens at eight in the morning.\n",
    )
    .unwrap();
    std::fs::write(
        &zh,
        "<img src=x onerror=\"window.__pwned=1\"> 今天天气很好。\n我们去市场买了蔬菜和鱼。\n图书馆早上八点开门。\n",
    )
    .unwrap();
    let out = dir.path().join("report");
    succeed(Command::new(env!("CARGO_BIN_EXE_assay")).args([
        "tokens",
        "--tokenizer",
        "tiktoken:cl100k_base",
        "--text",
        &format!("en={}", en.display()),
        "--text",
        &format!("zh={}", zh.display()),
        "--out",
        out.to_str().unwrap(),
    ]));
    let stdout = run_browser_script(
        "tokens.mjs",
        &[
            &out.join("tokens.html"),
            std::path::Path::new("tiktoken:cl100k_base"),
        ],
    );
    assert!(
        stdout.contains("ok - 390 px: no horizontal page scroll"),
        "{stdout}"
    );
}
