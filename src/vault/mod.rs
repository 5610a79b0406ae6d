//! The encrypted store: open it (identity file, unlock agent, or passphrase), read
//! the model, and apply a command's change to what is stored at that moment: under
//! the lock for a file, by check-and-set for OpenBao.

pub mod bao;
pub mod crypto;
pub mod file;
mod file_store;
pub mod format;
pub mod model;
pub mod store;

use zeroize::Zeroizing;

use crate::agent;
use crate::error::{Error, Result};
use crate::passphrase::{self, Origin};
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
    /// Opens an existing vault: with the identity file when one is given, else with
    /// the unlock agent's key when it holds one, else with the passphrase (at a
    /// terminal, up to three tries). Fails with `NoVault` when there is none.
    pub fn open(file: VaultFile) -> Result<(Unlocked, Vault)> {
        Self::open_selected(file, None)
    }

    /// Opens the vault as `open` does, but reads only profile `name` (with every app):
    /// for commands about one profile, whose cost must not grow with the others. The
    /// vault returned holds no other profile; a change still goes through `update`,
    /// which reads the whole vault.
    pub fn open_profile(file: VaultFile, name: &str) -> Result<(Unlocked, Vault)> {
        Self::open_selected(file, Some(name))
    }

    fn open_selected(file: VaultFile, only: Option<&str>) -> Result<(Unlocked, Vault)> {
        // Taken before the read: if the file is replaced in between, what the agent
        // is given is filed under a stamp no file has any more, never the current one.
        let stamp = file.identity().is_none().then(|| file.stamp()).flatten();
        if let (Some(name), Some(stamp)) = (only, &stamp)
            && let Some((key, vault)) = agent_profile(&file, stamp, name)
        {
            return Ok((Unlocked { file, key }, vault));
        }
        let envelope = read_envelope(&file)?;
        if let Some(identity) = file.identity() {
            let key = identity_key(identity, &envelope)?;
            return match open_payload(&file, &key, &envelope, only) {
                Err(Error::WrongPassphrase(_)) => Err(Error::NotARecipient(identity.to_path_buf())),
                Ok(vault) => Ok((Unlocked { file, key }, vault)),
                Err(e) => Err(e),
            };
        }
        if let Some(key) = agent_key(&file, &envelope, true) {
            match decrypt(&file, &key, &envelope) {
                Ok(plaintext) => {
                    let vault = parse_model(&file, &plaintext, envelope.model, only)?;
                    if let (Some(stamp), ModelEncoding::Json) = (stamp, envelope.model) {
                        agent_remember(&file, stamp, &plaintext);
                    }
                    return Ok((Unlocked { file, key }, vault));
                }
                // The agent's key no longer fits: forget it and ask for the passphrase.
                Err(Error::WrongPassphrase(_)) => {
                    agent::forget_key(file.path());
                }
                Err(e) => return Err(e),
            }
        }
        Self::open_with_passphrase_envelope(file, envelope, only)
            .map(|(unlocked, vault, _)| (unlocked, vault))
    }

    /// Reads the vault with the agent's key without counting as use, for `vault
    /// status`; `None` when the agent holds no key for it.
    pub fn peek(file: &VaultFile) -> Result<Option<Vault>> {
        let envelope = read_envelope(file)?;
        match agent_key(file, &envelope, false) {
            Some(key) => open_payload(file, &key, &envelope, None).map(Some),
            None => Ok(None),
        }
    }

    /// Opens an existing vault with the passphrase only, never the agent or an
    /// identity file (`unlock`, `passwd` and `recipients remove` must prove the
    /// passphrase); also returns the passphrase, for re-keying.
    pub fn open_with_passphrase(file: VaultFile) -> Result<(Unlocked, Vault, Secret)> {
        let envelope = read_envelope(&file)?;
        Self::open_with_passphrase_envelope(file, envelope, None)
    }

    fn open_with_passphrase_envelope(
        file: VaultFile,
        envelope: Envelope,
        only: Option<&str>,
    ) -> Result<(Unlocked, Vault, Secret)> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (passphrase, origin) = passphrase::existing(file.path())?;
            let key = VaultKey::derive(&passphrase, envelope.kdf, &envelope.salt)
                .map_err(|e| Error::damaged(file.path(), e))?;
            match open_payload(&file, &key, &envelope, only) {
                Err(Error::WrongPassphrase(_))
                    if origin == Origin::Terminal && attempts < passphrase::TERMINAL_ATTEMPTS =>
                {
                    eprintln!("Wrong passphrase, try again.");
                }
                Err(e) => return Err(e),
                Ok(vault) => return Ok((Unlocked { file, key }, vault, passphrase)),
            }
        }
    }

    /// Opens the vault, or creates an empty one (asking for a new passphrase twice)
    /// when there is none yet.
    pub fn open_or_create(file: VaultFile) -> Result<(Unlocked, Vault)> {
        match Self::open(file.clone()) {
            Err(Error::NoVault(_)) => Self::create(file, KdfParams::DEFAULT),
            other => other,
        }
    }

    /// Creates a new, empty vault. Refuses to overwrite an existing one.
    pub fn create(file: VaultFile, kdf: KdfParams) -> Result<(Unlocked, Vault)> {
        let unlocked = Self::prepare_new(file, kdf)?;
        let vault = unlocked.save_new(|_| Ok(()))?;
        Ok((unlocked, vault))
    }

    /// The key for a vault not written yet: asks for the new passphrase and derives
    /// the key, but writes nothing (the wizard saves only at its end).
    pub fn prepare_new(file: VaultFile, kdf: KdfParams) -> Result<Unlocked> {
        kdf.check_bounds().map_err(Error::Invalid)?;
        if file.read()?.is_some() {
            return Err(Error::VaultExists(file.path().to_path_buf()));
        }
        let passphrase = passphrase::new(file.path(), None)?;
        let key =
            VaultKey::derive(&passphrase, kdf, &crypto::new_salt()).map_err(Error::Invalid)?;
        Ok(Unlocked { file, key })
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

fn read_envelope(file: &VaultFile) -> Result<Envelope> {
    read_envelope_versioned(file).map(|(envelope, _)| envelope)
}

fn read_envelope_versioned(file: &VaultFile) -> Result<(Envelope, store::Version)> {
    let (bytes, version) = file.read_versioned()?;
    let bytes = bytes.ok_or_else(|| Error::NoVault(file.path().to_path_buf()))?;
    Ok((parse_envelope(file, bytes)?, version))
}

/// The key in an age identity file, for a recipient's machine.
fn identity_key(path: &std::path::Path, envelope: &Envelope) -> Result<VaultKey> {
    let contents = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
        Error::PassphraseSource(format!(
            "cannot read the identity file {}: {e}",
            path.display()
        ))
    })?);
    VaultKey::from_identity_file(&contents, envelope.kdf, &envelope.salt)
        .map_err(|e| Error::PassphraseSource(format!("the identity file {}: {e}", path.display())))
}

/// The key the unlock agent holds for this vault, if any. An agent that cannot be
/// reached is no error: the passphrase sources still work.
fn agent_key(file: &VaultFile, envelope: &Envelope, touch: bool) -> Option<VaultKey> {
    let request = agent::protocol::Request::Key {
        kdf: envelope.kdf,
        salt: envelope.salt.clone(),
        touch,
    };
    match agent::call(file.path(), &request) {
        Ok(Some(agent::protocol::Response::Key { identity })) => {
            VaultKey::from_identity(&identity, envelope.kdf, &envelope.salt).ok()
        }
        Ok(_) => None,
        Err(e) => {
            eprintln!("warning: {e}; asking for the passphrase instead");
            None
        }
    }
}

/// Profile `name` from the decrypted vault the agent holds for the file at `stamp`,
/// with the key; `None` when it holds none (the file changed, or it was never given).
fn agent_profile(file: &VaultFile, stamp: &str, name: &str) -> Option<(VaultKey, Vault)> {
    let request = agent::protocol::Request::Profile {
        stamp: stamp.to_owned(),
        name: name.to_owned(),
    };
    match agent::call(file.path(), &request) {
        Ok(Some(agent::protocol::Response::Profile {
            identity,
            kdf,
            salt,
            vault,
        })) => {
            let key = VaultKey::from_identity(&identity, kdf, &salt).ok()?;
            let vault = serde_json::from_str(vault.expose()).ok()?;
            Some((key, vault))
        }
        _ => None,
    }
}

/// Hands the agent the decrypted model of the file at `stamp`, without waiting: the
/// next command about one profile then reads nothing. Failing to is no error.
fn agent_remember(file: &VaultFile, stamp: String, plaintext: &[u8]) {
    let Ok(model) = std::str::from_utf8(plaintext) else {
        return;
    };
    let request = agent::protocol::Request::Remember {
        stamp,
        model: Secret::from(model),
    };
    let _ = agent::tell(file.path(), &request);
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
fn open_payload(
    file: &VaultFile,
    key: &VaultKey,
    envelope: &Envelope,
    only: Option<&str>,
) -> Result<Vault> {
    let plaintext = decrypt(file, key, envelope)?;
    parse_model(file, &plaintext, envelope.model, only)
}

fn decrypt(file: &VaultFile, key: &VaultKey, envelope: &Envelope) -> Result<Zeroizing<Vec<u8>>> {
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
