//! The decrypted vault the agent holds for commands about one profile, kept
//! encrypted in its memory: each profile, and the rest (apps, recipients), sealed on
//! its own under a key drawn for it in locked memory. Between requests no secret of
//! the vault lies in plaintext in memory the OS may swap out, and an answer opens
//! only the profile it is about.

use std::collections::BTreeMap;

use serde_json::value::RawValue;
use zeroize::Zeroizing;

use super::locked::LockedBytes;
use crate::secret::Secret;
use crate::vault::model::VaultOf;
use crate::vault::records;

const REST: &[u8] = b"spvault agent: the vault without profiles";
const PROFILE: &[u8] = b"spvault agent: profile ";

pub struct SealedVault {
    key: LockedBytes,
    /// The vault without its profiles.
    rest: Vec<u8>,
    profiles: BTreeMap<String, Vec<u8>>,
}

impl SealedVault {
    /// Seals a vault's model (format 2 JSON); `None` when it is not one.
    pub fn seal(model: &str) -> Option<SealedVault> {
        let vault: VaultOf<&RawValue> = serde_json::from_str(model).ok()?;
        let key = LockedBytes::random(32)?;
        let key_bytes = key.as_bytes().try_into().ok()?;
        let profiles = vault
            .profiles
            .iter()
            .map(|(name, profile)| {
                let sealed =
                    records::seal(key_bytes, &profile_data(name), profile.get().as_bytes());
                (name.clone(), sealed)
            })
            .collect();
        let rest = VaultOf {
            profiles: BTreeMap::new(),
            ..vault
        };
        let rest = Zeroizing::new(serde_json::to_vec(&rest).ok()?);
        Some(SealedVault {
            rest: records::seal(key_bytes, REST, &rest),
            key,
            profiles,
        })
    }

    /// The vault with only profile `name` (with no profile when it has none of that
    /// name), as JSON.
    pub fn with_only_profile(&self, name: &str) -> Option<Secret> {
        let key = self.key.as_bytes().try_into().ok()?;
        let rest = records::open(key, REST, &self.rest)?;
        let mut vault: VaultOf<&RawValue> = serde_json::from_slice(&rest).ok()?;
        let profile = match self.profiles.get(name) {
            Some(sealed) => Some(records::open(key, &profile_data(name), sealed)?),
            None => None,
        };
        if let Some(profile) = &profile {
            vault
                .profiles
                .insert(name.to_owned(), serde_json::from_slice(profile).ok()?);
        }
        serde_json::to_string(&vault).ok().map(Secret::new)
    }
}

/// Binds a sealed profile to its name.
fn profile_data(name: &str) -> Vec<u8> {
    [PROFILE, name.as_bytes()].concat()
}
