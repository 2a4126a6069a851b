//! Which battles to rate.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::Battle;

/// Which battles to rate, e.g. from `--filter language=Chinese,anony=true,turn=1`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    /// Keep battles in this language (compared case-insensitively; battles without one never
    /// match).
    pub language: Option<String>,
    /// Keep only blind votes (`anony`), as the LMSYS leaderboard does.
    pub anony_only: bool,
    /// Keep battles with at least this many turns.
    pub min_turn: Option<u32>,
    /// Keep battles with at most this many turns.
    pub max_turn: Option<u32>,
    /// Keep only battles that involve one of these models (empty: all).
    pub models: Vec<String>,
}

/// A `--filter` argument that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--filter {text:?}: {message} (expected KEY=VALUE[,KEY=VALUE...] with KEY one of language, anony, turn, model; turn as N, N+ or N-M; model values joined with |)")]
pub struct FilterError {
    pub text: String,
    pub message: String,
}

/// Parses `language=Chinese,anony=true,turn=2+,model=a|b`. Each key may appear once.
pub fn parse_filter(text: &str) -> Result<Filter, FilterError> {
    let bad = |message: String| FilterError {
        text: text.to_string(),
        message,
    };
    let mut filter = Filter::default();
    let mut seen = HashSet::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| bad(format!("{part:?} has no '='")))?;
        let (key, value) = (key.trim(), value.trim());
        if !seen.insert(key.to_string()) {
            return Err(bad(format!("key {key:?} given twice")));
        }
        match key {
            "language" | "lang" => filter.language = Some(value.to_string()),
            "anony" => {
                filter.anony_only = match value {
                    "true" | "1" | "yes" => true,
                    "false" | "0" | "no" => false,
                    _ => return Err(bad(format!("anony={value:?} is not true or false"))),
                }
            }
            "turn" => {
                let number = |s: &str| {
                    s.trim()
                        .parse::<u32>()
                        .map_err(|_| bad(format!("turn={value:?} is not N, N+ or N-M")))
                };
                if let Some(min) = value.strip_suffix('+') {
                    filter.min_turn = Some(number(min)?);
                } else if let Some((lo, hi)) = value.split_once('-') {
                    filter.min_turn = Some(number(lo)?);
                    filter.max_turn = Some(number(hi)?);
                } else {
                    let n = number(value)?;
                    filter.min_turn = Some(n);
                    filter.max_turn = Some(n);
                }
            }
            "model" | "models" => {
                filter.models = value
                    .split('|')
                    .map(str::trim)
                    .filter(|m| !m.is_empty())
                    .map(str::to_string)
                    .collect();
            }
            _ => return Err(bad(format!("unknown key {key:?}"))),
        }
    }
    Ok(filter)
}

impl Filter {
    /// Whether one battle passes.
    pub fn matches(&self, battle: &Battle) -> bool {
        if let Some(language) = &self.language {
            match &battle.language {
                Some(l) if l.eq_ignore_ascii_case(language) => {}
                _ => return false,
            }
        }
        if self.anony_only && !battle.anony {
            return false;
        }
        if self.min_turn.is_some_and(|t| battle.turn < t) {
            return false;
        }
        if self.max_turn.is_some_and(|t| battle.turn > t) {
            return false;
        }
        if !self.models.is_empty()
            && !self
                .models
                .iter()
                .any(|m| *m == battle.model_a || *m == battle.model_b)
        {
            return false;
        }
        true
    }

    /// Keeps the battles that pass, in order.
    pub fn apply(&self, mut battles: Vec<Battle>) -> Vec<Battle> {
        battles.retain(|b| self.matches(b));
        battles
    }
}
