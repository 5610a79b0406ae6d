use std::collections::BTreeMap;

use jiff::Timestamp;

use super::table::{self, Column};
use super::watch;
use super::{prompt, secret_from_stdin};
use crate::cli::{AppAddArgs, AppCommand, AppEditArgs, SecretExpiry};
use crate::display::escape_controls;
use crate::error::{Error, Result};
use crate::notifications::{self, SecretNotification};
use crate::passphrase;
use crate::secret::Secret;
use crate::secret_rotation;
use crate::settings::Settings;
use crate::spapi::Region;
use crate::sqs::QueueUrl;
use crate::unlock;
use crate::vault::file::VaultFile;
use crate::vault::model::{self, App, Authorization};
use crate::vault::payload::Selection;

pub fn run(file: VaultFile, command: AppCommand, settings: &Settings) -> Result<()> {
    match command {
        AppCommand::Add(args) => add(file, args),
        AppCommand::SetSecret {
            app,
            stdin,
            from_notification: false,
            expiry,
        } => set_secret(file, &app, stdin, &expiry),
        AppCommand::SetSecret {
            app,
            from_notification: true,
            ..
        } => set_secret_from_notification(file, &app),
        AppCommand::RotateSecret {
            app,
            region,
            wait,
            timeout,
        } => rotate_secret(file, &app, region, wait.then_some(timeout), settings),
        AppCommand::Watch(args) => super::watch::watch(file, args, settings),
        AppCommand::Edit(args) => edit(file, args),
        AppCommand::List(table) => list(file, table.json, table.wide),
        AppCommand::Remove { app } => remove(file, &app),
    }
}

/// The client secret from stdin (`stdin_flag` given) or a no-echo prompt.
fn read_client_secret(from_stdin: bool, app: &str, stdin_flag: &str) -> Result<Secret> {
    if !from_stdin {
        return passphrase::prompt_secret(
            &format!("LWA client secret for app '{app}': "),
            stdin_flag,
            model::validate_client_secret,
        );
    }
    let secret = secret_from_stdin("client secret")?;
    model::validate_client_secret(secret.expose())?;
    Ok(secret)
}

/// "expires 2027-05-01", or says the expiry is unknown and how to set it.
fn expiry_note(name: &str, expires: Option<Timestamp>) -> String {
    match expires {
        Some(at) => format!("expires {}", at.strftime("%Y-%m-%d")),
        None => format!(
            "expiry unknown: set the date Developer Central shows with `vault app edit {name} --secret-expires DATE`"
        ),
    }
}

/// Checks everything about a new app that can be checked before asking for secrets.
fn check_new_app(args: &AppAddArgs) -> Result<()> {
    model::validate_name("app", &args.name)?;
    model::validate_app_ids(&args.client_id, &args.application_id)?;
    if let Some(uri) = &args.redirect_uri {
        model::validate_redirect_uri(uri)?;
    }
    Ok(())
}

fn add(file: VaultFile, args: AppAddArgs) -> Result<()> {
    check_new_app(&args)?;
    let target = unlock::open_or_prepare(file, Selection::Only(&[]))?;
    let client_secret = read_client_secret(
        args.client_secret_stdin,
        &args.name,
        "--client-secret-stdin",
    )?;
    let expires = prompt::secret_expiry(&args.name, args.expiry.expires)?;
    let mut app = App::new(
        args.client_id.clone(),
        Some(args.application_id.clone()),
        client_secret,
        expires,
    );
    app.redirect_uri = args.redirect_uri.clone();
    app.draft = args.draft;
    target.save(Some(&[]), |vault| vault.add_app(&args.name, app.clone()))?;
    println!(
        "{} app '{}' (client secret {})",
        if target.new {
            "Created the vault and added"
        } else {
            "Added"
        },
        args.name,
        expiry_note(&args.name, expires)
    );
    Ok(())
}

fn set_secret(file: VaultFile, name: &str, stdin: bool, expiry: &SecretExpiry) -> Result<()> {
    let (unlocked, vault) = unlock::open_apps(file)?;
    vault.app(name)?;
    let secret = read_client_secret(stdin, name, "--stdin")?;
    let expires = prompt::secret_expiry(name, expiry.expires)?;
    unlocked.update_profiles(&[], |vault| {
        let app = vault.app_mut(name)?;
        app.client_secret = secret.clone();
        app.client_secret_expires_at = expires;
        Ok(())
    })?;
    println!(
        "Stored the new client secret of app '{name}' ({})",
        expiry_note(name, expires)
    );
    Ok(())
}

/// How an app's profiles were authorized, for Amazon's per-app limits.
#[derive(Default)]
struct AuthorizationCounts {
    profiles: usize,
    self_authorized: usize,
    consent_flow: usize,
}

fn authorization_counts(vault: &model::Vault) -> BTreeMap<&str, AuthorizationCounts> {
    let mut counts: BTreeMap<&str, AuthorizationCounts> = vault
        .apps
        .keys()
        .map(|name| (name.as_str(), AuthorizationCounts::default()))
        .collect();
    for profile in vault.profiles.values() {
        let Some(count) = counts.get_mut(profile.app.as_str()) else {
            continue;
        };
        count.profiles += 1;
        match profile.authorization() {
            Authorization::SelfAuthorized => count.self_authorized += 1,
            // Amazon limits the consent-flow authorizations of seller apps only.
            Authorization::ConsentFlow { .. } if !profile.vendor => count.consent_flow += 1,
            Authorization::ConsentFlow { .. } => {}
            Authorization::Unknown => {}
        }
    }
    counts
}

/// Warns within two of Amazon's limits: 10 self-authorizations per app, and 25
/// consent-flow authorizations for a public app not listed in the Appstore.
fn warn_about_authorization_limits(counts: &BTreeMap<&str, AuthorizationCounts>) {
    for (name, count) in counts {
        if count.self_authorized + 2 >= model::SELF_AUTHORIZATION_LIMIT {
            eprintln!(
                "warning: app '{name}' has {} self-authorized profiles; Amazon allows {} self-authorizations per app",
                count.self_authorized,
                model::SELF_AUTHORIZATION_LIMIT
            );
        }
        if count.consent_flow + 2 >= model::UNLISTED_CONSENT_LIMIT {
            eprintln!(
                "warning: app '{name}' has {} consent-flow authorizations; Amazon allows {} for a public app that is not listed in the Appstore",
                count.consent_flow,
                model::UNLISTED_CONSENT_LIMIT
            );
        }
    }
}

fn list(file: VaultFile, json: bool, wide: bool) -> Result<()> {
    let vault = super::output::open_for_reading(file)?;
    let now = Timestamp::now();
    let counts = authorization_counts(&vault);
    if json {
        let rows: Vec<serde_json::Value> = vault
            .apps
            .iter()
            .map(|(name, app)| {
                serde_json::json!({
                    "app": name,
                    "client_id": app.client_id,
                    "application_id": app.application_id,
                    "redirect_uri": app.redirect_uri,
                    "draft": app.draft,
                    "client_secret_expires_at": app.client_secret_expires_at.map(crate::display::timestamp),
                    "client_secret_days_left": crate::display::days_left(app.client_secret_expires_at, now),
                    "notification_queue": app.notification_queue,
                    "profiles": vault.profiles.values().filter(|p| &p.app == name).count(),
                    "self_authorized": counts[name.as_str()].self_authorized,
                    "consent_flow_authorized": counts[name.as_str()].consent_flow,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).expect("JSON values serialize")
        );
        return Ok(());
    }
    if vault.apps.is_empty() {
        println!(
            "No apps yet: add one with `vault app add NAME --client-id ID --application-id ID` (the ids are under \"LWA credentials\" in Developer Central)."
        );
        return Ok(());
    }
    let columns = [
        ("app", 0),
        ("client id", 6),
        ("application id", 7),
        ("draft", 5),
        ("profiles", 2),
        ("self-authorized", 3),
        ("consent flow", 4),
        ("client secret", 1),
        ("notification queue", 8),
    ]
    .map(|(header, rank)| Column { header, rank });
    let mut rows: Vec<Vec<String>> = vault
        .apps
        .iter()
        .map(|(name, app)| {
            let count = &counts[name.as_str()];
            vec![
                name.clone(),
                escape_controls(&app.client_id),
                app.application_id.clone().unwrap_or_else(|| "-".into()),
                if app.draft { "yes" } else { "no" }.to_owned(),
                count.profiles.to_string(),
                format!(
                    "{} of {}",
                    count.self_authorized,
                    model::SELF_AUTHORIZATION_LIMIT
                ),
                count.consent_flow.to_string(),
                super::output::secret_expiry_text(app.client_secret_expires_at, now),
                app.notification_queue
                    .as_deref()
                    .map_or_else(|| "-".into(), escape_controls),
            ]
        })
        .collect();
    table::sort_naturally(&mut rows);
    table::print(&columns, &rows, wide, "vault app list");
    warn_about_authorization_limits(&counts);
    Ok(())
}

fn remove(file: VaultFile, name: &str) -> Result<()> {
    let (unlocked, vault) = unlock::open(file)?;
    vault.app(name)?;
    unlocked.update(|vault| vault.remove_app(name).map(drop))?;
    println!("Removed app '{name}'");
    Ok(())
}

/// A notification's client id must be the app's.
fn check_client_id(name: &str, app: &App, client_id: &str) -> Result<()> {
    if client_id == app.client_id {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "the notification is for client id {}, but app '{name}' has {}: pick the right app",
        escape_controls(client_id),
        escape_controls(&app.client_id)
    )))
}

fn set_secret_from_notification(file: VaultFile, name: &str) -> Result<()> {
    let (unlocked, vault) = unlock::open_apps(file)?;
    let app = vault.app(name)?;
    let input = secret_from_stdin("notification")?;
    let notification = notifications::parse(input.expose()).map_err(|e| match e.hint() {
        Some(_) => e,
        None => e.with_hint("give the notification message, or its payload, on stdin"),
    })?;
    match notification {
        SecretNotification::NewSecret {
            client_id,
            secret,
            expires_at,
            old_expires_at,
        } => {
            if let Some(client_id) = &client_id {
                check_client_id(name, app, client_id)?;
            }
            unlocked.update_profiles(&[], |vault| {
                let app = vault.app_mut(name)?;
                app.take_new_secret(secret.clone(), expires_at, old_expires_at);
                Ok(())
            })?;
            let fallback = secret_rotation::fallback_note(old_expires_at);
            println!(
                "Stored the new client secret of app '{name}' (expires {}){fallback}",
                expires_at.strftime("%Y-%m-%d")
            );
        }
        // Only the date is recorded: the secret itself is unchanged.
        SecretNotification::Expiry {
            client_id,
            expires_at,
            reason,
        } => {
            check_client_id(name, app, &client_id)?;
            unlocked.update_profiles(&[], |vault| {
                vault.app_mut(name)?.client_secret_expires_at = Some(expires_at);
                Ok(())
            })?;
            let reason = reason
                .map(|r| format!(" ({})", crate::http::printable(&r)))
                .unwrap_or_default();
            println!(
                "Recorded that the client secret of app '{name}' expires {}{reason}; the secret itself is unchanged. Rotate it before then: `vault app rotate-secret {name}`",
                expires_at.strftime("%Y-%m-%d %H:%M UTC")
            );
        }
    }
    Ok(())
}

/// Starts a rotation; with `wait`, waits on the app's queue for the new secret and
/// stores it (connecting to SQS first, so that no rotation starts that cannot be
/// waited for).
fn rotate_secret(
    file: VaultFile,
    name: &str,
    region: Option<Region>,
    wait: Option<std::time::Duration>,
    settings: &Settings,
) -> Result<()> {
    let (unlocked, vault) = unlock::open_apps(file)?;
    vault.app(name)?;
    if let Some(timeout) = wait {
        let queue = watch::queue_of(&vault, name)?;
        let policy = secret_rotation::Policy {
            rotate_within: None,
        };
        let mut watcher = watch::Watcher::new(
            &unlocked,
            vec![(queue.clone(), vec![name.to_owned()])],
            policy,
            settings,
        )?;
        watch::clear_before_rotation(&mut watcher)?;
        if watcher.stopped() {
            return Err(Error::Other(
                "stopped before the rotation started: nothing was changed".into(),
            ));
        }
        secret_rotation::start_rotation(&unlocked, &vault, name, region, settings)?;
        eprintln!(
            "Amazon started rotating the client secret of app '{name}'; waiting up to {} for the new secret on {queue}",
            crate::duration::short_std(timeout)
        );
        return watch::wait_for_new_secret(&mut watcher, name, &queue, timeout);
    }
    secret_rotation::start_rotation(&unlocked, &vault, name, region, settings)?;
    println!(
        "Amazon started rotating the client secret of app '{name}'. The new secret arrives only as an APPLICATION_OAUTH_CLIENT_NEW_SECRET notification on the app's SQS queue (the queue set in Developer Console › Notification preferences). When it arrives, store it with:\n  vault app set-secret {name} --from-notification < notification.json\nThe old secret keeps working for about 7 days; spvault falls back to it until then."
    );
    Ok(())
}

fn edit(file: VaultFile, args: AppEditArgs) -> Result<()> {
    let changes_something = args.application_id.is_some()
        || args.redirect_uri.is_some()
        || args.no_redirect_uri
        || args.draft
        || args.published
        || args.secret_expires.is_some()
        || args.notification_queue.is_some()
        || args.no_notification_queue;
    if !changes_something {
        return Err(Error::Invalid(format!(
            "nothing to change in app '{}': nothing was written",
            args.app
        ))
        .with_hint(format!(
            "name a change, e.g. `vault app edit {} --secret-expires 2027-05-01` (`vault app edit --help` lists them)",
            args.app
        )));
    }
    if let Some(uri) = &args.redirect_uri {
        model::validate_redirect_uri(uri)?;
    }
    // Stored as the URL SQS gives the queue, also when given its ARN.
    let notification_queue = match &args.notification_queue {
        Some(text) => Some(
            QueueUrl::parse(text)
                .map_err(|e| Error::Invalid(format!("--notification-queue {e}")))?
                .as_str()
                .to_owned(),
        ),
        None => None,
    };
    let secret_expires = match &args.secret_expires {
        Some(date) => Some(
            model::parse_future_date(date, &args.app).map_err(|e| e.about("--secret-expires"))?,
        ),
        None => None,
    };
    let (unlocked, vault) = unlock::open_apps(file)?;
    vault.app(&args.app)?;
    if let Some(application_id) = &args.application_id {
        model::validate_application_id(application_id)?;
    }
    unlocked.update_profiles(&[], |vault| {
        let app = vault.app_mut(&args.app)?;
        if let Some(application_id) = &args.application_id {
            app.application_id = Some(application_id.clone());
        }
        if args.redirect_uri.is_some() || args.no_redirect_uri {
            app.redirect_uri = args.redirect_uri.clone();
        }
        if args.draft || args.published {
            app.draft = args.draft;
        }
        if secret_expires.is_some() {
            app.client_secret_expires_at = secret_expires;
        }
        if args.notification_queue.is_some() || args.no_notification_queue {
            app.notification_queue = notification_queue.clone();
        }
        Ok(())
    })?;
    println!("Updated app '{}'", args.app);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spapi::Region;

    #[test]
    fn only_seller_apps_count_against_the_consent_flow_limit() {
        let now = Timestamp::now();
        let mut vault = model::Vault::default();
        vault.apps.insert(
            "main".into(),
            model::App::new(
                "amzn1.application-oa2-client.x".into(),
                None,
                crate::secret::Secret::from("s"),
                None,
            ),
        );
        for (name, vendor) in [("seller", false), ("vendor", true)] {
            let mut profile = model::Profile::new("main".into(), Region::Eu, None);
            profile.vendor = vendor;
            profile.record_authorization(true, now);
            vault.profiles.insert(name.into(), profile);
        }
        let counts = authorization_counts(&vault);
        assert_eq!(counts["main"].profiles, 2);
        assert_eq!(
            counts["main"].consent_flow, 1,
            "vendor authorizations are not limited"
        );
    }
}
