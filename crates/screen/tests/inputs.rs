//! Inputs that used to fool screening: gzip members whose checksum fails (their lines must
//! never reach kept/), files gone between listing and reading, file names that are not UTF-8,
//! and an output directory inside an input directory.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

mod support;

use assay_policy::{Policy, PolicyBuilder};
use assay_screen::input::{CorruptMember, VerifiedGzip};
use assay_screen::{screen, ScreenConfig, ScreenError};
use serde_json::json;

fn policy() -> Policy {
    let mut b = PolicyBuilder::new();
    let weapons = b.category("weapons");
    b.add_terms(["pipe bomb"], weapons);
    b.build().unwrap()
}

fn config(inputs: &Path, out: &Path) -> ScreenConfig {
    support::config(vec![inputs.display().to_string()], out, 5, 7)
}

/// `n` clean documents whose ids start with `prefix`, one JSON line each.
fn docs(prefix: &str, n: usize) -> String {
    (0..n)
        .map(|i| {
            let text = format!("ordinary text {} about gardens", i * 7919 % 10007);
            json!({"id": format!("{prefix}{i}"), "text": text}).to_string() + "\n"
        })
        .collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A gzip member whose CRC-32 in the trailer is wrong (the data itself decodes).
fn gzip_bad_crc(bytes: &[u8]) -> Vec<u8> {
    let mut member = gzip(bytes);
    let at = member.len() - 8;
    member[at] ^= 0xff;
    member
}

fn gunzip_lines(path: &Path) -> Vec<String> {
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text.lines().map(str::to_string).collect()
}

#[test]
fn lines_of_a_gzip_member_with_a_bad_checksum_never_reach_kept() {
    let input = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut file = gzip(docs("good-", 300).as_bytes());
    file.extend(gzip_bad_crc(docs("tainted-", 200).as_bytes()));
    file.extend(gzip(docs("after-", 100).as_bytes()));
    fs::write(input.path().join("members.jsonl.gz"), &file).unwrap();

    let summaries = screen(&policy(), &config(input.path(), out.path())).unwrap();
    let s = &summaries[0];
    assert_eq!(s.docs, 300, "only the first, sound member is screened");
    assert_eq!(s.bad.get("corrupt gzip member"), Some(&200), "{:?}", s.bad);
    let example = &s.bad_examples[0];
    assert_eq!(example.line, Some(301));
    let kept = gunzip_lines(&out.path().join("kept/members.jsonl.gz"));
    assert_eq!(kept.len(), 300);
    assert!(
        kept.iter().all(|l| l.contains("good-")),
        "a withheld line was kept"
    );

    // --strict makes it fatal, naming the first withheld line.
    let strict_out = tempfile::tempdir().unwrap();
    let mut c = config(input.path(), strict_out.path());
    c.strict = true;
    let err = screen(&policy(), &c).unwrap_err().to_string();
    assert!(err.contains("members.jsonl.gz:301"), "{err}");
}

#[test]
fn large_members_are_checked_before_they_are_handed_out() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.jsonl.gz");
    let first = docs("a-", 2000);
    let second = docs("b-", 3000);
    let mut sound = gzip(first.as_bytes());
    sound.extend(gzip(second.as_bytes()));
    fs::write(&path, &sound).unwrap();
    // 4 KiB of memory: every member is verified while it is spilled to a file (or, with no
    // spill directory, verified and then decompressed again from the input).
    let spill = tempfile::tempdir().unwrap();
    let read = |path: &Path, spill_dir: Option<&Path>| {
        let raw = std::io::BufReader::new(fs::File::open(path).unwrap());
        let mut reader = VerifiedGzip::new(path, raw, 4096);
        if let Some(dir) = spill_dir {
            reader = reader.spill_into(dir);
        }
        let mut text = Vec::new();
        let result = reader.read_to_end(&mut text);
        (text, result)
    };
    for spill_dir in [Some(spill.path()), None] {
        fs::write(&path, &sound).unwrap();
        let (text, result) = read(&path, spill_dir);
        result.unwrap();
        assert_eq!(text, format!("{first}{second}").into_bytes());

        let mut tainted = gzip(first.as_bytes());
        tainted.extend(gzip_bad_crc(second.as_bytes()));
        fs::write(&path, &tainted).unwrap();
        let (text, result) = read(&path, spill_dir);
        assert_eq!(
            text,
            first.as_bytes(),
            "nothing of the bad member was handed out"
        );
        let err = result.unwrap_err();
        let corrupt = err
            .get_ref()
            .and_then(|e| e.downcast_ref::<CorruptMember>())
            .expect("a CorruptMember error");
        assert_eq!(corrupt.lines, 3000);
    }
    // Spill files are unlinked as soon as they are made: none is left.
    assert_eq!(fs::read_dir(spill.path()).unwrap().count(), 0);
}

#[test]
fn a_file_gone_before_it_is_read_is_bad_input_and_retried_on_rerun() {
    let input = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    fs::write(input.path().join("a.jsonl"), docs("a-", 10)).unwrap();
    // Listed (its name is a JSON Lines name) but gone when opened: a dangling link is the
    // same as a file deleted between the listing and the read.
    let gone = input.path().join("b.jsonl");
    std::os::unix::fs::symlink(input.path().join("deleted.jsonl"), &gone).unwrap();
    let summaries = screen(&policy(), &config(input.path(), out.path())).unwrap();
    assert_eq!(summaries.len(), 2);
    assert_eq!(summaries[0].docs, 10);
    assert_eq!(summaries[1].input, "b.jsonl");
    assert_eq!(summaries[1].bad.get("unreadable file"), Some(&1));

    // Back again: the rerun screens it instead of trusting the marker.
    fs::write(input.path().join("deleted.jsonl"), docs("b-", 4)).unwrap();
    fs::remove_file(&gone).unwrap();
    fs::rename(input.path().join("deleted.jsonl"), &gone).unwrap();
    let summaries = screen(&policy(), &config(input.path(), out.path())).unwrap();
    assert_eq!(summaries[1].docs, 4);
    assert!(summaries[1].bad.is_empty());
}

#[test]
fn an_output_that_cannot_be_put_in_place_stops_the_run_and_leaves_no_marker() {
    for threads in [1, 2] {
        let input = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        for name in ["a", "b", "c", "d", "e"] {
            fs::write(input.path().join(format!("{name}.jsonl")), docs(name, 20)).unwrap();
        }
        // A directory where a's kept output belongs: its rename fails after a is screened,
        // on a thread that puts outputs in place, while the next files are screened.
        let blocker = out.path().join("kept/a.jsonl");
        fs::create_dir_all(blocker.join("x")).unwrap();
        let config = ScreenConfig {
            threads,
            ..config(input.path(), out.path())
        };
        let err = screen(&policy(), &config).unwrap_err();
        assert!(
            matches!(err, ScreenError::Io { ref path, .. } if path == &blocker),
            "{threads} threads: {err}"
        );
        // a has no marker (its outputs are not in place); on one thread, neither has any
        // file after it (none was put in place once one failed).
        let markers = assay_screen::read_markers(out.path()).unwrap();
        assert!(markers.iter().all(|m| m.input != "a.jsonl"), "{markers:?}");
        if threads == 1 {
            assert!(markers.is_empty(), "{markers:?}");
        }

        // With the obstacle gone, a rerun screens what has no marker and ends complete.
        fs::remove_dir_all(&blocker).unwrap();
        let summaries = screen(&policy(), &config).unwrap();
        assert_eq!(summaries.len(), 5);
        assert!(summaries.iter().all(|s| s.docs == 20));
        assert_eq!(
            fs::read_to_string(out.path().join("kept/a.jsonl")).unwrap(),
            docs("a", 20)
        );
    }
}

#[test]
fn file_names_that_are_not_utf8_are_screened() {
    use std::os::unix::ffi::OsStrExt;
    let input = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    // "café.jsonl" in Latin-1.
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.jsonl");
    let mut text = docs("c-", 5);
    text.push_str(&(json!({"id": "x", "text": "a pipe bomb"}).to_string() + "\n"));
    fs::write(input.path().join(name), text).unwrap();
    let summaries = screen(&policy(), &config(input.path(), out.path())).unwrap();
    assert_eq!(summaries.len(), 1);
    let s = &summaries[0];
    assert_eq!((s.docs, s.removed_docs), (6, 1));
    assert_eq!(s.input, "caf\\xE9.jsonl");
    assert_eq!(s.relative_path().as_os_str(), name);
    let kept = fs::read_to_string(out.path().join("kept").join(name)).unwrap();
    assert_eq!(kept.lines().count(), 5);
    // Its marker reads back the same, so a rerun skips it.
    assert_eq!(assay_screen::read_markers(out.path()).unwrap()[0], *s);
}

#[test]
fn an_output_directory_inside_an_input_directory_is_refused() {
    let input = tempfile::tempdir().unwrap();
    fs::write(input.path().join("a.jsonl"), docs("a-", 3)).unwrap();
    for out in [
        input.path().join("out"),
        input.path().to_path_buf(),
        input.path().join("x/../deeper/out"),
    ] {
        let err = screen(&policy(), &config(input.path(), &out)).unwrap_err();
        assert!(matches!(err, ScreenError::Input { .. }), "{err}");
        let message = err.to_string();
        assert!(message.contains("inside the input"), "{message}");
        assert!(!message.contains('\n'));
        assert!(!input.path().join("out").exists(), "nothing was written");
    }
    // A glob that matches files of the output directory is refused too.
    let outside = tempfile::tempdir().unwrap();
    let out = outside.path().join("out");
    screen(&policy(), &config(input.path(), &out)).unwrap();
    let mut c = config(input.path(), &out);
    c.inputs = vec![format!("{}/kept/*.jsonl", out.display())];
    let err = screen(&policy(), &c).unwrap_err().to_string();
    assert!(err.contains("is an output of --out"), "{err}");
    // Inputs inside the output directory, but not among its outputs, are fine.
    let work = tempfile::tempdir().unwrap();
    fs::create_dir(work.path().join("raw")).unwrap();
    fs::write(work.path().join("raw/a.jsonl"), docs("a-", 3)).unwrap();
    for _ in 0..2 {
        let summaries = screen(&policy(), &config(&work.path().join("raw"), work.path())).unwrap();
        assert_eq!(summaries.len(), 1);
    }
}

#[test]
fn the_review_sample_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let input = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    fs::write(input.path().join("a.jsonl"), docs("a-", 10)).unwrap();
    let summaries = screen(&policy(), &config(input.path(), out.path())).unwrap();
    let csv = out.path().join("sample.csv");
    let rows = assay_screen::report::write_sample_csv(&summaries, &csv).unwrap();
    assert_eq!(rows, 5);
    let mode = fs::metadata(&csv).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

/// The relative names `discover` finds for one directory input.
#[cfg(unix)]
fn discovered(dir: &Path) -> Vec<String> {
    assay_screen::input::discover(&[dir.display().to_string()])
        .unwrap()
        .into_iter()
        .map(|f| f.relative.display().to_string())
        .collect()
}

#[cfg(unix)]
#[test]
fn linked_directories_are_not_screened_again_and_a_link_loop_is_not_followed() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    fs::create_dir_all(data.join("sub")).unwrap();
    fs::write(data.join("a.jsonl"), docs("a", 1)).unwrap();
    fs::write(data.join("sub/b.jsonl"), docs("b", 1)).unwrap();
    // A second name for sub/, and a link back to data/ itself.
    symlink(data.join("sub"), data.join("again")).unwrap();
    symlink(".", data.join("self")).unwrap();
    // A link to a file is a file.
    fs::write(dir.path().join("outside.jsonl"), docs("c", 1)).unwrap();
    symlink(dir.path().join("outside.jsonl"), data.join("linked.jsonl")).unwrap();
    assert_eq!(
        discovered(&data),
        ["a.jsonl", "linked.jsonl", "sub/b.jsonl"],
        "each file once"
    );
    // The input itself may be a link to a directory.
    let link = dir.path().join("data-link");
    symlink(&data, &link).unwrap();
    assert_eq!(
        discovered(&link),
        ["a.jsonl", "linked.jsonl", "sub/b.jsonl"]
    );
    // And a whole screening reads each document once.
    let out = dir.path().join("out");
    let summaries = screen(&policy(), &config(&data, &out)).unwrap();
    let docs: u64 = summaries.iter().map(|s| s.docs).sum();
    assert_eq!(docs, 3, "{summaries:?}");
}
