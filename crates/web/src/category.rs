//! Leaderboard categories, decided locally from a vote's conversation (no model is asked):
//! coding prompts, multi-turn battles, and long queries, after the LMSYS categories of the same
//! names. A vote may be in several or in none.

use assay_store::VoteRecord;
use serde_json::Value;

/// (id used in URLs and JSON, label shown on the tab).
pub const CATEGORIES: [(&str, &str); 3] = [
    ("coding", "Coding"),
    ("multi-turn", "Multi-turn"),
    ("long-query", "Long query"),
];

/// A prompt of at least this many (estimated) tokens is a long query, as LMSYS counts them.
const LONG_QUERY_TOKENS: u64 = 500;

/// Words that mark a programming question, matched as whole words (case-insensitive).
const CODE_WORDS: [&str; 25] = [
    "code",
    "coding",
    "python",
    "javascript",
    "typescript",
    "java",
    "rust",
    "golang",
    "c++",
    "c#",
    "sql",
    "regex",
    "bash",
    "html",
    "css",
    "json",
    "api",
    "compile",
    "compiler",
    "debug",
    "algorithm",
    "programming",
    "stack trace",
    "segfault",
    "npm",
];
/// Chinese markers, matched as substrings (Chinese has no word spaces).
const CODE_WORDS_ZH: [&str; 9] = [
    "代码", "编程", "函数", "算法", "程序", "脚本", "编译", "调试", "正则",
];
/// Fragments that only code has.
const CODE_MARKS: [&str; 8] = [
    "```",
    "def ",
    "#include",
    "console.log",
    "println!",
    "=>",
    "();",
    "</",
];

/// The categories (ids of [`CATEGORIES`]) a vote belongs to.
pub fn categories_of(vote: &VoteRecord) -> Vec<&'static str> {
    let prompts = user_prompts(&vote.conversation_a);
    let mut out = Vec::new();
    if prompts.iter().any(|p| is_coding(p)) {
        out.push("coding");
    }
    if vote.turns >= 2 || prompts.len() >= 2 {
        out.push("multi-turn");
    }
    if prompts
        .iter()
        .map(|p| assay_core::estimate_tokens(p))
        .sum::<u64>()
        >= LONG_QUERY_TOKENS
    {
        out.push("long-query");
    }
    out
}

/// The label of a category id, if it is one.
pub fn label(id: &str) -> Option<&'static str> {
    CATEGORIES
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(id))
        .map(|(_, l)| *l)
}

fn user_prompts(conversation: &Value) -> Vec<&str> {
    conversation
        .as_array()
        .map(|messages| {
            messages
                .iter()
                .filter(|m| m.get("role").and_then(Value::as_str) == Some("user"))
                .filter_map(|m| m.get("content").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

fn is_coding(prompt: &str) -> bool {
    if CODE_MARKS.iter().any(|m| prompt.contains(m))
        || CODE_WORDS_ZH.iter().any(|w| prompt.contains(w))
    {
        return true;
    }
    let lower = prompt.to_lowercase();
    CODE_WORDS.iter().any(|w| contains_word(&lower, w))
}

/// Whether `word` occurs in `text` with no letter or digit right before or after it.
fn contains_word(text: &str, word: &str) -> bool {
    let is_word_char = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vote(prompts: &[&str]) -> VoteRecord {
        let mut conversation = Vec::new();
        for p in prompts {
            conversation.push(json!({"role": "user", "content": p}));
            conversation.push(json!({"role": "assistant", "content": "ok"}));
        }
        VoteRecord {
            battle_id: "b".into(),
            created_at: "2026-11-28T10:00:00.000Z".into(),
            battle_started_at: "2026-11-28T10:00:00.000Z".into(),
            model_a: "a".into(),
            model_b: "b".into(),
            winner: "tie".into(),
            conversation_a: Value::Array(conversation.clone()),
            conversation_b: Value::Array(conversation),
            language: "English".into(),
            voter_id: "v".into(),
            ip_hash: "h".into(),
            identity_leak: false,
            turns: prompts.len() as u32,
            metadata: json!({}),
        }
    }

    #[test]
    fn coding_prompts() {
        for p in [
            "Write a Python function that reverses a list",
            "Why does my C++ program segfault?",
            "```\nlet x = 1;\n```\nwhat is wrong?",
            "用 Rust 写一个快速排序",
            "这段代码有什么问题？",
            "Explain this regex: ^a+$",
        ] {
            assert_eq!(categories_of(&vote(&[p])), ["coding"], "{p}");
        }
        for p in [
            "What is the capital of France?",
            "I trust my barcode scanner", // "rust" and "code" inside words
            "Tell me about the history of Tibet",
            "天安门广场在哪里？",
        ] {
            assert!(categories_of(&vote(&[p])).is_empty(), "{p}");
        }
    }

    #[test]
    fn multi_turn_and_long_queries() {
        assert_eq!(categories_of(&vote(&["hi", "and then?"])), ["multi-turn"]);
        let long = "word ".repeat(450); // 2,250 bytes ≈ 563 tokens
        assert_eq!(categories_of(&vote(&[&long])), ["long-query"]);
        assert!(categories_of(&vote(&[&"word ".repeat(300)])).is_empty());
        assert_eq!(label("coding"), Some("Coding"));
        assert_eq!(label("poetry"), None);
    }
}
