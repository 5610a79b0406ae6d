use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::cli::ServeArgs;
use crate::error::{Error, Result};
use crate::private_file::{self, Existing};
use crate::serve::{self, Limits, Options};
use crate::settings::Settings;
use crate::unlock;
use crate::vault::file::VaultFile;

pub fn run(file: VaultFile, args: ServeArgs, settings: &Settings) -> Result<()> {
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(serve::tls::server_config(cert, key)?),
        _ => None,
    };
    serve::check_listen(args.listen, tls.is_some())?;
    let (unlocked, vault) = unlock::open(file.clone())?;
    for name in &args.profiles {
        vault.profile(name)?;
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
    let scheme = if tls.is_some() { "https" } else { "http" };
    let served = args.profiles.join(", ");
    let options = Options {
        listen: args.listen,
        tls,
        key,
        refresh_ahead: args.refresh_ahead,
        workers: args.workers.into(),
        limits: Limits::for_this_process(args.client_timeout),
        network: settings.network()?,
    };
    let reopen = || unlock::open_unattended(file.clone());
    serve::run(unlocked, reopen, args.profiles, options, stop, |bound| {
        println!(
            "Serving {served} at {scheme}://{bound}/token/PROFILE; stop with Ctrl-C or SIGTERM"
        )
    })?;
    println!("Stopped");
    Ok(())
}
