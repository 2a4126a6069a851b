//! A board from a store: its finished audit runs (or those chosen), the judge's pairwise votes
//! of those runs, and people's arena votes (from the same store or the arena's own).

use std::collections::BTreeMap;

use assay_arena::leaderboard::{self, LeaderboardOptions};
use assay_arena::models::{apply_display_names, default_display, ModelInfo as ArenaModelInfo};
use assay_arena::vote::battle_from_vote;
use assay_eval::audit::AuditError;
use assay_eval::pairwise::pairwise_scores;
use assay_store::{RunStatus, Store, StoreError, VoteRecord};

use crate::{access_of, build, ArenaRatings, Board, Inputs, ModelInfo, Period};

/// Why a board could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("run {run}: {source}")]
    Run {
        run: String,
        #[source]
        source: Box<AuditError>,
    },
    #[error("no run {0} in the store (`assay runs` lists them)")]
    NoSuchRun(String),
    #[error("no finished runs to put on the board: run `assay audit` first (or widen --since)")]
    NoRuns,
}

/// Which runs a board reads.
#[derive(Debug, Clone, Default)]
pub enum Selection {
    /// Every finished run created on or after this day (`YYYY-MM-DD`), or every one.
    #[default]
    Finished,
    Since(String),
    /// These runs, whatever their status.
    Runs(Vec<String>),
}

/// The board of `store`'s runs as `selection` picks them, with people's votes from `arena`
/// (`store` itself when `None`), the models file's `infos`, grouped by `period`. Answers the
/// board and what the reader should be warned of (models-file entries with no votes, languages
/// whose votes cannot be rated).
pub fn from_store(
    store: &Store,
    arena: Option<&Store>,
    selection: &Selection,
    infos: &[ArenaModelInfo],
    period: Period,
    now: &str,
) -> Result<(Board, Vec<String>), BoardError> {
    let listed = assay_eval::runs::list_runs(store)?;
    let chosen: Vec<String> = listed
        .iter()
        .filter(|run| match selection {
            Selection::Finished => run.status == RunStatus::Finished,
            Selection::Since(day) => {
                run.status == RunStatus::Finished && run.created_at.as_str() >= day.as_str()
            }
            Selection::Runs(ids) => ids.contains(&run.id),
        })
        .map(|run| run.id.clone())
        .collect();
    if let Selection::Runs(ids) = selection {
        if let Some(missing) = ids.iter().find(|id| !chosen.contains(id)) {
            return Err(BoardError::NoSuchRun(missing.clone()));
        }
    }
    if chosen.is_empty() {
        return Err(BoardError::NoRuns);
    }
    let runs = chosen
        .iter()
        .map(|id| {
            assay_eval::audit::results(store, id).map_err(|source| BoardError::Run {
                run: id.clone(),
                source: Box::new(source),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;

    // A judge's votes are where its audit runs are, for the runs on the board; people's are in
    // the arena's store.
    let audit_votes = store.votes()?;
    let on_board = |v: &VoteRecord| {
        let run = v.metadata.get("run").and_then(|r| r.as_str());
        run.is_some_and(|r| chosen.iter().any(|c| c == r))
    };
    let judge_votes: Vec<VoteRecord> = audit_votes
        .iter()
        .filter(|v| v.is_judge() && on_board(v))
        .cloned()
        .collect();
    let arena_votes = match arena {
        Some(arena) => arena.votes()?,
        None => audit_votes,
    };
    let human_votes: Vec<VoteRecord> = arena_votes.into_iter().filter(|v| !v.is_judge()).collect();
    let mut warnings = Vec::new();
    let human = ratings(&human_votes, infos, "arena", &mut warnings);
    let judged = ratings(&judge_votes, infos, "judged", &mut warnings);
    let mut pairwise = BTreeMap::new();
    for (scope, language) in SCOPES {
        let in_scope: Vec<VoteRecord> = judge_votes
            .iter()
            .filter(|v| language.is_none_or(|l| v.language == l))
            .cloned()
            .collect();
        pairwise.insert(scope.to_string(), pairwise_scores(&in_scope, None));
    }
    // Each model string a models-file entry stands for carries its display name.
    let infos: Vec<ModelInfo> = infos
        .iter()
        .flat_map(|info| {
            std::iter::once(info.display.clone())
                .chain(info.aliases.iter().cloned())
                .map(move |model| ModelInfo {
                    access: info
                        .access
                        .clone()
                        .unwrap_or_else(|| access_of(&model).to_string()),
                    model,
                    display: info.display.clone(),
                    organization: info.organization.clone(),
                    license: info.license.clone(),
                })
        })
        .collect();
    // Audit models the models file does not name take the arena's default display name
    // (`local:m` → `m`), so that their arena votes join them; unless two would share one.
    let mut audited: Vec<&str> = runs
        .iter()
        .flat_map(|r| r.run.models.iter().map(|m| m.name.as_str()))
        .collect();
    audited.sort_unstable();
    audited.dedup();
    let derived: Vec<(String, String)> = audited
        .iter()
        .filter(|name| !infos.iter().any(|i| i.model == **name))
        .filter_map(|name| {
            let spec = assay_core::ModelSpec::parse(name).ok()?;
            Some((name.to_string(), default_display(&spec)))
        })
        .collect();
    let mut infos = infos;
    for (name, display) in &derived {
        let shared = derived.iter().filter(|(_, d)| d == display).count() > 1
            || infos.iter().any(|i| i.display == *display);
        infos.push(ModelInfo {
            model: name.clone(),
            display: if shared {
                name.clone()
            } else {
                display.clone()
            },
            organization: None,
            license: None,
            access: access_of(name).to_string(),
        });
    }
    let inputs = Inputs {
        runs: &runs,
        human,
        judged,
        pairwise,
        infos: &infos,
    };
    Ok((build(&inputs, period, now), warnings))
}

/// The scopes of a board and the language votes store for each (`None`: all).
const SCOPES: [(&str, Option<&str>); 3] = [
    ("all", None),
    ("zh", Some("Chinese")),
    ("en", Some("English")),
];

/// Bradley–Terry ratings of `votes` per scope, under the models file's display names; a scope
/// whose votes cannot be rated (one model only, say) is left out with a warning.
fn ratings(
    votes: &[VoteRecord],
    infos: &[ArenaModelInfo],
    what: &str,
    warnings: &mut Vec<String>,
) -> ArenaRatings {
    let mut battles: Vec<_> = votes.iter().filter_map(battle_from_vote).collect();
    warnings.extend(apply_display_names(&mut battles, infos));
    let mut out = ArenaRatings::new();
    for (scope, language) in SCOPES {
        let in_scope: Vec<_> = battles
            .iter()
            .filter(|b| language.is_none() || b.language.as_deref() == language)
            .cloned()
            .collect();
        if in_scope.is_empty() {
            continue;
        }
        match leaderboard::compute(&in_scope, &LeaderboardOptions::default()) {
            Ok(rated) => {
                out.insert(scope.to_string(), rated);
            }
            Err(e) => warnings.push(format!("no {what} rating for {scope}: {e}")),
        }
    }
    out
}
