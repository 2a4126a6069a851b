//! Server-rendered SVG heatmaps of head-to-head results; every name is escaped.

use std::fmt::Write as _;

use assay_arena::leaderboard::Pairwise;

use crate::render::escape_html;

const CELL: f64 = 46.0;
const MAX_LABEL: usize = 28;
const CHAR_W: f64 = 6.6;

fn short(name: &str) -> String {
    if name.chars().count() > MAX_LABEL {
        let mut s: String = name.chars().take(MAX_LABEL - 1).collect();
        s.push('…');
        s
    } else {
        name.to_string()
    }
}

fn mix(a: (f64, f64, f64), b: (f64, f64, f64), t: f64) -> (f64, f64, f64) {
    let t = t.clamp(0.0, 1.0);
    (
        a.0 + (b.0 - a.0) * t,
        a.1 + (b.1 - a.1) * t,
        a.2 + (b.2 - a.2) * t,
    )
}

fn hex((r, g, b): (f64, f64, f64)) -> String {
    format!("#{:02x}{:02x}{:02x}", r as u8, g as u8, b as u8)
}

fn text_color((r, g, b): (f64, f64, f64)) -> &'static str {
    if 0.299 * r + 0.587 * g + 0.114 * b < 140.0 {
        "#ffffff"
    } else {
        "#1a1a1a"
    }
}

const BLUE: (f64, f64, f64) = (49.0, 104.0, 176.0);
const WHITE: (f64, f64, f64) = (247.0, 247.0, 247.0);
const RED: (f64, f64, f64) = (190.0, 50.0, 45.0);

struct Cell {
    fill: (f64, f64, f64),
    label: String,
    tooltip: String,
}

fn heatmap(title: &str, models: &[String], cell: impl Fn(usize, usize) -> Option<Cell>) -> String {
    let n = models.len();
    let longest = models
        .iter()
        .map(|m| short(m).chars().count())
        .max()
        .unwrap_or(0) as f64;
    let left = longest * CHAR_W + 14.0;
    let top = longest * CHAR_W + 14.0;
    let width = left + n as f64 * CELL + 10.0;
    let height = top + n as f64 * CELL + 10.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="heatmap" role="img" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="system-ui, sans-serif" font-size="11"><title>{}</title>"#,
        escape_html(title)
    );
    for (i, model) in models.iter().enumerate() {
        let y = top + i as f64 * CELL + CELL / 2.0 + 4.0;
        let _ = write!(
            s,
            r#"<text class="label" x="{:.1}" y="{y:.1}" text-anchor="end"><title>{}</title>{}</text>"#,
            left - 6.0,
            escape_html(model),
            escape_html(&short(model))
        );
        let x = left + i as f64 * CELL + CELL / 2.0 + 4.0;
        let _ = write!(
            s,
            r#"<text class="label" x="{x:.1}" y="{:.1}" transform="rotate(-90 {x:.1} {:.1})"><title>{}</title>{}</text>"#,
            top - 6.0,
            top - 6.0,
            escape_html(model),
            escape_html(&short(model))
        );
    }
    for r in 0..n {
        for c in 0..n {
            let x = left + c as f64 * CELL;
            let y = top + r as f64 * CELL;
            match cell(r, c) {
                Some(cell) => {
                    let _ = write!(
                        s,
                        r##"<g><title>{}</title><rect x="{x:.1}" y="{y:.1}" width="{CELL}" height="{CELL}" fill="{}" stroke="#ffffff"/><text x="{:.1}" y="{:.1}" text-anchor="middle" fill="{}">{}</text></g>"##,
                        escape_html(&cell.tooltip),
                        hex(cell.fill),
                        x + CELL / 2.0,
                        y + CELL / 2.0 + 4.0,
                        text_color(cell.fill),
                        escape_html(&cell.label)
                    );
                }
                None => {
                    let _ = write!(
                        s,
                        r##"<rect x="{x:.1}" y="{y:.1}" width="{CELL}" height="{CELL}" fill="#e4e4e4" stroke="#ffffff"/>"##
                    );
                }
            }
        }
    }
    s.push_str("</svg>");
    s
}

/// Share of battles the row model won against the column model (ties count half).
pub fn win_rate_heatmap(p: &Pairwise) -> String {
    heatmap(
        "Win rate of the row model against the column model",
        &p.models,
        |r, c| {
            let rate = p.win_rate.get(r)?.get(c).copied().flatten()?;
            let fill = if rate < 0.5 {
                mix(BLUE, WHITE, rate * 2.0)
            } else {
                mix(WHITE, RED, (rate - 0.5) * 2.0)
            };
            Some(Cell {
                fill,
                label: format!("{rate:.2}"),
                tooltip: format!(
                    "{} vs {}: win rate {:.2} over {} battles",
                    p.models[r], p.models[c], rate, p.battles[r][c]
                ),
            })
        },
    )
}

/// Battles between each pair of models.
pub fn battle_count_heatmap(p: &Pairwise) -> String {
    let max = p
        .battles
        .iter()
        .flatten()
        .copied()
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    heatmap("Battles between each pair of models", &p.models, |r, c| {
        let n = *p.battles.get(r)?.get(c)?;
        if r == c {
            return None;
        }
        Some(Cell {
            fill: mix(WHITE, BLUE, n as f64 / max),
            label: n.to_string(),
            tooltip: format!("{} vs {}: {n} battles", p.models[r], p.models[c]),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_and_cells_drawn() {
        let p = Pairwise {
            models: vec!["<script>alert(1)</script>".into(), "b&b".into()],
            win_rate: vec![vec![None, Some(0.75)], vec![Some(0.25), None]],
            battles: vec![vec![0, 4], vec![4, 0]],
        };
        let svg = win_rate_heatmap(&p);
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains("b&amp;b"));
        assert!(svg.contains(">0.75<") && svg.contains(">0.25<"));
        let svg = battle_count_heatmap(&p);
        assert!(svg.contains(">4<"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }

    #[test]
    fn long_names_are_shortened() {
        let long = "x".repeat(60);
        assert_eq!(short(&long).chars().count(), MAX_LABEL);
        assert_eq!(short("abc"), "abc");
    }
}
