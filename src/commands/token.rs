use crate::cli::Freshness;
use crate::error::Result;
use crate::settings::Settings;
use crate::tokens;
use crate::unlock;
use crate::vault::file::VaultFile;

pub fn run(
    file: VaultFile,
    profile: &str,
    grantless: &[String],
    freshness: &Freshness,
    settings: &Settings,
) -> Result<()> {
    let scope = match grantless {
        [] => None,
        scopes => Some(tokens::normalize_scopes(scopes)?),
    };
    let (unlocked, vault) = unlock::open_profile(file, profile)?;
    let token = match scope {
        None => super::access_token(&unlocked, &vault, profile, freshness.min_valid, settings)?,
        Some(scope) => {
            let app = vault.profile(profile)?.app.clone();
            let margin = freshness.min_valid;
            tokens::grantless_token(&unlocked, &vault, &app, &scope, margin, settings)?
        }
    };
    println!("{}", token.token.expose());
    Ok(())
}
