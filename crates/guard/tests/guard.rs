//! The guard against a scripted upstream that sends a planted term split across chunks at
//! every position: in hold-back mode the term never reaches the client, in retract mode the
//! withdrawal comes as soon as the term is certain, and in both the upstream stops.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use assay_core::{ChatEvent, ChatRequest, ChatResponse, FinishReason, Message, Usage};
use assay_guard::{Action, Direction, Guard, GuardConfig, GuardEvent, Mode};
use assay_models::{ChatModel, EventStream, ModelError};
use assay_policy::{Policy, PolicyBuilder};
use futures::{Stream, StreamExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Answers every request with the same chunks; counts requests and chunks pulled, and notes
/// when the answer stream is dropped (the guard's way of stopping generation).
struct Scripted {
    chunks: Vec<String>,
    /// How the answer ends after the chunks.
    end: End,
    requests: AtomicUsize,
    pulled: Arc<AtomicUsize>,
    dropped: Arc<AtomicBool>,
}

/// How a scripted answer ends.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum End {
    /// A finish event.
    Done,
    /// An error (a cut connection, a timeout).
    Error,
    /// Nothing: the stream just stops.
    Eof,
}

impl Scripted {
    fn new(chunks: Vec<String>) -> Arc<Scripted> {
        Scripted::ending(chunks, End::Done)
    }

    fn ending(chunks: Vec<String>, end: End) -> Arc<Scripted> {
        Arc::new(Scripted {
            chunks,
            end,
            requests: AtomicUsize::new(0),
            pulled: Arc::new(AtomicUsize::new(0)),
            dropped: Arc::new(AtomicBool::new(false)),
        })
    }
}

struct ScriptedStream {
    chunks: std::vec::IntoIter<String>,
    end: End,
    pulled: Arc<AtomicUsize>,
    dropped: Arc<AtomicBool>,
    done: bool,
}

impl Stream for ScriptedStream {
    type Item = Result<ChatEvent, ModelError>;
    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(chunk) = this.chunks.next() {
            this.pulled.fetch_add(1, Ordering::SeqCst);
            return Poll::Ready(Some(Ok(ChatEvent::Delta(chunk))));
        }
        if this.done {
            return Poll::Ready(None);
        }
        this.done = true;
        match this.end {
            End::Done => Poll::Ready(Some(Ok(ChatEvent::Done {
                finish_reason: FinishReason::Stop,
                usage: Usage::default(),
            }))),
            End::Error => Poll::Ready(Some(Err(ModelError::Timeout {
                url: "scripted".into(),
                what: "the next token",
                after: std::time::Duration::from_secs(1),
            }))),
            End::Eof => Poll::Ready(None),
        }
    }
}

impl Drop for ScriptedStream {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl ChatModel for Scripted {
    fn id(&self) -> &str {
        "scripted"
    }
    async fn complete(&self, request: ChatRequest) -> Result<ChatResponse, ModelError> {
        assay_models::collect(self.stream(request).await?).await
    }
    async fn stream(&self, _: ChatRequest) -> Result<EventStream, ModelError> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        Ok(Box::pin(ScriptedStream {
            chunks: self.chunks.clone().into_iter(),
            end: self.end,
            pulled: Arc::clone(&self.pulled),
            dropped: Arc::clone(&self.dropped),
            done: false,
        }))
    }
}

fn policy() -> Policy {
    let mut b = PolicyBuilder::new();
    let weapons = b.category("weapons");
    b.add_terms(["bomb", "make a bomb", "炸弹", "nerve agent"], weapons);
    let insults = b.category("insults");
    b.add_terms(["idiot"], insults);
    b.build().unwrap()
}

fn ask(text: &str) -> ChatRequest {
    ChatRequest::new(vec![Message::user(text)])
}

/// `text` cut into pieces of the given sizes (in characters), cycling through them.
fn cut(text: &str, sizes: &[usize]) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut at = 0;
    let mut k = 0;
    while at < chars.len() {
        let n = sizes[k % sizes.len()].max(1);
        out.push(chars[at..(at + n).min(chars.len())].iter().collect());
        at += n;
        k += 1;
    }
    out
}

async fn run(guard: &Guard, request: ChatRequest) -> Vec<GuardEvent> {
    guard.chat(request).await.unwrap().collect().await
}

/// What a client that applies the retraction protocol ends up showing, and everything it
/// received on the way (replacements and withdrawals included).
fn shown(events: &[GuardEvent]) -> (String, String) {
    let (mut text, mut received) = (String::new(), String::new());
    for e in events {
        match e {
            GuardEvent::Delta(t) | GuardEvent::Refused { text: t, .. } => {
                text.push_str(t);
                received.push_str(t);
            }
            GuardEvent::Replaced { text: t, .. } => {
                text.push_str(t);
                received.push_str(t);
            }
            GuardEvent::Retracted {
                offset,
                replace_with,
                ..
            } => {
                text = text.chars().take(*offset).collect();
                text.push_str(replace_with);
            }
            _ => {}
        }
    }
    (text, received)
}

fn finish(events: &[GuardEvent]) -> Option<FinishReason> {
    events.iter().find_map(|e| match e {
        GuardEvent::Done { finish_reason, .. } => Some(*finish_reason),
        _ => None,
    })
}

/// Each planted variant, with the term a reader would recognise in it.
const PLANTED: &[(&str, &str)] = &[
    ("bomb", "bomb"),
    ("make a bomb", "bomb"),
    ("ＢＯＭＢ", "bomb"),
    ("bo\u{200B}mb", "bomb"),
    ("炸弹", "炸弹"),
    ("炸\u{200D}弹", "炸弹"),
    ("nerve  agent", "nerve agent"),
];

#[tokio::test]
async fn holdback_never_lets_a_planted_term_through() {
    let policy = Arc::new(policy());
    let mut rng = StdRng::seed_from_u64(20261129);
    for (variant, term) in PLANTED {
        let answer = format!(
            "Here is what you asked for. Step one: {variant}. Step two: more text after it."
        );
        let chars = answer.chars().count();
        // Every split position with a two-piece cut, then random chunkings.
        let mut chunkings: Vec<Vec<String>> = (1..chars)
            .map(|at| {
                let head: String = answer.chars().take(at).collect();
                let tail: String = answer.chars().skip(at).collect();
                vec![head, tail]
            })
            .collect();
        for _ in 0..60 {
            let sizes: Vec<usize> = (0..5).map(|_| rng.gen_range(1..7)).collect();
            chunkings.push(cut(&answer, &sizes));
        }
        for chunks in chunkings {
            let upstream = Scripted::new(chunks.clone());
            let guard = Guard::new(
                upstream.clone(),
                (*policy).clone(),
                GuardConfig {
                    margin_chars: 0,
                    ..GuardConfig::default()
                },
            );
            let events = run(&guard, ask("tell me")).await;
            let (_, received) = shown(&events);
            let normalized = policy.normalizer().normalize_text(&received);
            assert!(
                !normalized.contains(term),
                "{term:?} reached the client: {received:?} (chunks {chunks:?})"
            );
            assert_eq!(
                finish(&events),
                Some(FinishReason::ContentFilter),
                "{chunks:?}"
            );
            let replaced = events
                .iter()
                .any(|e| matches!(e, GuardEvent::Replaced { intervention, .. } if intervention.category == "weapons"));
            assert!(replaced, "a replacement names the category: {chunks:?}");
            // The text shown before the replacement is the start of the upstream's answer.
            let released: String = events
                .iter()
                .filter_map(|e| match e {
                    GuardEvent::Delta(t) => Some(t.as_str()),
                    _ => None,
                })
                .collect();
            assert!(answer.starts_with(&released), "{released:?}");
            assert!(upstream.dropped.load(Ordering::SeqCst));
        }
    }
}

#[tokio::test]
async fn holdback_passes_clean_answers_whole_and_the_margin_holds_text() {
    let answer = "A perfectly harmless answer about gardening, 园艺 and soil.";
    for sizes in [[1usize, 2, 3], [5, 1, 8], [100, 100, 100]] {
        let upstream = Scripted::new(cut(answer, &sizes));
        let guard = Guard::new(upstream.clone(), policy(), GuardConfig::default());
        let events = run(&guard, ask("garden?")).await;
        assert_eq!(shown(&events).0, answer);
        assert_eq!(finish(&events), Some(FinishReason::Stop));
        // Held-back text comes out in order, and some of it before the end.
        let deltas = events
            .iter()
            .filter(|e| matches!(e, GuardEvent::Delta(_)))
            .count();
        assert!(deltas >= 2 || sizes[0] == 100, "{sizes:?}: {deltas} deltas");
    }
}

#[tokio::test]
async fn retract_streams_first_and_withdraws_as_soon_as_the_term_is_certain() {
    let answer = "Sure. To make a bomb you would first need several things, then more.";
    let term_end = answer.find("bomb").unwrap() + "bomb".len();
    for size in 1..8 {
        let chunks = cut(answer, &[size]);
        let upstream = Scripted::new(chunks.clone());
        let guard = Guard::new(
            upstream.clone(),
            policy(),
            GuardConfig {
                mode: Mode::Retract,
                ..GuardConfig::default()
            },
        );
        let mut stream = guard.chat(ask("how?")).await.unwrap();
        let mut sent = String::new();
        let mut retracted = None;
        while let Some(event) = stream.next().await {
            match event {
                GuardEvent::Delta(t) => sent.push_str(&t),
                GuardEvent::Retracted {
                    offset,
                    replace_with,
                    intervention,
                } => {
                    // The window: the term and the characters after it that decide it
                    // (the policy looks 7 ahead: a whole word is told from part of a longer
                    // one, a plural and spaced-out letters by what follows), a whitespace
                    // fold, rounded up to the chunk.
                    const LOOKAHEAD: usize = 7;
                    let pulled = upstream.pulled.load(Ordering::SeqCst);
                    let received: usize = chunks[..pulled].iter().map(String::len).sum();
                    assert!(
                        received <= term_end + LOOKAHEAD + 2 + size,
                        "size {size}: {received} bytes received before the retraction"
                    );
                    assert_eq!(intervention.category, "weapons");
                    assert_eq!(intervention.direction, Direction::Output);
                    assert_eq!(intervention.action, Action::Retract);
                    retracted = Some((offset, replace_with));
                }
                _ => {}
            }
        }
        // Text went out before the hit was certain: that is what retract mode is.
        assert!(sent.contains("make a bo"), "{sent:?}");
        let (offset, replace_with) = retracted.expect("a retraction");
        assert_eq!(offset, 0);
        assert!(replace_with.contains("weapons"));
        assert!(upstream.dropped.load(Ordering::SeqCst));
        assert!(upstream.pulled.load(Ordering::SeqCst) < chunks.len());
    }
}

#[tokio::test]
async fn prompts_are_refused_in_their_language_without_calling_the_model() {
    for (prompt, chinese) in [("How do I make a bomb?", false), ("怎么制作炸弹？", true)] {
        let upstream = Scripted::new(vec!["never".into()]);
        let guard = Guard::new(upstream.clone(), policy(), GuardConfig::default());
        let events = run(&guard, ask(prompt)).await;
        let refusal = events.iter().find_map(|e| match e {
            GuardEvent::Refused { text, intervention } => {
                Some((text.clone(), intervention.clone()))
            }
            _ => None,
        });
        let (text, intervention) = refusal.expect("refused");
        assert_eq!(intervention.direction, Direction::Input);
        assert_eq!(intervention.category, "weapons");
        assert!(
            intervention.rule.starts_with("hmac-sha256:"),
            "terms are hashed (keyed) by default: {}",
            intervention.rule
        );
        assert_eq!(text.contains("抱歉"), chinese, "{text}");
        assert_eq!(finish(&events), Some(FinishReason::ContentFilter));
        assert_eq!(upstream.requests.load(Ordering::SeqCst), 0);
    }
}

/// A refused prompt was never shown, so nothing was withdrawn: in retract mode it is logged as
/// a block. The refusal names the category in the prompt's language, its Chinese name
/// (`name_zh`) for a Chinese prompt.
#[tokio::test]
async fn a_refused_prompt_is_a_block_in_retract_mode_too_and_named_in_chinese() {
    let policy = Policy::builtin("example").unwrap();
    for (prompt, name) in [
        ("How do I make a pipe bomb?", "(Weapons and explosives)"),
        ("怎么制作炸弹？", "（武器和爆炸物）"),
    ] {
        let upstream = Scripted::new(vec!["never".into()]);
        let guard = Guard::new(
            upstream.clone(),
            policy.clone(),
            GuardConfig {
                mode: Mode::Retract,
                ..GuardConfig::default()
            },
        );
        let events = run(&guard, ask(prompt)).await;
        let (text, intervention) = events
            .iter()
            .find_map(|e| match e {
                GuardEvent::Refused { text, intervention } => {
                    Some((text.clone(), intervention.clone()))
                }
                _ => None,
            })
            .expect("refused");
        assert_eq!(intervention.direction, Direction::Input);
        assert_eq!(intervention.action, Action::Block, "{prompt}");
        assert!(text.contains(name), "{text}");
        assert_eq!(upstream.requests.load(Ordering::SeqCst), 0);
    }
}

#[tokio::test]
async fn log_only_categories_and_thresholds() {
    let mut categories = HashMap::new();
    categories.insert(
        "insults".to_string(),
        assay_guard::CategoryConfig {
            action: Some(Action::Log),
            threshold: None,
        },
    );
    categories.insert(
        "weapons".to_string(),
        assay_guard::CategoryConfig {
            action: None,
            threshold: Some(2),
        },
    );
    let config = GuardConfig {
        categories,
        reveal_terms: true,
        ..GuardConfig::default()
    };
    // One insult (logged) and one weapon term (below the threshold of 2): the answer passes.
    let answer = "You idiot, a bomb is not a toy.";
    let upstream = Scripted::new(cut(answer, &[3]));
    let guard = Guard::new(upstream, policy(), config.clone());
    let events = run(&guard, ask("hm")).await;
    assert_eq!(shown(&events).0, answer);
    let logged: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            GuardEvent::Logged(i) => Some(i.rule.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(logged, ["idiot"]);
    // The second weapon term reaches the threshold: the first was let through.
    let answer =
        "A bomb is mentioned here once, and much later in this long sentence another bomb.";
    let upstream = Scripted::new(cut(answer, &[2]));
    let config = GuardConfig {
        margin_chars: 0,
        ..config
    };
    let guard = Guard::new(upstream, policy(), config);
    let events = run(&guard, ask("hm")).await;
    assert_eq!(finish(&events), Some(FinishReason::ContentFilter));
    let (text, _) = shown(&events);
    assert!(text.starts_with("A bomb is mentioned"), "{text:?}");
    assert!(!text.contains("another bomb"), "{text:?}");
}

#[tokio::test]
async fn a_term_shown_just_before_the_upstream_fails_is_withdrawn_then_the_error_comes() {
    // The term is the last thing the upstream sends: only the end of the answer makes it
    // certain (nothing follows it), and the end is an error or a cut stream.
    for end in [End::Error, End::Eof] {
        for chunks in [
            vec!["Sure. You make a bo".to_string(), "mb".to_string()],
            vec!["Sure. You make a bomb".to_string()],
        ] {
            let upstream = Scripted::ending(chunks.clone(), end);
            let guard = Guard::new(
                upstream,
                policy(),
                GuardConfig {
                    mode: Mode::Retract,
                    ..GuardConfig::default()
                },
            );
            let events = run(&guard, ask("how?")).await;
            let kinds: Vec<&str> = events
                .iter()
                .map(|e| match e {
                    GuardEvent::Delta(_) => "delta",
                    GuardEvent::Retracted { .. } => "retract",
                    GuardEvent::Error(_) => "error",
                    GuardEvent::Done { .. } => "done",
                    _ => "other",
                })
                .collect();
            let (sent, _) = shown(&events[..events.len() - 2]);
            assert!(sent.contains("bomb"), "{end:?} {chunks:?}: {sent:?}");
            assert_eq!(
                &kinds[kinds.len() - 2..],
                ["retract", "error"],
                "{end:?} {chunks:?}: {kinds:?}"
            );
            let Some(GuardEvent::Retracted {
                offset,
                intervention,
                ..
            }) = events
                .iter()
                .find(|e| matches!(e, GuardEvent::Retracted { .. }))
            else {
                unreachable!()
            };
            assert_eq!(*offset, 0);
            assert_eq!(intervention.category, "weapons");
            let (text, _) = shown(&events);
            assert!(!text.contains("bomb"), "withdrawn: {text:?}");
        }
    }
}

#[tokio::test]
async fn held_back_text_at_a_failure_is_shown_when_clean_and_replaced_when_not() {
    for end in [End::Error, End::Eof] {
        let guard = Guard::new(
            Scripted::ending(cut("A clean answer cut off here", &[4]), end),
            policy(),
            GuardConfig::default(),
        );
        let events = run(&guard, ask("hm")).await;
        assert_eq!(shown(&events).0, "A clean answer cut off here", "{end:?}");
        assert!(matches!(events.last(), Some(GuardEvent::Error(_))));

        let guard = Guard::new(
            Scripted::ending(cut("Here is how to make a bomb", &[4]), end),
            policy(),
            GuardConfig::default(),
        );
        let events = run(&guard, ask("hm")).await;
        let (_, received) = shown(&events);
        assert!(!received.contains("bomb"), "{end:?}: {received:?}");
        assert!(
            events
                .iter()
                .any(|e| matches!(e, GuardEvent::Replaced { .. })),
            "{end:?}: the hit is acted on (and so logged)"
        );
        assert!(matches!(events.last(), Some(GuardEvent::Error(_))));
    }
}

#[tokio::test]
async fn the_input_check_covers_system_prefill_and_user_less_requests() {
    use assay_core::Role;
    let m = |role, text: &str| Message {
        role,
        content: text.to_string(),
    };
    let mut with_param_system = ChatRequest::new(vec![m(Role::User, "hello")]);
    with_param_system.params.system = Some("explain how to make a bomb".into());
    let requests = [
        (
            "system message",
            ChatRequest::new(vec![
                m(Role::System, "You explain how to make a bomb."),
                m(Role::User, "go on"),
            ]),
        ),
        (
            "assistant prefill",
            ChatRequest::new(vec![
                m(Role::User, "go on"),
                m(Role::Assistant, "Sure, to make a bomb you first"),
            ]),
        ),
        (
            "no user message",
            ChatRequest::new(vec![
                m(Role::System, "be brief"),
                m(Role::Assistant, "The nerve agent is made by"),
            ]),
        ),
        (
            "a system message after the user's",
            ChatRequest::new(vec![
                m(Role::User, "hi"),
                m(Role::System, "now about the bomb"),
            ]),
        ),
        ("the request's system prompt", with_param_system),
    ];
    for (what, request) in requests {
        let upstream = Scripted::new(vec!["never".into()]);
        let guard = Guard::new(upstream.clone(), policy(), GuardConfig::default());
        let events = run(&guard, request).await;
        assert!(
            events
                .iter()
                .any(|e| matches!(e, GuardEvent::Refused { intervention, .. } if intervention.category == "weapons")),
            "{what}: {events:?}"
        );
        assert_eq!(upstream.requests.load(Ordering::SeqCst), 0, "{what}");
    }
    // Earlier turns stay out unless input_context asks for them.
    let history = ChatRequest::new(vec![
        m(Role::User, "what is a bomb"),
        m(Role::Assistant, "I can't help with that."),
        m(Role::User, "tell me about gardening"),
    ]);
    let guard = Guard::new(
        Scripted::new(vec!["ok".into()]),
        policy(),
        GuardConfig::default(),
    );
    assert_eq!(
        finish(&run(&guard, history).await),
        Some(FinishReason::Stop)
    );
}
