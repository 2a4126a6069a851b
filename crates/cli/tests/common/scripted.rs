//! A scripted OpenAI-compatible upstream on 127.0.0.1: streams fixed chunks with a delay,
//! counts what it sent and notes when its client goes away.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::response::sse::{Event, Sse};
use axum::routing::post;
use axum::Router;
use serde_json::json;

/// What the scripted upstream sends, and what it saw.
pub struct Script {
    pub chunks: Vec<String>,
    /// End the body after this many chunks, without a finish chunk or `[DONE]` (a dying
    /// upstream).
    die_after: Option<usize>,
    delay: Duration,
    pub requests: AtomicUsize,
    pub sent: AtomicUsize,
    pub dropped: AtomicBool,
}

struct SentCounter(Arc<Script>);

impl Drop for SentCounter {
    fn drop(&mut self) {
        self.0.dropped.store(true, Ordering::SeqCst);
    }
}

/// Serves `script` on a free port; answers the base URL of its `/v1`.
pub async fn scripted_upstream(script: Arc<Script>) -> String {
    let app = Router::new().route(
        "/v1/chat/completions",
        post(move || {
            let script = Arc::clone(&script);
            async move {
                script.requests.fetch_add(1, Ordering::SeqCst);
                let counter = SentCounter(Arc::clone(&script));
                let total = script.chunks.len();
                let events = futures::stream::unfold(0usize, move |i| {
                    let script = Arc::clone(&counter.0);
                    async move {
                        if script.die_after == Some(i) {
                            return None;
                        }
                        if !script.delay.is_zero() {
                            tokio::time::sleep(script.delay).await;
                        }
                        let data = if i < total {
                            script.sent.fetch_add(1, Ordering::SeqCst);
                            json!({"id": "x", "object": "chat.completion.chunk", "created": 0,
                                   "model": "scripted",
                                   "choices": [{"index": 0, "delta": {"content": script.chunks[i]},
                                                "finish_reason": null}]})
                            .to_string()
                        } else if i == total {
                            json!({"id": "x", "object": "chat.completion.chunk", "created": 0,
                                   "model": "scripted",
                                   "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                            .to_string()
                        } else if i == total + 1 {
                            "[DONE]".to_string()
                        } else {
                            return None;
                        };
                        Some((
                            Ok::<_, std::convert::Infallible>(Event::default().data(data)),
                            i + 1,
                        ))
                    }
                });
                Sse::new(events)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/v1")
}

pub fn script(
    text: &str,
    chunk_chars: usize,
    delay_ms: u64,
    die_after: Option<usize>,
) -> Arc<Script> {
    let chars: Vec<char> = text.chars().collect();
    Arc::new(Script {
        chunks: chars
            .chunks(chunk_chars)
            .map(|c| c.iter().collect())
            .collect(),
        die_after,
        delay: Duration::from_millis(delay_ms),
        requests: AtomicUsize::new(0),
        sent: AtomicUsize::new(0),
        dropped: AtomicBool::new(false),
    })
}
