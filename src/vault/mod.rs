//! The encrypted store: open it with a key (`unlock` chooses where the key comes
//! from), read the model, and apply a command's change to what is stored at that
//! moment: under the lock for a file, by check-and-set for OpenBao. Nothing here
//! prompts, prints or talks to the unlock agent.

pub mod bao;
pub mod crypto;
pub mod file;
mod file_store;
pub mod format;
pub mod model;
pub mod payload;
pub(crate) mod records;
pub mod store;

use crate::error::{Error, Result};
use crate::secret::Secret;
use crypto::{KdfParams, VaultKey};
use file::VaultFile;
use format::{Envelope, EnvelopeError};
pub use model::Vault;
use payload::{Kept, Opened, Salvaged, Selection};
use records::Root;
use std::sync::{Mutex, PoisonError};
use store::{Part, Stored};

/// How many times a write re-reads and re-applies its change after another writer
/// won OpenBao's check-and-set.
const WRITE_ATTEMPTS: usize = 8;

/// What a write reads before applying its change: the selected profiles, or every
/// profile's record but one, to be dropped unread.
#[derive(Clone, Copy)]
enum Reading<'a> {
    Selected(Selection<'a>),
    AllBut(&'a str),
}

/// What a write tells the access log, which lives above the store: the store only
/// records where the log stood, and says when a write succeeded.
pub trait LogWatch: Send + Sync {
    /// Before `vault` is written: appends the entry of the change (when the command
    /// makes one), and gives the log's last sealed entry for the vault to record, so
    /// that a log cut back past it is detected; `None` keeps what the vault recorded
    /// (a log with no sealed entry, or one that cannot be read, must not erase it).
    /// An error (the entry cannot be written) stops the write.
    fn before_write(&self, vault: &Vault) -> Result<Option<model::LogHead>>;
    /// The write announced by `before_write` did not happen.
    fn write_failed(&self, vault: &Vault, error: &Error);
}

/// An opened vault: where it is and the key that opens it.
pub struct Unlocked {
    file: VaultFile,
    key: VaultKey,
    log: Option<std::sync::Arc<dyn LogWatch>>,
    held: Mutex<Option<HeldRead>>,
}

impl std::fmt::Debug for Unlocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unlocked")
            .field("file", &self.file)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// The read that opened the vault, kept for the write that may follow: at 10,000
/// profiles, decrypting and parsing the root again under the lock cost a tenth of a
/// write about one profile. Used only while the file still has the stamp it had
/// before that read (spvault replaces it by a new inode, and any other change moves
/// its times), so it is what a read under the lock would find.
struct HeldRead {
    stamp: String,
    envelope: Envelope,
    version: store::Version,
    root: Box<Root>,
}

impl std::fmt::Debug for HeldRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldRead")
            .field("stamp", &self.stamp)
            .finish_non_exhaustive()
    }
}

impl Unlocked {
    /// The vault at `file`, to be opened with `key` (from one of `unlock`'s sources),
    /// or, for a vault not written yet, to be written by `save_new`.
    pub fn new(file: VaultFile, key: VaultKey) -> Unlocked {
        Unlocked {
            file,
            key,
            log: None,
            held: Mutex::new(None),
        }
    }

    /// The same, telling `log` about each write.
    pub fn with_log(mut self, log: std::sync::Arc<dyn LogWatch>) -> Unlocked {
        self.log = Some(log);
        self
    }

    /// Keeps the read this was opened from (`envelope`, at `version`, read from the
    /// file at `stamp`, and the root `opened` from it with this key) for the next
    /// write; formats 1 and 2, and stores without stamps, keep nothing.
    pub fn holding(
        self,
        stamp: Option<String>,
        (envelope, version): (Envelope, store::Version),
        root: Option<Box<Root>>,
    ) -> Unlocked {
        if let (Some(stamp), Some(root)) = (stamp, root) {
            *self.held_read() = Some(HeldRead {
                stamp,
                envelope,
                version,
                root,
            });
        }
        self
    }

    fn held_read(&self) -> std::sync::MutexGuard<'_, Option<HeldRead>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The read kept by `holding`, if the file is still the one it was read from;
    /// taken, so that a process that lives on does not keep it.
    fn take_held_read(&self) -> Option<HeldRead> {
        let held = self.held_read().take()?;
        (self.file.stamp().as_ref() == Some(&held.stamp)).then_some(held)
    }

    /// Writes the vault `prepare_new` prepared, with `fill`'s content; refuses when
    /// a vault appeared there meanwhile.
    pub fn save_new(&self, fill: impl FnOnce(&mut Vault) -> Result<()>) -> Result<Vault> {
        let mut vault = Vault::default();
        fill(&mut vault)?;
        let lock = self.file.lock()?;
        let (existing, version) = self.file.read_versioned()?;
        if existing.is_some() {
            return Err(Error::VaultExists(self.file.path().to_path_buf()));
        }
        let (kdf, salt) = (self.key.kdf, self.key.salt.clone());
        let backup = store::Backup::Replace;
        self.write(&mut vault, (None, None), &lock, kdf, &salt, version, backup)?;
        Ok(vault)
    }

    /// The selected profiles as they are on disk now, read around damaged records,
    /// opened with the key this one was opened with.
    pub fn reload(&self, selection: Selection) -> Result<Salvaged> {
        self.held_read().take();
        let envelope = read_envelope(&self.file)?;
        if !self.key.fits(&envelope.kdf, &envelope.salt) {
            return Err(Error::PassphraseChanged(self.file.path().to_path_buf()));
        }
        open_payload(&self.file, &self.key, &envelope, selection)
    }

    pub fn file(&self) -> &VaultFile {
        &self.file
    }

    /// Applies `change` to the vault as it is on disk now, under the write lock, and
    /// saves the result; another process's changes made since this one opened the
    /// vault are kept. Returns the change's result.
    pub fn update<T>(&self, change: impl FnMut(&mut Vault) -> Result<T>) -> Result<T> {
        self.update_selected(Reading::Selected(Selection::All), change)
    }

    /// Removes profile `name` without reading its record (which may be damaged): the
    /// other records are written back as they are.
    pub fn remove_profile_unread(&self, name: &str) -> Result<()> {
        self.update_selected(Reading::AllBut(name), |vault| {
            // Formats 1 and 2 are read whole, the profile with them.
            vault.profiles.remove(name);
            Ok(())
        })
    }

    /// `update` for a change to the profiles `names` (and apps) only: `change` sees
    /// the vault with those profiles (the ones that exist), may change, add or remove
    /// them, and the others are written back as they are, unread. Its cost does not
    /// grow with the profiles it does not touch.
    pub fn update_profiles<T>(
        &self,
        names: &[&str],
        change: impl FnMut(&mut Vault) -> Result<T>,
    ) -> Result<T> {
        self.update_selected(Reading::Selected(Selection::Only(names)), change)
    }

    fn update_selected<T>(
        &self,
        mut reading: Reading,
        mut change: impl FnMut(&mut Vault) -> Result<T>,
    ) -> Result<T> {
        // A file is locked, so one pass does; OpenBao's check-and-set may find that
        // another machine wrote first: then re-read and apply the change again.
        for _ in 0..WRITE_ATTEMPTS {
            let lock = self.file.lock()?;
            let (envelope, version, root) = match self.take_held_read() {
                Some(held) => (held.envelope, held.version, Some(held.root)),
                None => {
                    let (envelope, version) = read_envelope_versioned(&self.file)?;
                    (envelope, version, None)
                }
            };
            if !self.key.fits(&envelope.kdf, &envelope.salt) {
                return Err(Error::PassphraseChanged(self.file.path().to_path_buf()));
            }
            let opened = match root {
                Some(root) => Opened::from_root(&self.file, root, &envelope)?,
                None => Opened::decrypt(&self.file, &self.key, &envelope)?,
            };
            if envelope.version < format::VERSION {
                // Upgraded whole, once: every record gets its digest in the index.
                reading = Reading::Selected(Selection::All);
            }
            let (mut vault, kept) = match reading {
                Reading::Selected(selection) => opened.select(&self.file, selection)?,
                Reading::AllBut(name) => opened.select_all_but(&self.file, name)?,
            };
            let recipients_before = vault.recipients.clone();
            let result = change(&mut vault)?;
            if kept.is_some() && vault.recipients != recipients_before {
                // Other recipients need a profile key nobody removed holds: every
                // profile is sealed anew, so read them all and apply the change again.
                reading = Reading::Selected(Selection::All);
                continue;
            }
            // The version replaced becomes the backup, unless it holds a damaged
            // record (one copied forward that is not the one its index names, or the
            // one dropped unread): then the backup from before it stays.
            let check = kept.as_ref().map(Kept::index_check);
            let whole = || {
                check
                    .as_ref()
                    .map_or(Ok(true), |c| c.all_indexed(&self.file))
            };
            let backup = match (reading, &check) {
                (Reading::AllBut(_), _) => store::Backup::KeepPrevious,
                (_, Some(_)) => store::Backup::ReplaceIfWhole(&whole),
                (_, None) => store::Backup::Replace,
            };
            // The header stays as found: a recipient writing must not undo a passwd.
            match self.write(
                &mut vault,
                (kept, opened.lineage()),
                &lock,
                envelope.kdf,
                &envelope.salt,
                version,
                backup,
            ) {
                Err(Error::WriteConflict) => continue,
                Err(e) => return Err(e),
                Ok(()) => return Ok(result),
            }
        }
        Err(Error::Other(format!(
            "{} kept changing while this command wrote it ({WRITE_ATTEMPTS} tries)",
            self.file.path().display()
        ))
        .with_hint("run the command again"))
    }

    /// Applies `change` and re-encrypts the vault under `new_passphrase` (which may be
    /// the current one) with a new salt and `kdf`: keys derived before, and files
    /// sealed to them, no longer fit this vault's header. Every record is sealed anew,
    /// so one that does not open cannot be kept: `DamagedRecords`, unless
    /// `drop_damaged`, which leaves them out. Returns the profiles left out.
    pub fn change_passphrase(
        &mut self,
        new_passphrase: &Secret,
        kdf: KdfParams,
        drop_damaged: bool,
        change: impl FnOnce(&mut Vault) -> Result<()>,
    ) -> Result<Vec<String>> {
        let key =
            VaultKey::derive(new_passphrase, kdf, &crypto::new_salt()).map_err(Error::Invalid)?;
        let lock = self.file.lock()?;
        let (envelope, version) = read_envelope_versioned(&self.file)?;
        if !self.key.fits(&envelope.kdf, &envelope.salt) {
            return Err(Error::PassphraseChanged(self.file.path().to_path_buf()));
        }
        let opened = Opened::decrypt(&self.file, &self.key, &envelope)?;
        let salvaged = opened.salvage(&self.file, Selection::All)?;
        if let Some(damage) = salvaged.damage(&self.file)
            && !drop_damaged
        {
            return Err(damage);
        }
        let Salvaged { mut vault, damaged } = salvaged;
        let dropped: Vec<String> = damaged.into_iter().map(|d| d.profile).collect();
        change(&mut vault)?;
        self.key = key;
        let (kdf, salt) = (self.key.kdf, self.key.salt.clone());
        // The version replaced holds the records dropped: it must not become the backup.
        let backup = if dropped.is_empty() {
            store::Backup::Replace
        } else {
            store::Backup::KeepPrevious
        };
        let fresh = (None, opened.lineage());
        self.write(&mut vault, fresh, &lock, kdf, &salt, version, backup)?;
        Ok(dropped)
    }

    pub fn key(&self) -> &VaultKey {
        &self.key
    }

    pub fn kdf(&self) -> KdfParams {
        self.key.kdf
    }

    /// The payload's recipients: the passphrase's identity (this key's when it came
    /// from the passphrase, else the one recorded in the vault) and every named one.
    fn recipients(&self, vault: &mut Vault) -> Result<Vec<age::x25519::Recipient>> {
        let passphrase_recipient = if self.key.from_passphrase {
            let recipient = self.key.recipient();
            vault.passphrase_recipient = Some(recipient.to_string());
            recipient
        } else {
            let recorded = vault.passphrase_recipient.as_deref().ok_or_else(|| {
                Error::Other("the vault does not record its passphrase's public key yet: save it once with the passphrase before writing with an identity file".into())
            })?;
            parse_recipient(recorded)?
        };
        let mut recipients = vec![passphrase_recipient];
        for key in vault.recipients.values() {
            recipients.push(parse_recipient(key)?);
        }
        Ok(recipients)
    }

    /// Writes `vault` in format 4, with `kept` records (of profiles it does not
    /// hold) copied as they are; without them, under a new profile key that continues
    /// `lineage`. `backup`: whether the version replaced becomes the backup.
    #[allow(clippy::too_many_arguments)]
    fn write(
        &self,
        vault: &mut Vault,
        (kept, lineage): (Option<Kept>, Option<&records::Lineage>),
        lock: &store::WriteLock,
        kdf: KdfParams,
        salt: &str,
        version: store::Version,
        backup: store::Backup<'_>,
    ) -> Result<()> {
        let recipients = self.recipients(vault)?;
        // A vault from before the access log gets its key, with the log on.
        vault
            .audit
            .get_or_insert_with(|| model::AuditSetting::new(true));
        // The change is in the log before it is in the vault, and the vault records
        // the log up to that entry: neither can be cut without the other noticing.
        if let Some(head) = self
            .log
            .as_ref()
            .map(|log| log.before_write(vault))
            .transpose()?
            .flatten()
        {
            vault.audit.as_mut().expect("set above").head = Some(head);
        }
        let terms = payload::HeaderTerms { kdf, salt };
        let (sealed, previous) = payload::seal(vault, kept, lineage, terms)?;
        let payload = VaultKey::seal(&sealed.root, &recipients)
            .map_err(|e| Error::Other(format!("cannot encrypt the vault: {e}")))?;
        let header = Envelope::header(kdf, salt, &payload, sealed.layout.len());
        let mut parts = vec![Part::New(&header), Part::New(&payload)];
        parts.extend(sealed.record_parts(previous));
        let written = self.file.replace_parts(
            &parts,
            previous.map(Envelope::stored),
            lock,
            version,
            backup,
        );
        if let (Err(error), Some(log)) = (&written, &self.log) {
            log.write_failed(vault, error);
        }
        written
    }
}

/// An `age1...` public key.
pub fn parse_recipient(key: &str) -> Result<age::x25519::Recipient> {
    key.trim().parse().map_err(|_| {
        Error::Invalid(format!(
            "'{}' is not an age public key (age1...)",
            key.escape_debug()
        ))
    })
}

/// The vault's envelope: its header, for deriving a key, and the sealed payload.
pub fn read_envelope(file: &VaultFile) -> Result<Envelope> {
    read_envelope_versioned(file).map(|(envelope, _)| envelope)
}

/// `read_envelope`, and the version a write must name.
pub fn read_envelope_versioned(file: &VaultFile) -> Result<(Envelope, store::Version)> {
    let (stored, version) = file.read_stored()?;
    let stored = stored.ok_or_else(|| Error::NoVault(file.path().to_path_buf()))?;
    Ok((parse_envelope(file, stored)?, version))
}

/// Reads a stored version's envelope.
pub fn parse_envelope(file: &VaultFile, stored: Stored) -> Result<Envelope> {
    Envelope::read(stored).map_err(|e| match e {
        EnvelopeError::Damaged(detail) => Error::damaged(file.path(), detail),
        EnvelopeError::NewerVersion(found) => Error::NewerVersion {
            path: file.path().to_path_buf(),
            what: "format version",
            found,
            known: format::VERSION,
        },
        EnvelopeError::Unreadable(source) => Error::Unreadable {
            path: file.path().to_path_buf(),
            source,
        },
    })
}

/// Decrypts and reads the payload: the whole model, or only the selected profiles,
/// around damaged records.
pub fn open_payload(
    file: &VaultFile,
    key: &VaultKey,
    envelope: &Envelope,
    selection: Selection,
) -> Result<Salvaged> {
    Opened::decrypt(file, key, envelope)?.salvage(file, selection)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::spapi::Region;
    use model::Profile;

    fn unlocked(dir: &std::path::Path) -> Unlocked {
        let kdf = KdfParams {
            memory_kib: KdfParams::MIN_MEMORY_KIB,
            iterations: 1,
            parallelism: 1,
        };
        let key = VaultKey::derive(&Secret::from("passphrase"), kdf, &crypto::new_salt()).unwrap();
        Unlocked::new(VaultFile::file(dir.join("vault.toml")), key)
    }

    /// The root's profile key and each profile's sealed record, as stored now.
    fn sealed(unlocked: &Unlocked) -> (String, BTreeMap<String, Vec<u8>>) {
        let envelope = read_envelope(unlocked.file()).unwrap();
        let Opened::Sealed { root, .. } =
            Opened::decrypt(unlocked.file(), unlocked.key(), &envelope).unwrap()
        else {
            panic!("not format 3");
        };
        let records = root
            .vault
            .profiles
            .iter()
            .map(|(name, at)| {
                let range = at.range(name, envelope.records_len()).unwrap();
                (
                    name.clone(),
                    envelope.read_records(range).unwrap().into_owned(),
                )
            })
            .collect();
        (root.profile_key.expose().to_owned(), records)
    }

    fn three_profiles(dir: &std::path::Path) -> Unlocked {
        let unlocked = unlocked(dir);
        unlocked
            .save_new(|vault| {
                for name in ["p0", "p1", "p2"] {
                    let profile = Profile::new("main".into(), Region::Eu, None);
                    vault.profiles.insert(name.into(), profile);
                }
                Ok(())
            })
            .unwrap();
        unlocked
    }

    #[test]
    fn a_write_about_one_profile_copies_the_others_records_and_keeps_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let unlocked = three_profiles(dir.path());
        let (key, before) = sealed(&unlocked);
        unlocked
            .update_profiles(&["p1"], |vault| {
                assert_eq!(vault.profiles.keys().collect::<Vec<_>>(), ["p1"]);
                vault.profile_mut("p1")?.sandbox = true;
                Ok(())
            })
            .unwrap();
        let (key_after, after) = sealed(&unlocked);
        assert_eq!(key_after, key);
        assert_eq!((&after["p0"], &after["p2"]), (&before["p0"], &before["p2"]));
        assert_ne!(after["p1"], before["p1"]);
        let vault = unlocked.reload(Selection::All).unwrap().vault;
        assert!(vault.profiles["p1"].sandbox);
        assert!(!vault.profiles["p0"].sandbox && !vault.profiles["p2"].sandbox);
    }

    #[test]
    fn a_write_of_the_whole_vault_or_of_recipients_seals_all_under_a_new_key() {
        let dir = tempfile::tempdir().unwrap();
        let unlocked = three_profiles(dir.path());
        let (key, before) = sealed(&unlocked);
        unlocked.update(|_| Ok(())).unwrap();
        let (key_after, after) = sealed(&unlocked);
        assert_ne!(key_after, key);
        assert!(before.iter().all(|(name, record)| after[name] != *record));
        // A change of recipients made by a write about one profile is applied to the
        // whole vault, which is sealed anew.
        let recipient = VaultKey::derive(
            &Secret::from("another"),
            unlocked.kdf(),
            &crypto::new_salt(),
        )
        .unwrap()
        .recipient()
        .to_string();
        let mut seen = Vec::new();
        unlocked
            .update_profiles(&["p1"], |vault| {
                seen.push(vault.profiles.len());
                vault.recipients.insert("other".into(), recipient.clone());
                Ok(())
            })
            .unwrap();
        assert_eq!(seen, [1, 3]);
        let (key_last, last) = sealed(&unlocked);
        assert_ne!(key_last, key_after);
        assert!(after.iter().all(|(name, record)| last[name] != *record));
        assert_eq!(
            unlocked
                .reload(Selection::All)
                .unwrap()
                .vault
                .recipients
                .len(),
            1
        );
    }

    /// The records a write copies are checked chunk by chunk: damage in any chunk,
    /// the first, one in the middle or the last, keeps the backup as it was.
    #[test]
    fn a_damaged_record_in_any_chunk_of_a_large_vault_stays_out_of_the_backup() {
        let dir = tempfile::tempdir().unwrap();
        let unlocked = unlocked(dir.path());
        let names: Vec<String> = (0..700).map(|i| format!("p{i:03}")).collect();
        unlocked
            .save_new(|vault| {
                for name in &names {
                    let mut profile = Profile::new("main".into(), Region::Eu, None);
                    profile.refresh_token = Some(Secret::new("x".repeat(1000)));
                    vault.profiles.insert(name.clone(), profile);
                }
                Ok(())
            })
            .unwrap();
        let edit = |name: &str| {
            unlocked
                .update_profiles(&[name], |vault| {
                    let profile = vault.profile_mut(name)?;
                    profile.sandbox = !profile.sandbox;
                    Ok(())
                })
                .unwrap()
        };
        let path = dir.path().join("vault.toml");
        let backup = dir.path().join("vault.toml.bak");
        // Each profile's record as stored now, in file order: its name, where it is in
        // the file, and its length.
        let records = || {
            let envelope = read_envelope(unlocked.file()).unwrap();
            let records_len = envelope.records_len();
            assert!(
                records_len > 2 * 256 * 1024,
                "{records_len} bytes: one chunk"
            );
            let Opened::Sealed { root, .. } =
                Opened::decrypt(unlocked.file(), unlocked.key(), &envelope).unwrap()
            else {
                panic!("not format 4");
            };
            let records_start = std::fs::metadata(&path).unwrap().len() - records_len;
            let mut by_place: Vec<(String, u64, u64)> = root
                .vault
                .profiles
                .iter()
                .map(|(name, at)| (name.clone(), records_start + at.at, at.len))
                .collect();
            by_place.sort_by_key(|r| r.1);
            by_place
        };
        let picks: [fn(usize) -> usize; 3] = [|_| 0, |n| n / 2, |n| n - 1];
        for pick in picks {
            let before = records();
            let name = before[pick(before.len())].0.clone();
            let other = if name == "p000" { "p001" } else { "p000" };
            // A write about another profile first, so that the backup is a whole vault.
            edit(other);
            let (_, at, len) = records().into_iter().find(|r| r.0 == name).unwrap();
            let whole_backup = std::fs::read(&backup).unwrap();
            let mut bytes = std::fs::read(&path).unwrap();
            bytes[(at + len / 2) as usize] ^= 1;
            std::fs::write(&path, &bytes).unwrap();
            edit(other);
            assert_eq!(std::fs::read(&backup).unwrap(), whole_backup, "{name}");
            let salvaged = unlocked.reload(Selection::All).unwrap();
            assert!(
                salvaged.is_damaged(&name) && salvaged.damaged.len() == 1,
                "{name}"
            );
            // Undone, for the next: the damaged profile written anew.
            unlocked.remove_profile_unread(&name).unwrap();
            unlocked
                .update_profiles(&[&name], |vault| {
                    let profile = Profile::new("main".into(), Region::Eu, None);
                    vault.profiles.insert(name.clone(), profile);
                    Ok(())
                })
                .unwrap();
        }
    }

    /// Opened as `unlock` opens it: the read kept for the write that follows.
    fn opened_holding(unlocked: &Unlocked) -> Unlocked {
        let stamp = unlocked.file().stamp();
        let (envelope, version) = read_envelope_versioned(unlocked.file()).unwrap();
        let opened = Opened::decrypt(unlocked.file(), unlocked.key(), &envelope).unwrap();
        let root = opened.into_root();
        let key = unlocked.key();
        let key = VaultKey::derive(&Secret::from("passphrase"), key.kdf, &key.salt).unwrap();
        let again = Unlocked::new(unlocked.file().clone(), key);
        again.holding(stamp, (envelope, version), root)
    }

    #[test]
    fn a_write_after_another_one_since_the_read_it_holds_reads_the_file_again() {
        let dir = tempfile::tempdir().unwrap();
        let unlocked = three_profiles(dir.path());
        let sandbox = |name: &'static str| {
            move |vault: &mut Vault| {
                vault.profile_mut(name)?.sandbox = true;
                Ok(())
            }
        };
        // Unchanged since the read: the write uses it.
        opened_holding(&unlocked)
            .update_profiles(&["p0"], sandbox("p0"))
            .unwrap();
        // Changed since: the other write is kept.
        let holding = opened_holding(&unlocked);
        unlocked.update_profiles(&["p1"], sandbox("p1")).unwrap();
        holding.update_profiles(&["p2"], sandbox("p2")).unwrap();
        let vault = unlocked.reload(Selection::All).unwrap().vault;
        assert!(vault.profiles.values().all(|p| p.sandbox));
        assert!(unlocked.reload(Selection::All).unwrap().damaged.is_empty());
    }

    #[test]
    fn a_profile_not_read_cannot_be_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let unlocked = three_profiles(dir.path());
        let before = std::fs::read(dir.path().join("vault.toml")).unwrap();
        let error = unlocked
            .update_profiles(&["p1"], |vault| {
                let profile = Profile::new("main".into(), Region::Na, None);
                vault.profiles.insert("p0".into(), profile);
                Ok(())
            })
            .unwrap_err();
        assert!(error.to_string().contains("'p0'"), "{error}");
        assert_eq!(
            std::fs::read(dir.path().join("vault.toml")).unwrap(),
            before
        );
    }
}
