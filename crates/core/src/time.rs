//! Timestamps as every record stores them.

/// The current UTC time as RFC 3339 with milliseconds and a `Z`, e.g.
/// `2026-01-31T12:00:00.123Z`: the form every stored timestamp uses, so they sort as text.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// An age written as a whole number and a unit — `45s`, `30m`, `1h`, `2d`, `1w` — as people
/// give one on a command line (`guard log --since 1h`, `runs prune --older-than 2d`); `None`
/// when `text` is not one.
pub fn parse_age(text: &str) -> Option<std::time::Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let seconds_per_unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return None,
    };
    number
        .checked_mul(seconds_per_unit)
        .map(std::time::Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_with_their_unit() {
        let secs = |t: &str| parse_age(t).map(|d| d.as_secs());
        assert_eq!(secs("30m"), Some(1800));
        assert_eq!(secs(" 1h "), Some(3600));
        assert_eq!(secs("2d"), Some(172_800));
        assert_eq!(secs("1w"), Some(604_800));
        assert_eq!(secs("45s"), Some(45));
        for bad in [
            "",
            "h",
            "1",
            "1.5h",
            "-1h",
            "1y",
            "1H",
            "99999999999999999999d",
        ] {
            assert_eq!(parse_age(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn milliseconds_and_z() {
        let now = now_rfc3339();
        assert_eq!(now.len(), "2026-01-31T12:00:00.123Z".len(), "{now}");
        assert!(now.ends_with('Z'), "{now}");
        assert_eq!(&now[19..20], ".", "{now}");
        assert!(chrono::DateTime::parse_from_rfc3339(&now).is_ok(), "{now}");
    }
}
