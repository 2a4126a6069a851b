//! Persistence for assay: audit runs, the items they ask, every attempt at every request
//! with its grades, a content-addressed answer cache, people's review labels on answers, and
//! arena votes.
//!
//! # Storage
//!
//! The store is either one SQLite file or one PostgreSQL database, behind the same
//! synchronous API.
//! [`Store::open_default`] opens the SQLite file every command uses when given no `--db`:
//! `assay.db` in [`assay_core::assay_home`].
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
//! `Store` is `Send + Sync`; its methods are synchronous and block for as long as the
//! database takes: a SQLite write waits for the file's lock (up to the busy timeout), a
//! PostgreSQL statement for a network round trip. Async code therefore calls them off its
//! runtime's workers (`tokio::task::spawn_blocking` with a clone of the `Store` — a clone is
//! another handle on the same connection — or a writer thread of its own, as the guard's
//! audit log does). SQLite's connection sits behind a mutex. The synchronous
//! PostgreSQL client cannot be used on a thread inside a tokio runtime (it blocks on a runtime
//! of its own, which panics there), so it lives on a dedicated thread that the store sends
//! each statement to over a std channel; that also keeps a call made on a runtime worker by
//! mistake from panicking.
//!
//! # Layout
//!
//! One file per aggregate — `runs.rs` (runs and their items), `answers.rs` (attempts, grades
//! and the answer cache), `votes.rs`, `guard_events.rs`, `reviews.rs` (people's labels on
//! answers) — over `records.rs` (the public row
//! types), `session.rs` (the connection, transactions, reading rows), `convert.rs` (values
//! in and out of columns), `migrations.rs` and `error.rs`. `db.rs` is what both backends
//! share; `sqlite.rs` and `pg.rs` move values in and out of their client libraries.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

mod answers;
mod convert;
mod db;
mod error;
mod guard_events;
mod kept;
mod migrations;
mod pg;
mod records;
mod reviews;
mod runs;
mod session;
mod sqlite;
mod votes;

pub use error::StoreError;
pub use migrations::SCHEMA_VERSION;
pub use records::{
    AnswerRecord, CachedAnswer, GradeRecord, GuardEventFilter, GuardEventRecord, ItemRow,
    KeptAnalysis, NewRun, RequestKey, ReviewLabel, RunCounts, RunDeleted, RunRow, RunStatus,
    RunSummary, StoredAnswer, VoteRecord, JUDGE_VOTER_PREFIX, REVIEW_LABELS, VOTE_WINNERS,
};

use error::db_error;
use pg::PgClient;
use session::Backend;

/// The file name of the default store in [`assay_core::assay_home`].
pub const DEFAULT_FILE_NAME: &str = "assay.db";

/// The store: one open database. Cloning gives another handle on the same connection (no
/// new connection is opened), so a clone can be moved to a blocking thread or a task.
#[derive(Clone)]
pub struct Store {
    /// The file, or the PostgreSQL URL without its password; what messages name.
    path: PathBuf,
    backend: Arc<Backend>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

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
            backend: Arc::new(Backend::Sqlite(Mutex::new(conn))),
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
            backend: Arc::new(Backend::Postgres(Mutex::new(client))),
        };
        store.migrate()?;
        Ok(store)
    }

    /// Another connection to the same database (a clone shares this one's): for readers on
    /// several threads, which one connection would serialise.
    pub fn connect_again(&self) -> Result<Store, StoreError> {
        let backend = match &*self.backend {
            Backend::Sqlite(_) => Backend::Sqlite(Mutex::new(sqlite::open(&self.path)?)),
            Backend::Postgres(client) => {
                let again = client
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .connect_again()
                    .map_err(|e| db_error(&self.path, "cannot connect".to_string(), e))?;
                Backend::Postgres(Mutex::new(again))
            }
        };
        Ok(Store {
            path: self.path.clone(),
            backend: Arc::new(backend),
        })
    }

    /// The database file; for PostgreSQL, the database's URL without its password.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the open database (after migration, [`SCHEMA_VERSION`]).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.current_version(&mut self.session())
    }

    /// Opens the default store, `assay.db` in [`assay_core::assay_home`], as [`Store::open`]
    /// does (creating it and its directories).
    pub fn open_default() -> Result<Store, StoreError> {
        Store::open(&Store::default_path())
    }

    /// Where [`Store::open_default`] keeps the database.
    pub fn default_path() -> PathBuf {
        assay_core::assay_home().join(DEFAULT_FILE_NAME)
    }
}

/// `Store` is shared across threads and async tasks; keep it so.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Store>();
};
