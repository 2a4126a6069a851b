//! Exclusive use of the store's connection: single statements, transactions, and reading
//! rows into tuples.

use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::Connection;

use crate::db::{DbError, DbRow, FromRow, TxKind, Value};
use crate::error::db_error;
use crate::pg::PgClient;
use crate::{sqlite, Store, StoreError};

/// The database behind a [`Store`]. Private so that callers do not depend on which.
pub(crate) enum Backend {
    Sqlite(Mutex<Connection>),
    Postgres(Mutex<PgClient>),
}

/// Exclusive use of the store's connection, for one statement or one transaction.
pub(crate) enum Session<'a> {
    Sqlite(MutexGuard<'a, Connection>),
    Postgres(MutexGuard<'a, PgClient>),
}

impl Session<'_> {
    pub(crate) fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
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
    pub(crate) fn batch(&mut self, sql: &str) -> Result<(), DbError> {
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

impl Store {
    /// The connection, for one statement or a transaction. A thread that panicked while holding
    /// it leaves it usable (an open transaction is rolled back when dropped), so poisoning is
    /// ignored rather than turning one panic into failures of every later call.
    pub(crate) fn session(&self) -> Session<'_> {
        match self.backend.as_ref() {
            Backend::Sqlite(conn) => {
                Session::Sqlite(conn.lock().unwrap_or_else(PoisonError::into_inner))
            }
            Backend::Postgres(client) => {
                Session::Postgres(client.lock().unwrap_or_else(PoisonError::into_inner))
            }
        }
    }

    /// Runs `f` in one transaction, committed when `f` succeeds and rolled back otherwise.
    pub(crate) fn transaction<T>(
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

    /// Runs a query and reads each row as a `T` (a tuple of the selected columns, see
    /// [`FromRow`]); a row that does not fit is [`StoreError::Corrupt`], naming `table`.
    pub(crate) fn select<T: FromRow>(
        &self,
        session: &mut Session<'_>,
        sql: &str,
        params: &[Value],
        context: impl FnOnce() -> String,
        table: &str,
    ) -> Result<Vec<T>, StoreError> {
        let rows = session.query(sql, params).map_err(self.db_err(context))?;
        rows.into_iter()
            .map(|row| {
                T::from_row(row).map_err(|detail| self.corrupt(format!("a row of {table}"), detail))
            })
            .collect()
    }

    /// [`Store::select`] on a session of its own, for a read outside any transaction.
    pub(crate) fn read_rows<T: FromRow>(
        &self,
        sql: &str,
        params: &[Value],
        context: impl FnOnce() -> String,
        table: &str,
    ) -> Result<Vec<T>, StoreError> {
        self.select(&mut self.session(), sql, params, context, table)
    }

    /// Wraps a database error with this database's name and a description made on failure
    /// only.
    pub(crate) fn db_err<'a, F: FnOnce() -> String + 'a>(
        &'a self,
        context: F,
    ) -> impl FnOnce(DbError) -> StoreError + 'a {
        move |error| db_error(&self.path, context(), error)
    }
}
