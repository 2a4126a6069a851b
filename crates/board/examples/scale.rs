//! bench/board: how long a board takes to build from a store of many runs.
//!
//! `cargo run --release -p assay-board --example scale -- --db PATH|URL [--runs 100]
//! [--models 20] [--answers 5000] [--days 365] [--period month|week] [--repeat 3]` fills the
//! store (when it has no runs yet) with RUNS finished runs of MODELS models, each run ANSWERS
//! answers (half multiple choice, half open questions, in English and Chinese, graded by the
//! real graders), dated evenly over DAYS days from 2026-01-01, then builds the board by PERIOD
//! REPEAT times and prints one JSON line: the sizes, the time to fill, and each build's seconds
//! (reading the runs and votes from the store included).

// The `assay` binary's allocator, so that this measures what `assay board` does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::BTreeMap;
use std::time::Instant;

use assay_core::Language;
use assay_eval::audit::{self, AuditConfig, JudgeWhen};
use assay_eval::{Category, Item, Kind, Manifest, Suite};
use assay_store::{AnswerRecord, RequestKey, RunStatus, Store};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_string())
}

/// The body of an answer, English and Chinese as a small model mixes them.
const REASONS: &str = "The passage says that the river trade grew after the new canal was \
    opened, and the second statement follows from that; the others contradict the dates given. \
    根据短文，运河开通以后河运贸易迅速增长，因此第二种说法成立，其余说法与文中给出的年代不符。";

fn suite(name: &str, kind: Kind, items: usize) -> Suite {
    let items = (0..items)
        .map(|i| {
            let prompt = BTreeMap::from([
                (
                    Language::En,
                    format!(
                        "Question {i} of {name}. Read the passage about the history of the \
                         region, its rivers and its trade routes, then answer: which of the \
                         statements below is true, and why?"
                    ),
                ),
                (
                    Language::Zh,
                    format!("{name} 第{i}题：阅读下面关于该地区历史、河流和商路的短文，然后回答：以下哪一项说法是正确的？为什么？"),
                ),
            ]);
            let choices = if kind == Kind::Mcq {
                let options: Vec<String> = ["one", "two", "three", "four"].map(String::from).into();
                BTreeMap::from([(Language::En, options.clone()), (Language::Zh, options)])
            } else {
                BTreeMap::new()
            };
            Item {
                id: format!("{name}-{i}"),
                category: "c".into(),
                kind,
                expect: (kind == Kind::Open).then_some(assay_eval::Expect::Answer),
                risks: Vec::new(),
                prompt,
                choices,
                answer: (kind == Kind::Mcq).then_some(i % 4),
                line: i + 1,
            }
        })
        .collect();
    Suite {
        manifest: Manifest {
            name: name.into(),
            version: "1".into(),
            license: "MIT".into(),
            description: String::new(),
            updated: None,
            categories: vec![Category {
                id: "c".into(),
                name: "C".into(),
                description: String::new(),
                groups: Vec::new(),
            }],
        },
        items,
    }
}

/// Dates run `r` of `runs` evenly over `days` days from 2026-01-01: the store has no way to
/// backdate a run, so this writes to the database itself.
fn backdate(
    db: &str,
    run: &str,
    r: usize,
    runs: usize,
    days: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let start = chrono::DateTime::parse_from_rfc3339("2026-01-01T09:00:00Z")?;
    let offset = chrono::Duration::minutes((days * 24 * 60 * r / runs.max(1)) as i64);
    let created_at = (start + offset)
        .to_utc()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    if db.starts_with("postgres") {
        let mut client = postgres::Client::connect(db, postgres::NoTls)?;
        client.execute(
            "UPDATE runs SET created_at = $1 WHERE id = $2",
            &[&created_at, &run],
        )?;
    } else {
        rusqlite::Connection::open(db)?.execute(
            "UPDATE runs SET created_at = ?1 WHERE id = ?2",
            [&created_at, run],
        )?;
    }
    Ok(())
}

fn fill(
    store: &Store,
    db: &str,
    runs: usize,
    models: usize,
    answers: usize,
    days: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    // Items per suite, so that models × 2 suites × items × 2 languages = answers.
    let items = (answers / (models * 4)).max(1);
    let suites = [
        suite("knowledge", Kind::Mcq, items),
        suite("open", Kind::Open, items),
    ];
    let names: Vec<String> = (0..models)
        .map(|m| format!("http://127.0.0.1:9/v1#model-{m:02}"))
        .collect();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    for r in 0..runs {
        let config = AuditConfig {
            models: names.clone(),
            langs: vec![Language::En, Language::Zh],
            samples: 1,
            seed: 0,
            limit: None,
            filter: Vec::new(),
            judge: None,
            judge_when: JudgeWhen::Uncertain,
            pairwise: None,
            temperature: 0.0,
            top_p: 1.0,
            max_tokens: 64,
        };
        let run = audit::create_run(store, &config, &suites)?;
        let rows = store.items(&run)?;
        for (m, model) in names.iter().enumerate() {
            // Each model has its own skill and its own refusal rate.
            let skill = 0.3 + 0.6 * m as f64 / models as f64;
            for item in &rows {
                // Answers as long as a small model's: a few hundred bytes to a kilobyte.
                let text = if item.kind == "mcq" {
                    let key = item.answer_key.clone().unwrap_or_default();
                    let chosen = if rng.gen_bool(skill) { key } else { "Z".into() };
                    format!("The answer is {chosen}. {REASONS}")
                } else if rng.gen_bool(skill / 2.0) {
                    format!("I'm sorry, but I can't help with that. {REASONS}")
                } else {
                    format!(
                        "Here is a direct answer with the facts you asked for. {REASONS} {REASONS}"
                    )
                };
                let request = serde_json::json!({
                    "model": model,
                    "messages": [{"role": "user", "content": item.prompt}],
                    "params": {"temperature": 0.0, "top_p": 1.0, "max_tokens": 512, "seed": 0},
                });
                let grades = audit::grade_answer(item, &text)?;
                store.record_answer(&AnswerRecord {
                    run_id: run.clone(),
                    key: RequestKey {
                        model: model.clone(),
                        suite: item.suite.clone(),
                        item_id: item.item_id.clone(),
                        lang: item.lang.clone(),
                        sample: 0,
                    },
                    seed: 0,
                    cache_key: format!("{run}-{m}-{}-{}", item.item_id, item.lang),
                    request,
                    text: Some(text),
                    error: None,
                    finish_reason: Some("stop".into()),
                    prompt_tokens: Some(20),
                    completion_tokens: Some(12),
                    latency_ms: Some(100),
                    cached: false,
                    started_at: assay_core::now_rfc3339(),
                    grades,
                })?;
            }
        }
        audit::finish_run(store, &run, RunStatus::Finished)?;
        backdate(db, &run, r, runs, days)?;
        eprintln!("run {}/{runs} stored", r + 1);
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let db = arg(&args, "--db", "");
    if db.is_empty() {
        return Err(
            "usage: scale --db PATH|URL [--runs N] [--models N] [--answers N] [--repeat N]".into(),
        );
    }
    let runs: usize = arg(&args, "--runs", "100").parse()?;
    let models: usize = arg(&args, "--models", "20").parse()?;
    let answers: usize = arg(&args, "--answers", "5000").parse()?;
    let repeat: usize = arg(&args, "--repeat", "3").parse()?;
    let days: usize = arg(&args, "--days", "365").parse()?;
    let period = match arg(&args, "--period", "month").as_str() {
        "week" => assay_board::Period::Week,
        _ => assay_board::Period::Month,
    };
    let store = Store::open_url(&db)?;
    let started = Instant::now();
    let existing = assay_eval::runs::run_headers(&store)?.len();
    if existing == 0 {
        fill(&store, &db, runs, models, answers, days)?;
    }
    let fill_s = started.elapsed().as_secs_f64();
    let mut builds = Vec::new();
    let mut shape = (0, 0, 0, 0);
    for _ in 0..repeat {
        let started = Instant::now();
        let (board, _) = assay_board::from_store(
            &store,
            None,
            &assay_board::Selection::Finished,
            &[],
            period,
            "now",
        )?;
        builds.push(started.elapsed().as_secs_f64());
        shape = (
            board.runs.len(),
            board.rows.len(),
            board.columns.len(),
            board.history.len(),
        );
    }
    println!(
        "{}",
        serde_json::json!({
            "db": if db.starts_with("postgres") { "postgres" } else { "sqlite" },
            "runs": shape.0, "models": shape.1, "columns": shape.2, "periods": shape.3,
            "answers_per_run": answers, "filled_now": existing == 0, "fill_s": fill_s,
            "build_s": builds,
        })
    );
    Ok(())
}
