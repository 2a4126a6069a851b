//! The arena's HTTP behaviour, against fake models (a real model is exercised by the browser
//! test of the `assay` binary). Fakes let these tests force what a real model does only
//! sometimes: hostile HTML, naming itself, failing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use assay_core::{ChatResponse, FinishReason, ModelSpec, Role, Usage};
use axum::body::Body;
use axum::http::{Request as HttpRequest, StatusCode};
use serde_json::Value;
use tower::ServiceExt;

use std::time::Instant;

use assay_core::{ChatEvent, ChatRequest};
use assay_models::{EventStream, ModelError};
use futures::StreamExt;
use serde_json::json;

use super::*;
use crate::chat::is_models_fault;
use assay_arena::models::default_display;
use assay_arena::vote::battle_from_vote;

/// A model that answers `respond(prompt, turn)` in small pieces, or fails when told to.
struct Fake {
    id: String,
    respond: fn(&str, usize) -> String,
    fail: Arc<AtomicBool>,
    /// Number of messages of every request it got.
    seen: Arc<Mutex<Vec<usize>>>,
}

#[async_trait::async_trait]
impl ChatModel for Fake {
    fn id(&self) -> &str {
        &self.id
    }

    async fn complete(&self, _request: ChatRequest) -> Result<ChatResponse, ModelError> {
        unreachable!("the arena streams")
    }

    async fn stream(&self, request: ChatRequest) -> Result<EventStream, ModelError> {
        lock(&self.seen).push(request.messages.len());
        if self.fail.load(Ordering::SeqCst) {
            return Err(ModelError::Connect {
                url: format!("http://127.0.0.1:9/v1 ({})", self.id),
                message: format!("{} is down", self.id),
            });
        }
        let prompt = request
            .messages
            .iter()
            .rev()
            .find(|m| m.role == Role::User)
            .map(|m| m.content.clone())
            .unwrap_or_default();
        let turn = request
            .messages
            .iter()
            .filter(|m| m.role == Role::User)
            .count();
        let answer = (self.respond)(&prompt, turn);
        let chars: Vec<char> = answer.chars().collect();
        let mut events: Vec<Result<ChatEvent, ModelError>> = chars
            .chunks(4)
            .map(|c| Ok(ChatEvent::Delta(c.iter().collect())))
            .collect();
        events.push(Ok(ChatEvent::Done {
            finish_reason: FinishReason::Stop,
            usage: Usage {
                prompt_tokens: 3,
                completion_tokens: (chars.len() / 4) as u32 + 1,
            },
        }));
        Ok(Box::pin(futures::stream::iter(events)))
    }
}

/// Model names that must never show before a vote.
const SECRET: [&str; 4] = ["zebra", "yak", "temperature", "127.0.0.1:9"];

fn respond_plain(prompt: &str, turn: usize) -> String {
    if prompt.contains("hostile") {
        "Here: <img src=x onerror=alert(1)> and [x](javascript:alert(1)) **bold**".into()
    } else if prompt.contains("code fences") {
        // Many distinct fenced blocks: the style features' scan is quadratic in their number.
        let mut text = String::new();
        for i in 0.. {
            let block = format!("```{turn}-{i}```");
            if text.len() + block.len() > 32 * 1024 {
                break;
            }
            text.push_str(&block);
        }
        text
    } else if prompt.contains("nested quotes") {
        ">".repeat(32 * 1024)
    } else if prompt.contains("who are you") {
        "I am Claude, made by Anthropic.".into()
    } else {
        format!("Answer to turn {turn}: **Paris** is the capital of France.\n\n- one\n- two")
    }
}

struct Arena {
    router: Router,
    state: AppState,
    store: Arc<Store>,
    fails: Vec<Arc<AtomicBool>>,
    seen: Vec<Arc<Mutex<Vec<usize>>>>,
    _dir: tempfile::TempDir,
}

const IDS: [&str; 3] = ["zebra-model-x", "yak-model-y", "zebra-model-z"];

fn arena_with(n: usize, config: WebConfig) -> Arena {
    let mut fails = Vec::new();
    let mut seen = Vec::new();
    let mut clients: Vec<Arc<dyn ChatModel>> = Vec::new();
    for id in &IDS[..n] {
        let fail = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        fails.push(fail.clone());
        seen.push(log.clone());
        clients.push(Arc::new(Fake {
            id: id.to_string(),
            respond: respond_plain,
            fail,
            seen: log,
        }));
    }
    let mut arena = arena_of(clients, config);
    arena.fails = fails;
    arena.seen = seen;
    arena
}

/// An arena over `clients`, named after [`IDS`].
fn arena_of(clients: Vec<Arc<dyn ChatModel>>, config: WebConfig) -> Arena {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("arena.db")).unwrap());
    let models = clients
        .into_iter()
        .zip(IDS)
        .map(|(client, id)| {
            let spec =
                ModelSpec::parse(&format!("http://127.0.0.1:9/v1#{id}?temperature=0.5")).unwrap();
            ArenaModel {
                plan: ModelPlan {
                    display: default_display(&spec),
                    organization: Some("Zoo Labs".into()),
                    license: Some("MIT".into()),
                    access: None,
                    weight: 1.0,
                    boost: 0.0,
                    spec,
                },
                client,
            }
        })
        .collect();
    let state = arena_state(models, Vec::new(), store.clone(), config).unwrap();
    Arena {
        router: routes::routes(state.clone()),
        state,
        store,
        fails: Vec::new(),
        seen: Vec::new(),
        _dir: dir,
    }
}

fn arena() -> Arena {
    arena_with(
        2,
        WebConfig {
            seed: Some(1),
            bootstrap_rounds: 20,
            ..WebConfig::default()
        },
    )
}

/// A browser: cookies from the battle page, and the CSRF token of its `<meta>`.
struct Browser {
    cookies: String,
    csrf: String,
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// Everything a browser would see: status line aside, headers and body.
    fn visible(&self) -> String {
        let mut s = String::new();
        for (k, v) in &self.headers {
            s.push_str(k.as_str());
            s.push_str(": ");
            s.push_str(v.to_str().unwrap_or_default());
            s.push('\n');
        }
        s.push_str(&self.body);
        s
    }

    fn assert_no_secret(&self, what: &str) {
        let visible = self.visible().to_lowercase();
        for secret in SECRET {
            assert!(
                !visible.contains(secret),
                "{what} shows {secret:?} before the vote:\n{}",
                self.visible()
            );
        }
    }

    /// (event, data) of an event stream.
    fn events(&self) -> Vec<(String, Value)> {
        self.body
            .split("\n\n")
            .filter_map(|block| {
                let mut name = "message".to_string();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                (!data.is_empty()).then(|| (name, serde_json::from_str(&data).unwrap()))
            })
            .collect()
    }
}

async fn send(router: &Router, request: HttpRequest<Body>) -> Reply {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn get(router: &Router, path: &str, cookies: &str) -> Reply {
    let mut request = HttpRequest::get(path);
    if !cookies.is_empty() {
        request = request.header("cookie", cookies);
    }
    send(router, request.body(Body::empty()).unwrap()).await
}

impl Browser {
    async fn open(router: &Router) -> (Browser, Reply) {
        let page = get(router, "/", "").await;
        assert_eq!(page.status, StatusCode::OK);
        let cookies: Vec<String> = page
            .headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
            .collect();
        let csrf = page
            .body
            .split(r#"<meta name="csrf-token" content=""#)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap()
            .to_string();
        (
            Browser {
                cookies: cookies.join("; "),
                csrf,
            },
            page,
        )
    }

    async fn post_with(
        &self,
        router: &Router,
        path: &str,
        body: String,
        cookies: Option<&str>,
        csrf: Option<&str>,
    ) -> Reply {
        let mut request = HttpRequest::post(path).header("content-type", "application/json");
        if let Some(c) = cookies {
            request = request.header("cookie", c);
        }
        if let Some(t) = csrf {
            request = request.header("x-csrf-token", t);
        }
        send(router, request.body(Body::from(body)).unwrap()).await
    }

    async fn post(&self, router: &Router, path: &str, body: Value) -> Reply {
        self.post_with(
            router,
            path,
            body.to_string(),
            Some(&self.cookies),
            Some(&self.csrf),
        )
        .await
    }

    /// Starts (or continues) a battle; returns its id and the stream.
    async fn chat(&self, router: &Router, battle: Option<&str>, prompt: &str) -> (String, Reply) {
        let reply = self
            .post(
                router,
                "/api/chat",
                json!({"battle_id": battle, "prompt": prompt}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let events = reply.events();
        assert_eq!(events[0].0, "battle", "{}", reply.body);
        let id = events[0].1["battle_id"].as_str().unwrap().to_string();
        (id, reply)
    }

    async fn vote(&self, router: &Router, battle: &str, winner: &str) -> Reply {
        self.post(
            router,
            "/api/vote",
            json!({"battle_id": battle, "winner": winner}),
        )
        .await
    }
}

/// The final HTML of each side.
fn answers(reply: &Reply) -> [String; 2] {
    let mut out = [String::new(), String::new()];
    for (name, data) in reply.events() {
        if name == "answer" && data["done"] == true {
            let i = usize::from(data["side"] == "b");
            out[i] = data["html"].as_str().unwrap().to_string();
        }
    }
    out
}

#[tokio::test]
async fn names_stay_hidden_until_the_vote_reveals_them() {
    let arena = arena();
    let (browser, page) = Browser::open(&arena.router).await;
    page.assert_no_secret("the battle page");
    // The page carries a strict CSP whose nonce is on its script and style.
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'nonce-"),
        "{csp}"
    );
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap();
    assert!(page.body.contains(&format!(r#"<script nonce="{nonce}">"#)));
    assert!(!csp.contains("unsafe-inline"));

    let (id, stream) = browser
        .chat(&arena.router, None, "What is the capital of France?")
        .await;
    stream.assert_no_secret("the answer stream");
    assert_eq!(stream.headers["content-type"], "text/event-stream");
    let [a, b] = answers(&stream);
    assert!(
        a.contains("<strong>Paris</strong>") && b.contains("<li>one</li>"),
        "{a} {b}"
    );
    let end = stream.events().pop().unwrap();
    assert_eq!(end.0, "end");
    assert_eq!(end.1["can_vote"], true);

    // Errors name no model either.
    let early = browser.vote(&arena.router, "nope", "model_a").await;
    assert_eq!(early.status, StatusCode::NOT_FOUND);
    early.assert_no_secret("an error");

    let vote = browser.vote(&arena.router, &id, "model_a").await;
    assert_eq!(vote.status, StatusCode::OK, "{}", vote.body);
    let v = vote.json();
    let mut names = [
        v["model_a"].as_str().unwrap().to_string(),
        v["model_b"].as_str().unwrap().to_string(),
    ];
    names.sort();
    assert_eq!(
        names,
        [
            "yak-model-y?temperature=0.5".to_string(),
            "zebra-model-x?temperature=0.5".to_string()
        ]
    );
    assert_eq!(v["identity_leak"], false);

    // Stored with both conversations, language, voter, hashed IP.
    let votes = arena.store.votes().unwrap();
    assert_eq!(votes.len(), 1);
    let stored = &votes[0];
    assert_eq!(stored.battle_id, id);
    assert_eq!(stored.winner, "model_a");
    assert_eq!(stored.language, "English");
    assert_eq!(stored.turns, 1);
    assert_eq!(stored.model_a, v["model_a"].as_str().unwrap());
    assert_eq!(
        stored.conversation_a[0]["content"],
        "What is the capital of France?"
    );
    assert_eq!(stored.conversation_a[1]["role"], "assistant");
    assert!(security::well_formed(&stored.voter_id, 64));
    assert_eq!(stored.ip_hash.len(), 64);
    assert!(!stored.identity_leak);
    assert!(
        stored.metadata["conv_metadata"]["list_count_a"]
            .as_f64()
            .unwrap()
            >= 2.0
    );
}

#[tokio::test]
async fn one_vote_per_battle() {
    let arena = arena();
    let (browser, _) = Browser::open(&arena.router).await;
    let (id, _) = browser.chat(&arena.router, None, "hello").await;
    assert_eq!(
        browser.vote(&arena.router, &id, "tie").await.status,
        StatusCode::OK
    );
    let again = browser.vote(&arena.router, &id, "model_b").await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert!(again.body.contains("already been voted"), "{}", again.body);
    // Nor can the battle go on.
    let more = browser
        .post(
            &arena.router,
            "/api/chat",
            json!({"battle_id": id, "prompt": "more"}),
        )
        .await;
    assert_eq!(more.status, StatusCode::CONFLICT);
    assert_eq!(arena.store.votes().unwrap().len(), 1);

    // The store refuses a second vote on the battle even when the memory forgot it (another
    // instance, a restart).
    let mut record = arena.store.votes().unwrap().remove(0);
    record.winner = "model_b".into();
    assert!(!arena.store.record_vote(&record).unwrap());
}

/// A vote stored under a model's string (an older arena, another tool) counts under the name
/// the leaderboard shows; few votes are marked preliminary, and the threshold is a setting.
#[tokio::test]
async fn votes_under_a_model_string_count_under_its_name_and_few_are_preliminary() {
    for (threshold, preliminary) in [(50, true), (2, false)] {
        let arena = arena_with(
            2,
            WebConfig {
                seed: Some(1),
                bootstrap_rounds: 20,
                preliminary_below: threshold,
                ..WebConfig::default()
            },
        );
        let (browser, _) = Browser::open(&arena.router).await;
        let (id, _) = browser.chat(&arena.router, None, "hello").await;
        browser.vote(&arena.router, &id, "model_a").await;
        let mut record = arena.store.votes().unwrap().remove(0);
        record.battle_id = "older-battle".into();
        record.model_a = "http://127.0.0.1:9/v1#zebra-model-x?temperature=0.5".into();
        record.model_b = "yak-model-y?temperature=0.5".into();
        assert!(arena.store.record_vote(&record).unwrap());
        arena.state.boards.vote_recorded();
        let board = get(&arena.router, "/api/leaderboard", "").await.json();
        let rows = board["leaderboard"]["rows"].as_array().unwrap();
        let mut names: Vec<(&str, u64, bool)> = rows
            .iter()
            .map(|r| {
                (
                    r["model"].as_str().unwrap(),
                    r["votes"].as_u64().unwrap(),
                    r["preliminary"].as_bool().unwrap(),
                )
            })
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                ("yak-model-y?temperature=0.5", 2, preliminary),
                ("zebra-model-x?temperature=0.5", 2, preliminary)
            ],
            "{board}"
        );
        let page = get(&arena.router, "/leaderboard", "").await.body;
        assert_eq!(
            page.contains(r#"<span class="badge">preliminary</span>"#),
            preliminary
        );
    }
}

#[tokio::test]
async fn csrf_is_required() {
    let arena = arena();
    let (browser, _) = Browser::open(&arena.router).await;
    let body = json!({"prompt": "hi"}).to_string();
    let r = &arena.router;
    // No header.
    let reply = browser
        .post_with(r, "/api/chat", body.clone(), Some(&browser.cookies), None)
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    assert!(reply.body.contains("X-CSRF-Token"), "{}", reply.body);
    // Wrong header.
    let wrong = security::random_token();
    let reply = browser
        .post_with(
            r,
            "/api/chat",
            body.clone(),
            Some(&browser.cookies),
            Some(&wrong),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    // No cookie (a cross-site request cannot send one with SameSite=Strict).
    let reply = browser
        .post_with(r, "/api/chat", body.clone(), None, Some(&browser.csrf))
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    // Votes too.
    let (id, _) = browser.chat(r, None, "hi").await;
    let vote = json!({"battle_id": id, "winner": "model_a"}).to_string();
    let reply = browser
        .post_with(
            r,
            "/api/vote",
            vote.clone(),
            Some(&browser.cookies),
            Some(&wrong),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    // A form post (not JSON) is refused before anything else.
    let reply = send(
        r,
        HttpRequest::post("/api/vote")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", &browser.cookies)
            .body(Body::from("battle_id=x&winner=model_a"))
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(arena.store.votes().unwrap().is_empty());
    // With the token it works.
    let reply = browser
        .post_with(
            r,
            "/api/vote",
            vote,
            Some(&browser.cookies),
            Some(&browser.csrf),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn battles_belong_to_their_browser() {
    let arena = arena();
    let (alice, _) = Browser::open(&arena.router).await;
    let (mallory, _) = Browser::open(&arena.router).await;
    assert_ne!(alice.cookies, mallory.cookies);
    let (id, _) = alice.chat(&arena.router, None, "hi").await;
    assert_eq!(
        mallory.vote(&arena.router, &id, "model_a").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        alice.vote(&arena.router, &id, "model_a").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn daily_cap() {
    let arena = arena_with(
        2,
        WebConfig {
            daily_cap: 2,
            ..WebConfig::default()
        },
    );
    let (browser, _) = Browser::open(&arena.router).await;
    for _ in 0..2 {
        let (id, _) = browser.chat(&arena.router, None, "hi").await;
        assert_eq!(
            browser.vote(&arena.router, &id, "tie").await.status,
            StatusCode::OK
        );
    }
    let (id, _) = browser.chat(&arena.router, None, "hi").await;
    let capped = browser.vote(&arena.router, &id, "tie").await;
    assert_eq!(
        capped.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        capped.body
    );
    assert!(capped.body.contains("24 hours"), "{}", capped.body);
    // Another voter is not capped.
    let (other, _) = Browser::open(&arena.router).await;
    let (id, _) = other.chat(&arena.router, None, "hi").await;
    assert_eq!(
        other.vote(&arena.router, &id, "tie").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn identity_leaks_are_kept_but_excluded() {
    let arena = arena();
    let (browser, _) = Browser::open(&arena.router).await;
    let (id, _) = browser.chat(&arena.router, None, "who are you").await;
    let vote = browser.vote(&arena.router, &id, "model_b").await;
    assert_eq!(vote.status, StatusCode::OK);
    assert_eq!(vote.json()["identity_leak"], true);
    assert_eq!(vote.json()["identity_leak_name"], "Claude");
    let stored = arena.store.votes().unwrap().remove(0);
    assert!(stored.identity_leak);
    assert_eq!(stored.metadata["identity_leak_name"], "Claude");
    let battle = battle_from_vote(&stored).unwrap();
    assert!(battle.excluded);

    let board = get(&arena.router, "/api/leaderboard", "").await.json();
    assert_eq!(board["total_votes"], 1);
    assert!(board["leaderboard"].is_null());
    assert!(board["message"].as_str().unwrap().contains("excluded"));
}

#[tokio::test]
async fn oversized_prompts_get_413() {
    let arena = arena();
    let (browser, _) = Browser::open(&arena.router).await;
    let prompt = "x".repeat(16 * 1024 + 1);
    let reply = browser
        .post(&arena.router, "/api/chat", json!({"prompt": prompt}))
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(reply.body.contains("16 KiB"), "{}", reply.body);
    // A body far past the limit is refused without being read whole.
    let huge = json!({"prompt": "y".repeat(1024 * 1024)});
    let reply = browser.post(&arena.router, "/api/chat", huge).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Just under the limit is fine (multi-byte characters count as bytes).
    let ok = "好".repeat(16 * 1024 / 3);
    let (_, reply) = browser.chat(&arena.router, None, &ok).await;
    assert_eq!(reply.events().last().unwrap().1["can_vote"], true);
    // Empty prompts are refused.
    let reply = browser
        .post(&arena.router, "/api/chat", json!({"prompt": "  "}))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn hostile_answers_are_sanitized() {
    let arena = arena();
    let (browser, _) = Browser::open(&arena.router).await;
    let (_, reply) = browser
        .chat(&arena.router, None, "say something hostile")
        .await;
    for (name, data) in reply.events() {
        if name == "answer" {
            let html = data["html"].as_str().unwrap();
            crate::render::tests::assert_only_safe_tags(html, "hostile answer");
        }
        // A partial answer may stop anywhere; the whole one shows the markup as text.
        if name == "answer" && data["done"] == true {
            let html = data["html"].as_str().unwrap();
            assert!(
                html.contains("&lt;img src=x onerror=alert(1)&gt;"),
                "{html}"
            );
            assert!(!html.contains("javascript:"), "{html}");
        }
    }
    assert!(answers(&reply)[0].contains("<strong>bold</strong>"));
}

#[tokio::test]
async fn multi_turn_keeps_the_pair_and_the_conversation() {
    let arena = arena();
    let (browser, _) = Browser::open(&arena.router).await;
    let (id, _) = browser.chat(&arena.router, None, "first").await;
    let (id2, reply) = browser.chat(&arena.router, Some(&id), "second").await;
    assert_eq!(id, id2);
    let [a, b] = answers(&reply);
    assert!(a.contains("turn 2") && b.contains("turn 2"), "{a} | {b}");
    // Each model saw 1 message, then 3 (user, its own answer, user).
    for seen in &arena.seen {
        assert_eq!(*lock(seen), vec![1, 3]);
    }
    let vote = browser.vote(&arena.router, &id, "model_a").await;
    assert_eq!(vote.status, StatusCode::OK);
    let stored = arena.store.votes().unwrap().remove(0);
    assert_eq!(stored.turns, 2);
    assert_eq!(stored.conversation_b.as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn chinese_prompts_are_detected() {
    let arena = arena();
    let (browser, _) = Browser::open(&arena.router).await;
    let (id, _) = browser
        .chat(&arena.router, None, "法国的首都是哪里？")
        .await;
    browser.vote(&arena.router, &id, "model_a").await;
    assert_eq!(arena.store.votes().unwrap()[0].language, "Chinese");
}

#[tokio::test]
async fn failing_models_void_the_battle_and_are_benched() {
    let arena = arena();
    arena.fails[1].store(true, Ordering::SeqCst);
    let (browser, _) = Browser::open(&arena.router).await;
    let (id, reply) = browser.chat(&arena.router, None, "hi").await;
    // The error says which side failed, never which model or where.
    reply.assert_no_secret("a failure");
    let events = reply.events();
    assert!(events.iter().any(|(n, _)| n == "failed"), "{}", reply.body);
    assert_eq!(events.last().unwrap().1["can_vote"], false);
    let vote = browser.vote(&arena.router, &id, "model_a").await;
    assert_eq!(vote.status, StatusCode::CONFLICT);
    // With one of two models benched, no battle can start for now.
    arena.fails[1].store(false, Ordering::SeqCst);
    let reply = browser
        .post(&arena.router, "/api/chat", json!({"prompt": "again"}))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.body
    );
    reply.assert_no_secret("the 503");
}

#[tokio::test]
async fn benched_models_leave_the_others_battling() {
    let arena = arena_with(
        3,
        WebConfig {
            seed: Some(3),
            ..WebConfig::default()
        },
    );
    arena.fails[2].store(true, Ordering::SeqCst);
    let (browser, _) = Browser::open(&arena.router).await;
    let mut failures = 0;
    for _ in 0..12 {
        let (_, reply) = browser.chat(&arena.router, None, "hi").await;
        if reply.events().iter().any(|(n, _)| n == "failed") {
            failures += 1;
        }
    }
    // The failing model fails at most once, then sits out.
    assert!(failures <= 1, "{failures}");
    assert!(lock(&arena.seen[2]).len() <= 1);
}

#[tokio::test]
async fn leaderboard_shows_votes() {
    let arena = arena();
    let (browser, _) = Browser::open(&arena.router).await;
    for winner in ["model_a", "model_b", "tie"] {
        let (id, _) = browser.chat(&arena.router, None, "hello").await;
        assert_eq!(
            browser.vote(&arena.router, &id, winner).await.status,
            StatusCode::OK
        );
    }
    let board = get(&arena.router, "/api/leaderboard", "").await;
    assert_eq!(board.status, StatusCode::OK, "{}", board.body);
    let json = board.json();
    assert_eq!(json["total_votes"], 3);
    let rows = json["leaderboard"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        assert_eq!(row["votes"], 3);
        assert_eq!(row["organization"], "Zoo Labs");
        assert_eq!(row["rank"], 1);
    }
    assert_eq!(json["pairwise"]["battles"][0][1], 3);

    let page = get(&arena.router, "/leaderboard", "").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("zebra-model-x?temperature=0.5"));
    assert!(page.body.contains("yak-model-y?temperature=0.5"));
    assert!(page.body.contains("<svg"), "heatmaps");
    assert!(
        page.body
            .contains("Votes in total: 3 · rated in this view: 3"),
        "{}",
        page.body
    );
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'none'"), "{csp}");

    // Style control and language tabs.
    let styled = get(&arena.router, "/api/leaderboard?style=on", "")
        .await
        .json();
    assert_eq!(styled["style_control"], true);
    assert!(
        styled["leaderboard"]["style_coefficients"].is_array(),
        "{styled}"
    );
    let page = get(&arena.router, "/leaderboard?lang=English&style=on", "").await;
    assert!(page.body.contains("Leaderboard · English"));
    let zh = get(&arena.router, "/api/leaderboard?lang=Chinese", "")
        .await
        .json();
    assert_eq!(zh["tab_votes"], 0);
    assert!(zh["leaderboard"].is_null());
}

#[tokio::test]
async fn language_tabs_need_enough_votes() {
    let arena = arena_with(
        2,
        WebConfig {
            min_language_votes: 2,
            bootstrap_rounds: 10,
            ..WebConfig::default()
        },
    );
    let (browser, _) = Browser::open(&arena.router).await;
    for prompt in ["法国的首都是哪里？", "你好", "hello"] {
        let (id, _) = browser.chat(&arena.router, None, prompt).await;
        browser.vote(&arena.router, &id, "model_a").await;
    }
    let json = get(&arena.router, "/api/leaderboard", "").await.json();
    let tabs: Vec<&str> = json["languages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(tabs, ["Chinese"]);
    let page = get(&arena.router, "/leaderboard", "").await;
    assert!(
        page.body
            .contains(r#"href="/leaderboard?lang=Chinese">Chinese (2)</a>"#),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn leaderboard_is_cached_until_a_vote() {
    let arena = arena();
    let (browser, _) = Browser::open(&arena.router).await;
    let (id, _) = browser.chat(&arena.router, None, "hello").await;
    browser.vote(&arena.router, &id, "model_a").await;
    let first = get(&arena.router, "/api/leaderboard", "").await.json();
    let again = get(&arena.router, "/api/leaderboard", "").await.json();
    assert_eq!(first, again);
    let (id, _) = browser.chat(&arena.router, None, "hello").await;
    browser.vote(&arena.router, &id, "model_b").await;
    let after = get(&arena.router, "/api/leaderboard", "").await.json();
    assert_eq!(after["total_votes"], 2);
}

#[tokio::test]
async fn unknown_routes_and_health() {
    let arena = arena();
    let reply = get(&arena.router, "/nope", "").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let health = get(&arena.router, "/health", "").await;
    assert_eq!(health.json()["status"], "ok");
    health.assert_no_secret("health");
}

/// A model that never stops talking (a delta every few milliseconds) and notes when its
/// stream is dropped, i.e. when generation is cancelled.
struct Endless {
    dropped: Arc<AtomicBool>,
}

struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl ChatModel for Endless {
    fn id(&self) -> &str {
        "endless"
    }

    async fn complete(&self, _request: ChatRequest) -> Result<ChatResponse, ModelError> {
        unreachable!("the arena streams")
    }

    async fn stream(&self, _request: ChatRequest) -> Result<EventStream, ModelError> {
        let guard = SetOnDrop(self.dropped.clone());
        Ok(Box::pin(futures::stream::unfold(
            guard,
            |guard| async move {
                tokio::time::sleep(Duration::from_millis(2)).await;
                Some((Ok(ChatEvent::Delta("blah ".into())), guard))
            },
        )))
    }
}

fn endless_arena(config: WebConfig) -> (Arena, [Arc<AtomicBool>; 2]) {
    let flags = [
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    ];
    let clients: Vec<Arc<dyn ChatModel>> = flags
        .iter()
        .map(|f| Arc::new(Endless { dropped: f.clone() }) as Arc<dyn ChatModel>)
        .collect();
    (arena_of(clients, config), flags)
}

#[tokio::test]
async fn answers_are_cut_at_the_size_limit() {
    let (arena, dropped) = endless_arena(WebConfig {
        max_answer_bytes: 100,
        ..WebConfig::default()
    });
    let (browser, _) = Browser::open(&arena.router).await;
    let (id, reply) = browser.chat(&arena.router, None, "talk").await;
    let events = reply.events();
    let done: Vec<&Value> = events
        .iter()
        .filter(|(n, _)| n == "done")
        .map(|(_, d)| d)
        .collect();
    assert_eq!(done.len(), 2, "{}", reply.body);
    assert!(done.iter().all(|d| d["finish"] == "length"));
    // Generation stopped there.
    assert!(dropped.iter().all(|d| d.load(Ordering::SeqCst)));
    browser.vote(&arena.router, &id, "tie").await;
    let stored = arena.store.votes().unwrap().remove(0);
    let answer = stored.conversation_a[1]["content"].as_str().unwrap();
    assert!(answer.len() <= 100 && answer.len() > 90, "{}", answer.len());
}

#[tokio::test]
async fn slow_answers_time_out() {
    let (arena, _) = endless_arena(WebConfig {
        answer_timeout: Duration::from_millis(150),
        ..WebConfig::default()
    });
    let (browser, _) = Browser::open(&arena.router).await;
    let (id, reply) = browser.chat(&arena.router, None, "talk").await;
    let failed = reply.events().iter().filter(|(n, _)| n == "failed").count();
    assert_eq!(failed, 2, "{}", reply.body);
    assert_eq!(
        browser.vote(&arena.router, &id, "tie").await.status,
        StatusCode::CONFLICT
    );
}

#[tokio::test]
async fn leaving_cancels_generation_and_undoes_the_turn() {
    let (arena, dropped) = endless_arena(WebConfig::default());
    let (browser, _) = Browser::open(&arena.router).await;
    let request = HttpRequest::post("/api/chat")
        .header("content-type", "application/json")
        .header("cookie", &browser.cookies)
        .header("x-csrf-token", &browser.csrf)
        .body(Body::from(json!({"prompt": "talk"}).to_string()))
        .unwrap();
    let response = arena.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body().into_data_stream();
    let first = body.next().await.unwrap().unwrap();
    let first = String::from_utf8_lossy(&first).into_owned();
    let id = first
        .split("\"battle_id\":\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    // Read a little of the answers, then go away.
    let _ = body.next().await;
    drop(body);
    for _ in 0..200 {
        if dropped.iter().all(|d| d.load(Ordering::SeqCst)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        dropped.iter().all(|d| d.load(Ordering::SeqCst)),
        "generation goes on after the browser left"
    );
    // The unfinished first turn is undone: the battle is gone.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let vote = browser.vote(&arena.router, &id, "tie").await;
    assert_eq!(vote.status, StatusCode::NOT_FOUND, "{}", vote.body);
    assert!(arena.store.votes().unwrap().is_empty());
}

#[tokio::test]
async fn category_tabs() {
    let arena = arena_with(
        2,
        WebConfig {
            min_language_votes: 2,
            bootstrap_rounds: 10,
            ..WebConfig::default()
        },
    );
    let (browser, _) = Browser::open(&arena.router).await;
    for prompt in [
        "Write a Python function that sorts a list",
        "用 Rust 写一个快速排序",
        "What is the capital of France?",
    ] {
        let (id, _) = browser.chat(&arena.router, None, prompt).await;
        browser.vote(&arena.router, &id, "model_a").await;
    }
    let json = get(&arena.router, "/api/leaderboard", "").await.json();
    assert_eq!(
        json["categories"],
        serde_json::json!([{"id": "coding", "name": "Coding", "votes": 2}])
    );
    let coding = get(&arena.router, "/api/leaderboard?cat=coding", "")
        .await
        .json();
    assert_eq!(coding["tab_votes"], 2);
    assert_eq!(coding["leaderboard"]["battles"], 2);
    // Language and category combine.
    let both = get(
        &arena.router,
        "/api/leaderboard?cat=coding&lang=Chinese",
        "",
    )
    .await
    .json();
    assert_eq!(both["tab_votes"], 1, "{both}");

    let page = get(&arena.router, "/leaderboard?cat=coding", "").await;
    assert!(page.body.contains("Leaderboard · Coding"), "{}", page.body);
    assert!(
        page.body
            .contains(r#"<a href="/leaderboard?cat=coding" class="active">Coding (2)</a>"#),
        "{}",
        page.body
    );
    assert_eq!(
        get(&arena.router, "/api/leaderboard?cat=poetry", "")
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
}

/// A model behind a server that refuses prompts over 1 KiB with `status` (a context too small
/// for them, a filter) and answers the rest.
struct Refuses {
    inner: Fake,
    status: u16,
}

#[async_trait::async_trait]
impl ChatModel for Refuses {
    fn id(&self) -> &str {
        self.inner.id()
    }

    async fn complete(&self, _request: ChatRequest) -> Result<ChatResponse, ModelError> {
        unreachable!("the arena streams")
    }

    async fn stream(&self, request: ChatRequest) -> Result<EventStream, ModelError> {
        if request.messages.iter().any(|m| m.content.len() > 1024) {
            return Err(ModelError::Http {
                url: "http://admin:s3cret@127.0.0.1:9/v1/chat/completions".into(),
                status: self.status,
                message: "the prompt is too long".into(),
                retry_after: None,
            });
        }
        self.inner.stream(request).await
    }
}

fn refusing_arena(status: u16) -> Arena {
    let clients: Vec<Arc<dyn ChatModel>> = IDS[..2]
        .iter()
        .map(|id| {
            Arc::new(Refuses {
                inner: Fake {
                    id: id.to_string(),
                    respond: respond_plain,
                    fail: Arc::new(AtomicBool::new(false)),
                    seen: Arc::new(Mutex::new(Vec::new())),
                },
                status,
            }) as Arc<dyn ChatModel>
        })
        .collect();
    arena_of(
        clients,
        WebConfig {
            seed: Some(1),
            ..WebConfig::default()
        },
    )
}

#[tokio::test]
async fn a_prompt_the_models_refuse_does_not_bench_them() {
    for (status, benched) in [
        (400, false),
        (413, false),
        (422, false),
        (500, true),
        (503, true),
    ] {
        let arena = refusing_arena(status);
        let (browser, _) = Browser::open(&arena.router).await;
        let (_, reply) = browser.chat(&arena.router, None, &"x".repeat(2048)).await;
        assert!(
            reply.events().iter().any(|(n, _)| n == "failed"),
            "{status}: {}",
            reply.body
        );
        reply.assert_no_secret("a refusal");
        assert!(!reply.body.contains("s3cret"), "{}", reply.body);
        // The next voter's ordinary prompt finds both models, unless they failed on their own.
        let next = browser
            .post(&arena.router, "/api/chat", json!({"prompt": "hello"}))
            .await;
        let expected = if benched {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::OK
        };
        assert_eq!(next.status, expected, "HTTP {status}: {}", next.body);
    }
    for (error, benched) in [
        (ModelError::InvalidRequest("too long".into()), false),
        (http_error(400), false),
        (http_error(401), true),
        (http_error(404), true),
        (http_error(429), true),
        (http_error(502), true),
        (
            ModelError::Timeout {
                url: String::new(),
                what: "the answer",
                after: Duration::from_secs(1),
            },
            true,
        ),
        (
            ModelError::Connect {
                url: String::new(),
                message: "refused".into(),
            },
            true,
        ),
    ] {
        assert_eq!(is_models_fault(&error), benched, "{error}");
    }
}

fn http_error(status: u16) -> ModelError {
    ModelError::Http {
        url: String::new(),
        status,
        message: String::new(),
        retry_after: None,
    }
}

#[tokio::test]
async fn deeply_nested_answers_render_quickly_and_health_answers_meanwhile() {
    // One async worker: a render on it would hold up every other request.
    let arena = arena();
    let (browser, _) = Browser::open(&arena.router).await;
    let router = arena.router.clone();
    let started = Instant::now();
    let battle = tokio::spawn(async move {
        browser
            .chat(&router, None, "nested quotes, 32 KiB of them")
            .await
    });
    let mut slowest = Duration::ZERO;
    let mut answered = 0;
    while !battle.is_finished() {
        // The request "arrives" when the pause ends: a busy worker answers it late.
        let asked = Instant::now() + Duration::from_millis(5);
        tokio::time::sleep(Duration::from_millis(5)).await;
        let health = get(&arena.router, "/health", "").await;
        assert_eq!(health.status, StatusCode::OK);
        slowest = slowest.max(asked.elapsed());
        answered += 1;
    }
    let (_, reply) = battle.await.unwrap();
    let took = started.elapsed();
    let [a, b] = answers(&reply);
    for html in [a, b] {
        assert_eq!(html.matches("<blockquote>").count(), render::MAX_NESTING);
    }
    // Before: one render of the answer took seconds, on the worker /health needed.
    assert!(took < Duration::from_secs(5), "the battle took {took:?}");
    assert!(
        slowest < Duration::from_millis(500),
        "/health took {slowest:?} ({answered} answers)"
    );
    assert!(answered >= 1);
}

/// A client that makes its own cookies, a fresh pair for every vote, as a script would.
struct Scripted {
    http: reqwest::Client,
    base: String,
}

impl Scripted {
    async fn battle_and_vote(&self) -> (reqwest::StatusCode, Value) {
        let csrf = security::random_token();
        let cookie = format!(
            "{}={}; {}={csrf}",
            security::VOTER_COOKIE,
            security::random_token(),
            security::CSRF_COOKIE
        );
        let post = |path: &str, body: Value| {
            self.http
                .post(format!("{}{path}", self.base))
                .header("content-type", "application/json")
                .header("cookie", &cookie)
                .header("x-csrf-token", &csrf)
                .body(body.to_string())
                .send()
        };
        let stream = post("/api/chat", json!({"prompt": "hi"}))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let reply = Reply {
            status: StatusCode::OK,
            headers: Default::default(),
            body: stream,
        };
        let id = reply.events()[0].1["battle_id"]
            .as_str()
            .unwrap()
            .to_string();
        let vote = post("/api/vote", json!({"battle_id": id, "winner": "tie"}))
            .await
            .unwrap();
        let status = vote.status();
        (status, vote.json().await.unwrap())
    }
}

#[tokio::test]
async fn fresh_cookies_do_not_reset_the_cap_of_an_address() {
    let arena = arena_with(
        2,
        WebConfig {
            daily_cap: 3,
            address_daily_cap: 3,
            ..WebConfig::default()
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = arena
        .router
        .clone()
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let client = Scripted {
        http: reqwest::Client::new(),
        base,
    };
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let (status, body) = client.battle_and_vote().await;
        if status != reqwest::StatusCode::OK {
            assert_eq!(body["error"]["code"], "address_cap", "{body}");
            assert!(
                body["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("24 hours"),
                "{body}"
            );
        }
        statuses.push(status.as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429, 429]);
    let votes = arena.store.votes().unwrap();
    assert_eq!(votes.len(), 3);
    // Six voters as far as cookies go, one address.
    assert!(votes.iter().all(|v| v.ip_hash == votes[0].ip_hash));
    server.abort();
}

#[tokio::test]
async fn a_cached_leaderboard_reads_no_votes() {
    let arena = arena();
    let (browser, _) = Browser::open(&arena.router).await;
    let (id, _) = browser.chat(&arena.router, None, "hello").await;
    browser.vote(&arena.router, &id, "model_a").await;
    let reads = || arena.state.boards.reads();
    assert_eq!(reads(), 0);
    let first = get(&arena.router, "/api/leaderboard?lang=English", "").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(reads(), 1);
    // The same board, however the language is spelt, page or JSON: no read.
    for path in [
        "/api/leaderboard?lang=English",
        "/api/leaderboard?lang=english",
        "/leaderboard?lang=%20ENGLISH%20",
        "/api/leaderboard?lang=en",
        "/leaderboard?lang=en-US",
    ] {
        assert_eq!(get(&arena.router, path, "").await.status, StatusCode::OK);
    }
    assert_eq!(reads(), 1);
    // A vote makes it stale.
    let (id, _) = browser.chat(&arena.router, None, "hello").await;
    browser.vote(&arena.router, &id, "model_b").await;
    let after = get(&arena.router, "/api/leaderboard?lang=English", "")
        .await
        .json();
    assert_eq!(after["tab_votes"], 2);
    assert_eq!(reads(), 2);
}

#[tokio::test]
async fn unknown_languages_are_refused() {
    let arena = arena();
    for path in ["/api/leaderboard", "/leaderboard"] {
        for lang in ["Klingon", &"x".repeat(5000), "English%00", "%3Cscript%3E"] {
            let reply = get(&arena.router, &format!("{path}?lang={lang}"), "").await;
            assert_eq!(
                reply.status,
                StatusCode::BAD_REQUEST,
                "{lang}: {}",
                reply.body
            );
            let json = reply.json();
            assert_eq!(json["error"]["code"], "language");
            let message = json["error"]["message"].as_str().unwrap();
            assert!(
                message.contains("known: Overall, zh (Chinese), en (English)"),
                "{message}"
            );
            assert!(message.len() < 300, "{message}");
        }
        for lang in [
            "", "Overall", "overall", "Chinese", "unknown", "rUSSIAN", "zh", "EN",
        ] {
            let reply = get(&arena.router, &format!("{path}?lang={lang}"), "").await;
            assert_eq!(reply.status, StatusCode::OK, "{lang}: {}", reply.body);
        }
    }
    // The unknown languages cached nothing and read no votes; a code and its name share one
    // board (zh is Chinese): Overall, Chinese, unknown, Russian, English.
    assert_eq!(arena.state.boards.reads(), 5);
}

#[tokio::test]
async fn health_answers_while_a_vote_is_scored() {
    // One async worker, as above: the vote's style features must not run on it.
    let arena = arena_with(
        2,
        WebConfig {
            max_battle_bytes: 512 * 1024,
            ..WebConfig::default()
        },
    );
    let (browser, _) = Browser::open(&arena.router).await;
    let (id, _) = browser.chat(&arena.router, None, "code fences").await;
    for _ in 1..4 {
        let (_, reply) = browser
            .chat(&arena.router, Some(&id), "more code fences")
            .await;
        assert_eq!(reply.events().last().unwrap().1["can_vote"], true);
    }
    let router = arena.router.clone();
    let vote = tokio::spawn(async move { browser.vote(&router, &id, "tie").await });
    let mut slowest = Duration::ZERO;
    while !vote.is_finished() {
        // The request "arrives" when the pause ends: a busy worker answers it late.
        let asked = Instant::now() + Duration::from_millis(5);
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(
            get(&arena.router, "/health", "").await.status,
            StatusCode::OK
        );
        slowest = slowest.max(asked.elapsed());
    }
    assert_eq!(vote.await.unwrap().status, StatusCode::OK);
    let stored = &arena.store.votes().unwrap()[0];
    assert_eq!(stored.turns, 4);
    // Before, scoring these two 128 KiB sides held the worker for seconds (debug build).
    assert!(
        slowest < Duration::from_millis(400),
        "/health took {slowest:?}"
    );
}

/// `/board` before any audit run says what to run; a judge's votes (`assay audit --pairwise`)
/// stay out of the people's leaderboard.
#[tokio::test]
async fn board_page_and_judge_votes_apart_from_peoples() {
    let arena = arena();
    let page = get(&arena.router, "/board", "").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("No finished audit runs"),
        "{}",
        page.body
    );
    assert!(page.body.contains("aria-current=\"page\">Board</a>"));

    let (browser, _) = Browser::open(&arena.router).await;
    let (id, _) = browser.chat(&arena.router, None, "hello").await;
    assert_eq!(
        browser.vote(&arena.router, &id, "model_a").await.status,
        StatusCode::OK
    );
    let people = get(&arena.router, "/api/leaderboard", "").await.json();
    let models: Vec<String> = people["leaderboard"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["model"].as_str().unwrap().to_string())
        .collect();
    let judge_vote = assay_store::VoteRecord {
        battle_id: "judge-1".into(),
        created_at: "2026-12-01T00:00:00Z".into(),
        battle_started_at: "2026-12-01T00:00:00Z".into(),
        model_a: models[0].clone(),
        model_b: models[1].clone(),
        winner: "model_b".into(),
        conversation_a: json!([]),
        conversation_b: json!([]),
        language: "English".into(),
        voter_id: "judge:some-model".into(),
        ip_hash: String::new(),
        identity_leak: false,
        turns: 1,
        metadata: json!({"kind": "judge"}),
    };
    assert!(arena.store.record_vote(&judge_vote).unwrap());
    assert_eq!(arena.store.votes().unwrap().len(), 2);
    // A new vote through the page drops the cache; the judge's vote is still not counted.
    let (id, _) = browser.chat(&arena.router, None, "hello again").await;
    assert_eq!(
        browser.vote(&arena.router, &id, "tie").await.status,
        StatusCode::OK
    );
    let people = get(&arena.router, "/api/leaderboard", "").await.json();
    assert_eq!(people["leaderboard"]["battles"], 2, "{people}");
}
