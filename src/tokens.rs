//! The access-token lifecycle: reuse a cached token while it has more than the margin
//! left, otherwise refresh it at LWA (outside the file lock) and save it (under the
//! lock, into the vault as it is then). A failed refresh never touches the stored
//! refresh token.

use futures_util::StreamExt;
use jiff::{SignedDuration, Timestamp};

use crate::error::{Error, Result};
use crate::lwa::{ClientCredentials, Grant, LwaClient, LwaError, TokenGrant};
use crate::secret::Secret;
use crate::vault::model::{App, CachedToken, Profile};
use crate::vault::{Unlocked, Vault};

pub const DEFAULT_CONCURRENCY: u16 = 16;

/// Talks to LWA for the commands that need tokens.
pub struct TokenService {
    client: LwaClient,
    runtime: tokio::runtime::Runtime,
}

/// Everything one refresh needs, owned, so many can run at once.
struct RefreshJob {
    profile: String,
    app: String,
    client_id: String,
    client_secret: Secret,
    refresh_token: Secret,
}

/// The error a batch refresh ends with when some profiles failed: their common exit
/// code, or 1 when they failed for different reasons.
#[derive(Debug, thiserror::Error)]
#[error("{failed} of {total} profiles could not be refreshed")]
pub struct SomeFailed {
    pub failed: usize,
    pub total: usize,
    pub code: crate::error::ExitCode,
}

/// How one profile's refresh ended.
pub struct RefreshOutcome {
    pub profile: String,
    pub result: Result<CachedToken>,
}

impl TokenService {
    pub fn from_env() -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Other(format!("cannot start the network runtime: {e}")))?;
        Ok(TokenService {
            client: LwaClient::from_env()?,
            runtime,
        })
    }

    pub fn client(&self) -> &LwaClient {
        &self.client
    }

    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Refreshes the named profiles, `concurrency` at a time, and saves every new token
    /// in one write. Each profile's outcome is returned, in the order given.
    pub fn refresh(
        &self,
        unlocked: &Unlocked,
        vault: &Vault,
        profiles: &[String],
        concurrency: usize,
    ) -> Result<Vec<RefreshOutcome>> {
        self.refresh_with_progress(unlocked, vault, profiles, concurrency, |_| {})
    }

    pub fn refresh_with_progress(
        &self,
        unlocked: &Unlocked,
        vault: &Vault,
        profiles: &[String],
        concurrency: usize,
        mut on_done: impl FnMut(&str),
    ) -> Result<Vec<RefreshOutcome>> {
        let mut outcomes: Vec<RefreshOutcome> = Vec::with_capacity(profiles.len());
        let mut jobs = Vec::with_capacity(profiles.len());
        for name in profiles {
            match refresh_job(vault, name) {
                Ok(job) => jobs.push(job),
                Err(e) => outcomes.push(RefreshOutcome {
                    profile: name.clone(),
                    result: Err(e),
                }),
            }
        }
        let client = &self.client;
        let grants: Vec<(RefreshJob, Result<TokenGrant, LwaError>)> = self.runtime.block_on(
            futures_util::stream::iter(jobs)
                .map(|job| async move {
                    let credentials = ClientCredentials {
                        client_id: &job.client_id,
                        client_secret: &job.client_secret,
                    };
                    let grant = client
                        .request(&credentials, &Grant::RefreshToken(&job.refresh_token))
                        .await;
                    (job, grant)
                })
                .buffer_unordered(concurrency.max(1))
                .inspect(|(job, _)| on_done(&job.profile))
                .collect(),
        );
        let fresh: Vec<(&RefreshJob, &TokenGrant)> = grants
            .iter()
            .filter_map(|(job, grant)| grant.as_ref().ok().map(|g| (job, g)))
            .collect();
        if !fresh.is_empty() {
            unlocked.update(|vault| {
                for (job, grant) in &fresh {
                    store_grant(vault, job, grant);
                }
                Ok(())
            })?;
        }
        for (job, grant) in grants {
            let result = grant
                .map(|g| CachedToken {
                    token: g.access_token,
                    expires_at: g.expires_at,
                })
                .map_err(|e| explain_rejection(e, &job.profile, &job.app));
            outcomes.push(RefreshOutcome {
                profile: job.profile,
                result,
            });
        }
        let order = |name: &str| profiles.iter().position(|p| p == name);
        outcomes.sort_by_key(|o| order(&o.profile));
        Ok(outcomes)
    }
}

/// A token for `profile` valid for more than `margin`: the cached one, or a new one
/// (saved to the vault) when it is missing or too old. The network client is only set
/// up when a refresh is needed.
pub fn valid_token(
    unlocked: &Unlocked,
    vault: &Vault,
    profile: &str,
    margin: SignedDuration,
) -> Result<CachedToken> {
    let (p, _) = vault.profile_with_app(profile)?;
    if let Some(cached) = &p.access_token
        && cached.valid_for(margin, Timestamp::now())
    {
        return Ok(cached.clone());
    }
    TokenService::from_env()?
        .refresh(unlocked, vault, &[profile.to_owned()], 1)?
        .pop()
        .map(|outcome| outcome.result)
        .unwrap_or_else(|| Err(Error::NoSuchProfile(profile.to_owned())))
}

fn refresh_job(vault: &Vault, name: &str) -> Result<RefreshJob> {
    let (profile, app): (&Profile, &App) = vault.profile_with_app(name)?;
    let refresh_token = profile
        .refresh_token
        .clone()
        .ok_or_else(|| Error::NoRefreshToken(name.to_owned()))?;
    Ok(RefreshJob {
        profile: name.to_owned(),
        app: profile.app.clone(),
        client_id: app.client_id.clone(),
        client_secret: app.client_secret.clone(),
        refresh_token,
    })
}

/// Saves a new token into the vault as re-read under the lock, unless the profile was
/// removed or re-authorized meanwhile (then the token belongs to a grant that is gone).
fn store_grant(vault: &mut Vault, job: &RefreshJob, grant: &TokenGrant) {
    let Some(profile) = vault.profiles.get_mut(&job.profile) else {
        return;
    };
    if profile.refresh_token.as_ref() != Some(&job.refresh_token) {
        return;
    }
    profile.access_token = Some(CachedToken {
        token: grant.access_token.clone(),
        expires_at: grant.expires_at,
    });
    if let Some(rotated) = &grant.refresh_token {
        profile.refresh_token = Some(rotated.clone());
    }
}

/// Turns an OAuth rejection into advice about what the user should do next.
pub fn explain_rejection(error: LwaError, profile: &str, app: &str) -> Error {
    let LwaError::Rejected { code, description } = error else {
        return Error::Lwa(error);
    };
    let advice = match code.as_str() {
        "invalid_grant" => format!(
            "the refresh token was revoked, replaced by a newer authorization, or has expired; authorize again with `vault login {profile}`"
        ),
        "invalid_client" => format!(
            "the client secret of app '{app}' is wrong or expired (LWA secrets expire every 180 days); store the current one with `vault app set-secret {app}`"
        ),
        "unauthorized_client" => format!(
            "app '{app}' may not use this grant; check its client id and that the app is not suspended in Developer Central"
        ),
        _ => format!("check the settings of profile '{profile}' and app '{app}'"),
    };
    Error::AmazonRejected {
        subject: format!("profile '{profile}'"),
        code,
        description,
        advice,
    }
}
