//! The unlock agent: a background process of the same user that holds one vault's
//! derived key, so commands need neither the passphrase nor the KDF while it is
//! unlocked. This module holds where its socket lives, the protocol, and the client.

mod locked;
pub mod protocol;
mod sealed;
pub mod server;
mod socket;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use protocol::{Request, Response, VERSION};

pub use socket::peer_uid;

/// How long a client waits for the agent before falling back to the passphrase.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

/// What names a vault for its agent: a file's absolute path, or a store's spec.
pub fn location(vault: &Path) -> Result<PathBuf> {
    if crate::vault::bao::is_store_spec(&vault.to_string_lossy()) {
        Ok(vault.to_path_buf())
    } else {
        std::path::absolute(vault).map_err(|e| Error::io("resolve", vault, e))
    }
}

/// One agent per vault: the socket is named after the vault's location.
pub fn socket_path(vault: &Path) -> Result<PathBuf> {
    let absolute = location(vault)?;
    let digest = Sha256::digest(absolute.as_os_str().as_encoded_bytes());
    let name: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    Ok(crate::private_file::runtime_folder().join(format!("agent-{name}.sock")))
}

/// Tells the vault's agent, if one runs, to forget its key: after a re-key it opens
/// the vault no more, and should be forgotten now rather than on next use.
pub fn forget_key(vault: &Path) {
    let _ = call(vault, &Request::Lock);
}

/// Sends one request to the vault's agent without waiting for its answer: for
/// `Remember`, which the agent handles before it accepts the next client.
pub fn tell(vault: &Path, request: &Request) -> Result<()> {
    send(vault, request).map(drop)
}

/// Connects to the vault's agent and sends `request`; `None` when no agent runs.
fn send(vault: &Path, request: &Request) -> Result<Option<(UnixStream, PathBuf)>> {
    let path = socket_path(vault)?;
    let stream = match UnixStream::connect(&path) {
        Ok(stream) => stream,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound
                    | std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(Error::io("connect to the agent at", &path, e)),
    };
    // The folder is private, but a socket of another user must never get our key.
    if peer_uid(&stream).ok() != Some(crate::process::current_uid()) {
        return Err(Error::Other(format!(
            "the agent socket {} belongs to another user",
            path.display()
        ))
        .with_hint("remove it; `vault unlock` starts an agent of your own"));
    }
    let agent_error = |e: std::io::Error| Error::io("talk to the agent at", &path, e);
    stream
        .set_read_timeout(Some(CLIENT_TIMEOUT))
        .map_err(agent_error)?;
    stream
        .set_write_timeout(Some(CLIENT_TIMEOUT))
        .map_err(agent_error)?;
    let mut line = zeroize::Zeroizing::new(protocol::encode_request(request));
    line.push('\n');
    (&stream).write_all(line.as_bytes()).map_err(agent_error)?;
    Ok(Some((stream, path)))
}

/// Sends one request to the vault's agent. `Ok(None)` when no agent runs.
pub fn call(vault: &Path, request: &Request) -> Result<Option<Response>> {
    let Some((stream, path)) = send(vault, request)? else {
        return Ok(None);
    };
    let agent_error = |e: std::io::Error| Error::io("talk to the agent at", &path, e);
    let mut answer = zeroize::Zeroizing::new(String::new());
    BufReader::new(&stream)
        .take(protocol::MAX_RESPONSE_BYTES)
        .read_line(&mut answer)
        .map_err(agent_error)?;
    if answer.is_empty() {
        return Err(Error::Other(
            "the agent closed the connection without answering (it refuses other users)".into(),
        ));
    }
    let envelope: protocol::ResponseEnvelope = serde_json::from_str(&answer).map_err(|_| {
        Error::Other("the agent sent an answer this vault does not understand".into())
            .with_hint("run `vault lock` and `vault unlock` again")
    })?;
    if envelope.version != VERSION {
        return Err(Error::Other(format!(
            "the agent speaks protocol {} and this vault {VERSION}",
            envelope.version
        ))
        .with_hint("run `vault lock`, then `vault unlock`"));
    }
    Ok(Some(envelope.response))
}
