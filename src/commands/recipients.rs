use std::path::Path;

use age::secrecy::ExposeSecret;

use crate::cli::RecipientsCommand;
use crate::error::{Error, Result};
use crate::private_file::{self, Existing};
use crate::unlock;
use crate::vault::file::VaultFile;
use crate::vault::{model, parse_recipient};

pub fn run(file: VaultFile, command: RecipientsCommand) -> Result<()> {
    match command {
        RecipientsCommand::Add { name, public_key } => add(file, &name, &public_key),
        RecipientsCommand::List(json) => list(file, json.json),
        RecipientsCommand::Remove { name, damaged } => remove(file, &name, damaged.drop_damaged),
    }
}

fn add(file: VaultFile, name: &str, public_key: &str) -> Result<()> {
    model::validate_name("recipient", name)?;
    let key = parse_recipient(public_key)?.to_string();
    // The passphrase even while the agent or an identity file could open the vault:
    // a recipient outlives `lock` and `passwd`, so it must not be the way a process
    // that only borrowed the unlocked agent keeps its access.
    let (unlocked, _, _) = unlock::open_with_passphrase(file)?;
    unlocked.update(|vault| {
        if vault.recipients.contains_key(name) {
            return Err(Error::Invalid(format!(
                "a recipient named '{name}' already exists"
            )));
        }
        if let Some((existing, _)) = vault.recipients.iter().find(|(_, k)| **k == key) {
            return Err(Error::Invalid(format!(
                "recipient '{existing}' already has this key"
            )));
        }
        vault.recipients.insert(name.to_owned(), key.clone());
        Ok(())
    })?;
    println!("Added recipient '{name}': the vault is now also encrypted to {key}");
    Ok(())
}

fn list(file: VaultFile, json: bool) -> Result<()> {
    let (_, vault) = unlock::open_apps(file)?;
    if json {
        let rows: Vec<_> = vault
            .recipients
            .iter()
            .map(|(name, key)| serde_json::json!({"recipient": name, "public_key": key}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).expect("JSON values serialize")
        );
    } else if vault.recipients.is_empty() {
        println!("No recipients: only the passphrase opens the vault.");
    } else {
        let columns = [("recipient", 0), ("public key", 1)]
            .map(|(header, rank)| super::table::Column { header, rank });
        let mut rows: Vec<Vec<String>> = vault
            .recipients
            .iter()
            .map(|(name, key)| vec![name.clone(), key.clone()])
            .collect();
        super::table::sort_naturally(&mut rows);
        super::table::print(&columns, &rows, true, "vault recipients list");
    }
    Ok(())
}

/// Removes a recipient and renews the passphrase key (a new salt), so a removed
/// holder, who knew the passphrase key's public half, cannot seal a file to it.
fn remove(file: VaultFile, name: &str, drop_damaged: bool) -> Result<()> {
    let (mut unlocked, vault, passphrase) = unlock::open_with_passphrase(file)?;
    if !vault.recipients.contains_key(name) {
        return Err(Error::Invalid(format!("no recipient named '{name}'"))
            .with_hint("`vault recipients list` shows them"));
    }
    let kdf = unlocked.kdf();
    let dropped = unlocked
        .change_passphrase(&passphrase, kdf, drop_damaged, |vault| {
            vault.recipients.remove(name);
            Ok(())
        })
        .map_err(|e| super::damaged::refusal(e, &format!("vault recipients remove {name}")))?;
    crate::agent::forget_key(unlocked.file().path());
    println!(
        "Removed recipient '{name}' and re-encrypted the vault under a renewed passphrase key. It may have kept copies of what it could open: rotate those client secrets and re-authorize those profiles."
    );
    super::damaged::report_dropped(&dropped);
    Ok(())
}

/// Writes a fresh age identity to `path` (a private file, never overwriting one that
/// exists) and prints its public key.
pub fn new_identity(path: &Path) -> Result<()> {
    let identity = age::x25519::Identity::generate();
    let public = identity.to_public();
    let created = jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .unwrap_or_else(|_| jiff::Timestamp::now());
    let contents = zeroize::Zeroizing::new(format!(
        "# created: {created} by spvault\n# public key: {public}\n{}\n",
        identity.to_string().expose_secret()
    ));
    private_file::write(path, contents.as_bytes(), Existing::Keep)?;
    println!("{public}");
    Ok(())
}
