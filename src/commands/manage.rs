use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::Result;
use crate::vault::Unlocked;
use crate::vault::file::VaultFile;

pub fn remove(file: VaultFile, name: &str) -> Result<()> {
    let (unlocked, vault) = Unlocked::open(file)?;
    vault.profile(name)?;
    unlocked.update(|vault| vault.remove_profile(name).map(drop))?;
    println!("Removed profile '{name}' and its tokens");
    Ok(())
}

pub fn rename(file: VaultFile, old: &str, new: &str) -> Result<()> {
    crate::vault::model::validate_name("profile", new)?;
    let (unlocked, vault) = Unlocked::open(file)?;
    vault.profile(old)?;
    unlocked.update(|vault| vault.rename_profile(old, new))?;
    println!("Renamed profile '{old}' to '{new}'");
    Ok(())
}

pub fn completions(shell: clap_complete::Shell) {
    clap_complete::generate(shell, &mut Cli::command(), "vault", &mut std::io::stdout());
}
