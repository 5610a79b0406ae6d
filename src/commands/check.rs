use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::list::days_left;
use crate::error::{Error, Result};
use crate::vault::Unlocked;
use crate::vault::Vault;
use crate::vault::file::VaultFile;
use crate::vault::model::Authorization;

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
        let Some(expires) = app.client_secret_expires_at else {
            found.push(Problem {
                kind: "client_secret_expiry_unknown",
                app: Some(name.clone()),
                profile: None,
                message: format!(
                    "the client secret expiry of app '{name}' is unknown: set the date Developer Central shows with `vault app edit {name} --secret-expires DATE`"
                ),
            });
            continue;
        };
        if now.duration_until(expires) <= within {
            let days = days_left(Some(expires), now).unwrap_or_default();
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
        let problem = |kind, message| Problem {
            kind,
            app: None,
            profile: Some(name.clone()),
            message,
        };
        if profile.refresh_token.is_none() {
            found.push(problem(
                "refresh_token_missing",
                format!("profile '{name}' has no refresh token: `vault login {name}`"),
            ));
        }
        if let Some(failure) = &profile.last_refresh_error {
            found.push(problem(
                "last_refresh_failed",
                format!(
                    "the last refresh of profile '{name}' was rejected ({}, {}): {}",
                    failure.code,
                    failure.at.strftime("%Y-%m-%d %H:%M UTC"),
                    fix_for_rejection(&failure.code, name, &profile.app)
                ),
            ));
        }
        if let Authorization::ConsentFlow { expires_at } = profile.authorization()
            && now.duration_until(expires_at) <= within
        {
            let days = days_left(Some(expires_at), now).unwrap_or_default();
            found.push(if expires_at <= now {
                problem(
                    "authorization_expired",
                    format!(
                        "the seller's authorization of profile '{name}' lapsed {} days ago (Amazon asks for it every 365 days): `vault login {name}`",
                        -days
                    ),
                )
            } else {
                problem(
                    "authorization_expiring",
                    format!(
                        "the seller's authorization of profile '{name}' lapses in {days} days (Amazon asks for it every 365 days): `vault login {name}` before then"
                    ),
                )
            });
        }
    }
    found
}

/// The command that fixes a rejected refresh; never `vault refresh`, which would only
/// repeat the rejection.
fn fix_for_rejection(code: &str, profile: &str, app: &str) -> String {
    match code {
        "invalid_grant" => format!(
            "the seller revoked the authorization, it lapsed after 365 days, or the app added a role: authorize again with `vault login {profile}`"
        ),
        "invalid_client" => format!(
            "the client secret of app '{app}' is wrong or expired: store the current one with `vault app set-secret {app}`"
        ),
        _ => format!("check profile '{profile}' and app '{app}', then `vault login {profile}`"),
    }
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
            "OK: {} and {} need no attention",
            crate::error::count(vault.apps.len(), "app"),
            crate::error::count(vault.profiles.len(), "profile")
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spapi::Region;
    use crate::vault::model::Profile;

    #[test]
    fn a_consent_authorization_is_expiring_then_expired() {
        let now = Timestamp::now();
        let mut vault = Vault::default();
        let mut profile = Profile::new("main".into(), Region::Eu, None);
        profile.refresh_token = Some("Atzr|x".into());
        profile.record_authorization(true, now);
        vault.profiles.insert("p".into(), profile);
        let kinds = |at: Timestamp| -> Vec<&str> {
            problems(&vault, SignedDuration::from_hours(30 * 24), at)
                .into_iter()
                .map(|p| p.kind)
                .collect()
        };
        assert!(kinds(now).is_empty());
        assert_eq!(
            kinds(now + SignedDuration::from_hours(340 * 24)),
            ["authorization_expiring"]
        );
        assert_eq!(
            kinds(now + SignedDuration::from_hours(366 * 24)),
            ["authorization_expired"]
        );
    }
}
