//! Client for OpenAI-compatible servers (OpenAI, vLLM, llama.cpp, Ollama, DeepSeek, ...).
//!
//! Behaviour worth knowing when reading results:
//!
//! * **Retries.** 429, 5xx, connection failures (including connect timeouts and connections
//!   dropped before the answer was read) are retried up to `max_retries` times after the first
//!   attempt, with exponential backoff and full jitter. `Retry-After` (seconds or HTTP-date) and
//!   OpenAI's `retry-after-ms` override the computed wait, even above `max_backoff`, up to
//!   [`MAX_RETRY_AFTER`]. No retry is started if its wait would overrun `total_timeout`. A stream
//!   is only retried until its first data event arrives, i.e. before the caller sees anything.
//! * **Timeouts.** `connect_timeout` bounds TCP+TLS setup. `first_token_timeout` bounds, per
//!   attempt, the time from sending the request to the response headers *and*, for streams, the
//!   first SSE data event; a non-streamed body is bounded by `total_timeout` only, since a
//!   server sends it when the whole answer is generated. In a stream it also bounds the gap between two data events, so a server that
//!   stalls mid-answer is caught; SSE comments (keep-alives) do not count as activity there,
//!   since they say the server lives but not that the answer advances. `total_timeout` bounds
//!   the whole request, retries and the streaming of the answer included. Waiting for a
//!   concurrency permit is not timed: it measures our own queue, not the server.
//! * **End of stream.** A stream must end with `data: [DONE]`. Many servers close the connection
//!   right after the chunk carrying `finish_reason` instead; once `finish_reason` has been seen
//!   the answer is complete, so such an ending is accepted (the usage chunk, if it was lost, is
//!   then reported as zeros). Without a `finish_reason`, an ending before `[DONE]` is an error.
//! * **Concurrency.** At most `max_concurrency` requests per client are in flight; a stream
//!   holds its permit until it ends or is dropped. Dropping a stream drops its connection, which
//!   is how servers learn to stop generating.

mod client;
mod error_body;
mod retry;
mod stream;

pub use client::{ClientConfig, OpenAiClient};
pub use retry::MAX_RETRY_AFTER;
