//! The plain-text summary printed at the end of a run: no colour codes, columns aligned by
//! display width (East Asian wide characters take two columns).

use std::fmt::Write;

use super::{fmt_num, fmt_p, or_all, pct, rate_ci, Index};
use crate::results::{PairedTest, Rate, Results};

/// The run header, the rates per model × suite × language (all categories), the language gaps,
/// the model pairs, consistency and judge agreement when present, and where to find the errors
/// if there were any.
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
        format!("assay audit {} ({})", clean(&run.id), clean(&run.status)),
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
    let mut headers = vec![
        "model", "suite", "lang", "n", "comply", "partial", "refuse", "canned",
    ];
    if any_accuracy {
        headers.push("accuracy");
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
                ];
                if any_accuracy {
                    row.push(c.accuracy.as_ref().map(rate_ci).unwrap_or_default());
                }
                t.row(row);
                first = false;
            }
        }
    }
    if t.rows.is_empty() {
        l(&mut out, "  (no rates: nothing was answered)".to_string());
    } else {
        t.render(&mut out);
    }

    // Language gaps.
    if !results.language_gaps.is_empty() {
        out.push('\n');
        let en_zh = results
            .language_gaps
            .iter()
            .all(|g| g.lang_a.as_deref() == Some("en") && g.lang_b.as_deref() == Some("zh"));
        l(
            &mut out,
            format!(
                "{} gaps (paired over item × sample; McNemar exact p)",
                if en_zh { "EN–ZH" } else { "Language" }
            ),
        );
        let mut t = Table::new(
            &[
                "model",
                "suite",
                "outcome",
                "pairs",
                "rate a",
                "rate b",
                "a only/b only",
                "p",
            ],
            &[false, false, false, true, false, false, true, true],
        );
        for g in &results.language_gaps {
            t.row(vec![
                clean(&g.model_a),
                clean(&g.suite),
                clean(&g.outcome),
                g.n.to_string(),
                labelled(g.lang_a.as_deref(), &g.rate_a),
                labelled(g.lang_b.as_deref(), &g.rate_b),
                discordant(g),
                fmt_p(g.p_value),
            ]);
        }
        t.render(&mut out);
    }

    // Model pairs.
    if !results.model_pairs.is_empty() {
        out.push('\n');
        l(
            &mut out,
            "Model pairs (paired over item × lang × sample; McNemar exact p)".to_string(),
        );
        let mut t = Table::new(
            &[
                "suite",
                "model a",
                "model b",
                "outcome",
                "pairs",
                "rate a",
                "rate b",
                "a only/b only",
                "p",
            ],
            &[false, false, false, false, true, false, false, true, true],
        );
        for g in &results.model_pairs {
            t.row(vec![
                clean(&g.suite),
                clean(&g.model_a),
                clean(&g.model_b),
                clean(&g.outcome),
                g.n.to_string(),
                rate_ci(&g.rate_a),
                rate_ci(&g.rate_b),
                discordant(g),
                fmt_p(g.p_value),
            ]);
        }
        t.render(&mut out);
    }

    // Consistency across samples.
    if !results.consistency.is_empty() {
        out.push('\n');
        l(
            &mut out,
            "Consistency across samples (items whose samples all got one label)".to_string(),
        );
        let mut t = Table::new(
            &[
                "model",
                "suite",
                "lang",
                "items",
                "unanimous",
                "mean entropy (bits)",
            ],
            &[false, false, false, true, false, true],
        );
        for c in &results.consistency {
            t.row(vec![
                clean(&c.model),
                clean(&c.suite),
                clean(&c.lang),
                c.items.to_string(),
                rate_ci(&c.unanimous),
                fmt_num(c.mean_entropy, 3),
            ]);
        }
        t.render(&mut out);
    }

    // Judge agreement.
    if !results.judge_agreement.is_empty() {
        out.push('\n');
        l(
            &mut out,
            format!(
                "Rule grader vs judge{}",
                run.judge
                    .as_deref()
                    .map(|j| format!(" ({})", clean(j)))
                    .unwrap_or_default()
            ),
        );
        let mut t = Table::new(
            &["model", "n", "agree", "agree (binary)", "kappa"],
            &[false, true, false, false, true],
        );
        for j in &results.judge_agreement {
            t.row(vec![
                clean(or_all(j.model.as_deref())),
                j.n.to_string(),
                rate_ci(&j.agree),
                rate_ci(&j.agree_binary),
                fmt_num(j.kappa, 3),
            ]);
        }
        t.render(&mut out);
    }

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
    if run.status != "finished" {
        out.push('\n');
        l(
            &mut out,
            format!(
                "The run is {}: these rates cover the answers so far.",
                clean(&run.status)
            ),
        );
    }
    out
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

/// Columns a string takes on a terminal: East Asian wide and fullwidth characters (CJK,
/// Hangul, kana, fullwidth forms, most emoji) count 2, combining marks and zero-width
/// characters 0, everything else 1.
pub fn display_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

fn char_width(c: char) -> usize {
    let u = c as u32;
    if c.is_control()
        || matches!(u,
            0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05BD | 0x0610..=0x061A
            | 0x064B..=0x065F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x200B..=0x200F
            | 0x2028..=0x202E | 0x2060..=0x2064 | 0x20D0..=0x20FF | 0xFE00..=0xFE0F
            | 0xFE20..=0xFE2F | 0xFEFF | 0xE0100..=0xE01EF)
    {
        return 0;
    }
    if matches!(u,
        0x1100..=0x115F | 0x231A..=0x231B | 0x2329..=0x232A | 0x23E9..=0x23EC | 0x23F0
        | 0x23F3 | 0x25FD..=0x25FE | 0x2614..=0x2615 | 0x2648..=0x2653 | 0x267F | 0x2693
        | 0x26A1 | 0x26AA..=0x26AB | 0x26BD..=0x26BE | 0x26C4..=0x26C5 | 0x26CE | 0x26D4
        | 0x26EA | 0x26F2..=0x26F3 | 0x26F5 | 0x26FA | 0x26FD | 0x2705 | 0x270A..=0x270B
        | 0x2728 | 0x274C | 0x274E | 0x2753..=0x2755 | 0x2757 | 0x2795..=0x2797 | 0x27B0
        | 0x27BF | 0x2B1B..=0x2B1C | 0x2B50 | 0x2B55 | 0x2E80..=0x303E | 0x3041..=0x33FF
        | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xA960..=0xA97F
        | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE10..=0xFE19 | 0xFE30..=0xFE6F
        | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x16FE0..=0x16FE4 | 0x17000..=0x18CFF
        | 0x1B000..=0x1B2FF | 0x1F004 | 0x1F0CF | 0x1F18E | 0x1F191..=0x1F19A
        | 0x1F200..=0x1F251 | 0x1F300..=0x1F320 | 0x1F32D..=0x1F335 | 0x1F337..=0x1F37C
        | 0x1F37E..=0x1F393 | 0x1F3A0..=0x1F3CA | 0x1F3CF..=0x1F3D3 | 0x1F3E0..=0x1F3F0
        | 0x1F3F4 | 0x1F3F8..=0x1F43E | 0x1F440 | 0x1F442..=0x1F4FC | 0x1F4FF..=0x1F53D
        | 0x1F54B..=0x1F54E | 0x1F550..=0x1F567 | 0x1F57A | 0x1F595..=0x1F596 | 0x1F5A4
        | 0x1F5FB..=0x1F64F | 0x1F680..=0x1F6C5 | 0x1F6CC | 0x1F6D0..=0x1F6D2
        | 0x1F6D5..=0x1F6D7 | 0x1F6DC..=0x1F6DF | 0x1F6EB..=0x1F6EC | 0x1F6F4..=0x1F6FC
        | 0x1F7E0..=0x1F7EB | 0x1F7F0 | 0x1F90C..=0x1F93A | 0x1F93C..=0x1F945
        | 0x1F947..=0x1F9FF | 0x1FA70..=0x1FAFF | 0x20000..=0x2FFFD | 0x30000..=0x3FFFD)
    {
        2
    } else {
        1
    }
}

/// A text table: columns separated by two spaces, padded by display width, numbers
/// right-aligned; a rule of `-` under the header.
struct Table {
    headers: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(headers: &[&str], right: &[bool]) -> Self {
        Table {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            right: (0..headers.len())
                .map(|i| right.get(i).copied().unwrap_or(false))
                .collect(),
            rows: Vec::new(),
        }
    }

    fn row(&mut self, row: Vec<String>) {
        debug_assert_eq!(row.len(), self.headers.len());
        self.rows.push(row);
    }

    fn render(&self, out: &mut String) {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| display_width(h)).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(display_width(cell));
            }
        }
        let line = |out: &mut String, cells: &[String]| {
            let mut s = String::from("  ");
            for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
                if i > 0 {
                    s.push_str("  ");
                }
                let pad = w.saturating_sub(display_width(cell));
                if self.right[i] {
                    s.extend(std::iter::repeat_n(' ', pad));
                    s.push_str(cell);
                } else {
                    s.push_str(cell);
                    s.extend(std::iter::repeat_n(' ', pad));
                }
            }
            let _ = writeln!(out, "{}", s.trim_end());
        };
        line(out, &self.headers);
        let total = widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
        let _ = writeln!(out, "  {}", "-".repeat(total));
        for row in &self.rows {
            line(out, row);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths() {
        assert_eq!(display_width("abc"), 3);
        assert_eq!(display_width("模型甲"), 6);
        assert_eq!(display_width("Qwen 通义"), 9);
        assert_eq!(display_width("ｆｕｌｌ"), 8);
        assert_eq!(display_width("e\u{301}"), 1);
        assert_eq!(display_width("한국"), 4);
        assert_eq!(display_width("〇"), 2);
        assert_eq!(display_width("—–"), 2);
        assert_eq!(display_width("🙂"), 2);
    }

    #[test]
    fn cleans_control_characters() {
        assert_eq!(clean("a\u{1b}[31mb\n"), "a\u{FFFD}[31mb\u{FFFD}");
        assert_eq!(clean("x\u{202E}y"), "x\u{FFFD}y");
        assert_eq!(clean("模型"), "模型");
    }

    #[test]
    fn table_aligns_by_display_width() {
        let mut t = Table::new(&["name", "n"], &[false, true]);
        t.row(vec!["模型甲".into(), "5".into()]);
        t.row(vec!["abc".into(), "123".into()]);
        let mut out = String::new();
        t.render(&mut out);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 4);
        let widths: Vec<usize> = lines.iter().map(|l| display_width(l)).collect();
        assert_eq!(widths[2], widths[3], "{out}");
        assert_eq!(lines[2], "  模型甲    5");
        assert_eq!(lines[3], "  abc     123");
    }
}
