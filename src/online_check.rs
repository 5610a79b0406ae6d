//! `vault check --online`: for each profile, a token and Amazon's answer to
//! `GET /sellers/v1/marketplaceParticipations`, a bounded number at a time.

use std::collections::HashMap;

use futures_util::StreamExt;
use jiff::{SignedDuration, Timestamp};

use crate::api::participation::{self, Participation};
use crate::api::{ApiFailure, ApiRequest};
use crate::error::{Error, ExitCode, Result};
use crate::secret::Secret;
use crate::settings::Network;
use crate::spapi::Region;
use crate::spapi_client::{SpApiClient, SpApiError};
use crate::tokens::TokenService;
use crate::vault::{Unlocked, Vault};

/// What Amazon said of one profile.
pub enum Online {
    /// The marketplaces the account participates in.
    Participating(Vec<Participation>),
    /// SP-API refused the profile's call (401 or 403); the error says what to check.
    Denied(Error),
    /// LWA refused the refresh token (recorded in the vault for `vault check`).
    RefreshRejected(Error),
    /// Amazon could not be reached, or gave no usable answer.
    NotChecked(Error),
}

pub struct OnlineOutcome {
    pub profile: String,
    pub online: Online,
}

/// Checks `profiles` (each must have a refresh token), `concurrency` at a time, in
/// the order given. Access tokens with more than `margin` left are reused.
pub fn check(
    unlocked: &Unlocked,
    vault: &Vault,
    profiles: &[String],
    concurrency: usize,
    margin: SignedDuration,
    network: &Network,
) -> Result<Vec<OnlineOutcome>> {
    let now = Timestamp::now();
    let mut tokens: HashMap<String, Result<Secret>> = HashMap::new();
    let mut due = Vec::new();
    for name in profiles {
        match &vault.profile(name)?.access_token {
            Some(cached) if cached.valid_for(margin, now) => {
                tokens.insert(name.clone(), Ok(cached.token.clone()));
            }
            _ => due.push(name.clone()),
        }
    }
    if !due.is_empty() {
        let refreshed = TokenService::new(network)?
            .refresh(unlocked, vault, &due, concurrency, |_| {})?
            .saved()?;
        for outcome in refreshed {
            tokens.insert(outcome.profile, outcome.result.map(|t| t.token));
        }
    }
    let mut clients: HashMap<(Region, bool), SpApiClient> = HashMap::new();
    for name in profiles {
        let profile = vault.profile(name)?;
        let key = (profile.region, profile.sandbox);
        if let std::collections::hash_map::Entry::Vacant(slot) = clients.entry(key) {
            slot.insert(SpApiClient::new(key.0, key.1, network)?);
        }
    }
    let policy = crate::api::retry_policy(network);
    let request = ApiRequest::new("GET", participation::PATH, Vec::new(), None)
        .expect("the participations request is valid");
    let runtime = crate::http::runtime().map_err(Error::Other)?;
    let (clients, policy, request) = (&clients, &policy, &request);
    let mut outcomes: Vec<OnlineOutcome> = runtime.block_on(
        futures_util::stream::iter(profiles.iter().map(|name| {
            let token = tokens
                .remove(name)
                .unwrap_or_else(|| Err(Error::NoSuchProfile(name.clone())));
            (name.clone(), token)
        }))
        .map(|(name, token)| async move {
            let profile = &vault.profiles[&name];
            let online = match token {
                Err(error) if error.exit_code() == ExitCode::Unreachable => {
                    Online::NotChecked(error)
                }
                Err(error) => Online::RefreshRejected(error),
                Ok(token) => {
                    let client = &clients[&(profile.region, profile.sandbox)];
                    classify(client.call(&token, request, policy).await, &profile.app)
                }
            };
            OnlineOutcome {
                profile: name,
                online,
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect(),
    );
    crate::tokens::sort_as_given(&mut outcomes, profiles, |o| &o.profile);
    Ok(outcomes)
}

fn classify(answer: Result<crate::api::ApiResponse, ApiFailure>, app: &str) -> Online {
    match answer {
        Ok(response) => match participation::parse(&response.body) {
            Ok(participations) => Online::Participating(participations),
            Err(detail) => Online::NotChecked(SpApiError::BadResponse(detail).into()),
        },
        Err(ApiFailure { error, .. }) => match error {
            SpApiError::Forbidden { .. }
            | SpApiError::SecretExpired { .. }
            | SpApiError::Rejected { status: 401, .. } => {
                Online::Denied(crate::tokens::explain_spapi_error(error, app))
            }
            other => Online::NotChecked(other.into()),
        },
    }
}
