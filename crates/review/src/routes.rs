//! The routes, the headers every response gets, and the handlers. Handlers reach the store on
//! blocking threads (it is synchronous).

use std::sync::Arc;

use assay_web::security;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Request, State as AxumState};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::{pages, Review, ReviewError, State};

type AppState = Arc<Review>;

pub(crate) fn routes(review: AppState) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/api/state", get(state))
        .route("/api/label", post(label))
        .route("/api/undo", post(undo))
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(security::security_headers))
        .with_state(review)
}

async fn not_found(request: Request) -> ReviewError {
    ReviewError::NotFound(format!(
        "no page at {} {}",
        request.method(),
        request.uri().path()
    ))
}

async fn page(AxumState(review): AxumState<AppState>) -> Response {
    let nonce = security::nonce();
    let html = pages::review_page(&nonce, &review);
    let mut response = Html(html).into_response();
    if let Ok(csp) = HeaderValue::from_str(&security::page_csp(&nonce, true)) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response
}

/// Runs `f` with the review on a blocking thread.
async fn blocking(
    review: AppState,
    f: impl FnOnce(&Review) -> Result<State, ReviewError> + Send + 'static,
) -> Result<Json<State>, ReviewError> {
    tokio::task::spawn_blocking(move || f(review.as_ref()))
        .await
        .map_err(|e| ReviewError::Internal(format!("a store task failed: {e}")))?
        .map(Json)
}

async fn state(AxumState(review): AxumState<AppState>) -> Result<Json<State>, ReviewError> {
    blocking(review, Review::state).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LabelBody {
    answer_id: i64,
    label: String,
    #[serde(default)]
    note: Option<String>,
}

fn body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ReviewError> {
    body.map(|Json(b)| b)
        .map_err(|e| ReviewError::BadRequest(format!("the request body is not understood: {e}")))
}

async fn label(
    AxumState(review): AxumState<AppState>,
    sent: Result<Json<LabelBody>, JsonRejection>,
) -> Result<Json<State>, ReviewError> {
    let sent = body(sent)?;
    blocking(review, move |r| {
        r.label(sent.answer_id, &sent.label, sent.note.as_deref())
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UndoBody {}

async fn undo(
    AxumState(review): AxumState<AppState>,
    sent: Result<Json<UndoBody>, JsonRejection>,
) -> Result<Json<State>, ReviewError> {
    body(sent)?;
    blocking(review, Review::undo).await
}
