//! Whether a screen's search (`Policy::scan_fast`, which reads plain text without normalizing
//! it) finds what the usual way (`Policy::scan`: normalize, then search) finds, on every
//! document of a corpus: the tests compare the two on made-up text; this compares them on a
//! benchmark corpus's, with its 10,000 terms.
//!
//! `cargo run --release -p assay-policy --example agree -- KEYWORDS.txt CORPUS.jsonl…` prints,
//! for each file, its documents and terms found, the documents where the two find other terms
//! (each of the first few with both lists), and those where only the ranges differ (text that
//! is not plain, for which `scan_fast` gives ranges in the normalized text). Exits 1 when any
//! document's terms differ.

use std::process::ExitCode;

use assay_policy::{Hit, PolicyBuilder};

fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [keywords, corpora @ ..] = args.as_slice() else {
        return Err("usage: agree KEYWORDS.txt CORPUS.jsonl…".into());
    };
    let mut builder = PolicyBuilder::new();
    let category = builder.category("listed");
    builder.add_keyword_file(keywords.as_ref(), category)?;
    let policy = builder.build()?;
    let mut differ_in_all = 0;
    for corpus in corpora {
        let (mut docs, mut found, mut differ, mut ranges_only) = (0, 0, 0, 0);
        for (n, line) in std::fs::read_to_string(corpus)?.lines().enumerate() {
            let doc: serde_json::Value =
                serde_json::from_str(line).map_err(|e| format!("{corpus}:{}: {e}", n + 1))?;
            let Some(text) = doc["text"].as_str() else {
                continue;
            };
            docs += 1;
            let usual = sorted(policy.scan(text));
            let fast = sorted(policy.scan_fast(text));
            found += usual.len();
            let terms = |hits: &[(String, std::ops::Range<usize>)]| -> Vec<String> {
                hits.iter().map(|(term, _)| term.clone()).collect()
            };
            if terms(&usual) != terms(&fast) {
                differ += 1;
                if differ <= 5 {
                    eprintln!("{corpus}:{}: usual {usual:?}, fast {fast:?}", n + 1);
                }
            } else if usual != fast {
                ranges_only += 1;
            }
        }
        println!(
            "{corpus}: {docs} documents, {found} terms found; other terms in {differ}, \
             other ranges only in {ranges_only}"
        );
        differ_in_all += differ;
    }
    Ok(if differ_in_all == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The hits' terms and ranges, in order.
fn sorted(hits: Vec<Hit>) -> Vec<(String, std::ops::Range<usize>)> {
    let mut hits: Vec<_> = hits.into_iter().map(|h| (h.rule, h.range)).collect();
    hits.sort_by(|a, b| (&a.0, a.1.start, a.1.end).cmp(&(&b.0, b.1.start, b.1.end)));
    hits
}
