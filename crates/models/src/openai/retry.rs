//! When a failed request is tried again, and how long to wait first.

use std::time::{Duration, SystemTime};

use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use tokio::time::Instant;

use super::client::ClientConfig;
use crate::ModelError;

/// The longest `Retry-After` we will wait; a server asking for more is treated as down.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// Runs `attempt` until it succeeds, fails for good (see [`ModelError::is_retryable`]), or
/// retries are used up. `url` names the endpoint in logs.
pub(super) async fn with_retries<T, F, Fut>(
    config: &ClientConfig,
    url: &str,
    deadline: Instant,
    mut attempt: F,
) -> Result<T, ModelError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ModelError>>,
{
    let mut retries = 0;
    loop {
        let err = match attempt().await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        if retries >= config.max_retries || !err.is_retryable() {
            return Err(err);
        }
        let wait = match retry_after_of(&err) {
            Some(ra) => ra.min(MAX_RETRY_AFTER),
            None => full_jitter(config.initial_backoff, config.max_backoff, retries),
        };
        if Instant::now() + wait >= deadline {
            // Sleeping past the deadline only to fail with a timeout would hide the cause.
            return Err(err);
        }
        tracing::debug!(url = %url, retry = retries + 1, ?wait, error = %err, "retrying");
        tokio::time::sleep(wait).await;
        retries += 1;
    }
}

fn retry_after_of(e: &ModelError) -> Option<Duration> {
    match e {
        ModelError::Http { retry_after, .. } => *retry_after,
        _ => None,
    }
}

/// A random wait between zero and the exponential backoff for retry number `retry` (from 0).
fn full_jitter(initial: Duration, max: Duration, retry: u32) -> Duration {
    let ceiling = initial.saturating_mul(2u32.saturating_pow(retry)).min(max);
    let ceiling_ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::thread_rng().gen_range(0..=ceiling_ms))
}

/// Reads `Retry-After` (delay-seconds or IMF-fixdate) or OpenAI's `retry-after-ms`.
pub(super) fn parse_retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = text("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        if ms.is_finite() && ms >= 0.0 {
            return Some(Duration::from_secs_f64(
                (ms / 1000.0).min(MAX_RETRY_AFTER.as_secs_f64()),
            ));
        }
    }
    let value = text(RETRY_AFTER.as_str())?;
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    // IMF-fixdate and the two obsolete forms recipients must still accept (RFC 9110 5.6.7).
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use std::time::UNIX_EPOCH;

    #[test]
    fn retry_after_forms() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        let headers = |name: &'static str, v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(name, HeaderValue::from_static(v));
            h
        };
        assert_eq!(
            parse_retry_after(&headers("retry-after", "7"), now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after(
                &headers("retry-after", "Sun, 06 Nov 1994 08:50:07 GMT"),
                now
            ),
            Some(Duration::from_secs(30))
        );
        // A date in the past means now.
        assert_eq!(
            parse_retry_after(
                &headers("retry-after", "Sun, 06 Nov 1994 08:00:00 GMT"),
                now
            ),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after(&headers("retry-after-ms", "1500"), now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after(&headers("retry-after", "soon"), now),
            None
        );
        assert_eq!(parse_retry_after(&headers("retry-after", "-1"), now), None);
        assert_eq!(parse_retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn retry_after_dates_in_every_form_recipients_must_accept() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        let wait = |date: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(RETRY_AFTER, HeaderValue::from_static(date));
            parse_retry_after(&headers, now)
        };
        // IMF-fixdate, RFC 850 and asctime: the last two were ignored (computed backoff used)
        // by the hand-written parser this replaced.
        for date in [
            "Sun, 06 Nov 1994 08:50:07 GMT",
            "Sunday, 06-Nov-94 08:50:07 GMT",
            "Sun Nov  6 08:50:07 1994",
        ] {
            assert_eq!(wait(date), Some(Duration::from_secs(30)), "{date}");
        }
        // A leap day, 951,825,600 s after the epoch.
        assert_eq!(
            wait("Tue, 29 Feb 2000 12:00:00 GMT"),
            Some(Duration::from_secs(951_825_600 - 784_111_777))
        );
        for bad in [
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
        ] {
            assert_eq!(wait(bad), None, "{bad}");
        }
    }

    #[test]
    fn backoff_stays_under_its_ceiling() {
        let initial = Duration::from_millis(100);
        let max = Duration::from_millis(1000);
        for retry in 0..40 {
            let ceiling = (initial * 2u32.saturating_pow(retry.min(20))).min(max);
            for _ in 0..20 {
                assert!(full_jitter(initial, max, retry) <= ceiling, "retry {retry}");
            }
        }
        // Jitter means not always the same wait.
        let waits: std::collections::HashSet<_> =
            (0..50).map(|_| full_jitter(initial, max, 5)).collect();
        assert!(waits.len() > 1);
    }
}
