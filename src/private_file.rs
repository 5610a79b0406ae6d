//! Files spvault writes a secret into (the `serve` key, identity files): written whole
//! to a 0600 temporary file in the same folder, then renamed into place, so a link at
//! the path is replaced rather than followed and a leftover file's looser mode is never
//! kept. Missing folders are made 0700; a folder other users can write to is refused,
//! since they could swap the file after it is written.

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
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
            "other users can write to the folder {}",
            folder.display()
        ))
        .with_hint(format!(
            "keep secrets in a folder only you can change: chmod go-w {}, or choose another folder",
            folder.display()
        )));
    }
    Ok(())
}

/// The user's private folder for short-lived things (the agent's socket, the page that
/// opens the consent page): `$XDG_RUNTIME_DIR/spvault`, else a folder in the user's
/// cache folder (under $HOME, where no other user can create it first), else one
/// under the temp dir.
pub fn runtime_folder() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("spvault"),
        _ => match directories::ProjectDirs::from("", "", "spvault") {
            Some(dirs) => dirs.cache_dir().join("run"),
            None => std::env::temp_dir().join(format!("spvault-{}", crate::process::current_uid())),
        },
    }
}

/// Creates the runtime folder 0700 if missing (mkdir is atomic, so there is no window
/// where it exists with other permissions), then insists it is a real folder, ours,
/// and private.
pub fn ensure_runtime_folder() -> Result<PathBuf> {
    let folder = runtime_folder();
    if let Some(parent) = folder.parent() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|e| Error::io("create the folder", parent, e))?;
    }
    match fs::DirBuilder::new().mode(0o700).create(&folder) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::io("create the folder", &folder, e)),
    }
    let metadata = fs::symlink_metadata(&folder).map_err(|e| Error::io("inspect", &folder, e))?;
    let private = metadata.is_dir()
        && metadata.uid() == crate::process::current_uid()
        && metadata.permissions().mode() & 0o077 == 0;
    if !private {
        return Err(Error::Other(format!(
            "{} must be a folder of yours that only you can open (mode 0700)",
            folder.display()
        ))
        .with_hint(format!("chmod 700 {}, or remove it", folder.display())));
    }
    Ok(folder)
}
