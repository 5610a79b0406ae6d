//! The envelope: a small TOML header with the format version, the Argon2id
//! parameters and salt, the payload's length and a SHA-256 checksum, followed by the
//! binary age payload. Format 2 is what spvault writes; format 1 (an ASCII-armored
//! payload inside a TOML string, holding a TOML model, closed by the checksum line) is
//! still read, and is upgraded by the next write. Specified in docs/vault-format.md.

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::crypto::KdfParams;

pub const FORMAT: &str = "spvault";
/// The version spvault writes.
pub const VERSION: u32 = 2;
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
}

/// What the plaintext header says, and the still-encrypted payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub kdf: KdfParams,
    pub salt: String,
    /// An age file: binary (format 2) or ASCII-armored (format 1).
    pub payload: Vec<u8>,
    pub model: ModelEncoding,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EnvelopeError {
    #[error("{0}")]
    Damaged(String),
    #[error("format version {0}")]
    NewerVersion(u32),
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

/// Format 2's payload table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PayloadHeader {
    model: String,
    age_bytes: usize,
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
    /// The file's bytes, in format 2.
    pub fn to_bytes(&self) -> Vec<u8> {
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
             age_bytes = {}\n",
            self.kdf.memory_kib,
            self.kdf.iterations,
            self.kdf.parallelism,
            self.salt,
            self.payload.len(),
        );
        let checksum = sha256_hex(&[header.as_bytes(), &self.payload]);
        let mut bytes = Vec::with_capacity(header.len() + 80 + self.payload.len());
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(format!("{CHECKSUM_KEY}{checksum}\"\n").as_bytes());
        bytes.extend_from_slice(&self.payload);
        bytes
    }

    /// Reads a vault file's bytes, taking them over: the payload stays where it is.
    pub fn parse(bytes: Vec<u8>) -> Result<Envelope, EnvelopeError> {
        // Format 2's header ends at its checksum line; format 1 is text throughout.
        let head = &bytes[..bytes.len().min(MAX_HEADER_BYTES)];
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
                Self::parse_v2(bytes, checksum_line, header_end)
            }
            _ => Self::parse_v1(&bytes),
        }
    }

    /// Format 2: the header is read by the TOML parser, the payload by position.
    fn parse_v2(
        mut bytes: Vec<u8>,
        checksum_line: usize,
        header_end: usize,
    ) -> Result<Envelope, EnvelopeError> {
        let damaged = |what: &str| EnvelopeError::Damaged(what.to_owned());
        let text = std::str::from_utf8(&bytes[..header_end])
            .map_err(|_| damaged("its header is not text"))?;
        let header: Header<PayloadHeader> = parse_header(text)?;
        check_format(&header.format, header.version, VERSION)?;
        let payload = &bytes[header_end..];
        if payload.len() != header.payload.age_bytes {
            return Err(damaged(
                "its payload is not as long as its header says (truncated or appended to)",
            ));
        }
        if sha256_hex(&[&bytes[..checksum_line], payload]) != header.payload.sha256 {
            return Err(damaged(
                "its checksum does not match (changed or truncated)",
            ));
        }
        if header.payload.model != "json" {
            return Err(damaged("its payload model is not json"));
        }
        let (kdf, salt) = check_kdf(header.kdf)?;
        bytes.drain(..header_end);
        Ok(Envelope {
            kdf,
            salt,
            payload: bytes,
            model: ModelEncoding::Json,
        })
    }

    /// Format 1, as earlier spvault wrote it: text, closed by the checksum line.
    fn parse_v1(bytes: &[u8]) -> Result<Envelope, EnvelopeError> {
        let damaged = |what: &str| EnvelopeError::Damaged(what.to_owned());
        let text = std::str::from_utf8(bytes).map_err(|_| damaged("it is not text"))?;
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
            kdf,
            salt,
            payload: header.payload.age.into_bytes(),
            model: ModelEncoding::Toml,
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
    kdf.check_bounds().map_err(EnvelopeError::Damaged)?;
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

    fn sample() -> Envelope {
        Envelope {
            kdf: KdfParams::DEFAULT,
            salt: "0123456789abcdef0123456789abcdef".into(),
            payload: b"age-encryption.org/v1\n-> X25519 binary \x00\xff\nsha256 = \"".to_vec(),
            model: ModelEncoding::Json,
        }
    }

    #[test]
    fn bytes_round_trip_and_the_header_is_toml() {
        let bytes = sample().to_bytes();
        assert_eq!(Envelope::parse(bytes.clone()).unwrap(), sample());
        let header_end = bytes.len() - sample().payload.len();
        let header: toml::Table =
            toml::from_str(std::str::from_utf8(&bytes[..header_end]).unwrap()).unwrap();
        assert_eq!(header["version"].as_integer(), Some(2));
        assert_eq!(
            header["payload"]["age_bytes"].as_integer(),
            Some(sample().payload.len() as i64)
        );
    }

    #[test]
    fn any_changed_byte_is_caught() {
        let text = sample().to_bytes();
        for i in 0..text.len() {
            let mut damaged = text.clone();
            damaged[i] ^= 0x01;
            assert!(
                Envelope::parse(damaged).is_err(),
                "byte {i} flipped went unnoticed"
            );
        }
        for len in 0..text.len() {
            assert!(
                Envelope::parse(text[..len].to_vec()).is_err(),
                "truncated to {len}"
            );
        }
        let mut longer = text.clone();
        longer.push(b'\n');
        assert!(Envelope::parse(longer).is_err(), "appended to");
    }

    #[test]
    fn newer_versions_are_named() {
        let text = String::from_utf8_lossy(&sample().to_bytes()).into_owned();
        let newer = text.replace("version = 2\n", "version = 3\n");
        // The checksum no longer matches, but the version is looked at first.
        assert_eq!(
            Envelope::parse(newer.into_bytes()),
            Err(EnvelopeError::NewerVersion(3))
        );
    }

    #[test]
    fn format_1_files_are_still_read() {
        let v1 = include_bytes!("../../tests/fixtures/vault-v1.toml");
        let envelope = Envelope::parse(v1.to_vec()).unwrap();
        assert_eq!(envelope.model, ModelEncoding::Toml);
        assert!(
            envelope
                .payload
                .starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----")
        );
        let mut damaged = v1.to_vec();
        damaged[400] ^= 0x01;
        assert!(Envelope::parse(damaged).is_err());
    }
}
