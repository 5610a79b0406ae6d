//! Amazon SQS, for the queue Amazon sends an app's secret notifications to:
//! ReceiveMessage and DeleteMessage in SQS's JSON protocol, signed by Amazon's SigV4
//! signer (`aws-sigv4`), with credentials and region from the AWS SDK's standard chain
//! (`aws-config`). The SDK's own SQS client would add minutes to a cold build (see
//! docs/performance.md) for two calls.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, error::CredentialsError};
use serde::Deserialize;
use url::Url;

use crate::error::ExitCode;
use crate::secret::Secret;

/// Where the standard chain looks for credentials, for the error that finds none.
const LOOKED_FOR: &str = "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, the profile AWS_PROFILE names (or `default`) in ~/.aws/credentials and ~/.aws/config, web identity (AWS_WEB_IDENTITY_TOKEN_FILE), container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI) and the instance metadata service";
/// Credentials this close to their expiry are fetched again.
const CREDENTIALS_MARGIN: Duration = Duration::from_secs(300);
/// The longest answer SQS sends: ten messages of at most 256 KiB each, and their
/// envelopes.
const MAX_ANSWER_BYTES: usize = 3 * 1024 * 1024;
const MAX_MESSAGES: u8 = 10;

#[derive(Debug, thiserror::Error)]
pub enum SqsError {
    #[error("no AWS credentials to read the notification queue with: looked for {LOOKED_FOR}")]
    NoCredentials,
    #[error("the AWS credentials could not be loaded: {0}")]
    Credentials(String),
    #[error(
        "no AWS region for queue {0}: its URL does not name one, and neither AWS_REGION nor the AWS profile does"
    )]
    NoRegion(String),
    #[error("SQS refused {action} on {queue}: {code}{}", crate::error::detail(.detail))]
    Rejected {
        action: &'static str,
        queue: String,
        code: String,
        detail: String,
    },
    #[error("SQS at {endpoint} is unreachable or failing: {detail}")]
    Unavailable { endpoint: String, detail: String },
    #[error("SQS sent an unexpected answer to {action}: {detail}")]
    BadResponse {
        action: &'static str,
        detail: String,
    },
}

impl crate::error::Coded for SqsError {
    fn exit_code(&self) -> ExitCode {
        match self {
            SqsError::NoCredentials | SqsError::Credentials(_) | SqsError::NoRegion(_) => {
                ExitCode::Usage
            }
            SqsError::Rejected { .. } => ExitCode::Rejected,
            SqsError::Unavailable { .. } | SqsError::BadResponse { .. } => ExitCode::Unreachable,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            SqsError::NoCredentials | SqsError::Credentials(_) => Some("give spvault an AWS identity allowed sqs:ReceiveMessage and sqs:DeleteMessage on the queue, e.g. with AWS_PROFILE (see README, \"Secret rotation\")".into()),
            SqsError::NoRegion(_) => Some("set AWS_REGION to the queue's region".into()),
            SqsError::Rejected { code, .. } if code.contains("NonExistentQueue") || code.contains("QueueDoesNotExist") => Some("check the queue URL in Developer Console › Notification preferences and set it with `vault app edit APP --notification-queue URL`".into()),
            SqsError::Rejected { code, .. } if code.contains("AccessDenied") => Some("allow the AWS identity sqs:ReceiveMessage and sqs:DeleteMessage on the queue".into()),
            SqsError::Rejected { .. } => None,
            SqsError::Unavailable { .. } | SqsError::BadResponse { .. } => Some("try again later".into()),
        }
    }
}

/// A queue URL as SQS gives it: `https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueUrl {
    url: Url,
    region: Option<String>,
}

impl QueueUrl {
    pub fn parse(text: &str) -> Result<QueueUrl, String> {
        let shape = || {
            format!(
                "'{}' is not an SQS queue URL like https://sqs.us-east-1.amazonaws.com/123456789012/NAME",
                crate::display::escape_controls(text)
            )
        };
        let url = Url::parse(text.trim()).map_err(|_| shape())?;
        let segments: Vec<&str> = url
            .path_segments()
            .map(Iterator::collect)
            .unwrap_or_default();
        let well_formed = matches!(segments.as_slice(), [account, name]
            if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty())
            && url.query().is_none()
            && url.fragment().is_none()
            && url.username().is_empty()
            && url.password().is_none();
        if !well_formed {
            return Err(shape());
        }
        if url.scheme() != "https" && !crate::net::is_loopback_http(&url) {
            return Err(format!(
                "'{}' must use https:// (plain http:// only on 127.0.0.1, [::1] or localhost)",
                crate::display::escape_controls(text)
            ));
        }
        let region = url.host_str().and_then(region_of_host);
        Ok(QueueUrl { url, region })
    }

    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }
}

impl std::fmt::Display for QueueUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.url.as_str())
    }
}

/// The region in an SQS host name: `sqs.REGION.amazonaws.com`, the legacy
/// `REGION.queue.amazonaws.com`, or `queue.amazonaws.com` (us-east-1).
fn region_of_host(host: &str) -> Option<String> {
    let labels: Vec<&str> = host.split('.').collect();
    match labels.as_slice() {
        ["sqs", region, "amazonaws", "com", ..] => Some((*region).to_owned()),
        [region, "queue", "amazonaws", "com", ..] => Some((*region).to_owned()),
        ["queue", "amazonaws", "com"] => Some("us-east-1".to_owned()),
        _ => None,
    }
}

/// One message as received.
pub struct Message {
    pub id: String,
    /// The notification; a new-secret notification carries the secret.
    pub body: Secret,
    receipt_handle: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Received {
    #[serde(default)]
    messages: Vec<ReceivedMessage>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ReceivedMessage {
    message_id: String,
    receipt_handle: String,
    body: Secret,
}

#[derive(Deserialize)]
struct Refusal {
    #[serde(rename = "__type", default)]
    kind: String,
    #[serde(default, alias = "Message")]
    message: String,
}

/// A client for the queues, with the standard chain's credentials.
pub struct Sqs {
    /// One request's timeout beyond the long poll's own wait (SPVAULT_HTTP_TIMEOUT).
    request_timeout: Duration,
    provider: aws_credential_types::provider::SharedCredentialsProvider,
    default_region: Option<String>,
    endpoint: Option<Url>,
    credentials: Mutex<Option<Credentials>>,
}

/// `AWS_ENDPOINT_URL_SQS`, else `AWS_ENDPOINT_URL` (or the profile's `endpoint_url`),
/// as the SDKs read them.
fn endpoint_override(config: &aws_types::SdkConfig) -> Result<Option<Url>, SqsError> {
    let configured = std::env::var("AWS_ENDPOINT_URL_SQS")
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(|| config.endpoint_url().map(str::to_owned));
    configured
        .map(|text| {
            Url::parse(&text).map_err(|_| {
                SqsError::Credentials(format!(
                    "the SQS endpoint override '{}' is not a URL",
                    crate::display::escape_controls(&text)
                ))
            })
        })
        .transpose()
}

impl Sqs {
    /// Loads the standard chain and makes sure it has credentials.
    pub async fn connect(request_timeout: Duration) -> Result<Sqs, SqsError> {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(http)
            .load()
            .await;
        let provider = config
            .credentials_provider()
            .ok_or(SqsError::NoCredentials)?;
        let sqs = Sqs {
            request_timeout,
            provider,
            default_region: config.region().map(|r| r.as_ref().to_owned()),
            endpoint: endpoint_override(&config)?,
            credentials: Mutex::new(None),
        };
        sqs.credentials().await?;
        Ok(sqs)
    }

    async fn credentials(&self) -> Result<Credentials, SqsError> {
        let cached = self
            .credentials
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let fresh_enough = |c: &Credentials| {
            c.expiry()
                .is_none_or(|at| at > SystemTime::now() + CREDENTIALS_MARGIN)
        };
        if let Some(credentials) = cached.filter(fresh_enough) {
            return Ok(credentials);
        }
        let credentials = self
            .provider
            .provide_credentials()
            .await
            .map_err(|e| match e {
                CredentialsError::CredentialsNotLoaded(_) => SqsError::NoCredentials,
                other => SqsError::Credentials(crate::http::printable(
                    &aws_smithy_types::error::display::DisplayErrorContext(other).to_string(),
                )),
            })?;
        *self.credentials.lock().unwrap_or_else(|e| e.into_inner()) = Some(credentials.clone());
        Ok(credentials)
    }

    fn region(&self, queue: &QueueUrl) -> Result<String, SqsError> {
        queue
            .region
            .clone()
            .or_else(|| self.default_region.clone())
            .ok_or_else(|| SqsError::NoRegion(queue.to_string()))
    }

    fn endpoint(&self, region: &str) -> Url {
        self.endpoint.clone().unwrap_or_else(|| {
            let suffix = if region.starts_with("cn-") {
                "amazonaws.com.cn"
            } else {
                "amazonaws.com"
            };
            Url::parse(&format!("https://sqs.{region}.{suffix}/"))
                .expect("a region makes a valid host name")
        })
    }

    /// Up to ten messages, waiting up to `wait` (at most 20 s) for the first.
    pub async fn receive(
        &self,
        queue: &QueueUrl,
        wait: Duration,
    ) -> Result<Vec<Message>, SqsError> {
        let body = serde_json::json!({
            "QueueUrl": queue.as_str(),
            "MaxNumberOfMessages": MAX_MESSAGES,
            "WaitTimeSeconds": wait.as_secs().min(20),
        });
        // It holds the messages' bodies, new secrets among them.
        let answer = zeroize::Zeroizing::new(
            self.call("ReceiveMessage", queue, &body, wait + self.request_timeout)
                .await?,
        );
        let received: Received =
            serde_json::from_slice(&answer).map_err(|e| SqsError::BadResponse {
                action: "ReceiveMessage",
                detail: e.to_string(),
            })?;
        Ok(received
            .messages
            .into_iter()
            .map(|m| Message {
                id: m.message_id,
                body: m.body,
                receipt_handle: m.receipt_handle,
            })
            .collect())
    }

    pub async fn delete(&self, queue: &QueueUrl, message: &Message) -> Result<(), SqsError> {
        let body = serde_json::json!({
            "QueueUrl": queue.as_str(),
            "ReceiptHandle": message.receipt_handle,
        });
        self.call("DeleteMessage", queue, &body, self.request_timeout)
            .await
            .map(drop)
    }

    async fn call(
        &self,
        action: &'static str,
        queue: &QueueUrl,
        body: &serde_json::Value,
        timeout: Duration,
    ) -> Result<Vec<u8>, SqsError> {
        let region = self.region(queue)?;
        let endpoint = self.endpoint(&region);
        let credentials = self.credentials().await?;
        let body = serde_json::to_vec(body).expect("JSON values serialize");
        let target = format!("AmazonSQS.{action}");
        let headers = [
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", target.as_str()),
        ];
        let signed = sign(&credentials, &region, &endpoint, &headers, &body).map_err(|detail| {
            SqsError::Credentials(format!("cannot sign the request: {detail}"))
        })?;
        let unavailable = |detail: String| SqsError::Unavailable {
            endpoint: endpoint.to_string(),
            detail,
        };
        let http = crate::http::client(&endpoint, timeout).map_err(unavailable)?;
        let mut request = http.post(endpoint.clone()).body(body);
        for (name, value) in headers
            .iter()
            .copied()
            .chain(signed.iter().map(|(n, v)| (n.as_str(), v.as_str())))
        {
            request = request.header(name, value);
        }
        let response = request
            .send()
            .await
            .map_err(|e| unavailable(crate::http::describe_transport(&e)))?;
        let status = response.status();
        let answer = crate::http::read_bounded(response, MAX_ANSWER_BYTES)
            .await
            .map_err(unavailable)?;
        if status.is_success() {
            return Ok(answer);
        }
        if status.is_server_error() {
            return Err(unavailable(format!("HTTP {status}")));
        }
        let refusal: Refusal = serde_json::from_slice(&answer).unwrap_or(Refusal {
            kind: format!("HTTP {}", status.as_u16()),
            message: String::new(),
        });
        Err(SqsError::Rejected {
            action,
            queue: queue.to_string(),
            code: crate::http::printable(refusal.kind.rsplit('#').next().unwrap_or_default()),
            detail: crate::http::printable(&refusal.message),
        })
    }
}

/// The SigV4 headers for a POST of `body` to `endpoint` (Amazon's signer).
fn sign(
    credentials: &Credentials,
    region: &str,
    endpoint: &Url,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Vec<(String, String)>, String> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let identity = credentials.clone().into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sqs")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let host = endpoint
        .host_str()
        .map(|host| match endpoint.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        })
        .unwrap_or_default();
    let all_headers = headers.iter().copied().chain([("host", host.as_str())]);
    let request = SignableRequest::new(
        "POST",
        endpoint.as_str(),
        all_headers,
        SignableBody::Bytes(body),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _) = sign(request, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_urls_give_their_region() {
        let url =
            QueueUrl::parse("https://sqs.eu-west-1.amazonaws.com/123456789012/spapi").unwrap();
        assert_eq!(url.region.as_deref(), Some("eu-west-1"));
        let legacy = QueueUrl::parse("https://queue.amazonaws.com/123456789012/spapi").unwrap();
        assert_eq!(legacy.region.as_deref(), Some("us-east-1"));
        let local = QueueUrl::parse("http://127.0.0.1:5000/123456789012/spapi").unwrap();
        assert_eq!(local.region, None);
        for bad in [
            "sqs.eu-west-1.amazonaws.com/123456789012/spapi",
            "https://sqs.eu-west-1.amazonaws.com/spapi",
            "https://sqs.eu-west-1.amazonaws.com/1234/spapi",
            "http://sqs.eu-west-1.amazonaws.com/123456789012/spapi",
            "https://sqs.eu-west-1.amazonaws.com/123456789012/spapi?x=1",
        ] {
            assert!(QueueUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
