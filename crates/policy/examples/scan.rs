//! Where the time of a corpus screen goes inside the policy: normalization and keyword search
//! timed apart over the `text` fields of a JSON Lines file, English and Chinese documents
//! apart (a document is Chinese when most of its bytes are not ASCII).
//!
//! `cargo run --release -p assay-policy --example scan -- KEYWORDS.txt CORPUS.jsonl [OPTION=BOOL…]`
//! (bench/screen/work has both after bench/screen/run.sh). The options are the pack's
//! `[normalize]` settings (`plurals=false`, `leetspeak=true`, …), to time each apart.

use std::time::Instant;

use assay_policy::{NormalizeOptions, Policy, PolicyBuilder};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [keywords, corpus, settings @ ..] = args.as_slice() else {
        return Err("usage: scan KEYWORDS.txt CORPUS.jsonl [OPTION=BOOL…]".into());
    };
    let options: NormalizeOptions = toml::from_str(&settings.join("\n"))?;
    let mut builder = PolicyBuilder::new();
    builder.set_normalize(options);
    let category = builder.category("listed");
    builder.add_keyword_file(keywords.as_ref(), category)?;
    let policy = builder.build()?;
    let (mut english, mut chinese) = (Vec::new(), Vec::new());
    for line in std::fs::read_to_string(corpus)?.lines() {
        let doc: serde_json::Value = serde_json::from_str(line)?;
        let text = doc["text"].as_str().unwrap_or_default().to_string();
        if text.bytes().filter(|b| b.is_ascii()).count() * 2 > text.len() {
            english.push(text);
        } else {
            chinese.push(text);
        }
    }
    for (name, docs) in [("English", &english), ("Chinese", &chinese)] {
        measure(&policy, name, docs);
    }
    Ok(())
}

fn measure(policy: &Policy, name: &str, docs: &[String]) {
    let bytes: usize = docs.iter().map(String::len).sum();
    let mb = bytes as f64 / 1e6;
    let normalized: Vec<String> = docs
        .iter()
        .map(|d| policy.normalizer().normalize_text(d))
        .collect();
    let best = |f: &dyn Fn() -> usize| {
        (0..5)
            .map(|_| {
                let start = Instant::now();
                let n = f();
                (start.elapsed().as_secs_f64(), n)
            })
            .fold((f64::MAX, 0), |a, b| if b.0 < a.0 { b } else { a })
    };
    let (normalize, _) = best(&|| {
        docs.iter()
            .map(|d| policy.normalizer().normalize_text(d).len())
            .sum()
    });
    let (find, hits) = best(&|| {
        normalized
            .iter()
            .map(|d| policy.keywords().find(d).len())
            .sum()
    });
    let (view, _) = best(&|| {
        normalized
            .iter()
            .map(|d| policy.keywords().view_len(d))
            .sum()
    });
    // The whole of a screen's text check, from the original text.
    let (scan, flagged) = best(&|| {
        docs.iter()
            .filter(|d| !policy.scan_fast(d).is_empty())
            .count()
    });
    println!(
        "{name}: {} documents, {mb:.1} MB; normalize {:.0} MB/s, find {:.0} MB/s ({hits} hits), \
         view {:.0} MB/s; scan_fast {:.0} MB/s ({flagged} documents flagged)",
        docs.len(),
        mb / normalize,
        mb / find,
        mb / view,
        mb / scan
    );
}
