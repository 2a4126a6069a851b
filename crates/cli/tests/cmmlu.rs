//! CMMLU end to end: `assay import --format cmmlu` on a fixture of three real subjects (CC
//! BY-NC-SA 4.0, `crates/eval/tests/data/cmmlu`), then an audit of the embedded SmolLM2 behind
//! `assay serve` whose reports give the accuracy per CMMLU group.

use std::path::PathBuf;

use assay_eval::results::Results;

mod common;

use common::{assay, ok, Server};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../eval/tests/data/cmmlu")
}

#[test]
fn imported_cmmlu_is_audited_with_accuracy_per_group() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("cmmlu");
    let fixture = fixture();
    let printed = ok(&assay(&[
        "import",
        "--format",
        "cmmlu",
        fixture.to_str().unwrap(),
        "--name",
        "cmmlu",
        "--out",
        suite.to_str().unwrap(),
    ]));
    assert!(printed.contains("30 items"), "{printed}");
    let manifest = std::fs::read_to_string(suite.join("suite.toml")).unwrap();
    assert!(manifest.contains("CC BY-NC-SA 4.0"), "{manifest}");
    assert!(
        manifest.contains("groups = [\"humanities\", \"china-specific\"]"),
        "{manifest}"
    );

    // --shots belongs to cmmlu only; a value past the five dev examples is refused.
    let wrong = assay(&[
        "import", "--format", "ceval", "--shots", "5", "x.csv", "--name", "x", "--out", "x",
    ]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("--shots is for --format cmmlu"));
    let six = assay(&[
        "import",
        "--format",
        "cmmlu",
        "--shots",
        "6",
        fixture.to_str().unwrap(),
        "--name",
        "x",
        "--out",
        dir.path().join("x").to_str().unwrap(),
    ]);
    assert!(!six.status.success());
    assert!(String::from_utf8_lossy(&six.stderr).contains("use 0 to 5"));

    let server = Server::start(&[]);
    let out = dir.path().join("report");
    let db = dir.path().join("assay.db");
    let model = format!("{}/v1#smollm2", server.base);
    let printed = ok(&assay(&[
        "audit",
        "--models",
        &model,
        "--suite",
        suite.to_str().unwrap(),
        "--filter",
        "id=agronomy-0,chinese-history-0,chinese-history-1,computer-science-0",
        "--langs",
        "zh",
        "--max-tokens",
        "4",
        "--db",
        db.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(printed.contains("Accuracy by group"), "{printed}");

    let json = std::fs::read_to_string(out.join("results.json")).unwrap();
    let results: Results = serde_json::from_str(&json).unwrap();
    assert_eq!(results.run.suites[0].version, "imported-5-shot");
    let n = |group: &str| {
        results
            .group_cells
            .iter()
            .find(|c| c.category.as_deref() == Some(group) && c.lang.is_none())
            .and_then(|c| c.accuracy.as_ref())
            .map(|a| a.n)
    };
    // Four questions: agronomy (other), two of Chinese history (humanities and China-specific),
    // computer science (STEM); the five-shot prompts were sent.
    assert_eq!(
        [
            n("other"),
            n("humanities"),
            n("china-specific"),
            n("stem"),
            n("social-science")
        ],
        [Some(1), Some(2), Some(2), Some(1), None]
    );
    assert!(results
        .answers
        .iter()
        .all(|a| a.prompt.matches("答案是：").count() == 5));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("id=\"group-accuracy-table\""));
    assert!(html.contains("china-specific"));
}
