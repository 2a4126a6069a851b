//! Kept analyses: what `assay board` keeps of a finished run's analysis, valid while the run's
//! revision (raised by the database on every change to the run's items, answers, grades,
//! people's labels and status) is the one it was made at.

use crate::db::{params, TxKind};
use crate::{KeptAnalysis, Store, StoreError};

impl Store {
    /// The run's revision now, `None` if there is no such run. Read it before reading what an
    /// analysis is made of: a change in between then only makes the kept analysis look stale.
    pub fn run_revision(&self, run_id: &str) -> Result<Option<i64>, StoreError> {
        let rows: Vec<(i64,)> = self.read_rows(
            "SELECT revision FROM runs WHERE id = ?1",
            params![run_id],
            || format!("cannot read the revision of run {run_id:?}"),
            "runs",
        )?;
        Ok(rows.first().map(|&(revision,)| revision))
    }

    /// The analysis kept for a run, whatever its revision and format.
    pub fn kept_analysis(&self, run_id: &str) -> Result<Option<KeptAnalysis>, StoreError> {
        let rows: Vec<(i64, String, String)> = self.read_rows(
            "SELECT revision, format, body FROM kept_analyses WHERE run_id = ?1",
            params![run_id],
            || format!("cannot read the kept analysis of run {run_id:?}"),
            "kept_analyses",
        )?;
        Ok(rows
            .into_iter()
            .next()
            .map(|(revision, format, body)| KeptAnalysis {
                revision,
                format,
                body,
            }))
    }

    /// Keeps a run's analysis, replacing the one kept before.
    pub fn keep_analysis(&self, run_id: &str, kept: &KeptAnalysis) -> Result<(), StoreError> {
        let context = || format!("cannot keep the analysis of run {run_id:?}");
        self.transaction(TxKind::Write, context, |s| {
            s.execute(
                "INSERT INTO kept_analyses (run_id, revision, format, body) \
                 VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (run_id) DO UPDATE SET revision = excluded.revision, \
                 format = excluded.format, body = excluded.body",
                params![run_id, kept.revision, &kept.format, &kept.body],
            )
            .map_err(self.db_err(context))?;
            Ok(())
        })
    }
}
