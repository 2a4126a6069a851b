//! What the store's test binaries share: records to store, and fresh databases of either
//! backend.
#![allow(dead_code)] // Each test binary uses its own part.

pub mod postgres;

use std::path::PathBuf;

use assay_store::{AnswerRecord, GradeRecord, ItemRow, NewRun, RequestKey, Store, VoteRecord};
use serde_json::json;
use tempfile::TempDir;

/// Which database a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty database (SQLite: a file in a temporary directory, under subdirectories
/// that do not exist yet; PostgreSQL: a new database on the shared test server), opened with
/// [`Store::open_url`] as often as a test likes.
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    _dir: Option<TempDir>,
}

impl TestDb {
    pub fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("nested/dirs/assay.db");
                TestDb {
                    backend,
                    url: path.to_str().unwrap().to_string(),
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => TestDb {
                backend,
                url: postgres::shared().create_database(),
                _dir: None,
            },
        }
    }

    /// A new [`Store`] on this database.
    pub fn open(&self) -> Store {
        Store::open_url(&self.url).unwrap_or_else(|e| panic!("cannot open {}: {e}", self.url))
    }

    /// What [`Store::path`] should answer.
    pub fn expected_path(&self) -> PathBuf {
        PathBuf::from(&self.url)
    }

    /// Runs SQL on the database behind the store's back and answers the first column of the
    /// first row as an integer (or 0 when no row came back).
    pub fn raw_i64(&self, sql: &str) -> i64 {
        match self.backend {
            Backend::Sqlite => {
                let conn = rusqlite::Connection::open(&self.url).unwrap();
                conn.query_row(sql, [], |row| row.get(0)).unwrap_or(0)
            }
            Backend::Postgres => postgres::with_client(&self.url, |client| {
                let rows = client.query(sql, &[])?;
                Ok(rows.first().map_or(0, |row| row.get::<_, i64>(0)))
            })
            .unwrap(),
        }
    }

    /// Runs statements on the database behind the store's back.
    pub fn raw_execute(&self, sql: &str) {
        match self.backend {
            Backend::Sqlite => rusqlite::Connection::open(&self.url)
                .unwrap()
                .execute_batch(sql)
                .unwrap(),
            Backend::Postgres => {
                postgres::with_client(&self.url, |client| client.batch_execute(sql)).unwrap()
            }
        }
    }
}

pub fn new_run(id: &str, created_at: &str) -> NewRun {
    NewRun {
        id: id.to_string(),
        created_at: created_at.to_string(),
        status: assay_store::RunStatus::Running,
        config: json!({"models": ["m1"], "samples": 2, "nested": {"z": 1, "a": [1, 2]}}),
    }
}

/// An open item `a` in English that expects an answer.
pub fn open_item(suite: &str, category: &str) -> ItemRow {
    ItemRow {
        suite: suite.to_string(),
        item_id: "a".to_string(),
        category: category.to_string(),
        kind: "open".to_string(),
        expect: Some("answer".to_string()),
        lang: "en".to_string(),
        prompt: "prompt".to_string(),
        choices: None,
        answer_key: None,
    }
}

pub fn key(model: &str, item_id: &str, sample: u32) -> RequestKey {
    RequestKey {
        model: model.to_string(),
        suite: "sensitive".to_string(),
        item_id: item_id.to_string(),
        lang: "en".to_string(),
        sample,
    }
}

pub fn grade(grader: &str, label: &str) -> GradeRecord {
    GradeRecord {
        grader: grader.to_string(),
        version: "1".to_string(),
        label: label.to_string(),
        rule: format!("{grader}-rule"),
        detail: Some(json!({"matched": label})),
    }
}

/// An attempt at `key`: `Ok(text)` a successful one, `Err(message)` a failed one.
pub fn attempt(run_id: &str, key: RequestKey, outcome: Result<&str, &str>) -> AnswerRecord {
    let (text, error) = match outcome {
        Ok(text) => (Some(text.to_string()), None),
        Err(error) => (None, Some(error.to_string())),
    };
    AnswerRecord {
        run_id: run_id.to_string(),
        cache_key: format!("ck-{}-{}-{}-{:?}", key.model, key.item_id, key.sample, text),
        seed: 7 + u64::from(key.sample),
        key,
        request: json!({"messages": [{"role": "user", "content": "hi"}], "seed": 7}),
        finish_reason: text.as_ref().map(|_| "stop".to_string()),
        prompt_tokens: Some(12),
        completion_tokens: text.as_ref().map(|_| 34),
        latency_ms: Some(56),
        text,
        error,
        cached: false,
        started_at: "2024-05-01T10:00:00Z".to_string(),
        grades: Vec::new(),
    }
}

/// A vote on `battle_id` by `voter_id` at `created_at`, already in the stored format (UTC,
/// milliseconds) so that it reads back equal.
pub fn vote(battle_id: &str, voter_id: &str, created_at: &str) -> VoteRecord {
    VoteRecord {
        battle_id: battle_id.to_string(),
        created_at: created_at.to_string(),
        battle_started_at: "2024-05-01T09:59:00.000Z".to_string(),
        model_a: "gemma3-270m".to_string(),
        model_b: "smollm2".to_string(),
        winner: "model_a".to_string(),
        conversation_a: json!([
            {"role": "user", "content": "你好，介绍一下你自己"},
            {"role": "assistant", "content": "我是一个语言模型。"}
        ]),
        conversation_b: json!([
            {"role": "user", "content": "你好，介绍一下你自己"},
            {"role": "assistant", "content": "Hello! I'm an assistant. \"Quotes\" and 'apostrophes'."}
        ]),
        language: "Chinese".to_string(),
        voter_id: voter_id.to_string(),
        ip_hash: "5f2b…".to_string(),
        identity_leak: false,
        turns: 1,
        metadata: json!({"style": {"length_a": 9, "length_b": 52, "markdown": 0.25}, "sampler": "uniform"}),
    }
}
