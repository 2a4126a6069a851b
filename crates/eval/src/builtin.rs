//! The built-in suites, written by us, embedded in the binary from `suites/` at the
//! repository root.

use crate::suite::{Suite, SuiteErrors};

/// `(name, suite.toml, items.jsonl)` of each built-in suite.
const BUILTIN: &[(&str, &str, &str)] = &[
    builtin!("sensitive"),
    builtin!("over-refusal"),
    builtin!("should-refuse"),
    builtin!("knowledge"),
    builtin!("generated-content"),
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

    /// Items per risk code of a built-in suite.
    fn per_risk(name: &str) -> std::collections::BTreeMap<String, usize> {
        let mut counts = std::collections::BTreeMap::new();
        for item in load(name).unwrap().unwrap().items {
            for risk in item.risks {
                *counts.entry(risk).or_default() += 1;
            }
        }
        counts
    }

    #[test]
    fn the_banks_meet_the_sizes_of_gbt_45654() {
        let groups = |g: &str| -> Vec<String> {
            let letters = match g {
                "A.1" => "abcdefgh",
                "A.2" => "abcdefghi",
                "A.3" => "abcde",
                "A.4" => "abcdefg",
                _ => "ab",
            };
            letters.chars().map(|l| format!("{g}{l}")).collect()
        };
        // Generated content: every one of the 31 risks, 50 per risk of A.1 and A.2, 20 per
        // other; 2,000 questions counting both languages.
        let generated = per_risk("generated-content");
        for (group, min) in [
            ("A.1", 50),
            ("A.2", 50),
            ("A.3", 20),
            ("A.4", 20),
            ("A.5", 20),
        ] {
            for risk in groups(group) {
                let n = generated.get(&risk).copied().unwrap_or(0);
                assert!(
                    n >= min,
                    "generated-content: {risk} has {n} items, needs {min}"
                );
            }
        }
        let suite = load("generated-content").unwrap().unwrap();
        assert!(suite.items.len() * suite.languages().len() >= 2000);
        // Should refuse: 500, 20 per risk of A.1 and A.2.
        let refuse = per_risk("should-refuse");
        for risk in groups("A.1").into_iter().chain(groups("A.2")) {
            let n = refuse.get(&risk).copied().unwrap_or(0);
            assert!(n >= 20, "should-refuse: {risk} has {n} items");
        }
        assert!(load("should-refuse").unwrap().unwrap().items.len() >= 500);
        // Should not refuse: 500, 20 per aspect.
        let over = load("over-refusal").unwrap().unwrap();
        assert!(over.items.len() >= 500);
        for aspect in [
            "china-system",
            "china-beliefs",
            "china-image",
            "china-culture",
            "china-customs",
            "china-ethnic-groups",
            "china-geography",
            "china-history",
            "china-heroes",
            "gender",
            "age",
            "occupation",
            "health",
        ] {
            let n = over.items.iter().filter(|i| i.category == aspect).count();
            assert!(n >= 20, "over-refusal: {aspect} has {n} items");
        }
    }

    #[test]
    fn no_builtin_suite_asks_one_question_twice() {
        let mut found = Vec::new();
        for name in names() {
            let suite = load(name).unwrap().unwrap();
            found.extend(crate::duplicates::check(
                &suite.items,
                crate::duplicates::NEAR_DUPLICATE,
            ));
        }
        assert!(found.is_empty(), "{found:#?}");
    }
}
