//! A vote of the arena's store as a battle for the ratings: what `assay arena ratings --db`,
//! `assay arena export` and the web leaderboard all read. (Feature `store`.)

use assay_store::VoteRecord;
use serde_json::Value;

use crate::battle::{Battle, Style, Winner};

/// A vote as a battle for the ratings: `excluded` when an answer leaked a model's identity;
/// style features from the vote's metadata (or, for votes without them, from its
/// conversations). `None` for a vote whose winner is not one of the four outcomes.
pub fn battle_from_vote(vote: &VoteRecord) -> Option<Battle> {
    let winner = Winner::parse(&vote.winner)?;
    let tstamp = chrono::DateTime::parse_from_rfc3339(&vote.created_at)
        .map(|t| t.timestamp_millis() as f64 / 1000.0)
        .unwrap_or(0.0);
    let style = style_from_metadata(&vote.metadata).or_else(|| {
        let a = assistant_text(&vote.conversation_a);
        let b = assistant_text(&vote.conversation_b);
        Some((
            Style::from_markdown(&a, estimate_tokens(&a)),
            Style::from_markdown(&b, estimate_tokens(&b)),
        ))
    });
    Some(Battle {
        model_a: vote.model_a.clone(),
        model_b: vote.model_b.clone(),
        winner,
        language: Some(vote.language.clone()).filter(|l| !l.is_empty()),
        anony: vote
            .metadata
            .get("anony")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        turn: vote.turns.max(1),
        tstamp,
        style,
        excluded: vote.identity_leak,
    })
}

fn style_from_metadata(metadata: &Value) -> Option<(Style, Style)> {
    let m = metadata.get("conv_metadata")?;
    let n = |key: &str| m.get(key).and_then(Value::as_f64);
    Some((
        Style {
            tokens: n("sum_assistant_a_tokens")?,
            headers: n("header_count_a")?,
            lists: n("list_count_a")?,
            bold: n("bold_count_a")?,
        },
        Style {
            tokens: n("sum_assistant_b_tokens")?,
            headers: n("header_count_b")?,
            lists: n("list_count_b")?,
            bold: n("bold_count_b")?,
        },
    ))
}

fn assistant_text(conversation: &Value) -> String {
    conversation
        .as_array()
        .map(|messages| {
            messages
                .iter()
                .filter(|m| m.get("role").and_then(Value::as_str) == Some("assistant"))
                .filter_map(|m| m.get("content").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

fn estimate_tokens(text: &str) -> f64 {
    assay_core::estimate_tokens(text) as f64
}
