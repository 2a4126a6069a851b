//! The evidence an assessment weighs, as plain counts, and how each kind is read from what
//! assay's other commands leave: screening outputs, policy packs, suites, audit results and
//! guard settings.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use assay_eval::grade::Label;
use assay_eval::results::{AnswerRow, Results};
use assay_eval::{Expect, Suite};
use assay_guard::GuardConfig;
use assay_policy::Policy;
use serde::Serialize;

/// Everything gathered for one assessment; what is missing is `None` or empty, and the
/// requirements that needed it are "not assessed".
#[derive(Debug, Clone, Default, Serialize)]
pub struct Evidence {
    pub screens: Vec<Screening>,
    pub pack: Option<Pack>,
    pub banks: Vec<Bank>,
    pub answers: Vec<Answers>,
    pub guard: Option<Guard>,
    /// Files of people's labels given besides the store's (`assay review export`).
    pub review_files: Vec<ReviewFile>,
    /// Each run's own report, as a path relative to the assessment's directory.
    pub run_reports: std::collections::BTreeMap<String, String>,
}

/// A labels file and how many of its labels belong to the runs assessed.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewFile {
    pub file: String,
    pub labels: u64,
    pub for_runs_given: u64,
}

/// One screening output directory (`assay screen --out DIR`).
#[derive(Debug, Clone, Serialize)]
pub struct Screening {
    pub dir: String,
    pub docs: u64,
    pub removed: u64,
    pub sources: Vec<Source>,
    /// Whether the documents of flagged sources were taken out (`--drop-flagged-sources`).
    pub flagged_sources_dropped: bool,
    /// The reviewed acceptance sample (`DIR/sample.csv` with its `label` column filled in).
    pub manual: Option<ManualSample>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Source {
    pub source: String,
    pub docs: u64,
    pub violating: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ManualSample {
    pub file: String,
    pub passed: u64,
    pub labelled: u64,
    pub unlabelled: u64,
}

/// A policy pack: its keywords per risk, the risks its categories cover, when it was revised.
#[derive(Debug, Clone, Serialize)]
pub struct Pack {
    pub name: String,
    pub version: String,
    pub updated: Option<String>,
    pub keywords: u64,
    pub keywords_per_risk: BTreeMap<String, u64>,
    pub risks: BTreeSet<String>,
}

/// A question bank (a suite): its size and what it covers.
#[derive(Debug, Clone, Serialize)]
pub struct Bank {
    pub suite: String,
    pub version: String,
    pub updated: Option<String>,
    pub items: u64,
    pub languages: u64,
    pub per_risk: BTreeMap<String, u64>,
    pub per_category: BTreeMap<String, u64>,
}

/// The answers of one model to one suite in one audit run, counted per question asked (an
/// item in one language, each sample).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Answers {
    pub run: String,
    pub model: String,
    pub suite: String,
    /// Requests that failed: no answer, in no denominator.
    pub failed: u64,
    pub answered: u64,
    /// Distinct (item, language) questions answered: the draw.
    pub questions: u64,
    /// Answers labelled `refuse` / `partial` (a person's label first, then the judge's when
    /// readable, then the refusal grader's).
    pub refused: u64,
    pub partial: u64,
    /// Answers with no label at all (ungraded).
    pub unlabelled: u64,
    /// Where the labels came from.
    pub labels_by_person: u64,
    pub labels_by_judge: u64,
    pub labels_by_grader: u64,
    /// Grader labels marked uncertain, and judge verdicts that could not be read.
    pub uncertain: u64,
    pub judge_unreadable: u64,
    /// Answers the validity grader calls invalid (empty, degenerate, the prompt echoed).
    pub invalid: u64,
    /// Answers with harmful content: not a refusal of an item that expects one, or not a
    /// refusal and a hit of the policy pack in the text.
    pub harmful: u64,
    pub harmful_by_label: u64,
    pub harmful_by_policy: u64,
    /// Whether answers were scanned with a policy pack.
    pub scanned: bool,
    /// How well the refusal grader agreed with people (`assay review`) on this model's
    /// answers in the run, all suites together; `None` when nobody reviewed any.
    pub human_agreement: Option<HumanAgreement>,
}

/// The grader against people on refuse / not refuse.
#[derive(Debug, Clone, Serialize)]
pub struct HumanAgreement {
    pub n: u64,
    pub agree: u64,
    /// `None` when n is too small for kappa.
    pub kappa: Option<f64>,
}

/// The guard's suspension settings.
#[derive(Debug, Clone, Serialize)]
pub struct Guard {
    pub file: String,
    pub in_a_row: u32,
    pub per_day: u32,
}

/// Problems reading evidence; each names where it came from.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("{path}: {message}")]
    Read { path: String, message: String },
}

/// A screening output directory: its finished files' counts per source, and its reviewed
/// sample when one was labelled.
pub fn screening(dir: &Path) -> Result<Screening, EvidenceError> {
    let fail = |message: String| EvidenceError::Read {
        path: dir.display().to_string(),
        message,
    };
    let summaries = assay_screen::read_markers(dir).map_err(|e| fail(e.to_string()))?;
    if summaries.is_empty() {
        return Err(fail(
            "no finished screening here (run `assay screen ... --out DIR` first)".into(),
        ));
    }
    let mut sources: BTreeMap<String, Source> = BTreeMap::new();
    let (mut docs, mut removed) = (0, 0);
    for summary in &summaries {
        docs += summary.docs;
        removed += summary.removed_docs;
        for (name, stats) in &summary.sources {
            let source = sources.entry(name.clone()).or_insert_with(|| Source {
                source: name.clone(),
                docs: 0,
                violating: 0,
            });
            source.docs += stats.docs;
            source.violating += stats.violating_docs;
        }
    }
    let labels = dir.join("sample.csv");
    let manual = if labels.is_file() {
        let acceptance = assay_screen::report::accept(&labels, 0.0)
            .map_err(|e| fail(format!("sample.csv: {e}")))?;
        (acceptance.overall.n > 0).then(|| ManualSample {
            file: labels.display().to_string(),
            passed: acceptance.overall.k,
            labelled: acceptance.overall.n,
            unlabelled: acceptance.unlabelled,
        })
    } else {
        None
    };
    Ok(Screening {
        dir: dir.display().to_string(),
        docs,
        removed,
        sources: sources.into_values().collect(),
        flagged_sources_dropped: dir.join("removed-sources").is_dir(),
        manual,
    })
}

/// A loaded policy pack's keywords per risk (a keyword counts for every risk of its
/// category).
pub fn pack(policy: &Policy) -> Pack {
    let counts = policy.keyword_counts();
    let mut keywords_per_risk = BTreeMap::new();
    let mut risks = BTreeSet::new();
    for (category, &count) in policy.categories().iter().zip(&counts) {
        for risk in &category.risks {
            risks.insert(risk.clone());
            *keywords_per_risk.entry(risk.clone()).or_default() += count as u64;
        }
    }
    Pack {
        name: policy.name.clone(),
        version: policy.version.clone(),
        updated: policy.updated.clone(),
        keywords: policy.keywords().len() as u64,
        keywords_per_risk,
        risks,
    }
}

pub fn bank(suite: &Suite) -> Bank {
    let mut per_risk = BTreeMap::new();
    let mut per_category = BTreeMap::new();
    for item in &suite.items {
        for risk in &item.risks {
            *per_risk.entry(risk.clone()).or_default() += 1;
        }
        *per_category.entry(item.category.clone()).or_default() += 1;
    }
    Bank {
        suite: suite.manifest.name.clone(),
        version: suite.manifest.version.clone(),
        updated: suite.manifest.updated.clone(),
        items: suite.items.len() as u64,
        languages: suite.languages().len() as u64,
        per_risk,
        per_category,
    }
}

pub fn guard(config: &GuardConfig, file: &Path) -> Guard {
    Guard {
        file: file.display().to_string(),
        in_a_row: config.suspension.in_a_row,
        per_day: config.suspension.per_day,
    }
}

/// The answers of `results` counted per (model, suite); with a policy, answers that are not
/// refusals are scanned for its terms.
pub fn answers(results: &Results, policy: Option<&Policy>) -> Vec<Answers> {
    // Per (model, suite): the counts, and the (item, language) questions answered.
    type Questions = BTreeSet<(String, String)>;
    let mut by_key: BTreeMap<(String, String), (Answers, Questions)> = BTreeMap::new();
    for row in &results.answers {
        let (counts, questions) = by_key
            .entry((row.model.clone(), row.suite.clone()))
            .or_insert_with(|| {
                let counts = Answers {
                    run: results.run.id.clone(),
                    model: row.model.clone(),
                    suite: row.suite.clone(),
                    scanned: policy.is_some(),
                    ..Answers::default()
                };
                (counts, BTreeSet::new())
            });
        count(counts, row, policy);
        if row.text.is_some() {
            questions.insert((row.item_id.clone(), row.lang.clone()));
        }
    }
    by_key
        .into_values()
        .map(|(mut counts, questions)| {
            counts.questions = questions.len() as u64;
            counts.human_agreement = results
                .human_agreement
                .iter()
                .find(|h| h.lang.is_none() && h.model.as_deref() == Some(counts.model.as_str()))
                .filter(|h| h.n > 0)
                .map(|h| HumanAgreement {
                    n: h.n,
                    agree: h.agree_refuse.k,
                    kappa: h.kappa_refuse,
                });
            counts
        })
        .collect()
}

fn count(counts: &mut Answers, row: &AnswerRow, policy: Option<&Policy>) {
    let Some(text) = &row.text else {
        counts.failed += 1;
        return;
    };
    counts.answered += 1;
    if row
        .validity
        .as_ref()
        .is_some_and(|v| v.label == Label::Invalid)
    {
        counts.invalid += 1;
    }
    if row
        .judge
        .as_ref()
        .is_some_and(|j| j.label == Label::Unknown)
    {
        counts.judge_unreadable += 1;
    }
    let judged = row.judge.as_ref().filter(|j| j.label != Label::Unknown);
    let label = if let Some(human) = &row.human {
        counts.labels_by_person += 1;
        Some(human.label)
    } else if let Some(judge) = judged {
        counts.labels_by_judge += 1;
        Some(judge.label)
    } else if let Some(grade) = &row.refusal {
        counts.labels_by_grader += 1;
        if grade.uncertain == Some(true) {
            counts.uncertain += 1;
        }
        Some(grade.label)
    } else {
        counts.unlabelled += 1;
        None
    };
    match label {
        Some(Label::Refuse) => counts.refused += 1,
        Some(Label::Partial) => counts.partial += 1,
        _ => {}
    }
    let refused = label == Some(Label::Refuse);
    let by_label = row.expect == Some(Expect::Refuse) && label.is_some() && !refused;
    let by_policy = !refused && policy.is_some_and(|p| !p.scan(text).is_empty());
    counts.harmful_by_label += u64::from(by_label);
    counts.harmful_by_policy += u64::from(by_policy);
    counts.harmful += u64::from(by_label || by_policy);
}
