//! The arena end to end in a real browser: a real `assay serve` with the embedded model, a real
//! `assay arena` over two variants of it, a temporary SQLite store, and headless Chromium driven
//! by playwright-core (`tests/browser/arena.mjs`).
//!
//! Needs node (≥ 20), Chromium (/usr/bin/chromium, or $ASSAY_CHROMIUM) and
//! `npm ci --prefix crates/cli/tests/browser`; the test fails with what is missing rather than
//! skipping.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Arena, Server};

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

fn chromium() -> PathBuf {
    std::env::var_os("ASSAY_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Panics with the install steps for whatever the browser test lacks.
fn check_prerequisites() {
    let mut missing = Vec::new();
    let node = Command::new("node").arg("--version").output();
    match node {
        Ok(out) if out.status.success() => {
            let version = String::from_utf8_lossy(&out.stdout);
            let major: u32 = version
                .trim()
                .trim_start_matches('v')
                .split('.')
                .next()
                .and_then(|m| m.parse().ok())
                .unwrap_or(0);
            if major < 20 {
                missing.push(format!(
                    "node ≥ 20 (found {}): apt-get install -y nodejs npm",
                    version.trim()
                ));
            }
        }
        _ => missing.push("node: apt-get install -y nodejs npm".to_string()),
    }
    if !chromium().exists() {
        missing.push(format!(
            "Chromium at {} (or set ASSAY_CHROMIUM): apt-get install -y chromium",
            chromium().display()
        ));
    }
    if !browser_dir()
        .join("node_modules/playwright-core/package.json")
        .exists()
    {
        missing.push(format!(
            "playwright-core: npm ci --prefix {}",
            browser_dir().display()
        ));
    }
    assert!(
        missing.is_empty(),
        "the arena browser test cannot run; missing:\n  - {}",
        missing.join("\n  - ")
    );
}

#[test]
fn arena_in_a_real_browser() {
    check_prerequisites();
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
