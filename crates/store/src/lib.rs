//! Persistence for assay: audit runs, the items they ask, every attempt at every request
//! with its grades, and a content-addressed answer cache.
//!
//! # Storage
//!
//! Today the store is one SQLite file, opened with [`Store::open`] (a path) or
//! [`Store::open_url`] (a path, `sqlite:PATH` or `sqlite://PATH`). The file is put in WAL mode
//! with `synchronous=NORMAL`, a 5 s busy timeout and foreign keys on. Every write is its own
//! committed transaction — in particular every [`Store::record_answer`] — so a writer killed
//! with `kill -9` loses at most the answer it was writing: everything it had reported as
//! recorded is on disk. (`synchronous=NORMAL` in WAL mode survives a crash of the process,
//! not necessarily a power cut of the machine; that trade is the usual one for WAL.)
//!
//! # Schema and migrations
//!
//! The schema is an ordered list of migrations (`migrations/sqlite/NNNN_*.sql`, compiled in).
//! Applied versions are recorded in `schema_migrations(version, applied_at)`; opening applies
//! the missing ones, so opening twice is harmless. A file whose schema is newer than this build
//! knows ([`SCHEMA_VERSION`]) is refused with an error naming it, rather than written to.
//!
//! # PostgreSQL later
//!
//! The store is written so that a PostgreSQL backend can be added without touching callers:
//!
//! * `Store` hides a private backend enum (only SQLite now); the public API is synchronous and
//!   backend-neutral.
//! * Column types are TEXT, BIGINT and INTEGER only; JSON is stored as TEXT and timestamps as
//!   RFC 3339 TEXT (produced by callers, or by this crate in UTC).
//! * Queries use no SQLite-only functions: upserts are `INSERT … ON CONFLICT … DO UPDATE`, new
//!   ids come back through `RETURNING`, and "the latest attempt" is `MAX(id)` per request key.
//!   Results are ordered in Rust rather than with `ORDER BY` on text, so the order does not
//!   depend on a database's collation. Only the placeholders (`?1` here, `$1` there) and the
//!   type of `answers.id` will differ.
//!
//! [`Store::open_url`] already recognises `postgres://` and `postgresql://` and answers
//! [`StoreError::Unsupported`].
//!
//! `Store` is `Send + Sync`: the connection sits behind a mutex, and every call is short, so
//! async callers may call it directly.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use serde::{Deserialize, Serialize};

/// The SQLite migrations, in order; migration `i` (0-based) brings the schema to version `i + 1`.
/// Append only: an applied migration must never change.
const SQLITE_MIGRATIONS: &[&str] = &[include_str!("../migrations/sqlite/0001_init.sql")];

/// The newest schema version this build knows.
pub const SCHEMA_VERSION: i64 = SQLITE_MIGRATIONS.len() as i64;

/// How long a write waits for another process holding the database lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How many run ids an "unknown run" error lists, so a large store does not flood the terminal.
const MAX_LISTED_RUNS: usize = 10;

/// Everything that can go wrong in the store. Each error names the database file, and the run
/// or answer concerned where there is one.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The directory that should hold the database could not be created.
    #[error("cannot create directory {} for the database: {source}", .path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// SQLite refused an operation; `context` says which (and for which run).
    #[error("database {}: {context}: {source}", .path.display())]
    Sqlite {
        path: PathBuf,
        context: String,
        #[source]
        source: rusqlite::Error,
    },
    /// The database was written by a newer assay than this one.
    #[error(
        "database {} has schema version {found}, but this assay knows only up to version \
         {known}; use a newer assay to open it",
        .path.display()
    )]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    /// A database URL this build cannot open (e.g. PostgreSQL, not built yet).
    #[error("{0}")]
    Unsupported(String),
    /// A database URL or path that cannot be understood at all.
    #[error("{0}")]
    InvalidUrl(String),
    /// [`Store::create_run`] with an id that is already taken.
    #[error("database {}: run {id:?} already exists", .path.display())]
    RunExists { path: PathBuf, id: String },
    /// An operation on a run id that is not in the store.
    #[error("database {}: there is no run {id:?}", .path.display())]
    UnknownRun { path: PathBuf, id: String },
    /// [`Store::resolve_run`] found no run for the reference; `known` lists the newest runs.
    #[error("database {}: no run matches {reference:?}; {}", .path.display(), listing(.known))]
    RunNotFound {
        path: PathBuf,
        reference: String,
        known: Vec<String>,
    },
    /// [`Store::resolve_run`] found several runs starting with the reference.
    #[error(
        "database {}: run reference {reference:?} is ambiguous; it matches {}",
        .path.display(),
        .candidates.join(", ")
    )]
    AmbiguousRun {
        path: PathBuf,
        reference: String,
        candidates: Vec<String>,
    },
    /// [`Store::put_grade`] for an answer id that is not in the store.
    #[error("database {}: there is no answer with id {id}", .path.display())]
    UnknownAnswer { path: PathBuf, id: i64 },
    /// A value could not be encoded as JSON for storage.
    #[error("database {}: cannot encode {what} as JSON: {source}", .path.display())]
    Encode {
        path: PathBuf,
        what: String,
        #[source]
        source: serde_json::Error,
    },
    /// An unsigned value too large for the database's signed 64-bit integers.
    #[error(
        "database {}: {what} = {value} is too large to store (the limit is {})",
        .path.display(),
        i64::MAX
    )]
    OutOfRange {
        path: PathBuf,
        what: String,
        value: u64,
    },
    /// A value read back from the database is not what this crate writes (bad JSON, a negative
    /// count, …): the file was changed by something else or is damaged.
    #[error("database {}: {what} holds an invalid value: {detail}", .path.display())]
    Corrupt {
        path: PathBuf,
        what: String,
        detail: String,
    },
}

/// "the known runs are a, b" / "the store has no runs", for [`StoreError::RunNotFound`].
fn listing(known: &[String]) -> String {
    if known.is_empty() {
        "the store has no runs".to_string()
    } else {
        format!("the newest runs are {}", known.join(", "))
    }
}

/// A run to create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewRun {
    pub id: String,
    /// RFC 3339.
    pub created_at: String,
    /// e.g. `running`.
    pub status: String,
    /// The run's configuration, stored as JSON text.
    pub config: serde_json::Value,
}

/// A run as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    pub id: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339; `None` while the run has not finished.
    pub finished_at: Option<String>,
    pub status: String,
    pub config: serde_json::Value,
}

/// A run with its counts, for listings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub run: RunRow,
    pub counts: RunCounts,
}

/// Counts over the latest attempt of each request of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    /// Requests whose latest attempt succeeded.
    pub answered: u64,
    /// Requests whose latest attempt failed.
    pub errors: u64,
    /// Of `answered`, those served from the answer cache.
    pub cached: u64,
}

/// One item (a prompt in one language) of a suite, as asked in a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemRow {
    pub suite: String,
    pub item_id: String,
    pub category: String,
    pub kind: String,
    pub expect: Option<String>,
    pub lang: String,
    pub prompt: String,
    /// The choices of a multiple-choice item, stored as JSON text.
    pub choices: Option<serde_json::Value>,
    pub answer_key: Option<String>,
}

/// What identifies one request of a run: a model asked one item in one language, `sample`-th time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RequestKey {
    pub model: String,
    pub suite: String,
    pub item_id: String,
    pub lang: String,
    pub sample: u32,
}

/// One attempt at a request: its answer or its error, and its grades.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerRecord {
    pub run_id: String,
    pub key: RequestKey,
    pub seed: u64,
    /// The hash of everything that determines the answer; the answer cache's key.
    pub cache_key: String,
    /// The request as sent, stored as JSON text.
    pub request: serde_json::Value,
    pub text: Option<String>,
    /// `Some` when the attempt failed.
    pub error: Option<String>,
    pub finish_reason: Option<String>,
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    pub latency_ms: Option<u64>,
    /// Whether the answer came from the answer cache instead of the model.
    pub cached: bool,
    /// RFC 3339.
    pub started_at: String,
    /// Read back ordered by grader name.
    pub grades: Vec<GradeRecord>,
}

/// One grader's verdict on an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradeRecord {
    pub grader: String,
    pub version: String,
    pub label: String,
    /// The rule that decided the label.
    pub rule: String,
    /// Grader-specific detail, stored as JSON text.
    pub detail: Option<serde_json::Value>,
}

/// An attempt as stored, with its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAnswer {
    pub id: i64,
    pub answer: AnswerRecord,
}

/// Inserts or replaces one cache entry: ?1 key, ?2 text, ?3 finish reason, ?4 prompt tokens,
/// ?5 completion tokens, ?6 latency, ?7 created at.
const UPSERT_CACHE: &str = "INSERT INTO cache (cache_key, text, finish_reason, prompt_tokens, \
     completion_tokens, latency_ms, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
     ON CONFLICT (cache_key) DO UPDATE SET text = excluded.text, \
     finish_reason = excluded.finish_reason, prompt_tokens = excluded.prompt_tokens, \
     completion_tokens = excluded.completion_tokens, latency_ms = excluded.latency_ms, \
     created_at = excluded.created_at";

/// A successful answer kept in the cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedAnswer {
    pub text: String,
    pub finish_reason: Option<String>,
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    pub latency_ms: Option<u64>,
}

/// The database behind a [`Store`]. Private so that adding PostgreSQL changes no caller.
enum Backend {
    Sqlite(Mutex<Connection>),
}

/// The store: one open database.
pub struct Store {
    path: PathBuf,
    backend: Backend,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// The columns of `answers`, in the order [`raw_answer`] reads them.
const ANSWER_COLUMNS: &str = "a.id, a.run_id, a.model, a.suite, a.item_id, a.lang, a.sample, \
     a.seed, a.cache_key, a.request, a.text, a.error, a.finish_reason, a.prompt_tokens, \
     a.completion_tokens, a.latency_ms, a.cached, a.started_at";

/// The ids of the latest attempt of each request key of run `?1`: attempts only ever get
/// higher ids, so the latest is the maximum.
const LATEST_IDS: &str = "SELECT MAX(id) AS id FROM answers WHERE run_id = ?1 \
     GROUP BY model, suite, item_id, lang, sample";

impl Store {
    /// Opens (creating it, and its parent directories, if need be) the SQLite database at
    /// `path`, and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let sql_err = |context: &str| {
            let context = context.to_string();
            move |source| StoreError::Sqlite {
                path: path.to_path_buf(),
                context,
                source,
            }
        };
        let mut conn = Connection::open(path).map_err(sql_err("cannot open"))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(sql_err("cannot set the busy timeout"))?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(sql_err("cannot switch to WAL mode"))?;
        // SQLite answers with the mode it is in; it keeps the old one when WAL is impossible
        // (e.g. on some network filesystems), and we rely on WAL for readers during a run.
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Unsupported(format!(
                "database {}: cannot use WAL mode (SQLite stays in {mode:?} mode); \
                 put the database on a local filesystem",
                path.display()
            )));
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql_err("cannot set synchronous=NORMAL"))?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(sql_err("cannot turn foreign keys on"))?;
        migrate_sqlite(&mut conn, path)?;
        Ok(Store {
            path: path.to_path_buf(),
            backend: Backend::Sqlite(Mutex::new(conn)),
        })
    }

    /// Opens a database by URL: a plain path, `sqlite:PATH` or `sqlite://PATH`
    /// (`sqlite:///abs/path` is absolute). `postgres://…` and `postgresql://…` are recognised
    /// but answer [`StoreError::Unsupported`] until that backend is built.
    pub fn open_url(url: &str) -> Result<Store, StoreError> {
        let url = url.trim();
        if let Some((scheme, _)) = url.split_once("://") {
            let scheme = scheme.to_ascii_lowercase();
            if scheme == "postgres" || scheme == "postgresql" {
                // Only the scheme is echoed: the rest of the URL may hold a password.
                return Err(StoreError::Unsupported(format!(
                    "PostgreSQL support is not built yet: cannot open a {scheme}:// URL; \
                     use a SQLite file (a path, sqlite:PATH or sqlite://PATH) for now"
                )));
            }
            if scheme != "sqlite" && scheme.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(StoreError::Unsupported(format!(
                    "unsupported database URL scheme {scheme}://; use a SQLite file \
                     (a path, sqlite:PATH or sqlite://PATH)"
                )));
            }
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() {
            return Err(StoreError::InvalidUrl(format!(
                "database URL {url:?} names no file"
            )));
        }
        Store::open(Path::new(path))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the open database (after migration, [`SCHEMA_VERSION`]).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        let conn = self.lock();
        current_version(&conn).map_err(self.sql_err(|| "cannot read the schema version".into()))
    }

    /// Creates a run; fails with [`StoreError::RunExists`] if its id is taken.
    pub fn create_run(&self, run: &NewRun) -> Result<(), StoreError> {
        let config = self.encode(&run.config, || format!("the config of run {:?}", run.id))?;
        let conn = self.lock();
        // DO NOTHING plus a row count tells "exists" apart from real failures without parsing
        // error messages, and works the same in PostgreSQL.
        let inserted = conn
            .execute(
                "INSERT INTO runs (id, created_at, finished_at, status, config) \
                 VALUES (?1, ?2, NULL, ?3, ?4) ON CONFLICT (id) DO NOTHING",
                params![run.id, run.created_at, run.status, config],
            )
            .map_err(self.sql_err(|| format!("cannot create run {:?}", run.id)))?;
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
        status: &str,
        finished_at: Option<&str>,
    ) -> Result<(), StoreError> {
        let conn = self.lock();
        let updated = conn
            .execute(
                "UPDATE runs SET status = ?2, finished_at = ?3 WHERE id = ?1",
                params![id, status, finished_at],
            )
            .map_err(self.sql_err(|| format!("cannot set the status of run {id:?}")))?;
        if updated == 0 {
            return Err(self.unknown_run(id));
        }
        Ok(())
    }

    /// The run with this exact id, if any.
    pub fn run(&self, id: &str) -> Result<Option<RunRow>, StoreError> {
        let conn = self.lock();
        let raw = conn
            .query_row(
                "SELECT id, created_at, finished_at, status, config FROM runs WHERE id = ?1",
                params![id],
                raw_run,
            )
            .optional()
            .map_err(self.sql_err(|| format!("cannot read run {id:?}")))?;
        raw.map(|raw| self.run_row(raw)).transpose()
    }

    /// Every run with its counts, newest first (by `created_at`, then id).
    pub fn runs(&self) -> Result<Vec<RunSummary>, StoreError> {
        let mut conn = self.lock();
        // One read transaction, so the runs and their counts are one consistent snapshot even
        // while another process writes.
        let tx = conn
            .transaction()
            .map_err(self.sql_err(|| "cannot list runs".into()))?;
        let raws = {
            let mut stmt = tx
                .prepare("SELECT id, created_at, finished_at, status, config FROM runs")
                .map_err(self.sql_err(|| "cannot list runs".into()))?;
            let rows = stmt
                .query_map([], raw_run)
                .map_err(self.sql_err(|| "cannot list runs".into()))?;
            rows.collect::<Result<Vec<_>, _>>()
                .map_err(self.sql_err(|| "cannot list runs".into()))?
        };
        let mut summaries = Vec::with_capacity(raws.len());
        for raw in raws {
            let counts = self.counts(&tx, &raw.id)?;
            summaries.push(RunSummary {
                run: self.run_row(raw)?,
                counts,
            });
        }
        sort_newest_first(&mut summaries, |s| (&s.run.created_at, &s.run.id));
        Ok(summaries)
    }

    /// Resolves a run reference to a run id: `latest` (the newest run), a full id, or a prefix
    /// that only one id starts with. When nothing matches the error lists the newest runs;
    /// when several do it lists them all.
    pub fn resolve_run(&self, reference: &str) -> Result<String, StoreError> {
        let mut runs: Vec<(String, String)> = {
            let conn = self.lock();
            let mut stmt = conn
                .prepare("SELECT id, created_at FROM runs")
                .map_err(self.sql_err(|| "cannot list runs".into()))?;
            let rows = stmt
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
                .map_err(self.sql_err(|| "cannot list runs".into()))?;
            rows.collect::<Result<_, _>>()
                .map_err(self.sql_err(|| "cannot list runs".into()))?
        };
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
        let mut conn = self.lock();
        let context = || format!("cannot store the items of run {run_id:?}");
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.sql_err(context))?;
        self.require_run(&tx, run_id)?;
        {
            let mut stmt = tx
                .prepare(
                    "INSERT INTO items (run_id, suite, item_id, lang, category, kind, expect, \
                     prompt, choices, answer_key) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
                     ON CONFLICT (run_id, suite, item_id, lang) DO UPDATE SET \
                     category = excluded.category, kind = excluded.kind, \
                     expect = excluded.expect, prompt = excluded.prompt, \
                     choices = excluded.choices, answer_key = excluded.answer_key",
                )
                .map_err(self.sql_err(context))?;
            for (item, choices) in items.iter().zip(&choices) {
                stmt.execute(params![
                    run_id,
                    item.suite,
                    item.item_id,
                    item.lang,
                    item.category,
                    item.kind,
                    item.expect,
                    item.prompt,
                    choices,
                    item.answer_key,
                ])
                .map_err(self.sql_err(|| {
                    format!(
                        "cannot store item {}/{} ({}) of run {run_id:?}",
                        item.suite, item.item_id, item.lang
                    )
                }))?;
            }
        }
        tx.commit().map_err(self.sql_err(context))
    }

    /// A run's items, ordered by suite, item id and language.
    pub fn items(&self, run_id: &str) -> Result<Vec<ItemRow>, StoreError> {
        let context = || format!("cannot read the items of run {run_id:?}");
        let raws: Vec<RawItem> = {
            let conn = self.lock();
            let mut stmt = conn
                .prepare(
                    "SELECT suite, item_id, category, kind, expect, lang, prompt, choices, \
                     answer_key FROM items WHERE run_id = ?1",
                )
                .map_err(self.sql_err(context))?;
            let rows = stmt
                .query_map(params![run_id], |row| {
                    Ok(RawItem {
                        suite: row.get(0)?,
                        item_id: row.get(1)?,
                        category: row.get(2)?,
                        kind: row.get(3)?,
                        expect: row.get(4)?,
                        lang: row.get(5)?,
                        prompt: row.get(6)?,
                        choices: row.get(7)?,
                        answer_key: row.get(8)?,
                    })
                })
                .map_err(self.sql_err(context))?;
            rows.collect::<Result<_, _>>()
                .map_err(self.sql_err(context))?
        };
        let mut items = raws
            .into_iter()
            .map(|raw| {
                let what = || format!("the choices of item {}/{}", raw.suite, raw.item_id);
                Ok(ItemRow {
                    choices: self.decode_opt(raw.choices.as_deref(), what)?,
                    suite: raw.suite,
                    item_id: raw.item_id,
                    category: raw.category,
                    kind: raw.kind,
                    expect: raw.expect,
                    lang: raw.lang,
                    prompt: raw.prompt,
                    answer_key: raw.answer_key,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        items.sort_by(|a, b| (&a.suite, &a.item_id, &a.lang).cmp(&(&b.suite, &b.item_id, &b.lang)));
        Ok(items)
    }

    /// Inserts one attempt and its grades in one committed transaction, so an attempt is either
    /// wholly stored or not at all, even if the process is killed. When the attempt succeeded
    /// (no error, and a text) its answer is also put in the cache under `cache_key`, replacing
    /// any entry there; the entry's `created_at` is the attempt's `started_at`. Grades with
    /// the same grader name replace one another (the last wins). Returns the attempt's id.
    pub fn record_answer(&self, answer: &AnswerRecord) -> Result<i64, StoreError> {
        let run_id = answer.run_id.as_str();
        let key = &answer.key;
        // Everything that can fail without the database is done before taking the lock.
        let what =
            |name: &'static str| move || format!("the {name} of an answer of run {run_id:?}");
        let seed = self.db_int(answer.seed, what("seed"))?;
        let prompt_tokens = self.db_int_opt(answer.prompt_tokens, what("prompt_tokens"))?;
        let completion_tokens =
            self.db_int_opt(answer.completion_tokens, what("completion_tokens"))?;
        let latency_ms = self.db_int_opt(answer.latency_ms, what("latency_ms"))?;
        let request = self.encode(&answer.request, what("request"))?;
        let details: Vec<Option<String>> = answer
            .grades
            .iter()
            .map(|g| {
                self.encode_opt(g.detail.as_ref(), || {
                    format!("the detail of grade {:?} of run {run_id:?}", g.grader)
                })
            })
            .collect::<Result<_, _>>()?;

        let context = || {
            format!(
                "cannot record the answer of run {run_id:?} for model {:?}, item {}/{} ({}), \
                 sample {}",
                key.model, key.suite, key.item_id, key.lang, key.sample
            )
        };
        let mut conn = self.lock();
        // IMMEDIATE takes the write lock up front, so a concurrent writer in another process
        // waits (busy timeout) instead of failing on a read-to-write upgrade.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.sql_err(context))?;
        self.require_run(&tx, run_id)?;
        let id: i64 = tx
            .query_row(
                "INSERT INTO answers (run_id, model, suite, item_id, lang, sample, seed, \
                 cache_key, request, text, error, finish_reason, prompt_tokens, \
                 completion_tokens, latency_ms, cached, started_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, \
                 ?17) RETURNING id",
                params![
                    run_id,
                    key.model,
                    key.suite,
                    key.item_id,
                    key.lang,
                    i64::from(key.sample),
                    seed,
                    answer.cache_key,
                    request,
                    answer.text,
                    answer.error,
                    answer.finish_reason,
                    prompt_tokens,
                    completion_tokens,
                    latency_ms,
                    i64::from(answer.cached),
                    answer.started_at,
                ],
                |row| row.get(0),
            )
            .map_err(self.sql_err(context))?;
        for (grade, detail) in answer.grades.iter().zip(&details) {
            upsert_grade(&tx, id, grade, detail.as_deref()).map_err(self.sql_err(context))?;
        }
        if let (None, Some(text)) = (&answer.error, &answer.text) {
            tx.execute(
                UPSERT_CACHE,
                params![
                    answer.cache_key,
                    text,
                    answer.finish_reason,
                    prompt_tokens,
                    completion_tokens,
                    latency_ms,
                    answer.started_at,
                ],
            )
            .map_err(self.sql_err(context))?;
        }
        tx.commit().map_err(self.sql_err(context))?;
        Ok(id)
    }

    /// Puts an answer in the cache that is not an audit answer of its own (a judge's verdict,
    /// say), replacing any entry under the same key.
    pub fn cache_put(
        &self,
        cache_key: &str,
        answer: &CachedAnswer,
        created_at: &str,
    ) -> Result<(), StoreError> {
        let what = |name: &'static str| move || format!("the {name} of cache entry {cache_key:?}");
        let prompt_tokens = self.db_int_opt(answer.prompt_tokens, what("prompt_tokens"))?;
        let completion_tokens =
            self.db_int_opt(answer.completion_tokens, what("completion_tokens"))?;
        let latency_ms = self.db_int_opt(answer.latency_ms, what("latency_ms"))?;
        let context = || format!("cannot write cache entry {cache_key:?}");
        let conn = self.lock();
        conn.execute(
            UPSERT_CACHE,
            params![
                cache_key,
                answer.text,
                answer.finish_reason,
                prompt_tokens,
                completion_tokens,
                latency_ms,
                created_at,
            ],
        )
        .map_err(self.sql_err(context))?;
        Ok(())
    }

    /// Adds a grade to an existing answer, or replaces the one by the same grader (e.g. an LLM
    /// judge's verdict added later, or a regrade).
    pub fn put_grade(&self, answer_id: i64, grade: &GradeRecord) -> Result<(), StoreError> {
        let detail = self.encode_opt(grade.detail.as_ref(), || {
            format!(
                "the detail of grade {:?} of answer {answer_id}",
                grade.grader
            )
        })?;
        let context = || {
            format!(
                "cannot store grade {:?} of answer {answer_id}",
                grade.grader
            )
        };
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.sql_err(context))?;
        let exists = tx
            .query_row(
                "SELECT 1 FROM answers WHERE id = ?1",
                params![answer_id],
                |_| Ok(()),
            )
            .optional()
            .map_err(self.sql_err(context))?
            .is_some();
        if !exists {
            return Err(StoreError::UnknownAnswer {
                path: self.path.clone(),
                id: answer_id,
            });
        }
        upsert_grade(&tx, answer_id, grade, detail.as_deref()).map_err(self.sql_err(context))?;
        tx.commit().map_err(self.sql_err(context))
    }

    /// The latest attempt (highest id) of every request key of a run, with its grades
    /// (ordered by grader), ordered by model, suite, item id, language and sample.
    pub fn latest_answers(&self, run_id: &str) -> Result<Vec<StoredAnswer>, StoreError> {
        let context = || format!("cannot read the answers of run {run_id:?}");
        let (raws, raw_grades) = {
            let mut conn = self.lock();
            // One read transaction so answers and grades are one snapshot.
            let tx = conn.transaction().map_err(self.sql_err(context))?;
            let raws: Vec<RawAnswer> = {
                let mut stmt = tx
                    .prepare(&format!(
                        "SELECT {ANSWER_COLUMNS} FROM answers a JOIN ({LATEST_IDS}) l \
                         ON a.id = l.id"
                    ))
                    .map_err(self.sql_err(context))?;
                let rows = stmt
                    .query_map(params![run_id], raw_answer)
                    .map_err(self.sql_err(context))?;
                rows.collect::<Result<_, _>>()
                    .map_err(self.sql_err(context))?
            };
            let raw_grades: Vec<(i64, RawGrade)> = {
                let mut stmt = tx
                    .prepare(&format!(
                        "SELECT g.answer_id, g.grader, g.version, g.label, g.rule, g.detail \
                         FROM grades g JOIN ({LATEST_IDS}) l ON g.answer_id = l.id"
                    ))
                    .map_err(self.sql_err(context))?;
                let rows = stmt
                    .query_map(params![run_id], |row| {
                        Ok((
                            row.get(0)?,
                            RawGrade {
                                grader: row.get(1)?,
                                version: row.get(2)?,
                                label: row.get(3)?,
                                rule: row.get(4)?,
                                detail: row.get(5)?,
                            },
                        ))
                    })
                    .map_err(self.sql_err(context))?;
                rows.collect::<Result<_, _>>()
                    .map_err(self.sql_err(context))?
            };
            (raws, raw_grades)
        };

        let mut grades: HashMap<i64, Vec<GradeRecord>> = HashMap::new();
        for (answer_id, raw) in raw_grades {
            let what = || format!("the detail of grade {:?} of answer {answer_id}", raw.grader);
            let grade = GradeRecord {
                detail: self.decode_opt(raw.detail.as_deref(), what)?,
                grader: raw.grader,
                version: raw.version,
                label: raw.label,
                rule: raw.rule,
            };
            grades.entry(answer_id).or_default().push(grade);
        }
        let mut answers = raws
            .into_iter()
            .map(|raw| {
                let mut answer_grades = grades.remove(&raw.id).unwrap_or_default();
                answer_grades.sort_by(|a, b| a.grader.cmp(&b.grader));
                self.stored_answer(raw, answer_grades)
            })
            .collect::<Result<Vec<_>, _>>()?;
        answers.sort_by(|a, b| request_order(&a.answer.key).cmp(&request_order(&b.answer.key)));
        Ok(answers)
    }

    /// The request keys of a run that have at least one successful attempt (`error IS NULL`),
    /// whatever their latest attempt — what a resumed run need not ask again.
    pub fn answered_keys(&self, run_id: &str) -> Result<HashSet<RequestKey>, StoreError> {
        let context = || format!("cannot read the answered requests of run {run_id:?}");
        let raws: Vec<(String, String, String, String, i64)> = {
            let conn = self.lock();
            let mut stmt = conn
                .prepare(
                    "SELECT DISTINCT model, suite, item_id, lang, sample FROM answers \
                     WHERE run_id = ?1 AND error IS NULL",
                )
                .map_err(self.sql_err(context))?;
            let rows = stmt
                .query_map(params![run_id], |row| {
                    Ok((
                        row.get(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        row.get(4)?,
                    ))
                })
                .map_err(self.sql_err(context))?;
            rows.collect::<Result<_, _>>()
                .map_err(self.sql_err(context))?
        };
        raws.into_iter()
            .map(|(model, suite, item_id, lang, sample)| {
                Ok(RequestKey {
                    sample: self.read_int(sample, || format!("a sample of run {run_id:?}"))?,
                    model,
                    suite,
                    item_id,
                    lang,
                })
            })
            .collect()
    }

    /// The cached answer for a cache key, if a successful attempt stored one.
    pub fn cache_get(&self, cache_key: &str) -> Result<Option<CachedAnswer>, StoreError> {
        let context = || format!("cannot read cache entry {cache_key:?}");
        type RawCached = (
            String,
            Option<String>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
        );
        let raw: Option<RawCached> = {
            let conn = self.lock();
            conn.query_row(
                "SELECT text, finish_reason, prompt_tokens, completion_tokens, latency_ms \
                 FROM cache WHERE cache_key = ?1",
                params![cache_key],
                |row| {
                    Ok((
                        row.get(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        row.get(4)?,
                    ))
                },
            )
            .optional()
            .map_err(self.sql_err(context))?
        };
        let Some((text, finish_reason, prompt, completion, latency)) = raw else {
            return Ok(None);
        };
        let what = |column: &'static str| move || format!("{column} of cache entry {cache_key:?}");
        Ok(Some(CachedAnswer {
            text,
            finish_reason,
            prompt_tokens: self.read_int_opt(prompt, what("prompt_tokens"))?,
            completion_tokens: self.read_int_opt(completion, what("completion_tokens"))?,
            latency_ms: self.read_int_opt(latency, what("latency_ms"))?,
        }))
    }

    /// A run's counts over the latest attempt of each request. Zero for an unknown run.
    pub fn run_counts(&self, run_id: &str) -> Result<RunCounts, StoreError> {
        let conn = self.lock();
        self.counts(&conn, run_id)
    }

    // ---- helpers ----

    /// The connection. A thread that panicked while holding the lock leaves it usable: an
    /// open transaction is rolled back when it is dropped. So poisoning is ignored rather than
    /// turning one panic into failures of every later call.
    fn lock(&self) -> MutexGuard<'_, Connection> {
        match &self.backend {
            Backend::Sqlite(conn) => conn.lock().unwrap_or_else(PoisonError::into_inner),
        }
    }

    /// Wraps a SQLite error with this database's path and a description made on failure only.
    fn sql_err<'a, F: FnOnce() -> String + 'a>(
        &'a self,
        context: F,
    ) -> impl FnOnce(rusqlite::Error) -> StoreError + 'a {
        move |source| StoreError::Sqlite {
            path: self.path.clone(),
            context: context(),
            source,
        }
    }

    fn unknown_run(&self, id: &str) -> StoreError {
        StoreError::UnknownRun {
            path: self.path.clone(),
            id: id.to_string(),
        }
    }

    /// Fails with [`StoreError::UnknownRun`] unless the run exists; clearer than the foreign
    /// key failure an insert would otherwise give.
    fn require_run(&self, conn: &Connection, run_id: &str) -> Result<(), StoreError> {
        let exists = conn
            .query_row("SELECT 1 FROM runs WHERE id = ?1", params![run_id], |_| {
                Ok(())
            })
            .optional()
            .map_err(self.sql_err(|| format!("cannot look up run {run_id:?}")))?
            .is_some();
        if exists {
            Ok(())
        } else {
            Err(self.unknown_run(run_id))
        }
    }

    fn counts(&self, conn: &Connection, run_id: &str) -> Result<RunCounts, StoreError> {
        let (answered, errors, cached): (i64, i64, i64) = conn
            .query_row(
                &format!(
                    "SELECT \
                     COALESCE(SUM(CASE WHEN a.error IS NULL THEN 1 ELSE 0 END), 0), \
                     COALESCE(SUM(CASE WHEN a.error IS NOT NULL THEN 1 ELSE 0 END), 0), \
                     COALESCE(SUM(CASE WHEN a.error IS NULL AND a.cached <> 0 THEN 1 ELSE 0 END), 0) \
                     FROM answers a JOIN ({LATEST_IDS}) l ON a.id = l.id"
                ),
                params![run_id],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .map_err(self.sql_err(|| format!("cannot count the answers of run {run_id:?}")))?;
        let what = |name: &'static str| move || format!("the {name} count of run {run_id:?}");
        Ok(RunCounts {
            answered: self.read_int(answered, what("answered"))?,
            errors: self.read_int(errors, what("error"))?,
            cached: self.read_int(cached, what("cached"))?,
        })
    }

    fn run_row(&self, raw: RawRun) -> Result<RunRow, StoreError> {
        let config = self.decode(&raw.config, || format!("the config of run {:?}", raw.id))?;
        Ok(RunRow {
            id: raw.id,
            created_at: raw.created_at,
            finished_at: raw.finished_at,
            status: raw.status,
            config,
        })
    }

    fn stored_answer(
        &self,
        raw: RawAnswer,
        grades: Vec<GradeRecord>,
    ) -> Result<StoredAnswer, StoreError> {
        let id = raw.id;
        let what = |column: &'static str| move || format!("{column} of answer {id}");
        Ok(StoredAnswer {
            id,
            answer: AnswerRecord {
                key: RequestKey {
                    sample: self.read_int(raw.sample, what("sample"))?,
                    model: raw.model,
                    suite: raw.suite,
                    item_id: raw.item_id,
                    lang: raw.lang,
                },
                seed: self.read_int(raw.seed, what("seed"))?,
                request: self.decode(&raw.request, what("request"))?,
                prompt_tokens: self.read_int_opt(raw.prompt_tokens, what("prompt_tokens"))?,
                completion_tokens: self
                    .read_int_opt(raw.completion_tokens, what("completion_tokens"))?,
                latency_ms: self.read_int_opt(raw.latency_ms, what("latency_ms"))?,
                cached: raw.cached != 0,
                run_id: raw.run_id,
                cache_key: raw.cache_key,
                text: raw.text,
                error: raw.error,
                finish_reason: raw.finish_reason,
                started_at: raw.started_at,
                grades,
            },
        })
    }

    fn encode(
        &self,
        value: &serde_json::Value,
        what: impl FnOnce() -> String,
    ) -> Result<String, StoreError> {
        serde_json::to_string(value).map_err(|source| StoreError::Encode {
            path: self.path.clone(),
            what: what(),
            source,
        })
    }

    fn encode_opt(
        &self,
        value: Option<&serde_json::Value>,
        what: impl FnOnce() -> String,
    ) -> Result<Option<String>, StoreError> {
        value.map(|v| self.encode(v, what)).transpose()
    }

    /// An unsigned value into a database BIGINT, refusing values that would wrap negative.
    fn db_int(&self, value: u64, what: impl FnOnce() -> String) -> Result<i64, StoreError> {
        i64::try_from(value).map_err(|_| StoreError::OutOfRange {
            path: self.path.clone(),
            what: what(),
            value,
        })
    }

    fn db_int_opt(
        &self,
        value: Option<u64>,
        what: impl FnOnce() -> String,
    ) -> Result<Option<i64>, StoreError> {
        value.map(|v| self.db_int(v, what)).transpose()
    }

    fn corrupt(&self, what: String, detail: String) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            what,
            detail,
        }
    }

    /// A database integer back into the unsigned type it was written from.
    fn read_int<T: TryFrom<i64>>(
        &self,
        value: i64,
        what: impl FnOnce() -> String,
    ) -> Result<T, StoreError> {
        T::try_from(value).map_err(|_| self.corrupt(what(), format!("{value} is out of range")))
    }

    fn read_int_opt<T: TryFrom<i64>>(
        &self,
        value: Option<i64>,
        what: impl FnOnce() -> String,
    ) -> Result<Option<T>, StoreError> {
        value.map(|v| self.read_int(v, what)).transpose()
    }

    fn decode(
        &self,
        text: &str,
        what: impl FnOnce() -> String,
    ) -> Result<serde_json::Value, StoreError> {
        serde_json::from_str(text)
            .map_err(|e| self.corrupt(what(), format!("not valid JSON ({e})")))
    }

    fn decode_opt(
        &self,
        text: Option<&str>,
        what: impl FnOnce() -> String,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        text.map(|t| self.decode(t, what)).transpose()
    }
}

/// Applies the migrations `conn` lacks, each in its own transaction with its version row.
fn migrate_sqlite(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let sql_err = |context: String| {
        move |source| StoreError::Sqlite {
            path: path.to_path_buf(),
            context,
            source,
        }
    };
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations \
         (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
        [],
    )
    .map_err(sql_err("cannot create schema_migrations".into()))?;
    // The common case, an up-to-date file, needs no write lock.
    let current =
        current_version(conn).map_err(sql_err("cannot read the schema version".into()))?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            path: path.to_path_buf(),
            found: current,
            known: SCHEMA_VERSION,
        });
    }
    if current == SCHEMA_VERSION {
        return Ok(());
    }
    for (index, sql) in SQLITE_MIGRATIONS.iter().enumerate() {
        let version = i64::try_from(index + 1).unwrap_or(i64::MAX);
        // IMMEDIATE, and the version read inside the transaction, so two processes opening a
        // new file at once do not both apply the same migration.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql_err(format!("cannot start migration {version}")))?;
        let current =
            current_version(&tx).map_err(sql_err("cannot read the schema version".into()))?;
        if current > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                path: path.to_path_buf(),
                found: current,
                known: SCHEMA_VERSION,
            });
        }
        if current >= version {
            continue;
        }
        tx.execute_batch(sql)
            .map_err(sql_err(format!("migration {version} failed")))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            params![version, now_rfc3339()],
        )
        .map_err(sql_err(format!("cannot record migration {version}")))?;
        tx.commit()
            .map_err(sql_err(format!("cannot commit migration {version}")))?;
    }
    Ok(())
}

/// The highest applied migration, 0 for a new database.
fn current_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |row| row.get(0),
    )
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn upsert_grade(
    conn: &Connection,
    answer_id: i64,
    grade: &GradeRecord,
    detail: Option<&str>,
) -> rusqlite::Result<usize> {
    conn.execute(
        "INSERT INTO grades (answer_id, grader, version, label, rule, detail) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (answer_id, grader) DO UPDATE SET version = excluded.version, \
         label = excluded.label, rule = excluded.rule, detail = excluded.detail",
        params![
            answer_id,
            grade.grader,
            grade.version,
            grade.label,
            grade.rule,
            detail
        ],
    )
}

/// Sorts by `(created_at, id)` descending. RFC 3339 timestamps in one offset sort
/// chronologically as text.
fn sort_newest_first<T>(rows: &mut [T], key: impl Fn(&T) -> (&String, &String)) {
    rows.sort_by(|a, b| key(b).cmp(&key(a)));
}

fn request_order(key: &RequestKey) -> (&str, &str, &str, &str, u32) {
    (&key.model, &key.suite, &key.item_id, &key.lang, key.sample)
}

/// Rows as read, before JSON and integer conversions (which can fail with a [`StoreError`],
/// not a `rusqlite::Error`, and so happen outside the row callbacks).
struct RawRun {
    id: String,
    created_at: String,
    finished_at: Option<String>,
    status: String,
    config: String,
}

fn raw_run(row: &Row<'_>) -> rusqlite::Result<RawRun> {
    Ok(RawRun {
        id: row.get(0)?,
        created_at: row.get(1)?,
        finished_at: row.get(2)?,
        status: row.get(3)?,
        config: row.get(4)?,
    })
}

struct RawItem {
    suite: String,
    item_id: String,
    category: String,
    kind: String,
    expect: Option<String>,
    lang: String,
    prompt: String,
    choices: Option<String>,
    answer_key: Option<String>,
}

struct RawGrade {
    grader: String,
    version: String,
    label: String,
    rule: String,
    detail: Option<String>,
}

struct RawAnswer {
    id: i64,
    run_id: String,
    model: String,
    suite: String,
    item_id: String,
    lang: String,
    sample: i64,
    seed: i64,
    cache_key: String,
    request: String,
    text: Option<String>,
    error: Option<String>,
    finish_reason: Option<String>,
    prompt_tokens: Option<i64>,
    completion_tokens: Option<i64>,
    latency_ms: Option<i64>,
    cached: i64,
    started_at: String,
}

/// Reads a row selected with [`ANSWER_COLUMNS`].
fn raw_answer(row: &Row<'_>) -> rusqlite::Result<RawAnswer> {
    Ok(RawAnswer {
        id: row.get(0)?,
        run_id: row.get(1)?,
        model: row.get(2)?,
        suite: row.get(3)?,
        item_id: row.get(4)?,
        lang: row.get(5)?,
        sample: row.get(6)?,
        seed: row.get(7)?,
        cache_key: row.get(8)?,
        request: row.get(9)?,
        text: row.get(10)?,
        error: row.get(11)?,
        finish_reason: row.get(12)?,
        prompt_tokens: row.get(13)?,
        completion_tokens: row.get(14)?,
        latency_ms: row.get(15)?,
        cached: row.get(16)?,
        started_at: row.get(17)?,
    })
}

/// `Store` is shared across threads and async tasks; keep it so.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Store>();
};
