//! The geometry of the leaderboard's SVG heatmaps of head-to-head results: positions, colours
//! and labels, formatted here; `templates/heatmap.svg` draws them (and escapes every name).

use assay_arena::leaderboard::Pairwise;
use serde::Serialize;

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

/// A heatmap ready for `templates/heatmap.svg`: every coordinate formatted here.
#[derive(Serialize)]
pub struct Heatmap {
    pub caption: &'static str,
    title: &'static str,
    width: String,
    height: String,
    cell: String,
    labels: Vec<Label>,
    cells: Vec<CellView>,
}

/// A model's name at the start of its row and (rotated) at the top of its column.
#[derive(Serialize)]
struct Label {
    name: String,
    short: String,
    row_x: String,
    row_y: String,
    column_x: String,
    column_y: String,
}

/// One square; `tooltip` is `None` for an empty (grey) one, which has no text either.
#[derive(Serialize)]
struct CellView {
    x: String,
    y: String,
    fill: String,
    tooltip: Option<String>,
    label: String,
    text_x: String,
    text_y: String,
    text_fill: &'static str,
}

fn heatmap(
    caption: &'static str,
    title: &'static str,
    models: &[String],
    cell: impl Fn(usize, usize) -> Option<Cell>,
) -> Heatmap {
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
    let labels = models
        .iter()
        .enumerate()
        .map(|(i, model)| Label {
            name: model.clone(),
            short: short(model),
            row_x: format!("{:.1}", left - 6.0),
            row_y: format!("{:.1}", top + i as f64 * CELL + CELL / 2.0 + 4.0),
            column_x: format!("{:.1}", left + i as f64 * CELL + CELL / 2.0 + 4.0),
            column_y: format!("{:.1}", top - 6.0),
        })
        .collect();
    let mut cells = Vec::with_capacity(n * n);
    for r in 0..n {
        for c in 0..n {
            let x = left + c as f64 * CELL;
            let y = top + r as f64 * CELL;
            let view = match cell(r, c) {
                Some(cell) => CellView {
                    x: format!("{x:.1}"),
                    y: format!("{y:.1}"),
                    fill: hex(cell.fill),
                    tooltip: Some(cell.tooltip),
                    label: cell.label,
                    text_x: format!("{:.1}", x + CELL / 2.0),
                    text_y: format!("{:.1}", y + CELL / 2.0 + 4.0),
                    text_fill: text_color(cell.fill),
                },
                None => CellView {
                    x: format!("{x:.1}"),
                    y: format!("{y:.1}"),
                    fill: "#e4e4e4".to_string(),
                    tooltip: None,
                    label: String::new(),
                    text_x: String::new(),
                    text_y: String::new(),
                    text_fill: "",
                },
            };
            cells.push(view);
        }
    }
    Heatmap {
        caption,
        title,
        width: format!("{width:.0}"),
        height: format!("{height:.0}"),
        cell: CELL.to_string(),
        labels,
        cells,
    }
}

/// Share of battles the row model won against the column model (ties count half).
pub fn win_rate_heatmap(p: &Pairwise) -> Heatmap {
    heatmap(
        "Win rate (row beats column)",
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
pub fn battle_count_heatmap(p: &Pairwise) -> Heatmap {
    let max = p
        .battles
        .iter()
        .flatten()
        .copied()
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let title = "Battles between each pair of models";
    heatmap("Battles per pair", title, &p.models, |r, c| {
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
    fn geometry_of_cells_and_labels() {
        let p = Pairwise {
            models: vec!["<script>alert(1)</script>".into(), "b&b".into()],
            win_rate: vec![vec![None, Some(0.75)], vec![Some(0.25), None]],
            battles: vec![vec![0, 4], vec![4, 0]],
        };
        let map = win_rate_heatmap(&p);
        assert_eq!(map.cells.len(), 4);
        assert!(map.cells[0].tooltip.is_none() && map.cells[3].tooltip.is_none());
        assert_eq!(
            (map.cells[1].label.as_str(), map.cells[2].label.as_str()),
            ("0.75", "0.25")
        );
        // Names stay raw here: the template escapes them.
        assert_eq!(map.labels[0].name, "<script>alert(1)</script>");
        let map = battle_count_heatmap(&p);
        assert_eq!(map.cells[1].label, "4");
        assert_eq!(map.width, map.height);
    }

    #[test]
    fn long_names_are_shortened() {
        let long = "x".repeat(60);
        assert_eq!(short(&long).chars().count(), MAX_LABEL);
        assert_eq!(short("abc"), "abc");
    }
}
