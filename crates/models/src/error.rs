use std::time::Duration;

/// Why a model call failed. The variants are what callers act on: retry, report, or give up.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The model cannot be used as configured (missing key, bad file, unknown catalogue name).
    #[error("{0}")]
    Config(String),
    /// The request itself is unacceptable (prompt longer than the context, bad parameters).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The model is at capacity; try again later.
    #[error("model busy: {0}")]
    Busy(String),
    /// Could not connect, or the connection broke.
    #[error("connection to {url} failed: {message}")]
    Connect { url: String, message: String },
    /// The server answered with an error status.
    #[error("{url} answered HTTP {status}: {message}")]
    Http {
        url: String,
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    /// The server sent something that is not a valid answer (bad JSON, an error event mid-stream,
    /// a stream cut before `[DONE]`).
    #[error("bad response from {url}: {message}")]
    Protocol { url: String, message: String },
    #[error("{what} timed out after {after:?} ({url})")]
    Timeout {
        url: String,
        what: &'static str,
        after: Duration,
    },
    /// The local engine failed.
    #[error("local engine: {0}")]
    Engine(String),
}

impl ModelError {
    /// Whether trying the same request again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            ModelError::Connect { .. } | ModelError::Timeout { .. } | ModelError::Busy(_) => true,
            ModelError::Http { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}
