use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::cli::ServeArgs;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::serve::{self, Options};
use crate::vault::Unlocked;
use crate::vault::file::VaultFile;

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io("read", path, e))
}

fn write_key(path: &Path, key: &Secret) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io("write the key to", path, e))?;
    file.write_all(key.expose().as_bytes())
        .map_err(|e| Error::io("write the key to", path, e))
}

pub fn run(file: VaultFile, args: ServeArgs) -> Result<()> {
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some((read(cert)?, read(key)?)),
        _ => None,
    };
    serve::check_listen(args.listen, tls.is_some())?;
    let (unlocked, vault) = Unlocked::open(file)?;
    for name in &args.profiles {
        vault.profile(name)?;
    }
    let key = serve::new_key();
    match &args.key_file {
        Some(path) => write_key(path, &key)?,
        None => println!("Bearer key (shown once): {}", key.expose()),
    }
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone())
            .map_err(|e| Error::Other(format!("cannot handle signals: {e}")))?;
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    let ready = format!(
        "Serving {} at {scheme}://{}/token/PROFILE; stop with Ctrl-C or SIGTERM",
        args.profiles.join(", "),
        args.listen
    );
    let options = Options {
        listen: args.listen,
        tls,
        key,
        refresh_ahead: args.refresh_ahead,
        workers: args.workers.into(),
    };
    serve::run(unlocked, args.profiles, options, stop, || {
        println!("{ready}")
    })?;
    println!("Stopped");
    Ok(())
}
