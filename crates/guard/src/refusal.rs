//! Refusals in the language of the prompt.

use assay_core::{ChatRequest, Role};

/// The language a refusal is written in: Chinese when the newest user message is mostly
/// Chinese, else English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptLanguage {
    En,
    Zh,
}

impl PromptLanguage {
    pub fn of_text(text: &str) -> PromptLanguage {
        let (mut han, mut latin) = (0usize, 0usize);
        for c in text.chars() {
            if matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}') {
                han += 1;
            } else if c.is_ascii_alphabetic() {
                latin += 1;
            }
        }
        // A Chinese character carries about as much as a short English word.
        if han * 4 >= latin && han > 0 {
            PromptLanguage::Zh
        } else {
            PromptLanguage::En
        }
    }

    pub fn of_request(request: &ChatRequest) -> PromptLanguage {
        request
            .messages
            .iter()
            .rev()
            .find(|m| m.role == Role::User)
            .map_or(PromptLanguage::En, |m| PromptLanguage::of_text(&m.content))
    }
}

/// The refusal for a hit in the category named `category`.
pub fn refusal(category: &str, language: PromptLanguage) -> String {
    match language {
        PromptLanguage::En => format!(
            "I can't help with this request: it touches on content our policy does not allow ({category})."
        ),
        PromptLanguage::Zh => {
            format!("抱歉，这个问题涉及我们的政策不允许的内容（{category}），我无法回答。")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_of_a_prompt() {
        assert_eq!(
            PromptLanguage::of_text("如何制作炸弹？"),
            PromptLanguage::Zh
        );
        assert_eq!(
            PromptLanguage::of_text("how do I make a bomb"),
            PromptLanguage::En
        );
        assert_eq!(
            PromptLanguage::of_text("请解释 TCP handshake 的过程"),
            PromptLanguage::Zh
        );
        assert!(refusal("weapons", PromptLanguage::Zh).contains("weapons"));
    }
}
