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

use crate::inspect::{RemovedExample, Tally, LENGTH_BOUNDS};
use crate::{BadExample, FileSummary, ScreenError, SourceStats};

/// Rules listed in the report.
const TOP_RULES: usize = 50;

/// Sources listed by their number of documents (the domain distribution).
const TOP_SOURCES: usize = 20;

/// Removed documents shown per category.
pub const EXAMPLES_SHOWN: usize = 5;

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

/// Documents whose text has from `min_chars` up to (not including) `max_chars` characters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LengthRow {
    pub min_chars: u64,
    /// `None` for the last bucket (no upper bound).
    pub max_chars: Option<u64>,
    pub docs: u64,
    pub removed: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub policy: String,
    pub files: u64,
    pub docs: u64,
    pub bytes: u64,
    pub removed: Rate,
    pub removed_bytes: u64,
    /// Documents with a hit, per category id.
    pub categories: BTreeMap<String, u64>,
    /// Each category id's display name.
    #[serde(default)]
    pub category_names: BTreeMap<String, String>,
    /// `(category, rule, hits)`, most hits first.
    pub top_rules: Vec<(String, String, u64)>,
    pub source_threshold: f64,
    pub sources_flagged: Vec<SourceRow>,
    pub sources: u64,
    /// The sources with the most documents, most first (flagged or not).
    #[serde(default)]
    pub top_sources: Vec<SourceRow>,
    /// Documents per text length (characters).
    #[serde(default)]
    pub lengths: Vec<LengthRow>,
    /// Documents per detected language (of their first 512 bytes).
    #[serde(default)]
    pub languages: BTreeMap<String, Tally>,
    /// Up to [`EXAMPLES_SHOWN`] removed documents per category id, files in name order.
    #[serde(default)]
    pub examples: BTreeMap<String, Vec<RemovedExample>>,
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
    let mut category_names: BTreeMap<String, String> = BTreeMap::new();
    let mut examples: BTreeMap<String, Vec<RemovedExample>> = BTreeMap::new();
    let mut lengths: Vec<Tally> = Vec::new();
    let mut languages: BTreeMap<String, Tally> = BTreeMap::new();
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
        for (id, name) in &s.category_names {
            category_names
                .entry(id.clone())
                .or_insert_with(|| name.clone());
        }
        for (category, list) in &s.examples {
            let shown = examples.entry(category.clone()).or_default();
            let room = EXAMPLES_SHOWN.saturating_sub(shown.len());
            shown.extend(list.iter().take(room).cloned());
        }
        crate::inspect::merge_into(&mut lengths, &mut languages, s);
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
    let mut top_sources: Vec<SourceRow> = sources
        .iter()
        .map(|(name, s)| SourceRow {
            source: name.clone(),
            docs: s.docs,
            bytes: s.bytes,
            violating: wilson(s.violating_docs, s.docs),
            flagged: s.docs > 0 && s.violating_docs as f64 / s.docs as f64 > source_threshold,
        })
        .collect();
    top_sources.sort_by(|a, b| b.docs.cmp(&a.docs).then_with(|| a.source.cmp(&b.source)));
    top_sources.truncate(TOP_SOURCES);
    // Every category counted has a name: its own id when no marker recorded one.
    for id in categories.keys() {
        category_names
            .entry(id.clone())
            .or_insert_with(|| id.clone());
    }
    let lengths = lengths
        .iter()
        .enumerate()
        .map(|(i, t)| LengthRow {
            min_chars: if i == 0 { 0 } else { LENGTH_BOUNDS[i - 1] },
            max_chars: LENGTH_BOUNDS.get(i).copied(),
            docs: t.docs,
            removed: t.removed,
        })
        .collect();
    Report {
        policy: policy.to_string(),
        files: summaries.len() as u64,
        docs,
        bytes,
        removed: wilson(removed, docs),
        removed_bytes,
        categories,
        category_names,
        top_rules,
        source_threshold,
        sources_flagged: flagged,
        sources: sources.len() as u64,
        top_sources,
        lengths,
        languages,
        examples,
        pass_threshold,
        batches,
        bad,
        bad_examples,
    }
}

/// Writes `report.json` and `report.html` into `out`, each whole or not at all.
pub fn write(report: &Report, out: &Path) -> Result<(), ScreenError> {
    files(report)?.write(out)
}

/// A report's files, made but not yet written.
pub struct ReportFiles {
    json: Vec<u8>,
    html: String,
}

/// `report.json` and `report.html` of `report`, in memory.
pub fn files(report: &Report) -> Result<ReportFiles, ScreenError> {
    Ok(ReportFiles {
        json: serde_json::to_vec_pretty(report).map_err(|e| ScreenError::Other(e.to_string()))?,
        html: html(report)?,
    })
}

impl ReportFiles {
    /// Writes the files into `out`, each whole or not at all.
    pub fn write(&self, out: &Path) -> Result<(), ScreenError> {
        let path = out.join("report.json");
        write_atomic(&path, &self.json).map_err(crate::io_error(&path))?;
        let path = out.join("report.html");
        write_atomic(&path, self.html.as_bytes()).map_err(crate::io_error(&path))
    }
}

fn pct(r: &Rate) -> String {
    format!(
        "{:.2}% [{:.2}–{:.2}] (n={})",
        100.0 * r.p,
        100.0 * r.lo,
        100.0 * r.hi,
        thousands(r.n)
    )
}

/// A byte count in the unit that suits it (decimal, as disks and `ls -h --si` count):
/// `950 B`, `1.5 KB`, `12.3 MB`, `1.10 GB`, `2.40 TB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KB", "MB", "GB", "TB", "PB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 999.95 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    // Two decimals from GB up, where a tenth is a lot of data.
    if unit >= 2 {
        format!("{value:.2} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A count with thousands separators: `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `k` of `n` as a percentage with one decimal (`—` when `n` is 0).
fn share(k: u64, n: u64) -> String {
    if n == 0 {
        return "—".to_string();
    }
    format!("{:.1}%", 100.0 * k as f64 / n as f64)
}

/// A bar's width in percent of its cell: `n` against the largest `max`, at least 1 when
/// `n` is not 0 (so that a small count still shows).
fn bar(n: u64, max: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    (n * 100 / max.max(1)).max(1)
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
    files: String,
    docs: String,
    size: String,
    removed: String,
    removed_size: String,
    categories: Vec<CategoryView<'a>>,
    top_rules: Vec<RuleView<'a>>,
    source_threshold: String,
    sources_flagged: Vec<SourceView<'a>>,
    sources: String,
    top_sources: Vec<SourceView<'a>>,
    lengths: Vec<DistributionView>,
    languages: Vec<DistributionView>,
    pass_threshold: String,
    batches: Vec<BatchView<'a>>,
    bad: Vec<BadView<'a>>,
    bad_examples: Vec<BadExampleView<'a>>,
}

#[derive(Serialize)]
struct CategoryView<'a> {
    id: &'a str,
    name: &'a str,
    docs: String,
    share: String,
    bar: u64,
    examples: Vec<ExampleView<'a>>,
}

#[derive(Serialize)]
struct ExampleView<'a> {
    file: &'a str,
    line: String,
    source: &'a str,
    url: &'a str,
    kind: &'a str,
    rule: &'a str,
    before: &'a str,
    matched: &'a str,
    after: &'a str,
}

#[derive(Serialize)]
struct RuleView<'a> {
    category: &'a str,
    rule: &'a str,
    hits: String,
}

#[derive(Serialize)]
struct SourceView<'a> {
    source: &'a str,
    docs: String,
    size: String,
    violating: String,
    flagged: bool,
}

/// One row of a distribution: documents, removed, and a bar.
#[derive(Serialize)]
struct DistributionView {
    label: String,
    docs: String,
    share: String,
    removed: String,
    removed_share: String,
    bar: u64,
}

#[derive(Serialize)]
struct BatchView<'a> {
    id: &'a str,
    docs: String,
    sample_pass: String,
    pass: bool,
    confident_pass: bool,
}

#[derive(Serialize)]
struct BadView<'a> {
    kind: &'a str,
    count: String,
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

fn source_view<'a>(s: &'a SourceRow) -> SourceView<'a> {
    SourceView {
        source: &s.source,
        docs: thousands(s.docs),
        size: human_bytes(s.bytes),
        violating: pct(&s.violating),
        flagged: s.flagged,
    }
}

fn distribution(label: String, t: &Tally, max: u64, total: u64) -> DistributionView {
    DistributionView {
        label,
        docs: thousands(t.docs),
        share: share(t.docs, total),
        removed: thousands(t.removed),
        removed_share: share(t.removed, t.docs),
        bar: bar(t.docs, max),
    }
}

/// A length bucket's label: `0–99`, `100–199`, …, `100,000+` characters.
fn length_label(row: &LengthRow) -> String {
    match row.max_chars {
        Some(max) => format!("{}–{}", thousands(row.min_chars), thousands(max - 1)),
        None => format!("{}+", thousands(row.min_chars)),
    }
}

fn render(r: &Report) -> Result<String, minijinja::Error> {
    // Categories by documents, most first (ids break ties, so the order is stable).
    let mut categories: Vec<(&String, u64)> = r.categories.iter().map(|(k, &v)| (k, v)).collect();
    categories.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let max = categories.first().map_or(1, |c| c.1);
    let name_of = |id: &'_ str| -> String {
        r.category_names
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_string())
    };
    let names: BTreeMap<&str, String> = r
        .categories
        .keys()
        .chain(r.top_rules.iter().map(|(c, _, _)| c))
        .map(|id| (id.as_str(), name_of(id)))
        .collect();
    let length_max = r.lengths.iter().map(|l| l.docs).max().unwrap_or(1);
    let mut languages: Vec<(&String, &Tally)> = r.languages.iter().collect();
    languages.sort_by(|a, b| b.1.docs.cmp(&a.1.docs).then_with(|| a.0.cmp(b.0)));
    let language_max = languages.first().map_or(1, |l| l.1.docs);
    let view = View {
        css: minijinja::Value::from_safe_string(
            include_str!("../assets/report.css").trim_end().to_string(),
        ),
        policy: &r.policy,
        files: thousands(r.files),
        docs: thousands(r.docs),
        size: human_bytes(r.bytes),
        removed: pct(&r.removed),
        removed_size: human_bytes(r.removed_bytes),
        categories: categories
            .iter()
            .map(|&(id, docs)| CategoryView {
                id,
                name: names.get(id.as_str()).map_or(id.as_str(), String::as_str),
                docs: thousands(docs),
                share: share(docs, r.removed.k),
                bar: bar(docs, max),
                examples: r
                    .examples
                    .get(id)
                    .map(|list| {
                        list.iter()
                            .map(|e| ExampleView {
                                file: &e.file,
                                line: thousands(e.line),
                                source: &e.source,
                                url: e.url.as_deref().unwrap_or(""),
                                kind: &e.kind,
                                rule: &e.rule,
                                before: &e.before,
                                matched: &e.matched,
                                after: &e.after,
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect(),
        top_rules: r
            .top_rules
            .iter()
            .map(|(category, rule, hits)| RuleView {
                category: names
                    .get(category.as_str())
                    .map_or(category.as_str(), String::as_str),
                rule,
                hits: thousands(*hits),
            })
            .collect(),
        source_threshold: format!("{:.1}", 100.0 * r.source_threshold),
        sources_flagged: r.sources_flagged.iter().map(source_view).collect(),
        sources: thousands(r.sources),
        top_sources: r.top_sources.iter().map(source_view).collect(),
        lengths: r
            .lengths
            .iter()
            .map(|l| {
                let tally = Tally {
                    docs: l.docs,
                    removed: l.removed,
                };
                distribution(length_label(l), &tally, length_max, r.docs)
            })
            .collect(),
        languages: languages
            .iter()
            .map(|(name, t)| distribution(name.to_string(), t, language_max, r.docs))
            .collect(),
        pass_threshold: format!("{:.1}", 100.0 * r.pass_threshold),
        batches: r
            .batches
            .iter()
            .map(|b| BatchView {
                id: &b.id,
                docs: thousands(b.docs),
                sample_pass: pct(&b.sample_pass),
                pass: b.pass,
                confident_pass: b.confident_pass,
            })
            .collect(),
        bad: r
            .bad
            .iter()
            .map(|(kind, &count)| BadView {
                kind,
                count: thousands(count),
            })
            .collect(),
        bad_examples: r
            .bad_examples
            .iter()
            .map(|e| BadExampleView {
                file: &e.file,
                line: e.line.map_or(String::new(), thousands),
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
    let mut file = std::io::BufWriter::new(file);
    // A byte-order mark first: without it Excel reads UTF-8 as the system's code page (GBK on
    // Chinese Windows) and shows Chinese text garbled. `accept` reads files with or without it.
    std::io::Write::write_all(&mut file, "\u{FEFF}".as_bytes()).map_err(crate::io_error(path))?;
    let mut w = csv::Writer::from_writer(file);
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
    pub batches: Vec<BatchVerdict>,
    pub overall: Rate,
    pub pass: bool,
    /// Rows without a usable label.
    pub unlabelled: u64,
}

/// One batch's reviewed pass rate and whether it reaches the threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchVerdict {
    pub batch: String,
    pub rate: Rate,
    pub pass: bool,
}

/// Reads a reviewed sample CSV (the `label` column: pass/fail, or 1/0, yes/no, ok/bad).
pub fn accept(labels: &Path, threshold: f64) -> Result<Acceptance, ScreenError> {
    let mut r = csv::Reader::from_path(labels)
        .map_err(|e| ScreenError::Other(format!("{}: {e}", labels.display())))?;
    let headers = r
        .headers()
        .map_err(|e| ScreenError::Other(format!("{}: {e}", labels.display())))?
        .clone();
    // A byte-order mark (as `sample` writes, and Excel keeps) is not part of the first name.
    let col = |name: &str| {
        headers.iter().position(|h| {
            h.trim_start_matches('\u{FEFF}')
                .trim()
                .eq_ignore_ascii_case(name)
        })
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
            BatchVerdict {
                batch: b,
                pass: rate.p >= threshold,
                rate,
            }
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
        let hostile_source = SourceRow {
            source: HOSTILE.into(),
            docs: 10,
            bytes: 100,
            violating: wilson(3, 10),
            flagged: true,
        };
        Report {
            policy: HOSTILE.into(),
            files: 3,
            docs: 1234,
            bytes: 5_600_000,
            removed: wilson(17, 1234),
            removed_bytes: 40_000,
            categories: BTreeMap::from([(HOSTILE.into(), 12), ("other".into(), 3)]),
            category_names: BTreeMap::from([("other".into(), "Other things".into())]),
            top_rules: vec![(HOSTILE.into(), HOSTILE.into(), 9)],
            source_threshold: 0.05,
            sources_flagged: vec![hostile_source.clone()],
            sources: 4,
            top_sources: vec![hostile_source],
            lengths: vec![
                LengthRow {
                    min_chars: 0,
                    max_chars: Some(100),
                    docs: 1000,
                    removed: 10,
                },
                LengthRow {
                    min_chars: 100_000,
                    max_chars: None,
                    docs: 234,
                    removed: 7,
                },
            ],
            languages: BTreeMap::from([
                (
                    "Chinese".into(),
                    Tally {
                        docs: 234,
                        removed: 7,
                    },
                ),
                (
                    "English".into(),
                    Tally {
                        docs: 1000,
                        removed: 10,
                    },
                ),
            ]),
            examples: BTreeMap::from([(
                HOSTILE.into(),
                vec![RemovedExample {
                    file: HOSTILE.into(),
                    line: 12_345,
                    source: HOSTILE.into(),
                    url: Some(HOSTILE.into()),
                    kind: "keyword".into(),
                    rule: HOSTILE.into(),
                    before: HOSTILE.into(),
                    matched: HOSTILE.into(),
                    after: HOSTILE.into(),
                }],
            )]),
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
        // Policy; the category in its table, as the examples' heading and in the top rules;
        // the example's file, source, URL, rule and its three pieces of text; the rule; the
        // source flagged and among the largest; the batch; the bad kind, and the bad
        // example's file, kind and message.
        assert_eq!(page.matches(ESCAPED).count(), 19, "{page}");
        for s in [
            "<meta name=\"viewport\"",
            "<b>&lt;script&gt;",
            "1,234 documents · 5.6 MB · removed 1.38% [0.86–2.20] (n=1,234) (40.0 KB)",
            "Sources over 5.0% violating (1 of 4)",
            "30.00% [10.78–60.32] (n=10)",
            "<span class=\"pass\">pass</span></td>",
            "<span class=\"pass\">pass</span> (lower bound below)",
            "<span class=\"fail\">fail</span>",
            "style=\"width:100%\"",
            "style=\"width:25%\"",
            "<td class=\"n\">3</td>",
            "Other things <span class=\"id\">other</span>",
            &format!("{ESCAPED}<mark>{ESCAPED}</mark>{ESCAPED}"),
            ":12,345 · ",
            "<td>0–99</td><td class=\"n\">1,000</td><td class=\"n\">81.0%</td><td class=\"n\">10</td><td class=\"n\">1.0%</td>",
            "<td>100,000+</td>",
        ] {
            assert!(page.contains(s), "missing {s:?} in {page}");
        }
        // Categories and languages by count, most first.
        let at = |s: &str| page.find(s).unwrap_or_else(|| panic!("{s} in {page}"));
        assert!(at(&format!("<tr><td>{ESCAPED}</td>")) < at("Other things"));
        assert!(at("<td>English</td>") < at("<td>Chinese</td>"));
        // Every table scrolls in its own container.
        assert_eq!(
            page.matches("<table>").count(),
            page.matches("<div class=\"scroll\"><table>").count()
        );
    }

    #[test]
    fn units_adapt() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500), "1.5 KB");
        assert_eq!(human_bytes(999_960), "1.0 MB");
        assert_eq!(human_bytes(12_345_678), "12.3 MB");
        assert_eq!(human_bytes(1_100_000_000), "1.10 GB");
        assert_eq!(human_bytes(2_400_000_000_000), "2.40 TB");
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn an_empty_report_renders() {
        let page = html(&build("p", &[], 0.05, 0.96)).unwrap();
        assert!(page.starts_with("<!doctype html>"));
        assert!(page.ends_with("</table></div></body></html>\n"));
    }
}
