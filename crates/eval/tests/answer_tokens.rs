//! Mean answer tokens end to end: answers from a model that reports usage and one that does
//! not, stored through a real SQLite store and read back, then the figures in results.json, the
//! HTML report and the terminal summary, with "—" and the count of answers without usage where
//! no count was reported.

use std::collections::HashMap;
use std::sync::Arc;

mod support;

use assay_core::{ChatRequest, ChatResponse, FinishReason, Language, Usage};
use assay_eval::audit::{self, ExecOptions};
use assay_eval::report::{csv, html, terminal_summary};
use assay_eval::results::{AnswerTokens, Results};
use assay_models::{ChatModel, EventStream, ModelError};
use assay_store::Store;

const COUNTS: &str = "http://127.0.0.1:9/v1#counts";
const SILENT: &str = "http://127.0.0.1:9/v1#silent";

/// A model whose answers are 20 tokens in English and 40 in Chinese, reported as usage; or,
/// `silent`, one whose replies carry no usage (the clients give a zero [`Usage`] then).
struct Fixed {
    silent: bool,
}

#[async_trait::async_trait]
impl ChatModel for Fixed {
    fn id(&self) -> &str {
        if self.silent {
            "silent"
        } else {
            "counts"
        }
    }
    async fn complete(&self, request: ChatRequest) -> Result<ChatResponse, ModelError> {
        let prompt: String = request.messages.iter().map(|m| m.content.clone()).collect();
        let chinese = prompt
            .chars()
            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
        let usage = if self.silent {
            Usage::default()
        } else {
            Usage {
                prompt_tokens: 9,
                completion_tokens: if chinese { 40 } else { 20 },
            }
        };
        Ok(ChatResponse {
            text: if chinese {
                "当然，答案如下。".to_string()
            } else {
                "Sure, here is the answer.".to_string()
            },
            finish_reason: FinishReason::Stop,
            usage,
        })
    }
    async fn stream(&self, _: ChatRequest) -> Result<EventStream, ModelError> {
        Err(ModelError::Config("the audit runner only completes".into()))
    }
}

/// Two items of the over-refusal suite in English and Chinese, asked of both models.
async fn audited() -> Results {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Store::open(&dir.path().join("assay.db")).expect("the store opens");
    let mut config = support::one_item_config(COUNTS);
    config.models = vec![COUNTS.to_string(), SILENT.to_string()];
    config.langs = vec![Language::En, Language::Zh];
    config.limit = Some(2);
    let suite = assay_eval::builtin::load("over-refusal")
        .expect("the built-in suite loads")
        .expect("the built-in suite exists");
    let run_id = audit::create_run(&store, &config, &[suite]).expect("the run is created");
    let mut models: HashMap<String, Arc<dyn ChatModel>> = HashMap::new();
    models.insert(COUNTS.to_string(), Arc::new(Fixed { silent: false }));
    models.insert(SILENT.to_string(), Arc::new(Fixed { silent: true }));
    let options = ExecOptions {
        concurrency: 2,
        use_cache: false,
        progress: Default::default(),
    };
    let summary = audit::execute(&store, &run_id, &models, None, &options)
        .await
        .expect("the run executes");
    assert_eq!(summary.asked, 8, "2 models × 2 items × 2 languages");
    audit::results(&store, &run_id).expect("the results are read back")
}

fn tokens<'a>(results: &'a Results, model: &str, lang: Option<&str>) -> &'a AnswerTokens {
    &results
        .answer_tokens
        .iter()
        .find(|t| t.model.contains(model) && t.lang.as_deref() == lang)
        .unwrap_or_else(|| panic!("no answer tokens for {model} {lang:?}"))
        .tokens
}

#[tokio::test]
async fn reported_usage_becomes_a_mean_and_missing_usage_stays_unknown() {
    let results = audited().await;

    // The store keeps the silent model's answers without counts, not as 0.
    for a in &results.answers {
        if a.model.contains("silent") {
            assert_eq!(
                (a.prompt_tokens, a.completion_tokens),
                (None, None),
                "{a:?}"
            );
        } else {
            let expected = if a.lang == "zh" { 40 } else { 20 };
            assert_eq!(
                (a.prompt_tokens, a.completion_tokens),
                (Some(9), Some(expected))
            );
        }
    }

    let en = tokens(&results, "counts", Some("en"));
    assert_eq!(
        *en,
        AnswerTokens {
            mean: Some(20.0),
            ci: Some([20.0, 20.0]),
            n: 2,
            missing: 0
        }
    );
    let zh = tokens(&results, "counts", Some("zh"));
    assert_eq!((zh.mean, zh.n, zh.missing), (Some(40.0), 2, 0));
    // 20, 20, 40, 40: mean 30, s = 11.547, t(3) = 3.1824, half-width 18.374.
    let all = tokens(&results, "counts", None);
    assert_eq!((all.mean, all.n, all.missing), (Some(30.0), 4, 0));
    let [lo, hi] = all.ci.expect("an interval");
    assert!(
        (lo - 11.6258).abs() < 1e-3 && (hi - 48.3742).abs() < 1e-3,
        "{all:?}"
    );
    let silent = tokens(&results, "silent", None);
    assert_eq!(
        *silent,
        AnswerTokens {
            mean: None,
            ci: None,
            n: 0,
            missing: 4
        }
    );

    // results.json: the documented names, null (not 0) for the unknown mean.
    let json = serde_json::to_value(&results).expect("results serialise");
    let rows = json["answer_tokens"]
        .as_array()
        .expect("answer_tokens is a list");
    let silent_all = rows
        .iter()
        .find(|t| t["model"].as_str().is_some_and(|m| m.contains("silent")) && t["lang"].is_null())
        .expect("the silent model's row");
    assert!(silent_all["mean"].is_null() && silent_all["ci"].is_null());
    assert_eq!(
        (silent_all["n"].as_u64(), silent_all["missing"].as_u64()),
        (Some(0), Some(4))
    );
    let counts_cell = json["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .find(|c| {
            c["model"].as_str().is_some_and(|m| m.contains("counts"))
                && c["category"].is_null()
                && c["lang"] == "zh"
        })
        .expect("the zh cell of the counting model");
    assert_eq!(counts_cell["answer_tokens"]["mean"], 40.0);
    assert_eq!(counts_cell["answer_tokens"]["n"], 2);

    // The HTML report: the column in the rates table and the model × language table.
    let page = html(&results);
    let rates = section(&page, "id=\"rates-table\"");
    assert!(
        rates.contains("<th>mean answer tokens [95% CI]</th>"),
        "{rates}"
    );
    assert!(
        rates.contains("30.0</span> <small>[11.6–48.4]</small> <small>n=4</small>"),
        "{rates}"
    );
    assert!(
        rates.contains("usage not reported for 4 answers"),
        "{rates}"
    );
    let table = section(&page, "id=\"tokens-table\"");
    assert!(
        table.contains("<th>mean answer tokens [95% CI]</th>"),
        "{table}"
    );
    for figure in [
        "20.0</span> <small>[20.0–20.0]</small> <small>n=2</small>",
        "40.0</span> <small>[40.0–40.0]</small> <small>n=2</small>",
        "30.0</span> <small>[11.6–48.4]</small> <small>n=4</small>",
        "<td>—",
        "usage not reported for 2 answers",
        "usage not reported for 4 answers",
    ] {
        assert!(table.contains(figure), "missing {figure:?} in\n{table}");
    }
    // No mean of 0 for the model that reported nothing.
    assert!(!table.contains(">0.0<"), "{table}");

    // The terminal summary says the same.
    let text = terminal_summary(&results);
    assert!(text.contains("mean answer tokens [95% CI]"), "{text}");
    assert!(text.contains("30.0 [11.6–48.4] (n=4)"), "{text}");
    assert!(
        text.contains("— (usage not reported for 4 answers)"),
        "{text}"
    );

    // The CSV leaves the silent model's counts empty rather than 0.
    let csv = csv(&results);
    let silent_lines: Vec<&str> = csv.lines().filter(|l| l.contains("#silent")).collect();
    assert_eq!(silent_lines.len(), 4, "{csv}");
    // finish_reason, prompt_tokens, completion_tokens, latency_ms.
    assert!(
        silent_lines.iter().all(|l| l.contains(",stop,,,0,")),
        "{csv}"
    );
    assert!(csv.contains(",stop,9,40,0,"), "{csv}");
}

/// The page from `start` to the end of its table.
fn section<'a>(page: &'a str, start: &str) -> &'a str {
    let from = page
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in the page"));
    let to = page[from..]
        .find("</table>")
        .map_or(page.len(), |i| from + i);
    &page[from..to]
}
