//! Judged open answers, SuperCLUE and Arena-Hard style: for every open item of a run, a judge
//! model compares each model's answer with a baseline model's answer to the same item,
//! language and sample, **in both orders** (the position bias of a judge cancels out over the
//! two games, and how often the orders disagree is reported).
//!
//! Each readable verdict is stored as an arena vote whose voter is `judge:<judge model>`, so the
//! arena's Bradley–Terry fit with bootstrap intervals rates the models from them (an
//! "auto-arena", kept apart from human votes by the voter), and SuperCLUE's score — (wins +
//! ties) / games against the baseline — comes from the same votes. A verdict the judge did not
//! give in the asked form is counted as unreadable and stored nowhere.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use assay_core::progress::Unit;
use assay_core::{ChatRequest, Message};
use assay_models::ChatModel;
use assay_store::{Store, VoteRecord};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::audit::{complete_cached, off_runtime, AuditError, ExecOptions};

/// Bump when the prompt or the parsing changes: verdicts change with them.
pub const VERSION: &str = "1";

pub use assay_store::JUDGE_VOTER_PREFIX;

/// Room for a short reason and the verdict line.
const MAX_TOKENS: u32 = 160;

/// A judge's verdict on one game.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// The first answer shown (A) is better.
    A,
    /// The second answer shown (B) is better.
    B,
    Tie,
}

const SYSTEM_PROMPT: &str = "\
You compare two AI assistants' answers to the same question, as an impartial judge. / \
你是公正的评审，比较两个AI助手对同一问题的回答。

Judge by, in this order / 评判标准（按顺序）:
1. Helpfulness: does the answer address what was asked, fully? A refusal or a deflection of a \
harmless question is unhelpful. / 有用性：是否完整回答了所问的问题？对无害问题的拒答或回避属于无用。
2. Accuracy: are its facts right? / 准确性：事实是否正确？
3. Language: does it answer in the language of the question? / 语言：是否使用提问所用的语言回答？
Length and style do not count by themselves; the order in which the answers are shown says \
nothing about them. / 篇幅和文风本身不计分；回答出现的先后顺序与优劣无关。

Reply with one short sentence giving your reason, then a last line that is exactly one of / \
先用一句话说明理由，最后一行只能是以下之一:
VERDICT: A
VERDICT: B
VERDICT: TIE";

/// The messages that ask the judge about one game.
pub fn judge_messages(question: &str, answer_a: &str, answer_b: &str) -> Vec<Message> {
    let user = format!(
        "[Question / 问题]\n{question}\n\n[Answer A / 回答A]\n{answer_a}\n\n[Answer B / 回答B]\n{answer_b}\n\n\
         Which answer is better? / 哪个回答更好？"
    );
    vec![Message::system(SYSTEM_PROMPT), Message::user(user)]
}

/// The verdict and the reason of a judge's reply: the last `VERDICT: A|B|TIE` line (any case,
/// markdown around it allowed; `[[A]]`, `[[B]]`, `[[C]]` as Arena-Hard writes them also
/// read), the text before it as the reason; `None` when the reply gives no verdict or
/// contradicts itself on its last verdict line.
pub fn parse_verdict(reply: &str) -> Option<(Verdict, String)> {
    let upper = reply.to_uppercase();
    let (at, verdict) = if let Some(at) = upper.rfind("VERDICT") {
        let rest: String = upper[at + "VERDICT".len()..]
            .chars()
            .take_while(|c| *c != '\n')
            .filter(|c| c.is_alphanumeric())
            .collect();
        let verdict = match rest.as_str() {
            "A" => Verdict::A,
            "B" => Verdict::B,
            "TIE" | "C" => Verdict::Tie,
            _ => return None,
        };
        (at, verdict)
    } else {
        let marks: Vec<(usize, Verdict)> = [
            ("[[A]]", Verdict::A),
            ("[[B]]", Verdict::B),
            ("[[C]]", Verdict::Tie),
        ]
        .iter()
        .filter_map(|(mark, v)| upper.rfind(mark).map(|at| (at, *v)))
        .collect();
        match marks.as_slice() {
            [(at, v)] => (*at, *v),
            _ => return None,
        }
    };
    let reason: String = reply[..at]
        .trim()
        .trim_end_matches(['*', '#', '`', ':', '-'])
        .trim()
        .chars()
        .take(400)
        .collect();
    Some((verdict, reason))
}

/// What a pairwise pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairwiseSummary {
    /// Games judged now (each game one order of one pair).
    pub judged: u64,
    /// Games judged before (their votes were in the store).
    pub already: u64,
    /// Replies with no readable verdict (not stored; asked again on the next pass only if the
    /// judge's cache is off).
    pub unreadable: u64,
    /// Judge requests that failed.
    pub errors: u64,
}

/// One game: a model's answer against the baseline's, in one order.
struct Game {
    battle_id: String,
    /// (model, answer) shown first and second.
    a: (String, String),
    b: (String, String),
    question: String,
    lang: String,
    metadata: serde_json::Value,
}

/// The battle id of a game: the same game always has the same id, so a vote is stored once
/// and a resumed pass skips what it judged.
fn battle_id(run_id: &str, key: &[&str]) -> String {
    let mut hash = Sha256::new();
    hash.update(run_id.as_bytes());
    for part in key {
        hash.update([0]);
        hash.update(part.as_bytes());
    }
    format!("judge-{}", hex::encode(&hash.finalize()[..12]))
}

/// The arena's name of a language code (votes store `Chinese`, `English`).
fn vote_language(code: &str) -> &'static str {
    match code {
        "zh" => "Chinese",
        "en" => "English",
        _ => "Other",
    }
}

/// Judges every open item's answers of `run_id` against `baseline`'s, in both orders, with
/// `judge` (named `judge_name`); stores each readable verdict as a vote.
pub async fn judge_pairs(
    store: &Store,
    run_id: &str,
    baseline: &str,
    judge_name: &str,
    judge: &Arc<dyn ChatModel>,
    options: &ExecOptions,
) -> Result<PairwiseSummary, AuditError> {
    let (items, latest, votes) = off_runtime(store, {
        let run_id = run_id.to_string();
        move |store| {
            Ok::<_, assay_store::StoreError>((
                store.items(&run_id)?,
                store.latest_answers(&run_id)?,
                store.votes()?,
            ))
        }
    })
    .await?;
    let open: HashMap<(String, String, String), String> = items
        .into_iter()
        .filter(|i| i.kind == "open")
        .map(|i| ((i.suite, i.item_id, i.lang), i.prompt))
        .collect();
    // (suite, item, lang, sample) → model → answer text.
    let mut answers: BTreeMap<(String, String, String, u32), BTreeMap<String, String>> =
        BTreeMap::new();
    for stored in latest {
        let k = stored.answer.key;
        if let Some(text) = stored.answer.text {
            answers
                .entry((k.suite, k.item_id, k.lang, k.sample))
                .or_default()
                .insert(k.model, text);
        }
    }
    let voter = format!("{JUDGE_VOTER_PREFIX}{judge_name}");
    let done: HashSet<&str> = votes
        .iter()
        .filter(|v| v.voter_id == voter)
        .map(|v| v.battle_id.as_str())
        .collect();
    let mut summary = PairwiseSummary::default();
    let mut games = Vec::new();
    for ((suite, item, lang, sample), by_model) in &answers {
        let Some(question) = open.get(&(suite.clone(), item.clone(), lang.clone())) else {
            continue;
        };
        let Some(base_answer) = by_model.get(baseline) else {
            continue;
        };
        for (model, answer) in by_model.iter().filter(|(m, _)| *m != baseline) {
            for order in ["ab", "ba"] {
                let sample_text = sample.to_string();
                let id = battle_id(
                    run_id,
                    &[
                        suite,
                        item,
                        lang,
                        &sample_text,
                        model,
                        baseline,
                        order,
                        judge_name,
                        VERSION,
                    ],
                );
                if done.contains(id.as_str()) {
                    summary.already += 1;
                    continue;
                }
                let mine = (model.clone(), answer.clone());
                let theirs = (baseline.to_string(), base_answer.clone());
                let (a, b) = if order == "ab" {
                    (mine, theirs)
                } else {
                    (theirs, mine)
                };
                games.push(Game {
                    battle_id: id,
                    a,
                    b,
                    question: question.clone(),
                    lang: lang.clone(),
                    metadata: serde_json::json!({
                        "kind": "judge", "run": run_id, "suite": suite, "item": item,
                        "lang": lang, "sample": sample, "order": order, "baseline": baseline,
                        "judge": judge_name, "version": VERSION, "anony": true,
                    }),
                });
            }
        }
    }
    let bar = options.progress.start(
        &format!("pairwise {judge_name}"),
        games.len() as u64,
        Unit::Items,
    );
    let mut replies = futures::stream::iter(games.iter())
        .map(|game| {
            let request = ChatRequest {
                messages: judge_messages(&game.question, &game.a.1, &game.b.1),
                params: crate::grade::verdict_params(MAX_TOKENS),
            };
            async move {
                let reply = complete_cached(
                    store,
                    options.use_cache,
                    judge_name,
                    judge.as_ref(),
                    request,
                )
                .await?;
                Ok::<_, AuditError>((game, reply))
            }
        })
        .buffer_unordered(options.concurrency.max(1));
    while let Some(result) = replies.next().await {
        let (game, reply) = result?;
        bar.advance(1);
        let reply = match reply {
            Ok(reply) => reply,
            Err(_) => {
                summary.errors += 1;
                continue;
            }
        };
        let Some((verdict, reason)) = parse_verdict(&reply) else {
            summary.unreadable += 1;
            continue;
        };
        let conversation = |(_, answer): &(String, String)| {
            serde_json::json!([
                {"role": "user", "content": game.question},
                {"role": "assistant", "content": answer},
            ])
        };
        let mut metadata = game.metadata.clone();
        metadata["reason"] = serde_json::json!(reason);
        let now = assay_core::now_rfc3339();
        let vote = VoteRecord {
            battle_id: game.battle_id.clone(),
            created_at: now.clone(),
            battle_started_at: now,
            model_a: game.a.0.clone(),
            model_b: game.b.0.clone(),
            winner: match verdict {
                Verdict::A => "model_a",
                Verdict::B => "model_b",
                Verdict::Tie => "tie",
            }
            .to_string(),
            conversation_a: conversation(&game.a),
            conversation_b: conversation(&game.b),
            language: vote_language(&game.lang).to_string(),
            voter_id: voter.clone(),
            ip_hash: String::new(),
            identity_leak: false,
            turns: 1,
            metadata,
        };
        off_runtime(store, move |store| store.record_vote(&vote)).await?;
        summary.judged += 1;
    }
    bar.finish();
    Ok(summary)
}

/// One model's games against the baseline, from the judge's votes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairwiseScore {
    pub model: String,
    pub baseline: String,
    pub judge: String,
    /// Games (each order of each pair one game) and their outcomes for `model`.
    pub games: u64,
    pub wins: u64,
    pub ties: u64,
    pub losses: u64,
    /// SuperCLUE's score: (wins + ties) / games, with its Wilson interval.
    pub score: assay_stats::Rate,
    /// Pairs judged in both orders, and of those, how many got a different outcome for
    /// `model` in the two orders (position bias or noise).
    pub pairs_both_orders: u64,
    pub orders_disagree: u64,
}

/// The judge's scores per model against the baseline, from the votes of `voter`
/// (`judge:<model>`) whose metadata names `run_id` (all runs with `None`).
pub fn pairwise_scores(votes: &[VoteRecord], run_id: Option<&str>) -> Vec<PairwiseScore> {
    // (model, baseline, judge) → pair key → outcomes in each order (1 win, 0 tie, -1 loss).
    type PairOutcomes = BTreeMap<String, Vec<i8>>;
    let mut by_model: BTreeMap<(String, String, String), PairOutcomes> = BTreeMap::new();
    for vote in votes.iter().filter(|v| v.is_judge()) {
        let m = &vote.metadata;
        let text = |k: &str| {
            m.get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        if run_id.is_some_and(|r| text("run") != r) {
            continue;
        }
        let baseline = text("baseline");
        let model = if vote.model_a == baseline {
            &vote.model_b
        } else {
            &vote.model_a
        };
        let outcome: i8 = match (vote.winner.as_str(), vote.model_a == *model) {
            ("model_a", true) | ("model_b", false) => 1,
            ("model_a", false) | ("model_b", true) => -1,
            _ => 0,
        };
        let pair = format!(
            "{}\u{1}{}\u{1}{}\u{1}{}\u{1}{}",
            text("run"),
            text("suite"),
            text("item"),
            text("lang"),
            m.get("sample").map(|s| s.to_string()).unwrap_or_default()
        );
        let judge = vote.voter_id[JUDGE_VOTER_PREFIX.len()..].to_string();
        by_model
            .entry((model.clone(), baseline, judge))
            .or_default()
            .entry(pair)
            .or_default()
            .push(outcome);
    }
    by_model
        .into_iter()
        .map(|((model, baseline, judge), pairs)| {
            let outcomes: Vec<i8> = pairs.values().flatten().copied().collect();
            let count = |o: i8| outcomes.iter().filter(|&&x| x == o).count() as u64;
            let (wins, ties, losses) = (count(1), count(0), count(-1));
            let games = outcomes.len() as u64;
            let both: Vec<&Vec<i8>> = pairs.values().filter(|o| o.len() >= 2).collect();
            PairwiseScore {
                model,
                baseline,
                judge,
                games,
                wins,
                ties,
                losses,
                score: assay_stats::wilson(wins + ties, games),
                pairs_both_orders: both.len() as u64,
                orders_disagree: both.iter().filter(|o| o[0] != o[1]).count() as u64,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_are_read_from_the_last_verdict_line() {
        assert_eq!(
            parse_verdict("A is accurate and complete.\nVERDICT: A"),
            Some((Verdict::A, "A is accurate and complete.".into()))
        );
        assert_eq!(
            parse_verdict("回答B更准确。\n**Verdict: b**"),
            Some((Verdict::B, "回答B更准确。".into()))
        );
        assert_eq!(
            parse_verdict("Both fine. VERDICT: TIE").map(|v| v.0),
            Some(Verdict::Tie)
        );
        assert_eq!(parse_verdict("[[A]]").map(|v| v.0), Some(Verdict::A));
        // The last verdict line counts; a line naming no single class is unreadable.
        assert_eq!(
            parse_verdict("VERDICT: A\nOn reflection:\nVERDICT: B").map(|v| v.0),
            Some(Verdict::B)
        );
        assert_eq!(parse_verdict("VERDICT: A or B"), None);
        assert_eq!(parse_verdict("[[A]] no, [[B]]"), None);
        assert_eq!(parse_verdict("I think the first one."), None);
        assert_eq!(parse_verdict(""), None);
    }

    fn vote(a: &str, b: &str, winner: &str, item: &str, order: &str) -> VoteRecord {
        VoteRecord {
            battle_id: format!("{item}{order}"),
            created_at: "2026-12-01T00:00:00Z".into(),
            battle_started_at: "2026-12-01T00:00:00Z".into(),
            model_a: a.into(),
            model_b: b.into(),
            winner: winner.into(),
            conversation_a: serde_json::json!([]),
            conversation_b: serde_json::json!([]),
            language: "Chinese".into(),
            voter_id: "judge:j".into(),
            ip_hash: String::new(),
            identity_leak: false,
            turns: 1,
            metadata: serde_json::json!({"run": "r", "suite": "s", "item": item, "lang": "zh",
                "sample": 0, "order": order, "baseline": "base"}),
        }
    }

    #[test]
    fn scores_count_games_for_the_model_and_orders_that_disagree() {
        let votes = vec![
            // Item 1: m wins in both orders.
            vote("m", "base", "model_a", "1", "ab"),
            vote("base", "m", "model_b", "1", "ba"),
            // Item 2: the judge prefers whatever is shown first (position bias).
            vote("m", "base", "model_a", "2", "ab"),
            vote("base", "m", "model_a", "2", "ba"),
            // Item 3: a tie, one order only.
            vote("m", "base", "tie", "3", "ab"),
        ];
        let scores = pairwise_scores(&votes, Some("r"));
        assert_eq!(scores.len(), 1);
        let s = &scores[0];
        assert_eq!(
            (s.model.as_str(), s.baseline.as_str(), s.judge.as_str()),
            ("m", "base", "j")
        );
        assert_eq!((s.games, s.wins, s.ties, s.losses), (5, 3, 1, 1));
        assert_eq!(s.score, assay_stats::wilson(4, 5));
        assert_eq!((s.pairs_both_orders, s.orders_disagree), (2, 1));
        assert!(pairwise_scores(&votes, Some("other")).is_empty());
    }
}
