//! `assay arena`: the blind-battle web app over any models.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use assay_arena::models::{plan_models, ModelsConfig};
use assay_web::{ArenaModel, WebConfig};
use clap::{Args, Subcommand};

use crate::EngineArgs;

/// `assay arena [serve options]`, or `assay arena <subcommand>`.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ArenaArgs {
    #[command(subcommand)]
    pub command: Option<ArenaCommand>,
    #[command(flatten)]
    pub serve: ArenaServeArgs,
}

/// Arena subcommands besides serving (`assay arena` alone serves).
#[derive(Subcommand)]
pub enum ArenaCommand {
    /// Print a leaderboard from a battle file (our export or the LMSYS dump) or a store's votes.
    Ratings(crate::arena_ratings::RatingsArgs),
    /// Write a store's votes as JSON Lines in the LMSYS battle layout (what `ratings` reads).
    Export(crate::arena_ratings::ExportArgs),
}

#[derive(Args)]
pub struct ArenaServeArgs {
    /// Models that battle, comma-separated (or repeat the option), e.g.
    /// `local:smollm2,http://127.0.0.1:8000/v1#qwen2.5-7b-instruct`. Without it, the models of
    /// --models-config with a weight above 0.
    #[arg(long, value_delimiter = ',', value_name = "MODEL,...")]
    pub models: Vec<String>,
    /// TOML file of `[[models]]` tables: name (the model string), display, organization,
    /// license, weight, boost.
    #[arg(long, value_name = "FILE")]
    pub models_config: Option<PathBuf>,
    /// Where votes go: a SQLite file, sqlite:PATH or postgres://… (default
    /// $ASSAY_HOME/assay.db).
    #[arg(long, value_name = "PATH|URL")]
    pub db: Option<String>,
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (`assay serve` defaults to 8080 and `assay guard` to 8088, so the
    /// three run side by side); 0 picks a free one (printed at start).
    #[arg(long, default_value_t = crate::ARENA_PORT)]
    pub port: u16,
    /// Votes one voter (browser cookie) may cast in 24 hours.
    #[arg(long, default_value_t = 200)]
    pub daily_cap: u64,
    /// Votes one client address (an IPv6 address by its /64) may cast in 24 hours, counted by
    /// this process (default: --daily-cap).
    #[arg(long, value_name = "N")]
    pub address_daily_cap: Option<u64>,
    /// Largest prompt, in bytes.
    #[arg(long, default_value_t = 16 * 1024)]
    pub max_prompt_bytes: usize,
    /// Turns per battle.
    #[arg(long, default_value_t = 8)]
    pub max_turns: u32,
    /// Seconds a model that failed sits out of new battles (0: never).
    #[arg(long, default_value_t = 300)]
    pub bench_seconds: u64,
    /// Seconds a computed leaderboard is reused; votes cast through other processes sharing
    /// the database show after at most this long (this process's own votes at once).
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub leaderboard_ttl_seconds: u64,
    /// Bootstrap rounds for the leaderboard's confidence intervals.
    #[arg(long, default_value_t = 200)]
    pub bootstrap_rounds: usize,
    /// Rated votes a language or a category (coding, multi-turn, long query) needs for its own
    /// leaderboard tab.
    #[arg(long, default_value_t = 10)]
    pub min_language_votes: u64,
    /// The leaderboard marks models with fewer rated votes than this as preliminary (0: none).
    #[arg(long, value_name = "VOTES", default_value_t = assay_arena::leaderboard::DEFAULT_PRELIMINARY_BELOW)]
    pub preliminary_below: u64,
    /// File whose contents salt the stored hash of voters' IP addresses (or set the
    /// ASSAY_ARENA_IP_SALT environment variable; default: random at each start).
    #[arg(long, value_name = "FILE")]
    pub ip_salt_file: Option<PathBuf>,
    /// Refused: a salt on the command line is visible to every local user (`ps`).
    #[arg(long, hide = true, value_name = "SALT")]
    pub ip_salt: Option<String>,
    /// Mark cookies Secure (when served over HTTPS, e.g. behind a TLS proxy).
    #[arg(long)]
    pub secure_cookies: bool,
    /// Take voters' addresses from the last X-Forwarded-For address (only behind one proxy
    /// that appends it).
    #[arg(long)]
    pub trust_forwarded_for: bool,
    /// Seed for the model sampler (default: random).
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Runs `assay arena`.
pub async fn arena(args: ArenaArgs, api_key_env: Option<String>) -> Result<()> {
    match args.command {
        None => serve(args.serve, api_key_env).await,
        Some(ArenaCommand::Ratings(args)) => crate::arena_ratings::ratings(args),
        Some(ArenaCommand::Export(args)) => crate::arena_ratings::export(args),
    }
}

/// The environment variable that may hold the IP salt.
const IP_SALT_ENV: &str = "ASSAY_ARENA_IP_SALT";

/// The IP salt: from `--ip-salt-file`, else from [`IP_SALT_ENV`] (`env`), else none (random).
/// A salt given as `--ip-salt VALUE` is refused: the command line of a process is readable by
/// every user of the machine.
fn ip_salt(
    on_command_line: Option<&str>,
    file: Option<&Path>,
    env: Option<String>,
) -> Result<Option<String>> {
    if on_command_line.is_some() {
        anyhow::bail!(
            "--ip-salt is not accepted: a salt on the command line is visible to every user of \
             this machine (ps). Put it in a file readable only by you and pass \
             --ip-salt-file FILE, or set {IP_SALT_ENV}"
        );
    }
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read --ip-salt-file {}", path.display()))?;
        // The file's line ending is not part of the salt.
        let salt = text.trim_end_matches(['\n', '\r']);
        if salt.trim().is_empty() {
            anyhow::bail!("--ip-salt-file {} is empty", path.display());
        }
        return Ok(Some(salt.to_string()));
    }
    match env {
        Some(salt) if salt.trim().is_empty() => {
            anyhow::bail!("{IP_SALT_ENV} is set but empty; give it a salt or unset it")
        }
        other => Ok(other),
    }
}

/// Serves the arena until Ctrl-C.
pub async fn serve(args: ArenaServeArgs, api_key_env: Option<String>) -> Result<()> {
    let ip_salt = ip_salt(
        args.ip_salt.as_deref(),
        args.ip_salt_file.as_deref(),
        std::env::var(IP_SALT_ENV).ok(),
    )?;
    let config = match &args.models_config {
        Some(path) => Some(ModelsConfig::load(path)?),
        None => None,
    };
    let (plans, infos) = plan_models(&args.models, config.as_ref())?;
    let store = Arc::new(crate::store_args::open_store(args.db.as_deref())?);
    let options = crate::open_options(api_key_env, &args.engine);

    // Local engines are loaded once per file, whatever parameters or guard their variants carry.
    let registry = crate::registry(options);
    let mut models = Vec::with_capacity(plans.len());
    for plan in plans {
        let client = crate::open_model(&registry, &plan.spec.raw).await?;
        models.push(ArenaModel { plan, client });
    }

    if ip_salt.is_none() {
        eprintln!(
            "assay arena: no --ip-salt-file (or {IP_SALT_ENV}) given: voters' IP hashes use a \
             random salt and will not match across restarts"
        );
    }
    let web = WebConfig {
        max_prompt_bytes: args.max_prompt_bytes,
        max_turns: args.max_turns,
        daily_cap: args.daily_cap,
        address_daily_cap: args.address_daily_cap.unwrap_or(args.daily_cap),
        bench_for: Duration::from_secs(args.bench_seconds),
        bootstrap_rounds: args.bootstrap_rounds,
        leaderboard_ttl: Duration::from_secs(args.leaderboard_ttl_seconds),
        min_language_votes: args.min_language_votes,
        preliminary_below: args.preliminary_below,
        ip_salt,
        seed: args.seed,
        secure_cookies: args.secure_cookies,
        trust_forwarded_for: args.trust_forwarded_for,
        ..WebConfig::default()
    };
    let count = models.len();
    let router = assay_web::router(models, infos, store.clone(), web)?;
    let addr: SocketAddr = format!("{}:{}", args.host, args.port)
        .parse()
        .with_context(|| format!("invalid --host/--port {}:{}", args.host, args.port))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    println!(
        "assay arena: {count} models listening on http://{local}/ (leaderboard at /leaderboard; votes in {}; Ctrl-C stops)",
        store.path().display()
    );
    std::io::stdout().flush()?;
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    assay_web::serve(listener, router, shutdown)
        .await
        .context("arena server failed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ip_salt_comes_from_a_file_or_the_environment_never_the_command_line() {
        let err = ip_salt(Some("s3cret"), None, None).unwrap_err().to_string();
        assert!(
            err.contains("--ip-salt-file") && err.contains(IP_SALT_ENV),
            "{err}"
        );
        assert!(!err.contains("s3cret"), "{err}");

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("salt");
        std::fs::write(&file, "pepper and salt \n").unwrap();
        let env = Some("from-env".to_string());
        assert_eq!(
            ip_salt(None, Some(&file), env.clone()).unwrap().as_deref(),
            Some("pepper and salt ")
        );
        assert_eq!(
            ip_salt(None, None, env).unwrap().as_deref(),
            Some("from-env")
        );
        assert_eq!(ip_salt(None, None, None).unwrap(), None);

        std::fs::write(&file, "\n").unwrap();
        let err = ip_salt(None, Some(&file), None).unwrap_err().to_string();
        assert!(err.contains("empty"), "{err}");
        let missing = dir.path().join("missing");
        let err = ip_salt(None, Some(&missing), None).unwrap_err().to_string();
        assert!(err.contains("cannot read --ip-salt-file"), "{err}");
        let err = ip_salt(None, None, Some(" ".into()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("empty"), "{err}");
    }
}
