//! Opening an address in the user's browser: `$BROWSER URL` when set (a `%s` in it
//! is replaced by the address), else the platform's opener.

use std::process::{Command, Stdio};

/// Opens `url`; returns false when no browser could be started (the caller then
/// prints the address for the user to open).
pub fn open(url: &str) -> bool {
    match std::env::var("BROWSER") {
        Ok(browser) if !browser.trim().is_empty() => {
            let command = if browser.contains("%s") {
                browser.replace("%s", "\"$1\"")
            } else {
                format!("{browser} \"$1\"")
            };
            Command::new("sh")
                .args(["-c", &command, "sh", url])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .spawn()
                .is_ok()
        }
        _ => webbrowser::open(url).is_ok(),
    }
}
