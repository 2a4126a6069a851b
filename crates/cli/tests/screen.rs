//! `assay screen` as a user runs it: the built-in example policy on a small corpus, a run
//! killed mid-way and resumed (same outputs as an uninterrupted run), the sample → review →
//! accept workflow, and --drop-flagged-sources.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

mod common;

use serde_json::{json, Value};

fn assay(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(args)
        .output()
        .expect("assay runs")
}

/// `screen INPUTS --policy example --out OUT --threads THREADS --quiet`.
fn quiet_screen<'a>(inputs: &'a str, out: &'a str, threads: &'a str) -> [&'a str; 9] {
    [
        "screen",
        inputs,
        "--policy",
        "example",
        "--out",
        out,
        "--threads",
        threads,
        "--quiet",
    ]
}

fn ok(out: &Output) -> String {
    common::assert_succeeded(out);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `files` files of `docs` documents: every 40th plants a weapons term (on one of seven
/// ordinary sites, each staying under 5% violating); of every 20, one document of
/// `bad-source.example` plants a term and one does not (50% violating).
fn corpus(dir: &Path, files: usize, docs: usize) {
    for f in 0..files {
        let mut out = String::new();
        for d in 0..docs {
            let site = format!("https://site{}.org/{d}", d % 7);
            let bad = format!("https://bad-source.example/{d}");
            let (text, url) = match (d % 40, d % 20) {
                (0, _) => ("教我制作炸弹".to_string(), site),
                (_, 1) => (format!("How to build a pipe bomb, part {d}"), bad),
                (_, 2) => (format!("A fine article {d}"), bad),
                _ => (
                    format!("Ordinary text number {d} about gardens and 天气。"),
                    site,
                ),
            };
            out.push_str(&json!({"id": format!("{f}-{d}"), "text": text, "url": url}).to_string());
            out.push('\n');
        }
        fs::write(dir.join(format!("part-{f:03}.jsonl")), out).unwrap();
    }
}

fn lines(path: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

#[test]
fn screens_with_the_example_policy_and_resumes_after_a_kill() {
    let input = tempfile::tempdir().unwrap();
    corpus(input.path(), 32, 5000);
    let inputs = input.path().to_str().unwrap();

    // An uninterrupted run, for reference.
    let reference = tempfile::tempdir().unwrap();
    let stdout = ok(&assay(&[
        "screen",
        inputs,
        "--policy",
        "example",
        "--out",
        reference.path().to_str().unwrap(),
        "--threads",
        "1",
        "--quiet",
    ]));
    assert!(stdout.contains("32 files, 160,000 documents"), "{stdout}");
    let report: Value =
        serde_json::from_str(&fs::read_to_string(reference.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["removed"]["k"], 32 * 375);
    assert_eq!(report["categories"]["weapons"], 32 * 375);
    let flagged = report["sources_flagged"].as_array().unwrap();
    assert_eq!(flagged.len(), 1, "{flagged:?}");
    assert!(report["sources_flagged"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["source"] == "bad-source.example"));

    // The same run, killed once some files are done, then resumed.
    let out = tempfile::tempdir().unwrap();
    let out_s = out.path().to_str().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(quiet_screen(inputs, out_s, "1"))
        .spawn()
        .unwrap();
    let started = Instant::now();
    let markers = |dir: &Path| {
        fs::read_dir(dir.join(".done"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    while markers(out.path()) < 3 && started.elapsed() < Duration::from_secs(120) {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    child.wait().unwrap();
    let done_before = markers(out.path());
    assert!(
        done_before >= 3,
        "files finished before the kill: {done_before}"
    );
    // `screen status` names what the killed run left unfinished, and exits 1. (The kill
    // comes 20 ms after the third marker, long before the 32nd in a debug build.)
    let status = assay(&["screen", "status", out_s, "--json"]);
    assert_eq!(status.status.code(), Some(1), "{status:?}");
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    let shard = &status[0]["shards"][0];
    assert_eq!(shard["state"], "unfinished", "{status}");
    assert_eq!(shard["files"], 32);
    let unfinished = shard["unfinished"].as_array().unwrap();
    assert_eq!(
        unfinished.len() as u64,
        32 - shard["done"].as_u64().unwrap()
    );
    assert!(!unfinished.is_empty(), "{status}");
    assert_eq!(status[0]["complete"], false);
    let text = assay(&["screen", "status", out_s]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("NOT complete") && text.contains("unfinished"),
        "{text}"
    );
    ok(&assay(&quiet_screen(inputs, out_s, "2")));
    let status = ok(&assay(&["screen", "status", out_s, "--json"]));
    let status: Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status[0]["complete"], true, "{status}");
    assert_eq!(status[0]["shards"][0]["state"], "finished", "{status}");
    for f in 0..32 {
        for kind in ["kept", "removed"] {
            let name = format!("{kind}/part-{f:03}.jsonl");
            assert_eq!(
                lines(&out.path().join(&name)),
                lines(&reference.path().join(&name)),
                "{name}"
            );
        }
    }
    let no_partials = walk(out.path()).iter().all(|p| !p.ends_with(".partial"));
    assert!(no_partials, "no partial file is left");
    let resumed: Value =
        serde_json::from_str(&fs::read_to_string(out.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(resumed, report);
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.display().to_string());
        }
    }
    out
}

#[test]
fn sample_review_accept_and_drop_flagged_sources() {
    let input = tempfile::tempdir().unwrap();
    corpus(input.path(), 2, 400);
    let out = tempfile::tempdir().unwrap();
    let out_s = out.path().to_str().unwrap();
    let stdout = ok(&assay(&[
        "screen",
        input.path().to_str().unwrap(),
        "--policy",
        "example",
        "--out",
        out_s,
        "--sample",
        "50",
        "--drop-flagged-sources",
        "--quiet",
    ]));
    // bad-source.example: 20 of 40 documents per file violate: flagged, and its 20 clean
    // documents per file move out of kept/.
    assert!(
        stdout.contains("40 kept documents of 1 flagged sources"),
        "{stdout}"
    );
    let dropped = lines(&out.path().join("removed-sources/part-000.jsonl"));
    assert_eq!(dropped.len(), 20);
    assert!(dropped
        .iter()
        .all(|l| l.contains("bad-source.example") && l.contains("assay_screen")));
    assert!(lines(&out.path().join("kept/part-000.jsonl"))
        .iter()
        .all(|l| !l.contains("bad-source.example")));

    ok(&assay(&["screen", "sample", "--out", out_s]));
    let csv_path = out.path().join("sample.csv");
    // UTF-8 with a byte-order mark, so that Excel on Chinese Windows reads it as UTF-8.
    let bytes = fs::read(&csv_path).unwrap();
    assert!(bytes.starts_with("\u{FEFF}batch,line,source,url,auto,reasons,text,label\n".as_bytes()));
    let mut reader = csv::Reader::from_path(&csv_path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 100, "50 per file");
    // A reviewer agrees with the automatic verdict.
    let label_col = headers.iter().position(|h| h == "label").unwrap();
    let auto_col = headers.iter().position(|h| h == "auto").unwrap();
    let reviewed = out.path().join("reviewed.csv");
    let mut w = csv::Writer::from_path(&reviewed).unwrap();
    w.write_record(&headers).unwrap();
    for row in &rows {
        let mut fields: Vec<String> = row.iter().map(str::to_string).collect();
        fields[label_col] = fields[auto_col].clone();
        w.write_record(&fields).unwrap();
    }
    w.flush().unwrap();
    let accepted = assay(&[
        "screen",
        "accept",
        "--labels",
        reviewed.to_str().unwrap(),
        "--threshold",
        "0.5",
    ]);
    let text = ok(&accepted);
    assert!(text.contains("overall") && text.contains("PASS"), "{text}");
    // --json: named fields, not positional arrays.
    let json = ok(&assay(&[
        "screen",
        "accept",
        "--labels",
        reviewed.to_str().unwrap(),
        "--threshold",
        "0.5",
        "--json",
    ]));
    let json: Value = serde_json::from_str(&json).unwrap();
    let batch = &json["batches"][0];
    assert_eq!(batch["batch"], "part-000.jsonl", "{json}");
    assert_eq!(batch["rate"]["n"], 50, "{json}");
    assert_eq!(batch["pass"], true, "{json}");
    assert_eq!(json["overall"]["n"], 100, "{json}");
    assert_eq!(json["pass"], true, "{json}");
    // At 96% the same labels fail (about 15% of documents violate), with exit status 1.
    let failed = assay(&["screen", "accept", "--labels", reviewed.to_str().unwrap()]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&failed.stdout).contains("FAIL"));
}

#[test]
fn bad_arguments_say_what_is_missing() {
    let out = assay(&[
        "screen",
        "nowhere.jsonl",
        "--policy",
        "example",
        "--out",
        "/tmp/x",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nowhere.jsonl"));
    let out = assay(&["screen", "x.jsonl", "--out", "/tmp/x"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--policy"));
    let out = assay(&[
        "screen",
        "x.jsonl",
        "--policy",
        "no-such-pack",
        "--out",
        "/tmp/x",
    ]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("example"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `--out` inside an input directory used to screen its own outputs on every rerun (2 → 9 →
/// 30 files); it is refused with one line, before anything is written.
#[test]
fn an_out_inside_an_input_directory_is_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path(), 2, 10);
    let out = dir.path().join("screened");
    for _ in 0..2 {
        // As a user runs it: no backtrace asked for.
        let run = Command::new(env!("CARGO_BIN_EXE_assay"))
            .args([
                "screen",
                dir.path().to_str().unwrap(),
                "--policy",
                "example",
            ])
            .args(["--out", out.to_str().unwrap(), "--quiet"])
            .env_remove("RUST_BACKTRACE")
            .env_remove("RUST_LIB_BACKTRACE")
            .output()
            .unwrap();
        assert!(!run.status.success());
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(stderr.contains("inside the input"), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(!out.exists(), "nothing written");
    }
    // Elsewhere it runs, and a rerun finds the same two files.
    let elsewhere = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let stdout = ok(&assay(&[
            "screen",
            dir.path().to_str().unwrap(),
            "--policy",
            "example",
            "--out",
            elsewhere.path().to_str().unwrap(),
            "--quiet",
        ]));
        assert!(stdout.starts_with("2 files"), "{stdout}");
    }
}

#[test]
fn rescreening_with_another_keyword_list_is_refused_until_forced() {
    let dir = tempfile::tempdir().unwrap();
    let (inputs, out) = (dir.path().join("in"), dir.path().join("out"));
    fs::create_dir_all(&inputs).unwrap();
    fs::write(
        inputs.join("a.jsonl"),
        "{\"text\":\"apples and pears\"}\n{\"text\":\"only pears\"}\n",
    )
    .unwrap();
    let keywords = dir.path().join("keywords.txt");
    fs::write(&keywords, "apples\n").unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "screen",
            inputs.to_str().unwrap(),
            "--keywords",
            keywords.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        assay(&args)
    };
    assert!(ok(&run(&["--quiet"])).contains("removed 1 "));

    // The keyword list is edited: the old markers no longer hold. The error is the one line
    // on stderr (with progress on: no last progress line says the refused screen was done).
    fs::write(&keywords, "pears\n").unwrap();
    let refused = run(&[]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("a.jsonl") && stderr.contains("--force") && stderr.lines().count() == 1,
        "{stderr}"
    );
    // --force screens again: both documents mention pears.
    assert!(ok(&run(&["--force", "--quiet"])).contains("removed 2 "));
    // Same list again: resumed, nothing refused.
    assert!(ok(&run(&["--quiet"])).contains("removed 2 "));
}

/// `assay screen INPUT LISTS… --out OUT` on one thread with `ASSAY_HOME=home`: the removed
/// documents of the two files `corpus` writes, and what it printed on stderr.
fn screen_removed(input: &Path, lists: &[&Path], out: &Path, home: &Path) -> (Vec<String>, String) {
    let run = Command::new(env!("CARGO_BIN_EXE_assay"))
        .arg("screen")
        .arg(input)
        .args(lists)
        .arg("--out")
        .arg(out)
        .args(["--threads", "1", "--quiet"])
        .env("ASSAY_HOME", home)
        .output()
        .expect("assay runs");
    common::assert_succeeded(&run);
    let removed = ["part-000.jsonl", "part-001.jsonl"]
        .iter()
        .flat_map(|f| lines(&out.join("removed").join(f)))
        .collect();
    (removed, String::from_utf8_lossy(&run.stderr).into_owned())
}

/// The one file in `dir`, by its inode: one written again is another.
fn only_file(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let files: Vec<u64> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().ino())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0]
}

#[test]
fn a_big_domain_list_is_indexed_once_and_read_back_after() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    fs::create_dir(&input).unwrap();
    corpus(&input, 2, 200);
    // Over a megabyte, so that its index is kept: 80,000 hosts, two of them the corpus's.
    let mut list: String = (0..80_000)
        .map(|i| format!("host{i}.zone{}.example\n", i % 97))
        .collect();
    list.push_str("Site3.ORG\nbad-source.example\n");
    let domains = tmp.path().join("domains.txt");
    fs::write(&domains, &list).unwrap();
    let home = tmp.path().join("home");
    // The same list in a pack, as a UT1 tree's category.
    let pack = tmp.path().join("pack");
    fs::create_dir_all(pack.join("ut1/blocked")).unwrap();
    fs::write(
        pack.join("policy.toml"),
        "name = \"big\"\n[[ut1]]\ndir = \"ut1\"\n",
    )
    .unwrap();
    fs::write(pack.join("ut1/blocked/domains"), &list).unwrap();
    let screen_with = |lists: [&Path; 2], out: &str, home: &Path| {
        screen_removed(&input, &lists, &tmp.path().join(out), home)
    };
    let screen =
        |out: &str, home: &Path| screen_with([Path::new("--domains"), &domains], out, home);
    let built = screen("out1", &home);
    let index_file = || only_file(&home.join("domain-index"));
    let written = index_file();
    // site3.org's documents and bad-source.example's.
    assert!(built.0.len() > 40, "{:?}", built.0);
    assert!(built.0.iter().any(|doc| doc.contains("site3.org")));
    let read_back = screen("out2", &home);
    assert_eq!(read_back.0, built.0);
    assert_eq!(index_file(), written);
    // Where nothing can be kept, the screen says so and goes on the same.
    let not_a_dir = tmp.path().join("file");
    fs::write(&not_a_dir, "").unwrap();
    let unkept = screen("out3", &not_a_dir);
    assert_eq!(unkept.0, built.0);
    assert!(
        unkept.1.contains("warning: cannot keep the domain index"),
        "{}",
        unkept.1
    );
    assert!(!built.1.contains("warning"), "{}", built.1);
    // The same documents, under the pack's category.
    let pack_home = tmp.path().join("pack-home");
    let from_pack = screen_with([Path::new("--policy"), &pack], "out-pack", &pack_home);
    let renamed: Vec<String> = built
        .0
        .iter()
        .map(|doc| doc.replace("\"category\":\"domains\"", "\"category\":\"blocked\""))
        .collect();
    assert!(from_pack.0 == renamed, "{} removed", from_pack.0.len());
    let files = fs::read_dir(pack_home.join("domain-index"))
        .unwrap()
        .count();
    assert_eq!(files, 1, "a pack's UT1 lists are kept too");
}

#[test]
fn a_big_keyword_list_is_built_once_and_read_back_after() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    fs::create_dir(&input).unwrap();
    corpus(&input, 2, 200);
    // A thousand terms or more, so that the matcher is kept; two of them the corpus's.
    let mut terms: Vec<String> = (0..1_500).map(|i| format!("made up term {i}")).collect();
    terms.extend(["pipe bomb".to_string(), "制作炸弹".to_string()]);
    let keywords = tmp.path().join("keywords.txt");
    fs::write(&keywords, terms.join("\n")).unwrap();
    let home = tmp.path().join("home");
    let lists = [Path::new("--keywords"), &keywords];
    let screen =
        |out: &str, home: &Path| screen_removed(&input, &lists, &tmp.path().join(out), home);
    let kept_file = || only_file(&home.join("keyword-index"));
    let built = screen("out1", &home);
    let written = kept_file();
    // The pipe bombs and the Chinese one's documents.
    assert!(built.0.len() > 20, "{:?}", built.0);
    assert!(built.0.iter().any(|doc| doc.contains("教我制作炸弹")));
    let read_back = screen("out2", &home);
    assert_eq!(read_back.0, built.0);
    assert_eq!(kept_file(), written);
    let not_a_dir = tmp.path().join("file");
    fs::write(&not_a_dir, "").unwrap();
    let unkept = screen("out3", &not_a_dir);
    assert_eq!(unkept.0, built.0);
    assert_eq!(unkept.1.matches("warning").count(), 1, "{}", unkept.1);
    assert!(
        unkept.1.contains("warning: cannot keep the keyword index"),
        "{}",
        unkept.1
    );
}
