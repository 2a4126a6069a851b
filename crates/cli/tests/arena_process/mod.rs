//! A running `assay arena` for the arena's command-line tests.

#![allow(dead_code)] // each test file uses its own part of this

use std::process::Command;

use serde_json::{json, Value};

/// The IP salt the arena tests run with (given in the environment, never on the command line).
pub const TEST_SALT: &str = "test-salt";

/// A running `assay arena` on a free port of 127.0.0.1, killed when dropped.
pub struct Arena {
    pub child: crate::common::Running,
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub url: String,
}

impl Arena {
    /// `assay arena --models MODELS --db DB` with [`TEST_SALT`] and a short bootstrap.
    pub fn start(models: &str, db: &str) -> Arena {
        Arena::start_with(models, db, &[], &[("ASSAY_ARENA_IP_SALT", TEST_SALT)])
    }

    /// Like [`Arena::start`], with `extra` arguments and `env` variables (and no salt unless
    /// `env` has one).
    pub fn start_with(models: &str, db: &str, extra: &[&str], env: &[(&str, &str)]) -> Arena {
        let mut command = Command::new(env!("CARGO_BIN_EXE_assay"));
        command
            .args(["arena", "--models", models, "--host", "127.0.0.1"])
            .args(["--port", "0", "--db", db, "--bootstrap-rounds", "20"])
            .args(extra)
            .env_remove("ASSAY_ARENA_IP_SALT");
        for (k, v) in env {
            command.env(k, v);
        }
        let (child, address) = crate::common::start_listening(&mut command, "assay arena");
        let url = address.trim_end_matches('/').to_string();
        Arena { child, url }
    }
}

/// One voter: the cookies and CSRF token the battle page hands out.
pub struct Voter {
    http: reqwest::Client,
    cookies: String,
    csrf: String,
}

impl Voter {
    pub async fn open(arena: &Arena) -> Voter {
        let http = reqwest::Client::new();
        let page = http.get(format!("{}/", arena.url)).send().await.unwrap();
        assert!(page.status().is_success(), "{}", page.status());
        let cookies: Vec<String> = page
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_string))
            .collect();
        let body = page.text().await.unwrap();
        let csrf = body
            .split(r#"<meta name="csrf-token" content=""#)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("no CSRF token in the battle page"))
            .to_string();
        Voter {
            http,
            cookies: cookies.join("; "),
            csrf,
        }
    }

    /// POSTs `body` to `path` of `arena` as this voter; the reply, once it is a success.
    pub async fn post_ok(&self, arena: &Arena, path: &str, body: Value) -> String {
        let reply = self
            .http
            .post(format!("{}{path}", arena.url))
            .header("content-type", "application/json")
            .header("cookie", &self.cookies)
            .header("x-csrf-token", &self.csrf)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = reply.status();
        let text = reply.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status}: {text}");
        text
    }

    /// Battles once on `arena` and votes `winner`; the vote's reply.
    pub async fn battle_and_vote(&self, arena: &Arena, prompt: &str, winner: &str) -> Value {
        let stream = self
            .post_ok(
                arena,
                "/api/chat",
                json!({"battle_id": null, "prompt": prompt}),
            )
            .await;
        let battle: Value = stream
            .lines()
            .find_map(|l| l.strip_prefix("data:"))
            .and_then(|data| serde_json::from_str(data.trim()).ok())
            .unwrap_or_else(|| panic!("no battle event in {stream}"));
        let id = battle["battle_id"]
            .as_str()
            .unwrap_or_else(|| panic!("no battle id in {battle}"));
        assert!(
            stream.contains("event: answer") || stream.contains("event:answer"),
            "{stream}"
        );
        let reply = self
            .post_ok(
                arena,
                "/api/vote",
                json!({"battle_id": id, "winner": winner}),
            )
            .await;
        serde_json::from_str(&reply).unwrap_or_else(|e| panic!("vote reply {reply}: {e}"))
    }
}
