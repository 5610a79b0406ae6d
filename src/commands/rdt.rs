use crate::cli::RdtArgs;
use crate::error::{Error, Result};
use crate::settings::Settings;
use crate::spapi_client::{self, SpApiClient};
use crate::vault::file::VaultFile;

pub fn run(file: VaultFile, args: RdtArgs, settings: &Settings) -> Result<()> {
    if args.resources.len() > spapi_client::MAX_RESOURCES {
        return Err(Error::Invalid(format!(
            "at most {} --resource in one token",
            spapi_client::MAX_RESOURCES
        )));
    }
    let resources = args
        .resources
        .iter()
        .map(|r| {
            crate::api::restricted::parse_resource(r, &args.data_elements).map_err(Error::Invalid)
        })
        .collect::<Result<Vec<_>>>()?;
    let (unlocked, vault, access) =
        super::open_with_access_token(file, &args.profile, &args.freshness, settings)?;
    let profile = vault.profile(&args.profile)?;
    let client = SpApiClient::new(profile.region, profile.sandbox, &settings.network()?)?;
    let rdt = crate::http::runtime()
        .map_err(Error::Other)?
        .block_on(client.restricted_data_token(
            &access.token,
            &resources,
            args.target_application.as_deref(),
        ))
        .map_err(|e| crate::tokens::explain_spapi_error(e, &profile.app))?;
    let entry = crate::audit::Entry::rdt(&args.profile, &resources).app(&profile.app);
    super::log_handout(&unlocked, &vault, entry)?;
    if args.json {
        let json = serde_json::json!({
            "restricted_data_token": rdt.token.expose(),
            "expires_at": crate::display::timestamp(rdt.expires_at),
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&json).expect("JSON values serialize")
        );
    } else {
        println!("{}", rdt.token.expose());
    }
    Ok(())
}
