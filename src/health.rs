//! What needs attention in a vault, and what Amazon's marketplace participations say
//! is wrong with a profile: the decisions `vault check` prints.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::api::participation::Participation;
use crate::display::time_left;
use crate::vault::Vault;
use crate::vault::model::{Authorization, Profile};

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
    if vault.audit.as_ref().is_some_and(|audit| !audit.on) {
        found.push(Problem {
            kind: "audit_off",
            app: None,
            profile: None,
            message: "the access log is off: nothing records who gets which credential; `vault audit on` turns it on".into(),
        });
    }
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
            let (kind, when) = match time_left(expires, now) {
                (span, true) => ("client_secret_expired", format!("expired {span} ago")),
                (span, false) => ("client_secret_expiring", format!("expires in {span}")),
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
                    fix_for_rejection(&failure.code, name, profile)
                ),
            ));
        }
        if let Authorization::ConsentFlow { expires_at } = profile.authorization()
            && now.duration_until(expires_at) <= within
        {
            found.push(match time_left(expires_at, now) {
                (span, true) => problem(
                    "authorization_expired",
                    format!(
                        "the seller's authorization of profile '{name}' lapsed {span} ago (Amazon asks for it every 365 days): `vault login {name}`"
                    ),
                ),
                (span, false) => problem(
                    "authorization_expiring",
                    format!(
                        "the seller's authorization of profile '{name}' lapses in {span} (Amazon asks for it every 365 days): `vault login {name}` before then"
                    ),
                ),
            });
        }
    }
    for (name, first) in duplicate_refresh_tokens(vault) {
        found.push(Problem {
            kind: "duplicate_refresh_token",
            app: None,
            profile: Some(name.to_owned()),
            message: duplicate_message(name, first),
        });
    }
    found
}

/// Each profile whose refresh token an earlier profile (in name order) already
/// holds, with that earlier profile: one authorization stored twice, usually a
/// copy made by mistake.
fn duplicate_refresh_tokens(vault: &Vault) -> Vec<(&str, &str)> {
    let mut first_holder: std::collections::HashMap<&str, &str> = Default::default();
    let mut duplicates = Vec::new();
    for (name, profile) in &vault.profiles {
        if let Some(token) = &profile.refresh_token {
            match first_holder.entry(token.expose()) {
                std::collections::hash_map::Entry::Occupied(first) => {
                    duplicates.push((name.as_str(), *first.get()))
                }
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(name);
                }
            }
        }
    }
    duplicates
}

fn duplicate_message(name: &str, other: &str) -> String {
    format!(
        "profile '{name}' holds the same refresh token as '{other}', one authorization stored twice: remove the copy with `vault remove {name} --yes`, or authorize its own account with `vault login {name}`"
    )
}

/// The warning `login` prints when the token it stored for `name` is another
/// profile's too.
pub fn shared_refresh_token_warning(vault: &Vault, name: &str, token: &str) -> Option<String> {
    vault
        .profiles
        .iter()
        .find(|(other, p)| {
            other.as_str() != name
                && p.refresh_token
                    .as_ref()
                    .is_some_and(|t| t.expose() == token)
        })
        .map(|(other, _)| duplicate_message(name, other))
}

/// The command that fixes a rejected refresh; never `vault refresh`, which would only
/// repeat the rejection.
fn fix_for_rejection(code: &str, name: &str, profile: &Profile) -> String {
    let app = &profile.app;
    match code {
        "invalid_grant" => profile.authorization().when_revoked(name),
        "invalid_client" => format!(
            "the client secret of app '{app}' is wrong or expired: store the current one with `vault app set-secret {app}`"
        ),
        _ => format!("check profile '{name}' and app '{app}', then `vault login {name}`"),
    }
}

/// "DE (A1PA6795UKMFR9), FR (A13V1IB3VIYZZH)", or "no marketplace".
pub fn describe_marketplaces(marketplaces: &[Participation]) -> String {
    if marketplaces.is_empty() {
        return "no marketplace".into();
    }
    marketplaces
        .iter()
        .map(|m| crate::display::escape_controls(&format!("{} ({})", m.country_code, m.id)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What Amazon's participations say is wrong with a profile: its marketplace is not
/// among them (the usual sign of a wrong region or marketplace). Suspended listings
/// are none: `hasSuspendedListings` means the seller set its listings to Inactive
/// (a holiday, say), which `check --online` shows without failing.
/// The sandbox answers with static, US-only participations: for a sandbox profile
/// they say nothing about its marketplace.
pub fn participation_problems(
    name: &str,
    profile: &Profile,
    marketplaces: &[Participation],
) -> Vec<Problem> {
    let problem = |kind, message| Problem {
        kind,
        app: None,
        profile: Some(name.to_owned()),
        message,
    };
    let mut found = Vec::new();
    if let Some(id) = &profile.marketplace_id
        && !profile.sandbox
        && !marketplaces.iter().any(|m| &m.id == id)
    {
        found.push(problem(
            "marketplace_not_participating",
            format!(
                "profile '{name}' is for marketplace {}, but Amazon says the account participates in {}: fix the region or marketplace with `vault edit-profile {name} --region REGION --marketplace CODE`",
                match crate::spapi::Marketplace::by_id(id) {
                    Some(known) => format!("{} ({id})", known.code),
                    None => id.clone(),
                },
                describe_marketplaces(marketplaces)
            ),
        ));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spapi::Region;

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
