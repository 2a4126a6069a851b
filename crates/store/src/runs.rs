//! Runs: creating them, their status, listing and resolving them, their items and counts.

use std::collections::HashMap;

use crate::answers::LATEST_IDS;
use crate::db::{params, TxKind};
use crate::session::Session;
use crate::{
    ItemRow, NewRun, RunCounts, RunDeleted, RunRow, RunStatus, RunSummary, Store, StoreError,
};

/// How many run ids an "unknown run" error lists, so a large store does not flood the terminal.
const MAX_LISTED_RUNS: usize = 10;

/// [`LATEST_IDS`] for every run at once.
const ALL_LATEST_IDS: &str = "SELECT MAX(id) AS id FROM answers \
     GROUP BY run_id, model, suite, item_id, lang, sample";

/// Answered, error and cached counts over answers `a`, for [`RunCounts`].
const COUNT_COLUMNS: &str = "COALESCE(SUM(CASE WHEN a.error IS NULL THEN 1 ELSE 0 END), 0), \
     COALESCE(SUM(CASE WHEN a.error IS NOT NULL THEN 1 ELSE 0 END), 0), \
     COALESCE(SUM(CASE WHEN a.error IS NULL AND a.cached <> 0 THEN 1 ELSE 0 END), 0)";

/// The columns of `runs`, in the order [`RunColumns`] holds them.
const RUN_COLUMNS: &str = "id, created_at, finished_at, status, config";

/// A run as read, before its config is decoded: id, created_at, finished_at, status, config.
type RunColumns = (String, String, Option<String>, String, String);

/// The three [`COUNT_COLUMNS`]: answered, errors, cached.
type CountColumns = (i64, i64, i64);

/// An item as read (see `items`), before its choices are decoded.
type ItemColumns = (
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
);

impl Store {
    /// Creates a run; fails with [`StoreError::RunExists`] if its id is taken.
    pub fn create_run(&self, run: &NewRun) -> Result<(), StoreError> {
        let config = self.encode(&run.config, || format!("the config of run {:?}", run.id))?;
        // DO NOTHING plus a row count tells "exists" apart from real failures without parsing
        // error messages, and works the same on both backends.
        let inserted = self
            .session()
            .execute(
                "INSERT INTO runs (id, created_at, finished_at, status, config) \
                 VALUES (?1, ?2, NULL, ?3, ?4) ON CONFLICT (id) DO NOTHING",
                params![&run.id, &run.created_at, run.status.as_str(), config],
            )
            .map_err(self.db_err(|| format!("cannot create run {:?}", run.id)))?;
        if inserted == 0 {
            return Err(StoreError::RunExists {
                path: self.path.clone(),
                id: run.id.clone(),
            });
        }
        Ok(())
    }

    /// Sets a run's status and finish time. `finished_at: None` clears the finish time (a
    /// resumed run is running again).
    pub fn set_run_status(
        &self,
        id: &str,
        status: RunStatus,
        finished_at: Option<&str>,
    ) -> Result<(), StoreError> {
        let updated = self
            .session()
            .execute(
                "UPDATE runs SET status = ?2, finished_at = ?3 WHERE id = ?1",
                params![id, status.as_str(), finished_at],
            )
            .map_err(self.db_err(|| format!("cannot set the status of run {id:?}")))?;
        if updated == 0 {
            return Err(self.unknown_run(id));
        }
        Ok(())
    }

    /// The run with this exact id, if any.
    pub fn run(&self, id: &str) -> Result<Option<RunRow>, StoreError> {
        let raws: Vec<RunColumns> = self.read_rows(
            &format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1"),
            params![id],
            || format!("cannot read run {id:?}"),
            "runs",
        )?;
        raws.into_iter()
            .next()
            .map(|raw| self.run_row(raw))
            .transpose()
    }

    /// Every run without its counts, newest first (by `created_at`, then id): what a reader of
    /// many runs needs to choose some, without reading every answer of the store as
    /// [`Store::runs`] does.
    pub fn run_rows(&self) -> Result<Vec<RunRow>, StoreError> {
        let raws: Vec<RunColumns> = self.read_rows(
            &format!("SELECT {RUN_COLUMNS} FROM runs"),
            params![],
            || "cannot list runs".to_string(),
            "runs",
        )?;
        let mut rows = raws
            .into_iter()
            .map(|raw| self.run_row(raw))
            .collect::<Result<Vec<_>, StoreError>>()?;
        sort_newest_first(&mut rows, |r| (&r.created_at, &r.id));
        Ok(rows)
    }

    /// Every run with its counts, newest first (by `created_at`, then id).
    pub fn runs(&self) -> Result<Vec<RunSummary>, StoreError> {
        let context = || "cannot list runs".to_string();
        // One read transaction, so the runs and their counts are one consistent snapshot even
        // while another process writes.
        let (raws, counts) = self.transaction(TxKind::Read, context, |s| {
            let raws: Vec<RunColumns> = self.select(
                s,
                &format!("SELECT {RUN_COLUMNS} FROM runs"),
                params![],
                context,
                "runs",
            )?;
            let counts: Vec<(String, i64, i64, i64)> = self.select(
                s,
                &format!(
                    "SELECT a.run_id, {COUNT_COLUMNS} FROM answers a \
                     JOIN ({ALL_LATEST_IDS}) l ON a.id = l.id GROUP BY a.run_id"
                ),
                params![],
                context,
                "answers",
            )?;
            Ok((raws, counts))
        })?;
        let mut counts: HashMap<String, CountColumns> = counts
            .into_iter()
            .map(|(run_id, answered, errors, cached)| (run_id, (answered, errors, cached)))
            .collect();
        let mut summaries = raws
            .into_iter()
            .map(|raw| {
                let counts = match counts.remove(&raw.0) {
                    Some(raw_counts) => self.run_counts_from(raw_counts, &raw.0)?,
                    None => RunCounts::default(),
                };
                Ok(RunSummary {
                    run: self.run_row(raw)?,
                    counts,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        sort_newest_first(&mut summaries, |s| (&s.run.created_at, &s.run.id));
        Ok(summaries)
    }

    /// Resolves a run reference to a run id: `latest` (the newest run), a full id, or a prefix
    /// that only one id starts with. When nothing matches the error lists the newest runs;
    /// when several do it lists them all.
    pub fn resolve_run(&self, reference: &str) -> Result<String, StoreError> {
        let mut runs: Vec<(String, String)> = self.read_rows(
            "SELECT id, created_at FROM runs",
            params![],
            || "cannot list runs".to_string(),
            "runs",
        )?;
        sort_newest_first(&mut runs, |(id, created_at)| (created_at, id));
        let ids: Vec<String> = runs.into_iter().map(|(id, _)| id).collect();
        let not_found = || StoreError::RunNotFound {
            path: self.path.clone(),
            reference: reference.to_string(),
            known: ids.iter().take(MAX_LISTED_RUNS).cloned().collect(),
        };
        if reference == "latest" {
            return ids.first().cloned().ok_or_else(not_found);
        }
        if ids.iter().any(|id| id == reference) {
            return Ok(reference.to_string());
        }
        // Prefixes are matched here rather than with LIKE, whose case rules and wildcards
        // (`_`, `%` in ids) differ between databases.
        let candidates: Vec<&String> = if reference.is_empty() {
            Vec::new()
        } else {
            ids.iter().filter(|id| id.starts_with(reference)).collect()
        };
        match candidates.as_slice() {
            [] => Err(not_found()),
            [only] => Ok((*only).clone()),
            _ => Err(StoreError::AmbiguousRun {
                path: self.path.clone(),
                reference: reference.to_string(),
                candidates: candidates.into_iter().cloned().collect(),
            }),
        }
    }

    /// Deletes a run and everything stored under it (its items, every attempt at its
    /// requests, their grades, people's labels on them) in one transaction, so a failure
    /// leaves the run whole. The answer cache is shared by all runs and keeps its entries.
    /// Fails with [`StoreError::UnknownRun`] if there is no such run.
    pub fn delete_run(&self, id: &str) -> Result<RunDeleted, StoreError> {
        let context = || format!("cannot delete run {id:?}");
        self.transaction(TxKind::Write, context, |s| {
            self.require_run(s, id)?;
            let mut run = |sql: &str| s.execute(sql, params![id]).map_err(self.db_err(context));
            // Children before parents: the foreign keys hold at every step.
            let reviews = run("DELETE FROM reviews WHERE run_id = ?1")?;
            let grades = run(
                "DELETE FROM grades WHERE answer_id IN (SELECT id FROM answers WHERE run_id = ?1)",
            )?;
            let answers = run("DELETE FROM answers WHERE run_id = ?1")?;
            let items = run("DELETE FROM items WHERE run_id = ?1")?;
            run("DELETE FROM kept_analyses WHERE run_id = ?1")?;
            run("DELETE FROM runs WHERE id = ?1")?;
            Ok(RunDeleted {
                items,
                answers,
                grades,
                reviews,
            })
        })
    }

    /// When each run last recorded an answer (`started_at` of its newest attempt, RFC 3339),
    /// by run id; runs without answers are absent. How long a run has been idle, for pruning
    /// runs left behind without deleting one that is still being asked.
    pub fn last_answer_times(&self) -> Result<HashMap<String, String>, StoreError> {
        let rows: Vec<(String, String)> = self.read_rows(
            "SELECT run_id, MAX(started_at) FROM answers GROUP BY run_id",
            params![],
            || "cannot read when runs were last answered".to_string(),
            "answers",
        )?;
        Ok(rows.into_iter().collect())
    }

    /// Stores a run's items in one transaction. Idempotent: an item already stored (same run,
    /// suite, item id and language) is replaced.
    pub fn put_items(&self, run_id: &str, items: &[ItemRow]) -> Result<(), StoreError> {
        let choices: Vec<Option<String>> = items
            .iter()
            .map(|item| {
                self.encode_opt(item.choices.as_ref(), || {
                    format!(
                        "the choices of item {}/{} of run {run_id:?}",
                        item.suite, item.item_id
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        let context = || format!("cannot store the items of run {run_id:?}");
        self.transaction(TxKind::Write, context, |s| {
            self.require_run(s, run_id)?;
            for (item, choices) in items.iter().zip(choices) {
                s.execute(
                    "INSERT INTO items (run_id, suite, item_id, lang, category, kind, expect, \
                     prompt, choices, answer_key) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
                     ON CONFLICT (run_id, suite, item_id, lang) DO UPDATE SET \
                     category = excluded.category, kind = excluded.kind, \
                     expect = excluded.expect, prompt = excluded.prompt, \
                     choices = excluded.choices, answer_key = excluded.answer_key",
                    params![
                        run_id,
                        &item.suite,
                        &item.item_id,
                        &item.lang,
                        &item.category,
                        &item.kind,
                        item.expect.as_deref(),
                        &item.prompt,
                        choices,
                        item.answer_key.as_deref(),
                    ],
                )
                .map_err(self.db_err(|| {
                    format!(
                        "cannot store item {}/{} ({}) of run {run_id:?}",
                        item.suite, item.item_id, item.lang
                    )
                }))?;
            }
            Ok(())
        })
    }

    /// A run's items, ordered by suite, item id and language.
    pub fn items(&self, run_id: &str) -> Result<Vec<ItemRow>, StoreError> {
        let raws: Vec<ItemColumns> = self.read_rows(
            "SELECT suite, item_id, category, kind, expect, lang, prompt, choices, \
             answer_key FROM items WHERE run_id = ?1",
            params![run_id],
            || format!("cannot read the items of run {run_id:?}"),
            "items",
        )?;
        let mut items = raws
            .into_iter()
            .map(|raw| {
                let (suite, item_id, category, kind, expect, lang, prompt, choices, answer_key) =
                    raw;
                let what = || format!("the choices of item {suite}/{item_id}");
                Ok(ItemRow {
                    choices: self.decode_opt(choices.as_deref(), what)?,
                    suite,
                    item_id,
                    category,
                    kind,
                    expect,
                    lang,
                    prompt,
                    answer_key,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        items.sort_by(|a, b| (&a.suite, &a.item_id, &a.lang).cmp(&(&b.suite, &b.item_id, &b.lang)));
        Ok(items)
    }

    /// A run's counts over the latest attempt of each request. Zero for an unknown run.
    pub fn run_counts(&self, run_id: &str) -> Result<RunCounts, StoreError> {
        let raws: Vec<CountColumns> = self.read_rows(
            &format!("SELECT {COUNT_COLUMNS} FROM answers a JOIN ({LATEST_IDS}) l ON a.id = l.id"),
            params![run_id],
            || format!("cannot count the answers of run {run_id:?}"),
            "answers",
        )?;
        match raws.into_iter().next() {
            Some(raw) => self.run_counts_from(raw, run_id),
            None => Ok(RunCounts::default()),
        }
    }

    pub(crate) fn unknown_run(&self, id: &str) -> StoreError {
        StoreError::UnknownRun {
            path: self.path.clone(),
            id: id.to_string(),
        }
    }

    /// Fails with [`StoreError::UnknownRun`] unless the run exists; clearer than the foreign
    /// key failure an insert would otherwise give.
    pub(crate) fn require_run(
        &self,
        session: &mut Session<'_>,
        run_id: &str,
    ) -> Result<(), StoreError> {
        let found: Vec<()> = self.select(
            session,
            "SELECT 1 FROM runs WHERE id = ?1",
            params![run_id],
            || format!("cannot look up run {run_id:?}"),
            "runs",
        )?;
        if found.is_empty() {
            Err(self.unknown_run(run_id))
        } else {
            Ok(())
        }
    }

    fn run_counts_from(
        &self,
        (answered, errors, cached): CountColumns,
        run_id: &str,
    ) -> Result<RunCounts, StoreError> {
        let what = |name: &'static str| move || format!("the {name} count of run {run_id:?}");
        Ok(RunCounts {
            answered: self.read_int(answered, what("answered"))?,
            errors: self.read_int(errors, what("error"))?,
            cached: self.read_int(cached, what("cached"))?,
        })
    }

    fn run_row(&self, raw: RunColumns) -> Result<RunRow, StoreError> {
        let (id, created_at, finished_at, status, config) = raw;
        let config = self.decode(&config, || format!("the config of run {id:?}"))?;
        let status = RunStatus::from_name(&status).ok_or_else(|| {
            self.corrupt(
                format!("the status of run {id:?}"),
                format!("{status:?} is not one of running, finished, interrupted"),
            )
        })?;
        Ok(RunRow {
            id,
            created_at,
            finished_at,
            status,
            config,
        })
    }
}

/// Sorts by `(created_at, id)` descending. RFC 3339 timestamps in one offset sort
/// chronologically as text.
fn sort_newest_first<T>(rows: &mut [T], key: impl Fn(&T) -> (&String, &String)) {
    rows.sort_by(|a, b| key(b).cmp(&key(a)));
}
