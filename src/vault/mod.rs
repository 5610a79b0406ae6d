//! The encrypted store: open it with a key (`unlock` chooses where the key comes
//! from), read the model, and apply a command's change to what is stored at that
//! moment: under the lock for a file, by check-and-set for OpenBao. Nothing here
//! prompts, prints or talks to the unlock agent.

pub mod bao;
pub mod crypto;
pub mod file;
mod file_store;
pub mod format;
pub mod model;
pub mod store;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::secret::Secret;
use crypto::{CryptoError, KdfParams, VaultKey};
use file::VaultFile;
use format::{Envelope, EnvelopeError, ModelEncoding};
pub use model::Vault;

/// How many times a write re-reads and re-applies its change after another writer
/// won OpenBao's check-and-set.
const WRITE_ATTEMPTS: usize = 8;

/// An opened vault: where it is and the key that opens it.
#[derive(Debug)]
pub struct Unlocked {
    file: VaultFile,
    key: VaultKey,
}

impl Unlocked {
    /// The vault at `file`, to be opened with `key` (from one of `unlock`'s sources),
    /// or, for a vault not written yet, to be written by `save_new`.
    pub fn new(file: VaultFile, key: VaultKey) -> Unlocked {
        Unlocked { file, key }
    }

    /// Writes the vault `prepare_new` prepared, with `fill`'s content; refuses when
    /// a vault appeared there meanwhile.
    pub fn save_new(&self, fill: impl FnOnce(&mut Vault) -> Result<()>) -> Result<Vault> {
        let mut vault = Vault::default();
        fill(&mut vault)?;
        let lock = self.file.lock()?;
        let (existing, version) = self.file.read_versioned()?;
        if existing.is_some() {
            return Err(Error::VaultExists(self.file.path().to_path_buf()));
        }
        let (kdf, salt) = (self.key.kdf, self.key.salt.clone());
        self.write(&mut vault, &lock, kdf, &salt, version)?;
        Ok(vault)
    }

    /// The vault as it is on disk now, opened with the key this one was opened with.
    pub fn reload(&self) -> Result<Vault> {
        let envelope = read_envelope(&self.file)?;
        if !self.key.fits(&envelope.kdf, &envelope.salt) {
            return Err(Error::PassphraseChanged(self.file.path().to_path_buf()));
        }
        open_payload(&self.file, &self.key, &envelope, None)
    }

    pub fn file(&self) -> &VaultFile {
        &self.file
    }

    /// Applies `change` to the vault as it is on disk now, under the write lock, and
    /// saves the result; another process's changes made since this one opened the
    /// vault are kept. Returns the change's result.
    pub fn update<T>(&self, mut change: impl FnMut(&mut Vault) -> Result<T>) -> Result<T> {
        // A file is locked, so one pass does; OpenBao's check-and-set may find that
        // another machine wrote first: then re-read and apply the change again.
        for _ in 0..WRITE_ATTEMPTS {
            let lock = self.file.lock()?;
            let (envelope, version) = read_envelope_versioned(&self.file)?;
            if !self.key.fits(&envelope.kdf, &envelope.salt) {
                return Err(Error::PassphraseChanged(self.file.path().to_path_buf()));
            }
            let mut vault = open_payload(&self.file, &self.key, &envelope, None)?;
            let result = change(&mut vault)?;
            // The header stays as found: a recipient writing must not undo a passwd.
            match self.write(&mut vault, &lock, envelope.kdf, &envelope.salt, version) {
                Err(Error::WriteConflict) => continue,
                Err(e) => return Err(e),
                Ok(()) => return Ok(result),
            }
        }
        Err(Error::Other(format!(
            "{} kept changing while this command wrote it ({WRITE_ATTEMPTS} tries): run it again",
            self.file.path().display()
        )))
    }

    /// Applies `change` and re-encrypts the vault under `new_passphrase` (which may be
    /// the current one) with a new salt and `kdf`: keys derived before, and files
    /// sealed to them, no longer fit this vault's header.
    pub fn change_passphrase(
        &mut self,
        new_passphrase: &Secret,
        kdf: KdfParams,
        change: impl FnOnce(&mut Vault) -> Result<()>,
    ) -> Result<()> {
        let key =
            VaultKey::derive(new_passphrase, kdf, &crypto::new_salt()).map_err(Error::Invalid)?;
        let lock = self.file.lock()?;
        let (envelope, version) = read_envelope_versioned(&self.file)?;
        if !self.key.fits(&envelope.kdf, &envelope.salt) {
            return Err(Error::PassphraseChanged(self.file.path().to_path_buf()));
        }
        let mut vault = open_payload(&self.file, &self.key, &envelope, None)?;
        change(&mut vault)?;
        self.key = key;
        let (kdf, salt) = (self.key.kdf, self.key.salt.clone());
        self.write(&mut vault, &lock, kdf, &salt, version)
    }

    pub fn key(&self) -> &VaultKey {
        &self.key
    }

    pub fn kdf(&self) -> KdfParams {
        self.key.kdf
    }

    /// The payload's recipients: the passphrase's identity (this key's when it came
    /// from the passphrase, else the one recorded in the vault) and every named one.
    fn recipients(&self, vault: &mut Vault) -> Result<Vec<age::x25519::Recipient>> {
        let passphrase_recipient = if self.key.from_passphrase {
            let recipient = self.key.recipient();
            vault.passphrase_recipient = Some(recipient.to_string());
            recipient
        } else {
            let recorded = vault.passphrase_recipient.as_deref().ok_or_else(|| {
                Error::Other("the vault does not record its passphrase's public key yet: save it once with the passphrase before writing with an identity file".into())
            })?;
            parse_recipient(recorded)?
        };
        let mut recipients = vec![passphrase_recipient];
        for key in vault.recipients.values() {
            recipients.push(parse_recipient(key)?);
        }
        Ok(recipients)
    }

    fn write(
        &self,
        vault: &mut Vault,
        lock: &store::WriteLock,
        kdf: KdfParams,
        salt: &str,
        version: store::Version,
    ) -> Result<()> {
        let recipients = self.recipients(vault)?;
        // About a kilobyte a profile: sized once, not grown (and copied) as it fills.
        let mut plaintext =
            Zeroizing::new(Vec::with_capacity(64 * 1024 + vault.profiles.len() * 1024));
        serde_json::to_writer(&mut *plaintext, &*vault)
            .map_err(|e| Error::Other(format!("cannot serialize the vault: {e}")))?;
        let payload = VaultKey::seal(&plaintext, &recipients)
            .map_err(|e| Error::Other(format!("cannot encrypt the vault: {e}")))?;
        let envelope = Envelope {
            kdf,
            salt: salt.to_owned(),
            payload,
            model: ModelEncoding::Json,
        };
        self.file.replace(&envelope.to_bytes(), lock, version)
    }
}

/// An `age1...` public key.
pub fn parse_recipient(key: &str) -> Result<age::x25519::Recipient> {
    key.trim().parse().map_err(|_| {
        Error::Invalid(format!(
            "'{}' is not an age public key (age1...)",
            key.escape_debug()
        ))
    })
}

/// The vault's envelope: its header, for deriving a key, and the sealed payload.
pub fn read_envelope(file: &VaultFile) -> Result<Envelope> {
    read_envelope_versioned(file).map(|(envelope, _)| envelope)
}

fn read_envelope_versioned(file: &VaultFile) -> Result<(Envelope, store::Version)> {
    let (bytes, version) = file.read_versioned()?;
    let bytes = bytes.ok_or_else(|| Error::NoVault(file.path().to_path_buf()))?;
    Ok((parse_envelope(file, bytes)?, version))
}

fn parse_envelope(file: &VaultFile, bytes: Vec<u8>) -> Result<Envelope> {
    Envelope::parse(bytes).map_err(|e| match e {
        EnvelopeError::Damaged(detail) => Error::damaged(file.path(), detail),
        EnvelopeError::NewerVersion(found) => Error::NewerVersion {
            path: file.path().to_path_buf(),
            what: "format version",
            found,
            known: format::VERSION,
        },
    })
}

/// Decrypts and reads the payload: the whole model, or with `only` the one profile.
pub fn open_payload(
    file: &VaultFile,
    key: &VaultKey,
    envelope: &Envelope,
    only: Option<&str>,
) -> Result<Vault> {
    let plaintext = decrypt(file, key, envelope)?;
    parse_model(file, &plaintext, envelope.model, only)
}

/// The decrypted payload; `WrongPassphrase` when the key does not open it.
pub fn decrypt(
    file: &VaultFile,
    key: &VaultKey,
    envelope: &Envelope,
) -> Result<Zeroizing<Vec<u8>>> {
    key.open(&envelope.payload).map_err(|e| match e {
        CryptoError::NoMatchingKey => Error::WrongPassphrase(file.path().to_path_buf()),
        CryptoError::Corrupt(detail) => Error::damaged(file.path(), detail),
    })
}

/// Reads the decrypted model. The payload is authenticated, so a failure here means a
/// newer or broken writer, not an attacker; the messages quote no content, since the
/// parser's own would quote secret values.
pub fn parse_model(
    file: &VaultFile,
    plaintext: &[u8],
    encoding: ModelEncoding,
    only: Option<&str>,
) -> Result<Vault> {
    #[derive(serde::Deserialize)]
    struct SchemaOnly {
        schema: u32,
    }
    let newer = |found: u32| Error::NewerVersion {
        path: file.path().to_path_buf(),
        what: "payload schema",
        found,
        known: model::SCHEMA,
    };
    let does_not_fit = || {
        Error::damaged(
            file.path(),
            format!(
                "the decrypted payload does not fit schema {}",
                model::SCHEMA
            ),
        )
    };
    let parsed = match (encoding, only) {
        (ModelEncoding::Json, Some(name)) => {
            serde_json::from_slice::<model::VaultOf<&serde_json::value::RawValue>>(plaintext)
                .and_then(|raw| raw.with_only(name))
                .map_err(|_| serde_json::from_slice::<SchemaOnly>(plaintext).ok())
        }
        (ModelEncoding::Json, None) => serde_json::from_slice::<Vault>(plaintext)
            .map_err(|_| serde_json::from_slice::<SchemaOnly>(plaintext).ok()),
        (ModelEncoding::Toml, _) => {
            let text = std::str::from_utf8(plaintext)
                .map_err(|_| Error::damaged(file.path(), "the decrypted payload is not text"))?;
            toml::from_str::<Vault>(text)
                .map(|mut vault| {
                    if let Some(name) = only {
                        vault.profiles.retain(|profile, _| profile == name);
                    }
                    vault
                })
                .map_err(|_| toml::from_str::<SchemaOnly>(text).ok())
        }
    };
    match parsed {
        Ok(vault) if vault.schema > model::SCHEMA => Err(newer(vault.schema)),
        Ok(vault) => Ok(vault),
        Err(Some(only)) if only.schema > model::SCHEMA => Err(newer(only.schema)),
        Err(_) => Err(does_not_fit()),
    }
}
