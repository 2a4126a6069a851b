//! The leaderboard as the pages show it: votes from the store → battles → ratings, per
//! language and category, with or without style control, cached until this process records a
//! vote (or the TTL passes).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use assay_arena::battle::Battle;
use assay_arena::leaderboard::{
    compute, pairwise, set_info, Leaderboard, LeaderboardOptions, Pairwise,
};
use assay_arena::models::{apply_display_names, ModelInfo};
use assay_arena::vote::battle_from_vote;
use assay_store::{Store, VoteRecord};
use serde_json::{json, Value};

use crate::category::{categories_of, CATEGORIES};

/// What a leaderboard request asks for.
pub struct Request {
    pub language: Option<String>,
    /// A category id of [`crate::category::CATEGORIES`].
    pub category: Option<String>,
    pub style_control: bool,
    pub bootstrap_rounds: usize,
    pub min_language_votes: u64,
    /// Rated votes under which a model is marked preliminary.
    pub preliminary_below: u64,
    pub ttl: Duration,
}

/// One leaderboard, ready to show.
#[derive(Debug)]
pub struct LeaderboardView {
    /// The language tab (`None`: every language).
    pub language: Option<String>,
    /// The category tab (`None`: every category).
    pub category: Option<String>,
    pub style_control: bool,
    /// Every vote in the store.
    pub total_votes: u64,
    /// Votes of this tab (rated or excluded).
    pub tab_votes: u64,
    /// Languages with enough rated votes for a tab of their own, with their counts.
    pub languages: Vec<(String, u64)>,
    /// Categories (id, label, rated votes) with enough rated votes for a tab of their own.
    pub categories: Vec<(String, String, u64)>,
    pub min_language_votes: u64,
    pub bootstrap_rounds: usize,
    /// The ratings, when there is anything to rate.
    pub board: Option<Leaderboard>,
    /// Why there is no board (no votes yet, …).
    pub message: Option<String>,
    pub pairwise: Option<Pairwise>,
    /// RFC 3339.
    pub computed_at: String,
}

impl LeaderboardView {
    pub fn to_json(&self) -> Value {
        json!({
            "language": self.language,
            "category": self.category,
            "style_control": self.style_control,
            "total_votes": self.total_votes,
            "tab_votes": self.tab_votes,
            "languages": self.languages.iter().map(|(l, n)| json!({"name": l, "votes": n})).collect::<Vec<_>>(),
            "categories": self.categories.iter().map(|(id, label, n)| json!({"id": id, "name": label, "votes": n})).collect::<Vec<_>>(),
            "min_language_votes": self.min_language_votes,
            "bootstrap_rounds": self.bootstrap_rounds,
            "leaderboard": self.board.as_ref().map(Leaderboard::to_json),
            "message": self.message,
            "pairwise": self.pairwise.as_ref().map(|p| serde_json::to_value(p).unwrap_or(Value::Null)),
            "computed_at": self.computed_at,
        })
    }
}

type Key = (Option<String>, Option<String>, bool);

struct Entry {
    /// [`Cache::generation`] when the votes were read.
    generation: u64,
    at: Instant,
    view: Arc<LeaderboardView>,
}

/// Computed leaderboards by (language, category, style control). The keys are bounded: the
/// language and category are validated before they get here.
#[derive(Default)]
pub struct Cache {
    entries: tokio::sync::Mutex<HashMap<Key, Entry>>,
    /// Votes this process has recorded: a board computed before the last one is stale.
    generation: AtomicU64,
    /// Times the votes were read (a cached board costs none).
    reads: AtomicU64,
}

impl Cache {
    /// Marks every cached board stale: a vote was recorded.
    pub fn vote_recorded(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// How many times the votes have been read.
    #[cfg(test)]
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::SeqCst)
    }
}

/// The leaderboard for `request`, from the cache unless a vote was recorded since it was
/// computed or it is older than the TTL; only then are the votes read. Votes cast through
/// other processes sharing the store show once the TTL has passed.
pub async fn view(
    cache: &Cache,
    store: Arc<Store>,
    infos: &[ModelInfo],
    request: Request,
) -> Result<Arc<LeaderboardView>, String> {
    // One computation at a time: a burst of page loads after a vote computes once.
    let mut entries = cache.entries.lock().await;
    let key: Key = (
        request.language.clone(),
        request.category.clone(),
        request.style_control,
    );
    // Read before the votes: a vote recorded while they are read leaves this board stale.
    let generation = cache.generation.load(Ordering::SeqCst);
    if let Some(entry) = entries.get(&key) {
        if entry.generation == generation && entry.at.elapsed() < request.ttl {
            return Ok(entry.view.clone());
        }
    }
    cache.reads.fetch_add(1, Ordering::SeqCst);
    let votes = tokio::task::spawn_blocking(move || store.votes())
        .await
        .map_err(|e| format!("reading votes: {e}"))?
        .map_err(|e| format!("reading votes: {e}"))?;
    let infos = infos.to_vec();
    let view = tokio::task::spawn_blocking(move || build(&votes, &infos, &request))
        .await
        .map_err(|e| format!("computing the leaderboard: {e}"))?;
    let view = Arc::new(view);
    entries.insert(
        key,
        Entry {
            generation,
            at: Instant::now(),
            view: view.clone(),
        },
    );
    Ok(view)
}

fn build(votes: &[VoteRecord], infos: &[ModelInfo], request: &Request) -> LeaderboardView {
    // People's votes only: a judge model's (`assay audit --pairwise`) are rated by `assay board`.
    let (mut battles, categories): (Vec<Battle>, Vec<Vec<&'static str>>) = votes
        .iter()
        .filter(|v| !v.is_judge())
        .filter_map(|v| Some((battle_from_vote(v)?, categories_of(v))))
        .unzip();
    // Votes stored under another spelling of a model (its model string, or its default name
    // from before it had a display name) count under the name the leaderboard shows. What the
    // renaming has to say (entries without votes) is for `assay arena ratings`, not each page.
    let _ = apply_display_names(&mut battles, infos);
    let all: Vec<(Battle, Vec<&'static str>)> = battles.into_iter().zip(categories).collect();
    let mut by_language: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_category: BTreeMap<&'static str, u64> = BTreeMap::new();
    for (b, categories) in all.iter().filter(|(b, _)| !b.excluded) {
        if let Some(l) = &b.language {
            *by_language.entry(l.clone()).or_default() += 1;
        }
        for c in categories {
            *by_category.entry(c).or_default() += 1;
        }
    }
    let mut languages: Vec<(String, u64)> = by_language
        .into_iter()
        .filter(|(l, n)| *n >= request.min_language_votes && l != "unknown")
        .collect();
    languages.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let categories: Vec<(String, String, u64)> = CATEGORIES
        .iter()
        .filter_map(|(id, label)| {
            let n = by_category.get(id).copied().unwrap_or(0);
            (n >= request.min_language_votes).then(|| (id.to_string(), label.to_string(), n))
        })
        .collect();
    let battles: Vec<Battle> = all
        .into_iter()
        .filter(|(b, categories)| {
            let language_ok = request.language.as_deref().is_none_or(|l| {
                b.language
                    .as_deref()
                    .is_some_and(|bl| bl.eq_ignore_ascii_case(l))
            });
            let category_ok = request
                .category
                .as_deref()
                .is_none_or(|c| categories.iter().any(|bc| bc.eq_ignore_ascii_case(c)));
            language_ok && category_ok
        })
        .map(|(b, _)| b)
        .collect();
    let options = LeaderboardOptions {
        bootstrap_rounds: request.bootstrap_rounds,
        seed: 0,
        threads: 0,
        style_control: request.style_control,
        preliminary_below: request.preliminary_below,
        ..LeaderboardOptions::default()
    };
    let rated = battles.iter().filter(|b| !b.excluded).count();
    let (board, message) = if rated == 0 {
        let message = if battles.is_empty() {
            "No votes yet. Battle some models and vote!".to_string()
        } else {
            format!(
                "No rated votes yet: {} vote(s) excluded because an answer revealed a model's identity.",
                battles.len()
            )
        };
        (None, Some(message))
    } else {
        match compute(&battles, &options) {
            Ok(mut board) => {
                set_info(&mut board, infos);
                (Some(board), None)
            }
            Err(e) => (
                None,
                Some(format!("The ratings cannot be computed yet: {e}.")),
            ),
        }
    };
    let pairwise = board.as_ref().map(|b| {
        let order: Vec<String> = b.rows.iter().map(|r| r.model.clone()).collect();
        pairwise(&battles, &order)
    });
    LeaderboardView {
        language: request.language.clone(),
        category: request.category.clone(),
        style_control: request.style_control,
        total_votes: votes.len() as u64,
        tab_votes: battles.len() as u64,
        languages,
        categories,
        min_language_votes: request.min_language_votes,
        bootstrap_rounds: request.bootstrap_rounds,
        board,
        message,
        pairwise,
        computed_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}
