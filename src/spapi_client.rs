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
        let http = http::client(&base, network.request_timeout).map_err(SpApiError::Config)?;
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

    /// A client for the Tokens API: the production endpoint even for sandbox
    /// profiles, since the sandbox issues no Restricted Data Tokens.
    pub fn for_restricted_data_tokens(
        region: Region,
        network: &Network,
    ) -> Result<Self, SpApiError> {
        Self::new(region, false, network)
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

/// SP-API's `{"errors":[{"code","message"}]}`, as one line safe to print.
pub(crate) fn describe_errors(body: &[u8], token: &str) -> String {
    api_errors(body)
        .iter()
        .map(|e| http::sanitize(&format!("{} ({})", e.code, e.message), &[token]))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The data elements the Tokens API accepts, for the Orders operations only.
pub const DATA_ELEMENTS: [&str; 3] = ["buyerInfo", "shippingAddress", "buyerTaxInformation"];

/// getOrders, getOrder and getOrderItems: the only operations `dataElements` apply to
/// (Tokens API 2021-03-01 model, `RestrictedResource.dataElements`).
fn takes_data_elements(method: &str, path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/orders/v0/orders") else {
        return false;
    };
    let segments: Vec<&str> = rest.split('/').skip(1).collect();
    method == "GET"
        && match segments.as_slice() {
            [] => rest.is_empty(),
            [order] => !order.is_empty(),
            [order, "orderItems"] => !order.is_empty(),
            _ => false,
        }
}

/// Parses `'GET /orders/v0/orders'` into a resource. The Tokens API takes the
/// methods GET, PUT, POST and DELETE, and `data_elements` for the three Orders
/// operations only: anything else is an error, never silently dropped.
pub fn parse_resource(text: &str, data_elements: &[String]) -> Result<RestrictedResource, String> {
    let (method, path) = text
        .trim()
        .split_once(char::is_whitespace)
        .ok_or_else(|| format!("'{}' is not 'METHOD /path'", text.escape_debug()))?;
    let method = method.to_ascii_uppercase();
    if !["GET", "PUT", "POST", "DELETE"].contains(&method.as_str()) {
        return Err(format!(
            "'{}' is not a method the Tokens API takes (GET, PUT, POST, DELETE)",
            method.escape_debug()
        ));
    }
    let path = path.trim();
    if !path.starts_with('/') || path.chars().any(char::is_whitespace) {
        return Err(format!(
            "'{}' is not an SP-API path like /orders/v0/orders",
            path.escape_debug()
        ));
    }
    if let Some(unknown) = data_elements
        .iter()
        .find(|e| !DATA_ELEMENTS.contains(&e.as_str()))
    {
        return Err(format!(
            "'{}' is not a data element: use {}",
            unknown.escape_debug(),
            DATA_ELEMENTS.join(", ")
        ));
    }
    if !data_elements.is_empty() && !takes_data_elements(&method, path) {
        return Err(format!(
            "--data-elements apply only to getOrders, getOrder and getOrderItems (GET /orders/v0/orders, /orders/v0/orders/ORDER_ID, /orders/v0/orders/ORDER_ID/orderItems), not to {method} {path}"
        ));
    }
    Ok(RestrictedResource {
        method,
        path: path.to_owned(),
        data_elements: (!data_elements.is_empty()).then(|| data_elements.to_vec()),
    })
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
        let rdt = SpApiClient::for_restricted_data_tokens(Region::Fe, &network).unwrap();
        assert_eq!(
            rdt.url("/x").as_str(),
            "https://sellingpartnerapi-fe.amazon.com/x",
            "the sandbox issues no RDTs"
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
    fn resources_are_parsed_and_data_elements_go_to_the_three_orders_operations_only() {
        let elements = vec!["buyerInfo".to_owned(), "buyerTaxInformation".to_owned()];
        for path in [
            "/orders/v0/orders",
            "/orders/v0/orders/123-4",
            "/orders/v0/orders/123-4/orderItems",
        ] {
            let orders = parse_resource(&format!("get {path}"), &elements).unwrap();
            assert_eq!(orders.method, "GET");
            assert_eq!(orders.data_elements, Some(elements.clone()), "{path}");
        }
        for refused in [
            "GET /mfn/v0/shipments/{shipmentId}",
            "GET /orders/v0/orders/123-4/address",
            "GET /orders/v0/orders/123-4/buyerInfo",
            "POST /orders/v0/orders",
            "GET /orders/v0/ordersX",
        ] {
            assert!(parse_resource(refused, &elements).is_err(), "{refused}");
            assert!(parse_resource(refused, &[]).is_ok(), "{refused}");
        }
        let bad = vec!["phoneNumber".to_owned()];
        assert!(parse_resource("GET /orders/v0/orders", &bad).is_err());
        assert!(parse_resource("PATCH /orders/v0/orders/1", &[]).is_err());
        assert!(parse_resource("/orders/v0/orders", &[]).is_err());
        assert!(parse_resource("FETCH /orders", &[]).is_err());
        assert!(parse_resource("GET orders", &[]).is_err());
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
