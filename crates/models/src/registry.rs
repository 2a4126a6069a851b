//! The one way to open a model by name.
//!
//! A [`Registry`] keeps one llama.cpp engine per GGUF file: every name that resolves to the same
//! file (`local:smollm2`, `local:smollm2?temperature=1.2`, `guard:example@local:smollm2`) is a
//! [`WithParams`] over that engine, with its own generation parameters. Loading a model costs
//! seconds and its memory, and two engines on the same cores slow each other many times over
//! (llama.cpp's threads spin at barriers), so a command that compares variants of one model must
//! not load it once per variant.
//!
//! Wrapping forms such as `guard:<pack>@<model>` belong to higher crates: they register a
//! [`Decorator`] for their prefix; the registry checks the argument with it, opens the inner
//! model (sharing its engine) and hands that to the decorator's [`Wrapper`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use assay_core::{ChatRequest, ChatResponse, GenParams, ModelName, ModelSpec};

use crate::{openai, ChatModel, EventStream, Load, ModelError, OpenOptions};

/// What a [`Decorator`] made of its argument: it wraps the inner model once that is open.
pub type Wrapper = Box<dyn FnOnce(Arc<dyn ChatModel>) -> Arc<dyn ChatModel> + Send>;

/// Opens names of the form `<prefix>:<argument>@<model>`.
pub trait Decorator: Send + Sync {
    /// Reads `argument` (for `guard:example@local:smollm2`, `example`) into a [`Wrapper`]. It
    /// runs before the inner model is opened, so a bad argument fails before a model is fetched
    /// or loaded.
    fn prepare(&self, argument: &str) -> Result<Wrapper, ModelError>;
}

/// Opens models by name with one set of [`OpenOptions`], sharing local engines.
pub struct Registry {
    options: OpenOptions,
    decorators: HashMap<String, Arc<dyn Decorator>>,
    /// Loaded engines by the canonical path of their GGUF file. The lock is held while an
    /// engine loads, so two names of one file opened at once still load it once.
    #[cfg(feature = "local")]
    engines: tokio::sync::Mutex<HashMap<std::path::PathBuf, Arc<crate::local::LocalModel>>>,
    engines_loaded: AtomicUsize,
}

impl Registry {
    /// A registry whose engines and clients all use `options` (one engine setting per
    /// registry: engines are shared by file).
    pub fn new(options: OpenOptions) -> Registry {
        Registry {
            options,
            decorators: HashMap::new(),
            #[cfg(feature = "local")]
            engines: tokio::sync::Mutex::new(HashMap::new()),
            engines_loaded: AtomicUsize::new(0),
        }
    }

    /// Makes `<prefix>:<argument>@<model>` names open through `decorator`.
    pub fn register(&mut self, prefix: &str, decorator: Arc<dyn Decorator>) {
        self.decorators.insert(prefix.to_string(), decorator);
    }

    /// The options models are opened with.
    pub fn options(&self) -> &OpenOptions {
        &self.options
    }

    /// Local engines this registry has loaded so far.
    pub fn engines_loaded(&self) -> usize {
        self.engines_loaded.load(Ordering::SeqCst)
    }

    /// Opens the model a name refers to. Local models are fetched when missing and loaded
    /// here (once per file), so this can take a while for them; remote models are not
    /// contacted until the first request.
    pub async fn open(&self, spec: &ModelSpec) -> Result<Arc<dyn ChatModel>, ModelError> {
        if let Some((prefix, argument, inner)) = spec.decorated() {
            let decorator = self.decorators.get(prefix).ok_or_else(|| {
                ModelError::Config(format!("{spec}: nothing here opens {prefix}: models"))
            })?;
            let wrapper = decorator.prepare(argument)?;
            let inner = Box::pin(self.open(inner)).await?;
            return Ok(wrapper(inner));
        }
        match &spec.name {
            ModelName::OpenAi { model } => {
                let base = std::env::var("OPENAI_BASE_URL")
                    .unwrap_or_else(|_| "https://api.openai.com/v1".to_string());
                let key = std::env::var("OPENAI_API_KEY").map_err(|_| {
                    ModelError::Config(format!("{spec}: OPENAI_API_KEY is not set"))
                })?;
                let client = openai::OpenAiClient::new(
                    &base,
                    model,
                    Some(key),
                    spec.params.clone(),
                    self.options.client.clone(),
                )?;
                Ok(Arc::new(client))
            }
            ModelName::Http { base_url, model } => {
                let key = match &self.options.api_key_env {
                    Some(var) => Some(std::env::var(var).map_err(|_| {
                        ModelError::Config(format!(
                            "{spec}: environment variable {var} (--api-key-env) is not set"
                        ))
                    })?),
                    None => None,
                };
                let client = openai::OpenAiClient::new(
                    base_url,
                    model,
                    key,
                    spec.params.clone(),
                    self.options.client.clone(),
                )?;
                Ok(Arc::new(client))
            }
            #[cfg(feature = "local")]
            ModelName::Local(name) => self.open_local(name, &spec.params).await,
            #[cfg(not(feature = "local"))]
            ModelName::Local(_) => Err(ModelError::Config(format!(
                "{spec}: this build has no local engine (feature `local`)"
            ))),
            ModelName::Guard { .. } => Err(ModelError::Config(format!(
                "{spec}: a wrapped model without its wrapper"
            ))),
        }
    }

    #[cfg(feature = "local")]
    async fn open_local(
        &self,
        name: &str,
        params: &GenParams,
    ) -> Result<Arc<dyn ChatModel>, ModelError> {
        use crate::local::{catalogue, LocalModel};
        let config = &self.options.local;
        let home = config.home.clone().unwrap_or_else(assay_core::assay_home);
        let path = catalogue::resolve(name, &home).await?;
        // `local:smollm2` and the path of its file are one engine.
        let key = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        let engine = {
            let mut engines = self.engines.lock().await;
            match engines.get(&key) {
                Some(engine) => engine.clone(),
                None => {
                    let engine = Arc::new(
                        LocalModel::open_file(&path, name, GenParams::default(), config).await?,
                    );
                    self.engines_loaded.fetch_add(1, Ordering::SeqCst);
                    tracing::info!(path = %path.display(), "local engine loaded");
                    engines.insert(key, engine.clone());
                    engine
                }
            }
        };
        let id = LocalModel::id_for(name, &path);
        Ok(Arc::new(
            WithParams::new(engine, params.clone()).with_id(id),
        ))
    }
}

/// A model with generation parameters of its own in front of a shared one: the request's
/// parameters win, then these, then the inner model's.
pub struct WithParams {
    inner: Arc<dyn ChatModel>,
    params: GenParams,
    id: String,
}

impl WithParams {
    pub fn new(inner: Arc<dyn ChatModel>, params: GenParams) -> WithParams {
        let id = inner.id().to_string();
        WithParams { inner, params, id }
    }

    /// Names it `id` rather than the inner model's identifier.
    pub fn with_id(mut self, id: String) -> WithParams {
        self.id = id;
        self
    }
}

#[async_trait::async_trait]
impl ChatModel for WithParams {
    fn id(&self) -> &str {
        &self.id
    }

    async fn complete(&self, mut request: ChatRequest) -> Result<ChatResponse, ModelError> {
        request.params = request.params.or(&self.params);
        self.inner.complete(request).await
    }

    async fn stream(&self, mut request: ChatRequest) -> Result<EventStream, ModelError> {
        request.params = request.params.or(&self.params);
        self.inner.stream(request).await
    }

    fn load(&self) -> Option<Load> {
        self.inner.load()
    }
}
