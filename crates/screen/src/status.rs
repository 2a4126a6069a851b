//! Where a screening output directory stands (`assay screen status DIR`): which shards have
//! files left to screen, and which files failed.
//!
//! Each run (one per shard) writes its plan, `OUT/.shards/<shard>.json`, before it starts: the
//! files it will screen and its settings; it records there when it finished, or the error that
//! stopped it. A file is done when its marker (`.done/`) exists with the plan's settings; a file
//! without one is unfinished, and a `.partial` output beside it means a run was writing it
//! when it stopped (or is writing it now).

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::input::InputFile;
use crate::{io_error, FileSummary, ScreenError, UNREADABLE};

/// Bad-input kinds that mean part of a file, or all of it, could not be read: the file failed.
pub const FAILED_KINDS: [&str; 3] = [UNREADABLE, "read error", "corrupt gzip member"];

/// One run's plan (one shard, or all files when unsharded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// `i/n`, or `None` for an unsharded run.
    pub shard: Option<String>,
    pub settings: String,
    pub started: String,
    #[serde(default)]
    pub finished: Option<String>,
    /// The error that stopped the run.
    #[serde(default)]
    pub error: Option<String>,
    /// The files of the run, named as markers name them.
    pub files: Vec<String>,
}

fn plans_dir(out: &Path) -> PathBuf {
    out.join(".shards")
}

fn plan_path(out: &Path, shard: Option<(usize, usize)>) -> PathBuf {
    let name = match shard {
        Some((i, n)) => format!("{i}-of-{n}.json"),
        None => "all.json".to_string(),
    };
    plans_dir(out).join(name)
}

/// Writes the plan of a run about to screen `files`.
pub(crate) fn write_plan(
    out: &Path,
    shard: Option<(usize, usize)>,
    settings: &str,
    files: &[InputFile],
) -> Result<Plan, ScreenError> {
    let plan = Plan {
        shard: shard.map(|(i, n)| format!("{i}/{n}")),
        settings: settings.to_string(),
        started: assay_core::now_rfc3339(),
        finished: None,
        error: None,
        files: files
            .iter()
            .map(|f| crate::input::display_name(&f.relative))
            .collect(),
    };
    save(out, shard, &plan)?;
    Ok(plan)
}

/// Records how the run of `plan` ended.
pub(crate) fn end_plan(
    out: &Path,
    shard: Option<(usize, usize)>,
    mut plan: Plan,
    error: Option<String>,
) -> Result<(), ScreenError> {
    match error {
        Some(e) => plan.error = Some(e),
        None => plan.finished = Some(assay_core::now_rfc3339()),
    }
    save(out, shard, &plan)
}

fn save(out: &Path, shard: Option<(usize, usize)>, plan: &Plan) -> Result<(), ScreenError> {
    let dir = plans_dir(out);
    fs::create_dir_all(&dir).map_err(io_error(&dir))?;
    let path = plan_path(out, shard);
    let json = serde_json::to_vec_pretty(plan).map_err(|e| ScreenError::Other(e.to_string()))?;
    assay_core::fs::write_atomic(&path, &json).map_err(io_error(&path))
}

/// Removes the plans of runs with settings other than `settings` (`--force` discards their
/// markers too, so what they planned no longer applies).
pub(crate) fn discard_other_plans(out: &Path, settings: &str) -> Result<(), ScreenError> {
    let dir = plans_dir(out);
    let Ok(entries) = fs::read_dir(&dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry.map_err(io_error(&dir))?.path();
        let plan = fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str::<Plan>(&t).ok());
        if plan.is_some_and(|p| p.settings != settings) {
            fs::remove_file(&path).map_err(io_error(&path))?;
        }
    }
    Ok(())
}

/// A file of a plan that has no marker (with the plan's settings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unfinished {
    pub input: String,
    /// A `.partial` output of it exists: a run was writing it when it stopped, or is now.
    pub partial_output: bool,
}

/// One shard's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShardStatus {
    /// `i/n`, or `None` (unsharded).
    pub shard: Option<String>,
    /// `finished`, `failed` (an error stopped it) or `unfinished` (running, or stopped).
    pub state: &'static str,
    pub started: String,
    pub finished: Option<String>,
    pub error: Option<String>,
    pub files: usize,
    pub done: usize,
    pub unfinished: Vec<Unfinished>,
}

/// A screened file that could not be read, whole or in part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedFile {
    pub input: String,
    pub kind: String,
    pub line: Option<u64>,
    pub message: String,
}

/// Where an output directory stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    pub dir: PathBuf,
    pub shards: Vec<ShardStatus>,
    /// Files with a marker.
    pub done_files: usize,
    pub failed_files: Vec<FailedFile>,
    /// Every shard finished and no file failed.
    pub complete: bool,
}

/// The status of the output directory `out`.
pub fn status(out: &Path) -> Result<Status, ScreenError> {
    if !out.join(".done").is_dir() && !plans_dir(out).is_dir() {
        return Err(ScreenError::Input {
            path: out.to_path_buf(),
            message: "not a screening output directory (it has no .done/ or .shards/)".into(),
        });
    }
    let markers = crate::read_markers(out)?;
    let by_input: BTreeMap<&str, &FileSummary> =
        markers.iter().map(|s| (s.input.as_str(), s)).collect();
    let mut shards = Vec::new();
    for plan in read_plans(out)? {
        let mut unfinished = Vec::new();
        let mut done = 0;
        for input in &plan.files {
            let marked = by_input.get(input.as_str()).is_some_and(|s| {
                s.fingerprint.as_ref().map(|f| f.settings.as_str()) == Some(plan.settings.as_str())
            });
            if marked {
                done += 1;
            } else {
                unfinished.push(Unfinished {
                    input: input.clone(),
                    partial_output: has_partial_output(out, input),
                });
            }
        }
        let state = if plan.error.is_some() {
            "failed"
        } else if unfinished.is_empty() && plan.finished.is_some() {
            "finished"
        } else {
            "unfinished"
        };
        shards.push(ShardStatus {
            shard: plan.shard,
            state,
            started: plan.started,
            finished: plan.finished,
            error: plan.error,
            files: plan.files.len(),
            done,
            unfinished,
        });
    }
    let mut failed_files = Vec::new();
    for s in &markers {
        for e in &s.bad_examples {
            if FAILED_KINDS.contains(&e.kind.as_str()) {
                failed_files.push(FailedFile {
                    input: s.input.clone(),
                    kind: e.kind.clone(),
                    line: e.line,
                    message: e.message.clone(),
                });
            }
        }
    }
    let complete = failed_files.is_empty() && shards.iter().all(|s| s.state == "finished");
    Ok(Status {
        dir: out.to_path_buf(),
        shards,
        done_files: markers.len(),
        failed_files,
        complete,
    })
}

/// Every plan in `out`, unsharded first, then by shard index.
fn read_plans(out: &Path) -> Result<Vec<Plan>, ScreenError> {
    let dir = plans_dir(out);
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(&dir)(e)),
    };
    let mut plans = Vec::new();
    for entry in entries {
        let path = entry.map_err(io_error(&dir))?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text = fs::read_to_string(&path).map_err(io_error(&path))?;
        let plan: Plan = serde_json::from_str(&text).map_err(|e| ScreenError::Input {
            path: path.clone(),
            message: format!("not a screening plan: {e}"),
        })?;
        plans.push(plan);
    }
    let index = |p: &Plan| {
        p.shard.as_deref().map(|s| {
            let (i, n) = s.split_once('/').unwrap_or((s, ""));
            (
                n.parse::<usize>().unwrap_or(0),
                i.parse::<usize>().unwrap_or(0),
            )
        })
    };
    plans.sort_by_key(|p| index(p));
    Ok(plans)
}

/// Whether `kept/` or `removed/` holds a partial output of `input`.
fn has_partial_output(out: &Path, input: &str) -> bool {
    ["kept", "removed"].iter().any(|kind| {
        let path = out.join(kind).join(input);
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return false;
        };
        let Ok(entries) = fs::read_dir(parent) else {
            return false;
        };
        let mut partial = name.to_os_string();
        partial.push(".partial");
        entries.flatten().any(|e| e.file_name() == partial)
    })
}
