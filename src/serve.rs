//! `vault serve`: a local token endpoint for long-running services. Tokens are
//! refreshed ahead of expiry in the background, so callers never wait on Amazon and a
//! refresh happens once however many callers ask. Every request must carry the
//! bearer key; it is compared in constant time.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use subtle::ConstantTimeEq;
use tiny_http::{Header, Request, Response, Server};

use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::tokens::TokenService;
use crate::vault::Unlocked;
use crate::vault::model::CachedToken;

/// How long a profile whose refresh failed waits before it is tried again.
const RETRY_FAILED_AFTER: Duration = Duration::from_secs(60);

pub struct Options {
    pub listen: SocketAddr,
    /// PEM certificate chain and private key, for addresses other than loopback.
    pub tls: Option<(Vec<u8>, Vec<u8>)>,
    pub key: Secret,
    /// Tokens with less than this left are refreshed in the background.
    pub refresh_ahead: SignedDuration,
    pub workers: usize,
}

/// What the endpoint answers for one profile.
enum Served {
    Token(CachedToken),
    Failed { message: String, at: Instant },
}

type Table = Arc<RwLock<HashMap<String, Served>>>;

/// A fresh random bearer key: 256 bits, hex.
pub fn new_key() -> Secret {
    let bytes: [u8; 32] = rand::random();
    Secret::new(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Tokens leave this machine only over TLS.
pub fn check_listen(listen: SocketAddr, tls: bool) -> Result<()> {
    if listen.ip().is_loopback() || tls {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "--listen {listen} is not a loopback address: serving tokens beyond this machine needs --tls-cert and --tls-key"
        )))
    }
}

/// Serves `profiles` until `stop` is set (SIGTERM, SIGINT), then returns. `on_ready`
/// runs once the first tokens are in and the address is bound.
pub fn run(
    unlocked: Unlocked,
    profiles: Vec<String>,
    options: Options,
    stop: Arc<AtomicBool>,
    on_ready: impl FnOnce(),
) -> Result<()> {
    check_listen(options.listen, options.tls.is_some())?;
    let table: Table = Arc::new(RwLock::new(HashMap::new()));
    refresh_due(&unlocked, &profiles, &table, options.refresh_ahead)?;
    let server = match &options.tls {
        None => Server::http(options.listen),
        Some((certificate, private_key)) => Server::https(
            options.listen,
            tiny_http::SslConfig {
                certificate: certificate.clone(),
                private_key: private_key.clone(),
            },
        ),
    }
    .map_err(|e| Error::Other(format!("cannot listen on {}: {e}", options.listen)))?;
    let server = Arc::new(server);
    on_ready();
    let key = Arc::new(options.key);
    let mut threads = Vec::new();
    for _ in 0..options.workers.max(1) {
        let (server, table, key, stop) = (server.clone(), table.clone(), key.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Ok(Some(request)) = server.recv_timeout(Duration::from_millis(200)) {
                    answer(request, &table, &key);
                }
            }
        }));
    }
    // This thread keeps the tokens fresh until stopped.
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(500));
        if let Err(e) = refresh_due(&unlocked, &profiles, &table, options.refresh_ahead) {
            eprintln!("vault serve: {e}");
        }
    }
    for thread in threads {
        let _ = thread.join();
    }
    Ok(())
}

/// Refreshes the profiles whose tokens are missing, close to expiry, or failed a while
/// ago; keeps valid cached tokens from the vault as they are.
fn refresh_due(
    unlocked: &Unlocked,
    profiles: &[String],
    table: &Table,
    ahead: SignedDuration,
) -> Result<()> {
    let now = Timestamp::now();
    let due: Vec<String> = {
        let served = table.read().unwrap_or_else(|e| e.into_inner());
        profiles
            .iter()
            .filter(|name| match served.get(*name) {
                Some(Served::Token(token)) => !token.valid_for(ahead, now),
                Some(Served::Failed { at, .. }) => at.elapsed() >= RETRY_FAILED_AFTER,
                None => true,
            })
            .cloned()
            .collect()
    };
    if due.is_empty() {
        return Ok(());
    }
    let vault = unlocked.reload()?;
    let (cached, stale): (Vec<String>, Vec<String>) = due.into_iter().partition(|name| {
        vault
            .profiles
            .get(name)
            .and_then(|p| p.access_token.as_ref())
            .is_some_and(|t| t.valid_for(ahead, now))
    });
    let mut fresh: Vec<(String, Served)> = cached
        .into_iter()
        .filter_map(|name| {
            let token = vault.profiles.get(&name)?.access_token.clone()?;
            Some((name, Served::Token(token)))
        })
        .collect();
    if !stale.is_empty() {
        let outcomes = TokenService::from_env()?.refresh(
            unlocked,
            &vault,
            &stale,
            crate::tokens::DEFAULT_CONCURRENCY.into(),
            |_| {},
        )?;
        fresh.extend(outcomes.into_iter().map(|outcome| {
            let served = match outcome.result {
                Ok(token) => Served::Token(token),
                Err(e) => Served::Failed {
                    message: e.to_string(),
                    at: Instant::now(),
                },
            };
            (outcome.profile, served)
        }));
    }
    let mut served = table.write().unwrap_or_else(|e| e.into_inner());
    served.extend(fresh);
    Ok(())
}

fn json(status: u16, body: serde_json::Value) -> Response<std::io::Cursor<Vec<u8>>> {
    Response::from_data(body.to_string().into_bytes())
        .with_status_code(status)
        .with_header(
            Header::from_bytes("Content-Type", "application/json").expect("constant header"),
        )
        .with_header(Header::from_bytes("Cache-Control", "no-store").expect("constant header"))
}

fn authorized(request: &Request, key: &Secret) -> bool {
    request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .and_then(|h| h.value.as_str().strip_prefix("Bearer "))
        .is_some_and(|given| bool::from(given.as_bytes().ct_eq(key.expose().as_bytes())))
}

fn answer(request: Request, table: &Table, key: &Secret) {
    let response = if !authorized(&request, key) {
        json(
            401,
            serde_json::json!({"error": "missing or wrong bearer key"}),
        )
        .with_header(Header::from_bytes("WWW-Authenticate", "Bearer").expect("constant header"))
    } else if *request.method() != tiny_http::Method::Get {
        json(
            405,
            serde_json::json!({"error": "only GET /token/PROFILE is served"}),
        )
    } else {
        match request.url().strip_prefix("/token/") {
            Some(profile) => {
                let served = table.read().unwrap_or_else(|e| e.into_inner());
                match served.get(profile) {
                    Some(Served::Token(token)) => json(
                        200,
                        serde_json::json!({
                            "access_token": token.token.expose(),
                            "expires_at": token.expires_at.to_string(),
                        }),
                    ),
                    Some(Served::Failed { message, .. }) => {
                        json(503, serde_json::json!({"error": message}))
                    }
                    None => json(
                        404,
                        serde_json::json!({"error": format!("profile '{}' is not served", crate::http::printable(profile))}),
                    ),
                }
            }
            None => json(
                404,
                serde_json::json!({"error": "only GET /token/PROFILE is served"}),
            ),
        }
    };
    let _ = request.respond(response);
}
