use std::path::{Path, PathBuf};

use crate::cli::{ImportCommand, ImportEnvArgs};
use crate::display::escape_controls;
use crate::error::{Error, Result};
use crate::import::{self, Merged, Plan};
use crate::passphrase;
use crate::settings::Settings;
use crate::spapi::Region;
use crate::unlock;
use crate::vault::file::VaultFile;
use crate::vault::model;
use crate::vault::payload::Selection;

pub fn run(file: VaultFile, command: ImportCommand, settings: &Settings) -> Result<()> {
    match command {
        ImportCommand::Env(args) => env(file, args, settings),
        ImportCommand::PythonSpApi {
            file: source,
            region,
            no_verify,
        } => python_sp_api(file, source, region, !no_verify, settings),
    }
}

fn report(plan: &Plan, merged: &Merged) {
    let found = &plan.found;
    let app = &merged.app;
    if merged.kept_other_secret {
        eprintln!(
            "note: app '{app}' keeps its client secret; the file's differs. If the file's is newer: `vault app set-secret {app}`"
        );
    }
    println!(
        "Imported profile '{}' (app '{app}') from {}",
        plan.profile,
        found.used.join(", ")
    );
    if !found.skipped.is_empty() {
        println!(
            "  not imported: {} (spvault fetches fresh access tokens itself)",
            found.skipped.join(", ")
        );
    }
    if !found.ignored.is_empty() {
        println!("  ignored: {}", found.ignored.join(", "));
    }
    if found.refresh_token.is_none() {
        println!(
            "  no refresh token in the file: authorize with `vault login {}`",
            plan.profile
        );
    }
}

fn env(file: VaultFile, args: ImportEnvArgs, settings: &Settings) -> Result<()> {
    model::validate_name("profile", &args.profile)?;
    let (region, marketplace) =
        model::region_and_marketplace(args.region, args.marketplace.as_deref())?;
    let marketplace_id = marketplace.map(|m| m.id.to_owned());
    let found = import::read_dotenv(&args.file)?;
    found.client(&args.file)?;
    let mut plan = Plan {
        profile: args.profile.clone(),
        app: args.app.clone(),
        region,
        marketplace_id,
        application_id: args.application_id.clone(),
        found,
        proof: None,
    };
    if !args.no_verify {
        import::verify(
            std::slice::from_mut(&mut plan),
            &args.file,
            &settings.network()?,
        )?;
    }
    let merged = unlock::open_or_prepare(file, Selection::All)?
        .save(None, |vault| import::merge(vault, &plan, &args.file))?;
    report(&plan, &merged);
    offer_deletion(&args.file, args.delete_source)
}

/// Deletes the plaintext source when asked to (flag, or yes at the prompt).
fn offer_deletion(source: &Path, delete: bool) -> Result<()> {
    let interactive = !delete && super::prompt::interactive();
    let confirmed = delete
        || (interactive
            && crate::question::yes_no(
                &format!("Delete the plaintext file {} now?", source.display()),
                false,
            )
            // The import is done: a terminal that cannot answer keeps the file.
            .unwrap_or(false));
    if confirmed {
        std::fs::remove_file(source).map_err(|e| Error::io("delete", source, e))?;
        println!(
            "Deleted {}. Copies in backups, synced folders and git history remain: rotate the secrets if they may have leaked.",
            source.display()
        );
    } else {
        println!(
            "Kept {}: delete it once you have checked the import (`vault list`). Copies in backups and git history remain.",
            source.display()
        );
    }
    Ok(())
}

fn default_credentials_yml() -> Result<PathBuf> {
    let home = directories::BaseDirs::new().ok_or_else(|| {
        Error::Invalid("no home folder".into()).with_hint("give the credentials.yml path")
    })?;
    Ok(home
        .home_dir()
        .join(".config/python-sp-api/credentials.yml"))
}

fn python_sp_api(
    file: VaultFile,
    source: Option<PathBuf>,
    region: Option<Region>,
    verify_tokens: bool,
    settings: &Settings,
) -> Result<()> {
    let source = match source {
        Some(path) => path,
        None => default_credentials_yml()?,
    };
    let sections = import::read_python_sp_api(&source)?;
    let can_ask =
        passphrase::terminal_available() && std::io::IsTerminal::is_terminal(&std::io::stdin());
    if region.is_none() && !can_ask {
        return Err(Error::Invalid(
            "--region is required without a terminal to ask for each section's region".into(),
        ));
    }
    let mut plans = Vec::with_capacity(sections.len());
    for (name, found) in sections {
        model::validate_name("profile", &name).map_err(|e| {
            Error::Invalid(format!(
                "section '{}' cannot be a profile name: {e}",
                escape_controls(&name)
            ))
        })?;
        found.client(&source)?;
        let region = match region {
            Some(region) => region,
            None => super::prompt::ask(&format!("Region of '{name}' (na, eu, fe)"), None, |v| {
                v.parse::<Region>().map(drop).map_err(Error::Invalid)
            })?
            .parse()
            .map_err(Error::Invalid)?,
        };
        plans.push(Plan {
            profile: name,
            app: None,
            region,
            marketplace_id: None,
            application_id: None,
            found,
            proof: None,
        });
    }
    if verify_tokens {
        import::verify(&mut plans, &source, &settings.network()?)?;
    }
    let merged = unlock::open_or_prepare(file, Selection::All)?.save(None, |vault| {
        plans
            .iter()
            .map(|plan| import::merge(vault, plan, &source))
            .collect::<Result<Vec<_>>>()
    })?;
    for (plan, merged) in plans.iter().zip(merged) {
        report(plan, &merged);
    }
    Ok(())
}
