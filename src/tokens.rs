//! The access-token lifecycle: reuse a cached token while it has more than the margin
//! left, otherwise refresh it at LWA (outside the file lock) and save it (under the
//! lock, into the vault as it is then). A failed refresh never touches the stored
//! refresh token. Also grantless (client-credentials) tokens, cached per app and scopes.

use futures_util::StreamExt;
use jiff::{SignedDuration, Timestamp};

use crate::error::{Error, Result};
use crate::lwa::{ClientCredentials, Grant, LwaClient, LwaError, TokenGrant};
use crate::secret::Secret;
use crate::settings::{Network, Settings};
use crate::vault::model::{App, Authorization, CachedToken, RefreshFailure};
use crate::vault::{Unlocked, Vault};

pub const DEFAULT_CONCURRENCY: u16 = 16;

/// Short names for the grantless scopes spvault knows.
pub const SCOPE_NAMES: [(&str, &str); 2] = [
    ("notifications", "sellingpartnerapi::notifications"),
    (
        "client-credential-rotation",
        "sellingpartnerapi::client_credential:rotation",
    ),
];

/// Talks to LWA for the commands that need tokens.
pub struct TokenService {
    client: LwaClient,
    runtime: &'static tokio::runtime::Runtime,
}

/// An app's client id and the secrets to try, newest first.
#[derive(Clone)]
pub struct AppCredentials {
    client_id: String,
    secrets: Vec<Secret>,
}

impl AppCredentials {
    pub fn of(app: &App) -> Self {
        AppCredentials {
            client_id: app.client_id.clone(),
            secrets: app.usable_secrets(Timestamp::now()),
        }
    }

    /// One secret alone, to find out whether LWA takes it.
    pub fn only(client_id: &str, secret: Secret) -> Self {
        AppCredentials {
            client_id: client_id.to_owned(),
            secrets: vec![secret],
        }
    }
}

/// Everything one refresh needs, owned, so many can run at once.
struct RefreshJob {
    profile: String,
    app: String,
    authorization: Authorization,
    credentials: AppCredentials,
    refresh_token: Secret,
}

/// The error a batch refresh ends with when some profiles failed: their common exit
/// code, or 1 when they failed for different reasons.
#[derive(Debug, thiserror::Error)]
#[error("{failed} of {} could not be refreshed", crate::error::count(*.total, "profile"))]
pub struct SomeFailed {
    pub failed: usize,
    pub total: usize,
    pub code: crate::error::ExitCode,
}

impl crate::error::Coded for SomeFailed {
    fn exit_code(&self) -> crate::error::ExitCode {
        self.code
    }
}

/// How one profile's refresh ended.
pub struct RefreshOutcome {
    pub profile: String,
    pub result: Result<CachedToken>,
}

/// Asks LWA with each of the app's secrets in turn: during a rotation Amazon accepts
/// the old secret until it expires, so `invalid_client` with the new one tries the old.
async fn request_with(
    client: &LwaClient,
    app: &AppCredentials,
    grant: &Grant<'_>,
) -> Result<TokenGrant, LwaError> {
    let mut rejected = None;
    for secret in &app.secrets {
        let credentials = ClientCredentials {
            client_id: &app.client_id,
            client_secret: secret,
        };
        match client.request(&credentials, grant).await {
            Err(LwaError::Rejected { code, description }) if code == "invalid_client" => {
                rejected = Some(LwaError::Rejected { code, description });
            }
            other => return other,
        }
    }
    Err(rejected.unwrap_or_else(|| LwaError::Config("the app has no client secret".into())))
}

impl TokenService {
    pub fn new(network: &Network) -> Result<Self> {
        let runtime = crate::http::runtime().map_err(Error::Other)?;
        Ok(TokenService {
            client: LwaClient::new(network)?,
            runtime,
        })
    }

    /// One token request with the app's credentials (trying the previous secret too).
    pub fn request(&self, app: &AppCredentials, grant: &Grant<'_>) -> Result<TokenGrant, LwaError> {
        self.runtime
            .block_on(request_with(&self.client, app, grant))
    }

    /// Refreshes the named profiles, `concurrency` at a time, and saves every new token
    /// (and every rejection, for `vault check`) in one write, unless the vault's
    /// folder refuses it (`Refreshed::not_saved`). Each profile's outcome is
    /// returned, in the order given; `on_done` hears of each as it finishes.
    pub fn refresh(
        &self,
        unlocked: &Unlocked,
        vault: &Vault,
        profiles: &[String],
        concurrency: usize,
        mut on_done: impl FnMut(&str),
    ) -> Result<Refreshed> {
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
        let results: Vec<(RefreshJob, Result<TokenGrant, LwaError>)> = self.runtime.block_on(
            futures_util::stream::iter(jobs)
                .map(|job| async move {
                    let grant = request_with(
                        client,
                        &job.credentials,
                        &Grant::RefreshToken(&job.refresh_token),
                    )
                    .await;
                    (job, grant)
                })
                .buffer_unordered(concurrency.max(1))
                .inspect(|(job, _)| on_done(&job.profile))
                .collect(),
        );
        let now = Timestamp::now();
        let changed = results
            .iter()
            .any(|(_, r)| matches!(r, Ok(_) | Err(LwaError::Rejected { .. })));
        let mut not_saved = None;
        if changed {
            let names: Vec<&str> = results
                .iter()
                .map(|(job, _)| job.profile.as_str())
                .collect();
            let saved = unlocked.update_profiles(&names, |vault| {
                for (job, result) in &results {
                    record(vault, job, result, now);
                }
                Ok(())
            });
            match saved {
                // The tokens are good all the same: the caller decides whether a
                // refresh it could not save still serves.
                Err(e) if e.is_unwritable() => not_saved = Some(e),
                other => other?,
            }
        }
        for (job, result) in results {
            let result = result
                .map(|g| CachedToken {
                    token: g.access_token,
                    expires_at: g.expires_at,
                })
                .map_err(|e| explain_rejection(e, &job.profile, &job.app, job.authorization));
            outcomes.push(RefreshOutcome {
                profile: job.profile,
                result,
            });
        }
        sort_as_given(&mut outcomes, profiles, |o| &o.profile);
        Ok(Refreshed {
            outcomes,
            not_saved,
        })
    }
}

/// A batch's outcomes, and why they were not saved when the vault's folder refused
/// the write.
pub struct Refreshed {
    pub outcomes: Vec<RefreshOutcome>,
    pub not_saved: Option<Error>,
}

impl Refreshed {
    /// The outcomes, a failed save being the error: for commands whose job is to
    /// keep the new tokens.
    pub fn saved(self) -> Result<Vec<RefreshOutcome>> {
        match self.not_saved {
            Some(e) => Err(e),
            None => Ok(self.outcomes),
        }
    }
}

/// Puts per-profile results back in the order the profiles were given: an index,
/// since a search per comparison is quadratic (seconds at 10,000 profiles).
pub fn sort_as_given<T>(items: &mut [T], given: &[String], name: impl Fn(&T) -> &str) {
    let order: std::collections::HashMap<&str, usize> = given
        .iter()
        .enumerate()
        .map(|(i, name)| (name.as_str(), i))
        .collect();
    items.sort_by_key(|item| order.get(name(item)).copied());
}

/// An access token to use, and what the command should warn about.
pub struct UsableToken {
    pub token: CachedToken,
    /// Set when a refresh within the margin failed and the cached token, still
    /// valid, is used anyway, or when the new token could not be saved: for the
    /// command to print.
    pub warning: Option<String>,
}

/// A token for `profile` valid for more than `margin`: the cached one, or a new one
/// (saved to the vault) when it is missing or too old. When that refresh fails but
/// the cached token has not expired yet, the cached one is used, with a warning;
/// an expired one never is. The network settings are only resolved, and the client
/// set up, when a refresh is needed.
pub fn valid_token(
    unlocked: &Unlocked,
    vault: &Vault,
    profile: &str,
    margin: SignedDuration,
    settings: &Settings,
) -> Result<UsableToken> {
    let (p, _) = vault.profile_with_app(profile)?;
    let now = Timestamp::now();
    if let Some(cached) = &p.access_token
        && cached.valid_for(margin, now)
    {
        return Ok(UsableToken {
            token: cached.clone(),
            warning: None,
        });
    }
    let mut batch = TokenService::new(&settings.network()?)?.refresh(
        unlocked,
        vault,
        &[profile.to_owned()],
        1,
        |_| {},
    )?;
    let refreshed = batch
        .outcomes
        .pop()
        .map(|outcome| outcome.result)
        .unwrap_or_else(|| Err(Error::NoSuchProfile(profile.to_owned())));
    match (refreshed, &p.access_token) {
        (Ok(token), _) => Ok(UsableToken {
            token,
            warning: batch.not_saved.map(|e| {
                format!(
                    "the new access token of profile '{profile}' is used but was not saved, because the vault's folder is not writable ({e}); the next command refreshes again"
                )
            }),
        }),
        (Err(error), Some(cached)) if cached.valid_for(SignedDuration::ZERO, now) => {
            Ok(UsableToken {
                warning: Some(format!(
                    "could not refresh profile '{profile}' ({}); using the cached access token, valid {} more",
                    error.in_full(),
                    crate::duration::short(now.duration_until(cached.expires_at))
                )),
                token: cached.clone(),
            })
        }
        (Err(error), _) => Err(error),
    }
}

/// The scope of the Authorization API, which Amazon shut down in 2024.
const RETIRED_MIGRATION_SCOPE: &str = "sellingpartnerapi::migration";

/// The scopes as LWA wants them: full names, sorted, space-separated. Accepts the
/// short names `notifications` and `client-credential-rotation`.
pub fn normalize_scopes(scopes: &[String]) -> Result<String> {
    let mut full: Vec<&str> = Vec::new();
    for scope in scopes {
        let scope = scope.trim();
        if scope == RETIRED_MIGRATION_SCOPE || scope == "migration" {
            return Err(Error::Invalid(format!(
                "{RETIRED_MIGRATION_SCOPE} is retired: it served the Authorization API (MWS to SP-API migration), which Amazon shut down in 2024"
            ))
            .with_hint("authorize sellers with `vault login PROFILE` instead"));
        }
        let name = SCOPE_NAMES
            .iter()
            .find(|(short, long)| scope == *short || scope == *long)
            .map(|(_, long)| *long)
            .or_else(|| {
                (scope.starts_with("sellingpartnerapi::") && scope.bytes().all(|b| b.is_ascii_graphic()))
                    .then_some(scope)
            })
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "unknown grantless scope '{}'",
                    scope.escape_debug()
                ))
                .with_hint("use notifications, client-credential-rotation or a full sellingpartnerapi:: scope")
            })?;
        full.push(name);
    }
    full.sort_unstable();
    full.dedup();
    if full.is_empty() {
        return Err(Error::Invalid("name at least one scope".into()));
    }
    Ok(full.join(" "))
}

/// A grantless (client-credentials) token for `app_name` and `scope` (normalized),
/// cached in the vault per app and scope set like access tokens.
pub fn grantless_token(
    unlocked: &Unlocked,
    vault: &Vault,
    app_name: &str,
    scope: &str,
    margin: SignedDuration,
    settings: &Settings,
) -> Result<CachedToken> {
    let app = vault.app(app_name)?;
    if let Some(cached) = app.grantless_tokens.get(scope)
        && cached.valid_for(margin, Timestamp::now())
    {
        return Ok(cached.clone());
    }
    let grant = TokenService::new(&settings.network()?)?
        .request(
            &AppCredentials::of(app),
            &Grant::ClientCredentials { scope },
        )
        .map_err(|e| explain_app_rejection(e, app_name))?;
    let token = CachedToken {
        token: grant.access_token,
        expires_at: grant.expires_at,
    };
    unlocked.update_profiles(&[], |vault| {
        vault
            .app_mut(app_name)?
            .grantless_tokens
            .insert(scope.to_owned(), token.clone());
        Ok(())
    })?;
    Ok(token)
}

fn refresh_job(vault: &Vault, name: &str) -> Result<RefreshJob> {
    let (profile, app) = vault.profile_with_app(name)?;
    let refresh_token = profile
        .refresh_token
        .clone()
        .ok_or_else(|| Error::NoRefreshToken(name.to_owned()))?;
    Ok(RefreshJob {
        profile: name.to_owned(),
        app: profile.app.clone(),
        authorization: profile.authorization(),
        credentials: AppCredentials::of(app),
        refresh_token,
    })
}

/// Saves a refresh's outcome into the vault as re-read under the lock, unless the
/// profile was removed or re-authorized meanwhile (then it belongs to a grant that is
/// gone). A rejection is recorded beside the refresh token, never instead of it.
fn record(
    vault: &mut Vault,
    job: &RefreshJob,
    result: &Result<TokenGrant, LwaError>,
    now: Timestamp,
) {
    let Some(profile) = vault.profiles.get_mut(&job.profile) else {
        return;
    };
    if profile.refresh_token.as_ref() != Some(&job.refresh_token) {
        return;
    }
    match result {
        Ok(grant) => {
            profile.access_token = Some(CachedToken {
                token: grant.access_token.clone(),
                expires_at: grant.expires_at,
            });
            if let Some(rotated) = &grant.refresh_token {
                profile.refresh_token = Some(rotated.clone());
            }
            profile.last_refresh_error = None;
        }
        Err(LwaError::Rejected { code, .. }) => {
            profile.last_refresh_error = Some(RefreshFailure {
                code: code.clone(),
                at: now,
            });
        }
        Err(_) => {}
    }
}

/// Turns an OAuth rejection of a profile's refresh into advice about what to do next.
/// Advice for an authorization code Amazon rejected in `vault login`.
pub fn explain_code_rejection(error: LwaError, profile: &str, app: &str) -> Error {
    match error {
        LwaError::Rejected { code, description } if code == "invalid_grant" => {
            Error::AmazonRejected {
                subject: format!("the authorization code for profile '{profile}'"),
                code,
                description,
                advice: format!(
                    "a code is valid once and for 5 minutes, and the redirect URI must be the one the consent used; run `vault login {profile}` again"
                ),
            }
        }
        other => explain_rejection(other, profile, app, Authorization::Unknown),
    }
}

/// `authorization`: how the rejected refresh token was given, which says how to
/// give a new one.
pub fn explain_rejection(
    error: LwaError,
    profile: &str,
    app: &str,
    authorization: Authorization,
) -> Error {
    let LwaError::Rejected { code, description } = error else {
        return error.into();
    };
    let advice = match code.as_str() {
        "invalid_grant" => authorization.when_revoked(profile),
        "invalid_client" => secret_advice(app),
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

/// The same for a grantless request, which involves only the app.
pub fn explain_app_rejection(error: LwaError, app: &str) -> Error {
    let LwaError::Rejected { code, description } = error else {
        return error.into();
    };
    let advice = match code.as_str() {
        "invalid_client" => secret_advice(app),
        "invalid_scope" => format!(
            "app '{app}' may not request this scope: grantless tokens work only for seller apps (not vendor apps), and the scope must be one Amazon offers (notifications, client-credential-rotation)"
        ),
        _ => format!("check the settings of app '{app}'"),
    };
    Error::AmazonRejected {
        subject: format!("app '{app}'"),
        code,
        description,
        advice,
    }
}

fn secret_advice(app: &str) -> String {
    format!(
        "the client secret of app '{app}' is wrong or expired (LWA secrets expire every 180 days); store the current one with `vault app set-secret {app}`"
    )
}

/// An SP-API error, with the app named where the fix is the app's: an expired client
/// secret shows up as a 403, not only as `invalid_client`.
pub fn explain_spapi_error(error: crate::spapi_client::SpApiError, app: &str) -> Error {
    match error {
        crate::spapi_client::SpApiError::SecretExpired { detail } => Error::AmazonRejected {
            subject: format!("app '{app}'"),
            code: "HTTP 403".into(),
            description: detail,
            advice: format!(
                "its LWA client secret has expired; store the current one with `vault app set-secret {app}`"
            ),
        },
        not_enrolled @ crate::spapi_client::SpApiError::RotationNotEnrolled { .. } => {
            Error::from(not_enrolled).with_hint(format!(
                "in Developer Console › Notification preferences, set up the \"Application Client New Secret\" notification (the SQS queue the new secret is sent to), then start the rotation again: `vault app rotate-secret {app}`"
            ))
        }
        uncertain @ crate::spapi_client::SpApiError::RotationUncertain { .. } => {
            Error::from(uncertain).with_hint(format!(
                "watch the app's queue for an APPLICATION_OAUTH_CLIENT_NEW_SECRET notification (`vault app watch {app} --once` stores it), and start another rotation only if none arrives within an hour"
            ))
        }
        other => other.into(),
    }
}
