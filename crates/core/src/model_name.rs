//! The one parser for model names. Every command names models the same way:
//!
//! ```text
//! local:smollm2                         a model from the local catalogue
//! local:/path/to/model.gguf             any GGUF file
//! openai:gpt-4o-mini                    OpenAI (OPENAI_API_KEY, OPENAI_BASE_URL)
//! http://127.0.0.1:8080/v1#qwen2.5-7b   any OpenAI-compatible server, model after '#'
//! guard:example@local:smollm2           that model behind the guard with a policy pack
//! ```
//!
//! Each form may end in `?key=value&...` generation parameters (temperature, top_p, max_tokens,
//! seed, stop, system), so that two variants of one model can be compared side by side.

use std::fmt;

use crate::GenParams;

pub const ACCEPTED_FORMS: &str = "accepted model names:
  local:<catalogue name>            e.g. local:smollm2
  local:<path/to/file.gguf>         e.g. local:./models/qwen2.5-0.5b-instruct-q4_k_m.gguf
  openai:<model>                    e.g. openai:gpt-4o-mini (uses OPENAI_API_KEY, OPENAI_BASE_URL)
  http(s)://host:port/v1#<model>    any OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1#qwen2.5-7b-instruct
  guard:<pack>@<model>              a model behind the guard, e.g. guard:example@local:smollm2
                                    (<pack>: a built-in pack's name or a pack directory)
each may end in ?temperature=0.7&top_p=0.9&max_tokens=256&seed=1&stop=END&system=...";

#[derive(Debug, Clone, PartialEq)]
pub enum ModelName {
    /// A catalogue name (`smollm2`) or a path to a GGUF file.
    Local(String),
    OpenAi {
        model: String,
    },
    /// An OpenAI-compatible server; `base_url` ends before `/chat/completions`.
    Http {
        base_url: String,
        model: String,
    },
    /// `inner` behind the guard with the policy pack `pack` (a built-in name or a directory).
    Guard {
        pack: String,
        inner: Box<ModelSpec>,
    },
}

/// A parsed model name: which model, and the generation parameters it was given.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub name: ModelName,
    pub params: GenParams,
    /// The string the user wrote, kept so reports can show exactly what was asked for.
    pub raw: String,
}

/// [`ACCEPTED_FORMS`] in one line, for errors: a mistyped name on the command line is one line
/// on stderr, not a screenful.
pub const ACCEPTED_FORMS_LINE: &str = "accepted model names: local:<catalogue name> \
     (e.g. local:smollm2), local:<path/to/file.gguf>, openai:<model>, \
     http(s)://host:port/v1#<model>, guard:<pack>@<model>, each with optional \
     ?temperature=&top_p=&max_tokens=&seed=&stop=&system=";

#[derive(Debug, thiserror::Error)]
#[error("invalid model name {input:?}: {reason} ({ACCEPTED_FORMS_LINE})")]
pub struct ModelNameError {
    pub input: String,
    pub reason: String,
}

impl ModelSpec {
    pub fn parse(input: &str) -> Result<ModelSpec, ModelNameError> {
        let err = |reason: &str| ModelNameError {
            input: input.to_string(),
            reason: reason.into(),
        };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(err("the name is empty"));
        }
        // The inner model keeps its own parameters: `guard:p@local:m?temperature=0`.
        if let Some(rest) = trimmed.strip_prefix("guard:") {
            let Some((pack, inner)) = rest.split_once('@') else {
                return Err(err("a guarded model is guard:<pack>@<model>"));
            };
            if pack.is_empty() {
                return Err(err("guard: needs a policy pack before '@'"));
            }
            let inner = ModelSpec::parse(inner).map_err(|e| err(&e.reason))?;
            return Ok(ModelSpec {
                name: ModelName::Guard {
                    pack: pack.to_string(),
                    inner: Box::new(inner),
                },
                params: GenParams::default(),
                raw: trimmed.to_string(),
            });
        }
        // Parameters always follow the model identifier, so split at the last '?' after the
        // '#' of an HTTP name (a base URL may carry its own query before the '#').
        let search_from = trimmed.find('#').unwrap_or(0);
        let (body, query) = match trimmed[search_from..].find('?') {
            Some(i) => (
                &trimmed[..search_from + i],
                Some(&trimmed[search_from + i + 1..]),
            ),
            None => (trimmed, None),
        };
        let params = match query {
            Some(q) => parse_params(q).map_err(|reason| err(&reason))?,
            None => GenParams::default(),
        };

        let name = if let Some(rest) = body.strip_prefix("local:") {
            if rest.is_empty() {
                return Err(err("local: needs a catalogue name or a .gguf path"));
            }
            ModelName::Local(rest.to_string())
        } else if let Some(rest) = body.strip_prefix("openai:") {
            if rest.is_empty() {
                return Err(err("openai: needs a model, e.g. openai:gpt-4o-mini"));
            }
            ModelName::OpenAi {
                model: rest.to_string(),
            }
        } else if body.starts_with("http://") || body.starts_with("https://") {
            let Some((base, model)) = body.split_once('#') else {
                return Err(err("an HTTP model needs '#<model>' after the base URL"));
            };
            if model.is_empty() {
                return Err(err("the model after '#' is empty"));
            }
            let url = url::Url::parse(base).map_err(|e| err(&format!("bad URL: {e}")))?;
            if url.host_str().is_none_or(str::is_empty) {
                return Err(err("the URL has no host"));
            }
            ModelName::Http {
                base_url: base.trim_end_matches('/').to_string(),
                model: model.to_string(),
            }
        } else {
            return Err(err("unknown scheme"));
        };
        Ok(ModelSpec {
            name,
            params,
            raw: trimmed.to_string(),
        })
    }

    /// The model identifier as a server names it (`smollm2`, `gpt-4o-mini`, ...).
    pub fn model_id(&self) -> &str {
        match &self.name {
            ModelName::Local(name) => local_model_id(name),
            ModelName::OpenAi { model } | ModelName::Http { model, .. } => model,
            ModelName::Guard { inner, .. } => inner.model_id(),
        }
    }

    /// For `guard:<pack>@<model>`: the pack and the inner model.
    pub fn guarded(&self) -> Option<(&str, &ModelSpec)> {
        match &self.name {
            ModelName::Guard { pack, inner } => Some((pack, inner)),
            _ => None,
        }
    }

    /// For a name that wraps another (`<prefix>:<argument>@<model>`): the prefix, the argument
    /// and the inner model. Openers dispatch on the prefix (`guard`), so they need not know
    /// what each wrapper is.
    pub fn decorated(&self) -> Option<(&'static str, &str, &ModelSpec)> {
        match &self.name {
            ModelName::Guard { pack, inner } => Some(("guard", pack, inner)),
            _ => None,
        }
    }
}

/// `smollm2` stays `smollm2`; `/models/Qwen2.5-0.5B.Q4.gguf` becomes `Qwen2.5-0.5B.Q4`.
fn local_model_id(name: &str) -> &str {
    let file = name.rsplit(['/', '\\']).next().unwrap_or(name);
    file.strip_suffix(".gguf").unwrap_or(file)
}

impl std::str::FromStr for ModelSpec {
    type Err = ModelNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ModelSpec::parse(s)
    }
}

impl fmt::Display for ModelSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

fn parse_params(query: &str) -> Result<GenParams, String> {
    let mut p = GenParams::default();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let bad = |what: &str| format!("parameter {key}={value:?}: {what}");
        match key.as_ref() {
            "temperature" => {
                let t: f32 = value.parse().map_err(|_| bad("not a number"))?;
                if !(0.0..=2.0).contains(&t) {
                    return Err(bad("must be between 0 and 2"));
                }
                p.temperature = Some(t);
            }
            "top_p" => {
                let t: f32 = value.parse().map_err(|_| bad("not a number"))?;
                if !(t > 0.0 && t <= 1.0) {
                    return Err(bad("must be in (0, 1]"));
                }
                p.top_p = Some(t);
            }
            "max_tokens" => {
                let n: u32 = value.parse().map_err(|_| bad("not a positive integer"))?;
                if n == 0 {
                    return Err(bad("must be at least 1"));
                }
                p.max_tokens = Some(n);
            }
            "seed" => p.seed = Some(value.parse().map_err(|_| bad("not an unsigned integer"))?),
            "stop" => {
                if value.is_empty() {
                    return Err(bad("empty stop string"));
                }
                p.stop.push(value.into_owned());
            }
            "system" => p.system = Some(value.into_owned()),
            _ => {
                return Err(format!(
                    "unknown parameter {key:?} (known: temperature, top_p, max_tokens, seed, stop, system)"
                ))
            }
        }
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guarded_models() {
        let s = ModelSpec::parse("guard:example@local:smollm2?temperature=0").unwrap();
        let (pack, inner) = s.guarded().unwrap();
        assert_eq!(pack, "example");
        assert_eq!(inner.name, ModelName::Local("smollm2".into()));
        assert_eq!(inner.params.temperature, Some(0.0));
        assert_eq!(s.model_id(), "smollm2");
        let s = ModelSpec::parse("guard:./packs/x@http://127.0.0.1:9/v1#qwen").unwrap();
        assert_eq!(s.guarded().unwrap().0, "./packs/x");
        let (prefix, argument, inner) = s.decorated().unwrap();
        assert_eq!((prefix, argument), ("guard", "./packs/x"));
        assert_eq!(inner.model_id(), "qwen");
        assert!(ModelSpec::parse("local:smollm2")
            .unwrap()
            .decorated()
            .is_none());
        assert_eq!(s.model_id(), "qwen");
        for bad in [
            "guard:example",
            "guard:@local:smollm2",
            "guard:example@nowhere:x",
        ] {
            assert!(ModelSpec::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn local_catalogue_and_path() {
        let s = ModelSpec::parse("local:smollm2").unwrap();
        assert_eq!(s.name, ModelName::Local("smollm2".into()));
        assert_eq!(s.model_id(), "smollm2");
        let s = ModelSpec::parse("local:/m/Qwen2.5-0.5B.Q4.gguf?temperature=0.7").unwrap();
        assert_eq!(s.name, ModelName::Local("/m/Qwen2.5-0.5B.Q4.gguf".into()));
        assert_eq!(s.model_id(), "Qwen2.5-0.5B.Q4");
        assert_eq!(s.params.temperature, Some(0.7));
    }

    #[test]
    fn openai_and_http() {
        let s = ModelSpec::parse("openai:gpt-4o-mini?max_tokens=64").unwrap();
        assert_eq!(
            s.name,
            ModelName::OpenAi {
                model: "gpt-4o-mini".into()
            }
        );
        assert_eq!(s.params.max_tokens, Some(64));
        let s =
            ModelSpec::parse("http://127.0.0.1:8080/v1/#qwen2.5-7b-instruct?seed=3&stop=a&stop=b")
                .unwrap();
        assert_eq!(
            s.name,
            ModelName::Http {
                base_url: "http://127.0.0.1:8080/v1".into(),
                model: "qwen2.5-7b-instruct".into()
            }
        );
        assert_eq!(s.params.seed, Some(3));
        assert_eq!(s.params.stop, vec!["a".to_string(), "b".to_string()]);
    }

    #[test]
    fn system_prompt_is_percent_decoded() {
        let s = ModelSpec::parse("local:smollm2?system=You%20are%20terse.&top_p=0.9").unwrap();
        assert_eq!(s.params.system.as_deref(), Some("You are terse."));
        assert_eq!(s.params.top_p, Some(0.9));
    }

    #[test]
    fn bad_names_show_accepted_forms() {
        for bad in [
            "",
            "smollm2",
            "local:",
            "openai:",
            "http://127.0.0.1:8080/v1",
            "http://127.0.0.1:8080/v1#",
            "local:smollm2?temperature=hot",
            "local:smollm2?temperature=9",
            "local:smollm2?max_tokens=0",
            "local:smollm2?colour=red",
        ] {
            let e = ModelSpec::parse(bad).unwrap_err().to_string();
            assert!(e.contains("accepted model names"), "{bad}: {e}");
            assert!(!e.contains('\n'), "one line: {e}");
            assert!(e.contains(&format!("{bad:?}")), "{bad}: {e}");
        }
    }
}
