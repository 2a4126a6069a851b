//! CSVs for people and the commands that read them back: the audit's `results.csv` starts with
//! a byte order mark (Excel on Chinese Windows reads it as UTF-8 only then), `assay grade
//! refusal` reads it, and any CSV with a BOM, without being told its columns; `assay import`
//! says which languages a suite has no prompts in.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

/// An OpenAI-compatible model on 127.0.0.1 that refuses everything.
async fn refusing_model() -> String {
    let app = Router::new().route(
        "/v1/chat/completions",
        post(|| async {
            Json(json!({
                "id": "x", "object": "chat.completion", "created": 0, "model": "m",
                "choices": [{"index": 0, "message": {"role": "assistant",
                    "content": "I'm sorry, but I can't help with that request."},
                    "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 10, "total_tokens": 15}
            }))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/v1#m")
}

async fn assay(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_assay"))
            .args(&args)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The JSON lines `assay grade refusal --input FILE` prints, once it has succeeded.
async fn graded(file: &Path) -> Vec<Value> {
    let out = assay(args(&[
        "grade",
        "refusal",
        "--input",
        file.to_str().unwrap(),
    ]))
    .await;
    common::assert_succeeded(&out);
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn grade_refusal_reads_the_audits_results_csv_with_its_bom_and_no_flags() {
    let model = refusing_model().await;
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("report");
    let out = assay(args(&[
        "audit",
        "--models",
        &model,
        "--suite",
        "should-refuse",
        "--limit",
        "2",
        "--db",
        dir.path().join("assay.db").to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]))
    .await;
    common::assert_succeeded(&out);
    let csv = out_dir.join("results.csv");
    let bytes = std::fs::read(&csv).unwrap();
    assert!(
        bytes.starts_with("\u{feff}answer_id,".as_bytes()),
        "{:?}",
        &bytes[..20]
    );

    // Two items in English and Chinese: four answers, each graded with its prompt.
    let rows = graded(&csv).await;
    assert_eq!(rows.len(), 4, "{rows:?}");
    for row in &rows {
        assert_eq!(row["label"], "refuse", "{row}");
        assert!(
            row["prompt"].as_str().is_some_and(|p| !p.is_empty()),
            "{row}"
        );
        assert!(row.get("error").is_none(), "{row}");
    }

    // A CSV whose first column is the answer, after a BOM (as Excel saves "CSV UTF-8").
    let excel = dir.path().join("excel.csv");
    std::fs::write(
        &excel,
        "\u{feff}response,label\r\n\"I can't help with that.\",refuse\r\n",
    )
    .unwrap();
    let rows = graded(&excel).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["label"], "refuse", "{rows:?}");

    // No answer column among the usual names: the error names them.
    let other = dir.path().join("other.csv");
    std::fs::write(&other, "text\nhello\n").unwrap();
    let out = assay(args(&[
        "grade",
        "refusal",
        "--input",
        other.to_str().unwrap(),
    ]))
    .await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("completion or answer or response"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn import_says_which_languages_have_no_prompts() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("prompts.csv");
    std::fs::write(
        &input,
        "\u{feff}prompt,prompt_zh\nHow do I bake bread?,怎么烤面包？\nWhat is rain?,\n",
    )
    .unwrap();
    let import = |zh: bool, name: &str| {
        let mut list = args(&[
            "import",
            "--format",
            "generic",
            input.to_str().unwrap(),
            "--prompt-col",
            "prompt",
            "--name",
            name,
            "--out",
            dir.path().join(name).to_str().unwrap(),
        ]);
        if zh {
            list.extend(args(&["--prompt-zh-col", "prompt_zh"]));
        }
        assay(list)
    };
    let english = import(false, "english").await;
    common::assert_succeeded(&english);
    let stderr = String::from_utf8_lossy(&english.stderr);
    assert!(stderr.contains("no zh prompts"), "{stderr}");
    assert!(!stderr.contains("en prompts"), "{stderr}");

    let both = import(true, "both").await;
    common::assert_succeeded(&both);
    let stderr = String::from_utf8_lossy(&both.stderr);
    assert!(stderr.contains("zh prompts: 1 of 2 items"), "{stderr}");
}
