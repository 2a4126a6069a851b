//! Generation throughput of `assay serve` against raw `llama-cpp-2` on the same GGUF.
//!
//! Goal (a): `assay serve` with one stream generates at least 0.95x the tokens/s of a plain
//! llama-cpp-2 loop in this process (same prompt tokens, greedy sampling, same `max_tokens`,
//! same thread count). Goal (b): four concurrent streams against `assay serve` generate at least
//! 1.5x the aggregate tokens/s of one stream.
//!
//! The raw loop is deliberately independent of assay's engine: it renders SmolLM2's chat
//! template by hand, tokenizes like the server (`add_special=false, parse_special=true`),
//! decodes the prompt in one batch, then samples greedily and decodes one token per step.
//! Raw and server runs are interleaved so that slow drift of the machine hits both alike.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use futures::StreamExt;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use serde_json::{json, Value};

const DEFAULT_PROMPT: &str =
    "Write a detailed story about a lighthouse keeper who finds a mysterious map.";
/// The system message SmolLM2's chat template adds when a conversation has none.
const SMOLLM2_SYSTEM: &str = "You are a helpful AI assistant named SmolLM, trained by Hugging Face";
const MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// Raw-mode context: one sequence, like one slot of `assay serve` (`--context 2048`).
const RAW_N_CTX: u32 = 2048;
/// Tokens per forward pass at most, as in assay's engine.
const RAW_N_BATCH: u32 = 512;
/// How long `assay serve` may take to load the model and print its address.
const SERVER_START_TIMEOUT: Duration = Duration::from_secs(180);

#[derive(Parser)]
#[command(
    name = "throughput",
    about = "Generation throughput: `assay serve` vs raw llama-cpp-2, and N streams vs 1."
)]
struct Args {
    /// GGUF for the raw llama-cpp-2 runs [default: $ASSAY_HOME/models/SmolLM2-135M-Instruct.Q4_1.gguf,
    /// $ASSAY_HOME defaulting to ~/.cache/assay]. Must be the file `--serve-model` resolves to.
    #[arg(long)]
    gguf: Option<PathBuf>,
    /// The `assay` binary to benchmark (build it with `cargo build --release -p assay-cli`).
    #[arg(long, default_value = "target/release/assay")]
    assay: PathBuf,
    /// Model argument for `assay serve --model`.
    #[arg(long, default_value = "local:smollm2")]
    serve_model: String,
    /// CPU threads for llama.cpp, in both raw mode and `assay serve --threads`.
    #[arg(long, default_value_t = default_threads())]
    threads: usize,
    /// Largest number of tokens to generate per request.
    #[arg(long, default_value_t = 256)]
    max_tokens: u32,
    /// Repetitions of every measurement; medians are reported.
    #[arg(long, default_value_t = 5)]
    reps: usize,
    /// Concurrent streams for goal (b).
    #[arg(long, default_value_t = 4)]
    streams: usize,
    /// `assay serve --slots`.
    #[arg(long, default_value_t = 4)]
    slots: usize,
    /// Extra argument for `assay serve` (repeatable), e.g. `--serve-arg=--deterministic`.
    #[arg(long = "serve-arg", value_name = "ARG", allow_hyphen_values = true)]
    serve_args: Vec<String>,
    /// The user message (a prompt that makes the model write at length).
    #[arg(long, default_value = DEFAULT_PROMPT)]
    prompt: String,
    /// Print the generated texts of the first repetition to stderr.
    #[arg(long)]
    show_text: bool,
    /// Skip the diagnostic raw runs (1 stream and `--streams` streams batched on a context
    /// shaped like the engine's: `n_ctx` 2048 x `--slots`, `n_seq_max` `--slots`).
    #[arg(long)]
    skip_diagnostics: bool,
    /// Diagnostics only: give the engine-shaped raw context a unified KV cache (one buffer
    /// shared by all sequences) instead of llama.cpp's default of one stream per sequence.
    #[arg(long)]
    diag_kv_unified: bool,
}

fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

fn default_gguf() -> PathBuf {
    let home = std::env::var_os("ASSAY_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let user = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
            user.join(".cache").join("assay")
        });
    home.join("models").join(MODEL_FILE)
}

/// One measured generation (or, for the concurrent case, one stream of it).
#[derive(Debug, Clone)]
struct Run {
    prompt_tokens: u32,
    completion_tokens: u32,
    elapsed: Duration,
    /// Time to the first generated token (raw) or first content chunk (server).
    first_token: Option<Duration>,
    text: String,
}

impl Run {
    fn tokens_per_s(&self) -> f64 {
        f64::from(self.completion_tokens) / self.elapsed.as_secs_f64()
    }
}

/// One concurrent measurement: every stream, and the wall time from first send to last `[DONE]`.
struct Concurrent {
    streams: Vec<Run>,
    wall: Duration,
}

impl Concurrent {
    fn tokens(&self) -> u32 {
        self.streams.iter().map(|r| r.completion_tokens).sum()
    }
    fn tokens_per_s(&self) -> f64 {
        f64::from(self.tokens()) / self.wall.as_secs_f64()
    }
}

// ---------------------------------------------------------------------------------------------
// Raw llama-cpp-2

/// The prompt text SmolLM2's chat template renders for one user message (with the default
/// system message and the assistant turn opened).
fn smollm2_prompt(user: &str) -> String {
    format!(
        "<|im_start|>system\n{SMOLLM2_SYSTEM}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
    )
}

struct Raw<'m> {
    model: &'m LlamaModel,
    context: LlamaContext<'m>,
    /// Sequences the context holds (`n_seq_max`); its `n_ctx` is `RAW_N_CTX` per sequence.
    seqs: usize,
    prompt: Vec<LlamaToken>,
    batch: LlamaBatch<'static>,
}

impl<'m> Raw<'m> {
    /// A context for `seqs` sequences of `RAW_N_CTX` tokens each. `seqs = 1` is the plain
    /// single-stream setup of goal (a); `seqs = --slots` has the shape of assay's engine context.
    fn new(
        backend: &LlamaBackend,
        model: &'m LlamaModel,
        threads: usize,
        seqs: usize,
        kv_unified: bool,
        user: &str,
    ) -> Result<Raw<'m>> {
        let threads = i32::try_from(threads).context("--threads is too large")?;
        let n_seq = u32::try_from(seqs).context("too many sequences")?;
        let n_ctx = RAW_N_CTX
            .checked_mul(n_seq)
            .context("context size overflows")?;
        let mut params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(n_ctx))
            .with_n_batch(RAW_N_BATCH)
            .with_n_ubatch(RAW_N_BATCH)
            .with_n_threads(threads)
            .with_n_threads_batch(threads);
        if seqs > 1 {
            params = params.with_n_seq_max(n_seq);
        }
        if kv_unified {
            params = params.with_kv_unified(true);
        }
        let context = model
            .new_context(backend, params)
            .context("cannot create a llama.cpp context")?;
        let text = smollm2_prompt(user);
        // What assay's engine does with a rendered GGUF template: the template writes every
        // special token itself, so none are added, but `<|im_start|>` etc. are parsed.
        let prompt = model.vocab().tokenize(text.as_bytes(), false, true);
        if prompt.is_empty() {
            bail!("the prompt tokenizes to nothing");
        }
        if prompt.len() * seqs > RAW_N_BATCH as usize || prompt.len() >= RAW_N_CTX as usize {
            bail!(
                "the prompt is {} tokens; raw mode decodes {seqs} copies of it in one batch of at \
                 most {RAW_N_BATCH} tokens",
                prompt.len()
            );
        }
        Ok(Raw {
            model,
            context,
            seqs,
            prompt,
            batch: LlamaBatch::new(RAW_N_BATCH as usize, 1),
        })
    }

    /// One stream: prefill, then greedy generation of up to `max_tokens` tokens, one decode per
    /// token, timed from the start of the prompt decode to the last sampled token.
    fn generate(&mut self, max_tokens: u32) -> Result<Run> {
        let (mut runs, _) = self.generate_batched(1, max_tokens)?;
        runs.pop().context("no run")
    }

    /// `n` identical streams decoded together, the way a continuous-batching server does when
    /// they arrive at once: all prompts in one batch, then one token of every unfinished stream
    /// per decode. Returns every stream (timed from the common start) and the total wall time.
    fn generate_batched(&mut self, n: usize, max_tokens: u32) -> Result<(Vec<Run>, Duration)> {
        if n == 0 || n > self.seqs {
            bail!("{n} streams on a context of {} sequences", self.seqs);
        }
        let vocab = self.model.vocab();
        self.context.clear_kv_cache();

        struct Stream {
            sampler: LlamaSampler,
            bytes: Vec<u8>,
            generated: u32,
            first_token: Option<Duration>,
            elapsed: Option<Duration>,
            logits_at: i32,
            next: Option<LlamaToken>,
        }
        let mut streams: Vec<Stream> = (0..n)
            .map(|_| Stream {
                sampler: LlamaSampler::greedy(),
                bytes: Vec::new(),
                generated: 0,
                first_token: None,
                elapsed: None,
                logits_at: 0,
                next: None,
            })
            .collect();

        let start = Instant::now();
        self.batch.clear();
        let last = self.prompt.len() - 1;
        for (seq, stream) in streams.iter_mut().enumerate() {
            let seq_id = i32::try_from(seq).context("sequence id")?;
            for (i, &token) in self.prompt.iter().enumerate() {
                let pos = i32::try_from(i).context("prompt position")?;
                self.batch
                    .add(token, pos, &[seq_id], i == last)
                    .context("cannot add the prompt to the batch")?;
            }
            stream.logits_at = self.batch.n_tokens() - 1;
        }
        self.context
            .decode(&mut self.batch)
            .context("prompt decode failed")?;
        let mut n_past = self.prompt.len();
        loop {
            for stream in streams.iter_mut().filter(|s| s.elapsed.is_none()) {
                let token = stream.sampler.sample(&self.context, stream.logits_at);
                stream.first_token.get_or_insert_with(|| start.elapsed());
                if vocab.is_eog(token) {
                    stream.elapsed = Some(start.elapsed());
                    continue;
                }
                stream.generated += 1;
                stream
                    .bytes
                    .extend(vocab.token_to_piece(token, false, None));
                // Same end conditions as assay's engine: no decode for the final token.
                if stream.generated >= max_tokens || n_past + 1 > RAW_N_CTX as usize {
                    stream.elapsed = Some(start.elapsed());
                    continue;
                }
                stream.next = Some(token);
            }
            self.batch.clear();
            let pos = i32::try_from(n_past).context("token position")?;
            for (seq, stream) in streams.iter_mut().enumerate() {
                if let Some(token) = stream.next.take() {
                    let seq_id = i32::try_from(seq).context("sequence id")?;
                    self.batch
                        .add(token, pos, &[seq_id], true)
                        .context("cannot add a token to the batch")?;
                    stream.logits_at = self.batch.n_tokens() - 1;
                }
            }
            if self.batch.n_tokens() == 0 {
                break;
            }
            self.context
                .decode(&mut self.batch)
                .context("token decode failed")?;
            n_past += 1;
        }
        let wall = start.elapsed();
        let prompt_tokens = u32::try_from(self.prompt.len()).context("prompt length")?;
        let runs = streams
            .into_iter()
            .map(|s| Run {
                prompt_tokens,
                completion_tokens: s.generated,
                elapsed: s.elapsed.unwrap_or(wall),
                first_token: s.first_token,
                text: String::from_utf8_lossy(&s.bytes).into_owned(),
            })
            .collect();
        Ok((runs, wall))
    }
}

// ---------------------------------------------------------------------------------------------
// assay serve

/// A running `assay serve`, killed when dropped (also when the benchmark fails).
struct Server {
    child: Child,
    /// e.g. `http://127.0.0.1:40123/v1`
    base: String,
}

impl Server {
    fn start(args: &Args) -> Result<Server> {
        let mut child = Command::new(&args.assay)
            .args(["serve", "--model", &args.serve_model])
            .args(["--host", "127.0.0.1", "--port", "0"])
            .args(["--threads", &args.threads.to_string()])
            .args(["--slots", &args.slots.to_string()])
            .args(&args.serve_args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {}", args.assay.display()))?;
        // From here on, `server` kills the child on every error path.
        let stdout = child.stdout.take();
        let mut server = Server {
            child,
            base: String::new(),
        };
        let stdout = stdout.context("the server's stdout is not piped")?;
        let (line_tx, line_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let first = reader.read_line(&mut line).map(|_| line);
            let _ = line_tx.send(first);
            // Keep draining so the server never writes into a closed pipe.
            let mut rest = String::new();
            while reader.read_line(&mut rest).is_ok_and(|n| n > 0) {
                rest.clear();
            }
        });
        let line = line_rx
            .recv_timeout(SERVER_START_TIMEOUT)
            .context("assay serve did not print its address in time")?
            .context("cannot read the server's stdout")?;
        if line.is_empty() {
            // Its stdout closed: it is exiting. Give it a moment to be reaped for the status.
            let mut status = None;
            for _ in 0..20 {
                status = server.child.try_wait().ok().flatten();
                if status.is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let status = status.map_or_else(|| "still running".to_string(), |s| s.to_string());
            bail!("assay serve exited before listening ({status}); see its stderr above");
        }
        server.base = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .with_context(|| format!("no http:// address in the server's first line {line:?}"))?
            .to_string();
        Ok(server)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Client {
    http: reqwest::Client,
    url: String,
    body: Value,
}

impl Client {
    fn new(server: &Server, args: &Args) -> Result<Client> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(args.streams.max(1) * 2)
            .build()
            .context("cannot build the HTTP client")?;
        let model = args
            .serve_model
            .strip_prefix("local:")
            .unwrap_or(&args.serve_model);
        let body = json!({
            "model": model,
            "messages": [{"role": "user", "content": args.prompt}],
            "temperature": 0,
            "max_tokens": args.max_tokens,
            "stream": true,
            "stream_options": {"include_usage": true},
        });
        Ok(Client {
            http,
            url: format!("{}/chat/completions", server.base),
            body,
        })
    }

    /// One streamed request, timed from send to `[DONE]`.
    async fn stream_once(&self) -> Result<Run> {
        let start = Instant::now();
        let response = self
            .http
            .post(&self.url)
            .json(&self.body)
            .send()
            .await
            .with_context(|| format!("POST {} failed", self.url))?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            bail!("POST {} answered {status}: {body}", self.url);
        }
        let mut body = response.bytes_stream();
        let mut pending: Vec<u8> = Vec::new();
        let mut text = String::new();
        let mut first_token = None;
        let mut usage: Option<(u32, u32)> = None;
        let mut done = false;
        'read: while let Some(chunk) = body.next().await {
            let chunk = chunk.context("reading the SSE stream failed")?;
            pending.extend_from_slice(&chunk);
            while let Some(newline) = pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = pending.drain(..=newline).collect();
                let line = std::str::from_utf8(&line).context("an SSE line is not UTF-8")?;
                let Some(data) = line.trim().strip_prefix("data:") else {
                    continue;
                };
                let data = data.trim();
                if data == "[DONE]" {
                    done = true;
                    break 'read;
                }
                let event: Value = serde_json::from_str(data)
                    .with_context(|| format!("an SSE event is not JSON: {data:?}"))?;
                if let Some(error) = event.get("error") {
                    bail!("the server sent an error mid-stream: {error}");
                }
                if let Some(content) = event
                    .pointer("/choices/0/delta/content")
                    .and_then(Value::as_str)
                    .filter(|c| !c.is_empty())
                {
                    first_token.get_or_insert_with(|| start.elapsed());
                    text.push_str(content);
                }
                if let Some(u) = event.get("usage").filter(|u| !u.is_null()) {
                    let field = |name: &str| -> Result<u32> {
                        let n = u
                            .get(name)
                            .and_then(Value::as_u64)
                            .with_context(|| format!("usage chunk without {name}: {u}"))?;
                        u32::try_from(n).with_context(|| format!("{name} {n} is too large"))
                    };
                    usage = Some((field("prompt_tokens")?, field("completion_tokens")?));
                }
            }
        }
        let elapsed = start.elapsed();
        if !done {
            bail!("the SSE stream ended without [DONE]");
        }
        let (prompt_tokens, completion_tokens) =
            usage.context("the stream had no usage chunk (stream_options.include_usage)")?;
        Ok(Run {
            prompt_tokens,
            completion_tokens,
            elapsed,
            first_token,
            text,
        })
    }

    /// `n` streams sent at once; wall time from the first send to the last `[DONE]`.
    async fn concurrent(&self, n: usize) -> Result<Concurrent> {
        let start = Instant::now();
        let results = futures::future::join_all((0..n).map(|_| self.stream_once())).await;
        let wall = start.elapsed();
        let streams = results.into_iter().collect::<Result<Vec<_>>>()?;
        Ok(Concurrent { streams, wall })
    }
}

// ---------------------------------------------------------------------------------------------
// CPU accounting (Linux /proc; diagnostics only, absent elsewhere)

/// Seconds of CPU (user + system, all threads) a process has used so far.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat).map(|(_, seconds)| seconds)
}

/// The command (thread) name and CPU seconds in a `/proc/.../stat` line.
fn parse_stat(stat: &str) -> Option<(String, f64)> {
    let name = stat.get(stat.find('(')? + 1..stat.rfind(')')?)?.to_string();
    // Fields after the parenthesised name; utime and stime are fields 14 and 15 of the line.
    let after = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((name, (utime + stime) / clock_ticks()))
}

/// CPU seconds of a process's live threads, summed by thread name (`assay-llama` is the
/// engine thread and, by inheritance, llama.cpp's worker threads; `tokio-rt-worker` the
/// async workers that run HTTP and SSE).
fn thread_cpu(pid: &str) -> Option<BTreeMap<String, f64>> {
    let mut out = BTreeMap::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let Ok(task) = task else { continue };
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        if let Some((name, seconds)) = parse_stat(&stat) {
            *out.entry(name).or_insert(0.0) += seconds;
        }
    }
    Some(out)
}

fn thread_cpu_delta(
    before: Option<BTreeMap<String, f64>>,
    after: Option<BTreeMap<String, f64>>,
) -> Option<BTreeMap<String, f64>> {
    let (before, mut after) = (before?, after?);
    for (name, seconds) in after.iter_mut() {
        *seconds -= before.get(name).copied().unwrap_or(0.0);
    }
    Some(after)
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// CPU seconds used by this process and by the server during `f`.
struct Cpu {
    bench: Option<f64>,
    server: Option<f64>,
    server_threads: Option<BTreeMap<String, f64>>,
    /// CPU seconds used by every other process on the machine (competing load).
    others: Option<f64>,
    /// CPU seconds the hypervisor gave to someone else.
    steal: Option<f64>,
    wall: Duration,
}

impl Cpu {
    /// Cores used by other processes and stolen by the hypervisor, on average.
    fn interference(&self) -> (f64, f64) {
        let per_s = |x: Option<f64>| x.map_or(f64::NAN, |x| x / self.wall.as_secs_f64());
        (per_s(self.others), per_s(self.steal))
    }

    fn describe(&self) -> String {
        let (others, steal) = self.interference();
        format!("(other processes {others:.2} cores, steal {steal:.2})")
    }
}

/// Busy and stolen CPU seconds of the whole machine so far (`/proc/stat`).
fn system_cpu() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal ...
    let field = |i: usize| ticks.get(i).copied().unwrap_or(0.0);
    let busy = field(0) + field(1) + field(2) + field(5) + field(6);
    Some((busy / clock_ticks(), field(7) / clock_ticks()))
}

fn measure_cpu<T>(server_pid: &str, f: impl FnOnce() -> Result<T>) -> Result<(T, Cpu)> {
    let system0 = system_cpu();
    let bench0 = cpu_seconds("self");
    let server0 = cpu_seconds(server_pid);
    let threads0 = thread_cpu(server_pid);
    let start = Instant::now();
    let out = f()?;
    let wall = start.elapsed();
    let bench = bench0.zip(cpu_seconds("self")).map(|(a, b)| b - a);
    let server = server0.zip(cpu_seconds(server_pid)).map(|(a, b)| b - a);
    let server_threads = thread_cpu_delta(threads0, thread_cpu(server_pid));
    let system = system0
        .zip(system_cpu())
        .map(|((busy0, steal0), (busy1, steal1))| (busy1 - busy0, steal1 - steal0));
    let others = system
        .zip(bench)
        .map(|((busy, _), bench)| (busy - bench - server.unwrap_or(0.0)).max(0.0));
    Ok((
        out,
        Cpu {
            bench,
            server,
            server_threads,
            others,
            steal: system.map(|(_, steal)| steal),
            wall,
        },
    ))
}

// ---------------------------------------------------------------------------------------------
// Reporting

fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

fn min_max(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

/// Where two texts first differ, for the report.
fn first_difference(a: &str, b: &str) -> Option<String> {
    if a == b {
        return None;
    }
    let at = a
        .char_indices()
        .zip(b.chars())
        .find(|((_, ca), cb)| ca != cb)
        .map_or_else(|| a.len().min(b.len()), |((i, _), _)| i);
    let snippet = |s: &str| -> String {
        let mut start = at.saturating_sub(20).min(s.len());
        while !s.is_char_boundary(start) {
            start -= 1;
        }
        s.get(start..).unwrap_or("").chars().take(60).collect()
    };
    Some(format!(
        "first difference at byte {at}: {:?} vs {:?}",
        snippet(a),
        snippet(b)
    ))
}

#[derive(Default)]
struct Samples {
    raw: Vec<Run>,
    raw_cpu: Vec<f64>,
    one: Vec<Run>,
    one_cpu_server: Vec<f64>,
    one_cpu_bench: Vec<f64>,
    many: Vec<Concurrent>,
    many_cpu_server: Vec<f64>,
    many_cpu_bench: Vec<f64>,
    /// Server CPU seconds by thread name, with the run's wall time.
    one_threads: Vec<(BTreeMap<String, f64>, Duration)>,
    many_threads: Vec<(BTreeMap<String, f64>, Duration)>,
    /// (repetition, run, cores used by other processes, cores stolen).
    interference: Vec<(usize, String, f64, f64)>,
    /// Diagnostics: raw, one stream, on a context shaped like the engine's.
    raw_shaped: Vec<Run>,
    /// Diagnostics: raw, `--streams` streams batched, on a context shaped like the engine's.
    raw_many: Vec<Concurrent>,
}

impl Samples {
    fn note(&mut self, rep: usize, run: &str, cpu: &Cpu) {
        let (others, steal) = cpu.interference();
        self.interference
            .push((rep, run.to_string(), others, steal));
    }
}

/// Other processes' CPU above this (in cores, averaged over a run) marks the run as disturbed.
const DISTURBED_CORES: f64 = 0.10;

fn ms(d: Option<Duration>) -> f64 {
    d.map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
}

fn row(out: &mut String, name: &str, values: &[f64], unit: &str, digits: usize) {
    if values.is_empty() {
        return;
    }
    let (lo, hi) = min_max(values);
    out.push_str(&format!(
        "| {name} | {:.digits$} | {lo:.digits$} | {hi:.digits$} | {unit} |\n",
        median(values)
    ));
}

fn report(args: &Args, s: &Samples) -> String {
    let tps = |runs: &[Run]| runs.iter().map(Run::tokens_per_s).collect::<Vec<_>>();
    let agg = |c: &[Concurrent]| c.iter().map(Concurrent::tokens_per_s).collect::<Vec<_>>();
    let raw_tps = tps(&s.raw);
    let one_tps = tps(&s.one);
    let many_tps = agg(&s.many);
    let per_stream_tps: Vec<f64> = s
        .many
        .iter()
        .flat_map(|c| c.streams.iter().map(Run::tokens_per_s))
        .collect();
    let ratio_a = median(&one_tps) / median(&raw_tps);
    let ratio_b = median(&many_tps) / median(&one_tps);
    // Paired ratios (same repetition) are less sensitive to drift of the machine.
    let paired_a: Vec<f64> = one_tps.iter().zip(&raw_tps).map(|(o, r)| o / r).collect();
    let paired_b: Vec<f64> = many_tps.iter().zip(&one_tps).map(|(m, o)| m / o).collect();
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    let n = args.streams;

    let mut out = String::new();
    out.push_str(&format!(
        "threads {}, max_tokens {}, reps {}, slots {}, streams {n}, extra serve args {:?}, prompt {:?}\n\n",
        args.threads, args.max_tokens, args.reps, args.slots, args.serve_args, args.prompt
    ));
    out.push_str("| measurement | median | min | max | unit |\n|---|---:|---:|---:|---|\n");
    row(&mut out, "raw llama-cpp-2, 1 stream", &raw_tps, "tok/s", 1);
    row(&mut out, "assay serve, 1 stream", &one_tps, "tok/s", 1);
    row(
        &mut out,
        &format!("assay serve, {n} streams aggregate"),
        &many_tps,
        "tok/s",
        1,
    );
    row(
        &mut out,
        &format!("assay serve, {n} streams, per stream"),
        &per_stream_tps,
        "tok/s",
        1,
    );
    let ttft = |runs: &[Run]| runs.iter().map(|r| ms(r.first_token)).collect::<Vec<_>>();
    row(&mut out, "raw: time to first token", &ttft(&s.raw), "ms", 1);
    row(
        &mut out,
        "serve 1 stream: time to first content chunk",
        &ttft(&s.one),
        "ms",
        1,
    );
    let ttft_all = |c: &[Concurrent]| {
        c.iter()
            .flat_map(|c| c.streams.iter().map(|r| ms(r.first_token)))
            .collect::<Vec<_>>()
    };
    row(
        &mut out,
        &format!("serve {n} streams: time to first content chunk, per stream"),
        &ttft_all(&s.many),
        "ms",
        1,
    );
    row(
        &mut out,
        &format!("diagnostic: raw {n} streams batched: time to first token, per stream"),
        &ttft_all(&s.raw_many),
        "ms",
        1,
    );
    let tokens = |runs: &[Run]| {
        runs.iter()
            .map(|r| f64::from(r.completion_tokens))
            .collect::<Vec<_>>()
    };
    row(
        &mut out,
        "raw: completion tokens",
        &tokens(&s.raw),
        "tokens",
        0,
    );
    row(
        &mut out,
        "serve 1 stream: completion tokens",
        &tokens(&s.one),
        "tokens",
        0,
    );
    row(
        &mut out,
        &format!("serve {n} streams: completion tokens (sum)"),
        &s.many
            .iter()
            .map(|c| f64::from(c.tokens()))
            .collect::<Vec<_>>(),
        "tokens",
        0,
    );
    let cores = |cpu: &[f64], runs: Vec<Duration>| -> Vec<f64> {
        cpu.iter()
            .zip(runs)
            .map(|(c, d)| c / d.as_secs_f64())
            .collect()
    };
    let raw_d: Vec<Duration> = s.raw.iter().map(|r| r.elapsed).collect();
    let one_d = || s.one.iter().map(|r| r.elapsed).collect::<Vec<_>>();
    let many_d = || s.many.iter().map(|c| c.wall).collect::<Vec<_>>();
    row(
        &mut out,
        "raw: CPU used (this process)",
        &cores(&s.raw_cpu, raw_d),
        "cores",
        2,
    );
    row(
        &mut out,
        "serve 1 stream: CPU used by the server",
        &cores(&s.one_cpu_server, one_d()),
        "cores",
        2,
    );
    row(
        &mut out,
        "serve 1 stream: CPU used by the bench client",
        &cores(&s.one_cpu_bench, one_d()),
        "cores",
        2,
    );
    row(
        &mut out,
        &format!("serve {n} streams: CPU used by the server"),
        &cores(&s.many_cpu_server, many_d()),
        "cores",
        2,
    );
    row(
        &mut out,
        &format!("serve {n} streams: CPU used by the bench client"),
        &cores(&s.many_cpu_bench, many_d()),
        "cores",
        2,
    );
    for (label, samples) in [
        ("serve 1 stream", &s.one_threads),
        (&*format!("serve {n} streams"), &s.many_threads),
    ] {
        let names: std::collections::BTreeSet<&String> =
            samples.iter().flat_map(|(t, _)| t.keys()).collect();
        for name in names {
            let values: Vec<f64> = samples
                .iter()
                .map(|(t, d)| t.get(name).copied().unwrap_or(0.0) / d.as_secs_f64())
                .collect();
            row(
                &mut out,
                &format!("{label}: server CPU in threads named {name:?}"),
                &values,
                "cores",
                3,
            );
        }
    }
    if !s.raw_shaped.is_empty() {
        row(
            &mut out,
            &format!(
                "diagnostic: raw, 1 stream, engine-shaped context (n_ctx {}, n_seq_max {}{})",
                RAW_N_CTX as usize * args.slots,
                args.slots,
                if args.diag_kv_unified {
                    ", kv_unified"
                } else {
                    ""
                }
            ),
            &tps(&s.raw_shaped),
            "tok/s",
            1,
        );
    }
    if !s.raw_many.is_empty() {
        row(
            &mut out,
            &format!("diagnostic: raw, {n} streams batched, aggregate"),
            &agg(&s.raw_many),
            "tok/s",
            1,
        );
    }
    let others: Vec<f64> = s.interference.iter().map(|i| i.2).collect();
    let steal: Vec<f64> = s.interference.iter().map(|i| i.3).collect();
    row(
        &mut out,
        "all runs: CPU used by other processes (competing load)",
        &others,
        "cores",
        3,
    );
    row(
        &mut out,
        "all runs: CPU stolen by the hypervisor",
        &steal,
        "cores",
        3,
    );
    out.push('\n');
    out.push_str("| ratio | value (of medians) | paired median | goal | result |\n");
    out.push_str("|---|---:|---:|---:|---|\n");
    out.push_str(&format!(
        "| (a) serve 1 stream / raw | {ratio_a:.3} | {:.3} | >= 0.95 | {} |\n",
        median(&paired_a),
        verdict(ratio_a >= 0.95)
    ));
    out.push_str(&format!(
        "| (b) serve {n} streams aggregate / serve 1 stream | {ratio_b:.3} | {:.3} | >= 1.5 | {} |\n",
        median(&paired_b),
        verdict(ratio_b >= 1.5)
    ));
    if !s.raw_shaped.is_empty() {
        let shaped = tps(&s.raw_shaped);
        let paired: Vec<f64> = shaped.iter().zip(&raw_tps).map(|(x, r)| x / r).collect();
        out.push_str(&format!(
            "| diagnostic: raw engine-shaped context / raw | {:.3} | {:.3} | | |\n",
            median(&shaped) / median(&raw_tps),
            median(&paired)
        ));
        let paired: Vec<f64> = one_tps.iter().zip(&shaped).map(|(o, x)| o / x).collect();
        out.push_str(&format!(
            "| diagnostic: serve 1 stream / raw engine-shaped context | {:.3} | {:.3} | | |\n",
            median(&one_tps) / median(&shaped),
            median(&paired)
        ));
    }
    if !s.raw_many.is_empty() {
        let many = agg(&s.raw_many);
        let base = if s.raw_shaped.is_empty() {
            raw_tps.clone()
        } else {
            tps(&s.raw_shaped)
        };
        let paired: Vec<f64> = many.iter().zip(&base).map(|(m, b)| m / b).collect();
        out.push_str(&format!(
            "| diagnostic: raw {n} streams batched / raw 1 stream (same context): ceiling for (b) | {:.3} | {:.3} | | |\n",
            median(&many) / median(&base),
            median(&paired)
        ));
        let paired: Vec<f64> = many_tps.iter().zip(&many).map(|(s, r)| s / r).collect();
        out.push_str(&format!(
            "| diagnostic: serve {n} streams / raw {n} streams batched | {:.3} | {:.3} | | |\n",
            median(&many_tps) / median(&many),
            median(&paired)
        ));
    }
    out.push('\n');

    let disturbed: Vec<String> = s
        .interference
        .iter()
        .filter(|i| i.2 > DISTURBED_CORES)
        .map(|(rep, run, others, _)| format!("rep {rep} {run} ({others:.2} cores)"))
        .collect();
    if disturbed.is_empty() {
        out.push_str(&format!(
            "- competing load: none (other processes stayed under {DISTURBED_CORES} cores in every run)\n"
        ));
    } else {
        out.push_str(&format!(
            "- WARNING: other processes competed for the CPU in {} of {} runs; these numbers are \
             disturbed, rerun on an idle machine: {}\n",
            disturbed.len(),
            s.interference.len(),
            disturbed.join(", ")
        ));
    }

    // Same prompt? Same greedy text?
    if let (Some(raw), Some(one)) = (s.raw.first(), s.one.first()) {
        if raw.prompt_tokens == one.prompt_tokens {
            out.push_str(&format!(
                "- prompt tokens: raw {} = server {}\n",
                raw.prompt_tokens, one.prompt_tokens
            ));
        } else {
            out.push_str(&format!(
                "- prompt tokens DIFFER: raw {} vs server {} (the two do not see the same prompt)\n",
                raw.prompt_tokens, one.prompt_tokens
            ));
        }
        match first_difference(&raw.text, &one.text) {
            None => out.push_str("- greedy text: raw and serve 1-stream texts are identical\n"),
            Some(diff) => out.push_str(&format!(
                "- greedy text: raw and serve 1-stream texts DIFFER ({diff})\n"
            )),
        }
        let raw_stable = s.raw.iter().all(|r| r.text == raw.text);
        let one_stable = s.one.iter().all(|r| r.text == one.text);
        out.push_str(&format!(
            "- repeatable across reps: raw {}, serve 1-stream {}\n",
            if raw_stable { "yes" } else { "NO" },
            if one_stable { "yes" } else { "NO" }
        ));
        let streams: Vec<&Run> = s.many.iter().flat_map(|c| &c.streams).collect();
        let same = streams.iter().filter(|r| r.text == one.text).count();
        out.push_str(&format!(
            "- serve {n}-stream texts equal to the 1-stream text: {same} of {} (batched decoding \
             rounds differently; informational)\n",
            streams.len()
        ));
        if let Some(diff) = streams
            .iter()
            .find_map(|r| first_difference(&one.text, &r.text))
        {
            out.push_str(&format!("  - e.g. {diff}\n"));
        }
        let raw_streams: Vec<&Run> = s.raw_many.iter().flat_map(|c| &c.streams).collect();
        if !raw_streams.is_empty() {
            let same = raw_streams
                .iter()
                .zip(&streams)
                .filter(|(r, s)| r.text == s.text)
                .count();
            out.push_str(&format!(
                "- raw {n}-stream batched texts equal to serve {n}-stream texts: {same} of {} \
                 (informational)\n",
                raw_streams.len().min(streams.len())
            ));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------

fn main() -> Result<()> {
    let args = Args::parse();
    if args.reps == 0 || args.streams == 0 || args.threads == 0 || args.max_tokens == 0 {
        bail!("--reps, --streams, --threads and --max-tokens must be at least 1");
    }
    if args.streams > args.slots {
        bail!(
            "--streams {} exceeds --slots {}: the extra streams would only queue",
            args.streams,
            args.slots
        );
    }
    if !args.assay.exists() {
        bail!(
            "{} does not exist; build it with `cargo build --release -p assay-cli` or pass --assay",
            args.assay.display()
        );
    }
    let gguf = args.gguf.clone().unwrap_or_else(default_gguf);
    if !gguf.exists() {
        bail!(
            "{} does not exist (run `assay models fetch smollm2`, set ASSAY_HOME, or pass --gguf)",
            gguf.display()
        );
    }
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;

    // Raw side: load once, outside the timings.
    llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default().with_logs_enabled(false));
    let backend = LlamaBackend::init().context("cannot initialise llama.cpp")?;
    let model = load_model(&backend, &gguf)?;
    let mut raw = Raw::new(&backend, &model, args.threads, 1, false, &args.prompt)?;
    let mut shaped = if args.skip_diagnostics {
        None
    } else {
        Some(Raw::new(
            &backend,
            &model,
            args.threads,
            args.slots,
            args.diag_kv_unified,
            &args.prompt,
        )?)
    };

    eprintln!("starting {} serve ...", args.assay.display());
    let server = Server::start(&args)?;
    let pid = server.pid().to_string();
    eprintln!("server at {} (pid {pid})", server.base);
    let client = Client::new(&server, &args)?;

    // Warm-ups, not counted: page in the weights, size compute buffers, open connections.
    raw.generate(args.max_tokens).context("raw warm-up")?;
    if let Some(shaped) = &mut shaped {
        shaped
            .generate_batched(args.streams, args.max_tokens)
            .context("raw batched warm-up")?;
    }
    runtime
        .block_on(client.concurrent(args.streams))
        .context("server warm-up")?;

    let reps = args.reps;
    let mut s = Samples::default();
    for rep in 1..=reps {
        let (run, cpu) = measure_cpu(&pid, || raw.generate(args.max_tokens))?;
        eprintln!(
            "rep {rep}/{reps}: raw x1            {:>4} tokens in {:>6.3}s = {:>6.1} tok/s {}",
            run.completion_tokens,
            run.elapsed.as_secs_f64(),
            run.tokens_per_s(),
            cpu.describe()
        );
        s.note(rep, "raw x1", &cpu);
        s.raw_cpu.extend(cpu.bench);
        s.raw.push(run);

        let (run, cpu) = measure_cpu(&pid, || runtime.block_on(client.stream_once()))?;
        eprintln!(
            "rep {rep}/{reps}: serve x1          {:>4} tokens in {:>6.3}s = {:>6.1} tok/s {}",
            run.completion_tokens,
            run.elapsed.as_secs_f64(),
            run.tokens_per_s(),
            cpu.describe()
        );
        s.note(rep, "serve x1", &cpu);
        s.one_cpu_server.extend(cpu.server);
        s.one_cpu_bench.extend(cpu.bench);
        s.one_threads
            .extend(cpu.server_threads.map(|t| (t, run.elapsed)));
        s.one.push(run);

        let (many, cpu) = measure_cpu(&pid, || runtime.block_on(client.concurrent(args.streams)))?;
        eprintln!(
            "rep {rep}/{reps}: serve x{:<2}         {:>4} tokens in {:>6.3}s = {:>6.1} tok/s aggregate {}",
            args.streams,
            many.tokens(),
            many.wall.as_secs_f64(),
            many.tokens_per_s(),
            cpu.describe()
        );
        s.note(rep, &format!("serve x{}", args.streams), &cpu);
        s.many_cpu_server.extend(cpu.server);
        s.many_cpu_bench.extend(cpu.bench);
        s.many_threads
            .extend(cpu.server_threads.map(|t| (t, many.wall)));
        s.many.push(many);

        if let Some(shaped) = &mut shaped {
            let (run, cpu) = measure_cpu(&pid, || shaped.generate(args.max_tokens))?;
            eprintln!(
                "rep {rep}/{reps}: raw x1 (shaped)   {:>4} tokens in {:>6.3}s = {:>6.1} tok/s {}",
                run.completion_tokens,
                run.elapsed.as_secs_f64(),
                run.tokens_per_s(),
                cpu.describe()
            );
            s.note(rep, "raw x1 (shaped)", &cpu);
            s.raw_shaped.push(run);
            let ((streams, wall), cpu) = measure_cpu(&pid, || {
                shaped.generate_batched(args.streams, args.max_tokens)
            })?;
            let many = Concurrent { streams, wall };
            eprintln!(
                "rep {rep}/{reps}: raw x{:<2} batched  {:>4} tokens in {:>6.3}s = {:>6.1} tok/s aggregate {}",
                args.streams,
                many.tokens(),
                many.wall.as_secs_f64(),
                many.tokens_per_s(),
                cpu.describe()
            );
            s.note(rep, &format!("raw x{} batched", args.streams), &cpu);
            s.raw_many.push(many);
        }
    }
    drop(server);

    if args.show_text {
        if let (Some(raw), Some(one)) = (s.raw.first(), s.one.first()) {
            eprintln!(
                "--- raw text ---\n{}\n--- serve text ---\n{}",
                raw.text, one.text
            );
        }
    }
    print!("{}", report(&args, &s));
    Ok(())
}

fn load_model(backend: &LlamaBackend, path: &Path) -> Result<LlamaModel> {
    LlamaModel::load_from_file(backend, path, &LlamaModelParams::default())
        .with_context(|| format!("cannot load {}", path.display()))
}
