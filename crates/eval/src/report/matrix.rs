//! The results matrix of the report: one row per question (suite × item × language × sample),
//! one column per model, each cell the answer's label and its verdict, and which rows hold a
//! failure or an answer that differs between models or languages.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use super::Index;
use crate::results::{AnswerRow, Results, Verdict};

/// One question asked of every model.
#[derive(Serialize)]
pub(crate) struct MatrixRow<'a> {
    pub suite: &'a str,
    pub item_id: &'a str,
    pub category: &'a str,
    pub lang: &'a str,
    pub sample: u32,
    pub prompt: String,
    /// One per model of the run, in its order; `None` where the model has no answer.
    pub cells: Vec<Option<MatrixCell>>,
    /// Some model's answer did not meet the expectation.
    pub fail: bool,
    /// The models' labels differ, or some model's label differs in another language.
    pub differs: bool,
}

#[derive(Serialize)]
pub(crate) struct MatrixCell {
    /// The refusal label, the chosen option of a multiple-choice answer, `error` or `—`.
    pub label: String,
    pub class: &'static str,
    pub verdict: Option<&'static str>,
    /// The answer's beginning (or the error), unfolded on a click.
    pub snippet: String,
}

/// What a row's answers are compared by: the label, or the chosen option.
fn outcome(a: &AnswerRow) -> String {
    if a.text.is_none() {
        return "error".to_string();
    }
    if let Some(m) = &a.mcq {
        return m.chosen.clone().unwrap_or_else(|| "?".to_string());
    }
    a.refusal
        .as_ref()
        .map_or_else(|| "—".to_string(), |l| l.label.as_str().to_string())
}

pub(crate) fn rows<'a>(r: &'a Results, ix: &Index<'a>) -> Vec<MatrixRow<'a>> {
    let position = |list: &[&str], s: &str| list.iter().position(|x| *x == s).unwrap_or(list.len());
    type Key<'a> = (usize, &'a str, usize, u32);
    let mut grouped: BTreeMap<Key<'a>, Vec<&'a AnswerRow>> = BTreeMap::new();
    // The outcomes of each model on each question across languages.
    let mut across_langs: HashMap<(&str, &str, &str, u32), BTreeSet<String>> = HashMap::new();
    for a in &r.answers {
        let key = (
            position(&ix.suites, &a.suite),
            a.item_id.as_str(),
            position(&ix.langs, &a.lang),
            a.sample,
        );
        grouped.entry(key).or_default().push(a);
        if a.text.is_some() {
            across_langs
                .entry((&a.model, &a.suite, &a.item_id, a.sample))
                .or_default()
                .insert(outcome(a));
        }
    }
    grouped
        .into_values()
        .filter_map(|answers| {
            let first = *answers.first()?;
            let cells: Vec<Option<MatrixCell>> = ix
                .models
                .iter()
                .map(|model| {
                    let a = answers.iter().find(|a| a.model == *model)?;
                    let label = outcome(a);
                    Some(MatrixCell {
                        class: super::html::label_class(&label),
                        label,
                        verdict: a.verdict.map(Verdict::as_str),
                        snippet: a
                            .text
                            .as_deref()
                            .or(a.error.as_deref())
                            .map(|t| super::html::snippet(t, 200))
                            .unwrap_or_default(),
                    })
                })
                .collect();
            let answered: BTreeSet<String> = answers
                .iter()
                .filter(|a| a.text.is_some())
                .map(|a| outcome(a))
                .collect();
            let langs_differ = answers.iter().any(|a| {
                across_langs
                    .get(&(
                        a.model.as_str(),
                        a.suite.as_str(),
                        a.item_id.as_str(),
                        a.sample,
                    ))
                    .is_some_and(|set| set.len() > 1)
            });
            Some(MatrixRow {
                suite: &first.suite,
                item_id: &first.item_id,
                category: &first.category,
                lang: &first.lang,
                sample: first.sample,
                prompt: super::html::snippet(&first.prompt, 120),
                fail: answers.iter().any(|a| a.verdict == Some(Verdict::NotMet)),
                differs: answered.len() > 1 || langs_differ,
                cells,
            })
        })
        .collect()
}
