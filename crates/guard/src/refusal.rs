//! Refusals in the language of the prompt.

use assay_core::{ChatRequest, Role};

/// The language a refusal is written in: English or Chinese.
pub use assay_core::Language as PromptLanguage;

/// The language to refuse `request` in: that of its newest user message
/// ([`assay_core::Language::of_text`], the detector the arena uses too), English when it has
/// none.
pub fn language_of_request(request: &ChatRequest) -> PromptLanguage {
    request
        .messages
        .iter()
        .rev()
        .find(|m| m.role == Role::User)
        .map_or(PromptLanguage::En, |m| PromptLanguage::of_text(&m.content))
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
        let request = |texts: &[(Role, &str)]| {
            ChatRequest::new(
                texts
                    .iter()
                    .map(|&(role, content)| assay_core::Message {
                        role,
                        content: content.to_string(),
                    })
                    .collect(),
            )
        };
        let chinese_last = request(&[(Role::User, "hello there"), (Role::User, "你好吗")]);
        assert_eq!(language_of_request(&chinese_last), PromptLanguage::Zh);
        let no_user = request(&[(Role::System, "你是一个助手")]);
        assert_eq!(language_of_request(&no_user), PromptLanguage::En);
    }
}
