//! One module per command: read the arguments, call the library, print.

mod add_profile;
mod agent;
mod api;
mod app;
mod audit;
mod check;
pub mod completions;
mod damaged;
mod edit_profile;
mod env;
mod exec;
mod exec_proxy;
mod import;
mod init;
mod list;
mod login;
mod manage;
mod manual;
mod output;
mod prompt;
mod rdt;
mod recipients;
mod refresh;
mod serve;
mod table;
mod token;
mod watch;

use std::io::Read;

use crate::cli::{Cli, Command};
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::settings::Settings;
use crate::vault::file::VaultFile;

pub fn run(cli: Cli) -> Result<()> {
    if !matches!(
        cli.command,
        Command::Serve(_) | Command::Proxy(_) | Command::Agent { .. } | Command::Login(_)
    ) {
        crate::process::end_quietly_on_closed_pipe();
    }
    crate::http::report_retries_to(output::print_retry);
    let settings = Settings {
        store: cli.store,
        vault: cli.vault,
        ca_cert: cli.ca_cert,
        identity: cli.identity,
    };
    // Commands that need no vault never resolve one.
    match cli.command {
        Command::Identity(crate::cli::IdentityCommand::New { file: path }) => {
            recipients::new_identity(&path)
        }
        Command::Man { dir } => manual::man(dir.as_deref()),
        Command::Completions { shell } => {
            completions::print_script(shell);
            Ok(())
        }
        Command::Api(crate::cli::ApiArgs {
            list: Some(filter),
            json,
            wide,
            ..
        }) => api::list(&filter, json, wide),
        command => {
            let file = VaultFile::locate(&settings)?;
            let action = audit::action_of(&command);
            if let Some((action, true)) = &action {
                crate::audit::set_action(Some(action.clone()));
            }
            let result = with_vault(file.clone(), command, &settings);
            if let (Err(error), Some((action, _))) = (&result, &action) {
                audit::record_failure(&file, action, error);
            }
            result
        }
    }
}

/// The commands that work on the vault.
fn with_vault(file: VaultFile, command: Command, settings: &Settings) -> Result<()> {
    match command {
        Command::Init(args) => init::init(file, args),
        Command::Passwd { kdf, damaged } => init::passwd(file, kdf, damaged.drop_damaged),
        Command::App(command) => app::run(file, command, settings),
        Command::AddProfile(args) => add_profile::run(file, args),
        Command::List(table) => list::list(file, table.json, table.wide),
        Command::Show { profile, json } => list::show(file, &profile, json.json),
        Command::Remove { profile, yes } => manage::remove(file, &profile, yes),
        Command::Rename { old, new } => manage::rename(file, &old, &new),
        Command::EditProfile(args) => edit_profile::run(file, args),
        Command::Login(args) => login::run(file, args, settings),
        Command::Refresh(args) => refresh::run(file, args, settings),
        Command::Token {
            profile,
            grantless,
            freshness,
        } => token::run(file, &profile, &grantless, &freshness, settings),
        Command::Rdt(args) => rdt::run(file, args, settings),
        Command::Api(args) => api::run(file, args, settings),
        Command::Check(args) => check::run(file, args, settings),
        Command::Env(args) => env::run(file, args, settings),
        Command::Exec(args) => exec::run(file, args, settings),
        Command::Unlock(args) => agent::unlock(file, &args),
        Command::Lock => agent::lock(file),
        Command::Status(json) => agent::status(file, json.json),
        Command::Agent {
            foreground,
            exit_when_locked,
            syslog,
        } => agent::run(file, foreground, exit_when_locked, syslog),
        Command::Audit(args) => audit::run(file, args),
        Command::Import(command) => import::run(file, command, settings),
        Command::Serve(args) => serve::run(file, args, settings),
        Command::Proxy(args) => serve::proxy(file, args, settings),
        Command::Migrate { to } => manage::migrate(file, &to, settings),
        Command::Recipients(command) => recipients::run(file, command),
        // Answered by `run` without a vault; listed for the match to be complete.
        Command::Identity(_) | Command::Man { .. } | Command::Completions { .. } => Ok(()),
    }
}

/// Reads a secret from stdin: the whole input, surrounding white space removed
/// (`echo`, editors and copy-paste add newlines).
pub fn secret_from_stdin(what: &str) -> Result<Secret> {
    let mut raw = zeroize::Zeroizing::new(String::new());
    std::io::stdin()
        .take(64 * 1024)
        .read_to_string(&mut raw)
        .map_err(|e| Error::Invalid(format!("cannot read the {what} from stdin: {e}")))?;
    let value = raw.trim();
    if value.is_empty() {
        return Err(Error::Invalid(format!("stdin held no {what}")));
    }
    Ok(Secret::from(value))
}

/// Opens the vault for `profile` (that profile only) with an access token valid for
/// the margin: what `env`, `exec`, `rdt` and `api` start with.
fn open_with_access_token(
    file: VaultFile,
    profile: &str,
    freshness: &crate::cli::Freshness,
    settings: &Settings,
) -> Result<(
    crate::vault::Unlocked,
    crate::vault::Vault,
    crate::vault::model::CachedToken,
)> {
    let (unlocked, vault) = crate::unlock::open_profile(file, profile)?;
    let token = access_token(&unlocked, &vault, profile, freshness.min_valid, settings)?;
    Ok((unlocked, vault, token))
}

/// Records `entry` in the vault's access log: before the credential it is about
/// leaves, which it must not when the entry cannot be written.
fn log_handout(
    unlocked: &crate::vault::Unlocked,
    vault: &crate::vault::Vault,
    entry: crate::audit::Entry,
) -> Result<()> {
    crate::audit::Log::of(unlocked.file(), vault).record(entry)?;
    Ok(())
}

/// A profile's access token for `token`, `env`, `exec` and `rdt`; says so on stderr
/// when a failed refresh left the cached (still valid) token in use.
fn access_token(
    unlocked: &crate::vault::Unlocked,
    vault: &crate::vault::Vault,
    profile: &str,
    margin: jiff::SignedDuration,
    settings: &Settings,
) -> Result<crate::vault::model::CachedToken> {
    let usable = crate::tokens::valid_token(unlocked, vault, profile, margin, settings)?;
    if let Some(warning) = usable.warning {
        eprintln!("warning: {warning}");
    }
    Ok(usable.token)
}
