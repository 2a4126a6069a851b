//! OpenAI's vocabularies, built in (`tiktoken:cl100k_base` …), through `tiktoken-rs`.

use std::ops::Range;

use tiktoken_rs::CoreBPE;

use crate::{Tokenize, TokensError};

/// The vocabularies `tiktoken:NAME` accepts.
pub const NAMES: [&str; 4] = ["cl100k_base", "o200k_base", "p50k_base", "r50k_base"];

pub struct Tiktoken {
    name: String,
    bpe: &'static CoreBPE,
}

impl Tiktoken {
    /// `vocabulary` is one of [`NAMES`].
    pub fn new(vocabulary: &str) -> Result<Tiktoken, TokensError> {
        let bpe = match vocabulary {
            "cl100k_base" => tiktoken_rs::cl100k_base_singleton(),
            "o200k_base" => tiktoken_rs::o200k_base_singleton(),
            "p50k_base" => tiktoken_rs::p50k_base_singleton(),
            "r50k_base" => tiktoken_rs::r50k_base_singleton(),
            other => {
                return Err(TokensError::Name(format!(
                    "tiktoken:{other}: not a tiktoken vocabulary (use one of {})",
                    NAMES.join(", ")
                )))
            }
        };
        Ok(Tiktoken {
            name: format!("tiktoken:{vocabulary}"),
            bpe,
        })
    }
}

impl Tokenize for Tiktoken {
    fn name(&self) -> &str {
        &self.name
    }

    fn method(&self) -> String {
        "tiktoken-rs, ordinary encoding (no special tokens)".into()
    }

    fn count(&self, text: &str) -> Result<usize, TokensError> {
        Ok(self.bpe.encode_ordinary(text).len())
    }

    fn pieces(&self, text: &str) -> Result<Vec<Range<usize>>, TokensError> {
        let tokens = self.bpe.encode_ordinary(text);
        let mut out = Vec::with_capacity(tokens.len());
        let mut at = 0;
        for bytes in self.bpe._decode_native_and_split(tokens) {
            out.push(at..at + bytes.len());
            at += bytes.len();
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_pieces_agree_and_cover_the_text() {
        let t = Tiktoken::new("cl100k_base").unwrap();
        let text = "Hello, world! 你好，世界。";
        let pieces = t.pieces(text).unwrap();
        assert_eq!(pieces.len(), t.count(text).unwrap());
        assert_eq!(pieces.first().unwrap().start, 0);
        assert_eq!(pieces.last().unwrap().end, text.len());
        assert!(pieces.windows(2).all(|w| w[0].end == w[1].start));
        // "Hello" is one token in every OpenAI vocabulary.
        assert_eq!(t.count("Hello").unwrap(), 1);
        assert!(Tiktoken::new("cl200k").is_err());
    }
}
