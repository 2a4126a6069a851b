//! The `assay` binary: argument parsing and wiring; the work happens in the library crates.

mod arena;
mod arena_ratings;
mod assess;
mod audit;
mod board;
mod grade;
mod guard;
mod import;
mod progress;
mod review;
mod runs;
mod screen;
mod store_args;
mod tokens;

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use assay_core::table::TextTable;
use assay_core::{ChatEvent, ChatRequest, GenParams, Message, ModelSpec};
use assay_models::local::{catalogue, EngineConfig};
use assay_models::{ChatModel, OpenOptions, Registry};
use clap::{Args, Parser, Subcommand};
use futures::StreamExt;

// glibc's allocator spent about half of reading a store's runs (`assay board`, audit reports)
// in malloc and free of the many small strings a row is; mimalloc does the same work in about
// half the time (bench/RESULTS.md, Board).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "assay",
    version,
    about = "Compare and safety-test language models, in Chinese and English."
)]
struct Cli {
    /// Environment variable holding the API key for http(s):// models.
    #[arg(long, global = true, value_name = "NAME")]
    api_key_env: Option<String>,
    /// On an error, print each of its causes on a line of its own, and the backtrace when
    /// RUST_BACKTRACE=1 or RUST_LIB_BACKTRACE=1 is set (without -v an error is one line).
    #[arg(short = 'v', long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve a model as an OpenAI-compatible endpoint.
    Serve(ServeArgs),
    /// Ask a model one question and stream its answer to the terminal.
    Chat(ChatArgs),
    /// Ask models the questions of suites, in English and Chinese, grade every answer and
    /// report rates with confidence intervals. With no arguments: a quick sample of the
    /// built-in suites against local:smollm2.
    Audit(Box<audit::AuditArgs>),
    /// List the runs in the store (--json for scripts); `runs rm RUN…` deletes runs, `runs
    /// prune --status running --older-than 1h` those left behind.
    Runs(runs::RunsArgs),
    /// Rebuild the report of a run from the store.
    Report(audit::ReportArgs),
    /// Grade answers that already exist.
    Grade {
        #[command(subcommand)]
        command: GradeCommand,
    },
    /// Turn another data set (XSTest, CCP-sensitive-prompts, C-Eval/CMMLU, any CSV/JSONL)
    /// into a suite directory.
    Import(import::ImportArgs),
    /// Blind side-by-side battles between models in the browser, votes, and a leaderboard.
    /// `assay arena --models a,b,...` serves the web app.
    Arena(arena::ArenaArgs),
    /// Screen a corpus (JSON Lines, plain/.gz/.zst, or Parquet) against a policy: blocked sources,
    /// keywords, patterns; kept and removed shards, per-source rates, sampled acceptance.
    Screen(screen::ScreenArgs),
    /// An OpenAI-compatible gateway that applies a policy to prompts and streamed answers
    /// (hold back, or stream and retract), with API keys, rate limits and an audit log.
    Guard(Box<guard::GuardArgs>),
    /// Label a seeded sample of a run's answers in the browser (1 comply, 2 partial, 3 refuse,
    /// s skip, n note, u undo); `assay review export RUN --out FILE.csv` writes the labels.
    Review(review::ReviewArgs),
    /// The safety assessment of GB/T 45654-2025: each requirement (training-data sources,
    /// keyword library, question banks, refusal rates, classifier, abusive users) judged
    /// from the evidence of screen, audit, policy and guard, with n and 95% intervals.
    Assess(Box<assess::AssessArgs>),
    /// What the same text costs in each tokenizer: tokens per language, the premium of
    /// Chinese over English with bootstrap intervals, Han characters that are one token;
    /// `assay tokens list` names the tokenizers.
    Tokens(Box<tokens::TokensArgs>),
    /// One leaderboard over the store's audit runs and arena votes: every score with n and a
    /// 95% interval, ranks that intervals separate, all / zh / en, history per month or week.
    Board(Box<board::BoardArgs>),
    /// List the built-in suites.
    Suites {
        /// Print a JSON array of objects (name, version, license, items, categories).
        #[arg(long)]
        json: bool,
        /// Items per risk of a profile's risk list (default gbt45654-2025's 31 risks) in each
        /// built-in suite, and a policy pack's keywords per risk with --policy.
        #[arg(long)]
        risks: bool,
        /// With --risks: the profile whose risks are listed.
        #[arg(long, default_value = "gbt45654-2025")]
        profile: String,
        /// With --risks: a policy pack (built-in name or directory) to count keywords of.
        #[arg(long)]
        policy: Option<String>,
    },
    /// The local model catalogue.
    Models {
        #[command(subcommand)]
        command: ModelsCommand,
    },
}

#[derive(Subcommand)]
enum GradeCommand {
    /// Label each answer of a CSV/JSONL comply / partial / refuse, one JSON line per row;
    /// with --labels, agreement with human labels (confusion matrix, accuracy, Cohen's kappa).
    Refusal(grade::GradeRefusalArgs),
}

#[derive(Subcommand)]
enum ModelsCommand {
    /// List catalogue models and whether they are downloaded.
    List {
        /// Print a JSON array of objects (name, kind, status, file, path, description,
        /// license, sha256).
        #[arg(long)]
        json: bool,
    },
    /// Download a catalogue model into the cache ($ASSAY_HOME, default ~/.cache/assay).
    Fetch { name: String },
}

/// Settings of the embedded engine, for commands that may load a local model.
#[derive(Args, Clone)]
struct EngineArgs {
    /// Requests generated at the same time by a local model.
    #[arg(long, default_value_t = 4)]
    slots: usize,
    /// Context tokens (prompt + answer) per request for a local model.
    #[arg(long, default_value_t = 2048)]
    context: u32,
    /// Requests that may wait for a slot before more are refused with 503.
    #[arg(long, default_value_t = 64)]
    queue: usize,
    /// CPU threads for a local model (default: all cores but one; llama.cpp's threads spin, so
    /// with every core taken any other load on the machine slows it many times over).
    #[arg(long)]
    threads: Option<usize>,
    /// Decode each request of a local model in its own forward pass, so a seeded answer never
    /// depends on what else runs at the same time (batching changes llama.cpp's rounding);
    /// costs the throughput that batching brings.
    #[arg(long)]
    deterministic: bool,
}

impl EngineArgs {
    fn config(&self) -> EngineConfig {
        EngineConfig {
            threads: self.threads,
            slots: self.slots,
            context_per_slot: self.context,
            max_queue: self.queue,
            batch_invariant: self.deterministic,
            ..EngineConfig::default()
        }
    }
}

#[derive(Args)]
struct ServeArgs {
    /// Model to serve, e.g. local:smollm2 (see `assay models list`).
    #[arg(long, default_value = "local:smollm2")]
    model: String,
    #[command(flatten)]
    listen: ListenArgs,
    #[command(flatten)]
    engine: EngineArgs,
}

/// Default ports: each server its own, so that a model server, a guard in front of it and an
/// arena over both start side by side without --port.
pub(crate) const SERVE_PORT: u16 = 8080;
pub(crate) const GUARD_PORT: u16 = 8088;
pub(crate) const ARENA_PORT: u16 = 8089;

/// Where an OpenAI-compatible server listens, and what a request may ask of it (`serve` and
/// `guard`).
#[derive(Args)]
pub(crate) struct ListenArgs {
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (default: 8080 for `assay serve`, 8088 for `assay guard`; `assay
    /// arena` uses 8089, so all three run side by side); 0 picks a free one (printed at start).
    #[arg(long)]
    pub port: Option<u16>,
    /// Largest request body accepted, in bytes (larger ones get 413).
    #[arg(long, default_value_t = 4 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Largest max_tokens a request may ask for.
    #[arg(long, default_value_t = 4096)]
    pub max_tokens_limit: u32,
    /// Seconds a connection may take to send a request's headers; also how long an idle
    /// connection stays open. Slow or silent clients are cut off after it.
    #[arg(long, default_value = "30", value_parser = seconds, value_name = "SECONDS")]
    pub header_timeout: Duration,
    /// Seconds a request's body may take to arrive once its headers are in (408 after).
    #[arg(long, default_value = "60", value_parser = seconds, value_name = "SECONDS")]
    pub body_timeout: Duration,
    /// Connections served at once; further ones wait until one closes.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// Other names clients may reach the server under (Host and Origin headers), separated
    /// by commas: NAME (any port), NAME:PORT, or * for any. localhost, loopback addresses and
    /// the bound address are always accepted; add the name a reverse proxy forwards.
    #[arg(long, value_delimiter = ',', value_name = "HOSTS")]
    pub allowed_hosts: Vec<String>,
}

impl ListenArgs {
    pub fn limits(&self) -> assay_serve::ServerConfig {
        assay_serve::ServerConfig {
            max_body_bytes: self.max_body_bytes,
            max_tokens_limit: self.max_tokens_limit,
            header_timeout: self.header_timeout,
            body_timeout: self.body_timeout,
            max_connections: self.max_connections as usize,
        }
    }

    /// The hosts a server bound to `bound` answers to (for [`assay_serve::same_origin_only`]).
    pub fn allowed_hosts(&self, bound: SocketAddr) -> assay_serve::AllowedHosts {
        assay_serve::AllowedHosts::new(bound, &self.allowed_hosts)
    }
}

/// A positive number of seconds, fractions allowed.
fn seconds(text: &str) -> Result<Duration, String> {
    match text.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!(
            "{text:?} is not a number of seconds between 0 and 86400"
        )),
    }
}

#[derive(Args)]
struct ChatArgs {
    /// Model to ask, e.g. local:smollm2, openai:gpt-4o-mini, http://127.0.0.1:8080/v1#qwen2.5.
    #[arg(long, default_value = "local:smollm2")]
    model: String,
    /// System prompt.
    #[arg(long)]
    system: Option<String>,
    #[arg(long)]
    max_tokens: Option<u32>,
    #[arg(long)]
    temperature: Option<f32>,
    #[arg(long)]
    seed: Option<u64>,
    /// The question.
    prompt: String,
    #[command(flatten)]
    engine: EngineArgs,
}

fn main() -> ExitCode {
    quiet_on_closed_output();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let verbose = cli.verbose || std::env::var_os("RUST_LIB_BACKTRACE").is_some_and(|v| v != "0");
    // A model download can take minutes, whichever command needs the model.
    catalogue::set_progress(progress::reporter(true));
    let result = tokio::runtime::Runtime::new()
        .context("cannot start the async runtime")
        .and_then(|runtime| runtime.block_on(run(cli)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`assay runs | head`): nothing is wrong, and nobody to tell.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<Exit>().is_some() => {
            let exit = e.downcast_ref::<Exit>().expect("checked just above");
            eprintln!("{}", exit.message);
            ExitCode::from(exit.code)
        }
        Err(e) => {
            // One line, causes after colons. Errors quote model names and addresses, which may
            // carry credentials.
            eprintln!("Error: {}", assay_core::redact(&error_text(&e, verbose)));
            ExitCode::FAILURE
        }
    }
}

/// A run that worked but must end with a status a CI job reads (see README, "Exit status"):
/// returned as an error, after every report is written, and printed as it is.
#[derive(Debug)]
struct Exit {
    code: u8,
    message: String,
}

/// Exit status: a `--fail-under` gate failed.
const EXIT_GATE_FAILED: u8 = 3;
/// Exit status: more requests failed than `--max-error-rate` allows, or all of them.
const EXIT_TOO_MANY_ERRORS: u8 = 4;

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

/// What a failed command prints after `Error: `. One line: each cause once (a library error
/// that quotes its source in its message would otherwise repeat it), after colons, a TOML
/// error without the snippet it draws. Verbose: anyhow's report, a cause per line and the
/// backtrace when one was captured (RUST_BACKTRACE=1 alone never adds one to the line).
fn error_text(e: &anyhow::Error, verbose: bool) -> String {
    if verbose {
        return format!("{e:?}");
    }
    // A TOML error draws the offending line with a caret under it, and the errors above it
    // quote it whole: each quote becomes its first line and message.
    let tomls: Vec<(String, String)> = e
        .chain()
        .filter_map(|cause| cause.downcast_ref::<toml::de::Error>())
        .map(|toml| {
            let full = toml.to_string();
            let at = full
                .lines()
                .next()
                .unwrap_or("TOML parse error")
                .to_string();
            (full, format!("{at}: {}", toml.message().trim()))
        })
        .collect();
    let mut line = String::new();
    for cause in e.chain() {
        let mut text = cause.to_string();
        for (full, short) in &tomls {
            text = text.replace(full.as_str(), short);
        }
        let text = text.trim();
        if text.is_empty() || line.contains(text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(text);
    }
    line
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// `println!` panics when stdout is a pipe whose reader has gone (`assay models list | head
/// -1`): that ends the program as it should, but with a panic message and exit code 101.
/// Every command prints with it, so the exit is made quiet and successful here, once.
fn quiet_on_closed_output() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info.payload_as_str().unwrap_or("");
        let closed = message.starts_with("failed printing to std")
            && (message.contains("Broken pipe") || message.contains("os error 32"));
        if closed {
            std::process::exit(0);
        }
        default_hook(info);
    }));
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args, cli.api_key_env).await,
        Command::Chat(args) => chat(args, cli.api_key_env).await,
        Command::Audit(args) => audit::audit(*args, cli.api_key_env).await,
        Command::Runs(args) => runs::runs(args),
        Command::Report(args) => audit::report(args),
        Command::Grade {
            command: GradeCommand::Refusal(args),
        } => grade::grade_refusal(args),
        Command::Import(args) => import::import(args),
        Command::Arena(args) => arena::arena(args, cli.api_key_env).await,
        Command::Screen(args) => screen::screen(args),
        Command::Guard(args) => guard::guard(*args, cli.api_key_env).await,
        Command::Review(args) => review::review(args).await,
        Command::Assess(args) => assess::assess(*args),
        Command::Tokens(args) => tokens::tokens(*args, cli.api_key_env).await,
        Command::Board(args) => board::board(*args),
        Command::Suites {
            json,
            risks: true,
            profile,
            policy,
        } => assess::risk_coverage(&profile, policy.as_deref(), json),
        Command::Suites { json, .. } => suites_list(json),
        Command::Models {
            command: ModelsCommand::List { json },
        } => models_list(json),
        Command::Models {
            command: ModelsCommand::Fetch { name },
        } => models_fetch(&name).await,
    }
}

fn open_options(api_key_env: Option<String>, engine: &EngineArgs) -> OpenOptions {
    OpenOptions {
        api_key_env,
        local: engine.config(),
        ..OpenOptions::default()
    }
}

/// The registry every command opens its models through: one engine per local file, and
/// `guard:<pack>@<model>` names.
fn registry(options: OpenOptions) -> Registry {
    let mut registry = Registry::new(options);
    assay_guard::GuardDecorator::register(&mut registry);
    registry
}

async fn open_model(registry: &Registry, name: &str) -> Result<std::sync::Arc<dyn ChatModel>> {
    let spec = ModelSpec::parse(name)?;
    registry.open(&spec).await.with_context(|| {
        format!(
            "cannot open model {}",
            assay_core::redact(&spec.to_string())
        )
    })
}

async fn serve(args: ServeArgs, api_key_env: Option<String>) -> Result<()> {
    let model = open_model(
        &registry(open_options(api_key_env, &args.engine)),
        &args.model,
    )
    .await?;
    let port = args.listen.port.unwrap_or(SERVE_PORT);
    let addr: SocketAddr = format!("{}:{port}", args.listen.host)
        .parse()
        .with_context(|| format!("invalid --host/--port {}:{port}", args.listen.host))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    let id = model.id().to_string();
    let limits = args.listen.limits();
    let router = assay_serve::same_origin_only(
        assay_serve::router(model, limits.clone()),
        args.listen.allowed_hosts(local),
    );
    println!(
        "assay serve: model {id} listening on http://{local}/v1 (OpenAI-compatible; Ctrl-C stops)"
    );
    std::io::stdout().flush()?;
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    assay_serve::serve_with(listener, router, &limits, shutdown)
        .await
        .context("server failed")
}

async fn chat(args: ChatArgs, api_key_env: Option<String>) -> Result<()> {
    let model = open_model(
        &registry(open_options(api_key_env, &args.engine)),
        &args.model,
    )
    .await?;
    let params = GenParams {
        temperature: args.temperature,
        max_tokens: args.max_tokens,
        seed: args.seed,
        system: args.system,
        ..GenParams::default()
    };
    let request = ChatRequest {
        messages: vec![Message::user(args.prompt)],
        params,
    };
    let mut stream = model.stream(request).await?;
    let mut stdout = std::io::stdout();
    while let Some(event) = stream.next().await {
        match event? {
            ChatEvent::Delta(text) => {
                stdout.write_all(text.as_bytes())?;
                stdout.flush()?;
            }
            ChatEvent::Retract {
                offset,
                replace_with,
            } => {
                // A terminal cannot take back what it printed: say what replaces it.
                println!();
                eprintln!(
                    "[the guard withdrew the answer from character {offset}; it reads instead:]"
                );
                stdout.write_all(replace_with.as_bytes())?;
                stdout.flush()?;
            }
            ChatEvent::Done {
                finish_reason,
                usage,
            } => {
                println!();
                eprintln!(
                    "[{}: finish_reason={}, prompt_tokens={}, completion_tokens={}]",
                    model.id(),
                    finish_reason.as_str(),
                    usage.prompt_tokens,
                    usage.completion_tokens
                );
                return Ok(());
            }
        }
    }
    bail!("the answer ended without finishing")
}

fn suites_list(json: bool) -> Result<()> {
    let mut table = TextTable::new(
        &["NAME", "VERSION", "ITEMS", "CATEGORIES"],
        &[false, false, true],
    );
    let mut listed = Vec::new();
    for name in assay_eval::builtin::names() {
        let suite = assay_eval::builtin::load(name)
            .context("built-in suite vanished")?
            .map_err(|e| anyhow::anyhow!("built-in suite {name} is invalid:\n{e}"))?;
        let categories: Vec<&str> = suite
            .manifest
            .categories
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        listed.push(serde_json::json!({
            "name": name,
            "version": suite.manifest.version,
            "license": suite.manifest.license,
            "items": suite.items.len(),
            "categories": suite.manifest.categories.iter()
                .map(|c| serde_json::json!({"id": c.id, "name": c.name}))
                .collect::<Vec<_>>(),
        }));
        table.row(vec![
            name.to_string(),
            suite.manifest.version.to_string(),
            suite.items.len().to_string(),
            categories.join(", "),
        ]);
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&listed)?);
    } else {
        print!("{}", table.render(""));
    }
    Ok(())
}

fn models_list(json: bool) -> Result<()> {
    let home = assay_core::assay_home();
    let mut table = TextTable::new(&["NAME", "KIND", "STATUS", "FILE", "DESCRIPTION"], &[]);
    let mut listed = Vec::new();
    for entry in catalogue::CATALOGUE {
        let path = catalogue::model_path(&home, entry);
        let status = if path.exists() {
            "downloaded"
        } else {
            "missing"
        };
        let kind = if entry.chat { "chat" } else { "base" };
        listed.push(serde_json::json!({
            "name": entry.name,
            "kind": kind,
            "status": status,
            "file": entry.file,
            "path": path,
            "description": entry.description,
            "license": entry.license,
            "sha256": entry.sha256,
        }));
        table.row(vec![
            entry.name.to_string(),
            kind.to_string(),
            status.to_string(),
            entry.file.to_string(),
            format!("{} [{}]", entry.description, entry.license),
        ]);
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&listed)?);
        return Ok(());
    }
    print!("{}", table.render(""));
    println!("cache: {}", home.join("models").display());
    Ok(())
}

async fn models_fetch(name: &str) -> Result<()> {
    let entry = catalogue::entry(name).with_context(|| {
        let known: Vec<&str> = catalogue::CATALOGUE.iter().map(|e| e.name).collect();
        format!("{name:?} is not in the catalogue ({})", known.join(", "))
    })?;
    let path = catalogue::fetch(entry, &assay_core::assay_home()).await?;
    println!(
        "{} ready at {} (sha256 {})",
        entry.name,
        path.display(),
        entry.sha256
    );
    Ok(())
}
