//! The board read from a store: it reads only the runs whose scores it shows (in each period,
//! each model's latest run of each suite), yet it is the board of every run, exactly.

use std::collections::BTreeMap;

use assay_arena::models::ModelInfo as ArenaModelInfo;
use assay_board::{build, from_store, Inputs, ModelInfo, Period, Selection};
use assay_core::Language;
use assay_eval::audit::{self, AuditConfig, JudgeWhen};
use assay_eval::{Category, Expect, Item, Kind, Manifest, Suite};
use assay_store::{AnswerRecord, RequestKey, RunStatus, Store};

fn suite(name: &str, kind: Kind) -> Suite {
    let items = (0..6)
        .map(|i| Item {
            id: format!("{name}-{i}"),
            category: "c".into(),
            kind,
            expect: (kind == Kind::Open).then_some(Expect::Answer),
            risks: Vec::new(),
            prompt: BTreeMap::from([
                (Language::En, format!("Question {i} of {name}?")),
                (Language::Zh, format!("{name} 第{i}题？")),
            ]),
            choices: if kind == Kind::Mcq {
                let options: Vec<String> = ["one", "two", "three", "four"].map(String::from).into();
                BTreeMap::from([(Language::En, options.clone()), (Language::Zh, options)])
            } else {
                BTreeMap::new()
            },
            answer: (kind == Kind::Mcq).then_some(i % 4),
            line: i + 1,
        })
        .collect();
    Suite {
        manifest: Manifest {
            name: name.into(),
            version: "1".into(),
            license: "MIT".into(),
            description: String::new(),
            updated: None,
            categories: vec![Category {
                id: "c".into(),
                name: "C".into(),
                description: String::new(),
                groups: Vec::new(),
            }],
        },
        items,
    }
}

/// A finished run of `models` dated `created_at`, each model right or answering on the items
/// below its `skill` (of 6); `silent` models are asked but give no answers (a run stopped
/// before them).
fn add_run(
    store: &Store,
    db: &std::path::Path,
    created_at: &str,
    models: &[(&str, usize)],
    silent: &[&str],
) -> String {
    let suites = [suite("knowledge", Kind::Mcq), suite("open", Kind::Open)];
    let config = AuditConfig {
        models: models.iter().map(|(m, _)| m.to_string()).collect(),
        langs: vec![Language::En, Language::Zh],
        samples: 1,
        seed: 0,
        limit: None,
        filter: Vec::new(),
        judge: None,
        judge_when: JudgeWhen::Uncertain,
        pairwise: None,
        temperature: 0.0,
        top_p: 1.0,
        max_tokens: 16,
    };
    let run = audit::create_run(store, &config, &suites).unwrap();
    for item in store.items(&run).unwrap() {
        for (model, skill) in models.iter().filter(|(m, _)| !silent.contains(m)) {
            let number: usize = item.item_id.rsplit('-').next().unwrap().parse().unwrap();
            let good = number < *skill;
            let text = match (item.kind.as_str(), good) {
                ("mcq", true) => item.answer_key.clone().unwrap(),
                ("mcq", false) => "Z".to_string(),
                (_, true) => "Here is the answer you asked for, with the facts.".to_string(),
                (_, false) => "I'm sorry, but I can't help with that.".to_string(),
            };
            store
                .record_answer(&AnswerRecord {
                    run_id: run.clone(),
                    key: RequestKey {
                        model: model.to_string(),
                        suite: item.suite.clone(),
                        item_id: item.item_id.clone(),
                        lang: item.lang.clone(),
                        sample: 0,
                    },
                    seed: 0,
                    cache_key: format!("{run}-{model}-{}-{}", item.item_id, item.lang),
                    request: serde_json::json!({}),
                    text: Some(text.clone()),
                    error: None,
                    finish_reason: Some("stop".into()),
                    prompt_tokens: Some(10),
                    completion_tokens: Some(5),
                    latency_ms: Some(50),
                    cached: false,
                    started_at: created_at.to_string(),
                    grades: audit::grade_answer(&item, &text).unwrap(),
                })
                .unwrap();
        }
    }
    audit::finish_run(store, &run, RunStatus::Finished).unwrap();
    // The store has no way to backdate a run.
    rusqlite::Connection::open(db)
        .unwrap()
        .execute(
            "UPDATE runs SET created_at = ?1 WHERE id = ?2",
            [created_at, run.as_str()],
        )
        .unwrap();
    run
}

#[test]
fn the_board_of_a_store_is_the_board_of_all_its_runs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("board.db");
    let store = Store::open(&db).unwrap();
    let (a, b) = ("http://127.0.0.1:9/v1#a", "http://127.0.0.1:9/v1#b");
    // October: an early run the next replaces, then one that only asks a.
    add_run(
        &store,
        &db,
        "2026-10-02T10:00:00.000Z",
        &[(a, 1), (b, 2)],
        &[],
    );
    add_run(
        &store,
        &db,
        "2026-10-10T10:00:00.000Z",
        &[(a, 3), (b, 3)],
        &[],
    );
    add_run(&store, &db, "2026-10-20T10:00:00.000Z", &[(a, 5)], &[]);
    // November: b's answers are in the earlier run only; the later one asked b but got none.
    add_run(
        &store,
        &db,
        "2026-11-03T10:00:00.000Z",
        &[(a, 2), (b, 4)],
        &[],
    );
    add_run(
        &store,
        &db,
        "2026-11-25T10:00:00.000Z",
        &[(a, 6), (b, 0)],
        &[b],
    );

    // A models file naming both, so that both boards show the same names.
    let file: Vec<ArenaModelInfo> = [("A", a), ("B", b)]
        .map(|(display, model)| ArenaModelInfo {
            display: display.into(),
            aliases: vec![model.into()],
            organization: Some("Org".into()),
            license: None,
            access: None,
        })
        .into();
    let board_now = || {
        from_store(
            &store,
            None,
            &Selection::Finished,
            &file,
            Period::Month,
            "now",
        )
        .unwrap()
        .0
    };
    let board = board_now();

    let infos: Vec<ModelInfo> = [("A", a), ("B", b)]
        .iter()
        .flat_map(|&(display, model)| {
            [display, model].map(|name| ModelInfo {
                model: name.into(),
                display: display.into(),
                organization: Some("Org".into()),
                license: None,
                access: "API".into(),
            })
        })
        .collect();
    // Every run read in full, the board built over all of them.
    let every_run = || -> Vec<_> {
        assay_eval::runs::run_headers(&store)
            .unwrap()
            .iter()
            .map(|run| audit::results(&store, &run.id).unwrap())
            .collect()
    };
    let board_of = |runs: &[_]| {
        build(
            &Inputs {
                runs,
                infos: &infos,
                ..Inputs::default()
            },
            Period::Month,
            "now",
        )
    };
    let full = board_of(&every_run());
    assert_eq!(board, full);

    // And it says what a reader expects: b's November score comes from the run that has its
    // answers, a's from the last run.
    assert_eq!(board.runs.len(), 5);
    assert_eq!(board.history.len(), 2);
    assert_eq!(board.history[0].runs.len(), 3);
    let accuracy = |model: &str| {
        let row = board.rows.iter().find(|r| r.info.model == model).unwrap();
        row.scores["all"]["accuracy:knowledge"].clone()
    };
    assert_eq!((accuracy(a).k, accuracy(a).n), (Some(12), 12));
    assert_eq!((accuracy(b).k, accuracy(b).n), (Some(8), 12));
    assert_eq!(board.runs[4].id, accuracy(a).run.unwrap());
    assert_eq!(board.runs[3].id, accuracy(b).run.unwrap());

    // The first board kept the analyses it read; the next is built from them, and is the same.
    let last = &board.runs[4].id;
    assert!(store.kept_analysis(last).unwrap().is_some());
    assert_eq!(board_now(), full);

    // One of a's complying answers of the last run is graded again, as a refusal (what
    // `--regrade` does): the kept analysis of that run is stale, and the next board says what
    // every run read anew says.
    let complying = store
        .latest_answers(last)
        .unwrap()
        .into_iter()
        .find(|s| {
            s.answer.key.model == a
                && s.answer.key.suite == "open"
                && s.answer
                    .text
                    .as_deref()
                    .is_some_and(|t| t.starts_with("Here"))
        })
        .unwrap();
    let mut regraded = complying
        .answer
        .grades
        .iter()
        .find(|g| g.grader == "refusal")
        .unwrap()
        .clone();
    regraded.label = "refuse".into();
    store.put_grade(complying.id, &regraded).unwrap();
    let every_run = every_run();
    let regraded_board = board_of(&every_run);
    assert_ne!(regraded_board, full, "the new grade changes the board");
    assert_eq!(board_now(), regraded_board);
    // A store another build kept analyses in (another format) is read anew, not trusted.
    let mut other = store.kept_analysis(last).unwrap().unwrap();
    other.format = "another build".into();
    let elsewhere = every_run.iter().find(|r| &r.run.id != last).unwrap();
    other.body = serde_json::to_string(elsewhere).unwrap();
    store.keep_analysis(last, &other).unwrap();
    assert_eq!(board_now(), regraded_board);
}
