//! Times the ratings pipeline at LMSYS scale: 2,000,000 synthetic battles over 150 models.
//!
//! `cargo run --release -p assay-arena --example ratings_bench [-- BATTLES MODELS ROUNDS THREADS]`
//!
//! Set `RATINGS_BENCH_NO_PARSE=1` to skip the JSON round trip (for profiling the fit).
//!
//! Prints the time to parse the battles from an in-memory JSON Lines export (with
//! `conv_metadata` style counts, as the LMSYS dump has), to aggregate them into pair counts, to
//! fit Bradley–Terry, to run the bootstrap (1000 rounds on all cores by default), and the
//! sandwich intervals. The goal is load + fit + bootstrap ≤ 2 s on 2 cores.

use std::time::Instant;

use assay_arena::battle::{parse_battles_json, write_jsonl, Battle, Style, Winner};
use assay_arena::bt::{fit, BtOptions, PairCounts};
use assay_arena::ci::{bootstrap, sandwich, Interval};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("arguments: BATTLES MODELS ROUNDS THREADS"))
        .collect();
    let n = args.first().copied().unwrap_or(2_000_000);
    let m = args.get(1).copied().unwrap_or(150);
    let rounds = args.get(2).copied().unwrap_or(1000);
    let threads = args.get(3).copied().unwrap_or(0);
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    println!(
        "{n} battles, {m} models, {rounds} bootstrap rounds, threads {} ({cores} cores)",
        if threads == 0 { cores } else { threads }
    );

    let battles = generate(n, m, 1);
    let (battles, parse) = if std::env::var_os("RATINGS_BENCH_NO_PARSE").is_some() {
        (battles, 0.0)
    } else {
        round_trip(battles)
    };

    let cpu_start = cpu_seconds();
    let t = Instant::now();
    let cpu = cpu_seconds();
    let counts = PairCounts::from_battles(&battles);
    let aggregate = t.elapsed().as_secs_f64();
    println!(
        "aggregate to pair counts:      {aggregate:7.3} s{}  ({} pairs)",
        cpu_note(cpu),
        counts.pairs.len()
    );

    let opts = BtOptions::default();
    let t = Instant::now();
    let scores = fit(&counts, &opts).expect("fit");
    let fit_s = t.elapsed().as_secs_f64();
    println!("Bradley–Terry fit (Newton):    {fit_s:7.3} s");

    let t = Instant::now();
    let cpu = cpu_seconds();
    let intervals = bootstrap(&counts, &opts, rounds, 0, threads).expect("bootstrap");
    let boot = t.elapsed().as_secs_f64();
    println!(
        "bootstrap, {rounds} rounds:        {boot:7.3} s{}",
        cpu_note(cpu)
    );
    let pipeline_cpu = cpu_note(cpu_start);

    let t = Instant::now();
    let sand = sandwich(&counts, &scores, &opts);
    let sand_s = t.elapsed().as_secs_f64();
    println!("sandwich intervals:            {sand_s:7.3} s");

    println!(
        "total aggregate + fit + bootstrap: {:.3} s{pipeline_cpu}; with parsing: {:.3} s",
        aggregate + fit_s + boot,
        parse + aggregate + fit_s + boot
    );
    let width = |v: &[Interval]| v.iter().map(|c| c.hi - c.lo).sum::<f64>() / v.len() as f64;
    println!(
        "mean 95% CI width: bootstrap {:.2}, sandwich {:.2} points",
        width(&intervals),
        width(&sand)
    );
}

/// This process's user + system CPU time, from /proc (Linux only), to tell the work done from
/// the wall time when other processes share the cores.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// `  (CPU x s)`: CPU time since `before`, summed over threads.
fn cpu_note(before: Option<f64>) -> String {
    match (cpu_seconds(), before) {
        (Some(now), Some(then)) => format!("  (CPU {:.2} s)", now - then),
        _ => String::new(),
    }
}

/// Writes the battles as our JSON Lines export (untimed) and parses them back (timed).
fn round_trip(battles: Vec<Battle>) -> (Vec<Battle>, f64) {
    let mut export = Vec::new();
    write_jsonl(&battles, &mut export).expect("write to memory");
    drop(battles);
    let export = String::from_utf8(export).expect("utf-8");
    println!(
        "{:.0} MB of JSON Lines in memory",
        export.len() as f64 / 1e6
    );
    let t = Instant::now();
    let cpu = cpu_seconds();
    let battles = parse_battles_json(&export, "memory").expect("parse");
    let parse = t.elapsed().as_secs_f64();
    println!(
        "parse JSON Lines from memory:  {parse:7.3} s{}",
        cpu_note(cpu)
    );
    (battles, parse)
}

/// Battles between random pairs of `m` models with scores spread around 1000, 20% ties, and
/// random style counts.
fn generate(n: usize, m: usize, seed: u64) -> Vec<Battle> {
    let mut rng = StdRng::seed_from_u64(seed);
    let names: Vec<String> = (0..m).map(|i| format!("model-{i:03}")).collect();
    let scores: Vec<f64> = (0..m)
        .map(|_| 1000.0 + rng.gen_range(-150.0..150.0))
        .collect();
    let style = |rng: &mut StdRng| Style {
        tokens: rng.gen_range(20..1500) as f64,
        headers: rng.gen_range(0..6) as f64,
        lists: rng.gen_range(0..12) as f64,
        bold: rng.gen_range(0..8) as f64,
    };
    (0..n)
        .map(|k| {
            let i = rng.gen_range(0..m);
            let mut j = rng.gen_range(0..m - 1);
            if j >= i {
                j += 1;
            }
            let p = 1.0 / (1.0 + 10f64.powf((scores[j] - scores[i]) / 400.0));
            let u: f64 = rng.gen();
            let winner = if u < 0.2 {
                if u < 0.06 {
                    Winner::TieBothBad
                } else {
                    Winner::Tie
                }
            } else if rng.gen::<f64>() < (p - 0.1) / 0.8 {
                Winner::ModelA
            } else {
                Winner::ModelB
            };
            let mut b = Battle::new(&names[i], &names[j], winner);
            b.language = Some(if k % 5 == 0 { "Chinese" } else { "English" }.to_string());
            b.tstamp = 1.7e9 + k as f64;
            b.style = Some((style(&mut rng), style(&mut rng)));
            b
        })
        .collect()
}
