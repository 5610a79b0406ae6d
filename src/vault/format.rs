//! The envelope: a small TOML text with the format version and the Argon2id
//! parameters and salt around an ASCII-armored age payload, closed by a SHA-256
//! checksum line. Specified in docs/vault-format.md.

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::crypto::KdfParams;

pub const FORMAT: &str = "spvault";
pub const VERSION: u32 = 1;
const CHECKSUM_KEY: &str = "sha256 = \"";

/// What the plaintext header says, and the still-encrypted payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub kdf: KdfParams,
    pub salt: String,
    pub payload: String,
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
struct Header {
    format: String,
    version: u32,
    kdf: KdfHeader,
    payload: PayloadHeader,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PayloadHeader {
    age: String,
    sha256: String,
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Envelope {
    pub fn to_text(&self) -> String {
        let body = format!(
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
             age = \"\"\"\n{}\"\"\"\n",
            self.kdf.memory_kib,
            self.kdf.iterations,
            self.kdf.parallelism,
            self.salt,
            self.payload.trim_end_matches('\n').to_owned() + "\n",
        );
        let checksum = sha256_hex(body.as_bytes());
        format!("{body}{CHECKSUM_KEY}{checksum}\"\n")
    }

    pub fn parse(bytes: &[u8]) -> Result<Envelope, EnvelopeError> {
        let damaged = |what: &str| EnvelopeError::Damaged(what.to_owned());
        let text = std::str::from_utf8(bytes).map_err(|_| damaged("it is not text"))?;
        // The parser's own messages can quote the file's lines; point at a place instead,
        // in case the path named some other file full of secrets.
        let header: Header = toml::from_str(text).map_err(|e| {
            let at = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
            EnvelopeError::Damaged(format!("it is not a valid vault envelope (near line {at})"))
        })?;
        if header.format != FORMAT {
            return Err(damaged(
                "it is not an spvault vault (no format = \"spvault\")",
            ));
        }
        if header.version > VERSION {
            return Err(EnvelopeError::NewerVersion(header.version));
        }
        if header.version != VERSION {
            return Err(damaged("its format version is not one spvault ever wrote"));
        }
        let body_end = text
            .trim_end_matches('\n')
            .rfind('\n')
            .map(|i| i + 1)
            .filter(|&i| text[i..].starts_with(CHECKSUM_KEY))
            .ok_or_else(|| damaged("its last line is not the sha256 checksum"))?;
        if sha256_hex(&bytes[..body_end]) != header.payload.sha256 {
            return Err(damaged(
                "its checksum does not match (changed or truncated)",
            ));
        }
        let kdf_header = header.kdf;
        if kdf_header.algorithm != "argon2id" || kdf_header.argon2_version != 19 {
            return Err(damaged("its KDF is not Argon2id version 19"));
        }
        let kdf = KdfParams {
            memory_kib: kdf_header.memory_kib,
            iterations: kdf_header.iterations,
            parallelism: kdf_header.parallelism,
        };
        kdf.check_bounds().map_err(EnvelopeError::Damaged)?;
        let salt = kdf_header.salt;
        if salt.len() < 16 || salt.len() > 128 || !salt.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(damaged("its salt is not 16 to 128 printable characters"));
        }
        Ok(Envelope {
            kdf,
            salt,
            payload: header.payload.age,
        })
    }
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
            payload: "-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n"
                .into(),
        }
    }

    #[test]
    fn text_round_trips() {
        let text = sample().to_text();
        assert_eq!(Envelope::parse(text.as_bytes()).unwrap(), sample());
    }

    #[test]
    fn any_changed_byte_is_caught() {
        let text = sample().to_text().into_bytes();
        for i in 0..text.len() {
            let mut damaged = text.clone();
            damaged[i] ^= 0x01;
            assert!(
                Envelope::parse(&damaged).is_err(),
                "byte {i} flipped went unnoticed"
            );
        }
        // Only the final newline may go: the checksum line is complete without it.
        for len in 0..text.len() - 1 {
            assert!(Envelope::parse(&text[..len]).is_err(), "truncated to {len}");
        }
    }

    #[test]
    fn newer_versions_are_named() {
        let text = sample().to_text().replace("version = 1\n", "version = 2\n");
        assert_eq!(
            Envelope::parse(text.as_bytes()),
            Err(EnvelopeError::NewerVersion(2))
        );
    }
}
