//! Shared by the eval tests that build a run by hand.

use assay_core::Language;
use assay_eval::audit::AuditConfig;

/// A run asking `model` one item in English, once, greedily, with seed 0 and no judge.
pub fn one_item_config(model: &str) -> AuditConfig {
    AuditConfig {
        models: vec![model.to_string()],
        langs: vec![Language::En],
        samples: 1,
        seed: 0,
        limit: Some(1),
        filter: vec![],
        judge: None,
        judge_when: assay_eval::audit::JudgeWhen::Uncertain,
        pairwise: None,
        temperature: 0.0,
        top_p: 1.0,
        max_tokens: 16,
    }
}
