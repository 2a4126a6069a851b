//! Two `assay arena` processes sharing one PostgreSQL database (a throwaway server the test
//! starts): votes cast on either appear in the leaderboard of both (on the other one once its
//! cached board is older than `--leaderboard-ttl-seconds`).

mod arena_process;
mod common;

#[allow(dead_code)] // the store tests use the rest
#[path = "../../store/tests/common/postgres.rs"]
mod pg_server;

use arena_process::{Arena, Voter};
use common::Server;
use serde_json::Value;

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
