//! `assay board`: one leaderboard over the store's finished audit runs and the arena's votes.
//! The work is in `assay_board`.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use assay_arena::leaderboard::{self, LeaderboardOptions};
use assay_arena::models::ModelInfo as ArenaModelInfo;
use assay_arena::models::{apply_display_names, ModelsConfig};
use assay_arena::vote::battle_from_vote;
use assay_board::{ArenaRatings, Inputs, ModelInfo, Period};
use assay_store::RunStatus;
use assay_store::VoteRecord;
use clap::{Args, ValueEnum};

use crate::store_args::{open_store, StoreArgs};

#[derive(Args)]
pub struct BoardArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Only these runs (ids as `assay runs` lists them); default: every finished run.
    #[arg(long, num_args = 1.., value_name = "RUN", conflicts_with = "since")]
    runs: Vec<String>,
    /// Only runs created on or after this day (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// The arena's store, whose human votes give the arena rating (default: --db's votes).
    #[arg(long, value_name = "PATH|URL")]
    arena: Option<String>,
    /// The arena's models file: display names, organisations and licences.
    #[arg(long, value_name = "FILE")]
    models_config: Option<PathBuf>,
    /// How runs are grouped in the history.
    #[arg(long, value_enum, default_value_t = PeriodArg::Month)]
    period: PeriodArg,
    /// Write board.html, board.json and board.csv here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print board.json instead of the table.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum PeriodArg {
    Month,
    Week,
}

pub fn board(args: BoardArgs) -> Result<()> {
    let store = args.store.open()?;
    if let Some(since) = &args.since {
        chrono::NaiveDate::parse_from_str(since, "%Y-%m-%d")
            .with_context(|| format!("--since {since}: expected a day as YYYY-MM-DD"))?;
    }
    let listed = assay_eval::runs::list_runs(&store)?;
    let mut chosen = Vec::new();
    for run in &listed {
        let wanted = if args.runs.is_empty() {
            run.status == RunStatus::Finished
                && args
                    .since
                    .as_ref()
                    .is_none_or(|day| run.created_at.as_str() >= day.as_str())
        } else {
            args.runs.contains(&run.id)
        };
        if wanted {
            chosen.push(run.id.clone());
        }
    }
    if let Some(missing) = args.runs.iter().find(|id| !chosen.contains(id)) {
        bail!("no run {missing} in the store (`assay runs` lists them)");
    }
    if chosen.is_empty() {
        bail!("no finished runs to put on the board: run `assay audit` first (or widen --since)");
    }
    let mut runs = Vec::new();
    for id in &chosen {
        runs.push(assay_eval::audit::results(&store, id).with_context(|| format!("run {id}"))?);
    }

    let arena_infos = match &args.models_config {
        Some(path) => ModelsConfig::load(path)?.infos(),
        None => Vec::new(),
    };
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
    let arena_votes = match &args.arena {
        Some(db) => open_store(Some(db))?.votes()?,
        None => audit_votes,
    };
    let human_votes: Vec<VoteRecord> = arena_votes.into_iter().filter(|v| !v.is_judge()).collect();
    let human = ratings(&human_votes, &arena_infos, "arena");
    let judged = ratings(&judge_votes, &arena_infos, "judged");
    let mut pairwise = std::collections::BTreeMap::new();
    for (scope, language) in SCOPES {
        let in_scope: Vec<_> = judge_votes
            .iter()
            .filter(|v| language.is_none_or(|l| v.language == l))
            .cloned()
            .collect();
        pairwise.insert(
            scope.to_string(),
            assay_eval::pairwise::pairwise_scores(&in_scope, None),
        );
    }

    // Each model string a models-file entry stands for carries its display name.
    let infos: Vec<ModelInfo> = arena_infos
        .iter()
        .flat_map(|info| {
            std::iter::once(info.display.clone())
                .chain(info.aliases.iter().cloned())
                .map(move |model| ModelInfo {
                    access: info
                        .access
                        .clone()
                        .unwrap_or_else(|| assay_board::access_of(&model).to_string()),
                    model,
                    display: info.display.clone(),
                    organization: info.organization.clone(),
                    license: info.license.clone(),
                })
        })
        .collect();
    let period = match args.period {
        PeriodArg::Month => Period::Month,
        PeriodArg::Week => Period::Week,
    };
    let inputs = Inputs {
        runs: &runs,
        human,
        judged,
        pairwise,
        infos: &infos,
    };
    let board = assay_board::build(&inputs, period, &assay_core::now_rfc3339());
    if let Some(dir) = &args.out {
        let files = assay_board::write_files(&board, dir)
            .with_context(|| format!("cannot write the board into {}", dir.display()))?;
        for file in files {
            eprintln!("wrote {}", file.display());
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&board)?);
    } else {
        print!("{}", assay_board::terminal_table(&board));
        println!(
            "{} run(s), {} period(s) ({}); scores: value [95% interval] n, #rank where ranked",
            board.runs.len(),
            board.history.len(),
            match period {
                Period::Month => "month",
                Period::Week => "week",
            }
        );
        for chart in board.scatters.iter().filter(|c| c.scope == "all") {
            println!("{} against {}: {}", chart.y, chart.x, chart.reading);
        }
        if let Some(agreement) = &board.judge_agreement {
            println!("judge against people: {}", agreement.reading);
        }
        for note in &board.notes {
            println!("note: {note}");
        }
    }
    Ok(())
}

/// The scopes of a board and the language votes store for each (`None`: all).
const SCOPES: [(&str, Option<&str>); 3] = [
    ("all", None),
    ("zh", Some("Chinese")),
    ("en", Some("English")),
];

/// Bradley–Terry ratings of `votes` per scope, under the models file's display names; a scope
/// whose votes cannot be rated (one model only, say) is left out with a note.
fn ratings(votes: &[VoteRecord], infos: &[ArenaModelInfo], what: &str) -> ArenaRatings {
    let mut battles: Vec<_> = votes.iter().filter_map(battle_from_vote).collect();
    for warning in apply_display_names(&mut battles, infos) {
        eprintln!("warning: {warning}");
    }
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
            Err(e) => eprintln!("note: no {what} rating for {scope}: {e}"),
        }
    }
    out
}
