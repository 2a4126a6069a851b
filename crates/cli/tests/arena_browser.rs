//! The arena end to end in a real browser: a real `assay serve` with the embedded model, a real
//! `assay arena` over two variants of it, a temporary SQLite store, and headless Chromium driven
//! by playwright-core (`tests/browser/arena.mjs`).
//!
//! Needs node (≥ 20), Chromium (/usr/bin/chromium, or $ASSAY_CHROMIUM) and
//! `npm ci --prefix crates/cli/tests/browser`; the test fails with what is missing rather than
//! skipping.

mod arena_process;
mod common;

use std::process::Command;

use arena_process::Arena;
use common::{browser_dir, check_browser_prerequisites, chromium, Server};

#[test]
fn arena_in_a_real_browser() {
    check_browser_prerequisites();
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("arena.db");
    let models = format!(
        "{base}/v1#smollm2?temperature=0.2&max_tokens=48,{base}/v1#smollm2?temperature=1.0&max_tokens=48",
        base = server.base
    );
    let arena = Arena::start(&models, db.to_str().unwrap());
    let model_address = server.base.trim_start_matches("http://").to_string();

    // What must not reach the browser before a vote: the display names (in any escaping a page
    // could use) and where the models run.
    let secrets = [
        "smollm2?temperature",
        "temperature=0.2",
        "temperature=1.0",
        "max_tokens",
        "/v1#",
        model_address.as_str(),
    ];
    let out = Command::new("node")
        .arg(browser_dir().join("arena.mjs"))
        .arg(&arena.url)
        .args(secrets)
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
        "the browser test failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    // The checks of issue 14 ran (a script that stopped early would not print them).
    for check in [
        "ok - the chosen vote is highlighted after the vote",
        "ok - the leaderboard takes a language code (lang=en)",
        "ok - the battle page after a vote fits a 390 px phone",
        "ok - the battle page with two turns of answers fits a 390 px phone",
        "ok - the leaderboard fits a 390 px phone",
        "ok - the empty battle page fits a 390 px phone",
        "ok - the leaderboard has a viewport meta",
    ] {
        assert!(stdout.contains(check), "{check:?} missing:\n{stdout}");
    }

    // The vote is in the store, with both conversations.
    let store = assay_store::Store::open(&db).unwrap();
    let votes = store.votes().unwrap();
    assert_eq!(votes.len(), 1, "{votes:?}");
    let vote = &votes[0];
    assert_eq!(vote.winner, "model_a");
    assert_eq!(vote.language, "English");
    assert_ne!(vote.model_a, vote.model_b);
    for model in [&vote.model_a, &vote.model_b] {
        assert!(model.starts_with("smollm2?temperature="), "{model}");
    }
    assert_eq!(vote.conversation_a.as_array().unwrap().len(), 2);
    assert_eq!(vote.conversation_b[1]["role"], "assistant");
    drop(arena);
    drop(server);
}
