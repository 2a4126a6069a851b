//! Shared vocabulary for assay.
//!
//! Everything that more than one capability needs to agree on lives here: chat messages and
//! requests, generation parameters, the one parser for model names, and the OpenAI-compatible
//! wire types spoken by both our client and our servers.

mod chat;
pub mod fs;
mod home;
pub mod html;
mod language;
mod model_name;
pub mod openai;
pub mod progress;
pub mod pypi;
pub mod redact;
pub mod table;
pub mod text;
mod time;

pub use chat::{
    f32_as_written, serialize_as_written, ChatEvent, ChatRequest, ChatResponse, FinishReason,
    GenParams, Message, Role, Usage,
};
pub use home::assay_home;
pub use language::{detect_language, DetectedLanguage, Language};
pub use model_name::{ModelName, ModelNameError, ModelSpec, ACCEPTED_FORMS};
pub use redact::redact;
pub use text::estimate_tokens;
pub use time::{now_rfc3339, parse_age};
