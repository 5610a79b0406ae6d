//! Passphrase -> Argon2id -> age X25519 identity, and sealing or opening the payload
//! with it. The derived public key is never written anywhere: whoever knew it could
//! forge a vault that opens with the passphrase.

use std::io::{Read, Write};

use age::armor::ArmoredReader;
use age::secrecy::ExposeSecret;
use argon2::{Algorithm, Argon2, Params, Version};
use bech32::{Bech32, Hrp};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::secret::Secret;

/// Argon2id cost parameters, stored in the vault's plaintext header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl KdfParams {
    /// The default: 256 MiB, 2 passes, 1 lane; about half a second on one core of the
    /// reference machine (figures in docs/performance.md).
    pub const DEFAULT: KdfParams = KdfParams {
        memory_kib: 256 * 1024,
        iterations: 2,
        parallelism: 1,
    };

    pub const MIN_MEMORY_KIB: u32 = 8 * 1024;
    pub const MAX_MEMORY_KIB: u32 = 1024 * 1024;
    pub const MAX_ITERATIONS: u32 = 32;
    pub const MAX_PARALLELISM: u32 = 16;
    /// Memory times passes, in KiB: bounds the time a hostile header can make us spin.
    pub const MAX_WORK_KIB: u64 = 4 * 1024 * 1024;

    /// Checks the bounds that keep a hostile file from making the tool allocate
    /// gigabytes or spin for minutes. Returns what is out of range.
    pub fn check_bounds(&self) -> Result<(), KdfOutOfBounds> {
        if !(Self::MIN_MEMORY_KIB..=Self::MAX_MEMORY_KIB).contains(&self.memory_kib) {
            return Err(KdfOutOfBounds::Memory(self.memory_kib));
        }
        if !(1..=Self::MAX_ITERATIONS).contains(&self.iterations) {
            return Err(KdfOutOfBounds::Iterations(self.iterations));
        }
        if !(1..=Self::MAX_PARALLELISM).contains(&self.parallelism) {
            return Err(KdfOutOfBounds::Parallelism(self.parallelism));
        }
        let work = u64::from(self.memory_kib) * u64::from(self.iterations);
        if work > Self::MAX_WORK_KIB {
            return Err(KdfOutOfBounds::Work(work));
        }
        Ok(())
    }
}

/// The key that opens one vault: the age identity derived from the passphrase, with
/// the header values it was derived from so a later read can tell whether it still fits.
pub struct VaultKey {
    identity: age::x25519::Identity,
    pub kdf: KdfParams,
    pub salt: String,
    /// Derived from the passphrase (directly or through the agent), rather than read
    /// from a recipient's identity file.
    pub from_passphrase: bool,
}

impl std::fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultKey")
            .field("kdf", &self.kdf)
            .field("identity", &"[redacted]")
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("no key in this vault matches")]
    NoMatchingKey,
    #[error("{0}")]
    Corrupt(String),
}

/// The KDF setting that is out of range, so that a command can name its own flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KdfOutOfBounds {
    #[error("KDF memory {0} KiB is outside {min}..={max} KiB", min = KdfParams::MIN_MEMORY_KIB, max = KdfParams::MAX_MEMORY_KIB)]
    Memory(u32),
    #[error("KDF iterations {0} is outside 1..={max}", max = KdfParams::MAX_ITERATIONS)]
    Iterations(u32),
    #[error("KDF parallelism {0} is outside 1..={max}", max = KdfParams::MAX_PARALLELISM)]
    Parallelism(u32),
    #[error("KDF memory x iterations ({0} KiB) exceeds {max} KiB", max = KdfParams::MAX_WORK_KIB)]
    Work(u64),
}

/// A fresh random salt: 32 lowercase hex digits (128 bits). Argon2 takes the ASCII text
/// itself as the salt, so the reference `argon2` command-line tool can use it as is.
pub fn new_salt() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl VaultKey {
    /// Runs Argon2id (version 0x13, 32-byte output) over the passphrase and turns the
    /// output into an age X25519 identity (`AGE-SECRET-KEY-1...`, Bech32).
    pub fn derive(passphrase: &Secret, kdf: KdfParams, salt: &str) -> Result<Self, String> {
        kdf.check_bounds().map_err(|e| e.to_string())?;
        let params = Params::new(kdf.memory_kib, kdf.iterations, kdf.parallelism, Some(32))
            .map_err(|e| format!("invalid KDF parameters: {e}"))?;
        let mut raw = Zeroizing::new([0u8; 32]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(passphrase.expose().as_bytes(), salt.as_bytes(), &mut *raw)
            .map_err(|e| format!("key derivation failed: {e}"))?;
        let hrp = Hrp::parse("age-secret-key-").expect("constant is a valid Bech32 prefix");
        let encoded = Zeroizing::new(
            bech32::encode_upper::<Bech32>(hrp, &*raw)
                .map_err(|e| format!("key encoding failed: {e}"))?,
        );
        let identity = encoded
            .parse::<age::x25519::Identity>()
            .map_err(|e| format!("key encoding failed: {e}"))?;
        Ok(VaultKey {
            identity,
            kdf,
            salt: salt.to_owned(),
            from_passphrase: true,
        })
    }

    /// A key handed back by the unlock agent: the age identity derived earlier for a
    /// header with these values.
    pub fn from_identity(identity: &Secret, kdf: KdfParams, salt: &str) -> Result<Self, String> {
        let identity = identity
            .expose()
            .parse::<age::x25519::Identity>()
            .map_err(|_| "the agent's key is not an age identity".to_owned())?;
        Ok(VaultKey {
            identity,
            kdf,
            salt: salt.to_owned(),
            from_passphrase: true,
        })
    }

    /// A recipient's key: the X25519 identity in an age identity file (the first
    /// `AGE-SECRET-KEY-1` line; `#` lines are comments), for a vault whose header has
    /// these values.
    pub fn from_identity_file(contents: &str, kdf: KdfParams, salt: &str) -> Result<Self, String> {
        let identity = contents
            .lines()
            .map(str::trim)
            .find(|line| line.starts_with("AGE-SECRET-KEY-1"))
            .ok_or_else(|| "it holds no AGE-SECRET-KEY-1 line (make one with `vault identity new FILE` or age-keygen)".to_owned())?
            .parse::<age::x25519::Identity>()
            .map_err(|_| "its AGE-SECRET-KEY-1 line is not a valid X25519 identity".to_owned())?;
        Ok(VaultKey {
            identity,
            kdf,
            salt: salt.to_owned(),
            from_passphrase: false,
        })
    }

    /// The public half, to which the payload is sealed.
    pub fn recipient(&self) -> age::x25519::Recipient {
        self.identity.to_public()
    }

    /// Whether this key still opens a vault whose header has these values: a
    /// passphrase key only for the header it was derived for; a recipient's key always.
    pub fn fits(&self, kdf: &KdfParams, salt: &str) -> bool {
        !self.from_passphrase || (self.kdf == *kdf && self.salt == salt)
    }

    /// The age identity string, for handing the key to the unlock agent.
    pub fn identity_string(&self) -> Secret {
        Secret::new(self.identity.to_string().expose_secret().to_owned())
    }

    /// Encrypts the payload to the recipients: a binary age file.
    pub fn seal(
        plaintext: &[u8],
        recipients: &[age::x25519::Recipient],
    ) -> Result<Vec<u8>, CryptoError> {
        let encryptor =
            age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
                .map_err(|e| CryptoError::Corrupt(e.to_string()))?;
        let mut sealed = Vec::with_capacity(plaintext.len() + 1024);
        let corrupt = |e: std::io::Error| CryptoError::Corrupt(e.to_string());
        let mut writer = encryptor.wrap_output(&mut sealed).map_err(corrupt)?;
        writer.write_all(plaintext).map_err(corrupt)?;
        writer.finish().map_err(corrupt)?;
        Ok(sealed)
    }

    /// Decrypts an age file, binary or ASCII-armored (format 1). Tells a key that does
    /// not match (wrong passphrase) from a payload that is damaged.
    pub fn open(&self, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let decryptor =
            age::Decryptor::new_buffered(ArmoredReader::new(sealed)).map_err(classify)?;
        let mut reader = decryptor
            .decrypt(std::iter::once(&self.identity as &dyn age::Identity))
            .map_err(classify)?;
        let mut plaintext = Zeroizing::new(Vec::with_capacity(sealed.len()));
        reader
            .read_to_end(&mut plaintext)
            .map_err(|e| CryptoError::Corrupt(format!("payload does not decrypt ({e})")))?;
        Ok(plaintext)
    }
}

fn classify(error: age::DecryptError) -> CryptoError {
    match error {
        age::DecryptError::NoMatchingKeys => CryptoError::NoMatchingKey,
        other => CryptoError::Corrupt(format!("payload is not a valid age file ({other})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: KdfParams = KdfParams {
        memory_kib: KdfParams::MIN_MEMORY_KIB,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn seal_then_open_round_trips_and_other_passphrases_do_not_match() {
        let salt = new_salt();
        let key = VaultKey::derive(&Secret::from("correct horse"), FAST, &salt).unwrap();
        let sealed = VaultKey::seal(b"schema = 1\n", &[key.recipient()]).unwrap();
        assert!(sealed.starts_with(b"age-encryption.org/v1\n"));
        assert_eq!(&key.open(&sealed).unwrap()[..], b"schema = 1\n");
        let other = VaultKey::derive(&Secret::from("wrong horse"), FAST, &salt).unwrap();
        assert!(matches!(
            other.open(&sealed),
            Err(CryptoError::NoMatchingKey)
        ));
    }

    #[test]
    fn derivation_is_deterministic_for_passphrase_and_salt() {
        let a = VaultKey::derive(&Secret::from("p"), FAST, "00ff00ff00ff00ff").unwrap();
        let b = VaultKey::derive(&Secret::from("p"), FAST, "00ff00ff00ff00ff").unwrap();
        assert_eq!(a.identity_string(), b.identity_string());
        assert!(format!("{a:?}").contains("[redacted]"));
    }

    #[test]
    fn hostile_parameters_are_refused_before_any_work() {
        for kdf in [
            KdfParams {
                memory_kib: u32::MAX,
                ..FAST
            },
            KdfParams {
                memory_kib: 1,
                ..FAST
            },
            KdfParams {
                iterations: 0,
                ..FAST
            },
            KdfParams {
                iterations: 1_000_000,
                ..FAST
            },
            KdfParams {
                parallelism: 0,
                ..FAST
            },
            KdfParams {
                memory_kib: KdfParams::MAX_MEMORY_KIB,
                iterations: 32,
                parallelism: 1,
            },
        ] {
            assert!(kdf.check_bounds().is_err(), "{kdf:?}");
        }
        assert!(KdfParams::DEFAULT.check_bounds().is_ok());
    }
}
