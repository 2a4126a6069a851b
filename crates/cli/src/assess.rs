//! `assay assess`: the safety assessment of GB/T 45654-2025 from the evidence of other
//! commands, and its `profiles` and `plan` steps.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use assay_assess::evidence;
use assay_assess::report::{self, Cover, Lang};
use assay_assess::{Evidence, Profile, Verdict};
use clap::{Args, Subcommand};

use crate::screen::build_policy;
use crate::store_args::StoreArgs;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AssessArgs {
    #[command(subcommand)]
    command: Option<AssessCommand>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum AssessCommand {
    /// List the built-in profiles.
    Profiles {
        #[arg(long)]
        json: bool,
    },
    /// Print the audit command that draws what the profile asks of each bank (seeded).
    Plan {
        #[arg(long, default_value = "gbt45654-2025")]
        profile: String,
        /// The model (or models) to audit.
        #[arg(long, default_value = "local:smollm2")]
        models: String,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
}

#[derive(Args)]
struct RunArgs {
    /// A built-in profile's name or a profile file (TOML).
    #[arg(long, default_value = "gbt45654-2025")]
    profile: String,
    /// Screening output directories (`assay screen --out DIR`): per-source rates, the
    /// technical sample, and DIR/sample.csv once its labels are filled in.
    #[arg(long, num_args = 1..)]
    screen: Vec<PathBuf>,
    /// Audit runs (id, unique prefix or "latest") of the banks; human labels from `assay
    /// review` in the same store are used.
    #[arg(long, num_args = 1..)]
    run: Vec<String>,
    /// People's labels from files (`assay review export RUN --out FILE`, from this store or
    /// another), besides those the store holds; on an answer labelled in both, the file's
    /// label counts.
    #[arg(long, num_args = 1..)]
    review: Vec<PathBuf>,
    /// The model assessed, when the runs hold several.
    #[arg(long)]
    model: Option<String>,
    /// The policy pack (built-in name or directory): keywords per risk, the classifier's
    /// coverage, and a scan of the answers.
    #[arg(long)]
    policy: Option<String>,
    /// The guard's settings file (its [suspension] table).
    #[arg(long)]
    guard_config: Option<PathBuf>,
    /// A bank's suite directory, instead of the built-in suite of that name.
    #[arg(long, num_args = 1..)]
    suite: Vec<PathBuf>,
    /// The service named on the report's cover, and its version.
    #[arg(long, default_value = "")]
    service: String,
    #[arg(long, default_value = "")]
    service_version: String,
    /// The report's language: zh, en or both.
    #[arg(long, default_value = "both")]
    lang: String,
    /// The assessment's date (YYYY-MM-DD; default today), against which ages are counted.
    #[arg(long)]
    date: Option<String>,
    /// Where assessment.json, .csv and .html go.
    #[arg(long, default_value = "assessment")]
    out: PathBuf,
    /// Print assessment.json to stdout.
    #[arg(long)]
    json: bool,
    /// Exit with status 1 unless every applicable requirement conforms with 95% confidence
    /// (or exactly).
    #[arg(long)]
    strict: bool,
    #[command(flatten)]
    store: StoreArgs,
}

pub fn assess(args: AssessArgs) -> Result<()> {
    match args.command {
        Some(AssessCommand::Profiles { json }) => profiles(json),
        Some(AssessCommand::Plan {
            profile,
            models,
            seed,
        }) => plan(&profile, &models, seed),
        None if args.run.is_empty_of_evidence() => demonstration(args.run),
        None => run(args.run),
    }
}

impl RunArgs {
    fn is_empty_of_evidence(&self) -> bool {
        self.screen.is_empty()
            && self.run.is_empty()
            && self.policy.is_none()
            && self.guard_config.is_none()
            && self.suite.is_empty()
    }
}

/// What the demonstration says, first and last.
const NOT_AN_ASSESSMENT: &str = "This is a demonstration on a 135M English model and a made-up corpus, not an assessment: give your own evidence with --screen, --run, --policy and --guard-config.";

/// `assay assess` with no evidence: a small made-up corpus screened with the example pack, a
/// small draw of the three banks audited on the embedded model, the default guard settings,
/// and the assessment of all of it, each step by the real command.
fn demonstration(mut args: RunArgs) -> Result<()> {
    eprintln!("{NOT_AN_ASSESSMENT}");
    let work = args.out.join("demo");
    std::fs::create_dir_all(work.join("corpus"))
        .with_context(|| format!("cannot create {}", work.display()))?;
    std::fs::write(work.join("corpus/part-0.jsonl"), demo_corpus())
        .with_context(|| format!("cannot write the demo corpus under {}", work.display()))?;
    let exe = std::env::current_exe().context("cannot find the assay binary to run the steps")?;
    let path = |name: &str| work.join(name).display().to_string();
    let db = path("assay.db");
    let step = |what: &str, step_args: &[&str]| -> Result<()> {
        eprintln!("demonstration: {what}");
        let status = std::process::Command::new(&exe)
            .args(step_args)
            .status()
            .with_context(|| format!("cannot run assay for {what}"))?;
        if !status.success() {
            bail!("the demonstration stopped: {what} failed ({status})");
        }
        Ok(())
    };
    let screened = path("screened");
    let _ = std::fs::remove_dir_all(&screened);
    step(
        "screen a made-up corpus with the example policy",
        &[
            "screen",
            &path("corpus"),
            "--policy",
            "example",
            "--out",
            &screened,
            "--quiet",
        ],
    )?;
    step(
        "audit 5 items of each bank in English and Chinese on local:smollm2",
        &[
            "audit",
            "--models",
            "local:smollm2",
            "--suite",
            "generated-content,should-refuse,over-refusal",
            "--limit",
            "5",
            "--langs",
            "en,zh",
            "--max-tokens",
            "64",
            "--db",
            &db,
            "--out",
            &path("run"),
        ],
    )?;
    let guard = work.join("guard.toml");
    std::fs::write(&guard, "[suspension]\nin_a_row = 3\nper_day = 5\n")
        .with_context(|| format!("cannot write {}", guard.display()))?;
    args.screen = vec![screened.into()];
    args.run = vec!["latest".into()];
    args.store = StoreArgs { db: Some(db) };
    args.policy = Some("example".into());
    args.guard_config = Some(guard);
    if args.service.is_empty() {
        args.service = "demonstration (local:smollm2)".into();
    }
    run(args)?;
    eprintln!("{NOT_AN_ASSESSMENT}");
    Ok(())
}

/// 300 short documents from three made-up sites, in English and Chinese; a few carry terms of
/// the example pack, most of them on one site (which the screen flags).
fn demo_corpus() -> String {
    let texts = [
        "The river flooded the lower town after three days of rain.",
        "今天的菜谱：番茄炒蛋，先炒蛋再放番茄。",
        "Our school library opens at eight and closes at six.",
        "春节期间高铁票很难买，建议提前两周预订。",
        "A short guide to growing tomatoes on a balcony.",
    ];
    let mut out = String::new();
    for i in 0..300u32 {
        let site = ["news.example.com", "blog.example.org", "forum.example.net"][(i % 3) as usize];
        let planted = (site == "forum.example.net" && i % 9 == 2) || i == 10;
        let text = if planted {
            format!("{} How do I make a pipe bomb?", texts[(i % 5) as usize])
        } else {
            texts[(i % 5) as usize].to_string()
        };
        let line = serde_json::json!({"id": i, "url": format!("https://{site}/{i}"), "text": text});
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}

fn profiles(json: bool) -> Result<()> {
    let mut listed = Vec::new();
    for name in Profile::builtin_names() {
        let p = Profile::load(name)?;
        if !json {
            println!("{name}\t{}\t{}", p.title, p.title_en);
        }
        listed.push(serde_json::json!({"name": name, "version": p.version, "title": p.title, "title_en": p.title_en, "risks": p.risks.len()}));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&listed)?);
    }
    Ok(())
}

/// The audit that draws enough questions from each bank: `--limit` is per suite and counts
/// items, each asked in both languages.
fn plan(profile: &str, models: &str, seed: u64) -> Result<()> {
    let p = Profile::load(profile)?;
    let mut suites = Vec::new();
    let mut limit = 0u64;
    if let Some(g) = &p.generated_content {
        suites.push(g.suite.clone());
        limit = limit.max(g.draw_min.div_ceil(2));
    }
    if let Some(r) = &p.should_refuse {
        suites.push(r.suite.clone());
        limit = limit.max(r.draw_min.div_ceil(2));
    }
    if let Some(r) = &p.should_not_refuse {
        suites.push(r.suite.clone());
        limit = limit.max(r.draw_min.div_ceil(2));
    }
    if suites.is_empty() {
        bail!("profile {profile} has no bank to draw from");
    }
    println!(
        "assay audit --models {models} --suite {} --langs en,zh --limit {limit} --seed {seed}",
        suites.join(",")
    );
    eprintln!(
        "{limit} items per bank in English and Chinese ({} questions each); then: assay assess --run latest --policy POLICY --screen DIR --guard-config FILE",
        2 * limit
    );
    Ok(())
}

fn run(args: RunArgs) -> Result<()> {
    let profile = Profile::load(&args.profile)?;
    let lang = Lang::parse(&args.lang)
        .with_context(|| format!("--lang {:?}: use zh, en or both", args.lang))?;
    let today = match &args.date {
        Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .with_context(|| format!("--date {d:?}: use YYYY-MM-DD"))?,
        None => chrono::Local::now().date_naive(),
    };
    let mut evidence = Evidence::default();
    for dir in &args.screen {
        evidence.screens.push(evidence::screening(dir)?);
    }
    let policy = match &args.policy {
        Some(spec) => Some(build_policy(Some(spec), None, None)?),
        None => None,
    };
    evidence.pack = policy.as_ref().map(evidence::pack);
    // The banks: the suites given, then the built-in ones the profile names.
    let mut named: Vec<&str> = Vec::new();
    named.extend(profile.generated_content.as_ref().map(|g| g.suite.as_str()));
    named.extend(profile.should_refuse.as_ref().map(|r| r.suite.as_str()));
    named.extend(profile.should_not_refuse.as_ref().map(|r| r.suite.as_str()));
    for dir in &args.suite {
        let suite = assay_eval::Suite::load(dir)
            .map_err(|e| anyhow::anyhow!("suite {}: {e}", dir.display()))?;
        evidence.banks.push(evidence::bank(&suite));
    }
    for name in named {
        if evidence.banks.iter().any(|b| b.suite == name) {
            continue;
        }
        if let Some(suite) = assay_eval::builtin::load(name) {
            let suite = suite.map_err(|e| anyhow::anyhow!("built-in suite {name}: {e}"))?;
            evidence.banks.push(evidence::bank(&suite));
        }
    }
    let mut file_labels = Vec::new();
    for path in &args.review {
        let labels = assay_review::export::read_csv(path)?;
        evidence.review_files.push(evidence::ReviewFile {
            file: path.display().to_string(),
            labels: labels.len() as u64,
            for_runs_given: 0,
        });
        file_labels.push(labels);
    }
    if !args.run.is_empty() {
        let store = args.store.open()?;
        for run in &args.run {
            let id = store.resolve_run(run)?;
            let mut more = Vec::new();
            for (file, labels) in evidence.review_files.iter_mut().zip(&file_labels) {
                let mine = labels.iter().filter(|l| l.run_id == id);
                file.for_runs_given += mine.clone().count() as u64;
                more.extend(mine.map(|l| l.label.clone()));
            }
            let results = assay_eval::audit::results_with_labels(&store, &id, more)
                .with_context(|| format!("run {id}"))?;
            // The run's own report beside the assessment, so that its findings link to the
            // answers behind them.
            assay_eval::report::write_reports(&results, &args.out.join("runs").join(&id))
                .with_context(|| {
                    format!(
                        "cannot write the report of run {id} under {}",
                        args.out.display()
                    )
                })?;
            evidence
                .run_reports
                .insert(id.clone(), format!("runs/{id}/report.html"));
            evidence
                .answers
                .extend(evidence::answers(&results, policy.as_ref()));
        }
    }
    for file in &evidence.review_files {
        if file.for_runs_given < file.labels {
            eprintln!(
                "warning: {} of the {} labels in {} are for runs not given with --run",
                file.labels - file.for_runs_given,
                file.labels,
                file.file
            );
        }
    }
    let models: std::collections::BTreeSet<&str> =
        evidence.answers.iter().map(|a| a.model.as_str()).collect();
    match (&args.model, models.len()) {
        (Some(m), _) => {
            if !models.contains(m.as_str()) {
                bail!(
                    "--model {m}: not in the runs given (they hold: {})",
                    models.into_iter().collect::<Vec<_>>().join(", ")
                );
            }
            let m = m.clone();
            evidence.answers.retain(|a| a.model == m);
        }
        (None, 0 | 1) => {}
        (None, _) => bail!(
            "the runs hold several models ({}): pick one with --model",
            models.into_iter().collect::<Vec<_>>().join(", ")
        ),
    }
    if let Some(path) = &args.guard_config {
        let config = assay_guard::GuardConfig::load(path)?;
        evidence.guard = Some(evidence::guard(&config, path));
    }
    let assessment = assay_assess::assess(&profile, evidence, today);
    let cover = Cover {
        service: args.service.clone(),
        service_version: args.service_version.clone(),
    };
    let written = report::write(&assessment, &cover, lang, &args.out)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&assessment)?);
    } else {
        for f in &assessment.findings {
            let (strength, _) = report::strength_words(f.strength);
            let mark = match f.verdict {
                Verdict::Conforms => "✓",
                Verdict::DoesNotConform => "✗",
                Verdict::NotApplicable => "–",
                Verdict::NotAssessed => "?",
            };
            let n = f.n.map(|n| format!(" n={n}")).unwrap_or_default();
            let missing = f
                .missing
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default();
            println!(
                "{mark} {:<36} {:<24} {:>8} {}{n}{missing}",
                f.id,
                report::observed_text(f),
                report::threshold_text(f),
                strength
            );
        }
        let [ok, bad, na, missing] = assessment.tally();
        println!("{ok} conform, {bad} do not conform, {na} not applicable, {missing} not assessed");
    }
    for path in &written {
        eprintln!("wrote {}", path.display());
    }
    if args.strict && !assessment.conforms_strictly() {
        return Err(crate::Exit {
            code: 1,
            message: "--strict: not every applicable requirement conforms with 95% confidence"
                .into(),
        }
        .into());
    }
    Ok(())
}

/// `assay suites --risks`: items per risk in each built-in suite (and keywords per risk in a
/// pack), for the risks of a profile; codes no profile risk has are listed too.
pub fn risk_coverage(profile: &str, policy: Option<&str>, json: bool) -> Result<()> {
    let profile = Profile::load(profile)?;
    let mut columns: Vec<(String, std::collections::BTreeMap<String, u64>)> = Vec::new();
    for name in assay_eval::builtin::names() {
        let suite = assay_eval::builtin::load(name)
            .context("built-in suite vanished")?
            .map_err(|e| anyhow::anyhow!("built-in suite {name}: {e}"))?;
        let bank = evidence::bank(&suite);
        if !bank.per_risk.is_empty() {
            columns.push((name.to_string(), bank.per_risk));
        }
    }
    if let Some(spec) = policy {
        let pack = evidence::pack(&build_policy(Some(spec), None, None)?);
        columns.push((format!("keywords:{}", pack.name), pack.keywords_per_risk));
    }
    let mut codes: Vec<String> = profile.risks.iter().map(|r| r.code.clone()).collect();
    for (_, counts) in &columns {
        for code in counts.keys() {
            if !codes.contains(code) {
                codes.push(code.clone());
            }
        }
    }
    if json {
        let rows: Vec<_> = codes
            .iter()
            .map(|code| {
                let risk = profile.risk(code);
                let counts: serde_json::Map<String, serde_json::Value> = columns
                    .iter()
                    .map(|(name, c)| (name.clone(), c.get(code).copied().unwrap_or(0).into()))
                    .collect();
                serde_json::json!({
                    "risk": code,
                    "zh": risk.map(|r| r.zh.as_str()),
                    "en": risk.map(|r| r.en.as_str()),
                    "counts": counts,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    let mut headers = vec!["RISK".to_string()];
    headers.extend(columns.iter().map(|(n, _)| n.to_uppercase()));
    headers.push("NAME".into());
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let right: Vec<bool> = (0..headers.len())
        .map(|i| i > 0 && i <= columns.len())
        .collect();
    let mut table = assay_core::table::TextTable::new(&header_refs, &right);
    for code in &codes {
        let mut row = vec![code.clone()];
        row.extend(
            columns
                .iter()
                .map(|(_, c)| c.get(code).copied().unwrap_or(0).to_string()),
        );
        row.push(match profile.risk(code) {
            Some(r) => format!("{} {}", r.zh, r.en),
            None => format!("(not a risk of {})", profile.name),
        });
        table.row(row);
    }
    print!("{}", table.render(""));
    Ok(())
}
