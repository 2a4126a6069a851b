//! An OpenAI-compatible server (`/v1/chat/completions`, `/v1/models`, `/health`, and a
//! plain-text hint at `/`) in front of any [`ChatModel`]. `assay serve` puts the embedded local model behind it; the guard will reuse the
//! same wire handling in front of any upstream.
//!
//! Limits are explicit: request bodies are capped (413), `max_tokens` is capped (400), and a
//! model that is at capacity answers 503. Dropping the connection drops the answer stream, which
//! cancels generation. Connections have deadlines and a cap ([`serve_with`]); a server on a
//! private address can refuse other sites' pages ([`same_origin_only`]); errors of the model
//! behind it reach clients as a request id, their details the log ([`ApiError`]).

mod error;
mod listen;
mod origin;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use error::{new_request_id, ApiError, REQUEST_ID_HEADER};
pub use listen::{serve, serve_with, BodyTimedOut};
pub use origin::{require_json, same_origin_only, AllowedHosts};

use assay_core::openai::{
    AssayExtension, ChatCompletionChunk, ChatCompletionRequest, ChatCompletionResponse, Choice,
    ChunkChoice, Delta, ModelEntry, ModelList, ResponseMessage, Retraction, UsageBody,
};
use assay_core::{ChatEvent, ChatRequest};
use assay_models::ChatModel;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::{Stream, StreamExt};

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Largest `max_tokens` a request may ask for.
    pub max_tokens_limit: u32,
    /// How long a connection may take to send a request's head (request line and headers);
    /// also how long an idle keep-alive connection stays open between requests.
    pub header_timeout: Duration,
    /// How long a request's body may take to arrive once its head is in (408 after).
    pub body_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog until one closes.
    pub max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body_bytes: 4 * 1024 * 1024,
            max_tokens_limit: 4096,
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(60),
            max_connections: 4096,
        }
    }
}

#[derive(Clone)]
struct AppState {
    model: Arc<dyn ChatModel>,
    config: Arc<ServerConfig>,
    started: u64,
}

pub fn router(model: Arc<dyn ChatModel>, config: ServerConfig) -> Router {
    let state = AppState {
        model,
        config: Arc::new(config),
        started: unix_now(),
    };
    Router::new()
        .route("/", get(root_hint))
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/models", get(list_models))
        .route("/health", get(health))
        .fallback(not_found)
        .with_state(state)
}

/// `GET /`: what this server is and where its API is. People open a server's address in a
/// browser first; a bare 404 there reads as "not running".
async fn root_hint(State(state): State<AppState>) -> Response {
    let text = format!(
        "assay serve: an OpenAI-compatible API for model {id}.\n\n\
         POST /v1/chat/completions   chat completions (\"stream\": true for server-sent events)\n\
         GET  /v1/models             the model served\n\
         GET  /health                liveness and load\n\n\
         Give OpenAI clients this address followed by /v1 as their base URL, and \"{id}\" as \
         the model.\n",
        id = state.model.id()
    );
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
}

async fn not_found(request: Request) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no route for {} {}", request.method(), request.uri().path()),
    )
}

async fn health(State(state): State<AppState>) -> Json<serde_json::Value> {
    let mut body = serde_json::json!({ "status": "ok", "model": state.model.id() });
    if let Some(load) = state.model.load() {
        body["slots"] = load.slots.into();
        body["busy"] = load.busy.into();
        body["queued"] = load.queued.into();
        body["cancelled"] = load.cancelled.into();
    }
    Json(body)
}

async fn list_models(State(state): State<AppState>) -> Json<ModelList> {
    Json(ModelList {
        object: "list".into(),
        data: vec![ModelEntry {
            id: state.model.id().to_string(),
            object: "model".into(),
            created: state.started,
            owned_by: "assay".into(),
        }],
    })
}

/// Why [`read_body_within`] read no body.
#[derive(Debug)]
pub enum BodyError {
    /// Longer than the limit, whether or not it declared its length.
    TooLarge,
    /// Any other failure to read it (a dropped connection, a [`BodyTimedOut`]).
    Unreadable(axum::Error),
}

/// The request body, at most `limit` bytes: the one reading rule of every server here, each
/// answering a [`BodyError`] in its own error type.
pub async fn read_body_within(request: Request, limit: usize) -> Result<Bytes, BodyError> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    axum::body::to_bytes(request.into_body(), limit)
        .await
        .map_err(|e| {
            // to_bytes stops at the limit for chunked bodies that declared no length.
            let is_limit = causes(&e).any(|e| e.to_string().contains("length limit exceeded"));
            if is_limit {
                BodyError::TooLarge
            } else {
                BodyError::Unreadable(e)
            }
        })
}

/// `error` and its sources, outermost first.
fn causes<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(error), |e| e.source())
}

/// The request body, refused (413) past `limit` bytes whether or not it declared its length.
pub async fn read_body(request: Request, limit: usize) -> Result<Bytes, ApiError> {
    read_body_within(request, limit)
        .await
        .map_err(|error| match error {
            BodyError::TooLarge => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request_too_large",
                format!("request body exceeds {limit} bytes"),
            ),
            BodyError::Unreadable(e) => {
                match causes(&e).find_map(|e| e.downcast_ref::<BodyTimedOut>()) {
                    Some(late) => ApiError::new(
                        StatusCode::REQUEST_TIMEOUT,
                        "request_timeout",
                        late.to_string(),
                    ),
                    None => ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_request_error",
                        format!("cannot read request body: {e}"),
                    ),
                }
            }
        })
}

async fn chat_completions(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ApiError> {
    let (parsed, chat) = parse_request(request, &state.config, state.model.id()).await?;
    let id = format!("chatcmpl-{:016x}", rand::random::<u64>());
    let created = unix_now();
    let model_id = state.model.id().to_string();
    let events = state.model.stream(chat).await?;
    if parsed.stream {
        let writer = ChunkWriter {
            id,
            created,
            model: model_id,
        };
        let sse = sse_events(events, writer, parsed.include_usage());
        return Ok(Sse::new(sse).into_response());
    }
    let answer = assay_models::collect(events).await?;
    let response = ChatCompletionResponse {
        id,
        object: "chat.completion".into(),
        created,
        model: model_id,
        choices: vec![Choice {
            index: 0,
            message: ResponseMessage {
                role: "assistant".into(),
                content: Some(answer.text),
            },
            finish_reason: Some(answer.finish_reason.as_str().into()),
        }],
        usage: Some(UsageBody::from(answer.usage)),
        assay: None,
    };
    Ok(Json(response).into_response())
}

/// Reads and checks a chat completion request for the model `model_id`: content type, body
/// size, JSON, model name, messages, `n` and `max_tokens` (400/404/408/413/415 otherwise).
pub async fn parse_request(
    request: Request,
    config: &ServerConfig,
    model_id: &str,
) -> Result<(ChatCompletionRequest, ChatRequest), ApiError> {
    require_json(request.headers())?;
    let body = read_body(request, config.max_body_bytes).await?;
    let parsed: ChatCompletionRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            format!("invalid JSON body: {e}"),
        )
    })?;
    if parsed.model != model_id {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "model_not_found",
            format!(
                "the model {:?} does not exist here; this server serves {model_id:?}",
                parsed.model
            ),
        ));
    }
    if parsed.messages.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "messages must not be empty",
        ));
    }
    if parsed.n.is_some_and(|n| n != 1) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "n must be 1: this server gives one answer per request",
        ));
    }
    let params = parsed.params();
    if let Some(n) = params.max_tokens {
        if n == 0 || n > config.max_tokens_limit {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                format!(
                    "max_tokens must be between 1 and {}",
                    config.max_tokens_limit
                ),
            ));
        }
    }
    let chat = ChatRequest {
        messages: parsed.messages.clone(),
        params,
    };
    Ok((parsed, chat))
}

/// Writes the SSE events of one streamed answer.
pub struct ChunkWriter {
    pub id: String,
    pub created: u64,
    pub model: String,
}

impl ChunkWriter {
    /// One `chat.completion.chunk` event: a delta (with its finish reason), or the usage
    /// alone (no choices, as OpenAI sends it), with the guard's extension where it acted.
    pub fn event(
        &self,
        delta: Delta,
        finish: Option<&str>,
        usage: Option<UsageBody>,
        assay: Option<AssayExtension>,
    ) -> Event {
        let choices = if usage.is_some() {
            Vec::new()
        } else {
            vec![ChunkChoice {
                index: 0,
                delta,
                finish_reason: finish.map(str::to_string),
            }]
        };
        let chunk = ChatCompletionChunk {
            id: self.id.clone(),
            object: "chat.completion.chunk".into(),
            created: self.created,
            model: self.model.clone(),
            choices,
            usage,
            assay,
        };
        Event::default().data(serde_json::to_string(&chunk).unwrap_or_default())
    }

    /// The first event of an answer: the assistant role and empty content.
    pub fn role(&self) -> Event {
        self.event(
            Delta {
                role: Some("assistant".into()),
                content: Some(String::new()),
            },
            None,
            None,
            None,
        )
    }
}

/// OpenAI's chunk sequence: a role chunk, content chunks, a chunk with `finish_reason`, an
/// optional usage chunk, then `[DONE]`. An error mid-answer becomes an error event before `[DONE]`,
/// so a client never waits on a stream that silently stopped.
fn sse_events(
    events: assay_models::EventStream,
    writer: ChunkWriter,
    include_usage: bool,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let first = writer.role();
    let body = events.flat_map(move |event| {
        let out: Vec<Event> = match event {
            Ok(ChatEvent::Delta(text)) => vec![writer.event(
                Delta {
                    role: None,
                    content: Some(text),
                },
                None,
                None,
                None,
            )],
            // A guarded model withdrawing what it sent (the guard's retraction protocol).
            Ok(ChatEvent::Retract {
                offset,
                replace_with,
            }) => vec![writer.event(
                Delta::default(),
                None,
                None,
                Some(AssayExtension {
                    retract: Some(Retraction {
                        category: None,
                        replace_with,
                        offset,
                        term: None,
                    }),
                    ..AssayExtension::default()
                }),
            )],
            Ok(ChatEvent::Done {
                finish_reason,
                usage,
            }) => {
                let mut out =
                    vec![writer.event(Delta::default(), Some(finish_reason.as_str()), None, None)];
                if include_usage {
                    out.push(writer.event(
                        Delta::default(),
                        None,
                        Some(UsageBody::from(usage)),
                        None,
                    ));
                }
                out
            }
            Err(e) => {
                let body = ApiError::from(e).body();
                vec![Event::default().data(serde_json::to_string(&body).unwrap_or_default())]
            }
        };
        futures::stream::iter(out)
    });
    answer_stream(first, body)
}

/// An answer's whole SSE stream: `first` (the role chunk), the events of `body`, then `[DONE]`.
pub fn answer_stream(
    first: Event,
    body: impl Stream<Item = Event>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    futures::stream::once(async move { first })
        .chain(body)
        .chain(futures::stream::once(async {
            Event::default().data("[DONE]")
        }))
        .map(Ok)
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
