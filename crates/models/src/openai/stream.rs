//! An open streamed answer: SSE events in, chat events out, with the idle and total deadlines.

use std::collections::VecDeque;
use std::time::Duration;

use assay_core::openai::ChatCompletionChunk;
use assay_core::{ChatEvent, FinishReason, Usage};
use reqwest::header::CONTENT_TYPE;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

use super::client::{read_limited, BodyError, Limits, MAX_BODY};
use super::error_body::{error_chain, error_payload, quote};
use crate::sse::{SseEvent, SseParser};
use crate::ModelError;

/// An open streamed answer.
pub(super) struct LiveStream {
    pub(super) url: String,
    /// `None` once the body has been read to its end.
    pub(super) response: Option<reqwest::Response>,
    pub(super) parser: SseParser,
    /// Events parsed but not yet handed out; the last may be `Done`.
    pub(super) queue: VecDeque<ChatEvent>,
    pub(super) finish_reason: Option<FinishReason>,
    pub(super) usage: Option<Usage>,
    pub(super) idle: Duration,
    pub(super) last_event: Instant,
    pub(super) limits: Limits,
    /// Held for the life of the stream; `None` only while it is being opened.
    pub(super) _permit: Option<OwnedSemaphorePermit>,
}

impl LiveStream {
    pub(super) fn is_json(&self) -> bool {
        let content_type = self
            .response
            .as_ref()
            .and_then(|r| r.headers().get(CONTENT_TYPE))
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        content_type
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("application/json")
    }

    pub(super) async fn read_body(&mut self) -> Result<Vec<u8>, BodyError> {
        match self.response.take() {
            Some(r) => read_limited(r, MAX_BODY).await,
            None => Ok(Vec::new()),
        }
    }

    pub(super) async fn next_chunk(&mut self) -> Result<Option<bytes::Bytes>, reqwest::Error> {
        let Some(response) = self.response.as_mut() else {
            return Ok(None);
        };
        let chunk = response.chunk().await?;
        if chunk.is_none() {
            self.response = None;
        }
        Ok(chunk)
    }

    pub(super) fn protocol(&self, message: impl Into<String>) -> ModelError {
        ModelError::Protocol {
            url: self.url.clone(),
            message: message.into(),
        }
    }

    pub(super) fn done(&self) -> ChatEvent {
        ChatEvent::Done {
            finish_reason: self.finish_reason.unwrap_or(FinishReason::Stop),
            usage: self.usage.unwrap_or_default(),
        }
    }

    pub(super) fn is_done(&self) -> bool {
        matches!(self.queue.back(), Some(ChatEvent::Done { .. }))
    }

    /// Turns one SSE event into chat events on the queue.
    pub(super) fn handle(&mut self, event: SseEvent) -> Result<(), ModelError> {
        if self.is_done() {
            // Whatever follows `[DONE]` is not part of the answer.
            return Ok(());
        }
        if event.data.trim() == "[DONE]" {
            let done = self.done();
            self.queue.push_back(done);
            // Nothing after [DONE] matters; stop reading so the connection goes at once.
            self.response = None;
            return Ok(());
        }
        // The substring test spares a second JSON parse of every ordinary chunk.
        if event.data.contains("\"error\"") {
            if let Some(e) = error_payload(&self.url, event.data.as_bytes()) {
                return Err(e);
            }
        }
        if event.event.as_deref() == Some("error") {
            return Err(self.protocol(format!("error event: {}", quote(event.data.as_bytes()))));
        }
        let chunk: ChatCompletionChunk = serde_json::from_str(&event.data).map_err(|e| {
            self.protocol(format!(
                "a stream event is not a chat completion chunk ({e}): {}",
                quote(event.data.as_bytes())
            ))
        })?;
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage.into());
        }
        // An assay guard upstream withdrawing what it sent.
        if let Some(retract) = chunk.assay.and_then(|a| a.retract) {
            self.queue.push_back(ChatEvent::Retract {
                offset: retract.offset,
                replace_with: retract.replace_with,
            });
        }
        // We never ask for n > 1, so other choices would be a server bug; ignore them.
        for choice in chunk.choices.into_iter().filter(|c| c.index == 0) {
            if let Some(text) = choice.delta.content.filter(|t| !t.is_empty()) {
                self.queue.push_back(ChatEvent::Delta(text));
            }
            if let Some(reason) = choice.finish_reason {
                self.finish_reason = Some(FinishReason::from_openai(&reason));
            }
        }
        Ok(())
    }

    /// Handles the end of the body; returns whether the answer is complete.
    pub(super) fn take_trailing(&mut self, trailing: Vec<SseEvent>) -> Result<bool, ModelError> {
        // An event cut off by the end of the stream is only trusted if it is `[DONE]`, which
        // cannot be a truncation of anything else we would accept.
        for event in trailing {
            if event.data.trim() == "[DONE]" {
                self.handle(event)?;
            }
        }
        if self.is_done() {
            return Ok(true);
        }
        if self.finish_reason.is_some() {
            let done = self.done();
            self.queue.push_back(done);
            return Ok(true);
        }
        Ok(false)
    }

    pub(super) async fn next_event(&mut self) -> Result<Option<ChatEvent>, ModelError> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Ok(Some(event));
            }
            let idle_deadline = self.last_event + self.idle;
            let deadline = idle_deadline.min(self.limits.deadline);
            let chunk = match tokio::time::timeout_at(deadline, self.next_chunk()).await {
                Err(_) => {
                    return Err(if deadline >= self.limits.deadline {
                        ModelError::Timeout {
                            url: self.url.clone(),
                            what: "request",
                            after: self.limits.total,
                        }
                    } else {
                        ModelError::Timeout {
                            url: self.url.clone(),
                            what: "next token",
                            after: self.idle,
                        }
                    })
                }
                Ok(Err(e)) => {
                    let trailing: Vec<SseEvent> = self.parser.finish().into_iter().collect();
                    if self.take_trailing(trailing)? {
                        // Complete answer, only the goodbye was botched.
                        continue;
                    }
                    return Err(self.protocol(format!(
                        "stream ended before [DONE]: {}",
                        error_chain(&e.without_url())
                    )));
                }
                Ok(Ok(c)) => c,
            };
            match chunk {
                Some(bytes) => {
                    let events = self
                        .parser
                        .push(&bytes)
                        .map_err(|e| self.protocol(e.to_string()))?;
                    if !events.is_empty() {
                        self.last_event = Instant::now();
                    }
                    for event in events {
                        self.handle(event)?;
                    }
                }
                None => {
                    let trailing: Vec<SseEvent> = self.parser.finish().into_iter().collect();
                    if !self.take_trailing(trailing)? {
                        return Err(self.protocol("stream ended before [DONE]"));
                    }
                }
            }
            if self.queue.is_empty() && self.response.is_none() {
                return Ok(None);
            }
        }
    }
}
