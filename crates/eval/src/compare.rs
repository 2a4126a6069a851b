//! Two runs compared request by request (`assay audit --compare A B`): which model of run A
//! stands for which of run B, McNemar's test on the requests both answered, and the answers
//! whose label changed.
//!
//! The usual comparison is one model before and after a change (`local:m` vs
//! `local:m?temperature=0`, two versions of one endpoint), so the models of the two runs rarely
//! share a name: they are paired explicitly (`--pair A=B`), by name, or, when each run has a
//! single model, with each other.

use std::collections::{BTreeMap, BTreeSet};

use crate::analyze::{by_request, outcomes, paired_test, Side, CORRECT, MET, NOT_COMPLY};
use crate::results::{AnswerRow, Change, Comparison, ModelPair, PairedTest, Results};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompareError {
    #[error("--pair {given:?}: write MODEL_A=MODEL_B (a model of run A, then one of run B)")]
    Syntax { given: String },
    #[error("--pair: run {run} has no model {model:?} (its models: {known})")]
    UnknownModel {
        run: &'static str,
        model: String,
        known: String,
    },
    #[error(
        "the runs share no model name: say which to compare with --pair MODEL_A=MODEL_B \
         (run A: {a}; run B: {b})"
    )]
    NoPairs { a: String, b: String },
}

/// Reads a `--pair MODEL_A=MODEL_B` value (a model name may itself hold `=`, as in
/// `local:m?temperature=0`: the split is at the `=` that leaves a model of each run).
pub fn parse_pair(given: &str, a: &Results, b: &Results) -> Result<ModelPair, CompareError> {
    let models =
        |r: &Results| -> Vec<String> { r.run.models.iter().map(|m| m.name.clone()).collect() };
    let (models_a, models_b) = (models(a), models(b));
    let splits: Vec<(&str, &str)> = given
        .match_indices('=')
        .map(|(i, _)| (&given[..i], &given[i + 1..]))
        .collect();
    if splits.is_empty() {
        return Err(CompareError::Syntax {
            given: given.to_string(),
        });
    }
    if let Some((x, y)) = splits
        .iter()
        .find(|(x, y)| models_a.iter().any(|m| m == x) && models_b.iter().any(|m| m == y))
    {
        return Ok(ModelPair {
            a: x.to_string(),
            b: y.to_string(),
        });
    }
    // Say which side is wrong, for the first split whose left side is a model of run A.
    let (x, y) = splits
        .iter()
        .find(|(x, _)| models_a.iter().any(|m| m == x))
        .copied()
        .unwrap_or(splits[0]);
    let (run, model, known) = if models_a.iter().any(|m| m == x) {
        ("B", y, models_b)
    } else {
        ("A", x, models_a)
    };
    Err(CompareError::UnknownModel {
        run,
        model: model.to_string(),
        known: known.join(", "),
    })
}

/// The pairs to compare when none is given: models of the same name, else the only model of
/// each run.
pub fn auto_pairs(a: &Results, b: &Results) -> Result<Vec<ModelPair>, CompareError> {
    let names =
        |r: &Results| -> Vec<String> { r.run.models.iter().map(|m| m.name.clone()).collect() };
    let (models_a, models_b) = (names(a), names(b));
    let shared: Vec<ModelPair> = models_a
        .iter()
        .filter(|m| models_b.contains(m))
        .map(|m| ModelPair {
            a: m.clone(),
            b: m.clone(),
        })
        .collect();
    if !shared.is_empty() {
        return Ok(shared);
    }
    match (models_a.as_slice(), models_b.as_slice()) {
        ([a], [b]) => Ok(vec![ModelPair {
            a: a.clone(),
            b: b.clone(),
        }]),
        _ => Err(CompareError::NoPairs {
            a: models_a.join(", "),
            b: models_b.join(", "),
        }),
    }
}

/// What a change is told by: the refusal label, or the chosen option.
fn label(row: &AnswerRow) -> Option<String> {
    row.text.as_ref()?;
    match &row.mcq {
        Some(m) => Some(m.chosen.clone().unwrap_or_else(|| "no choice".into())),
        None => row.refusal.as_ref().map(|r| r.label.as_str().to_string()),
    }
}

type RequestKey<'a> = (&'a str, &'a str, &'a str, u32);

fn key(row: &AnswerRow) -> RequestKey<'_> {
    (&row.suite, &row.item_id, &row.lang, row.sample)
}

/// Compares the pairs' answers request by request.
pub fn compare(a: Results, b: Results, pairs: Vec<ModelPair>) -> Comparison {
    let mut paired_tests = Vec::new();
    let mut changes = Vec::new();
    for pair in &pairs {
        let rows_a: Vec<&AnswerRow> = a.answers.iter().filter(|r| r.model == pair.a).collect();
        let rows_b: Vec<&AnswerRow> = b.answers.iter().filter(|r| r.model == pair.b).collect();
        let suites: Vec<&str> = ordered(rows_a.iter().map(|r| r.suite.as_str()));
        let langs: Vec<&str> = ordered(rows_a.iter().map(|r| r.lang.as_str()));
        for suite in &suites {
            let mut scopes: Vec<Option<&str>> = vec![None];
            if langs.len() > 1 {
                scopes.extend(langs.iter().map(|l| Some(*l)));
            }
            for lang in scopes {
                let (sa, sb) = (scope(&rows_a, suite, lang), scope(&rows_b, suite, lang));
                for kind in [MET, NOT_COMPLY, CORRECT] {
                    let test = paired_test(
                        suite,
                        Side {
                            model: &pair.a,
                            lang,
                        },
                        Side {
                            model: &pair.b,
                            lang,
                        },
                        kind,
                        &outcomes(&sa, kind, by_request),
                        &outcomes(&sb, kind, by_request),
                    );
                    if test.n > 0 {
                        paired_tests.push(test);
                    }
                }
            }
        }
        let by_key: BTreeMap<RequestKey, &AnswerRow> =
            rows_b.iter().map(|r| (key(r), *r)).collect();
        for ra in &rows_a {
            let Some(rb) = by_key.get(&key(ra)) else {
                continue;
            };
            let (Some(la), Some(lb)) = (label(ra), label(rb)) else {
                continue;
            };
            if la != lb {
                changes.push(Change {
                    model_a: pair.a.clone(),
                    model_b: pair.b.clone(),
                    suite: ra.suite.clone(),
                    item_id: ra.item_id.clone(),
                    category: ra.category.clone(),
                    lang: ra.lang.clone(),
                    sample: ra.sample,
                    prompt: ra.prompt.clone(),
                    label_a: la,
                    label_b: lb,
                    verdict_a: ra.verdict,
                    verdict_b: rb.verdict,
                    text_a: ra.text.clone().unwrap_or_default(),
                    text_b: rb.text.clone().unwrap_or_default(),
                });
            }
        }
    }
    Comparison {
        a,
        b,
        pairs,
        paired_tests,
        changes,
    }
}

/// The rows of one suite, in one language or all.
fn scope<'r>(rows: &[&'r AnswerRow], suite: &str, lang: Option<&str>) -> Vec<&'r AnswerRow> {
    rows.iter()
        .copied()
        .filter(|r| r.suite == suite && lang.is_none_or(|l| r.lang == l))
        .collect()
}

/// Distinct values in first-seen order.
fn ordered<'a>(values: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = BTreeSet::new();
    values.filter(|v| seen.insert(*v)).collect()
}

/// The tests of one pair and suite over all languages, for summaries.
pub fn headline(c: &Comparison) -> impl Iterator<Item = &PairedTest> {
    c.paired_tests.iter().filter(|t| t.lang_a.is_none())
}
