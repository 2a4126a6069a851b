//! `tokens.json` (the [`Summary`]), `tokens.csv` (one row per tokenizer × language, UTF-8 with
//! a byte order mark for Excel) and `tokens.html` (self-contained: the table, the premium with
//! its interval and the tokens per Han character as inline SVG, and example sentences
//! coloured by token).

use std::path::{Path, PathBuf};

use minijinja::context;
use serde::Serialize;

use crate::measure::Summary;
use crate::TokensError;

const TEMPLATE: &str = include_str!("../templates/tokens.html");

/// Writes the three files into `dir`; returns their paths.
pub fn write(summary: &Summary, dir: &Path) -> Result<Vec<PathBuf>, TokensError> {
    std::fs::create_dir_all(dir).map_err(|e| written(dir, e))?;
    let mut out = Vec::new();
    let json = dir.join("tokens.json");
    let mut text =
        serde_json::to_string_pretty(summary).map_err(|e| TokensError::Other(e.to_string()))?;
    text.push('\n');
    assay_core::fs::write_atomic(&json, text.as_bytes()).map_err(|e| written(&json, e))?;
    out.push(json);
    let csv = dir.join("tokens.csv");
    assay_core::fs::write_atomic(&csv, &csv_bytes(summary)?).map_err(|e| written(&csv, e))?;
    out.push(csv);
    let html = dir.join("tokens.html");
    assay_core::fs::write_atomic(&html, render_html(summary)?.as_bytes())
        .map_err(|e| written(&html, e))?;
    out.push(html);
    Ok(out)
}

fn written(path: &Path, e: std::io::Error) -> TokensError {
    TokensError::Load {
        path: path.display().to_string(),
        message: format!("cannot write it: {e}"),
    }
}

fn csv_bytes(s: &Summary) -> Result<Vec<u8>, TokensError> {
    let err = |e: csv::Error| TokensError::Other(e.to_string());
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    w.write_record([
        "tokenizer",
        "lang",
        "tokens",
        "chars",
        "bytes",
        "words",
        "han",
        "tokens_per_char",
        "tokens_per_han",
        "tokens_per_word",
        "chars_per_token",
        "bytes_per_token",
        "premium",
        "premium_ci_low",
        "premium_ci_high",
        "han_single_share",
        "han_single_share_weighted",
        "input_usd_per_1k_segments",
        "input_usd_per_1m_chars",
    ])
    .map_err(err)?;
    let num = |x: Option<f64>| x.map(|x| format!("{x:.6}")).unwrap_or_default();
    for t in &s.tokenizers {
        for lang in &s.langs {
            let Some(l) = t.langs.get(lang) else {
                continue;
            };
            let p = t.premium.get(lang);
            w.write_record([
                t.name.as_str(),
                lang,
                &l.tokens.to_string(),
                &l.chars.to_string(),
                &l.bytes.to_string(),
                &l.words.to_string(),
                &l.han.to_string(),
                &num(Some(l.tokens_per_char)),
                &num(l.tokens_per_han),
                &num(l.tokens_per_word),
                &num(Some(l.chars_per_token)),
                &num(Some(l.bytes_per_token)),
                &num(p.map(|p| p.value)),
                &num(p.map(|p| p.ci[0])),
                &num(p.map(|p| p.ci[1])),
                &num(t.han_single_share),
                &num(t.han_single_share_weighted),
                &num(l.cost.map(|c| c.input_per_1k_segments)),
                &num(l.cost.map(|c| c.input_per_1m_chars)),
            ])
            .map_err(err)?;
        }
    }
    w.into_inner()
        .map_err(|e| TokensError::Other(e.to_string()))
}

/// One bar of a chart: where it is drawn (in the chart's units, 0–100) and its label.
#[derive(Serialize)]
struct Bar {
    label: String,
    lang: String,
    value: String,
    x: f64,
    lo: f64,
    hi: f64,
}

fn render_html(s: &Summary) -> Result<String, TokensError> {
    // The premium chart: every tokenizer × language after the first, on one scale from 0 to
    // the largest upper bound, with parity (1.0) marked.
    let mut premiums = Vec::new();
    for t in &s.tokenizers {
        for lang in s.langs.iter().skip(1) {
            if let Some(p) = t.premium.get(lang) {
                premiums.push((t.name.clone(), lang.clone(), *p));
            }
        }
    }
    let top = premiums
        .iter()
        .map(|(_, _, p)| p.ci[1].max(p.value))
        .filter(|x| x.is_finite())
        .fold(1.0f64, f64::max)
        * 1.05;
    let scale = |x: f64| if x.is_finite() { 100.0 * x / top } else { 0.0 };
    let premium_bars: Vec<Bar> = premiums
        .iter()
        .map(|(name, lang, p)| Bar {
            label: name.clone(),
            lang: lang.clone(),
            value: format!("{:.2} [{:.2}, {:.2}]", p.value, p.ci[0], p.ci[1]),
            x: scale(p.value),
            lo: scale(p.ci[0]),
            hi: scale(p.ci[1]),
        })
        .collect();
    // Tokens per Han character of each language that has Han characters.
    let mut han = Vec::new();
    for t in &s.tokenizers {
        for lang in &s.langs {
            if let Some(v) = t.langs.get(lang).and_then(|l| l.tokens_per_han) {
                han.push((t.name.clone(), lang.clone(), v));
            }
        }
    }
    let han_top = han.iter().map(|h| h.2).fold(1.0f64, f64::max) * 1.05;
    let han_bars: Vec<Bar> = han
        .into_iter()
        .map(|(label, lang, v)| Bar {
            label,
            lang,
            value: format!("{v:.2}"),
            x: 100.0 * v / han_top,
            lo: 0.0,
            hi: 0.0,
        })
        .collect();
    let mut env = assay_core::html::environment();
    env.add_template("tokens.html", TEMPLATE)
        .map_err(|e| TokensError::Other(e.to_string()))?;
    env.get_template("tokens.html")
        .and_then(|t| {
            t.render(context! {
                s => s,
                premium_bars => premium_bars,
                parity => scale(1.0),
                han_bars => han_bars,
                assay_version => env!("CARGO_PKG_VERSION"),
            })
        })
        .map_err(|e| TokensError::Other(format!("tokens.html: {e}")))
}
