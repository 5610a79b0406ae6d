//! What several commands print the same way: client secret expiry, the
//! warning about secrets near expiry, retries, and opening the vault for a listing.

use jiff::Timestamp;

use crate::display::{days_left, time_left, time_left_text};
use crate::error::Result;
use crate::unlock;
use crate::vault::Vault;
use crate::vault::file::VaultFile;

/// Client secrets closer than this to expiry are flagged.
pub const SECRET_WARNING_DAYS: i64 = 30;

pub fn secret_expiry_text(expires_at: Option<Timestamp>, now: Timestamp) -> String {
    let (Some(at), Some(days)) = (expires_at, days_left(expires_at, now)) else {
        return "unknown".into();
    };
    match time_left_text(at, now) {
        text if (0..SECRET_WARNING_DAYS).contains(&days) => format!("{text} - rotate now"),
        text => text,
    }
}

/// Opens the vault for a read-only listing. A vault that is not there is an error
/// (exit 5), never an empty list: a mistyped SPVAULT_FILE must not look like an empty
/// vault to a monitor.
pub fn open_for_reading(file: VaultFile) -> Result<Vault> {
    unlock::open(file).map(|(_, vault)| vault)
}

/// Warns on stderr about client secrets that expire within 30 days.
pub fn warn_about_secrets(vault: &Vault, now: Timestamp) {
    for (name, app) in &vault.apps {
        let (Some(at), Some(days)) = (
            app.client_secret_expires_at,
            days_left(app.client_secret_expires_at, now),
        ) else {
            continue;
        };
        if days < SECRET_WARNING_DAYS {
            let when = match time_left(at, now) {
                (_, true) => "has expired".to_owned(),
                (span, false) => format!("expires in {span}"),
            };
            eprintln!(
                "warning: the client secret of app '{name}' {when}: rotate it in Developer Central and run `vault app set-secret {name}`"
            );
        }
    }
}

/// Announces a retry on stderr, at a terminal only: scripts get the outcome alone.
pub fn print_retry(retry: &crate::http::Retry) {
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        eprintln!(
            "{}: {}; retrying in {}…",
            retry.target.origin().ascii_serialization(),
            retry.detail,
            humantime::format_duration(std::time::Duration::from_millis(
                retry.wait.as_millis() as u64
            ))
        );
    }
}
