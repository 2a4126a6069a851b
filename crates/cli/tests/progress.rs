//! Progress when stderr is not a terminal (CI logs, `nohup`): the libraries report to the
//! command line's observer, which prints a line every few seconds instead of drawing bars
//! (which would print nothing to a pipe for the whole run). The interval is shortened with
//! `ASSAY_PROGRESS_SECONDS` so the test takes a moment.

use std::fs;
use std::process::Command;

use serde_json::json;

#[test]
fn a_screen_with_piped_stderr_prints_progress_lines_as_it_goes() {
    let input = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    for f in 0..8 {
        let mut text = String::new();
        for d in 0..20_000 {
            let doc = json!({
                "id": format!("{f}-{d}"),
                "text": format!("Ordinary text number {d} about gardens and 天气。"),
                "url": format!("https://site{}.org/{d}", d % 7),
            });
            text.push_str(&doc.to_string());
            text.push('\n');
        }
        fs::write(input.path().join(format!("part-{f}.jsonl")), text).unwrap();
    }
    let run = Command::new(env!("CARGO_BIN_EXE_assay"))
        .args([
            "screen",
            input.path().to_str().unwrap(),
            "--policy",
            "example",
            "--out",
            out.path().to_str().unwrap(),
            "--threads",
            "1",
        ])
        .env("ASSAY_PROGRESS_SECONDS", "0.02")
        .output()
        .expect("assay runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    let progress: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("screen: "))
        .collect();
    // Lines while it runs, then one when it is done; never a terminal's carriage returns.
    let (last, during) = progress.split_last().expect("progress lines");
    assert!(during.len() >= 2, "{stderr}");
    assert!(
        during
            .iter()
            .all(|l| l.contains(" MB (") && l.contains(" files")),
        "{stderr}"
    );
    assert!(
        last.contains("8/8 files") && last.contains("(done in "),
        "{stderr}"
    );
    assert!(!stderr.contains('\r'), "{stderr:?}");

    // --quiet: none.
    let quiet = Command::new(env!("CARGO_BIN_EXE_assay"))
        .args([
            "screen",
            input.path().to_str().unwrap(),
            "--policy",
            "example",
            "--out",
            tempfile::tempdir().unwrap().path().to_str().unwrap(),
            "--quiet",
        ])
        .env("ASSAY_PROGRESS_SECONDS", "0.02")
        .output()
        .expect("assay runs");
    let stderr = String::from_utf8_lossy(&quiet.stderr);
    assert!(quiet.status.success(), "{stderr}");
    assert!(!stderr.contains("screen: "), "{stderr}");
}
