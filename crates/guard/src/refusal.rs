//! Refusals in the language of the prompt.

use assay_core::{ChatRequest, DetectedLanguage, Role};
use assay_policy::Category;

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

/// What a Chinese refusal calls a category that has no Chinese name and whose name is not
/// Chinese either: an English word inside a Chinese sentence reads as a mistake.
pub const NEUTRAL_LABEL_ZH: &str = "受限内容";

/// The name of `category` in a refusal written in `language`: in Chinese its `name_zh`, else
/// its name if that is already Chinese, else [`NEUTRAL_LABEL_ZH`]; in English its name.
pub fn category_label(category: &Category, language: PromptLanguage) -> &str {
    match language {
        PromptLanguage::En => &category.name,
        PromptLanguage::Zh => match &category.name_zh {
            Some(name) => name,
            None if assay_core::detect_language(&category.name) == DetectedLanguage::Chinese => {
                &category.name
            }
            None => NEUTRAL_LABEL_ZH,
        },
    }
}

/// The refusal for a hit in `category`, written in `language`.
pub fn refusal(category: &Category, language: PromptLanguage) -> String {
    let label = category_label(category, language);
    match language {
        PromptLanguage::En => format!(
            "I can't help with this request: it touches on content our policy does not allow ({label})."
        ),
        PromptLanguage::Zh => {
            format!("抱歉，这个问题涉及我们的政策不允许的内容（{label}），我无法回答。")
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
        let category = |name: &str, name_zh: Option<&str>| Category {
            id: "weapons".into(),
            name: name.into(),
            name_zh: name_zh.map(str::to_string),
            description: String::new(),
            parent: None,
            risks: Vec::new(),
        };
        // Chinese refusals name the category in Chinese: its Chinese name, or a name that is
        // Chinese already, or a neutral label; never an English word.
        let named = category("Weapons and explosives", Some("武器和爆炸物"));
        assert_eq!(
            refusal(&named, PromptLanguage::Zh),
            "抱歉，这个问题涉及我们的政策不允许的内容（武器和爆炸物），我无法回答。"
        );
        assert!(refusal(&named, PromptLanguage::En).contains("(Weapons and explosives)"));
        assert!(refusal(&category("武器", None), PromptLanguage::Zh).contains("（武器）"));
        let english_only = refusal(&category("Weapons", None), PromptLanguage::Zh);
        assert!(english_only.contains("（受限内容）"), "{english_only}");
        assert!(!english_only.contains("Weapons"), "{english_only}");
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
