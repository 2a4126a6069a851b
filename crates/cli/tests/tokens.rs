//! `assay tokens` end to end: the built-in text through two tiktoken vocabularies (the JSON
//! schema, the premium's order, the files of the report), the embedded model's vocabulary
//! against the engine behind `assay serve` measured through the API and against Hugging Face
//! `tokenizers` on the same vocabulary, and bad input.

use std::fs;

use serde_json::Value;

mod common;

use common::{assay, ok, Server};

#[test]
fn the_builtin_text_through_two_vocabularies_gives_the_premium_with_intervals() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let prices = dir.path().join("prices.toml");
    fs::write(
        &prices,
        "[\"tiktoken:o200k_base\"]\ninput = 2.5\noutput = 10.0\n",
    )
    .unwrap();
    let stdout = ok(&assay(&[
        "tokens",
        "--tokenizer",
        "tiktoken:cl100k_base,tiktoken:o200k_base",
        "--prices",
        prices.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]));
    let s: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(s["segments"], 997);
    assert_eq!(s["langs"], serde_json::json!(["en", "zh", "zh-Hant"]));
    let tokenizers = s["tokenizers"].as_array().unwrap();
    // Sorted by the Chinese premium: o200k's larger vocabulary of Chinese first.
    assert_eq!(tokenizers[0]["name"], "tiktoken:o200k_base");
    assert_eq!(tokenizers[1]["name"], "tiktoken:cl100k_base");
    for t in tokenizers {
        let en = &t["langs"]["en"];
        let zh = &t["langs"]["zh"];
        for key in ["tokens", "chars", "bytes", "words", "han"] {
            assert!(en[key].as_u64().is_some(), "{key} in {en}");
        }
        assert_eq!(en["han"], 0);
        assert!(zh["han"].as_u64().unwrap() > 20_000);
        let segments: u64 = t["segments"]["zh"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_u64().unwrap())
            .sum();
        assert_eq!(zh["tokens"].as_u64().unwrap(), segments);
        let p = &t["premium"]["zh"];
        let (value, lo, hi) = (
            p["value"].as_f64().unwrap(),
            p["ci"][0].as_f64().unwrap(),
            p["ci"][1].as_f64().unwrap(),
        );
        let ratio = zh["tokens"].as_f64().unwrap() / en["tokens"].as_f64().unwrap();
        assert!((value - ratio).abs() < 1e-9);
        assert!(lo < value && value < hi && hi - lo < 0.2, "{p}");
        assert!(t["han_single_share"].as_f64().unwrap() > 0.0);
    }
    // cl100k splits Chinese far more than English.
    assert!(tokenizers[1]["premium"]["zh"]["value"].as_f64().unwrap() > 1.5);
    let cost = &tokenizers[0]["langs"]["zh"]["cost"];
    assert!(cost["input_per_1m_chars"].as_f64().unwrap() > 0.0, "{cost}");
    assert!(tokenizers[1]["langs"]["zh"].get("cost").is_none());
    // The same seed, the same intervals.
    let again: Value = serde_json::from_str(&ok(&assay(&[
        "tokens",
        "--tokenizer",
        "tiktoken:o200k_base",
        "--json",
    ])))
    .unwrap();
    assert_eq!(again["tokenizers"][0]["premium"], tokenizers[0]["premium"]);

    let csv = fs::read(out.join("tokens.csv")).unwrap();
    assert!(csv.starts_with(b"\xEF\xBB\xBF"));
    assert_eq!(String::from_utf8_lossy(&csv).lines().count(), 1 + 2 * 3);
    let html = fs::read_to_string(out.join("tokens.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("tiktoken:o200k_base"));

    // The terminal table.
    let table = ok(&assay(&["tokens", "--tokenizer", "tiktoken:cl100k_base"]));
    assert!(
        table.contains("zh ÷ en [95% CI]") && table.contains("tiktoken:cl100k_base"),
        "{table}"
    );
}

#[test]
fn the_embedded_vocabulary_matches_the_engine_through_the_api_and_hugging_face() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("segments.txt");
    fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tokens/tests/fixtures/segments.txt"
        ),
        &text,
    )
    .unwrap();
    let expected: Value =
        serde_json::from_str(include_str!("../../tokens/tests/fixtures/expected.json")).unwrap();
    let server = Server::start(&[]);
    let remote = format!("{}/v1#smollm2", server.base);
    let stdout = ok(&assay(&[
        "tokens",
        "--tokenizer",
        &format!("local:smollm2,{remote}"),
        "--text",
        &format!("x={}", text.display()),
        "--json",
    ]));
    let s: Value = serde_json::from_str(&stdout).unwrap();
    let by_name = |name: &str| -> Vec<u64> {
        let t = s["tokenizers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {s}"));
        t["segments"]["x"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_u64().unwrap())
            .collect()
    };
    let local = by_name("local:smollm2");
    let through_api = by_name(&remote);
    assert_eq!(local.len(), 125);
    // The API's count is the engine's tokens less the template's: within one token.
    for (i, (a, b)) in local.iter().zip(&through_api).enumerate() {
        assert!(
            a.abs_diff(*b) <= 1,
            "line {}: llama.cpp {a}, through the API {b}",
            i + 1
        );
    }
    // Hugging Face tokenizers on the same vocabulary (rebuilt from the GGUF): equal on every
    // line but the one that spells special tokens, which a tokenizer.json matches as its
    // added tokens even without special tokens, and llama.cpp reads as text (as the engine
    // reads a message: content never becomes a control token). Within 1% in all.
    let hf: Vec<u64> = expected["counts"]["hf-from-gguf:smollm2"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .collect();
    let segments = fs::read_to_string(&text).unwrap();
    for ((line, ours), theirs) in segments.lines().zip(&local).zip(&hf) {
        if !line.contains("<|endoftext|>") {
            assert_eq!(ours, theirs, "{line}");
        }
    }
    let hf: u64 = hf.iter().sum();
    let ours: u64 = local.iter().sum();
    assert!(
        ours.abs_diff(hf) as f64 <= 0.01 * hf as f64,
        "llama.cpp {ours} tokens, Hugging Face {hf}"
    );
}

#[test]
fn bad_input_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let en = dir.path().join("en.txt");
    let zh = dir.path().join("zh.txt");
    fs::write(&en, "one\ntwo\n").unwrap();
    fs::write(&zh, "一\n").unwrap();
    let out = assay(&[
        "tokens",
        "--tokenizer",
        "tiktoken:cl100k_base",
        "--text",
        &format!("en={}", en.display()),
        "--text",
        &format!("zh={}", zh.display()),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("zh.txt: 1 lines, but the en file has 2"),
        "{stderr}"
    );
    let out = assay(&["tokens", "--tokenizer", "qwen9"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("qwen9: not a tokenizer name") && stderr.contains("qwen3"),
        "{stderr}"
    );
    let out = assay(&["tokens", "--tokenizer", "tiktoken:cl200k"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a tiktoken vocabulary"));
}

#[test]
fn tokens_list_names_every_tokenizer_with_its_licence() {
    let list: Value = serde_json::from_str(&ok(&assay(&["tokens", "list", "--json"]))).unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    for name in [
        "tiktoken:cl100k_base",
        "qwen3",
        "deepseek-v3",
        "glm-4",
        "minimax-m1",
        "llama-3.1",
        "local:smollm2",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .all(|r| !r["license"].as_str().unwrap().is_empty()));
}
