//! The assessment's files: `assessment.json` (the [`Assessment`] itself; `schema` says its
//! layout), `assessment.csv` (one row per requirement, UTF-8 with a byte order mark for
//! Excel) and `assessment.html` (self-contained, printable, in Chinese, English or both).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::verdict::{Assessment, Bound, Finding, Strength, Verdict};

/// The languages of the HTML report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
    Both,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            "both" => Some(Lang::Both),
            _ => None,
        }
    }
}

/// What the cover of the report names.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Cover {
    pub service: String,
    pub service_version: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

/// Writes the three files into `out`, each whole or not at all; answers their paths.
pub fn write(
    assessment: &Assessment,
    cover: &Cover,
    lang: Lang,
    out: &Path,
) -> Result<Vec<PathBuf>, ReportError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ReportError::Io { path, source }
    };
    std::fs::create_dir_all(out).map_err(io(out))?;
    let json = out.join("assessment.json");
    let text =
        serde_json::to_vec_pretty(assessment).map_err(|e| ReportError::Other(e.to_string()))?;
    assay_core::fs::write_atomic(&json, &text).map_err(io(&json))?;
    let csv = out.join("assessment.csv");
    assay_core::fs::write_atomic(&csv, &csv_bytes(assessment)?).map_err(io(&csv))?;
    let html = out.join("assessment.html");
    assay_core::fs::write_atomic(&html, html_page(assessment, cover, lang)?.as_bytes())
        .map_err(io(&html))?;
    Ok(vec![json, csv, html])
}

pub fn strength_words(s: Strength) -> (&'static str, &'static str) {
    match s {
        Strength::Confident => ("conforms with 95% confidence", "以 95% 置信度符合"),
        Strength::PointEstimateOnly => (
            "conforms on the point estimate only",
            "仅点估计符合（置信区间跨越阈值）",
        ),
        Strength::Exact => ("conforms (an exact count)", "符合（精确计数）"),
        Strength::DoesNotConform => ("does not conform", "不符合"),
        Strength::NotAssessed => ("not assessed (evidence missing)", "未评估（缺少证据）"),
        Strength::NotApplicable => ("not applicable", "不适用"),
    }
}

/// The observed value as shown: a rate as a percentage with its interval, a count as is.
pub fn observed_text(f: &Finding) -> String {
    match (f.observed, f.ci) {
        (Some(p), Some([lo, hi])) => {
            format!("{:.1}% [{:.1}–{:.1}%]", 100.0 * p, 100.0 * lo, 100.0 * hi)
        }
        (Some(x), None) if f.id.ends_with("share") => format!("{:.1}%", 100.0 * x),
        (Some(x), None) => format!("{x}"),
        _ => "—".into(),
    }
}

pub fn threshold_text(f: &Finding) -> String {
    let Some(t) = f.threshold else {
        return "—".into();
    };
    let sign = match f.bound {
        Some(Bound::AtMost) => "≤",
        _ => "≥",
    };
    if f.ci.is_some() || (f.id.ends_with("share") && t <= 1.0) {
        format!("{sign} {:.1}%", 100.0 * t)
    } else {
        format!("{sign} {t}")
    }
}

fn csv_bytes(a: &Assessment) -> Result<Vec<u8>, ReportError> {
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let err = |e: csv::Error| ReportError::Other(e.to_string());
    w.write_record([
        "id",
        "clause",
        "requirement",
        "要求",
        "verdict",
        "strength",
        "observed",
        "n",
        "ci_low",
        "ci_high",
        "threshold",
        "bound",
        "evidence",
        "missing",
        "缺少",
        "runs",
    ])
    .map_err(err)?;
    let num = |x: Option<f64>| x.map(|x| x.to_string()).unwrap_or_default();
    for f in &a.findings {
        let verdict = serde_json::to_value(f.verdict).unwrap_or_default();
        let strength = serde_json::to_value(f.strength).unwrap_or_default();
        let bound = f.bound.map(|b| match b {
            Bound::AtLeast => "at-least",
            Bound::AtMost => "at-most",
        });
        w.write_record([
            f.id.as_str(),
            &f.clause,
            &f.requirement_en,
            &f.requirement_zh,
            verdict.as_str().unwrap_or_default(),
            strength.as_str().unwrap_or_default(),
            &num(f.observed),
            &f.n.map(|n| n.to_string()).unwrap_or_default(),
            &num(f.ci.map(|c| c[0])),
            &num(f.ci.map(|c| c[1])),
            &num(f.threshold),
            bound.unwrap_or_default(),
            &f.evidence_en.join(" | "),
            f.missing.as_deref().unwrap_or_default(),
            f.missing_zh.as_deref().unwrap_or_default(),
            &f.runs.join(" "),
        ])
        .map_err(err)?;
    }
    w.into_inner()
        .map_err(|e| ReportError::Other(e.to_string()))
}

#[derive(Serialize)]
struct Row<'a> {
    f: &'a Finding,
    strength_en: &'static str,
    strength_zh: &'static str,
    css: &'static str,
    observed: String,
    threshold: String,
}

fn html_page(a: &Assessment, cover: &Cover, lang: Lang) -> Result<String, ReportError> {
    let rows: Vec<Row> = a
        .findings
        .iter()
        .map(|f| {
            let (strength_en, strength_zh) = strength_words(f.strength);
            Row {
                f,
                strength_en,
                strength_zh,
                css: match f.verdict {
                    Verdict::Conforms if f.strength == Strength::PointEstimateOnly => "weak",
                    Verdict::Conforms => "ok",
                    Verdict::DoesNotConform => "bad",
                    Verdict::NotApplicable => "na",
                    Verdict::NotAssessed => "missing",
                },
                observed: observed_text(f),
                threshold: threshold_text(f),
            }
        })
        .collect();
    let [conforms, fails, na, missing] = a.tally();
    let mut env = assay_core::html::environment();
    env.add_template(
        "assessment.html",
        include_str!("../templates/assessment.html"),
    )
    .map_err(|e| ReportError::Other(e.to_string()))?;
    let template = env
        .get_template("assessment.html")
        .map_err(|e| ReportError::Other(e.to_string()))?;
    template
        .render(minijinja::context! {
            a => a,
            cover => cover,
            rows => rows,
            zh => lang != Lang::En,
            en => lang != Lang::Zh,
            html_lang => if lang == Lang::En { "en" } else { "zh-CN" },
            conforms => conforms,
            fails => fails,
            na => na,
            missing => missing,
            assay_version => env!("CARGO_PKG_VERSION"),
        })
        .map_err(|e| ReportError::Other(e.to_string()))
}
