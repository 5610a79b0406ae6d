use jiff::Timestamp;

use super::secret_from_stdin;
use crate::cli::{AppAddArgs, AppCommand, AppEditArgs, SecretExpiry};
use crate::display::escape_controls;
use crate::error::{Error, Result};
use crate::passphrase;
use crate::secret::Secret;
use crate::spapi::Region;
use crate::spapi_client::SpApiClient;
use crate::tokens;
use crate::vault::Unlocked;
use crate::vault::file::VaultFile;
use crate::vault::model::{self, App};

pub fn run(file: VaultFile, command: AppCommand) -> Result<()> {
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
        AppCommand::RotateSecret { app, region } => rotate_secret(file, &app, region),
        AppCommand::Edit(args) => edit(file, args),
        AppCommand::List(json) => list(file, json.json),
        AppCommand::Remove { app } => remove(file, &app),
    }
}

fn read_client_secret(from_stdin: bool, app: &str) -> Result<Secret> {
    let secret = if from_stdin {
        secret_from_stdin("client secret")?
    } else {
        passphrase::prompt_secret(&format!("LWA client secret for app '{app}': "))?
    };
    if secret.is_empty() {
        return Err(Error::Invalid("the client secret is empty".into()));
    }
    Ok(secret)
}

fn expiry_of(expiry: &SecretExpiry) -> Timestamp {
    expiry
        .expires
        .unwrap_or_else(|| Timestamp::now() + model::CLIENT_SECRET_LIFETIME)
}

/// Checks everything about a new app that can be checked before asking for secrets.
fn check_new_app(args: &AppAddArgs) -> Result<()> {
    model::validate_name("app", &args.name)?;
    model::validate_app_ids(&args.client_id, Some(&args.application_id))?;
    if let Some(uri) = &args.redirect_uri {
        model::validate_redirect_uri(uri)?;
    }
    Ok(())
}

fn add(file: VaultFile, args: AppAddArgs) -> Result<()> {
    check_new_app(&args)?;
    let (unlocked, _) = Unlocked::open_or_create(file)?;
    let mut app = App::new(
        args.client_id.clone(),
        Some(args.application_id.clone()),
        read_client_secret(args.client_secret_stdin, &args.name)?,
        expiry_of(&args.expiry),
    );
    app.redirect_uri = args.redirect_uri.clone();
    app.draft = args.draft;
    let expires = app.client_secret_expires_at;
    unlocked.update(|vault| vault.add_app(&args.name, app.clone()))?;
    println!(
        "Added app '{}' (client secret expires {})",
        args.name,
        expires.strftime("%Y-%m-%d")
    );
    Ok(())
}

fn set_secret(file: VaultFile, name: &str, stdin: bool, expiry: &SecretExpiry) -> Result<()> {
    let (unlocked, vault) = Unlocked::open(file)?;
    vault.app(name)?;
    let secret = read_client_secret(stdin, name)?;
    let expires = expiry_of(expiry);
    unlocked.update(|vault| {
        let app = vault.app_mut(name)?;
        app.client_secret = secret.clone();
        app.client_secret_expires_at = expires;
        Ok(())
    })?;
    println!(
        "Stored the new client secret of app '{name}' (expires {})",
        expires.strftime("%Y-%m-%d")
    );
    Ok(())
}

fn list(file: VaultFile, json: bool) -> Result<()> {
    let vault = super::list::open_for_reading(file)?;
    let now = Timestamp::now();
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
                    "client_secret_expires_at": app.client_secret_expires_at.to_string(),
                    "client_secret_days_left": super::list::days_left(app.client_secret_expires_at, now),
                    "profiles": vault.profiles.values().filter(|p| &p.app == name).count(),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).expect("JSON values serialize")
        );
        return Ok(());
    }
    let mut table = super::list::new_table(&[
        "app",
        "client id",
        "application id",
        "draft",
        "profiles",
        "client secret",
    ]);
    for (name, app) in &vault.apps {
        table.add_row(vec![
            name.clone(),
            escape_controls(&app.client_id),
            app.application_id.clone().unwrap_or_else(|| "-".into()),
            if app.draft { "yes" } else { "no" }.to_owned(),
            vault
                .profiles
                .values()
                .filter(|p| &p.app == name)
                .count()
                .to_string(),
            super::list::secret_expiry_text(app.client_secret_expires_at, now),
        ]);
    }
    println!("{table}");
    Ok(())
}

fn remove(file: VaultFile, name: &str) -> Result<()> {
    let (unlocked, vault) = Unlocked::open(file)?;
    vault.app(name)?;
    unlocked.update(|vault| vault.remove_app(name).map(drop))?;
    println!("Removed app '{name}'");
    Ok(())
}

/// The part of an `APPLICATION_OAUTH_CLIENT_NEW_SECRET` notification spvault needs.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewSecret {
    #[serde(default)]
    client_id: Option<String>,
    new_client_secret: String,
    new_client_secret_expiry_time: Timestamp,
    #[serde(default)]
    old_client_secret_expiry_time: Option<Timestamp>,
}

/// Finds the object holding `newClientSecret`, whether stdin holds the whole
/// notification, its payload, or just the inner object.
fn find_new_secret(value: &serde_json::Value) -> Option<&serde_json::Value> {
    match value {
        serde_json::Value::Object(map) if map.contains_key("newClientSecret") => Some(value),
        serde_json::Value::Object(map) => map.values().find_map(find_new_secret),
        _ => None,
    }
}

fn set_secret_from_notification(file: VaultFile, name: &str) -> Result<()> {
    let (unlocked, vault) = Unlocked::open(file)?;
    let app = vault.app(name)?;
    let input = secret_from_stdin("notification")?;
    let value: serde_json::Value = serde_json::from_str(input.expose()).map_err(|_| {
        Error::Invalid("stdin is not JSON: give the notification message or its payload".into())
    })?;
    let found = find_new_secret(&value).ok_or_else(|| {
        Error::Invalid("no newClientSecret in the notification: is it an APPLICATION_OAUTH_CLIENT_NEW_SECRET notification?".into())
    })?;
    let new: NewSecret = serde_json::from_value(found.clone()).map_err(|_| {
        Error::Invalid("the notification's newClientSecret, newClientSecretExpiryTime or oldClientSecretExpiryTime is missing or malformed".into())
    })?;
    if let Some(client_id) = &new.client_id
        && client_id != &app.client_id
    {
        return Err(Error::Invalid(format!(
            "the notification is for client id {}, but app '{name}' has {}: pick the right app",
            escape_controls(client_id),
            escape_controls(&app.client_id)
        )));
    }
    let secret = Secret::new(new.new_client_secret);
    let expires = new.new_client_secret_expiry_time;
    let old_expires = new.old_client_secret_expiry_time;
    unlocked.update(|vault| {
        let app = vault.app_mut(name)?;
        if secret != app.client_secret {
            app.previous_client_secret = old_expires.map(|expires_at| model::PreviousSecret {
                secret: app.client_secret.clone(),
                expires_at,
            });
            app.client_secret = secret.clone();
        }
        app.client_secret_expires_at = expires;
        Ok(())
    })?;
    let fallback = old_expires
        .map(|t| {
            format!(
                "; the old one stays in use as a fallback until {}",
                t.strftime("%Y-%m-%d %H:%M UTC")
            )
        })
        .unwrap_or_default();
    println!(
        "Stored the new client secret of app '{name}' (expires {}){fallback}",
        expires.strftime("%Y-%m-%d")
    );
    Ok(())
}

fn rotate_secret(file: VaultFile, name: &str, region: Option<Region>) -> Result<()> {
    let (unlocked, vault) = Unlocked::open(file)?;
    vault.app(name)?;
    let region = region
        .or_else(|| {
            vault
                .profiles
                .values()
                .find(|p| p.app == name)
                .map(|p| p.region)
        })
        .unwrap_or(Region::Na);
    let scope = tokens::normalize_scopes(&["client-credential-rotation".to_owned()])?;
    let token = tokens::grantless_token(
        &unlocked,
        &vault,
        name,
        &scope,
        jiff::SignedDuration::from_mins(5),
    )?;
    let client = SpApiClient::new(region, false)?;
    crate::http::runtime()
        .map_err(Error::Other)?
        .block_on(client.rotate_client_secret(&token.token))?;
    println!(
        "Amazon started rotating the client secret of app '{name}'. The new secret arrives only as an APPLICATION_OAUTH_CLIENT_NEW_SECRET notification on the app's SQS queue (subscribe to it with the Notifications API). When it arrives, store it with:\n  vault app set-secret {name} --from-notification < notification.json\nThe old secret keeps working for about 7 days; spvault falls back to it until then."
    );
    Ok(())
}

fn edit(file: VaultFile, args: AppEditArgs) -> Result<()> {
    if let Some(uri) = &args.redirect_uri {
        model::validate_redirect_uri(uri)?;
    }
    let (unlocked, vault) = Unlocked::open(file)?;
    let client_id = vault.app(&args.app)?.client_id.clone();
    if let Some(application_id) = &args.application_id {
        model::validate_app_ids(&client_id, Some(application_id))?;
    }
    unlocked.update(|vault| {
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
        Ok(())
    })?;
    println!("Updated app '{}'", args.app);
    Ok(())
}
