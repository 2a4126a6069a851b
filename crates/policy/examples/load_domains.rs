//! The fixed cost of a domain list: reading, normalizing and indexing one list file, timed
//! alone (best of 7 loads, each into a new policy).
//!
//! `cargo run --release -p assay-policy --example load_domains -- DOMAINS.txt`
//! (bench/screen/work/realistic/domains.txt, a million hosts, after bench/screen/run_mixed.sh).

use std::time::{Duration, Instant};

use assay_policy::PolicyBuilder;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(path) = std::env::args().nth(1) else {
        return Err("usage: load_domains DOMAINS.txt".into());
    };
    let mut best = Duration::MAX;
    for _ in 0..7 {
        let start = Instant::now();
        let mut builder = PolicyBuilder::new();
        let category = builder.category("listed");
        builder.add_domain_file(path.as_ref(), category)?;
        let policy = builder.build()?;
        best = best.min(start.elapsed());
        // Freeing it is not part of a load.
        drop(policy);
    }
    println!(
        "{path}: loaded in {:.1} ms (best of 7)",
        best.as_secs_f64() * 1e3
    );
    Ok(())
}
