//! `assay grade refusal`: grade answers that already exist (a CSV or JSON Lines file). The
//! work is in `assay_eval::grade_file`.

use std::path::PathBuf;

use anyhow::Result;
use assay_eval::grade_file;
use clap::Args;

#[derive(Args)]
pub struct GradeRefusalArgs {
    /// CSV or JSONL file of answers (the audit's results.csv, `assay review export`'s CSV,
    /// XSTest's completions, ...).
    #[arg(long)]
    input: PathBuf,
    /// Column (CSV) or key (JSONL) holding the prompt, copied into the output and read by the
    /// grader (default: `prompt` where there is one).
    #[arg(long)]
    prompt_col: Option<String>,
    /// Column or key holding the answer (default: the first of completion, answer, response
    /// there is).
    #[arg(long)]
    response_col: Option<String>,
    /// Column or key holding human labels (comply/partial/refuse or XSTest's
    /// 1_full_compliance/2_full_refusal/3_partial_refusal): print agreement with them.
    #[arg(long)]
    labels: Option<String>,
    /// Also write each grade's confidence features (for bench/grader/train_confidence.py).
    #[arg(long, hide = true)]
    features: bool,
}

pub fn grade_refusal(args: GradeRefusalArgs) -> Result<()> {
    let columns = grade_file::Columns {
        prompt: args.prompt_col,
        response: args.response_col,
        labels: args.labels,
        features: args.features,
    };
    let stdout = std::io::stdout();
    let agreement = grade_file::grade_file(&args.input, &columns, &mut stdout.lock())?;
    if let Some(agreement) = agreement {
        eprintln!("{}", agreement.render());
    }
    Ok(())
}
