//! The decrypted-payload parser of formats 1 and 2 takes any bytes without panicking,
//! as JSON or TOML; what it accepts serializes and parses back to the same vault, and
//! reading one profile alone gives that profile and nothing else.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spvault::vault::file::VaultFile;
use spvault::vault::format::ModelEncoding;
use spvault::vault::payload::{Selection, parse_whole};

fuzz_target!(|data: &[u8]| {
    let file = VaultFile::file("fuzz.toml".into());
    for encoding in [ModelEncoding::Json, ModelEncoding::Toml] {
        let Ok(vault) = parse_whole(&file, data, encoding, Selection::All) else {
            continue;
        };
        let json = serde_json::to_vec(&vault).expect("a parsed vault serializes");
        let again =
            parse_whole(&file, &json, ModelEncoding::Json, Selection::All).expect("JSON parses");
        assert_eq!(again, vault);
        if let Some(name) = vault.profiles.keys().next() {
            let only = [name.as_str()];
            let one = parse_whole(&file, &json, ModelEncoding::Json, Selection::Only(&only))
                .expect("parses");
            assert_eq!(one, vault.with_only_profile(name));
        }
    }
});
