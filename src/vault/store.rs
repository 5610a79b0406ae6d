//! Where the vault's bytes live, behind one interface: read them with an opaque
//! version, and replace them only if that version is still current. A local file
//! (locked, atomic replace, backup) and an OpenBao secret (check-and-set) implement it;
//! another backend is one new file plus one line in `open`.

use std::borrow::Cow;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::bao::{self, BaoStore};
use super::file_store::FileStore;
use crate::error::{Error, Result};
use crate::settings::Settings;

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

/// One stored version, as read: bytes in memory, or an open file read by position,
/// so that a command about one profile reads that profile's part and not the rest.
/// The file is never changed in place (writes rename a new one over it), so what is
/// read from it later is still this version.
#[derive(Debug)]
pub struct Stored {
    source: Source,
    len: u64,
}

#[derive(Debug)]
enum Source {
    Bytes(Vec<u8>),
    File(File),
}

impl Stored {
    pub fn from_bytes(bytes: Vec<u8>) -> Stored {
        Stored {
            len: bytes.len() as u64,
            source: Source::Bytes(bytes),
        }
    }

    pub(crate) fn from_file(file: File, len: u64) -> Stored {
        Stored {
            source: Source::File(file),
            len,
        }
    }

    /// How many bytes it has.
    pub fn size(&self) -> u64 {
        self.len
    }

    /// The bytes in `range`; an error when it reaches past the end.
    pub fn read_at(&self, range: Range<u64>) -> std::io::Result<Cow<'_, [u8]>> {
        if range.start > range.end || range.end > self.len {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        match &self.source {
            Source::Bytes(bytes) => Ok(Cow::Borrowed(
                &bytes[range.start as usize..range.end as usize],
            )),
            Source::File(_) => {
                let mut buffer = vec![0; (range.end - range.start) as usize];
                self.read_into(range.start, &mut buffer)?;
                Ok(Cow::Owned(buffer))
            }
        }
    }

    /// Fills `buffer` with the bytes from `at` on: `read_at` into a buffer the caller
    /// reuses; an error when they reach past the end.
    pub fn read_into(&self, at: u64, buffer: &mut [u8]) -> std::io::Result<()> {
        let end = at.checked_add(buffer.len() as u64);
        if end.is_none_or(|end| end > self.len) {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        match &self.source {
            Source::Bytes(bytes) => {
                buffer.copy_from_slice(&bytes[at as usize..at as usize + buffer.len()]);
                Ok(())
            }
            Source::File(file) => file.read_exact_at(buffer, at),
        }
    }

    pub fn into_bytes(self) -> std::io::Result<Vec<u8>> {
        match self.source {
            Source::Bytes(bytes) => Ok(bytes),
            Source::File(file) => {
                let mut bytes = Vec::with_capacity(self.len as usize);
                file.take(self.len).read_to_end(&mut bytes)?;
                Ok(bytes)
            }
        }
    }

    /// Appends the bytes in `range` to `out`; between files, the kernel copies them
    /// (copy_file_range) without passing them through this process.
    pub fn copy_to(&self, range: Range<u64>, out: &mut File) -> std::io::Result<()> {
        let wanted = range.end.saturating_sub(range.start);
        let copied = match &self.source {
            Source::Bytes(_) => {
                out.write_all(&self.read_at(range)?)?;
                wanted
            }
            Source::File(file) => {
                let mut source = file;
                source.seek(SeekFrom::Start(range.start))?;
                std::io::copy(&mut source.take(wanted), out)?
            }
        };
        if copied != wanted {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }
}

/// A piece of what a write stores: new bytes, or a range of the version read under
/// the same lock or check-and-set, carried over unchanged.
#[derive(Debug, Clone)]
pub enum Part<'a> {
    New(&'a [u8]),
    Unchanged(Range<u64>),
}

/// `parts` as one run of bytes, for stores that take the whole value at once.
pub fn assemble(parts: &[Part], read: Option<&Stored>) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    for part in parts {
        match part {
            Part::New(new) => bytes.extend_from_slice(new),
            Part::Unchanged(range) => {
                let read = read.ok_or(std::io::ErrorKind::NotFound)?;
                bytes.extend_from_slice(&read.read_at(range.clone())?);
            }
        }
    }
    Ok(bytes)
}

/// Whether a write makes the version it replaces the backup.
#[derive(Clone, Copy)]
pub enum Backup<'a> {
    Replace,
    /// The version replaced has a damaged record: the backup stays as it is.
    KeepPrevious,
    /// `Replace` when the check finds the version replaced whole, else
    /// `KeepPrevious`. A store may run it while it writes the new version (it reads
    /// what a write about one profile copies: at 10,000 profiles, as long as the
    /// write), but decides before it replaces anything; one that keeps no backup need
    /// not run it.
    ReplaceIfWhole(&'a (dyn Fn() -> Result<bool> + Sync)),
}

pub trait Store: std::fmt::Debug + Send + Sync {
    /// The bytes and their version; `None` when there is no vault yet.
    fn read(&self) -> Result<(Option<Vec<u8>>, Version)>;

    /// `read`, as a source read by position where the backend can (a file); by
    /// default, the bytes read whole.
    fn read_stored(&self) -> Result<(Option<Stored>, Version)> {
        self.read()
            .map(|(bytes, version)| (bytes.map(Stored::from_bytes), version))
    }

    /// `write` of `parts`, the unchanged ones taken from `read` (the version read
    /// under `lock`); by default assembled in memory first. `backup` says whether a
    /// backend that keeps the previous version (a file's `.bak`) replaces it.
    fn write_parts(
        &self,
        parts: &[Part],
        read: Option<&Stored>,
        lock: &WriteLock,
        version: Version,
        _backup: Backup<'_>,
    ) -> Result<()> {
        let bytes = assemble(parts, read)
            .map_err(|e| Error::Other(format!("cannot assemble the vault to write: {e}")))?;
        self.write(&bytes, lock, version)
    }

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
/// Another `SCHEME://` is an error, never a file of that name. What a store needs
/// from `settings` (OpenBao: a token, the CA, timeouts) is resolved only for it.
pub fn open(spec: &str, settings: &Settings) -> Result<Box<dyn Store>> {
    if bao::is_store_spec(spec) {
        return Ok(Box::new(BaoStore::parse(spec, settings)?));
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
