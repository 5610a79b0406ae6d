//! Where the vault file lives and how it is read and replaced: size-bounded reads,
//! an exclusive lock on a sidecar file, atomic writes (temp file, fsync, rename, fsync
//! the folder), owner-only permissions, and the previous version kept as a backup.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::bao::{self, BaoStore};
use crate::error::{Error, Result};

/// The largest vault file read: far above 10,000 profiles, far below harm.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Where the vault is: a local file (its path), or an OpenBao secret (its
/// `bao://` spec, also used as its `path` in messages and for the agent).
#[derive(Debug, Clone)]
pub struct VaultFile {
    path: PathBuf,
    store: Option<BaoStore>,
    /// An age identity file to open the vault with instead of the passphrase.
    identity: Option<PathBuf>,
}

/// Held while a command re-reads and replaces the vault; released on drop. OpenBao
/// needs none: its check-and-set does the same job.
#[derive(Debug)]
pub struct WriteLock {
    _file: Option<File>,
}

impl VaultFile {
    pub fn new(path: PathBuf) -> Self {
        VaultFile {
            path,
            store: None,
            identity: None,
        }
    }

    /// A `bao://` or `bao+http://` spec, or a file path. Another `SCHEME://` is an
    /// error, not a file of that name.
    pub fn at(spec: &str, ca_cert: Option<PathBuf>) -> Result<Self> {
        if let Some((scheme, _)) = spec.split_once("://")
            && !bao::is_store_spec(spec)
            && !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        {
            return Err(Error::Invalid(format!(
                "unknown vault store '{}://': spvault keeps the vault in a file (a path) or in OpenBao (bao://HOST:PORT/MOUNT/PATH, or bao+http:// on loopback)",
                scheme.escape_debug()
            )));
        }
        if bao::is_store_spec(spec) {
            let store = BaoStore::parse(spec, ca_cert)?;
            Ok(VaultFile {
                path: PathBuf::from(store.spec()),
                store: Some(store),
                identity: None,
            })
        } else {
            Ok(VaultFile::new(PathBuf::from(spec)))
        }
    }

    pub fn with_identity(mut self, identity: Option<PathBuf>) -> Self {
        self.identity = identity;
        self
    }

    pub fn is_store(&self) -> bool {
        self.store.is_some()
    }

    /// `--store SPEC`, else `--vault PATH`, else `SPVAULT_STORE`, else `SPVAULT_FILE`,
    /// else `vault.toml` in the platform data folder; opened with `--identity FILE`,
    /// else `SPVAULT_IDENTITY_FILE`, when given.
    pub fn locate(
        store: Option<String>,
        ca_cert: Option<PathBuf>,
        flag: Option<PathBuf>,
        identity: Option<PathBuf>,
    ) -> Result<Self> {
        let identity = identity
            .or_else(|| std::env::var_os("SPVAULT_IDENTITY_FILE").map(PathBuf::from))
            .filter(|path| !path.as_os_str().is_empty());
        // A flag beats a variable: `--vault` wins over an exported SPVAULT_STORE.
        let store = match (&store, &flag) {
            (None, Some(_)) => None,
            _ => store.or_else(|| std::env::var(bao::STORE_VAR).ok()),
        }
        .filter(|s| !s.is_empty());
        if let Some(spec) = store {
            return Ok(Self::at(&spec, ca_cert)?.with_identity(identity));
        }
        let path = match flag.or_else(|| std::env::var_os("SPVAULT_FILE").map(PathBuf::from)) {
            Some(path) if !path.as_os_str().is_empty() => path,
            _ => directories::ProjectDirs::from("", "", "spvault")
                .map(|dirs| dirs.data_dir().join("vault.toml"))
                .ok_or_else(|| {
                    Error::Invalid(
                        "cannot find a home folder for the vault: set SPVAULT_FILE or pass --vault"
                            .into(),
                    )
                })?,
        };
        Ok(VaultFile {
            path,
            store: None,
            identity,
        })
    }

    pub fn identity(&self) -> Option<&Path> {
        self.identity.as_deref()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(suffix);
        self.path.with_file_name(name)
    }

    pub fn backup_path(&self) -> PathBuf {
        self.sibling(".bak")
    }

    fn temp_prefix(&self) -> String {
        format!(
            ".{}.",
            self.path.file_name().unwrap_or_default().to_string_lossy()
        )
    }

    /// Whether there is a vault, without reading it: a file that exists, or one this
    /// user may not even look at (reading it will say so), or a stored secret.
    pub fn exists(&self) -> Result<bool> {
        match &self.store {
            Some(store) => store.read().map(|(bytes, _)| bytes.is_some()),
            None => match fs::symlink_metadata(&self.path) {
                Ok(_) => Ok(true),
                Err(e) => Ok(e.kind() != std::io::ErrorKind::NotFound),
            },
        }
    }

    /// The file's bytes, or `None` when there is no vault yet.
    pub fn read(&self) -> Result<Option<Vec<u8>>> {
        self.read_versioned().map(|(bytes, _)| bytes)
    }

    /// The bytes and the version a check-and-set write must name (always 0 for files,
    /// which the lock protects instead).
    pub fn read_versioned(&self) -> Result<(Option<Vec<u8>>, u64)> {
        match &self.store {
            Some(store) => store.read(),
            None => self.read_file().map(|bytes| (bytes, 0)),
        }
    }

    fn read_file(&self) -> Result<Option<Vec<u8>>> {
        let metadata = match fs::symlink_metadata(&self.path) {
            Ok(metadata) => metadata,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.unreadable(e)),
        };
        if metadata.file_type().is_symlink() {
            return Err(Error::Invalid(format!(
                "{} is a symbolic link: spvault replaces the vault file atomically, which would break the link; pass the real path with --vault or SPVAULT_FILE",
                self.path.display()
            )));
        }
        if !metadata.is_file() {
            return Err(self.unreadable(std::io::Error::other("it is not a regular file")));
        }
        if metadata.len() > MAX_FILE_BYTES {
            return Err(Error::damaged(
                &self.path,
                format!("it is larger than {} MiB", MAX_FILE_BYTES >> 20),
            ));
        }
        let mut bytes = Vec::with_capacity(metadata.len() as usize);
        File::open(&self.path)
            .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
            .map_err(|e| self.unreadable(e))?;
        Ok(Some(bytes))
    }

    fn unreadable(&self, source: std::io::Error) -> Error {
        Error::Unreadable {
            path: self.path.clone(),
            source,
        }
    }

    /// The vault's folder, created 0700 when missing; refused when other users can
    /// write to it (they could swap the vault or its sidecar files).
    fn ensure_folder(&self) -> Result<PathBuf> {
        crate::private_file::private_folder(&self.path)
    }

    /// Takes the exclusive write lock on the sidecar `PATH.lock`, waiting for others.
    pub fn lock(&self) -> Result<WriteLock> {
        if self.store.is_some() {
            return Ok(WriteLock { _file: None });
        }
        self.ensure_folder()?;
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
                Some(libc::ELOOP) => Error::Invalid(format!(
                    "{} is a symbolic link: remove it (spvault makes its own lock file there)",
                    lock_path.display()
                )),
                _ => Error::io("open lock file", &lock_path, e),
            })?;
        file.lock().map_err(|e| Error::io("lock", &lock_path, e))?;
        Ok(WriteLock { _file: Some(file) })
    }

    /// Replaces the vault with `bytes` atomically; the old version becomes `PATH.bak`
    /// (OpenBao keeps versions itself). The lock proves the caller re-read the file
    /// under it; for OpenBao, `version` is what it read, and a newer one there fails
    /// with `WriteConflict`.
    pub fn replace(&self, bytes: &[u8], _lock: &WriteLock, version: u64) -> Result<()> {
        if let Some(store) = &self.store {
            return store.write(bytes, version);
        }
        let folder = self.ensure_folder()?;
        self.remove_stale_temp_files(&folder);
        let mut temp = tempfile::Builder::new()
            .prefix(&self.temp_prefix())
            .suffix(".tmp")
            .permissions(fs::Permissions::from_mode(0o600))
            .tempfile_in(&folder)
            .map_err(|e| Error::io("create a temporary file in", &folder, e))?;
        temp.write_all(bytes)
            .and_then(|_| temp.as_file().sync_all())
            .map_err(|e| Error::io("write", temp.path().to_path_buf(), e))?;
        self.keep_backup(&folder)?;
        temp.persist(&self.path)
            .map_err(|e| Error::io("replace", &self.path, e.error))?;
        File::open(&folder)
            .and_then(|dir| dir.sync_all())
            .map_err(|e| Error::io("sync folder", &folder, e))
    }

    /// Makes the current file the backup: a hard link renamed over `PATH.bak`, so the
    /// backup appears whole or not at all and costs no copy.
    fn keep_backup(&self, folder: &Path) -> Result<()> {
        if !self.path.exists() {
            return Ok(());
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
        let backup = self.backup_path();
        staging
            .persist(&backup)
            .map(drop)
            .map_err(|e| Error::io("back up to", &backup, e.error))
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
