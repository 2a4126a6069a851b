//! `assay guard` as a process, in front of a scripted upstream started by the test (an
//! OpenAI-compatible SSE server on 127.0.0.1 that sends a planted term split across chunks,
//! notes how far it got and when its client went away) and in front of a real `assay serve`.

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::scripted::{script, scripted_upstream};
use common::{GuardProcess, Server};
use serde_json::{json, Value};

/// The data of every SSE event of a streamed answer, parsed (`[DONE]` as a string).
async fn stream_events(
    url: &str,
    key: Option<&str>,
    prompt: &str,
) -> (reqwest::StatusCode, Vec<Value>, String) {
    let client = reqwest::Client::new();
    let mut request = client
        .post(format!("{url}/v1/chat/completions"))
        .json(&json!({
            "model": "scripted",
            "messages": [{"role": "user", "content": prompt}],
            "stream": true,
        }));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    let events = body
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap_or(Value::String(d.to_string())))
        .collect();
    (status, events, body)
}

fn content(events: &[Value]) -> String {
    events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .collect()
}

fn finish(events: &[Value]) -> Option<String> {
    events.iter().find_map(|e| {
        e["choices"][0]["finish_reason"]
            .as_str()
            .map(str::to_string)
    })
}

/// `assay guard` in front of the scripted upstream at `upstream`, with `terms` as its keyword
/// list and its audit log in DIR/g.db, plus `extra` flags.
fn scripted_guard(
    upstream: &str,
    dir: &std::path::Path,
    terms: &str,
    extra: &[&str],
) -> GuardProcess {
    let db = dir.join("g.db").display().to_string();
    let mut args = vec![
        "--upstream".to_string(),
        format!("{upstream}#scripted"),
        "--keywords".to_string(),
        keywords(dir, terms),
        "--db".to_string(),
        db,
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    GuardProcess::start(&args)
}

fn keywords(dir: &std::path::Path, terms: &str) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("keywords.txt");
    std::fs::write(&path, terms).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retract_mode_withdraws_mid_stream_and_stops_the_upstream() {
    let dir = tempfile::tempdir().unwrap();
    let answer = "Sure, here is a long answer. To build a pipebomb you need the following parts, and then many more steps that never arrive because the guard stops them.";
    let script = script(answer, 3, 15, None);
    let upstream = scripted_upstream(Arc::clone(&script)).await;
    let db = dir.path().join("g.db").display().to_string();
    let guard = scripted_guard(&upstream, dir.path(), "pipebomb\n", &["--mode", "retract"]);
    let (status, events, body) = stream_events(&guard.url, None, "how do I build things").await;
    assert_eq!(status, 200);
    // Text went out before the term was complete, then a retraction chunk, then the finish.
    let retract = events
        .iter()
        .find_map(|e| e.get("assay").and_then(|a| a.get("retract")))
        .unwrap_or_else(|| panic!("no retraction in {body}"));
    assert_eq!(retract["offset"], 0);
    assert_eq!(retract["category"], "keywords");
    // An ad-hoc keyword list is named neutrally to the client, not "keywords".
    assert!(retract["replace_with"]
        .as_str()
        .unwrap()
        .contains("(restricted content)"));
    assert!(content(&events).contains("To build a pipe"), "{body}");
    assert_eq!(finish(&events).as_deref(), Some("content_filter"));
    assert_eq!(events.last(), Some(&Value::String("[DONE]".into())));
    // The upstream was cut off: it had far more to send, and its client went away.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !script.dropped.load(Ordering::SeqCst) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        script.dropped.load(Ordering::SeqCst),
        "the upstream stream was dropped"
    );
    let sent = script.sent.load(Ordering::SeqCst);
    assert!(
        sent < script.chunks.len() - 10,
        "{sent} of {} chunks sent",
        script.chunks.len()
    );

    // The intervention is in the audit log, with the term hashed.
    let lines = audit_log(&db);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["direction"], "output");
    assert_eq!(lines[0]["action"], "retract");
    assert!(lines[0]["rule"]
        .as_str()
        .unwrap()
        .starts_with("hmac-sha256:"));

    let metrics = reqwest::get(format!("{}/metrics", guard.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("assay_guard_requests_total{outcome=\"stopped\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("assay_guard_chunk_seconds_count"),
        "{metrics}"
    );
}

/// `assay guard log` with the given flags: (exit success, stdout lines as JSON, stderr).
fn guard_log(db: &str, flags: &[&str]) -> (bool, Vec<Value>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(["guard", "log", "--db", db, "--json"])
        .args(flags)
        .output()
        .unwrap();
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        out.status.success(),
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// In retract mode a refused prompt is logged as a block (nothing was shown to withdraw); the
/// refusal names an ad-hoc keyword list neutrally, in Chinese for a Chinese prompt; the log
/// takes ages for --since and warns about a category it has never seen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_prompts_are_blocks_named_neutrally_and_the_log_reads_ages() {
    let dir = tempfile::tempdir().unwrap();
    let script = script("never sent", 3, 0, None);
    let upstream = scripted_upstream(Arc::clone(&script)).await;
    let db = dir.path().join("g.db").display().to_string();
    let guard = scripted_guard(
        &upstream,
        dir.path(),
        "pipebomb\n炸弹\n",
        &["--mode", "retract"],
    );
    let (_, events, body) = stream_events(&guard.url, None, "怎么制作炸弹？").await;
    let refusal = content(&events);
    assert!(refusal.contains("（受限内容）"), "{body}");
    assert!(!refusal.contains("keywords"), "{body}");
    let (_, events, body) = stream_events(&guard.url, None, "how to make a pipebomb").await;
    assert!(content(&events).contains("(restricted content)"), "{body}");
    assert_eq!(finish(&events).as_deref(), Some("content_filter"));
    assert_eq!(
        script.requests.load(Ordering::SeqCst),
        0,
        "the model was not asked"
    );
    // The log is written off the request path: wait for both events.
    let deadline = Instant::now() + Duration::from_secs(10);
    while guard_log(&db, &[]).1.len() < 2 {
        assert!(Instant::now() < deadline, "the refusals were not logged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(guard);

    let (ok, lines, stderr) = guard_log(&db, &["--since", "1h"]);
    assert!(ok, "{stderr}");
    assert_eq!(lines.len(), 2, "{lines:?}");
    for line in &lines {
        assert_eq!(line["direction"], "input");
        assert_eq!(line["action"], "block", "{line}");
        assert_eq!(line["category"], "keywords");
    }
    for since in ["30m", "2d", "2020-01-01T00:00:00Z"] {
        let (ok, lines, stderr) = guard_log(&db, &["--since", since]);
        assert!(
            ok && lines.len() == 2,
            "--since {since}: {lines:?} {stderr}"
        );
    }
    let (ok, _, stderr) = guard_log(&db, &["--since", "yesterday"]);
    assert!(!ok, "an unreadable --since fails");
    assert!(stderr.contains("30m, 1h or 2d"), "{stderr}");
    let (ok, lines, stderr) = guard_log(&db, &["--category", "weapon"]);
    assert!(ok && lines.is_empty(), "{stderr}");
    assert_eq!(
        stderr.trim(),
        "warning: no event has category \"weapon\"; categories in the log: keywords"
    );
    let (ok, lines, stderr) = guard_log(&db, &["--category", "keywords"]);
    assert!(ok && lines.len() == 2 && stderr.is_empty(), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holdback_keeps_a_split_term_from_the_client() {
    let dir = tempfile::tempdir().unwrap();
    let answer = "Fine, here is a longer introduction before the word. 制作炸弹 needs care; and then the answer goes on for a while longer.";
    for chunk_chars in [1, 2, 5] {
        let script = script(answer, chunk_chars, 2, None);
        let upstream = scripted_upstream(Arc::clone(&script)).await;
        let guard = scripted_guard(&upstream, dir.path(), "炸弹\n", &[]);
        let (_, events, body) = stream_events(&guard.url, None, "tell me").await;
        assert!(!body.contains("炸弹"), "chunks of {chunk_chars}: {body}");
        let blocked = events
            .iter()
            .find_map(|e| e.get("assay").and_then(|a| a.get("blocked")))
            .unwrap_or_else(|| panic!("no block in {body}"));
        assert_eq!(blocked["direction"], "output");
        assert_eq!(finish(&events).as_deref(), Some("content_filter"));
        // What came before the term (less the held-back window) was shown.
        assert!(content(&events).starts_with("Fine, here is"), "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_that_dies_mid_answer_gives_an_error_event_and_done() {
    let dir = tempfile::tempdir().unwrap();
    let script = script(
        "A perfectly fine answer that is cut off in the middle",
        4,
        5,
        Some(5),
    );
    let upstream = scripted_upstream(Arc::clone(&script)).await;
    let guard = scripted_guard(&upstream, dir.path(), "pipebomb\n", &["--mode", "retract"]);
    let started = Instant::now();
    let (status, events, body) = stream_events(&guard.url, None, "hello").await;
    assert_eq!(status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "no hung connection"
    );
    assert!(
        events.iter().any(|e| e.get("error").is_some()),
        "an error event: {body}"
    );
    assert_eq!(events.last(), Some(&Value::String("[DONE]".into())));
    assert!(content(&events).starts_with("A perfectly"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rate_limits_and_suspension() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.toml");
    let add = |id: &str, rpm: &str| {
        let out = common::succeed(
            std::process::Command::new(env!("CARGO_BIN_EXE_assay"))
                .args(["guard", "keys", "add", "--file"])
                .arg(&keys)
                .args(["--id", id, "--requests-per-minute", rpm]),
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let limited = add("limited", "2");
    let abuser = add("abuser", "100");
    assert!(!std::fs::read_to_string(&keys).unwrap().contains(&limited));
    let settings = dir.path().join("guard.toml");
    std::fs::write(
        &settings,
        "[suspension]\nin_a_row = 3\nper_day = 5\nsuspend_seconds = 2\n",
    )
    .unwrap();
    let script = script("An ordinary answer.", 5, 1, None);
    let upstream = scripted_upstream(Arc::clone(&script)).await;
    let guard = scripted_guard(
        &upstream,
        dir.path(),
        "pipebomb\n",
        &[
            "--keys",
            &keys.display().to_string(),
            "--config",
            &settings.display().to_string(),
        ],
    );
    let (status, _, _) = stream_events(&guard.url, None, "hi").await;
    assert_eq!(status, 401);
    let (status, _, _) = stream_events(&guard.url, Some("sk-wrong"), "hi").await;
    assert_eq!(status, 401);

    // Two requests a minute: the third is turned away with a Retry-After.
    for _ in 0..2 {
        let (status, events, _) = stream_events(&guard.url, Some(&limited), "hi").await;
        assert_eq!(status, 200);
        assert_eq!(finish(&events).as_deref(), Some("stop"));
    }
    let response = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", guard.url))
        .bearer_auth(&limited)
        .json(&json!({"model": "scripted", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry), "{retry}");

    // Three refused prompts in a row suspend a key; it is released after the set time.
    let requests_before = script.requests.load(Ordering::SeqCst);
    for _ in 0..3 {
        let (status, events, body) =
            stream_events(&guard.url, Some(&abuser), "how to make a pipebomb").await;
        assert_eq!(status, 200);
        assert_eq!(finish(&events).as_deref(), Some("content_filter"), "{body}");
        let blocked = events
            .iter()
            .find_map(|e| e.get("assay").and_then(|a| a.get("blocked")))
            .unwrap();
        assert_eq!(blocked["direction"], "input");
    }
    assert_eq!(
        script.requests.load(Ordering::SeqCst),
        requests_before,
        "refused prompts never reach the model"
    );
    let response = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", guard.url))
        .bearer_auth(&abuser)
        .json(&json!({"model": "scripted", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(response.headers().contains_key("retry-after"));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (status, events, _) = stream_events(&guard.url, Some(&abuser), "hi").await;
    assert_eq!(status, 200, "released after the suspension");
    assert_eq!(finish(&events).as_deref(), Some("stop"));
}

#[test]
fn an_invalid_pack_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("pack");
    std::fs::create_dir_all(&pack).unwrap();
    std::fs::write(
        pack.join("policy.toml"),
        "name = \"x\"\n[[category]]\nid = \"\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_assay"))
        .args([
            "guard",
            "--port",
            "0",
            "--upstream",
            "http://127.0.0.1:9/v1#m",
            "--policy",
        ])
        .arg(&pack)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("policy.toml"), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing listened");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_front_of_the_real_local_model_with_sighup_reload() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&["--slots", "1"]);
    let terms = keywords(dir.path(), "pipebomb\n");
    let guard = GuardProcess::start(&[
        "--upstream",
        &format!("{}/v1#smollm2", server.base),
        "--keywords",
        &terms,
        "--db",
        &dir.path().join("g.db").display().to_string(),
    ]);
    let ask = |prompt: &str| {
        let url = guard.url.clone();
        let prompt = prompt.to_string();
        async move {
            reqwest::Client::new()
                .post(format!("{url}/v1/chat/completions"))
                .json(
                    &json!({"model": "smollm2", "max_tokens": 24, "temperature": 0,
                              "messages": [{"role": "user", "content": prompt}]}),
                )
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let answer = ask("Name a colour.").await;
    let reason = answer["choices"][0]["finish_reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(reason == "stop" || reason == "length", "{answer}");
    assert!(answer.get("assay").is_none());
    let refused = ask("what is a pipebomb").await;
    assert_eq!(refused["choices"][0]["finish_reason"], "content_filter");
    assert_eq!(refused["assay"]["blocked"]["direction"], "input");

    // A hit in retract mode stops the local engine: its slot is freed and counted as
    // cancelled.
    let cancelled = || async {
        reqwest::get(format!("{}/health", server.base))
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()["cancelled"]
            .as_u64()
            .unwrap()
    };
    let before = cancelled().await;
    let counting = GuardProcess::start(&[
        "--upstream",
        &format!("{}/v1#smollm2", server.base),
        "--keywords",
        &keywords(
            &dir.path().join("counting"),
            "5\n6\n7\n8\nfive\nsix\nseven\neight\n",
        ),
        "--mode",
        "retract",
        "--db",
        &dir.path().join("g.db").display().to_string(),
    ]);
    let (_, events, body) = {
        let client = reqwest::Client::new();
        let response = client
            .post(format!("{}/v1/chat/completions", counting.url))
            .json(&json!({"model": "smollm2", "max_tokens": 300, "temperature": 0, "stream": true,
                          "messages": [{"role": "user", "content": "Count from 1 to 40, one number per line."}]}))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        let events: Vec<Value> = body
            .split("\n\n")
            .filter_map(|e| e.strip_prefix("data: "))
            .map(|d| serde_json::from_str(d).unwrap_or(Value::String(d.to_string())))
            .collect();
        (status, events, body)
    };
    assert!(
        events
            .iter()
            .any(|e| e.get("assay").and_then(|a| a.get("retract")).is_some()),
        "the count reached a listed number and was withdrawn: {body}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while cancelled().await <= before {
        assert!(
            Instant::now() < deadline,
            "the engine never saw the answer cancelled"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(counting);

    // A new term after SIGHUP.
    std::fs::write(&terms, "pipebomb\ncolour\n").unwrap();
    let status = std::process::Command::new("kill")
        .args(["-HUP", &guard.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // Wait for the reload to be counted, not on answers: one from the model takes seconds on a
    // loaded machine.
    let deadline = Instant::now() + Duration::from_secs(10);
    while reloads(&guard.url, "", "applied").await == 0 {
        assert!(
            Instant::now() < deadline,
            "the reloaded policy never applied"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let answer = ask("Name a colour.").await;
    assert_eq!(answer["choices"][0]["finish_reason"], "content_filter");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_page_withdraws_an_answer_in_a_real_browser() {
    common::check_browser_prerequisites();
    let dir = tempfile::tempdir().unwrap();
    let answer = "Sure <img src=x onerror=alert(1)> here it is. To build a pipebomb you need the following parts, and then many more steps that never arrive.";
    let script = script(answer, 3, 60, None);
    let upstream = scripted_upstream(Arc::clone(&script)).await;
    let guard = scripted_guard(&upstream, dir.path(), "pipebomb\n", &["--mode", "retract"]);
    let url = guard.url.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(common::browser_dir().join("guard.mjs"))
            .arg(&url)
            .env("ASSAY_CHROMIUM", common::chromium())
            .current_dir(common::browser_dir())
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser checks failed:\n{stdout}\n{stderr}"
    );
    for check in [
        "ok - the replacement is shown in its place",
        "ok - Shift+Enter does not send",
        "ok - Enter sends the prompt, new line included",
        "ok - Send is disabled while the answer streams",
        "ok - Send is enabled again once the answer has ended",
        "ok - the chat page fits a 390 px phone",
    ] {
        assert!(stdout.contains(check), "{check:?} missing:\n{stdout}");
    }
}

/// The guard process's resident memory, in MB.
fn rss_mb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb / 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_slow_clients_keep_memory_bounded() {
    rlimit::increase_nofile_limit(u64::MAX).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Each answer is 1 MB: a guard that buffered what its clients had not read yet would need
    // a gigabyte for a thousand of them.
    let line = "All fine here, nothing to see, just a long and harmless answer text. ";
    let answer = line.repeat(1_000_000 / line.len());
    let script = script(&answer, 1024, 0, None);
    let upstream = scripted_upstream(Arc::clone(&script)).await;
    // This process plays a thousand clients and the upstream at once: on a loaded machine it
    // can take longer than the default header deadline (30 s) to send a request, which is not
    // what this test is about.
    let guard = scripted_guard(
        &upstream,
        dir.path(),
        "pipebomb\n",
        &["--mode", "retract", "--header-timeout", "600"],
    );
    let pid = guard.child.id();
    let idle = rss_mb(pid);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut clients = Vec::new();
    for _ in 0..1000 {
        let client = client.clone();
        let url = guard.url.clone();
        clients.push(tokio::spawn(async move {
            let response = client
                .post(format!("{url}/v1/chat/completions"))
                .json(&json!({"model": "scripted", "stream": true,
                              "messages": [{"role": "user", "content": "go on"}]}))
                .send()
                .await?;
            let mut body = response.bytes_stream();
            // Read a little, then stall: the client is slow.
            let first = futures::StreamExt::next(&mut body).await;
            tokio::time::sleep(Duration::from_secs(4)).await;
            drop(body);
            Ok::<bool, reqwest::Error>(first.is_some())
        }));
    }
    let mut peak = 0;
    let deadline = Instant::now() + Duration::from_secs(4);
    while Instant::now() < deadline {
        peak = peak.max(rss_mb(pid));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let health = reqwest::get(format!("{}/health", guard.url)).await.unwrap();
    assert!(
        health.status().is_success(),
        "the guard still answers under load"
    );
    let mut started = 0;
    for c in clients {
        if let Ok(Ok(true)) = c.await {
            started += 1;
        }
    }
    assert_eq!(started, 1000, "every client got the start of its answer");
    eprintln!("guard RSS: {idle} MB idle, {peak} MB peak with 1000 slow clients");
    // Measured: about 50 MB above idle (the connections themselves).
    assert!(peak < idle + 200, "memory grew from {idle} MB to {peak} MB");
}

/// `assay guard log --db DB --json`, parsed.
fn audit_log(db: &str) -> Vec<Value> {
    let out = common::succeed(
        std::process::Command::new(env!("CARGO_BIN_EXE_assay"))
            .args(["guard", "log", "--db", db, "--json"]),
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_term_shown_just_before_the_upstream_dies_is_withdrawn_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    // The term is the last thing sent: only the end of the answer makes it certain, and the
    // upstream's connection ends there without a finish or [DONE].
    let answer = "Sure, here it is. What you need is a pipebomb";
    let chunks = answer.chars().count().div_ceil(3);
    let script = script(answer, 3, 5, Some(chunks));
    let upstream = scripted_upstream(Arc::clone(&script)).await;
    let db = dir.path().join("g.db").display().to_string();
    let guard = scripted_guard(&upstream, dir.path(), "pipebomb\n", &["--mode", "retract"]);
    let (status, events, body) = stream_events(&guard.url, None, "tell me").await;
    assert_eq!(status, 200);
    assert!(content(&events).contains("pipebomb"), "{body}");
    let position = |f: &dyn Fn(&Value) -> bool| events.iter().position(f);
    let retract = position(&|e| e.get("assay").and_then(|a| a.get("retract")).is_some())
        .unwrap_or_else(|| panic!("no retraction: {body}"));
    let error =
        position(&|e| e.get("error").is_some()).unwrap_or_else(|| panic!("no error event: {body}"));
    assert!(retract < error, "the retraction comes first: {body}");
    assert_eq!(events[retract]["assay"]["retract"]["offset"], 0);
    assert_eq!(events.last(), Some(&Value::String("[DONE]".into())));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let logged = audit_log(&db);
        if let [event] = logged.as_slice() {
            assert_eq!(event["direction"], "output");
            assert_eq!(event["action"], "retract");
            assert_eq!(event["category"], "keywords");
            break;
        }
        assert!(Instant::now() < deadline, "{logged:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_files_are_private_and_log_hashes_are_keyed_and_stable() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.toml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(["guard", "keys", "add", "--file"])
        .arg(&keys)
        .args(["--id", "a"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(mode(&keys), 0o600, "{:o}", mode(&keys));

    let script = script("An ordinary answer.", 5, 1, None);
    let upstream = scripted_upstream(Arc::clone(&script)).await;
    let db = dir.path().join("g.db").display().to_string();
    let refuse = |url: String| async move {
        let (_, events, body) = stream_events(&url, None, "what is a pipebomb").await;
        assert_eq!(finish(&events).as_deref(), Some("content_filter"), "{body}");
    };
    // Two runs of the guard on the same store: the secret made by the first (beside the
    // store, 0600) keys the second's hashes too.
    let mut logged = Vec::new();
    for run in 1..=2 {
        let guard = scripted_guard(&upstream, dir.path(), "pipebomb\n", &[]);
        refuse(guard.url.clone()).await;
        // The log is written behind the answer: wait for it before the guard is killed.
        let deadline = Instant::now() + Duration::from_secs(10);
        while logged.len() < run {
            assert!(Instant::now() < deadline, "{logged:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
            logged = audit_log(&db);
        }
    }
    let secret = dir.path().join("guard-hash-secret");
    assert_eq!(mode(&secret), 0o600);
    // hash_key is the bare SHA-256 (hex) that the log kept before.
    let bare = assay_guard::keys::hash_key("pipebomb");
    let rule = logged[0]["rule"].as_str().unwrap().to_string();
    assert!(rule.starts_with("hmac-sha256:"), "{rule}");
    assert!(!rule.contains(&bare), "not the bare SHA-256 of the term");
    assert_eq!(logged[1]["rule"], rule, "stable across restarts");
    let kept = std::fs::read_to_string(&secret).unwrap();
    assert_eq!(
        rule,
        assay_guard::RuleKey::new(kept.trim().as_bytes()).hash("pipebomb")
    );

    // A secret given in a file is used as it is, and nothing is made.
    let other = tempfile::tempdir().unwrap();
    let given = other.path().join("secret");
    std::fs::write(&given, "deployment-secret\n").unwrap();
    let other_db = other.path().join("g.db").display().to_string();
    let terms = keywords(other.path(), "pipebomb\n");
    let guard = GuardProcess::start(&[
        "--upstream",
        &format!("{upstream}#scripted"),
        "--keywords",
        &terms,
        "--db",
        &other_db,
        "--hash-secret-file",
        &given.display().to_string(),
    ]);
    refuse(guard.url.clone()).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut logged = audit_log(&other_db);
    while logged.is_empty() {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
        logged = audit_log(&other_db);
    }
    assert_eq!(
        logged[0]["rule"],
        assay_guard::RuleKey::new(b"deployment-secret").hash("pipebomb")
    );
    assert!(!other.path().join("guard-hash-secret").exists());
}

/// `assay_guard_reloads_total{result=…}` from the guard's /metrics, read with `token`.
async fn reloads(url: &str, token: &str, result: &str) -> u64 {
    let text = common::text_of(
        reqwest::Client::new()
            .get(format!("{url}/metrics"))
            .bearer_auth(token),
    )
    .await;
    let prefix = format!("assay_guard_reloads_total{{result=\"{result}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0, |v| v.parse().unwrap())
}

fn hangup(guard: &GuardProcess) {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &guard.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Sends SIGHUP and waits until the guard counts the reload as `result`.
async fn reload(guard: &GuardProcess, token: &str, result: &str) {
    let before = reloads(&guard.url, token, result).await;
    hangup(guard);
    let deadline = Instant::now() + Duration::from_secs(10);
    while reloads(&guard.url, token, result).await == before {
        assert!(Instant::now() < deadline, "no {result} reload counted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_is_checked_like_a_start() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("metrics-token");
    std::fs::write(&token_file, "mt-123\n").unwrap();
    let script = script("An ordinary answer.", 5, 1, None);
    let upstream = scripted_upstream(Arc::clone(&script)).await;
    let guard = scripted_guard(
        &upstream,
        dir.path(),
        "pipebomb\n",
        &["--metrics-token-file", &token_file.display().to_string()],
    );
    // The token closes /metrics to everyone else.
    let status = reqwest::get(format!("{}/metrics", guard.url))
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);
    let refused = |prompt: &'static str| {
        let url = guard.url.clone();
        async move {
            let (_, events, _) = stream_events(&url, None, prompt).await;
            finish(&events).as_deref() == Some("content_filter")
        }
    };
    assert!(refused("what is a pipebomb").await);
    let terms = dir.path().join("keywords.txt");
    // Empty, comments only, cut off in the middle of a line: each is turned down, and the
    // old policy keeps refusing.
    for bad in ["", "# nothing here\n\n", "pipebomb\ncolo"] {
        std::fs::write(&terms, bad).unwrap();
        reload(&guard, "mt-123", "rejected").await;
        assert!(refused("what is a pipebomb").await, "after {bad:?}");
    }
    std::fs::write(&terms, "pipebomb\ncolour\n").unwrap();
    reload(&guard, "mt-123", "applied").await;
    assert!(refused("name a colour").await);

    // A pack: a reload that drops a category the settings name, or empties one that had
    // terms, is turned down.
    let pack = dir.path().join("pack");
    std::fs::create_dir_all(pack.join("keywords")).unwrap();
    let manifest = |categories: &str| {
        std::fs::write(
            pack.join("policy.toml"),
            format!("name = \"p\"\n{categories}"),
        )
        .unwrap()
    };
    let weapons = "[[categories]]\nid = \"weapons\"\nkeywords = [\"keywords/weapons.txt\"]\n";
    let drugs = "[[categories]]\nid = \"drugs\"\nkeywords = [\"keywords/drugs.txt\"]\n";
    manifest(&format!("{weapons}{drugs}"));
    std::fs::write(pack.join("keywords/weapons.txt"), "pipebomb\n").unwrap();
    std::fs::write(pack.join("keywords/drugs.txt"), "heroin\n").unwrap();
    let settings = dir.path().join("guard.toml");
    std::fs::write(&settings, "[categories.drugs]\naction = \"log\"\n").unwrap();
    let packed = GuardProcess::start(&[
        "--upstream",
        &format!("{upstream}#scripted"),
        "--policy",
        &pack.display().to_string(),
        "--config",
        &settings.display().to_string(),
        "--db",
        &dir.path().join("g.db").display().to_string(),
        "--metrics-token-file",
        &token_file.display().to_string(),
    ]);
    manifest(weapons);
    reload(&packed, "mt-123", "rejected").await;
    manifest(&format!("{weapons}{drugs}"));
    std::fs::write(pack.join("keywords/weapons.txt"), "# emptied\n").unwrap();
    reload(&packed, "mt-123", "rejected").await;
    std::fs::write(pack.join("keywords/weapons.txt"), "pipebomb\nnapalm\n").unwrap();
    reload(&packed, "mt-123", "applied").await;
    let (_, events, _) = stream_events(&packed.url, None, "napalm recipe").await;
    assert_eq!(finish(&events).as_deref(), Some("content_filter"));
}

/// Whether the process has a handler for SIGHUP (its bit in /proc/PID/status's SigCgt).
#[cfg(target_os = "linux")]
fn catches_sighup(pid: u32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .is_some_and(|mask| mask & 1 != 0)
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sighup_during_start_up_does_not_kill_the_guard() {
    use std::io::{BufRead, BufReader};
    use std::sync::atomic::AtomicBool;
    let dir = tempfile::tempdir().unwrap();
    // A large keyword list makes start-up take a while.
    let terms: String = (0..300_000).map(|i| format!("term{i:06}x\n")).collect();
    let terms = keywords(dir.path(), &terms);
    let script = script("An ordinary answer.", 5, 1, None);
    let upstream = scripted_upstream(Arc::clone(&script)).await;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(["guard", "--host", "127.0.0.1", "--port", "0", "--upstream"])
        .arg(format!("{upstream}#scripted"))
        .args(["--keywords", &terms, "--db"])
        .arg(dir.path().join("g.db"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let printed = Arc::new(AtomicBool::new(false));
    let stdout = child.stdout.take().unwrap();
    let reader = {
        let printed = Arc::clone(&printed);
        std::thread::spawn(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).unwrap();
            printed.store(true, Ordering::SeqCst);
            line
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !catches_sighup(pid) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the guard ended during start-up"
        );
        assert!(Instant::now() < deadline, "the guard never handles SIGHUP");
        std::thread::sleep(Duration::from_millis(1));
    }
    let during_start_up = !printed.load(Ordering::SeqCst);
    let status = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let line = tokio::task::spawn_blocking(move || reader.join().unwrap())
        .await
        .unwrap();
    let alive = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        during_start_up,
        "SIGHUP is handled only once start-up is over"
    );
    assert!(line.contains("http://"), "the guard started: {line:?}");
    assert!(alive, "the guard survived the SIGHUP");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_sites_and_rebound_names_cannot_use_the_guard() {
    let dir = tempfile::tempdir().unwrap();
    let script = script("A fine answer.", 4, 1, None);
    let upstream = scripted_upstream(Arc::clone(&script)).await;
    let guard = scripted_guard(
        &upstream,
        dir.path(),
        "pipebomb\n",
        &["--allowed-hosts", "guard.internal"],
    );
    let port = guard.url.rsplit(':').next().unwrap().to_string();
    let body = json!({
        "model": "scripted",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": true,
    });
    let client = reqwest::Client::new();
    let post = |host: Option<String>, origin: Option<&str>, content_type: &str| {
        let mut request = client
            .post(format!("{}/v1/chat/completions", guard.url))
            .header("content-type", content_type)
            .body(body.to_string());
        if let Some(host) = host {
            request = request.header("host", host);
        }
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };
    // A DNS-rebinding page reaches 127.0.0.1 under its own name.
    let rebound = post(
        Some(format!("evil.example:{port}")),
        None,
        "application/json",
    )
    .await
    .unwrap();
    assert_eq!(rebound.status(), 403);
    assert!(rebound.text().await.unwrap().contains("--allowed-hosts"));
    // Another site's page posting to the guard directly.
    let foreign = post(None, Some("http://evil.example"), "application/json")
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    // A form or text/plain POST, which browsers send cross-site without asking.
    let text = post(None, None, "text/plain").await.unwrap();
    assert_eq!(text.status(), 415);
    assert_eq!(
        script.requests.load(Ordering::SeqCst),
        0,
        "no refused request reached the upstream"
    );

    // The guard's own chat page (same origin) and a name on the allow-list still work.
    let own = post(None, Some(&guard.url), "application/json")
        .await
        .unwrap();
    assert_eq!(own.status(), 200, "{}", own.text().await.unwrap());
    let proxied = post(
        Some(format!("guard.internal:{port}")),
        None,
        "application/json",
    )
    .await
    .unwrap();
    assert_eq!(proxied.status(), 200, "{}", proxied.text().await.unwrap());
}
