//! The decrypted-payload parser takes any bytes without panicking, and what it
//! accepts serializes and parses back to the same vault.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spvault::vault::file::VaultFile;
use spvault::vault::parse_model;

fuzz_target!(|data: &[u8]| {
    let file = VaultFile::new("fuzz.toml".into());
    if let Ok(vault) = parse_model(&file, data) {
        let text = toml::to_string(&vault).expect("a parsed vault serializes");
        let again = parse_model(&file, text.as_bytes()).expect("serialized text parses");
        assert_eq!(again, vault);
    }
});
