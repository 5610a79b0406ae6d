//! Which vault a command works on: where it is (a file path, or an OpenBao spec,
//! which also names it in messages and for the agent), the store that holds its
//! bytes, and an identity file to open it with instead of the passphrase.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::store::{self, Backup, Part, Store, Stored, Version, WriteLock};
use crate::error::{Error, Result};
use crate::settings::{PassphraseSources, Settings, VaultLocation};

#[derive(Debug, Clone)]
pub struct VaultFile {
    path: PathBuf,
    store: Arc<dyn Store>,
    /// An age identity file to open the vault with instead of the passphrase.
    identity: Option<PathBuf>,
    /// Where its passphrase comes from, besides the terminal.
    passphrase: PassphraseSources,
}

impl VaultFile {
    /// A store spec (`bao://…`) or a file path; see `store::open`.
    pub fn at(spec: &str, settings: &Settings) -> Result<Self> {
        Ok(VaultFile {
            path: PathBuf::from(spec),
            store: store::open(spec, settings)?.into(),
            identity: None,
            passphrase: settings.passphrase_sources(),
        })
    }

    /// A vault file at `path`, opened with the passphrase sources the environment
    /// names.
    pub fn file(path: PathBuf) -> Self {
        Self::file_with(path, Settings::default().passphrase_sources())
    }

    fn file_with(path: PathBuf, passphrase: PassphraseSources) -> Self {
        VaultFile {
            store: Arc::new(super::file_store::FileStore::new(path.clone())),
            path,
            identity: None,
            passphrase,
        }
    }

    pub fn with_identity(mut self, identity: Option<PathBuf>) -> Self {
        self.identity = identity;
        self
    }

    /// The vault `settings` name (see `Settings::vault_location`), opened with the
    /// identity file they name, if any.
    pub fn locate(settings: &Settings) -> Result<Self> {
        let identity = settings.identity_file();
        let path = match settings.vault_location() {
            VaultLocation::Store(spec) => {
                return Ok(Self::at(&spec, settings)?.with_identity(identity));
            }
            VaultLocation::File(Some(path)) => path,
            VaultLocation::File(None) => directories::ProjectDirs::from("", "", "spvault")
                .map(|dirs| dirs.data_dir().join("vault.toml"))
                .ok_or_else(|| {
                    Error::Invalid("cannot find a home folder for the vault".into())
                        .with_hint("set SPVAULT_FILE or pass --vault")
                })?,
        };
        Ok(Self::file_with(path, settings.passphrase_sources()).with_identity(identity))
    }

    /// Where the passphrase comes from, besides the terminal.
    pub fn passphrase_sources(&self) -> &PassphraseSources {
        &self.passphrase
    }

    pub fn identity(&self) -> Option<&Path> {
        self.identity.as_deref()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The variable that points spvault at this vault (`SPVAULT_FILE`, `SPVAULT_STORE`).
    pub fn variable(&self) -> &'static str {
        self.store.variable()
    }

    /// Where the previous version is kept, for stores that keep one beside the vault.
    pub fn backup_path(&self) -> Option<PathBuf> {
        self.store.backup()
    }

    /// The bytes, or `None` when there is no vault yet.
    pub fn read(&self) -> Result<Option<Vec<u8>>> {
        self.read_versioned().map(|(bytes, _)| bytes)
    }

    /// The bytes and the version a write must name.
    pub fn read_versioned(&self) -> Result<(Option<Vec<u8>>, Version)> {
        self.store.read()
    }

    /// The stored version as a source read by position where the store can (a
    /// file), and the version a write must name.
    pub fn read_stored(&self) -> Result<(Option<Stored>, Version)> {
        self.store.read_stored()
    }

    /// What identifies the stored bytes without reading them, where the store can tell.
    pub fn stamp(&self) -> Option<String> {
        self.store.stamp()
    }

    /// Whether there is a vault, without reading it where the store can tell.
    pub fn exists(&self) -> Result<bool> {
        self.store.exists()
    }

    /// Taken before a command re-reads and replaces the vault.
    pub fn lock(&self) -> Result<WriteLock> {
        self.store.lock()
    }

    /// Replaces the vault; `version` is what was read under the lock (a newer one
    /// in a check-and-set store fails with `WriteConflict`).
    pub fn replace(&self, bytes: &[u8], lock: &WriteLock, version: Version) -> Result<()> {
        self.store.write(bytes, lock, version)
    }

    /// `replace` with `parts`, the unchanged ones carried over from `read`, the
    /// version read under `lock`.
    pub fn replace_parts(
        &self,
        parts: &[Part],
        read: Option<&Stored>,
        lock: &WriteLock,
        version: Version,
        backup: Backup<'_>,
    ) -> Result<()> {
        self.store.write_parts(parts, read, lock, version, backup)
    }
}
