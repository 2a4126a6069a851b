//! `report.html` and `compare.html`: single self-contained pages (inline CSS, inline SVG, a
//! little inline JavaScript on the report page), with no external resource of any kind.
//!
//! The pages are minijinja templates (`crates/eval/templates`) rendered with the one escaping
//! rule of [`assay_core::html::environment`]: every value from the results is escaped. The
//! pages also carry a Content Security Policy that allows only our own script (by its SHA-256)
//! and no network access, so markup slipping through would still neither run nor phone home.
//!
//! This module turns [`Results`] into what the templates show: orders, roll-ups and labels;
//! the chart geometry is in [`super::charts`].

use std::sync::LazyLock;

use minijinja::{context, Environment, Value};
use serde::Serialize;

use super::charts::{self, BarRow};
use super::matrix;
use super::{fmt_num, fmt_p, pct, Index};
use crate::results::{AnswerRow, Cell, Comparison, LabelWithRule, Rate, Results, Verdict};
use crate::stats::newcombe_diff;

const CSS: &str = include_str!("../../assets/report.css");

/// The report page's script (the filters of the answers table).
static SCRIPT: LazyLock<&'static str> =
    LazyLock::new(|| include_str!("../../assets/report.js").trim_end());

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = assay_core::html::environment();
    for (name, source) in [
        ("base.html", include_str!("../../templates/base.html")),
        ("macros.html", include_str!("../../templates/macros.html")),
        ("charts.html", include_str!("../../templates/charts.html")),
        ("report.html", include_str!("../../templates/report.html")),
        ("compare.html", include_str!("../../templates/compare.html")),
    ] {
        // Compiled in; the tests render every page, so they parse.
        env.add_template(name, source)
            .expect("the built-in report templates parse");
    }
    // Number formats, the same as the terminal summary's.
    env.add_filter("pct", pct);
    env.add_filter("pp", |x: f64| format!("{:.1}", x * 100.0));
    env.add_filter("signed", |x: f64| format!("{:+.1}", x * 100.0));
    env.add_filter("p_value", fmt_p);
    env.add_filter("num3", |x: f64| fmt_num(x, 3));
    env.add_filter("tok", |x: f64| fmt_num(x, 1));
    env
});

/// The audit report of one run as one self-contained HTML page.
///
/// A template error (a bug, never the data) is shown as a one-line page; [`super::write_reports`]
/// reports it as an error instead.
pub fn html(results: &Results) -> String {
    render_report(results).unwrap_or_else(|e| error_page(&e))
}

/// The side-by-side page of two runs: both headers, then for every (model, suite, language)
/// roll-up over categories present in either run, the refuse, partial and comply rates of both
/// runs with their CIs and the difference B − A with Newcombe's 95% interval (the runs are
/// taken as independent samples).
pub fn comparison_html(c: &Comparison) -> String {
    render_comparison(c).unwrap_or_else(|e| error_page(&e))
}

fn error_page(e: &minijinja::Error) -> String {
    let message = format!("assay: the report template failed: {e:#}");
    format!(
        "<!DOCTYPE html>\n<p>{}</p>\n",
        assay_core::html::Escaped(&message)
    )
}

/// `'sha256-…'` of a script, for the Content Security Policy; `'none'` without one.
fn script_src(script: Option<&str>) -> Value {
    let src = match script {
        Some(js) => assay_core::html::script_hash(js),
        None => "'none'".to_string(),
    };
    // Our own constant: its quotes are CSP syntax, not text.
    Value::from_safe_string(src)
}

fn css() -> Value {
    Value::from_safe_string(CSS.to_string())
}

/// A model of the run with its parameters as JSON.
#[derive(Serialize)]
struct ModelView<'a> {
    name: &'a str,
    params: String,
}

/// A suite's chart with its position (for the element ids).
#[derive(Serialize)]
struct SuiteChart<'a, T> {
    suite: &'a str,
    index: usize,
    chart: T,
}

#[derive(Serialize)]
struct LangLegend<'a> {
    lang: &'a str,
    marker: charts::Marker,
}

/// A `<select>` of the answers' filters: `(value, text)` options.
#[derive(Serialize)]
struct Filter {
    id: &'static str,
    name: &'static str,
    options: Vec<(String, String)>,
}

/// An answer row as the table shows it.
#[derive(Serialize)]
struct AnswerView<'a> {
    model: &'a str,
    suite: &'a str,
    item_id: &'a str,
    category: &'a str,
    lang: &'a str,
    sample: u32,
    /// Positions in the model and suite filters.
    model_index: usize,
    suite_index: usize,
    /// What the label filter matches.
    label: &'a str,
    refusal: Option<LabelView<'a>>,
    /// The reason, when the answer is not an answer.
    invalid: Option<&'a str>,
    /// Whether the refusal grade is marked uncertain (`None`: it does not say), and its
    /// confidence as text.
    uncertain: Option<bool>,
    confidence: Option<String>,
    /// A person's label (`assay review`), with who gave it.
    human: Option<LabelView<'a>>,
    error: Option<&'a str>,
    canned: String,
    /// `chosen / key ✓`.
    mcq: Option<String>,
    judge: Option<LabelView<'a>>,
    judge_reply: Option<&'a str>,
    /// `met` / `not met` (`None`: no verdict), what the item expects, and the filter value.
    verdict: Option<&'static str>,
    expect: Option<String>,
    verdict_filter: &'static str,
    /// `prompt → completion` tokens, and the answer's latency.
    tokens: Option<String>,
    latency: Option<String>,
    text: Option<&'a str>,
    text_snippet: String,
    text_bytes: Option<u64>,
    cut_off: bool,
    prompt: &'a str,
    prompt_snippet: String,
}

#[derive(Serialize)]
struct LabelView<'a> {
    label: &'a str,
    rule: &'a str,
    class: &'static str,
}

impl<'a> LabelView<'a> {
    fn new(l: &'a LabelWithRule) -> LabelView<'a> {
        LabelView {
            label: l.label.as_str(),
            rule: &l.rule,
            class: label_class(l.label.as_str()),
        }
    }
}

/// What the answer's item expects, in words: `expects a refusal`, `expects an answer`, `key B`.
fn expectation(a: &AnswerRow) -> Option<String> {
    if a.kind == crate::suite::Kind::Mcq {
        return a.mcq.as_ref().map(|m| format!("key {}", m.key));
    }
    a.expect.map(|e| match e {
        crate::suite::Expect::Answer => "expects an answer".to_string(),
        crate::suite::Expect::Refuse => "expects a refusal".to_string(),
    })
}

/// The label an answer is filtered by: its refusal label, `error`, or `ungraded`.
fn answer_label(a: &AnswerRow) -> &str {
    match (&a.refusal, &a.error) {
        (Some(l), _) => l.label.as_str(),
        (None, Some(_)) => "error",
        (None, None) => "ungraded",
    }
}

pub(crate) fn label_class(label: &str) -> &'static str {
    match label {
        "refuse" => "refuse",
        "partial" => "partial",
        "comply" => "comply",
        "error" => "error",
        "unknown" => "unknown",
        _ => "other",
    }
}

/// The first `chars` characters on one line, with `…` when cut.
pub(crate) fn snippet(s: &str, chars: usize) -> String {
    let mut out: String = s
        .chars()
        .take(chars)
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    if s.chars().nth(chars).is_some() {
        out.push('…');
    }
    out
}

/// `None` for the roll-up over languages, then each language.
fn with_all<'a, 'b>(langs: &'b [&'a str]) -> impl Iterator<Item = Option<&'a str>> + 'b {
    std::iter::once(None).chain(langs.iter().map(|l| Some(*l)))
}

pub(crate) fn render_report(r: &Results) -> Result<String, minijinja::Error> {
    let ix = Index::new(r);
    let models: Vec<ModelView> = r
        .run
        .models
        .iter()
        .map(|m| ModelView {
            name: &m.name,
            params: serde_json::to_string(&m.params).unwrap_or_default(),
        })
        .collect();

    // Rates: one stacked-bar chart per suite with any cell.
    let mut bars = Vec::new();
    for (si, suite) in ix.suites.iter().enumerate() {
        let cats = ix.categories(suite);
        let mut rows = Vec::new();
        for model in &ix.models {
            let mut model_bars = Vec::new();
            if let Some(c) = ix.cell(model, suite, None, None) {
                model_bars.push(BarRow::Bar {
                    model,
                    label: "all categories".into(),
                    cell: c,
                });
            }
            for (id, name) in &cats {
                if let Some(c) = ix.cell(model, suite, Some(id), None) {
                    model_bars.push(BarRow::Bar {
                        model,
                        label: name.to_string(),
                        cell: c,
                    });
                }
            }
            if !model_bars.is_empty() {
                rows.push(BarRow::Model(model));
                rows.extend(model_bars);
            }
        }
        if !rows.is_empty() {
            bars.push(SuiteChart {
                suite,
                index: si,
                chart: charts::bars(suite, si, &rows),
            });
        }
    }
    let mut rollups: Vec<&Cell> = Vec::new();
    for model in &ix.models {
        for suite in &ix.suites {
            rollups
                .extend(with_all(&ix.langs).filter_map(|lang| ix.cell(model, suite, None, lang)));
        }
    }

    // Languages: markers per language, one chart per suite.
    let lang_legend: Vec<LangLegend> = ix
        .langs
        .iter()
        .enumerate()
        .map(|(j, lang)| LangLegend {
            lang,
            marker: charts::marker(j, 7.0, 7.0),
        })
        .collect();
    let mut langs = Vec::new();
    for (si, suite) in ix.suites.iter().enumerate() {
        let models: Vec<&str> = ix
            .models
            .iter()
            .copied()
            .filter(|m| {
                ix.langs
                    .iter()
                    .any(|l| ix.cell(m, suite, None, Some(l)).is_some())
            })
            .collect();
        if models.is_empty() || ix.langs.is_empty() {
            continue;
        }
        langs.push(SuiteChart {
            suite,
            index: si,
            chart: charts::langs(r, &ix, suite, si, &models),
        });
    }

    let mut heatmaps = Vec::new();
    for (si, suite) in ix.suites.iter().enumerate() {
        let models: Vec<&str> = ix
            .models
            .iter()
            .copied()
            .filter(|m| ix.has(m, suite))
            .collect();
        if !models.is_empty() {
            heatmaps.push(SuiteChart {
                suite,
                index: si,
                chart: charts::heatmap(&ix, suite, si, &models),
            });
        }
    }

    let accuracy_rows: Vec<&Cell> = rollups
        .iter()
        .copied()
        .filter(|c| c.accuracy.is_some())
        .collect();
    let group_rows: Vec<&Cell> = r
        .group_cells
        .iter()
        .filter(|c| c.accuracy.is_some())
        .collect();
    let errors: Vec<&AnswerRow> = r.answers.iter().filter(|a| a.error.is_some()).collect();

    // Answers and their filters.
    let index_of = |list: &[&str], s: &str| list.iter().position(|x| *x == s).unwrap_or(0);
    let answers: Vec<AnswerView> = r
        .answers
        .iter()
        .map(|a| AnswerView {
            model: &a.model,
            suite: &a.suite,
            item_id: &a.item_id,
            category: &a.category,
            lang: &a.lang,
            sample: a.sample,
            model_index: index_of(&ix.models, &a.model),
            suite_index: index_of(&ix.suites, &a.suite),
            label: answer_label(a),
            refusal: a.refusal.as_ref().map(LabelView::new),
            invalid: a
                .validity
                .as_ref()
                .filter(|v| v.label == crate::grade::Label::Invalid)
                .map(|v| v.rule.as_str()),
            uncertain: a.refusal.as_ref().and_then(|r| r.uncertain),
            confidence: a
                .refusal
                .as_ref()
                .and_then(|r| r.confidence)
                .map(|c| format!("{c:.2}")),
            human: a.human.as_ref().map(|h| LabelView {
                label: h.label.as_str(),
                rule: &h.reviewer,
                class: label_class(h.label.as_str()),
            }),
            error: a.error.as_deref(),
            canned: a.canned.join("; "),
            mcq: a.mcq.as_ref().map(|m| {
                format!(
                    "{} / {} {}",
                    m.chosen.as_deref().unwrap_or("?"),
                    m.key,
                    if m.correct { "✓" } else { "✗" }
                )
            }),
            judge: a.judge.as_ref().map(LabelView::new),
            judge_reply: a.judge_reply.as_deref(),
            verdict: a.verdict.map(Verdict::as_str),
            expect: expectation(a),
            verdict_filter: match a.verdict {
                Some(Verdict::Met) => "met",
                Some(Verdict::NotMet) => "fail",
                None => "none",
            },
            tokens: match (a.prompt_tokens, a.completion_tokens) {
                (None, None) => None,
                (p, c) => Some(format!(
                    "{} → {}",
                    p.map_or("?".into(), |p| p.to_string()),
                    c.map_or("?".into(), |c| c.to_string())
                )),
            },
            latency: a
                .latency_ms
                .map(|ms| format!("{:.1} s", ms as f64 / 1000.0)),
            text: a.text.as_deref(),
            text_snippet: a
                .text
                .as_deref()
                .map(|t| snippet(t, 90))
                .unwrap_or_default(),
            text_bytes: a.text_bytes,
            cut_off: a.finish_reason.as_deref() == Some("length"),
            prompt: &a.prompt,
            prompt_snippet: snippet(&a.prompt, 60),
        })
        .collect();
    let numbered = |list: &[&str]| -> Vec<(String, String)> {
        list.iter()
            .enumerate()
            .map(|(i, s)| (i.to_string(), s.to_string()))
            .collect()
    };
    let mut labels: Vec<String> = ["refuse", "partial", "comply"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for a in &r.answers {
        let l = answer_label(a);
        if !labels.iter().any(|x| x == l) {
            labels.push(l.to_string());
        }
    }
    let filters = [
        Filter {
            id: "f-model",
            name: "model",
            options: numbered(&ix.models),
        },
        Filter {
            id: "f-suite",
            name: "suite",
            options: numbered(&ix.suites),
        },
        Filter {
            id: "f-label",
            name: "label",
            options: labels.into_iter().map(|l| (l.clone(), l)).collect(),
        },
        Filter {
            id: "f-lang",
            name: "language",
            options: ix
                .langs
                .iter()
                .map(|l| (l.to_string(), l.to_string()))
                .collect(),
        },
    ];

    TEMPLATES.get_template("report.html")?.render(context! {
        title => format!("assay audit {}", r.run.id),
        css => css(),
        script_src => script_src(Some(*SCRIPT)),
        script => Value::from_safe_string(SCRIPT.to_string()),
        // The parts of the results the page shows as they are (not the answers: those go in
        // as `answers`, with their labels and snippets).
        run => &r.run,
        cells => &r.cells,
        language_gaps => &r.language_gaps,
        model_pairs => &r.model_pairs,
        guard_effects => &r.guard_effects,
        answer_tokens => &r.answer_tokens,
        consistency => &r.consistency,
        judge_agreement => &r.judge_agreement,
        human_agreement => &r.human_agreement,
        min_kappa_n => crate::results::MIN_KAPPA_N,
        models,
        bars,
        rollups,
        accuracy => r.cells.iter().any(|c| c.accuracy.is_some()),
        validity => r.cells.iter().any(|c| c.invalid.is_some() || c.uncertain.is_some()),
        judge => r.cells.iter().any(|c| c.judge_not_comply.is_some()),
        lang_legend,
        langs,
        heat_legend => charts::heat_legend(),
        heatmaps,
        accuracy_rows,
        group_rows,
        confusion_labels => ["comply", "partial", "refuse"],
        errors,
        pass => r.cells.iter().any(|c| c.pass.is_some()),
        failures => r.answers.iter().filter(|a| a.verdict == Some(Verdict::NotMet)).count(),
        matrix_models => &ix.models,
        matrix => matrix::rows(r, &ix),
        answers,
        filters,
    })
}

/// One line of the comparison's header: a run property in A and in B.
#[derive(Serialize)]
struct HeaderRow {
    key: &'static str,
    a: String,
    b: String,
}

/// One (model pair, suite, language) roll-up in both runs.
#[derive(Serialize)]
struct CompareRow<'a> {
    model: &'a str,
    model_b: &'a str,
    suite: &'a str,
    lang: Option<&'a str>,
    n_a: String,
    n_b: String,
    metrics: Vec<CompareMetric>,
}

#[derive(Serialize)]
struct CompareMetric {
    a: Option<Rate>,
    b: Option<Rate>,
    /// B − A with Newcombe's interval, when both runs have answers.
    diff: Option<Difference>,
}

#[derive(Serialize)]
struct Difference {
    d: f64,
    lo: f64,
    hi: f64,
    significant: bool,
}

/// How a line of the comparison's header reads a run.
type RunProperty = dyn Fn(&Results) -> String;

fn header_rows(a: &Results, b: &Results) -> Vec<HeaderRow> {
    let rows: [(&'static str, &RunProperty); 14] = [
        ("id", &|r| r.run.id.clone()),
        ("status", &|r| r.run.status.to_string()),
        ("created", &|r| r.run.created_at.clone()),
        ("finished", &|r| {
            r.run.finished_at.clone().unwrap_or("—".into())
        }),
        ("assay version", &|r| r.run.assay_version.clone()),
        ("models", &|r| {
            r.run
                .models
                .iter()
                .map(|m| {
                    format!(
                        "{} {}",
                        m.name,
                        serde_json::to_string(&m.params).unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        }),
        ("suites", &|r| {
            r.run
                .suites
                .iter()
                .map(|s| format!("{} {} ({} items)", s.name, s.version, s.items))
                .collect::<Vec<_>>()
                .join(", ")
        }),
        ("languages", &|r| r.run.langs.join(", ")),
        ("samples / seed", &|r| {
            format!("{} / {}", r.run.samples, r.run.seed)
        }),
        ("limit", &|r| {
            r.run
                .limit
                .map(|l| match r.run.limit_seed {
                    Some(seed) => format!("{l} (shuffle seed {seed})"),
                    None => l.to_string(),
                })
                .unwrap_or("none".into())
        }),
        ("filter", &|r| r.run.filter.join(" ")),
        ("judge", &|r| r.run.judge.clone().unwrap_or("none".into())),
        ("graders", &|r| {
            r.run
                .graders
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        }),
        ("requests", &|r| {
            let q = &r.run.requests;
            format!(
                "planned {} · answered {} · cached {} · errors {}",
                q.planned, q.answered, q.cached, q.errors
            )
        }),
    ];
    rows.into_iter()
        .map(|(key, f)| HeaderRow {
            key,
            a: f(a),
            b: f(b),
        })
        .collect()
}

pub(crate) fn render_comparison(c: &Comparison) -> Result<String, minijinja::Error> {
    let (a, b) = (&c.a, &c.b);
    let suite_versions = |r: &Results| {
        r.run
            .suites
            .iter()
            .map(|s| (s.name.clone(), s.version.clone()))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let (va, vb) = (suite_versions(a), suite_versions(b));
    let suite_versions_differ = va
        .iter()
        .any(|(name, v)| vb.get(name).is_some_and(|w| w != v));

    // For each pair of models, then each model of one run left out of the pairs, the
    // (suite, language) roll-ups present in either run, A's order first.
    let (ia, ib) = (Index::new(a), Index::new(b));
    let mut models: Vec<(&str, &str)> = c
        .pairs
        .iter()
        .map(|p| (p.a.as_str(), p.b.as_str()))
        .collect();
    for m in &ia.models {
        if !c.pairs.iter().any(|p| p.a == *m) {
            models.push((m, m));
        }
    }
    for m in &ib.models {
        if !c.pairs.iter().any(|p| p.b == *m) && !models.contains(&(*m, *m)) {
            models.push((m, m));
        }
    }
    let mut keys: Vec<(&str, &str, &str, Option<&str>)> = Vec::new();
    for (model_a, model_b) in models {
        for ix in [&ia, &ib] {
            for suite in &ix.suites {
                for lang in with_all(&ix.langs) {
                    let present = ia.cell(model_a, suite, None, lang).is_some()
                        || ib.cell(model_b, suite, None, lang).is_some();
                    let key = (model_a, model_b, *suite, lang);
                    if present && !keys.contains(&key) {
                        keys.push(key);
                    }
                }
            }
        }
    }
    let accuracy = a.cells.iter().chain(&b.cells).any(|c| c.accuracy.is_some());
    let metrics: &[&str] = if accuracy {
        &["refuse", "partial", "comply", "accuracy"]
    } else {
        &["refuse", "partial", "comply"]
    };
    let rows: Vec<CompareRow> = keys
        .into_iter()
        .map(|(model, model_b, suite, lang)| {
            let ca = ia.cell(model, suite, None, lang);
            let cb = ib.cell(model_b, suite, None, lang);
            let n = |c: Option<&Cell>| c.map(|c| c.refuse.n.to_string()).unwrap_or("—".into());
            let metrics = metrics
                .iter()
                .map(|metric| {
                    let get = |c: Option<&Cell>| -> Option<Rate> {
                        let c = c?;
                        match *metric {
                            "refuse" => Some(c.refuse),
                            "partial" => Some(c.partial),
                            "comply" => Some(c.comply),
                            _ => c.accuracy,
                        }
                    };
                    let (ra, rb) = (get(ca), get(cb));
                    let diff = match (ra, rb) {
                        (Some(ra), Some(rb)) if ra.n > 0 && rb.n > 0 => {
                            let (d, lo, hi) = newcombe_diff(&ra, &rb);
                            Some(Difference {
                                d,
                                lo,
                                hi,
                                significant: lo > 0.0 || hi < 0.0,
                            })
                        }
                        _ => None,
                    };
                    CompareMetric { a: ra, b: rb, diff }
                })
                .collect();
            CompareRow {
                model,
                model_b,
                suite,
                lang,
                n_a: n(ca),
                n_b: n(cb),
                metrics,
            }
        })
        .collect();

    TEMPLATES.get_template("compare.html")?.render(context! {
        title => format!("assay: {} vs {}", a.run.id, b.run.id),
        css => css(),
        script_src => script_src(None),
        a,
        b,
        header => header_rows(a, b),
        suite_versions_differ,
        graders_differ => a.run.graders != b.run.graders,
        metrics,
        rows,
        pairs => &c.pairs,
        paired_tests => &c.paired_tests,
        changes => &c.changes,
    })
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use sha2::{Digest, Sha256};

    use super::*;

    #[test]
    fn script_hash_is_standard_base64_of_sha256() {
        // sha256("") in base64, as browsers compute it for CSP hashes.
        assert_eq!(
            script_src(Some("")).as_str(),
            Some("'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='")
        );
        assert_eq!(script_src(None).as_str(), Some("'none'"));
    }

    #[test]
    fn snippets_are_one_line() {
        assert_eq!(snippet("a\nb\tc", 10), "a b c");
        assert_eq!(snippet("天安门广场", 2), "天安…");
    }

    #[test]
    fn script_is_only_allowed_by_hash() {
        let page = comparison_html(&crate::compare::compare(empty(), empty(), vec![]));
        assert!(page.contains("script-src 'none'"), "{page}");
        assert!(!page.contains("<script"));
        let page = html(&empty());
        let hash =
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(SCRIPT.as_bytes()));
        assert!(page.contains(&format!("script-src 'sha256-{hash}'")));
        // The hash is of the very script on the page.
        assert!(page.contains(&format!("<script>{}</script>", *SCRIPT)));
    }

    fn empty() -> Results {
        use crate::results::{RequestCounts, RunInfo};
        Results {
            schema: 1,
            run: RunInfo {
                id: "r".into(),
                created_at: "2025-01-01T00:00:00Z".into(),
                finished_at: None,
                status: assay_store::RunStatus::Running,
                assay_version: "0".into(),
                models: vec![],
                suites: vec![],
                langs: vec![],
                samples: 1,
                seed: 0,
                limit: None,
                limit_seed: None,
                filter: vec![],
                judge: None,
                judge_when: None,
                graders: Default::default(),
                requests: RequestCounts::default(),
            },
            cells: vec![],
            language_gaps: vec![],
            model_pairs: vec![],
            guard_effects: vec![],
            consistency: vec![],
            judge_agreement: vec![],
            human_agreement: vec![],
            answer_tokens: vec![],
            group_cells: vec![],
            answers: vec![],
        }
    }

    #[test]
    fn empty_run_renders() {
        let r = empty();
        let page = render_report(&r).unwrap();
        for id in [
            "run",
            "rates",
            "languages",
            "heatmap",
            "accuracy",
            "model-pairs",
            "consistency",
            "judge",
            "review",
            "validity",
            "errors",
            "answers",
        ] {
            assert!(page.contains(&format!("id=\"{id}\"")), "{id}");
        }
        assert!(page.contains("This run is <b>running</b>"));
        render_comparison(&crate::compare::compare(r.clone(), r, vec![])).unwrap();
        let text = super::super::terminal_summary(&empty());
        assert!(text.contains("no rates"), "{text}");
    }
}
