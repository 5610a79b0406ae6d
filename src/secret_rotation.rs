//! What happens to an app's secret notification once it has arrived, for `vault app
//! watch` and `vault app rotate-secret --wait`: a new secret is proven with LWA before
//! it is stored, an expiry is recorded, and a rotation is started at most once per
//! expiry. Whether the message may then be deleted is part of the answer.

use jiff::{SignedDuration, Timestamp};

use crate::error::{Error, Result};
use crate::lwa::client::{Grant, LwaError};
use crate::notifications::{self, SecretNotification};
use crate::secret::Secret;
use crate::settings::Settings;
use crate::spapi::Region;
use crate::spapi_client::{SpApiClient, SpApiError};
use crate::tokens::{self, AppCredentials, TokenService};
use crate::vault::Unlocked;
use crate::vault::model::{self, RotationStarted, Vault};

/// The scope a new secret is proven with: any client-credentials request makes LWA
/// authenticate the client first, and this scope is one every seller app may ask for.
const PROOF_SCOPE: &str = "sellingpartnerapi::notifications";

/// After starting a rotation, how long until the next may start for another expiry
/// (a warning anyone who can send to the queue could forge).
const ROTATION_PAUSE: SignedDuration = SignedDuration::from_hours(24);

/// What becomes of a message once handled.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Disposition {
    /// Done with: delete it.
    Delete,
    /// It is another app's, not watched here: left for its watcher.
    LeaveForOtherApp,
    /// Left on the queue until a person sees to it.
    LeaveForAttention,
    /// Left on the queue to be tried again (Amazon could not be reached).
    LeaveToRetry,
}

/// What became of one message.
pub struct Handled {
    /// The app it was for, when one was found.
    pub app: Option<String>,
    /// It carried a new secret, which the vault now holds and did not before.
    pub stored_new_secret: bool,
    pub disposition: Disposition,
    /// What was done, in one line (never a secret).
    pub line: String,
}

impl Handled {
    fn done(app: &str, line: String) -> Handled {
        Handled {
            app: Some(app.to_owned()),
            stored_new_secret: false,
            disposition: Disposition::Delete,
            line,
        }
    }

    pub fn attention(app: Option<&str>, line: String) -> Handled {
        Handled {
            app: app.map(str::to_owned),
            stored_new_secret: false,
            disposition: Disposition::LeaveForAttention,
            line,
        }
    }

    /// Left for a reason that `error` gives: to retry when Amazon could not be
    /// reached, else for a person.
    fn left_for(app: &str, line: String, error: &Error) -> Handled {
        let disposition = if error.exit_code() == crate::error::ExitCode::Unreachable {
            Disposition::LeaveToRetry
        } else {
            Disposition::LeaveForAttention
        };
        Handled {
            disposition,
            ..Handled::attention(Some(app), line)
        }
    }
}

/// When `vault app watch` starts a rotation on its own.
#[derive(Clone, Copy)]
pub struct Policy {
    /// Start one when an expiry warning says the secret expires within this.
    pub rotate_within: Option<SignedDuration>,
}

/// Handles one notification for one of `apps` (names of apps in `vault`).
pub fn handle(
    unlocked: &Unlocked,
    vault: &Vault,
    apps: &[String],
    body: &str,
    policy: Policy,
    settings: &Settings,
) -> Handled {
    let notification = match notifications::parse(body) {
        Ok(notification) => notification,
        Err(e) => {
            return Handled::attention(
                None,
                format!("left a message that is not a secret notification on the queue: {e}"),
            );
        }
    };
    let client_id = match &notification {
        SecretNotification::NewSecret { client_id, .. } => client_id.as_deref(),
        SecretNotification::Expiry { client_id, .. } => Some(client_id.as_str()),
    };
    let Some(client_id) = client_id else {
        return Handled::attention(
            None,
            "left a new-secret notification without a clientId on the queue: store it with `vault app set-secret APP --from-notification`".into(),
        );
    };
    let owner = vault
        .apps
        .iter()
        .find(|(_, app)| app.client_id == client_id)
        .map(|(name, _)| name);
    let app = match owner {
        Some(name) if apps.contains(name) => name,
        Some(name) => {
            return Handled {
                disposition: Disposition::LeaveForOtherApp,
                ..Handled::attention(
                    Some(name),
                    format!(
                        "left a notification for app '{name}' on the queue: it is not watched here (`vault app watch {name}` handles it)"
                    ),
                )
            };
        }
        None => {
            return Handled::attention(
                None,
                format!(
                    "left a notification for client id {} on the queue: no app in the vault has it (`vault app list` shows the apps and their client ids)",
                    crate::display::escape_controls(client_id)
                ),
            );
        }
    };
    let outcome = match notification {
        SecretNotification::NewSecret {
            secret,
            expires_at,
            old_expires_at,
            ..
        } => store_new_secret(
            unlocked,
            vault,
            app,
            secret,
            expires_at,
            old_expires_at,
            settings,
        ),
        SecretNotification::Expiry { expires_at, .. } => {
            record_expiry(unlocked, vault, app, expires_at, policy, settings)
        }
    };
    outcome.unwrap_or_else(|e| {
        let line = format!(
            "app '{app}': {}; the message stays on the queue",
            e.in_full()
        );
        Handled::left_for(app, line, &e)
    })
}

/// Whether LWA accepts `secret` for `client_id`. A token, or a refusal of the grant
/// rather than of the client, proves it: LWA answers `invalid_client` for a secret it
/// does not accept, before it looks at the grant.
fn prove(client_id: &str, secret: &Secret, settings: &Settings) -> Result<(), LwaError> {
    let service = TokenService::new(
        &settings
            .network()
            .map_err(|e| LwaError::Config(e.to_string()))?,
    )
    .map_err(|e| LwaError::Config(e.to_string()))?;
    let credentials = AppCredentials::only(client_id, secret.clone());
    match service.request(
        &credentials,
        &Grant::ClientCredentials { scope: PROOF_SCOPE },
    ) {
        Ok(_) => Ok(()),
        Err(LwaError::Rejected { code, .. }) if code != "invalid_client" => Ok(()),
        Err(e) => Err(e),
    }
}

fn store_new_secret(
    unlocked: &Unlocked,
    vault: &Vault,
    name: &str,
    secret: Secret,
    expires_at: Timestamp,
    old_expires_at: Option<Timestamp>,
    settings: &Settings,
) -> Result<Handled> {
    let app = vault.app(name)?;
    // A redelivery, or a message older than the rotation already stored.
    if app.holds_secret(&secret) {
        return Ok(Handled::done(
            name,
            format!("app '{name}': the new client secret was already stored; nothing changed"),
        ));
    }
    let not_stored = |why: &str| {
        format!(
            "app '{name}': the new client secret in the notification was not stored: {why}; the message stays on the queue"
        )
    };
    if let Err(e) = model::validate_client_secret(secret.expose()) {
        return Ok(Handled::attention(Some(name), not_stored(&e.to_string())));
    }
    match prove(&app.client_id, &secret, settings) {
        Ok(()) => {}
        Err(LwaError::Rejected { .. }) => {
            return Ok(Handled::attention(
                Some(name),
                not_stored("LWA does not accept it"),
            ));
        }
        Err(other) => {
            let line = not_stored(&format!("it could not be tried ({other})"));
            return Ok(Handled::left_for(name, line, &Error::from(other)));
        }
    }
    // The access log records this write as the rotation it completes.
    let before = crate::audit::action();
    crate::audit::set_action(Some(crate::audit::Action {
        app: Some(name.to_owned()),
        subject: Some("new secret from a notification".into()),
        ..crate::audit::Action::new(crate::audit::Event::SecretRotated)
    }));
    let stored = unlocked.update_profiles(&[], |vault| {
        let app = vault.app_mut(name)?;
        if !app.holds_secret(&secret) {
            app.take_new_secret(secret.clone(), expires_at, old_expires_at);
            app.rotation_started = None;
        }
        Ok(())
    });
    crate::audit::set_action(before);
    stored?;
    let fallback = fallback_note(old_expires_at);
    Ok(Handled {
        stored_new_secret: true,
        ..Handled::done(
            name,
            format!(
                "app '{name}': proved and stored the new client secret (expires {}){fallback}",
                expires_at.strftime("%Y-%m-%d")
            ),
        )
    })
}

/// "; the old one stays in use as a fallback until …", when Amazon said until when.
pub fn fallback_note(old_expires_at: Option<Timestamp>) -> String {
    old_expires_at
        .map(|t| {
            format!(
                "; the old one stays in use as a fallback until {}",
                t.strftime("%Y-%m-%d %H:%M UTC")
            )
        })
        .unwrap_or_default()
}

fn record_expiry(
    unlocked: &Unlocked,
    vault: &Vault,
    name: &str,
    expires_at: Timestamp,
    policy: Policy,
    settings: &Settings,
) -> Result<Handled> {
    let app = vault.app(name)?;
    let now = Timestamp::now();
    // After a rotation the current secret's expiry is Amazon's own; a warning of an
    // earlier one (delivered late, or about the secret it replaced) is not about it.
    if app.previous_client_secret.is_some()
        && app
            .client_secret_expires_at
            .is_some_and(|current| expires_at < current)
    {
        return Ok(Handled::done(
            name,
            format!(
                "app '{name}': a warning of an expiry on {} is about the client secret a rotation already replaced; nothing changed",
                expires_at.strftime("%Y-%m-%d %H:%M UTC")
            ),
        ));
    }
    let due = policy
        .rotate_within
        .is_some_and(|within| now.duration_until(expires_at) <= within);
    // One per expiry; and, whatever warnings say, one a day until its secret arrives.
    let already_started = app.rotation_started.as_ref().is_some_and(|started| {
        started.for_expiry == expires_at || started.at.duration_until(now) < ROTATION_PAUSE
    });
    let start = due && !already_started;
    if app.client_secret_expires_at != Some(expires_at) || start {
        // The start is recorded before the request, so that no restart repeats it.
        unlocked.update_profiles(&[], |vault| {
            let app = vault.app_mut(name)?;
            app.client_secret_expires_at = Some(expires_at);
            if start {
                app.rotation_started = Some(RotationStarted {
                    for_expiry: expires_at,
                    at: now,
                });
            }
            Ok(())
        })?;
    }
    let expires = expires_at.strftime("%Y-%m-%d %H:%M UTC");
    if !start {
        let rotation = match (&app.rotation_started, already_started) {
            (Some(started), true) => format!(
                " (a rotation was started {}; its new secret has not arrived yet)",
                started.at.strftime("%Y-%m-%d %H:%M UTC")
            ),
            _ => String::new(),
        };
        return Ok(Handled::done(
            name,
            format!("app '{name}': recorded that the client secret expires {expires}{rotation}"),
        ));
    }
    let failure = match send_rotation(unlocked, vault, name, None, settings) {
        Ok(Ok(())) => None,
        // It may have started: kept as started, so that none is started twice.
        Ok(Err(uncertain @ SpApiError::RotationUncertain { .. })) => {
            return Err(tokens::explain_spapi_error(uncertain, name));
        }
        Ok(Err(refused)) => Some(tokens::explain_spapi_error(refused, name)),
        Err(not_sent) => Some(not_sent),
    };
    if let Some(e) = failure {
        // Not started: a later warning (or this one, redelivered) tries again.
        unlocked.update_profiles(&[], |vault| {
            vault.app_mut(name)?.rotation_started = None;
            Ok(())
        })?;
        return Err(e);
    }
    Ok(Handled::done(
        name,
        format!(
            "app '{name}': the client secret expires {expires}: started a rotation; the new secret arrives on this queue"
        ),
    ))
}

/// Asks Amazon to rotate app `name`'s client secret (with a rotation-scoped grantless
/// token). The new secret arrives only as a notification on the app's queue.
pub fn start_rotation(
    unlocked: &Unlocked,
    vault: &Vault,
    name: &str,
    region: Option<Region>,
    settings: &Settings,
) -> Result<()> {
    send_rotation(unlocked, vault, name, region, settings)?
        .map_err(|e| tokens::explain_spapi_error(e, name))
}

/// The rotation request's own answer, inside what kept it from being sent.
fn send_rotation(
    unlocked: &Unlocked,
    vault: &Vault,
    name: &str,
    region: Option<Region>,
    settings: &Settings,
) -> Result<Result<(), SpApiError>> {
    vault.app(name)?;
    // The Application Management API's model (application_2023-11-30.json) names
    // one host, sellingpartnerapi-na: apps are global, whatever their sellers' regions.
    let region = region.unwrap_or(Region::Na);
    let scope = tokens::normalize_scopes(&["client-credential-rotation".to_owned()])?;
    let token = tokens::grantless_token(
        unlocked,
        vault,
        name,
        &scope,
        SignedDuration::from_mins(5),
        settings,
    )?;
    let client = SpApiClient::new(region, false, &settings.network()?)?;
    Ok(crate::http::runtime()
        .map_err(Error::Other)?
        .block_on(client.rotate_client_secret(&token.token)))
}
