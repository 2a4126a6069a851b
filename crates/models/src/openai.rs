//! Client for OpenAI-compatible servers (OpenAI, vLLM, llama.cpp, Ollama, DeepSeek, ...).
//!
//! Behaviour worth knowing when reading results:
//!
//! * **Retries.** 429, 5xx, connection failures (including connect timeouts and connections
//!   dropped before the answer was read) are retried up to `max_retries` times after the first
//!   attempt, with exponential backoff and full jitter. `Retry-After` (seconds or HTTP-date) and
//!   OpenAI's `retry-after-ms` override the computed wait, even above `max_backoff`, up to
//!   [`MAX_RETRY_AFTER`]. No retry is started if its wait would overrun `total_timeout`. A stream
//!   is only retried until its first data event arrives, i.e. before the caller sees anything.
//! * **Timeouts.** `connect_timeout` bounds TCP+TLS setup. `first_token_timeout` bounds, per
//!   attempt, the time from sending the request to the response headers *and*, for streams, the
//!   first SSE data event; a non-streamed body is bounded by `total_timeout` only, since a
//!   server sends it when the whole answer is generated. In a stream it also bounds the gap between two data events, so a server that
//!   stalls mid-answer is caught; SSE comments (keep-alives) do not count as activity there,
//!   since they say the server lives but not that the answer advances. `total_timeout` bounds
//!   the whole request, retries and the streaming of the answer included. Waiting for a
//!   concurrency permit is not timed: it measures our own queue, not the server.
//! * **End of stream.** A stream must end with `data: [DONE]`. Many servers close the connection
//!   right after the chunk carrying `finish_reason` instead; once `finish_reason` has been seen
//!   the answer is complete, so such an ending is accepted (the usage chunk, if it was lost, is
//!   then reported as zeros). Without a `finish_reason`, an ending before `[DONE]` is an error.
//! * **Concurrency.** At most `max_concurrency` requests per client are in flight; a stream
//!   holds its permit until it ends or is dropped. Dropping a stream drops its connection, which
//!   is how servers learn to stop generating.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use assay_core::openai::{ChatCompletionChunk, ChatCompletionRequest, ChatCompletionResponse};
use assay_core::{ChatEvent, ChatRequest, ChatResponse, FinishReason, GenParams, Usage};
use rand::Rng;
use reqwest::header::{HeaderMap, ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use reqwest::Url;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::sse::{SseEvent, SseParser};
use crate::{ChatModel, EventStream, ModelError};

/// The longest `Retry-After` we will wait; a server asking for more is treated as down.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// Bound on a non-streamed answer. Far above any real completion; it only stops a broken
/// server from filling memory.
const MAX_BODY: usize = 64 * 1024 * 1024;
/// How much of an error body is read to find its message.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// How many characters of a body that is not an OpenAI error are quoted in a message.
const QUOTE_CHARS: usize = 500;

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

    /// Runs `attempt` until it succeeds, fails for good, or retries are used up.
    async fn with_retries<T, F, Fut>(
        &self,
        deadline: Instant,
        mut attempt: F,
    ) -> Result<T, ModelError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, ModelError>>,
    {
        let mut retries = 0;
        loop {
            let err = match attempt().await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            if retries >= self.config.max_retries || !should_retry(&err) {
                return Err(err);
            }
            let wait = match retry_after_of(&err) {
                Some(ra) => ra.min(MAX_RETRY_AFTER),
                None => full_jitter(
                    self.config.initial_backoff,
                    self.config.max_backoff,
                    retries,
                ),
            };
            if Instant::now() + wait >= deadline {
                // Sleeping past the deadline only to fail with a timeout would hide the cause.
                return Err(err);
            }
            tracing::debug!(url = %self.url_text, retry = retries + 1, ?wait, error = %err, "retrying");
            tokio::time::sleep(wait).await;
            retries += 1;
        }
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
            self.with_retries(limits.deadline, || self.complete_once(&body, &limits)),
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
            self.with_retries(limits.deadline, || self.open_stream(&body, &limits)),
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
struct Limits {
    deadline: Instant,
    total: Duration,
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
    fn timeout(&self, url: &str, phase_deadline: Instant) -> ModelError {
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

/// An open streamed answer.
struct LiveStream {
    url: String,
    /// `None` once the body has been read to its end.
    response: Option<reqwest::Response>,
    parser: SseParser,
    /// Events parsed but not yet handed out; the last may be `Done`.
    queue: VecDeque<ChatEvent>,
    finish_reason: Option<FinishReason>,
    usage: Option<Usage>,
    idle: Duration,
    last_event: Instant,
    limits: Limits,
    /// Held for the life of the stream; `None` only while it is being opened.
    _permit: Option<OwnedSemaphorePermit>,
}

impl LiveStream {
    fn is_json(&self) -> bool {
        let content_type = self
            .response
            .as_ref()
            .and_then(|r| r.headers().get(CONTENT_TYPE))
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        content_type
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("application/json")
    }

    async fn read_body(&mut self) -> Result<Vec<u8>, BodyError> {
        match self.response.take() {
            Some(r) => read_limited(r, MAX_BODY).await,
            None => Ok(Vec::new()),
        }
    }

    async fn next_chunk(&mut self) -> Result<Option<bytes::Bytes>, reqwest::Error> {
        let Some(response) = self.response.as_mut() else {
            return Ok(None);
        };
        let chunk = response.chunk().await?;
        if chunk.is_none() {
            self.response = None;
        }
        Ok(chunk)
    }

    fn protocol(&self, message: impl Into<String>) -> ModelError {
        ModelError::Protocol {
            url: self.url.clone(),
            message: message.into(),
        }
    }

    fn done(&self) -> ChatEvent {
        ChatEvent::Done {
            finish_reason: self.finish_reason.unwrap_or(FinishReason::Stop),
            usage: self.usage.unwrap_or_default(),
        }
    }

    fn is_done(&self) -> bool {
        matches!(self.queue.back(), Some(ChatEvent::Done { .. }))
    }

    /// Turns one SSE event into chat events on the queue.
    fn handle(&mut self, event: SseEvent) -> Result<(), ModelError> {
        if self.is_done() {
            // Whatever follows `[DONE]` is not part of the answer.
            return Ok(());
        }
        if event.data.trim() == "[DONE]" {
            let done = self.done();
            self.queue.push_back(done);
            // Nothing after [DONE] matters; stop reading so the connection goes at once.
            self.response = None;
            return Ok(());
        }
        // The substring test spares a second JSON parse of every ordinary chunk.
        if event.data.contains("\"error\"") {
            if let Some(e) = error_payload(&self.url, event.data.as_bytes()) {
                return Err(e);
            }
        }
        if event.event.as_deref() == Some("error") {
            return Err(self.protocol(format!("error event: {}", quote(event.data.as_bytes()))));
        }
        let chunk: ChatCompletionChunk = serde_json::from_str(&event.data).map_err(|e| {
            self.protocol(format!(
                "a stream event is not a chat completion chunk ({e}): {}",
                quote(event.data.as_bytes())
            ))
        })?;
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage.into());
        }
        // An assay guard upstream withdrawing what it sent.
        if let Some(retract) = chunk.assay.and_then(|a| a.retract) {
            self.queue.push_back(ChatEvent::Retract {
                offset: retract.offset,
                replace_with: retract.replace_with,
            });
        }
        // We never ask for n > 1, so other choices would be a server bug; ignore them.
        for choice in chunk.choices.into_iter().filter(|c| c.index == 0) {
            if let Some(text) = choice.delta.content.filter(|t| !t.is_empty()) {
                self.queue.push_back(ChatEvent::Delta(text));
            }
            if let Some(reason) = choice.finish_reason {
                self.finish_reason = Some(FinishReason::from_openai(&reason));
            }
        }
        Ok(())
    }

    /// Handles the end of the body; returns whether the answer is complete.
    fn take_trailing(&mut self, trailing: Vec<SseEvent>) -> Result<bool, ModelError> {
        // An event cut off by the end of the stream is only trusted if it is `[DONE]`, which
        // cannot be a truncation of anything else we would accept.
        for event in trailing {
            if event.data.trim() == "[DONE]" {
                self.handle(event)?;
            }
        }
        if self.is_done() {
            return Ok(true);
        }
        if self.finish_reason.is_some() {
            let done = self.done();
            self.queue.push_back(done);
            return Ok(true);
        }
        Ok(false)
    }

    async fn next_event(&mut self) -> Result<Option<ChatEvent>, ModelError> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Ok(Some(event));
            }
            let idle_deadline = self.last_event + self.idle;
            let deadline = idle_deadline.min(self.limits.deadline);
            let chunk = match tokio::time::timeout_at(deadline, self.next_chunk()).await {
                Err(_) => {
                    return Err(if deadline >= self.limits.deadline {
                        ModelError::Timeout {
                            url: self.url.clone(),
                            what: "request",
                            after: self.limits.total,
                        }
                    } else {
                        ModelError::Timeout {
                            url: self.url.clone(),
                            what: "next token",
                            after: self.idle,
                        }
                    })
                }
                Ok(Err(e)) => {
                    let trailing: Vec<SseEvent> = self.parser.finish().into_iter().collect();
                    if self.take_trailing(trailing)? {
                        // Complete answer, only the goodbye was botched.
                        continue;
                    }
                    return Err(self.protocol(format!(
                        "stream ended before [DONE]: {}",
                        error_chain(&e.without_url())
                    )));
                }
                Ok(Ok(c)) => c,
            };
            match chunk {
                Some(bytes) => {
                    let events = self
                        .parser
                        .push(&bytes)
                        .map_err(|e| self.protocol(e.to_string()))?;
                    if !events.is_empty() {
                        self.last_event = Instant::now();
                    }
                    for event in events {
                        self.handle(event)?;
                    }
                }
                None => {
                    let trailing: Vec<SseEvent> = self.parser.finish().into_iter().collect();
                    if !self.take_trailing(trailing)? {
                        return Err(self.protocol("stream ended before [DONE]"));
                    }
                }
            }
            if self.queue.is_empty() && self.response.is_none() {
                return Ok(None);
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

fn should_retry(e: &ModelError) -> bool {
    match e {
        ModelError::Connect { .. } => true,
        ModelError::Http { status, .. } => *status == 429 || *status >= 500,
        // A first-token timeout is not retried: the server is slow, and asking again adds load
        // and multiplies the wait.
        ModelError::Timeout { what, .. } => *what == "connect",
        _ => false,
    }
}

fn retry_after_of(e: &ModelError) -> Option<Duration> {
    match e {
        ModelError::Http { retry_after, .. } => *retry_after,
        _ => None,
    }
}

/// A random wait between zero and the exponential backoff for retry number `retry` (from 0).
fn full_jitter(initial: Duration, max: Duration, retry: u32) -> Duration {
    let ceiling = initial.saturating_mul(2u32.saturating_pow(retry)).min(max);
    let ceiling_ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::thread_rng().gen_range(0..=ceiling_ms))
}

/// Reads `Retry-After` (delay-seconds or IMF-fixdate) or OpenAI's `retry-after-ms`.
fn parse_retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = text("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        if ms.is_finite() && ms >= 0.0 {
            return Some(Duration::from_secs_f64(
                (ms / 1000.0).min(MAX_RETRY_AFTER.as_secs_f64()),
            ));
        }
    }
    let value = text(RETRY_AFTER.as_str())?;
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = parse_http_date(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the only HTTP-date form senders
/// may produce. The two obsolete forms are not worth the code; without a parse, the computed
/// backoff is used.
fn parse_http_date(s: &str) -> Option<SystemTime> {
    let parts: Vec<&str> = s.split_ascii_whitespace().collect();
    let [weekday, day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    if !weekday.ends_with(',') || day.len() != 2 || year.len() != 4 {
        return None;
    }
    let day: u32 = day.parse().ok()?;
    let year: i64 = year.parse().ok()?;
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| m == month)? as u32 + 1;
    let mut hms = time.split(':').map(|p| {
        if p.len() == 2 {
            p.parse::<u32>().ok()
        } else {
            None
        }
    });
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
    if hms.next().is_some() || !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + i64::from(h * 3600 + m * 60 + sec);
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[derive(Debug)]
enum BodyError {
    Transport(reqwest::Error),
    TooLarge,
}

/// Reads a body, failing once it passes `limit` bytes.
async fn read_limited(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, BodyError> {
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if out.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// If `bytes` is an error object (`{"error": ...}`), the error it describes.
fn error_payload(url: &str, bytes: &[u8]) -> Option<ModelError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let error = value.get("error").filter(|e| !e.is_null())?;
    let message = error_message(bytes).unwrap_or_else(|| assay_core::redact(&error.to_string()));
    // Servers that report HTTP-like codes in the payload (vLLM, LiteLLM) get them honoured, so
    // that a 429 or 503 sent inside a 200 stream is retried like the real thing.
    let status = error
        .get("code")
        .and_then(|c| {
            c.as_u64()
                .or_else(|| c.as_str().and_then(|s| s.parse().ok()))
        })
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| (400..=599).contains(c));
    Some(match status {
        Some(status) => ModelError::Http {
            url: url.to_string(),
            status,
            message,
            retry_after: None,
        },
        None => ModelError::Protocol {
            url: url.to_string(),
            message: format!("the server reported: {message}"),
        },
    })
}

/// The message of an error body: OpenAI's `{"error": {"message"}}`, the `{"error": "..."}`,
/// `{"message"}` and `{"detail"}` shapes other servers use, or else the start of the body.
fn error_message(bytes: &[u8]) -> Option<String> {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) {
        let error = value.get("error");
        let nested = error
            .and_then(|e| e.get("message"))
            .and_then(|m| m.as_str());
        let found = nested
            .or_else(|| error.and_then(|e| e.as_str()))
            .or_else(|| value.get("message").and_then(|m| m.as_str()))
            .or_else(|| value.get("detail").and_then(|m| m.as_str()));
        if let Some(message) = found {
            let kind = error.and_then(|e| e.get("type")).and_then(|t| t.as_str());
            // Upstreams echo URLs and keys in their errors; those must not travel on.
            return Some(assay_core::redact(&match kind {
                Some(kind) if !kind.is_empty() => format!("{message} ({kind})"),
                _ => message.to_string(),
            }));
        }
    }
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    (!text.is_empty()).then(|| quote(text.as_bytes()))
}

/// The first [`QUOTE_CHARS`] characters of a body, for error messages, without credentials.
fn quote(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut chars = text.char_indices();
    assay_core::redact(&match chars.nth(QUOTE_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.into_owned(),
    })
}

/// An error and its causes, since reqwest's own message is often just "error sending request".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        // hyper and std often repeat the cause in the message; say it once.
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

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

    #[test]
    fn retry_after_forms() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        let headers = |name: &'static str, v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(name, HeaderValue::from_static(v));
            h
        };
        assert_eq!(
            parse_retry_after(&headers("retry-after", "7"), now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after(
                &headers("retry-after", "Sun, 06 Nov 1994 08:50:07 GMT"),
                now
            ),
            Some(Duration::from_secs(30))
        );
        // A date in the past means now.
        assert_eq!(
            parse_retry_after(
                &headers("retry-after", "Sun, 06 Nov 1994 08:00:00 GMT"),
                now
            ),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after(&headers("retry-after-ms", "1500"), now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after(&headers("retry-after", "soon"), now),
            None
        );
        assert_eq!(parse_retry_after(&headers("retry-after", "-1"), now), None);
        assert_eq!(parse_retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn http_dates() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(UNIX_EPOCH + Duration::from_secs(784_111_777))
        );
        assert_eq!(
            parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"),
            Some(UNIX_EPOCH)
        );
        assert_eq!(
            parse_http_date("Tue, 29 Feb 2000 12:00:00 GMT"),
            Some(UNIX_EPOCH + Duration::from_secs(951_825_600))
        );
        for bad in [
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn backoff_stays_under_its_ceiling() {
        let initial = Duration::from_millis(100);
        let max = Duration::from_millis(1000);
        for retry in 0..40 {
            let ceiling = (initial * 2u32.saturating_pow(retry.min(20))).min(max);
            for _ in 0..20 {
                assert!(full_jitter(initial, max, retry) <= ceiling, "retry {retry}");
            }
        }
        // Jitter means not always the same wait.
        let waits: std::collections::HashSet<_> =
            (0..50).map(|_| full_jitter(initial, max, 5)).collect();
        assert!(waits.len() > 1);
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            error_message(
                br#"{"error":{"message":"no such model","type":"invalid_request_error"}}"#
            )
            .as_deref(),
            Some("no such model (invalid_request_error)")
        );
        assert_eq!(
            error_message(br#"{"error":"model not found"}"#).as_deref(),
            Some("model not found")
        );
        assert_eq!(
            error_message(br#"{"detail":"Not Found"}"#).as_deref(),
            Some("Not Found")
        );
        assert_eq!(
            error_message(b"<html>Bad gateway</html>").as_deref(),
            Some("<html>Bad gateway</html>")
        );
        assert_eq!(error_message(b"  \n"), None);
        let long = "é".repeat(2000);
        let quoted = error_message(long.as_bytes()).unwrap_or_default();
        assert_eq!(quoted.chars().count(), QUOTE_CHARS + 1);
    }

    #[test]
    fn error_payloads() {
        let e = error_payload("u", br#"{"error":{"message":"overloaded","code":503}}"#);
        assert!(
            matches!(e, Some(ModelError::Http { status: 503, .. })),
            "{e:?}"
        );
        let e = error_payload(
            "u",
            br#"{"error":{"message":"bad","code":"context_length_exceeded"}}"#,
        );
        assert!(
            matches!(&e, Some(ModelError::Protocol { message, .. }) if message.contains("bad")),
            "{e:?}"
        );
        assert!(error_payload("u", br#"{"choices":[],"error":null}"#).is_none());
        assert!(error_payload("u", b"[DONE]").is_none());
    }
}
