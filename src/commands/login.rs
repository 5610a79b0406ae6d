use jiff::Timestamp;

use super::secret_from_stdin;
use crate::cli::LoginArgs;
use crate::duration;
use crate::error::{Error, Result};
use crate::lwa::{ClientCredentials, Grant, TokenGrant};
use crate::secret::Secret;
use crate::tokens::{self, TokenService};
use crate::vault::Unlocked;
use crate::vault::file::VaultFile;
use crate::vault::model::CachedToken;

pub fn run(file: VaultFile, args: LoginArgs) -> Result<()> {
    let (unlocked, vault) = Unlocked::open(file)?;
    vault.profile_with_app(&args.profile)?;
    let refresh_token = if args.refresh_token_stdin {
        secret_from_stdin("refresh token")?
    } else {
        return Err(Error::Invalid(
            "give the refresh token on stdin with --refresh-token-stdin".into(),
        ));
    };
    check_refresh_token(&refresh_token)?;
    let service = TokenService::from_env()?;
    let grant = exchange(
        &service,
        &vault,
        &args.profile,
        Grant::RefreshToken(&refresh_token),
    )?;
    store_authorization(&unlocked, &args.profile, refresh_token, &grant, None)
}

/// A refresh token starts with `Atzr|`; an access token (`Atza|`) is the usual mix-up.
fn check_refresh_token(token: &Secret) -> Result<()> {
    let value = token.expose();
    if value.starts_with("Atza|") {
        return Err(Error::Invalid(
            "that is an access token (Atza|...), not a refresh token (Atzr|...): copy the refresh token Seller Central shows after \"Authorize app\"".into(),
        ));
    }
    if !value.starts_with("Atzr|") || value.len() > 4096 || value.chars().any(char::is_whitespace) {
        return Err(Error::Invalid(
            "that does not look like a refresh token: they start with Atzr| and hold no spaces"
                .into(),
        ));
    }
    Ok(())
}

/// Asks LWA for tokens with the profile's app credentials.
pub fn exchange(
    service: &TokenService,
    vault: &crate::vault::Vault,
    profile: &str,
    grant: Grant<'_>,
) -> Result<TokenGrant> {
    let (p, app) = vault.profile_with_app(profile)?;
    let credentials = ClientCredentials {
        client_id: &app.client_id,
        client_secret: &app.client_secret,
    };
    service
        .block_on(service.client().request(&credentials, &grant))
        .map_err(|e| tokens::explain_rejection(e, profile, &p.app))
}

/// Stores a new authorization: the refresh token (only now that it proved to work),
/// the first access token and, when known, the selling partner id.
pub fn store_authorization(
    unlocked: &Unlocked,
    profile: &str,
    refresh_token: Secret,
    grant: &TokenGrant,
    selling_partner_id: Option<String>,
) -> Result<()> {
    unlocked.update(|vault| {
        let p = vault.profile_mut(profile)?;
        p.refresh_token = Some(grant.refresh_token.clone().unwrap_or(refresh_token));
        p.access_token = Some(CachedToken {
            token: grant.access_token.clone(),
            expires_at: grant.expires_at,
        });
        if selling_partner_id.is_some() {
            p.selling_partner_id = selling_partner_id;
        }
        Ok(())
    })?;
    println!(
        "Authorized profile '{profile}': refresh token stored, access token valid {}",
        duration::short(Timestamp::now().duration_until(grant.expires_at))
    );
    Ok(())
}
