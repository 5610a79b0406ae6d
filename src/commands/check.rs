use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::list::days_left;
use crate::error::{Error, Result};
use crate::vault::Unlocked;
use crate::vault::Vault;
use crate::vault::file::VaultFile;

/// One thing that needs attention; field names are stable (README).
#[derive(Debug, Serialize)]
pub struct Problem {
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    pub message: String,
}

pub fn problems(vault: &Vault, within: SignedDuration, now: Timestamp) -> Vec<Problem> {
    let mut found = Vec::new();
    for (name, app) in &vault.apps {
        let expires = app.client_secret_expires_at;
        if now.duration_until(expires) <= within {
            let days = days_left(expires, now);
            let (kind, when) = if expires <= now {
                (
                    "client_secret_expired",
                    format!("expired {} days ago", -days),
                )
            } else {
                ("client_secret_expiring", format!("expires in {days} days"))
            };
            found.push(Problem {
                kind,
                app: Some(name.clone()),
                profile: None,
                message: format!(
                    "the client secret of app '{name}' {when}: `vault app rotate-secret {name}`, or rotate it in Developer Central and `vault app set-secret {name}`"
                ),
            });
        }
    }
    for (name, profile) in &vault.profiles {
        if profile.refresh_token.is_none() {
            found.push(Problem {
                kind: "refresh_token_missing",
                app: None,
                profile: Some(name.clone()),
                message: format!("profile '{name}' has no refresh token: `vault login {name}`"),
            });
        }
        if let Some(failure) = &profile.last_refresh_error {
            found.push(Problem {
                kind: "last_refresh_failed",
                app: None,
                profile: Some(name.clone()),
                message: format!(
                    "the last refresh of profile '{name}' was rejected ({}, {}): see `vault refresh {name}`",
                    failure.code,
                    failure.at.strftime("%Y-%m-%d %H:%M UTC")
                ),
            });
        }
    }
    found
}

pub fn run(file: VaultFile, within: SignedDuration, json: bool) -> Result<()> {
    let (_, vault) = Unlocked::open(file)?;
    let found = problems(&vault, within, Timestamp::now());
    if json {
        let report = serde_json::json!({
            "ok": found.is_empty(),
            "apps": vault.apps.len(),
            "profiles": vault.profiles.len(),
            "problems": found,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("JSON values serialize")
        );
    } else if found.is_empty() {
        println!(
            "OK: {} apps and {} profiles need no attention",
            vault.apps.len(),
            vault.profiles.len()
        );
    } else {
        for problem in &found {
            println!("{}", problem.message);
        }
    }
    if found.is_empty() {
        Ok(())
    } else {
        Err(Error::NeedsAttention(found.len()))
    }
}
