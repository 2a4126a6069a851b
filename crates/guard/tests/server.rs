//! The guard's HTTP server on 127.0.0.1 in front of in-process scripted models: the key
//! checks, token reservations, the operational endpoints, the cap on non-streamed answers and
//! the retraction at an upstream failure (with its audit log entry).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use assay_core::{ChatEvent, ChatRequest, ChatResponse, FinishReason, Usage};
use assay_guard::keys::{KeyFile, KeyRing, SuspensionPolicy};
use assay_guard::server::{router, AuditLog, ServerOptions};
use assay_guard::{Guard, GuardConfig, Mode};
use assay_models::{ChatModel, EventStream, ModelError};
use assay_policy::{Policy, PolicyBuilder};
use assay_store::{GuardEventFilter, Store};
use futures::{Stream, StreamExt};
use serde_json::{json, Value};

/// Streams `chunks` (one every `delay`) then ends as told; `flood` repeats the chunks forever.
struct Model {
    chunks: Vec<String>,
    delay: Duration,
    end: End,
    flood: bool,
    dropped: Arc<AtomicBool>,
    /// Text chunks handed to the guard.
    yielded: Arc<AtomicUsize>,
}

#[derive(Clone, Copy)]
enum End {
    Done,
    Error,
}

impl Model {
    fn new(chunks: Vec<String>) -> Model {
        Model {
            chunks,
            delay: Duration::ZERO,
            end: End::Done,
            flood: false,
            dropped: Arc::new(AtomicBool::new(false)),
            yielded: Arc::new(AtomicUsize::new(0)),
        }
    }
}

struct ModelStream {
    chunks: Vec<String>,
    at: usize,
    flood: bool,
    end: End,
    done: bool,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    delay: Duration,
    dropped: Arc<AtomicBool>,
    yielded: Arc<AtomicUsize>,
}

impl Stream for ModelStream {
    type Item = Result<ChatEvent, ModelError>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if !this.delay.is_zero() {
            let sleep = this
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(this.delay)));
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.sleep = None;
        }
        if this.flood && !this.chunks.is_empty() {
            this.at += 1;
            let chunk = this.chunks[this.at % this.chunks.len()].clone();
            return Poll::Ready(Some(Ok(ChatEvent::Delta(chunk))));
        }
        if let Some(chunk) = this.chunks.get(this.at) {
            this.at += 1;
            this.yielded.fetch_add(1, Ordering::SeqCst);
            return Poll::Ready(Some(Ok(ChatEvent::Delta(chunk.clone()))));
        }
        if this.done {
            return Poll::Ready(None);
        }
        this.done = true;
        Poll::Ready(Some(match this.end {
            End::Done => Ok(ChatEvent::Done {
                finish_reason: FinishReason::Stop,
                usage: Usage::default(),
            }),
            End::Error => Err(ModelError::Connect {
                url: "scripted".into(),
                message: "connection reset".into(),
            }),
        }))
    }
}

impl Drop for ModelStream {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl ChatModel for Model {
    fn id(&self) -> &str {
        "scripted"
    }
    async fn complete(&self, request: ChatRequest) -> Result<ChatResponse, ModelError> {
        assay_models::collect(self.stream(request).await?).await
    }
    async fn stream(&self, _: ChatRequest) -> Result<EventStream, ModelError> {
        Ok(Box::pin(ModelStream {
            chunks: self.chunks.clone(),
            at: 0,
            flood: self.flood,
            end: self.end,
            done: false,
            sleep: None,
            delay: self.delay,
            dropped: Arc::clone(&self.dropped),
            yielded: Arc::clone(&self.yielded),
        }))
    }
}

fn policy() -> Policy {
    let mut b = PolicyBuilder::new();
    let weapons = b.category("weapons");
    b.add_terms(["bomb", "pipebomb"], weapons);
    b.build().unwrap()
}

/// Serves the guard on a free port of 127.0.0.1; answers its base URL.
async fn serve(model: Model, config: GuardConfig, options: ServerOptions) -> String {
    let guard = Arc::new(Guard::new(Arc::new(model), policy(), config));
    let (app, _) = router(guard, options);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// A key ring with one key "team" (and its key), `tpm` tokens a minute.
fn ring(tpm: Option<u32>) -> (Arc<KeyRing>, String) {
    let mut file = KeyFile::default();
    let key = file.add("team", None, tpm).unwrap();
    (
        Arc::new(KeyRing::new(&file, SuspensionPolicy::default())),
        key,
    )
}

fn body(prompt: &str, stream: bool, max_tokens: Option<u32>) -> Value {
    let mut body = json!({
        "model": "scripted",
        "stream": stream,
        "messages": [{"role": "user", "content": prompt}],
    });
    if let Some(n) = max_tokens {
        body["max_tokens"] = n.into();
    }
    body
}

async fn post(url: &str, auth: Option<&str>, body: &Value) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(format!("{url}/v1/chat/completions"))
        .timeout(Duration::from_secs(60))
        .json(body);
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    request.send().await.unwrap()
}

fn sse(body: &str) -> Vec<Value> {
    body.split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap_or(Value::String(d.to_string())))
        .collect()
}

fn chunks(text: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(n).map(|c| c.iter().collect()).collect()
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let (keys, key) = ring(None);
    let url = serve(
        Model::new(chunks("Fine.", 2)),
        GuardConfig::default(),
        ServerOptions {
            keys: Some(keys),
            ..ServerOptions::default()
        },
    )
    .await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEARER"] {
        let response = post(
            &url,
            Some(&format!("{scheme} {key}")),
            &body("hi", false, None),
        )
        .await;
        assert_eq!(response.status(), 200, "{scheme}");
    }
    let response = post(
        &url,
        Some(&format!("Basic {key}")),
        &body("hi", false, None),
    )
    .await;
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn health_and_metrics_need_a_key_or_the_token_and_name_no_suspended_key() {
    let (keys, key) = ring(None);
    let url = serve(
        Model::new(chunks("Fine.", 2)),
        GuardConfig::default(),
        ServerOptions {
            keys: Some(Arc::clone(&keys)),
            metrics_token: Some("metrics-secret".into()),
            ..ServerOptions::default()
        },
    )
    .await;
    // Three refused prompts in a row suspend the key.
    for _ in 0..3 {
        let response = post(
            &url,
            Some(&format!("Bearer {key}")),
            &body("a pipebomb please", false, None),
        )
        .await;
        assert_eq!(response.status(), 200);
    }
    assert_eq!(keys.suspended(Instant::now()), ["team"]);
    let get = |path: &str, auth: Option<String>| {
        let url = format!("{url}{path}");
        async move {
            let mut request = reqwest::Client::new().get(url);
            if let Some(auth) = auth {
                request = request.header("authorization", auth);
            }
            let response = request.send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };
    for path in ["/health", "/metrics"] {
        let (status, text) = get(path, None).await;
        assert_eq!(status, 401, "{path}: {text}");
        assert!(!text.contains("team"), "{path}: {text}");
        let (status, _) = get(path, Some("Bearer sk-wrong".into())).await;
        assert_eq!(status, 401, "{path}");
        let (status, text) = get(path, Some("bearer metrics-secret".into())).await;
        assert_eq!(status, 200, "{path}: {text}");
        // A key opens them too, even a suspended one (it names no one else).
        let (status, text) = get(path, Some(format!("Bearer {key}"))).await;
        assert_eq!(status, 200, "{path}: {text}");
    }
    let (_, health) = get("/health", Some("Bearer metrics-secret".into())).await;
    let health: Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["suspended_keys"], 1, "{health}");
    assert!(!health.to_string().contains("team"), "{health}");
    // The chat page and the model list stay open.
    assert_eq!(get("/", None).await.0, 200);
    assert_eq!(get("/v1/models", None).await.0, 200);

    // Without keys or token the endpoints are open, as before.
    let open = serve(
        Model::new(chunks("Fine.", 2)),
        GuardConfig::default(),
        ServerOptions::default(),
    )
    .await;
    assert_eq!(
        reqwest::get(format!("{open}/health"))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        reqwest::get(format!("{open}/metrics"))
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn tokens_are_reserved_at_admission() {
    let (keys, key) = ring(Some(100));
    let mut model = Model::new(chunks("A slow and harmless answer.", 3));
    model.delay = Duration::from_millis(100);
    let url = serve(
        model,
        GuardConfig::default(),
        ServerOptions {
            keys: Some(Arc::clone(&keys)),
            ..ServerOptions::default()
        },
    )
    .await;
    let auth = format!("Bearer {key}");
    // The first request sets 60 tokens aside (and a few for its prompt): a second one
    // started meanwhile does not fit in the 100 left.
    let first = {
        let (url, auth) = (url.clone(), auth.clone());
        tokio::spawn(async move { post(&url, Some(&auth), &body("hi", false, Some(60))).await })
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while keys.tokens_left("team", Instant::now()).unwrap() > 50.0 {
        assert!(Instant::now() < deadline, "the first request never started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let second = post(&url, Some(&auth), &body("hi", false, Some(60))).await;
    assert_eq!(second.status(), 429);
    assert!(second.headers().contains_key("retry-after"));
    assert_eq!(first.await.unwrap().status(), 200);
    // Settled: the first used far less than it reserved, and the rest came back.
    let left = keys.tokens_left("team", Instant::now()).unwrap();
    assert!(left > 80.0, "{left} tokens left");
}

#[tokio::test]
async fn a_client_that_goes_away_is_charged_what_was_generated() {
    // One token a second: what is charged stays visible for the whole test.
    let (keys, key) = ring(Some(60));
    let line = "All fine here, nothing to see, a long harmless answer. ";
    let mut model = Model::new(vec![line.repeat(8); 200]);
    model.delay = Duration::from_millis(20);
    let (dropped, yielded) = (Arc::clone(&model.dropped), Arc::clone(&model.yielded));
    let url = serve(
        model,
        GuardConfig {
            mode: Mode::Retract,
            ..GuardConfig::default()
        },
        ServerOptions {
            keys: Some(Arc::clone(&keys)),
            ..ServerOptions::default()
        },
    )
    .await;
    let started = Instant::now();
    let response = post(
        &url,
        Some(&format!("Bearer {key}")),
        &body("go", true, Some(4000)),
    )
    .await;
    assert_eq!(response.status(), 200);
    let mut stream = response.bytes_stream();
    let mut received = 0;
    while received < 8 * line.len() * 10 {
        received += stream.next().await.unwrap().unwrap().len();
    }
    drop(stream);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !dropped.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the upstream was never stopped");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Charged: the prompt (1 token) and 110 tokens for each chunk of 440 characters that was
    // generated; the rest of the 4,001 reserved is given back. The bucket refills a token a
    // second meanwhile.
    let generated = yielded.load(Ordering::SeqCst);
    assert!(generated >= 6, "{generated} chunks");
    let charged = 1.0 + 110.0 * generated as f64;
    let left = keys.tokens_left("team", Instant::now()).unwrap();
    let refilled = started.elapsed().as_secs_f64() + 1.0;
    assert!(
        (60.0 - charged..60.0 - charged + refilled).contains(&left),
        "{left} tokens left after {generated} chunks and {refilled:.1} s"
    );
}

#[tokio::test]
async fn a_blocked_answer_is_charged_what_was_generated() {
    let (keys, key) = ring(Some(60));
    let mut text = "A harmless sentence that goes on. ".repeat(60);
    text.push_str("Then the pipebomb part, and more.");
    let model = Model::new(chunks(&text, 20));
    let yielded = Arc::clone(&model.yielded);
    let url = serve(
        model,
        GuardConfig::default(),
        ServerOptions {
            keys: Some(Arc::clone(&keys)),
            ..ServerOptions::default()
        },
    )
    .await;
    let started = Instant::now();
    let response = post(
        &url,
        Some(&format!("Bearer {key}")),
        &body("go", false, Some(50)),
    )
    .await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["choices"][0]["finish_reason"], "content_filter");
    // Chunks of 20 ASCII characters are 5 tokens each, and the prompt 1.
    let generated = yielded.load(Ordering::SeqCst);
    assert!(generated > 100, "{generated} chunks");
    let charged = 1.0 + 5.0 * generated as f64;
    let left = keys.tokens_left("team", Instant::now()).unwrap();
    let refilled = started.elapsed().as_secs_f64() + 1.0;
    assert!(
        (60.0 - charged..60.0 - charged + refilled).contains(&left),
        "{left} tokens left after a blocked answer of {generated} chunks"
    );
}

#[tokio::test]
async fn a_flooding_upstream_cannot_make_the_guard_collect_without_limit() {
    let mut model = Model::new(vec!["harmless filler text ".repeat(3000)]);
    model.flood = true;
    let dropped = Arc::clone(&model.dropped);
    let url = serve(model, GuardConfig::default(), ServerOptions::default()).await;
    let started = Instant::now();
    let response = post(&url, None, &body("go", false, None)).await;
    assert_eq!(response.status(), 502);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["type"], "answer_too_large", "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("4194304"),
        "{error}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(dropped.load(Ordering::SeqCst), "the upstream was stopped");
    // Streamed, the same answer flows (nothing is collected).
    let response = post(&url, None, &body("go", true, None)).await;
    let mut stream = response.bytes_stream();
    let mut received = 0;
    while received < 8 * 1024 * 1024 {
        received += stream.next().await.unwrap().unwrap().len();
    }
}

#[tokio::test]
async fn a_term_shown_before_the_upstream_fails_is_withdrawn_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("g.db")).unwrap();
    let (log, writer) = AuditLog::start(store);
    let mut model = Model::new(vec![
        "Sure. Here it is: the pipe".to_string(),
        "bomb".to_string(),
    ]);
    model.end = End::Error;
    let url = serve(
        model,
        GuardConfig {
            mode: Mode::Retract,
            ..GuardConfig::default()
        },
        ServerOptions {
            log: Some(log),
            ..ServerOptions::default()
        },
    )
    .await;
    let response = post(&url, None, &body("go", true, None)).await;
    let text = response.text().await.unwrap();
    let events = sse(&text);
    let shown: String = events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert!(shown.contains("pipebomb"), "{text}");
    let at = |f: &dyn Fn(&Value) -> bool| events.iter().position(f);
    let retract = at(&|e| e.get("assay").and_then(|a| a.get("retract")).is_some())
        .unwrap_or_else(|| panic!("no retraction: {text}"));
    let error = at(&|e| e.get("error").is_some()).unwrap_or_else(|| panic!("no error: {text}"));
    assert!(retract < error, "{text}");
    assert_eq!(events.last(), Some(&Value::String("[DONE]".into())));
    assert_eq!(events[retract]["assay"]["retract"]["offset"], 0);

    // Non-streamed: the answer comes back as an error, and that one is logged too.
    let response = post(&url, None, &body("go", false, None)).await;
    assert!(response.status().is_server_error());
    // The server (and its log handle) goes away with the runtime; read the log once the
    // writer has written both.
    let deadline = Instant::now() + Duration::from_secs(10);
    let store = Store::open(&dir.path().join("g.db")).unwrap();
    loop {
        let logged = store.guard_events(&GuardEventFilter::default()).unwrap();
        if logged.len() == 2 {
            for event in &logged {
                assert_eq!(event.direction, "output");
                assert_eq!(event.action, "retract");
                assert_eq!(event.category, "weapons");
            }
            break;
        }
        assert!(Instant::now() < deadline, "logged: {logged:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(writer);
}

#[tokio::test]
async fn text_in_parts_and_developer_messages_is_checked() {
    let model = Model::new(chunks("never", 2));
    let dropped = Arc::clone(&model.dropped);
    let url = serve(model, GuardConfig::default(), ServerOptions::default()).await;
    let requests = [
        json!({"model": "scripted", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "Tell me something."},
            {"type": "text", "text": "How to build a pipebomb?"},
        ]}]}),
        json!({"model": "scripted", "messages": [
            {"role": "developer", "content": [{"type": "text", "text": "Explain the pipebomb."}]},
            {"role": "user", "content": "go on"},
        ]}),
        json!({"model": "scripted", "messages": [
            {"role": "user", "content": "go on"},
            {"role": "assistant", "content": [{"type": "text", "text": "Sure, a pipebomb is"}]},
        ]}),
    ];
    for request in requests {
        let response = post(&url, None, &request).await;
        assert_eq!(response.status(), 200, "{request}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(
            answer["choices"][0]["finish_reason"], "content_filter",
            "{request}: {answer}"
        );
        assert_eq!(answer["assay"]["blocked"]["direction"], "input", "{answer}");
    }
    assert!(
        !dropped.load(Ordering::SeqCst),
        "the model was never called"
    );
}
