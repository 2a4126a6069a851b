//! The screening report, computed from the per-file summaries: totals, categories, top rules,
//! sources over the violation threshold, acceptance per batch, bad input. Written as
//! `report.json` and a self-contained `report.html`; samples go out as CSV for human review
//! and come back as labels for the acceptance verdict.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

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

/// Writes `report.json` and `report.html` into `out`.
pub fn write(report: &Report, out: &Path) -> Result<(), ScreenError> {
    let json = serde_json::to_vec_pretty(report).map_err(|e| ScreenError::Other(e.to_string()))?;
    let path = out.join("report.json");
    std::fs::write(&path, json).map_err(crate::io_error(&path))?;
    let path = out.join("report.html");
    std::fs::write(&path, html(report)).map_err(crate::io_error(&path))?;
    Ok(())
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
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

/// The HTML report: one file, no script, no external resource.
pub fn html(r: &Report) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>assay screen report</title>
<style>body{{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;padding:0 1em}}table{{border-collapse:collapse;margin:.5em 0 1.5em}}td,th{{border:1px solid #ccc;padding:.25em .6em;text-align:left}}td.n{{text-align:right}}.bar{{background:#c0392b;height:.8em;display:inline-block}}.fail{{color:#c0392b;font-weight:600}}.pass{{color:#1e8449;font-weight:600}}</style></head><body>
<h1>Screening report</h1>
<p>Policy <b>{}</b> · {} files · {} documents · {:.1} MB · removed {} ({:.1} MB)</p>
"#,
        esc(&r.policy),
        r.files,
        r.docs,
        r.bytes as f64 / 1e6,
        esc(&pct(&r.removed)),
        r.removed_bytes as f64 / 1e6
    );
    s.push_str("<h2>Categories</h2><table><tr><th>category</th><th>documents</th><th></th></tr>");
    let max = r.categories.values().copied().max().unwrap_or(1).max(1);
    for (c, n) in &r.categories {
        let _ = write!(
            s,
            r#"<tr><td>{}</td><td class="n">{n}</td><td><span class="bar" style="width:{}px"></span></td></tr>"#,
            esc(c),
            (n * 300 / max).max(1)
        );
    }
    s.push_str(
        "</table><h2>Top rules</h2><table><tr><th>category</th><th>rule</th><th>hits</th></tr>",
    );
    for (c, rule, n) in &r.top_rules {
        let _ = write!(
            s,
            r#"<tr><td>{}</td><td>{}</td><td class="n">{n}</td></tr>"#,
            esc(c),
            esc(rule)
        );
    }
    let _ = write!(
        s,
        "</table><h2>Sources over {:.1}% violating ({} of {})</h2><table><tr><th>source</th><th>documents</th><th>violating [95% CI]</th></tr>",
        100.0 * r.source_threshold,
        r.sources_flagged.len(),
        r.sources
    );
    for row in &r.sources_flagged {
        let _ = write!(
            s,
            r#"<tr><td>{}</td><td class="n">{}</td><td>{}</td></tr>"#,
            esc(&row.source),
            row.docs,
            esc(&pct(&row.violating))
        );
    }
    let _ = write!(
        s,
        "</table><h2>Sampled acceptance (threshold {:.1}%)</h2><table><tr><th>batch</th><th>documents</th><th>sample pass rate [95% CI]</th><th>verdict</th></tr>",
        100.0 * r.pass_threshold
    );
    for b in &r.batches {
        let verdict = if b.pass {
            if b.confident_pass {
                r#"<span class="pass">pass</span>"#
            } else {
                r#"<span class="pass">pass</span> (lower bound below)"#
            }
        } else {
            r#"<span class="fail">fail</span>"#
        };
        let _ = write!(
            s,
            r#"<tr><td>{}</td><td class="n">{}</td><td>{}</td><td>{verdict}</td></tr>"#,
            esc(&b.id),
            b.docs,
            esc(&pct(&b.sample_pass))
        );
    }
    s.push_str("</table><h2>Bad input</h2><table><tr><th>kind</th><th>count</th></tr>");
    for (k, n) in &r.bad {
        let _ = write!(s, r#"<tr><td>{}</td><td class="n">{n}</td></tr>"#, esc(k));
    }
    s.push_str("</table><table><tr><th>file</th><th>line</th><th>kind</th><th>message</th></tr>");
    for e in &r.bad_examples {
        let _ = write!(
            s,
            "<tr><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
            esc(&e.file),
            e.line.map_or(String::new(), |l| l.to_string()),
            esc(&e.kind),
            esc(&e.message)
        );
    }
    s.push_str("</table></body></html>\n");
    s
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
