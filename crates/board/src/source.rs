//! A board from a store: its finished audit runs (or those chosen), the judge's pairwise votes
//! of those runs, and people's arena votes (from the same store or the arena's own).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use assay_arena::leaderboard::{self, LeaderboardOptions};
use assay_arena::models::{apply_display_names, default_display, ModelInfo as ArenaModelInfo};
use assay_arena::vote::battle_from_vote;
use assay_eval::audit::AuditError;
use assay_eval::pairwise::pairwise_scores;
use assay_eval::results::Results;
use assay_eval::runs::RunHeader;
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
    let listed = assay_eval::runs::run_headers(store)?;
    let chosen: Vec<RunHeader> = listed
        .into_iter()
        .filter(|run| match selection {
            Selection::Finished => run.status == RunStatus::Finished,
            Selection::Since(day) => {
                run.status == RunStatus::Finished && run.created_at.as_str() >= day.as_str()
            }
            Selection::Runs(ids) => ids.contains(&run.id),
        })
        .collect();
    if let Selection::Runs(ids) = selection {
        if let Some(missing) = ids.iter().find(|id| !chosen.iter().any(|r| &r.id == *id)) {
            return Err(BoardError::NoSuchRun(missing.clone()));
        }
    }
    if chosen.is_empty() {
        return Err(BoardError::NoRuns);
    }
    let (runs, not_kept) = read_runs(store, &chosen, period)?;
    let replaced: Vec<RunHeader> = chosen
        .iter()
        .filter(|h| !runs.iter().any(|r| r.run.id == h.id))
        .cloned()
        .collect();
    let chosen: Vec<String> = chosen.into_iter().map(|h| h.id).collect();

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
    if let Some(first) = not_kept.first() {
        warnings.push(format!(
            "the analyses of {} runs could not be kept in the store, so the next board reads \
             their answers again ({first}); this board is not affected",
            not_kept.len()
        ));
    }
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
        replaced: &replaced,
        human,
        judged,
        pairwise,
        infos: &infos,
    };
    Ok((build(&inputs, period, now), warnings))
}

/// The runs whose answers a board needs, read without their texts (from the analyses the store
/// keeps where they are still good): for each period, model and suite, the latest run of the
/// period that has answers for them. A run a later one of its period replaces entirely is not
/// read (on a store of many runs, most are not). Beside them, why some analyses could not be
/// kept.
fn read_runs(
    store: &Store,
    chosen: &[RunHeader],
    period: Period,
) -> Result<(Vec<Results>, Vec<StoreError>), BoardError> {
    let mut read: BTreeMap<String, Results> = BTreeMap::new();
    // (run, model, suite) that a run's configuration names but its answers lack (a run
    // stopped early, or whose requests all failed): the board takes an earlier run for them.
    let mut lacking: BTreeSet<(String, String, String)> = BTreeSet::new();
    let mut not_kept = Vec::new();
    loop {
        let wanted: Vec<String> = runs_to_read(chosen, period, &lacking)
            .into_iter()
            .filter(|id| !read.contains_key(id))
            .collect();
        let mut more_lacking = false;
        for (results, error) in read_in_parallel(store, &wanted)? {
            not_kept.extend(error);
            let id = results.run.id.clone();
            for header in chosen.iter().filter(|h| h.id == id) {
                for (model, suite) in pairs(header) {
                    let has = results.cells.iter().any(|c| {
                        c.model == model
                            && c.suite == suite
                            && c.category.is_none()
                            && c.lang.is_none()
                    });
                    if !has {
                        more_lacking = true;
                        lacking.insert((id.clone(), model.to_string(), suite.to_string()));
                    }
                }
            }
            read.insert(id, results);
        }
        if !more_lacking {
            return Ok((read.into_values().collect(), not_kept));
        }
    }
}

/// At most this many connections read runs at once (a database server has other clients).
const MAX_READERS: usize = 8;

/// Reads runs without their texts on every core, each worker on its own connection (one
/// connection would serialise them).
fn read_in_parallel(
    store: &Store,
    ids: &[String],
) -> Result<Vec<(Results, Option<StoreError>)>, BoardError> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_READERS)
        .min(ids.len());
    let connections = (0..workers)
        .map(|i| match i {
            0 => Ok(store.clone()),
            _ => store.connect_again(),
        })
        .collect::<Result<Vec<Store>, StoreError>>()?;
    let next = AtomicUsize::new(0);
    let worker = |store: &Store| {
        let mut read = Vec::new();
        while let Some(id) = ids.get(next.fetch_add(1, Ordering::Relaxed)) {
            let results =
                assay_eval::audit::results_without_texts_kept(store, id).map_err(|source| {
                    BoardError::Run {
                        run: id.clone(),
                        source: Box::new(source),
                    }
                })?;
            read.push(results);
        }
        Ok::<_, BoardError>(read)
    };
    std::thread::scope(|scope| {
        let handles: Vec<_> = connections
            .iter()
            .map(|store| scope.spawn(|| worker(store)))
            .collect();
        let mut all = Vec::new();
        for handle in handles {
            match handle.join() {
                Ok(read) => all.extend(read?),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        Ok(all)
    })
}

/// The model × suite pairs a run's configuration names.
fn pairs(header: &RunHeader) -> impl Iterator<Item = (&str, &str)> {
    header.models.iter().flat_map(move |model| {
        header
            .suites
            .iter()
            .map(move |suite| (model.as_str(), suite.as_str()))
    })
}

/// For each period, model and suite, the latest of `runs` in that period that names them and
/// is not known to lack their answers.
fn runs_to_read(
    runs: &[RunHeader],
    period: Period,
    lacking: &BTreeSet<(String, String, String)>,
) -> BTreeSet<String> {
    let mut latest: BTreeMap<(String, &str, &str), &RunHeader> = BTreeMap::new();
    for run in runs {
        let run_period = period.of(&run.created_at).unwrap_or_default();
        for (model, suite) in pairs(run) {
            if lacking.contains(&(run.id.clone(), model.to_string(), suite.to_string())) {
                continue;
            }
            let key = (run_period.clone(), model, suite);
            let later = latest
                .get(&key)
                .is_none_or(|l| (&run.created_at, &run.id) > (&l.created_at, &l.id));
            if later {
                latest.insert(key, run);
            }
        }
    }
    latest.values().map(|run| run.id.clone()).collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn header(id: &str, created_at: &str, models: &[&str]) -> RunHeader {
        RunHeader {
            id: id.into(),
            created_at: created_at.into(),
            status: RunStatus::Finished,
            models: models.iter().map(|m| m.to_string()).collect(),
            suites: vec!["s".into()],
        }
    }

    #[test]
    fn only_the_latest_run_of_each_period_model_and_suite_is_read() {
        let runs = [
            header("r1", "2026-10-01T00:00:00Z", &["a", "b"]),
            header("r2", "2026-10-09T00:00:00Z", &["a"]),
            header("r3", "2026-10-20T00:00:00Z", &["a", "b"]),
            header("r4", "2026-11-02T00:00:00Z", &["a"]),
        ];
        let none = BTreeSet::new();
        let read = |lacking| runs_to_read(&runs, Period::Month, lacking);
        assert_eq!(read(&none), BTreeSet::from(["r3".into(), "r4".into()]));
        // A run that lacks b's answers: b's October comes from the run before.
        let lacking = BTreeSet::from([("r3".into(), "b".into(), "s".into())]);
        assert_eq!(
            read(&lacking),
            BTreeSet::from(["r1".into(), "r3".into(), "r4".into()])
        );
        // By week every run is its own period.
        assert_eq!(runs_to_read(&runs, Period::Week, &none).len(), 4);
    }
}
