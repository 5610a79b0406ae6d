//! Questions asked at a terminal (the wizard, a secret's expiry), each checked as it
//! is typed and asked again until the answer fits.

use dialoguer::Input;
use jiff::Timestamp;

use crate::error::{Error, Result};
use crate::vault::model;

/// Whether a person can answer: a terminal that is also where input comes from.
pub fn interactive() -> bool {
    crate::passphrase::terminal_available() && std::io::IsTerminal::is_terminal(&std::io::stdin())
}

/// Asks `prompt` on a line that shows what is typed, until `check` accepts the
/// answer. A secret pasted there is refused before `check` sees it, so no error
/// quotes it; dialoguer clears the refused line from the screen.
pub fn ask(
    prompt: &str,
    default: Option<&str>,
    check: impl Fn(&String) -> Result<()>,
) -> Result<String> {
    let mut input = Input::<String>::new()
        .with_prompt(prompt)
        .validate_with(|value: &String| {
            not_a_secret(value)
                .and_then(|()| check(value))
                .map_err(|e| e.in_full())
        });
    match default {
        // An empty answer is allowed, without showing an empty default as "[]".
        Some("") => input = input.allow_empty(true),
        Some(default) => input = input.default(default.to_owned()),
        None => {}
    }
    input
        .interact_text()
        .map_err(crate::question::terminal_error)
}

/// What an echoing prompt's answer must not be: a secret, which belongs in a hidden
/// prompt.
fn not_a_secret(value: &str) -> Result<()> {
    let value = value.trim();
    let what = if value.starts_with(model::CLIENT_SECRET_PREFIX) {
        "the client secret"
    } else if value.starts_with("Atzr|") {
        "a refresh token"
    } else if value.starts_with("Atza|") {
        "an access token"
    } else {
        return Ok(());
    };
    Err(Error::Invalid(format!(
        "that looks like {what}: this prompt shows what is typed, so nothing was kept (secrets go into their own hidden prompts)"
    )))
}

/// The client secret's expiry: `given` (`--expires`), else asked at a terminal (Enter
/// means 180 days from now, right for a secret generated just now), else unknown.
pub fn secret_expiry(app: &str, given: Option<Timestamp>) -> Result<Option<Timestamp>> {
    if given.is_some() || !interactive() {
        return Ok(given);
    }
    let answer = ask(
        "Client secret expires (the date Developer Central shows; Enter: 180 days from today, for a secret generated just now)",
        Some(""),
        |value| match value.trim() {
            "" => Ok(()),
            date => model::parse_future_date(date, app).map(drop),
        },
    )?;
    match answer.trim() {
        "" => Ok(Some(Timestamp::now() + model::CLIENT_SECRET_LIFETIME)),
        date => model::parse_future_date(date, app).map(Some),
    }
}
