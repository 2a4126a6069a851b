//! Which battles to rate.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::Battle;

/// Which battles to rate, e.g. from `--filter language=zh,anony=true,turn=1`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    /// Keep battles in one of these languages (empty: every language), by the names battles
    /// store (`Chinese`, `English`; codes such as `zh` are read as those, see
    /// [`crate::lang::canonical`]); compared case-insensitively; battles without a language
    /// never match.
    pub languages: Vec<String>,
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
#[error("--filter {text:?}: {message} (expected KEY=VALUE[,KEY=VALUE...] with KEY one of language, anony, turn, model; turn as N, N+ or N-M; language and model values joined with |)")]
pub struct FilterError {
    pub text: String,
    pub message: String,
}

/// A `--filter language=` value that is neither a language the arena knows nor one the
/// battles name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--filter language={value}: unknown language; valid: {valid}")]
pub struct LanguageError {
    pub value: String,
    /// The codes and names, and the other languages the battles name.
    pub valid: String,
}

/// Parses `language=zh,anony=true,turn=2+,model=a|b` (`language=zh|en` keeps either).
/// Each key may appear once.
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
            "language" | "lang" => {
                for language in value.split('|').map(str::trim) {
                    if language.is_empty() {
                        return Err(bad(format!("language={value:?} names no language")));
                    }
                    // A name the detector does not give (the LMSYS dump has many) stays as
                    // written; `check_languages` holds it against the battles.
                    let name = crate::lang::canonical(language).unwrap_or(language);
                    filter.languages.push(name.to_string());
                }
            }
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
    /// Checks each language asked for: one the arena detects (by code or name) or one that some
    /// battle names. A typo would otherwise look like a language without votes.
    pub fn check_languages(&self, battles: &[Battle]) -> Result<(), LanguageError> {
        let mut named: HashMap<String, (&str, usize)> = HashMap::new();
        for language in battles.iter().filter_map(|b| b.language.as_deref()) {
            named
                .entry(language.to_lowercase())
                .or_insert((language, 0))
                .1 += 1;
        }
        for language in &self.languages {
            if crate::lang::canonical(language).is_some()
                || named.contains_key(&language.to_lowercase())
            {
                continue;
            }
            // The other languages the battles name, most battles first.
            let mut others: Vec<(&str, usize)> = named
                .values()
                .copied()
                .filter(|(l, _)| crate::lang::canonical(l).is_none())
                .collect();
            others.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
            let mut valid = crate::lang::known_values();
            const SHOWN: usize = 10;
            if !others.is_empty() {
                let names: Vec<&str> = others.iter().take(SHOWN).map(|(l, _)| *l).collect();
                valid.push_str(", or as in these battles: ");
                valid.push_str(&names.join(", "));
                if others.len() > SHOWN {
                    valid.push_str(&format!(" and {} more", others.len() - SHOWN));
                }
            }
            return Err(LanguageError {
                value: language.clone(),
                valid,
            });
        }
        Ok(())
    }

    /// Whether one battle passes.
    pub fn matches(&self, battle: &Battle) -> bool {
        if !self.languages.is_empty() {
            match &battle.language {
                Some(l) if self.languages.iter().any(|f| l.eq_ignore_ascii_case(f)) => {}
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
