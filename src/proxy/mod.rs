//! `vault proxy`: a local HTTP endpoint that speaks SP-API, so that programs in any
//! language call SP-API with no credential in them. It stands on the server stack
//! and token upkeep of `vault serve`; `handler` answers, `credentials` says who may
//! ask, `limits` paces to Amazon's usage plans (locally or through Redis), and
//! `metrics` counts.

mod credentials;
mod handler;
mod limits;
mod metrics;
mod upstream;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::serve;
use crate::spapi_client::SpApiClient;
use crate::vault::{Unlocked, Vault};
use handler::{Proxy, Route};

pub struct Options {
    /// The server's set-up, as `vault serve` has it (the key is the proxy key).
    pub serve: serve::Options,
    /// How long a request may wait its turn in a usage-plan bucket.
    pub max_wait: Duration,
    /// `redis://HOST:PORT/DB`, to share the buckets with other proxies.
    pub shared_limits: Option<String>,
    /// One line per request on stderr (not under `exec --proxy`, where stderr is
    /// the command's).
    pub log_requests: bool,
}

/// Proxies `profiles` until `stop` is set, then returns; `on_ready` runs with the
/// bound address once the first tokens are in.
pub fn run(
    unlocked: Unlocked,
    reopen: impl Fn() -> Result<Unlocked>,
    vault: &Vault,
    profiles: Vec<String>,
    options: Options,
    stop: Arc<AtomicBool>,
    on_ready: impl FnOnce(SocketAddr),
) -> Result<()> {
    let network = options.serve.network.clone();
    let mut routes = HashMap::new();
    for name in &profiles {
        let (profile, app) = vault.profile_with_app(name)?;
        let seller = profile.selling_partner_id.as_deref().unwrap_or(name);
        let client = SpApiClient::for_server(profile.region, profile.sandbox, &network)?;
        let upstream = upstream::Upstream::new(
            &client.url("/"),
            network.request_timeout,
            client.http.clone(),
        )
        .map_err(Error::Other)?;
        routes.insert(
            name.clone(),
            Route {
                client,
                upstream,
                meter: format!("{}:{seller}", app.client_id),
            },
        );
    }
    let limits = match &options.shared_limits {
        None => limits::Limits::local(),
        Some(url) => limits::Limits::shared(url).map_err(Error::Invalid)?,
    };
    let credentials = credentials::Credentials::new(options.serve.key.clone());
    let (max_wait, log_requests) = (options.max_wait, options.log_requests);
    let answers = options.serve.answers.clone();
    serve::run_with(
        unlocked,
        reopen,
        profiles,
        options.serve,
        stop,
        on_ready,
        move |table, _margin| {
            Arc::new(Proxy {
                table,
                routes,
                credentials,
                limits,
                metrics: metrics::Metrics::new(),
                max_wait,
                log_requests,
                restricted: Mutex::default(),
                pieces: Mutex::default(),
                answers,
            })
        },
    )
}
