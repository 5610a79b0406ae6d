//! Yes/no questions at a terminal, the one way every command asks them: `y`, `yes`,
//! `n` or `no` in any case, Enter for the default, anything else asked again. (A
//! keypress reader takes the last y or n typed, so `not yet` read as yes.)

use dialoguer::Input;

use crate::error::{Error, Result};

/// The answer `text` gives, Enter meaning `default`; `None` when it is neither a
/// yes nor a no.
pub fn parse(text: &str, default: bool) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "" => Some(default),
        "y" | "yes" => Some(true),
        "n" | "no" => Some(false),
        _ => None,
    }
}

/// Asks `prompt` (shown with `[Y/n]` or `[y/N]`) until the answer is a yes or a no.
pub fn yes_no(prompt: &str, default: bool) -> Result<bool> {
    let choices = if default { "[Y/n]" } else { "[y/N]" };
    let answer = Input::<String>::new()
        .with_prompt(format!("{prompt} {choices}"))
        .allow_empty(true)
        .validate_with(|text: &String| match parse(text, default) {
            Some(_) => Ok(()),
            None => Err("answer y (yes) or n (no), or press Enter for the default"),
        })
        .interact_text()
        .map_err(terminal_error)?;
    Ok(parse(&answer, default).expect("validated above"))
}

pub fn terminal_error(e: dialoguer::Error) -> Error {
    Error::Other(format!("cannot read from the terminal: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_yes_and_no_words_count() {
        for (text, default, answer) in [
            ("", false, Some(false)),
            ("  ", true, Some(true)),
            ("y", false, Some(true)),
            ("YES", false, Some(true)),
            ("No", true, Some(false)),
            ("n", true, Some(false)),
            ("not yet", false, None),
            ("maybe", false, None),
            ("yep", false, None),
        ] {
            assert_eq!(parse(text, default), answer, "{text:?}");
        }
    }
}
