//! Format 3 seals each profile on its own, so a command about one profile decrypts,
//! parses and re-encrypts that one and copies the others' bytes as they are. The
//! profiles are sealed with ChaCha20-Poly1305 (the AEAD age itself uses) under a
//! random 256-bit profile key; the key travels inside the age-encrypted root, so
//! whoever opens the root (passphrase or recipient) opens the profiles, and nobody
//! else. Format 4 binds each record to the current index: the root holds each
//! record's digest (128 bits of its SHA-256), so an older record of the same profile
//! (from a backup) put in place of the current one is refused, and the records'
//! associated data names the vault and the profile key's generation. Specified in docs/vault-format.md.

use std::collections::BTreeMap;
use std::ops::Range;

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::model::VaultOf;
use crate::secret::Secret;

const NONCE_BYTES: usize = 12;
const TAG_BYTES: usize = 16;
/// Binds a record to its profile's name: a record moved under another name does not
/// open.
const ASSOCIATED_DATA_PREFIX: &[u8] = b"spvault profile ";

/// Where a profile's sealed record is in the records section, and (format 4) the
/// digest of the record that belongs there.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct RecordRef {
    pub at: u64,
    pub len: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<RecordDigest>,
}

/// A record's digest: the first 128 bits of its SHA-256 (nobody without the key can
/// make a record, so what it must tell apart are records that exist: 128 bits are
/// plenty, and keep the root of 10,000 profiles small), written as base64 without
/// padding (22 characters).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecordDigest([u8; 16]);

impl RecordDigest {
    pub fn of(record: &[u8]) -> RecordDigest {
        let full = Sha256::digest(record);
        RecordDigest(full[..16].try_into().expect("SHA-256 is 32 bytes"))
    }

    /// Whether `record` is the one this is the digest of (in constant time).
    pub fn matches(&self, record: &[u8]) -> bool {
        bool::from(Self::of(record).0.ct_eq(&self.0))
    }
}

impl Serialize for RecordDigest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut text = [0u8; 22];
        let written = base64::engine::general_purpose::STANDARD_NO_PAD
            .encode_slice(self.0, &mut text)
            .expect("16 bytes are 22 characters");
        serializer.serialize_str(std::str::from_utf8(&text[..written]).expect("base64"))
    }
}

impl<'de> Deserialize<'de> for RecordDigest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<str>>::deserialize(deserializer)?;
        let mut digest = [0u8; 16];
        match base64::engine::general_purpose::STANDARD_NO_PAD
            .decode_slice(text.as_bytes(), &mut digest)
        {
            Ok(16) => Ok(RecordDigest(digest)),
            _ => Err(serde::de::Error::custom(
                "a record digest is 16 bytes of base64 without padding",
            )),
        }
    }
}

/// Which vault, and which of its profile keys, a format 4 record was sealed for: in
/// each record's associated data. A new profile key is a new generation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Lineage {
    pub vault_id: String,
    pub generation: u64,
}

impl Lineage {
    /// A new vault's: a random 128-bit id, generation 1.
    pub fn new() -> Lineage {
        let id: [u8; 16] = rand::random();
        Lineage {
            vault_id: id.iter().map(|b| format!("{b:02x}")).collect(),
            generation: 1,
        }
    }

    /// The same vault's next profile key; a vault in an older format gets its id now.
    pub fn next(previous: Option<&Lineage>) -> Lineage {
        match previous {
            Some(previous) => Lineage {
                vault_id: previous.vault_id.clone(),
                generation: previous.generation + 1,
            },
            None => Lineage::new(),
        }
    }
}

/// The plaintext header's values as the writer wrote them, kept (format 4) in the
/// encrypted root: a header changed since (KDF settings, salt, lengths, version) is
/// tampering.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HeaderFacts {
    pub version: u32,
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    pub salt: String,
    pub records_bytes: u64,
}

impl RecordRef {
    /// The record's bytes in a records section `section_len` long, if it lies inside.
    pub fn range(&self, name: &str, section_len: u64) -> Result<Range<u64>, RecordError> {
        self.at
            .checked_add(self.len)
            .filter(|&end| end <= section_len)
            .map(|end| self.at..end)
            .ok_or_else(|| RecordError::OutOfBounds(name.to_owned()))
    }
}

/// The age-encrypted part of a format 3 vault: the model with each profile replaced
/// by where its record is, and the key that opens the records.
#[derive(Serialize, Deserialize)]
pub struct Root {
    pub profile_key: Secret,
    /// Format 4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineage: Option<Lineage>,
    /// Format 4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<HeaderFacts>,
    pub vault: VaultOf<RecordRef>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RecordError {
    #[error("the record of profile '{0}' lies outside the file")]
    OutOfBounds(String),
    #[error("the record of profile '{0}' does not decrypt (changed or damaged)")]
    Unauthentic(String),
    #[error(
        "the record of profile '{0}' is not the one the vault's index names (an older copy put in its place, or damage)"
    )]
    NotIndexed(String),
    #[error("the vault's profile key is not 32 bytes of base64")]
    BadKey,
}

/// The key the profiles are sealed under, and (format 4) its lineage. A write that
/// re-seals every profile draws a new one, so a recipient removed since no longer
/// holds the current key.
pub struct ProfileKey {
    key: Zeroizing<[u8; 32]>,
    lineage: Option<Lineage>,
}

impl ProfileKey {
    pub fn generate(lineage: Lineage) -> ProfileKey {
        ProfileKey {
            key: Zeroizing::new(rand::random()),
            lineage: Some(lineage),
        }
    }

    pub fn lineage(&self) -> Option<&Lineage> {
        self.lineage.as_ref()
    }

    /// The key as the root stores it.
    pub fn from_root(root: &Root) -> Result<ProfileKey, RecordError> {
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(root.profile_key.expose())
                .map_err(|_| RecordError::BadKey)?,
        );
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| RecordError::BadKey)?;
        Ok(ProfileKey {
            key: Zeroizing::new(key),
            lineage: root.lineage.clone(),
        })
    }

    pub fn to_root_text(&self) -> Secret {
        Secret::new(base64::engine::general_purpose::STANDARD.encode(*self.key))
    }

    /// Profile `name`'s record, bound to its name (and lineage).
    pub fn seal(&self, name: &str, plaintext: &[u8]) -> Vec<u8> {
        seal(&self.key, &self.associated_data(name), plaintext)
    }

    pub fn open(&self, name: &str, record: &[u8]) -> Result<Zeroizing<Vec<u8>>, RecordError> {
        open(&self.key, &self.associated_data(name), record)
            .ok_or_else(|| RecordError::Unauthentic(name.to_owned()))
    }
}

/// `nonce || ciphertext || tag` of `plaintext` under `key`, with a random nonce: a
/// save seals at most the profiles it changed, the unlock agent one vault's profiles
/// under a key drawn for them, far below the 2^32 messages random 96-bit nonces allow
/// under one key.
pub fn seal(key: &[u8; 32], associated_data: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let nonce: [u8; NONCE_BYTES] = rand::random();
    let sealed = ChaCha20Poly1305::new(Key::from_slice(key))
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: associated_data,
            },
        )
        .expect("ChaCha20-Poly1305 seals any message shorter than 256 GiB");
    let mut record = Vec::with_capacity(NONCE_BYTES + sealed.len());
    record.extend_from_slice(&nonce);
    record.extend_from_slice(&sealed);
    record
}

/// The plaintext of a `seal`ed record; `None` when it does not authenticate.
pub fn open(key: &[u8; 32], associated_data: &[u8], record: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if record.len() < NONCE_BYTES + TAG_BYTES {
        return None;
    }
    let (nonce, sealed) = record.split_at(NONCE_BYTES);
    ChaCha20Poly1305::new(Key::from_slice(key))
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: associated_data,
            },
        )
        .ok()
        .map(Zeroizing::new)
}

impl ProfileKey {
    /// `spvault profile NAME` (format 3); `spvault profile VAULT_ID/GENERATION/NAME`
    /// (format 4).
    fn associated_data(&self, name: &str) -> Vec<u8> {
        let lineage = self
            .lineage
            .as_ref()
            .map(|l| format!("{}/{}/", l.vault_id, l.generation))
            .unwrap_or_default();
        [ASSOCIATED_DATA_PREFIX, lineage.as_bytes(), name.as_bytes()].concat()
    }
}

/// A new records section: the records of the previous version kept as they were
/// (copied in runs, never read), then the ones sealed now; and where each is.
pub struct RecordsLayout {
    kept_runs: Vec<Range<u64>>,
    new: Vec<u8>,
    placed: BTreeMap<String, RecordRef>,
}

impl RecordsLayout {
    /// Lays out `kept` (records of the previous section, by name, in name order, and
    /// where they were there) and `sealed` (records sealed now, in name order).
    /// Adjacent kept records become one run, so a write that changes one profile
    /// copies the rest in at most two pieces. Fails with the name of a profile found
    /// in both.
    pub fn new(kept: &[(&str, RecordRef)], sealed: &[(&str, Vec<u8>)]) -> Result<Self, String> {
        // By where they were: the order they are copied in.
        let mut by_place: Vec<usize> = (0..kept.len()).collect();
        by_place.sort_by_key(|&i| kept[i].1.at);
        let mut kept_runs: Vec<Range<u64>> = Vec::new();
        let mut new_at = vec![0; kept.len()];
        let mut len = 0;
        for i in by_place {
            let at = kept[i].1;
            match kept_runs.last_mut() {
                Some(run) if run.end == at.at => run.end += at.len,
                _ => kept_runs.push(at.at..at.at + at.len),
            }
            new_at[i] = len;
            len += at.len;
        }
        let mut new = Vec::with_capacity(sealed.iter().map(|(_, r)| r.len()).sum());
        let mut sealed_at = Vec::with_capacity(sealed.len());
        for (name, record) in sealed {
            sealed_at.push((
                *name,
                RecordRef {
                    at: len + new.len() as u64,
                    len: record.len() as u64,
                    digest: Some(RecordDigest::of(record)),
                },
            ));
            new.extend_from_slice(record);
        }
        // Both lists are in name order: merged, the map is built in one pass.
        let kept_at = kept
            .iter()
            .zip(new_at)
            .map(|(&(name, at), new_at)| (name, RecordRef { at: new_at, ..at }));
        let mut placed = Vec::with_capacity(kept.len() + sealed.len());
        let mut kept_at = kept_at.peekable();
        let mut sealed_at = sealed_at.into_iter().peekable();
        loop {
            let next = match (kept_at.peek(), sealed_at.peek()) {
                (Some(k), Some(s)) if k.0 == s.0 => return Err(k.0.to_owned()),
                (Some(k), Some(s)) if k.0 < s.0 => kept_at.next(),
                (Some(_), None) => kept_at.next(),
                (_, Some(_)) => sealed_at.next(),
                (None, None) => break,
            };
            placed.extend(next.map(|(name, at)| (name.to_owned(), at)));
        }
        Ok(RecordsLayout {
            kept_runs,
            new,
            placed: placed.into_iter().collect(),
        })
    }

    pub fn len(&self) -> u64 {
        self.kept_runs
            .iter()
            .map(|run| run.end - run.start)
            .sum::<u64>()
            + self.new.len() as u64
    }

    /// Where each profile's record is in the new section; taken, for the root.
    pub fn take_placed(&mut self) -> BTreeMap<String, RecordRef> {
        std::mem::take(&mut self.placed)
    }

    /// The runs kept, as ranges of the previous section, in the order they go.
    pub fn kept_runs(&self) -> &[Range<u64>] {
        &self.kept_runs
    }

    /// The records sealed now, which follow the kept runs.
    pub fn new_records(&self) -> &[u8] {
        &self.new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_opens_only_with_its_key_and_under_its_name() {
        let key = ProfileKey::generate(Lineage::new());
        let record = key.seal("eu-seller", b"{\"app\":\"main\"}");
        assert_eq!(
            key.open("eu-seller", &record).unwrap().as_slice(),
            b"{\"app\":\"main\"}"
        );
        assert_eq!(
            key.open("us-seller", &record),
            Err(RecordError::Unauthentic("us-seller".into()))
        );
        assert!(
            ProfileKey::generate(Lineage::new())
                .open("eu-seller", &record)
                .is_err()
        );
        for i in 0..record.len() {
            let mut damaged = record.clone();
            damaged[i] ^= 1;
            assert!(key.open("eu-seller", &damaged).is_err(), "byte {i}");
        }
        assert!(key.open("eu-seller", &record[..20]).is_err());
    }

    #[test]
    fn a_record_opens_only_in_its_vault_under_its_key_generation() {
        let lineage = Lineage::new();
        let key = ProfileKey::generate(lineage.clone());
        let record = key.seal("p", b"x");
        let text = key.to_root_text();
        let with = |lineage: Option<Lineage>| ProfileKey {
            key: Zeroizing::new(
                base64::engine::general_purpose::STANDARD
                    .decode(text.expose())
                    .unwrap()
                    .try_into()
                    .unwrap(),
            ),
            lineage,
        };
        assert!(with(Some(lineage.clone())).open("p", &record).is_ok());
        let next = Lineage::next(Some(&lineage));
        assert_eq!((&next.vault_id, next.generation), (&lineage.vault_id, 2));
        for other in [Some(next), Some(Lineage::new()), None] {
            assert!(with(other).open("p", &record).is_err());
        }
        let digest = RecordDigest::of(&record);
        assert!(digest.matches(&record) && !digest.matches(b"x"));
        let json = serde_json::to_string(&digest).unwrap();
        assert_eq!(json.len(), 24);
        assert_eq!(serde_json::from_str::<RecordDigest>(&json).unwrap(), digest);
        assert!(serde_json::from_str::<RecordDigest>("\"AAAA\"").is_err());
    }

    #[test]
    fn the_key_survives_the_root() {
        let key = ProfileKey::generate(Lineage::new());
        let root = Root {
            profile_key: key.to_root_text(),
            lineage: key.lineage().cloned(),
            header: None,
            vault: VaultOf {
                schema: 1,
                apps: BTreeMap::new(),
                profiles: BTreeMap::new(),
                recipients: BTreeMap::new(),
                passphrase_recipient: None,
                audit: None,
            },
        };
        let again = ProfileKey::from_root(&root).unwrap();
        let record = key.seal("p", b"x");
        assert_eq!(again.open("p", &record).unwrap().as_slice(), b"x");
    }

    #[test]
    fn kept_records_are_copied_in_runs_and_new_ones_follow() {
        let at = |at, len| RecordRef {
            at,
            len,
            digest: None,
        };
        // The previous section: c (0..3), a (3..5), d (5..9), e (9..10); a changed,
        // b added.
        let kept = [("c", at(0, 3)), ("d", at(5, 4)), ("e", at(9, 1))];
        let sealed = [("a", b"AA".to_vec()), ("b", b"B".to_vec())];
        let mut layout = RecordsLayout::new(&kept, &sealed).unwrap();
        assert_eq!(layout.kept_runs(), &[0..3, 5..10]);
        assert_eq!(layout.new_records(), b"AAB");
        assert_eq!(layout.len(), 11);
        let placed = layout.take_placed();
        assert_eq!(placed["a"].digest, Some(RecordDigest::of(b"AA")));
        assert_eq!(placed["c"].digest, None, "kept as it was");
        assert_eq!(
            placed
                .into_iter()
                .map(|(name, at)| (name, RecordRef { digest: None, ..at }))
                .collect::<Vec<_>>(),
            [
                ("a".to_owned(), at(8, 2)),
                ("b".to_owned(), at(10, 1)),
                ("c".to_owned(), at(0, 3)),
                ("d".to_owned(), at(3, 4)),
                ("e".to_owned(), at(7, 1)),
            ]
        );
        assert_eq!(at(8, 2).range("a", 11), Ok(8..10));
        assert!(at(10, 2).range("b", 11).is_err());
        assert!(at(u64::MAX, 2).range("x", 11).is_err());
        let both = [("d", b"D".to_vec())];
        assert_eq!(RecordsLayout::new(&kept, &both).err(), Some("d".to_owned()));
    }
}
