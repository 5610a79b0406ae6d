use crate::cli::Freshness;
use crate::error::Result;
use crate::tokens;
use crate::vault::Unlocked;
use crate::vault::file::VaultFile;

pub fn run(file: VaultFile, profile: &str, freshness: &Freshness) -> Result<()> {
    let (unlocked, vault) = Unlocked::open(file)?;
    let token = tokens::valid_token(&unlocked, &vault, profile, freshness.min_valid)?;
    println!("{}", token.token.expose());
    Ok(())
}
