//! The agent process: holds one vault's key in locked, zeroed-on-drop memory (and the
//! decrypted vault encrypted under another such key), zeroes whatever memory it
//! frees, answers only its own user, and forgets the key after an idle timeout or a
//! hard lifetime.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::locked::LockedBytes;
use super::protocol::{Request, RequestEnvelope, Response, VERSION, encode_response};
use super::sealed::SealedVault;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::vault::crypto::KdfParams;

struct Held {
    /// The age identity string.
    key: LockedBytes,
    /// The decrypted vault last remembered, and the stamp of the file it came from.
    vault: Option<(String, SealedVault)>,
    kdf: KdfParams,
    salt: String,
    idle_timeout: Duration,
    unlocked_at: Instant,
    max_lifetime: Duration,
    last_used: Instant,
}

impl Held {
    fn identity(&self) -> Secret {
        Secret::new(String::from_utf8_lossy(self.key.as_bytes()).into_owned())
    }

    fn expired(&self, now: Instant) -> bool {
        now.duration_since(self.last_used) >= self.idle_timeout
            || now.duration_since(self.unlocked_at) >= self.max_lifetime
    }
}

#[derive(Default)]
struct State {
    held: Option<Held>,
    was_unlocked: bool,
    /// `--syslog`, told to the commands it hands keys to.
    syslog: bool,
}

pub struct Options {
    /// An agent started by `vault unlock` ends once locked; one started for a service
    /// manager (`vault agent --foreground`) stays, locked, until stopped.
    pub exit_when_locked: bool,
    /// The vault's access log: the agent holds no audit key, so its own entries
    /// (started, stopped, locked when idle) are unsealed.
    pub log: PathBuf,
    /// `--syslog`: its entries go to the system log too.
    pub syslog: bool,
}

/// Records one of the agent's own events; an agent that cannot write its log says
/// so on stderr and goes on (it hands out no credential itself).
fn record(log: &Path, event: crate::audit::Event, subject: Option<&str>) {
    let mut entry = crate::audit::Entry::new(event);
    entry.subject = subject.map(str::to_owned);
    if let Err(e) = crate::audit::Log::unkeyed_at(log.to_path_buf()).record(entry) {
        eprintln!("vault: {e}");
    }
}

/// Keeps this process's memory out of core dumps and debuggers of the same user, and
/// copies of secrets out of the memory it frees.
fn harden() {
    crate::zeroing_allocator::zero_freed_memory();
    crate::process::disable_core_dumps();
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_DUMPABLE takes plain integers.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

/// Runs the agent for `vault` until it is stopped (or locked, with `exit_when_locked`).
/// Serves the agent for `vault` until it exits; `on_ready` hears the socket's path
/// once it listens.
pub fn run(vault: &Path, options: Options, on_ready: impl FnOnce(&Path)) -> Result<()> {
    harden();
    crate::private_file::ensure_runtime_folder()?;
    let path = super::socket_path(vault)?;
    if super::call(vault, &Request::Status)?.is_some() {
        return Err(Error::Other(format!(
            "an agent for {} already runs (socket {})",
            vault.display(),
            path.display()
        )));
    }
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).map_err(|e| Error::io("listen on", &path, e))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::io("protect", &path, e))?;
    on_ready(&path);
    if options.syslog {
        crate::audit::copy_to_syslog();
    }
    record(&options.log, crate::audit::Event::AgentStarted, None);
    let state = Arc::new(Mutex::new(State {
        syslog: options.syslog,
        ..State::default()
    }));
    spawn_watchdog(state.clone(), path.clone(), &options);
    spawn_stopper(path.clone(), options.log.clone());
    let uid = crate::process::current_uid();
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        // Checked on every connection: loosened permissions must not let others in.
        if super::peer_uid(&stream).ok() != Some(uid) {
            continue;
        }
        let exit = serve(&stream, &state);
        if exit && options.exit_when_locked {
            let _ = std::fs::remove_file(&path);
            record(
                &options.log,
                crate::audit::Event::AgentStopped,
                Some("locked"),
            );
            return Ok(());
        }
    }
    Ok(())
}

fn spawn_watchdog(state: Arc<Mutex<State>>, path: PathBuf, options: &Options) {
    let (exit_when_locked, log) = (options.exit_when_locked, options.log.clone());
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(200));
            let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
            if state
                .held
                .as_ref()
                .is_some_and(|h| h.expired(Instant::now()))
            {
                state.held = None;
                record(
                    &log,
                    crate::audit::Event::Lock,
                    Some("idle timeout or lifetime"),
                );
            }
            if exit_when_locked && state.was_unlocked && state.held.is_none() {
                let _ = std::fs::remove_file(&path);
                record(&log, crate::audit::Event::AgentStopped, Some("locked"));
                std::process::exit(0);
            }
        }
    });
}

/// Records the agent's end when a service manager stops it (SIGTERM, SIGINT).
fn spawn_stopper(path: PathBuf, log: PathBuf) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGTERM, SIGINT]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            let _ = std::fs::remove_file(&path);
            let name = if signal == SIGTERM {
                "SIGTERM"
            } else {
                "SIGINT"
            };
            record(&log, crate::audit::Event::AgentStopped, Some(name));
            std::process::exit(0);
        }
    });
}

/// Answers one request. Returns whether the agent is now locked by request.
fn serve(stream: &UnixStream, state: &Mutex<State>) -> bool {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut line = zeroize::Zeroizing::new(String::new());
    if BufReader::new(stream)
        .take(super::protocol::MAX_REQUEST_BYTES)
        .read_line(&mut line)
        .is_err()
    {
        return false;
    }
    let (response, locked) = match serde_json::from_str::<RequestEnvelope>(&line) {
        Ok(envelope) if envelope.version == VERSION => handle(envelope.request, state),
        Ok(envelope) => (
            Response::Error {
                message: format!(
                    "this agent speaks protocol {VERSION}, not {}",
                    envelope.version
                ),
            },
            false,
        ),
        Err(_) => (
            Response::Error {
                message: "not a request of this agent's protocol".into(),
            },
            false,
        ),
    };
    let mut answer = zeroize::Zeroizing::new(encode_response(&response));
    answer.push('\n');
    let _ = (&*stream).write_all(answer.as_bytes());
    locked
}

fn handle(request: Request, state: &Mutex<State>) -> (Response, bool) {
    let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
    let now = Instant::now();
    if state.held.as_ref().is_some_and(|h| h.expired(now)) {
        state.held = None;
    }
    let syslog = state.syslog;
    match request {
        Request::Unlock {
            identity,
            kdf,
            salt,
            idle_timeout_secs,
            max_lifetime_secs,
        } => {
            let Some(key) = LockedBytes::copy_of(identity.expose().as_bytes()) else {
                return (
                    Response::Error {
                        message: "that key is too long for an age identity".into(),
                    },
                    false,
                );
            };
            state.held = Some(Held {
                key,
                vault: None,
                kdf,
                salt,
                idle_timeout: Duration::from_secs(idle_timeout_secs),
                unlocked_at: now,
                max_lifetime: Duration::from_secs(max_lifetime_secs),
                last_used: now,
            });
            state.was_unlocked = true;
            (Response::Done, false)
        }
        Request::Key { kdf, salt, touch } => match &mut state.held {
            Some(held) if held.kdf == kdf && held.salt == salt => {
                if touch {
                    held.last_used = now;
                }
                (
                    Response::Key {
                        identity: held.identity(),
                        syslog,
                    },
                    false,
                )
            }
            // Settings raised in the file, not a re-key: the key still opens the
            // vault as it was written, and is kept.
            Some(held) if held.salt == salt => (Response::HeaderChanged { kdf: held.kdf }, false),
            // The vault was re-encrypted (passwd): this key opens it no more.
            Some(_) => {
                state.held = None;
                (Response::Locked, true)
            }
            None => (Response::Locked, false),
        },
        Request::Profile { stamp, name } => match &mut state.held {
            Some(held) => {
                held.last_used = now;
                let vault = match &held.vault {
                    Some((held_stamp, vault)) if *held_stamp == stamp => {
                        vault.with_only_profile(&name)
                    }
                    _ => None,
                };
                match vault {
                    Some(vault) => (
                        Response::Profile {
                            identity: held.identity(),
                            kdf: held.kdf,
                            salt: held.salt.clone(),
                            vault,
                            syslog,
                        },
                        false,
                    ),
                    None => (Response::NotHeld, false),
                }
            }
            None => (Response::Locked, false),
        },
        Request::Remember { stamp, model } => match &mut state.held {
            Some(held) => match SealedVault::seal(model.expose()) {
                Some(vault) => {
                    held.vault = Some((stamp, vault));
                    (Response::Done, false)
                }
                None => (
                    Response::Error {
                        message: "the model to remember is not a vault".into(),
                    },
                    false,
                ),
            },
            None => (Response::Locked, false),
        },
        Request::Status => match &state.held {
            Some(held) => (
                Response::Status {
                    unlocked: true,
                    idle_left_secs: held
                        .idle_timeout
                        .saturating_sub(now.duration_since(held.last_used))
                        .as_secs(),
                    lifetime_left_secs: held
                        .max_lifetime
                        .saturating_sub(now.duration_since(held.unlocked_at))
                        .as_secs(),
                },
                false,
            ),
            None => (
                Response::Status {
                    unlocked: false,
                    idle_left_secs: 0,
                    lifetime_left_secs: 0,
                },
                false,
            ),
        },
        Request::Lock => {
            state.held = None;
            (Response::Done, true)
        }
    }
}

/// Starts a detached agent for `vault` (this same program, `agent --foreground`) and
/// waits for its socket to answer. When the agent fails to start, its own message
/// is the error.
pub fn spawn_background(vault: &Path, options: Options) -> Result<()> {
    use std::os::unix::process::CommandExt;
    let program = std::env::current_exe()
        .map_err(|e| Error::Other(format!("cannot find the vault program: {e}")))?;
    let vault = super::location(vault)?;
    // The agent's stderr goes to an unnamed file: readable here if it fails to
    // start, and never a pipe whose reader is gone once this command ends.
    let mut errors =
        tempfile::tempfile().map_err(|e| Error::Other(format!("cannot start the agent: {e}")))?;
    let child_errors = errors
        .try_clone()
        .map_err(|e| Error::Other(format!("cannot start the agent: {e}")))?;
    let mut command = std::process::Command::new(program);
    command
        .args(["agent", "--foreground", "--vault"])
        .arg(&vault)
        .current_dir("/")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(child_errors);
    if options.exit_when_locked {
        command.arg("--exit-when-locked");
    }
    for (name, _) in std::env::vars_os() {
        // The agent writes to the log its vault's commands write to.
        if name.to_string_lossy().starts_with("SPVAULT_") && name != crate::settings::AUDIT_LOG_VAR
        {
            command.env_remove(name);
        }
    }
    // SAFETY: setsid is async-signal-safe; it detaches the agent from our terminal
    // and process group so it outlives this command.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = command
        .spawn()
        .map_err(|e| Error::Other(format!("cannot start the agent: {e}")))?;
    for _ in 0..250 {
        if super::call(&vault, &Request::Status)?.is_some() {
            return Ok(());
        }
        if let Ok(Some(_)) = child.try_wait() {
            return Err(Error::Other(format!(
                "the agent could not start: {}",
                first_line(&mut errors).unwrap_or("it exited without a word".into())
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(Error::Other(format!(
        "the agent did not start within 5 seconds{}",
        first_line(&mut errors)
            .map(|line| format!(": {line}"))
            .unwrap_or_default()
    )))
}

/// The first line the agent wrote to its stderr, without the program's prefix.
fn first_line(errors: &mut std::fs::File) -> Option<String> {
    use std::io::Seek;
    let mut text = String::new();
    errors.seek(std::io::SeekFrom::Start(0)).ok()?;
    errors.take(4096).read_to_string(&mut text).ok()?;
    let line = text.lines().find(|l| !l.trim().is_empty())?.trim();
    Some(line.strip_prefix("vault: ").unwrap_or(line).to_owned())
}
