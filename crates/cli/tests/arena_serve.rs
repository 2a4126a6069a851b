//! `assay arena` against a scripted upstream: where the IP salt comes from, and the vote cap
//! of one address seen through the real server.

mod arena_process;
mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use arena_process::Arena;
use common::scripted::{script, scripted_upstream};
use serde_json::{json, Value};

/// Two models on one scripted upstream.
async fn models() -> String {
    let base = scripted_upstream(script("Paris is the capital of France.", 6, 0, None)).await;
    format!("{base}#alpha,{base}#beta")
}

/// Battles once with cookies of its own making and votes a tie; answers the vote's status and
/// body.
async fn battle_and_vote(arena: &Arena) -> (u16, Value) {
    let http = reqwest::Client::new();
    let csrf = "c".repeat(64);
    let voter: String = format!("{:064x}", next_voter_number());
    let cookie = format!("assay_voter={voter}; assay_csrf={csrf}");
    let post = |path: &str, body: Value| {
        http.post(format!("{}{path}", arena.url))
            .header("content-type", "application/json")
            .header("cookie", &cookie)
            .header("x-csrf-token", &csrf)
            .body(body.to_string())
            .send()
    };
    let stream = post(
        "/api/chat",
        json!({"prompt": "What is the capital of France?"}),
    )
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    let battle: Value = stream
        .lines()
        .find_map(|l| l.strip_prefix("data:"))
        .and_then(|data| serde_json::from_str(data.trim()).ok())
        .unwrap_or_else(|| panic!("no battle event in {stream}"));
    assert!(stream.contains("\"can_vote\":true"), "{stream}");
    let id = battle["battle_id"].as_str().unwrap();
    let vote = post("/api/vote", json!({"battle_id": id, "winner": "tie"}))
        .await
        .unwrap();
    (vote.status().as_u16(), vote.json().await.unwrap())
}

/// A different number on every call (voter ids must differ, not be unpredictable).
fn next_voter_number() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::SeqCst)
}

fn stored_ip_hashes(db: &std::path::Path) -> Vec<String> {
    assay_store::Store::open(db)
        .unwrap()
        .votes()
        .unwrap()
        .into_iter()
        .map(|v| v.ip_hash)
        .collect()
}

#[test]
fn a_salt_on_the_command_line_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("arena.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_assay"))
        .args([
            "arena",
            "--models",
            "http://127.0.0.1:9/v1#a,http://127.0.0.1:9/v1#b",
        ])
        .args(["--port", "0", "--db", db.to_str().unwrap()])
        .args(["--ip-salt", "s3cret-salt"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // An arena that accepted the salt would serve until killed.
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("assay arena accepted --ip-salt and kept serving");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains("--ip-salt-file") && stderr.contains("ASSAY_ARENA_IP_SALT"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret-salt"), "{stderr}");
    // Refused before anything was opened.
    assert!(!db.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_salt_comes_from_a_file_or_the_environment() {
    let models = models().await;
    let dir = tempfile::tempdir().unwrap();
    let salt_file = dir.path().join("ip-salt");
    std::fs::write(&salt_file, "salt from a file\n").unwrap();
    let expected = |salt: &str| assay_web::security::ip_hash(salt, "127.0.0.1");

    // From a file (the line ending is not part of it); it wins over the environment.
    let db = dir.path().join("file.db");
    let arena = Arena::start_with(
        &models,
        db.to_str().unwrap(),
        &["--ip-salt-file", salt_file.to_str().unwrap()],
        &[("ASSAY_ARENA_IP_SALT", "salt from the environment")],
    );
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", arena.child.id())).unwrap();
    assert!(!String::from_utf8_lossy(&cmdline).contains("salt from"));
    assert_eq!(battle_and_vote(&arena).await.0, 200);
    drop(arena);
    assert_eq!(stored_ip_hashes(&db), [expected("salt from a file")]);

    // From the environment.
    let db = dir.path().join("env.db");
    let arena = Arena::start_with(
        &models,
        db.to_str().unwrap(),
        &[],
        &[("ASSAY_ARENA_IP_SALT", "salt from the environment")],
    );
    assert_eq!(battle_and_vote(&arena).await.0, 200);
    drop(arena);
    assert_eq!(
        stored_ip_hashes(&db),
        [expected("salt from the environment")]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_cookies_do_not_lift_the_cap_of_an_address() {
    let models = models().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("arena.db");
    let arena = Arena::start_with(
        &models,
        db.to_str().unwrap(),
        &["--daily-cap", "3"],
        &[("ASSAY_ARENA_IP_SALT", arena_process::TEST_SALT)],
    );
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let (status, body) = battle_and_vote(&arena).await;
        if status != 200 {
            assert_eq!(body["error"]["code"], "address_cap", "{body}");
        }
        statuses.push(status);
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    drop(arena);
    assert_eq!(stored_ip_hashes(&db).len(), 3);
}
