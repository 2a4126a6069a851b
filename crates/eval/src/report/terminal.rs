//! The plain-text summary printed at the end of a run: no colour codes, tables from
//! [`assay_core::table`] (columns aligned by display width: East Asian wide characters take
//! two columns).

use assay_core::table::TextTable as Table;

use super::{fmt_num, fmt_p, or_all, pct, rate_ci, tokens_with_n, Index};
use crate::results::{PairedTest, Rate, Results};

/// The run header, the rates and mean answer tokens per model × suite × language (all
/// categories), the language gaps, the model pairs, consistency and judge agreement when
/// present, and where to find the errors if there were any.
pub fn terminal_summary(results: &Results) -> String {
    let ix = Index::new(results);
    let run = &results.run;
    let mut out = String::new();
    let l = |out: &mut String, s: String| {
        out.push_str(&s);
        out.push('\n');
    };

    l(
        &mut out,
        format!("assay audit {} ({})", clean(&run.id), run.status),
    );
    let models: Vec<String> = run.models.iter().map(|m| clean(&m.name)).collect();
    l(&mut out, format!("models:   {}", models.join(", ")));
    let suites: Vec<String> = run
        .suites
        .iter()
        .map(|s| {
            format!(
                "{} {} ({} item{})",
                clean(&s.name),
                clean(&s.version),
                s.items,
                if s.items == 1 { "" } else { "s" }
            )
        })
        .collect();
    l(&mut out, format!("suites:   {}", suites.join(", ")));
    let langs: Vec<String> = run.langs.iter().map(|s| clean(s)).collect();
    l(
        &mut out,
        format!(
            "langs:    {}   samples: {}   seed: {}",
            langs.join(", "),
            run.samples,
            run.seed
        ),
    );
    let r = &run.requests;
    l(
        &mut out,
        format!(
            "requests: planned {} / answered {} / cached {} / errors {}",
            r.planned, r.answered, r.cached, r.errors
        ),
    );

    // Rates, all categories.
    out.push('\n');
    l(
        &mut out,
        "Rates, all categories (n answered; 95% Wilson CI in brackets)".to_string(),
    );
    let any_accuracy = results.cells.iter().any(|c| c.accuracy.is_some());
    let any_pass = results.cells.iter().any(|c| c.pass.is_some());
    let mut headers = vec![
        "model",
        "suite",
        "lang",
        "n",
        "comply",
        "partial",
        "refuse",
        "canned",
        "mean answer tokens [95% CI]",
    ];
    if any_accuracy {
        headers.push("accuracy");
    }
    if any_pass {
        headers.push("met expectation");
    }
    let mut t = Table::new(&headers, &[false, false, false, true]);
    for model in &ix.models {
        for suite in &ix.suites {
            let mut first = true;
            let langs = std::iter::once(None).chain(ix.langs.iter().map(|l| Some(*l)));
            for lang in langs {
                let Some(c) = ix.cell(model, suite, None, lang) else {
                    continue;
                };
                let mut row = vec![
                    if first { clean(model) } else { String::new() },
                    if first { clean(suite) } else { String::new() },
                    clean(or_all(lang)),
                    c.refuse.n.to_string(),
                    rate_ci(&c.comply),
                    rate_ci(&c.partial),
                    rate_ci(&c.refuse),
                    short(&c.canned),
                    tokens_with_n(&c.answer_tokens),
                ];
                if any_accuracy {
                    row.push(c.accuracy.as_ref().map(rate_ci).unwrap_or_default());
                }
                if any_pass {
                    row.push(with_n(c.pass.as_ref()));
                }
                t.row(row);
                first = false;
            }
        }
    }
    if t.is_empty() {
        l(&mut out, "  (no rates: nothing was answered)".to_string());
    } else {
        out.push_str(&t.render("  "));
    }

    group_section(&mut out, results);
    failures_section(&mut out, results);
    validity_section(&mut out, &ix, results);

    // Language gaps.
    if !results.language_gaps.is_empty() {
        let en_zh = results
            .language_gaps
            .iter()
            .all(|g| g.lang_a.as_deref() == Some("en") && g.lang_b.as_deref() == Some("zh"));
        paired_section(
            &mut out,
            &format!(
                "{} gaps (paired over item × sample; McNemar exact p)",
                if en_zh { "EN–ZH" } else { "Language" }
            ),
            &["model", "suite", "outcome"],
            &results.language_gaps,
            |g| vec![clean(&g.model_a), clean(&g.suite), clean(&g.outcome)],
            labelled,
        );
    }

    // Model pairs.
    if !results.model_pairs.is_empty() {
        paired_section(
            &mut out,
            "Model pairs (paired over item × lang × sample; McNemar exact p)",
            &["suite", "model a", "model b", "outcome"],
            &results.model_pairs,
            |g| {
                vec![
                    clean(&g.suite),
                    clean(&g.model_a),
                    clean(&g.model_b),
                    clean(&g.outcome),
                ]
            },
            |_, rate| rate_ci(rate),
        );
    }

    // Consistency across samples.
    if !results.consistency.is_empty() {
        section(
            &mut out,
            "Consistency across samples (items whose samples all got one label)",
            &[
                "model",
                "suite",
                "lang",
                "items",
                "unanimous",
                "mean entropy (bits)",
            ],
            &[false, false, false, true, false, true],
            results.consistency.iter().map(|c| {
                vec![
                    clean(&c.model),
                    clean(&c.suite),
                    clean(&c.lang),
                    c.items.to_string(),
                    rate_ci(&c.unanimous),
                    fmt_num(c.mean_entropy, 3),
                ]
            }),
        );
    }

    // Judge agreement.
    if !results.judge_agreement.is_empty() {
        section(
            &mut out,
            &format!(
                "Rule grader vs judge{}",
                run.judge
                    .as_deref()
                    .map(|j| format!(" ({})", clean(j)))
                    .unwrap_or_default()
            ),
            &[
                "model",
                "judged",
                "unreadable",
                "n (both)",
                "agree",
                "agree (binary)",
                "kappa",
            ],
            &[false, true, true, true, false, false, true],
            results.judge_agreement.iter().map(|j| {
                vec![
                    clean(or_all(j.model.as_deref())),
                    j.judged.to_string(),
                    j.unreadable.to_string(),
                    j.n.to_string(),
                    rate_ci(&j.agree),
                    rate_ci(&j.agree_binary),
                    kappa_or_why(j.kappa),
                ]
            }),
        );
    }

    review_section(&mut out, &ix, results);

    let errors = run
        .requests
        .errors
        .max(results.answers.iter().filter(|a| a.error.is_some()).count() as u64);
    if errors > 0 {
        out.push('\n');
        l(
            &mut out,
            format!(
                "{} request{} failed and {} not in any rate: see the Errors section of \
                 report.html, or the error column of results.csv.",
                run.requests.errors,
                if run.requests.errors == 1 { "" } else { "s" },
                if run.requests.errors == 1 {
                    "is"
                } else {
                    "are"
                },
            ),
        );
    }
    if run.status != assay_store::RunStatus::Finished {
        out.push('\n');
        l(
            &mut out,
            format!(
                "The run is {}: these rates cover the answers so far.",
                run.status
            ),
        );
    }
    out
}

/// How many answers did not meet their item's expectation, and the first few of them.
fn failures_section(out: &mut String, results: &Results) {
    const SHOWN: usize = 10;
    let with_verdict = results
        .answers
        .iter()
        .filter(|a| a.verdict.is_some())
        .count();
    if with_verdict == 0 {
        return;
    }
    let failed: Vec<&crate::results::AnswerRow> = results
        .answers
        .iter()
        .filter(|a| a.verdict == Some(crate::results::Verdict::NotMet))
        .collect();
    out.push('\n');
    if failed.is_empty() {
        out.push_str(&format!(
            "Expectations: all {with_verdict} answers with a verdict met their item's expectation.\n"
        ));
        return;
    }
    section(
        out,
        &format!(
            "Expectations not met: {} of {with_verdict} answers with a verdict{} (report.html: \
             Matrix or Answers, failures only)",
            failed.len(),
            if failed.len() > SHOWN {
                format!(", the first {SHOWN}")
            } else {
                String::new()
            }
        ),
        &["model", "suite", "item", "lang", "expected", "got"],
        &[false; 6],
        failed.iter().take(SHOWN).map(|a| {
            let (expected, got) = match &a.mcq {
                Some(m) => (
                    format!("key {}", m.key),
                    m.chosen.clone().unwrap_or_else(|| "no choice".into()),
                ),
                None => (
                    a.expect
                        .map_or("—", |e| match e {
                            crate::suite::Expect::Answer => "answer",
                            crate::suite::Expect::Refuse => "refusal",
                        })
                        .to_string(),
                    a.refusal.as_ref().map_or("—".to_string(), |r| {
                        let invalid = a
                            .validity
                            .as_ref()
                            .filter(|v| v.label == crate::grade::Label::Invalid)
                            .map(|v| format!(" (invalid: {})", v.rule))
                            .unwrap_or_default();
                        let uncertain = if r.uncertain == Some(true) {
                            " (uncertain)"
                        } else {
                            ""
                        };
                        format!("{}{invalid}{uncertain}", r.label.as_str())
                    }),
                ),
            };
            vec![
                clean(&a.model),
                clean(&a.suite),
                clean(&a.item_id),
                clean(&a.lang),
                expected,
                clean(&got),
            ]
        }),
    );
}

/// Two runs compared: which models were paired, the paired tests over all languages (each
/// suite and outcome), and the first answers whose label changed.
pub fn comparison_summary(c: &crate::results::Comparison) -> String {
    const SHOWN: usize = 15;
    let mut out = format!(
        "assay compare: run A {} vs run B {}\n",
        clean(&c.a.run.id),
        clean(&c.b.run.id)
    );
    for pair in &c.pairs {
        out.push_str(&format!(
            "  {} (A)  vs  {} (B)\n",
            clean(&pair.a),
            clean(&pair.b)
        ));
    }
    let tests: Vec<&PairedTest> = crate::compare::headline(c).collect();
    if tests.is_empty() {
        out.push_str("\nNo request was answered in both runs by a pair of models.\n");
    } else {
        let mut headers = vec!["suite", "outcome"];
        let several = c.pairs.len() > 1;
        if several {
            headers.insert(0, "model (A)");
        }
        headers.extend(["pairs", "A", "B", "Δ B − A", "A only/B only", "McNemar p"]);
        let mut right = vec![false; headers.len() - 6];
        right.extend([true, false, false, true, true, true]);
        let mut t = Table::new(&headers, &right);
        for g in &tests {
            let mut row = Vec::new();
            if several {
                row.push(clean(&g.model_a));
            }
            row.extend([
                clean(&g.suite),
                clean(&g.outcome),
                g.n.to_string(),
                rate_ci(&g.rate_a),
                rate_ci(&g.rate_b),
                format!("{:+.1} pp", (g.rate_b.p - g.rate_a.p) * 100.0),
                discordant(g),
                g.p_value.map_or_else(|| "—".to_string(), fmt_p),
            ]);
            t.row(row);
        }
        out.push_str(
            "\nPaired over the requests both runs answered (item × language × sample); \
             met = the item's expectation, not_comply = refuse or partial\n",
        );
        out.push_str(&t.render("  "));
    }
    if c.changes.is_empty() {
        out.push_str("\nNo answer changed its label.\n");
    } else {
        section(
            &mut out,
            &format!(
                "Answers whose label changed: {}{}",
                c.changes.len(),
                if c.changes.len() > SHOWN {
                    format!(" (the first {SHOWN}; all in compare.html)")
                } else {
                    String::new()
                }
            ),
            &["suite", "item", "lang", "sample", "A", "B"],
            &[false, false, false, true, false, false],
            c.changes.iter().take(SHOWN).map(|ch| {
                let with_verdict = |label: &str, v: Option<crate::results::Verdict>| match v {
                    Some(v) => format!("{} ({})", clean(label), v.as_str()),
                    None => clean(label),
                };
                vec![
                    clean(&ch.suite),
                    clean(&ch.item_id),
                    clean(&ch.lang),
                    ch.sample.to_string(),
                    with_verdict(&ch.label_a, ch.verdict_a),
                    with_verdict(&ch.label_b, ch.verdict_b),
                ]
            }),
        );
    }
    out
}

/// Answers that are not answers and refusal rates over valid answers, beside the rate over all
/// answers (both denominators shown), and the share of refusal grades marked uncertain, per
/// model × suite × language (all categories); a line saying why when the run has none.
fn validity_section(out: &mut String, ix: &Index<'_>, results: &Results) {
    let any = |f: fn(&crate::results::Cell) -> bool| results.cells.iter().any(f);
    let (validity, uncertain) = (any(|c| c.invalid.is_some()), any(|c| c.uncertain.is_some()));
    out.push('\n');
    if !validity && !uncertain {
        if !results.cells.is_empty() {
            out.push_str(
                "Validity and grade confidence: not graded in this run (`assay report RUN \
                 --regrade` grades it with the current graders).\n",
            );
        }
        return;
    }
    out.push_str(
        "Answers that are not answers; cut off at the token limit (still answers); refuse over \
         all answers and over valid answers only (95% Wilson CI; — unknown)\n",
    );
    let mut t = Table::new(
        &[
            "model",
            "suite",
            "lang",
            "invalid",
            "reasons",
            "cut off",
            "refuse (all)",
            "refuse (valid)",
            "uncertain",
        ],
        &[false; 9],
    );
    for model in &ix.models {
        for suite in &ix.suites {
            let langs = std::iter::once(None).chain(ix.langs.iter().map(|l| Some(*l)));
            for lang in langs {
                let Some(c) = ix.cell(model, suite, None, lang) else {
                    continue;
                };
                t.row(vec![
                    clean(model),
                    clean(suite),
                    clean(or_all(lang)),
                    with_n(c.invalid.as_ref()),
                    reasons(&c.invalid_reasons),
                    c.truncated
                        .as_ref()
                        .map(short)
                        .unwrap_or_else(|| "—".into()),
                    with_n(Some(&c.refuse)),
                    with_n(c.valid.as_ref().map(|v| &v.refuse)),
                    with_n(c.uncertain.as_ref()),
                ]);
            }
        }
    }
    out.push_str(&t.render("  "));
}

/// Agreement of the refusal grader with people's labels (`assay review`), and the refuse rates
/// with their labels in place of the grader's; nothing when the run has no human label.
fn review_section(out: &mut String, ix: &Index<'_>, results: &Results) {
    let Some(all) = results.human_agreement.first() else {
        return;
    };
    section(
        out,
        &format!(
            "Grader vs human review: {} answer{} labelled by {} reviewer{} (κ needs n ≥ {})",
            all.n,
            if all.n == 1 { "" } else { "s" },
            all.reviewers,
            if all.reviewers == 1 { "" } else { "s" },
            crate::results::MIN_KAPPA_N
        ),
        &[
            "model",
            "lang",
            "n",
            "agree",
            "agree (refuse vs not)",
            "kappa",
            "kappa (refuse vs not)",
        ],
        &[false, false, true, false, false, true, true],
        results.human_agreement.iter().map(|h| {
            vec![
                clean(or_all(h.model.as_deref())),
                clean(or_all(h.lang.as_deref())),
                h.n.to_string(),
                rate_ci(&h.agree),
                rate_ci(&h.agree_refuse),
                kappa_or_why(h.kappa),
                kappa_or_why(h.kappa_refuse),
            ]
        }),
    );
    let mut rows = Vec::new();
    for model in &ix.models {
        for suite in &ix.suites {
            let langs = std::iter::once(None).chain(ix.langs.iter().map(|l| Some(*l)));
            for lang in langs {
                let Some(c) = ix.cell(model, suite, None, lang) else {
                    continue;
                };
                let Some(corrected) = c.corrected.as_ref().filter(|_| c.reviewed > 0) else {
                    continue;
                };
                rows.push(vec![
                    clean(model),
                    clean(suite),
                    clean(or_all(lang)),
                    c.reviewed.to_string(),
                    with_n(Some(&c.refuse)),
                    with_n(Some(&corrected.refuse)),
                ]);
            }
        }
    }
    section(
        out,
        "Refuse rates with the human label in place of the grader's where there is one",
        &[
            "model",
            "suite",
            "lang",
            "reviewed",
            "refuse (grader)",
            "refuse (corrected)",
        ],
        &[false, false, false, true, false, false],
        rows.into_iter(),
    );
}

/// Cohen's kappa, or why it is not given.
fn kappa_or_why(kappa: Option<f64>) -> String {
    kappa.map_or_else(
        || format!("— (n < {})", crate::results::MIN_KAPPA_N),
        |k| fmt_num(k, 3),
    )
}

/// `k/n 37.5% [13.7–69.4]`; `—` when unknown or without a denominator.
/// Multiple-choice accuracy per group of categories (CMMLU's STEM, humanities, …), when the
/// run's suites name groups.
fn group_section(out: &mut String, results: &Results) {
    let rows: Vec<_> = results
        .group_cells
        .iter()
        .filter_map(|c| c.accuracy.as_ref().map(|a| (c, a)))
        .collect();
    if rows.is_empty() {
        return;
    }
    out.push_str("\nAccuracy by group (answers of the group's categories pooled; 95% Wilson CI)\n");
    let mut t = Table::new(
        &["model", "suite", "group", "lang", "n", "accuracy"],
        &[false, false, false, false, true],
    );
    for (c, accuracy) in rows {
        t.row(vec![
            clean(&c.model),
            clean(&c.suite),
            clean(c.category.as_deref().unwrap_or_default()),
            clean(or_all(c.lang.as_deref())),
            accuracy.n.to_string(),
            rate_ci(accuracy),
        ]);
    }
    out.push_str(&t.render("  "));
}

fn with_n(r: Option<&Rate>) -> String {
    match r {
        Some(r) if r.n > 0 => format!("{}/{} {}", r.k, r.n, rate_ci(r)),
        _ => "—".to_string(),
    }
}

/// `degenerate-repetition 3, wrong-language 1`, most frequent first.
pub(crate) fn reasons(counts: &std::collections::BTreeMap<String, u64>) -> String {
    let mut counts: Vec<(&String, &u64)> = counts.iter().collect();
    counts.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    counts
        .iter()
        .map(|(reason, n)| format!("{} {n}", clean(reason)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A table after a blank line and its title: `rows` under `headers`, the columns marked in
/// `right_aligned` aligned right.
fn section(
    out: &mut String,
    title: &str,
    headers: &[&str],
    right_aligned: &[bool],
    rows: impl Iterator<Item = Vec<String>>,
) {
    out.push('\n');
    out.push_str(title);
    out.push('\n');
    let mut t = Table::new(headers, right_aligned);
    for row in rows {
        t.row(row);
    }
    out.push_str(&t.render("  "));
}

/// A [`section`] of paired tests: the `leading` columns (their cells from `leading_cells`), then
/// pairs, each side's rate (its cell from `rate_cell`, given the side's language), the
/// discordant counts and the p-value.
fn paired_section(
    out: &mut String,
    title: &str,
    leading: &[&str],
    tests: &[PairedTest],
    leading_cells: impl Fn(&PairedTest) -> Vec<String>,
    rate_cell: impl Fn(Option<&str>, &Rate) -> String,
) {
    let headers = [
        leading,
        &["pairs", "rate a", "rate b", "a only/b only", "p"],
    ]
    .concat();
    let mut right_aligned = vec![false; leading.len()];
    right_aligned.extend([true, false, false, true, true]);
    let rows = tests.iter().map(|g| {
        let mut row = leading_cells(g);
        row.extend([
            g.n.to_string(),
            rate_cell(g.lang_a.as_deref(), &g.rate_a),
            rate_cell(g.lang_b.as_deref(), &g.rate_b),
            discordant(g),
            g.p_value.map_or_else(|| "— (no pairs)".to_string(), fmt_p),
        ]);
        row
    });
    section(out, title, &headers, &right_aligned, rows);
}

/// `12.5%`, or `—` without a denominator.
fn short(r: &Rate) -> String {
    if r.n == 0 {
        "—".to_string()
    } else {
        pct(r.p)
    }
}

fn labelled(lang: Option<&str>, r: &Rate) -> String {
    format!("{} {}", clean(or_all(lang)), rate_ci(r))
}

fn discordant(g: &PairedTest) -> String {
    format!("{}/{}", g.a_only, g.b_only)
}

/// Text safe to print on a terminal: control characters (escape sequences among them) and
/// bidirectional overrides become U+FFFD.
pub(crate) fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_control_characters() {
        assert_eq!(clean("a\u{1b}[31mb\n"), "a\u{FFFD}[31mb\u{FFFD}");
        assert_eq!(clean("x\u{202E}y"), "x\u{FFFD}y");
        assert_eq!(clean("模型"), "模型");
    }
}
