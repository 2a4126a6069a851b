//! The guard's audit log: one row per intervention on a prompt or an answer.

use crate::db::{params, DbRow, FromRow};
use crate::{GuardEventFilter, GuardEventRecord, Store, StoreError};

/// A guard event as selected: created_at, key_id, request_id, model, direction, category,
/// action, char_offset, rule.
impl FromRow for GuardEventRecord {
    fn from_row(mut row: DbRow) -> Result<Self, String> {
        row.expect_columns(9)?;
        Ok(GuardEventRecord {
            created_at: row.take(0)?,
            key_id: row.take(1)?,
            request_id: row.take(2)?,
            model: row.take(3)?,
            direction: row.take(4)?,
            category: row.take(5)?,
            action: row.take(6)?,
            offset: u64::try_from(row.take::<i64>(7)?).unwrap_or(0),
            rule: row.take(8)?,
        })
    }
}

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
            Some(t) => match age_cutoff(t, chrono::Utc::now()) {
                Some(cutoff) => cutoff,
                None => self.timestamp(t, || {
                    "the --since time (an age such as 30m, 1h or 2d, or an RFC 3339 time)"
                        .to_string()
                })?,
            },
            None => String::new(),
        };
        let key = filter.key_id.clone().unwrap_or_default();
        let category = filter.category.clone().unwrap_or_default();
        let limit = i64::try_from(filter.limit.unwrap_or(usize::MAX)).unwrap_or(i64::MAX);
        let mut rows: Vec<GuardEventRecord> = self.read_rows(
            "SELECT created_at, key_id, request_id, model, direction, category, action, \
             char_offset, rule FROM guard_events WHERE created_at >= ?1 \
             AND (?2 = '' OR key_id = ?2) AND (?3 = '' OR category = ?3) \
             ORDER BY created_at DESC, id DESC LIMIT ?4",
            params![&since, &key, &category, limit],
            || "cannot read the guard events".to_string(),
            "guard_events",
        )?;
        rows.reverse();
        Ok(rows)
    }

    /// The categories the audit log has events in, sorted (what `--category` may name).
    pub fn guard_event_categories(&self) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = self.read_rows(
            "SELECT DISTINCT category FROM guard_events ORDER BY category",
            params![],
            || "cannot read the guard event categories".to_string(),
            "guard_events",
        )?;
        Ok(rows.into_iter().map(|(c,)| c).collect())
    }
}

/// `now` less an age ([`assay_core::parse_age`]: `30m`, `1h`, `2d`, ...) as a stored
/// timestamp (UTC, milliseconds); `None` when `text` is not such an age. People asking for
/// recent events think in ages; an RFC 3339 time means working one out first.
pub(crate) fn age_cutoff(text: &str, now: chrono::DateTime<chrono::Utc>) -> Option<String> {
    let age = chrono::Duration::from_std(assay_core::parse_age(text)?).ok()?;
    let cutoff = now.checked_sub_signed(age)?;
    Some(cutoff.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_before_now() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-03T08:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let at = |t: &str| age_cutoff(t, now);
        assert_eq!(at("30m").as_deref(), Some("2026-12-03T07:30:00.000Z"));
        assert_eq!(at(" 1h ").as_deref(), Some("2026-12-03T07:00:00.000Z"));
        assert_eq!(at("2d").as_deref(), Some("2026-12-01T08:00:00.000Z"));
        assert_eq!(at("1w").as_deref(), Some("2026-11-26T08:00:00.000Z"));
        assert_eq!(at("45s").as_deref(), Some("2026-12-03T07:59:15.000Z"));
        for not_an_age in [
            "",
            "h",
            "1",
            "1y",
            "-1h",
            "1.5h",
            "2026-12-03T08:00:00Z",
            "1時",
        ] {
            assert_eq!(at(not_an_age), None, "{not_an_age:?}");
        }
        assert_eq!(at("99999999999999w"), None, "too far back");
    }
}
