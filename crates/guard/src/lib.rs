//! The guard: a policy applied to what goes into a model and to what comes out of it, as the
//! moderation layer of a "productized" model service does.
//!
//! - **Input**: the newest user message (and, if configured, some messages before it) is
//!   scanned; a hit answers with a refusal written for the category and the prompt's language,
//!   and the model is never called.
//! - **Output**: the answer is scanned as it streams, with the policy's streaming scanner
//!   ([`assay_policy::StreamScanner`]), which finds every hit exactly once even when it
//!   straddles chunks. What happens on a hit depends on the category's [`Action`]:
//!   - `block`: text is *held back* until it can no longer be part of a match (the scanner's
//!     settled point, less a margin); on a hit the upstream is dropped (which stops
//!     generation) and a replacement is sent instead. Nothing that matches reaches the client.
//!   - `retract`: text goes out at once; on a hit the upstream is dropped and the client is
//!     told to withdraw what it showed ([`GuardEvent::Retracted`]).
//!   - `log`: the hit is recorded and the answer goes on.
//!
//!   Text is held back whenever some category blocks; then a retract-category hit is caught
//!   before it is shown, and handled like a block.
//!
//! [`Guard::chat`] turns a request into a stream of [`GuardEvent`]s; the server
//! (`assay guard`) writes them as OpenAI chunks with an `assay` extension, and
//! [`GuardedModel`] makes a guarded model an ordinary [`assay_models::ChatModel`]
//! (`guard:<pack>@<model>`).

mod config;
pub mod keys;
pub mod metrics;
mod model;
mod output;
mod refusal;
pub mod server;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use assay_core::{ChatRequest, FinishReason, Message, Role, Usage};
use assay_models::{ChatModel, ModelError};
use assay_policy::{Hit, Policy};
use sha2::{Digest, Sha256};

pub use config::{Action, CategoryConfig, GuardConfig, Mode};
pub use model::{open_model, GuardedModel};
pub use output::{ChunkTimer, GuardStream};
pub use refusal::{refusal, PromptLanguage};

/// Which way the text that hit was going.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Input,
    Output,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Input => "input",
            Direction::Output => "output",
        }
    }
}

/// One thing the guard did (or, for `log`, saw): what the audit log records.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Intervention {
    pub direction: Direction,
    /// The category's id.
    pub category: String,
    pub action: Action,
    /// The rule that hit: the term itself when terms are revealed, else `sha256:<hex>` of it.
    pub rule: String,
    /// Where the hit starts, in characters of the prompt message (input) or of the answer
    /// (output).
    pub offset: usize,
}

/// What a guarded answer yields.
#[derive(Debug)]
pub enum GuardEvent {
    /// Text the client may show.
    Delta(String),
    /// A hit that is only logged; nothing changes for the client.
    Logged(Intervention),
    /// The prompt was refused (the model was not called): show `text` as the answer.
    Refused {
        text: String,
        intervention: Intervention,
    },
    /// The answer was stopped before anything offending was shown: show `text` after what was
    /// shown so far.
    Replaced {
        text: String,
        intervention: Intervention,
    },
    /// The answer was stopped after offending text was shown: keep the first `offset`
    /// characters of what was shown and put `replace_with` after them.
    Retracted {
        offset: usize,
        replace_with: String,
        intervention: Intervention,
    },
    /// The end of the answer.
    Done {
        finish_reason: FinishReason,
        usage: Usage,
    },
    /// The upstream failed; nothing more follows.
    Error(ModelError),
}

/// A model behind a policy.
pub struct Guard {
    upstream: Arc<dyn ChatModel>,
    /// Swapped whole on reload; each answer keeps the policy it started with.
    policy: RwLock<Arc<Policy>>,
    config: GuardConfig,
}

impl Guard {
    pub fn new(upstream: Arc<dyn ChatModel>, policy: Policy, config: GuardConfig) -> Guard {
        Guard {
            upstream,
            policy: RwLock::new(Arc::new(policy)),
            config,
        }
    }

    pub fn upstream(&self) -> &Arc<dyn ChatModel> {
        &self.upstream
    }

    pub fn config(&self) -> &GuardConfig {
        &self.config
    }

    /// The policy answers start with now.
    pub fn policy(&self) -> Arc<Policy> {
        match self.policy.read() {
            Ok(p) => Arc::clone(&p),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Replaces the policy for answers that start from now on (answers under way keep theirs).
    pub fn set_policy(&self, policy: Policy) {
        let policy = Arc::new(policy);
        match self.policy.write() {
            Ok(mut p) => *p = policy,
            Err(poisoned) => *poisoned.into_inner() = policy,
        }
    }

    /// The first input hit that calls for refusing `request`, and the logged ones before it.
    pub fn check_input(&self, request: &ChatRequest) -> InputVerdict {
        self.check_input_with(&self.policy(), request)
    }

    fn check_input_with(&self, policy: &Policy, request: &ChatRequest) -> InputVerdict {
        let language = PromptLanguage::of_request(request);
        let mut verdict = InputVerdict {
            language,
            logged: Vec::new(),
            refusal: None,
        };
        let mut counts: HashMap<u32, u32> = HashMap::new();
        for message in input_messages(&request.messages, self.config.input_context) {
            for hit in policy.scan(&message.content) {
                let count = counts.entry(hit.category).or_default();
                *count += 1;
                let category = policy.category(hit.category).id.clone();
                if *count < self.config.threshold(&category) {
                    continue;
                }
                let action = self.config.action(&category);
                let intervention = Intervention {
                    direction: Direction::Input,
                    offset: message.content[..hit.range.start].chars().count(),
                    rule: self.config.shown_rule(&hit.rule),
                    category,
                    action,
                };
                if action == Action::Log {
                    verdict.logged.push(intervention);
                    continue;
                }
                let name = &policy.category(hit.category).name;
                verdict.refusal = Some((refusal(name, language), intervention));
                return verdict;
            }
        }
        verdict
    }

    /// The answer to `request` as guard events: refused, or streamed from the upstream under
    /// the output check.
    pub async fn chat(&self, request: ChatRequest) -> Result<GuardStream, ModelError> {
        // One policy for the whole answer, even if a reload comes in between.
        let policy = self.policy();
        let verdict = self.check_input_with(&policy, &request);
        if let Some((text, intervention)) = verdict.refusal {
            return Ok(GuardStream::refused(verdict.logged, text, intervention));
        }
        let upstream = self.upstream.stream(request).await?;
        Ok(GuardStream::new(
            upstream,
            policy,
            &self.config,
            verdict.language,
            verdict.logged,
        ))
    }
}

/// What the input check decided.
#[derive(Debug)]
pub struct InputVerdict {
    pub language: PromptLanguage,
    /// Hits in `log` categories.
    pub logged: Vec<Intervention>,
    /// The refusal to answer with, and why.
    pub refusal: Option<(String, Intervention)>,
}

/// The newest user message and up to `context` messages before it.
fn input_messages(messages: &[Message], context: usize) -> impl Iterator<Item = &Message> {
    let newest_user = messages.iter().rposition(|m| m.role == Role::User);
    let (start, end) = match newest_user {
        Some(i) => (i.saturating_sub(context), i + 1),
        None => (0, 0),
    };
    messages[start..end].iter().rev()
}

/// `term`, or its SHA-256 (what the log keeps when terms are not revealed).
pub fn hashed_rule(term: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(term.as_bytes())))
}

/// The category id and rule of a hit, as an intervention names them.
fn describe(policy: &Policy, config: &GuardConfig, hit: &Hit) -> (String, String) {
    (
        policy.category(hit.category).id.clone(),
        config.shown_rule(&hit.rule),
    )
}
