//! Corpus screening: every document of JSON Lines inputs checked against a policy (blocked
//! source domains, keywords, patterns), kept and removed documents written apart, per-source
//! violation rates, seeded samples for acceptance, and a report.
//!
//! The unit of work, of resumption and of sharding is the input file: each finished file
//! leaves a marker (`.done/<file>.json`, holding that file's whole summary) next to its
//! outputs, a rerun skips marked files, shards split the sorted file list, and the report is
//! always computed from the markers, so shards merged give the unsharded report exactly.

pub mod doc;
pub mod input;
pub mod inspect;
mod parquet;
pub mod report;
pub mod sample;
pub mod status;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use assay_core::fs::AtomicFile;
pub use assay_core::progress::Reporter;
use assay_core::progress::{Task, Unit};
use assay_policy::{Hit, HostVerdict, Policy};
use compact_str::CompactString;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize, Serializer};

use doc::FieldNames;
use input::{Compression, InputFile, Line};
use sample::{BatchSample, Sampler};

/// Errors that stop a screening run. Bad documents do not: they are counted and reported
/// (unless `--strict`).
#[derive(Debug, thiserror::Error)]
pub enum ScreenError {
    #[error("{path}: {message}")]
    Input { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}:{line}: {message} (--strict)")]
    Strict {
        path: PathBuf,
        line: u64,
        message: String,
    },
    /// A file's marker was left by other settings, or the file changed since.
    #[error(
        "{out}: {input} was screened {why}; rerun with --force to screen it again there \
         (markers left by other settings are discarded), or give a new --out"
    )]
    Stale {
        out: PathBuf,
        input: String,
        why: String,
    },
    /// Markers in one output directory (or in shards to merge) from different settings.
    #[error(
        "{out}: its files were screened with different policies or settings ({first}: {a}; \
         {second}: {b}); screen them again with --force, or use separate output directories"
    )]
    MixedSettings {
        out: PathBuf,
        first: String,
        a: String,
        second: String,
        b: String,
    },
    #[error("{0}")]
    Other(String),
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> ScreenError + '_ {
    move |source| ScreenError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// How to screen.
#[derive(Debug, Clone)]
pub struct ScreenConfig {
    pub inputs: Vec<String>,
    pub out: PathBuf,
    pub fields: FieldNames,
    /// Worker threads (files are processed in parallel).
    pub threads: usize,
    /// Longer lines are bad input.
    pub max_line_bytes: usize,
    /// Make bad input fatal.
    pub strict: bool,
    /// Sources whose share of violating documents exceeds this are flagged.
    pub source_threshold: f64,
    /// Documents sampled per batch for acceptance (0: none).
    pub sample_size: usize,
    /// A batch is a file, or this many documents of one.
    pub batch_docs: Option<u64>,
    pub seed: u64,
    /// `(index, count)`: screen only the files of this shard.
    pub shard: Option<(usize, usize)>,
    /// Where progress goes (the command line draws it; [`Reporter::silent`] for none).
    pub progress: Reporter,
    /// What identifies the policy (its files' names, sizes and times, or a built-in pack's
    /// name and version): a marker is reused only under the same policy.
    pub policy_fingerprint: String,
    /// Screen files again whose markers were left by other settings or that changed since,
    /// and discard the markers (and outputs) of other settings, instead of refusing.
    pub force: bool,
}

impl ScreenConfig {
    /// The policy and every setting that changes a file's verdicts, outputs or sample: a
    /// marker holds them, and is reused only when they are the same.
    pub fn settings_fingerprint(&self) -> String {
        format!(
            "policy={} text={} url={} source={} max_line_bytes={} strict={} sample={} batch_docs={} seed={}",
            self.policy_fingerprint,
            self.fields.text,
            self.fields.url,
            self.fields.source.as_deref().unwrap_or("-"),
            self.max_line_bytes,
            self.strict,
            self.sample_size,
            self.batch_docs.map_or("-".to_string(), |n| n.to_string()),
            self.seed,
        )
    }
}

/// What a marker must match to be reused: the settings, and the input file as it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// [`ScreenConfig::settings_fingerprint`] when the file was screened.
    pub settings: String,
    /// The input file's size and modification time (nanoseconds since the epoch).
    pub size: u64,
    pub modified_ns: Option<u128>,
}

impl Fingerprint {
    /// A file that cannot be read has size 0 and no time: screening it counts it as bad
    /// input, and its marker is tried again next time.
    fn of(settings: &str, path: &Path) -> Fingerprint {
        let meta = fs::metadata(path).ok();
        let modified_ns = meta
            .as_ref()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos());
        Fingerprint {
            settings: settings.to_string(),
            size: meta.map_or(0, |m| m.len()),
            modified_ns,
        }
    }

    /// Why a marker with `self` cannot stand for a file whose fingerprint is `now`.
    fn differs_from(&self, now: &Fingerprint) -> Option<String> {
        if self.settings != now.settings {
            return Some(format!(
                "with other settings ({}, now {})",
                self.settings, now.settings
            ));
        }
        if self.size != now.size || self.modified_ns != now.modified_ns {
            return Some("before the file changed (its size or time differs)".to_string());
        }
        None
    }
}

/// Checks that every summary was screened with the same settings (markers of one output
/// directory, or of shards to merge), so that one report never mixes two policies.
pub fn check_same_settings(out: &Path, summaries: &[FileSummary]) -> Result<(), ScreenError> {
    let settings = |s: &FileSummary| {
        s.fingerprint
            .as_ref()
            .map_or("unknown (an older marker)".to_string(), |f| {
                f.settings.clone()
            })
    };
    let Some(first) = summaries.first() else {
        return Ok(());
    };
    let a = settings(first);
    match summaries.iter().find(|s| settings(s) != a) {
        None => Ok(()),
        Some(other) => Err(ScreenError::MixedSettings {
            out: out.to_path_buf(),
            first: first.input.clone(),
            a,
            second: other.input.clone(),
            b: settings(other),
        }),
    }
}

/// The name of the policy that all of `summaries` were screened with, for a report merged from
/// markers; `(merged)` when markers of an older version do not say, or they differ.
pub fn merged_policy_name(summaries: &[FileSummary]) -> &str {
    match summaries.first() {
        Some(first)
            if !first.policy.is_empty() && summaries.iter().all(|s| s.policy == first.policy) =>
        {
            &first.policy
        }
        _ => "(merged)",
    }
}

/// Documents and bytes of one source, and how many violated the policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceStats {
    pub docs: u64,
    pub bytes: u64,
    pub violating_docs: u64,
    pub violating_bytes: u64,
}

/// A bad line or file, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadExample {
    pub file: String,
    /// 1-based line, when the problem is a line.
    pub line: Option<u64>,
    pub kind: String,
    pub message: String,
}

/// Examples kept per file and kind of bad input.
const BAD_EXAMPLES: usize = 5;

/// Everything screening learned from one input file (also its completion marker).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileSummary {
    /// The file's name relative to its input (non-UTF-8 bytes written `\xHH`).
    pub input: String,
    /// The name's bytes, when it is not UTF-8 (to find its outputs again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_bytes: Option<Vec<u8>>,
    pub docs: u64,
    pub bytes: u64,
    pub kept_docs: u64,
    pub removed_docs: u64,
    pub removed_bytes: u64,
    /// Documents with at least one hit, per category id.
    pub categories: BTreeMap<String, u64>,
    /// Hits per `category\trule`.
    pub rules: BTreeMap<String, u64>,
    /// Per source; a hash map, since it is looked up for every document (written sorted).
    #[serde(serialize_with = "sorted")]
    pub sources: FxHashMap<String, SourceStats>,
    /// Bad input per kind.
    pub bad: BTreeMap<String, u64>,
    pub bad_examples: Vec<BadExample>,
    pub batches: Vec<BatchSample>,
    /// Display names of the categories in `categories` (their ids when the policy names none).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub category_names: BTreeMap<String, String>,
    /// A few removed documents per category, cut around what matched.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub examples: BTreeMap<String, Vec<inspect::RemovedExample>>,
    /// Documents per text-length bucket ([`inspect::LENGTH_BOUNDS`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lengths: Vec<inspect::Tally>,
    /// Documents per detected language (of their first 512 bytes).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub languages: BTreeMap<String, inspect::Tally>,
    /// The settings and input the file was screened with (absent in markers of older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<Fingerprint>,
    /// The policy's name, as reports show it (a pack's name, or `lists`); empty in markers of
    /// older versions.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub policy: String,
}

impl FileSummary {
    /// The file's name relative to its input, as it is on disk.
    pub fn relative_path(&self) -> PathBuf {
        #[cfg(unix)]
        if let Some(bytes) = &self.input_bytes {
            use std::os::unix::ffi::OsStrExt;
            return PathBuf::from(std::ffi::OsStr::from_bytes(bytes));
        }
        PathBuf::from(&self.input)
    }
}

/// Writes a map with its keys in order, so that markers do not depend on hashing.
fn sorted<S: Serializer, K: Ord + Serialize, V: Serialize>(
    map: &FxHashMap<K, V>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    // Sorted in place: a `BTreeMap` of them allocated its nodes for one write.
    let mut entries: Vec<(&K, &V)> = map.iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    serializer.collect_map(entries)
}

/// Screens the inputs of `config` with `policy`; answers the summaries of every file in this
/// shard (screened now or earlier).
pub fn screen(policy: &Policy, config: &ScreenConfig) -> Result<Vec<FileSummary>, ScreenError> {
    screen_then(policy, config, |_| ()).map(|(summaries, ())| summaries)
}

/// [`screen`], calling `meanwhile` with the summaries once every file is screened, while the
/// last outputs are still being synced to disk; its answer comes back with them once they are
/// in place. (A report built meanwhile hides the last file's syncs, 13 ms of a 100 MB
/// screen.) `meanwhile` is not called when a file could not be screened.
pub fn screen_then<T>(
    policy: &Policy,
    config: &ScreenConfig,
    meanwhile: impl FnOnce(&[FileSummary]) -> T,
) -> Result<(Vec<FileSummary>, T), ScreenError> {
    let mut files = input::discover(&config.inputs)?;
    input::check_out_outside_inputs(&config.inputs, &files, &config.out)?;
    if let Some((index, count)) = config.shard {
        files = shard_files(files, index, count);
    }
    fs::create_dir_all(config.out.join(".done")).map_err(io_error(&config.out))?;
    let settings = config.settings_fingerprint();
    if config.force {
        discard_other_settings(&config.out, &settings)?;
        status::discard_other_plans(&config.out, &settings)?;
    }
    let plan = status::write_plan(&config.out, config.shard, &settings, &files)?;
    let result = screen_files(policy, config, &settings, &files, meanwhile);
    let error = result.as_ref().err().map(ToString::to_string);
    status::end_plan(&config.out, config.shard, plan, error)?;
    result
}

/// Screens `files` (those of this shard) on the configured threads, then calls `meanwhile`
/// ([`screen_then`]).
fn screen_files<T>(
    policy: &Policy,
    config: &ScreenConfig,
    settings: &str,
    files: &[InputFile],
    meanwhile: impl FnOnce(&[FileSummary]) -> T,
) -> Result<(Vec<FileSummary>, T), ScreenError> {
    let total_bytes: u64 = files
        .iter()
        .map(|f| fs::metadata(&f.path).map(|m| m.len()).unwrap_or(0))
        .sum();
    let progress = Progress::new(&config.progress, files.len(), total_bytes);
    let threads = config.threads.max(1).min(files.len().max(1));
    let failed = AtomicBool::new(false);
    // Syncing a file's outputs to disk waits for the disk; the next file is screened meanwhile
    // (the syncs were a tenth of a one-thread screen of 100 MB in four files). As many threads
    // put outputs in place as screen, and a screening thread waits when they are a file
    // behind each: what is pending (open files among it) stays bounded on a slow disk.
    let (commits, to_commit) = mpsc::sync_channel::<Commit>(threads);
    // The receiving end goes with the last of them: a screening thread then finds no one to
    // hand its file to instead of waiting forever.
    let to_commit = Arc::new(Mutex::new(to_commit));
    let (screened, committed) = std::thread::scope(|scope| {
        let committers: Vec<_> = (0..threads)
            .map(|_| {
                let to_commit = Arc::clone(&to_commit);
                let failed = &failed;
                scope.spawn(move || commit_all(&to_commit, failed))
            })
            .collect();
        drop(to_commit);
        let results = on_threads(threads, files, |file| {
            // After a failure no new file is started; the files under way finish.
            if failed.load(Ordering::SeqCst) {
                return None;
            }
            let result = screen_file_once(policy, config, settings, file, &progress, &commits);
            if result.is_err() {
                failed.store(true, Ordering::SeqCst);
            }
            Some(result)
        });
        drop(commits);
        let screened = summaries_of(results).map(|summaries| {
            let then = meanwhile(&summaries);
            (summaries, then)
        });
        let committed: Result<(), ScreenError> = committers
            .into_iter()
            .try_for_each(|c| c.join().unwrap_or_else(|_| Err(committer_stopped())));
        (screened, committed)
    });
    // A file whose outputs could not be put in place is the error to report: a file that
    // came after it failed only because its outputs had nowhere to go.
    committed?;
    let screened = screened?;
    // Only now: the last progress line says the screen is done.
    progress.finish();
    Ok(screened)
}

/// The summaries of the files screened, in the order of their names; the first error if a
/// file could not be screened.
fn summaries_of(
    results: Result<Vec<Option<Result<FileSummary, ScreenError>>>, ScreenError>,
) -> Result<Vec<FileSummary>, ScreenError> {
    let mut summaries = Vec::new();
    for result in results?.into_iter().flatten() {
        summaries.push(result?);
    }
    summaries.sort_by(|a, b| a.input.cmp(&b.input));
    Ok(summaries)
}

/// `work` applied to every item on a pool of its own with exactly `threads` threads (the
/// `--threads` setting, not rayon's global pool), one item at a time per thread (a file is
/// big work, so they are handed out singly); results in the items' order.
fn on_threads<T: Sync, R: Send>(
    threads: usize,
    items: &[T],
    work: impl Fn(&T) -> R + Send + Sync,
) -> Result<Vec<R>, ScreenError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .thread_name(|i| format!("screen-{i}"))
        .build()
        .map_err(|e| {
            ScreenError::Other(format!("cannot start {threads} screening threads: {e}"))
        })?;
    Ok(pool.install(|| items.par_iter().with_max_len(1).map(work).collect()))
}

/// The files of shard `index` of `count`: every `count`-th of the sorted list.
pub fn shard_files(files: Vec<InputFile>, index: usize, count: usize) -> Vec<InputFile> {
    files
        .into_iter()
        .enumerate()
        .filter(|(i, _)| count > 0 && i % count == index)
        .map(|(_, f)| f)
        .collect()
}

/// `--shard i/n` or `--shard auto` (Slurm array or Kubernetes indexed job).
pub fn parse_shard(spec: &str) -> Result<(usize, usize), String> {
    if spec == "auto" {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
        };
        if let (Some(i), Some(n)) = (var("SLURM_ARRAY_TASK_ID"), var("SLURM_ARRAY_TASK_COUNT")) {
            // Slurm arrays may start at any index; SLURM_ARRAY_TASK_MIN says where.
            let min = var("SLURM_ARRAY_TASK_MIN").unwrap_or(0);
            return check_shard(i.saturating_sub(min), n);
        }
        if let (Some(i), Some(n)) = (var("JOB_COMPLETION_INDEX"), var("ASSAY_SHARD_COUNT")) {
            return check_shard(i, n);
        }
        return Err(
            "--shard auto: set SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT (Slurm), or \
                    JOB_COMPLETION_INDEX and ASSAY_SHARD_COUNT (Kubernetes indexed job)"
                .into(),
        );
    }
    let (i, n) = spec
        .split_once('/')
        .ok_or_else(|| format!("--shard {spec:?}: expected i/n or auto"))?;
    let parse = |s: &str| {
        s.trim()
            .parse::<usize>()
            .map_err(|_| format!("--shard {spec:?}: {s:?} is not a number"))
    };
    check_shard(parse(i)?, parse(n)?)
}

fn check_shard(i: usize, n: usize) -> Result<(usize, usize), String> {
    if n == 0 || i >= n {
        return Err(format!("shard {i}/{n}: the index must be below the count"));
    }
    Ok((i, n))
}

/// Where the marker of the file at `relative` (to its input) lives.
fn marker_path(out: &Path, relative: &Path) -> PathBuf {
    let mut name = relative.as_os_str().to_os_string();
    name.push(".json");
    out.join(".done").join(name)
}

/// Reads the summaries left by finished files (of any shard).
pub fn read_markers(out: &Path) -> Result<Vec<FileSummary>, ScreenError> {
    read_markers_but(out, &HashSet::new())
}

/// The summaries of every finished file in `out` (of any shard): `screened`, which a run has
/// in memory, and the markers of the others. A run's own markers are not read back: parsing
/// them again was a twentieth of a screen's work outside the keyword search.
pub fn all_summaries(
    out: &Path,
    screened: &[FileSummary],
) -> Result<Vec<FileSummary>, ScreenError> {
    let known = screened
        .iter()
        .map(|s| marker_path(out, &s.relative_path()))
        .collect();
    let mut all = read_markers_but(out, &known)?;
    all.extend(screened.iter().cloned());
    all.sort_by(|a, b| a.input.cmp(&b.input));
    Ok(all)
}

/// [`read_markers`], but for the markers at `known`.
fn read_markers_but(out: &Path, known: &HashSet<PathBuf>) -> Result<Vec<FileSummary>, ScreenError> {
    let mut summaries = Vec::new();
    let done = out.join(".done");
    let mut stack = vec![done.clone()];
    while let Some(dir) = stack.pop() {
        let entries = fs::read_dir(&dir).map_err(io_error(&dir))?;
        for entry in entries {
            let path = entry.map_err(io_error(&dir))?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") && !known.contains(&path) {
                let text = fs::read_to_string(&path).map_err(io_error(&path))?;
                let summary: FileSummary =
                    serde_json::from_str(&text).map_err(|e| ScreenError::Input {
                        path: path.clone(),
                        message: format!("not a screening marker: {e}"),
                    })?;
                summaries.push(summary);
            }
        }
    }
    summaries.sort_by(|a, b| a.input.cmp(&b.input));
    Ok(summaries)
}

/// Removes the markers, and the kept and removed outputs, of files screened with settings other
/// than `settings` (`--force`): what they say no longer holds.
fn discard_other_settings(out: &Path, settings: &str) -> Result<(), ScreenError> {
    for summary in read_markers(out)? {
        if summary.fingerprint.as_ref().map(|f| f.settings.as_str()) == Some(settings) {
            continue;
        }
        let relative = summary.relative_path();
        for path in [
            marker_path(out, &relative),
            out.join("kept").join(&relative),
            out.join("removed").join(&relative),
        ] {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error(&path)(e)),
            }
        }
    }
    Ok(())
}

/// Screens `file` unless its marker says it is done, with these settings, on the file as it
/// is; a marker left by other settings or an older file is an error unless `--force`.
fn screen_file_once(
    policy: &Policy,
    config: &ScreenConfig,
    settings: &str,
    file: &InputFile,
    progress: &Progress,
    commits: &mpsc::SyncSender<Commit>,
) -> Result<FileSummary, ScreenError> {
    let marker = marker_path(&config.out, &file.relative);
    let now = Fingerprint::of(settings, &file.path);
    if let Ok(text) = fs::read_to_string(&marker) {
        if let Ok(summary) = serde_json::from_str::<FileSummary>(&text) {
            // A file that could not be opened last time is tried again.
            if !summary.bad.contains_key(UNREADABLE) {
                let why = match &summary.fingerprint {
                    Some(then) => then.differs_from(&now),
                    None => Some("by an older assay that did not record its settings".into()),
                };
                match why {
                    None => {
                        progress.file_done(summary.bytes);
                        return Ok(summary);
                    }
                    Some(why) if !config.force => {
                        return Err(ScreenError::Stale {
                            out: config.out.clone(),
                            input: summary.input,
                            why,
                        });
                    }
                    Some(_) => {}
                }
            }
        }
    }
    let Screened {
        mut summary,
        outputs,
    } = screen_file(policy, config, file, progress)?;
    summary.fingerprint = Some(now);
    summary.policy.clone_from(&policy.name);
    // Not pretty: assay reads markers (`assay screen status` shows them), and indenting the
    // thousands of sources of a file of posts cost 1% of its screen.
    let json = serde_json::to_vec(&summary).map_err(|e| ScreenError::Other(e.to_string()))?;
    let commit = Commit {
        outputs,
        marker,
        json,
    };
    commits.send(commit).map_err(|_| {
        ScreenError::Other("outputs are no longer put in place (an earlier one failed)".into())
    })?;
    progress.file_done(0);
    Ok(summary)
}

/// A screened file whose outputs are written in full but not yet in place.
pub(crate) struct Screened {
    summary: FileSummary,
    outputs: Vec<AtomicFile>,
}

impl Screened {
    /// A file with no outputs (it could not be read).
    fn without_outputs(summary: FileSummary) -> Screened {
        Screened {
            summary,
            outputs: Vec::new(),
        }
    }
}

/// Runs the commits handed out until there are no more, or until one fails (then no new file
/// is started, and the failure is the answer).
fn commit_all(
    to_commit: &Mutex<mpsc::Receiver<Commit>>,
    failed: &AtomicBool,
) -> Result<(), ScreenError> {
    loop {
        let next = match to_commit.lock() {
            Ok(to_commit) => to_commit.recv(),
            Err(_) => return Err(committer_stopped()),
        };
        let Ok(commit) = next else {
            return Ok(());
        };
        if let Err(e) = commit.run() {
            failed.store(true, Ordering::SeqCst);
            return Err(e);
        }
    }
}

/// A thread that puts outputs in place panicked (seen by its join, or by the next thread to
/// take the queue it held).
fn committer_stopped() -> ScreenError {
    ScreenError::Other("a thread that puts outputs in place stopped".into())
}

/// What makes a screened file final: its outputs synced and put in place, then its marker
/// (so that a marker never stands for outputs a crash could lose).
struct Commit {
    outputs: Vec<AtomicFile>,
    marker: PathBuf,
    json: Vec<u8>,
}

impl Commit {
    fn run(self) -> Result<(), ScreenError> {
        for output in self.outputs {
            let path = output.path().to_path_buf();
            output.commit().map_err(io_error(&path))?;
        }
        if let Some(parent) = self.marker.parent() {
            fs::create_dir_all(parent).map_err(io_error(parent))?;
        }
        assay_core::fs::write_atomic(&self.marker, &self.json).map_err(io_error(&self.marker))
    }
}

/// An output shard written beside its final name and renamed when complete, so a killed run
/// never leaves a file that looks finished.
struct Output {
    path: PathBuf,
    writer: Encoder,
}

/// The compression of an output shard, over a buffered [`AtomicFile`].
enum Encoder {
    Plain(BufWriter<AtomicFile>),
    Gzip(flate2::write::GzEncoder<BufWriter<AtomicFile>>),
    Zstd(zstd::stream::write::Encoder<'static, BufWriter<AtomicFile>>),
}

impl Output {
    fn create(path: PathBuf) -> Result<Output, ScreenError> {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io_error(parent))?;
        }
        let file = AtomicFile::create(&path).map_err(io_error(&path))?;
        let raw = BufWriter::with_capacity(1 << 20, file);
        let writer = match Compression::of(&path) {
            Compression::None => Encoder::Plain(raw),
            Compression::Gzip => Encoder::Gzip(flate2::write::GzEncoder::new(
                raw,
                flate2::Compression::fast(),
            )),
            Compression::Zstd => {
                Encoder::Zstd(zstd::stream::write::Encoder::new(raw, 3).map_err(io_error(&path))?)
            }
        };
        Ok(Output { path, writer })
    }

    fn write_line(&mut self, line: &[u8]) -> Result<(), ScreenError> {
        let w: &mut dyn Write = match &mut self.writer {
            Encoder::Plain(w) => w,
            Encoder::Gzip(w) => w,
            Encoder::Zstd(w) => w,
        };
        w.write_all(line)
            .and_then(|_| w.write_all(b"\n"))
            .map_err(io_error(&self.path))
    }

    /// Ends the compressed stream and writes out what is buffered: the file is complete
    /// under its partial name, to be put in place by [`AtomicFile::commit`].
    fn close(self) -> Result<AtomicFile, ScreenError> {
        let path = self.path;
        let buffered = match self.writer {
            Encoder::Plain(w) => Ok(w),
            Encoder::Gzip(w) => w.finish(),
            Encoder::Zstd(w) => w.finish(),
        }
        .map_err(io_error(&path))?;
        buffered
            .into_inner()
            .map_err(|e| io_error(&path)(e.into_error()))
    }

    /// [`Output::close`], then puts the file in place.
    fn finish(self) -> Result<(), ScreenError> {
        let path = self.path.clone();
        self.close()?.commit().map_err(io_error(&path))
    }
}

/// The source of a document: its source field, else its URL's registered domain.
fn source_of(fields: &doc::Fields<'_>, sources: &mut Sources) -> String {
    let host = fields
        .url
        .as_deref()
        .and_then(assay_policy::domains::normalize_host_cow);
    sources.of(fields, host.as_deref()).0.to_string()
}

/// The sources of one file's documents, with their counts, and what the policy's domain lists
/// say of each host. A document's source is its source field, or the registrable domain of
/// its URL's host. A file has many documents of each host: finding the domain in the suffix
/// list (about 330 instructions) and then the source's counts by name (about 230) were 6% of
/// a screen of short posts, and the host's lookups in a million-host domain list a tenth; a
/// host seen before is one hash lookup for both.
#[derive(Default)]
pub(crate) struct Sources {
    /// Hosts of up to 24 bytes (most) are kept in the table itself: one with its text
    /// elsewhere cost a second cache miss a document to compare.
    hosts: FxHashMap<CompactString, KnownHost>,
    /// Source → its place in `counts`.
    names: FxHashMap<String, usize>,
    counts: Vec<SourceStats>,
}

/// What is known of a host once one of its documents needed it.
#[derive(Default)]
struct KnownHost {
    verdict: Option<HostVerdict>,
    /// Where its registrable domain is in it, and that domain's place in `counts`.
    source: Option<(usize, usize, usize)>,
}

impl Sources {
    /// Hosts remembered at most: past them, that memory starts again empty.
    const MAX_HOSTS: usize = 1 << 16;

    /// What `policy`'s domain lists say of the normalized `host`.
    pub(crate) fn verdict(&mut self, policy: &Policy, host: &str) -> HostVerdict {
        if let Some(verdict) = self.hosts.get(host).and_then(|known| known.verdict) {
            return verdict;
        }
        let verdict = policy.host_verdict(host);
        self.known(host).verdict = Some(verdict);
        verdict
    }

    /// The host's entry, new when it has none.
    fn known(&mut self, host: &str) -> &mut KnownHost {
        if self.hosts.len() >= Self::MAX_HOSTS && !self.hosts.contains_key(host) {
            self.hosts.clear();
        }
        // (Called once or twice a host: copying the host for `entry` costs nothing here.)
        self.hosts.entry(host.into()).or_default()
    }

    /// The source of a document with `fields` and its URL's normalized `host`, borrowed from
    /// them, and its counts.
    pub(crate) fn of<'a>(
        &mut self,
        fields: &'a doc::Fields<'_>,
        host: Option<&'a str>,
    ) -> (&'a str, &mut SourceStats) {
        let (source, at) = self.find(fields, host);
        (source, &mut self.counts[at])
    }

    fn find<'a>(&mut self, fields: &'a doc::Fields<'_>, host: Option<&'a str>) -> (&'a str, usize) {
        if let Some(source) = fields.source.as_deref().filter(|s| !s.is_empty()) {
            return (source, self.named(source));
        }
        let Some(host) = host else {
            return ("(no source)", self.named("(no source)"));
        };
        let seen = self
            .hosts
            .get(host)
            .and_then(|known| known.source)
            .and_then(|(start, end, at)| Some((host.get(start..end)?, at)));
        if let Some(found) = seen {
            return found;
        }
        let domain = registered_domain(host);
        let at = self.named(domain);
        // The domain is a part of `host`, kept as its place in it.
        if let Some(start) = (domain.as_ptr() as usize).checked_sub(host.as_ptr() as usize) {
            self.known(host).source = Some((start, start + domain.len(), at));
        }
        (domain, at)
    }

    fn named(&mut self, source: &str) -> usize {
        if let Some(&at) = self.names.get(source) {
            return at;
        }
        self.counts.push(SourceStats::default());
        self.names.insert(source.to_string(), self.counts.len() - 1);
        self.counts.len() - 1
    }

    /// The counts by source, for [`FileSummary::sources`].
    pub(crate) fn into_counts(self) -> FxHashMap<String, SourceStats> {
        let mut counts = self.counts;
        self.names
            .into_iter()
            .map(|(name, at)| (name, std::mem::take(&mut counts[at])))
            .collect()
    }
}

/// The registrable domain of a host by the Public Suffix List (`news.bbc.co.uk` →
/// `bbc.co.uk`); the host itself when the list does not know it (IP addresses).
pub fn registered_domain(host: &str) -> &str {
    // Only a host that ends with a digit (IPv4) or has a colon (IPv6) can be an address: the
    // parse is skipped for the others (it cost more than the suffix list, once a document).
    let may_be_ip = host.ends_with(|c: char| c.is_ascii_digit()) || host.contains(':');
    let is_ip = host.starts_with('[') || (may_be_ip && host.parse::<std::net::IpAddr>().is_ok());
    if is_ip {
        return host;
    }
    // The domain is part of `host`: sliced from it, not checked as UTF-8 again as
    // `psl::domain_str` does (a tenth of this lookup).
    psl::domain(host.as_bytes())
        .map(|d| d.trim().as_bytes())
        .and_then(|d| {
            let start = (d.as_ptr() as usize).checked_sub(host.as_ptr() as usize)?;
            host.get(start..start + d.len())
        })
        .unwrap_or(host)
}

/// Why a document was removed, as its `assay_screen` field says.
#[derive(Serialize)]
struct Reasons<'a> {
    reasons: Vec<Reason<'a>>,
}

#[derive(Serialize)]
struct Reason<'a> {
    category: &'a str,
    kind: &'a str,
    rule: &'a str,
}

/// The removed document, with the reasons added as an `assay_screen` field.
///
/// The reasons are written from borrowed fields, not built as a `serde_json::Value`: its maps
/// (ordered, hashed) and its `Display` cost about 10,000 instructions a removed document, 3% of
/// a screen of short posts of which 4% were removed.
fn annotate(line: &[u8], hits: &[(String, Hit)]) -> Vec<u8> {
    let trimmed = line.trim_ascii_end();
    let Some(body) = trimmed.strip_suffix(b"}") else {
        return line.to_vec();
    };
    let reasons = Reasons {
        reasons: hits
            .iter()
            .map(|(category, h)| Reason {
                category,
                kind: h.kind.as_str(),
                rule: &h.rule,
            })
            .collect(),
    };
    let mut out = Vec::with_capacity(line.len() + 64 * hits.len() + 40);
    out.extend_from_slice(body);
    if !body.trim_ascii_end().ends_with(b"{") {
        out.push(b',');
    }
    out.extend_from_slice(b"\"assay_screen\":");
    // Writing into a `Vec` fails only when serializing does, which borrowed strings cannot.
    if serde_json::to_writer(&mut out, &reasons).is_err() {
        return line.to_vec();
    }
    out.push(b'}');
    out
}

/// Every hit of one document (its URL against the domain lists, its text against the
/// keywords and patterns; each with its category id), and its URL's normalized host.
pub(crate) fn judge<'f>(
    policy: &Policy,
    fields: &'f doc::Fields<'_>,
    sources: &mut Sources,
) -> (Vec<(String, Hit)>, Option<Cow<'f, str>>) {
    let mut hits: Vec<(String, Hit)> = Vec::new();
    let host = fields
        .url
        .as_deref()
        .and_then(assay_policy::domains::normalize_host_cow);
    if let (Some(url), Some(host)) = (fields.url.as_deref(), host.as_deref()) {
        let verdict = sources.verdict(policy, host);
        if let Some(hit) = policy.check_url_verdict(url, host, verdict) {
            hits.push((policy.category(hit.category).id.clone(), hit));
        }
    }
    if let Some(body) = fields.text.as_deref() {
        for hit in policy.scan_fast(body) {
            hits.push((policy.category(hit.category).id.clone(), hit));
        }
    }
    (hits, host)
}

/// Counts one document of `bytes` with its `hits` into `summary` and its source's `stats`.
pub(crate) fn record(
    summary: &mut FileSummary,
    stats: &mut SourceStats,
    bytes: u64,
    hits: &[(String, Hit)],
) {
    summary.docs += 1;
    summary.bytes += bytes;
    stats.docs += 1;
    stats.bytes += bytes;
    if hits.is_empty() {
        summary.kept_docs += 1;
        return;
    }
    stats.violating_docs += 1;
    stats.violating_bytes += bytes;
    summary.removed_docs += 1;
    summary.removed_bytes += bytes;
    let mut seen: Vec<&str> = Vec::new();
    for (category, hit) in hits {
        if !seen.contains(&category.as_str()) {
            seen.push(category);
            *summary.categories.entry(category.clone()).or_default() += 1;
        }
        *summary
            .rules
            .entry(format!("{category}\t{}", hit.rule))
            .or_default() += 1;
    }
}

/// Records the display name of every category `summary` counts, so that a report (or a merge
/// of shards, which has no policy) can show names rather than ids.
pub(crate) fn name_categories(summary: &mut FileSummary, policy: &Policy) {
    for id in summary.categories.keys() {
        let name = policy
            .category_index(id)
            .map_or_else(|| id.clone(), |i| policy.category(i).name.clone());
        summary.category_names.insert(id.clone(), name);
    }
}

/// The bad-input kind of a file that could not be opened (gone since it was listed).
pub const UNREADABLE: &str = "unreadable file";

/// Counts bad input of `kind` in `summary`, keeping the first few examples.
pub(crate) fn bad_input(summary: &mut FileSummary, line: Option<u64>, kind: &str, message: String) {
    bad_inputs(summary, line, kind, 1, message)
}

/// Counts `count` items of bad input of `kind` (one example for them all).
pub(crate) fn bad_inputs(
    summary: &mut FileSummary,
    line: Option<u64>,
    kind: &str,
    count: u64,
    message: String,
) {
    *summary.bad.entry(kind.to_string()).or_default() += count;
    let same_kind = summary
        .bad_examples
        .iter()
        .filter(|e| e.kind == kind)
        .count();
    if same_kind < BAD_EXAMPLES {
        let file = summary.input.clone();
        summary.bad_examples.push(BadExample {
            file,
            line,
            kind: kind.to_string(),
            message,
        });
    }
}

fn screen_file(
    policy: &Policy,
    config: &ScreenConfig,
    file: &InputFile,
    progress: &Progress,
) -> Result<Screened, ScreenError> {
    let relative = input::display_name(&file.relative);
    let mut summary = FileSummary {
        input: relative.clone(),
        input_bytes: file
            .relative
            .to_str()
            .is_none()
            .then(|| file.relative.as_os_str().as_encoded_bytes().to_vec()),
        ..FileSummary::default()
    };
    // A file that went away (or became unreadable) since the inputs were listed is bad
    // input, not the end of the run; its marker makes a rerun try it again.
    let opened = match File::open(&file.path) {
        Ok(f) => f,
        Err(e) if config.strict => return Err(io_error(&file.path)(e)),
        Err(e) => {
            bad_input(&mut summary, None, UNREADABLE, format!("cannot open: {e}"));
            return Ok(Screened::without_outputs(summary));
        }
    };
    if input::is_parquet(&file.path) {
        return parquet::screen_parquet(policy, config, file, opened, summary, progress);
    }
    // Bad input is counted (or, with --strict, fatal, naming the line).
    let reject = |summary: &mut FileSummary, line: u64, kind: &str, message: String| {
        if config.strict {
            return Err(ScreenError::Strict {
                path: file.path.clone(),
                line,
                message,
            });
        }
        bad_input(summary, Some(line), kind, message);
        Ok(())
    };
    let mut reader =
        input::open_file(&file.path, opened, Some(&config.out)).map_err(io_error(&file.path))?;
    let mut kept = Output::create(config.out.join("kept").join(&file.relative))?;
    let mut removed = Output::create(config.out.join("removed").join(&file.relative))?;
    let mut sampler = Sampler::new(
        config.seed,
        &relative,
        config.sample_size,
        config.batch_docs,
    );
    let mut sources = Sources::default();
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    let mut any_line = false;
    // What the last line took of the reader's buffer: consumed once it was screened.
    let mut screened = 0;
    loop {
        reader.consume(screened);
        let peeked = input::peek_line_capped(&mut reader, &mut buf, config.max_line_bytes);
        let (read, line) = match peeked {
            Ok((read, line, used)) => {
                screened = used;
                (read, line)
            }
            Err(e) => {
                let corrupt = e
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<input::CorruptMember>());
                if let Some(corrupt) = corrupt {
                    // None of the member's lines were screened: they count as bad input.
                    let first = line_no + 1;
                    let message = format!(
                        "lines {first}–{} withheld: {corrupt}",
                        line_no + corrupt.lines.max(1)
                    );
                    if config.strict {
                        return Err(ScreenError::Strict {
                            path: file.path.clone(),
                            line: first,
                            message,
                        });
                    }
                    bad_inputs(
                        &mut summary,
                        Some(first),
                        "corrupt gzip member",
                        corrupt.lines.max(1),
                        message,
                    );
                    any_line = true;
                    break;
                }
                // A truncated or corrupt zstd stream: what was read stays screened.
                let message = format!("cannot read past line {line_no}: {e}");
                reject(&mut summary, line_no + 1, "read error", message)?;
                break;
            }
        };
        let line_len = match read {
            Line::Eof => break,
            Line::TooLong(n) => n,
            Line::Read => line.len(),
        };
        line_no += 1;
        any_line = true;
        progress.add_bytes(line_len as u64 + 1);
        if let Line::TooLong(n) = read {
            let message = format!("{n} bytes, over the {} byte cap", config.max_line_bytes);
            reject(&mut summary, line_no, "line too long", message)?;
            continue;
        }
        if line.trim_ascii().is_empty() {
            continue;
        }
        // SIMD validation first (several times faster on Chinese text); the standard
        // library's only to say where a bad line goes wrong.
        let text = match simdutf8::basic::from_utf8(line).or_else(|_| std::str::from_utf8(line)) {
            Ok(t) => t,
            Err(e) => {
                let message = format!("invalid UTF-8 at byte {} of the line", e.valid_up_to());
                reject(&mut summary, line_no, "invalid UTF-8", message)?;
                continue;
            }
        };
        let fields = match doc::extract(text, &config.fields) {
            Ok(f) => f,
            Err(e) => {
                reject(
                    &mut summary,
                    line_no,
                    "malformed JSON",
                    format!("malformed JSON: {e}"),
                )?;
                continue;
            }
        };
        if fields.text.is_none() {
            let message = format!("no string field {:?}", config.fields.text);
            bad_input(&mut summary, Some(line_no), "missing text", message);
        }
        let (hits, host) = judge(policy, &fields, &mut sources);
        let (source, stats) = sources.of(&fields, host.as_deref());
        record(&mut summary, stats, line.len() as u64, &hits);
        inspect::observe(&mut summary, policy, line_no, source, &fields, &hits);
        if hits.is_empty() {
            kept.write_line(line)?;
        } else {
            removed.write_line(&annotate(line, &hits))?;
        }
        sampler.offer(line_no, source, &fields, &hits);
    }
    if !any_line {
        bad_input(
            &mut summary,
            None,
            "empty file",
            "the file has no lines".into(),
        );
    }
    let outputs = vec![kept.close()?, removed.close()?];
    summary.sources = sources.into_counts();
    summary.batches = sampler.finish();
    name_categories(&mut summary, policy);
    Ok(Screened { summary, outputs })
}

/// The second pass of `--drop-flagged-sources`: every kept document of a flagged source moves
/// to `removed-sources/` (annotated with its source), for the files of `summaries`. Answers
/// the documents moved.
pub fn drop_flagged_sources(
    config: &ScreenConfig,
    summaries: &[FileSummary],
    flagged: &std::collections::HashSet<String>,
) -> Result<u64, ScreenError> {
    let mut moved = 0;
    for summary in summaries {
        if !summary.sources.keys().any(|s| flagged.contains(s)) {
            continue;
        }
        let relative = summary.relative_path();
        let kept_path = config.out.join("kept").join(&relative);
        let mut reader = File::open(&kept_path)
            .and_then(|f| input::open_file(&kept_path, f, Some(&config.out)))
            .map_err(io_error(&kept_path))?;
        let mut kept = Output::create(kept_path.clone())?;
        let mut dropped = Output::create(config.out.join("removed-sources").join(&relative))?;
        let mut sources = Sources::default();
        let mut buf = Vec::new();
        loop {
            let read = input::read_line_capped(&mut reader, &mut buf, usize::MAX)
                .map_err(io_error(&kept_path))?;
            if read == Line::Eof {
                break;
            }
            // Kept documents were all read and parsed once already.
            let source = std::str::from_utf8(&buf)
                .ok()
                .and_then(|t| doc::extract(t, &config.fields).ok())
                .map(|f| source_of(&f, &mut sources));
            match source {
                Some(source) if flagged.contains(&source) => {
                    let hit = Hit {
                        category: 0,
                        kind: assay_policy::HitKind::Domain,
                        rule: format!("flagged source {source}"),
                        range: 0..0,
                    };
                    dropped.write_line(&annotate(&buf, &[("source".to_string(), hit)]))?;
                    moved += 1;
                }
                _ => kept.write_line(&buf)?,
            }
        }
        kept.finish()?;
        dropped.finish()?;
    }
    Ok(moved)
}

/// Progress of a screen, reported to the caller's [`Reporter`]: bytes read (uncompressed,
/// so the share can pass 100% for compressed inputs), with the files done as its message.
pub(crate) struct Progress {
    task: Task,
    files: usize,
    files_done: AtomicUsize,
}

impl Progress {
    fn new(reporter: &Reporter, files: usize, total: u64) -> Progress {
        let task = reporter.start("screen", total, Unit::Bytes);
        task.set_message(&format!("0/{files} files"));
        Progress {
            task,
            files,
            files_done: AtomicUsize::new(0),
        }
    }

    pub(crate) fn add_bytes(&self, n: u64) {
        self.task.advance(n);
    }

    fn file_done(&self, skipped_bytes: u64) {
        let done = self.files_done.fetch_add(1, Ordering::Relaxed) + 1;
        self.task.advance(skipped_bytes);
        self.task
            .set_message(&format!("{done}/{} files", self.files));
    }

    fn finish(&self) {
        self.task.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_has_exactly_the_threads_asked_for() {
        for threads in [1, 3] {
            let (running, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
            let items: Vec<usize> = (0..12).collect();
            let out = on_threads(threads, &items, |&i| {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(30));
                running.fetch_sub(1, Ordering::SeqCst);
                (i * 2, std::thread::current().name().map(str::to_string))
            })
            .unwrap();
            assert_eq!(most.load(Ordering::SeqCst), threads);
            assert_eq!(
                out.iter().map(|(d, _)| *d).collect::<Vec<_>>(),
                items.iter().map(|i| i * 2).collect::<Vec<_>>()
            );
            assert!(out
                .iter()
                .all(|(_, name)| name.as_deref().is_some_and(|n| n.starts_with("screen-"))));
        }
    }

    #[test]
    fn annotation_keeps_the_document() {
        let hit = Hit {
            category: 0,
            kind: assay_policy::HitKind::Keyword,
            rule: "bomb".into(),
            range: 0..4,
        };
        let out = annotate(br#"{"text": "bomb"}  "#, &[("weapons".into(), hit.clone())]);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["text"], "bomb");
        assert_eq!(v["assay_screen"]["reasons"][0]["rule"], "bomb");
        let out = annotate(b"{}", &[("weapons".into(), hit.clone())]);
        assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok());
        // The field as users' scripts read it: its keys in this order, strings escaped.
        let quoted = Hit {
            rule: "say \"hi\"\n".into(),
            ..hit
        };
        let out = annotate(
            br#"{"id": 1}"#,
            &[
                ("weapons".into(), quoted.clone()),
                ("domains".into(), quoted),
            ],
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"id": 1,"assay_screen":{"reasons":[{"category":"weapons","kind":"keyword","rule":"say \"hi\"\n"},{"category":"domains","kind":"keyword","rule":"say \"hi\"\n"}]}}"#
        );
    }

    #[test]
    fn shards_and_registered_domains() {
        assert_eq!(parse_shard("1/4"), Ok((1, 4)));
        assert!(parse_shard("4/4").is_err());
        assert!(parse_shard("x").is_err());
        assert_eq!(registered_domain("news.bbc.co.uk"), "bbc.co.uk");
        assert_eq!(registered_domain("a.b.example.com.cn"), "example.com.cn");
        assert_eq!(registered_domain("127.0.0.1"), "127.0.0.1");
        assert_eq!(registered_domain("[::1]"), "[::1]");
        assert_eq!(registered_domain("fe80::a"), "fe80::a");
        assert_eq!(registered_domain("a.example9.cn"), "example9.cn");
        assert_eq!(registered_domain("a.b.example.com9"), "example.com9");
        // Names that are no address: what the suffix list's own answer is.
        for host in [
            "news.bbc.co.uk.",
            "WWW.Example.COM",
            "例子.中国",
            "www.例子.公司.cn",
            "a.b.github.io",
            "localhost",
            "com",
            ".",
            "..",
            "",
            "a..b.com",
            "xn--fiqs8s.xn--55qx5d.cn",
        ] {
            assert_eq!(
                registered_domain(host),
                psl::domain_str(host).unwrap_or(host),
                "{host:?}"
            );
        }
    }

    #[test]
    fn sources_are_found_by_host_and_by_name() {
        let hosts = [
            "news.bbc.co.uk",
            "news.bbc.co.uk.",
            "a.b.example.com.cn",
            "127.0.0.1",
            "[::1]",
            "www.例子.公司.cn",
            "bbc.co.uk",
            "localhost",
            "a..b.com",
            "",
        ];
        let plain = doc::Fields::default();
        let named = doc::Fields {
            source: Some("crawl-7".into()),
            ..doc::Fields::default()
        };
        let mut sources = Sources::default();
        let mut want: BTreeMap<String, u64> = BTreeMap::new();
        let mut count = |sources: &mut Sources, fields, host: Option<&str>, expected: &str| {
            let (source, stats) = sources.of(fields, host);
            assert_eq!(source, expected, "{host:?}");
            stats.docs += 1;
            *want.entry(expected.to_string()).or_default() += 1;
        };
        // Each host asked again as another string with the same text.
        for _ in 0..3 {
            for host in hosts.map(String::from) {
                count(&mut sources, &plain, Some(&host), registered_domain(&host));
                count(&mut sources, &named, Some(&host), "crawl-7");
            }
            count(&mut sources, &plain, None, "(no source)");
        }
        // Past the hosts it remembers it starts again, and counts on.
        for i in 0..Sources::MAX_HOSTS + 10 {
            let host = format!("h{i}.site{}.com", i % 7);
            let domain = &host[host.find('.').unwrap() + 1..];
            count(&mut sources, &plain, Some(&host), domain);
        }
        assert!(sources.hosts.len() <= Sources::MAX_HOSTS);
        for host in hosts {
            count(&mut sources, &plain, Some(host), registered_domain(host));
        }
        let got: BTreeMap<String, u64> = sources
            .into_counts()
            .into_iter()
            .map(|(name, stats)| (name, stats.docs))
            .collect();
        assert_eq!(got, want);
        // Three hosts of one domain, asked four times: one source.
        assert_eq!(got["bbc.co.uk"], 3 * 4);
    }
}
