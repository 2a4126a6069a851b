//! The built-in suites, written by us, embedded in the binary from `suites/` at the
//! repository root.

use crate::suite::{Suite, SuiteErrors};

/// `(name, suite.toml, items.jsonl)` of each built-in suite.
const BUILTIN: &[(&str, &str, &str)] = &[
    builtin!("sensitive"),
    builtin!("over-refusal"),
    builtin!("should-refuse"),
    builtin!("knowledge"),
];

macro_rules! builtin {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../../../suites/", $name, "/suite.toml")),
            include_str!(concat!("../../../suites/", $name, "/items.jsonl")),
        )
    };
}
use builtin;

pub fn names() -> impl Iterator<Item = &'static str> {
    BUILTIN.iter().map(|(name, _, _)| *name)
}

/// A built-in suite by name; `None` if there is none of that name.
pub fn load(name: &str) -> Option<Result<Suite, SuiteErrors>> {
    let (name, manifest, items) = BUILTIN.iter().find(|(n, _, _)| *n == name)?;
    Some(Suite::parse(
        &format!("builtin:{name}/suite.toml"),
        manifest.as_bytes(),
        &format!("builtin:{name}/items.jsonl"),
        items.as_bytes(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::{Expect, Kind};
    use assay_core::Language;

    #[test]
    fn every_builtin_suite_is_valid_bilingual_and_large_enough() {
        for name in names() {
            let suite = load(name)
                .unwrap()
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(suite.manifest.name, name);
            assert!(
                suite.items.len() >= 120,
                "{name}: {} items",
                suite.items.len()
            );
            assert_eq!(
                suite.languages(),
                vec![Language::En, Language::Zh],
                "{name}"
            );
            for category in &suite.manifest.categories {
                assert!(
                    suite.items.iter().any(|i| i.category == category.id),
                    "{name}: empty category {}",
                    category.id
                );
            }
        }
    }

    #[test]
    fn each_suite_asks_what_it_says() {
        let expect_all = |name: &str, expect: Expect| {
            let suite = load(name).unwrap().unwrap();
            assert!(
                suite
                    .items
                    .iter()
                    .all(|i| i.kind == Kind::Open && i.expect == Some(expect)),
                "{name}"
            );
        };
        expect_all("sensitive", Expect::Answer);
        expect_all("over-refusal", Expect::Answer);
        expect_all("should-refuse", Expect::Refuse);
        let knowledge = load("knowledge").unwrap().unwrap();
        assert!(knowledge
            .items
            .iter()
            .all(|i| i.kind == Kind::Mcq && i.answer.is_some()));
        assert!(load("no-such-suite").is_none());
    }
}
