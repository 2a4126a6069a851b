//! How the guard acts: the mode, per-category actions and thresholds, what it reveals, and
//! when API keys are suspended. Read from the flags of `assay guard` or from a TOML file
//! (`--config`), all of it through [`GuardConfig::load`]:
//!
//! ```toml
//! mode = "holdback"        # or "retract": the action of categories not listed below
//! margin_chars = 8         # held back beyond what the scanner needs (holdback)
//! input_context = 0        # earlier messages scanned with the newest user message
//! reveal_terms = false     # show matched terms to clients and in the log (else a keyed hash)
//!
//! [categories.weapons]
//! action = "block"         # block | retract | log
//! threshold = 1            # hits in one message or answer before the action is taken
//!
//! [suspension]             # with --keys: when a key is suspended, and for how long
//! in_a_row = 3
//! per_day = 5
//! suspend_seconds = 3600
//! ```

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::keys::SuspensionPolicy;
use crate::GuardError;

/// How answers stream by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Hold text back until it is settled; categories block by default.
    Holdback,
    /// Stream first; categories retract by default.
    Retract,
}

/// What a hit in a category does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Refuse the prompt, or stop the answer before the hit is shown (text is held back).
    Block,
    /// Refuse the prompt, or stop the answer and withdraw what was shown.
    Retract,
    /// Only record the hit.
    Log,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Block => "block",
            Action::Retract => "retract",
            Action::Log => "log",
        }
    }
}

/// Per-category settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryConfig {
    pub action: Option<Action>,
    pub threshold: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuardConfig {
    pub mode: Mode,
    /// Characters held back beyond the scanner's settled point, so that a client does not
    /// see the start of a word the guard may still withdraw.
    pub margin_chars: usize,
    /// Messages before the newest user message that the input check also scans (system
    /// messages and what follows the newest user message are always scanned).
    pub input_context: usize,
    /// Whether matched terms are shown to clients and written to the log; otherwise the
    /// log keeps their keyed hash (HMAC-SHA256) and clients see only the category.
    pub reveal_terms: bool,
    /// By category id.
    pub categories: HashMap<String, CategoryConfig>,
    /// When an API key is suspended (the `[suspension]` table; used with keys).
    pub suspension: SuspensionPolicy,
    /// The key of the log's term hashes (the server sets the deployment's; not read from the
    /// file, so that the secret stays out of settings files that get shared).
    #[serde(skip)]
    pub rule_key: crate::RuleKey,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            mode: Mode::Holdback,
            margin_chars: 8,
            input_context: 0,
            reveal_terms: false,
            categories: HashMap::new(),
            suspension: SuspensionPolicy::default(),
            rule_key: crate::RuleKey::default(),
        }
    }
}

impl GuardConfig {
    /// Reads a settings file (TOML, as in the module's example); what it leaves out keeps
    /// its default. Errors name the file.
    pub fn load(path: &Path) -> Result<GuardConfig, GuardError> {
        let text = std::fs::read_to_string(path).map_err(|source| GuardError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| GuardError::Parse {
            path: path.to_path_buf(),
            source,
        })
    }

    pub fn action(&self, category: &str) -> Action {
        self.categories
            .get(category)
            .and_then(|c| c.action)
            .unwrap_or(match self.mode {
                Mode::Holdback => Action::Block,
                Mode::Retract => Action::Retract,
            })
    }

    pub fn threshold(&self, category: &str) -> u32 {
        self.categories
            .get(category)
            .and_then(|c| c.threshold)
            .unwrap_or(1)
            .max(1)
    }

    /// Whether answers are held back: whenever some category blocks.
    pub fn holds_back(&self) -> bool {
        self.mode == Mode::Holdback
            || self
                .categories
                .values()
                .any(|c| c.action == Some(Action::Block))
    }

    /// A rule as clients and the log see it.
    pub fn shown_rule(&self, rule: &str) -> String {
        if self.reveal_terms {
            rule.to_string()
        } else {
            self.rule_key.hash(rule)
        }
    }

    /// Checks the categories named here against the policy's.
    pub fn check_categories<'a>(
        &self,
        known: impl Iterator<Item = &'a str> + Clone,
    ) -> Result<(), GuardError> {
        for name in self.categories.keys() {
            if !known.clone().any(|k| k == name) {
                return Err(GuardError::UnknownCategory {
                    name: name.clone(),
                    known: known.clone().map(str::to_string).collect(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("guard.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn one_settings_file_holds_the_guard_and_its_suspension_policy() {
        let (_dir, path) = write(
            "mode = \"retract\"\nreveal_terms = true\n\n[categories.weapons]\naction = \"log\"\n\n\
             [suspension]\nin_a_row = 2\nsuspend_seconds = 60\n",
        );
        let config = GuardConfig::load(&path).unwrap();
        assert_eq!(config.mode, Mode::Retract);
        assert!(config.reveal_terms);
        assert_eq!(config.action("weapons"), Action::Log);
        assert_eq!(
            config.suspension,
            SuspensionPolicy {
                in_a_row: 2,
                per_day: SuspensionPolicy::default().per_day,
                suspend_seconds: 60,
            }
        );
        // Without a [suspension] table, the default policy.
        let (_dir, path) = write("margin_chars = 4\n");
        let config = GuardConfig::load(&path).unwrap();
        assert_eq!(config.margin_chars, 4);
        assert_eq!(config.suspension, SuspensionPolicy::default());
    }

    #[test]
    fn errors_are_typed_and_name_the_file() {
        let (_dir, path) = write("[suspension]\nin_a_row = 2\nforever = true\n");
        let err = GuardConfig::load(&path).unwrap_err();
        assert!(matches!(err, GuardError::Parse { .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message.contains("guard.toml") && message.contains("forever"),
            "{message}"
        );

        let missing = path.with_file_name("missing.toml");
        let err = GuardConfig::load(&missing).unwrap_err();
        assert!(matches!(err, GuardError::Read { .. }), "{err:?}");

        let mut config = GuardConfig::default();
        config
            .categories
            .insert("drugs".to_string(), CategoryConfig::default());
        let err = config
            .check_categories(["weapons", "insults"].into_iter())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the guard configuration names category \"drugs\", which the policy does not have \
             (it has: weapons, insults)"
        );
    }
}
