//! The arena's models: which battle, under which name, with what weight, and what the
//! leaderboard says about them.
//!
//! Models are named on the command line (`--models a,b,c`) with the usual model strings. An
//! optional TOML file (`--models-config`) adds what a model string cannot say:
//!
//! ```toml
//! [[models]]
//! name = "http://127.0.0.1:8000/v1#qwen2.5-7b-instruct"   # the string given in --models
//! display = "Qwen2.5-7B-Instruct"                          # shown after the vote and on the leaderboard
//! organization = "Alibaba"
//! license = "Apache-2.0"
//! weight = 1.0                                             # relative chance to battle
//! boost = 4.0                                              # new model: weight × (1 + boost)
//! ```
//!
//! Without `--models`, every model of the file with a weight above 0 battles. A model with
//! `weight = 0` never battles but keeps its organization and license on the leaderboard (for
//! retired models that still have votes).
//!
//! A model's display name defaults to its identifier plus its parameters:
//! `http://127.0.0.1:8080/v1#smollm2?temperature=0.2` shows as `smollm2?temperature=0.2`. Votes
//! are stored under display names, so a model keeps its ratings when its server moves. Votes
//! stored under another spelling of an entry's model — the model string as written, or its
//! default display name (votes cast before the entry had a `display`, or a battle file from
//! elsewhere) — count under the entry's display name: see [`apply_display_names`].

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use assay_core::ModelSpec;
use serde::Deserialize;

use crate::battle::Battle;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read models config {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("models config {path}: {message}")]
    Parse { path: String, message: String },
    #[error("{0}")]
    Invalid(String),
}

/// The `--models-config` file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelsConfig {
    #[serde(default)]
    pub models: Vec<ModelEntry>,
}

/// One `[[models]]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    /// The model string, as given in `--models`.
    pub name: String,
    pub display: Option<String>,
    pub organization: Option<String>,
    pub license: Option<String>,
    /// How the model is reached: `open weights`, `API` or `app` (`assay board` shows it;
    /// without it the board reads it off the model name).
    pub access: Option<String>,
    #[serde(default = "one")]
    pub weight: f64,
    #[serde(default)]
    pub boost: f64,
}

fn one() -> f64 {
    1.0
}

/// The values of [`ModelEntry::access`].
pub const ACCESS: [&str; 3] = ["open weights", "API", "app"];

impl ModelsConfig {
    pub fn load(path: &Path) -> Result<ModelsConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        ModelsConfig::parse(&text, &path.display().to_string())
    }

    /// Parses the TOML text of a models config; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<ModelsConfig, ConfigError> {
        let config: ModelsConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_string(),
            message: e.to_string(),
        })?;
        for (i, entry) in config.models.iter().enumerate() {
            let at = || {
                format!(
                    "models config {origin}: [[models]] #{} ({:?})",
                    i + 1,
                    entry.name
                )
            };
            ModelSpec::parse(&entry.name)
                .map_err(|e| ConfigError::Invalid(format!("{}: name: {e}", at())))?;
            for (field, value) in [("weight", entry.weight), ("boost", entry.boost)] {
                if !value.is_finite() || value < 0.0 {
                    return Err(ConfigError::Invalid(format!(
                        "{}: {field} = {value} must be a number ≥ 0",
                        at()
                    )));
                }
            }
            if let Some(access) = &entry.access {
                if !ACCESS.contains(&access.as_str()) {
                    return Err(ConfigError::Invalid(format!(
                        "{}: access = {access:?} is not one of {}",
                        at(),
                        ACCESS.map(|a| format!("{a:?}")).join(", ")
                    )));
                }
            }
            if entry
                .display
                .as_deref()
                .is_some_and(|d| d.trim().is_empty())
            {
                return Err(ConfigError::Invalid(format!("{}: display is empty", at())));
            }
            if config.models[..i]
                .iter()
                .any(|e| e.name.trim() == entry.name.trim())
            {
                return Err(ConfigError::Invalid(format!("{}: listed twice", at())));
            }
        }
        Ok(config)
    }

    /// Leaderboard facts for every model of the file, under the names its votes are stored by
    /// (its display name, or the default one).
    pub fn infos(&self) -> Vec<ModelInfo> {
        self.models
            .iter()
            .filter_map(|entry| {
                let spec = ModelSpec::parse(&entry.name).ok()?;
                let display = entry
                    .display
                    .clone()
                    .unwrap_or_else(|| default_display(&spec));
                Some(ModelInfo {
                    aliases: aliases(&spec, &display),
                    display,
                    organization: entry.organization.clone(),
                    license: entry.license.clone(),
                    access: entry.access.clone(),
                })
            })
            .collect()
    }

    /// The entry for model string `name`.
    pub fn entry(&self, name: &str) -> Option<&ModelEntry> {
        self.models.iter().find(|e| e.name.trim() == name.trim())
    }
}

/// A model's identifier plus the parameters of its model string: `smollm2?temperature=0.2`.
pub fn default_display(spec: &ModelSpec) -> String {
    let raw = spec.raw.as_str();
    // Parameters follow the last '?' after the '#' of an HTTP name (as ModelSpec::parse reads it).
    let from = raw.find('#').unwrap_or(0);
    match raw[from..].find('?') {
        Some(i) => format!("{}{}", spec.model_id(), &raw[from + i..]),
        None => spec.model_id().to_string(),
    }
}

/// Everything about one arena model except the opened client.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelPlan {
    pub spec: ModelSpec,
    pub display: String,
    pub organization: Option<String>,
    pub license: Option<String>,
    pub access: Option<String>,
    pub weight: f64,
    pub boost: f64,
}

impl ModelPlan {
    /// What the leaderboard knows about this model.
    pub fn info(&self) -> ModelInfo {
        ModelInfo {
            display: self.display.clone(),
            aliases: aliases(&self.spec, &self.display),
            organization: self.organization.clone(),
            license: self.license.clone(),
            access: self.access.clone(),
        }
    }
}

/// Leaderboard facts about a model that may no longer battle.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    pub display: String,
    /// Other names its votes may be stored under (see [`aliases`]).
    pub aliases: Vec<String>,
    pub organization: Option<String>,
    pub license: Option<String>,
    /// `open weights`, `API` or `app` ([`ModelEntry::access`]).
    pub access: Option<String>,
}

/// The other spellings of a model whose votes count under `display`: its model string as
/// written and its default display name, where they differ from `display`.
pub fn aliases(spec: &ModelSpec, display: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in [spec.raw.trim().to_string(), default_display(spec)] {
        if name != display && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// Renames the models of `battles` stored under an alias of one of `infos` to its display
/// name, and says what the reader should know: entries that match no battle under any
/// spelling (a typo, or a model that never battled), and names that could be two entries'
/// (left as they are). A name that is some entry's display name is never renamed.
pub fn apply_display_names(battles: &mut [Battle], infos: &[ModelInfo]) -> Vec<String> {
    let displays: BTreeSet<&str> = infos.iter().map(|i| i.display.as_str()).collect();
    let mut owners: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for info in infos {
        for alias in &info.aliases {
            if !displays.contains(alias.as_str()) {
                owners
                    .entry(alias.as_str())
                    .or_default()
                    .insert(info.display.as_str());
            }
        }
    }
    let mut warnings = Vec::new();
    let mut renames: HashMap<&str, &str> = HashMap::new();
    for (alias, owners) in &owners {
        match owners.iter().collect::<Vec<_>>().as_slice() {
            [only] => {
                renames.insert(alias, only);
            }
            several => warnings.push(format!(
                "votes under {alias:?} could be any of {}; they are left under {alias:?}",
                several
                    .iter()
                    .map(|d| format!("{d:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for battle in battles.iter_mut() {
        for model in [&mut battle.model_a, &mut battle.model_b] {
            if let Some(display) = renames.get(model.as_str()) {
                seen.insert(model.clone());
                *model = display.to_string();
            }
            seen.insert(model.clone());
        }
    }
    for info in infos {
        let matched = seen.contains(&info.display) || info.aliases.iter().any(|a| seen.contains(a));
        if !matched {
            let spellings: Vec<String> = std::iter::once(&info.display)
                .chain(&info.aliases)
                .map(|n| format!("{n:?}"))
                .collect();
            warnings.push(format!(
                "--models-config: {} matches no battle (looked for {})",
                info.display,
                spellings.join(", ")
            ));
        }
    }
    warnings.sort();
    warnings
}

/// The models that battle: those of `--models` (in order), or, when none are given, those of
/// the config with a weight above 0. Also returns what the config says about every model it
/// lists, for the leaderboard.
pub fn plan_models(
    models: &[String],
    config: Option<&ModelsConfig>,
) -> Result<(Vec<ModelPlan>, Vec<ModelInfo>), ConfigError> {
    let empty = ModelsConfig::default();
    let config = config.unwrap_or(&empty);
    let names: Vec<String> = if models.is_empty() {
        config
            .models
            .iter()
            .filter(|e| e.weight > 0.0)
            .map(|e| e.name.clone())
            .collect()
    } else {
        models
            .iter()
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .collect()
    };
    let mut plans: Vec<ModelPlan> = Vec::new();
    for name in &names {
        let spec = ModelSpec::parse(name).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        let entry = config.entry(name);
        let display = entry
            .and_then(|e| e.display.clone())
            .unwrap_or_else(|| default_display(&spec));
        if let Some(other) = plans.iter().find(|p| p.display == display) {
            return Err(ConfigError::Invalid(format!(
                "models {:?} and {:?} would both be shown as {display:?}; give one of them \
                 another `display` name in --models-config",
                other.spec.raw, spec.raw
            )));
        }
        plans.push(ModelPlan {
            display,
            organization: entry.and_then(|e| e.organization.clone()),
            license: entry.and_then(|e| e.license.clone()),
            access: entry.and_then(|e| e.access.clone()),
            weight: entry.map_or(1.0, |e| e.weight),
            boost: entry.map_or(0.0, |e| e.boost),
            spec,
        });
    }
    if plans.len() < 2 {
        return Err(ConfigError::Invalid(format!(
            "an arena needs at least two models (--models a,b or [[models]] in \
             --models-config), got {}",
            plans.len()
        )));
    }
    let mut infos: Vec<ModelInfo> = plans.iter().map(ModelPlan::info).collect();
    for info in config.infos() {
        if !infos.iter().any(|i| i.display == info.display) {
            infos.push(info);
        }
    }
    Ok((plans, infos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_display_names() {
        let d = |s: &str| default_display(&ModelSpec::parse(s).unwrap());
        assert_eq!(
            d("http://127.0.0.1:8080/v1#smollm2?temperature=0.2&max_tokens=48"),
            "smollm2?temperature=0.2&max_tokens=48"
        );
        assert_eq!(d("http://h:1/v1?x=1#qwen"), "qwen");
        assert_eq!(d("local:smollm2"), "smollm2");
        assert_eq!(
            d("openai:gpt-4o-mini?temperature=0"),
            "gpt-4o-mini?temperature=0"
        );
    }

    #[test]
    fn config_file() {
        let text = r#"
[[models]]
name = "http://127.0.0.1:8000/v1#qwen"
display = "Qwen"
organization = "Alibaba"
license = "Apache-2.0"
boost = 4.0

[[models]]
name = "local:smollm2"
organization = "Hugging Face"

[[models]]
name = "openai:gpt-3.5-turbo"
display = "GPT-3.5"
weight = 0
"#;
        let config = ModelsConfig::parse(text, "arena.toml").unwrap();
        assert_eq!(config.models[0].weight, 1.0);
        assert_eq!(config.models[0].boost, 4.0);

        // Without --models: the weighted models of the file.
        let (plans, infos) = plan_models(&[], Some(&config)).unwrap();
        assert_eq!(plans.len(), 2);
        assert_eq!(plans[0].display, "Qwen");
        assert_eq!(plans[1].display, "smollm2");
        assert_eq!(plans[1].organization.as_deref(), Some("Hugging Face"));
        assert_eq!(infos.len(), 3);
        assert_eq!(infos[2].display, "GPT-3.5");
        assert_eq!(config.infos()[1].display, "smollm2");
        assert_eq!(config.infos()[0].organization.as_deref(), Some("Alibaba"));

        // With --models: those, described by the file where it knows them.
        let models = vec![
            "local:smollm2".to_string(),
            "local:smollm2?temperature=1".to_string(),
        ];
        let (plans, _) = plan_models(&models, Some(&config)).unwrap();
        assert_eq!(plans[0].organization.as_deref(), Some("Hugging Face"));
        assert_eq!(plans[1].display, "smollm2?temperature=1");
        assert_eq!(plans[1].organization, None);
    }

    #[test]
    fn votes_under_either_spelling_get_the_display_name() {
        let config = ModelsConfig::parse(
            r#"
[[models]]
name = "http://127.0.0.1:8000/v1#qwen2.5-7b-instruct"
display = "Qwen2.5-7B"

[[models]]
name = "local:smollm2?temperature=0.2"
display = "SmolLM2 (cool)"

[[models]]
name = "openai:gpt-4o"
display = "GPT-4o"
"#,
            "arena.toml",
        )
        .unwrap();
        let infos = config.infos();
        assert_eq!(
            infos[0].aliases,
            [
                "http://127.0.0.1:8000/v1#qwen2.5-7b-instruct",
                "qwen2.5-7b-instruct"
            ]
        );
        let battle = |a: &str, b: &str| Battle::new(a, b, crate::battle::Winner::ModelA);
        let mut battles = vec![
            // Stored under the default display name (before the entry had `display`) ...
            battle("qwen2.5-7b-instruct", "smollm2?temperature=0.2"),
            // ... under the model string, and under the display name itself.
            battle("local:smollm2?temperature=0.2", "Qwen2.5-7B"),
            battle("someone-else", "Qwen2.5-7B"),
        ];
        let warnings = apply_display_names(&mut battles, &infos);
        let names: Vec<(&str, &str)> = battles
            .iter()
            .map(|b| (b.model_a.as_str(), b.model_b.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("Qwen2.5-7B", "SmolLM2 (cool)"),
                ("SmolLM2 (cool)", "Qwen2.5-7B"),
                ("someone-else", "Qwen2.5-7B"),
            ]
        );
        assert_eq!(
            warnings,
            [
                r#"--models-config: GPT-4o matches no battle (looked for "GPT-4o", "openai:gpt-4o", "gpt-4o")"#
            ]
        );

        // Two entries whose default names collide: their votes stay as they are, with a word.
        let infos = ModelsConfig::parse(
            "[[models]]\nname = \"local:qwen\"\ndisplay = \"A\"\n\n             [[models]]\nname = \"http://h:1/v1#qwen\"\ndisplay = \"B\"\n",
            "x.toml",
        )
        .unwrap()
        .infos();
        let mut battles = vec![battle("qwen", "A"), battle("B", "A")];
        let warnings = apply_display_names(&mut battles, &infos);
        assert_eq!(battles[0].model_a, "qwen");
        assert_eq!(
            warnings,
            [r#"votes under "qwen" could be any of "A", "B"; they are left under "qwen""#]
        );
    }

    #[test]
    fn bad_configs() {
        let err = ModelsConfig::parse("[[models]]\nname = \"local:x\"\nwieght = 2\n", "a.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("a.toml") && err.contains("wieght"), "{err}");
        let err = ModelsConfig::parse("[[models]]\nname = \"nope\"\n", "a.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("#1") && err.contains("nope"), "{err}");
        let err = ModelsConfig::parse("[[models]]\nname = \"local:x\"\nweight = -1\n", "a.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("weight"), "{err}");
        let err = plan_models(&["local:a".into()], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("at least two"), "{err}");
        let err = plan_models(&["local:a".into(), "http://h:1/v1#a".into()], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("both be shown as \"a\""), "{err}");
    }
}
