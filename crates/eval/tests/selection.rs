//! Which items a run asks, decided before the run exists: `--limit` draws them with a seed of
//! its own (another `--seed` asks the same items), and a filter or limit that selects nothing
//! is refused, naming what there is, without leaving an empty run in the store.

mod support;

use assay_core::Language;
use assay_eval::audit::{self, AuditConfig, AuditError};
use assay_eval::builtin;
use assay_store::Store;

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("assay.db")).unwrap();
    (dir, store)
}

fn knowledge() -> assay_eval::Suite {
    builtin::load("knowledge").unwrap().unwrap()
}

fn config(seed: u64, limit: Option<usize>, filter: &[&str]) -> AuditConfig {
    AuditConfig {
        seed,
        limit,
        filter: filter.iter().map(|f| f.to_string()).collect(),
        langs: vec![Language::En, Language::Zh],
        ..support::one_item_config("http://127.0.0.1:9/v1#m")
    }
}

fn item_ids(store: &Store, run: &str) -> Vec<String> {
    let mut ids: Vec<String> = store
        .items(run)
        .unwrap()
        .into_iter()
        .map(|i| i.item_id)
        .collect();
    ids.dedup();
    ids
}

#[test]
fn another_seed_asks_the_same_limited_items_and_the_report_says_which_seed_drew_them() {
    let (_dir, store) = store();
    let suites = [knowledge()];
    let first = audit::create_run(&store, &config(0, Some(5), &[]), &suites).unwrap();
    let second = audit::create_run(&store, &config(7, Some(5), &[]), &suites).unwrap();
    let ids = item_ids(&store, &first);
    assert_eq!(ids.len(), 5, "{ids:?}");
    assert_eq!(item_ids(&store, &second), ids);
    // The draw is still a shuffle, not the first few items.
    let all: Vec<&str> = suites[0].items.iter().map(|i| i.id.as_str()).collect();
    assert_ne!(ids, all[..5], "a limit draws across the suite");

    let results = audit::results(&store, &second).unwrap();
    assert_eq!(results.run.seed, 7);
    assert_eq!(results.run.limit_seed, Some(audit::LIMIT_SEED));
    let json = serde_json::to_value(&results.run).unwrap();
    assert_eq!(json["limit_seed"], serde_json::json!(audit::LIMIT_SEED));

    // Without a limit there is no draw to tell about.
    let unlimited =
        audit::create_run(&store, &config(7, None, &["category=science"]), &suites).unwrap();
    assert_eq!(
        audit::results(&store, &unlimited).unwrap().run.limit_seed,
        None
    );
}

#[test]
fn parameters_read_back_as_they_were_written() {
    let (_dir, store) = store();
    let mut config = config(0, Some(1), &[]);
    config.temperature = 0.7;
    config.top_p = 0.95;
    let run = audit::create_run(&store, &config, &[knowledge()]).unwrap();
    let results = audit::results(&store, &run).unwrap();
    let params = &results.run.models[0].params;
    assert_eq!(params["temperature"].to_string(), "0.7", "{params}");
    assert_eq!(params["top_p"].to_string(), "0.95", "{params}");
    // And so in results.json.
    let json = serde_json::to_string(&results).unwrap();
    assert!(json.contains(r#""temperature":0.7,"#), "{json}");
    assert!(!json.contains("0.699999988"), "{json}");
}

#[test]
fn a_filter_value_no_item_has_is_refused_listing_the_valid_ones_and_no_run_is_created() {
    let (_dir, store) = store();
    let suites = [knowledge(), builtin::load("sensitive").unwrap().unwrap()];
    let categories = |suite: &assay_eval::Suite| {
        let mut seen: Vec<String> = Vec::new();
        for item in &suite.items {
            if !seen.contains(&item.category) {
                seen.push(item.category.clone());
            }
        }
        seen
    };

    let err =
        audit::create_run(&store, &config(0, None, &["category=histroy"]), &suites).unwrap_err();
    assert!(matches!(err, AuditError::Selection(_)), "{err:?}");
    let message = err.to_string();
    assert!(!message.contains('\n'), "{message}");
    assert!(
        message.contains(r#"no item has category "histroy""#),
        "{message}"
    );
    for suite in &suites {
        let listed = format!("{}: {}", suite.manifest.name, categories(suite).join(", "));
        assert!(message.contains(&listed), "{listed:?} in {message}");
    }

    // One value of several that matches nothing is named on its own.
    let err = audit::create_run(
        &store,
        &config(0, None, &["category=science,nope", "kind=mcq"]),
        &suites,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains(r#"no item has category "nope""#), "{err}");
    let err = audit::create_run(&store, &config(0, None, &["kind=essay"]), &suites)
        .unwrap_err()
        .to_string();
    assert!(err.contains("mcq") && err.contains("open"), "{err}");
    let err = audit::create_run(&store, &config(0, None, &["id=zz-1"]), &suites)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(r#"no item has id "zz-1""#) && err.contains(" ids)"),
        "{err}"
    );

    // Values that exist but that no item has together, and --limit 0: nothing to ask.
    let err = audit::create_run(
        &store,
        &config(0, None, &["category=science", "kind=open"]),
        &suites,
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "nothing to ask: the filters category=science and kind=open together leave no \
         prompt in en, zh"
    );
    let err = audit::create_run(&store, &config(0, Some(0), &[]), &suites)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("nothing to ask: --limit 0"), "{err}");

    // An unknown key names the keys there are.
    let err = audit::create_run(&store, &config(0, None, &["topic=x"]), &suites)
        .unwrap_err()
        .to_string();
    assert!(err.contains("category, id, kind, expect"), "{err}");

    assert!(store.runs().unwrap().is_empty(), "no run is created");

    // The same checks without a store, for a front end to make before it loads any model.
    assert!(audit::check_selection(&config(0, None, &["category=histroy"]), &suites).is_err());
    assert!(audit::check_selection(&config(0, Some(0), &[]), &suites).is_err());
    let filters = audit::check_selection(&config(0, None, &["category=science"]), &suites)
        .expect("a selection with something to ask");
    assert_eq!(filters, [audit::Filter::parse("category=science").unwrap()]);
}
