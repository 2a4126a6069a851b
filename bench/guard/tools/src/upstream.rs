//! A streaming OpenAI-compatible upstream for bench/guard: every answer is CHUNKS content
//! chunks, INTERVAL_MS apart, each starting with its send time (`ts<nanoseconds since the
//! Unix epoch>`) so that a client can measure how long each chunk took to reach it.
//!
//! Usage: stream-upstream PORT CHUNKS INTERVAL_MS
//! (`max_tokens` in a request overrides CHUNKS). Prints the bound port on the first line.
//! A last user message `plant: TEXT` puts TEXT, split in two, into chunks 3 and 4: how the
//! benchmark checks that each proxy really scans answers.
//! Runs on one thread, so that it takes at most one core from what is measured.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

/// Words no term of the benchmark's policy contains (terms are random letter strings).
const WORDS: [&str; 8] = [
    "the", "answer", "goes", "on", "with", "plain", "words", "here",
];

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

fn sse(value: &Value) -> Bytes {
    Bytes::from(format!("data: {value}\n\n"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port: u16 = args.first().and_then(|a| a.parse().ok()).unwrap_or(0);
    let chunks: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100);
    let interval = Duration::from_millis(args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10));
    let app = Router::new().route(
        "/v1/chat/completions",
        post(move |body: Bytes| async move {
            let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let n = request["max_tokens"]
                .as_u64()
                .map_or(chunks, |n| n as usize);
            let model = request["model"].as_str().unwrap_or("bench").to_string();
            let last = request["messages"]
                .as_array()
                .and_then(|m| m.last())
                .and_then(|m| m["content"].as_str())
                .unwrap_or("");
            let plant: Vec<char> = last.strip_prefix("plant: ").unwrap_or("").chars().collect();
            let half = plant.len() / 2;
            let planted: [String; 2] = [
                plant[..half].iter().collect(),
                plant[half..].iter().collect(),
            ];
            let events = futures::stream::unfold(0usize, move |i| {
                let model = model.clone();
                let planted = planted.clone();
                async move {
                    let chunk = |delta: Value, finish: Value| {
                        json!({"id": "bench", "object": "chat.completion.chunk", "created": 0,
                               "model": model,
                               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
                    };
                    let bytes = if i == 0 {
                        sse(&chunk(
                            json!({"role": "assistant", "content": ""}),
                            Value::Null,
                        ))
                    } else if i <= n {
                        if !interval.is_zero() {
                            tokio::time::sleep(interval).await;
                        }
                        let words = WORDS[i % WORDS.len()];
                        let extra = match i {
                            3 => planted[0].as_str(),
                            4 => planted[1].as_str(),
                            _ => "",
                        };
                        let text = format!("ts{} {words} {extra}", now_nanos());
                        sse(&chunk(json!({"content": text}), Value::Null))
                    } else if i == n + 1 {
                        let mut last = chunk(json!({}), json!("stop"));
                        last["usage"] = json!({"prompt_tokens": 8, "completion_tokens": n,
                                               "total_tokens": n + 8});
                        sse(&last)
                    } else if i == n + 2 {
                        Bytes::from_static(b"data: [DONE]\n\n")
                    } else {
                        return None;
                    };
                    Some((Ok::<_, std::convert::Infallible>(bytes), i + 1))
                }
            });
            Response::builder()
                .header(header::CONTENT_TYPE, "text/event-stream")
                .body(Body::from_stream(events))
                .unwrap_or_default()
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind");
    println!("{}", listener.local_addr().expect("address").port());
    // Chunks go out at once, not behind Nagle's algorithm.
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .expect("serve");
}
