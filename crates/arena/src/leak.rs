//! Identity leaks: an answer that names a model or its vendor ("I am Claude, made by
//! Anthropic", "我是通义千问") un-blinds a battle. Such a battle is kept but excluded from the
//! ratings, as LMSYS does when it cleans its battle data.
//!
//! A [`LeakDetector`] looks for the names of the arena's own models plus a built-in list of
//! vendors and models in English and Chinese ([`BUILTIN_NAMES`]). Matching is case-insensitive.
//! Names that begin or end with a Latin letter or digit must stand as words there: `Meta AI`
//! does not match inside `metadata`, `Claude` not in `Claudette`, `Yi` not in `Yield`. A name
//! may be followed by digits or punctuation, so `Qwen2.5`, `SmolLM2` and `GPT-4o` are found.
//! Chinese names match anywhere (Chinese has no spaces between words).

use std::fmt;

/// Vendors and models that an answer may name, in English and Chinese.
pub const BUILTIN_NAMES: &[&str] = &[
    "OpenAI",
    "ChatGPT",
    "GPT-4",
    "GPT-3.5",
    "GPT",
    "Claude",
    "Anthropic",
    "Gemini",
    "Bard",
    "Google",
    "谷歌",
    "Llama",
    "Meta AI",
    "Mistral",
    "Mixtral",
    "Qwen",
    "通义千问",
    "通义",
    "千问",
    "阿里巴巴",
    "阿里云",
    "Alibaba",
    "DeepSeek",
    "深度求索",
    "文心一言",
    "百度",
    "Baidu",
    "ERNIE",
    "Kimi",
    "Moonshot",
    "月之暗面",
    "智谱",
    "Zhipu",
    "ChatGLM",
    "GLM",
    "SmolLM",
    "Hugging Face",
    "HuggingFace",
    "Gemma",
    "Yi",
    "01.AI",
    "零一万物",
    "豆包",
    "Doubao",
    "字节跳动",
    "ByteDance",
    "Baichuan",
    "百川",
    "Vicuna",
    "LMSYS",
];

/// A name found in an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak {
    /// The name as the detector lists it (`Claude`, `通义千问`, an arena model's name).
    pub name: String,
    /// Byte range of the match in the searched text.
    pub start: usize,
    pub end: usize,
}

impl fmt::Display for Leak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[derive(Debug, Clone)]
struct Term {
    name: String,
    /// Lower-cased characters of the name.
    chars: Vec<char>,
    word_start: bool,
    /// Whether the name must not be followed by a letter (it ends in a Latin letter).
    no_letter_after: bool,
    /// Whether the name must not be followed by a digit (it ends in a digit).
    no_digit_after: bool,
}

impl Term {
    fn new(name: &str) -> Option<Term> {
        let name = name.trim();
        let chars: Vec<char> = name.chars().flat_map(char::to_lowercase).collect();
        let first = *chars.first()?;
        let last = *chars.last()?;
        Some(Term {
            name: name.to_string(),
            word_start: is_word_char(first),
            no_letter_after: is_latin_letter(last),
            no_digit_after: last.is_ascii_digit(),
            chars,
        })
    }

    /// Whether the term matches at byte `start` of `text`; returns the end of the match.
    fn match_at(&self, text: &str, start: usize) -> Option<usize> {
        let first = text[start..].chars().next()?;
        if first.to_lowercase().next() != self.chars.first().copied() {
            return None;
        }
        if self.word_start {
            if let Some(prev) = text[..start].chars().next_back() {
                if is_word_char(prev) {
                    return None;
                }
            }
        }
        let mut rest = text[start..].char_indices();
        let mut wanted = self.chars.iter();
        let mut end = start;
        // Compare lower-cased text characters (one may lower-case to several) with the term.
        let mut pending: Vec<char> = Vec::new();
        loop {
            if pending.is_empty() {
                if wanted.as_slice().is_empty() {
                    break;
                }
                let (i, c) = rest.next()?;
                end = start + i + c.len_utf8();
                pending.extend(c.to_lowercase());
                pending.reverse();
            }
            let c = pending.pop()?;
            if wanted.next() != Some(&c) {
                return None;
            }
            if wanted.as_slice().is_empty() && !pending.is_empty() {
                // The name ended inside one character's lower-case expansion.
                return None;
            }
        }
        if let Some(next) = text[end..].chars().next() {
            if (self.no_letter_after && is_latin_letter(next))
                || (self.no_digit_after && next.is_ascii_digit())
            {
                return None;
            }
        }
        Some(end)
    }
}

/// A letter or digit of a Latin-script word (Han characters do not count: Chinese text puts no
/// spaces around Latin names, as in `我是Qwen`).
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || is_latin_letter(c)
}

fn is_latin_letter(c: char) -> bool {
    c.is_ascii_alphabetic()
        || (matches!(c as u32, 0x00C0..=0x024F | 0x1E00..=0x1EFF | 0xFF21..=0xFF3A | 0xFF41..=0xFF5A)
            && c.is_alphabetic())
}

/// Finds model and vendor names in answers.
#[derive(Debug, Clone)]
pub struct LeakDetector {
    terms: Vec<Term>,
}

impl Default for LeakDetector {
    fn default() -> Self {
        LeakDetector::builtin()
    }
}

impl LeakDetector {
    /// The built-in names only.
    pub fn builtin() -> LeakDetector {
        LeakDetector::new(std::iter::empty::<&str>())
    }

    /// The built-in names plus `extra` (the arena's model names, their display names…).
    /// Empty and duplicate names are ignored.
    pub fn new<I, S>(extra: I) -> LeakDetector
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut terms: Vec<Term> = Vec::new();
        let names = BUILTIN_NAMES
            .iter()
            .map(|s| s.to_string())
            .chain(extra.into_iter().map(|s| s.as_ref().to_string()));
        for name in names {
            if let Some(term) = Term::new(&name) {
                if !terms.iter().any(|t| t.chars == term.chars) {
                    terms.push(term);
                }
            }
        }
        // Longest first, so that at one position `GPT-4` wins over `GPT`.
        terms.sort_by_key(|t| std::cmp::Reverse(t.chars.len()));
        LeakDetector { terms }
    }

    /// Names that identify a model given as an arena model string: the model identifier
    /// (`smollm2`), and its leading alphabetic part when it has at least four letters
    /// (`smollm`, `mistral` of `mistral-7b-instruct`).
    pub fn names_for_model_id(model_id: &str) -> Vec<String> {
        let mut out = Vec::new();
        let id = model_id.trim();
        if id.is_empty() {
            return out;
        }
        out.push(id.to_string());
        let head: String = id.chars().take_while(|c| c.is_alphabetic()).collect();
        if head.chars().count() >= 4 && head.len() < id.len() {
            out.push(head);
        }
        out
    }

    /// The first name found in `text` (leftmost; the longest name at that position).
    pub fn find(&self, text: &str) -> Option<Leak> {
        for (start, _) in text.char_indices() {
            for term in &self.terms {
                if let Some(end) = term.match_at(text, start) {
                    return Some(Leak {
                        name: term.name.clone(),
                        start,
                        end,
                    });
                }
            }
        }
        None
    }

    /// Whether `text` names any model or vendor.
    pub fn leaks(&self, text: &str) -> bool {
        self.find(text).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Option<String> {
        LeakDetector::builtin().find(text).map(|l| l.name)
    }

    #[test]
    fn english_names() {
        assert_eq!(
            name("I am Claude, made by Anthropic."),
            Some("Claude".into())
        );
        assert_eq!(name("I'm ChatGPT."), Some("ChatGPT".into()));
        assert_eq!(
            name("As a model trained by OPENAI, ..."),
            Some("OpenAI".into())
        );
        assert_eq!(name("I was developed by meta ai"), Some("Meta AI".into()));
        assert_eq!(name("I am based on GPT-4."), Some("GPT-4".into()));
        assert_eq!(name("I am GPT-4o"), Some("GPT-4".into()));
        assert_eq!(name("I am GPT-5"), Some("GPT".into()));
        assert_eq!(name("I'm Qwen2.5, a large model"), Some("Qwen".into()));
        assert_eq!(name("SmolLM2 here"), Some("SmolLM".into()));
        assert_eq!(name("made by Hugging Face"), Some("Hugging Face".into()));
    }

    #[test]
    fn chinese_names() {
        assert_eq!(
            name("我是通义千问，由阿里云开发。"),
            Some("通义千问".into())
        );
        assert_eq!(name("我是文心一言"), Some("文心一言".into()));
        assert_eq!(name("我来自深度求索公司"), Some("深度求索".into()));
        assert_eq!(name("我是Kimi，由月之暗面开发"), Some("Kimi".into()));
        assert_eq!(name("我是豆包"), Some("豆包".into()));
        assert_eq!(name("我是Qwen"), Some("Qwen".into()));
    }

    #[test]
    fn word_boundaries_for_latin_names() {
        assert_eq!(name("The metadata is fine."), None);
        assert_eq!(name("Claudette went home."), None);
        assert_eq!(name("This will yield a result."), None);
        assert_eq!(name("Llamas live in the Andes."), None);
        assert_eq!(name("My favourite number is 42."), None);
        assert_eq!(name("Paris is the capital of France."), None);
        assert_eq!(name("巴黎是法国的首都。"), None);
        assert_eq!(name("I am Yi, a model."), Some("Yi".into()));
    }

    #[test]
    fn reports_position() {
        let leak = LeakDetector::builtin().find("Hi! I am Gemini.").unwrap();
        assert_eq!(leak.name, "Gemini");
        assert_eq!(&"Hi! I am Gemini."[leak.start..leak.end], "Gemini");
        let text = "好的，我是百度的模型";
        let leak = LeakDetector::builtin().find(text).unwrap();
        assert_eq!(&text[leak.start..leak.end], "百度");
    }

    #[test]
    fn arena_model_names() {
        let mut extra = LeakDetector::names_for_model_id("tinyllm-1b-chat");
        extra.push("Assistant Alpha".into());
        let d = LeakDetector::new(&extra);
        assert_eq!(
            d.find("I am TinyLLM.").map(|l| l.name),
            Some("tinyllm".into())
        );
        assert_eq!(
            d.find("this is tinyllm-1b-chat speaking").map(|l| l.name),
            Some("tinyllm-1b-chat".into())
        );
        assert_eq!(
            d.find("assistant alpha at your service").map(|l| l.name),
            Some("Assistant Alpha".into())
        );
        assert_eq!(d.find("Hello there"), None);
        assert!(LeakDetector::names_for_model_id("phi-3").len() == 1);
        assert_eq!(LeakDetector::names_for_model_id(""), Vec::<String>::new());
    }

    #[test]
    fn odd_text_does_not_panic() {
        let d = LeakDetector::builtin();
        for text in ["", "İ", "ǅ", "ﬀ", "\u{0130}stanbul", "aİb", "🙂 gpt 🙂"] {
            let _ = d.find(text);
        }
        assert_eq!(d.find("🙂 gpt 🙂").map(|l| l.name), Some("GPT".into()));
    }
}
