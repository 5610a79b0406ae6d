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

/// The region a local (loopback) queue's requests are signed for when the AWS
/// configuration names none: local servers accept any.
const LOCAL_REGION: &str = "us-east-1";
/// Credentials this close to their expiry are fetched again.
const CREDENTIALS_MARGIN: Duration = Duration::from_secs(300);
/// The longest answer SQS sends: ten messages of at most 256 KiB each, and their
/// envelopes.
const MAX_ANSWER_BYTES: usize = 3 * 1024 * 1024;
const MAX_MESSAGES: u8 = 10;

#[derive(Debug, thiserror::Error)]
pub enum SqsError {
    #[error(
        "no AWS credentials to read the notification queue with: looked for {}",
        looked_for()
    )]
    NoCredentials,
    #[error("the AWS credentials could not be loaded: {0}")]
    Credentials(String),
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
            SqsError::NoCredentials | SqsError::Credentials(_) => ExitCode::Usage,
            SqsError::Rejected { code, .. } if no_such_queue(code) => ExitCode::Usage,
            SqsError::Rejected { code, .. } if refuses_identity(code) => ExitCode::Rejected,
            SqsError::Rejected { .. } => ExitCode::Other,
            SqsError::Unavailable { .. } | SqsError::BadResponse { .. } => ExitCode::Unreachable,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            SqsError::NoCredentials | SqsError::Credentials(_) => Some("give spvault an AWS identity allowed sqs:ReceiveMessage and sqs:DeleteMessage on the queue, e.g. with AWS_PROFILE (see README, \"Secret rotation\")".into()),
            SqsError::Rejected { code, .. } if no_such_queue(code) => Some("check the queue (its region and account too) in Developer Console › Notification preferences and set it with `vault app edit APP --notification-queue URL`".into()),
            SqsError::Rejected { code, .. } if refuses_identity(code) => Some("allow the AWS identity sqs:ReceiveMessage and sqs:DeleteMessage on the queue, or give spvault another (AWS_PROFILE)".into()),
            SqsError::Rejected { .. } => None,
            SqsError::Unavailable { .. } | SqsError::BadResponse { .. } => Some("try again later".into()),
        }
    }
}

/// SQS error codes (JSON `__type`, or the query protocol's) for a queue that is not
/// there, and for an identity SQS does not accept or allow.
fn no_such_queue(code: &str) -> bool {
    code.contains("NonExistentQueue") || code.contains("QueueDoesNotExist")
}

fn refuses_identity(code: &str) -> bool {
    [
        "AccessDenied",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "UnrecognizedClient",
        "ExpiredToken",
        "InvalidSecurity",
    ]
    .iter()
    .any(|refusal| code.contains(refusal))
}

/// Where the standard chain looked for credentials, as this environment set it up.
fn looked_for() -> String {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    let mut places = vec![
        match (set("AWS_ACCESS_KEY_ID"), set("AWS_SECRET_ACCESS_KEY")) {
            (true, false) => "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (only the first is set)".to_owned(),
            (false, true) => "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (only the second is set)".to_owned(),
            _ => "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".to_owned(),
        },
        match std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()) {
            Some(profile) => format!(
                "the profile '{}' (AWS_PROFILE) in ~/.aws/credentials and ~/.aws/config",
                crate::display::escape_controls(&profile)
            ),
            None => "the default profile in ~/.aws/credentials and ~/.aws/config (AWS_PROFILE names another)".to_owned(),
        },
        "web identity (AWS_WEB_IDENTITY_TOKEN_FILE)".to_owned(),
        "container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI)".to_owned(),
    ];
    let metadata_disabled =
        std::env::var("AWS_EC2_METADATA_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    if !metadata_disabled {
        places.push("the instance metadata service".to_owned());
    }
    let last = places.pop().expect("places to look");
    format!("{} and {last}", places.join(", "))
}

/// A queue: the URL SQS gives it, and where its requests go: the region's SQS
/// endpoint, or for a loopback `http://` URL (a local SQS-compatible server), that
/// server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueUrl {
    url: Url,
    location: Location,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Location {
    Aws { region: String },
    Local { endpoint: Url },
}

/// SQS's rule for queue names (a FIFO queue's ends in `.fifo`).
fn is_queue_name(name: &str) -> bool {
    let stem = name.strip_suffix(".fifo").unwrap_or(name);
    (1..=80).contains(&name.len())
        && !stem.is_empty()
        && stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl QueueUrl {
    /// A queue URL, or a queue ARN (`arn:aws:sqs:REGION:ACCOUNT:NAME`, which names the
    /// same queue).
    pub fn parse(text: &str) -> Result<QueueUrl, String> {
        let text = text.trim();
        let shape = || {
            format!(
                "'{}' is not an SQS queue URL like https://sqs.us-east-1.amazonaws.com/123456789012/NAME (or its ARN, arn:aws:sqs:us-east-1:123456789012:NAME)",
                crate::display::escape_controls(text)
            )
        };
        let is_account =
            |account: &str| account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
        if let Some(arn) = text.strip_prefix("arn:") {
            let [partition, "sqs", region, account, name] = arn.split(':').collect::<Vec<_>>()[..]
            else {
                return Err(shape());
            };
            let domain = match partition {
                "aws" | "aws-us-gov" => "amazonaws.com",
                "aws-cn" => "amazonaws.com.cn",
                _ => return Err(shape()),
            };
            let region_ok = !region.is_empty()
                && region
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !region_ok || !is_account(account) || !is_queue_name(name) {
                return Err(shape());
            }
            return QueueUrl::parse(&format!("https://sqs.{region}.{domain}/{account}/{name}"));
        }
        let url = Url::parse(text).map_err(|_| shape())?;
        let segments: Vec<&str> = url
            .path_segments()
            .map(Iterator::collect)
            .unwrap_or_default();
        let well_formed = matches!(segments.as_slice(), [account, name]
            if is_account(account) && is_queue_name(name))
            && url.query().is_none()
            && url.fragment().is_none()
            && url.username().is_empty()
            && url.password().is_none();
        if !well_formed {
            return Err(shape());
        }
        let region = url.host_str().and_then(region_of_host);
        let location = match region {
            Some(region) if url.scheme() == "https" => Location::Aws { region },
            _ if crate::net::is_loopback_http(&url) => {
                let mut endpoint = url.clone();
                endpoint.set_path("/");
                Location::Local { endpoint }
            }
            _ => {
                return Err(format!(
                    "'{}' is not an SQS queue URL: its host must be sqs.REGION.amazonaws.com over https:// (plain http:// only for a local server on 127.0.0.1, [::1] or localhost)",
                    crate::display::escape_controls(text)
                ));
            }
        };
        Ok(QueueUrl { url, location })
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

/// The region in an SQS host name: `sqs.REGION.amazonaws.com` (`.com.cn` in China),
/// the legacy `REGION.queue.amazonaws.com`, or `queue.amazonaws.com` (us-east-1).
fn region_of_host(host: &str) -> Option<String> {
    let labels: Vec<&str> = host.split('.').collect();
    match labels.as_slice() {
        ["sqs", region, "amazonaws", "com"] | ["sqs", region, "amazonaws", "com", "cn"] => {
            Some((*region).to_owned())
        }
        [region, "queue", "amazonaws", "com"] => Some((*region).to_owned()),
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

    /// The region to sign for and the endpoint to send to (`AWS_ENDPOINT_URL_SQS`
    /// wins over the queue's own).
    fn destination(&self, queue: &QueueUrl) -> (String, Url) {
        let (region, endpoint) = match &queue.location {
            Location::Aws { region } => {
                let domain = if region.starts_with("cn-") {
                    "amazonaws.com.cn"
                } else {
                    "amazonaws.com"
                };
                let endpoint = Url::parse(&format!("https://sqs.{region}.{domain}/"))
                    .expect("a region makes a valid host name");
                (region.clone(), endpoint)
            }
            Location::Local { endpoint } => (
                self.default_region
                    .clone()
                    .unwrap_or_else(|| LOCAL_REGION.to_owned()),
                endpoint.clone(),
            ),
        };
        (region, self.endpoint.clone().unwrap_or(endpoint))
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
        let (region, endpoint) = self.destination(queue);
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
        let query_error = response
            .headers()
            .get("x-amzn-query-error")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().to_owned());
        let answer = crate::http::read_bounded(response, MAX_ANSWER_BYTES)
            .await
            .map_err(unavailable)?;
        if status.is_success() {
            return Ok(answer);
        }
        if status.is_server_error() {
            return Err(unavailable(format!("HTTP {status}")));
        }
        let (code, detail) = refusal(status, query_error, &answer);
        Err(SqsError::Rejected {
            action,
            queue: queue.to_string(),
            code: crate::http::printable(&code),
            detail: crate::http::printable(&detail),
        })
    }
}

/// The error code and message of a refusal: SQS's JSON answer, else its query-protocol
/// header or XML (as older SQS-compatible servers send), else the HTTP status.
fn refusal(
    status: reqwest::StatusCode,
    query_error: Option<String>,
    answer: &[u8],
) -> (String, String) {
    let text = String::from_utf8_lossy(answer);
    let between = |open: &str, close: &str| {
        let start = text.find(open)? + open.len();
        let end = start + text[start..].find(close)?;
        Some(text[start..end].trim().to_owned())
    };
    let json: Option<Refusal> = serde_json::from_slice(answer).ok();
    let code = query_error
        .filter(|code| !code.is_empty())
        .or_else(|| {
            json.as_ref()
                .map(|r| r.kind.rsplit('#').next().unwrap_or_default().to_owned())
                .filter(|code| !code.is_empty())
        })
        .or_else(|| between("<Code>", "</Code>"))
        .unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
    let detail = json
        .map(|r| r.message)
        .filter(|message| !message.is_empty())
        .or_else(|| between("<Message>", "</Message>"))
        .unwrap_or_default();
    (code, detail.chars().take(300).collect())
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

    fn region(queue: &QueueUrl) -> Option<&str> {
        match &queue.location {
            Location::Aws { region } => Some(region),
            Location::Local { .. } => None,
        }
    }

    #[test]
    fn queue_urls_give_their_region() {
        let url =
            QueueUrl::parse("https://sqs.eu-west-1.amazonaws.com/123456789012/spapi").unwrap();
        assert_eq!(region(&url), Some("eu-west-1"));
        let legacy = QueueUrl::parse("https://queue.amazonaws.com/123456789012/spapi").unwrap();
        assert_eq!(region(&legacy), Some("us-east-1"));
        let local = QueueUrl::parse("http://127.0.0.1:5000/123456789012/spapi").unwrap();
        assert_eq!(
            local.location,
            Location::Local {
                endpoint: Url::parse("http://127.0.0.1:5000/").unwrap()
            }
        );
        let arn = QueueUrl::parse("arn:aws:sqs:eu-west-1:123456789012:spapi.fifo").unwrap();
        assert_eq!(
            arn.as_str(),
            "https://sqs.eu-west-1.amazonaws.com/123456789012/spapi.fifo"
        );
        for bad in [
            "sqs.eu-west-1.amazonaws.com/123456789012/spapi",
            "https://sqs.eu-west-1.amazonaws.com/spapi",
            "https://sqs.eu-west-1.amazonaws.com/1234/spapi",
            "http://sqs.eu-west-1.amazonaws.com/123456789012/spapi",
            "https://sqs.eu-west-1.amazonaws.com/123456789012/spapi?x=1",
            "https://example.com/123456789012/spapi",
            "https://sqs.eu-west-1.amazonaws.com/123456789012/with space",
            "arn:aws:sns:eu-west-1:123456789012:spapi",
            "arn:aws:sqs:eu-west-1:1234:spapi",
        ] {
            assert!(QueueUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
