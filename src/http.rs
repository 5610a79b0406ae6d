//! HTTP to Amazon, shared by the LWA and SP-API clients: one client set-up (timeouts,
//! no redirects, HTTPS unless the address is loopback), bounded response bodies, and
//! bounded retries of transient failures with backoff and jitter.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use rand::Rng;
use url::Url;

use crate::settings::NETWORK_TIMEOUT_VAR as DEADLINE_VAR;

/// The longest `Retry-After` waited for; a longer one ends the attempts.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// The whole operation, every attempt and wait included, ends by then.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            deadline: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The default policy, ending by `deadline` when the settings give one (else 30 s).
    pub fn within(deadline: Option<Duration>) -> Self {
        let default = RetryPolicy::default();
        RetryPolicy {
            deadline: deadline.unwrap_or(default.deadline),
            ..default
        }
    }
}

/// One attempt's outcome, before the retry decision.
pub enum Attempt<T, E> {
    Done(T),
    Fatal(E),
    Transient {
        detail: String,
        retry_after: Option<Duration>,
    },
}

/// Why the attempts ended without a result.
pub enum Failure<E> {
    Fatal(E),
    Exhausted { attempts: u32, detail: String },
}

/// The process's one runtime for network calls, made on first use: a single thread
/// is plenty for I/O, and the shared HTTP clients' connections live on it.
pub fn runtime() -> Result<&'static tokio::runtime::Runtime, String> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the network runtime: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// A client for requests to `destination`'s host: HTTPS only unless that host is
/// loopback, and never through a proxy to a loopback host (a proxy would see the
/// secrets in clear); other hosts use the proxy the environment names.
/// Clients are made once per kind of destination and timeout, and shared: each
/// made anew would load the root certificates and open its own connections.
pub fn client(destination: &Url, timeout: Duration) -> Result<reqwest::Client, String> {
    type Kind = (bool, bool, Duration);
    static CLIENTS: OnceLock<Mutex<HashMap<Kind, reqwest::Client>>> = OnceLock::new();
    let kind = (
        crate::net::is_loopback(destination),
        crate::net::is_loopback_http(destination),
        timeout,
    );
    let mut clients = CLIENTS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(client) = clients.get(&kind) {
        return Ok(client.clone());
    }
    let client = client_with_root(destination, timeout, None)?;
    clients.insert(kind, client.clone());
    Ok(client)
}

/// A client that also trusts `root` (a private CA, for OpenBao).
pub fn client_with_root(
    destination: &Url,
    timeout: Duration,
    root: Option<reqwest::Certificate>,
) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder();
    if let Some(root) = root {
        builder = builder.add_root_certificate(root);
    }
    if crate::net::is_loopback(destination) {
        builder = builder.no_proxy();
    }
    builder
        .user_agent(user_agent())
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .https_only(!crate::net::is_loopback_http(destination))
        .build()
        .map_err(|e| format!("cannot set up HTTPS: {e}"))
}

/// The User-Agent in the form SP-API asks for:
/// `AppName/Version (Language=Name; Platform=OS/Architecture)`.
pub fn user_agent() -> String {
    format!(
        "spvault/{} (Language=Rust; Platform={}/{})",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// A retry about to happen, for whoever reports them.
pub struct Retry<'a> {
    pub target: &'a Url,
    pub detail: &'a str,
    pub wait: Duration,
}

/// Who hears of retries. The library never prints; a command installs a reporter.
static RETRY_REPORTER: OnceLock<fn(&Retry)> = OnceLock::new();

/// Has `report` hear of every retry from now on (the first one installed stays).
pub fn report_retries_to(report: fn(&Retry)) {
    let _ = RETRY_REPORTER.set(report);
}

/// Runs `attempt` until it is done, fails for good, the policy's attempts are used up,
/// or its deadline passes (a server that accepts and never answers included); waits
/// `Retry-After` when the server says so, else an exponential backoff. Each retry
/// goes to the reporter installed with `report_retries_to`, naming `target`.
pub async fn with_retries<T, E, F, Fut>(
    policy: &RetryPolicy,
    target: &Url,
    mut attempt: F,
) -> Result<T, Failure<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Attempt<T, E>>,
{
    let deadline = tokio::time::Instant::now() + policy.deadline;
    let out_of_time = |attempts| Failure::Exhausted {
        attempts,
        detail: format!(
            "no answer within {} (set {DEADLINE_VAR} to wait longer)",
            humantime::format_duration(policy.deadline)
        ),
    };
    let mut attempts = 0;
    loop {
        attempts += 1;
        let Ok(outcome) = tokio::time::timeout_at(deadline, attempt()).await else {
            return Err(out_of_time(attempts));
        };
        let (detail, retry_after) = match outcome {
            Attempt::Done(value) => return Ok(value),
            Attempt::Fatal(error) => return Err(Failure::Fatal(error)),
            Attempt::Transient {
                detail,
                retry_after,
            } => (detail, retry_after),
        };
        let too_long = retry_after.is_some_and(|wait| wait > MAX_RETRY_AFTER);
        if attempts >= policy.attempts || too_long {
            return Err(Failure::Exhausted { attempts, detail });
        }
        let wait = retry_after.unwrap_or_else(|| backoff(policy, attempts));
        if tokio::time::Instant::now() + wait >= deadline {
            return Err(Failure::Exhausted { attempts, detail });
        }
        if let Some(report) = RETRY_REPORTER.get() {
            report(&Retry {
                target,
                detail: &detail,
                wait,
            });
        }
        tokio::time::sleep(wait).await;
    }
}

/// Jitter between half and all of base x 2^(attempt-1), capped.
fn backoff(policy: &RetryPolicy, attempt: u32) -> Duration {
    let ceiling = policy
        .base_delay
        .saturating_mul(1 << attempt.saturating_sub(1).min(16))
        .min(policy.max_delay);
    let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::thread_rng().gen_range(millis / 2..=millis.max(1)))
}

/// A server's answer, read within bounds.
pub struct Answer {
    pub status: reqwest::StatusCode,
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
}

/// Sends `request` and reads the answer, at most `limit` bytes of it. A transport
/// failure, or a body that cannot be read from an answer worth retrying, comes back
/// as a transient attempt; any other unreadable body as `unreadable(detail)`.
pub async fn send<T, E>(
    request: reqwest::RequestBuilder,
    limit: usize,
    unreadable: impl FnOnce(String) -> E,
) -> Result<Answer, Attempt<T, E>> {
    let response = request.send().await.map_err(|e| Attempt::Transient {
        detail: describe_transport(&e),
        retry_after: None,
    })?;
    let status = response.status();
    let retry_after = retry_after(&response);
    match read_bounded(response, limit).await {
        Ok(body) => Ok(Answer {
            status,
            retry_after,
            body,
        }),
        Err(detail) if is_transient(status) => Err(Attempt::Transient {
            detail,
            retry_after,
        }),
        Err(detail) => Err(Attempt::Fatal(unreadable(detail))),
    }
}

/// Whether a status is worth retrying: server errors and rate limiting.
pub fn is_transient(status: reqwest::StatusCode) -> bool {
    status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS
}

pub fn retry_after(response: &reqwest::Response) -> Option<Duration> {
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

/// Reads the body, refusing to hold more than `limit` bytes of it.
pub async fn read_bounded(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > limit {
                    return Err(too_large(limit));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(describe_transport(&e)),
        }
    }
}

/// What a body over `limit` bytes is refused with.
pub fn too_large(limit: usize) -> String {
    format!("response larger than {} KiB", limit / 1024)
}

/// What a request that ran out of time is said to have done.
pub const TIMED_OUT: &str = "the request timed out";

/// A transport error in a few words.
pub fn describe_transport(error: &reqwest::Error) -> String {
    describe_failure(error, error.is_timeout(), error.is_connect())
}

/// The same for any HTTP client's error, told whether it was a timeout and whether
/// it happened while connecting.
pub fn describe_failure(error: &dyn std::error::Error, timed_out: bool, connect: bool) -> String {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        chain = format!("{chain}: {inner}");
        source = inner.source();
    }
    if chain.to_ascii_lowercase().contains("certificate") {
        "the server's TLS certificate is not trusted (for a private CA, pass --ca-cert)".into()
    } else if timed_out {
        TIMED_OUT.into()
    } else if connect {
        "cannot connect".into()
    } else {
        chain.chars().take(300).collect()
    }
}

/// What a server said, made safe to print: printable ASCII, short, and without any
/// secret we sent, whole or in pieces (a hostile or broken server might echo them).
pub fn sanitize(text: &str, sent_secrets: &[&str]) -> String {
    let mut raw = text.to_owned();
    for secret in sent_secrets.iter().filter(|s| s.len() >= 4) {
        raw = raw.replace(secret, "[redacted]");
    }
    let mut clean: String = printable(&raw).chars().take(200).collect();
    for secret in sent_secrets {
        let redacted = redact_fragments(clean.as_bytes(), printable(secret).as_bytes());
        clean = String::from_utf8(redacted).expect("printable ASCII and [redacted]");
    }
    clean
}

/// Text with everything but printable ASCII and spaces replaced by `?`.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// The shortest piece of a secret worth hiding; shorter ones match ordinary words.
const FRAGMENT: usize = 8;

/// Every piece of some secrets that `sanitize` would redact, to tell in one pass
/// whether a text holds one: answers without one (nearly all) cost next to nothing.
/// Made once per set of secrets (a server keeps them while its tokens last). Every
/// window of every answer is looked up: foldhash, not SipHash, which cost the proxy
/// more than any other code of its own. Seeded per process (foldhash's RandomState),
/// so an answer cannot be shaped to collide with the pieces.
pub struct SecretPieces(std::collections::HashSet<u64, foldhash::fast::RandomState>);

/// A piece of `FRAGMENT` bytes as one number.
fn piece(window: &[u8]) -> u64 {
    u64::from_le_bytes(window.try_into().expect("a window of FRAGMENT bytes"))
}

impl SecretPieces {
    pub fn of(secrets: &[&str]) -> Self {
        SecretPieces(
            secrets
                .iter()
                .flat_map(|s| s.as_bytes().windows(FRAGMENT))
                .map(piece)
                .collect(),
        )
    }

    pub fn in_text(&self, text: &[u8]) -> bool {
        !self.0.is_empty() && text.windows(FRAGMENT).any(|w| self.0.contains(&piece(w)))
    }
}

/// Replaces every run of `text` that matches a piece of `secret` at least `FRAGMENT`
/// bytes long (a prefix a server cut it to, say) by `[redacted]`. Linear in `text`:
/// a run is looked for only where `FRAGMENT` bytes of the secret start.
pub fn redact_fragments(text: &[u8], secret: &[u8]) -> Vec<u8> {
    let mut starts: std::collections::HashMap<&[u8], Vec<usize>> = Default::default();
    for (at, piece) in secret.windows(FRAGMENT).enumerate() {
        starts.entry(piece).or_default().push(at);
    }
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let longest = text
            .get(i..i + FRAGMENT)
            .and_then(|piece| starts.get(piece))
            .into_iter()
            .flatten()
            .map(|&at| {
                text[i..]
                    .iter()
                    .zip(&secret[at..])
                    .take_while(|(a, b)| a == b)
                    .count()
            })
            .max()
            .unwrap_or(0);
        if longest >= FRAGMENT {
            out.extend_from_slice(b"[redacted]");
            i += longest;
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_of_secrets_are_found_in_one_pass() {
        let pieces = SecretPieces::of(&["Atzr|abcdefghijklmnop"]);
        assert!(pieces.in_text(b"x cdefghij y"));
        assert!(!pieces.in_text(b"x cdefghi y"), "7 characters are no piece");
        assert!(!SecretPieces::of(&["short"]).in_text(b"anything"));
    }

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
        let with_newline = "amzn1.oa2-cs.v1.a\nb";
        assert_eq!(
            sanitize("echo amzn1.oa2-cs.v1.a\nb!", &[with_newline]),
            "echo [redacted]!"
        );
        assert_eq!(
            sanitize("half: Atzr|abcdefg...", &[secret]),
            "half: [redacted]..."
        );
        assert_eq!(sanitize("invalid_grant", &[secret]), "invalid_grant");
    }
}
