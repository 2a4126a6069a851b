//! `POST /api/vote`: a vote checked against the caps, recorded, and the names revealed.

use std::time::Instant;

use assay_store::VoteRecord;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::error::{conflict, store_error, unknown_battle, WebError};
use crate::extract::{check_post, parse_json, read_body};
use crate::{battles, lock, security, AppState};

#[derive(Deserialize)]
struct VoteBody {
    battle_id: String,
    winner: String,
}

fn parse_winner(text: &str) -> Option<&'static str> {
    Some(match text.trim() {
        "model_a" | "a" | "A" => "model_a",
        "model_b" | "b" | "B" => "model_b",
        "tie" => "tie",
        "tie (bothbad)" | "bothbad" | "both_bad" => "tie (bothbad)",
        _ => return None,
    })
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, WebError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| store_error(format!("task failed: {e}")))
}

pub(crate) async fn vote(
    State(arena): State<AppState>,
    request: Request,
) -> Result<Response, WebError> {
    let voter = check_post(request.headers())?;
    let ip = security::client_ip(&request, arena.config.trust_forwarded_for);
    let body = read_body(request, 4096, 4096).await?;
    let body: VoteBody = parse_json(&body)?;
    let winner = parse_winner(&body.winner).ok_or_else(|| {
        WebError::new(
            StatusCode::BAD_REQUEST,
            "bad_winner",
            format!(
                "winner {:?} is not one of model_a, model_b, tie, tie (bothbad)",
                body.winner
            ),
        )
    })?;
    let now = Instant::now();
    // Claim the battle for this vote, so a second vote at the same moment is refused.
    let battle = {
        let mut battles = lock(&arena.battles);
        let battle = battles
            .get_mut(&body.battle_id, now)
            .filter(|b| b.owner == voter)
            .ok_or_else(unknown_battle)?;
        battle
            .claim_for_vote(now)
            .map_err(|refusal| match refusal {
                battles::Refusal::Voted => conflict(
                    "already_voted",
                    "this battle has already been voted on; each battle takes one vote",
                ),
                battles::Refusal::Failed => conflict(
                    "failed",
                    "a model failed in this battle, so it cannot be voted on",
                ),
                battles::Refusal::Busy | battles::Refusal::Full => {
                    conflict("busy", "wait until both models have finished answering")
                }
                battles::Refusal::NoAnswers => {
                    conflict("no_answers", "there is nothing to vote on yet")
                }
            })?;
        battle.clone()
    };
    let ballot = Ballot {
        battle: &battle,
        winner,
        voter: &voter,
        ip: &ip,
    };
    let result = record_vote(&arena, ballot).await;
    let mut battles = lock(&arena.battles);
    let live = battles.get_mut(&battle.id, Instant::now());
    match result {
        Ok(()) => {
            if let Some(b) = live {
                b.status = battles::Status::Voted;
            }
            let [a, b] = battle.models;
            let leak = battle.leak.as_ref();
            Ok(Json(json!({
                "battle_id": battle.id,
                "winner": winner,
                "model_a": arena.models[a].plan.display,
                "model_b": arena.models[b].plan.display,
                "identity_leak": leak.is_some(),
                "identity_leak_name": leak.map(|(_, name)| name.clone()),
            }))
            .into_response())
        }
        Err(e) => {
            if let Some(b) = live {
                b.status = if e.status == StatusCode::CONFLICT {
                    battles::Status::Voted
                } else {
                    battles::Status::Open
                };
            }
            Err(e)
        }
    }
}

/// One vote as cast: the battle, the side chosen, who cast it and from which address.
#[derive(Clone, Copy)]
struct Ballot<'a> {
    battle: &'a battles::Battle,
    winner: &'a str,
    voter: &'a str,
    ip: &'a str,
}

async fn record_vote(arena: &AppState, ballot: Ballot<'_>) -> Result<(), WebError> {
    let Ballot { voter, ip, .. } = ballot;
    let since = (chrono::Utc::now() - chrono::Duration::hours(24))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let cap = arena.config.daily_cap;
    let store = arena.store.clone();
    let voter_id = voter.to_string();
    let count = blocking(move || store.votes_by_voter_since(&voter_id, &since))
        .await?
        .map_err(store_error)?;
    if count >= cap {
        return Err(WebError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "daily_cap",
            format!(
                "you have cast {count} votes in the last 24 hours, the most one voter may; \
                 thank you! Please come back tomorrow"
            ),
        ));
    }
    // The address's count goes up now, so that votes racing each other cannot all pass; it
    // comes down again if the vote is not recorded.
    let address = security::ip_hash(&arena.ip_salt, &security::network_of(ip));
    let address_cap = arena.config.address_daily_cap;
    if let Err(count) = lock(&arena.address_votes).reserve(&address, Instant::now(), address_cap) {
        return Err(WebError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "address_cap",
            format!(
                "{count} votes have come from your network address in the last 24 hours, the \
                 most one address may cast; thank you! Please come back tomorrow"
            ),
        ));
    }
    let recorded = write_vote(arena, ballot).await;
    if !matches!(recorded, Ok(())) {
        lock(&arena.address_votes).release(&address);
    }
    recorded
}

/// Writes the vote of `battle` to the store.
async fn write_vote(arena: &AppState, ballot: Ballot<'_>) -> Result<(), WebError> {
    let Ballot {
        battle,
        winner,
        voter,
        ip,
    } = ballot;
    let [a, b] = battle.models;
    // Style features scan up to `max_battle_bytes` of Markdown (tenths of a second for some
    // texts): on the blocking pool, like the store.
    let texts: [(String, f64); 2] = std::array::from_fn(|i| {
        let text: Vec<&str> = battle.conversations[i]
            .iter()
            .filter(|m| m.role == assay_core::Role::Assistant)
            .map(|m| m.content.as_str())
            .collect();
        (text.join("\n"), battle.tokens[i] as f64)
    });
    let styles = blocking(move || {
        texts.map(|(text, tokens)| assay_arena::battle::Style::from_markdown(&text, tokens))
    })
    .await?;
    let mut metadata = json!({
        "anony": true,
        "conv_metadata": {
            "sum_assistant_a_tokens": styles[0].tokens,
            "sum_assistant_b_tokens": styles[1].tokens,
            "header_count_a": styles[0].headers,
            "header_count_b": styles[1].headers,
            "list_count_a": styles[0].lists,
            "list_count_b": styles[1].lists,
            "bold_count_a": styles[0].bold,
            "bold_count_b": styles[1].bold,
        },
        "finish_reasons_a": battle.finish_reasons[0],
        "finish_reasons_b": battle.finish_reasons[1],
    });
    if let Some((side, name)) = &battle.leak {
        metadata["identity_leak_name"] = json!(name);
        metadata["identity_leak_side"] = json!(if *side == 0 { "model_a" } else { "model_b" });
    }
    let record = VoteRecord {
        battle_id: battle.id.clone(),
        created_at: assay_core::now_rfc3339(),
        battle_started_at: battle.started_at.clone(),
        model_a: arena.models[a].plan.display.clone(),
        model_b: arena.models[b].plan.display.clone(),
        winner: winner.to_string(),
        conversation_a: serde_json::to_value(&battle.conversations[0]).unwrap_or_default(),
        conversation_b: serde_json::to_value(&battle.conversations[1]).unwrap_or_default(),
        language: battle.language.clone(),
        voter_id: voter.to_string(),
        ip_hash: security::ip_hash(&arena.ip_salt, ip),
        identity_leak: battle.leak.is_some(),
        turns: battle.turns,
        metadata,
    };
    let store = arena.store.clone();
    let recorded = blocking(move || store.record_vote(&record))
        .await?
        .map_err(store_error)?;
    if recorded {
        arena.boards.vote_recorded();
        Ok(())
    } else {
        Err(conflict(
            "already_voted",
            "this battle has already been voted on; each battle takes one vote",
        ))
    }
}
