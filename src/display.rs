//! How values are shown: text that came from a file or a server, made safe for a
//! terminal (control characters, which can set the window title, clear the screen or
//! rewrite earlier output, and the characters that make a terminal show other text
//! than is there, are shown escaped), and times in one format everywhere.

/// `text` with every control character, bidirectional override, embedding, isolate
/// or mark, and invisible character written as `\u{..}`.
pub fn escape_controls(text: &str) -> String {
    escape_but(text, |_| false)
}

/// Text of many lines (a server's answer) for a terminal: `escape_controls`, but
/// line breaks and tabs kept.
pub fn escape_for_terminal(text: &str) -> String {
    escape_but(text, |c| c == '\n' || c == '\t')
}

fn escape_but(text: &str, keep: fn(char) -> bool) -> String {
    text.chars()
        .map(|c| {
            if (c.is_control() || is_deceptive(c)) && !keep(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Whether `c` changes how the text around it is shown without being seen itself:
/// the bidirectional controls (embeddings and overrides U+202A–U+202E, isolates
/// U+2066–U+2069, the marks U+200E, U+200F and U+061C), the zero-width characters
/// (U+200B–U+200D, U+2060–U+2064, U+FEFF) and the line and paragraph separators
/// (U+2028, U+2029).
fn is_deceptive(c: char) -> bool {
    matches!(
        c,
        '\u{061c}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}'
    )
}

/// A time as every command prints it: RFC 3339 in UTC, in whole seconds
/// (`2026-11-28T09:40:15Z`).
pub fn timestamp(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Whole days until `expires_at` (rounded down, so negative once expired), as JSON
/// gives them; `None` when it is unknown.
pub fn days_left(expires_at: Option<jiff::Timestamp>, now: jiff::Timestamp) -> Option<i64> {
    expires_at.map(|t| now.duration_until(t).as_secs().div_euclid(86_400))
}

/// How long from `now` to `at`, or since, for people: days rounded to the nearest
/// (a secret issued just now has "180 days", not 179), hours under a day.
/// `"180 days"`, `"1 day"`, `"5 hours"`, `"1 hour"`; with whether `at` has passed.
pub fn time_left(at: jiff::Timestamp, now: jiff::Timestamp) -> (String, bool) {
    let seconds = now.duration_until(at).as_secs();
    let size = seconds.unsigned_abs();
    let (count, unit) = if size < 86_400 {
        ((size + 1_800) / 3_600, "hour")
    } else {
        ((size + 43_200) / 86_400, "day")
    };
    let count = count.max(1);
    let plural = if count == 1 { "" } else { "s" };
    (format!("{count} {unit}{plural}"), seconds <= 0)
}

/// "180 days left" or "EXPIRED 3 days ago".
pub fn time_left_text(at: jiff::Timestamp, now: jiff::Timestamp) -> String {
    match time_left(at, now) {
        (span, false) => format!("{span} left"),
        (span, true) => format!("EXPIRED {span} ago"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_rounded_to_the_nearest_day_and_hours_under_a_day() {
        let now: jiff::Timestamp = "2026-11-28T09:40:15Z".parse().unwrap();
        let later = |secs: i64| now + jiff::SignedDuration::from_secs(secs);
        assert_eq!(
            time_left_text(later(180 * 86_400 - 5), now),
            "180 days left"
        );
        assert_eq!(
            time_left_text(later(364 * 86_400 + 86_000), now),
            "365 days left"
        );
        assert_eq!(time_left_text(later(86_400 + 3_600), now), "1 day left");
        assert_eq!(time_left_text(later(5 * 3_600 + 60), now), "5 hours left");
        assert_eq!(time_left_text(later(600), now), "1 hour left");
        assert_eq!(
            time_left_text(later(-3 * 86_400), now),
            "EXPIRED 3 days ago"
        );
        assert_eq!(
            time_left_text(later(-2 * 3_600), now),
            "EXPIRED 2 hours ago"
        );
    }

    #[test]
    fn bidi_controls_and_invisible_characters_are_escaped() {
        assert_eq!(
            escape_controls("a\u{202e}b\u{2066}c\u{200b}d\u{feff}é"),
            "a\\u{202e}b\\u{2066}c\\u{200b}d\\u{feff}é"
        );
        assert_eq!(escape_controls("Müller GmbH ✓"), "Müller GmbH ✓");
    }

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
