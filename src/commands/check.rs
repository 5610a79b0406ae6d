use jiff::Timestamp;

use crate::cli::{CheckArgs, Freshness};
use crate::error::{Error, Result};
use crate::health::{Problem, describe_marketplaces, participation_problems, problems};
use crate::online_check::{self, Online};
use crate::settings::Settings;
use crate::unlock;
use crate::vault::Vault;
use crate::vault::file::VaultFile;
use crate::vault::payload::{DamagedRecord, Selection};

/// The SP-API call `--online` made for each profile, in the access log (a refresh LWA
/// refused made none).
fn log_online_calls(
    unlocked: &crate::vault::Unlocked,
    vault: &Vault,
    outcomes: &[online_check::OnlineOutcome],
) -> Result<()> {
    let log = crate::audit::Log::of(unlocked.file(), vault);
    for outcome in outcomes {
        let error = match &outcome.online {
            Online::Participating(_) => None,
            Online::Denied(error) | Online::NotChecked(error) => Some(error),
            Online::RefreshRejected(_) => continue,
        };
        let mut entry = crate::audit::Entry::new(crate::audit::Event::Api)
            .profile(&outcome.profile)
            .credential("access_token")
            .subject("vault check --online");
        entry.app = vault.profiles.get(&outcome.profile).map(|p| p.app.clone());
        entry.operation = Some("getMarketplaceParticipations".into());
        if let Some(error) = error {
            entry.outcome = error.exit_code().name().into();
        }
        log.record(entry)?;
    }
    Ok(())
}

pub fn run(file: VaultFile, args: CheckArgs, settings: &Settings) -> Result<()> {
    let (unlocked, mut salvaged) = unlock::open_around_damage(file, Selection::All)?;
    for name in &args.profiles {
        if !salvaged.is_damaged(name) {
            salvaged.vault.profile(name)?;
        }
    }
    if !args.profiles.is_empty() {
        salvaged
            .damaged
            .retain(|d| args.profiles.contains(&d.profile));
    }
    let damage = salvaged.damage(unlocked.file());
    let vault = std::mem::take(&mut salvaged.vault);
    let online_names: Vec<String> = vault
        .profiles
        .iter()
        .filter(|(name, p)| {
            args.online
                && p.refresh_token.is_some()
                && (args.profiles.is_empty() || args.profiles.contains(name))
        })
        .map(|(name, _)| name.clone())
        .collect();
    let online = if args.online {
        Some(online_check::check(
            &unlocked,
            &vault,
            &online_names,
            usize::from(args.concurrency),
            Freshness::DEFAULT_MIN_VALID,
            &settings.network()?,
        )?)
    } else {
        None
    };
    // A refresh rejected just now was recorded in the vault: read it as it is now
    // (the profiles checked, which opened a moment ago, and the rest).
    let vault = if online.is_some() {
        let reread = unlocked.reload(Selection::All)?;
        let checked: Vec<&str> = online_names.iter().map(String::as_str).collect();
        reread.require(unlocked.file(), &checked)?;
        reread.vault
    } else {
        vault
    };
    let mut found: Vec<Problem> = salvaged
        .damaged
        .iter()
        .map(|d| damaged_problem(unlocked.file(), d))
        .collect();
    found.extend(problems(&vault, args.within, Timestamp::now()));
    if !args.profiles.is_empty() {
        let apps: Vec<&String> = args
            .profiles
            .iter()
            .filter_map(|name| vault.profiles.get(name).map(|p| &p.app))
            .collect();
        found.retain(|problem| match (&problem.profile, &problem.app) {
            (Some(profile), _) => args.profiles.contains(profile),
            (None, Some(app)) => apps.contains(&app),
            (None, None) => true,
        });
    }
    let Some(outcomes) = online else {
        print_offline(&vault, &found, args.json.json);
        return verdict(&found, 0, damage);
    };
    log_online_calls(&unlocked, &vault, &outcomes)?;
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
                Online::Participating(marketplaces) => {
                    let inactive: Vec<_> = marketplaces
                        .iter()
                        .filter(|m| m.has_suspended_listings)
                        .cloned()
                        .collect();
                    let mut notes = String::new();
                    if !inactive.is_empty() {
                        notes.push_str(&format!(
                            "; listings set to Inactive in {} (Amazon's hasSuspendedListings: the seller paused them, e.g. for a holiday)",
                            describe_marketplaces(&inactive)
                        ));
                    }
                    if vault.profiles[&outcome.profile].sandbox {
                        notes.push_str("; the sandbox answers with static, US-only participations, which say nothing about this profile's marketplace");
                    }
                    println!(
                        "{}: participates in {}{notes}",
                        outcome.profile,
                        describe_marketplaces(marketplaces)
                    )
                }
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
    verdict(&found, not_checked, damage)
}

/// A profile whose record does not open, as a problem beside the others, with the fix.
fn damaged_problem(file: &VaultFile, damaged: &DamagedRecord) -> Problem {
    let fix = damaged.error(file).hint().unwrap_or_default();
    Problem {
        kind: "record_damaged",
        app: None,
        profile: Some(damaged.profile.clone()),
        message: format!("{}: {fix}", damaged.detail),
    }
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

/// Exit 4 when a profile's record is damaged, else 6 when something needs
/// attention, else 7 when profiles could not be checked.
fn verdict(found: &[Problem], not_checked: usize, damaged: Option<Error>) -> Result<()> {
    if let Some(damaged) = damaged {
        Err(damaged)
    } else if !found.is_empty() {
        Err(Error::NeedsAttention(found.len()))
    } else if not_checked > 0 {
        Err(Error::NotChecked(not_checked))
    } else {
        Ok(())
    }
}
