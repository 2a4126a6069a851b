//! The routes, the headers every response gets, and the page and leaderboard handlers.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::board::{self, LeaderboardView};
use crate::chat::chat;
use crate::error::WebError;
use crate::extract::BoardQuery;
use crate::vote::vote;
use crate::{pages, security, AppState};

pub(crate) fn routes(state: AppState) -> Router {
    Router::new()
        .route("/", get(battle_page))
        .route("/leaderboard", get(leaderboard_page))
        .route("/board", get(board_page))
        .route("/api/leaderboard", get(leaderboard_json))
        .route("/api/chat", post(chat))
        .route("/api/vote", post(vote))
        .route("/health", get(health))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(security::security_headers))
        .with_state(state)
}

async fn not_found(request: Request) -> WebError {
    WebError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no page at {} {}", request.method(), request.uri().path()),
    )
}

async fn health(State(arena): State<AppState>) -> Json<serde_json::Value> {
    Json(json!({"status": "ok", "models": arena.models.len()}))
}

fn page_response(
    html: String,
    nonce: &str,
    with_script: bool,
    cookies: Vec<HeaderValue>,
) -> Response {
    let mut response = Html(html).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&security::page_csp(nonce, with_script)).expect("ASCII policy"),
    );
    for c in cookies {
        h.append(header::SET_COOKIE, c);
    }
    response
}

async fn battle_page(State(arena): State<AppState>, headers: HeaderMap) -> Response {
    let session = security::session(&headers, arena.config.secure_cookies);
    let nonce = security::nonce();
    let html = pages::battle_page(&nonce, &session.csrf, &arena.config);
    page_response(html, &nonce, true, session.set_cookies)
}

async fn leaderboard_view(
    arena: &AppState,
    query: &BoardQuery,
) -> Result<Arc<LeaderboardView>, WebError> {
    board::view(
        &arena.boards,
        arena.store.clone(),
        &arena.infos,
        board::Request {
            language: query.language()?,
            category: query.category()?,
            style_control: query.style_control(),
            bootstrap_rounds: arena.config.bootstrap_rounds,
            min_language_votes: arena.config.min_language_votes,
            preliminary_below: arena.config.preliminary_below,
            ttl: arena.config.leaderboard_ttl,
        },
    )
    .await
    .map_err(|e| {
        tracing::error!("arena leaderboard: {e}");
        WebError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "leaderboard",
            "the leaderboard could not be computed; see the server log",
        )
    })
}

async fn leaderboard_page(
    State(arena): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let view = leaderboard_view(&arena, &BoardQuery::from_params(&query)).await?;
    let nonce = security::nonce();
    let html = pages::leaderboard_page(&nonce, &view);
    Ok(page_response(html, &nonce, false, Vec::new()))
}

/// The board of the store's finished audit runs, the judge's votes and this arena's votes
/// (`assay board` as a page). Built per request, off the runtime.
async fn board_page(State(arena): State<AppState>) -> Result<Response, WebError> {
    let store = Arc::clone(&arena.store);
    let infos = arena.infos.clone();
    let built = tokio::task::spawn_blocking(move || {
        assay_board::from_store(
            &store,
            None,
            &assay_board::Selection::Finished,
            &infos,
            assay_board::Period::Month,
            &assay_core::now_rfc3339(),
        )
    })
    .await;
    let html = match built {
        Ok(Ok((board, _))) => assay_board::render_html(&board),
        Ok(Err(assay_board::BoardError::NoRuns)) => {
            let nonce = security::nonce();
            return Ok(page_response(
                pages::no_board_page(&nonce),
                &nonce,
                false,
                Vec::new(),
            ));
        }
        Ok(Err(e)) => {
            tracing::error!("arena board: {e}");
            return Err(WebError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "board",
                "the board could not be built; see the server log",
            ));
        }
        Err(e) => {
            tracing::error!("arena board: {e}");
            return Err(WebError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "board",
                "the board could not be built; see the server log",
            ));
        }
    };
    let mut response = Html(html).into_response();
    let policy = format!(
        "{}; frame-ancestors 'none'",
        assay_board::content_security_policy()
    );
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&policy).expect("ASCII policy"),
    );
    Ok(response)
}

async fn leaderboard_json(
    State(arena): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let view = leaderboard_view(&arena, &BoardQuery::from_params(&query)).await?;
    Ok(Json(view.to_json()).into_response())
}
