//! The screening report, computed from the per-file summaries: totals, categories, top rules,
//! sources over the violation threshold, acceptance per batch, bad input. Written as
//! `report.json` and a self-contained `report.html`; samples go out as CSV for human review
//! and come back as labels for the acceptance verdict.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::LazyLock;

use assay_core::fs::write_atomic;
use assay_stats::wilson;
pub use assay_stats::Rate;
use serde::{Deserialize, Serialize};

use crate::{BadExample, FileSummary, ScreenError, SourceStats};

/// Rules listed in the report.
const TOP_RULES: usize = 50;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRow {
    pub source: String,
    pub docs: u64,
    pub bytes: u64,
    pub violating: Rate,
    pub flagged: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchRow {
    pub id: String,
    pub docs: u64,
    /// The sample's automatic pass rate.
    pub sample_pass: Rate,
    /// The point estimate reaches the threshold.
    pub pass: bool,
    /// The Wilson lower bound reaches it too.
    pub confident_pass: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub policy: String,
    pub files: u64,
    pub docs: u64,
    pub bytes: u64,
    pub removed: Rate,
    pub removed_bytes: u64,
    /// Documents with a hit, per category.
    pub categories: BTreeMap<String, u64>,
    /// `(category, rule, hits)`, most hits first.
    pub top_rules: Vec<(String, String, u64)>,
    pub source_threshold: f64,
    pub sources_flagged: Vec<SourceRow>,
    pub sources: u64,
    pub pass_threshold: f64,
    pub batches: Vec<BatchRow>,
    pub bad: BTreeMap<String, u64>,
    pub bad_examples: Vec<BadExample>,
}

/// Builds the report of `summaries`.
pub fn build(
    policy: &str,
    summaries: &[FileSummary],
    source_threshold: f64,
    pass_threshold: f64,
) -> Report {
    let mut categories: BTreeMap<String, u64> = BTreeMap::new();
    let mut rules: BTreeMap<String, u64> = BTreeMap::new();
    let mut sources: BTreeMap<String, SourceStats> = BTreeMap::new();
    let mut bad: BTreeMap<String, u64> = BTreeMap::new();
    let mut bad_examples = Vec::new();
    let mut batches = Vec::new();
    let (mut docs, mut bytes, mut removed, mut removed_bytes) = (0, 0, 0, 0);
    for s in summaries {
        docs += s.docs;
        bytes += s.bytes;
        removed += s.removed_docs;
        removed_bytes += s.removed_bytes;
        for (k, v) in &s.categories {
            *categories.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &s.rules {
            *rules.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &s.sources {
            let e = sources.entry(k.clone()).or_default();
            e.docs += v.docs;
            e.bytes += v.bytes;
            e.violating_docs += v.violating_docs;
            e.violating_bytes += v.violating_bytes;
        }
        for (k, v) in &s.bad {
            *bad.entry(k.clone()).or_default() += v;
        }
        bad_examples.extend(s.bad_examples.iter().cloned());
        for b in &s.batches {
            let passes = b.sample.iter().filter(|d| d.auto_pass).count() as u64;
            let rate = wilson(passes, b.sample.len() as u64);
            batches.push(BatchRow {
                id: b.id.clone(),
                docs: b.docs,
                pass: rate.n > 0 && rate.p >= pass_threshold,
                confident_pass: rate.n > 0 && rate.lo >= pass_threshold,
                sample_pass: rate,
            });
        }
    }
    let mut top_rules: Vec<(String, String, u64)> = rules
        .into_iter()
        .map(|(k, v)| {
            let (c, r) = k.split_once('\t').unwrap_or(("", &k));
            (c.to_string(), r.to_string(), v)
        })
        .collect();
    top_rules.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| (&a.0, &a.1).cmp(&(&b.0, &b.1))));
    top_rules.truncate(TOP_RULES);
    let mut flagged: Vec<SourceRow> = sources
        .iter()
        .filter(|(_, s)| s.docs > 0 && s.violating_docs as f64 / s.docs as f64 > source_threshold)
        .map(|(name, s)| SourceRow {
            source: name.clone(),
            docs: s.docs,
            bytes: s.bytes,
            violating: wilson(s.violating_docs, s.docs),
            flagged: true,
        })
        .collect();
    flagged.sort_by(|a, b| {
        b.violating
            .k
            .cmp(&a.violating.k)
            .then_with(|| a.source.cmp(&b.source))
    });
    Report {
        policy: policy.to_string(),
        files: summaries.len() as u64,
        docs,
        bytes,
        removed: wilson(removed, docs),
        removed_bytes,
        categories,
        top_rules,
        source_threshold,
        sources_flagged: flagged,
        sources: sources.len() as u64,
        pass_threshold,
        batches,
        bad,
        bad_examples,
    }
}

/// Writes `report.json` and `report.html` into `out`, each whole or not at all.
pub fn write(report: &Report, out: &Path) -> Result<(), ScreenError> {
    let json = serde_json::to_vec_pretty(report).map_err(|e| ScreenError::Other(e.to_string()))?;
    let path = out.join("report.json");
    write_atomic(&path, &json).map_err(crate::io_error(&path))?;
    let path = out.join("report.html");
    write_atomic(&path, html(report)?.as_bytes()).map_err(crate::io_error(&path))?;
    Ok(())
}

fn pct(r: &Rate) -> String {
    format!(
        "{:.2}% [{:.2}–{:.2}] (n={})",
        100.0 * r.p,
        100.0 * r.lo,
        100.0 * r.hi,
        r.n
    )
}

static TEMPLATES: LazyLock<minijinja::Environment<'static>> = LazyLock::new(|| {
    let mut env = assay_core::html::environment();
    // Compiled in; the tests render it, so it parses.
    env.add_template("report.html", include_str!("../templates/report.html"))
        .expect("the built-in report template parses");
    env
});

/// The report as the template sees it: numbers formatted, rows flattened.
#[derive(Serialize)]
struct View<'a> {
    css: minijinja::Value,
    policy: &'a str,
    files: u64,
    docs: u64,
    megabytes: String,
    removed: String,
    removed_megabytes: String,
    categories: Vec<CategoryView<'a>>,
    top_rules: Vec<RuleView<'a>>,
    source_threshold: String,
    sources_flagged: Vec<SourceView<'a>>,
    sources: u64,
    pass_threshold: String,
    batches: Vec<BatchView<'a>>,
    bad: Vec<BadView<'a>>,
    bad_examples: Vec<BadExampleView<'a>>,
}

#[derive(Serialize)]
struct CategoryView<'a> {
    name: &'a str,
    docs: u64,
    bar_px: u64,
}

#[derive(Serialize)]
struct RuleView<'a> {
    category: &'a str,
    rule: &'a str,
    hits: u64,
}

#[derive(Serialize)]
struct SourceView<'a> {
    source: &'a str,
    docs: u64,
    violating: String,
}

#[derive(Serialize)]
struct BatchView<'a> {
    id: &'a str,
    docs: u64,
    sample_pass: String,
    pass: bool,
    confident_pass: bool,
}

#[derive(Serialize)]
struct BadView<'a> {
    kind: &'a str,
    count: u64,
}

#[derive(Serialize)]
struct BadExampleView<'a> {
    file: &'a str,
    line: String,
    kind: &'a str,
    message: &'a str,
}

/// The HTML report: one file, no script, no external resource.
pub fn html(r: &Report) -> Result<String, ScreenError> {
    render(r).map_err(|e| ScreenError::Other(format!("the report template: {e:#}")))
}

fn render(r: &Report) -> Result<String, minijinja::Error> {
    let max = r.categories.values().copied().max().unwrap_or(1).max(1);
    let view = View {
        css: minijinja::Value::from_safe_string(
            include_str!("../assets/report.css").trim_end().to_string(),
        ),
        policy: &r.policy,
        files: r.files,
        docs: r.docs,
        megabytes: format!("{:.1}", r.bytes as f64 / 1e6),
        removed: pct(&r.removed),
        removed_megabytes: format!("{:.1}", r.removed_bytes as f64 / 1e6),
        categories: r
            .categories
            .iter()
            .map(|(name, &docs)| CategoryView {
                name,
                docs,
                bar_px: (docs * 300 / max).max(1),
            })
            .collect(),
        top_rules: r
            .top_rules
            .iter()
            .map(|(category, rule, hits)| RuleView {
                category,
                rule,
                hits: *hits,
            })
            .collect(),
        source_threshold: format!("{:.1}", 100.0 * r.source_threshold),
        sources_flagged: r
            .sources_flagged
            .iter()
            .map(|s| SourceView {
                source: &s.source,
                docs: s.docs,
                violating: pct(&s.violating),
            })
            .collect(),
        sources: r.sources,
        pass_threshold: format!("{:.1}", 100.0 * r.pass_threshold),
        batches: r
            .batches
            .iter()
            .map(|b| BatchView {
                id: &b.id,
                docs: b.docs,
                sample_pass: pct(&b.sample_pass),
                pass: b.pass,
                confident_pass: b.confident_pass,
            })
            .collect(),
        bad: r
            .bad
            .iter()
            .map(|(kind, &count)| BadView { kind, count })
            .collect(),
        bad_examples: r
            .bad_examples
            .iter()
            .map(|e| BadExampleView {
                file: &e.file,
                line: e.line.map_or(String::new(), |l| l.to_string()),
                kind: &e.kind,
                message: &e.message,
            })
            .collect(),
    };
    TEMPLATES.get_template("report.html")?.render(view)
}

/// Writes every batch's sample as CSV for review: batch, file line, source, url, automatic
/// verdict and reasons, text, and an empty `label` column (pass | fail).
pub fn write_sample_csv(summaries: &[FileSummary], path: &Path) -> Result<u64, ScreenError> {
    // Review data (documents' text and the reviewer's labels): readable by its owner only.
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path).map_err(crate::io_error(path))?;
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(file));
    let err = |e: csv::Error| ScreenError::Other(format!("{}: {e}", path.display()));
    w.write_record([
        "batch", "line", "source", "url", "auto", "reasons", "text", "label",
    ])
    .map_err(err)?;
    let mut rows = 0;
    for s in summaries {
        for b in &s.batches {
            for d in &b.sample {
                w.write_record([
                    b.id.as_str(),
                    &d.line.to_string(),
                    &d.source,
                    d.url.as_deref().unwrap_or(""),
                    if d.auto_pass { "pass" } else { "fail" },
                    &d.reasons.join("; "),
                    &d.text,
                    "",
                ])
                .map_err(err)?;
                rows += 1;
            }
        }
    }
    w.flush().map_err(|e| ScreenError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    Ok(rows)
}

/// The verdict on reviewed labels: per batch and overall, the pass rate with its interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Acceptance {
    pub threshold: f64,
    pub batches: Vec<(String, Rate, bool)>,
    pub overall: Rate,
    pub pass: bool,
    /// Rows without a usable label.
    pub unlabelled: u64,
}

/// Reads a reviewed sample CSV (the `label` column: pass/fail, or 1/0, yes/no, ok/bad).
pub fn accept(labels: &Path, threshold: f64) -> Result<Acceptance, ScreenError> {
    let mut r = csv::Reader::from_path(labels)
        .map_err(|e| ScreenError::Other(format!("{}: {e}", labels.display())))?;
    let headers = r
        .headers()
        .map_err(|e| ScreenError::Other(format!("{}: {e}", labels.display())))?
        .clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let (Some(batch_col), Some(label_col)) = (col("batch"), col("label")) else {
        return Err(ScreenError::Input {
            path: labels.to_path_buf(),
            message: "needs the columns batch and label (as `assay screen sample` writes them)"
                .into(),
        });
    };
    let mut per: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut unlabelled = 0;
    for (i, record) in r.records().enumerate() {
        let record = record
            .map_err(|e| ScreenError::Other(format!("{}: row {}: {e}", labels.display(), i + 2)))?;
        let label = record
            .get(label_col)
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let pass = match label.as_str() {
            "pass" | "1" | "yes" | "ok" | "y" | "true" => true,
            "fail" | "0" | "no" | "bad" | "n" | "false" => false,
            _ => {
                unlabelled += 1;
                continue;
            }
        };
        let e = per
            .entry(record.get(batch_col).unwrap_or("").to_string())
            .or_default();
        e.1 += 1;
        if pass {
            e.0 += 1;
        }
    }
    let (mut k, mut n) = (0, 0);
    let batches = per
        .into_iter()
        .map(|(b, (pk, pn))| {
            k += pk;
            n += pn;
            let rate = wilson(pk, pn);
            let pass = rate.p >= threshold;
            (b, rate, pass)
        })
        .collect();
    let overall = wilson(k, n);
    Ok(Acceptance {
        threshold,
        batches,
        pass: n > 0 && overall.p >= threshold,
        overall,
        unlabelled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "<script>alert('x')</script> & \"q\"";
    const ESCAPED: &str = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;";

    fn hostile_report() -> Report {
        Report {
            policy: HOSTILE.into(),
            files: 3,
            docs: 1234,
            bytes: 5_600_000,
            removed: wilson(17, 1234),
            removed_bytes: 40_000,
            categories: BTreeMap::from([(HOSTILE.into(), 12), ("other".into(), 3)]),
            top_rules: vec![(HOSTILE.into(), HOSTILE.into(), 9)],
            source_threshold: 0.05,
            sources_flagged: vec![SourceRow {
                source: HOSTILE.into(),
                docs: 10,
                bytes: 100,
                violating: wilson(3, 10),
                flagged: true,
            }],
            sources: 4,
            pass_threshold: 0.96,
            batches: vec![
                BatchRow {
                    id: HOSTILE.into(),
                    docs: 100,
                    sample_pass: wilson(50, 50),
                    pass: true,
                    confident_pass: true,
                },
                BatchRow {
                    id: "b2".into(),
                    docs: 100,
                    sample_pass: wilson(49, 50),
                    pass: true,
                    confident_pass: false,
                },
                BatchRow {
                    id: "b3".into(),
                    docs: 100,
                    sample_pass: wilson(20, 50),
                    pass: false,
                    confident_pass: false,
                },
            ],
            bad: BTreeMap::from([(HOSTILE.into(), 2)]),
            bad_examples: vec![BadExample {
                file: HOSTILE.into(),
                line: Some(3),
                kind: HOSTILE.into(),
                message: HOSTILE.into(),
            }],
        }
    }

    #[test]
    fn every_string_from_the_data_is_escaped() {
        let page = html(&hostile_report()).unwrap();
        assert!(!page.contains("<script"), "{page}");
        // Policy, category, rule (twice: category and rule), source, batch, bad kind, and the
        // bad example's file, kind and message.
        assert_eq!(page.matches(ESCAPED).count(), 10, "{page}");
        for s in [
            "<b>&lt;script&gt;",
            "removed 1.38% [0.86–2.20] (n=1234) (0.0 MB)",
            "Sources over 5.0% violating (1 of 4)",
            "30.00% [10.78–60.32] (n=10)",
            "<span class=\"pass\">pass</span></td>",
            "<span class=\"pass\">pass</span> (lower bound below)",
            "<span class=\"fail\">fail</span>",
            "style=\"width:300px\"",
            "<td class=\"n\">3</td>",
        ] {
            assert!(page.contains(s), "missing {s:?} in {page}");
        }
    }

    #[test]
    fn an_empty_report_renders() {
        let page = html(&build("p", &[], 0.05, 0.96)).unwrap();
        assert!(page.starts_with("<!doctype html>"));
        assert!(page.ends_with("</table></body></html>\n"));
    }
}
