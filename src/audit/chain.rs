//! The MAC chain: each sealed entry's MAC covers the MAC of the sealed entry before
//! it, every unsealed line written since, and its own exact text, under the audit
//! key held in the vault's encrypted root.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Binds the MAC to this use of the key.
const DOMAIN: &[u8] = b"spvault access log, chain 1\n";
/// What a sealed line ends with: the MAC, inserted before the entry's closing brace.
const MAC_FIELD: &str = r#","mac":""#;
const MAC_HEX_LEN: usize = 64;

pub struct AuditKey([u8; 32]);

impl AuditKey {
    /// The key as the vault holds it (64 hex digits); `None` when it is not one.
    pub fn from_hex(hex: &str) -> Option<AuditKey> {
        let bytes = hex.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut key = [0u8; 32];
        for (i, pair) in bytes.chunks(2).enumerate() {
            let text = std::str::from_utf8(pair).ok()?;
            key[i] = u8::from_str_radix(text, 16).ok()?;
        }
        Some(AuditKey(key))
    }

    /// The MAC of `entry_json` (an entry without its MAC) after `previous` (the last
    /// sealed entry's MAC, empty for the first) and the unsealed lines since.
    pub fn mac(&self, previous: &str, unsealed: &[String], entry_json: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(DOMAIN);
        mac.update(previous.as_bytes());
        mac.update(b"\n");
        for line in unsealed {
            mac.update(line.as_bytes());
            mac.update(b"\n");
        }
        mac.update(entry_json.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Whether `found` is the MAC `mac` would give, compared in constant time.
    pub fn verify(&self, found: &str, previous: &str, unsealed: &[String], json: &str) -> bool {
        let expected = self.mac(previous, unsealed, json);
        bool::from(expected.as_bytes().ct_eq(found.as_bytes()))
    }
}

impl Drop for AuditKey {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// The sealed line: the entry's JSON with its MAC before the closing brace.
pub fn seal_line(entry_json: &str, mac: &str) -> String {
    let body = entry_json.strip_suffix('}').unwrap_or(entry_json);
    format!("{body}{MAC_FIELD}{mac}\"}}")
}

/// A sealed line split into the entry's JSON as it was MACed and the MAC; `None`
/// for a line that carries none (unsealed).
pub fn split_sealed(line: &str) -> Option<(String, &str)> {
    let body = line.strip_suffix("\"}")?;
    let at = body.len().checked_sub(MAC_HEX_LEN + MAC_FIELD.len())?;
    let (json, field) = body.split_at_checked(at)?;
    let mac = field.strip_prefix(MAC_FIELD)?;
    mac.bytes()
        .all(|b| b.is_ascii_hexdigit())
        .then(|| (format!("{json}}}"), mac))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> AuditKey {
        AuditKey::from_hex(&"ab".repeat(32)).unwrap()
    }

    #[test]
    fn a_sealed_line_splits_back_into_what_was_maced() {
        let json = r#"{"seq":1,"event":"token"}"#;
        let mac = key().mac("", &[], json);
        let line = seal_line(json, &mac);
        assert_eq!(
            line,
            format!(r#"{{"seq":1,"event":"token","mac":"{mac}"}}"#)
        );
        let (again, found) = split_sealed(&line).unwrap();
        assert_eq!((again.as_str(), found), (json, mac.as_str()));
        assert!(key().verify(found, "", &[], &again));
        assert!(split_sealed(json).is_none());
    }

    #[test]
    fn the_mac_covers_the_previous_mac_and_the_unsealed_lines() {
        let json = r#"{"seq":3}"#;
        let base = key().mac("aa", &["x".into()], json);
        assert_ne!(base, key().mac("ab", &["x".into()], json));
        assert_ne!(base, key().mac("aa", &[], json));
        assert_ne!(base, key().mac("aa", &["y".into()], json));
        assert!(AuditKey::from_hex("zz").is_none());
    }
}
