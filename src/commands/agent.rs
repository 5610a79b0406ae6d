use crate::agent::protocol::{Request, Response};
use crate::agent::{self, server};
use crate::audit;
use crate::cli::UnlockArgs;
use crate::duration;
use crate::error::{Error, Result};
use crate::unlock;
use crate::vault::file::VaultFile;

pub fn unlock(file: VaultFile, args: &UnlockArgs) -> Result<()> {
    if args.timeout.is_zero() || args.max_lifetime < args.timeout {
        return Err(Error::Invalid(
            "--timeout must be above zero and no longer than --max-lifetime".into(),
        ));
    }
    let (unlocked, vault, _) = unlock::open_with_passphrase(file).map_err(|e| match e {
        Error::NoPassphrase => e.with_hint(
            "run this in a terminal, where it asks for the passphrase, or set SPVAULT_PASSPHRASE_FILE, SPVAULT_PASSPHRASE_COMMAND or SPVAULT_PASSPHRASE for it to read once",
        ),
        e => e,
    })?;
    let path = unlocked.file().path();
    if agent::call(path, &Request::Status)?.is_none() {
        server::spawn_background(path, agent_options(unlocked.file(), true, false))?;
    }
    audit::Log::of(unlocked.file(), &vault).record(audit::Entry::new(audit::Event::Unlock))?;
    let key = unlocked.key();
    let request = Request::Unlock {
        identity: key.identity_string(),
        kdf: key.kdf,
        salt: key.salt.clone(),
        idle_timeout_secs: args.timeout.as_secs().max(1),
        max_lifetime_secs: args.max_lifetime.as_secs().max(1),
    };
    match agent::call(path, &request)? {
        Some(Response::Done) => {
            println!(
                "Unlocked {} until {} without use (at most {})",
                path.display(),
                short(args.timeout),
                short(args.max_lifetime)
            );
            Ok(())
        }
        other => Err(Error::Other(format!(
            "the agent did not take the key ({other:?})"
        ))),
    }
}

fn short(span: std::time::Duration) -> String {
    duration::short(jiff::SignedDuration::try_from(span).unwrap_or(jiff::SignedDuration::MAX))
}

pub fn lock(file: VaultFile) -> Result<()> {
    match agent::call(file.path(), &Request::Lock)? {
        Some(_) => {
            audit::Log::unkeyed(&file).record(audit::Entry::new(audit::Event::Lock))?;
            println!("Locked {}", file.path().display());
        }
        None => println!("{} was not unlocked", file.path().display()),
    }
    Ok(())
}

fn agent_options(file: &VaultFile, exit_when_locked: bool, syslog: bool) -> server::Options {
    server::Options {
        exit_when_locked,
        log: audit::log_path(file),
        syslog,
    }
}

pub fn status(file: VaultFile, json: bool) -> Result<()> {
    if !file.exists()? {
        return Err(Error::NoVault(file.path().to_path_buf()));
    }
    let (unlocked, idle_left, lifetime_left) = match agent::call(file.path(), &Request::Status)? {
        Some(Response::Status {
            unlocked: true,
            idle_left_secs,
            lifetime_left_secs,
        }) => (true, Some(idle_left_secs), Some(lifetime_left_secs)),
        _ => (false, None, None),
    };
    if json {
        let status = serde_json::json!({
            "vault": file.path().display().to_string(),
            "unlocked": unlocked,
            "idle_left_secs": idle_left,
            "lifetime_left_secs": lifetime_left,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&status).expect("JSON values serialize")
        );
    } else if let (Some(idle), Some(lifetime)) = (idle_left, lifetime_left) {
        let left = |secs: u64| short(std::time::Duration::from_secs(secs));
        println!(
            "{}: unlocked; locks after {} without use (at most {} from now)",
            file.path().display(),
            left(idle),
            left(lifetime)
        );
    } else {
        println!("{}: locked", file.path().display());
    }
    if unlocked && let Some(vault) = unlock::peek(&file)? {
        super::output::warn_about_secrets(&vault, jiff::Timestamp::now());
    }
    Ok(())
}

pub fn run(file: VaultFile, foreground: bool, exit_when_locked: bool, syslog: bool) -> Result<()> {
    let options = agent_options(&file, exit_when_locked, syslog);
    if foreground {
        server::run(file.path(), options, |socket| {
            println!(
                "Agent for {} listening on {}; it holds no key until `vault unlock`, whose --timeout ({} by default) and --max-lifetime ({}) end each session",
                file.path().display(),
                socket.display(),
                crate::cli::DEFAULT_UNLOCK_TIMEOUT,
                crate::cli::DEFAULT_UNLOCK_LIFETIME
            );
        })
    } else {
        server::spawn_background(file.path(), options)?;
        println!(
            "Started the agent for {}; unlock it with `vault unlock`",
            file.path().display()
        );
        Ok(())
    }
}
