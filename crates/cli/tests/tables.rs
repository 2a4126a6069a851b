//! Command tables line up when cells hold Chinese (two terminal columns a character): every
//! command prints through one renderer that measures display width, not characters.

use std::process::Command;

mod common;

use assay_core::table::display_width;
use assay_store::{GuardEventRecord, Store};

#[test]
fn guard_log_columns_line_up_with_chinese_categories() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("assay.db");
    let store = Store::open(&db).unwrap();
    for (i, (category, rule)) in [("weapons", "bomb"), ("武器", "炸弹"), ("政治敏感", "abc")]
        .into_iter()
        .enumerate()
    {
        store
            .record_guard_event(&GuardEventRecord {
                created_at: format!("2026-12-02T10:00:0{i}.000Z"),
                key_id: "k1".into(),
                request_id: format!("req-{i}"),
                model: "m".into(),
                direction: "input".into(),
                category: category.into(),
                action: "block".into(),
                offset: 10 * i as u64,
                rule: rule.into(),
            })
            .unwrap();
    }
    drop(store);
    let out = common::succeed(Command::new(env!("CARGO_BIN_EXE_assay")).args([
        "guard",
        "log",
        "--db",
        db.to_str().unwrap(),
    ]));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "header, rule, three events:\n{text}");
    // The RULE column starts at the same terminal column on every line.
    let rule_at = |line: &str, rule: &str| display_width(&line[..line.rfind(rule).unwrap()]);
    let header = rule_at(lines[0], "RULE");
    for (line, rule) in lines[2..].iter().zip(["bomb", "炸弹", "abc"]) {
        assert_eq!(rule_at(line, rule), header, "{text}");
    }
    // And so does ACTION, right after the Chinese categories.
    let action = rule_at(lines[0], "ACTION");
    for line in &lines[2..] {
        assert_eq!(rule_at(line, "block"), action, "{text}");
    }
}
