//! The `assay assess` report in a real browser: an assessment from the example pack and guard
//! settings (no model needed), written in Chinese, English and both, each checked by
//! `tests/browser/assess.mjs` in headless Chromium through playwright-core: a viewport meta, no
//! horizontal page scroll at 390 px, the hostile service name inert, the languages asked for,
//! and a print layout (the cover on its own page, a PDF of several pages).
//!
//! Needs node (≥ 20), Chromium (/usr/bin/chromium, or $ASSAY_CHROMIUM) and
//! `npm ci --prefix crates/cli/tests/browser`; the test fails with what is missing rather than
//! skipping.

mod common;

use std::path::Path;
use std::process::Command;

use common::{check_browser_prerequisites, run_browser_script, succeed};

#[test]
fn the_assessment_report_reads_in_each_language_fits_a_phone_and_prints() {
    check_browser_prerequisites();
    let dir = tempfile::tempdir().unwrap();
    let guard = dir.path().join("guard.toml");
    std::fs::write(&guard, "[suspension]\nin_a_row = 3\nper_day = 5\n").unwrap();
    for lang in ["zh", "en", "both"] {
        let out = dir.path().join(lang);
        succeed(Command::new(env!("CARGO_BIN_EXE_assay")).args([
            "assess",
            "--policy",
            "example",
            "--guard-config",
            guard.to_str().unwrap(),
            "--service",
            "<img src=x onerror=\"window.__pwned=1\">",
            "--date",
            "2026-12-03",
            "--lang",
            lang,
            "--out",
            out.to_str().unwrap(),
        ]));
        let stdout = run_browser_script(
            "assess.mjs",
            &[&out.join("assessment.html"), Path::new(lang)],
        );
        assert!(stdout.contains("ok - printed to PDF"), "{stdout}");
    }
}
