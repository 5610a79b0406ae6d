//! docs/vault-format.md says a vault can be decrypted with Argon2 and the age tool
//! alone. This runs the script printed there, unchanged, against a real vault.

mod support;

use std::process::Stdio;
use std::time::Duration;

use support::*;

/// The first ```sh block after the "Decrypting by hand" heading.
fn documented_script() -> String {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/vault-format.md"))
        .unwrap();
    let section = &doc[doc.find("## Decrypting by hand").expect("section exists")..];
    let start = section.find("```sh\n").expect("a sh block") + 6;
    let end = start + section[start..].find("\n```").expect("block ends");
    section[start..end].to_owned()
}

/// Runs the script with `python` (one that has the `cryptography` package: the test
/// venv's, whose folder also holds a `python3`) first on PATH.
fn run_documented_script(env: &Env, passphrase: &str, python: &str) -> Out {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let folder = std::path::Path::new(python)
        .parent()
        .filter(|f| !f.as_os_str().is_empty())
        .map(|f| f.to_path_buf());
    let path =
        std::env::join_paths(folder.into_iter().chain(std::env::split_paths(&path))).unwrap();
    let child = std::process::Command::new("bash")
        .args(["-c", &documented_script()])
        .env("PATH", path)
        .env("VAULT", &env.vault)
        .env("PASSPHRASE", passphrase)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    finish(child, "", Duration::from_secs(60))
}

#[test]
fn the_documented_script_decrypts_a_vault_with_argon2_and_age() {
    if !(have("age") && have("argon2")) {
        skip_or_fail("the age or argon2 command is missing");
        return;
    }
    let Some(python) = python_with("cryptography") else {
        return;
    };
    let standin = StandIn::start();
    let mut env = Env::new();
    env.with_app(Some(&standin));
    env.logged_in_profile(&standin, "eu-seller", REFRESH_TOKEN);
    let out = run_documented_script(&env, PASSPHRASE, &python).ok();
    let payload: serde_json::Value =
        serde_json::from_str(&out.stdout).expect("the payload is JSON");
    assert_eq!(payload["schema"], 1);
    let profile = &payload["profiles"]["eu-seller"];
    assert_eq!(profile["refresh_token"], REFRESH_TOKEN);
    assert_eq!(profile["marketplace_id"], "A1PA6795UKMFR9");
    assert_eq!(payload["apps"]["main"]["client_secret"], CLIENT_SECRET);

    let wrong = run_documented_script(&env, "wrong", &python);
    assert_ne!(wrong.code, 0);
    assert!(wrong.stdout.is_empty());
}
