//! Reading battles: the LMSYS JSON array, our JSON Lines export, errors that name the place.

mod ratings_support;

use std::io::Write;

use assay_arena::battle::{
    load_battles, load_battles_with, parse_battles_json, parse_filter, write_jsonl, Battle, Filter,
    LoadError, Style, Winner,
};
use ratings_support::fixture;

#[test]
fn reads_the_lmsys_json_array_fixture() {
    let battles = load_battles(&fixture("battles_small.json")).expect("fixture");
    assert_eq!(battles.len(), 5000);
    let count = |w: Winner| battles.iter().filter(|b| b.winner == w).count();
    assert!(count(Winner::TieBothBad) > 100, "tie (bothbad) present");
    assert!(count(Winner::Tie) > 300);
    assert_eq!(
        count(Winner::ModelA)
            + count(Winner::ModelB)
            + count(Winner::Tie)
            + count(Winner::TieBothBad),
        5000
    );
    let first = &battles[0];
    assert_eq!(first.model_a, "llama-3-70b");
    assert_eq!(first.model_b, "vicuna-7b");
    assert_eq!(first.winner, Winner::ModelA);
    assert_eq!(first.language.as_deref(), Some("Spanish"));
    assert!(!first.anony);
    assert_eq!(first.turn, 1);
    assert_eq!(first.tstamp, 1700000010.355);
    // Header/list/bold objects are summed: h2 = 1 for B; ordered 1 + unordered 2.
    let (a, b) = first.style.expect("style metadata");
    assert_eq!(
        a,
        Style {
            tokens: 329.0,
            headers: 0.0,
            lists: 1.0,
            bold: 1.0
        }
    );
    assert_eq!(
        b,
        Style {
            tokens: 315.0,
            headers: 1.0,
            lists: 3.0,
            bold: 2.0
        }
    );
    assert!(battles.iter().all(|b| b.style.is_some() && !b.excluded));
}

#[test]
fn json_lines_round_trip() {
    let mut battles = load_battles(&fixture("battles_small.json")).expect("fixture");
    battles.truncate(200);
    battles[3].excluded = true;
    battles[4].language = None;
    battles[5].style = None;
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    write_jsonl(&battles, &mut file).expect("write");
    file.flush().unwrap();
    let back = load_battles(file.path()).expect("reload");
    assert_eq!(back, battles);
    // Serde on Battle itself uses the same wire layout.
    let one: Battle = serde_json::from_value(battles[3].to_json()).expect("deserialize");
    assert_eq!(one, battles[3]);
    let text = battles[3].to_json().to_string();
    assert!(
        text.contains("\"excluded\":true") && text.contains("\"winner\":"),
        "{text}"
    );
}

#[test]
fn minimal_records_get_defaults() {
    let text = r#"{"model_a": "a", "model_b": "b", "winner": "tie (bothbad)"}
{"model_a": "b", "model_b": "a", "winner": "model_b", "language": null, "anony": true, "turn": 3, "tstamp": 12.5,
  "conv_metadata": {"sum_assistant_a_tokens": 10, "sum_assistant_b_tokens": 20}}
"#
    .replace("\n  ", " ");
    let battles = parse_battles_json(&text, "mem.jsonl").expect("parse");
    assert_eq!(battles.len(), 2);
    assert_eq!(battles[0].winner, Winner::TieBothBad);
    assert!(!battles[0].anony && battles[0].turn == 1 && battles[0].tstamp == 0.0);
    assert!(battles[0].language.is_none() && battles[0].style.is_none());
    assert!(battles[1].anony && battles[1].turn == 3 && battles[1].tstamp == 12.5);
    // Token counts alone (older dumps) are not enough for style features.
    assert!(battles[1].style.is_none());
    assert!(parse_battles_json("  \n", "empty")
        .expect("empty")
        .is_empty());
}

fn field_error(text: &str) -> (Option<usize>, Option<usize>, String, String) {
    match parse_battles_json(text, "votes.jsonl") {
        Err(LoadError::Field {
            file,
            line,
            index,
            field,
            message,
        }) => {
            assert_eq!(file, "votes.jsonl");
            (line, index, field, message)
        }
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn a_bad_line_is_named_with_its_field() {
    let good = r#"{"model_a": "a", "model_b": "b", "winner": "model_a"}"#;
    let text = format!(
        "{good}\n\n{}\n{good}\n",
        r#"{"model_a": "a", "model_b": "b", "winner": "draw"}"#
    );
    let (line, index, field, message) = field_error(&text);
    assert_eq!((line, index, field.as_str()), (Some(3), None, "winner"));
    assert!(message.contains("\"draw\""), "{message}");
    let err = parse_battles_json(&text, "votes.jsonl")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("votes.jsonl:3: field `winner`: unknown value \"draw\""),
        "{err}"
    );

    let text = format!("{good}\n{}\n", r#"{"model_a": "a", "winner": "tie"}"#);
    assert_eq!(field_error(&text).2, "model_b");
    let text = format!(
        "{}\n",
        r#"{"model_a": "a", "model_b": "b", "winner": "tie", "anony": "yes"}"#
    );
    assert_eq!(field_error(&text).2, "anony");
    let text = r#"{"model_a": "a", "model_b": "b", "winner": "tie", "turn": -1}"#;
    assert_eq!(field_error(text).2, "turn");
    let text = r#"{"model_a": "a", "model_b": "b", "winner": "tie", "conv_metadata": {"header_count_a": {"h1": "x"}}}"#;
    assert_eq!(field_error(text).2, "conv_metadata.header_count_a.h1");
    let text = r#"{"model_a": "", "model_b": "b", "winner": "tie"}"#;
    assert_eq!(field_error(text).2, "model_a");
}

#[test]
fn a_bad_array_element_is_named_with_its_index_and_line() {
    let text = "[\n{\"model_a\": \"a\", \"model_b\": \"b\", \"winner\": \"model_a\"},\n{\"model_a\": \"a\", \"model_b\": \"b\", \"winner\": 1}\n]";
    let (line, index, field, _) = field_error(text);
    assert_eq!((line, index, field.as_str()), (Some(3), Some(1), "winner"));
    let err = parse_battles_json(text, "clean_battle.json")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("clean_battle.json:3: battle 1: field `winner`"),
        "{err}"
    );
}

#[test]
fn syntax_errors_and_wrong_formats_name_the_place() {
    let good = r#"{"model_a": "a", "model_b": "b", "winner": "model_a"}"#;
    match parse_battles_json(&format!("{good}\n{good}\n{{\"model_a\": \n"), "x.jsonl") {
        Err(LoadError::Syntax { file, line, .. }) => {
            assert_eq!((file.as_str(), line), ("x.jsonl", 3))
        }
        other => panic!("{other:?}"),
    }
    match parse_battles_json("[{\"model_a\": ]", "x.json") {
        Err(LoadError::Syntax { line, .. }) => assert_eq!(line, 1),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        parse_battles_json("model_a,model_b\n", "x.csv"),
        Err(LoadError::Format { found: 'm', .. })
    ));
    let missing = std::path::Path::new("/nonexistent/battles.json");
    let err = load_battles(missing).unwrap_err();
    assert!(matches!(err, LoadError::Io { .. }));
    assert!(err
        .to_string()
        .starts_with("/nonexistent/battles.json: cannot read"));
}

#[test]
fn markdown_counts_follow_fastchat() {
    let text = "# Title\n## Sub\n####### seven is not a header\n#no space\n\
                - one\n* two\n  + three\n1. first\n 12. second\n1.no\n-no\n\
                **bold** and __also__ and **not\nclosed** and ****\n";
    // Checked against FastChat's count_markdown_elements + remove_pattern: 2 headers, 5 list
    // items, and 3 bold — `**bold**`, `__also__`, and the regex's own false match `** and **`.
    let s = Style::from_markdown(text, 42.0);
    assert_eq!(
        s,
        Style {
            tokens: 42.0,
            headers: 2.0,
            lists: 5.0,
            bold: 3.0
        }
    );
    // FastChat strips only what is inside the fences (every occurrence of it), keeping them.
    let code = "Intro\n```\n# not a header\n- not a list\n```\n- a list\n";
    assert_eq!(Style::from_markdown(code, 0.0).lists, 1.0);
    assert_eq!(Style::from_markdown(code, 0.0).headers, 0.0);
    // A marker followed by the line break counts (Python's \s matches the newline).
    assert_eq!(Style::from_markdown("#\nx", 0.0).headers, 1.0);
    assert_eq!(Style::from_markdown("#", 0.0).headers, 0.0);
}

#[test]
fn filters_parse_and_apply() {
    let f = parse_filter("language=Chinese, anony=true,turn=2+").expect("filter");
    assert_eq!(
        f,
        Filter {
            languages: vec!["Chinese".to_string()],
            anony_only: true,
            min_turn: Some(2),
            max_turn: None,
            models: vec![],
        }
    );
    let g = parse_filter("turn=1-3,model=a|c").expect("filter");
    assert_eq!((g.min_turn, g.max_turn), (Some(1), Some(3)));
    assert_eq!(g.models, vec!["a", "c"]);
    for bad in [
        "language",
        "colour=red",
        "anony=maybe",
        "turn=x",
        "turn=1,turn=2",
    ] {
        let err = parse_filter(bad).unwrap_err();
        assert!(err.to_string().contains(bad), "{err}");
    }

    let mut battles = Vec::new();
    for (lang, anony, turn) in [
        ("Chinese", true, 2),
        ("chinese", true, 3),
        ("Chinese", false, 2),
        ("English", true, 2),
    ] {
        let mut b = Battle::new("a", "b", Winner::Tie);
        b.language = Some(lang.to_string());
        b.anony = anony;
        b.turn = turn;
        battles.push(b);
    }
    battles.push(Battle::new("a", "b", Winner::Tie)); // no language
    let kept = f.apply(battles.clone());
    assert_eq!(kept, vec![battles[0].clone(), battles[1].clone()]);
    assert_eq!(Filter::default().apply(battles.clone()).len(), 5);
    let only_c = parse_filter("model=c").unwrap();
    assert!(only_c.apply(battles.clone()).is_empty());

    // Language codes read as the names votes are stored under; `|` keeps either.
    let zh = parse_filter("language=zh").unwrap();
    assert_eq!(zh.languages, ["Chinese"]);
    assert_eq!(zh.apply(battles.clone()).len(), 3);
    let both = parse_filter("lang=zh|EN").unwrap();
    assert_eq!(both.languages, ["Chinese", "English"]);
    assert_eq!(both.apply(battles.clone()).len(), 4);
    assert!(both.check_languages(&battles).is_ok());
    assert!(parse_filter("language=zh|").is_err());
    // A language no battle names and the arena does not know is refused in one line that
    // lists the valid ones, those the battles name included.
    battles[3].language = Some("German".to_string());
    let typo = parse_filter("language=zhh").unwrap();
    let err = typo.check_languages(&battles).unwrap_err().to_string();
    assert!(!err.contains('\n'), "{err}");
    assert!(
        err.starts_with(
            "--filter language=zhh: unknown language; valid: zh (Chinese), en (English)"
        ),
        "{err}"
    );
    assert!(err.ends_with("or as in these battles: German"), "{err}");
    assert!(parse_filter("language=german")
        .unwrap()
        .check_languages(&battles)
        .is_ok());
    assert!(parse_filter("language=ru")
        .unwrap()
        .check_languages(&battles)
        .is_ok());
}

#[test]
fn big_json_lines_keep_order_and_line_numbers() {
    // Over the size where parsing is split across threads.
    let mut battles = Vec::new();
    for k in 0..40_000 {
        let mut b = Battle::new(&format!("model-{}", k % 7), "other", Winner::ModelA);
        b.tstamp = k as f64;
        b.language = Some("English with a long enough name to make the file big".repeat(3));
        battles.push(b);
    }
    let mut text = Vec::new();
    write_jsonl(&battles, &mut text).unwrap();
    let mut text = String::from_utf8(text).unwrap();
    assert!(text.len() > 8 << 20, "{} bytes", text.len());
    let back = parse_battles_json(&text, "big.jsonl").expect("parse");
    assert_eq!(back, battles);

    // Break line 30,001 (tstamp 30000): the error must carry the file's line number.
    let needle = "\"tstamp\":30000.0";
    let at = text.find(needle).expect("record 30000");
    text.replace_range(at..at + needle.len(), "\"tstamp\":\"soon\"");
    let (line, _, field, _) = field_error(&text);
    assert_eq!((line, field.as_str()), (Some(30_001), "tstamp"));
}

#[test]
fn style_features_are_read_only_when_asked_for() {
    let with = load_battles(&fixture("battles_small.json")).expect("fixture");
    let without = load_battles_with(&fixture("battles_small.json"), false).expect("fixture");
    assert_eq!(with.len(), without.len());
    assert!(without.iter().all(|b| b.style.is_none()));
    for (a, b) in with.iter().zip(&without) {
        assert_eq!(
            (
                &a.model_a,
                &a.model_b,
                a.winner,
                &a.language,
                a.turn,
                a.tstamp
            ),
            (
                &b.model_a,
                &b.model_b,
                b.winner,
                &b.language,
                b.turn,
                b.tstamp
            )
        );
    }
}

#[test]
fn invalid_utf8_is_refused_naming_the_line() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(b"{\"model_a\":\"a\",\"model_b\":\"b\",\"winner\":\"tie\"}\n")
        .unwrap();
    file.write_all(b"{\"model_a\":\"\xff\",\"model_b\":\"b\",\"winner\":\"tie\"}\n")
        .unwrap();
    let err = load_battles(file.path()).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(":2:") && message.contains("UTF-8"),
        "{message}"
    );
}

#[test]
fn field_errors_read_well() {
    let err = |text: &str| parse_battles_json(text, "v.jsonl").unwrap_err().to_string();
    assert_eq!(
        err(r#"{"model_a": "a", "winner": "tie"}"#),
        "v.jsonl:1: field `model_b`: missing"
    );
    assert_eq!(
        err(r#"{"model_a": "a", "model_b": "b", "winner": "tie", "turn": "2"}"#),
        "v.jsonl:1: field `turn`: invalid type: string \"2\", expected u32"
    );
    let text = r#"{"model_a": "a", "model_b": "b", "winner": "tie", "conv_metadata": {"bold_count_b": {"**": 1, "__": []}}}"#;
    assert_eq!(
        err(text),
        "v.jsonl:1: field `conv_metadata.bold_count_b.__`: invalid type: sequence, expected f64"
    );
    // Not an object at all, in an array: the element is named.
    assert_eq!(
        err("[\n{\"model_a\": \"a\", \"model_b\": \"b\", \"winner\": \"tie\"},\n7\n]"),
        "v.jsonl:3: battle 1: field `(record)`: invalid type: integer `7`, expected a battle record (a JSON object)"
    );
}
