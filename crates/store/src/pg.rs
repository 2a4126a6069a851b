//! The PostgreSQL backend.
//!
//! The synchronous `postgres` client drives its own small tokio runtime and blocks on it, which
//! panics when done on a thread that is already inside a tokio runtime — and the store's
//! methods are called from async code (axum handlers, the audit runner). So the client lives
//! on a worker thread of its own, one per [`Store`](crate::Store), and the store sends it one
//! statement at a time over a std channel and waits for the answer. Waiting on a std channel
//! is a plain blocking call, safe on any thread, in or out of a runtime; it blocks an async
//! worker thread only for one short database call, as the SQLite backend does.
//!
//! Everything sent is owned (SQL text and [`Value`]s), so no borrowed data crosses threads.
//! The caller holds the store's mutex for a whole transaction, so statements of two
//! transactions never interleave on the one connection.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use bytes::BytesMut;
use postgres::error::Severity;
use postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};
use postgres::{Client, Config, NoTls, Statement};

use crate::db::{DbError, DbRow, TxKind, Value};

/// The migrations, in order, numbered as the SQLite ones. Append only.
pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/postgres/0001_init.sql"),
    include_str!("../migrations/postgres/0002_votes.sql"),
    include_str!("../migrations/postgres/0003_guard_events.sql"),
    include_str!("../migrations/postgres/0004_reviews.sql"),
    include_str!("../migrations/postgres/0005_kept_analyses.sql"),
];

pub(crate) const CREATE_MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations \
     (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)";

/// The key of the transaction-level advisory lock that serialises migrations of one database
/// by any number of instances ("assay_mg" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x6173_7361_795f_6d67;

/// How long connecting may take when the URL sets no `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) fn begin_sql(kind: TxKind) -> String {
    match kind {
        // A snapshot: every read of the transaction sees the same committed data.
        TxKind::Read => "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY".to_string(),
        TxKind::Write => "BEGIN".to_string(),
        // Read committed, so that an instance that waited for the lock then sees what the
        // instance that held it committed.
        TxKind::Migrate => format!("BEGIN; SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"),
    }
}

/// Whether `url` is a PostgreSQL URL (`postgres://` or `postgresql://`, any case).
pub(crate) fn is_postgres_url(url: &str) -> bool {
    url.split_once("://").is_some_and(|(scheme, _)| {
        scheme.eq_ignore_ascii_case("postgres") || scheme.eq_ignore_ascii_case("postgresql")
    })
}

/// The URL without its password (from the user info or a `password` query parameter), for
/// messages. A URL that cannot be parsed is reduced to its scheme.
pub(crate) fn redact(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        let scheme = url
            .split_once("://")
            .map_or("postgres", |(scheme, _)| scheme);
        return format!("{scheme}://(an invalid URL)");
    };
    if parsed.password().is_some() {
        // Only fails for URLs that cannot have a password, and this one has one.
        let _ = parsed.set_password(None);
    }
    if parsed
        .query_pairs()
        .any(|(name, _)| name.eq_ignore_ascii_case("password"))
    {
        let kept: Vec<(String, String)> = parsed
            .query_pairs()
            .filter(|(name, _)| !name.eq_ignore_ascii_case("password"))
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        if kept.is_empty() {
            parsed.set_query(None);
        } else {
            parsed.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    parsed.to_string()
}

/// Parses a connection URL into a client configuration, with defaults for what it leaves out.
/// The error says what is wrong without repeating the URL or its password.
pub(crate) fn config(url: &str) -> Result<Config, String> {
    // The client's parser knows the schemes in lower case only; anything else it would read
    // as a `key=value` string, and echo back in its error.
    let url = match url.split_once("://") {
        Some((scheme, rest)) => format!("{}://{rest}", scheme.to_ascii_lowercase()),
        None => url.to_string(),
    };
    let mut config: Config = url.parse().map_err(|e: postgres::Error| {
        let message = error_chain(&e);
        let leaks = message.contains("://")
            || passwords(&url)
                .iter()
                .any(|password| message.contains(password.as_str()));
        if leaks {
            "it is not a valid PostgreSQL URL (postgres://USER:PASSWORD@HOST:PORT/DATABASE)"
                .to_string()
        } else {
            message
        }
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("assay");
    }
    Ok(config)
}

/// The passwords a URL holds, as written and decoded, for keeping them out of messages.
fn passwords(url: &str) -> Vec<String> {
    let Ok(parsed) = url::Url::parse(url) else {
        return Vec::new();
    };
    let mut found: Vec<String> = parsed
        .query_pairs()
        .filter(|(name, _)| name.eq_ignore_ascii_case("password"))
        .map(|(_, value)| value.into_owned())
        .collect();
    if let Some(password) = parsed.password() {
        found.push(password.to_string());
        found.extend(
            url::form_urlencoded::parse(format!("p={password}").as_bytes())
                .map(|(_, v)| v.into_owned()),
        );
    }
    found.retain(|p| !p.is_empty());
    found
}

/// An error with its causes, `: `-separated. The PostgreSQL client's own `Display` stops at
/// e.g. "db error", and the server's message is in the cause.
pub(crate) fn error_chain(error: &dyn StdError) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    message
}

/// One statement for the worker.
enum Op {
    Execute(String, Vec<Value>),
    Query(String, Vec<Value>),
    Batch(String),
}

enum Reply {
    Count(u64),
    Rows(Vec<DbRow>),
    Done,
}

struct Request {
    op: Op,
    /// False inside a transaction: reconnecting there would run the rest of the transaction's
    /// statements outside it.
    may_reconnect: bool,
    reply: mpsc::SyncSender<Result<Reply, DbError>>,
}

/// The store's handle on its worker thread and connection.
pub(crate) struct PgClient {
    requests: mpsc::Sender<Request>,
    in_transaction: bool,
    /// What it connected with, to open another connection to the same database.
    config: Box<Config>,
}

impl PgClient {
    /// Starts the worker thread and connects on it.
    pub(crate) fn connect(config: Config) -> Result<PgClient, DbError> {
        let kept = Box::new(config.clone());
        let (requests, incoming) = mpsc::channel::<Request>();
        let (connected, wait_connected) = mpsc::sync_channel(1);
        thread::Builder::new()
            .name("assay-store-postgres".to_string())
            .spawn(move || {
                let client = match config.connect(NoTls) {
                    Ok(client) => {
                        let _ = connected.send(Ok(()));
                        client
                    }
                    Err(e) => {
                        let _ = connected.send(Err(e));
                        return;
                    }
                };
                Worker {
                    config,
                    client: Some(client),
                    statements: HashMap::new(),
                }
                .serve(incoming);
            })
            .map_err(|e| {
                DbError::Disconnected(format!("cannot start the connection thread: {e}"))
            })?;
        match wait_connected.recv() {
            Ok(Ok(())) => Ok(PgClient {
                requests,
                in_transaction: false,
                config: kept,
            }),
            Ok(Err(e)) => Err(DbError::Postgres(e)),
            Err(_) => Err(stopped()),
        }
    }

    /// Another connection to the same database.
    pub(crate) fn connect_again(&self) -> Result<PgClient, DbError> {
        PgClient::connect(*self.config.clone())
    }

    pub(crate) fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        match self.call(Op::Execute(sql.to_string(), params.to_vec()))? {
            Reply::Count(n) => Ok(n),
            _ => unreachable!("the worker answers an Execute with a Count"),
        }
    }

    pub(crate) fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<DbRow>, DbError> {
        match self.call(Op::Query(sql.to_string(), params.to_vec()))? {
            Reply::Rows(rows) => Ok(rows),
            _ => unreachable!("the worker answers a Query with Rows"),
        }
    }

    pub(crate) fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.call(Op::Batch(sql.to_string())).map(|_| ())
    }

    pub(crate) fn begin(&mut self, kind: TxKind) -> Result<(), DbError> {
        if let Err(e) = self.batch(&begin_sql(kind)) {
            // `BEGIN` may have worked and the lock after it failed: leave no transaction
            // open (a `ROLLBACK` outside one is only a warning).
            let _ = self.batch("ROLLBACK");
            return Err(e);
        }
        self.in_transaction = true;
        Ok(())
    }

    /// Ends the transaction with `COMMIT` or `ROLLBACK`. Whatever the outcome the connection
    /// is no longer in the transaction: PostgreSQL ends it on a failed commit too.
    pub(crate) fn end(&mut self, sql: &str) -> Result<(), DbError> {
        let result = self.batch(sql);
        self.in_transaction = false;
        result
    }

    fn call(&mut self, op: Op) -> Result<Reply, DbError> {
        let (reply, answer) = mpsc::sync_channel(1);
        let request = Request {
            op,
            may_reconnect: !self.in_transaction,
            reply,
        };
        self.requests.send(request).map_err(|_| stopped())?;
        answer.recv().map_err(|_| stopped())?
    }
}

fn stopped() -> DbError {
    DbError::Disconnected("the PostgreSQL connection thread has stopped".to_string())
}

/// The worker thread's state: the connection, and the statements prepared on it.
struct Worker {
    config: Config,
    client: Option<Client>,
    /// Prepared statements by their SQL as the store wrote it (with `?N` placeholders).
    statements: HashMap<String, Statement>,
}

impl Worker {
    /// Answers requests until the store is dropped (the channel closes); dropping the client
    /// then closes the connection.
    fn serve(mut self, incoming: mpsc::Receiver<Request>) {
        for request in incoming {
            let result = self.handle(request.op, request.may_reconnect);
            let _ = request.reply.send(result);
        }
    }

    fn handle(&mut self, op: Op, may_reconnect: bool) -> Result<Reply, DbError> {
        self.ensure_connected(may_reconnect)?;
        let result = self.run(op);
        if let Err(DbError::Postgres(e)) = &result {
            if connection_lost(e) {
                // Reconnect on the next call that may; the client does not always know.
                self.client = None;
                self.statements.clear();
            }
        }
        result
    }

    fn run(&mut self, op: Op) -> Result<Reply, DbError> {
        match op {
            Op::Batch(sql) => {
                self.client()?.batch_execute(&sql)?;
                Ok(Reply::Done)
            }
            Op::Execute(sql, params) => {
                let statement = self.statement(&sql)?;
                let result = self.client()?.execute(&statement, &refs(&params));
                Ok(Reply::Count(self.forget_on_error(&sql, result)?))
            }
            Op::Query(sql, params) => {
                let statement = self.statement(&sql)?;
                let result = self.client()?.query(&statement, &refs(&params));
                let rows = self.forget_on_error(&sql, result)?;
                let rows = rows
                    .iter()
                    .map(|row| {
                        (0..row.len())
                            .map(|i| row.try_get::<_, Value>(i))
                            .collect::<Result<Vec<_>, _>>()
                            .map(DbRow)
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Reply::Rows(rows))
            }
        }
    }

    fn client(&mut self) -> Result<&mut Client, DbError> {
        self.client.as_mut().ok_or_else(|| {
            DbError::Disconnected(
                "the connection to the server was lost during the transaction".to_string(),
            )
        })
    }

    /// Reconnects when the connection was lost (the server restarted, say), unless inside a
    /// transaction: the server has rolled that back, so its remaining statements must fail
    /// rather than run outside it.
    fn ensure_connected(&mut self, may_reconnect: bool) -> Result<(), DbError> {
        let open = self.client.as_ref().is_some_and(|c| !c.is_closed());
        if open || !may_reconnect {
            return Ok(());
        }
        self.statements.clear();
        self.client = None;
        self.client = Some(self.config.connect(NoTls)?);
        Ok(())
    }

    fn statement(&mut self, sql: &str) -> Result<Statement, DbError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client()?.prepare(&placeholders(sql))?;
        self.statements.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }

    /// A failed statement is prepared afresh next time, in case the failure was its plan's
    /// (e.g. another instance changed the schema under it).
    fn forget_on_error<T>(
        &mut self,
        sql: &str,
        result: Result<T, postgres::Error>,
    ) -> Result<T, DbError> {
        if result.is_err() {
            self.statements.remove(sql);
        }
        Ok(result?)
    }
}

/// Whether an error means the connection is gone: closed, broken, or ended by the server
/// (a FATAL error such as an administrator's `pg_terminate_backend`, or a shutdown).
fn connection_lost(error: &postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    if let Some(db) = error.as_db_error() {
        return matches!(
            db.parsed_severity(),
            Some(Severity::Fatal) | Some(Severity::Panic)
        );
    }
    error
        .source()
        .is_some_and(|cause| cause.is::<std::io::Error>())
}

fn refs(params: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

/// The store's SQL uses SQLite's `?N` placeholders; PostgreSQL's are `$N`. Quoted text and
/// identifiers are left alone.
pub(crate) fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) => {
                out.push('$');
                continue;
            }
            None => {}
        }
        out.push(c);
    }
    out
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                _ => Err(format!("cannot store an integer in a parameter of type {ty}").into()),
            },
            Value::Text(text) if <&str as ToSql>::accepts(ty) => text.as_str().to_sql(ty, out),
            Value::Text(_) => Err(format!("cannot store text in a parameter of type {ty}").into()),
            Value::Other(what) => Err(format!("cannot store {what}").into()),
        }
    }

    /// Every type: `to_sql` checks the value against the parameter's type itself.
    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for Value {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Value, Box<dyn StdError + Sync + Send>> {
        Ok(match *ty {
            Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Int(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => Value::Int(i16::from_sql(ty, raw)?.into()),
            Type::BOOL => Value::Int(bool::from_sql(ty, raw)?.into()),
            _ if <&str as FromSql>::accepts(ty) => Value::Text(<&str>::from_sql(ty, raw)?.into()),
            _ => Value::Other(format!("a value of type {ty}")),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Value, Box<dyn StdError + Sync + Send>> {
        Ok(Value::Null)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_dollars_outside_quotes() {
        assert_eq!(
            placeholders("SELECT '?1', \"?2\" FROM t WHERE a = ?1 AND b = ?12"),
            "SELECT '?1', \"?2\" FROM t WHERE a = $1 AND b = $12"
        );
        assert_eq!(placeholders("a ? b"), "a ? b");
    }

    #[test]
    fn redaction_drops_passwords() {
        assert_eq!(
            redact("postgres://assay:hunter2@db.example:5433/assay"),
            "postgres://assay@db.example:5433/assay"
        );
        assert_eq!(
            redact("postgresql://db.example/assay?password=hunter2&sslmode=disable"),
            "postgresql://db.example/assay?sslmode=disable"
        );
        assert_eq!(
            redact("postgresql://db.example/assay?password=hunter2"),
            "postgresql://db.example/assay"
        );
        assert_eq!(
            redact("postgres://db.example/assay"),
            "postgres://db.example/assay"
        );
        assert!(!redact("postgres://a:hunter2@[bad").contains("hunter2"));
    }

    #[test]
    fn only_postgres_schemes_are_postgres_urls() {
        assert!(is_postgres_url("postgres://h/db"));
        assert!(is_postgres_url("PostgreSQL://h/db"));
        assert!(!is_postgres_url("sqlite://x.db"));
        assert!(!is_postgres_url("/tmp/postgres.db"));
    }
}
