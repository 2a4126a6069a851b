//! What a text costs in each model's tokenizer.
//!
//! The nouns: [`Texts`] (parallel segments, one list per language), a [`Tokenize`]r (a
//! vocabulary that counts the tokens of a segment and, where it can, shows where they split),
//! the [`Counts`] of one tokenizer over the texts, and the [`Summary`] of them all: tokens,
//! characters, bytes, words and Han characters per language, the premium of each language
//! over the first with a bootstrap interval, and how many Han characters are one token.
//! [`report`] writes it as HTML, JSON and CSV.
//!
//! Tokenizers this crate builds itself: `tiktoken:NAME` ([`tiktoken`]) and Hugging Face
//! `tokenizer.json` files ([`hf`], which the catalogue's names resolve to). A GGUF's own
//! vocabulary and a remote model's count through its API are built by the caller (they need
//! llama.cpp and an HTTP client) and handed in as a [`Tokenize`] or as [`Counts`].

pub mod catalogue;
pub mod hf;
pub mod measure;
pub mod report;
pub mod texts;
pub mod tiktoken;

use std::ops::Range;

pub use measure::{measure, summarize, Counts, Prices, Summary};
pub use texts::Texts;

/// A vocabulary that counts tokens. Segments are tokenized on their own, with no special
/// tokens (no beginning-of-text marker, no chat template).
pub trait Tokenize: Send + Sync {
    /// The name it was asked for (`tiktoken:cl100k_base`, `qwen3`, `local:smollm2`…).
    fn name(&self) -> &str;
    /// How its counts are made, in a few words (shown in the report).
    fn method(&self) -> String;
    /// The number of tokens of `text`.
    fn count(&self, text: &str) -> Result<usize, TokensError>;
    /// The byte ranges of `text` that each token covers, in order. A token of a byte-level
    /// vocabulary may cover part of a character: such ranges are not on character boundaries.
    fn pieces(&self, text: &str) -> Result<Vec<Range<usize>>, TokensError>;
    /// What the reader should know about it (its licence, say).
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokensError {
    /// A tokenizer name that is none of the accepted forms.
    #[error("{0}")]
    Name(String),
    /// A text file that cannot be used (missing, not UTF-8, lines that do not pair up).
    #[error("{path}: {message}")]
    Text { path: String, message: String },
    /// A tokenizer file that cannot be read.
    #[error("{path}: {message}")]
    Load { path: String, message: String },
    /// A tokenizer that failed on a segment.
    #[error("{tokenizer}: {message}")]
    Tokenize { tokenizer: String, message: String },
    #[error("{0}")]
    Other(String),
}
