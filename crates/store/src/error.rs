//! The store's one error type.

use std::path::{Path, PathBuf};

use crate::db::DbError;
use crate::pg;

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

/// A database error as a [`StoreError`] naming the database (`path`) and what failed.
pub(crate) fn db_error(path: &Path, context: String, error: DbError) -> StoreError {
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
