//! Recipients and identity files: machines that open the vault without a passphrase.

mod support;

use support::*;

/// A vault with app `main`, profile `p`, and an identity file whose key is a recipient.
fn shared() -> (Env, std::path::PathBuf, String) {
    let env = Env::new();
    env.init_fast();
    env.add_main_app(CLIENT_SECRET);
    env.run(&["add-profile", "p", "--region", "eu"]).ok();
    let (identity, public) = env.new_identity("server.key");
    assert!(public.starts_with("age1"), "{public}");
    env.run(&["recipients", "add", "server", &public]).ok();
    (env, identity, public)
}

#[test]
fn identity_files_are_private_and_never_overwritten() {
    let env = Env::new();
    let identity = env.path("id.key");
    env.run(&["identity", "new", identity.to_str().unwrap()])
        .ok();
    assert_eq!(mode(&identity), 0o600);
    let before = std::fs::read(&identity).unwrap();
    env.run(&["identity", "new", identity.to_str().unwrap()])
        .expect_code(1);
    assert_eq!(std::fs::read(&identity).unwrap(), before);
    // A dangling link is not followed: nothing appears at its target.
    let (link, target) = (env.path("link.key"), env.path("elsewhere.key"));
    std::os::unix::fs::symlink(&target, &link).unwrap();
    env.run(&["identity", "new", link.to_str().unwrap()])
        .expect_code(1);
    assert!(!target.exists());
    // Missing folders are made, private (the README's ~/.config/spvault/... example).
    let nested = env.path("config/spvault/id.key");
    env.run(&["identity", "new", nested.to_str().unwrap()]).ok();
    assert_eq!(mode(&nested), 0o600);
    assert_eq!(mode(&env.path("config")), 0o700);
    assert_eq!(mode(&env.path("config/spvault")), 0o700);
}

#[test]
fn a_recipient_opens_and_writes_the_vault_without_the_passphrase() {
    let (mut env, identity, public) = shared();
    let listed = env.run(&["recipients", "list", "--json"]).ok().json();
    assert_eq!(
        listed,
        serde_json::json!([{"recipient": "server", "public_key": public}])
    );

    env.unset("SPVAULT_PASSPHRASE");
    env.set("SPVAULT_IDENTITY_FILE", identity.to_str().unwrap());
    assert_eq!(env.profiles_json()[0]["profile"], "p");
    env.run(&["add-profile", "q", "--region", "na"]).ok();

    // The passphrase still opens what the recipient wrote.
    env.unset("SPVAULT_IDENTITY_FILE");
    env.set("SPVAULT_PASSPHRASE", PASSPHRASE);
    assert_eq!(env.profiles_json().as_array().unwrap().len(), 2);
    // --identity works as well as the variable.
    env.unset("SPVAULT_PASSPHRASE");
    env.run(&["--identity", identity.to_str().unwrap(), "show", "q"])
        .ok();
}

#[test]
fn the_age_tool_opens_the_payload_with_a_recipients_identity() {
    if !have("age") {
        return;
    }
    let (env, identity, _) = shared();
    let file = env.vault_bytes();
    let armored = env.path("payload.age");
    std::fs::write(&armored, age_payload(&file)).unwrap();
    let out = std::process::Command::new("age")
        .args([
            "--decrypt",
            "--identity",
            identity.to_str().unwrap(),
            armored.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let root: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(root["vault"]["profiles"]["p"]["len"].is_u64(), "{root}");
    assert!(root["profile_key"].is_string());
}

#[test]
fn a_removed_recipient_cannot_open_the_new_vault() {
    let (mut env, identity, _) = shared();
    env.run(&[
        "recipients",
        "add",
        "backup",
        "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
    ])
    .ok();
    let out = env.run(&["recipients", "remove", "server"]).ok();
    assert!(out.stdout.contains("rotate"), "{}", out.stdout);
    env.unset("SPVAULT_PASSPHRASE");
    env.set("SPVAULT_IDENTITY_FILE", identity.to_str().unwrap());
    let out = env.run(&["list"]).expect_code(3);
    assert!(
        out.stderr.contains("not among the vault's recipients"),
        "{}",
        out.stderr
    );
    env.set("SPVAULT_PASSPHRASE", PASSPHRASE);
    env.unset("SPVAULT_IDENTITY_FILE");
    let listed = env.run(&["recipients", "list", "--json"]).ok().json();
    assert_eq!(listed[0]["recipient"], "backup");
}

#[test]
fn bad_recipients_and_identity_files_are_refused() {
    let (mut env, _, public) = shared();
    env.run(&["recipients", "add", "other", "age1notakey"])
        .expect_code(2);
    env.run(&[
        "recipients",
        "add",
        "server",
        "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
    ])
    .expect_code(2);
    env.run(&["recipients", "add", "again", &public])
        .expect_code(2);
    env.run(&["recipients", "remove", "nobody"]).expect_code(2);
    let junk = env.path("junk.key");
    std::fs::write(&junk, "# nothing here\n").unwrap();
    env.set("SPVAULT_IDENTITY_FILE", junk.to_str().unwrap());
    let out = env.run(&["list"]).expect_code(3);
    assert!(out.stderr.contains("AGE-SECRET-KEY-1"), "{}", out.stderr);
    env.set(
        "SPVAULT_IDENTITY_FILE",
        env.path("missing.key").to_str().unwrap(),
    );
    env.run(&["list"]).expect_code(3);
}

#[test]
fn passwd_keeps_recipients_working() {
    let (mut env, identity, _) = shared();
    env.set("SPVAULT_NEW_PASSPHRASE", "new passphrase");
    env.run(&["passwd"]).ok();
    env.unset("SPVAULT_PASSPHRASE");
    env.set("SPVAULT_IDENTITY_FILE", identity.to_str().unwrap());
    env.run(&["add-profile", "after-passwd", "--region", "fe"])
        .ok();
    env.unset("SPVAULT_IDENTITY_FILE");
    env.set("SPVAULT_PASSPHRASE", "new passphrase");
    assert_eq!(
        env.profiles_json().as_array().unwrap().len(),
        2,
        "the recipient's write kept the new passphrase working"
    );
}
