//! `vault serve`: a local token endpoint for long-running services. Tokens are
//! refreshed ahead of expiry in the background, so callers never wait on Amazon and a
//! refresh happens once however many callers ask. Every request must carry the
//! bearer key; it is compared in constant time.

mod endpoint;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use tokio_rustls::rustls::ServerConfig;

use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::server::listener::Handler;
pub use crate::server::listener::Limits;
use crate::settings::Network;
use crate::tokens::TokenService;
use crate::vault::payload::Selection;
use crate::vault::{Unlocked, Vault};
use endpoint::Endpoint;
pub use endpoint::{Served, Table};

/// How long a profile whose refresh failed waits before it is tried again.
const RETRY_FAILED_AFTER: Duration = Duration::from_secs(60);
/// How often the background refresh looks for tokens close to expiry.
const REFRESH_CHECK_EVERY: Duration = Duration::from_millis(500);
/// A token with less than this left (or than `--refresh-ahead`, if shorter) is never
/// handed out: the caller would find it expired in its hands.
const MIN_SERVED_VALIDITY: SignedDuration = SignedDuration::from_secs(60);

pub struct Options {
    pub listen: SocketAddr,
    /// The TLS set-up, for addresses other than loopback.
    pub tls: Option<Arc<ServerConfig>>,
    pub key: Secret,
    /// Tokens with less than this left are refreshed in the background.
    pub refresh_ahead: SignedDuration,
    pub workers: usize,
    pub limits: Limits,
    /// For the refreshes.
    pub network: Network,
    /// The access log's counts of tokens handed out.
    pub answers: Arc<crate::audit::Answers>,
}

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
/// runs with the bound address once the first tokens are in. When the vault's key
/// changes (`vault passwd`), `reopen` gives the new one, without asking anybody;
/// when it cannot, `run` stops serving and says why. Fails when the listener dies,
/// so a service manager sees the server is gone.
pub fn run(
    unlocked: Unlocked,
    reopen: impl Fn() -> Result<Unlocked>,
    profiles: Vec<String>,
    options: Options,
    stop: Arc<AtomicBool>,
    on_ready: impl FnOnce(SocketAddr),
) -> Result<()> {
    let key = options.key.clone();
    let answers = options.answers.clone();
    run_with(
        unlocked,
        reopen,
        profiles,
        options,
        stop,
        on_ready,
        |table, margin| {
            Arc::new(Endpoint {
                table,
                key,
                margin,
                answers,
            })
        },
    )
}

/// The same with the handler `handler` makes of the token table (and the margin
/// a served token keeps), which this keeps fresh in the background: the server
/// stack `vault proxy` shares.
pub fn run_with<H: Handler>(
    mut unlocked: Unlocked,
    reopen: impl Fn() -> Result<Unlocked>,
    profiles: Vec<String>,
    options: Options,
    stop: Arc<AtomicBool>,
    on_ready: impl FnOnce(SocketAddr),
    handler: impl FnOnce(Table, SignedDuration) -> Arc<H>,
) -> Result<()> {
    check_listen(options.listen, options.tls.is_some())?;
    let table: Table = Arc::new(RwLock::new(HashMap::new()));
    let (ahead, network) = (options.refresh_ahead, options.network.clone());
    let margin = ahead.min(MIN_SERVED_VALIDITY);
    refresh_due(&unlocked, &profiles, &table, ahead, &network)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.workers.max(1))
        .enable_all()
        .build()
        .map_err(|e| Error::Other(format!("cannot start the server's threads: {e}")))?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(options.listen))
        .map_err(|e| Error::Other(format!("cannot listen on {}: {e}", options.listen)))?;
    let bound = listener.local_addr().unwrap_or(options.listen);
    let endpoint = handler(table.clone(), margin);
    let (stopping, stopped) = tokio::sync::watch::channel(false);
    let tls = options.tls.map(tokio_rustls::TlsAcceptor::from);
    let server = runtime.spawn(crate::server::listener::serve(
        listener,
        tls,
        endpoint,
        options.limits,
        stopped,
    ));
    on_ready(bound);
    let flushing_done = Arc::new(AtomicBool::new(false));
    let flusher = options.answers.spawn_flusher(flushing_done.clone());
    // This thread keeps the tokens fresh until stopped, or until the server ends.
    let mut gone = None;
    while !stop.load(Ordering::Relaxed) && !server.is_finished() {
        std::thread::sleep(REFRESH_CHECK_EVERY);
        match refresh_due(&unlocked, &profiles, &table, ahead, &network) {
            Ok(()) => {}
            Err(Error::PassphraseChanged(_)) => match reopen() {
                Ok(reopened) => unlocked = reopened,
                Err(e) => {
                    gone = Some(e);
                    break;
                }
            },
            Err(e) => {
                eprintln!("vault serve: {e}");
                give_up_expiring(&table, margin, &e);
            }
        }
    }
    let _ = stopping.send(true);
    let served = runtime.block_on(server);
    // The last minute's counts are written once no more answers go out.
    flushing_done.store(true, Ordering::Relaxed);
    let _ = flusher.join();
    if let Some(e) = gone {
        return Err(Error::Other(format!(
            "the vault's key changed (vault passwd?) and no identity file or unlocked agent gives the new one ({}): no longer serving",
            e.in_full()
        ))
        .with_hint("start `vault serve` again, or run it with --identity or under `vault unlock`"));
    }
    match served {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(Error::Other(format!(
            "the listener on {bound} failed ({e}): no longer serving"
        ))
        .with_hint("start `vault serve` again")),
        Err(_) => Err(Error::Other(format!(
            "the listener on {bound} stopped unexpectedly: no longer serving"
        ))
        .with_hint("start `vault serve` again")),
    }
}

/// The vault with the profiles `due`, read from the file now; a profile whose record
/// is damaged is left out and answered with why, so the others are still served.
fn read_due(unlocked: &Unlocked, due: &[String]) -> Result<(Vault, Vec<(String, Served)>)> {
    let names: Vec<&str> = due.iter().map(String::as_str).collect();
    let salvaged = unlocked.reload(Selection::Only(&names))?;
    let damaged = salvaged
        .damaged
        .iter()
        .map(|damaged| {
            let failed = Served::Failed {
                message: damaged.error(unlocked.file()).in_full(),
                at: Instant::now(),
            };
            (damaged.profile.clone(), failed)
        })
        .collect();
    Ok((salvaged.vault, damaged))
}

/// After the vault could not be read: the tokens that no longer have `margin` left
/// are answered with why, not handed out.
fn give_up_expiring(table: &Table, margin: SignedDuration, error: &Error) {
    let now = Timestamp::now();
    let mut served = table.write().unwrap_or_else(|e| e.into_inner());
    for entry in served.values_mut() {
        if matches!(entry, Served::Token(token) if !token.valid_for(margin, now)) {
            *entry = Served::Failed {
                message: format!("no fresh token: {}", error.in_full()),
                at: Instant::now(),
            };
        }
    }
}

/// Refreshes the profiles whose tokens are missing, close to expiry, or failed a while
/// ago; keeps valid cached tokens from the vault as they are. Reads only those
/// profiles, so damage to another profile's record does not stop them.
fn refresh_due(
    unlocked: &Unlocked,
    profiles: &[String],
    table: &Table,
    ahead: SignedDuration,
    network: &Network,
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
    let (vault, damaged) = read_due(unlocked, &due)?;
    let readable = due
        .into_iter()
        .filter(|name| !damaged.iter().any(|(d, _)| d == name));
    let (cached, stale): (Vec<String>, Vec<String>) = readable.partition(|name| {
        vault
            .profiles
            .get(name)
            .and_then(|p| p.access_token.as_ref())
            .is_some_and(|t| t.valid_for(ahead, now))
    });
    let mut fresh: Vec<(String, Served)> = damaged;
    fresh.extend(cached.into_iter().filter_map(|name| {
        let token = vault.profiles.get(&name)?.access_token.clone()?;
        Some((name, Served::Token(token)))
    }));
    if !stale.is_empty() {
        let outcomes = TokenService::new(network)?
            .refresh(
                unlocked,
                &vault,
                &stale,
                crate::tokens::DEFAULT_CONCURRENCY.into(),
                |_| {},
            )?
            .saved()?;
        fresh.extend(outcomes.into_iter().map(|outcome| {
            let served = match outcome.result {
                Ok(token) => Served::Token(token),
                Err(e) => {
                    // The operator reads this, not only the clients that get the 503.
                    eprintln!(
                        "vault serve: profile '{}' is not served (503) until a refresh succeeds, tried again every minute: {}",
                        outcome.profile,
                        e.in_full()
                    );
                    Served::Failed {
                        message: e.in_full(),
                        at: Instant::now(),
                    }
                }
            };
            (outcome.profile, served)
        }));
    }
    let mut served = table.write().unwrap_or_else(|e| e.into_inner());
    served.extend(fresh);
    Ok(())
}
