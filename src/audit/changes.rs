//! Vault changes: the command layer says what the command changes (an `Action`),
//! and every successful write of the vault appends it, sealed with the key the
//! written vault holds.

use std::path::PathBuf;
use std::sync::Mutex;

use super::{Entry, Event, Log, file};
use crate::error::Result;
use crate::vault::model::LogHead;
use crate::vault::{LogWatch, Vault};

/// What this command changes in the vault, for the entries of its writes.
#[derive(Debug, Clone)]
pub struct Action {
    pub event: Event,
    pub profile: Option<String>,
    pub app: Option<String>,
    pub subject: Option<String>,
}

impl Action {
    pub fn new(event: Event) -> Action {
        Action {
            event,
            profile: None,
            app: None,
            subject: None,
        }
    }

    pub fn entry(&self) -> Entry {
        let mut entry = Entry::new(self.event);
        entry.profile = self.profile.clone();
        entry.app = self.app.clone();
        entry.subject = self.subject.clone();
        entry
    }
}

static ACTION: Mutex<Option<Action>> = Mutex::new(None);

/// Sets what the writes from now on record (`None`: writes that change nothing a
/// user asked for, such as a cached token).
pub fn set_action(action: Option<Action>) {
    *ACTION.lock().unwrap_or_else(|e| e.into_inner()) = action;
}

/// The action the writes record now.
pub fn action() -> Option<Action> {
    ACTION.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The log beside one vault, watching its writes.
pub struct VaultChanges {
    path: PathBuf,
}

impl VaultChanges {
    pub fn new(path: PathBuf) -> VaultChanges {
        VaultChanges { path }
    }
}

impl VaultChanges {
    /// The last sealed entry, or `None` (with a warning when the log cannot be read).
    pub fn head(&self) -> Option<LogHead> {
        if !self.path.exists() {
            return None;
        }
        let tail = file::open_locked(&self.path)
            .and_then(|mut locked| file::tail(&self.path, &mut locked.file));
        match tail {
            Ok(tail) => tail.sealed.map(|(seq, mac)| LogHead { seq, mac }),
            Err(e) => {
                // The vault write goes on (`vault audit off` must stay possible).
                eprintln!(
                    "warning: cannot read the access log {}: {e}; the vault keeps the position it recorded before",
                    self.path.display()
                );
                None
            }
        }
    }
}

impl LogWatch for VaultChanges {
    fn before_write(&self, vault: &Vault) -> Result<Option<LogHead>> {
        let written = match action() {
            Some(action) => {
                Log::with_setting(self.path.clone(), vault.audit.as_ref()).append(action.entry())?
            }
            None => None,
        };
        // Read only when this write added no sealed entry of its own.
        Ok(written.or_else(|| self.head()))
    }

    fn write_failed(&self, vault: &Vault, error: &crate::error::Error) {
        let Some(action) = action() else { return };
        let mut entry = action.entry();
        entry.outcome = error.exit_code().name().into();
        entry.subject = Some("the vault write failed; the change did not happen".into());
        if let Err(e) = Log::with_setting(self.path.clone(), vault.audit.as_ref()).record(entry) {
            eprintln!("warning: {e}");
        }
    }
}
