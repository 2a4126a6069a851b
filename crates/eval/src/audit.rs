//! The audit runner: every (model, item, language, sample) is one request, stored with its
//! grades the moment it is answered.
//!
//! A run is created once ([`create_run`]): its configuration and the exact prompts it asks are
//! written to the store, so resuming ([`execute`] again) never depends on suite files that may
//! have changed since. [`execute`] asks only what the store has no answer for, so `kill -9` loses
//! at most the requests in flight, and a second call finishes the run. Answers are also kept in a
//! content-addressed cache (model name, messages, parameters, sample index), so asking the same
//! thing again in a later run costs nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use assay_core::progress::{Reporter, Unit};
use assay_core::{now_rfc3339, ChatRequest, GenParams, Language, Message, ModelSpec, Usage};
use assay_models::ChatModel;
use assay_store::{AnswerRecord, GradeRecord, ItemRow, RequestKey, RunStatus, Store, StoreError};
use futures::StreamExt;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::grade::{self, mcq, Graded, Question, StoredItemError};
use crate::results::{CategoryInfo, ModelInfo, RequestCounts, Results, RunInfo, SuiteInfo};
use crate::suite::{Expect, Item, Kind, Suite};

/// Generation defaults of an audit, used where a model name sets nothing else; recorded with
/// the run so every answer's parameters are known exactly.
pub const DEFAULT_TEMPERATURE: f32 = 0.7;
pub const DEFAULT_TOP_P: f32 = 0.95;
pub const DEFAULT_MAX_TOKENS: u32 = 512;
/// The seed of the shuffle that draws `--limit` items, apart from `--seed`: a new `--seed`
/// asks the same items again (another sample of answers), not other items. Recorded with
/// each run; runs stored before it drew their items with their `seed`.
pub const LIMIT_SEED: u64 = 0;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("run {run}: {message}")]
    Run { run: String, message: String },
    #[error(
        "--filter {0:?}: expected KEY=VALUE[,VALUE...] with KEY one of category, id, kind, expect"
    )]
    Filter(String),
    /// A filter or limit that leaves nothing to ask (said before a run is created).
    #[error("{0}")]
    Selection(String),
    #[error("model {name:?}: {message}")]
    Model { name: String, message: String },
    #[error("a store call did not finish: {0}")]
    StoreCall(String),
    #[error(transparent)]
    StoredItem(#[from] StoredItemError),
}

/// Everything that defines a run; stored with it as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditConfig {
    /// Model names as given.
    pub models: Vec<String>,
    pub langs: Vec<Language>,
    pub samples: u32,
    pub seed: u64,
    pub limit: Option<usize>,
    pub filter: Vec<String>,
    pub judge: Option<String>,
    /// Which answers the judge is asked about (runs stored before this setting judged all).
    #[serde(default = "JudgeWhen::all")]
    pub judge_when: JudgeWhen,
    /// The baseline model of pairwise judging (`--pairwise`): the judge compares every other
    /// model's open answers with this one's ([`crate::pairwise`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pairwise: Option<String>,
    #[serde(serialize_with = "assay_core::serialize_as_written")]
    pub temperature: f32,
    #[serde(serialize_with = "assay_core::serialize_as_written")]
    pub top_p: f32,
    pub max_tokens: u32,
}

/// Which answers `--judge` sends to the judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JudgeWhen {
    /// Only answers whose refusal grade is uncertain (its confidence below the threshold).
    Uncertain,
    /// Every answer.
    All,
}

impl JudgeWhen {
    fn all() -> JudgeWhen {
        JudgeWhen::All
    }

    /// Whether an answer with these grades goes to the judge.
    fn wants(self, grades: &[GradeRecord]) -> bool {
        match self {
            JudgeWhen::All => true,
            JudgeWhen::Uncertain => grades.iter().any(|g| {
                g.grader == "refusal"
                    && g.detail
                        .as_ref()
                        .and_then(|d| d.get("uncertain"))
                        .and_then(serde_json::Value::as_bool)
                        == Some(true)
            }),
        }
    }
}

/// What the store keeps about a run beyond its [`AuditConfig`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct StoredConfig {
    config: AuditConfig,
    suites: Vec<SuiteInfo>,
    /// Parameters sent to each model (its name's parameters over the audit's defaults).
    model_params: BTreeMap<String, GenParams>,
    assay_version: String,
    graders: BTreeMap<String, String>,
    /// The seed `--limit` items were drawn with ([`LIMIT_SEED`]); `None` in runs stored
    /// before it existed, which drew them with their `seed`.
    #[serde(default)]
    limit_seed: Option<u64>,
}

/// A `KEY=VALUE[,VALUE...]` item filter; values of one filter are alternatives, several filters
/// must all hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    key: FilterKey,
    values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FilterKey {
    Category,
    Id,
    Kind,
    Expect,
}

impl Filter {
    pub fn parse(text: &str) -> Result<Filter, AuditError> {
        let bad = || AuditError::Filter(text.to_string());
        let (key, values) = text.split_once('=').ok_or_else(bad)?;
        let key = match key.trim() {
            "category" => FilterKey::Category,
            "id" => FilterKey::Id,
            "kind" => FilterKey::Kind,
            "expect" => FilterKey::Expect,
            _ => return Err(bad()),
        };
        let values: Vec<String> = values
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        if values.is_empty() {
            return Err(bad());
        }
        Ok(Filter { key, values })
    }

    fn matches(&self, item: &Item) -> bool {
        self.values.iter().any(|v| v == self.value_of(item))
    }

    /// What this filter's key reads from an item.
    fn value_of<'a>(&self, item: &'a Item) -> &'a str {
        match self.key {
            FilterKey::Category => &item.category,
            FilterKey::Id => &item.id,
            FilterKey::Kind => item.kind.as_str(),
            FilterKey::Expect => item.expect.map(Expect::as_str).unwrap_or("none"),
        }
    }

    fn key_name(&self) -> &'static str {
        match self.key {
            FilterKey::Category => "category",
            FilterKey::Id => "id",
            FilterKey::Kind => "kind",
            FilterKey::Expect => "expect",
        }
    }
}

/// Ids listed per suite when an `id` filter matches nothing: enough to show their form.
const IDS_SHOWN: usize = 3;

/// Refuses filters with a value no item of `suites` has (a typo would otherwise ask nothing
/// and leave an empty "finished" run), naming the values there are: every category of every
/// suite, or a few ids of each.
pub fn check_filters(filters: &[Filter], suites: &[Suite]) -> Result<(), AuditError> {
    for filter in filters {
        let unmatched: Vec<&String> = filter
            .values
            .iter()
            .filter(|value| {
                !suites
                    .iter()
                    .flat_map(|s| &s.items)
                    .any(|item| filter.value_of(item) == value.as_str())
            })
            .collect();
        if unmatched.is_empty() {
            continue;
        }
        let key = filter.key_name();
        let mut known = Vec::new();
        for suite in suites {
            // In the suite's order, each once.
            let mut values: Vec<&str> = Vec::new();
            for item in &suite.items {
                let value = filter.value_of(item);
                if !values.contains(&value) {
                    values.push(value);
                }
            }
            let listed = if filter.key == FilterKey::Id && values.len() > IDS_SHOWN {
                format!(
                    "{}, … ({} ids)",
                    values[..IDS_SHOWN].join(", "),
                    values.len()
                )
            } else {
                values.join(", ")
            };
            known.push(format!("{}: {listed}", suite.manifest.name));
        }
        let quoted: Vec<String> = unmatched.iter().map(|v| format!("{v:?}")).collect();
        return Err(AuditError::Selection(format!(
            "--filter {key}={}: no item has {key} {} (valid values of {key} by suite: {})",
            filter.values.join(","),
            quoted.join(", "),
            known.join("; ")
        )));
    }
    Ok(())
}

/// The items of a suite a run asks: those passing every filter, then, with a limit, that many
/// drawn by a shuffle seeded with the run's seed (kept in suite order, so a quick sample spans
/// the categories instead of taking the first few of one).
pub fn select_items<'a>(
    suite: &'a Suite,
    filters: &[Filter],
    limit: Option<usize>,
    seed: u64,
) -> Vec<&'a Item> {
    let mut chosen: Vec<(usize, &Item)> = suite
        .items
        .iter()
        .enumerate()
        .filter(|(_, item)| filters.iter().all(|f| f.matches(item)))
        .collect();
    if let Some(limit) = limit {
        if limit < chosen.len() {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            chosen.shuffle(&mut rng);
            chosen.truncate(limit);
            chosen.sort_by_key(|(index, _)| *index);
        }
    }
    chosen.into_iter().map(|(_, item)| item).collect()
}

/// The text sent for an item in a language: the question, and for multiple choice the lettered
/// options and an instruction to answer with a letter. `None` if the item lacks the language.
pub fn render_prompt(item: &Item, lang: Language) -> Option<String> {
    let prompt = item.prompt.get(&lang)?;
    if item.kind != Kind::Mcq {
        return Some(prompt.clone());
    }
    let choices = item.choices.get(&lang)?;
    let mut text = prompt.clone();
    text.push('\n');
    for (i, choice) in choices.iter().enumerate() {
        text.push_str(&format!("\n{}. {choice}", mcq::letter(i)));
    }
    text.push_str(match lang {
        Language::En => "\n\nAnswer with the letter of the correct option.",
        Language::Zh => "\n\n请回答正确选项的字母。",
    });
    Some(text)
}

/// Graders and their versions, recorded with each run.
pub fn grader_versions() -> BTreeMap<String, String> {
    grade::versions()
}

/// A new run id: UTC time to the second plus random hex, so ids sort by time and never clash.
pub fn new_run_id() -> String {
    let now = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    format!("{now}-{:04x}", rand::random::<u16>())
}

/// The name a model is stored, reported and logged under: its name with every credential
/// (`user:pass@`, `?api_key=`, a token in the path) replaced by `***`. The store never holds
/// a credential, so a run whose model needed one is resumed by giving the model again
/// (see [`resume_names`]).
pub fn stored_name(name: &str) -> String {
    assay_core::redact(name)
}

/// Whether a stored model name had a credential taken out of it.
pub fn lost_credentials(stored: &str) -> bool {
    stored.contains(assay_core::redact::REDACTED)
}

/// Matches the model names a run stored with the names given again to resume it (`given`,
/// with their credentials): each stored name maps to the name to open. A stored name that
/// lost a credential must be given again; a given name must be one of the run's.
pub fn resume_names(
    stored: &[String],
    given: &[String],
) -> Result<BTreeMap<String, String>, AuditError> {
    let mut names = BTreeMap::new();
    for name in given {
        let key = stored_name(name);
        if !stored.contains(&key) {
            return Err(AuditError::Model {
                name: key,
                message: format!(
                    "not a model of this run (its models: {})",
                    stored.join(", ")
                ),
            });
        }
        names.insert(key, name.clone());
    }
    for name in stored {
        if names.contains_key(name) {
            continue;
        }
        if lost_credentials(name) {
            return Err(AuditError::Model {
                name: name.clone(),
                message: "its credentials are not stored; give the model again, with them, \
                          to resume (--models for a model, --judge for the judge)"
                    .into(),
            });
        }
        names.insert(name.clone(), name.clone());
    }
    Ok(names)
}

/// Checks what a new run would ask before anything is opened or recorded: filters that parse
/// and whose every value some item has ([`check_filters`]), and at least one prompt left once
/// filters, `--limit` and languages are applied. [`create_run`] calls it; a front end calls it
/// first too, so a typo stops the audit before any model is loaded. Returns the parsed filters.
pub fn check_selection(config: &AuditConfig, suites: &[Suite]) -> Result<Vec<Filter>, AuditError> {
    if let Some(baseline) = &config.pairwise {
        if config.judge.is_none() {
            return Err(AuditError::Selection(
                "--pairwise needs --judge MODEL: the judge compares the answers".into(),
            ));
        }
        if !config.models.contains(baseline) {
            return Err(AuditError::Selection(format!(
                "--pairwise {baseline}: the baseline must be one of --models"
            )));
        }
    }
    let filters = config
        .filter
        .iter()
        .map(|f| Filter::parse(f))
        .collect::<Result<Vec<_>, _>>()?;
    check_filters(&filters, suites)?;
    let asks_something = suites.iter().any(|suite| {
        select_items(suite, &filters, config.limit, LIMIT_SEED)
            .iter()
            .any(|item| {
                config
                    .langs
                    .iter()
                    .any(|&lang| render_prompt(item, lang).is_some())
            })
    });
    if asks_something {
        return Ok(filters);
    }
    // An empty run would read as a finished one.
    let why = match (config.limit, config.filter.is_empty()) {
        (Some(0), _) => "--limit 0".to_string(),
        (_, false) => format!("the filters {} together", config.filter.join(" and ")),
        (_, true) => format!(
            "the suites ({})",
            suites
                .iter()
                .map(|s| s.manifest.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Err(AuditError::Selection(format!(
        "nothing to ask: {why} leave no prompt in {}",
        config
            .langs
            .iter()
            .map(|l| l.code())
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// Records a new run: its configuration and every prompt it will ask. Returns the run id.
/// Model names are stored without their credentials ([`stored_name`]): [`execute`] takes the
/// opened models by their stored names.
pub fn create_run(
    store: &Store,
    config: &AuditConfig,
    suites: &[Suite],
) -> Result<String, AuditError> {
    let filters = check_selection(config, suites)?;
    let mut model_params = BTreeMap::new();
    for name in &config.models {
        let key = stored_name(name);
        if model_params.contains_key(&key) {
            return Err(AuditError::Model {
                name: key,
                message: "given twice (perhaps with different credentials)".into(),
            });
        }
        model_params.insert(key, model_params_for(name, config)?);
    }
    let config = &AuditConfig {
        models: config.models.iter().map(|n| stored_name(n)).collect(),
        judge: config.judge.as_deref().map(stored_name),
        pairwise: config.pairwise.as_deref().map(stored_name),
        ..config.clone()
    };
    let mut rows = Vec::new();
    let mut suite_infos = Vec::new();
    for suite in suites {
        let items = select_items(suite, &filters, config.limit, LIMIT_SEED);
        for item in &items {
            for &lang in &config.langs {
                let Some(prompt) = render_prompt(item, lang) else {
                    continue;
                };
                rows.push(ItemRow {
                    suite: suite.manifest.name.clone(),
                    item_id: item.id.clone(),
                    category: item.category.clone(),
                    kind: item.kind.as_str().to_string(),
                    expect: item.expect.map(|e| e.as_str().to_string()),
                    lang: lang.code().to_string(),
                    prompt,
                    choices: item.choices.get(&lang).map(|c| serde_json::json!(c)),
                    answer_key: item.answer.map(|a| mcq::letter(a).to_string()),
                });
            }
        }
        suite_infos.push(SuiteInfo {
            name: suite.manifest.name.clone(),
            version: suite.manifest.version.clone(),
            license: suite.manifest.license.clone(),
            items: items.len(),
            categories: suite
                .manifest
                .categories
                .iter()
                .map(|c| CategoryInfo {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    groups: c.groups.clone(),
                })
                .collect(),
        });
    }
    let stored = StoredConfig {
        config: config.clone(),
        suites: suite_infos,
        model_params,
        assay_version: env!("CARGO_PKG_VERSION").to_string(),
        graders: grader_versions(),
        limit_seed: Some(LIMIT_SEED),
    };
    let id = new_run_id();
    store.create_run(&assay_store::NewRun {
        id: id.clone(),
        created_at: now_rfc3339(),
        status: RunStatus::Running,
        config: serde_json::to_value(&stored).map_err(|e| AuditError::Run {
            run: id.clone(),
            message: format!("cannot serialise its configuration: {e}"),
        })?,
    })?;
    store.put_items(&id, &rows)?;
    Ok(id)
}

fn model_params_for(name: &str, config: &AuditConfig) -> Result<GenParams, AuditError> {
    let spec = ModelSpec::parse(name).map_err(|e| AuditError::Model {
        name: stored_name(name),
        message: assay_core::redact(&e.to_string()),
    })?;
    Ok(spec.params.or(&GenParams {
        temperature: Some(config.temperature),
        top_p: Some(config.top_p),
        max_tokens: Some(config.max_tokens),
        ..GenParams::default()
    }))
}

fn load_config(store: &Store, run_id: &str) -> Result<(StoredConfig, RunStatus), AuditError> {
    let run = store.run(run_id)?.ok_or_else(|| AuditError::Run {
        run: run_id.to_string(),
        message: "no such run in the store".into(),
    })?;
    let stored: StoredConfig = serde_json::from_value(run.config).map_err(|e| AuditError::Run {
        run: run_id.to_string(),
        message: format!("its stored configuration is not one this assay reads: {e}"),
    })?;
    Ok((stored, run.status))
}

/// The models and judge of a run, as given by name in its configuration.
pub fn run_config(store: &Store, run_id: &str) -> Result<AuditConfig, AuditError> {
    Ok(load_config(store, run_id)?.0.config)
}

/// How [`execute`] asks.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    /// Requests in flight per model.
    pub concurrency: usize,
    /// Take answers from the cache when the same request was answered before.
    pub use_cache: bool,
    /// Where progress goes, one task per model and one for the judge (the command line draws
    /// it; [`Reporter::silent`] for none).
    pub progress: Reporter,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExecSummary {
    /// Requests answered by an earlier, interrupted execution of this run.
    pub already_answered: u64,
    pub asked: u64,
    pub cached: u64,
    pub errors: u64,
    pub judged: u64,
    /// The pairwise pass, when the run has a baseline.
    pub pairwise: Option<crate::pairwise::PairwiseSummary>,
}

/// One request to make.
struct Task<'a> {
    item: &'a ItemRow,
    sample: u32,
}

/// Asks every request of the run that has no answer yet, storing each as it completes.
/// `models` maps each model name of the run to an open model; `judge` is the judge model when
/// the run has one.
pub async fn execute(
    store: &Store,
    run_id: &str,
    models: &HashMap<String, Arc<dyn ChatModel>>,
    judge_model: Option<&Arc<dyn ChatModel>>,
    options: &ExecOptions,
) -> Result<ExecSummary, AuditError> {
    let (stored, items, answered) = off_runtime(store, {
        let run_id = run_id.to_string();
        move |store| {
            let (stored, _) = load_config(store, &run_id)?;
            Ok::<_, AuditError>((stored, store.items(&run_id)?, store.answered_keys(&run_id)?))
        }
    })
    .await?;
    let config = &stored.config;
    let concurrency = options.concurrency.max(1);

    let mut summary = ExecSummary::default();
    let mut per_model = Vec::new();
    for name in &config.models {
        let model = models.get(name).ok_or_else(|| AuditError::Model {
            name: name.clone(),
            message: "not opened for this run".into(),
        })?;
        let params = stored.model_params.get(name).cloned().unwrap_or_default();
        let mut tasks = Vec::new();
        let mut done = 0u64;
        for item in &items {
            for sample in 0..config.samples {
                if answered.contains(&request_key(name, item, sample)) {
                    done += 1;
                } else {
                    tasks.push(Task { item, sample });
                }
            }
        }
        summary.already_answered += done;
        let bar = options
            .progress
            .start(name, done + tasks.len() as u64, Unit::Items);
        bar.set_position(done);
        per_model.push((name.clone(), Arc::clone(model), params, tasks, bar));
    }

    let counters = Counters::default();
    let runs = per_model.iter().map(|(name, model, params, tasks, bar)| {
        let counters = &counters;
        async move {
            let mut answers = futures::stream::iter(tasks.iter())
                .map(|task| {
                    ask(
                        name,
                        model.as_ref(),
                        params,
                        config.seed,
                        task,
                        options.use_cache.then_some(store),
                    )
                })
                .buffer_unordered(concurrency);
            let mut errors = 0u64;
            while let Some(record) = answers.next().await {
                let record = record?;
                let record = AnswerRecord {
                    run_id: run_id.to_string(),
                    ..record
                };
                let record = off_runtime(store, move |store| {
                    store.record_answer(&record).map(|_| record)
                })
                .await?;
                if record.error.is_some() {
                    errors += 1;
                    counters.errors.fetch_add(1, Ordering::Relaxed);
                } else if record.cached {
                    counters.cached.fetch_add(1, Ordering::Relaxed);
                } else {
                    counters.asked.fetch_add(1, Ordering::Relaxed);
                }
                if errors > 0 {
                    bar.set_message(&format!("errors {errors}"));
                }
                bar.advance(1);
            }
            bar.finish();
            Ok::<(), AuditError>(())
        }
    });
    for result in futures::future::join_all(runs).await {
        result?;
    }
    summary.asked = counters.asked.load(Ordering::Relaxed);
    summary.cached = counters.cached.load(Ordering::Relaxed);
    summary.errors = counters.errors.load(Ordering::Relaxed);

    if let (Some(judge_name), Some(judge_model)) = (&config.judge, judge_model) {
        summary.judged = judge_answers(
            store,
            run_id,
            judge_name,
            judge_model,
            config.judge_when,
            options,
        )
        .await?;
        if let Some(baseline) = &config.pairwise {
            let pairs = crate::pairwise::judge_pairs(
                store,
                run_id,
                baseline,
                judge_name,
                judge_model,
                options,
            )
            .await?;
            summary.pairwise = Some(pairs);
        }
    }
    Ok(summary)
}

#[derive(Default)]
struct Counters {
    asked: AtomicU64,
    cached: AtomicU64,
    errors: AtomicU64,
}

fn request_key(model: &str, item: &ItemRow, sample: u32) -> RequestKey {
    RequestKey {
        model: model.to_string(),
        suite: item.suite.clone(),
        item_id: item.item_id.clone(),
        lang: item.lang.clone(),
        sample,
    }
}

/// The cache key of a request: what decides its answer, and nothing else.
fn cache_key(model: &str, request: &ChatRequest, sample: u32) -> String {
    let mut params = serde_json::json!(request.params);
    // Keys were first hashed with the f32 parameters widened to f64 (0.7 as 0.699999988079071);
    // parameters now serialize as written, but the key keeps the old numbers, or every answer
    // cached by an earlier version would be asked again.
    for (name, value) in [
        ("temperature", request.params.temperature),
        ("top_p", request.params.top_p),
    ] {
        if let Some(value) = value {
            params[name] = serde_json::json!(f64::from(value));
        }
    }
    let canonical = serde_json::json!({
        "model": model,
        "messages": request.messages,
        "params": params,
        "sample": sample,
    });
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// Runs a store call on tokio's blocking pool, with a clone of the store. The store is
/// synchronous: a SQLite write waiting for another process's lock, or a PostgreSQL round
/// trip, would otherwise hold a runtime worker and every request in flight on it.
pub(crate) async fn off_runtime<T, E>(
    store: &Store,
    call: impl FnOnce(&Store) -> Result<T, E> + Send + 'static,
) -> Result<T, AuditError>
where
    T: Send + 'static,
    E: Into<AuditError> + Send + 'static,
{
    let store = store.clone();
    match tokio::task::spawn_blocking(move || call(&store)).await {
        Ok(result) => result.map_err(Into::into),
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => Err(AuditError::StoreCall(e.to_string())),
        },
    }
}

/// Asks one request (or takes it from the cache) and grades the answer. The run id is filled in
/// by the caller.
async fn ask(
    model_name: &str,
    model: &dyn ChatModel,
    params: &GenParams,
    seed: u64,
    task: &Task<'_>,
    cache: Option<&Store>,
) -> Result<AnswerRecord, AuditError> {
    let item = task.item;
    let seed = seed.wrapping_add(u64::from(task.sample));
    let request = ChatRequest {
        messages: vec![Message::user(item.prompt.clone())],
        params: GenParams {
            seed: Some(seed),
            ..params.clone()
        },
    };
    let key = cache_key(model_name, &request, task.sample);
    let mut record = AnswerRecord {
        run_id: String::new(),
        key: request_key(model_name, item, task.sample),
        seed,
        cache_key: key.clone(),
        request: serde_json::to_value(&request).unwrap_or(serde_json::Value::Null),
        text: None,
        error: None,
        finish_reason: None,
        prompt_tokens: None,
        completion_tokens: None,
        latency_ms: None,
        cached: false,
        started_at: now_rfc3339(),
        grades: Vec::new(),
    };
    if let Some(store) = cache {
        let hit = off_runtime(store, {
            let key = key.clone();
            move |store| store.cache_get(&key)
        })
        .await?;
        if let Some(hit) = hit {
            record.grades = grade_answer(item, &hit.text)?;
            record.text = Some(hit.text);
            record.finish_reason = hit.finish_reason;
            record.prompt_tokens = hit.prompt_tokens;
            record.completion_tokens = hit.completion_tokens;
            record.latency_ms = hit.latency_ms;
            record.cached = true;
            return Ok(record);
        }
    }
    let started = Instant::now();
    let result = model.complete(request).await;
    record.latency_ms = Some(started.elapsed().as_millis() as u64);
    match result {
        Ok(response) => {
            record.grades = grade_answer(item, &response.text)?;
            record.text = Some(response.text);
            record.finish_reason = Some(response.finish_reason.as_str().to_string());
            (record.prompt_tokens, record.completion_tokens) = reported_usage(response.usage);
        }
        // Upstream errors may quote the URL the model was opened with, credentials and all.
        Err(e) => record.error = Some(assay_core::redact(&e.to_string())),
    }
    Ok(record)
}

/// The prompt and completion token counts of an answer as the store keeps them: `None` when
/// the model reported no usage.
///
/// The clients give a zero [`Usage`] when a reply has no `usage` (a server that does not send
/// it, a stream whose usage chunk was lost); stored as 0 it would read as an empty answer and
/// pull the reports' mean answer length down. A real count is never all zeros: every prompt
/// has at least one token.
pub fn reported_usage(usage: Usage) -> (Option<u64>, Option<u64>) {
    if usage == Usage::default() {
        return (None, None);
    }
    (
        Some(u64::from(usage.prompt_tokens)),
        Some(u64::from(usage.completion_tokens)),
    )
}

/// The grades of an answer to a stored item by every rule grader that applies to it (see
/// [`grade::RULE_GRADERS`]), as the store keeps them.
pub fn grade_answer(item: &ItemRow, text: &str) -> Result<Vec<GradeRecord>, AuditError> {
    let question = Question::from_row(item)?;
    Ok(grade::grade_answer(&question, text)
        .iter()
        .map(Graded::record)
        .collect())
}

/// Asks the judge about every answered request of the run that it has not judged yet.
async fn judge_answers(
    store: &Store,
    run_id: &str,
    judge_name: &str,
    judge_model: &Arc<dyn ChatModel>,
    judge_when: JudgeWhen,
    options: &ExecOptions,
) -> Result<u64, AuditError> {
    let (items, latest) = off_runtime(store, {
        let run_id = run_id.to_string();
        move |store| Ok::<_, StoreError>((store.items(&run_id)?, store.latest_answers(&run_id)?))
    })
    .await?;
    let items: HashMap<(&str, &str, &str), &ItemRow> = items
        .iter()
        .map(|i| ((i.suite.as_str(), i.item_id.as_str(), i.lang.as_str()), i))
        .collect();
    let grader = grade::JUDGE;
    let (grader_name, grader_version) = grader.name_and_version();
    let mut pending = Vec::new();
    for answer in latest {
        let grades = &answer.answer.grades;
        if grades.iter().any(|g| g.grader == grader_name) || !judge_when.wants(grades) {
            continue;
        }
        let k = &answer.answer.key;
        let (Some(text), Some(item)) = (
            answer.answer.text,
            items.get(&(k.suite.as_str(), k.item_id.as_str(), k.lang.as_str())),
        ) else {
            continue;
        };
        pending.push((answer.id, Question::from_row(item)?, text));
    }
    let bar = options.progress.start(
        &format!("judge {judge_name}"),
        pending.len() as u64,
        Unit::Items,
    );
    let mut verdicts = futures::stream::iter(pending.iter())
        .map(|(id, question, answer)| {
            let request = grader.request(question, answer);
            async move {
                let reply = complete_cached(
                    store,
                    options.use_cache,
                    judge_name,
                    judge_model.as_ref(),
                    request,
                )
                .await?;
                Ok::<_, AuditError>((*id, reply))
            }
        })
        .buffer_unordered(options.concurrency.max(1));
    let mut judged = 0;
    while let Some(result) = verdicts.next().await {
        let (id, reply) = result?;
        bar.advance(1);
        // A failed judge request leaves the answer unjudged, so a resume asks again.
        let Ok(reply) = reply else {
            continue;
        };
        let score = grader
            .read(&reply)
            .with_detail(serde_json::json!({"model": judge_name, "output": reply}));
        let graded = Graded {
            grader: grader_name,
            version: grader_version,
            score,
        };
        let record = graded.record();
        off_runtime(store, move |store| store.put_grade(id, &record)).await?;
        judged += 1;
    }
    bar.finish();
    Ok(judged)
}

/// A model's reply to `request`: from the answer cache when `use_cache` and it holds one;
/// otherwise asked, and cached for next time. `Err` holds the model's error.
pub(crate) async fn complete_cached(
    store: &Store,
    use_cache: bool,
    model_name: &str,
    model: &dyn ChatModel,
    request: ChatRequest,
) -> Result<Result<String, String>, AuditError> {
    let key = cache_key(model_name, &request, 0);
    if use_cache {
        let hit = off_runtime(store, {
            let key = key.clone();
            move |store| store.cache_get(&key)
        })
        .await?;
        if let Some(hit) = hit {
            return Ok(Ok(hit.text));
        }
    }
    let started = Instant::now();
    match model.complete(request).await {
        Ok(response) => {
            let (prompt_tokens, completion_tokens) = reported_usage(response.usage);
            let entry = assay_store::CachedAnswer {
                text: response.text.clone(),
                finish_reason: Some(response.finish_reason.as_str().to_string()),
                prompt_tokens,
                completion_tokens,
                latency_ms: Some(started.elapsed().as_millis() as u64),
            };
            off_runtime(store, move |store| {
                store.cache_put(&key, &entry, &now_rfc3339())
            })
            .await?;
            Ok(Ok(response.text))
        }
        Err(e) => Ok(Err(e.to_string())),
    }
}

/// Re-grades every answer of a run with the current rule-based graders (after a grader
/// changed); judge grades are kept.
pub fn regrade(store: &Store, run_id: &str) -> Result<u64, AuditError> {
    let item_rows = store.items(run_id)?;
    let items: HashMap<(&str, &str, &str), &ItemRow> = item_rows
        .iter()
        .map(|i| ((i.suite.as_str(), i.item_id.as_str(), i.lang.as_str()), i))
        .collect();
    let mut count = 0;
    for answer in store.latest_answers(run_id)? {
        let k = &answer.answer.key;
        let (Some(text), Some(item)) = (
            &answer.answer.text,
            items.get(&(k.suite.as_str(), k.item_id.as_str(), k.lang.as_str())),
        ) else {
            continue;
        };
        for grade in grade_answer(item, text)? {
            store.put_grade(answer.id, &grade)?;
        }
        count += 1;
    }
    Ok(count)
}

/// The results of a run as they stand in the store (finished or not).
pub fn results(store: &Store, run_id: &str) -> Result<Results, AuditError> {
    results_with_labels(store, run_id, Vec::new())
}

/// [`results`] with more people's labels than the store holds (a labels file from another
/// store or reviewer): they count after the store's, so on an answer labelled in both the
/// given label wins.
pub fn results_with_labels(
    store: &Store,
    run_id: &str,
    more_labels: Vec<assay_store::ReviewLabel>,
) -> Result<Results, AuditError> {
    read_results(store, run_id, more_labels, true)
}

/// [`results`] with every answer's text empty (`Some("")` where there was one) and every
/// prompt empty: the same rates, cells and tests, for readers of many runs (`assay board`)
/// that show no answers.
pub fn results_without_texts(store: &Store, run_id: &str) -> Result<Results, AuditError> {
    read_results(store, run_id, Vec::new(), false)
}

/// [`results_without_texts`] from the analysis the store keeps for the run, when it was made
/// at the run's current revision by this very build; otherwise made from the answers and, for
/// a finished run, kept for next time. The error beside the results says why they could not
/// be kept (a read-only store, say): the results are right either way.
pub fn results_without_texts_kept(
    store: &Store,
    run_id: &str,
) -> Result<(Results, Option<StoreError>), AuditError> {
    // Read before the answers: a change made while they are read then only makes what is
    // kept look older than it is.
    let revision = store.run_revision(run_id)?;
    let format = kept_format();
    if let (Some(revision), Some(format)) = (revision, format) {
        if let Some(kept) = store.kept_analysis(run_id)? {
            if kept.revision == revision && kept.format == format {
                // A body that does not parse is made again below, like a stale one.
                if let Ok(results) = serde_json::from_str::<Results>(&kept.body) {
                    return Ok((results, None));
                }
            }
        }
    }
    let results = results_without_texts(store, run_id)?;
    let mut not_kept = None;
    if let (Some(revision), Some(format), RunStatus::Finished) =
        (revision, format, results.run.status)
    {
        if let Ok(body) = serde_json::to_string(&results) {
            let kept = assay_store::KeptAnalysis {
                revision,
                format: format.to_string(),
                body,
            };
            not_kept = store.keep_analysis(run_id, &kept).err();
        }
    }
    Ok((results, not_kept))
}

/// What names the code that makes a kept analysis: the version and this executable's size and
/// modification time, so that any rebuild (a change to the analysis among them) reads no
/// analysis an earlier build kept. `None` (nothing kept) when the executable cannot be looked at.
fn kept_format() -> Option<&'static str> {
    static FORMAT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    FORMAT
        .get_or_init(|| {
            let exe = std::env::current_exe().ok()?;
            let meta = std::fs::metadata(exe).ok()?;
            let modified = meta
                .modified()
                .ok()?
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?;
            Some(format!(
                "assay {} results {} exe {} {}",
                env!("CARGO_PKG_VERSION"),
                crate::results::SCHEMA_VERSION,
                meta.len(),
                modified.as_nanos()
            ))
        })
        .as_deref()
}

fn read_results(
    store: &Store,
    run_id: &str,
    more_labels: Vec<assay_store::ReviewLabel>,
    with_texts: bool,
) -> Result<Results, AuditError> {
    let (stored, status) = load_config(store, run_id)?;
    let run = store.run(run_id)?.ok_or_else(|| AuditError::Run {
        run: run_id.to_string(),
        message: "no such run in the store".into(),
    })?;
    let mut item_rows = store.items(run_id)?;
    if !with_texts {
        // Each row would copy its item's prompt.
        for item in &mut item_rows {
            item.prompt.clear();
        }
    }
    let items: HashMap<(&str, &str, &str), &ItemRow> = item_rows
        .iter()
        .map(|i| ((i.suite.as_str(), i.item_id.as_str(), i.lang.as_str()), i))
        .collect();
    let mut answers = Vec::new();
    let mut counts = RequestCounts {
        planned: (items.len() * stored.config.models.len()) as u64
            * u64::from(stored.config.samples),
        ..RequestCounts::default()
    };
    // The versions the stored grades were made with: after `--regrade` they are newer than
    // the ones recorded when the run was created.
    let mut graded_with: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let stored_answers = if with_texts {
        store.latest_answers(run_id)?
    } else {
        store.latest_answers_without_texts(run_id)?
    };
    for stored_answer in stored_answers {
        let a = &stored_answer.answer;
        let key = (
            a.key.suite.as_str(),
            a.key.item_id.as_str(),
            a.key.lang.as_str(),
        );
        let Some(&item) = items.get(&key) else {
            continue;
        };
        if a.error.is_some() {
            counts.errors += 1;
        } else {
            counts.answered += 1;
            if a.cached {
                counts.cached += 1;
            }
        }
        for grade in &a.grades {
            graded_with
                .entry(grade.grader.clone())
                .or_default()
                .insert(grade.version.clone());
        }
        // The row (grades read back, text capped) is built where its fields are defined.
        let mut row = crate::results::answer_row(stored_answer, item)?;
        // Runs stored before names were redacted still show none of their credentials.
        row.model = stored_name(&row.model);
        row.error = row.error.as_deref().map(assay_core::redact);
        answers.push(row);
    }
    // People's labels from `assay review`, joined to the rows by answer id.
    let mut labels = store.review_labels(run_id)?;
    labels.extend(more_labels);
    crate::results::attach_reviews(&mut answers, labels);
    let info = RunInfo {
        id: run_id.to_string(),
        created_at: run.created_at,
        finished_at: run.finished_at,
        status,
        assay_version: stored.assay_version,
        models: stored
            .config
            .models
            .iter()
            .map(|name| ModelInfo {
                name: stored_name(name),
                params: serde_json::to_value(stored.model_params.get(name))
                    .unwrap_or(serde_json::Value::Null),
            })
            .collect(),
        suites: stored.suites,
        langs: stored
            .config
            .langs
            .iter()
            .map(|l| l.code().to_string())
            .collect(),
        samples: stored.config.samples,
        seed: stored.config.seed,
        limit: stored.config.limit,
        // Runs stored before the limit had its own seed drew their items with `seed`.
        limit_seed: stored
            .config
            .limit
            .map(|_| stored.limit_seed.unwrap_or(stored.config.seed)),
        filter: stored.config.filter,
        judge_when: stored
            .config
            .judge
            .as_ref()
            .map(|_| stored.config.judge_when),
        judge: stored.config.judge.as_deref().map(stored_name),
        graders: grader_versions_used(stored.graders, graded_with),
        requests: counts,
    };
    Ok(crate::analyze::analyze(info, answers))
}

/// The grader versions of a run: those its grades carry (several, comma-separated, when
/// grades of different versions are mixed), else the ones recorded when it was created.
fn grader_versions_used(
    recorded: BTreeMap<String, String>,
    graded_with: BTreeMap<String, BTreeSet<String>>,
) -> BTreeMap<String, String> {
    let mut versions = recorded;
    for (grader, used) in graded_with {
        versions.insert(grader, used.into_iter().collect::<Vec<_>>().join(","));
    }
    versions
}

/// Marks a run finished (or interrupted) now.
pub fn finish_run(store: &Store, run_id: &str, status: RunStatus) -> Result<(), AuditError> {
    store.set_run_status(run_id, status, Some(&now_rfc3339()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(detail: Option<serde_json::Value>) -> GradeRecord {
        GradeRecord {
            grader: "refusal".into(),
            version: grade::refusal::VERSION.into(),
            label: "comply".into(),
            rule: "answers".into(),
            detail,
        }
    }

    #[test]
    fn only_uncertain_grades_go_to_the_judge_unless_all_are_asked_for() {
        let uncertain = [refusal(Some(
            serde_json::json!({"confidence": 0.6, "uncertain": true}),
        ))];
        let certain = [refusal(Some(
            serde_json::json!({"confidence": 0.95, "uncertain": false}),
        ))];
        let old = [refusal(None)];
        assert!(JudgeWhen::Uncertain.wants(&uncertain));
        assert!(!JudgeWhen::Uncertain.wants(&certain));
        assert!(!JudgeWhen::Uncertain.wants(&old));
        assert!(JudgeWhen::All.wants(&certain) && JudgeWhen::All.wants(&old));
        // Runs stored before the setting existed judged every answer.
        let stored: AuditConfig = serde_json::from_value(serde_json::json!({
            "models": ["m"], "langs": ["en"], "samples": 1, "seed": 0, "limit": null,
            "filter": [], "judge": "j", "temperature": 0.7, "top_p": 0.9, "max_tokens": 8
        }))
        .unwrap();
        assert_eq!(stored.judge_when, JudgeWhen::All);
    }

    #[test]
    fn a_run_reports_the_grader_versions_its_grades_carry() {
        let recorded = BTreeMap::from([
            ("refusal".to_string(), "3".to_string()),
            ("judge".to_string(), "1".to_string()),
        ]);
        let used = BTreeMap::from([
            ("refusal".to_string(), BTreeSet::from(["4".to_string()])),
            ("validity".to_string(), BTreeSet::from(["1".to_string()])),
        ]);
        let versions = grader_versions_used(recorded.clone(), used);
        assert_eq!(versions["refusal"], "4");
        assert_eq!(versions["validity"], "1");
        assert_eq!(versions["judge"], "1");
        let mixed = BTreeMap::from([(
            "refusal".to_string(),
            BTreeSet::from(["3".to_string(), "4".to_string()]),
        )]);
        assert_eq!(grader_versions_used(recorded, mixed)["refusal"], "3,4");
    }

    #[test]
    fn cache_keys_hash_the_widened_parameters_they_always_hashed() {
        let request = ChatRequest {
            messages: vec![Message::user("hi")],
            params: GenParams {
                temperature: Some(0.7),
                top_p: Some(0.9),
                max_tokens: Some(8),
                ..GenParams::default()
            },
        };
        // What the key hashed before parameters serialized as written: answers cached then
        // are still found.
        let before = r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"params":{"temperature":0.699999988079071,"top_p":0.8999999761581421,"max_tokens":8},"sample":0}"#;
        assert_eq!(
            cache_key("m", &request, 0),
            hex::encode(Sha256::digest(before.as_bytes()))
        );
    }

    #[test]
    fn usage_is_stored_only_when_the_model_reported_it() {
        assert_eq!(reported_usage(Usage::default()), (None, None));
        let reported = Usage {
            prompt_tokens: 12,
            completion_tokens: 345,
        };
        assert_eq!(reported_usage(reported), (Some(12), Some(345)));
        // An empty answer to a real prompt is a count of 0, not a missing one.
        let empty = Usage {
            prompt_tokens: 12,
            completion_tokens: 0,
        };
        assert_eq!(reported_usage(empty), (Some(12), Some(0)));
        // What older runs stored for a reply without usage reads back as not reported.
        assert_eq!(
            crate::results::reported_tokens(Some(0), Some(0)),
            (None, None)
        );
        assert_eq!(
            crate::results::reported_tokens(Some(12), Some(0)),
            (Some(12), Some(0))
        );
        assert_eq!(
            crate::results::reported_tokens(None, Some(7)),
            (None, Some(7))
        );
    }
}
