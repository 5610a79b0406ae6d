use crate::audit;
use crate::cli::{EnvArgs, Freshness, VariableArgs};
use crate::error::Result;
use crate::export::{self, Credentials, Source, Variable};
use crate::settings::Settings;
use crate::vault::file::VaultFile;

/// The variables for a profile, with an access token valid for the margin, once
/// the access log holds `event`'s entry for them.
pub fn profile_variables(
    file: VaultFile,
    profile: &str,
    variables: &VariableArgs,
    freshness: &Freshness,
    settings: &Settings,
    event: audit::Event,
) -> Result<Vec<Variable>> {
    let (unlocked, vault, token) =
        super::open_with_access_token(file, profile, freshness, settings)?;
    let (p, app) = vault.profile_with_app(profile)?;
    let mut entry = audit::Entry::new(event)
        .profile(profile)
        .app(&p.app)
        .credential("access_token");
    entry.preset = variables.preset.and_then(|preset| {
        clap::ValueEnum::to_possible_value(&preset).map(|value| value.get_name().to_owned())
    });
    entry.secrets = Some(export::includes_secrets(
        variables.preset,
        variables.with_secrets,
    ));
    super::log_handout(&unlocked, &vault, entry)?;
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
        audit::Event::Env,
    )?;
    let text = export::render(&variables, args.format)
        .map_err(|e| crate::error::Error::Invalid(e.to_string()))?;
    print!("{text}");
    Ok(())
}
