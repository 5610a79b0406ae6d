//! Durations as written everywhere in the CLI (`90s`, `5m`, `12h`, `30d`) and as shown
//! back to people.

use std::time::Duration;

use jiff::SignedDuration;

pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    // humantime's own advice names units such as 30sec and 30ms; say what spvault
    // documents instead.
    humantime::parse_duration(text).map_err(|_| {
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            format!("'{text}' has no unit: write {text}s, {text}m, {text}h or {text}d")
        } else {
            format!(
                "'{}' is not a duration like 90s, 5m, 12h or 30d",
                text.escape_debug()
            )
        }
    })
}

/// Clap's parser for duration flags.
pub fn parse_arg(text: &str) -> Result<SignedDuration, String> {
    let duration = parse(text)?;
    SignedDuration::try_from(duration).map_err(|_| format!("'{text}' is too long"))
}

/// A short human form: `52m`, `3h 5m`, `12d`. Negative spans read as their size.
pub fn short(span: SignedDuration) -> String {
    let seconds = span.as_secs().unsigned_abs();
    if seconds < 60 {
        return format!("{seconds}s");
    }
    let total_minutes = seconds / 60;
    let (days, hours, minutes) = (
        total_minutes / 1440,
        total_minutes / 60 % 24,
        total_minutes % 60,
    );
    match (days, hours) {
        (0, 0) => format!("{minutes}m"),
        (0, _) if minutes == 0 => format!("{hours}h"),
        (0, _) => format!("{hours}h {minutes}m"),
        _ => format!("{days}d"),
    }
}

/// [`short`] for a duration that cannot be negative.
pub fn short_std(duration: Duration) -> String {
    short(SignedDuration::try_from(duration).unwrap_or(SignedDuration::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cli_durations() {
        assert_eq!(parse("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse("30d").unwrap(), Duration::from_secs(30 * 86400));
        assert!(parse("soon").is_err());
        let bare = parse("30").unwrap_err();
        assert!(bare.contains("30d") && !bare.contains("sec"), "{bare}");
    }

    #[test]
    fn shows_short_durations() {
        assert_eq!(short(SignedDuration::from_secs(52 * 60 + 10)), "52m");
        assert_eq!(short(SignedDuration::from_secs(-42)), "42s");
        assert_eq!(short(SignedDuration::from_secs(3 * 3600 + 5 * 60)), "3h 5m");
        assert_eq!(short(SignedDuration::from_hours(2)), "2h");
        assert_eq!(short(SignedDuration::from_hours(24 * 12 + 3)), "12d");
    }
}
