//! How values are shown: text that came from a file or a server, made safe for a
//! terminal (control characters, which can set the window title, clear the screen or
//! rewrite earlier output, are shown escaped), and times in one format everywhere.

/// `text` with every control character written as `\u{..}`.
pub fn escape_controls(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A time as every command prints it: RFC 3339 in UTC, in whole seconds
/// (`2026-11-28T09:40:15Z`).
pub fn timestamp(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Whole days until `expires_at`; `None` when it is unknown.
pub fn days_left(expires_at: Option<jiff::Timestamp>, now: jiff::Timestamp) -> Option<i64> {
    expires_at.map(|t| now.duration_until(t).as_secs().div_euclid(86_400))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_whole_seconds_in_utc() {
        let at: jiff::Timestamp = "2026-11-28T09:40:15.987654321Z".parse().unwrap();
        assert_eq!(timestamp(at), "2026-11-28T09:40:15Z");
    }

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(
            escape_controls("a\u{1b}]0;x\u{7}b\u{9b}ü"),
            "a\\u{1b}]0;x\\u{7}b\\u{9b}ü"
        );
    }
}
