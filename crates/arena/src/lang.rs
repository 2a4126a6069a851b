//! The language of a prompt, as LMSYS's battle data names it ("Chinese", "English", …). The
//! detector itself is assay-core's [`detect_language`], shared with the guard.

pub use assay_core::{detect_language, DetectedLanguage};

/// The LMSYS-style name of the language of `text` (see [`detect_language`]).
pub fn detect(text: &str) -> &'static str {
    detect_language(text).name()
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
}
