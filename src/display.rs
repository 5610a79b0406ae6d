//! Text that came from a file or a server, made safe for a terminal: control
//! characters (which can set the window title, clear the screen or rewrite earlier
//! output) are shown escaped, everything else as it is.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(
            escape_controls("a\u{1b}]0;x\u{7}b\u{9b}ü"),
            "a\\u{1b}]0;x\\u{7}b\\u{9b}ü"
        );
    }
}
