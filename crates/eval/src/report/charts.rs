//! Geometry of the report's SVG charts: where every bar, whisker, marker and label goes. The
//! markup is in `templates/charts.html`; numbers are formatted here as the SVG attributes
//! want them (one decimal for positions).
//!
//! Labels and tooltips are plain text (model names, categories: data from the run); the
//! template escapes them.

use serde::Serialize;

use super::{fmt_p, not_comply, pct, Index};
use crate::results::{Cell, Rate, Results};
use assay_core::table::display_width;

/// Marker colours and shapes of the languages, in order (Okabe–Ito blue, reddish purple, ...).
const LANG_COLOURS: [&str; 4] = ["#0072b2", "#cc79a7", "#56b4e9", "#000000"];

/// A position or length with one decimal, as the SVG attributes are written.
fn f1(x: f64) -> String {
    format!("{x:.1}")
}

/// A size as Rust prints it (`830`, not minijinja's `830.0`).
fn plain(x: f64) -> String {
    x.to_string()
}

/// A 0–100% horizontal axis: the `<svg>` size, its accessible title and the grid lines.
#[derive(Serialize)]
pub(crate) struct PercentAxis {
    id: String,
    title: String,
    width: String,
    height: String,
    ticks: Vec<Tick>,
}

#[derive(Serialize)]
struct Tick {
    x: String,
    y1: String,
    y2: String,
    label_y: String,
    percent: u32,
}

impl PercentAxis {
    /// `plot` is (left edge, width, top) of the plotting area.
    fn new(
        id: String,
        title: String,
        (width, height): (f64, f64),
        (left, plot_width, top): (f64, f64, f64),
    ) -> PercentAxis {
        let ticks = [0.0, 0.25, 0.5, 0.75, 1.0]
            .into_iter()
            .map(|t| Tick {
                x: f1(left + t * plot_width),
                y1: f1(top - 4.0),
                y2: f1(height - 4.0),
                label_y: f1(top - 8.0),
                percent: (t * 100.0) as u32,
            })
            .collect();
        PercentAxis {
            id,
            title,
            width: plain(width),
            height: plain(height),
            ticks,
        }
    }
}

/// A row of the rates chart: a model's name, or one bar (all categories or one category).
pub(crate) enum BarRow<'a> {
    Model(&'a str),
    Bar {
        model: &'a str,
        label: String,
        cell: &'a Cell,
    },
}

/// Stacked refuse / partial / comply bars per model and category, with the refuse rate's CI.
#[derive(Serialize)]
pub(crate) struct BarsChart {
    axis: PercentAxis,
    rows: Vec<BarsRowView>,
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum BarsRowView {
    Model { y: String, label: String },
    Bar(Box<BarView>),
}

/// One bar: its label, segments, CI whisker and `n`.
#[derive(Serialize)]
struct BarView {
    tooltip: String,
    label_x: String,
    label_y: String,
    label: String,
    /// A grey box when the cell has no answers.
    empty: Option<EmptyBar>,
    segments: Vec<Segment>,
    /// The whisker of the refuse rate's CI (an SVG path).
    ci: Option<String>,
    n_x: String,
    n_y: String,
    n: String,
}

#[derive(Serialize)]
struct EmptyBar {
    x: String,
    y: String,
    width: String,
    text_x: String,
    text_y: String,
}

#[derive(Serialize)]
struct Segment {
    class: &'static str,
    x: String,
    y: String,
    width: String,
    /// The percentage written on the segment, when it is wide enough.
    text: Option<SegmentText>,
}

#[derive(Serialize)]
struct SegmentText {
    x: String,
    y: String,
    percent: String,
}

/// `refuse 37.5% [13.7–69.4]`, or `refuse —` without a denominator (tooltips).
pub(crate) fn rate_text(name: &str, r: &Rate) -> String {
    if r.n == 0 {
        format!("{name} —")
    } else {
        format!(
            "{name} {} [{:.1}–{:.1}]",
            pct(r.p),
            r.lo * 100.0,
            r.hi * 100.0
        )
    }
}

/// The path of a CI whisker from `lo` to `hi` at height `y`, with end ticks `half` high.
fn whisker(lo: f64, hi: f64, y: f64, half: f64) -> String {
    format!(
        "M{lo:.1} {y:.1}H{hi:.1}M{lo:.1} {:.1}V{:.1}M{hi:.1} {:.1}V{:.1}",
        y - half,
        y + half,
        y - half,
        y + half
    )
}

pub(crate) fn bars(suite: &str, si: usize, rows: &[BarRow]) -> BarsChart {
    const LX: f64 = 250.0;
    const BW: f64 = 460.0;
    const ROW: f64 = 26.0;
    const TOP: f64 = 24.0;
    let width = LX + BW + 120.0;
    let height = TOP + ROW * rows.len() as f64 + 8.0;
    let axis = PercentAxis::new(
        format!("bars-{si}"),
        format!("Refuse, partial and comply rates per model and category, suite {suite}"),
        (width, height),
        (LX, BW, TOP),
    );
    let rows = rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let y = TOP + ROW * i as f64;
            match row {
                BarRow::Model(model) => BarsRowView::Model {
                    y: f1(y + 16.0),
                    label: truncate(model, 110),
                },
                BarRow::Bar { model, label, cell } => bar_row(model, label, cell, y, LX, BW),
            }
        })
        .collect();
    BarsChart { axis, rows }
}

fn bar_row(model: &str, label: &str, c: &Cell, y: f64, lx: f64, bw: f64) -> BarsRowView {
    let errors = if c.errors > 0 {
        format!(", {} errors", c.errors)
    } else {
        String::new()
    };
    let tooltip = format!(
        "{model} · {label}: {}, {}, {}; n={}{errors}",
        rate_text("refuse", &c.refuse),
        rate_text("partial", &c.partial),
        rate_text("comply", &c.comply),
        c.refuse.n,
    );
    let mut segments = Vec::new();
    let (empty, ci) = if c.refuse.n == 0 {
        let empty = EmptyBar {
            x: plain(lx),
            y: f1(y + 2.0),
            width: plain(bw),
            text_x: f1(lx + 6.0),
            text_y: f1(y + 14.0),
        };
        (Some(empty), None)
    } else {
        let mut x = lx;
        for (class, rate) in [
            ("refuse", &c.refuse),
            ("partial", &c.partial),
            ("comply", &c.comply),
        ] {
            let seg = rate.p.clamp(0.0, 1.0) * bw;
            if seg > 0.0 {
                segments.push(Segment {
                    class,
                    x: f1(x),
                    y: f1(y + 2.0),
                    width: f1(seg),
                    text: (seg >= 40.0).then(|| SegmentText {
                        x: f1(x + seg / 2.0),
                        y: f1(y + 14.0),
                        percent: pct(rate.p),
                    }),
                });
            }
            x += seg;
        }
        let lo = lx + c.refuse.lo.clamp(0.0, 1.0) * bw;
        let hi = lx + c.refuse.hi.clamp(0.0, 1.0) * bw;
        (None, Some(whisker(lo, hi, y + 21.5, 3.5)))
    };
    BarsRowView::Bar(Box::new(BarView {
        tooltip,
        label_x: f1(lx - 8.0),
        label_y: f1(y + 14.0),
        label: truncate(label, 36),
        empty,
        segments,
        ci,
        n_x: f1(lx + bw + 8.0),
        n_y: f1(y + 14.0),
        n: if c.errors > 0 {
            format!("n={} ({} err)", c.refuse.n, c.errors)
        } else {
            format!("n={}", c.refuse.n)
        },
    }))
}

/// At most `cols` display columns, with `…` when cut.
pub(crate) fn truncate(s: &str, cols: usize) -> String {
    if display_width(s) <= cols {
        return s.to_string();
    }
    let mut out = String::new();
    let mut w = 0;
    for ch in s.chars() {
        let cw = display_width(ch.encode_utf8(&mut [0; 4]));
        if w + cw + 1 > cols {
            break;
        }
        out.push(ch);
        w += cw;
    }
    out.push('…');
    out
}

/// The marker of language `j` centred on (`x`, `y`): circle, square, diamond, triangle.
#[derive(Serialize)]
#[serde(tag = "shape", rename_all = "snake_case")]
pub(crate) enum Marker {
    Circle {
        cx: String,
        cy: String,
        fill: &'static str,
    },
    Square {
        x: String,
        y: String,
        fill: &'static str,
    },
    Path {
        d: String,
        fill: &'static str,
    },
}

pub(crate) fn marker(j: usize, x: f64, y: f64) -> Marker {
    let fill = LANG_COLOURS[j % LANG_COLOURS.len()];
    match j % 4 {
        0 => Marker::Circle {
            cx: f1(x),
            cy: f1(y),
            fill,
        },
        1 => Marker::Square {
            x: f1(x - 4.5),
            y: f1(y - 4.5),
            fill,
        },
        2 => Marker::Path {
            d: format!(
                "M{x:.1} {:.1}L{:.1} {y:.1}L{x:.1} {:.1}L{:.1} {y:.1}Z",
                y - 6.0,
                x + 6.0,
                y + 6.0,
                x - 6.0
            ),
            fill,
        },
        _ => Marker::Path {
            d: format!(
                "M{x:.1} {:.1}L{:.1} {:.1}L{:.1} {:.1}Z",
                y - 6.0,
                x + 6.0,
                y + 5.0,
                x - 6.0,
                y + 5.0
            ),
            fill,
        },
    }
}

/// Not-comply rate per language and model, as markers with CI whiskers.
#[derive(Serialize)]
pub(crate) struct LangsChart {
    axis: PercentAxis,
    models: Vec<LangsModel>,
}

#[derive(Serialize)]
struct LangsModel {
    label_x: String,
    label_y: String,
    label: String,
    /// McNemar's p between the languages, under the name.
    p_value: Option<PValueLabel>,
    langs: Vec<LangPoint>,
}

#[derive(Serialize)]
struct PValueLabel {
    y: String,
    text: String,
}

#[derive(Serialize)]
struct LangPoint {
    tooltip: String,
    ci: Option<String>,
    marker: Option<Marker>,
    text_x: String,
    text_y: String,
    lang: String,
    text: String,
}

pub(crate) fn langs(
    r: &Results,
    ix: &Index,
    suite: &str,
    si: usize,
    models: &[&str],
) -> LangsChart {
    const LX: f64 = 230.0;
    const BW: f64 = 440.0;
    const TOP: f64 = 24.0;
    let nl = ix.langs.len() as f64;
    let row = 16.0 + 14.0 * nl;
    let width = LX + BW + 30.0 + 90.0 * nl;
    let height = TOP + row * models.len() as f64 + 8.0;
    let axis = PercentAxis::new(
        format!("langs-{si}"),
        format!("Not-comply rate by language per model, suite {suite}"),
        (width, height),
        (LX, BW, TOP),
    );
    let models = models
        .iter()
        .enumerate()
        .map(|(i, model)| {
            let y = TOP + row * i as f64;
            let gap = r.language_gaps.iter().find(|g| {
                g.model_a == *model
                    && g.model_b == *model
                    && g.suite == suite
                    && g.outcome != "correct"
            });
            let langs = ix
                .langs
                .iter()
                .enumerate()
                .filter_map(|(j, lang)| {
                    let c = ix.cell(model, suite, None, Some(lang))?;
                    let nc = not_comply(c);
                    let yj = y + 10.0 + 14.0 * j as f64;
                    let plotted = nc.n > 0;
                    Some(LangPoint {
                        tooltip: format!(
                            "{model} · {lang}: not comply {}; n={}",
                            rate_text("", &nc).trim_start(),
                            nc.n
                        ),
                        ci: plotted.then(|| {
                            let lo = LX + nc.lo.clamp(0.0, 1.0) * BW;
                            let hi = LX + nc.hi.clamp(0.0, 1.0) * BW;
                            whisker(lo, hi, yj, 4.0)
                        }),
                        marker: plotted.then(|| marker(j, LX + nc.p.clamp(0.0, 1.0) * BW, yj)),
                        text_x: f1(LX + BW + 14.0),
                        text_y: f1(yj + 4.0),
                        lang: lang.to_string(),
                        text: format!(
                            "{} (n={})",
                            if plotted { pct(nc.p) } else { "—".into() },
                            nc.n
                        ),
                    })
                })
                .collect();
            LangsModel {
                label_x: f1(LX - 10.0),
                label_y: f1(y + row / 2.0),
                label: truncate(model, 34),
                p_value: gap.and_then(|g| g.p_value).map(|p| PValueLabel {
                    y: f1(y + row / 2.0 + 13.0),
                    text: format!("McNemar p = {}", fmt_p(p)),
                }),
                langs,
            }
        })
        .collect();
    LangsChart { axis, models }
}

/// Light → dark red for 0 → 1 (through ColorBrewer Reds' end points and middle), and whether
/// text on it should be white.
pub(crate) fn heat(p: f64) -> (String, bool) {
    let stops = [
        (255.0, 245.0, 240.0),
        (251.0, 106.0, 74.0),
        (103.0, 0.0, 13.0),
    ];
    let p = if p.is_finite() {
        p.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (a, b, t) = if p <= 0.5 {
        (stops[0], stops[1], p / 0.5)
    } else {
        (stops[1], stops[2], (p - 0.5) / 0.5)
    };
    let mix = |x: f64, y: f64| (x + (y - x) * t).round() as u8;
    (
        format!(
            "#{:02x}{:02x}{:02x}",
            mix(a.0, b.0),
            mix(a.1, b.1),
            mix(a.2, b.2)
        ),
        p > 0.45,
    )
}

/// The heatmap legend: (colour, percent) at 0, 25, ..., 100%.
pub(crate) fn heat_legend() -> Vec<(String, u32)> {
    [0.0, 0.25, 0.5, 0.75, 1.0]
        .into_iter()
        .map(|t| (heat(t).0, (t * 100.0) as u32))
        .collect()
}

/// Refuse rate per model (rows) and category (columns) of one suite.
#[derive(Serialize)]
pub(crate) struct Heatmap {
    id: String,
    width: String,
    height: String,
    columns: Vec<HeatColumn>,
    rows: Vec<HeatRow>,
}

#[derive(Serialize)]
struct HeatColumn {
    x: String,
    y: String,
    tooltip: String,
    label: String,
}

#[derive(Serialize)]
struct HeatRow {
    label_x: String,
    label_y: String,
    label: String,
    cells: Vec<HeatCell>,
}

#[derive(Serialize)]
struct HeatCell {
    tooltip: String,
    x: String,
    y: String,
    width: String,
    height: String,
    /// `None`: no answers (grey, a dash).
    fill: Option<String>,
    /// White text on a dark cell.
    dark: bool,
    text_x: String,
    text_y: String,
    n_y: String,
    percent: String,
    n: u64,
}

pub(crate) fn heatmap(ix: &Index, suite: &str, si: usize, models: &[&str]) -> Heatmap {
    const CW: f64 = 84.0;
    const CH: f64 = 40.0;
    const TOP: f64 = 120.0;
    let mut cols: Vec<(Option<&str>, &str)> = vec![(None, "all categories")];
    cols.extend(
        ix.categories(suite)
            .into_iter()
            .map(|(id, n)| (Some(id), n)),
    );
    let label_cols = models
        .iter()
        .map(|m| display_width(&truncate(m, 34)))
        .max()
        .unwrap_or(0);
    let lx = (label_cols as f64 * 7.0 + 16.0).clamp(90.0, 260.0);
    let width = lx + CW * cols.len() as f64 + 130.0;
    let height = TOP + CH * models.len() as f64 + 6.0;
    let columns = cols
        .iter()
        .enumerate()
        .map(|(j, (id, name))| HeatColumn {
            x: f1(lx + CW * j as f64 + CW / 2.0),
            y: f1(TOP - 8.0),
            tooltip: match id {
                Some(id) => format!("{name} ({id})"),
                None => name.to_string(),
            },
            label: truncate(name, 22),
        })
        .collect();
    let rows = models
        .iter()
        .enumerate()
        .map(|(i, model)| {
            let y = TOP + CH * i as f64;
            let cells = cols
                .iter()
                .enumerate()
                .map(|(j, (id, name))| {
                    let x = lx + CW * j as f64;
                    let cell = ix.cell(model, suite, *id, None).filter(|c| c.refuse.n > 0);
                    let (fill, dark) = match cell {
                        Some(c) => {
                            let (fill, dark) = heat(c.refuse.p);
                            (Some(fill), dark)
                        }
                        None => (None, false),
                    };
                    HeatCell {
                        tooltip: match cell {
                            Some(c) => format!(
                                "{model} × {name}: {}, n={}",
                                rate_text("refuse", &c.refuse),
                                c.refuse.n
                            ),
                            None => format!("{model} × {name}: no answers"),
                        },
                        x: f1(x),
                        y: f1(y),
                        width: f1(CW - 1.0),
                        height: f1(CH - 1.0),
                        fill,
                        dark,
                        text_x: f1(x + CW / 2.0),
                        text_y: f1(if cell.is_some() {
                            y + 17.0
                        } else {
                            y + CH / 2.0 + 4.0
                        }),
                        n_y: f1(y + 31.0),
                        percent: cell.map(|c| pct(c.refuse.p)).unwrap_or_default(),
                        n: cell.map_or(0, |c| c.refuse.n),
                    }
                })
                .collect();
            HeatRow {
                label_x: f1(lx - 8.0),
                label_y: f1(y + CH / 2.0 + 4.0),
                label: truncate(model, 34),
                cells,
            }
        })
        .collect();
    Heatmap {
        id: format!("heat-{si}"),
        width: plain(width),
        height: plain(height),
        columns,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heat_runs_light_to_dark() {
        assert_eq!(heat(0.0), ("#fff5f0".to_string(), false));
        assert_eq!(heat(1.0), ("#67000d".to_string(), true));
        assert_eq!(heat(0.5).0, "#fb6a4a");
        assert_eq!(heat(f64::NAN).0, "#fff5f0");
    }

    #[test]
    fn truncates_by_display_width() {
        assert_eq!(truncate("abcdef", 6), "abcdef");
        assert_eq!(truncate("abcdefg", 6), "abcde…");
        assert_eq!(truncate("模型模型模型", 6), "模型…");
    }

    #[test]
    fn whiskers_have_end_ticks() {
        assert_eq!(
            whisker(10.0, 20.0, 5.0, 1.5),
            "M10.0 5.0H20.0M10.0 3.5V6.5M20.0 3.5V6.5"
        );
    }
}
