//! Private folders and peer credentials for the agent's Unix socket.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::Path;

use crate::error::{Error, Result};

/// Creates `folder` 0700 if missing (mkdir is atomic, so there is no window where it
/// exists with other permissions), then insists it is a real folder, ours, and private.
pub fn ensure_private_folder(folder: &Path) -> Result<()> {
    if let Some(parent) = folder.parent() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|e| Error::io("create the agent folder", parent, e))?;
    }
    match fs::DirBuilder::new().mode(0o700).create(folder) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::io("create the agent folder", folder, e)),
    }
    let metadata = fs::symlink_metadata(folder).map_err(|e| Error::io("inspect", folder, e))?;
    let private = metadata.is_dir()
        && metadata.uid() == super::current_uid()
        && metadata.permissions().mode() & 0o077 == 0;
    if !private {
        return Err(Error::Other(format!(
            "{} must be a folder of yours that only you can open (mode 0700): fix or remove it",
            folder.display()
        )));
    }
    Ok(())
}

/// The user id of the process at the other end of a Unix socket (SO_PEERCRED).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn peer_uid(stream: &UnixStream) -> std::io::Result<u32> {
    let mut credentials = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut length = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: the buffer and its length describe a valid, writable ucred.
    let result = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut credentials as *mut libc::ucred).cast(),
            &mut length,
        )
    };
    if result == 0 {
        Ok(credentials.uid)
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The user id of the process at the other end of a Unix socket (getpeereid).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn peer_uid(stream: &UnixStream) -> std::io::Result<u32> {
    let (mut uid, mut gid) = (0, 0);
    // SAFETY: both out-pointers are valid for writes.
    if unsafe { libc::getpeereid(stream.as_raw_fd(), &mut uid, &mut gid) } == 0 {
        Ok(uid)
    } else {
        Err(std::io::Error::last_os_error())
    }
}
