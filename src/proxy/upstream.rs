//! The proxy's hop to SP-API: hyper-util's pooled client straight over rustls, with
//! what the shared reqwest set-up (`crate::http::client_with_root`) gives a request:
//! the same root certificates, TLS versions and ALPN, connect and whole-request
//! timeouts, User-Agent (and `Accept: */*`) unless the client sent its own, TCP
//! options, pool, no redirects, HTTPS unless the host is loopback, and the same error
//! texts. reqwest is the same client underneath, but on top of it every request cost
//! a URL parsed back and forth (its redirect layer, IDNA included, even with
//! redirects off), its header merges and boxed layers: a tenth of the proxy's time.
//! A host the environment sends through an HTTP proxy keeps reqwest, which speaks to
//! proxies (decided once, as reqwest reads the environment once).

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{ACCEPT, HeaderValue, USER_AGENT};
use hyper::{HeaderMap, Method, Request, StatusCode, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio_rustls::rustls;
use url::Url;

/// What reqwest's client set-up gives its connections.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
const TCP_KEEPALIVE: Duration = Duration::from_secs(15);
const TCP_KEEPALIVE_RETRIES: u32 = 3;

/// How one profile's requests reach its SP-API host.
#[expect(
    clippy::large_enum_variant,
    reason = "one per served profile, made once"
)]
pub enum Upstream {
    Direct {
        client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
        timeout: Duration,
        user_agent: HeaderValue,
    },
    /// Through the proxy the environment names for the host.
    Proxied(reqwest::Client),
}

/// An answer, its body read within bounds.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Upstream {
    /// For requests to `base`'s host; `reqwest` is the client they would have used
    /// (made by `crate::http::client_with_root` with the same `timeout`).
    pub fn new(base: &Url, timeout: Duration, reqwest: reqwest::Client) -> Result<Self, String> {
        let loopback = crate::net::is_loopback(base);
        let uri: Uri = base
            .as_str()
            .parse()
            .map_err(|e| format!("{base} is no URI: {e}"))?;
        if !loopback && Matcher::from_system().intercept(&uri).is_some() {
            return Ok(Upstream::Proxied(reqwest));
        }
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(timeout.min(Duration::from_secs(10))));
        http.set_keepalive(Some(TCP_KEEPALIVE));
        http.set_keepalive_interval(Some(TCP_KEEPALIVE));
        http.set_keepalive_retries(Some(TCP_KEEPALIVE_RETRIES));
        let mut https = HttpsConnector::from((http, tls_config()?));
        if !crate::net::is_loopback_http(base) {
            https.enforce_https();
        }
        let client = Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .pool_max_idle_per_host(usize::MAX)
            .build(https);
        let user_agent = HeaderValue::from_str(&crate::http::user_agent())
            .map_err(|e| format!("the User-Agent is no header value: {e}"))?;
        Ok(Upstream::Direct {
            client,
            timeout,
            user_agent,
        })
    }

    /// Sends one request and reads its answer, at most `limit` bytes of body; the
    /// error is the failure in a few words.
    pub async fn send(
        &self,
        method: Method,
        url: Url,
        headers: HeaderMap,
        body: Bytes,
        limit: usize,
    ) -> Result<Answer, String> {
        match self {
            Upstream::Direct {
                client,
                timeout,
                user_agent,
            } => {
                let exchange = async {
                    let uri: Uri = url.as_str().parse().map_err(|e| format!("{e}"))?;
                    let mut request = Request::new(Full::new(body));
                    *request.method_mut() = method;
                    *request.uri_mut() = uri;
                    *request.headers_mut() = headers;
                    let sent = request.headers_mut();
                    if !sent.contains_key(USER_AGENT) {
                        sent.insert(USER_AGENT, user_agent.clone());
                    }
                    if !sent.contains_key(ACCEPT) {
                        sent.insert(ACCEPT, HeaderValue::from_static("*/*"));
                    }
                    let response = client.request(request).await.map_err(|e| {
                        let timed_out = caused_by_timeout(&e);
                        crate::http::describe_failure(&e, timed_out, e.is_connect())
                    })?;
                    let (parts, mut incoming) = response.into_parts();
                    let mut chunks: Vec<Bytes> = Vec::new();
                    let mut length = 0;
                    while let Some(frame) = incoming.frame().await {
                        let frame =
                            frame.map_err(|e| crate::http::describe_failure(&e, false, false))?;
                        let Ok(chunk) = frame.into_data() else {
                            continue;
                        };
                        length += chunk.len();
                        if length > limit {
                            return Err(crate::http::too_large(limit));
                        }
                        chunks.push(chunk);
                    }
                    // Nearly every answer is one chunk: kept as it came, not copied.
                    let body = match chunks.len() {
                        0 | 1 => chunks.pop().unwrap_or_default(),
                        _ => Bytes::from(chunks.concat()),
                    };
                    Ok(Answer {
                        status: parts.status,
                        headers: parts.headers,
                        body,
                    })
                };
                tokio::time::timeout(*timeout, exchange)
                    .await
                    .unwrap_or_else(|_| Err(crate::http::TIMED_OUT.to_owned()))
            }
            Upstream::Proxied(client) => {
                let mut request = client.request(method, url).headers(headers);
                if !body.is_empty() {
                    request = request.body(body);
                }
                let mut response = request
                    .send()
                    .await
                    .map_err(|e| crate::http::describe_transport(&e))?;
                let status = response.status();
                let headers = std::mem::take(response.headers_mut());
                let body = crate::http::read_bounded(response, limit).await?;
                Ok(Answer {
                    status,
                    headers,
                    body: Bytes::from(body),
                })
            }
        }
    }
}

/// The TLS set-up reqwest makes with its rustls-tls feature: the webpki roots, TLS
/// 1.2 and 1.3 on ring, HTTP/1.1 by ALPN.
fn tls_config() -> Result<rustls::ClientConfig, String> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| std::sync::Arc::new(rustls::crypto::ring::default_provider()));
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .map_err(|e| format!("cannot set up HTTPS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Whether a failure came from a timeout (connecting within the connect timeout),
/// as reqwest tells it.
fn caused_by_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(inner) = source {
        if inner
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        source = inner.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// A server that takes one connection, hands its request head back through the
    /// join handle and answers `answer` (or nothing at all, when `None`).
    fn server(answer: Option<String>) -> (Url, std::thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let handle = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap() == 1 {
                head.push(byte[0]);
            }
            match answer {
                Some(answer) => stream.write_all(answer.as_bytes()).unwrap(),
                None => std::thread::sleep(Duration::from_secs(2)),
            }
            String::from_utf8(head).unwrap().to_ascii_lowercase()
        });
        (url, handle)
    }

    /// Both ways to `base`: this client, and reqwest as a proxied host has it.
    fn both(base: &Url, timeout: Duration) -> [Upstream; 2] {
        let reqwest = || crate::http::client_with_root(base, timeout, None).unwrap();
        let direct = Upstream::new(base, timeout, reqwest()).unwrap();
        assert!(
            matches!(direct, Upstream::Direct { .. }),
            "loopback is never proxied"
        );
        [direct, Upstream::Proxied(reqwest())]
    }

    /// What `upstream` answers `GET path` from a server answering `answer`, with
    /// the request head the server got.
    async fn exchange(
        upstream: impl Fn(&Url) -> Upstream,
        path: &str,
        headers: HeaderMap,
        answer: Option<&str>,
    ) -> (Result<Answer, String>, String) {
        let (base, head) = server(answer.map(str::to_owned));
        let url = base.join(path).unwrap();
        let answer = upstream(&base)
            .send(Method::GET, url, headers, Bytes::new(), 1024)
            .await;
        (answer, head.join().unwrap())
    }

    #[tokio::test]
    async fn a_request_goes_as_reqwest_sent_it_and_its_answer_comes_back() {
        for way in 0..2 {
            let upstream = |base: &Url| {
                let [direct, proxied] = both(base, Duration::from_secs(5));
                if way == 0 { direct } else { proxied }
            };
            let ok = "HTTP/1.1 201 Created\r\nx-a: b\r\ncontent-length: 2\r\n\r\nok";
            let (answer, head) = exchange(
                upstream,
                "/orders/v0/orders?a=1",
                HeaderMap::new(),
                Some(ok),
            )
            .await;
            let answer = answer.unwrap();
            assert_eq!(answer.status, StatusCode::CREATED);
            assert_eq!(answer.headers["x-a"], "b");
            assert_eq!(&answer.body[..], b"ok");
            assert!(
                head.starts_with("get /orders/v0/orders?a=1 http/1.1\r\n"),
                "{head}"
            );
            let agent = format!("user-agent: {}\r\n", crate::http::user_agent());
            assert!(head.contains(&agent.to_ascii_lowercase()), "{head}");
            assert!(head.contains("accept: */*\r\n"), "{head}");
            assert!(head.contains("host: 127.0.0.1:"), "{head}");

            let mut own = HeaderMap::new();
            own.insert(USER_AGENT, HeaderValue::from_static("their-sdk/1"));
            let empty = "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
            let (_, head) = exchange(upstream, "/", own, Some(empty)).await;
            assert!(head.contains("user-agent: their-sdk/1\r\n"), "{head}");
            assert_eq!(head.matches("user-agent").count(), 1, "{head}");
        }
    }

    #[tokio::test]
    async fn failures_are_told_in_the_same_words() {
        for way in 0..2 {
            let within = |timeout| {
                move |base: &Url| {
                    let [direct, proxied] = both(base, timeout);
                    if way == 0 { direct } else { proxied }
                }
            };
            let (answer, _) = exchange(
                within(Duration::from_millis(300)),
                "/",
                HeaderMap::new(),
                None,
            )
            .await;
            assert_eq!(answer.err().as_deref(), Some(crate::http::TIMED_OUT));

            let large = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: 2000\r\n\r\n{}",
                "x".repeat(2000)
            );
            let (answer, _) = exchange(
                within(Duration::from_secs(5)),
                "/",
                HeaderMap::new(),
                Some(&large),
            )
            .await;
            assert_eq!(answer.err(), Some(crate::http::too_large(1024)));

            let closed = TcpListener::bind("127.0.0.1:0").unwrap();
            let base = Url::parse(&format!("http://{}/", closed.local_addr().unwrap())).unwrap();
            drop(closed);
            let answer = within(Duration::from_secs(5))(&base)
                .send(
                    Method::GET,
                    base.clone(),
                    HeaderMap::new(),
                    Bytes::new(),
                    1024,
                )
                .await;
            assert_eq!(answer.err().as_deref(), Some("cannot connect"));
        }
    }
}
