//! The one error type of the routes: JSON `{"error": {"code", "message"}}` with a status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// An error as JSON `{"error": {"code", "message"}}` with its status.
#[derive(Debug)]
pub struct WebError {
    pub(crate) status: StatusCode,
    code: &'static str,
    message: String,
}

impl WebError {
    pub(crate) fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> WebError {
        WebError {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}

pub(crate) fn too_large(limit: usize) -> WebError {
    WebError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "prompt_too_large",
        format!(
            "the prompt is too long: the limit is {} ({limit} bytes)",
            human_bytes(limit)
        ),
    )
}

pub(crate) fn human_bytes(n: usize) -> String {
    if n >= 1024 && n & 1023 == 0 {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

pub(crate) fn conflict(code: &'static str, message: &str) -> WebError {
    WebError::new(StatusCode::CONFLICT, code, message)
}

pub(crate) fn unknown_battle() -> WebError {
    WebError::new(
        StatusCode::NOT_FOUND,
        "unknown_battle",
        "this battle is unknown or has expired; start a new battle",
    )
}

pub(crate) fn store_error(e: impl std::fmt::Display) -> WebError {
    tracing::error!("arena store: {e}");
    WebError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "store",
        "the vote could not be recorded; please try again",
    )
}
