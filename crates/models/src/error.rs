use std::time::Duration;

/// Why a model call failed. The variants are what callers act on: retry, report, or give up.
///
/// Its text never carries credentials: the client builds it from redacted URLs, and
/// `Display` redacts again whatever a backend or an upstream's error body put in it.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The model cannot be used as configured (missing key, bad file, unknown catalogue name).
    Config(String),
    /// The request itself is unacceptable (prompt longer than the context, bad parameters).
    InvalidRequest(String),
    /// The model is at capacity; try again later.
    Busy(String),
    /// Could not connect, or the connection broke.
    Connect { url: String, message: String },
    /// The server answered with an error status.
    Http {
        url: String,
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    /// The server sent something that is not a valid answer (bad JSON, an error event mid-stream,
    /// a stream cut before `[DONE]`).
    Protocol { url: String, message: String },
    Timeout {
        url: String,
        what: &'static str,
        after: Duration,
    },
    /// The local engine failed.
    Engine(String),
}

impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            ModelError::Config(message) => message.clone(),
            ModelError::InvalidRequest(message) => format!("invalid request: {message}"),
            ModelError::Busy(message) => format!("model busy: {message}"),
            ModelError::Connect { url, message } => {
                format!("connection to {url} failed: {message}")
            }
            ModelError::Http {
                url,
                status,
                message,
                ..
            } => format!("{url} answered HTTP {status}: {message}"),
            ModelError::Protocol { url, message } => format!("bad response from {url}: {message}"),
            ModelError::Timeout { url, what, after } => {
                format!("{what} timed out after {after:?} ({url})")
            }
            ModelError::Engine(message) => format!("local engine: {message}"),
        };
        f.write_str(&assay_core::redact(&text))
    }
}

impl ModelError {
    /// Whether trying the same request again may succeed: the one rule the HTTP client retries
    /// by.
    pub fn is_retryable(&self) -> bool {
        match self {
            ModelError::Connect { .. } | ModelError::Busy(_) => true,
            ModelError::Http { status, .. } => *status == 429 || *status >= 500,
            // A slow server is not retried (only a connect timeout is): asking again adds load
            // and multiplies the wait.
            ModelError::Timeout { what, .. } => *what == "connect",
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_connect_timeout_is_retryable() {
        let timeout = |what| ModelError::Timeout {
            url: "http://127.0.0.1:9/v1/chat/completions".into(),
            what,
            after: Duration::from_secs(1),
        };
        assert!(timeout("connect").is_retryable());
        for what in ["request", "next token"] {
            assert!(!timeout(what).is_retryable(), "{what}");
        }
        let http = |status| ModelError::Http {
            url: "u".into(),
            status,
            message: String::new(),
            retry_after: None,
        };
        assert!(http(429).is_retryable() && http(503).is_retryable());
        assert!(!http(400).is_retryable() && !http(404).is_retryable());
        assert!(ModelError::Busy("full".into()).is_retryable());
        assert!(!ModelError::InvalidRequest("long".into()).is_retryable());
    }

    #[test]
    fn display_never_shows_credentials() {
        let e = ModelError::Http {
            url: "http://admin:s3cretpw@127.0.0.1:9/v1/chat/completions".into(),
            status: 400,
            message: "bad key Bearer sk-abcdefghijklmnopqrstuvwx".into(),
            retry_after: None,
        };
        let text = e.to_string();
        assert!(
            !text.contains("s3cretpw") && !text.contains("sk-abc"),
            "{text}"
        );
        assert!(
            text.contains("127.0.0.1:9") && text.contains("HTTP 400"),
            "{text}"
        );
        let e = ModelError::Config("cannot open https://h/v1?api_key=k123".into());
        assert_eq!(e.to_string(), "cannot open https://h/v1?api_key=***");
    }
}
