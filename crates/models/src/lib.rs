//! Model clients for assay.
//!
//! Every model, local or remote, is a [`ChatModel`]: give it a [`ChatRequest`], get a
//! [`ChatResponse`] or a stream of [`ChatEvent`]s. A [`Registry`] turns a parsed model name into
//! one, sharing one local engine between every name of the same GGUF file.

mod error;
pub mod openai;
mod registry;
pub mod sse;

#[cfg(feature = "local")]
pub mod local;

use std::pin::Pin;
use std::sync::Arc;

use assay_core::{ChatEvent, ChatRequest, ChatResponse, ModelSpec};
use futures::Stream;

pub use error::ModelError;
pub use registry::{Decorator, Registry, WithParams, Wrapper};

/// A stream of answer events; it ends after `ChatEvent::Done` or an error.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<ChatEvent, ModelError>> + Send>>;

#[async_trait::async_trait]
pub trait ChatModel: Send + Sync {
    /// The model identifier servers use for it (`smollm2`, `gpt-4o-mini`, ...).
    fn id(&self) -> &str;

    /// A whole answer.
    async fn complete(&self, request: ChatRequest) -> Result<ChatResponse, ModelError>;

    /// An answer as it is generated. Dropping the stream cancels generation.
    async fn stream(&self, request: ChatRequest) -> Result<EventStream, ModelError>;

    /// Slots and queue of a model that runs here; `None` for remote models.
    fn load(&self) -> Option<Load> {
        None
    }
}

/// The whole answer of an event stream (what `complete` gives for models that stream).
pub async fn collect(mut events: EventStream) -> Result<ChatResponse, ModelError> {
    use futures::StreamExt;
    let mut text = String::new();
    while let Some(event) = events.next().await {
        let event = event?;
        if let ChatEvent::Done {
            finish_reason,
            usage,
        } = event
        {
            return Ok(ChatResponse {
                text,
                finish_reason,
                usage,
            });
        }
        event.apply_to(&mut text);
    }
    Err(ModelError::Protocol {
        url: "model".into(),
        message: "the answer ended without finishing".into(),
    })
}

/// How busy a model running in this process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Load {
    pub slots: usize,
    pub busy: usize,
    pub queued: usize,
    /// Requests stopped because their caller went away, since start.
    pub cancelled: usize,
}

/// Settings a caller may give when opening a model, beyond what its name says.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// Environment variable holding the API key for `http(s)://` models.
    pub api_key_env: Option<String>,
    pub client: openai::ClientConfig,
    #[cfg(feature = "local")]
    pub local: local::EngineConfig,
}

/// Opens one model by name, without wrappers such as `guard:` (no [`Decorator`] is registered).
/// Commands open models through a [`Registry`], which shares engines between names.
pub async fn open(
    spec: &ModelSpec,
    options: &OpenOptions,
) -> Result<Arc<dyn ChatModel>, ModelError> {
    Registry::new(options.clone()).open(spec).await
}
