//! OpenAI-compatible wire types for `/v1/chat/completions`, shared by the client that talks to
//! remote servers and by the servers assay runs itself. Only the fields assay uses are modelled;
//! unknown fields in requests are ignored, as OpenAI-compatible servers do.

use serde::{Deserialize, Serialize};

use crate::{GenParams, Message, Usage};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ChatCompletionRequest {
    pub model: String,
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// The newer name for `max_tokens`; accepted on input, never sent.
    #[serde(default, skip_serializing)]
    pub max_completion_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Stop>,
    #[serde(default)]
    pub stream: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    /// How many answers to generate; assay servers give one, and refuse to be asked for more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
}

/// `stop` is a string or a list of strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Stop {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StreamOptions {
    #[serde(default)]
    pub include_usage: bool,
}

impl ChatCompletionRequest {
    /// The generation parameters this request carries (the system prompt travels in `messages`).
    pub fn params(&self) -> GenParams {
        GenParams {
            temperature: self.temperature,
            top_p: self.top_p,
            max_tokens: self.max_tokens.or(self.max_completion_tokens),
            seed: self.seed,
            stop: match &self.stop {
                None => Vec::new(),
                Some(Stop::One(s)) => vec![s.clone()],
                Some(Stop::Many(v)) => v.clone(),
            },
            system: None,
        }
    }

    /// Whether a streamed answer should end with a usage chunk (`stream_options.include_usage`).
    pub fn include_usage(&self) -> bool {
        self.stream_options
            .as_ref()
            .is_some_and(|o| o.include_usage)
    }

    pub fn new(model: &str, messages: Vec<Message>, params: &GenParams, stream: bool) -> Self {
        ChatCompletionRequest {
            model: model.to_string(),
            messages,
            temperature: params.temperature,
            top_p: params.top_p,
            max_tokens: params.max_tokens,
            max_completion_tokens: None,
            seed: params.seed,
            stop: (!params.stop.is_empty()).then(|| Stop::Many(params.stop.clone())),
            stream,
            stream_options: stream.then_some(StreamOptions {
                include_usage: true,
            }),
            n: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChatCompletionResponse {
    // Lenient: some OpenAI-compatible servers leave these out.
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub object: String,
    #[serde(default)]
    pub created: u64,
    #[serde(default)]
    pub model: String,
    pub choices: Vec<Choice>,
    #[serde(default)]
    pub usage: Option<UsageBody>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assay: Option<AssayExtension>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Choice {
    #[serde(default)]
    pub index: u32,
    pub message: ResponseMessage,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResponseMessage {
    pub role: String,
    /// `null` when a server answers with tool calls only.
    #[serde(default)]
    pub content: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct UsageBody {
    #[serde(default)]
    pub prompt_tokens: u32,
    #[serde(default)]
    pub completion_tokens: u32,
    #[serde(default)]
    pub total_tokens: u32,
}

impl From<Usage> for UsageBody {
    fn from(u: Usage) -> Self {
        UsageBody {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            total_tokens: u.prompt_tokens + u.completion_tokens,
        }
    }
}

impl From<UsageBody> for Usage {
    fn from(u: UsageBody) -> Self {
        Usage {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChatCompletionChunk {
    // Lenient: some OpenAI-compatible servers leave these out.
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub object: String,
    #[serde(default)]
    pub created: u64,
    #[serde(default)]
    pub model: String,
    pub choices: Vec<ChunkChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<UsageBody>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assay: Option<AssayExtension>,
}

/// assay's extension to OpenAI's answer shapes: what the guard did to this answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssayExtension {
    /// The answer was stopped before anything offending was shown (output), or the prompt
    /// was refused (input); the content is the replacement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<Blocked>,
    /// Text already shown must be withdrawn: keep its first `offset` characters (Unicode code
    /// points) and show `replace_with` after them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retract: Option<Retraction>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocked {
    /// `input` or `output`.
    pub direction: String,
    pub category: String,
    /// The matched term, when the guard is configured to reveal terms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retraction {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    pub replace_with: String,
    pub offset: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChunkChoice {
    #[serde(default)]
    pub index: u32,
    #[serde(default)]
    pub delta: Delta,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Delta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// OpenAI's error shape: `{"error": {"message", "type", "param", "code"}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorResponse {
    pub error: ErrorBody,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub message: String,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub param: Option<String>,
    #[serde(default)]
    pub code: Option<serde_json::Value>,
}

impl ErrorResponse {
    pub fn new(kind: &str, message: impl Into<String>) -> Self {
        ErrorResponse {
            error: ErrorBody {
                message: message.into(),
                kind: Some(kind.to_string()),
                param: None,
                code: None,
            },
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelList {
    pub object: String,
    pub data: Vec<ModelEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelEntry {
    pub id: String,
    pub object: String,
    pub created: u64,
    pub owned_by: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n_is_read_and_not_sent_unless_set() {
        let request: ChatCompletionRequest = serde_json::from_str(
            r#"{"model": "m", "n": 3, "messages": [{"role": "developer", "content": [{"type": "text", "text": "hi"}]}]}"#,
        )
        .unwrap();
        assert_eq!(request.n, Some(3));
        assert_eq!(request.messages, vec![crate::Message::system("hi")]);
        let sent = ChatCompletionRequest::new("m", Vec::new(), &GenParams::default(), false);
        assert!(!serde_json::to_string(&sent).unwrap().contains("\"n\""));
    }
}
