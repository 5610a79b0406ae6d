//! `vault app watch`, and the waiting of `vault app rotate-secret --wait`: the apps'
//! notification queues, long-polled, each message handled by `secret_rotation` and
//! deleted only once it is done with.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::cli::AppWatchArgs;
use crate::error::{Error, Result};
use crate::secret_rotation::{self, Handled, Policy};
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
const ONCE_POLL: Duration = Duration::from_secs(1);
/// After a failed receive, the first and the longest pause before the next.
const FIRST_BACKOFF: Duration = Duration::from_secs(5);
const LONGEST_BACKOFF: Duration = Duration::from_secs(300);

/// `--once` left messages that need a person on the queue.
#[derive(Debug, thiserror::Error)]
#[error("{} needing attention stayed on the queue (see above)", crate::error::count(*.0, "message"))]
pub struct LeftOnQueue(usize);

impl crate::error::Coded for LeftOnQueue {
    fn exit_code(&self) -> crate::error::ExitCode {
        crate::error::ExitCode::Rejected
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

impl crate::error::Coded for NoSecretArrived {
    fn exit_code(&self) -> crate::error::ExitCode {
        crate::error::ExitCode::Unreachable
    }

    fn hint(&self) -> Option<String> {
        Some(format!(
            "Amazon started the rotation: store the secret when it arrives with `vault app watch {} --once` (the old secret works until then)",
            self.app
        ))
    }
}

fn sqs_error(error: SqsError) -> Error {
    Error::Service(Box::new(error))
}

fn log(line: &str) {
    eprintln!("vault app watch: {line}");
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
}

impl<'a> Watcher<'a> {
    /// Connects to SQS with the standard AWS chain, before anything else is done.
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
            .map_err(sqs_error)?;
        Ok(Watcher {
            unlocked,
            sqs,
            queues,
            seen: HashSet::new(),
            policy,
            settings,
            runtime,
        })
    }

    /// One receive on every queue, waiting up to `wait`, and each new message
    /// handled (`on_handled` hears of each). Ends early, with nothing, once `stop`
    /// is set; a message in hand is finished first. Returns how many were new.
    fn round(
        &mut self,
        wait: Duration,
        stop: &AtomicBool,
        mut on_handled: impl FnMut(&Handled),
    ) -> Result<usize, SqsError> {
        let receives = futures_util::future::join_all(
            self.queues
                .iter()
                .map(|(queue, _)| self.sqs.receive(queue, wait)),
        );
        let Some(received) = self.runtime.block_on(until_stopped(stop, receives)) else {
            return Ok(0);
        };
        let mut new = 0;
        let mut failure = None;
        for ((queue, apps), messages) in self.queues.iter().zip(received) {
            let messages = match messages {
                Ok(messages) => messages,
                Err(e) => {
                    failure.get_or_insert(e);
                    continue;
                }
            };
            for message in messages {
                if stop.load(Ordering::Relaxed) {
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
                let handled = if handled.delete {
                    match self.runtime.block_on(self.sqs.delete(queue, &message)) {
                        Ok(()) => handled,
                        // Done, but it will come back: handling it again changes nothing.
                        Err(e) => Handled::attention(
                            handled.app.clone(),
                            format!(
                                "{}, but the message could not be deleted: {e}",
                                handled.line
                            ),
                        ),
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
                log(&e.to_string());
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

pub fn watch(file: VaultFile, args: AppWatchArgs, settings: &Settings) -> Result<()> {
    let (unlocked, vault) = unlock::open_apps(file)?;
    let queues = queues(&vault, &args.apps)?;
    let policy = Policy {
        rotate_within: args.rotate_within,
    };
    let mut watcher = Watcher::new(&unlocked, queues, policy, settings)?;
    let stop = Arc::new(AtomicBool::new(false));
    if !args.once {
        for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
            signal_hook::flag::register(signal, stop.clone())
                .map_err(|e| Error::Other(format!("cannot handle signals: {e}")))?;
        }
        let names: Vec<String> = watcher
            .queues
            .iter()
            .map(|(queue, apps)| format!("{queue} ({})", apps.join(", ")))
            .collect();
        log(&format!("watching {}", names.join(", ")));
    }
    let mut left = 0;
    let mut backoff = FIRST_BACKOFF;
    while !stop.load(Ordering::Relaxed) {
        let wait = if args.once { ONCE_POLL } else { LONG_POLL };
        let round = watcher.round(wait, &stop, |handled| {
            log(&handled.line);
            if !handled.delete {
                left += 1;
            }
        });
        match round {
            Ok(0) if args.once => break,
            Ok(_) => backoff = FIRST_BACKOFF,
            Err(e) if args.once => return Err(sqs_error(e)),
            Err(e) => {
                log(&format!(
                    "{e}; trying again in {}",
                    crate::duration::short_std(backoff)
                ));
                let until = Instant::now() + backoff;
                while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(100));
                }
                backoff = (backoff * 2).min(LONGEST_BACKOFF);
            }
        }
    }
    if args.once && left > 0 {
        return Err(Error::Service(Box::new(LeftOnQueue(left))));
    }
    Ok(())
}

/// Waits on app `name`'s queue until its new secret is stored, or `timeout` passes.
pub fn wait_for_new_secret(
    watcher: &mut Watcher,
    name: &str,
    queue: &QueueUrl,
    timeout: Duration,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let never = AtomicBool::new(false);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::Service(Box::new(NoSecretArrived {
                app: name.to_owned(),
                queue: queue.to_string(),
                waited: timeout,
            })));
        }
        let mut outcome = None;
        watcher
            .round(left.min(LONG_POLL), &never, |handled| {
                println!("{}", handled.line);
                if handled.new_secret && handled.app.as_deref() == Some(name) {
                    outcome = Some(handled.delete);
                }
            })
            .map_err(sqs_error)?;
        match outcome {
            Some(true) => return Ok(()),
            Some(false) => {
                return Err(Error::Service(Box::new(LeftOnQueue(1))));
            }
            None => {}
        }
    }
}
