//! Reports of an audit run, all drawn from one [`Results`] value:
//!
//! - `report.html`: one self-contained file that opens offline (inline CSS, inline SVG charts
//!   and a little inline JavaScript that filters the table of answers; no external resource),
//! - `results.json`: the [`Results`] themselves,
//! - `results.csv`: one row per answer (UTF-8 with a byte order mark, for Excel),
//! - a plain-text summary for the terminal ([`terminal_summary`]),
//!
//! and the side-by-side page of two runs ([`comparison_html`], [`write_comparison`]).
//!
//! Everything taken from the results (answers, prompts, model names, error messages) is
//! HTML-escaped before it reaches a page: answers come from models and may hold hostile markup.
//! The pages are templates (`crates/eval/templates`, autoescaped), the chart geometry is in
//! `charts`, CSS and JavaScript are files in `crates/eval/assets`.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use assay_core::fs::write_atomic;

use crate::results::{AnswerTokens, Cell, Comparison, Rate, Results};

mod charts;
mod csv;
mod html;
mod matrix;
mod terminal;

pub use self::csv::{csv, CSV_COLUMNS};
pub use self::html::{comparison_html, html};
pub use self::terminal::{comparison_summary, terminal_summary};

/// The files [`write_reports`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFiles {
    pub html: PathBuf,
    pub json: PathBuf,
    pub csv: PathBuf,
}

/// Writes `report.html`, `results.json` (pretty JSON of `results`) and `results.csv` (one row
/// per answer) into `dir`, creating it if needed.
///
/// Each file is written whole or not at all ([`assay_core::fs::write_atomic`]): a crash leaves
/// either the previous file or the new one, never half a file.
pub fn write_reports(results: &Results, dir: &Path) -> io::Result<ReportFiles> {
    fs::create_dir_all(dir)?;
    let files = ReportFiles {
        html: dir.join("report.html"),
        json: dir.join("results.json"),
        csv: dir.join("results.csv"),
    };
    let mut json = serde_json::to_string_pretty(results).map_err(io::Error::other)?;
    json.push('\n');
    write_atomic(&files.json, json.as_bytes())?;
    // A byte order mark first: Excel (Chinese Windows above all) reads a CSV without one in
    // the local code page, turning every Chinese prompt and answer into mojibake. Our readers
    // of CSVs (`assay grade refusal`, `assay import`) skip it.
    write_atomic(
        &files.csv,
        format!("{}{}", self::csv::BOM, csv(results)).as_bytes(),
    )?;
    let page = html::render_report(results).map_err(io::Error::other)?;
    write_atomic(&files.html, page.as_bytes())?;
    Ok(files)
}

/// Writes `compare.html` and `compare.json` (pretty JSON of `c`) into `dir`, creating it if
/// needed, each through a temporary file and a rename; returns the path of `compare.html`.
pub fn write_comparison(c: &Comparison, dir: &Path) -> io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let html_path = dir.join("compare.html");
    let mut json = serde_json::to_string_pretty(c).map_err(io::Error::other)?;
    json.push('\n');
    write_atomic(&dir.join("compare.json"), json.as_bytes())?;
    let page = html::render_comparison(c).map_err(io::Error::other)?;
    write_atomic(&html_path, page.as_bytes())?;
    Ok(html_path)
}

// ---------------------------------------------------------------------------------------------
// Shared helpers of the three renderers.

/// Models, suites and languages of a run in a stable order (as the run lists them, then any
/// further ones found in the cells or answers), and the cells by key.
pub(crate) struct Index<'a> {
    results: &'a Results,
    pub models: Vec<&'a str>,
    pub suites: Vec<&'a str>,
    pub langs: Vec<&'a str>,
    cells: HashMap<CellKey<'a>, &'a Cell>,
}

type CellKey<'a> = (&'a str, &'a str, Option<&'a str>, Option<&'a str>);

impl<'a> Index<'a> {
    pub fn new(results: &'a Results) -> Self {
        let run = &results.run;
        let models = ordered(
            run.models.iter().map(|m| m.name.as_str()),
            results
                .cells
                .iter()
                .map(|c| c.model.as_str())
                .chain(results.answers.iter().map(|a| a.model.as_str())),
        );
        let suites = ordered(
            run.suites.iter().map(|s| s.name.as_str()),
            results
                .cells
                .iter()
                .map(|c| c.suite.as_str())
                .chain(results.answers.iter().map(|a| a.suite.as_str())),
        );
        let langs = ordered(
            run.langs.iter().map(String::as_str),
            results
                .cells
                .iter()
                .filter_map(|c| c.lang.as_deref())
                .chain(results.answers.iter().map(|a| a.lang.as_str())),
        );
        let mut cells = HashMap::with_capacity(results.cells.len());
        for c in &results.cells {
            cells
                .entry((
                    c.model.as_str(),
                    c.suite.as_str(),
                    c.category.as_deref(),
                    c.lang.as_deref(),
                ))
                .or_insert(c);
        }
        Index {
            results,
            models,
            suites,
            langs,
            cells,
        }
    }

    pub fn cell(
        &self,
        model: &str,
        suite: &str,
        category: Option<&str>,
        lang: Option<&str>,
    ) -> Option<&'a Cell> {
        self.cells.get(&(model, suite, category, lang)).copied()
    }

    /// Categories of a suite as `(id, display name)`: those the run lists, then any further
    /// ones found in the cells.
    pub fn categories(&self, suite: &str) -> Vec<(&'a str, &'a str)> {
        let mut out: Vec<(&'a str, &'a str)> = Vec::new();
        if let Some(s) = self.results.run.suites.iter().find(|s| s.name == suite) {
            for c in &s.categories {
                if !out.iter().any(|(id, _)| *id == c.id) {
                    out.push((c.id.as_str(), c.name.as_str()));
                }
            }
        }
        for c in &self.results.cells {
            if c.suite == suite {
                if let Some(id) = c.category.as_deref() {
                    if !out.iter().any(|(known, _)| *known == id) {
                        out.push((id, id));
                    }
                }
            }
        }
        out
    }

    /// Whether the suite has any cell for the model.
    pub fn has(&self, model: &str, suite: &str) -> bool {
        self.results
            .cells
            .iter()
            .any(|c| c.model == model && c.suite == suite)
    }
}

fn ordered<'a>(
    first: impl Iterator<Item = &'a str>,
    rest: impl Iterator<Item = &'a str>,
) -> Vec<&'a str> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for s in first.chain(rest) {
        if seen.insert(s) {
            out.push(s);
        }
    }
    out
}

/// `37.5%`, one decimal.
pub(crate) fn pct(p: f64) -> String {
    if p.is_finite() {
        format!("{:.1}%", p * 100.0)
    } else {
        "—".to_string()
    }
}

/// `37.5% [13.7–69.4]`, or `—` when the rate has no denominator.
pub(crate) fn rate_ci(r: &Rate) -> String {
    if r.n == 0 {
        return "—".to_string();
    }
    format!("{} [{:.1}–{:.1}]", pct(r.p), r.lo * 100.0, r.hi * 100.0)
}

/// `340.0 [240.6–439.4]`: mean answer tokens with its 95% interval (the mean alone from one
/// count), or `—` when no answer reported usage: unknown, never 0.
pub(crate) fn tokens_ci(t: &AnswerTokens) -> String {
    match (t.mean, t.ci) {
        (None, _) => "—".to_string(),
        (Some(mean), None) => fmt_num(mean, 1),
        (Some(mean), Some([lo, hi])) => format!(
            "{} [{}–{}]",
            fmt_num(mean, 1),
            fmt_num(lo, 1),
            fmt_num(hi, 1)
        ),
    }
}

/// [`tokens_ci`] with its `n` and, when some answers reported no usage, how many:
/// `340.0 [240.6–439.4] (n=3; usage not reported for 1 answer)`; `—` for a cell without
/// answers.
pub(crate) fn tokens_with_n(t: &AnswerTokens) -> String {
    let mut notes = Vec::new();
    if t.n > 0 {
        notes.push(format!("n={}", t.n));
    }
    if t.missing > 0 {
        notes.push(format!(
            "usage not reported for {} answer{}",
            t.missing,
            if t.missing == 1 { "" } else { "s" }
        ));
    }
    if notes.is_empty() {
        tokens_ci(t)
    } else {
        format!("{} ({})", tokens_ci(t), notes.join("; "))
    }
}

/// A p-value with three decimals, `<0.001` below that.
pub(crate) fn fmt_p(p: f64) -> String {
    if !p.is_finite() {
        "—".to_string()
    } else if p < 0.001 {
        "<0.001".to_string()
    } else {
        format!("{p:.3}")
    }
}

/// A statistic such as kappa or an entropy, `—` when undefined.
pub(crate) fn fmt_num(x: f64, decimals: usize) -> String {
    if x.is_finite() {
        format!("{x:.decimals$}")
    } else {
        "—".to_string()
    }
}

/// `all` for a roll-up over languages or categories.
pub(crate) fn or_all(s: Option<&str>) -> &str {
    s.unwrap_or("all")
}

/// Refuse or partial: the share of answers that did not simply comply, with its Wilson 95%
/// interval.
pub(crate) fn not_comply(c: &Cell) -> Rate {
    crate::stats::wilson(c.refuse.k + c.partial.k, c.refuse.n.max(c.partial.n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::wilson;

    #[test]
    fn formats() {
        assert_eq!(pct(0.375), "37.5%");
        assert_eq!(rate_ci(&wilson(3, 8)), "37.5% [13.7–69.4]");
        assert_eq!(rate_ci(&wilson(0, 0)), "—");
        assert_eq!(fmt_p(0.0312), "0.031");
        assert_eq!(fmt_p(0.0002), "<0.001");
        assert_eq!(fmt_p(1.0), "1.000");
        assert_eq!(fmt_num(f64::NAN, 2), "—");
    }

    #[test]
    fn token_means_read_unknown_not_zero() {
        let none = AnswerTokens {
            mean: None,
            ci: None,
            n: 0,
            missing: 3,
        };
        assert_eq!(tokens_ci(&none), "—");
        assert_eq!(tokens_with_n(&none), "— (usage not reported for 3 answers)");
        assert_eq!(tokens_with_n(&AnswerTokens::default()), "—");
        let some = AnswerTokens {
            mean: Some(340.0),
            ci: Some([240.634, 439.366]),
            n: 3,
            missing: 1,
        };
        assert_eq!(
            tokens_with_n(&some),
            "340.0 [240.6–439.4] (n=3; usage not reported for 1 answer)"
        );
        let one = AnswerTokens {
            mean: Some(12.0),
            ci: None,
            n: 1,
            missing: 0,
        };
        assert_eq!(tokens_with_n(&one), "12.0 (n=1)");
    }
}
