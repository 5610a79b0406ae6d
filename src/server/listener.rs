//! The network side of `vault serve` and `vault proxy`: accepts connections within
//! limits an abusive client cannot stretch (header size and count, time to send a
//! first byte, a request or a TLS handshake, connections at once and per client
//! address, see [`Connections`]), keeps accepting after transient failures such as
//! running out of file descriptors, and reports only a dead listener as an error.
//! What is answered is the [`Handler`]'s business.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;

pub use super::connections::Client;
use super::connections::{Admission, Connections};

/// An answer being made.
pub type Answer = Pin<Box<dyn Future<Output = Response<Full<Bytes>>> + Send>>;

/// What a server answers: one request at a time, from `client`, which it marks
/// [`Client::authenticated`] once the request proves who it is.
pub trait Handler: Send + Sync + 'static {
    fn handle(self: Arc<Self>, request: Request<Incoming>, client: Client) -> Answer;
}

/// A request's start line and headers together: larger gets 431.
const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Header lines in one request: more gets 431.
const MAX_HEADERS: usize = 64;
/// Connections served at once, at most; the open-file limit may lower it.
const MAX_CONNECTIONS: usize = 4096;
/// The share of the connections one client address may hold.
const CONNECTIONS_PER_ADDRESS_DIVISOR: usize = 4;
/// Time a new connection has to send its first byte.
const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(2);
/// File descriptors kept for everything but connections (the vault, Amazon, stdio).
const RESERVED_DESCRIPTORS: u64 = 32;
/// How long connections in flight may take to finish after a stop.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Limits {
    /// Time a client has to send a request's headers (and to finish a TLS handshake);
    /// an idle keep-alive connection is closed after it too.
    pub client_timeout: Duration,
    pub max_connections: usize,
}

impl Limits {
    /// Raises the soft open-file limit to the hard one and sizes the connection cap
    /// to fit within it.
    pub fn for_this_process(client_timeout: Duration) -> Limits {
        let descriptors = crate::process::raise_open_file_limit();
        let usable = descriptors.saturating_sub(RESERVED_DESCRIPTORS).max(1);
        Limits {
            client_timeout,
            max_connections: usize::try_from(usable)
                .unwrap_or(usize::MAX)
                .min(MAX_CONNECTIONS),
        }
    }
}

/// Serves `endpoint` on `listener` until `stop` turns true, then lets connections in
/// flight finish. Returns an error only when the listener itself fails for good.
pub async fn serve<H: Handler>(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    handler: Arc<H>,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.client_timeout)
        .max_header_size(MAX_HEADER_BYTES)
        .max_headers(MAX_HEADERS);
    let http = Arc::new(http);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let connections = Connections::new(limits.max_connections / CONNECTIONS_PER_ADDRESS_DIVISOR);
    let mut backoff = Backoff::default();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) if listener_is_dead(&e) => return Err(e),
                Err(e) => {
                    backoff.wait(&e).await;
                    continue;
                }
            },
            _ = stopped(&mut stop) => break,
        };
        backoff.reset();
        // One address at its share with none of its connections to spare: refused.
        let Some(admission) = connections.admit(peer.ip()) else {
            continue;
        };
        let permit = match permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                connections.make_room();
                tokio::select! {
                    permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
                    _ = stopped(&mut stop) => break,
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let (http, handler, tls, stop) = (http.clone(), handler.clone(), tls.clone(), stop.clone());
        let timeout = limits.client_timeout;
        tokio::spawn(async move {
            let _permit = permit;
            if !first_byte_arrives(&stream).await {
                return;
            }
            let client = admission.client(peer);
            match tls {
                None => connection(&http, stream, client, &admission, handler, stop).await,
                Some(acceptor) => {
                    if let Ok(Ok(stream)) =
                        tokio::time::timeout(timeout, acceptor.accept(stream)).await
                    {
                        connection(&http, stream, client, &admission, handler, stop).await;
                    }
                }
            }
        });
    }
    drop(listener);
    // Every permit back means every connection has ended.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, permits.acquire_many(all)).await;
    Ok(())
}

/// Whether a new connection sends something within [`FIRST_BYTE_TIMEOUT`]; one that
/// does not holds a place another client may need.
async fn first_byte_arrives(stream: &TcpStream) -> bool {
    let mut first = [0u8; 1];
    matches!(
        tokio::time::timeout(FIRST_BYTE_TIMEOUT, stream.peek(&mut first)).await,
        Ok(Ok(1))
    )
}

/// One HTTP/1 connection, closed gracefully when the server stops, and at once when
/// it is closed to make room.
async fn connection<S, H: Handler>(
    http: &http1::Builder,
    stream: S,
    client: Client,
    admission: &Admission,
    handler: Arc<H>,
    mut stop: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request| {
        let busy = client.busy();
        let answer = handler.clone().handle(request, client.clone());
        async move {
            let answer = answer.await;
            drop(busy);
            Ok::<_, Infallible>(answer)
        }
    });
    let conn = http.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = admission.closed() => {}
        _ = stopped(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// Resolves once the server is told to stop.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// Errors after which `accept` can never succeed again; everything else (out of file
/// descriptors or memory, a connection reset before it was accepted) passes.
fn listener_is_dead(error: &std::io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EBADF | libc::EINVAL | libc::ENOTSOCK | libc::EOPNOTSUPP | libc::EFAULT)
    )
}

/// Waits between failed accepts, longer each time (10 ms up to 1 s), and says so once
/// per run of failures.
#[derive(Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    async fn wait(&mut self, error: &std::io::Error) {
        if self.failures == 0 {
            eprintln!("vault: cannot accept connections for now ({error}); retrying");
        }
        let delay = Duration::from_millis(10 << self.failures.min(7)).min(Duration::from_secs(1));
        self.failures += 1;
        tokio::time::sleep(delay).await;
    }

    fn reset(&mut self) {
        if self.failures > 0 {
            eprintln!("vault: accepting connections again");
        }
        self.failures = 0;
    }
}
