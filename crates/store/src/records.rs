//! The rows the store writes and reads, as its callers see them.

use serde::{Deserialize, Serialize};

/// The voter of votes a judge model cast (`judge:<model>`, see `assay audit --pairwise`);
/// human voters never start so.
pub const JUDGE_VOTER_PREFIX: &str = "judge:";

/// The values [`VoteRecord::winner`] may take.
pub const VOTE_WINNERS: [&str; 4] = ["model_a", "model_b", "tie", "tie (bothbad)"];

/// The values [`ReviewLabel::label`] may take: the refusal grader's three labels, and `skip`
/// for an answer the reviewer would rather not judge (kept, so that it is not offered again, and
/// left out of agreement).
pub const REVIEW_LABELS: [&str; 4] = ["comply", "partial", "refuse", "skip"];

/// Where a run stands; stored as its lowercase name (`running`, `finished`, `interrupted`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Being asked (or stopped without a word: killed).
    Running,
    /// Every request was asked.
    Finished,
    /// Stopped by the user (Ctrl-C); resumable.
    Interrupted,
}

impl RunStatus {
    pub const ALL: [RunStatus; 3] = [
        RunStatus::Running,
        RunStatus::Finished,
        RunStatus::Interrupted,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Finished => "finished",
            RunStatus::Interrupted => "interrupted",
        }
    }

    /// The status with this stored name.
    pub fn from_name(name: &str) -> Option<RunStatus> {
        RunStatus::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `pad`, so that widths in format strings apply.
        f.pad(self.as_str())
    }
}

/// A run to create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewRun {
    pub id: String,
    /// RFC 3339.
    pub created_at: String,
    pub status: RunStatus,
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
    pub status: RunStatus,
    pub config: serde_json::Value,
}

/// A run with its counts, for listings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub run: RunRow,
    pub counts: RunCounts,
}

/// A run's analysis as kept in the store: valid while `revision` is the run's revision and
/// `format` names the code reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptAnalysis {
    pub revision: i64,
    /// Which code wrote `body` (readers keep only what they wrote themselves).
    pub format: String,
    pub body: String,
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

/// What [`Store::delete_run`](crate::Store::delete_run) removed with a run: rows of each
/// table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunDeleted {
    pub items: u64,
    /// Attempts (a retried request counts each attempt).
    pub answers: u64,
    pub grades: u64,
    /// People's labels from `assay review`.
    pub reviews: u64,
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

/// Which guard events [`Store::guard_events`](crate::Store::guard_events) returns.
#[derive(Debug, Clone, Default)]
pub struct GuardEventFilter {
    /// Events at or after it: an RFC 3339 time, or an age before now (`30m`, `1h`, `2d`,
    /// `1w`; also `s`).
    pub since: Option<String>,
    pub key_id: Option<String>,
    pub category: Option<String>,
    /// The newest this many (all when `None`).
    pub limit: Option<usize>,
}

/// A person's label on one answer of a run (`assay review`); one per answer and reviewer.
///
/// `created_at` is RFC 3339 in any offset; the store normalises it to UTC with milliseconds
/// (`2024-05-01T10:00:00.000Z`), as it does [`VoteRecord`]'s, and that is what reading it back
/// gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewLabel {
    /// The labelled attempt ([`StoredAnswer::id`]).
    pub answer_id: i64,
    pub reviewer: String,
    /// One of [`REVIEW_LABELS`]: `comply`, `partial`, `refuse` or `skip`.
    pub label: String,
    pub note: Option<String>,
    /// RFC 3339 time the label was given.
    pub created_at: String,
}

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
/// [`Store::votes`](crate::Store::votes) and [`Store::votes_by_voter_since`](crate::Store::votes_by_voter_since) rely on (and which would not hold for
/// `…10:00:00Z` against `…10:00:00.5Z`, nor across offsets).
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

impl VoteRecord {
    /// Whether a judge model cast the vote (rated apart from people's votes).
    pub fn is_judge(&self) -> bool {
        self.voter_id.starts_with(JUDGE_VOTER_PREFIX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_status_has_one_name_in_the_store_in_json_and_on_screen() {
        for status in RunStatus::ALL {
            assert_eq!(RunStatus::from_name(status.as_str()), Some(status));
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::json!(status.as_str())
            );
        }
        assert_eq!(RunStatus::from_name("Finished"), None);
        assert_eq!(format!("{:<11}|", RunStatus::Running), "running    |");
    }
}
