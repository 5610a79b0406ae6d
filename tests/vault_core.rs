//! The encrypted vault through the real binary: apps, profiles, passphrases, damage,
//! permissions, concurrency.

mod support;

use std::time::Duration;

use support::*;

#[test]
fn apps_and_profiles_round_trip() {
    let env = Env::new();
    env.init_fast();
    env.add_main_app(CLIENT_SECRET);
    env.run(&[
        "add-profile",
        "eu-seller",
        "--region",
        "eu",
        "--marketplace",
        "DE",
    ])
    .ok();
    env.run(&[
        "add-profile",
        "us-vendor",
        "--app",
        "main",
        "--region",
        "na",
        "--marketplace",
        "ATVPDKIKX0DER",
        "--vendor",
        "--sandbox",
    ])
    .ok();

    let list = env.profiles_json();
    let rows = list.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["profile"], "eu-seller");
    assert_eq!(rows[0]["region"], "eu");
    assert_eq!(rows[0]["marketplace"], "DE");
    assert_eq!(rows[0]["marketplace_id"], "A1PA6795UKMFR9");
    assert_eq!(rows[0]["refresh_token_present"], false);
    assert_eq!(rows[0]["access_token_status"], "none");
    assert_eq!(rows[1]["profile"], "us-vendor");
    assert_eq!(rows[1]["vendor"], true);
    assert_eq!(rows[1]["sandbox"], true);
    assert_eq!(
        rows[1]["endpoint"],
        "https://sandbox.sellingpartnerapi-na.amazon.com"
    );
    let days = rows[0]["client_secret_days_left"].as_i64().unwrap();
    assert!((179..=180).contains(&days), "{days}");

    let show = env.run(&["show", "us-vendor", "--json"]).ok().json();
    assert_eq!(show["marketplace"], "US");
    let apps = env.run(&["app", "list", "--json"]).ok().json();
    assert_eq!(apps[0]["app"], "main");
    assert_eq!(apps[0]["client_id"], CLIENT_ID);
    assert_eq!(apps[0]["profiles"], 2);

    env.run(&["rename", "eu-seller", "de-seller"]).ok();
    env.run(&["show", "eu-seller"]).expect_code(5);
    env.run(&["show", "de-seller"]).ok();
    let refused = env.run(&["app", "remove", "main"]).expect_code(2);
    assert!(refused.stderr.contains("de-seller"), "{}", refused.stderr);
    env.run(&["remove", "de-seller", "--yes"]).ok();
    env.run(&["remove", "us-vendor", "--yes"]).ok();
    env.run(&["app", "remove", "main"]).ok();
    assert_eq!(env.profiles_json(), serde_json::json!([]));
    env.run(&["remove", "us-vendor", "--yes"]).expect_code(5);
}

#[test]
fn set_secret_replaces_the_secret_and_its_expiry() {
    let env = Env::new();
    env.init_fast();
    env.add_main_app(CLIENT_SECRET);
    env.run_stdin(
        &[
            "app",
            "set-secret",
            "main",
            "--stdin",
            "--expires",
            "2030-01-02",
        ],
        "amzn1.oa2-cs.v1.new-secret",
    )
    .ok();
    let apps = env.run(&["app", "list", "--json"]).ok().json();
    assert_eq!(apps[0]["client_secret_expires_at"], "2030-01-02T00:00:00Z");
    env.run_stdin(&["app", "set-secret", "nope", "--stdin"], "x")
        .expect_code(5);
    let bad_date = env.run_stdin(
        &["app", "set-secret", "main", "--stdin", "--expires", "soon"],
        "x",
    );
    bad_date.expect_code(2);
}

#[test]
fn the_first_write_creates_the_vault_and_its_folder_privately() {
    let env = Env::new();
    env.add_main_app(CLIENT_SECRET);
    assert_eq!(mode(&env.vault), 0o600);
    assert_eq!(mode(env.vault.parent().unwrap()), 0o700);
    env.run(&["add-profile", "p", "--region", "fe"]).ok();
    assert_eq!(mode(&env.vault), 0o600);
    let backup = env.vault.with_file_name("vault.toml.bak");
    assert_eq!(mode(&backup), 0o600);
}

#[test]
fn validation_errors_are_usage_errors_that_explain() {
    let env = Env::new();
    env.init_fast();
    let swapped = env
        .run_stdin(
            &[
                "app",
                "add",
                "a",
                "--client-id",
                APP_ID,
                "--application-id",
                CLIENT_ID,
                "--client-secret-stdin",
            ],
            "s",
        )
        .expect_code(2);
    assert!(swapped.stderr.contains("swapped"), "{}", swapped.stderr);
    let bad_prefix = env
        .run_stdin(
            &[
                "app",
                "add",
                "a",
                "--client-id",
                "abc",
                "--application-id",
                APP_ID,
                "--client-secret-stdin",
            ],
            "s",
        )
        .expect_code(2);
    assert!(
        bad_prefix.stderr.contains("amzn1.application-oa2-client."),
        "{}",
        bad_prefix.stderr
    );
    env.add_main_app(CLIENT_SECRET);
    let wrong_region = env
        .run(&["add-profile", "p", "--region", "eu", "--marketplace", "US"])
        .expect_code(2);
    assert!(
        wrong_region.stderr.contains("region na"),
        "{}",
        wrong_region.stderr
    );
    env.run(&["add-profile", "p", "--region", "eu", "--marketplace", "XX"])
        .expect_code(2);
    env.run(&["add-profile", "bad/name", "--region", "eu"])
        .expect_code(2);
    env.run(&["add-profile", "p", "--region", "eu", "--app", "other"])
        .expect_code(5);
    env.run(&["add-profile", "p"]).expect_code(2);
    env.run(&["bogus-command"]).expect_code(2);
    // Nothing above changed the vault's content.
    assert_eq!(env.profiles_json(), serde_json::json!([]));
}

#[test]
fn a_wrong_passphrase_exits_3_and_leaves_the_file_alone() {
    let mut env = Env::new();
    env.init_fast();
    env.add_main_app(CLIENT_SECRET);
    let before = env.vault_bytes();
    env.set("SPVAULT_PASSPHRASE", "not the passphrase");
    for args in [
        &["list"][..],
        &["add-profile", "p", "--region", "eu"],
        &["passwd"],
    ] {
        let out = env.run(args).expect_code(3);
        assert!(out.stderr.contains("wrong passphrase"), "{}", out.stderr);
    }
    assert_eq!(env.vault_bytes(), before);
}

#[test]
fn without_passphrase_or_terminal_it_fails_at_once() {
    let mut env = Env::new();
    env.init_fast();
    env.unset("SPVAULT_PASSPHRASE");
    let child = env
        .command(&["list"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Stdin stays open: a tool that waited for input would hang here.
    let out = finish(child, "", Duration::from_secs(20)).expect_code(3);
    assert!(out.stderr.contains("SPVAULT_PASSPHRASE"), "{}", out.stderr);
}

#[test]
fn passphrase_sources_are_tried_in_order() {
    let mut env = Env::new();
    env.init_fast();
    let file = env.path("pass.txt");
    std::fs::write(&file, format!("{PASSPHRASE}\n")).unwrap();
    env.set("SPVAULT_PASSPHRASE", "wrong");
    env.set("SPVAULT_PASSPHRASE_COMMAND", "echo wrong-too");
    env.set("SPVAULT_PASSPHRASE_FILE", &file.display().to_string());
    env.run(&["list"]).ok();
    env.unset("SPVAULT_PASSPHRASE_FILE");
    env.run(&["list"]).expect_code(3);
    env.set(
        "SPVAULT_PASSPHRASE_COMMAND",
        &format!("printf '%s\\n' '{PASSPHRASE}'"),
    );
    env.run(&["list"]).ok();
    env.set("SPVAULT_PASSPHRASE_COMMAND", "exit 9");
    let failed = env.run(&["list"]).expect_code(3);
    assert!(
        failed.stderr.contains("SPVAULT_PASSPHRASE_COMMAND failed"),
        "{}",
        failed.stderr
    );
    env.unset("SPVAULT_PASSPHRASE_COMMAND");
    env.set("SPVAULT_PASSPHRASE", PASSPHRASE);
    env.run(&["list"]).ok();
}

#[test]
fn passwd_changes_the_passphrase() {
    let mut env = Env::new();
    env.init_fast();
    env.add_main_app(CLIENT_SECRET);
    env.set("SPVAULT_NEW_PASSPHRASE", "a new passphrase");
    env.run(&["passwd"]).ok();
    env.unset("SPVAULT_NEW_PASSPHRASE");
    env.run(&["list"]).expect_code(3);
    env.set("SPVAULT_PASSPHRASE", "a new passphrase");
    let apps = env.run(&["app", "list", "--json"]).ok().json();
    assert_eq!(apps[0]["app"], "main", "passwd kept the content");
    // The KDF parameters stayed the fast ones chosen at init.
    let text = String::from_utf8_lossy(&env.vault_bytes()).into_owned();
    assert!(text.contains("memory_kib = 8192\n"), "{text}");
}

#[test]
fn init_refuses_weak_or_absurd_kdf_settings_and_existing_vaults() {
    let env = Env::new();
    env.run(&["init", "--kdf-memory-mib", "4"]).expect_code(2);
    env.run(&["init", "--kdf-memory-mib", "8", "--kdf-iterations", "0"])
        .expect_code(2);
    env.run(&["init", "--kdf-memory-mib", "100000"])
        .expect_code(2);
    assert!(!env.vault.exists());
    env.init_fast();
    env.run(&["init", "--kdf-memory-mib", "8", "--kdf-iterations", "1"])
        .expect_code(1);
}

/// Rewrites the header line `key = old` and fixes the checksum, as a hostile or
/// buggy writer could; the file must still be refused.
fn with_header(file: &[u8], old: &str, new: &str) -> Vec<u8> {
    use sha2::Digest;
    let checksum_at = checksum_line(file);
    let payload_at = checksum_at
        + file[checksum_at..]
            .iter()
            .position(|&b| b == b'\n')
            .unwrap()
        + 1;
    let header = std::str::from_utf8(&file[..checksum_at]).unwrap();
    let changed = header.replacen(old, new, 1);
    assert_ne!(changed, header, "{old} not found");
    let payload = &file[payload_at..];
    let mut digest = sha2::Sha256::new();
    digest.update(changed.as_bytes());
    digest.update(payload);
    let sum: String = digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut bytes = format!("{changed}sha256 = \"{sum}\"\n").into_bytes();
    bytes.extend_from_slice(payload);
    bytes
}

/// Where the header's `sha256 = "…"` line starts.
fn checksum_line(file: &[u8]) -> usize {
    file.windows(11)
        .position(|w| w == b"\nsha256 = \"")
        .unwrap()
        + 1
}

#[test]
fn damaged_vaults_exit_4_untouched_and_without_panic() {
    let env = Env::new();
    env.init_fast();
    env.add_main_app(CLIENT_SECRET);
    let good = env.vault_bytes();
    let payload_at = good.len() - 100;
    let mut flipped = good.clone();
    flipped[payload_at] ^= 0x04;
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("flipped payload byte", flipped),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("empty", Vec::new()),
        ("not text", vec![0xff, 0xfe, 0x00, 0x01]),
        (
            "unknown version",
            with_header(&good, "version = 4\n", "version = 7\n"),
        ),
        (
            "absurd memory",
            with_header(&good, "memory_kib = 8192", "memory_kib = 4294967295"),
        ),
        (
            "absurd iterations",
            with_header(&good, "iterations = 1\n", "iterations = 100000\n"),
        ),
        (
            "zero parallelism",
            with_header(&good, "parallelism = 1\n", "parallelism = 0\n"),
        ),
        (
            "other algorithm",
            with_header(&good, "\"argon2id\"", "\"scrypt\""),
        ),
        (
            "other argon2 version",
            with_header(&good, "argon2_version = 19", "argon2_version = 16"),
        ),
        (
            "short salt",
            with_header(&good, "salt = \"", "salt = \"x\"\n# \""),
        ),
        (
            "unknown field",
            with_header(&good, "[payload]\n", "[payload]\nextra = 1\n"),
        ),
        (
            "no payload",
            with_header(&good, "age_bytes = ", "ignored = "),
        ),
    ];
    let mut bad_sum = good.clone();
    let sum_at = checksum_line(&good) + 12;
    bad_sum[sum_at] = if bad_sum[sum_at] == b'0' { b'1' } else { b'0' };
    cases.push(("checksum", bad_sum));
    for (name, bytes) in cases {
        std::fs::write(&env.vault, &bytes).unwrap();
        let out = env.run(&["list"]).expect_code(4);
        assert!(out.stderr.contains("vault"), "{name}: {}", out.stderr);
        assert!(!out.stderr.contains(PASSPHRASE), "{name}");
        env.run(&["add-profile", "x", "--region", "eu"])
            .expect_code(4);
        assert_eq!(
            std::fs::read(&env.vault).unwrap(),
            bytes,
            "{name}: file changed"
        );
    }
    std::fs::write(&env.vault, &good).unwrap();
    env.run(&["list"]).ok();
}

#[test]
fn secrets_never_appear_in_the_file_or_in_list_and_show() {
    let standin = StandIn::start();
    let mut env = Env::new();
    env.with_app(Some(&standin));
    env.logged_in_profile(&standin, "eu", REFRESH_TOKEN);
    let file = String::from_utf8_lossy(&env.vault_bytes()).into_owned();
    let secrets = [
        PASSPHRASE,
        "amzn1.oa2-cs",
        REFRESH_TOKEN,
        "Atza|standin",
        "eu-seller",
        "A1PA6795UKMFR9",
        CLIENT_ID,
    ];
    for secret in secrets {
        assert!(!file.contains(secret), "the vault file shows {secret}");
    }
    for args in [
        &["list"][..],
        &["list", "--json"],
        &["show", "eu"],
        &["show", "eu", "--json"],
        &["app", "list"],
        &["app", "list", "--json"],
    ] {
        let out = env.run(args).ok();
        for secret in [PASSPHRASE, "amzn1.oa2-cs", REFRESH_TOKEN, "Atza|"] {
            assert!(
                !out.stdout.contains(secret) && !out.stderr.contains(secret),
                "{args:?} shows {secret}"
            );
        }
    }
}

#[test]
fn twenty_concurrent_writers_all_land() {
    let env = Env::new();
    env.init_fast();
    env.add_main_app(CLIENT_SECRET);
    let children: Vec<_> = (0..20)
        .map(|i| {
            env.command(&["add-profile", &format!("p{i:02}"), "--region", "eu"])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        finish(child, "", Duration::from_secs(120)).ok();
    }
    let names: Vec<String> = env
        .profiles_json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["profile"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = (0..20).map(|i| format!("p{i:02}")).collect();
    assert_eq!(names, expected);
}

#[test]
fn a_symlinked_or_folder_vault_path_is_refused() {
    let mut env = Env::new();
    env.init_fast();
    let link = env.path("link.toml");
    std::os::unix::fs::symlink(&env.vault, &link).unwrap();
    let before = env.vault_bytes();
    env.set("SPVAULT_FILE", &link.display().to_string());
    let out = env.run(&["list"]).expect_code(2);
    assert!(out.stderr.contains("symbolic link"), "{}", out.stderr);
    env.run(&["add-profile", "x", "--region", "eu"])
        .expect_code(2);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(env.vault_bytes(), before);
    env.set("SPVAULT_FILE", &env.dir.path().display().to_string());
    env.run(&["list"]).expect_code(4);
}

#[test]
fn the_vault_flag_wins_over_the_variable() {
    let env = Env::new();
    let other = env.path("other.toml");
    let other = other.to_str().unwrap();
    env.run(&[
        "--vault",
        other,
        "init",
        "--kdf-memory-mib",
        "8",
        "--kdf-iterations",
        "1",
    ])
    .ok();
    assert!(std::path::Path::new(other).exists());
    assert!(!env.vault.exists());
}

#[test]
fn completions_are_printed_for_each_shell() {
    let mut env = Env::new();
    // Each script calls vault back at every TAB, which answers with the commands.
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = env.run(&["completions", shell]).ok();
        assert!(out.stdout.contains("SPVAULT_COMPLETE"), "{shell}");
    }
    env.set("SPVAULT_COMPLETE", "fish");
    let out = env.run(&["--", "vault", "add"]).ok();
    assert!(out.stdout.contains("add-profile"), "{}", out.stdout);
}

#[test]
fn add_profile_without_flags_walks_a_person_through_it() {
    if !have("script") {
        return;
    }
    let env = Env::new();
    env.init_fast();
    let mut terminal = Terminal::start(&env, &["add-profile", "eu-seller"]);
    for (prompt, answer) in [
        ("App name", "main"),
        ("LWA client id", CLIENT_ID),
        ("Application id", APP_ID),
        ("Draft?", "n"),
        ("LWA client secret: ", "amzn1.oa2-cs.v1.typed-secret"),
        ("Client secret expires", ""),
        ("Region", "de"),
        ("Region", "eu"),
        ("Marketplace", "US"),
        ("Marketplace", "DE"),
        ("Vendor Central", "n"),
        ("sandbox", ""),
        ("Save profile 'eu-seller'", ""),
    ] {
        terminal.expect(prompt);
        terminal.type_line(answer);
    }
    let (code, screen) = terminal.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("eu: IE, ES, UK") && screen.contains("fe: SG, AU, JP"),
        "the regions were explained: {screen}"
    );
    assert!(
        screen.contains("belongs to region na"),
        "the wrong marketplace was explained: {screen}"
    );
    assert!(
        !screen.contains("typed-secret"),
        "the secret was echoed: {screen}"
    );
    let row = &env.profiles_json()[0];
    assert_eq!(row["profile"], "eu-seller");
    assert_eq!(row["marketplace"], "DE");
    let apps = env.run(&["app", "list", "--json"]).ok().json();
    assert_eq!(apps[0]["client_id"], CLIENT_ID);
    assert_eq!(apps[0]["draft"], false);
    let days = apps[0]["client_secret_days_left"].as_i64().unwrap();
    assert!((179..=180).contains(&days), "Enter means 180 days: {days}");
}

#[test]
fn commands_that_need_no_vault_never_resolve_the_store() {
    let mut env = Env::new();
    // An OpenBao store without any token: only commands that use the vault care.
    env.set("SPVAULT_STORE", "bao://127.0.0.1:1/secret/spvault");
    for name in ["BAO_TOKEN", "VAULT_TOKEN", "SPVAULT_BAO_TOKEN_FILE"] {
        env.unset(name);
    }
    env.run(&["completions", "bash"]).ok();
    env.run(&["man"]).ok();
    let identity = env.path("id.key");
    env.run(&["identity", "new", identity.to_str().unwrap()])
        .ok();
    let out = env.run(&["list"]).expect_code(3);
    assert!(out.stderr.contains("OpenBao token"), "{}", out.stderr);
}

#[test]
fn an_unknown_store_scheme_is_a_usage_error() {
    let mut env = Env::new();
    env.set("SPVAULT_STORE", "s3://bucket/x");
    for args in [vec!["list"], vec!["app", "list", "--json"]] {
        let out = env.run(&args).expect_code(2);
        assert!(
            out.stderr.contains("unknown vault store 's3://'") && out.stderr.contains("bao://"),
            "{}",
            out.stderr
        );
    }
    let out = env
        .run(&["--store", "gcs://b/x", "migrate", "--to", "/tmp/x.toml"])
        .expect_code(2);
    assert!(out.stderr.contains("'gcs://'"), "{}", out.stderr);
}

/// Vaults written by earlier spvault (tests/fixtures/vault-v1.toml, -v2.toml and
/// -v3.toml: the same two profiles, minimum KDF) open, and the next write upgrades
/// them to format 4.
#[test]
fn vaults_in_earlier_formats_open_and_the_next_write_upgrades_them() {
    for version in [1, 2, 3] {
        let mut env = Env::new();
        let folder = env.vault.parent().unwrap();
        std::fs::create_dir_all(folder).unwrap();
        std::fs::set_permissions(folder, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        let fixture = format!(
            "{}/tests/fixtures/vault-v{version}.toml",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::copy(&fixture, &env.vault).unwrap();
        env.set("SPVAULT_PASSPHRASE", PASSPHRASE);
        let marker = format!("version = {version}\n");
        let header = |env: &Env| {
            let bytes = env.vault_bytes();
            String::from_utf8_lossy(&bytes[..bytes.len().min(600)]).into_owned()
        };
        let before = env.profiles_json();
        assert_eq!(before.as_array().unwrap().len(), 2);
        assert_eq!(before[0]["profile"], "p0");
        assert!(header(&env).contains(&marker));
        let shown = env.run(&["show", "p1", "--json"]).ok().json();
        assert_eq!(shown["selling_partner_id"], "A0000000000001");
        assert!(header(&env).contains(&marker), "reading writes nothing");
        // A write about one profile still rewrites all of them in format 4.
        env.run(&["rename", "p1", "renamed"]).ok();
        let text = header(&env);
        assert!(text.contains("version = 4\n"), "{text}");
        assert!(!text.contains("BEGIN AGE"), "{text}");
        let after = env.profiles_json();
        assert_eq!(after[0]["profile"], "p0");
        assert_eq!(after[1]["profile"], "renamed");
        assert_eq!(after[0]["refresh_token"], before[0]["refresh_token"]);
        // The backup is the earlier file, still readable.
        let backup = std::fs::read(format!("{}.bak", env.vault.display())).unwrap();
        assert_eq!(backup, std::fs::read(&fixture).unwrap(), "v{version}");
    }
}
