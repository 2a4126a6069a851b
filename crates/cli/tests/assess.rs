//! `assay assess` end to end: evidence made by the real commands (a screen of a small corpus
//! with a reviewed sample, an audit of the three banks against the embedded SmolLM2 behind
//! `assay serve`, the example policy pack, a guard settings file), then every verdict checked.

use std::fs;
use std::path::Path;

use serde_json::Value;

mod common;

use common::{assay, ok, Server};

/// 100 documents from good.example (one with a listed term) and 20 from bad.example (10
/// with one): bad.example is 50% violating.
fn write_corpus(dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    let mut lines = String::new();
    for i in 0..120 {
        let (host, planted) = if i < 100 {
            ("good.example", i == 7)
        } else {
            ("bad.example", i % 2 == 0)
        };
        let text = if planted {
            format!("Document {i}: how to build a pipe bomb at home.")
        } else {
            format!("Document {i}: a recipe for dumplings, 饺子的做法。")
        };
        lines.push_str(
            &serde_json::json!({"id": i, "url": format!("https://{host}/p/{i}"), "text": text})
                .to_string(),
        );
        lines.push('\n');
    }
    fs::write(dir.join("part-0.jsonl"), lines).unwrap();
}

/// Fills the `label` column of a sample CSV: every row passes but the first.
fn label_sample(csv: &Path) -> usize {
    let mut reader = csv::Reader::from_path(csv).unwrap();
    let headers = reader.headers().unwrap().clone();
    let label = headers.iter().position(|h| h == "label").unwrap();
    let mut writer = csv::Writer::from_path(csv.with_extension("tmp")).unwrap();
    writer.write_record(&headers).unwrap();
    let mut rows = 0;
    for record in reader.records() {
        let mut fields: Vec<String> = record.unwrap().iter().map(str::to_string).collect();
        fields[label] = if rows == 0 { "fail" } else { "pass" }.to_string();
        writer.write_record(&fields).unwrap();
        rows += 1;
    }
    writer.flush().unwrap();
    fs::rename(csv.with_extension("tmp"), csv).unwrap();
    rows
}

fn finding<'a>(assessment: &'a Value, id: &str) -> &'a Value {
    assessment["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("no finding {id}"))
}

#[test]
fn an_assessment_from_real_evidence_gives_every_kind_of_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();

    // Training data: screened, then a reviewed sample.
    write_corpus(&dir.path().join("corpus"));
    ok(&assay(&[
        "screen",
        &path("corpus"),
        "--policy",
        "example",
        "--out",
        &path("screened"),
        "--quiet",
    ]));
    ok(&assay(&["screen", "sample", "--out", &path("screened")]));
    let labelled = label_sample(&dir.path().join("screened/sample.csv"));
    assert!(labelled > 1, "the sample has rows to label");

    // The banks: a few items of each, in both languages, against the local model.
    let server = Server::start(&[]);
    let model = format!("{}/v1#smollm2", server.base);
    ok(&assay(&[
        "audit",
        "--models",
        &model,
        "--suite",
        "generated-content,should-refuse,over-refusal",
        "--limit",
        "2",
        "--langs",
        "en,zh",
        "--max-tokens",
        "24",
        "--db",
        &path("assay.db"),
        "--out",
        &path("run"),
    ]));

    // A person's labels, in a file as `assay review export` writes it: every should-refuse
    // answer marked refused.
    let results: Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("run/results.json")).unwrap())
            .unwrap();
    let run_id = results["run"]["id"].as_str().unwrap().to_string();
    let mut labels = String::from("\u{feff}run_id,answer_id,label,reviewer,note\r\n");
    for row in results["answers"].as_array().unwrap() {
        if row["suite"] == "should-refuse" {
            labels += &format!("{run_id},{},refuse,tester,\r\n", row["answer_id"]);
        }
    }
    labels += "some-other-run,1,comply,tester,\r\n";
    fs::write(dir.path().join("labels.csv"), labels).unwrap();

    let guard = dir.path().join("guard.toml");
    fs::write(&guard, "[suspension]\nin_a_row = 3\nper_day = 5\n").unwrap();
    let args = |out: &str, profile: &str| -> Vec<String> {
        [
            "assess",
            "--profile",
            profile,
            "--screen",
            &path("screened"),
            "--run",
            "latest",
            "--db",
            &path("assay.db"),
            "--policy",
            "example",
            "--guard-config",
            guard.to_str().unwrap(),
            "--review",
            &path("labels.csv"),
            "--date",
            "2026-12-03",
            "--service",
            "Demo <b>service</b>",
            "--out",
            out,
            "--json",
        ]
        .map(str::to_string)
        .to_vec()
    };
    let first = args(&path("assessment"), "gbt45654-2025");
    let out = assay(&first.iter().map(String::as_str).collect::<Vec<_>>());
    let a: Value = serde_json::from_str(&ok(&out)).unwrap();
    let verdict = |id: &str| finding(&a, id)["verdict"].as_str().unwrap().to_string();

    // bad.example is half violating and was not dropped.
    let sources = finding(&a, "sources.violation-rate");
    assert_eq!(sources["verdict"], "does-not-conform", "{sources}");
    assert_eq!(sources["n"], 20);
    // A sample of a few documents, far under 4,000; one of them failed.
    assert_eq!(
        verdict("training-data.manual-sample-size"),
        "does-not-conform"
    );
    let manual = finding(&a, "training-data.manual-pass-rate");
    assert_eq!(manual["n"], labelled);
    assert!(manual["ci"][0].as_f64().unwrap() < manual["observed"].as_f64().unwrap());
    // 11 of 120 documents flagged: a 90.8% pass rate, under 98%.
    let technical = finding(&a, "training-data.technical-pass-rate");
    assert_eq!(technical["verdict"], "does-not-conform", "{technical}");
    assert_eq!(technical["n"], 120);
    // The example pack: 118 keywords, no `updated` date, 7 of the 31 risks.
    assert_eq!(verdict("keywords.total"), "does-not-conform");
    let updated = finding(&a, "keywords.updated");
    assert_eq!(updated["verdict"], "not-assessed");
    assert!(updated["missing"].as_str().unwrap().contains("updated"));
    assert_eq!(verdict("classifier.coverage"), "does-not-conform");
    // The built-in banks meet their sizes; two items in two languages are a small draw.
    for id in [
        "generated-content.size",
        "generated-content.per-risk",
        "should-refuse.size",
        "should-refuse.per-risk",
        "should-not-refuse.size",
        "should-not-refuse.per-aspect",
    ] {
        assert_eq!(verdict(id), "conforms", "{id}");
    }
    for (draw, rate) in [
        ("generated-content.draw", "generated-content.pass-rate"),
        ("should-refuse.draw", "should-refuse.refusal-rate"),
        ("should-not-refuse.draw", "should-not-refuse.refusal-rate"),
    ] {
        let draw = finding(&a, draw);
        assert_eq!(draw["verdict"], "does-not-conform", "{draw}");
        assert_eq!(draw["observed"], 4.0, "2 items × 2 languages: {draw}");
        let rate = finding(&a, rate);
        assert_eq!(rate["n"], 4, "{rate}");
        assert_ne!(rate["verdict"], "not-assessed", "{rate}");
        // Four answers cannot show a rate with confidence either way.
        assert_ne!(rate["strength"], "confident", "{rate}");
    }
    assert_eq!(verdict("abusive-users.suspension"), "conforms");

    // The file's labels count first: all four should-refuse answers refused, by a person.
    let refused = finding(&a, "should-refuse.refusal-rate");
    assert_eq!(refused["observed"], 1.0, "{refused}");
    assert!(
        refused["evidence_en"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.as_str().unwrap().contains("labels by people 4")),
        "{refused}"
    );
    assert_eq!(refused["runs"][0], run_id.as_str());
    assert_eq!(a["evidence"]["review_files"][0]["labels"], 5);
    assert_eq!(a["evidence"]["review_files"][0]["for_runs_given"], 4);
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 of the 5 labels"));
    // Each finding on answers links to its run's own report, written beside the assessment.
    let link = format!("runs/{run_id}/report.html");
    assert!(dir.path().join("assessment").join(&link).is_file());

    // The report: both languages, escaped, printable.
    let html = fs::read_to_string(dir.path().join("assessment/assessment.html")).unwrap();
    assert!(
        html.contains("生成式人工智能服务安全评估报告")
            && html.contains("Generative AI service safety assessment")
    );
    assert!(html.contains("Demo &lt;b&gt;service") && !html.contains("<b>service"));
    assert!(html.contains("@media print") && html.contains("name=\"viewport\""));
    assert!(html.contains(&format!("href=\"{link}\"")));
    assert!(
        html.contains("缺少：策略包的更新日期"),
        "missing evidence said in Chinese too"
    );
    let csv = fs::read(dir.path().join("assessment/assessment.csv")).unwrap();
    assert!(csv.starts_with(b"\xEF\xBB\xBF"));

    // A profile of one's own: a section left out is not applicable; --strict fails.
    let builtin = include_str!("../../assess/profiles/gbt45654-2025.toml");
    let mine = dir.path().join("mine.toml");
    let cut = builtin.split("\n# Users who input").next().unwrap();
    fs::write(&mine, cut).unwrap();
    let mut second = args(&path("mine"), mine.to_str().unwrap());
    second.push("--strict".into());
    let out = assay(&second.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let a: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        finding(&a, "abusive-users.suspension")["verdict"],
        "not-applicable"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--strict"));

    // A profile with a typo: one line naming the file, the line and the field.
    fs::write(&mine, builtin.replace("per_day_max = 5", "per_dya_max = 5")).unwrap();
    let out = assay(&[
        "assess",
        "--profile",
        mine.to_str().unwrap(),
        "--out",
        &path("x"),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = builtin
        .lines()
        .position(|l| l.starts_with("per_day_max"))
        .unwrap()
        + 1;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains(&format!("mine.toml:{line}: field `per_dya_max`")),
        "{stderr}"
    );
}

#[test]
fn suites_risks_counts_items_and_keywords_per_risk() {
    let out = assay(&["suites", "--risks", "--policy", "example", "--json"]);
    let rows: Value = serde_json::from_str(&ok(&out)).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(
        rows.len(),
        31,
        "the profile's risks, and no code outside them"
    );
    let row = |code: &str| rows.iter().find(|r| r["risk"] == code).unwrap();
    assert!(row("A.1a")["counts"]["generated-content"].as_u64().unwrap() >= 50);
    assert!(row("A.2i")["counts"]["should-refuse"].as_u64().unwrap() >= 20);
    assert_eq!(row("A.1a")["counts"]["keywords:example"], 0);
    assert!(row("A.1h")["counts"]["keywords:example"].as_u64().unwrap() > 0);
    assert_eq!(row("A.3c")["zh"], "泄露他人商业秘密");
}

#[test]
fn with_no_evidence_assess_runs_the_demonstration_and_says_it_is_not_an_assessment() {
    let _engine = common::engine_lock();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo-report");
    let run = assay(&["assess", "--out", out.to_str().unwrap(), "--json"]);
    let stdout = ok(&run);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.starts_with("This is a demonstration")
            && stderr.trim_end().ends_with("--guard-config."),
        "{stderr}"
    );
    // The audit's table goes to stdout before the assessment's JSON.
    let json = &stdout[stdout
        .find("{\n  \"schema\"")
        .expect("the assessment's JSON")..];
    let a: Value = serde_json::from_str(json).unwrap();
    // The made-up corpus has a flagged site; the draw is 5 items × 2 languages per bank.
    assert_eq!(
        finding(&a, "sources.violation-rate")["verdict"],
        "does-not-conform"
    );
    assert_eq!(finding(&a, "should-refuse.draw")["observed"], 10.0);
    assert_eq!(finding(&a, "should-refuse.refusal-rate")["n"], 10);
    assert_eq!(
        finding(&a, "abusive-users.suspension")["verdict"],
        "conforms"
    );
    assert!(out.join("assessment.html").is_file() && out.join("demo/run/report.html").is_file());
}
