//! People's labels on a run's answers (`assay review`): one per answer and reviewer, replaced
//! when the reviewer labels the answer again, removed on undo.

use crate::db::{params, TxKind};
use crate::{ReviewLabel, Store, StoreError, REVIEW_LABELS};

/// A label as selected: answer id, reviewer, label, note, created_at.
type ReviewColumns = (i64, String, String, Option<String>, String);

impl Store {
    /// Every reviewer's labels on the answers of a run (none for a run that is not in the
    /// store), ordered by `created_at`, then answer id and reviewer.
    pub fn review_labels(&self, run_id: &str) -> Result<Vec<ReviewLabel>, StoreError> {
        let raws: Vec<ReviewColumns> = self.read_rows(
            "SELECT answer_id, reviewer, label, note, created_at FROM reviews WHERE run_id = ?1",
            params![run_id],
            || format!("cannot read the review labels of run {run_id:?}"),
            "reviews",
        )?;
        let mut labels: Vec<ReviewLabel> = raws
            .into_iter()
            .map(
                |(answer_id, reviewer, label, note, created_at)| ReviewLabel {
                    answer_id,
                    reviewer,
                    label,
                    note,
                    created_at,
                },
            )
            .collect();
        // Timestamps are stored in one fixed format, so text order is time order.
        labels.sort_by(|a, b| {
            (&a.created_at, a.answer_id, &a.reviewer).cmp(&(
                &b.created_at,
                b.answer_id,
                &b.reviewer,
            ))
        });
        Ok(labels)
    }

    /// Stores a reviewer's label on an answer of `run_id`, replacing the label (with its note
    /// and time) that reviewer gave it before. Refused with [`StoreError::InvalidValue`]: an
    /// empty reviewer, a label not in [`REVIEW_LABELS`], a time that is not RFC 3339, an answer
    /// of another run; with [`StoreError::UnknownRun`] or [`StoreError::UnknownAnswer`] when
    /// the run or the answer is not in the store.
    pub fn put_review_label(&self, run_id: &str, label: &ReviewLabel) -> Result<(), StoreError> {
        let answer_id = label.answer_id;
        let what = || format!("the review label on answer {answer_id} of run {run_id:?}");
        if label.reviewer.trim().is_empty() {
            return Err(self.invalid(what(), "its reviewer is empty".to_string()));
        }
        if !REVIEW_LABELS.contains(&label.label.as_str()) {
            return Err(self.invalid(
                what(),
                format!(
                    "its label {:?} is not one of {}",
                    label.label,
                    REVIEW_LABELS.map(|l| format!("{l:?}")).join(", ")
                ),
            ));
        }
        let created_at = self.timestamp(&label.created_at, what)?;
        let context = || format!("cannot store the review label on answer {answer_id}");
        self.transaction(TxKind::Write, context, |s| {
            let owners: Vec<(String,)> = self.select(
                s,
                "SELECT run_id FROM answers WHERE id = ?1",
                params![answer_id],
                context,
                "answers",
            )?;
            match owners.first() {
                None => {
                    self.require_run(s, run_id)?;
                    return Err(StoreError::UnknownAnswer {
                        path: self.path.clone(),
                        id: answer_id,
                    });
                }
                Some((owner,)) if owner != run_id => {
                    return Err(self.invalid(what(), format!("the answer is of run {owner:?}")));
                }
                Some(_) => {}
            }
            s.execute(
                "INSERT INTO reviews (run_id, answer_id, reviewer, label, note, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                 ON CONFLICT (answer_id, reviewer) DO UPDATE SET label = excluded.label, \
                 note = excluded.note, created_at = excluded.created_at",
                params![
                    run_id,
                    answer_id,
                    &label.reviewer,
                    &label.label,
                    label.note.as_deref(),
                    &created_at,
                ],
            )
            .map_err(self.db_err(context))?;
            Ok(())
        })
    }

    /// Removes `reviewer`'s label on an answer of `run_id` (an undo); `Ok(false)` when there
    /// was none.
    pub fn delete_review_label(
        &self,
        run_id: &str,
        answer_id: i64,
        reviewer: &str,
    ) -> Result<bool, StoreError> {
        let deleted = self
            .session()
            .execute(
                "DELETE FROM reviews WHERE run_id = ?1 AND answer_id = ?2 AND reviewer = ?3",
                params![run_id, answer_id, reviewer],
            )
            .map_err(self.db_err(|| {
                format!("cannot remove {reviewer:?}'s review label on answer {answer_id}")
            }))?;
        Ok(deleted > 0)
    }
}
