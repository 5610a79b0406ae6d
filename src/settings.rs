//! Where flags, environment and defaults meet for the vault's location, resolved only
//! when a command asks: `completions`, `man` and `identity new` never look for a vault,
//! so a store they do not need (an OpenBao spec without a token) cannot fail them.

use std::path::PathBuf;

use crate::error::Result;
use crate::vault::file::VaultFile;

/// The global flags, as given.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub store: Option<String>,
    pub vault: Option<PathBuf>,
    pub ca_cert: Option<PathBuf>,
    pub identity: Option<PathBuf>,
}

impl Settings {
    /// The vault these settings name: flags first, then `SPVAULT_*` variables, then
    /// the default file. An OpenBao store's token is looked up now, not before.
    pub fn vault_file(&self) -> Result<VaultFile> {
        VaultFile::locate(
            self.store.clone(),
            self.ca_cert.clone(),
            self.vault.clone(),
            self.identity.clone(),
        )
    }
}
