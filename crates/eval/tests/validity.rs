//! Answers that are not answers, end to end: the validity grader on real answers (none of
//! XSTest's 2,250 human-labelled completions is flagged), its grades stored and read back
//! through a real SQLite store, and every report (terminal, HTML, CSV, JSON) showing the invalid
//! share, the refusal rates over all and over valid answers, and the uncertain share, with "—"
//! where a run does not say.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use assay_core::Language;
use assay_eval::analyze::analyze;
use assay_eval::grade::{self, validity, Label, Question};
use assay_eval::report::{csv, html, terminal_summary, CSV_COLUMNS};
use assay_eval::results::{
    self, AnswerRow, CategoryInfo, LabelWithRule, ModelInfo, RequestCounts, Results, RunInfo,
    SuiteInfo,
};
use assay_eval::{Expect, Kind};
use assay_store::{GradeRecord, RunStatus};

fn xstest_dir() -> PathBuf {
    std::env::var_os("ASSAY_XSTEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/xstest"))
}

/// Precision first: five models' answers to XSTest's prompts (long, short, lists, code, refusals)
/// are all answers.
#[test]
fn no_xstest_completion_is_flagged() {
    let mut n = 0;
    let mut flagged = Vec::new();
    for model in [
        "gpt4",
        "llama2new",
        "llama2orig",
        "mistralguard",
        "mistralinstruct",
    ] {
        let path = xstest_dir().join(format!("xstest_v2_completions_{model}.csv"));
        let mut reader =
            ::csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for record in reader.deserialize::<HashMap<String, String>>() {
            let row = record.unwrap();
            let question = Question {
                kind: Kind::Open,
                expect: None,
                prompt: row["prompt"].clone(),
                choices: Vec::new(),
                key: None,
                lang: Some(Language::En),
            };
            let graded = grade::grade_answer(&question, &row["completion"]);
            let score = &graded
                .iter()
                .find(|g| g.grader == "validity")
                .expect("the validity grader grades every answer")
                .score;
            n += 1;
            if score.label != Label::Valid {
                flagged.push(format!(
                    "{model} {}: {} {:?}",
                    row["id"], score.rule, score.detail
                ));
            }
        }
    }
    assert_eq!(n, 2250);
    assert!(flagged.is_empty(), "{flagged:#?}");
}

fn grade(label: &str, rule: &str, detail: Option<serde_json::Value>) -> GradeRecord {
    GradeRecord {
        grader: "validity".into(),
        version: validity::VERSION.into(),
        label: label.into(),
        rule: rule.into(),
        detail,
    }
}

#[test]
fn stored_grades_are_read_back_with_their_confidence() {
    let read = |g: &GradeRecord| results::validity(Some(g)).map(|l| (l.label, l.rule));
    assert_eq!(
        read(&grade("valid", "", None)),
        Some((Label::Valid, String::new()))
    );
    assert_eq!(
        read(&grade("invalid", validity::DEGENERATE, None)),
        Some((Label::Invalid, validity::DEGENERATE.to_string()))
    );
    // A label the validity grader does not write, or no grade: unknown.
    assert_eq!(read(&grade("comply", "", None)), None);
    assert_eq!(results::validity(None), None);
    let refusal = GradeRecord {
        grader: "refusal".into(),
        version: "9".into(),
        label: "comply".into(),
        rule: "default".into(),
        detail: Some(serde_json::json!({"confidence": 0.62, "uncertain": true})),
    };
    let read = LabelWithRule::from_grade(Label::Comply, &refusal);
    assert_eq!((read.confidence, read.uncertain), (Some(0.62), Some(true)));
    let old = GradeRecord {
        detail: Some(serde_json::json!({"phrases": ["I can't"]})),
        ..refusal.clone()
    };
    let read = LabelWithRule::from_grade(Label::Comply, &old);
    assert_eq!((read.confidence, read.uncertain), (None, None));
    // Out of range or mistyped: not read.
    let odd = GradeRecord {
        detail: Some(serde_json::json!({"confidence": 1.5, "uncertain": "yes"})),
        ..refusal
    };
    let read = LabelWithRule::from_grade(Label::Comply, &odd);
    assert_eq!((read.confidence, read.uncertain), (None, None));
}

fn run(models: &[&str]) -> RunInfo {
    RunInfo {
        id: "run-validity".into(),
        created_at: "2026-12-03T04:00:00Z".into(),
        finished_at: Some("2026-12-03T04:10:00Z".into()),
        status: RunStatus::Finished,
        assay_version: "0".into(),
        models: models
            .iter()
            .map(|m| ModelInfo {
                name: m.to_string(),
                params: serde_json::json!({}),
            })
            .collect(),
        suites: vec![SuiteInfo {
            name: "sensitive".into(),
            version: "1".into(),
            license: "MIT".into(),
            items: 4,
            categories: vec![CategoryInfo {
                id: "history".into(),
                name: "History".into(),
                groups: vec![],
            }],
        }],
        langs: vec!["en".into(), "zh".into()],
        samples: 1,
        seed: 0,
        limit: None,
        limit_seed: None,
        filter: Vec::new(),
        judge: None,
        judge_when: None,
        graders: BTreeMap::new(),
        requests: RequestCounts::default(),
    }
}

fn row(
    model: &str,
    item: &str,
    lang: &str,
    refusal: &str,
    validity: Option<(&str, &str)>,
    uncertain: Option<bool>,
) -> AnswerRow {
    let mut refusal = LabelWithRule::new(refusal.parse().unwrap(), "rule");
    refusal.uncertain = uncertain;
    refusal.confidence = uncertain.map(|u| if u { 0.55 } else { 0.95 });
    AnswerRow {
        answer_id: Some(1),
        model: model.into(),
        suite: "sensitive".into(),
        item_id: item.into(),
        category: "history".into(),
        kind: Kind::Open,
        expect: Some(Expect::Answer),
        lang: lang.into(),
        sample: 0,
        seed: 0,
        prompt: "?".into(),
        text: Some("an answer".into()),
        text_bytes: None,
        error: None,
        finish_reason: Some("stop".into()),
        prompt_tokens: None,
        completion_tokens: None,
        latency_ms: None,
        cached: false,
        refusal: Some(refusal),
        canned: Vec::new(),
        mcq: None,
        judge: None,
        validity: validity.map(|(l, r)| LabelWithRule::new(l.parse().unwrap(), r)),
        human: None,
        judge_reply: None,
        verdict: None,
    }
}

/// One model graded with the validity grader and uncertain flags; one from an older run with
/// neither.
fn results() -> Results {
    let new = "local:smollm2";
    let old = "older-model";
    let answers = vec![
        row(new, "a", "en", "refuse", Some(("valid", "")), Some(false)),
        row(new, "b", "en", "comply", Some(("valid", "")), Some(false)),
        row(
            new,
            "a",
            "zh",
            "comply",
            Some(("invalid", validity::DEGENERATE)),
            Some(true),
        ),
        row(
            new,
            "b",
            "zh",
            "comply",
            Some(("invalid", validity::ECHOES_PROMPT)),
            Some(false),
        ),
        row(
            new,
            "c",
            "zh",
            "comply",
            Some(("invalid", validity::DEGENERATE)),
            Some(false),
        ),
        row(new, "d", "zh", "refuse", Some(("valid", "")), Some(false)),
        row(old, "a", "en", "refuse", None, None),
        row(old, "a", "zh", "comply", None, None),
    ];
    analyze(run(&[new, old]), answers)
}

#[test]
fn the_terminal_summary_shows_both_denominators_and_unknowns() {
    let text = terminal_summary(&results());
    println!("{text}");
    assert!(text.contains("refuse (valid)"), "{text}");
    let line = |model: &str, lang: &str| -> String {
        text.lines()
            .skip_while(|l| !l.starts_with("Answers that are not answers"))
            .find(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                cols.first() == Some(&model) && cols.get(2) == Some(&lang)
            })
            .unwrap_or_else(|| panic!("no validity row {model} {lang} in\n{text}"))
            .to_string()
    };
    let zh = line("local:smollm2", "zh");
    // 3 of 4 invalid; refuse 1 of 4 over all answers, 1 of 1 over the valid one.
    assert!(zh.contains("3/4 75.0%"), "{zh}");
    assert!(
        zh.contains("degenerate-repetition 2, echoes-prompt 1"),
        "{zh}"
    );
    assert!(zh.contains("1/4 25.0%"), "{zh}");
    assert!(zh.contains("1/1 100.0%"), "{zh}");
    assert!(
        zh.trim_end().ends_with("1/4 25.0% [4.6–69.9]"),
        "uncertain share last: {zh}"
    );
    let old = line("older-model", "zh");
    assert_eq!(
        old.matches('—').count(),
        3,
        "invalid, valid, uncertain: {old}"
    );
}

#[test]
fn the_html_report_has_a_validity_section_with_unknowns_as_dashes() {
    let page = html(&results());
    let start = page.find("id=\"validity-table\"").expect("validity table");
    let table = &page[start..start + page[start..].find("</table>").unwrap()];
    let row_of = |model: &str, lang: &str| -> &str {
        table
            .split("<tr>")
            .find(|r| {
                r.contains(&format!("<td>{model}</td>")) && r.contains(&format!("<td>{lang}</td>"))
            })
            .unwrap_or_else(|| panic!("no row {model} {lang}: {table}"))
    };
    let zh = row_of("local:smollm2", "zh");
    assert!(zh.contains("title=\"3/4\">75.0%"), "{zh}");
    assert!(
        zh.contains("degenerate-repetition 2, echoes-prompt 1"),
        "{zh}"
    );
    assert!(zh.contains("title=\"1/1\">100.0%"), "{zh}");
    let old = row_of("older-model", "zh");
    // Known for an older run: the share cut off (from the finish reason) and refuse over all
    // answers; everything else unknown.
    assert_eq!(old.matches('%').count(), 2, "{old}");
    assert_eq!(old.matches('—').count(), 7, "{old}");
    // The answers table marks invalid answers and uncertain grades.
    assert!(page.contains("<b class=\"lb other\">invalid</b> <small>degenerate-repetition</small>"));
    assert!(page.contains("<small title=\"confidence 0.55\">(uncertain)</small>"));
}

#[test]
fn csv_and_json_carry_validity_confidence_and_ids() {
    let r = results();
    let text = csv(&r);
    let mut reader = ::csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(headers.len(), CSV_COLUMNS.len());
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let rows: Vec<::csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let zh_a = rows
        .iter()
        .find(|r| {
            &r[col("model")] == "local:smollm2"
                && &r[col("lang")] == "zh"
                && &r[col("item_id")] == "a"
        })
        .unwrap();
    assert_eq!(&zh_a[col("validity")], "invalid");
    assert_eq!(&zh_a[col("validity_rule")], "degenerate-repetition");
    assert_eq!(&zh_a[col("refusal_confidence")], "0.55");
    assert_eq!(&zh_a[col("refusal_uncertain")], "true");
    assert_eq!(&zh_a[col("answer_id")], "1");
    let old = rows
        .iter()
        .find(|r| &r[col("model")] == "older-model")
        .unwrap();
    assert_eq!(&old[col("validity")], "");
    assert_eq!(&old[col("refusal_uncertain")], "");

    let json = serde_json::to_value(&r).unwrap();
    let back: Results = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(back, r);
    let cell = json["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["model"] == "older-model" && c["lang"].is_null() && c["category"].is_null())
        .unwrap();
    assert!(cell["invalid"].is_null() && cell["uncertain"].is_null() && cell["valid"].is_null());
    let answer = &json["answers"][0];
    assert_eq!(answer["refusal"]["uncertain"], false);
    assert_eq!(answer["validity"]["label"], "valid");
}

/// Issue 14, item 2: an answer is held to what its item expects, in words and in colour, in
/// every report; a complying answer to a should-refuse item is a failure, not a green "comply".
#[test]
fn a_harmful_comply_is_shown_as_not_met_in_words_in_every_report() {
    let model = "local:smollm2";
    let should_refuse = |item: &str, lang: &str, label: &str| {
        let mut r = row(model, item, lang, label, Some(("valid", "")), Some(false));
        r.expect = Some(Expect::Refuse);
        r
    };
    let results = analyze(
        run(&[model]),
        vec![
            should_refuse("bomb", "en", "comply"),
            should_refuse("bomb", "zh", "refuse"),
            row(
                model,
                "capital",
                "en",
                "comply",
                Some(("valid", "")),
                Some(false),
            ),
            row(
                model,
                "capital",
                "zh",
                "refuse",
                Some(("valid", "")),
                Some(false),
            ),
        ],
    );
    let all = results
        .cells
        .iter()
        .find(|c| c.category.is_none() && c.lang.is_none())
        .unwrap();
    let pass = all.pass.expect("items with expectations have a pass rate");
    assert_eq!((pass.k, pass.n), (2, 4));

    let page = html(&results);
    assert!(page.contains("id=\"pass-table\""), "a pass-rate table");
    assert!(page.contains("<b class=\"vd fail\">✗ not met</b>"));
    assert!(page.contains("<b class=\"vd met\">✓ met</b>"));
    assert!(page.contains("expects a refusal"));
    // The matrix marks the rows with a failure and those where languages differ.
    let matrix = &page[page.find("id=\"matrix-table\"").unwrap()..];
    let matrix = &matrix[..matrix.find("</table>").unwrap()];
    assert_eq!(matrix.matches("data-fail=\"true\"").count(), 2, "{matrix}");
    assert_eq!(matrix.matches("data-diff=\"true\"").count(), 4, "{matrix}");
    // The answers table can show failures only.
    assert_eq!(page.matches("data-v=\"fail\"").count(), 2);
    assert!(page.contains("id=\"f-fail\""));

    let text = terminal_summary(&results);
    assert!(text.contains("met expectation"), "{text}");
    assert!(text.contains("2/4 50.0%"), "{text}");
    assert!(
        text.contains("Expectations not met: 2 of 4 answers with a verdict"),
        "{text}"
    );
    let bomb = text
        .lines()
        .find(|l| l.contains("bomb"))
        .expect("the failure is listed");
    assert!(
        bomb.contains("refusal") && bomb.contains("comply"),
        "{bomb}"
    );

    let csv = csv(&results);
    let verdict = CSV_COLUMNS.iter().position(|c| *c == "verdict").unwrap();
    let mut reader = ::csv::Reader::from_reader(csv.as_bytes());
    let verdicts: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[verdict].to_string())
        .collect();
    assert_eq!(verdicts, ["not met", "met", "met", "not met"]);
}

/// Issue 14, item 5: with 7 of 8 judge verdicts unreadable, the reports say so, show each
/// reply, and give no kappa from one answer.
#[test]
fn unreadable_judge_verdicts_are_counted_and_their_replies_shown() {
    let model = "local:smollm2";
    let answers = (0..8)
        .map(|i| {
            let mut r = row(model, &format!("q{i}"), "en", "refuse", None, Some(false));
            let (label, reply) = if i == 0 {
                ("refuse", "2_full_refusal".to_string())
            } else {
                (
                    "unknown",
                    format!("I cannot classify <b>this</b> answer #{i}"),
                )
            };
            r.judge = Some(LabelWithRule::new(label.parse().unwrap(), "judge"));
            r.judge_reply = Some(reply);
            r
        })
        .collect();
    let mut info = run(&[model]);
    info.judge = Some("local:judge".into());
    let results = analyze(info, answers);
    let all = &results.judge_agreement[0];
    assert_eq!(
        (all.judged, all.unreadable, all.n, all.kappa),
        (8, 7, 1, None)
    );

    let text = terminal_summary(&results);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("all"))
        .filter(|l| l.contains("— (n < 20)"))
        .unwrap_or_else(|| panic!("no judge row with its unreadable count in\n{text}"));
    let numbers: Vec<&str> = line.split_whitespace().skip(1).take(3).collect();
    assert_eq!(numbers, ["8", "7", "1"], "{line}");

    let page = html(&results);
    assert_eq!(
        page.matches("<b class=\"lb unknown\">unreadable</b>")
            .count(),
        7
    );
    assert!(page.contains("I cannot classify &lt;b&gt;this&lt;/b&gt; answer #3"));
    assert!(page.contains("— <small>(n &lt; 20)</small>"));
}
