//! What both backends share: the values that go into and come out of statements, rows, and
//! the errors a backend can answer with. The store's queries are written once against these;
//! `sqlite.rs` and `postgres.rs` only move values in and out of their client libraries.

/// A statement parameter or a column value. The schema only has TEXT and integer columns.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Int(i64),
    Text(String),
    /// A value of a type this crate never writes (a float, a blob, …), described for the
    /// "invalid value" error that reading it gives.
    Other(String),
}

impl From<i64> for Value {
    fn from(value: i64) -> Value {
        Value::Int(value)
    }
}

impl From<bool> for Value {
    fn from(value: bool) -> Value {
        Value::Int(i64::from(value))
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Value {
        Value::Text(value.to_string())
    }
}

impl From<&String> for Value {
    fn from(value: &String) -> Value {
        Value::Text(value.clone())
    }
}

impl From<String> for Value {
    fn from(value: String) -> Value {
        Value::Text(value)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Value {
        value.map_or(Value::Null, Into::into)
    }
}

/// `params![a, b]`: statement parameters, each converted with `Value::from`.
macro_rules! params {
    ($($value:expr),* $(,)?) => {
        &[$($crate::db::Value::from($value)),*][..]
    };
}
pub(crate) use params;

/// A Rust type a column is read as.
pub(crate) trait FromValue: Sized {
    /// What the column should hold, for error messages.
    const EXPECTED: &'static str;
    fn from_value(value: Value) -> Result<Self, Value>;
}

/// `FromValue` for a type held by one [`Value`] variant.
macro_rules! from_value {
    ($type:ty, $variant:ident, $expected:literal) => {
        impl FromValue for $type {
            const EXPECTED: &'static str = $expected;
            fn from_value(value: Value) -> Result<Self, Value> {
                match value {
                    Value::$variant(inner) => Ok(inner),
                    other => Err(other),
                }
            }
        }
    };
}

from_value!(i64, Int, "an integer");
from_value!(String, Text, "text");

impl<T: FromValue> FromValue for Option<T> {
    const EXPECTED: &'static str = T::EXPECTED;
    fn from_value(value: Value) -> Result<Self, Value> {
        match value {
            Value::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// One result row, its columns in the order the query selected them.
#[derive(Debug)]
pub(crate) struct DbRow(pub(crate) Vec<Value>);

impl DbRow {
    /// Checks the row has `expected` columns, before they are taken one by one.
    pub(crate) fn expect_columns(&self, expected: usize) -> Result<(), String> {
        if self.0.len() == expected {
            Ok(())
        } else {
            Err(format!(
                "the row has {} columns, not {expected}",
                self.0.len()
            ))
        }
    }

    /// Takes column `index` out of the row (each column is read once). The error describes the
    /// mismatch, for a [`crate::StoreError::Corrupt`].
    pub(crate) fn take<T: FromValue>(&mut self, index: usize) -> Result<T, String> {
        let value = self
            .0
            .get_mut(index)
            .map(|slot| std::mem::replace(slot, Value::Null))
            .ok_or_else(|| format!("the row has no column {index}"))?;
        T::from_value(value).map_err(|value| {
            let found = match value {
                Value::Null => "NULL".to_string(),
                Value::Int(i) => format!("the integer {i}"),
                Value::Text(_) => "text".to_string(),
                Value::Other(what) => what,
            };
            format!("column {index} holds {found}, not {}", T::EXPECTED)
        })
    }
}

/// What a row is read as: a tuple with one element per selected column, in order, e.g.
/// `(String, Option<i64>)` for `SELECT name, count …`; or `()` when only the row's existence
/// matters. The error describes the mismatch, for a [`crate::StoreError::Corrupt`].
pub(crate) trait FromRow: Sized {
    fn from_row(row: DbRow) -> Result<Self, String>;
}

impl FromRow for () {
    fn from_row(_: DbRow) -> Result<(), String> {
        Ok(())
    }
}

macro_rules! tuple_from_row {
    ($($column:ident $index:tt),+) => {
        impl<$($column: FromValue),+> FromRow for ($($column,)+) {
            fn from_row(mut row: DbRow) -> Result<Self, String> {
                row.expect_columns([$($index),+].len())?;
                Ok(($(row.take::<$column>($index)?,)+))
            }
        }
    };
}

tuple_from_row!(A 0);
tuple_from_row!(A 0, B 1);
tuple_from_row!(A 0, B 1, C 2);
tuple_from_row!(A 0, B 1, C 2, D 3);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14);
tuple_from_row!(
    A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15
);
tuple_from_row!(
    A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15, Q 16
);
tuple_from_row!(
    A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15, Q 16,
    R 17
);

/// What kind of transaction to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxKind {
    /// A consistent snapshot for several reads.
    Read,
    /// Writes; takes SQLite's write lock up front.
    Write,
    /// Schema migration: a write that, on PostgreSQL, also holds the migration advisory lock.
    Migrate,
}

/// A failure of the database client, before the store adds which database and what it was
/// doing.
#[derive(Debug)]
pub(crate) enum DbError {
    Sqlite(rusqlite::Error),
    Postgres(postgres::Error),
    /// The PostgreSQL connection cannot be used (its worker thread stopped, or the connection
    /// was lost inside a transaction).
    Disconnected(String),
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> DbError {
        DbError::Sqlite(e)
    }
}

impl From<postgres::Error> for DbError {
    fn from(e: postgres::Error) -> DbError {
        DbError::Postgres(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(values: Vec<Value>) -> DbRow {
        DbRow(values)
    }

    #[test]
    fn a_row_reads_as_a_tuple_of_its_columns() {
        let read: (i64, String, Option<String>) = FromRow::from_row(row(vec![
            Value::Int(7),
            Value::Text("a".to_string()),
            Value::Null,
        ]))
        .unwrap();
        assert_eq!(read, (7, "a".to_string(), None));
    }

    #[test]
    fn a_row_of_another_width_or_type_is_refused_with_the_column() {
        let too_wide = <(i64,)>::from_row(row(vec![Value::Int(1), Value::Int(2)]));
        assert_eq!(too_wide.unwrap_err(), "the row has 2 columns, not 1");
        let wrong_type =
            <(i64, i64)>::from_row(row(vec![Value::Int(1), Value::Text("x".to_string())]));
        assert_eq!(
            wrong_type.unwrap_err(),
            "column 1 holds text, not an integer"
        );
        let null = <(String,)>::from_row(row(vec![Value::Null]));
        assert_eq!(null.unwrap_err(), "column 0 holds NULL, not text");
    }
}
