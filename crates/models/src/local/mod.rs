//! The embedded local model: a GGUF file run by llama.cpp in this process.

pub mod catalogue;
mod engine;
pub mod template;

use assay_core::{ChatEvent, ChatRequest, ChatResponse, GenParams, Usage};

use engine::{Engine, EngineEvent, Sampling};
pub use engine::{EngineConfig, EngineInfo, PromptFormat};

use crate::{ChatModel, EventStream, Load, ModelError};

/// Sampling defaults for local models when neither the model name nor the request sets them.
pub const DEFAULT_TEMPERATURE: f32 = 0.7;
pub const DEFAULT_TOP_P: f32 = 0.95;

pub struct LocalModel {
    id: String,
    params: GenParams,
    default_max_tokens: u32,
    engine: Engine,
}

impl LocalModel {
    /// Resolves (fetching if needed) and loads a local model.
    pub async fn open(
        name_or_path: &str,
        params: GenParams,
        config: &EngineConfig,
    ) -> Result<LocalModel, ModelError> {
        let home = config.home.clone().unwrap_or_else(catalogue::assay_home);
        let path = catalogue::resolve(name_or_path, &home).await?;
        let engine = Engine::start(&path, config).await?;
        let id = match catalogue::entry(name_or_path) {
            Some(e) => e.name.to_string(),
            None => path.file_stem().map_or_else(
                || name_or_path.to_string(),
                |s| s.to_string_lossy().into_owned(),
            ),
        };
        Ok(LocalModel {
            id,
            params,
            default_max_tokens: config.default_max_tokens,
            engine,
        })
    }

    pub fn info(&self) -> &EngineInfo {
        self.engine.info()
    }

    /// The exact prompt text the model sees for a conversation, when the GGUF has a chat
    /// template (the built-in fallback renders inside llama.cpp).
    pub fn render_prompt(
        &self,
        messages: &[assay_core::Message],
    ) -> Option<Result<String, String>> {
        let template = self.engine.info().chat_template.as_ref()?;
        Some(template.render(messages, true))
    }

    fn sampling(&self, params: &GenParams) -> Sampling {
        Sampling {
            temperature: params.temperature.unwrap_or(DEFAULT_TEMPERATURE),
            top_p: params.top_p.unwrap_or(DEFAULT_TOP_P),
            // Without a seed each request draws its own, as hosted APIs do.
            seed: params.seed.unwrap_or_else(rand::random),
            max_tokens: params.max_tokens.unwrap_or(self.default_max_tokens),
            stop: params.stop.clone(),
        }
    }

    /// Submits a request and waits until it holds a slot (or fails), so that errors such as an
    /// over-long prompt surface here rather than mid-stream.
    async fn start(
        &self,
        request: ChatRequest,
    ) -> Result<(u32, tokio::sync::mpsc::UnboundedReceiver<EngineEvent>), ModelError> {
        let params = request.params.or(&self.params);
        let request = ChatRequest {
            messages: request.messages,
            params: params.clone(),
        };
        let messages = request.messages_with_system();
        if messages.is_empty() {
            return Err(ModelError::InvalidRequest("no messages".into()));
        }
        let mut events = self.engine.submit(messages, self.sampling(&params))?;
        match events.recv().await {
            Some(EngineEvent::Started { prompt_tokens }) => Ok((prompt_tokens, events)),
            Some(EngineEvent::Failed(e)) => Err(e),
            Some(other) => Err(ModelError::Engine(format!(
                "unexpected first event {other:?}"
            ))),
            None => Err(ModelError::Engine("the engine dropped the request".into())),
        }
    }
}

#[async_trait::async_trait]
impl ChatModel for LocalModel {
    fn id(&self) -> &str {
        &self.id
    }

    async fn complete(&self, request: ChatRequest) -> Result<ChatResponse, ModelError> {
        crate::collect(self.stream(request).await?).await
    }

    async fn stream(&self, request: ChatRequest) -> Result<EventStream, ModelError> {
        let (prompt_tokens, events) = self.start(request).await?;
        let stream = futures::stream::unfold(Some(events), move |state| async move {
            let mut events = state?;
            let item = match events.recv().await? {
                EngineEvent::Text(text) => Ok(ChatEvent::Delta(text)),
                EngineEvent::Finished {
                    reason,
                    completion_tokens,
                } => {
                    let usage = Usage {
                        prompt_tokens,
                        completion_tokens,
                    };
                    return Some((
                        Ok(ChatEvent::Done {
                            finish_reason: reason,
                            usage,
                        }),
                        None,
                    ));
                }
                EngineEvent::Failed(e) => return Some((Err(e), None)),
                EngineEvent::Started { .. } => {
                    Err(ModelError::Engine("request started twice".into()))
                }
            };
            Some((item, Some(events)))
        });
        Ok(Box::pin(stream))
    }

    fn load(&self) -> Option<Load> {
        Some(self.engine.load())
    }
}
