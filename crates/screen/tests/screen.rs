//! Screening end to end through the library: a generated mixed English/Chinese corpus with
//! planted hits (all found, nothing else removed), corrupt inputs counted with their place,
//! shards merged equal to one run, resumption from markers.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::Path;

mod support;

use assay_policy::{Policy, PolicyBuilder};
use assay_screen::{
    all_summaries, merged_policy_name, read_markers, report, screen, screen_then, ScreenConfig,
};
use serde_json::{json, Value};

fn policy() -> Policy {
    let mut b = PolicyBuilder::new();
    let weapons = b.category("weapons");
    b.add_terms(["pipe bomb", "自制炸弹"], weapons);
    let drugs = b.category("drugs");
    b.add_terms(["cook meth", "合成冰毒"], drugs);
    b.allow_terms(["kill a process"]);
    let mut policy_builder = b;
    let domains = policy_builder.category("blocked-sites");
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("domains.txt");
    fs::write(&list, "blocked.example\n").unwrap();
    policy_builder.add_domain_file(&list, domains).unwrap();
    policy_builder.build().unwrap()
}

const CLEAN_EN: &[&str] = &[
    "The weather in Paris is mild in spring.",
    "How do I kill a process that hangs on Linux?",
    "A recipe for bread needs flour, water, salt and yeast.",
    "The bombastic speech was long and the classroom was quiet.",
];
const CLEAN_ZH: &[&str] = &[
    "今天天气很好，我们去公园散步。",
    "长城是中国古代的伟大工程。",
    "如何学习编程？先从基础开始。",
];
const PLANTS: &[&str] = &[
    "how to build a PIPE BOMB at home",
    "教我自制炸弹",
    "where to cook meth",
    "合成冰毒的方法",
];

/// Writes `files` JSONL files of `docs` documents each; every 10th document carries a planted
/// term, every 25th comes from the blocked domain. Answers the ids that must be removed.
fn corpus(dir: &Path, files: usize, docs: usize) -> BTreeSet<String> {
    let mut expected = BTreeSet::new();
    for f in 0..files {
        let mut out = String::new();
        for d in 0..docs {
            let id = format!("f{f}-d{d}");
            let mut text = if d % 2 == 0 {
                CLEAN_EN[d % CLEAN_EN.len()]
            } else {
                CLEAN_ZH[d % CLEAN_ZH.len()]
            }
            .to_string();
            let mut url = format!("https://site{}.example.org/page/{d}", d % 7);
            if d % 10 == 3 {
                text = format!("{text} {}", PLANTS[d % PLANTS.len()]);
                expected.insert(id.clone());
            }
            if d % 25 == 7 {
                url = format!("https://www.blocked.example/x/{d}");
                expected.insert(id.clone());
            }
            out.push_str(&json!({"id": id, "text": text, "url": url}).to_string());
            out.push('\n');
        }
        fs::write(dir.join(format!("part-{f:02}.jsonl")), out).unwrap();
    }
    expected
}

fn config(inputs: &Path, out: &Path) -> ScreenConfig {
    support::config(vec![inputs.display().to_string()], out, 20, 7)
}

fn ids(path: &Path) -> BTreeSet<String> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn all_ids(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for entry in fs::read_dir(dir).unwrap() {
        out.extend(ids(&entry.unwrap().path()));
    }
    out
}

#[test]
fn planted_hits_are_all_removed_and_nothing_else() {
    let input = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let expected = corpus(input.path(), 4, 300);
    let summaries = screen(&policy(), &config(input.path(), out.path())).unwrap();
    assert_eq!(summaries.len(), 4);
    let removed = all_ids(&out.path().join("removed"));
    assert_eq!(removed, expected);
    let kept = all_ids(&out.path().join("kept"));
    assert_eq!(kept.len() + removed.len(), 1200);
    assert!(kept.is_disjoint(&removed));
    // Removed documents carry their reasons.
    let line = fs::read_to_string(out.path().join("removed/part-00.jsonl")).unwrap();
    let first: Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    assert!(
        first["assay_screen"]["reasons"][0]["category"].is_string(),
        "{first}"
    );

    let r = report::build("test", &summaries, 0.05, 0.96);
    assert_eq!(r.docs, 1200);
    assert_eq!(r.removed.k, expected.len() as u64);
    // The blocked domain is a source of its own, 100% violating, and flagged.
    assert!(r
        .sources_flagged
        .iter()
        .any(|s| s.source == "blocked.example" && s.violating.p == 1.0));
    assert!(r.sources_flagged.iter().all(|s| s.violating.p > 0.05));
    // One batch per file, each with its 20-document sample.
    assert_eq!(r.batches.len(), 4);
    assert!(r.batches.iter().all(|b| b.sample_pass.n == 20));
    report::write(&r, out.path()).unwrap();
    let html = fs::read_to_string(out.path().join("report.html")).unwrap();
    assert!(html.contains("blocked.example") && !html.contains("<script"));
}

#[test]
fn a_host_seen_before_is_judged_again_by_its_path() {
    // A screen remembers what the domain lists say of each host; a URL list makes the path
    // matter, and a source field another source than the host's.
    let lists = tempfile::tempdir().unwrap();
    let mut builder = PolicyBuilder::new();
    let sites = builder.category("blocked-sites");
    let pages = builder.category("blocked-pages");
    let (domains, urls) = (
        lists.path().join("domains.txt"),
        lists.path().join("urls.txt"),
    );
    fs::write(&domains, "blocked.example\n").unwrap();
    fs::write(&urls, "mixed.example/private\n").unwrap();
    builder.add_domain_file(&domains, sites).unwrap();
    builder.add_url_file(&urls, pages).unwrap();
    let policy = builder.build().unwrap();

    let input = tempfile::tempdir().unwrap();
    let (mut lines, mut expected) = (String::new(), BTreeSet::new());
    for d in 0..300 {
        let host = ["mixed.example", "www.blocked.example", "fine.example"][d % 3];
        let path = if d % 4 == 0 { "private" } else { "public" };
        let id = format!("d{d}");
        if host != "fine.example" && (host != "mixed.example" || path == "private") {
            expected.insert(id.clone());
        }
        let url = format!("https://{host}/{path}/{d}");
        let doc = if d % 5 == 0 {
            json!({"id": id, "text": "a day in the park", "url": url, "source": "crawl"})
        } else {
            json!({"id": id, "text": "a day in the park", "url": url})
        };
        lines.push_str(&format!("{doc}\n"));
    }
    fs::write(input.path().join("part.jsonl"), lines).unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut config = config(input.path(), out.path());
    config.fields.source = Some("source".into());
    let summaries = screen(&policy, &config).unwrap();
    assert_eq!(all_ids(&out.path().join("removed")), expected);
    let sources = &summaries[0].sources;
    let docs = |name: &str| sources.get(name).map(|s| (s.docs, s.violating_docs));
    // Of 300: every fifth has its source field (20 of them blocked by domain, 5 by path), the
    // rest their host's domain.
    assert_eq!(docs("crawl"), Some((60, 25)));
    assert_eq!(docs("blocked.example"), Some((80, 80)));
    assert_eq!(docs("mixed.example"), Some((80, 20)));
    assert_eq!(docs("fine.example"), Some((80, 0)));
}

#[test]
fn what_is_done_meanwhile_sees_every_summary_and_comes_back_once_outputs_are_in_place() {
    let input = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let expected = corpus(input.path(), 3, 100);
    let (summaries, seen) =
        screen_then(&policy(), &config(input.path(), out.path()), |s| s.to_vec()).unwrap();
    assert_eq!(seen, summaries);
    assert_eq!(summaries.len(), 3);
    // By the time it returns, every file's outputs and marker are in place.
    assert_eq!(read_markers(out.path()).unwrap(), summaries);
    assert_eq!(all_ids(&out.path().join("removed")), expected);

    // A file that cannot be screened (--strict, bad JSON): nothing is done meanwhile.
    fs::write(input.path().join("part-09.jsonl"), "{not json\n").unwrap();
    let failed = tempfile::tempdir().unwrap();
    let mut strict = config(input.path(), failed.path());
    strict.strict = true;
    let mut called = false;
    assert!(screen_then(&policy(), &strict, |_| called = true).is_err());
    assert!(!called);
}

#[test]
fn shards_merged_equal_one_run_and_reruns_resume() {
    let input = tempfile::tempdir().unwrap();
    corpus(input.path(), 5, 100);
    let whole = tempfile::tempdir().unwrap();
    let one = screen(&policy(), &config(input.path(), whole.path())).unwrap();
    let sharded = tempfile::tempdir().unwrap();
    let mut parts = Vec::new();
    let mut last = Vec::new();
    for i in 0..2 {
        let mut c = config(input.path(), sharded.path());
        c.shard = Some((i, 2));
        last = screen(&policy(), &c).unwrap();
        parts.extend(last.clone());
    }
    parts.sort_by(|a, b| a.input.cmp(&b.input));
    assert_eq!(parts, one);
    let merged = read_markers(sharded.path()).unwrap();
    assert_eq!(merged, one);
    // A run's own summaries with the other shard's markers: the same as all the markers.
    assert!(!last.is_empty() && last.len() < one.len());
    assert_eq!(all_summaries(sharded.path(), &last).unwrap(), merged);
    assert_eq!(
        report::build("p", &merged, 0.05, 0.96),
        report::build("p", &one, 0.05, 0.96)
    );
    // The markers name the policy, for the merged report.
    assert_eq!(merged_policy_name(&merged), policy().name);
    let mut older = merged.clone();
    older[0].policy.clear();
    assert_eq!(merged_policy_name(&older), "(merged)");
    // A rerun finds every marker and screens nothing again: the outputs stay as they were.
    let before = fs::read(whole.path().join("kept/part-00.jsonl")).unwrap();
    let again = screen(&policy(), &config(input.path(), whole.path())).unwrap();
    assert_eq!(again, one);
    assert_eq!(
        fs::read(whole.path().join("kept/part-00.jsonl")).unwrap(),
        before
    );
    // But an input that changed since is not taken for its old marker.
    fs::write(input.path().join("part-00.jsonl"), "{\"text\":\"new\"}\n").unwrap();
    let err = screen(&policy(), &config(input.path(), whole.path())).unwrap_err();
    assert!(err.to_string().contains("part-00.jsonl"), "{err}");
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn corrupt_inputs_are_counted_with_their_place() {
    let input = tempfile::tempdir().unwrap();
    let d = input.path();
    // Enough varied text for several compressed blocks, so that a cut stream still decodes
    // its first part.
    let good: String = (0..8000)
        .map(|i| {
            let text = if i == 5 {
                "教我自制炸弹".to_string()
            } else {
                format!("hello world {}", i * 7919 % 10007)
            };
            json!({"id": format!("g{i}"), "text": text}).to_string() + "\n"
        })
        .collect();
    // A truncated gzip and a truncated zstd: what came before the cut is screened.
    let gz = gzip(good.as_bytes());
    fs::write(d.join("cut.jsonl.gz"), &gz[..gz.len() / 2]).unwrap();
    let zst = zstd::encode_all(good.as_bytes(), 3).unwrap();
    fs::write(d.join("cut.jsonl.zst"), &zst[..zst.len() * 2 / 3]).unwrap();
    // Whole compressed files read back the same.
    fs::write(d.join("whole.jsonl.gz"), &gz).unwrap();
    // Invalid UTF-8, malformed JSON, a missing field, a 20 MB line, in one plain file.
    let mut plain = Vec::new();
    plain.extend_from_slice(b"{\"id\": \"p1\", \"text\": \"fine\"}\n");
    plain.extend_from_slice(b"{\"id\": \"p2\", \"text\": \"bad \xff\xfe\"}\n");
    plain.extend_from_slice(b"{\"id\": \"p3\", \"text\": \n");
    plain.extend_from_slice(b"{\"id\": \"p4\"}\n");
    plain.extend_from_slice(
        format!(
            "{{\"id\": \"p5\", \"text\": \"{}\"}}\n",
            "a".repeat(20 << 20)
        )
        .as_bytes(),
    );
    plain.extend_from_slice(b"{\"id\": \"p6\", \"text\": \"cook meth here\"}\n");
    fs::write(d.join("mixed.jsonl"), &plain).unwrap();
    fs::write(d.join("empty.jsonl"), b"").unwrap();

    let out = tempfile::tempdir().unwrap();
    let summaries = screen(&policy(), &config(d, out.path())).unwrap();
    let by = |name: &str| summaries.iter().find(|s| s.input == name).unwrap();

    let whole = by("whole.jsonl.gz");
    assert_eq!((whole.docs, whole.removed_docs), (8000, 1));
    assert!(whole.bad.is_empty());
    // A cut zstd stream (no checksum until its end): what came before the cut is screened.
    let s = by("cut.jsonl.zst");
    assert!(s.docs > 0 && s.docs < 8000, "cut.jsonl.zst: {}", s.docs);
    assert_eq!(s.bad.get("read error"), Some(&1), "{:?}", s.bad);
    // A cut gzip member never passes its checksum: none of its lines is screened or kept,
    // they are all bad input.
    let s = by("cut.jsonl.gz");
    assert_eq!(s.docs, 0);
    let withheld = s.bad.get("corrupt gzip member").copied().unwrap_or(0);
    assert!(withheld > 0 && withheld <= 8000, "{:?}", s.bad);
    let kept = flate2::read::MultiGzDecoder::new(
        fs::File::open(out.path().join("kept/cut.jsonl.gz")).unwrap(),
    );
    let kept_lines = std::io::BufRead::lines(std::io::BufReader::new(kept)).count() as u64;
    assert_eq!(kept_lines, 0);

    let mixed = by("mixed.jsonl");
    assert_eq!(mixed.docs, 3, "p1, p4 (no text) and p6 are documents");
    assert_eq!(mixed.removed_docs, 1);
    for (kind, line) in [
        ("invalid UTF-8", 2),
        ("malformed JSON", 3),
        ("missing text", 4),
        ("line too long", 5),
    ] {
        assert_eq!(mixed.bad.get(kind), Some(&1), "{kind}: {:?}", mixed.bad);
        let example = mixed.bad_examples.iter().find(|e| e.kind == kind).unwrap();
        assert_eq!(
            (example.file.as_str(), example.line),
            ("mixed.jsonl", Some(line))
        );
    }
    assert_eq!(by("empty.jsonl").bad.get("empty file"), Some(&1));

    // --strict stops at the first bad line, naming it.
    let strict_out = tempfile::tempdir().unwrap();
    let mut c = config(&d.join("mixed.jsonl"), strict_out.path());
    c.strict = true;
    let err = screen(&policy(), &c).unwrap_err().to_string();
    assert!(
        err.contains("mixed.jsonl:2") && err.contains("UTF-8"),
        "{err}"
    );
}
