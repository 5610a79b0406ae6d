//! The envelope: a small TOML header with the format version, the Argon2id
//! parameters and salt, the lengths of what follows and a SHA-256 checksum, followed
//! by the binary age payload and (formats 3 and 4) the sealed profile records. Format
//! 4 is what spvault writes (the layout of 3; its root vouches for the header and
//! indexes each record's digest); format 3, format 2 (the whole model in the age payload) and format 1
//! (an ASCII-armored payload inside a TOML string, holding a TOML model, closed by the
//! checksum line) are still read, and upgraded by the next write. Specified in
//! docs/vault-format.md.

use std::borrow::Cow;
use std::ops::Range;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::crypto::KdfParams;
use super::store::Stored;

pub const FORMAT: &str = "spvault";
/// The version spvault writes.
pub const VERSION: u32 = 4;
const CHECKSUM_KEY: &str = "sha256 = \"";
/// The longest format 2 header read (spvault writes about 330 bytes).
const MAX_HEADER_BYTES: usize = 4096;

/// How the decrypted payload encodes the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelEncoding {
    /// Format 1.
    Toml,
    /// Format 2: an order of magnitude faster to read and write at 10,000 profiles.
    Json,
    /// Format 3: a JSON root in the age payload, each profile sealed on its own after
    /// it (`records`), so one profile costs the same in a vault of any size.
    Sealed,
}

/// What the plaintext header says, the age payload, and where the sealed records
/// are in the stored version (read only when asked for).
#[derive(Debug)]
pub struct Envelope {
    /// The format version the header says.
    pub version: u32,
    pub kdf: KdfParams,
    pub salt: String,
    pub model: ModelEncoding,
    payload: Vec<u8>,
    stored: Stored,
    records: Range<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("{0}")]
    Damaged(String),
    #[error("format version {0}")]
    NewerVersion(u32),
    #[error(transparent)]
    Unreadable(#[from] std::io::Error),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Header<P> {
    format: String,
    version: u32,
    kdf: KdfHeader,
    payload: P,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KdfHeader {
    algorithm: String,
    argon2_version: u32,
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
    salt: String,
}

/// Format 1's payload table, read whole by the TOML parser.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ArmoredPayload {
    age: String,
    sha256: String,
}

/// The payload table of formats 2 and 3 (which adds the records).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PayloadHeader {
    model: String,
    age_bytes: usize,
    #[serde(default)]
    records_bytes: Option<usize>,
    sha256: String,
}

/// The SHA-256 of the parts, one after the other, in lowercase hex.
fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut digest = Sha256::new();
    for part in parts {
        digest.update(part);
    }
    digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Envelope {
    /// An age file: binary (formats 2 and 3) or ASCII-armored (format 1).
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The length of format 3's sealed profile records (0 in formats 1 and 2).
    pub fn records_len(&self) -> u64 {
        self.records.end - self.records.start
    }

    /// The bytes at `range` of the records.
    pub fn read_records(&self, range: Range<u64>) -> std::io::Result<Cow<'_, [u8]>> {
        if range.end > self.records_len() {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        self.stored.read_at(self.stored_range(range))
    }

    /// Fills `buffer` with the records' bytes from `at` on.
    pub fn read_records_into(&self, at: u64, buffer: &mut [u8]) -> std::io::Result<()> {
        if at.saturating_add(buffer.len() as u64) > self.records_len() {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        self.stored.read_into(self.records.start + at, buffer)
    }

    /// Where `range` of the records is in the stored version.
    pub fn stored_range(&self, range: Range<u64>) -> Range<u64> {
        self.records.start + range.start..self.records.start + range.end
    }

    /// The version this was read from.
    pub fn stored(&self) -> &Stored {
        &self.stored
    }

    /// The header of a format 3 file (through its checksum line) that the age
    /// `payload` and `records_len` bytes of records follow.
    pub fn header(kdf: KdfParams, salt: &str, payload: &[u8], records_len: u64) -> Vec<u8> {
        let header = format!(
            "# spvault vault. Only this header is plaintext; see docs/vault-format.md.\n\
             format = \"{FORMAT}\"\n\
             version = {VERSION}\n\
             \n\
             [kdf]\n\
             algorithm = \"argon2id\"\n\
             argon2_version = 19\n\
             memory_kib = {}\n\
             iterations = {}\n\
             parallelism = {}\n\
             salt = \"{}\"\n\
             \n\
             [payload]\n\
             model = \"json\"\n\
             age_bytes = {}\n\
             records_bytes = {}\n",
            kdf.memory_kib,
            kdf.iterations,
            kdf.parallelism,
            salt,
            payload.len(),
            records_len,
        );
        // Each record is authenticated by its own seal; the checksum covers what tells
        // a damaged file from a wrong passphrase, and is computed without reading the
        // records.
        let checksum = sha256_hex(&[header.as_bytes(), payload]);
        format!("{header}{CHECKSUM_KEY}{checksum}\"\n").into_bytes()
    }

    /// Reads a stored version: its header, and the age payload. Format 3's records
    /// stay where they are until opened.
    pub fn read(stored: Stored) -> Result<Envelope, EnvelopeError> {
        if stored.size() == 0 {
            return Err(EnvelopeError::Damaged("it is empty (0 bytes)".into()));
        }
        // The header of formats 2 and 3 ends at its checksum line; format 1 is text
        // throughout.
        let head = stored
            .read_at(0..stored.size().min(MAX_HEADER_BYTES as u64))?
            .into_owned();
        let head = &head[..];
        let checksum_line = head
            .windows(CHECKSUM_KEY.len() + 1)
            .position(|w| w[0] == b'\n' && &w[1..] == CHECKSUM_KEY.as_bytes())
            .map(|i| i + 1);
        let header_end = checksum_line.and_then(|start| {
            head[start..]
                .iter()
                .position(|&b| b == b'\n')
                .map(|end| start + end + 1)
        });
        match (checksum_line, header_end) {
            (Some(checksum_line), Some(header_end)) if !is_format_1(&head[..checksum_line]) => {
                Self::parse_binary(head, stored, checksum_line, header_end)
            }
            _ => Self::parse_v1(stored.into_bytes()?),
        }
    }

    /// Formats 2 and 3: the header is read by the TOML parser, the rest by position.
    fn parse_binary(
        head: &[u8],
        stored: Stored,
        checksum_line: usize,
        header_end: usize,
    ) -> Result<Envelope, EnvelopeError> {
        let damaged = |what: &str| EnvelopeError::Damaged(what.to_owned());
        let text = std::str::from_utf8(&head[..header_end])
            .map_err(|_| damaged("its header is not text"))?;
        let header: Header<PayloadHeader> = parse_header(text)?;
        // Formats 3 and 4 share the layout (4 adds to what is encrypted).
        let (version, model) = match header.payload.records_bytes {
            Some(_) if header.version == 4 => (4, ModelEncoding::Sealed),
            Some(_) => (3, ModelEncoding::Sealed),
            None => (2, ModelEncoding::Json),
        };
        check_format(&header.format, header.version, version)?;
        let records_bytes = header.payload.records_bytes.unwrap_or(0) as u64;
        let payload_start = header_end as u64;
        let payload_end = payload_start.saturating_add(header.payload.age_bytes as u64);
        let records = payload_end..payload_end.saturating_add(records_bytes);
        if records.end != stored.size() {
            return Err(damaged(
                "its payload is not as long as its header says (truncated or appended to)",
            ));
        }
        let payload = stored.read_at(payload_start..payload_end)?.into_owned();
        if sha256_hex(&[&head[..checksum_line], &payload]) != header.payload.sha256 {
            return Err(damaged(
                "its checksum does not match (changed or truncated)",
            ));
        }
        if header.payload.model != "json" {
            return Err(damaged("its payload model is not json"));
        }
        let (kdf, salt) = check_kdf(header.kdf)?;
        Ok(Envelope {
            version,
            kdf,
            salt,
            model,
            payload,
            stored,
            records,
        })
    }

    /// Format 1, as earlier spvault wrote it: text, closed by the checksum line.
    fn parse_v1(bytes: Vec<u8>) -> Result<Envelope, EnvelopeError> {
        let damaged = |what: &str| EnvelopeError::Damaged(what.to_owned());
        let text = std::str::from_utf8(&bytes).map_err(|_| damaged("it is not text"))?;
        let body_end = text
            .trim_end_matches('\n')
            .rfind('\n')
            .map(|i| i + 1)
            .filter(|&i| text[i..].starts_with(CHECKSUM_KEY))
            .ok_or_else(|| damaged("its last line is not the sha256 checksum"))?;
        let header: Header<ArmoredPayload> = parse_header(text)?;
        check_format(&header.format, header.version, 1)?;
        if sha256_hex(&[&text.as_bytes()[..body_end]]) != header.payload.sha256 {
            return Err(EnvelopeError::Damaged(
                "its checksum does not match (changed or truncated)".into(),
            ));
        }
        let (kdf, salt) = check_kdf(header.kdf)?;
        Ok(Envelope {
            version: 1,
            kdf,
            salt,
            model: ModelEncoding::Toml,
            payload: header.payload.age.into_bytes(),
            stored: Stored::from_bytes(Vec::new()),
            records: 0..0,
        })
    }
}

/// Format 1 keeps its payload in the header's TOML (`age = """`), before the checksum.
fn is_format_1(header: &[u8]) -> bool {
    header.windows(9).any(|w| w == b"age = \"\"\"")
}

fn parse_header<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, EnvelopeError> {
    // The parser's own messages can quote the file's lines; point at a place instead,
    // in case the path named some other file full of secrets.
    toml::from_str(text).map_err(|e| {
        let at = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
        EnvelopeError::Damaged(format!("it is not a valid vault envelope (near line {at})"))
    })
}

/// Refuses another format, and names a newer version; `expected` is the version the
/// layout found was written by.
fn check_format(format: &str, version: u32, expected: u32) -> Result<(), EnvelopeError> {
    if format != FORMAT {
        return Err(EnvelopeError::Damaged(
            "it is not an spvault vault (no format = \"spvault\")".into(),
        ));
    }
    if version > VERSION {
        return Err(EnvelopeError::NewerVersion(version));
    }
    if version != expected {
        return Err(EnvelopeError::Damaged(
            "its format version does not match its layout".into(),
        ));
    }
    Ok(())
}

fn check_kdf(header: KdfHeader) -> Result<(KdfParams, String), EnvelopeError> {
    if header.algorithm != "argon2id" || header.argon2_version != 19 {
        return Err(EnvelopeError::Damaged(
            "its KDF is not Argon2id version 19".into(),
        ));
    }
    let kdf = KdfParams {
        memory_kib: header.memory_kib,
        iterations: header.iterations,
        parallelism: header.parallelism,
    };
    kdf.check_bounds()
        .map_err(|e| EnvelopeError::Damaged(e.to_string()))?;
    let salt = header.salt;
    if salt.len() < 16 || salt.len() > 128 || !salt.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(EnvelopeError::Damaged(
            "its salt is not 16 to 128 printable characters".into(),
        ));
    }
    Ok((kdf, salt))
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const SALT: &str = "0123456789abcdef0123456789abcdef";
    const PAYLOAD: &[u8] = b"age-encryption.org/v1\n-> X25519 binary \x00\xff\nsha256 = \"";
    const RECORDS: &[u8] = b"\x01\x02records\n";

    fn sample() -> Vec<u8> {
        let header = Envelope::header(KdfParams::DEFAULT, SALT, PAYLOAD, RECORDS.len() as u64);
        [&header[..], PAYLOAD, RECORDS].concat()
    }

    fn parse(bytes: Vec<u8>) -> Result<Envelope, EnvelopeError> {
        Envelope::read(Stored::from_bytes(bytes))
    }

    #[test]
    fn bytes_round_trip_and_the_header_is_toml() {
        let bytes = sample();
        let envelope = parse(bytes.clone()).unwrap();
        assert_eq!(
            (envelope.kdf, envelope.salt.as_str(), envelope.model),
            (KdfParams::DEFAULT, SALT, ModelEncoding::Sealed)
        );
        let records = envelope.read_records(0..envelope.records_len()).unwrap();
        assert_eq!((envelope.payload(), &records[..]), (PAYLOAD, RECORDS));
        assert!(
            envelope
                .read_records(0..envelope.records_len() + 1)
                .is_err()
        );
        let header_end = bytes.len() - PAYLOAD.len() - RECORDS.len();
        let header: toml::Table =
            toml::from_str(std::str::from_utf8(&bytes[..header_end]).unwrap()).unwrap();
        assert_eq!(header["version"].as_integer(), Some(4));
        assert_eq!(
            header["payload"]["age_bytes"].as_integer(),
            Some(PAYLOAD.len() as i64)
        );
        assert_eq!(
            header["payload"]["records_bytes"].as_integer(),
            Some(RECORDS.len() as i64)
        );
    }

    /// The records are authenticated one by one when opened (vault::records); the
    /// envelope catches every change to the rest, and any change of length.
    #[test]
    fn any_changed_byte_before_the_records_is_caught() {
        let bytes = sample();
        let records_start = bytes.len() - RECORDS.len();
        for i in 0..records_start {
            let mut damaged = bytes.clone();
            damaged[i] ^= 0x01;
            assert!(parse(damaged).is_err(), "byte {i} flipped went unnoticed");
        }
        for len in 0..bytes.len() {
            assert!(parse(bytes[..len].to_vec()).is_err(), "truncated to {len}");
        }
        let mut longer = bytes.clone();
        longer.push(b'\n');
        assert!(parse(longer).is_err(), "appended to");
    }

    #[test]
    fn newer_versions_are_named() {
        let text = String::from_utf8_lossy(&sample()).into_owned();
        let newer = text.replace("version = 4\n", "version = 5\n");
        // The checksum no longer matches, but the version is looked at first.
        assert!(matches!(
            parse(newer.into_bytes()),
            Err(EnvelopeError::NewerVersion(5))
        ));
    }

    #[test]
    fn a_version_that_does_not_fit_the_layout_is_damage() {
        let text = String::from_utf8_lossy(&sample()).into_owned();
        let claims_2 = text.replace("version = 4\n", "version = 2\n");
        assert!(matches!(
            parse(claims_2.into_bytes()),
            Err(EnvelopeError::Damaged(_))
        ));
    }

    #[test]
    fn format_2_files_are_still_read() {
        let v2 = include_bytes!("../../tests/fixtures/vault-v2.toml");
        let envelope = parse(v2.to_vec()).unwrap();
        assert_eq!(envelope.model, ModelEncoding::Json);
        assert!(envelope.payload().starts_with(b"age-encryption.org/v1\n"));
        assert_eq!(envelope.records_len(), 0);
        let mut damaged = v2.to_vec();
        damaged[v2.len() - 10] ^= 0x01;
        assert!(parse(damaged).is_err());
    }

    #[test]
    fn format_1_files_are_still_read() {
        let v1 = include_bytes!("../../tests/fixtures/vault-v1.toml");
        let envelope = parse(v1.to_vec()).unwrap();
        assert_eq!(envelope.model, ModelEncoding::Toml);
        assert!(
            envelope
                .payload()
                .starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----")
        );
        let mut damaged = v1.to_vec();
        damaged[400] ^= 0x01;
        assert!(parse(damaged).is_err());
    }
}
