use crate::audit;
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
    let app = vault.profile(profile)?.app.clone();
    let (token, entry) = match scope {
        None => {
            let token =
                super::access_token(&unlocked, &vault, profile, freshness.min_valid, settings)?;
            let entry = audit::Entry::new(audit::Event::Token).credential("access_token");
            (token, entry)
        }
        Some(scope) => {
            let margin = freshness.min_valid;
            let token = tokens::grantless_token(&unlocked, &vault, &app, &scope, margin, settings)?;
            let entry = audit::Entry::new(audit::Event::GrantlessToken)
                .credential("grantless_token")
                .subject(scope);
            (token, entry)
        }
    };
    super::log_handout(&unlocked, &vault, entry.profile(profile).app(app))?;
    println!("{}", token.token.expose());
    Ok(())
}
