//! Every command opens its models through one registry: variants of one local model, plain,
//! with other parameters or behind the guard, share one llama.cpp engine (the real binary and
//! the embedded SmolLM2).

use std::process::Command;

mod common;

use common::engine_lock;

#[test]
fn an_audit_of_variants_and_the_guarded_model_loads_smollm2_once() {
    let _engine = engine_lock();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("assay.db");
    let out = dir.path().join("report");
    // The README's headline comparison, plus a second variant of the same file.
    let models = "local:smollm2,local:smollm2?temperature=1.2,guard:example@local:smollm2";
    let output = Command::new(env!("CARGO_BIN_EXE_assay"))
        .args([
            "audit",
            "--models",
            models,
            "--suite",
            "over-refusal",
            "--filter",
            "id=over-refusal-001",
            "--langs",
            "en",
            "--max-tokens",
            "8",
            "--db",
            db.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .expect("assay runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "assay audit failed:\n{stderr}");
    // Before the registry: two engines (the guard opened its own), three without the arena's
    // sharing.
    assert!(stderr.contains("local engines loaded: 1 "), "{stderr}");

    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let requests = &results["run"]["requests"];
    assert_eq!(requests["planned"], 3, "{requests}");
    assert_eq!(requests["answered"], 3, "{requests}");
    assert_eq!(requests["errors"], 0, "{requests}");
}
