//! `serve` and `proxy` answer thousands of requests a minute: one entry per client
//! address, key, profile and minute, with a count, written when the minute ends.
//! While entries cannot be written the servers refuse to hand out credentials.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;

use super::{AuditError, Entry, Event, Log, Who};

/// How long the counts of one entry run.
const WINDOW: Duration = Duration::from_secs(60);
/// How soon a failed write is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(5);

type Counts = HashMap<(IpAddr, &'static str), HashMap<String, u64>>;

pub struct Answers {
    log: Log,
    event: Event,
    counts: Mutex<(Timestamp, Counts)>,
    failing: AtomicBool,
}

impl Answers {
    pub fn new(log: Log, event: Event) -> Arc<Answers> {
        Arc::new(Answers {
            log,
            event,
            counts: Mutex::new((Timestamp::now(), HashMap::new())),
            failing: AtomicBool::new(false),
        })
    }

    /// Counts one credential handed to `client` (its address) with `key` (which
    /// kind it presented) for `profile`.
    pub fn count(&self, client: IpAddr, key: &'static str, profile: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let by_profile = counts.1.entry((client, key)).or_default();
        match by_profile.get_mut(profile) {
            Some(count) => *count += 1,
            None => {
                by_profile.insert(profile.to_owned(), 1);
            }
        }
    }

    /// The log the counts go to, for entries written at once (RDTs).
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// Whether the last write failed: then no credential may leave.
    pub fn failing(&self) -> bool {
        self.failing.load(Ordering::Relaxed)
    }

    /// Writes the counts since the last flush, one entry each; those that could not
    /// be written stay, to be written by the next flush.
    pub fn flush(&self) -> Result<(), AuditError> {
        let (since, counts) = {
            let mut guard = self.counts.lock().unwrap_or_else(|e| e.into_inner());
            let since = guard.0;
            guard.0 = Timestamp::now();
            (since, std::mem::take(&mut guard.1))
        };
        let mut left: Counts = HashMap::new();
        let mut result = Ok(());
        for ((client, key), by_profile) in counts {
            for (profile, count) in by_profile {
                if result.is_err() {
                    left.entry((client, key))
                        .or_default()
                        .insert(profile, count);
                    continue;
                }
                let mut entry = Entry::new(self.event)
                    .profile(profile.clone())
                    .credential("access_token");
                entry.time = since;
                entry.count = Some(count);
                entry.who = Who::Client {
                    client: client.to_string(),
                    key: key.into(),
                };
                if let Err(e) = self.log.record(entry) {
                    left.entry((client, key))
                        .or_default()
                        .insert(profile, count);
                    result = Err(e);
                }
            }
        }
        if !left.is_empty() {
            let mut guard = self.counts.lock().unwrap_or_else(|e| e.into_inner());
            guard.0 = since;
            for (who, by_profile) in left {
                let merged = guard.1.entry(who).or_default();
                for (profile, count) in by_profile {
                    *merged.entry(profile).or_default() += count;
                }
            }
        }
        self.failing.store(result.is_err(), Ordering::Relaxed);
        result
    }

    /// Flushes every minute (sooner again after a failure, saying so on stderr)
    /// until `stop`, then once more.
    pub fn spawn_flusher(self: &Arc<Self>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
        let answers = self.clone();
        std::thread::spawn(move || {
            let mut waited = Duration::ZERO;
            let step = Duration::from_millis(100);
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(step);
                waited += step;
                let due = if answers.failing() {
                    RETRY_AFTER
                } else {
                    WINDOW
                };
                if waited >= due {
                    waited = Duration::ZERO;
                    if let Err(e) = answers.flush() {
                        eprintln!(
                            "vault: {e}; refusing to hand out credentials until it can be written"
                        );
                    }
                }
            }
            if let Err(e) = answers.flush() {
                eprintln!("vault: {e}");
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::model::AuditSetting;

    #[test]
    fn answers_are_counted_per_client_key_and_profile() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::with_setting(dir.path().join("v.audit"), Some(&AuditSetting::new(true)));
        let answers = Answers::new(log, Event::Proxy);
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..5 {
            answers.count(local, "key", "p1");
        }
        answers.count(local, "token", "p1");
        answers.count(local, "key", "p2");
        answers.flush().unwrap();
        let mut counts: Vec<(String, u64)> = answers
            .log
            .entries()
            .unwrap()
            .0
            .into_iter()
            .map(|e| {
                (
                    format!("{:?} {}", e.who, e.profile.unwrap()),
                    e.count.unwrap(),
                )
            })
            .collect();
        counts.sort();
        assert_eq!(counts.len(), 3, "{counts:?}");
        assert!(
            counts
                .iter()
                .any(|(who, n)| who.contains("\"key\"") && who.ends_with("p1") && *n == 5)
        );
        answers.flush().unwrap();
        assert_eq!(
            answers.log.entries().unwrap().0.len(),
            3,
            "an empty minute writes nothing"
        );
        assert!(!answers.failing());
    }
}
