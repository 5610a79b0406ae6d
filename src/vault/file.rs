//! Which vault a command works on: where it is (a file path, or an OpenBao spec,
//! which also names it in messages and for the agent), the store that holds its
//! bytes, and an identity file to open it with instead of the passphrase.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::bao;
use super::store::{self, Part, Store, Stored, Version, WriteLock};
use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct VaultFile {
    path: PathBuf,
    store: Arc<dyn Store>,
    /// An age identity file to open the vault with instead of the passphrase.
    identity: Option<PathBuf>,
}

impl VaultFile {
    /// A store spec (`bao://…`) or a file path; see `store::open`.
    pub fn at(spec: &str, ca_cert: Option<PathBuf>) -> Result<Self> {
        Ok(VaultFile {
            path: PathBuf::from(spec),
            store: store::open(spec, ca_cert)?.into(),
            identity: None,
        })
    }

    /// A vault file at `path`.
    pub fn file(path: PathBuf) -> Self {
        VaultFile {
            store: Arc::new(super::file_store::FileStore::new(path.clone())),
            path,
            identity: None,
        }
    }

    pub fn with_identity(mut self, identity: Option<PathBuf>) -> Self {
        self.identity = identity;
        self
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
        Ok(Self::file(path).with_identity(identity))
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
    ) -> Result<()> {
        self.store.write_parts(parts, read, lock, version)
    }
}
