//! Pacing requests to an operation's usage plan, as Amazon meters them: a token
//! bucket that starts full with `burst` tokens and refills at `rate` per second.
//! A hand-written bucket rather than a rate-limiting crate because a 429 must empty
//! it (Amazon's count, not ours, is the truth) and callers need to know how long
//! the next token is away, to say so or to give up.

use std::time::{Duration, Instant};

use super::operations::UsagePlan;

#[derive(Debug, Clone)]
pub struct Bucket {
    plan: UsagePlan,
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    /// A full bucket for `plan`, as Amazon's are before the first request.
    pub fn full(plan: UsagePlan, now: Instant) -> Self {
        Bucket {
            plan,
            tokens: f64::from(plan.burst),
            updated: now,
        }
    }

    pub fn plan(&self) -> UsagePlan {
        self.plan
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.plan.rate).min(f64::from(self.plan.burst));
        self.updated = now;
    }

    /// How long until a token is there (zero when one is).
    pub fn wait(&mut self, now: Instant) -> Duration {
        self.refill(now);
        if self.tokens >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - self.tokens) / self.plan.rate)
        }
    }

    /// Takes a token for a request sent now; the caller waited `wait(now)` first.
    pub fn take(&mut self, now: Instant) {
        self.refill(now);
        self.tokens = (self.tokens - 1.0).max(0.0);
    }

    /// Amazon answered 429: its bucket is empty, whatever this one counted.
    pub fn drain(&mut self, now: Instant) {
        self.refill(now);
        self.tokens = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_goes_at_once_then_one_request_per_token() {
        let start = Instant::now();
        let mut bucket = Bucket::full(
            UsagePlan {
                rate: 0.5,
                burst: 2,
            },
            start,
        );
        for _ in 0..2 {
            assert_eq!(bucket.wait(start), Duration::ZERO);
            bucket.take(start);
        }
        assert_eq!(bucket.wait(start), Duration::from_secs(2));
        let later = start + Duration::from_secs(1);
        assert_eq!(bucket.wait(later), Duration::from_secs(1));
        let refilled = start + Duration::from_secs(60);
        assert_eq!(bucket.wait(refilled), Duration::ZERO, "never above burst");
        bucket.take(refilled);
        bucket.take(refilled);
        assert_eq!(bucket.wait(refilled), Duration::from_secs(2));
    }

    #[test]
    fn a_429_empties_the_bucket() {
        let start = Instant::now();
        let mut bucket = Bucket::full(
            UsagePlan {
                rate: 0.0167,
                burst: 20,
            },
            start,
        );
        bucket.drain(start);
        let wait = bucket.wait(start);
        assert!((59.0..61.0).contains(&wait.as_secs_f64()), "{wait:?}");
    }
}
