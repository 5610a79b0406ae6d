//! The decrypted-payload parser takes any bytes without panicking, as JSON (format 2)
//! or TOML (format 1); what it accepts serializes and parses back to the same vault,
//! and reading one profile alone gives that profile and nothing else.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spvault::vault::file::VaultFile;
use spvault::vault::format::ModelEncoding;
use spvault::vault::parse_model;

fuzz_target!(|data: &[u8]| {
    let file = VaultFile::file("fuzz.toml".into());
    for encoding in [ModelEncoding::Json, ModelEncoding::Toml] {
        let Ok(vault) = parse_model(&file, data, encoding, None) else {
            continue;
        };
        let json = serde_json::to_vec(&vault).expect("a parsed vault serializes");
        let again = parse_model(&file, &json, ModelEncoding::Json, None).expect("JSON parses");
        assert_eq!(again, vault);
        if let Some(name) = vault.profiles.keys().next() {
            let one = parse_model(&file, &json, ModelEncoding::Json, Some(name)).expect("parses");
            assert_eq!(one, vault.with_only_profile(name));
        }
    }
});
