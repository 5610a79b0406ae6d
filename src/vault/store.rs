//! Where the vault's bytes live, behind one interface: read them with an opaque
//! version, and replace them only if that version is still current. A local file
//! (locked, atomic replace, backup) and an OpenBao secret (check-and-set) implement it;
//! another backend is one new file plus one line in `open`.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::bao::{self, BaoStore};
use super::file_store::FileStore;
use crate::error::{Error, Result};

/// What a write must name: the version read under the same lock or check-and-set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version(pub(crate) u64);

/// Held while a command re-reads and replaces the vault; released on drop. Backends
/// with check-and-set need none.
#[derive(Debug)]
pub struct WriteLock {
    pub(crate) _file: Option<File>,
}

impl WriteLock {
    pub(crate) fn none() -> WriteLock {
        WriteLock { _file: None }
    }
}

pub trait Store: std::fmt::Debug + Send + Sync {
    /// The bytes and their version; `None` when there is no vault yet.
    fn read(&self) -> Result<(Option<Vec<u8>>, Version)>;

    /// Whether there is a vault, without reading it where the backend can tell.
    fn exists(&self) -> Result<bool> {
        self.read().map(|(bytes, _)| bytes.is_some())
    }

    /// What identifies the stored bytes without reading them, where the backend can
    /// tell cheaply: it changes whenever they do. The unlock agent holds a decrypted
    /// vault under it.
    fn stamp(&self) -> Option<String> {
        None
    }

    /// Taken before a re-read and a write.
    fn lock(&self) -> Result<WriteLock>;

    /// Replaces the vault, if it is still at `version` (else `WriteConflict`).
    fn write(&self, bytes: &[u8], lock: &WriteLock, version: Version) -> Result<()>;

    /// The previous version kept beside the vault, where the backend keeps one.
    fn backup(&self) -> Option<PathBuf> {
        None
    }

    /// The variable that points spvault at a vault of this kind.
    fn variable(&self) -> &'static str;
}

/// The store a spec names: `bao://` or `bao+http://` for OpenBao, a path for a file.
/// Another `SCHEME://` is an error, never a file of that name.
pub fn open(spec: &str, ca_cert: Option<PathBuf>) -> Result<Box<dyn Store>> {
    if bao::is_store_spec(spec) {
        return Ok(Box::new(BaoStore::parse(spec, ca_cert)?));
    }
    if let Some((scheme, _)) = spec.split_once("://")
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
    Ok(Box::new(FileStore::new(Path::new(spec).to_path_buf())))
}
