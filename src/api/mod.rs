//! One SP-API call as a profile (`vault api`, `vault check --online`): the request,
//! its retries when Amazon throttles or fails, and the answer as it came.

pub mod jq;
pub mod operations;
pub mod pacing;
pub mod pagination;
pub mod participation;
pub mod restricted;

use std::cell::RefCell;
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};

use crate::http::{self, Attempt, Failure, RetryPolicy};
use crate::secret::Secret;
use crate::settings::Network;
use crate::spapi_client::{SpApiClient, SpApiError};

use operations::{Operation, UsagePlan};
use pacing::Bucket;

/// The largest answer held in memory (report and order pages are far smaller).
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// The most tries of one call when Amazon throttles or fails.
const MAX_TRIES: u32 = 5;
/// How long one call may take, retries included, unless `SPVAULT_NETWORK_TIMEOUT`
/// says otherwise.
const DEFAULT_DEADLINE: Duration = Duration::from_secs(60);

/// One SP-API request.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub method: Method,
    /// The path, without its query string.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

impl ApiRequest {
    /// A request for `path_and_query` (which may carry a query string) with more
    /// query parameters; the method must be one SP-API uses.
    pub fn new(
        method: &str,
        path_and_query: &str,
        parameters: Vec<(String, String)>,
        body: Option<Vec<u8>>,
    ) -> Result<Self, String> {
        let method = method.to_ascii_uppercase();
        let method = match method.as_str() {
            "GET" => Method::GET,
            "POST" => Method::POST,
            "PUT" => Method::PUT,
            "PATCH" => Method::PATCH,
            "DELETE" => Method::DELETE,
            _ => {
                return Err(format!(
                    "'{}' is not a method SP-API takes: use GET, POST, PUT, PATCH or DELETE",
                    method.escape_debug()
                ));
            }
        };
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        if !path.starts_with('/') || path.chars().any(|c| c.is_whitespace() || c == '#') {
            return Err(format!(
                "'{}' is not an SP-API path: give it like /sellers/v1/marketplaceParticipations",
                path.escape_debug()
            ));
        }
        let mut all: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        all.extend(parameters);
        Ok(ApiRequest {
            method,
            path: path.to_owned(),
            query: all,
            body,
        })
    }

    /// Whether repeating the request after a failure could do its work twice:
    /// only a refusal (429) proves that a POST or PATCH was not carried out.
    fn repeatable(&self) -> bool {
        !matches!(self.method, Method::POST | Method::PATCH)
    }

    /// The request for the page after this one.
    pub fn next(&self, page: &pagination::NextRequest) -> ApiRequest {
        let mut query = if page.keep_other_parameters {
            self.query
                .iter()
                .filter(|(name, _)| name != page.parameter)
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        query.push((page.parameter.to_owned(), page.token.clone()));
        ApiRequest {
            query,
            ..self.clone()
        }
    }
}

/// An answer from SP-API, read in full.
#[derive(Debug)]
pub struct ApiResponse {
    pub version: reqwest::Version,
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// A call that ended without a success: why, and Amazon's last answer if there was
/// one (to show the caller what Amazon said).
#[derive(Debug)]
pub struct ApiFailure {
    pub error: SpApiError,
    pub response: Option<ApiResponse>,
}

/// How `vault api` retries: at most 5 tries within 60 s, or within
/// `SPVAULT_NETWORK_TIMEOUT` when that is set.
pub fn retry_policy(network: &Network) -> RetryPolicy {
    RetryPolicy {
        attempts: MAX_TRIES,
        ..RetryPolicy::within(Some(network.deadline.unwrap_or(DEFAULT_DEADLINE)))
    }
}

/// How `vault api` meets an operation's usage plan: requests wait for a token of
/// the operation's bucket, at most `max_wait` in all for one request.
pub struct Pacing {
    bucket: Option<Bucket>,
    max_wait: Duration,
    /// Hears of every wait longer than a second, before it starts.
    report: fn(&Wait),
}

/// A wait for the usage plan, for whoever reports it.
pub struct Wait<'a> {
    pub operation: &'a str,
    pub wait: Duration,
    pub plan: UsagePlan,
    /// Amazon answered 429 just before.
    pub throttled: bool,
}

impl Pacing {
    /// Pacing for `operation`: its usage plan's bucket, full; none for an operation
    /// without one, whose 429s are retried after `Retry-After` or a backoff.
    pub fn new(operation: Option<&Operation>, max_wait: Duration, report: fn(&Wait)) -> Self {
        Pacing {
            bucket: operation
                .and_then(|op| op.usage_plan)
                .map(|plan| Bucket::full(plan, Instant::now())),
            max_wait,
            report,
        }
    }
}

impl SpApiClient {
    /// Sends `request` as [`SpApiClient::call`] does, paced to the operation's usage
    /// plan: it waits for the bucket's next token, and after a 429 (Amazon's bucket is
    /// empty) for the one after, until `pacing.max_wait` has passed.
    pub async fn call_paced(
        &self,
        token: &Secret,
        request: &ApiRequest,
        policy: &RetryPolicy,
        pacing: &mut Pacing,
        operation: &str,
    ) -> Result<ApiResponse, ApiFailure> {
        let Some(bucket) = pacing.bucket.as_mut() else {
            return self.send(token, request, policy, true).await;
        };
        let mut waited = Duration::ZERO;
        let mut throttled = None;
        loop {
            let left = pacing.max_wait.saturating_sub(waited);
            let Ok(wait) = bucket.reserve(Instant::now(), left) else {
                let plan = bucket.plan();
                return Err(ApiFailure {
                    error: SpApiError::Throttled {
                        detail: format!(
                            "{operation} after waiting {} of --max-wait {} (its usage plan: {} requests/s, burst {})",
                            crate::duration::short_std(waited),
                            crate::duration::short_std(pacing.max_wait),
                            plan.rate,
                            plan.burst
                        ),
                    },
                    response: throttled,
                });
            };
            if wait >= Duration::from_secs(1) {
                (pacing.report)(&Wait {
                    operation,
                    wait,
                    plan: bucket.plan(),
                    throttled: throttled.is_some(),
                });
            }
            tokio::time::sleep(wait).await;
            waited += wait;
            match self.send(token, request, policy, false).await {
                Err(ApiFailure {
                    response: Some(refused),
                    ..
                }) if refused.status == StatusCode::TOO_MANY_REQUESTS => {
                    bucket.drain(Instant::now());
                    throttled = Some(refused);
                }
                answer => return answer,
            }
        }
    }

    /// Sends `request` with `token` in `x-amz-access-token`. A 429 is retried after
    /// `Retry-After`, or after a backoff; a 5xx or a transport error only when the
    /// request is repeatable; all within `policy`.
    pub async fn call(
        &self,
        token: &Secret,
        request: &ApiRequest,
        policy: &RetryPolicy,
    ) -> Result<ApiResponse, ApiFailure> {
        self.send(token, request, policy, true).await
    }

    /// [`SpApiClient::call`], with 429s retried only when `retry_throttled`.
    async fn send(
        &self,
        token: &Secret,
        request: &ApiRequest,
        policy: &RetryPolicy,
        retry_throttled: bool,
    ) -> Result<ApiResponse, ApiFailure> {
        let mut url = self.url(&request.path);
        if !request.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&request.query);
        }
        let last_refused = RefCell::new(None);
        let outcome = http::with_retries(policy, &url, || {
            let (url, last_refused) = (url.clone(), &last_refused);
            async move {
                let attempt = self.try_call(url, token, request).await;
                if let Attempt::Transient { .. } = &attempt {
                    *last_refused.borrow_mut() = None;
                }
                match attempt {
                    Attempt::Done(Ok(response)) => Attempt::Done(response),
                    Attempt::Done(Err(refused)) => {
                        let detail = format!(
                            "HTTP {}{}",
                            refused.status.as_u16(),
                            crate::error::detail(&crate::spapi_client::describe_errors(
                                &refused.body,
                                token.expose()
                            ))
                        );
                        let retry_after = throttle_wait(&refused);
                        let is_server_error = refused.status.is_server_error();
                        let transient = retry_throttled
                            && refused.status == StatusCode::TOO_MANY_REQUESTS
                            || request.repeatable() && is_server_error;
                        *last_refused.borrow_mut() = Some(refused);
                        match (transient, is_server_error) {
                            (true, _) => Attempt::Transient {
                                detail,
                                retry_after,
                            },
                            (false, true) => Attempt::Fatal(not_repeated(&detail, request)),
                            (false, false) => Attempt::Fatal(detail),
                        }
                    }
                    Attempt::Transient {
                        detail,
                        retry_after,
                    } if request.repeatable() => Attempt::Transient {
                        detail,
                        retry_after,
                    },
                    Attempt::Transient { detail, .. } => {
                        Attempt::Fatal(not_repeated(&detail, request))
                    }
                    Attempt::Fatal(detail) => Attempt::Fatal(detail),
                }
            }
        })
        .await;
        let response = last_refused.into_inner();
        match outcome {
            Ok(response) => Ok(response),
            Err(Failure::Exhausted { attempts, detail }) => Err(ApiFailure {
                error: match &response {
                    Some(refused) if refused.status == StatusCode::TOO_MANY_REQUESTS => {
                        SpApiError::Throttled {
                            detail: format!(
                                "after {} ({detail})",
                                crate::error::count(attempts as usize, "attempt")
                            ),
                        }
                    }
                    _ => SpApiError::Unavailable {
                        attempts,
                        detail: format!("{}: {detail}", url.origin().ascii_serialization()),
                    },
                },
                response,
            }),
            Err(Failure::Fatal(detail)) => Err(ApiFailure {
                error: match &response {
                    Some(refused) if refused.status.is_client_error() => self.rejection(
                        refused.status,
                        crate::spapi_client::describe_errors(&refused.body, token.expose()),
                    ),
                    _ => SpApiError::Unavailable {
                        attempts: 1,
                        detail,
                    },
                },
                response,
            }),
        }
    }

    /// One try: a 2xx answer, a non-2xx answer, or a transport failure.
    async fn try_call(
        &self,
        url: url::Url,
        token: &Secret,
        request: &ApiRequest,
    ) -> Attempt<Result<ApiResponse, ApiResponse>, String> {
        let mut builder = self
            .http
            .request(request.method.clone(), url)
            .header("x-amz-access-token", token.expose())
            .header("accept", "application/json");
        if let Some(body) = &request.body {
            builder = builder
                .header("content-type", "application/json")
                .body(body.clone());
        }
        let response = match builder.send().await {
            Ok(response) => response,
            Err(e) => {
                return Attempt::Transient {
                    detail: http::describe_transport(&e),
                    retry_after: None,
                };
            }
        };
        let (version, status, headers) = (
            response.version(),
            response.status(),
            response.headers().clone(),
        );
        let body = match http::read_bounded(response, MAX_RESPONSE_BYTES).await {
            Ok(body) => body,
            Err(detail) => {
                return Attempt::Transient {
                    detail,
                    retry_after: None,
                };
            }
        };
        let response = ApiResponse {
            version,
            status,
            headers,
            body,
        };
        Attempt::Done(if status.is_success() {
            Ok(response)
        } else {
            Err(response)
        })
    }
}

/// Why a failed POST or PATCH ends here.
fn not_repeated(detail: &str, request: &ApiRequest) -> String {
    format!(
        "{detail}; a {} is not repeated, as it may have been carried out: check before sending it again",
        request.method
    )
}

/// How long to wait after a refusal: `Retry-After` when Amazon sends it, else the
/// policy's backoff. (Amazon sends no `x-amzn-RateLimit-Limit` with a 429; the
/// usage plan's bucket, in [`SpApiClient::call_paced`], is what paces a known one.)
fn throttle_wait(refused: &ApiResponse) -> Option<Duration> {
    refused
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// The body with every token spvault sent replaced by `[redacted]`, whole or any
/// piece of it of 8 characters or more (a prefix a server cut it to): a server that
/// echoes one must not make spvault print it. An echo written in JSON escapes
/// (`\u0041tza…`) shows only once decoded: then the decoded answer is cleaned and
/// printed instead (compact).
pub fn without_secrets(body: &[u8], secrets: &[&str]) -> Vec<u8> {
    let clean = redact(body, secrets);
    if clean.contains(&b'\\')
        && let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&clean)
        && redact_strings(&mut value, secrets)
    {
        return serde_json::to_vec(&value).expect("JSON values serialize");
    }
    clean
}

/// `text` with the secrets cut out, whole and in pieces.
fn redact(text: &[u8], secrets: &[&str]) -> Vec<u8> {
    let mut clean = text.to_vec();
    for secret in secrets
        .iter()
        .map(|s| s.as_bytes())
        .filter(|s| !s.is_empty())
    {
        let mut out = Vec::with_capacity(clean.len());
        let mut rest = clean.as_slice();
        while let Some(at) = rest.windows(secret.len()).position(|w| w == secret) {
            out.extend_from_slice(&rest[..at]);
            out.extend_from_slice(b"[redacted]");
            rest = &rest[at + secret.len()..];
        }
        out.extend_from_slice(rest);
        clean = crate::http::redact_fragments(&out, secret);
    }
    clean
}

/// Cuts the secrets out of every string (and key) in `value`; whether it found any.
fn redact_strings(value: &mut serde_json::Value, secrets: &[&str]) -> bool {
    let clean = |text: &mut String| {
        let redacted = redact(text.as_bytes(), secrets);
        let changed = redacted != text.as_bytes();
        if changed {
            *text = String::from_utf8_lossy(&redacted).into_owned();
        }
        changed
    };
    match value {
        serde_json::Value::String(text) => clean(text),
        serde_json::Value::Array(items) => items
            .iter_mut()
            .fold(false, |found, item| redact_strings(item, secrets) | found),
        serde_json::Value::Object(map) => {
            let mut found = false;
            for (mut key, mut item) in std::mem::take(map) {
                found |= clean(&mut key) | redact_strings(&mut item, secrets);
                map.insert(key, item);
            }
            found
        }
        _ => false,
    }
}

/// JSON text without the white space between its tokens: one page per line.
pub fn compact_json(text: &[u8]) -> Result<String, serde_json::Error> {
    serde_json::from_slice::<serde::de::IgnoredAny>(text)?;
    let text = String::from_utf8_lossy(text);
    let mut compact = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            compact.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if !c.is_whitespace() {
            in_string = c == '"';
            compact.push(c);
        }
    }
    Ok(compact)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoed_tokens_are_cut_out_of_the_body() {
        assert_eq!(
            without_secrets(
                br#"{"a":"Atza|x1","b":"Atza|x1 Atz.r"}"#,
                &["Atza|x1", "Atz.r"]
            ),
            br#"{"a":"[redacted]","b":"[redacted] [redacted]"}"#
        );
        assert_eq!(without_secrets(b"plain", &["", "zz"]), b"plain");
        assert_eq!(
            without_secrets(
                br#"{"a":"Atza|x12345","b":"\u0041tza|x1234567!"}"#,
                &["Atza|x1234567"]
            ),
            br#"{"a":"[redacted]","b":"\u0041[redacted]!"}"#
        );
        let escaped = br#"{"x":"\u0041\u0074\u007a\u0061\u007c\u0078\u0031\u0032"}"#;
        assert_eq!(
            without_secrets(escaped, &["Atza|x12"]),
            br#"{"x":"[redacted]"}"#
        );
    }

    #[test]
    fn compact_json_keeps_strings_and_key_order() {
        let text = br#" { "b" : [1, 2 ],
            "a": "x  \" y\\", "c": {} } "#;
        assert_eq!(
            compact_json(text).unwrap(),
            r#"{"b":[1,2],"a":"x  \" y\\","c":{}}"#
        );
        assert!(compact_json(b"{\"a\":").is_err());
    }

    #[test]
    fn requests_merge_the_path_query_with_more_parameters() {
        let request = ApiRequest::new(
            "get",
            "/orders/v0/orders?MarketplaceIds=A1PA6795UKMFR9",
            vec![("CreatedAfter".into(), "2026-01-01T00:00:00Z".into())],
            None,
        )
        .unwrap();
        assert_eq!(request.method, Method::GET);
        assert_eq!(request.path, "/orders/v0/orders");
        assert_eq!(request.query.len(), 2);
        let next = request.next(&pagination::NextRequest {
            parameter: "NextToken",
            token: "t2".into(),
            keep_other_parameters: true,
        });
        assert_eq!(next.query.len(), 3);
        let alone = request.next(&pagination::NextRequest {
            parameter: "nextToken",
            token: "t2".into(),
            keep_other_parameters: false,
        });
        assert_eq!(alone.query, [("nextToken".to_owned(), "t2".to_owned())]);
        assert!(ApiRequest::new("FETCH", "/x", vec![], None).is_err());
        assert!(ApiRequest::new("GET", "sellers/v1", vec![], None).is_err());
        assert!(ApiRequest::new("GET", "/a b", vec![], None).is_err());
    }
}
