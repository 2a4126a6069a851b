//! The local engine's prompt path (chat template, then tokenize) with SmolLM2's real vocabulary:
//! it must never panic, message content must never become a control token whatever it holds,
//! and content without special-token text must tokenize exactly as llama.cpp tokenizes the
//! rendered prompt with special parsing on.
//!
//! Input layout: messages separated by 0x1E; a message's first byte picks its role (system,
//! user, assistant), the rest is its content (lossy UTF-8). Run with
//! `cargo +nightly fuzz run tokenize -- -dict=dict/tokenize.dict`; needs the SmolLM2 GGUF in
//! the model cache (`assay models fetch smollm2`).

#![no_main]

use std::sync::OnceLock;

use assay_core::{Message, Role};
use assay_models::local::catalogue;
use assay_models::local::PromptTokenizer;
use libfuzzer_sys::fuzz_target;

/// Bytes that make a content able to hold (part of) a special token or the engine's placeholder.
fn may_hold_special(content: &str) -> bool {
    content.contains('<') || content.contains('\u{F0000}')
}

fn tokenizer() -> &'static PromptTokenizer {
    static TOKENIZER: OnceLock<PromptTokenizer> = OnceLock::new();
    TOKENIZER.get_or_init(|| {
        let entry = catalogue::entry("smollm2").expect("smollm2 is in the catalogue");
        let path = catalogue::model_path(&catalogue::assay_home(), entry);
        PromptTokenizer::load_vocab_only(&path).unwrap_or_else(|e| {
            panic!("{}: {e} (run `assay models fetch smollm2`)", path.display())
        })
    })
}

fn controls(tokenizer: &PromptTokenizer, tokens: &[i32]) -> Vec<i32> {
    tokens
        .iter()
        .copied()
        .filter(|&t| tokenizer.is_control(t))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let tokenizer = tokenizer();
    let messages: Vec<Message> = data
        .split(|&b| b == 0x1e)
        .take(64)
        .map(|part| {
            let (role, content) = part.split_first().map_or((0, &[][..]), |(r, c)| (*r, c));
            let role = match role % 3 {
                0 => Role::System,
                1 => Role::User,
                _ => Role::Assistant,
            };
            Message {
                role,
                content: String::from_utf8_lossy(content).into_owned(),
            }
        })
        .collect();
    let Ok(tokens) = tokenizer.tokenize(&messages) else {
        return;
    };
    // SmolLM2's template writes its control tokens from the roles alone, so the same roles with
    // harmless content give exactly the control tokens the prompt may have.
    let skeleton: Vec<Message> = messages
        .iter()
        .map(|m| Message {
            role: m.role,
            content: "x".into(),
        })
        .collect();
    let expected = tokenizer.tokenize(&skeleton).expect("the skeleton renders");
    assert_eq!(
        controls(tokenizer, &tokens),
        controls(tokenizer, &expected),
        "content became control tokens: {messages:?}"
    );
    if !messages.iter().any(|m| may_hold_special(&m.content)) {
        let old = tokenizer
            .tokenize_rendered_with_special_parsing(&messages)
            .expect("renders as before");
        assert_eq!(tokens, old, "{messages:?}");
    }
});
