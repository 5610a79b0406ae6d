//! `vault audit`: the access log shown, verified, switched on and off; and what each
//! command records in it when it changes the vault or fails.

use jiff::Timestamp;

use crate::audit::{self, Action, Entry, Event, Log};
use crate::cli::{AppCommand, AuditArgs, AuditCommand, Command, ImportCommand, RecipientsCommand};
use crate::error::{Error, ExitCode, Result};
use crate::unlock;
use crate::vault::file::VaultFile;
use crate::vault::model::AuditSetting;
use crate::vault::payload::Selection;

pub fn run(file: VaultFile, args: AuditArgs) -> Result<()> {
    match args.command {
        None => show(file, &args),
        Some(AuditCommand::Verify) => verify(file),
        Some(AuditCommand::On { keep }) => switch(file, true, keep),
        Some(AuditCommand::Off) => switch(file, false, None),
    }
}

fn show(file: VaultFile, args: &AuditArgs) -> Result<()> {
    let (_, vault) = unlock::open_around_damage(file.clone(), Selection::Only(&[]))?;
    let log = Log::of(&file, &vault.vault);
    let since = jiff::SignedDuration::try_from(args.since)
        .ok()
        .and_then(|span| Timestamp::now().checked_sub(span).ok())
        .unwrap_or(Timestamp::MIN);
    let (entries, skipped) = log.entries()?;
    if skipped > 0 {
        eprintln!(
            "warning: {} of {} {} not an entry (changed or damaged): `vault audit verify` names the first",
            crate::error::count(skipped, "line"),
            log.path().display(),
            if skipped == 1 { "is" } else { "are" }
        );
    }
    let entries: Vec<Entry> = entries
        .into_iter()
        .filter(|e| e.time >= since)
        .filter(|e| {
            args.profile
                .as_ref()
                .is_none_or(|p| e.profile.as_ref() == Some(p))
        })
        .filter(|e| args.event.is_none_or(|event| e.event == event))
        .collect();
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&entries).expect("entries serialize")
        );
        return Ok(());
    }
    if !log.is_on() {
        eprintln!("note: the access log is off (`vault audit on` turns it on)");
    }
    if entries.is_empty() {
        eprintln!("No entries in {} match.", log.path().display());
        return Ok(());
    }
    let columns = [
        ("SEQ", 0),
        ("TIME (UTC)", 1),
        ("EVENT", 1),
        ("PROFILE", 2),
        ("DETAIL", 4),
        ("OUTCOME", 2),
        ("WHO", 3),
    ]
    .map(|(header, rank)| super::table::Column { header, rank });
    let rows: Vec<Vec<String>> = entries.iter().map(row).collect();
    super::table::print(&columns, &rows, false, "vault audit");
    Ok(())
}

fn row(entry: &Entry) -> Vec<String> {
    let mut detail = Vec::new();
    if let Some(kind) = &entry.credential {
        detail.push(kind.clone());
    }
    if let Some(preset) = &entry.preset {
        detail.push(format!("preset {preset}"));
    }
    if entry.secrets == Some(true) {
        detail.push("with secrets".into());
    }
    if let Some(operation) = &entry.operation {
        detail.push(operation.clone());
    }
    if let Some(status) = entry.status {
        detail.push(format!("HTTP {status}"));
    }
    if let Some(elements) = &entry.data_elements {
        detail.push(elements.join(","));
    }
    if let Some(count) = entry.count {
        detail.push(format!("{count}x"));
    }
    if let Some(subject) = &entry.subject
        && entry.event != Event::LogRotated
    {
        detail.push(subject.clone());
    }
    let who = match &entry.who {
        audit::Who::Process {
            uid,
            pid,
            parent_exe,
            ..
        } => format!("uid {uid}, pid {pid}, from {parent_exe}"),
        audit::Who::Client { client, key } => format!("{client} ({key})"),
    };
    let profile = match (&entry.profile, &entry.app) {
        (Some(profile), _) => profile.clone(),
        (None, Some(app)) => format!("app {app}"),
        (None, None) => String::new(),
    };
    let sealed = if entry.unsealed { " (unsealed)" } else { "" };
    vec![
        entry.seq.to_string(),
        entry.time.strftime("%Y-%m-%d %H:%M:%S").to_string(),
        format!("{}{sealed}", entry.event.name()),
        crate::display::escape_controls(&profile),
        crate::display::escape_controls(&detail.join(", ")),
        entry.outcome.clone(),
        crate::display::escape_controls(&who),
    ]
}

fn verify(file: VaultFile) -> Result<()> {
    let (_, salvaged) = unlock::open_around_damage(file.clone(), Selection::Only(&[]))?;
    let vault = salvaged.vault;
    let log = Log::of(&file, &vault);
    let head = vault.audit.as_ref().and_then(|a| a.head.as_ref());
    let verified = log.verify(head)?;
    let held = match (verified.first_seq, verified.last_seq) {
        (Some(first), Some(last)) => format!(
            "entries {first} to {last} in {}",
            crate::error::count(verified.files, "file")
        ),
        _ => "no entries".into(),
    };
    let recorded = match head {
        Some(head) => format!(
            "it holds entry {}, which the vault recorded at its last write",
            head.seq
        ),
        None => "the vault has recorded no entry yet".into(),
    };
    println!(
        "OK: the access log {} is intact: {held}; {recorded}",
        log.path().display()
    );
    if !log.is_on() {
        println!("The log is off: nothing is recorded until `vault audit on`.");
    }
    match verified.unsealed_at_end {
        0 => {}
        1 => println!(
            "The last entry is unsealed (written without the key); the next sealed entry covers it"
        ),
        n => println!(
            "The last {n} entries are unsealed (written without the key); the next sealed entry covers them"
        ),
    }
    Ok(())
}

/// The longest `--keep`: a century.
const MAX_KEEP_DAYS: u64 = 36_500;

/// `audit on` and `audit off`: both prove the passphrase (an agent or identity file
/// could otherwise hide what it does), and both are logged, `off` before it stops.
fn switch(file: VaultFile, on: bool, keep: Option<std::time::Duration>) -> Result<()> {
    let keep_days = keep
        .map(|keep| {
            let days = keep.as_secs() / 86_400;
            if !(1..=MAX_KEEP_DAYS).contains(&days) {
                return Err(Error::Invalid(format!(
                    "--keep must be between 1d and {MAX_KEEP_DAYS}d"
                )));
            }
            if days < 90 {
                eprintln!(
                    "warning: Amazon's Data Protection Policy asks for access logs to be kept at least 90 days"
                );
            }
            Ok(u32::try_from(days).unwrap_or(u32::MAX))
        })
        .transpose()?;
    let (unlocked, _, _) = unlock::open_with_passphrase(file)?;
    let event = if on { Event::AuditOn } else { Event::AuditOff };
    // `off` is written while the log is still on; `on` by the write that turns it on.
    audit::set_action(on.then(|| Action::new(event)));
    let log_path = audit::log_path(unlocked.file());
    let (was_on, keep_days) = unlocked.update_profiles(&[], |vault| {
        let setting = vault.audit.get_or_insert_with(|| AuditSetting::new(on));
        let was_on = setting.on;
        if !on && was_on {
            Log::with_setting(log_path.clone(), Some(setting)).record(Entry::new(event))?;
        }
        setting.on = on;
        if let Some(days) = keep_days {
            setting.keep_days = days;
        }
        Ok((was_on, setting.keep_days))
    })?;
    match (on, was_on) {
        (true, _) => println!(
            "The access log is on: {} (rotated files kept {keep_days} days)",
            log_path.display()
        ),
        (false, true) => println!("The access log is off; `vault audit on` turns it on again."),
        (false, false) => println!("The access log was already off."),
    }
    Ok(())
}

/// What a command records in the access log when it changes the vault: `Some`
/// also for commands that hand out credentials, whose failures are recorded here
/// (their successes by the command, with what was handed out).
pub fn action_of(command: &Command) -> Option<(Action, bool)> {
    let with =
        |event: Event, profile: Option<&str>, app: Option<&str>, subject: Option<&str>| Action {
            event,
            profile: profile.map(str::to_owned),
            app: app.map(str::to_owned),
            subject: subject.map(str::to_owned),
        };
    let change = |action: Action| Some((action, true));
    let handout = |action: Action| Some((action, false));
    match command {
        Command::Init(_) => change(Action::new(Event::Init)),
        Command::Passwd { .. } => change(Action::new(Event::Passwd)),
        Command::App(AppCommand::Add(args)) => {
            change(with(Event::AppAdded, None, Some(&args.name), None))
        }
        Command::App(AppCommand::Edit(args)) => {
            change(with(Event::AppEdited, None, Some(&args.app), None))
        }
        Command::App(AppCommand::Remove { app }) => {
            change(with(Event::AppRemoved, None, Some(app), None))
        }
        Command::App(AppCommand::SetSecret { app, .. }) => {
            change(with(Event::SecretSet, None, Some(app), None))
        }
        Command::App(AppCommand::RotateSecret { app, .. }) => {
            change(with(Event::SecretRotated, None, Some(app), None))
        }
        Command::AddProfile(args) => change(with(
            Event::ProfileAdded,
            Some(&args.name),
            args.app.as_deref(),
            None,
        )),
        Command::EditProfile(args) => change(with(
            Event::ProfileEdited,
            Some(&args.name),
            args.app.as_deref(),
            None,
        )),
        Command::Remove { profile, .. } => {
            change(with(Event::ProfileRemoved, Some(profile), None, None))
        }
        Command::Rename { old, new } => {
            change(with(Event::ProfileRenamed, Some(old), None, Some(new)))
        }
        Command::Login(args) => change(with(
            Event::Login,
            Some(&args.profile),
            None,
            args.self_authorized.then_some("self-authorization"),
        )),
        Command::Import(ImportCommand::Env(args)) => {
            change(with(Event::Import, Some(&args.profile), None, Some("env")))
        }
        Command::Import(ImportCommand::PythonSpApi { .. }) => {
            change(with(Event::Import, None, None, Some("python-sp-api")))
        }
        Command::Recipients(RecipientsCommand::Add { name, .. }) => {
            change(with(Event::RecipientAdded, None, None, Some(name)))
        }
        Command::Recipients(RecipientsCommand::Remove { name, .. }) => {
            change(with(Event::RecipientRemoved, None, None, Some(name)))
        }
        Command::Migrate { to } => change(with(Event::Migrate, None, None, Some(to))),
        Command::Token {
            profile, grantless, ..
        } => handout(with(
            if grantless.is_empty() {
                Event::Token
            } else {
                Event::GrantlessToken
            },
            Some(profile),
            None,
            None,
        )),
        Command::Env(args) => handout(with(Event::Env, Some(&args.profile), None, None)),
        Command::Exec(args) => handout(with(Event::Exec, Some(&args.profile), None, None)),
        Command::Rdt(args) => handout(with(Event::Rdt, Some(&args.profile), None, None)),
        Command::Api(args) => handout(with(Event::Api, args.profile.as_deref(), None, None)),
        Command::Unlock(_) => handout(Action::new(Event::Unlock)),
        _ => None,
    }
}

/// Records that a command failed, unsealed (the failure may be that the vault
/// did not open), unless the log itself is what failed.
pub fn record_failure(file: &VaultFile, action: &Action, error: &Error) {
    let the_log_failed = match error {
        Error::Service(e) => (e.as_ref() as &dyn std::error::Error)
            .downcast_ref::<audit::AuditError>()
            .is_some(),
        _ => false,
    };
    if the_log_failed {
        return;
    }
    let mut entry = action.entry();
    entry.outcome = error.exit_code().name().into();
    // A name the vault does not hold may be anything typed there, a pasted secret
    // included: not written down.
    if matches!(error.exit_code(), ExitCode::NotFound | ExitCode::Usage) {
        entry.profile = None;
        entry.app = None;
        entry.subject = None;
    }
    if let Err(e) = Log::unkeyed(file).record(entry) {
        eprintln!("warning: {e}");
    }
}
