//! `assay import`: another data set (XSTest, CCP-sensitive-prompts, C-Eval/CMMLU subject files,
//! CMMLU's whole folder, any CSV/JSONL) as a suite directory. The work is in `assay_eval::import`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use assay_core::Language;
use assay_eval::{import, Suite};
use clap::{Args, ValueEnum};

#[derive(Clone, Copy, ValueEnum)]
pub enum ImportFormat {
    /// XSTest prompts or completions CSV.
    Xstest,
    /// promptfoo's CCP-sensitive-prompts CSV (prompt,subject).
    Ccp,
    /// C-Eval or CMMLU CSV (question, A-D, answer).
    Ceval,
    /// CMMLU's folder (test/ and dev/, 67 subjects) in one suite; --shots answered examples.
    Cmmlu,
    /// Any CSV/JSONL with --prompt-col (and optional --id-col, --category-col, ...).
    Generic,
}

#[derive(Args)]
pub struct ImportArgs {
    #[arg(long, value_enum)]
    format: ImportFormat,
    /// The file to import (for cmmlu: CMMLU's folder, or one subject's test CSV).
    input: PathBuf,
    /// Name of the new suite.
    #[arg(long)]
    name: String,
    /// Directory to write the suite into (suite.toml + items.jsonl).
    #[arg(long)]
    out: PathBuf,
    /// Generic format: column or key of the prompt.
    #[arg(long)]
    prompt_col: Option<String>,
    /// Generic format: column or key of a Chinese prompt.
    #[arg(long)]
    prompt_zh_col: Option<String>,
    #[arg(long)]
    id_col: Option<String>,
    #[arg(long)]
    category_col: Option<String>,
    /// Generic format: column whose values say whether to refuse (refuse/unsafe/1/true).
    #[arg(long)]
    expect_col: Option<String>,
    /// Generic format: column of risk codes (A.1c; several separated by commas), as `assay
    /// assess` profiles list them.
    #[arg(long)]
    risk_col: Option<String>,
    /// cmmlu: answered questions of the subject's dev/ file leading each prompt (0 to 5;
    /// CMMLU's leaderboard reports 5 and 0).
    #[arg(long)]
    shots: Option<usize>,
    /// Generic format: language of --prompt-col.
    #[arg(long, default_value = "en")]
    lang: String,
}

pub fn import(args: ImportArgs) -> Result<()> {
    if args.shots.is_some() && !matches!(args.format, ImportFormat::Cmmlu) {
        anyhow::bail!("--shots is for --format cmmlu (other formats have no examples to add)");
    }
    let format = match args.format {
        ImportFormat::Xstest => import::Format::XsTest,
        ImportFormat::Ccp => import::Format::CcpSensitive,
        ImportFormat::Ceval => import::Format::CEval,
        ImportFormat::Cmmlu => import::Format::Cmmlu {
            shots: args.shots.unwrap_or(import::MAX_SHOTS),
        },
        ImportFormat::Generic => import::Format::Generic(import::Mapping {
            id: args.id_col,
            prompt: args
                .prompt_col
                .context("--format generic needs --prompt-col")?,
            prompt_zh: args.prompt_zh_col,
            category: args.category_col,
            expect: args.expect_col,
            risks: args.risk_col,
            lang: Language::parse(&args.lang)
                .with_context(|| format!("--lang: unknown language {:?}", args.lang))?,
        }),
    };
    let suite = import::import(&args.input, &format, &args.name)?;
    import::write_suite(&suite, &args.out)
        .with_context(|| format!("cannot write the suite into {}", args.out.display()))?;
    println!(
        "{} items → {} (use: assay audit --suite {})",
        suite.items.len(),
        args.out.display(),
        args.out.display()
    );
    if suite.manifest.license != "see source" {
        eprintln!("licence: {} (in suite.toml)", suite.manifest.license);
    }
    for line in language_notes(&suite) {
        eprintln!("{line}");
    }
    Ok(())
}

/// A line for each language that some items (or all) have no prompt in: an audit asks those
/// items in the other language only, which a user would otherwise find out from the report.
fn language_notes(suite: &Suite) -> Vec<String> {
    let total = suite.items.len();
    let mut notes = Vec::new();
    for lang in Language::ALL {
        let with = suite
            .items
            .iter()
            .filter(|item| item.prompt.contains_key(&lang))
            .count();
        if with == 0 && total > 0 {
            notes.push(format!(
                "no {lang} prompts: `assay audit --langs {lang}` asks none of these items \
                 (give a column of {lang} prompts to ask them in {lang})"
            ));
        } else if with < total {
            notes.push(format!(
                "{lang} prompts: {with} of {total} items; the other {} are not asked in {lang}",
                total - with
            ));
        }
    }
    notes
}
