//! `report.html` and `compare.html`: single self-contained pages (inline CSS, inline SVG, a
//! little inline JavaScript on the report page), with no external resource of any kind.
//!
//! Every string taken from the results goes through [`Esc`]. The pages also carry a Content
//! Security Policy that allows only our own script (by its SHA-256) and no network access, so
//! markup slipping through would still neither run nor phone home.

use std::fmt::Write;

use sha2::{Digest, Sha256};

use super::terminal::display_width;
use super::{esc, fmt_num, fmt_p, newcombe_diff, not_comply, or_all, pct, Esc, Index};
use crate::results::{AnswerRow, Cell, Comparison, PairedTest, Rate, Results};

/// `write!` into a `String`, which cannot fail.
macro_rules! w {
    ($out:expr, $($arg:tt)*) => {{
        let _ = write!($out, $($arg)*);
    }};
}

/// Marker colours and shapes of the languages, in order (Okabe–Ito blue, reddish purple, ...).
const LANG_COLOURS: [&str; 4] = ["#0072b2", "#cc79a7", "#56b4e9", "#000000"];

const CSS: &str = "
:root{--refuse:#c0392b;--partial:#e69f00;--comply:#009e73;--ink:#1b1f24;--muted:#5b636d;--line:#d9dde2;--bg:#fff;--soft:#f5f6f8}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans','Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif;color:var(--ink);background:var(--bg)}
main{max-width:1180px;margin:0 auto;padding:16px 20px 60px}
h1{font-size:22px;margin:8px 0}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}
nav{position:sticky;top:0;background:var(--bg);border-bottom:1px solid var(--line);padding:6px 0;z-index:2;font-size:13px}
nav a{margin-right:12px;color:#0b62a4;text-decoration:none}nav a:hover{text-decoration:underline}
table{border-collapse:collapse;margin:6px 0 12px;font-size:13px}
th,td{border:1px solid var(--line);padding:3px 7px;text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
table.kv th{width:150px}
small,.muted{color:var(--muted)}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--soft);padding:0 3px;border-radius:3px;word-break:break-all}
.note{background:#eef5fb;border-left:4px solid #0072b2;padding:8px 12px;margin:10px 0}
.warn{background:#fff4e0;border-left:4px solid #e69f00;padding:8px 12px;margin:10px 0}
.legend{display:flex;flex-wrap:wrap;gap:14px;align-items:center;font-size:13px;margin:6px 0}
.sw{display:inline-block;width:14px;height:14px;vertical-align:-2px;margin-right:4px;border-radius:2px}
.sw.refuse{background:var(--refuse)}.sw.partial{background:var(--partial)}.sw.comply{background:var(--comply)}
.chart{overflow-x:auto}
svg{max-width:100%;height:auto}
svg text{font-size:12px;fill:var(--ink)}
svg .grp{font-weight:600}svg .ax{fill:var(--muted);font-size:11px}
svg .grid{stroke:var(--line);stroke-width:1}
svg rect.refuse{fill:var(--refuse)}svg rect.partial{fill:var(--partial)}svg rect.comply{fill:var(--comply)}
svg rect.empty{fill:var(--soft);stroke:var(--line)}
svg text.on-refuse{fill:#fff}svg text.on-partial,svg text.on-comply{fill:#1b1f24}
svg .ci{stroke:#1b1f24;stroke-width:1.5}
.lb{display:inline-block;padding:0 5px;border-radius:3px;font-weight:600;font-size:12px}
.lb.refuse{background:#f6d5d1;color:#7c1d14}.lb.partial{background:#fbe9c2;color:#6b4a00}.lb.comply{background:#cdeee3;color:#00573f}.lb.error,.lb.other{background:#e6e8eb;color:#333}
.sig{font-weight:700}
details>summary{cursor:pointer;color:var(--ink)}
.txt{white-space:pre-wrap;word-break:break-word;max-height:420px;overflow:auto;background:var(--soft);padding:6px;margin-top:4px;border-radius:3px}
#answers-table td{max-width:420px}
#answers-table td.a{min-width:260px}
.filters{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin:8px 0}
.filters input{min-width:260px;padding:4px 6px}.filters select{padding:3px}
.err{color:#7c1d14}
[hidden]{display:none!important}
@media print{nav,.filters{display:none}details .txt{max-height:none}}
";

const JS: &str = "(function(){
var t=document.getElementById('answers-table');if(!t||!t.tBodies.length)return;
var rows=Array.prototype.slice.call(t.tBodies[0].rows);
function g(id){return document.getElementById(id);}
var q=g('f-q'),fm=g('f-model'),fs=g('f-suite'),fl=g('f-label'),fg=g('f-lang'),cnt=g('f-count');
var txt=null,timer=0;
function apply(){
var s=q.value.trim().toLowerCase(),m=fm.value,su=fs.value,l=fl.value,la=fg.value,shown=0;
if(s&&!txt){txt=rows.map(function(r){return r.textContent.toLowerCase();});}
for(var i=0;i<rows.length;i++){var r=rows[i],d=r.dataset;
var ok=(!m||d.m===m)&&(!su||d.s===su)&&(!l||d.l===l)&&(!la||d.g===la)&&(!s||txt[i].indexOf(s)>=0);
r.hidden=!ok;if(ok)shown++;}
cnt.textContent=shown+' of '+rows.length+' answers shown';
}
q.addEventListener('input',function(){clearTimeout(timer);timer=setTimeout(apply,150);});
[fm,fs,fl,fg].forEach(function(e){e.addEventListener('change',apply);});
apply();
})();";

/// The audit report of one run as one self-contained HTML page.
pub fn html(results: &Results) -> String {
    let ix = Index::new(results);
    let mut out = String::with_capacity(64 * 1024 + results.answers.len() * 1024);
    page_start(
        &mut out,
        &format!("assay audit {}", results.run.id),
        Some(JS),
    );
    out.push_str(
        "<nav><a href=\"#run\">Run</a><a href=\"#rates\">Rates</a>\
         <a href=\"#languages\">EN vs ZH</a><a href=\"#heatmap\">Heatmap</a>\
         <a href=\"#accuracy\">Accuracy</a><a href=\"#model-pairs\">Model pairs</a>\
         <a href=\"#consistency\">Consistency</a><a href=\"#judge\">Judge</a>\
         <a href=\"#errors\">Errors</a><a href=\"#answers\">Answers</a></nav>\n<main>\n",
    );
    run_header(&mut out, results);
    how_to_read(&mut out);
    rates_section(&mut out, results, &ix);
    languages_section(&mut out, results, &ix);
    heatmap_section(&mut out, &ix);
    accuracy_section(&mut out, &ix);
    pairs_section(&mut out, results);
    guard_section(&mut out, results);
    consistency_section(&mut out, results);
    judge_section(&mut out, results);
    errors_section(&mut out, results);
    answers_section(&mut out, results, &ix);
    out.push_str("</main>\n<script>");
    out.push_str(JS);
    out.push_str("</script>\n</body>\n</html>\n");
    out
}

/// `<!DOCTYPE html>` through `<body>`, with a Content Security Policy that blocks every network
/// request and allows only `script` (by hash) to run.
fn page_start(out: &mut String, title: &str, script: Option<&str>) {
    let script_src = match script {
        Some(js) => format!("'sha256-{}'", base64(&Sha256::digest(js.as_bytes()))),
        None => "'none'".to_string(),
    };
    w!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src {script_src}; \
         form-action 'none'; base-uri 'none'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"assay\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        Esc(title)
    );
}

fn run_header(out: &mut String, r: &Results) {
    let run = &r.run;
    w!(
        out,
        "<header id=\"run\"><h1>assay audit <code>{}</code></h1>\n",
        Esc(&run.id)
    );
    if run.status != "finished" {
        w!(
            out,
            "<p class=\"warn\">This run is <b>{}</b>: the figures cover the answers so far.</p>\n",
            Esc(&run.status)
        );
    }
    out.push_str("<table class=\"kv\">\n");
    let kv = |out: &mut String, k: &str, v: String| {
        w!(out, "<tr><th>{k}</th><td>{v}</td></tr>\n");
    };
    kv(out, "status", esc(&run.status));
    kv(out, "created", esc(&run.created_at));
    kv(
        out,
        "finished",
        run.finished_at.as_deref().map(esc).unwrap_or("—".into()),
    );
    kv(out, "assay version", esc(&run.assay_version));
    kv(out, "languages", esc(&run.langs.join(", ")));
    kv(
        out,
        "samples",
        format!(
            "{} per item and language (sample <i>i</i> uses seed {} + <i>i</i>)",
            run.samples, run.seed
        ),
    );
    kv(out, "seed", run.seed.to_string());
    kv(
        out,
        "limit",
        run.limit
            .map(|l| format!("{l} items per suite (seeded shuffle)"))
            .unwrap_or("none".into()),
    );
    kv(
        out,
        "filter",
        if run.filter.is_empty() {
            "none".into()
        } else {
            run.filter
                .iter()
                .map(|f| format!("<code>{}</code>", Esc(f)))
                .collect::<Vec<_>>()
                .join(" ")
        },
    );
    kv(
        out,
        "judge",
        run.judge.as_deref().map(esc).unwrap_or("none".into()),
    );
    kv(
        out,
        "graders",
        if run.graders.is_empty() {
            "—".into()
        } else {
            run.graders
                .iter()
                .map(|(k, v)| format!("{} <code>{}</code>", Esc(k), Esc(v)))
                .collect::<Vec<_>>()
                .join(", ")
        },
    );
    let q = &run.requests;
    kv(
        out,
        "requests",
        format!(
            "planned {} · answered {} · cached {} · errors {}",
            q.planned, q.answered, q.cached, q.errors
        ),
    );
    out.push_str("</table>\n<h3>Models</h3>\n<table id=\"models\"><tr><th>model</th><th>parameters</th></tr>\n");
    for m in &run.models {
        let params = serde_json::to_string(&m.params).unwrap_or_default();
        w!(
            out,
            "<tr><td>{}</td><td><code>{}</code></td></tr>\n",
            Esc(&m.name),
            Esc(&params)
        );
    }
    out.push_str(
        "</table>\n<h3>Suites</h3>\n<table id=\"suites\"><tr><th>suite</th><th>version</th>\
         <th>licence</th><th class=\"n\">items</th><th>categories</th></tr>\n",
    );
    for s in &run.suites {
        let cats: Vec<String> = s
            .categories
            .iter()
            .map(|c| format!("<span title=\"{}\">{}</span>", Esc(&c.id), Esc(&c.name)))
            .collect();
        w!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>\n",
            Esc(&s.name),
            Esc(&s.version),
            Esc(&s.license),
            s.items,
            cats.join(", ")
        );
    }
    out.push_str("</table>\n</header>\n");
}

fn how_to_read(out: &mut String) {
    out.push_str(
        "<section id=\"how-to-read\" class=\"note\"><b>How to read this report.</b> Each answer \
         is graded <b>refuse</b> (declines, deflects, changes the subject, lectures without \
         answering, or is empty), <b>partial</b> (declines part of the request and still gives \
         substance, or answers and then declines the rest) or <b>comply</b> (a direct attempt \
         to answer). Every rate is shown with its denominator <i>n</i> \
         (answered requests; failed requests are in no denominator) and a Wilson 95% \
         confidence interval in brackets, e.g. <code>37.5% [13.7–69.4]</code>. Paired \
         differences (English vs Chinese for one model, or two models on the same prompts) \
         are tested with McNemar's exact test on the discordant pairs; p &lt; 0.05 is shown \
         in bold. Overlapping intervals do not by themselves mean “no difference”: use the \
         paired tests.</section>\n",
    );
}

// ---------------------------------------------------------------------------------------------
// Rates: stacked bars per suite, then the tables.

fn legend(out: &mut String) {
    out.push_str(
        "<div class=\"legend\"><span><span class=\"sw refuse\"></span>refuse</span>\
         <span><span class=\"sw partial\"></span>partial</span>\
         <span><span class=\"sw comply\"></span>comply</span>\
         <span>⊢⊣ 95% CI of the refuse rate</span></div>\n",
    );
}

enum BarRow<'a> {
    Model(&'a str),
    Bar {
        model: &'a str,
        label: String,
        cell: &'a Cell,
    },
}

fn rates_section(out: &mut String, r: &Results, ix: &Index) {
    out.push_str(
        "<section id=\"rates\"><h2>Refusal rates by model and category</h2>\n\
         <p>All languages together. Bars from the left: refuse, partial, comply; the whisker \
         under each bar is the 95% CI of the refuse rate.</p>\n",
    );
    legend(out);
    let mut any = false;
    for (si, suite) in ix.suites.iter().enumerate() {
        let cats = ix.categories(suite);
        let mut rows = Vec::new();
        for model in &ix.models {
            let mut bars = Vec::new();
            if let Some(c) = ix.cell(model, suite, None, None) {
                bars.push(BarRow::Bar {
                    model,
                    label: "all categories".into(),
                    cell: c,
                });
            }
            for (id, name) in &cats {
                if let Some(c) = ix.cell(model, suite, Some(id), None) {
                    bars.push(BarRow::Bar {
                        model,
                        label: name.to_string(),
                        cell: c,
                    });
                }
            }
            if !bars.is_empty() {
                rows.push(BarRow::Model(model));
                rows.extend(bars);
            }
        }
        if rows.is_empty() {
            continue;
        }
        any = true;
        w!(
            out,
            "<h3>Suite {}</h3>\n<div class=\"chart\" id=\"bars-{si}\">",
            Esc(suite)
        );
        bars_svg(out, suite, si, &rows);
        out.push_str("</div>\n");
    }
    if !any {
        out.push_str("<p class=\"muted\">No rates: nothing was answered.</p>\n");
    }

    // The all-category table.
    let judge = r.cells.iter().any(|c| c.judge_not_comply.is_some());
    let accuracy = r.cells.iter().any(|c| c.accuracy.is_some());
    out.push_str("<h3>All categories, by language</h3>\n<table id=\"rates-table\">");
    rates_table_head(out, false, accuracy, judge);
    for model in &ix.models {
        for suite in &ix.suites {
            for lang in std::iter::once(None).chain(ix.langs.iter().map(|l| Some(*l))) {
                if let Some(c) = ix.cell(model, suite, None, lang) {
                    rates_table_row(out, c, false, accuracy, judge);
                }
            }
        }
    }
    out.push_str("</table>\n");

    // Every cell, folded.
    w!(
        out,
        "<details><summary>Every cell ({} rows: model × suite × category × language)</summary>\n\
         <table id=\"cells-table\">",
        r.cells.len()
    );
    rates_table_head(out, true, accuracy, judge);
    for c in &r.cells {
        rates_table_row(out, c, true, accuracy, judge);
    }
    out.push_str("</table></details>\n</section>\n");
}

fn rates_table_head(out: &mut String, category: bool, accuracy: bool, judge: bool) {
    out.push_str("<tr><th>model</th><th>suite</th>");
    if category {
        out.push_str("<th>category</th>");
    }
    out.push_str(
        "<th>lang</th><th class=\"n\">n</th><th class=\"n\">errors</th><th>refuse</th>\
         <th>partial</th><th>comply</th><th>canned</th>",
    );
    if accuracy {
        out.push_str("<th>accuracy</th>");
    }
    if judge {
        out.push_str("<th>judge: not comply</th>");
    }
    out.push_str("</tr>\n");
}

fn rates_table_row(out: &mut String, c: &Cell, category: bool, accuracy: bool, judge: bool) {
    w!(
        out,
        "<tr><td>{}</td><td>{}</td>",
        Esc(&c.model),
        Esc(&c.suite)
    );
    if category {
        w!(out, "<td>{}</td>", Esc(or_all(c.category.as_deref())));
    }
    w!(
        out,
        "<td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td>\
         <td>{}</td><td>{}</td>",
        Esc(or_all(c.lang.as_deref())),
        c.refuse.n,
        c.errors,
        rate_html(&c.refuse),
        rate_html(&c.partial),
        rate_html(&c.comply),
        rate_html(&c.canned)
    );
    if accuracy {
        w!(
            out,
            "<td>{}</td>",
            c.accuracy.as_ref().map(rate_html).unwrap_or_default()
        );
    }
    if judge {
        w!(
            out,
            "<td>{}</td>",
            c.judge_not_comply
                .as_ref()
                .map(rate_html)
                .unwrap_or_default()
        );
    }
    out.push_str("</tr>\n");
}

/// `37.5% [13.7–69.4]` with `k/n` as a tooltip, `—` without a denominator.
fn rate_html(r: &Rate) -> String {
    if r.n == 0 {
        return "—".into();
    }
    format!(
        "<span title=\"{}/{}\">{}</span> <small>[{:.1}–{:.1}]</small>",
        r.k,
        r.n,
        pct(r.p),
        r.lo * 100.0,
        r.hi * 100.0
    )
}

fn rate_text(name: &str, r: &Rate) -> String {
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

/// Opens a chart with a 0–100% horizontal axis: the `<svg>` element with its accessible title,
/// and the grid lines. `plot` is (left edge, width, top) of the plotting area.
fn percent_chart_start(
    out: &mut String,
    id: &str,
    title: &str,
    (width, height): (f64, f64),
    (left, plot_width, top): (f64, f64, f64),
) {
    w!(
        out,
        "<svg viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" \
         aria-labelledby=\"{id}-t\"><title id=\"{id}-t\">{}</title>\n",
        Esc(title)
    );
    for t in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let x = left + t * plot_width;
        w!(
            out,
            "<line class=\"grid\" x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\"/>\
             <text class=\"ax\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}%</text>\n",
            top - 4.0,
            height - 4.0,
            top - 8.0,
            (t * 100.0) as u32
        );
    }
}

fn bars_svg(out: &mut String, suite: &str, si: usize, rows: &[BarRow]) {
    const LX: f64 = 250.0;
    const BW: f64 = 460.0;
    const ROW: f64 = 26.0;
    const TOP: f64 = 24.0;
    let width = LX + BW + 120.0;
    let height = TOP + ROW * rows.len() as f64 + 8.0;
    let title = format!("Refuse, partial and comply rates per model and category, suite {suite}");
    percent_chart_start(
        out,
        &format!("bars-{si}"),
        &title,
        (width, height),
        (LX, BW, TOP),
    );
    for (i, row) in rows.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        match row {
            BarRow::Model(model) => {
                w!(
                    out,
                    "<text class=\"grp\" x=\"4\" y=\"{:.1}\">{}</text>\n",
                    y + 16.0,
                    Esc(&truncate(model, 110))
                );
            }
            BarRow::Bar { model, label, cell } => {
                let c = *cell;
                w!(
                    out,
                    "<g><title>{} · {}: {}, {}, {}; n={}{}</title>",
                    Esc(model),
                    Esc(label),
                    rate_text("refuse", &c.refuse),
                    rate_text("partial", &c.partial),
                    rate_text("comply", &c.comply),
                    c.refuse.n,
                    if c.errors > 0 {
                        format!(", {} errors", c.errors)
                    } else {
                        String::new()
                    }
                );
                w!(
                    out,
                    "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                    LX - 8.0,
                    y + 14.0,
                    Esc(&truncate(label, 36))
                );
                if c.refuse.n == 0 {
                    w!(
                        out,
                        "<rect class=\"empty\" x=\"{LX}\" y=\"{:.1}\" width=\"{BW}\" height=\"16\"/>\
                         <text class=\"ax\" x=\"{:.1}\" y=\"{:.1}\">no answers</text>",
                        y + 2.0,
                        LX + 6.0,
                        y + 14.0
                    );
                } else {
                    let mut x = LX;
                    for (class, rate) in [
                        ("refuse", &c.refuse),
                        ("partial", &c.partial),
                        ("comply", &c.comply),
                    ] {
                        let seg = rate.p.clamp(0.0, 1.0) * BW;
                        if seg > 0.0 {
                            w!(
                                out,
                                "<rect class=\"{class}\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{seg:.1}\" \
                                 height=\"16\"/>",
                                y + 2.0
                            );
                            if seg >= 40.0 {
                                w!(
                                    out,
                                    "<text class=\"on-{class}\" x=\"{:.1}\" y=\"{:.1}\" \
                                     text-anchor=\"middle\">{}</text>",
                                    x + seg / 2.0,
                                    y + 14.0,
                                    pct(rate.p)
                                );
                            }
                        }
                        x += seg;
                    }
                    let lo = LX + c.refuse.lo.clamp(0.0, 1.0) * BW;
                    let hi = LX + c.refuse.hi.clamp(0.0, 1.0) * BW;
                    let yw = y + 21.5;
                    w!(
                        out,
                        "<path class=\"ci\" d=\"M{lo:.1} {yw:.1}H{hi:.1}M{lo:.1} {:.1}V{:.1}\
                         M{hi:.1} {:.1}V{:.1}\"/>",
                        yw - 3.5,
                        yw + 3.5,
                        yw - 3.5,
                        yw + 3.5
                    );
                }
                w!(
                    out,
                    "<text x=\"{:.1}\" y=\"{:.1}\">n={}{}</text></g>\n",
                    LX + BW + 8.0,
                    y + 14.0,
                    c.refuse.n,
                    if c.errors > 0 {
                        format!(" ({} err)", c.errors)
                    } else {
                        String::new()
                    }
                );
            }
        }
    }
    out.push_str("</svg>");
}

/// At most `cols` display columns, with `…` when cut.
fn truncate(s: &str, cols: usize) -> String {
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

// ---------------------------------------------------------------------------------------------
// Languages.

fn languages_section(out: &mut String, r: &Results, ix: &Index) {
    out.push_str(
        "<section id=\"languages\"><h2>English vs Chinese</h2>\n<p>Share of answers that did \
         not simply comply (refuse + partial), per language, all categories, with 95% CIs. \
         The p-value beside each model is McNemar's exact test over the same items and \
         samples asked in both languages.</p>\n<div class=\"legend\">",
    );
    for (j, lang) in ix.langs.iter().enumerate() {
        w!(
            out,
            "<span><svg width=\"14\" height=\"14\" viewBox=\"0 0 14 14\" aria-hidden=\"true\">{}</svg> {}</span>",
            marker(j, 7.0, 7.0),
            Esc(lang)
        );
    }
    out.push_str("</div>\n");
    let mut any = false;
    for (si, suite) in ix.suites.iter().enumerate() {
        let models: Vec<&str> = ix
            .models
            .iter()
            .copied()
            .filter(|m| {
                ix.langs
                    .iter()
                    .any(|l| ix.cell(m, suite, None, Some(l)).is_some())
            })
            .collect();
        if models.is_empty() || ix.langs.is_empty() {
            continue;
        }
        any = true;
        w!(
            out,
            "<h3>Suite {}</h3>\n<div class=\"chart\" id=\"langs-{si}\">",
            Esc(suite)
        );
        langs_svg(out, r, ix, suite, si, &models);
        out.push_str("</div>\n");
    }
    if !any {
        out.push_str("<p class=\"muted\">No per-language rates in this run.</p>\n");
    }

    out.push_str("<h3>Paired tests between languages</h3>\n");
    if r.language_gaps.is_empty() {
        out.push_str(
            "<p class=\"muted\">None: the run asked one language, or no item was answered in \
             both.</p>\n",
        );
    } else {
        paired_table(out, "gaps-table", &r.language_gaps, true);
    }
    out.push_str("</section>\n");
}

/// The marker of language `j` centred on (`x`, `y`): circle, square, diamond, triangle.
fn marker(j: usize, x: f64, y: f64) -> String {
    let fill = LANG_COLOURS[j % LANG_COLOURS.len()];
    match j % 4 {
        0 => format!("<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"5\" fill=\"{fill}\"/>"),
        1 => format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"9\" height=\"9\" fill=\"{fill}\"/>",
            x - 4.5,
            y - 4.5
        ),
        2 => format!(
            "<path d=\"M{x:.1} {:.1}L{:.1} {y:.1}L{x:.1} {:.1}L{:.1} {y:.1}Z\" fill=\"{fill}\"/>",
            y - 6.0,
            x + 6.0,
            y + 6.0,
            x - 6.0
        ),
        _ => format!(
            "<path d=\"M{x:.1} {:.1}L{:.1} {:.1}L{:.1} {:.1}Z\" fill=\"{fill}\"/>",
            y - 6.0,
            x + 6.0,
            y + 5.0,
            x - 6.0,
            y + 5.0
        ),
    }
}

fn langs_svg(out: &mut String, r: &Results, ix: &Index, suite: &str, si: usize, models: &[&str]) {
    const LX: f64 = 230.0;
    const BW: f64 = 440.0;
    const TOP: f64 = 24.0;
    let nl = ix.langs.len() as f64;
    let row = 16.0 + 14.0 * nl;
    let width = LX + BW + 30.0 + 90.0 * nl;
    let height = TOP + row * models.len() as f64 + 8.0;
    let title = format!("Not-comply rate by language per model, suite {suite}");
    percent_chart_start(
        out,
        &format!("langs-{si}"),
        &title,
        (width, height),
        (LX, BW, TOP),
    );
    for (i, model) in models.iter().enumerate() {
        let y = TOP + row * i as f64;
        let gap = r.language_gaps.iter().find(|g| {
            g.model_a == *model && g.model_b == *model && g.suite == suite && g.outcome != "correct"
        });
        w!(
            out,
            "<g><text class=\"grp\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LX - 10.0,
            y + row / 2.0,
            Esc(&truncate(model, 34))
        );
        if let Some(g) = gap {
            w!(
                out,
                "<text class=\"ax\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">McNemar p = {}</text>",
                LX - 10.0,
                y + row / 2.0 + 13.0,
                fmt_p(g.p_value)
            );
        }
        out.push_str("</g>\n");
        for (j, lang) in ix.langs.iter().enumerate() {
            let Some(c) = ix.cell(model, suite, None, Some(lang)) else {
                continue;
            };
            let nc = not_comply(c);
            let yj = y + 10.0 + 14.0 * j as f64;
            w!(
                out,
                "<g><title>{} · {}: not comply {}; n={}</title>",
                Esc(model),
                Esc(lang),
                rate_text("", &nc).trim_start(),
                nc.n
            );
            if nc.n > 0 {
                let lo = LX + nc.lo.clamp(0.0, 1.0) * BW;
                let hi = LX + nc.hi.clamp(0.0, 1.0) * BW;
                w!(
                    out,
                    "<path class=\"ci\" d=\"M{lo:.1} {yj:.1}H{hi:.1}M{lo:.1} {:.1}V{:.1}M{hi:.1} {:.1}V{:.1}\"/>",
                    yj - 4.0,
                    yj + 4.0,
                    yj - 4.0,
                    yj + 4.0
                );
                out.push_str(&marker(j, LX + nc.p.clamp(0.0, 1.0) * BW, yj));
            }
            w!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\">{} {} (n={})</text></g>\n",
                LX + BW + 14.0,
                yj + 4.0,
                Esc(lang),
                if nc.n > 0 { pct(nc.p) } else { "—".into() },
                nc.n
            );
        }
    }
    out.push_str("</svg>");
}

/// McNemar tables: language gaps (`langs`: show the languages) or model pairs.
fn paired_table(out: &mut String, id: &str, tests: &[PairedTest], langs: bool) {
    w!(out, "<table id=\"{id}\"><tr><th>suite</th>");
    if langs {
        out.push_str("<th>model</th><th>a</th><th>b</th>");
    } else {
        out.push_str("<th>model a</th><th>model b</th><th>lang</th>");
    }
    out.push_str(
        "<th>outcome</th><th class=\"n\">pairs</th><th>rate a</th><th>rate b</th>\
         <th class=\"n\">both</th><th class=\"n\">a only</th><th class=\"n\">b only</th>\
         <th class=\"n\">neither</th><th class=\"n\">McNemar p</th></tr>\n",
    );
    for g in tests {
        w!(out, "<tr><td>{}</td>", Esc(&g.suite));
        if langs {
            w!(
                out,
                "<td>{}</td><td>{}</td><td>{}</td>",
                Esc(&g.model_a),
                Esc(or_all(g.lang_a.as_deref())),
                Esc(or_all(g.lang_b.as_deref()))
            );
        } else {
            let lang = if g.lang_a == g.lang_b {
                or_all(g.lang_a.as_deref()).to_string()
            } else {
                format!(
                    "{} / {}",
                    or_all(g.lang_a.as_deref()),
                    or_all(g.lang_b.as_deref())
                )
            };
            w!(
                out,
                "<td>{}</td><td>{}</td><td>{}</td>",
                Esc(&g.model_a),
                Esc(&g.model_b),
                Esc(&lang)
            );
        }
        let sig = g.p_value < 0.05;
        w!(
            out,
            "<td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n{}\">{}</td></tr>\n",
            Esc(&g.outcome),
            g.n,
            rate_html(&g.rate_a),
            rate_html(&g.rate_b),
            g.both,
            g.a_only,
            g.b_only,
            g.neither,
            if sig { " sig" } else { "" },
            fmt_p(g.p_value)
        );
    }
    out.push_str("</table>\n");
}

// ---------------------------------------------------------------------------------------------
// Heatmap.

/// Light → dark red for 0 → 1 (through ColorBrewer Reds' end points and middle).
fn heat(p: f64) -> (String, bool) {
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

fn heatmap_section(out: &mut String, ix: &Index) {
    out.push_str(
        "<section id=\"heatmap\"><h2>Refuse rate heatmap</h2>\n<p>Refuse rate per model and \
         category, all languages; each cell shows the rate and <i>n</i> (hover for the 95% \
         CI). Darker is more refusals.</p>\n<div class=\"legend\">",
    );
    for t in [0.0, 0.25, 0.5, 0.75, 1.0] {
        w!(
            out,
            "<span><svg width=\"14\" height=\"14\" aria-hidden=\"true\"><rect width=\"14\" \
             height=\"14\" fill=\"{}\" stroke=\"#d9dde2\"/></svg> {}%</span>",
            heat(t).0,
            (t * 100.0) as u32
        );
    }
    out.push_str("</div>\n");
    let mut any = false;
    for (si, suite) in ix.suites.iter().enumerate() {
        let models: Vec<&str> = ix
            .models
            .iter()
            .copied()
            .filter(|m| ix.has(m, suite))
            .collect();
        if models.is_empty() {
            continue;
        }
        any = true;
        let mut cols: Vec<(Option<&str>, &str)> = vec![(None, "all categories")];
        cols.extend(
            ix.categories(suite)
                .into_iter()
                .map(|(id, n)| (Some(id), n)),
        );
        const CW: f64 = 84.0;
        const CH: f64 = 40.0;
        const TOP: f64 = 120.0;
        let label_cols = models
            .iter()
            .map(|m| display_width(&truncate(m, 34)))
            .max()
            .unwrap_or(0);
        let lx = (label_cols as f64 * 7.0 + 16.0).clamp(90.0, 260.0);
        let width = lx + CW * cols.len() as f64 + 130.0;
        let height = TOP + CH * models.len() as f64 + 6.0;
        w!(
            out,
            "<h3>Suite {}</h3>\n<div class=\"chart\" id=\"heat-{si}\"><svg viewBox=\"0 0 \
             {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" \
             aria-labelledby=\"heat-{si}-t\"><title id=\"heat-{si}-t\">Refuse rate per model \
             and category, suite {}</title>\n",
            Esc(suite),
            Esc(suite)
        );
        for (j, (id, name)) in cols.iter().enumerate() {
            let x = lx + CW * j as f64 + CW / 2.0;
            w!(
                out,
                "<text transform=\"translate({x:.1},{:.1}) rotate(-40)\"><title>{}{}</title>{}</text>\n",
                TOP - 8.0,
                Esc(name),
                id.map(|i| format!(" ({})", Esc(i))).unwrap_or_default(),
                Esc(&truncate(name, 22))
            );
        }
        for (i, model) in models.iter().enumerate() {
            let y = TOP + CH * i as f64;
            w!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
                lx - 8.0,
                y + CH / 2.0 + 4.0,
                Esc(&truncate(model, 34))
            );
            for (j, (id, name)) in cols.iter().enumerate() {
                let x = lx + CW * j as f64;
                let cell = ix.cell(model, suite, *id, None).filter(|c| c.refuse.n > 0);
                match cell {
                    Some(c) => {
                        let (fill, dark) = heat(c.refuse.p);
                        let ink = if dark { " style=\"fill:#fff\"" } else { "" };
                        w!(
                            out,
                            "<g><title>{} × {}: {}, n={}</title><rect x=\"{x:.1}\" y=\"{y:.1}\" \
                             width=\"{:.1}\" height=\"{:.1}\" fill=\"{fill}\" stroke=\"#fff\"/>\
                             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\"{ink}>{}</text>\
                             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" \
                             font-size=\"10\"{ink}>n={}</text></g>\n",
                            Esc(model),
                            Esc(name),
                            rate_text("refuse", &c.refuse),
                            c.refuse.n,
                            CW - 1.0,
                            CH - 1.0,
                            x + CW / 2.0,
                            y + 17.0,
                            pct(c.refuse.p),
                            x + CW / 2.0,
                            y + 31.0,
                            c.refuse.n
                        );
                    }
                    None => {
                        w!(
                            out,
                            "<g><title>{} × {}: no answers</title><rect x=\"{x:.1}\" \
                             y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#eeeeee\" \
                             stroke=\"#fff\"/><text x=\"{:.1}\" y=\"{:.1}\" \
                             text-anchor=\"middle\" class=\"ax\">—</text></g>\n",
                            Esc(model),
                            Esc(name),
                            CW - 1.0,
                            CH - 1.0,
                            x + CW / 2.0,
                            y + CH / 2.0 + 4.0
                        );
                    }
                }
            }
        }
        out.push_str("</svg></div>\n");
    }
    if !any {
        out.push_str("<p class=\"muted\">No rates: nothing was answered.</p>\n");
    }
    out.push_str("</section>\n");
}

// ---------------------------------------------------------------------------------------------
// Tables.

fn accuracy_section(out: &mut String, ix: &Index) {
    out.push_str("<section id=\"accuracy\"><h2>Multiple-choice accuracy</h2>\n");
    let mut rows = String::new();
    for model in &ix.models {
        for suite in &ix.suites {
            for lang in std::iter::once(None).chain(ix.langs.iter().map(|l| Some(*l))) {
                let Some(c) = ix.cell(model, suite, None, lang) else {
                    continue;
                };
                let Some(a) = &c.accuracy else { continue };
                w!(
                    rows,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>\n",
                    Esc(model),
                    Esc(suite),
                    Esc(or_all(lang)),
                    a.k,
                    a.n,
                    rate_html(a)
                );
            }
        }
    }
    if rows.is_empty() {
        out.push_str("<p class=\"muted\">No multiple-choice items in this run.</p>\n");
    } else {
        out.push_str(
            "<p>Share of multiple-choice answers whose chosen option is the key (an answer \
             with no readable choice counts as wrong), all categories.</p>\n<table \
             id=\"accuracy-table\"><tr><th>model</th><th>suite</th><th>lang</th>\
             <th class=\"n\">correct</th><th class=\"n\">n</th><th>accuracy</th></tr>\n",
        );
        out.push_str(&rows);
        out.push_str("</table>\n");
    }
    out.push_str("</section>\n");
}

fn pairs_section(out: &mut String, r: &Results) {
    out.push_str("<section id=\"model-pairs\"><h2>Model pairs</h2>\n");
    if r.model_pairs.is_empty() {
        out.push_str("<p class=\"muted\">None: the run asked one model.</p>\n");
    } else {
        out.push_str(
            "<p>Each pair of models on the same prompts (item × language × sample), McNemar's \
             exact test on the discordant pairs.</p>\n",
        );
        paired_table(out, "pairs-table", &r.model_pairs, false);
    }
    out.push_str("</section>\n");
}

fn guard_section(out: &mut String, r: &Results) {
    if r.guard_effects.is_empty() {
        return;
    }
    out.push_str(
        "<section id=\"guard\"><h2>What the guard changed</h2>\n<p>Answers of each \
         <code>guard:&lt;pack&gt;@&lt;model&gt;</code> that the guard refused or stopped \
         (<code>finish_reason: content_filter</code>), and, on the same prompts (item × language \
         × sample), how many the bare model had answered (rule grader: comply). On items that \
         expect an answer, those are refusals the guard adds.</p>\n<table id=\"guard-table\">\
         <tr><th>guarded model</th><th>bare model</th><th>suite</th><th>filtered by the guard</th>\
         <th class=\"n\">pairs</th><th class=\"n\">bare complied, guard filtered</th>\
         <th class=\"n\">of those, expected an answer</th></tr>\n",
    );
    for g in &r.guard_effects {
        w!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n",
            Esc(&g.guarded),
            Esc(g.bare.as_deref().unwrap_or("(not in this run)")),
            Esc(&g.suite),
            rate_html(&g.filtered),
            g.pairs,
            g.complied_then_filtered,
            g.expected_answer_filtered
        );
    }
    out.push_str("</table>\n</section>\n");
}

fn consistency_section(out: &mut String, r: &Results) {
    out.push_str("<section id=\"consistency\"><h2>Consistency across samples</h2>\n");
    if r.consistency.is_empty() {
        out.push_str("<p class=\"muted\">None: one sample per item.</p>\n");
    } else {
        out.push_str(
            "<p>Items with at least two answered samples; <i>unanimous</i>: all samples got \
             the same label; entropy (bits) of the labels of an item's samples, averaged over \
             items (0 = always the same).</p>\n<table id=\"consistency-table\"><tr>\
             <th>model</th><th>suite</th><th>lang</th><th class=\"n\">items</th>\
             <th>unanimous</th><th class=\"n\">mean entropy</th></tr>\n",
        );
        for c in &r.consistency {
            w!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td></tr>\n",
                Esc(&c.model),
                Esc(&c.suite),
                Esc(&c.lang),
                c.items,
                rate_html(&c.unanimous),
                fmt_num(c.mean_entropy, 3)
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("</section>\n");
}

fn judge_section(out: &mut String, r: &Results) {
    out.push_str("<section id=\"judge\"><h2>Rule grader vs LLM judge</h2>\n");
    if r.judge_agreement.is_empty() {
        out.push_str("<p class=\"muted\">No judge in this run.</p>\n");
        out.push_str("</section>\n");
        return;
    }
    if let Some(j) = &r.run.judge {
        w!(out, "<p>Judge: <code>{}</code>. ", Esc(j));
    } else {
        out.push_str("<p>");
    }
    out.push_str(
        "Agreement of the rule-based refusal grader with the judge on the answers both graded; \
         Cohen's kappa corrects for chance agreement.</p>\n<table id=\"judge-table\"><tr>\
         <th>model</th><th class=\"n\">n</th><th>agree (3 labels)</th><th>agree (comply vs \
         not)</th><th class=\"n\">kappa</th><th>confusion (rows: rule, columns: judge)</th></tr>\n",
    );
    const LABELS: [&str; 3] = ["comply", "partial", "refuse"];
    for j in &r.judge_agreement {
        w!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>\
             <table class=\"confusion\"><tr><th>rule \\ judge</th>",
            Esc(j.model.as_deref().unwrap_or("all models")),
            j.n,
            rate_html(&j.agree),
            rate_html(&j.agree_binary),
            fmt_num(j.kappa, 3)
        );
        for l in LABELS {
            w!(out, "<th>{l}</th>");
        }
        out.push_str("</tr>");
        for (i, l) in LABELS.iter().enumerate() {
            w!(out, "<tr><th>{l}</th>");
            for v in j.confusion[i] {
                w!(out, "<td class=\"n\">{v}</td>");
            }
            out.push_str("</tr>");
        }
        out.push_str("</table></td></tr>\n");
    }
    out.push_str("</table>\n</section>\n");
}

fn errors_section(out: &mut String, r: &Results) {
    let errors: Vec<&AnswerRow> = r.answers.iter().filter(|a| a.error.is_some()).collect();
    w!(
        out,
        "<section id=\"errors\"><h2>Errors ({})</h2>\n",
        errors.len()
    );
    if errors.is_empty() {
        out.push_str("<p class=\"muted\">No request failed.</p>\n");
    } else {
        out.push_str(
            "<p>Requests whose latest attempt failed. They are in no rate's denominator; \
             running the audit again retries them.</p>\n<table id=\"errors-table\"><tr>\
             <th>model</th><th>suite</th><th>item</th><th>lang</th><th class=\"n\">sample</th>\
             <th>error</th></tr>\n",
        );
        for a in errors {
            w!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td>\
                 <td class=\"err\">{}</td></tr>\n",
                Esc(&a.model),
                Esc(&a.suite),
                Esc(&a.item_id),
                Esc(&a.lang),
                a.sample,
                Esc(a.error.as_deref().unwrap_or_default())
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("</section>\n");
}

/// The label an answer is filtered by: its refusal label, `error`, or `ungraded`.
fn answer_label(a: &AnswerRow) -> &str {
    match (&a.refusal, &a.error) {
        (Some(l), _) => l.label.as_str(),
        (None, Some(_)) => "error",
        (None, None) => "ungraded",
    }
}

fn label_class(label: &str) -> &'static str {
    match label {
        "refuse" => "refuse",
        "partial" => "partial",
        "comply" => "comply",
        "error" => "error",
        _ => "other",
    }
}

/// The first `chars` characters on one line, with `…` when cut.
fn snippet(s: &str, chars: usize) -> String {
    let mut out: String = s
        .chars()
        .take(chars)
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    if s.chars().nth(chars).is_some() {
        out.push('…');
    }
    out
}

fn answers_section(out: &mut String, r: &Results, ix: &Index) {
    w!(
        out,
        "<section id=\"answers\"><h2>Answers ({})</h2>\n<p>Every answer with its grades. \
         Filter by text, model, suite, label or language; click an answer or prompt to \
         unfold it.</p>\n<div class=\"filters\"><input type=\"search\" id=\"f-q\" \
         placeholder=\"Search answers, prompts, items…\" aria-label=\"search\">",
        r.answers.len()
    );
    let select = |out: &mut String, id: &str, name: &str, options: &[(String, String)]| {
        w!(
            out,
            "<select id=\"{id}\" aria-label=\"{name}\"><option value=\"\">all {name}s</option>"
        );
        for (value, text) in options {
            w!(
                out,
                "<option value=\"{}\">{}</option>",
                Esc(value),
                Esc(text)
            );
        }
        out.push_str("</select>");
    };
    let models: Vec<(String, String)> = ix
        .models
        .iter()
        .enumerate()
        .map(|(i, m)| (i.to_string(), m.to_string()))
        .collect();
    let suites: Vec<(String, String)> = ix
        .suites
        .iter()
        .enumerate()
        .map(|(i, s)| (i.to_string(), s.to_string()))
        .collect();
    let mut labels: Vec<String> = ["refuse", "partial", "comply"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for a in &r.answers {
        let l = answer_label(a);
        if !labels.iter().any(|x| x == l) {
            labels.push(l.to_string());
        }
    }
    let labels: Vec<(String, String)> = labels.into_iter().map(|l| (l.clone(), l)).collect();
    let langs: Vec<(String, String)> = ix
        .langs
        .iter()
        .map(|l| (l.to_string(), l.to_string()))
        .collect();
    select(out, "f-model", "model", &models);
    select(out, "f-suite", "suite", &suites);
    select(out, "f-label", "label", &labels);
    select(out, "f-lang", "language", &langs);
    w!(
        out,
        "<span id=\"f-count\" class=\"muted\">{} answers</span></div>\n",
        r.answers.len()
    );
    out.push_str(
        "<table id=\"answers-table\"><thead><tr><th>model</th><th>suite</th><th>item</th>\
         <th>lang</th><th class=\"n\">sample</th><th>refusal</th><th>canned</th><th>mcq</th>\
         <th>judge</th><th>answer</th><th>prompt</th></tr></thead>\n<tbody>\n",
    );
    let index_of = |list: &[&str], s: &str| list.iter().position(|x| *x == s).unwrap_or(0);
    for a in &r.answers {
        let label = answer_label(a);
        w!(
            out,
            "<tr data-m=\"{}\" data-s=\"{}\" data-l=\"{}\" data-g=\"{}\"><td>{}</td><td>{}</td>\
             <td>{}<br><small>{}</small></td><td>{}</td><td class=\"n\">{}</td><td>",
            index_of(&ix.models, &a.model),
            index_of(&ix.suites, &a.suite),
            Esc(label),
            Esc(&a.lang),
            Esc(&a.model),
            Esc(&a.suite),
            Esc(&a.item_id),
            Esc(&a.category),
            Esc(&a.lang),
            a.sample
        );
        match &a.refusal {
            Some(l) => w!(
                out,
                "<b class=\"lb {}\">{}</b> <small>{}</small>",
                label_class(l.label.as_str()),
                Esc(l.label.as_str()),
                Esc(&l.rule)
            ),
            None if a.error.is_some() => out.push_str("<b class=\"lb error\">error</b>"),
            None => out.push('—'),
        }
        out.push_str("</td><td>");
        w!(out, "{}", Esc(&a.canned.join("; ")));
        out.push_str("</td><td>");
        if let Some(m) = &a.mcq {
            w!(
                out,
                "{} / {} {}",
                Esc(m.chosen.as_deref().unwrap_or("?")),
                Esc(&m.key),
                if m.correct { "✓" } else { "✗" }
            );
        }
        out.push_str("</td><td>");
        if let Some(j) = &a.judge {
            w!(
                out,
                "<b class=\"lb {}\" title=\"{}\">{}</b>",
                label_class(j.label.as_str()),
                Esc(&j.rule),
                Esc(j.label.as_str())
            );
        }
        w!(out, "</td><td class=\"a\" lang=\"{}\">", Esc(&a.lang));
        match (&a.text, &a.error) {
            (Some(text), _) if !text.is_empty() => {
                let note = a
                    .text_bytes
                    .map(|n| format!("<small class=\"muted\">… (truncated, {n} bytes)</small>"))
                    .unwrap_or_default();
                w!(
                    out,
                    "<details><summary>{}</summary><div class=\"txt\">{}</div>{}</details>",
                    Esc(&snippet(text, 90)),
                    Esc(text),
                    note
                );
            }
            (Some(_), _) => out.push_str("<i class=\"muted\">(empty)</i>"),
            (None, Some(e)) => w!(out, "<span class=\"err\">{}</span>", Esc(e)),
            (None, None) => out.push_str("<i class=\"muted\">(no answer)</i>"),
        }
        if a.finish_reason.as_deref() == Some("length") {
            out.push_str(" <small>(cut off at max_tokens)</small>");
        }
        w!(
            out,
            "</td><td lang=\"{}\"><details><summary>{}</summary><div class=\"txt\">{}</div></details></td></tr>\n",
            Esc(&a.lang),
            Esc(&snippet(&a.prompt, 60)),
            Esc(&a.prompt)
        );
    }
    out.push_str("</tbody></table>\n</section>\n");
}

// ---------------------------------------------------------------------------------------------
// Comparison of two runs.

/// Two runs side by side: both headers, then for every (model, suite, language) roll-up over
/// categories present in either run, the refuse, partial and comply rates of both runs with
/// their CIs and the difference B − A with Newcombe's 95% interval (the runs are taken as
/// independent samples).
pub fn comparison_html(c: &Comparison) -> String {
    let (a, b) = (&c.a, &c.b);
    let mut out = String::with_capacity(32 * 1024);
    page_start(
        &mut out,
        &format!("assay: {} vs {}", a.run.id, b.run.id),
        None,
    );
    w!(
        out,
        "<main>\n<header id=\"runs\"><h1>assay: run A <code>{}</code> vs run B <code>{}</code></h1>\n\
         <table class=\"kv\"><tr><th></th><th>A</th><th>B</th></tr>\n",
        Esc(&a.run.id),
        Esc(&b.run.id)
    );
    let row = |out: &mut String, k: &str, f: &dyn Fn(&Results) -> String| {
        w!(
            out,
            "<tr><th>{k}</th><td>{}</td><td>{}</td></tr>\n",
            Esc(&f(a)),
            Esc(&f(b))
        );
    };
    row(&mut out, "id", &|r| r.run.id.clone());
    row(&mut out, "status", &|r| r.run.status.clone());
    row(&mut out, "created", &|r| r.run.created_at.clone());
    row(&mut out, "finished", &|r| {
        r.run.finished_at.clone().unwrap_or("—".into())
    });
    row(&mut out, "assay version", &|r| r.run.assay_version.clone());
    row(&mut out, "models", &|r| {
        r.run
            .models
            .iter()
            .map(|m| {
                format!(
                    "{} {}",
                    m.name,
                    serde_json::to_string(&m.params).unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    });
    row(&mut out, "suites", &|r| {
        r.run
            .suites
            .iter()
            .map(|s| format!("{} {} ({} items)", s.name, s.version, s.items))
            .collect::<Vec<_>>()
            .join(", ")
    });
    row(&mut out, "languages", &|r| r.run.langs.join(", "));
    row(&mut out, "samples / seed", &|r| {
        format!("{} / {}", r.run.samples, r.run.seed)
    });
    row(&mut out, "limit", &|r| {
        r.run.limit.map(|l| l.to_string()).unwrap_or("none".into())
    });
    row(&mut out, "filter", &|r| r.run.filter.join(" "));
    row(&mut out, "judge", &|r| {
        r.run.judge.clone().unwrap_or("none".into())
    });
    row(&mut out, "graders", &|r| {
        r.run
            .graders
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    });
    row(&mut out, "requests", &|r| {
        let q = &r.run.requests;
        format!(
            "planned {} · answered {} · cached {} · errors {}",
            q.planned, q.answered, q.cached, q.errors
        )
    });
    out.push_str("</table>\n</header>\n");
    let suite_versions = |r: &Results| {
        r.run
            .suites
            .iter()
            .map(|s| (s.name.clone(), s.version.clone()))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let (va, vb) = (suite_versions(a), suite_versions(b));
    if va
        .iter()
        .any(|(name, v)| vb.get(name).is_some_and(|w| w != v))
    {
        out.push_str(
            "<p class=\"warn\">A suite has different versions in the two runs: its items may \
             differ.</p>\n",
        );
    }
    if a.run.graders != b.run.graders {
        out.push_str(
            "<p class=\"warn\">The runs were graded by different grader versions: part of any \
             difference may come from the graders.</p>\n",
        );
    }
    out.push_str(
        "<section id=\"how-to-read\" class=\"note\">Rates over all categories, per model, suite \
         and language (<i>all</i>: both languages). Each rate has its denominator and a Wilson \
         95% CI; Δ is B − A in percentage points with Newcombe's 95% interval for the \
         difference of two independent proportions; <b>bold</b> where that interval excludes \
         0.</section>\n",
    );

    // Keys present in either run, A's order first.
    let mut keys: Vec<(&str, &str, Option<&str>)> = Vec::new();
    for r in [a, b] {
        let ix = Index::new(r);
        for model in &ix.models {
            for suite in &ix.suites {
                for lang in std::iter::once(None).chain(ix.langs.iter().map(|l| Some(*l))) {
                    if let Some(cell) = ix.cell(model, suite, None, lang) {
                        let key = (
                            cell.model.as_str(),
                            cell.suite.as_str(),
                            cell.lang.as_deref(),
                        );
                        if !keys.contains(&key) {
                            keys.push(key);
                        }
                    }
                }
            }
        }
    }
    let (ia, ib) = (Index::new(a), Index::new(b));
    out.push_str("<section id=\"compare\"><h2>Rates, run A vs run B</h2>\n");
    if keys.is_empty() {
        out.push_str("<p class=\"muted\">Neither run has any rate.</p>\n");
    } else {
        out.push_str(
            "<table id=\"compare-table\"><tr><th rowspan=\"2\">model</th><th rowspan=\"2\">suite</th>\
             <th rowspan=\"2\">lang</th><th class=\"n\" rowspan=\"2\">n A</th>\
             <th class=\"n\" rowspan=\"2\">n B</th>",
        );
        let accuracy = a.cells.iter().chain(&b.cells).any(|c| c.accuracy.is_some());
        let metrics: &[&str] = if accuracy {
            &["refuse", "partial", "comply", "accuracy"]
        } else {
            &["refuse", "partial", "comply"]
        };
        for m in metrics {
            w!(out, "<th colspan=\"3\">{m}</th>");
        }
        out.push_str("</tr><tr>");
        for _ in metrics {
            out.push_str("<th>A</th><th>B</th><th>Δ B − A</th>");
        }
        out.push_str("</tr>\n");
        for (model, suite, lang) in keys {
            let ca = ia.cell(model, suite, None, lang);
            let cb = ib.cell(model, suite, None, lang);
            let n = |c: Option<&Cell>| c.map(|c| c.refuse.n.to_string()).unwrap_or("—".into());
            w!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>",
                Esc(model),
                Esc(suite),
                Esc(or_all(lang)),
                n(ca),
                n(cb)
            );
            for m in metrics {
                let get = |c: Option<&Cell>| -> Option<Rate> {
                    let c = c?;
                    match *m {
                        "refuse" => Some(c.refuse),
                        "partial" => Some(c.partial),
                        "comply" => Some(c.comply),
                        _ => c.accuracy,
                    }
                };
                let (ra, rb) = (get(ca), get(cb));
                let show = |r: Option<Rate>| r.map(|r| rate_html(&r)).unwrap_or("—".into());
                w!(out, "<td>{}</td><td>{}</td>", show(ra), show(rb));
                match (ra, rb) {
                    (Some(ra), Some(rb)) if ra.n > 0 && rb.n > 0 => {
                        let (d, lo, hi) = newcombe_diff(&ra, &rb);
                        let sig = lo > 0.0 || hi < 0.0;
                        w!(
                            out,
                            "<td class=\"n{}\">{:+.1} <small>[{:+.1}, {:+.1}]</small></td>",
                            if sig { " sig" } else { "" },
                            d * 100.0,
                            lo * 100.0,
                            hi * 100.0
                        );
                    }
                    _ => out.push_str("<td class=\"n\">—</td>"),
                }
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table>\n");
    }
    out.push_str("</section>\n</main>\n</body>\n</html>\n");
    out
}

/// Standard base64 with padding (for the script hash of the Content Security Policy).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_known_values() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        // sha256("") in base64, as browsers compute it for CSP hashes.
        assert_eq!(
            base64(&Sha256::digest(b"")),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }

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
    fn snippets_are_one_line() {
        assert_eq!(snippet("a\nb\tc", 10), "a b c");
        assert_eq!(snippet("天安门广场", 2), "天安…");
    }

    #[test]
    fn script_is_only_allowed_by_hash() {
        let page = comparison_html(&Comparison {
            a: empty(),
            b: empty(),
        });
        assert!(page.contains("script-src 'none'"));
        assert!(!page.contains("<script"));
        let mut out = String::new();
        page_start(&mut out, "t", Some(JS));
        let hash = base64(&Sha256::digest(JS.as_bytes()));
        assert!(out.contains(&format!("script-src 'sha256-{hash}'")));
    }

    fn empty() -> Results {
        use crate::results::{RequestCounts, RunInfo};
        Results {
            schema: 1,
            run: RunInfo {
                id: "r".into(),
                created_at: "2025-01-01T00:00:00Z".into(),
                finished_at: None,
                status: "running".into(),
                assay_version: "0".into(),
                models: vec![],
                suites: vec![],
                langs: vec![],
                samples: 1,
                seed: 0,
                limit: None,
                filter: vec![],
                judge: None,
                graders: Default::default(),
                requests: RequestCounts::default(),
            },
            cells: vec![],
            language_gaps: vec![],
            model_pairs: vec![],
            guard_effects: vec![],
            consistency: vec![],
            judge_agreement: vec![],
            answers: vec![],
        }
    }

    #[test]
    fn empty_run_renders() {
        let r = empty();
        let page = html(&r);
        for id in [
            "run",
            "rates",
            "languages",
            "heatmap",
            "accuracy",
            "model-pairs",
            "consistency",
            "judge",
            "errors",
            "answers",
        ] {
            assert!(page.contains(&format!("id=\"{id}\"")), "{id}");
        }
        assert!(page.contains("This run is <b>running</b>"));
        let text = super::super::terminal_summary(&r);
        assert!(text.contains("no rates"), "{text}");
    }
}
