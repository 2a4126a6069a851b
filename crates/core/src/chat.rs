use serde::{Deserialize, Serialize};

/// Who wrote a message in a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// OpenAI's newer clients send the system prompt as `developer`; it means the same.
    #[serde(alias = "developer")]
    System,
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    /// Always written as a string; read from a string or from OpenAI's list of content parts.
    #[serde(deserialize_with = "content_text")]
    pub content: String,
}

/// A message's content: a string, or a list of parts (`[{"type": "text", "text": "…"}]`, as
/// OpenAI clients send it) whose texts are concatenated. Other parts (images, audio, files)
/// are refused rather than dropped: the model would answer a question it was not asked.
fn content_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Content {
        Text(String),
        Parts(Vec<Part>),
    }
    #[derive(Deserialize)]
    struct Part {
        #[serde(rename = "type")]
        kind: String,
        #[serde(default)]
        text: Option<String>,
    }
    let parts = match Content::deserialize(deserializer).map_err(|_| {
        serde::de::Error::custom(
            "message content must be a string or a list of {\"type\": \"text\", \"text\": …} parts",
        )
    })? {
        Content::Text(text) => return Ok(text),
        Content::Parts(parts) => parts,
    };
    let mut out = String::new();
    for part in parts {
        match (part.kind.as_str(), part.text) {
            ("text", Some(text)) => out.push_str(&text),
            ("text", None) => {
                return Err(serde::de::Error::custom(
                    "a text content part has no \"text\"",
                ))
            }
            (kind, _) => {
                return Err(serde::de::Error::custom(format!(
                    "content parts of type {kind:?} are not supported; only \"text\" parts are"
                )))
            }
        }
    }
    Ok(out)
}

impl Message {
    pub fn system(content: impl Into<String>) -> Self {
        Message {
            role: Role::System,
            content: content.into(),
        }
    }
    pub fn user(content: impl Into<String>) -> Self {
        Message {
            role: Role::User,
            content: content.into(),
        }
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        Message {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// Generation parameters. Every field is optional so that parameters from a model name, a
/// request and a backend default can be layered with [`GenParams::or`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GenParams {
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_opt_as_written"
    )]
    pub temperature: Option<f32>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_opt_as_written"
    )]
    pub top_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    /// A system prompt put in front of the conversation when it has none of its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
}

impl GenParams {
    /// Fields set in `self` win; unset ones are taken from `fallback`.
    pub fn or(&self, fallback: &GenParams) -> GenParams {
        GenParams {
            temperature: self.temperature.or(fallback.temperature),
            top_p: self.top_p.or(fallback.top_p),
            max_tokens: self.max_tokens.or(fallback.max_tokens),
            seed: self.seed.or(fallback.seed),
            stop: if self.stop.is_empty() {
                fallback.stop.clone()
            } else {
                self.stop.clone()
            },
            system: self.system.clone().or_else(|| fallback.system.clone()),
        }
    }
}

/// The `f64` that reads as `value` was written: `0.7f32` is `0.699999988079071` widened
/// exactly, which is what `serde_json::to_value` (and every report built from it) would show;
/// its shortest decimal, `0.7`, read as an `f64` is what the user typed, and reads back as the
/// same `f32`.
pub fn f32_as_written(value: f32) -> f64 {
    value.to_string().parse::<f64>().unwrap_or(f64::from(value))
}

/// Serializes an `f32` as [`f32_as_written`] (`#[serde(serialize_with = ...)]`).
pub fn serialize_as_written<S: serde::Serializer>(value: &f32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(f32_as_written(*value))
}

/// [`serialize_as_written`] for an optional `f32`.
pub fn serialize_opt_as_written<S: serde::Serializer>(
    value: &Option<f32>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => s.serialize_some(&f32_as_written(*v)),
        None => s.serialize_none(),
    }
}

/// One chat completion request, independent of any wire format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub messages: Vec<Message>,
    pub params: GenParams,
}

impl ChatRequest {
    pub fn new(messages: Vec<Message>) -> Self {
        ChatRequest {
            messages,
            params: GenParams::default(),
        }
    }

    /// The messages with `params.system` put first when the conversation has no system message.
    pub fn messages_with_system(&self) -> Vec<Message> {
        match &self.params.system {
            Some(system) if !self.messages.iter().any(|m| m.role == Role::System) => {
                let mut out = Vec::with_capacity(self.messages.len() + 1);
                out.push(Message::system(system.clone()));
                out.extend(self.messages.iter().cloned());
                out
            }
            _ => self.messages.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// The model ended its answer or a stop string was met.
    Stop,
    /// `max_tokens` (or the context) ran out.
    Length,
    /// A moderation layer stopped the answer.
    ContentFilter,
}

impl FinishReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ContentFilter => "content_filter",
        }
    }

    /// Reads an OpenAI `finish_reason`; reasons we do not model (tool calls…) count as `stop`.
    pub fn from_openai(s: &str) -> FinishReason {
        match s {
            "length" => FinishReason::Length,
            "content_filter" => FinishReason::ContentFilter,
            _ => FinishReason::Stop,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
}

/// A finished answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    pub text: String,
    pub finish_reason: FinishReason,
    pub usage: Usage,
}

/// What a streamed answer yields: text as it is generated, then one `Done`.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatEvent {
    Delta(String),
    /// A moderation layer withdrew text already sent (the guard in retract mode): keep the
    /// first `offset` characters of the answer so far and put `replace_with` after them.
    /// `Done` follows.
    Retract {
        offset: usize,
        replace_with: String,
    },
    Done {
        finish_reason: FinishReason,
        usage: Usage,
    },
}

impl ChatEvent {
    /// Updates the text of an answer with this event: a delta is appended, a retraction
    /// withdraws and replaces, `Done` changes nothing.
    pub fn apply_to(&self, text: &mut String) {
        match self {
            ChatEvent::Delta(delta) => text.push_str(delta),
            ChatEvent::Retract {
                offset,
                replace_with,
            } => {
                let keep = text
                    .char_indices()
                    .nth(*offset)
                    .map_or(text.len(), |(at, _)| at);
                text.truncate(keep);
                text.push_str(replace_with);
            }
            ChatEvent::Done { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(json: &str) -> Result<Message, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn developer_is_read_as_system_and_written_as_system() {
        let m = message(r#"{"role": "developer", "content": "be terse"}"#).unwrap();
        assert_eq!(m, Message::system("be terse"));
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"role":"system","content":"be terse"}"#
        );
    }

    #[test]
    fn content_parts_are_concatenated() {
        let m = message(
            r#"{"role": "user", "content": [{"type": "text", "text": "Hello, "},
                {"type": "text", "text": "world", "cache_control": {"type": "ephemeral"}}]}"#,
        )
        .unwrap();
        assert_eq!(m, Message::user("Hello, world"));
        assert_eq!(
            message(r#"{"role": "user", "content": []}"#).unwrap(),
            Message::user("")
        );
        // Written back as a plain string.
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"role":"user","content":"Hello, world"}"#
        );
    }

    #[test]
    fn other_content_is_refused_with_a_clear_message() {
        let image = message(
            r#"{"role": "user", "content": [{"type": "text", "text": "what is this?"},
                {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}"#,
        )
        .unwrap_err();
        assert!(
            image.contains(r#"content parts of type "image_url" are not supported"#),
            "{image}"
        );
        let no_text = message(r#"{"role": "user", "content": [{"type": "text"}]}"#).unwrap_err();
        assert!(no_text.contains("has no \"text\""), "{no_text}");
        let number = message(r#"{"role": "user", "content": 42}"#).unwrap_err();
        assert!(number.contains("must be a string or a list"), "{number}");
        assert!(message(r#"{"role": "tool", "content": "x"}"#).is_err());
    }

    #[test]
    fn parameters_serialize_as_written_and_read_back_the_same() {
        let params = GenParams {
            temperature: Some(0.7),
            top_p: Some(0.95),
            max_tokens: Some(8),
            ..GenParams::default()
        };
        // A JSON value (what reports are built from) used to say 0.699999988079071.
        let value = serde_json::to_value(&params).unwrap();
        assert_eq!(value["temperature"].to_string(), "0.7");
        assert_eq!(value["top_p"].to_string(), "0.95");
        assert_eq!(
            serde_json::to_string(&params).unwrap(),
            r#"{"temperature":0.7,"top_p":0.95,"max_tokens":8}"#
        );
        let back: GenParams = serde_json::from_value(value).unwrap();
        assert_eq!(back, params);
        for x in [0.1f32, 1.2, 1e-7, 3.4028235e38, 0.0, -0.5] {
            assert_eq!(f32_as_written(x) as f32, x, "{x}");
            assert_eq!(f32_as_written(x).to_string(), x.to_string(), "{x}");
        }
    }
}
