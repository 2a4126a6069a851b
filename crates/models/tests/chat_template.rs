//! The prompt a local model sees must be byte-for-byte what Hugging Face `transformers` renders
//! from the model's own chat template. `fixtures/chat_templates.json` was derived once with
//! Jinja2 configured exactly as `transformers` configures it; `fixtures/derive_chat_templates.py`
//! is the script and explains how.
#![cfg(feature = "local")]

use assay_core::{GenParams, Message};
use assay_models::local::template::ChatTemplate;
use assay_models::local::{EngineConfig, LocalModel};
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    name: String,
    template: String,
    bos_token: String,
    eos_token: String,
    messages: Vec<Message>,
    add_generation_prompt: bool,
    expected: String,
}

fn cases() -> Vec<Case> {
    let text = include_str!("fixtures/chat_templates.json");
    serde_json::from_str(text).expect("fixture parses")
}

#[test]
fn minijinja_renders_like_transformers() {
    let cases = cases();
    assert_eq!(cases.len(), 8);
    for case in cases {
        let template = ChatTemplate::new(&case.template, &case.bos_token, &case.eos_token).unwrap();
        let rendered = template
            .render(&case.messages, case.add_generation_prompt)
            .unwrap();
        assert_eq!(
            rendered,
            case.expected,
            "{} with {} messages, add_generation_prompt={}",
            case.name,
            case.messages.len(),
            case.add_generation_prompt
        );
    }
}

#[tokio::test]
async fn smollm2_prompt_is_the_ggufs_own_template() {
    let model = LocalModel::open(
        "smollm2",
        GenParams::default(),
        &EngineConfig {
            slots: 1,
            ..EngineConfig::default()
        },
    )
    .await
    .expect("smollm2 loads (run `assay models fetch smollm2` first when offline)");
    let template = model
        .info()
        .chat_template
        .clone()
        .expect("SmolLM2's GGUF has a chat template");
    let case = cases()
        .into_iter()
        .find(|c| c.name == "smollm2-gguf" && c.add_generation_prompt && c.messages.len() == 3)
        .expect("fixture has the 3-message SmolLM2 case");
    assert_eq!(
        template.source(),
        case.template,
        "the fixture was derived from this GGUF's template"
    );
    let prompt = model
        .render_prompt(&case.messages)
        .expect("a GGUF template")
        .unwrap();
    assert_eq!(prompt, case.expected);
    assert!(prompt.ends_with("<|im_start|>assistant\n"));
}

#[tokio::test]
async fn a_gguf_without_template_falls_back_to_llama_cpp_builtin() {
    use assay_core::ChatRequest;
    use assay_models::local::PromptFormat;
    use assay_models::ChatModel;

    let config = EngineConfig {
        slots: 1,
        context_per_slot: 512,
        ..EngineConfig::default()
    };
    let model = LocalModel::open("gemma3-270m", GenParams::default(), &config)
        .await
        .expect("gemma3-270m loads (run `assay models fetch gemma3-270m` first when offline)");
    assert_eq!(
        model.info().prompt_format,
        PromptFormat::LlamaBuiltin("gemma".into())
    );
    assert!(model.info().chat_template.is_none());
    assert!(model.render_prompt(&[Message::user("hi")]).is_none());

    let params = GenParams {
        temperature: Some(0.0),
        max_tokens: Some(8),
        ..GenParams::default()
    };
    let request = ChatRequest {
        messages: vec![Message::user("The capital of France is")],
        params,
    };
    let answer = model.complete(request).await.unwrap();
    assert!(answer.usage.prompt_tokens > 5, "{:?}", answer.usage);
    assert!(answer.usage.completion_tokens > 0);
}
