//! Which prompts of an assay suite the built-in example pack flags, per language: how the
//! false positives of a normalization change are counted on the over-refusal suite.
//!
//! `cargo run --release -p assay-policy --example flagged -- suites/over-refusal/items.jsonl
//! [OPTION=BOOL…]` prints one line per flagged prompt (`lang id rule…`) and a count per
//! language. The options replace the pack's `[normalize]` settings (`leetspeak=true`, …).

use assay_policy::{Policy, PolicyBuilder};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [items, settings @ ..] = args.as_slice() else {
        return Err("usage: flagged ITEMS.jsonl [OPTION=BOOL…]".into());
    };
    let mut builder = PolicyBuilder::new();
    builder.add_builtin_pack("example")?;
    if !settings.is_empty() {
        builder.set_normalize(toml::from_str(&settings.join("\n"))?);
    }
    let policy: Policy = builder.build()?;
    let (mut prompts, mut flagged) = ([0usize; 2], [0usize; 2]);
    for line in std::fs::read_to_string(items)?.lines() {
        let item: serde_json::Value = serde_json::from_str(line)?;
        for (k, lang) in ["en", "zh"].iter().enumerate() {
            let Some(prompt) = item["prompt"][lang].as_str() else {
                continue;
            };
            prompts[k] += 1;
            let hits = policy.scan(prompt);
            if !hits.is_empty() {
                flagged[k] += 1;
                let rules: Vec<String> = hits
                    .iter()
                    .map(|h| format!("{:?}={:?}", h.rule, &prompt[h.range.clone()]))
                    .collect();
                println!(
                    "{lang} {} {}",
                    item["id"].as_str().unwrap_or("?"),
                    rules.join(" ")
                );
            }
        }
    }
    println!(
        "flagged: en {}/{}, zh {}/{}",
        flagged[0], prompts[0], flagged[1], prompts[1]
    );
    Ok(())
}
