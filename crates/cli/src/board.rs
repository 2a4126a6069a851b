//! `assay board`: one leaderboard over the store's finished audit runs, the judge's pairwise
//! votes and the arena's votes. The work is in `assay_board`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use assay_arena::models::ModelsConfig;
use assay_board::{Period, Selection};
use clap::{Args, ValueEnum};

use crate::store_args::{open_store, StoreArgs};

#[derive(Args)]
pub struct BoardArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Only these runs (ids as `assay runs` lists them); default: every finished run.
    #[arg(long, num_args = 1.., value_name = "RUN", conflicts_with = "since")]
    runs: Vec<String>,
    /// Only finished runs created on or after this day (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// The arena's store, whose people's votes give the arena rating (default: --db's votes).
    #[arg(long, value_name = "PATH|URL")]
    arena: Option<String>,
    /// The arena's models file: display names, organisations, licences and access.
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
    let selection = match (&args.since, args.runs.is_empty()) {
        (Some(day), _) => {
            chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .with_context(|| format!("--since {day}: expected a day as YYYY-MM-DD"))?;
            Selection::Since(day.clone())
        }
        (None, false) => Selection::Runs(args.runs.clone()),
        (None, true) => Selection::Finished,
    };
    let infos = match &args.models_config {
        Some(path) => ModelsConfig::load(path)?.infos(),
        None => Vec::new(),
    };
    let arena = args
        .arena
        .as_deref()
        .map(|db| open_store(Some(db)))
        .transpose()?;
    let period = match args.period {
        PeriodArg::Month => Period::Month,
        PeriodArg::Week => Period::Week,
    };
    let (board, warnings) = assay_board::from_store(
        &store,
        arena.as_ref(),
        &selection,
        &infos,
        period,
        &assay_core::now_rfc3339(),
    )?;
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
    if let Some(dir) = &args.out {
        let files = assay_board::write_files(&board, dir)
            .with_context(|| format!("cannot write the board into {}", dir.display()))?;
        for file in files {
            eprintln!("wrote {}", file.display());
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&board)?);
        return Ok(());
    }
    print!("{}", assay_board::terminal_table(&board));
    println!(
        "{} run(s), {} period(s) by {}; each score: value [95% interval] n, #rank where ranked",
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
    Ok(())
}
