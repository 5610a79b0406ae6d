//! Files spvault writes a secret into (the `serve` key, identity files): written whole
//! to a 0600 temporary file in the same folder, then renamed into place, so a link at
//! the path is replaced rather than followed and a leftover file's looser mode is never
//! kept. Missing folders are made 0700; a folder other users can write to is refused,
//! since they could swap the file after it is written.

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Whether an existing file at the path may be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    Replace,
    Keep,
}

/// Writes `contents` to `path` as a private file.
pub fn write(path: &Path, contents: &[u8], existing: Existing) -> Result<()> {
    let folder = private_folder(path)?;
    let mut temp = tempfile::Builder::new()
        .prefix(".spvault-")
        .suffix(".tmp")
        .permissions(fs::Permissions::from_mode(0o600))
        .tempfile_in(&folder)
        .map_err(|e| Error::io("create a temporary file in", &folder, e))?;
    temp.write_all(contents)
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|e| Error::io("write", temp.path().to_path_buf(), e))?;
    match existing {
        Existing::Replace => temp.persist(path).map(drop),
        Existing::Keep => temp.persist_noclobber(path).map(drop),
    }
    .map_err(|e| Error::io("write", path, e.error))?;
    File::open(&folder)
        .and_then(|dir| dir.sync_all())
        .map_err(|e| Error::io("sync folder", &folder, e))
}

/// The folder `path` goes in: created 0700 when missing, refused when others can
/// write to it.
pub fn private_folder(path: &Path) -> Result<PathBuf> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !folder.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&folder)
            .map_err(|e| Error::io("create folder", &folder, e))?;
    }
    refuse_shared_folder(&folder)?;
    Ok(folder)
}

/// A folder that users other than its owner can write to lets them replace or
/// delete what spvault keeps there.
pub fn refuse_shared_folder(folder: &Path) -> Result<()> {
    let metadata = fs::metadata(folder).map_err(|e| Error::io("inspect", folder, e))?;
    if metadata.permissions().mode() & 0o022 != 0 {
        return Err(Error::Invalid(format!(
            "other users can write to the folder {}: keep secrets in a folder only you can change (chmod go-w, or choose another folder)",
            folder.display()
        )));
    }
    Ok(())
}
