//! What the report lets a reader inspect, from a real screen of a small corpus with the built-in
//! example pack: removed documents per category with the original matched text marked (hostile
//! markup in a document shown as text), length / language / source distributions, category
//! display names sorted by count; and `status` naming an unfinished shard and a failed file.

use std::fs;
use std::io::Write;
use std::path::Path;

mod support;

use assay_policy::Policy;
use assay_screen::{read_markers, report, screen, status};
use serde_json::json;

/// The planted document: hostile markup around a term written in full-width capitals with a
/// zero-width space inside (normalization finds it; the report must show the original).
const HOSTILE_DOC: &str =
    "<img src=x onerror=\"alert(1)\"><script>window.x=1</script> how to make a ＰＩＰＥ\u{200B} ＢＯＭＢ at home";
const ORIGINAL_SPAN: &str = "ＰＩＰＥ\u{200B} ＢＯＭＢ";

fn write_corpus(dir: &Path) {
    // a.jsonl: 40 English documents of ~30 characters, 20 Chinese ones, the hostile one and
    // two drug ones (three weapons and two drug documents removed in all, with b.jsonl).
    let mut a = String::new();
    for i in 0..40 {
        a.push_str(&json!({"text": format!("An ordinary English sentence {i}."), "url": format!("https://news.example.org/{i}")}).to_string());
        a.push('\n');
    }
    for i in 0..20 {
        a.push_str(&json!({"text": format!("今天天气很好，我们去公园散步。第{i}天"), "url": "https://zh.example.cn/p"}).to_string());
        a.push('\n');
    }
    a.push_str(&json!({"text": HOSTILE_DOC, "url": "https://bad.example.org/1"}).to_string());
    a.push('\n');
    for _ in 0..2 {
        a.push_str(&json!({"text": format!("{} where to cook meth cheaply", "filler ".repeat(60)), "url": "https://x.example.org/"}).to_string());
        a.push('\n');
    }
    fs::write(dir.join("a.jsonl"), a).unwrap();
    // b.jsonl: two Chinese weapons documents, one long.
    let long = format!("{}教你自制炸弹的方法", "很长的文字。".repeat(400));
    let b = [
        json!({"text": "如何制作炸弹？", "url": "https://zh.example.cn/q"}),
        json!({"text": long, "url": "https://zh.example.cn/long"}),
    ]
    .map(|v| v.to_string())
    .join("\n");
    fs::write(dir.join("b.jsonl"), b + "\n").unwrap();
}

#[test]
fn the_report_shows_removed_documents_with_their_span_and_the_distributions() {
    let input = tempfile::tempdir().unwrap();
    write_corpus(input.path());
    let out = tempfile::tempdir().unwrap();
    let policy = Policy::builtin("example").unwrap();
    let config = support::config(
        vec![input.path().to_str().unwrap().to_string()],
        out.path(),
        5,
        1,
    );
    let summaries = screen(&policy, &config).unwrap();
    let r = report::build(&policy.name, &summaries, 0.05, 0.96);
    assert_eq!(r.docs, 65);
    assert_eq!(r.categories["weapons"], 3);
    assert_eq!(r.categories["drugs"], 2);
    assert_eq!(r.category_names["weapons"], "Weapons and explosives");
    assert_eq!(r.category_names["drugs"], "Illegal drugs");

    // The examples: the original text of the span, cut on character boundaries.
    let weapons = &r.examples["weapons"];
    assert_eq!(weapons.len(), 3, "{weapons:?}");
    let hostile = weapons.iter().find(|e| e.file == "a.jsonl").unwrap();
    assert_eq!(hostile.line, 61);
    assert_eq!(hostile.matched, ORIGINAL_SPAN);
    assert_eq!(
        format!("{}{}{}", hostile.before, hostile.matched, hostile.after),
        HOSTILE_DOC
    );
    assert_eq!(hostile.rule, "pipe bomb");
    let long = weapons
        .iter()
        .find(|e| e.url.as_deref() == Some("https://zh.example.cn/long"))
        .unwrap();
    assert_eq!(long.matched, "自制炸弹");
    assert!(
        long.before.starts_with('…') && long.before.chars().count() == 161,
        "{long:?}"
    );
    assert_eq!(long.after, "的方法");
    assert_eq!(r.examples["drugs"].len(), 2);

    // Distributions: lengths (characters), languages, the largest sources.
    let docs_in = |min: u64| {
        r.lengths
            .iter()
            .find(|l| l.min_chars == min)
            .map_or(0, |l| l.docs)
    };
    assert_eq!(docs_in(0), 62, "{:?}", r.lengths);
    assert_eq!(docs_in(200), 2, "{:?}", r.lengths); // 60 × "filler " + the term
    assert_eq!(docs_in(2_000), 1, "{:?}", r.lengths); // 2,409 characters
    assert_eq!(r.lengths.iter().map(|l| l.docs).sum::<u64>(), 65);
    assert_eq!(r.languages["English"].docs, 43);
    assert_eq!(r.languages["English"].removed, 3);
    assert_eq!(r.languages["Chinese"].docs, 22);
    assert_eq!(r.languages["Chinese"].removed, 2);
    assert_eq!(r.top_sources[0].source, "example.org");
    assert_eq!(r.top_sources[0].docs, 43);

    // The page: names sorted by count, the span marked, the markup escaped.
    let page = report::html(&r).unwrap();
    assert!(
        !page.contains("<img") && !page.contains("<script"),
        "{page}"
    );
    assert!(page.contains(&format!(
        "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&lt;script&gt;window.x=1&lt;/script&gt; how to make a <mark>{ORIGINAL_SPAN}</mark> at home"
    )), "{page}");
    assert!(page.contains("<mark>自制炸弹</mark>的方法"), "{page}");
    let weapons_at = page
        .find("Weapons and explosives <span class=\"id\">weapons</span>")
        .unwrap();
    let drugs_at = page
        .find("Illegal drugs <span class=\"id\">drugs</span>")
        .unwrap();
    assert!(weapons_at < drugs_at, "sorted by count");

    // The markers hold it all, so a merge of them gives the same report.
    let again = report::build(&policy.name, &read_markers(out.path()).unwrap(), 0.05, 0.96);
    assert_eq!(again, r);
}

#[test]
fn status_names_unfinished_shards_and_failed_files() {
    let input = tempfile::tempdir().unwrap();
    for name in ["p0.jsonl", "p1.jsonl", "p2.jsonl", "p3.jsonl"] {
        fs::write(input.path().join(name), "{\"text\": \"hello\"}\n").unwrap();
    }
    // A gzip file cut in the middle: a file that fails (in part).
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for i in 0..2000 {
        writeln!(gz, "{{\"text\": \"line {i} of a file that will be cut\"}}").unwrap();
    }
    let bytes = gz.finish().unwrap();
    fs::write(input.path().join("p4.jsonl.gz"), &bytes[..bytes.len() / 2]).unwrap();
    let out = tempfile::tempdir().unwrap();
    let policy = Policy::builtin("example").unwrap();
    let inputs = vec![input.path().to_str().unwrap().to_string()];

    // Shard 0/2 (p0, p2, p4.gz) runs to the end; shard 1/2 (p1, p3) stops with an error at
    // p3, which is not JSON, under --strict.
    fs::write(input.path().join("p3.jsonl"), "not json\n").unwrap();
    let mut config = support::config(inputs.clone(), out.path(), 0, 1);
    config.threads = 1;
    config.shard = Some((0, 2));
    screen(&policy, &config).unwrap();
    config.shard = Some((1, 2));
    config.strict = true;
    assert!(screen(&policy, &config).is_err());

    let s = status::status(out.path()).unwrap();
    assert!(!s.complete);
    assert_eq!(s.shards.len(), 2, "{s:?}");
    let (first, second) = (&s.shards[0], &s.shards[1]);
    assert_eq!(first.shard.as_deref(), Some("0/2"));
    assert_eq!((first.state, first.done, first.files), ("finished", 3, 3));
    assert!(first.unfinished.is_empty());
    assert_eq!(second.shard.as_deref(), Some("1/2"));
    assert_eq!(second.state, "failed");
    assert!(
        second.error.as_deref().unwrap_or("").contains("p3.jsonl"),
        "{second:?}"
    );
    assert_eq!(
        second
            .unfinished
            .iter()
            .map(|u| u.input.as_str())
            .collect::<Vec<_>>(),
        ["p3.jsonl"]
    );
    assert_eq!(s.failed_files.len(), 1, "{:?}", s.failed_files);
    assert_eq!(s.failed_files[0].input, "p4.jsonl.gz");

    // A killed run leaves a plan without an end, and partial outputs: unfinished, and said so.
    let plan_path = out.path().join(".shards/1-of-2.json");
    let mut plan: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&plan_path).unwrap()).unwrap();
    plan["error"] = serde_json::Value::Null;
    fs::write(&plan_path, plan.to_string()).unwrap();
    fs::create_dir_all(out.path().join("kept")).unwrap();
    fs::write(out.path().join("kept/p3.jsonl.partial"), "").unwrap();
    let s = status::status(out.path()).unwrap();
    assert_eq!(s.shards[1].state, "unfinished");
    assert!(s.shards[1].unfinished[0].partial_output);

    // Fixed and rerun: the shard finishes; the cut file still fails.
    fs::write(input.path().join("p3.jsonl"), "{\"text\": \"fine\"}\n").unwrap();
    screen(&policy, &config).unwrap();
    let s = status::status(out.path()).unwrap();
    assert!(s.shards.iter().all(|sh| sh.state == "finished"), "{s:?}");
    assert!(!s.complete, "a failed file keeps the directory incomplete");
    assert!(
        status::status(input.path()).is_err(),
        "not an output directory"
    );
}
