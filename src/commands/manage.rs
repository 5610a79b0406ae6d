use crate::error::{Error, Result};
use crate::unlock;
use crate::vault::Unlocked;
use crate::vault::file::VaultFile;
use crate::vault::payload::Selection;

pub fn remove(file: VaultFile, name: &str, yes: bool) -> Result<()> {
    let (unlocked, salvaged) = unlock::open_around_damage(file, Selection::Only(&[name]))?;
    if salvaged.is_damaged(name) {
        return remove_damaged(&unlocked, name, yes);
    }
    let profile = salvaged.vault.profile(name)?;
    let what = if profile.refresh_token.is_some() {
        format!("Remove profile '{name}' and its refresh token?")
    } else {
        format!("Remove profile '{name}'?")
    };
    if !confirmed(name, &what, yes)? {
        return Ok(());
    }
    unlocked.update_profiles(&[name], |vault| vault.remove_profile(name).map(drop))?;
    println!("Removed profile '{name}' and its tokens");
    Ok(())
}

/// Whether to go on removing profile `name`: `--yes`, or a yes on a terminal. A
/// script without `--yes` is refused, as `edit-profile` refuses.
fn confirmed(name: &str, question: &str, yes: bool) -> Result<bool> {
    if yes {
        return Ok(true);
    }
    if !super::prompt::interactive() {
        return Err(Error::Invalid(format!(
            "removing profile '{name}' and its tokens needs a yes: there is no terminal to ask"
        ))
        .with_hint(format!(
            "`vault remove {name} --yes` removes it without asking"
        )));
    }
    let confirmed = crate::question::yes_no(question, false)?;
    if !confirmed {
        println!("Kept profile '{name}'");
    }
    Ok(confirmed)
}

/// `remove` of a profile whose record does not open: dropped without reading it, the
/// other records kept as they are.
fn remove_damaged(unlocked: &Unlocked, name: &str, yes: bool) -> Result<()> {
    let question = format!("The record of profile '{name}' is damaged. Remove it unread?");
    if !confirmed(name, &question, yes)? {
        return Ok(());
    }
    unlocked.remove_profile_unread(name)?;
    println!("Removed profile '{name}', whose record was damaged, without reading it");
    Ok(())
}

pub fn rename(file: VaultFile, old: &str, new: &str) -> Result<()> {
    crate::vault::model::validate_name("profile", new)?;
    // Only that profile: reading all of them cost a rename of one in a vault of
    // 10,000 what a whole-vault read does, and one damaged record stopped it.
    let (unlocked, vault) = unlock::open_profile(file, old)?;
    vault.profile(old)?;
    unlocked.update_profiles(&[old, new], |vault| vault.rename_profile(old, new))?;
    println!("Renamed profile '{old}' to '{new}'");
    Ok(())
}

/// Copies the envelope as it is (no decryption: the passphrase, KDF settings and
/// recipients stay the same) to another store, which must not hold a vault yet.
pub fn migrate(from: VaultFile, to: &str, settings: &crate::settings::Settings) -> Result<()> {
    let target = VaultFile::at(to, settings)?;
    let bytes = from
        .read()?
        .ok_or_else(|| crate::error::Error::NoVault(from.path().to_path_buf()))?;
    // Prove it is a vault this build can read before copying it anywhere.
    crate::vault::parse_envelope(
        &from,
        crate::vault::store::Stored::from_bytes(bytes.clone()),
    )?;
    let lock = target.lock()?;
    let (existing, version) = target.read_versioned()?;
    if existing.is_some() {
        return Err(crate::error::Error::VaultExists(
            target.path().to_path_buf(),
        ));
    }
    // The copy stays encrypted and nothing here holds the key: unsealed, in the log of
    // the vault copied from, before the copy exists.
    let entry = crate::audit::Entry::new(crate::audit::Event::Migrate).subject(to);
    crate::audit::Log::unkeyed(&from).record(entry)?;
    target.replace(&bytes, &lock, version)?;
    if target.read()?.as_deref() != Some(bytes.as_slice()) {
        return Err(crate::error::Error::Other(format!(
            "the copy at {} does not read back identical",
            target.path().display()
        ))
        .with_hint(format!("keep using {}", from.path().display())));
    }
    println!(
        "Copied the vault from {} to {}. Point spvault at it with {}={to}; the original is untouched, delete it once you have switched.",
        from.path().display(),
        target.path().display(),
        target.variable()
    );
    Ok(())
}
