//! `POST /api/chat`: one turn of a battle, both answers streamed as server-sent events.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use assay_arena::lang::detect;
use assay_core::{now_rfc3339, ChatEvent, ChatRequest};
use assay_models::{ChatModel, EventStream, ModelError};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::{mpsc, OwnedSemaphorePermit};

use crate::error::{conflict, too_large, unknown_battle, WebError};
use crate::extract::{check_post, parse_json, read_body};
use crate::{battles, lock, pages, render, security, AppState, Arena};

#[derive(Deserialize)]
struct ChatBody {
    #[serde(default)]
    battle_id: Option<String>,
    prompt: String,
}

const SIDES: [&str; 2] = ["a", "b"];

pub(crate) async fn chat(
    State(arena): State<AppState>,
    request: Request,
) -> Result<Response, WebError> {
    let voter = check_post(request.headers())?;
    let max_prompt = arena.config.max_prompt_bytes;
    // JSON escapes (quotes, newlines) may grow a prompt; allow for them before the exact check.
    let body = read_body(request, max_prompt * 2 + 4096, max_prompt).await?;
    let body: ChatBody = parse_json(&body)?;
    if body.prompt.len() > max_prompt {
        return Err(too_large(max_prompt));
    }
    if body.prompt.trim().is_empty() {
        return Err(WebError::new(
            StatusCode::BAD_REQUEST,
            "empty_prompt",
            "the prompt is empty",
        ));
    }
    let permit = arena.generating.clone().try_acquire_owned().map_err(|_| {
        WebError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "the arena is busy right now; please try again in a minute",
        )
    })?;
    let now = Instant::now();
    let prompt = body.prompt;
    let (battle_id, models, requests, turn) = {
        let mut battles = lock(&arena.battles);
        let battle = match body.battle_id.as_deref().filter(|id| !id.is_empty()) {
            Some(id) => {
                let battle = battles
                    .get_mut(id, now)
                    .filter(|b| b.owner == voter)
                    .ok_or_else(unknown_battle)?;
                battle
                    .can_take_turn(prompt.len(), turn_limits(&arena))
                    .map_err(|refusal| match refusal {
                        battles::Refusal::Busy => conflict(
                            "busy",
                            "both models are still answering; wait for them to finish",
                        ),
                        battles::Refusal::Voted | battles::Refusal::NoAnswers => conflict(
                            "voted",
                            "this battle is over (it was voted on); start a new battle",
                        ),
                        battles::Refusal::Failed => conflict(
                            "failed",
                            "a model failed in this battle; start a new battle",
                        ),
                        battles::Refusal::Full => conflict(
                            "battle_full",
                            "this battle has reached its length limit; vote, then start a new battle",
                        ),
                    })?;
                battle
            }
            None => {
                let pair = {
                    let mut guard = lock(&arena.sampler);
                    let (sampler, rng) = &mut *guard;
                    sampler.sample(rng, now)
                }
                .map_err(|e| {
                    tracing::warn!("cannot start a battle: {e}");
                    WebError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "no_models",
                        "not enough models are available right now; please try again in a few minutes",
                    )
                })?;
                let id = security::random_id();
                let battle = battles::Battle {
                    id: id.clone(),
                    owner: voter.clone(),
                    models: [pair.a, pair.b],
                    started_at: now_rfc3339(),
                    last_active: now,
                    conversations: [Vec::new(), Vec::new()],
                    tokens: [0, 0],
                    finish_reasons: [Vec::new(), Vec::new()],
                    turns: 0,
                    busy: false,
                    status: battles::Status::Open,
                    leak: None,
                    language: detect(&prompt).to_string(),
                };
                battles.insert(battle, now).map_err(|_| {
                    WebError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "busy",
                        "the arena is busy right now; please try again in a minute",
                    )
                })?;
                battles.get_mut(&id, now).ok_or_else(unknown_battle)?
            }
        };
        battle.start_turn(&prompt, now);
        let requests = [
            ChatRequest::new(battle.conversations[0].clone()),
            ChatRequest::new(battle.conversations[1].clone()),
        ];
        (battle.id.clone(), battle.models, requests, battle.turns + 1)
    };
    let (tx, rx) = mpsc::channel::<Event>(16);
    let first = sse_json("battle", &json!({"battle_id": battle_id, "turn": turn}));
    tokio::spawn(run_turn(
        arena.clone(),
        battle_id,
        models,
        requests,
        tx,
        permit,
    ));
    let events = futures::stream::once(async move { first })
        .chain(futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|e| (e, rx))
        }));
    let mut response = Sse::new(events.map(Ok::<_, Infallible>))
        .keep_alive(KeepAlive::default())
        .into_response();
    // Tell proxies not to buffer the stream.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

fn sse_json(event: &str, data: &serde_json::Value) -> Event {
    Event::default()
        .event(event)
        .data(serde_json::to_string(data).unwrap_or_default())
}

/// One side of a turn being generated.
struct Side {
    text: String,
    dirty: bool,
    finished: Option<String>,
    tokens: Option<u64>,
    failed: bool,
}

enum Step {
    Event(usize, Option<Result<ChatEvent, ModelError>>),
    Tick,
    Timeout,
    Gone,
}

async fn next_event(stream: &mut Option<EventStream>) -> Option<Result<ChatEvent, ModelError>> {
    match stream {
        Some(s) => s.next().await,
        None => futures::future::pending().await,
    }
}

fn side_stream(client: Arc<dyn ChatModel>, request: ChatRequest) -> EventStream {
    Box::pin(
        futures::stream::once(async move { client.stream(request).await }).flat_map(|opened| {
            match opened {
                Ok(stream) => stream,
                Err(e) => Box::pin(futures::stream::once(async move { Err(e) })) as EventStream,
            }
        }),
    )
}

/// Generates one turn of both sides, streaming rendered answers to `tx`, then records the
/// turn in the battle. If the browser goes away the generation stops (the model streams are
/// dropped) and the turn is undone.
async fn run_turn(
    arena: AppState,
    battle_id: String,
    models: [usize; 2],
    requests: [ChatRequest; 2],
    tx: mpsc::Sender<Event>,
    _permit: OwnedSemaphorePermit,
) {
    let [req_a, req_b] = requests;
    let mut streams = [
        Some(side_stream(arena.models[models[0]].client.clone(), req_a)),
        Some(side_stream(arena.models[models[1]].client.clone(), req_b)),
    ];
    let mut sides: [Side; 2] = std::array::from_fn(|_| Side {
        text: String::new(),
        dirty: false,
        finished: None,
        tokens: None,
        failed: false,
    });
    let mut tick = tokio::time::interval(arena.config.render_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let deadline = tokio::time::sleep(arena.config.answer_timeout);
    tokio::pin!(deadline);
    let max_answer = arena.config.max_answer_bytes;
    let mut gone = false;

    'turn: while streams.iter().any(Option::is_some) {
        let step = {
            let [sa, sb] = &mut streams;
            tokio::select! {
                e = next_event(sa) => Step::Event(0, e),
                e = next_event(sb) => Step::Event(1, e),
                _ = tick.tick() => Step::Tick,
                _ = &mut deadline => Step::Timeout,
                _ = tx.closed() => Step::Gone,
            }
        };
        let mut out: Vec<Event> = Vec::new();
        match step {
            Step::Event(i, Some(Ok(ChatEvent::Delta(text)))) => {
                let side = &mut sides[i];
                side.text.push_str(&text);
                if side.text.len() > max_answer {
                    assay_core::text::truncate_to(&mut side.text, max_answer);
                    side.finished = Some("length".into());
                    streams[i] = None;
                    out.extend(final_events(i, side).await);
                } else {
                    side.dirty = true;
                }
            }
            // A guarded contestant withdrawing its answer: the page shows the whole text
            // again at the next tick, so the withdrawal reaches the voter as it would a user.
            Step::Event(i, Some(Ok(retract @ ChatEvent::Retract { .. }))) => {
                let side = &mut sides[i];
                retract.apply_to(&mut side.text);
                side.dirty = true;
            }
            Step::Event(
                i,
                Some(Ok(ChatEvent::Done {
                    finish_reason,
                    usage,
                })),
            ) => {
                let side = &mut sides[i];
                side.finished = Some(finish_reason.as_str().to_string());
                side.tokens =
                    (usage.completion_tokens > 0).then_some(usage.completion_tokens.into());
                streams[i] = None;
                out.extend(final_events(i, side).await);
            }
            Step::Event(i, failure) => {
                let (error, benchable) = match failure {
                    // The error may quote the model's address, credentials included.
                    Some(Err(e)) => (assay_core::redact(&e.to_string()), is_models_fault(&e)),
                    _ => (
                        "the answer stream ended without finishing".to_string(),
                        true,
                    ),
                };
                let model = &arena.models[models[i]];
                tracing::warn!(
                    "arena: model {} failed in battle {battle_id}: {error}",
                    model.plan.display
                );
                if benchable {
                    let mut guard = lock(&arena.sampler);
                    guard.0.bench(models[i], Instant::now());
                }
                sides[i].failed = true;
                out.push(failed_event(i));
                // The battle cannot be judged any more: stop the other side too.
                streams = [None, None];
            }
            Step::Tick => {
                for (i, side) in sides.iter_mut().enumerate() {
                    if side.dirty && side.finished.is_none() {
                        side.dirty = false;
                        out.push(answer_event(i, &side.text, false).await);
                    }
                }
            }
            Step::Timeout => {
                for (i, side) in sides.iter_mut().enumerate() {
                    if streams[i].is_some() {
                        let model = &arena.models[models[i]];
                        tracing::warn!(
                            "arena: model {} timed out in battle {battle_id}",
                            model.plan.display
                        );
                        lock(&arena.sampler).0.bench(models[i], Instant::now());
                        side.failed = true;
                        out.push(failed_event(i));
                    }
                }
                streams = [None, None];
            }
            Step::Gone => {
                gone = true;
                break 'turn;
            }
        }
        for event in out {
            if tx.send(event).await.is_err() {
                gone = true;
                break 'turn;
            }
        }
    }
    drop(streams);

    // The leak scan reads every answer at every position (tenths of a second for 32 KiB in a
    // debug build): on the blocking pool, not the worker, and not under the battles' lock.
    let complete = sides.iter().all(|s| s.finished.is_some() && !s.failed);
    let leaks = if complete {
        let scan = arena.clone();
        let texts = [sides[0].text.clone(), sides[1].text.clone()];
        tokio::task::spawn_blocking(move || texts.map(|t| scan.leaks.find(&t).map(|l| l.name)))
            .await
            .unwrap_or_else(|e| {
                tracing::error!("arena: the leak scan failed: {e}");
                [None, None]
            })
    } else {
        [None, None]
    };
    let end = finish_turn(&arena, &battle_id, &sides, leaks, gone);
    if let Some(end) = end {
        let _ = tx.send(end).await;
    }
}

/// Whether a failed call says the model is unwell (it sits out of new battles for a while)
/// rather than that this request was refused. A request can be refused for what the voter
/// typed (too long for the context, a filter upstream): benching every model that refuses a
/// 16 KiB prompt would let one voter empty the arena. Refusals that are about the model's
/// set-up (bad key, unknown model) or its load (rate limit) do bench it.
pub(crate) fn is_models_fault(error: &ModelError) -> bool {
    match error {
        ModelError::InvalidRequest(_) => false,
        ModelError::Http { status, .. } => {
            !(400..500).contains(status) || matches!(status, 401 | 403 | 404 | 408 | 429)
        }
        _ => true,
    }
}

/// The `answer` event of a side's text so far. The text is rendered on the blocking pool: a
/// render takes milliseconds to tens of them (32 KiB of awkward Markdown), which would stall
/// every other request served by the same async worker.
async fn answer_event(side: usize, text: &str, done: bool) -> Event {
    let markdown = text.to_string();
    let html = tokio::task::spawn_blocking(move || render::markdown_to_safe_html(&markdown))
        .await
        .unwrap_or_else(|e| {
            tracing::error!("arena: rendering an answer failed: {e}");
            pages::plain_text_html(text)
        });
    sse_json(
        "answer",
        &json!({"side": SIDES[side], "html": html, "done": done}),
    )
}

async fn final_events(side: usize, state: &Side) -> [Event; 2] {
    [
        answer_event(side, &state.text, true).await,
        sse_json(
            "done",
            &json!({"side": SIDES[side], "finish": state.finished.clone().unwrap_or_default()}),
        ),
    ]
}

fn failed_event(side: usize) -> Event {
    let name = if side == 0 { "Model A" } else { "Model B" };
    sse_json(
        "failed",
        &json!({
            "side": SIDES[side],
            "message": format!("{name} failed to answer, so this battle cannot be judged. Please start a new battle."),
        }),
    )
}

fn turn_limits(arena: &Arena) -> battles::TurnLimits {
    battles::TurnLimits {
        max_turns: arena.config.max_turns,
        max_bytes: arena.config.max_battle_bytes,
    }
}

/// Ends the turn in its battle, with the model or vendor each answer names (`leaks`); returns
/// the `end` event to send, if the browser is still there.
fn finish_turn(
    arena: &Arena,
    battle_id: &str,
    sides: &[Side; 2],
    leaks: [Option<String>; 2],
    gone: bool,
) -> Option<Event> {
    let answers = sides.each_ref().map(|side| battles::TurnAnswer {
        text: &side.text,
        finish: side.finished.as_deref(),
        tokens: side.tokens,
        failed: side.failed,
    });
    let end = lock(&arena.battles).finish_turn(
        battle_id,
        answers,
        leaks,
        gone,
        Instant::now(),
        turn_limits(arena),
    )?;
    Some(sse_json(
        "end",
        &json!({"can_vote": end.can_vote, "can_continue": end.can_continue, "turn": end.turn}),
    ))
}
