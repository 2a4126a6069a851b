//! The audit runner calls the synchronous store off its runtime: while a write waits for the
//! database (here: another connection holds SQLite's write lock), other tasks on the same
//! runtime keep running.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod support;

use assay_core::{ChatRequest, ChatResponse, FinishReason, Usage};
use assay_eval::audit::{self, ExecOptions};
use assay_models::{ChatModel, EventStream, ModelError};
use assay_store::Store;

/// How long the other connection holds the write lock.
const LOCK_HELD: Duration = Duration::from_millis(1500);

/// A model that answers at once.
struct AnswersAtOnce;

#[async_trait::async_trait]
impl ChatModel for AnswersAtOnce {
    fn id(&self) -> &str {
        "instant"
    }
    async fn complete(&self, _: ChatRequest) -> Result<ChatResponse, ModelError> {
        Ok(ChatResponse {
            text: "Sure, here is how.".to_string(),
            finish_reason: FinishReason::Stop,
            usage: Usage {
                prompt_tokens: 1,
                completion_tokens: 1,
            },
        })
    }
    async fn stream(&self, _: ChatRequest) -> Result<EventStream, ModelError> {
        Err(ModelError::Config("the audit runner only completes".into()))
    }
}

// A current-thread runtime: a store call made on it would stop every other task.
#[tokio::test]
async fn a_write_waiting_for_the_database_does_not_stop_the_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("assay.db");
    let store = Store::open(&path).unwrap();
    let model_name = "http://127.0.0.1:9/v1#m".to_string();
    let config = support::one_item_config(&model_name);
    let suite = assay_eval::builtin::load("over-refusal").unwrap().unwrap();
    let run_id = audit::create_run(&store, &config, &[suite]).unwrap();

    // Another connection takes the write lock and keeps it for LOCK_HELD.
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        locked_tx.send(()).unwrap();
        std::thread::sleep(LOCK_HELD);
        conn.execute_batch("COMMIT").unwrap();
    });
    locked_rx.recv().unwrap();

    // A task that wakes every 20 ms and notes the longest gap between its wakes.
    let longest_gap = Arc::new(Mutex::new(Duration::ZERO));
    let ticker = tokio::spawn({
        let longest_gap = Arc::clone(&longest_gap);
        async move {
            let mut last = Instant::now();
            loop {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let gap = last.elapsed();
                last = Instant::now();
                let mut longest = longest_gap.lock().unwrap();
                *longest = (*longest).max(gap);
            }
        }
    });

    // Let the ticker start before the run.
    tokio::time::sleep(Duration::from_millis(100)).await;

    let mut models: HashMap<String, Arc<dyn ChatModel>> = HashMap::new();
    models.insert(model_name, Arc::new(AnswersAtOnce));
    let options = ExecOptions {
        concurrency: 1,
        use_cache: false,
        progress: Default::default(),
    };
    let started = Instant::now();
    let summary = audit::execute(&store, &run_id, &models, None, &options)
        .await
        .unwrap();
    let took = started.elapsed();
    // Let the ticker wake once more, so a stall that lasted until the run's end is seen.
    tokio::time::sleep(Duration::from_millis(100)).await;
    ticker.abort();
    holder.join().unwrap();

    assert_eq!(summary.asked, 1);
    assert_eq!(store.latest_answers(&run_id).unwrap().len(), 1);
    // The answer's write waited for the lock...
    assert!(took >= LOCK_HELD / 2, "the run took {took:?}");
    // ...and meanwhile the runtime kept serving other tasks (a call on the runtime thread
    // would have stopped the ticker for the whole wait).
    let longest = *longest_gap.lock().unwrap();
    assert!(
        longest < LOCK_HELD / 3,
        "the ticker stopped for {longest:?} while the write waited"
    );
}
