use super::prompt::{self, ask};

use crate::cli::AddProfileArgs;
use crate::error::{Error, Result};
use crate::passphrase;
use crate::question::yes_no;
use crate::spapi::Region;
use crate::unlock;
use crate::vault::file::VaultFile;
use crate::vault::model::{self, App, Profile};
use crate::vault::payload::Selection;
use crate::vault::{Unlocked, Vault};

pub fn run(file: VaultFile, args: AddProfileArgs) -> Result<()> {
    model::validate_name("profile", &args.name)?;
    let no_flags = args.app.is_none()
        && args.region.is_none()
        && args.marketplace.is_none()
        && !args.vendor
        && !args.sandbox;
    if no_flags && prompt::interactive() {
        return wizard(file, &args.name);
    }
    if args.region.is_none() && args.marketplace.is_none() {
        return Err(
            Error::Invalid("--region (na, eu or fe) or --marketplace is required".into())
                .with_hint(
                    "on a terminal, `vault add-profile NAME` with no flags asks for everything",
                ),
        );
    }
    let (region, marketplace) =
        model::region_and_marketplace(args.region, args.marketplace.as_deref())?;
    let marketplace_id = marketplace.map(|m| m.id.to_owned());
    let (unlocked, vault) = unlock::open_apps(file)?;
    let app = vault.choose_app(args.app.as_deref())?;
    let mut profile = Profile::new(app, region, marketplace_id);
    profile.vendor = args.vendor;
    profile.sandbox = args.sandbox;
    save(&unlocked, &args.name, profile, None)
}

fn save(
    unlocked: &Unlocked,
    name: &str,
    profile: Profile,
    new_app: Option<(String, App)>,
) -> Result<()> {
    let app_name = profile.app.clone();
    unlocked.update_profiles(&[name], |vault| add(vault, name, &profile, &new_app))?;
    println!("Added profile '{name}' (app '{app_name}'); next: `vault login {name}`");
    Ok(())
}

fn add(
    vault: &mut Vault,
    name: &str,
    profile: &Profile,
    new_app: &Option<(String, App)>,
) -> Result<()> {
    if let Some((app_name, app)) = new_app {
        vault.add_app(app_name, app.clone())?;
    }
    vault.add_profile(name, profile.clone())
}

/// Asks for everything a profile needs, creating the app (and the vault) when there is none.
fn wizard(file: VaultFile, name: &str) -> Result<()> {
    eprintln!("Adding profile '{name}'. Press Ctrl-C to stop; nothing is saved until the end.");
    // A new vault's passphrase is asked now, but the vault is written only at the end.
    let target = unlock::open_or_prepare(file, Selection::Only(&[]))?;
    let vault = &target.vault;
    let mut new_app = None;
    let app_name = if vault.apps.is_empty() {
        eprintln!(
            "The vault has no app yet. Its LWA credentials are in Developer Central, \"LWA credentials\"."
        );
        let app_name = ask("App name", Some("my-app"), |v| {
            model::validate_name("app", v)
        })?;
        let client_id = ask(
            "LWA client id (amzn1.application-oa2-client....)",
            None,
            |v| model::validate_client_id(v.trim()),
        )?;
        let application_id = ask("Application id (amzn1.sp.solution....)", None, |v| {
            model::validate_app_ids(client_id.trim(), v.trim())
        })?;
        let draft = yes_no("Is the app still in Draft?", false)?;
        let client_secret = passphrase::prompt_secret(
            "LWA client secret: ",
            "`vault app add --client-secret-stdin`",
            model::validate_client_secret,
        )?;
        new_app = Some((
            app_name.clone(),
            App {
                draft,
                ..App::new(
                    client_id.trim().to_owned(),
                    Some(application_id.trim().to_owned()),
                    client_secret,
                    prompt::secret_expiry(&app_name, None)?,
                )
            },
        ));
        app_name
    } else if vault.apps.len() == 1 {
        vault.choose_app(None)?
    } else {
        let names: Vec<&str> = vault.apps.keys().map(String::as_str).collect();
        ask(
            &format!("App ({})", names.join(", ")),
            Some(names[0]),
            |v| vault.app(v).map(drop),
        )?
    };
    eprintln!(
        "An authorization covers one SP-API region, with every marketplace in it:\n{}",
        Region::ALL
            .iter()
            .map(|r| format!("  {}: {}", r.code(), r.marketplace_codes().join(", ")))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let region: Region = ask("Region (na, eu, fe)", Some("eu"), |v| {
        v.parse::<Region>().map(drop).map_err(Error::Invalid)
    })?
    .parse()
    .map_err(Error::Invalid)?;
    let marketplace = ask("Marketplace code or id (blank for none)", Some(""), |v| {
        if v.trim().is_empty() {
            Ok(())
        } else {
            model::resolve_marketplace(v, region).map(drop)
        }
    })?;
    let marketplace_id = match marketplace.trim() {
        "" => None,
        m => Some(model::resolve_marketplace(m, region)?.id.to_owned()),
    };
    let vendor = yes_no("Is this a Vendor Central account?", false)?;
    let sandbox = yes_no(
        "Use the SP-API sandbox (test calls with canned answers)?",
        false,
    )?;
    let mut profile = Profile::new(app_name.clone(), region, marketplace_id);
    profile.vendor = vendor;
    profile.sandbox = sandbox;
    let confirmed = yes_no(
        &format!("Save profile '{name}' (app '{app_name}', region {region}) to the vault?"),
        true,
    )?;
    if !confirmed {
        println!("Nothing was saved");
        return Ok(());
    }
    target.save(Some(&[name]), |vault| add(vault, name, &profile, &new_app))?;
    println!(
        "{} profile '{name}' (app '{app_name}'); next: `vault login {name}`",
        if target.new {
            "Created the vault and added"
        } else {
            "Added"
        }
    );
    Ok(())
}
