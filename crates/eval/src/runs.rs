//! The runs of a store as a listing, read from the configuration each run was stored with
//! (whose JSON layout is this crate's business, not its callers').

use assay_store::{RunCounts, RunStatus, Store, StoreError};
use serde::Serialize;
use serde_json::Value;

/// One run in a listing: what `assay runs` shows (and, as JSON, `assay runs --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunListing {
    pub id: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub finished_at: Option<String>,
    /// When its newest answer was asked (RFC 3339); `None` before any.
    pub last_answer_at: Option<String>,
    pub status: RunStatus,
    /// Counts over the latest attempt of each request (`answered`, `errors`, `cached`).
    #[serde(flatten)]
    pub counts: RunCounts,
    /// The models asked, by name, with credentials redacted.
    pub models: Vec<String>,
    /// The suites asked, by name.
    pub suites: Vec<String>,
}

/// Every run of the store, newest first. A run whose stored configuration this build cannot
/// read (an older layout) is listed with the names it can find, rather than failing the list.
pub fn list_runs(store: &Store) -> Result<Vec<RunListing>, StoreError> {
    let mut last_answers = store.last_answer_times()?;
    Ok(store
        .runs()?
        .into_iter()
        .map(|summary| {
            let run = summary.run;
            RunListing {
                models: names(&run.config, "/config/models")
                    .iter()
                    // Runs stored before names were redacted must not show their credentials.
                    .map(|name| assay_core::redact(name))
                    .collect(),
                suites: names(&run.config, "/suites"),
                last_answer_at: last_answers.remove(&run.id),
                id: run.id,
                created_at: run.created_at,
                finished_at: run.finished_at,
                status: run.status,
                counts: summary.counts,
            }
        })
        .collect())
}

/// A run as a reader of many runs chooses it: when, whether finished, which models and suites.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunHeader {
    pub id: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub status: RunStatus,
    /// The models asked, by name, with credentials redacted.
    pub models: Vec<String>,
    /// The suites asked, by name.
    pub suites: Vec<String>,
}

/// Every run of the store, newest first, without the counts [`list_runs`] reads every answer
/// of the store for.
pub fn run_headers(store: &Store) -> Result<Vec<RunHeader>, StoreError> {
    Ok(store
        .run_rows()?
        .into_iter()
        .map(|run| RunHeader {
            models: names(&run.config, "/config/models")
                .iter()
                .map(|name| assay_core::redact(name))
                .collect(),
            suites: names(&run.config, "/suites"),
            id: run.id,
            created_at: run.created_at,
            status: run.status,
        })
        .collect())
}

/// The names in the array at `pointer`: strings, or objects with a `name`.
fn names(config: &Value, pointer: &str) -> Vec<String> {
    config
        .pointer(pointer)
        .and_then(Value::as_array)
        .map(|values| {
            values
                .iter()
                .filter_map(|v| v.as_str().or_else(|| v.get("name")?.as_str()))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_come_from_strings_or_objects_and_missing_arrays_are_empty() {
        let config = json!({
            "config": {"models": ["local:m", {"name": "openai:gpt"}, 3]},
            "suites": [{"name": "sensitive", "items": 2}],
        });
        assert_eq!(names(&config, "/config/models"), ["local:m", "openai:gpt"]);
        assert_eq!(names(&config, "/suites"), ["sensitive"]);
        assert!(names(&json!({"config": 1}), "/config/models").is_empty());
    }
}
