//! Timestamps as every record stores them.

/// The current UTC time as RFC 3339 with milliseconds and a `Z`, e.g.
/// `2026-01-31T12:00:00.123Z`: the form every stored timestamp uses, so they sort as text.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_and_z() {
        let now = now_rfc3339();
        assert_eq!(now.len(), "2026-01-31T12:00:00.123Z".len(), "{now}");
        assert!(now.ends_with('Z'), "{now}");
        assert_eq!(&now[19..20], ".", "{now}");
        assert!(chrono::DateTime::parse_from_rfc3339(&now).is_ok(), "{now}");
    }
}
