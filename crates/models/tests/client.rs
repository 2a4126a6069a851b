//! The OpenAI client against small misbehaving servers: hand-written HTTP/1.1 on raw sockets,
//! so that every failure mode (cuts, resets, stalls, bad payloads) is exactly what we say.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use assay_core::{ChatEvent, ChatRequest, FinishReason, GenParams, Message, Usage};
use assay_models::openai::{ClientConfig, OpenAiClient};
use assay_models::{ChatModel, ModelError};
use futures::StreamExt;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// ---------------------------------------------------------------------------------------------
// The test server

#[derive(Debug, Clone)]
struct Request {
    /// Request line and headers.
    head: String,
    body: Value,
}

impl Request {
    fn is_stream(&self) -> bool {
        self.body["stream"] == json!(true)
    }
}

struct Server {
    base_url: String,
    requests: Arc<AtomicUsize>,
    captured: Arc<Mutex<Vec<Request>>>,
}

impl Server {
    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
    fn captured(&self) -> Vec<Request> {
        self.captured.lock().expect("not poisoned").clone()
    }
}

/// Starts a server that reads each request and hands the socket to `handler` with the number of
/// requests seen before it. It serves one request per connection (responses say
/// `Connection: close`), so counting requests counts attempts.
async fn serve<F, Fut>(handler: F) -> Server
where
    F: Fn(usize, TcpStream, Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let requests = Arc::new(AtomicUsize::new(0));
    let captured = Arc::new(Mutex::new(Vec::new()));
    let handler = Arc::new(handler);
    {
        let (requests, captured) = (requests.clone(), captured.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let (requests, captured, handler) =
                    (requests.clone(), captured.clone(), handler.clone());
                tokio::spawn(async move {
                    let Some(request) = read_request(&mut socket).await else {
                        return;
                    };
                    captured.lock().expect("not poisoned").push(request.clone());
                    let n = requests.fetch_add(1, Ordering::SeqCst);
                    handler(n, socket, request).await;
                });
            }
        });
    }
    Server {
        base_url: format!("http://{addr}/v1"),
        requests,
        captured,
    }
}

async fn read_request(socket: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_string())
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = serde_json::from_slice(&buf[head_end..head_end + length]).unwrap_or(Value::Null);
    Some(Request { head, body })
}

const SSE_HEAD: &str =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n";

fn response(status: &str, extra_headers: &str, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n{extra_headers}\r\n{body}",
        body.len()
    )
}

fn completion_json(text: &str, finish_reason: &str) -> String {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9}
    })
    .to_string()
}

fn chunk_json(delta: Value, finish_reason: Option<&str>) -> String {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
    })
    .to_string()
}

fn delta(text: &str) -> String {
    format!("data: {}\n\n", chunk_json(json!({ "content": text }), None))
}

fn finish(reason: &str) -> String {
    format!("data: {}\n\n", chunk_json(json!({}), Some(reason)))
}

fn usage(prompt: u32, completion: u32) -> String {
    let body = json!({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    });
    format!("data: {body}\n\n")
}

const DONE: &str = "data: [DONE]\n\n";

/// Writes each piece separately, with a pause, so that the client sees them as separate reads.
async fn write_pieces(socket: &mut TcpStream, pieces: &[&[u8]]) {
    for piece in pieces {
        if socket.write_all(piece).await.is_err() || socket.flush().await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
}

/// A normal short streamed answer: "ok", stop.
async fn ok_stream(mut socket: TcpStream) {
    let body = format!("{SSE_HEAD}{}{}{DONE}", delta("ok"), finish("stop"));
    let _ = socket.write_all(body.as_bytes()).await;
}

// ---------------------------------------------------------------------------------------------
// Client side helpers

fn config() -> ClientConfig {
    ClientConfig {
        connect_timeout: Duration::from_secs(2),
        first_token_timeout: Duration::from_secs(3),
        total_timeout: Duration::from_secs(10),
        max_retries: 3,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
        max_concurrency: 8,
    }
}

fn client(server: &Server, config: ClientConfig) -> OpenAiClient {
    OpenAiClient::new(&server.base_url, "m", None, GenParams::default(), config)
        .expect("valid client")
}

fn hello() -> ChatRequest {
    ChatRequest::new(vec![Message::user("hello")])
}

/// Fails the test instead of hanging it.
async fn within<T>(fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), fut)
        .await
        .expect("the client hung")
}

/// Everything a stream yields: its events, then the error that ended it, if any.
async fn collect(
    model: &OpenAiClient,
    request: ChatRequest,
) -> (Vec<ChatEvent>, Option<ModelError>) {
    within(async {
        let mut stream = match model.stream(request).await {
            Ok(s) => s,
            Err(e) => return (Vec::new(), Some(e)),
        };
        let mut events = Vec::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(event) => events.push(event),
                Err(e) => {
                    // An error ends the stream.
                    assert!(stream.next().await.is_none(), "items after an error");
                    return (events, Some(e));
                }
            }
        }
        (events, None)
    })
    .await
}

fn text_of(events: &[ChatEvent]) -> String {
    let mut text = String::new();
    for event in events {
        event.apply_to(&mut text);
    }
    text
}

// ---------------------------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn streams_text_finish_reason_and_usage() {
    let server = serve(|_, mut socket, _| async move {
        let role = format!("data: {}\n\n", chunk_json(json!({"role": "assistant"}), None));
        // One event's JSON spread over two data lines, which join with "\n" (JSON whitespace).
        let multi_line = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\n\
                          data: \"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":null}]}\n\n";
        let crlf = delta(" wörld").replace('\n', "\r\n");
        let crlf = crlf.as_bytes();
        // Split inside the two bytes of "ö".
        let split = crlf.iter().position(|&b| b == 0xC3).expect("ö is in there") + 1;
        let usage_chunk = usage(5, 3);
        let hel = delta("Hel");
        let finish_chunk = finish("length");
        let pieces: Vec<&[u8]> = vec![
            SSE_HEAD.as_bytes(),
            b": keep-alive\n\n",
            role.as_bytes(),
            // A field name cut from its value.
            b"data: ",
            &hel.as_bytes()[6..],
            multi_line.as_bytes(),
            b":\n",
            &crlf[..split],
            &crlf[split..],
            b": ping\r\r",
            finish_chunk.as_bytes(),
            usage_chunk.as_bytes(),
            DONE.as_bytes(),
        ];
        write_pieces(&mut socket, &pieces).await;
    })
    .await;
    let defaults = GenParams {
        temperature: Some(0.25),
        system: Some("be brief".into()),
        ..GenParams::default()
    };
    let model = OpenAiClient::new(
        &server.base_url,
        "m",
        Some("sk-test".into()),
        defaults,
        config(),
    )
    .expect("valid client");
    let mut request = hello();
    request.params.max_tokens = Some(12);
    request.params.temperature = Some(0.5);

    let (events, error) = collect(&model, request).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        events,
        vec![
            ChatEvent::Delta("Hel".into()),
            ChatEvent::Delta("lo".into()),
            ChatEvent::Delta(" wörld".into()),
            ChatEvent::Done {
                finish_reason: FinishReason::Length,
                usage: Usage {
                    prompt_tokens: 5,
                    completion_tokens: 3
                }
            },
        ]
    );

    let sent = server.captured();
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0]
            .head
            .starts_with("POST /v1/chat/completions HTTP/1.1\r\n"),
        "{}",
        sent[0].head
    );
    assert!(
        sent[0]
            .head
            .to_ascii_lowercase()
            .contains("authorization: bearer sk-test\r\n"),
        "{}",
        sent[0].head
    );
    let body = &sent[0].body;
    assert_eq!(body["model"], "m");
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(body["temperature"], 0.5, "the request's value wins");
    assert_eq!(body["max_tokens"], 12);
    assert_eq!(
        body["messages"],
        json!([{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}])
    );
}

#[tokio::test]
async fn completes_non_streamed() {
    let server = serve(|_, mut socket, _| async move {
        let body = completion_json("Hi there", "length");
        let _ = socket
            .write_all(response("200 OK", "", "application/json", &body).as_bytes())
            .await;
    })
    .await;
    let model = client(&server, config());
    let answer = within(model.complete(hello())).await.expect("an answer");
    assert_eq!(answer.text, "Hi there");
    assert_eq!(answer.finish_reason, FinishReason::Length);
    assert_eq!(
        answer.usage,
        Usage {
            prompt_tokens: 7,
            completion_tokens: 2
        }
    );
    let sent = server.captured();
    assert_eq!(sent[0].body["stream"], false);
    assert!(sent[0].body.get("stream_options").is_none());
    assert!(
        !sent[0].head.to_ascii_lowercase().contains("authorization:"),
        "no key, no header"
    );
}

#[tokio::test]
async fn retries_429_after_retry_after() {
    let server = serve(|n, mut socket, _| async move {
        let reply = if n == 0 {
            let body = r#"{"error":{"message":"slow down","type":"rate_limit"}}"#;
            response(
                "429 Too Many Requests",
                "Retry-After: 1\r\n",
                "application/json",
                body,
            )
        } else {
            response(
                "200 OK",
                "",
                "application/json",
                &completion_json("fine", "stop"),
            )
        };
        let _ = socket.write_all(reply.as_bytes()).await;
    })
    .await;
    let model = client(&server, config());
    let started = Instant::now();
    let answer = within(model.complete(hello()))
        .await
        .expect("success after one retry");
    assert_eq!(answer.text, "fine");
    assert_eq!(server.requests(), 2);
    // The configured backoff is 10-40 ms, so only Retry-After explains a wait of a second.
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited only {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn gives_up_at_once_when_retry_after_passes_the_deadline() {
    let server = serve(|_, mut socket, _| async move {
        let reply = response(
            "429 Too Many Requests",
            "Retry-After: 120\r\n",
            "text/plain",
            "quota",
        );
        let _ = socket.write_all(reply.as_bytes()).await;
    })
    .await;
    let model = client(&server, config());
    let started = Instant::now();
    let err = within(model.complete(hello())).await.expect_err("429");
    match &err {
        ModelError::Http {
            status: 429,
            retry_after,
            message,
            ..
        } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(120)));
            assert_eq!(message, "quota");
        }
        other => panic!("expected HTTP 429, got {other:?}"),
    }
    assert_eq!(server.requests(), 1);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn retries_500_then_streams() {
    let server = serve(|n, mut socket, _| async move {
        if n == 0 {
            let reply = response(
                "500 Internal Server Error",
                "",
                "application/json",
                r#"{"error":{"message":"oops"}}"#,
            );
            let _ = socket.write_all(reply.as_bytes()).await;
        } else {
            ok_stream(socket).await;
        }
    })
    .await;
    let model = client(&server, config());
    let (events, error) = collect(&model, hello()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(text_of(&events), "ok");
    assert!(matches!(
        events.last(),
        Some(ChatEvent::Done {
            finish_reason: FinishReason::Stop,
            ..
        })
    ));
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn gives_up_after_max_retries_quoting_the_body() {
    let server = serve(|_, mut socket, _| async move {
        let html = format!("<html><body>{}</body></html>", "Bad gateway. ".repeat(100));
        let _ = socket
            .write_all(response("502 Bad Gateway", "", "text/html", &html).as_bytes())
            .await;
    })
    .await;
    let model = client(
        &server,
        ClientConfig {
            max_retries: 2,
            ..config()
        },
    );
    let err = within(model.complete(hello()))
        .await
        .expect_err("always 502");
    match &err {
        ModelError::Http {
            status: 502,
            message,
            url,
            ..
        } => {
            assert!(message.starts_with("<html><body>Bad gateway."), "{message}");
            assert!(
                message.chars().count() <= 501,
                "quoted {} chars",
                message.chars().count()
            );
            assert!(url.ends_with("/v1/chat/completions"), "{url}");
        }
        other => panic!("expected HTTP 502, got {other:?}"),
    }
    assert_eq!(server.requests(), 3, "one attempt and two retries");
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = serve(|_, mut socket, _| async move {
        let body = r#"{"error":{"message":"'temperature' is out of range","type":"invalid_request_error"}}"#;
        let _ = socket.write_all(response("400 Bad Request", "", "application/json", body).as_bytes()).await;
    })
    .await;
    let model = client(&server, config());
    let err = within(model.complete(hello())).await.expect_err("400");
    assert!(
        matches!(&err, ModelError::Http { status: 400, message, .. } if message.contains("'temperature' is out of range")),
        "{err:?}"
    );
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn stream_cut_mid_answer_is_an_error() {
    let server = serve(|_, mut socket, _| async move {
        write_pieces(
            &mut socket,
            &[
                SSE_HEAD.as_bytes(),
                delta("one").as_bytes(),
                delta("two").as_bytes(),
            ],
        )
        .await;
        // Then a clean close, as if the server process died gracefully.
    })
    .await;
    let model = client(&server, config());
    let (events, error) = collect(&model, hello()).await;
    assert_eq!(
        events,
        vec![
            ChatEvent::Delta("one".into()),
            ChatEvent::Delta("two".into())
        ]
    );
    let error = error.expect("a cut stream is not a success");
    assert!(
        matches!(&error, ModelError::Protocol { message, .. } if message.contains("stream ended before [DONE]")),
        "{error:?}"
    );
    assert!(error.to_string().contains(&server.base_url), "{error}");
    assert_eq!(
        server.requests(),
        1,
        "never retried after content was delivered"
    );
}

#[tokio::test]
async fn stream_reset_mid_answer_is_an_error() {
    let server = serve(|_, mut socket, _| async move {
        write_pieces(&mut socket, &[SSE_HEAD.as_bytes(), delta("one").as_bytes()]).await;
        // RST instead of FIN.
        socket.set_zero_linger().expect("SO_LINGER");
        drop(socket);
    })
    .await;
    let model = client(&server, config());
    let (events, error) = collect(&model, hello()).await;
    assert_eq!(events, vec![ChatEvent::Delta("one".into())]);
    let error = error.expect("a reset stream is not a success");
    assert!(
        matches!(&error, ModelError::Protocol { message, .. } if message.contains("before [DONE]")),
        "{error:?}"
    );
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn missing_done_after_finish_reason_is_accepted() {
    let server = serve(|_, mut socket, _| async move {
        write_pieces(
            &mut socket,
            &[
                SSE_HEAD.as_bytes(),
                delta("all").as_bytes(),
                finish("stop").as_bytes(),
            ],
        )
        .await;
    })
    .await;
    let model = client(&server, config());
    let (events, error) = collect(&model, hello()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        events,
        vec![
            ChatEvent::Delta("all".into()),
            ChatEvent::Done {
                finish_reason: FinishReason::Stop,
                usage: Usage::default()
            }
        ]
    );
}

#[tokio::test]
async fn unterminated_done_at_the_end_is_accepted() {
    let server = serve(|_, mut socket, _| async move {
        write_pieces(
            &mut socket,
            &[
                SSE_HEAD.as_bytes(),
                delta("x").as_bytes(),
                usage(1, 1).as_bytes(),
                b"data: [DONE]",
            ],
        )
        .await;
    })
    .await;
    let model = client(&server, config());
    let (events, error) = collect(&model, hello()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        events.last(),
        Some(&ChatEvent::Done {
            finish_reason: FinishReason::Stop,
            usage: Usage {
                prompt_tokens: 1,
                completion_tokens: 1
            }
        })
    );
}

#[tokio::test]
async fn stall_before_first_token_times_out() {
    let server = serve(|_, mut socket, _| async move {
        write_pieces(&mut socket, &[SSE_HEAD.as_bytes()]).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let model = client(
        &server,
        ClientConfig {
            first_token_timeout: Duration::from_millis(300),
            ..config()
        },
    );
    let started = Instant::now();
    let (events, error) = collect(&model, hello()).await;
    assert!(events.is_empty());
    assert!(
        matches!(error, Some(ModelError::Timeout { what: "first token", after, .. }) if after == Duration::from_millis(300)),
        "{error:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(server.requests(), 1, "timeouts are not retried");
}

#[tokio::test]
async fn keep_alives_do_not_count_as_tokens() {
    let server = serve(|_, mut socket, _| async move {
        if socket.write_all(SSE_HEAD.as_bytes()).await.is_err() {
            return;
        }
        for _ in 0..300 {
            if socket.write_all(b": keep-alive\n\n").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let model = client(
        &server,
        ClientConfig {
            first_token_timeout: Duration::from_millis(400),
            ..config()
        },
    );
    let (_, error) = collect(&model, hello()).await;
    assert!(
        matches!(
            error,
            Some(ModelError::Timeout {
                what: "first token",
                ..
            })
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn stall_after_first_token_times_out() {
    let server = serve(|_, mut socket, _| async move {
        write_pieces(
            &mut socket,
            &[SSE_HEAD.as_bytes(), delta("start").as_bytes()],
        )
        .await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let model = client(
        &server,
        ClientConfig {
            first_token_timeout: Duration::from_millis(300),
            ..config()
        },
    );
    let (events, error) = collect(&model, hello()).await;
    assert_eq!(events, vec![ChatEvent::Delta("start".into())]);
    assert!(
        matches!(
            error,
            Some(ModelError::Timeout {
                what: "next token",
                ..
            })
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn total_timeout_bounds_a_trickling_stream() {
    let server = serve(|_, mut socket, _| async move {
        if socket.write_all(SSE_HEAD.as_bytes()).await.is_err() {
            return;
        }
        for _ in 0..300 {
            if socket.write_all(delta(".").as_bytes()).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let model = client(
        &server,
        ClientConfig {
            total_timeout: Duration::from_millis(700),
            ..config()
        },
    );
    let started = Instant::now();
    let (events, error) = collect(&model, hello()).await;
    assert!(events.len() >= 3, "some dots arrived first: {events:?}");
    assert!(
        matches!(error, Some(ModelError::Timeout { what: "request", after, .. }) if after == Duration::from_millis(700)),
        "{error:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn error_payload_mid_stream_is_an_error() {
    let server = serve(|_, mut socket, _| async move {
        let error =
            "data: {\"error\":{\"message\":\"model crashed\",\"type\":\"server_error\"}}\n\n";
        write_pieces(
            &mut socket,
            &[
                SSE_HEAD.as_bytes(),
                delta("par").as_bytes(),
                error.as_bytes(),
                DONE.as_bytes(),
            ],
        )
        .await;
    })
    .await;
    let model = client(&server, config());
    let (events, error) = collect(&model, hello()).await;
    assert_eq!(events, vec![ChatEvent::Delta("par".into())]);
    let error = error.expect("an error event is an error");
    assert!(
        matches!(&error, ModelError::Protocol { message, .. } if message.contains("model crashed")),
        "{error:?}"
    );
    assert!(error.to_string().contains(&server.base_url), "{error}");
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn error_payload_with_a_retryable_code_before_any_token_is_retried() {
    let server = serve(|n, mut socket, _| async move {
        if n == 0 {
            let error = "data: {\"error\":{\"message\":\"overloaded\",\"code\":503}}\n\n";
            write_pieces(&mut socket, &[SSE_HEAD.as_bytes(), error.as_bytes()]).await;
        } else {
            ok_stream(socket).await;
        }
    })
    .await;
    let model = client(&server, config());
    let (events, error) = collect(&model, hello()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(text_of(&events), "ok");
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn garbage_in_the_stream_is_a_protocol_error() {
    let server = serve(|_, mut socket, _| async move {
        write_pieces(
            &mut socket,
            &[
                SSE_HEAD.as_bytes(),
                delta("a").as_bytes(),
                b"data: {not json\n\n",
            ],
        )
        .await;
    })
    .await;
    let model = client(&server, config());
    let (events, error) = collect(&model, hello()).await;
    assert_eq!(events, vec![ChatEvent::Delta("a".into())]);
    assert!(
        matches!(&error, Some(ModelError::Protocol { message, .. }) if message.contains("{not json")),
        "{error:?}"
    );
}

#[tokio::test]
async fn connect_refused_is_a_connect_error() {
    // A port that was free a moment ago and has no listener now.
    let addr: SocketAddr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("local addr")
    };
    let base_url = format!("http://{addr}/v1");
    let config = ClientConfig {
        max_retries: 2,
        initial_backoff: Duration::from_millis(1),
        ..config()
    };
    let model = OpenAiClient::new(&base_url, "m", None, GenParams::default(), config)
        .expect("valid client");
    let err = within(model.complete(hello()))
        .await
        .expect_err("nothing listens");
    assert!(
        matches!(&err, ModelError::Connect { url, .. } if url.starts_with(&base_url)),
        "{err:?}"
    );
    let (_, stream_err) = collect(&model, hello()).await;
    assert!(
        matches!(stream_err, Some(ModelError::Connect { .. })),
        "{stream_err:?}"
    );
}

#[tokio::test]
async fn connections_dropped_before_an_answer_are_retried() {
    let server = serve(|n, socket, _| async move {
        if n < 2 {
            drop(socket);
        } else {
            ok_stream(socket).await;
        }
    })
    .await;
    let model = client(&server, config());
    let (events, error) = collect(&model, hello()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(text_of(&events), "ok");
    assert_eq!(server.requests(), 3);

    // And when it never gets better, the error says what happened.
    let server = serve(|_, socket, _| async move { drop(socket) }).await;
    let model = client(
        &server,
        ClientConfig {
            max_retries: 1,
            ..config()
        },
    );
    let err = within(model.complete(hello()))
        .await
        .expect_err("always dropped");
    assert!(matches!(err, ModelError::Connect { .. }), "{err:?}");
    assert_eq!(server.requests(), 2);
}

/// Serves streams and non-streamed answers slowly, recording the most requests in flight.
async fn slow_server(max_in_flight: Arc<AtomicUsize>) -> Server {
    let in_flight = Arc::new(AtomicUsize::new(0));
    serve(move |_, mut socket, request| {
        let (in_flight, max_in_flight) = (in_flight.clone(), max_in_flight.clone());
        async move {
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            max_in_flight.fetch_max(now, Ordering::SeqCst);
            if request.is_stream() {
                let _ = socket
                    .write_all(format!("{SSE_HEAD}{}", delta("s")).as_bytes())
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            // Leave before the client can finish, so that the next request cannot overlap
            // with our bookkeeping.
            in_flight.fetch_sub(1, Ordering::SeqCst);
            let rest = if request.is_stream() {
                format!("{}{DONE}", finish("stop"))
            } else {
                response(
                    "200 OK",
                    "",
                    "application/json",
                    &completion_json("c", "stop"),
                )
            };
            let _ = socket.write_all(rest.as_bytes()).await;
        }
    })
    .await
}

#[tokio::test]
async fn concurrency_is_limited_per_model() {
    for (limit, expected) in [(1, 1), (3, 3)] {
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let server = slow_server(max_in_flight.clone()).await;
        let model = client(
            &server,
            ClientConfig {
                max_concurrency: limit,
                ..config()
            },
        );
        let (a, b, c) = within(async {
            tokio::join!(
                collect(&model, hello()),
                model.complete(hello()),
                collect(&model, hello())
            )
        })
        .await;
        assert!(a.1.is_none() && c.1.is_none(), "{:?} {:?}", a.1, c.1);
        assert_eq!(text_of(&a.0), "s");
        assert_eq!(b.expect("complete").text, "c");
        assert_eq!(server.requests(), 3);
        // With a limit of 3 the three requests overlap, which shows the server can see it.
        assert_eq!(
            max_in_flight.load(Ordering::SeqCst),
            expected,
            "limit {limit}"
        );
    }
}

#[tokio::test]
async fn dropping_the_stream_closes_the_connection_and_frees_the_permit() {
    let (closed_tx, closed_rx) = tokio::sync::mpsc::unbounded_channel::<bool>();
    let server = serve(move |n, mut socket, _| {
        let closed_tx = closed_tx.clone();
        async move {
            if n > 0 {
                return ok_stream(socket).await;
            }
            write_pieces(
                &mut socket,
                &[SSE_HEAD.as_bytes(), delta("first").as_bytes()],
            )
            .await;
            // Wait for the client to hang up; a read of 0 bytes (or a reset) means it did.
            let mut buf = [0u8; 64];
            let hung_up = matches!(
                tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buf)).await,
                Ok(Ok(0) | Err(_))
            );
            let _ = closed_tx.send(hung_up);
        }
    })
    .await;
    let model = client(
        &server,
        ClientConfig {
            max_concurrency: 1,
            ..config()
        },
    );
    let mut stream = within(model.stream(hello())).await.expect("stream opens");
    let first = within(stream.next()).await;
    assert!(
        matches!(first, Some(Ok(ChatEvent::Delta(ref t))) if t == "first"),
        "{first:?}"
    );
    drop(stream);
    let mut closed_rx = closed_rx;
    assert_eq!(
        within(closed_rx.recv()).await,
        Some(true),
        "the server saw the connection close"
    );
    // The only permit came back with the dropped stream, or this would wait forever.
    let (events, error) = collect(&model, hello()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(text_of(&events), "ok");
}

#[tokio::test]
async fn a_json_answer_to_a_stream_request_is_taken_whole() {
    let server = serve(|_, mut socket, _| async move {
        let body = completion_json("whole", "stop");
        let _ = socket
            .write_all(response("200 OK", "", "application/json", &body).as_bytes())
            .await;
    })
    .await;
    let model = client(&server, config());
    let (events, error) = collect(&model, hello()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        events,
        vec![
            ChatEvent::Delta("whole".into()),
            ChatEvent::Done {
                finish_reason: FinishReason::Stop,
                usage: Usage {
                    prompt_tokens: 7,
                    completion_tokens: 2
                }
            }
        ]
    );
}

#[tokio::test]
async fn non_streamed_stall_is_bounded_by_the_total_timeout() {
    let server = serve(|_, mut socket, _| async move {
        // Headers promise a body that never comes.
        let _ = socket
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{")
            .await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    // The body of a non-streamed answer may take long to come (the server generates it all
    // first), so the short first-token timeout must not cut it; the total timeout does.
    let model = client(
        &server,
        ClientConfig {
            first_token_timeout: Duration::from_millis(100),
            total_timeout: Duration::from_millis(600),
            ..config()
        },
    );
    let started = std::time::Instant::now();
    let err = within(model.complete(hello())).await.expect_err("stalled");
    assert!(
        matches!(
            err,
            ModelError::Timeout {
                what: "request",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "cut before the total timeout"
    );
}

#[tokio::test]
async fn non_streamed_headers_wait_is_bounded_by_the_first_token_timeout() {
    let server = serve(|_, socket, _| async move {
        let _keep_open = socket;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let model = client(
        &server,
        ClientConfig {
            first_token_timeout: Duration::from_millis(300),
            ..config()
        },
    );
    let err = within(model.complete(hello())).await.expect_err("stalled");
    assert!(
        matches!(
            err,
            ModelError::Timeout {
                what: "response headers",
                ..
            }
        ),
        "{err:?}"
    );
}
