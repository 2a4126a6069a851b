//! The language of a prompt, as LMSYS's battle data names it ("Chinese", "English", …). The
//! detector itself is assay-core's [`detect_language`], shared with the guard.

pub use assay_core::{detect_language, DetectedLanguage};

/// The LMSYS-style name of the language of `text` (see [`detect_language`]).
pub fn detect(text: &str) -> &'static str {
    detect_language(text).name()
}

/// The short codes people type for the languages the arena detects, with the names votes are
/// stored under (`Chinese`, `English`, …).
pub const CODES: [(&str, DetectedLanguage); 5] = [
    ("zh", DetectedLanguage::Chinese),
    ("en", DetectedLanguage::English),
    ("ja", DetectedLanguage::Japanese),
    ("ko", DetectedLanguage::Korean),
    ("ru", DetectedLanguage::Russian),
];

/// The stored name for a language as a person writes it: a code (`zh`, `en`, `zh-CN`, any
/// case) or a name the detector gives (`chinese`); `None` for anything else.
pub fn canonical(value: &str) -> Option<&'static str> {
    let value = value.trim();
    // A region or script after the code (zh-CN, zh_Hans, en-US) names the same language.
    let code = value.split(['-', '_']).next().unwrap_or(value);
    CODES
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(code))
        .map(|(_, l)| l.name())
        .or_else(|| DetectedLanguage::from_name(value).map(DetectedLanguage::name))
}

/// The values [`canonical`] reads, for messages: `zh (Chinese), en (English), …, Other,
/// unknown`.
pub fn known_values() -> String {
    let mut known: Vec<String> = CODES
        .iter()
        .map(|(code, l)| format!("{code} ({})", l.name()))
        .collect();
    known.extend(
        DetectedLanguage::ALL
            .into_iter()
            .filter(|l| !CODES.iter().any(|(_, c)| c == l))
            .map(|l| l.name().to_string()),
    );
    known.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_in_battle_data() {
        assert_eq!(detect("请解释一下 machine learning 的原理"), "Chinese");
        assert_eq!(detect("What does 你好 mean in English?"), "English");
        assert_eq!(detect("12345"), "unknown");
    }

    #[test]
    fn codes_and_names_read_as_stored_names() {
        for (value, name) in [
            ("zh", "Chinese"),
            ("ZH", "Chinese"),
            ("zh-CN", "Chinese"),
            ("zh_Hans", "Chinese"),
            ("en", "English"),
            ("en-US", "English"),
            ("chinese", "Chinese"),
            (" English ", "English"),
            ("ja", "Japanese"),
            ("unknown", "unknown"),
        ] {
            assert_eq!(canonical(value), Some(name), "{value}");
        }
        for other in ["", "fr", "German", "zhx", "e"] {
            assert_eq!(canonical(other), None, "{other}");
        }
        assert!(known_values().starts_with("zh (Chinese), en (English)"));
        assert!(known_values().ends_with("Other, unknown"));
    }
}
