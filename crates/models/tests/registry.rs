//! The registry loads one engine per GGUF file: names that differ only in parameters, in a
//! wrapper, or that name the file by its path share it, each with its own parameters. The real
//! SmolLM2 model.
#![cfg(feature = "local")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use assay_core::{ChatEvent, ChatRequest, FinishReason, GenParams, Message, ModelSpec};
use assay_models::local::{catalogue, EngineConfig};
use assay_models::{
    ChatModel, Decorator, EventStream, Load, ModelError, OpenOptions, Registry, Wrapper,
};
use futures::StreamExt;

/// A real wrapper: its answers start with `[<argument>]`.
struct Tag;

struct Tagged {
    tag: String,
    inner: Arc<dyn ChatModel>,
}

impl Decorator for Tag {
    fn prepare(&self, argument: &str) -> Result<Wrapper, ModelError> {
        if argument.is_empty() || argument.contains(' ') {
            return Err(ModelError::Config(format!("bad tag {argument:?}")));
        }
        let tag = format!("[{argument}]");
        Ok(Box::new(move |inner| {
            Arc::new(Tagged { tag, inner }) as Arc<dyn ChatModel>
        }))
    }
}

#[async_trait::async_trait]
impl ChatModel for Tagged {
    fn id(&self) -> &str {
        self.inner.id()
    }

    async fn complete(&self, request: ChatRequest) -> Result<assay_core::ChatResponse, ModelError> {
        assay_models::collect(self.stream(request).await?).await
    }

    async fn stream(&self, request: ChatRequest) -> Result<EventStream, ModelError> {
        let tag = futures::stream::once(futures::future::ready(Ok(ChatEvent::Delta(
            self.tag.clone(),
        ))));
        Ok(Box::pin(tag.chain(self.inner.stream(request).await?)))
    }

    fn load(&self) -> Option<Load> {
        self.inner.load()
    }
}

fn spec(name: &str) -> ModelSpec {
    ModelSpec::parse(name).expect("a valid name")
}

fn counting(max_tokens: Option<u32>) -> ChatRequest {
    ChatRequest {
        messages: vec![Message::user("Count from 1 to 50, one number per line.")],
        params: GenParams {
            max_tokens,
            ..GenParams::default()
        },
    }
}

/// Waits until `check` holds for the engine's load as `model` reports it.
async fn until(model: &Arc<dyn ChatModel>, what: &str, check: impl Fn(Load) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let load = model.load().expect("a local model reports its load");
        if check(load) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: load stayed {load:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_of_one_gguf_share_one_engine_with_their_own_parameters() {
    let options = OpenOptions {
        local: EngineConfig {
            slots: 3,
            ..EngineConfig::default()
        },
        ..OpenOptions::default()
    };
    let mut registry = Registry::new(options);
    registry.register("guard", Arc::new(Tag));

    let plain = registry
        .open(&spec("local:smollm2?temperature=0"))
        .await
        .expect("smollm2 loads (run `assay models fetch smollm2` first when offline)");
    let short = registry
        .open(&spec("local:smollm2?temperature=1.2&max_tokens=2"))
        .await
        .unwrap();
    let tagged = registry
        .open(&spec(
            "guard:tagged@local:smollm2?temperature=0&max_tokens=4",
        ))
        .await
        .unwrap();
    let home = assay_core::assay_home();
    let file = catalogue::model_path(&home, catalogue::entry("smollm2").unwrap());
    let by_path = registry
        .open(&spec(&format!("local:{}", file.display())))
        .await
        .unwrap();
    assert_eq!(registry.engines_loaded(), 1, "one engine for four names");

    for model in [&plain, &short, &tagged] {
        assert_eq!(model.id(), "smollm2");
        assert_eq!(model.load().unwrap().slots, 3);
    }
    assert_eq!(by_path.id(), file.file_stem().unwrap().to_string_lossy());

    // A request running through one name is the same engine's work seen through every other
    // (what `/health` reports): one set of slots, not four.
    let mut running = plain.stream(counting(Some(200))).await.unwrap();
    let first = running.next().await.unwrap().unwrap();
    assert!(matches!(first, ChatEvent::Delta(_)), "{first:?}");
    for model in [&short, &tagged, &by_path] {
        assert_eq!(model.load().unwrap().busy, 1);
    }
    drop(running);
    until(&tagged, "the dropped request is cancelled", |load| {
        load.busy == 0 && load.cancelled == 1
    })
    .await;

    // Each name keeps its parameters; a request's own parameters win over the name's.
    // Greedy requests: at the name's temperature of 1.2 an answer may sample its end before
    // the limit, and the limit is what is checked here.
    let greedy_counting = |max_tokens| {
        let mut request = counting(max_tokens);
        request.params.temperature = Some(0.0);
        request
    };
    let answer = short.complete(greedy_counting(None)).await.unwrap();
    assert_eq!(answer.usage.completion_tokens, 2, "{answer:?}");
    assert_eq!(answer.finish_reason, FinishReason::Length);
    let answer = short.complete(greedy_counting(Some(6))).await.unwrap();
    assert_eq!(answer.usage.completion_tokens, 6, "{answer:?}");
    let answer = tagged.complete(counting(None)).await.unwrap();
    assert!(answer.text.starts_with("[tagged]"), "{answer:?}");
    assert_eq!(answer.usage.completion_tokens, 4, "{answer:?}");
    // The greedy names answer alike: the same engine, the same parameters.
    let greedy = plain.complete(counting(Some(4))).await.unwrap();
    assert_eq!(
        answer.text.strip_prefix("[tagged]"),
        Some(greedy.text.as_str())
    );
}

#[tokio::test]
async fn a_wrapper_nobody_registered_is_an_error_naming_it() {
    let registry = Registry::new(OpenOptions::default());
    let err = match registry
        .open(&spec("guard:example@http://127.0.0.1:9/v1#m"))
        .await
    {
        Err(e) => e.to_string(),
        Ok(_) => panic!("guard: opened without its decorator"),
    };
    assert!(err.contains("guard:"), "{err}");
    assert_eq!(registry.engines_loaded(), 0);
}

#[tokio::test]
async fn a_bad_wrapper_argument_fails_before_the_model_is_loaded() {
    let mut registry = Registry::new(OpenOptions::default());
    registry.register("guard", Arc::new(Tag));
    let err = match registry.open(&spec("guard:two words@local:smollm2")).await {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a bad tag opened"),
    };
    assert!(err.contains("bad tag"), "{err}");
    assert_eq!(
        registry.engines_loaded(),
        0,
        "no engine for a name that cannot open"
    );
}
