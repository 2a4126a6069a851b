//! A guarded model as an ordinary [`ChatModel`] (`guard:<pack>@<model>`), so that every
//! command that takes a model can take the productized one: [`GuardDecorator`] is registered
//! with the model [`Registry`] for the `guard:` prefix.

use std::sync::Arc;

use assay_core::{ChatEvent, ChatRequest, ChatResponse};
use assay_models::{ChatModel, Decorator, EventStream, Load, ModelError, Registry, Wrapper};
use assay_policy::PolicyBuilder;
use futures::StreamExt;

use crate::{Guard, GuardConfig, GuardEvent};

/// A [`Guard`] seen as a model: refusals and replacements are answer text, retractions are
/// [`ChatEvent::Retract`], and a stopped answer finishes with `content_filter`.
pub struct GuardedModel {
    guard: Arc<Guard>,
    id: String,
}

impl GuardedModel {
    pub fn new(guard: Arc<Guard>) -> GuardedModel {
        let id = guard.upstream().id().to_string();
        GuardedModel { guard, id }
    }

    pub fn guard(&self) -> &Arc<Guard> {
        &self.guard
    }
}

#[async_trait::async_trait]
impl ChatModel for GuardedModel {
    fn id(&self) -> &str {
        &self.id
    }

    async fn complete(&self, request: ChatRequest) -> Result<ChatResponse, ModelError> {
        assay_models::collect(self.stream(request).await?).await
    }

    async fn stream(&self, request: ChatRequest) -> Result<EventStream, ModelError> {
        let events = self.guard.chat(request).await?;
        let mapped = events.filter_map(|event| async move {
            match event {
                GuardEvent::Delta(text) => Some(Ok(ChatEvent::Delta(text))),
                GuardEvent::Logged(_) => None,
                GuardEvent::Refused { text, .. } | GuardEvent::Replaced { text, .. } => {
                    Some(Ok(ChatEvent::Delta(text)))
                }
                GuardEvent::Retracted {
                    offset,
                    replace_with,
                    ..
                } => Some(Ok(ChatEvent::Retract {
                    offset,
                    replace_with,
                })),
                GuardEvent::Done {
                    finish_reason,
                    usage,
                } => Some(Ok(ChatEvent::Done {
                    finish_reason,
                    usage,
                })),
                GuardEvent::Error(e) => Some(Err(e)),
            }
        });
        Ok(Box::pin(mapped))
    }

    fn load(&self) -> Option<Load> {
        self.guard.upstream().load()
    }
}

/// Opens `guard:<pack>@<model>` names: the inner model behind the guard with the policy
/// pack `<pack>` (a built-in name or a directory) and the default guard settings (hold back,
/// block every category).
pub struct GuardDecorator;

/// The prefix [`GuardDecorator`] opens.
pub const GUARD_PREFIX: &str = "guard";

impl GuardDecorator {
    /// Makes `registry` open `guard:` names.
    pub fn register(registry: &mut Registry) {
        registry.register(GUARD_PREFIX, Arc::new(GuardDecorator));
    }
}

impl Decorator for GuardDecorator {
    fn prepare(&self, pack: &str) -> Result<Wrapper, ModelError> {
        let mut builder = PolicyBuilder::new();
        builder
            .add_pack_or_builtin(pack)
            .map_err(|e| ModelError::Config(format!("policy pack {pack:?}: {e}")))?;
        let policy = builder
            .build()
            .map_err(|e| ModelError::Config(format!("policy pack {pack:?}: {e}")))?;
        Ok(Box::new(move |inner| {
            let guard = Guard::new(inner, policy, GuardConfig::default());
            Arc::new(GuardedModel::new(Arc::new(guard))) as Arc<dyn ChatModel>
        }))
    }
}
