//! `assay screen`: corpus screening against a policy, and its sample / accept / merge steps.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use assay_policy::{IndexCache, Policy, PolicyBuilder};
use assay_screen::doc::FieldNames;
use assay_screen::{report, ScreenConfig};
use clap::{Args, Subcommand};

/// `assay screen INPUTS... --out DIR`, or `assay screen <step>`.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ScreenArgs {
    #[command(subcommand)]
    pub command: Option<ScreenCommand>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Subcommand)]
pub enum ScreenCommand {
    /// Write the acceptance samples of a screening output as CSV for human review.
    Sample {
        /// The screening output directory.
        #[arg(long)]
        out: PathBuf,
        /// Where to write the CSV (default: OUT/sample.csv).
        #[arg(long)]
        csv: Option<PathBuf>,
    },
    /// Turn reviewed sample labels into a pass/fail verdict with its interval.
    Accept {
        /// The reviewed CSV (its `label` column: pass / fail).
        #[arg(long)]
        labels: PathBuf,
        /// Pass rate a batch needs.
        #[arg(long, default_value_t = 0.96)]
        threshold: f64,
        #[arg(long)]
        json: bool,
    },
    /// Where output directories stand: shards with files left to screen, files that failed.
    /// Exit status 0 when every shard finished and no file failed, 1 otherwise.
    Status {
        /// Screening output directories (each with its .done/ and .shards/).
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Combine the outputs of shards (one directory, or several) into one report.
    Merge {
        /// Shard output directories; the report goes into the first.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        #[arg(long, default_value_t = 0.05)]
        source_threshold: f64,
        #[arg(long, default_value_t = 0.96)]
        pass_threshold: f64,
    },
}

#[derive(Args)]
pub struct RunArgs {
    /// JSON Lines files (plain, .gz, .zst) or Parquet files, directories or glob patterns.
    pub inputs: Vec<String>,
    /// A policy pack: a directory holding policy.toml, or a built-in pack (`example`).
    #[arg(long)]
    pub policy: Option<String>,
    /// A keyword list (one term per line), alone or on top of --policy.
    #[arg(long)]
    pub keywords: Option<PathBuf>,
    /// A domain list (one per line) or a UT1 blacklist directory.
    #[arg(long)]
    pub domains: Option<PathBuf>,
    /// Where kept/, removed/, the markers and the report go.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, default_value = "text")]
    pub text_field: String,
    #[arg(long, default_value = "url")]
    pub url_field: String,
    /// Field naming a document's source (default: its URL's registered domain).
    #[arg(long)]
    pub source_field: Option<String>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Lines longer than this are bad input.
    #[arg(long, default_value_t = 16 << 20)]
    pub max_line_bytes: usize,
    /// Stop at the first bad line instead of counting it.
    #[arg(long)]
    pub strict: bool,
    /// Flag sources with more violating documents than this share.
    #[arg(long, default_value_t = 0.05)]
    pub source_threshold: f64,
    /// Move the kept documents of every flagged source to removed-sources/ (a second pass).
    #[arg(long)]
    pub drop_flagged_sources: bool,
    /// Documents sampled per batch for acceptance.
    #[arg(long, default_value_t = 400)]
    pub sample: usize,
    /// A batch is this many documents (default: one batch per file).
    #[arg(long)]
    pub batch_docs: Option<u64>,
    /// Sample pass rate a batch needs.
    #[arg(long, default_value_t = 0.96)]
    pub pass_threshold: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Screen only shard i of n of the inputs (`i/n`), or `auto` from Slurm / Kubernetes.
    #[arg(long)]
    pub shard: Option<String>,
    /// No progress line on stderr.
    #[arg(long)]
    pub quiet: bool,
    /// Screen again the files of OUT whose markers were left by another policy or other
    /// settings, or that changed since, and discard the markers of other settings (without it,
    /// such a rerun is refused: its report would mix old and new verdicts).
    #[arg(long)]
    pub force: bool,
}

pub fn screen(args: ScreenArgs) -> Result<()> {
    match args.command {
        Some(ScreenCommand::Sample { out, csv }) => {
            let summaries = assay_screen::read_markers(&out)?;
            let path = csv.unwrap_or_else(|| out.join("sample.csv"));
            let rows = report::write_sample_csv(&summaries, &path)?;
            eprintln!(
                "{rows} sampled documents written to {}; fill in the label column (pass/fail)",
                path.display()
            );
            Ok(())
        }
        Some(ScreenCommand::Accept {
            labels,
            threshold,
            json,
        }) => {
            let a = report::accept(&labels, threshold)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&a)?);
            } else {
                for b in &a.batches {
                    let rate = &b.rate;
                    println!(
                        "{}: {}/{} pass = {:.2}% [{:.2}–{:.2}] {}",
                        b.batch,
                        rate.k,
                        rate.n,
                        100.0 * rate.p,
                        100.0 * rate.lo,
                        100.0 * rate.hi,
                        if b.pass { "PASS" } else { "FAIL" }
                    );
                }
                println!(
                    "overall: {}/{} pass = {:.2}% [{:.2}–{:.2}] against {:.1}%: {}",
                    a.overall.k,
                    a.overall.n,
                    100.0 * a.overall.p,
                    100.0 * a.overall.lo,
                    100.0 * a.overall.hi,
                    100.0 * a.threshold,
                    if a.pass { "PASS" } else { "FAIL" }
                );
                if a.unlabelled > 0 {
                    eprintln!(
                        "warning: {} rows have no pass/fail label and were left out",
                        a.unlabelled
                    );
                }
            }
            if !a.pass {
                std::process::exit(1);
            }
            Ok(())
        }
        Some(ScreenCommand::Status { dirs, json }) => status(&dirs, json),
        Some(ScreenCommand::Merge {
            dirs,
            source_threshold,
            pass_threshold,
        }) => {
            let mut summaries = Vec::new();
            for dir in &dirs {
                summaries.extend(assay_screen::read_markers(dir)?);
            }
            summaries.sort_by(|a, b| a.input.cmp(&b.input));
            summaries.dedup_by(|a, b| a.input == b.input);
            assay_screen::check_same_settings(&dirs[0], &summaries)?;
            let r = report::build(
                assay_screen::merged_policy_name(&summaries),
                &summaries,
                source_threshold,
                pass_threshold,
            );
            report::write(&r, &dirs[0])?;
            print_summary(&r, &dirs[0]);
            Ok(())
        }
        None => run(args.run),
    }
}

/// `assay screen status DIR...`: one table of shards and one of failed files per directory,
/// or all of it as JSON (an array, one object per directory).
fn status(dirs: &[PathBuf], json: bool) -> Result<()> {
    use assay_core::table::TextTable;
    let mut all = Vec::new();
    for dir in dirs {
        all.push(assay_screen::status::status(dir)?);
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&all)?);
    } else {
        for s in &all {
            let unfinished: usize = s.shards.iter().map(|sh| sh.unfinished.len()).sum();
            println!(
                "{}: {} files screened, {} unfinished, {} failed: {}",
                s.dir.display(),
                s.done_files,
                unfinished,
                s.failed_files.len(),
                if s.complete {
                    "complete"
                } else {
                    "NOT complete"
                }
            );
            let mut shards = TextTable::new(
                &[
                    "shard",
                    "state",
                    "done",
                    "started",
                    "ended",
                    "unfinished files",
                ],
                &[false, false, true, false, false, false],
            );
            for sh in &s.shards {
                let files: Vec<String> = sh
                    .unfinished
                    .iter()
                    .map(|u| {
                        if u.partial_output {
                            format!("{} (partial output)", u.input)
                        } else {
                            u.input.clone()
                        }
                    })
                    .collect();
                let mut ended = sh.finished.clone().unwrap_or_default();
                if let Some(e) = &sh.error {
                    ended = format!("error: {e}");
                }
                shards.row(vec![
                    sh.shard.clone().unwrap_or_else(|| "all".into()),
                    sh.state.to_string(),
                    format!("{}/{}", sh.done, sh.files),
                    sh.started.clone(),
                    ended,
                    files.join(", "),
                ]);
            }
            if !shards.is_empty() {
                print!("{}", shards.render("  "));
            }
            let mut failed = TextTable::new(
                &["failed file", "line", "kind", "message"],
                &[false, true, false, false],
            );
            for f in &s.failed_files {
                failed.row(vec![
                    f.input.clone(),
                    f.line.map_or(String::new(), |l| l.to_string()),
                    f.kind.clone(),
                    f.message.clone(),
                ]);
            }
            if !failed.is_empty() {
                print!("{}", failed.render("  "));
            }
        }
    }
    if all.iter().any(|s| !s.complete) {
        std::process::exit(1);
    }
    Ok(())
}

fn load_policy(args: &RunArgs) -> Result<Policy> {
    if args.policy.is_none() && args.keywords.is_none() && args.domains.is_none() {
        bail!("give --policy PACK (e.g. --policy example), --keywords FILE or --domains FILE|DIR");
    }
    build_policy(
        args.policy.as_deref(),
        args.keywords.as_deref(),
        args.domains.as_deref(),
    )
}

/// The policy that `--policy PACK|NAME`, `--keywords FILE` (category `keywords`) and
/// `--domains FILE|DIR` (category `domains`, or UT1's categories) make together. Domain lists
/// of a megabyte or more are indexed once, and the index kept in `$ASSAY_HOME/domain-index`;
/// the matcher of a thousand terms or more in `$ASSAY_HOME/keyword-index`.
pub(crate) fn build_policy(
    policy: Option<&str>,
    keywords: Option<&Path>,
    domains: Option<&Path>,
) -> Result<Policy> {
    let mut builder = PolicyBuilder::new();
    if let Some(policy) = policy {
        builder
            .add_pack_or_builtin(policy)
            .with_context(|| format!("cannot load policy {policy}"))?;
    }
    if let Some(path) = keywords {
        let category = builder.category("keywords");
        builder.add_keyword_file(path, category)?;
    }
    if let Some(path) = domains {
        builder.add_domains_path(path, "domains")?;
    }
    let home = assay_core::assay_home();
    // A pack's UT1 trees as well as `--domains`.
    let domains = builder.index_domains(Some(&home.join("domain-index")))?;
    let (policy, keywords) = builder.build_kept(Some(&home.join("keyword-index")))?;
    // One warning: both fail for the same reason.
    let unkept = [("domain", domains), ("keyword", keywords)]
        .into_iter()
        .find_map(|(what, kept)| match kept {
            Some(IndexCache::NotWritten(file, e)) => Some((what, file, e)),
            _ => None,
        });
    if let Some((what, file, e)) = unkept {
        eprintln!(
            "warning: cannot keep the {what} index in {} ({e}); the next run builds it \
             again (set ASSAY_HOME to a writable directory)",
            file.display()
        );
    }
    Ok(policy)
}

/// What identifies a run's policy: a built-in pack by its name and assay's version; a pack
/// directory, keyword list or domain list by its files' names, sizes and modification times
/// (reading every byte of a large domain list on each run would cost more than it tells).
fn policy_fingerprint(args: &RunArgs) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut parts = Vec::new();
    if let Some(policy) = &args.policy {
        if Path::new(policy).exists() {
            parts.push(format!("policy\n{}", files_listing(Path::new(policy))?));
        } else {
            parts.push(format!("builtin {policy} {}", env!("CARGO_PKG_VERSION")));
        }
    }
    if let Some(path) = &args.keywords {
        parts.push(format!("keywords\n{}", files_listing(path)?));
    }
    if let Some(path) = &args.domains {
        parts.push(format!("domains\n{}", files_listing(path)?));
    }
    let digest = Sha256::digest(parts.join("\n").as_bytes());
    Ok(digest.iter().take(8).map(|b| format!("{b:02x}")).collect())
}

/// Every file under `path` (or `path` itself) with its size and modification time, sorted.
fn files_listing(path: &Path) -> Result<String> {
    let mut stack = vec![path.to_path_buf()];
    let mut files = Vec::new();
    while let Some(p) = stack.pop() {
        let meta = std::fs::metadata(&p).with_context(|| format!("cannot read {}", p.display()))?;
        if meta.is_dir() {
            let entries =
                std::fs::read_dir(&p).with_context(|| format!("cannot list {}", p.display()))?;
            for entry in entries {
                stack.push(entry?.path());
            }
        } else {
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            files.push(format!("{}\t{}\t{modified}", p.display(), meta.len()));
        }
    }
    files.sort();
    Ok(files.join("\n"))
}

fn run(args: RunArgs) -> Result<()> {
    if args.inputs.is_empty() {
        bail!("give the inputs to screen: JSON Lines files, directories or globs");
    }
    let Some(out) = args.out.clone() else {
        bail!("give --out DIR for the kept and removed documents and the report");
    };
    let policy = load_policy(&args)?;
    let shard = args
        .shard
        .as_deref()
        .map(assay_screen::parse_shard)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let config = ScreenConfig {
        inputs: args.inputs.clone(),
        out: out.clone(),
        fields: FieldNames {
            text: args.text_field.clone(),
            url: args.url_field.clone(),
            source: args.source_field.clone(),
        },
        threads: args
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        max_line_bytes: args.max_line_bytes,
        strict: args.strict,
        source_threshold: args.source_threshold,
        sample_size: args.sample,
        batch_docs: args.batch_docs,
        seed: args.seed,
        shard,
        progress: crate::progress::reporter(!args.quiet),
        policy_fingerprint: policy_fingerprint(&args)?,
        force: args.force,
    };
    // The report covers every finished file in OUT (all shards written there so far). It is
    // made while the last outputs are synced, and written once they are in place.
    let (summaries, made) = assay_screen::screen_then(&policy, &config, |summaries| {
        let all = assay_screen::all_summaries(&out, summaries)?;
        assay_screen::check_same_settings(&out, &all)?;
        let r = report::build(
            &policy.name,
            &all,
            args.source_threshold,
            args.pass_threshold,
        );
        let files = report::files(&r)?;
        Ok::<_, assay_screen::ScreenError>((all, r, files))
    })?;
    let (all, r, files) = made?;
    files.write(&out)?;
    if args.drop_flagged_sources {
        let flagged = r.sources_flagged.iter().map(|s| s.source.clone()).collect();
        let moved = assay_screen::drop_flagged_sources(&config, &summaries, &flagged)?;
        println!(
            "--drop-flagged-sources: {moved} kept documents of {} flagged sources moved to {}",
            r.sources_flagged.len(),
            out.join("removed-sources").display()
        );
    }
    if shard.is_some() {
        eprintln!("this shard screened {} files", summaries.len());
    }
    print_summary(&r, &out);
    // The process ends here: freeing the lists, summaries and report one allocation at a time
    // (and the allocator handing their pages back) took 6 ms of a 0.45 s screen.
    std::mem::forget((policy, summaries, all, r));
    Ok(())
}

fn print_summary(r: &report::Report, out: &std::path::Path) {
    println!(
        "{} files, {} documents, {}; removed {} = {:.2}% [{:.2}–{:.2}]; {} of {} sources over {:.1}%; bad input: {}",
        report::thousands(r.files),
        report::thousands(r.docs),
        report::human_bytes(r.bytes),
        report::thousands(r.removed.k),
        100.0 * r.removed.p,
        100.0 * r.removed.lo,
        100.0 * r.removed.hi,
        r.sources_flagged.len(),
        r.sources,
        100.0 * r.source_threshold,
        r.bad.values().sum::<u64>()
    );
    let failed = r.batches.iter().filter(|b| !b.pass).count();
    println!(
        "acceptance: {} of {} batches pass their sample at {:.1}%",
        r.batches.len() - failed,
        r.batches.len(),
        100.0 * r.pass_threshold
    );
    println!("report: {}", out.join("report.html").display());
}
