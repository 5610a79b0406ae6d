//! `vault exec PROFILE --proxy -- COMMAND`: a `vault proxy` for the profile on a free
//! loopback port for the command's lifetime. The command gets the proxy's address
//! and key, placeholders for the client id and secret, and no real credential, nor
//! the variables that open the vault.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::exec::{cannot_run, child_command};
use crate::cli::ExecArgs;
use crate::error::{Error, Result};
use crate::export::{self, Credentials, Source};
use crate::serve::{self, Limits};
use crate::settings::Settings;
use crate::vault::file::VaultFile;

/// How long a request of the command may wait its turn in a usage-plan bucket.
const MAX_WAIT: Duration = Duration::from_secs(60);
/// How often the command is checked on while it runs.
const POLL: Duration = Duration::from_millis(50);

pub fn run(file: VaultFile, args: ExecArgs, settings: &Settings) -> Result<()> {
    let (unlocked, vault) = crate::unlock::open_profile(file.clone(), &args.profile)?;
    let profile = vault.profile(&args.profile)?.clone();
    // The command gets no credential, only its proxy's key: what the proxy then uses
    // the profile's tokens for is counted as `proxy` entries.
    let entry = crate::audit::Entry::new(crate::audit::Event::Exec)
        .profile(&args.profile)
        .app(&profile.app)
        .subject("with a proxy of its own");
    super::log_handout(&unlocked, &vault, entry)?;
    let key = serve::new_key();
    let options = crate::proxy::Options {
        serve: serve::Options {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            tls: None,
            key: key.clone(),
            refresh_ahead: jiff::SignedDuration::from_mins(10),
            workers: 2,
            limits: Limits::for_this_process(Duration::from_secs(10)),
            network: settings.network()?,
            answers: crate::audit::Answers::new(
                crate::audit::Log::of(unlocked.file(), &vault),
                crate::audit::Event::Proxy,
            ),
        },
        max_wait: MAX_WAIT,
        shared_limits: None,
        log_requests: false,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let (ready, bound) = std::sync::mpsc::channel();
    let proxy = {
        let (stop, name) = (stop.clone(), args.profile.clone());
        std::thread::spawn(move || {
            let reopen = || crate::unlock::open_unattended(file.clone());
            crate::proxy::run(
                unlocked,
                reopen,
                &vault,
                vec![name],
                options,
                stop,
                |bound| {
                    let _ = ready.send(bound);
                },
            )
        })
    };
    let Ok(bound) = bound.recv() else {
        return Err(proxy
            .join()
            .unwrap_or_else(|_| Err(Error::Other("the proxy stopped before it started".into())))
            .err()
            .unwrap_or_else(|| Error::Other("the proxy stopped before it started".into())));
    };
    let base_url = format!("http://{bound}/{}", args.profile);
    let token_url = format!("http://{bound}/auth/o2/token");
    let variables = export::variables(
        &Source {
            profile_name: &args.profile,
            profile: &profile,
            credentials: Credentials::Proxy {
                base_url: &base_url,
                token_url: &token_url,
                key: &key,
            },
        },
        args.variables.preset,
        false,
    );
    let mut command = child_command(&args, &variables)?;
    // Ctrl-C reaches the command from the terminal; this process stays to serve it
    // until it ends, and passes SIGTERM on.
    let terminated = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGQUIT] {
        signal_hook::flag::register(signal, Arc::new(AtomicBool::new(false)))
            .map_err(|e| Error::Other(format!("cannot handle signals: {e}")))?;
    }
    signal_hook::flag::register(signal_hook::consts::SIGTERM, terminated.clone())
        .map_err(|e| Error::Other(format!("cannot handle signals: {e}")))?;
    let mut child = command.spawn().map_err(|e| cannot_run(&args, e))?;
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| Error::Other(format!("cannot wait for the command: {e}")))?
        {
            break status;
        }
        if terminated.swap(false, Ordering::Relaxed) {
            // SAFETY: kill only sends a signal to the child this process started.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        }
        std::thread::sleep(POLL);
    };
    stop.store(true, Ordering::Relaxed);
    let _ = proxy.join();
    use std::os::unix::process::ExitStatusExt;
    // As shells report it: the command's exit status, or 128 + the signal that ended it.
    std::process::exit(
        status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
    );
}
