//! Wiring of `assay audit` and `assay report`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use assay_core::table::TextTable;
use assay_core::Language;
use assay_core::{ChatRequest, Message};
use assay_eval::audit::{self, AuditConfig, ExecOptions};
use assay_eval::gates::{self, Gate};
use assay_eval::results::Results;
use assay_eval::{builtin, compare, report, Suite};
use assay_models::ChatModel;
use assay_store::{RunStatus, Store};
use clap::{Args, ValueEnum};

use crate::store_args::StoreArgs;
use crate::{open_model, open_options, registry, EngineArgs};

/// Items per built-in suite in the quick default audit (`assay audit` with no suite named).
const QUICK_LIMIT: usize = 10;
/// Answer length in the quick default audit: long enough to see a refusal or an answer.
const QUICK_MAX_TOKENS: u32 = 200;
/// The model asked when --models is not given.
const DEFAULT_MODEL: &str = "local:smollm2";

#[derive(Args)]
pub struct AuditArgs {
    /// Models to ask, comma-separated (local:smollm2, openai:gpt-4o-mini,
    /// http://127.0.0.1:8080/v1#model, each with optional ?temperature=&max_tokens=...);
    /// default local:smollm2. Credentials in a name (user:pass@, ?api_key=) are never stored:
    /// with --resume, give such a model again.
    #[arg(long, value_delimiter = ',')]
    models: Option<Vec<String>>,
    /// Suites, comma-separated: built-in names (sensitive, over-refusal, should-refuse,
    /// knowledge, generated-content) or suite directories. Without it: a quick sample of every
    /// built-in suite.
    #[arg(long, value_delimiter = ',')]
    suite: Option<Vec<String>>,
    /// Languages to ask in.
    #[arg(long, value_delimiter = ',', default_value = "en,zh")]
    langs: Vec<String>,
    /// Answers per (model, item, language); sample i is asked with seed `--seed + i`.
    #[arg(long, default_value_t = 1)]
    samples: u32,
    /// Items per suite, drawn by a shuffle with a seed of its own (0), so that another --seed
    /// asks the same items (default: all; the quick default audit takes 10).
    #[arg(long)]
    limit: Option<usize>,
    /// Only items with KEY=VALUE[,VALUE...] (KEY: category, id, kind, expect); repeatable.
    #[arg(long)]
    filter: Vec<String>,
    /// Requests in flight per model.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Temperature where a model name sets none.
    #[arg(long, default_value_t = audit::DEFAULT_TEMPERATURE)]
    temperature: f32,
    /// Answer length limit where a model name sets none (default 512; 200 in the quick audit).
    #[arg(long)]
    max_tokens: Option<u32>,
    /// Also grade answers with this model as an XSTest-style judge (which: --judge-when).
    #[arg(long)]
    judge: Option<String>,
    /// Judge open answers pairwise against this model's (one of --models), in both orders,
    /// with --judge; verdicts are stored as arena votes of voter judge:<judge> (`assay board`
    /// rates them).
    #[arg(long, value_name = "BASELINE", requires = "judge")]
    pairwise: Option<String>,
    /// Which answers go to the judge: those whose refusal grade is uncertain (confidence
    /// below the grader's documented threshold), or all.
    #[arg(long, value_enum, default_value = "uncertain")]
    judge_when: JudgeWhenArg,
    /// Retries of a failed request to an HTTP model (429, 5xx, connection errors) before it is
    /// recorded as an error.
    #[arg(long, default_value_t = 4)]
    retries: u32,
    /// Seconds one request to an HTTP model may take in all.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    /// Ask every request even when the cache has its answer.
    #[arg(long)]
    no_cache: bool,
    /// Continue an interrupted run (its id, a unique prefix, or "latest").
    #[arg(long, value_name = "RUN", conflicts_with_all = ["suite", "compare"])]
    resume: Option<String>,
    /// Put two existing runs side by side instead of running.
    #[arg(long, num_args = 2, value_names = ["RUN_A", "RUN_B"])]
    compare: Option<Vec<String>>,
    /// With --compare: a model of run A and the model of run B it is compared with
    /// (repeatable). Default: models of the same name, or the only model of each run.
    #[arg(long, value_name = "MODEL_A=MODEL_B", requires = "compare")]
    pair: Vec<String>,
    /// Where report files go (default: assay-runs/<run id>).
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    exit: ExitArgs,
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    engine: EngineArgs,
}

/// What ends `assay audit` and `assay report` with a status a CI job can act on (README,
/// "Exit status").
#[derive(Args)]
pub struct ExitArgs {
    /// Exit with status 3 when a suite's pass rate (the share of answers that met their item's
    /// expectation) is below RATE for any model: SUITE=RATE or SUITE:LANG=RATE, RATE as 0.95 or
    /// 95%; repeatable.
    #[arg(long, value_name = "SUITE=RATE")]
    fail_under: Vec<String>,
    /// With --fail-under: hold the lower bound of the pass rate's 95% interval to the gate, not
    /// its point estimate.
    #[arg(long)]
    strict: bool,
    /// Exit with status 4 when more than this share of the run's requests failed (and always
    /// when every request failed).
    #[arg(long, default_value_t = 0.2, value_name = "SHARE")]
    max_error_rate: f64,
}

impl ExitArgs {
    fn gates(&self) -> Result<Vec<Gate>> {
        if !(0.0..=1.0).contains(&self.max_error_rate) {
            bail!(
                "--max-error-rate {}: give a share in 0..1, e.g. 0.2",
                self.max_error_rate
            );
        }
        Ok(self
            .fail_under
            .iter()
            .map(|g| Gate::parse(g))
            .collect::<Result<Vec<_>, _>>()?)
    }
}

/// Prints each gate's outcome, then ends with the status a CI job should see: 4 when too many
/// requests failed (the rates would not mean much), else 3 when a gate failed.
fn check_exit(results: &Results, args: &ExitArgs) -> Result<()> {
    let gates = args.gates()?;
    Gate::check_suites(&gates, results.run.suites.iter().map(|s| s.name.as_str()))?;
    let outcomes = gates::check(results, &gates, args.strict);
    let compared = if args.strict {
        "the lower bound of the 95% interval"
    } else {
        "the point estimate"
    };
    if !outcomes.is_empty() {
        println!("gates (pass rate, {compared}):");
        for outcome in &outcomes {
            println!("  {outcome}");
        }
    }
    let requests = &results.run.requests;
    let (failed, planned) = (requests.errors, requests.planned);
    let share = failed as f64 / planned.max(1) as f64;
    if planned > 0 && (failed == planned || share > args.max_error_rate) {
        return Err(crate::Exit {
            code: crate::EXIT_TOO_MANY_ERRORS,
            message: format!(
                "{failed} of {planned} requests failed ({:.1}%, more than --max-error-rate {}): \
                 the rates are not to be trusted. See the Errors section of the report, fix the \
                 cause, then continue with: assay audit --resume {}",
                share * 100.0,
                args.max_error_rate,
                results.run.id
            ),
        }
        .into());
    }
    let failed_gates: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.passed)
        .map(|o| format!("{} for {}", o.gate, o.model))
        .collect();
    if !failed_gates.is_empty() {
        return Err(crate::Exit {
            code: crate::EXIT_GATE_FAILED,
            message: format!(
                "{} of {} gates failed ({compared}): {}",
                failed_gates.len(),
                outcomes.len(),
                failed_gates.join(", ")
            ),
        }
        .into());
    }
    Ok(())
}

/// Asks each model one tiny question before anything is recorded, so that a typo in a name, a
/// server that is down or a wrong key stops the audit at once and leaves no run behind.
async fn check_reachable(
    models: &[(&String, &Arc<dyn ChatModel>)],
    timeout: std::time::Duration,
) -> Result<()> {
    let probes = models.iter().map(|(name, model)| async move {
        let mut request = ChatRequest::new(vec![Message::user("Hi")]);
        request.params.max_tokens = Some(1);
        let failure = match tokio::time::timeout(timeout, model.complete(request)).await {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(e)) => format!("{e}"),
            Err(_) => format!("no answer within {} s", timeout.as_secs()),
        };
        Err(anyhow::anyhow!(
            "model {name} did not answer a one-token test request ({}); check its name, address \
             and credentials. No run was created",
            assay_core::redact(&failure)
        ))
    });
    futures::future::try_join_all(probes).await?;
    Ok(())
}

pub async fn audit(args: AuditArgs, api_key_env: Option<String>) -> Result<()> {
    let store = args.store.open()?;
    if let Some(runs) = &args.compare {
        return compare(
            &store,
            (&runs[0], &runs[1]),
            &args.pair,
            args.out.as_deref(),
        );
    }
    let gates = args.exit.gates()?;
    // A new run is configured and its suites loaded first (bad input stops here), but it is
    // recorded only once every model has answered a test request.
    let plan = match &args.resume {
        Some(reference) => {
            let id = store.resolve_run(reference)?;
            eprintln!("resuming run {id}");
            Plan::Resume(id)
        }
        None => {
            let config = AuditConfig {
                models: args
                    .models
                    .clone()
                    .unwrap_or_else(|| vec![DEFAULT_MODEL.to_string()]),
                langs: parse_langs(&args.langs)?,
                samples: args.samples.max(1),
                seed: args.seed,
                limit: args.limit.or(args.suite.is_none().then_some(QUICK_LIMIT)),
                filter: args.filter.clone(),
                judge: args.judge.clone(),
                judge_when: match args.judge_when {
                    JudgeWhenArg::Uncertain => audit::JudgeWhen::Uncertain,
                    JudgeWhenArg::All => audit::JudgeWhen::All,
                },
                pairwise: args.pairwise.clone(),
                temperature: args.temperature,
                top_p: audit::DEFAULT_TOP_P,
                max_tokens: args.max_tokens.unwrap_or(if args.suite.is_none() {
                    QUICK_MAX_TOKENS
                } else {
                    audit::DEFAULT_MAX_TOKENS
                }),
            };
            let names = args
                .suite
                .clone()
                .unwrap_or_else(|| builtin::names().map(str::to_string).collect());
            let suites = names
                .iter()
                .map(|name| load_suite(name))
                .collect::<Result<Vec<_>>>()?;
            Gate::check_suites(&gates, suites.iter().map(|s| s.manifest.name.as_str()))?;
            // A filter that matches nothing stops here, before any model is loaded.
            audit::check_selection(&config, &suites)?;
            Plan::New(config, suites)
        }
    };
    // The configuration with model names as stored (without credentials).
    let config = match &plan {
        Plan::Resume(id) => audit::run_config(&store, id)?,
        Plan::New(config, _) => AuditConfig {
            models: config
                .models
                .iter()
                .map(|n| audit::stored_name(n))
                .collect(),
            judge: config.judge.as_deref().map(audit::stored_name),
            pairwise: config.pairwise.as_deref().map(audit::stored_name),
            ..config.clone()
        },
    };
    let mut open = open_options(api_key_env, &args.engine);
    open.client.max_concurrency = args.concurrency.max(1);
    open.client.max_retries = args.retries;
    open.client.total_timeout = std::time::Duration::from_secs(args.timeout.max(1));
    // Answers are asked whole, and a server sends the headers of a whole answer only when it is
    // generated: a slow model or a busy machine must not turn a long answer into an error.
    open.client.first_token_timeout = open.client.total_timeout;
    // The store keeps names without credentials; the models are opened with them. A new run
    // has its names as given; a resumed one takes back, by their stored names, those given
    // again.
    let given_models = match (&args.resume, &args.models) {
        (Some(_), given) => given.clone().unwrap_or_default(),
        (None, given) => given
            .clone()
            .unwrap_or_else(|| vec![DEFAULT_MODEL.to_string()]),
    };
    let names = audit::resume_names(&config.models, &given_models)?;
    // One registry for the models and the judge: variants of one local model share its engine.
    let registry = registry(open);
    let mut models: HashMap<String, Arc<dyn ChatModel>> = HashMap::new();
    for (stored, name) in &names {
        models.insert(stored.clone(), open_redacted(&registry, name).await?);
    }
    let judge = match &config.judge {
        Some(stored) => {
            let given: Vec<String> = args.judge.iter().cloned().collect();
            let names = audit::resume_names(std::slice::from_ref(stored), &given)?;
            let name = names.get(stored).unwrap_or(stored);
            Some((stored.clone(), open_redacted(&registry, name).await?))
        }
        None => None,
    };
    let mut probed: Vec<(&String, &Arc<dyn ChatModel>)> = models.iter().collect();
    probed.sort_by_key(|(name, _)| config.models.iter().position(|m| m == *name));
    probed.extend(judge.as_ref().map(|(name, model)| (name, model)));
    check_reachable(
        &probed,
        std::time::Duration::from_secs(args.timeout.clamp(1, PROBE_TIMEOUT_SECS)),
    )
    .await?;
    let judge = judge.map(|(_, model)| model);
    let run_id = match plan {
        Plan::Resume(id) => id,
        Plan::New(config, suites) => {
            let id = audit::create_run(&store, &config, &suites)?;
            eprintln!("run {id} (store {})", store.path().display());
            id
        }
    };
    let engines = registry.engines_loaded();
    if engines > 0 {
        eprintln!("local engines loaded: {engines} (variants of one model file share its engine)");
    }
    let options = ExecOptions {
        concurrency: args.concurrency,
        use_cache: !args.no_cache,
        progress: crate::progress::reporter(true),
    };
    let execution = audit::execute(&store, &run_id, &models, judge.as_ref(), &options);
    let summary = tokio::select! {
        summary = execution => summary?,
        _ = tokio::signal::ctrl_c() => {
            audit::finish_run(&store, &run_id, RunStatus::Interrupted)?;
            eprintln!("\ninterrupted; every answer so far is stored. Continue with: assay audit --resume {run_id}");
            std::process::exit(130);
        }
    };
    audit::finish_run(&store, &run_id, RunStatus::Finished)?;
    keep_analysis(&store, &run_id);
    eprintln!(
        "asked {}, from cache {}, errors {}, answered before {}{}",
        summary.asked,
        summary.cached,
        summary.errors,
        summary.already_answered,
        if config.judge.is_some() {
            format!(", judged {}", summary.judged)
        } else {
            String::new()
        }
    );
    if let (Some(pairs), Some(baseline)) = (summary.pairwise, &config.pairwise) {
        print_pairwise(&store, &run_id, baseline, pairs)?;
    }
    let results = write_report(&store, &run_id, args.out.as_deref())?;
    check_exit(&results, &args.exit)
}

/// Keeps the finished run's analysis in the store, so that `assay board` need not read its
/// answers again; a failure only costs the board that time, so it is a warning.
fn keep_analysis(store: &assay_store::Store, run_id: &str) {
    let why = match audit::results_without_texts_kept(store, run_id) {
        Ok((_, not_kept)) => not_kept.map(|e| e.to_string()),
        Err(e) => Some(e.to_string()),
    };
    if let Some(why) = why {
        eprintln!(
            "warning: the analysis of run {run_id} was not kept for `assay board`, which will \
             read its answers instead: {why}"
        );
    }
}

/// The judge's games against the baseline: what was judged, and each model's score.
fn print_pairwise(
    store: &assay_store::Store,
    run_id: &str,
    baseline: &str,
    pairs: assay_eval::pairwise::PairwiseSummary,
) -> Result<()> {
    eprintln!(
        "pairwise against {baseline}: judged {} game(s) now, {} before; unreadable verdicts {}, \
         failed judge requests {}",
        pairs.judged, pairs.already, pairs.unreadable, pairs.errors
    );
    let scores = assay_eval::pairwise::pairwise_scores(&store.votes()?, Some(run_id));
    if scores.is_empty() {
        println!("\nJudged against {baseline}: no readable verdicts, so no scores.");
        return Ok(());
    }
    println!(
        "\nJudged against {baseline} (both orders; score = (wins + ties) / games, 95% Wilson CI)"
    );
    let mut table = TextTable::new(
        &[
            "model",
            "judge",
            "games",
            "win",
            "tie",
            "loss",
            "score",
            "orders disagree",
        ],
        &[false, false, true, true, true, true, false, false],
    );
    for s in scores {
        table.row(vec![
            s.model,
            s.judge,
            s.games.to_string(),
            s.wins.to_string(),
            s.ties.to_string(),
            s.losses.to_string(),
            format!(
                "{:.1}% [{:.1}–{:.1}]",
                s.score.p * 100.0,
                s.score.lo * 100.0,
                s.score.hi * 100.0
            ),
            format!("{} of {} pairs", s.orders_disagree, s.pairs_both_orders),
        ]);
    }
    print!("{}", table.render("  "));
    Ok(())
}

/// A run to continue (its id), or one to create once its models have answered.
enum Plan {
    Resume(String),
    New(AuditConfig, Vec<Suite>),
}

/// The longest the one-token test request to each model may take.
const PROBE_TIMEOUT_SECS: u64 = 120;

/// Opens a model; an error says which by its name without credentials.
async fn open_redacted(
    registry: &assay_models::Registry,
    name: &str,
) -> Result<Arc<dyn ChatModel>> {
    open_model(registry, name)
        .await
        .map_err(|e| anyhow::anyhow!(assay_core::redact(&format!("{e:#}"))))
}

fn parse_langs(codes: &[String]) -> Result<Vec<Language>> {
    let mut langs = Vec::new();
    for code in codes {
        let lang = Language::parse(code)
            .with_context(|| format!("--langs: unknown language {code:?} (en, zh)"))?;
        if !langs.contains(&lang) {
            langs.push(lang);
        }
    }
    if langs.is_empty() {
        bail!("--langs: give at least one language (en, zh)");
    }
    Ok(langs)
}

/// A built-in suite by name, else a suite directory.
fn load_suite(name: &str) -> Result<Suite> {
    if let Some(loaded) = builtin::load(name) {
        return loaded
            .map_err(|e| anyhow::anyhow!("built-in suite {name} is invalid: {}", one_line(&e)));
    }
    let path = Path::new(name);
    if !path.is_dir() {
        let known: Vec<&str> = builtin::names().collect();
        bail!(
            "--suite {name:?}: neither a built-in suite ({}) nor a suite directory",
            known.join(", ")
        );
    }
    Suite::load(path).map_err(|e| anyhow::anyhow!("suite {}: {}", path.display(), one_line(&e)))
}

/// Every problem of a suite (one per line in its error) on one line, `; ` between them.
fn one_line(e: &impl std::fmt::Display) -> String {
    e.to_string()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

fn default_out(run_id: &str) -> PathBuf {
    Path::new("assay-runs").join(run_id)
}

/// Writes the run's reports and prints its summary; returns the results for the exit checks.
fn write_report(store: &Store, run_id: &str, out: Option<&Path>) -> Result<Results> {
    let results = audit::results(store, run_id)?;
    let dir = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| default_out(run_id));
    let files = report::write_reports(&results, &dir)
        .with_context(|| format!("cannot write the report into {}", dir.display()))?;
    println!("{}", report::terminal_summary(&results));
    println!("report: {}", files.html.display());
    println!("data:   {} {}", files.json.display(), files.csv.display());
    Ok(results)
}

fn compare(store: &Store, runs: (&str, &str), pairs: &[String], out: Option<&Path>) -> Result<()> {
    let a = store.resolve_run(runs.0)?;
    let b = store.resolve_run(runs.1)?;
    let results_a = audit::results(store, &a)?;
    let results_b = audit::results(store, &b)?;
    let pairs = if pairs.is_empty() {
        compare::auto_pairs(&results_a, &results_b)?
    } else {
        pairs
            .iter()
            .map(|p| compare::parse_pair(p, &results_a, &results_b))
            .collect::<Result<Vec<_>, _>>()?
    };
    let comparison = compare::compare(results_a, results_b, pairs);
    let dir = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| Path::new("assay-runs").join(format!("compare-{a}-{b}")));
    let path = report::write_comparison(&comparison, &dir)
        .with_context(|| format!("cannot write the comparison into {}", dir.display()))?;
    println!("{}", report::comparison_summary(&comparison));
    println!("comparison: {}", path.display());
    Ok(())
}

#[derive(Args)]
pub struct ReportArgs {
    /// Run id, unique prefix, or "latest".
    run: String,
    /// Where report files go (default: assay-runs/<run id>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Grade every answer again with this version's rule-based graders first.
    #[arg(long)]
    regrade: bool,
    #[command(flatten)]
    exit: ExitArgs,
    #[command(flatten)]
    store: StoreArgs,
}

pub fn report(args: ReportArgs) -> Result<()> {
    let store = args.store.open()?;
    let run_id = store.resolve_run(&args.run)?;
    if args.regrade {
        let n = audit::regrade(&store, &run_id)?;
        eprintln!("regraded {n} answers");
    }
    args.exit.gates()?;
    let results = write_report(&store, &run_id, args.out.as_deref())?;
    check_exit(&results, &args.exit)
}

#[derive(Clone, Copy, ValueEnum)]
pub enum JudgeWhenArg {
    Uncertain,
    All,
}
