use crate::cli::Freshness;
use crate::error::Result;
use crate::tokens;
use crate::unlock;
use crate::vault::file::VaultFile;

pub fn run(
    file: VaultFile,
    profile: &str,
    grantless: &[String],
    freshness: &Freshness,
) -> Result<()> {
    let scope = match grantless {
        [] => None,
        scopes => Some(tokens::normalize_scopes(scopes)?),
    };
    let (unlocked, vault) = unlock::open_profile(file, profile)?;
    let token = match scope {
        None => super::access_token(&unlocked, &vault, profile, freshness.min_valid)?,
        Some(scope) => {
            let app = vault.profile(profile)?.app.clone();
            tokens::grantless_token(&unlocked, &vault, &app, &scope, freshness.min_valid)?
        }
    };
    println!("{}", token.token.expose());
    Ok(())
}
