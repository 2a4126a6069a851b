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
    legend: Legend,
}

/// The colour scale of a heatmap: a strip of swatches from the lowest value to the highest
/// with numbers under it, and the same in words (colour alone says nothing to a reader who
/// cannot tell the colours apart).
#[derive(Serialize)]
struct Legend {
    width: String,
    height: String,
    swatch_width: String,
    swatch_height: String,
    swatches: Vec<Swatch>,
    ticks: Vec<Tick>,
    /// What the colours mean, as a sentence under the map.
    words: String,
}

#[derive(Serialize)]
struct Swatch {
    x: String,
    fill: String,
}

#[derive(Serialize)]
struct Tick {
    x: String,
    y: String,
    anchor: &'static str,
    text: String,
}

const SWATCHES: usize = 11;
const SWATCH_W: f64 = 16.0;
const SWATCH_H: f64 = 12.0;

/// A legend of `SWATCHES` colours from `colour(0)` to `colour(1)`, ticks at both ends and the
/// middle labelled `ticks`.
fn legend(colour: impl Fn(f64) -> (f64, f64, f64), ticks: [String; 3], words: String) -> Legend {
    let width = SWATCHES as f64 * SWATCH_W;
    let swatches = (0..SWATCHES)
        .map(|i| Swatch {
            x: format!("{:.1}", i as f64 * SWATCH_W),
            fill: hex(colour(i as f64 / (SWATCHES - 1) as f64)),
        })
        .collect();
    let y = format!("{:.1}", SWATCH_H + 13.0);
    let [low, middle, high] = ticks;
    Legend {
        width: format!("{width:.0}"),
        height: format!("{:.0}", SWATCH_H + 17.0),
        swatch_width: format!("{SWATCH_W:.0}"),
        swatch_height: format!("{SWATCH_H:.0}"),
        swatches,
        ticks: vec![
            Tick {
                x: "0".into(),
                y: y.clone(),
                anchor: "start",
                text: low,
            },
            Tick {
                x: format!("{:.1}", width / 2.0),
                y: y.clone(),
                anchor: "middle",
                text: middle,
            },
            Tick {
                x: format!("{width:.0}"),
                y,
                anchor: "end",
                text: high,
            },
        ],
        words,
    }
}

/// The win-rate colour of `rate`: blue below one half, white at it, red above.
fn win_rate_colour(rate: f64) -> (f64, f64, f64) {
    if rate < 0.5 {
        mix(BLUE, WHITE, rate * 2.0)
    } else {
        mix(WHITE, RED, (rate - 0.5) * 2.0)
    }
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
    legend: Legend,
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
        legend,
    }
}

/// Share of battles the row model won against the column model (ties count half).
pub fn win_rate_heatmap(p: &Pairwise) -> Heatmap {
    heatmap(
        "Win rate (row beats column)",
        "Win rate of the row model against the column model",
        &p.models,
        legend(
            win_rate_colour,
            ["0".into(), "0.5".into(), "1".into()],
            "Colour: blue, the row model lost more often than it won; white, even (0.5); red, \
             it won more often. Grey: the two never met. Each square gives the rate (ties count \
             half)."
                .into(),
        ),
        |r, c| {
            let rate = p.win_rate.get(r)?.get(c).copied().flatten()?;
            Some(Cell {
                fill: win_rate_colour(rate),
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
    let words = format!(
        "Colour: white, no battles; darker blue, more (the darkest, {max:.0}). Grey: a model \
         against itself. Each square gives the count."
    );
    let ticks = [
        "0".to_string(),
        format!("{:.0}", max / 2.0),
        format!("{max:.0}"),
    ];
    let scale = legend(|t| mix(WHITE, BLUE, t), ticks, words);
    heatmap("Battles per pair", title, &p.models, scale, |r, c| {
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

    /// Each heatmap has a colour legend: swatches from the lowest value to the highest, the
    /// values under them, and the meaning in words.
    #[test]
    fn legends_name_the_scale_in_numbers_and_words() {
        let p = Pairwise {
            models: vec!["a".into(), "b".into()],
            win_rate: vec![vec![None, Some(0.75)], vec![Some(0.25), None]],
            battles: vec![vec![0, 8], vec![8, 0]],
        };
        let win = win_rate_heatmap(&p).legend;
        assert_eq!(win.swatches.len(), SWATCHES);
        assert_eq!(win.swatches[0].fill, hex(BLUE));
        assert_eq!(win.swatches[SWATCHES / 2].fill, hex(WHITE));
        assert_eq!(win.swatches[SWATCHES - 1].fill, hex(RED));
        let ticks: Vec<&str> = win.ticks.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(ticks, ["0", "0.5", "1"]);
        assert!(
            win.words.contains("blue") && win.words.contains("red") && win.words.contains("Grey")
        );
        let count = battle_count_heatmap(&p).legend;
        let ticks: Vec<&str> = count.ticks.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(ticks, ["0", "4", "8"]);
        assert_eq!(count.swatches[0].fill, hex(WHITE));
        assert!(count.words.contains("the darkest, 8"), "{}", count.words);
    }

    #[test]
    fn long_names_are_shortened() {
        let long = "x".repeat(60);
        assert_eq!(short(&long).chars().count(), MAX_LABEL);
        assert_eq!(short("abc"), "abc");
    }
}
