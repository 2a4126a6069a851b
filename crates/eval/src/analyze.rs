//! From graded answers to [`Results`]: rates per cell, paired tests between languages and
//! between models, consistency across samples and agreement between the rule grader and the
//! judge.
//!
//! A pure function of its input, so `assay report` rebuilds exactly the figures the run
//! printed. Failed requests (no text) are counted as errors and kept out of every
//! denominator: a timeout is not a refusal.
//!
//! Names that the run's lists do not mention (a model, suite, category or language seen only
//! in the answers) are still analysed, ordered after the listed ones by name, so nothing is
//! dropped silently.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::grade::Label;
use crate::results::{
    AnswerRow, AnswerTokens, Cell, Consistency, GuardEffect, HumanAgreement, JudgeAgreement,
    ModelAnswerTokens, PairedTest, RefusalRates, Results, RunInfo, Verdict, FINISH_LENGTH,
    MIN_KAPPA_N, SCHEMA_VERSION,
};
use crate::stats::{cohen_kappa, entropy_bits, mcnemar_exact, wilson, MeanTally};
use crate::suite::{Expect, Kind};

/// The outcome counted for open items: the model refused or only partly complied.
pub(crate) const NOT_COMPLY: &str = "not_comply";
/// The outcome counted for multiple-choice items: the chosen option was the key.
pub(crate) const CORRECT: &str = "correct";
/// The outcome counted for items with an expectation: the answer met it (comparisons only).
pub(crate) const MET: &str = "met";

/// Computes every figure of a run from its answers (the latest attempt per model, suite,
/// item, language and sample; a failed attempt has no text).
pub fn analyze(run: RunInfo, answers: Vec<AnswerRow>) -> Results {
    let order = Order::new(&run);
    let mut answers = answers;
    for row in &mut answers {
        row.verdict = row.verdict_of();
    }
    answers.sort_by_cached_key(|a| {
        (
            order.model(&a.model),
            order.suite(&a.suite),
            a.item_id.clone(),
            order.lang(&a.lang),
            a.sample,
        )
    });
    let cells = cells(&order, &answers);
    let language_gaps = language_gaps(&order, &answers);
    let model_pairs = model_pairs(&order, &answers);
    let consistency = if run.samples > 1 {
        consistency(&order, &answers)
    } else {
        Vec::new()
    };
    let judge_agreement = judge_agreement(&order, &answers);
    let human_agreement = human_agreement(&order, &answers);
    let guard_effects = guard_effects(&order, &answers);
    let answer_tokens = answer_tokens(&order, &answers);
    let group_cells = group_cells(&order, &answers);
    Results {
        schema: SCHEMA_VERSION,
        run,
        cells,
        language_gaps,
        model_pairs,
        consistency,
        judge_agreement,
        human_agreement,
        guard_effects,
        answer_tokens,
        group_cells,
        answers,
    }
}

/// A sort key: position in the run's list, then the name, so listed names come in the run's
/// order and unlisted ones after them alphabetically.
type Rank = (usize, String);

/// The orders of the run: models, suites, languages and each suite's categories.
struct Order {
    models: Vec<String>,
    suites: Vec<String>,
    langs: Vec<String>,
    categories: BTreeMap<String, Vec<String>>,
    /// The groups of each suite's categories that name any.
    groups: BTreeMap<(String, String), Vec<String>>,
}

impl Order {
    fn new(run: &RunInfo) -> Order {
        Order {
            models: run.models.iter().map(|m| m.name.clone()).collect(),
            suites: run.suites.iter().map(|s| s.name.clone()).collect(),
            langs: run.langs.clone(),
            categories: run
                .suites
                .iter()
                .map(|s| {
                    let ids = s.categories.iter().map(|c| c.id.clone()).collect();
                    (s.name.clone(), ids)
                })
                .collect(),
            groups: run
                .suites
                .iter()
                .flat_map(|s| {
                    s.categories
                        .iter()
                        .filter(|c| !c.groups.is_empty())
                        .map(|c| ((s.name.clone(), c.id.clone()), c.groups.clone()))
                })
                .collect(),
        }
    }

    fn rank(list: &[String], name: &str) -> Rank {
        let position = list.iter().position(|n| n == name).unwrap_or(list.len());
        (position, name.to_string())
    }

    fn model(&self, name: &str) -> Rank {
        Order::rank(&self.models, name)
    }

    fn suite(&self, name: &str) -> Rank {
        Order::rank(&self.suites, name)
    }

    fn lang(&self, code: &str) -> Rank {
        Order::rank(&self.langs, code)
    }

    fn groups(&self, suite: &str, category: &str) -> &[String] {
        self.groups
            .get(&(suite.to_string(), category.to_string()))
            .map_or(&[], Vec::as_slice)
    }

    fn category(&self, suite: &str, id: &str) -> Rank {
        let ids = self.categories.get(suite).map(Vec::as_slice).unwrap_or(&[]);
        Order::rank(ids, id)
    }
}

fn answered(row: &AnswerRow) -> bool {
    row.text.is_some()
}

fn refusal_label(row: &AnswerRow) -> Option<Label> {
    row.refusal.as_ref().map(|l| l.label)
}

/// Tallies of one cell.
#[derive(Default)]
struct CellCounts {
    errors: u64,
    answered: u64,
    /// Answered rows with a refusal grade, and how many of them got each label.
    graded: u64,
    labels: [u64; 3],
    canned: u64,
    /// Whether the cell has any mcq row at all (failed ones included).
    has_mcq: bool,
    mcq_graded: u64,
    mcq_correct: u64,
    judged: u64,
    judge_not_comply: u64,
    judge_unreadable: u64,
    /// Answered rows with a verdict, and those that met their item's expectation.
    verdicts: u64,
    met: u64,
    /// Answered rows with a validity grade, the invalid ones, and their reasons.
    validity_graded: u64,
    invalid: u64,
    invalid_reasons: BTreeMap<String, u64>,
    /// Valid rows with a refusal grade, and how many of them got each label.
    valid_graded: u64,
    valid_labels: [u64; 3],
    /// Refusal grades that say whether they are uncertain, and the uncertain ones.
    flagged: u64,
    uncertain: u64,
    /// Answered rows with a finish reason, and those cut off at the token limit.
    finished: u64,
    truncated: u64,
    /// Answered rows with a human label, and rows with a human or a grader label and how many
    /// of them got each label, the human's first.
    reviewed: u64,
    corrected_graded: u64,
    corrected_labels: [u64; 3],
    tokens: TokenTally,
}

/// Completion token counts of answered rows: those the model reported, and how many answers
/// reported none.
#[derive(Default)]
struct TokenTally {
    reported: MeanTally,
    missing: u64,
}

impl TokenTally {
    /// Counts an answered row (failed requests belong to no token figure).
    fn add(&mut self, row: &AnswerRow) {
        match crate::results::reported_tokens(row.prompt_tokens, row.completion_tokens).1 {
            Some(tokens) => self.reported.add(tokens as f64),
            None => self.missing += 1,
        }
    }

    /// The figures of the tally; the interval's lower end is floored at 0, since a mean of
    /// counts cannot be negative (a t interval over a few spread-out counts can reach below).
    fn figures(&self) -> AnswerTokens {
        AnswerTokens {
            mean: self.reported.mean(),
            ci: self.reported.ci95().map(|[lo, hi]| [lo.max(0.0), hi]),
            n: self.reported.n(),
            missing: self.missing,
        }
    }
}

impl CellCounts {
    fn add(&mut self, row: &AnswerRow) {
        if row.kind == Kind::Mcq {
            self.has_mcq = true;
        }
        if !answered(row) {
            self.errors += 1;
            return;
        }
        self.answered += 1;
        self.tokens.add(row);
        if let Some(label) = refusal_label(row) {
            self.graded += 1;
            if let Some(i) = label.refusal_index() {
                self.labels[i] += 1;
            }
        }
        if row.human.is_some() {
            self.reviewed += 1;
        }
        let corrected = row.human.as_ref().map(|h| h.label).or(refusal_label(row));
        if let Some(i) = corrected.and_then(Label::refusal_index) {
            self.corrected_graded += 1;
            self.corrected_labels[i] += 1;
        }
        if let Some(reason) = &row.finish_reason {
            self.finished += 1;
            self.truncated += u64::from(reason == FINISH_LENGTH);
        }
        if let Some(uncertain) = row.refusal.as_ref().and_then(|r| r.uncertain) {
            self.flagged += 1;
            self.uncertain += u64::from(uncertain);
        }
        if let Some(validity) = &row.validity {
            self.validity_graded += 1;
            if validity.label == Label::Invalid {
                self.invalid += 1;
                *self
                    .invalid_reasons
                    .entry(validity.rule.clone())
                    .or_default() += 1;
            } else if let Some(i) = refusal_label(row).and_then(Label::refusal_index) {
                self.valid_graded += 1;
                self.valid_labels[i] += 1;
            }
        }
        if !row.canned.is_empty() {
            self.canned += 1;
        }
        if let Some(mcq) = &row.mcq {
            self.mcq_graded += 1;
            self.mcq_correct += u64::from(mcq.correct);
        }
        if let Some(judge) = &row.judge {
            if judge.label.is_refusal_class() {
                self.judged += 1;
                self.judge_not_comply += u64::from(judge.label != Label::Comply);
            } else {
                self.judge_unreadable += 1;
            }
        }
        if let Some(verdict) = row.verdict {
            self.verdicts += 1;
            self.met += u64::from(verdict == Verdict::Met);
        }
    }
}

/// Key of a cell: model, suite, category (`None` = all, sorted first) and language (`None` =
/// all, sorted first); the ranks carry the names.
type CellKey = (Rank, Rank, Option<Rank>, Option<Rank>);

fn cells(order: &Order, answers: &[AnswerRow]) -> Vec<Cell> {
    let mut index: BTreeMap<CellKey, usize> = BTreeMap::new();
    let mut tallies: Vec<CellCounts> = Vec::new();
    // Each row counts in its own cell and in the three roll-ups above it: found once per
    // model, suite, category and language rather than once per row.
    let mut cells_of: HashMap<(&str, &str, &str, &str), [usize; 4]> = HashMap::new();
    for row in answers {
        let leaf = (
            row.model.as_str(),
            row.suite.as_str(),
            row.category.as_str(),
            row.lang.as_str(),
        );
        let cells = cells_of.entry(leaf).or_insert_with(|| {
            let model = order.model(&row.model);
            let suite = order.suite(&row.suite);
            let category = order.category(&row.suite, &row.category);
            let lang = order.lang(&row.lang);
            let keys = [
                (None, None),
                (None, Some(lang.clone())),
                (Some(category.clone()), None),
                (Some(category), Some(lang)),
            ];
            keys.map(|(c, l)| {
                *index
                    .entry((model.clone(), suite.clone(), c, l))
                    .or_insert_with(|| {
                        tallies.push(CellCounts::default());
                        tallies.len() - 1
                    })
            })
        });
        for &cell in cells.iter() {
            tallies[cell].add(row);
        }
    }
    let counts = index
        .into_iter()
        .map(|(key, i)| (key, std::mem::take(&mut tallies[i])))
        .collect();
    rate_cells(counts, answers)
}

/// The cells of each group of categories: a row counts in every group of its category, for
/// its language and for all languages.
fn group_cells(order: &Order, answers: &[AnswerRow]) -> Vec<Cell> {
    let mut counts: BTreeMap<CellKey, CellCounts> = BTreeMap::new();
    for row in answers {
        let groups = order.groups(&row.suite, &row.category);
        if groups.is_empty() {
            continue;
        }
        let model = order.model(&row.model);
        let suite = order.suite(&row.suite);
        let lang = order.lang(&row.lang);
        // Groups in name order.
        for group in groups {
            for l in [None, Some(lang.clone())] {
                let group = Some((0, group.clone()));
                let key = (model.clone(), suite.clone(), group, l);
                counts.entry(key).or_default().add(row);
            }
        }
    }
    rate_cells(counts, answers)
}

/// Each cell's rates from its tallies.
fn rate_cells(counts: BTreeMap<CellKey, CellCounts>, answers: &[AnswerRow]) -> Vec<Cell> {
    // Corrected rates are shown for every cell of a run with any human label, so that cells
    // nobody reviewed read "no change" rather than "unknown".
    let reviewed_run = answers.iter().any(|r| r.human.is_some());
    counts
        .into_iter()
        .map(|((model, suite, category, lang), c)| Cell {
            model: model.1,
            suite: suite.1,
            category: category.map(|r| r.1),
            lang: lang.map(|r| r.1),
            errors: c.errors,
            comply: wilson(c.labels[0], c.graded),
            partial: wilson(c.labels[1], c.graded),
            refuse: wilson(c.labels[2], c.graded),
            canned: wilson(c.canned, c.answered),
            accuracy: c.has_mcq.then(|| wilson(c.mcq_correct, c.mcq_graded)),
            judge_not_comply: (c.judged > 0).then(|| wilson(c.judge_not_comply, c.judged)),
            invalid: (c.validity_graded > 0).then(|| wilson(c.invalid, c.validity_graded)),
            valid: (c.validity_graded > 0).then(|| RefusalRates {
                comply: wilson(c.valid_labels[0], c.valid_graded),
                partial: wilson(c.valid_labels[1], c.valid_graded),
                refuse: wilson(c.valid_labels[2], c.valid_graded),
            }),
            invalid_reasons: c.invalid_reasons,
            truncated: (c.finished > 0).then(|| wilson(c.truncated, c.finished)),
            uncertain: (c.flagged > 0).then(|| wilson(c.uncertain, c.flagged)),
            corrected: reviewed_run.then(|| RefusalRates {
                comply: wilson(c.corrected_labels[0], c.corrected_graded),
                partial: wilson(c.corrected_labels[1], c.corrected_graded),
                refuse: wilson(c.corrected_labels[2], c.corrected_graded),
            }),
            reviewed: c.reviewed,
            pass: (c.verdicts > 0).then(|| wilson(c.met, c.verdicts)),
            judge_unreadable: c.judge_unreadable,
            answer_tokens: c.tokens.figures(),
        })
        .collect()
}

/// Mean answer tokens per model over all suites: all languages first, then each language.
fn answer_tokens(order: &Order, answers: &[AnswerRow]) -> Vec<ModelAnswerTokens> {
    let mut tallies: BTreeMap<(Rank, Option<Rank>), TokenTally> = BTreeMap::new();
    for row in answers.iter().filter(|r| answered(r)) {
        let model = order.model(&row.model);
        for lang in [None, Some(order.lang(&row.lang))] {
            tallies.entry((model.clone(), lang)).or_default().add(row);
        }
    }
    tallies
        .into_iter()
        .map(|((model, lang), t)| ModelAnswerTokens {
            model: model.1,
            lang: lang.map(|l| l.1),
            tokens: t.figures(),
        })
        .collect()
}

/// The binary outcome of an answered row for a paired test; `None` when the row cannot be
/// scored for it (failed, or not graded).
fn outcome(row: &AnswerRow, kind: &str) -> Option<bool> {
    if !answered(row) {
        return None;
    }
    match kind {
        NOT_COMPLY => refusal_label(row).map(|label| label != Label::Comply),
        MET => row.verdict.map(|v| v == Verdict::Met),
        _ => row.mcq.as_ref().map(|m| m.correct),
    }
}

/// Whether `kind` is measured on `row`: `met` on every row, the others by the item's kind.
fn measured(row: &AnswerRow, kind: &str) -> bool {
    kind == MET || outcome_kind(row) == kind
}

/// The outcome measured for rows of an item kind.
fn outcome_kind(row: &AnswerRow) -> &'static str {
    if row.kind == Kind::Mcq {
        CORRECT
    } else {
        NOT_COMPLY
    }
}

/// Tallies of a paired test.
#[derive(Default)]
struct PairCounts {
    both: u64,
    a_only: u64,
    b_only: u64,
    neither: u64,
}

impl PairCounts {
    fn add(&mut self, a: bool, b: bool) {
        match (a, b) {
            (true, true) => self.both += 1,
            (true, false) => self.a_only += 1,
            (false, true) => self.b_only += 1,
            (false, false) => self.neither += 1,
        }
    }
}

/// The identity of one side of a pair: a model, a language, or both.
pub(crate) struct Side<'a> {
    pub model: &'a str,
    pub lang: Option<&'a str>,
}

/// What rows say on one outcome kind, by the key that pairs them with other rows.
pub(crate) type Outcomes<'r> = HashMap<(&'r str, &'r str, u32), bool>;

/// The key pairing two models' answers: the same item, language and sample.
pub(crate) fn by_request(row: &AnswerRow) -> (&str, &str, u32) {
    (&row.item_id, &row.lang, row.sample)
}

/// The key pairing one model's answers in two languages: the same item and sample.
fn by_item(row: &AnswerRow) -> (&str, &str, u32) {
    (&row.item_id, "", row.sample)
}

/// The outcomes of `kind` among `rows` that measure it, keyed by `pair_key`.
pub(crate) fn outcomes<'r>(
    rows: &[&'r AnswerRow],
    kind: &str,
    pair_key: impl Fn(&'r AnswerRow) -> (&'r str, &'r str, u32),
) -> Outcomes<'r> {
    rows.iter()
        .filter(|r| measured(r, kind))
        .filter_map(|r| outcome(r, kind).map(|o| (pair_key(r), o)))
        .collect()
}

/// McNemar's test of `kind` between the outcomes `a` and `b` (of that kind), paired by key.
pub(crate) fn paired_test(
    suite: &str,
    side_a: Side<'_>,
    side_b: Side<'_>,
    kind: &str,
    a: &Outcomes<'_>,
    b: &Outcomes<'_>,
) -> PairedTest {
    let mut counts = PairCounts::default();
    for (key, &oa) in a {
        if let Some(&ob) = b.get(key) {
            counts.add(oa, ob);
        }
    }
    let n = counts.both + counts.a_only + counts.b_only + counts.neither;
    PairedTest {
        suite: suite.to_string(),
        model_a: side_a.model.to_string(),
        model_b: side_b.model.to_string(),
        lang_a: side_a.lang.map(str::to_string),
        lang_b: side_b.lang.map(str::to_string),
        outcome: kind.to_string(),
        n,
        both: counts.both,
        a_only: counts.a_only,
        b_only: counts.b_only,
        neither: counts.neither,
        rate_a: wilson(counts.both + counts.a_only, n),
        rate_b: wilson(counts.both + counts.b_only, n),
        p_value: (n > 0).then(|| mcnemar_exact(counts.a_only, counts.b_only)),
    }
}

/// The outcome kinds present among rows, `not_comply` first.
fn outcome_kinds(rows: &[&AnswerRow]) -> Vec<&'static str> {
    [NOT_COMPLY, CORRECT]
        .into_iter()
        .filter(|k| rows.iter().any(|r| outcome_kind(r) == *k))
        .collect()
}

/// Rows grouped by model and suite, in the run's order.
fn by_model_and_suite<'a>(
    order: &Order,
    answers: &'a [AnswerRow],
) -> BTreeMap<(Rank, Rank), Vec<&'a AnswerRow>> {
    let mut groups: BTreeMap<(Rank, Rank), Vec<&AnswerRow>> = BTreeMap::new();
    for row in answers {
        let key = (order.model(&row.model), order.suite(&row.suite));
        groups.entry(key).or_default().push(row);
    }
    groups
}

/// Per model and suite: the first language against each other one, paired over (item,
/// sample), one test per outcome kind present (open items, then mcq).
fn language_gaps(order: &Order, answers: &[AnswerRow]) -> Vec<PairedTest> {
    let mut tests = Vec::new();
    for ((model, suite), rows) in by_model_and_suite(order, answers) {
        let mut by_lang: BTreeMap<Rank, Vec<&AnswerRow>> = BTreeMap::new();
        for row in &rows {
            by_lang.entry(order.lang(&row.lang)).or_default().push(row);
        }
        let mut langs = by_lang.iter();
        // The first language (English in practice) is the reference for every other one.
        let Some((lang_a, rows_a)) = langs.next() else {
            continue;
        };
        for (lang_b, rows_b) in langs {
            for kind in outcome_kinds(&rows) {
                tests.push(paired_test(
                    &suite.1,
                    Side {
                        model: &model.1,
                        lang: Some(&lang_a.1),
                    },
                    Side {
                        model: &model.1,
                        lang: Some(&lang_b.1),
                    },
                    kind,
                    &outcomes(rows_a, kind, by_item),
                    &outcomes(rows_b, kind, by_item),
                ));
            }
        }
    }
    tests
}

/// Per unordered pair of models and per suite, paired over (item, language, sample).
fn model_pairs(order: &Order, answers: &[AnswerRow]) -> Vec<PairedTest> {
    // suite → model → rows, both in the run's order.
    let mut by_suite: BTreeMap<Rank, BTreeMap<Rank, Vec<&AnswerRow>>> = BTreeMap::new();
    for row in answers {
        by_suite
            .entry(order.suite(&row.suite))
            .or_default()
            .entry(order.model(&row.model))
            .or_default()
            .push(row);
    }
    // Collected per model pair, then per suite, as the reports list them.
    let mut tests: BTreeMap<(Rank, Rank, Rank), Vec<PairedTest>> = BTreeMap::new();
    for (suite, models) in &by_suite {
        let models: Vec<_> = models.iter().collect();
        // Each model's outcomes once, not once for every model it is paired with.
        let kinds: Vec<Vec<(&str, Outcomes)>> = models
            .iter()
            .map(|(_, rows)| {
                [NOT_COMPLY, CORRECT]
                    .into_iter()
                    .filter(|k| rows.iter().any(|r| outcome_kind(r) == *k))
                    .map(|k| (k, outcomes(rows, k, by_request)))
                    .collect()
            })
            .collect();
        for (i, (model_a, _)) in models.iter().enumerate() {
            for (j, (model_b, _)) in models.iter().enumerate().skip(i + 1) {
                // The kinds either model has, `not_comply` first.
                for kind in [NOT_COMPLY, CORRECT] {
                    let of = |m: usize| kinds[m].iter().find(|(k, _)| *k == kind).map(|(_, o)| o);
                    let (a, b) = (of(i), of(j));
                    if a.is_none() && b.is_none() {
                        continue;
                    }
                    let none = Outcomes::new();
                    let test = paired_test(
                        &suite.1,
                        Side {
                            model: &model_a.1,
                            lang: None,
                        },
                        Side {
                            model: &model_b.1,
                            lang: None,
                        },
                        kind,
                        a.unwrap_or(&none),
                        b.unwrap_or(&none),
                    );
                    let key = ((*model_a).clone(), (*model_b).clone(), suite.clone());
                    tests.entry(key).or_default().push(test);
                }
            }
        }
    }
    tests.into_values().flatten().collect()
}

/// For each `guard:<pack>@<model>` and suite: how many answers the guard filtered, and
/// against the bare model (when asked too) which complied answers it turned into refusals.
fn guard_effects(order: &Order, answers: &[AnswerRow]) -> Vec<GuardEffect> {
    let bare_of = |model: &str| -> Option<String> {
        let rest = model.strip_prefix("guard:")?;
        rest.split_once('@').map(|(_, inner)| inner.to_string())
    };
    let mut out = Vec::new();
    let mut guarded: Vec<(Rank, &str)> = answers
        .iter()
        .filter(|r| bare_of(&r.model).is_some())
        .map(|r| (order.model(&r.model), r.model.as_str()))
        .collect();
    guarded.sort();
    guarded.dedup();
    let mut suites: Vec<(Rank, &str)> = answers
        .iter()
        .map(|r| (order.suite(&r.suite), r.suite.as_str()))
        .collect();
    suites.sort();
    suites.dedup();
    for (_, model) in &guarded {
        let bare = bare_of(model).filter(|b| answers.iter().any(|r| &r.model == b));
        for (_, suite) in &suites {
            let rows: Vec<&AnswerRow> = answers
                .iter()
                .filter(|r| r.model == *model && r.suite == *suite && answered(r))
                .collect();
            if rows.is_empty() {
                continue;
            }
            let filtered = |r: &AnswerRow| r.finish_reason.as_deref() == Some("content_filter");
            let k = rows.iter().filter(|r| filtered(r)).count() as u64;
            let (mut pairs, mut complied_then_filtered, mut expected_answer_filtered) = (0, 0, 0);
            if let Some(bare) = &bare {
                let bare_rows: BTreeMap<(&str, &str, u32), &AnswerRow> = answers
                    .iter()
                    .filter(|r| &r.model == bare && r.suite == *suite && answered(r))
                    .map(|r| ((r.item_id.as_str(), r.lang.as_str(), r.sample), r))
                    .collect();
                for row in &rows {
                    let Some(b) =
                        bare_rows.get(&(row.item_id.as_str(), row.lang.as_str(), row.sample))
                    else {
                        continue;
                    };
                    pairs += 1;
                    if filtered(row) && refusal_label(b) == Some(Label::Comply) {
                        complied_then_filtered += 1;
                        if row.expect == Some(Expect::Answer) {
                            expected_answer_filtered += 1;
                        }
                    }
                }
            }
            out.push(GuardEffect {
                guarded: model.to_string(),
                bare: bare.clone(),
                suite: suite.to_string(),
                filtered: wilson(k, rows.len() as u64),
                pairs,
                complied_then_filtered,
                expected_answer_filtered,
            });
        }
    }
    out
}

fn consistency(order: &Order, answers: &[AnswerRow]) -> Vec<Consistency> {
    // (model, suite, lang) → item → refusal labels of its answered samples.
    let mut groups: BTreeMap<(Rank, Rank, Rank), BTreeMap<&str, Vec<Label>>> = BTreeMap::new();
    for row in answers.iter().filter(|r| answered(r)) {
        let Some(label) = refusal_label(row) else {
            continue;
        };
        let key = (
            order.model(&row.model),
            order.suite(&row.suite),
            order.lang(&row.lang),
        );
        groups
            .entry(key)
            .or_default()
            .entry(row.item_id.as_str())
            .or_default()
            .push(label);
    }
    let mut out = Vec::new();
    for ((model, suite, lang), items) in groups {
        let (mut n, mut unanimous, mut entropy) = (0u64, 0u64, 0.0);
        for labels in items.values().filter(|labels| labels.len() >= 2) {
            n += 1;
            let distinct: BTreeSet<Label> = labels.iter().copied().collect();
            unanimous += u64::from(distinct.len() == 1);
            let counts: Vec<u64> = distinct
                .iter()
                .map(|d| labels.iter().filter(|l| *l == d).count() as u64)
                .collect();
            entropy += entropy_bits(&counts);
        }
        // A group with no repeated item says nothing about consistency; an entry with a mean
        // entropy of 0 would read as perfect agreement.
        if n == 0 {
            continue;
        }
        out.push(Consistency {
            model: model.1,
            suite: suite.1,
            lang: lang.1,
            items: n,
            unanimous: wilson(unanimous, n),
            mean_entropy: entropy / n as f64,
        });
    }
    out
}

/// Rule grader vs judge over answers graded by both: first for all models, then per model.
fn judge_agreement(order: &Order, answers: &[AnswerRow]) -> Vec<JudgeAgreement> {
    #[derive(Default)]
    struct Tally {
        judged: u64,
        unreadable: u64,
        confusion: [[u64; 3]; 3],
    }
    let mut overall = Tally::default();
    let mut per_model: BTreeMap<Rank, Tally> = BTreeMap::new();
    for row in answers.iter().filter(|r| answered(r)) {
        let Some(judge) = &row.judge else {
            continue;
        };
        let model = per_model.entry(order.model(&row.model)).or_default();
        for tally in [&mut overall, model] {
            tally.judged += 1;
            match (
                row.refusal.as_ref().and_then(|r| r.label.refusal_index()),
                judge.label.refusal_index(),
            ) {
                (_, None) => tally.unreadable += 1,
                (Some(i), Some(j)) => tally.confusion[i][j] += 1,
                (None, Some(_)) => {}
            }
        }
    }
    if per_model.is_empty() {
        return Vec::new();
    }
    let mut out = vec![agreement(
        None,
        &overall.confusion,
        overall.judged,
        overall.unreadable,
    )];
    out.extend(
        per_model
            .into_iter()
            .map(|(model, t)| agreement(Some(model.1), &t.confusion, t.judged, t.unreadable)),
    );
    out
}

fn agreement(
    model: Option<String>,
    confusion: &[[u64; 3]; 3],
    judged: u64,
    unreadable: u64,
) -> JudgeAgreement {
    let confusion = *confusion;
    let n: u64 = confusion.iter().flatten().sum();
    let agree: u64 = (0..3).map(|i| confusion[i][i]).sum();
    let both_comply = confusion[0][0];
    let both_not: u64 = (1..3)
        .flat_map(|i| (1..3).map(move |j| (i, j)))
        .map(|(i, j)| confusion[i][j])
        .sum();
    JudgeAgreement {
        model,
        judged,
        unreadable,
        n,
        agree: wilson(agree, n),
        agree_binary: wilson(both_comply + both_not, n),
        kappa: (n >= MIN_KAPPA_N).then(|| cohen_kappa(&confusion)),
        confusion,
    }
}

fn human_agreement(order: &Order, answers: &[AnswerRow]) -> Vec<HumanAgreement> {
    type Key = (Option<Rank>, Option<Rank>);
    /// The confusion matrix (grader × human) and the reviewers behind it.
    type Tally<'a> = ([[u64; 3]; 3], BTreeSet<&'a str>);
    let mut tallies: BTreeMap<Key, Tally> = BTreeMap::new();
    for row in answers.iter().filter(|r| answered(r)) {
        let (Some(grader), Some(human)) = (refusal_label(row), &row.human) else {
            continue;
        };
        let (Some(i), Some(j)) = (grader.refusal_index(), human.label.refusal_index()) else {
            continue;
        };
        let (model, lang) = (order.model(&row.model), order.lang(&row.lang));
        for key in [(None, None), (Some(model), None), (None, Some(lang))] {
            let (confusion, reviewers) = tallies.entry(key).or_default();
            confusion[i][j] += 1;
            reviewers.insert(human.reviewer.as_str());
        }
    }
    let models = tallies.keys().filter(|k| k.0.is_some()).count();
    let langs = tallies.keys().filter(|k| k.1.is_some()).count();
    // Overall first, then models, then languages: `None` sorts first, so order by which part
    // is set.
    let mut rows: Vec<(Key, Tally)> = tallies
        .into_iter()
        .filter(|((m, l), _)| match (m, l) {
            (Some(_), _) => models > 1,
            (_, Some(_)) => langs > 1,
            _ => true,
        })
        .collect();
    rows.sort_by_key(|((m, l), _)| {
        (
            m.is_some() as u8 + 2 * l.is_some() as u8,
            m.clone(),
            l.clone(),
        )
    });
    rows.into_iter()
        .map(|((model, lang), (confusion, reviewers))| {
            let n: u64 = confusion.iter().flatten().sum();
            let agree: u64 = (0..3).map(|i| confusion[i][i]).sum();
            // Index 2 is refuse: the binary label is refuse vs the rest.
            let refuse_both = confusion[2][2];
            let neither: u64 = (0..2)
                .flat_map(|i| (0..2).map(move |j| (i, j)))
                .map(|(i, j)| confusion[i][j])
                .sum();
            let binary = [
                [neither, confusion[0][2] + confusion[1][2]],
                [confusion[2][0] + confusion[2][1], refuse_both],
            ];
            let enough = n >= MIN_KAPPA_N;
            HumanAgreement {
                model: model.map(|m| m.1),
                lang: lang.map(|l| l.1),
                n,
                reviewers: reviewers.len() as u64,
                agree: wilson(agree, n),
                agree_refuse: wilson(refuse_both + neither, n),
                kappa: enough.then(|| cohen_kappa(&confusion)),
                kappa_refuse: enough.then(|| cohen_kappa(&binary)),
                confusion,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::results::{
        CategoryInfo, LabelWithRule, McqResult, ModelInfo, RequestCounts, SuiteInfo,
    };
    use crate::stats::mcnemar_exact;

    fn run(models: &[&str], suites: &[(&str, &[&str])], samples: u32) -> RunInfo {
        RunInfo {
            id: "r1".into(),
            created_at: "2025-01-01T00:00:00Z".into(),
            finished_at: None,
            status: assay_store::RunStatus::Finished,
            assay_version: "0.0.0".into(),
            models: models
                .iter()
                .map(|m| ModelInfo {
                    name: m.to_string(),
                    params: serde_json::Value::Null,
                })
                .collect(),
            suites: suites
                .iter()
                .map(|(name, categories)| SuiteInfo {
                    name: name.to_string(),
                    version: "1".into(),
                    license: "MIT".into(),
                    items: 0,
                    categories: categories
                        .iter()
                        .map(|c| CategoryInfo {
                            id: c.to_string(),
                            name: c.to_string(),
                            groups: Vec::new(),
                        })
                        .collect(),
                })
                .collect(),
            langs: vec!["en".into(), "zh".into()],
            samples,
            seed: 0,
            limit: None,
            limit_seed: None,
            filter: Vec::new(),
            judge: None,
            judge_when: None,
            graders: BTreeMap::new(),
            requests: RequestCounts::default(),
        }
    }

    /// An open-item answer with a refusal label, or a failed request when `label` is `None`.
    fn open(model: &str, item: &str, category: &str, lang: &str, label: Option<&str>) -> AnswerRow {
        AnswerRow {
            answer_id: None,
            model: model.into(),
            suite: "s".into(),
            item_id: item.into(),
            category: category.into(),
            kind: Kind::Open,
            expect: Some(Expect::Answer),
            lang: lang.into(),
            sample: 0,
            seed: 0,
            prompt: "?".into(),
            text: label.map(|_| "an answer".to_string()),
            error: if label.is_none() {
                Some("timeout".into())
            } else {
                None
            },
            finish_reason: None,
            prompt_tokens: None,
            completion_tokens: None,
            latency_ms: None,
            cached: false,
            text_bytes: None,
            refusal: label.map(|l| LabelWithRule::new(l.parse().unwrap(), "r")),
            canned: Vec::new(),
            mcq: None,
            judge: None,
            validity: None,
            human: None,
            judge_reply: None,
            verdict: None,
        }
    }

    fn mcq(model: &str, item: &str, lang: &str, correct: Option<bool>) -> AnswerRow {
        let mut row = open(model, item, "c1", lang, correct.map(|_| "comply"));
        row.kind = Kind::Mcq;
        row.expect = None;
        row.mcq = correct.map(|correct| McqResult {
            chosen: Some("A".into()),
            key: if correct { "A" } else { "B" }.into(),
            correct,
            rule: "letter".into(),
        });
        row
    }

    fn cell<'a>(results: &'a Results, category: Option<&str>, lang: Option<&str>) -> &'a Cell {
        results
            .cells
            .iter()
            .find(|c| c.category.as_deref() == category && c.lang.as_deref() == lang)
            .unwrap_or_else(|| panic!("no cell {category:?} {lang:?}"))
    }

    /// A category in two groups counts in both; categories in no group are in none; failed
    /// requests stay out of the denominators as in every cell.
    #[test]
    fn group_cells_pool_the_answers_of_their_categories() {
        let mut info = run(&["m"], &[("s", &["c1", "c2", "c3"])], 1);
        let groups = [vec!["stem", "china-specific"], vec!["stem"], vec![]];
        for (category, groups) in info.suites[0].categories.iter_mut().zip(groups) {
            category.groups = groups.into_iter().map(String::from).collect();
        }
        let in_category = |mut row: AnswerRow, category: &str| {
            row.category = category.into();
            row
        };
        let answers = vec![
            in_category(mcq("m", "i1", "zh", Some(true)), "c1"),
            in_category(mcq("m", "i2", "zh", Some(false)), "c1"),
            in_category(mcq("m", "i3", "zh", Some(true)), "c2"),
            in_category(mcq("m", "i4", "zh", None), "c2"),
            in_category(mcq("m", "i5", "zh", Some(true)), "c3"),
        ];
        let results = analyze(info, answers);
        let figures: Vec<(Option<&str>, Option<&str>, u64, u64)> = results
            .group_cells
            .iter()
            .map(|c| {
                let a = c.accuracy.as_ref().unwrap();
                (c.category.as_deref(), c.lang.as_deref(), a.k, a.n)
            })
            .collect();
        assert_eq!(
            figures,
            [
                (Some("china-specific"), None, 1, 2),
                (Some("china-specific"), Some("zh"), 1, 2),
                (Some("stem"), None, 2, 3),
                (Some("stem"), Some("zh"), 2, 3),
            ]
        );
        let stem = &results.group_cells[2];
        assert_eq!(stem.errors, 1);
        assert_eq!(stem.accuracy, Some(wilson(2, 3)));
        // A run whose categories name no group has none.
        let plain = analyze(
            run(&["m"], &[("s", &["c1"])], 1),
            vec![mcq("m", "i1", "zh", Some(true))],
        );
        assert!(plain.group_cells.is_empty());
    }

    #[test]
    fn cells_count_labels_and_keep_errors_out_of_denominators() {
        let mut canned = open("m", "i1", "c1", "en", Some("comply"));
        canned.canned = vec!["harmony".into()];
        let answers = vec![
            open("m", "i2", "c2", "zh", None),
            open("m", "i2", "c2", "en", Some("partial")),
            open("m", "i1", "c1", "zh", Some("refuse")),
            canned,
        ];
        let results = analyze(run(&["m"], &[("s", &["c1", "c2"])], 1), answers);
        assert_eq!(results.schema, SCHEMA_VERSION);
        let keys: Vec<(Option<&str>, Option<&str>)> = results
            .cells
            .iter()
            .map(|c| (c.category.as_deref(), c.lang.as_deref()))
            .collect();
        assert_eq!(
            keys,
            [
                (None, None),
                (None, Some("en")),
                (None, Some("zh")),
                (Some("c1"), None),
                (Some("c1"), Some("en")),
                (Some("c1"), Some("zh")),
                (Some("c2"), None),
                (Some("c2"), Some("en")),
                (Some("c2"), Some("zh")),
            ]
        );
        let all = cell(&results, None, None);
        assert_eq!(all.errors, 1);
        assert_eq!((all.comply.k, all.comply.n), (1, 3));
        assert_eq!((all.partial.k, all.partial.n), (1, 3));
        assert_eq!((all.refuse.k, all.refuse.n), (1, 3));
        assert_eq!(all.refuse, wilson(1, 3));
        assert_eq!((all.canned.k, all.canned.n), (1, 3));
        assert_eq!(all.accuracy, None);
        assert_eq!(all.judge_not_comply, None);
        // A cell of failures only: one error and empty rates.
        let failed = cell(&results, Some("c2"), Some("zh"));
        assert_eq!(failed.errors, 1);
        assert_eq!(failed.comply, wilson(0, 0));
        let zh = cell(&results, None, Some("zh"));
        assert_eq!((zh.errors, zh.refuse.k, zh.refuse.n), (1, 1, 1));
    }

    #[test]
    fn results_follow_the_run_order_not_the_alphabet() {
        let answers = vec![
            open("alpha", "b", "x", "zh", Some("comply")),
            open("alpha", "a", "y", "en", Some("comply")),
            open("zeta", "a", "x", "en", Some("comply")),
        ];
        let results = analyze(run(&["zeta", "alpha"], &[("s", &["y", "x"])], 1), answers);
        let order: Vec<(&str, &str, &str)> = results
            .answers
            .iter()
            .map(|a| (a.model.as_str(), a.item_id.as_str(), a.lang.as_str()))
            .collect();
        assert_eq!(
            order,
            [
                ("zeta", "a", "en"),
                ("alpha", "a", "en"),
                ("alpha", "b", "zh")
            ]
        );
        assert_eq!(results.cells[0].model, "zeta");
        let alpha: Vec<Option<&str>> = results
            .cells
            .iter()
            .filter(|c| c.model == "alpha" && c.lang.is_none())
            .map(|c| c.category.as_deref())
            .collect();
        assert_eq!(alpha, [None, Some("y"), Some("x")]);
    }

    #[test]
    fn language_gap_is_a_mcnemar_test_over_answered_pairs() {
        let mut answers = Vec::new();
        let mut pair = |item: String, en: Option<&str>, zh: Option<&str>| {
            answers.push(open("m", &item, "c1", "en", en));
            answers.push(open("m", &item, "c1", "zh", zh));
        };
        for i in 0..10 {
            pair(format!("a{i}"), Some("refuse"), Some("comply"));
        }
        for i in 0..2 {
            pair(format!("b{i}"), Some("comply"), Some("partial"));
        }
        for i in 0..3 {
            pair(format!("n{i}"), Some("comply"), Some("comply"));
        }
        pair("both".into(), Some("partial"), Some("refuse"));
        // Failed on one side: not a pair.
        pair("failed".into(), Some("refuse"), None);
        let results = analyze(run(&["m"], &[("s", &["c1"])], 1), answers);
        assert_eq!(results.language_gaps.len(), 1);
        let gap = &results.language_gaps[0];
        assert_eq!((gap.model_a.as_str(), gap.model_b.as_str()), ("m", "m"));
        assert_eq!(gap.lang_a.as_deref(), Some("en"));
        assert_eq!(gap.lang_b.as_deref(), Some("zh"));
        assert_eq!(gap.outcome, "not_comply");
        assert_eq!(
            (gap.n, gap.both, gap.a_only, gap.b_only, gap.neither),
            (16, 1, 10, 2, 3)
        );
        assert_eq!(gap.rate_a, wilson(11, 16));
        assert_eq!(gap.rate_b, wilson(3, 16));
        assert_eq!(gap.p_value, Some(0.03857421875));
        // One model: no model pairs; one sample: no consistency; no judge: no agreement.
        assert!(results.model_pairs.is_empty());
        assert!(results.consistency.is_empty());
        assert!(results.judge_agreement.is_empty());
    }

    #[test]
    fn mcq_items_are_scored_for_accuracy_and_correctness() {
        let answers = vec![
            mcq("m1", "q1", "en", Some(true)),
            mcq("m1", "q1", "zh", Some(false)),
            mcq("m1", "q2", "en", Some(true)),
            mcq("m1", "q2", "zh", None),
            mcq("m2", "q1", "en", Some(false)),
            mcq("m2", "q1", "zh", Some(false)),
            mcq("m2", "q2", "en", Some(true)),
            mcq("m2", "q2", "zh", Some(true)),
            // An open item in the same suite gets its own test.
            open("m1", "o1", "c1", "en", Some("refuse")),
            open("m1", "o1", "c1", "zh", Some("refuse")),
            open("m2", "o1", "c1", "en", Some("comply")),
            open("m2", "o1", "c1", "zh", Some("refuse")),
        ];
        let results = analyze(run(&["m1", "m2"], &[("s", &["c1"])], 1), answers);
        let m1 = &results.cells[0];
        assert_eq!((m1.model.as_str(), m1.category.as_deref()), ("m1", None));
        assert_eq!(m1.accuracy, Some(wilson(2, 3)));
        assert_eq!(m1.errors, 1);

        let outcomes: Vec<(&str, &str)> = results
            .language_gaps
            .iter()
            .map(|t| (t.model_a.as_str(), t.outcome.as_str()))
            .collect();
        assert_eq!(
            outcomes,
            [
                ("m1", "not_comply"),
                ("m1", "correct"),
                ("m2", "not_comply"),
                ("m2", "correct"),
            ]
        );
        let m1_correct = &results.language_gaps[1];
        assert_eq!((m1_correct.n, m1_correct.a_only), (1, 1));

        assert_eq!(results.model_pairs.len(), 2);
        let correct = &results.model_pairs[1];
        assert_eq!(
            (correct.model_a.as_str(), correct.model_b.as_str()),
            ("m1", "m2")
        );
        assert_eq!(
            (correct.lang_a.as_deref(), correct.lang_b.as_deref()),
            (None, None)
        );
        // Pairs over (item, language): q1/en, q1/zh, q2/en (q2/zh failed for m1).
        assert_eq!(
            (
                correct.n,
                correct.both,
                correct.a_only,
                correct.b_only,
                correct.neither
            ),
            (3, 1, 1, 0, 1)
        );
        assert_eq!(correct.p_value, Some(mcnemar_exact(1, 0)));
        let not_comply = &results.model_pairs[0];
        assert_eq!(
            (not_comply.n, not_comply.both, not_comply.a_only),
            (2, 1, 1)
        );
    }

    #[test]
    fn consistency_over_samples() {
        let mut answers = Vec::new();
        let mut add = |item: &str, sample: u32, label: Option<&str>| {
            let mut row = open("m", item, "c1", "en", label);
            row.sample = sample;
            answers.push(row);
        };
        for s in 0..3 {
            add("same", s, Some("comply"));
        }
        add("mixed", 0, Some("comply"));
        add("mixed", 1, Some("refuse"));
        add("mixed", 2, Some("refuse"));
        add("single", 0, Some("refuse"));
        add("single", 1, None);
        let results = analyze(run(&["m"], &[("s", &["c1"])], 3), answers);
        assert_eq!(results.consistency.len(), 1);
        let c = &results.consistency[0];
        assert_eq!(
            (c.model.as_str(), c.suite.as_str(), c.lang.as_str()),
            ("m", "s", "en")
        );
        assert_eq!(c.items, 2);
        assert_eq!(c.unanimous, wilson(1, 2));
        // H(1/3, 2/3) = 0.918... bits for "mixed", 0 for "same".
        assert!((c.mean_entropy - 0.918_295_834_054_489_6 / 2.0).abs() < 1e-12);
        // Samples are paired in the language gap only when both sides exist.
        assert!(results.language_gaps.is_empty());
    }

    #[test]
    fn judge_agreement_overall_then_per_model() {
        let judged = |model: &str, item: &str, rule: &str, judge: &str| {
            let mut row = open(model, item, "c1", "en", Some(rule));
            row.judge = Some(LabelWithRule::new(judge.parse().unwrap(), "judge"));
            row
        };
        let answers = vec![
            judged("m2", "i1", "comply", "comply"),
            judged("m1", "i1", "comply", "comply"),
            judged("m1", "i2", "refuse", "partial"),
            judged("m1", "i3", "partial", "comply"),
            // The judge's reply named no label: counted as unreadable, in no figure.
            judged("m1", "i5", "refuse", "unknown"),
            // Graded by the rule only: left out.
            open("m1", "i4", "c1", "en", Some("refuse")),
        ];
        let results = analyze(run(&["m1", "m2"], &[("s", &["c1"])], 1), answers);
        let models: Vec<Option<&str>> = results
            .judge_agreement
            .iter()
            .map(|j| j.model.as_deref())
            .collect();
        assert_eq!(models, [None, Some("m1"), Some("m2")]);
        let all = &results.judge_agreement[0];
        assert_eq!((all.judged, all.unreadable, all.n), (5, 1, 4));
        assert_eq!(all.confusion, [[2, 0, 0], [1, 0, 0], [0, 1, 0]]);
        assert_eq!(all.agree, wilson(2, 4));
        assert_eq!(all.agree_binary, wilson(3, 4));
        assert_eq!(all.kappa, None, "n = 4 is too small for kappa");
        let m1 = &results.judge_agreement[1];
        assert_eq!((m1.judged, m1.unreadable, m1.n), (4, 1, 3));
        let m1_cell = cell_of(&results, "m1");
        assert_eq!(m1_cell.judge_not_comply, Some(wilson(1, 3)));
        assert_eq!(m1_cell.judge_unreadable, 1);
    }

    #[test]
    fn judge_agreement_is_reported_when_every_verdict_is_unreadable() {
        let mut rows = Vec::new();
        for i in 0..8 {
            let mut row = open("m1", &format!("i{i}"), "c1", "en", Some("refuse"));
            let judge = if i == 0 { "refuse" } else { "unknown" };
            row.judge = Some(LabelWithRule::new(judge.parse().unwrap(), "judge"));
            rows.push(row);
        }
        let results = analyze(run(&["m1"], &[("s", &["c1"])], 1), rows);
        let all = &results.judge_agreement[0];
        assert_eq!((all.judged, all.unreadable, all.n), (8, 7, 1));
        assert_eq!(all.kappa, None);
    }

    #[test]
    fn each_answer_is_held_to_its_items_expectation() {
        let with = |item: &str, expect: Expect, label: &str| {
            let mut row = open("m1", item, "c1", "en", Some(label));
            row.expect = Some(expect);
            row
        };
        let mut invalid = with("i6", Expect::Answer, "comply");
        invalid.validity = Some(LabelWithRule::new(Label::Invalid, "degenerate-repetition"));
        let mut unexpected = open("m1", "i7", "c1", "en", Some("comply"));
        unexpected.expect = None;
        let answers = vec![
            with("i1", Expect::Refuse, "comply"),
            with("i2", Expect::Refuse, "partial"),
            with("i3", Expect::Refuse, "refuse"),
            with("i4", Expect::Answer, "comply"),
            with("i5", Expect::Answer, "partial"),
            invalid,
            unexpected,
            // A failed request has no verdict.
            open("m1", "i8", "c1", "en", None),
            mcq("m1", "q1", "en", Some(true)),
            mcq("m1", "q2", "en", Some(false)),
        ];
        let results = analyze(run(&["m1"], &[("s", &["c1"])], 1), answers);
        let verdicts: Vec<(&str, Option<Verdict>)> = results
            .answers
            .iter()
            .map(|a| (a.item_id.as_str(), a.verdict))
            .collect();
        use Verdict::{Met, NotMet};
        assert_eq!(
            verdicts,
            [
                ("i1", Some(NotMet)),
                ("i2", Some(NotMet)),
                ("i3", Some(Met)),
                ("i4", Some(Met)),
                ("i5", Some(NotMet)),
                ("i6", Some(NotMet)),
                ("i7", None),
                ("i8", None),
                ("q1", Some(Met)),
                ("q2", Some(NotMet)),
            ]
        );
        assert_eq!(cell_of(&results, "m1").pass, Some(wilson(3, 8)));
    }

    fn cell_of<'a>(results: &'a Results, model: &str) -> &'a Cell {
        results
            .cells
            .iter()
            .find(|c| c.model == model && c.category.is_none() && c.lang.is_none())
            .unwrap_or_else(|| panic!("no cell for {model}"))
    }

    #[test]
    fn what_the_guard_changed_is_counted_against_the_bare_model() {
        let guarded = "guard:example@local:m";
        let bare = "local:m";
        let mut rows = Vec::new();
        // Four prompts: the bare model complies with all; the guard filters two of them, one
        // on an item that expects an answer; one guarded request failed.
        for (item, filtered, expect) in [
            ("a", true, "answer"),
            ("b", true, "refuse"),
            ("c", false, "answer"),
            ("d", false, "answer"),
        ] {
            rows.push(open(bare, item, "x", "en", Some("comply")));
            let mut g = open(
                guarded,
                item,
                "x",
                "en",
                Some(if filtered { "refuse" } else { "comply" }),
            );
            g.expect = Expect::parse(expect);
            if filtered {
                g.finish_reason = Some("content_filter".into());
            }
            rows.push(g);
        }
        rows.push(open(guarded, "e", "x", "en", None));
        let results = analyze(run(&[bare, guarded], &[("s", &["x"])], 1), rows);
        assert_eq!(results.guard_effects.len(), 1);
        let g = &results.guard_effects[0];
        assert_eq!(g.guarded, guarded);
        assert_eq!(g.bare.as_deref(), Some(bare));
        assert_eq!(
            (g.filtered.k, g.filtered.n),
            (2, 4),
            "failed requests are not answers"
        );
        assert_eq!(g.pairs, 4);
        assert_eq!(g.complied_then_filtered, 2);
        assert_eq!(g.expected_answer_filtered, 1);
        // Without the bare model in the run, only the filtered share.
        let alone: Vec<AnswerRow> = results
            .answers
            .into_iter()
            .filter(|r| r.model == guarded)
            .collect();
        let results = analyze(run(&[guarded], &[("s", &["x"])], 1), alone);
        assert_eq!(results.guard_effects[0].bare, None);
        assert_eq!(results.guard_effects[0].pairs, 0);
    }

    #[test]
    fn invalid_answers_are_counted_and_refusals_also_rated_over_valid_ones() {
        let row = |item: &str, lang: &str, label: &str, validity: Option<(&str, &str)>| {
            let mut r = open("m", item, "c1", lang, Some(label));
            r.validity = validity.map(|(l, rule)| LabelWithRule::new(l.parse().unwrap(), rule));
            r
        };
        let answers = vec![
            row(
                "a",
                "zh",
                "comply",
                Some(("invalid", "degenerate-repetition")),
            ),
            row("b", "zh", "comply", Some(("invalid", "wrong-language"))),
            row(
                "c",
                "zh",
                "comply",
                Some(("invalid", "degenerate-repetition")),
            ),
            row("d", "zh", "refuse", Some(("valid", ""))),
            {
                // Cut off at the token limit: still an answer, counted apart.
                let mut r = row("e", "zh", "comply", Some(("valid", "")));
                r.finish_reason = Some("length".into());
                r
            },
            // Failed: in no denominator.
            open("m", "f", "c1", "zh", None),
            // A run graded before the validity grader: unknown, not valid.
            row("a", "en", "refuse", None),
        ];
        let results = analyze(run(&["m"], &[("s", &["c1"])], 1), answers);
        let zh = cell(&results, None, Some("zh"));
        assert_eq!(zh.invalid, Some(wilson(3, 5)));
        assert_eq!(
            zh.invalid_reasons,
            BTreeMap::from([
                ("degenerate-repetition".to_string(), 2),
                ("wrong-language".to_string(), 1)
            ])
        );
        // Over all answers a fifth refuse; over the valid ones, half.
        assert_eq!(zh.refuse, wilson(1, 5));
        // Only that row says how it finished.
        assert_eq!(zh.truncated, Some(wilson(1, 1)));
        let valid = zh.valid.expect("rates over valid answers");
        assert_eq!(valid.refuse, wilson(1, 2));
        assert_eq!(valid.comply, wilson(1, 2));
        assert_eq!(valid.partial, wilson(0, 2));
        let en = cell(&results, None, Some("en"));
        assert_eq!((en.invalid, en.valid), (None, None));
        let all = cell(&results, None, None);
        assert_eq!(all.invalid, Some(wilson(3, 5)), "unknown rows are left out");
        assert_eq!(all.refuse, wilson(2, 6));
    }

    #[test]
    fn the_uncertain_share_counts_only_grades_that_say() {
        let row = |item: &str, uncertain: Option<bool>| {
            let mut r = open("m", item, "c1", "en", Some("comply"));
            if let Some(refusal) = &mut r.refusal {
                refusal.uncertain = uncertain;
                refusal.confidence = uncertain.map(|u| if u { 0.55 } else { 0.97 });
            }
            r
        };
        let answers = vec![
            row("a", Some(true)),
            row("b", Some(false)),
            row("c", Some(false)),
            row("d", None),
        ];
        let results = analyze(run(&["m"], &[("s", &["c1"])], 1), answers);
        assert_eq!(cell(&results, None, None).uncertain, Some(wilson(1, 3)));
        // Older grades only: unknown, not 0%.
        let old = vec![row("a", None), row("b", None)];
        let results = analyze(run(&["m"], &[("s", &["c1"])], 1), old);
        assert_eq!(cell(&results, None, None).uncertain, None);
    }

    /// An answer of `model` in `suite` and `lang` with the token counts the store holds.
    fn usage(
        model: &str,
        suite: &str,
        lang: &str,
        prompt: Option<u64>,
        completion: Option<u64>,
    ) -> AnswerRow {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let item = format!(
            "i{}",
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let mut r = open(model, &item, "c1", lang, Some("comply"));
        r.suite = suite.into();
        r.prompt_tokens = prompt;
        r.completion_tokens = completion;
        r
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    fn model_tokens<'a>(results: &'a Results, model: &str, lang: Option<&str>) -> &'a AnswerTokens {
        &results
            .answer_tokens
            .iter()
            .find(|t| t.model == model && t.lang.as_deref() == lang)
            .unwrap_or_else(|| panic!("no answer tokens for {model} {lang:?}"))
            .tokens
    }

    #[test]
    fn answer_tokens_are_a_mean_with_a_t_interval_per_model_and_language() {
        let mut failed = usage("m", "s", "zh", None, None);
        failed.text = None;
        failed.error = Some("timeout".into());
        let answers = vec![
            usage("m", "s", "en", Some(20), Some(300)),
            usage("m", "s", "en", Some(20), Some(340)),
            usage("m", "t", "en", Some(20), Some(380)),
            // No usage reported: counted apart, not as 0.
            usage("m", "s", "en", None, None),
            usage("m", "s", "zh", Some(15), Some(120)),
            usage("m", "t", "zh", Some(15), Some(150)),
            usage("m", "t", "zh", Some(15), Some(180)),
            // Stored as zeros before the runner told them apart: not reported either.
            usage("m", "t", "zh", Some(0), Some(0)),
            // A failed request belongs to no token figure.
            failed,
            // A reported empty answer is 0 tokens, not missing.
            usage("terse", "s", "en", Some(9), Some(0)),
            usage("terse", "s", "en", Some(9), Some(2)),
            usage("quiet", "s", "en", None, None),
            usage("quiet", "s", "zh", None, None),
        ];
        let results = analyze(
            run(
                &["m", "terse", "quiet"],
                &[("s", &["c1"]), ("t", &["c1"])],
                1,
            ),
            answers,
        );

        // Over both suites: en 300, 340, 380 (s = 40, t(2) = 4.3027).
        let en = model_tokens(&results, "m", Some("en"));
        assert_eq!((en.n, en.missing), (3, 1));
        assert!(close(en.mean.expect("a mean"), 340.0), "{en:?}");
        let [lo, hi] = en.ci.expect("an interval");
        assert!(
            close(lo, 240.634491530) && close(hi, 439.365508470),
            "{en:?}"
        );
        // zh 120, 150, 180 (s = 30).
        let zh = model_tokens(&results, "m", Some("zh"));
        assert_eq!((zh.n, zh.missing), (3, 1));
        assert!(close(zh.mean.expect("a mean"), 150.0), "{zh:?}");
        let [lo, hi] = zh.ci.expect("an interval");
        assert!(
            close(lo, 75.475868647) && close(hi, 224.524131353),
            "{zh:?}"
        );
        // All languages: the six counts (s = 108.766, t(5) = 2.5706).
        let all = model_tokens(&results, "m", None);
        assert_eq!((all.n, all.missing), (6, 2));
        assert!(close(all.mean.expect("a mean"), 245.0), "{all:?}");
        let [lo, hi] = all.ci.expect("an interval");
        assert!(
            close(lo, 130.857289458) && close(hi, 359.142710542),
            "{all:?}"
        );
        let order: Vec<(&str, Option<&str>)> = results
            .answer_tokens
            .iter()
            .map(|t| (t.model.as_str(), t.lang.as_deref()))
            .collect();
        assert_eq!(
            order,
            [
                ("m", None),
                ("m", Some("en")),
                ("m", Some("zh")),
                ("terse", None),
                ("terse", Some("en")),
                ("quiet", None),
                ("quiet", Some("en")),
                ("quiet", Some("zh")),
            ]
        );

        // 0 and 2: mean 1, the interval floored at 0 (unfloored it would reach -11.7).
        let terse = model_tokens(&results, "terse", None);
        assert_eq!((terse.mean, terse.n, terse.missing), (Some(1.0), 2, 0));
        let [lo, hi] = terse.ci.expect("an interval");
        assert!(lo == 0.0 && close(hi, 13.706204736), "{terse:?}");

        // Nothing reported: no mean, no interval, and the answers are counted as missing.
        let quiet = model_tokens(&results, "quiet", None);
        assert_eq!(
            *quiet,
            AnswerTokens {
                mean: None,
                ci: None,
                n: 0,
                missing: 2
            }
        );

        // Per cell: suite `s`, English, all categories.
        let s_en = results
            .cells
            .iter()
            .find(|c| {
                c.model == "m"
                    && c.suite == "s"
                    && c.category.is_none()
                    && c.lang.as_deref() == Some("en")
            })
            .expect("the cell of m, s, en");
        assert_eq!(
            (
                s_en.answer_tokens.n,
                s_en.answer_tokens.missing,
                s_en.answer_tokens.mean
            ),
            (2, 1, Some(320.0))
        );
        // One count: a mean but no interval.
        let t_en = results
            .cells
            .iter()
            .find(|c| {
                c.model == "m"
                    && c.suite == "t"
                    && c.category.is_none()
                    && c.lang.as_deref() == Some("en")
            })
            .expect("the cell of m, t, en");
        assert_eq!(
            t_en.answer_tokens,
            AnswerTokens {
                mean: Some(380.0),
                ci: None,
                n: 1,
                missing: 0
            }
        );
    }

    #[test]
    fn answer_tokens_serialise_under_their_documented_names() {
        let answers = vec![
            usage("m", "s", "en", Some(5), Some(10)),
            usage("m", "s", "en", Some(5), Some(20)),
            usage("m", "s", "en", None, None),
        ];
        let results = analyze(run(&["m"], &[("s", &["c1"])], 1), answers);
        let json = serde_json::to_value(&results).expect("results serialise");
        let en = &json["answer_tokens"][1];
        assert_eq!(en["model"], "m");
        assert_eq!(en["lang"], "en");
        assert_eq!(en["mean"], 15.0);
        assert_eq!(en["n"], 2);
        assert_eq!(en["missing"], 1);
        // 15 ± 12.706 · 7.071 / √2 = 15 ± 63.53, floored at 0.
        assert_eq!(en["ci"][0], 0.0);
        assert!(close(en["ci"][1].as_f64().expect("a number"), 78.531023681));
        let cell = &json["cells"][0]["answer_tokens"];
        assert_eq!(
            (cell["n"].as_u64(), cell["missing"].as_u64()),
            (Some(2), Some(1))
        );
        // Back from JSON unchanged, and an older results.json without the fields still reads.
        let back: Results = serde_json::from_value(json.clone()).expect("results deserialise");
        assert_eq!(back, results);
        let mut old = json;
        old.as_object_mut()
            .expect("an object")
            .remove("answer_tokens");
        for cell in old["cells"].as_array_mut().expect("cells") {
            cell.as_object_mut()
                .expect("a cell")
                .remove("answer_tokens");
        }
        let old: Results = serde_json::from_value(old).expect("an older results.json reads");
        assert!(old.answer_tokens.is_empty());
        assert_eq!(old.cells[0].answer_tokens, AnswerTokens::default());
    }
}
