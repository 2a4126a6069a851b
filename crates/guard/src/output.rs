//! The output check: an upstream answer stream turned into guard events.

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use assay_core::text::{floor_char_boundary, CharCounts};
use assay_core::{ChatEvent, FinishReason, Usage};
use assay_models::{EventStream, ModelError};
use assay_policy::{Hit, Policy, StreamScanner};
use futures::{Stream, StreamExt};

use crate::{
    describe, refusal, Action, Direction, GuardConfig, GuardEvent, Intervention, PromptLanguage,
};

/// Guard events of one answer; dropping it drops the upstream stream, which stops generation.
pub struct GuardStream {
    queue: VecDeque<GuardEvent>,
    run: Option<Run>,
    /// Told how long the guard spent on each upstream chunk.
    timing: Option<ChunkTimer>,
    generated: Arc<Generated>,
}

/// What the upstream generated so far, shared with whoever charges for it: an answer that is
/// stopped, cut off or abandoned by its client has no usage report of its own.
#[derive(Debug, Default)]
pub struct Generated {
    chunks: AtomicU64,
    ascii: AtomicU64,
    other: AtomicU64,
}

impl Generated {
    fn add(&self, text: &str) {
        let counts = CharCounts::of(text);
        self.chunks.fetch_add(1, Ordering::Relaxed);
        self.ascii.fetch_add(counts.ascii, Ordering::Relaxed);
        self.other.fetch_add(counts.other, Ordering::Relaxed);
    }

    /// An estimate of the tokens generated: a streamed chunk carries at least one token, and
    /// the text is estimated as [`crate::keys::estimate_tokens`] does (whichever is more).
    pub fn tokens(&self) -> u32 {
        let chunks = u32::try_from(self.chunks.load(Ordering::Relaxed)).unwrap_or(u32::MAX);
        let counts = CharCounts {
            ascii: self.ascii.load(Ordering::Relaxed),
            other: self.other.load(Ordering::Relaxed),
        };
        let text = u32::try_from(counts.estimated_tokens()).unwrap_or(u32::MAX);
        chunks.max(text)
    }
}

/// Receives the time spent on each upstream chunk.
pub type ChunkTimer = Arc<dyn Fn(Duration) + Send + Sync>;

/// The state of an answer under way.
struct Run {
    /// `None` once the answer is stopped or finished: dropping it cancels the upstream.
    upstream: Option<EventStream>,
    scanner: StreamScanner<Arc<Policy>>,
    policy: Arc<Policy>,
    config: GuardConfig,
    hold: bool,
    language: PromptLanguage,
    /// Received text from byte `base` of the answer on (what came before is shown and can no
    /// longer be part of a hit).
    received: String,
    base: usize,
    /// Characters before `base`.
    base_chars: usize,
    /// Bytes of the answer shown to the client, and their characters.
    shown: usize,
    shown_chars: usize,
    /// Hits per category so far (thresholds).
    counts: HashMap<u32, u32>,
}

impl GuardStream {
    pub(crate) fn new(
        upstream: EventStream,
        policy: Arc<Policy>,
        config: &GuardConfig,
        language: PromptLanguage,
        logged: Vec<crate::Intervention>,
    ) -> GuardStream {
        GuardStream {
            queue: logged.into_iter().map(GuardEvent::Logged).collect(),
            timing: None,
            generated: Arc::default(),
            run: Some(Run {
                upstream: Some(upstream),
                scanner: StreamScanner::new(Arc::clone(&policy)),
                policy,
                hold: config.holds_back(),
                config: config.clone(),
                language,
                received: String::new(),
                base: 0,
                base_chars: 0,
                shown: 0,
                shown_chars: 0,
                counts: HashMap::new(),
            }),
        }
    }

    /// The answer to a refused prompt.
    pub(crate) fn refused(
        logged: Vec<Intervention>,
        text: String,
        intervention: Intervention,
    ) -> GuardStream {
        let mut queue: VecDeque<GuardEvent> = logged.into_iter().map(GuardEvent::Logged).collect();
        queue.push_back(GuardEvent::Refused { text, intervention });
        queue.push_back(GuardEvent::Done {
            finish_reason: FinishReason::ContentFilter,
            usage: Usage::default(),
        });
        GuardStream {
            queue,
            run: None,
            timing: None,
            generated: Arc::default(),
        }
    }

    /// What the upstream has generated so far (updated as the stream is read).
    pub fn generated(&self) -> Arc<Generated> {
        Arc::clone(&self.generated)
    }

    /// Reports the time spent on each upstream chunk to `timer` (the latency the guard adds).
    pub fn with_chunk_timer(mut self, timer: ChunkTimer) -> GuardStream {
        self.timing = Some(timer);
        self
    }
}

impl Stream for GuardStream {
    type Item = GuardEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<GuardEvent>> {
        let this = self.get_mut();
        loop {
            if let Some(event) = this.queue.pop_front() {
                return Poll::Ready(Some(event));
            }
            let Some(run) = &mut this.run else {
                return Poll::Ready(None);
            };
            let Some(upstream) = &mut run.upstream else {
                this.run = None;
                continue;
            };
            let event = match upstream.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(event) => event,
            };
            match event {
                Some(Ok(ChatEvent::Delta(text))) => {
                    let started = Instant::now();
                    this.generated.add(&text);
                    run.on_delta(&text, &mut this.queue);
                    if let Some(timer) = &this.timing {
                        timer(started.elapsed());
                    }
                }
                Some(Ok(ChatEvent::Done {
                    finish_reason,
                    usage,
                })) => run.on_done(finish_reason, usage, &mut this.queue),
                Some(Ok(ChatEvent::Retract {
                    offset,
                    replace_with,
                })) => run.on_upstream_retract(offset, replace_with, &mut this.queue),
                Some(Err(e)) => {
                    run.on_abnormal_end(e, &mut this.queue);
                    this.run = None;
                }
                None => {
                    let e = ModelError::Protocol {
                        url: "upstream".into(),
                        message: "the answer ended without finishing".into(),
                    };
                    run.on_abnormal_end(e, &mut this.queue);
                    this.run = None;
                }
            }
        }
    }
}

impl Run {
    fn on_delta(&mut self, text: &str, queue: &mut VecDeque<GuardEvent>) {
        self.received.push_str(text);
        let hits = self.scanner.feed(text);
        if self.act_on(hits, queue) {
            Self::stopped(queue);
            return;
        }
        if self.hold {
            let settled = self.scanner.settled_before();
            let target = self.back_off_margin(settled);
            self.show_until(target, queue);
        } else {
            self.show_until(self.base + self.received.len(), queue);
        }
        self.forget_settled();
    }

    fn on_done(
        &mut self,
        finish_reason: FinishReason,
        usage: Usage,
        queue: &mut VecDeque<GuardEvent>,
    ) {
        let hits = self.scanner.finish();
        if self.act_on(hits, queue) {
            Self::stopped(queue);
            return;
        }
        self.show_until(self.base + self.received.len(), queue);
        queue.push_back(GuardEvent::Done {
            finish_reason,
            usage,
        });
        self.upstream = None;
    }

    /// The upstream failed, was cut off or timed out. The scan is finished all the same: a
    /// term at the very end of what was shown is only certain now (nothing follows it), and
    /// must be withdrawn (and logged) before the client hears of the error. Held-back text
    /// that turns out clean is shown; then the error.
    fn on_abnormal_end(&mut self, error: ModelError, queue: &mut VecDeque<GuardEvent>) {
        self.upstream = None;
        let hits = self.scanner.finish();
        if !self.act_on(hits, queue) {
            self.show_until(self.base + self.received.len(), queue);
        }
        queue.push_back(GuardEvent::Error(error));
    }

    /// The end of an answer the guard stopped.
    fn stopped(queue: &mut VecDeque<GuardEvent>) {
        queue.push_back(GuardEvent::Done {
            finish_reason: FinishReason::ContentFilter,
            usage: Usage::default(),
        });
    }

    /// A guarded upstream withdrew its own answer: pass the withdrawal on and stop.
    fn on_upstream_retract(
        &mut self,
        offset: usize,
        replace_with: String,
        queue: &mut VecDeque<GuardEvent>,
    ) {
        let offset = offset.min(self.shown_chars);
        queue.push_back(GuardEvent::Retracted {
            offset,
            replace_with,
            intervention: Intervention {
                direction: Direction::Output,
                category: "(upstream guard)".into(),
                action: Action::Retract,
                rule: String::new(),
                offset,
            },
        });
        queue.push_back(GuardEvent::Done {
            finish_reason: FinishReason::ContentFilter,
            usage: Usage::default(),
        });
        self.upstream = None;
    }

    /// Counts `hits` and takes the first action due; answers whether the answer was stopped
    /// (the caller ends it).
    fn act_on(&mut self, hits: Vec<Hit>, queue: &mut VecDeque<GuardEvent>) -> bool {
        for hit in hits {
            let count = self.counts.entry(hit.category).or_default();
            *count += 1;
            let (category, rule) = describe(&self.policy, &self.config, &hit);
            if *count < self.config.threshold(&category) {
                continue;
            }
            let action = self.config.action(&category);
            let intervention = Intervention {
                direction: Direction::Output,
                offset: self.chars_before(hit.range.start),
                category,
                action,
                rule,
            };
            if action == Action::Log {
                queue.push_back(GuardEvent::Logged(intervention));
                continue;
            }
            // Dropping the upstream stream is what stops generation.
            self.upstream = None;
            let text = refusal(self.policy.category(hit.category), self.language);
            if hit.range.start >= self.shown {
                // Held back: nothing of the hit was shown.
                let text = if self.shown_chars > 0 {
                    format!("\n\n{text}")
                } else {
                    text
                };
                queue.push_back(GuardEvent::Replaced { text, intervention });
            } else {
                queue.push_back(GuardEvent::Retracted {
                    offset: 0,
                    replace_with: text,
                    intervention,
                });
            }
            return true;
        }
        false
    }

    /// Characters of the answer before byte `at` (at or after `base`).
    fn chars_before(&self, at: usize) -> usize {
        let local = at.saturating_sub(self.base).min(self.received.len());
        let local = floor_char_boundary(&self.received, local);
        self.base_chars + self.received[..local].chars().count()
    }

    /// `settled` (a byte of the answer) moved back by the margin, never before what is shown.
    fn back_off_margin(&self, settled: usize) -> usize {
        let local = settled.saturating_sub(self.base).min(self.received.len());
        let local = floor_char_boundary(&self.received, local);
        let target = match self.config.margin_chars {
            0 => local,
            margin => self.received[..local]
                .char_indices()
                .rev()
                .nth(margin - 1)
                .map_or(0, |(i, _)| i),
        };
        (self.base + target).max(self.shown)
    }

    /// Shows the answer up to byte `end`.
    fn show_until(&mut self, end: usize, queue: &mut VecDeque<GuardEvent>) {
        if end <= self.shown {
            return;
        }
        let from = self.shown - self.base;
        let to = floor_char_boundary(&self.received, end - self.base);
        if to <= from {
            return;
        }
        let piece = &self.received[from..to];
        self.shown_chars += piece.chars().count();
        self.shown = self.base + to;
        queue.push_back(GuardEvent::Delta(piece.to_string()));
    }

    /// Drops received text that is shown and settled: memory per answer stays bounded by the
    /// scanner's window, not the answer's length.
    fn forget_settled(&mut self) {
        let settled = self.scanner.settled_before().min(self.shown);
        let drop = floor_char_boundary(&self.received, settled.saturating_sub(self.base));
        if drop < 4096 {
            return;
        }
        self.base_chars += self.received[..drop].chars().count();
        self.received.drain(..drop);
        self.base += drop;
    }
}
