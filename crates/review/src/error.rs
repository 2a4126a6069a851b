//! The crate's one error type: what loading a run, exporting labels or a request can fail with,
//! and, as an HTTP answer, JSON `{"error": {"code", "message"}}` with a status.

use std::path::PathBuf;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error(transparent)]
    Store(#[from] assay_store::StoreError),
    /// The run has no answer a person could label (no successful answer with a refusal grade).
    #[error("run {0:?} has no answers to review (none answered with a refusal grade)")]
    NothingToReview(String),
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A labels file (`assay review export`) that cannot be read.
    #[error("{}: {message}", .path.display())]
    Read { path: PathBuf, message: String },
    /// A request that cannot be carried out as sent (400).
    #[error("{0}")]
    BadRequest(String),
    /// No such page or route (404).
    #[error("{0}")]
    NotFound(String),
    /// An answer id that is not in this reviewer's sample (404).
    #[error("answer {0} is not in this review's sample")]
    NotInSample(i64),
    /// Undo with no label to take back (409).
    #[error("there is no label to undo")]
    NothingToUndo,
    /// A blocking task of the server failed (a panic): a bug.
    #[error("internal error: {0}")]
    Internal(String),
}

impl IntoResponse for ReviewError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            ReviewError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ReviewError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ReviewError::NotInSample(_) => (StatusCode::NOT_FOUND, "not_in_sample"),
            ReviewError::NothingToUndo => (StatusCode::CONFLICT, "nothing_to_undo"),
            ReviewError::Store(_)
            | ReviewError::NothingToReview(_)
            | ReviewError::Write { .. }
            | ReviewError::Read { .. }
            | ReviewError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            // The detail names the database (and may hold what a URL held); it goes to the
            // terminal that started the server, not to the page.
            tracing::error!("assay review: {self}");
            "the label could not be stored; see the terminal running assay review".to_string()
        } else {
            self.to_string()
        };
        let body = json!({"error": {"code": code, "message": message}});
        (status, Json(body)).into_response()
    }
}
