//! The embedded local model: a GGUF file run by llama.cpp in this process.

pub mod catalogue;
mod engine;
pub mod template;
mod tokenize;

use assay_core::{ChatEvent, ChatRequest, ChatResponse, GenParams, Usage};

pub use engine::{default_threads, EngineConfig, EngineInfo, PromptFormat, DEFAULT_MAX_MESSAGES};
use engine::{Engine, EngineEvent, Sampling};
pub use tokenize::PromptTokenizer;

use crate::{ChatModel, EventStream, Load, ModelError};

/// Sampling defaults for local models when neither the model name nor the request sets them.
pub const DEFAULT_TEMPERATURE: f32 = 0.7;
pub const DEFAULT_TOP_P: f32 = 0.95;

/// Stop strings one request may give. OpenAI allows 4; a few more cost nothing, but every stop
/// string is searched for after every token, so thousands of them slow the whole engine.
pub const MAX_STOP_STRINGS: usize = 16;
/// Bytes of one stop string at most (matching a stop string's prefixes costs its length
/// squared per token).
pub const MAX_STOP_BYTES: usize = 256;

/// Prompts tokenized at the same time, off the engine thread. Tokenizing a long prompt takes a
/// core for a while; more at once would only take cores from decoding.
const TOKENIZING_AT_ONCE: usize = 2;

pub struct LocalModel {
    id: String,
    params: GenParams,
    default_max_tokens: u32,
    max_messages: usize,
    max_prompt_bytes: usize,
    tokenizing: std::sync::Arc<tokio::sync::Semaphore>,
    engine: Engine,
}

impl LocalModel {
    /// Resolves (fetching if needed) and loads a local model.
    pub async fn open(
        name_or_path: &str,
        params: GenParams,
        config: &EngineConfig,
    ) -> Result<LocalModel, ModelError> {
        let home = config.home.clone().unwrap_or_else(assay_core::assay_home);
        let path = catalogue::resolve(name_or_path, &home).await?;
        LocalModel::open_file(&path, name_or_path, params, config).await
    }

    /// Loads the GGUF at `path` (what `name_or_path` resolved to).
    pub(crate) async fn open_file(
        path: &std::path::Path,
        name_or_path: &str,
        params: GenParams,
        config: &EngineConfig,
    ) -> Result<LocalModel, ModelError> {
        let engine = Engine::start(path, config).await?;
        Ok(LocalModel {
            id: LocalModel::id_for(name_or_path, path),
            params,
            default_max_tokens: config.default_max_tokens,
            max_messages: config.max_messages,
            max_prompt_bytes: config.prompt_byte_limit(),
            tokenizing: std::sync::Arc::new(tokio::sync::Semaphore::new(TOKENIZING_AT_ONCE)),
            engine,
        })
    }

    /// The identifier a local model goes by: its catalogue name, else its file's stem.
    pub(crate) fn id_for(name_or_path: &str, path: &std::path::Path) -> String {
        match catalogue::entry(name_or_path) {
            Some(e) => e.name.to_string(),
            None => path.file_stem().map_or_else(
                || name_or_path.to_string(),
                |s| s.to_string_lossy().into_owned(),
            ),
        }
    }

    pub fn info(&self) -> &EngineInfo {
        self.engine.info()
    }

    /// What turns this model's conversations into prompt tokens.
    pub fn tokenizer(&self) -> &std::sync::Arc<PromptTokenizer> {
        self.engine.tokenizer()
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

    /// Refuses requests too big to be worth rendering and tokenizing, and stop lists that would
    /// slow every token.
    fn check(
        &self,
        messages: &[assay_core::Message],
        params: &GenParams,
    ) -> Result<(), ModelError> {
        if messages.is_empty() {
            return Err(ModelError::InvalidRequest("no messages".into()));
        }
        if messages.len() > self.max_messages {
            return Err(ModelError::InvalidRequest(format!(
                "{} messages; this server takes {} at most",
                messages.len(),
                self.max_messages
            )));
        }
        let bytes: usize = messages.iter().map(|m| m.content.len()).sum();
        if bytes > self.max_prompt_bytes {
            return Err(ModelError::InvalidRequest(format!(
                "the messages hold {bytes} bytes; this model takes {} at most",
                self.max_prompt_bytes
            )));
        }
        if params.stop.len() > MAX_STOP_STRINGS {
            return Err(ModelError::InvalidRequest(format!(
                "{} stop strings; {MAX_STOP_STRINGS} at most",
                params.stop.len()
            )));
        }
        if let Some(long) = params.stop.iter().find(|s| s.len() > MAX_STOP_BYTES) {
            return Err(ModelError::InvalidRequest(format!(
                "a stop string of {} bytes; {MAX_STOP_BYTES} at most",
                long.len()
            )));
        }
        Ok(())
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
        self.check(&messages, &params)?;
        let reservation = self.engine.reserve()?;
        // Tokenizing a long prompt takes seconds; on the engine thread it would stall every
        // running answer, so it runs on a blocking thread while answers go on.
        let permit = self
            .tokenizing
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ModelError::Engine("the tokenizer pool is closed".into()))?;
        let tokenizer = self.engine.tokenizer().clone();
        let prompt = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            tokenizer.tokens(&messages)
        })
        .await
        .map_err(|e| ModelError::Engine(format!("tokenizing failed: {e}")))??;
        let mut events = reservation.submit(prompt, self.sampling(&params))?;
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
