//! The proxy's usage-plan buckets, one per (app client id, selling partner,
//! operation): kept in this process, or in Redis so that proxies on several
//! machines share Amazon's limits. Both reserve tokens first come, first served.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::api::operations::UsagePlan;
use crate::api::pacing::Bucket;

/// How long a Redis call may take before the local buckets answer instead.
const REDIS_TIMEOUT: Duration = Duration::from_millis(500);
/// After Redis failed, how long the local buckets answer before Redis is tried again.
const REDIS_RETRY_AFTER: Duration = Duration::from_secs(5);

/// The bucket state in Redis: a hash of `tokens` and `at` (Redis's own clock, so
/// every proxy agrees on the time). Tokens may go below zero: they are owed to
/// requests waiting their turn. Returns the wait in seconds, or `-wait` when that
/// is longer than the longest wait allowed (nothing reserved then); a drain keeps
/// only what is owed.
const RESERVE_SCRIPT: &str = r"
local rate, burst, max_wait = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local result = 0
if ARGV[4] == 'drain' then
  tokens = math.min(tokens, 0)
elseif tokens < 1 then
  local wait = (1 - tokens) / rate
  if wait > max_wait then
    result = -wait
  else
    tokens = tokens - 1
    result = wait
  end
else
  tokens = tokens - 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return tostring(result)
";

/// Where the buckets live.
pub struct Limits {
    local: Mutex<HashMap<String, Bucket>>,
    shared: Option<Shared>,
}

struct Shared {
    client: redis::Client,
    /// Made on first use, on the serving runtime that drives it.
    connection: tokio::sync::OnceCell<redis::aio::ConnectionManager>,
    script: redis::Script,
    /// Where it is, for what is said when it fails.
    address: String,
    /// Set while Redis is failing and the local buckets answer.
    down: AtomicBool,
    down_since: Mutex<Option<Instant>>,
}

impl Limits {
    pub fn local() -> Self {
        Limits {
            local: Mutex::default(),
            shared: None,
        }
    }

    /// Buckets in the Redis at `url` (`redis://HOST:PORT/DB`). A URL that is none
    /// is an error; a Redis that does not answer now is said at once, and the local
    /// buckets answer until it does.
    pub fn shared(url: &str) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| {
            format!("--shared-limits {url} is not a Redis URL like redis://127.0.0.1:6379/0 ({e})")
        })?;
        let address = client.get_connection_info().addr().to_string();
        let shared = Shared {
            client,
            connection: tokio::sync::OnceCell::new(),
            script: redis::Script::new(RESERVE_SCRIPT),
            address,
            down: AtomicBool::new(false),
            down_since: Mutex::new(None),
        };
        let answered = shared
            .client
            .get_connection_with_timeout(REDIS_TIMEOUT * 4)
            .and_then(|mut check| redis::cmd("PING").query::<String>(&mut check));
        if let Err(e) = answered {
            shared.failed(&e.to_string());
        }
        Ok(Limits {
            local: Mutex::default(),
            shared: Some(shared),
        })
    }

    /// Whether the buckets are shared through Redis right now (false while it fails).
    pub fn shared_up(&self) -> Option<bool> {
        self.shared
            .as_ref()
            .map(|shared| !shared.down.load(Ordering::Relaxed))
    }

    /// Reserves a token of bucket `key`: the wait before sending, or `Err` with the
    /// wait it would have been when that is longer than `max_wait`.
    pub async fn reserve(
        &self,
        key: &str,
        plan: UsagePlan,
        max_wait: Duration,
    ) -> Result<Duration, Duration> {
        if let Some(shared) = self.usable_shared()
            && let Some(result) = shared.run(key, plan, max_wait, "reserve").await
        {
            return result;
        }
        self.with_local(key, plan, |bucket| bucket.reserve(Instant::now(), max_wait))
    }

    /// Amazon answered 429 for bucket `key`: it is empty.
    pub async fn drain(&self, key: &str, plan: UsagePlan) {
        if let Some(shared) = self.usable_shared()
            && shared
                .run(key, plan, Duration::ZERO, "drain")
                .await
                .is_some()
        {
            return;
        }
        self.with_local(key, plan, |bucket| bucket.drain(Instant::now()));
    }

    fn with_local<T>(&self, key: &str, plan: UsagePlan, act: impl FnOnce(&mut Bucket) -> T) -> T {
        let mut buckets = self.local.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets
            .entry(key.to_owned())
            .or_insert_with(|| Bucket::full(plan, Instant::now()));
        act(bucket)
    }

    /// Redis, unless it failed a moment ago.
    fn usable_shared(&self) -> Option<&Shared> {
        let shared = self.shared.as_ref()?;
        if shared.down.load(Ordering::Relaxed) {
            let since = *shared.down_since.lock().unwrap_or_else(|e| e.into_inner());
            if since.is_some_and(|at| at.elapsed() < REDIS_RETRY_AFTER) {
                return None;
            }
        }
        Some(shared)
    }
}

impl Shared {
    /// Runs the script; `None` when Redis failed (said once, until it answers again).
    async fn run(
        &self,
        key: &str,
        plan: UsagePlan,
        max_wait: Duration,
        action: &str,
    ) -> Option<Result<Duration, Duration>> {
        let connect = self
            .connection
            .get_or_try_init(|| redis::aio::ConnectionManager::new(self.client.clone()));
        let mut connection = self.answered(connect).await?.clone();
        let mut invocation = self.script.key(format!("spvault:bucket:{key}"));
        invocation
            .arg(plan.rate)
            .arg(plan.burst)
            .arg(max_wait.as_secs_f64())
            .arg(action);
        let text: String = self
            .answered(invocation.invoke_async(&mut connection))
            .await?;
        let seconds = text.parse::<f64>().ok();
        let Some(seconds) = seconds.filter(|s| s.is_finite()) else {
            self.failed("an answer that is not a number");
            return None;
        };
        if self.down.swap(false, Ordering::Relaxed) {
            eprintln!(
                "vault proxy: Redis at {} answers again: the usage-plan buckets are shared again",
                self.address
            );
        }
        Some(if seconds < 0.0 {
            Err(Duration::from_secs_f64(-seconds))
        } else {
            Ok(Duration::from_secs_f64(seconds))
        })
    }

    /// What Redis answered within the time allowed; `None` (said) when it failed.
    async fn answered<T>(
        &self,
        call: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Option<T> {
        match tokio::time::timeout(REDIS_TIMEOUT, call).await {
            Ok(Ok(answer)) => Some(answer),
            Ok(Err(e)) => {
                self.failed(&e.to_string());
                None
            }
            Err(_) => {
                self.failed("no answer");
                None
            }
        }
    }

    fn failed(&self, why: &str) {
        *self.down_since.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        if !self.down.swap(true, Ordering::Relaxed) {
            eprintln!(
                "vault proxy: Redis at {} failed ({why}): pacing with this proxy's own buckets until it answers",
                self.address
            );
        }
    }
}
