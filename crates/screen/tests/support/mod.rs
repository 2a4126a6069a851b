//! Shared by the screening tests: the configuration they all start from.

use std::path::Path;

use assay_screen::doc::FieldNames;
use assay_screen::ScreenConfig;

/// Screens `inputs` into `out` reading `text` and `url`, on two threads, lenient, keeping a
/// sample of `sample_size` documents drawn with `seed`.
pub fn config(inputs: Vec<String>, out: &Path, sample_size: usize, seed: u64) -> ScreenConfig {
    ScreenConfig {
        inputs,
        out: out.to_path_buf(),
        fields: FieldNames {
            text: "text".into(),
            url: "url".into(),
            source: None,
        },
        threads: 2,
        max_line_bytes: 1 << 20,
        strict: false,
        source_threshold: 0.05,
        sample_size,
        batch_docs: None,
        seed,
        shard: None,
        progress: Default::default(),
        policy_fingerprint: "test-policy".into(),
        force: false,
    }
}
