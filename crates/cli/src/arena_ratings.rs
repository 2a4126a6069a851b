//! `assay arena ratings`: a leaderboard from a battle file (our vote export or the public LMSYS
//! dump) or from the votes in a store; `assay arena export`: a store's votes as that file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use assay_arena::battle::{self, Battle};
use assay_arena::bt::BtOptions;
use assay_arena::leaderboard::{self, CiMethod, LeaderboardOptions};
use assay_arena::models::{apply_display_names, ModelInfo, ModelsConfig};
use assay_arena::vote::battle_from_vote;
use clap::{Args, ValueEnum};

#[derive(Args)]
pub struct RatingsArgs {
    /// Battles: a JSON array (the LMSYS dump, clean_battle_*.json) or JSON Lines (our export).
    #[arg(long, value_name = "FILE", conflicts_with = "db")]
    input: Option<PathBuf>,
    /// Read the votes of an arena's store instead (SQLite path or postgres://...).
    #[arg(long, value_name = "PATH|URL")]
    db: Option<String>,
    /// Bootstrap rounds for the 95% intervals (0: no intervals).
    #[arg(long, default_value_t = 1000)]
    bootstrap: usize,
    /// How to compute the intervals.
    #[arg(long, value_enum, default_value_t = Ci::Bootstrap)]
    ci: Ci,
    /// Control for answer length and Markdown (headers, lists, bold), as LMSYS does.
    #[arg(long)]
    style_control: bool,
    /// Keep only some battles: language=zh | en | zh|en (or a name, e.g. Chinese), anony=true,
    /// turn=1 | 2+ | 1-3, model=a|b; comma-separated.
    #[arg(long)]
    filter: Option<String>,
    /// Pin a model's score: MODEL=SCORE (default: the mean is 1000).
    #[arg(long, value_name = "MODEL=SCORE")]
    anchor: Option<String>,
    /// The arena's models file (`[[models]]` with name, display, organization, license):
    /// votes under an entry's model string or default name count under its display name;
    /// entries that match no battle are named in a warning.
    #[arg(long, value_name = "FILE")]
    models_config: Option<PathBuf>,
    /// Mark models with fewer rated votes than this as preliminary (0: none).
    #[arg(long, value_name = "VOTES", default_value_t = leaderboard::DEFAULT_PRELIMINARY_BELOW)]
    preliminary_below: u64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Bootstrap threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Print JSON (rows, coefficients, timings) instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Ci {
    Bootstrap,
    Sandwich,
}

pub fn ratings(args: RatingsArgs) -> Result<()> {
    let started = Instant::now();
    let mut battles = match (&args.input, &args.db) {
        (Some(path), _) => battle::load_battles_with(path, args.style_control)?,
        (None, Some(db)) => votes_as_battles(db)?,
        (None, None) => bail!("give --input FILE or --db PATH|URL"),
    };
    // Display names first: a filter or an anchor then names models as the table shows them.
    let infos = match &args.models_config {
        Some(path) => ModelsConfig::load(path)?.infos(),
        None => Vec::new(),
    };
    for warning in apply_display_names(&mut battles, &infos) {
        eprintln!("warning: {warning}");
    }
    if let Some(filter) = &args.filter {
        let mut filter = battle::parse_filter(filter)?;
        filter.check_languages(&battles)?;
        // A model named by another of its spellings means its display name, as the battles
        // now do (a spelling two entries share stays as it is, as it does in the battles).
        for model in &mut filter.models {
            let owners: Vec<&ModelInfo> =
                infos.iter().filter(|i| i.aliases.contains(model)).collect();
            if let ([only], false) = (owners.as_slice(), infos.iter().any(|i| i.display == *model))
            {
                *model = only.display.clone();
            }
        }
        battles = filter.apply(battles);
    }
    let load_s = started.elapsed().as_secs_f64();
    if battles.is_empty() {
        let source = match (&args.input, &args.db) {
            (Some(path), _) => path.display().to_string(),
            (None, db) => db.clone().unwrap_or_default(),
        };
        match &args.filter {
            Some(filter) => bail!("{source}: no battles left to rate after --filter {filter}"),
            None => bail!("{source}: no battles to rate (no votes yet?)"),
        }
    }

    let mut bt = BtOptions::default();
    if let Some(anchor) = &args.anchor {
        let (model, score) = anchor
            .rsplit_once('=')
            .context("--anchor: expected MODEL=SCORE")?;
        let score: f64 = score
            .parse()
            .with_context(|| format!("--anchor: {score:?} is not a number"))?;
        bt.anchor = Some((model.to_string(), score));
    }
    let options = LeaderboardOptions {
        bootstrap_rounds: args.bootstrap,
        seed: args.seed,
        threads: args.threads,
        style_control: args.style_control,
        bt,
        ci: match args.ci {
            Ci::Bootstrap => CiMethod::Bootstrap,
            Ci::Sandwich => CiMethod::Sandwich,
        },
        preliminary_below: args.preliminary_below,
        ..LeaderboardOptions::default()
    };
    let fitted = Instant::now();
    let mut board = leaderboard::compute(&battles, &options)?;
    let compute_s = fitted.elapsed().as_secs_f64();
    leaderboard::set_info(&mut board, &infos);
    for warning in &board.warnings {
        eprintln!("warning: {warning}");
    }
    if args.json {
        let mut json = board.to_json();
        json["timings"] = serde_json::json!({
            "load_s": load_s,
            "fit_and_intervals_s": compute_s,
            "total_s": started.elapsed().as_secs_f64(),
        });
        println!("{json}");
    } else {
        print!("{}", leaderboard::render_table(&board));
        eprintln!(
            "{} battles loaded in {load_s:.2} s; ratings and intervals in {compute_s:.2} s",
            battles.len()
        );
    }
    Ok(())
}

/// The people's votes of a store as battles (a judge model's, from `assay audit --pairwise`,
/// are rated by `assay board`); votes whose answers named a model stay out of the ratings.
fn votes_as_battles(db: &str) -> Result<Vec<Battle>> {
    let store = crate::store_args::open_store(Some(db))?;
    Ok(store
        .votes()?
        .iter()
        .filter(|v| !v.is_judge())
        .filter_map(battle_from_vote)
        .collect())
}

#[derive(Args)]
pub struct ExportArgs {
    /// The arena's store: a SQLite path or postgres://... (default $ASSAY_HOME/assay.db).
    #[arg(long, value_name = "PATH|URL")]
    db: Option<String>,
    /// Where to write (default: standard output).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Add both conversations (`conversation_a`, `conversation_b`) to each record.
    #[arg(long)]
    conversations: bool,
}

/// One JSON line per vote: the battle fields `ratings` reads (votes whose answers named a model
/// carry `"excluded": true`), plus `question_id` (the battle) and, on request, the
/// conversations. Voter ids and IP hashes stay in the store. People's votes only: a judge
/// model's (`assay audit --pairwise`) would mix into a human leaderboard read from the file.
pub fn export(args: ExportArgs) -> Result<()> {
    let store = crate::store_args::open_store(args.db.as_deref())?;
    let votes: Vec<_> = store
        .votes()?
        .into_iter()
        .filter(|v| !v.is_judge())
        .collect();
    let mut out: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let mut written = 0usize;
    for vote in &votes {
        let Some(battle) = battle_from_vote(vote) else {
            eprintln!(
                "warning: vote on battle {} has an unknown winner {:?}; skipped",
                vote.battle_id, vote.winner
            );
            continue;
        };
        let mut record = battle.to_json();
        record["question_id"] = vote.battle_id.clone().into();
        if args.conversations {
            record["conversation_a"] = vote.conversation_a.clone();
            record["conversation_b"] = vote.conversation_b.clone();
        }
        serde_json::to_writer(&mut out, &record)?;
        out.write_all(b"\n")?;
        written += 1;
    }
    out.flush().context("cannot write the export")?;
    eprintln!("{written} votes exported from {}", store.path().display());
    Ok(())
}
