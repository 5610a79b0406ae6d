//! The agent's request/response protocol: one JSON object per line each way, with a
//! version, so one round trip carries all a command needs (the key).

use serde::{Deserialize, Serialize};

use crate::secret::Secret;
use crate::vault::crypto::KdfParams;

pub const VERSION: u32 = 1;

/// The largest request an agent reads: a `Remember` of a vault of 10,000 profiles is
/// about 10 MB.
pub const MAX_REQUEST_BYTES: u64 = 512 * 1024 * 1024;
/// The largest answer a client reads: a `Profile` carries one profile and the apps.
pub const MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// Hold this key (an age identity) for the vault whose header has these values.
    Unlock {
        identity: Secret,
        kdf: KdfParams,
        salt: String,
        idle_timeout_secs: u64,
        max_lifetime_secs: u64,
    },
    /// The key, if the agent holds one for a header with these values (`HeaderChanged`
    /// when only the KDF settings differ). Counts as use unless `touch` is false
    /// (`vault status` reading expiry dates).
    Key {
        kdf: KdfParams,
        salt: String,
        touch: bool,
    },
    /// Profile `name` (with every app) of the vault whose file has `stamp`, from the
    /// decrypted vault the agent holds, with the key. Counts as use.
    Profile { stamp: String, name: String },
    /// Hold this decrypted model (format 2 JSON) of the vault whose file has `stamp`,
    /// for `Profile`; forgotten with the key.
    Remember { stamp: String, model: Secret },
    /// Whether it is unlocked and for how long. Does not count as use.
    Status,
    /// Forget the key.
    Lock,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Response {
    Done,
    /// `syslog`: the agent runs with `--syslog`, so the command copies its access
    /// log entries to the system log too.
    Key {
        identity: Secret,
        #[serde(default)]
        syslog: bool,
    },
    /// The key and the vault with only the profile asked for (JSON).
    Profile {
        identity: Secret,
        kdf: KdfParams,
        salt: String,
        vault: Secret,
        #[serde(default)]
        syslog: bool,
    },
    /// Unlocked, but holding no decrypted vault for that file: read it and `Remember`.
    NotHeld,
    /// The agent's key was made for the same salt but these KDF settings: every re-key
    /// draws a new salt, so the header asked about was changed behind the agent.
    HeaderChanged {
        kdf: KdfParams,
    },
    Locked,
    Status {
        unlocked: bool,
        idle_left_secs: u64,
        lifetime_left_secs: u64,
    },
    Error {
        message: String,
    },
}

/// A request with the protocol version: `R` is `Request` when read, `&Request` when
/// written, so that writing makes no copy.
#[derive(Debug, Serialize, Deserialize)]
pub struct RequestEnvelope<R = Request> {
    pub version: u32,
    pub request: R,
}

/// A response with the protocol version, as `RequestEnvelope`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ResponseEnvelope<R = Response> {
    pub version: u32,
    pub response: R,
}

/// The request as one line of JSON, written straight from the request: no
/// intermediate JSON value holds a copy of the key or the vault that is not zeroed.
pub fn encode_request(request: &Request) -> String {
    serde_json::to_string(&RequestEnvelope {
        version: VERSION,
        request,
    })
    .expect("requests serialize")
}

/// The response as one line of JSON, written as `encode_request` writes requests.
pub fn encode_response(response: &Response) -> String {
    serde_json::to_string(&ResponseEnvelope {
        version: VERSION,
        response,
    })
    .expect("responses serialize")
}
