//! The LWA token endpoint: refresh-token, authorization-code and client-credentials
//! grants, with timeouts, bounded retries of transient failures (exponential backoff
//! with jitter, honouring `Retry-After`), bounded response sizes, and no redirects.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use rand::Rng;
use reqwest::StatusCode;
use serde::Deserialize;
use url::Url;

use crate::error::ExitCode;
use crate::secret::Secret;

pub const DEFAULT_TOKEN_URL: &str = "https://api.amazon.com/auth/o2/token";
pub const TOKEN_URL_VAR: &str = "SPVAULT_LWA_TOKEN_URL";
pub const TIMEOUT_VAR: &str = "SPVAULT_HTTP_TIMEOUT";

/// Responses larger than this are not read: a token response is a few kilobytes.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// LWA documents tokens of up to 2048 bytes; leave room, refuse absurd ones.
const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// The longest `Retry-After` waited for; a longer one ends the attempts.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum LwaError {
    /// Amazon answered with an OAuth error that retrying cannot fix.
    #[error("Amazon rejected the request: {code}{}", describe(.description))]
    Rejected { code: String, description: String },

    /// Amazon could not be reached or kept failing.
    #[error(
        "Amazon's token endpoint is unreachable or failing after {attempts} attempt(s): {detail}; try again later"
    )]
    Unavailable { attempts: u32, detail: String },

    /// Amazon answered, but not with a token response.
    #[error(
        "Amazon's token endpoint sent an unexpected answer: {0}; try again later, or check SPVAULT_LWA_TOKEN_URL"
    )]
    BadResponse(String),

    #[error("{0}")]
    Config(String),
}

fn describe(description: &str) -> String {
    if description.is_empty() {
        String::new()
    } else {
        format!(" ({description})")
    }
}

impl LwaError {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            LwaError::Rejected { .. } => ExitCode::Rejected,
            LwaError::Unavailable { .. } | LwaError::BadResponse(_) => ExitCode::Unreachable,
            LwaError::Config(_) => ExitCode::Usage,
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

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
        }
    }
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

/// One attempt's outcome, before the retry decision.
enum Attempt {
    Done(TokenGrant),
    Fatal(LwaError),
    Transient {
        detail: String,
        retry_after: Option<Duration>,
    },
}

impl LwaClient {
    /// A client for the endpoint in `SPVAULT_LWA_TOKEN_URL`, or Amazon's.
    pub fn from_env() -> Result<Self, LwaError> {
        let token_url = match std::env::var(TOKEN_URL_VAR) {
            Ok(value) if !value.is_empty() => crate::net::parse_secure_url(TOKEN_URL_VAR, &value)
                .map_err(|e| LwaError::Config(e.to_string()))?,
            _ => Url::parse(DEFAULT_TOKEN_URL).expect("constant URL is valid"),
        };
        let timeout = match std::env::var(TIMEOUT_VAR) {
            Ok(value) => crate::duration::parse(&value)
                .map_err(|e| LwaError::Config(format!("{TIMEOUT_VAR}: {e}")))?,
            Err(_) => Duration::from_secs(30),
        };
        Self::new(token_url, timeout, RetryPolicy::default())
    }

    pub fn new(token_url: Url, timeout: Duration, retry: RetryPolicy) -> Result<Self, LwaError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("spvault/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .https_only(token_url.scheme() == "https")
            .build()
            .map_err(|e| LwaError::Config(format!("cannot set up HTTPS: {e}")))?;
        Ok(LwaClient {
            http,
            token_url,
            retry,
        })
    }

    /// Asks the token endpoint for a token, retrying transient failures.
    pub async fn request(
        &self,
        credentials: &ClientCredentials<'_>,
        grant: &Grant<'_>,
    ) -> Result<TokenGrant, LwaError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (detail, retry_after) = match self.attempt(credentials, grant).await {
                Attempt::Done(grant) => return Ok(grant),
                Attempt::Fatal(error) => return Err(error),
                Attempt::Transient {
                    detail,
                    retry_after,
                } => (detail, retry_after),
            };
            let too_long = retry_after.is_some_and(|wait| wait > MAX_RETRY_AFTER);
            if attempt >= self.retry.attempts || too_long {
                return Err(LwaError::Unavailable {
                    attempts: attempt,
                    detail,
                });
            }
            tokio::time::sleep(retry_after.unwrap_or_else(|| self.backoff(attempt))).await;
        }
    }

    /// Full jitter: a random wait up to base x 2^(attempt-1), capped.
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .retry
            .base_delay
            .saturating_mul(1 << attempt.saturating_sub(1).min(16))
            .min(self.retry.max_delay);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::thread_rng().gen_range(millis / 2..=millis.max(1)))
    }

    async fn attempt(&self, credentials: &ClientCredentials<'_>, grant: &Grant<'_>) -> Attempt {
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
        let response = match self
            .http
            .post(self.token_url.clone())
            .header(
                "content-type",
                "application/x-www-form-urlencoded;charset=UTF-8",
            )
            .header("accept", "application/json")
            .body(body.to_string())
            .send()
            .await
        {
            Ok(response) => response,
            Err(e) => {
                return Attempt::Transient {
                    detail: describe_transport(&e),
                    retry_after: None,
                };
            }
        };
        let status = response.status();
        let retry_after = retry_after(&response);
        let body = match read_bounded(response).await {
            Ok(body) => body,
            Err(detail) if status.is_server_error() => {
                return Attempt::Transient {
                    detail,
                    retry_after,
                };
            }
            Err(detail) => return Attempt::Fatal(LwaError::BadResponse(detail)),
        };
        classify(status, &body, retry_after, started, &sent_secrets)
    }
}

fn classify(
    status: StatusCode,
    body: &[u8],
    retry_after: Option<Duration>,
    started: Timestamp,
    sent_secrets: &[&str],
) -> Attempt {
    if status == StatusCode::OK {
        return match parse_success(body, started) {
            Ok(grant) => Attempt::Done(grant),
            Err(detail) => Attempt::Fatal(LwaError::BadResponse(detail)),
        };
    }
    let oauth_error = serde_json::from_slice::<ErrorBody>(body).ok();
    let code = oauth_error.as_ref().map(|e| e.error.as_str());
    let transient = status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
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
            code: sanitize(&error.error, sent_secrets),
            description: sanitize(
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

/// What the server said, made safe to print: printable ASCII, short, and without
/// any secret we sent (a hostile or broken server might echo them back).
fn sanitize(text: &str, sent_secrets: &[&str]) -> String {
    let mut clean: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(200)
        .collect();
    for secret in sent_secrets.iter().filter(|s| s.len() >= 4) {
        clean = clean.replace(secret, "[redacted]");
    }
    // A secret cut by the length limit could still leave a long prefix behind.
    for secret in sent_secrets.iter().filter(|s| s.len() >= 8) {
        for cut in (8..secret.len()).rev() {
            if clean.ends_with(&secret[..cut]) {
                let keep = clean.len() - cut;
                clean.truncate(keep);
                clean.push_str("[redacted]");
                break;
            }
        }
    }
    clean
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

async fn read_bounded(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(format!(
                        "response larger than {} KiB",
                        MAX_BODY_BYTES / 1024
                    ));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(describe_transport(&e)),
        }
    }
}

/// reqwest's messages can include the URL; ours is not secret, but keep them short.
fn describe_transport(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "the request timed out".into()
    } else if error.is_connect() {
        "cannot connect".into()
    } else {
        let mut message = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(inner) = source {
            message = format!("{message}: {inner}");
            source = inner.source();
        }
        message.chars().take(300).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoed_secrets_are_redacted_even_when_cut() {
        let secret = "Atzr|abcdefghijklmnop";
        assert_eq!(
            sanitize("bad token Atzr|abcdefghijklmnop!", &[secret]),
            "bad token [redacted]!"
        );
        let long = format!("{}{}", "x".repeat(190), secret);
        let clean = sanitize(&long, &[secret]);
        assert!(!clean.contains("Atzr|abcd"), "{clean}");
        assert_eq!(sanitize("line\nbreak\u{1b}[31m", &[]), "line?break?[31m");
    }

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
