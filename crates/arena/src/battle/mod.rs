//! Battles: one vote between two anonymous models, and the readers for the two places they come
//! from — the public LMSYS Chatbot Arena dump (`clean_battle_*.json`, a JSON array) and our own
//! vote export (JSON Lines with the same field names), so one reader serves both.
//!
//! A record looks like
//!
//! ```json
//! {"model_a": "gpt-4", "model_b": "llama-13b", "winner": "model_a", "language": "English",
//!  "anony": true, "turn": 1, "tstamp": 1700000000.5,
//!  "conv_metadata": {"sum_assistant_a_tokens": 412, "sum_assistant_b_tokens": 130,
//!                    "header_count_a": {"h1": 0, "h2": 3, ...}, "header_count_b": {...},
//!                    "list_count_a": {"ordered": 4, "unordered": 0}, "list_count_b": {...},
//!                    "bold_count_a": {"**": 2, "__": 0}, "bold_count_b": {...}}}
//! ```
//!
//! Only `model_a`, `model_b` and `winner` are required. Unknown fields (the dump's
//! `conversation_a`, `judge`, ...) are ignored. Defaults for missing fields: `language` none,
//! `anony` false (a vote we cannot show was blind is not counted as blind), `turn` 1, `tstamp` 0,
//! `excluded` false. `conv_metadata` gives a battle its style features only when all eight
//! counts are present (older dumps carry only the token counts); a count that is present but not a
//! number, or an object of numbers, is an error. Each markdown count may be a plain number or an
//! object whose values are summed, as FastChat's `extract_style_feature` does.
//!
//! Reading is fast on the happy path (typed serde); when a record fails, it is parsed once more
//! with `serde_path_to_error` to name the offending field in the error.
//!
//! Files: this one holds the types; [`load`] reads files, `wire` is the record layout on the
//! wire, `markdown` counts style features, [`filter`] selects battles.

mod filter;
mod load;
mod markdown;
mod wire;

use std::fmt;
use std::io::Write;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

pub use filter::{parse_filter, Filter, FilterError, LanguageError};
pub use load::{
    load_battles, load_battles_with, parse_battles_bytes, parse_battles_json, LoadError,
};

/// The outcome of a vote. Both kinds of tie count as half a win for each side in every rating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Winner {
    #[serde(rename = "model_a")]
    ModelA,
    #[serde(rename = "model_b")]
    ModelB,
    #[serde(rename = "tie")]
    Tie,
    #[serde(rename = "tie (bothbad)")]
    TieBothBad,
}

impl Winner {
    /// The wire name, as in the LMSYS dump.
    pub fn as_str(self) -> &'static str {
        match self {
            Winner::ModelA => "model_a",
            Winner::ModelB => "model_b",
            Winner::Tie => "tie",
            Winner::TieBothBad => "tie (bothbad)",
        }
    }

    /// Parses the wire name.
    pub fn parse(text: &str) -> Option<Winner> {
        match text {
            "model_a" => Some(Winner::ModelA),
            "model_b" => Some(Winner::ModelB),
            "tie" => Some(Winner::Tie),
            "tie (bothbad)" => Some(Winner::TieBothBad),
            _ => None,
        }
    }

    /// Model A's score in the battle: 1 for a win, ½ for either tie, 0 for a loss.
    pub fn score_a(self) -> f64 {
        match self {
            Winner::ModelA => 1.0,
            Winner::ModelB => 0.0,
            Winner::Tie | Winner::TieBothBad => 0.5,
        }
    }

    /// True for `tie` and `tie (bothbad)`.
    pub fn is_tie(self) -> bool {
        matches!(self, Winner::Tie | Winner::TieBothBad)
    }
}

/// Read by its wire name; an unknown one is quoted in the error.
impl<'de> Deserialize<'de> for Winner {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Winner, D::Error> {
        struct WinnerVisitor;
        impl Visitor<'_> for WinnerVisitor {
            type Value = Winner;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(WINNERS)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Winner, E> {
                Winner::parse(s)
                    .ok_or_else(|| E::custom(format!("unknown value {s:?} (expected {WINNERS})")))
            }
        }
        d.deserialize_str(WinnerVisitor)
    }
}

const WINNERS: &str = "model_a, model_b, tie or \"tie (bothbad)\"";

impl fmt::Display for Winner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Style features of one side's answer(s), the raw counts FastChat's style control uses.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Style {
    /// Assistant tokens (FastChat: `sum_assistant_*_tokens`).
    pub tokens: f64,
    /// Markdown headers, all levels.
    pub headers: f64,
    /// Markdown list items, ordered and unordered.
    pub lists: f64,
    /// Bold spans, `**x**` and `__x__`.
    pub bold: f64,
}

/// One vote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "wire::RawBattle", into = "wire::RawBattle")]
pub struct Battle {
    pub model_a: String,
    pub model_b: String,
    pub winner: Winner,
    pub language: Option<String>,
    /// Whether the voter saw the models' names only after voting (LMSYS counts only these).
    pub anony: bool,
    pub turn: u32,
    /// Seconds since the epoch; the order for online Elo.
    pub tstamp: f64,
    /// Style features of (A, B), when the record has them.
    pub style: Option<(Style, Style)>,
    /// Set for votes that must not count (e.g. a model revealed its identity); kept so they can
    /// be reported, skipped by every rating.
    pub excluded: bool,
}

impl Battle {
    /// A battle with the given models and outcome and defaults for the rest.
    pub fn new(model_a: &str, model_b: &str, winner: Winner) -> Battle {
        Battle {
            model_a: model_a.to_string(),
            model_b: model_b.to_string(),
            winner,
            language: None,
            anony: true,
            turn: 1,
            tstamp: 0.0,
            style: None,
            excluded: false,
        }
    }

    /// The battle as a record in the LMSYS / export format.
    pub fn to_json(&self) -> Value {
        // Serializing plain data into a Value cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Writes battles as JSON Lines in the LMSYS field layout (our vote export).
pub fn write_jsonl<W: Write>(battles: &[Battle], mut out: W) -> std::io::Result<()> {
    for battle in battles {
        serde_json::to_writer(&mut out, battle)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}
