//! The two pages, rendered from the minijinja templates in `crates/web/templates` with HTML
//! autoescaping (the one environment of `assay_core::html`): every value is escaped except our
//! own compiled-in style sheet and script (`assets/`), which carry the response's CSP nonce.
//! Everything is inline (no CDN, no external file). The battle page names no model: names
//! arrive only in the answer to a vote.

use std::sync::LazyLock;

use minijinja::{context, Environment, Value};
use serde::Serialize;

use crate::board::LeaderboardView;
use crate::{svg, WebConfig};

const STYLE: &str = include_str!("../assets/arena.css");
const BATTLE_SCRIPT: &str = include_str!("../assets/battle.js");

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = assay_core::html::environment();
    for (name, source) in [
        ("base.html", include_str!("../templates/base.html")),
        ("battle.html", include_str!("../templates/battle.html")),
        (
            "leaderboard.html",
            include_str!("../templates/leaderboard.html"),
        ),
        ("heatmap.svg", include_str!("../templates/heatmap.svg")),
        ("text.html", "{{ text }}"),
        (
            "no-board.html",
            "{% extends \"base.html\" %}{% block main %}<h2>Board</h2><p>No finished audit \
             runs in this arena's store yet. Run <code>assay audit --db</code> with this \
             store (and <code>--pairwise BASELINE --judge MODEL</code> for judged ratings); \
             the board then shows every model's scores beside this arena's votes.</p>\
             {% endblock %}",
        ),
    ] {
        // Compiled-in sources; the tests render every template, so this cannot fail at run time.
        env.add_template(name, source)
            .expect("built-in template parses");
    }
    env
});

/// Renders template `name`. The templates and their contexts are ours and tested, so a failure
/// is a bug: it is logged and the page says so instead of panicking the server.
fn render(name: &str, ctx: Value) -> String {
    TEMPLATES
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .unwrap_or_else(|e| {
            tracing::error!("arena: rendering {name} failed: {e:#}");
            "<!doctype html><title>assay arena</title><p>This page could not be rendered; see the server log.</p>".to_string()
        })
}

/// `text` as HTML that shows it as it is (for an answer whose Markdown could not be rendered).
pub fn plain_text_html(text: &str) -> String {
    render("text.html", context! { text })
}

/// What `/board` shows before the store has a finished audit run.
pub fn no_board_page(nonce: &str) -> String {
    render(
        "no-board.html",
        context! { page => "board", nonce, style => Value::from_safe_string(STYLE.to_string()) },
    )
}

/// The battle page. `csrf` is the token the script sends back with every POST.
pub fn battle_page(nonce: &str, csrf: &str, config: &WebConfig) -> String {
    render(
        "battle.html",
        context! {
            page => "battle",
            nonce,
            csrf,
            style => Value::from_safe_string(STYLE.to_string()),
            script => Value::from_safe_string(BATTLE_SCRIPT.to_string()),
            max_prompt => crate::error::human_bytes(config.max_prompt_bytes),
        },
    )
}

/// The leaderboard's URL for a language tab, a category tab and the style toggle.
fn board_link(language: Option<&str>, category: Option<&str>, style: bool) -> String {
    let encode = |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
    let mut query: Vec<String> = Vec::new();
    if let Some(l) = language {
        query.push(format!("lang={}", encode(l)));
    }
    if let Some(c) = category {
        query.push(format!("cat={}", encode(c)));
    }
    if style {
        query.push("style=on".into());
    }
    if query.is_empty() {
        "/leaderboard".into()
    } else {
        format!("/leaderboard?{}", query.join("&"))
    }
}

#[derive(Serialize)]
struct TabRow {
    aria: &'static str,
    tabs: Vec<Tab>,
}

#[derive(Serialize)]
struct Tab {
    href: String,
    label: String,
    active: bool,
}

/// One row of tabs: "All" (`all_label`), then `(value, label, votes)`; `current` is active.
fn tab_row(
    aria: &'static str,
    all_label: &str,
    tabs: &[(String, String, Option<u64>)],
    current: Option<&str>,
    link: impl Fn(Option<&str>) -> String,
) -> TabRow {
    let mut row = vec![Tab {
        href: link(None),
        label: all_label.to_string(),
        active: current.is_none(),
    }];
    for (value, label, votes) in tabs {
        row.push(Tab {
            href: link(Some(value)),
            label: match votes {
                Some(n) => format!("{label} ({n})"),
                None => label.clone(),
            },
            active: current.is_some_and(|c| c.eq_ignore_ascii_case(value)),
        });
    }
    TabRow { aria, tabs: row }
}

fn fmt_score(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.0}")
    } else {
        "–".into()
    }
}

/// A leaderboard row as shown: numbers formatted, missing facts as "–".
#[derive(Serialize)]
struct RowView {
    rank: usize,
    model: String,
    score: String,
    ci: String,
    votes: u64,
    /// Fewer votes than the threshold: shown in words beside the name.
    preliminary: bool,
    organization: String,
    license: String,
}

#[derive(Serialize)]
struct BoardView {
    rows: Vec<RowView>,
    battles: u64,
    excluded: u64,
    /// Some row is preliminary (then the page says what that means).
    any_preliminary: bool,
    preliminary_below: u64,
    /// `name +0.123` each.
    style_coefficients: Vec<String>,
    warnings: Vec<String>,
}

/// The leaderboard page (no script at all).
pub fn leaderboard_page(nonce: &str, view: &LeaderboardView) -> String {
    let category = view.category.as_deref();
    let category_label = category.map(|c| crate::category::label(c).unwrap_or(c));
    let title = match (view.language.as_deref(), category_label) {
        (None, None) => "Leaderboard · Overall".to_string(),
        (Some(l), None) => format!("Leaderboard · {l}"),
        (None, Some(c)) => format!("Leaderboard · {c}"),
        (Some(l), Some(c)) => format!("Leaderboard · {l} · {c}"),
    };

    // Tabs: every language, then each language with enough votes (and the current one in any
    // case); the same for categories. The two combine.
    let current = view.language.as_deref();
    let mut languages: Vec<(String, String, Option<u64>)> = view
        .languages
        .iter()
        .map(|(l, n)| (l.clone(), l.clone(), Some(*n)))
        .collect();
    if let Some(l) = current {
        if !languages.iter().any(|(t, _, _)| t.eq_ignore_ascii_case(l)) {
            languages.push((l.to_string(), l.to_string(), None));
        }
    }
    let mut categories: Vec<(String, String, Option<u64>)> = view
        .categories
        .iter()
        .map(|(id, label, n)| (id.clone(), label.clone(), Some(*n)))
        .collect();
    if let (Some(c), Some(label)) = (category, category_label) {
        if !categories.iter().any(|(t, _, _)| t.eq_ignore_ascii_case(c)) {
            categories.push((c.to_string(), label.to_string(), None));
        }
    }
    let tab_rows = [
        tab_row("Language", "Overall", &languages, current, |l| {
            board_link(l, category, view.style_control)
        }),
        tab_row("Category", "All categories", &categories, category, |c| {
            board_link(current, c, view.style_control)
        }),
    ];

    let board = view.board.as_ref().map(|board| BoardView {
        rows: board
            .rows
            .iter()
            .map(|row| RowView {
                rank: row.rank,
                model: row.model.clone(),
                score: fmt_score(row.score),
                ci: if row.lo.is_finite() && row.hi.is_finite() {
                    format!("+{:.0}/−{:.0}", row.hi - row.score, row.score - row.lo)
                } else {
                    "–".into()
                },
                votes: row.votes,
                preliminary: row.preliminary,
                organization: row.organization.clone().unwrap_or_else(|| "–".into()),
                license: row.license.clone().unwrap_or_else(|| "–".into()),
            })
            .collect(),
        battles: board.battles,
        excluded: board.excluded,
        any_preliminary: board.rows.iter().any(|r| r.preliminary),
        preliminary_below: board.preliminary_below,
        style_coefficients: board
            .style_coefficients
            .iter()
            .flatten()
            .map(|(name, c)| format!("{name} {c:+.3}"))
            .collect(),
        warnings: board.warnings.clone(),
    });
    let heatmaps: Vec<svg::Heatmap> = match view.pairwise.as_ref().filter(|p| p.models.len() >= 2) {
        Some(p) => vec![svg::win_rate_heatmap(p), svg::battle_count_heatmap(p)],
        None => Vec::new(),
    };
    let json_href = board_link(current, category, view.style_control).replacen(
        "/leaderboard",
        "/api/leaderboard",
        1,
    );
    render(
        "leaderboard.html",
        context! {
            page => "leaderboard",
            nonce,
            style => Value::from_safe_string(STYLE.to_string()),
            title,
            tab_rows,
            style_control => view.style_control,
            style_toggle_href => board_link(current, category, !view.style_control),
            board,
            total_votes => view.total_votes,
            tab_votes => view.tab_votes,
            message => view.message.clone().unwrap_or_default(),
            bootstrap_rounds => view.bootstrap_rounds,
            heatmaps,
            min_language_votes => view.min_language_votes,
            computed_at => view.computed_at.clone(),
            json_href,
        },
    )
}

#[cfg(test)]
mod tests {
    use assay_arena::leaderboard::{CiMethod, Leaderboard, Pairwise, Row};

    use super::*;

    fn view(board: bool) -> LeaderboardView {
        let row = |rank: usize, model: &str, org: Option<&str>| Row {
            rank,
            model: model.to_string(),
            score: 1000.0 + 10.0 * rank as f64,
            lo: 990.0,
            hi: f64::NAN.max(1030.0),
            votes: 12 * rank as u64,
            preliminary: rank == 3,
            organization: org.map(str::to_string),
            license: None,
        };
        let lb = Leaderboard {
            rows: vec![
                row(1, "<script>alert(1)</script>", Some("O'Reilly & \"Sons\"")),
                row(2, "通义千问-7B", None),
                row(3, &"x".repeat(40), Some("Acme")),
            ],
            battles: 30,
            excluded: 2,
            style_coefficients: Some(vec![("length".into(), 0.25), ("<b>".into(), -0.1)]),
            elo: Vec::new(),
            warnings: vec!["model <i> rests on the ridge".into()],
            ci: CiMethod::Bootstrap,
            style_control: true,
            preliminary_below: 30,
        };
        let names: Vec<String> = lb.rows.iter().map(|r| r.model.clone()).collect();
        LeaderboardView {
            language: Some("Chinese".into()),
            category: Some("coding".into()),
            style_control: true,
            total_votes: 40,
            tab_votes: 32,
            languages: vec![("English".into(), 20), ("Chinese".into(), 12)],
            categories: vec![("multi-turn".into(), "Multi-turn".into(), 11)],
            min_language_votes: 10,
            bootstrap_rounds: 200,
            board: board.then_some(lb),
            message: (!board).then(|| "No votes yet & <none>".to_string()),
            pairwise: board.then(|| Pairwise {
                models: names,
                win_rate: vec![
                    vec![None, Some(0.75), Some(0.1)],
                    vec![Some(0.25), None, None],
                    vec![Some(0.9), None, None],
                ],
                battles: vec![vec![0, 4, 10], vec![4, 0, 0], vec![10, 0, 0]],
            }),
            computed_at: "2026-12-02T23:00:00Z".into(),
        }
    }

    /// Every template renders, with hostile names everywhere a name goes: nothing of them
    /// becomes markup, and the page is not the render-failure page.
    #[test]
    fn every_page_renders_and_escapes() {
        for board in [true, false] {
            let html = leaderboard_page("n0nce", &view(board));
            assert!(
                html.contains("<h2>Leaderboard · Chinese · Coding</h2>"),
                "{html}"
            );
            assert!(!html.contains("<script") && !html.contains("<i>") && !html.contains("<none>"));
            if board {
                assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
                assert!(html.contains("O&#39;Reilly &amp; &quot;Sons&quot;"));
                assert!(html.contains("&lt;b&gt; -0.100") && html.contains("<svg"));
                // Two heatmaps, each with its colour legend (in numbers and in words).
                assert_eq!(html.matches("<svg").count(), 4);
                assert_eq!(html.matches(r#"class="legend""#).count(), 4);
                assert!(html.contains("Colour: blue, the row model lost more often"));
                assert!(html.contains("Colour: white, no battles"));
                // The one preliminary row says so in words, and the page says what it means.
                assert_eq!(
                    html.matches(r#"<span class="badge">preliminary</span>"#)
                        .count(),
                    1
                );
                assert!(html.contains(&format!(
                    "{} <span class=\"badge\">preliminary</span>",
                    "x".repeat(40)
                )));
                assert!(html.contains("Preliminary: fewer than 30 votes"));
            } else {
                assert!(html.contains("No votes yet &amp; &lt;none&gt;"));
            }
        }
        let html = battle_page("n\"<", "c'&", &crate::WebConfig::default());
        assert!(
            html.contains(r#"<meta name="csrf-token" content="c&#39;&amp;">"#),
            "{html}"
        );
        assert!(html.contains(r#"<script nonce="n&quot;&lt;">"#));
        assert!(html.contains("Prompts up to 16 KiB"));
        assert!(html.ends_with("</script>\n</body>\n</html>\n"));
        assert_eq!(plain_text_html("<img src=x>"), "&lt;img src=x&gt;");
    }
}
