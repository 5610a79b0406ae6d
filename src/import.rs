//! Reading the plaintext credential files spvault replaces: `.env` files (the names
//! the popular clients and token scripts use) and python-amazon-sp-api's
//! `credentials.yml`; and the rules for merging what they hold into the vault. Only
//! names are ever reported, never values.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::lwa::{Grant, LwaError};
use crate::secret::Secret;
use crate::settings::Network;
use crate::spapi::Region;
use crate::tokens::{AppCredentials, TokenService};
use crate::vault::Vault;
use crate::vault::model::{self, App, CachedToken, Profile};

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
                "the file gives two different {what}s ({name} and an earlier name)"
            ))
            .with_hint("keep one and import again")
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
            "{} is not a valid dotenv file near character {index}",
            path.display()
        ))
        .with_hint("fix it and import again"),
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

/// What one imported profile becomes.
pub struct Plan {
    pub profile: String,
    pub app: Option<String>,
    pub region: Region,
    pub marketplace_id: Option<String>,
    pub application_id: Option<String>,
    pub found: Found,
    /// The access token the refresh that proved the refresh token returned.
    pub proof: Option<CachedToken>,
}

/// What merging one plan into the vault did.
pub struct Merged {
    /// The app the profile uses: an existing one with the same client id, or new.
    pub app: String,
    /// An existing app kept its client secret, and the file's differs.
    pub kept_other_secret: bool,
}

/// Proves each plan's refresh token with one refresh, before anything is stored: a
/// token Amazon rejects stops the whole import, naming the entry. The access tokens
/// got on the way are kept.
pub fn verify(plans: &mut [Plan], source: &Path, network: &Network) -> Result<()> {
    let with_tokens: Vec<&mut Plan> = plans
        .iter_mut()
        .filter(|plan| plan.found.refresh_token.is_some())
        .collect();
    if with_tokens.is_empty() {
        return Ok(());
    }
    let service = TokenService::new(network)?;
    for plan in with_tokens {
        let (client_id, client_secret) = plan.found.client(source)?;
        model::validate_client_id(&client_id)?;
        let app = App::new(client_id, None, client_secret, None);
        let refresh_token = plan.found.refresh_token.clone().expect("filtered above");
        let grant = service
            .request(
                &AppCredentials::of(&app),
                &Grant::RefreshToken(&refresh_token),
            )
            .map_err(|e| match e {
                // invalid_client is about the app's credentials, not the seller's token.
                LwaError::Rejected { code, description } if code == "invalid_client" => {
                    Error::AmazonRejected {
                        subject: format!(
                            "the client id and secret of '{}' in {}",
                            plan.profile,
                            source.display()
                        ),
                        code,
                        description,
                        advice: "nothing was imported and the file is kept: the client secret is wrong or expired; put the app's current one (Developer Central, \"LWA credentials\") in the file and import again".into(),
                    }
                }
                LwaError::Rejected { code, description } => Error::AmazonRejected {
                    subject: format!(
                        "the refresh token of '{}' in {}",
                        plan.profile,
                        source.display()
                    ),
                    code,
                    description,
                    advice: "nothing was imported and the file is kept: get a new refresh token for that account (or take it out of the file), or import with --no-verify to store it anyway".into(),
                },
                other => other.into(),
            })?;
        plan.proof = Some(CachedToken {
            token: grant.access_token,
            expires_at: grant.expires_at,
        });
    }
    Ok(())
}

/// Adds the profile to the vault, reusing the app with the same client id or creating
/// one. Runs inside the one `update` of an import, so an error anywhere leaves the
/// vault as it was; it prints nothing, since an update may run it more than once.
pub fn merge(vault: &mut Vault, plan: &Plan, source: &Path) -> Result<Merged> {
    model::validate_name("profile", &plan.profile)?;
    let (client_id, client_secret) = plan.found.client(source)?;
    let existing = vault
        .apps
        .iter()
        .find(|(_, app)| app.client_id == client_id)
        .map(|(name, _)| name.clone());
    let mut kept_other_secret = false;
    let app_name = match (existing, &plan.app) {
        (Some(existing), Some(wanted)) if existing != *wanted => {
            return Err(
                Error::Invalid(format!("app '{existing}' already holds this client id"))
                    .with_hint(format!("use --app {existing} (or leave --app out)")),
            );
        }
        (Some(existing), _) => {
            kept_other_secret = vault.app(&existing)?.client_secret != client_secret;
            existing
        }
        (None, wanted) => {
            let name = wanted.clone().unwrap_or_else(|| plan.profile.clone());
            match &plan.application_id {
                Some(application_id) => model::validate_app_ids(&client_id, application_id)?,
                None => model::validate_client_id(&client_id)?,
            }
            let app = App::new(
                client_id,
                plan.application_id.clone(),
                client_secret,
                // A file does not say when its secret was issued: unknown, never guessed.
                None,
            );
            vault.add_app(&name, app)?;
            name
        }
    };
    let mut profile = Profile::new(app_name.clone(), plan.region, plan.marketplace_id.clone());
    profile.refresh_token = plan.found.refresh_token.clone();
    profile.access_token = plan.proof.clone();
    vault.add_profile(&plan.profile, profile)?;
    Ok(Merged {
        app: app_name,
        kept_other_secret,
    })
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
