//! Unlocking: the key sources a command opens the vault with. By default the
//! identity file (`--identity`), else the unlock agent (which may also hold the
//! decrypted vault, so that a command about one profile reads no file), else the
//! passphrase from its sources (file, command, variable, terminal). `unlock`,
//! `passwd` and `recipients add`/`remove` must prove the passphrase and use it alone. The
//! vault layer below only takes the key. Warnings are printed here, because they
//! must come before the passphrase prompt they explain.

use zeroize::Zeroizing;

use crate::agent;
use crate::audit;
use crate::error::{Error, Result};
use crate::passphrase::{self, Origin};
use crate::secret::Secret;
use crate::vault::crypto::{self, KdfParams, VaultKey};
use crate::vault::file::VaultFile;
use crate::vault::format::Envelope;
use crate::vault::payload::{Opened, Salvaged, Selection};
use crate::vault::store::Version;
use crate::vault::{Unlocked, Vault, open_payload, read_envelope, read_envelope_versioned};

/// Opens an existing vault: with the identity file when one is given, else with
/// the unlock agent's key when it holds one, else with the passphrase (at a
/// terminal, up to three tries). Fails with `NoVault` when there is none, and with
/// `Damaged` when a profile's record does not open.
pub fn open(file: VaultFile) -> Result<(Unlocked, Vault)> {
    open_around_damage(file, Selection::All).and_then(undamaged)
}

/// Opens the vault as `open` does, but reads only profile `name` (with every app):
/// for commands about one profile, whose cost must not grow with the others. The
/// vault returned holds no other profile; a change still goes through `update`,
/// which reads the whole vault.
pub fn open_profile(file: VaultFile, name: &str) -> Result<(Unlocked, Vault)> {
    open_around_damage(file, Selection::Only(&[name])).and_then(undamaged)
}

/// Opens the vault as `open` does, reading no profile's record (apps and recipients
/// only): for commands about apps or recipients, and for adding a profile.
pub fn open_apps(file: VaultFile) -> Result<(Unlocked, Vault)> {
    open_around_damage(file, Selection::Only(&[])).and_then(undamaged)
}

/// Opens the vault as `open` does, reading the selected profiles around damaged
/// records: those whose records do not open are named beside the model, for the
/// command to report or refuse.
pub fn open_around_damage(file: VaultFile, selection: Selection) -> Result<(Unlocked, Salvaged)> {
    // Taken before the read: if the file is replaced in between, what the agent
    // is given is filed under a stamp no file has any more, never the current one.
    let stamp = file.identity().is_none().then(|| file.stamp()).flatten();
    if let (Selection::Only([name]), Some(stamp)) = (selection, &stamp)
        && let Some((key, vault)) = agent_profile(&file, stamp, name)
    {
        let salvaged = Salvaged {
            vault,
            damaged: Vec::new(),
        };
        return Ok((unlocked(file, key), salvaged));
    }
    // The read is kept for a write that follows, under the stamp from before it.
    let read_stamp = file.stamp();
    let (envelope, version) = read_envelope_versioned(&file)?;
    if let Some(identity) = file.identity() {
        let key = identity_key(identity, &envelope)?;
        return match Opened::decrypt(&file, &key, &envelope) {
            Err(Error::WrongPassphrase(_)) => Err(Error::NotARecipient(identity.to_path_buf())),
            Ok(opened) => {
                let salvaged = opened.salvage(&file, selection)?;
                let root = opened.into_root();
                let unlocked = unlocked(file, key).holding(read_stamp, (envelope, version), root);
                Ok((unlocked, salvaged))
            }
            Err(e) => Err(e),
        };
    }
    if let Some(key) = agent_key(&file, &envelope, true)? {
        match Opened::decrypt(&file, &key, &envelope) {
            Ok(opened) => {
                let salvaged = opened.salvage(&file, selection)?;
                if let Some(stamp) = stamp {
                    agent_remember(&file, stamp, &opened);
                }
                let root = opened.into_root();
                let unlocked = unlocked(file, key).holding(read_stamp, (envelope, version), root);
                return Ok((unlocked, salvaged));
            }
            // The agent's key no longer fits: forget it and ask for the passphrase.
            Err(Error::WrongPassphrase(_)) => {
                agent::forget_key(file.path());
            }
            Err(e) => return Err(e),
        }
    }
    open_with_passphrase_envelope(file, (envelope, version), read_stamp, selection)
        .map(|(unlocked, salvaged, _)| (unlocked, salvaged))
}

/// The vault opened with `key`, its writes recorded in its access log.
fn unlocked(file: VaultFile, key: VaultKey) -> Unlocked {
    let log = audit::VaultChanges::new(audit::log_path(&file));
    Unlocked::new(file, key).with_log(std::sync::Arc::new(log))
}

fn undamaged((unlocked, salvaged): (Unlocked, Salvaged)) -> Result<(Unlocked, Vault)> {
    let vault = salvaged.undamaged(unlocked.file())?;
    Ok((unlocked, vault))
}

/// The vault's current key from the identity file or the unlock agent, never asking
/// for a passphrase: for a server that finds the key changed under it.
pub fn open_unattended(file: VaultFile) -> Result<Unlocked> {
    let envelope = read_envelope(&file)?;
    let key = match file.identity() {
        Some(identity) => identity_key(identity, &envelope)?,
        None => agent_key(&file, &envelope, false)?
            .ok_or_else(|| Error::PassphraseChanged(file.path().to_path_buf()))?,
    };
    // Proves the key opens the vault (the records are not read).
    Opened::decrypt(&file, &key, &envelope)?;
    Ok(unlocked(file, key))
}

/// Reads the vault with the agent's key without counting as use, for `vault
/// status`; `None` when the agent holds no key for it.
pub fn peek(file: &VaultFile) -> Result<Option<Vault>> {
    let envelope = read_envelope(file)?;
    match agent_key(file, &envelope, false)? {
        // Completions and warnings: the profiles that open do.
        Some(key) => open_payload(file, &key, &envelope, Selection::All).map(|s| Some(s.vault)),
        None => Ok(None),
    }
}

/// Opens an existing vault with the passphrase only, never the agent or an
/// identity file (`unlock`, `passwd` and `recipients add`/`remove` must prove the
/// passphrase); also returns the passphrase, for re-keying. Reads no profile's
/// record (apps and recipients only): their writes read what they need.
pub fn open_with_passphrase(file: VaultFile) -> Result<(Unlocked, Vault, Secret)> {
    let read_stamp = file.stamp();
    let read = read_envelope_versioned(&file)?;
    let (unlocked, salvaged, passphrase) =
        open_with_passphrase_envelope(file, read, read_stamp, Selection::Only(&[]))?;
    Ok((unlocked, salvaged.vault, passphrase))
}

/// Opens `envelope` (read at `version` from the file at `read_stamp`) with the
/// passphrase, keeping the read for a write that follows.
fn open_with_passphrase_envelope(
    file: VaultFile,
    (envelope, version): (Envelope, Version),
    read_stamp: Option<String>,
    selection: Selection,
) -> Result<(Unlocked, Salvaged, Secret)> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let (passphrase, origin) = passphrase::existing(file.path(), file.passphrase_sources())?;
        let key = VaultKey::derive(&passphrase, envelope.kdf, &envelope.salt)
            .map_err(|e| Error::damaged(file.path(), e))?;
        let opened = Opened::decrypt(&file, &key, &envelope).and_then(|opened| {
            opened
                .salvage(&file, selection)
                .map(|s| (s, opened.into_root()))
        });
        if let Err(Error::WrongPassphrase(_)) = &opened {
            // No key to seal it with: unsealed, covered by the next sealed entry.
            let failed = audit::Entry::new(audit::Event::PassphraseFailed).outcome(&opened);
            audit::Log::unkeyed(&file).record(failed)?;
        }
        match opened {
            Err(Error::WrongPassphrase(_))
                if origin == Origin::Terminal && attempts < passphrase::TERMINAL_ATTEMPTS =>
            {
                eprintln!("Wrong passphrase, try again.");
            }
            Err(Error::WrongPassphrase(path)) => {
                let wrong = Error::WrongPassphraseFrom {
                    path,
                    from: origin.describe(file.passphrase_sources()),
                    variable: match origin {
                        Origin::Variable(name) => Some(name),
                        Origin::Terminal => None,
                    },
                };
                // The header's KDF settings are not authenticated until the key they
                // give opens the vault: a raised cost looks like a wrong passphrase.
                let changed = format!(
                    "if the passphrase is right, the KDF settings in the file's header were changed (in force: {}); an identity file tells a changed header apart as tampering",
                    kdf_settings(&envelope.kdf)
                );
                let hint = match wrong.hint() {
                    Some(fix) => format!("{fix}; {changed}"),
                    None => changed,
                };
                return Err(wrong.with_hint(hint));
            }
            Err(e) => return Err(e),
            Ok((salvaged, root)) => {
                let unlocked = unlocked(file, key).holding(read_stamp, (envelope, version), root);
                return Ok((unlocked, salvaged, passphrase));
            }
        }
    }
}

/// A vault to add to: the one there is, or the key of a new one that is written
/// only with the command's change, so a command stopped before its end (Ctrl-C at
/// its last question) leaves no empty vault sealed with a passphrase just typed.
pub struct Target {
    pub unlocked: Unlocked,
    /// The vault as it is; empty when it is new.
    pub vault: Vault,
    pub new: bool,
}

/// Opens the vault with the selected profiles, or, when there is none yet, asks for
/// a new passphrase (twice) and writes nothing.
pub fn open_or_prepare(file: VaultFile, selection: Selection) -> Result<Target> {
    match open_around_damage(file.clone(), selection).and_then(undamaged) {
        Ok((unlocked, vault)) => Ok(Target {
            unlocked,
            vault,
            new: false,
        }),
        Err(Error::NoVault(_)) => Ok(Target {
            unlocked: prepare_new(file, KdfParams::DEFAULT)?,
            vault: Vault::default(),
            new: true,
        }),
        Err(e) => Err(e),
    }
}

impl Target {
    /// Applies `change` (to profiles `names` and apps, or to the whole vault when
    /// `names` is `None`), creating the vault with it when it is new.
    pub fn save<T>(
        &self,
        names: Option<&[&str]>,
        mut change: impl FnMut(&mut Vault) -> Result<T>,
    ) -> Result<T> {
        if self.new {
            move_earlier_log_aside(self.unlocked.file())?;
            let mut result = None;
            self.unlocked.save_new(|vault| {
                result = Some(change(vault)?);
                Ok(())
            })?;
            return Ok(result.expect("save_new runs the change once"));
        }
        match names {
            Some(names) => self.unlocked.update_profiles(names, change),
            None => self.unlocked.update(change),
        }
    }
}

/// Creates a new, empty vault; with `audit`, its access log is on; a log left by an earlier vault at the same
/// place (chained under another key) is moved aside first.
pub fn create(file: VaultFile, kdf: KdfParams, audit: bool) -> Result<(Unlocked, Vault)> {
    let unlocked = prepare_new(file, kdf)?;
    move_earlier_log_aside(unlocked.file())?;
    let vault = unlocked.save_new(|vault| {
        vault.audit = Some(crate::vault::model::AuditSetting::new(audit));
        Ok(())
    })?;
    Ok((unlocked, vault))
}

/// A log left where a new vault's goes, by an earlier vault there, is chained under
/// another key: moved aside, so that the new one starts a chain of its own.
fn move_earlier_log_aside(file: &VaultFile) -> Result<()> {
    let moved = audit::move_aside(&audit::log_path(file))?;
    if let Some(first) = moved.first() {
        eprintln!(
            "note: an earlier vault's access log was there; moved aside to {}{}",
            first.display(),
            if moved.len() > 1 {
                " (its rotated files beside it)"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// The key for a vault not written yet: asks for the new passphrase and derives
/// the key, but writes nothing (the wizard saves only at its end).
pub fn prepare_new(file: VaultFile, kdf: KdfParams) -> Result<Unlocked> {
    kdf.check_bounds()
        .map_err(|e| Error::Invalid(e.to_string()))?;
    if file.read()?.is_some() {
        return Err(Error::VaultExists(file.path().to_path_buf()));
    }
    let passphrase = passphrase::new(file.path(), file.passphrase_sources(), false)?;
    let key = VaultKey::derive(&passphrase, kdf, &crypto::new_salt()).map_err(Error::Invalid)?;
    // `save_new` refuses, under the lock, a vault that appeared meanwhile.
    Ok(unlocked(file, key))
}

/// The key in an age identity file, for a recipient's machine.
fn identity_key(path: &std::path::Path, envelope: &Envelope) -> Result<VaultKey> {
    let contents = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
        Error::PassphraseSource(format!(
            "cannot read the identity file {}: {e}",
            path.display()
        ))
    })?);
    VaultKey::from_identity_file(&contents, envelope.kdf, &envelope.salt)
        .map_err(|e| Error::PassphraseSource(format!("the identity file {}: {e}", path.display())))
}

/// The key the unlock agent holds for this vault, if any. An agent that cannot be
/// reached is no error: the passphrase sources still work. A header whose KDF
/// settings changed behind the agent is tampering, reported without running them.
fn agent_key(file: &VaultFile, envelope: &Envelope, touch: bool) -> Result<Option<VaultKey>> {
    let request = agent::protocol::Request::Key {
        kdf: envelope.kdf,
        salt: envelope.salt.clone(),
        touch,
    };
    match agent::call(file.path(), &request) {
        Ok(Some(agent::protocol::Response::Key { identity, syslog })) => {
            if syslog {
                audit::copy_to_syslog();
            }
            Ok(VaultKey::from_identity(&identity, envelope.kdf, &envelope.salt).ok())
        }
        Ok(Some(agent::protocol::Response::HeaderChanged { kdf })) => Err(Error::damaged(
            file.path(),
            format!(
                "the KDF settings in its plaintext header ({}) are not those the unlock agent's key was made with ({}) for the same salt: tampering",
                kdf_settings(&envelope.kdf),
                kdf_settings(&kdf)
            ),
        )),
        Ok(_) => Ok(None),
        Err(e) => {
            eprintln!("warning: {e}; asking for the passphrase instead");
            Ok(None)
        }
    }
}

fn kdf_settings(kdf: &KdfParams) -> String {
    format!(
        "{} MiB, {} passes, {} lanes",
        kdf.memory_kib / 1024,
        kdf.iterations,
        kdf.parallelism
    )
}

/// Profile `name` from the decrypted vault the agent holds for the file at `stamp`,
/// with the key; `None` when it holds none (the file changed, or it was never given)
/// or holds the vault without it (no such profile, or its record does not open: the
/// file says which).
fn agent_profile(file: &VaultFile, stamp: &str, name: &str) -> Option<(VaultKey, Vault)> {
    let request = agent::protocol::Request::Profile {
        stamp: stamp.to_owned(),
        name: name.to_owned(),
    };
    match agent::call(file.path(), &request) {
        Ok(Some(agent::protocol::Response::Profile {
            identity,
            kdf,
            salt,
            vault,
            syslog,
        })) => {
            if syslog {
                audit::copy_to_syslog();
            }
            let key = VaultKey::from_identity(&identity, kdf, &salt).ok()?;
            let vault: Vault = serde_json::from_str(vault.expose()).ok()?;
            vault.profiles.contains_key(name).then_some((key, vault))
        }
        _ => None,
    }
}

/// Hands the agent the decrypted model of the file at `stamp`, without waiting: the
/// next command about one profile then reads nothing. Failing to is no error.
fn agent_remember(file: &VaultFile, stamp: String, opened: &Opened) {
    let Ok(Some(mut model)) = opened.model_json(file) else {
        return;
    };
    let request = agent::protocol::Request::Remember {
        stamp,
        model: Secret::new(std::mem::take(&mut *model)),
    };
    let _ = agent::tell(file.path(), &request);
}
