//! The guard's audit log: one row per intervention on a prompt or an answer.

use crate::db::params;
use crate::{GuardEventFilter, GuardEventRecord, Store, StoreError};

/// A guard event as read: created_at, key_id, request_id, model, direction, category,
/// action, char_offset, rule.
type GuardEventColumns = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
);

impl Store {
    /// Appends an intervention to the guard's audit log.
    pub fn record_guard_event(&self, event: &GuardEventRecord) -> Result<(), StoreError> {
        let created_at = self.timestamp(&event.created_at, || {
            format!("the time of guard event of request {:?}", event.request_id)
        })?;
        let offset = i64::try_from(event.offset).unwrap_or(i64::MAX);
        self.session()
            .execute(
                "INSERT INTO guard_events (created_at, key_id, request_id, model, direction, \
                 category, action, char_offset, rule) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    created_at,
                    &event.key_id,
                    &event.request_id,
                    &event.model,
                    &event.direction,
                    &event.category,
                    &event.action,
                    offset,
                    &event.rule,
                ],
            )
            .map_err(self.db_err(|| {
                format!(
                    "cannot record the guard event of request {:?}",
                    event.request_id
                )
            }))?;
        Ok(())
    }

    /// Guard events matching `filter`, oldest first.
    pub fn guard_events(
        &self,
        filter: &GuardEventFilter,
    ) -> Result<Vec<GuardEventRecord>, StoreError> {
        let since = match &filter.since {
            Some(t) => self.timestamp(t, || "the --since time".to_string())?,
            None => String::new(),
        };
        let key = filter.key_id.clone().unwrap_or_default();
        let category = filter.category.clone().unwrap_or_default();
        let limit = i64::try_from(filter.limit.unwrap_or(usize::MAX)).unwrap_or(i64::MAX);
        let raws: Vec<GuardEventColumns> = self.select(
            &mut self.session(),
            "SELECT created_at, key_id, request_id, model, direction, category, action, \
             char_offset, rule FROM guard_events WHERE created_at >= ?1 \
             AND (?2 = '' OR key_id = ?2) AND (?3 = '' OR category = ?3) \
             ORDER BY created_at DESC, id DESC LIMIT ?4",
            params![&since, &key, &category, limit],
            || "cannot read the guard events".to_string(),
            "guard_events",
        )?;
        let mut rows: Vec<GuardEventRecord> = raws
            .into_iter()
            .map(
                |(
                    created_at,
                    key_id,
                    request_id,
                    model,
                    direction,
                    category,
                    action,
                    offset,
                    rule,
                )| {
                    GuardEventRecord {
                        created_at,
                        key_id,
                        request_id,
                        model,
                        direction,
                        category,
                        action,
                        offset: u64::try_from(offset).unwrap_or(0),
                        rule,
                    }
                },
            )
            .collect();
        rows.reverse();
        Ok(rows)
    }
}
