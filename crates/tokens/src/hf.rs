//! Hugging Face `tokenizer.json` files (`hf:PATH`, and the catalogue's names).

use std::ops::Range;
use std::path::Path;

use crate::{Tokenize, TokensError};

pub struct HfTokenizer {
    name: String,
    inner: tokenizers::Tokenizer,
    note: Option<String>,
}

impl HfTokenizer {
    /// Reads `path` (a `tokenizer.json`), to be shown as `name`.
    pub fn load(name: &str, path: &Path) -> Result<HfTokenizer, TokensError> {
        let inner = tokenizers::Tokenizer::from_file(path).map_err(|e| TokensError::Load {
            path: path.display().to_string(),
            message: format!("not a tokenizer.json this version reads: {e}"),
        })?;
        Ok(HfTokenizer {
            name: name.to_string(),
            inner,
            note: None,
        })
    }

    /// A line for the report (whose vocabulary it is, its licence).
    pub fn set_note(&mut self, note: String) {
        self.note = Some(note);
    }

    fn encode(&self, text: &str) -> Result<tokenizers::Encoding, TokensError> {
        self.inner
            .encode(text, false)
            .map_err(|e| TokensError::Tokenize {
                tokenizer: self.name.clone(),
                message: e.to_string(),
            })
    }
}

impl Tokenize for HfTokenizer {
    fn name(&self) -> &str {
        &self.name
    }

    fn method(&self) -> String {
        "Hugging Face tokenizers, tokenizer.json (no special tokens)".into()
    }

    fn count(&self, text: &str) -> Result<usize, TokensError> {
        Ok(self.encode(text)?.len())
    }

    fn pieces(&self, text: &str) -> Result<Vec<Range<usize>>, TokensError> {
        // Offsets are byte offsets into `text`; byte-level vocabularies give several tokens
        // the same offsets when they split one character.
        Ok(self
            .encode(text)?
            .get_offsets()
            .iter()
            .map(|&(start, end)| start..end)
            .collect())
    }

    fn notes(&self) -> Vec<String> {
        self.note.iter().cloned().collect()
    }
}
