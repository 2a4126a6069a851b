//! The arena web app: blind side-by-side battles between models, votes, and a leaderboard —
//! LMSYS's Chatbot Arena, self-hosted in one binary.
//!
//! # Routes
//!
//! | route | what |
//! |---|---|
//! | `GET /` | the battle page |
//! | `POST /api/chat` | `{"battle_id"?, "prompt"}` → an event stream of both answers (see below) |
//! | `POST /api/vote` | `{"battle_id", "winner": "model_a"\|"model_b"\|"tie"\|"tie (bothbad)"}` → the names |
//! | `GET /leaderboard` | the leaderboard page (`?lang=Chinese`, `?cat=coding`, `?style=on`) |
//! | `GET /api/leaderboard` | the same as JSON |
//! | `GET /health` | liveness |
//!
//! `POST /api/chat` without a battle id samples two models and starts a battle; with one it
//! continues that battle (same pair, each model sees its own side of the conversation). Its
//! answer is a `text/event-stream` of
//! `battle {"battle_id", "turn"}`, then `answer {"side": "a"|"b", "html", "done"}` (the whole
//! answer so far, rendered and sanitized, at most every `render_interval` per side),
//! `done {"side", "finish"}` or `failed {"side", "message"}`, and last
//! `end {"can_vote", "can_continue", "turn"}`.
//!
//! # Blindness
//!
//! Before a vote nothing that reaches the browser names a model: pages carry no model list,
//! events carry sides (`a`/`b`), never names, errors are generic ("model A failed to answer"),
//! and no header names a model. The names come back only in the answer to the vote.
//!
//! # Limits
//!
//! Prompts are limited to `max_prompt_bytes` (413), answers to `max_answer_bytes` each (cut
//! there), a battle to `max_turns` turns and `max_battle_bytes` of text, the server to
//! `max_battles` battles in memory (the one idle longest goes first) and
//! `max_generating` turns being generated at once (503). Battles idle for `battle_idle` are
//! forgotten. A voter may vote `daily_cap` times in 24 hours, and a client address (an IPv6
//! address by its /64) `address_daily_cap` times (429).

mod battles;
mod board;
mod caps;
mod category;
mod pages;
pub mod render;
pub mod security;
mod svg;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use assay_arena::lang::{detect, DetectedLanguage};
use assay_arena::leak::LeakDetector;
use assay_arena::models::{ModelInfo, ModelPlan};
use assay_arena::sampler::{Sampler, SamplerError, SamplerModel};
use assay_core::{ChatEvent, ChatRequest, Message};
use assay_models::{ChatModel, EventStream, ModelError};
use assay_store::{Store, VoteRecord};
use axum::body::Bytes;
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::StreamExt;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

pub use battles::Status as BattleStatus;
pub use board::LeaderboardView;

/// Settings of the arena server. [`WebConfig::default`] documents the defaults.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Largest prompt, in bytes (16 KiB); larger ones get 413.
    pub max_prompt_bytes: usize,
    /// Largest answer kept per side and turn, in bytes (32 KiB); the rest is cut.
    pub max_answer_bytes: usize,
    /// Turns per battle (8).
    pub max_turns: u32,
    /// Text of one battle, both sides, all turns (128 KiB): no more turns past it.
    pub max_battle_bytes: usize,
    /// Battles held in memory (1000).
    pub max_battles: usize,
    /// A battle idle this long is forgotten (30 min).
    pub battle_idle: Duration,
    /// Turns generated at once (32); more get 503.
    pub max_generating: usize,
    /// Longest a turn may take (5 min).
    pub answer_timeout: Duration,
    /// How often a side's answer so far is re-rendered and sent (100 ms).
    pub render_interval: Duration,
    /// Votes per voter in 24 hours (200).
    pub daily_cap: u64,
    /// Votes per client address (an IPv6 address counts by its /64) in 24 hours, counted by
    /// this process (200). The voter cap alone is a cookie the client could replace.
    pub address_daily_cap: u64,
    /// How long a model that failed sits out (5 min; zero: never).
    pub bench_for: Duration,
    /// Rated votes a language or a category needs to get its own leaderboard tab (10).
    pub min_language_votes: u64,
    /// Bootstrap rounds for the leaderboard's confidence intervals (200).
    pub bootstrap_rounds: usize,
    /// A computed leaderboard is reused until this server records a vote or this much time has
    /// passed (5 min); votes cast through other servers sharing the store show after it.
    pub leaderboard_ttl: Duration,
    /// Salt of the IP hash; random per start when unset (then hashes of one address differ
    /// between restarts).
    pub ip_salt: Option<String>,
    /// Seed of the model sampler (random when unset).
    pub seed: Option<u64>,
    /// Mark cookies `Secure` (serve over HTTPS).
    pub secure_cookies: bool,
    /// Take the client address from the last address of `X-Forwarded-For` (only behind one
    /// proxy that appends it; the addresses before it are whatever the client sent).
    pub trust_forwarded_for: bool,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            max_prompt_bytes: 16 * 1024,
            max_answer_bytes: 32 * 1024,
            max_turns: 8,
            max_battle_bytes: 128 * 1024,
            max_battles: 1000,
            battle_idle: Duration::from_secs(30 * 60),
            max_generating: 32,
            answer_timeout: Duration::from_secs(300),
            render_interval: Duration::from_millis(100),
            daily_cap: 200,
            address_daily_cap: 200,
            bench_for: Duration::from_secs(300),
            min_language_votes: 10,
            bootstrap_rounds: 200,
            leaderboard_ttl: Duration::from_secs(300),
            ip_salt: None,
            seed: None,
            secure_cookies: false,
            trust_forwarded_for: false,
        }
    }
}

/// A model of the arena: its plan (names, weight, leaderboard facts) and its client.
#[derive(Clone)]
pub struct ArenaModel {
    pub plan: ModelPlan,
    pub client: Arc<dyn ChatModel>,
}

/// The arena could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{0}")]
    Sampler(#[from] SamplerError),
    #[error("{0}")]
    Config(String),
}

struct Arena {
    models: Vec<ArenaModel>,
    infos: Vec<ModelInfo>,
    store: Arc<Store>,
    config: WebConfig,
    battles: Mutex<battles::Battles>,
    sampler: Mutex<(Sampler, StdRng)>,
    leaks: LeakDetector,
    ip_salt: String,
    address_votes: Mutex<caps::AddressVotes>,
    generating: Arc<Semaphore>,
    boards: board::Cache,
}

type AppState = Arc<Arena>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The arena's routes. `infos` adds leaderboard facts (organization, license) for models that
/// no longer battle; pass an empty list when there are none.
pub fn router(
    models: Vec<ArenaModel>,
    infos: Vec<ModelInfo>,
    store: Arc<Store>,
    config: WebConfig,
) -> Result<Router, SetupError> {
    Ok(routes(arena_state(models, infos, store, config)?))
}

fn arena_state(
    models: Vec<ArenaModel>,
    infos: Vec<ModelInfo>,
    store: Arc<Store>,
    config: WebConfig,
) -> Result<AppState, SetupError> {
    let sampler = Sampler::new(
        models
            .iter()
            .map(|m| SamplerModel {
                name: m.plan.display.clone(),
                weight: m.plan.weight,
                boost: m.plan.boost,
            })
            .collect(),
        config.bench_for,
    )?;
    let rng = match config.seed {
        Some(seed) => StdRng::seed_from_u64(seed),
        None => StdRng::from_entropy(),
    };
    let mut names: Vec<String> = Vec::new();
    for m in &models {
        names.push(m.plan.display.clone());
        names.push(m.plan.spec.raw.clone());
        names.extend(LeakDetector::names_for_model_id(m.plan.spec.model_id()));
        names.extend(LeakDetector::names_for_model_id(m.client.id()));
    }
    let mut all_infos: Vec<ModelInfo> = models
        .iter()
        .map(|m| ModelInfo {
            display: m.plan.display.clone(),
            organization: m.plan.organization.clone(),
            license: m.plan.license.clone(),
        })
        .collect();
    for info in infos {
        if !all_infos.iter().any(|i| i.display == info.display) {
            all_infos.push(info);
        }
    }
    let ip_salt = config
        .ip_salt
        .clone()
        .unwrap_or_else(security::random_token);
    let state = Arc::new(Arena {
        battles: Mutex::new(battles::Battles::new(
            config.max_battles,
            config.battle_idle,
        )),
        sampler: Mutex::new((sampler, rng)),
        leaks: LeakDetector::new(&names),
        generating: Arc::new(Semaphore::new(config.max_generating.max(1))),
        boards: board::Cache::default(),
        address_votes: Mutex::new(caps::AddressVotes::new(Duration::from_secs(24 * 3600))),
        ip_salt,
        models,
        infos: all_infos,
        store,
        config,
    });
    Ok(state)
}

fn routes(state: AppState) -> Router {
    Router::new()
        .route("/", get(battle_page))
        .route("/leaderboard", get(leaderboard_page))
        .route("/api/leaderboard", get(leaderboard_json))
        .route("/api/chat", post(chat))
        .route("/api/vote", post(vote))
        .route("/health", get(health))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(state)
}

/// Serves `router` on `listener` (recording client addresses for the IP hash) until
/// `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The accept loop all assay servers share: header and body deadlines, a connection cap,
    // TCP_NODELAY, graceful shutdown; every request carries `ConnectInfo<SocketAddr>`, which
    // the vote checks read.
    assay_serve::serve(listener, router, shutdown).await
}

/// Headers every response gets; pages set their own Content-Security-Policy (with a nonce).
async fn security_headers(request: Request, next: axum::middleware::Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(security::API_CSP));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// An error as JSON `{"error": {"code", "message"}}` with its status.
#[derive(Debug)]
pub struct WebError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl WebError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> WebError {
        WebError {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}

async fn not_found(request: Request) -> WebError {
    WebError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no page at {} {}", request.method(), request.uri().path()),
    )
}

async fn health(State(arena): State<AppState>) -> Json<serde_json::Value> {
    Json(json!({"status": "ok", "models": arena.models.len()}))
}

fn page_response(
    html: String,
    nonce: &str,
    with_script: bool,
    cookies: Vec<HeaderValue>,
) -> Response {
    let mut response = Html(html).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&security::page_csp(nonce, with_script)).expect("ASCII policy"),
    );
    for c in cookies {
        h.append(header::SET_COOKIE, c);
    }
    response
}

async fn battle_page(State(arena): State<AppState>, headers: HeaderMap) -> Response {
    let session = security::session(&headers, arena.config.secure_cookies);
    let nonce = security::nonce();
    let html = pages::battle_page(&nonce, &session.csrf, &arena.config);
    page_response(html, &nonce, true, session.set_cookies)
}

/// The checks every POST passes: a JSON body, the CSRF double submit, a voter cookie.
/// Returns the voter id.
fn check_post(headers: &HeaderMap) -> Result<String, WebError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    if !json {
        return Err(WebError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send JSON (Content-Type: application/json)",
        ));
    }
    security::check_csrf(headers).map_err(|e| {
        let why = match e {
            security::CsrfError::MissingCookie => "the CSRF cookie is missing",
            security::CsrfError::MissingHeader => "the X-CSRF-Token header is missing",
            security::CsrfError::Mismatch => "the X-CSRF-Token header does not match the cookie",
        };
        WebError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            format!("request refused: {why}; reload the page and try again"),
        )
    })?;
    security::cookie(headers, security::VOTER_COOKIE)
        .filter(|v| security::well_formed(v, 64))
        .ok_or_else(|| {
            WebError::new(
                StatusCode::FORBIDDEN,
                "no_voter",
                "the voter cookie is missing; reload the page (cookies must be enabled)",
            )
        })
}

fn too_large(limit: usize) -> WebError {
    WebError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "prompt_too_large",
        format!(
            "the prompt is too long: the limit is {} ({limit} bytes)",
            human_bytes(limit)
        ),
    )
}

fn human_bytes(n: usize) -> String {
    if n >= 1024 && n & 1023 == 0 {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

/// Reads a body of at most `limit` bytes; `prompt_limit` names the limit users care about.
async fn read_body(request: Request, limit: usize, prompt_limit: usize) -> Result<Bytes, WebError> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(prompt_limit));
    }
    axum::body::to_bytes(request.into_body(), limit)
        .await
        .map_err(|e| {
            let is_limit =
                std::iter::successors(Some(&e as &dyn std::error::Error), |e| e.source())
                    .any(|e| e.to_string().contains("length limit exceeded"));
            if is_limit {
                too_large(prompt_limit)
            } else {
                WebError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    format!("cannot read the request: {e}"),
                )
            }
        })
}

fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, WebError> {
    serde_json::from_slice(body).map_err(|e| {
        WebError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("invalid request: {e}"),
        )
    })
}

#[derive(Deserialize)]
struct ChatBody {
    #[serde(default)]
    battle_id: Option<String>,
    prompt: String,
}

fn conflict(code: &'static str, message: &str) -> WebError {
    WebError::new(StatusCode::CONFLICT, code, message)
}

fn unknown_battle() -> WebError {
    WebError::new(
        StatusCode::NOT_FOUND,
        "unknown_battle",
        "this battle is unknown or has expired; start a new battle",
    )
}

const SIDES: [&str; 2] = ["a", "b"];

async fn chat(State(arena): State<AppState>, request: Request) -> Result<Response, WebError> {
    let voter = check_post(request.headers())?;
    let max_prompt = arena.config.max_prompt_bytes;
    // JSON escapes (quotes, newlines) may grow a prompt; allow for them before the exact check.
    let body = read_body(request, max_prompt * 2 + 4096, max_prompt).await?;
    let body: ChatBody = parse_json(&body)?;
    if body.prompt.len() > max_prompt {
        return Err(too_large(max_prompt));
    }
    if body.prompt.trim().is_empty() {
        return Err(WebError::new(
            StatusCode::BAD_REQUEST,
            "empty_prompt",
            "the prompt is empty",
        ));
    }
    let permit = arena.generating.clone().try_acquire_owned().map_err(|_| {
        WebError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "the arena is busy right now; please try again in a minute",
        )
    })?;
    let now = Instant::now();
    let prompt = body.prompt;
    let (battle_id, models, requests, turn) = {
        let mut battles = lock(&arena.battles);
        let battle = match body.battle_id.as_deref().filter(|id| !id.is_empty()) {
            Some(id) => {
                let battle = battles
                    .get_mut(id, now)
                    .filter(|b| b.owner == voter)
                    .ok_or_else(unknown_battle)?;
                if battle.busy {
                    return Err(conflict(
                        "busy",
                        "both models are still answering; wait for them to finish",
                    ));
                }
                match battle.status {
                    battles::Status::Open => {}
                    battles::Status::Voting | battles::Status::Voted => {
                        return Err(conflict(
                            "voted",
                            "this battle is over (it was voted on); start a new battle",
                        ))
                    }
                    battles::Status::Failed => {
                        return Err(conflict(
                            "failed",
                            "a model failed in this battle; start a new battle",
                        ))
                    }
                }
                if battle.turns >= arena.config.max_turns
                    || battle.bytes() + 2 * prompt.len() > arena.config.max_battle_bytes
                {
                    return Err(conflict(
                        "battle_full",
                        "this battle has reached its length limit; vote, then start a new battle",
                    ));
                }
                battle
            }
            None => {
                let pair = {
                    let mut guard = lock(&arena.sampler);
                    let (sampler, rng) = &mut *guard;
                    sampler.sample(rng, now)
                }
                .map_err(|e| {
                    tracing::warn!("cannot start a battle: {e}");
                    WebError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "no_models",
                        "not enough models are available right now; please try again in a few minutes",
                    )
                })?;
                let id = security::random_id();
                let battle = battles::Battle {
                    id: id.clone(),
                    owner: voter.clone(),
                    models: [pair.a, pair.b],
                    started_at: now_rfc3339(),
                    last_active: now,
                    conversations: [Vec::new(), Vec::new()],
                    tokens: [0, 0],
                    finish_reasons: [Vec::new(), Vec::new()],
                    turns: 0,
                    busy: false,
                    status: battles::Status::Open,
                    leak: None,
                    language: detect(&prompt).to_string(),
                };
                battles.insert(battle, now).map_err(|_| {
                    WebError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "busy",
                        "the arena is busy right now; please try again in a minute",
                    )
                })?;
                battles.get_mut(&id, now).ok_or_else(unknown_battle)?
            }
        };
        battle.busy = true;
        battle.last_active = now;
        for conversation in &mut battle.conversations {
            conversation.push(Message::user(prompt.clone()));
        }
        let requests = [
            ChatRequest::new(battle.conversations[0].clone()),
            ChatRequest::new(battle.conversations[1].clone()),
        ];
        (battle.id.clone(), battle.models, requests, battle.turns + 1)
    };
    let (tx, rx) = mpsc::channel::<Event>(16);
    let first = sse_json("battle", &json!({"battle_id": battle_id, "turn": turn}));
    tokio::spawn(run_turn(
        arena.clone(),
        battle_id,
        models,
        requests,
        tx,
        permit,
    ));
    let events = futures::stream::once(async move { first })
        .chain(futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|e| (e, rx))
        }));
    let mut response = Sse::new(events.map(Ok::<_, Infallible>))
        .keep_alive(KeepAlive::default())
        .into_response();
    // Tell proxies not to buffer the stream.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

fn sse_json(event: &str, data: &serde_json::Value) -> Event {
    Event::default()
        .event(event)
        .data(serde_json::to_string(data).unwrap_or_default())
}

/// One side of a turn being generated.
struct Side {
    text: String,
    dirty: bool,
    finished: Option<String>,
    tokens: Option<u64>,
    failed: bool,
}

enum Step {
    Event(usize, Option<Result<ChatEvent, ModelError>>),
    Tick,
    Timeout,
    Gone,
}

async fn next_event(stream: &mut Option<EventStream>) -> Option<Result<ChatEvent, ModelError>> {
    match stream {
        Some(s) => s.next().await,
        None => futures::future::pending().await,
    }
}

fn side_stream(client: Arc<dyn ChatModel>, request: ChatRequest) -> EventStream {
    Box::pin(
        futures::stream::once(async move { client.stream(request).await }).flat_map(|opened| {
            match opened {
                Ok(stream) => stream,
                Err(e) => Box::pin(futures::stream::once(async move { Err(e) })) as EventStream,
            }
        }),
    )
}

/// Cuts `text` to at most `max` bytes at a character boundary.
fn truncate_to(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

/// A rough token count for models that report none: a token per four ASCII bytes, one per
/// other character (CJK text is about a token a character).
fn estimate_tokens(text: &str) -> u64 {
    let ascii = text.bytes().filter(u8::is_ascii).count() as u64;
    let other = text.chars().filter(|c| !c.is_ascii()).count() as u64;
    ascii.div_ceil(4) + other
}

/// Generates one turn of both sides, streaming rendered answers to `tx`, then records the
/// turn in the battle. If the browser goes away the generation stops (the model streams are
/// dropped) and the turn is undone.
async fn run_turn(
    arena: AppState,
    battle_id: String,
    models: [usize; 2],
    requests: [ChatRequest; 2],
    tx: mpsc::Sender<Event>,
    _permit: OwnedSemaphorePermit,
) {
    let [req_a, req_b] = requests;
    let mut streams = [
        Some(side_stream(arena.models[models[0]].client.clone(), req_a)),
        Some(side_stream(arena.models[models[1]].client.clone(), req_b)),
    ];
    let mut sides: [Side; 2] = std::array::from_fn(|_| Side {
        text: String::new(),
        dirty: false,
        finished: None,
        tokens: None,
        failed: false,
    });
    let mut tick = tokio::time::interval(arena.config.render_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let deadline = tokio::time::sleep(arena.config.answer_timeout);
    tokio::pin!(deadline);
    let max_answer = arena.config.max_answer_bytes;
    let mut gone = false;

    'turn: while streams.iter().any(Option::is_some) {
        let step = {
            let [sa, sb] = &mut streams;
            tokio::select! {
                e = next_event(sa) => Step::Event(0, e),
                e = next_event(sb) => Step::Event(1, e),
                _ = tick.tick() => Step::Tick,
                _ = &mut deadline => Step::Timeout,
                _ = tx.closed() => Step::Gone,
            }
        };
        let mut out: Vec<Event> = Vec::new();
        match step {
            Step::Event(i, Some(Ok(ChatEvent::Delta(text)))) => {
                let side = &mut sides[i];
                side.text.push_str(&text);
                if side.text.len() > max_answer {
                    truncate_to(&mut side.text, max_answer);
                    side.finished = Some("length".into());
                    streams[i] = None;
                    out.extend(final_events(i, side).await);
                } else {
                    side.dirty = true;
                }
            }
            // A guarded contestant withdrawing its answer: the page shows the whole text
            // again at the next tick, so the withdrawal reaches the voter as it would a user.
            Step::Event(i, Some(Ok(retract @ ChatEvent::Retract { .. }))) => {
                let side = &mut sides[i];
                retract.apply_to(&mut side.text);
                side.dirty = true;
            }
            Step::Event(
                i,
                Some(Ok(ChatEvent::Done {
                    finish_reason,
                    usage,
                })),
            ) => {
                let side = &mut sides[i];
                side.finished = Some(finish_reason.as_str().to_string());
                side.tokens =
                    (usage.completion_tokens > 0).then_some(usage.completion_tokens.into());
                streams[i] = None;
                out.extend(final_events(i, side).await);
            }
            Step::Event(i, failure) => {
                let (error, benchable) = match failure {
                    // The error may quote the model's address, credentials included.
                    Some(Err(e)) => (assay_core::redact(&e.to_string()), is_models_fault(&e)),
                    _ => (
                        "the answer stream ended without finishing".to_string(),
                        true,
                    ),
                };
                let model = &arena.models[models[i]];
                tracing::warn!(
                    "arena: model {} failed in battle {battle_id}: {error}",
                    model.plan.display
                );
                if benchable {
                    let mut guard = lock(&arena.sampler);
                    guard.0.bench(models[i], Instant::now());
                }
                sides[i].failed = true;
                out.push(failed_event(i));
                // The battle cannot be judged any more: stop the other side too.
                streams = [None, None];
            }
            Step::Tick => {
                for (i, side) in sides.iter_mut().enumerate() {
                    if side.dirty && side.finished.is_none() {
                        side.dirty = false;
                        out.push(answer_event(i, &side.text, false).await);
                    }
                }
            }
            Step::Timeout => {
                for (i, side) in sides.iter_mut().enumerate() {
                    if streams[i].is_some() {
                        let model = &arena.models[models[i]];
                        tracing::warn!(
                            "arena: model {} timed out in battle {battle_id}",
                            model.plan.display
                        );
                        lock(&arena.sampler).0.bench(models[i], Instant::now());
                        side.failed = true;
                        out.push(failed_event(i));
                    }
                }
                streams = [None, None];
            }
            Step::Gone => {
                gone = true;
                break 'turn;
            }
        }
        for event in out {
            if tx.send(event).await.is_err() {
                gone = true;
                break 'turn;
            }
        }
    }
    drop(streams);

    // The leak scan reads every answer at every position (tenths of a second for 32 KiB in a
    // debug build): on the blocking pool, not the worker, and not under the battles' lock.
    let complete = sides.iter().all(|s| s.finished.is_some() && !s.failed);
    let leaks = if complete {
        let scan = arena.clone();
        let texts = [sides[0].text.clone(), sides[1].text.clone()];
        tokio::task::spawn_blocking(move || texts.map(|t| scan.leaks.find(&t).map(|l| l.name)))
            .await
            .unwrap_or_else(|e| {
                tracing::error!("arena: the leak scan failed: {e}");
                [None, None]
            })
    } else {
        [None, None]
    };
    let end = finish_turn(&arena, &battle_id, &sides, leaks, gone);
    if let Some(end) = end {
        let _ = tx.send(end).await;
    }
}

/// Whether a failed call says the model is unwell (it sits out of new battles for a while)
/// rather than that this request was refused. A request can be refused for what the voter
/// typed (too long for the context, a filter upstream): benching every model that refuses a
/// 16 KiB prompt would let one voter empty the arena. Refusals that are about the model's
/// set-up (bad key, unknown model) or its load (rate limit) do bench it.
fn is_models_fault(error: &ModelError) -> bool {
    match error {
        ModelError::InvalidRequest(_) => false,
        ModelError::Http { status, .. } => {
            !(400..500).contains(status) || matches!(status, 401 | 403 | 404 | 408 | 429)
        }
        _ => true,
    }
}

/// The `answer` event of a side's text so far. The text is rendered on the blocking pool: a
/// render takes milliseconds to tens of them (32 KiB of awkward Markdown), which would stall
/// every other request served by the same async worker.
async fn answer_event(side: usize, text: &str, done: bool) -> Event {
    let markdown = text.to_string();
    let html = tokio::task::spawn_blocking(move || render::markdown_to_safe_html(&markdown))
        .await
        .unwrap_or_else(|e| {
            tracing::error!("arena: rendering an answer failed: {e}");
            pages::plain_text_html(text)
        });
    sse_json(
        "answer",
        &json!({"side": SIDES[side], "html": html, "done": done}),
    )
}

async fn final_events(side: usize, state: &Side) -> [Event; 2] {
    [
        answer_event(side, &state.text, true).await,
        sse_json(
            "done",
            &json!({"side": SIDES[side], "finish": state.finished.clone().unwrap_or_default()}),
        ),
    ]
}

fn failed_event(side: usize) -> Event {
    let name = if side == 0 { "Model A" } else { "Model B" };
    sse_json(
        "failed",
        &json!({
            "side": SIDES[side],
            "message": format!("{name} failed to answer, so this battle cannot be judged. Please start a new battle."),
        }),
    )
}

/// Records the outcome of a turn in its battle, with the model or vendor each answer names
/// (`leaks`); returns the `end` event to send, if the browser is still there.
fn finish_turn(
    arena: &Arena,
    battle_id: &str,
    sides: &[Side; 2],
    leaks: [Option<String>; 2],
    gone: bool,
) -> Option<Event> {
    let now = Instant::now();
    let mut battles = lock(&arena.battles);
    let battle = battles.get_mut(battle_id, now)?;
    battle.busy = false;
    battle.last_active = now;
    let complete = sides.iter().all(|s| s.finished.is_some() && !s.failed);
    if gone && !complete {
        // Undo the turn: the prompt goes, the battle stays as it was (or goes, if new).
        for conversation in &mut battle.conversations {
            conversation.pop();
        }
        if battle.turns == 0 {
            battles.remove(battle_id);
        }
        return None;
    }
    if !complete {
        battle.status = battles::Status::Failed;
        return Some(sse_json(
            "end",
            &json!({"can_vote": false, "can_continue": false, "turn": battle.turns + 1}),
        ));
    }
    for (i, (side, leak)) in sides.iter().zip(leaks).enumerate() {
        battle.conversations[i].push(Message::assistant(side.text.clone()));
        battle.tokens[i] += side.tokens.unwrap_or_else(|| estimate_tokens(&side.text));
        battle.finish_reasons[i].push(side.finished.clone().unwrap_or_default());
        if battle.leak.is_none() {
            battle.leak = leak.map(|name| (i, name));
        }
    }
    battle.turns += 1;
    let can_continue =
        battle.turns < arena.config.max_turns && battle.bytes() < arena.config.max_battle_bytes;
    Some(sse_json(
        "end",
        &json!({"can_vote": true, "can_continue": can_continue, "turn": battle.turns}),
    ))
}

#[derive(Deserialize)]
struct VoteBody {
    battle_id: String,
    winner: String,
}

fn parse_winner(text: &str) -> Option<&'static str> {
    Some(match text.trim() {
        "model_a" | "a" | "A" => "model_a",
        "model_b" | "b" | "B" => "model_b",
        "tie" => "tie",
        "tie (bothbad)" | "bothbad" | "both_bad" => "tie (bothbad)",
        _ => return None,
    })
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn store_error(e: impl std::fmt::Display) -> WebError {
    tracing::error!("arena store: {e}");
    WebError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "store",
        "the vote could not be recorded; please try again",
    )
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, WebError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| store_error(format!("task failed: {e}")))
}

async fn vote(State(arena): State<AppState>, request: Request) -> Result<Response, WebError> {
    let voter = check_post(request.headers())?;
    let ip = security::client_ip(&request, arena.config.trust_forwarded_for);
    let body = read_body(request, 4096, 4096).await?;
    let body: VoteBody = parse_json(&body)?;
    let winner = parse_winner(&body.winner).ok_or_else(|| {
        WebError::new(
            StatusCode::BAD_REQUEST,
            "bad_winner",
            format!(
                "winner {:?} is not one of model_a, model_b, tie, tie (bothbad)",
                body.winner
            ),
        )
    })?;
    let now = Instant::now();
    // Claim the battle for this vote, so a second vote at the same moment is refused.
    let battle = {
        let mut battles = lock(&arena.battles);
        let battle = battles
            .get_mut(&body.battle_id, now)
            .filter(|b| b.owner == voter)
            .ok_or_else(unknown_battle)?;
        match battle.status {
            battles::Status::Open => {}
            battles::Status::Voting | battles::Status::Voted => {
                return Err(conflict(
                    "already_voted",
                    "this battle has already been voted on; each battle takes one vote",
                ))
            }
            battles::Status::Failed => {
                return Err(conflict(
                    "failed",
                    "a model failed in this battle, so it cannot be voted on",
                ))
            }
        }
        if battle.busy {
            return Err(conflict(
                "busy",
                "wait until both models have finished answering",
            ));
        }
        if battle.turns == 0 {
            return Err(conflict("no_answers", "there is nothing to vote on yet"));
        }
        battle.status = battles::Status::Voting;
        battle.last_active = now;
        battle.clone()
    };
    let result = record_vote(&arena, &battle, winner, &voter, &ip).await;
    let mut battles = lock(&arena.battles);
    let live = battles.get_mut(&battle.id, Instant::now());
    match result {
        Ok(()) => {
            if let Some(b) = live {
                b.status = battles::Status::Voted;
            }
            let [a, b] = battle.models;
            let leak = battle.leak.as_ref();
            Ok(Json(json!({
                "battle_id": battle.id,
                "winner": winner,
                "model_a": arena.models[a].plan.display,
                "model_b": arena.models[b].plan.display,
                "identity_leak": leak.is_some(),
                "identity_leak_name": leak.map(|(_, name)| name.clone()),
            }))
            .into_response())
        }
        Err(e) => {
            if let Some(b) = live {
                b.status = if e.status == StatusCode::CONFLICT {
                    battles::Status::Voted
                } else {
                    battles::Status::Open
                };
            }
            Err(e)
        }
    }
}

async fn record_vote(
    arena: &AppState,
    battle: &battles::Battle,
    winner: &str,
    voter: &str,
    ip: &str,
) -> Result<(), WebError> {
    let since = (chrono::Utc::now() - chrono::Duration::hours(24))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let cap = arena.config.daily_cap;
    let store = arena.store.clone();
    let voter_id = voter.to_string();
    let count = blocking(move || store.votes_by_voter_since(&voter_id, &since))
        .await?
        .map_err(store_error)?;
    if count >= cap {
        return Err(WebError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "daily_cap",
            format!(
                "you have cast {count} votes in the last 24 hours, the most one voter may; \
                 thank you! Please come back tomorrow"
            ),
        ));
    }
    // The address's count goes up now, so that votes racing each other cannot all pass; it
    // comes down again if the vote is not recorded.
    let address = security::ip_hash(&arena.ip_salt, &security::network_of(ip));
    let address_cap = arena.config.address_daily_cap;
    if let Err(count) = lock(&arena.address_votes).reserve(&address, Instant::now(), address_cap) {
        return Err(WebError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "address_cap",
            format!(
                "{count} votes have come from your network address in the last 24 hours, the \
                 most one address may cast; thank you! Please come back tomorrow"
            ),
        ));
    }
    let recorded = write_vote(arena, battle, winner, voter, ip).await;
    if !matches!(recorded, Ok(())) {
        lock(&arena.address_votes).release(&address);
    }
    recorded
}

/// Writes the vote of `battle` to the store.
async fn write_vote(
    arena: &AppState,
    battle: &battles::Battle,
    winner: &str,
    voter: &str,
    ip: &str,
) -> Result<(), WebError> {
    let [a, b] = battle.models;
    // Style features scan up to `max_battle_bytes` of Markdown (tenths of a second for some
    // texts): on the blocking pool, like the store.
    let texts: [(String, f64); 2] = std::array::from_fn(|i| {
        let text: Vec<&str> = battle.conversations[i]
            .iter()
            .filter(|m| m.role == assay_core::Role::Assistant)
            .map(|m| m.content.as_str())
            .collect();
        (text.join("\n"), battle.tokens[i] as f64)
    });
    let styles = blocking(move || {
        texts.map(|(text, tokens)| assay_arena::battle::Style::from_markdown(&text, tokens))
    })
    .await?;
    let mut metadata = json!({
        "anony": true,
        "conv_metadata": {
            "sum_assistant_a_tokens": styles[0].tokens,
            "sum_assistant_b_tokens": styles[1].tokens,
            "header_count_a": styles[0].headers,
            "header_count_b": styles[1].headers,
            "list_count_a": styles[0].lists,
            "list_count_b": styles[1].lists,
            "bold_count_a": styles[0].bold,
            "bold_count_b": styles[1].bold,
        },
        "finish_reasons_a": battle.finish_reasons[0],
        "finish_reasons_b": battle.finish_reasons[1],
    });
    if let Some((side, name)) = &battle.leak {
        metadata["identity_leak_name"] = json!(name);
        metadata["identity_leak_side"] = json!(if *side == 0 { "model_a" } else { "model_b" });
    }
    let record = VoteRecord {
        battle_id: battle.id.clone(),
        created_at: now_rfc3339(),
        battle_started_at: battle.started_at.clone(),
        model_a: arena.models[a].plan.display.clone(),
        model_b: arena.models[b].plan.display.clone(),
        winner: winner.to_string(),
        conversation_a: serde_json::to_value(&battle.conversations[0]).unwrap_or_default(),
        conversation_b: serde_json::to_value(&battle.conversations[1]).unwrap_or_default(),
        language: battle.language.clone(),
        voter_id: voter.to_string(),
        ip_hash: security::ip_hash(&arena.ip_salt, ip),
        identity_leak: battle.leak.is_some(),
        turns: battle.turns,
        metadata,
    };
    let store = arena.store.clone();
    let recorded = blocking(move || store.record_vote(&record))
        .await?
        .map_err(store_error)?;
    if recorded {
        arena.boards.vote_recorded();
        Ok(())
    } else {
        Err(conflict(
            "already_voted",
            "this battle has already been voted on; each battle takes one vote",
        ))
    }
}

#[derive(Deserialize, Default)]
struct BoardQuery {
    lang: Option<String>,
    cat: Option<String>,
    style: Option<String>,
}

impl BoardQuery {
    fn style_control(&self) -> bool {
        matches!(
            self.style.as_deref().map(str::trim),
            Some("on" | "1" | "true" | "yes")
        )
    }
    /// The language tab: one of the names the arena detects (any case), or none.
    fn language(&self) -> Result<Option<String>, WebError> {
        let lang = match self.lang.as_deref().map(str::trim) {
            None | Some("") => return Ok(None),
            Some(l) if l.eq_ignore_ascii_case("overall") => return Ok(None),
            Some(l) => l,
        };
        match DetectedLanguage::from_name(lang) {
            Some(l) => Ok(Some(l.name().to_string())),
            None => {
                // Quote a bounded part of what was sent: the message goes back to the client.
                let shown: String = lang.chars().take(40).collect();
                let more = if shown.len() < lang.len() { "…" } else { "" };
                Err(WebError::new(
                    StatusCode::BAD_REQUEST,
                    "language",
                    format!(
                        "unknown language {shown:?}{more}; known: Overall, {}",
                        DetectedLanguage::ALL.map(DetectedLanguage::name).join(", ")
                    ),
                ))
            }
        }
    }
    fn category(&self) -> Result<Option<String>, WebError> {
        match self.cat.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(c) => match category::label(c) {
                Some(_) => Ok(Some(c.to_ascii_lowercase())),
                None => Err(WebError::new(
                    StatusCode::BAD_REQUEST,
                    "category",
                    format!(
                        "unknown category {c:?}; known: {}",
                        category::CATEGORIES.map(|(id, _)| id).join(", ")
                    ),
                )),
            },
        }
    }
}

async fn leaderboard_view(
    arena: &AppState,
    query: &BoardQuery,
) -> Result<Arc<LeaderboardView>, WebError> {
    board::view(
        &arena.boards,
        arena.store.clone(),
        &arena.infos,
        board::Request {
            language: query.language()?,
            category: query.category()?,
            style_control: query.style_control(),
            bootstrap_rounds: arena.config.bootstrap_rounds,
            min_language_votes: arena.config.min_language_votes,
            ttl: arena.config.leaderboard_ttl,
        },
    )
    .await
    .map_err(|e| {
        tracing::error!("arena leaderboard: {e}");
        WebError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "leaderboard",
            "the leaderboard could not be computed; see the server log",
        )
    })
}

async fn leaderboard_page(
    State(arena): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let query = BoardQuery {
        lang: query.get("lang").cloned(),
        cat: query.get("cat").cloned(),
        style: query.get("style").cloned(),
    };
    let view = leaderboard_view(&arena, &query).await?;
    let nonce = security::nonce();
    let html = pages::leaderboard_page(&nonce, &view);
    Ok(page_response(html, &nonce, false, Vec::new()))
}

async fn leaderboard_json(
    State(arena): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let query = BoardQuery {
        lang: query.get("lang").cloned(),
        cat: query.get("cat").cloned(),
        style: query.get("style").cloned(),
    };
    let view = leaderboard_view(&arena, &query).await?;
    Ok(Json(view.to_json()).into_response())
}

#[cfg(test)]
mod tests;
