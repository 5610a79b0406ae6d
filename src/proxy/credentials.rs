//! Who may use the proxy: the proxy key, or a proxy token got for it from the
//! proxy's own LWA endpoint. Client code that asks for a Restricted Data Token gets a
//! proxy token standing for the real one. No real token is ever handed out; the
//! tokens handed out are looked up by their SHA-256, and the key is compared in
//! constant time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::secret::Secret;

/// How long a proxy access token lives, as an LWA access token does.
pub const ACCESS_LIFETIME: Duration = Duration::from_secs(3600);
/// The most proxy tokens held at once; the oldest go first beyond it.
const MAX_TOKENS: usize = 100_000;

/// Who a request comes from.
pub enum Caller {
    /// It presented the key, or a proxy access token.
    Trusted,
    /// It presented a proxy token for a Restricted Data Token of `profile`.
    Restricted { profile: String, real: Secret },
}

struct Issued {
    expires: Instant,
    restricted: Option<(String, Secret)>,
}

pub struct Credentials {
    key: Secret,
    issued: Mutex<HashMap<[u8; 32], Issued>>,
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Credentials {
    pub fn new(key: Secret) -> Self {
        Credentials {
            key,
            issued: Mutex::default(),
        }
    }

    pub fn is_key(&self, presented: &str) -> bool {
        bool::from(presented.as_bytes().ct_eq(self.key.expose().as_bytes()))
    }

    /// Who presents `presented` (the key, or a token this proxy handed out and that
    /// has not expired).
    pub fn identify(&self, presented: &str) -> Option<Caller> {
        if self.is_key(presented) {
            return Some(Caller::Trusted);
        }
        let issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        let found = issued
            .get(&digest(presented))
            .filter(|i| i.expires > Instant::now())?;
        Some(match &found.restricted {
            None => Caller::Trusted,
            Some((profile, real)) => Caller::Restricted {
                profile: profile.clone(),
                real: real.clone(),
            },
        })
    }

    /// A new proxy access token.
    pub fn issue_access(&self) -> Secret {
        self.issue(ACCESS_LIFETIME, None)
    }

    /// A proxy token standing for the real Restricted Data Token `real` of
    /// `profile`, expiring with it.
    pub fn issue_restricted(&self, profile: &str, real: Secret, lifetime: Duration) -> Secret {
        self.issue(lifetime, Some((profile.to_owned(), real)))
    }

    fn issue(&self, lifetime: Duration, restricted: Option<(String, Secret)>) -> Secret {
        let bytes: [u8; 32] = rand::random();
        let token = Secret::new(format!(
            "spvault-proxy.{}",
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        ));
        let now = Instant::now();
        let mut issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        issued.retain(|_, i| i.expires > now);
        if issued.len() >= MAX_TOKENS
            && let Some(oldest) = issued
                .iter()
                .min_by_key(|(_, i)| i.expires)
                .map(|(digest, _)| *digest)
        {
            issued.remove(&oldest);
        }
        issued.insert(
            digest(token.expose()),
            Issued {
                expires: now + lifetime,
                restricted,
            },
        );
        token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_and_issued_tokens_are_known_and_nothing_else() {
        let credentials = Credentials::new(Secret::new("k".repeat(64)));
        assert!(matches!(
            credentials.identify(&"k".repeat(64)),
            Some(Caller::Trusted)
        ));
        assert!(credentials.identify("k").is_none());
        let access = credentials.issue_access();
        assert!(matches!(
            credentials.identify(access.expose()),
            Some(Caller::Trusted)
        ));
        let rdt =
            credentials.issue_restricted("p", Secret::from("Atz.sprdt|real"), ACCESS_LIFETIME);
        let Some(Caller::Restricted { profile, real }) = credentials.identify(rdt.expose()) else {
            panic!("a restricted proxy token");
        };
        assert_eq!((profile.as_str(), real.expose()), ("p", "Atz.sprdt|real"));
        let gone = credentials.issue_restricted("p", Secret::from("x"), Duration::ZERO);
        assert!(credentials.identify(gone.expose()).is_none(), "expired");
    }
}
