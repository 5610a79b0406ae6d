use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::list::days_left;
use crate::api::participation::Participation;
use crate::cli::{CheckArgs, Freshness};
use crate::error::{Error, Result};
use crate::online_check::{self, Online};
use crate::unlock;
use crate::vault::Vault;
use crate::vault::file::VaultFile;
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

pub fn run(file: VaultFile, args: CheckArgs) -> Result<()> {
    let (unlocked, vault) = unlock::open(file)?;
    for name in &args.profiles {
        vault.profile(name)?;
    }
    let online = if args.online {
        let names: Vec<String> = vault
            .profiles
            .iter()
            .filter(|(name, p)| {
                p.refresh_token.is_some()
                    && (args.profiles.is_empty() || args.profiles.contains(name))
            })
            .map(|(name, _)| name.clone())
            .collect();
        Some(online_check::check(
            &unlocked,
            &vault,
            &names,
            usize::from(args.concurrency),
            Freshness::DEFAULT_MIN_VALID,
        )?)
    } else {
        None
    };
    // A refresh rejected just now was recorded in the vault: read it as it is now.
    let vault = if online.is_some() {
        unlocked.reload()?
    } else {
        vault
    };
    let mut found = problems(&vault, args.within, Timestamp::now());
    if !args.profiles.is_empty() {
        let apps: Vec<&String> = args
            .profiles
            .iter()
            .map(|name| &vault.profiles[name].app)
            .collect();
        found.retain(|problem| match (&problem.profile, &problem.app) {
            (Some(profile), _) => args.profiles.contains(profile),
            (None, Some(app)) => apps.contains(&app),
            (None, None) => true,
        });
    }
    let Some(outcomes) = online else {
        print_offline(&vault, &found, args.json.json);
        return verdict(&found, 0);
    };
    let mut not_checked = 0;
    let mut reports = Vec::new();
    for outcome in &outcomes {
        let name = &outcome.profile;
        let profile = &vault.profiles[name];
        let mut report = serde_json::json!({ "profile": name, "marketplaces": null });
        match &outcome.online {
            Online::Participating(marketplaces) => {
                found.extend(participation_problems(name, profile, marketplaces));
                report["marketplaces"] = serde_json::json!(marketplaces);
            }
            Online::Denied(error) => {
                found.push(Problem {
                    kind: "spapi_denied",
                    app: None,
                    profile: Some(name.clone()),
                    message: format!("profile '{name}': {}", error.in_full()),
                });
                report["error"] = error.in_full().into();
            }
            // Recorded in the vault: `problems` reports it as `last_refresh_failed`.
            Online::RefreshRejected(error) => report["error"] = error.in_full().into(),
            Online::NotChecked(error) => {
                not_checked += 1;
                report["error"] = error.in_full().into();
            }
        }
        reports.push(report);
    }
    if args.json.json {
        let report = serde_json::json!({
            "ok": found.is_empty() && not_checked == 0,
            "apps": vault.apps.len(),
            "profiles": reports,
            "problems": found,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("JSON values serialize")
        );
    } else {
        for outcome in &outcomes {
            match &outcome.online {
                Online::Participating(marketplaces) => println!(
                    "{}: participates in {}",
                    outcome.profile,
                    describe_marketplaces(marketplaces)
                ),
                Online::NotChecked(error) => {
                    println!("{}: not checked: {}", outcome.profile, error.in_full())
                }
                Online::Denied(_) | Online::RefreshRejected(_) => {}
            }
        }
        // "OK" would be a guess while some profiles went unchecked.
        if !found.is_empty() || not_checked == 0 {
            print_offline(&vault, &found, false);
        }
    }
    verdict(&found, not_checked)
}

fn print_offline(vault: &Vault, found: &[Problem], json: bool) {
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
        for problem in found {
            println!("{}", problem.message);
        }
    }
}

/// Exit 6 when something needs attention, else 7 when profiles could not be checked.
fn verdict(found: &[Problem], not_checked: usize) -> Result<()> {
    if !found.is_empty() {
        Err(Error::NeedsAttention(found.len()))
    } else if not_checked > 0 {
        Err(Error::NotChecked(not_checked))
    } else {
        Ok(())
    }
}

/// "DE (A1PA6795UKMFR9), FR (A13V1IB3VIYZZH)", or "no marketplace".
fn describe_marketplaces(marketplaces: &[Participation]) -> String {
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
/// among them (the usual sign of a wrong region or marketplace), or listings are
/// suspended.
fn participation_problems(
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
        && !marketplaces.iter().any(|m| &m.id == id)
    {
        found.push(problem(
            "marketplace_not_participating",
            format!(
                "profile '{name}' is for marketplace {id}, but Amazon says the account participates in {}: fix the region or marketplace with `vault edit-profile {name} --region REGION --marketplace CODE`",
                describe_marketplaces(marketplaces)
            ),
        ));
    }
    let suspended: Vec<Participation> = marketplaces
        .iter()
        .filter(|m| m.has_suspended_listings)
        .cloned()
        .collect();
    if !suspended.is_empty() {
        found.push(problem(
            "suspended_listings",
            format!(
                "Amazon says profile '{name}' has suspended listings in {}: see Account Health in Seller Central",
                describe_marketplaces(&suspended)
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
