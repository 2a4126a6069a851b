//! The client: one OpenAI-compatible endpoint and model, its requests, deadlines and bodies.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use assay_core::openai::{ChatCompletionRequest, ChatCompletionResponse};
use assay_core::{ChatEvent, ChatRequest, ChatResponse, FinishReason, GenParams, Usage};
use reqwest::header::ACCEPT;
use reqwest::Url;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::error_body::{error_chain, error_message, error_payload, quote};
use super::retry::{self, parse_retry_after};
use super::stream::LiveStream;
use crate::sse::SseParser;
use crate::{ChatModel, EventStream, ModelError};

/// Bound on a non-streamed answer. Far above any real completion; it only stops a broken
/// server from filling memory.
pub(super) const MAX_BODY: usize = 64 * 1024 * 1024;
/// How much of an error body is read to find its message.
const MAX_ERROR_BODY: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub connect_timeout: Duration,
    pub first_token_timeout: Duration,
    pub total_timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub max_concurrency: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            connect_timeout: Duration::from_secs(10),
            first_token_timeout: Duration::from_secs(60),
            total_timeout: Duration::from_secs(600),
            max_retries: 4,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_concurrency: 8,
        }
    }
}

pub struct OpenAiClient {
    model: String,
    /// `{base_url}/chat/completions`.
    url: Url,
    /// `url` as text, for error messages.
    url_text: String,
    api_key: Option<String>,
    params: GenParams,
    config: ClientConfig,
    http: reqwest::Client,
    permits: Arc<Semaphore>,
}

impl std::fmt::Debug for OpenAiClient {
    // By hand, so that the API key can never end up in a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiClient")
            .field("model", &self.model)
            .field("url", &self.url_text)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("params", &self.params)
            .field("config", &self.config)
            .finish()
    }
}

impl OpenAiClient {
    /// `base_url` is the part before `/chat/completions`, e.g. `http://127.0.0.1:8080/v1`.
    /// `params` are the model's defaults; a request's own parameters win over them.
    pub fn new(
        base_url: &str,
        model: &str,
        api_key: Option<String>,
        params: GenParams,
        config: ClientConfig,
    ) -> Result<Self, ModelError> {
        let url = completions_url(base_url)?;
        if config.max_concurrency == 0 {
            return Err(ModelError::Config(format!(
                "{}: max_concurrency must be at least 1",
                assay_core::redact(base_url)
            )));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("assay/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ModelError::Config(format!("cannot build the HTTP client: {}", error_chain(&e)))
            })?;
        Ok(OpenAiClient {
            model: model.to_string(),
            // Error messages reach logs, stores and (through the servers) clients: the URL
            // they name has its credentials taken out.
            url_text: assay_core::redact(url.as_str()),
            url,
            api_key,
            params,
            permits: Arc::new(Semaphore::new(config.max_concurrency)),
            config,
            http,
        })
    }

    fn body(&self, request: ChatRequest, stream: bool) -> ChatCompletionRequest {
        let request = ChatRequest {
            params: request.params.or(&self.params),
            messages: request.messages,
        };
        ChatCompletionRequest::new(
            &self.model,
            request.messages_with_system(),
            &request.params,
            stream,
        )
    }

    async fn permit(&self) -> Result<OwnedSemaphorePermit, ModelError> {
        // The semaphore is never closed, so this cannot fail; no reason to panic if it did.
        self.permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ModelError::Config(format!("{}: client shut down", self.url_text)))
    }

    /// Sends one attempt and returns the response if its status is a success.
    async fn send(
        &self,
        body: &ChatCompletionRequest,
        limits: &Limits,
        phase_deadline: Instant,
    ) -> Result<reqwest::Response, ModelError> {
        let mut req = self.http.post(self.url.clone()).json(body);
        if body.stream {
            req = req.header(ACCEPT, "text/event-stream");
        }
        if let Some(key) = &self.api_key {
            req = req.bearer_auth(key);
        }
        let response = match tokio::time::timeout_at(phase_deadline, req.send()).await {
            Err(_) => return Err(limits.timeout(&self.url_text, phase_deadline)),
            Ok(Err(e)) => return Err(self.transport_error(e, "sending the request failed")),
            Ok(Ok(r)) => r,
        };
        if response.status().is_success() {
            return Ok(response);
        }
        Err(self.status_error(response, phase_deadline).await)
    }

    fn transport_error(&self, e: reqwest::Error, context: &str) -> ModelError {
        if e.is_timeout() {
            // The only timeout reqwest runs for us is the connect timeout.
            return ModelError::Timeout {
                url: self.url_text.clone(),
                what: "connect",
                after: self.config.connect_timeout,
            };
        }
        ModelError::Connect {
            url: self.url_text.clone(),
            message: format!("{context}: {}", error_chain(&e.without_url())),
        }
    }

    async fn status_error(&self, response: reqwest::Response, deadline: Instant) -> ModelError {
        let status = response.status();
        let retry_after = parse_retry_after(response.headers(), SystemTime::now());
        // The body only improves the message; if it does not come in time, go without it.
        let body = tokio::time::timeout_at(deadline, read_limited(response, MAX_ERROR_BODY))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let message = match error_message(&body) {
            Some(m) => m,
            None => status
                .canonical_reason()
                .unwrap_or("no message")
                .to_string(),
        };
        ModelError::Http {
            url: self.url_text.clone(),
            status: status.as_u16(),
            message,
            retry_after,
        }
    }

    async fn complete_once(
        &self,
        body: &ChatCompletionRequest,
        limits: &Limits,
    ) -> Result<ChatResponse, ModelError> {
        let phase_deadline = limits.phase_deadline();
        let response = self.send(body, limits, phase_deadline).await?;
        // A long answer takes long to generate before its body arrives: only the total timeout
        // bounds the body, the first-token timeout bounds the wait for the response headers.
        let body_deadline = limits.deadline;
        let bytes = match tokio::time::timeout_at(body_deadline, read_limited(response, MAX_BODY))
            .await
        {
            Err(_) => return Err(limits.timeout(&self.url_text, body_deadline)),
            Ok(Err(BodyError::Transport(e))) => {
                return Err(self.transport_error(e, "the connection broke while reading the answer"))
            }
            Ok(Err(BodyError::TooLarge)) => {
                return Err(self.protocol(format!("the answer is larger than {MAX_BODY} bytes")))
            }
            Ok(Ok(b)) => b,
        };
        self.parse_completion(&bytes)
    }

    fn parse_completion(&self, bytes: &[u8]) -> Result<ChatResponse, ModelError> {
        if let Some(e) = self.error_payload(bytes) {
            return Err(e);
        }
        let parsed: ChatCompletionResponse = serde_json::from_slice(bytes).map_err(|e| {
            self.protocol(format!(
                "the answer is not a chat completion ({e}): {}",
                quote(bytes)
            ))
        })?;
        let Some(choice) = parsed.choices.into_iter().next() else {
            return Err(self.protocol("the answer has no choices".to_string()));
        };
        Ok(ChatResponse {
            text: choice.message.content.unwrap_or_default(),
            // A missing reason in a finished, non-streamed answer can only mean a normal end.
            finish_reason: choice
                .finish_reason
                .as_deref()
                .map_or(FinishReason::Stop, FinishReason::from_openai),
            usage: parsed.usage.map(Usage::from).unwrap_or_default(),
        })
    }

    /// One streamed attempt, up to and including the first data event, so that everything that
    /// can still be retried happens before the caller gets the stream.
    async fn open_stream(
        &self,
        body: &ChatCompletionRequest,
        limits: &Limits,
    ) -> Result<LiveStream, ModelError> {
        let phase_deadline = limits.phase_deadline();
        let response = self.send(body, limits, phase_deadline).await?;
        let mut live = LiveStream {
            url: self.url_text.clone(),
            response: Some(response),
            parser: SseParser::new(),
            queue: VecDeque::new(),
            finish_reason: None,
            usage: None,
            idle: self.config.first_token_timeout,
            last_event: Instant::now(),
            limits: limits.clone(),
            _permit: None,
        };
        if live.is_json() {
            // The server ignored `stream: true` and sent a whole answer; take it as one delta.
            let bytes = match tokio::time::timeout_at(phase_deadline, live.read_body()).await {
                Err(_) => return Err(limits.timeout(&self.url_text, phase_deadline)),
                Ok(Err(BodyError::Transport(e))) => {
                    return Err(
                        self.transport_error(e, "the connection broke while reading the answer")
                    )
                }
                Ok(Err(BodyError::TooLarge)) => {
                    return Err(self.protocol(format!("the answer is larger than {MAX_BODY} bytes")))
                }
                Ok(Ok(b)) => b,
            };
            let answer = self.parse_completion(&bytes)?;
            if !answer.text.is_empty() {
                live.queue.push_back(ChatEvent::Delta(answer.text));
            }
            live.queue.push_back(ChatEvent::Done {
                finish_reason: answer.finish_reason,
                usage: answer.usage,
            });
            live.response = None;
            return Ok(live);
        }
        loop {
            let chunk = match tokio::time::timeout_at(phase_deadline, live.next_chunk()).await {
                Err(_) => return Err(limits.timeout(&self.url_text, phase_deadline)),
                Ok(Err(e)) => {
                    return Err(
                        self.transport_error(e, "the connection broke before the first token")
                    )
                }
                Ok(Ok(c)) => c,
            };
            let events = match chunk {
                Some(bytes) => live
                    .parser
                    .push(&bytes)
                    .map_err(|e| self.protocol(e.to_string()))?,
                None => {
                    // A clean end with nothing in it: the server means it, retrying will not help.
                    let mut events = Vec::new();
                    events.extend(live.parser.finish());
                    if !live.take_trailing(events)? {
                        return Err(self.protocol("the stream ended before any event".to_string()));
                    }
                    return Ok(live);
                }
            };
            if !events.is_empty() {
                live.last_event = Instant::now();
                for event in events {
                    live.handle(event)?;
                }
                return Ok(live);
            }
        }
    }

    fn protocol(&self, message: String) -> ModelError {
        ModelError::Protocol {
            url: self.url_text.clone(),
            message,
        }
    }

    fn error_payload(&self, bytes: &[u8]) -> Option<ModelError> {
        error_payload(&self.url_text, bytes)
    }
}

#[async_trait::async_trait]
impl ChatModel for OpenAiClient {
    fn id(&self) -> &str {
        &self.model
    }

    async fn complete(&self, request: ChatRequest) -> Result<ChatResponse, ModelError> {
        let body = self.body(request, false);
        let _permit = self.permit().await?;
        let limits = Limits::new(&self.config, false);
        let total = tokio::time::timeout_at(
            limits.deadline,
            retry::with_retries(&self.config, &self.url_text, limits.deadline, || {
                self.complete_once(&body, &limits)
            }),
        );
        match total.await {
            Ok(result) => result,
            Err(_) => Err(limits.timeout(&self.url_text, limits.deadline)),
        }
    }

    async fn stream(&self, request: ChatRequest) -> Result<EventStream, ModelError> {
        let body = self.body(request, true);
        let permit = self.permit().await?;
        let limits = Limits::new(&self.config, true);
        let opened = tokio::time::timeout_at(
            limits.deadline,
            retry::with_retries(&self.config, &self.url_text, limits.deadline, || {
                self.open_stream(&body, &limits)
            }),
        );
        let mut live = match opened.await {
            Ok(result) => result?,
            Err(_) => return Err(limits.timeout(&self.url_text, limits.deadline)),
        };
        live._permit = Some(permit);
        let stream = futures::stream::unfold(Some(live), |state| async move {
            let mut live = state?;
            match live.next_event().await {
                // Dropping the state right away frees the connection and the permit even if
                // the caller keeps the finished stream around.
                Ok(Some(done @ ChatEvent::Done { .. })) => Some((Ok(done), None)),
                Ok(Some(event)) => Some((Ok(event), Some(live))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        });
        Ok(Box::pin(stream))
    }
}

/// The deadlines of one request.
#[derive(Debug, Clone)]
pub(super) struct Limits {
    pub(super) deadline: Instant,
    pub(super) total: Duration,
    first_token: Duration,
    /// What `first_token` bounds, for messages: "first token" or, non-streamed, "response headers".
    first_token_what: &'static str,
}

impl Limits {
    fn new(config: &ClientConfig, stream: bool) -> Self {
        Limits {
            deadline: Instant::now() + config.total_timeout,
            total: config.total_timeout,
            first_token: config.first_token_timeout,
            first_token_what: if stream {
                "first token"
            } else {
                "response headers"
            },
        }
    }

    /// When the current attempt must have its first token (or whole answer).
    fn phase_deadline(&self) -> Instant {
        (Instant::now() + self.first_token).min(self.deadline)
    }

    /// The error for a wait that ran out at `phase_deadline`, naming the limit that set it.
    pub(super) fn timeout(&self, url: &str, phase_deadline: Instant) -> ModelError {
        if phase_deadline >= self.deadline {
            ModelError::Timeout {
                url: url.to_string(),
                what: "request",
                after: self.total,
            }
        } else {
            ModelError::Timeout {
                url: url.to_string(),
                what: self.first_token_what,
                after: self.first_token,
            }
        }
    }
}

fn completions_url(base_url: &str) -> Result<Url, ModelError> {
    let bad = |why: &str| {
        ModelError::Config(format!(
            "bad base URL {:?}: {why}",
            assay_core::redact(base_url)
        ))
    };
    let mut url = Url::parse(base_url.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("only http and https are supported"));
    }
    // Through the URL API rather than string concatenation, so that a query the base URL
    // carries stays a query.
    url.path_segments_mut()
        .map_err(|()| bad("it cannot have a path"))?
        .pop_if_empty()
        .extend(["chat", "completions"]);
    Ok(url)
}

#[derive(Debug)]
pub(super) enum BodyError {
    Transport(reqwest::Error),
    TooLarge,
}

/// Reads a body, failing once it passes `limit` bytes.
pub(super) async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if out.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_url_keeps_base_path_and_query() {
        let u = |s| completions_url(s).map(|u| u.to_string());
        assert_eq!(
            u("http://127.0.0.1:8080/v1").unwrap(),
            "http://127.0.0.1:8080/v1/chat/completions"
        );
        assert_eq!(u("http://h/v1/").unwrap(), "http://h/v1/chat/completions");
        assert_eq!(u("https://h").unwrap(), "https://h/chat/completions");
        assert_eq!(
            u("https://h/openai/v1?api-version=2").unwrap(),
            "https://h/openai/v1/chat/completions?api-version=2"
        );
        assert!(u("ftp://h/v1").is_err());
        assert!(u("not a url").is_err());
    }

    #[test]
    fn request_params_win_over_model_defaults() {
        let defaults = GenParams {
            temperature: Some(0.1),
            max_tokens: Some(10),
            system: Some("be terse".into()),
            ..GenParams::default()
        };
        let client = OpenAiClient::new("http://h/v1", "m", None, defaults, ClientConfig::default())
            .expect("valid config");
        let mut request = ChatRequest::new(vec![assay_core::Message::user("hi")]);
        request.params.max_tokens = Some(99);
        let body = client.body(request, true);
        assert_eq!(body.model, "m");
        assert_eq!(body.temperature, Some(0.1));
        assert_eq!(body.max_tokens, Some(99));
        assert_eq!(body.messages[0], assay_core::Message::system("be terse"));
        assert_eq!(body.messages.len(), 2);
        assert!(body.stream && body.stream_options.is_some_and(|o| o.include_usage));
    }

    #[test]
    fn zero_concurrency_is_a_config_error() {
        let config = ClientConfig {
            max_concurrency: 0,
            ..ClientConfig::default()
        };
        assert!(matches!(
            OpenAiClient::new("http://h/v1", "m", None, GenParams::default(), config),
            Err(ModelError::Config(_))
        ));
    }

    #[test]
    fn debug_hides_the_key() {
        let client = OpenAiClient::new(
            "http://h/v1",
            "m",
            Some("sk-secret".into()),
            GenParams::default(),
            ClientConfig::default(),
        )
        .expect("valid config");
        assert!(!format!("{client:?}").contains("sk-secret"));
    }

    /// A one-shot upstream on 127.0.0.1 that answers every request with `response`.
    async fn answering(response: &'static str) -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = vec![0u8; 65536];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(response.as_bytes()).await;
            }
        });
        port
    }

    #[tokio::test]
    async fn errors_never_carry_the_credentials_of_the_url() {
        let port = answering(
            "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n\
             {\"error\":{\"message\":\"prompt too long for http://admin:s3cretpw@10.0.0.1/v1 key sk-abcdefghijklmnopqrstuvwx\"}}",
        )
        .await;
        let base = format!("http://admin:s3cretpw@127.0.0.1:{port}/v1?api_key=k123");
        let client = OpenAiClient::new(
            &base,
            "m",
            None,
            GenParams::default(),
            ClientConfig::default(),
        )
        .expect("valid config");
        let request = ChatRequest::new(vec![assay_core::Message::user("hi")]);
        let error = client.complete(request).await.unwrap_err();
        let ModelError::Http {
            url,
            status,
            message,
            ..
        } = &error
        else {
            panic!("{error:?}");
        };
        assert_eq!(*status, 400);
        for text in [url.as_str(), message.as_str(), &error.to_string()] {
            assert!(
                !text.contains("s3cretpw") && !text.contains("k123") && !text.contains("sk-abc"),
                "{text}"
            );
        }
        assert!(url.contains(&format!("127.0.0.1:{port}")), "{url}");
        assert!(message.contains("prompt too long"), "{message}");

        let bad = OpenAiClient::new(
            "ftp://admin:s3cretpw@h/v1",
            "m",
            None,
            GenParams::default(),
            ClientConfig::default(),
        )
        .unwrap_err();
        assert!(!bad.to_string().contains("s3cretpw"), "{bad}");
        assert!(!format!("{client:?}").contains("s3cretpw"));
    }
}
