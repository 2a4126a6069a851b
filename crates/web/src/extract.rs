//! What handlers take from a request: the POST checks (JSON, CSRF, voter cookie), a bounded
//! body, and the leaderboard's query.

use std::collections::HashMap;

use assay_serve::BodyError;
use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{header, HeaderMap, StatusCode};
use serde::Deserialize;

use crate::error::{too_large, WebError};
use crate::{category, security};

/// The checks every POST passes: a JSON body, the CSRF double submit, a voter cookie.
/// Returns the voter id.
pub(crate) fn check_post(headers: &HeaderMap) -> Result<String, WebError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    if !json {
        return Err(WebError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send JSON (Content-Type: application/json)",
        ));
    }
    security::check_csrf(headers).map_err(|e| {
        let why = match e {
            security::CsrfError::MissingCookie => "the CSRF cookie is missing",
            security::CsrfError::MissingHeader => "the X-CSRF-Token header is missing",
            security::CsrfError::Mismatch => "the X-CSRF-Token header does not match the cookie",
        };
        WebError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            format!("request refused: {why}; reload the page and try again"),
        )
    })?;
    security::cookie(headers, security::VOTER_COOKIE)
        .filter(|v| security::well_formed(v, 64))
        .ok_or_else(|| {
            WebError::new(
                StatusCode::FORBIDDEN,
                "no_voter",
                "the voter cookie is missing; reload the page (cookies must be enabled)",
            )
        })
}

/// Reads a body of at most `limit` bytes; `prompt_limit` names the limit users care about.
pub(crate) async fn read_body(
    request: Request,
    limit: usize,
    prompt_limit: usize,
) -> Result<Bytes, WebError> {
    assay_serve::read_body_within(request, limit)
        .await
        .map_err(|error| match error {
            BodyError::TooLarge => too_large(prompt_limit),
            BodyError::Unreadable(e) => WebError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("cannot read the request: {e}"),
            ),
        })
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, WebError> {
    serde_json::from_slice(body).map_err(|e| {
        WebError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("invalid request: {e}"),
        )
    })
}

#[derive(Deserialize, Default)]
pub(crate) struct BoardQuery {
    pub(crate) lang: Option<String>,
    pub(crate) cat: Option<String>,
    pub(crate) style: Option<String>,
}

impl BoardQuery {
    /// The query from the page's URL parameters, the unknown ones ignored.
    pub(crate) fn from_params(params: &HashMap<String, String>) -> Self {
        BoardQuery {
            lang: params.get("lang").cloned(),
            cat: params.get("cat").cloned(),
            style: params.get("style").cloned(),
        }
    }

    pub(crate) fn style_control(&self) -> bool {
        matches!(
            self.style.as_deref().map(str::trim),
            Some("on" | "1" | "true" | "yes")
        )
    }
    /// The language tab: one of the names the arena detects or its code (`zh`, `en`; any
    /// case), or none.
    pub(crate) fn language(&self) -> Result<Option<String>, WebError> {
        let lang = match self.lang.as_deref().map(str::trim) {
            None | Some("") => return Ok(None),
            Some(l) if l.eq_ignore_ascii_case("overall") => return Ok(None),
            Some(l) => l,
        };
        match assay_arena::lang::canonical(lang) {
            Some(name) => Ok(Some(name.to_string())),
            None => {
                // Quote a bounded part of what was sent: the message goes back to the client.
                let shown: String = lang.chars().take(40).collect();
                let more = if shown.len() < lang.len() { "…" } else { "" };
                Err(WebError::new(
                    StatusCode::BAD_REQUEST,
                    "language",
                    format!(
                        "unknown language {shown:?}{more}; known: Overall, {}",
                        assay_arena::lang::known_values()
                    ),
                ))
            }
        }
    }
    pub(crate) fn category(&self) -> Result<Option<String>, WebError> {
        match self.cat.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(c) => match category::label(c) {
                Some(_) => Ok(Some(c.to_ascii_lowercase())),
                None => Err(WebError::new(
                    StatusCode::BAD_REQUEST,
                    "category",
                    format!(
                        "unknown category {c:?}; known: {}",
                        category::CATEGORIES.map(|(id, _)| id).join(", ")
                    ),
                )),
            },
        }
    }
}
