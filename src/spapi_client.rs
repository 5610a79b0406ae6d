//! The SP-API calls spvault makes itself: Restricted Data Tokens (Tokens API
//! 2021-03-01) and client-secret rotation (Application Management API 2023-11-30).

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::ExitCode;
use crate::http::{self, Attempt, Failure, RetryPolicy};
use crate::secret::Secret;
use crate::settings::Network;
use crate::spapi::Region;

const MAX_BODY_BYTES: usize = 256 * 1024;
/// The Tokens API takes at most this many resources in one request.
pub const MAX_RESOURCES: usize = 50;

#[derive(Debug, thiserror::Error)]
pub enum SpApiError {
    #[error("SP-API refused the request at {endpoint} (HTTP 403{})", crate::error::detail(.detail))]
    Forbidden {
        endpoint: String,
        region: Region,
        detail: String,
    },
    #[error("SP-API says the app's LWA client secret has expired (HTTP 403{})", crate::error::detail(.detail))]
    SecretExpired { detail: String },
    #[error("SP-API rejected the request (HTTP {status}{})", crate::error::detail(.detail))]
    Rejected { status: u16, detail: String },
    #[error("the app is not enrolled for secret rotation{}", crate::error::detail(.detail))]
    RotationNotEnrolled { detail: String },
    #[error(
        "the rotation request may or may not have reached Amazon ({detail}), and it is not repeated automatically (each one starts a new rotation)"
    )]
    RotationUncertain { detail: String },
    #[error(
        "SP-API is unreachable or failing after {}: {detail}", crate::error::count(*.attempts as usize, "attempt")
    )]
    Unavailable { attempts: u32, detail: String },
    #[error("SP-API still throttles {detail}")]
    Throttled { detail: String },
    #[error("SP-API sent an unexpected answer: {0}")]
    BadResponse(String),
    #[error("{0}")]
    Config(String),
}

impl crate::error::Coded for SpApiError {
    fn exit_code(&self) -> ExitCode {
        match self {
            SpApiError::Forbidden { .. } | SpApiError::SecretExpired { .. } => ExitCode::Rejected,
            SpApiError::Rejected { status: 401, .. } => ExitCode::Rejected,
            SpApiError::Rejected { .. } | SpApiError::RotationNotEnrolled { .. } => ExitCode::Other,
            SpApiError::Unavailable { .. }
            | SpApiError::Throttled { .. }
            | SpApiError::BadResponse(_)
            | SpApiError::RotationUncertain { .. } => ExitCode::Unreachable,
            SpApiError::Config(_) => ExitCode::Usage,
        }
    }

    fn hint(&self) -> Option<String> {
        Some(match self {
            SpApiError::Forbidden { region, .. } => format!(
                "a token authorized in one region gets 403 at another region's endpoint, so check that the seller's account is in region {region} (or that the app has the role this call needs)"
            ),
            SpApiError::SecretExpired { .. } => {
                "store the current secret with `vault app set-secret APP`".into()
            }
            SpApiError::RotationNotEnrolled { .. } => "in Developer Console › Notification preferences, set up the \"Application Client New Secret\" notification (the SQS queue the new secret is sent to), then run `vault app rotate-secret` again".into(),
            SpApiError::RotationUncertain { .. } => "watch the app's queue for an APPLICATION_OAUTH_CLIENT_NEW_SECRET notification, and run `vault app rotate-secret` again only if none arrives within an hour".into(),
            SpApiError::Unavailable { .. } => "try again later".into(),
            SpApiError::Throttled { .. } => "try again later: Amazon meters each operation per app and selling partner, for every program that calls it".into(),
            SpApiError::Rejected { .. } | SpApiError::BadResponse(_) | SpApiError::Config(_) => {
                return None;
            }
        })
    }
}

/// One resource of a Restricted Data Token request.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RestrictedResource {
    pub method: String,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_elements: Option<Vec<String>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RdtRequest<'a> {
    restricted_resources: &'a [RestrictedResource],
    #[serde(skip_serializing_if = "Option::is_none")]
    target_application: Option<&'a str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RdtResponse {
    restricted_data_token: String,
    expires_in: i64,
}

#[derive(Debug)]
pub struct RestrictedDataToken {
    pub token: Secret,
    pub expires_at: Timestamp,
}

#[derive(Deserialize)]
struct ErrorList {
    errors: Vec<ApiError>,
}

/// One entry of SP-API's `errors[]`.
#[derive(Deserialize)]
pub struct ApiError {
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub details: Option<serde_json::Value>,
}

/// The `errors[]` of an SP-API answer; none when the body holds no such list.
pub fn api_errors(body: &[u8]) -> Vec<ApiError> {
    serde_json::from_slice::<ErrorList>(body)
        .map(|list| list.errors)
        .unwrap_or_default()
}

pub struct SpApiClient {
    pub(crate) http: reqwest::Client,
    base: Url,
    region: Region,
    retry: RetryPolicy,
}

impl SpApiClient {
    /// A client for the region's endpoint (its sandbox for sandbox profiles), or
    /// the one the settings name: `SPVAULT_SPAPI_SANDBOX_URL` (sandbox profiles) or
    /// `SPVAULT_SPAPI_URL`.
    pub fn new(region: Region, sandbox: bool, network: &Network) -> Result<Self, SpApiError> {
        Self::build(region, sandbox, network, http::client)
    }

    /// The same with an HTTP client of its own, for a server's runtime: the shared
    /// clients' connections live on the process's network runtime, which a server's
    /// threads do not drive.
    pub fn for_server(
        region: Region,
        sandbox: bool,
        network: &Network,
    ) -> Result<Self, SpApiError> {
        Self::build(region, sandbox, network, |base, timeout| {
            http::client_with_root(base, timeout, None)
        })
    }

    fn build(
        region: Region,
        sandbox: bool,
        network: &Network,
        client: impl Fn(&Url, std::time::Duration) -> Result<reqwest::Client, String>,
    ) -> Result<Self, SpApiError> {
        let overridden = match sandbox {
            true => network
                .spapi_sandbox_url
                .as_ref()
                .or(network.spapi_url.as_ref()),
            false => network.spapi_url.as_ref(),
        };
        let base = match overridden {
            Some(url) => url.clone(),
            None => Url::parse(region.endpoint(sandbox)).expect("constant endpoints are valid"),
        };
        let http = client(&base, network.request_timeout).map_err(SpApiError::Config)?;
        Ok(SpApiClient {
            http,
            base,
            region,
            retry: RetryPolicy::within(network.deadline),
        })
    }

    pub(crate) fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let prefix = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{prefix}{path}"));
        url
    }

    /// `POST /tokens/2021-03-01/restrictedDataToken`.
    pub async fn restricted_data_token(
        &self,
        access_token: &Secret,
        resources: &[RestrictedResource],
        target_application: Option<&str>,
    ) -> Result<RestrictedDataToken, SpApiError> {
        let body = serde_json::to_vec(&RdtRequest {
            restricted_resources: resources,
            target_application,
        })
        .expect("the request serializes");
        let started = Timestamp::now();
        let answer = self
            .post(
                "/tokens/2021-03-01/restrictedDataToken",
                access_token,
                Some(body),
            )
            .await?;
        let parsed: RdtResponse = serde_json::from_slice(&answer)
            .map_err(|_| SpApiError::BadResponse("no restrictedDataToken in the answer".into()))?;
        if parsed.restricted_data_token.is_empty() || !(1..=86_400).contains(&parsed.expires_in) {
            return Err(SpApiError::BadResponse(
                "the restricted data token or its expiry is out of range".into(),
            ));
        }
        Ok(RestrictedDataToken {
            token: Secret::new(parsed.restricted_data_token),
            expires_at: started + SignedDuration::from_secs(parsed.expires_in),
        })
    }

    /// `POST /applications/2023-11-30/clientSecret`: starts a rotation (204, no body).
    /// Sent once: the POST is not idempotent, so a transport error or a 5xx leaves it
    /// uncertain whether a rotation started, and the caller is told what to check.
    pub async fn rotate_client_secret(&self, grantless_token: &Secret) -> Result<(), SpApiError> {
        let url = self.url("/applications/2023-11-30/clientSecret");
        match self.attempt(&url, grantless_token, None).await {
            Attempt::Done(_) => Ok(()),
            Attempt::Transient { detail, .. } => Err(SpApiError::RotationUncertain { detail }),
            Attempt::Fatal(SpApiError::Rejected {
                status: 400,
                detail,
            }) if detail.to_ascii_lowercase().contains("not enrolled") => {
                Err(SpApiError::RotationNotEnrolled { detail })
            }
            Attempt::Fatal(error) => Err(error),
        }
    }

    async fn post(
        &self,
        path: &str,
        token: &Secret,
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, SpApiError> {
        let url = self.url(path);
        http::with_retries(&self.retry, &url, || {
            self.attempt(&url, token, body.clone())
        })
        .await
        .map_err(|failure| match failure {
            Failure::Fatal(error) => error,
            Failure::Exhausted { attempts, detail } => SpApiError::Unavailable { attempts, detail },
        })
    }

    async fn attempt(
        &self,
        url: &Url,
        token: &Secret,
        body: Option<Vec<u8>>,
    ) -> Attempt<Vec<u8>, SpApiError> {
        let mut request = self
            .http
            .post(url.clone())
            .header("x-amz-access-token", token.expose())
            .header("accept", "application/json");
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let http::Answer {
            status,
            retry_after,
            body,
        } = match http::send(request, MAX_BODY_BYTES, SpApiError::BadResponse).await {
            Ok(answer) => answer,
            Err(attempt) => return attempt,
        };
        if status.is_success() {
            return Attempt::Done(body);
        }
        let detail = describe_errors(&body, token.expose());
        if http::is_transient(status) {
            return Attempt::Transient {
                detail: format!("HTTP {}{}", status.as_u16(), crate::error::detail(&detail)),
                retry_after,
            };
        }
        Attempt::Fatal(self.rejection(status, detail))
    }

    /// The error for a refusal (4xx): a 403 says which of its usual causes to check.
    pub(crate) fn rejection(&self, status: reqwest::StatusCode, detail: String) -> SpApiError {
        if status == reqwest::StatusCode::FORBIDDEN && says_secret_expired(&detail) {
            SpApiError::SecretExpired { detail }
        } else if status == reqwest::StatusCode::FORBIDDEN {
            SpApiError::Forbidden {
                endpoint: self.base.origin().ascii_serialization(),
                region: self.region,
                detail,
            }
        } else {
            SpApiError::Rejected {
                status: status.as_u16(),
                detail,
            }
        }
    }
}

/// Whether a 403's errors say the LWA client secret expired ("The LWA secret token
/// you provided has expired"), which is no region mismatch.
fn says_secret_expired(detail: &str) -> bool {
    let detail = detail.to_ascii_lowercase();
    detail.contains("secret") && detail.contains("expired")
}

/// SP-API's `{"errors":[{"code","message","details"}]}`, as one line safe to print.
/// The details matter: Amazon says there that the client secret expired.
pub(crate) fn describe_errors(body: &[u8], token: &str) -> String {
    api_errors(body)
        .iter()
        .map(|e| http::sanitize(&describe_error(e), &[token]))
        .collect::<Vec<_>>()
        .join("; ")
}

/// One error as `CODE: message (details)`; the caller sanitizes it.
pub fn describe_error(error: &ApiError) -> String {
    let details = match &error.details {
        Some(serde_json::Value::String(text)) if !text.is_empty() => format!(" ({text})"),
        None | Some(serde_json::Value::Null) | Some(serde_json::Value::String(_)) => String::new(),
        Some(other) => format!(" ({other})"),
    };
    format!("{}: {}{details}", error.code, error.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_profiles_call_the_sandbox_endpoint() {
        let network = Network::default();
        let sandbox = SpApiClient::new(Region::Fe, true, &network).unwrap();
        assert_eq!(
            sandbox
                .url("/tokens/2021-03-01/restrictedDataToken")
                .as_str(),
            "https://sandbox.sellingpartnerapi-fe.amazon.com/tokens/2021-03-01/restrictedDataToken"
        );
        let production = SpApiClient::new(Region::Eu, false, &network).unwrap();
        let stand_in = Network {
            spapi_url: Some(Url::parse("http://127.0.0.1:9/").unwrap()),
            ..Network::default()
        };
        let both = SpApiClient::new(Region::Eu, true, &stand_in).unwrap();
        assert_eq!(both.url("/x").as_str(), "http://127.0.0.1:9/x");
        assert_eq!(
            production.url("/x").as_str(),
            "https://sellingpartnerapi-eu.amazon.com/x"
        );
    }

    #[test]
    fn the_details_of_amazons_errors_are_kept() {
        let body = br#"{"errors":[{"code":"Unauthorized","message":"Access to requested resource is denied.","details":"The LWA secret token you provided has expired."}]}"#;
        let detail = describe_errors(body, "Atza|x");
        assert!(says_secret_expired(&detail), "{detail}");
    }

    #[test]
    fn a_403_about_an_expired_secret_is_not_a_region_mismatch() {
        assert!(says_secret_expired(
            "Unauthorized (The LWA secret token you provided has expired.)"
        ));
        assert!(!says_secret_expired(
            "Unauthorized (Access to requested resource is denied.)"
        ));
    }
}
