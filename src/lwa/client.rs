//! The LWA token endpoint: refresh-token, authorization-code and client-credentials
//! grants, with timeouts, bounded retries of transient failures (exponential backoff
//! with jitter, honouring `Retry-After`), bounded response sizes, and no redirects.

use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use serde::Deserialize;
use url::Url;

use crate::error::ExitCode;
use crate::http::{self, Attempt, Failure, RetryPolicy};
use crate::secret::Secret;
use crate::settings::Network;

pub const DEFAULT_TOKEN_URL: &str = "https://api.amazon.com/auth/o2/token";

/// Responses larger than this are not read: a token response is a few kilobytes.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// LWA documents tokens of up to 2048 bytes; leave room, refuse absurd ones.
const MAX_TOKEN_BYTES: usize = 8 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum LwaError {
    /// Amazon answered with an OAuth error that retrying cannot fix.
    #[error("Amazon rejected the request: {code}{}", crate::error::detail(.description))]
    Rejected { code: String, description: String },

    /// Amazon could not be reached or kept failing.
    #[error(
        "the token endpoint {url} is unreachable or failing after {}: {detail}", crate::error::count(*.attempts as usize, "attempt")
    )]
    Unavailable {
        url: String,
        attempts: u32,
        detail: String,
    },

    /// Amazon answered, but not with a token response.
    #[error("Amazon's token endpoint sent an unexpected answer: {0}")]
    BadResponse(String),

    #[error("{0}")]
    Config(String),
}

impl crate::error::Coded for LwaError {
    fn exit_code(&self) -> ExitCode {
        match self {
            LwaError::Rejected { .. } => ExitCode::Rejected,
            LwaError::Unavailable { .. } | LwaError::BadResponse(_) => ExitCode::Unreachable,
            LwaError::Config(_) => ExitCode::Usage,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            LwaError::Unavailable { .. } => Some("try again later".into()),
            LwaError::BadResponse(_) => {
                Some("try again later, or check SPVAULT_LWA_TOKEN_URL".into())
            }
            LwaError::Rejected { .. } | LwaError::Config(_) => None,
        }
    }
}

pub struct ClientCredentials<'a> {
    pub client_id: &'a str,
    pub client_secret: &'a Secret,
}

pub enum Grant<'a> {
    RefreshToken(&'a Secret),
    AuthorizationCode {
        code: &'a Secret,
        redirect_uri: Option<&'a str>,
    },
    ClientCredentials {
        scope: &'a str,
    },
}

/// What a successful token request gives: the access token, its absolute expiry, and
/// a refresh token when Amazon sent one.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    pub access_token: Secret,
    pub expires_at: Timestamp,
    pub refresh_token: Option<Secret>,
}

#[derive(Clone)]
pub struct LwaClient {
    http: reqwest::Client,
    token_url: Url,
    retry: RetryPolicy,
}

#[derive(Deserialize)]
struct SuccessBody {
    access_token: String,
    expires_in: i64,
    #[serde(default)]
    refresh_token: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl LwaClient {
    /// A client for the token endpoint the settings name (`SPVAULT_LWA_TOKEN_URL`),
    /// else Amazon's.
    pub fn new(network: &Network) -> Result<Self, LwaError> {
        let token_url = network
            .lwa_token_url
            .clone()
            .unwrap_or_else(|| Url::parse(DEFAULT_TOKEN_URL).expect("constant URL is valid"));
        let http = http::client(&token_url, network.request_timeout).map_err(LwaError::Config)?;
        Ok(LwaClient {
            http,
            token_url,
            retry: RetryPolicy::within(network.deadline),
        })
    }

    /// Asks the token endpoint for a token, retrying transient failures.
    pub async fn request(
        &self,
        credentials: &ClientCredentials<'_>,
        grant: &Grant<'_>,
    ) -> Result<TokenGrant, LwaError> {
        http::with_retries(&self.retry, &self.token_url, || {
            self.attempt(credentials, grant)
        })
        .await
        .map_err(|failure| match failure {
            Failure::Fatal(error) => error,
            Failure::Exhausted { attempts, detail } => LwaError::Unavailable {
                url: self.token_url.to_string(),
                attempts,
                detail,
            },
        })
    }

    async fn attempt(
        &self,
        credentials: &ClientCredentials<'_>,
        grant: &Grant<'_>,
    ) -> Attempt<TokenGrant, LwaError> {
        let mut form: Vec<(&str, &str)> = vec![
            ("client_id", credentials.client_id),
            ("client_secret", credentials.client_secret.expose()),
        ];
        let mut sent_secrets = vec![credentials.client_secret.expose()];
        match grant {
            Grant::RefreshToken(token) => {
                form.push(("grant_type", "refresh_token"));
                form.push(("refresh_token", token.expose()));
                sent_secrets.push(token.expose());
            }
            Grant::AuthorizationCode { code, redirect_uri } => {
                form.push(("grant_type", "authorization_code"));
                form.push(("code", code.expose()));
                sent_secrets.push(code.expose());
                if let Some(uri) = redirect_uri {
                    form.push(("redirect_uri", uri));
                }
            }
            Grant::ClientCredentials { scope } => {
                form.push(("grant_type", "client_credentials"));
                form.push(("scope", scope));
            }
        }
        let body = zeroize::Zeroizing::new(
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&form)
                .finish(),
        );
        let started = Timestamp::now();
        let request = self
            .http
            .post(self.token_url.clone())
            .header(
                "content-type",
                "application/x-www-form-urlencoded;charset=UTF-8",
            )
            .header("accept", "application/json")
            .body(body.to_string());
        match http::send(request, MAX_BODY_BYTES, LwaError::BadResponse).await {
            Ok(answer) => classify(&answer, started, &sent_secrets),
            Err(attempt) => attempt,
        }
    }
}

fn classify(
    answer: &http::Answer,
    started: Timestamp,
    sent_secrets: &[&str],
) -> Attempt<TokenGrant, LwaError> {
    let (status, body, retry_after) = (answer.status, answer.body.as_slice(), answer.retry_after);
    if status == StatusCode::OK {
        return match parse_success(body, started) {
            Ok(grant) => Attempt::Done(grant),
            Err(detail) => Attempt::Fatal(LwaError::BadResponse(detail)),
        };
    }
    let oauth_error = serde_json::from_slice::<ErrorBody>(body).ok();
    let code = oauth_error.as_ref().map(|e| e.error.as_str());
    let transient = http::is_transient(status)
        || matches!(code, Some("server_error" | "temporarily_unavailable"));
    if transient {
        return Attempt::Transient {
            detail: format!(
                "HTTP {}{}",
                status.as_u16(),
                code.map(|c| format!(" {c}")).unwrap_or_default()
            ),
            retry_after,
        };
    }
    match oauth_error {
        Some(error) => Attempt::Fatal(LwaError::Rejected {
            code: http::sanitize(&error.error, sent_secrets),
            description: http::sanitize(
                error.error_description.as_deref().unwrap_or(""),
                sent_secrets,
            ),
        }),
        None if status.is_redirection() => Attempt::Fatal(LwaError::BadResponse(format!(
            "HTTP {} redirect, which a token endpoint never sends",
            status.as_u16()
        ))),
        None => Attempt::Fatal(LwaError::BadResponse(format!(
            "HTTP {} without an OAuth error body",
            status.as_u16()
        ))),
    }
}

fn parse_success(body: &[u8], started: Timestamp) -> Result<TokenGrant, String> {
    let parsed: SuccessBody = serde_json::from_slice(body)
        .map_err(|_| "HTTP 200 whose body is not a JSON token response".to_owned())?;
    let access_token = Secret::new(parsed.access_token);
    let refresh_token = parsed.refresh_token.map(Secret::new);
    for (field, value) in [
        ("access_token", Some(&access_token)),
        ("refresh_token", refresh_token.as_ref()),
    ] {
        if let Some(value) = value {
            check_token(field, value)?;
        }
    }
    if !(1..=366 * 24 * 3600).contains(&parsed.expires_in) {
        return Err(format!(
            "expires_in of {} seconds is out of range",
            parsed.expires_in
        ));
    }
    // Count from when the request was sent, so the stored expiry is never late.
    Ok(TokenGrant {
        access_token,
        expires_at: started + SignedDuration::from_secs(parsed.expires_in),
        refresh_token,
    })
}

fn check_token(field: &str, value: &Secret) -> Result<(), String> {
    let token = value.expose();
    if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
        return Err(format!(
            "{field} is empty or longer than {MAX_TOKEN_BYTES} bytes"
        ));
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!("{field} holds characters a token never has"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_bodies_are_checked() {
        let now = Timestamp::now();
        let ok = br#"{"access_token":"Atza|x","token_type":"bearer","expires_in":3600}"#;
        let grant = parse_success(ok, now).unwrap();
        assert_eq!(grant.expires_at, now + SignedDuration::from_secs(3600));
        for bad in [
            &b"<html>hi</html>"[..],
            br#"{"access_token":"","expires_in":3600}"#,
            br#"{"access_token":"Atza|x","expires_in":-5}"#,
            br#"{"access_token":"Atza|x y","expires_in":3600}"#,
        ] {
            assert!(parse_success(bad, now).is_err());
        }
    }
}
