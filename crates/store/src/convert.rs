//! Values in and out of columns: JSON as text, unsigned integers as signed BIGINTs, timestamps
//! in one fixed format; each failure an error that names the value.

use crate::{Store, StoreError};

impl Store {
    /// An RFC 3339 timestamp in the one format votes are stored in: UTC, milliseconds, `Z`.
    pub(crate) fn timestamp(
        &self,
        value: &str,
        what: impl FnOnce() -> String,
    ) -> Result<String, StoreError> {
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

    pub(crate) fn invalid(&self, what: String, detail: String) -> StoreError {
        StoreError::InvalidValue {
            path: self.path.clone(),
            what,
            detail,
        }
    }

    pub(crate) fn encode(
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

    pub(crate) fn encode_opt(
        &self,
        value: Option<&serde_json::Value>,
        what: impl FnOnce() -> String,
    ) -> Result<Option<String>, StoreError> {
        value.map(|v| self.encode(v, what)).transpose()
    }

    /// An unsigned value into a database BIGINT, refusing values that would wrap negative.
    pub(crate) fn db_int(
        &self,
        value: u64,
        what: impl FnOnce() -> String,
    ) -> Result<i64, StoreError> {
        i64::try_from(value).map_err(|_| StoreError::OutOfRange {
            path: self.path.clone(),
            what: what(),
            value,
        })
    }

    pub(crate) fn db_int_opt(
        &self,
        value: Option<u64>,
        what: impl FnOnce() -> String,
    ) -> Result<Option<i64>, StoreError> {
        value.map(|v| self.db_int(v, what)).transpose()
    }

    pub(crate) fn corrupt(&self, what: String, detail: String) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            what,
            detail,
        }
    }

    /// A database integer back into the unsigned type it was written from.
    pub(crate) fn read_int<T: TryFrom<i64>>(
        &self,
        value: i64,
        what: impl FnOnce() -> String,
    ) -> Result<T, StoreError> {
        T::try_from(value).map_err(|_| self.corrupt(what(), format!("{value} is out of range")))
    }

    pub(crate) fn read_int_opt<T: TryFrom<i64>>(
        &self,
        value: Option<i64>,
        what: impl FnOnce() -> String,
    ) -> Result<Option<T>, StoreError> {
        value.map(|v| self.read_int(v, what)).transpose()
    }

    pub(crate) fn decode(
        &self,
        text: &str,
        what: impl FnOnce() -> String,
    ) -> Result<serde_json::Value, StoreError> {
        serde_json::from_str(text)
            .map_err(|e| self.corrupt(what(), format!("not valid JSON ({e})")))
    }

    pub(crate) fn decode_opt(
        &self,
        text: Option<&str>,
        what: impl FnOnce() -> String,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        text.map(|t| self.decode(t, what)).transpose()
    }
}
