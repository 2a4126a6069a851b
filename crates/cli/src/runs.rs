//! `assay runs`: list the runs of a store (`--json` for scripts), delete some (`rm`), or prune
//! those left behind (`prune --status running --older-than 1h`).

use std::time::Duration;

use anyhow::{bail, Context, Result};
use assay_core::table::TextTable;
use assay_eval::runs::{list_runs, RunListing};
use assay_store::{RunStatus, Store};
use clap::{Args, Subcommand};

use crate::store_args::StoreArgs;

/// `assay runs [--json]`, `assay runs rm RUN…`, `assay runs prune …`.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RunsArgs {
    #[command(subcommand)]
    command: Option<RunsCommand>,
    /// Print the runs as a JSON array of objects (id, status, created_at, finished_at,
    /// last_answer_at, answered, errors, cached, models, suites), newest first.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Subcommand)]
enum RunsCommand {
    /// Delete runs with their answers, grades and review labels (the answer cache stays).
    Rm(RmArgs),
    /// Delete the runs of some statuses idle for longer than a time: e.g. runs left
    /// "running" by a killed audit (`--status running --older-than 1h`).
    Prune(PruneArgs),
}

#[derive(Args)]
struct RmArgs {
    /// Run ids, unique prefixes, or "latest". All are looked up before any is deleted.
    #[arg(required = true, value_name = "RUN")]
    runs: Vec<String>,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Args)]
struct PruneArgs {
    /// Statuses to prune, comma-separated: running, interrupted, finished.
    #[arg(long, required = true, value_delimiter = ',', value_parser = status)]
    status: Vec<RunStatus>,
    /// Only runs idle for longer than this (since they were created, last answered or
    /// finished, whichever is latest): 30m, 1h, 2d (units s, m, h, d, w).
    #[arg(long, required = true, value_parser = duration, value_name = "DURATION")]
    older_than: Duration,
    /// List what would be deleted; delete nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    store: StoreArgs,
}

pub fn runs(args: RunsArgs) -> Result<()> {
    match args.command {
        None => list(&args.store, args.json),
        Some(RunsCommand::Rm(rm)) => remove(rm),
        Some(RunsCommand::Prune(prune)) => prune_runs(prune),
    }
}

/// Opens the store these commands read; a `--db` file that does not exist is an error (a typo
/// would otherwise create an empty store there and report "no runs").
fn open_existing(store: &StoreArgs) -> Result<Store> {
    if let Some(db) = &store.db {
        let path = db
            .strip_prefix("sqlite://")
            .or_else(|| db.strip_prefix("sqlite:"))
            .unwrap_or(db);
        let is_url = db.starts_with("postgres://") || db.starts_with("postgresql://");
        if !is_url && !std::path::Path::new(path).exists() {
            bail!("no store at {path} (--db names an existing SQLite file or a postgres:// URL)");
        }
    }
    store.open()
}

fn list(store: &StoreArgs, json: bool) -> Result<()> {
    let store = open_existing(store)?;
    let runs = list_runs(&store)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&runs)?);
        return Ok(());
    }
    if runs.is_empty() {
        println!("no runs in {}", store.path().display());
        return Ok(());
    }
    print!("{}", table(&runs));
    Ok(())
}

fn table(runs: &[RunListing]) -> String {
    let mut table = TextTable::new(
        &[
            "RUN",
            "STATUS",
            "CREATED",
            "ANSWERED",
            "CACHED",
            "ERRORS",
            "MODELS / SUITES",
        ],
        &[false, false, false, true, true, true],
    );
    for run in runs {
        table.row(vec![
            run.id.clone(),
            run.status.to_string(),
            run.created_at
                .get(..19)
                .unwrap_or(&run.created_at)
                .to_string(),
            run.counts.answered.to_string(),
            run.counts.cached.to_string(),
            run.counts.errors.to_string(),
            format!("{} / {}", run.models.join(","), run.suites.join(",")),
        ]);
    }
    table.render("")
}

fn remove(args: RmArgs) -> Result<()> {
    let store = open_existing(&args.store)?;
    // Every reference is resolved first: a typo in the third deletes nothing.
    let mut ids: Vec<String> = Vec::new();
    for reference in &args.runs {
        let id = store.resolve_run(reference)?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    for id in &ids {
        delete(&store, id)?;
    }
    Ok(())
}

fn delete(store: &Store, id: &str) -> Result<()> {
    let deleted = store
        .delete_run(id)
        .with_context(|| format!("cannot delete run {id}"))?;
    println!(
        "deleted run {id} ({} items, {} answers, {} grades, {} review labels)",
        deleted.items, deleted.answers, deleted.grades, deleted.reviews
    );
    Ok(())
}

fn prune_runs(args: PruneArgs) -> Result<()> {
    let store = open_existing(&args.store)?;
    let now = chrono::Utc::now();
    let mut chosen = Vec::new();
    for run in list_runs(&store)? {
        if !args.status.contains(&run.status) {
            continue;
        }
        let idle = idle_since(&run).map(|at| (now - at).to_std().unwrap_or_default());
        // A run whose times cannot be read is left alone: pruning deletes only what it can
        // show is old.
        if idle.is_some_and(|idle| idle > args.older_than) {
            chosen.push(run);
        }
    }
    if chosen.is_empty() {
        println!("no runs to prune");
        return Ok(());
    }
    if args.dry_run {
        print!("{}", table(&chosen));
        println!(
            "{} run(s) would be deleted (--dry-run: nothing deleted)",
            chosen.len()
        );
        return Ok(());
    }
    for run in &chosen {
        delete(&store, &run.id)?;
    }
    Ok(())
}

/// When the run last did something: created, asked an answer, or finished.
fn idle_since(run: &RunListing) -> Option<chrono::DateTime<chrono::Utc>> {
    [
        Some(&run.created_at),
        run.finished_at.as_ref(),
        run.last_answer_at.as_ref(),
    ]
    .into_iter()
    .flatten()
    .filter_map(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    .map(|t| t.with_timezone(&chrono::Utc))
    .max()
}

fn status(text: &str) -> Result<RunStatus, String> {
    RunStatus::from_name(text.trim())
        .ok_or_else(|| format!("{text:?} is not a run status (running, interrupted, finished)"))
}

/// `30m`, `1h`, `2d`, `90s`, `1w`: a whole number and a unit.
fn duration(text: &str) -> Result<Duration, String> {
    assay_core::parse_age(text).ok_or_else(|| {
        format!("{text:?} is not a duration such as 30m, 1h or 2d (units s, m, h, d, w)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_with_their_unit() {
        assert_eq!(duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(duration("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(duration("45s"), Ok(Duration::from_secs(45)));
        for bad in ["", "h", "1", "1.5h", "-1h", "1y", "99999999999999999999d"] {
            assert!(duration(bad).is_err(), "{bad:?}");
        }
        assert!(status("running").is_ok() && status("done").is_err());
    }

    #[test]
    fn a_run_is_idle_since_its_latest_time() {
        let run = RunListing {
            id: "r".into(),
            created_at: "2024-05-01T10:00:00Z".into(),
            finished_at: None,
            last_answer_at: Some("2024-05-01T12:30:00.000Z".into()),
            status: RunStatus::Running,
            counts: Default::default(),
            models: vec![],
            suites: vec![],
        };
        assert_eq!(
            idle_since(&run).unwrap().to_rfc3339(),
            "2024-05-01T12:30:00+00:00"
        );
    }
}
