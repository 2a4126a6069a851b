//! Markers are reused only for the same policy, settings and input file: a rerun into an
//! existing output directory with anything else refuses, naming the file, unless `--force`.

mod support;

use std::fs;
use std::path::Path;

use assay_policy::{Policy, PolicyBuilder};
use assay_screen::{check_same_settings, read_markers, screen, ScreenConfig, ScreenError};

fn policy(term: &str) -> Policy {
    let mut b = PolicyBuilder::new();
    let c = b.category("keywords");
    b.add_terms([term], c);
    b.build().unwrap()
}

fn config(inputs: &Path, out: &Path, policy_fingerprint: &str) -> ScreenConfig {
    ScreenConfig {
        policy_fingerprint: policy_fingerprint.into(),
        ..support::config(vec![inputs.display().to_string()], out, 5, 7)
    }
}

fn write_inputs(dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    fs::write(
        dir.join("a.jsonl"),
        "{\"text\":\"apples and pears\"}\n{\"text\":\"only pears\"}\n",
    )
    .unwrap();
    fs::write(dir.join("b.jsonl"), "{\"text\":\"apples again\"}\n").unwrap();
}

fn removed(out: &Path) -> u64 {
    read_markers(out)
        .unwrap()
        .iter()
        .map(|s| s.removed_docs)
        .sum()
}

#[test]
fn the_same_settings_resume_and_other_settings_refuse_until_forced() {
    let dir = tempfile::tempdir().unwrap();
    let (inputs, out) = (dir.path().join("in"), dir.path().join("out"));
    write_inputs(&inputs);
    screen(&policy("apples"), &config(&inputs, &out, "pack-apples")).unwrap();
    assert_eq!(removed(&out), 2);
    // Same settings: the markers stand.
    screen(&policy("apples"), &config(&inputs, &out, "pack-apples")).unwrap();
    assert_eq!(removed(&out), 2);

    // Another policy into the same directory: refused, with what to do.
    let err = screen(&policy("pears"), &config(&inputs, &out, "pack-pears")).unwrap_err();
    assert!(matches!(err, ScreenError::Stale { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("a.jsonl") && message.contains("--force"),
        "{message}"
    );
    assert!(
        message.contains("pack-apples") && message.contains("pack-pears"),
        "{message}"
    );
    // Nothing was changed by the refusal.
    assert_eq!(removed(&out), 2);

    // Another setting (the sample's seed) is another run too.
    let mut reseeded = config(&inputs, &out, "pack-apples");
    reseeded.seed = 8;
    assert!(matches!(
        screen(&policy("apples"), &reseeded),
        Err(ScreenError::Stale { .. })
    ));

    // --force screens again with the new policy, and every marker then says so.
    let mut forced = config(&inputs, &out, "pack-pears");
    forced.force = true;
    screen(&policy("pears"), &forced).unwrap();
    assert_eq!(removed(&out), 2, "the two documents with pears");
    let kept = fs::read_to_string(out.join("kept/b.jsonl")).unwrap();
    assert!(kept.contains("apples again"));
    let markers = read_markers(&out).unwrap();
    check_same_settings(&out, &markers).unwrap();
    assert!(markers.iter().all(|m| m
        .fingerprint
        .as_ref()
        .is_some_and(|f| f.settings.contains("pack-pears"))));
}

#[test]
fn a_changed_input_file_is_not_taken_for_its_old_marker() {
    let dir = tempfile::tempdir().unwrap();
    let (inputs, out) = (dir.path().join("in"), dir.path().join("out"));
    write_inputs(&inputs);
    screen(&policy("apples"), &config(&inputs, &out, "p")).unwrap();
    fs::write(
        inputs.join("b.jsonl"),
        "{\"text\":\"apples again\"}\n{\"text\":\"more apples\"}\n",
    )
    .unwrap();
    let err = screen(&policy("apples"), &config(&inputs, &out, "p")).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("b.jsonl") && message.contains("changed"),
        "{message}"
    );
    let mut forced = config(&inputs, &out, "p");
    forced.force = true;
    screen(&policy("apples"), &forced).unwrap();
    assert_eq!(removed(&out), 3);
}

#[test]
fn markers_of_files_no_longer_screened_are_discarded_by_force_and_mixed_settings_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let (inputs, out) = (dir.path().join("in"), dir.path().join("out"));
    write_inputs(&inputs);
    screen(&policy("apples"), &config(&inputs, &out, "old")).unwrap();
    // Only a.jsonl, under a new policy: b.jsonl's old marker and outputs go.
    let only_a = dir.path().join("only-a");
    fs::create_dir_all(&only_a).unwrap();
    fs::copy(inputs.join("a.jsonl"), only_a.join("a.jsonl")).unwrap();
    let mut forced = config(&only_a, &out, "new");
    forced.force = true;
    screen(&policy("pears"), &forced).unwrap();
    let markers = read_markers(&out).unwrap();
    assert_eq!(markers.len(), 1, "{markers:?}");
    assert!(!out.join("kept/b.jsonl").exists());
    check_same_settings(&out, &markers).unwrap();

    // Two shards screened with different settings cannot make one report.
    let other = dir.path().join("other");
    screen(&policy("apples"), &config(&inputs, &other, "old")).unwrap();
    let mut mixed = read_markers(&out).unwrap();
    mixed.extend(read_markers(&other).unwrap());
    let err = check_same_settings(&out, &mixed).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("policy=old") && message.contains("policy=new"),
        "{message}"
    );
}
