//! From a key and an envelope to the model, and back: decrypting the age payload,
//! reading the model it holds (all of it, or only the profiles a command names), and
//! sealing a model into a format 3 payload and records.

use std::collections::{BTreeMap, HashSet};

use serde_json::value::RawValue;
use zeroize::Zeroizing;

use super::crypto::{CryptoError, KdfParams, VaultKey};
use super::file::VaultFile;
use super::format::{Envelope, ModelEncoding};
use super::model::{self, Vault, VaultOf};
use super::records::{
    HeaderFacts, Lineage, ProfileKey, RecordError, RecordRef, RecordsLayout, Root,
};
use super::store::Part;
use crate::error::{Error, Result};

/// Which profiles a command reads: apps and recipients are always read whole.
#[derive(Debug, Clone, Copy)]
pub enum Selection<'a> {
    All,
    Only(&'a [&'a str]),
}

impl<'a> Selection<'a> {
    /// Tells whether a profile is selected, in constant time: `refresh` may name
    /// every one of 10,000.
    fn matcher(&self) -> impl Fn(&str) -> bool + 'a {
        let names: Option<HashSet<&'a str>> = match *self {
            Selection::All => None,
            Selection::Only(names) => Some(names.iter().copied().collect()),
        };
        move |name| names.as_ref().is_none_or(|names| names.contains(name))
    }
}

/// A decrypted payload: the whole model (formats 1 and 2), or a format 3 root, whose
/// profiles are read and opened only when asked for.
pub enum Opened<'e> {
    Whole {
        plaintext: Zeroizing<Vec<u8>>,
        encoding: ModelEncoding,
    },
    Sealed {
        root: Box<Root>,
        key: ProfileKey,
        envelope: &'e Envelope,
    },
}

/// The sealed records of the profiles a format 3 update did not read: written back
/// as they are (where they were in `envelope`), under the key they were sealed with.
pub struct Kept<'o> {
    key: &'o ProfileKey,
    envelope: &'o Envelope,
    records: Vec<(&'o str, RecordRef)>,
}

impl<'o> Kept<'o> {
    /// The check of these records against their index entries, apart from them: a
    /// write consumes them, and the check may run while it does.
    pub fn index_check(&self) -> IndexCheck<'o> {
        IndexCheck {
            envelope: self.envelope,
            records: self.records.clone(),
        }
    }
}

/// Records a write copies as they are, to check against their index entries.
pub struct IndexCheck<'o> {
    envelope: &'o Envelope,
    records: Vec<(&'o str, RecordRef)>,
}

impl IndexCheck<'_> {
    /// Whether every record to be copied is the one its index entry names (format 4:
    /// by its digest, without decrypting it); records of format 3 have none to check.
    /// Read in chunks through one buffer: the records of 10,000 profiles read whole
    /// took a fresh 11 MB buffer, whose page faults cost more than hashing it.
    pub fn all_indexed(&self, file: &VaultFile) -> Result<bool> {
        let section_len = self.envelope.records_len();
        let mut to_check = Vec::with_capacity(self.records.len());
        for (name, at) in &self.records {
            let Some(digest) = at.digest else { continue };
            match at.range(name, section_len) {
                Ok(range) => to_check.push((range, digest)),
                Err(_) => return Ok(false),
            }
        }
        to_check.sort_unstable_by_key(|(range, _)| range.start);
        let mut buffer = Vec::new();
        let mut rest = &to_check[..];
        while let Some((first, _)) = rest.first() {
            // As many records as lie within one chunk from the first, at least one.
            let (start, mut end, mut count) = (first.start, first.end, 1);
            while let Some((next, _)) = rest.get(count)
                && next.end.max(end) - start <= CHECK_CHUNK_BYTES
            {
                end = end.max(next.end);
                count += 1;
            }
            buffer.resize((end - start) as usize, 0);
            self.envelope
                .read_records_into(start, &mut buffer)
                .map_err(|e| Error::Unreadable {
                    path: file.path().to_path_buf(),
                    source: e,
                })?;
            let (chunk, later) = rest.split_at(count);
            let local = |range: &std::ops::Range<u64>| {
                &buffer[(range.start - start) as usize..(range.end - start) as usize]
            };
            if !chunk
                .iter()
                .all(|(range, digest)| digest.matches(local(range)))
            {
                return Ok(false);
            }
            rest = later;
        }
        Ok(true)
    }
}

/// How much of the records section `Kept::all_indexed` reads at once: small enough to
/// stay in the CPU's cache between the read and the hash.
const CHECK_CHUNK_BYTES: u64 = 256 * 1024;

/// A profile's name and its decrypted record, or why it does not open.
type OpenedRecord<'a> = (&'a str, Result<Zeroizing<Vec<u8>>, RecordError>);

/// A profile whose record does not open (damaged, or not the one the index names):
/// read around, never decrypted again by a write that does not name it.
#[derive(Debug, Clone, PartialEq)]
pub struct DamagedRecord {
    pub profile: String,
    /// Why, naming the profile; no content.
    pub detail: String,
}

impl DamagedRecord {
    /// `DamagedRecords` for this profile alone, with its fix.
    pub fn error(&self, file: &VaultFile) -> Error {
        Error::DamagedRecords {
            path: file.path().to_path_buf(),
            profiles: vec![self.profile.clone()],
        }
    }
}

/// The model read around damaged records: the selected profiles whose records open,
/// and those whose records do not (never in `vault`).
#[derive(Debug)]
pub struct Salvaged {
    pub vault: Vault,
    pub damaged: Vec<DamagedRecord>,
}

impl Salvaged {
    /// The model, or the first damaged record's error: for a command that needs every
    /// profile it read.
    pub fn undamaged(self, file: &VaultFile) -> Result<Vault> {
        match self.damaged.into_iter().next() {
            None => Ok(self.vault),
            Some(damaged) => Err(Error::damaged(file.path(), damaged.detail)),
        }
    }

    /// Fails as `undamaged` would when one of `names` is damaged; the others may be.
    pub fn require(&self, file: &VaultFile, names: &[&str]) -> Result<()> {
        match self
            .damaged
            .iter()
            .find(|d| names.contains(&d.profile.as_str()))
        {
            None => Ok(()),
            Some(damaged) => Err(Error::damaged(file.path(), damaged.detail.clone())),
        }
    }

    pub fn is_damaged(&self, name: &str) -> bool {
        self.damaged.iter().any(|d| d.profile == name)
    }

    /// `DamagedRecords` naming every damaged profile, if there is one.
    pub fn damage(&self, file: &VaultFile) -> Option<Error> {
        (!self.damaged.is_empty()).then(|| Error::DamagedRecords {
            path: file.path().to_path_buf(),
            profiles: self.damaged.iter().map(|d| d.profile.clone()).collect(),
        })
    }
}

/// Above this many profiles, the records are read in one piece rather than one by one.
const READ_ONE_BY_ONE_MAX: usize = 32;

impl<'e> Opened<'e> {
    /// Decrypts `envelope`'s payload; `WrongPassphrase` when `key` does not open it.
    pub fn decrypt(file: &VaultFile, key: &VaultKey, envelope: &'e Envelope) -> Result<Self> {
        let plaintext = key.open(envelope.payload()).map_err(|e| match e {
            CryptoError::NoMatchingKey => Error::WrongPassphrase(file.path().to_path_buf()),
            CryptoError::Corrupt(detail) => Error::damaged(file.path(), detail),
        })?;
        if envelope.model != ModelEncoding::Sealed {
            return Ok(Opened::Whole {
                plaintext,
                encoding: envelope.model,
            });
        }
        let root: Box<Root> = serde_json::from_slice(&plaintext)
            .map_err(|_| schema_error(file, &plaintext, ModelEncoding::Json))?;
        check_schema(file, root.vault.schema)?;
        check_header(file, &root, envelope)?;
        let key = ProfileKey::from_root(&root).map_err(|e| record_error(file, e))?;
        Ok(Opened::Sealed {
            root,
            key,
            envelope,
        })
    }

    /// `decrypt` of `envelope` again, from the root it gave (`into_root`).
    pub fn from_root(file: &VaultFile, root: Box<Root>, envelope: &'e Envelope) -> Result<Self> {
        let key = ProfileKey::from_root(&root).map_err(|e| record_error(file, e))?;
        Ok(Opened::Sealed {
            root,
            key,
            envelope,
        })
    }

    /// The decrypted root of formats 3 and 4, for `from_root`.
    pub fn into_root(self) -> Option<Box<Root>> {
        match self {
            Opened::Sealed { root, .. } => Some(root),
            Opened::Whole { .. } => None,
        }
    }

    /// The lineage of the profile key (format 4), which the next key continues.
    pub fn lineage(&self) -> Option<&Lineage> {
        match self {
            Opened::Sealed { root, .. } => root.lineage.as_ref(),
            Opened::Whole { .. } => None,
        }
    }

    /// The model with the selected profiles (those of them that exist); a damaged
    /// record among them is an error.
    pub fn model(&self, file: &VaultFile, selection: Selection) -> Result<Vault> {
        self.salvage(file, selection)?.undamaged(file)
    }

    /// The model with the selected profiles whose records open, and the names of
    /// those whose records do not. Formats 1 and 2 are read whole: no record of theirs
    /// can be damaged alone.
    pub fn salvage(&self, file: &VaultFile, selection: Selection) -> Result<Salvaged> {
        match self {
            Opened::Whole {
                plaintext,
                encoding,
            } => Ok(Salvaged {
                vault: parse_whole(file, plaintext, *encoding, selection)?,
                damaged: Vec::new(),
            }),
            Opened::Sealed { root, .. } => {
                let (mut profiles, mut damaged) = (BTreeMap::new(), Vec::new());
                for (name, opened) in self.open_records(file, selection)? {
                    match opened {
                        Ok(plaintext) => {
                            let profile = serde_json::from_slice(&plaintext)
                                .map_err(|_| schema_error(file, &plaintext, ModelEncoding::Json))?;
                            profiles.insert(name.to_owned(), profile);
                        }
                        Err(e) => damaged.push(DamagedRecord {
                            profile: name.to_owned(),
                            detail: e.to_string(),
                        }),
                    }
                }
                Ok(Salvaged {
                    vault: with_profiles(&root.vault, profiles),
                    damaged,
                })
            }
        }
    }

    /// The model with the selected profiles, and (format 3, some profiles) the
    /// others' records to write back untouched. Formats 1 and 2 are read whole, and
    /// a write of the whole vault seals every profile anew, under a new key.
    pub fn select(
        &self,
        file: &VaultFile,
        selection: Selection,
    ) -> Result<(Vault, Option<Kept<'_>>)> {
        match (self, selection) {
            (Opened::Whole { .. }, _) | (_, Selection::All) => {
                Ok((self.model(file, Selection::All)?, None))
            }
            (
                Opened::Sealed {
                    root,
                    key,
                    envelope,
                },
                Selection::Only(_),
            ) => {
                let vault = self.model(file, selection)?;
                let selected = selection.matcher();
                let records = placed(root, |name| !selected(name));
                let kept = Kept {
                    key,
                    envelope,
                    records,
                };
                Ok((vault, Some(kept)))
            }
        }
    }

    /// The model without profiles, and (format 3 and 4) every profile's record but
    /// `dropped`'s to write back untouched, `dropped`'s unread: for removing a profile
    /// whose record does not open. Formats 1 and 2 are read whole. `NoSuchProfile`
    /// when there is no `dropped`.
    pub fn select_all_but(
        &self,
        file: &VaultFile,
        dropped: &str,
    ) -> Result<(Vault, Option<Kept<'_>>)> {
        match self {
            Opened::Whole { .. } => Ok((self.model(file, Selection::All)?, None)),
            Opened::Sealed {
                root,
                key,
                envelope,
            } => {
                if !root.vault.profiles.contains_key(dropped) {
                    return Err(Error::NoSuchProfile(dropped.to_owned()));
                }
                let vault = with_profiles(&root.vault, BTreeMap::new());
                let records = placed(root, |name| name != dropped);
                let kept = Kept {
                    key,
                    envelope,
                    records,
                };
                Ok((vault, Some(kept)))
            }
        }
    }

    /// The whole model as JSON, for the unlock agent to hold, without the profiles
    /// whose records do not open (a command about one of those reads the file and
    /// says why); `None` for format 1, whose TOML it does not read.
    pub fn model_json(&self, file: &VaultFile) -> Result<Option<Zeroizing<String>>> {
        match self {
            Opened::Whole {
                encoding: ModelEncoding::Toml,
                ..
            } => Ok(None),
            Opened::Whole { plaintext, .. } => Ok(std::str::from_utf8(plaintext)
                .ok()
                .map(|text| Zeroizing::new(text.to_owned()))),
            Opened::Sealed { root, .. } => {
                // The records are JSON already: spliced in as they are, not parsed.
                let opened = self.open_records(file, Selection::All)?;
                let mut profiles = BTreeMap::new();
                for (name, plaintext) in &opened {
                    let Ok(plaintext) = plaintext else { continue };
                    let raw: &RawValue = serde_json::from_slice(plaintext)
                        .map_err(|_| schema_error(file, plaintext, ModelEncoding::Json))?;
                    profiles.insert((*name).to_owned(), raw);
                }
                let json = serde_json::to_string(&with_profiles(&root.vault, profiles))
                    .map_err(|e| Error::Other(format!("cannot serialize the vault: {e}")))?;
                Ok(Some(Zeroizing::new(json)))
            }
        }
    }

    /// The decrypted records of the selected profiles of a format 3 vault, by name,
    /// each or why it does not open; an error only when the file cannot be read.
    fn open_records(
        &self,
        file: &VaultFile,
        selection: Selection,
    ) -> Result<Vec<OpenedRecord<'_>>> {
        let Opened::Sealed {
            root,
            key,
            envelope,
        } = self
        else {
            return Ok(Vec::new());
        };
        let chosen = placed(root, selection.matcher());
        let section_len = envelope.records_len();
        let unreadable = |e| Error::Unreadable {
            path: file.path().to_path_buf(),
            source: e,
        };
        let whole = if chosen.len() > READ_ONE_BY_ONE_MAX {
            Some(envelope.read_records(0..section_len).map_err(unreadable)?)
        } else {
            None
        };
        let mut opened = Vec::with_capacity(chosen.len());
        for (name, at) in chosen {
            let range = match at.range(name, section_len) {
                Ok(range) => range,
                Err(e) => {
                    opened.push((name, Err(e)));
                    continue;
                }
            };
            let record = match &whole {
                Some(whole) => {
                    std::borrow::Cow::Borrowed(&whole[range.start as usize..range.end as usize])
                }
                None => envelope.read_records(range).map_err(unreadable)?,
            };
            // Format 4: the record must be the one the index names, not an older one
            // of the same profile that would open just as well.
            let indexed = match at.digest {
                Some(digest) => digest.matches(&record),
                None => root.lineage.is_none(),
            };
            let plaintext = match indexed {
                true => key.open(name, &record),
                false => Err(RecordError::NotIndexed(name.to_owned())),
            };
            opened.push((name, plaintext));
        }
        Ok(opened)
    }
}

/// The profiles of `root` that `wanted` picks, in name order, and where their records
/// are.
fn placed(root: &Root, wanted: impl Fn(&str) -> bool) -> Vec<(&str, RecordRef)> {
    root.vault
        .profiles
        .iter()
        .filter(|(name, _)| wanted(name))
        .map(|(name, &at)| (name.as_str(), at))
        .collect()
}

/// What a format 3 write stores after the header and the age payload.
pub struct Sealed {
    pub root: Zeroizing<Vec<u8>>,
    pub layout: RecordsLayout,
}

impl Sealed {
    /// The records as parts of a write: kept runs (ranges of `previous`, the version
    /// read) and then the records sealed now.
    pub fn record_parts<'a>(&'a self, previous: Option<&Envelope>) -> Vec<Part<'a>> {
        let mut parts: Vec<Part> = match previous {
            Some(previous) => self
                .layout
                .kept_runs()
                .iter()
                .map(|run| Part::Unchanged(previous.stored_range(run.clone())))
                .collect(),
            None => Vec::new(),
        };
        parts.push(Part::New(self.layout.new_records()));
        parts
    }
}

/// What the header of the file being written will say, for the root to vouch for.
pub struct HeaderTerms<'a> {
    pub kdf: KdfParams,
    pub salt: &'a str,
}

/// Seals `vault` as a format 4 root (still to be age-encrypted) and records. The
/// profiles in `vault` are sealed anew; `kept` records are carried over as they are,
/// under their key; without `kept`, a new profile key is drawn, the next of
/// `lineage`. Returns what to write and the version `kept` came from.
pub fn seal<'k>(
    vault: &Vault,
    kept: Option<Kept<'k>>,
    lineage: Option<&Lineage>,
    header: HeaderTerms,
) -> Result<(Sealed, Option<&'k Envelope>)> {
    let fresh;
    let (key, previous, kept_records) = match kept {
        Some(Kept {
            key,
            envelope,
            records,
        }) => (key, Some(envelope), records),
        None => {
            fresh = ProfileKey::generate(Lineage::next(lineage));
            (&fresh, None, Vec::new())
        }
    };
    let mut sealed = Vec::with_capacity(vault.profiles.len());
    for (name, profile) in &vault.profiles {
        let plaintext = Zeroizing::new(serialize(profile)?);
        sealed.push((name.as_str(), key.seal(name, &plaintext)));
    }
    let mut layout = RecordsLayout::new(&kept_records, &sealed).map_err(|name| {
        Error::Other(format!(
            "profile '{name}' was changed without being read: nothing was written"
        ))
    })?;
    let root = Root {
        profile_key: key.to_root_text(),
        lineage: key.lineage().cloned(),
        header: Some(HeaderFacts {
            version: super::format::VERSION,
            memory_kib: header.kdf.memory_kib,
            iterations: header.kdf.iterations,
            parallelism: header.kdf.parallelism,
            salt: header.salt.to_owned(),
            records_bytes: layout.len(),
        }),
        vault: with_profiles(vault, layout.take_placed()),
    };
    let root = Zeroizing::new(serialize(&root)?);
    Ok((Sealed { root, layout }, previous))
}

fn serialize(value: &impl serde::Serialize) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| Error::Other(format!("cannot serialize the vault: {e}")))
}

/// `vault`'s apps and recipients with other profiles.
fn with_profiles<P, Q>(vault: &VaultOf<P>, profiles: BTreeMap<String, Q>) -> VaultOf<Q> {
    VaultOf {
        schema: vault.schema,
        apps: vault.apps.clone(),
        profiles,
        recipients: vault.recipients.clone(),
        passphrase_recipient: vault.passphrase_recipient.clone(),
        audit: vault.audit.clone(),
    }
}

/// Format 4: the plaintext header must say what the root says it said when written
/// (a raised KDF cost, another salt, appended records, a lowered version: tampering).
fn check_header(file: &VaultFile, root: &Root, envelope: &Envelope) -> Result<()> {
    let found = HeaderFacts {
        version: envelope.version,
        memory_kib: envelope.kdf.memory_kib,
        iterations: envelope.kdf.iterations,
        parallelism: envelope.kdf.parallelism,
        salt: envelope.salt.clone(),
        records_bytes: envelope.records_len(),
    };
    match &root.header {
        None if envelope.version < 4 => Ok(()),
        Some(written) if *written == found => Ok(()),
        _ => Err(Error::damaged(
            file.path(),
            "its plaintext header was changed since it was written (format version, KDF settings, salt or lengths are not those the encrypted part vouches for): tampering",
        )),
    }
}

fn record_error(file: &VaultFile, error: RecordError) -> Error {
    Error::damaged(file.path(), error.to_string())
}

fn check_schema(file: &VaultFile, schema: u32) -> Result<()> {
    if schema > model::SCHEMA {
        return Err(Error::NewerVersion {
            path: file.path().to_path_buf(),
            what: "payload schema",
            found: schema,
            known: model::SCHEMA,
        });
    }
    Ok(())
}

/// Why decrypted content does not read as the model. It is authenticated, so this
/// means a newer or broken writer, not an attacker; the messages quote no content,
/// since the parser's own would quote secret values.
fn schema_error(file: &VaultFile, plaintext: &[u8], encoding: ModelEncoding) -> Error {
    #[derive(serde::Deserialize)]
    struct SchemaOnly {
        schema: u32,
    }
    let declared = match encoding {
        ModelEncoding::Toml => std::str::from_utf8(plaintext)
            .ok()
            .and_then(|text| toml::from_str::<SchemaOnly>(text).ok()),
        _ => serde_json::from_slice::<SchemaOnly>(plaintext).ok(),
    };
    match declared {
        Some(only) if only.schema > model::SCHEMA => check_schema(file, only.schema).unwrap_err(),
        _ => Error::damaged(
            file.path(),
            format!(
                "the decrypted payload does not fit schema {}",
                model::SCHEMA
            ),
        ),
    }
}

/// Reads a whole model (formats 1 and 2), or the selected profiles of it.
pub fn parse_whole(
    file: &VaultFile,
    plaintext: &[u8],
    encoding: ModelEncoding,
    selection: Selection,
) -> Result<Vault> {
    let parsed = match (encoding, selection) {
        (ModelEncoding::Toml, _) => std::str::from_utf8(plaintext)
            .ok()
            .and_then(|text| toml::from_str::<Vault>(text).ok())
            .map(|mut vault| {
                let selected = selection.matcher();
                vault.profiles.retain(|name, _| selected(name));
                vault
            }),
        (_, Selection::All) => serde_json::from_slice::<Vault>(plaintext).ok(),
        (_, Selection::Only(names)) => serde_json::from_slice::<VaultOf<&RawValue>>(plaintext)
            .and_then(|raw| raw.with_only(names))
            .ok(),
    };
    let vault = parsed.ok_or_else(|| schema_error(file, plaintext, encoding))?;
    check_schema(file, vault.schema)?;
    Ok(vault)
}
