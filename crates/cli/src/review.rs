//! `assay review`: people label a sample of a run's answers in the browser; `assay review
//! export` writes their labels as CSV. The work is in `assay-review`.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use assay_review::{Review, ReviewConfig};
use clap::{Args, Subcommand};

use crate::store_args::StoreArgs;

/// `assay review RUN [options]`, or `assay review export RUN --out FILE`.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ReviewArgs {
    #[command(subcommand)]
    pub command: Option<ReviewCommand>,
    #[command(flatten)]
    pub serve: ReviewServeArgs,
}

#[derive(Subcommand)]
pub enum ReviewCommand {
    /// Write the labels of a run as CSV (UTF-8 with BOM; skips left out), ready for
    /// `assay grade refusal --input FILE --response-col response --labels label`.
    Export(ExportArgs),
}

#[derive(Args)]
pub struct ReviewServeArgs {
    /// Run id, unique prefix, or "latest".
    #[arg(required = true)]
    pub run: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
    /// How many answers to sample (stratified by model × language × grader label).
    #[arg(long, default_value_t = 200)]
    pub sample: usize,
    /// Seed of the sample: the same run, size and seed give the same answers in the same order.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Sample without putting the grader's uncertain grades first.
    #[arg(long)]
    pub uniform: bool,
    /// Who labels (stored with each label; default: the user name, else "reviewer").
    #[arg(long, value_name = "NAME")]
    pub reviewer: Option<String>,
    /// Where to serve the page: a loopback address and port (the page has no login, so other
    /// addresses are refused); port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:8090", value_name = "ADDRESS:PORT")]
    pub listen: String,
}

#[derive(Args)]
pub struct ExportArgs {
    /// Run id, unique prefix, or "latest".
    pub run: String,
    /// The CSV file to write.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Only this reviewer's labels (default: everyone's).
    #[arg(long, value_name = "NAME")]
    pub reviewer: Option<String>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub async fn review(args: ReviewArgs) -> Result<()> {
    match args.command {
        Some(ReviewCommand::Export(args)) => export(args).await,
        None => serve(args.serve).await,
    }
}

/// The reviewer's name: `--reviewer`, else the user's login name, else "reviewer".
fn reviewer_name(given: Option<String>) -> Result<String> {
    if let Some(name) = given {
        let name = name.trim().to_string();
        if name.is_empty() {
            bail!("--reviewer is empty");
        }
        return Ok(name);
    }
    Ok(["USER", "LOGNAME", "USERNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .map(|v| v.trim().to_string())
        .find(|v| !v.is_empty())
        .unwrap_or_else(|| "reviewer".to_string()))
}

/// `--listen`: `IP:PORT` or `localhost:PORT`, refused unless the address is a loopback one.
fn listen_address(text: &str) -> Result<SocketAddr> {
    let text = text.trim();
    let address = match text.strip_prefix("localhost:") {
        Some(port) => port
            .parse::<u16>()
            .ok()
            .map(|port| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)),
        None => text.parse::<SocketAddr>().ok(),
    };
    let Some(address) = address else {
        bail!("--listen {text:?} is not an address and port such as 127.0.0.1:8090");
    };
    if !address.ip().is_loopback() {
        bail!(
            "--listen {address}: assay review serves only on a loopback address (127.0.0.1 or \
             [::1]); its page has no login, so anyone who could reach it could label as you"
        );
    }
    Ok(address)
}

async fn serve(args: ReviewServeArgs) -> Result<()> {
    let address = listen_address(&args.listen)?;
    let reviewer = reviewer_name(args.reviewer)?;
    let run = args.run.context("assay review needs a RUN")?;
    let store_args = args.store;
    let (sample, seed, uniform) = (args.sample, args.seed, args.uniform);
    // The store is synchronous: opened and read off the runtime's workers.
    let (review, state) = tokio::task::spawn_blocking(move || -> Result<_> {
        let store = store_args.open()?;
        let run_id = store.resolve_run(&run)?;
        let config = ReviewConfig {
            run_id,
            reviewer,
            sample,
            seed,
            uniform,
        };
        let review = Review::load(store, config)?;
        let state = review.state()?;
        Ok((review, state))
    })
    .await
    .context("loading the run failed")??;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    let local = listener.local_addr()?;
    let config = review.config();
    println!(
        "assay review: open http://{local}/ to label run {} as {} ({} of {} answers labelled; seed {}, {}; labels in {}; Ctrl-C stops)",
        config.run_id,
        config.reviewer,
        state.labelled,
        state.total,
        config.seed,
        if config.uniform { "uniform" } else { "uncertain first" },
        review.store().path().display(),
    );
    std::io::stdout().flush()?;
    let router = assay_review::router(review, assay_serve::AllowedHosts::new(local, &[]));
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    assay_review::serve(listener, router, shutdown)
        .await
        .context("review server failed")
}

async fn export(args: ExportArgs) -> Result<()> {
    let out = args.out.clone();
    let summary = tokio::task::spawn_blocking(move || -> Result<_> {
        let store = args.store.open()?;
        let run_id = store.resolve_run(&args.run)?;
        let summary =
            assay_review::export::export_csv(&store, &run_id, args.reviewer.as_deref(), &args.out)?;
        Ok((run_id, summary, args.json))
    })
    .await
    .context("the export failed")??;
    let (run_id, summary, json) = summary;
    if json {
        let value = serde_json::json!({
            "run": run_id,
            "out": out.display().to_string(),
            "rows": summary.rows,
            "labels": summary.labels,
            "agree": summary.agree,
            "reviewers": summary.reviewers,
            "skipped": summary.skipped,
            "superseded": summary.superseded,
        });
        println!("{value}");
    } else {
        let labels: Vec<String> = summary
            .labels
            .iter()
            .map(|(label, n)| format!("{n} {label}"))
            .collect();
        println!(
            "wrote {} labels of run {run_id} to {} ({}; the grader agrees on {}; {} skipped left out{})",
            summary.rows,
            out.display(),
            if labels.is_empty() { "none".to_string() } else { labels.join(", ") },
            summary.agree,
            summary.skipped,
            if summary.superseded > 0 {
                format!(
                    "; {} on answers since asked again left out",
                    summary.superseded
                )
            } else {
                String::new()
            },
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_addresses_are_served() {
        assert_eq!(
            listen_address("127.0.0.1:8090").unwrap().to_string(),
            "127.0.0.1:8090"
        );
        assert_eq!(
            listen_address("localhost:0").unwrap().to_string(),
            "127.0.0.1:0"
        );
        assert!(listen_address("[::1]:9000").is_ok());
        for refused in ["0.0.0.0:8090", "192.168.1.5:8090", "[::]:8090"] {
            let err = listen_address(refused).unwrap_err().to_string();
            assert!(err.contains("loopback"), "{err}");
        }
        for bad in ["8090", "localhost", "example.com:80", ""] {
            let err = listen_address(bad).unwrap_err().to_string();
            assert!(err.contains("not an address"), "{err}");
        }
    }

    #[test]
    fn the_reviewer_is_named_or_found() {
        assert_eq!(reviewer_name(Some(" ann ".into())).unwrap(), "ann");
        assert!(reviewer_name(Some("  ".into())).is_err());
        assert!(!reviewer_name(None).unwrap().is_empty());
    }
}
