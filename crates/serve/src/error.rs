//! Errors in OpenAI's JSON shape. What went wrong upstream stays in the server log: a client
//! gets a short message and a request id to quote, never the upstream's address or its body.

use assay_core::openai::ErrorResponse;
use assay_models::ModelError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// The response header that carries the request id of an error.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// An error in OpenAI's JSON shape with its HTTP status.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    kind: &'static str,
    message: String,
    /// Set for errors whose details were logged rather than shown.
    request_id: Option<String>,
    /// An upstream's `Retry-After`, passed on with its 429 or 503.
    retry_after: Option<std::time::Duration>,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            kind,
            message: message.into(),
            request_id: None,
            retry_after: None,
        }
    }

    /// The JSON body of the error (also what an error event in a stream carries).
    pub fn body(&self) -> ErrorResponse {
        ErrorResponse::new(self.kind, self.message.clone())
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The id under which the server log has this error's details, if it has them.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if let Some(value) = self
            .request_id
            .as_deref()
            .and_then(|id| HeaderValue::from_str(id).ok())
        {
            response.headers_mut().insert(REQUEST_ID_HEADER, value);
        }
        if let Some(wait) = self.retry_after {
            // Whole seconds, rounded up: a client that retries early is refused again.
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// A fresh request id, `req-` and 16 hex digits.
pub fn new_request_id() -> String {
    format!("req-{:016x}", rand::random::<u64>())
}

impl From<ModelError> for ApiError {
    /// A failure of the model behind the server. What the client did wrong (a prompt longer
    /// than the context, a full server) is said; anything about the upstream (its address,
    /// its error body) goes to the log, redacted, under a request id the client is given.
    fn from(e: ModelError) -> Self {
        let request_id = new_request_id();
        // Display redacts already; redacting again costs nothing and survives a change there.
        let details = assay_core::redact(&e.to_string());
        let (status, kind, message) = match &e {
            ModelError::InvalidRequest(_) => {
                tracing::info!(request_id, error = %details, "request refused by the model");
                (StatusCode::BAD_REQUEST, "invalid_request_error", details)
            }
            ModelError::Busy(_) => {
                tracing::info!(request_id, error = %details, "model busy");
                (StatusCode::SERVICE_UNAVAILABLE, "server_busy", details)
            }
            ModelError::Http { status, .. } => {
                tracing::warn!(request_id, error = %details, "the upstream model refused or failed");
                let (status, kind) = upstream_status(*status);
                let message = if status.is_client_error() {
                    format!(
                        "the upstream model refused the request (HTTP {}); request id {request_id}",
                        status.as_u16()
                    )
                } else {
                    format!("the upstream model failed; request id {request_id}")
                };
                (status, kind, message)
            }
            ModelError::Connect { .. } | ModelError::Protocol { .. } => {
                tracing::warn!(request_id, error = %details, "the upstream model failed");
                (
                    StatusCode::BAD_GATEWAY,
                    "upstream_error",
                    format!("the upstream model failed; request id {request_id}"),
                )
            }
            ModelError::Timeout { .. } => {
                tracing::warn!(request_id, error = %details, "the upstream model timed out");
                (
                    StatusCode::GATEWAY_TIMEOUT,
                    "upstream_timeout",
                    format!("the upstream model did not answer in time; request id {request_id}"),
                )
            }
            ModelError::Config(_) | ModelError::Engine(_) => {
                tracing::error!(request_id, error = %details, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    format!("internal error; request id {request_id}"),
                )
            }
        };
        let retry_after = match &e {
            ModelError::Http { retry_after, .. } => *retry_after,
            _ => None,
        };
        ApiError {
            status,
            kind,
            message,
            request_id: Some(request_id),
            retry_after,
        }
    }
}

/// The status a client gets for an upstream's error status. A 4xx is about the request and
/// is passed on (a 429 tells the client to slow down), except those that are about this
/// server's own credentials or configuration (401, 403, 404, 407): the client can do nothing
/// about them, so they are a bad gateway like every 5xx.
fn upstream_status(status: u16) -> (StatusCode, &'static str) {
    match StatusCode::from_u16(status) {
        Ok(StatusCode::TOO_MANY_REQUESTS) => (StatusCode::TOO_MANY_REQUESTS, "rate_limit_exceeded"),
        Ok(
            StatusCode::UNAUTHORIZED
            | StatusCode::FORBIDDEN
            | StatusCode::NOT_FOUND
            | StatusCode::PROXY_AUTHENTICATION_REQUIRED,
        ) => (StatusCode::BAD_GATEWAY, "upstream_error"),
        Ok(s) if s.is_client_error() => (s, "invalid_request_error"),
        _ => (StatusCode::BAD_GATEWAY, "upstream_error"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(status: u16) -> ModelError {
        ModelError::Http {
            url: "http://admin:s3cretpw@127.0.0.1:9/v1/chat/completions".into(),
            status,
            message: "prompt of 99999 tokens is too long for deployment internal-7".into(),
            retry_after: None,
        }
    }

    #[test]
    fn upstream_errors_show_a_request_id_and_nothing_of_the_upstream() {
        for (upstream_status, status) in [
            (400, 400),
            (413, 413),
            (422, 422),
            (429, 429),
            (401, 502),
            (404, 502),
            (500, 502),
            (503, 502),
        ] {
            let error = ApiError::from(upstream(upstream_status));
            assert_eq!(
                error.status().as_u16(),
                status,
                "upstream {upstream_status}"
            );
            let id = error.request_id().expect("a request id").to_string();
            let response = error.into_response();
            assert_eq!(response.headers()[REQUEST_ID_HEADER], id.as_str());
        }
        let error = ApiError::from(upstream(400));
        let message = error.body().error.message;
        assert!(
            message.contains(error.request_id().unwrap_or("?")),
            "{message}"
        );
        for secret in ["s3cretpw", "admin", "127.0.0.1", "internal-7", "99999"] {
            assert!(!message.contains(secret), "{message}");
        }
        let limited = ApiError::from(ModelError::Http {
            url: "http://h/v1".into(),
            status: 429,
            message: "slow down".into(),
            retry_after: Some(std::time::Duration::from_millis(1500)),
        });
        assert_eq!(limited.into_response().headers()[header::RETRY_AFTER], "2");
        let timeout = ApiError::from(ModelError::Timeout {
            url: "http://admin:s3cretpw@h/v1".into(),
            what: "first token",
            after: std::time::Duration::from_secs(60),
        });
        assert_eq!(timeout.status(), StatusCode::GATEWAY_TIMEOUT);
        assert!(!timeout.body().error.message.contains("s3cretpw"));
    }

    #[test]
    fn the_model_s_own_refusals_keep_their_reason() {
        let error = ApiError::from(ModelError::InvalidRequest(
            "the prompt (3000 tokens) does not fit the context (256)".into(),
        ));
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        assert!(error.body().error.message.contains("context"));
        let error = ApiError::from(ModelError::Busy("all slots taken".into()));
        assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
