//! Pairwise judging through the runner: every open answer against the baseline's in both
//! orders, each readable verdict stored once as a vote of `judge:<model>`, unreadable ones
//! counted, and a resumed pass judging nothing twice.

use std::collections::HashMap;
use std::sync::Arc;

mod support;

use assay_core::{ChatRequest, ChatResponse, FinishReason, Language, Usage};
use assay_eval::audit::{self, AuditConfig, ExecOptions};
use assay_eval::pairwise::pairwise_scores;
use assay_models::{ChatModel, EventStream, ModelError};
use assay_store::Store;

const GOOD: &str = "http://127.0.0.1:9/v1#good";
const BASE: &str = "http://127.0.0.1:9/v1#base";
const JUDGE: &str = "http://127.0.0.1:9/v1#judge";

/// A model that always answers `text`.
struct Says(&'static str);

/// A judge that prefers whichever answer names Paris, and gives no verdict on Chinese
/// questions (an unreadable reply).
struct ParisJudge;

fn reply(text: String) -> Result<ChatResponse, ModelError> {
    Ok(ChatResponse {
        text,
        finish_reason: FinishReason::Stop,
        usage: Usage {
            prompt_tokens: 1,
            completion_tokens: 1,
        },
    })
}

#[async_trait::async_trait]
impl ChatModel for Says {
    fn id(&self) -> &str {
        self.0
    }
    async fn complete(&self, _: ChatRequest) -> Result<ChatResponse, ModelError> {
        reply(self.0.to_string())
    }
    async fn stream(&self, _: ChatRequest) -> Result<EventStream, ModelError> {
        Err(ModelError::Config("the audit runner only completes".into()))
    }
}

#[async_trait::async_trait]
impl ChatModel for ParisJudge {
    fn id(&self) -> &str {
        "judge"
    }
    async fn complete(&self, request: ChatRequest) -> Result<ChatResponse, ModelError> {
        let user = &request.messages.last().unwrap().content;
        let Some((question, answers)) = user.split_once("[Answer A / 回答A]") else {
            // The refusal judge's question: no class named, so unjudged.
            return reply("no idea".into());
        };
        let question = question.trim_start_matches("[Question / 问题]");
        if question
            .chars()
            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
        {
            return reply("两个都行吧".into());
        }
        let (a, _) = answers.split_once("[Answer B / 回答B]").unwrap();
        let verdict = if a.contains("Paris") { "A" } else { "B" };
        reply(format!("One answer names the capital.\nVERDICT: {verdict}"))
    }
    async fn stream(&self, _: ChatRequest) -> Result<EventStream, ModelError> {
        Err(ModelError::Config("the audit runner only completes".into()))
    }
}

#[tokio::test]
async fn answers_are_judged_against_the_baseline_in_both_orders() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("assay.db")).unwrap();
    let config = AuditConfig {
        models: vec![GOOD.into(), BASE.into()],
        langs: vec![Language::En, Language::Zh],
        limit: Some(3),
        judge: Some(JUDGE.into()),
        pairwise: Some(BASE.into()),
        ..support::one_item_config("unused")
    };
    let suite = assay_eval::builtin::load("over-refusal").unwrap().unwrap();
    audit::check_selection(&config, std::slice::from_ref(&suite)).unwrap();
    let run_id = audit::create_run(&store, &config, &[suite]).unwrap();

    let mut models: HashMap<String, Arc<dyn ChatModel>> = HashMap::new();
    models.insert(GOOD.into(), Arc::new(Says("The capital is Paris.")));
    models.insert(BASE.into(), Arc::new(Says("I cannot help with that.")));
    let judge: Arc<dyn ChatModel> = Arc::new(ParisJudge);
    let options = ExecOptions {
        concurrency: 2,
        use_cache: true,
        progress: Default::default(),
    };
    let summary = audit::execute(&store, &run_id, &models, Some(&judge), &options)
        .await
        .unwrap();
    // 3 items × 2 languages × 2 orders; the Chinese games have no readable verdict.
    let pairs = summary.pairwise.unwrap();
    assert_eq!(
        (pairs.judged, pairs.unreadable, pairs.already, pairs.errors),
        (6, 6, 0, 0)
    );

    let votes = store.votes().unwrap();
    assert_eq!(votes.len(), 6);
    assert!(votes
        .iter()
        .all(|v| v.is_judge() && v.voter_id == format!("judge:{JUDGE}")));
    assert!(votes.iter().all(|v| v.language == "English"));
    // Both orders: GOOD shown first in three games, second in three; it wins all six.
    let good_first = votes.iter().filter(|v| v.model_a == GOOD).count();
    assert_eq!(good_first, 3);
    assert!(votes.iter().all(|v| {
        let good_won = (v.model_a == GOOD) == (v.winner == "model_a");
        good_won && v.metadata["reason"] == "One answer names the capital."
    }));
    let scores = pairwise_scores(&votes, Some(&run_id));
    assert_eq!(scores.len(), 1);
    let s = &scores[0];
    assert_eq!((s.model.as_str(), s.baseline.as_str()), (GOOD, BASE));
    assert_eq!((s.games, s.wins, s.losses), (6, 6, 0));
    assert_eq!((s.pairs_both_orders, s.orders_disagree), (3, 0));

    // Again: what was judged is not judged twice (the unreadable games are asked again and
    // come from the judge's cache).
    let again = audit::execute(&store, &run_id, &models, Some(&judge), &options)
        .await
        .unwrap();
    let pairs = again.pairwise.unwrap();
    assert_eq!((pairs.judged, pairs.already, pairs.unreadable), (0, 6, 6));
    assert_eq!(store.votes().unwrap().len(), 6);
}

#[test]
fn a_baseline_must_be_one_of_the_models_and_needs_a_judge() {
    let suite = assay_eval::builtin::load("over-refusal").unwrap().unwrap();
    let suites = [suite];
    let without_judge = AuditConfig {
        pairwise: Some("m".into()),
        ..support::one_item_config("m")
    };
    let e = audit::check_selection(&without_judge, &suites).unwrap_err();
    assert!(e.to_string().contains("--pairwise needs --judge"), "{e}");
    let stranger = AuditConfig {
        judge: Some("j".into()),
        pairwise: Some("other".into()),
        ..support::one_item_config("m")
    };
    let e = audit::check_selection(&stranger, &suites).unwrap_err();
    assert!(e.to_string().contains("must be one of --models"), "{e}");
}
