//! Keeping the encrypted envelope in an OpenBao (or HashiCorp Vault) KV v2 secret
//! instead of a local file. OpenBao only ever sees the envelope, never plaintext.
//! Concurrent writers use KV v2 check-and-set on the secret's version.

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;
use url::Url;

use super::store::{Store, Version, WriteLock};
use crate::error::{Error, Result};
use crate::http;
use crate::secret::Secret;
use crate::settings::Settings;

const MAX_BODY_BYTES: usize = 300 * 1024 * 1024;

/// Where the envelope lives: `bao://HOST:PORT/MOUNT/PATH` (HTTPS) or
/// `bao+http://HOST:PORT/MOUNT/PATH` (plain HTTP, loopback hosts only).
#[derive(Debug, Clone)]
pub struct BaoStore {
    spec: String,
    api: Url,
    mount: String,
    path: String,
    token: Secret,
    ca_cert: Option<PathBuf>,
    timeout: std::time::Duration,
}

#[derive(Deserialize)]
struct ReadBody {
    data: ReadData,
}

#[derive(Deserialize)]
struct ReadData {
    data: Option<Envelope>,
    metadata: Metadata,
}

/// The secret's data: the vault file's bytes as base64 (`envelope_base64`), or as the
/// text itself (`envelope`, as spvault wrote format 1 vaults).
#[derive(Deserialize)]
struct Envelope {
    envelope: Option<String>,
    envelope_base64: Option<String>,
}

impl Envelope {
    fn bytes(self) -> Option<Vec<u8>> {
        match (self.envelope_base64, self.envelope) {
            (Some(encoded), _) => BASE64.decode(encoded).ok(),
            (None, Some(text)) => Some(text.into_bytes()),
            (None, None) => None,
        }
    }
}

#[derive(Deserialize)]
struct Metadata {
    version: u64,
}

/// Whether a spec names an OpenBao store rather than a file.
pub fn is_store_spec(spec: &str) -> bool {
    spec.starts_with("bao://") || spec.starts_with("bao+http://")
}

impl BaoStore {
    /// The store `spec` names, with the token, CA and timeout from `settings`.
    pub fn parse(spec: &str, settings: &Settings) -> Result<Self> {
        let invalid = |why: &str| {
            Error::Invalid(format!("--store {spec}: {why}"))
                .with_hint("use bao://HOST:PORT/MOUNT/PATH")
        };
        let (scheme, rest) = spec.split_once("://").ok_or_else(|| invalid("no scheme"))?;
        let http_scheme = match scheme {
            "bao" => "https",
            "bao+http" => "http",
            _ => return Err(invalid("the scheme must be bao or bao+http")),
        };
        let (authority, location) = rest
            .split_once('/')
            .ok_or_else(|| invalid("no mount and path"))?;
        let api =
            Url::parse(&format!("{http_scheme}://{authority}")).map_err(|_| invalid("bad host"))?;
        if http_scheme == "http" && !crate::net::is_loopback_http(&api) {
            return Err(invalid(
                "bao+http:// (no TLS) is allowed only for loopback hosts",
            ));
        }
        let (mount, path) = location
            .split_once('/')
            .ok_or_else(|| invalid("no path after the mount"))?;
        let path = path.trim_matches('/');
        if mount.is_empty() || path.is_empty() {
            return Err(invalid("empty mount or path"));
        }
        Ok(BaoStore {
            spec: spec.to_owned(),
            api,
            mount: mount.to_owned(),
            path: path.to_owned(),
            token: settings.bao_token()?,
            ca_cert: settings.ca_cert.clone(),
            timeout: settings.network()?.request_timeout,
        })
    }

    pub fn spec(&self) -> &str {
        &self.spec
    }

    fn data_url(&self) -> Url {
        let mut url = self.api.clone();
        url.set_path(&format!("/v1/{}/data/{}", self.mount, self.path));
        url
    }

    fn client(&self) -> Result<reqwest::Client> {
        let root = match &self.ca_cert {
            Some(path) => {
                let pem = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
                Some(reqwest::Certificate::from_pem(&pem).map_err(|e| {
                    Error::Invalid(format!(
                        "--ca-cert {}: not a PEM certificate ({e})",
                        path.display()
                    ))
                })?)
            }
            None => None,
        };
        http::client_with_root(&self.api, self.timeout, root).map_err(Error::Other)
    }

    fn unreachable(&self, detail: String) -> Error {
        Error::StoreUnreachable {
            store: self.spec.clone(),
            detail,
        }
    }

    /// Turns an answer that is not success into the error the user should see.
    fn refused(&self, status: reqwest::StatusCode, body: &[u8]) -> Error {
        let detail = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| {
                v["errors"].as_array().map(|e| {
                    e.iter()
                        .filter_map(|x| x.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                })
            })
            .map(|d| http::sanitize(&d, &[self.token.expose()]))
            .unwrap_or_default();
        match status.as_u16() {
            401 | 403 => Error::StoreCredentials(format!(
                "OpenBao refused the token for {} (HTTP {status})",
                self.spec
            ))
            .with_hint(format!(
                "check BAO_TOKEN and its policy (read and write on {}/data/{})",
                self.mount, self.path
            )),
            code if code >= 500 => self.unreachable(format!("HTTP {code} {detail}")),
            code => Error::Other(format!(
                "OpenBao answered HTTP {code} for {}: {detail}",
                self.spec
            )),
        }
    }
}

impl Store for BaoStore {
    /// The envelope and the secret's current version (0 when it was never written).
    fn read(&self) -> Result<(Option<Vec<u8>>, Version)> {
        let client = self.client()?;
        let url = self.data_url();
        let runtime = http::runtime().map_err(Error::Other)?;
        runtime.block_on(async {
            let response = client
                .get(url)
                .header("X-Vault-Token", self.token.expose())
                .send()
                .await
                .map_err(|e| self.unreachable(http::describe_transport(&e)))?;
            let status = response.status();
            let body = http::read_bounded(response, MAX_BODY_BYTES)
                .await
                .map_err(|e| self.unreachable(e))?;
            if status == reqwest::StatusCode::NOT_FOUND {
                // A deleted secret still has a version, which the next write must name.
                let version = serde_json::from_slice::<ReadBody>(&body)
                    .map(|b| b.data.metadata.version)
                    .unwrap_or(0);
                return Ok((None, Version(version)));
            }
            if !status.is_success() {
                return Err(self.refused(status, &body));
            }
            let no_envelope = || {
                Error::damaged(
                    PathBuf::from(&self.spec),
                    "the OpenBao secret holds no spvault envelope",
                )
            };
            let parsed: ReadBody = serde_json::from_slice(&body).map_err(|_| no_envelope())?;
            let bytes = match parsed.data.data {
                Some(data) => Some(data.bytes().ok_or_else(no_envelope)?),
                None => None,
            };
            Ok((bytes, Version(parsed.data.metadata.version)))
        })
    }

    /// Check-and-set does what a lock does for a file.
    fn lock(&self) -> Result<WriteLock> {
        Ok(WriteLock::none())
    }

    /// Writes the envelope if the secret is still at `version` (check-and-set).
    fn write(&self, bytes: &[u8], _lock: &WriteLock, version: Version) -> Result<()> {
        let body = serde_json::json!({
            "options": {"cas": version.0},
            "data": {"envelope_base64": BASE64.encode(bytes)}
        });
        let client = self.client()?;
        let url = self.data_url();
        let runtime = http::runtime().map_err(Error::Other)?;
        runtime.block_on(async {
            let response = client
                .post(url)
                .header("X-Vault-Token", self.token.expose())
                .json(&body)
                .send()
                .await
                .map_err(|e| self.unreachable(http::describe_transport(&e)))?;
            let status = response.status();
            let answer = http::read_bounded(response, 64 * 1024)
                .await
                .map_err(|e| self.unreachable(e))?;
            if status.is_success() {
                return Ok(());
            }
            if status == reqwest::StatusCode::BAD_REQUEST
                && String::from_utf8_lossy(&answer).contains("check-and-set")
            {
                return Err(Error::WriteConflict);
            }
            Err(self.refused(status, &answer))
        })
    }

    fn variable(&self) -> &'static str {
        crate::settings::STORE_VAR
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_name_host_mount_and_path() {
        // SAFETY: tests in this module set the variable before any thread reads it.
        unsafe { std::env::set_var("BAO_TOKEN", "t") };
        let settings = Settings::default();
        let store =
            BaoStore::parse("bao://bao.example.com:8200/secret/team/spvault", &settings).unwrap();
        assert_eq!(
            store.data_url().as_str(),
            "https://bao.example.com:8200/v1/secret/data/team/spvault"
        );
        let local = BaoStore::parse("bao+http://127.0.0.1:8200/kv/v", &settings).unwrap();
        assert_eq!(
            local.data_url().as_str(),
            "http://127.0.0.1:8200/v1/kv/data/v"
        );
        for bad in [
            "bao+http://bao.example.com:8200/secret/x",
            "bao://host/secret",
            "vault://h/s/p",
            "bao://h:1/secret/",
        ] {
            assert!(BaoStore::parse(bad, &settings).is_err(), "{bad}");
        }
    }
}
