//! The llama.cpp engine: one loaded model, one context, and a thread that runs continuous
//! batching over a fixed number of sequence slots.
//!
//! Requests wait in a bounded queue; each admitted request gets a slot (a llama.cpp sequence id).
//! Every step decodes one batch holding the next token of every generating slot plus as much
//! prompt of newly admitted slots as fits, so concurrent requests share each forward pass. A
//! request whose receiver is dropped is cancelled at the next step and its slot's KV cache freed.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc as std_mpsc, Arc, OnceLock};

use assay_core::FinishReason;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use tokio::sync::{mpsc, oneshot};

use super::template::ChatTemplate;
use super::tokenize::PromptTokenizer;
use crate::{Load, ModelError};

/// Tokens decoded per forward pass at most (prompt chunks and generated tokens together).
const BATCH_TOKENS: usize = 512;

/// `EngineConfig::max_messages` by default.
pub const DEFAULT_MAX_MESSAGES: usize = 1024;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// CPU threads for llama.cpp; `None` = [`default_threads`] of this machine's cores.
    pub threads: Option<usize>,
    /// Requests generated at the same time.
    pub slots: usize,
    /// Context (prompt + answer) tokens each request may use.
    pub context_per_slot: u32,
    /// Requests that may wait for a slot before new ones are refused as busy.
    pub max_queue: usize,
    /// `max_tokens` when a request gives none.
    pub default_max_tokens: u32,
    /// Where catalogue models are cached; `None` = `$ASSAY_HOME` or `~/.cache/assay`.
    pub home: Option<PathBuf>,
    /// Decode each request in its own forward pass. llama.cpp's results depend slightly on
    /// which sequences share a batch, so with batching a seeded answer can change with the
    /// load; this mode makes every answer identical to the one the request gets alone, at the
    /// cost of the throughput batching brings.
    pub batch_invariant: bool,
    /// Messages one request may hold. Each costs a few tokens of markup at least, so far fewer
    /// fit any context; the cap refuses absurd requests before any work is spent on them.
    pub max_messages: usize,
    /// Bytes of message content one request may hold; `None` = 32 per token of
    /// `context_per_slot` (no tokenizer packs more than a few bytes of text into a token, so a
    /// longer prompt could never fit). Checked before rendering or tokenizing.
    pub max_prompt_bytes: Option<usize>,
}

impl EngineConfig {
    /// The content bytes one request may hold.
    pub fn prompt_byte_limit(&self) -> usize {
        self.max_prompt_bytes
            .unwrap_or_else(|| (self.context_per_slot as usize).saturating_mul(32))
    }
}

/// llama.cpp threads when none are asked for: every core but one, and at least one.
///
/// llama.cpp's threads spin at a barrier after every graph operation, so one preempted thread
/// stalls them all: with every core taken, any other load on the machine (a build, another
/// engine, this process's own HTTP work) slows decoding many times over (6–14× in the
/// measurements) instead of in proportion. A core left over absorbs that load; on an idle
/// 2-core machine it costs nothing for one stream and 30% for four batched ones
/// (bench/RESULTS.md, "Default engine threads (issue 11)").
pub fn default_threads(cores: usize) -> usize {
    cores.saturating_sub(1).max(1)
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            threads: None,
            slots: 4,
            context_per_slot: 2048,
            max_queue: 64,
            default_max_tokens: 512,
            home: None,
            batch_invariant: false,
            max_messages: DEFAULT_MAX_MESSAGES,
            max_prompt_bytes: None,
        }
    }
}

/// What a request asks of the sampler.
#[derive(Debug, Clone)]
pub struct Sampling {
    /// 0 = greedy.
    pub temperature: f32,
    pub top_p: f32,
    pub seed: u64,
    pub max_tokens: u32,
    pub stop: Vec<String>,
}

#[derive(Debug)]
pub enum EngineEvent {
    /// The request got a slot; its prompt is this many tokens.
    Started {
        prompt_tokens: u32,
    },
    Text(String),
    Finished {
        reason: FinishReason,
        completion_tokens: u32,
    },
    Failed(ModelError),
}

/// How the engine turns messages into a prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptFormat {
    /// The GGUF's own Jinja template, rendered like `transformers` does.
    GgufTemplate,
    /// llama.cpp's built-in template of this name, used when the GGUF has none.
    LlamaBuiltin(String),
}

/// Facts about the loaded model, for `/v1/models`, `/health` and run records.
#[derive(Clone)]
pub struct EngineInfo {
    pub path: PathBuf,
    pub prompt_format: PromptFormat,
    /// The GGUF's `tokenizer.chat_template`, when it has one.
    pub chat_template: Option<Arc<ChatTemplate>>,
    pub n_ctx_train: u32,
    pub slots: usize,
    pub context_per_slot: u32,
    pub threads: usize,
}

struct Job {
    prompt: Vec<LlamaToken>,
    sampling: Sampling,
    events: mpsc::UnboundedSender<EngineEvent>,
}

/// Counters shared between the engine thread and request handlers.
#[derive(Default)]
struct Counters {
    queued: AtomicUsize,
    busy: AtomicUsize,
    /// Requests stopped because their receiver went away (a client disconnected).
    cancelled: AtomicUsize,
}

pub struct Engine {
    jobs: std_mpsc::Sender<Job>,
    counters: Arc<Counters>,
    max_queue: usize,
    info: EngineInfo,
    tokenizer: Arc<PromptTokenizer>,
}

/// A request's place in the queue, held while its prompt is tokenized; dropping it unused
/// gives the place back.
pub struct Reservation<'e> {
    engine: &'e Engine,
    submitted: bool,
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if !self.submitted {
            self.engine.counters.queued.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Reservation<'_> {
    /// Queues the request. Events arrive on the returned receiver; dropping it cancels the
    /// request.
    pub fn submit(
        mut self,
        prompt: Vec<LlamaToken>,
        sampling: Sampling,
    ) -> Result<mpsc::UnboundedReceiver<EngineEvent>, ModelError> {
        let (events, receiver) = mpsc::unbounded_channel();
        self.engine
            .jobs
            .send(Job {
                prompt,
                sampling,
                events,
            })
            .map_err(|_| ModelError::Engine("the engine thread has stopped".into()))?;
        // From here the engine thread releases the place when it admits the job.
        self.submitted = true;
        Ok(receiver)
    }
}

pub(crate) fn backend() -> Result<&'static LlamaBackend, ModelError> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            // llama.cpp logs every tensor at load; route it to tracing (shown with RUST_LOG=debug).
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| ModelError::Engine(format!("cannot initialise llama.cpp: {e}")))
}

impl Engine {
    /// Loads the GGUF at `path` on a new engine thread. Returns once the model is loaded.
    pub async fn start(path: &Path, config: &EngineConfig) -> Result<Engine, ModelError> {
        let (jobs_tx, jobs_rx) = std_mpsc::channel();
        let (ready_tx, ready_rx) = oneshot::channel();
        let counters = Arc::new(Counters::default());
        let thread_state = (path.to_path_buf(), config.clone(), counters.clone());
        std::thread::Builder::new()
            .name("assay-llama".into())
            .spawn(move || {
                let (path, config, counters) = thread_state;
                run_engine(&path, &config, jobs_rx, ready_tx, &counters);
            })
            .map_err(|e| ModelError::Engine(format!("cannot start engine thread: {e}")))?;
        let (info, tokenizer) = ready_rx
            .await
            .map_err(|_| ModelError::Engine("engine thread died while loading".into()))??;
        Ok(Engine {
            jobs: jobs_tx,
            counters,
            max_queue: config.max_queue,
            info,
            tokenizer,
        })
    }

    pub fn info(&self) -> &EngineInfo {
        &self.info
    }

    pub fn tokenizer(&self) -> &Arc<PromptTokenizer> {
        &self.tokenizer
    }

    pub fn load(&self) -> Load {
        Load {
            slots: self.info.slots,
            busy: self.counters.busy.load(Ordering::SeqCst),
            queued: self.counters.queued.load(Ordering::SeqCst),
            cancelled: self.counters.cancelled.load(Ordering::SeqCst),
        }
    }

    /// Takes a place in the queue, or refuses the request as busy when the queue is full.
    pub fn reserve(&self) -> Result<Reservation<'_>, ModelError> {
        let waiting = self.counters.queued.fetch_add(1, Ordering::SeqCst);
        let reservation = Reservation {
            engine: self,
            submitted: false,
        };
        let free_slots = self
            .info
            .slots
            .saturating_sub(self.counters.busy.load(Ordering::SeqCst));
        if waiting >= self.max_queue + free_slots {
            return Err(ModelError::Busy(format!(
                "{} requests running and {waiting} waiting (queue limit {})",
                self.info.slots, self.max_queue
            )));
        }
        Ok(reservation)
    }
}

fn run_engine(
    path: &Path,
    config: &EngineConfig,
    jobs: std_mpsc::Receiver<Job>,
    ready: oneshot::Sender<Result<(EngineInfo, Arc<PromptTokenizer>), ModelError>>,
    counters: &Counters,
) {
    let loaded = (|| {
        let backend = backend()?;
        let model = LlamaModel::load_from_file(backend, path, &LlamaModelParams::default())
            .map_err(|e| ModelError::Config(format!("cannot load {}: {e}", path.display())))?;
        // Request handlers tokenize with the same model while this thread decodes.
        let tokenizer = Arc::new(PromptTokenizer::new(Arc::new(model))?);
        let threads = config.threads.unwrap_or_else(|| {
            default_threads(std::thread::available_parallelism().map_or(2, |n| n.get()))
        });
        let slots = config.slots.max(1);
        let n_ctx = config.context_per_slot.saturating_mul(slots as u32);
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(n_ctx))
            .with_n_batch(BATCH_TOKENS as u32)
            .with_n_ubatch(BATCH_TOKENS as u32)
            .with_n_seq_max(slots as u32)
            .with_n_threads(threads as i32)
            .with_n_threads_batch(threads as i32);
        Ok::<_, ModelError>((backend, tokenizer, params, threads, slots))
    })();
    let (backend, tokenizer, params, threads, slots) = match loaded {
        Ok(v) => v,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let model: Arc<LlamaModel> = tokenizer.model().clone();
    let context = match model.new_context(backend, params) {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(ModelError::Engine(format!(
                "cannot create a context: {e}"
            ))));
            return;
        }
    };
    let prompter = tokenizer.prompter();
    if let PromptFormat::LlamaBuiltin(name) = prompter.format() {
        tracing::warn!(
            "{} has no chat template; using llama.cpp's built-in {name:?} template",
            path.display()
        );
    }
    let info = EngineInfo {
        path: path.to_path_buf(),
        prompt_format: prompter.format(),
        chat_template: prompter.jinja(),
        n_ctx_train: model.n_ctx_train(),
        slots,
        context_per_slot: config.context_per_slot,
        threads,
    };
    if ready.send(Ok((info, tokenizer.clone()))).is_err() {
        return;
    }
    let mut scheduler = Scheduler {
        model: &model,
        context,
        slots: (0..slots).map(|_| None).collect(),
        context_per_slot: config.context_per_slot as usize,
        batch: LlamaBatch::new(BATCH_TOKENS, 1),
        waiting: VecDeque::new(),
        counters,
        batch_invariant: config.batch_invariant,
    };
    scheduler.run(&jobs);
}

struct Slot {
    job: Job,
    prompt: Vec<LlamaToken>,
    /// Prompt tokens already decoded.
    prefilled: usize,
    /// Tokens in this sequence's KV cache.
    n_past: usize,
    /// The sampled token that still has to be decoded.
    next: Option<LlamaToken>,
    sampler: LlamaSampler,
    generated: u32,
    /// Bytes of a UTF-8 character split across tokens.
    partial_utf8: Vec<u8>,
    /// Text held back because it may be the start of a stop string.
    held: String,
    /// Index of this slot's logits in the last batch.
    logits_at: Option<i32>,
}

struct Scheduler<'m> {
    model: &'m LlamaModel,
    context: LlamaContext<'m>,
    slots: Vec<Option<Slot>>,
    context_per_slot: usize,
    batch: LlamaBatch<'static>,
    waiting: VecDeque<Job>,
    counters: &'m Counters,
    batch_invariant: bool,
}

impl Scheduler<'_> {
    fn run(&mut self, jobs: &std_mpsc::Receiver<Job>) {
        loop {
            let idle = self.slots.iter().all(Option::is_none) && self.waiting.is_empty();
            if idle {
                match jobs.recv() {
                    Ok(job) => self.waiting.push_back(job),
                    Err(_) => return, // every Engine handle is gone
                }
            }
            while let Ok(job) = jobs.try_recv() {
                self.waiting.push_back(job);
            }
            self.admit();
            self.drop_cancelled();
            if self.slots.iter().all(Option::is_none) {
                continue;
            }
            self.step();
        }
    }

    fn admit(&mut self) {
        while let Some(free) = self.slots.iter().position(Option::is_none) {
            let Some(mut job) = self.waiting.pop_front() else {
                return;
            };
            self.counters.queued.fetch_sub(1, Ordering::SeqCst);
            if job.events.is_closed() {
                self.counters.cancelled.fetch_add(1, Ordering::SeqCst);
                continue;
            }
            let prompt = std::mem::take(&mut job.prompt);
            match self.prepare(prompt) {
                Ok(prompt) => {
                    // Counted busy before the request learns it started, so a caller that
                    // sees its request running also sees the slot taken.
                    self.counters.busy.fetch_add(1, Ordering::SeqCst);
                    let _ = job.events.send(EngineEvent::Started {
                        prompt_tokens: prompt.len() as u32,
                    });
                    let sampler = make_sampler(&job.sampling);
                    self.slots[free] = Some(Slot {
                        job,
                        prompt,
                        prefilled: 0,
                        n_past: 0,
                        next: None,
                        sampler,
                        generated: 0,
                        partial_utf8: Vec::new(),
                        held: String::new(),
                        logits_at: None,
                    });
                }
                Err(e) => {
                    let _ = job.events.send(EngineEvent::Failed(e));
                }
            }
        }
    }

    fn prepare(&self, prompt: Vec<LlamaToken>) -> Result<Vec<LlamaToken>, ModelError> {
        if prompt.is_empty() {
            return Err(ModelError::InvalidRequest("the prompt is empty".into()));
        }
        // One token of room at least, or the model cannot answer at all.
        if prompt.len() >= self.context_per_slot {
            return Err(ModelError::InvalidRequest(format!(
                "the prompt is {} tokens; this model's context holds {} tokens per request",
                prompt.len(),
                self.context_per_slot
            )));
        }
        Ok(prompt)
    }

    fn drop_cancelled(&mut self) {
        for seq in 0..self.slots.len() {
            if self.slots[seq]
                .as_ref()
                .is_some_and(|s| s.job.events.is_closed())
            {
                self.free(seq);
                self.counters.cancelled.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    /// Empties slot `seq` and answers what it held. A request is told it ended only after
    /// this, so a caller that has its whole answer also sees the slot free (as one that sees
    /// its request running sees it taken).
    fn free(&mut self, seq: usize) -> Option<Slot> {
        let slot = self.slots[seq].take();
        if slot.is_some() {
            self.counters.busy.fetch_sub(1, Ordering::SeqCst);
        }
        // Removing a whole sequence cannot fail for a valid id.
        let _ = self
            .context
            .clear_kv_cache_seq(Some(seq as u32), None, None);
        slot
    }

    /// One forward pass over every active slot, then sampling for those that produced logits.
    /// One scheduling round: a single batched forward pass over every active slot or, when
    /// answers must not depend on what else runs, one forward pass per slot.
    fn step(&mut self) {
        if self.batch_invariant {
            for seq in 0..self.slots.len() {
                if self.slots[seq].is_some() {
                    self.forward(Some(seq));
                }
            }
        } else {
            self.forward(None);
        }
    }

    /// One forward pass over the active slots (or only slot `only`), then sampling for those
    /// that produced logits.
    fn forward(&mut self, only: Option<usize>) {
        self.batch.clear();
        let mut budget = BATCH_TOKENS;
        let takes_part = |seq: usize| only.is_none_or(|o| o == seq);
        for slot in self.slots.iter_mut().flatten() {
            slot.logits_at = None;
        }
        // Generating slots first: one token each keeps every running answer moving.
        for (seq, slot) in self.slots.iter_mut().enumerate() {
            let Some(slot) = slot else { continue };
            if !takes_part(seq) {
                continue;
            }
            if let Some(token) = slot.next.take() {
                if self
                    .batch
                    .add(token, slot.n_past as i32, &[seq as i32], true)
                    .is_err()
                {
                    slot.next = Some(token);
                    continue;
                }
                slot.n_past += 1;
                slot.logits_at = Some(self.batch.n_tokens() - 1);
                budget -= 1;
            }
        }
        for (seq, slot) in self.slots.iter_mut().enumerate() {
            let Some(slot) = slot else { continue };
            if !takes_part(seq) || slot.prefilled == slot.prompt.len() || budget == 0 {
                continue;
            }
            let take = (slot.prompt.len() - slot.prefilled).min(budget);
            let end = slot.prefilled + take;
            for i in slot.prefilled..end {
                let last = i + 1 == slot.prompt.len();
                if self
                    .batch
                    .add(slot.prompt[i], i as i32, &[seq as i32], last)
                    .is_err()
                {
                    break;
                }
                if last {
                    slot.logits_at = Some(self.batch.n_tokens() - 1);
                }
                slot.prefilled += 1;
                slot.n_past += 1;
                budget -= 1;
            }
        }
        if self.batch.n_tokens() == 0 {
            return;
        }
        if let Err(e) = self.context.decode(&mut self.batch) {
            // A failed decode leaves the KV cache in an unknown state: fail everything running.
            for seq in 0..self.slots.len() {
                if let Some(slot) = self.free(seq) {
                    let message = format!("decode failed: {e}");
                    let _ = slot
                        .job
                        .events
                        .send(EngineEvent::Failed(ModelError::Engine(message)));
                }
            }
            self.context.clear_kv_cache();
            return;
        }
        for seq in 0..self.slots.len() {
            let Some(slot) = &mut self.slots[seq] else {
                continue;
            };
            let Some(at) = slot.logits_at else { continue };
            let token = slot.sampler.sample(&self.context, at);
            let Some(reason) = accept_token(self.model, slot, token, self.context_per_slot) else {
                continue;
            };
            if let Some(slot) = self.free(seq) {
                let _ = slot.job.events.send(EngineEvent::Finished {
                    reason,
                    completion_tokens: slot.generated,
                });
            }
        }
    }
}

/// Adds a sampled token to a slot's answer; returns why the answer ends, if it does.
fn accept_token(
    model: &LlamaModel,
    slot: &mut Slot,
    token: LlamaToken,
    context_per_slot: usize,
) -> Option<FinishReason> {
    let vocab = model.vocab();
    if vocab.is_eog(token) {
        flush(slot);
        return Some(FinishReason::Stop);
    }
    slot.generated += 1;
    slot.partial_utf8
        .extend(vocab.token_to_piece(token, false, None));
    let text = take_utf8(&mut slot.partial_utf8);
    slot.held.push_str(&text);

    if let Some(cut) = find_stop(&slot.held, &slot.job.sampling.stop) {
        slot.held.truncate(cut);
        slot.partial_utf8.clear();
        flush(slot);
        return Some(FinishReason::Stop);
    }
    let keep = stop_prefix_len(&slot.held, &slot.job.sampling.stop);
    let release = slot.held.len() - keep;
    if release > 0 {
        let out: String = slot.held.drain(..release).collect();
        let _ = slot.job.events.send(EngineEvent::Text(out));
    }
    // Going on means decoding this token and sampling one more: prompt and answer together
    // must still fit the slot's context.
    if slot.generated >= slot.job.sampling.max_tokens || slot.n_past + 2 > context_per_slot {
        flush(slot);
        return Some(FinishReason::Length);
    }
    slot.next = Some(token);
    None
}

fn flush(slot: &mut Slot) {
    drop_unfinished_char(&mut slot.partial_utf8);
    if !slot.held.is_empty() {
        let _ = slot
            .job
            .events
            .send(EngineEvent::Text(std::mem::take(&mut slot.held)));
    }
}

fn make_sampler(s: &Sampling) -> LlamaSampler {
    if s.temperature <= 0.0 {
        return LlamaSampler::greedy();
    }
    let seed = (s.seed ^ (s.seed >> 32)) as u32;
    let mut chain = Vec::new();
    if s.top_p < 1.0 {
        chain.push(LlamaSampler::top_p(s.top_p, 1));
    }
    chain.push(LlamaSampler::temp(s.temperature));
    chain.push(LlamaSampler::dist(seed));
    LlamaSampler::chain_simple(chain)
}

/// Takes the longest complete UTF-8 prefix out of `bytes`, leaving an unfinished character
/// behind; bytes that can never be valid are replaced with U+FFFD.
pub(crate) fn take_utf8(bytes: &mut Vec<u8>) -> String {
    let mut out = String::new();
    loop {
        match std::str::from_utf8(bytes) {
            Ok(s) => {
                out.push_str(s);
                bytes.clear();
                return out;
            }
            Err(e) => {
                let valid = e.valid_up_to();
                out.push_str(std::str::from_utf8(&bytes[..valid]).unwrap_or_default());
                match e.error_len() {
                    Some(bad) => {
                        out.push('\u{FFFD}');
                        bytes.drain(..valid + bad);
                    }
                    None => {
                        bytes.drain(..valid);
                        return out;
                    }
                }
            }
        }
    }
}

/// Forgets the bytes of a character the answer ended in the middle of. [`take_utf8`] leaves
/// only the start of one unfinished character behind, so these bytes can never become text:
/// shown, they were a "�" at the end of every answer cut by the token limit inside a Chinese
/// character (byte-level tokens often split one).
pub(crate) fn drop_unfinished_char(partial_utf8: &mut Vec<u8>) {
    partial_utf8.clear();
}

/// Byte offset of the earliest stop string in `text`.
pub(crate) fn find_stop(text: &str, stops: &[String]) -> Option<usize> {
    stops.iter().filter_map(|s| text.find(s.as_str())).min()
}

/// Length of the longest suffix of `text` that is a proper prefix of a stop string: text that
/// must be held back until the next token shows whether a stop string follows.
pub(crate) fn stop_prefix_len(text: &str, stops: &[String]) -> usize {
    let mut best = 0;
    for stop in stops {
        let max = (stop.len() - 1).min(text.len());
        for len in (best + 1..=max).rev() {
            let start = text.len() - len;
            if text.is_char_boundary(start) && stop.starts_with(&text[start..]) {
                best = len;
                break;
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_thread_count_leaves_one_core() {
        assert_eq!(default_threads(0), 1);
        assert_eq!(default_threads(1), 1);
        assert_eq!(default_threads(2), 1);
        assert_eq!(default_threads(16), 15);
    }

    #[test]
    fn utf8_split_across_tokens() {
        let mut buf = "你".as_bytes()[..2].to_vec();
        assert_eq!(take_utf8(&mut buf), "");
        buf.extend(&"你".as_bytes()[2..]);
        buf.extend(b"ok");
        assert_eq!(take_utf8(&mut buf), "你ok");
        assert!(buf.is_empty());
        let mut bad = vec![b'a', 0xff, b'b'];
        assert_eq!(take_utf8(&mut bad), "a\u{FFFD}b");
    }

    #[test]
    fn stop_strings() {
        let stops = vec!["END".to_string(), "\n\n".to_string()];
        assert_eq!(find_stop("abc END x", &stops), Some(4));
        assert_eq!(find_stop("a\n\nEND", &stops), Some(1));
        assert_eq!(find_stop("abc", &stops), None);
        assert_eq!(stop_prefix_len("abc EN", &stops), 2);
        assert_eq!(stop_prefix_len("abc\n", &stops), 1);
        assert_eq!(stop_prefix_len("abc", &stops), 0);
        assert_eq!(stop_prefix_len("你E", &["E你".to_string()]), 1);
    }
}
