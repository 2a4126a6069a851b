//! `assay guard`: the moderation gateway, its audit log and its keys.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use assay_guard::keys::{KeyFile, KeyRing};
use assay_guard::metrics::Metrics;
use assay_guard::server::{AuditLog, ServerOptions};
use assay_guard::{Guard, GuardConfig, Mode, RuleKey};
use assay_policy::{Policy, PolicyBuilder};
use assay_store::GuardEventFilter;
use clap::{Args, Subcommand, ValueEnum};

use crate::store_args::open_store;
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
        /// Only events this recent: an age (30m, 1h, 2d, 1w) or a time (RFC 3339, e.g.
        /// 2026-12-03T08:00:00Z).
        #[arg(long, value_name = "AGE|TIME")]
        since: Option<String>,
        /// Only this API key's events.
        #[arg(long)]
        key: Option<String>,
        /// Only this category's events (by id, e.g. weapons).
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
    /// API keys file (see `assay guard keys add`); without it, no key is asked for. With it,
    /// /health and /metrics ask for a key too (or the metrics token).
    #[arg(long)]
    keys: Option<PathBuf>,
    /// A file holding a token that opens /health and /metrics (for monitoring without an API
    /// key); or set ASSAY_GUARD_METRICS_TOKEN. Either one closes them to everyone else.
    #[arg(long)]
    metrics_token_file: Option<PathBuf>,
    /// A file holding the secret that keys the audit log's term hashes (HMAC-SHA256); or set
    /// ASSAY_GUARD_HASH_SECRET. Without either, a random secret is made on first use and kept
    /// (0600) in guard-hash-secret beside the SQLite store, or in $ASSAY_HOME for PostgreSQL.
    #[arg(long)]
    hash_secret_file: Option<PathBuf>,
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
            let mut keys = KeyFile::load(&file, true)?;
            let key = keys.add(&id, requests_per_minute, tokens_per_minute)?;
            keys.save(&file)?;
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

/// What clients are told an ad-hoc `--keywords` list is about: the list says nothing of its
/// subject, and "keywords" inside a refusal reads as a leak of the guard's machinery.
const KEYWORDS_NAME: &str = "restricted content";
const KEYWORDS_NAME_ZH: &str = assay_guard::NEUTRAL_LABEL_ZH;

fn load_policy(args: &RunArgs) -> Result<Policy> {
    if args.policy.is_none() && args.keywords.is_none() {
        bail!("give --policy PACK (e.g. --policy example) or --keywords FILE");
    }
    let mut builder = PolicyBuilder::new();
    if let Some(policy) = &args.policy {
        builder
            .add_pack_or_builtin(policy)
            .with_context(|| format!("cannot load policy {policy}"))?;
    }
    if let Some(path) = &args.keywords {
        // The category keeps the id `keywords` (what --config and the log name it by).
        let category = builder.category("keywords");
        builder
            .add_keyword_file(path, category)?
            .set_category_names(category, KEYWORDS_NAME, Some(KEYWORDS_NAME_ZH));
    }
    Ok(builder.build()?)
}

/// Loads the policy and checks it as start-up and every reload do: the keyword files are
/// whole (not empty, ending with a newline: a file cut off while being written does not),
/// the settings name only categories the policy has, and (on reload) no category that had
/// terms has lost all of them. A guard that accepted such a policy would fail open.
fn load_checked(args: &RunArgs, config: &GuardConfig, running: Option<&Policy>) -> Result<Policy> {
    for file in keyword_files(args)? {
        check_list_file(&file)?;
    }
    let policy = load_policy(args)?;
    config.check_categories(policy.categories().iter().map(|c| c.id.as_str()))?;
    let terms = terms_per_category(&policy);
    if let Some(running) = running {
        for (id, before) in terms_per_category(running) {
            if before > 0 && terms.get(&id).copied().unwrap_or(0) == 0 {
                bail!("category {id:?} had {before} terms and would have none");
            }
        }
    }
    Ok(policy)
}

/// The keyword lists the policy is read from: `--keywords` and those of a pack directory.
fn keyword_files(args: &RunArgs) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = args.keywords.iter().cloned().collect();
    let Some(pack) = &args.policy else {
        return Ok(files);
    };
    let manifest = Path::new(pack).join("policy.toml");
    if !manifest.is_file() {
        // A built-in pack: it cannot change under us.
        return Ok(files);
    }
    let text = std::fs::read_to_string(&manifest)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("{}", manifest.display()))?;
    let categories = table.get("categories").and_then(toml::Value::as_array);
    for category in categories.into_iter().flatten() {
        let lists = category.get("keywords").and_then(toml::Value::as_array);
        for list in lists.into_iter().flatten() {
            if let Some(rel) = list.as_str() {
                files.push(Path::new(pack).join(rel));
            }
        }
    }
    Ok(files)
}

/// A keyword list must hold a term and end with a newline.
fn check_list_file(path: &Path) -> Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let has_term = bytes
        .split(|&b| b == b'\n')
        .map(|line| line.trim_ascii())
        .any(|line| !line.is_empty() && !line.starts_with(b"#"));
    if !has_term {
        bail!("{}: the keyword list holds no term", path.display());
    }
    if !bytes.ends_with(b"\n") {
        bail!(
            "{}: the keyword list does not end with a newline; it may have been cut off while being written (end its last line with a newline)",
            path.display()
        );
    }
    Ok(())
}

fn terms_per_category(policy: &Policy) -> std::collections::HashMap<String, usize> {
    let keywords = policy.keywords();
    let mut counts = std::collections::HashMap::new();
    for i in 0..keywords.len() {
        for &category in keywords.categories(i) {
            *counts
                .entry(policy.category(category).id.clone())
                .or_default() += 1;
        }
    }
    counts
}

/// A secret given as a file or an environment variable (never as an argument, which `ps`
/// shows to every user); surrounding whitespace is not part of it.
fn read_secret(file: Option<&Path>, env: &str) -> Result<Option<String>> {
    let secret = match file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?,
        None => match std::env::var(env) {
            Ok(value) => value,
            Err(_) => return Ok(None),
        },
    };
    let secret = secret.trim();
    if secret.is_empty() {
        bail!(
            "the secret in {} is empty",
            file.map_or(env.to_string(), |p| p.display().to_string())
        );
    }
    Ok(Some(secret.to_string()))
}

/// The secret of the audit log's term hashes (see `--hash-secret-file`).
fn hash_secret(args: &RunArgs) -> Result<String> {
    if let Some(secret) = read_secret(args.hash_secret_file.as_deref(), "ASSAY_GUARD_HASH_SECRET")?
    {
        return Ok(secret);
    }
    let dir = match args.db.as_deref() {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            assay_core::assay_home()
        }
        Some(path) => Path::new(path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
        None => assay_core::assay_home(),
    };
    let path = dir.join("guard-hash-secret");
    match std::fs::read_to_string(&path) {
        Ok(secret) if !secret.trim().is_empty() => return Ok(secret.trim().to_string()),
        Ok(_) => bail!(
            "{} is empty; remove it to have a new secret made",
            path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let secret = assay_guard::keys::random_secret();
    // Made once: create_new, so that two guards starting together keep the same one.
    let tmp = dir.join(format!("guard-hash-secret.{}.partial", std::process::id()));
    assay_guard::keys::write_private(&tmp, format!("{secret}\n").as_bytes())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    let kept = std::fs::hard_link(&tmp, &path);
    let _ = std::fs::remove_file(&tmp);
    match kept {
        Ok(()) => {
            eprintln!(
                "assay guard: made the audit log's hash secret in {}",
                path.display()
            );
            Ok(secret)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let secret = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Ok(secret.trim().to_string())
        }
        Err(e) => Err(e).with_context(|| format!("cannot write {}", path.display())),
    }
}

fn guard_config(args: &RunArgs) -> Result<GuardConfig> {
    let mut config = match &args.config {
        Some(path) => GuardConfig::load(path)?,
        None => GuardConfig::default(),
    };
    if let Some(mode) = args.mode {
        config.mode = match mode {
            ModeArg::Holdback => Mode::Holdback,
            ModeArg::Retract => Mode::Retract,
        };
    }
    Ok(config)
}

async fn serve(args: RunArgs, api_key_env: Option<String>) -> Result<()> {
    // SIGHUP's default action ends the process: listen for it before anything slow (the
    // policy, the model), so that a reload asked for during start-up is not a kill. One that
    // comes in before the guard is up reloads once it is.
    #[cfg(unix)]
    let hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|e| {
            eprintln!("assay guard: cannot listen for SIGHUP; the policy will not reload: {e}")
        })
        .ok();
    #[cfg(not(unix))]
    let hangups = None::<()>;
    // Each client connection and its upstream connection take a file descriptor; the default
    // soft limit (often 1024) would turn clients away long before memory or CPU run out.
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        eprintln!("assay guard: cannot raise the open-file limit: {e}");
    }
    // Fail closed: nothing listens until the policy, settings and keys all load.
    let mut config = guard_config(&args)?;
    let policy = load_checked(&args, &config, None)?;
    config.rule_key = RuleKey::new(hash_secret(&args)?.as_bytes());
    let keys = match &args.keys {
        Some(path) => Some(Arc::new(KeyRing::new(
            &KeyFile::load(path, false)?,
            config.suspension,
        ))),
        None => None,
    };
    let metrics_token = read_secret(
        args.metrics_token_file.as_deref(),
        "ASSAY_GUARD_METRICS_TOKEN",
    )?;
    let store = open_store(args.db.as_deref())?;
    let (log, writer) = AuditLog::start(store);
    let mut options = open_options(api_key_env, &args.engine);
    options.client.max_concurrency = args.upstream_concurrency.max(1);
    let upstream = open_model(&crate::registry(options), &args.upstream).await?;
    let guard = Arc::new(Guard::new(upstream, policy, config));
    let (router, metrics) = assay_guard::server::router(
        Arc::clone(&guard),
        ServerOptions {
            limits: args.listen.limits(),
            keys,
            log: Some(log),
            metrics_token,
            ..ServerOptions::default()
        },
    );
    let (host, port) = (
        &args.listen.host,
        args.listen.port.unwrap_or(crate::GUARD_PORT),
    );
    let listener = tokio::net::TcpListener::bind((host.as_str(), port))
        .await
        .with_context(|| format!("cannot listen on {host}:{port}"))?;
    let local = listener.local_addr()?;
    // Without keys, any web page the operator visits could otherwise use the guard (and its
    // upstream's credentials) through the browser: the same checks as `assay serve`.
    let router = assay_serve::same_origin_only(router, args.listen.allowed_hosts(local));
    let policy = guard.policy();
    println!(
        "assay guard: {} behind policy {:?} ({} terms) on http://{local}/v1 (chat page: http://{local}/; SIGHUP reloads the policy; Ctrl-C stops)",
        guard.upstream().id(),
        policy.name,
        policy.keywords().len()
    );
    use std::io::Write;
    std::io::stdout().flush()?;
    // The slowloris limits (header and body deadlines, connection cap) of --header-timeout,
    // --body-timeout and --max-connections.
    let limits = args.listen.limits();
    if let Some(hangups) = hangups {
        tokio::spawn(reload_on_sighup(hangups, Arc::clone(&guard), metrics, args));
    }
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    assay_serve::serve_with(listener, router, &limits, shutdown)
        .await
        .context("server failed")?;
    drop(guard);
    // The server's state (and its log handle) is gone: the writer drains and stops.
    let _ = tokio::task::spawn_blocking(move || writer.join()).await;
    Ok(())
}

/// Reloads the policy on SIGHUP, with the checks of start-up: the new one serves answers that
/// start afterwards; one that fails them leaves the old one in place (and is counted in
/// `assay_guard_reloads_total{result="rejected"}`).
#[cfg(unix)]
async fn reload_on_sighup(
    mut hangups: tokio::signal::unix::Signal,
    guard: Arc<Guard>,
    metrics: Arc<Metrics>,
    args: RunArgs,
) {
    while hangups.recv().await.is_some() {
        match load_checked(&args, guard.config(), Some(&guard.policy())) {
            Ok(policy) => {
                let terms = policy.keywords().len();
                guard.set_policy(policy);
                metrics.count("assay_guard_reloads_total", &[("result", "applied")]);
                eprintln!("assay guard: policy reloaded ({terms} terms)");
            }
            Err(e) => {
                metrics.count("assay_guard_reloads_total", &[("result", "rejected")]);
                eprintln!("assay guard: policy not reloaded, keeping the old one: {e:#}");
            }
        }
    }
}

#[cfg(not(unix))]
async fn reload_on_sighup(_: (), _: Arc<Guard>, _: Arc<Metrics>, _: RunArgs) {}

fn log(
    db: Option<String>,
    since: Option<String>,
    key: Option<String>,
    category: Option<String>,
    limit: Option<usize>,
    json: bool,
) -> Result<()> {
    let store = open_store(db.as_deref())?;
    if let Some(category) = &category {
        // A misspelt category would otherwise look like a quiet log.
        let known = store.guard_event_categories()?;
        if !known.contains(category) {
            let known = if known.is_empty() {
                "the log has no events yet".to_string()
            } else {
                format!("categories in the log: {}", known.join(", "))
            };
            eprintln!("warning: no event has category {category:?}; {known}");
        }
    }
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
    let mut table = assay_core::table::TextTable::new(
        &[
            "TIME", "KEY", "REQUEST", "DIR", "CATEGORY", "ACTION", "OFFSET", "RULE",
        ],
        &[false, false, false, false, false, false, true],
    );
    for e in &events {
        table.row(vec![
            e.created_at.clone(),
            if e.key_id.is_empty() { "-" } else { &e.key_id }.to_string(),
            e.request_id.clone(),
            e.direction.to_string(),
            e.category.clone(),
            e.action.to_string(),
            e.offset.to_string(),
            e.rule.clone(),
        ]);
    }
    print!("{}", table.render(""));
    eprintln!("{} events", events.len());
    Ok(())
}
