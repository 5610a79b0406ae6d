//! `vault completions`: shell scripts that call back into `vault` at each TAB
//! (clap_complete's engine), so that besides commands and flags they offer the
//! vault's profile and app names. Names are read with the unlock agent's key only:
//! never a prompt, and nothing while the vault is locked.

use std::ffi::OsStr;

use clap::CommandFactory;
use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};
use clap_complete::env::Shells;

use crate::cli::Cli;
use crate::settings::Settings;
use crate::unlock;
use crate::vault::Vault;
use crate::vault::file::VaultFile;

/// The variable a completion script sets when it calls `vault` back.
pub const VAR: &str = "SPVAULT_COMPLETE";

/// The CLI as the completion engine walks it: every argument that names an
/// existing profile or app completes from the vault.
pub fn command() -> clap::Command {
    with_names(Cli::command())
}

fn with_names(command: clap::Command) -> clap::Command {
    let name = command.get_name().to_owned();
    command
        .mut_args(|arg| match (name.as_str(), arg.get_id().as_str()) {
            (_, "profile" | "profiles") | ("edit-profile", "name") | ("rename", "old") => {
                arg.add(ArgValueCompleter::new(|current: &OsStr| {
                    names(current, |vault| vault.profiles.keys().cloned().collect())
                }))
            }
            (_, "app") => arg.add(ArgValueCompleter::new(|current: &OsStr| {
                names(current, |vault| vault.apps.keys().cloned().collect())
            })),
            _ => arg,
        })
        .mut_subcommands(with_names)
}

fn names(current: &OsStr, pick: impl Fn(&Vault) -> Vec<String>) -> Vec<CompletionCandidate> {
    let current = current.to_string_lossy();
    // The vault the environment names: flags on the line being completed are not
    // parsed yet.
    let Ok(file) = VaultFile::locate(&Settings::default()) else {
        return Vec::new();
    };
    let Ok(Some(vault)) = unlock::peek(&file) else {
        return Vec::new();
    };
    pick(&vault)
        .into_iter()
        .filter(|name| name.starts_with(current.as_ref()))
        .map(CompletionCandidate::new)
        .collect()
}

/// The script that registers the completions with `shell`.
pub fn print_script(shell: clap_complete::Shell) {
    let shells = Shells::builtins();
    let Some(completer) = shells.completer(&shell.to_string()) else {
        return;
    };
    let _ = completer.write_registration(VAR, "vault", "vault", "vault", &mut std::io::stdout());
}
