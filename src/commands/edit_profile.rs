//! `vault edit-profile`: change a profile in place, keeping its authorization unless
//! the change makes it useless (another app or region), and then only after asking.

use crate::cli::EditProfileArgs;
use crate::error::{Error, Result};
use crate::unlock;
use crate::vault::file::VaultFile;
use crate::vault::model::{self, Profile};

pub fn run(file: VaultFile, args: EditProfileArgs) -> Result<()> {
    let changes_something = args.app.is_some()
        || args.region.is_some()
        || args.marketplace.is_some()
        || args.no_marketplace
        || args.vendor
        || args.seller
        || args.sandbox
        || args.production;
    if !changes_something {
        return Err(Error::Invalid(format!(
            "nothing to change in profile '{}': nothing was written",
            args.name
        ))
        .with_hint(format!(
            "name a change, e.g. `vault edit-profile {} --marketplace FR` (`vault edit-profile --help` lists them)",
            args.name
        )));
    }
    let (unlocked, vault) = unlock::open_profile(file, &args.name)?;
    let current = vault.profile(&args.name)?;
    if let Some(app) = &args.app {
        vault.app(app)?;
    }
    let planned = edited(current, &args)?;
    let authorization_lost = current.refresh_token.is_some()
        && (planned.app != current.app || planned.region != current.region);
    if authorization_lost && !args.yes && !confirm_drop(&args.name, current, &planned)? {
        println!("Kept profile '{}' as it was", args.name);
        return Ok(());
    }
    unlocked.update_profiles(&[&args.name], |vault| {
        // Applied to the profile as stored now: another process may have refreshed.
        let profile = vault.profile_mut(&args.name)?;
        let mut changed = edited(profile, &args)?;
        if authorization_lost {
            changed.forget_authorization();
        }
        *profile = changed;
        Ok(())
    })?;
    if authorization_lost {
        println!(
            "Updated profile '{0}' and dropped its tokens: authorize it again with `vault login {0}`",
            args.name
        );
    } else {
        println!("Updated profile '{}'", args.name);
    }
    Ok(())
}

/// The profile as the flags would leave it.
fn edited(current: &Profile, args: &EditProfileArgs) -> Result<Profile> {
    let mut profile = current.clone();
    if let Some(app) = &args.app {
        profile.app = app.clone();
    }
    let (region, marketplace) = match (args.region, args.marketplace.as_deref()) {
        (None, None) => (current.region, None),
        (region, marketplace) => model::region_and_marketplace(region, marketplace)?,
    };
    profile.region = region;
    if let Some(marketplace) = marketplace {
        profile.marketplace_id = Some(marketplace.id.to_owned());
    } else if args.no_marketplace {
        profile.marketplace_id = None;
    } else if let Some(id) = &current.marketplace_id
        && model::resolve_marketplace(id, region).is_err()
    {
        return Err(Error::Invalid(format!(
            "the profile's marketplace {id} is not in region {region}"
        ))
        .with_hint("give --marketplace or --no-marketplace too"));
    }
    if args.vendor || args.seller {
        profile.vendor = args.vendor;
    }
    if args.sandbox || args.production {
        profile.sandbox = args.sandbox;
    }
    Ok(profile)
}

fn confirm_drop(name: &str, current: &Profile, edited: &Profile) -> Result<bool> {
    let why = if edited.app != current.app {
        format!(
            "app '{}' cannot use a refresh token issued to app '{}'",
            edited.app, current.app
        )
    } else {
        format!(
            "a refresh token of region {} does not work in region {}",
            current.region, edited.region
        )
    };
    if !super::prompt::interactive() {
        return Err(
            Error::Invalid(format!("{why}: the change drops profile '{name}'s tokens"))
                .with_hint(format!("pass --yes to do it, then `vault login {name}`")),
        );
    }
    eprintln!("{why}.");
    crate::question::yes_no(
        &format!("Drop the refresh token of '{name}' (you will need `vault login {name}`)?"),
        false,
    )
}
