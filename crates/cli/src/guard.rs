//! `assay guard`: the moderation gateway, its audit log and its keys.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use assay_guard::keys::{KeyFile, KeyRing, SuspensionPolicy};
use assay_guard::server::{AuditLog, ServerOptions};
use assay_guard::{Guard, GuardConfig, Mode};
use assay_policy::Policy;
use assay_store::GuardEventFilter;
use clap::{Args, Subcommand, ValueEnum};

use crate::arena::open_store;
use crate::{open_model, open_options, EngineArgs, ListenArgs};

/// `assay guard --upstream MODEL --policy PACK`, or `assay guard <step>`.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct GuardArgs {
    #[command(subcommand)]
    pub command: Option<GuardCommand>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Subcommand)]
pub enum GuardCommand {
    /// Show the audit log: every intervention, oldest first.
    Log {
        /// The store (default: $ASSAY_HOME/assay.db; postgres://… for PostgreSQL).
        #[arg(long)]
        db: Option<String>,
        /// Only events at or after this time (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// Only this API key's events.
        #[arg(long)]
        key: Option<String>,
        #[arg(long)]
        category: Option<String>,
        /// Only the newest N.
        #[arg(long)]
        limit: Option<usize>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Manage the API keys file.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Make a key for ID and add its hash to FILE; the key is printed once.
    Add {
        #[arg(long)]
        file: PathBuf,
        #[arg(long)]
        id: String,
        #[arg(long)]
        requests_per_minute: Option<u32>,
        #[arg(long)]
        tokens_per_minute: Option<u32>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ModeArg {
    Holdback,
    Retract,
}

#[derive(Args)]
pub struct RunArgs {
    /// The model behind the guard (any model name, e.g. local:smollm2 or
    /// http://127.0.0.1:8000/v1#qwen2.5-7b-instruct).
    #[arg(long, default_value = "local:smollm2")]
    upstream: String,
    /// A policy pack: a directory holding policy.toml, or a built-in pack (`example`).
    #[arg(long)]
    policy: Option<String>,
    /// A keyword list (one term per line) for quick use without a pack.
    #[arg(long)]
    keywords: Option<PathBuf>,
    /// holdback: nothing matching reaches the client; retract: stream first, withdraw on a
    /// hit. (The default action of categories; --config may set actions per category.)
    #[arg(long, value_enum)]
    mode: Option<ModeArg>,
    /// Guard settings (TOML): per-category actions and thresholds, margin, input context,
    /// reveal_terms, and [suspension] in_a_row / per_day / suspend_seconds.
    #[arg(long)]
    config: Option<PathBuf>,
    /// API keys file (see `assay guard keys add`); without it, no key is asked for.
    #[arg(long)]
    keys: Option<PathBuf>,
    /// Where the audit log goes (default: $ASSAY_HOME/assay.db; postgres://… for PostgreSQL).
    #[arg(long)]
    db: Option<String>,
    #[command(flatten)]
    listen: ListenArgs,
    /// Requests in flight to an HTTP upstream at once (more wait for a turn).
    #[arg(long, default_value_t = 1024)]
    upstream_concurrency: usize,
    #[command(flatten)]
    engine: EngineArgs,
}

/// The `[suspension]` table of a guard settings file, read beside the guard's own settings.
#[derive(serde::Deserialize, Default)]
struct SettingsFile {
    #[serde(default)]
    suspension: SuspensionPolicy,
}

pub async fn guard(args: GuardArgs, api_key_env: Option<String>) -> Result<()> {
    match args.command {
        Some(GuardCommand::Log {
            db,
            since,
            key,
            category,
            limit,
            json,
        }) => log(db, since, key, category, limit, json),
        Some(GuardCommand::Keys {
            command:
                KeysCommand::Add {
                    file,
                    id,
                    requests_per_minute,
                    tokens_per_minute,
                },
        }) => {
            let mut keys = KeyFile::load(&file, true).map_err(anyhow::Error::msg)?;
            let key = keys
                .add(&id, requests_per_minute, tokens_per_minute)
                .map_err(anyhow::Error::msg)?;
            keys.save(&file).map_err(anyhow::Error::msg)?;
            eprintln!(
                "added key {id:?} to {}; it is shown only now:",
                file.display()
            );
            println!("{key}");
            Ok(())
        }
        None => serve(args.run, api_key_env).await,
    }
}

fn load_policy(args: &RunArgs) -> Result<Policy> {
    if args.policy.is_none() && args.keywords.is_none() {
        bail!("give --policy PACK (e.g. --policy example) or --keywords FILE");
    }
    crate::screen::build_policy(args.policy.as_deref(), args.keywords.as_deref(), None)
}

fn guard_config(args: &RunArgs) -> Result<(GuardConfig, SuspensionPolicy)> {
    let (mut config, suspension) = match &args.config {
        Some(path) => {
            // The file holds the guard's settings and a [suspension] table.
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let mut table: toml::Table =
                toml::from_str(&text).with_context(|| format!("{}", path.display()))?;
            let suspension = table.remove("suspension");
            let config: GuardConfig = toml::Value::Table(table)
                .try_into()
                .with_context(|| format!("{}", path.display()))?;
            let suspension: SettingsFile = match suspension {
                Some(s) => {
                    toml::Value::Table(toml::Table::from_iter([("suspension".to_string(), s)]))
                        .try_into()
                        .with_context(|| format!("{}: [suspension]", path.display()))?
                }
                None => SettingsFile::default(),
            };
            (config, suspension.suspension)
        }
        None => (GuardConfig::default(), SuspensionPolicy::default()),
    };
    if let Some(mode) = args.mode {
        config.mode = match mode {
            ModeArg::Holdback => Mode::Holdback,
            ModeArg::Retract => Mode::Retract,
        };
    }
    Ok((config, suspension))
}

async fn serve(args: RunArgs, api_key_env: Option<String>) -> Result<()> {
    // Each client connection and its upstream connection take a file descriptor; the default
    // soft limit (often 1024) would turn clients away long before memory or CPU run out.
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        eprintln!("assay guard: cannot raise the open-file limit: {e}");
    }
    // Fail closed: nothing listens until the policy, settings and keys all load.
    let policy = load_policy(&args)?;
    let (config, suspension) = guard_config(&args)?;
    config
        .check_categories(policy.categories().iter().map(|c| c.id.as_str()))
        .map_err(anyhow::Error::msg)?;
    let keys = match &args.keys {
        Some(path) => Some(KeyRing::new(
            &KeyFile::load(path, false).map_err(anyhow::Error::msg)?,
            suspension,
        )),
        None => None,
    };
    let store = open_store(args.db.as_deref())?;
    let (log, writer) = AuditLog::start(store);
    let mut options = open_options(api_key_env, &args.engine);
    options.client.max_concurrency = args.upstream_concurrency.max(1);
    let upstream = open_model(&args.upstream, &options).await?;
    let guard = Arc::new(Guard::new(upstream, policy, config));
    let (router, _metrics) = assay_guard::server::router(
        Arc::clone(&guard),
        ServerOptions {
            limits: args.listen.limits(),
            keys,
            log: Some(log),
        },
    );
    let (host, port) = (&args.listen.host, args.listen.port);
    let listener = tokio::net::TcpListener::bind((host.as_str(), port))
        .await
        .with_context(|| format!("cannot listen on {host}:{port}"))?;
    let local = listener.local_addr()?;
    let policy = guard.policy();
    println!(
        "assay guard: {} behind policy {:?} ({} terms) on http://{local}/v1 (chat page: http://{local}/; SIGHUP reloads the policy; Ctrl-C stops)",
        guard.upstream().id(),
        policy.name,
        policy.keywords().len()
    );
    use std::io::Write;
    std::io::stdout().flush()?;
    tokio::spawn(reload_on_sighup(Arc::clone(&guard), args));
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    assay_serve::serve(listener, router, shutdown)
        .await
        .context("server failed")?;
    drop(guard);
    // The server's state (and its log handle) is gone: the writer drains and stops.
    let _ = tokio::task::spawn_blocking(move || writer.join()).await;
    Ok(())
}

/// Reloads the policy on SIGHUP: the new one serves answers that start afterwards; one that
/// fails to load leaves the old one in place.
async fn reload_on_sighup(guard: Arc<Guard>, args: RunArgs) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            eprintln!("assay guard: cannot listen for SIGHUP; the policy will not reload");
            return;
        };
        while hangups.recv().await.is_some() {
            match load_policy(&args) {
                Ok(policy) => {
                    let terms = policy.keywords().len();
                    guard.set_policy(policy);
                    eprintln!("assay guard: policy reloaded ({terms} terms)");
                }
                Err(e) => eprintln!("assay guard: policy not reloaded, keeping the old one: {e:#}"),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (guard, args);
}

fn log(
    db: Option<String>,
    since: Option<String>,
    key: Option<String>,
    category: Option<String>,
    limit: Option<usize>,
    json: bool,
) -> Result<()> {
    let store = open_store(db.as_deref())?;
    let events = store.guard_events(&GuardEventFilter {
        since,
        key_id: key,
        category,
        limit,
    })?;
    if json {
        for e in &events {
            println!("{}", serde_json::to_string(e)?);
        }
        return Ok(());
    }
    println!(
        "{:<24} {:<10} {:<22} {:<6} {:<14} {:<7} {:>6}  RULE",
        "TIME", "KEY", "REQUEST", "DIR", "CATEGORY", "ACTION", "OFFSET"
    );
    for e in &events {
        println!(
            "{:<24} {:<10} {:<22} {:<6} {:<14} {:<7} {:>6}  {}",
            e.created_at,
            if e.key_id.is_empty() { "-" } else { &e.key_id },
            e.request_id,
            e.direction,
            e.category,
            e.action,
            e.offset,
            e.rule
        );
    }
    eprintln!("{} events", events.len());
    Ok(())
}
