//! The vault as a local file: size-bounded reads, an exclusive lock on a sidecar file,
//! atomic writes (temp file, fsync, rename, fsync the folder), owner-only permissions,
//! and the previous version kept as a backup.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::store::{Backup, Part, Store, Stored, Version, WriteLock};
use crate::error::{Error, Result};

/// The largest vault file read: far above 10,000 profiles, far below harm.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// A vault file. Its lock protects writes, so its version is always the same.
#[derive(Debug, Clone)]
pub struct FileStore {
    path: PathBuf,
}

impl Store for FileStore {
    fn read(&self) -> Result<(Option<Vec<u8>>, Version)> {
        let (stored, version) = self.read_stored()?;
        let bytes = stored
            .map(|stored| stored.into_bytes().map_err(|e| self.unreadable(e)))
            .transpose()?;
        Ok((bytes, version))
    }

    fn read_stored(&self) -> Result<(Option<Stored>, Version)> {
        self.open_file().map(|opened| {
            (
                opened.map(|(file, len)| Stored::from_file(file, len)),
                Version(0),
            )
        })
    }

    /// A file that exists, or one this user may not even look at (reading it will
    /// say so).
    fn exists(&self) -> Result<bool> {
        match fs::symlink_metadata(&self.path) {
            Ok(_) => Ok(true),
            Err(e) => Ok(e.kind() != std::io::ErrorKind::NotFound),
        }
    }

    /// Device, inode, size and the modification and change times, to the nanosecond:
    /// spvault replaces the file by renaming a new one over it (a new inode), and any
    /// other change moves the times.
    fn stamp(&self) -> Option<String> {
        let m = fs::symlink_metadata(&self.path).ok()?;
        Some(format!(
            "{}:{}:{}:{}.{:09}:{}.{:09}",
            m.dev(),
            m.ino(),
            m.len(),
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec()
        ))
    }

    /// Takes the exclusive write lock on the sidecar `PATH.lock`, waiting for others.
    fn lock(&self) -> Result<WriteLock> {
        crate::private_file::private_folder(&self.path)?;
        let lock_path = self.sibling(".lock");
        // Never through a link: a dangling one would create a file wherever it points.
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&lock_path)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ELOOP) => {
                    Error::Invalid(format!("{} is a symbolic link", lock_path.display()))
                        .with_hint("remove it: spvault makes its own lock file there")
                }
                _ => Error::io("open lock file", &lock_path, e),
            })?;
        file.lock().map_err(|e| Error::io("lock", &lock_path, e))?;
        Ok(WriteLock { _file: Some(file) })
    }

    fn write(&self, bytes: &[u8], lock: &WriteLock, version: Version) -> Result<()> {
        self.write_parts(&[Part::New(bytes)], None, lock, version, Backup::Replace)
    }

    /// Replaces the vault atomically; the old version becomes `PATH.bak` (unless
    /// `backup` keeps the previous one). The lock proves the caller re-read the file
    /// under it, as `read`.
    fn write_parts(
        &self,
        parts: &[Part],
        read: Option<&Stored>,
        _lock: &WriteLock,
        _version: Version,
        backup: Backup<'_>,
    ) -> Result<()> {
        let folder = crate::private_file::private_folder(&self.path)?;
        self.remove_stale_temp_files(&folder);
        // The backup's rename frees the previous backup, which at 10,000 profiles costs
        // as much as the fsync below, and the check of what is copied costs as much as
        // writing it: both happen at once. Until the rename below, the backup and the
        // vault are the same version, as they were before.
        let temp = std::thread::scope(|scope| {
            let backup = scope.spawn(|| match backup {
                Backup::Replace => self.keep_backup(&folder),
                Backup::KeepPrevious => Ok(()),
                Backup::ReplaceIfWhole(whole) => match whole()? {
                    true => self.keep_backup(&folder),
                    false => Ok(()),
                },
            });
            let temp = self.write_temp(&folder, parts, read);
            let backup = backup
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            backup.and(temp)
        })?;
        temp.persist(&self.path)
            .map_err(|e| Error::io("replace", &self.path, e.error))?;
        File::open(&folder)
            .and_then(|dir| dir.sync_all())
            .map_err(|e| Error::io("sync folder", &folder, e))
    }

    fn backup(&self) -> Option<PathBuf> {
        Some(self.sibling(".bak"))
    }

    fn variable(&self) -> &'static str {
        "SPVAULT_FILE"
    }
}

impl FileStore {
    pub fn new(path: PathBuf) -> Self {
        FileStore { path }
    }

    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(suffix);
        self.path.with_file_name(name)
    }

    fn temp_prefix(&self) -> String {
        format!(
            ".{}.",
            self.path.file_name().unwrap_or_default().to_string_lossy()
        )
    }

    /// The file, open for reading, and its length; `None` when there is none.
    fn open_file(&self) -> Result<Option<(File, u64)>> {
        let metadata = match fs::symlink_metadata(&self.path) {
            Ok(metadata) => metadata,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.unreadable(e)),
        };
        if metadata.file_type().is_symlink() {
            return Err(Error::Invalid(format!(
                "{} is a symbolic link: spvault replaces the vault file atomically, which would break the link",
                self.path.display()
            ))
            .with_hint("pass the real path with --vault or SPVAULT_FILE"));
        }
        if !metadata.is_file() {
            return Err(self.unreadable(std::io::Error::other("it is not a regular file")));
        }
        // Never through a link swapped in since the look above.
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&self.path)
            .map_err(|e| self.unreadable(e))?;
        let len = file.metadata().map_err(|e| self.unreadable(e))?.len();
        if len > MAX_FILE_BYTES {
            return Err(Error::damaged(
                &self.path,
                format!("it is larger than {} MiB", MAX_FILE_BYTES >> 20),
            ));
        }
        Ok(Some((file, len)))
    }

    fn unreadable(&self, source: std::io::Error) -> Error {
        Error::Unreadable {
            path: self.path.clone(),
            source,
        }
    }

    /// Makes the current file the backup: a hard link renamed over `PATH.bak`, so the
    /// backup appears whole or not at all and costs no copy.
    fn keep_backup(&self, folder: &Path) -> Result<()> {
        let backup = self.sibling(".bak");
        match (fs::metadata(&self.path), fs::metadata(&backup)) {
            (Err(_), _) => return Ok(()),
            // A write killed after backing up left the backup a link to the vault
            // itself: renaming another link over it would do nothing (POSIX), and
            // leave that link behind as a stray temp file.
            (Ok(vault), Ok(kept)) if (vault.dev(), vault.ino()) == (kept.dev(), kept.ino()) => {
                return Ok(());
            }
            _ => {}
        }
        let staging = tempfile::Builder::new()
            .prefix(&self.temp_prefix())
            .suffix(".tmp")
            .make_in(folder, |p| fs::hard_link(&self.path, p))
            .or_else(|_| {
                tempfile::Builder::new()
                    .prefix(&self.temp_prefix())
                    .suffix(".tmp")
                    .make_in(folder, |p| fs::copy(&self.path, p).map(drop))
            })
            .map_err(|e| Error::io("back up", &self.path, e))?;
        staging
            .persist(&backup)
            .map(drop)
            .map_err(|e| Error::io("back up to", &backup, e.error))
    }

    /// A new temporary file in `folder` with `parts`, synced to disk.
    fn write_temp(
        &self,
        folder: &Path,
        parts: &[Part],
        read: Option<&Stored>,
    ) -> Result<tempfile::NamedTempFile> {
        let mut temp = tempfile::Builder::new()
            .prefix(&self.temp_prefix())
            .suffix(".tmp")
            .permissions(fs::Permissions::from_mode(0o600))
            .tempfile_in(folder)
            .map_err(|e| Error::io("create a temporary file in", folder, e))?;
        let out = temp.as_file_mut();
        parts
            .iter()
            .try_for_each(|part| match (part, read) {
                (Part::New(bytes), _) => out.write_all(bytes),
                (Part::Unchanged(range), Some(read)) => read.copy_to(range.clone(), out),
                (Part::Unchanged(_), None) => Err(std::io::ErrorKind::NotFound.into()),
            })
            .and_then(|_| out.sync_all())
            .map_err(|e| Error::io("write", temp.path().to_path_buf(), e))?;
        Ok(temp)
    }

    /// Temp files left by a process killed mid-write. Only called under the lock, when
    /// no other writer can own one.
    fn remove_stale_temp_files(&self, folder: &Path) {
        let prefix = self.temp_prefix();
        let Ok(entries) = fs::read_dir(folder) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(&prefix) && name.ends_with(".tmp") {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}
