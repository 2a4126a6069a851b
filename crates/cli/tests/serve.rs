//! `assay serve` with the embedded SmolLM2 model, started as a real process on 127.0.0.1 at a
//! random port and driven over HTTP by assay's own OpenAI client and by raw requests.
//!
//! The model comes from the cache (`$ASSAY_HOME`, default `~/.cache/assay`); a missing model is
//! fetched on first use, so run `assay models fetch smollm2` beforehand when offline.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use assay_core::{ChatEvent, ChatRequest, FinishReason, GenParams, Message, ModelSpec};
use assay_models::{ChatModel, OpenOptions};
use futures::StreamExt;
use serde_json::{json, Value};

mod common;

use common::{engine_lock, Server};

impl Server {
    fn client(&self) -> Arc<dyn ChatModel> {
        let spec = ModelSpec::parse(&format!("{}/v1#smollm2", self.base)).unwrap();
        let options = OpenOptions::default();
        futures::executor::block_on(assay_models::open(&spec, &options)).expect("client opens")
    }

    async fn health(&self) -> Value {
        common::get_json(format!("{}/health", self.base)).await
    }

    /// `/health` once `done` holds for it, or after 30 s (the caller's assertion then fails).
    async fn health_when(&self, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let health = self.health().await;
            if done(&health) || Instant::now() > deadline {
                return health;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The most busy slots seen while any of `tasks` runs.
    async fn most_busy_while<T>(&self, tasks: &[tokio::task::JoinHandle<T>]) -> u64 {
        let mut most_busy = 0;
        while tasks.iter().any(|t| !t.is_finished()) {
            most_busy = most_busy.max(self.health().await["busy"].as_u64().unwrap_or(0));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        most_busy
    }

    async fn post(&self, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/v1/chat/completions", self.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }
}

fn question(text: &str, params: GenParams) -> ChatRequest {
    ChatRequest {
        messages: vec![Message::user(text)],
        params,
    }
}

fn seeded(seed: u64, max_tokens: u32) -> GenParams {
    GenParams {
        temperature: Some(0.8),
        seed: Some(seed),
        max_tokens: Some(max_tokens),
        ..GenParams::default()
    }
}

/// Share of letters that are ASCII: English prose is nearly all ASCII letters.
fn ascii_letter_share(text: &str) -> f64 {
    let letters: Vec<char> = text.chars().filter(|c| c.is_alphabetic()).collect();
    letters.iter().filter(|c| c.is_ascii()).count() as f64 / letters.len().max(1) as f64
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_and_streamed_answers_are_english_and_seed_reproducible() {
    let server = Server::start(&[]);
    let model = server.client();
    let ask = || {
        question(
            "What is the capital of France? Answer in one sentence.",
            seeded(7, 48),
        )
    };

    let first = model.complete(ask()).await.unwrap();
    assert!(
        first.text.split_whitespace().count() >= 3,
        "answer too short: {:?}",
        first.text
    );
    assert!(
        ascii_letter_share(&first.text) > 0.95,
        "not English: {:?}",
        first.text
    );
    assert!(
        first.usage.prompt_tokens > 10 && first.usage.completion_tokens > 0,
        "{:?}",
        first.usage
    );
    assert!(first.usage.completion_tokens <= 48);

    let second = model.complete(ask()).await.unwrap();
    assert_eq!(
        first.text, second.text,
        "same seed, same prompt, same answer"
    );

    let mut stream = model.stream(ask()).await.unwrap();
    let mut streamed = String::new();
    let mut deltas = 0;
    let mut done = None;
    while let Some(event) = stream.next().await {
        match event.unwrap() {
            ChatEvent::Delta(text) => {
                deltas += 1;
                streamed.push_str(&text);
            }
            ChatEvent::Retract { .. } => panic!("no guard stands in front of this model"),
            ChatEvent::Done {
                finish_reason,
                usage,
            } => done = Some((finish_reason, usage)),
        }
    }
    assert!(deltas > 1, "a streamed answer arrives in pieces");
    assert_eq!(streamed, first.text, "streaming does not change the answer");
    let (reason, usage) = done.expect("stream ends with a finish reason");
    assert_eq!(reason, first.finish_reason);
    assert_eq!(usage, first.usage);

    let other = model
        .complete(question(
            "What is the capital of France? Answer in one sentence.",
            seeded(8, 48),
        ))
        .await;
    assert!(other.is_ok());
}

#[tokio::test(flavor = "multi_thread")]
async fn max_tokens_gives_finish_reason_length() {
    let server = Server::start(&[]);
    let model = server.client();
    let answer = model
        .complete(question("Write a long story about a dragon.", seeded(1, 5)))
        .await
        .unwrap();
    assert_eq!(answer.finish_reason, FinishReason::Length);
    assert_eq!(answer.usage.completion_tokens, 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_context_ends_the_answer_with_length() {
    let server = Server::start(&["--context", "48"]);
    let model = server.client();
    let answer = model
        .complete(question(
            "Write a long story about a dragon.",
            seeded(1, 500),
        ))
        .await
        .unwrap();
    assert_eq!(answer.finish_reason, FinishReason::Length);
    let used = answer.usage.prompt_tokens + answer.usage.completion_tokens;
    assert!(used <= 48, "{used} tokens in a 48-token context");
    assert!(answer.usage.completion_tokens > 0 && answer.usage.completion_tokens < 500);
}

#[tokio::test(flavor = "multi_thread")]
async fn stop_strings_cut_the_answer_where_it_would_have_continued() {
    let server = Server::start(&[]);
    let model = server.client();
    let ask = |stop: Vec<String>| {
        let params = GenParams {
            stop,
            ..seeded(11, 64)
        };
        question("Describe the sea in three sentences.", params)
    };
    let free = model.complete(ask(vec![])).await.unwrap();
    let cut_at = free.text.find(". ").expect("a multi-sentence answer");
    let stopped = model.complete(ask(vec![". ".into()])).await.unwrap();
    assert_eq!(
        stopped.text,
        free.text[..cut_at],
        "the answer up to the stop string, without it"
    );
    assert_eq!(stopped.finish_reason, FinishReason::Stop);
    assert!(stopped.usage.completion_tokens < free.usage.completion_tokens);
}

#[tokio::test(flavor = "multi_thread")]
async fn four_concurrent_requests_share_the_model() {
    let server = Server::start(&["--slots", "4"]);
    let model = server.client();
    let requests = (0..4).map(|i| {
        let model = model.clone();
        tokio::spawn(async move {
            model
                .complete(question(
                    "Name three colours and describe each in a sentence.",
                    seeded(i, 64),
                ))
                .await
        })
    });
    let handles: Vec<_> = requests.collect();
    // Watch the server while they run: several must be generating at the same time.
    let most_busy = server.most_busy_while(&handles).await;
    for handle in handles {
        let answer = handle
            .await
            .unwrap()
            .expect("every concurrent request completes");
        assert!(!answer.text.trim().is_empty());
    }
    assert!(
        most_busy >= 2,
        "requests never ran concurrently (most busy slots seen: {most_busy})"
    );
    // The engine frees a slot before it tells the request that its answer ended, so a
    // client that has every answer sees every slot free, even on a loaded machine.
    let health = server.health().await;
    assert_eq!(
        health["busy"], 0,
        "a slot still busy after every answer: {health}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn deterministic_mode_gives_seeded_answers_independent_of_load() {
    let server = Server::start(&["--slots", "4", "--deterministic"]);
    let model = server.client();
    let ask = || {
        question(
            "Write a detailed story about a lighthouse keeper who finds a map.",
            seeded(21, 200),
        )
    };
    let alone = model.complete(ask()).await.unwrap();

    let handles: Vec<_> = (0..4)
        .map(|_| {
            let model = model.clone();
            tokio::spawn(async move { model.complete(ask()).await })
        })
        .collect();
    let most_busy = server.most_busy_while(&handles).await;
    assert!(
        most_busy >= 2,
        "the requests never ran together (most busy: {most_busy})"
    );
    for handle in handles {
        let together = handle.await.unwrap().unwrap();
        assert_eq!(
            together.text, alone.text,
            "an answer changed because other requests ran beside it"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disconnecting_client_frees_its_slot() {
    let server = Server::start(&["--slots", "1"]);
    let model = server.client();
    let mut stream = model
        .stream(question(
            "Write a very long essay about the history of Europe.",
            seeded(3, 2000),
        ))
        .await
        .unwrap();
    let first = stream.next().await.expect("a first event").unwrap();
    assert!(matches!(first, ChatEvent::Delta(_)));
    assert_eq!(server.health().await["busy"], 1);
    drop(stream);

    let health = server.health_when(|h| h["busy"] == 0).await;
    assert_eq!(
        health["busy"], 0,
        "slot still busy after the client left: {health}"
    );
    assert_eq!(
        health["cancelled"], 1,
        "generation was not cancelled: {health}"
    );

    // The freed slot serves the next request.
    let answer = model
        .complete(question("Say hello.", seeded(4, 8)))
        .await
        .unwrap();
    assert!(answer.usage.completion_tokens > 0);

    // A client that gives up on a non-streamed answer cancels it too.
    let long = json!({
        "model": "smollm2", "max_tokens": 3000, "seed": 3,
        "messages": [{"role": "user", "content": "Write a very long essay about the history of Europe."}]
    });
    let gave_up = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", server.base))
        .json(&long)
        .timeout(Duration::from_millis(700))
        .send()
        .await;
    assert!(gave_up.is_err(), "a 3000-token answer arrived within 0.7 s");
    let health = server.health_when(|h| h["cancelled"] == 2).await;
    assert_eq!(
        health["cancelled"], 2,
        "the abandoned non-streamed answer kept generating: {health}"
    );
    assert_eq!(health["busy"], 0);
}

/// `GET /` says what the server is and where its API is, instead of a 404.
#[tokio::test(flavor = "multi_thread")]
async fn the_root_path_says_where_the_api_is() {
    let server = Server::start(&[]);
    let response = reqwest::get(format!("{}/", server.base)).await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text().await.unwrap();
    for needle in [
        "assay serve",
        "/v1/chat/completions",
        "/v1/models",
        "smollm2",
    ] {
        assert!(text.contains(needle), "{needle:?} missing: {text}");
    }
    let other = reqwest::get(format!("{}/nothing-here", server.base))
        .await
        .unwrap();
    assert_eq!(other.status(), 404, "other paths are still not found");
}

/// serve, guard and arena listen on different ports by default, and their help says which.
#[test]
fn the_three_servers_default_to_different_ports() {
    let help = |args: &[&str]| {
        let out = common::succeed(Command::new(env!("CARGO_BIN_EXE_assay")).args(args));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let serve = help(&["serve", "--help"]);
    assert!(serve.contains("8080 for `assay serve`"), "{serve}");
    let guard = help(&["guard", "--help"]);
    assert!(guard.contains("8088 for `assay guard`"), "{guard}");
    let arena = help(&["arena", "--help"]);
    assert!(arena.contains("[default: 8089]"), "{arena}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_openai_shaped_errors() {
    let server = Server::start(&[
        "--max-body-bytes",
        "65536",
        "--context",
        "256",
        "--max-tokens-limit",
        "100",
    ]);

    let (status, body) = server
        .post("{\"model\": \"smollm2\", \"messages\": [")
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("invalid JSON"));

    let unknown = json!({"model": "gpt-5", "messages": [{"role": "user", "content": "hi"}]});
    let (status, body) = server.post(unknown.to_string()).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["type"], "model_not_found");

    let huge =
        json!({"model": "smollm2", "messages": [{"role": "user", "content": "a".repeat(100_000)}]});
    let (status, body) = server.post(huge.to_string()).await;
    assert_eq!(status, 413);
    assert!(body["error"]["message"].as_str().unwrap().contains("65536"));

    // Fits the body limit (and the engine's cap on prompt bytes) but not the 256-token context.
    let long = json!({"model": "smollm2", "messages": [{"role": "user", "content": "word ".repeat(1500)}]});
    let (status, body) = server.post(long.to_string()).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("context"),
        "{body}"
    );

    let greedy = json!({"model": "smollm2", "max_tokens": 1000, "messages": [{"role": "user", "content": "hi"}]});
    let (status, body) = server.post(greedy.to_string()).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("max_tokens"));

    let (status, body) = server
        .post(json!({"model": "smollm2", "messages": []}).to_string())
        .await;
    assert_eq!(status, 400, "{body}");

    // The server still answers after all that.
    let ok = json!({"model": "smollm2", "max_tokens": 4, "messages": [{"role": "user", "content": "hi"}]});
    let (status, body) = server.post(ok.to_string()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(
        body["usage"]["total_tokens"],
        body["usage"]["prompt_tokens"].as_u64().unwrap()
            + body["usage"]["completion_tokens"].as_u64().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_server_answers_503() {
    let server = Server::start(&["--slots", "1", "--queue", "0"]);
    let model = server.client();
    let mut running = model
        .stream(question(
            "Write a very long essay about the history of Asia.",
            seeded(5, 2000),
        ))
        .await
        .unwrap();
    let _ = running.next().await;
    let extra = json!({"model": "smollm2", "max_tokens": 4, "messages": [{"role": "user", "content": "hi"}]});
    let (status, body) = server.post(extra.to_string()).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["type"], "server_busy");
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_stream_has_openai_chunks_and_done() {
    let server = Server::start(&[]);
    let request = json!({
        "model": "smollm2", "stream": true, "max_tokens": 6, "seed": 2,
        "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": "Count to ten."}]
    });
    let text = common::text_of(
        reqwest::Client::new()
            .post(format!("{}/v1/chat/completions", server.base))
            .json(&request),
    )
    .await;
    let data: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect();
    assert_eq!(data.last(), Some(&"[DONE]"));
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let finish = chunks
        .iter()
        .find(|c| !c["choices"][0]["finish_reason"].is_null())
        .expect("a finish chunk");
    assert_eq!(finish["choices"][0]["finish_reason"], "length");
    let usage = &chunks.last().unwrap()["usage"];
    assert_eq!(usage["completion_tokens"], 6);
}

#[test]
fn models_list_and_chat_work_from_the_command_line() {
    let _engine = engine_lock();
    let list = Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(["models", "list"])
        .output()
        .unwrap();
    assert!(list.status.success());
    assert!(String::from_utf8_lossy(&list.stdout).contains("smollm2"));

    let chat = common::succeed(Command::new(env!("CARGO_BIN_EXE_assay")).args([
        "chat",
        "--model",
        "local:smollm2?max_tokens=12&seed=9",
        "What is 2+2?",
    ]));
    assert!(!String::from_utf8_lossy(&chat.stdout).trim().is_empty());
    assert!(String::from_utf8_lossy(&chat.stderr).contains("completion_tokens="));

    let bad = Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(["chat", "--model", "smollm2", "hi"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("accepted model names"));
}

/// What the scripted upstream of [`HttpServe`] received, and how it answers.
#[derive(Default)]
struct Upstream {
    received: std::sync::Mutex<Vec<Value>>,
}

impl Upstream {
    fn received(&self) -> Vec<Value> {
        self.received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// An OpenAI-compatible upstream on 127.0.0.1 that notes every request; a prompt containing
/// "too long" gets a 400 whose body quotes what an upstream should never have passed on.
async fn upstream() -> (Arc<Upstream>, u16) {
    use axum::http::StatusCode;
    let state = Arc::new(Upstream::default());
    let seen = Arc::clone(&state);
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post(move |body: axum::Json<Value>| {
            let seen = Arc::clone(&seen);
            async move {
                let too_long = body.0.to_string().contains("too long");
                seen.received
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(body.0);
                if too_long {
                    return (
                        StatusCode::BAD_REQUEST,
                        axum::Json(json!({"error": {"message":
                            "prompt of 99999 tokens is too long for deployment internal-7 at http://admin:s3cretpw@10.9.9.9/v1",
                            "type": "invalid_request_error"}})),
                    );
                }
                (
                    StatusCode::OK,
                    axum::Json(json!({"id": "x", "object": "chat.completion", "created": 0, "model": "m",
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": "fine"},
                                     "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}})),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (state, port)
}

/// `assay serve` in front of an HTTP model (no local engine), with its log collected.
struct HttpServe {
    child: std::process::Child,
    base: String,
    log: Option<std::thread::JoinHandle<String>>,
}

impl HttpServe {
    fn start(model: &str, extra: &[&str]) -> HttpServe {
        use std::io::Read;
        use std::process::Stdio;
        let mut child = Command::new(env!("CARGO_BIN_EXE_assay"))
            .args([
                "serve",
                "--model",
                model,
                "--host",
                "127.0.0.1",
                "--port",
                "0",
            ])
            .args(extra)
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("assay serve starts");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let log = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let base = common::printed_address(&mut child, "assay serve")
            .trim_end_matches("/v1")
            .to_string();
        HttpServe {
            child,
            base,
            log: Some(log),
        }
    }

    fn port(&self) -> u16 {
        self.base.rsplit(':').next().unwrap().parse().unwrap()
    }

    fn post(&self, body: &Value) -> reqwest::RequestBuilder {
        reqwest::Client::new()
            .post(format!("{}/v1/chat/completions", self.base))
            .header("content-type", "application/json")
            .body(body.to_string())
    }

    /// Stops the server and returns what it logged.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.log
            .take()
            .map(|log| log.join().unwrap_or_default())
            .unwrap_or_default()
    }
}

impl Drop for HttpServe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ask(content: Value) -> Value {
    json!({"model": "m", "messages": [{"role": "user", "content": content}]})
}

#[tokio::test(flavor = "multi_thread")]
async fn upstream_errors_reach_clients_as_a_request_id_and_the_log_without_credentials() {
    let (upstream, port) = upstream().await;
    let server = HttpServe::start(&format!("http://admin:s3cretpw@127.0.0.1:{port}/v1#m"), &[]);
    let mut ids = Vec::new();
    for stream in [false, true] {
        let mut request = ask(json!("this prompt is too long"));
        request["stream"] = json!(stream);
        let response = server.post(&request).send().await.unwrap();
        // The upstream's 400 is the client's fault and passed on as such, not as a 502.
        assert_eq!(response.status(), 400, "stream: {stream}");
        let id = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .expect("an x-request-id header")
            .to_string();
        let text = response.text().await.unwrap();
        for secret in ["s3cretpw", "admin", "internal-7", "99999", "10.9.9.9"] {
            assert!(!text.contains(secret), "the client saw {secret:?}: {text}");
        }
        let body: Value = serde_json::from_str(&text).unwrap();
        assert!(
            body["error"]["message"].as_str().unwrap().contains(&id),
            "{body}"
        );
        ids.push(id);
    }
    assert_eq!(upstream.received().len(), 2);
    let log = server.stop();
    assert!(!log.contains("s3cretpw"), "the log has the password: {log}");
    for id in &ids {
        assert!(log.contains(id.as_str()), "no {id} in the log: {log}");
    }
    assert!(
        log.contains("internal-7") && log.contains(&format!("***@127.0.0.1:{port}")),
        "the log lacks the details: {log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_on_other_sites_cannot_use_serve() {
    let (upstream, port) = upstream().await;
    let server = HttpServe::start(
        &format!("http://127.0.0.1:{port}/v1#m"),
        &["--allowed-hosts", "proxy.example"],
    );
    let own = server.port();
    let ok = ask(json!("hi"));
    let status = |r: reqwest::Response| r.status().as_u16();

    // What a cross-site form or `fetch` without a preflight sends.
    let plain = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", server.base))
        .header("content-type", "text/plain")
        .body(ok.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(status(plain), 415);
    // DNS rebinding: the page's own name in Host.
    let rebound = server
        .post(&ok)
        .header("host", format!("attacker.example:{own}"))
        .send()
        .await
        .unwrap();
    assert_eq!(status(rebound), 403);
    let foreign = server
        .post(&ok)
        .header("origin", "http://attacker.example")
        .send()
        .await
        .unwrap();
    assert_eq!(status(foreign), 403);
    assert!(
        upstream.received().is_empty(),
        "a refused request reached the model"
    );

    let same_site = server
        .post(&ok)
        .header("host", format!("localhost:{own}"))
        .header("origin", format!("http://localhost:{own}"))
        .send()
        .await
        .unwrap();
    assert_eq!(status(same_site), 200);
    let proxied = server
        .post(&ok)
        .header("host", "proxy.example")
        .send()
        .await
        .unwrap();
    assert_eq!(status(proxied), 200);
    assert_eq!(upstream.received().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn openai_client_request_forms_are_read_and_n_above_one_is_refused() {
    let (upstream, port) = upstream().await;
    let server = HttpServe::start(&format!("http://127.0.0.1:{port}/v1#m"), &[]);
    let request = json!({"model": "m", "n": 1, "messages": [
        {"role": "developer", "content": "be terse"},
        {"role": "user", "content": [{"type": "text", "text": "Hello, "}, {"type": "text", "text": "world"}]}
    ]});
    let response = server.post(&request).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let sent = upstream.received();
    assert_eq!(
        sent[0]["messages"],
        json!([{"role": "system", "content": "be terse"}, {"role": "user", "content": "Hello, world"}])
    );

    let mut two = ask(json!("hi"));
    two["n"] = json!(2);
    let response = server.post(&two).send().await.unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("n must be 1"),
        "{body}"
    );

    let image = ask(json!([{"type": "text", "text": "what is this?"},
                          {"type": "image_url", "image_url": {"url": "http://127.0.0.1:1/x.png"}}]));
    let response = server.post(&image).send().await.unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"image_url\""),
        "{body}"
    );
    assert_eq!(
        upstream.received().len(),
        1,
        "refused requests reached the model"
    );
}

#[test]
fn a_half_open_connection_to_serve_is_closed_after_the_header_timeout() {
    use std::io::{Read, Write};
    let server = HttpServe::start("http://127.0.0.1:9/v1#m", &["--header-timeout", "1"]);
    let addr = server.base.trim_start_matches("http://").to_string();
    let mut sockets: Vec<std::net::TcpStream> = (0..20)
        .map(|_| std::net::TcpStream::connect(&addr).unwrap())
        .collect();
    let started = Instant::now();
    for socket in &mut sockets {
        socket
            .write_all(b"GET /health HTTP/1.1\r\nHost: 127")
            .unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
    }
    for socket in &mut sockets {
        let mut buf = [0u8; 64];
        // 0 bytes: the server closed it; an error here would be the 10 s read timeout.
        assert_eq!(socket.read(&mut buf).unwrap(), 0);
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_closed_stdout_ends_commands_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("assay.db");
    // `runs` reads an existing store (a missing --db file is an error).
    assay_store::Store::open(&db).unwrap();
    for args in [
        vec!["models", "list"],
        vec!["suites"],
        vec!["runs", "--db", db.to_str().unwrap()],
    ] {
        // The reading end is closed before the command writes anything: `assay … | head -0`.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let output = Command::new(env!("CARGO_BIN_EXE_assay"))
            .args(&args)
            .env("ASSAY_HOME", dir.path())
            .stdout(writer)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "assay {args:?}: {:?}: {stderr}",
            output.status
        );
        assert!(stderr.trim().is_empty(), "assay {args:?}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_chat_does_not_print_the_credentials_of_its_model() {
    let (upstream, port) = upstream().await;
    let model = format!("http://admin:s3cretpw@127.0.0.1:{port}/v1#m");
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_assay"))
            .args(["chat", "--model", &model, "this prompt is too long"])
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert_eq!(upstream.received().len(), 1);
    assert!(stderr.contains("HTTP 400"), "{stderr}");
    assert!(!stderr.contains("s3cretpw"), "{stderr}");
}
