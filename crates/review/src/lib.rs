//! Human review of a run's answers (`assay review`): a local web page that shows a seeded,
//! stratified sample of the answers one at a time — prompt, answer, model, language, the
//! refusal grader's label — and takes the reviewer's label by keyboard (`1` comply, `2`
//! partial, `3` refuse, `s` skip, `n` note, `u`/Backspace undo) or by button. Labels go to the
//! store ([`assay_store::Store::put_review_label`]) with the reviewer's name and the time, so a
//! reload, or the same command started again, carries on where the reviewer stopped;
//! [`export`] writes them as a CSV that `assay grade refusal --labels label` reads.
//!
//! # Routes
//!
//! | route | what |
//! |---|---|
//! | `GET /` | the review page (the script fetches the state and renders it) |
//! | `GET /api/state` | [`State`]: progress, the answer to label next, counts |
//! | `POST /api/label` | `{"answer_id", "label", "note"?}` → the next [`State`] |
//! | `POST /api/undo` | `{}` → removes this reviewer's last label; the [`State`] shows that answer again |
//! | `GET /health` | liveness |
//!
//! # Security
//!
//! The server has no login: it binds to a loopback address only (the command refuses others)
//! and sits behind [`assay_serve::same_origin_only`] (Host and Origin must name it, POSTs must
//! be JSON), so neither another site's page nor a DNS-rebinding one can label for the reviewer.
//! Pages carry the arena's strict nonce-based Content-Security-Policy
//! ([`assay_web::security::page_csp`]); answers and prompts are model output and reach the page
//! as JSON strings that the script puts in with `textContent`, so markup in them is shown, never
//! run. CSS and JavaScript are compiled in (`assets/`), templates come from
//! [`assay_core::html::environment`].
//!
//! # Files
//!
//! `sample` (which answers, in which order), `export` (the labelled CSV), `routes` (the router,
//! headers, handlers), `pages` + `templates/` + `assets/`, `error` (the one error type).

pub mod export;
pub mod sample;

mod error;
mod pages;
mod routes;

use std::collections::HashMap;
use std::sync::Arc;

use assay_store::{ReviewLabel, Store, StoredAnswer, REVIEW_LABELS};
use serde::Serialize;

pub use error::ReviewError;

/// The grader whose label a reviewer checks.
pub const GRADER: &str = "refusal";

/// Longest note kept, in characters; a longer one is refused (400).
pub const MAX_NOTE_CHARS: usize = 2000;

/// What to review, and who reviews it.
#[derive(Debug, Clone)]
pub struct ReviewConfig {
    /// The run's full id (resolve a prefix with [`Store::resolve_run`] first).
    pub run_id: String,
    pub reviewer: String,
    /// How many answers to sample (200 by default on the command line).
    pub sample: usize,
    pub seed: u64,
    /// Sample without putting uncertain grades first.
    pub uniform: bool,
}

/// One answer of a run, as the reviewer sees it and the export writes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub answer_id: i64,
    pub model: String,
    pub lang: String,
    pub suite: String,
    pub item_id: String,
    pub sample: u32,
    pub category: String,
    pub prompt: String,
    pub response: String,
    /// The refusal grader's label (empty when the answer has no refusal grade).
    pub grader_label: String,
    pub grader_rule: String,
    /// The refusal grade says it is uncertain (`"uncertain": true` in its detail).
    pub uncertain: bool,
    /// The refusal grade's confidence (`"confidence"` in its detail; grader version 4 on).
    pub confidence: Option<f64>,
}

/// The answers of a run that have a text (failed requests have none), latest attempt of each
/// request, in the store's order, with their items' prompts and the refusal grader's label.
pub fn answers(store: &Store, run_id: &str) -> Result<Vec<Entry>, ReviewError> {
    let items: HashMap<(String, String, String), (String, String)> = store
        .items(run_id)?
        .into_iter()
        .map(|i| ((i.suite, i.item_id, i.lang), (i.prompt, i.category)))
        .collect();
    Ok(store
        .latest_answers(run_id)?
        .into_iter()
        .filter_map(|stored| entry(stored, &items))
        .collect())
}

fn entry(
    stored: StoredAnswer,
    items: &HashMap<(String, String, String), (String, String)>,
) -> Option<Entry> {
    let StoredAnswer { id, answer } = stored;
    if answer.error.is_some() {
        return None;
    }
    let response = answer.text?;
    let key = answer.key;
    let grade = answer.grades.into_iter().find(|g| g.grader == GRADER);
    let detail = |key: &str| {
        grade
            .as_ref()
            .and_then(|g| g.detail.as_ref())
            .and_then(|d| d.get(key))
            .cloned()
    };
    let uncertain = detail("uncertain")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let confidence = detail("confidence").and_then(|v| v.as_f64());
    let (grader_label, grader_rule) = grade.map(|g| (g.label, g.rule)).unwrap_or_default();
    let (prompt, category) = items
        .get(&(key.suite.clone(), key.item_id.clone(), key.lang.clone()))
        .cloned()
        .unwrap_or_default();
    Some(Entry {
        answer_id: id,
        model: key.model,
        lang: key.lang,
        suite: key.suite,
        item_id: key.item_id,
        sample: key.sample,
        category,
        prompt,
        response,
        grader_label,
        grader_rule,
        uncertain,
        confidence,
    })
}

/// A review in progress: the store, who reviews, and the sample in the order it is shown.
pub struct Review {
    store: Store,
    config: ReviewConfig,
    entries: Vec<Entry>,
    /// Answer id → place in `entries`.
    positions: HashMap<i64, usize>,
}

/// Labels of one kind given so far, over the sample.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub comply: usize,
    pub partial: usize,
    pub refuse: usize,
    pub skip: usize,
}

/// Where the review stands, as the page shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct State {
    pub run: String,
    pub reviewer: String,
    /// Answers in the sample.
    pub total: usize,
    /// Of them, labelled by this reviewer (skips included).
    pub labelled: usize,
    /// The answer to label next: the first of the sample this reviewer has not labelled;
    /// `None` when all are.
    pub current: Option<Entry>,
    /// Its place in the sample, from 1.
    pub position: Option<usize>,
    pub counts: Counts,
    /// Labelled answers (not skipped) whose label is the grader's.
    pub agree: usize,
    pub can_undo: bool,
    /// After an undo: the label and note taken back (the page offers the note again).
    pub undone: Option<Undone>,
}

/// A label taken back by undo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Undone {
    pub answer_id: i64,
    pub label: String,
    pub note: Option<String>,
}

impl Review {
    /// Reads the run's answers from the store and draws the sample. Blocks on the store: call
    /// it off an async runtime's workers.
    pub fn load(store: Store, config: ReviewConfig) -> Result<Review, ReviewError> {
        if config.reviewer.trim().is_empty() {
            return Err(ReviewError::BadRequest(
                "the reviewer's name is empty".to_string(),
            ));
        }
        let gradeable: Vec<Entry> = answers(&store, &config.run_id)?
            .into_iter()
            .filter(|e| !e.grader_label.is_empty())
            .collect();
        if gradeable.is_empty() {
            return Err(ReviewError::NothingToReview(config.run_id.clone()));
        }
        let candidates: Vec<sample::Candidate> = gradeable
            .iter()
            .map(|e| sample::Candidate {
                answer_id: e.answer_id,
                model: e.model.clone(),
                lang: e.lang.clone(),
                label: e.grader_label.clone(),
                uncertain: e.uncertain,
            })
            .collect();
        let order = sample::draw(&candidates, config.sample, config.seed, config.uniform);
        let mut by_id: HashMap<i64, Entry> =
            gradeable.into_iter().map(|e| (e.answer_id, e)).collect();
        let entries: Vec<Entry> = order.iter().filter_map(|id| by_id.remove(id)).collect();
        let positions = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.answer_id, i))
            .collect();
        Ok(Review {
            store,
            config,
            entries,
            positions,
        })
    }

    /// The sample, in the order it is shown.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn config(&self) -> &ReviewConfig {
        &self.config
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// This reviewer's labels on the sample, by answer id.
    fn my_labels(&self) -> Result<HashMap<i64, ReviewLabel>, ReviewError> {
        Ok(self
            .store
            .review_labels(&self.config.run_id)?
            .into_iter()
            .filter(|l| {
                l.reviewer == self.config.reviewer && self.positions.contains_key(&l.answer_id)
            })
            .map(|l| (l.answer_id, l))
            .collect())
    }

    /// Where the review stands.
    pub fn state(&self) -> Result<State, ReviewError> {
        let labels = self.my_labels()?;
        let mut counts = Counts::default();
        let mut agree = 0;
        for l in labels.values() {
            match l.label.as_str() {
                "comply" => counts.comply += 1,
                "partial" => counts.partial += 1,
                "refuse" => counts.refuse += 1,
                _ => counts.skip += 1,
            }
            let graded = self.positions.get(&l.answer_id).map(|&i| &self.entries[i]);
            if l.label != "skip" && graded.is_some_and(|e| e.grader_label == l.label) {
                agree += 1;
            }
        }
        let next = self
            .entries
            .iter()
            .position(|e| !labels.contains_key(&e.answer_id));
        Ok(State {
            run: self.config.run_id.clone(),
            reviewer: self.config.reviewer.clone(),
            total: self.entries.len(),
            labelled: labels.len(),
            current: next.map(|i| self.entries[i].clone()),
            position: next.map(|i| i + 1),
            counts,
            agree,
            can_undo: !labels.is_empty(),
            undone: None,
        })
    }

    /// Stores this reviewer's `label` (one of [`REVIEW_LABELS`]) on a sampled answer, with an
    /// optional note (trimmed; empty is none), at the present time; replaces an earlier one.
    pub fn label(
        &self,
        answer_id: i64,
        label: &str,
        note: Option<&str>,
    ) -> Result<State, ReviewError> {
        if !self.positions.contains_key(&answer_id) {
            return Err(ReviewError::NotInSample(answer_id));
        }
        if !REVIEW_LABELS.contains(&label) {
            return Err(ReviewError::BadRequest(format!(
                "{label:?} is not a label; use one of {}",
                REVIEW_LABELS.join(", ")
            )));
        }
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        if note.is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
            return Err(ReviewError::BadRequest(format!(
                "the note is longer than {MAX_NOTE_CHARS} characters"
            )));
        }
        self.store.put_review_label(
            &self.config.run_id,
            &ReviewLabel {
                answer_id,
                reviewer: self.config.reviewer.clone(),
                label: label.to_string(),
                note: note.map(str::to_string),
                created_at: assay_core::now_rfc3339(),
            },
        )?;
        self.state()
    }

    /// Removes the label this reviewer gave last (on the sample); the state then shows that
    /// answer again, with what was taken back in [`State::undone`].
    pub fn undo(&self) -> Result<State, ReviewError> {
        let labels = self.my_labels()?;
        // Labels are stored to the millisecond; two in one millisecond are told apart by
        // their place in the sample, which is the order they are given in.
        let last = labels
            .into_values()
            .max_by(|a, b| {
                let place = |l: &ReviewLabel| self.positions.get(&l.answer_id).copied();
                (&a.created_at, place(a)).cmp(&(&b.created_at, place(b)))
            })
            .ok_or(ReviewError::NothingToUndo)?;
        self.store.delete_review_label(
            &self.config.run_id,
            last.answer_id,
            &self.config.reviewer,
        )?;
        let mut state = self.state()?;
        state.undone = Some(Undone {
            answer_id: last.answer_id,
            label: last.label,
            note: last.note,
        });
        Ok(state)
    }
}

/// The review app's routes, answering only to the names `hosts` allows.
pub fn router(review: Review, hosts: assay_serve::AllowedHosts) -> axum::Router {
    assay_serve::same_origin_only(routes::routes(Arc::new(review)), hosts)
}

/// Serves `router` on `listener` until `shutdown` resolves, on the accept loop every assay
/// server shares (header and body deadlines, a connection cap).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    assay_serve::serve(listener, router, shutdown).await
}

#[cfg(test)]
mod tests;
