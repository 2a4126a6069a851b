//! Suites: a manifest (`suite.toml`: name, version, licence, categories) and items
//! (`items.jsonl`, one question per line, in one or more languages).
//!
//! Loading validates everything and reports every problem at once, each naming the file, the
//! line and the field, so a suite author fixes a file in one pass.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::Path;

use assay_core::Language;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub license: String,
    #[serde(default)]
    pub description: String,
    /// When the items were last revised (YYYY-MM-DD), for banks that must be kept current.
    #[serde(default)]
    pub updated: Option<String>,
    pub categories: Vec<Category>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Wider groups the category counts in, for results per group as well as per category
    /// (CMMLU's subjects each count in one of STEM, humanities, social science and other,
    /// and some also in China-specific).
    #[serde(default)]
    pub groups: Vec<String>,
}

/// `as_str`, `parse` (its inverse) and `Display` for a fieldless enum spelled by the strings
/// given.
macro_rules! spelled {
    ($type:ident, $what:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $type {
            pub fn as_str(self) -> &'static str {
                match self {
                    $($type::$variant => $text),+
                }
            }

            #[doc = concat!("The ", $what, " spelled `text` (as [`", stringify!($type), "::as_str`] spells it).")]
            pub fn parse(text: &str) -> Option<$type> {
                [$($type::$variant),+].into_iter().find(|v| v.as_str() == text)
            }
        }

        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// What an item asks; spelled `open` or `mcq` in suites, the store and results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A free-form question.
    Open,
    /// A multiple-choice question with a key.
    Mcq,
}

spelled!(Kind, "kind", { Open => "open", Mcq => "mcq" });

/// What a well-behaved model does with an open question; spelled `answer` or `refuse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    Answer,
    Refuse,
}

spelled!(Expect, "expectation", { Answer => "answer", Refuse => "refuse" });

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: String,
    pub category: String,
    pub kind: Kind,
    /// `None` for multiple-choice items and for open items written `"expect": "either"`
    /// (an answer and a refusal are both acceptable: no verdict).
    pub expect: Option<Expect>,
    /// The risks the item probes, as codes of a risk list (`A.1c`: see `assay assess`).
    pub risks: Vec<String>,
    pub prompt: BTreeMap<Language, String>,
    /// For `mcq` items: the options in each language, in the same order.
    pub choices: BTreeMap<Language, Vec<String>>,
    /// For `mcq` items: index of the correct option (0 = A).
    pub answer: Option<usize>,
    /// Line of the item in its file, for messages.
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suite {
    pub manifest: Manifest,
    pub items: Vec<Item>,
}

/// One problem in a suite, located as precisely as we can.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SuiteError {
    pub file: String,
    pub line: Option<usize>,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for SuiteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in a suite.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SuiteErrors(pub Vec<SuiteError>);

impl fmt::Display for SuiteErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} problem(s) in the suite:", self.0.len())?;
        for e in &self.0 {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

/// An item line as written; checked field by field into an [`Item`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    id: String,
    category: String,
    kind: Kind,
    #[serde(default)]
    expect: Option<RawExpect>,
    #[serde(default)]
    risks: Vec<String>,
    prompt: BTreeMap<String, String>,
    #[serde(default)]
    choices: Option<BTreeMap<String, Vec<String>>>,
    #[serde(default)]
    answer: Option<String>,
}

/// An expectation as written: `either` says, on purpose, that there is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawExpect {
    Answer,
    Refuse,
    Either,
}

const MAX_CHOICES: usize = 10;

impl Suite {
    /// Reads `suite.toml` and `items.jsonl` from a directory.
    pub fn load(dir: &Path) -> Result<Suite, SuiteErrors> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|e| {
                SuiteErrors(vec![SuiteError {
                    file: path.display().to_string(),
                    line: None,
                    field: None,
                    message: format!("cannot read: {e}"),
                }])
            })
        };
        let manifest = read("suite.toml")?;
        let items = read("items.jsonl")?;
        Suite::parse(
            &dir.join("suite.toml").display().to_string(),
            &manifest,
            &dir.join("items.jsonl").display().to_string(),
            &items,
        )
    }

    /// Parses and validates a suite from the bytes of its two files; the names are used in
    /// messages.
    pub fn parse(
        manifest_name: &str,
        manifest: &[u8],
        items_name: &str,
        items: &[u8],
    ) -> Result<Suite, SuiteErrors> {
        let manifest = parse_manifest(manifest_name, manifest)?;
        let mut errors = Vec::new();
        let categories: HashSet<&str> = manifest.categories.iter().map(|c| c.id.as_str()).collect();
        let mut ids = HashSet::new();
        let mut parsed = Vec::new();
        for (index, raw_line) in items.split(|&b| b == b'\n').enumerate() {
            let line = index + 1;
            let mut error = |field: Option<&str>, message: String| {
                errors.push(SuiteError {
                    file: items_name.to_string(),
                    line: Some(line),
                    field: field.map(str::to_string),
                    message,
                })
            };
            let Ok(text) = std::str::from_utf8(raw_line) else {
                error(None, "not valid UTF-8".into());
                continue;
            };
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            let raw: RawItem = match serde_json::from_str(text) {
                Ok(raw) => raw,
                Err(e) => {
                    let message = e.to_string();
                    let field = backticked(&message);
                    error(field.as_deref(), message);
                    continue;
                }
            };
            match check_item(raw, line, &categories, &mut ids) {
                Ok(item) => parsed.push(item),
                Err(problems) => {
                    for (field, message) in problems {
                        error(Some(field), message);
                    }
                }
            }
        }
        if parsed.is_empty() && errors.is_empty() {
            errors.push(SuiteError {
                file: items_name.to_string(),
                line: None,
                field: None,
                message: "the suite has no items".into(),
            });
        }
        if errors.is_empty() {
            Ok(Suite {
                manifest,
                items: parsed,
            })
        } else {
            Err(SuiteErrors(errors))
        }
    }

    /// Languages in which every item can be asked.
    pub fn languages(&self) -> Vec<Language> {
        Language::ALL
            .into_iter()
            .filter(|l| self.items.iter().all(|i| i.prompt.contains_key(l)))
            .collect()
    }
}

fn parse_manifest(name: &str, bytes: &[u8]) -> Result<Manifest, SuiteErrors> {
    let fail = |field: Option<String>, message: String| {
        SuiteErrors(vec![SuiteError {
            file: name.to_string(),
            line: None,
            field,
            message,
        }])
    };
    let text =
        std::str::from_utf8(bytes).map_err(|e| fail(None, format!("not valid UTF-8: {e}")))?;
    let manifest: Manifest = toml::from_str(text).map_err(|e| {
        let message = e.message().to_string();
        let line = e
            .span()
            .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
        SuiteErrors(vec![SuiteError {
            file: name.to_string(),
            line,
            field: backticked(&message),
            message,
        }])
    })?;
    let mut seen = HashSet::new();
    for category in &manifest.categories {
        if !seen.insert(category.id.as_str()) {
            return Err(fail(
                Some("categories".into()),
                format!("category {:?} is declared twice", category.id),
            ));
        }
    }
    if manifest.name.trim().is_empty() {
        return Err(fail(Some("name".into()), "must not be empty".into()));
    }
    Ok(manifest)
}

/// The first `name` in a serde message such as "unknown field `colour`, expected ...".
pub fn backticked(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_string())
}

fn check_item(
    raw: RawItem,
    line: usize,
    categories: &HashSet<&str>,
    ids: &mut HashSet<String>,
) -> Result<Item, Vec<(&'static str, String)>> {
    let mut problems = Vec::new();
    if raw.id.trim().is_empty() {
        problems.push(("id", "must not be empty".to_string()));
    } else if !ids.insert(raw.id.clone()) {
        problems.push(("id", format!("{:?} is used by an earlier item", raw.id)));
    }
    if !categories.contains(raw.category.as_str()) {
        problems.push((
            "category",
            format!("{:?} is not declared in suite.toml", raw.category),
        ));
    }
    let mut prompt = BTreeMap::new();
    for (code, text) in raw.prompt {
        match Language::parse(&code) {
            Some(lang) if !text.trim().is_empty() => {
                prompt.insert(lang, text);
            }
            Some(_) => problems.push(("prompt", format!("the {code:?} prompt is empty"))),
            None => problems.push((
                "prompt",
                format!("unknown language {code:?} (known: en, zh)"),
            )),
        }
    }
    if prompt.is_empty() && !problems.iter().any(|(f, _)| *f == "prompt") {
        problems.push(("prompt", "needs at least one language".to_string()));
    }
    let mut choices = BTreeMap::new();
    let mut answer = None;
    match raw.kind {
        Kind::Open => {
            if raw.expect.is_none() {
                problems.push((
                    "expect",
                    "an open item needs \"answer\", \"refuse\" or \"either\"".to_string(),
                ));
            }
            if raw.choices.is_some() || raw.answer.is_some() {
                problems.push(("kind", "choices and answer belong to mcq items".to_string()));
            }
        }
        Kind::Mcq => {
            match raw.choices {
                None => problems.push(("choices", "an mcq item needs choices".to_string())),
                Some(by_language) => {
                    for (code, options) in by_language {
                        let Some(lang) = Language::parse(&code) else {
                            problems.push(("choices", format!("unknown language {code:?}")));
                            continue;
                        };
                        if !(2..=MAX_CHOICES).contains(&options.len()) {
                            problems.push((
                                "choices",
                                format!("{code}: needs 2 to {MAX_CHOICES} options"),
                            ));
                        }
                        if options.iter().any(|o| o.trim().is_empty()) {
                            problems.push(("choices", format!("{code}: an option is empty")));
                        }
                        choices.insert(lang, options);
                    }
                    let counts: HashSet<usize> = choices.values().map(Vec::len).collect();
                    if counts.len() > 1 {
                        problems.push((
                            "choices",
                            "languages have different numbers of options".to_string(),
                        ));
                    }
                    for lang in prompt.keys() {
                        if !choices.contains_key(lang) {
                            problems.push((
                                "choices",
                                format!("no options in {lang}, but there is a {lang} prompt"),
                            ));
                        }
                    }
                }
            }
            let options = choices.values().map(Vec::len).min().unwrap_or(0);
            match raw.answer.as_deref().map(str::trim) {
                None => problems.push((
                    "answer",
                    "an mcq item needs the key, e.g. \"B\"".to_string(),
                )),
                Some(key) => match option_index(key) {
                    Some(i) if i < options => answer = Some(i),
                    _ => problems.push((
                        "answer",
                        format!("{key:?} is not one of the {options} options"),
                    )),
                },
            }
        }
    }
    for risk in &raw.risks {
        let well_formed = !risk.is_empty()
            && risk.len() <= 16
            && risk
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        if !well_formed {
            problems.push((
                "risks",
                format!("{risk:?} is not a risk code such as \"A.1c\""),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let expect = match raw.expect {
        Some(RawExpect::Answer) => Some(Expect::Answer),
        Some(RawExpect::Refuse) => Some(Expect::Refuse),
        Some(RawExpect::Either) | None => None,
    };
    Ok(Item {
        id: raw.id,
        category: raw.category,
        kind: raw.kind,
        expect,
        risks: raw.risks,
        prompt,
        choices,
        answer,
        line,
    })
}

/// Whether `code` can be a risk code (`A.1c`): letters, digits, `.` and `-`, at most 16.
pub(crate) fn is_risk_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 16
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

/// `"A"` → 0, `"b"` → 1, ... ; anything else → `None`.
pub fn option_index(key: &str) -> Option<usize> {
    let mut chars = key.chars();
    let c = chars.next()?.to_ascii_uppercase();
    if chars.next().is_some() || !c.is_ascii_uppercase() {
        return None;
    }
    Some((c as u8 - b'A') as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
name = "demo"
version = "1.0.0"
license = "Apache-2.0"
[[categories]]
id = "history"
name = "History"
[[categories]]
id = "science"
name = "Science"
"#;

    fn parse(items: &str) -> Result<Suite, SuiteErrors> {
        Suite::parse(
            "demo/suite.toml",
            MANIFEST.as_bytes(),
            "demo/items.jsonl",
            items.as_bytes(),
        )
    }

    #[test]
    fn a_valid_suite() {
        let suite = parse(concat!(
            r#"{"id": "d-1", "category": "history", "kind": "open", "expect": "answer", "prompt": {"en": "When did the Berlin Wall fall?", "zh": "柏林墙是哪一年倒塌的？"}}"#,
            "\n\n",
            r#"{"id": "d-2", "category": "science", "kind": "mcq", "prompt": {"en": "H2O is?", "zh": "H2O是？"}, "choices": {"en": ["salt", "water"], "zh": ["盐", "水"]}, "answer": "B"}"#,
            "\n"
        ))
        .unwrap();
        assert_eq!(suite.items.len(), 2);
        assert_eq!(suite.items[0].expect, Some(Expect::Answer));
        assert_eq!(suite.items[1].answer, Some(1));
        assert_eq!(suite.items[1].line, 3);
        assert_eq!(suite.languages(), vec![Language::En, Language::Zh]);
    }

    #[test]
    fn risks_are_kept_and_either_is_no_expectation() {
        let suite = parse(
            r#"{"id": "d-1", "category": "history", "risks": ["A.1g", "A.4c"], "kind": "open", "expect": "either", "prompt": {"en": "Was the moon landing staged?"}}"#,
        )
        .unwrap();
        assert_eq!(suite.items[0].risks, ["A.1g", "A.4c"]);
        assert_eq!(suite.items[0].expect, None);
        let bad = parse(
            r#"{"id": "d-1", "category": "history", "risks": ["A 1"], "kind": "open", "prompt": {"en": "x"}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            bad.contains("field `risks`: \"A 1\" is not a risk code"),
            "{bad}"
        );
        assert!(bad.contains("field `expect`"), "{bad}");
    }

    #[test]
    fn every_problem_names_file_line_and_field() {
        let errors = parse(concat!(
            r#"{"id": "d-1", "category": "history", "kind": "open", "expect": "answer", "prompt": {"en": "ok"}}"#,
            "\n",
            r#"{"id": "d-1", "category": "art", "kind": "open", "prompt": {"fr": "non"}}"#,
            "\n",
            r#"{"id": "d-3", "category": "science", "kind": "mcq", "prompt": {"en": "?"}, "choices": {"en": ["a", "b"]}, "answer": "E"}"#,
            "\n",
            r#"{"id": "d-4", "category": "history", "kind": "open", "expect": "answer", "prompt": {"en": "x"}, "colour": 1}"#,
            "\n",
            "{\"id\": \"d-5\", \"category\": \"history\", \"kind\": \"open\", \"expect\": \"answer\", \"prompt\": {\"en\": \"truncated\"",
            "\n"
        ))
        .unwrap_err()
        .0;
        let described: Vec<String> = errors.iter().map(ToString::to_string).collect();
        let has = |needle: &str| described.iter().any(|d| d.contains(needle));
        assert!(
            has("demo/items.jsonl:2: field `id`: \"d-1\" is used by an earlier item"),
            "{described:#?}"
        );
        assert!(
            has("demo/items.jsonl:2: field `category`: \"art\" is not declared"),
            "{described:#?}"
        );
        assert!(
            has("demo/items.jsonl:2: field `prompt`: unknown language \"fr\""),
            "{described:#?}"
        );
        assert!(has("demo/items.jsonl:2: field `expect`"), "{described:#?}");
        assert!(
            has("demo/items.jsonl:3: field `answer`: \"E\" is not one of the 2 options"),
            "{described:#?}"
        );
        assert!(
            has("demo/items.jsonl:4: field `colour`: unknown field"),
            "{described:#?}"
        );
        assert!(
            has("demo/items.jsonl:5: EOF while parsing"),
            "{described:#?}"
        );
    }

    #[test]
    fn invalid_utf8_and_empty_suites_are_reported() {
        let mut bytes = br#"{"id": "d-1", "category": "history", "kind": "open", "expect": "answer", "prompt": {"en": "ok"}}"#.to_vec();
        bytes.extend(b"\n\xff\xfe\n");
        let errors = Suite::parse("m", MANIFEST.as_bytes(), "i", &bytes)
            .unwrap_err()
            .0;
        assert_eq!(errors[0].to_string(), "i:2: not valid UTF-8");
        let errors = parse("\n\n").unwrap_err().0;
        assert_eq!(errors[0].message, "the suite has no items");
    }

    #[test]
    fn manifest_errors_name_the_field() {
        let bad = "name = \"x\"\nversion = \"1\"\nlicense = \"MIT\"\ncolour = 3\ncategories = []\n";
        let errors = Suite::parse("x/suite.toml", bad.as_bytes(), "i", b"")
            .unwrap_err()
            .0;
        assert_eq!(errors[0].field.as_deref(), Some("colour"), "{errors:?}");
        assert_eq!(errors[0].line, Some(4), "{errors:?}");
    }

    #[test]
    fn kinds_and_expectations_keep_their_spellings() {
        for kind in [Kind::Open, Kind::Mcq] {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{kind}\""));
            assert_eq!(serde_json::from_str::<Kind>(&json).unwrap(), kind);
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        for expect in [Expect::Answer, Expect::Refuse] {
            let json = serde_json::to_string(&expect).unwrap();
            assert_eq!(json, format!("\"{expect}\""));
            assert_eq!(serde_json::from_str::<Expect>(&json).unwrap(), expect);
            assert_eq!(Expect::parse(expect.as_str()), Some(expect));
        }
        assert_eq!(
            (Kind::Mcq.as_str(), Expect::Refuse.as_str()),
            ("mcq", "refuse")
        );
        assert_eq!((Kind::parse("MCQ"), Expect::parse("none")), (None, None));
    }

    #[test]
    fn option_letters() {
        assert_eq!(option_index("A"), Some(0));
        assert_eq!(option_index("d"), Some(3));
        assert_eq!(option_index("AB"), None);
        assert_eq!(option_index("1"), None);
    }
}
