//! Rules for addresses the user may point spvault at.

use url::{Host, Url};

use crate::error::{Error, Result};

/// Whether the address is plain `http://` to a loopback host, the only place
/// unencrypted HTTP is allowed (local listeners and test stand-ins).
pub fn is_loopback_http(url: &Url) -> bool {
    url.scheme() == "http" && is_loopback(url)
}

/// Whether the address's host is this machine: 127.0.0.0/8, [::1] or localhost.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Parses an address given by an environment variable such as `SPVAULT_LWA_TOKEN_URL`:
/// `https://`, or `http://` only for loopback hosts.
pub fn parse_secure_url(variable: &str, value: &str) -> Result<Url> {
    let url = Url::parse(value)
        .map_err(|e| Error::Invalid(format!("{variable} is not a valid address: {e}")))?;
    if url.scheme() == "https" || is_loopback_http(&url) {
        Ok(url)
    } else {
        Err(Error::Invalid(format!(
            "{variable} must use https:// (plain http:// is allowed only for 127.0.0.1, [::1] or localhost)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_for_loopback() {
        for ok in [
            "https://api.amazon.com/auth/o2/token",
            "http://127.0.0.1:9/x",
            "http://localhost:1/",
            "http://[::1]:8/",
        ] {
            assert!(parse_secure_url("V", ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://api.amazon.com/",
            "http://10.0.0.1/",
            "ftp://127.0.0.1/",
            "not a url",
        ] {
            assert!(parse_secure_url("V", bad).is_err(), "{bad}");
        }
    }
}
