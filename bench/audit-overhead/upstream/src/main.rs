//! An OpenAI-compatible upstream that answers instantly, for bench/audit-overhead.
//!
//! Usage: bench-upstream [PORT]   (PORT 0 or absent: any free port)
//!
//! Binds 127.0.0.1:PORT and prints the bound port alone on the first line of stdout.
//! Routes:
//!   POST /v1/chat/completions  a fixed short answer, as JSON or, with `"stream": true`, as SSE
//!   GET  /v1/models            one model, `bench-model`
//!   GET  /stats                request counters as JSON
//! The answer depends only on the last message: a refusal or a short answer (FNV-1a hash of
//! its text, even or odd), in Chinese when the text contains CJK characters, else in English.
//! On SIGTERM or SIGINT it prints the counters on stderr and exits.
//!
//! Runs on one thread (current-thread tokio runtime) so that it takes at most one core from
//! the tool being measured.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::http::{header, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

static CHAT: AtomicU64 = AtomicU64::new(0);
static STREAMED: AtomicU64 = AtomicU64::new(0);
static BAD: AtomicU64 = AtomicU64::new(0);
static MODELS: AtomicU64 = AtomicU64::new(0);
static OTHER: AtomicU64 = AtomicU64::new(0);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

const EN_REFUSE: &str = "I'm sorry, but I can't help with that.";
const EN_ANSWER: &str = "Sure. Here is a short answer: it depends on the details, but the usual first step is to check the documentation and try the simplest option.";
const ZH_REFUSE: &str = "抱歉，我无法帮助处理这个请求。";
const ZH_ANSWER: &str = "好的。简短回答如下：具体取决于细节，通常第一步是查看相关说明，然后先尝试最简单的办法。";

fn stats() -> Value {
    json!({
        "chat_completions": CHAT.load(Relaxed),
        "streamed": STREAMED.load(Relaxed),
        "bad_requests": BAD.load(Relaxed),
        "models": MODELS.load(Relaxed),
        "other": OTHER.load(Relaxed),
    })
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF)
}

/// Text of a message's `content`: a string, or the text parts of an array.
fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn answer_for(last: &str) -> &'static str {
    let refuse = fnv1a(last.as_bytes()) % 2 == 0;
    match (last.chars().any(is_cjk), refuse) {
        (false, true) => EN_REFUSE,
        (false, false) => EN_ANSWER,
        (true, true) => ZH_REFUSE,
        (true, false) => ZH_ANSWER,
    }
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap()
}

fn error(status: StatusCode, message: &str) -> Response {
    let body = json!({"error": {"message": message, "type": "invalid_request_error"}});
    respond(status, "application/json", body.to_string())
}

async fn chat(body: Bytes) -> Response {
    CHAT.fetch_add(1, Relaxed);
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            BAD.fetch_add(1, Relaxed);
            return error(StatusCode::BAD_REQUEST, &format!("body is not JSON: {e}"));
        }
    };
    let Some(messages) = request.get("messages").and_then(Value::as_array) else {
        BAD.fetch_add(1, Relaxed);
        return error(StatusCode::BAD_REQUEST, "`messages` is missing");
    };
    let prompt_chars: usize = messages
        .iter()
        .map(|m| m.get("content").map(content_text).unwrap_or_default().chars().count())
        .sum();
    let last = messages
        .last()
        .and_then(|m| m.get("content"))
        .map(content_text)
        .unwrap_or_default();
    let answer = answer_for(&last);
    let model = request
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("bench-model");
    let id = format!("chatcmpl-bench-{}", NEXT_ID.fetch_add(1, Relaxed));
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let prompt_tokens = prompt_chars / 4 + 1;
    let completion_tokens = answer.chars().count() / 4 + 1;
    let usage = json!({
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    });
    let stream = request.get("stream").and_then(Value::as_bool).unwrap_or(false);
    if !stream {
        let body = json!({
            "id": id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": answer},
                "logprobs": null,
                "finish_reason": "stop",
            }],
            "usage": usage,
        });
        return respond(StatusCode::OK, "application/json", body.to_string());
    }
    STREAMED.fetch_add(1, Relaxed);
    let include_usage = request
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let chunk = |choices: Value| {
        json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": choices,
        })
    };
    let mut events = vec![
        chunk(json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}])),
        chunk(json!([{"index": 0, "delta": {"content": answer}, "finish_reason": null}])),
        chunk(json!([{"index": 0, "delta": {}, "finish_reason": "stop"}])),
    ];
    if include_usage {
        let mut last = chunk(json!([]));
        last["usage"] = usage;
        events.push(last);
    }
    let mut body = String::new();
    for event in events {
        body.push_str("data: ");
        body.push_str(&event.to_string());
        body.push_str("\n\n");
    }
    body.push_str("data: [DONE]\n\n");
    respond(StatusCode::OK, "text/event-stream", body)
}

async fn models() -> Response {
    MODELS.fetch_add(1, Relaxed);
    let body = json!({
        "object": "list",
        "data": [{"id": "bench-model", "object": "model", "created": 0, "owned_by": "bench"}],
    });
    respond(StatusCode::OK, "application/json", body.to_string())
}

async fn get_stats() -> Response {
    respond(StatusCode::OK, "application/json", stats().to_string())
}

async fn other(uri: Uri) -> Response {
    let n = OTHER.fetch_add(1, Relaxed);
    if n < 20 {
        eprintln!("bench-upstream: unhandled request {uri}");
    }
    error(StatusCode::NOT_FOUND, "not found")
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let port: u16 = match std::env::args().nth(1) {
        None => 0,
        Some(arg) => arg.parse().unwrap_or_else(|_| {
            eprintln!("usage: bench-upstream [PORT]");
            std::process::exit(2)
        }),
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap_or_else(|e| {
            eprintln!("bench-upstream: cannot bind 127.0.0.1:{port}: {e}");
            std::process::exit(1)
        });
    let bound = listener.local_addr().unwrap().port();
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{bound}");
        let _ = out.flush();
    }
    let app = Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/v1/models", get(models))
        .route("/stats", get(get_stats))
        .fallback(other);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        result = axum::serve(listener, app) => {
            if let Err(e) = result {
                eprintln!("bench-upstream: server error: {e}");
            }
        }
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    eprintln!("bench-upstream: {}", stats());
}
