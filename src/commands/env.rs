use crate::cli::{EnvArgs, Freshness, VariableArgs};
use crate::error::Result;
use crate::export::{self, Credentials, Source, Variable};
use crate::settings::Settings;
use crate::vault::file::VaultFile;

/// The variables for a profile, with an access token valid for the margin.
pub fn profile_variables(
    file: VaultFile,
    profile: &str,
    variables: &VariableArgs,
    freshness: &Freshness,
    settings: &Settings,
) -> Result<Vec<Variable>> {
    let (_, vault, token) = super::open_with_access_token(file, profile, freshness, settings)?;
    let (p, app) = vault.profile_with_app(profile)?;
    let source = Source {
        profile_name: profile,
        profile: p,
        credentials: Credentials::Real { app, token: &token },
    };
    Ok(export::variables(
        &source,
        variables.preset,
        variables.with_secrets,
    ))
}

pub fn run(file: VaultFile, args: EnvArgs, settings: &Settings) -> Result<()> {
    let variables = profile_variables(
        file,
        &args.profile,
        &args.variables,
        &args.freshness,
        settings,
    )?;
    let text = export::render(&variables, args.format)
        .map_err(|e| crate::error::Error::Invalid(e.to_string()))?;
    print!("{text}");
    Ok(())
}
