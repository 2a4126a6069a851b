//! Tokens per second of one tokenizer over one text file, for `bench/tokens/run.sh`.
//!
//! ```sh
//! cargo build --release -p assay-tokens --example count
//! target/release/examples/count FILE TOKENIZER MODE
//! ```
//!
//! - `FILE`: UTF-8 text, one segment per line (each line is tokenized on its own, no special
//!   tokens; a final line break is not a segment).
//! - `TOKENIZER`: `tiktoken:NAME` (`cl100k_base`, `o200k_base`, `p50k_base`, `r50k_base`) or
//!   `hf:PATH` (a Hugging Face `tokenizer.json`).
//! - `MODE`:
//!   - `raw`: the library alone — a plain loop over the segments with
//!     `tiktoken_rs::CoreBPE::encode_ordinary` or `tokenizers::Tokenizer::encode(s, false)`,
//!     summing the lengths. No assay code is involved. As in `assay`, the tokenizer is loaded
//!     on the main thread and the loop runs on another one (`assay`'s on a rayon worker): which
//!     thread allocates what moved `tokenizers`' speed by 10-40 % here (allocation-heavy code;
//!     glibc's main arena behaves differently from a thread's), which would have skewed the
//!     comparison.
//!   - `assay`: the harness — `assay_tokens::measure` with the crate's `Tokenize` implementation
//!     (`assay_tokens::tiktoken::Tiktoken`, `assay_tokens::hf::HfTokenizer`), which counts the
//!     segments in parallel with rayon. Set `RAYON_NUM_THREADS=1` for one thread.
//!
//! Prints one JSON line: `{"impl", "mode", "tokenizer", "file", "threads", "segments",
//! "tokens", "bytes", "seconds", "tokens_per_s", "mb_per_s"}`. Only the counting is timed:
//! reading the file and loading the tokenizer (and one warm-up call) come before the clock
//! starts, in both modes.

use std::path::Path;
use std::time::Instant;

use assay_tokens::texts::Lang;
use assay_tokens::{Texts, Tokenize};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 3 || !matches!(args[2].as_str(), "raw" | "assay") {
        eprintln!("usage: count FILE tiktoken:NAME|hf:PATH raw|assay");
        std::process::exit(2);
    }
    let (file, spec, mode) = (&args[0], &args[1], &args[2]);
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| die(&format!("{file}: {e}")));
    let segments: Vec<String> = text.lines().map(str::to_string).collect();
    drop(text);
    let bytes: usize = segments.iter().map(String::len).sum();
    let segment_count = segments.len();

    let (tokens, seconds, threads) = match mode.as_str() {
        "raw" => raw(spec, &segments),
        _ => harness(spec, segments),
    };
    println!(
        "{{\"impl\":\"rust\",\"mode\":\"{mode}\",\"tokenizer\":{},\"file\":{},\"threads\":{threads},\"segments\":{segment_count},\"tokens\":{tokens},\"bytes\":{bytes},\"seconds\":{seconds:.6},\"tokens_per_s\":{:.1},\"mb_per_s\":{:.3}}}",
        serde_json::to_string(spec).unwrap(),
        serde_json::to_string(file).unwrap(),
        tokens as f64 / seconds,
        bytes as f64 / 1e6 / seconds,
    );
}

/// The library alone, one thread: (tokens, seconds, threads).
fn raw(spec: &str, segments: &[String]) -> (u64, f64, usize) {
    if let Some(name) = spec.strip_prefix("tiktoken:") {
        let bpe = match name {
            "cl100k_base" => tiktoken_rs::cl100k_base_singleton(),
            "o200k_base" => tiktoken_rs::o200k_base_singleton(),
            "p50k_base" => tiktoken_rs::p50k_base_singleton(),
            "r50k_base" => tiktoken_rs::r50k_base_singleton(),
            other => die(&format!("tiktoken:{other}: unknown vocabulary")),
        };
        bpe.encode_ordinary("warm up");
        timed_on_a_thread(|| {
            let mut tokens = 0u64;
            for s in segments {
                tokens += bpe.encode_ordinary(s).len() as u64;
            }
            tokens
        })
    } else if let Some(path) = spec.strip_prefix("hf:") {
        let tok =
            tokenizers::Tokenizer::from_file(path).unwrap_or_else(|e| die(&format!("{path}: {e}")));
        tok.encode("warm up", false).unwrap();
        timed_on_a_thread(|| {
            let mut tokens = 0u64;
            for s in segments {
                let encoding = tok
                    .encode(s.as_str(), false)
                    .unwrap_or_else(|e| die(&e.to_string()));
                tokens += encoding.len() as u64;
            }
            tokens
        })
    } else {
        die(&format!("{spec}: use tiktoken:NAME or hf:PATH"))
    }
}

/// Runs `count` on one spawned thread: (tokens, seconds, 1).
fn timed_on_a_thread(count: impl FnOnce() -> u64 + Send) -> (u64, f64, usize) {
    let start = Instant::now();
    let tokens = std::thread::scope(|scope| scope.spawn(count).join())
        .unwrap_or_else(|_| die("the raw loop panicked"));
    (tokens, start.elapsed().as_secs_f64(), 1)
}

/// The harness: `assay_tokens::measure` over one language: (tokens, seconds, rayon threads).
fn harness(spec: &str, segments: Vec<String>) -> (u64, f64, usize) {
    let tokenizer: Box<dyn Tokenize> = if let Some(name) = spec.strip_prefix("tiktoken:") {
        Box::new(
            assay_tokens::tiktoken::Tiktoken::new(name).unwrap_or_else(|e| die(&e.to_string())),
        )
    } else if let Some(path) = spec.strip_prefix("hf:") {
        Box::new(
            assay_tokens::hf::HfTokenizer::load(spec, Path::new(path))
                .unwrap_or_else(|e| die(&e.to_string())),
        )
    } else {
        die(&format!("{spec}: use tiktoken:NAME or hf:PATH"))
    };
    tokenizer
        .count("warm up")
        .unwrap_or_else(|e| die(&e.to_string()));
    let texts = Texts {
        source: "bench".into(),
        langs: vec![Lang {
            code: "x".into(),
            segments,
        }],
    };
    // Start rayon's global pool before the clock, as a long-running caller would have it.
    let threads = rayon::current_num_threads();
    let start = Instant::now();
    let counts = assay_tokens::measure(tokenizer.as_ref(), &texts, false, &[])
        .unwrap_or_else(|e| die(&e.to_string()));
    let seconds = start.elapsed().as_secs_f64();
    let tokens = counts.per_lang.iter().flatten().sum();
    (tokens, seconds, threads)
}

fn die(message: &str) -> ! {
    eprintln!("count: {message}");
    std::process::exit(1)
}
