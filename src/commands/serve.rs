use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::cli::{ProxyArgs, ServeArgs, ServerArgs};
use crate::error::{Error, Result};
use crate::private_file::{self, Existing};
use crate::serve::{self, Limits, Options};
use crate::settings::Settings;
use crate::unlock;
use crate::vault::file::VaultFile;
use crate::vault::payload::{Salvaged, Selection};

pub fn run(file: VaultFile, args: ServeArgs, settings: &Settings) -> Result<()> {
    let server = Server::new(&args.server, args.listen, settings)?;
    let (unlocked, salvaged) = open_serving(&file, &args.profiles)?;
    // Served with the others, answered 503 with why: `refresh_due` finds it so too.
    for damaged in &salvaged.damaged {
        eprintln!(
            "vault serve: profile '{}' is not served (503) while its record is damaged: {}",
            damaged.profile,
            damaged.error(unlocked.file()).in_full()
        );
    }
    let log = crate::audit::Log::of(unlocked.file(), &salvaged.vault);
    let answers = crate::audit::Answers::new(log, crate::audit::Event::Serve);
    let (options, stop, scheme) = server.start(&args.server, answers)?;
    let served = args.profiles.join(", ");
    let reopen = || unlock::open_unattended(file.clone());
    serve::run(unlocked, reopen, args.profiles, options, stop, |bound| {
        println!(
            "Serving {served} at {scheme}://{bound}/token/PROFILE; stop with Ctrl-C or SIGTERM"
        )
    })?;
    println!("Stopped");
    Ok(())
}

pub fn proxy(file: VaultFile, args: ProxyArgs, settings: &Settings) -> Result<()> {
    let server = Server::new(&args.server, args.listen, settings)?;
    let (unlocked, salvaged) = open_serving(&file, &args.profiles)?;
    let vault = salvaged.undamaged(unlocked.file())?;
    let log = crate::audit::Log::of(unlocked.file(), &vault);
    let answers = crate::audit::Answers::new(log, crate::audit::Event::Proxy);
    let (options, stop, scheme) = server.start(&args.server, answers)?;
    let proxied = args.profiles.join(", ");
    let base = match args.profiles.as_slice() {
        [only] => format!("/{only} (or /)"),
        _ => "/PROFILE".to_owned(),
    };
    let options = crate::proxy::Options {
        serve: options,
        max_wait: args.max_wait,
        shared_limits: args.shared_limits,
        log_requests: true,
    };
    let reopen = || unlock::open_unattended(file.clone());
    crate::proxy::run(
        unlocked,
        reopen,
        &vault,
        args.profiles,
        options,
        stop,
        |bound| {
            println!(
                "Proxying SP-API for {proxied} at {scheme}://{bound}{base}; stop with Ctrl-C or SIGTERM"
            )
        },
    )?;
    println!("Stopped");
    Ok(())
}

/// The vault with the profiles to serve (and no other), each there or damaged.
fn open_serving(
    file: &VaultFile,
    profiles: &[String],
) -> Result<(crate::vault::Unlocked, Salvaged)> {
    let names: Vec<&str> = profiles.iter().map(String::as_str).collect();
    let (unlocked, salvaged) = unlock::open_around_damage(file.clone(), Selection::Only(&names))?;
    for name in &names {
        if !salvaged.is_damaged(name) {
            salvaged.vault.profile(name)?;
        }
    }
    Ok((unlocked, salvaged))
}

/// What `serve` and `proxy` check and set up alike before they open the vault.
struct Server {
    listen: SocketAddr,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    network: crate::settings::Network,
}

impl Server {
    fn new(args: &ServerArgs, listen: SocketAddr, settings: &Settings) -> Result<Self> {
        let tls = match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => Some(crate::server::tls::server_config(cert, key)?),
            _ => None,
        };
        serve::check_listen(listen, tls.is_some())?;
        Ok(Server {
            listen,
            tls,
            network: settings.network()?,
        })
    }

    /// The key (written to --key-file, or printed once), the signals that stop the
    /// server, and its options.
    fn start(
        self,
        args: &ServerArgs,
        answers: Arc<crate::audit::Answers>,
    ) -> Result<(Options, Arc<AtomicBool>, &'static str)> {
        if args.syslog {
            crate::audit::copy_to_syslog();
        }
        let key = serve::new_key();
        match &args.key_file {
            Some(path) => private_file::write(path, key.expose().as_bytes(), Existing::Replace)?,
            None => println!("Bearer key (shown once): {}", key.expose()),
        }
        let stop = Arc::new(AtomicBool::new(false));
        for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
            signal_hook::flag::register(signal, stop.clone())
                .map_err(|e| Error::Other(format!("cannot handle signals: {e}")))?;
        }
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let options = Options {
            listen: self.listen,
            tls: self.tls,
            key,
            refresh_ahead: args.refresh_ahead,
            workers: args.workers.into(),
            limits: Limits::for_this_process(args.client_timeout),
            network: self.network,
            answers,
        };
        Ok((options, stop, scheme))
    }
}
