//! The two pages. Everything is inline (no CDN, no external file); the one script and the one
//! style sheet carry the response's CSP nonce. The battle page names no model: names arrive
//! only in the answer to a vote.

use std::fmt::Write as _;

use crate::board::LeaderboardView;
use crate::render::escape_html;
use crate::{svg, WebConfig};

const STYLE: &str = r#"
:root { color-scheme: light dark; --fg: #1d1d1f; --muted: #6b6b70; --bg: #fafafa; --card: #ffffff;
  --line: #dcdce0; --accent: #3156b0; --accent-fg: #ffffff; --user: #eef2fb; --err: #b3261e; }
@media (prefers-color-scheme: dark) { :root { --fg: #e8e8ea; --muted: #a0a0a8; --bg: #16161a;
  --card: #1f1f24; --line: #34343c; --accent: #7fa2ff; --accent-fg: #0d0d10; --user: #262c3d; --err: #ff8a80; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", sans-serif;
  color: var(--fg); background: var(--bg); }
header { display: flex; align-items: baseline; gap: 1.5rem; padding: .8rem 1.2rem; border-bottom: 1px solid var(--line); background: var(--card); }
header h1 { font-size: 1.2rem; margin: 0; }
nav a { color: var(--accent); text-decoration: none; margin-right: 1rem; }
nav a[aria-current] { font-weight: 600; text-decoration: underline; }
main { max-width: 1200px; margin: 0 auto; padding: 1rem 1.2rem 2rem; }
.intro { color: var(--muted); margin: .2rem 0 1rem; }
.arena { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
@media (max-width: 760px) { .arena { grid-template-columns: 1fr; } }
.side { background: var(--card); border: 1px solid var(--line); border-radius: 10px; display: flex; flex-direction: column; min-height: 320px; }
.side h2 { font-size: 1rem; margin: 0; padding: .55rem .9rem; border-bottom: 1px solid var(--line); }
.side h2.revealed { color: var(--accent); }
.chat { padding: .6rem .9rem; overflow-wrap: anywhere; flex: 1; max-height: 65vh; overflow-y: auto; }
.msg { margin: .5rem 0; }
.msg.user { background: var(--user); border-radius: 8px; padding: .4rem .7rem; white-space: pre-wrap; }
.msg.assistant.pending:empty::after { content: "…"; color: var(--muted); }
.msg.error { color: var(--err); }
.msg pre { background: rgba(127,127,127,.12); padding: .6rem; border-radius: 6px; overflow-x: auto; }
.msg code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .92em; }
.msg table { border-collapse: collapse; } .msg th, .msg td { border: 1px solid var(--line); padding: .2rem .5rem; }
.vote { display: grid; grid-template-columns: repeat(4, 1fr); gap: .6rem; margin: 1rem 0 .4rem; }
@media (max-width: 760px) { .vote { grid-template-columns: 1fr 1fr; } }
button { font: inherit; padding: .55rem .8rem; border-radius: 8px; border: 1px solid var(--line); background: var(--card); color: var(--fg); cursor: pointer; }
button:disabled { opacity: .45; cursor: not-allowed; }
button.primary { background: var(--accent); color: var(--accent-fg); border-color: var(--accent); }
.status { min-height: 1.5em; color: var(--muted); margin: .3rem 0; }
.status.error { color: var(--err); }
.status.ok { color: var(--accent); }
form textarea { width: 100%; font: inherit; padding: .6rem; border-radius: 8px; border: 1px solid var(--line); background: var(--card); color: var(--fg); resize: vertical; }
form .row { display: flex; gap: .6rem; align-items: center; margin-top: .5rem; }
.limit { color: var(--muted); font-size: .85rem; margin-left: auto; }
table.board { border-collapse: collapse; width: 100%; background: var(--card); }
table.board th, table.board td { border-bottom: 1px solid var(--line); padding: .4rem .6rem; text-align: left; }
table.board td.num, table.board th.num { text-align: right; font-variant-numeric: tabular-nums; }
.tabs { display: flex; flex-wrap: wrap; gap: .4rem; margin: .8rem 0; }
.tabs a { padding: .3rem .8rem; border: 1px solid var(--line); border-radius: 999px; text-decoration: none; color: var(--fg); background: var(--card); }
.tabs a.active { background: var(--accent); color: var(--accent-fg); border-color: var(--accent); }
.note { color: var(--muted); font-size: .9rem; }
.maps { display: flex; flex-wrap: wrap; gap: 2rem; margin-top: 1rem; }
.maps figure { margin: 0; } .maps figcaption { font-weight: 600; margin-bottom: .3rem; }
.heatmap text.label { fill: var(--fg); }
"#;

const BATTLE_SCRIPT: &str = r#"
(() => {
  'use strict';
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  const sides = ['a', 'b'];
  const state = { battleId: null, busy: false, canVote: false, canContinue: true, over: false };

  function setStatus(text, kind) {
    const s = $('status');
    s.textContent = text;
    s.className = 'status' + (kind ? ' ' + kind : '');
  }
  function refresh() {
    for (const b of document.querySelectorAll('.vote button')) {
      b.disabled = !state.canVote || state.busy || state.over;
    }
    const closed = state.busy || state.over || !state.canContinue;
    $('send').disabled = closed;
    $('prompt').disabled = closed;
    $('new').disabled = state.busy;
  }
  function bubble(side, cls) {
    const d = document.createElement('div');
    d.className = 'msg ' + cls;
    $('chat-' + side).appendChild(d);
    d.scrollIntoView({ block: 'nearest' });
    return d;
  }
  async function errorText(res) {
    try {
      const body = await res.json();
      if (body && body.error && body.error.message) return body.error.message;
    } catch (_) { /* not JSON */ }
    return 'The server answered ' + res.status + '.';
  }
  async function readEvents(res, onEvent) {
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, '\n');
      let cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let name = 'message';
        let data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) name = line.slice(6).trim();
          else if (line.startsWith('data:')) data += (data ? '\n' : '') + line.slice(5).replace(/^ /, '');
        }
        if (data) onEvent(name, JSON.parse(data));
      }
    }
  }

  async function send(event) {
    if (event) event.preventDefault();
    const prompt = $('prompt').value;
    if (!prompt.trim() || state.busy || state.over || !state.canContinue) return;
    state.busy = true;
    state.canVote = false;
    refresh();
    setStatus('Both models are answering…');
    const added = [];
    const answers = {};
    for (const side of sides) {
      const u = bubble(side, 'user');
      u.textContent = prompt;
      answers[side] = bubble(side, 'assistant pending');
      added.push(u, answers[side]);
    }
    let res;
    try {
      res = await fetch('/api/chat', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
        body: JSON.stringify({ battle_id: state.battleId, prompt }),
      });
    } catch (e) {
      res = null;
    }
    if (!res || !res.ok) {
      for (const el of added) el.remove();
      state.busy = false;
      state.canVote = state.battleId !== null && $('chat-a').children.length > 0;
      refresh();
      setStatus(res ? await errorText(res) : 'The server cannot be reached.', 'error');
      return;
    }
    $('prompt').value = '';
    let ended = false;
    let failed = false;
    try {
      await readEvents(res, (name, data) => {
        if (name === 'battle') {
          state.battleId = data.battle_id;
        } else if (name === 'answer') {
          // The HTML was rendered from Markdown and sanitized by the server.
          answers[data.side].innerHTML = data.html;
        } else if (name === 'done') {
          answers[data.side].classList.remove('pending');
        } else if (name === 'failed') {
          failed = true;
          const el = answers[data.side];
          el.classList.remove('pending');
          el.classList.add('error');
          el.textContent = data.message;
        } else if (name === 'end') {
          ended = true;
          state.canVote = data.can_vote;
          state.canContinue = data.can_continue;
        }
      });
    } catch (e) {
      /* reported below */
    }
    state.busy = false;
    if (!ended) {
      state.canVote = false;
      state.over = true;
      setStatus('The connection was lost. Please start a new battle.', 'error');
    } else if (failed) {
      state.over = true;
      setStatus('A model failed, so this battle cannot be voted on. Start a new battle.', 'error');
    } else if (state.canContinue) {
      setStatus('Vote for the better answer, or keep chatting with both.');
    } else {
      setStatus('This battle is as long as it can get: please vote.');
    }
    for (const side of sides) answers[side].classList.remove('pending');
    refresh();
  }

  async function vote(winner) {
    if (!state.battleId || !state.canVote || state.busy || state.over) return;
    state.busy = true;
    refresh();
    let res;
    try {
      res = await fetch('/api/vote', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
        body: JSON.stringify({ battle_id: state.battleId, winner }),
      });
    } catch (e) {
      res = null;
    }
    state.busy = false;
    if (!res || !res.ok) {
      const message = res ? await errorText(res) : 'The server cannot be reached.';
      if (res && (res.status === 409 || res.status === 404)) state.over = true;
      refresh();
      setStatus(message, 'error');
      return;
    }
    const result = await res.json();
    state.over = true;
    state.canVote = false;
    for (const side of sides) {
      const h = $('name-' + side);
      h.textContent = 'Model ' + side.toUpperCase() + ': ' + result['model_' + side];
      h.classList.add('revealed');
    }
    let text = 'Thanks for your vote! Start a new battle to keep going.';
    if (result.identity_leak) {
      text += ' (An answer named a model, so this vote is kept but not counted in the ratings.)';
    }
    setStatus(text, 'ok');
    refresh();
  }

  function newBattle() {
    if (state.busy) return;
    state.battleId = null;
    state.canVote = false;
    state.canContinue = true;
    state.over = false;
    for (const side of sides) {
      $('chat-' + side).replaceChildren();
      const h = $('name-' + side);
      h.textContent = 'Model ' + side.toUpperCase();
      h.classList.remove('revealed');
    }
    setStatus('');
    refresh();
    $('prompt').focus();
  }

  $('ask').addEventListener('submit', send);
  $('prompt').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) send(e);
  });
  for (const b of document.querySelectorAll('.vote button')) {
    b.addEventListener('click', () => vote(b.dataset.winner));
  }
  $('new').addEventListener('click', newBattle);
  refresh();
})();
"#;

const BATTLE_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="{{CSRF}}">
<title>assay arena · blind battle</title>
<style nonce="{{NONCE}}">{{STYLE}}</style>
</head>
<body>
<header><h1>assay arena</h1><nav><a href="/" aria-current="page">Battle</a><a href="/leaderboard">Leaderboard</a></nav></header>
<main>
<p class="intro">Ask anything, in any language · 用任何语言提问. Two anonymous models answer side by side; vote for the better answer and only then are their names revealed. Keep chatting to compare them over several turns, or start a new battle. A vote whose answers name a model is kept but not counted.</p>
<section class="arena">
<div class="side"><h2 id="name-a">Model A</h2><div class="chat" id="chat-a" aria-live="polite"></div></div>
<div class="side"><h2 id="name-b">Model B</h2><div class="chat" id="chat-b" aria-live="polite"></div></div>
</section>
<div class="vote" role="group" aria-label="Your vote">
<button type="button" data-winner="model_a" disabled>← A is better</button>
<button type="button" data-winner="model_b" disabled>B is better →</button>
<button type="button" data-winner="tie" disabled>Tie</button>
<button type="button" data-winner="tie (bothbad)" disabled>Both are bad</button>
</div>
<p id="status" class="status" role="status"></p>
<form id="ask" autocomplete="off">
<textarea id="prompt" name="prompt" rows="3" placeholder="Type a prompt and press Enter (Shift+Enter for a new line) · 输入问题后按回车" aria-label="Prompt"></textarea>
<div class="row"><button type="submit" id="send" class="primary">Send</button><button type="button" id="new">New battle</button><span class="limit">Prompts up to {{MAX_PROMPT}} · answers are rendered as Markdown</span></div>
</form>
</main>
<script nonce="{{NONCE}}">{{SCRIPT}}</script>
</body>
</html>
"#;

/// The battle page. `csrf` is the token the script sends back with every POST.
pub fn battle_page(nonce: &str, csrf: &str, config: &WebConfig) -> String {
    BATTLE_PAGE
        .replace("{{STYLE}}", STYLE)
        .replace("{{SCRIPT}}", BATTLE_SCRIPT)
        .replace("{{NONCE}}", &escape_html(nonce))
        .replace("{{CSRF}}", &escape_html(csrf))
        .replace(
            "{{MAX_PROMPT}}",
            &crate::human_bytes(config.max_prompt_bytes),
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

/// One row of tabs: "All" (`all_label`), then `(value, label, votes)`; `current` is active.
fn tab_row(
    s: &mut String,
    aria: &str,
    all_label: &str,
    tabs: &[(String, String, Option<u64>)],
    current: Option<&str>,
    link: impl Fn(Option<&str>) -> String,
) {
    let _ = write!(
        s,
        r#"<nav class="tabs" aria-label="{aria}"><a href="{}"{}>{all_label}</a>"#,
        escape_html(&link(None)),
        if current.is_none() {
            r#" class="active""#
        } else {
            ""
        }
    );
    for (value, label, votes) in tabs {
        let active = current.is_some_and(|c| c.eq_ignore_ascii_case(value));
        let _ = write!(
            s,
            r#"<a href="{}"{}>{}{}</a>"#,
            escape_html(&link(Some(value))),
            if active { r#" class="active""# } else { "" },
            escape_html(label),
            votes.map_or(String::new(), |n| format!(" ({n})"))
        );
    }
    s.push_str("</nav>\n");
}

fn fmt_score(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.0}")
    } else {
        "–".into()
    }
}

/// The leaderboard page (no script at all).
pub fn leaderboard_page(nonce: &str, view: &LeaderboardView) -> String {
    let mut s = String::new();
    let category = view.category.as_deref();
    let category_label = category.map(|c| crate::category::label(c).unwrap_or(c));
    let title = match (view.language.as_deref(), category_label) {
        (None, None) => "Leaderboard · Overall".to_string(),
        (Some(l), None) => format!("Leaderboard · {l}"),
        (None, Some(c)) => format!("Leaderboard · {c}"),
        (Some(l), Some(c)) => format!("Leaderboard · {l} · {c}"),
    };
    let _ = write!(
        s,
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>assay arena · {}</title>
<style nonce="{}">{STYLE}</style>
</head>
<body>
<header><h1>assay arena</h1><nav><a href="/">Battle</a><a href="/leaderboard" aria-current="page">Leaderboard</a></nav></header>
<main>
<h2>{}</h2>
"#,
        escape_html(&title),
        escape_html(nonce),
        escape_html(&title)
    );

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
    tab_row(&mut s, "Language", "Overall", &languages, current, |l| {
        board_link(l, category, view.style_control)
    });
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
    tab_row(
        &mut s,
        "Category",
        "All categories",
        &categories,
        category,
        |c| board_link(current, c, view.style_control),
    );
    let _ = writeln!(
        s,
        r#"<p class="note">Style control: <strong>{}</strong> · <a href="{}">{}</a>. With style control, scores are adjusted for answer length and Markdown (headers, lists, bold), so a model does not win by formatting alone.</p>"#,
        if view.style_control { "on" } else { "off" },
        escape_html(&board_link(current, category, !view.style_control)),
        if view.style_control {
            "turn it off"
        } else {
            "turn it on"
        }
    );

    match &view.board {
        Some(board) => {
            s.push_str(
                r#"<table class="board"><thead><tr><th class="num">Rank</th><th>Model</th><th class="num">Score</th><th class="num">95% CI</th><th class="num">Votes</th><th>Organization</th><th>License</th></tr></thead><tbody>
"#,
            );
            for row in &board.rows {
                let ci = if row.lo.is_finite() && row.hi.is_finite() {
                    format!("+{:.0}/−{:.0}", row.hi - row.score, row.score - row.lo)
                } else {
                    "–".into()
                };
                let _ = writeln!(
                    s,
                    r#"<tr><td class="num">{}</td><td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td>{}</td><td>{}</td></tr>"#,
                    row.rank,
                    escape_html(&row.model),
                    fmt_score(row.score),
                    ci,
                    row.votes,
                    escape_html(row.organization.as_deref().unwrap_or("–")),
                    escape_html(row.license.as_deref().unwrap_or("–")),
                );
            }
            s.push_str("</tbody></table>\n");
            let _ = writeln!(
                s,
                r#"<p class="note" id="totals">Votes in total: {2} · rated in this view: {0} · excluded because an answer revealed a model's identity: {1}. Scores are Bradley–Terry ratings (scale 400, mean 1000); intervals from {3} bootstrap rounds. Rank = 1 + the number of models whose whole interval lies above this one's.</p>"#,
                board.battles, board.excluded, view.total_votes, view.bootstrap_rounds
            );
            if let Some(coefficients) = &board.style_coefficients {
                let list: Vec<String> = coefficients
                    .iter()
                    .map(|(name, c)| format!("{} {c:+.3}", escape_html(name)))
                    .collect();
                let _ = writeln!(
                    s,
                    r#"<p class="note">Style coefficients (log-odds per standard deviation): {}</p>"#,
                    list.join(" · ")
                );
            }
            for warning in &board.warnings {
                let _ = writeln!(s, r#"<p class="note">Note: {}</p>"#, escape_html(warning));
            }
        }
        None => {
            let _ = writeln!(
                s,
                r#"<p class="note" id="totals">Votes in total: {2} · in this view: {1}. {0}</p>"#,
                escape_html(view.message.as_deref().unwrap_or("")),
                view.tab_votes,
                view.total_votes
            );
        }
    }
    if let Some(p) = view.pairwise.as_ref().filter(|p| p.models.len() >= 2) {
        let _ = writeln!(
            s,
            r#"<div class="maps"><figure><figcaption>Win rate (row beats column)</figcaption>{}</figure><figure><figcaption>Battles per pair</figcaption>{}</figure></div>"#,
            svg::win_rate_heatmap(p),
            svg::battle_count_heatmap(p)
        );
    }
    let _ = write!(
        s,
        r#"<p class="note">Language and category tabs appear once they have {} rated votes; categories (coding, multi-turn, long query) are decided from the prompts, locally. Computed {}. JSON: <a href="{}">/api/leaderboard</a>.</p>
</main>
</body>
</html>
"#,
        view.min_language_votes,
        escape_html(&view.computed_at),
        escape_html(&board_link(current, category, view.style_control).replacen(
            "/leaderboard",
            "/api/leaderboard",
            1
        ))
    );
    s
}
