//! The board's files — `board.json` (the [`Board`] as it is), `board.csv` (one row per model ×
//! scope × column, UTF-8 with a byte order mark for Excel) and `board.html` (self-contained, no
//! script: a tab per language scope, history per period, the moves since the last board) — and
//! its terminal table.

use std::path::{Path, PathBuf};

use assay_core::table::TextTable;
use minijinja::context;
use serde::Serialize;

use crate::{Board, Column, Score};

const TEMPLATE: &str = include_str!("../templates/board.html");

/// The page's script: sorting and filters (allowed by its hash alone).
const SCRIPT: &str = include_str!("../assets/board.js");

/// The page's Content Security Policy (also in its `<meta>`): nothing from elsewhere, inline
/// styles, and only its own script.
pub fn content_security_policy() -> String {
    format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src {}; form-action 'none'; \
         base-uri 'none'",
        assay_core::html::script_hash(SCRIPT)
    )
}

/// Colours of the history's lines, one per model in board order (each line is also labelled).
const PALETTE: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
];

/// Writes `board.json`, `board.csv` and `board.html` into `dir`; answers their paths.
pub fn write_files(board: &Board, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut json = serde_json::to_string_pretty(board).map_err(std::io::Error::other)?;
    json.push('\n');
    let files = [
        ("board.json", json.into_bytes()),
        ("board.csv", csv_bytes(board)?),
        ("board.html", render_html(board).into_bytes()),
    ];
    let mut out = Vec::new();
    for (name, bytes) in files {
        let path = dir.join(name);
        assay_core::fs::write_atomic(&path, &bytes)?;
        out.push(path);
    }
    Ok(out)
}

/// One line per model × scope × column with a score (history not included: it is in the JSON).
pub fn csv_bytes(board: &Board) -> std::io::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let header = [
        "model",
        "display",
        "organization",
        "access",
        "scope",
        "column",
        "value",
        "ci_low",
        "ci_high",
        "n",
        "k",
        "rank",
        "p_value",
        "run",
    ];
    w.write_record(header).map_err(std::io::Error::other)?;
    for row in &board.rows {
        for (scope, scores) in &row.scores {
            for column in &board.columns {
                let Some(s) = scores.get(&column.id) else {
                    continue;
                };
                let opt = |v: Option<String>| v.unwrap_or_default();
                w.write_record([
                    row.info.model.clone(),
                    row.info.display.clone(),
                    opt(row.info.organization.clone()),
                    row.info.access.clone(),
                    scope.clone(),
                    column.id.clone(),
                    format!("{:.6}", s.value),
                    format!("{:.6}", s.lo),
                    format!("{:.6}", s.hi),
                    s.n.to_string(),
                    opt(s.k.map(|k| k.to_string())),
                    opt(s.rank.map(|r| r.to_string())),
                    opt(s.p_value.map(|p| format!("{p:.4}"))),
                    opt(s.run.clone()),
                ])
                .map_err(std::io::Error::other)?;
            }
        }
    }
    w.into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// A score as people read it: `72.4% [65.1–78.8]`, `+6.2 pts [1.0–11.4]` or `1012 [980–1040]`.
fn shown(column: &Column, s: &Score) -> String {
    match column.kind.as_str() {
        "rate" => format!(
            "{:.1}% [{:.1}–{:.1}]",
            s.value * 100.0,
            s.lo * 100.0,
            s.hi * 100.0
        ),
        "difference" => format!(
            "{:+.1} pts [{:+.1}–{:+.1}]",
            s.value * 100.0,
            s.lo * 100.0,
            s.hi * 100.0
        ),
        _ => format!("{:.0} [{:.0}–{:.0}]", s.value, s.lo, s.hi),
    }
}

/// The board for all languages as a terminal table: a line per model, a column per score
/// (`value [interval] n`, `#rank` where ranked).
pub fn terminal_table(board: &Board) -> String {
    let mut headers = vec!["model".to_string(), "access".to_string()];
    headers.extend(board.columns.iter().map(|c| c.title.clone()));
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let mut table = TextTable::new(&header_refs, &[]);
    for row in &board.rows {
        let scores = row.scores.get("all");
        let mut cells = vec![row.info.display.clone(), row.info.access.clone()];
        for column in &board.columns {
            cells.push(match scores.and_then(|s| s.get(&column.id)) {
                Some(s) => {
                    let rank = s.rank.map(|r| format!(" #{r}")).unwrap_or_default();
                    format!("{} n={}{rank}", shown(column, s), s.n)
                }
                None => "—".to_string(),
            });
        }
        table.row(cells);
    }
    table.render("")
}

#[derive(Serialize)]
struct CellView {
    value: f64,
    text: String,
    n: u64,
    rank: Option<usize>,
    /// Where the interval lies on a 0–100 bar (rates), for the inline whisker.
    bar: Option<(f64, f64, f64)>,
    p_value: Option<String>,
}

#[derive(Serialize)]
struct RowView<'a> {
    display: &'a str,
    model: &'a str,
    organization: Option<&'a str>,
    license: Option<&'a str>,
    access: &'a str,
    cells: Vec<Option<CellView>>,
}

#[derive(Serialize)]
struct ScopeView<'a> {
    scope: &'a str,
    rows: Vec<RowView<'a>>,
}

fn scope_view<'a>(board: &'a Board, rows: &'a [crate::Row], scope: &'a str) -> ScopeView<'a> {
    let rows = rows
        .iter()
        .map(|row| RowView {
            display: &row.info.display,
            model: &row.info.model,
            organization: row.info.organization.as_deref(),
            license: row.info.license.as_deref(),
            access: &row.info.access,
            cells: board
                .columns
                .iter()
                .map(|column| {
                    let s = row.scores.get(scope)?.get(&column.id)?;
                    Some(CellView {
                        value: s.value,
                        text: shown(column, s),
                        n: s.n,
                        rank: s.rank,
                        bar: (column.kind == "rate").then_some((
                            s.lo * 100.0,
                            s.value * 100.0,
                            s.hi * 100.0,
                        )),
                        p_value: s.p_value.map(|p| format!("{p:.3}")),
                    })
                })
                .collect(),
        })
        .collect();
    ScopeView { scope, rows }
}

#[derive(Serialize)]
struct PointView<'a> {
    label: &'a str,
    cx: f64,
    cy: f64,
    x_lo: f64,
    x_hi: f64,
    y_lo: f64,
    y_hi: f64,
}

#[derive(Serialize)]
struct ScatterView<'a> {
    id: String,
    x_title: &'a str,
    y_title: &'a str,
    x_ticks: Vec<(f64, String)>,
    y_ticks: Vec<(f64, String)>,
    points: Vec<PointView<'a>>,
    reading: &'a str,
}

/// The plot area of a chart, in its 320 × 240 view box.
const PLOT: (f64, f64, f64, f64) = (52.0, 308.0, 14.0, 196.0);

/// Where a column's values run on an axis: 0–1 for shares, the intervals' span (padded) for
/// ratings.
fn axis_range(column: &Column, scores: &[&Score]) -> (f64, f64) {
    if column.kind == "rate" {
        return (0.0, 1.0);
    }
    let lo = scores.iter().map(|s| s.lo).fold(f64::INFINITY, f64::min);
    let hi = scores
        .iter()
        .map(|s| s.hi)
        .fold(f64::NEG_INFINITY, f64::max);
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        let mid = scores.first().map_or(0.0, |s| s.value);
        return (mid - 50.0, mid + 50.0);
    }
    let pad = (hi - lo) * 0.08;
    (lo - pad, hi + pad)
}

fn ticks(column: &Column, (lo, hi): (f64, f64)) -> Vec<(f64, String)> {
    (0..=4)
        .map(|i| {
            let v = lo + (hi - lo) * f64::from(i) / 4.0;
            let label = if column.kind == "rate" {
                format!("{:.0}%", v * 100.0)
            } else {
                format!("{v:.0}")
            };
            (f64::from(i) / 4.0, label)
        })
        .collect()
}

fn scatter_view<'a>(
    board: &'a Board,
    index: usize,
    s: &'a crate::Scatter,
) -> Option<ScatterView<'a>> {
    let x = board.columns.iter().find(|c| c.id == s.x)?;
    let y = board.columns.iter().find(|c| c.id == s.y)?;
    let xs: Vec<&Score> = s.points.iter().map(|p| &p.x).collect();
    let ys: Vec<&Score> = s.points.iter().map(|p| &p.y).collect();
    let (xr, yr) = (axis_range(x, &xs), axis_range(y, &ys));
    let (left, right, top, bottom) = PLOT;
    let px = |v: f64| left + (right - left) * ((v - xr.0) / (xr.1 - xr.0)).clamp(0.0, 1.0);
    let py = |v: f64| bottom - (bottom - top) * ((v - yr.0) / (yr.1 - yr.0)).clamp(0.0, 1.0);
    Some(ScatterView {
        id: format!("scatter-{}-{index}", s.scope),
        x_title: &x.title,
        y_title: &y.title,
        x_ticks: ticks(x, xr)
            .into_iter()
            .map(|(f, l)| (left + (right - left) * f, l))
            .collect(),
        y_ticks: ticks(y, yr)
            .into_iter()
            .map(|(f, l)| (bottom - (bottom - top) * f, l))
            .collect(),
        points: s
            .points
            .iter()
            .map(|p| PointView {
                label: &p.display,
                cx: px(p.x.value),
                cy: py(p.y.value),
                x_lo: px(p.x.lo),
                x_hi: px(p.x.hi),
                y_lo: py(p.y.lo),
                y_hi: py(p.y.hi),
            })
            .collect(),
        reading: &s.reading,
    })
}

#[derive(Serialize)]
struct SeriesView<'a> {
    label: &'a str,
    colour: &'static str,
    /// `x,y` pairs of the line, and of the band (the upper bounds, then the lower ones back).
    line: String,
    band: String,
    end: (f64, f64),
    dots: Vec<(f64, f64)>,
}

#[derive(Serialize)]
struct HistoryView<'a> {
    title: &'a str,
    x_labels: Vec<(f64, &'a str)>,
    y_ticks: Vec<(f64, String)>,
    series: Vec<SeriesView<'a>>,
}

/// One small chart per ranked column: each model's score per period (all languages) as a
/// line, its interval as a band.
fn history_views(board: &Board) -> Vec<HistoryView<'_>> {
    let periods: Vec<&str> = board.history.iter().map(|p| p.period.as_str()).collect();
    if periods.len() < 2 {
        return Vec::new();
    }
    let (left, right, top, bottom) = PLOT;
    let x_of = |i: usize| left + (right - left) * i as f64 / (periods.len() - 1) as f64;
    let mut out = Vec::new();
    for column in board
        .columns
        .iter()
        .filter(|c| c.better != crate::Better::Neither)
    {
        let scores: Vec<&Score> = board
            .history
            .iter()
            .flat_map(|p| p.rows.iter())
            .filter_map(|r| r.scores.get("all")?.get(&column.id))
            .collect();
        if scores.is_empty() {
            continue;
        }
        let range = axis_range(column, &scores);
        let y_of = |v: f64| {
            bottom - (bottom - top) * ((v - range.0) / (range.1 - range.0)).clamp(0.0, 1.0)
        };
        let mut series = Vec::new();
        for (index, row) in board.rows.iter().enumerate() {
            let points: Vec<(f64, &Score)> = board
                .history
                .iter()
                .enumerate()
                .filter_map(|(i, p)| {
                    let r = p.rows.iter().find(|r| r.info.model == row.info.model)?;
                    Some((x_of(i), r.scores.get("all")?.get(&column.id)?))
                })
                .collect();
            let Some(&(last_x, last)) = points.last() else {
                continue;
            };
            let pairs = |f: &dyn Fn(&Score) -> f64,
                         pts: &mut dyn Iterator<Item = &(f64, &Score)>| {
                pts.map(|(x, s)| format!("{x:.1},{:.1}", y_of(f(s))))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let line = pairs(&|s| s.value, &mut points.iter());
            let upper = pairs(&|s| s.hi, &mut points.iter());
            let lower = pairs(&|s| s.lo, &mut points.iter().rev());
            series.push(SeriesView {
                label: &row.info.display,
                colour: PALETTE[index % PALETTE.len()],
                line,
                band: format!("{upper} {lower}"),
                end: (last_x, y_of(last.value)),
                dots: points.iter().map(|(x, s)| (*x, y_of(s.value))).collect(),
            });
        }
        out.push(HistoryView {
            title: &column.title,
            x_labels: periods
                .iter()
                .enumerate()
                .map(|(i, p)| (x_of(i), *p))
                .collect(),
            y_ticks: ticks(column, range)
                .into_iter()
                .map(|(f, l)| (bottom - (bottom - top) * f, l))
                .collect(),
            series,
        });
    }
    out
}

/// The board as one self-contained page.
pub fn render_html(board: &Board) -> String {
    let scopes: Vec<ScopeView> = crate::SCOPES
        .iter()
        .map(|scope| scope_view(board, &board.rows, scope))
        .collect();
    let history: Vec<(String, Vec<String>, ScopeView)> = board
        .history
        .iter()
        .map(|p| {
            (
                p.period.clone(),
                p.runs.clone(),
                scope_view(board, &p.rows, "all"),
            )
        })
        .collect();
    let moves: Vec<(String, String, String, String)> = board
        .moves
        .iter()
        .filter_map(|m| {
            let column = board.columns.iter().find(|c| c.id == m.column)?;
            Some((
                m.model.clone(),
                format!("{} ({})", column.title, m.scope),
                shown(column, &m.before),
                shown(column, &m.after),
            ))
        })
        .collect();
    let scatters: Vec<(&str, Vec<ScatterView>)> = crate::SCOPES
        .iter()
        .map(|&scope| {
            let views = board
                .scatters
                .iter()
                .enumerate()
                .filter(|(_, s)| s.scope == scope)
                .filter_map(|(i, s)| scatter_view(board, i, s))
                .collect();
            (scope, views)
        })
        .collect();
    let organizations: std::collections::BTreeSet<&str> = board
        .rows
        .iter()
        .filter_map(|r| r.info.organization.as_deref())
        .collect();
    let env = assay_core::html::environment();
    let rendered = env.render_str(
        TEMPLATE,
        context! {
            board => board,
            scopes => scopes,
            history => history,
            history_charts => history_views(board),
            moves => moves,
            scatters => scatters,
            organizations => organizations,
            csp => minijinja::Value::from_safe_string(content_security_policy()),
            script => minijinja::Value::from_safe_string(SCRIPT.to_string()),
        },
    );
    rendered.unwrap_or_else(|e| {
        format!(
            "<!DOCTYPE html>\n<p>{}</p>\n",
            assay_core::html::Escaped(&format!("assay: the board template failed: {e:#}"))
        )
    })
}
