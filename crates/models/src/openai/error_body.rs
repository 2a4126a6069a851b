//! What an error body or error event says, quoted without credentials.

use crate::ModelError;

/// How many characters of a body that is not an OpenAI error are quoted in a message.
const QUOTE_CHARS: usize = 500;

/// If `bytes` is an error object (`{"error": ...}`), the error it describes.
pub(super) fn error_payload(url: &str, bytes: &[u8]) -> Option<ModelError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let error = value.get("error").filter(|e| !e.is_null())?;
    let message = error_message(bytes).unwrap_or_else(|| assay_core::redact(&error.to_string()));
    // Servers that report HTTP-like codes in the payload (vLLM, LiteLLM) get them honoured, so
    // that a 429 or 503 sent inside a 200 stream is retried like the real thing.
    let status = error
        .get("code")
        .and_then(|c| {
            c.as_u64()
                .or_else(|| c.as_str().and_then(|s| s.parse().ok()))
        })
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| (400..=599).contains(c));
    Some(match status {
        Some(status) => ModelError::Http {
            url: url.to_string(),
            status,
            message,
            retry_after: None,
        },
        None => ModelError::Protocol {
            url: url.to_string(),
            message: format!("the server reported: {message}"),
        },
    })
}

/// The message of an error body: OpenAI's `{"error": {"message"}}`, the `{"error": "..."}`,
/// `{"message"}` and `{"detail"}` shapes other servers use, or else the start of the body.
pub(super) fn error_message(bytes: &[u8]) -> Option<String> {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) {
        let error = value.get("error");
        let nested = error
            .and_then(|e| e.get("message"))
            .and_then(|m| m.as_str());
        let found = nested
            .or_else(|| error.and_then(|e| e.as_str()))
            .or_else(|| value.get("message").and_then(|m| m.as_str()))
            .or_else(|| value.get("detail").and_then(|m| m.as_str()));
        if let Some(message) = found {
            let kind = error.and_then(|e| e.get("type")).and_then(|t| t.as_str());
            // Upstreams echo URLs and keys in their errors; those must not travel on.
            return Some(assay_core::redact(&match kind {
                Some(kind) if !kind.is_empty() => format!("{message} ({kind})"),
                _ => message.to_string(),
            }));
        }
    }
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    (!text.is_empty()).then(|| quote(text.as_bytes()))
}

/// The first [`QUOTE_CHARS`] characters of a body, for error messages, without credentials.
pub(super) fn quote(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut chars = text.char_indices();
    assay_core::redact(&match chars.nth(QUOTE_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.into_owned(),
    })
}

/// An error and its causes, since reqwest's own message is often just "error sending request".
pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        // hyper and std often repeat the cause in the message; say it once.
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages() {
        assert_eq!(
            error_message(
                br#"{"error":{"message":"no such model","type":"invalid_request_error"}}"#
            )
            .as_deref(),
            Some("no such model (invalid_request_error)")
        );
        assert_eq!(
            error_message(br#"{"error":"model not found"}"#).as_deref(),
            Some("model not found")
        );
        assert_eq!(
            error_message(br#"{"detail":"Not Found"}"#).as_deref(),
            Some("Not Found")
        );
        assert_eq!(
            error_message(b"<html>Bad gateway</html>").as_deref(),
            Some("<html>Bad gateway</html>")
        );
        assert_eq!(error_message(b"  \n"), None);
        let long = "é".repeat(2000);
        let quoted = error_message(long.as_bytes()).unwrap_or_default();
        assert_eq!(quoted.chars().count(), QUOTE_CHARS + 1);
    }

    #[test]
    fn error_payloads() {
        let e = error_payload("u", br#"{"error":{"message":"overloaded","code":503}}"#);
        assert!(
            matches!(e, Some(ModelError::Http { status: 503, .. })),
            "{e:?}"
        );
        let e = error_payload(
            "u",
            br#"{"error":{"message":"bad","code":"context_length_exceeded"}}"#,
        );
        assert!(
            matches!(&e, Some(ModelError::Protocol { message, .. }) if message.contains("bad")),
            "{e:?}"
        );
        assert!(error_payload("u", br#"{"choices":[],"error":null}"#).is_none());
        assert!(error_payload("u", b"[DONE]").is_none());
    }
}
