//! What `GET /_spvault/metrics` shows, in the Prometheus text format: requests,
//! upstream answers, waits and upstream latency per operation, tokens obtained,
//! and whether the buckets are shared through Redis.

use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;
type Histograms = Family<Labels, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    upstream: Family<Labels, Counter>,
    waited: Histograms,
    latency: Histograms,
    tokens: Family<Labels, Counter>,
    shared_limits: Gauge,
}

fn seconds_histogram() -> Histogram {
    // 1 ms to about 65 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("spvault_proxy");
        let requests = Family::<Labels, Counter>::default();
        let upstream = Family::<Labels, Counter>::default();
        let waited: Histograms = Family::new_with_constructor(seconds_histogram);
        let latency: Histograms = Family::new_with_constructor(seconds_histogram);
        let tokens = Family::<Labels, Counter>::default();
        let shared_limits = Gauge::default();
        registry.register(
            "requests",
            "Requests answered, by profile, operation and status",
            requests.clone(),
        );
        registry.register(
            "upstream_responses",
            "SP-API answers, by operation and status",
            upstream.clone(),
        );
        registry.register(
            "wait_seconds",
            "Time requests waited for the usage plan, by operation",
            waited.clone(),
        );
        registry.register(
            "upstream_seconds",
            "SP-API latency, by operation",
            latency.clone(),
        );
        registry.register(
            "tokens_obtained",
            "Restricted Data Tokens and proxy tokens handed out, by kind",
            tokens.clone(),
        );
        registry.register(
            "shared_limits_up",
            "1 while the buckets are shared through Redis, 0 while this proxy paces alone",
            shared_limits.clone(),
        );
        Metrics {
            registry,
            requests,
            upstream,
            waited,
            latency,
            tokens,
            shared_limits,
        }
    }

    pub fn request(&self, profile: &str, operation: &str, status: u16) {
        self.requests
            .get_or_create(&vec![
                ("profile", profile.to_owned()),
                ("operation", operation.to_owned()),
                ("status", status.to_string()),
            ])
            .inc();
    }

    pub fn upstream(&self, operation: &str, status: u16, latency: Duration) {
        self.upstream
            .get_or_create(&vec![
                ("operation", operation.to_owned()),
                ("status", status.to_string()),
            ])
            .inc();
        self.latency
            .get_or_create(&vec![("operation", operation.to_owned())])
            .observe(latency.as_secs_f64());
    }

    pub fn waited(&self, operation: &str, wait: Duration) {
        self.waited
            .get_or_create(&vec![("operation", operation.to_owned())])
            .observe(wait.as_secs_f64());
    }

    pub fn token(&self, kind: &'static str) {
        self.tokens
            .get_or_create(&vec![("kind", kind.to_owned())])
            .inc();
    }

    /// The metrics as text; `shared_up` is whether Redis answers (`None`: not used).
    pub fn render(&self, shared_up: Option<bool>) -> String {
        self.shared_limits
            .set(i64::from(shared_up.unwrap_or(false)));
        let mut text = String::new();
        encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }
}
