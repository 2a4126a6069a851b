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
//!
//! # Files
//!
//! `routes` (the router, headers, page and leaderboard handlers), `chat` (a turn, streamed),
//! `vote`, `extract` (POST checks, bounded bodies, the leaderboard query), `error` (the one
//! error type), `battles` (battles in memory and their state machine, apart from HTTP),
//! `board` (leaderboards from the store, cached), `pages` + `templates/` + `svg` (the HTML),
//! `render` (answers' Markdown to safe HTML), `security`, `caps`, `category`.

mod battles;
mod board;
mod caps;
mod category;
mod chat;
mod error;
mod extract;
mod pages;
pub mod render;
mod routes;
pub mod security;
mod svg;
mod vote;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use assay_arena::leak::LeakDetector;
use assay_arena::models::{ModelInfo, ModelPlan};
use assay_arena::sampler::{Sampler, SamplerError, SamplerModel};
use assay_models::ChatModel;
use assay_store::Store;
use axum::Router;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::sync::Semaphore;

pub use battles::Status as BattleStatus;
pub use board::LeaderboardView;
pub use error::WebError;

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
    /// Rated votes under which a model is marked preliminary on the leaderboard (50; 0: never).
    pub preliminary_below: u64,
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
            preliminary_below: assay_arena::leaderboard::DEFAULT_PRELIMINARY_BELOW,
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
    Ok(routes::routes(arena_state(models, infos, store, config)?))
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
    let mut all_infos: Vec<ModelInfo> = models.iter().map(|m| m.plan.info()).collect();
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

#[cfg(test)]
mod tests;
