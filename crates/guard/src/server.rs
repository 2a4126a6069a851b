//! `assay guard`: the guard as an OpenAI-compatible server.
//!
//! Routes: `POST /v1/chat/completions` (streamed and not), `GET /v1/models`, `GET /health`,
//! `GET /metrics` (Prometheus), and `GET /` with a small chat page that applies the
//! retraction protocol.
//!
//! The wire protocol is OpenAI's, plus an `assay` object on the chunk (or response) where the
//! guard acted (see [`assay_core::openai::AssayExtension`]):
//!
//! - a refused prompt, or an answer stopped before anything offending was shown: the content
//!   is the replacement, `finish_reason` is `content_filter`, and `assay.blocked` names the
//!   direction and category;
//! - an answer stopped after offending text was shown (retract mode): a chunk with an empty
//!   delta and `assay.retract = {category, replace_with, offset}` — keep the first `offset`
//!   characters of what was shown and show `replace_with` after them — then a chunk with
//!   `finish_reason: "content_filter"`, then `[DONE]`;
//! - an upstream that fails mid-answer: an error event (OpenAI's error shape), then `[DONE]`;
//!   if the answer's end shows that a term was already shown (nothing follows it), the
//!   retraction comes first.
//!
//! With API keys, `/health` and `/metrics` ask for one of the keys, or for the metrics token
//! when one is set (`Authorization: Bearer …`); without keys or token they are open.
//!
//! A non-streamed answer is collected before it is sent: at most [`MAX_ANSWER_BYTES`] of it
//! (502 `answer_too_large` beyond, and the upstream is stopped); streamed answers are not
//! collected and have no such limit.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use assay_core::openai::{
    AssayExtension, Blocked, ChatCompletionResponse, Choice, Delta, ModelEntry, ModelList,
    ResponseMessage, Retraction, UsageBody,
};
use assay_core::{ChatEvent, FinishReason};
use assay_serve::{parse_request, unix_now, ApiError, ChunkWriter, ServerConfig};
use assay_store::{GuardEventRecord, Store};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::{Stream, StreamExt};

use crate::keys::{bearer_token, estimate_tokens, KeyRing, Refusal, DEFAULT_COMPLETION_RESERVE};
use crate::metrics::Metrics;
use crate::{Action, Generated, Guard, GuardEvent, Intervention};

/// The most of a non-streamed answer the guard collects before answering (4 MiB).
pub const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// Writes the audit log on a thread of its own, so that a slow database never holds up an
/// answer; every intervention is written (the queue does not drop).
#[derive(Clone)]
pub struct AuditLog {
    tx: tokio::sync::mpsc::UnboundedSender<GuardEventRecord>,
}

impl AuditLog {
    /// Starts the writer; it ends when every `AuditLog` clone is dropped, after writing what
    /// was queued.
    pub fn start(store: Store) -> (AuditLog, std::thread::JoinHandle<()>) {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<GuardEventRecord>();
        let writer = std::thread::spawn(move || {
            while let Some(event) = rx.blocking_recv() {
                if let Err(e) = store.record_guard_event(&event) {
                    tracing::error!("guard: cannot write the audit log: {e}");
                }
            }
        });
        (AuditLog { tx }, writer)
    }

    fn write(&self, event: GuardEventRecord) {
        if self.tx.send(event).is_err() {
            tracing::error!("guard: the audit log writer has stopped");
        }
    }
}

/// What the server adds around the guard.
pub struct ServerOptions {
    pub limits: ServerConfig,
    /// API keys; without them, anyone who can reach the port may call it.
    pub keys: Option<Arc<KeyRing>>,
    pub log: Option<AuditLog>,
    /// A token that opens `/health` and `/metrics` (for a monitoring system that should not
    /// hold an API key).
    pub metrics_token: Option<String>,
    /// The most of a non-streamed answer collected ([`MAX_ANSWER_BYTES`] by default).
    pub max_answer_bytes: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            limits: ServerConfig::default(),
            keys: None,
            log: None,
            metrics_token: None,
            max_answer_bytes: MAX_ANSWER_BYTES,
        }
    }
}

struct ServerState {
    guard: Arc<Guard>,
    keys: Option<Arc<KeyRing>>,
    log: Option<AuditLog>,
    metrics_token: Option<String>,
    max_answer_bytes: usize,
    metrics: Arc<Metrics>,
    limits: ServerConfig,
    model_id: String,
    started: u64,
}

/// The guard's routes, and its metrics (also served at `/metrics`).
pub fn router(guard: Arc<Guard>, options: ServerOptions) -> (Router, Arc<Metrics>) {
    let metrics = Arc::new(Metrics::default());
    let state = Arc::new(ServerState {
        model_id: guard.upstream().id().to_string(),
        guard,
        keys: options.keys,
        log: options.log,
        metrics_token: options.metrics_token,
        max_answer_bytes: options.max_answer_bytes,
        metrics: Arc::clone(&metrics),
        limits: options.limits,
        started: unix_now(),
    });
    let router = Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/models", get(list_models))
        .route("/health", get(health))
        .route("/metrics", get(metrics_text))
        .route("/", get(chat_page))
        .route("/chat.js", get(chat_script))
        .with_state(state);
    (router, metrics)
}

/// Whether a request may read the operational endpoints: open without keys and token,
/// otherwise with a known key or the metrics token.
fn may_operate(state: &ServerState, headers: &HeaderMap) -> Result<(), ApiError> {
    if state.keys.is_none() && state.metrics_token.is_none() {
        return Ok(());
    }
    let token = bearer(headers);
    let allowed = token.is_some_and(|token| {
        state
            .metrics_token
            .as_deref()
            .is_some_and(|t| constant_time_eq(t.as_bytes(), token.as_bytes()))
            || state.keys.as_ref().is_some_and(|keys| keys.knows(token))
    });
    if allowed {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_api_key",
        "an API key or the metrics token is required (Authorization: Bearer <key>)",
    ))
}

/// Compares secrets without stopping at the first difference (no timing hint of the prefix).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn health(
    State(state): State<Arc<ServerState>>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    may_operate(&state, &headers)?;
    let policy = state.guard.policy();
    let mut body = serde_json::json!({
        "status": "ok",
        "model": state.model_id,
        "policy": {"name": policy.name, "version": policy.version},
    });
    if let Some(load) = state.guard.upstream().load() {
        body["slots"] = load.slots.into();
        body["busy"] = load.busy.into();
        body["queued"] = load.queued.into();
        body["cancelled"] = load.cancelled.into();
    }
    if let Some(keys) = &state.keys {
        // How many, not which: key ids name customers.
        body["suspended_keys"] = keys.suspended(Instant::now()).len().into();
    }
    Ok(Json(body))
}

async fn list_models(State(state): State<Arc<ServerState>>) -> Json<ModelList> {
    Json(ModelList {
        object: "list".into(),
        data: vec![ModelEntry {
            id: state.model_id.clone(),
            object: "model".into(),
            created: state.started,
            owned_by: "assay-guard".into(),
        }],
    })
}

async fn metrics_text(
    State(state): State<Arc<ServerState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    may_operate(&state, &headers)?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    bearer_token(headers.get(header::AUTHORIZATION)?.to_str().ok()?)
}

/// The response for a request turned away by the key checks.
fn turned_away(state: &ServerState, refusal: Refusal) -> Response {
    let (status, kind, message, retry_after, outcome) = match refusal {
        Refusal::Unauthorized => (
            StatusCode::UNAUTHORIZED,
            "invalid_api_key",
            "a valid API key is required (Authorization: Bearer <key>)".to_string(),
            None,
            "unauthorized",
        ),
        Refusal::RateLimited { what, retry_after } => (
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_exceeded",
            format!("rate limit reached ({what}); retry in {retry_after} s"),
            Some(retry_after),
            "rate_limited",
        ),
        Refusal::Suspended { retry_after } => (
            StatusCode::FORBIDDEN,
            "key_suspended",
            format!(
                "this key is suspended after repeated policy violations; it is released in {retry_after} s"
            ),
            Some(retry_after),
            "suspended",
        ),
    };
    state
        .metrics
        .count("assay_guard_requests_total", &[("outcome", outcome)]);
    let mut response = ApiError::new(status, kind, message).into_response();
    if let Some(seconds) = retry_after {
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    response
}

async fn chat_completions(
    State(state): State<Arc<ServerState>>,
    request: Request,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let key_id = match &state.keys {
        Some(keys) => match keys.admit(bearer(request.headers()), started) {
            Ok(id) => id,
            Err(refusal) => return Ok(turned_away(&state, refusal)),
        },
        None => String::new(),
    };
    let (parsed, chat) = parse_request(request, &state.limits, &state.model_id).await?;
    let prompt_tokens = chat
        .messages
        .iter()
        .map(|m| m.content.as_str())
        .chain(chat.params.system.as_deref())
        .fold(0u32, |sum, text| sum.saturating_add(estimate_tokens(text)));
    let reserved = match &state.keys {
        Some(keys) => {
            let completion = chat.params.max_tokens.unwrap_or(DEFAULT_COMPLETION_RESERVE);
            // Now, not `started`: reading the body took time, and a bucket must not be
            // refilled from an instant before its last refill.
            let now = Instant::now();
            match keys.reserve(&key_id, prompt_tokens.saturating_add(completion), now) {
                Ok(reserved) => reserved,
                Err(refusal) => return Ok(turned_away(&state, refusal)),
            }
        }
        None => 0,
    };
    let id = format!("chatcmpl-{:016x}", rand::random::<u64>());
    let mut recorder = Recorder {
        state: Arc::clone(&state),
        key_id,
        request_id: id.clone(),
        started,
        first_text: true,
        outcome: "error",
        violated: false,
        reserved,
        prompt_tokens,
        reported: 0,
        refused: false,
        generated: None,
    };
    let metrics = Arc::clone(&state.metrics);
    let events = state
        .guard
        .chat(chat)
        .await
        .map_err(ApiError::from)?
        .with_chunk_timer(Arc::new(move |elapsed| {
            metrics.observe("assay_guard_chunk_seconds", elapsed)
        }));
    recorder.generated = Some(events.generated());
    let created = unix_now();
    if parsed.stream {
        let writer = ChunkWriter {
            id,
            created,
            model: state.model_id.clone(),
        };
        let sse = sse_events(events, recorder, writer, parsed.include_usage());
        return Ok(Sse::new(sse).into_response());
    }
    let mut events = events;
    let mut text = String::new();
    let mut assay = AssayExtension::default();
    while let Some(event) = events.next().await {
        match recorder.observe(event) {
            Wire::Text(t) => text.push_str(&t),
            Wire::Blocked(t, blocked) => {
                text.push_str(&t);
                assay.blocked = Some(blocked);
            }
            Wire::Retract(r) => {
                ChatEvent::Retract {
                    offset: r.offset,
                    replace_with: r.replace_with.clone(),
                }
                .apply_to(&mut text);
                assay.retract = Some(r);
            }
            Wire::Done(finish_reason, usage) => {
                let response = ChatCompletionResponse {
                    id,
                    object: "chat.completion".into(),
                    created,
                    model: state.model_id.clone(),
                    choices: vec![Choice {
                        index: 0,
                        message: ResponseMessage {
                            role: "assistant".into(),
                            content: Some(text),
                        },
                        finish_reason: Some(finish_reason.as_str().into()),
                    }],
                    usage: Some(usage),
                    assay: (assay != AssayExtension::default()).then_some(assay),
                };
                return Ok(Json(response).into_response());
            }
            Wire::Error(e) => return Err(e),
            Wire::Nothing => {}
        }
        if text.len() > state.max_answer_bytes {
            // Dropping the events (on return) stops the upstream; the recorder charges
            // what it generated.
            tracing::warn!(
                "guard: request {} stopped: its non-streamed answer passed {} bytes",
                recorder.request_id,
                state.max_answer_bytes
            );
            recorder.outcome = "too_large";
            return Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                "answer_too_large",
                format!(
                    "the answer passed {} bytes, the most the guard collects for a non-streamed answer; ask for a streamed answer (\"stream\": true)",
                    state.max_answer_bytes
                ),
            ));
        }
    }
    Err(ApiError::new(
        StatusCode::BAD_GATEWAY,
        "upstream_error",
        "the answer ended without finishing",
    ))
}

/// A guard event as the wire sees it.
enum Wire {
    Nothing,
    Text(String),
    /// Replacement text, and what blocked.
    Blocked(String, Blocked),
    Retract(Retraction),
    Done(FinishReason, UsageBody),
    Error(ApiError),
}

/// Follows one request: logs interventions, counts metrics, and on drop (the answer ended,
/// or the client went away) settles the key's usage and violations.
struct Recorder {
    state: Arc<ServerState>,
    key_id: String,
    request_id: String,
    started: Instant,
    first_text: bool,
    outcome: &'static str,
    violated: bool,
    /// Tokens set aside at admission.
    reserved: u32,
    /// The estimate of the prompt's tokens.
    prompt_tokens: u32,
    /// Tokens of the upstream's usage report (0 without one).
    reported: u32,
    /// The prompt was refused: the model never saw it.
    refused: bool,
    /// What the upstream generated, for answers without a usage report.
    generated: Option<Arc<Generated>>,
}

impl Recorder {
    fn intervention(&mut self, i: &Intervention) {
        if i.action != Action::Log {
            self.violated = true;
        }
        self.state.metrics.count(
            "assay_guard_interventions_total",
            &[
                ("direction", i.direction.as_str()),
                ("category", &i.category),
                ("action", i.action.as_str()),
            ],
        );
        if let Some(log) = &self.state.log {
            log.write(GuardEventRecord {
                created_at: assay_core::now_rfc3339(),
                key_id: self.key_id.clone(),
                request_id: self.request_id.clone(),
                model: self.state.model_id.clone(),
                direction: i.direction.as_str().to_string(),
                category: i.category.clone(),
                action: i.action.as_str().to_string(),
                offset: i.offset as u64,
                rule: i.rule.clone(),
            });
        }
    }

    fn text(&mut self, text: String) -> String {
        if self.first_text && !text.is_empty() {
            self.first_text = false;
            self.state
                .metrics
                .observe("assay_guard_first_token_seconds", self.started.elapsed());
        }
        text
    }

    fn term(&self, i: &Intervention) -> Option<String> {
        self.state
            .guard
            .config()
            .reveal_terms
            .then(|| i.rule.clone())
    }

    fn observe(&mut self, event: GuardEvent) -> Wire {
        match event {
            GuardEvent::Delta(t) => Wire::Text(self.text(t)),
            GuardEvent::Logged(i) => {
                self.intervention(&i);
                Wire::Nothing
            }
            GuardEvent::Refused { text, intervention }
            | GuardEvent::Replaced { text, intervention } => {
                self.intervention(&intervention);
                self.outcome = match intervention.direction {
                    crate::Direction::Input => {
                        self.refused = true;
                        "refused"
                    }
                    crate::Direction::Output => "stopped",
                };
                let blocked = Blocked {
                    direction: intervention.direction.as_str().to_string(),
                    term: self.term(&intervention),
                    category: intervention.category,
                };
                Wire::Blocked(self.text(text), blocked)
            }
            GuardEvent::Retracted {
                offset,
                replace_with,
                intervention,
            } => {
                self.intervention(&intervention);
                self.outcome = "stopped";
                Wire::Retract(Retraction {
                    term: self.term(&intervention),
                    category: Some(intervention.category),
                    replace_with,
                    offset,
                })
            }
            GuardEvent::Done {
                finish_reason,
                usage,
            } => {
                if finish_reason != FinishReason::ContentFilter {
                    self.outcome = "ok";
                }
                self.reported = usage.prompt_tokens.saturating_add(usage.completion_tokens);
                Wire::Done(finish_reason, UsageBody::from(usage))
            }
            GuardEvent::Error(e) => {
                self.outcome = "error";
                Wire::Error(ApiError::from(e))
            }
        }
    }
}

impl Recorder {
    /// The tokens to charge: the upstream's report; else (an answer stopped by the guard,
    /// cut off upstream or abandoned by its client, or an upstream that reports no usage)
    /// the prompt and what was generated, estimated; nothing when the model was never
    /// called.
    fn used(&self) -> u32 {
        if self.refused {
            return 0;
        }
        if self.reported > 0 {
            return self.reported;
        }
        match self.generated.as_ref().map(|g| g.tokens()) {
            Some(generated) if generated > 0 => self.prompt_tokens.saturating_add(generated),
            _ => 0,
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.state
            .metrics
            .count("assay_guard_requests_total", &[("outcome", self.outcome)]);
        if let Some(keys) = &self.state.keys {
            keys.settle(
                &self.key_id,
                self.reserved,
                self.used(),
                self.violated,
                Instant::now(),
            );
        }
    }
}

/// The SSE stream of a guarded answer (see the module docs for the protocol).
fn sse_events(
    events: crate::GuardStream,
    mut recorder: Recorder,
    writer: ChunkWriter,
    include_usage: bool,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let first = writer.role();
    let content = |text: String| Delta {
        role: None,
        content: Some(text),
    };
    let body = events.flat_map(move |event| {
        let out: Vec<Event> = match recorder.observe(event) {
            Wire::Nothing => Vec::new(),
            Wire::Text(t) => vec![writer.event(content(t), None, None, None)],
            Wire::Blocked(t, blocked) => vec![writer.event(
                content(t),
                None,
                None,
                Some(AssayExtension {
                    blocked: Some(blocked),
                    ..AssayExtension::default()
                }),
            )],
            Wire::Retract(r) => vec![writer.event(
                Delta::default(),
                None,
                None,
                Some(AssayExtension {
                    retract: Some(r),
                    ..AssayExtension::default()
                }),
            )],
            Wire::Done(finish, usage) => {
                let mut out =
                    vec![writer.event(Delta::default(), Some(finish.as_str()), None, None)];
                if include_usage {
                    out.push(writer.event(Delta::default(), None, Some(usage), None));
                }
                out
            }
            Wire::Error(e) => {
                vec![Event::default().data(serde_json::to_string(&e.body()).unwrap_or_default())]
            }
        };
        futures::stream::iter(out)
    });
    assay_serve::answer_stream(first, body)
}

/// The chat page holds no data (the script asks `/v1/models` and streams answers into the page
/// with `textContent`), so it is a static asset rather than a template.
async fn chat_page() -> Response {
    (
        [(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'",
        )],
        Html(include_str!("../assets/chat.html")),
    )
        .into_response()
}

async fn chat_script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../assets/chat.js"),
    )
        .into_response()
}
