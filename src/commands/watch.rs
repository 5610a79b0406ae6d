//! `vault app watch`, and the waiting of `vault app rotate-secret --wait`: the apps'
//! notification queues, long-polled, each message handled by `secret_rotation` and
//! deleted only once it is done with.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::cli::AppWatchArgs;
use crate::error::{Coded, Error, ExitCode, Result};
use crate::secret_rotation::{self, Disposition, Handled, Policy};
use crate::settings::Settings;
use crate::sqs::{QueueUrl, Sqs, SqsError};
use crate::unlock;
use crate::vault::Unlocked;
use crate::vault::file::VaultFile;
use crate::vault::model::Vault;
use crate::vault::payload::Selection;

/// How long a watching receive waits for a message (SQS's longest long poll).
const LONG_POLL: Duration = Duration::from_secs(20);
/// `--once` asks every SQS server (a long poll) but does not wait for new messages.
pub const ONCE_POLL: Duration = Duration::from_secs(1);
/// After a failed receive, the first and the longest pause before the next.
const FIRST_BACKOFF: Duration = Duration::from_secs(5);
const LONGEST_BACKOFF: Duration = Duration::from_secs(300);

/// Messages left on the queue: 6 when one needs a person, 7 when each only waits for
/// Amazon to be reachable again.
#[derive(Debug, thiserror::Error)]
#[error("{} stayed on the queue (see above)", crate::error::count(*.attention + *.retry, "message"))]
pub struct LeftOnQueue {
    attention: usize,
    retry: usize,
}

impl Coded for LeftOnQueue {
    fn exit_code(&self) -> ExitCode {
        if self.attention > 0 {
            ExitCode::Rejected
        } else {
            ExitCode::Unreachable
        }
    }
}

/// A queue that could not be read, named with its apps.
#[derive(Debug, thiserror::Error)]
#[error("queue of {apps}: {source}")]
pub struct QueueFailed {
    apps: String,
    source: SqsError,
}

impl Coded for QueueFailed {
    fn exit_code(&self) -> ExitCode {
        self.source.exit_code()
    }

    fn hint(&self) -> Option<String> {
        self.source.hint()
    }
}

/// `rotate-secret --wait` waited in vain.
#[derive(Debug, thiserror::Error)]
#[error("no new client secret for app '{app}' arrived on {queue} within {}", crate::duration::short_std(*.waited))]
pub struct NoSecretArrived {
    app: String,
    queue: String,
    waited: Duration,
}

impl Coded for NoSecretArrived {
    fn exit_code(&self) -> ExitCode {
        ExitCode::Unreachable
    }

    fn hint(&self) -> Option<String> {
        Some(after_rotation_started(&self.app))
    }
}

/// What to do once a rotation has started and its secret was not stored (yet).
fn after_rotation_started(app: &str) -> String {
    format!(
        "Amazon started the rotation, so do not start another: store the new secret when it arrives with `vault app watch {app} --once` (the old secret keeps working for about 7 days)"
    )
}

fn apps_text(apps: &[String]) -> String {
    match apps {
        [one] => format!("app '{one}'"),
        _ => format!("apps {}", apps.join(", ")),
    }
}

/// The queue of app `name`, or what to do about it having none.
pub fn queue_of(vault: &Vault, name: &str) -> Result<QueueUrl> {
    let app = vault.app(name)?;
    let url = app.notification_queue.as_deref().ok_or_else(|| {
        Error::Invalid(format!("app '{name}' has no notification queue"))
            .with_hint(format!("set the SQS queue URL from Developer Console › Notification preferences with `vault app edit {name} --notification-queue URL`"))
    })?;
    QueueUrl::parse(url).map_err(|e| Error::Invalid(format!("app '{name}': {e}")))
}

/// The queues to poll, each with the apps whose notifications it carries.
fn queues(vault: &Vault, named: &[String]) -> Result<Vec<(QueueUrl, Vec<String>)>> {
    let names: Vec<String> = if named.is_empty() {
        let with_queue: Vec<String> = vault
            .apps
            .iter()
            .filter(|(_, app)| app.notification_queue.is_some())
            .map(|(name, _)| name.clone())
            .collect();
        if with_queue.is_empty() {
            return Err(Error::Invalid("no app has a notification queue to watch".into())
                .with_hint("set each app's SQS queue URL from Developer Console › Notification preferences with `vault app edit APP --notification-queue URL`"));
        }
        with_queue
    } else {
        named.to_vec()
    };
    let mut by_queue: BTreeMap<String, (QueueUrl, Vec<String>)> = BTreeMap::new();
    for name in names {
        let queue = queue_of(vault, &name)?;
        by_queue
            .entry(queue.as_str().to_owned())
            .or_insert_with(|| (queue, Vec::new()))
            .1
            .push(name);
    }
    Ok(by_queue.into_values().collect())
}

/// Polls queues and handles what arrives, each message at most once per run.
pub struct Watcher<'a> {
    unlocked: &'a Unlocked,
    sqs: Sqs,
    queues: Vec<(QueueUrl, Vec<String>)>,
    seen: HashSet<String>,
    policy: Policy,
    settings: &'a Settings,
    runtime: &'static tokio::runtime::Runtime,
    /// Set by SIGTERM or SIGINT: the message in hand is finished, no other taken.
    stop: Arc<AtomicBool>,
}

impl<'a> Watcher<'a> {
    /// Connects to SQS with the standard AWS chain, before anything else is done, and
    /// takes over SIGTERM and SIGINT.
    pub fn new(
        unlocked: &'a Unlocked,
        queues: Vec<(QueueUrl, Vec<String>)>,
        policy: Policy,
        settings: &'a Settings,
    ) -> Result<Self> {
        let runtime = crate::http::runtime().map_err(Error::Other)?;
        let request_timeout = settings.network()?.request_timeout;
        let sqs = runtime
            .block_on(Sqs::connect(request_timeout))
            .map_err(|e| Error::Service(Box::new(e)))?;
        let stop = Arc::new(AtomicBool::new(false));
        for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
            signal_hook::flag::register(signal, stop.clone())
                .map_err(|e| Error::Other(format!("cannot handle signals: {e}")))?;
        }
        Ok(Watcher {
            unlocked,
            sqs,
            queues,
            seen: HashSet::new(),
            policy,
            settings,
            runtime,
            stop,
        })
    }

    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// One receive on every queue, waiting up to `wait`, and each new message
    /// handled (`on_handled` hears of each). Ends early once stopped; a message in
    /// hand is finished first. Returns how many messages were new; a queue that
    /// failed while none brought anything is the error.
    pub fn round(
        &mut self,
        wait: Duration,
        mut on_handled: impl FnMut(&Handled),
    ) -> Result<usize, QueueFailed> {
        let receives = futures_util::future::join_all(
            self.queues
                .iter()
                .map(|(queue, _)| self.sqs.receive(queue, wait)),
        );
        let Some(received) = self.runtime.block_on(until_stopped(&self.stop, receives)) else {
            return Ok(0);
        };
        let mut new = 0;
        let mut failure = None;
        for ((queue, apps), messages) in self.queues.iter().zip(received) {
            let messages = match messages {
                Ok(messages) => messages,
                Err(source) => {
                    failure.get_or_insert(QueueFailed {
                        apps: apps_text(apps),
                        source,
                    });
                    continue;
                }
            };
            for message in messages {
                if self.stopped() {
                    return Ok(new);
                }
                if !self.seen.insert(message.id.clone()) {
                    continue;
                }
                new += 1;
                let handled = match self.unlocked.reload(Selection::Only(&[])) {
                    Ok(salvaged) => secret_rotation::handle(
                        self.unlocked,
                        &salvaged.vault,
                        apps,
                        message.body.expose(),
                        self.policy,
                        self.settings,
                    ),
                    Err(e) => Handled::attention(
                        None,
                        format!(
                            "cannot read the vault ({}); the message stays on the queue",
                            e.in_full()
                        ),
                    ),
                };
                let handled = if handled.disposition == Disposition::Delete {
                    match self.runtime.block_on(self.sqs.delete(queue, &message)) {
                        Ok(()) => handled,
                        // Done, but it will come back: handling it again changes nothing.
                        Err(e) => Handled {
                            disposition: Disposition::LeaveToRetry,
                            line: format!(
                                "{}, but the message could not be deleted: {e}",
                                handled.line
                            ),
                            ..handled
                        },
                    }
                } else {
                    handled
                };
                on_handled(&handled);
            }
        }
        match failure {
            Some(e) if new == 0 => Err(e),
            Some(e) => {
                eprintln!("vault app watch: {e}");
                Ok(new)
            }
            None => Ok(new),
        }
    }
}

/// `work`, unless `stop` is set first (checked every 100 ms).
async fn until_stopped<T>(stop: &AtomicBool, work: impl Future<Output = T>) -> Option<T> {
    tokio::select! {
        done = work => Some(done),
        () = async {
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        } => None,
    }
}

/// Counts what was left on the queue, by why.
#[derive(Default)]
struct Left {
    attention: usize,
    retry: usize,
}

impl Left {
    fn count(&mut self, handled: &Handled) {
        match handled.disposition {
            Disposition::LeaveForAttention => self.attention += 1,
            Disposition::LeaveToRetry => self.retry += 1,
            Disposition::Delete | Disposition::LeaveForOtherApp => {}
        }
    }

    fn into_result(self) -> Result<()> {
        if self.attention + self.retry == 0 {
            return Ok(());
        }
        Err(Error::Service(Box::new(LeftOnQueue {
            attention: self.attention,
            retry: self.retry,
        })))
    }
}

pub fn watch(file: VaultFile, args: AppWatchArgs, settings: &Settings) -> Result<()> {
    let (unlocked, vault) = unlock::open_apps(file)?;
    let queues = queues(&vault, &args.apps)?;
    let policy = Policy {
        rotate_within: args.rotate_within,
    };
    let mut watcher = Watcher::new(&unlocked, queues, policy, settings)?;
    let watched: Vec<String> = watcher
        .queues
        .iter()
        .map(|(queue, apps)| format!("{queue} ({})", apps_text(apps)))
        .collect();
    if !args.once {
        eprintln!("vault app watch: watching {}", watched.join(", "));
    }
    let mut left = Left::default();
    let mut handled_any = false;
    let mut backoff = FIRST_BACKOFF;
    while !watcher.stopped() {
        let wait = if args.once { ONCE_POLL } else { LONG_POLL };
        let round = watcher.round(wait, |handled| {
            eprintln!("vault app watch: {}", handled.line);
            left.count(handled);
            handled_any = true;
        });
        match round {
            Ok(0) if args.once => break,
            Ok(_) => backoff = FIRST_BACKOFF,
            Err(e) if args.once => return Err(Error::Service(Box::new(e))),
            Err(e) => {
                eprintln!(
                    "vault app watch: {}; trying again in {}",
                    Error::Service(Box::new(e)).in_full(),
                    crate::duration::short_std(backoff)
                );
                let until = Instant::now() + backoff;
                while Instant::now() < until && !watcher.stopped() {
                    std::thread::sleep(Duration::from_millis(100));
                }
                backoff = (backoff * 2).min(LONGEST_BACKOFF);
            }
        }
    }
    if !args.once {
        return Ok(());
    }
    if !handled_any {
        eprintln!("vault app watch: no messages on {}", watched.join(", "));
    }
    left.into_result()
}

/// Handles what app `name`'s queue holds now, before a rotation starts: this proves
/// the queue can be read, and a stale message cannot pass for the secret to come.
pub fn clear_before_rotation(watcher: &mut Watcher) -> Result<()> {
    while watcher
        .round(ONCE_POLL, |handled| {
            eprintln!("vault app rotate-secret: {}", handled.line)
        })
        .map_err(|e| Error::Service(Box::new(e)))?
        > 0
    {}
    Ok(())
}

/// Waits on app `name`'s queue until a new secret of its is stored, or `timeout`
/// passes, or a signal stops it. Other messages are handled as `app watch` would.
pub fn wait_for_new_secret(
    watcher: &mut Watcher,
    name: &str,
    queue: &QueueUrl,
    timeout: Duration,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if watcher.stopped() {
            return Err(Error::Other(format!(
                "stopped waiting for app '{name}''s new client secret"
            ))
            .with_hint(after_rotation_started(name)));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::Service(Box::new(NoSecretArrived {
                app: name.to_owned(),
                queue: queue.to_string(),
                waited: timeout,
            })));
        }
        let mut stored = None;
        watcher
            .round(left.min(LONG_POLL), |handled| {
                if handled.stored_new_secret && handled.app.as_deref() == Some(name) {
                    stored = Some(handled.line.clone());
                } else {
                    eprintln!("vault app rotate-secret: {}", handled.line);
                }
            })
            .map_err(|e| Error::Service(Box::new(e)).with_hint(after_rotation_started(name)))?;
        if let Some(line) = stored {
            println!("{line}");
            return Ok(());
        }
    }
}
