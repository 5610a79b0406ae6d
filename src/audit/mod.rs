//! The access log: one JSON line per credential handed out, vault change and
//! session event, beside the vault (`PATH.audit`), chained by MACs under a key held
//! in the vault's encrypted root. Called from where credentials leave the process
//! (commands, serve, proxy) and from the session layer; never from the store.

mod chain;
mod changes;
mod coalesce;
mod entry;
mod file;
mod syslog;
mod verify;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

pub use changes::{Action, VaultChanges, action, set_action};
pub use coalesce::Answers;
pub use entry::{Entry, Event, Who};
pub use verify::{Broken, Verified};

use crate::error::{Coded, ExitCode};
use crate::vault::Vault;
use crate::vault::file::VaultFile;
use crate::vault::model::{AuditSetting, LogHead};
use chain::AuditKey;

/// A current file that grew past this is rotated.
const ROTATE_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot write the access log {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the access log {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the access log {} is not intact: {broken}", .path.display())]
    Broken { path: PathBuf, broken: Broken },
    #[error("the vault holds no access log key yet, so its log cannot be verified")]
    NoKey,
}

impl Coded for AuditError {
    fn exit_code(&self) -> ExitCode {
        match self {
            AuditError::Broken { .. } => ExitCode::Damaged,
            _ => ExitCode::Other,
        }
    }

    fn hint(&self) -> Option<String> {
        Some(match self {
            AuditError::Write { source, .. }
                if matches!(
                    source.kind(),
                    std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
                ) =>
            {
                format!("this user cannot write beside the vault: point {} at a file it can write (this user's own log of what it is handed)", crate::settings::AUDIT_LOG_VAR)
            }
            AuditError::Write { source, .. } if source.kind() == std::io::ErrorKind::StorageFull => {
                "free space on its disk, then run the command again".into()
            }
            AuditError::Write { .. } => format!(
                "it must be a regular file (not a link, a folder or a device) this user can write: move what is there aside, or point {} elsewhere",
                crate::settings::AUDIT_LOG_VAR
            ),
            AuditError::Read { .. } => "check that it is a readable file".into(),
            AuditError::Broken { .. } => "compare it with the copy sent to the system log (`--syslog`) or a backup; the entries before the one named are intact".into(),
            AuditError::NoKey => "run `vault audit on`, which gives the vault its log key".into(),
        })
    }
}

/// Where the log of `vault` lives: `SPVAULT_AUDIT_LOG`, else beside the vault file,
/// else (an OpenBao store) in this machine's data folder, one log per store.
pub fn log_path(vault: &VaultFile) -> PathBuf {
    if let Some(path) = crate::settings::audit_log_override() {
        return path;
    }
    let location = vault.path();
    if crate::vault::bao::is_store_spec(&location.to_string_lossy()) {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(location.as_os_str().as_encoded_bytes());
        let name: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        let folder = directories::ProjectDirs::from("", "", "spvault")
            .map(|dirs| dirs.data_dir().to_path_buf())
            .unwrap_or_else(std::env::temp_dir);
        return folder.join(format!("store-{name}.audit"));
    }
    let mut name = location.as_os_str().to_owned();
    name.push(".audit");
    PathBuf::from(name)
}

/// Moves the log at `path` and its rotated files aside (`NAME.replaced-SECONDS`);
/// returns where they went, the current file first.
pub fn move_aside(path: &Path) -> Result<Vec<PathBuf>, AuditError> {
    let write_error = |source| AuditError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut files = vec![path.to_path_buf()];
    files.extend(file::rotated_files(path).map_err(write_error)?);
    let stamp = jiff::Timestamp::now().as_second();
    let mut moved = Vec::new();
    for from in files.into_iter().filter(|f| f.exists()) {
        let mut to = from.clone().into_os_string();
        to.push(format!(".replaced-{stamp}"));
        std::fs::rename(&from, &to).map_err(write_error)?;
        moved.push(PathBuf::from(to));
    }
    Ok(moved)
}

/// Whether entries also go to the system log (`--syslog`), for this process.
static TO_SYSLOG: AtomicBool = AtomicBool::new(false);

/// Sends every entry this process writes to the system log too.
pub fn copy_to_syslog() {
    syslog::open();
    TO_SYSLOG.store(true, Ordering::Relaxed);
}

/// A vault's log, as its setting says: on or off, and the key that seals entries.
pub struct Log {
    path: PathBuf,
    key: Option<AuditKey>,
    on: bool,
    keep_days: u32,
    /// Only write when the log already exists: what a process without the key
    /// writes cannot know whether the log was turned off.
    only_if_present: bool,
    rotate_bytes: u64,
}

impl Log {
    /// The log of the vault at `file`, whose model is `vault`. A vault written
    /// before the log existed has it on, unsealed until its next write adds a key.
    pub fn of(file: &VaultFile, vault: &Vault) -> Log {
        Log::with_setting(log_path(file), vault.audit.as_ref())
    }

    /// The log at `path` as `setting` says (none: a vault from before the log).
    pub fn with_setting(path: PathBuf, setting: Option<&AuditSetting>) -> Log {
        Log {
            path,
            key: setting.and_then(|s| AuditKey::from_hex(s.key.expose())),
            on: setting.is_none_or(|s| s.on),
            keep_days: setting.map_or(AuditSetting::DEFAULT_KEEP_DAYS, |s| s.keep_days),
            only_if_present: false,
            rotate_bytes: ROTATE_BYTES,
        }
    }

    /// The log of `file` for a process that holds no key (a failed passphrase, the
    /// agent, `vault lock`): its entries are unsealed, and written only when the log
    /// exists.
    pub fn unkeyed(file: &VaultFile) -> Log {
        Log::unkeyed_at(log_path(file))
    }

    pub fn unkeyed_at(path: PathBuf) -> Log {
        Log {
            only_if_present: true,
            ..Log::with_setting(path, None)
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn is_on(&self) -> bool {
        self.on
    }

    /// Appends `entry` (numbered, and sealed when there is a key) under the log's
    /// lock; an error means it is not in the log, and whatever it records must not
    /// happen.
    pub fn record(&self, entry: Entry) -> Result<(), AuditError> {
        self.append(entry).map(drop)
    }

    /// `record`, saying which sealed entry it wrote (none when the log is off or
    /// the entry unsealed), for the vault to record without reading the log again.
    pub fn append(&self, mut entry: Entry) -> Result<Option<LogHead>, AuditError> {
        if !self.on || (self.only_if_present && !self.path.exists()) {
            return Ok(None);
        }
        let write_error = |source| AuditError::Write {
            path: self.path.clone(),
            source,
        };
        let mut locked = file::open_locked(&self.path).map_err(write_error)?;
        let mut written = None;
        let line = match &self.key {
            Some(key) => {
                let tail = file::tail(&self.path, &mut locked.file).map_err(write_error)?;
                entry.seq = tail.last_seq.saturating_add(1);
                entry.unsealed = false;
                let json = to_json(&entry);
                let previous = tail.sealed.as_ref().map_or("", |(_, mac)| mac.as_str());
                let mac = key.mac(previous, &tail.unsealed, &json);
                let line = chain::seal_line(&json, &mac);
                written = Some(LogHead {
                    seq: entry.seq,
                    mac,
                });
                line
            }
            None => {
                // Only the number: a log with no sealed entry yet is not read whole.
                entry.seq = file::last_seq(&self.path, &mut locked.file)
                    .map_err(write_error)?
                    .saturating_add(1);
                entry.unsealed = true;
                to_json(&entry)
            }
        };
        locked.append(&line).map_err(write_error)?;
        if TO_SYSLOG.load(Ordering::Relaxed) {
            syslog::send(&line);
        }
        if self.key.is_some() && locked.len >= self.rotate_bytes {
            // The entry is in: a failed rotation only leaves the file bigger.
            let _ = self.rotate(locked);
        }
        Ok(written)
    }

    /// Starts a new current file with an entry naming the one it follows, then
    /// prunes rotated files past the keeping time.
    fn rotate(&self, locked: file::Locked) -> std::io::Result<()> {
        file::rotate(&self.path)?;
        drop(locked);
        let mut next = file::open_locked(&self.path)?;
        let tail = file::tail(&self.path, &mut next.file)?;
        if let (Some(key), Some((seq, mac))) = (&self.key, &tail.sealed) {
            let mut entry =
                Entry::new(Event::LogRotated).subject(verify::rotated_subject(*seq, mac));
            entry.seq = tail.last_seq.saturating_add(1);
            let json = to_json(&entry);
            next.append(&chain::seal_line(
                &json,
                &key.mac(mac, &tail.unsealed, &json),
            ))?;
        }
        drop(next);
        let keep = jiff::SignedDuration::from_hours(i64::from(self.keep_days) * 24);
        if let Ok(keep_until) = jiff::Timestamp::now().checked_sub(keep) {
            file::prune(&self.path, keep_until)?;
        }
        Ok(())
    }

    /// Checks the whole log against its key and the head the vault recorded.
    pub fn verify(&self, head: Option<&LogHead>) -> Result<Verified, AuditError> {
        let key = self.key.as_ref().ok_or(AuditError::NoKey)?;
        let read_error = |source| AuditError::Read {
            path: self.path.clone(),
            source,
        };
        verify::verify(&self.path, key, head, self.keep_days)
            .map_err(read_error)?
            .map_err(|broken| AuditError::Broken {
                path: self.path.clone(),
                broken,
            })
    }

    /// Every entry of every file, oldest first, and how many lines were not entries.
    pub fn entries(&self) -> Result<(Vec<Entry>, usize), AuditError> {
        let read_error = |source| AuditError::Read {
            path: self.path.clone(),
            source,
        };
        let mut files = file::rotated_files(&self.path).map_err(read_error)?;
        files.push(self.path.clone());
        let mut entries = Vec::new();
        let mut skipped = 0;
        for path in files {
            let read = file::open_for_reading(&path).and_then(|mut f| {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut f, &mut text).map(|_| text)
            });
            let text = match read {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(AuditError::Read { path, source }),
            };
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                match serde_json::from_str(line) {
                    Ok(entry) => entries.push(entry),
                    Err(_) => skipped += 1,
                }
            }
        }
        Ok((entries, skipped))
    }
}

fn to_json(entry: &Entry) -> String {
    serde_json::to_string(entry).expect("entries serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(dir: &Path) -> Log {
        let setting = AuditSetting::new(true);
        Log::with_setting(dir.join("v.audit"), Some(&setting))
    }

    fn lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn write(path: &Path, lines: &[String]) {
        std::fs::write(path, lines.join("\n") + "\n").unwrap();
    }

    #[test]
    fn a_chain_with_unsealed_entries_verifies_and_names_what_was_changed() {
        let dir = tempfile::tempdir().unwrap();
        let log = log(dir.path());
        let unkeyed = Log::unkeyed_at(log.path().to_path_buf());
        unkeyed.record(Entry::new(Event::Lock)).unwrap();
        assert!(
            !log.path().exists(),
            "an unkeyed log writes only into a log there is"
        );
        log.record(Entry::new(Event::Token).profile("p")).unwrap();
        unkeyed.record(Entry::new(Event::PassphraseFailed)).unwrap();
        log.record(Entry::new(Event::Env).profile("p")).unwrap();
        unkeyed.record(Entry::new(Event::Lock)).unwrap();
        let verified = log.verify(None).unwrap();
        assert_eq!((verified.entries, verified.unsealed_at_end), (4, 1));
        let head = VaultChanges::new(log.path().to_path_buf()).head().unwrap();
        assert_eq!(head.seq, 3);
        let original = lines(log.path());
        let broken = |lines: &[String]| {
            write(log.path(), lines);
            match log.verify(Some(&head)) {
                Err(AuditError::Broken { broken, .. }) => broken,
                other => panic!("{other:?}"),
            }
        };
        // Changed: the unsealed entry's outcome, or a sealed entry's profile.
        let mut changed = original.clone();
        changed[1] = changed[1].replace("\"ok\"", "\"usage\"");
        assert_eq!(broken(&changed), Broken::Changed(3));
        let mut changed = original.clone();
        changed[0] = changed[0].replace("\"p\"", "\"q\"");
        assert_eq!(broken(&changed), Broken::Changed(1));
        // Removed and reordered.
        let removed = [
            original[0].clone(),
            original[2].clone(),
            original[3].clone(),
        ];
        assert_eq!(broken(&removed), Broken::Missing(2));
        let reordered = [original[1].clone(), original[0].clone()];
        assert_eq!(broken(&reordered), Broken::Missing(1));
        // Cut back past what the vault recorded.
        assert_eq!(
            broken(&original[..2]),
            Broken::CutOff {
                recorded: 3,
                last: 2
            }
        );
        write(log.path(), &original);
        assert!(log.verify(Some(&head)).is_ok());
    }

    #[test]
    fn rotated_files_keep_one_chain_and_verify_after_pruning() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log {
            rotate_bytes: 600,
            ..log(dir.path())
        };
        for _ in 0..12 {
            log.record(Entry::new(Event::Token).profile("p")).unwrap();
        }
        let rotated = file::rotated_files(log.path()).unwrap();
        assert!(rotated.len() >= 2, "{rotated:?}");
        let all = log.verify(None).unwrap();
        assert_eq!(all.first_seq, Some(1));
        // The oldest file deleted before its keeping time: noticed.
        std::fs::remove_file(&rotated[0]).unwrap();
        let head = VaultChanges::new(log.path().to_path_buf()).head();
        assert!(matches!(
            log.verify(head.as_ref()),
            Err(AuditError::Broken {
                broken: Broken::FilesMissing(_, 400),
                ..
            })
        ));
        // Past it, as pruning would: the rest verifies, from the entry after it.
        log.keep_days = 0;
        let rest = log.verify(head.as_ref()).unwrap();
        assert!(rest.first_seq > Some(1));
        assert_eq!(rest.last_seq, all.last_seq);
        assert!(
            log.entries()
                .unwrap()
                .0
                .iter()
                .any(|e| e.event == Event::LogRotated)
        );
    }

    #[test]
    fn a_log_that_is_off_writes_nothing_and_a_full_disk_fails_the_entry() {
        let dir = tempfile::tempdir().unwrap();
        let off = AuditSetting::new(false);
        let log = Log::with_setting(dir.path().join("v.audit"), Some(&off));
        log.record(Entry::new(Event::Token)).unwrap();
        assert!(!log.path().exists());
        if Path::new("/dev/full").exists() {
            let full =
                Log::with_setting(PathBuf::from("/dev/full"), Some(&AuditSetting::new(true)));
            let error = full.record(Entry::new(Event::Token)).unwrap_err();
            assert!(matches!(error, AuditError::Write { .. }), "{error}");
        }
    }
}
