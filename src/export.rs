//! The variables `env` prints and `exec` sets, named for spvault or for a client
//! library (presets), and their rendering for each shell or file format, quoted so
//! that any value (tokens contain `|`, secrets may contain anything) survives intact.

use crate::secret::Secret;
use crate::spapi::{Marketplace, Region};
use crate::vault::model::{App, CachedToken, Profile};

/// Set in every `exec` child and `env` output: which profile the variables are for.
pub const PROFILE_VAR: &str = "SPVAULT_PROFILE";

/// Set only in `exec` children: guards against nesting `exec` of another profile
/// (`env` output does not set it, so a shell that ran `eval "$(vault env p)"` can
/// still `vault exec` any profile).
pub const EXEC_GUARD_VAR: &str = "SPVAULT_EXEC_PROFILE";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Sh,
    Fish,
    Powershell,
    Dotenv,
    Json,
}

/// Variable names read by popular SP-API client libraries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// python-amazon-sp-api (PyPI)
    PythonAmazonSpApi,
    /// amazon-sp-api (npm)
    AmazonSpApi,
    /// @sp-api-sdk/auth (npm)
    SpApiSdk,
    /// the plaintext .env token scripts
    DotenvAmazon,
}

/// One variable. Every value is kept as a secret so nothing here can be logged by accident.
#[derive(Debug, Clone)]
pub struct Variable {
    pub name: &'static str,
    pub value: Secret,
}

/// What a variable set is built from.
pub struct Source<'a> {
    pub profile_name: &'a str,
    pub profile: &'a Profile,
    pub credentials: Credentials<'a>,
}

/// The credentials the variables hold.
pub enum Credentials<'a> {
    /// The profile's own: its app and a valid access token.
    Real {
        app: &'a App,
        token: &'a CachedToken,
    },
    /// A `vault proxy` for the profile (`exec --proxy`): its address, and its key in
    /// place of every token; client id and secret are placeholders.
    Proxy {
        base_url: &'a str,
        token_url: &'a str,
        key: &'a Secret,
    },
}

/// What a client library is given for the client id and secret under `exec --proxy`:
/// the proxy takes any.
pub const PROXY_PLACEHOLDER: &str = "spvault-proxy-placeholder";

enum Value {
    ClientId,
    ClientSecret,
    RefreshToken,
    AccessToken,
    MarketplaceCode,
}

/// Whether `variables` with these settings hand out the client secret or the
/// refresh token, not only an access token: what the access log records.
pub fn includes_secrets(preset: Option<Preset>, with_secrets: bool) -> bool {
    with_secrets
        || preset.is_some_and(|preset| {
            preset_names(preset)
                .iter()
                .any(|(_, value)| matches!(value, Value::ClientSecret | Value::RefreshToken))
        })
}

fn preset_names(preset: Preset) -> &'static [(&'static str, Value)] {
    use Value::*;
    match preset {
        Preset::PythonAmazonSpApi => &[
            ("LWA_APP_ID", ClientId),
            ("LWA_CLIENT_SECRET", ClientSecret),
            ("SP_API_REFRESH_TOKEN", RefreshToken),
            ("SP_API_DEFAULT_MARKETPLACE", MarketplaceCode),
        ],
        Preset::AmazonSpApi => &[
            ("SELLING_PARTNER_APP_CLIENT_ID", ClientId),
            ("SELLING_PARTNER_APP_CLIENT_SECRET", ClientSecret),
            ("SP_API_REFRESH_TOKEN", RefreshToken),
        ],
        Preset::SpApiSdk => &[
            ("LWA_CLIENT_ID", ClientId),
            ("LWA_CLIENT_SECRET", ClientSecret),
            ("LWA_REFRESH_TOKEN", RefreshToken),
        ],
        Preset::DotenvAmazon => &[
            ("AMAZON_CLIENT_ID", ClientId),
            ("AMAZON_CLIENT_SECRET", ClientSecret),
            ("AMAZON_REFRESH_TOKEN", RefreshToken),
            ("AMAZON_ACCESS_TOKEN", AccessToken),
        ],
    }
}

const SECRET_NAMES: &[(&str, Value)] = &[
    ("LWA_CLIENT_ID", Value::ClientId),
    ("LWA_CLIENT_SECRET", Value::ClientSecret),
    ("SP_API_REFRESH_TOKEN", Value::RefreshToken),
];

/// The variables for a profile: spvault's own, then the preset's, then (with
/// `with_secrets`) the LWA credentials; each name once, first wins.
pub fn variables(source: &Source<'_>, preset: Option<Preset>, with_secrets: bool) -> Vec<Variable> {
    let profile = source.profile;
    let region: Region = profile.region;
    let marketplace = profile
        .marketplace_id
        .as_deref()
        .and_then(Marketplace::by_id);
    let mut out: Vec<Variable> = Vec::new();
    let mut push = |name: &'static str, value: Secret| {
        if !out.iter().any(|v| v.name == name) {
            out.push(Variable { name, value });
        }
    };
    let (client_id, client_secret, refresh_token, access_token) = match &source.credentials {
        Credentials::Real { app, token } => {
            push("SP_API_ACCESS_TOKEN", token.token.clone());
            push(
                "SP_API_ACCESS_TOKEN_EXPIRES_AT",
                Secret::new(crate::display::timestamp(token.expires_at)),
            );
            push(
                "SP_API_ENDPOINT",
                Secret::from(region.endpoint(profile.sandbox)),
            );
            (
                Secret::new(app.client_id.clone()),
                app.client_secret.clone(),
                profile.refresh_token.clone(),
                token.token.clone(),
            )
        }
        Credentials::Proxy {
            base_url,
            token_url,
            key,
        } => {
            push("SP_API_ACCESS_TOKEN", (*key).clone());
            push("SP_API_ENDPOINT", Secret::from(*base_url));
            push("LWA_TOKEN_ENDPOINT", Secret::from(*token_url));
            push("LWA_CLIENT_ID", Secret::from(PROXY_PLACEHOLDER));
            push("LWA_CLIENT_SECRET", Secret::from(PROXY_PLACEHOLDER));
            push("LWA_REFRESH_TOKEN", (*key).clone());
            push("SP_API_REFRESH_TOKEN", (*key).clone());
            (
                Secret::from(PROXY_PLACEHOLDER),
                Secret::from(PROXY_PLACEHOLDER),
                Some((*key).clone()),
                (*key).clone(),
            )
        }
    };
    push("SP_API_AWS_REGION", Secret::from(region.aws_region()));
    push("SP_API_REGION", Secret::from(region.code()));
    if let Some(id) = &profile.marketplace_id {
        push("SP_API_MARKETPLACE_ID", Secret::new(id.clone()));
    }
    if let Some(id) = &profile.selling_partner_id {
        push("SP_API_SELLING_PARTNER_ID", Secret::new(id.clone()));
    }
    push(PROFILE_VAR, Secret::from(source.profile_name));
    let value_of = |value: &Value| -> Option<Secret> {
        match value {
            Value::ClientId => Some(client_id.clone()),
            Value::ClientSecret => Some(client_secret.clone()),
            Value::RefreshToken => refresh_token.clone(),
            Value::AccessToken => Some(access_token.clone()),
            Value::MarketplaceCode => marketplace.map(|m| Secret::from(m.code)),
        }
    };
    let mut named: Vec<&(&'static str, Value)> = Vec::new();
    if let Some(preset) = preset {
        named.extend(preset_names(preset));
        if preset == Preset::PythonAmazonSpApi && profile.sandbox {
            push("AWS_ENV", Secret::from("SANDBOX"));
        }
    }
    if with_secrets {
        named.extend(SECRET_NAMES);
    }
    for (name, value) in named {
        if let Some(secret) = value_of(value) {
            push(name, secret);
        }
    }
    out
}

/// A value that a format cannot carry unchanged.
#[derive(Debug, thiserror::Error)]
#[error(
    "{variable}'s value contains `${{`, which python-dotenv expands even inside quotes: it cannot be written as a .env line that reads back unchanged; use `vault exec` or another --format"
)]
pub struct Unrepresentable {
    pub variable: &'static str,
}

/// Renders the variables for `eval` (sh), `source` (fish), `Invoke-Expression`
/// (PowerShell), a `.env` file (python-dotenv's syntax) or JSON.
pub fn render(variables: &[Variable], format: Format) -> Result<String, Unrepresentable> {
    if format == Format::Dotenv
        && let Some(variable) = variables.iter().find(|v| v.value.expose().contains("${"))
    {
        return Err(Unrepresentable {
            variable: variable.name,
        });
    }
    if format == Format::Json {
        let object: serde_json::Map<String, serde_json::Value> = variables
            .iter()
            .map(|v| {
                (
                    v.name.to_owned(),
                    serde_json::Value::String(v.value.expose().to_owned()),
                )
            })
            .collect();
        return Ok(serde_json::to_string_pretty(&object).expect("a string map serializes") + "\n");
    }
    let mut out = String::new();
    for variable in variables {
        let value = variable.value.expose();
        let line = match format {
            Format::Sh => format!("export {}={}", variable.name, sh_quote(value)),
            Format::Fish => format!("set -gx {} {}", variable.name, fish_quote(value)),
            Format::Powershell => format!("$Env:{} = {}", variable.name, powershell_quote(value)),
            Format::Dotenv => format!("{}={}", variable.name, dotenv_quote(value)),
            Format::Json => unreachable!("handled above"),
        };
        out.push_str(&line);
        out.push('\n');
    }
    Ok(out)
}

/// POSIX single quotes: nothing is special inside; a quote is closed, escaped, reopened.
fn sh_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// fish single quotes: only `\\` and `\'` are escapes.
fn fish_quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', r"\\").replace('\'', r"\'"))
}

/// PowerShell verbatim strings: a quote is doubled (including the typographic ones
/// PowerShell also treats as quotes).
fn powershell_quote(value: &str) -> String {
    let mut out = String::from("'");
    for c in value.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// python-dotenv single quotes: `\\` and `\'` are the only escapes. python-dotenv
/// still expands `${VAR}` inside them, so `render` refuses values holding `${`.
fn dotenv_quote(value: &str) -> String {
    fish_quote(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_handles_every_special_character() {
        let nasty = "it's a \"$HOME\" \\ `x` \n end";
        assert_eq!(
            sh_quote(nasty),
            r#"'it'\''s a "$HOME" \ `x` "#.to_owned() + "\n end'"
        );
        assert_eq!(
            fish_quote(nasty),
            r#"'it\'s a "$HOME" \\ `x` "#.to_owned() + "\n end'"
        );
        assert_eq!(powershell_quote("a'b\u{2019}c"), "'a''b\u{2019}\u{2019}c'");
    }
}
