//! Two `assay arena` processes sharing one PostgreSQL database (a throwaway server the test
//! starts): votes cast on either appear in the leaderboard of both (on the other one once its
//! cached board is older than `--leaderboard-ttl-seconds`).

mod arena_process;
mod common;

#[allow(dead_code)] // the store tests use the rest
#[path = "../../store/tests/common/postgres.rs"]
mod pg_server;

use arena_process::Arena;
use common::Server;
use serde_json::{json, Value};

/// One voter: the cookies and CSRF token the battle page hands out.
struct Voter {
    http: reqwest::Client,
    cookies: String,
    csrf: String,
}

impl Voter {
    async fn open(arena: &Arena) -> Voter {
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
    async fn post_ok(&self, arena: &Arena, path: &str, body: Value) -> String {
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

    /// Battles once on `arena` and votes `winner`.
    async fn battle_and_vote(&self, arena: &Arena, prompt: &str, winner: &str) {
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
        self.post_ok(
            arena,
            "/api/vote",
            json!({"battle_id": id, "winner": winner}),
        )
        .await;
    }
}

async fn leaderboard(arena: &Arena) -> Value {
    common::get_json(format!("{}/api/leaderboard", arena.url)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn votes_on_two_instances_meet_in_one_leaderboard() {
    let pg = pg_server::PgServer::start();
    let db = pg.create_database();
    let server = Server::start(&[]);
    let models = format!(
        "{base}/v1#smollm2?temperature=0.2&max_tokens=24,{base}/v1#smollm2?temperature=1.0&max_tokens=24",
        base = server.base
    );
    let salt = [("ASSAY_ARENA_IP_SALT", arena_process::TEST_SALT)];
    let ttl = ["--leaderboard-ttl-seconds", "1"];
    let first = Arena::start_with(&models, &db, &ttl, &salt);
    let second = Arena::start_with(&models, &db, &ttl, &salt);

    Voter::open(&first)
        .await
        .battle_and_vote(&first, "What is 2 + 2?", "model_a")
        .await;
    // The first instance has computed (and cached) a board with one vote...
    assert_eq!(leaderboard(&first).await["total_votes"], 1);
    Voter::open(&second)
        .await
        .battle_and_vote(&second, "Name a colour.", "tie")
        .await;

    // ...and both show the two votes once the first one's cached board is stale (it reads no
    // votes while its board is fresh).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    for arena in [&first, &second] {
        let board = leaderboard(arena).await;
        assert_eq!(board["total_votes"], 2, "{board}");
        let rated = &board["leaderboard"];
        let battles = rated["battles"].as_u64().unwrap() + rated["excluded"].as_u64().unwrap();
        assert_eq!(battles, 2, "{board}");
        let rows = rated["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 2, "{board}");
        for row in rows {
            let model = row["model"].as_str().unwrap();
            assert!(model.starts_with("smollm2?temperature="), "{model}");
        }
    }
    let votes = assay_store::Store::open_url(&db).unwrap().votes().unwrap();
    let mut winners: Vec<&str> = votes.iter().map(|v| v.winner.as_str()).collect();
    winners.sort_unstable();
    assert_eq!(winners, ["model_a", "tie"]);
}
