//! Reading the plaintext credential files spvault replaces: `.env` files (the names
//! the popular clients and token scripts use) and python-amazon-sp-api's
//! `credentials.yml`. Only names are ever reported, never values.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// What a credential variable holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    ClientId,
    ClientSecret,
    RefreshToken,
    /// Recognized, but not imported: spvault fetches fresh access tokens itself.
    AccessToken,
}

const NAMES: &[(&str, Role)] = &[
    ("AMAZON_CLIENT_ID", Role::ClientId),
    ("LWA_APP_ID", Role::ClientId),
    ("LWA_CLIENT_ID", Role::ClientId),
    ("SELLING_PARTNER_APP_CLIENT_ID", Role::ClientId),
    ("AMAZON_CLIENT_SECRET", Role::ClientSecret),
    ("LWA_CLIENT_SECRET", Role::ClientSecret),
    ("SELLING_PARTNER_APP_CLIENT_SECRET", Role::ClientSecret),
    ("AMAZON_REFRESH_TOKEN", Role::RefreshToken),
    ("SP_API_REFRESH_TOKEN", Role::RefreshToken),
    ("LWA_REFRESH_TOKEN", Role::RefreshToken),
    ("AMAZON_ACCESS_TOKEN", Role::AccessToken),
];

/// Credentials found in a plaintext file, with the names they came from.
#[derive(Debug, Default)]
pub struct Found {
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub refresh_token: Option<Secret>,
    /// Names whose values were taken.
    pub used: Vec<String>,
    /// Names recognized but not imported (access tokens).
    pub skipped: Vec<String>,
    /// Names spvault does not know.
    pub ignored: Vec<String>,
}

impl Found {
    fn take(&mut self, name: &str, role: Role, value: String) -> Result<()> {
        let conflict = |what: &str| {
            Error::Invalid(format!(
                "the file gives two different {what}s ({name} and an earlier name): keep one and import again"
            ))
        };
        match role {
            Role::ClientId => match &self.client_id {
                Some(existing) if *existing != value => return Err(conflict("client id")),
                _ => self.client_id = Some(value),
            },
            Role::ClientSecret => match &self.client_secret {
                Some(existing) if existing.expose() != value => {
                    return Err(conflict("client secret"));
                }
                _ => self.client_secret = Some(Secret::new(value)),
            },
            Role::RefreshToken => match &self.refresh_token {
                Some(existing) if existing.expose() != value => {
                    return Err(conflict("refresh token"));
                }
                _ => self.refresh_token = Some(Secret::new(value)),
            },
            Role::AccessToken => {
                self.skipped.push(name.to_owned());
                return Ok(());
            }
        }
        self.used.push(name.to_owned());
        Ok(())
    }

    /// The client id and secret, which every import needs.
    pub fn client(&self, source: &Path) -> Result<(String, Secret)> {
        match (&self.client_id, &self.client_secret) {
            (Some(id), Some(secret)) => Ok((id.clone(), secret.clone())),
            _ => Err(Error::Invalid(format!(
                "{} lacks a client id or client secret (e.g. AMAZON_CLIENT_ID and AMAZON_CLIENT_SECRET, or LWA_APP_ID and LWA_CLIENT_SECRET)",
                source.display()
            ))),
        }
    }
}

/// Reads a dotenv file (python-dotenv's syntax: quotes, `export` prefixes, comments).
pub fn read_dotenv(path: &Path) -> Result<Found> {
    let entries = dotenvy::from_path_iter(path).map_err(|e| dotenv_error(path, e))?;
    let mut found = Found::default();
    for entry in entries {
        let (name, value) = entry.map_err(|e| dotenv_error(path, e))?;
        let value = zeroize::Zeroizing::new(value);
        match NAMES.iter().find(|(n, _)| *n == name) {
            Some((_, role)) if !value.trim().is_empty() => {
                found.take(&name, *role, value.trim().to_owned())?
            }
            _ => found.ignored.push(name),
        }
    }
    Ok(found)
}

/// dotenvy's messages quote the offending line, which may hold a secret: name the
/// line number only.
fn dotenv_error(path: &Path, error: dotenvy::Error) -> Error {
    match error {
        dotenvy::Error::LineParse(_, index) => Error::Invalid(format!(
            "{} is not a valid dotenv file near character {index}: fix it and import again",
            path.display()
        )),
        dotenvy::Error::Io(e) => Error::io("read", path, e),
        _ => Error::Invalid(format!("{} is not a valid dotenv file", path.display())),
    }
}

/// One section of python-amazon-sp-api's credentials.yml.
#[derive(Debug, serde::Deserialize)]
struct Section {
    #[serde(default)]
    refresh_token: Option<String>,
    lwa_app_id: Option<String>,
    lwa_client_secret: Option<String>,
}

/// The sections of a credentials.yml, by name (the `version` key is not a section).
pub fn read_python_sp_api(path: &Path) -> Result<BTreeMap<String, Found>> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?,
    );
    let document: BTreeMap<String, serde_yaml_ng::Value> =
        serde_yaml_ng::from_str(&text).map_err(|e| {
            let at = e
                .location()
                .map(|l| format!(" near line {}", l.line()))
                .unwrap_or_default();
            Error::Invalid(format!("{} is not valid YAML{at}", path.display()))
        })?;
    let mut sections = BTreeMap::new();
    for (name, value) in document {
        if !value.is_mapping() {
            continue;
        }
        let section: Section = serde_yaml_ng::from_value(value).map_err(|_| {
            Error::Invalid(format!(
                "section '{}' of {} needs lwa_app_id, lwa_client_secret and refresh_token as text",
                crate::display::escape_controls(&name),
                path.display()
            ))
        })?;
        let mut found = Found::default();
        for (key, role, value) in [
            ("lwa_app_id", Role::ClientId, section.lwa_app_id),
            (
                "lwa_client_secret",
                Role::ClientSecret,
                section.lwa_client_secret,
            ),
            ("refresh_token", Role::RefreshToken, section.refresh_token),
        ] {
            if let Some(value) = value.filter(|v| !v.trim().is_empty()) {
                found.take(key, role, value.trim().to_owned())?;
            }
        }
        sections.insert(name, found);
    }
    if sections.is_empty() {
        return Err(Error::Invalid(format!(
            "{} holds no credential sections",
            path.display()
        )));
    }
    Ok(sections)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicting_values_for_one_role_are_refused() {
        let mut found = Found::default();
        found
            .take("AMAZON_CLIENT_ID", Role::ClientId, "a".into())
            .unwrap();
        found
            .take("LWA_APP_ID", Role::ClientId, "a".into())
            .unwrap();
        let err = found
            .take("LWA_CLIENT_ID", Role::ClientId, "b".into())
            .unwrap_err()
            .to_string();
        assert!(err.contains("two different client ids"), "{err}");
    }
}
