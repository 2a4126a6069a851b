//! Conversation → prompt tokens, with the chat template's markup as special tokens and every
//! message's content as plain text.
//!
//! Tokenizing the rendered prompt with llama.cpp's special-token parsing on would turn text a
//! user typed (`<|im_start|>system …`) into real control tokens, so a user could forge a system
//! turn. Instead:
//!
//! 1. Every control-token text in a message's content (and a piece of one at either end, which
//!    could join a neighbour into one) is swapped for a placeholder, `PH index PH`, with `PH` a
//!    private-use character; a literal `PH` in content is swapped too. Templates strip, trim and
//!    split content; none of that touches a placeholder.
//! 2. The template renders the escaped conversation. Text outside placeholders is the template's
//!    markup plus content that holds no control-token text.
//! 3. We partition the rendered text into special tokens and raw fragments ourselves, the way
//!    llama.cpp's `tokenizer_st_partition` does, except that a placeholder's text is always raw
//!    text. Raw fragments are tokenized by llama.cpp without special parsing.
//!
//! A prompt whose content holds no control-token text gives exactly the tokens llama.cpp gives
//! for the rendered text with special parsing on (each raw fragment is tokenized on its own in
//! both cases), and it takes time linear in its length: llama.cpp's own partition walks its
//! fragment list once per special token it finds, quadratic in their number.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use assay_core::Message;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token_type::LlamaTokenAttr;

use super::engine::PromptFormat;
use super::template::ChatTemplate;
use crate::ModelError;

/// Marks a placeholder in rendered text (plane 15 private use: no template writes it).
const PH: char = '\u{F0000}';

/// A token llama.cpp parses out of text with special parsing on.
#[derive(Debug, Clone, Copy)]
struct Special {
    token: LlamaToken,
    /// Control and unknown tokens are only parsed with special parsing on; user-defined tokens
    /// always are (they are ordinary added words, like in `transformers`).
    control: bool,
    lstrip: bool,
    rstrip: bool,
}

/// The texts of a vocabulary's special tokens, indexed for a linear scan.
struct SpecialTexts {
    by_text: HashMap<Box<[u8]>, Special>,
    /// Distinct text lengths, longest first: at each position the longest match wins.
    lengths: Vec<usize>,
    first_byte: [bool; 256],
    /// Proper prefixes and suffixes (2 bytes or more) of control-token texts: a content that
    /// ends with one could join the next text into a control token.
    control_prefixes: HashSet<Box<[u8]>>,
    control_suffixes: HashSet<Box<[u8]>>,
    max_len: usize,
}

impl SpecialTexts {
    fn new(model: &LlamaModel) -> SpecialTexts {
        let vocab = model.vocab();
        let mut by_text: HashMap<Box<[u8]>, Special> = HashMap::new();
        let mut control_prefixes: HashSet<Box<[u8]>> = HashSet::new();
        let mut control_suffixes: HashSet<Box<[u8]>> = HashSet::new();
        for token in vocab.tokens() {
            let attr = vocab.attr(token);
            let control =
                attr.contains(LlamaTokenAttr::Control) || attr.contains(LlamaTokenAttr::Unknown);
            if !control && !attr.contains(LlamaTokenAttr::UserDefined) {
                continue;
            }
            let Some(text) = vocab.text(token) else {
                continue;
            };
            let text = text.to_bytes();
            // A text that is not UTF-8 could match inside a character of a UTF-8 prompt; such
            // tokens are byte-level oddities that no template writes.
            if text.is_empty() || std::str::from_utf8(text).is_err() {
                continue;
            }
            let special = Special {
                token,
                control,
                lstrip: attr.contains(LlamaTokenAttr::LStrip),
                rstrip: attr.contains(LlamaTokenAttr::RStrip),
            };
            if control {
                for k in 2..text.len() {
                    control_prefixes.insert(text[..k].into());
                    control_suffixes.insert(text[text.len() - k..].into());
                }
            }
            // Two tokens with one text: llama.cpp's stable sort keeps the lower id first.
            by_text.entry(text.into()).or_insert(special);
        }
        let mut lengths: Vec<usize> = by_text.keys().map(|t| t.len()).collect();
        lengths.sort_unstable_by(|a, b| b.cmp(a));
        lengths.dedup();
        let mut first_byte = [false; 256];
        for text in by_text.keys() {
            first_byte[text[0] as usize] = true;
        }
        SpecialTexts {
            max_len: lengths.first().copied().unwrap_or(0),
            by_text,
            lengths,
            first_byte,
            control_prefixes,
            control_suffixes,
        }
    }

    /// The longest special token whose text starts at `at`, with its length.
    fn at(&self, text: &[u8], at: usize, controls_too: bool) -> Option<(Special, usize)> {
        if !self.first_byte[text[at] as usize] {
            return None;
        }
        let left = text.len() - at;
        self.lengths
            .iter()
            .filter(|&&len| len <= left)
            .find_map(|&len| {
                let special = self.by_text.get(&text[at..at + len])?;
                (controls_too || !special.control).then_some((*special, len))
            })
    }

    /// Whether a control-token text starts at `at`.
    fn control_at(&self, text: &[u8], at: usize) -> Option<usize> {
        self.at(text, at, true)
            .filter(|(special, _)| special.control)
            .map(|(_, len)| len)
    }
}

/// Renders conversations into prompt text.
pub(crate) enum Prompter {
    /// The GGUF's own template.
    Jinja(Arc<ChatTemplate>),
    /// llama.cpp's built-in template of this name.
    Builtin(String, LlamaChatTemplate),
}

impl Prompter {
    fn new(model: &LlamaModel) -> Result<Prompter, ModelError> {
        let special = |token: LlamaToken| -> String {
            String::from_utf8_lossy(&model.vocab().token_to_piece(token, true, None)).into_owned()
        };
        match model.meta_val_str("tokenizer.chat_template") {
            Ok(source) => {
                let vocab = model.vocab();
                let jinja =
                    ChatTemplate::new(&source, &special(vocab.bos()), &special(vocab.eos()))
                        .map_err(ModelError::Config)?;
                Ok(Prompter::Jinja(Arc::new(jinja)))
            }
            Err(_) => {
                // llama.cpp knows a handful of template families by name; pick the model's own
                // family where we can tell it, ChatML otherwise.
                let architecture = model
                    .meta_val_str("general.architecture")
                    .unwrap_or_default();
                let name = if architecture.starts_with("gemma") {
                    "gemma"
                } else {
                    "chatml"
                };
                let builtin = LlamaChatTemplate::new(name)
                    .map_err(|e| ModelError::Engine(format!("built-in template: {e}")))?;
                Ok(Prompter::Builtin(name.to_string(), builtin))
            }
        }
    }

    pub(crate) fn format(&self) -> PromptFormat {
        match self {
            Prompter::Jinja(_) => PromptFormat::GgufTemplate,
            Prompter::Builtin(name, _) => PromptFormat::LlamaBuiltin(name.clone()),
        }
    }

    pub(crate) fn jinja(&self) -> Option<Arc<ChatTemplate>> {
        match self {
            Prompter::Jinja(template) => Some(template.clone()),
            Prompter::Builtin(..) => None,
        }
    }

    /// The rendered prompt, and whether the tokenizer adds its BOS/EOS tokens (the GGUF's own
    /// template writes every special token itself, as `transformers` assumes).
    fn render(
        &self,
        model: &LlamaModel,
        messages: &[Message],
    ) -> Result<(String, bool), ModelError> {
        match self {
            Prompter::Jinja(jinja) => {
                let text = jinja
                    .render(messages, true)
                    .map_err(ModelError::InvalidRequest)?;
                Ok((text, false))
            }
            Prompter::Builtin(_, builtin) => {
                let chat = messages
                    .iter()
                    .map(|m| LlamaChatMessage::new(m.role.as_str().to_string(), m.content.clone()))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| {
                        ModelError::InvalidRequest(format!("message contains a NUL byte: {e}"))
                    })?;
                let text = model
                    .apply_chat_template(builtin, &chat, true)
                    .map_err(|e| ModelError::Engine(format!("built-in template failed: {e}")))?;
                Ok((text, true))
            }
        }
    }
}

/// Turns conversations into prompt tokens. Shared by the engine thread and the request
/// handlers: tokenizing only reads the vocabulary, so it runs off the engine thread.
pub struct PromptTokenizer {
    model: Arc<LlamaModel>,
    prompter: Prompter,
    specials: SpecialTexts,
}

impl PromptTokenizer {
    pub(crate) fn new(model: Arc<LlamaModel>) -> Result<PromptTokenizer, ModelError> {
        let prompter = Prompter::new(&model)?;
        let specials = SpecialTexts::new(&model);
        Ok(PromptTokenizer {
            model,
            prompter,
            specials,
        })
    }

    /// Loads only the vocabulary and chat template of a GGUF (no weights): for tools and the
    /// fuzz target.
    pub fn load_vocab_only(path: &Path) -> Result<PromptTokenizer, ModelError> {
        let backend = super::engine::backend()?;
        let params = LlamaModelParams::default().with_vocab_only(true);
        let model = LlamaModel::load_from_file(backend, path, &params)
            .map_err(|e| ModelError::Config(format!("cannot load {}: {e}", path.display())))?;
        PromptTokenizer::new(Arc::new(model))
    }

    /// The tokens of plain text as the engine reads a message's content: no beginning-of-text
    /// token, special-token text read as text.
    pub fn tokenize_text(&self, text: &str) -> Vec<i32> {
        self.model
            .vocab()
            .tokenize(text.as_bytes(), false, false)
            .into_iter()
            .map(|t| t.0)
            .collect()
    }

    /// The bytes a token stands for (a byte-level token may be part of a character).
    pub fn token_bytes(&self, id: i32) -> Vec<u8> {
        self.model
            .vocab()
            .token_to_piece(LlamaToken::new(id), false, None)
    }

    pub(crate) fn model(&self) -> &Arc<LlamaModel> {
        &self.model
    }

    pub(crate) fn prompter(&self) -> &Prompter {
        &self.prompter
    }

    /// The prompt token ids for a conversation, with the assistant's turn opened.
    pub fn tokenize(&self, messages: &[Message]) -> Result<Vec<i32>, ModelError> {
        Ok(self.tokens(messages)?.into_iter().map(|t| t.0).collect())
    }

    /// Whether a token id is a control (or unknown) token: one that only the template may write.
    pub fn is_control(&self, id: i32) -> bool {
        let vocab = self.model.vocab();
        if id < 0 || id >= vocab.n_tokens() {
            return false;
        }
        let attr = vocab.attr(LlamaToken::new(id));
        attr.contains(LlamaTokenAttr::Control) || attr.contains(LlamaTokenAttr::Unknown)
    }

    /// What the old code did: the rendered prompt tokenized by llama.cpp with special parsing
    /// on. Content is parsed for special tokens too; for tests that compare the two.
    pub fn tokenize_rendered_with_special_parsing(
        &self,
        messages: &[Message],
    ) -> Result<Vec<i32>, ModelError> {
        let (text, add_special) = self.prompter.render(&self.model, messages)?;
        Ok(self
            .model
            .vocab()
            .tokenize(text.as_bytes(), add_special, true)
            .into_iter()
            .map(|t| t.0)
            .collect())
    }

    pub(crate) fn tokens(&self, messages: &[Message]) -> Result<Vec<LlamaToken>, ModelError> {
        let mut literals: Vec<String> = Vec::new();
        let escaped: Vec<Message> = messages
            .iter()
            .map(|m| Message {
                role: m.role,
                content: self.escape(&m.content, &mut literals),
            })
            .collect();
        let (rendered, add_special) = self.prompter.render(&self.model, &escaped)?;

        let vocab = self.model.vocab();
        let mut out = Vec::new();
        if add_special && vocab.should_add_bos() {
            out.push(vocab.bos());
        }
        let mut raw = Fragment::default();
        // Between placeholders the text alternates: rendered text, index, rendered text, ...
        let mut parts = rendered.split(PH);
        let mut next_is_index = false;
        for part in parts.by_ref() {
            if next_is_index {
                let literal = part
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| literals.get(i))
                    .ok_or_else(|| {
                        ModelError::InvalidRequest(
                            "this model's chat template changes message content in a way that \
                             hides where it is; content with control-token text cannot be used"
                                .into(),
                        )
                    })?;
                self.scan(literal, false, &mut raw, &mut out);
            } else {
                self.scan(part, true, &mut raw, &mut out);
            }
            next_is_index = !next_is_index;
        }
        if !next_is_index {
            // An odd number of markers: a placeholder was cut in two.
            return Err(ModelError::InvalidRequest(
                "this model's chat template cut a message's control-token text apart".into(),
            ));
        }
        raw.flush(&self.model, None, &mut out);
        if add_special && vocab.should_add_eos() {
            out.push(vocab.eos());
        }
        Ok(out)
    }

    /// Splits `text` at special tokens (control ones only when `markup`) into `raw` and `out`.
    fn scan(&self, text: &str, markup: bool, raw: &mut Fragment, out: &mut Vec<LlamaToken>) {
        let bytes = text.as_bytes();
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            match self.specials.at(bytes, i, markup) {
                Some((special, len)) => {
                    raw.text.push_str(&text[start..i]);
                    raw.flush(&self.model, Some(special), out);
                    out.push(special.token);
                    raw.rstrip = special.rstrip;
                    i += len;
                    start = i;
                }
                None => i += 1,
            }
        }
        raw.text.push_str(&text[start..]);
    }

    /// `content` with every control-token text, a piece of one at either end, and every `PH`
    /// swapped for a placeholder; the swapped-out texts are appended to `literals`.
    fn escape(&self, content: &str, literals: &mut Vec<String>) -> String {
        let bytes = content.as_bytes();
        let specials = &self.specials;
        let mut placeholder = |out: &mut String, literal: &str| {
            out.push(PH);
            out.push_str(&literals.len().to_string());
            out.push(PH);
            literals.push(literal.to_string());
        };
        // Templates trim content, so the ends that meet other text are the trimmed ones.
        let trimmed = content.trim_matches(|c: char| c.is_ascii_whitespace());
        let lead = content.len()
            - content
                .trim_start_matches(|c: char| c.is_ascii_whitespace())
                .len();
        let end_trimmed = lead + trimmed.len();
        let edge =
            |range: std::ops::RangeInclusive<usize>, set: &HashSet<Box<[u8]>>, head: bool| {
                range
                    .rev()
                    .find(|&k| {
                        let piece = if head {
                            bytes.get(lead..lead + k)
                        } else {
                            end_trimmed
                                .checked_sub(k)
                                .and_then(|s| bytes.get(s..end_trimmed))
                        };
                        piece.is_some_and(|p| set.contains(p))
                    })
                    .unwrap_or(0)
            };
        let max_edge = specials.max_len.saturating_sub(1).min(trimmed.len());
        let head = edge(2..=max_edge, &specials.control_suffixes, true);
        let tail = edge(
            2..=max_edge.min(trimmed.len() - head),
            &specials.control_prefixes,
            false,
        );
        // A piece cut at a non-boundary would not be valid UTF-8; such an edge is never a
        // token's text (those are UTF-8), so `edge` found none there.
        let (head, tail) = (
            if content.is_char_boundary(lead + head) {
                head
            } else {
                0
            },
            if content.is_char_boundary(end_trimmed - tail) {
                tail
            } else {
                0
            },
        );
        let body_end = end_trimmed - tail;

        let mut out = String::with_capacity(content.len());
        out.push_str(&content[..lead]);
        if head > 0 {
            placeholder(&mut out, &content[lead..lead + head]);
        }
        let mut start = lead + head;
        let mut i = start;
        let ph_len = PH.len_utf8();
        let mut ph_buf = [0u8; 4];
        let ph_bytes = PH.encode_utf8(&mut ph_buf).as_bytes();
        while i < body_end {
            let len = if bytes[i..body_end].starts_with(ph_bytes) {
                Some(ph_len)
            } else {
                specials.control_at(&bytes[..body_end], i)
            };
            match len {
                Some(len) => {
                    out.push_str(&content[start..i]);
                    placeholder(&mut out, &content[i..i + len]);
                    i += len;
                    start = i;
                }
                None => i += 1,
            }
        }
        out.push_str(&content[start..body_end]);
        if tail > 0 {
            placeholder(&mut out, &content[body_end..end_trimmed]);
        }
        out.push_str(&content[end_trimmed..]);
        out
    }
}

/// Raw text between two special tokens, tokenized without special parsing once complete.
#[derive(Default)]
struct Fragment {
    text: String,
    /// The special token before this fragment strips whitespace to its right.
    rstrip: bool,
}

impl Fragment {
    /// Tokenizes the fragment, which `next` (if any) ends, and starts an empty one.
    fn flush(&mut self, model: &LlamaModel, next: Option<Special>, out: &mut Vec<LlamaToken>) {
        // llama.cpp strips with C's isspace.
        let space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r');
        let mut text = self.text.as_str();
        if self.rstrip {
            text = text.trim_start_matches(space);
        }
        if next.is_some_and(|s| s.lstrip) {
            text = text.trim_end_matches(space);
        }
        if !text.is_empty() {
            // A token covers a byte at least (SPM may add one space): reserving that much
            // spares llama.cpp a second pass over a text whose tokens did not fit.
            out.reserve(text.len() + 1);
            model
                .vocab()
                .tokenize_into(text.as_bytes(), out, false, false);
        }
        self.text.clear();
        self.rstrip = false;
    }
}
