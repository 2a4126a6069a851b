//! The SQLite backend: one connection, used under the store's mutex.

use std::path::Path;
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{params_from_iter, Connection};

use crate::db::{DbError, DbRow, TxKind, Value};
use crate::StoreError;

/// The migrations, in order; migration `i` (0-based) brings the schema to version `i + 1`.
/// Append only: an applied migration must never change.
pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/sqlite/0001_init.sql"),
    include_str!("../migrations/sqlite/0002_votes.sql"),
    include_str!("../migrations/sqlite/0003_guard_events.sql"),
    include_str!("../migrations/sqlite/0004_reviews.sql"),
    include_str!("../migrations/sqlite/0005_kept_analyses.sql"),
];

pub(crate) const CREATE_MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations \
     (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)";

/// How long a write waits for another process holding the database lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Creates the directories of `dir` that are missing, readable by their owner only (they
/// hold the store: answers, votes, reviews).
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Creates the database file, if it does not exist, with mode 0600: SQLite gives its `-wal`
/// and `-shm` files the mode of the database file, so they are private too. An existing file
/// keeps the mode its owner chose.
pub(crate) fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Opens the file (creating it) and configures the connection: WAL, `synchronous=NORMAL`, a
/// busy timeout, foreign keys and memory-mapped reads.
pub(crate) fn open(path: &Path) -> Result<Connection, StoreError> {
    let sql_err = |context: &str| {
        let context = context.to_string();
        move |source| StoreError::Sqlite {
            path: path.to_path_buf(),
            context,
            source,
        }
    };
    let conn = Connection::open(path).map_err(sql_err("cannot open"))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(sql_err("cannot set the busy timeout"))?;
    let mode = switch_to_wal(&conn).map_err(sql_err("cannot switch to WAL mode"))?;
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
    // Readers of many runs (`assay board`, on one connection per thread) share the file's
    // pages through the map instead of each copying them into its own cache.
    conn.pragma_update(None, "mmap_size", 1i64 << 30)
        .map_err(sql_err("cannot set mmap_size"))?;
    Ok(conn)
}

/// Switches the connection to WAL mode and returns the mode SQLite is in afterwards. Changing
/// the journal mode of a new file needs a lock that SQLite may refuse with `SQLITE_BUSY`
/// without calling the busy handler (several processes opening a new database at once), so
/// the switch is retried here for as long as the busy timeout would have waited.
fn switch_to_wal(conn: &Connection) -> rusqlite::Result<String> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            result => return result,
        }
    }
}

pub(crate) fn begin_sql(kind: TxKind) -> &'static str {
    match kind {
        TxKind::Read => "BEGIN DEFERRED",
        // IMMEDIATE takes the write lock up front, so a concurrent writer in another process
        // waits (busy timeout) instead of failing on a read-to-write upgrade, and two
        // processes migrating a new file at once do not both apply the same migration.
        TxKind::Write | TxKind::Migrate => "BEGIN IMMEDIATE",
    }
}

pub(crate) fn execute(conn: &Connection, sql: &str, params: &[Value]) -> Result<u64, DbError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let changed = stmt.execute(params_from_iter(params))?;
    Ok(changed as u64)
}

pub(crate) fn query(conn: &Connection, sql: &str, params: &[Value]) -> Result<Vec<DbRow>, DbError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let columns = stmt.column_count();
    let mut rows = stmt.query(params_from_iter(params))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let values = (0..columns)
            .map(|i| row.get_ref(i).map(from_sqlite))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        out.push(DbRow(values));
    }
    Ok(out)
}

pub(crate) fn batch(conn: &Connection, sql: &str) -> Result<(), DbError> {
    Ok(conn.execute_batch(sql)?)
}

fn from_sqlite(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Text(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => Value::Text(text.to_string()),
            Err(_) => Value::Other("text that is not UTF-8".to_string()),
        },
        ValueRef::Real(f) => Value::Other(format!("the real number {f}")),
        ValueRef::Blob(_) => Value::Other("a blob".to_string()),
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Text(text) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
            Value::Other(what) => {
                return Err(rusqlite::Error::ToSqlConversionFailure(
                    format!("cannot store {what}").into(),
                ))
            }
        })
    }
}
