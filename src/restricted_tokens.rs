//! Restricted Data Tokens for `vault api`: one still valid for the same method, path
//! and data elements is reused; a new one is saved in the profile for the next call.

use jiff::{SignedDuration, Timestamp};

use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::settings::Network;
use crate::spapi_client::{RestrictedResource, SpApiClient};
use crate::vault::model::{CachedToken, RestrictedResourceKey};
use crate::vault::{Unlocked, Vault};

/// A reused token must stay valid this long: long enough for a slow call.
const MARGIN: SignedDuration = SignedDuration::from_secs(60);

/// A Restricted Data Token for `resource` on behalf of `profile`, whose access token
/// is `access`; `vault` is the vault as the caller opened it.
pub fn restricted_token(
    unlocked: &Unlocked,
    vault: &Vault,
    profile: &str,
    access: &Secret,
    resource: RestrictedResource,
    network: &Network,
) -> Result<Secret> {
    let key = RestrictedResourceKey {
        method: resource.method.clone(),
        path: resource.path.clone(),
        data_elements: resource.data_elements.clone().unwrap_or_default(),
    };
    let stored = vault.profile(profile)?;
    let now = Timestamp::now();
    if let Some(cached) = stored.restricted_token_for(&key, MARGIN, now) {
        return Ok(cached.token.clone());
    }
    let client = SpApiClient::new(stored.region, stored.sandbox, network)?;
    let issued = crate::http::runtime()
        .map_err(Error::Other)?
        .block_on(client.restricted_data_token(access, &[resource], None))
        .map_err(|e| crate::tokens::explain_spapi_error(e, &stored.app))?;
    let token = CachedToken {
        token: issued.token,
        expires_at: issued.expires_at,
    };
    unlocked.update_profiles(&[profile], |vault| {
        if let Some(saved) = vault.profiles.get_mut(profile) {
            saved.remember_restricted_token(key.clone(), token.clone(), now);
        }
        Ok(())
    })?;
    Ok(token.token)
}
