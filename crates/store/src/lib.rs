//! Persistence for assay: audit runs, the items they ask, every attempt at every request
//! with its grades, a content-addressed answer cache, and arena votes.
//!
//! # Storage
//!
//! The store is either one SQLite file or one PostgreSQL database, behind the same
//! synchronous API.
//!
//! * **SQLite**, opened with [`Store::open`] (a path) or [`Store::open_url`] (a path,
//!   `sqlite:PATH` or `sqlite://PATH`). The file is put in WAL mode with `synchronous=NORMAL`,
//!   a 5 s busy timeout and foreign keys on. Every write is its own committed transaction — in
//!   particular every [`Store::record_answer`] — so a writer killed with `kill -9` loses at
//!   most the answer it was writing: everything it had reported as recorded is on disk.
//!   (`synchronous=NORMAL` in WAL mode survives a crash of the process, not necessarily a
//!   power cut of the machine; that trade is the usual one for WAL.) Several processes may
//!   share one file on one machine.
//! * **PostgreSQL**, opened with [`Store::open_url`] and a `postgres://` or `postgresql://`
//!   URL (`postgres://USER:PASSWORD@HOST:PORT/DATABASE`, with the usual libpq-style query
//!   parameters such as `connect_timeout`, or `host=/run/postgresql` for a Unix socket). The
//!   connection does not use TLS (a URL with `sslmode=require` fails to connect), so use it
//!   on a network you trust. Any number of instances, on any machines, can share one
//!   database: every write is one committed transaction, and what one instance commits the
//!   others read. Each `Store` holds one connection, on a worker thread of its own (see
//!   "Async callers" below). A call that finds the connection lost fails, and the next call
//!   outside a transaction reconnects. Messages name the database by its URL without the
//!   password, and so does [`Store::path`].
//!
//! # Schema and migrations
//!
//! The schema is an ordered list of migrations, one folder per backend
//! (`migrations/sqlite/NNNN_*.sql`, `migrations/postgres/NNNN_*.sql`, numbered alike, compiled
//! in). Applied versions are recorded in `schema_migrations(version, applied_at)`; opening
//! applies the missing ones, so opening twice is harmless. Instances opening one database at
//! the same moment apply each migration once: SQLite takes its write lock for each migration,
//! PostgreSQL a transaction-level advisory lock (`pg_advisory_xact_lock`). A database whose
//! schema is newer than this build knows ([`SCHEMA_VERSION`]) is refused with an error naming
//! it, rather than written to.
//!
//! # One set of queries
//!
//! The queries are written once, with SQLite's `?N` placeholders, and turned into
//! PostgreSQL's `$N` when prepared there. They use nothing backend-specific: column types are
//! TEXT, BIGINT and INTEGER only; JSON is stored as TEXT and timestamps as RFC 3339 TEXT;
//! upserts are `INSERT … ON CONFLICT … DO UPDATE`, new ids come back through `RETURNING`, and
//! "the latest attempt" is `MAX(id)` per request key. Results are ordered in Rust rather than
//! with `ORDER BY` on text, so the order does not depend on a database's collation. The only
//! text compared in SQL, a vote's `created_at`, is normalised to one fixed UTC format (see
//! [`VoteRecord`]) and compared bytewise on both backends.
//!
//! # Async callers
//!
//! `Store` is `Send + Sync` and its methods are synchronous and short, so async code (axum
//! handlers, the audit runner) calls them directly, from any runtime flavour. SQLite's
//! connection sits behind a mutex. The synchronous PostgreSQL client cannot be used on a
//! thread inside a tokio runtime (it blocks on a runtime of its own, which panics there), so
//! it lives on a dedicated thread that the store sends each statement to over a std channel.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

mod db;
mod pg;
mod sqlite;

use db::{params, DbError, DbRow, TxKind, Value};
use pg::PgClient;

/// The newest schema version this build knows.
pub const SCHEMA_VERSION: i64 = sqlite::MIGRATIONS.len() as i64;

// The backends' migrations are numbered alike.
const _: () = assert!(sqlite::MIGRATIONS.len() == pg::MIGRATIONS.len());

/// How many run ids an "unknown run" error lists, so a large store does not flood the terminal.
const MAX_LISTED_RUNS: usize = 10;

/// The values [`VoteRecord::winner`] may take.
pub const VOTE_WINNERS: [&str; 4] = ["model_a", "model_b", "tie", "tie (bothbad)"];

/// Everything that can go wrong in the store. Each error names the database — the file, or
/// the PostgreSQL URL without its password, in the `path` fields — and the run, answer or
/// battle concerned where there is one.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The directory that should hold the database could not be created.
    #[error("cannot create directory {} for the database: {source}", .path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The database file could not be created (with mode 0600).
    #[error("cannot create the database {}: {source}", .path.display())]
    CreateFile {
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
    /// PostgreSQL (or the connection to it) refused an operation; `context` says which.
    #[error("database {}: {context}: {}", .path.display(), pg::error_chain(.source))]
    Postgres {
        path: PathBuf,
        context: String,
        #[source]
        source: postgres::Error,
    },
    /// The PostgreSQL connection could not be used at all: its thread stopped, or it was lost
    /// in the middle of a transaction (which the server then rolls back).
    #[error("database {}: {context}: {detail}", .path.display())]
    Disconnected {
        path: PathBuf,
        context: String,
        detail: String,
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
    /// A database URL this build cannot open (an unknown scheme, or a file where SQLite cannot
    /// use WAL mode).
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
    /// A value given to the store that it refuses to write (a timestamp that is not RFC 3339,
    /// an unknown vote winner, …).
    #[error("database {}: cannot store {what}: {detail}", .path.display())]
    InvalidValue {
        path: PathBuf,
        what: String,
        detail: String,
    },
    /// A value read back from the database is not what this crate writes (bad JSON, a negative
    /// count, …): the database was changed by something else or is damaged.
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

/// One arena vote: which of two anonymous models won a battle, with both conversations.
///
/// `created_at` and `battle_started_at` are RFC 3339 timestamps in any offset; the store
/// normalises them to UTC with milliseconds (`2024-05-01T10:00:00.000Z`), and that is what
/// reading them back gives. A single fixed format makes text order time order, which
/// [`Store::votes`] and [`Store::votes_by_voter_since`] rely on (and which would not hold for
/// `…10:00:00Z` against `…10:00:00.5Z`, nor across offsets).
/// One row of the guard's audit log: an intervention on a prompt or an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardEventRecord {
    /// RFC 3339 time (normalised to UTC milliseconds when stored).
    pub created_at: String,
    /// The API key's id (empty when the guard runs without keys).
    pub key_id: String,
    pub request_id: String,
    pub model: String,
    /// `input` or `output`.
    pub direction: String,
    pub category: String,
    /// `block`, `retract` or `log`.
    pub action: String,
    /// Characters into the prompt message or the answer.
    pub offset: u64,
    /// The term, or `hmac-sha256:<hex>` of it (keyed with the guard's hash secret).
    pub rule: String,
}

/// Which guard events [`Store::guard_events`] returns.
#[derive(Debug, Clone, Default)]
pub struct GuardEventFilter {
    /// RFC 3339; events at or after it.
    pub since: Option<String>,
    pub key_id: Option<String>,
    pub category: Option<String>,
    /// The newest this many (all when `None`).
    pub limit: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoteRecord {
    pub battle_id: String,
    /// RFC 3339 time of the vote.
    pub created_at: String,
    /// RFC 3339 time the battle started.
    pub battle_started_at: String,
    pub model_a: String,
    pub model_b: String,
    /// One of [`VOTE_WINNERS`]: `model_a`, `model_b`, `tie` or `tie (bothbad)`.
    pub winner: String,
    /// `[{"role": .., "content": ..}, ...]`, stored as JSON text.
    pub conversation_a: serde_json::Value,
    pub conversation_b: serde_json::Value,
    /// The detected language of the first prompt ("English", "Chinese", ...).
    pub language: String,
    pub voter_id: String,
    pub ip_hash: String,
    /// Whether a model revealed its identity during the battle.
    pub identity_leak: bool,
    pub turns: u32,
    /// Anything else about the vote (style features, sampler information, ...), stored as
    /// JSON text.
    pub metadata: serde_json::Value,
}

/// The database behind a [`Store`]. Private so that callers do not depend on which.
enum Backend {
    Sqlite(Mutex<Connection>),
    Postgres(Mutex<PgClient>),
}

/// The store: one open database.
pub struct Store {
    /// The file, or the PostgreSQL URL without its password; what messages name.
    path: PathBuf,
    backend: Backend,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// Exclusive use of the store's connection, for one statement or one transaction.
enum Session<'a> {
    Sqlite(MutexGuard<'a, Connection>),
    Postgres(MutexGuard<'a, PgClient>),
}

impl Session<'_> {
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        match self {
            Session::Sqlite(conn) => sqlite::execute(conn, sql, params),
            Session::Postgres(client) => client.execute(sql, params),
        }
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<DbRow>, DbError> {
        match self {
            Session::Sqlite(conn) => sqlite::query(conn, sql, params),
            Session::Postgres(client) => client.query(sql, params),
        }
    }

    /// Runs several statements without parameters (a migration).
    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        match self {
            Session::Sqlite(conn) => sqlite::batch(conn, sql),
            Session::Postgres(client) => client.batch(sql),
        }
    }

    fn begin(&mut self, kind: TxKind) -> Result<(), DbError> {
        match self {
            Session::Sqlite(conn) => sqlite::batch(conn, sqlite::begin_sql(kind)),
            Session::Postgres(client) => client.begin(kind),
        }
    }

    fn end(&mut self, sql: &str) -> Result<(), DbError> {
        match self {
            Session::Sqlite(conn) => sqlite::batch(conn, sql),
            Session::Postgres(client) => client.end(sql),
        }
    }
}

/// An open transaction: rolled back when dropped uncommitted — on an error, and on a panic —
/// so the connection is never left inside a transaction.
struct Transaction<'s, 'a> {
    session: &'s mut Session<'a>,
    open: bool,
}

impl Drop for Transaction<'_, '_> {
    fn drop(&mut self) {
        if self.open {
            // Nothing to do about a failed rollback: SQLite may have rolled back already, and
            // PostgreSQL ends a transaction whose connection is lost.
            let _ = self.session.end("ROLLBACK");
        }
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

/// [`LATEST_IDS`] for every run at once.
const ALL_LATEST_IDS: &str = "SELECT MAX(id) AS id FROM answers \
     GROUP BY run_id, model, suite, item_id, lang, sample";

/// Answered, error and cached counts over answers `a`, for [`RunCounts`].
const COUNT_COLUMNS: &str = "COALESCE(SUM(CASE WHEN a.error IS NULL THEN 1 ELSE 0 END), 0), \
     COALESCE(SUM(CASE WHEN a.error IS NOT NULL THEN 1 ELSE 0 END), 0), \
     COALESCE(SUM(CASE WHEN a.error IS NULL AND a.cached <> 0 THEN 1 ELSE 0 END), 0)";

/// The columns of `votes`, in the order [`raw_vote`] reads them.
const VOTE_COLUMNS: &str = "battle_id, created_at, battle_started_at, model_a, model_b, \
     winner, conversation_a, conversation_b, language, voter_id, ip_hash, identity_leak, \
     turns, metadata";

impl Store {
    /// Opens (creating it, and its parent directories, if need be) the SQLite database at
    /// `path`, and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            sqlite::create_private_dir(parent).map_err(|source| StoreError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        sqlite::create_private_file(path).map_err(|source| StoreError::CreateFile {
            path: path.to_path_buf(),
            source,
        })?;
        let conn = sqlite::open(path)?;
        let store = Store {
            path: path.to_path_buf(),
            backend: Backend::Sqlite(Mutex::new(conn)),
        };
        store.migrate()?;
        Ok(store)
    }

    /// Opens a database by URL: a plain path, `sqlite:PATH` or `sqlite://PATH`
    /// (`sqlite:///abs/path` is absolute) for SQLite; `postgres://…` or `postgresql://…` for
    /// PostgreSQL, e.g. `postgres://assay:PASSWORD@db.example:5432/assay`. The PostgreSQL
    /// database must exist; its tables are created (migrated) here.
    pub fn open_url(url: &str) -> Result<Store, StoreError> {
        let url = url.trim();
        if pg::is_postgres_url(url) {
            return Store::open_postgres(url);
        }
        if let Some((scheme, _)) = url.split_once("://") {
            let scheme = scheme.to_ascii_lowercase();
            if scheme != "sqlite" && scheme.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(StoreError::Unsupported(format!(
                    "unsupported database URL scheme {scheme}://; use a SQLite file \
                     (a path, sqlite:PATH or sqlite://PATH) or a PostgreSQL URL \
                     (postgres://USER:PASSWORD@HOST:PORT/DATABASE)"
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

    fn open_postgres(url: &str) -> Result<Store, StoreError> {
        // Only the redacted URL is ever echoed: the rest may hold a password.
        let name = pg::redact(url);
        let config = pg::config(url).map_err(|detail| {
            StoreError::InvalidUrl(format!("database URL {name} is invalid: {detail}"))
        })?;
        let path = PathBuf::from(name);
        let client = PgClient::connect(config)
            .map_err(|e| db_error(&path, "cannot connect".to_string(), e))?;
        let store = Store {
            path,
            backend: Backend::Postgres(Mutex::new(client)),
        };
        store.migrate()?;
        Ok(store)
    }

    /// The database file; for PostgreSQL, the database's URL without its password.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the open database (after migration, [`SCHEMA_VERSION`]).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.current_version(&mut self.session())
    }

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
                params![&run.id, &run.created_at, &run.status, config],
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
        status: &str,
        finished_at: Option<&str>,
    ) -> Result<(), StoreError> {
        let updated = self
            .session()
            .execute(
                "UPDATE runs SET status = ?2, finished_at = ?3 WHERE id = ?1",
                params![id, status, finished_at],
            )
            .map_err(self.db_err(|| format!("cannot set the status of run {id:?}")))?;
        if updated == 0 {
            return Err(self.unknown_run(id));
        }
        Ok(())
    }

    /// The run with this exact id, if any.
    pub fn run(&self, id: &str) -> Result<Option<RunRow>, StoreError> {
        let raws = self.select(
            &mut self.session(),
            "SELECT id, created_at, finished_at, status, config FROM runs WHERE id = ?1",
            params![id],
            || format!("cannot read run {id:?}"),
            "runs",
            raw_run,
        )?;
        raws.into_iter()
            .next()
            .map(|raw| self.run_row(raw))
            .transpose()
    }

    /// Every run with its counts, newest first (by `created_at`, then id).
    pub fn runs(&self) -> Result<Vec<RunSummary>, StoreError> {
        let context = || "cannot list runs".to_string();
        // One read transaction, so the runs and their counts are one consistent snapshot even
        // while another process writes.
        let (raws, counts) = self.transaction(TxKind::Read, context, |s| {
            let raws = self.select(
                s,
                "SELECT id, created_at, finished_at, status, config FROM runs",
                params![],
                context,
                "runs",
                raw_run,
            )?;
            let counts = self.select(
                s,
                &format!(
                    "SELECT a.run_id, {COUNT_COLUMNS} FROM answers a \
                     JOIN ({ALL_LATEST_IDS}) l ON a.id = l.id GROUP BY a.run_id"
                ),
                params![],
                context,
                "answers",
                |row| Ok((row.get::<String>(0)?, raw_counts(row, 1)?)),
            )?;
            Ok((raws, counts))
        })?;
        let mut counts: HashMap<String, (i64, i64, i64)> = counts.into_iter().collect();
        let mut summaries = raws
            .into_iter()
            .map(|raw| {
                let counts = match counts.remove(&raw.id) {
                    Some(raw_counts) => self.run_counts_from(raw_counts, &raw.id)?,
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
        let mut runs: Vec<(String, String)> = self.select(
            &mut self.session(),
            "SELECT id, created_at FROM runs",
            params![],
            || "cannot list runs".to_string(),
            "runs",
            |row| Ok((row.get(0)?, row.get(1)?)),
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
        let raws = self.select(
            &mut self.session(),
            "SELECT suite, item_id, category, kind, expect, lang, prompt, choices, \
             answer_key FROM items WHERE run_id = ?1",
            params![run_id],
            || format!("cannot read the items of run {run_id:?}"),
            "items",
            |row| {
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
            },
        )?;
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
        // Everything that can fail without the database is done before taking the connection.
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
        self.transaction(TxKind::Write, context, |s| {
            self.require_run(s, run_id)?;
            let ids = self.select(
                s,
                "INSERT INTO answers (run_id, model, suite, item_id, lang, sample, seed, \
                 cache_key, request, text, error, finish_reason, prompt_tokens, \
                 completion_tokens, latency_ms, cached, started_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, \
                 ?17) RETURNING id",
                params![
                    run_id,
                    &key.model,
                    &key.suite,
                    &key.item_id,
                    &key.lang,
                    i64::from(key.sample),
                    seed,
                    &answer.cache_key,
                    request,
                    answer.text.as_deref(),
                    answer.error.as_deref(),
                    answer.finish_reason.as_deref(),
                    prompt_tokens,
                    completion_tokens,
                    latency_ms,
                    answer.cached,
                    &answer.started_at,
                ],
                context,
                "answers",
                |row| row.get::<i64>(0),
            )?;
            let Some(&id) = ids.first() else {
                return Err(self.corrupt(
                    "the new answer's id".to_string(),
                    "the insert returned no row".to_string(),
                ));
            };
            for (grade, detail) in answer.grades.iter().zip(&details) {
                self.upsert_grade(s, id, grade, detail.as_deref())
                    .map_err(self.db_err(context))?;
            }
            if let (None, Some(text)) = (&answer.error, &answer.text) {
                s.execute(
                    UPSERT_CACHE,
                    params![
                        &answer.cache_key,
                        text,
                        answer.finish_reason.as_deref(),
                        prompt_tokens,
                        completion_tokens,
                        latency_ms,
                        &answer.started_at,
                    ],
                )
                .map_err(self.db_err(context))?;
            }
            Ok(id)
        })
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
        self.session()
            .execute(
                UPSERT_CACHE,
                params![
                    cache_key,
                    &answer.text,
                    answer.finish_reason.as_deref(),
                    prompt_tokens,
                    completion_tokens,
                    latency_ms,
                    created_at,
                ],
            )
            .map_err(self.db_err(|| format!("cannot write cache entry {cache_key:?}")))?;
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
        self.transaction(TxKind::Write, context, |s| {
            let found = self.select(
                s,
                "SELECT 1 FROM answers WHERE id = ?1",
                params![answer_id],
                context,
                "answers",
                |_| Ok(()),
            )?;
            if found.is_empty() {
                return Err(StoreError::UnknownAnswer {
                    path: self.path.clone(),
                    id: answer_id,
                });
            }
            self.upsert_grade(s, answer_id, grade, detail.as_deref())
                .map_err(self.db_err(context))?;
            Ok(())
        })
    }

    /// The latest attempt (highest id) of every request key of a run, with its grades
    /// (ordered by grader), ordered by model, suite, item id, language and sample.
    pub fn latest_answers(&self, run_id: &str) -> Result<Vec<StoredAnswer>, StoreError> {
        let context = || format!("cannot read the answers of run {run_id:?}");
        // One read transaction so answers and grades are one snapshot.
        let (raws, raw_grades) = self.transaction(TxKind::Read, context, |s| {
            let raws = self.select(
                s,
                &format!(
                    "SELECT {ANSWER_COLUMNS} FROM answers a JOIN ({LATEST_IDS}) l \
                     ON a.id = l.id"
                ),
                params![run_id],
                context,
                "answers",
                raw_answer,
            )?;
            let raw_grades = self.select(
                s,
                &format!(
                    "SELECT g.answer_id, g.grader, g.version, g.label, g.rule, g.detail \
                     FROM grades g JOIN ({LATEST_IDS}) l ON g.answer_id = l.id"
                ),
                params![run_id],
                context,
                "grades",
                |row| {
                    Ok((
                        row.get::<i64>(0)?,
                        RawGrade {
                            grader: row.get(1)?,
                            version: row.get(2)?,
                            label: row.get(3)?,
                            rule: row.get(4)?,
                            detail: row.get(5)?,
                        },
                    ))
                },
            )?;
            Ok((raws, raw_grades))
        })?;

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
        let raws: Vec<(String, String, String, String, i64)> = self.select(
            &mut self.session(),
            "SELECT DISTINCT model, suite, item_id, lang, sample FROM answers \
             WHERE run_id = ?1 AND error IS NULL",
            params![run_id],
            || format!("cannot read the answered requests of run {run_id:?}"),
            "answers",
            |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            },
        )?;
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
        type RawCached = (
            String,
            Option<String>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
        );
        let raws: Vec<RawCached> = self.select(
            &mut self.session(),
            "SELECT text, finish_reason, prompt_tokens, completion_tokens, latency_ms \
             FROM cache WHERE cache_key = ?1",
            params![cache_key],
            || format!("cannot read cache entry {cache_key:?}"),
            "cache",
            |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            },
        )?;
        let Some((text, finish_reason, prompt, completion, latency)) = raws.into_iter().next()
        else {
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
        let raws = self.select(
            &mut self.session(),
            &format!("SELECT {COUNT_COLUMNS} FROM answers a JOIN ({LATEST_IDS}) l ON a.id = l.id"),
            params![run_id],
            || format!("cannot count the answers of run {run_id:?}"),
            "answers",
            |row| raw_counts(row, 0),
        )?;
        match raws.into_iter().next() {
            Some(raw) => self.run_counts_from(raw, run_id),
            None => Ok(RunCounts::default()),
        }
    }

    /// Stores a vote, unless its battle already has one: then nothing is written and the
    /// answer is `Ok(false)`. The database enforces one vote per battle (`battle_id` is
    /// unique), so this holds across any number of instances sharing it. The timestamps are
    /// normalised as [`VoteRecord`] says; a timestamp that is not RFC 3339, an empty battle
    /// id or a winner not in [`VOTE_WINNERS`] is refused with [`StoreError::InvalidValue`].
    pub fn record_vote(&self, vote: &VoteRecord) -> Result<bool, StoreError> {
        let battle = vote.battle_id.as_str();
        if battle.is_empty() {
            return Err(self.invalid("a vote".to_string(), "its battle id is empty".to_string()));
        }
        if !VOTE_WINNERS.contains(&vote.winner.as_str()) {
            return Err(self.invalid(
                format!("the vote on battle {battle:?}"),
                format!(
                    "its winner {:?} is not one of {}",
                    vote.winner,
                    VOTE_WINNERS.map(|w| format!("{w:?}")).join(", ")
                ),
            ));
        }
        let what =
            |name: &'static str| move || format!("the {name} of the vote on battle {battle:?}");
        let created_at = self.timestamp(&vote.created_at, what("created_at"))?;
        let started_at = self.timestamp(&vote.battle_started_at, what("battle_started_at"))?;
        let conversation_a = self.encode(&vote.conversation_a, what("conversation_a"))?;
        let conversation_b = self.encode(&vote.conversation_b, what("conversation_b"))?;
        let metadata = self.encode(&vote.metadata, what("metadata"))?;
        let inserted = self
            .session()
            .execute(
                &format!(
                    "INSERT INTO votes ({VOTE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, \
                     ?9, ?10, ?11, ?12, ?13, ?14) ON CONFLICT (battle_id) DO NOTHING"
                ),
                params![
                    battle,
                    created_at,
                    started_at,
                    &vote.model_a,
                    &vote.model_b,
                    &vote.winner,
                    conversation_a,
                    conversation_b,
                    &vote.language,
                    &vote.voter_id,
                    &vote.ip_hash,
                    vote.identity_leak,
                    i64::from(vote.turns),
                    metadata,
                ],
            )
            .map_err(self.db_err(|| format!("cannot record the vote on battle {battle:?}")))?;
        Ok(inserted == 1)
    }

    /// Appends an intervention to the guard's audit log.
    pub fn record_guard_event(&self, event: &GuardEventRecord) -> Result<(), StoreError> {
        let created_at = self.timestamp(&event.created_at, || {
            format!("the time of guard event of request {:?}", event.request_id)
        })?;
        let offset = i64::try_from(event.offset).unwrap_or(i64::MAX);
        self.session()
            .execute(
                "INSERT INTO guard_events (created_at, key_id, request_id, model, direction, \
                 category, action, char_offset, rule) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    created_at,
                    &event.key_id,
                    &event.request_id,
                    &event.model,
                    &event.direction,
                    &event.category,
                    &event.action,
                    offset,
                    &event.rule,
                ],
            )
            .map_err(self.db_err(|| {
                format!(
                    "cannot record the guard event of request {:?}",
                    event.request_id
                )
            }))?;
        Ok(())
    }

    /// Guard events matching `filter`, oldest first.
    pub fn guard_events(
        &self,
        filter: &GuardEventFilter,
    ) -> Result<Vec<GuardEventRecord>, StoreError> {
        let since = match &filter.since {
            Some(t) => self.timestamp(t, || "the --since time".to_string())?,
            None => String::new(),
        };
        let key = filter.key_id.clone().unwrap_or_default();
        let category = filter.category.clone().unwrap_or_default();
        let limit = i64::try_from(filter.limit.unwrap_or(usize::MAX)).unwrap_or(i64::MAX);
        let mut rows = self.select(
            &mut self.session(),
            "SELECT created_at, key_id, request_id, model, direction, category, action, \
             char_offset, rule FROM guard_events WHERE created_at >= ?1 \
             AND (?2 = '' OR key_id = ?2) AND (?3 = '' OR category = ?3) \
             ORDER BY created_at DESC, id DESC LIMIT ?4",
            params![&since, &key, &category, limit],
            || "cannot read the guard events".to_string(),
            "guard_events",
            |row| {
                Ok(GuardEventRecord {
                    created_at: row.get(0)?,
                    key_id: row.get(1)?,
                    request_id: row.get(2)?,
                    model: row.get(3)?,
                    direction: row.get(4)?,
                    category: row.get(5)?,
                    action: row.get(6)?,
                    offset: u64::try_from(row.get::<i64>(7)?).unwrap_or(0),
                    rule: row.get(8)?,
                })
            },
        )?;
        rows.reverse();
        Ok(rows)
    }

    /// Every vote, ordered by `created_at`, then battle id.
    pub fn votes(&self) -> Result<Vec<VoteRecord>, StoreError> {
        let raws = self.select(
            &mut self.session(),
            &format!("SELECT {VOTE_COLUMNS} FROM votes"),
            params![],
            || "cannot read the votes".to_string(),
            "votes",
            raw_vote,
        )?;
        let mut votes = raws
            .into_iter()
            .map(|raw| self.vote(raw))
            .collect::<Result<Vec<_>, _>>()?;
        votes.sort_by(|a, b| (&a.created_at, &a.battle_id).cmp(&(&b.created_at, &b.battle_id)));
        Ok(votes)
    }

    /// How many votes `voter_id` cast at or after `since` (RFC 3339, any offset; normalised as
    /// [`VoteRecord`] says, so compared at millisecond precision).
    pub fn votes_by_voter_since(&self, voter_id: &str, since: &str) -> Result<u64, StoreError> {
        let since = self.timestamp(since, || {
            format!("the start time of a count of {voter_id:?}'s votes")
        })?;
        let counts = self.select(
            &mut self.session(),
            "SELECT COUNT(*) FROM votes WHERE voter_id = ?1 AND created_at >= ?2",
            params![voter_id, &since],
            || format!("cannot count the votes of {voter_id:?}"),
            "votes",
            |row| row.get::<i64>(0),
        )?;
        let count = counts.first().copied().unwrap_or(0);
        self.read_int(count, || format!("the count of {voter_id:?}'s votes"))
    }

    // ---- helpers ----

    /// The connection, for one statement or a transaction. A thread that panicked while holding
    /// it leaves it usable (an open transaction is rolled back when dropped), so poisoning is
    /// ignored rather than turning one panic into failures of every later call.
    fn session(&self) -> Session<'_> {
        match &self.backend {
            Backend::Sqlite(conn) => {
                Session::Sqlite(conn.lock().unwrap_or_else(PoisonError::into_inner))
            }
            Backend::Postgres(client) => {
                Session::Postgres(client.lock().unwrap_or_else(PoisonError::into_inner))
            }
        }
    }

    /// Runs `f` in one transaction, committed when `f` succeeds and rolled back otherwise.
    fn transaction<T>(
        &self,
        kind: TxKind,
        context: impl FnOnce() -> String + Copy,
        f: impl FnOnce(&mut Session<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut session = self.session();
        session.begin(kind).map_err(self.db_err(context))?;
        let mut tx = Transaction {
            session: &mut session,
            open: true,
        };
        let value = f(tx.session)?;
        tx.session.end("COMMIT").map_err(self.db_err(context))?;
        tx.open = false;
        Ok(value)
    }

    /// Runs a query and reads its rows with `read`; a row it cannot read is
    /// [`StoreError::Corrupt`], naming `table`.
    fn select<T>(
        &self,
        session: &mut Session<'_>,
        sql: &str,
        params: &[Value],
        context: impl FnOnce() -> String,
        table: &str,
        mut read: impl FnMut(&mut DbRow) -> Result<T, String>,
    ) -> Result<Vec<T>, StoreError> {
        let rows = session.query(sql, params).map_err(self.db_err(context))?;
        rows.into_iter()
            .map(|mut row| {
                read(&mut row).map_err(|detail| self.corrupt(format!("a row of {table}"), detail))
            })
            .collect()
    }

    /// Wraps a database error with this database's name and a description made on failure
    /// only.
    fn db_err<'a, F: FnOnce() -> String + 'a>(
        &'a self,
        context: F,
    ) -> impl FnOnce(DbError) -> StoreError + 'a {
        move |error| db_error(&self.path, context(), error)
    }

    fn unknown_run(&self, id: &str) -> StoreError {
        StoreError::UnknownRun {
            path: self.path.clone(),
            id: id.to_string(),
        }
    }

    /// Fails with [`StoreError::UnknownRun`] unless the run exists; clearer than the foreign
    /// key failure an insert would otherwise give.
    fn require_run(&self, session: &mut Session<'_>, run_id: &str) -> Result<(), StoreError> {
        let found = self.select(
            session,
            "SELECT 1 FROM runs WHERE id = ?1",
            params![run_id],
            || format!("cannot look up run {run_id:?}"),
            "runs",
            |_| Ok(()),
        )?;
        if found.is_empty() {
            Err(self.unknown_run(run_id))
        } else {
            Ok(())
        }
    }

    /// The highest applied migration, 0 for a new database.
    fn current_version(&self, session: &mut Session<'_>) -> Result<i64, StoreError> {
        let versions = self.select(
            session,
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            params![],
            || "cannot read the schema version".to_string(),
            "schema_migrations",
            |row| row.get::<i64>(0),
        )?;
        Ok(versions.first().copied().unwrap_or(0))
    }

    fn check_not_too_new(&self, current: i64) -> Result<(), StoreError> {
        if current > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                path: self.path.clone(),
                found: current,
                known: SCHEMA_VERSION,
            });
        }
        Ok(())
    }

    /// Applies the migrations the database lacks, each in its own transaction with its
    /// version row. Each transaction reads the version again under the backend's migration
    /// lock (SQLite's write lock; PostgreSQL's advisory lock), so instances opening one
    /// database at once apply each migration once.
    fn migrate(&self) -> Result<(), StoreError> {
        let (migrations, create_table) = match &self.backend {
            Backend::Sqlite(_) => (sqlite::MIGRATIONS, sqlite::CREATE_MIGRATIONS_TABLE),
            Backend::Postgres(_) => (pg::MIGRATIONS, pg::CREATE_MIGRATIONS_TABLE),
        };
        let create_context = || "cannot create schema_migrations".to_string();
        if let Backend::Sqlite(_) = &self.backend {
            // The common case, an up-to-date file, needs no write lock. (On PostgreSQL the
            // table is created under the advisory lock below: two concurrent
            // `CREATE TABLE IF NOT EXISTS` can fail there.)
            let mut session = self.session();
            session
                .batch(create_table)
                .map_err(self.db_err(create_context))?;
            let current = self.current_version(&mut session)?;
            self.check_not_too_new(current)?;
            if current == SCHEMA_VERSION {
                return Ok(());
            }
        }
        for (index, sql) in migrations.iter().enumerate() {
            let version = i64::try_from(index + 1).unwrap_or(i64::MAX);
            let context = || format!("cannot apply migration {version}");
            self.transaction(TxKind::Migrate, context, |s| {
                s.batch(create_table).map_err(self.db_err(create_context))?;
                let current = self.current_version(s)?;
                self.check_not_too_new(current)?;
                if current >= version {
                    return Ok(());
                }
                s.batch(sql)
                    .map_err(self.db_err(|| format!("migration {version} failed")))?;
                s.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                    params![version, now_rfc3339()],
                )
                .map_err(self.db_err(|| format!("cannot record migration {version}")))?;
                Ok(())
            })?;
        }
        Ok(())
    }

    fn upsert_grade(
        &self,
        session: &mut Session<'_>,
        answer_id: i64,
        grade: &GradeRecord,
        detail: Option<&str>,
    ) -> Result<u64, DbError> {
        session.execute(
            "INSERT INTO grades (answer_id, grader, version, label, rule, detail) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (answer_id, grader) DO UPDATE SET version = excluded.version, \
             label = excluded.label, rule = excluded.rule, detail = excluded.detail",
            params![
                answer_id,
                &grade.grader,
                &grade.version,
                &grade.label,
                &grade.rule,
                detail
            ],
        )
    }

    fn run_counts_from(
        &self,
        (answered, errors, cached): (i64, i64, i64),
        run_id: &str,
    ) -> Result<RunCounts, StoreError> {
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

    fn vote(&self, raw: RawVote) -> Result<VoteRecord, StoreError> {
        let battle = raw.battle_id.as_str();
        let what =
            |column: &'static str| move || format!("{column} of the vote on battle {battle:?}");
        Ok(VoteRecord {
            conversation_a: self.decode(&raw.conversation_a, what("conversation_a"))?,
            conversation_b: self.decode(&raw.conversation_b, what("conversation_b"))?,
            metadata: self.decode(&raw.metadata, what("metadata"))?,
            turns: self.read_int(raw.turns, what("turns"))?,
            identity_leak: raw.identity_leak != 0,
            battle_id: raw.battle_id,
            created_at: raw.created_at,
            battle_started_at: raw.battle_started_at,
            model_a: raw.model_a,
            model_b: raw.model_b,
            winner: raw.winner,
            language: raw.language,
            voter_id: raw.voter_id,
            ip_hash: raw.ip_hash,
        })
    }

    /// An RFC 3339 timestamp in the one format votes are stored in: UTC, milliseconds, `Z`.
    fn timestamp(&self, value: &str, what: impl FnOnce() -> String) -> Result<String, StoreError> {
        chrono::DateTime::parse_from_rfc3339(value.trim())
            .map(|t| {
                t.with_timezone(&chrono::Utc)
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            })
            .map_err(|e| {
                self.invalid(
                    what(),
                    format!("{value:?} is not an RFC 3339 timestamp ({e})"),
                )
            })
    }

    fn invalid(&self, what: String, detail: String) -> StoreError {
        StoreError::InvalidValue {
            path: self.path.clone(),
            what,
            detail,
        }
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

/// A database error as a [`StoreError`] naming the database (`path`) and what failed.
fn db_error(path: &Path, context: String, error: DbError) -> StoreError {
    let path = path.to_path_buf();
    match error {
        DbError::Sqlite(source) => StoreError::Sqlite {
            path,
            context,
            source,
        },
        DbError::Postgres(source) => StoreError::Postgres {
            path,
            context,
            source,
        },
        DbError::Disconnected(detail) => StoreError::Disconnected {
            path,
            context,
            detail,
        },
    }
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Sorts by `(created_at, id)` descending. RFC 3339 timestamps in one offset sort
/// chronologically as text.
fn sort_newest_first<T>(rows: &mut [T], key: impl Fn(&T) -> (&String, &String)) {
    rows.sort_by(|a, b| key(b).cmp(&key(a)));
}

fn request_order(key: &RequestKey) -> (&str, &str, &str, &str, u32) {
    (&key.model, &key.suite, &key.item_id, &key.lang, key.sample)
}

/// Rows as read, before JSON and integer conversions (which fail with a [`StoreError`] of
/// their own, naming the value).
struct RawRun {
    id: String,
    created_at: String,
    finished_at: Option<String>,
    status: String,
    config: String,
}

fn raw_run(row: &mut DbRow) -> Result<RawRun, String> {
    Ok(RawRun {
        id: row.get(0)?,
        created_at: row.get(1)?,
        finished_at: row.get(2)?,
        status: row.get(3)?,
        config: row.get(4)?,
    })
}

/// The three [`COUNT_COLUMNS`], from column `first` on.
fn raw_counts(row: &mut DbRow, first: usize) -> Result<(i64, i64, i64), String> {
    Ok((row.get(first)?, row.get(first + 1)?, row.get(first + 2)?))
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
fn raw_answer(row: &mut DbRow) -> Result<RawAnswer, String> {
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

struct RawVote {
    battle_id: String,
    created_at: String,
    battle_started_at: String,
    model_a: String,
    model_b: String,
    winner: String,
    conversation_a: String,
    conversation_b: String,
    language: String,
    voter_id: String,
    ip_hash: String,
    identity_leak: i64,
    turns: i64,
    metadata: String,
}

/// Reads a row selected with [`VOTE_COLUMNS`].
fn raw_vote(row: &mut DbRow) -> Result<RawVote, String> {
    Ok(RawVote {
        battle_id: row.get(0)?,
        created_at: row.get(1)?,
        battle_started_at: row.get(2)?,
        model_a: row.get(3)?,
        model_b: row.get(4)?,
        winner: row.get(5)?,
        conversation_a: row.get(6)?,
        conversation_b: row.get(7)?,
        language: row.get(8)?,
        voter_id: row.get(9)?,
        ip_hash: row.get(10)?,
        identity_leak: row.get(11)?,
        turns: row.get(12)?,
        metadata: row.get(13)?,
    })
}

/// `Store` is shared across threads and async tasks; keep it so.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Store>();
};
