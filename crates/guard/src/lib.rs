//! The guard: a policy applied to what goes into a model and to what comes out of it, as the
//! moderation layer of a "productized" model service does.
//!
//! - **Input**: every piece of text the client wrote that the model will read as instructions
//!   or as its own words is scanned: the newest user message, everything after it (an
//!   assistant prefill), every system message and the request's system prompt, the whole
//!   conversation when it has no user message, and, if configured, some messages before the
//!   newest user message. A hit answers with a refusal written for the category and the
//!   prompt's language, and the model is never called.
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
mod error;
pub mod keys;
pub mod metrics;
mod model;
mod output;
mod refusal;
pub mod server;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use assay_core::{ChatRequest, FinishReason, Role, Usage};
use assay_models::{ChatModel, ModelError};
use assay_policy::{Hit, Policy};
use sha2::{Digest, Sha256};

pub use config::{Action, CategoryConfig, GuardConfig, Mode};
pub use error::GuardError;
pub use model::{GuardDecorator, GuardedModel, GUARD_PREFIX};
pub use output::{ChunkTimer, Generated, GuardStream};
pub use refusal::{category_label, refusal, PromptLanguage, NEUTRAL_LABEL_ZH};

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
    /// The rule that hit: the term itself when terms are revealed, else `hmac-sha256:<hex>` of
    /// it, keyed with the deployment's secret (see [`RuleKey`]).
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
        let language = refusal::language_of_request(request);
        let mut verdict = InputVerdict {
            language,
            logged: Vec::new(),
            refusal: None,
        };
        let mut counts: HashMap<u32, u32> = HashMap::new();
        for text in input_texts(request, self.config.input_context) {
            for hit in policy.scan(text) {
                let count = counts.entry(hit.category).or_default();
                *count += 1;
                let category = policy.category(hit.category).id.clone();
                if *count < self.config.threshold(&category) {
                    continue;
                }
                // A prompt is refused before the model is asked, so nothing was shown that
                // could be withdrawn: under `retract` too, what happened is a block, and the
                // log says so.
                let action = match self.config.action(&category) {
                    Action::Retract => Action::Block,
                    action => action,
                };
                let intervention = Intervention {
                    direction: Direction::Input,
                    offset: text[..hit.range.start].chars().count(),
                    rule: self.config.shown_rule(&hit.rule),
                    category,
                    action,
                };
                if action == Action::Log {
                    verdict.logged.push(intervention);
                    continue;
                }
                let text = refusal(policy.category(hit.category), language);
                verdict.refusal = Some((text, intervention));
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

/// The client's text that the input check scans, newest first: the request's system prompt,
/// every system message, the newest user message with what follows it (an assistant prefill
/// is the client's text too, and the model continues it) and up to `context` messages before
/// it; every message when there is no user message.
fn input_texts(request: &ChatRequest, context: usize) -> Vec<&str> {
    let messages = &request.messages;
    let (start, end) = match messages.iter().rposition(|m| m.role == Role::User) {
        Some(i) => (i.saturating_sub(context), messages.len()),
        None => (0, messages.len()),
    };
    let mut texts: Vec<&str> = messages[start..end]
        .iter()
        .rev()
        .map(|m| m.content.as_str())
        .collect();
    texts.extend(
        messages[..start]
            .iter()
            .filter(|m| m.role == Role::System)
            .map(|m| m.content.as_str()),
    );
    texts.extend(request.params.system.as_deref());
    texts
}

/// The key of the audit log's term hashes. Terms are short and guessable: a bare SHA-256 of
/// one is undone by hashing a word list, so the log keeps HMAC-SHA256 under a secret of the
/// deployment. The default key is random (per process): hashes from it cannot be guessed, nor
/// compared across restarts.
#[derive(Clone, PartialEq, Eq)]
pub struct RuleKey(Arc<[u8]>);

impl RuleKey {
    pub fn new(secret: &[u8]) -> RuleKey {
        RuleKey(Arc::from(secret))
    }

    /// `hmac-sha256:<hex>` of `term`.
    pub fn hash(&self, term: &str) -> String {
        format!(
            "hmac-sha256:{}",
            hex::encode(hmac_sha256(&self.0, term.as_bytes()))
        )
    }
}

impl Default for RuleKey {
    fn default() -> RuleKey {
        RuleKey::new(&rand::random::<[u8; 32]>())
    }
}

impl std::fmt::Debug for RuleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RuleKey(..)")
    }
}

/// HMAC-SHA256 (RFC 2104).
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(data);
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner);
    outer.finalize().into()
}

/// The category id and rule of a hit, as an intervention names them.
fn describe(policy: &Policy, config: &GuardConfig, hit: &Hit) -> (String, String) {
    (
        policy.category(hit.category).id.clone(),
        config.shown_rule(&hit.rule),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use assay_core::Message;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test cases 1 and 6 (a key longer than the block).
        assert_eq!(
            hex::encode(hmac_sha256(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hex::encode(hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
        let key = RuleKey::new(b"secret");
        assert_eq!(key.hash("bomb"), RuleKey::new(b"secret").hash("bomb"));
        assert_ne!(key.hash("bomb"), RuleKey::new(b"other").hash("bomb"));
        assert_ne!(
            key.hash("bomb"),
            format!("hmac-sha256:{}", hex::encode(Sha256::digest(b"bomb")))
        );
    }

    #[test]
    fn input_texts_cover_everything_the_client_wrote_for_the_model() {
        use assay_core::Role;
        let m = |role, text: &str| Message {
            role,
            content: text.to_string(),
        };
        let mut request = ChatRequest::new(vec![
            m(Role::System, "sys"),
            m(Role::User, "old question"),
            m(Role::Assistant, "old answer"),
            m(Role::User, "new question"),
            m(Role::Assistant, "prefill"),
        ]);
        request.params.system = Some("param system".into());
        assert_eq!(
            input_texts(&request, 0),
            ["prefill", "new question", "sys", "param system"]
        );
        assert_eq!(
            input_texts(&request, 1),
            [
                "prefill",
                "new question",
                "old answer",
                "sys",
                "param system"
            ]
        );
        let no_user = ChatRequest::new(vec![m(Role::System, "a"), m(Role::Assistant, "b")]);
        assert_eq!(input_texts(&no_user, 0), ["b", "a"]);
    }
}
