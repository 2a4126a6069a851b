//! An answer cut by the token limit inside a character ends before that character, not with a
//! "�": SmolLM2's byte-level tokens split most Chinese characters over two or three tokens, so
//! a limit often falls inside one. The embedded SmolLM2 behind a real `assay serve`.

mod common;

use common::Server;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread")]
async fn a_token_limit_inside_a_character_drops_it_instead_of_showing_a_replacement() {
    // Waits for the server's first line: a moment, and no other task runs on this test.
    let server = Server::start(&["--slots", "1"]);
    let http = reqwest::Client::new();
    let ask = |max_tokens: u32| {
        let request = http
            .post(format!("{}/v1/chat/completions", server.base))
            .json(&json!({
                "model": "smollm2",
                "messages": [{"role": "user",
                              "content": "Repeat exactly: 今天天气很好，我们去公园散步吧。"}],
                "temperature": 0,
                "max_tokens": max_tokens,
            }));
        async move {
            let reply: Value = request.send().await.unwrap().json().await.unwrap();
            let choice = &reply["choices"][0];
            (
                choice["message"]["content"].as_str().unwrap().to_string(),
                choice["finish_reason"].as_str().unwrap().to_string(),
            )
        }
    };
    let mut cut_inside_a_character = 0;
    let mut previous = String::new();
    for max_tokens in 1..=24 {
        let (text, finish) = ask(max_tokens).await;
        assert!(!text.contains('\u{FFFD}'), "{max_tokens} tokens: {text:?}");
        if finish != "length" {
            break;
        }
        // Greedy: each answer is the one before and what one more token added. A token that
        // adds nothing ended inside a character (the next one completes it).
        assert!(text.starts_with(&previous), "{previous:?} then {text:?}");
        if max_tokens > 1 && text == previous {
            cut_inside_a_character += 1;
        }
        previous = text;
    }
    assert!(
        cut_inside_a_character > 0,
        "no limit fell inside a character, so this test showed nothing: {previous:?}"
    );
}
