//! A streaming load generator for bench/guard: C concurrent streams, R requests in all, each
//! answer read chunk by chunk. Per chunk it measures the time from the upstream's send stamp
//! (`ts<ns>` at the start of the chunk's text) to its arrival here; per request, the time to
//! the first text. Prints one JSON object.
//!
//! Usage: stream-load URL MODEL STREAMS REQUESTS CHUNKS [API_KEY]

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use serde_json::{json, Value};

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

#[derive(Default)]
struct Samples {
    chunk_ms: Vec<f64>,
    ttft_ms: Vec<f64>,
    chunks: u64,
    completed: u64,
    errors: u64,
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * (values.len() - 1) as f64).round() as usize;
    values[rank.min(values.len() - 1)]
}

async fn one(
    client: &reqwest::Client,
    url: &str,
    model: &str,
    key: &str,
    chunks: u64,
    s: &mut Samples,
) {
    let started = Instant::now();
    let response = client
        .post(format!("{url}/chat/completions"))
        .bearer_auth(key)
        .json(
            &json!({"model": model, "stream": true, "max_tokens": chunks,
                      "messages": [{"role": "user", "content": "Tell me a long story."}]}),
        )
        .send()
        .await;
    let Ok(response) = response else {
        s.errors += 1;
        return;
    };
    if !response.status().is_success() {
        s.errors += 1;
        return;
    }
    let mut body = response.bytes_stream();
    let mut buffer = Vec::new();
    let mut first = true;
    let mut done = false;
    while let Some(Ok(bytes)) = body.next().await {
        let arrived = now_nanos();
        buffer.extend_from_slice(&bytes);
        while let Some(end) = buffer.windows(2).position(|w| w == b"\n\n") {
            let event: Vec<u8> = buffer.drain(..end + 2).collect();
            let text = String::from_utf8_lossy(&event);
            let Some(data) = text.trim().strip_prefix("data:") else {
                continue;
            };
            let data = data.trim();
            if data == "[DONE]" {
                done = true;
                continue;
            }
            let Ok(chunk) = serde_json::from_str::<Value>(data) else {
                continue;
            };
            let Some(content) = chunk["choices"][0]["delta"]["content"].as_str() else {
                continue;
            };
            // One delta may carry several stamped pieces when a proxy merges chunks.
            for piece in content.split("ts").skip(1) {
                let digits: String = piece.chars().take_while(char::is_ascii_digit).collect();
                if let Ok(sent) = digits.parse::<u128>() {
                    if first {
                        s.ttft_ms.push(started.elapsed().as_secs_f64() * 1000.0);
                        first = false;
                    }
                    s.chunk_ms.push(arrived.saturating_sub(sent) as f64 / 1e6);
                    s.chunks += 1;
                }
            }
        }
    }
    if done {
        s.completed += 1;
    } else {
        s.errors += 1;
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = args
        .first()
        .cloned()
        .unwrap_or_else(|| "http://127.0.0.1:8080/v1".into());
    let model = args.get(1).cloned().unwrap_or_else(|| "bench".into());
    let streams: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1);
    let requests: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(streams);
    let chunks: u64 = args.get(4).and_then(|a| a.parse().ok()).unwrap_or(100);
    let key = args.get(5).cloned().unwrap_or_else(|| "none".into());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(streams)
        .build()
        .expect("client");
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..streams {
        let (client, url, model, key, next) = (
            client.clone(),
            url.clone(),
            model.clone(),
            key.clone(),
            next.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut s = Samples::default();
            while next.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < requests {
                one(&client, &url, &model, &key, chunks, &mut s).await;
            }
            s
        }));
    }
    let mut all = Samples::default();
    for w in workers {
        if let Ok(s) = w.await {
            all.chunk_ms.extend(s.chunk_ms);
            all.ttft_ms.extend(s.ttft_ms);
            all.chunks += s.chunks;
            all.completed += s.completed;
            all.errors += s.errors;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({
            "url": url, "streams": streams, "requests": requests, "seconds": seconds,
            "completed": all.completed, "errors": all.errors, "chunks": all.chunks,
            "requests_per_s": all.completed as f64 / seconds,
            "chunks_per_s": all.chunks as f64 / seconds,
            "ttft_p50_ms": percentile(&mut all.ttft_ms, 50.0),
            "ttft_p99_ms": percentile(&mut all.ttft_ms, 99.0),
            "chunk_p50_ms": percentile(&mut all.chunk_ms, 50.0),
            "chunk_p99_ms": percentile(&mut all.chunk_ms, 99.0),
        })
    );
}
