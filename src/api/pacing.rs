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

    /// Reserves the next token, first come first served: how long to wait before
    /// sending (zero when a token is there), or, when that is longer than `max_wait`,
    /// `Err` with how long it would have been (nothing is reserved then). Reserved
    /// tokens are owed: the bucket goes below zero, so later requests queue behind.
    pub fn reserve(&mut self, now: Instant, max_wait: Duration) -> Result<Duration, Duration> {
        self.refill(now);
        let wait = if self.tokens >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - self.tokens) / self.plan.rate)
        };
        if wait > max_wait {
            return Err(wait);
        }
        self.tokens -= 1.0;
        Ok(wait)
    }

    /// Amazon answered 429: its bucket is empty, whatever this one counted (tokens
    /// already owed stay owed).
    pub fn drain(&mut self, now: Instant) {
        self.refill(now);
        self.tokens = self.tokens.min(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FOREVER: Duration = Duration::from_secs(3600);

    #[test]
    fn a_burst_goes_at_once_then_one_request_per_token_in_turn() {
        let start = Instant::now();
        let mut bucket = Bucket::full(
            UsagePlan {
                rate: 0.5,
                burst: 2,
            },
            start,
        );
        assert_eq!(bucket.reserve(start, FOREVER), Ok(Duration::ZERO));
        assert_eq!(bucket.reserve(start, FOREVER), Ok(Duration::ZERO));
        assert_eq!(bucket.reserve(start, FOREVER), Ok(Duration::from_secs(2)));
        assert_eq!(
            bucket.reserve(start, FOREVER),
            Ok(Duration::from_secs(4)),
            "in turn"
        );
        assert_eq!(
            bucket.reserve(start, Duration::from_secs(5)),
            Err(Duration::from_secs(6)),
            "too long: refused, nothing reserved"
        );
        let later = start + Duration::from_secs(5);
        assert_eq!(bucket.reserve(later, FOREVER), Ok(Duration::from_secs(1)));
        let refilled = start + Duration::from_secs(600);
        assert_eq!(bucket.reserve(refilled, FOREVER), Ok(Duration::ZERO));
        assert_eq!(bucket.reserve(refilled, FOREVER), Ok(Duration::ZERO));
        assert_eq!(
            bucket.reserve(refilled, FOREVER),
            Ok(Duration::from_secs(2)),
            "never above burst"
        );
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
        let wait = bucket.reserve(start, FOREVER).unwrap();
        assert!((59.0..61.0).contains(&wait.as_secs_f64()), "{wait:?}");
    }
}
