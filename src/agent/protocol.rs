//! The agent's request/response protocol: one JSON object per line each way, with a
//! version, so one round trip carries all a command needs (the key).

use serde::{Deserialize, Serialize};

use crate::secret::Secret;
use crate::vault::crypto::KdfParams;

pub const VERSION: u32 = 1;

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
    /// The key, if the agent holds one for a header with these values. Counts as use
    /// unless `touch` is false (`vault status` reading expiry dates).
    Key {
        kdf: KdfParams,
        salt: String,
        touch: bool,
    },
    /// Whether it is unlocked and for how long. Does not count as use.
    Status,
    /// Forget the key.
    Lock,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Response {
    Done,
    Key {
        identity: Secret,
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

#[derive(Debug, Serialize, Deserialize)]
pub struct RequestEnvelope {
    pub version: u32,
    pub request: Request,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ResponseEnvelope {
    pub version: u32,
    pub response: Response,
}

pub fn encode_request(request: &Request) -> String {
    serde_json::to_string(&serde_json::json!({"version": VERSION, "request": request}))
        .expect("requests serialize")
}

pub fn encode_response(response: &Response) -> String {
    serde_json::to_string(&serde_json::json!({"version": VERSION, "response": response}))
        .expect("responses serialize")
}
