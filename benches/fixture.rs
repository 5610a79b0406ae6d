//! A vault with N logged-in profiles of realistic size, for benchmarks.

use jiff::{SignedDuration, Timestamp};
use spvault::secret::Secret;
use spvault::spapi::Region;
use spvault::vault::Unlocked;
use spvault::vault::crypto::KdfParams;
use spvault::vault::file::VaultFile;
use spvault::vault::model::{App, CachedToken, Profile};

/// Creates the vault at `path` (passphrase from the usual sources) with `profiles`
/// profiles `p0`, `p1`, ... sharing app `main`.
pub fn write_vault(path: &str, profiles: u32, kdf: KdfParams) -> Result<Unlocked, spvault::Error> {
    let (unlocked, _) = spvault::unlock::create(VaultFile::file(path.into()), kdf, true)?;
    unlocked.update(|vault| {
        vault.add_app(
            "main",
            App::new(
                "amzn1.application-oa2-client.bench".into(),
                Some("amzn1.sp.solution.bench".into()),
                Secret::from("amzn1.oa2-cs.v1.0123456789abcdef0123456789abcdef0123456789abcdef"),
                Some(Timestamp::now() + SignedDuration::from_hours(24 * 180)),
            ),
        )?;
        for i in 0..profiles {
            // Sizes like Amazon's: refresh tokens of ~400 bytes, access tokens of ~350.
            let profile = Profile {
                selling_partner_id: Some(format!("A{i:013}")),
                refresh_token: Some(Secret::new(format!("Atzr|{i:08}{}", "x".repeat(400)))),
                access_token: Some(CachedToken {
                    token: Secret::new(format!("Atza|{i:08}{}", "y".repeat(350))),
                    expires_at: Timestamp::now() + SignedDuration::from_hours(1),
                }),
                ..Profile::new("main".into(), Region::Eu, Some("A1PA6795UKMFR9".into()))
            };
            vault.add_profile(&format!("p{i}"), profile)?;
        }
        Ok(())
    })?;
    Ok(unlocked)
}
