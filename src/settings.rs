//! Where flags, environment and defaults meet: the one module that reads spvault's
//! variables. Each part is resolved when a command asks for it, so `completions`,
//! `man` and `identity new` never look for a vault, and a store or network setting
//! they do not need (an OpenBao spec without a token, a bad timeout) cannot fail them.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::error::{Error, Result};
use crate::secret::Secret;

pub const FILE_VAR: &str = "SPVAULT_FILE";
pub const STORE_VAR: &str = "SPVAULT_STORE";
pub const IDENTITY_FILE_VAR: &str = "SPVAULT_IDENTITY_FILE";
pub const PASSPHRASE_FILE_VAR: &str = "SPVAULT_PASSPHRASE_FILE";
pub const PASSPHRASE_COMMAND_VAR: &str = "SPVAULT_PASSPHRASE_COMMAND";
pub const PASSPHRASE_VAR: &str = "SPVAULT_PASSPHRASE";
pub const NEW_PASSPHRASE_VAR: &str = "SPVAULT_NEW_PASSPHRASE";
pub const HTTP_TIMEOUT_VAR: &str = "SPVAULT_HTTP_TIMEOUT";
/// The longest one operation with a server may take, over all its retries.
pub const NETWORK_TIMEOUT_VAR: &str = "SPVAULT_NETWORK_TIMEOUT";
pub const LWA_TOKEN_URL_VAR: &str = "SPVAULT_LWA_TOKEN_URL";
pub const CONSENT_BASE_URL_VAR: &str = "SPVAULT_CONSENT_BASE_URL";
pub const SPAPI_URL_VAR: &str = "SPVAULT_SPAPI_URL";
pub const SPAPI_SANDBOX_URL_VAR: &str = "SPVAULT_SPAPI_SANDBOX_URL";
pub const BAO_TOKEN_FILE_VAR: &str = "SPVAULT_BAO_TOKEN_FILE";
/// Where the access log is written instead of beside the vault file.
pub const AUDIT_LOG_VAR: &str = "SPVAULT_AUDIT_LOG";

/// `SPVAULT_AUDIT_LOG`, when set and not empty.
pub fn audit_log_override() -> Option<std::path::PathBuf> {
    std::env::var_os(AUDIT_LOG_VAR)
        .filter(|value| !value.is_empty())
        .map(std::path::PathBuf::from)
}
/// OpenBao's own token variables (and HashiCorp Vault's, which OpenBao also reads).
pub const BAO_TOKEN_VARS: [&str; 2] = ["BAO_TOKEN", "VAULT_TOKEN"];

/// The variables that open the vault or its store. spvault never hands them to a
/// program it starts (`exec`'s command, the browser of `login`): with them, that
/// program could read every profile, not just the one it was given.
const UNLOCKING_VARS: [&str; 3] = [NEW_PASSPHRASE_VAR, IDENTITY_FILE_VAR, BAO_TOKEN_FILE_VAR];

/// Whether `name` is one of the variables that open the vault or its store:
/// `SPVAULT_PASSPHRASE*` (the passphrase, its file and its command), the new
/// passphrase, the identity file, and the OpenBao tokens.
fn is_unlocking_var(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with(PASSPHRASE_VAR)
        || UNLOCKING_VARS.contains(&name.as_ref())
        || BAO_TOKEN_VARS.contains(&name.as_ref())
}

/// Takes the unlocking variables of this process out of `command`'s environment,
/// except those named in `keep`.
pub fn withhold_unlocking_vars(command: &mut std::process::Command, keep: &[String]) {
    for (name, _) in std::env::vars_os() {
        if is_unlocking_var(&name) && !keep.iter().any(|kept| name == kept.as_str()) {
            command.env_remove(&name);
        }
    }
}

/// The global flags, as given; the rest is read from the environment on demand.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub store: Option<String>,
    pub vault: Option<PathBuf>,
    pub ca_cert: Option<PathBuf>,
    pub identity: Option<PathBuf>,
}

/// Which vault: a store spec, or a file (`None`: the platform's default).
#[derive(Debug, Clone, PartialEq)]
pub enum VaultLocation {
    Store(String),
    File(Option<PathBuf>),
}

/// How long network calls may take, and where Amazon's services are unless tests
/// or a proxy point spvault elsewhere (`None`: Amazon's own).
#[derive(Debug, Clone)]
pub struct Network {
    pub request_timeout: Duration,
    /// Over all retries of one operation; `None`: each operation's default.
    pub deadline: Option<Duration>,
    pub lwa_token_url: Option<Url>,
    pub consent_base_url: Option<Url>,
    pub spapi_url: Option<Url>,
    pub spapi_sandbox_url: Option<Url>,
}

impl Default for Network {
    fn default() -> Self {
        Network {
            request_timeout: Duration::from_secs(30),
            deadline: None,
            lwa_token_url: None,
            consent_base_url: None,
            spapi_url: None,
            spapi_sandbox_url: None,
        }
    }
}

/// Where a passphrase may come from besides the terminal, first set wins. The file
/// and the command are read and run only when a passphrase is needed.
#[derive(Clone, Default)]
pub struct PassphraseSources {
    pub file: Option<PathBuf>,
    pub command: Option<OsString>,
    pub value: Option<Secret>,
    /// `passwd`'s new passphrase.
    pub new_value: Option<Secret>,
}

/// Says which sources are set, never what they hold: a command line such as
/// `echo …` can hold the passphrase itself.
impl std::fmt::Debug for PassphraseSources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PassphraseSources")
            .field("file", &self.file)
            .field("command", &self.command.as_ref().map(|_| "[set]"))
            .field("value", &self.value)
            .field("new_value", &self.new_value)
            .finish()
    }
}

impl Settings {
    /// `--store`, else `--vault`, else `SPVAULT_STORE`, else `SPVAULT_FILE`, else the
    /// platform's default file. A flag beats a variable: `--vault` wins over an
    /// exported `SPVAULT_STORE`.
    pub fn vault_location(&self) -> VaultLocation {
        if let Some(spec) = self.store.clone().filter(|s| !s.is_empty()) {
            return VaultLocation::Store(spec);
        }
        if let Some(path) = self.vault.clone().filter(|p| !p.as_os_str().is_empty()) {
            return VaultLocation::File(Some(path));
        }
        if let Some(spec) = var(STORE_VAR) {
            return VaultLocation::Store(spec);
        }
        VaultLocation::File(
            std::env::var_os(FILE_VAR)
                .filter(|p| !p.is_empty())
                .map(PathBuf::from),
        )
    }

    /// `--identity`, else `SPVAULT_IDENTITY_FILE`.
    pub fn identity_file(&self) -> Option<PathBuf> {
        self.identity
            .clone()
            .or_else(|| std::env::var_os(IDENTITY_FILE_VAR).map(PathBuf::from))
            .filter(|path| !path.as_os_str().is_empty())
    }

    pub fn passphrase_sources(&self) -> PassphraseSources {
        PassphraseSources {
            file: std::env::var_os(PASSPHRASE_FILE_VAR).map(PathBuf::from),
            command: std::env::var_os(PASSPHRASE_COMMAND_VAR),
            value: secret_var(PASSPHRASE_VAR),
            new_value: secret_var(NEW_PASSPHRASE_VAR),
        }
    }

    /// `SPVAULT_HTTP_TIMEOUT`, `SPVAULT_NETWORK_TIMEOUT` and the endpoint variables;
    /// a value that does not parse is an error naming its variable.
    pub fn network(&self) -> Result<Network> {
        let duration = |name: &str| {
            var(name)
                .map(|value| {
                    crate::duration::parse(&value)
                        .map_err(|e| Error::Invalid(format!("{name}: {e}")))
                })
                .transpose()
        };
        let url = |name: &str| {
            var(name)
                .map(|value| crate::net::parse_secure_url(name, &value))
                .transpose()
        };
        let defaults = Network::default();
        Ok(Network {
            request_timeout: duration(HTTP_TIMEOUT_VAR)?.unwrap_or(defaults.request_timeout),
            deadline: duration(NETWORK_TIMEOUT_VAR)?,
            lwa_token_url: url(LWA_TOKEN_URL_VAR)?,
            consent_base_url: url(CONSENT_BASE_URL_VAR)?,
            spapi_url: url(SPAPI_URL_VAR)?,
            spapi_sandbox_url: url(SPAPI_SANDBOX_URL_VAR)?,
        })
    }

    /// The OpenBao token: `BAO_TOKEN`, `VAULT_TOKEN`, the file in
    /// `SPVAULT_BAO_TOKEN_FILE`, or `~/.vault-token` (where `bao login` leaves it).
    pub fn bao_token(&self) -> Result<Secret> {
        for name in BAO_TOKEN_VARS {
            if let Some(value) = var(name).filter(|v| !v.trim().is_empty()) {
                return Ok(Secret::from(value.trim()));
            }
        }
        let file = std::env::var_os(BAO_TOKEN_FILE_VAR)
            .map(PathBuf::from)
            .or_else(|| directories::BaseDirs::new().map(|d| d.home_dir().join(".vault-token")));
        if let Some(file) = file
            && let Ok(contents) = std::fs::read_to_string(&file)
            && !contents.trim().is_empty()
        {
            return Ok(Secret::from(contents.trim()));
        }
        Err(
            Error::StoreCredentials("no OpenBao token".into()).with_hint(
                "set BAO_TOKEN (or VAULT_TOKEN or SPVAULT_BAO_TOKEN_FILE), or run `bao login`",
            ),
        )
    }

    /// `BROWSER`, the command the consent page is opened with (else the desktop's).
    pub fn browser(&self) -> Option<String> {
        var("BROWSER").filter(|b| !b.trim().is_empty())
    }
}

/// A variable's value; unset and empty are the same.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn secret_var(name: &str) -> Option<Secret> {
    std::env::var_os(name).map(|value| Secret::new(value.to_string_lossy().into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_names_the_sources_but_never_their_contents() {
        let sources = PassphraseSources {
            file: Some("/home/me/pass.txt".into()),
            command: Some("echo hunter2".into()),
            value: Some(Secret::from("hunter3")),
            new_value: None,
        };
        let shown = format!("{sources:?}");
        assert!(
            shown.contains("pass.txt") && shown.contains("[set]"),
            "{shown}"
        );
        assert!(
            !shown.contains("hunter2") && !shown.contains("hunter3"),
            "{shown}"
        );
    }
}
