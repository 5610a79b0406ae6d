use jiff::Timestamp;

use super::secret_from_stdin;
use crate::cli::{AppAddArgs, AppCommand, SecretExpiry};
use crate::error::{Error, Result};
use crate::passphrase;
use crate::secret::Secret;
use crate::vault::Unlocked;
use crate::vault::file::VaultFile;
use crate::vault::model::{self, App};

pub fn run(file: VaultFile, command: AppCommand) -> Result<()> {
    match command {
        AppCommand::Add(args) => add(file, args),
        AppCommand::SetSecret { app, stdin, expiry } => set_secret(file, &app, stdin, &expiry),
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
    model::validate_app_ids(&args.client_id, &args.application_id)?;
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
        args.application_id.clone(),
        read_client_secret(args.client_secret_stdin, &args.name)?,
        expiry_of(&args.expiry),
    );
    app.redirect_uri = args.redirect_uri.clone();
    app.draft = args.draft;
    let expires = app.client_secret_expires_at;
    unlocked.update(|vault| vault.add_app(&args.name, app))?;
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
        app.client_secret = secret;
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
            app.client_id.clone(),
            app.application_id.clone(),
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
